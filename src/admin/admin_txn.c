/* Transactions: ListTransactions (every broker) and DescribeTransactions
 * (each id's transaction coordinator). */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/describe_transactions.h"
#include "protocol/gen/list_transactions.h"

KAFKA_CONN_ENCODER(list_transactions_request)
KAFKA_CONN_DECODER(list_transactions_response)
KAFKA_CONN_ENCODER(describe_transactions_request)
KAFKA_CONN_DECODER(describe_transactions_response)

void kafka_admin_txn_list_free(kafka_admin_txn_list *l) { admin_result_free(l); }
void kafka_admin_txns_free(kafka_admin_txns *t) { admin_result_free(t); }

typedef struct lt_ctx {
    const char *const *states;
    size_t n_states;
    const int64_t *pids;
    size_t n_pids;
} lt_ctx;

static kafka_err lt_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    lt_ctx *c = ctx;
    (void)v;
    kafka_list_transactions_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_str *st = kafka_arena_calloc(arena, c->n_states ? c->n_states : 1, sizeof *st);
    int64_t *pid = kafka_arena_calloc(arena, c->n_pids ? c->n_pids : 1, sizeof *pid);
    if (!r || !st || !pid)
        return KAFKA_ERR_NOMEM;
    kafka_list_transactions_request_init(r);
    for (size_t i = 0; i < c->n_states; i++)
        st[i] = kafka_str_c(c->states[i]);
    for (size_t i = 0; i < c->n_pids; i++)
        pid[i] = c->pids[i];
    r->state_filters = st;
    r->state_filters_count = (int32_t)c->n_states;
    r->producer_id_filters = pid;
    r->producer_id_filters_count = (int32_t)c->n_pids;
    *req = r;
    return 0;
}

static kafka_err lt_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    kafka_err e = kafka_err_from_wire(((const kafka_list_transactions_response *)resp)->error_code);
    return admin_err_is_routing(e) ? e : 0;
}

static int cmp_listing(const void *x, const void *y)
{
    return strcmp(((const kafka_admin_txn_listing *)x)->transactional_id,
                  ((const kafka_admin_txn_listing *)y)->transactional_id);
}

typedef struct lt_merge {
    kafka_admin_txn_list *l;
    kafka_arena *ar;
    size_t cap;
} lt_merge;

static kafka_err lt_answered(void *ctx, const admin_rpc *rpc)
{
    lt_merge *m = ctx;
    const kafka_list_transactions_response *resp = rpc->resp;
    if (resp->error_code)
        return kafka_err_from_wire(resp->error_code);
    size_t n = resp->transaction_states_count > 0 ? (size_t)resp->transaction_states_count : 0;
    void *grown = admin_grow(m->ar, m->l->txns, &m->cap, m->l->n, m->l->n + n, sizeof *m->l->txns);
    if (!grown)
        return KAFKA_ERR_NOMEM;
    m->l->txns = grown;
    for (size_t i = 0; i < n; i++) {
        const kafka_list_transactions_response_transaction_state *x = &resp->transaction_states[i];
        kafka_admin_txn_listing *t = &m->l->txns[m->l->n++];
        *t = (kafka_admin_txn_listing){admin_str(m->ar, x->transactional_id), x->producer_id,
                                       admin_str(m->ar, x->transaction_state), rpc->broker};
        if (!t->transactional_id)
            return KAFKA_ERR_NOMEM;
    }
    return 0;
}

