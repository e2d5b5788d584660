/*
 * librdkafka side of the client benchmarks (issue 7). The same workloads as
 * bench_libkafka.c; bench/run.sh runs the two interleaved and compares.
 *
 *   produce  N x S-byte keyless messages to a topic (4 partitions in run.sh)
 *            until every delivery report is in (rd_kafka_produce with
 *            RD_KAFKA_MSG_F_COPY: the library copies the payload, as
 *            libkafka does; dr_msg_cb counts outcomes; rd_kafka_flush).
 *            --keyed: a distinct key per message (bench_key), partitioned
 *            by librdkafka's default partitioner (consistent_random: CRC32
 *            of the key, as libkafka's CRC32 balancer).
 *   consume  N messages from one preloaded partition from the first offset,
 *            with the legacy simple consumer and rd_kafka_consume_batch
 *            (the fastest librdkafka API) and queued.min.messages=10000000,
 *            so the consumer never stalls on its prefetch threshold. The
 *            broker keeps ~5 MB per partition, so when N is larger than the
 *            partition holds, the partition is read again from its first
 *            offset (passes); consume_stop/start between passes is outside
 *            the timed window. fetch.wait.max.ms=10 (both clients) so a
 *            Fetch parked at the end of the log does not stall a pass.
 *   enqueue  ns per rd_kafka_produce call from --threads threads (N calls in
 *            total), delivery in the background (no delivery reports).
 *   latency  N sequential one-message produce + wait-for-delivery (poll
 *            until its delivery report), linger.ms=0; p50/p99.
 * --allocs (with LD_PRELOAD=libbench_malloc_count.so): allocations per
 * message after --warmup messages (steady state), in a separate untimed run.
 *
 * Both clients are configured non-idempotent unless --idempotent (librdkafka's
 * default). Producer batching keeps librdkafka's defaults (batch.num.messages
 * 10000, batch.size 1 MB, linger.ms 5), which bench_libkafka.c mirrors.
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "bench_util.h"

static long g_delivered, g_failed;
static rd_kafka_resp_err_t g_first_err;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (!g_failed)
            g_first_err = m->err;
        g_failed++;
    } else {
        g_delivered++;
    }
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        bench_die("rdkafka conf %s=%s: %s", k, v, errstr);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk)
        bench_die("rd_kafka_new: %s", errstr);
    return rk;
}

static rd_kafka_t *new_producer(const bench_opts *o, const char *linger_ms, bool with_dr)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", o->brokers);
    conf_set(conf, "acks", bench_acks_name(o->acks));
    conf_set(conf, "compression.codec", o->codec);
    conf_set(conf, "enable.idempotence", o->idempotent ? "true" : "false");
    conf_set(conf, "queue.buffering.max.messages", "10000000");
    conf_set(conf, "queue.buffering.max.kbytes", "2097151");
    if (linger_ms)
        conf_set(conf, "linger.ms", linger_ms);
    if (with_dr)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    return new_client(RD_KAFKA_PRODUCER, conf);
}

/* Enqueues one message, serving the queue while it is full. */
static void produce_keyed(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition, const char *payload,
                          size_t size, const char *key, size_t key_len)
{
    while (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)payload, size, key, key_len,
                            NULL) == -1) {
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            bench_die("rd_kafka_produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(rk, 1);
    }
}

static void produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition, const char *payload,
                        size_t size)
{
    produce_keyed(rk, rkt, partition, payload, size, NULL, 0);
}

static void wait_delivered(rd_kafka_t *rk, long target)
{
    double deadline = bench_now() + 60;
    while (g_delivered + g_failed < target) {
        rd_kafka_poll(rk, 100);
        if (bench_now() > deadline)
            bench_die("delivery reports: %ld of %ld after 60 s", g_delivered + g_failed, target);
    }
    if (g_failed)
        bench_die("%ld deliveries failed, first: %s", g_failed, rd_kafka_err2str(g_first_err));
}

static uint64_t count_now(bench_count_fn fn)
{
    return fn ? fn() : 0;
}

