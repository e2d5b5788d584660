/*
 * Transactions on kafka_mock checked by librdkafka alone (not our reader):
 * librdkafka's transactional producer commits one transaction, aborts one
 * and commits another; kcat (librdkafka's consumer) with
 * isolation.level=read_committed must see only the committed records, and
 * with read_uncommitted all of them; offsets sent to a transaction become
 * the group's only when it commits. Always against kafka-mock (or the
 * KAFKA_BROKERS cluster): kafka_test_broker's read_committed fetches
 * include aborted records (see test_reader_txn.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "kcat.h"
#include "rdkafka_txn.h"
#include "test_cluster.h"

static char *consume(kt_cluster *kt, const char *topic, const char *isolation)
{
    char iso[64];
    const char *args[] = {"-C", "-q", "-e", "-b", kt_cluster_bootstrap(kt), "-t", topic, "-p", "0", "-o", "beginning",
                          "-X", iso, "-f", "%s ", NULL};
    kt_kcat_result r;
    snprintf(iso, sizeof iso, "isolation.level=%s", isolation);
    if (kt_kcat(args, NULL, 0, 60000, &r) != 0)
        fail_msg("kcat exit %d: %s", r.status, r.err);
    char *out = strdup(r.out);
    kt_kcat_result_free(&r);
    return out;
}

/* A consume-transform-produce step as librdkafka does it: offsets sent to
 * the transaction (AddOffsetsToTxn, TxnOffsetCommit) become the group's
 * committed offsets only when the transaction commits. */
static int64_t committed_offset(kt_cluster *kt, const char *group, const char *topic)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", kt_cluster_bootstrap(kt), errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr), 0);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0);
    assert_int_equal(rd_kafka_committed(c, parts, 30000), 0);
    int64_t off = parts->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(c);
    return off;
}

static void send_offset(rd_kafka_t *rk, const char *group, const char *topic, int64_t offset, bool commit)
{
    kt_rdkafka_check(rd_kafka_begin_transaction(rk), "begin");
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, topic, 0)->offset = offset;
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata_new(group);
    kt_rdkafka_check(rd_kafka_send_offsets_to_transaction(rk, offsets, cgmd, 30000), "send_offsets");
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    rd_kafka_topic_partition_list_destroy(offsets);
    kt_rdkafka_check(commit ? rd_kafka_commit_transaction(rk, 30000) : rd_kafka_abort_transaction(rk, 30000), "end");
}

static void test_offsets_in_transactions(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("mock-txn-offsets");
    char *group = kt_unique_topic("mock-txn-group");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 0), 0);
    rd_kafka_t *rk = kt_rdkafka_txn_producer(kt_cluster_bootstrap(kt), group);
    send_offset(rk, group, topic, 42, true);
    assert_int_equal(committed_offset(kt, group, topic), 42);
    send_offset(rk, group, topic, 99, false); /* aborted: stays at 42 */
    assert_int_equal(committed_offset(kt, group, topic), 42);
    rd_kafka_destroy(rk);
    free(topic);
    free(group);
}

static void test_read_committed_by_librdkafka(void **state)
{
    kt_cluster *kt = *state;
    if (kt_kcat_path() == NULL) {
        print_message("skipped: kcat not found\n");
        skip();
    }
    char *topic = kt_unique_topic("mock-txn");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 0), 0);
    rd_kafka_t *rk = kt_rdkafka_txn_producer(kt_cluster_bootstrap(kt), topic);
    kt_rdkafka_txn(rk, topic, "c", 3, true);
    kt_rdkafka_txn(rk, topic, "a", 2, false);
    kt_rdkafka_txn(rk, topic, "d", 2, true);
    rd_kafka_destroy(rk);

    char *committed = consume(kt, topic, "read_committed");
    assert_string_equal(committed, "c0 c1 c2 d0 d1 ");
    char *all = consume(kt, topic, "read_uncommitted");
    assert_string_equal(all, "c0 c1 c2 a0 a1 d0 d1 ");
    free(committed);
    free(all);
    free(topic);
}

static int setup(void **state)
{
    *state = kt_cluster_start_kind(KT_BROKER_KAFKA_MOCK, 3);
    return *state ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_read_committed_by_librdkafka),
                                       cmocka_unit_test(test_offsets_in_transactions)};
    return cmocka_run_group_tests(tests, setup, kt_cluster_group_teardown);
}
