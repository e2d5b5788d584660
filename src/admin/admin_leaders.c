/* Requests split per partition leader (ListOffsets, DeleteRecords): the
 * entries of a kafka_admin_offsets are grouped by their leader, one
 * request per leader carries all of them, the answers are merged, and
 * entries whose leader moved are asked again after a metadata refresh
 * until the deadline. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "common/alloc.h"
#include "protocol/gen/metadata.h"

static int cmp_offset(const void *x, const void *y)
{
    const kafka_admin_offset *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    if (c)
        return c;
    return p->partition < q->partition ? -1 : p->partition > q->partition;
}

/* strcmp of a view against a C string. */
static int str_cmp(kafka_str a, const char *b)
{
    size_t la = a.len > 0 ? (size_t)a.len : 0, lb = strlen(b);
    int c = memcmp(a.ptr ? a.ptr : "", b, la < lb ? la : lb);
    return c ? c : (la < lb ? -1 : la > lb);
}

kafka_admin_offset *admin_offsets_find(kafka_admin_offsets *o, kafka_str topic, int32_t partition)
{
    /* entries are sorted by topic, then partition (admin_offsets_expand):
     * a binary search keeps merging answers for many partitions linear */
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const kafka_admin_offset *x = &o->offsets[mid];
        int c = str_cmp(topic, x->topic);
        if (!c)
            c = partition < x->partition ? -1 : partition > x->partition;
        if (!c)
            return &o->offsets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const kafka_metadata_response_metadata_response_topic *md_find(const kafka_metadata_response *md,
                                                                      const char *topic)
{
    for (int32_t j = 0; j < md->topics_count; j++)
        if (kafka_str_eq_c(md->topics[j].name, topic))
            return &md->topics[j];
    return NULL;
}

/* The result entries for parts (partition -1 expanded from metadata),
 * sorted and without duplicates; unknown topics/partitions get their
 * error, the rest ADMIN_PENDING. */
kafka_err admin_offsets_expand(kafka_admin *a, const char *what, const kafka_admin_tp *parts, size_t n,
                               int64_t deadline, kafka_admin_offsets **out)
{
    const char **names = kafka_calloc(n, sizeof *names);
    if (!names)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        names[i] = parts[i].topic;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v;
    kafka_err err =
        admin_metadata(a, what, names, n, KAFKA_CLUSTER_MD_NEVER_CREATE, deadline, &arena, &md, &v);
    kafka_free(names);
    size_t total = 0;
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_metadata_response_metadata_response_topic *t = md_find(&md, parts[i].topic);
        total += parts[i].partition >= 0 || !t || t->partitions_count <= 0 ? 1 : (size_t)t->partitions_count;
    }
    kafka_arena *ar = NULL;
    kafka_admin_offsets *o = err ? NULL : admin_result_new(sizeof *o, &ar);
    if (!err && (!o || !(o->offsets = kafka_arena_calloc(ar, total ? total : 1, sizeof *o->offsets))))
        err = KAFKA_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_metadata_response_metadata_response_topic *t = md_find(&md, parts[i].topic);
        const char *topic = admin_strz(ar, parts[i].topic);
        if (!topic) {
            err = KAFKA_ERR_NOMEM;
            break;
        }
        kafka_err terr = !t ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION : kafka_err_from_wire(t->error_code);
        int32_t np = t && t->partitions_count > 0 ? t->partitions_count : 0;
        if (parts[i].partition >= 0 || terr || np == 0) {
            kafka_err e = terr;
            if (!e) {
                e = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                for (int32_t k = 0; k < np; k++)
                    if (t->partitions[k].partition_index == parts[i].partition)
                        e = ADMIN_PENDING;
            }
            o->offsets[o->n++] = (kafka_admin_offset){topic, parts[i].partition, e, -1, -1, -1};
            continue;
        }
        for (int32_t k = 0; k < np; k++)
            o->offsets[o->n++] = (kafka_admin_offset){topic, t->partitions[k].partition_index, ADMIN_PENDING, -1, -1, -1};
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(o);
        return err;
    }
    qsort(o->offsets, o->n, sizeof *o->offsets, cmp_offset);
    size_t k = 0; /* drop duplicates */
    for (size_t i = 0; i < o->n; i++)
        if (k == 0 || cmp_offset(&o->offsets[k - 1], &o->offsets[i]) != 0)
            o->offsets[k++] = o->offsets[i];
    o->n = k;
    *out = o;
    return 0;
}

