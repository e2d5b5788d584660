/* A group coordinator checked by a client that is not ours: two librdkafka
 * consumers (kcat's engine) in one group, with the range and the
 * cooperative-sticky assignors, split a topic's partitions between them,
 * read every message exactly once between them, commit, and find their
 * commits again. Runs against the test broker, and against kafka-mock's
 * coordinator (tests/cmake/kafka_mock_groups.cmake). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "test_cluster.h"

#define N_PART 4
#define N_MSG 400

static kt_cluster *cluster;

static int group_setup(void **state)
{
    cluster = kt_cluster_start(3);
    return cluster ? 0 : -1;
}

static int group_teardown(void **state)
{
    return kt_cluster_stop(cluster);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", k, v, err);
}

static void produce(const char *topic)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", kt_cluster_bootstrap(cluster));
    char err[256];
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(p);
    for (int i = 0; i < N_MSG; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "m%04d", i);
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % N_PART),
                                           RD_KAFKA_V_VALUE(v, (size_t)n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static rd_kafka_t *member(const char *group, const char *topic, const char *strategy)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", kt_cluster_bootstrap(cluster));
    set(conf, "group.id", group);
    set(conf, "partition.assignment.strategy", strategy);
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.auto.commit", "false");
    set(conf, "session.timeout.ms", "6000");
    set(conf, "heartbeat.interval.ms", "500");
    /* the rebalance timeout the JoinGroup carries: 300 s by default */
    set(conf, "max.poll.interval.ms", "10000");
    char err[256];
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(c, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);
    return c;
}

/* Bitmap of the partitions librdkafka has assigned to c. */
static unsigned assigned(rd_kafka_t *c)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    assert_int_equal(rd_kafka_assignment(c, &a), RD_KAFKA_RESP_ERR_NO_ERROR);
    unsigned bits = 0;
    for (int i = 0; i < a->cnt; i++)
        bits |= 1u << a->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(a);
    return bits;
}

static void split_between_two(const char *strategy)
{
    char *topic = kt_unique_topic("rdk-group");
    char group[64];
    snprintf(group, sizeof group, "rdk-%s-%s", strategy, topic);
    assert_int_equal(kt_cluster_create_topic(cluster, topic, N_PART, 1), 0);
    produce(topic);

    rd_kafka_t *m[2] = {member(group, topic, strategy), member(group, topic, strategy)};
    static unsigned char seen[N_MSG];
    memset(seen, 0, sizeof seen);
    int got = 0, dup = 0;
    unsigned a0 = 0, a1 = 0;
    int64_t deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        for (int i = 0; i < 2; i++) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(m[i], 50);
            if (!msg)
                continue;
            if (!msg->err && msg->len == 5) {
                int n = atoi((const char *)msg->payload + 1);
                if (n >= 0 && n < N_MSG) {
                    dup += seen[n];
                    got += !seen[n];
                    seen[n] = 1;
                }
            }
            rd_kafka_message_destroy(msg);
        }
        a0 = assigned(m[0]);
        a1 = assigned(m[1]);
        if (got == N_MSG && a0 && a1 && !(a0 & a1) && (a0 | a1) == (1u << N_PART) - 1)
            break;
    }
    print_message("%s: member 0 owns %#x, member 1 owns %#x; %d messages, %d read again\n", strategy, a0, a1, got,
                  dup);
    assert_int_equal(got, N_MSG);
    assert_true(a0 != 0 && a1 != 0);
    assert_int_equal(a0 & a1, 0);
    assert_int_equal(a0 | a1, (1u << N_PART) - 1);

    /* each commits its positions; the other sees them through the group */
    for (int i = 0; i < 2; i++)
        assert_int_equal(rd_kafka_commit(m[i], NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(N_PART);
    for (int p = 0; p < N_PART; p++)
        rd_kafka_topic_partition_list_add(all, topic, p);
    assert_int_equal(rd_kafka_committed(m[0], all, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int p = 0; p < N_PART; p++) {
        assert_int_equal(all->elems[p].err, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(all->elems[p].offset, N_MSG / N_PART);
    }
    rd_kafka_topic_partition_list_destroy(all);

    for (int i = 0; i < 2; i++) {
        assert_int_equal(rd_kafka_consumer_close(m[i]), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(m[i]);
    }
    free(topic);
}

static void test_range(void **state) { split_between_two("range"); }
static void test_cooperative_sticky(void **state) { split_between_two("cooperative-sticky"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_cooperative_sticky),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
