/*
 * kfk produce — writes delimited records (lines by default) of stdin or of
 * files to a topic through an asynchronous kafka_writer, and reports every
 * failed message: exit status 1 if any failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kfk.h"

enum { OPT_AUTO_CREATE = 0x2000, OPT_TIMESTAMP, OPT_JSON, OPT_PARTITIONER };

#define MAX_HEADERS 64
#define CHUNK 512

typedef struct produce_opts {
    const char *topic;
    int32_t partition; /* -1: the writer's balancer */
    const char *key;   /* -k: one key for every message */
    char *key_delim;   /* -K */
    size_t key_delim_len;
    char *msg_delim;   /* -D, default "\n" */
    size_t msg_delim_len;
    bool null_empty;   /* -Z */
    bool json;         /* --json: each record is a JSON object */
    bool auto_create;
    int64_t timestamp_ms;
    kafka_codec codec;
    kafka_required_acks acks;
    kafka_balancer_kind partitioner;
    kafka_header headers[MAX_HEADERS];
    size_t n_headers;
} produce_opts;

/* Outcomes, counted by the writer's completion callback. */
typedef struct tally {
    pthread_mutex_t mu;
    int64_t ok, failed;
    kafka_err first_err;
    kfk_progress progress;
} tally;

static void on_completion(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    tally *t = priv;
    int64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (int64_t)(msgs[i].key_len + msgs[i].value_len);
    pthread_mutex_lock(&t->mu);
    if (err) {
        if (!t->first_err)
            fprintf(stderr, "kfk: produce: %zu message(s) to %s [%d] failed: %s\n", n, msgs[0].topic,
                    msgs[0].partition, kafka_err_str(err));
        t->failed += (int64_t)n;
        if (!t->first_err)
            t->first_err = err;
    } else {
        t->ok += (int64_t)n;
        kfk_progress_add(&t->progress, (int64_t)n, bytes);
    }
    pthread_mutex_unlock(&t->mu);
}

/* A batch of records read from the input; messages point into `bufs`. */
typedef struct chunk {
    char *bufs[CHUNK];
    kafka_message msgs[CHUNK];
    kafka_err errs[CHUNK];
    size_t n;
} chunk;

static void chunk_flush(kafka_writer *w, chunk *c, tally *t)
{
    if (!c->n)
        return;
    /* Async: a call returns once the messages are enqueued (copied);
     * errs[i] != 0 means message i was not enqueued at all. */
    (void)kafka_writer_write_messages(w, c->msgs, c->n, c->errs, -1);
    for (size_t i = 0; i < c->n; i++) {
        if (c->errs[i]) {
            pthread_mutex_lock(&t->mu);
            if (!t->first_err)
                fprintf(stderr, "kfk: produce: message not enqueued: %s\n", kafka_err_str(c->errs[i]));
            t->failed++;
            if (!t->first_err)
                t->first_err = c->errs[i];
            pthread_mutex_unlock(&t->mu);
        }
        free(c->bufs[i]);
    }
    c->n = 0;
}

/* -p: the writer sends the message to that partition (checked to exist)
 * instead of asking the balancer. */
static void set_partition(kafka_message *m, const produce_opts *o)
{
    if (o->partition >= 0) {
        m->partition = o->partition;
        m->flags |= KAFKA_MSG_PARTITION_SET;
    }
}

/* --json: the record is a JSON object; the message points into one
 * allocation holding its headers and decoded strings (owned by the chunk). */
static bool chunk_add_json(chunk *c, const produce_opts *o, const char *rec, size_t len, int64_t recno)
{
    kafka_header *blk = malloc(MAX_HEADERS * sizeof *blk + len + 1);
    if (!blk) {
        kfk_err("produce", "out of memory");
        return false;
    }
    const char *why;
    if (!kfk_json_message(rec, len, (char *)(blk + MAX_HEADERS), blk, MAX_HEADERS, &c->msgs[c->n], &why)) {
        kfk_err("produce", "record %lld: not a message object: %s", (long long)recno, why);
        free(blk);
        return false;
    }
    set_partition(&c->msgs[c->n], o);
    c->bufs[c->n++] = (char *)blk;
    return true;
}

