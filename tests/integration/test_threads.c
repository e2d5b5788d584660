/* Concurrency of the public objects as their headers allow it, written for
 * the ThreadSanitizer build (scripts/test.sh) to have something to check:
 * several threads writing asynchronously to one writer while another
 * thread reads its stats and last error and flushes; and a reader's
 * accessors (offset, lag, read_lag, stats, last error) called from another
 * thread while one thread reads. The assertions are about behaviour only
 * (every message delivered exactly once, counters and positions never go
 * backwards); in a normal build they are a plain functional test. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "proc_util.h"
#include "test_cluster.h"

#define W_THREADS 4
#define W_PER_THREAD 5000
#define W_PARTS 4
#define R_MSGS 5000

/* ---- async writer: writers + an observer -------------------------------- */

typedef struct wshared {
    kafka_writer *w;
    atomic_long ok, failed;     /* completion callback counts */
    atomic_int writers_left;    /* the observer stops at 0 */
    atomic_long write_errors;   /* write_messages that did not enqueue */
    atomic_long observer_rounds;
    atomic_int observer_bad;    /* a counter went backwards */
} wshared;

typedef struct warg {
    wshared *s;
    uint32_t thread;
} warg;

static void on_complete(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    (void)msgs;
    wshared *s = priv;
    if (err)
        atomic_fetch_add(&s->failed, (long)n);
    else
        atomic_fetch_add(&s->ok, (long)n);
}

/* Value: 4-byte thread, 4-byte sequence number (big-endian). */
static void put_id(uint8_t v[8], uint32_t thread, uint32_t seq)
{
    for (int i = 0; i < 4; i++) {
        v[i] = (uint8_t)(thread >> (24 - 8 * i));
        v[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    }
}

static void *writer_main(void *p)
{
    warg *a = p;
    uint8_t v[8];
    for (uint32_t i = 0; i < W_PER_THREAD; i++) {
        put_id(v, a->thread, i);
        kafka_message m = {.value = v, .value_len = sizeof v};
        if (kafka_writer_write_messages(a->s->w, &m, 1, NULL, -1) != 0)
            atomic_fetch_add(&a->s->write_errors, 1);
    }
    atomic_fetch_sub(&a->s->writers_left, 1);
    return NULL;
}

/* Reads the stats and last error in a loop, flushing now and then, until
 * the writers are done: counters must never decrease. */
static void *observer_main(void *p)
{
    wshared *s = p;
    kafka_writer_stats prev;
    memset(&prev, 0, sizeof prev);
    for (long round = 0; atomic_load(&s->writers_left) > 0; round++) {
        kafka_writer_stats st;
        kafka_writer_stats_get(s->w, &st);
        if (st.messages < prev.messages || st.errors < prev.errors)
            atomic_store(&s->observer_bad, 1);
        prev = st;
        char buf[256];
        kafka_writer_last_error(s->w, buf, sizeof buf);
        if (round % 64 == 63)
            kafka_writer_flush(s->w, 10);
        atomic_fetch_add(&s->observer_rounds, 1);
        sched_yield();
    }
    return NULL;
}

/* Reads partition p (not empty) from its start to its end, known when the
 * lag from the last fetch is 0 (every write was acknowledged before);
 * counts each (thread, seq) in seen. */
static long read_back(kt_cluster *kt, const char *topic, int32_t p, int *seen)
{
    kafka_reader *r = NULL;
    char err[256] = "";
    kafka_reader_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .partition = p,
                               .start_offset = KAFKA_START_FIRST, .max_wait_ms = 100};
    if (kafka_reader_new(&r, &cfg, err, sizeof err))
        fail_msg("kafka_reader_new: %s", err);
    long n = 0;
    kafka_message m;
    for (;;) {
        assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
        assert_int_equal(m.value_len, 8);
        const uint8_t *v = m.value;
        uint32_t t = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
        uint32_t q = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 | (uint32_t)v[6] << 8 | v[7];
        assert_true(t < W_THREADS && q < W_PER_THREAD);
        seen[t * W_PER_THREAD + q]++;
        n++;
        if (kafka_reader_lag(r) == 0)
            break;
    }
    assert_int_equal(kafka_reader_close(r), 0);
    return n;
}

