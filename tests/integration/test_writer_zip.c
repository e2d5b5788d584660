/* kafka_writer with compression workers (compression_workers) against the
 * 3-broker test broker. For every codec, with 1 worker (the I/O thread
 * compresses) and with 4: keyed messages over 4 partitions, some with
 * headers (their batches are reported by decoding the compressed batch,
 * the others from the writer's index), of varied sizes and
 * compressibility (so that workers finish a partition's batches out of
 * order), read back through the conn layer: every message exactly once,
 * each partition in write order, and one completion per message with its
 * content and the offset it was stored at. Then an idempotent writer with
 * 4 workers through leader moves and pushed retriable errors, close with
 * every broker down while workers hold batches, and the configuration
 * checks. Expected values come from what the test wrote and read back,
 * never from the writer. */
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

#include "kafka/conn.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

#define Z_PARTS 4
#define Z_KEYS 13

/* ---- messages: everything derives from the id --------------------------- */

/* Value: the id (4 bytes, big-endian), then id % 301 filler bytes:
 * repetitive for most ids, pseudo-random (incompressible) for ids whose
 * tenth is odd, so batches differ in how long they take to compress. */
static size_t make_value(uint32_t id, uint8_t *v)
{
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)(id >> (24 - 8 * i));
    size_t n = id % 301;
    uint32_t x = id * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        if ((id / 10) % 2) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v[4 + i] = (uint8_t)x;
        } else {
            v[4 + i] = (uint8_t)('a' + i % 7);
        }
    }
    return 4 + n;
}

static size_t make_key(uint32_t id, char *k) { return (size_t)sprintf(k, "key-%u", id % Z_KEYS); }

static bool has_header(uint32_t id) { return id % 97 == 5; }

/* Checks that m is message `id` as written: key, value, header. */
static bool content_ok(uint32_t id, const kafka_message *m)
{
    char k[32];
    uint8_t v[320];
    size_t kl = make_key(id, k), vl = make_value(id, v);
    if (m->key_len != kl || !m->key || memcmp(m->key, k, kl) != 0)
        return false;
    if (m->value_len != vl || memcmp(m->value, v, vl) != 0)
        return false;
    if (!has_header(id))
        return m->n_headers == 0;
    return m->n_headers == 1 && m->headers[0].key_len == 2 && memcmp(m->headers[0].key, "id", 2) == 0 &&
           m->headers[0].value_len == 4 && memcmp(m->headers[0].value, v, 4) == 0;
}

static bool id_of(const kafka_message *m, uint32_t *id)
{
    if (m->value_len < 4 || !m->value)
        return false;
    const uint8_t *v = m->value;
    *id = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    return true;
}

/* ---- completions ---------------------------------------------------------- */

typedef struct zrun {
    pthread_mutex_t mu;
    uint32_t n;
    uint8_t *reported;    /* per id: completions seen */
    int32_t *partition;   /* per id, from the completion */
    int64_t *offset;      /* per id, from the completion */
    long ok, failed, bad; /* bad: unknown id or wrong content */
    kafka_err first_err;
} zrun;

static void zrun_init(zrun *r, uint32_t n)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->n = n;
    r->reported = calloc(n, 1);
    r->partition = calloc(n, sizeof *r->partition);
    r->offset = calloc(n, sizeof *r->offset);
    assert_true(r->reported && r->partition && r->offset);
}

static void zrun_free(zrun *r)
{
    free(r->reported);
    free(r->partition);
    free(r->offset);
    pthread_mutex_destroy(&r->mu);
}

