/* kafka_admin consumer-group calls against the test broker.
 *
 * The lag test builds a real group: the test produces 5, 3 and 0
 * messages to a 3-partition topic, a kafka_reader in group mode reads 6
 * of them (committing each), and the admin client must then report end
 * offsets 5/3/0, committed offsets that add up to 6 and a total lag of 2.
 * librdkafka's mock has OffsetFetch/OffsetCommit but no ListGroups,
 * DescribeGroups, DeleteGroups or OffsetDelete: those tests check the
 * call says NO_COMMON_VERSION and are reported as skipped. Its OffsetFetch
 * v2+ answers a request for "every committed partition" (null topics)
 * with a null topic array, which the protocol does not allow, so the
 * setup restricts it to OffsetFetch v0-v1 there: the admin client then
 * asks for every partition of every topic, as it does with brokers older
 * than Kafka 0.10.2. */
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
#include "kafka/reader.h"
#include "test_cluster.h"

static void require_groups(kt_cluster *kt)
{
    if (!kt_has_groups(kt)) {
        print_message("skipped: the test broker has no consumer groups\n");
        skip();
    }
}

static kafka_reader *group_reader(kt_cluster *kt, const char *topic, const char *group)
{
    kafka_reader_config c = {
        .brokers = kt_cluster_bootstrap(kt),
        .topic = topic,
        .group_id = group,
        .max_wait_ms = 300,
        .session_timeout_ms = 6000,
        .rebalance_timeout_ms = 10000,
        .heartbeat_interval_ms = 300,
        .backoff_min_ms = 50,
        .backoff_max_ms = 500,
        .close_timeout_ms = 5000,
    };
    kafka_reader *r = NULL;
    char err[256] = "";
    if (kafka_reader_new(&r, &c, err, sizeof err))
        fail_msg("kafka_reader_new: %s", err);
    return r;
}

/* Reads n messages with synchronous commits; returns the reader open. */
static kafka_reader *consume_n(kt_cluster *kt, const char *topic, const char *group, int n)
{
    kafka_reader *r = group_reader(kt, topic, group);
    for (int i = 0; i < n; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 30000);
        if (e) {
            char msg[256];
            kafka_reader_last_error(r, msg, sizeof msg);
            fail_msg("read %d: %s: %s", i, kafka_err_name(e), msg);
        }
    }
    return r;
}

static void test_group_lag(void **state)
{
    kt_cluster *kt = *state;
    require_groups(kt);
    char *topic = kt_filled_topic(kt, "admin-groups");
    char *group = kt_unique_topic("lag-group");
    kafka_reader *r = consume_n(kt, topic, group, 6);
    assert_int_equal(kafka_reader_close(r), 0);

    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_group_lag *lag = NULL;
    assert_int_equal(kafka_admin_lag(a, group, 10000, &lag), 0);
    assert_string_equal(lag->group, group);
    assert_int_equal(lag->n, 3); /* every partition of the topic committed to */
    const int64_t want_end[] = {5, 3, 0};
    int64_t committed_sum = 0;
    for (int p = 0; p < 3; p++) {
        const kafka_admin_partition_lag *x = &lag->partitions[p];
        assert_string_equal(x->topic, topic);
        assert_int_equal(x->partition, p);
        assert_int_equal(x->err, 0);
        assert_int_equal(x->end, want_end[p]);
        assert_int_equal(x->start, 0);
        int64_t from = x->committed >= 0 ? x->committed : 0;
        assert_true(from <= x->end);
        assert_int_equal(x->lag, x->end - from);
        committed_sum += from;
    }
    assert_int_equal(committed_sum, 6);
    assert_int_equal(lag->total, 2);
    kafka_admin_group_lag_free(lag);

    /* the same commits through fetch_offsets */
    kafka_admin_group_offsets *o = NULL;
    assert_int_equal(kafka_admin_fetch_offsets(a, group, 10000, &o), 0);
    int64_t sum = 0;
    for (size_t i = 0; i < o->n; i++) {
        assert_string_equal(o->offsets[i].topic, topic);
        assert_int_equal(o->offsets[i].err, 0);
        if (i)
            assert_true(o->offsets[i - 1].partition < o->offsets[i].partition);
        sum += o->offsets[i].offset > 0 ? o->offsets[i].offset : 0;
    }
    assert_int_equal(sum, 6);
    kafka_admin_group_offsets_free(o);

    /* a group that never committed: no partitions, no lag */
    char *nobody = kt_unique_topic("lag-nobody");
    assert_int_equal(kafka_admin_lag(a, nobody, 10000, &lag), 0);
    assert_int_equal(lag->n, 0);
    assert_int_equal(lag->total, 0);
    kafka_admin_group_lag_free(lag);
    free(nobody);

    kafka_admin_close(a);
    free(group);
    free(topic);
}

