/* kafka_admin_elect_leaders and kafka_admin_describe_log_dirs. The test
 * brokers lack both APIs: the calls must say so (NO_COMMON_VERSION) and
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elect_preferred_leaders),
        cmocka_unit_test(test_describe_log_dirs),
        cmocka_unit_test(test_replicas_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
