/*
 * produce — writes stdin lines to a Kafka topic through a kafka_writer, one
 * message per line.
 *
 *   produce -b host:port[,host:port] -t topic [-p partition] [-K]
 *           [-z none|gzip|snappy|lz4|zstd] [-a 0|1|all] [--async]
 *
 *   -p       every message goes to this partition (a custom balancer);
 *            without -p the writer's default balancer picks (murmur2 of the
 *            key; lines without a key are sticky: a batch's worth to one
 *            partition, then the next, see kafka/balancer.h)
 *   -K       lines are "key<TAB>value"
 *   --async  asynchronous writer: lines are enqueued and their outcome is
 *            counted by the completion callback; without it, lines are
 *            written synchronously in chunks of 1000
 *
 * Prints "produced N messages to topic (F failed, codec C)" on stderr;
 * exits non-zero if any message failed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "kafka/writer.h"

#define CHUNK 1000

typedef struct opts {
    const char *brokers, *topic;
    int32_t partition; /* -1: balancer */
    bool keyed, async;
    kafka_codec codec;
    kafka_required_acks acks;
} opts;

static void usage(void)
{
    fprintf(stderr, "usage: produce -b brokers -t topic [-p partition] [-K] [-z none|gzip|snappy|lz4|zstd] "
                    "[-a 0|1|all] [--async]\n");
    exit(2);
}

static opts parse(int argc, char **argv)
{
    opts o = {.partition = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--async") || !strcmp(a, "-K")) {
            o.keyed |= !strcmp(a, "-K");
            o.async |= !strcmp(a, "--async");
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "-b"))
            o.brokers = v;
        else if (!strcmp(a, "-t"))
            o.topic = v;
        else if (!strcmp(a, "-p")) {
            o.partition = (int32_t)atoi(v);
            if (o.partition < 0)
                usage();
        } else if (!strcmp(a, "-z")) {
            if (kafka_codec_parse(v, &o.codec) != 0) {
                fprintf(stderr, "produce: unknown codec %s\n", v);
                exit(2);
            }
        } else if (!strcmp(a, "-a")) {
            if (!strcmp(v, "0"))
                o.acks = KAFKA_REQUIRE_NONE;
            else if (!strcmp(v, "1"))
                o.acks = KAFKA_REQUIRE_ONE;
            else if (!strcmp(v, "all") || !strcmp(v, "-1"))
                o.acks = KAFKA_REQUIRE_ALL;
            else
                usage();
        } else
            usage();
    }
    if (!o.brokers || !o.topic)
        usage();
    return o;
}

/* -p: sends everything to the requested partition, if the topic has it. */
static int32_t fixed_partition(void *priv, const char *topic, const void *key, size_t key_len, size_t value_len,
                               const int32_t *partitions, size_t n)
{
    (void)topic, (void)key, (void)key_len, (void)value_len;
    int32_t want = *(const int32_t *)priv;
    for (size_t i = 0; i < n; i++)
        if (partitions[i] == want)
            return want;
    return -1; /* the writer fails the message with INVALID_ARG */
}

typedef struct counts {
    pthread_mutex_t mu;
    size_t ok, failed;
    kafka_err first_err;
} counts;

static void on_completion(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    counts *c = priv;
    (void)msgs;
    pthread_mutex_lock(&c->mu);
    if (err) {
        c->failed += n;
        if (!c->first_err)
            c->first_err = err;
    } else {
        c->ok += n;
    }
    pthread_mutex_unlock(&c->mu);
}

/* One chunk of lines: the messages point into `lines`. */
typedef struct chunk {
    char *lines[CHUNK];
    kafka_message msgs[CHUNK];
    kafka_err errs[CHUNK];
    size_t n;
} chunk;

static void chunk_add(chunk *c, char *line, bool keyed)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n')
        line[--len] = 0;
    kafka_message *m = &c->msgs[c->n];
    *m = (kafka_message){.value = line, .value_len = len};
    char *tab = keyed ? strchr(line, '\t') : NULL;
    if (tab) {
        *tab = 0;
        m->key = line;
        m->key_len = (size_t)(tab - line);
        m->value = tab + 1;
        m->value_len = len - m->key_len - 1;
    }
    c->lines[c->n++] = line;
}

static void chunk_write(kafka_writer *w, chunk *c, bool async, counts *cnt)
{
    if (!c->n)
        return;
    (void)kafka_writer_write_messages(w, c->msgs, c->n, c->errs, -1); /* errs has the details */
    pthread_mutex_lock(&cnt->mu);
    /* Sync: errs is every message's outcome. Async: errs != 0 means "not
     * enqueued" (the callback counts the outcome of the others). */
    for (size_t i = 0; i < c->n; i++) {
        if (c->errs[i]) {
            cnt->failed++;
            if (!cnt->first_err)
                cnt->first_err = c->errs[i];
        } else if (!async) {
            cnt->ok++;
        }
    }
    pthread_mutex_unlock(&cnt->mu);
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    counts cnt = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    kafka_writer_config cfg = {.brokers = o.brokers,
                               .topic = o.topic,
                               .compression = o.codec,
                               .required_acks = o.acks,
                               .async = o.async,
                               .allow_auto_topic_creation = true, /* as the conn version did */
                               .completion = o.async ? on_completion : NULL,
                               .completion_privdata = &cnt};
    if (o.partition >= 0)
        cfg.balancer = (kafka_balancer){.kind = KAFKA_BALANCER_CUSTOM, .fn = fixed_partition,
                                        .privdata = &o.partition};
    kafka_writer *w = NULL;
    char err[256];
    if (kafka_writer_new(&w, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "produce: %s\n", err);
        return 1;
    }
    chunk *c = calloc(1, sizeof *c);
    if (!c) {
        kafka_writer_close(w, 0);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) >= 0) {
        chunk_add(c, line, o.keyed);
        line = NULL;
        cap = 0;
        if (c->n == CHUNK)
            chunk_write(w, c, o.async, &cnt);
    }
    free(line);
    chunk_write(w, c, o.async, &cnt);
    free(c);
    kafka_err ce = kafka_writer_close(w, 30000);
    if (ce)
        fprintf(stderr, "produce: close: %s\n", kafka_err_str(ce));
    if (cnt.failed)
        fprintf(stderr, "produce: first error: %s\n", kafka_err_str(cnt.first_err));
    fprintf(stderr, "produced %zu messages to %s (%zu failed, codec %s)\n", cnt.ok, o.topic, cnt.failed,
            kafka_codec_name(o.codec));
    return cnt.failed || ce ? 1 : 0;
}
