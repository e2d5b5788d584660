/* kafka_cluster against a scripted peer over the pluggable transport (no
 * broker): answers a correct broker never sends must end in a clean error
 * within the caller's deadline, never in a request loop. Response bytes are
 * written out by hand from the protocol guide. */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <errno.h>

#include "cluster/cluster.h"
#include "conn_peer.h"
#include "kafka/dialer.h"
#include "net/stream.h"
#include "protocol/api.h"

static size_t put_be(uint8_t *p, uint64_t v, int width)
{
    for (int i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    return (size_t)width;
}

/* Advertises ApiVersions 0-3, Metadata 0 and FindCoordinator 0 only. */
static int handshake_v0(kt_peer *p)
{
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    static const int16_t ranges[][3] = {{18, 0, 3}, {3, 0, 0}, {10, 0, 0}};
    int rc = kt_peer_api_versions(p, &req, ranges, 3);
    kt_request_free(&req);
    return rc;
}

typedef struct coord_script {
    int answered; /* FindCoordinator requests answered */
} coord_script;

/* Answers every FindCoordinator (v0: error_code i16, node_id i32, host
 * string, port i32) with "no error, node -1": what no correct broker says
 * (it reports COORDINATOR_NOT_AVAILABLE with node -1). Ends at EOF. */
static int script_coord_node_minus_one(kt_peer *p, void *arg)
{
    coord_script *cs = arg;
    if (handshake_v0(p))
        return -1;
    kt_request req;
    while (cs->answered < 1000 && kt_peer_read(p, &req) == 0) {
        int rc = -1;
        if (req.api_key == KAFKA_API_FIND_COORDINATOR) {
            uint8_t b[16], *q = b;
            q += put_be(q, 0, 2);            /* error_code */
            q += put_be(q, 0xffffffffu, 4);  /* node_id -1 */
            q += put_be(q, 1, 2);            /* host "h" */
            *q++ = 'h';
            q += put_be(q, 9092, 4);         /* port */
            rc = kt_peer_respond(p, req.corr, false, b, (size_t)(q - b));
            cs->answered++;
        }
        kt_request_free(&req);
        if (rc)
            return -1;
    }
    return 0;
}

static void test_coordinator_negative_node(void **state)
{
    (void)state;
    coord_script cs = {0};
    kt_peer *p = kt_peer_start(script_coord_node_minus_one, &cs);
    kafka_dialer_config d = {.transport = kt_peer_transport(p)};
    /* The first retry would come after 1000 ms, past the 300 ms deadline,
     * so a single FindCoordinator is all the call may send. */
    kafka_cluster_config cfg = {.bootstrap = "peer:9092", .dialer = &d, .backoff_min_ms = 1000,
                                .backoff_max_ms = 1000};
    kafka_cluster *kc;
    char why[200];
    assert_int_equal(kafka_cluster_new(&cfg, &kc, why, sizeof why), 0);
    int32_t broker = 42;
    kafka_err err = kafka_cluster_coordinator(kc, "g", 0, kafka_now_ms() + 300, &broker);
    assert_int_equal(err, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(broker, -1);
    kafka_cluster_interrupt(kc);
    kafka_cluster_free(kc);
    assert_int_equal(kt_peer_join(p), 0);
    assert_int_equal(cs.answered, 1);
}

/* Metadata v0 (brokers [node_id i32, host string, port i32], topics
 * [error_code i16, name string, partitions [error_code i16, index i32,
 * leader i32, replicas [i32], isr [i32]]]): broker 1 plus a broker with
 * id -2 (the id the cluster gives its first bootstrap address), and topic
 * "t" with partitions listed in reverse order 4..0. */
static int script_metadata_reversed(kt_peer *p, void *arg)
{
    (void)arg;
    if (handshake_v0(p))
        return -1;
    kt_request req;
    if (kt_peer_read(p, &req) || req.api_key != KAFKA_API_METADATA)
        return -1;
    uint8_t b[256], *q = b;
    q += put_be(q, 2, 4);
    q += put_be(q, 1, 4);
    q += put_be(q, 1, 2);
    *q++ = 'h';
    q += put_be(q, 9092, 4);
    q += put_be(q, 0xfffffffeu, 4); /* node -2 */
    q += put_be(q, 4, 2);
    memcpy(q, "evil", 4);
    q += 4;
    q += put_be(q, 1, 4);
    q += put_be(q, 1, 4);           /* 1 topic */
    q += put_be(q, 0, 2);
    q += put_be(q, 1, 2);
    *q++ = 't';
    q += put_be(q, 5, 4);
    for (int i = 4; i >= 0; i--) {
        q += put_be(q, 0, 2);
        q += put_be(q, (uint64_t)i, 4);
        q += put_be(q, 1, 4);
        q += put_be(q, 0, 4);
        q += put_be(q, 0, 4);
    }
    int rc = kt_peer_respond(p, req.corr, false, b, (size_t)(q - b));
    kt_request_free(&req);
    return rc ? rc : kt_peer_wait_eof(p);
}

static void test_metadata_sorted_and_negative_ids(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_metadata_reversed, NULL);
    kafka_dialer_config d = {.transport = kt_peer_transport(p)};
    kafka_cluster_config cfg = {.bootstrap = "peer:9092", .dialer = &d};
    kafka_cluster *kc;
    char why[200];
    assert_int_equal(kafka_cluster_new(&cfg, &kc, why, sizeof why), 0);
    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, "t", kafka_now_ms() + 5000, &t), 0);
    assert_int_equal(t->n_partitions, 5);
    for (int32_t i = 0; i < 5; i++) {
        assert_int_equal(t->partitions[i].id, i);
        assert_int_equal(t->partition_ids[i], i);
        assert_int_equal(t->partitions[i].leader, 1);
    }
    kafka_cluster_topic_release(kc, t);
    int32_t ids[4];
    assert_int_equal(kafka_cluster_brokers(kc, ids, 4), 1);
    assert_int_equal(ids[0], 1);
    /* The bootstrap entry kept its connection: it was not "moved" to
     * evil:1 by the bogus id -2, so its idle conn is still there to use. */
    kafka_conn *c = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, -2, kafka_now_ms() + 1000, &c), 0);
    kafka_cluster_release(kc, c, true);
    kafka_cluster_interrupt(kc);
    kafka_cluster_free(kc);
    assert_int_equal(kt_peer_join(p), 0);
}

