/* kafka_admin: construction, close, errors, and the routed round trip with
 * retries that every admin call is built on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_int.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "net/stream.h"
#include "protocol/gen/metadata.h"

kafka_err admin_fail(kafka_admin *a, kafka_err err, const char *fmt, ...)
{
    char buf[sizeof a->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&a->mu);
    memcpy(a->last_error, buf, sizeof buf);
    pthread_mutex_unlock(&a->mu);
    return err;
}

kafka_err kafka_admin_new(kafka_admin **out, const kafka_admin_config *cfg, char *errbuf, size_t errlen)
{
    char scratch[8];
    if (!errbuf || !errlen) {
        errbuf = scratch;
        errlen = sizeof scratch;
    }
    errbuf[0] = '\0';
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    if (!cfg || !cfg->brokers || !*cfg->brokers) {
        snprintf(errbuf, errlen, "admin: no brokers given");
        return KAFKA_ERR_INVALID_ARG;
    }
    if (cfg->dial_timeout_ms < 0 || cfg->backoff_min_ms < 0 || cfg->backoff_max_ms < 0) {
        snprintf(errbuf, errlen, "admin: negative timeout or backoff");
        return KAFKA_ERR_INVALID_ARG;
    }
    kafka_admin *a = kafka_calloc(1, sizeof *a);
    if (!a)
        return KAFKA_ERR_NOMEM;
    a->backoff_min_ms = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 100;
    a->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 1000;
    if (a->backoff_max_ms < a->backoff_min_ms)
        a->backoff_max_ms = a->backoff_min_ms;
    kafka_cluster_config cc = {
        .bootstrap = cfg->brokers,
        .dialer = cfg->dialer,
        .dial_timeout_ms = cfg->dial_timeout_ms,
        .backoff_min_ms = a->backoff_min_ms,
        .backoff_max_ms = a->backoff_max_ms,
        /* an admin call holds one conn per broker at a time; the second
         * serves concurrent calls from other threads */
        .max_conns_per_broker = 2,
    };
    kafka_err err = kafka_cluster_new(&cc, &a->kc, errbuf, errlen);
    if (err) {
        kafka_free(a);
        return err;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = a;
    return 0;
}

void kafka_admin_close(kafka_admin *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->closed = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    kafka_cluster_interrupt(a->kc);
    pthread_mutex_lock(&a->mu);
    while (a->calls > 0)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    kafka_cluster_free(a->kc);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    kafka_free(a);
}

void kafka_admin_last_error(kafka_admin *a, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    if (!a) {
        buf[0] = '\0';
        return;
    }
    pthread_mutex_lock(&a->mu);
    snprintf(buf, len, "%s", a->last_error);
    pthread_mutex_unlock(&a->mu);
}

kafka_err admin_item_fail(kafka_admin *a, const char *what, const char *item, int32_t partition, kafka_err err,
                          const char *message)
{
    char part[16] = "";
    if (partition >= 0)
        snprintf(part, sizeof part, " [%d]", (int)partition);
    return admin_fail(a, err, "%s: %s%s: %s (%s)%s%s", what, item ? item : "", part, kafka_err_name(err),
                      kafka_err_str(err), message ? ": " : "", message ? message : "");
}

kafka_err admin_enter(kafka_admin *a)
{
    if (!a)
        return KAFKA_ERR_INVALID_ARG;
    pthread_mutex_lock(&a->mu);
    kafka_err err = a->closed ? KAFKA_ERR_CLOSED : 0;
    if (!err)
        a->calls++;
    pthread_mutex_unlock(&a->mu);
    return err;
}

