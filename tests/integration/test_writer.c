/* kafka_writer against the 3-broker test broker: delivery exactly once
 * from many threads, sync flush without the batch timer, retries of pushed
 * errors, fatal errors, leadership moves with idempotence, close with every
 * broker down, codecs read back by kcat, bad input. Expected values come
 * from what the test itself wrote and read back through the conn layer or
 * kcat, never from the writer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/conn.h"
#include "kafka/writer.h"
#include "kcat.h"
#include "test_cluster.h"

/* ---- helpers ------------------------------------------------------------ */

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "writer log %d: %s\n", (int)lvl, msg);
}

static kafka_writer *new_writer(kt_cluster *kt, const char *topic, kafka_writer_config cfg)
{
    cfg.brokers = kt_cluster_bootstrap(kt);
    cfg.topic = topic;
    if (!cfg.backoff_min_ms)
        cfg.backoff_min_ms = 20;
    if (!cfg.backoff_max_ms)
        cfg.backoff_max_ms = 200;
    cfg.log = log_cb;
    cfg.log_level = getenv("WRITER_DEBUG") ? KAFKA_LOG_DEBUG : KAFKA_LOG_WARN;
    kafka_writer *w = NULL;
    char err[256] = "";
    kafka_err e = kafka_writer_new(&w, &cfg, err, sizeof err);
    if (e)
        print_message("kafka_writer_new: %s\n", err);
    assert_int_equal(e, 0);
    return w;
}

typedef void (*seen_fn)(void *priv, int32_t partition, int64_t offset, const kafka_message *m);

/* Reads partition p of topic from offset 0 to its end with the conn
 * layer, calling fn for each message. Returns the number read. */
static long read_partition(kt_cluster *kt, const char *topic, int32_t p, seen_fn fn, void *priv)
{
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, p, NULL, 10000), 0);
    int64_t last = 0;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    long n = 0;
    while (kafka_conn_offset(c) < last) {
        kafka_batch *b = NULL;
        kafka_conn_set_timeout(c, 10000);
        assert_int_equal(kafka_conn_read_batch(c, 1, 4 << 20, &b), 0);
        kafka_message m;
        kafka_err e;
        while ((e = kafka_batch_read_message(b, &m)) == 0) {
            fn(priv, p, m.offset, &m);
            n++;
        }
        assert_int_equal(e, KAFKA_ERR_END_OF_PARTITION);
        assert_int_equal(kafka_batch_close(b), 0);
    }
    kafka_conn_close(c);
    return n;
}

/* Messages carry (thread, seq) as two big-endian u32 in the value. */
static void put_id(uint8_t v[8], uint32_t thread, uint32_t seq)
{
    for (int i = 0; i < 4; i++) {
        v[i] = (uint8_t)(thread >> (24 - 8 * i));
        v[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    }
}

static void get_id(const kafka_message *m, uint32_t *thread, uint32_t *seq)
{
    assert_int_equal(m->value_len, 8);
    const uint8_t *v = m->value;
    *thread = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    *seq = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 | (uint32_t)v[6] << 8 | v[7];
}

typedef struct seen {
    uint8_t *count;          /* per id */
    uint32_t per_thread;
    uint32_t threads;
    int64_t last_seq[64][16]; /* [thread][partition]: order check */
    long out_of_order;
} seen;

static void seen_cb(void *priv, int32_t partition, int64_t offset, const kafka_message *m)
{
    (void)offset;
    seen *s = priv;
    uint32_t t, q;
    get_id(m, &t, &q);
    assert_true(t < s->threads && q < s->per_thread);
    if (s->count[(size_t)t * s->per_thread + q] < 255)
        s->count[(size_t)t * s->per_thread + q]++;
    if ((int64_t)q <= s->last_seq[t][partition])
        s->out_of_order++;
    s->last_seq[t][partition] = q;
}

static void seen_init(seen *s, uint32_t threads, uint32_t per_thread)
{
    memset(s, 0, sizeof *s);
    s->threads = threads;
    s->per_thread = per_thread;
    s->count = calloc((size_t)threads * per_thread, 1);
    assert_non_null(s->count);
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 16; j++)
            s->last_seq[i][j] = -1;
}