/* Turns one record (owned buffer `rec`, len bytes) into a message. */
static void chunk_add(chunk *c, const produce_opts *o, char *rec, size_t len)
{
    kafka_message *m = &c->msgs[c->n];
    *m = (kafka_message){.value = rec, .value_len = len, .headers = o->headers, .n_headers = o->n_headers,
                         .timestamp_ms = o->timestamp_ms};
    if (o->key) {
        m->key = o->key;
        m->key_len = strlen(o->key);
    } else if (o->key_delim) {
        char *d = memmem(rec, len, o->key_delim, o->key_delim_len);
        if (d) {
            m->key = rec;
            m->key_len = (size_t)(d - rec);
            m->value = d + o->key_delim_len;
            m->value_len = len - m->key_len - o->key_delim_len;
        }
    }
    if (o->null_empty) {
        if (m->key && !m->key_len)
            m->key = NULL;
        if (!m->value_len)
            m->value = NULL;
    }
    set_partition(m, o);
    c->bufs[c->n++] = rec;
}

/* Splits f into records on the delimiter; empty records are skipped (as
 * kcat does). *recno counts records (for error messages). Returns 0 or an
 * errno value (EINVAL: a --json record that does not parse, reported). */
static int produce_stream(FILE *f, const produce_opts *o, kafka_writer *w, chunk *c, tally *t, int64_t *recno)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ENOMEM;
    bool eof = false;
    while (!eof && !kfk_interrupted) {
        if (len == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return ENOMEM;
            }
            buf = grown, cap *= 2;
        }
        /* read(2), not fread: a line typed on a terminal or written to a
         * pipe is sent as soon as it arrives, not when 64 KiB have. */
        ssize_t got = read(fileno(f), buf + len, cap - len);
        if (got < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop checks kfk_interrupted */
            free(buf);
            return errno;
        }
        eof = got == 0;
        bool drained = (size_t)got < cap - len; /* nothing more waiting, for now */
        len += (size_t)got;
        size_t start = 0;
        for (;;) {
            char *d = memmem(buf + start, len - start, o->msg_delim, o->msg_delim_len);
            size_t rec_len = d ? (size_t)(d - (buf + start)) : len - start;
            if (!d && !eof)
                break;
            if (rec_len && o->json) {
                if (!chunk_add_json(c, o, buf + start, rec_len, ++*recno)) {
                    free(buf);
                    return EINVAL;
                }
            } else if (rec_len) {
                char *rec = malloc(rec_len);
                if (!rec) {
                    free(buf);
                    return ENOMEM;
                }
                memcpy(rec, buf + start, rec_len);
                chunk_add(c, o, rec, rec_len);
                ++*recno;
            }
            if (c->n == CHUNK)
                chunk_flush(w, c, t);
            start += rec_len + (d ? o->msg_delim_len : 0);
            if (!d)
                break;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (drained)
            chunk_flush(w, c, t);
    }
    free(buf);
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: kfk produce TOPIC [FILE...] [options]   (no FILE, or -: stdin)\n"
          "  -p, --partition N     every message to partition N (default: by key)\n"
          "  -k, --key KEY         the same key for every message\n"
          "  -K, --key-delimiter D split each record at the first D into key and value\n"
          "  -D, --delimiter D     record delimiter (default \\n; \\t \\0 \\xHH accepted)\n"
          "  -H, --header K=V      add a header to every message (repeatable)\n"
          "  -Z, --null            empty key or value parts are sent as null\n"
          "  -z, --compression C   none, gzip, snappy, lz4 or zstd\n"
          "  -a, --acks A          all (default), 1 or 0\n"
          "      --timestamp MS    message timestamp (default: now)\n"
          "      --partitioner P   murmur2 (default, as the Java client), crc32 (as kcat),\n"
          "                        round-robin, least-bytes, fnv1a, fnv1a-java\n"
          "  -J, --json            each record is a JSON object as consume --json writes\n"
          "                        (key, value, headers, timestamp; others ignored)\n"
          "      --auto-create     let the broker create a missing topic\n\n",
          f);
    kfk_print_common_usage(f);
}

static int add_header(produce_opts *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || o->n_headers == MAX_HEADERS) {
        fprintf(stderr, "kfk: produce: bad header '%s' (expected key=value, at most %d)\n", kv, MAX_HEADERS);
        return KFK_EXIT_USAGE;
    }
    o->headers[o->n_headers++] =
        (kafka_header){.key = kv, .key_len = (size_t)(eq - kv), .value = eq + 1, .value_len = strlen(eq + 1)};
    return 0;
}

static int parse_acks(const char *v, kafka_required_acks *out)
{
    if (!strcmp(v, "all") || !strcmp(v, "-1"))
        *out = KAFKA_REQUIRE_ALL;
    else if (!strcmp(v, "1"))
        *out = KAFKA_REQUIRE_ONE;
    else if (!strcmp(v, "0"))
        *out = KAFKA_REQUIRE_NONE;
    else {
        fprintf(stderr, "kfk: produce: bad acks '%s' (expected all, 1 or 0)\n", v);
        return KFK_EXIT_USAGE;
    }
    return 0;
}

