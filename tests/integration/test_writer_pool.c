/* kafka_writer: acknowledged batches are kept and reused with their
 * buffers (include/kafka/writer.h, MEMORY; src/writer/writer.c
 * batch_pool_put / batch_pool_take).
 *
 *  - Content: one writer per codec, with and without a completion
 *    callback, writes rounds of synchronous calls (a call returns only
 *    after its batches were acknowledged and released, so the next round's
 *    batches are pooled ones) of varying sizes: more and fewer messages
 *    than the batch before, longer and shorter keys and values, null and
 *    empty keys and values, rounds with headers (no completion index) and
 *    without. Everything is read back and compared field by field, and
 *    the completion callback must have seen every message's own content:
 *    a stale index, buffer, compressed copy or reference list carried over
 *    from a batch's previous use shows up as wrong bytes or counts.
 *  - Allocations: a counting allocator (kafka_set_allocator, installed in
 *    main before any other libkafka call and left in place: it forwards to
 *    malloc, so nothing is ever freed with the wrong allocator; the test
 *    broker is a child process, so only this process's libkafka counts)
 *    shows that in a steady stream of same-shaped synchronous writes the
 *    batch memory is not allocated again per batch.
 *  - Bounds: the same allocator keeps a count of live bytes
 *    (malloc_usable_size, glibc) and shows that the pool keeps at most
 *    16 batches and at most max_buffered_bytes / 8 bytes of them, however
 *    many batches are released at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <malloc.h>

#include "kafka/alloc.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

/* ---- counting allocator -------------------------------------------------------- */

static atomic_long g_calls;     /* malloc + realloc calls */
static atomic_llong g_bytes;    /* bytes they asked for */
static atomic_long g_big_calls; /* calls asking for >= g_big bytes */
static atomic_llong g_big;
static atomic_llong g_live;     /* usable bytes of the blocks not freed yet */

static void count(size_t n)
{
    atomic_fetch_add(&g_calls, 1);
    atomic_fetch_add(&g_bytes, (long long)n);
    if ((long long)n >= atomic_load(&g_big))
        atomic_fetch_add(&g_big_calls, 1);
}

static void *count_malloc(void *pd, size_t n)
{
    (void)pd;
    count(n);
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&g_live, (long long)malloc_usable_size(p));
    return p;
}

static void *count_realloc(void *pd, void *p, size_t n)
{
    (void)pd;
    count(n);
    long long old = p ? (long long)malloc_usable_size(p) : 0;
    void *q = realloc(p, n);
    if (q)
        atomic_fetch_add(&g_live, (long long)malloc_usable_size(q) - old);
    return q;
}

static void count_free(void *pd, void *p)
{
    (void)pd;
    if (p)
        atomic_fetch_sub(&g_live, (long long)malloc_usable_size(p));
    free(p);
}

typedef struct alloc_snap {
    long calls, big_calls;
    long long bytes;
} alloc_snap;

static alloc_snap snap(void)
{
    return (alloc_snap){atomic_load(&g_calls), atomic_load(&g_big_calls), atomic_load(&g_bytes)};
}

/* ---- the messages ---------------------------------------------------------------- */

#define MAX_MSGS 400
#define TS0 1600000000000LL

/* Message id's fields, a pure function of id and whether its round has
 * headers: null keys, empty keys, keys up to ~300 bytes (2-byte varints);
 * null values, empty values, values up to ~3000 bytes; 1 or 2 headers on
 * some messages of a headers round; timestamp TS0 + 7 * id. */
typedef struct expect {
    bool key_null, value_null;
    size_t key_len, value_len, n_headers;
    uint8_t key[320], value[3100];
    char hkey[2][64], hval[2][64];
    int64_t ts;
} expect;

static expect g_exp[MAX_MSGS];

