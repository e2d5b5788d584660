/*
 * libkafka side of the client benchmarks (issue 7): the workloads of
 * bench_rdkafka.c, through one of two APIs (--api), and the row label says
 * which:
 *
 *   writer / reader  the high-level kafka_writer (async, completion
 *                    callback) and kafka_reader (partition mode);
 *   conn             the low-level kafka_conn: produce = one synchronous
 *                    Produce round trip per --batch messages, partitions in
 *                    turn, one thread, nothing pipelined; consume =
 *                    kafka_conn_read_batch loop. No enqueue with conn.
 *
 *   produce  N x S-byte keyless messages, one message per write call, until
 *            every completion is in (writer: batch_size 10000, batch_bytes
 *            1000000, batch_timeout 5 ms = librdkafka's batching defaults).
 *            --keyed: a distinct key per message (bench_key), partitioned
 *            by the CRC32 balancer (librdkafka's default partitioner for
 *            keyed messages); writer API only.
 *   consume  N messages from one preloaded partition from its first offset;
 *            passes over the partition as in bench_rdkafka.c; one untimed
 *            warm-up read first, as there.
 *   enqueue  ns per kafka_writer_write_messages call (async writer, one
 *            message) from --threads threads.
 *   latency  N sequential one-message synchronous writes (sync writer, or
 *            one kafka_conn_write_messages); p50/p99.
 *   rtt      N ApiVersions round trips on one kafka_conn to the leader of
 *            --topic/--partition (the broker round-trip baseline of the
 *            sync latency target: use the latency run's topic).
 *   preload  writes N messages to --partition in batches of --batch through
 *            kafka_conn (fixed batch sizes, so both consumers read the same
 *            stored batches: the test broker returns one batch per Fetch).
 * --allocs: allocations per message after --warmup messages, counted by the
 * LD_PRELOAD counter (allocs_per_msg, same method as librdkafka) and by the
 * libkafka allocator hook (hook_allocs_per_msg: libkafka's own only).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kafka/alloc.h"
#include "kafka/conn.h"
#include "kafka/reader.h"
#include "kafka/writer.h"

#include "common/arena.h"
#include "conn/conn_internal.h"
#include "protocol/gen/all.h"

#include "bench_util.h"

/* ---- allocation counting ------------------------------------------------ */

static atomic_uint_fast64_t g_hook_allocs;

static void *hook_malloc(void *pd, size_t n)
{
    (void)pd;
    atomic_fetch_add_explicit(&g_hook_allocs, 1, memory_order_relaxed);
    return malloc(n);
}

static void *hook_realloc(void *pd, void *p, size_t n)
{
    (void)pd;
    atomic_fetch_add_explicit(&g_hook_allocs, 1, memory_order_relaxed);
    return realloc(p, n);
}

static void hook_free(void *pd, void *p)
{
    (void)pd;
    free(p);
}

typedef struct alloc_snap {
    uint64_t hook, preload;
} alloc_snap;

static bench_count_fn g_preload_counter;

static alloc_snap alloc_now(void)
{
    return (alloc_snap){ atomic_load_explicit(&g_hook_allocs, memory_order_relaxed),
                         g_preload_counter ? g_preload_counter() : 0 };
}

/* Formats "allocs_per_msg=.. hook_allocs_per_msg=.." for msgs messages
 * since a0. Without the preload library allocs_per_msg is the hook's. */
static void alloc_format(char *buf, size_t len, alloc_snap a0, long msgs)
{
    alloc_snap a1 = alloc_now();
    double hook = (double)(a1.hook - a0.hook) / (double)msgs;
    double all = g_preload_counter ? (double)(a1.preload - a0.preload) / (double)msgs : hook;
    snprintf(buf, len, "allocs_per_msg=%.3f hook_allocs_per_msg=%.3f alloc_counter=%s", all, hook,
             g_preload_counter ? "preload" : "hook");
}