static void run_produce(const bench_opts *o, const char *payload)
{
    rd_kafka_t *rk = new_producer(o, NULL, true);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    bench_count_fn counter = bench_malloc_counter();
    if (o->allocs && !counter)
        bench_die("--allocs needs LD_PRELOAD=libbench_malloc_count.so");
    /* Warm: metadata, connections. Outside the window. */
    produce_one(rk, rkt, RD_KAFKA_PARTITION_UA, payload, (size_t)o->size);
    char key[BENCH_KEY_LEN];
    long warm = 1;
    for (long i = 0; o->keyed && i < BENCH_KEYED_WARM; i++, warm++)
        produce_keyed(rk, rkt, RD_KAFKA_PARTITION_UA, payload, (size_t)o->size, key, bench_key(key, o->n + i));
    rd_kafka_flush(rk, 60000);
    wait_delivered(rk, warm);
    long base = g_delivered;
    uint64_t a0 = 0;
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < o->n; i++) {
        if (o->allocs && i == o->warmup) {
            wait_delivered(rk, base + i);
            a0 = count_now(counter);
        }
        if (o->keyed)
            produce_keyed(rk, rkt, RD_KAFKA_PARTITION_UA, payload, (size_t)o->size, key, bench_key(key, i));
        else
            produce_one(rk, rkt, RD_KAFKA_PARTITION_UA, payload, (size_t)o->size);
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    wait_delivered(rk, base + o->n);
    bench_window_stop(&w);
    char prefix[256], extra[128] = "";
    if (o->allocs) {
        double per = (double)(count_now(counter) - a0) / (double)(o->n - o->warmup);
        snprintf(extra, sizeof extra, "allocs_per_msg=%.3f", per);
    }
    snprintf(prefix, sizeof prefix, "client=librdkafka api=rdkafka bench=%s acks=%s codec=%s size=%ld",
             o->allocs ? "produce_allocs" : o->keyed ? "produce_keyed" : "produce", bench_acks_name(o->acks), o->codec,
             o->size);
    bench_report(prefix, o->n, o->size, w.secs, w.cpu, extra);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/* ---- consume ----------------------------------------------------------- */

static rd_kafka_t *new_consumer(const bench_opts *o)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", o->brokers);
    /* The 1 s stall: librdkafka stops fetching when its queue holds
     * queued.min.messages and resumes after fetch.wait/backoff; make the
     * threshold larger than any run. */
    conf_set(conf, "queued.min.messages", "10000000");
    conf_set(conf, "queued.max.messages.kbytes", "2097151");
    conf_set(conf, "enable.partition.eof", "false");
    /* A Fetch left waiting at the end of the partition when a pass stops
     * must come back before the next pass can fetch (one Fetch in flight
     * per broker): the default 500 ms would stall every pass.
     * bench_libkafka.c sets the same max wait. */
    conf_set(conf, "fetch.wait.max.ms", "10");
    return new_client(RD_KAFKA_CONSUMER, conf);
}

/* Reads `want` messages from the first offset; adds to *sum (keeps the
 * payload reads honest) and to the alloc counter snapshot when the global
 * message index passes warmup. */
static void consume_pass(rd_kafka_topic_t *rkt, const bench_opts *o, long want, long *done, uint64_t *sum,
                         bench_count_fn counter, uint64_t *a0)
{
    rd_kafka_message_t *msgs[1000];
    if (rd_kafka_consume_start(rkt, o->partition, RD_KAFKA_OFFSET_BEGINNING) == -1)
        bench_die("consume_start: %s", rd_kafka_err2str(rd_kafka_last_error()));
    long got = 0;
    double idle_since = bench_now();
    while (got < want) {
        long ask = want - got < 1000 ? want - got : 1000;
        ssize_t r = rd_kafka_consume_batch(rkt, o->partition, 1000, msgs, (size_t)ask);
        if (r < 0)
            bench_die("consume_batch: %s", rd_kafka_err2str(rd_kafka_last_error()));
        if (r == 0 && bench_now() - idle_since > 10)
            bench_die("consume: no message for 10 s (%ld of %ld)", got, want);
        for (ssize_t i = 0; i < r; i++) {
            if (msgs[i]->err)
                bench_die("consume: %s", rd_kafka_message_errstr(msgs[i]));
            if (msgs[i]->len)
                *sum += ((const uint8_t *)msgs[i]->payload)[0];
            rd_kafka_message_destroy(msgs[i]);
            if (counter && *done + got + 1 == o->warmup)
                *a0 = counter();
            got++;
        }
        if (r > 0)
            idle_since = bench_now();
    }
    *done += got;
}

