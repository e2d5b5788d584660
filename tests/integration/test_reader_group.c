/* kafka_reader in group mode against the test broker: three members share
 * a 6-partition topic (one is killed mid-stream), commits survive pushed
 * coordinator errors and a coordinator outage, and cooperative-sticky and
 * static membership work. */
#include <pthread.h>
#include <stdatomic.h>
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
#include "reader/reader_internal.h" /* kr_reader_abandon_for_test */
#include "test_cluster.h"

#define N_PART 6

static kafka_reader_config group_cfg(kt_cluster *kt, const char *topic, const char *group)
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
    kt_reader_log_from_env(&c, NULL);
    return c;
}

/* "m<i>" values, spread by kcat's random partitioner (partition -1) or to
 * one partition. */
static void produce(kt_cluster *kt, const char *topic, int partition, int from, int n)
{
    char *buf = malloc((size_t)n * 16 + 1);
    size_t off = 0;
    for (int i = from; i < from + n; i++)
        off += (size_t)sprintf(buf + off, "m%d\n", i);
    kt_kcat_result res;
    if (kt_kcat_produce(kt_cluster_bootstrap(kt), topic, partition, NULL, buf, off, NULL, &res) != 0)
        fail_msg("kcat produce: %s", res.err);
    kt_kcat_result_free(&res);
    free(buf);
}

/* ---- three members, one killed ------------------------------------------ */

#define N_MSGS 60000

typedef struct shared {
    pthread_mutex_t mu;
    uint8_t *seen_by;   /* per value: 0 = unseen, else 1 + first reader */
    uint8_t *count;     /* deliveries per value */
    int distinct;
    int dups_from_killed, dups_other;
    int delivered[3];
    bool kill0;
    bool stop;
    kafka_reader *r[3];
} shared;

typedef struct worker {
    shared *s;
    int id;
} worker;

static void *member(void *arg)
{
    worker *w = arg;
    shared *s = w->s;
    kafka_reader *r = s->r[w->id];
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop, kill = w->id == 0 && s->kill0;
        pthread_mutex_unlock(&s->mu);
        if (kill) {
            kafka_reader_stats st;
            kafka_reader_stats_get(r, &st);
            print_message("member 0 killed: commits %lld errors %lld\n", (long long)st.commits, (long long)st.errors);
            /* A crash: no final commit, no LeaveGroup. */
            kr_reader_abandon_for_test(r);
            kafka_reader_close(r);
            return NULL;
        }
        if (stop)
            break;
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(r, &m, 300);
        if (e == KAFKA_ERR_TIMEOUT)
            continue;
        if (e) {
            char le[256];
            kafka_reader_last_error(r, le, sizeof le);
            print_message("member %d: read: %s (%s)\n", w->id, kafka_err_name(e), le);
            break;
        }
        int v = kt_value_num(&m);
        pthread_mutex_lock(&s->mu);
        if (v >= 0 && v < N_MSGS) {
            if (!s->seen_by[v]) {
                s->seen_by[v] = (uint8_t)(1 + w->id);
                s->distinct++;
            } else if (s->seen_by[v] == 1) {
                s->dups_from_killed++;
            } else {
                s->dups_other++;
            }
            if (s->count[v] < 255)
                s->count[v]++;
        }
        s->delivered[w->id]++;
        bool maybe_kill = w->id == 0 && s->delivered[0] >= 2000 && !s->kill0;
        pthread_mutex_unlock(&s->mu);
        if (maybe_kill) {
            /* Kill it once some of its progress is committed and some not. */
            kafka_reader_stats st;
            kafka_reader_stats_get(r, &st);
            if (st.commits >= 1) {
                pthread_mutex_lock(&s->mu);
                s->kill0 = true;
                pthread_mutex_unlock(&s->mu);
            }
        }
        /* "Processing" takes a little time, so commits happen mid-stream. */
        usleep(100);
        /* At-least-once: commit after processing. */
        kafka_reader_commit_messages(r, &m, 1, 5000);
    }
    kafka_reader_close(r);
    return NULL;
}

