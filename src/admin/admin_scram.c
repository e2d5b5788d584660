/* SCRAM users: DescribeUserScramCredentials (any broker) and
 * AlterUserScramCredentials (controller). Salted passwords come from the
 * SASL layer (kafka_scram_make_credential). */
#include <string.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "net/sasl.h"
#include "protocol/api.h"
#include "protocol/gen/alter_user_scram_credentials.h"
#include "protocol/gen/describe_user_scram_credentials.h"

KAFKA_CONN_ENCODER(describe_user_scram_credentials_request)
KAFKA_CONN_DECODER(describe_user_scram_credentials_response)
KAFKA_CONN_ENCODER(alter_user_scram_credentials_request)
KAFKA_CONN_DECODER(alter_user_scram_credentials_response)

/* Kafka's ScramMechanism numbers and iteration bounds. */
#define WIRE_SHA256 1
#define WIRE_SHA512 2
#define ITER_DEFAULT 8192
#define ITER_MIN 4096
#define ITER_MAX 16384

void kafka_admin_scram_users_free(kafka_admin_scram_users *u) { admin_result_free(u); }

static int8_t mech_wire(kafka_sasl_mechanism_id m)
{
    return m == KAFKA_SASL_SCRAM_SHA_256 ? WIRE_SHA256 : m == KAFKA_SASL_SCRAM_SHA_512 ? WIRE_SHA512 : 0;
}

static kafka_sasl_mechanism_id mech_from_wire(int8_t m)
{
    return m == WIRE_SHA256 ? KAFKA_SASL_SCRAM_SHA_256 : m == WIRE_SHA512 ? KAFKA_SASL_SCRAM_SHA_512 : KAFKA_SASL_NONE;
}

typedef struct users_ctx {
    const char *const *users;
    size_t n;
} users_ctx;

static kafka_err du_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    users_ctx *c = ctx;
    (void)v;
    kafka_describe_user_scram_credentials_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    kafka_describe_user_scram_credentials_request_init(r);
    r->users = NULL;
    r->users_count = -1; /* every user */
    if (c->n) {
        r->users = kafka_arena_calloc(arena, c->n, sizeof *r->users);
        if (!r->users)
            return KAFKA_ERR_NOMEM;
        for (size_t i = 0; i < c->n; i++) {
            kafka_describe_user_scram_credentials_request_user_name_init(&r->users[i]);
            r->users[i].name = kafka_str_c(c->users[i]);
        }
        r->users_count = (int32_t)c->n;
    }
    *req = r;
    return 0;
}

static kafka_err first_error(kafka_admin *a, const char *what, const kafka_admin_scram_users *u)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->users[i].err)
            return admin_item_fail(a, what, u->users[i].user, -1, u->users[i].err, u->users[i].message);
    return 0;
}