static void run_consume(const bench_opts *o)
{
    rd_kafka_t *rk = new_consumer(o);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    int64_t lo, hi;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, o->topic, o->partition, &lo, &hi, 10000);
    if (err)
        bench_die("watermarks: %s", rd_kafka_err2str(err));
    if (hi <= lo)
        bench_die("partition %s/%d is empty: preload it first", o->topic, (int)o->partition);
    bench_count_fn counter = o->allocs ? bench_malloc_counter() : NULL;
    if (o->allocs && !counter)
        bench_die("--allocs needs LD_PRELOAD=libbench_malloc_count.so");
    long done = 0, passes = 0;
    uint64_t sum = 0, a0 = 0;
    double secs = 0, cpu = 0;
    while (done < o->n) {
        long want = o->n - done < hi - lo ? o->n - done : (long)(hi - lo);
        bench_window w;
        bench_window_start(&w);
        consume_pass(rkt, o, want, &done, &sum, counter, &a0);
        bench_window_stop(&w);
        secs += w.secs;
        cpu += w.cpu;
        rd_kafka_consume_stop(rkt, o->partition);
        passes++;
    }
    char prefix[256], extra[160];
    int k = snprintf(extra, sizeof extra, "passes=%ld per_pass=%lld checksum=%llu", passes, (long long)(hi - lo),
                     (unsigned long long)sum);
    if (o->allocs && k > 0)
        snprintf(extra + k, sizeof extra - (size_t)k, " allocs_per_msg=%.3f",
                 (double)(counter() - a0) / (double)(o->n - o->warmup));
    snprintf(prefix, sizeof prefix, "client=librdkafka api=rdkafka bench=%s size=%ld",
             o->allocs ? "consume_allocs" : "consume", o->size);
    bench_report(prefix, o->n, o->size, secs, cpu, extra);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/* ---- group consume ----------------------------------------------------- */

/* One member of a new group (high-level consumer, subscribe + poll)
 * reads N messages of a many-partition topic from the first offsets, no
 * commits; librdkafka's defaults but fetch.wait.max.ms (the same max wait
 * as bench_libkafka). The window starts at the first message; join_ms is
 * the time from rd_kafka_new to it. */
static void run_group(const bench_opts *o)
{
    char group[128];
    bench_group_name(o, "rdkafka", group, sizeof group);
    double t0 = bench_now();
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", o->brokers);
    conf_set(conf, "group.id", group);
    conf_set(conf, "auto.offset.reset", "earliest");
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.partition.eof", "false");
    conf_set(conf, "fetch.wait.max.ms", "10");
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err)
        bench_die("subscribe: %s", rd_kafka_err2str(err));
    long done = 0;
    uint64_t sum = 0;
    bench_window w;
    double join = 0, idle_since = bench_now();
    while (done < o->n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        bench_peak_tick();
        if (!m) {
            if (bench_now() - idle_since > 60)
                bench_die("group: no message for 60 s (%ld of %ld)", done, o->n);
            continue;
        }
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue; /* transient consumer events */
        }
        if (done == 0) {
            join = bench_now() - t0;
            bench_window_start(&w);
        }
        if (m->len)
            sum += ((const uint8_t *)m->payload)[0];
        rd_kafka_message_destroy(m);
        done++;
        idle_since = bench_now();
    }
    bench_window_stop(&w);
    char prefix[256], extra[160];
    snprintf(extra, sizeof extra, "join_ms=%.0f checksum=%llu", join * 1e3, (unsigned long long)sum);
    snprintf(prefix, sizeof prefix, "client=librdkafka api=rdkafka bench=group size=%ld", o->size);
    bench_report(prefix, o->n, o->size, w.secs, w.cpu, extra);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ---- enqueue ----------------------------------------------------------- */

