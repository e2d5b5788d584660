/* kafka_admin_elect_leaders, kafka_admin_describe_log_dirs and partition
 * reassignments. librdkafka's mock lacks these APIs: there the calls must
 * say so (NO_COMMON_VERSION) and the checks that need an answer are
 * reported as skipped; kafka-mock answers them, and the tests check the
 * answers against Kafka's semantics (KIP-460 elections, KIP-455
 * reassignments, KIP-113 log dirs). */
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

/* Leader, leader epoch and replicas of topic's partition p (Metadata). */
static void partition_state(kafka_admin *a, const char *topic, int32_t p, int32_t *leader, int32_t *epoch,
                            int32_t *replicas, size_t *n)
{
    kafka_admin_topics *t = NULL;
    assert_int_equal(kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 10000, &t), 0);
    assert_int_equal(t->topics[0].err, 0);
    assert_true((size_t)p < t->topics[0].n_partitions);
    const kafka_admin_partition *part = &t->topics[0].partitions[p];
    *leader = part->leader;
    *epoch = part->leader_epoch;
    assert_true(part->n_replicas <= 3);
    memcpy(replicas, part->replicas, part->n_replicas * sizeof(int32_t));
    *n = part->n_replicas;
    kafka_admin_topics_free(t);
}

/* The result of (topic, p) in an election's results. */
static kafka_err elect_one(kafka_admin *a, const char *topic, int32_t p, kafka_admin_election type)
{
    kafka_admin_tp part = {topic, p};
    kafka_admin_partition_results *r = NULL;
    (void)kafka_admin_elect_leaders(a, &part, 1, type, 10000, &r);
    assert_non_null(r);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->results[0].topic, topic);
    assert_int_equal(r->results[0].partition, p);
    kafka_err err = r->results[0].err;
    kafka_admin_partition_results_free(r);
    return err;
}

/* Preferred election (KIP-460): a fresh partition is led by its first
 * replica (nothing to elect); after its leadership moves elsewhere, the
 * election moves it back with a new leader epoch, and a second election
 * is not needed. Unclean: only a leaderless partition gets one, its first
 * live replica. */
static void test_elect_after_moving_leader(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("admin-elect-move");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_tp part = {topic, 0};
    kafka_admin_partition_results *r = NULL;
    kafka_err err = kafka_admin_elect_leaders(a, &part, 1, KAFKA_ADMIN_ELECT_PREFERRED, 10000, &r);
    kafka_admin_partition_results_free(r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "ElectLeaders");
    int32_t leader, epoch, replicas[3];
    size_t n;
    partition_state(a, topic, 0, &leader, &epoch, replicas, &n);
    assert_int_equal(n, 3);
    assert_int_equal(leader, replicas[0]);
    assert_int_equal(elect_one(a, topic, 0, KAFKA_ADMIN_ELECT_PREFERRED), KAFKA_ERR_ELECTION_NOT_NEEDED);

    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 %d", topic, (int)replicas[1]), 0);
    int32_t moved_epoch, l2, r2[3];
    partition_state(a, topic, 0, &l2, &moved_epoch, r2, &n);
    assert_int_equal(l2, replicas[1]);
    assert_int_equal(elect_one(a, topic, 0, KAFKA_ADMIN_ELECT_PREFERRED), 0);
    int32_t e3;
    partition_state(a, topic, 0, &l2, &e3, r2, &n);
    assert_int_equal(l2, replicas[0]);
    assert_true(e3 > moved_epoch);
    assert_int_equal(elect_one(a, topic, 0, KAFKA_ADMIN_ELECT_PREFERRED), KAFKA_ERR_ELECTION_NOT_NEEDED);

    /* unclean: a led partition needs none; a leaderless one gets its first live replica */
    assert_int_equal(elect_one(a, topic, 0, KAFKA_ADMIN_ELECT_UNCLEAN), KAFKA_ERR_ELECTION_NOT_NEEDED);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 -1", topic), 0);
    assert_int_equal(elect_one(a, topic, 0, KAFKA_ADMIN_ELECT_UNCLEAN), 0);
    partition_state(a, topic, 0, &l2, &e3, r2, &n);
    assert_int_equal(l2, replicas[0]);
    kafka_admin_close(a);
    free(topic);
}

/* The size each broker reports for topic's partition 0 (-1: not listed). */
static void log_dir_sizes(kafka_admin *a, const char *topic, int64_t sizes[3])
{
    kafka_admin_log_dirs *d = NULL;
    assert_int_equal(kafka_admin_describe_log_dirs(a, NULL, 0, 10000, &d), 0);
    assert_int_equal(d->n, 3);
    for (size_t b = 0; b < d->n; b++) {
        int32_t id = d->brokers[b].broker;
        assert_true(id >= 1 && id <= 3);
        assert_int_equal(d->brokers[b].err, 0);
        assert_true(d->brokers[b].n_dirs >= 1);
        sizes[id - 1] = -1;
        for (size_t k = 0; k < d->brokers[b].n_dirs; k++) {
            assert_non_null(d->brokers[b].dirs[k].path);
            assert_true(d->brokers[b].dirs[k].path[0] != '\0');
            for (size_t p = 0; p < d->brokers[b].dirs[k].n_partitions; p++) {
                const kafka_admin_log_dir_partition *lp = &d->brokers[b].dirs[k].partitions[p];
                if (strcmp(lp->topic, topic) == 0 && lp->partition == 0)
                    sizes[id - 1] = lp->size;
            }
        }
    }
    kafka_admin_log_dirs_free(d);
}