/* ---- broker table pruning --------------------------------------------------
 * Three scripted peers behind one routing transport: "a" (bootstrap and
 * broker 1), "b" (broker 7, listed only by the first Metadata answer) and
 * "c" (broker 9, named only as a group coordinator). */

typedef struct churn_state {
    int metadata_answers; /* shared by the peers' scripts */
    pthread_mutex_t mu;
} churn_state;

static size_t put_str(uint8_t *q, const char *s)
{
    size_t n = strlen(s);
    put_be(q, n, 2);
    memcpy(q + 2, s, n);
    return 2 + n;
}

static size_t put_broker(uint8_t *q, int32_t id, const char *host, int32_t port)
{
    size_t k = put_be(q, (uint32_t)id, 4);
    k += put_str(q + k, host);
    k += put_be(q + k, (uint32_t)port, 4);
    return k;
}

/* Metadata v0: the first answer lists brokers 1 (a:1) and 7 (b:2), later
 * ones broker 1 only; topic "t" has one partition led by broker 1.
 * FindCoordinator v0: broker 9 at c:3. Any other request ends the script. */
static int script_churn(kt_peer *p, void *arg)
{
    churn_state *cs = arg;
    if (handshake_v0(p))
        return -1;
    kt_request req;
    while (kt_peer_read(p, &req) == 0) {
        uint8_t b[256], *q = b;
        int rc = -1;
        if (req.api_key == KAFKA_API_METADATA) {
            pthread_mutex_lock(&cs->mu);
            bool first = cs->metadata_answers++ == 0;
            pthread_mutex_unlock(&cs->mu);
            q += put_be(q, first ? 2 : 1, 4);
            q += put_broker(q, 1, "a", 1);
            if (first)
                q += put_broker(q, 7, "b", 2);
            q += put_be(q, 1, 4);    /* 1 topic */
            q += put_be(q, 0, 2);    /* error_code */
            q += put_str(q, "t");
            q += put_be(q, 1, 4);    /* 1 partition */
            q += put_be(q, 0, 2);    /* error_code */
            q += put_be(q, 0, 4);    /* index */
            q += put_be(q, 1, 4);    /* leader */
            q += put_be(q, 0, 4);    /* replicas [] */
            q += put_be(q, 0, 4);    /* isr [] */
            rc = kt_peer_respond(p, req.corr, false, b, (size_t)(q - b));
        } else if (req.api_key == KAFKA_API_FIND_COORDINATOR) {
            q += put_be(q, 0, 2);    /* error_code */
            q += put_broker(q, 9, "c", 3);
            rc = kt_peer_respond(p, req.corr, false, b, (size_t)(q - b));
        }
        kt_request_free(&req);
        if (rc)
            return -1;
    }
    return 0; /* EOF (or the 5 s idle limit): the client is done */
}

