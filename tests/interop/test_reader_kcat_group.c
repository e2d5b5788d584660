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
    /* -e: exit once every assigned partition reached its end. */
    const char *args[] = {"-b", k->bootstrap, "-G", k->group, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f",
                          "%p\n", k->topic, NULL};
    kt_kcat(args, NULL, 0, 60000, &k->res);
    return NULL;
}

typedef struct seen_parts {
    pthread_mutex_t mu;
    bool during[N_PART]; /* assigned to libkafka while kcat was in */
    int assigned_calls;
    int last_n;
    int32_t last[N_PART];
} seen_parts;

static void on_assigned(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    seen_parts *s = priv;
    pthread_mutex_lock(&s->mu);
    s->assigned_calls++;
    pthread_mutex_unlock(&s->mu);
    (void)p;
    (void)n;
}

static int32_t partitions_of(kafka_reader *r)
{
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    return st.partitions;
}

static void test_kcat_member_splits_partitions(void **state)
{
    kt_cluster *kt = *state;
    if (!kt_kcat_path())
        skip();
    char *topic = kt_unique_topic("kcat-group");
    char *group = kt_unique_topic("kg");
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PART, 1), 0);
    for (int p = 0; p < N_PART; p++) {
        char line[32];
        int n = snprintf(line, sizeof line, "p%d-a\np%d-b\n", p, p);
        kt_kcat_result res;
        assert_int_equal(kt_kcat_produce(kt_cluster_bootstrap(kt), topic, p, NULL, line, (size_t)n, NULL, &res), 0);
        kt_kcat_result_free(&res);
    }
    seen_parts s = {.assigned_calls = 0};
    pthread_mutex_init(&s.mu, NULL);
    /* The libkafka member never commits (fetch_message only, and nothing
     * is read), so kcat starts its partitions at the beginning. */
    kafka_reader *r = NULL;
    char err[256];
    kafka_reader_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .group_id = group,
                               .max_wait_ms = 300, .heartbeat_interval_ms = 300, .session_timeout_ms = 10000,
                               .rebalance_timeout_ms = 20000, .on_assigned = on_assigned,
                               .rebalance_privdata = &s};
    assert_int_equal(kafka_reader_new(&r, &cfg, err, sizeof err), 0);
    for (int i = 0; i < 300 && partitions_of(r) != N_PART; i++)
        usleep(100 * 1000);
    assert_int_equal(partitions_of(r), N_PART);

    kcat_run k = {.bootstrap = kt_cluster_bootstrap(kt), .topic = topic, .group = group};
    pthread_t t;
    pthread_create(&t, NULL, run_kcat, &k);
    /* While kcat is a member, libkafka holds only part of the topic. */
    int32_t mine = N_PART;
    for (int i = 0; i < 300 && (mine = partitions_of(r)) == N_PART; i++)
        usleep(100 * 1000);
    pthread_join(t, NULL);
    print_message("libkafka held %d of %d partitions while kcat was a member; kcat printed:\n%s", mine, N_PART,
                  k.res.out);
    assert_int_equal(k.res.status, 0);
    assert_true(mine > 0 && mine < N_PART);
    /* kcat read exactly the other partitions: 2 messages each. */
    int kcat_msgs = 0;
    bool kcat_part[N_PART] = {false};
    for (char *p = k.res.out; *p;) {
        int part = atoi(p);
        assert_true(part >= 0 && part < N_PART);
        kcat_part[part] = true;
        kcat_msgs++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    int kcat_parts = 0;
    for (int i = 0; i < N_PART; i++)
        kcat_parts += kcat_part[i];
    assert_int_equal(kcat_parts, N_PART - mine);
    assert_int_equal(kcat_msgs, 2 * (N_PART - mine));
    kt_kcat_result_free(&k.res);
    /* kcat left: libkafka gets everything back. */
    for (int i = 0; i < 300 && partitions_of(r) != N_PART; i++)
        usleep(100 * 1000);
    assert_int_equal(partitions_of(r), N_PART);
    kafka_reader_close(r);
    free(topic);
    free(group);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_member_splits_partitions),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
