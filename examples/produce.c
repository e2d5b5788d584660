/*
 * produce — writes stdin lines to a Kafka partition, one message per line.
 *
 *   produce -b host:port[,host:port] -t topic [-p partition] [-K]
 *           [-z none|gzip|snappy|lz4|zstd] [-a 0|1|all] [--async]
 *
 *   -K       lines are "key<TAB>value"
 *   --async  accepted; with the conn layer, batches are written one after
 *            another on one connection
 *
 * Messages go out in batches of up to 1000 messages / 1 MiB per Produce
 * request through a kafka_conn to the partition leader (kafka_dial_leader).
 * Prints "produced N messages to topic [p] ..." on stderr; exits non-zero
 * if any message failed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kafka.h"

#define BATCH_MSGS 1000
#define BATCH_BYTES (1024 * 1024)

typedef struct opts {
    const char *brokers, *topic;
    int32_t partition;
    bool keyed;
    kafka_write_options w;
} opts;

static void usage(void)
{
    fprintf(stderr, "usage: produce -b brokers -t topic [-p partition] [-K] [-z none|gzip|snappy|lz4|zstd] "
                    "[-a 0|1|all] [--async]\n");
    exit(2);
}

static opts parse(int argc, char **argv)
{
    opts o = {.partition = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--async") || !strcmp(a, "-K")) {
            o.keyed |= !strcmp(a, "-K");
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "-b"))
            o.brokers = v;
        else if (!strcmp(a, "-t"))
            o.topic = v;
        else if (!strcmp(a, "-p"))
            o.partition = (int32_t)atoi(v);
        else if (!strcmp(a, "-z")) {
            if (kafka_codec_parse(v, &o.w.codec) != 0) {
                fprintf(stderr, "produce: unknown codec %s\n", v);
                exit(2);
            }
        } else if (!strcmp(a, "-a")) {
            if (!strcmp(v, "0"))
                o.w.acks_none = true;
            else if (!strcmp(v, "1"))
                o.w.acks = KAFKA_ACKS_LEADER;
            else if (!strcmp(v, "all") || !strcmp(v, "-1"))
                o.w.acks = KAFKA_ACKS_ALL;
            else
                usage();
        } else
            usage();
    }
    if (!o.brokers || !o.topic || o.partition < 0)
        usage();
    return o;
}

typedef struct pending {
    kafka_message msgs[BATCH_MSGS];
    char *lines[BATCH_MSGS];
    size_t n, bytes;
} pending;

static void to_message(char *line, bool keyed, kafka_message *m)
{
    memset(m, 0, sizeof *m);
    char *tab = keyed ? strchr(line, '\t') : NULL;
    if (tab) {
        *tab = '\0';
        m->key = line;
        m->key_len = strlen(line);
        line = tab + 1;
    }
    m->value = line;
    m->value_len = strlen(line);
}

/* Writes the pending batch; returns how many messages failed. */
static size_t flush(kafka_conn *c, const opts *o, pending *p)
{
    size_t failed = 0;
    if (p->n) {
        kafka_err err = kafka_conn_write_messages(c, p->msgs, p->n, &o->w, NULL);
        if (err) {
            fprintf(stderr, "produce: %zu messages failed: %s (%s)\n", p->n, kafka_err_str(err),
                    kafka_conn_last_error(c));
            failed = p->n;
        }
    }
    for (size_t i = 0; i < p->n; i++)
        free(p->lines[i]);
    p->n = p->bytes = 0;
    return failed;
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    kafka_conn *c;
    kafka_err err = kafka_dial_leader(&c, o.brokers, o.topic, o.partition, NULL, 10000);
    if (err) {
        fprintf(stderr, "produce: %s: %s\n", kafka_err_str(err), kafka_dial_last_error());
        return 1;
    }
    static pending p;
    size_t total = 0, failed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        p.lines[p.n] = line;
        to_message(line, o.keyed, &p.msgs[p.n]);
        line = NULL;
        cap = 0;
        p.n++;
        p.bytes += (size_t)len;
        total++;
        if (p.n == BATCH_MSGS || p.bytes >= BATCH_BYTES)
            failed += flush(c, &o, &p);
    }
    free(line);
    failed += flush(c, &o, &p);
    kafka_conn_close(c);
    fprintf(stderr, "produced %zu messages to %s [%d] (%zu failed, codec %s)\n", total - failed, o.topic, o.partition,
            failed, kafka_codec_name(o.w.codec));
    return failed ? 1 : 0;
}
