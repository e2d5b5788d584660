/* kafka_reader in partition mode against the test broker: kcat-written
 * data read back exactly (each codec, keys, headers, timestamps), offsets,
 * lag, seeking, close waking a blocked read, and bad input. */
#include <pthread.h>
#include <stdatomic.h>
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

#define N_MSG 200

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "[reader %d] %s\n", (int)lvl, msg);
}

static kafka_reader *open_reader(kt_cluster *kt, const char *topic, int32_t partition, kafka_reader_config cfg)
{
    cfg.brokers = kt_cluster_bootstrap(kt);
    cfg.topic = topic;
    cfg.partition = partition;
    if (!cfg.max_wait_ms)
        cfg.max_wait_ms = 500;
    if (getenv("KT_LOG")) {
        cfg.log = log_cb;
        cfg.log_level = KAFKA_LOG_DEBUG;
    }
    kafka_reader *r = NULL;
    char err[256] = "";
    kafka_err e = kafka_reader_new(&r, &cfg, err, sizeof err);
    if (e)
        fail_msg("kafka_reader_new: %s: %s", kafka_err_name(e), err);
    return r;
}

/* "k<i>\tv<i>-<codec>" lines. */
static char *make_lines(int n, const char *tag, size_t *len)
{
    char *buf = malloc((size_t)n * 64 + 1);
    size_t off = 0;
    for (int i = 0; i < n; i++)
        off += (size_t)sprintf(buf + off, "k%d\tvalue-%d-%s\n", i, i, tag);
    *len = off;
    return buf;
}

/* Expected timestamps and headers come from kcat's own consumer. */
static void kcat_timestamps(kt_cluster *kt, const char *topic, int n, int64_t *ts)
{
    kt_kcat_result res;
    assert_int_equal(kt_kcat_consume(kt_cluster_bootstrap(kt), topic, 0, n, "%T\n", &res), 0);
    char *p = res.out;
    for (int i = 0; i < n; i++) {
        char *end;
        ts[i] = strtoll(p, &end, 10);
        assert_true(end != p);
        p = end + 1;
    }
    kt_kcat_result_free(&res);
}

static void read_back_codec(kt_cluster *kt, const char *codec)
{
    char *topic = kt_unique_topic("reader-codec");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    size_t len;
    char *lines = make_lines(N_MSG, codec, &len);
    /* Produce with kcat: keys, a header on every message, the codec. */
    const char *args[] = {"-P", "-q", "-b", kt_cluster_bootstrap(kt), "-t", topic, "-p", "0", "-z", codec, "-K",
                          "\t", "-H", "hk=hv", "-H", "nul", NULL};
    kt_kcat_result res;
    int st = kt_kcat(args, lines, len, 60000, &res);
    if (st != 0)
        fail_msg("kcat produce (%s): %s", codec, res.err);
    kt_kcat_result_free(&res);
    int64_t *ts = calloc(N_MSG, sizeof *ts);
    kcat_timestamps(kt, topic, N_MSG, ts);

    kafka_reader *r = open_reader(kt, topic, 0, (kafka_reader_config){0});
    for (int i = 0; i < N_MSG; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 10000);
        if (e) {
            char le[256];
            kafka_reader_last_error(r, le, sizeof le);
            fail_msg("read %d (%s): %s (%s)", i, codec, kafka_err_name(e), le);
        }
        char k[32], v[64];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value-%d-%s", i, codec);
        assert_int_equal(m.offset, i);
        assert_int_equal(m.partition, 0);
        assert_string_equal(m.topic, topic);
        assert_int_equal(m.key_len, strlen(k));
        assert_memory_equal(m.key, k, m.key_len);
        assert_int_equal(m.value_len, strlen(v));
        assert_memory_equal(m.value, v, m.value_len);
        assert_int_equal(m.timestamp_ms, ts[i]);
        assert_int_equal(m.n_headers, 2);
        assert_int_equal(m.headers[0].key_len, 2);
        assert_memory_equal(m.headers[0].key, "hk", 2);
        assert_int_equal(m.headers[0].value_len, 2);
        assert_memory_equal(m.headers[0].value, "hv", 2);
        assert_memory_equal(m.headers[1].key, "nul", 3);
        assert_null(m.headers[1].value);
    }
    assert_int_equal(kafka_reader_offset(r), N_MSG);
    /* Nothing more: a short read times out. */
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, 200), KAFKA_ERR_TIMEOUT);
    assert_int_equal(kafka_reader_lag(r), 0);
    kafka_reader_stats st2;
    kafka_reader_stats_get(r, &st2);
    assert_int_equal(st2.messages, N_MSG);
    assert_true(st2.fetches >= 1);
    assert_int_equal(kafka_reader_close(r), 0);
    free(ts);
    free(lines);
    free(topic);
}

