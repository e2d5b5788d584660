/*
 * Shared helpers of the client benchmarks (bench_rdkafka.c, bench_libkafka.c):
 * command line, clocks, CPU time, percentiles, the allocation counter of
 * the LD_PRELOAD library (bench/malloc_count.c) and the one-line report.
 *
 * Header-only (static functions) because CMake builds every bench/bench_*.c
 * as its own program and there is no shared bench library.
 *
 * Report format: one line per measurement, space-separated key=value pairs,
 * always starting with "client=", e.g.
 *   client=librdkafka api=rdkafka bench=produce acks=1 codec=none msgs=... \
 *   bytes=... secs=... msgs_per_s=... mb_per_s=... cpu_ns_per_msg=...
 * bench/run.sh parses exactly these keys; MB is 10^6 bytes of payload.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct bench_opts {
    const char *mode;      /* produce | consume | group | enqueue | latency | rtt | preload */
    const char *group;     /* --group (group mode; default: unique per run) */
    const char *brokers;   /* --brokers, else $KAFKA_BROKERS */
    const char *topic;     /* --topic */
    int32_t partition;     /* --partition (consume, preload, latency) */
    long n;                /* -n messages (per run; consume: total over passes) */
    long size;             /* -s value bytes */
    int acks;              /* --acks 1 | all(-1) */
    const char *codec;     /* --codec none|gzip|snappy|lz4|zstd */
    int threads;           /* --threads (enqueue) */
    int lanes;             /* --lanes: libkafka's append_lanes (enqueue; 0 = default) */
    const char *api;       /* --api (libkafka: conn | writer | reader) */
    bool allocs;           /* --allocs: report allocations per message */
    long warmup;           /* --warmup messages excluded from alloc counts */
    long batch;            /* --batch messages per batch (preload, conn API) */
    bool idempotent;       /* --idempotent: both clients idempotent */
    bool keyed;            /* --keyed (produce): a distinct key per message,
                              partitioned by its CRC32 hash (bench_key) */
} bench_opts;

static void bench_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s produce|consume|group|enqueue|latency|rtt|preload --brokers B --topic T\n"
            "       [-n msgs] [-s bytes] [--acks 1|all] [--codec none|gzip|snappy|lz4|zstd]\n"
            "       [--partition P] [--threads K] [--api conn|writer|reader] [--allocs]\n"
            "       [--warmup msgs] [--batch msgs] [--idempotent] [--lanes N] [--group G] [--keyed]\n",
            prog);
    exit(2);
}

static long bench_parse_long(const char *s, const char *prog)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        bench_usage(prog);
    return v;
}

static bench_opts bench_parse(int argc, char **argv)
{
    bench_opts o = { .brokers = getenv("KAFKA_BROKERS"), .topic = "bench", .n = 100000, .size = 100,
                     .acks = 1, .codec = "none", .threads = 1, .api = "", .warmup = -1, .batch = 5000 };
    if (argc < 2)
        bench_usage(argv[0]);
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--allocs")) { o.allocs = true; continue; }
        if (!strcmp(a, "--idempotent")) { o.idempotent = true; continue; }
        if (!strcmp(a, "--keyed")) { o.keyed = true; continue; }
        if (!v)
            bench_usage(argv[0]);
        i++;
        if (!strcmp(a, "--brokers")) o.brokers = v;
        else if (!strcmp(a, "--topic")) o.topic = v;
        else if (!strcmp(a, "--group")) o.group = v;
        else if (!strcmp(a, "--partition")) o.partition = (int32_t)bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "-n")) o.n = bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "-s")) o.size = bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "--acks")) o.acks = !strcmp(v, "all") || !strcmp(v, "-1") ? -1 : (int)bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "--codec")) o.codec = v;
        else if (!strcmp(a, "--threads")) o.threads = (int)bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "--lanes")) o.lanes = (int)bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "--api")) o.api = v;
        else if (!strcmp(a, "--warmup")) o.warmup = bench_parse_long(v, argv[0]);
        else if (!strcmp(a, "--batch")) o.batch = bench_parse_long(v, argv[0]);
        else bench_usage(argv[0]);
    }
    if (!o.brokers || o.n <= 0 || o.threads <= 0 || o.threads > 64 || o.batch <= 0) {
        fprintf(stderr, "%s: --brokers (or KAFKA_BROKERS) is required; -n, --threads, --batch must be > 0\n",
                argv[0]);
        exit(2);
    }
    if (o.warmup < 0)
        o.warmup = o.n / 10; /* steady state: skip the first 10% */
    if (o.warmup >= o.n)
        o.warmup = 0;
    return o;
}

/* The key of message i of a --keyed run: "k" and 10 decimal digits, all
 * distinct, the same bytes for both clients. Returns its length (11). */
