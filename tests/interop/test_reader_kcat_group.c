/* Assignor interop: a kcat -G member (librdkafka's range/roundrobin) and a
 * libkafka member in the same group split the partitions between them. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "kcat.h"
#include "test_cluster.h"

#define N_PART 4

typedef struct kcat_run {
    const char *bootstrap, *topic, *group;
    kt_kcat_result res;
} kcat_run;

static void *run_kcat(void *arg)
{
    kcat_run *k = arg;
    /* -c 2: leave after two messages (one per partition it will own). A
     * short max.poll.interval (the rebalance timeout kcat sends), because
     * the mock holds a JoinGroup for the longest rebalance timeout in the
     * group, 300 s by librdkafka's default. */
    const char *args[] = {"-b", k->bootstrap, "-G", k->group, "-X", "auto.offset.reset=earliest",
                          "-X", "max.poll.interval.ms=10000", "-X", "session.timeout.ms=6000",
                          "-X", "heartbeat.interval.ms=500", "-c", "2", "-q", "-f", "%p\n", k->topic, NULL};
    kt_kcat(args, NULL, 0, 60000, &k->res);
    return NULL;
}

typedef struct seen_parts {
    pthread_mutex_t mu;
    bool mine[N_PART]; /* the last assignment */
} seen_parts;

static void on_assigned(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    seen_parts *s = priv;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++)
        if (p[i].partition >= 0 && p[i].partition < N_PART)
            s->mine[p[i].partition] = true;
    pthread_mutex_unlock(&s->mu);
}

static void on_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    seen_parts *s = priv;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++)
        if (p[i].partition >= 0 && p[i].partition < N_PART)
            s->mine[p[i].partition] = false;
    pthread_mutex_unlock(&s->mu);
}

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "[reader %d] %s\n", (int)lvl, msg);
}

static int32_t partitions_of(kafka_reader *r)
{
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    return st.partitions;
}

/* The rebalance callbacks run in the application's read calls (reader.h),
 * and a revocation waits for its callback: a short read gives them their
 * turn. Called while the topic is empty, or at the end (a message read
 * here is not needed any more). */
static void pump(kafka_reader *r)
{
    kafka_message m;
    kafka_err e = kafka_reader_fetch_message(r, &m, 0);
    assert_true(e == 0 || e == KAFKA_ERR_TIMEOUT);
}

static void wait_partitions(kafka_reader *r, int32_t want)
{
    for (int i = 0; i < 300 && partitions_of(r) != want; i++) {
        pump(r);
        usleep(100 * 1000);
    }
    assert_int_equal(partitions_of(r), want);
}

/* One kcat member and one libkafka member over N_PART partitions: range
 * gives each N_PART / 2, each reads only its own, and when kcat leaves
 * libkafka gets everything. kcat_first picks who joins first.
 *
 * Why libkafka's session timeout is short here: librdkafka 2.0.2's mock
 * holds the JoinGroup of a member joining a stable group for the group's
 * session timeout - 1 s (the timeout of the last member that joined), even
 * after every known member has rejoined; a real coordinator answers as soon
 * as they all have. kcat gives up on a JoinGroup after max.poll.interval.ms
 * + 3 s (13 s here) and retries, so with libkafka's default 30 s session
 * timeout kcat never got an answer ("kcat joining after libkafka hangs").
 * The same happens with two kcats when the first uses
 * session.timeout.ms=30000 (checked by hand: the second kcat's JoinGroup
 * timed out twice and it got its partitions after 29 s), so it is the
 * mock, not libkafka: libkafka heartbeats, sees REBALANCE_IN_PROGRESS and
 * rejoins at once (the log with KT_LOG=1 shows it). */
static void split_with_kcat(kt_cluster *kt, bool kcat_first)
{
    char *topic = kt_unique_topic("kcat-group");
    char *group = kt_unique_topic("kg");
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PART, 1), 0);

    kcat_run k = {.bootstrap = kt_cluster_bootstrap(kt), .topic = topic, .group = group};
    pthread_t t;
    if (kcat_first) {
        /* kcat joins first and owns everything (the topic is still empty). */
        pthread_create(&t, NULL, run_kcat, &k);
        sleep(5);
    }

    seen_parts s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    kafka_reader *r = NULL;
    char err[256];
    kafka_reader_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .group_id = group,
                               .max_wait_ms = 300, .heartbeat_interval_ms = 300, .session_timeout_ms = 6000,
                               .rebalance_timeout_ms = 10000, .on_assigned = on_assigned,
                               .on_revoked = on_revoked, .rebalance_privdata = &s};
    if (getenv("KT_LOG")) {
        cfg.log = log_cb;
        cfg.log_level = KAFKA_LOG_DEBUG;
    }
    assert_int_equal(kafka_reader_new(&r, &cfg, err, sizeof err), 0);
    if (!kcat_first) {
        /* libkafka alone owns everything, then kcat joins. */
        wait_partitions(r, N_PART);
        pthread_create(&t, NULL, run_kcat, &k);
    }
    /* range over 4 partitions and 2 members: 2 each. The reader counts a
     * partition in its stats when it starts reading it and runs
     * on_assigned in the next read call, so wait for the callback too. */
    wait_partitions(r, N_PART / 2);
    bool mine[N_PART];
    int n_mine = 0;
    for (int i = 0; i < 300 && n_mine != N_PART / 2; i++) {
        if (i)
            usleep(100 * 1000);
        pump(r);
        pthread_mutex_lock(&s.mu);
        memcpy(mine, s.mine, sizeof mine);
        pthread_mutex_unlock(&s.mu);
        n_mine = 0;
        for (int p = 0; p < N_PART; p++)
            n_mine += mine[p];
    }
    assert_int_equal(n_mine, N_PART / 2);

    /* One message per partition: each member reads its own. */
    for (int p = 0; p < N_PART; p++) {
        char line[16];
        int n = snprintf(line, sizeof line, "p%d\n", p);
        kt_kcat_result res;
        assert_int_equal(kt_kcat_produce(kt_cluster_bootstrap(kt), topic, p, NULL, line, (size_t)n, NULL, &res), 0);
        kt_kcat_result_free(&res);
    }
    for (int i = 0; i < N_PART / 2; i++) {
        kafka_message m;
        assert_int_equal(kafka_reader_fetch_message(r, &m, 20000), 0);
        assert_true(m.partition >= 0 && m.partition < N_PART && mine[m.partition]);
    }
    pthread_join(t, NULL);
    print_message("kcat printed:\n%s", k.res.out);
    assert_int_equal(k.res.status, 0);
    int lines = 0;
    for (char *p = k.res.out; *p;) {
        int part = atoi(p);
        assert_true(part >= 0 && part < N_PART);
        assert_false(mine[part]); /* kcat's partitions are the others */
        lines++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    assert_int_equal(lines, N_PART / 2);
    kt_kcat_result_free(&k.res);
    /* kcat left: libkafka gets everything. */
    wait_partitions(r, N_PART);
    assert_int_equal(kafka_reader_close(r), 0);
    pthread_mutex_destroy(&s.mu);
    free(topic);
    free(group);
}

static void test_kcat_first_then_libkafka(void **state)
{
    if (!kt_kcat_path())
        skip();
    split_with_kcat(*state, true);
}

static void test_libkafka_first_then_kcat(void **state)
{
    if (!kt_kcat_path())
        skip();
    split_with_kcat(*state, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_first_then_libkafka),
        cmocka_unit_test(test_libkafka_first_then_kcat),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