static void make_expect(uint32_t id, bool headers)
{
    expect *e = &g_exp[id];
    memset(e, 0, sizeof *e);
    e->key_null = id % 7 == 0;
    e->key_len = e->key_null || id % 7 == 1 ? 0 : (id * 13) % 300 + 1;
    for (size_t i = 0; i < e->key_len; i++)
        e->key[i] = (uint8_t)(id * 31 + i);
    e->value_null = id % 11 == 0;
    e->value_len = e->value_null || id % 11 == 1 ? 0 : (id * 389) % 3000 + 4;
    for (size_t i = 0; i < e->value_len; i++)
        e->value[i] = (uint8_t)(id * 17 + i * 3);
    if (e->value_len >= 4) /* the id, so that a misplaced value is easy to name */
        for (int i = 0; i < 4; i++)
            e->value[i] = (uint8_t)(id >> (24 - 8 * i));
    e->n_headers = headers ? id % 3 : 0;
    for (size_t h = 0; h < e->n_headers; h++) {
        snprintf(e->hkey[h], sizeof e->hkey[h], "h%zu-%u", h, id);
        snprintf(e->hval[h], sizeof e->hval[h], "value %u/%zu", id * 5, h);
    }
    e->ts = TS0 + 7 * (int64_t)id;
}

static void to_message(uint32_t id, kafka_message *m, kafka_header hdrs[2])
{
    const expect *e = &g_exp[id];
    *m = (kafka_message){.key = e->key_null ? NULL : e->key,
                         .key_len = e->key_len,
                         .value = e->value_null ? NULL : e->value,
                         .value_len = e->value_len,
                         .timestamp_ms = e->ts};
    for (size_t h = 0; h < e->n_headers; h++)
        hdrs[h] = (kafka_header){.key = e->hkey[h], .key_len = strlen(e->hkey[h]), .value = e->hval[h],
                                 .value_len = strlen(e->hval[h])};
    if (e->n_headers) {
        m->headers = hdrs;
        m->n_headers = e->n_headers;
    }
}

/* Compares m with message id's expected fields; *why names the first
 * difference. */
static bool same_message(const kafka_message *m, uint32_t id, bool check_headers, const char **why)
{
    const expect *e = &g_exp[id];
    if ((m->key == NULL) != e->key_null || m->key_len != e->key_len ||
        (e->key_len && memcmp(m->key, e->key, e->key_len) != 0))
        {
        *why = "key";
        return false;
    }
    if ((m->value == NULL) != e->value_null || m->value_len != e->value_len ||
        (e->value_len && memcmp(m->value, e->value, e->value_len) != 0))
        {
        *why = "value";
        return false;
    }
    if (m->timestamp_ms != e->ts)
        {
        *why = "timestamp";
        return false;
    }
    if (!check_headers)
        return true;
    if (m->n_headers != e->n_headers)
        {
        *why = "header count";
        return false;
    }
    for (size_t h = 0; h < e->n_headers; h++) {
        const kafka_header *x = &m->headers[h];
        if (x->key_len != strlen(e->hkey[h]) || memcmp(x->key, e->hkey[h], x->key_len) != 0 ||
            x->value_len != strlen(e->hval[h]) || memcmp(x->value, e->hval[h], x->value_len) != 0)
            {
        *why = "header";
        return false;
    }
    }
    return true;
}

/* ---- what the completion callback and the topic show ------------------------------ */

/* One partition, no retries: message id is at offset id, and the
 * completion callback reports it with that offset. */
typedef struct reports {
    pthread_mutex_t mu;
    uint32_t n; /* ids written */
    int seen[MAX_MSGS];
    long bad, failed;
} reports;

