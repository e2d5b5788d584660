/* Consumer groups: list (every broker), describe, delete (coordinator),
 * committed offsets: fetch, alter, reset, delete. Lag is in
 * admin_lag.c. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_groups.h"
#include "common/alloc.h"
#include "group/consumer_protocol.h"
#include "group/group.h"
#include "protocol/api.h"
#include "protocol/gen/consumer_group_describe.h"
#include "protocol/gen/delete_groups.h"
#include "protocol/gen/describe_groups.h"
#include "protocol/gen/list_groups.h"
#include "protocol/gen/metadata.h"
#include "protocol/gen/offset_delete.h"
#include "protocol/gen/offset_fetch.h"

KAFKA_CONN_ENCODER(list_groups_request)
KAFKA_CONN_DECODER(list_groups_response)
KAFKA_CONN_ENCODER(describe_groups_request)
KAFKA_CONN_DECODER(describe_groups_response)
KAFKA_CONN_ENCODER(consumer_group_describe_request)
KAFKA_CONN_DECODER(consumer_group_describe_response)
KAFKA_CONN_ENCODER(delete_groups_request)
KAFKA_CONN_DECODER(delete_groups_response)
KAFKA_CONN_ENCODER(offset_fetch_request)
KAFKA_CONN_DECODER(offset_fetch_response)
KAFKA_CONN_ENCODER(offset_delete_request)
KAFKA_CONN_DECODER(offset_delete_response)

/* OffsetFetch: v2+ reads a null topic list as "every partition"; v8+
 * moves to per-group arrays, which one group does not need. */
#define OFFSET_FETCH_ALL_MIN 2
#define OFFSET_FETCH_MAX 7

void kafka_admin_group_list_free(kafka_admin_group_list *l) { admin_result_free(l); }
void kafka_admin_groups_free(kafka_admin_groups *g) { admin_result_free(g); }
void kafka_admin_group_results_free(kafka_admin_group_results *r) { admin_result_free(r); }
void kafka_admin_group_offsets_free(kafka_admin_group_offsets *o) { admin_result_free(o); }

kafka_err admin_check_group(kafka_admin *a, const char *what, const char *group)
{
    if (!group || !*group)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty group id", what);
    if (strlen(group) > 32767)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: group id longer than 32767 bytes", what);
    return 0;
}

static kafka_err check_groups(kafka_admin *a, const char *what, const char *const *groups, size_t n)
{
    if (!groups || n == 0)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no groups given", what);
    for (size_t i = 0; i < n; i++) {
        kafka_err err = admin_check_group(a, what, groups[i]);
        if (err)
            return err;
        for (size_t j = 0; j < i; j++)
            if (strcmp(groups[i], groups[j]) == 0)
                return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: group \"%s\" named twice", what, groups[i]);
    }
    return 0;
}

/* ---- list ------------------------------------------------------------------ */

typedef struct lg_ctx {
    const char *const *states, *const *types;
    size_t n_states, n_types;
} lg_ctx;

static kafka_str *str_array(kafka_arena *arena, const char *const *v, size_t n)
{
    kafka_str *s = kafka_arena_calloc(arena, n ? n : 1, sizeof *s);
    for (size_t i = 0; s && i < n; i++)
        s[i] = kafka_str_c(v[i]);
    return s;
}

static kafka_err lg_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    lg_ctx *c = ctx;
    kafka_list_groups_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_list_groups_request_init(r);
    if (v >= 4) {
        r->states_filter = str_array(arena, c->states, c->n_states);
        r->states_filter_count = (int32_t)c->n_states;
    }
    if (v >= 5) {
        r->types_filter = str_array(arena, c->types, c->n_types);
        r->types_filter_count = (int32_t)c->n_types;
    }
    if ((v >= 4 && !r->states_filter) || (v >= 5 && !r->types_filter))
        return KAFKA_ERR_NOMEM;
    *req = r;
    return 0;
}

static kafka_err top_level_routing(int16_t code)
{
    kafka_err e = kafka_err_from_wire(code);
    return admin_err_is_routing(e) ? e : 0;
}

static kafka_err lg_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    return top_level_routing(((const kafka_list_groups_response *)resp)->error_code);
}

static int cmp_listing(const void *x, const void *y)
{
    return strcmp(((const kafka_admin_group_listing *)x)->group, ((const kafka_admin_group_listing *)y)->group);
}

typedef struct lg_merge {
    kafka_admin_group_list *l;
    kafka_arena *ar;
    size_t cap;
} lg_merge;