void admin_leave(kafka_admin *a)
{
    pthread_mutex_lock(&a->mu);
    a->calls--;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int64_t admin_deadline(int timeout_ms) { return timeout_ms < 0 ? -1 : kafka_now_ms() + timeout_ms; }

bool admin_backoff(kafka_admin *a, int attempt, int64_t deadline, kafka_err *err)
{
    int wait = kafka_backoff_ms(attempt, a->backoff_min_ms, a->backoff_max_ms);
    int64_t until = kafka_now_ms() + wait;
    pthread_mutex_lock(&a->mu);
    bool closed_now = a->closed;
    pthread_mutex_unlock(&a->mu);
    if (closed_now) {
        *err = KAFKA_ERR_CLOSED;
        return false;
    }
    if (deadline >= 0 && until >= deadline)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    while (!a->closed && kafka_now_ms() < until)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) != 0)
            break;
    bool closed = a->closed;
    pthread_mutex_unlock(&a->mu);
    if (closed)
        *err = KAFKA_ERR_CLOSED;
    return !closed;
}

bool admin_err_is_routing(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_NOT_CONTROLLER:
    case KAFKA_ERR_NOT_COORDINATOR:
    case KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case KAFKA_ERR_COORDINATOR_NOT_AVAILABLE:
    case KAFKA_ERR_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_ERR_LEADER_NOT_AVAILABLE:
    case KAFKA_ERR_FENCED_LEADER_EPOCH:
    case KAFKA_ERR_UNKNOWN_LEADER_EPOCH:
    case KAFKA_ERR_REQUEST_TIMED_OUT:
        return true;
    default:
        return false;
    }
}

kafka_err admin_metadata(kafka_admin *a, const char *what, const char *const *topics, size_t n, unsigned flags,
                         int64_t deadline, kafka_arena *arena, struct kafka_metadata_response *resp, int16_t *version)
{
    kafka_err err;
    for (int attempt = 0;; attempt++) {
        kafka_arena_reset(arena);
        err = kafka_cluster_metadata(a->kc, topics, n, flags, deadline, arena, resp, version);
        if (!err)
            return 0;
        if (!kafka_err_is_retriable(err) || !admin_backoff(a, attempt, deadline, &err))
            break;
    }
    return admin_fail(a, err, "%s: metadata: %s", what, kafka_err_name(err));
}

kafka_err admin_brokers(kafka_admin *a, const char *what, int64_t deadline, int32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v;
    kafka_err err = admin_metadata(a, what, NULL, 0, 0, deadline, &arena, &md, &v);
    size_t nb = !err && md.brokers_count > 0 ? (size_t)md.brokers_count : 0;
    if (!err && !(*ids = kafka_calloc(nb ? nb : 1, sizeof **ids)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; !err && i < nb; i++)
        (*ids)[(*n)++] = md.brokers[i].node_id;
    kafka_arena_free(&arena);
    return err;
}

kafka_err admin_each_broker(kafka_admin *a, admin_rpc *rpc, int64_t deadline, kafka_arena *ar,
                            kafka_err (*answered)(void *ctx, const admin_rpc *rpc), void *ctx,
                            kafka_admin_broker_error **errors, size_t *n_errors, kafka_err *first)
{
    *errors = NULL;
    *n_errors = 0;
    int32_t *brokers = NULL;
    size_t nb = 0;
    kafka_err err = admin_brokers(a, rpc->what, deadline, &brokers, &nb);
    if (!err && !(*errors = kafka_arena_calloc(ar, nb ? nb : 1, sizeof **errors)))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", rpc->what);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    for (size_t b = 0; !err && b < nb; b++) {
        rpc->route = ADMIN_ROUTE_BROKER;
        rpc->broker = brokers[b];
        kafka_err e = admin_rpc_run(a, rpc, &arena, deadline);
        if (!e)
            e = answered(ctx, rpc);
        if (e == KAFKA_ERR_NO_COMMON_VERSION || e == KAFKA_ERR_CLOSED || e == KAFKA_ERR_NOMEM) {
            err = e == KAFKA_ERR_NOMEM ? admin_fail(a, e, "%s: out of memory", rpc->what) : e;
            break;
        }
        if (e) {
            (*errors)[(*n_errors)++] = (kafka_admin_broker_error){brokers[b], e};
            if (!*first)
                *first = admin_fail(a, e, "%s: broker %d: %s", rpc->what, (int)brokers[b], kafka_err_name(e));
        }
    }
    kafka_arena_free(&arena);
    kafka_free(brokers);
    return err;
}