/* librdkafka's mock completes a SyncGroup round as soon as the leader's
 * SyncGroup brings the assignments and refuses a later follower's
 * SyncGroup; the follower rejoins, which starts another round. The reader
 * no longer waits 100 ms before every leader's SyncGroup to dodge that
 * (issue 16): it backs off only when rounds follow each other at once
 * (membership.c). With three members on that broker the rounds still
 * repeat often enough that commits are refused in between and the
 * duplicate bound below fails about one run in three (measured with the
 * backoff), so this case runs on a coordinator with Kafka's rules,
 * kafka_mock. Returns the cluster to use (and sets *own when the test must
 * stop it). */
static kt_cluster *kafka_rules_cluster(kt_cluster *kt, kt_cluster **own)
{
    *own = NULL;
    if (!kt_cluster_is_mock(kt) || kt_cluster_kind(kt) == KT_BROKER_KAFKA_MOCK)
        return kt;
    *own = kt_cluster_start_kind(KT_BROKER_KAFKA_MOCK, 3);
    assert_non_null(*own);
    return *own;
}

static void test_three_members_one_killed(void **state)
{
    kt_cluster *own = NULL;
    kt_cluster *kt = kafka_rules_cluster(*state, &own);
    char *topic = kt_unique_topic("group-3");
    char *group = kt_unique_topic("g3");
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PART, 1), 0);
    /* Evenly spread (kcat's random partitioner is sticky for bursts). */
    for (int p = 0; p < N_PART; p++)
        produce(kt, topic, p, p * (N_MSGS / N_PART), N_MSGS / N_PART);

    shared s = {.seen_by = calloc(N_MSGS, 1), .count = calloc(N_MSGS, 1)};
    pthread_mutex_init(&s.mu, NULL);
    kafka_reader_config c = group_cfg(kt, topic, group);
    c.commit_interval_ms = 200;
    c.queue_capacity_bytes = 64 * 1024; /* keep the members' pace similar */
    for (int i = 0; i < 3; i++) {
        static char names[3][2] = {"0", "1", "2"};
        c.log_privdata = names[i];
        s.r[i] = kt_reader_open(&c);
    }
    pthread_t th[3];
    worker w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){&s, i};
        pthread_create(&th[i], NULL, member, &w[i]);
    }
    /* Wait (bounded) for every message, then stop the survivors. */
    for (int i = 0; i < 1200; i++) {
        pthread_mutex_lock(&s.mu);
        int d = s.distinct;
        pthread_mutex_unlock(&s.mu);
        if (d == N_MSGS)
            break;
        usleep(100 * 1000);
    }
    pthread_mutex_lock(&s.mu);
    s.stop = true;
    pthread_mutex_unlock(&s.mu);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    print_message("distinct %d, duplicates: %d from the killed member's uncommitted progress, %d others; "
                  "delivered %d/%d/%d\n",
                  s.distinct, s.dups_from_killed, s.dups_other, s.delivered[0], s.delivered[1], s.delivered[2]);
    assert_true(s.kill0);
    /* Nothing lost. */
    assert_int_equal(s.distinct, N_MSGS);
    /* Duplicates come from uncommitted progress: the killed member's (at
     * most what it delivered), and at most one fetched-but-not-yet-committed
     * message per partition per rebalance for the others (3 rebalances at
     * most here: join of 3, kill, and possibly one more join round). */
    assert_true(s.dups_from_killed <= s.delivered[0]);
    assert_true(s.dups_other <= N_PART * 4);
    free(s.seen_by);
    free(s.count);
    free(topic);
    free(group);
    if (own)
        assert_int_equal(kt_cluster_stop(own), 0);
}

/* ---- coordinator errors and outage ---------------------------------------- */

static void read_n(kafka_reader *r, int n, int *seen, int max)
{
    for (int i = 0; i < n; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 30000);
        if (e) {
            char le[256];
            kafka_reader_last_error(r, le, sizeof le);
            fail_msg("read %d: %s (%s)", i, kafka_err_name(e), le);
        }
        int v = kt_value_num(&m);
        assert_true(v >= 0 && v < max);
        seen[v]++;
    }
}

