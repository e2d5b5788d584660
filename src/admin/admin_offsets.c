/* ListOffsets for many partitions: one request per leader broker carrying
 * all of its partitions (admin_leaders.c), answers merged. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "protocol/api.h"
#include "protocol/gen/list_offsets.h"

KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

void kafka_admin_offsets_free(kafka_admin_offsets *o) { admin_result_free(o); }

static kafka_err lo_build(void *ctx, int16_t v, kafka_arena *arena, const kafka_admin_offsets *o, const size_t *idx,
                          size_t n, const void **req)
{
    const int64_t *timestamp = ctx;
    (void)v;
    kafka_list_offsets_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_list_offsets_request_list_offsets_topic *ts = kafka_arena_calloc(arena, n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_list_offsets_request_init(r);
    r->replica_id = -1;
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const kafka_admin_offset *x = &o->offsets[idx[i]];
        /* entries are sorted by topic: a new topic starts a new entry */
        if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].name, x->topic)) {
            kafka_list_offsets_request_list_offsets_topic_init(&ts[nt]);
            ts[nt].name = kafka_str_c(x->topic);
            ts[nt].partitions = kafka_arena_calloc(arena, n, sizeof *ts[nt].partitions);
            if (!ts[nt].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        kafka_list_offsets_request_list_offsets_topic *t = &ts[nt - 1];
        kafka_list_offsets_request_list_offsets_partition *p = &t->partitions[t->partitions_count++];
        kafka_list_offsets_request_list_offsets_partition_init(p);
        p->partition_index = x->partition;
        p->timestamp = *timestamp;
    }
    r->topics = ts;
    r->topics_count = nt;
    *req = r;
    return 0;
}

static void lo_apply(void *ctx, int16_t v, const void *resp_, kafka_admin_offsets *o, kafka_err *last)
{
    (void)ctx;
    const kafka_list_offsets_response *resp = resp_;
    for (int32_t t = 0; t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
            const kafka_list_offsets_response_list_offsets_partition_response *rp = &resp->topics[t].partitions[p];
            kafka_admin_offset *x =
                admin_leader_answer(o, resp->topics[t].name, rp->partition_index, rp->error_code, last);
            if (!x)
                continue;
            x->offset = rp->offset;
            x->timestamp = rp->timestamp;
            x->leader_epoch = v >= 4 ? rp->leader_epoch : -1;
        }
}

kafka_err admin_list_offsets(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int64_t timestamp,
                             int64_t deadline, kafka_admin_offsets **out)
{
    *out = NULL;
    if (!parts || n == 0)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "list offsets: no partitions given");
    for (size_t i = 0; i < n; i++) {
        if (!admin_topic_name_ok(parts[i].topic))
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "list offsets: invalid topic name \"%s\"",
                              parts[i].topic ? parts[i].topic : "(null)");
        if (parts[i].partition < -1)
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "list offsets: topic %s: partition %d (>= 0, or -1 for all)",
                              parts[i].topic, (int)parts[i].partition);
    }
    if (timestamp < KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "list offsets: timestamp %lld", (long long)timestamp);
    kafka_admin_offsets *o = NULL;
    kafka_err err = admin_offsets_expand(a, "list offsets", parts, n, deadline, &o);
    if (err)
        return err;
    kafka_list_offsets_response resp;
    admin_leader_op op = {.what = "list offsets", .api = KAFKA_API_LIST_OFFSETS,
                          .vmin = timestamp == KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP ? 7 : 1, .vmax = INT16_MAX,
                          .enc = list_offsets_request_enc_, .dec = list_offsets_response_dec_, .resp = &resp,
                          .build = lo_build, .apply = lo_apply, .ctx = &timestamp};
    err = admin_per_leader(a, &op, o, deadline);
    if (err) {
        kafka_admin_offsets_free(o);
        return err;
    }
    *out = o;
    for (size_t i = 0; i < o->n; i++)
        if (o->offsets[i].err)
            return admin_fail(a, o->offsets[i].err, "list offsets: %s [%d]: %s", o->offsets[i].topic,
                              (int)o->offsets[i].partition, kafka_err_name(o->offsets[i].err));
    return 0;
}

kafka_err kafka_admin_list_offsets(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int64_t timestamp,
                                   int timeout_ms, kafka_admin_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_list_offsets(a, parts, n, timestamp, admin_deadline(timeout_ms), out)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "list offsets: out is NULL");
    admin_leave(a);
    return err;
}
