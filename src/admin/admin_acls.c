/* ACLs: DescribeAcls, CreateAcls, DeleteAcls, each one request to any
 * broker (KRaft brokers forward the changes to the controller). */
#include <string.h>

#include "admin/admin_int.h"
#include "protocol/api.h"
#include "protocol/gen/create_acls.h"
#include "protocol/gen/delete_acls.h"
#include "protocol/gen/describe_acls.h"

KAFKA_CONN_ENCODER(describe_acls_request)
KAFKA_CONN_DECODER(describe_acls_response)
KAFKA_CONN_ENCODER(create_acls_request)
KAFKA_CONN_DECODER(create_acls_response)
KAFKA_CONN_ENCODER(delete_acls_request)
KAFKA_CONN_DECODER(delete_acls_response)

void kafka_admin_acls_free(kafka_admin_acls *l) { admin_result_free(l); }
void kafka_admin_acl_results_free(kafka_admin_acl_results *r) { admin_result_free(r); }

/* 0 in a filter means ANY (1 on the wire). */
static int8_t any_or(int v) { return (int8_t)(v ? v : 1); }

static kafka_str str_or_null(const char *s) { return s ? kafka_str_c(s) : KAFKA_STR_NULL; }

static kafka_err check_filter(kafka_admin *a, const char *what, const kafka_admin_acl *f)
{
    if (!f)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no filter", what);
    if ((int)f->resource_type < 0 || f->resource_type > KAFKA_ACL_RESOURCE_USER || (int)f->pattern < 0 ||
        f->pattern > KAFKA_ACL_PATTERN_PREFIXED || (int)f->operation < 0 || f->operation > KAFKA_ACL_OP_DESCRIBE_TOKENS ||
        (int)f->permission < 0 || f->permission > KAFKA_ACL_PERMISSION_ALLOW)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: a filter field is out of range", what);
    return 0;
}

static kafka_err check_binding(kafka_admin *a, const kafka_admin_acl *b)
{
    const char *what = "create acls";
    if (b->resource_type < KAFKA_ACL_RESOURCE_TOPIC || b->resource_type > KAFKA_ACL_RESOURCE_USER)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: resource type %d (TOPIC..USER)", what, (int)b->resource_type);
    if (!b->resource_name || !*b->resource_name)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty resource name", what);
    if (b->pattern != 0 && b->pattern != KAFKA_ACL_PATTERN_LITERAL && b->pattern != KAFKA_ACL_PATTERN_PREFIXED)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: pattern %d (LITERAL or PREFIXED)", what, (int)b->pattern);
    if (!b->principal || !strchr(b->principal, ':'))
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: principal \"%s\" is not \"Type:name\" (User:alice)", what,
                          b->principal ? b->principal : "(null)");
    if (b->host && !*b->host)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: empty host (NULL or \"*\" for every host)", what);
    if (b->operation < KAFKA_ACL_OP_ALL || b->operation > KAFKA_ACL_OP_DESCRIBE_TOKENS)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: operation %d (ALL..DESCRIBE_TOKENS)", what, (int)b->operation);
    if (b->permission != KAFKA_ACL_PERMISSION_DENY && b->permission != KAFKA_ACL_PERMISSION_ALLOW)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: permission %d (DENY or ALLOW)", what, (int)b->permission);
    return 0;
}

static kafka_admin_acl copy_acl(kafka_arena *ar, int8_t type, kafka_str name, int8_t pattern, kafka_str principal,
                                kafka_str host, int8_t op, int8_t perm)
{
    return (kafka_admin_acl){(kafka_acl_resource)type, admin_str(ar, name), (kafka_acl_pattern)pattern,
                             admin_str(ar, principal), admin_str(ar, host), (kafka_acl_operation)op,
                             (kafka_acl_permission)perm};
}

/* ---- describe ------------------------------------------------------------ */

static kafka_err da_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    const kafka_admin_acl *f = ctx;
    kafka_describe_acls_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_describe_acls_request_init(r);
    r->resource_type_filter = any_or(f->resource_type);
    r->resource_name_filter = str_or_null(f->resource_name);
    if (v >= 1)
        r->pattern_type_filter = any_or(f->pattern);
    else if (f->pattern && f->pattern != KAFKA_ACL_PATTERN_LITERAL)
        return KAFKA_ERR_NO_COMMON_VERSION; /* v0 knows literal names only */
    r->principal_filter = str_or_null(f->principal);
    r->host_filter = str_or_null(f->host);
    r->operation = any_or(f->operation);
    r->permission_type = any_or(f->permission);
    *req = r;
    return 0;
}