static void test_coordinator_errors_and_outage(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("group-coord");
    char *group = kt_unique_topic("gc");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    assert_int_equal(kt_cluster_cmd(kt, "coordinator group %s 2", group), 0);
    produce(kt, topic, 0, 0, 300);
    produce(kt, topic, 1, 300, 300);
    int *seen = calloc(600, sizeof *seen);

    kafka_reader_config c = group_cfg(kt, topic, group);
    kafka_reader *r = kt_reader_open(&c); /* commit_interval 0: synchronous */
    read_n(r, 100, seen, 600);
    /* Pushed errors on Heartbeat (12) and OffsetCommit (8). */
    assert_int_equal(kt_cluster_cmd(kt, "error 12 REBALANCE_IN_PROGRESS NOT_COORDINATOR ILLEGAL_GENERATION"), 0);
    assert_int_equal(kt_cluster_cmd(kt, "error 8 NOT_COORDINATOR REBALANCE_IN_PROGRESS ILLEGAL_GENERATION"), 0);
    read_n(r, 200, seen, 600);
    /* Let the heartbeats use up the pushed errors (they must not leak
     * into the next test on this cluster). */
    sleep(3);
    /* Coordinator down, then up. */
    assert_int_equal(kt_cluster_cmd(kt, "down 2"), 0);
    usleep(1500 * 1000);
    assert_int_equal(kt_cluster_cmd(kt, "up 2"), 0);
    read_n(r, 300 - 0, seen, 600);
    /* Every message at least once; duplicates only where commits failed. */
    int missing = 0;
    for (int i = 0; i < 600; i++)
        missing += seen[i] == 0;
    /* Reads may have been redelivered; keep reading until all are seen. */
    for (int tries = 0; missing && tries < 600; tries++) {
        kafka_message m;
        if (kafka_reader_read_message(r, &m, 5000))
            break;
        int v = kt_value_num(&m);
        if (v >= 0 && v < 600 && seen[v]++ == 0)
            missing--;
    }
    assert_int_equal(missing, 0);
    assert_int_equal(kafka_reader_close(r), 0);
    kt_cluster_cmd(kt, "clear_errors 12");
    kt_cluster_cmd(kt, "clear_errors 8");

    /* The group's committed offsets are at the end: a new member of the
     * group reads nothing old, and the next new message. */
    r = kt_reader_open(&c);
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, 3000), KAFKA_ERR_TIMEOUT);
    produce(kt, topic, 0, 600, 1);
    assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
    assert_int_equal(kt_value_num(&m), 600);
    assert_int_equal(m.offset, 300);
    int64_t lag = -1;
    assert_int_equal(kafka_reader_read_lag(r, &lag, 10000), 0);
    assert_int_equal(lag, 0);
    assert_int_equal(kafka_reader_close(r), 0);
    free(seen);
    free(topic);
    free(group);
}

/* ---- a revoke between a read and its commit (issue 16 item 7) --------------- */

typedef struct race {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool revoked;      /* the partition with the data was revoked */
    int32_t partition; /* the partition with the data */
    bool hooked;
    bool commit_in_callback; /* on_revoked commits what was delivered */
    kafka_err callback_commit;
    kafka_reader_config cfg;
    kafka_reader *other;
} race;

static void race_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    race *x = priv;
    for (size_t i = 0; i < n && x->commit_in_callback; i++)
        if (p[i].partition == x->partition && p[i].offset > 0) {
            /* reader.h: the callback may commit what it processed. */
            kafka_message m = {.topic = p[i].topic, .partition = p[i].partition, .offset = p[i].offset - 1};
            kafka_err e = kafka_reader_commit_messages(r, &m, 1, 5000);
            pthread_mutex_lock(&x->mu);
            x->callback_commit = e;
            pthread_mutex_unlock(&x->mu);
        }
    pthread_mutex_lock(&x->mu);
    for (size_t i = 0; i < n; i++)
        if (p[i].partition == x->partition)
            x->revoked = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
}

/* Runs in the first member's read_message after its first delivery and
 * before that message's commit: a second member joins and the test waits
 * until the first member stopped the partition (its on_revoked callback
 * runs in its next read call: reader.h). */