static kafka_err lg_answered(void *ctx, const admin_rpc *rpc)
{
    lg_merge *m = ctx;
    const kafka_list_groups_response *resp = rpc->resp;
    if (resp->error_code)
        return kafka_err_from_wire(resp->error_code);
    size_t n = resp->groups_count > 0 ? (size_t)resp->groups_count : 0;
    void *grown = admin_grow(m->ar, m->l->groups, &m->cap, m->l->n, m->l->n + n, sizeof *m->l->groups);
    if (!grown)
        return KAFKA_ERR_NOMEM;
    m->l->groups = grown;
    for (size_t i = 0; i < n; i++) {
        const kafka_list_groups_response_listed_group *x = &resp->groups[i];
        kafka_admin_group_listing *g = &m->l->groups[m->l->n++];
        *g = (kafka_admin_group_listing){admin_str(m->ar, x->group_id), admin_str(m->ar, x->protocol_type),
                                         rpc->version >= 4 ? admin_str(m->ar, x->group_state) : NULL,
                                         rpc->version >= 5 ? admin_str(m->ar, x->group_type) : NULL, rpc->broker};
        if (!g->group)
            return KAFKA_ERR_NOMEM;
    }
    return 0;
}

kafka_err kafka_admin_list_groups(kafka_admin *a, const char *const *states, size_t n_states,
                                  const char *const *types, size_t n_types, int timeout_ms,
                                  kafka_admin_group_list **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || (n_states && !states) || (n_types && !types) || n_states > INT32_MAX || n_types > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "list groups: bad arguments (NULL out or filter array)");
    for (size_t i = 0; !err && i < n_states + n_types; i++) {
        const char *f = i < n_states ? states[i] : types[i - n_states];
        if (!f || !*f)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "list groups: empty state or type filter");
    }
    lg_merge m = {NULL, NULL, 0};
    if (!err && !(m.l = admin_result_new(sizeof *m.l, &m.ar)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "list groups: out of memory");
    lg_ctx ctx = {states, types, n_states, n_types};
    kafka_list_groups_response resp;
    admin_rpc rpc = {.what = "list groups", .api = KAFKA_API_LIST_GROUPS, .vmin = n_types ? 5 : n_states ? 4 : 0,
                     .vmax = INT16_MAX, .enc = list_groups_request_enc_, .dec = list_groups_response_dec_,
                     .build = lg_build, .routing_err = lg_routing, .ctx = &ctx, .resp = &resp};
    kafka_err first = 0;
    if (!err)
        err = admin_each_broker(a, &rpc, admin_deadline(timeout_ms), m.ar, lg_answered, &m, &m.l->errors,
                                &m.l->n_errors, &first);
    void *grown = err ? NULL : admin_grow(m.ar, m.l->groups, &m.cap, m.l->n, m.l->n, sizeof *m.l->groups);
    if (grown)
        m.l->groups = grown; /* never NULL, even when empty */
    else if (!err)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "list groups: out of memory");
    if (err) {
        admin_result_free(m.l);
        admin_leave(a);
        return err;
    }
    kafka_admin_group_list *l = m.l;
    qsort(l->groups, l->n, sizeof *l->groups, cmp_listing);
    size_t k = 0; /* a group moving between coordinators may be listed twice */
    for (size_t i = 0; i < l->n; i++)
        if (k == 0 || strcmp(l->groups[k - 1].group, l->groups[i].group) != 0)
            l->groups[k++] = l->groups[i];
    l->n = k;
    *out = l;
    admin_leave(a);
    return first;
}

/* ---- describe ------------------------------------------------------------- */

typedef struct one_group_ctx {
    const char *group;
} one_group_ctx;

static kafka_err dg_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    one_group_ctx *c = ctx;
    (void)v;
    kafka_describe_groups_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_str *g = kafka_arena_alloc(arena, sizeof *g);
    if (!r || !g)
        return KAFKA_ERR_NOMEM;
    kafka_describe_groups_request_init(r);
    *g = kafka_str_c(c->group);
    r->groups = g;
    r->groups_count = 1;
    *req = r;
    return 0;
}

static kafka_err dg_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_describe_groups_response *r = resp;
    return r->groups_count == 1 ? top_level_routing(r->groups[0].error_code) : 0;
}

static int cmp_tp(const void *x, const void *y)
{
    const kafka_admin_tp *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    return c ? c : (p->partition < q->partition ? -1 : p->partition > q->partition);
}

/* Decodes a consumer member's assignment and subscription into the
 * result arena; undecodable bytes leave them empty. */
static kafka_err decode_member(kafka_arena *ar, kafka_admin_group_member *m,
                               const kafka_describe_groups_response_described_group_member *x)
{
    kafka_consumer_assignment as;
    if (x->member_assignment.len > 0 &&
        kafka_consumer_assignment_decode(x->member_assignment.ptr, (size_t)x->member_assignment.len, ar, &as) == 0) {
        kafka_admin_tp *tp = kafka_arena_calloc(ar, as.n_partitions ? as.n_partitions : 1, sizeof *tp);
        if (!tp)
            return KAFKA_ERR_NOMEM;
        for (size_t i = 0; i < as.n_partitions; i++)
            tp[i] = (kafka_admin_tp){as.partitions[i].topic, as.partitions[i].partition};
        qsort(tp, as.n_partitions, sizeof *tp, cmp_tp);
        m->assigned = tp;
        m->n_assigned = as.n_partitions;
    }
    kafka_consumer_subscription sub;
    if (x->member_metadata.len > 0 &&
        kafka_consumer_subscription_decode(x->member_metadata.ptr, (size_t)x->member_metadata.len, ar, &sub) == 0) {
        m->subscribed = sub.topics;
        m->n_subscribed = sub.n_topics;
    }
    return 0;
}