static long seen_read_topic(kt_cluster *kt, const char *topic, int parts, seen *s)
{
    long n = 0;
    for (int p = 0; p < parts; p++)
        n += read_partition(kt, topic, p, seen_cb, s);
    return n;
}

/* ---- bad input -------------------------------------------------------------- */

static void test_bad_config(void **state)
{
    (void)state;
    kafka_writer *w = (kafka_writer *)1;
    char err[256] = "";
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = ""}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_null(w);
    assert_non_null(strstr(err, "brokers"));
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.topic = "t"}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = "h:1", .compression = (kafka_codec)9},
                                      err, sizeof err),
                     KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = "h:1", .batch_size = -1}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(
        kafka_writer_new(&w, &(kafka_writer_config){.brokers = "h:1", .max_buffered_bytes = -5}, err, sizeof err),
        KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = "h:1", .balancer.kind = KAFKA_BALANCER_CUSTOM},
                                      err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = "nohost"}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_writer_close(NULL, 0), KAFKA_ERR_INVALID_ARG);
}

static void test_bad_messages_nothing_sent(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("w-bad");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){.batch_bytes = 4096});
    static uint8_t big[8192];
    kafka_message msgs[3] = {{.value = "ok", .value_len = 2}, {.value = big, .value_len = sizeof big},
                             {.value = "ok2", .value_len = 3}};
    kafka_err errs[3];
    assert_int_equal(kafka_writer_write_messages(w, msgs, 3, errs, 1000), KAFKA_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(errs[1], KAFKA_ERR_MESSAGE_TOO_LARGE);
    /* A message naming a topic on a writer that has one. */
    kafka_message m2 = {.topic = "other", .value = "x", .value_len = 1};
    assert_int_equal(kafka_writer_write_messages(w, &m2, 1, NULL, 1000), KAFKA_ERR_INVALID_ARG);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.writes, 0);
    assert_int_equal(st.queue_length, 0);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    /* Nothing reached the partition. */
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000), 0);
    int64_t last = -1;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(last, 0);
    kafka_conn_close(c);
    free(topic);
}

/* ---- sync flush ------------------------------------------------------------- */

static void test_sync_one_message_does_not_wait_for_timer(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("w-sync");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){.batch_timeout_ms = 1000});
    kafka_message m = {.key = "k", .key_len = 1, .value = "hello", .value_len = 5};
    kafka_err e = 1;
    assert_int_equal(kafka_writer_write_messages(w, &m, 1, &e, -1), 0);
    assert_int_equal(e, 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    /* The batch left because the synchronous caller was waiting, not by
     * the 1 s timer (behavioural proxy for "about one round trip"). */
    assert_int_equal(st.batches_sync, 1);
    assert_int_equal(st.batches_timeout, 0);
    assert_int_equal(st.messages, 1);
    print_message("sync write: batch time max %lld ms, write time max %lld ms (batch_timeout 1000 ms)\n",
                  (long long)st.batch_time_max, (long long)st.write_time_max);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    free(topic);
}

/* ---- many threads -------------------------------------------------------------- */

#define MT_THREADS 10
#define MT_PER_THREAD 10000
#define MT_CHUNK 100

typedef struct mt_arg {
    kafka_writer *w;
    uint32_t thread;
    long failed;
} mt_arg;

static void *mt_main(void *p)
{
    mt_arg *a = p;
    static __thread uint8_t vals[MT_CHUNK][8];
    kafka_message msgs[MT_CHUNK];
    kafka_err errs[MT_CHUNK];
    for (uint32_t base = 0; base < MT_PER_THREAD; base += MT_CHUNK) {
        for (uint32_t i = 0; i < MT_CHUNK; i++) {
            put_id(vals[i], a->thread, base + i);
            msgs[i] = (kafka_message){.value = vals[i], .value_len = 8};
        }
        if (kafka_writer_write_messages(a->w, msgs, MT_CHUNK, errs, -1) != 0)
            for (int i = 0; i < MT_CHUNK; i++)
                a->failed += errs[i] != 0;
    }
    return NULL;
}