/* ---- helpers ------------------------------------------------------------ */

static void check(kafka_err e, const char *what)
{
    if (e)
        bench_die("%s: %s (%d)", what, kafka_err_str(e), (int)e);
}

static kafka_codec parse_codec(const char *name)
{
    kafka_codec c;
    if (kafka_codec_parse(name, &c))
        bench_die("unknown codec %s", name);
    return c;
}

static kafka_conn *dial_leader(const bench_opts *o, int32_t partition)
{
    kafka_conn *c = NULL;
    kafka_err e = kafka_dial_leader(&c, o->brokers, o->topic, partition, NULL, 10000);
    if (e)
        bench_die("dial leader %s/%d: %s (%s)", o->topic, (int)partition, kafka_err_str(e), kafka_dial_last_error());
    return c;
}

static const char *api_or(const bench_opts *o, const char *dflt)
{
    return *o->api ? o->api : dflt;
}

/* ---- writer ------------------------------------------------------------- */

static atomic_long g_done, g_failed;
static atomic_int g_first_err;

static void on_complete(void *pd, const kafka_message *msgs, size_t n, kafka_err err)
{
    (void)pd;
    (void)msgs;
    if (err) {
        int zero = 0;
        atomic_compare_exchange_strong(&g_first_err, &zero, (int)err);
        atomic_fetch_add(&g_failed, (long)n);
    }
    atomic_fetch_add(&g_done, (long)n);
}

/* lanes: kafka_writer_config.append_lanes (0 = one open batch per
 * partition). */
static kafka_writer *new_writer_lanes(const bench_opts *o, bool async, int lanes)
{
    kafka_writer_config cfg = {
        .brokers = o->brokers,
        .topic = o->topic,
        .batch_size = 10000,
        .batch_bytes = 1000000,
        .batch_timeout_ms = 5,
        .required_acks = o->acks < 0 ? KAFKA_REQUIRE_ALL : o->acks == 0 ? KAFKA_REQUIRE_NONE : KAFKA_REQUIRE_ONE,
        .async = async,
        .completion = async ? on_complete : NULL,
        .compression = parse_codec(o->codec),
        .max_buffered_bytes = INT64_C(1) << 30, /* librdkafka's default queue: 1 GB */
        .disable_idempotence = !o->idempotent,
        .allow_auto_topic_creation = true,
        .append_lanes = lanes,
        /* keyed: librdkafka's consistent_random partitioner, the same
         * CRC32 of the key */
        .balancer = { .kind = o->keyed ? KAFKA_BALANCER_CRC32 : KAFKA_BALANCER_DEFAULT },
    };
    kafka_writer *w = NULL;
    char err[256] = "";
    if (kafka_writer_new(&w, &cfg, err, sizeof err))
        bench_die("kafka_writer_new: %s", err);
    return w;
}

static kafka_writer *new_writer(const bench_opts *o, bool async) { return new_writer_lanes(o, async, 0); }

static void writer_write1(kafka_writer *w, const kafka_message *m)
{
    kafka_err e = kafka_writer_write_messages(w, m, 1, NULL, -1);
    if (e)
        bench_die("kafka_writer_write_messages: %s", kafka_err_str(e));
}

/* Waits until `target` completions arrived (the writer's flush covers it,
 * this also checks the callback saw every message). */
static void writer_wait(kafka_writer *w, long target)
{
    check(kafka_writer_flush(w, 60000), "kafka_writer_flush");
    double deadline = bench_now() + 10;
    while (atomic_load(&g_done) < target) {
        if (bench_now() > deadline)
            bench_die("completions: %ld of %ld", atomic_load(&g_done), target);
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&g_failed))
        bench_die("%ld messages failed, first: %s", atomic_load(&g_failed),
                  kafka_err_str((kafka_err)atomic_load(&g_first_err)));
}