static kafka_err fill_group(kafka_arena *ar, kafka_admin_group *o, const kafka_describe_groups_response *resp,
                            int32_t coordinator)
{
    if (resp->groups_count != 1)
        return o->err = KAFKA_ERR_PROTOCOL;
    const kafka_describe_groups_response_described_group *g = &resp->groups[0];
    o->err = kafka_err_from_wire(g->error_code);
    o->state = admin_str(ar, g->group_state);
    o->protocol_type = admin_str(ar, g->protocol_type);
    o->protocol = admin_str(ar, g->protocol_data);
    o->coordinator = coordinator;
    if (!o->err && o->state && strcmp(o->state, "Dead") == 0)
        o->err = KAFKA_ERR_GROUP_ID_NOT_FOUND;
    size_t n = g->members_count > 0 ? (size_t)g->members_count : 0;
    o->members = kafka_arena_calloc(ar, n ? n : 1, sizeof *o->members);
    if (!o->members)
        return KAFKA_ERR_NOMEM;
    bool consumer = o->protocol_type && strcmp(o->protocol_type, KAFKA_CONSUMER_PROTOCOL_TYPE) == 0;
    for (size_t i = 0; i < n; i++) {
        const kafka_describe_groups_response_described_group_member *x = &g->members[i];
        kafka_admin_group_member *m = &o->members[i];
        m->member_id = admin_str(ar, x->member_id);
        m->instance_id = admin_str(ar, x->group_instance_id);
        m->client_id = admin_str(ar, x->client_id);
        m->client_host = admin_str(ar, x->client_host);
        if (consumer && decode_member(ar, m, x))
            return KAFKA_ERR_NOMEM;
        o->n_members = i + 1;
    }
    return 0;
}

/* ---- KIP-848 groups (ConsumerGroupDescribe) ----------------------------------- */

static kafka_err cg_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    one_group_ctx *c = ctx;
    (void)v;
    kafka_consumer_group_describe_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_str *g = kafka_arena_alloc(arena, sizeof *g);
    if (!r || !g)
        return KAFKA_ERR_NOMEM;
    kafka_consumer_group_describe_request_init(r);
    *g = kafka_str_c(c->group);
    r->group_ids = g;
    r->group_ids_count = 1;
    *req = r;
    return 0;
}

static kafka_err cg_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_consumer_group_describe_response *r = resp;
    return r->groups_count == 1 ? top_level_routing(r->groups[0].error_code) : 0;
}

static kafka_err fill_848_member(kafka_arena *ar, kafka_admin_group_member *m,
                                 const kafka_consumer_group_describe_response_member *x)
{
    m->member_id = admin_str(ar, x->member_id);
    m->instance_id = admin_str(ar, x->instance_id);
    m->client_id = admin_str(ar, x->client_id);
    m->client_host = admin_str(ar, x->client_host);
    size_t ns = x->subscribed_topic_names_count > 0 ? (size_t)x->subscribed_topic_names_count : 0;
    const char **sub = kafka_arena_calloc(ar, ns ? ns : 1, sizeof *sub);
    size_t na = 0;
    const kafka_consumer_group_describe_response_assignment *as = &x->assignment;
    for (int32_t t = 0; t < as->topic_partitions_count; t++)
        na += as->topic_partitions[t].partitions_count > 0 ? (size_t)as->topic_partitions[t].partitions_count : 0;
    kafka_admin_tp *tp = kafka_arena_calloc(ar, na ? na : 1, sizeof *tp);
    if (!m->member_id || !sub || !tp)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < ns; i++)
        sub[i] = admin_str(ar, x->subscribed_topic_names[i]);
    size_t k = 0;
    for (int32_t t = 0; t < as->topic_partitions_count; t++) {
        const char *topic = admin_str(ar, as->topic_partitions[t].topic_name);
        if (!topic)
            return KAFKA_ERR_NOMEM;
        for (int32_t p = 0; p < as->topic_partitions[t].partitions_count; p++)
            tp[k++] = (kafka_admin_tp){topic, as->topic_partitions[t].partitions[p]};
    }
    qsort(tp, k, sizeof *tp, cmp_tp);
    m->subscribed = sub;
    m->n_subscribed = ns;
    m->assigned = tp;
    m->n_assigned = k;
    return 0;
}

/* ConsumerGroupDescribe of one group into *o (err GROUP_ID_NOT_FOUND when
 * it is not a KIP-848 group either). */