static void completion(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    zrun *r = priv;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        if (!id_of(&msgs[i], &id) || id >= r->n || !content_ok(id, &msgs[i])) {
            r->bad++;
            continue;
        }
        if (r->reported[id] < 255)
            r->reported[id]++;
        r->partition[id] = msgs[i].partition;
        r->offset[id] = msgs[i].offset;
        if (err) {
            if (!r->first_err)
                r->first_err = err;
            r->failed++;
        } else {
            r->ok++;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static long zrun_ok(zrun *r)
{
    pthread_mutex_lock(&r->mu);
    long n = r->ok;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void wait_ok(zrun *r, long n)
{
    for (int i = 0; i < 30000 && zrun_ok(r) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(zrun_ok(r) >= n);
}

/* ---- writer and reading back ----------------------------------------------- */

static kafka_writer *new_writer(kt_cluster *kt, const char *topic, kafka_writer_config cfg, zrun *r)
{
    cfg.async = true;
    cfg.completion = completion;
    cfg.completion_privdata = r;
    if (!cfg.backoff_min_ms)
        cfg.backoff_min_ms = 10;
    if (!cfg.backoff_max_ms)
        cfg.backoff_max_ms = 100;
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    return w;
}

static void write_id(kafka_writer *w, uint32_t id)
{
    char k[32];
    uint8_t v[320];
    size_t kl = make_key(id, k), vl = make_value(id, v);
    kafka_header h = {.key = "id", .key_len = 2, .value = v, .value_len = 4};
    kafka_message m = {.key = k, .key_len = kl, .value = v, .value_len = vl};
    if (has_header(id)) {
        m.headers = &h;
        m.n_headers = 1;
    }
    assert_int_equal(kafka_writer_write_messages(w, &m, 1, NULL, -1), 0);
}

typedef struct zcheck {
    zrun *r;
    uint8_t *seen;
    int64_t prev; /* last id seen in the current partition */
    long total;
} zcheck;

static void check_one(void *priv, int32_t p, int64_t offset, const kafka_message *m)
{
    zcheck *z = priv;
    uint32_t id = 0;
    assert_true(id_of(m, &id));
    assert_true(id < z->r->n);
    assert_true(content_ok(id, m));
    assert_int_equal(z->seen[id], 0);      /* exactly once */
    assert_true((int64_t)id > z->prev);    /* partition order */
    assert_int_equal(z->r->partition[id], p);
    assert_int_equal(z->r->offset[id], offset);
    z->seen[id] = 1;
    z->prev = id;
    z->total++;
}

/* Reads every partition of topic through the conn layer and checks it
 * against the completions: each of ids 0..n-1 exactly once, with its
 * content, at the partition and offset its completion reported; within a
 * partition in id order (one writing thread). */
static void check_topic(kt_cluster *kt, const char *topic, zrun *r)
{
    zcheck z = {.r = r, .seen = calloc(r->n, 1)};
    assert_non_null(z.seen);
    for (int32_t p = 0; p < Z_PARTS; p++) {
        z.prev = -1;
        assert_true(kt_read_partition(kt, topic, p, check_one, &z) >= 0);
    }
    assert_int_equal(z.total, (long)r->n);
    free(z.seen);
}

static void check_completions(zrun *r)
{
    assert_int_equal(r->bad, 0);
    assert_int_equal(r->failed, 0);
    assert_int_equal(r->ok, (long)r->n);
    for (uint32_t i = 0; i < r->n; i++)
        assert_int_equal(r->reported[i], 1);
}

/* ---- every codec, 1 and 4 workers ------------------------------------------- */

#define CODEC_N 12000

static void run_codec(kt_cluster *kt, kafka_codec codec, int workers)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "wz-c%d-w%d", (int)codec, workers);
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, Z_PARTS, 3), 0);
    zrun r;
    zrun_init(&r, CODEC_N);
    /* Small batches: many of them per partition queued at once. */
    kafka_writer *w = new_writer(kt, topic,
                                 (kafka_writer_config){.compression = codec, .compression_workers = workers,
                                                       .batch_size = 150, .batch_timeout_ms = 2},
                                 &r);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.compression_threads, workers == 1 ? 0 : workers);
    for (uint32_t i = 0; i < CODEC_N; i++) {
        write_id(w, i);
        if (i == CODEC_N / 2) /* a flush mid-stream: partial batches too */
            assert_int_equal(kafka_writer_flush(w, 30000), 0);
    }
    assert_int_equal(kafka_writer_flush(w, 60000), 0);
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, CODEC_N);
    assert_int_equal(st.errors, 0);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    check_completions(&r);
    check_topic(kt, topic, &r);
    zrun_free(&r);
    free(topic);
}

static void test_codecs_workers(void **state)
{
    kafka_codec codecs[] = {KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4, KAFKA_CODEC_ZSTD};
    for (size_t c = 0; c < sizeof codecs / sizeof *codecs; c++) {
        run_codec(*state, codecs[c], 1);
        run_codec(*state, codecs[c], 4);
    }
}

/* Uncompressed, workers asked for: none start, and delivery is as usual. */
static void test_no_compression_no_workers(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("wz-none");
    assert_int_equal(kt_cluster_create_topic(kt, topic, Z_PARTS, 3), 0);
    zrun r;
    zrun_init(&r, 3000);
    kafka_writer *w = new_writer(
        kt, topic, (kafka_writer_config){.compression_workers = 4, .batch_size = 100, .batch_timeout_ms = 2}, &r);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.compression_threads, 0);
    for (uint32_t i = 0; i < r.n; i++)
        write_id(w, i);
    assert_int_equal(kafka_writer_close(w, 30000), 0);
    check_completions(&r);
    check_topic(kt, topic, &r);
    zrun_free(&r);
    free(topic);
}

