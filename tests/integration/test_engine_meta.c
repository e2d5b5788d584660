/* Metadata through the engine (src/engine/meta.c): while a refresh for a
 * partition whose leader failed waits on a slow Metadata answer, the
 * reader's and the writer's traffic to the other brokers keeps flowing;
 * nothing blocks the I/O thread. Each test runs its own 3-broker cluster
 * (the injected delays are not left behind for other tests), partition i
 * led by broker i+1, and every Metadata request is answered 5 s late
 * (`broker_error <id> Metadata 0:3000`, once per broker). Assertions are on
 * counts and ordering only: what was sent to the fast brokers after the
 * refresh started all arrives before the partition waiting for it moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "test_cluster.h"
#include "writer_util.h"

#define SLOW_MS 5000
#define N_FAST 20    /* writer: messages per fast partition */
#define PING_PONGS 6 /* reader: write-then-read round trips */

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "[log %d] %s\n", (int)lvl, msg);
}

/* Our own kafka-mock cluster (librdkafka's mock cannot delay Metadata
 * answers), with topic's partition i led by broker i+1. Skipped on a real
 * cluster. */
static kt_cluster *own_cluster(void **state, const char *topic)
{
    kt_cluster *shared = *state;
    KT_REQUIRE_MOCK(shared);
    kt_cluster *kt = kt_cluster_start_kind(KT_BROKER_KAFKA_MOCK, 3);
    assert_non_null(kt);
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 1), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, p + 1), 0);
    return kt;
}

/* Every broker answers its next Metadata request SLOW_MS late. */
static void slow_metadata(kt_cluster *kt)
{
    for (int b = 1; b <= 3; b++)
        assert_int_equal(kt_cluster_cmd(kt, "broker_error %d Metadata 0:%d", b, SLOW_MS), 0);
}

/* Delayed Metadata answers not yet served, over the three brokers. */
static int slow_metadata_left(kt_cluster *kt)
{
    int left = 0;
    for (int b = 1; b <= 3; b++) {
        assert_int_equal(kt_cluster_cmd(kt, "broker_error_count %d Metadata", b), 0);
        const char *reply = kt_cluster_last_reply(kt);
        const char *num = strrchr(reply, ' ');
        assert_non_null(num);
        left += atoi(num + 1);
    }
    return left;
}

/* Waits until broker's injected errors for api were all served. */
static void wait_served(kt_cluster *kt, int broker, const char *api)
{
    for (int i = 0; i < 30000; i++) {
        assert_int_equal(kt_cluster_cmd(kt, "broker_error_count %d %s", broker, api), 0);
        const char *num = strrchr(kt_cluster_last_reply(kt), ' ');
        assert_non_null(num);
        if (atoi(num + 1) == 0)
            return;
        usleep(1000);
    }
    fail_msg("broker %d: the injected %s error was never served", broker, api);
}

static kafka_message to_partition(int32_t p, const char *value)
{
    return (kafka_message){
        .value = value, .value_len = strlen(value), .partition = p, .flags = KAFKA_MSG_PARTITION_SET};
}

/* The reader reads partitions 0-2; partition 0's next Fetch is answered
 * NOT_LEADER_OR_FOLLOWER, so its leader is looked up again, and that
 * Metadata answer is slow. Messages written one at a time to partitions 1
 * and 2 are each read before partition 0's, written first. */