static void test_alter_and_reset_offsets(void **state)
{
    kt_cluster *kt = *state;
    require_groups(kt);
    char *topic = kt_filled_topic(kt, "admin-groups");
    char *group = kt_unique_topic("alter-group");
    kafka_admin *a = kt_admin_new(kt);

    kafka_admin_offset_spec specs[] = {{topic, 0, 2}, {topic, 1, 1}};
    kafka_admin_group_offsets *o = NULL;
    assert_int_equal(kafka_admin_alter_offsets(a, group, specs, 2, 10000, &o), 0);
    assert_int_equal(o->n, 2);
    assert_int_equal(o->offsets[0].err, 0);
    assert_int_equal(o->offsets[0].offset, 2);
    kafka_admin_group_offsets_free(o);

    kafka_admin_group_lag *lag = NULL;
    assert_int_equal(kafka_admin_lag(a, group, 10000, &lag), 0);
    /* p0: 5-2, p1: 3-1, p2: no commit, empty: 0 */
    assert_int_equal(lag->n, 3);
    assert_int_equal(lag->partitions[0].committed, 2);
    assert_int_equal(lag->partitions[0].lag, 3);
    assert_int_equal(lag->partitions[1].lag, 2);
    assert_int_equal(lag->partitions[2].committed, -1);
    assert_int_equal(lag->partitions[2].lag, 0);
    assert_int_equal(lag->total, 5);
    kafka_admin_group_lag_free(lag);

    kafka_admin_tp all = {topic, -1};
    assert_int_equal(kafka_admin_reset_offsets(a, group, &all, 1, KAFKA_ADMIN_OFFSET_LATEST, 10000, &o), 0);
    assert_int_equal(o->n, 3);
    assert_int_equal(o->offsets[0].offset, 5);
    assert_int_equal(o->offsets[1].offset, 3);
    assert_int_equal(o->offsets[2].offset, 0);
    kafka_admin_group_offsets_free(o);
    assert_int_equal(kafka_admin_lag(a, group, 10000, &lag), 0);
    assert_int_equal(lag->total, 0);
    kafka_admin_group_lag_free(lag);

    assert_int_equal(kafka_admin_reset_offsets(a, group, &all, 1, KAFKA_ADMIN_OFFSET_EARLIEST, 10000, &o), 0);
    kafka_admin_group_offsets_free(o);
    assert_int_equal(kafka_admin_lag(a, group, 10000, &lag), 0);
    assert_int_equal(lag->total, 8);
    kafka_admin_group_lag_free(lag);

    kafka_admin_close(a);
    free(group);
    free(topic);
}