typedef struct enq_thread {
    pthread_t tid;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *payload;
    long size, calls;
    double secs;
} enq_thread;

static void *enq_main(void *arg)
{
    enq_thread *t = arg;
    double t0 = bench_now();
    for (long i = 0; i < t->calls; i++)
        produce_one(t->rk, t->rkt, RD_KAFKA_PARTITION_UA, t->payload, (size_t)t->size);
    t->secs = bench_now() - t0;
    return NULL;
}

static void run_enqueue(const bench_opts *o, const char *payload)
{
    rd_kafka_t *rk = new_producer(o, NULL, false);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    produce_one(rk, rkt, RD_KAFKA_PARTITION_UA, payload, (size_t)o->size);
    rd_kafka_flush(rk, 10000);
    enq_thread th[64];
    bench_window w;
    bench_window_start(&w);
    for (int i = 0; i < o->threads; i++) {
        th[i] = (enq_thread){ .rk = rk, .rkt = rkt, .payload = payload, .size = o->size,
                              .calls = o->n / o->threads + (i < o->n % o->threads) };
        if (pthread_create(&th[i].tid, NULL, enq_main, &th[i]))
            bench_die("pthread_create");
    }
    double per_call = 0;
    for (int i = 0; i < o->threads; i++) {
        pthread_join(th[i].tid, NULL);
        per_call += th[i].calls ? th[i].secs / (double)th[i].calls : 0;
    }
    bench_window_stop(&w);
    per_call /= o->threads;
    char prefix[256], extra[128];
    snprintf(prefix, sizeof prefix, "client=librdkafka api=rdkafka bench=enqueue threads=%d size=%ld", o->threads,
             o->size);
    snprintf(extra, sizeof extra, "ns_per_call=%.1f", per_call * 1e9);
    bench_report(prefix, o->n, o->size, w.secs, w.cpu, extra);
    if (rd_kafka_flush(rk, 60000))
        bench_die("enqueue: flush timed out");
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/* ---- latency ----------------------------------------------------------- */

static void run_latency(const bench_opts *o, const char *payload)
{
    rd_kafka_t *rk = new_producer(o, "0", true);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    for (int i = 0; i < 10; i++) { /* warm */
        produce_one(rk, rkt, o->partition, payload, (size_t)o->size);
        wait_delivered(rk, g_delivered + 1);
    }
    double *lat = malloc(sizeof *lat * (size_t)o->n);
    if (!lat)
        bench_die("out of memory");
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < o->n; i++) {
        long target = g_delivered + 1;
        double t0 = bench_now();
        produce_one(rk, rkt, o->partition, payload, (size_t)o->size);
        while (g_delivered + g_failed < target)
            rd_kafka_poll(rk, 1000);
        lat[i] = bench_now() - t0;
        if (g_failed)
            bench_die("latency: delivery failed: %s", rd_kafka_err2str(g_first_err));
    }
    bench_window_stop(&w);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "client=librdkafka api=rdkafka bench=latency acks=%s size=%ld",
             bench_acks_name(o->acks), o->size);
    bench_report_latency(prefix, lat, (size_t)o->n, w.cpu);
    free(lat);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
    bench_opts o = bench_parse(argc, argv);
    char *payload = malloc((size_t)o.size + 1);
    if (!payload)
        bench_die("out of memory");
    for (long i = 0; i < o.size; i++)
        payload[i] = (char)('a' + i % 26);
    if (!strcmp(o.mode, "produce"))
        run_produce(&o, payload);
    else if (!strcmp(o.mode, "consume"))
        run_consume(&o);
    else if (!strcmp(o.mode, "group"))
        run_group(&o);
    else if (!strcmp(o.mode, "enqueue"))
        run_enqueue(&o, payload);
    else if (!strcmp(o.mode, "latency"))
        run_latency(&o, payload);
    else
        bench_usage(argv[0]);
    free(payload);
    return 0;
}
