/* kafka_admin list/describe transactions and describe producers.
 * librdkafka's mock lacks the KIP-664 APIs: there the calls must say so
 * and the checks that need an answer are reported as skipped. kafka-mock
 * answers them: a transaction driven by librdkafka's transactional
 * producer is listed and described with Kafka's state names, and its
 * producer's id, epoch and sequence show in DescribeProducers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "admin_util.h"
#include "kafka/admin.h"
#include "rdkafka_txn.h"
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

static int64_t kt_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The listing of id among the transactions in the given states (NULL/0:
 * all), or NULL; *pid gets its producer id. */
static bool listed(kafka_admin *a, const char *id, const char *state, int64_t *pid, const char **got_state)
{
    kafka_admin_txn_list *l = NULL;
    assert_int_equal(kafka_admin_list_transactions(a, state ? (const char *const[]){state} : NULL, state ? 1 : 0,
                                                   NULL, 0, 10000, &l),
                     0);
    bool found = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->txns[i].transactional_id, id) != 0)
            continue;
        assert_false(found);
        found = true;
        if (pid)
            *pid = l->txns[i].producer_id;
        if (got_state)
            assert_string_equal(l->txns[i].state, *got_state);
        assert_true(l->txns[i].coordinator >= 1 && l->txns[i].coordinator <= 3);
    }
    kafka_admin_txn_list_free(l);
    return found;
}

static kafka_admin_txns *describe_one(kafka_admin *a, const char *id)
{
    kafka_admin_txns *t = NULL;
    assert_int_equal(kafka_admin_describe_transactions(a, (const char *const[]){id}, 1, 10000, &t), 0);
    assert_int_equal(t->n, 1);
    assert_string_equal(t->txns[0].transactional_id, id);
    assert_int_equal(t->txns[0].err, 0);
    return t;
}

/* The producer pid on topic's partition 0 (fails when it is not there). */
static kafka_admin_producer producer_on(kafka_admin *a, const char *topic, int64_t pid)
{
    kafka_admin_tp part = {topic, 0};
    kafka_admin_producers *p = NULL;
    kafka_admin_producer found = {.producer_id = -1};
    assert_int_equal(kafka_admin_describe_producers(a, &part, 1, 10000, &p), 0);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->partitions[0].err, 0);
    for (size_t i = 0; i < p->partitions[0].n_producers; i++)
        if (p->partitions[0].producers[i].producer_id == pid)
            found = p->partitions[0].producers[i];
    kafka_admin_producers_free(p);
    assert_int_equal(found.producer_id, pid);
    return found;
}

/* A transaction's life as Kafka's coordinator reports it: Ongoing with its
 * partition while open (the producer's state on the partition shows the
 * open transaction's first offset and the last sequence of the 3 records,
 * 2), then CompleteCommit with no partitions; the next
 * one aborted is CompleteAbort. A new transactional id starts at epoch 0.
 * Start times are wall-clock ms, kept after completion (Kafka's
 * TransactionMetadata keeps txnStartTimestamp). */
static void test_transaction_life(void **state)
{
    KT_REQUIRE_INPROCESS_RDKAFKA();
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_txn_list *probe = NULL;
    kafka_err err = kafka_admin_list_transactions(a, NULL, 0, NULL, 0, 10000, &probe);
    kafka_admin_txn_list_free(probe);
    if (err == KAFKA_ERR_NO_COMMON_VERSION)
        kafka_admin_close(a);
    KT_SKIP_IF_UNSUPPORTED(err, "ListTransactions");
    assert_int_equal(err, 0);
    char *topic = kt_unique_topic("admin-txn-life");
    char *id = kt_unique_topic("txn-life");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    rd_kafka_t *rk = kt_rdkafka_txn_producer(kt_cluster_bootstrap(kt), id);
    /* InitProducerId alone: the id is known, with no transaction yet */
    const char *empty = "Empty";
    int64_t pid = -1;
    assert_true(listed(a, id, NULL, &pid, &empty));
    assert_true(pid >= 0);

    int64_t before_ms = kt_wall_ms();
    kt_rdkafka_txn_open(rk, topic, "v", 3);
    int64_t after_ms = kt_wall_ms();
    const char *ongoing = "Ongoing";
    assert_true(listed(a, id, "Ongoing", NULL, &ongoing));
    assert_false(listed(a, id, "CompleteCommit", NULL, NULL));
    kafka_admin_txn_list *byp = NULL;
    assert_int_equal(kafka_admin_list_transactions(a, NULL, 0, &pid, 1, 10000, &byp), 0);
    assert_int_equal(byp->n, 1);
    assert_string_equal(byp->txns[0].transactional_id, id);
    kafka_admin_txn_list_free(byp);

    kafka_admin_txns *t = describe_one(a, id);
    assert_string_equal(t->txns[0].state, "Ongoing");
    assert_int_equal(t->txns[0].producer_id, pid);
    assert_int_equal(t->txns[0].producer_epoch, 0);
    assert_int_equal(t->txns[0].timeout_ms, 60000); /* librdkafka's transaction.timeout.ms */
    /* wall-clock ms between begin and flush (1 s for the broker's clock reading) */
    int64_t started = t->txns[0].start_time_ms;
    assert_true(started >= before_ms - 1000 && started <= after_ms + 1000);
    assert_int_equal(t->txns[0].n_partitions, 1);
    assert_string_equal(t->txns[0].partitions[0].topic, topic);
    assert_int_equal(t->txns[0].partitions[0].partition, 0);
    kafka_admin_txns_free(t);

    kafka_admin_producer p = producer_on(a, topic, pid);
    assert_int_equal(p.producer_epoch, 0);
    assert_int_equal(p.last_sequence, 2);
    assert_int_equal(p.txn_start_offset, 0); /* the transaction's first record is the log's first */
    /* the last batch's max timestamp: librdkafka stamps records with the wall clock */
    assert_true(p.last_timestamp >= before_ms - 1000 && p.last_timestamp <= after_ms + 1000);

    kt_rdkafka_txn_end(rk, true);
    t = describe_one(a, id);
    assert_string_equal(t->txns[0].state, "CompleteCommit");
    assert_int_equal(t->txns[0].n_partitions, 0);
    /* Kafka keeps the completed transaction's start time */
    assert_true(t->txns[0].start_time_ms >= started - 1000 && t->txns[0].start_time_ms <= started + 1000);
    kafka_admin_txns_free(t);
    assert_false(listed(a, id, "Ongoing", NULL, NULL));
    p = producer_on(a, topic, pid);
    assert_int_equal(p.last_sequence, 2); /* markers take no sequence */
    assert_int_equal(p.txn_start_offset, -1);

    kt_rdkafka_txn(rk, topic, "w", 2, false);
    t = describe_one(a, id);
    assert_string_equal(t->txns[0].state, "CompleteAbort");
    kafka_admin_txns_free(t);
    p = producer_on(a, topic, pid);
    assert_int_equal(p.last_sequence, 4);
    rd_kafka_destroy(rk);
    kafka_admin_close(a);
    free(id);
    free(topic);
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
    /* kt_filled_topic wrote without idempotence: Kafka tracks no producer */
    assert_int_equal(p->partitions[0].n_producers, 0);
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
        cmocka_unit_test(test_transaction_life),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
