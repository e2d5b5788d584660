/* kafka_writer: asynchronous writes from many threads at once (appending
 * without the writer's lock, to one open batch per partition or, with
 * append_lanes, to one per group of threads) while another thread flushes
 * over and over, then close. Every message carries its (thread, seq) in its
 * key (in its value for the keyless runs); the topic is read back through
 * the conn layer and checked: every accepted message exactly once and
 * nothing else, each thread's messages in call order within a partition,
 * one completion per accepted message, every partition used.
 * Run with round-robin and key-hash partitioning, keyless messages spread
 * sticky by the default balancer (threads of one group share a partition
 * and race on its counters), with and without lanes,
 * and with a buffer small enough that the back-pressure paths (blocking
 * and QUEUE_FULL) run concurrently with the lock-free appends. Without
 * lanes, writes handed from thread to thread stay in order. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kafka/conn.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

#define MT_THREADS 8
#define MT_PARTS 4
#define MT_PER_THREAD 8000

/* ---- ids ------------------------------------------------------------------ */

/* A key holds (thread, seq) as two big-endian u32. */
static void put_id(uint8_t k[8], uint32_t thread, uint32_t seq)
{
    for (int i = 0; i < 4; i++) {
        k[i] = (uint8_t)(thread >> (24 - 8 * i));
        k[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    }
}

static bool get_id(const void *key, size_t len, uint32_t *thread, uint32_t *seq)
{
    if (!key || len != 8)
        return false;
    const uint8_t *k = key;
    *thread = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
    *seq = (uint32_t)k[4] << 24 | (uint32_t)k[5] << 16 | (uint32_t)k[6] << 8 | k[7];
    return *thread < MT_THREADS && *seq < MT_PER_THREAD;
}

/* A message's id: in its key, or in the value of a keyless message. */
static bool msg_id(const kafka_message *m, uint32_t *thread, uint32_t *seq)
{
    return m->key ? get_id(m->key, m->key_len, thread, seq) : get_id(m->value, m->value_len, thread, seq);
}

/* ---- shared state ---------------------------------------------------------- */

typedef struct mt_run {
    kafka_writer *w;
    bool keyless; /* ids in the values, null keys */
    atomic_uchar accepted[MT_THREADS][MT_PER_THREAD]; /* write said 0 */
    atomic_uchar reported[MT_THREADS][MT_PER_THREAD]; /* completions seen */
    atomic_long cb_ok, cb_failed, cb_bad;
    atomic_int writers_left;
    atomic_long flushes, flush_bad;
} mt_run;

static void on_complete(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    mt_run *r = priv;
    for (size_t i = 0; i < n; i++) {
        uint32_t t, q;
        if (!msg_id(&msgs[i], &t, &q)) {
            atomic_fetch_add(&r->cb_bad, 1);
            continue;
        }
        atomic_fetch_add(&r->reported[t][q], 1);
    }
    atomic_fetch_add(err ? &r->cb_failed : &r->cb_ok, (long)n);
}

typedef struct mt_thread {
    mt_run *run;
    uint32_t id;
    int timeout_ms; /* per write call: -1 blocks for space, 0 gets QUEUE_FULL */
    long accepted, full, other;
} mt_thread;

/* Writes MT_PER_THREAD messages, mostly one per call (the append path
 * benchmarks measure), every 16th call a run of 4. */
static void *writer_main(void *p)
{
    mt_thread *a = p;
    uint8_t keys[4][8];
    char val[40];
    memset(val, 'v', sizeof val);
    for (uint32_t q = 0; q < MT_PER_THREAD;) {
        size_t n = (q % 64 == 0 && q + 4 <= MT_PER_THREAD) ? 4 : 1;
        kafka_message m[4];
        kafka_err errs[4];
        for (size_t i = 0; i < n; i++) {
            put_id(keys[i], a->id, q + (uint32_t)i);
            m[i] = (kafka_message){.key = keys[i], .key_len = 8, .value = val, .value_len = 10 + (q + i) % 30};
            if (a->run->keyless)
                m[i] = (kafka_message){.value = keys[i], .value_len = 8};
        }
        kafka_writer_write_messages(a->run->w, m, n, errs, a->timeout_ms);
        for (size_t i = 0; i < n; i++) {
            if (errs[i] == 0) {
                atomic_store(&a->run->accepted[a->id][q + i], 1);
                a->accepted++;
            } else if (errs[i] == KAFKA_ERR_QUEUE_FULL) {
                a->full++;
            } else {
                a->other++;
            }
        }
        q += (uint32_t)n;
    }
    atomic_fetch_sub(&a->run->writers_left, 1);
    return NULL;
}

/* Flushes again and again while the writers run (a flush with writes still
 * coming may time out: that is fine, it must only never lose anything). */
static void *flusher_main(void *p)
{
    mt_run *r = p;
    while (atomic_load(&r->writers_left) > 0) {
        kafka_err e = kafka_writer_flush(r->w, 20);
        if (e != 0 && e != KAFKA_ERR_TIMEOUT)
            atomic_fetch_add(&r->flush_bad, 1); /* checked by the main thread */
        atomic_fetch_add(&r->flushes, 1);
    }
    return NULL;
}

/* ---- read back ------------------------------------------------------------- */

typedef struct mt_seen {
    uint8_t count[MT_THREADS][MT_PER_THREAD];
    int64_t last_seq[MT_THREADS][MT_PARTS];
    long per_part[MT_PARTS];
    long out_of_order, bad, total;
} mt_seen;

static void mt_seen_one(void *priv, int32_t p, int64_t offset, const kafka_message *m)
{
    (void)offset;
    mt_seen *s = priv;
    uint32_t t, q;
    s->total++;
    s->per_part[p]++;
    if (!msg_id(m, &t, &q)) {
        s->bad++;
        return;
    }
    if (s->count[t][q] < 255)
        s->count[t][q]++;
    if ((int64_t)q <= s->last_seq[t][p])
        s->out_of_order++;
    s->last_seq[t][p] = q;
}

/* Reads partition p of topic from offset 0 to its end with the conn layer. */
static void read_partition(kt_cluster *kt, const char *topic, int32_t p, mt_seen *s)
{
    assert_true(kt_read_partition(kt, topic, p, mt_seen_one, s) >= 0);
}

/* ---- the run ------------------------------------------------------------------ */

static void run_mt_ex(kt_cluster *kt, const char *name, kafka_writer_config cfg, bool mixed_timeouts, bool keyless)
{
    char *topic = kt_unique_topic(name);
    assert_int_equal(kt_cluster_create_topic(kt, topic, MT_PARTS, 3), 0);
    mt_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->keyless = keyless;
    cfg.brokers = kt_cluster_bootstrap(kt);
    cfg.topic = topic;
    cfg.async = true;
    cfg.completion = on_complete;
    cfg.completion_privdata = r;
    char err[256] = "";
    assert_int_equal(kafka_writer_new(&r->w, &cfg, err, sizeof err), 0);
    /* Metadata first, so that the threads race on appends, not on it. */
    kafka_message m0 = {.value = "warm", .value_len = 4};
    assert_int_equal(kafka_writer_write_messages(r->w, &m0, 1, NULL, -1), 0);
    assert_int_equal(kafka_writer_flush(r->w, 10000), 0);

    atomic_store(&r->writers_left, MT_THREADS);
    mt_thread th[MT_THREADS];
    pthread_t tid[MT_THREADS], flusher;
    assert_int_equal(pthread_create(&flusher, NULL, flusher_main, r), 0);
    for (uint32_t i = 0; i < MT_THREADS; i++) {
        th[i] = (mt_thread){.run = r, .id = i, .timeout_ms = (mixed_timeouts && i % 2) ? 0 : -1};
        assert_int_equal(pthread_create(&tid[i], NULL, writer_main, &th[i]), 0);
    }
    long accepted = 0, full = 0;
    for (int i = 0; i < MT_THREADS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(th[i].other, 0);
        if (th[i].timeout_ms < 0)
            assert_int_equal(th[i].full, 0); /* blocking writes wait, never fail */
        accepted += th[i].accepted;
        full += th[i].full;
    }
    pthread_join(flusher, NULL);
    assert_int_equal(atomic_load(&r->flush_bad), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(r->w, &st);
    assert_true(st.queue_bytes <= st.queue_capacity || st.queue_length <= 1);
    assert_int_equal(kafka_writer_close(r->w, 30000), 0);
    print_message("%s: %ld accepted, %ld QUEUE_FULL, %ld flushes\n", name, accepted, full, atomic_load(&r->flushes));

    /* One completion per accepted message (plus the warm-up), all ok. */
    assert_int_equal(atomic_load(&r->cb_failed), 0);
    assert_int_equal(atomic_load(&r->cb_bad), 1); /* the keyless warm-up */
    assert_int_equal(atomic_load(&r->cb_ok), accepted + 1);
    for (int t = 0; t < MT_THREADS; t++)
        for (int q = 0; q < MT_PER_THREAD; q++)
            assert_int_equal(atomic_load(&r->reported[t][q]), atomic_load(&r->accepted[t][q]));

    /* What the broker has: every accepted message once, nothing else. */
    mt_seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (int t = 0; t < MT_THREADS; t++)
        for (int p = 0; p < MT_PARTS; p++)
            s->last_seq[t][p] = -1;
    for (int32_t p = 0; p < MT_PARTS; p++)
        read_partition(kt, topic, p, s);
    assert_int_equal(s->bad, 1); /* the warm-up */
    assert_int_equal(s->total, accepted + 1);
    for (int t = 0; t < MT_THREADS; t++)
        for (int q = 0; q < MT_PER_THREAD; q++)
            assert_int_equal(s->count[t][q], atomic_load(&r->accepted[t][q]));
    assert_int_equal(s->out_of_order, 0); /* per partition, each thread's call order */
    for (int p = 0; p < MT_PARTS; p++)
        assert_true(s->per_part[p] > 0); /* every mode here spreads over all partitions */
    free(s);
    free(r);
    free(topic);
}

static void run_mt(kt_cluster *kt, const char *name, kafka_writer_config cfg, bool mixed_timeouts)
{
    run_mt_ex(kt, name, cfg, mixed_timeouts, false);
}

/* The writer's own round-robin spreading (keys ignored). */
static void test_mt_round_robin(void **state)
{
    run_mt(*state, "wmt-rr",
           (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN}, .batch_timeout_ms = 5}, false);
}

static void test_mt_round_robin_lanes(void **state)
{
    run_mt(*state, "wmt-rr-lanes",
           (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN},
                                 .batch_timeout_ms = 5,
                                 .append_lanes = 4},
           false);
}