kafka_err kafka_admin_describe_acls(kafka_admin *a, const kafka_admin_acl *filter, int timeout_ms,
                                    kafka_admin_acls **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_filter(a, "describe acls", filter)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe acls: out is NULL");
    kafka_describe_acls_response resp;
    admin_rpc rpc = {.what = "describe acls", .route = ADMIN_ROUTE_ANY, .api = KAFKA_API_DESCRIBE_ACLS, .vmin = 0,
                     .vmax = INT16_MAX, .enc = describe_acls_request_enc_, .dec = describe_acls_response_dec_,
                     .build = da_build, .ctx = (void *)(uintptr_t)filter, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    if (!err && resp.error_code)
        err = admin_fail(a, kafka_err_from_wire(resp.error_code), "describe acls: %s%s%.*s",
                         kafka_err_name(kafka_err_from_wire(resp.error_code)), resp.error_message.len > 0 ? ": " : "",
                         resp.error_message.len > 0 ? (int)resp.error_message.len : 0,
                         resp.error_message.len > 0 ? resp.error_message.ptr : "");
    size_t total = 0;
    for (int32_t i = 0; !err && i < resp.resources_count; i++)
        total += resp.resources[i].acls_count > 0 ? (size_t)resp.resources[i].acls_count : 0;
    kafka_arena *ar = NULL;
    kafka_admin_acls *l = err ? NULL : admin_result_new(sizeof *l, &ar);
    if (!err && (!l || !(l->acls = kafka_arena_calloc(ar, total ? total : 1, sizeof *l->acls))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "describe acls: out of memory");
    for (int32_t i = 0; !err && i < resp.resources_count; i++) {
        const kafka_describe_acls_response_describe_acls_resource *x = &resp.resources[i];
        for (int32_t k = 0; k < x->acls_count; k++)
            l->acls[l->n++] = copy_acl(ar, x->resource_type, x->resource_name,
                                       rpc.version >= 1 ? x->pattern_type : KAFKA_ACL_PATTERN_LITERAL,
                                       x->acls[k].principal, x->acls[k].host, x->acls[k].operation,
                                       x->acls[k].permission_type);
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(l);
        l = NULL;
    }
    if (out)
        *out = l;
    admin_leave(a);
    return err;
}

/* ---- create / delete --------------------------------------------------------- */

typedef struct acls_ctx {
    const kafka_admin_acl *v;
    size_t n;
} acls_ctx;

static kafka_err ca_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    acls_ctx *c = ctx;
    kafka_create_acls_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_create_acls_request_acl_creation *cr = kafka_arena_calloc(arena, c->n, sizeof *cr);
    if (!r || !cr)
        return KAFKA_ERR_NOMEM;
    kafka_create_acls_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        const kafka_admin_acl *b = &c->v[i];
        kafka_create_acls_request_acl_creation_init(&cr[i]);
        cr[i].resource_type = (int8_t)b->resource_type;
        cr[i].resource_name = kafka_str_c(b->resource_name);
        int8_t pattern = (int8_t)(b->pattern ? b->pattern : KAFKA_ACL_PATTERN_LITERAL);
        if (v >= 1)
            cr[i].resource_pattern_type = pattern;
        else if (pattern != KAFKA_ACL_PATTERN_LITERAL)
            return KAFKA_ERR_NO_COMMON_VERSION;
        cr[i].principal = kafka_str_c(b->principal);
        cr[i].host = kafka_str_c(b->host ? b->host : "*");
        cr[i].operation = (int8_t)b->operation;
        cr[i].permission_type = (int8_t)b->permission;
    }
    r->creations = cr;
    r->creations_count = (int32_t)c->n;
    *req = r;
    return 0;
}

static kafka_err dl_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    acls_ctx *c = ctx;
    kafka_delete_acls_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_delete_acls_request_delete_acls_filter *fs = kafka_arena_calloc(arena, c->n, sizeof *fs);
    if (!r || !fs)
        return KAFKA_ERR_NOMEM;
    kafka_delete_acls_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        const kafka_admin_acl *f = &c->v[i];
        kafka_delete_acls_request_delete_acls_filter_init(&fs[i]);
        fs[i].resource_type_filter = any_or(f->resource_type);
        fs[i].resource_name_filter = str_or_null(f->resource_name);
        if (v >= 1)
            fs[i].pattern_type_filter = any_or(f->pattern);
        else if (f->pattern && f->pattern != KAFKA_ACL_PATTERN_LITERAL)
            return KAFKA_ERR_NO_COMMON_VERSION;
        fs[i].principal_filter = str_or_null(f->principal);
        fs[i].host_filter = str_or_null(f->host);
        fs[i].operation = any_or(f->operation);
        fs[i].permission_type = any_or(f->permission);
    }
    r->filters = fs;
    r->filters_count = (int32_t)c->n;
    *req = r;
    return 0;
}