static void race_after_read(void *arg, kafka_reader *r)
{
    race *x = arg;
    if (x->hooked)
        return;
    x->hooked = true;
    kafka_reader_config c = x->cfg;
    c.on_revoked = NULL;
    x->other = kt_reader_open(&c);
    for (int i = 0; i < 600 && kt_reader_partitions(r) == 2; i++)
        usleep(100 * 1000);
}

/* A member reads a message (read_message: it promises the commit), and a
 * rebalance revokes that partition before the read's own commit: the
 * revoke commits the delivered position, so the next owner does not read
 * the message again. With commit_in_callback the member fetches it
 * (fetch_message: the application commits) and commits it from
 * on_revoked, with periodic commits, as reader.h allows. */
static void revoke_race(kt_cluster *kt, bool commit_in_callback)
{
    char *topic = kt_unique_topic("group-race");
    char *group = kt_unique_topic("grace");
    enum { N = 10 };
    /* Cooperative-sticky: the first member keeps the first partition it
     * listed (assignor_sticky.c) and gives up partition 1, the one with
     * the data. */
    /* callback_commit stays TIMEOUT if the callback never commits */
    race x = {.partition = 1, .commit_in_callback = commit_in_callback, .callback_commit = KAFKA_ERR_TIMEOUT};
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    produce(kt, topic, x.partition, 0, N);
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cond, NULL);
    const char *coop[] = {"cooperative-sticky"};
    x.cfg = group_cfg(kt, topic, group);
    x.cfg.assignors = coop;
    x.cfg.n_assignors = 1;
    /* read_message commits synchronously; the callback's commits wait for
     * the periodic commit (after the callback, in the revoke). */
    x.cfg.commit_interval_ms = commit_in_callback ? 60000 : 0;
    x.cfg.on_revoked = race_revoked;
    x.cfg.rebalance_privdata = &x;
    kafka_reader *a = kt_reader_open(&x.cfg);
    int seen[N] = {0};
    if (commit_in_callback) {
        kafka_message m;
        assert_int_equal(kafka_reader_fetch_message(a, &m, 30000), 0);
        int v = kt_value_num(&m);
        assert_true(v >= 0 && v < N);
        seen[v]++;
        race_after_read(&x, a);
    } else {
        kr_reader_after_read_hook_for_test(a, race_after_read, &x);
        read_n(a, 1, seen, N);
    }
    /* The next read call runs on_revoked (the revoke waits for it). */
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&x.mu);
        bool done = x.revoked;
        pthread_mutex_unlock(&x.mu);
        if (done)
            break;
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(a, &m, 100);
        assert_true(e == 0 || e == KAFKA_ERR_TIMEOUT);
        if (!e) {
            int v = kt_value_num(&m);
            assert_true(v >= 0 && v < N);
            seen[v]++;
        }
    }
    pthread_mutex_lock(&x.mu);
    bool revoked = x.revoked;
    kafka_err cb_commit = x.callback_commit;
    pthread_mutex_unlock(&x.mu);
    assert_true(revoked);
    if (commit_in_callback)
        assert_int_equal(cb_commit, 0);
    assert_non_null(x.other);
    /* Whoever owns the partition now starts after the message read before
     * the revoke: every message once, the first one never again. */
    int distinct = 0;
    for (int i = 0; i < N; i++)
        distinct += seen[i] > 0;
    for (int i = 0; i < 600 && distinct < N; i++) {
        kafka_reader *rs[2] = {a, x.other};
        for (int k = 0; k < 2; k++) {
            kafka_message m;
            kafka_err e = kafka_reader_read_message(rs[k], &m, 100);
            if (e == KAFKA_ERR_TIMEOUT)
                continue;
            assert_int_equal(e, 0);
            int v = kt_value_num(&m);
            assert_true(v >= 0 && v < N);
            if (seen[v]++ == 0)
                distinct++;
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(kafka_reader_close(x.other), 0);
    assert_int_equal(kafka_reader_close(a), 0);
    pthread_cond_destroy(&x.cond);
    pthread_mutex_destroy(&x.mu);
    free(topic);
    free(group);
}

/* Cooperative-sticky here: an eager member commits what it revokes
 * before JoinGroup, while the group prepares the rebalance; Kafka accepts
 * that commit, librdkafka's mock (the test broker) answers it
 * REBALANCE_IN_PROGRESS, so the eager case needs a coordinator that follows
 * Kafka's rules (kafka_mock). A cooperative member revokes after SyncGroup,
 * which the mock accepts. */
static void test_revoke_between_read_and_commit(void **state) { revoke_race(*state, false); }

static void test_commit_from_on_revoked(void **state) { revoke_race(*state, true); }

/* ---- join errors reach the read (issue 16 item 6) ---------------------------- */

/* JoinGroup refused with errors no retry cures: each reaches a read with
 * its text (not a TIMEOUT after the read's whole wait), and once the
 * coordinator accepts the member the messages flow. */
static void test_join_errors_reach_the_read(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("group-joinerr");
    char *group = kt_unique_topic("gjoinerr");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    produce(kt, topic, 0, 0, 3);
    assert_int_equal(kt_cluster_cmd(kt, "error 11 GROUP_AUTHORIZATION_FAILED INVALID_SESSION_TIMEOUT"), 0);
    kafka_reader_config c = group_cfg(kt, topic, group);
    kafka_reader *r = kt_reader_open(&c);
    const kafka_err want[2] = {KAFKA_ERR_GROUP_AUTHORIZATION_FAILED, KAFKA_ERR_INVALID_SESSION_TIMEOUT};
    for (int i = 0; i < 2; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 60000);
        char text[512];
        kafka_reader_last_error(r, text, sizeof text);
        print_message("join error %d: %s: %s\n", i, kafka_err_name(e), text);
        assert_int_equal(e, want[i]);
        assert_non_null(strstr(text, group));
        assert_non_null(strstr(text, "join"));
    }
    int seen[3] = {0};
    read_n(r, 3, seen, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(kafka_reader_close(r), 0);
    kt_cluster_cmd(kt, "clear_errors 11");
    free(topic);
    free(group);
}

/* ---- heartbeats are not delayed by a slow fetch (issue 16 item 5) ------------ */

/* The coordinator also leads the partition, and its Fetch responses take
 * 1.5 session timeouts: the member's heartbeats go on their own
 * connection, so they are answered in time, the coordinator keeps the
 * member (no second rebalance) and the partition keeps flowing. A guard
 * for moving membership onto the reader's I/O thread. */
static void test_slow_fetch_does_not_delay_heartbeats(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("group-slowfetch");
    char *group = kt_unique_topic("gslowfetch");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 2", topic), 0);
    assert_int_equal(kt_cluster_cmd(kt, "coordinator group %s 2", group), 0);
    produce(kt, topic, 0, 0, 1);
    kafka_reader_config c = group_cfg(kt, topic, group);
    kafka_reader *r = kt_reader_open(&c);
    int seen[3] = {0};
    read_n(r, 1, seen, 3);
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    assert_int_equal(st.rebalances, 1);
    /* The next Fetch to broker 2 is answered 9 s late (the reader has one
     * Fetch per broker in flight, so nothing comes from broker 2 for 9 s). */
    assert_int_equal(kt_cluster_cmd(kt, "broker_error 2 Fetch NO_ERROR:9000"), 0);
    produce(kt, topic, 0, 1, 2);
    read_n(r, 2, seen, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seen[i], 1);
    kafka_reader_stats_get(r, &st);
    print_message("slow fetch: rebalances %lld errors %lld\n", (long long)st.rebalances, (long long)st.errors);
    assert_int_equal(st.rebalances, 1);
    /* No heartbeat waited past its deadline (session / 2) either: the mock
     * counts a heartbeat when it arrives, so a late answer alone would
     * show only here (checked: delaying Heartbeat as well as Fetch fails
     * this). */
    assert_int_equal(st.errors, 0);
    assert_int_equal(kafka_reader_close(r), 0);
    /* The slow answer was used (and none is left for the next tests). */
    assert_int_equal(kt_cluster_cmd(kt, "broker_error_count 2 Fetch"), 0);
    assert_string_equal(kt_cluster_last_reply(kt), "ok 0");
    free(topic);
    free(group);
}

/* ---- cooperative-sticky and static membership ------------------------------ */

typedef struct tally {
    pthread_mutex_t mu;
    int assigned, revoked;
} tally;

static void on_assigned(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    (void)p;
    tally *t = priv;
    pthread_mutex_lock(&t->mu);
    t->assigned += (int)n;
    pthread_mutex_unlock(&t->mu);
}

static void on_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    (void)p;
    tally *t = priv;
    pthread_mutex_lock(&t->mu);
    t->revoked += (int)n;
    pthread_mutex_unlock(&t->mu);
}