static void produce_writer(const bench_opts *o, const kafka_message *m, bench_window *win, alloc_snap *a0)
{
    kafka_writer *w = new_writer(o, true);
    writer_write1(w, m); /* warm: metadata, connections */
    writer_wait(w, 1);
    kafka_message km = *m;
    char key[BENCH_KEY_LEN];
    long warm = 1;
    for (long i = 0; o->keyed && i < BENCH_KEYED_WARM; i++, warm++) {
        km.key = key;
        km.key_len = bench_key(key, o->n + i);
        writer_write1(w, &km);
    }
    writer_wait(w, warm);
    bench_window_start(win);
    for (long i = 0; i < o->n; i++) {
        if (o->allocs && i == o->warmup) {
            writer_wait(w, warm + i);
            *a0 = alloc_now();
        }
        if (o->keyed) {
            km.key = key;
            km.key_len = bench_key(key, i);
            writer_write1(w, &km);
        } else {
            writer_write1(w, m);
        }
    }
    writer_wait(w, warm + o->n);
    bench_window_stop(win);
    check(kafka_writer_close(w, 10000), "kafka_writer_close");
}

/* ---- conn produce --------------------------------------------------------- */

static int32_t partition_count(const bench_opts *o)
{
    kafka_conn *c = dial_leader(o, 0);
    kafka_partition *p = NULL;
    size_t n = 0;
    check(kafka_conn_read_partitions(c, &o->topic, 1, &p, &n), "read partitions");
    kafka_free_partitions(p);
    kafka_conn_close(c);
    return (int32_t)n;
}

static void produce_conn(const bench_opts *o, const kafka_message *m, bench_window *win, alloc_snap *a0,
                         long *counted)
{
    int32_t np = partition_count(o);
    if (np < 1 || np > 64)
        bench_die("topic %s: %d partitions", o->topic, (int)np);
    kafka_conn *conns[64];
    for (int32_t p = 0; p < np; p++)
        conns[p] = dial_leader(o, p);
    kafka_message *batch = malloc(sizeof *batch * (size_t)o->batch);
    if (!batch)
        bench_die("out of memory");
    for (long i = 0; i < o->batch; i++)
        batch[i] = *m;
    kafka_write_options wo = { .acks = o->acks < 0 ? KAFKA_REQUIRE_ALL : o->acks == 0 ? KAFKA_REQUIRE_NONE : KAFKA_REQUIRE_ONE,
                               .codec = parse_codec(o->codec) };
    bench_window_start(win);
    long sent = 0;
    for (int32_t p = 0; sent < o->n; p = (p + 1) % np) {
        if (o->allocs && sent >= o->warmup && *counted == 0) {
            *a0 = alloc_now(); /* at a batch boundary: count from here */
            *counted = o->n - sent;
        }
        long k = o->n - sent < o->batch ? o->n - sent : o->batch;
        kafka_conn_set_timeout(conns[p], 30000);
        kafka_err e = kafka_conn_write_messages(conns[p], batch, (size_t)k, &wo, NULL);
        if (e)
            bench_die("kafka_conn_write_messages: %s (%s)", kafka_err_str(e), kafka_conn_last_error(conns[p]));
        sent += k;
    }
    bench_window_stop(win);
    for (int32_t p = 0; p < np; p++)
        kafka_conn_close(conns[p]);
    free(batch);
}

static void run_produce(const bench_opts *o, const kafka_message *m)
{
    const char *api = api_or(o, "writer");
    bench_window w;
    alloc_snap a0 = { 0, 0 };
    long counted = o->n - o->warmup;
    if (!strcmp(api, "writer")) {
        produce_writer(o, m, &w, &a0);
    } else if (!strcmp(api, "conn") && !o->keyed) {
        counted = 0;
        produce_conn(o, m, &w, &a0, &counted);
    } else {
        bench_die("produce: --api writer|conn (--keyed: writer)");
    }
    char prefix[256], extra[160] = "";
    if (o->allocs)
        alloc_format(extra, sizeof extra, a0, counted > 0 ? counted : 1);
    snprintf(prefix, sizeof prefix, "client=libkafka api=%s bench=%s acks=%s codec=%s size=%ld", api,
             o->allocs ? "produce_allocs" : o->keyed ? "produce_keyed" : "produce", bench_acks_name(o->acks), o->codec,
             o->size);
    bench_report(prefix, o->n, o->size, w.secs, w.cpu, extra);
}