static void test_threads_exactly_once(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("w-mt");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 6, 3), 0);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){.batch_timeout_ms = 5});
    pthread_t th[MT_THREADS];
    mt_arg args[MT_THREADS];
    for (uint32_t i = 0; i < MT_THREADS; i++) {
        args[i] = (mt_arg){w, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, mt_main, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.messages, MT_THREADS * MT_PER_THREAD);
    assert_int_equal(st.errors, 0);
    assert_true(st.idempotent);
    assert_int_equal(kafka_writer_close(w, 10000), 0);

    seen s;
    seen_init(&s, MT_THREADS, MT_PER_THREAD);
    assert_int_equal(seen_read_topic(kt, topic, 6, &s), MT_THREADS * MT_PER_THREAD);
    for (size_t i = 0; i < (size_t)MT_THREADS * MT_PER_THREAD; i++)
        assert_int_equal(s.count[i], 1);
    assert_int_equal(s.out_of_order, 0); /* one thread's writes are sequential */
    free(s.count);
    free(topic);
}

/* ---- retries and fatal errors ---------------------------------------------------- */

static void test_retriable_errors_retried(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-retry");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){0});
    /* 6 NOT_LEADER_OR_FOLLOWER, 19 NOT_ENOUGH_REPLICAS, 7 REQUEST_TIMED_OUT */
    assert_int_equal(kt_cluster_cmd(kt, "error Produce 6 19 7"), 0);
    kafka_message m = {.value = "retry-me", .value_len = 8};
    assert_int_equal(kafka_writer_write_messages(w, &m, 1, NULL, -1), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.messages, 1);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    free(topic);
}

static void test_fatal_error_fails_only_affected(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-fatal");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){0});
    assert_int_equal(kt_cluster_cmd(kt, "error Produce 87"), 0); /* INVALID_RECORD */
    kafka_message m = {.value = "bad", .value_len = 3};
    kafka_err e = 0;
    assert_int_equal(kafka_writer_write_messages(w, &m, 1, &e, -1), KAFKA_ERR_INVALID_RECORD);
    assert_int_equal(e, KAFKA_ERR_INVALID_RECORD);
    /* The next write is not affected. */
    kafka_message m2 = {.value = "good", .value_len = 4};
    assert_int_equal(kafka_writer_write_messages(w, &m2, 1, &e, -1), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.messages, 1);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    free(topic);
}

/* ---- leadership moves --------------------------------------------------------------- */

typedef struct cb_count {
    pthread_mutex_t mu;
    long ok, failed;
} cb_count;

static void count_cb(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    cb_count *c = priv;
    (void)msgs;
    pthread_mutex_lock(&c->mu);
    if (err)
        c->failed += (long)n;
    else
        c->ok += (long)n;
    pthread_mutex_unlock(&c->mu);
}

static void test_leader_moves_no_loss_no_dup(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-move");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 3), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 1", topic), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 1 2", topic), 0);
    cb_count cc = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    kafka_writer *w = new_writer(kt, topic,
                                 (kafka_writer_config){.async = true, .completion = count_cb,
                                                       .completion_privdata = &cc, .batch_size = 50,
                                                       .batch_timeout_ms = 2,
                                                       .balancer.kind = KAFKA_BALANCER_ROUND_ROBIN});
    const uint32_t N = 20000;
    uint8_t v[8];
    for (uint32_t i = 0; i < N; i++) {
        if (i == N / 3) { /* broker 1 goes down; partition 0 moves to 3 */
            assert_int_equal(kt_cluster_cmd(kt, "down 1"), 0);
            assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 3", topic), 0);
        }
        if (i == 2 * N / 3) {
            assert_int_equal(kt_cluster_cmd(kt, "up 1"), 0);
            assert_int_equal(kt_cluster_cmd(kt, "leader %s 1 1", topic), 0);
        }
        put_id(v, 0, i);
        kafka_message m = {.value = v, .value_len = 8};
        assert_int_equal(kafka_writer_write_messages(w, &m, 1, NULL, -1), 0);
    }
    assert_int_equal(kafka_writer_flush(w, 60000), 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    print_message("leader move: retries %lld, dials %lld\n", (long long)st.retries, (long long)st.dials);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(cc.ok + cc.failed, (long)N);

    seen s;
    seen_init(&s, 1, N);
    long n = seen_read_topic(kt, topic, 2, &s);
    long dups = 0, present = 0;
    for (uint32_t i = 0; i < N; i++) {
        present += s.count[i] > 0;
        dups += s.count[i] > 1;
    }
    assert_int_equal(dups, 0);
    assert_int_equal(present, cc.ok); /* every acknowledged message is there */
    assert_int_equal(n, cc.ok);
    assert_int_equal(s.out_of_order, 0);
    free(s.count);
    free(topic);
}