static kafka_err describe_848(kafka_admin *a, const char *group, int64_t deadline, kafka_arena *ar,
                              kafka_admin_group *o)
{
    one_group_ctx ctx = {group};
    kafka_consumer_group_describe_response resp;
    admin_rpc rpc = {.what = "describe groups", .route = ADMIN_ROUTE_GROUP, .group = group,
                     .api = KAFKA_API_CONSUMER_GROUP_DESCRIBE, .vmin = 0, .vmax = INT16_MAX,
                     .enc = consumer_group_describe_request_enc_, .dec = consumer_group_describe_response_dec_,
                     .build = cg_build, .routing_err = cg_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_err err = admin_rpc_run(a, &rpc, &arena, deadline);
    if (!err && resp.groups_count != 1)
        err = admin_fail(a, KAFKA_ERR_PROTOCOL, "describe groups: %d groups in the answer for one",
                         (int)resp.groups_count);
    if (!err) {
        const kafka_consumer_group_describe_response_described_group *g = &resp.groups[0];
        kafka_err gerr = kafka_err_from_wire(g->error_code);
        if (!gerr) {
            size_t n = g->members_count > 0 ? (size_t)g->members_count : 0;
            kafka_admin_group_member *members = kafka_arena_calloc(ar, n ? n : 1, sizeof *members);
            if (!members)
                err = KAFKA_ERR_NOMEM;
            for (size_t i = 0; !err && i < n; i++)
                err = fill_848_member(ar, &members[i], &g->members[i]);
            if (!err) {
                *o = (kafka_admin_group){.group = o->group, .err = 0, .state = admin_str(ar, g->group_state),
                                         .protocol_type = KAFKA_CONSUMER_PROTOCOL_TYPE,
                                         .protocol = admin_str(ar, g->assignor_name),
                                         .coordinator = rpc.answered_by, .members = members, .n_members = n,
                                         .type = "consumer"};
            }
        } else {
            o->err = gerr;
        }
    }
    kafka_arena_free(&arena);
    return err;
}

kafka_err admin_describe_group(kafka_admin *a, const char *group, int64_t deadline, kafka_arena *ar,
                               kafka_admin_group *o)
{
    one_group_ctx ctx = {group};
    kafka_describe_groups_response resp;
    admin_rpc rpc = {.what = "describe groups", .route = ADMIN_ROUTE_GROUP, .group = group,
                     .api = KAFKA_API_DESCRIBE_GROUPS, .vmin = 0, .vmax = INT16_MAX,
                     .enc = describe_groups_request_enc_, .dec = describe_groups_response_dec_, .build = dg_build,
                     .routing_err = dg_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    o->group = admin_strz(ar, group);
    o->type = "classic";
    kafka_err err = o->group ? admin_rpc_run(a, &rpc, &arena, deadline) : KAFKA_ERR_NOMEM;
    if (!err)
        err = fill_group(ar, o, &resp, rpc.answered_by);
    kafka_arena_free(&arena);
    /* not a classic group (or no classic API): a KIP-848 group? */
    if ((!err && o->err == KAFKA_ERR_GROUP_ID_NOT_FOUND) || err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_err e = describe_848(a, group, deadline, ar, o);
        if (e != KAFKA_ERR_NO_COMMON_VERSION)
            err = e;
    }
    return err;
}

kafka_err kafka_admin_describe_groups(kafka_admin *a, const char *const *groups, size_t n, int timeout_ms,
                                      kafka_admin_groups **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_groups(a, "describe groups", groups, n)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe groups: out is NULL");
    if (err) {
        admin_leave(a);
        return err;
    }
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_arena *ar = NULL;
    kafka_admin_groups *r = admin_result_new(sizeof *r, &ar);
    if (!r || !(r->groups = kafka_arena_calloc(ar, n, sizeof *r->groups)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "describe groups: out of memory");
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        kafka_admin_group *o = &r->groups[i];
        kafka_err e = admin_describe_group(a, groups[i], deadline, ar, o);
        r->n = i + 1;
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED || e == KAFKA_ERR_NOMEM)
            err = e;
        else if (e)
            o->err = e;
        if (!err && o->err && !first)
            first = admin_fail(a, o->err, "describe groups: group %s: %s", groups[i], kafka_err_name(o->err));
    }
    if (err) {
        admin_result_free(r);
        r = NULL;
    }
    *out = r;
    admin_leave(a);
    return err ? err : first;
}

/* ---- delete groups ---------------------------------------------------------- */

static kafka_err del_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    one_group_ctx *c = ctx;
    (void)v;
    kafka_delete_groups_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_str *g = kafka_arena_alloc(arena, sizeof *g);
    if (!r || !g)
        return KAFKA_ERR_NOMEM;
    kafka_delete_groups_request_init(r);
    *g = kafka_str_c(c->group);
    r->groups_names = g;
    r->groups_names_count = 1;
    *req = r;
    return 0;
}

static kafka_err del_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_delete_groups_response *r = resp;
    return r->results_count == 1 ? top_level_routing(r->results[0].error_code) : 0;
}

