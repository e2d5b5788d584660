/* kafka_conn_read_batch and the kafka_batch iterator (one Fetch). */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_priv.h"
#include "conn/requests.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "protocol/record_batch.h"
#include "protocol/txn_filter.h"

KAFKA_CONN_ENCODER(fetch_request)
KAFKA_CONN_DECODER(fetch_response)

#define DEFAULT_MAX_WAIT_MS 10000
#define DEFAULT_MAX_BYTES (1024 * 1024)

struct kafka_batch {
    kafka_conn *c;
    kafka_arena arena; /* the response frame and decoded arrays */
    kafka_records_iter it;
    kafka_txn_filter txn; /* read_committed: aborted transactions */
    bool read_committed;
    bool in_batch; /* it is inside a batch that is being delivered */
    int64_t hwm;
    int64_t offset; /* next offset to return */
    kafka_err err;
    kafka_header *hdrs; /* scratch for the current message's headers */
    size_t hdr_cap;
};

/* Broker-side wait: what the caller asked, else what the read deadline
 * leaves minus a margin for the round trip, else the default. */
static int32_t pick_max_wait(const kafka_conn *c, const kafka_read_batch_config *cfg)
{
    if (cfg->max_wait_ms > 0)
        return cfg->max_wait_ms;
    int64_t dl = atomic_load(&c->read_deadline);
    if (dl <= 0)
        return DEFAULT_MAX_WAIT_MS;
    int64_t left = dl - kafka_unix_ms();
    int64_t margin = left / 4 < 1000 ? left / 4 : 1000;
    left -= margin;
    return left <= 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int32_t)left);
}

static kafka_err find_partition(kafka_conn *c, const kafka_fetch_response *r,
                                kafka_fetch_response_partition_data **out)
{
    if (r->error_code)
        return kafka_conn_err(c, kafka_err_from_wire(r->error_code), "fetch %s [%d]: %s", c->topic, c->partition,
                              kafka_err_str(kafka_err_from_wire(r->error_code)));
    for (int32_t i = 0; i < r->responses_count; i++) {
        const kafka_fetch_response_fetchable_topic_response *t = &r->responses[i];
        for (int32_t j = 0; j < t->partitions_count; j++) {
            if (t->partitions[j].partition_index == c->partition) {
                *out = &t->partitions[j];
                return 0;
            }
        }
    }
    return kafka_conn_err(c, KAFKA_ERR_PROTOCOL, "fetch %s [%d]: the response has no data for it", c->topic,
                          c->partition);
}

static kafka_err fetch(kafka_conn *c, const kafka_read_batch_config *cfg, kafka_batch *b)
{
    int16_t v = kafka_conn_version(c, KAFKA_API_FETCH, kafka_fetch_min_version(cfg->read_committed),
                                   KAFKA_FETCH_MAX_VERSION);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;
    kafka_fetch_want want = {c->topic, c->partition, c->offset, cfg->max_bytes > 0 ? cfg->max_bytes : DEFAULT_MAX_BYTES};
    kafka_fetch_opts o = {.max_wait_ms = pick_max_wait(c, cfg),
                          .min_bytes = cfg->min_bytes > 0 ? cfg->min_bytes : 1,
                          .max_bytes = want.max_bytes,
                          .read_committed = cfg->read_committed,
                          .session_epoch = -1};
    kafka_fetch_request req;
    if (kafka_fetch_request_build(&b->arena, &want, 1, &o, &req))
        return KAFKA_ERR_NOMEM;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    kafka_err err = kafka_conn_roundtrip(c, KAFKA_API_FETCH, v, fetch_request_enc_, &req, fetch_response_dec_, &resp,
                                         &b->arena, NULL);
    if (err)
        return err;
    kafka_fetch_response_partition_data *p = NULL;
    err = find_partition(c, &resp, &p);
    if (err)
        return err;
    if (p->error_code) {
        kafka_err e = kafka_err_from_wire(p->error_code);
        return kafka_conn_err(c, e, "fetch %s [%d] at offset %lld: %s", c->topic, c->partition,
                              (long long)c->offset, kafka_err_str(e));
    }
    b->hwm = p->high_watermark;
    const void *data = p->records.len > 0 ? p->records.ptr : NULL;
    kafka_records_iter_init(&b->it, data, p->records.len > 0 ? (size_t)p->records.len : 0, NULL);
    /* The broker stops at the last stable offset but still returns the
     * records of aborted transactions below it, with their list. */
    b->read_committed = cfg->read_committed && v >= 4;
    if (b->read_committed) {
        kafka_txn_filter_sort(p->aborted_transactions, p->aborted_transactions_count);
        kafka_txn_filter_reset(&b->txn, p->aborted_transactions, p->aborted_transactions_count);
    }
    return 0;
}

