/* kafka_conn_write_messages: one Produce request with one record batch. */
#include <stdio.h>
#include <string.h>

#include "conn/conn_priv.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "protocol/record_batch.h"

KAFKA_CONN_ENCODER(produce_request)
KAFKA_CONN_DECODER(produce_response)

/* Produce v3 is the first that carries record batches (magic 2). */
#define PRODUCE_MIN_VERSION 3
static kafka_err append_message(kafka_conn *c, kafka_batch_builder *b, const kafka_message *m, int64_t now)
{
    if (m->key_len > INT32_MAX || m->value_len > INT32_MAX)
        return kafka_conn_err(c, KAFKA_ERR_TOO_LARGE, "message key or value over 2 GiB");
    if (m->n_headers && !m->headers)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "message has n_headers but no headers");
    int64_t ts = (m->timestamp_ms == 0 || m->timestamp_ms == KAFKA_TIMESTAMP_NONE) ? now : m->timestamp_ms;
    kafka_err err = kafka_batch_builder_append(b, ts, m->key, m->key ? (int32_t)m->key_len : -1, m->value,
                                               m->value ? (int32_t)m->value_len : -1, m->headers, m->n_headers);
    if (err)
        kafka_conn_err(c, err, "appending a record to the batch: %s", kafka_err_str(err));
    return err;
}

static kafka_err build_batch(kafka_conn *c, const kafka_message *msgs, size_t n, kafka_codec codec, kafka_wbuf *out)
{
    kafka_batch_builder_config bc = kafka_batch_builder_config_default();
    bc.codec = codec;
    kafka_batch_builder b;
    kafka_err err = kafka_batch_builder_init(&b, out, &bc);
    if (err)
        return kafka_conn_err(c, err, "record batch: %s", kafka_err_str(err));
    int64_t now = kafka_unix_ms();
    for (size_t i = 0; i < n && !err; i++)
        err = append_message(c, &b, &msgs[i], now);
    if (!err) {
        err = kafka_batch_builder_finish(&b);
        if (err)
            kafka_conn_err(c, err, "record batch (%s): %s", kafka_codec_name(codec) ? kafka_codec_name(codec) : "?",
                           kafka_err_str(err));
    }
    return err;
}

/* Reads the one partition result out of a Produce response. */
static kafka_err produce_result(kafka_conn *c, const kafka_produce_response *r, const char *topic,
                                int32_t partition, int64_t *base_offset)
{
    for (int32_t i = 0; i < r->responses_count; i++) {
        const kafka_produce_response_topic_produce_response *t = &r->responses[i];
        for (int32_t j = 0; j < t->partition_responses_count; j++) {
            const kafka_produce_response_partition_produce_response *p = &t->partition_responses[j];
            if (p->index != partition)
                continue;
            if (p->error_code) {
                kafka_err e = kafka_err_from_wire(p->error_code);
                return kafka_conn_err(c, e, "produce to %s [%d]: %s%s%.*s", topic, partition, kafka_err_str(e),
                                      p->error_message.len > 0 ? ": " : "",
                                      p->error_message.len > 0 ? (int)p->error_message.len : 0,
                                      p->error_message.len > 0 ? p->error_message.ptr : "");
            }
            if (base_offset)
                *base_offset = p->base_offset;
            return 0;
        }
    }
    return kafka_conn_err(c, KAFKA_ERR_PROTOCOL, "produce to %s [%d]: the response has no result for it", topic,
                          partition);
}

static kafka_err write_messages(kafka_conn *c, const kafka_message *msgs, size_t n, const kafka_write_options *o,
                                int64_t *base_offset)
{
    const char *topic = c->topic ? c->topic : msgs[0].topic;
    int32_t partition = c->topic ? c->partition : msgs[0].partition;
    if (!topic || partition < 0)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "write: conn is not bound and message 0 has no topic/partition");
    if ((unsigned)o->acks > KAFKA_REQUIRE_NONE)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "acks is not a kafka_required_acks value");
    int16_t acks = kafka_required_acks_wire(o->acks);
    if (acks != 0 && acks != 1 && acks != -1)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "write: acks must be 0, 1 or -1, not %d", acks);
    int16_t v = kafka_conn_version(c, KAFKA_API_PRODUCE, PRODUCE_MIN_VERSION, INT16_MAX);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;

    kafka_wbuf records;
    kafka_wbuf_init(&records);
    kafka_err err = build_batch(c, msgs, n, o->codec, &records);
    if (err) {
        kafka_wbuf_free(&records);
        return err;
    }
    kafka_produce_request_partition_produce_data pd;
    kafka_produce_request_partition_produce_data_init(&pd);
    pd.index = partition;
    pd.records = (kafka_bytes){records.data, (int32_t)records.len};
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_topic_produce_data_init(&td);
    td.name = kafka_str_c(topic);
    td.partition_data = &pd;
    td.partition_data_count = 1;
    kafka_produce_request req;
    kafka_produce_request_init(&req);
    req.acks = acks;
    req.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    req.topic_data = &td;
    req.topic_data_count = 1;

    if (acks == 0) { /* the broker sends no response at all */
        kafka_wbuf body;
        kafka_wbuf_init(&body);
        err = kafka_produce_request_encode(&body, v, &req);
        if (!err && body.oom)
            err = KAFKA_ERR_NOMEM;
        if (!err) {
            const kafka_api_info *ai = kafka_api_info_get(KAFKA_API_PRODUCE);
            bool flex = ai && ai->request_flexible_min >= 0 && v >= ai->request_flexible_min;
            err = kafka_conn_send_raw(c, KAFKA_API_PRODUCE, v, flex, body.data, body.len, false, NULL);
        }
        kafka_wbuf_free(&body);
        kafka_wbuf_free(&records);
        if (!err && base_offset)
            *base_offset = -1;
        return err;
    }
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_produce_response resp;
    kafka_produce_response_init(&resp);
    err = kafka_conn_roundtrip(c, KAFKA_API_PRODUCE, v, produce_request_enc_, &req, produce_response_dec_, &resp,
                               &arena, NULL);
    kafka_wbuf_free(&records);
    if (!err)
        err = produce_result(c, &resp, topic, partition, base_offset);
    kafka_arena_free(&arena);
    return err;
}

kafka_err kafka_conn_write_messages(kafka_conn *c, const kafka_message *msgs, size_t n,
                                    const kafka_write_options *opts, int64_t *base_offset)
{
    if (!c || (!msgs && n))
        return KAFKA_ERR_INVALID_ARG;
    if (n == 0)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "write: no messages");
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_write_options def = {0};
    err = write_messages(c, msgs, n, opts ? opts : &def, base_offset);
    kafka_conn_leave(c);
    return err;
}