/* ---- preload ------------------------------------------------------------ */

static void run_preload(const bench_opts *o, const kafka_message *m)
{
    kafka_conn *c = dial_leader(o, o->partition);
    kafka_message *batch = malloc(sizeof *batch * (size_t)o->batch);
    if (!batch)
        bench_die("out of memory");
    for (long i = 0; i < o->batch; i++)
        batch[i] = *m;
    kafka_write_options wo = { .acks = KAFKA_REQUIRE_ONE, .codec = parse_codec(o->codec) };
    for (long sent = 0; sent < o->n;) {
        long k = o->n - sent < o->batch ? o->n - sent : o->batch;
        kafka_conn_set_timeout(c, 30000);
        kafka_err e = kafka_conn_write_messages(c, batch, (size_t)k, &wo, NULL);
        if (e)
            bench_die("preload: %s (%s)", kafka_err_str(e), kafka_conn_last_error(c));
        sent += k;
    }
    int64_t first = 0, last = 0;
    kafka_conn_set_timeout(c, 10000);
    check(kafka_conn_read_offsets(c, &first, &last), "read offsets");
    printf("preloaded topic=%s partition=%d msgs=%ld first=%lld last=%lld\n", o->topic, (int)o->partition, o->n,
           (long long)first, (long long)last);
    if (last - first < o->n)
        bench_die("preload: the broker kept %lld of %ld messages (about 5 MB per partition): lower -n",
                  (long long)(last - first), o->n);
    free(batch);
    kafka_conn_close(c);
}

/* ---- consume ------------------------------------------------------------ */

typedef struct consume_state {
    const bench_opts *o;
    long done; /* messages read in timed passes */
    uint64_t sum;
    alloc_snap a0;
} consume_state;

static void count_msg(consume_state *s, const kafka_message *m)
{
    if (m->value_len)
        s->sum += ((const uint8_t *)m->value)[0];
    s->done++;
    if (s->o->allocs && s->done == s->o->warmup)
        s->a0 = alloc_now();
}

static void reader_read(kafka_reader *r, consume_state *s, long want, bool timed)
{
    for (long i = 0; i < want; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 10000);
        if (e) {
            char buf[256];
            kafka_reader_last_error(r, buf, sizeof buf);
            bench_die("kafka_reader_read_message: %s (%s)", kafka_err_str(e), buf);
        }
        if (timed)
            count_msg(s, &m);
    }
}

static void conn_read(kafka_conn *c, int64_t first, consume_state *s, long want, bool timed)
{
    kafka_conn_set_timeout(c, 10000);
    check(kafka_conn_seek(c, first, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, NULL), "seek");
    long got = 0;
    while (got < want) {
        kafka_batch *b = NULL;
        kafka_conn_set_timeout(c, 10000);
        kafka_read_batch_config rc = { .min_bytes = 1, .max_bytes = 1 << 20, .max_wait_ms = 10 };
        kafka_err e = kafka_conn_read_batch_with(c, &rc, &b);
        if (e)
            bench_die("kafka_conn_read_batch: %s (%s)", kafka_err_str(e), kafka_conn_last_error(c));
        kafka_message m;
        while (got < want && (e = kafka_batch_read_message(b, &m)) == 0) {
            if (timed)
                count_msg(s, &m);
            got++;
        }
        if (e && e != KAFKA_ERR_END_OF_PARTITION)
            bench_die("kafka_batch_read_message: %s", kafka_err_str(e));
        check(kafka_batch_close(b), "kafka_batch_close");
    }
}