kafka_err kafka_admin_delete_groups(kafka_admin *a, const char *const *groups, size_t n, int timeout_ms,
                                    kafka_admin_group_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_groups(a, "delete groups", groups, n)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete groups: out is NULL");
    if (err) {
        admin_leave(a);
        return err;
    }
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_arena *ar = NULL;
    kafka_admin_group_results *r = admin_result_new(sizeof *r, &ar);
    if (!r || !(r->results = kafka_arena_calloc(ar, n, sizeof *r->results)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "delete groups: out of memory");
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        one_group_ctx ctx = {groups[i]};
        kafka_delete_groups_response resp;
        admin_rpc rpc = {.what = "delete groups", .route = ADMIN_ROUTE_GROUP, .group = groups[i],
                         .api = KAFKA_API_DELETE_GROUPS, .vmin = 0, .vmax = INT16_MAX,
                         .enc = delete_groups_request_enc_, .dec = delete_groups_response_dec_,
                         .build = del_build, .routing_err = del_routing, .ctx = &ctx, .resp = &resp};
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED) {
            err = e;
            break;
        }
        if (!e)
            e = resp.results_count == 1 ? kafka_err_from_wire(resp.results[0].error_code) : KAFKA_ERR_PROTOCOL;
        r->results[i] = (kafka_admin_group_result){admin_strz(ar, groups[i]), e};
        r->n = i + 1;
        if (e && !first)
            first = admin_fail(a, e, "delete groups: group %s: %s", groups[i], kafka_err_name(e));
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(r);
        r = NULL;
    }
    *out = r;
    admin_leave(a);
    return err ? err : first;
}

/* ---- fetch offsets ------------------------------------------------------------ */

typedef struct of_ctx {
    const char *group;
    /* NULL: every committed partition (v2+); else these topics, all
     * their partitions (for brokers older than OffsetFetch v2) */
    const kafka_metadata_response *all;
} of_ctx;

static kafka_err of_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    of_ctx *c = ctx;
    (void)v;
    kafka_offset_fetch_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_offset_fetch_request_init(r);
    r->group_id = kafka_str_c(c->group);
    r->topics = NULL;
    r->topics_count = -1; /* every committed partition */
    if (c->all) {
        const kafka_metadata_response *md = c->all;
        r->topics_count = 0;
        r->topics = kafka_arena_calloc(arena, md->topics_count > 0 ? (size_t)md->topics_count : 1, sizeof *r->topics);
        if (!r->topics)
            return KAFKA_ERR_NOMEM;
        for (int32_t t = 0; t < md->topics_count; t++) {
            const kafka_metadata_response_metadata_response_topic *mt = &md->topics[t];
            if (mt->error_code || mt->partitions_count <= 0)
                continue;
            kafka_offset_fetch_request_offset_fetch_request_topic *rt = &r->topics[r->topics_count++];
            kafka_offset_fetch_request_offset_fetch_request_topic_init(rt);
            rt->name = mt->name;
            rt->partition_indexes = kafka_arena_calloc(arena, (size_t)mt->partitions_count, sizeof(int32_t));
            if (!rt->partition_indexes)
                return KAFKA_ERR_NOMEM;
            for (int32_t p = 0; p < mt->partitions_count; p++)
                rt->partition_indexes[rt->partition_indexes_count++] = mt->partitions[p].partition_index;
        }
    }
    *req = r;
    return 0;
}

static kafka_err of_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    return top_level_routing(((const kafka_offset_fetch_response *)resp)->error_code);
}

static int cmp_group_offset(const void *x, const void *y)
{
    const kafka_admin_group_offset *p = x, *q = y;
    int c = strcmp(p->topic, q->topic);
    return c ? c : (p->partition < q->partition ? -1 : p->partition > q->partition);
}

