/* A group rebalance does not stop the partitions that stay (issue 16).
 *
 * Members A and B share a 6-partition topic with cooperative-sticky (the
 * protocol in which a partition can stay with its member across a
 * rebalance). A third member C joins, then leaves. When C joins, B's
 * application is not reading: B's revocation waits for its on_revoked,
 * which runs in B's read calls (reader.h), so B has not rejoined and the
 * rebalance cannot finish (C holds nothing yet). Meanwhile the test
 * produces K messages to a partition P that A keeps and waits until A's
 * reading thread has delivered all K, and checks that the rebalance was
 * still unfinished then. If P stopped flowing for the rebalance, they
 * could not arrive: the wait gives up (a bound against a hang, not a
 * timing assertion) and the test fails. Every delivery of A is also
 * checked for order within its partition and for duplicates across both
 * rebalances: counts and order only, no durations. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "kcat.h"
#include "reader_util.h"
#include "test_cluster.h"

#define N_PART 6
#define K 50          /* messages produced to P inside each held callback */
#define MAX_VALUES 1000
/* Give-up bound for one held callback (a broken reader would hang the
 * test otherwise); the group's timeouts below are longer, so the hold
 * itself never costs A its membership. */
#define HOLD_GIVE_UP_S 8

enum { PHASE_SETUP, PHASE_JOIN, PHASE_LEAVE, PHASE_DONE };

typedef struct flow {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kt_cluster *kt;
    const char *topic;
    int phase;
    bool held[N_PART]; /* A's assignment, as its callbacks tell it */
    int kept;          /* P: -1 until chosen */
    int next_value;    /* next "m<i>" to produce */
    int window_from;   /* the held callback waits for values >= this ... */
    int window_to;     /* ... and < this, all delivered */
    int window_got;
    int windows_ok;
    int windows_failed;
    int last[N_PART]; /* last value A delivered per partition, -1 none */
    int out_of_order, dups;
    uint8_t seen[MAX_VALUES];
    bool stop;
    int a_revoked; /* A's on_revoked calls */
    bool b_revoked; /* B's on_revoked ran */
    bool b_reads;   /* B's application reads */
    bool b_idle;    /* B's reading thread saw !b_reads and stopped reading */
} flow;

/* Produces K values to P and waits (mu held on entry and exit) until A's
 * reading thread has delivered every one of them. */
static void hold_until_p_flows(flow *f)
{
    int p = f->kept;
    int from = f->next_value;
    f->next_value += K;
    f->window_from = from;
    f->window_to = from + K;
    f->window_got = 0;
    pthread_mutex_unlock(&f->mu);
    char buf[K * 16];
    size_t off = 0;
    for (int i = from; i < from + K; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "m%d\n", i);
    kt_kcat_result res;
    int rc = kt_kcat_produce(kt_cluster_bootstrap(f->kt), f->topic, p, NULL, buf, off, NULL, &res);
    if (rc != 0)
        print_message("kcat produce: %s\n", res.err);
    kt_kcat_result_free(&res);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HOLD_GIVE_UP_S;
    pthread_mutex_lock(&f->mu);
    while (rc == 0 && f->window_got < K)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
            break;
    if (rc == 0 && f->window_got == K)
        f->windows_ok++;
    else
        f->windows_failed++;
    pthread_cond_broadcast(&f->cv);
    print_message("phase %d: partition %d delivered %d of %d messages while the rebalance was held\n", f->phase, p,
                  f->window_got, K);
    f->window_from = f->window_to = 0;
}

static int first_kept(const flow *f)
{
    for (int i = 0; i < N_PART; i++)
        if (f->held[i])
            return i;
    return -1;
}

static void on_assigned(void *priv, kafka_reader *r, const kafka_reader_partition *parts, size_t n)
{
    (void)r;
    flow *f = priv;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++)
        if (parts[i].partition >= 0 && parts[i].partition < N_PART)
            f->held[parts[i].partition] = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void on_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *parts, size_t n)
{
    (void)r;
    flow *f = priv;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++)
        if (parts[i].partition >= 0 && parts[i].partition < N_PART)
            f->held[parts[i].partition] = false;
    if (n > 0)
        f->a_revoked++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void b_on_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *parts, size_t n)
{
    (void)r;
    (void)parts;
    flow *f = priv;
    pthread_mutex_lock(&f->mu);
    if (n > 0)
        f->b_revoked = true;
    pthread_mutex_unlock(&f->mu);
}

