/* kafka_admin_list_offsets against the test broker: a 3-partition topic
 * whose partitions are led by three different brokers (so the call splits
 * into three ListOffsets and merges the answers) holding 5, 3 and 0
 * messages produced by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_util.h"
#include "kafka/admin.h"
#include "kafka/conn.h"
#include "test_cluster.h"

static void test_end_and_start_offsets(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_filled_topic(kt, "admin-offsets");
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offsets *o = NULL;
    kafka_admin_tp all = {topic, -1};
    assert_int_equal(kafka_admin_list_offsets(a, &all, 1, KAFKA_ADMIN_OFFSET_LATEST, 10000, &o), 0);
    assert_int_equal(o->n, 3);
    const int64_t want_end[] = {5, 3, 0};
    for (int p = 0; p < 3; p++) {
        assert_string_equal(o->offsets[p].topic, topic);
        assert_int_equal(o->offsets[p].partition, p);
        assert_int_equal(o->offsets[p].err, 0);
        assert_int_equal(o->offsets[p].offset, want_end[p]);
    }
    kafka_admin_offsets_free(o);

    assert_int_equal(kafka_admin_list_offsets(a, &all, 1, KAFKA_ADMIN_OFFSET_EARLIEST, 10000, &o), 0);
    assert_int_equal(o->n, 3);
    for (int p = 0; p < 3; p++)
        assert_int_equal(o->offsets[p].offset, 0);
    kafka_admin_offsets_free(o);

    /* explicit partitions, out of order and repeated: sorted, deduplicated */
    kafka_admin_tp some[] = {{topic, 1}, {topic, 0}, {topic, 1}};
    assert_int_equal(kafka_admin_list_offsets(a, some, 3, KAFKA_ADMIN_OFFSET_LATEST, 10000, &o), 0);
    assert_int_equal(o->n, 2);
    assert_int_equal(o->offsets[0].partition, 0);
    assert_int_equal(o->offsets[0].offset, 5);
    assert_int_equal(o->offsets[1].partition, 1);
    assert_int_equal(o->offsets[1].offset, 3);
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    free(topic);
}

