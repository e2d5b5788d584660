/* The cluster layer against the test broker: metadata, leaders, leadership
 * moves, coordinators and the connection pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/cluster_util.h"
#include "net/stream.h"
#include "test_cluster.h"

static int64_t in_ms(int ms) { return kafka_now_ms() + ms; }

static kafka_cluster *new_cluster(kt_cluster *kt)
{
    kafka_cluster *kc = NULL;
    char err[256] = "";
    kafka_cluster_config cfg = {.bootstrap = kt_cluster_bootstrap(kt), .backoff_min_ms = 20};
    assert_int_equal(kafka_cluster_new(&cfg, &kc, err, sizeof err), 0);
    return kc;
}

static void test_bootstrap_parsing(void **state)
{
    (void)state;
    kafka_bootstrap_iter it;
    char a[64];
    kafka_bootstrap_iter_init(&it, " h1:9092,h2:9093  [::1]:9094,");
    assert_int_equal(kafka_bootstrap_next(&it, a, sizeof a), 0);
    assert_string_equal(a, "h1:9092");
    assert_int_equal(kafka_bootstrap_next(&it, a, sizeof a), 0);
    assert_string_equal(a, "h2:9093");
    assert_int_equal(kafka_bootstrap_next(&it, a, sizeof a), 0);
    assert_string_equal(a, "[::1]:9094");
    assert_int_equal(kafka_bootstrap_next(&it, a, sizeof a), KAFKA_ERR_NOT_FOUND);

    const char *bad[] = {"nohost", "h:0", "h:70000", "h:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kafka_bootstrap_iter_init(&it, bad[i]);
        assert_int_equal(kafka_bootstrap_next(&it, a, sizeof a), KAFKA_ERR_INVALID_ARG);
    }
    kafka_cluster *kc = NULL;
    char err[128] = "";
    assert_int_equal(kafka_cluster_new(&(kafka_cluster_config){.bootstrap = " , "}, &kc, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_null(kc);
    assert_int_equal(kafka_cluster_new(&(kafka_cluster_config){.bootstrap = NULL}, &kc, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
}

static void test_topic_metadata_and_leaders(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("cluster-md");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 5, 0), 0);
    kafka_cluster *kc = new_cluster(kt);

    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, topic, in_ms(10000), &t), 0);
    assert_non_null(t);
    assert_string_equal(t->name, topic);
    assert_int_equal(t->n_partitions, 5);
    for (int32_t i = 0; i < 5; i++) {
        assert_int_equal(t->partitions[i].id, i);
        assert_int_equal(t->partition_ids[i], i);
        assert_true(t->partitions[i].leader >= 0);
    }
    kafka_cluster_topic_release(kc, t);

    int32_t ids[8];
    size_t nb = kafka_cluster_brokers(kc, ids, 8);
    assert_int_equal(nb, (size_t)kt_cluster_broker_count(kt) >= 3 ? nb : 0);
    assert_true(nb >= 1);

    int32_t leader = -1;
    assert_int_equal(kafka_cluster_leader(kc, topic, 3, in_ms(5000), &leader), 0);
    assert_true(leader >= 0);
    assert_int_equal(kafka_cluster_leader(kc, topic, 5, in_ms(5000), &leader), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    kafka_conn *c = NULL;
    assert_int_equal(kafka_cluster_leader(kc, topic, 0, in_ms(5000), &leader), 0);
    assert_int_equal(kafka_cluster_acquire(kc, leader, in_ms(5000), &c), 0);
    assert_non_null(c);
    kafka_conn *c2 = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, leader, in_ms(5000), &c2), 0);
    assert_ptr_not_equal(c, c2);
    kafka_cluster_release(kc, c, true);
    /* the pool hands back the idle conn rather than dialing a third */
    kafka_conn *c3 = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, leader, in_ms(5000), &c3), 0);
    assert_ptr_equal(c3, c);
    /* at the limit (2 per broker) a third borrower waits, then times out */
    kafka_conn *c4 = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, leader, in_ms(100), &c4), KAFKA_ERR_TIMEOUT);
    kafka_cluster_release(kc, c2, false);
    kafka_cluster_release(kc, c3, true);
    assert_int_equal(kafka_cluster_acquire(kc, 4242, in_ms(100), &c4), KAFKA_ERR_BROKER_NOT_AVAILABLE);

    kafka_cluster_free(kc);
    free(topic);
}