static void test_reader_flows_during_slow_refresh(void **state)
{
    char *topic = kt_unique_topic("meta-reader");
    kt_cluster *kt = own_cluster(state, topic);
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){0});
    assert_non_null(w);
    kafka_message first[3] = {to_partition(0, "a0"), to_partition(1, "a1"), to_partition(2, "a2")};
    assert_int_equal(kafka_writer_write_messages(w, first, 3, NULL, 30000), 0);

    int32_t parts[3] = {0, 1, 2};
    kafka_reader_config rc = {.brokers = kt_cluster_bootstrap(kt),
                              .topic = topic,
                              .partitions = parts,
                              .n_partitions = 3,
                              .max_wait_ms = 100,
                              .backoff_min_ms = 20,
                              .backoff_max_ms = 200};
    if (getenv("KT_LOG")) {
        rc.log = log_cb;
        rc.log_level = KAFKA_LOG_DEBUG;
    }
    kafka_reader *r = NULL;
    char eb[256] = "";
    assert_int_equal(kafka_reader_new(&r, &rc, eb, sizeof eb), 0);
    /* Steady state: every partition read once, every leader known. */
    int seen_first[3] = {0};
    for (int i = 0; i < 3; i++) {
        kafka_message m;
        assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
        assert_true(m.partition >= 0 && m.partition < 3);
        seen_first[m.partition]++;
    }
    assert_int_equal(seen_first[0] + seen_first[1] + seen_first[2], 3);
    for (int p = 0; p < 3; p++)
        assert_int_equal(seen_first[p], 1);

    slow_metadata(kt);
    assert_int_equal(kt_cluster_cmd(kt, "broker_error 1 Fetch NOT_LEADER_OR_FOLLOWER"), 0);
    /* Partition 0's Fetch failed, and after its backoff the refresh of
     * its leader reached a broker, which holds the answer back. */
    wait_served(kt, 1, "Fetch");
    for (int i = 0; i < 30000 && slow_metadata_left(kt) == 3; i++)
        usleep(1000);
    assert_true(slow_metadata_left(kt) < 3);
    /* Partition 0 has a message waiting for that refresh. The writer
     * knows its leaders: nothing it sends needs Metadata. */
    kafka_message b0 = to_partition(0, "b0");
    assert_int_equal(kafka_writer_write_messages(w, &b0, 1, NULL, 30000), 0);
    /* Round trips through the fast brokers, one message at a time: each
     * is read before partition 0 moves. (An I/O thread blocked on the
     * refresh reads none of them until it is over, and then partition
     * 0's message comes among them.) */
    for (int i = 0; i < PING_PONGS; i++) {
        kafka_message ping = to_partition(1 + i % 2, "ping");
        assert_int_equal(kafka_writer_write_messages(w, &ping, 1, NULL, 30000), 0);
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 30000);
        if (e)
            fail_msg("ping %d: %s", i, kafka_err_name(e));
        if (m.partition != 1 + i % 2)
            fail_msg("ping %d: partition %d came first", i, (int)m.partition);
    }
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
    assert_int_equal(m.partition, 0);
    assert_int_equal(m.value_len, 2);
    assert_memory_equal(m.value, "b0", 2);
    assert_int_equal(kafka_reader_close(r), 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(kt_cluster_stop(kt), 0);
    free(topic);
}

/* Completion order of the writer's batches. */
typedef struct order {
    atomic_int next;
    atomic_int slow_at; /* completion number of partition 0's message */
    atomic_int fast_done;
    atomic_int errors;
} order;

static void on_done(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    order *o = priv;
    for (size_t i = 0; i < n; i++) {
        int at = atomic_fetch_add(&o->next, 1);
        if (err)
            atomic_fetch_add(&o->errors, 1);
        else if (msgs[i].partition == 0)
            atomic_store(&o->slow_at, at);
        else
            atomic_fetch_add(&o->fast_done, 1);
    }
}

/* An asynchronous writer: partition 0's Produce is answered
 * NOT_LEADER_OR_FOLLOWER, so it waits for a (slow) refresh; the messages
 * written to partitions 1 and 2 meanwhile all complete before it. */
static void test_writer_flows_during_slow_refresh(void **state)
{
    char *topic = kt_unique_topic("meta-writer");
    kt_cluster *kt = own_cluster(state, topic);
    order o;
    atomic_init(&o.next, 0);
    atomic_init(&o.slow_at, -1);
    atomic_init(&o.fast_done, 0);
    atomic_init(&o.errors, 0);
    kafka_writer *w = kt_writer_new(
        kt, topic,
        (kafka_writer_config){
            .async = true, .batch_timeout_ms = 1, .completion = on_done, .completion_privdata = &o});
    assert_non_null(w);
    /* Learn the leaders (and the producer id) first. */
    kafka_message warm[3] = {to_partition(0, "a0"), to_partition(1, "a1"), to_partition(2, "a2")};
    assert_int_equal(kafka_writer_write_messages(w, warm, 3, NULL, 30000), 0);
    assert_int_equal(kafka_writer_flush(w, 30000), 0);
    assert_int_equal(atomic_load(&o.errors), 0);
    atomic_store(&o.next, 0);
    atomic_store(&o.slow_at, -1);
    atomic_store(&o.fast_done, 0);

    slow_metadata(kt);
    assert_int_equal(kt_cluster_cmd(kt, "broker_error 1 Produce NOT_LEADER_OR_FOLLOWER"), 0);
    kafka_message slow = to_partition(0, "b0");
    assert_int_equal(kafka_writer_write_messages(w, &slow, 1, NULL, 30000), 0);
    /* Wait until that first attempt failed (the retry is counted). */
    kafka_writer_stats st = {0};
    for (int i = 0; i < 3000 && st.retries == 0; i++) {
        usleep(1000);
        kafka_writer_stats_get(w, &st);
    }
    assert_true(st.retries >= 1);
    kafka_message fast[2 * N_FAST];
    for (int i = 0; i < N_FAST; i++) {
        fast[2 * i] = to_partition(1, "b1");
        fast[2 * i + 1] = to_partition(2, "b2");
    }
    assert_int_equal(kafka_writer_write_messages(w, fast, 2 * N_FAST, NULL, 30000), 0);
    assert_int_equal(kafka_writer_flush(w, 30000), 0);
    assert_int_equal(atomic_load(&o.errors), 0);
    assert_int_equal(atomic_load(&o.fast_done), 2 * N_FAST);
    /* Partition 0's message completed last: after every fast one. */
    assert_int_equal(atomic_load(&o.slow_at), 2 * N_FAST);
    assert_true(slow_metadata_left(kt) < 3);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(kt_cluster_stop(kt), 0);
    free(topic);
}

