/* kafka_cluster against a scripted peer over the pluggable transport (no
 * broker): answers a correct broker never sends must end in a clean error
 * within the caller's deadline, never in a request loop. Response bytes are
 * written out by hand from the protocol guide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coordinator_negative_node),
        cmocka_unit_test(test_metadata_sorted_and_negative_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