static void test_read_none(void **state) { read_back_codec(*state, "none"); }
static void test_read_gzip(void **state) { read_back_codec(*state, "gzip"); }
static void test_read_snappy(void **state) { read_back_codec(*state, "snappy"); }
static void test_read_lz4(void **state) { read_back_codec(*state, "lz4"); }
static void test_read_zstd(void **state) { read_back_codec(*state, "zstd"); }

static void produce_plain(kt_cluster *kt, const char *topic, int partition, int from, int n)
{
    char *buf = malloc((size_t)n * 32 + 1);
    size_t off = 0;
    for (int i = from; i < from + n; i++)
        off += (size_t)sprintf(buf + off, "m%d\n", i);
    kt_kcat_result res;
    if (kt_kcat_produce(kt_cluster_bootstrap(kt), topic, partition, NULL, buf, off, NULL, &res) != 0)
        fail_msg("kcat produce: %s", res.err);
    kt_kcat_result_free(&res);
    free(buf);
}

static int64_t value_num(const kafka_message *m)
{
    char tmp[32];
    size_t n = m->value_len < sizeof tmp - 1 ? m->value_len : sizeof tmp - 1;
    memcpy(tmp, m->value, n);
    tmp[n] = 0;
    return strtoll(tmp + 1, NULL, 10);
}

static void test_offsets_seek_and_lag(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("reader-seek");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    produce_plain(kt, topic, 1, 0, 100);

    /* Start at an explicit offset. */
    kafka_reader *r = open_reader(kt, topic, 1, (kafka_reader_config){.start_offset = KAFKA_START_AT, .start_at = 40});
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
    assert_int_equal(m.offset, 40);
    assert_int_equal(value_num(&m), 40);
    int64_t lag = -1;
    assert_int_equal(kafka_reader_read_lag(r, &lag, 10000), 0);
    assert_int_equal(lag, 100 - 41);

    /* Seek back, then to the end. */
    assert_int_equal(kafka_reader_set_offset(r, 5), 0);
    assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
    assert_int_equal(m.offset, 5);
    assert_int_equal(kafka_reader_offset(r), 6);
    assert_int_equal(kafka_reader_set_offset(r, KAFKA_OFFSET_LAST), 0);
    assert_int_equal(kafka_reader_read_message(r, &m, 300), KAFKA_ERR_TIMEOUT);
    /* LAST is resolved by the fetcher (offset() is -1 until then): wait
     * for it so the next message is produced after the resolution. */
    for (int i = 0; i < 200 && kafka_reader_offset(r) < 0; i++)
        usleep(50 * 1000);
    assert_int_equal(kafka_reader_offset(r), 100);
    produce_plain(kt, topic, 1, 100, 1);
    kafka_err e = kafka_reader_read_message(r, &m, 10000);
    if (e) {
        kafka_reader_stats s;
        kafka_reader_stats_get(r, &s);
        fail_msg("read after seek to last: %s offset %lld fetches %lld lag %lld", kafka_err_name(e),
                 (long long)kafka_reader_offset(r), (long long)s.fetches, (long long)s.lag);
    }
    assert_int_equal(m.offset, 100);
    assert_int_equal(value_num(&m), 100);

    /* By time: every message is older than "now + 1 h": the end. */
    assert_int_equal(kafka_reader_set_offset_at(r, kafka_unix_ms() + 3600 * 1000, 10000), 0);
    assert_int_equal(kafka_reader_read_message(r, &m, 300), KAFKA_ERR_TIMEOUT);
    /* Time 0: the first message. librdkafka's mock answers ListOffsets only
     * for EARLIEST/LATEST (-1 for a time), so this needs a real broker. */
    if (!kt_cluster_is_mock(kt)) {
        assert_int_equal(kafka_reader_set_offset_at(r, 0, 10000), 0);
        assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
        assert_int_equal(m.offset, 0);
    }

    /* Group-only calls are refused in partition mode. */
    assert_int_equal(kafka_reader_commit_messages(r, &m, 1, 1000), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_reader_close(r), 0);

    /* Start LAST: only new messages. */
    r = open_reader(kt, topic, 1, (kafka_reader_config){.start_offset = KAFKA_START_LAST});
    assert_int_equal(kafka_reader_read_message(r, &m, 500), KAFKA_ERR_TIMEOUT);
    for (int i = 0; i < 200 && kafka_reader_offset(r) < 0; i++)
        usleep(50 * 1000);
    assert_int_equal(kafka_reader_offset(r), 101);
    produce_plain(kt, topic, 1, 101, 1);
    assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
    assert_int_equal(m.offset, 101);
    kafka_reader_close(r);

    /* Out of range start: reset to the nearest end (the high-water mark). */
    r = open_reader(kt, topic, 1, (kafka_reader_config){.start_offset = KAFKA_START_AT, .start_at = 5000});
    assert_int_equal(kafka_reader_read_message(r, &m, 1000), KAFKA_ERR_TIMEOUT);
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    assert_true(st.offset_resets >= 1);
    assert_int_equal(kafka_reader_offset(r), 102);
    kafka_reader_close(r);
    free(topic);
}