static int parse_partitioner(const char *v, kafka_balancer_kind *out)
{
    static const struct {
        const char *name;
        kafka_balancer_kind kind;
    } kinds[] = {{"murmur2", KAFKA_BALANCER_MURMUR2},         {"crc32", KAFKA_BALANCER_CRC32},
                 {"round-robin", KAFKA_BALANCER_ROUND_ROBIN}, {"least-bytes", KAFKA_BALANCER_LEAST_BYTES},
                 {"fnv1a", KAFKA_BALANCER_HASH},              {"fnv1a-java", KAFKA_BALANCER_REFERENCE_HASH}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(v, kinds[i].name)) {
            *out = kinds[i].kind;
            return 0;
        }
    fprintf(stderr, "kfk: produce: unknown partitioner '%s' (murmur2, crc32, round-robin, least-bytes, fnv1a, "
                    "fnv1a-java)\n", v);
    return KFK_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, kfk_conf *conf, produce_opts *o)
{
    static const struct option longopts[] = {{"partition", required_argument, NULL, 'p'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"key-delimiter", required_argument, NULL, 'K'},
                                             {"delimiter", required_argument, NULL, 'D'},
                                             {"header", required_argument, NULL, 'H'},
                                             {"null", no_argument, NULL, 'Z'},
                                             {"compression", required_argument, NULL, 'z'},
                                             {"acks", required_argument, NULL, 'a'},
                                             {"timestamp", required_argument, NULL, OPT_TIMESTAMP},
                                             {"auto-create", no_argument, NULL, OPT_AUTO_CREATE},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"partitioner", required_argument, NULL, OPT_PARTITIONER},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"p:k:K:D:H:Zz:a:Jh", longopts};
    int c, status = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        int rc = 0;
        switch (c) {
        case 'p': rc = kfk_parse_i32(optarg, "partition", 0, INT32_MAX, &o->partition) ? 0 : KFK_EXIT_USAGE; break;
        case 'k': o->key = optarg; break;
        case 'K':
            free(o->key_delim);
            o->key_delim = kfk_unescape(optarg, &o->key_delim_len);
            break;
        case 'D':
            free(o->msg_delim);
            o->msg_delim = kfk_unescape(optarg, &o->msg_delim_len);
            break;
        case 'H': rc = add_header(o, optarg); break;
        case 'Z': o->null_empty = true; break;
        case 'z':
            if (kafka_codec_parse(optarg, &o->codec) != 0) {
                fprintf(stderr, "kfk: produce: unknown compression '%s' (none, gzip, snappy, lz4, zstd)\n", optarg);
                rc = KFK_EXIT_USAGE;
            }
            break;
        case 'a': rc = parse_acks(optarg, &o->acks); break;
        case OPT_TIMESTAMP:
            rc = kfk_parse_i64(optarg, "timestamp", 0, INT64_MAX, &o->timestamp_ms) ? 0 : KFK_EXIT_USAGE;
            break;
        case OPT_AUTO_CREATE: o->auto_create = true; break;
        case 'J':
        case OPT_JSON: o->json = true; break;
        case OPT_PARTITIONER: rc = parse_partitioner(optarg, &o->partitioner); break;
        case 'h': usage(stdout); return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "kfk: produce: missing TOPIC\n");
        return KFK_EXIT_USAGE;
    }
    o->topic = argv[optind++];
    if ((o->key_delim && !o->key_delim_len) || (o->msg_delim && !o->msg_delim_len)) {
        fprintf(stderr, "kfk: produce: empty delimiter\n");
        return KFK_EXIT_USAGE;
    }
    if (o->json && (o->key || o->key_delim || o->n_headers || o->null_empty ||
                    o->timestamp_ms != KAFKA_TIMESTAMP_NONE)) {
        fprintf(stderr, "kfk: produce: --json excludes -k, -K, -H, -Z and --timestamp (the JSON has them)\n");
        return KFK_EXIT_USAGE;
    }
    if (o->key && o->key_delim) {
        fprintf(stderr, "kfk: produce: -k and -K exclude each other\n");
        return KFK_EXIT_USAGE;
    }
    if (!o->msg_delim) {
        o->msg_delim = strdup("\n");
        o->msg_delim_len = 1;
    }
    return kfk_conf_check(conf);
}

