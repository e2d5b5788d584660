/* kafka_writer, synchronous writes: the call seals its batch and wakes
 * the writer's one I/O thread (the engine's), which sends it at once and
 * handles the response as it arrives. Checked here: several threads
 * writing synchronously at once, while another thread flushes over and
 * over, with every message read back exactly once and each thread's
 * messages in call order; and a pushed error reaching exactly the call
 * whose batch it hit, the I/O done by the writer's thread, never by the
 * caller. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/conn.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

#define SY_THREADS 6
#define SY_PARTS 3
#define SY_PER_THREAD 600

/* ---- log: which thread sent or failed a batch ------------------------------ */

typedef struct sy_log {
    pthread_mutex_t mu;
    pthread_t caller;     /* the thread whose sends are counted */
    int sent_by_caller;   /* "sent ..." lines logged on `caller` */
    int sent_elsewhere;
} sy_log;

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    sy_log *l = priv;
    if (lvl <= KAFKA_LOG_WARN)
        fprintf(stderr, "writer log %d: %s\n", (int)lvl, msg);
    if (!l || strncmp(msg, "sent ", 5) != 0)
        return;
    pthread_mutex_lock(&l->mu);
    if (pthread_equal(pthread_self(), l->caller))
        l->sent_by_caller++;
    else
        l->sent_elsewhere++;
    pthread_mutex_unlock(&l->mu);
}

static kafka_writer *new_writer(kt_cluster *kt, const char *topic, kafka_writer_config cfg, sy_log *l)
{
    cfg.log = log_cb;
    cfg.log_privdata = l;
    cfg.log_level = l ? KAFKA_LOG_DEBUG : KAFKA_LOG_WARN;
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    return w;
}

/* ---- reading back ------------------------------------------------------------ */