/* ---- set_offset from another thread while read_message runs ------------- */

#define SEEK_MSGS 1000
#define SEEKS 3000

typedef struct seek_shared {
    kafka_reader *r;
    atomic_uint gen;        /* seqlock: odd while a seek is in progress */
    _Atomic int64_t target; /* the last completed seek's offset */
    atomic_long delivered;  /* messages the reading thread got */
    atomic_long snap;       /* `delivered` when the last seek began */
    atomic_bool done;
    atomic_int err;
} seek_shared;

/* Waits (at most 5 s) until the reading thread got `n` more messages;
 * false if it did not. Two after a completed seek guarantee a clean read:
 * the second one began after the first was counted, hence after the seek. */
static bool await_reads(seek_shared *s, long n)
{
    long from = atomic_load(&s->delivered);
    for (int ms = 0; ms < 5000 && !atomic_load(&s->err); ms++) {
        if (atomic_load(&s->delivered) - from >= n)
            return true;
        usleep(1000);
    }
    return false;
}

static void *seeker(void *arg)
{
    seek_shared *s = arg;
    unsigned seed = 20261122;
    bool patient = true; /* false once the reader failed to keep up: the test then fails on `checked` */
    for (int i = 0; i < SEEKS && !atomic_load(&s->err); i++) {
        int64_t t = rand_r(&seed) % (SEEK_MSGS - 100);
        atomic_fetch_add(&s->gen, 1);
        atomic_store(&s->snap, atomic_load(&s->delivered));
        kafka_err e = kafka_reader_set_offset(s->r, t);
        if (e)
            atomic_store(&s->err, e);
        atomic_store(&s->target, t);
        atomic_fetch_add(&s->gen, 1);
        /* Sometimes let the reader get ahead, sometimes pause briefly,
         * else seek back to back. Waiting for reads (not sleeping) keeps
         * the number of clean reads checked independent of how fast the
         * reader refetches after a seek (slow under ThreadSanitizer). */
        unsigned pace = (unsigned)rand_r(&seed) % 4;
        if (pace == 0 && patient)
            patient = await_reads(s, 2);
        else if (pace == 1)
            usleep((useconds_t)(rand_r(&seed) % 300));
    }
    atomic_store(&s->done, true);
    return NULL;
}

/* Several thousand seeks while another thread reads. A read that no seek
 * overlapped (the seqlock generation is the same, and even, before and
 * after it) must deliver from the last seek's position: the message right
 * after the previous one if that read was also clean under the same seek,
 * else an offset in [target, target + messages delivered since the seek
 * began). Every message must be the one at its offset. */
