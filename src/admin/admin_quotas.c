/* Client quotas: DescribeClientQuotas and AlterClientQuotas, any broker. */
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/alter_client_quotas.h"
#include "protocol/gen/describe_client_quotas.h"

KAFKA_CONN_ENCODER(describe_client_quotas_request)
KAFKA_CONN_DECODER(describe_client_quotas_response)
KAFKA_CONN_ENCODER(alter_client_quotas_request)
KAFKA_CONN_DECODER(alter_client_quotas_response)

void kafka_admin_quotas_free(kafka_admin_quotas *q) { admin_result_free(q); }
void kafka_admin_quota_results_free(kafka_admin_quota_results *r) { admin_result_free(r); }

static kafka_str str_or_null(const char *s) { return s ? kafka_str_c(s) : KAFKA_STR_NULL; }

static kafka_err check_entity(kafka_admin *a, const char *what, const kafka_admin_quota_entity *e, size_t n)
{
    if (!e || n == 0)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: a change without an entity", what);
    for (size_t i = 0; i < n; i++) {
        if (!e[i].type || !*e[i].type)
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: entity part without a type", what);
        if (e[i].name && !*e[i].name)
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty entity name (NULL for the default)", what);
    }
    return 0;
}

static bool same_entity(const kafka_admin_quota_change *x, const kafka_admin_quota_change *y)
{
    if (x->n_entity != y->n_entity)
        return false;
    for (size_t i = 0; i < x->n_entity; i++) {
        const kafka_admin_quota_entity *p = &x->entity[i], *q = &y->entity[i];
        if (strcmp(p->type, q->type) != 0 || (!p->name != !q->name) || (p->name && strcmp(p->name, q->name) != 0))
            return false;
    }
    return true;
}

/* ---- describe ------------------------------------------------------------ */

typedef struct dq_ctx {
    const kafka_admin_quota_filter *f;
    size_t n;
    bool strict;
} dq_ctx;

static kafka_err dq_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    dq_ctx *c = ctx;
    (void)v;
    kafka_describe_client_quotas_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_describe_client_quotas_request_component_data *cd = kafka_arena_calloc(arena, c->n ? c->n : 1, sizeof *cd);
    if (!r || !cd)
        return KAFKA_ERR_NOMEM;
    kafka_describe_client_quotas_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        kafka_describe_client_quotas_request_component_data_init(&cd[i]);
        cd[i].entity_type = kafka_str_c(c->f[i].type);
        cd[i].match_type = (int8_t)c->f[i].match;
        cd[i].match = c->f[i].match == KAFKA_ADMIN_QUOTA_MATCH_EXACT ? kafka_str_c(c->f[i].name) : KAFKA_STR_NULL;
    }
    r->components = cd;
    r->components_count = (int32_t)c->n;
    r->strict = c->strict;
    *req = r;
    return 0;
}

kafka_err kafka_admin_describe_quotas(kafka_admin *a, const kafka_admin_quota_filter *filters, size_t n, bool strict,
                                      int timeout_ms, kafka_admin_quotas **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "describe quotas";
    if (!out || (n && !filters) || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: NULL out or filters", what);
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_admin_quota_filter *f = &filters[i];
        if (!f->type || !*f->type || f->match < KAFKA_ADMIN_QUOTA_MATCH_EXACT || f->match > KAFKA_ADMIN_QUOTA_MATCH_ANY ||
            (f->match == KAFKA_ADMIN_QUOTA_MATCH_EXACT && (!f->name || !*f->name)))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: filter %zu needs a type, a match kind and (exact) a name",
                             what, i);
    }
    dq_ctx ctx = {filters, n, strict};
    kafka_describe_client_quotas_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_ANY, .api = KAFKA_API_DESCRIBE_CLIENT_QUOTAS, .vmin = 0,
                     .vmax = INT16_MAX, .enc = describe_client_quotas_request_enc_,
                     .dec = describe_client_quotas_response_dec_, .build = dq_build, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    if (!err && resp.error_code) {
        char msg[256] = "";
        if (resp.error_message.len > 0)
            snprintf(msg, sizeof msg, "%.*s", (int)resp.error_message.len, resp.error_message.ptr);
        err = admin_item_fail(a, what, "request", -1, kafka_err_from_wire(resp.error_code), msg[0] ? msg : NULL);
    }
    kafka_arena *ar = NULL;
    size_t ne = !err && resp.entries_count > 0 ? (size_t)resp.entries_count : 0;
    kafka_admin_quotas *q = err ? NULL : admin_result_new(sizeof *q, &ar);
    if (!err && (!q || !(q->entries = kafka_arena_calloc(ar, ne ? ne : 1, sizeof *q->entries))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; !err && i < ne; i++) {
        const kafka_describe_client_quotas_response_entry_data *x = &resp.entries[i];
        size_t nt = x->entity_count > 0 ? (size_t)x->entity_count : 0;
        size_t nv = x->values_count > 0 ? (size_t)x->values_count : 0;
        kafka_admin_quota_entity *ent = kafka_arena_calloc(ar, nt ? nt : 1, sizeof *ent);
        kafka_admin_quota_value *val = kafka_arena_calloc(ar, nv ? nv : 1, sizeof *val);
        if (!ent || !val) {
            err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
            break;
        }
        for (size_t k = 0; k < nt; k++)
            ent[k] = (kafka_admin_quota_entity){admin_str(ar, x->entity[k].entity_type),
                                                admin_str(ar, x->entity[k].entity_name)};
        for (size_t k = 0; k < nv; k++)
            val[k] = (kafka_admin_quota_value){admin_str(ar, x->values[k].key), x->values[k].value};
        q->entries[q->n++] = (kafka_admin_quota_entry){ent, nt, val, nv};
    }
    kafka_arena_free(&arena);
    if (err)
        admin_result_free(q);
    else
        *out = q;
    admin_leave(a);
    return err;
}

