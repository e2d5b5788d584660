/* kafka_admin_elect_leaders, kafka_admin_describe_log_dirs and partition
 * reassignments. The test brokers lack these APIs: the calls must say so (NO_COMMON_VERSION) and
 * the checks that need an answer are reported as skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_util.h"
#include "kafka/admin.h"
#include "test_cluster.h"

static void test_elect_preferred_leaders(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-elect");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    char *unknown = kt_unique_topic("admin-nope");
    kafka_admin_tp parts[] = {{topic, -1}, {unknown, 0}};
    kafka_admin_partition_results *r = NULL;
    kafka_err err = kafka_admin_elect_leaders(a, parts, 2, KAFKA_ADMIN_ELECT_PREFERRED, 10000, &r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(r);
        kafka_admin_close(a);
        free(unknown);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "ElectLeaders");
    /* the unknown topic is an item error; the others succeed or need no election */
    assert_int_equal(err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(r->n, 3);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->results[i].topic, topic) == 0)
            assert_true(r->results[i].err == 0 || r->results[i].err == KAFKA_ERR_ELECTION_NOT_NEEDED);
        else
            assert_int_equal(r->results[i].err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    kafka_admin_partition_results_free(r);
    kafka_admin_close(a);
    free(unknown);
    free(topic);
}

static void test_describe_log_dirs(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-logdirs");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_log_dirs *d = NULL;
    kafka_err err = kafka_admin_describe_log_dirs(a, NULL, 0, 10000, &d);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(d);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeLogDirs");
    assert_int_equal(err, 0);
    assert_int_equal(d->n, 3);
    bool found = false; /* every broker holds a replica of the topic */
    for (size_t b = 0; b < d->n; b++)
        for (size_t k = 0; k < d->brokers[b].n_dirs; k++)
            for (size_t p = 0; p < d->brokers[b].dirs[k].n_partitions; p++)
                found |= strcmp(d->brokers[b].dirs[k].partitions[p].topic, topic) == 0;
    assert_true(found);
    kafka_admin_log_dirs_free(d);
    kafka_admin_close(a);
    free(topic);
}

/* A broker named by the caller on a fresh client (whose broker table is
 * still empty) is reached after a metadata round trip: the answer is the
 * broker's (NO_COMMON_VERSION on the mocks), not BROKER_NOT_AVAILABLE. */
static void test_named_broker_on_fresh_client(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_log_dirs *d = NULL;
    kafka_err err = kafka_admin_describe_log_dirs(a, (const int32_t[]){2}, 1, 5000, &d);
    assert_true(err == 0 || err == KAFKA_ERR_NO_COMMON_VERSION);
    if (!err)
        assert_int_equal(d->brokers[0].broker, 2);
    kafka_admin_log_dirs_free(d);
    kafka_admin_close(a);
}

static void test_replicas_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_partition_results *r = (kafka_admin_partition_results *)1;
    kafka_admin_tp bad = {"", 0}, neg = {"t", -3}, ok = {"t", 0};
    assert_int_equal(kafka_admin_elect_leaders(a, &bad, 1, KAFKA_ADMIN_ELECT_PREFERRED, 1000, &r),
                     KAFKA_ERR_INVALID_ARG);
    assert_null(r);
    assert_int_equal(kafka_admin_elect_leaders(a, &neg, 1, KAFKA_ADMIN_ELECT_PREFERRED, 1000, &r),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_elect_leaders(a, &ok, 0, KAFKA_ADMIN_ELECT_PREFERRED, 1000, &r),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_elect_leaders(a, &ok, 1, (kafka_admin_election)7, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_log_dirs *d = (kafka_admin_log_dirs *)1;
    int32_t negative = -1;
    assert_int_equal(kafka_admin_describe_log_dirs(a, &negative, 1, 1000, &d), KAFKA_ERR_INVALID_ARG);
    assert_null(d);
    assert_int_equal(kafka_admin_describe_log_dirs(a, NULL, 2, 1000, &d), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

/* Moving a partition's replicas to the set it already has (and listing
 * the moves in progress) on a broker with KIP-455. */
static void test_reassignments(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-reassign");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_reassignments *l = NULL;
    kafka_admin_tp all = {topic, -1};
    kafka_err err = kafka_admin_list_reassignments(a, &all, 1, 10000, &l);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(l);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "ListPartitionReassignments");
    assert_int_equal(err, 0);
    assert_int_equal(l->n, 0); /* nothing moving */
    kafka_admin_reassignments_free(l);
    const int32_t same[] = {1, 2, 3};
    kafka_admin_reassignment m = {.topic = topic, .partition = 0, .replicas = same, .n_replicas = 3};
    kafka_admin_partition_results *r = NULL;
    assert_int_equal(kafka_admin_alter_reassignments(a, &m, 1, 10000, &r), 0);
    assert_int_equal(r->n, 1);
    kafka_admin_partition_results_free(r);
    kafka_admin_close(a);
    free(topic);
}

static void test_reassignments_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_partition_results *r = (kafka_admin_partition_results *)1;
    const int32_t twice[] = {1, 1}, negative[] = {-1};
    kafka_admin_reassignment bad[] = {
        {.topic = "", .partition = 0},
        {.topic = "t", .partition = -1},
        {.topic = "t", .partition = 0, .replicas = twice, .n_replicas = 2},
        {.topic = "t", .partition = 0, .replicas = negative, .n_replicas = 1},
        {.topic = "t", .partition = 0, .replicas = NULL, .n_replicas = 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_alter_reassignments(a, &bad[i], 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
        assert_null(r);
    }
    kafka_admin_reassignments *l = (kafka_admin_reassignments *)1;
    kafka_admin_tp neg = {"t", -2};
    assert_int_equal(kafka_admin_list_reassignments(a, &neg, 1, 1000, &l), KAFKA_ERR_INVALID_ARG);
    assert_null(l);
    assert_int_equal(kafka_admin_list_reassignments(a, NULL, 1, 1000, &l), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elect_preferred_leaders),
        cmocka_unit_test(test_describe_log_dirs),
        cmocka_unit_test(test_named_broker_on_fresh_client),
        cmocka_unit_test(test_replicas_bad_input),
        cmocka_unit_test(test_reassignments),
        cmocka_unit_test(test_reassignments_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