kafka_err kafka_conn_read_batch_with(kafka_conn *c, const kafka_read_batch_config *cfg, kafka_batch **out)
{
    if (!c || !out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    if (!c->topic)
        return kafka_conn_err(c, KAFKA_ERR_STATE, "read batch: conn is not bound to a partition (kafka_conn_bind)");
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_read_batch_config def = {0};
    kafka_batch *b = kafka_calloc(1, sizeof *b);
    if (!b) {
        kafka_conn_leave(c);
        return KAFKA_ERR_NOMEM;
    }
    b->c = c;
    b->offset = c->offset;
    kafka_arena_init(&b->arena, 0);
    kafka_records_iter_init(&b->it, NULL, 0, NULL);
    err = fetch(c, cfg ? cfg : &def, b);
    if (err) {
        kafka_records_iter_free(&b->it);
        kafka_arena_free(&b->arena);
        kafka_free(b);
        kafka_conn_leave(c);
        return err;
    }
    *out = b; /* keeps its reference on c until kafka_batch_close */
    return 0;
}

kafka_err kafka_conn_read_batch(kafka_conn *c, int32_t min_bytes, int32_t max_bytes, kafka_batch **out)
{
    kafka_read_batch_config cfg = {.min_bytes = min_bytes, .max_bytes = max_bytes};
    return kafka_conn_read_batch_with(c, &cfg, out);
}

static kafka_err fill_headers(kafka_batch *b, const kafka_record *rec, kafka_message *m)
{
    size_t n = (size_t)rec->header_count; /* never negative: the decoder checks */
    if (n > b->hdr_cap) {
        kafka_header *h = kafka_realloc(b->hdrs, n * sizeof *h);
        if (!h)
            return KAFKA_ERR_NOMEM;
        b->hdrs = h;
        b->hdr_cap = n;
    }
    size_t pos = 0, i = 0;
    while (i < n && kafka_record_header_next(rec, &pos, &b->hdrs[i]))
        i++;
    m->headers = i ? b->hdrs : NULL;
    m->n_headers = i;
    return 0;
}

static inline const void *view(kafka_bytes v) { return v.len < 0 ? NULL : (v.ptr ? (const void *)v.ptr : (const void *)""); }

/* Next record to deliver. Control batches (transaction markers) and, when
 * reading committed, the batches of aborted transactions are skipped
 * whole, and the position moves past them, so that the next Fetch does not
 * return them again. 1, 0 at the end, or a negative kafka_err. */
static int next_record(kafka_batch *b, kafka_record *rec)
{
    for (;;) {
        if (!b->in_batch) {
            const kafka_record_batch *rb = NULL;
            int rc = kafka_records_iter_next_batch(&b->it, &rb);
            if (rc <= 0)
                return rc;
            bool skip = rb->control;
            if (b->read_committed) {
                kafka_err err = kafka_txn_filter_skip(&b->txn, rb, &skip);
                if (err)
                    return err;
            }
            if (skip) {
                /* Wrapping: the sum of the wire's base offset and delta
                 * may overflow int64 on a hostile batch (then it wraps
                 * negative and the position stays). */
                int64_t next =
                    (int64_t)((uint64_t)rb->base_offset + (uint64_t)(int64_t)rb->last_offset_delta + 1u);
                if (next > b->offset)
                    b->offset = next;
                continue;
            }
            b->in_batch = true;
        }
        int rc = kafka_records_iter_next_record(&b->it, rec);
        if (rc != 0)
            return rc;
        b->in_batch = false;
    }
}

kafka_err kafka_batch_read_message(kafka_batch *b, kafka_message *m)
{
    if (!b || !m)
        return KAFKA_ERR_INVALID_ARG;
    if (b->err)
        return b->err;
    kafka_record rec;
    for (;;) {
        int rc = next_record(b, &rec);
        if (rc == 0)
            return KAFKA_ERR_END_OF_PARTITION;
        if (rc == KAFKA_ERR_NOMEM)
            return b->err = KAFKA_ERR_NOMEM;
        if (rc < 0) {
            b->err = rc;
            kafka_conn_err(b->c, rc, "fetch %s [%d]: bad record data near offset %lld: field %s: %s", b->c->topic,
                           b->c->partition, (long long)b->offset, b->it.err_field ? b->it.err_field : "?",
                           kafka_err_str(rc));
            return rc;
        }
        /* Records before the fetch offset (a compressed batch is returned
         * whole) are not messages either. */
        if (rec.offset < b->offset)
            continue;
        break;
    }
    /* Every field is set, so no memset. */
    m->topic = b->c->topic;
    m->partition = b->c->partition;
    m->offset = rec.offset;
    m->key = view(rec.key);
    m->key_len = rec.key.len > 0 ? (size_t)rec.key.len : 0;
    m->value = view(rec.value);
    m->value_len = rec.value.len > 0 ? (size_t)rec.value.len : 0;
    m->timestamp_ms = rec.timestamp;
    m->headers = NULL;
    m->n_headers = 0;
    m->flags = 0;
    m->opaque = NULL;
    if (rec.header_count) {
        kafka_err err = fill_headers(b, &rec, m);
        if (err)
            return b->err = err;
    }
    b->offset = rec.offset + 1;
    return 0;
}

int64_t kafka_batch_high_water_mark(const kafka_batch *b) { return b ? b->hwm : -1; }
int64_t kafka_batch_offset(const kafka_batch *b) { return b ? b->offset : -1; }

kafka_err kafka_batch_close(kafka_batch *b)
{
    if (!b)
        return 0;
    kafka_err err = b->err;
    kafka_conn *c = b->c;
    c->offset = b->offset;
    kafka_records_iter_free(&b->it);
    kafka_txn_filter_free(&b->txn);
    kafka_arena_free(&b->arena);
    kafka_free(b->hdrs);
    kafka_free(b);
    kafka_conn_leave(c);
    return err;
}