/* Synchronous writes through the workers: each call returns with every
 * message acknowledged (a sealed batch is compressed by a worker, then
 * sent by the I/O thread, which the worker wakes). */
static void test_sync_workers(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("wz-sync");
    assert_int_equal(kt_cluster_create_topic(kt, topic, Z_PARTS, 3), 0);
    zrun r;
    zrun_init(&r, 600);
    kafka_writer_config cfg = {.brokers = kt_cluster_bootstrap(kt), .topic = topic, .completion = completion,
                               .completion_privdata = &r, .compression = KAFKA_CODEC_ZSTD,
                               .compression_workers = 4};
    kafka_writer *w = NULL;
    assert_int_equal(kafka_writer_new(&w, &cfg, NULL, 0), 0);
    /* 100 one-message calls, then 5 calls of 100 messages. */
    char keys[100][32];
    uint8_t vals[100][320];
    kafka_header hdrs[100];
    kafka_message msgs[100];
    kafka_err errs[100];
    uint32_t id = 0;
    for (int call = 0; call < 105; call++) {
        size_t n = call < 100 ? 1 : 100;
        for (size_t i = 0; i < n; i++, id++) {
            size_t kl = make_key(id, keys[i]), vl = make_value(id, vals[i]);
            hdrs[i] = (kafka_header){.key = "id", .key_len = 2, .value = vals[i], .value_len = 4};
            msgs[i] = (kafka_message){.key = keys[i], .key_len = kl, .value = vals[i], .value_len = vl};
            if (has_header(id)) {
                msgs[i].headers = &hdrs[i];
                msgs[i].n_headers = 1;
            }
        }
        assert_int_equal(kafka_writer_write_messages(w, msgs, n, errs, 30000), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(errs[i], 0);
        assert_int_equal(zrun_ok(&r), (long)id); /* acknowledged before the call returned */
    }
    assert_int_equal(id, r.n);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    check_completions(&r);
    check_topic(kt, topic, &r);
    zrun_free(&r);
    free(topic);
}

/* ---- idempotent, 4 workers, through leader moves and pushed errors ----------- */

#define MOVE_N 30000

/* The leaders of partitions 0 and 1 move mid-stream (the old leader then
 * answers NOT_LEADER_OR_FOLLOWER without storing: no broker goes down, so
 * no answer of an appended batch is lost and even the test broker, which
 * does not deduplicate, must end with each message once and in order),
 * then Produce requests fail with pushed retriable errors. With
 * max_in_flight 1 (pushed errors fail one whole request, and the test
 * broker would store the next request of the same partition, already in
 * flight, before the failed one's resend: Kafka would refuse it as out of
 * order). */
static void run_idempotent(kt_cluster *kt, int max_in_flight, bool push_errors)
{
    char *topic = kt_unique_topic("wz-idem");
    assert_int_equal(kt_cluster_create_topic(kt, topic, Z_PARTS, 3), 0);
    for (int p = 0; p < Z_PARTS; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, 1 + p % 3), 0);
    zrun r;
    zrun_init(&r, MOVE_N);
    kafka_writer *w = new_writer(kt, topic,
                                 (kafka_writer_config){.compression = KAFKA_CODEC_LZ4, .compression_workers = 4,
                                                       .batch_size = 200, .batch_timeout_ms = 2,
                                                       .max_in_flight = max_in_flight},
                                 &r);
    for (uint32_t i = 0; i < MOVE_N; i++) {
        if (i == MOVE_N / 3) {
            wait_ok(&r, MOVE_N / 4); /* mid-stream: batches queued, compressing and in flight */
            if (push_errors)
                assert_int_equal(kt_cluster_cmd(kt, "error Produce NOT_LEADER_OR_FOLLOWER REQUEST_TIMED_OUT "
                                                    "NOT_ENOUGH_REPLICAS"),
                                 0);
            else
                assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 3", topic), 0);
        }
        if (i == 2 * MOVE_N / 3) {
            wait_ok(&r, MOVE_N / 2);
            if (push_errors)
                assert_int_equal(kt_cluster_cmd(kt, "error Produce REQUEST_TIMED_OUT NOT_LEADER_OR_FOLLOWER"), 0);
            else
                assert_int_equal(kt_cluster_cmd(kt, "leader %s 1 1", topic), 0);
        }
        write_id(w, i);
    }
    assert_int_equal(kafka_writer_flush(w, 60000), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    print_message("idempotent, %s, max_in_flight %d: retries %lld\n", push_errors ? "pushed errors" : "leader moves",
                  max_in_flight, (long long)st.retries);
    assert_true(st.idempotent);
    assert_int_equal(st.compression_threads, 4);
    assert_true(st.retries >= 1);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    check_completions(&r);
    check_topic(kt, topic, &r);
    zrun_free(&r);
    free(topic);
}

static void test_idempotent_leader_moves(void **state)
{
    KT_REQUIRE_MOCK((kt_cluster *)*state);
    run_idempotent(*state, 0, false);
}

static void test_idempotent_pushed_errors(void **state)
{
    KT_REQUIRE_MOCK((kt_cluster *)*state);
    run_idempotent(*state, 1, true);
}

/* ---- close with every broker down while workers hold batches --------------- */

static void test_close_brokers_down(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("wz-down");
    assert_int_equal(kt_cluster_create_topic(kt, topic, Z_PARTS, 3), 0);
    const uint32_t n = 40000;
    zrun r;
    zrun_init(&r, n);
    /* gzip at level 9 on small batches: compressing all of them takes the
     * workers far longer than close's timeout, so close finds batches
     * queued for the workers and in their hands. */
    kafka_writer *w = new_writer(kt, topic,
                                 (kafka_writer_config){.compression = KAFKA_CODEC_GZIP, .compression_level = 9,
                                                       .compression_workers = 4, .batch_size = 100,
                                                       .batch_timeout_ms = 1, .dial_timeout_ms = 500,
                                                       .read_timeout_ms = 1000, .write_timeout_ms = 1000},
                                 &r);
    write_id(w, 0); /* metadata and connections first */
    assert_int_equal(kafka_writer_flush(w, 10000), 0);
    assert_int_equal(kt_cluster_cmd(kt, "down -1"), 0);
    for (uint32_t i = 1; i < n; i++)
        write_id(w, i);
    kafka_err e = kafka_writer_close(w, 0); /* times out at once: batches in the workers */
    assert_int_equal(kt_cluster_cmd(kt, "up -1"), 0);
    assert_int_equal(e, KAFKA_ERR_TIMEOUT);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.ok + r.failed, (long)n);
    assert_int_equal(r.ok, 1); /* nothing after the down could go */
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(r.reported[i], 1);
    zrun_free(&r);
    free(topic);
}