void *admin_grow(kafka_arena *ar, void *arr, size_t *cap, size_t n, size_t need, size_t elem)
{
    if (need <= *cap && arr)
        return arr;
    size_t c = need > 8 ? need * 2 : 16;
    void *v = kafka_arena_calloc(ar, c, elem);
    if (!v)
        return NULL;
    if (n)
        memcpy(v, arr, n * elem);
    *cap = c;
    return v;
}

/* The controller's id from a topic-less Metadata answer; -1 when it names
 * none of its brokers (librdkafka's mock says 0, old brokers -1): the
 * caller then uses any broker, as librdkafka and the Java client do. */
static kafka_err find_controller(kafka_admin *a, int64_t deadline, int32_t *id)
{
    *id = -1;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v = -1;
    kafka_err err = kafka_cluster_metadata(a->kc, NULL, 0, 0, deadline, &arena, &md, &v);
    if (!err && v >= 1)
        for (int32_t i = 0; i < md.brokers_count; i++)
            if (md.brokers[i].node_id == md.controller_id && md.controller_id >= 0)
                *id = md.controller_id;
    kafka_arena_free(&arena);
    return err;
}

static kafka_err route_acquire(kafka_admin *a, admin_rpc *r, int64_t deadline, kafka_conn **conn)
{
    int32_t id = -1;
    kafka_err err = 0;
    switch (r->route) {
    case ADMIN_ROUTE_ANY:
        break;
    case ADMIN_ROUTE_CONTROLLER:
        err = find_controller(a, deadline, &id);
        break;
    case ADMIN_ROUTE_BROKER:
        id = r->broker;
        break;
    case ADMIN_ROUTE_GROUP:
    case ADMIN_ROUTE_TXN:
        err = kafka_cluster_coordinator(a->kc, r->group, r->route == ADMIN_ROUTE_TXN, deadline, &id);
        break;
    }
    if (err)
        return err;
    r->answered_by = id;
    if (id < 0 && r->route != ADMIN_ROUTE_BROKER)
        return kafka_cluster_acquire_any(a->kc, deadline, conn);
    err = kafka_cluster_acquire(a->kc, id, deadline, conn);
    if (err == KAFKA_ERR_BROKER_NOT_AVAILABLE) {
        /* a broker named by the caller (broker configs, log dirs) that the
         * broker table does not know yet: learn the brokers, then retry */
        kafka_arena arena;
        kafka_arena_init(&arena, 0);
        kafka_metadata_response md;
        err = kafka_cluster_metadata(a->kc, NULL, 0, 0, deadline, &arena, &md, NULL);
        kafka_arena_free(&arena);
        if (!err)
            err = kafka_cluster_acquire(a->kc, id, deadline, conn);
    }
    return err;
}

/* "the controller (broker 2)", "the coordinator of group g", ... for
 * error texts. */
static void describe_target(const admin_rpc *r, char *buf, size_t len)
{
    switch (r->route) {
    case ADMIN_ROUTE_CONTROLLER:
        if (r->answered_by >= 0)
            snprintf(buf, len, "controller %d", (int)r->answered_by);
        else
            snprintf(buf, len, "any broker (no controller named)");
        return;
    case ADMIN_ROUTE_GROUP:
    case ADMIN_ROUTE_TXN:
        snprintf(buf, len, "coordinator %d of %s %s", (int)r->answered_by,
                 r->route == ADMIN_ROUTE_TXN ? "transactional id" : "group", r->group);
        return;
    case ADMIN_ROUTE_BROKER:
        snprintf(buf, len, "broker %d", (int)r->broker);
        return;
    case ADMIN_ROUTE_ANY:
        snprintf(buf, len, "any broker");
        return;
    }
}