/* ---- InitProducerId through the engine --------------------------------- */

typedef struct logs {
    atomic_int idempotence_off;
} logs;

static void count_log(void *priv, kafka_log_level lvl, const char *msg)
{
    logs *l = priv;
    if (lvl == KAFKA_LOG_WARN && strstr(msg, "idempotence off"))
        atomic_fetch_add(&l->idempotence_off, 1);
    if (getenv("KT_LOG"))
        fprintf(stderr, "[writer %d] %s\n", (int)lvl, msg);
}

/* A message to each partition, written (synchronously) with success. */
static void write_one_each(kafka_writer *w, kafka_writer_stats *st)
{
    kafka_message m[3] = {to_partition(0, "x"), to_partition(1, "y"), to_partition(2, "z")};
    assert_int_equal(kafka_writer_write_messages(w, m, 3, NULL, 30000), 0);
    kafka_writer_stats_get(w, st);
}

static void finish(kafka_writer *w, kt_cluster *kt, char *topic)
{
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(kt_cluster_stop(kt), 0);
    free(topic);
}

/* A cluster whose brokers lack InitProducerId: the writer writes without
 * idempotence, says so once with a WARN, and every message arrives. */
static void test_no_init_producer_id(void **state)
{
    char *topic = kt_unique_topic("meta-nopid");
    kt_cluster *kt = own_cluster(state, topic);
    assert_int_equal(kt_cluster_cmd(kt, "apiversion InitProducerId -1 -1"), 0);
    logs l;
    atomic_init(&l.idempotence_off, 0);
    kafka_writer *w = kt_writer_new(
        kt, topic,
        (kafka_writer_config){.log = count_log, .log_privdata = &l, .log_level = KAFKA_LOG_DEBUG});
    assert_non_null(w);
    kafka_writer_stats st;
    write_one_each(w, &st);
    assert_false(st.idempotent);
    assert_int_equal(st.messages, 3);
    assert_int_equal(atomic_load(&l.idempotence_off), 1);
    finish(w, kt, topic);
}

/* InitProducerId answered with a retriable error twice: the batches wait
 * for the id (nothing is sent without one), the failure is the writer's
 * last error, and the write succeeds once the id comes. */
static void test_init_producer_id_retried(void **state)
{
    char *topic = kt_unique_topic("meta-pid");
    kt_cluster *kt = own_cluster(state, topic);
    assert_int_equal(kt_cluster_cmd(kt, "error InitProducerId COORDINATOR_NOT_AVAILABLE COORDINATOR_NOT_AVAILABLE"),
                     0);
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){0});
    assert_non_null(w);
    kafka_writer_stats st;
    write_one_each(w, &st);
    assert_true(st.idempotent);
    char text[512] = "";
    kafka_writer_last_error(w, text, sizeof text);
    print_message("last error: %s\n", text);
    assert_non_null(strstr(text, "InitProducerId"));
    assert_non_null(strstr(text, "COORDINATOR_NOT_AVAILABLE"));
    finish(w, kt, topic);
}

/* A refused InitProducerId (not retriable) fails the waiting messages
 * with that error, and says why. */
static void test_init_producer_id_refused(void **state)
{
    char *topic = kt_unique_topic("meta-pid-refused");
    kt_cluster *kt = own_cluster(state, topic);
    assert_int_equal(kt_cluster_cmd(kt, "error InitProducerId CLUSTER_AUTHORIZATION_FAILED"), 0);
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){0});
    assert_non_null(w);
    kafka_message m = to_partition(0, "x");
    kafka_err err = 0;
    kafka_writer_write_messages(w, &m, 1, &err, 30000);
    assert_int_equal(err, KAFKA_ERR_CLUSTER_AUTHORIZATION_FAILED);
    char text[512] = "";
    kafka_writer_last_error(w, text, sizeof text);
    assert_non_null(strstr(text, "InitProducerId"));
    kafka_writer_close(w, 10000);
    assert_int_equal(kt_cluster_stop(kt), 0);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_flows_during_slow_refresh),
        cmocka_unit_test(test_writer_flows_during_slow_refresh),
        cmocka_unit_test(test_no_init_producer_id),
        cmocka_unit_test(test_init_producer_id_retried),
        cmocka_unit_test(test_init_producer_id_refused),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
