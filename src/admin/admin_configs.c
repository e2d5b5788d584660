/* Configs: DescribeConfigs and IncrementalAlterConfigs, split by target
 * (topics to any broker in one request, broker resources to their broker)
 * and merged back in request order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "protocol/api.h"
#include "protocol/gen/describe_configs.h"
#include "protocol/gen/incremental_alter_configs.h"

KAFKA_CONN_ENCODER(describe_configs_request)
KAFKA_CONN_DECODER(describe_configs_response)
KAFKA_CONN_ENCODER(incremental_alter_configs_request)
KAFKA_CONN_DECODER(incremental_alter_configs_response)

void kafka_admin_configs_free(kafka_admin_configs *c) { admin_result_free(c); }
void kafka_admin_resource_results_free(kafka_admin_resource_results *r) { admin_result_free(r); }

/* The broker a resource's request goes to: -1 = any. INVALID_ARG for a
 * bad type or broker name. */
static kafka_err resource_target(kafka_admin *a, const char *what, kafka_admin_resource_type type, const char *name,
                                 int32_t *target)
{
    *target = -1;
    if (!name)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: resource without a name", what);
    switch (type) {
    case KAFKA_ADMIN_RESOURCE_TOPIC:
        if (!admin_topic_name_ok(name))
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: invalid topic name \"%s\"", what, name);
        return 0;
    case KAFKA_ADMIN_RESOURCE_BROKER:
    case KAFKA_ADMIN_RESOURCE_BROKER_LOGGER: {
        if (!*name && type == KAFKA_ADMIN_RESOURCE_BROKER)
            return 0; /* cluster-wide defaults: any broker */
        char *end = NULL;
        long id = strtol(name, &end, 10);
        if (!*name || *end || id < 0 || id > INT32_MAX)
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: broker resource \"%s\" is not a broker id", what, name);
        *target = (int32_t)id;
        return 0;
    }
    }
    return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: unknown resource type %d", what, (int)type);
}

/* ---- describe ------------------------------------------------------------ */

typedef struct dc_ctx {
    const kafka_admin_resource *res;
    const int32_t *targets;
    size_t n;
    int32_t target;
    const char *const *keys;
    size_t n_keys;
} dc_ctx;

static kafka_err dc_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    dc_ctx *c = ctx;
    kafka_describe_configs_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_describe_configs_request_describe_configs_resource *rs = kafka_arena_calloc(arena, c->n, sizeof *rs);
    kafka_str *keys = c->n_keys ? kafka_arena_calloc(arena, c->n_keys, sizeof *keys) : NULL;
    if (!r || !rs || (c->n_keys && !keys))
        return KAFKA_ERR_NOMEM;
    for (size_t k = 0; k < c->n_keys; k++)
        keys[k] = kafka_str_c(c->keys[k]);
    kafka_describe_configs_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        if (c->targets[i] != c->target)
            continue;
        kafka_describe_configs_request_describe_configs_resource *x = &rs[r->resources_count++];
        kafka_describe_configs_request_describe_configs_resource_init(x);
        x->resource_type = (int8_t)c->res[i].type;
        x->resource_name = kafka_str_c(c->res[i].name);
        x->configuration_keys = keys;
        x->configuration_keys_count = keys ? (int32_t)c->n_keys : -1;
    }
    r->resources = rs;
    r->include_synonyms = v >= 1;
    *req = r;
    return 0;
}

static int cmp_entry(const void *x, const void *y)
{
    return strcmp(((const kafka_admin_config_entry *)x)->name, ((const kafka_admin_config_entry *)y)->name);
}

