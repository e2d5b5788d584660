/* Partition reassignments: AlterPartitionReassignments and
 * ListPartitionReassignments, both to the controller. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/alter_partition_reassignments.h"
#include "protocol/gen/list_partition_reassignments.h"

KAFKA_CONN_ENCODER(alter_partition_reassignments_request)
KAFKA_CONN_DECODER(alter_partition_reassignments_response)
KAFKA_CONN_ENCODER(list_partition_reassignments_request)
KAFKA_CONN_DECODER(list_partition_reassignments_response)

void kafka_admin_reassignments_free(kafka_admin_reassignments *r) { admin_result_free(r); }

static kafka_err controller_routing(int16_t code)
{
    return code == KAFKA_ERR_NOT_CONTROLLER ? KAFKA_ERR_NOT_CONTROLLER : 0;
}

/* ---- alter ------------------------------------------------------------------ */

typedef struct ar_ctx {
    const kafka_admin_reassignment *m;
    size_t n;
    int32_t timeout_ms;
} ar_ctx;

static kafka_err ar_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    ar_ctx *c = ctx;
    (void)v;
    kafka_alter_partition_reassignments_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_alter_partition_reassignments_request_reassignable_topic *ts = kafka_arena_calloc(arena, c->n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_alter_partition_reassignments_request_init(r);
    int32_t nt = 0;
    for (size_t i = 0; i < c->n; i++) {
        int32_t t = 0;
        while (t < nt && !kafka_str_eq_c(ts[t].name, c->m[i].topic))
            t++;
        if (t == nt) {
            kafka_alter_partition_reassignments_request_reassignable_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(c->m[i].topic);
            ts[t].partitions = kafka_arena_calloc(arena, c->n, sizeof *ts[t].partitions);
            if (!ts[t].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        kafka_alter_partition_reassignments_request_reassignable_partition *p =
            &ts[t].partitions[ts[t].partitions_count++];
        kafka_alter_partition_reassignments_request_reassignable_partition_init(p);
        p->partition_index = c->m[i].partition;
        p->replicas = c->m[i].n_replicas ? (int32_t *)(uintptr_t)c->m[i].replicas : NULL;
        p->replicas_count = c->m[i].n_replicas ? (int32_t)c->m[i].n_replicas : -1; /* null = cancel */
    }
    r->topics = ts;
    r->topics_count = nt;
    r->timeout_ms = c->timeout_ms;
    *req = r;
    return 0;
}

static kafka_err ar_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    return controller_routing(((const kafka_alter_partition_reassignments_response *)resp)->error_code);
}

static int cmp_result(const void *x, const void *y)
{
    const kafka_admin_partition_result *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    return c ? c : (p->partition < q->partition ? -1 : p->partition > q->partition);
}

kafka_err kafka_admin_alter_reassignments(kafka_admin *a, const kafka_admin_reassignment *moves, size_t n,
                                          int timeout_ms, kafka_admin_partition_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "alter reassignments";
    if (!out || !moves || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no partitions given, or NULL out", what);
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_admin_reassignment *m = &moves[i];
        if (!admin_topic_name_ok(m->topic) || m->partition < 0 || (m->n_replicas && !m->replicas) ||
            m->n_replicas > INT32_MAX)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: bad partition \"%s\" [%d] or replica list", what,
                             m->topic ? m->topic : "(null)", (int)m->partition);
        for (size_t k = 0; !err && k < m->n_replicas; k++) {
            if (m->replicas[k] < 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s [%d]: replica id %d", what, m->topic,
                                 (int)m->partition, (int)m->replicas[k]);
            for (size_t j = 0; !err && j < k; j++)
                if (m->replicas[j] == m->replicas[k])
                    err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s [%d]: replica %d listed twice", what, m->topic,
                                     (int)m->partition, (int)m->replicas[k]);
        }
        for (size_t j = 0; !err && j < i; j++)
            if (moves[j].partition == m->partition && strcmp(moves[j].topic, m->topic) == 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s [%d] named twice", what, m->topic,
                                 (int)m->partition);
    }
    ar_ctx ctx = {moves, n, timeout_ms > 0 ? timeout_ms : 30000};
    kafka_alter_partition_reassignments_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_ALTER_PARTITION_REASSIGNMENTS,
                     .vmin = 0, .vmax = INT16_MAX, .enc = alter_partition_reassignments_request_enc_,
                     .dec = alter_partition_reassignments_response_dec_, .build = ar_build, .routing_err = ar_routing,
                     .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    if (!err && resp.error_code)
        err = admin_item_fail(a, what, "request", -1, kafka_err_from_wire(resp.error_code), NULL);
    kafka_arena *ar = NULL;
    kafka_admin_partition_results *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->results = kafka_arena_calloc(ar, n, sizeof *r->results))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; !err && i < n; i++) {
        kafka_admin_partition_result *y = &r->results[r->n++];
        y->topic = admin_strz(ar, moves[i].topic);
        y->partition = moves[i].partition;
        y->err = KAFKA_ERR_PROTOCOL; /* until the answer names it */
        for (int32_t t = 0; t < resp.responses_count; t++)
            for (int32_t p = 0; kafka_str_eq_c(resp.responses[t].name, moves[i].topic) &&
                                p < resp.responses[t].partitions_count;
                 p++) {
                const kafka_alter_partition_reassignments_response_reassignable_partition_response *x =
                    &resp.responses[t].partitions[p];
                if (x->partition_index == moves[i].partition) {
                    y->err = kafka_err_from_wire(x->error_code);
                    y->message = x->error_message.len > 0 ? admin_str(ar, x->error_message) : NULL;
                }
            }
    }
    kafka_arena_free(&arena);
    kafka_err first = 0;
    if (!err) {
        qsort(r->results, r->n, sizeof *r->results, cmp_result);
        for (size_t i = 0; i < r->n && !first; i++)
            if (r->results[i].err)
                first = admin_item_fail(a, what, r->results[i].topic, r->results[i].partition, r->results[i].err,
                                        r->results[i].message);
        *out = r;
    } else {
        admin_result_free(r);
    }
    admin_leave(a);
    return err ? err : first;
}