/* Every broker holds a replica of a replication-3 partition: each lists it,
 * empty at first, and larger once records are produced (the mock's
 * replicas share one log, so they all see the same size). */
static void test_log_dirs_grow(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-logdirs-grow");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_log_dirs *probe = NULL;
    kafka_err err = kafka_admin_describe_log_dirs(a, (const int32_t[]){1}, 1, 10000, &probe);
    kafka_admin_log_dirs_free(probe);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeLogDirs");
    int64_t before[3], after[3];
    log_dir_sizes(a, topic, before);
    for (int b = 0; b < 3; b++)
        assert_int_equal(before[b], 0);
    kt_produce_n(kt, topic, 0, 5);
    log_dir_sizes(a, topic, after);
    for (int b = 0; b < 3; b++)
        assert_true(after[b] > 0);
    if (kt_cluster_kind(kt) == KT_BROKER_KAFKA_MOCK) {
        assert_int_equal(after[1], after[0]);
        assert_int_equal(after[2], after[0]);
    }
    kafka_admin_close(a);
    free(topic);
}

static int32_t count_of(const int32_t *v, size_t n, int32_t id)
{
    int32_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += v[i] == id;
    return c;
}

/* KIP-455 on kafka-mock, which copies no data: a move that adds a replica
 * stays in progress (listed with the replica being added) until cancelled;
 * cancelling with nothing in progress is NO_REASSIGNMENT_IN_PROGRESS; a
 * move to a subset of the in-sync replicas completes at once, leadership
 * following it. */
static void test_reassign_list_cancel(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    if (kt_cluster_kind(kt) != KT_BROKER_KAFKA_MOCK) {
        print_message("skipped: only kafka-mock keeps a reassignment in progress\n");
        skip();
    }
    char *topic = kt_unique_topic("admin-reassign-move");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 2), 0);
    kafka_admin *a = kt_admin_new(kt);
    int32_t leader, epoch, replicas[3];
    size_t n;
    partition_state(a, topic, 0, &leader, &epoch, replicas, &n);
    assert_int_equal(n, 2);
    int32_t extra = 1;
    while (count_of(replicas, 2, extra))
        extra++;
    const int32_t grown[] = {replicas[0], replicas[1], extra};
    kafka_admin_reassignment m = {.topic = topic, .partition = 0, .replicas = grown, .n_replicas = 3};
    kafka_admin_partition_results *r = NULL;
    assert_int_equal(kafka_admin_alter_reassignments(a, &m, 1, 10000, &r), 0);
    assert_int_equal(r->results[0].err, 0);
    kafka_admin_partition_results_free(r);

    kafka_admin_reassignments *l = NULL;
    kafka_admin_tp all = {topic, -1};
    assert_int_equal(kafka_admin_list_reassignments(a, &all, 1, 10000, &l), 0);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->reassignments[0].topic, topic);
    assert_int_equal(l->reassignments[0].partition, 0);
    assert_int_equal(l->reassignments[0].n_replicas, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(count_of(l->reassignments[0].replicas, 3, grown[i]), 1);
    assert_int_equal(l->reassignments[0].n_adding, 1);
    assert_int_equal(l->reassignments[0].adding[0], extra);
    assert_int_equal(l->reassignments[0].n_removing, 0);
    kafka_admin_reassignments_free(l);

    kafka_admin_reassignment cancel = {.topic = topic, .partition = 0};
    assert_int_equal(kafka_admin_alter_reassignments(a, &cancel, 1, 10000, &r), 0);
    kafka_admin_partition_results_free(r);
    assert_int_equal(kafka_admin_list_reassignments(a, &all, 1, 10000, &l), 0);
    assert_int_equal(l->n, 0);
    kafka_admin_reassignments_free(l);
    (void)kafka_admin_alter_reassignments(a, &cancel, 1, 10000, &r);
    assert_int_equal(r->results[0].err, KAFKA_ERR_NO_REASSIGNMENT_IN_PROGRESS);
    kafka_admin_partition_results_free(r);

    /* to the second replica alone: done at once, and it leads */
    const int32_t shrunk[] = {replicas[1]};
    m = (kafka_admin_reassignment){.topic = topic, .partition = 0, .replicas = shrunk, .n_replicas = 1};
    assert_int_equal(kafka_admin_alter_reassignments(a, &m, 1, 10000, &r), 0);
    kafka_admin_partition_results_free(r);
    assert_int_equal(kafka_admin_list_reassignments(a, &all, 1, 10000, &l), 0);
    assert_int_equal(l->n, 0);
    kafka_admin_reassignments_free(l);
    int32_t now[3];
    partition_state(a, topic, 0, &leader, &epoch, now, &n);
    assert_int_equal(n, 1);
    assert_int_equal(now[0], replicas[1]);
    assert_int_equal(leader, replicas[1]);

    /* a broker that does not exist, or one twice: INVALID_REPLICA_ASSIGNMENT */
    const int32_t unknown[] = {replicas[1], 99};
    m = (kafka_admin_reassignment){.topic = topic, .partition = 0, .replicas = unknown, .n_replicas = 2};
    (void)kafka_admin_alter_reassignments(a, &m, 1, 10000, &r);
    assert_int_equal(r->results[0].err, KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT);
    kafka_admin_partition_results_free(r);
    kafka_admin_close(a);
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
        cmocka_unit_test(test_elect_after_moving_leader),
        cmocka_unit_test(test_log_dirs_grow),
        cmocka_unit_test(test_reassign_list_cancel),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