static void on_complete(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    reports *r = priv;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        const kafka_message *m = &msgs[i];
        const char *why = NULL;
        if (err) {
            r->failed++;
            continue;
        }
        if (m->offset < 0 || m->offset >= (int64_t)r->n) {
            r->bad++;
            continue;
        }
        uint32_t id = (uint32_t)m->offset;
        r->seen[id]++;
        if (!same_message(m, id, true, &why)) {
            if (r->bad++ < 5)
                print_message("completion of message %u: wrong %s\n", id, why);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

typedef struct readback {
    uint32_t n;
    int seen[MAX_MSGS];
    long bad;
} readback;

static void on_read(void *priv, int32_t p, int64_t offset, const kafka_message *m)
{
    readback *r = priv;
    const char *why = NULL;
    (void)p;
    if (offset < 0 || offset >= (int64_t)r->n) {
        r->bad++;
        return;
    }
    uint32_t id = (uint32_t)offset;
    r->seen[id]++;
    if (!same_message(m, id, true, &why) && r->bad++ < 5)
        print_message("read back message %u: wrong %s\n", id, why);
}

/* ---- content through reused batches ------------------------------------------------- */

/* Messages per synchronous call, round after round: with batch_size 10,
 * calls of 1 to 6 batches, growing and shrinking, so pooled batches meet
 * both fewer and more records (and bytes) than they held before. */
static const uint32_t g_rounds[] = {1, 37, 3, 60, 12, 2, 45, 9, 25, 1, 55, 4};
/* Rounds whose messages carry headers (id % 3 != 0): no completion index. */
static bool round_has_headers(size_t r) { return r == 2 || r == 6 || r == 7; }

static void pool_content_case(kt_cluster *kt, kafka_codec codec, bool with_cb)
{
    char *topic = kt_unique_topic("wpool");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    static reports rep;
    memset(&rep, 0, sizeof rep);
    pthread_mutex_init(&rep.mu, NULL);
    kafka_writer_config cfg = {.compression = codec, .batch_size = 10};
    if (with_cb) {
        cfg.completion = on_complete;
        cfg.completion_privdata = &rep;
    }
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    uint32_t id = 0;
    static kafka_message msgs[MAX_MSGS];
    static kafka_header hdrs[MAX_MSGS][2];
    kafka_err errs[MAX_MSGS];
    for (size_t r = 0; r < sizeof g_rounds / sizeof g_rounds[0]; r++) {
        uint32_t first = id;
        for (uint32_t i = 0; i < g_rounds[r]; i++, id++) {
            assert_true(id < MAX_MSGS);
            make_expect(id, round_has_headers(r));
            to_message(id, &msgs[i], hdrs[i]);
        }
        pthread_mutex_lock(&rep.mu);
        rep.n = id;
        pthread_mutex_unlock(&rep.mu);
        assert_int_equal(kafka_writer_write_messages(w, msgs, g_rounds[r], errs, -1), 0);
        for (uint32_t i = 0; i < g_rounds[r]; i++)
            assert_int_equal(errs[i], 0);
        if (with_cb) { /* reported before the call returned */
            pthread_mutex_lock(&rep.mu);
            for (uint32_t i = first; i < id; i++)
                assert_int_equal(rep.seen[i], 1);
            pthread_mutex_unlock(&rep.mu);
        }
    }
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, id);
    assert_int_equal(st.retries, 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    if (with_cb) {
        assert_int_equal(rep.bad, 0);
        assert_int_equal(rep.failed, 0);
        for (uint32_t i = 0; i < id; i++)
            assert_int_equal(rep.seen[i], 1);
    }
    static readback rb;
    memset(&rb, 0, sizeof rb);
    rb.n = id;
    assert_int_equal(kt_read_partition(kt, topic, 0, on_read, &rb), id);
    assert_int_equal(rb.bad, 0);
    for (uint32_t i = 0; i < id; i++)
        assert_int_equal(rb.seen[i], 1);
    pthread_mutex_destroy(&rep.mu);
    free(topic);
}

static void test_pooled_batches_keep_content(void **state)
{
    const kafka_codec codecs[] = {KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4,
                                  KAFKA_CODEC_ZSTD};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++)
        for (int with_cb = 0; with_cb < 2; with_cb++)
            pool_content_case(*state, codecs[c], with_cb);
}

/* ---- allocations in a steady stream ---------------------------------------------------- */

#define AL_MSGS 16     /* messages per call: one batch */
#define AL_VALUE 1000  /* bytes per value: a batch of ~16 KiB */
#define AL_ROUNDS 10

static void noop_complete(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    (void)priv, (void)msgs, (void)n, (void)err;
}

/* 30 synchronous writes of the same shape (16 messages of 1 KB: one
 * batch of ~16 KB each), on a fresh writer: the allocations of rounds
 * 1..10 (metadata, connection, producer id, the first batch), 11..20 and
 * 21..30. Without a completion callback the calling thread sends and
 * reads itself; with one, the writer's threads do (and batches keep a
 * completion index): both paths release into the pool. */
static void steady_allocs_case(kt_cluster *kt, bool with_cb)
{
    char *topic = kt_unique_topic("wpool-alloc");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer_config cfg = {.batch_size = 1000};
    if (with_cb)
        cfg.completion = noop_complete;
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    static uint8_t vals[AL_MSGS][AL_VALUE];
    kafka_message msgs[AL_MSGS];
    for (int i = 0; i < AL_MSGS; i++) {
        memset(vals[i], 'a' + i, AL_VALUE);
        msgs[i] = (kafka_message){.key = "key", .key_len = 3, .value = vals[i], .value_len = AL_VALUE};
    }
    alloc_snap at[3 * AL_ROUNDS + 1];
    for (int r = 0; r < 3 * AL_ROUNDS; r++) {
        at[r] = snap();
        kafka_err errs[AL_MSGS];
        assert_int_equal(kafka_writer_write_messages(w, msgs, AL_MSGS, errs, -1), 0);
    }
    at[3 * AL_ROUNDS] = snap();
    for (int k = 0; k < 3; k++) {
        alloc_snap a = at[k * AL_ROUNDS], b = at[(k + 1) * AL_ROUNDS];
        print_message("%s callback, rounds %d..%d: %.1f allocations, %.0f bytes, %.1f of >= %lld bytes per write\n",
                      with_cb ? "with" : "without", k * AL_ROUNDS + 1, (k + 1) * AL_ROUNDS,
                      (double)(b.calls - a.calls) / AL_ROUNDS, (double)(b.bytes - a.bytes) / AL_ROUNDS,
                      (double)(b.big_calls - a.big_calls) / AL_ROUNDS, (long long)atomic_load(&g_big));
    }
    /* The first writes allocate the batch buffer (the counter sees it:
     * the threshold is half its payload); from round 11 on none does, and
     * what is allocated per write is well under one batch. Measured on
     * e234450 (mock broker): rounds 11..30 allocate 10 blocks, ~4.6 KB,
     * per write, none >= 8000 bytes; with the pool disabled 15 (16 with
     * the callback: the index), ~22 KB, one >= 8000 bytes per write. The
     * 10 that stay are the request's and response's (encoding arrays,
     * request record, body buffer, decoding), which the pool does not
     * cover, so the count itself is not asserted. */
    alloc_snap warm0 = at[0], warm1 = at[AL_ROUNDS], end = at[3 * AL_ROUNDS];
    assert_true(warm1.big_calls - warm0.big_calls >= 1);
    long writes = 2 * AL_ROUNDS;
    if (end.big_calls - warm1.big_calls > 1) /* < 0.05 per batch, for a stray background allocation */
        fail_msg("%ld allocations of >= %lld bytes in %ld steady writes of one batch each",
                 end.big_calls - warm1.big_calls, (long long)atomic_load(&g_big), writes);
    if ((end.bytes - warm1.bytes) / writes >= (long long)AL_MSGS * AL_VALUE / 2)
        fail_msg("%lld bytes allocated per steady write of a %d-byte batch", (end.bytes - warm1.bytes) / writes,
                 AL_MSGS * AL_VALUE);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, 3 * AL_ROUNDS * AL_MSGS);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    free(topic);
}