/* Keys hashed by the default balancer; 3 lanes for 8 threads (threads
 * share lanes). */
static void test_mt_hashed_keys_lanes(void **state)
{
    run_mt(*state, "wmt-hash", (kafka_writer_config){.batch_timeout_ms = 5, .append_lanes = 3}, false);
}

/* A buffer of a few batches: writers block for space (timeout -1) or get
 * QUEUE_FULL (timeout 0) while others append without the writer lock. */
static void test_mt_back_pressure(void **state)
{
    run_mt(*state, "wmt-full",
           (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN},
                                 .batch_timeout_ms = 2,
                                 .max_buffered_bytes = 16384},
           true);
}

static void test_mt_back_pressure_lanes(void **state)
{
    run_mt(*state, "wmt-full-lanes",
           (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN},
                                 .batch_timeout_ms = 2,
                                 .max_buffered_bytes = 16384,
                                 .append_lanes = 8},
           true);
}

/* Keyless messages, default balancer: sticky. Small batches, so that the
 * groups of threads move on often (each move races with the other
 * threads of the group, and all groups take partitions from one
 * rotation). */
static void test_mt_sticky_keyless(void **state)
{
    run_mt_ex(*state, "wmt-sticky", (kafka_writer_config){.batch_timeout_ms = 5, .batch_size = 50}, false, true);
}

