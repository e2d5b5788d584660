/* DeleteRecords: one request per partition leader (admin_leaders.c). */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/delete_records.h"

KAFKA_CONN_ENCODER(delete_records_request)
KAFKA_CONN_DECODER(delete_records_response)

static kafka_err dr_build(void *ctx, int16_t v, kafka_arena *arena, const kafka_admin_offsets *o, const size_t *idx,
                          size_t n, const void **req)
{
    const int32_t *timeout_ms = ctx;
    (void)v;
    kafka_delete_records_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_delete_records_request_delete_records_topic *ts = kafka_arena_calloc(arena, n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_delete_records_request_init(r);
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const kafka_admin_offset *x = &o->offsets[idx[i]];
        if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].name, x->topic)) { /* sorted by topic */
            kafka_delete_records_request_delete_records_topic_init(&ts[nt]);
            ts[nt].name = kafka_str_c(x->topic);
            ts[nt].partitions = kafka_arena_calloc(arena, n, sizeof *ts[nt].partitions);
            if (!ts[nt].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        kafka_delete_records_request_delete_records_topic *t = &ts[nt - 1];
        kafka_delete_records_request_delete_records_partition *p = &t->partitions[t->partitions_count++];
        kafka_delete_records_request_delete_records_partition_init(p);
        p->partition_index = x->partition;
        p->offset = x->offset; /* the requested offset until answered */
    }
    r->topics = ts;
    r->topics_count = nt;
    r->timeout_ms = *timeout_ms;
    *req = r;
    return 0;
}

static void dr_apply(void *ctx, int16_t v, const void *resp_, kafka_admin_offsets *o, kafka_err *last)
{
    (void)ctx;
    (void)v;
    const kafka_delete_records_response *resp = resp_;
    for (int32_t t = 0; t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
            const kafka_delete_records_response_delete_records_partition_result *rp = &resp->topics[t].partitions[p];
            kafka_admin_offset *x =
                admin_leader_answer(o, resp->topics[t].name, rp->partition_index, rp->error_code, last);
            if (x)
                x->offset = x->err ? -1 : rp->low_watermark;
        }
}

kafka_err kafka_admin_delete_records(kafka_admin *a, const kafka_admin_offset_spec *parts, size_t n, int timeout_ms,
                                     kafka_admin_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || !parts || n == 0)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete records: no partitions given, or NULL out");
    for (size_t i = 0; !err && i < n; i++) {
        if (!admin_topic_name_ok(parts[i].topic) || parts[i].partition < 0 || parts[i].offset < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete records: \"%s\" [%d] before %lld: needs a valid topic, "
                             "a partition >= 0 and an offset >= 0 (-1 = the high-water mark)",
                             parts[i].topic ? parts[i].topic : "(null)", (int)parts[i].partition,
                             (long long)parts[i].offset);
        for (size_t j = 0; !err && j < i; j++)
            if (parts[j].partition == parts[i].partition && strcmp(parts[j].topic, parts[i].topic) == 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete records: %s [%d] named twice", parts[i].topic,
                                 (int)parts[i].partition);
    }
    kafka_admin_tp *tps = err ? NULL : kafka_calloc(n, sizeof *tps);
    if (!err && !tps)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "delete records: out of memory");
    for (size_t i = 0; !err && i < n; i++)
        tps[i] = (kafka_admin_tp){parts[i].topic, parts[i].partition};
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_admin_offsets *o = NULL;
    if (!err)
        err = admin_offsets_expand(a, "delete records", tps, n, deadline, &o);
    kafka_free(tps);
    for (size_t i = 0; !err && i < o->n; i++)
        for (size_t k = 0; k < n; k++)
            if (parts[k].partition == o->offsets[i].partition && strcmp(parts[k].topic, o->offsets[i].topic) == 0)
                o->offsets[i].offset = parts[k].offset;
    int32_t broker_timeout = timeout_ms > 0 ? timeout_ms : 30000;
    kafka_delete_records_response resp;
    admin_leader_op op = {.what = "delete records", .api = KAFKA_API_DELETE_RECORDS, .vmin = 0, .vmax = INT16_MAX,
                          .enc = delete_records_request_enc_, .dec = delete_records_response_dec_, .resp = &resp,
                          .build = dr_build, .apply = dr_apply, .ctx = &broker_timeout};
    if (!err)
        err = admin_per_leader(a, &op, o, deadline);
    if (err) {
        kafka_admin_offsets_free(o);
        admin_leave(a);
        return err;
    }
    for (size_t i = 0; i < o->n; i++) {
        if (o->offsets[i].err == 0)
            continue;
        o->offsets[i].offset = -1;
        if (!err)
            err = admin_fail(a, o->offsets[i].err, "delete records: %s [%d]: %s", o->offsets[i].topic,
                             (int)o->offsets[i].partition, kafka_err_name(o->offsets[i].err));
    }
    *out = o;
    admin_leave(a);
    return err;
}