/* Offsets of a group with a live member cannot be altered. */
static void test_alter_offsets_needs_empty_group(void **state)
{
    kt_cluster *kt = *state;
    require_groups(kt);
    char *topic = kt_filled_topic(kt, "admin-groups");
    char *group = kt_unique_topic("busy-group");
    kafka_reader *r = consume_n(kt, topic, group, 1);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_groups *g = NULL;
    kafka_err err = kafka_admin_describe_groups(a, (const char *const[]){group}, 1, 10000, &g);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        kafka_reader_close(r);
        free(group);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeGroups");
    assert_int_equal(err, 0);
    assert_string_equal(g->groups[0].state, "Stable");
    assert_int_equal(g->groups[0].n_members, 1);
    assert_string_equal(g->groups[0].protocol_type, "consumer");
    assert_string_equal(g->groups[0].type, "classic"); /* our reader joins with the classic protocol */
    assert_int_equal(g->groups[0].members[0].n_assigned, 3); /* decoded assignment: all 3 partitions */
    assert_string_equal(g->groups[0].members[0].assigned[0].topic, topic);
    assert_int_equal(g->groups[0].members[0].n_subscribed, 1);
    kafka_admin_groups_free(g);

    kafka_admin_offset_spec spec = {topic, 0, 0};
    kafka_admin_group_offsets *o = (kafka_admin_group_offsets *)1;
    assert_int_equal(kafka_admin_alter_offsets(a, group, &spec, 1, 10000, &o), KAFKA_ERR_NON_EMPTY_GROUP);
    assert_null(o);
    kafka_admin_tp all = {topic, -1};
    assert_int_equal(kafka_admin_reset_offsets(a, group, &all, 1, KAFKA_ADMIN_OFFSET_EARLIEST, 10000, &o),
                     KAFKA_ERR_NON_EMPTY_GROUP);

    kafka_admin_group_list *l = NULL;
    assert_int_equal(kafka_admin_list_groups(a, NULL, 0, NULL, 0, 10000, &l), 0);
    bool listed = false;
    for (size_t i = 0; i < l->n; i++)
        listed |= strcmp(l->groups[i].group, group) == 0;
    assert_true(listed);
    kafka_admin_group_list_free(l);
    /* the state filter (ListGroups v4+): listed as Stable, not as Empty */
    kafka_err lerr = kafka_admin_list_groups(a, (const char *const[]){"Empty"}, 1, NULL, 0, 10000, &l);
    if (lerr != KAFKA_ERR_NO_COMMON_VERSION) {
        assert_int_equal(lerr, 0);
        for (size_t i = 0; i < l->n; i++)
            assert_string_not_equal(l->groups[i].group, group);
        kafka_admin_group_list_free(l);
        assert_int_equal(kafka_admin_list_groups(a, (const char *const[]){"Stable"}, 1, NULL, 0, 10000, &l), 0);
        listed = false;
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->groups[i].group, group) == 0) {
                listed = true;
                assert_string_equal(l->groups[i].state, "Stable");
            }
        assert_true(listed);
        kafka_admin_group_list_free(l);
    }

    /* lag with a live member: each partition names its owner */
    kafka_admin_group_lag *lag = NULL;
    assert_int_equal(kafka_admin_lag(a, group, 10000, &lag), 0);
    assert_string_equal(lag->state, "Stable");
    assert_int_equal(lag->n, 3);
    for (size_t i = 0; i < lag->n; i++)
        assert_non_null(lag->partitions[i].member_id);
    kafka_admin_group_lag_free(lag);

    kafka_admin_group_results *dr = NULL;
    assert_int_equal(kafka_admin_delete_groups(a, (const char *const[]){group}, 1, 10000, &dr),
                     KAFKA_ERR_NON_EMPTY_GROUP);
    kafka_admin_group_results_free(dr);
    assert_int_equal(kafka_reader_close(r), 0);
    assert_int_equal(kafka_admin_delete_groups(a, (const char *const[]){group}, 1, 10000, &dr), 0);
    kafka_admin_group_results_free(dr);
    assert_int_equal(kafka_admin_describe_groups(a, (const char *const[]){group}, 1, 10000, &g),
                     KAFKA_ERR_GROUP_ID_NOT_FOUND);
    kafka_admin_groups_free(g);
    kafka_admin_close(a);
    free(group);
    free(topic);
}

static void test_delete_offsets(void **state)
{
    kt_cluster *kt = *state;
    require_groups(kt);
    char *topic = kt_filled_topic(kt, "admin-groups");
    char *group = kt_unique_topic("del-offsets");
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_offset_spec specs[] = {{topic, 0, 2}, {topic, 1, 1}};
    kafka_admin_group_offsets *o = NULL;
    assert_int_equal(kafka_admin_alter_offsets(a, group, specs, 2, 10000, &o), 0);
    kafka_admin_group_offsets_free(o);
    kafka_admin_tp p0 = {topic, 0};
    kafka_err err = kafka_admin_delete_offsets(a, group, &p0, 1, 10000, &o);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(group);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "OffsetDelete");
    assert_int_equal(err, 0);
    kafka_admin_group_offsets_free(o);
    assert_int_equal(kafka_admin_fetch_offsets(a, group, 10000, &o), 0);
    assert_int_equal(o->n, 1);
    assert_int_equal(o->offsets[0].partition, 1);
    kafka_admin_group_offsets_free(o);
    kafka_admin_close(a);
    free(group);
    free(topic);
}

