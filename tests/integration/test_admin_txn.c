/* kafka_admin list/describe transactions and describe producers. The test brokers lack the
 * KIP-664 APIs: the calls must say so and the checks that need an answer
 * are reported as skipped. */
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

static void test_list_and_describe_unknown(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_txn_list *l = NULL;
    kafka_err err = kafka_admin_list_transactions(a, NULL, 0, NULL, 0, 10000, &l);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(l);
        kafka_admin_close(a);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "ListTransactions");
    assert_int_equal(err, 0);
    kafka_admin_txn_list_free(l);
    char *id = kt_unique_topic("txn-nobody");
    kafka_admin_txns *t = NULL;
    assert_int_equal(kafka_admin_describe_transactions(a, (const char *const[]){id}, 1, 10000, &t),
                     KAFKA_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    assert_int_equal(t->txns[0].err, KAFKA_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    kafka_admin_txns_free(t);
    free(id);
    kafka_admin_close(a);
}

static void test_txn_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_txn_list *l = (kafka_admin_txn_list *)1;
    assert_int_equal(kafka_admin_list_transactions(a, (const char *const[]){""}, 1, NULL, 0, 1000, &l),
                     KAFKA_ERR_INVALID_ARG);
    assert_null(l);
    int64_t neg = -5;
    assert_int_equal(kafka_admin_list_transactions(a, NULL, 0, &neg, 1, 1000, &l), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_transactions(a, NULL, 1, NULL, 0, 1000, &l), KAFKA_ERR_INVALID_ARG);
    kafka_admin_txns *t = (kafka_admin_txns *)1;
    assert_int_equal(kafka_admin_describe_transactions(a, (const char *const[]){""}, 1, 1000, &t),
                     KAFKA_ERR_INVALID_ARG);
    assert_null(t);
    assert_int_equal(kafka_admin_describe_transactions(a, (const char *const[]){"x", "x"}, 2, 1000, &t),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_transactions(a, NULL, 0, 1000, &t), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

/* DescribeProducers of a partition the test produced to: it has one
 * (idempotent) producer or none, and an unknown partition is an item
 * error. */
static void test_describe_producers(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_filled_topic(kt, "admin-producers");
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_tp parts[] = {{topic, 0}, {topic, 9}};
    kafka_admin_producers *p = NULL;
    kafka_err err = kafka_admin_describe_producers(a, parts, 2, 10000, &p);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(p);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeProducers");
    assert_int_equal(err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->partitions[0].partition, 0);
    assert_int_equal(p->partitions[0].err, 0);
    assert_int_equal(p->partitions[1].err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kafka_admin_producers_free(p);
    kafka_admin_close(a);
    free(topic);
}

static void test_describe_producers_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_producers *p = (kafka_admin_producers *)1;
    kafka_admin_tp bad = {"", 0}, neg = {"t", -4};
    assert_int_equal(kafka_admin_describe_producers(a, &bad, 1, 1000, &p), KAFKA_ERR_INVALID_ARG);
    assert_null(p);
    assert_int_equal(kafka_admin_describe_producers(a, &neg, 1, 1000, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_producers(a, &neg, 0, 1000, &p), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_describe_unknown),
        cmocka_unit_test(test_txn_bad_input),
        cmocka_unit_test(test_describe_producers),
        cmocka_unit_test(test_describe_producers_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