static void test_async_writers_with_observer(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("threads-w");
    assert_int_equal(kt_cluster_create_topic(kt, topic, W_PARTS, 3), 0);
    wshared s;
    memset(&s, 0, sizeof s);
    atomic_init(&s.writers_left, W_THREADS);
    kafka_writer_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .async = true,
                               .completion = on_complete, .completion_privdata = &s,
                               .batch_timeout_ms = 5, .backoff_min_ms = 20, .backoff_max_ms = 200};
    char err[256] = "";
    if (kafka_writer_new(&s.w, &cfg, err, sizeof err))
        fail_msg("kafka_writer_new: %s", err);

    pthread_t obs, th[W_THREADS];
    warg args[W_THREADS];
    assert_int_equal(pthread_create(&obs, NULL, observer_main, &s), 0);
    for (uint32_t i = 0; i < W_THREADS; i++) {
        args[i] = (warg){&s, i};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < W_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_join(obs, NULL);
    assert_int_equal(atomic_load(&s.write_errors), 0);
    assert_int_equal(atomic_load(&s.observer_bad), 0);
    assert_true(atomic_load(&s.observer_rounds) > 0);

    const long total = (long)W_THREADS * W_PER_THREAD;
    assert_int_equal(kafka_writer_flush(s.w, 60000), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(s.w, &st);
    assert_int_equal(st.messages, total);
    assert_int_equal(st.errors, 0);
    assert_int_equal(kafka_writer_close(s.w, 10000), 0);
    assert_int_equal(atomic_load(&s.ok), total);
    assert_int_equal(atomic_load(&s.failed), 0);

    int *seen = calloc((size_t)total, sizeof *seen);
    long n = 0;
    for (int32_t p = 0; p < W_PARTS; p++)
        n += read_back(kt, topic, p, seen);
    assert_int_equal(n, total);
    for (long i = 0; i < total; i++)
        if (seen[i] != 1)
            fail_msg("thread %ld message %ld seen %d times", i / W_PER_THREAD, i % W_PER_THREAD, seen[i]);
    free(seen);
    free(topic);
}

/* ---- reader: one reading thread + an observer ----------------------------- */

typedef struct rshared {
    kafka_reader *r;
    atomic_bool done;
    atomic_int bad;    /* what went wrong, for the failure message */
    atomic_long rounds;
} rshared;

enum { OBS_OK, OBS_OFFSET_BACK, OBS_OFFSET_RANGE, OBS_MESSAGES_BACK, OBS_LAG_RANGE, OBS_READ_LAG };

/* Calls every accessor that may run beside a read, in a loop: without
 * seeks the position and the message count only grow, and the lag stays
 * within the log. */
static void *reader_observer_main(void *p)
{
    rshared *s = p;
    int64_t prev_off = -1, prev_msgs = 0;
    for (long round = 0; !atomic_load(&s->done) && !atomic_load(&s->bad); round++) {
        int64_t off = kafka_reader_offset(s->r);
        if (off < prev_off)
            atomic_store(&s->bad, OBS_OFFSET_BACK);
        if (off < -1 || off > R_MSGS)
            atomic_store(&s->bad, OBS_OFFSET_RANGE);
        prev_off = off;
        kafka_reader_stats st;
        kafka_reader_stats_get(s->r, &st);
        if (st.messages < prev_msgs)
            atomic_store(&s->bad, OBS_MESSAGES_BACK);
        prev_msgs = st.messages;
        int64_t lag = kafka_reader_lag(s->r);
        if (lag < -1 || lag > R_MSGS)
            atomic_store(&s->bad, OBS_LAG_RANGE);
        char buf[256];
        kafka_reader_last_error(s->r, buf, sizeof buf);
        if (round % 100 == 50) {
            int64_t rl = -2;
            if (kafka_reader_read_lag(s->r, &rl, 10000) != 0 || rl < 0 || rl > R_MSGS)
                atomic_store(&s->bad, OBS_READ_LAG);
        }
        atomic_fetch_add(&s->rounds, 1);
        sched_yield();
    }
    return NULL;
}

static void test_reader_with_observer(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("threads-r");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);

    /* R_MSGS messages "m<i>" into partition 0, synchronously. */
    kafka_writer *w = NULL;
    char err[256] = "";
    kafka_writer_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic};
    if (kafka_writer_new(&w, &cfg, err, sizeof err))
        fail_msg("kafka_writer_new: %s", err);
    static char vals[R_MSGS][16];
    kafka_message *msgs = calloc(R_MSGS, sizeof *msgs);
    for (int i = 0; i < R_MSGS; i++) {
        int len = snprintf(vals[i], sizeof vals[i], "m%d", i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = (size_t)len};
    }
    assert_int_equal(kafka_writer_write_messages(w, msgs, R_MSGS, NULL, 60000), 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    free(msgs);

    rshared s;
    memset(&s, 0, sizeof s);
    kafka_reader_config rcfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .partition = 0,
                                .start_offset = KAFKA_START_FIRST, .max_wait_ms = 100,
                                .max_bytes = 4096 /* many small fetches: more hand-offs */};
    if (kafka_reader_new(&s.r, &rcfg, err, sizeof err))
        fail_msg("kafka_reader_new: %s", err);
    pthread_t obs;
    assert_int_equal(pthread_create(&obs, NULL, reader_observer_main, &s), 0);
    long n = 0;
    kafka_message m;
    kafka_err e = 0;
    while (n < R_MSGS && (e = kafka_reader_read_message(s.r, &m, 10000)) == 0) {
        char want[16];
        int len = snprintf(want, sizeof want, "m%ld", n);
        assert_int_equal(m.offset, n);
        assert_int_equal(m.value_len, (size_t)len);
        assert_memory_equal(m.value, want, (size_t)len);
        n++;
        /* Halfway, let the observer run a while (the fetcher keeps
         * fetching): the whole read can take less than a few rounds. */
        for (int i = 0; n == R_MSGS / 2 && i < 100000 && atomic_load(&s.rounds) < 300 && !atomic_load(&s.bad); i++)
            usleep(100);
    }
    atomic_store(&s.done, true);
    pthread_join(obs, NULL);
    assert_int_equal(e, 0);
    assert_int_equal(n, R_MSGS);
    assert_int_equal(atomic_load(&s.bad), OBS_OK);
    assert_true(atomic_load(&s.rounds) > 0);
    assert_int_equal(kafka_reader_offset(s.r), R_MSGS);
    kafka_reader_stats st;
    kafka_reader_stats_get(s.r, &st);
    assert_int_equal(st.messages, R_MSGS);
    assert_int_equal(kafka_reader_close(s.r), 0);
    free(topic);
}