static void test_steady_stream_reuses_batch_memory(void **state)
{
    atomic_store(&g_big, (long long)AL_MSGS * AL_VALUE / 2);
    steady_allocs_case(*state, false);
    steady_allocs_case(*state, true);
}

/* ---- the pool's bounds ---------------------------------------------------------------- */

/* One synchronous call of n messages of 1 KB, cut into batches of
 * batch_size: every batch is appended before the first is sent, and all
 * are acknowledged and released before the call returns, with no new
 * batch taking from the pool in between. Returns the live bytes the
 * writer holds after the call beyond what it held after a one-message
 * warm-up write (connections, metadata, producer id). */
static long long pool_live_after(kt_cluster *kt, int64_t max_buffered, int batch_size, int n)
{
    char *topic = kt_unique_topic("wpool-bound");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer_config cfg = {.batch_size = batch_size, .batch_bytes = 1 << 20, .max_buffered_bytes = max_buffered};
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    static uint8_t val[1000];
    memset(val, 'v', sizeof val);
    kafka_message *msgs = calloc((size_t)n, sizeof *msgs);
    kafka_err *errs = calloc((size_t)n, sizeof *errs);
    assert_non_null(msgs);
    assert_non_null(errs);
    for (int i = 0; i < n; i++)
        msgs[i] = (kafka_message){.value = val, .value_len = sizeof val};
    assert_int_equal(kafka_writer_write_messages(w, msgs, 1, errs, -1), 0);
    long long base = atomic_load(&g_live);
    assert_int_equal(kafka_writer_write_messages(w, msgs, (size_t)n, errs, -1), 0);
    long long held = atomic_load(&g_live) - base;
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, 1 + n);
    assert_true(st.batches_full + st.batches_sync + st.batches_timeout + st.batches_flush >= 1 + n / batch_size);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    free(msgs);
    free(errs);
    free(topic);
    return held;
}

