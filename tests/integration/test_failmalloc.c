/* Allocation failures (nghttp2's failmalloc tests) against the test
 * broker: for the main entry points of conn (dial, produce, fetch), writer
 * (new, synchronous write; asynchronous compressed write with a
 * completion callback; close) and reader (new, read of a gzip batch,
 * close), fail the
 * Nth allocation for N = 1, 2, ... until a run no longer reaches an Nth
 * allocation. Every run must return KAFKA_ERR_NOMEM, or succeed, or (for
 * the objects whose background threads retry) fail with the clean error
 * their documentation names; nothing may crash, hang or leak (the ASan
 * build's leak check runs at exit). The number of distinct failing call
 * stacks is printed: the out-of-memory paths reached. To list the
 * allocation call sites behind them: KT_FAILMALLOC_STACKS=/tmp/s.txt, then
 * addr2line on its object+offset frames (tests/support/failmalloc.h).
 *
 * The broker is another process: only our allocations fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failmalloc.h"
#include "kafka/kafka.h"
#include "test_cluster.h"

/* Beyond this, a scenario is considered to loop (a bug of the test). */
#define MAX_N 20000

typedef struct tally {
    long runs, ok, nomem, other;
} tally;

static void tally_add(tally *t, kafka_err e)
{
    t->runs++;
    if (!e)
        t->ok++;
    else if (e == KAFKA_ERR_NOMEM)
        t->nomem++;
    else
        t->other++;
}

static void tally_print(const char *what, const tally *t, size_t sites0)
{
    print_message("%s: %ld runs: %ld succeeded, %ld NOMEM, %ld other clean errors; %zu new failing call stacks "
                  "(%zu in all)\n",
                  what, t->runs, t->ok, t->nomem, t->other, kt_failmalloc_sites() - sites0, kt_failmalloc_sites());
}

/* One scenario's inputs (each scenario reads what it needs). */
typedef struct scenario {
    kt_cluster *kt;
    const char *topic;
    kafka_codec codec;
    bool async;
} scenario;

typedef kafka_err (*scenario_fn)(const scenario *sc);

/* Runs fn with allocation N failing for N = 1, 2, ... until a run makes
 * fewer than N allocations; that run must succeed, every other one return
 * 0 or KAFKA_ERR_NOMEM (the scenarios fail the test themselves on
 * anything else they see). Prints the tally. */
static void drive(const char *what, scenario_fn fn, const scenario *sc)
{
    size_t sites0 = kt_failmalloc_sites();
    tally t = {0};
    kt_failmalloc_install();
    long n = 1;
    for (; n < MAX_N; n++) {
        kt_failmalloc_arm(n);
        kafka_err e = fn(sc);
        bool fired = kt_failmalloc_fired();
        kt_failmalloc_arm(0);
        if (!fired) {
            assert_int_equal(e, 0); /* nothing failed: it must work */
            break;
        }
        tally_add(&t, e);
        if (e != 0 && e != KAFKA_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed: got %s (%s)", what, n, kafka_err_name(e), kafka_dial_last_error());
    }
    kt_failmalloc_uninstall();
    assert_true(n < MAX_N);
    tally_print(what, &t, sites0);
}

/* Every partition's data for the scenarios: one message on partition 0,
 * in a batch compressed with `codec`, written before any failure is
 * armed. */
static char *prepared_topic(kt_cluster *kt, const char *prefix, kafka_codec codec)
{
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000), 0);
    kafka_message m = {.key = "k", .key_len = 1, .value = "seed", .value_len = 4};
    kafka_write_options wo = {.codec = codec};
    assert_int_equal(kafka_conn_write_messages(c, &m, 1, &wo, NULL), 0);
    kafka_conn_close(c);
    return topic;
}

/* ---- conn: dial (metadata, leader), produce, fetch ----------------------- */

/* A failed allocation is reported as NOMEM: nothing else can come of it
 * on a conn (no retries, no threads). */
static kafka_err conn_scenario(const scenario *sc)
{
    kafka_conn *c = NULL;
    kafka_err e = kafka_dial_leader(&c, kt_cluster_bootstrap(sc->kt), sc->topic, 0, NULL, 10000);
    if (e)
        return e;
    kafka_conn_set_timeout(c, 10000);
    kafka_header h = {.key = "h", .key_len = 1, .value = "hv", .value_len = 2};
    kafka_message m = {.key = "k", .key_len = 1, .value = "v", .value_len = 1, .headers = &h, .n_headers = 1};
    kafka_write_options wo = {.codec = sc->codec};
    e = kafka_conn_write_messages(c, &m, 1, &wo, NULL);
    if (!e)
        e = kafka_conn_seek(c, 0, KAFKA_SEEK_ABSOLUTE, NULL);
    kafka_batch *b = NULL;
    if (!e)
        e = kafka_conn_read_batch(c, 1, 1 << 20, &b);
    if (!e) {
        kafka_message got;
        e = kafka_batch_read_message(b, &got);
        kafka_err ce = kafka_batch_close(b);
        if (!e)
            e = ce;
    }
    kafka_conn_close(c);
    return e;
}

static void conn_entry_points(kt_cluster *kt, kafka_codec codec)
{
    char *topic = prepared_topic(kt, "fm-conn", codec);
    char what[96];
    snprintf(what, sizeof what, "conn dial_leader+write+read_batch, %s", kafka_codec_name(codec));
    drive(what, conn_scenario, &(scenario){.kt = kt, .topic = topic, .codec = codec});
    free(topic);
}

static void test_conn_entry_points(void **state) { conn_entry_points(*state, KAFKA_CODEC_NONE); }
static void test_conn_entry_points_gzip(void **state) { conn_entry_points(*state, KAFKA_CODEC_GZIP); }
static void test_conn_entry_points_lz4(void **state) { conn_entry_points(*state, KAFKA_CODEC_LZ4); }
static void test_conn_entry_points_zstd(void **state) { conn_entry_points(*state, KAFKA_CODEC_ZSTD); }