/* The rebalance callbacks run in the application's read calls (reader.h):
 * an empty read (the topic has no messages) gives them their turn. */
static void pump(kafka_reader *r)
{
    kafka_message m;
    assert_int_equal(kafka_reader_fetch_message(r, &m, 0), KAFKA_ERR_TIMEOUT);
}

static bool wait_parts(kafka_reader *a, int32_t na, kafka_reader *b, int32_t nb)
{
    for (int i = 0; i < 300; i++) {
        pump(a);
        if (b)
            pump(b);
        if (kt_reader_partitions(a) == na && (!b || kt_reader_partitions(b) == nb)) {
            pump(a); /* the callbacks of the last change */
            if (b)
                pump(b);
            return true;
        }
        usleep(100 * 1000);
    }
    return false;
}

static void test_cooperative_sticky(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("group-coop");
    char *group = kt_unique_topic("gcoop");
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PART, 1), 0);
    const char *coop[] = {"cooperative-sticky"};
    tally t1 = {.assigned = 0}, t2 = {.assigned = 0};
    pthread_mutex_init(&t1.mu, NULL);
    pthread_mutex_init(&t2.mu, NULL);
    kafka_reader_config c = group_cfg(kt, topic, group);
    c.assignors = coop;
    c.n_assignors = 1;
    c.on_assigned = on_assigned;
    c.on_revoked = on_revoked;
    c.rebalance_privdata = &t1;
    kafka_reader *a = kt_reader_open(&c);
    assert_true(wait_parts(a, N_PART, NULL, 0));
    c.rebalance_privdata = &t2;
    kafka_reader *b = kt_reader_open(&c);
    /* Incremental: the first member gives up exactly half and keeps the
     * rest (no revoke-everything). */
    assert_true(wait_parts(a, N_PART / 2, b, N_PART / 2));
    pthread_mutex_lock(&t1.mu);
    assert_int_equal(t1.assigned, N_PART);
    assert_int_equal(t1.revoked, N_PART / 2);
    pthread_mutex_unlock(&t1.mu);
    pthread_mutex_lock(&t2.mu);
    assert_int_equal(t2.assigned, N_PART / 2);
    assert_int_equal(t2.revoked, 0);
    pthread_mutex_unlock(&t2.mu);
    kafka_reader_close(b);
    assert_true(wait_parts(a, N_PART, NULL, 0));
    kafka_reader_close(a);
    free(topic);
    free(group);
}

