/* Cluster: describe (Metadata) and API versions per broker. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "protocol/gen/metadata.h"

void kafka_admin_cluster_free(kafka_admin_cluster *c) { admin_result_free(c); }
void kafka_admin_versions_free(kafka_admin_versions *v) { admin_result_free(v); }

static int cmp_broker(const void *x, const void *y)
{
    int32_t p = ((const kafka_admin_broker *)x)->id, q = ((const kafka_admin_broker *)y)->id;
    return p < q ? -1 : p > q;
}

/* The brokers and controller of a topic-less Metadata answer, as an owned
 * kafka_admin_cluster. */
static kafka_err describe(kafka_admin *a, const char *what, int64_t deadline, kafka_admin_cluster **out)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v = 0;
    kafka_err err = admin_metadata(a, what, NULL, 0, 0, deadline, &arena, &md, &v);
    kafka_arena *ar = NULL;
    kafka_admin_cluster *c = err ? NULL : admin_result_new(sizeof *c, &ar);
    size_t nb = !err && md.brokers_count > 0 ? (size_t)md.brokers_count : 0;
    if (!err && (!c || !(c->brokers = kafka_arena_calloc(ar, nb ? nb : 1, sizeof *c->brokers))))
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        c->controller = -1;
        c->cluster_id = v >= 2 ? admin_str(ar, md.cluster_id) : NULL;
        for (size_t i = 0; i < nb; i++) {
            const kafka_metadata_response_metadata_response_broker *b = &md.brokers[i];
            c->brokers[i] = (kafka_admin_broker){b->node_id, admin_str(ar, b->host), b->port, admin_str(ar, b->rack)};
            if (!c->brokers[i].host)
                err = KAFKA_ERR_NOMEM;
            if (v >= 1 && b->node_id == md.controller_id && b->node_id >= 0)
                c->controller = b->node_id;
        }
        c->n_brokers = nb;
        qsort(c->brokers, nb, sizeof *c->brokers, cmp_broker);
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(c);
        return err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "%s: out of memory", what) : err;
    }
    *out = c;
    return 0;
}

kafka_err kafka_admin_describe_cluster(kafka_admin *a, int timeout_ms, kafka_admin_cluster **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? describe(a, "describe cluster", admin_deadline(timeout_ms), out)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe cluster: out is NULL");
    admin_leave(a);
    return err;
}

/* ApiVersions as broker `id` answered it when the pooled conn opened. */
static kafka_err broker_versions(kafka_admin *a, int32_t id, int64_t deadline, kafka_arena *ar,
                                 kafka_admin_broker_apis *o)
{
    o->broker = id;
    kafka_conn *conn = NULL;
    kafka_err err;
    for (int attempt = 0;; attempt++) {
        err = kafka_cluster_acquire(a->kc, id, deadline, &conn);
        if (!err || !kafka_err_is_retriable(err) || !admin_backoff(a, attempt, deadline, &err))
            break;
    }
    if (err)
        return o->err = err;
    kafka_api_version *v = NULL;
    size_t n = 0;
    err = kafka_conn_api_versions(conn, &v, &n);
    kafka_cluster_release(a->kc, conn, !kafka_cluster_err_breaks_conn(err));
    if (!err) {
        kafka_api_version *copy = kafka_arena_calloc(ar, n ? n : 1, sizeof *copy);
        if (copy) {
            if (n)
                memcpy(copy, v, n * sizeof *copy);
            o->apis = copy;
            o->n_apis = n;
        } else {
            err = KAFKA_ERR_NOMEM;
        }
    }
    kafka_free_api_versions(v);
    return o->err = err;
}

kafka_err kafka_admin_api_versions(kafka_admin *a, int timeout_ms, kafka_admin_versions **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out) {
        kafka_err ret = admin_fail(a, KAFKA_ERR_INVALID_ARG, "api versions: out is NULL");
        admin_leave(a);
        return ret;
    }
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_admin_cluster *c = NULL;
    err = describe(a, "api versions", deadline, &c);
    kafka_arena *ar = NULL;
    kafka_admin_versions *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->brokers = kafka_arena_calloc(ar, c->n_brokers ? c->n_brokers : 1, sizeof *r->brokers))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "api versions: out of memory");
    kafka_err first = 0;
    for (size_t i = 0; !err && i < c->n_brokers; i++) {
        kafka_err e = broker_versions(a, c->brokers[i].id, deadline, ar, &r->brokers[i]);
        r->n = i + 1;
        if (e == KAFKA_ERR_NOMEM || e == KAFKA_ERR_CLOSED)
            err = e;
        else if (e && !first)
            first = admin_fail(a, e, "api versions: broker %d: %s", (int)c->brokers[i].id, kafka_err_name(e));
    }
    kafka_admin_cluster_free(c);
    if (err) {
        admin_result_free(r);
        r = NULL;
    }
    *out = r;
    admin_leave(a);
    return err ? err : first;
}