/* The same with lanes and a buffer of a few batches (blocking and
 * QUEUE_FULL while others append). */
static void test_mt_sticky_keyless_back_pressure_lanes(void **state)
{
    run_mt_ex(*state, "wmt-sticky-full",
              (kafka_writer_config){.batch_timeout_ms = 2,
                                    .batch_size = 50,
                                    .max_buffered_bytes = 16384,
                                    .append_lanes = 4},
              true, true);
}

/* ---- order across threads (one lane) ------------------------------------------ */

#define HANDOFFS 2000

/* Two threads take turns: each writes message i (same key: same
 * partition) only after the other's write of i-1 returned. With one open
 * batch per partition (append_lanes 0), the partition stores them in that
 * order. */
typedef struct handoff {
    kafka_writer *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t next; /* the message to write next */
    long errors;
} handoff;

typedef struct handoff_arg {
    handoff *h;
    uint32_t parity;
} handoff_arg;

static void *handoff_main(void *p)
{
    handoff_arg *a = p;
    handoff *h = a->h;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (h->next < HANDOFFS && h->next % 2 != a->parity)
            pthread_cond_wait(&h->cv, &h->mu);
        uint32_t i = h->next;
        pthread_mutex_unlock(&h->mu);
        if (i >= HANDOFFS)
            return NULL;
        uint8_t key[8];
        put_id(key, 0, i);
        kafka_message m = {.key = "same", .key_len = 4, .value = key, .value_len = 8};
        if (kafka_writer_write_messages(h->w, &m, 1, NULL, -1) != 0)
            h->errors++;
        pthread_mutex_lock(&h->mu);
        h->next = i + 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

static void test_one_lane_orders_across_threads(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("wmt-handoff");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    handoff h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    kafka_writer_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .async = true,
                               .batch_timeout_ms = 2, .batch_size = 7};
    char err[256] = "";
    assert_int_equal(kafka_writer_new(&h.w, &cfg, err, sizeof err), 0);
    pthread_t t[2];
    handoff_arg args[2] = {{&h, 0}, {&h, 1}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, handoff_main, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(h.errors, 0);
    assert_int_equal(kafka_writer_close(h.w, 30000), 0);

    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000), 0);
    int64_t last = 0;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(last, HANDOFFS);
    uint32_t expect = 0;
    while (kafka_conn_offset(c) < last) {
        kafka_batch *b = NULL;
        kafka_conn_set_timeout(c, 10000);
        assert_int_equal(kafka_conn_read_batch(c, 1, 4 << 20, &b), 0);
        kafka_message m;
        while (kafka_batch_read_message(b, &m) == 0) {
            uint32_t th, q;
            assert_true(get_id(m.value, m.value_len, &th, &q));
            assert_int_equal(q, expect); /* the order of the handoffs */
            expect++;
        }
        assert_int_equal(kafka_batch_close(b), 0);
    }
    assert_int_equal(expect, HANDOFFS);
    kafka_conn_close(c);
    pthread_mutex_destroy(&h.mu);
    pthread_cond_destroy(&h.cv);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mt_round_robin),
        cmocka_unit_test(test_mt_round_robin_lanes),
        cmocka_unit_test(test_mt_hashed_keys_lanes),
        cmocka_unit_test(test_mt_back_pressure),
        cmocka_unit_test(test_mt_back_pressure_lanes),
        cmocka_unit_test(test_mt_sticky_keyless),
        cmocka_unit_test(test_mt_sticky_keyless_back_pressure_lanes),
        cmocka_unit_test(test_one_lane_orders_across_threads),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