/* Leader of every pending entry from fresh metadata (-1 = none). */
static kafka_err leaders_of(kafka_admin *a, kafka_admin_offsets *o, int32_t *leaders, int64_t deadline)
{
    size_t nn = 0;
    const char **names = kafka_calloc(o->n ? o->n : 1, sizeof *names);
    if (!names)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < o->n; i++)
        if (o->offsets[i].err == ADMIN_PENDING && (nn == 0 || strcmp(names[nn - 1], o->offsets[i].topic) != 0))
            names[nn++] = o->offsets[i].topic;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v;
    kafka_err err =
        admin_metadata(a, "leaders", names, nn, KAFKA_CLUSTER_MD_NEVER_CREATE, deadline, &arena, &md, &v);
    for (size_t i = 0; !err && i < o->n; i++) {
        leaders[i] = -1;
        const kafka_metadata_response_metadata_response_topic *t = md_find(&md, o->offsets[i].topic);
        for (int32_t k = 0; t && k < t->partitions_count; k++)
            if (t->partitions[k].partition_index == o->offsets[i].partition)
                leaders[i] = t->partitions[k].leader_id;
    }
    kafka_arena_free(&arena);
    kafka_free(names);
    return err;
}

typedef struct leader_rpc_ctx {
    admin_leader_op *op;
    const kafka_admin_offsets *o;
    const size_t *idx;
    size_t n;
} leader_rpc_ctx;

static kafka_err leader_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    leader_rpc_ctx *c = ctx;
    return c->op->build(c->op->ctx, v, arena, c->o, c->idx, c->n, req);
}

/* One round: a request to each leader of the pending entries. Entries
 * left ADMIN_PENDING (no leader, a leader that moved) put their error in *last. */
static kafka_err one_round(kafka_admin *a, admin_leader_op *op, kafka_admin_offsets *o, int32_t *leaders,
                           size_t *idx, int64_t deadline, kafka_err *last)
{
    kafka_err err = leaders_of(a, o, leaders, deadline);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    for (size_t i = 0; !err && i < o->n; i++) {
        if (o->offsets[i].err != ADMIN_PENDING || leaders[i] == -2)
            continue;
        if (leaders[i] < 0) {
            *last = KAFKA_ERR_LEADER_NOT_AVAILABLE;
            continue;
        }
        int32_t broker = leaders[i];
        size_t n = 0;
        for (size_t k = i; k < o->n; k++)
            if (o->offsets[k].err == ADMIN_PENDING && leaders[k] == broker) {
                idx[n++] = k;
                leaders[k] = -2; /* done for this round */
            }
        leader_rpc_ctx ctx = {op, o, idx, n};
        admin_rpc rpc = {.what = op->what, .route = ADMIN_ROUTE_BROKER, .broker = broker, .api = op->api,
                         .vmin = op->vmin, .vmax = op->vmax, .enc = op->enc, .dec = op->dec, .build = leader_build,
                         .ctx = &ctx, .resp = op->resp};
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_CLOSED || e == KAFKA_ERR_NOMEM || e == KAFKA_ERR_NO_COMMON_VERSION) {
            err = e;
            break;
        }
        if (e) { /* that broker is unreachable: its partitions wait for the next round */
            *last = e;
            continue;
        }
        op->apply(op->ctx, rpc.version, op->resp, o, last);
    }
    kafka_arena_free(&arena);
    return err;
}

bool admin_partition_err_retriable(kafka_err e)
{
    return admin_err_is_routing(e) || e == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION || e == KAFKA_ERR_OFFSET_NOT_AVAILABLE ||
           e == KAFKA_ERR_KAFKA_STORAGE_ERROR || e == KAFKA_ERR_NOT_ENOUGH_REPLICAS;
}

kafka_admin_offset *admin_leader_answer(kafka_admin_offsets *o, kafka_str topic, int32_t partition, int16_t code,
                                        kafka_err *last)
{
    kafka_admin_offset *x = admin_offsets_find(o, topic, partition);
    if (!x || x->err != ADMIN_PENDING)
        return NULL;
    kafka_err e = kafka_err_from_wire(code);
    if (e && admin_partition_err_retriable(e)) {
        *last = e;
        return NULL;
    }
    x->err = e;
    return x;
}

kafka_err admin_per_leader(kafka_admin *a, admin_leader_op *op, kafka_admin_offsets *o, int64_t deadline)
{
    int32_t *leaders = kafka_calloc(o->n ? o->n : 1, sizeof *leaders);
    size_t *idx = kafka_calloc(o->n ? o->n : 1, sizeof *idx);
    kafka_err err = leaders && idx ? 0 : KAFKA_ERR_NOMEM;
    for (int attempt = 0; !err; attempt++) {
        kafka_err last = 0;
        err = one_round(a, op, o, leaders, idx, deadline, &last);
        bool pending = false;
        for (size_t i = 0; i < o->n; i++)
            pending |= o->offsets[i].err == ADMIN_PENDING;
        if (err || !pending)
            break;
        if (!admin_backoff(a, attempt, deadline, &last)) {
            if (last == KAFKA_ERR_CLOSED) {
                err = last;
                break;
            }
            for (size_t i = 0; i < o->n; i++)
                if (o->offsets[i].err == ADMIN_PENDING)
                    o->offsets[i].err = last ? last : KAFKA_ERR_TIMEOUT;
            break;
        }
    }
    kafka_free(leaders);
    kafka_free(idx);
    return err;
}