/* ---- configuration -------------------------------------------------------------- */

static kafka_err try_new(kafka_writer_config cfg, kafka_writer_stats *st)
{
    cfg.brokers = "127.0.0.1:1";
    kafka_writer *w = NULL;
    char err[200] = "";
    kafka_err e = kafka_writer_new(&w, &cfg, err, sizeof err);
    if (e) {
        assert_null(w);
        assert_true(strstr(err, "negative") != NULL);
        return e;
    }
    kafka_writer_stats_get(w, st);
    assert_int_equal(kafka_writer_close(w, 1000), 0);
    return 0;
}

static void test_config(void **state)
{
    (void)state;
    kafka_writer_stats st;
    assert_int_equal(try_new((kafka_writer_config){.compression = KAFKA_CODEC_GZIP, .compression_workers = -1}, &st),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(try_new((kafka_writer_config){.compression_workers = -3}, &st), KAFKA_ERR_INVALID_ARG);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long def = cpus > 4 ? 4 : cpus;
    assert_int_equal(try_new((kafka_writer_config){.compression = KAFKA_CODEC_ZSTD}, &st), 0);
    assert_int_equal(st.compression_threads, def <= 1 ? 0 : def);
    assert_int_equal(try_new((kafka_writer_config){.compression = KAFKA_CODEC_ZSTD, .compression_workers = 1}, &st),
                     0);
    assert_int_equal(st.compression_threads, 0);
    assert_int_equal(try_new((kafka_writer_config){.compression = KAFKA_CODEC_LZ4, .compression_workers = 3}, &st), 0);
    assert_int_equal(st.compression_threads, 3);
    assert_int_equal(try_new((kafka_writer_config){.compression = KAFKA_CODEC_LZ4, .compression_workers = 1000}, &st),
                     0);
    assert_int_equal(st.compression_threads, 32);
    assert_int_equal(try_new((kafka_writer_config){.compression_workers = 8}, &st), 0);
    assert_int_equal(st.compression_threads, 0);
    assert_int_equal(st.compress_time_us, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_codecs_workers),
        cmocka_unit_test(test_no_compression_no_workers),
        cmocka_unit_test(test_sync_workers),
        cmocka_unit_test(test_idempotent_leader_moves),
        cmocka_unit_test(test_idempotent_pushed_errors),
        cmocka_unit_test(test_close_brokers_down),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