typedef struct route {
    kt_peer *peers[3]; /* "a", "b", "c" */
    kafka_transport tp;
    kafka_cluster *kc;
    int closed[3];
    int closed_under_lock; /* close callbacks that found the cluster locked */
} route;

typedef struct route_conn {
    int which;
    void *inner;
} route_conn;

static const kafka_transport *route_inner(route *r, int which) { return kt_peer_transport(r->peers[which]); }

static int route_dial(void *priv, const char *host, int port, int timeout_ms, void **conn_out, char *errbuf,
                      size_t errlen)
{
    route *r = priv;
    int which = host[0] - 'a';
    if (host[1] != '\0' || which < 0 || which > 2) {
        snprintf(errbuf, errlen, "no peer %s", host);
        return -1;
    }
    route_conn *rc = calloc(1, sizeof *rc);
    if (!rc)
        return -1;
    rc->which = which;
    const kafka_transport *in = route_inner(r, which);
    if (in->dial(in->privdata, host, port, timeout_ms, &rc->inner, errbuf, errlen)) {
        free(rc);
        return -1;
    }
    *conn_out = rc;
    return 0;
}

static long route_read(void *priv, void *conn, void *buf, size_t len, int timeout_ms)
{
    route_conn *rc = conn;
    const kafka_transport *in = route_inner(priv, rc->which);
    return in->read(in->privdata, rc->inner, buf, len, timeout_ms);
}

static long route_write(void *priv, void *conn, const void *buf, size_t len, int timeout_ms)
{
    route_conn *rc = conn;
    const kafka_transport *in = route_inner(priv, rc->which);
    return in->write(in->privdata, rc->inner, buf, len, timeout_ms);
}

/* Shared by cluster_lock_free and its probe thread; the last one done
 * frees it (the thread may outlive a waiter that gave up). */
typedef struct probe {
    kafka_cluster *kc;
    sem_t done;
    atomic_int refs;
} probe;

static void probe_unref(probe *pr)
{
    if (atomic_fetch_sub(&pr->refs, 1) == 1) {
        sem_destroy(&pr->done);
        free(pr);
    }
}

static void *probe_lock(void *arg)
{
    probe *pr = arg;
    int32_t ids[8];
    (void)kafka_cluster_brokers(pr->kc, ids, 8); /* takes the cluster's mutex */
    sem_post(&pr->done);
    probe_unref(pr);
    return NULL;
}

/* True when another thread can take the cluster's mutex within 5 s. A
 * close callback run under the lock makes the probe wait until the
 * callback has returned, so the probe is detached, not joined. */
