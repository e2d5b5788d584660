/* kafka_conn_read_offsets and kafka_conn_read_offset_at against the test
 * broker. Expected values come from what the test produced: three
 * messages with explicit create timestamps 1000, 2000, 3000 ms on a fresh
 * partition get offsets 0, 1, 2, so
 *   read_offsets        -> first 0, last (high-water mark) 3
 *   read_offset_at(1500) -> 1 (first message with timestamp >= 1500)
 *   read_offset_at(1000) -> 0, (3000) -> 2, (3001) -> -1 (Kafka: none).
 * librdkafka 2.0.2's mock broker does not implement timestamp lookups (its
 * ListOffsets handler answers -1 for any timestamp >= 0), so the
 * timestamp test runs only against a real cluster (KAFKA_BROKERS) and is
 * reported as skipped on the mock; tests/unit/test_conn_offsets.c checks
 * the same call's request and response bytes with a scripted peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/conn.h"
#include "test_cluster.h"

static int setup(void **state)
{
    kt_cluster *kt = kt_cluster_start(1);
    if (!kt)
        return -1;
    *state = kt;
    return 0;
}

static int teardown(void **state) { return kt_cluster_stop(*state); }

/* A fresh one-partition topic holding three messages stamped 1000, 2000
 * and 3000 ms; returns a conn bound to it. */
static kafka_conn *stamped_partition(kt_cluster *kt, char **topic_out)
{
    char *topic = kt_unique_topic("conn-offsets");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000);
    if (err)
        fail_msg("dial leader: %s: %s", kafka_err_str(err), kafka_dial_last_error());
    kafka_conn_set_timeout(c, 10000);
    kafka_message in[3] = {
        {.value = "a", .value_len = 1, .timestamp_ms = 1000},
        {.value = "b", .value_len = 1, .timestamp_ms = 2000},
        {.value = "c", .value_len = 1, .timestamp_ms = 3000},
    };
    int64_t base = -1;
    err = kafka_conn_write_messages(c, in, 3, NULL, &base);
    if (err)
        fail_msg("produce: %s: %s", kafka_err_str(err), kafka_conn_last_error(c));
    assert_int_equal(base, 0);
    *topic_out = topic;
    return c;
}

static void test_read_offsets(void **state)
{
    kt_cluster *kt = *state;
    char *topic;
    kafka_conn *c = stamped_partition(kt, &topic);
    int64_t first = -7, last = -7;
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 3);

    /* The timestamps went out as given: read them back. */
    kafka_batch *b = NULL;
    assert_int_equal(kafka_conn_read_batch(c, 1, 1 << 20, &b), 0);
    for (int i = 0; i < 3; i++) {
        kafka_message m;
        assert_int_equal(kafka_batch_read_message(b, &m), 0);
        assert_int_equal(m.offset, i);
        assert_int_equal(m.timestamp_ms, 1000 * (i + 1));
    }
    assert_int_equal(kafka_batch_close(b), 0);

    /* More messages move only the last offset. */
    kafka_message more = {.value = "d", .value_len = 1};
    assert_int_equal(kafka_conn_write_messages(c, &more, 1, NULL, NULL), 0);
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 4);

    /* Argument checks do not touch the conn. */
    assert_int_equal(kafka_conn_read_offsets(c, NULL, &last), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_conn_read_offsets(c, &first, NULL), KAFKA_ERR_INVALID_ARG);
    int64_t at;
    assert_int_equal(kafka_conn_read_offset_at(c, -5, &at), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(last, 4);
    kafka_conn_close(c);
    free(topic);
}

static void test_offsets_unknown_partition(void **state)
{
    kt_cluster *kt = *state;
    char *topic;
    kafka_conn *c = stamped_partition(kt, &topic);
    /* Partition 7 does not exist: the Kafka error comes back as itself and
     * the conn stays usable. */
    assert_int_equal(kafka_conn_bind(c, topic, 7), 0);
    int64_t first = -7, last = -7;
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(kafka_conn_bind(c, topic, 0), 0);
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), 0);
    assert_int_equal(last, 3);
    kafka_conn_close(c);
    free(topic);
}

static void test_unbound_conn(void **state)
{
    kt_cluster *kt = *state;
    const char *boot = kt_cluster_bootstrap(kt);
    char addr[256];
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(boot, ","), boot);
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, addr, NULL, 10000);
    if (err)
        fail_msg("dial %s: %s: %s", addr, kafka_err_str(err), kafka_dial_last_error());
    int64_t first, last, at;
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), KAFKA_ERR_STATE);
    assert_int_equal(kafka_conn_read_offset_at(c, 1500, &at), KAFKA_ERR_STATE);
    assert_non_null(strstr(kafka_conn_last_error(c), "not bound"));
    kafka_conn_close(c);
}

static void test_offset_at_timestamp(void **state)
{
    kt_cluster *kt = *state;
    if (kt_cluster_is_mock(kt) && kt_cluster_kind(kt) == KT_BROKER_RDKAFKA) {
        print_message("skipped: librdkafka's mock broker answers -1 to every timestamp lookup; "
                      "run with KAFKA_TEST_BROKER=kafka_mock or KAFKA_BROKERS set\n");
        skip();
    }
    char *topic;
    kafka_conn *c = stamped_partition(kt, &topic);
    const int64_t ts[] = {0, 1000, 1500, 2000, 2999, 3000, 3001};
    const int64_t want[] = {0, 0, 1, 1, 2, 2, -1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        int64_t at = -7;
        kafka_err err = kafka_conn_read_offset_at(c, ts[i], &at);
        if (err)
            fail_msg("offset at %lld: %s: %s", (long long)ts[i], kafka_err_str(err), kafka_conn_last_error(c));
        if (at != want[i])
            fail_msg("offset at %lld: got %lld, want %lld", (long long)ts[i], (long long)at, (long long)want[i]);
    }
    kafka_conn_close(c);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_offsets),
        cmocka_unit_test(test_offsets_unknown_partition),
        cmocka_unit_test(test_unbound_conn),
        cmocka_unit_test(test_offset_at_timestamp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