/* ---- close with the cluster gone ------------------------------------------------------ */

static void test_close_all_brokers_down(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-down");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    cb_count cc = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    kafka_writer *w = new_writer(kt, topic,
                                 (kafka_writer_config){.async = true, .completion = count_cb,
                                                       .completion_privdata = &cc, .dial_timeout_ms = 500,
                                                       .read_timeout_ms = 1000, .write_timeout_ms = 1000});
    /* Learn the metadata first, then lose every broker. */
    kafka_message m0 = {.value = "first", .value_len = 5};
    assert_int_equal(kafka_writer_write_messages(w, &m0, 1, NULL, -1), 0);
    assert_int_equal(kafka_writer_flush(w, 10000), 0);
    assert_int_equal(kt_cluster_cmd(kt, "down -1"), 0);
    for (int i = 0; i < 500; i++) {
        kafka_message m = {.value = "lost?", .value_len = 5};
        assert_int_equal(kafka_writer_write_messages(w, &m, 1, NULL, -1), 0);
    }
    kafka_err e = kafka_writer_close(w, 1500);
    assert_int_equal(kt_cluster_cmd(kt, "up -1"), 0);
    assert_int_equal(e, KAFKA_ERR_TIMEOUT);
    assert_int_equal(cc.ok + cc.failed, 501);
    assert_true(cc.failed >= 500 - 0); /* none of the 500 could be delivered */
    free(topic);
}

/* ---- codecs, read back by kcat --------------------------------------------------------- */

static void test_codecs_kcat(void **state)
{
    kt_cluster *kt = *state;
    if (!kt_kcat_path()) {
        print_message("skipped: kcat not found\n");
        skip();
    }
    const kafka_codec codecs[] = {KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4,
                                  KAFKA_CODEC_ZSTD};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        char *topic = kt_unique_topic("w-codec");
        assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
        kafka_writer *w = new_writer(kt, topic, (kafka_writer_config){.compression = codecs[c]});
        char expect[8192] = "";
        size_t el = 0;
        kafka_message msgs[50];
        char vals[50][64], keys[50][16];
        for (int i = 0; i < 50; i++) {
            snprintf(keys[i], sizeof keys[i], "k%d", i);
            snprintf(vals[i], sizeof vals[i], "value %d %s repeated repeated repeated", i, kafka_codec_name(codecs[c]));
            msgs[i] = (kafka_message){.key = keys[i], .key_len = strlen(keys[i]), .value = vals[i],
                                      .value_len = strlen(vals[i])};
            el += (size_t)snprintf(expect + el, sizeof expect - el, "%s=%s\n", keys[i], vals[i]);
        }
        assert_int_equal(kafka_writer_write_messages(w, msgs, 50, NULL, -1), 0);
        assert_int_equal(kafka_writer_close(w, 5000), 0);
        const char *args[] = {"-C", "-b", kt_cluster_bootstrap(kt), "-t", topic, "-p", "0", "-o", "beginning",
                              "-e", "-q", "-f", "%k=%s\n", NULL};
        kt_kcat_result r;
        assert_int_equal(kt_kcat(args, NULL, 0, 30000, &r), 0);
        assert_string_equal(r.out, expect);
        kt_kcat_result_free(&r);
        free(topic);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_bad_messages_nothing_sent),
        cmocka_unit_test(test_sync_one_message_does_not_wait_for_timer),
        cmocka_unit_test(test_retriable_errors_retried),
        cmocka_unit_test(test_fatal_error_fails_only_affected),
        cmocka_unit_test(test_codecs_kcat),
        cmocka_unit_test(test_threads_exactly_once),
        cmocka_unit_test(test_leader_moves_no_loss_no_dup),
        cmocka_unit_test(test_close_all_brokers_down),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
