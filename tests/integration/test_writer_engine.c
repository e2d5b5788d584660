/*
 * kafka_writer on the I/O engine: one I/O thread whatever the number of
 * brokers, and responses handled as they arrive, broker by broker (a
 * broker slow to answer does not hold up the others' acknowledgements).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/writer.h"
#include "proc_util.h"
#include "test_cluster.h"
#include "writer_util.h"

typedef struct acks {
    pthread_mutex_t mu;
    int order[3][64]; /* completion rank of each message, per partition */
    int n[3];
    int done;
    int failed;
} acks;

static void on_done(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    acks *a = priv;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < n; i++) {
        int p = msgs[i].partition;
        if (err || p < 0 || p > 2 || a->n[p] >= 64)
            a->failed++;
        else
            a->order[p][a->n[p]++] = a->done;
        a->done++;
    }
    pthread_mutex_unlock(&a->mu);
}

static kafka_err write_to(kafka_writer *w, int32_t partition, int i)
{
    char v[16];
    int len = snprintf(v, sizeof v, "m%d", i);
    kafka_message m = {.value = v, .value_len = (size_t)len, .partition = partition, .flags = KAFKA_MSG_PARTITION_SET};
    return kafka_writer_write_messages(w, &m, 1, NULL, 10000);
}

/* Partition 0 on broker 1, which takes 3 s to answer; partitions 1 and 2
 * on brokers 2 and 3. The slow partition's message is written first, yet
 * every message of the fast ones is acknowledged before it (the writer
 * used to read responses oldest request first, across brokers). */
static void test_slow_broker_does_not_delay_others(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-engine-slow");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 1), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, p + 1), 0);
    acks a = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){.async = true, .batch_timeout_ms = 2,
                                                                      .completion = on_done,
                                                                      .completion_privdata = &a});
    assert_non_null(w);
    /* Warm up (metadata, producer id, a connection to each broker). */
    for (int p = 0; p < 3; p++)
        assert_int_equal(write_to(w, p, -1), 0);
    assert_int_equal(kafka_writer_flush(w, 30000), 0);
    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.done, 3);
    a.done = 0;
    a.n[0] = a.n[1] = a.n[2] = 0;
    pthread_mutex_unlock(&a.mu);

    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 3000"), 0);
    assert_int_equal(write_to(w, 0, 0), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(write_to(w, 1, i), 0);
        assert_int_equal(write_to(w, 2, i), 0);
    }
    assert_int_equal(kafka_writer_flush(w, 60000), 0);
    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 0"), 0);
    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.failed, 0);
    assert_int_equal(a.n[0], 1);
    assert_int_equal(a.n[1], 20);
    assert_int_equal(a.n[2], 20);
    assert_int_equal(a.order[0][0], 40); /* the slow broker's came last */
    pthread_mutex_unlock(&a.mu);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    free(topic);
}

/* A writer to three brokers adds one thread (the I/O engine's), with
 * compression off; the test counts them from /proc. */
static void test_one_io_thread(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("w-engine-threads");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 6, 1), 0);
    int before = kt_thread_count();
    if (before < 0)
        skip();
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){0});
    assert_non_null(w);
    for (int p = 0; p < 6; p++)
        assert_int_equal(write_to(w, p, p), 0);
    int during = kt_thread_count();
    print_message("threads: %d before the writer, %d with it\n", before, during);
    assert_int_equal(during, before + 1);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(kt_thread_count(), before);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_broker_does_not_delay_others),
        cmocka_unit_test(test_one_io_thread),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
