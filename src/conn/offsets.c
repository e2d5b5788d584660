/* ListOffsets-based calls and kafka_conn_seek. */
#include <stdbool.h>
#include <stdio.h>

#include "conn/conn_priv.h"
#include "conn/requests.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"

KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

/* Kafka's special ListOffsets timestamps. */
#define TS_LATEST (-1)
#define TS_EARLIEST (-2)

static kafka_err list_offset(kafka_conn *c, int64_t timestamp, int64_t *out)
{
    if (!c->topic)
        return kafka_conn_err(c, KAFKA_ERR_STATE, "offsets: conn is not bound to a partition (kafka_conn_bind)");
    int16_t v = kafka_conn_version(c, KAFKA_API_LIST_OFFSETS, KAFKA_LIST_OFFSETS_MIN_VERSION,
                                   KAFKA_LIST_OFFSETS_MAX_VERSION);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_offset_want want = {c->topic, c->partition, timestamp};
    kafka_list_offsets_request req;
    if (kafka_list_offsets_request_build(&arena, &want, 1, false, &req)) {
        kafka_arena_free(&arena);
        return KAFKA_ERR_NOMEM;
    }
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    kafka_err err = kafka_conn_roundtrip(c, KAFKA_API_LIST_OFFSETS, v, list_offsets_request_enc_, &req,
                                         list_offsets_response_dec_, &resp, &arena, NULL);
    if (!err) {
        err = kafka_conn_err(c, KAFKA_ERR_PROTOCOL, "list offsets %s [%d]: no result for it in the response",
                             c->topic, c->partition);
        for (int32_t i = 0; i < resp.topics_count; i++)
            for (int32_t j = 0; j < resp.topics[i].partitions_count; j++) {
                const kafka_list_offsets_response_list_offsets_partition_response *r = &resp.topics[i].partitions[j];
                if (r->partition_index != c->partition)
                    continue;
                if (r->error_code) {
                    kafka_err e = kafka_err_from_wire(r->error_code);
                    err = kafka_conn_err(c, e, "list offsets %s [%d]: %s", c->topic, c->partition, kafka_err_str(e));
                } else {
                    *out = r->offset;
                    err = 0;
                }
            }
    }
    kafka_arena_free(&arena);
    return err;
}

static kafka_err guarded_list(kafka_conn *c, int64_t ts, int64_t *out)
{
    if (!c || !out)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    err = list_offset(c, ts, out);
    kafka_conn_leave(c);
    return err;
}

kafka_err kafka_conn_read_first_offset(kafka_conn *c, int64_t *out) { return guarded_list(c, TS_EARLIEST, out); }
kafka_err kafka_conn_read_last_offset(kafka_conn *c, int64_t *out) { return guarded_list(c, TS_LATEST, out); }

kafka_err kafka_conn_read_offset_at(kafka_conn *c, int64_t unix_ms, int64_t *out)
{
    if (unix_ms < 0)
        return KAFKA_ERR_INVALID_ARG;
    return guarded_list(c, unix_ms, out);
}

kafka_err kafka_conn_read_offsets(kafka_conn *c, int64_t *first, int64_t *last)
{
    if (!first || !last)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = guarded_list(c, TS_EARLIEST, first);
    return err ? err : guarded_list(c, TS_LATEST, last);
}

/* base + delta without signed overflow (undefined behaviour). */
static bool add_offset(int64_t base, int64_t delta, int64_t *out)
{
    if ((delta > 0 && base > INT64_MAX - delta) || (delta < 0 && base < INT64_MIN - delta))
        return false;
    *out = base + delta;
    return true;
}

static kafka_err seek(kafka_conn *c, int64_t offset, int whence, int64_t *new_offset)
{
    bool check = !(whence & KAFKA_SEEK_DONT_CHECK);
    whence &= ~KAFKA_SEEK_DONT_CHECK;
    int64_t first = -1, last = -1, base = 0, target;
    kafka_err err = 0;
    switch (whence) {
    case KAFKA_SEEK_FIRST:
        err = list_offset(c, TS_EARLIEST, &first);
        base = first;
        break;
    case KAFKA_SEEK_LAST:
        err = list_offset(c, TS_LATEST, &last);
        base = last;
        break;
    case KAFKA_SEEK_ABSOLUTE:
        base = 0;
        break;
    case KAFKA_SEEK_CURRENT:
        base = c->offset;
        break;
    default:
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "seek: unknown whence %d", whence);
    }
    if (err)
        return err;
    if (!add_offset(base, offset, &target))
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "seek %s [%d]: %lld + %lld overflows", c->topic, c->partition,
                              (long long)base, (long long)offset);
    if (check) {
        if (first < 0)
            err = list_offset(c, TS_EARLIEST, &first);
        if (!err && last < 0)
            err = list_offset(c, TS_LATEST, &last);
        if (err)
            return err;
        if (target < first || target > last)
            return kafka_conn_err(c, KAFKA_ERR_OFFSET_OUT_OF_RANGE,
                                  "seek %s [%d] to %lld: outside the partition's range [%lld, %lld]", c->topic,
                                  c->partition, (long long)target, (long long)first, (long long)last);
    }
    c->offset = target;
    if (new_offset)
        *new_offset = target;
    return 0;
}

kafka_err kafka_conn_seek(kafka_conn *c, int64_t offset, int whence, int64_t *new_offset)
{
    if (!c)
        return KAFKA_ERR_INVALID_ARG;
    if (!c->topic)
        return kafka_conn_err(c, KAFKA_ERR_STATE, "seek: conn is not bound to a partition (kafka_conn_bind)");
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    err = seek(c, offset, whence, new_offset);
    kafka_conn_leave(c);
    return err;
}