/* A value holds (thread, seq) as two big-endian u32. */
static void put_id(uint8_t v[8], uint32_t thread, uint32_t seq)
{
    for (int i = 0; i < 4; i++) {
        v[i] = (uint8_t)(thread >> (24 - 8 * i));
        v[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    }
}

typedef struct seen {
    uint8_t count[SY_THREADS][SY_PER_THREAD];
    int64_t last[SY_THREADS]; /* last seq of each thread, over the topic:
                                 sync calls of one thread are sequential */
    long out_of_order, bad;
} seen;

typedef struct seen_arg {
    seen *s;
    int64_t (*last)[SY_THREADS];
} seen_arg;

static void seen_one(void *priv, int32_t partition, int64_t offset, const kafka_message *m)
{
    (void)partition;
    (void)offset;
    seen_arg *a = priv;
    seen *s = a->s;
    const uint8_t *v = m->value;
    if (m->value_len != 8) {
        s->bad++;
        return;
    }
    uint32_t t = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    uint32_t q = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 | (uint32_t)v[6] << 8 | v[7];
    if (t >= SY_THREADS || q >= SY_PER_THREAD) {
        s->bad++;
        return;
    }
    if (s->count[t][q] < 255)
        s->count[t][q]++;
    if ((int64_t)q <= (*a->last)[t])
        s->out_of_order++;
    (*a->last)[t] = q;
}

/* Reads partition p of topic from offset 0 to its end. */
static long read_partition(kt_cluster *kt, const char *topic, int32_t p, seen *s, int64_t (*last)[SY_THREADS])
{
    seen_arg a = {s, last};
    long n = kt_read_partition(kt, topic, p, seen_one, &a);
    assert_true(n >= 0);
    return n;
}

/* ---- several synchronous writers, a flusher ----------------------------------- */

typedef struct sy_arg {
    kafka_writer *w;
    uint32_t thread;
    long failed;
} sy_arg;

static atomic_int g_writers_left;

/* Writes SY_PER_THREAD messages in calls of 1, 2 and 3 messages. */
static void *writer_main(void *p)
{
    sy_arg *a = p;
    uint8_t vals[3][8];
    kafka_message msgs[3];
    kafka_err errs[3];
    for (uint32_t seq = 0; seq < SY_PER_THREAD;) {
        uint32_t n = 1 + (seq + a->thread) % 3;
        if (n > SY_PER_THREAD - seq)
            n = SY_PER_THREAD - seq;
        for (uint32_t i = 0; i < n; i++) {
            put_id(vals[i], a->thread, seq + i);
            msgs[i] = (kafka_message){.value = vals[i], .value_len = 8};
        }
        if (kafka_writer_write_messages(a->w, msgs, n, errs, -1) != 0)
            for (uint32_t i = 0; i < n; i++)
                a->failed += errs[i] != 0;
        seq += n;
    }
    atomic_fetch_sub(&g_writers_left, 1);
    return NULL;
}

/* Flushes until the writers are done: flushes seal the callers' open
 * batches early, while their own writes seal and wake the I/O thread. */
static void *flusher_main(void *p)
{
    kafka_writer *w = p;
    while (atomic_load(&g_writers_left) > 0)
        assert_int_equal(kafka_writer_flush(w, 10000), 0);
    return NULL;
}

static void run_threads(kt_cluster *kt, kafka_writer_config cfg)
{
    char *topic = kt_unique_topic("w-sync");
    assert_int_equal(kt_cluster_create_topic(kt, topic, SY_PARTS, 3), 0);
    kafka_writer *w = new_writer(kt, topic, cfg, NULL);
    pthread_t th[SY_THREADS], fl;
    sy_arg args[SY_THREADS];
    atomic_store(&g_writers_left, SY_THREADS);
    for (uint32_t i = 0; i < SY_THREADS; i++) {
        args[i] = (sy_arg){w, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
    }
    assert_int_equal(pthread_create(&fl, NULL, flusher_main, w), 0);
    for (int i = 0; i < SY_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    pthread_join(fl, NULL);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, SY_THREADS * SY_PER_THREAD);
    assert_int_equal(st.errors, 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);

    seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    long n = 0;
    for (int p = 0; p < SY_PARTS; p++) {
        int64_t last[SY_THREADS];
        for (int t = 0; t < SY_THREADS; t++)
            last[t] = -1;
        n += read_partition(kt, topic, p, s, &last);
    }
    assert_int_equal(n, SY_THREADS * SY_PER_THREAD);
    assert_int_equal(s->bad, 0);
    for (int t = 0; t < SY_THREADS; t++)
        for (int q = 0; q < SY_PER_THREAD; q++)
            assert_int_equal(s->count[t][q], 1);
    /* A call returns after its messages are stored: each thread's later
     * messages come later in every partition. */
    assert_int_equal(s->out_of_order, 0);
    free(s);
    free(topic);
}

static void test_sync_threads_with_flusher(void **state)
{
    run_threads(*state, (kafka_writer_config){0}); /* idempotent, round-robin */
}

static void test_sync_threads_one_in_flight(void **state)
{
    /* Callers wait behind each other's in-flight batch: the I/O thread
     * sends the next when the response frees the slot. */
    run_threads(*state, (kafka_writer_config){.max_in_flight = 1, .disable_idempotence = true});
}

/* ---- a pushed error reaches exactly its caller ------------------------------- */

typedef struct ok_arg {
    kafka_writer *w;
    long failed;
} ok_arg;

static void *ok_main(void *p)
{
    ok_arg *a = p;
    for (int i = 0; i < 100; i++) {
        kafka_message m = {.value = "fine", .value_len = 4};
        kafka_err e = 0;
        if (kafka_writer_write_messages(a->w, &m, 1, &e, -1) != 0 || e != 0)
            a->failed++;
    }
    return NULL;
}

static void test_sync_error_reaches_its_caller(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-sync-err");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    sy_log l = {.caller = pthread_self()};
    pthread_mutex_init(&l.mu, NULL);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){0}, &l);
    /* Warm up: metadata, connection, producer id (the I/O thread's job). */
    kafka_message warm = {.value = "warm", .value_len = 4};
    assert_int_equal(kafka_writer_write_messages(w, &warm, 1, NULL, -1), 0);

    pthread_mutex_lock(&l.mu);
    int before = l.sent_by_caller;
    pthread_mutex_unlock(&l.mu);
    assert_int_equal(kt_cluster_cmd(kt, "error Produce 87"), 0); /* INVALID_RECORD */
    kafka_message m[3] = {{.value = "a", .value_len = 1}, {.value = "b", .value_len = 1}, {.value = "c", .value_len = 1}};
    kafka_err e[3] = {0, 0, 0};
    assert_int_equal(kafka_writer_write_messages(w, m, 3, e, -1), KAFKA_ERR_INVALID_RECORD);
    for (int i = 0; i < 3; i++)
        assert_int_equal(e[i], KAFKA_ERR_INVALID_RECORD);
    /* The writer's I/O thread sent it: the caller ran no I/O. */
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.sent_by_caller, before);
    pthread_mutex_unlock(&l.mu);

    /* A retriable error is retried for the caller that read it. */
    assert_int_equal(kt_cluster_cmd(kt, "error Produce 6 7"), 0);
    kafka_err e1 = -1;
    assert_int_equal(kafka_writer_write_messages(w, &m[0], 1, &e1, -1), 0);
    assert_int_equal(e1, 0);

    /* Nobody else is affected: concurrent callers all succeed. */
    pthread_t th[4];
    ok_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (ok_arg){w, 0};
        assert_int_equal(pthread_create(&th[i], NULL, ok_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.errors, 3);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.messages, 1 + 1 + 400);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    pthread_mutex_destroy(&l.mu);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_threads_with_flusher),
        cmocka_unit_test(test_sync_threads_one_in_flight),
        cmocka_unit_test(test_sync_error_reaches_its_caller),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