static kafka_err fill_resource(kafka_arena *ar, kafka_admin_config_resource *o,
                               const kafka_describe_configs_response_describe_configs_result *x, int16_t v)
{
    o->err = kafka_err_from_wire(x->error_code);
    o->message = x->error_message.len > 0 ? admin_str(ar, x->error_message) : NULL;
    size_t n = x->configs_count > 0 ? (size_t)x->configs_count : 0;
    o->entries = kafka_arena_calloc(ar, n ? n : 1, sizeof *o->entries);
    if (!o->entries)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const kafka_describe_configs_response_describe_configs_resource_result *c = &x->configs[i];
        kafka_admin_config_entry *e = &o->entries[i];
        e->name = admin_str(ar, c->name);
        e->value = admin_str(ar, c->value);
        e->read_only = c->read_only;
        e->sensitive = c->is_sensitive;
        if (v >= 1)
            e->source = c->config_source >= 0 ? (kafka_admin_config_source)c->config_source
                                              : KAFKA_ADMIN_CONFIG_SOURCE_UNKNOWN;
        else
            e->source = c->is_default ? KAFKA_ADMIN_CONFIG_SOURCE_DEFAULT : KAFKA_ADMIN_CONFIG_SOURCE_UNKNOWN;
        e->is_default = v >= 1 ? e->source == KAFKA_ADMIN_CONFIG_SOURCE_DEFAULT : c->is_default;
        e->type = v >= 3 ? c->config_type : 0;
        e->documentation = v >= 3 ? admin_str(ar, c->documentation) : NULL;
        size_t ns = c->synonyms_count > 0 ? (size_t)c->synonyms_count : 0;
        kafka_admin_config_synonym *syn = kafka_arena_calloc(ar, ns ? ns : 1, sizeof *syn);
        if (!e->name || !syn)
            return KAFKA_ERR_NOMEM;
        for (size_t k = 0; k < ns; k++)
            syn[k] = (kafka_admin_config_synonym){admin_str(ar, c->synonyms[k].name),
                                                  admin_str(ar, c->synonyms[k].value),
                                                  (kafka_admin_config_source)c->synonyms[k].source};
        e->synonyms = syn;
        e->n_synonyms = ns;
        o->n_entries = i + 1;
    }
    qsort(o->entries, o->n_entries, sizeof *o->entries, cmp_entry);
    return 0;
}

kafka_err kafka_admin_describe_configs(kafka_admin *a, const kafka_admin_resource *resources, size_t n,
                                       const char *const *keys, size_t n_keys, int timeout_ms,
                                       kafka_admin_configs **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || !resources || n == 0 || n > INT32_MAX || (n_keys && !keys) || n_keys > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe configs: no resources, or NULL out/keys");
    for (size_t k = 0; !err && k < n_keys; k++)
        if (!keys[k] || !*keys[k])
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe configs: empty config name");
    int32_t *targets = err ? NULL : kafka_calloc(n, sizeof *targets);
    if (!err && !targets)
        err = KAFKA_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        err = resource_target(a, "describe configs", resources[i].type, resources[i].name, &targets[i]);
        for (size_t j = 0; !err && j < i; j++)
            if (resources[j].type == resources[i].type && strcmp(resources[j].name, resources[i].name) == 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe configs: resource \"%s\" named twice",
                                 resources[i].name);
    }
    kafka_arena *ar = NULL;
    kafka_admin_configs *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->resources = kafka_arena_calloc(ar, n, sizeof *r->resources))))
        err = KAFKA_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        kafka_admin_config_resource *o = &r->resources[i];
        o->type = resources[i].type;
        o->name = admin_strz(ar, resources[i].name);
        o->err = KAFKA_ERR_PROTOCOL; /* until an answer names it */
        o->entries = kafka_arena_calloc(ar, 1, sizeof *o->entries);
        if (!o->name || !o->entries)
            err = KAFKA_ERR_NOMEM;
    }
    if (r)
        r->n = n;
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    for (size_t i = 0; !err && i < n; i++) {
        bool first_of_target = true;
        for (size_t j = 0; j < i; j++)
            first_of_target &= targets[j] != targets[i];
        if (!first_of_target)
            continue;
        dc_ctx ctx = {resources, targets, n, targets[i], keys, n_keys};
        kafka_describe_configs_response resp;
        admin_rpc rpc = {.what = "describe configs", .route = targets[i] < 0 ? ADMIN_ROUTE_ANY : ADMIN_ROUTE_BROKER,
                         .broker = targets[i], .api = KAFKA_API_DESCRIBE_CONFIGS, .vmin = 0, .vmax = INT16_MAX,
                         .enc = describe_configs_request_enc_, .dec = describe_configs_response_dec_,
                         .build = dc_build, .ctx = &ctx, .resp = &resp};
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED) {
            err = e;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            if (targets[k] != targets[i])
                continue;
            r->resources[k].err = e ? e : KAFKA_ERR_PROTOCOL;
            for (int32_t x = 0; !e && x < resp.results_count; x++)
                if (resp.results[x].resource_type == (int8_t)resources[k].type &&
                    kafka_str_eq_c(resp.results[x].resource_name, resources[k].name) &&
                    fill_resource(ar, &r->resources[k], &resp.results[x], rpc.version))
                    err = KAFKA_ERR_NOMEM;
        }
    }
    kafka_arena_free(&arena);
    kafka_free(targets);
    if (err) {
        admin_result_free(r);
        kafka_err ret = err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "describe configs: out of memory") : err;
        admin_leave(a);
        return ret;
    }
    *out = r;
    kafka_err first = 0;
    for (size_t i = 0; i < r->n && !first; i++)
        if (r->resources[i].err)
            first = admin_item_fail(a, "describe configs", r->resources[i].name, -1, r->resources[i].err,
                                    r->resources[i].message);
    admin_leave(a);
    return first;
}