typedef struct b_member {
    flow *f;
    kafka_reader *b;
} b_member;

/* B's application thread: reads (and so runs B's callbacks) while
 * f->b_reads, until f->stop. */
static void *b_reading(void *arg)
{
    b_member *bm = arg;
    for (;;) {
        pthread_mutex_lock(&bm->f->mu);
        bool stop = bm->f->stop, go = bm->f->b_reads;
        bm->f->b_idle = !go;
        pthread_cond_broadcast(&bm->f->cv);
        pthread_mutex_unlock(&bm->f->mu);
        if (stop)
            break;
        if (!go) {
            usleep(20 * 1000);
            continue;
        }
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(bm->b, &m, 100);
        if (e && e != KAFKA_ERR_TIMEOUT) {
            print_message("B: read: %s\n", kafka_err_name(e));
            break;
        }
    }
    return NULL;
}

/* The flow and A, for A's reading thread. */
typedef struct a_flow {
    flow f;
    kafka_reader *a;
} a_flow;

/* A's application thread: reads, checks order and duplicates, and counts
 * the values a held callback waits for. */
static void *reading(void *arg)
{
    a_flow *af = arg;
    flow *f = &af->f;
    kafka_reader *a = af->a;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(a, &m, 200);
        if (e == KAFKA_ERR_TIMEOUT)
            continue;
        if (e) {
            print_message("A: read: %s\n", kafka_err_name(e));
            break;
        }
        int v = kt_value_num(&m);
        pthread_mutex_lock(&f->mu);
        if (v >= 0 && v < MAX_VALUES && m.partition >= 0 && m.partition < N_PART) {
            if (f->seen[v]++)
                f->dups++;
            else if (v <= f->last[m.partition])
                f->out_of_order++;
            if (v > f->last[m.partition])
                f->last[m.partition] = v;
            if (v >= f->window_from && v < f->window_to) {
                f->window_got++;
                pthread_cond_broadcast(&f->cv);
            }
        }
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

static kafka_reader_config member_cfg(kt_cluster *kt, const char *topic, const char *group, const char **coop)
{
    kafka_reader_config c = {
        .brokers = kt_cluster_bootstrap(kt),
        .topic = topic,
        .group_id = group,
        .assignors = coop,
        .n_assignors = 1,
        .max_wait_ms = 100,
        /* Longer than a held callback may last (HOLD_GIVE_UP_S); also how
         * long the test broker waits for a member slow to rejoin. */
        .session_timeout_ms = 10000,
        .rebalance_timeout_ms = 20000,
        .heartbeat_interval_ms = 300,
        .backoff_min_ms = 50,
        .backoff_max_ms = 500,
        .close_timeout_ms = 5000,
    };
    kt_reader_log_from_env(&c, NULL);
    return c;
}

/* Waits for the members' partition counts (the group settled). */
static bool settled(kafka_reader *a, int32_t na, kafka_reader *b, int32_t nb, kafka_reader *c, int32_t nc)
{
    for (int i = 0; i < 600; i++) {
        if (kt_reader_partitions(a) == na && kt_reader_partitions(b) == nb && (!c || kt_reader_partitions(c) == nc))
            return true;
        usleep(100 * 1000);
    }
    print_message("not settled: A %d, B %d, C %d partitions\n", kt_reader_partitions(a), kt_reader_partitions(b),
                  c ? kt_reader_partitions(c) : -1);
    return false;
}

/* Waits until n held callbacks have finished (the members' partition
 * counts change before A's on_assigned runs). */
static bool windows_done(flow *f, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2 * HOLD_GIVE_UP_S;
    pthread_mutex_lock(&f->mu);
    while (f->windows_ok + f->windows_failed < n)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
            break;
    bool done = f->windows_ok + f->windows_failed >= n;
    pthread_mutex_unlock(&f->mu);
    return done;
}

static void test_kept_partition_flows_during_rebalance(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("rebalance-flow");
    char *group = kt_unique_topic("gflow");
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PART, 1), 0);
    const char *coop[] = {"cooperative-sticky"};

    a_flow af = {.a = NULL};
    flow *f = &af.f;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->kt = kt;
    f->topic = topic;
    f->kept = -1;
    for (int i = 0; i < N_PART; i++)
        f->last[i] = -1;

    kafka_reader_config ca = member_cfg(kt, topic, group, coop);
    ca.on_assigned = on_assigned;
    ca.on_revoked = on_revoked;
    ca.rebalance_privdata = f;
    kafka_reader_config cb = member_cfg(kt, topic, group, coop);
    cb.on_revoked = b_on_revoked;
    cb.rebalance_privdata = f;
    kafka_reader_config cc = member_cfg(kt, topic, group, coop);

    af.a = kt_reader_open(&ca);
    pthread_t th, thb;
    assert_int_equal(pthread_create(&th, NULL, reading, &af), 0);
    b_member bm = {f, kt_reader_open(&cb)};
    kafka_reader *b = bm.b;
    pthread_mutex_lock(&f->mu);
    f->b_reads = true;
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(pthread_create(&thb, NULL, b_reading, &bm), 0);
    assert_true(settled(af.a, N_PART / 2, b, N_PART / 2, NULL, 0));

    /* C joins: 2 + 2 + 2. B does not read, so its revocation waits for its
     * on_revoked and the rebalance cannot finish; A revokes, rejoins and
     * keeps P. */
    pthread_mutex_lock(&f->mu);
    f->phase = PHASE_JOIN;
    f->b_reads = false;
    while (!f->b_idle)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    kafka_reader *c = kt_reader_open(&cc);
    for (int i = 0; i < 600 && (kt_reader_partitions(b) == N_PART / 2 || kt_reader_partitions(af.a) != N_PART / 3);
         i++)
        usleep(20 * 1000);
    pthread_mutex_lock(&f->mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HOLD_GIVE_UP_S;
    while (f->a_revoked == 0)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
            break;
    f->kept = first_kept(f);
    bool b_pending = !f->b_revoked && kt_reader_partitions(b) < N_PART / 2;
    if (f->kept >= 0 && b_pending && kt_reader_partitions(c) == 0) {
        hold_until_p_flows(f);
        /* Still unfinished after P delivered all K: B has not run its
         * callback, C holds nothing. */
        if (f->b_revoked || kt_reader_partitions(c) != 0) {
            print_message("the rebalance finished during the window: it proves nothing\n");
            f->windows_ok--;
            f->windows_failed++;
        }
    } else {
        print_message("no held rebalance to test: kept %d, B pending %d, C %d partitions\n", f->kept, b_pending,
                      kt_reader_partitions(c));
        f->windows_failed++;
    }
    f->b_reads = true;
    pthread_mutex_unlock(&f->mu);
    assert_true(settled(af.a, N_PART / 3, b, N_PART / 3, c, N_PART / 3));
    assert_true(windows_done(f, 1));

    /* C leaves: 3 + 3; A keeps reading throughout. */
    pthread_mutex_lock(&f->mu);
    f->phase = PHASE_LEAVE;
    pthread_mutex_unlock(&f->mu);
    kafka_reader_close(c);
    assert_true(settled(af.a, N_PART / 2, b, N_PART / 2, NULL, 0));

    pthread_mutex_lock(&f->mu);
    f->phase = PHASE_DONE;
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    pthread_join(th, NULL);
    pthread_join(thb, NULL);
    kafka_reader_close(b);
    kafka_reader_close(af.a);

    print_message("kept partition %d: %d held windows flowed, %d did not; %d out of order, %d duplicates\n", f->kept,
                  f->windows_ok, f->windows_failed, f->out_of_order, f->dups);
    assert_true(f->kept >= 0);
    assert_int_equal(f->windows_failed, 0);
    assert_int_equal(f->windows_ok, 1);
    assert_int_equal(f->out_of_order, 0);
    assert_int_equal(f->dups, 0);
    /* Every value produced was delivered to A, exactly once. */
    for (int v = 0; v < f->next_value; v++)
        assert_int_equal(f->seen[v], 1);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(topic);
    free(group);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_partition_flows_during_rebalance),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