/* ---- list ------------------------------------------------------------------- */

typedef struct lr_ctx {
    const kafka_admin_offsets *parts; /* NULL: every partition */
    int32_t timeout_ms;
} lr_ctx;

static kafka_err lr_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    lr_ctx *c = ctx;
    (void)v;
    kafka_list_partition_reassignments_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_list_partition_reassignments_request_init(r);
    r->timeout_ms = c->timeout_ms;
    r->topics = NULL;
    r->topics_count = -1;
    if (c->parts) {
        const kafka_admin_offsets *o = c->parts;
        kafka_list_partition_reassignments_request_list_partition_reassignments_topics *ts =
            kafka_arena_calloc(arena, o->n ? o->n : 1, sizeof *ts);
        if (!ts)
            return KAFKA_ERR_NOMEM;
        int32_t nt = 0;
        for (size_t i = 0; i < o->n; i++) {
            if (o->offsets[i].err != ADMIN_PENDING)
                continue;
            if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].name, o->offsets[i].topic)) { /* sorted by topic */
                kafka_list_partition_reassignments_request_list_partition_reassignments_topics_init(&ts[nt]);
                ts[nt].name = kafka_str_c(o->offsets[i].topic);
                ts[nt].partition_indexes = kafka_arena_calloc(arena, o->n, sizeof(int32_t));
                if (!ts[nt].partition_indexes)
                    return KAFKA_ERR_NOMEM;
                nt++;
            }
            ts[nt - 1].partition_indexes[ts[nt - 1].partition_indexes_count++] = o->offsets[i].partition;
        }
        r->topics = ts;
        r->topics_count = nt;
    }
    *req = r;
    return 0;
}

static kafka_err lr_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    return controller_routing(((const kafka_list_partition_reassignments_response *)resp)->error_code);
}

static int cmp_move(const void *x, const void *y)
{
    const kafka_admin_reassignment *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    return c ? c : (p->partition < q->partition ? -1 : p->partition > q->partition);
}

kafka_err kafka_admin_list_reassignments(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int timeout_ms,
                                         kafka_admin_reassignments **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "list reassignments";
    if (!out || (n && !parts))
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: NULL out or partitions", what);
    for (size_t i = 0; !err && i < n; i++)
        if (!admin_topic_name_ok(parts[i].topic) || parts[i].partition < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: bad partition \"%s\" [%d]", what,
                             parts[i].topic ? parts[i].topic : "(null)", (int)parts[i].partition);
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_admin_offsets *expanded = NULL;
    if (!err && n)
        err = admin_offsets_expand(a, what, parts, n, deadline, &expanded);
    lr_ctx ctx = {expanded, timeout_ms > 0 ? timeout_ms : 30000};
    kafka_list_partition_reassignments_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_LIST_PARTITION_REASSIGNMENTS,
                     .vmin = 0, .vmax = INT16_MAX, .enc = list_partition_reassignments_request_enc_,
                     .dec = list_partition_reassignments_response_dec_, .build = lr_build, .routing_err = lr_routing,
                     .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, deadline);
    if (!err && resp.error_code)
        err = admin_item_fail(a, what, "request", -1, kafka_err_from_wire(resp.error_code), NULL);
    size_t total = 0;
    for (int32_t t = 0; !err && t < resp.topics_count; t++)
        total += resp.topics[t].partitions_count > 0 ? (size_t)resp.topics[t].partitions_count : 0;
    kafka_arena *ar = NULL;
    kafka_admin_reassignments *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->reassignments = kafka_arena_calloc(ar, total ? total : 1, sizeof *r->reassignments))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (int32_t t = 0; !err && t < resp.topics_count; t++) {
        const char *topic = admin_str(ar, resp.topics[t].name);
        for (int32_t p = 0; topic && p < resp.topics[t].partitions_count; p++) {
            const kafka_list_partition_reassignments_response_ongoing_partition_reassignment *x =
                &resp.topics[t].partitions[p];
            kafka_admin_reassignment *m = &r->reassignments[r->n++];
            m->topic = topic;
            m->partition = x->partition_index;
            m->replicas = admin_ints(ar, x->replicas, x->replicas_count, &m->n_replicas);
            m->adding = admin_ints(ar, x->adding_replicas, x->adding_replicas_count, &m->n_adding);
            m->removing = admin_ints(ar, x->removing_replicas, x->removing_replicas_count, &m->n_removing);
            if (!m->replicas || !m->adding || !m->removing)
                err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
        }
        if (!topic)
            err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    }
    kafka_arena_free(&arena);
    kafka_err first = 0;
    for (size_t i = 0; !err && expanded && i < expanded->n && !first; i++)
        if (expanded->offsets[i].err != ADMIN_PENDING)
            first = admin_item_fail(a, what, expanded->offsets[i].topic, expanded->offsets[i].partition,
                                    expanded->offsets[i].err, NULL);
    kafka_admin_offsets_free(expanded);
    if (err) {
        admin_result_free(r);
    } else {
        qsort(r->reassignments, r->n, sizeof *r->reassignments, cmp_move);
        *out = r;
    }
    admin_leave(a);
    return err ? err : first;
}