/* ---- writer: new, synchronous write, close -------------------------------- */

/* What the completion callback saw of the scenario's messages. */
typedef struct fm_reports {
    int n[2];     /* reports per message (by opaque) */
    long strays;  /* reports without one of ours */
    kafka_err err[2];
} fm_reports;

static void fm_cb(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    fm_reports *r = priv; /* one writer thread reports at a time */
    for (size_t i = 0; i < n; i++) {
        int *tag = msgs[i].opaque;
        if (!tag || *tag < 0 || *tag > 1) {
            r->strays++;
            continue;
        }
        r->n[*tag]++;
        r->err[*tag] = err;
    }
}

/* Synchronous: one plain message. Asynchronous (compressed, a completion
 * callback): two messages, one with a header (its batch is reported by
 * decoding, not from the writer's index), each reported exactly once
 * with its opaque when its write accepted it, and never otherwise. */
/* The writer's threads retry what failed for want of memory in a request
 * (a retriable send error): the write may then still succeed; else its
 * message fails with NOMEM. Close never fails here: nothing is left to
 * deliver. */
static kafka_err writer_scenario(const scenario *sc)
{
    kafka_writer *w = NULL;
    bool async = sc->async;
    fm_reports rep = {{0, 0}, 0, {0, 0}};
    kafka_err e = kafka_writer_new(
        &w,
        &(kafka_writer_config){.brokers = kt_cluster_bootstrap(sc->kt), .topic = sc->topic, .max_attempts = 2,
                               .backoff_min_ms = 1, .backoff_max_ms = 5, .read_timeout_ms = 5000, .async = async,
                               .completion = async ? fm_cb : NULL, .completion_privdata = &rep,
                               .compression = async ? KAFKA_CODEC_LZ4 : KAFKA_CODEC_NONE, .compression_workers = 1},
        NULL, 0);
    if (e)
        return e;
    static int tags[2] = {0, 1};
    kafka_header h = {.key = "h", .key_len = 1, .value = "hv", .value_len = 2};
    kafka_message m[2] = {{.key = "k", .key_len = 1, .value = "v", .value_len = 1, .opaque = &tags[0]},
                          {.value = "w", .value_len = 1, .headers = &h, .n_headers = 1, .opaque = &tags[1]}};
    size_t n = async ? 2 : 1;
    kafka_err me[2] = {1, 1};
    e = kafka_writer_write_messages(w, m, n, me, 20000);
    if (!async && e != me[0])
        fail_msg("write returned %s, its message %s", kafka_err_name(e), kafka_err_name(me[0]));
    kafka_err ce = kafka_writer_close(w, 20000);
    if (ce)
        fail_msg("close got %s", kafka_err_name(ce));
    if (async) {
        assert_int_equal(rep.strays, 0);
        for (size_t i = 0; i < n; i++) {
            /* accepted: reported once; refused: never */
            assert_int_equal(rep.n[i], me[i] == 0 ? 1 : 0);
            if (me[i] == 0 && rep.err[i] != 0 && rep.err[i] != KAFKA_ERR_NOMEM)
                fail_msg("message %zu reported %s", i, kafka_err_name(rep.err[i]));
        }
        /* The call's outcome: NOMEM for a refused message, else 0; a
         * report's NOMEM counts as the run's. */
        if (!e && (rep.err[0] || rep.err[1]))
            e = rep.err[0] ? rep.err[0] : rep.err[1];
    }
    return e;
}

static void writer_entry_points(kt_cluster *kt, bool async)
{
    char *topic = prepared_topic(kt, "fm-writer", KAFKA_CODEC_NONE);
    drive(async ? "writer new+write(async, lz4, completion)+close" : "writer new+write(sync)+close", writer_scenario,
          &(scenario){.kt = kt, .topic = topic, .async = async});
    free(topic);
}

static void test_writer_entry_points(void **state) { writer_entry_points(*state, false); }
static void test_writer_entry_points_async(void **state) { writer_entry_points(*state, true); }

/* ---- reader: new, read, close -------------------------------------------- */

/* The reader's fetcher retries a fetch that failed for want of memory
 * (after its backoff), so a read may still succeed. */
static kafka_err reader_scenario(const scenario *sc)
{
    kafka_reader *r = NULL;
    kafka_err e = kafka_reader_new(&r,
                                   &(kafka_reader_config){.brokers = kt_cluster_bootstrap(sc->kt), .topic = sc->topic,
                                                          .max_wait_ms = 100, .backoff_min_ms = 1,
                                                          .backoff_max_ms = 5},
                                   NULL, 0);
    if (e)
        return e;
    kafka_message m;
    e = kafka_reader_read_message(r, &m, 10000);
    if (!e && (m.value_len != 4 || memcmp(m.value, "seed", 4) != 0))
        fail_msg("read the wrong message");
    kafka_err ce = kafka_reader_close(r);
    return e ? e : ce;
}

static void test_reader_entry_points(void **state)
{
    kt_cluster *kt = *state;
    char *topic = prepared_topic(kt, "fm-reader", KAFKA_CODEC_GZIP);
    drive("reader new+read+close", reader_scenario, &(scenario){.kt = kt, .topic = topic});
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_entry_points),
        cmocka_unit_test(test_conn_entry_points_gzip),
        cmocka_unit_test(test_conn_entry_points_lz4),
        cmocka_unit_test(test_conn_entry_points_zstd),
        cmocka_unit_test(test_writer_entry_points),
        cmocka_unit_test(test_writer_entry_points_async),
        cmocka_unit_test(test_reader_entry_points),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