static void test_seek_while_reading(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("reader-seek-race");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    produce_plain(kt, topic, 0, 0, SEEK_MSGS);
    kafka_reader *r = open_reader(kt, topic, 0, (kafka_reader_config){.max_wait_ms = 20});
    seek_shared s = {.r = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, seeker, &s), 0);
    int64_t prev = -1;
    unsigned prev_gen = 1; /* odd: no clean read yet */
    long checked = 0;
    while (!atomic_load(&s.done)) {
        unsigned g0 = atomic_load(&s.gen);
        int64_t target = atomic_load(&s.target);
        long snap = atomic_load(&s.snap);
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 100);
        unsigned g1 = atomic_load(&s.gen);
        if (e == KAFKA_ERR_TIMEOUT)
            continue; /* at the end of the log: the position is unchanged */
        assert_int_equal(e, 0);
        long d = atomic_fetch_add(&s.delivered, 1) + 1;
        assert_int_equal(value_num(&m), m.offset);
        if (g0 != g1 || (g0 & 1)) {
            prev_gen = 1;
            continue;
        }
        if (prev_gen == g0) {
            if (m.offset != prev + 1)
                fail_msg("seek gen %u: offset %lld after %lld", g0, (long long)m.offset, (long long)prev);
        } else if (m.offset < target || m.offset > target + (d - snap - 1)) {
            fail_msg("seek gen %u to %lld: first clean read gave %lld (%ld delivered since the seek began)", g0,
                     (long long)target, (long long)m.offset, d - snap);
        }
        prev_gen = g0;
        prev = m.offset;
        checked++;
    }
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&s.err), 0);
    assert_true(checked > SEEKS / 10);
    /* Quiet now: a seek then reads give exactly the sequence from it. */
    assert_int_equal(kafka_reader_set_offset(r, 10), 0);
    for (int64_t i = 10; i < 40; i++) {
        kafka_message m;
        assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
        assert_int_equal(m.offset, i);
        assert_int_equal(value_num(&m), i);
    }
    assert_int_equal(kafka_reader_offset(r), 40);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

/* A seek takes effect at once although the Fetch for the old position is
 * parked at the end of the log for max_wait_ms (Kafka answers a
 * connection's requests in order, so the reader cuts that Fetch short
 * rather than wait behind it): with max_wait at 10 minutes, the read
 * after the seek gets its message well within its 60 s timeout. */
static void test_seek_cuts_long_poll(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("reader-seek-poll");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    produce_plain(kt, topic, 0, 0, 20);
    kafka_reader *r = open_reader(kt, topic, 0, (kafka_reader_config){.max_wait_ms = 600000});
    kafka_message m;
    for (int64_t i = 0; i < 20; i++) {
        assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
        assert_int_equal(m.offset, i);
    }
    /* The Fetch at offset 20 is now parked on the broker. */
    assert_int_equal(kafka_reader_read_message(r, &m, 300), KAFKA_ERR_TIMEOUT);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(kafka_reader_set_offset(r, round ? 7 : KAFKA_OFFSET_FIRST), 0);
        for (int64_t i = round ? 7 : 0; i < 20; i++) {
            assert_int_equal(kafka_reader_read_message(r, &m, 60000), 0);
            assert_int_equal(m.offset, i);
            assert_int_equal(value_num(&m), i);
        }
        assert_int_equal(kafka_reader_read_message(r, &m, 300), KAFKA_ERR_TIMEOUT);
    }
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

static void *closer(void *arg)
{
    usleep(300 * 1000);
    kafka_reader_close(arg);
    return NULL;
}

static void test_close_wakes_read(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("reader-close");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_reader *r = open_reader(kt, topic, 0, (kafka_reader_config){.max_wait_ms = 10000});
    pthread_t t;
    pthread_create(&t, NULL, closer, r);
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, -1), KAFKA_ERR_CLOSED);
    pthread_join(t, NULL);
    free(topic);
}