kafka_err admin_fetch_offsets(kafka_admin *a, const char *group, int64_t deadline, kafka_admin_group_offsets **out)
{
    *out = NULL;
    of_ctx ctx = {group, NULL};
    kafka_offset_fetch_response resp;
    admin_rpc rpc = {.what = "fetch offsets", .route = ADMIN_ROUTE_GROUP, .group = group,
                     .api = KAFKA_API_OFFSET_FETCH, .vmin = OFFSET_FETCH_ALL_MIN, .vmax = OFFSET_FETCH_MAX,
                     .enc = offset_fetch_request_enc_, .dec = offset_fetch_response_dec_, .build = of_build,
                     .routing_err = of_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena, md_arena;
    kafka_arena_init(&arena, 0);
    kafka_arena_init(&md_arena, 0);
    kafka_err err = admin_rpc_run(a, &rpc, &arena, deadline);
    kafka_metadata_response md;
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        /* OffsetFetch v0-v1 cannot ask for "every committed partition":
         * ask for every partition of every topic, keep what is committed */
        int16_t mv;
        err = admin_metadata(a, "fetch offsets", NULL, 0, KAFKA_CLUSTER_MD_ALL_TOPICS, deadline, &md_arena, &md, &mv);
        ctx.all = &md;
        rpc.vmin = 1;
        if (!err)
            err = admin_rpc_run(a, &rpc, &arena, deadline);
    }
    if (!err && ctx.all) /* drop "no commit" answers, as the v2+ form has none */
        for (int32_t t = 0; t < resp.topics_count; t++) {
            int32_t k = 0;
            for (int32_t p = 0; p < resp.topics[t].partitions_count; p++)
                if (resp.topics[t].partitions[p].committed_offset >= 0 || resp.topics[t].partitions[p].error_code)
                    resp.topics[t].partitions[k++] = resp.topics[t].partitions[p];
            resp.topics[t].partitions_count = k;
        }
    if (!err && resp.error_code)
        err = admin_fail(a, kafka_err_from_wire(resp.error_code), "fetch offsets: group %s: %s", group,
                         kafka_err_name(kafka_err_from_wire(resp.error_code)));
    size_t total = 0;
    for (int32_t t = 0; !err && t < resp.topics_count; t++)
        total += resp.topics[t].partitions_count > 0 ? (size_t)resp.topics[t].partitions_count : 0;
    kafka_arena *ar = NULL;
    kafka_admin_group_offsets *o = err ? NULL : admin_result_new(sizeof *o, &ar);
    if (!err && (!o || !(o->offsets = kafka_arena_calloc(ar, total ? total : 1, sizeof *o->offsets)) ||
                 !(o->group = admin_strz(ar, group))))
        err = KAFKA_ERR_NOMEM;
    for (int32_t t = 0; !err && t < resp.topics_count; t++) {
        const char *topic = admin_str(ar, resp.topics[t].name);
        for (int32_t p = 0; topic && p < resp.topics[t].partitions_count; p++) {
            const kafka_offset_fetch_response_offset_fetch_response_partition *x = &resp.topics[t].partitions[p];
            o->offsets[o->n++] = (kafka_admin_group_offset){
                topic, x->partition_index, kafka_err_from_wire(x->error_code), x->committed_offset,
                rpc.version >= 5 ? x->committed_leader_epoch : -1, admin_str(ar, x->metadata)};
        }
        if (!topic)
            err = KAFKA_ERR_NOMEM;
    }
    kafka_arena_free(&arena);
    kafka_arena_free(&md_arena);
    if (err) {
        admin_result_free(o);
        return err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "fetch offsets: out of memory") : err;
    }
    qsort(o->offsets, o->n, sizeof *o->offsets, cmp_group_offset);
    *out = o;
    for (size_t i = 0; i < o->n; i++)
        if (o->offsets[i].err)
            return admin_fail(a, o->offsets[i].err, "fetch offsets: group %s: %s [%d]: %s", group, o->offsets[i].topic,
                              (int)o->offsets[i].partition, kafka_err_name(o->offsets[i].err));
    return 0;
}

kafka_err kafka_admin_fetch_offsets(kafka_admin *a, const char *group, int timeout_ms, kafka_admin_group_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_check_group(a, "fetch offsets", group)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "fetch offsets: out is NULL");
    if (!err)
        err = admin_fetch_offsets(a, group, admin_deadline(timeout_ms), out);
    admin_leave(a);
    return err;
}

/* ---- alter / reset ------------------------------------------------------------ */

/* NON_EMPTY_GROUP unless the group has no members (Empty, or Dead: it does
 * not exist yet). Brokers without DescribeGroups skip the check. */
static kafka_err check_empty(kafka_admin *a, const char *what, const char *group, int64_t deadline)
{
    kafka_arena ar;
    kafka_arena_init(&ar, 0);
    kafka_admin_group g = {0};
    kafka_err err = admin_describe_group(a, group, deadline, &ar, &g);
    if (err == KAFKA_ERR_NO_COMMON_VERSION)
        err = 0;
    else if (!err && g.err == KAFKA_ERR_GROUP_ID_NOT_FOUND)
        err = 0;
    else if (!err && g.err)
        err = admin_fail(a, g.err, "%s: describe group %s: %s", what, group, kafka_err_name(g.err));
    else if (!err && g.state && strcmp(g.state, "Empty") != 0)
        err = admin_fail(a, KAFKA_ERR_NON_EMPTY_GROUP, "%s: group %s is %s with %zu members: offsets can only be "
                         "changed while the group is empty", what, group, g.state, g.n_members);
    kafka_arena_free(&ar);
    return err;
}

static kafka_err check_specs(kafka_admin *a, const char *what, const kafka_admin_offset_spec *offs, size_t n)
{
    if (!offs || n == 0)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no offsets given", what);
    for (size_t i = 0; i < n; i++) {
        if (!admin_topic_name_ok(offs[i].topic))
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: invalid topic name \"%s\"", what,
                              offs[i].topic ? offs[i].topic : "(null)");
        if (offs[i].partition < 0 || offs[i].offset < 0)
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s [%d] offset %lld: partition and offset must be >= 0",
                              what, offs[i].topic, (int)offs[i].partition, (long long)offs[i].offset);
        for (size_t j = 0; j < i; j++)
            if (offs[j].partition == offs[i].partition && strcmp(offs[j].topic, offs[i].topic) == 0)
                return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s [%d] named twice", what, offs[i].topic,
                                  (int)offs[i].partition);
    }
    return 0;
}