kafka_err kafka_admin_describe_scram_users(kafka_admin *a, const char *const *users, size_t n, int timeout_ms,
                                           kafka_admin_scram_users **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out || (n && !users) || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe scram users: NULL out or users");
    for (size_t i = 0; !err && i < n; i++)
        if (!users[i] || !*users[i])
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe scram users: empty user name");
    users_ctx ctx = {users, n};
    kafka_describe_user_scram_credentials_response resp;
    admin_rpc rpc = {.what = "describe scram users", .route = ADMIN_ROUTE_ANY,
                     .api = KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, .vmin = 0, .vmax = INT16_MAX,
                     .enc = describe_user_scram_credentials_request_enc_,
                     .dec = describe_user_scram_credentials_response_dec_, .build = du_build, .ctx = &ctx,
                     .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    if (!err && resp.error_code)
        err = admin_fail(a, kafka_err_from_wire(resp.error_code), "describe scram users: %s",
                         kafka_err_name(kafka_err_from_wire(resp.error_code)));
    kafka_arena *ar = NULL;
    size_t nr = !err && resp.results_count > 0 ? (size_t)resp.results_count : 0;
    kafka_admin_scram_users *u = err ? NULL : admin_result_new(sizeof *u, &ar);
    if (!err && (!u || !(u->users = kafka_arena_calloc(ar, nr ? nr : 1, sizeof *u->users))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "describe scram users: out of memory");
    for (size_t i = 0; !err && i < nr; i++) {
        const kafka_describe_user_scram_credentials_response_describe_user_scram_credentials_result *x =
            &resp.results[i];
        kafka_admin_scram_user *o = &u->users[u->n++];
        o->user = admin_str(ar, x->user);
        o->err = kafka_err_from_wire(x->error_code);
        o->message = x->error_message.len > 0 ? admin_str(ar, x->error_message) : NULL;
        size_t nc = x->credential_infos_count > 0 ? (size_t)x->credential_infos_count : 0;
        kafka_admin_scram_credential *c = kafka_arena_calloc(ar, nc ? nc : 1, sizeof *c);
        if (!c || !o->user) {
            err = admin_fail(a, KAFKA_ERR_NOMEM, "describe scram users: out of memory");
            break;
        }
        for (size_t k = 0; k < nc; k++)
            c[k] = (kafka_admin_scram_credential){mech_from_wire(x->credential_infos[k].mechanism),
                                                  x->credential_infos[k].iterations};
        o->credentials = c;
        o->n_credentials = nc;
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(u);
    } else {
        *out = u;
        err = first_error(a, "describe scram users", u);
    }
    admin_leave(a);
    return err;
}

typedef struct alter_ctx {
    const kafka_admin_scram_upsert *up;
    size_t n_up;
    const kafka_admin_scram_delete *del;
    size_t n_del;
    uint8_t (*salt)[KAFKA_SCRAM_SALT_LEN];
    uint8_t (*salted)[64];
    size_t *salted_len;
} alter_ctx;

static kafka_err au_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    alter_ctx *c = ctx;
    (void)v;
    kafka_alter_user_scram_credentials_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_alter_user_scram_credentials_request_scram_credential_upsertion *up =
        kafka_arena_calloc(arena, c->n_up ? c->n_up : 1, sizeof *up);
    kafka_alter_user_scram_credentials_request_scram_credential_deletion *del =
        kafka_arena_calloc(arena, c->n_del ? c->n_del : 1, sizeof *del);
    if (!r || !up || !del)
        return KAFKA_ERR_NOMEM;
    kafka_alter_user_scram_credentials_request_init(r);
    for (size_t i = 0; i < c->n_up; i++) {
        kafka_alter_user_scram_credentials_request_scram_credential_upsertion_init(&up[i]);
        up[i].name = kafka_str_c(c->up[i].user);
        up[i].mechanism = mech_wire(c->up[i].mechanism);
        up[i].iterations = c->up[i].iterations ? c->up[i].iterations : ITER_DEFAULT;
        up[i].salt = (kafka_bytes){c->salt[i], KAFKA_SCRAM_SALT_LEN};
        up[i].salted_password = (kafka_bytes){c->salted[i], (int32_t)c->salted_len[i]};
    }
    for (size_t i = 0; i < c->n_del; i++) {
        kafka_alter_user_scram_credentials_request_scram_credential_deletion_init(&del[i]);
        del[i].name = kafka_str_c(c->del[i].user);
        del[i].mechanism = mech_wire(c->del[i].mechanism);
    }
    r->upsertions = up;
    r->upsertions_count = (int32_t)c->n_up;
    r->deletions = del;
    r->deletions_count = (int32_t)c->n_del;
    *req = r;
    return 0;
}

static kafka_err au_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_alter_user_scram_credentials_response *r = resp;
    for (int32_t i = 0; i < r->results_count; i++)
        if (r->results[i].error_code == KAFKA_ERR_NOT_CONTROLLER)
            return KAFKA_ERR_NOT_CONTROLLER;
    return 0;
}

static const char *user_at(const alter_ctx *c, size_t i)
{
    return i < c->n_up ? c->up[i].user : c->del[i - c->n_up].user;
}