static void test_group_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_group_offsets *o = (kafka_admin_group_offsets *)1;
    kafka_admin_group_lag *lag = (kafka_admin_group_lag *)1;
    kafka_admin_groups *g = (kafka_admin_groups *)1;
    kafka_admin_group_results *r = NULL;
    kafka_admin_group_list *l = NULL;
    assert_int_equal(kafka_admin_lag(a, "", 1000, &lag), KAFKA_ERR_INVALID_ARG);
    assert_null(lag);
    assert_int_equal(kafka_admin_lag(a, NULL, 1000, &lag), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_fetch_offsets(a, "", 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_null(o);
    assert_int_equal(kafka_admin_describe_groups(a, (const char *const[]){""}, 1, 1000, &g), KAFKA_ERR_INVALID_ARG);
    assert_null(g);
    assert_int_equal(kafka_admin_describe_groups(a, (const char *const[]){"g", "g"}, 2, 1000, &g),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_groups(a, NULL, 0, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_groups(a, (const char *const[]){""}, 1, NULL, 0, 1000, &l),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_list_groups(a, NULL, 1, NULL, 0, 1000, &l), KAFKA_ERR_INVALID_ARG);

    kafka_admin_offset_spec neg_off = {"t", 0, -1}, neg_part = {"t", -1, 0}, no_topic = {"", 0, 0};
    assert_int_equal(kafka_admin_alter_offsets(a, "g", &neg_off, 1, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_alter_offsets(a, "g", &neg_part, 1, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_alter_offsets(a, "g", &no_topic, 1, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_alter_offsets(a, "g", &neg_off, 0, 1000, &o), KAFKA_ERR_INVALID_ARG);
    kafka_admin_offset_spec twice[] = {{"t", 0, 1}, {"t", 0, 2}};
    assert_int_equal(kafka_admin_alter_offsets(a, "g", twice, 2, 1000, &o), KAFKA_ERR_INVALID_ARG);
    kafka_admin_tp all = {"t", -1}, bad = {"t", -5};
    assert_int_equal(kafka_admin_reset_offsets(a, "g", &all, 1, -7, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_offsets(a, "g", &all, 1, 1000, &o), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_offsets(a, "g", &bad, 1, 1000, &o), KAFKA_ERR_INVALID_ARG);

    /* resetting a topic that does not exist: an item error, nothing committed */
    char *unknown = kt_unique_topic("admin-nope");
    kafka_admin_tp u = {unknown, -1};
    assert_int_equal(kafka_admin_reset_offsets(a, "g", &u, 1, KAFKA_ADMIN_OFFSET_LATEST, 5000, &o),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(o);
    free(unknown);
    kafka_admin_close(a);
}

/* A client closed while a call is blocked: the call returns CLOSED (or
 * its own failure), close does not wait for the timeout. */
static void test_unknown_group_describe(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *nobody = kt_unique_topic("nobody");
    kafka_admin_groups *g = NULL;
    kafka_err err = kafka_admin_describe_groups(a, (const char *const[]){nobody}, 1, 10000, &g);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(nobody);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeGroups");
    assert_int_equal(err, KAFKA_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(g->groups[0].err, KAFKA_ERR_GROUP_ID_NOT_FOUND);
    kafka_admin_groups_free(g);
    kafka_admin_group_results *r = NULL;
    assert_int_equal(kafka_admin_delete_groups(a, (const char *const[]){nobody}, 1, 10000, &r),
                     KAFKA_ERR_GROUP_ID_NOT_FOUND);
    kafka_admin_group_results_free(r);
    kafka_admin_close(a);
    free(nobody);
}

static int setup(void **state)
{
    if (kt_cluster_group_setup(state))
        return -1;
    /* librdkafka's mock only: kafka_mock answers the v2+ form correctly */
    if (kt_cluster_is_mock(*state) && kt_cluster_kind(*state) == KT_BROKER_RDKAFKA &&
        kt_cluster_cmd(*state, "apiversion OffsetFetch 0 1") != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_lag),
        cmocka_unit_test(test_alter_and_reset_offsets),
        cmocka_unit_test(test_alter_offsets_needs_empty_group),
        cmocka_unit_test(test_delete_offsets),
        cmocka_unit_test(test_group_bad_input),
        cmocka_unit_test(test_unknown_group_describe),
    };
    return cmocka_run_group_tests(tests, setup, kt_cluster_group_teardown);
}
