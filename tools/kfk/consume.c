/*
 * kfk consume — prints the messages of a topic.
 *
 * Without -g: every partition (or the one -p names), all read by ONE
 * kafka_reader (config.partitions: one I/O thread whatever the partition
 * count); partitions interleave by fetch, each in offset order. Start and
 * end offsets are
 * looked up first, so -o -N / @timestamp resolve per partition and -e
 * knows where each partition ends (the high-water mark at start; the
 * reader's fresh lag settles partitions whose last offsets hold no
 * message, e.g. transaction markers).
 *
 * With -g GROUP: one group-mode kafka_reader; offsets are committed as
 * messages are printed (every second and at exit).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kfk.h"

enum { OPT_JSON = 0x2000 };

#define READ_TIMEOUT_MS 200

typedef enum start_kind { START_BEGINNING, START_END, START_ABS, START_FROM_END, START_TIME } start_kind;

typedef struct consume_opts {
    const char *topic;
    int32_t partition; /* -1: every partition */
    const char *group;
    start_kind start;
    int64_t start_value;
    bool exit_at_end;
    int64_t count; /* -1: no limit */
    kfk_format fmt;
} consume_opts;

/* State shared by the partition threads. */
typedef struct shared {
    const consume_opts *o;
    pthread_mutex_t mu; /* output, counters */
    int64_t printed;
    bool stop;   /* -c reached, or an error */
    bool failed; /* a reader error */
    int out_errno; /* writing stdout failed (EPIPE: the reader went away) */
    kfk_progress progress;
} shared;

/* ---- output ------------------------------------------------------------- */

/* Prints m unless the count is reached; returns false when this thread
 * should stop (count reached). */
static bool emit(shared *s, const kafka_message *m)
{
    pthread_mutex_lock(&s->mu);
    bool go = !s->stop;
    if (go) {
        kfk_format_message(stdout, &s->o->fmt, m);
        if (ferror(stdout)) {
            s->out_errno = errno ? errno : EIO;
            s->stop = true;
        }
        s->printed++;
        kfk_progress_add(&s->progress, 1, (int64_t)(m->key_len + m->value_len));
        if (s->o->count >= 0 && s->printed >= s->o->count)
            s->stop = true;
    }
    go = go && !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go;
}