/* 100 batches of ~10 KB released at once, with a byte share (64 MiB / 8)
 * far above them: the pool keeps at most 16. 16 batches of 10 KB with
 * their buffers at most doubled by growth is 320 KB; 64 KB more for
 * whatever else a call may leave allocated. Without the limit all 100
 * batches (over 1 MB) would stay. */
static void test_pool_keeps_at_most_16_batches(void **state)
{
    long long held = pool_live_after(*state, INT64_C(64) << 20, 10, 1000);
    print_message("100 batches of 10 KB released: %lld bytes held after the call\n", held);
    if (held > 16 * 2 * 10 * 1024 + 64 * 1024)
        fail_msg("%lld bytes still held: more than 16 batches kept", held);
}

/* 15 batches of ~40 KB released at once (under the count limit) with
 * max_buffered_bytes 1 MiB: the pool keeps at most 1 MiB / 8 = 128 KB of
 * them (64 KB of slack as above). Without the limit ~600 KB would stay. */
static void test_pool_keeps_at_most_an_eighth_of_the_buffer(void **state)
{
    long long held = pool_live_after(*state, INT64_C(1) << 20, 40, 600);
    print_message("15 batches of 40 KB released: %lld bytes held after the call\n", held);
    if (held > 128 * 1024 + 64 * 1024)
        fail_msg("%lld bytes still held: more than max_buffered_bytes / 8 kept", held);
}

int main(void)
{
    kafka_set_allocator(&(kafka_allocator){count_malloc, count_realloc, count_free, NULL});
    atomic_store(&g_big, LLONG_MAX);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pooled_batches_keep_content),
        cmocka_unit_test(test_steady_stream_reuses_batch_memory),
        cmocka_unit_test(test_pool_keeps_at_most_16_batches),
        cmocka_unit_test(test_pool_keeps_at_most_an_eighth_of_the_buffer),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