static void test_leader_moves(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("reader-leader");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    produce_plain(kt, topic, 0, 0, 50);
    kafka_reader *r = open_reader(kt, topic, 0, (kafka_reader_config){.backoff_min_ms = 20, .backoff_max_ms = 200});
    kafka_message m;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
        assert_int_equal(m.offset, i);
    }
    /* Move the leader and push fetch errors: the reader retries. */
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 2", topic), 0);
    assert_int_equal(kt_cluster_cmd(kt, "error 1 NOT_LEADER_OR_FOLLOWER NOT_LEADER_OR_FOLLOWER"), 0);
    produce_plain(kt, topic, 0, 50, 50);
    for (int i = 50; i < 100; i++) {
        kafka_err e = kafka_reader_read_message(r, &m, 20000);
        if (e) {
            char le[256];
            kafka_reader_last_error(r, le, sizeof le);
            fail_msg("read after leader move: %s (%s)", kafka_err_name(e), le);
        }
        assert_int_equal(m.offset, i);
        assert_int_equal(value_num(&m), i);
    }
    kt_cluster_cmd(kt, "clear_errors 1");
    kafka_reader_close(r);
    free(topic);
}

static void test_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_reader *r = NULL;
    char err[256];
    const char *b = kt_cluster_bootstrap(kt);
    assert_int_equal(kafka_reader_new(&r, &(kafka_reader_config){.brokers = b, .topic = "t", .partition = -1}, err,
                                      sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "partition"));
    assert_null(r);
    assert_int_equal(kafka_reader_new(&r,
                                      &(kafka_reader_config){.brokers = b, .topic = "t", .partition = 2, .group_id = "g"},
                                      err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "not both"));
    assert_int_equal(kafka_reader_new(&r, &(kafka_reader_config){.topic = "t"}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_reader_new(&r, &(kafka_reader_config){.brokers = b}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    const char *bad_assignor[] = {"sticky-ish"};
    assert_int_equal(kafka_reader_new(&r,
                                      &(kafka_reader_config){.brokers = b, .topic = "t", .group_id = "g",
                                                             .assignors = bad_assignor, .n_assignors = 1},
                                      err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    /* Unknown topic (the mock auto-creates topics named in Metadata, so on
     * the mock an out-of-range partition stands in for it). */
    char *topic = kt_unique_topic("reader-bad");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 1), 0);
    assert_int_equal(kafka_reader_new_checked(&r, &(kafka_reader_config){.brokers = b, .topic = topic, .partition = 7},
                                              10000, err, sizeof err),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(r);
    assert_int_equal(kafka_reader_new_checked(&r, &(kafka_reader_config){.brokers = b, .topic = topic, .partition = 1},
                                              10000, err, sizeof err),
                     0);
    kafka_reader_close(r);
    free(topic);
}

static void test_message_copy(void **state)
{
    (void)state;
    kafka_header h[2] = {{"a", 1, "xy", 2}, {"b", 1, NULL, 0}};
    kafka_message src = {.topic = "tp", .partition = 3, .offset = 9, .key = "key", .key_len = 3,
                         .value = NULL, .value_len = 0, .headers = h, .n_headers = 2, .timestamp_ms = 77};
    kafka_message c;
    assert_int_equal(kafka_message_copy(&c, &src), 0);
    assert_string_equal(c.topic, "tp");
    assert_ptr_not_equal(c.topic, src.topic);
    assert_memory_equal(c.key, "key", 3);
    assert_null(c.value);
    assert_int_equal(c.n_headers, 2);
    assert_memory_equal(c.headers[0].value, "xy", 2);
    assert_null(c.headers[1].value);
    assert_int_equal(c.offset, 9);
    kafka_message_free(&c);
    assert_null(c.topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_copy),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_read_none),
        cmocka_unit_test(test_read_gzip),
        cmocka_unit_test(test_read_snappy),
        cmocka_unit_test(test_read_lz4),
        cmocka_unit_test(test_read_zstd),
        cmocka_unit_test(test_offsets_seek_and_lag),
        cmocka_unit_test(test_seek_while_reading),
        cmocka_unit_test(test_seek_cuts_long_poll),
        cmocka_unit_test(test_close_wakes_read),
        cmocka_unit_test(test_leader_moves),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