/* Commits offs outside any generation, retrying coordinator moves. */
static kafka_err commit(kafka_admin *a, const char *group, const kafka_admin_offset_spec *offs, size_t n,
                        int64_t deadline, kafka_admin_group_offsets **out)
{
    kafka_arena *ar = NULL;
    kafka_admin_group_offsets *o = admin_result_new(sizeof *o, &ar);
    kafka_group_offset *go = kafka_calloc(n, sizeof *go);
    kafka_group g;
    bool g_ok = false;
    kafka_err err = 0;
    if (!o || !go || !(o->offsets = kafka_arena_calloc(ar, n, sizeof *o->offsets)) ||
        !(o->group = admin_strz(ar, group)))
        err = KAFKA_ERR_NOMEM;
    if (!err && !(err = kafka_group_init(&g, a->kc, group, NULL, 30000, 30000)))
        g_ok = true;
    for (size_t i = 0; !err && i < n; i++)
        go[i] = (kafka_group_offset){offs[i].topic, offs[i].partition, offs[i].offset, 0};
    for (int attempt = 0; !err; attempt++) {
        err = kafka_group_commit(&g, go, n, deadline);
        if (!err)
            break;
        if (admin_err_is_routing(err))
            kafka_cluster_invalidate_coordinator(a->kc, group, 0);
        bool retry = admin_err_is_routing(err) || kafka_cluster_err_breaks_conn(err) || err == KAFKA_ERR_NO_BROKERS;
        if (!retry || err == KAFKA_ERR_CLOSED || !admin_backoff(a, attempt, deadline, &err))
            break;
    }
    /* request-level failures have no per-partition result */
    bool answered = err == 0;
    for (size_t i = 0; go && i < n && !answered; i++)
        answered = go[i].err != err;
    if (!answered || err == KAFKA_ERR_NOMEM) {
        char text[256] = "";
        if (g_ok)
            kafka_group_last_error(&g, text, sizeof text);
        if (err != KAFKA_ERR_NOMEM)
            admin_fail(a, err, "alter offsets: group %s: %s", group, text);
        admin_result_free(o);
        o = NULL;
    }
    for (size_t i = 0; o && i < n; i++) {
        o->offsets[i] = (kafka_admin_group_offset){admin_strz(ar, offs[i].topic), offs[i].partition, go[i].err,
                                                   offs[i].offset, -1, NULL};
        o->n++;
        if (!o->offsets[i].topic) {
            admin_result_free(o);
            o = NULL;
            err = admin_fail(a, KAFKA_ERR_NOMEM, "alter offsets: out of memory");
        }
    }
    if (o)
        qsort(o->offsets, o->n, sizeof *o->offsets, cmp_group_offset);
    if (g_ok)
        kafka_group_destroy(&g);
    kafka_free(go);
    *out = o;
    if (o && err)
        for (size_t i = 0; i < o->n; i++)
            if (o->offsets[i].err)
                return admin_fail(a, o->offsets[i].err, "alter offsets: group %s: %s [%d]: %s", group,
                                  o->offsets[i].topic, (int)o->offsets[i].partition, kafka_err_name(o->offsets[i].err));
    return err;
}

kafka_err kafka_admin_alter_offsets(kafka_admin *a, const char *group, const kafka_admin_offset_spec *offs, size_t n,
                                    int timeout_ms, kafka_admin_group_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_check_group(a, "alter offsets", group)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter offsets: out is NULL");
    if (!err)
        err = check_specs(a, "alter offsets", offs, n);
    int64_t deadline = admin_deadline(timeout_ms);
    if (!err)
        err = check_empty(a, "alter offsets", group, deadline);
    if (!err)
        err = commit(a, group, offs, n, deadline, out);
    admin_leave(a);
    return err;
}

kafka_err kafka_admin_reset_offsets(kafka_admin *a, const char *group, const kafka_admin_tp *parts, size_t n,
                                    int64_t to, int timeout_ms, kafka_admin_group_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_check_group(a, "reset offsets", group)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "reset offsets: out is NULL");
    if (!err && to != KAFKA_ADMIN_OFFSET_EARLIEST && to != KAFKA_ADMIN_OFFSET_LATEST && to < 0)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "reset offsets: target %lld (EARLIEST, LATEST or a Unix time in ms)",
                         (long long)to);
    int64_t deadline = admin_deadline(timeout_ms);
    if (!err)
        err = check_empty(a, "reset offsets", group, deadline);
    kafka_admin_offsets *at = NULL, *end = NULL;
    if (!err)
        err = admin_list_offsets(a, parts, n, to, deadline, &at);
    if (!err && to >= 0) /* no record that recent: the end */
        err = admin_list_offsets(a, parts, n, KAFKA_ADMIN_OFFSET_LATEST, deadline, &end);
    kafka_admin_offset_spec *specs = NULL;
    size_t ns = 0;
    if (!err && !(specs = kafka_calloc(at->n ? at->n : 1, sizeof *specs)))
        err = KAFKA_ERR_NOMEM;
    for (size_t i = 0; !err && i < at->n; i++) {
        int64_t off = at->offsets[i].offset;
        if (off < 0 && end && i < end->n)
            off = end->offsets[i].offset; /* same partitions, same order */
        specs[ns++] = (kafka_admin_offset_spec){at->offsets[i].topic, at->offsets[i].partition, off};
    }
    if (!err)
        err = commit(a, group, specs, ns, deadline, out);
    kafka_free(specs);
    kafka_admin_offsets_free(at);
    kafka_admin_offsets_free(end);
    admin_leave(a);
    return err;
}