static bool stopping(shared *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop || kfk_interrupted;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void fail(shared *s, const char *fmt_topic, int32_t partition, kafka_err err, kafka_reader *r)
{
    char detail[512];
    kafka_reader_last_error(r, detail, sizeof detail);
    pthread_mutex_lock(&s->mu);
    if (partition >= 0)
        fprintf(stderr, "kfk: consume: %s [%d]: %s (%s)\n", fmt_topic, partition, kafka_err_str(err), detail);
    else
        fprintf(stderr, "kfk: consume: %s: %s (%s)\n", fmt_topic, kafka_err_str(err), detail);
    s->failed = s->stop = true;
    pthread_mutex_unlock(&s->mu);
}

static void flush_output(shared *s)
{
    pthread_mutex_lock(&s->mu);
    if (fflush(stdout) != 0 && !s->out_errno) {
        s->out_errno = errno ? errno : EIO;
        s->stop = true;
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- reader settings shared by both modes ------------------------------- */

static kafka_reader_config base_config(const kfk_conf *conf, const char *topic)
{
    return (kafka_reader_config){.brokers = conf->brokers,
                                 .topic = topic,
                                 .max_wait_ms = 500,
                                 .dialer = &conf->dialer,
                                 .dial_timeout_ms = conf->dialer.connect_timeout_ms,
                                 .log = conf->verbose ? kfk_log_stderr : NULL,
                                 .log_level = conf->verbose ? KAFKA_LOG_INFO : KAFKA_LOG_ERROR};
}

/* ---- partition mode ------------------------------------------------------ */

typedef struct part_worker {
    int32_t partition;
    int64_t start, end; /* end: high-water mark when we started */
    bool done;          /* -e: read up to end */
} part_worker;

/* Start offset of one partition from -o and its offsets. */
static int64_t start_offset(const consume_opts *o, int64_t first, int64_t last, int64_t at)
{
    switch (o->start) {
    case START_BEGINNING: return first;
    case START_END: return last;
    case START_ABS: return o->start_value;
    case START_FROM_END: return last - o->start_value > first ? last - o->start_value : first;
    case START_TIME: return at;
    }
    return first;
}

static int resolve_partitions(const kfk_conf *conf, const consume_opts *o, part_worker **out, size_t *n)
{
    int32_t *ids;
    size_t n_ids;
    if (kfk_topic_partitions(conf, "consume", o->topic, &ids, &n_ids))
        return KFK_EXIT_ERROR;
    if (o->partition >= 0) {
        bool found = false;
        for (size_t i = 0; i < n_ids && !found; i++)
            found = ids[i] == o->partition;
        if (!found) {
            kfk_err("consume", "partition %d of topic '%s' does not exist (it has %zu)", o->partition, o->topic,
                    n_ids);
            free(ids);
            return KFK_EXIT_ERROR;
        }
        ids[0] = o->partition;
        n_ids = 1;
    }
    part_worker *ws = calloc(n_ids, sizeof *ws);
    kfk_offset_lookup look;
    int rc = !ws || kfk_offsets_begin(&look, conf, "consume") ? KFK_EXIT_ERROR : 0;
    for (size_t i = 0; i < n_ids && !rc; i++) {
        int64_t first = 0, last = 0, at = -1;
        int64_t at_ms = o->start == START_TIME ? o->start_value : -1;
        if (kfk_offsets_get(&look, o->topic, ids[i], at_ms, &first, &last, &at))
            rc = KFK_EXIT_ERROR;
        ws[i] = (part_worker){.partition = ids[i], .start = start_offset(o, first, last, at), .end = last};
        /* -e: nothing to read up to the end */
        ws[i].done = o->exit_at_end && ws[i].start >= ws[i].end;
    }
    if (ws)
        kfk_offsets_end(&look);
    free(ids);
    if (rc) {
        free(ws);
        return rc;
    }
    *out = ws;
    *n = n_ids;
    return 0;
}

static part_worker *worker_find(part_worker *ws, size_t n, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if (ws[i].partition == partition)
            return &ws[i];
    return NULL;
}

/* Without -g: ONE reader for every partition read (one I/O thread, one
 * Fetch per broker), each partition at its own start offset. */
static int consume_partitions(const kfk_conf *conf, const consume_opts *o, shared *s)
{
    part_worker *ws;
    size_t n;
    int rc = resolve_partitions(conf, o, &ws, &n);
    if (rc)
        return rc;
    int32_t *ids = calloc(n ? n : 1, sizeof *ids);
    int64_t *starts = calloc(n ? n : 1, sizeof *starts);
    size_t k = 0, left = 0; /* k: partitions read; left: not done yet (-e) */
    for (size_t i = 0; ids && starts && i < n; i++) {
        if (ws[i].done)
            continue;
        ids[k] = ws[i].partition;
        starts[k++] = ws[i].start;
        left++;
    }
    kafka_reader *r = NULL;
    if (!ids || !starts) {
        kfk_err("consume", "out of memory");
        rc = KFK_EXIT_ERROR;
    } else if (k) {
        kafka_reader_config cfg = base_config(conf, o->topic);
        cfg.partitions = ids;
        cfg.n_partitions = k;
        cfg.start_offsets = starts;
        char errbuf[256];
        kafka_err err = kafka_reader_new(&r, &cfg, errbuf, sizeof errbuf);
        if (err) {
            kfk_err("consume", "%s: %s (%s)", o->topic, kafka_err_str(err), errbuf);
            rc = KFK_EXIT_ERROR;
        }
    }
    while (r && left && !stopping(s)) {
        kafka_message m;
        kafka_err err = kafka_reader_read_message(r, &m, READ_TIMEOUT_MS);
        if (err == KAFKA_ERR_TIMEOUT) {
            flush_output(s);
            /* -e: partitions whose last offsets hold no message (e.g.
             * transaction markers) are settled by a fresh lag of 0. */
            int64_t lag = -1;
            if (o->exit_at_end && kafka_reader_read_lag(r, &lag, 5000) == 0 && lag == 0)
                break;
            continue;
        }
        if (err) {
            fail(s, o->topic, k == 1 ? ids[0] : -1, err, r);
            break;
        }
        part_worker *w = worker_find(ws, n, m.partition);
        if (!w || w->done)
            continue; /* -e: past the end of a partition already finished */
        if (!emit(s, &m))
            break;
        if (o->exit_at_end && m.offset + 1 >= w->end) {
            w->done = true;
            left--;
        }
    }
    kafka_reader_close(r);
    free(ids);
    free(starts);
    free(ws);
    return rc ? rc : s->failed ? KFK_EXIT_ERROR : 0;
}

/* ---- group mode ------------------------------------------------------------ */

/* -e in group mode: partitions are assigned and none has lag. */
static bool group_caught_up(kafka_reader *r)
{
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    int64_t lag = -1;
    return st.partitions > 0 && kafka_reader_lag(r) == 0 && kafka_reader_read_lag(r, &lag, 5000) == 0 && lag == 0;
}

static int consume_group(const kfk_conf *conf, const consume_opts *o, shared *s)
{
    int32_t *ids;
    size_t n_ids;
    if (kfk_topic_partitions(conf, "consume", o->topic, &ids, &n_ids))
        return KFK_EXIT_ERROR;
    free(ids);
    kafka_reader_config cfg = base_config(conf, o->topic);
    cfg.group_id = o->group;
    cfg.commit_interval_ms = 1000; /* committed periodically and at close */
    cfg.start_offset = o->start == START_END ? KAFKA_START_LAST : KAFKA_START_FIRST;
    kafka_reader *r;
    char errbuf[256];
    kafka_err err = kafka_reader_new(&r, &cfg, errbuf, sizeof errbuf);
    if (err) {
        kfk_err("consume", "%s (%s)", errbuf, kafka_err_str(err));
        return KFK_EXIT_ERROR;
    }
    while (!stopping(s)) {
        kafka_message m;
        err = kafka_reader_read_message(r, &m, READ_TIMEOUT_MS);
        if (err == KAFKA_ERR_TIMEOUT) {
            flush_output(s);
            if (o->exit_at_end && group_caught_up(r))
                break;
            continue;
        }
        if (err) {
            fail(s, o->topic, -1, err, r);
            break;
        }
        if (!emit(s, &m))
            break;
    }
    err = kafka_reader_close(r);
    if (err) {
        kfk_err("consume", "final offset commit for group '%s': %s", o->group, kafka_err_str(err));
        return KFK_EXIT_ERROR;
    }
    return s->failed ? KFK_EXIT_ERROR : 0;
}

/* ---- options --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: kfk consume TOPIC [options]\n"
          "  -p, --partition N     only partition N (default: every partition)\n"
          "  -g, --group GROUP     read as a member of consumer group GROUP\n"
          "  -o, --offset OFF      beginning (default), end, N, -N (N before the end),\n"
          "                        @MS (first message at or after MS ms since the epoch);\n"
          "                        with -g: beginning or end, for partitions without a commit\n"
          "  -e, --exit            exit at the end of every partition\n"
          "  -c, --count N         exit after N messages\n"
          "  -f, --format FMT      %t topic, %p partition, %o offset, %k key, %K key length,\n"
          "                        %s value, %S value length, %T timestamp, %h headers,\n"
          "                        %% percent; \\n \\t \\r \\0 \\\\ escapes\n"
          "  -J, --json            one JSON object per message\n"
          "  -K, --key-delimiter D print the key and D before the value\n"
          "  -D, --delimiter D     after each value (default \\n)\n"
          "  -Z, --null            print null keys and values as NULL\n\n",
          f);
    kfk_print_common_usage(f);
}

static int parse_offset(const char *v, consume_opts *o)
{
    if (!strcmp(v, "beginning") || !strcmp(v, "first")) {
        o->start = START_BEGINNING;
        return 0;
    }
    if (!strcmp(v, "end") || !strcmp(v, "last")) {
        o->start = START_END;
        return 0;
    }
    bool ok;
    if (v[0] == '@' || !strncmp(v, "s@", 2)) {
        o->start = START_TIME;
        ok = kfk_parse_i64(strchr(v, '@') + 1, "offset timestamp", 0, INT64_MAX, &o->start_value);
    } else if (v[0] == '-') {
        o->start = START_FROM_END;
        ok = kfk_parse_i64(v + 1, "offset", 1, INT64_MAX, &o->start_value);
    } else {
        o->start = START_ABS;
        ok = kfk_parse_i64(v, "offset", 0, INT64_MAX, &o->start_value);
    }
    return ok ? 0 : KFK_EXIT_USAGE;
}

static int set_delim(const char *arg, char **out, size_t *len)
{
    char *d = kfk_unescape(arg, len);
    if (!d)
        return KFK_EXIT_ERROR;
    free(*out);
    *out = d;
    return 0;
}

static int parse_args(int argc, char **argv, kfk_conf *conf, consume_opts *o)
{
    static const struct option longopts[] = {{"partition", required_argument, NULL, 'p'},
                                             {"group", required_argument, NULL, 'g'},
                                             {"offset", required_argument, NULL, 'o'},
                                             {"exit", no_argument, NULL, 'e'},
                                             {"count", required_argument, NULL, 'c'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"key-delimiter", required_argument, NULL, 'K'},
                                             {"delimiter", required_argument, NULL, 'D'},
                                             {"null", no_argument, NULL, 'Z'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"p:g:o:ec:f:JK:D:Zh", longopts};
    int c, status = 0;
    bool offset_given = false;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        int rc = 0;
        switch (c) {
        case 'p': rc = kfk_parse_i32(optarg, "partition", 0, INT32_MAX, &o->partition) ? 0 : KFK_EXIT_USAGE; break;
        case 'g': o->group = optarg; break;
        case 'o': rc = parse_offset(optarg, o), offset_given = true; break;
        case 'e': o->exit_at_end = true; break;
        case 'c': rc = kfk_parse_i64(optarg, "count", 1, INT64_MAX, &o->count) ? 0 : KFK_EXIT_USAGE; break;
        case 'f':
            o->fmt.mode = KFK_OUT_FORMAT, o->fmt.fmt = optarg;
            rc = kfk_format_check(optarg) ? 0 : KFK_EXIT_USAGE;
            break;
        case 'J':
        case OPT_JSON: o->fmt.mode = KFK_OUT_JSON; break;
        case 'K': rc = set_delim(optarg, &o->fmt.key_delim, &o->fmt.key_delim_len); break;
        case 'D': rc = set_delim(optarg, &o->fmt.msg_delim, &o->fmt.msg_delim_len); break;
        case 'Z': o->fmt.null_as_word = true; break;
        case 'h': usage(stdout); return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "kfk: consume: missing TOPIC\n");
        return KFK_EXIT_USAGE;
    }
    o->topic = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "kfk: consume: unexpected argument '%s' (one topic per run)\n", argv[optind]);
        return KFK_EXIT_USAGE;
    }
    if (o->group && o->partition >= 0) {
        fprintf(stderr, "kfk: consume: -g and -p exclude each other (the group assigns partitions)\n");
        return KFK_EXIT_USAGE;
    }
    if (o->group && offset_given && o->start != START_BEGINNING && o->start != START_END) {
        fprintf(stderr, "kfk: consume: with -g, -o takes beginning or end\n");
        return KFK_EXIT_USAGE;
    }
    if (!o->fmt.msg_delim)
        set_delim("\\n", &o->fmt.msg_delim, &o->fmt.msg_delim_len);
    return kfk_conf_check(conf);
}

int kfk_consume(int argc, char **argv, kfk_conf *conf)
{
    consume_opts o = {.partition = -1, .count = -1};
    int rc = parse_args(argc, argv, conf, &o);
    if (rc == 0) {
        shared s = {.o = &o, .mu = PTHREAD_MUTEX_INITIALIZER};
        kfk_progress_start(&s.progress, "consumed");
        rc = o.group ? consume_group(conf, &o, &s) : consume_partitions(conf, &o, &s);
        kfk_progress_end(&s.progress);
        if (fflush(stdout) != 0 && !s.out_errno)
            s.out_errno = errno ? errno : EIO;
        /* A closed pipe (kfk consume ... | head) ends the run quietly. */
        if (s.out_errno && s.out_errno != EPIPE) {
            kfk_err("consume", "writing output: %s", strerror(s.out_errno));
            rc = KFK_EXIT_ERROR;
        }
    }
    free(o.fmt.key_delim);
    free(o.fmt.msg_delim);
    return rc < 0 ? KFK_EXIT_OK : rc;
}
