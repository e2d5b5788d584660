/* ListOffsets for many partitions: one request per leader broker carrying
 * all of its partitions, answers merged; partitions whose leader moved are
 * asked again after a metadata refresh, until the deadline. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/list_offsets.h"
#include "protocol/gen/metadata.h"

KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

/* An offset not filled in yet. */
#define PENDING KAFKA_ERR_STATE

void kafka_admin_offsets_free(kafka_admin_offsets *o) { admin_result_free(o); }

static int cmp_offset(const void *x, const void *y)
{
    const kafka_admin_offset *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    if (c)
        return c;
    return p->partition < q->partition ? -1 : p->partition > q->partition;
}

static kafka_admin_offset *find_offset(kafka_admin_offsets *o, kafka_str topic, int32_t partition)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->offsets[i].partition == partition && kafka_str_eq_c(topic, o->offsets[i].topic))
            return &o->offsets[i];
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
 * error, the rest PENDING. */
static kafka_err expand(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int64_t deadline,
                        kafka_admin_offsets **out)
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
        admin_metadata(a, "list offsets", names, n, KAFKA_CLUSTER_MD_NEVER_CREATE, deadline, &arena, &md, &v);
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
                        e = PENDING;
            }
            o->offsets[o->n++] = (kafka_admin_offset){topic, parts[i].partition, e, -1, -1, -1};
            continue;
        }
        for (int32_t k = 0; k < np; k++)
            o->offsets[o->n++] = (kafka_admin_offset){topic, t->partitions[k].partition_index, PENDING, -1, -1, -1};
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

typedef struct lo_ctx {
    kafka_admin_offsets *o;
    const int32_t *leaders; /* per entry */
    int32_t broker;
    int64_t timestamp;
} lo_ctx;

static kafka_err lo_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    lo_ctx *c = ctx;
    (void)v;
    kafka_list_offsets_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_list_offsets_request_list_offsets_topic *ts = kafka_arena_calloc(arena, c->o->n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_list_offsets_request_init(r);
    r->replica_id = -1;
    int32_t nt = 0;
    for (size_t i = 0; i < c->o->n; i++) {
        const kafka_admin_offset *x = &c->o->offsets[i];
        if (x->err != PENDING || c->leaders[i] != c->broker)
            continue;
        /* entries are sorted by topic: a new topic starts a new entry */
        if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].name, x->topic)) {
            kafka_list_offsets_request_list_offsets_topic_init(&ts[nt]);
            ts[nt].name = kafka_str_c(x->topic);
            ts[nt].partitions = kafka_arena_calloc(arena, c->o->n, sizeof *ts[nt].partitions);
            if (!ts[nt].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        kafka_list_offsets_request_list_offsets_topic *t = &ts[nt - 1];
        kafka_list_offsets_request_list_offsets_partition *p = &t->partitions[t->partitions_count++];
        kafka_list_offsets_request_list_offsets_partition_init(p);
        p->partition_index = x->partition;
        p->timestamp = c->timestamp;
    }
    r->topics = ts;
    r->topics_count = nt;
    *req = r;
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
        if (o->offsets[i].err == PENDING && (nn == 0 || strcmp(names[nn - 1], o->offsets[i].topic) != 0))
            names[nn++] = o->offsets[i].topic;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v;
    kafka_err err =
        admin_metadata(a, "list offsets", names, nn, KAFKA_CLUSTER_MD_NEVER_CREATE, deadline, &arena, &md, &v);
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

static bool offset_err_retriable(kafka_err e)
{
    return admin_err_is_routing(e) || e == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION || e == KAFKA_ERR_OFFSET_NOT_AVAILABLE ||
           e == KAFKA_ERR_KAFKA_STORAGE_ERROR;
}

/* One round: a ListOffsets to each leader of the pending entries. Entries
 * left PENDING (no leader, a leader that moved) get `retry_err` in *last. */
static kafka_err one_round(kafka_admin *a, kafka_admin_offsets *o, int32_t *leaders, int64_t timestamp,
                           int64_t deadline, kafka_err *last)
{
    kafka_err err = leaders_of(a, o, leaders, deadline);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    for (size_t i = 0; !err && i < o->n; i++) {
        if (o->offsets[i].err != PENDING)
            continue;
        if (leaders[i] < 0) {
            *last = KAFKA_ERR_LEADER_NOT_AVAILABLE;
            continue;
        }
        int32_t broker = leaders[i];
        lo_ctx ctx = {o, leaders, broker, timestamp};
        kafka_list_offsets_response resp;
        admin_rpc rpc = {.what = "list offsets", .route = ADMIN_ROUTE_BROKER, .broker = broker,
                         .api = KAFKA_API_LIST_OFFSETS,
                         .vmin = timestamp == KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP ? 7 : 1, .vmax = INT16_MAX,
                         .enc = list_offsets_request_enc_, .dec = list_offsets_response_dec_, .build = lo_build,
                         .ctx = &ctx, .resp = &resp};
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_CLOSED || e == KAFKA_ERR_NOMEM || e == KAFKA_ERR_NO_COMMON_VERSION) {
            err = e;
            break;
        }
        if (e) { /* that broker is unreachable: its partitions wait for the next round */
            *last = e;
            for (size_t k = i; k < o->n; k++)
                if (leaders[k] == broker)
                    leaders[k] = -2;
            continue;
        }
        for (int32_t t = 0; t < resp.topics_count; t++)
            for (int32_t p = 0; p < resp.topics[t].partitions_count; p++) {
                const kafka_list_offsets_response_list_offsets_partition_response *rp = &resp.topics[t].partitions[p];
                kafka_admin_offset *x = find_offset(o, resp.topics[t].name, rp->partition_index);
                if (!x || x->err != PENDING)
                    continue;
                kafka_err pe = kafka_err_from_wire(rp->error_code);
                if (pe && offset_err_retriable(pe)) {
                    *last = pe;
                    continue;
                }
                x->err = pe;
                x->offset = rp->offset;
                x->timestamp = rp->timestamp;
                x->leader_epoch = rpc.version >= 4 ? rp->leader_epoch : -1;
            }
        /* whatever this broker did not answer stays pending; skip it in this round */
        for (size_t k = i; k < o->n; k++)
            if (leaders[k] == broker)
                leaders[k] = -2;
    }
    kafka_arena_free(&arena);
    return err;
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
    kafka_err err = expand(a, parts, n, deadline, &o);
    if (err)
        return err;
    int32_t *leaders = kafka_calloc(o->n ? o->n : 1, sizeof *leaders);
    if (!leaders) {
        kafka_admin_offsets_free(o);
        return KAFKA_ERR_NOMEM;
    }
    for (int attempt = 0;; attempt++) {
        kafka_err last = 0;
        err = one_round(a, o, leaders, timestamp, deadline, &last);
        bool pending = false;
        for (size_t i = 0; i < o->n; i++)
            pending |= o->offsets[i].err == PENDING;
        if (err || !pending)
            break;
        if (!admin_backoff(a, attempt, deadline, &last)) {
            if (last == KAFKA_ERR_CLOSED) {
                err = last;
                break;
            }
            for (size_t i = 0; i < o->n; i++)
                if (o->offsets[i].err == PENDING)
                    o->offsets[i].err = last ? last : KAFKA_ERR_TIMEOUT;
            break;
        }
    }
    kafka_free(leaders);
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