kafka_err kafka_admin_alter_scram_users(kafka_admin *a, const kafka_admin_scram_upsert *upserts, size_t n_upserts,
                                        const kafka_admin_scram_delete *deletes, size_t n_deletes, int timeout_ms,
                                        kafka_admin_scram_users **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "alter scram users";
    if (!out || (n_upserts && !upserts) || (n_deletes && !deletes) || n_upserts + n_deletes == 0 ||
        n_upserts > INT32_MAX || n_deletes > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: nothing to change, or NULL out/arrays", what);
    for (size_t i = 0; !err && i < n_upserts; i++) {
        const kafka_admin_scram_upsert *u = &upserts[i];
        if (!u->user || !*u->user || !u->password || !*u->password || !mech_wire(u->mechanism))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: upsert %zu needs a user, a password and a SCRAM mechanism",
                             what, i);
        else if (u->iterations && (u->iterations < ITER_MIN || u->iterations > ITER_MAX))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: user %s: %d iterations (%d..%d)", what, u->user,
                             (int)u->iterations, ITER_MIN, ITER_MAX);
    }
    for (size_t i = 0; !err && i < n_deletes; i++)
        if (!deletes[i].user || !*deletes[i].user || !mech_wire(deletes[i].mechanism))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: delete %zu needs a user and a SCRAM mechanism", what, i);
    alter_ctx ctx = {upserts, n_upserts, deletes, n_deletes, NULL, NULL, NULL};
    size_t nu = n_upserts ? n_upserts : 1;
    if (!err) {
        ctx.salt = kafka_calloc(nu, sizeof *ctx.salt);
        ctx.salted = kafka_calloc(nu, sizeof *ctx.salted);
        ctx.salted_len = kafka_calloc(nu, sizeof *ctx.salted_len);
        if (!ctx.salt || !ctx.salted || !ctx.salted_len)
            err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; !err && i < n_upserts; i++) {
        int it = upserts[i].iterations ? upserts[i].iterations : ITER_DEFAULT;
        err = kafka_scram_make_credential(upserts[i].mechanism, upserts[i].password, it, ctx.salt[i], ctx.salted[i],
                                          &ctx.salted_len[i]);
        if (err)
            err = admin_fail(a, err, "%s: user %s: cannot compute the salted password", what, upserts[i].user);
    }
    kafka_alter_user_scram_credentials_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS,
                     .vmin = 0, .vmax = INT16_MAX, .enc = alter_user_scram_credentials_request_enc_,
                     .dec = alter_user_scram_credentials_response_dec_, .build = au_build, .routing_err = au_routing,
                     .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    size_t total = n_upserts + n_deletes;
    kafka_arena *ar = NULL;
    kafka_admin_scram_users *u = err ? NULL : admin_result_new(sizeof *u, &ar);
    if (!err && (!u || !(u->users = kafka_arena_calloc(ar, total, sizeof *u->users))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; !err && i < total; i++) {
        const char *name = user_at(&ctx, i);
        bool seen = false;
        for (size_t k = 0; k < u->n && !seen; k++)
            seen = strcmp(u->users[k].user, name) == 0;
        if (seen)
            continue;
        kafka_admin_scram_user *o = &u->users[u->n++];
        o->user = admin_strz(ar, name);
        o->err = KAFKA_ERR_PROTOCOL; /* until the answer names it */
        for (int32_t x = 0; x < resp.results_count; x++)
            if (kafka_str_eq_c(resp.results[x].user, name)) {
                o->err = kafka_err_from_wire(resp.results[x].error_code);
                o->message = resp.results[x].error_message.len > 0 ? admin_str(ar, resp.results[x].error_message)
                                                                   : NULL;
            }
    }
    kafka_arena_free(&arena);
    if (ctx.salted)
        explicit_bzero(ctx.salted, nu * sizeof *ctx.salted); /* password-equivalent */
    kafka_free(ctx.salt);
    kafka_free(ctx.salted);
    kafka_free(ctx.salted_len);
    if (err) {
        admin_result_free(u);
    } else {
        *out = u;
        err = first_error(a, what, u);
    }
    admin_leave(a);
    return err;
}