kafka_err admin_rpc_run(kafka_admin *a, admin_rpc *r, kafka_arena *arena, int64_t deadline)
{
    kafka_err err = 0;
    char detail[256] = "";
    for (int attempt = 0;; attempt++) {
        kafka_arena_reset(arena);
        r->answered_by = -1;
        detail[0] = '\0';
        kafka_conn *conn = NULL;
        err = route_acquire(a, r, deadline, &conn);
        if (!err) {
            int16_t v = kafka_conn_version(conn, r->api, r->vmin, r->vmax);
            const void *req = NULL;
            if (v < 0) {
                err = KAFKA_ERR_NO_COMMON_VERSION;
                snprintf(detail, sizeof detail, "%s", kafka_conn_last_error(conn));
            } else {
                err = r->build(r->ctx, v, arena, &req);
            }
            if (!err) {
                kafka_cluster_conn_deadline(conn, deadline);
                err = kafka_conn_roundtrip(conn, r->api, v, r->enc, req, r->dec, r->resp, arena, NULL);
                if (err < 0)
                    snprintf(detail, sizeof detail, "%s", kafka_conn_last_error(conn));
                if (!err && r->routing_err)
                    err = r->routing_err(r->ctx, v, r->resp);
                r->version = v;
            }
            kafka_cluster_release(a->kc, conn, !kafka_cluster_err_breaks_conn(err));
        }
        if (!err)
            return 0;
        if ((r->route == ADMIN_ROUTE_GROUP || r->route == ADMIN_ROUTE_TXN) &&
            (admin_err_is_routing(err) || kafka_cluster_err_breaks_conn(err) || err == KAFKA_ERR_BROKER_NOT_AVAILABLE))
            kafka_cluster_invalidate_coordinator(a->kc, r->group, r->route == ADMIN_ROUTE_TXN);
        bool retry = kafka_err_is_retriable(err) || err == KAFKA_ERR_BROKER_NOT_AVAILABLE;
        if (err == KAFKA_ERR_CLOSED || !retry || !admin_backoff(a, attempt, deadline, &err))
            break;
    }
    if (err == KAFKA_ERR_CLOSED)
        return admin_fail(a, err, "%s: admin client closed", r->what);
    char target[200];
    describe_target(r, target, sizeof target);
    if ((r->route == ADMIN_ROUTE_GROUP || r->route == ADMIN_ROUTE_TXN) && r->answered_by < 0)
        snprintf(target, sizeof target, "finding the coordinator of %s %s",
                 r->route == ADMIN_ROUTE_TXN ? "transactional id" : "group", r->group);
    return admin_fail(a, err, "%s: %s: %s (%s)%s%s", r->what, target, kafka_err_name(err), kafka_err_str(err),
                      detail[0] ? ": " : "", detail);
}

/* ---- owned results ------------------------------------------------------ */

typedef union result_hdr {
    kafka_arena arena;
    max_align_t align_;
} result_hdr;

void *admin_result_new(size_t size, kafka_arena **arena)
{
    result_hdr *h = kafka_calloc(1, sizeof *h + size);
    if (!h)
        return NULL;
    kafka_arena_init(&h->arena, 0);
    *arena = &h->arena;
    return h + 1;
}

kafka_arena *admin_result_arena(void *pub) { return &((result_hdr *)pub - 1)->arena; }

void admin_result_free(void *pub)
{
    if (!pub)
        return;
    result_hdr *h = (result_hdr *)pub - 1;
    kafka_arena_free(&h->arena);
    kafka_free(h);
}

const char *admin_str(kafka_arena *a, kafka_str s)
{
    if (s.len < 0)
        return NULL;
    char *p = kafka_arena_alloc(a, (size_t)s.len + 1);
    if (p && s.len)
        memcpy(p, s.ptr, (size_t)s.len);
    return p;
}

const char *admin_strz(kafka_arena *a, const char *s)
{
    if (!s)
        return NULL;
    return admin_str(a, (kafka_str){s, (int32_t)strlen(s)});
}

int32_t *admin_ints(kafka_arena *a, const int32_t *v, int32_t n, size_t *n_out)
{
    size_t k = n > 0 ? (size_t)n : 0;
    *n_out = k;
    int32_t *p = kafka_arena_calloc(a, k ? k : 1, sizeof *p);
    if (p && k)
        memcpy(p, v, k * sizeof *p);
    return p;
}

bool admin_topic_name_ok(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}