static void test_static_membership(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("group-static");
    char *group = kt_unique_topic("gstatic");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    produce(kt, topic, 0, 0, 10);
    kafka_reader_config c = group_cfg(kt, topic, group);
    c.group_instance_id = "instance-1";
    kafka_reader *r = kt_reader_open(&c);
    int seen[20] = {0};
    read_n(r, 10, seen, 20);
    /* A static member does not leave at close; a restart with the same
     * instance id continues from the committed offsets. */
    assert_int_equal(kafka_reader_close(r), 0);
    r = kt_reader_open(&c);
    produce(kt, topic, 0, 10, 5);
    read_n(r, 5, seen, 20);
    for (int i = 0; i < 15; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
    free(group);
}

/* Close commits what is pending, leaves, and returns even when the
 * coordinator is down (bounded by close_timeout_ms; a hang would trip the
 * ctest timeout). */
static void test_close_with_coordinator_down(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("group-close");
    char *group = kt_unique_topic("gclose");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    assert_int_equal(kt_cluster_cmd(kt, "coordinator group %s 3", group), 0);
    produce(kt, topic, 0, 0, 5);
    kafka_reader_config c = group_cfg(kt, topic, group);
    c.commit_interval_ms = 60000; /* only close will commit */
    c.close_timeout_ms = 1000;
    kafka_reader *r = kt_reader_open(&c);
    int seen[5] = {0};
    read_n(r, 5, seen, 5);
    assert_int_equal(kt_cluster_cmd(kt, "down 3"), 0);
    kafka_err e = kafka_reader_close(r);
    assert_true(e != 0); /* the final commit could not reach the coordinator */
    assert_int_equal(kt_cluster_cmd(kt, "up 3"), 0);
    /* Nothing was committed: a new member starts over (at-least-once). */
    c.close_timeout_ms = 5000;
    r = kt_reader_open(&c);
    kafka_message m;
    assert_int_equal(kafka_reader_fetch_message(r, &m, 30000), 0);
    assert_int_equal(m.offset, 0);
    kafka_reader_close(r);
    free(topic);
    free(group);
}

typedef struct closer {
    kafka_reader *r;
    atomic_int started;
} closer;

/* Closes the reader once the main thread is about to commit; the pause
 * lets that commit reach its wait (if close came first the commit would
 * return CLOSED all the same, from its entry check). */
static void *close_soon(void *arg)
{
    closer *c = arg;
    while (!atomic_load(&c->started))
        usleep(1000);
    usleep(300 * 1000);
    kafka_reader_close(c->r);
    return NULL;
}

/* A synchronous commit waits for the I/O thread; with the coordinator down
 * it waits (timeout -1), and close from another thread wakes it: CLOSED. */
static void test_close_wakes_blocked_commit(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("group-wake");
    char *group = kt_unique_topic("gwake");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    assert_int_equal(kt_cluster_cmd(kt, "coordinator group %s 3", group), 0);
    produce(kt, topic, 0, 0, 1);
    kafka_reader_config c = group_cfg(kt, topic, group);
    c.close_timeout_ms = 1000;
    kafka_reader *r = kt_reader_open(&c);
    kafka_message m;
    assert_int_equal(kafka_reader_fetch_message(r, &m, 30000), 0);
    assert_int_equal(kt_cluster_cmd(kt, "down 3"), 0);
    closer cl = {.r = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, close_soon, &cl), 0);
    atomic_store(&cl.started, 1);
    kafka_err e = kafka_reader_commit_messages(r, &m, 1, -1);
    pthread_join(t, NULL);
    assert_int_equal(e, KAFKA_ERR_CLOSED);
    assert_int_equal(kt_cluster_cmd(kt, "up 3"), 0);
    free(topic);
    free(group);
}