/* The topic (and -p partition) must exist, unless --auto-create. */
static int check_target(const kfk_conf *conf, const produce_opts *o)
{
    if (o->auto_create)
        return 0;
    int32_t *ids;
    size_t n;
    kafka_err err = kfk_topic_partitions(conf, "produce", o->topic, &ids, &n);
    if (err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        fprintf(stderr, "kfk: produce: (create it first, or pass --auto-create)\n");
    if (err)
        return KFK_EXIT_ERROR;
    bool found = o->partition < 0;
    for (size_t i = 0; i < n && !found; i++)
        found = ids[i] == o->partition;
    if (!found)
        kfk_err("produce", "partition %d of topic '%s' does not exist (it has %zu)", o->partition, o->topic, n);
    free(ids);
    return found ? 0 : KFK_EXIT_ERROR;
}

static kafka_writer *open_writer(const kfk_conf *conf, const produce_opts *o, tally *t)
{
    kafka_writer_config cfg = {.brokers = conf->brokers,
                               .topic = o->topic,
                               .compression = o->codec,
                               .required_acks = o->acks,
                               .async = true,
                               .completion = on_completion,
                               .completion_privdata = t,
                               .allow_auto_topic_creation = o->auto_create,
                               .balancer = {.kind = o->partitioner},
                               /* kcat's linger (5 ms) order of magnitude: a
                                * line typed interactively leaves at once;
                                * piped input fills batches by size. */
                               .batch_timeout_ms = 10,
                               .dialer = &conf->dialer,
                               .dial_timeout_ms = conf->dialer.connect_timeout_ms,
                               .log = conf->verbose ? kfk_log_stderr : NULL,
                               .log_level = conf->verbose ? KAFKA_LOG_INFO : KAFKA_LOG_ERROR};
    kafka_writer *w = NULL;
    char errbuf[256];
    kafka_err err = kafka_writer_new(&w, &cfg, errbuf, sizeof errbuf);
    if (err) {
        kfk_err("produce", "%s (%s)", errbuf, kafka_err_str(err));
        return NULL;
    }
    return w;
}

/* One input: a file name, or "-" for stdin. */
static int produce_input(const char *name, const produce_opts *o, kafka_writer *w, chunk *c, tally *t,
                         int64_t *recno)
{
    bool is_stdin = !strcmp(name, "-");
    FILE *f = is_stdin ? stdin : fopen(name, "rb");
    if (!f) {
        kfk_err("produce", "%s: %s", name, strerror(errno));
        return KFK_EXIT_ERROR;
    }
    int e = produce_stream(f, o, w, c, t, recno);
    if (e && e != EINVAL)
        kfk_err("produce", "%s: %s", is_stdin ? "stdin" : name, strerror(e));
    if (!is_stdin)
        fclose(f);
    return e ? KFK_EXIT_ERROR : 0;
}

static int produce_inputs(int argc, char **argv, const produce_opts *o, kafka_writer *w, chunk *c, tally *t)
{
    int64_t recno = 0;
    int rc = optind == argc ? produce_input("-", o, w, c, t, &recno) : 0;
    for (int i = optind; i < argc && !rc && !kfk_interrupted; i++)
        rc = produce_input(argv[i], o, w, c, t, &recno);
    chunk_flush(w, c, t);
    return rc;
}

int kfk_produce(int argc, char **argv, kfk_conf *conf)
{
    produce_opts o = {.partition = -1, .timestamp_ms = KAFKA_TIMESTAMP_NONE};
    int rc = parse_args(argc, argv, conf, &o);
    if (rc == 0)
        rc = check_target(conf, &o);
    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    chunk *c = rc ? NULL : calloc(1, sizeof *c);
    kafka_writer *w = c ? open_writer(conf, &o, &t) : NULL;
    if (rc == 0 && !w)
        rc = KFK_EXIT_ERROR;
    if (rc == 0) {
        kfk_progress_start(&t.progress, "produced");
        rc = produce_inputs(argc, argv, &o, w, c, &t);
        kafka_err ce = kafka_writer_close(w, conf->timeout_ms * 3);
        kfk_progress_end(&t.progress);
        if (ce) {
            kfk_err("produce", "close: %s", kafka_err_str(ce));
            rc = KFK_EXIT_ERROR;
        }
        if (t.failed || kfk_interrupted)
            rc = KFK_EXIT_ERROR;
        if (t.failed || t.progress.on)
            fprintf(stderr, "kfk: produce: %lld delivered, %lld failed%s\n", (long long)t.ok, (long long)t.failed,
                    kfk_interrupted ? " (interrupted)" : "");
    }
    free(c);
    free(o.key_delim);
    free(o.msg_delim);
    return rc < 0 ? KFK_EXIT_OK : rc;
}