/* ---- delete offsets -------------------------------------------------------------- */

typedef struct od_ctx {
    const char *group;
    const kafka_admin_tp *parts;
    size_t n;
} od_ctx;

static kafka_err od_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    od_ctx *c = ctx;
    (void)v;
    kafka_offset_delete_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_offset_delete_request_offset_delete_request_topic *ts = kafka_arena_calloc(arena, c->n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_offset_delete_request_init(r);
    r->group_id = kafka_str_c(c->group);
    int32_t nt = 0;
    for (size_t i = 0; i < c->n; i++) {
        int32_t t = 0;
        while (t < nt && !kafka_str_eq_c(ts[t].name, c->parts[i].topic))
            t++;
        if (t == nt) {
            kafka_offset_delete_request_offset_delete_request_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(c->parts[i].topic);
            ts[t].partitions = kafka_arena_calloc(arena, c->n, sizeof *ts[t].partitions);
            if (!ts[t].partitions)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        kafka_offset_delete_request_offset_delete_request_partition *p = &ts[t].partitions[ts[t].partitions_count++];
        kafka_offset_delete_request_offset_delete_request_partition_init(p);
        p->partition_index = c->parts[i].partition;
    }
    r->topics = ts;
    r->topics_count = nt;
    *req = r;
    return 0;
}

static kafka_err od_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    return top_level_routing(((const kafka_offset_delete_response *)resp)->error_code);
}

kafka_err kafka_admin_delete_offsets(kafka_admin *a, const char *group, const kafka_admin_tp *parts, size_t n,
                                     int timeout_ms, kafka_admin_group_offsets **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_check_group(a, "delete offsets", group)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete offsets: out is NULL");
    if (!err && (!parts || n == 0 || n > INT32_MAX))
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete offsets: no partitions given");
    for (size_t i = 0; !err && i < n; i++)
        if (!admin_topic_name_ok(parts[i].topic) || parts[i].partition < 0)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete offsets: bad partition \"%s\" [%d] (explicit "
                             "partitions only)", parts[i].topic ? parts[i].topic : "(null)", (int)parts[i].partition);
    if (err) {
        admin_leave(a);
        return err;
    }
    od_ctx ctx = {group, parts, n};
    kafka_offset_delete_response resp;
    admin_rpc rpc = {.what = "delete offsets", .route = ADMIN_ROUTE_GROUP, .group = group,
                     .api = KAFKA_API_OFFSET_DELETE, .vmin = 0, .vmax = INT16_MAX, .enc = offset_delete_request_enc_,
                     .dec = offset_delete_response_dec_, .build = od_build, .routing_err = od_routing, .ctx = &ctx,
                     .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_err top = err ? 0 : kafka_err_from_wire(resp.error_code);
    kafka_arena *ar = NULL;
    kafka_admin_group_offsets *o = err ? NULL : admin_result_new(sizeof *o, &ar);
    if (!err && (!o || !(o->offsets = kafka_arena_calloc(ar, n, sizeof *o->offsets)) ||
                 !(o->group = admin_strz(ar, group))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "delete offsets: out of memory");
    for (size_t i = 0; !err && i < n; i++) {
        kafka_err e = top ? top : KAFKA_ERR_PROTOCOL;
        for (int32_t t = 0; !top && t < resp.topics_count; t++)
            for (int32_t p = 0; kafka_str_eq_c(resp.topics[t].name, parts[i].topic) && p < resp.topics[t].partitions_count; p++)
                if (resp.topics[t].partitions[p].partition_index == parts[i].partition)
                    e = kafka_err_from_wire(resp.topics[t].partitions[p].error_code);
        o->offsets[o->n++] = (kafka_admin_group_offset){admin_strz(ar, parts[i].topic), parts[i].partition, e, -1, -1,
                                                        NULL};
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(o);
        admin_leave(a);
        return err;
    }
    qsort(o->offsets, o->n, sizeof *o->offsets, cmp_group_offset);
    *out = o;
    kafka_err first = 0;
    for (size_t i = 0; i < o->n && !first; i++)
        if (o->offsets[i].err)
            first = admin_fail(a, o->offsets[i].err, "delete offsets: group %s: %s [%d]: %s", group,
                               o->offsets[i].topic, (int)o->offsets[i].partition, kafka_err_name(o->offsets[i].err));
    admin_leave(a);
    return first;
}