/* ---- incremental alter ---------------------------------------------------------- */

typedef struct ac_ctx {
    const kafka_admin_config_change *ch;
    size_t n;
    const int32_t *targets;
    const size_t *res_of; /* change -> index of its resource (first change naming it) */
    int32_t target;
    bool validate_only;
} ac_ctx;

static kafka_err ac_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    ac_ctx *c = ctx;
    (void)v;
    kafka_incremental_alter_configs_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_incremental_alter_configs_request_alter_configs_resource *rs = kafka_arena_calloc(arena, c->n, sizeof *rs);
    int32_t *slot = kafka_arena_calloc(arena, c->n, sizeof *slot); /* resource index -> request slot */
    if (!r || !rs || !slot)
        return KAFKA_ERR_NOMEM;
    kafka_incremental_alter_configs_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        if (c->targets[i] != c->target)
            continue;
        size_t ri = c->res_of[i];
        if (ri == i) { /* first change of this resource */
            kafka_incremental_alter_configs_request_alter_configs_resource *x = &rs[r->resources_count];
            kafka_incremental_alter_configs_request_alter_configs_resource_init(x);
            x->resource_type = (int8_t)c->ch[i].type;
            x->resource_name = kafka_str_c(c->ch[i].resource);
            x->configs = kafka_arena_calloc(arena, c->n, sizeof *x->configs);
            if (!x->configs)
                return KAFKA_ERR_NOMEM;
            slot[i] = r->resources_count++;
        }
        kafka_incremental_alter_configs_request_alter_configs_resource *x = &rs[slot[ri]];
        kafka_incremental_alter_configs_request_alterable_config *cf = &x->configs[x->configs_count++];
        kafka_incremental_alter_configs_request_alterable_config_init(cf);
        cf->name = kafka_str_c(c->ch[i].name);
        cf->config_operation = (int8_t)c->ch[i].op;
        cf->value = c->ch[i].value ? kafka_str_c(c->ch[i].value) : KAFKA_STR_NULL;
    }
    r->resources = rs;
    r->validate_only = c->validate_only;
    *req = r;
    return 0;
}

