/* The engine against the test broker: the coordinator connection
 * (kafka_engine_coordinator) is a second connection to the same broker, so
 * that a request on it is answered while a Fetch long-polls on the main
 * one (a broker answers the requests of one connection in order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "common/alloc.h"
#include "common/backoff.h"
#include "conn/requests.h"
#include "engine/engine.h"
#include "protocol/gen/all.h"
#include "test_cluster.h"

KAFKA_CONN_ENCODER(fetch_request)
KAFKA_CONN_ENCODER(api_versions_request)

typedef struct lane_test {
    const char *topic;
    int32_t leader;
    int32_t second_key; /* where the ApiVersions goes */
    int step;           /* I/O thread only */
    atomic_int order;   /* responses so far */
    atomic_int fetch_at, versions_at; /* 1-based arrival order, 0 = not yet */
    atomic_int failed;
} lane_test;

static void on_fetch(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    (void)why, (void)body, (void)len;
    kafka_free(frame); /* the callee owns the response (wire.h) */
    lane_test *t = arg;
    if (err)
        atomic_store(&t->failed, err);
    atomic_store(&t->fetch_at, atomic_fetch_add(&t->order, 1) + 1);
}

static void on_versions(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    (void)why, (void)body, (void)len;
    kafka_free(frame); /* the callee owns the response (wire.h) */
    lane_test *t = arg;
    if (err)
        atomic_store(&t->failed, err);
    atomic_store(&t->versions_at, atomic_fetch_add(&t->order, 1) + 1);
}

static int64_t on_turn(void *arg, kafka_engine *e, int64_t now)
{
    lane_test *t = arg;
    char why[256];
    if (t->step != 0)
        return -1;
    if (kafka_engine_broker(e, t->leader, why, sizeof why) ||
        kafka_engine_broker(e, t->second_key, why, sizeof why))
        return now + 20;
    t->step = 1;
    int16_t v = kafka_engine_version(e, t->leader, KAFKA_API_FETCH, 4, 11, why, sizeof why);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    /* The partition is empty: the broker holds the Fetch for max_wait. */
    kafka_fetch_want want = {.topic = t->topic, .partition = 0, .offset = 0, .max_bytes = 1 << 20};
    kafka_fetch_opts o = {.max_wait_ms = 3000, .min_bytes = 1, .max_bytes = 1 << 20, .session_epoch = -1};
    kafka_fetch_request req;
    kafka_err err = v < 0 ? KAFKA_ERR_UNSUPPORTED_VERSION : kafka_fetch_request_build(&a, &want, 1, &o, &req);
    if (!err)
        err = kafka_engine_send(e, t->leader, KAFKA_API_FETCH, v, fetch_request_enc_, &req, now + 10000, on_fetch,
                                t);
    kafka_arena_free(&a);
    kafka_api_versions_request av;
    kafka_api_versions_request_init(&av);
    if (!err)
        err = kafka_engine_send(e, t->second_key, KAFKA_API_API_VERSIONS, 0, api_versions_request_enc_, &av,
                                now + 10000, on_versions, t);
    if (err)
        atomic_store(&t->failed, err);
    return -1;
}

/* Runs the Fetch on the leader's main connection and the ApiVersions on
 * second_key; returns when both answered. */
static void run(kt_cluster *kt, const char *topic, lane_test *t, bool coordinator_lane)
{
    kafka_cluster *kc = NULL;
    char err[256] = "";
    kafka_cluster_config cfg = {.bootstrap = kt_cluster_bootstrap(kt), .max_conns_per_broker = 4};
    assert_int_equal(kafka_cluster_new(&cfg, &kc, err, sizeof err), 0);
    const kafka_cluster_topic *ct = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, topic, kafka_now_ms() + 10000, &ct), 0);
    t->topic = topic;
    t->leader = ct->partitions[0].leader;
    kafka_cluster_topic_release(kc, ct);
    t->second_key = coordinator_lane ? kafka_engine_coordinator(t->leader) : t->leader;
    kafka_engine *e = NULL;
    kafka_engine_config ec = {.kc = kc, .on_turn = on_turn, .arg = t};
    assert_int_equal(kafka_engine_start(&e, &ec), 0);
    for (int i = 0; i < 1000 && (!atomic_load(&t->fetch_at) || !atomic_load(&t->versions_at)) &&
                    !atomic_load(&t->failed);
         i++)
        kafka_sleep_ms(10);
    kafka_engine_stop(e);
    kafka_cluster_free(kc);
    assert_int_equal(atomic_load(&t->failed), 0);
    assert_int_not_equal(atomic_load(&t->fetch_at), 0);
    assert_int_not_equal(atomic_load(&t->versions_at), 0);
}

static void test_coordinator_connection_not_behind_fetch(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("engine-lane");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    lane_test t = {0};
    run(kt, topic, &t, true);
    assert_int_equal(atomic_load(&t.versions_at), 1);
    assert_int_equal(atomic_load(&t.fetch_at), 2);
    free(topic);
}

/* The control: on the same connection the broker answers in order. */
static void test_same_connection_answers_in_order(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("engine-lane");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    lane_test t = {0};
    run(kt, topic, &t, false);
    assert_int_equal(atomic_load(&t.fetch_at), 1);
    assert_int_equal(atomic_load(&t.versions_at), 2);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coordinator_connection_not_behind_fetch),
        cmocka_unit_test(test_same_connection_answers_in_order),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
