/* Replicas: ElectLeaders (controller) and DescribeLogDirs (each broker). */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/describe_log_dirs.h"
#include "protocol/gen/elect_leaders.h"

KAFKA_CONN_ENCODER(elect_leaders_request)
KAFKA_CONN_DECODER(elect_leaders_response)
KAFKA_CONN_ENCODER(describe_log_dirs_request)
KAFKA_CONN_DECODER(describe_log_dirs_response)

void kafka_admin_partition_results_free(kafka_admin_partition_results *r) { admin_result_free(r); }
void kafka_admin_log_dirs_free(kafka_admin_log_dirs *d) { admin_result_free(d); }

/* ---- elect leaders ---------------------------------------------------------- */

typedef struct el_ctx {
    const kafka_admin_offsets *o; /* the partitions, sorted; PENDING ones are asked */
    int8_t election;
    int32_t timeout_ms;
} el_ctx;

static kafka_err el_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    el_ctx *c = ctx;
    (void)v;
    kafka_elect_leaders_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_elect_leaders_request_topic_partitions *ts = kafka_arena_calloc(arena, c->o->n ? c->o->n : 1, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_elect_leaders_request_init(r);
    int32_t nt = 0;
    for (size_t i = 0; i < c->o->n; i++) {
        const kafka_admin_offset *x = &c->o->offsets[i];
        if (x->err != ADMIN_PENDING)
            continue;
        if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].topic, x->topic)) {
            kafka_elect_leaders_request_topic_partitions_init(&ts[nt]);
            ts[nt].topic = kafka_str_c(x->topic);
            ts[nt].partitions = kafka_arena_calloc(arena, c->o->n, sizeof(int32_t));
            if (!ts[nt].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        ts[nt - 1].partitions[ts[nt - 1].partitions_count++] = x->partition;
    }
    r->election_type = c->election;
    r->topic_partitions = ts;
    r->topic_partitions_count = nt;
    r->timeout_ms = c->timeout_ms;
    *req = r;
    return 0;
}

static kafka_err el_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    kafka_err e = kafka_err_from_wire(((const kafka_elect_leaders_response *)resp)->error_code);
    return e == KAFKA_ERR_NOT_CONTROLLER ? e : 0;
}

kafka_err kafka_admin_elect_leaders(kafka_admin *a, const kafka_admin_tp *parts, size_t n,
                                    kafka_admin_election election, int timeout_ms, kafka_admin_partition_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "elect leaders";
    if (!out || !parts || n == 0)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no partitions given, or NULL out", what);
    else if (election != KAFKA_ADMIN_ELECT_PREFERRED && election != KAFKA_ADMIN_ELECT_UNCLEAN)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: unknown election type %d", what, (int)election);
    for (size_t i = 0; !err && i < n; i++)
        if (!admin_topic_name_ok(parts[i].topic) || parts[i].partition < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: bad partition \"%s\" [%d]", what,
                             parts[i].topic ? parts[i].topic : "(null)", (int)parts[i].partition);
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_admin_offsets *o = NULL;
    if (!err)
        err = admin_offsets_expand(a, what, parts, n, deadline, &o);
    bool any = false;
    for (size_t i = 0; !err && i < o->n; i++)
        any |= o->offsets[i].err == ADMIN_PENDING;
    el_ctx ctx = {o, (int8_t)election, timeout_ms > 0 ? timeout_ms : 30000};
    kafka_elect_leaders_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_ELECT_LEADERS,
                     .vmin = election == KAFKA_ADMIN_ELECT_UNCLEAN ? 1 : 0, .vmax = INT16_MAX,
                     .enc = elect_leaders_request_enc_, .dec = elect_leaders_response_dec_, .build = el_build,
                     .routing_err = el_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err && any)
        err = admin_rpc_run(a, &rpc, &arena, deadline);
    if (!err && any && resp.error_code)
        err = admin_fail(a, kafka_err_from_wire(resp.error_code), "%s: %s", what,
                         kafka_err_name(kafka_err_from_wire(resp.error_code)));
    kafka_arena *ar = NULL;
    kafka_admin_partition_results *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->results = kafka_arena_calloc(ar, o->n ? o->n : 1, sizeof *r->results))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < o->n; i++) {
        const kafka_admin_offset *x = &o->offsets[i];
        kafka_admin_partition_result *y = &r->results[r->n++];
        y->topic = admin_strz(ar, x->topic);
        y->partition = x->partition;
        y->err = x->err == ADMIN_PENDING ? KAFKA_ERR_PROTOCOL : x->err; /* until the answer names it */
        for (int32_t t = 0; x->err == ADMIN_PENDING && t < resp.replica_election_results_count; t++) {
            const kafka_elect_leaders_response_replica_election_result *rt = &resp.replica_election_results[t];
            for (int32_t p = 0; kafka_str_eq_c(rt->topic, x->topic) && p < rt->partition_result_count; p++)
                if (rt->partition_result[p].partition_id == x->partition) {
                    y->err = kafka_err_from_wire(rt->partition_result[p].error_code);
                    y->message = rt->partition_result[p].error_message.len > 0
                                     ? admin_str(ar, rt->partition_result[p].error_message)
                                     : NULL;
                }
        }
        if (y->err && y->err != KAFKA_ERR_ELECTION_NOT_NEEDED && !first)
            first = admin_item_fail(a, what, y->topic, y->partition, y->err, y->message);
    }
    kafka_arena_free(&arena);
    kafka_admin_offsets_free(o);
    if (err) {
        admin_result_free(r);
    } else {
        *out = r;
        err = first;
    }
    admin_leave(a);
    return err;
}