kafka_err kafka_admin_list_transactions(kafka_admin *a, const char *const *states, size_t n_states,
                                        const int64_t *producer_ids, size_t n_producer_ids, int timeout_ms,
                                        kafka_admin_txn_list **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "list transactions";
    if (!out || (n_states && !states) || (n_producer_ids && !producer_ids) || n_states > INT32_MAX ||
        n_producer_ids > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: NULL out or filter array", what);
    for (size_t i = 0; !err && i < n_states; i++)
        if (!states[i] || !*states[i])
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty state filter", what);
    for (size_t i = 0; !err && i < n_producer_ids; i++)
        if (producer_ids[i] < 0)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: negative producer id", what);
    lt_merge m = {NULL, NULL, 0};
    if (!err && !(m.l = admin_result_new(sizeof *m.l, &m.ar)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    lt_ctx ctx = {states, n_states, producer_ids, n_producer_ids};
    kafka_list_transactions_response resp;
    admin_rpc rpc = {.what = what, .api = KAFKA_API_LIST_TRANSACTIONS, .vmin = 0, .vmax = INT16_MAX,
                     .enc = list_transactions_request_enc_, .dec = list_transactions_response_dec_,
                     .build = lt_build, .routing_err = lt_routing, .ctx = &ctx, .resp = &resp};
    kafka_err first = 0;
    if (!err)
        err = admin_each_broker(a, &rpc, admin_deadline(timeout_ms), m.ar, lt_answered, &m, &m.l->errors,
                                &m.l->n_errors, &first);
    void *grown = err ? NULL : admin_grow(m.ar, m.l->txns, &m.cap, m.l->n, m.l->n, sizeof *m.l->txns);
    if (grown)
        m.l->txns = grown; /* never NULL, even when empty */
    else if (!err)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    if (err) {
        admin_result_free(m.l);
        admin_leave(a);
        return err;
    }
    qsort(m.l->txns, m.l->n, sizeof *m.l->txns, cmp_listing);
    *out = m.l;
    admin_leave(a);
    return first;
}

typedef struct dt_ctx {
    const char *id;
} dt_ctx;

static kafka_err dt_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    dt_ctx *c = ctx;
    (void)v;
    kafka_describe_transactions_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_str *id = kafka_arena_alloc(arena, sizeof *id);
    if (!r || !id)
        return KAFKA_ERR_NOMEM;
    kafka_describe_transactions_request_init(r);
    *id = kafka_str_c(c->id);
    r->transactional_ids = id;
    r->transactional_ids_count = 1;
    *req = r;
    return 0;
}

static kafka_err dt_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_describe_transactions_response *r = resp;
    kafka_err e = r->transaction_states_count == 1 ? kafka_err_from_wire(r->transaction_states[0].error_code) : 0;
    return admin_err_is_routing(e) ? e : 0;
}

static kafka_err fill_txn(kafka_arena *ar, kafka_admin_txn *o, const kafka_describe_transactions_response *resp)
{
    if (resp->transaction_states_count != 1)
        return o->err = KAFKA_ERR_PROTOCOL;
    const kafka_describe_transactions_response_transaction_state *x = &resp->transaction_states[0];
    o->err = kafka_err_from_wire(x->error_code);
    o->state = admin_str(ar, x->transaction_state);
    o->timeout_ms = x->transaction_timeout_ms;
    o->start_time_ms = x->transaction_start_time_ms;
    o->producer_id = x->producer_id;
    o->producer_epoch = x->producer_epoch;
    size_t np = 0;
    for (int32_t t = 0; t < x->topics_count; t++)
        np += x->topics[t].partitions_count > 0 ? (size_t)x->topics[t].partitions_count : 0;
    kafka_admin_tp *tp = kafka_arena_calloc(ar, np ? np : 1, sizeof *tp);
    if (!tp)
        return KAFKA_ERR_NOMEM;
    size_t k = 0;
    for (int32_t t = 0; t < x->topics_count; t++) {
        const char *topic = admin_str(ar, x->topics[t].topic);
        if (!topic)
            return KAFKA_ERR_NOMEM;
        for (int32_t p = 0; p < x->topics[t].partitions_count; p++)
            tp[k++] = (kafka_admin_tp){topic, x->topics[t].partitions[p]};
    }
    o->partitions = tp;
    o->n_partitions = k;
    return 0;
}

kafka_err kafka_admin_describe_transactions(kafka_admin *a, const char *const *ids, size_t n, int timeout_ms,
                                            kafka_admin_txns **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "describe transactions";
    if (!out || !ids || n == 0)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no transactional ids given, or NULL out", what);
    for (size_t i = 0; !err && i < n; i++) {
        if (!ids[i] || !*ids[i])
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty transactional id", what);
        for (size_t j = 0; !err && j < i; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: \"%s\" named twice", what, ids[i]);
    }
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_arena *ar = NULL;
    kafka_admin_txns *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->txns = kafka_arena_calloc(ar, n, sizeof *r->txns))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        dt_ctx ctx = {ids[i]};
        kafka_describe_transactions_response resp;
        admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_TXN, .group = ids[i],
                         .api = KAFKA_API_DESCRIBE_TRANSACTIONS, .vmin = 0, .vmax = INT16_MAX,
                         .enc = describe_transactions_request_enc_, .dec = describe_transactions_response_dec_,
                         .build = dt_build, .routing_err = dt_routing, .ctx = &ctx, .resp = &resp};
        kafka_admin_txn *o = &r->txns[r->n++];
        o->transactional_id = admin_strz(ar, ids[i]);
        o->start_time_ms = -1;
        o->producer_id = -1;
        o->producer_epoch = -1;
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED) {
            err = e;
            break;
        }
        if (e)
            o->err = e;
        else if (fill_txn(ar, o, &resp) == KAFKA_ERR_NOMEM)
            err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
        o->coordinator = rpc.answered_by;
        if (!o->partitions)
            o->partitions = kafka_arena_calloc(ar, 1, sizeof *o->partitions);
        if (!err && o->err && !first)
            first = admin_fail(a, o->err, "%s: %s: %s", what, ids[i], kafka_err_name(o->err));
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(r);
    } else {
        *out = r;
        err = first;
    }
    admin_leave(a);
    return err;
}