static void run_consume(const bench_opts *o)
{
    const char *api = api_or(o, "reader");
    bool use_reader = !strcmp(api, "reader");
    if (!use_reader && strcmp(api, "conn"))
        bench_die("consume: --api reader|conn");
    kafka_conn *c = dial_leader(o, o->partition);
    int64_t lo = 0, hi = 0;
    kafka_conn_set_timeout(c, 10000);
    check(kafka_conn_read_offsets(c, &lo, &hi), "read offsets");
    if (hi <= lo)
        bench_die("partition %s/%d is empty: preload it first", o->topic, (int)o->partition);
    long avail = (long)(hi - lo);
    kafka_reader *r = NULL;
    if (use_reader) {
        kafka_conn_close(c);
        c = NULL;
        kafka_reader_config cfg = { .brokers = o->brokers, .topic = o->topic, .partition = o->partition,
                                    .start_offset = KAFKA_START_FIRST,
                                    .max_wait_ms = 10 /* = librdkafka's fetch.wait.max.ms here */ };
        char err[256] = "";
        if (kafka_reader_new(&r, &cfg, err, sizeof err))
            bench_die("kafka_reader_new: %s", err);
    }
    consume_state s = { .o = o };
    long warm = avail < 1000 ? avail : 1000; /* untimed: connections, metadata */
    if (use_reader)
        reader_read(r, &s, warm, false);
    else
        conn_read(c, lo, &s, warm, false);
    double secs = 0, cpu = 0;
    long passes = 0;
    while (s.done < o->n) {
        long want = o->n - s.done < avail ? o->n - s.done : avail;
        bench_window w;
        bench_window_start(&w);
        if (use_reader) {
            check(kafka_reader_set_offset(r, KAFKA_OFFSET_FIRST), "kafka_reader_set_offset");
            reader_read(r, &s, want, true);
        } else {
            conn_read(c, lo, &s, want, true);
        }
        bench_window_stop(&w);
        secs += w.secs;
        cpu += w.cpu;
        passes++;
    }
    char prefix[256], extra[256];
    int k = snprintf(extra, sizeof extra, "passes=%ld per_pass=%ld checksum=%llu", passes, avail,
                     (unsigned long long)s.sum);
    if (o->allocs && k > 0)
        alloc_format(extra + k + 1, sizeof extra - (size_t)k - 1, s.a0, o->n - o->warmup), extra[k] = ' ';
    snprintf(prefix, sizeof prefix, "client=libkafka api=%s bench=%s size=%ld", api,
             o->allocs ? "consume_allocs" : "consume", o->size);
    bench_report(prefix, o->n, o->size, secs, cpu, extra);
    if (r)
        kafka_reader_close(r);
    kafka_conn_close(c);
}

/* ---- group consume ------------------------------------------------------- */

/* One member of a new group reads N messages of a many-partition topic
 * from the first offsets, no commits (fetch_message). The window starts at
 * the first message; join_ms is the time from kafka_reader_new to it. */