static kafka_admin_acl_results *results_new(size_t n, kafka_arena **ar)
{
    kafka_admin_acl_results *r = admin_result_new(sizeof *r, ar);
    if (r && !(r->results = kafka_arena_calloc(*ar, n, sizeof *r->results))) {
        admin_result_free(r);
        return NULL;
    }
    if (r)
        r->n = n;
    for (size_t i = 0; r && i < n; i++)
        r->results[i].err = KAFKA_ERR_PROTOCOL; /* until the answer says */
    return r;
}

static kafka_err first_error(kafka_admin *a, const char *what, const kafka_admin_acl_results *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->results[i].err)
            return admin_item_fail(a, what, "entry", (int)i, r->results[i].err, r->results[i].message);
    return 0;
}

kafka_err kafka_admin_create_acls(kafka_admin *a, const kafka_admin_acl *acls, size_t n, int timeout_ms,
                                  kafka_admin_acl_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || !acls || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create acls: no ACLs given, or NULL out");
    for (size_t i = 0; !err && i < n; i++)
        err = check_binding(a, &acls[i]);
    acls_ctx ctx = {acls, n};
    kafka_create_acls_response resp;
    admin_rpc rpc = {.what = "create acls", .route = ADMIN_ROUTE_ANY, .api = KAFKA_API_CREATE_ACLS, .vmin = 0,
                     .vmax = INT16_MAX, .enc = create_acls_request_enc_, .dec = create_acls_response_dec_,
                     .build = ca_build, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_arena *ar = NULL;
    kafka_admin_acl_results *r = err ? NULL : results_new(n, &ar);
    if (!err && !r)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "create acls: out of memory");
    for (int32_t i = 0; !err && i < resp.results_count && (size_t)i < n; i++) {
        r->results[i].err = kafka_err_from_wire(resp.results[i].error_code);
        r->results[i].message = resp.results[i].error_message.len > 0 ? admin_str(ar, resp.results[i].error_message)
                                                                      : NULL;
    }
    kafka_arena_free(&arena);
    if (!err) {
        *out = r;
        err = first_error(a, "create acls", r);
    }
    admin_leave(a);
    return err;
}

kafka_err kafka_admin_delete_acls(kafka_admin *a, const kafka_admin_acl *filters, size_t n, int timeout_ms,
                                  kafka_admin_acl_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || !filters || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete acls: no filters given, or NULL out");
    for (size_t i = 0; !err && i < n; i++)
        err = check_filter(a, "delete acls", &filters[i]);
    acls_ctx ctx = {filters, n};
    kafka_delete_acls_response resp;
    admin_rpc rpc = {.what = "delete acls", .route = ADMIN_ROUTE_ANY, .api = KAFKA_API_DELETE_ACLS, .vmin = 0,
                     .vmax = INT16_MAX, .enc = delete_acls_request_enc_, .dec = delete_acls_response_dec_,
                     .build = dl_build, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_arena *ar = NULL;
    kafka_admin_acl_results *r = err ? NULL : results_new(n, &ar);
    if (!err && !r)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "delete acls: out of memory");
    for (int32_t i = 0; !err && i < resp.filter_results_count && (size_t)i < n; i++) {
        const kafka_delete_acls_response_delete_acls_filter_result *x = &resp.filter_results[i];
        kafka_admin_acl_result *o = &r->results[i];
        o->err = kafka_err_from_wire(x->error_code);
        o->message = x->error_message.len > 0 ? admin_str(ar, x->error_message) : NULL;
        size_t nm = x->matching_acls_count > 0 ? (size_t)x->matching_acls_count : 0;
        o->matched = kafka_arena_calloc(ar, nm ? nm : 1, sizeof *o->matched);
        if (!o->matched) {
            err = admin_fail(a, KAFKA_ERR_NOMEM, "delete acls: out of memory");
            break;
        }
        for (size_t k = 0; k < nm; k++) {
            const kafka_delete_acls_response_delete_acls_matching_acl *m = &x->matching_acls[k];
            if (m->error_code && !o->err)
                o->err = kafka_err_from_wire(m->error_code);
            o->matched[o->n_matched++] =
                copy_acl(ar, m->resource_type, m->resource_name,
                         rpc.version >= 1 ? m->pattern_type : KAFKA_ACL_PATTERN_LITERAL, m->principal, m->host,
                         m->operation, m->permission_type);
        }
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(r);
    } else {
        *out = r;
        err = first_error(a, "delete acls", r);
    }
    admin_leave(a);
    return err;
}