/* ---- alter ------------------------------------------------------------------ */

typedef struct aq_ctx {
    const kafka_admin_quota_change *ch;
    size_t n;
    const size_t *entry_of; /* change -> first change with the same entity */
    bool validate_only;
} aq_ctx;

static kafka_err aq_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    aq_ctx *c = ctx;
    (void)v;
    kafka_alter_client_quotas_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_alter_client_quotas_request_entry_data *en = kafka_arena_calloc(arena, c->n, sizeof *en);
    int32_t *slot = kafka_arena_calloc(arena, c->n, sizeof *slot);
    if (!r || !en || !slot)
        return KAFKA_ERR_NOMEM;
    kafka_alter_client_quotas_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        const kafka_admin_quota_change *x = &c->ch[i];
        if (c->entry_of[i] == i) {
            kafka_alter_client_quotas_request_entry_data *e = &en[r->entries_count];
            kafka_alter_client_quotas_request_entry_data_init(e);
            e->entity = kafka_arena_calloc(arena, x->n_entity, sizeof *e->entity);
            e->ops = kafka_arena_calloc(arena, c->n, sizeof *e->ops);
            if (!e->entity || !e->ops)
                return KAFKA_ERR_NOMEM;
            for (size_t k = 0; k < x->n_entity; k++) {
                kafka_alter_client_quotas_request_entity_data_init(&e->entity[k]);
                e->entity[k].entity_type = kafka_str_c(x->entity[k].type);
                e->entity[k].entity_name = str_or_null(x->entity[k].name);
            }
            e->entity_count = (int32_t)x->n_entity;
            slot[i] = r->entries_count++;
        }
        kafka_alter_client_quotas_request_entry_data *e = &en[slot[c->entry_of[i]]];
        kafka_alter_client_quotas_request_op_data *op = &e->ops[e->ops_count++];
        kafka_alter_client_quotas_request_op_data_init(op);
        op->key = kafka_str_c(x->key);
        op->value = x->remove ? 0 : x->value;
        op->remove = x->remove;
    }
    r->entries = en;
    r->validate_only = c->validate_only;
    *req = r;
    return 0;
}

/* True when the answer's entity is the entity of change x. */
static bool entity_matches(const kafka_alter_client_quotas_response_entry_data *e, const kafka_admin_quota_change *x)
{
    if (e->entity_count < 0 || (size_t)e->entity_count != x->n_entity)
        return false;
    for (size_t k = 0; k < x->n_entity; k++) {
        bool found = false;
        for (int32_t j = 0; j < e->entity_count && !found; j++)
            found = kafka_str_eq_c(e->entity[j].entity_type, x->entity[k].type) &&
                    (x->entity[k].name ? kafka_str_eq_c(e->entity[j].entity_name, x->entity[k].name)
                                       : e->entity[j].entity_name.len < 0);
        if (!found)
            return false;
    }
    return true;
}

kafka_err kafka_admin_alter_quotas(kafka_admin *a, const kafka_admin_quota_change *changes, size_t n,
                                   bool validate_only, int timeout_ms, kafka_admin_quota_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "alter quotas";
    if (!out || !changes || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no changes, or NULL out", what);
    size_t *entry_of = err ? NULL : kafka_calloc(n, sizeof *entry_of);
    if (!err && !entry_of)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    size_t n_entries = 0;
    for (size_t i = 0; !err && i < n; i++) {
        err = check_entity(a, what, changes[i].entity, changes[i].n_entity);
        if (!err && (!changes[i].key || !*changes[i].key))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: change %zu has no quota key", what, i);
        if (!err && !changes[i].remove && !(changes[i].value >= 0))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: %s: negative or NaN value", what, changes[i].key);
        entry_of[i] = i;
        for (size_t j = 0; !err && j < i && entry_of[i] == i; j++)
            if (same_entity(&changes[j], &changes[i]))
                entry_of[i] = entry_of[j];
        n_entries += !err && entry_of[i] == i;
    }
    aq_ctx ctx = {changes, n, entry_of, validate_only};
    kafka_alter_client_quotas_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_ANY, .api = KAFKA_API_ALTER_CLIENT_QUOTAS, .vmin = 0,
                     .vmax = INT16_MAX, .enc = alter_client_quotas_request_enc_,
                     .dec = alter_client_quotas_response_dec_, .build = aq_build, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_arena *ar = NULL;
    kafka_admin_quota_results *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->results = kafka_arena_calloc(ar, n_entries, sizeof *r->results))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        if (entry_of[i] != i)
            continue;
        kafka_admin_quota_result *y = &r->results[r->n++];
        y->err = KAFKA_ERR_PROTOCOL; /* until the answer names the entity */
        for (int32_t k = 0; k < resp.entries_count; k++)
            if (entity_matches(&resp.entries[k], &changes[i])) {
                y->err = kafka_err_from_wire(resp.entries[k].error_code);
                y->message = resp.entries[k].error_message.len > 0 ? admin_str(ar, resp.entries[k].error_message)
                                                                   : NULL;
            }
        if (y->err && !first)
            first = admin_item_fail(a, what, changes[i].entity[0].type, -1, y->err, y->message);
    }
    kafka_arena_free(&arena);
    kafka_free(entry_of);
    if (err) {
        admin_result_free(r);
    } else {
        *out = r;
        err = first;
    }
    admin_leave(a);
    return err;
}