/* ---- group reader: one library thread; callbacks in the reading thread ---- */

typedef struct gshared {
    kafka_reader *r;
    pthread_t reading;
    atomic_int assigned, callbacks_elsewhere;
    atomic_bool done;
    atomic_int commit_errs;
    const char *topic;
} gshared;

static void g_assigned(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    (void)p;
    gshared *g = priv;
    if (!pthread_equal(pthread_self(), g->reading))
        atomic_fetch_add(&g->callbacks_elsewhere, 1);
    atomic_fetch_add(&g->assigned, (int)n);
}

static void g_revoked(void *priv, kafka_reader *r, const kafka_reader_partition *p, size_t n)
{
    (void)r;
    (void)p;
    (void)n;
    gshared *g = priv;
    if (!pthread_equal(pthread_self(), g->reading))
        atomic_fetch_add(&g->callbacks_elsewhere, 1);
}

/* Commits offset 0 of partition 0 (synchronously: posted to the I/O
 * thread) from another thread while the reading thread reads. */
static void *committer_main(void *p)
{
    gshared *g = p;
    for (int i = 0; i < 3000 && atomic_load(&g->assigned) < 2; i++)
        usleep(10 * 1000);
    for (int i = 0; i < 10 && !atomic_load(&g->done); i++) {
        kafka_message m = {.topic = g->topic, .partition = 0, .offset = 0};
        if (kafka_reader_commit_messages(g->r, &m, 1, 10000) != 0)
            atomic_fetch_add(&g->commit_errs, 1);
        usleep(20 * 1000);
    }
    return NULL;
}

static void test_group_reader_threads(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("threads-g");
    char group[64];
    snprintf(group, sizeof group, "g-%s", topic);
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    kafka_writer *w = NULL;
    char err[256] = "";
    kafka_writer_config wcfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic};
    if (kafka_writer_new(&w, &wcfg, err, sizeof err))
        fail_msg("kafka_writer_new: %s", err);
    static char vals[100][8];
    kafka_message msgs[100];
    for (int i = 0; i < 100; i++) {
        int len = snprintf(vals[i], sizeof vals[i], "m%d", i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = (size_t)len};
    }
    assert_int_equal(kafka_writer_write_messages(w, msgs, 100, NULL, 60000), 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);

    int base = kt_thread_count();
    if (base < 0)
        skip();
    gshared g;
    memset(&g, 0, sizeof g);
    g.reading = pthread_self();
    g.topic = topic;
    kafka_reader_config rcfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .group_id = group,
                                .max_wait_ms = 100, .on_assigned = g_assigned, .on_revoked = g_revoked,
                                .rebalance_privdata = &g};
    if (kafka_reader_new(&g.r, &rcfg, err, sizeof err))
        fail_msg("kafka_reader_new: %s", err);
    /* One library thread, the I/O thread, whatever the mode. */
    assert_int_equal(kt_thread_count() - base, 1);
    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, committer_main, &g), 0);
    int n = 0, peak = 0;
    kafka_message m;
    while (n < 100 && kafka_reader_fetch_message(g.r, &m, 30000) == 0) {
        /* a synchronous commit from the reading thread, every tenth */
        if (n % 10 == 0)
            assert_int_equal(kafka_reader_commit_messages(g.r, &m, 1, 10000), 0);
        n++;
        int t = kt_thread_count() - base;
        if (t > peak)
            peak = t;
    }
    atomic_store(&g.done, true);
    pthread_join(other, NULL);
    assert_int_equal(n, 100);
    assert_true(peak >= 1 && peak <= 2); /* the I/O thread (and the committer while it runs) */
    assert_int_equal(atomic_load(&g.assigned), 2);
    assert_int_equal(atomic_load(&g.commit_errs), 0);
    assert_int_equal(kafka_reader_close(g.r), 0);
    /* on_revoked at close ran in the closing thread: this one */
    assert_int_equal(atomic_load(&g.callbacks_elsewhere), 0);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_writers_with_observer),
        cmocka_unit_test(test_group_reader_threads),
        cmocka_unit_test(test_reader_with_observer),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