static void test_unknown_partitions_are_item_errors(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_filled_topic(kt, "admin-offsets");
    char *unknown = kt_unique_topic("admin-nope");
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offsets *o = NULL;
    kafka_admin_tp parts[] = {{topic, 0}, {topic, 7}, {unknown, 0}};
    assert_int_equal(kafka_admin_list_offsets(a, parts, 3, KAFKA_ADMIN_OFFSET_LATEST, 10000, &o),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_non_null(o);
    assert_int_equal(o->n, 3);
    for (size_t i = 0; i < o->n; i++) {
        const kafka_admin_offset *x = &o->offsets[i];
        if (strcmp(x->topic, topic) == 0 && x->partition == 0) {
            assert_int_equal(x->err, 0);
            assert_int_equal(x->offset, 5);
        } else {
            assert_int_equal(x->err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        }
    }
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    free(unknown);
    free(topic);
}

static void test_offsets_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offsets *o = (kafka_admin_offsets *)1;
    kafka_admin_tp neg = {"t", -2}, empty = {"", 0}, null_topic = {NULL, 0}, ok = {"t", 0};
    assert_int_equal(kafka_admin_list_offsets(a, &neg, 1, KAFKA_ADMIN_OFFSET_LATEST, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_null(o);
    assert_int_equal(kafka_admin_list_offsets(a, &empty, 1, KAFKA_ADMIN_OFFSET_LATEST, 1000, &o),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_offsets(a, &null_topic, 1, KAFKA_ADMIN_OFFSET_LATEST, 1000, &o),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_offsets(a, &ok, 0, KAFKA_ADMIN_OFFSET_LATEST, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_offsets(a, &ok, 1, -4, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_offsets(a, &ok, 1, KAFKA_ADMIN_OFFSET_LATEST, 1000, NULL),
                     KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

/* Three messages stamped 1000, 3000, 2000 ms on a fresh partition:
 * offsets 0, 1, 2. */
static char *stamped_topic(kt_cluster *kt)
{
    char *topic = kt_unique_topic("admin-stamped");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000), 0);
    kafka_conn_set_timeout(c, 10000);
    kafka_message in[3] = {
        {.value = "a", .value_len = 1, .timestamp_ms = 1000},
        {.value = "b", .value_len = 1, .timestamp_ms = 3000},
        {.value = "c", .value_len = 1, .timestamp_ms = 2000},
    };
    assert_int_equal(kafka_conn_write_messages(c, in, 3, NULL, NULL), 0);
    kafka_conn_close(c);
    return topic;
}

/* By timestamp: the first offset whose timestamp is >= the time. The
 * librdkafka mock answers -1 for every timestamp lookup (see
 * test_conn_offsets.c), so this is skipped there. */
static void test_by_timestamp(void **state)
{
    kt_cluster *kt = *state;
    if (kt_cluster_is_mock(kt) && kt_cluster_kind(kt) == KT_BROKER_RDKAFKA) {
        print_message("skipped: librdkafka's mock does not implement ListOffsets by timestamp\n");
        skip();
    }
    kafka_admin *a = kt_admin_new(kt);
    char *topic = stamped_topic(kt);
    kafka_admin_offsets *o = NULL;
    kafka_admin_tp p0 = {topic, 0};
    assert_int_equal(kafka_admin_list_offsets(a, &p0, 1, 2500, 10000, &o), 0);
    assert_int_equal(o->offsets[0].offset, 1);
    assert_int_equal(o->offsets[0].timestamp, 3000);
    kafka_admin_offsets_free(o);
    assert_int_equal(kafka_admin_list_offsets(a, &p0, 1, 3001, 10000, &o), 0);
    assert_int_equal(o->offsets[0].offset, -1);
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    free(topic);
}

/* MAX_TIMESTAMP needs ListOffsets v7; the mock stops at v5 and the call
 * says so (NO_COMMON_VERSION), which is checked before skipping. */
static void test_max_timestamp(void **state)
{
    kt_cluster *kt = *state;
    char *topic = stamped_topic(kt);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offsets *o = NULL;
    kafka_admin_tp p0 = {topic, 0};
    kafka_err err = kafka_admin_list_offsets(a, &p0, 1, KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP, 10000, &o);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(o);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "ListOffsets v7 (max timestamp)");
    assert_int_equal(err, 0);
    assert_int_equal(o->offsets[0].offset, 1);
    assert_int_equal(o->offsets[0].timestamp, 3000);
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    free(topic);
}

/* DeleteRecords (needs a broker that has it: Kafka, not librdkafka's mock):
 * deleting before offset 2 of partition 0 moves its log start to 2. */
static void test_delete_records(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_filled_topic(kt, "admin-offsets");
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offset_spec del = {topic, 0, 2};
    kafka_admin_offsets *o = NULL;
    kafka_err err = kafka_admin_delete_records(a, &del, 1, 10000, &o);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(o);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DeleteRecords");
    assert_int_equal(err, 0);
    assert_int_equal(o->n, 1);
    assert_int_equal(o->offsets[0].offset, 2);
    kafka_admin_offsets_free(o);
    kafka_admin_tp p0 = {topic, 0};
    assert_int_equal(kafka_admin_list_offsets(a, &p0, 1, KAFKA_ADMIN_OFFSET_EARLIEST, 10000, &o), 0);
    assert_int_equal(o->offsets[0].offset, 2);
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    free(topic);
}

static void test_delete_records_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offsets *o = (kafka_admin_offsets *)1;
    kafka_admin_offset_spec bad[] = {{"", 0, 1}, {NULL, 0, 1}, {"t", -1, 1}, {"t", 0, -2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_delete_records(a, &bad[i], 1, 1000, &o), KAFKA_ERR_INVALID_ARG);
        assert_null(o);
    }
    kafka_admin_offset_spec twice[] = {{"t", 0, 1}, {"t", 0, 2}};
    assert_int_equal(kafka_admin_delete_records(a, twice, 2, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_records(a, twice, 0, 1000, &o), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_and_start_offsets),
        cmocka_unit_test(test_unknown_partitions_are_item_errors),
        cmocka_unit_test(test_offsets_bad_input),
        cmocka_unit_test(test_by_timestamp),
        cmocka_unit_test(test_max_timestamp),
        cmocka_unit_test(test_delete_records),
        cmocka_unit_test(test_delete_records_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