/* ---- log dirs -------------------------------------------------------------------- */

static kafka_err ld_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    (void)ctx;
    (void)v;
    kafka_describe_log_dirs_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_describe_log_dirs_request_init(r);
    r->topics = NULL;
    r->topics_count = -1; /* every partition */
    *req = r;
    return 0;
}

static kafka_err fill_dirs(kafka_arena *ar, kafka_admin_broker_log_dirs *b, const kafka_describe_log_dirs_response *resp,
                           int16_t v)
{
    size_t nd = resp->results_count > 0 ? (size_t)resp->results_count : 0;
    b->dirs = kafka_arena_calloc(ar, nd ? nd : 1, sizeof *b->dirs);
    if (!b->dirs)
        return KAFKA_ERR_NOMEM;
    for (size_t d = 0; d < nd; d++) {
        const kafka_describe_log_dirs_response_describe_log_dirs_result *x = &resp->results[d];
        kafka_admin_log_dir *o = &b->dirs[b->n_dirs++];
        o->path = admin_str(ar, x->log_dir);
        o->err = kafka_err_from_wire(x->error_code);
        o->total_bytes = v >= 4 ? x->total_bytes : -1;
        o->usable_bytes = v >= 4 ? x->usable_bytes : -1;
        size_t np = 0;
        for (int32_t t = 0; t < x->topics_count; t++)
            np += x->topics[t].partitions_count > 0 ? (size_t)x->topics[t].partitions_count : 0;
        o->partitions = kafka_arena_calloc(ar, np ? np : 1, sizeof *o->partitions);
        if (!o->path || !o->partitions)
            return KAFKA_ERR_NOMEM;
        for (int32_t t = 0; t < x->topics_count; t++) {
            const char *topic = admin_str(ar, x->topics[t].name);
            if (!topic)
                return KAFKA_ERR_NOMEM;
            for (int32_t p = 0; p < x->topics[t].partitions_count; p++) {
                const kafka_describe_log_dirs_response_describe_log_dirs_partition *q = &x->topics[t].partitions[p];
                o->partitions[o->n_partitions++] =
                    (kafka_admin_log_dir_partition){topic, q->partition_index, q->partition_size, q->offset_lag,
                                                    q->is_future_key};
            }
        }
    }
    return 0;
}

kafka_err kafka_admin_describe_log_dirs(kafka_admin *a, const int32_t *brokers, size_t n, int timeout_ms,
                                        kafka_admin_log_dirs **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "describe log dirs";
    if (!out || (n && !brokers))
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: NULL out or broker list", what);
    for (size_t i = 0; !err && i < n; i++)
        if (brokers[i] < 0)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: broker id %d", what, (int)brokers[i]);
    int64_t deadline = admin_deadline(timeout_ms);
    int32_t *all = NULL;
    if (!err && n == 0) {
        err = admin_brokers(a, what, deadline, &all, &n);
        brokers = all;
    }
    kafka_arena *ar = NULL;
    kafka_admin_log_dirs *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->brokers = kafka_arena_calloc(ar, n ? n : 1, sizeof *r->brokers))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        kafka_describe_log_dirs_response resp;
        admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_BROKER, .broker = brokers[i],
                         .api = KAFKA_API_DESCRIBE_LOG_DIRS, .vmin = 0, .vmax = INT16_MAX,
                         .enc = describe_log_dirs_request_enc_, .dec = describe_log_dirs_response_dec_,
                         .build = ld_build, .resp = &resp};
        kafka_admin_broker_log_dirs *b = &r->brokers[r->n++];
        b->broker = brokers[i];
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED) {
            err = e;
            break;
        }
        if (!e && rpc.version >= 3)
            e = kafka_err_from_wire(resp.error_code);
        if (!e && fill_dirs(ar, b, &resp, rpc.version))
            err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
        b->err = e;
        if (e && !first)
            first = admin_fail(a, e, "%s: broker %d: %s", what, (int)brokers[i], kafka_err_name(e));
        if (!b->dirs)
            b->dirs = kafka_arena_calloc(ar, 1, sizeof *b->dirs);
    }
    kafka_arena_free(&arena);
    kafka_free(all);
    if (err) {
        admin_result_free(r);
    } else {
        *out = r;
        err = first;
    }
    admin_leave(a);
    return err;
}