static void test_group_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_reader *r = NULL;
    char err[256];
    kafka_reader_config c = group_cfg(kt, "t", "g");
    c.start_offset = KAFKA_START_AT;
    assert_int_equal(kafka_reader_new(&r, &c, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    c = group_cfg(kt, "t", "g");
    const char *topics[] = {"a", "b"};
    c.group_topics = topics;
    c.n_group_topics = 2;
    assert_int_equal(kafka_reader_new(&r, &c, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    c.topic = NULL;
    r = kt_reader_open(&c);
    assert_int_equal(kafka_reader_set_offset(r, 3), KAFKA_ERR_STATE);
    assert_int_equal(kafka_reader_offset(r), -1);
    kafka_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_bad_input),
        cmocka_unit_test(test_revoke_between_read_and_commit),
        cmocka_unit_test(test_commit_from_on_revoked),
        cmocka_unit_test(test_join_errors_reach_the_read),
        cmocka_unit_test(test_slow_fetch_does_not_delay_heartbeats),
        cmocka_unit_test(test_static_membership),
        cmocka_unit_test(test_cooperative_sticky),
        cmocka_unit_test(test_coordinator_errors_and_outage),
        cmocka_unit_test(test_close_with_coordinator_down),
        cmocka_unit_test(test_close_wakes_blocked_commit),
        cmocka_unit_test(test_three_members_one_killed),
    };
    if (getenv("KT_FILTER"))
        cmocka_set_test_filter(getenv("KT_FILTER"));
    if (getenv("KT_TEST")) /* run one case: KT_TEST=test_static_membership */
        cmocka_set_test_filter(getenv("KT_TEST"));
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