#define BENCH_KEY_LEN 11
static size_t bench_key(char out[BENCH_KEY_LEN], long i)
{
    out[0] = 'k';
    unsigned long v = (unsigned long)i;
    for (int d = BENCH_KEY_LEN - 1; d >= 1; d--) {
        out[d] = (char)('0' + v % 10);
        v /= 10;
    }
    return BENCH_KEY_LEN;
}

/* Keyed runs warm up with this many keyed messages (keys after the timed
 * run's), so that every broker's connection is made before the window. */
#define BENCH_KEYED_WARM 1000

static const char *bench_acks_name(int acks)
{
    return acks < 0 ? "all" : acks == 0 ? "0" : "1";
}

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Process CPU time (user + system, every thread) in seconds. On current
 * Linux kernels getrusage's sum is the precise scheduler runtime (only the
 * user/system split is sampled), so short runs are measured correctly. */
static double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Allocation counter of libbench_malloc_count.so (LD_PRELOAD); NULL when
 * the library is not preloaded. Looked up at run time so the programs run
 * without it. */
typedef uint64_t (*bench_count_fn)(void);

static bench_count_fn bench_malloc_counter(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "bench_malloc_count");
    bench_count_fn fn;
    memcpy(&fn, &sym, sizeof fn); /* object -> function pointer, POSIX-style */
    return fn;
}

/* Peak threads and resident memory (issue 16): the thread count is
 * sampled from /proc/self/status (bench_peak_sample: at the end of every
 * timed window, and every 10 ms inside the group-consume loop, where
 * threads come and go with the group); resident memory is the kernel's
 * own high-water mark, VmHWM, exact for the whole process lifetime. Both
 * go at the end of every result line (threads_peak=, rss_peak_kb=); 0
 * without /proc. */
static long g_bench_threads_peak;
static double g_bench_peak_last;

static long bench_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kl = strlen(key);
    long v = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static double bench_now(void);

static void bench_peak_sample(void)
{
    long t = bench_status_kb("Threads");
    if (t > g_bench_threads_peak)
        g_bench_threads_peak = t;
    g_bench_peak_last = bench_now();
}

/* bench_peak_sample at most every 10 ms (cheap enough for a read loop). */
static void bench_peak_tick(void)
{
    if (bench_now() - g_bench_peak_last >= 0.01)
        bench_peak_sample();
}

/* The group of a group-consume run: --group, else one of its own (a new
 * group reads from the first offsets). */
static void bench_group_name(const bench_opts *o, const char *client, char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (o->group)
        snprintf(buf, len, "%s", o->group);
    else
        snprintf(buf, len, "bench-%s-%lld-%ld", client, (long long)ts.tv_sec, (long)ts.tv_nsec);
}

/* A measurement window: wall clock and CPU at its start. */
typedef struct bench_window {
    double t0, cpu0;
    double secs, cpu;
} bench_window;

static void bench_window_start(bench_window *w)
{
    w->cpu0 = bench_cpu();
    w->t0 = bench_now();
}

static void bench_window_stop(bench_window *w)
{
    w->secs = bench_now() - w->t0;
    w->cpu = bench_cpu() - w->cpu0;
    bench_peak_sample();
}

/* Prints the throughput line: prefix (client=... api=... bench=...), then
 * msgs, bytes, secs, msgs_per_s, mb_per_s, cpu_ns_per_msg, then `extra`
 * (already formatted key=value pairs, may be ""). */
static void bench_report(const char *prefix, long msgs, long size, double secs, double cpu, const char *extra)
{
    double bytes = (double)msgs * (double)size;
    if (secs <= 0)
        secs = 1e-9;
    bench_peak_sample();
    printf("%s msgs=%ld bytes=%.0f secs=%.6f msgs_per_s=%.0f mb_per_s=%.2f cpu_ns_per_msg=%.1f%s%s threads_peak=%ld "
           "rss_peak_kb=%ld\n",
           prefix, msgs, bytes, secs, (double)msgs / secs, bytes / secs / 1e6, msgs ? cpu * 1e9 / (double)msgs : 0.0,
           extra && *extra ? " " : "", extra ? extra : "", g_bench_threads_peak, bench_status_kb("VmHWM"));
    fflush(stdout);
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..100) of v[0..n), sorting v. */
static double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* Prints a latency line: p50/p99/mean in microseconds of v[0..n) seconds. */
static void bench_report_latency(const char *prefix, double *v, size_t n, double cpu)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double p50 = bench_percentile(v, n, 50), p99 = bench_percentile(v, n, 99);
    printf("%s msgs=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f cpu_ns_per_msg=%.1f\n", prefix, n, p50 * 1e6, p99 * 1e6,
           n ? sum / (double)n * 1e6 : 0.0, n ? cpu * 1e9 / (double)n : 0.0);
    fflush(stdout);
}

static void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

#endif /* BENCH_UTIL_H */
