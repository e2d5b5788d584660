/*
 * conn_produce — the low-level way to produce: one kafka_conn to the
 * partition leader, one Produce request per kafka_conn_write_messages call.
 * (kafka-go's `DialLeader` + `conn.WriteMessages`.) Applications that want
 * batching, retries and partitioning use kafka_writer instead; a conn is
 * for tools and for code that wants to control every request.
 *
 *   conn_produce -b host:port[,host:port] -t topic [-p partition] [-K]
 *                [-z none|gzip|snappy|lz4|zstd] [-a 0|1|all]
 *
 *   -b  bootstrap brokers, asked for the partition's leader
 *   -t  topic, -p partition (default 0)
 *   -K  stdin lines are "key<TAB>value" (default: the line is the value,
 *       no key)
 *   -z  compression codec of the record batches (default none)
 *   -a  required acks: 0 (fire and forget), 1 (leader) or all (default)
 *
 * Reads stdin, one message per line, and sends them in groups of up to 500
 * lines (each group = one record batch = one round trip). Prints
 * "produced N messages ..." on stderr; exit status 1 if any group failed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kafka.h"

#define GROUP_MSGS 500

typedef struct opts {
    const char *brokers, *topic;
    int32_t partition;
    bool keyed;
    kafka_write_options w; /* zero value: acks all, no compression */
} opts;

static void usage(void)
{
    fprintf(stderr, "usage: conn_produce -b brokers -t topic [-p partition] [-K] "
                    "[-z none|gzip|snappy|lz4|zstd] [-a 0|1|all]\n");
    exit(2);
}

static opts parse(int argc, char **argv)
{
    opts o = {.partition = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-K")) {
            o.keyed = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "-b"))
            o.brokers = v;
        else if (!strcmp(a, "-t"))
            o.topic = v;
        else if (!strcmp(a, "-p"))
            o.partition = (int32_t)atoi(v);
        else if (!strcmp(a, "-z")) {
            if (kafka_codec_parse(v, &o.w.codec) != 0) {
                fprintf(stderr, "conn_produce: unknown codec %s\n", v);
                exit(2);
            }
        } else if (!strcmp(a, "-a")) {
            /* acks=0 needs the flag: a zero `acks` field means "default". */
            if (!strcmp(v, "0"))
                o.w.acks = KAFKA_REQUIRE_NONE;
            else if (!strcmp(v, "1"))
                o.w.acks = KAFKA_REQUIRE_ONE;
            else if (!strcmp(v, "all") || !strcmp(v, "-1"))
                o.w.acks = KAFKA_REQUIRE_ALL;
            else
                usage();
        } else
            usage();
    }
    if (!o.brokers || !o.topic || o.partition < 0)
        usage();
    return o;
}

/* Lines read but not sent yet. The messages point into `lines`: a
 * kafka_message is only a view, and kafka_conn_write_messages copies the
 * bytes, so the lines may be freed as soon as it returns. */
typedef struct group {
    kafka_message msgs[GROUP_MSGS];
    char *lines[GROUP_MSGS];
    size_t n;
} group;

static void add_line(group *g, char *line, bool keyed)
{
    g->lines[g->n] = line; /* the group owns (and later frees) the line */
    kafka_message *m = &g->msgs[g->n++];
    /* Zero the whole struct: fields added to kafka_message later then read
     * as "unset" (timestamp 0 = now, no headers). */
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

/* Sends the group as one record batch. Returns how many messages failed
 * (all or none: a Produce error applies to the whole batch). */
static size_t send_group(kafka_conn *c, const opts *o, group *g)
{
    size_t failed = 0;
    if (g->n) {
        /* A deadline per call, as with Go's SetWriteDeadline: the call
         * returns KAFKA_ERR_TIMEOUT instead of blocking forever if the
         * broker stops answering. */
        kafka_conn_set_timeout(c, 10000);
        int64_t base = -1;
        kafka_err err = kafka_conn_write_messages(c, g->msgs, g->n, &o->w, &base);
        if (err) {
            /* Kafka errors (NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE...)
             * leave the conn usable; I/O errors close it, and every later
             * call then returns KAFKA_ERR_CLOSED. */
            fprintf(stderr, "conn_produce: %zu messages failed: %s (%s)\n", g->n, kafka_err_str(err),
                    kafka_conn_last_error(c));
            failed = g->n;
        }
        /* On success `base` is the offset of the group's first message
         * (-1 with acks=0, which gets no answer). */
    }
    for (size_t i = 0; i < g->n; i++)
        free(g->lines[i]);
    g->n = 0;
    return failed;
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);

    /* Ask the bootstrap brokers who leads topic/partition and connect to
     * it; the conn comes back bound to that partition. NULL config = plain
     * TCP, no SASL, client id "libkafka" (see kafka/dialer.h for TLS and
     * SASL). The 10 s bound covers metadata, connect and ApiVersions. */
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, o.brokers, o.topic, o.partition, NULL, 10000);
    if (err) {
        /* Failed dials keep their detail in a thread-local string. */
        fprintf(stderr, "conn_produce: %s: %s\n", kafka_err_str(err), kafka_dial_last_error());
        return 1;
    }

    static group g; /* static: ~16 KB of views, kept off the stack */
    size_t total = 0, failed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        add_line(&g, line, o.keyed);
        line = NULL;
        cap = 0;
        total++;
        if (g.n == GROUP_MSGS)
            failed += send_group(c, &o, &g);
    }
    free(line);
    failed += send_group(c, &o, &g);

    /* Closing frees the conn; nothing may use `c` afterwards. */
    kafka_conn_close(c);
    fprintf(stderr, "produced %zu messages to %s [%d] (%zu failed, codec %s)\n", total - failed, o.topic,
            o.partition, failed, kafka_codec_name(o.w.codec));
    return failed ? 1 : 0;
}