static void run_group(const bench_opts *o)
{
    if (*o->api && strcmp(o->api, "reader"))
        bench_die("group: only --api reader");
    char group[128];
    bench_group_name(o, "libkafka", group, sizeof group);
    double t0 = bench_now();
    kafka_reader_config cfg = { .brokers = o->brokers, .topic = o->topic, .group_id = group,
                                .start_offset = KAFKA_START_FIRST,
                                .max_wait_ms = 10 /* = librdkafka's fetch.wait.max.ms here */ };
    kafka_reader *r = NULL;
    char err[256] = "";
    if (kafka_reader_new(&r, &cfg, err, sizeof err))
        bench_die("kafka_reader_new: %s", err);
    consume_state s = { .o = o };
    kafka_message m;
    check(kafka_reader_fetch_message(r, &m, 60000), "group: first message");
    double join = bench_now() - t0;
    bench_window w;
    bench_window_start(&w);
    count_msg(&s, &m);
    while (s.done < o->n) {
        kafka_err e = kafka_reader_fetch_message(r, &m, 60000);
        if (e)
            bench_die("group: read %ld of %ld: %s", s.done, o->n, kafka_err_str(e));
        count_msg(&s, &m);
        bench_peak_tick();
    }
    bench_window_stop(&w);
    char prefix[256], extra[160];
    snprintf(extra, sizeof extra, "join_ms=%.0f checksum=%llu", join * 1e3, (unsigned long long)s.sum);
    snprintf(prefix, sizeof prefix, "client=libkafka api=reader bench=group size=%ld", o->size);
    bench_report(prefix, o->n, o->size, w.secs, w.cpu, extra);
    kafka_reader_close(r);
}

/* ---- enqueue ------------------------------------------------------------ */

typedef struct enq_thread {
    pthread_t tid;
    kafka_writer *w;
    const kafka_message *m;
    long calls;
    double secs;
} enq_thread;

static void *enq_main(void *arg)
{
    enq_thread *t = arg;
    double t0 = bench_now();
    for (long i = 0; i < t->calls; i++)
        writer_write1(t->w, t->m);
    t->secs = bench_now() - t0;
    return NULL;
}

static void run_enqueue(const bench_opts *o, const kafka_message *m)
{
    if (*o->api && strcmp(o->api, "writer"))
        bench_die("enqueue: only --api writer");
    /* --lanes N: append_lanes, so that N threads append to a partition in
     * parallel (their messages are then not ordered with one another; see
     * bench/README.md). Reported as api=writer-lanesN. */
    kafka_writer *w = new_writer_lanes(o, true, o->lanes);
    writer_write1(w, m);
    writer_wait(w, 1);
    enq_thread th[64];
    bench_window win;
    bench_window_start(&win);
    for (int i = 0; i < o->threads; i++) {
        th[i] = (enq_thread){ .w = w, .m = m, .calls = o->n / o->threads + (i < o->n % o->threads) };
        if (pthread_create(&th[i].tid, NULL, enq_main, &th[i]))
            bench_die("pthread_create");
    }
    double per_call = 0;
    for (int i = 0; i < o->threads; i++) {
        pthread_join(th[i].tid, NULL);
        per_call += th[i].calls ? th[i].secs / (double)th[i].calls : 0;
    }
    bench_window_stop(&win);
    per_call /= o->threads;
    char prefix[256], extra[128];
    char api[32] = "writer";
    if (o->lanes > 1)
        snprintf(api, sizeof api, "writer-lanes%d", o->lanes);
    snprintf(prefix, sizeof prefix, "client=libkafka api=%s bench=enqueue threads=%d size=%ld", api, o->threads,
             o->size);
    snprintf(extra, sizeof extra, "ns_per_call=%.1f", per_call * 1e9);
    bench_report(prefix, o->n, o->size, win.secs, win.cpu, extra);
    writer_wait(w, 1 + o->n);
    check(kafka_writer_close(w, 30000), "kafka_writer_close");
}

/* ---- latency and rtt ------------------------------------------------------ */