kafka_err kafka_admin_alter_configs(kafka_admin *a, const kafka_admin_config_change *changes, size_t n,
                                    bool validate_only, int timeout_ms, kafka_admin_resource_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || !changes || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter configs: no changes, or NULL out");
    int32_t *targets = err ? NULL : kafka_calloc(n, sizeof *targets);
    size_t *res_of = err ? NULL : kafka_calloc(n, sizeof *res_of);
    if (!err && (!targets || !res_of))
        err = KAFKA_ERR_NOMEM;
    size_t n_res = 0;
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_admin_config_change *c = &changes[i];
        err = resource_target(a, "alter configs", c->type, c->resource, &targets[i]);
        if (!err && (!c->name || !*c->name))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter configs: %s: empty config name", c->resource);
        if (!err && (c->op < KAFKA_ADMIN_CONFIG_SET || c->op > KAFKA_ADMIN_CONFIG_SUBTRACT))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter configs: %s: unknown operation %d", c->name, (int)c->op);
        if (!err && c->op != KAFKA_ADMIN_CONFIG_DELETE && !c->value)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter configs: %s: no value", c->name);
        res_of[i] = i;
        for (size_t j = 0; !err && j < i; j++)
            if (changes[j].type == c->type && strcmp(changes[j].resource, c->resource) == 0) {
                res_of[i] = res_of[j];
                if (strcmp(changes[j].name, c->name) == 0)
                    err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "alter configs: %s: %s changed twice", c->resource,
                                     c->name);
            }
        if (!err && res_of[i] == i)
            n_res++;
    }
    kafka_arena *ar = NULL;
    kafka_admin_resource_results *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->results = kafka_arena_calloc(ar, n_res, sizeof *r->results))))
        err = KAFKA_ERR_NOMEM;
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    for (size_t i = 0; !err && i < n; i++)
        if (res_of[i] == i)
            r->results[r->n++] = (kafka_admin_resource_result){changes[i].type, admin_strz(ar, changes[i].resource),
                                                               KAFKA_ERR_PROTOCOL, NULL};
    for (size_t i = 0; !err && i < n; i++) {
        bool first_of_target = true;
        for (size_t j = 0; j < i; j++)
            first_of_target &= targets[j] != targets[i];
        if (!first_of_target)
            continue;
        ac_ctx ctx = {changes, n, targets, res_of, targets[i], validate_only};
        kafka_incremental_alter_configs_response resp;
        admin_rpc rpc = {.what = "alter configs", .route = targets[i] < 0 ? ADMIN_ROUTE_ANY : ADMIN_ROUTE_BROKER,
                         .broker = targets[i], .api = KAFKA_API_INCREMENTAL_ALTER_CONFIGS, .vmin = 0,
                         .vmax = INT16_MAX, .enc = incremental_alter_configs_request_enc_,
                         .dec = incremental_alter_configs_response_dec_, .build = ac_build, .ctx = &ctx,
                         .resp = &resp};
        kafka_err e = admin_rpc_run(a, &rpc, &arena, deadline);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED) {
            err = e;
            break;
        }
        /* results of resources of this target, matched by type and name
         * (filled below once every result slot exists) */
        for (size_t k = i; k < n; k++) {
            if (targets[k] != targets[i] || res_of[k] != k)
                continue;
            kafka_err re = e ? e : KAFKA_ERR_PROTOCOL;
            kafka_str msg = KAFKA_STR_NULL;
            for (int32_t x = 0; !e && x < resp.responses_count; x++)
                if (resp.responses[x].resource_type == (int8_t)changes[k].type &&
                    kafka_str_eq_c(resp.responses[x].resource_name, changes[k].resource)) {
                    re = kafka_err_from_wire(resp.responses[x].error_code);
                    msg = resp.responses[x].error_message;
                }
            /* the slot of resource k: count resources first seen before k */
            size_t slot = 0;
            for (size_t j = 0; j < k; j++)
                slot += res_of[j] == j;
            r->results[slot].err = re;
            r->results[slot].message = msg.len > 0 ? admin_str(ar, msg) : NULL;
        }
    }
    kafka_arena_free(&arena);
    kafka_free(targets);
    kafka_free(res_of);
    if (err) {
        admin_result_free(r);
        kafka_err ret = err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "alter configs: out of memory") : err;
        admin_leave(a);
        return ret;
    }
    *out = r;
    kafka_err first = 0;
    for (size_t i = 0; i < r->n && !first; i++)
        if (r->results[i].err)
            first = admin_item_fail(a, "alter configs", r->results[i].name, -1, r->results[i].err,
                                    r->results[i].message);
    admin_leave(a);
    return first;
}