static void test_leadership_move(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("cluster-lead");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 3), 0);
    kafka_cluster *kc = new_cluster(kt);
    int32_t leader = -1;
    assert_int_equal(kafka_cluster_leader(kc, topic, 1, in_ms(5000), &leader), 0);
    int32_t next = leader % 3 + 1; /* broker ids are 1..3 */
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 1 %d", topic, next), 0);
    /* cached until invalidated */
    int32_t again = -1;
    assert_int_equal(kafka_cluster_leader(kc, topic, 1, in_ms(5000), &again), 0);
    assert_int_equal(again, leader);
    kafka_cluster_invalidate(kc, topic);
    assert_int_equal(kafka_cluster_leader(kc, topic, 1, in_ms(5000), &again), 0);
    assert_int_equal(again, next);
    kafka_cluster_free(kc);
    free(topic);
}

static void test_bootstrap_with_dead_first_broker(void **state)
{
    kt_cluster *kt = *state;
    /* a closed port first: the cluster must move on to the live brokers */
    char boot[512];
    snprintf(boot, sizeof boot, "127.0.0.1:1,%s", kt_cluster_bootstrap(kt));
    kafka_cluster *kc = NULL;
    char err[128];
    assert_int_equal(kafka_cluster_new(&(kafka_cluster_config){.bootstrap = boot}, &kc, err, sizeof err), 0);
    char *topic = kt_unique_topic("cluster-boot");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 0), 0);
    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, topic, in_ms(10000), &t), 0);
    assert_int_equal(t->n_partitions, 1);
    kafka_cluster_topic_release(kc, t);
    kafka_cluster_free(kc);
    free(topic);

    /* nothing reachable: a clear error within the deadline */
    assert_int_equal(kafka_cluster_new(&(kafka_cluster_config){.bootstrap = "127.0.0.1:1"}, &kc, err, sizeof err), 0);
    int64_t start = kafka_now_ms();
    kafka_err e = kafka_cluster_topic_get(kc, "x", in_ms(500), &t);
    assert_true(e == KAFKA_ERR_NO_BROKERS || e == KAFKA_ERR_TIMEOUT);
    assert_null(t);
    assert_true(kafka_now_ms() - start < 5000); /* bounded, not a timing assertion on speed */
    kafka_cluster_free(kc);
}

static void test_group_coordinator(void **state)
{
    kt_cluster *kt = *state;
    kafka_cluster *kc = new_cluster(kt);
    int32_t b = -1;
    assert_int_equal(kafka_cluster_coordinator(kc, "cluster-test-group", 0, in_ms(10000), &b), 0);
    assert_true(b >= 0);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_cluster_acquire(kc, b, in_ms(5000), &c), 0);
    kafka_cluster_release(kc, c, true);
    if (kt_cluster_is_mock(kt)) {
        int32_t other = b % 3 + 1;
        assert_int_equal(kt_cluster_cmd(kt, "coordinator group cluster-test-group %d", other), 0);
        kafka_cluster_invalidate_coordinator(kc, "cluster-test-group", 0);
        assert_int_equal(kafka_cluster_coordinator(kc, "cluster-test-group", 0, in_ms(10000), &b), 0);
        assert_int_equal(b, other);
    }
    kafka_cluster_free(kc);
}

static void test_interrupt(void **state)
{
    kt_cluster *kt = *state;
    kafka_cluster *kc = new_cluster(kt);
    kafka_cluster_interrupt(kc);
    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_get(kc, "x", in_ms(1000), &t), KAFKA_ERR_CLOSED);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_cluster_acquire_any(kc, in_ms(1000), &c), KAFKA_ERR_CLOSED);
    kafka_cluster_free(kc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_parsing),
        cmocka_unit_test(test_topic_metadata_and_leaders),
        cmocka_unit_test(test_leadership_move),
        cmocka_unit_test(test_bootstrap_with_dead_first_broker),
        cmocka_unit_test(test_group_coordinator),
        cmocka_unit_test(test_interrupt),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
