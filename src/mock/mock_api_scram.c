/* DescribeUserScramCredentials and AlterUserScramCredentials in the mock:
 * the SASL users of mock_sasl.h (also those of kafka_mock_add_user). */
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

static void describe_user(kafka_arena *a, const kmock_sasl_user *u,
                          kafka_describe_user_scram_credentials_response_describe_user_scram_credentials_result *r)
{
    r->credential_infos = kafka_arena_calloc(a, 2, sizeof(*r->credential_infos));
    r->credential_infos_count = 0;
    for (int8_t m = 0; r->credential_infos && m < 2; m++)
        if (u->scram[m].set)
            r->credential_infos[r->credential_infos_count++] =
                (kafka_describe_user_scram_credentials_response_credential_info){(int8_t)(m + 1),
                                                                                  u->scram[m].iterations};
}

static bool has_scram(const kmock_sasl_user *u)
{
    return u->scram[0].set || u->scram[1].set;
}

kmock_outcome kmock_describe_user_scram_credentials(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                    kafka_wbuf *out, int64_t *wake_at)
{
    kafka_describe_user_scram_credentials_request *req = kmock_decode(rq, a);
    kafka_describe_user_scram_credentials_response resp;
    size_t n = 0;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_describe_user_scram_credentials_response_init(&resp);
    resp.error_code = rq->injected;
    if (req->users_count < 0 || req->users_count == 0) { /* null or empty: every user */
        if (!KMOCK_ARRAY(a, resp.results, c->users.n))
            return KMOCK_CLOSE;
        for (size_t i = 0; i < c->users.n; i++) {
            if (!has_scram(&c->users.u[i]))
                continue;
            kafka_describe_user_scram_credentials_response_describe_user_scram_credentials_result_init(&resp.results[n]);
            resp.results[n].user = kafka_str_c(c->users.u[i].name);
            describe_user(a, &c->users.u[i], &resp.results[n++]);
        }
        resp.results_count = (int32_t)n;
        return kmock_encode(rq, &resp, out);
    }
    if (!KMOCK_ARRAY(a, resp.results, req->users_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->users_count; i++) {
        kafka_describe_user_scram_credentials_response_describe_user_scram_credentials_result *r = &resp.results[i];
        const kmock_sasl_user *u = kmock_sasl_user_find(&c->users, req->users[i].name);
        kafka_describe_user_scram_credentials_response_describe_user_scram_credentials_result_init(r);
        r->user = req->users[i].name;
        for (int32_t k = 0; k < i; k++)
            if (kafka_str_eq(req->users[k].name, r->user))
                r->error_code = KAFKA_ERR_DUPLICATE_RESOURCE;
        if (!r->error_code && (!u || !has_scram(u)))
            r->error_code = KAFKA_ERR_RESOURCE_NOT_FOUND;
        if (r->error_code)
            r->error_message = kafka_str_c(kafka_err_str(r->error_code));
        else
            describe_user(a, u, r);
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_alter_user_scram_credentials(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                 kafka_wbuf *out, int64_t *wake_at)
{
    kafka_alter_user_scram_credentials_request *req = kmock_decode(rq, a);
    kafka_alter_user_scram_credentials_response resp;
    int32_t nd, nu;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    nd = req->deletions_count > 0 ? req->deletions_count : 0;
    nu = req->upsertions_count > 0 ? req->upsertions_count : 0;
    kafka_alter_user_scram_credentials_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.results, nd + nu))
        return KMOCK_CLOSE;
    /* one result per alteration, deletions first (in request order) */
    for (int32_t i = 0; i < nd + nu; i++) {
        kafka_alter_user_scram_credentials_response_alter_user_scram_credentials_result *r = &resp.results[i];
        kafka_alter_user_scram_credentials_response_alter_user_scram_credentials_result_init(r);
        if (i < nd) {
            r->user = req->deletions[i].name;
            r->error_code = rq->injected ? rq->injected
                                         : kmock_sasl_scram_delete(&c->users, r->user, req->deletions[i].mechanism);
        } else {
            const kafka_alter_user_scram_credentials_request_scram_credential_upsertion *up =
                &req->upsertions[i - nd];
            r->user = up->name;
            r->error_code = rq->injected ? rq->injected
                                         : kmock_sasl_scram_upsert(&c->users, up->name, up->mechanism,
                                                                   up->iterations, up->salt, up->salted_password);
        }
        if (r->error_code)
            r->error_message = kafka_str_c(kafka_err_str(r->error_code));
    }
    return kmock_encode(rq, &resp, out);
}