static void run_latency(const bench_opts *o, const kafka_message *m)
{
    const char *api = api_or(o, "writer");
    bool use_writer = !strcmp(api, "writer");
    if (!use_writer && strcmp(api, "conn"))
        bench_die("latency: --api writer|conn");
    kafka_writer *w = use_writer ? new_writer(o, false) : NULL;
    kafka_conn *c = use_writer ? NULL : dial_leader(o, o->partition);
    kafka_write_options wo = { .acks = o->acks < 0 ? KAFKA_REQUIRE_ALL : o->acks == 0 ? KAFKA_REQUIRE_NONE : KAFKA_REQUIRE_ONE };
    double *lat = malloc(sizeof *lat * (size_t)o->n);
    if (!lat)
        bench_die("out of memory");
    bench_window win = { 0 };
    for (long i = -10; i < o->n; i++) { /* 10 warm-up writes */
        if (i == 0)
            bench_window_start(&win);
        double t0 = bench_now();
        if (use_writer) {
            writer_write1(w, m);
        } else {
            kafka_conn_set_timeout(c, 10000);
            check(kafka_conn_write_messages(c, m, 1, &wo, NULL), "kafka_conn_write_messages");
        }
        if (i >= 0)
            lat[i] = bench_now() - t0;
    }
    bench_window_stop(&win);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "client=libkafka api=%s bench=latency acks=%s size=%ld", api,
             bench_acks_name(o->acks), o->size);
    bench_report_latency(prefix, lat, (size_t)o->n, win.cpu);
    free(lat);
    if (w)
        check(kafka_writer_close(w, 10000), "kafka_writer_close");
    kafka_conn_close(c);
}

KAFKA_CONN_ENCODER(api_versions_request)
KAFKA_CONN_DECODER(api_versions_response)

static void run_rtt(const bench_opts *o)
{
    /* the leader of --topic/--partition: the broker the sync writes of the
     * latency run talk to */
    kafka_conn *c = dial_leader(o, o->partition);
    double *lat = malloc(sizeof *lat * (size_t)o->n);
    if (!lat)
        bench_die("out of memory");
    kafka_arena arena;
    kafka_arena_init(&arena, 1 << 20);
    bench_window win = { 0 };
    for (long i = -10; i < o->n; i++) {
        if (i == 0)
            bench_window_start(&win);
        kafka_api_versions_request req;
        kafka_api_versions_response resp;
        kafka_api_versions_request_init(&req);
        kafka_conn_set_timeout(c, 10000);
        double t0 = bench_now();
        kafka_err e = kafka_conn_roundtrip(c, KAFKA_API_API_VERSIONS, -1, api_versions_request_enc_, &req,
                                 api_versions_response_dec_, &resp, &arena, NULL);
        if (i >= 0)
            lat[i] = bench_now() - t0;
        if (e)
            bench_die("ApiVersions: %s (%s)", kafka_err_str(e), kafka_conn_last_error(c));
        kafka_arena_reset(&arena);
    }
    bench_window_stop(&win);
    bench_report_latency("client=libkafka api=conn bench=rtt request=ApiVersions", lat, (size_t)o->n, win.cpu);
    kafka_arena_free(&arena);
    free(lat);
    kafka_conn_close(c);
}

int main(int argc, char **argv)
{
    bench_opts o = bench_parse(argc, argv);
    if (o.allocs) {
        /* before any other libkafka call (alloc.h) */
        kafka_set_allocator(&(kafka_allocator){ hook_malloc, hook_realloc, hook_free, NULL });
        g_preload_counter = bench_malloc_counter();
    }
    char *payload = malloc((size_t)o.size + 1);
    if (!payload)
        bench_die("out of memory");
    for (long i = 0; i < o.size; i++)
        payload[i] = (char)('a' + i % 26);
    kafka_message m = { .value = payload, .value_len = (size_t)o.size };
    if (!strcmp(o.mode, "produce"))
        run_produce(&o, &m);
    else if (!strcmp(o.mode, "consume"))
        run_consume(&o);
    else if (!strcmp(o.mode, "group"))
        run_group(&o);
    else if (!strcmp(o.mode, "enqueue"))
        run_enqueue(&o, &m);
    else if (!strcmp(o.mode, "latency"))
        run_latency(&o, &m);
    else if (!strcmp(o.mode, "rtt"))
        run_rtt(&o);
    else if (!strcmp(o.mode, "preload"))
        run_preload(&o, &m);
    else
        bench_usage(argv[0]);
    free(payload);
    return 0;
}