static bool cluster_lock_free(kafka_cluster *kc)
{
    probe *pr = calloc(1, sizeof *pr);
    if (!pr)
        return false;
    pr->kc = kc;
    sem_init(&pr->done, 0, 0);
    atomic_init(&pr->refs, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, probe_lock, pr)) {
        sem_destroy(&pr->done);
        free(pr);
        return false;
    }
    pthread_detach(t);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    int rc;
    while ((rc = sem_timedwait(&pr->done, &ts)) != 0 && errno == EINTR)
        ;
    probe_unref(pr);
    return rc == 0;
}

static void route_close(void *priv, void *conn)
{
    route *r = priv;
    route_conn *rc = conn;
    if (r->kc && !cluster_lock_free(r->kc))
        r->closed_under_lock++;
    r->closed[rc->which]++;
    const kafka_transport *in = route_inner(r, rc->which);
    in->close(in->privdata, rc->inner);
    free(rc);
}

static void test_departed_broker_pruned(void **state)
{
    (void)state;
    churn_state cs = {0};
    pthread_mutex_init(&cs.mu, NULL);
    route r = {0};
    for (int i = 0; i < 3; i++)
        r.peers[i] = kt_peer_start(script_churn, &cs);
    r.tp = (kafka_transport){.privdata = &r, .dial = route_dial, .read = route_read, .write = route_write,
                             .close = route_close};
    kafka_dialer_config d = {.transport = &r.tp};
    kafka_cluster_config cfg = {.bootstrap = "a:1", .dialer = &d, .backoff_min_ms = 1, .backoff_max_ms = 10};
    kafka_cluster *kc;
    char why[200];
    assert_int_equal(kafka_cluster_new(&cfg, &kc, why, sizeof why), 0);
    r.kc = kc;
    int64_t dl = kafka_now_ms() + 5000;

    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, "t", dl, &t), 0);
    kafka_cluster_topic_release(kc, t);
    int32_t ids[8];
    assert_int_equal(kafka_cluster_brokers(kc, ids, 8), 2);

    /* broker 7 gets an idle pooled conn (peer b); broker 9 becomes the
     * coordinator of group g without being a listed broker */
    kafka_conn *c = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, 7, dl, &c), 0);
    kafka_cluster_release(kc, c, true);
    int32_t coord = -1;
    assert_int_equal(kafka_cluster_coordinator(kc, "g", 0, dl, &coord), 0);
    assert_int_equal(coord, 9);
    assert_int_equal(r.closed[1], 0);

    /* the second answer no longer lists 7: forgotten, its conn closed
     * outside the cluster's lock; 9 stays while it is a coordinator */
    kafka_cluster_invalidate(kc, "t");
    assert_int_equal(kafka_cluster_topic_get(kc, "t", dl, &t), 0);
    kafka_cluster_topic_release(kc, t);
    assert_int_equal(cs.metadata_answers, 2);
    assert_int_equal(kafka_cluster_brokers(kc, ids, 8), 1);
    assert_int_equal(ids[0], 1);
    assert_int_equal(r.closed[1], 1);
    assert_int_equal(r.closed_under_lock, 0);
    assert_int_equal(kafka_cluster_acquire(kc, 7, dl, &c), KAFKA_ERR_BROKER_NOT_AVAILABLE);
    assert_null(c);
    assert_int_equal(kafka_cluster_acquire(kc, 9, dl, &c), 0);
    kafka_cluster_release(kc, c, true);

    r.kc = NULL; /* the probe would use the cluster while it is freed */
    kafka_cluster_interrupt(kc);
    kafka_cluster_free(kc);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kt_peer_join(r.peers[i]), 0);
    pthread_mutex_destroy(&cs.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coordinator_negative_node),
        cmocka_unit_test(test_metadata_sorted_and_negative_ids),
        cmocka_unit_test(test_departed_broker_pruned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
