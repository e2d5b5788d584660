/*
 * conn_consume — the low-level way to consume: one kafka_conn to the
 * partition leader, kafka_conn_seek to pick the start, then
 * kafka_conn_read_batch / kafka_batch_read_message in a loop. (kafka-go's
 * `DialLeader` + `conn.Seek` + `conn.ReadBatch` + `batch.ReadMessage`.)
 * Applications that want offset management, reconnects and consumer
 * groups use kafka_reader instead.
 *
 *   conn_consume -b host:port[,...] -t topic [-p partition]
 *                [-o first|last|OFFSET|-N] [-c count] [-e] [-f]
 *
 *   -o  where to start: first (default), last (only new messages), an
 *       absolute offset, or -N = N messages before the end
 *   -c  stop after count messages
 *   -e  exit when the end of the partition is reached
 *   -f  print "partition=P offset=O key=K value=V" instead of the value
 *
 * Prints one line per message on stdout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kafka.h"

typedef struct opts {
    const char *brokers, *topic, *start;
    int32_t partition;
    long count;
    bool exit_at_end, full;
} opts;

static void usage(void)
{
    fprintf(stderr, "usage: conn_consume -b brokers -t topic [-p partition] [-o first|last|OFFSET|-N] "
                    "[-c count] [-e] [-f]\n");
    exit(2);
}

static opts parse(int argc, char **argv)
{
    opts o = {.start = "first", .count = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-e") || !strcmp(a, "-f")) {
            o.exit_at_end |= a[1] == 'e';
            o.full |= a[1] == 'f';
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
        else if (!strcmp(a, "-o"))
            o.start = v;
        else if (!strcmp(a, "-c"))
            o.count = atol(v);
        else
            usage();
    }
    if (!o.brokers || !o.topic || o.partition < 0)
        usage();
    return o;
}

/* Moves the conn's offset to where -o says. kafka_conn_seek checks the
 * target against the partition's first and last offsets (ListOffsets) and
 * refuses anything outside with KAFKA_ERR_OFFSET_OUT_OF_RANGE. */
static kafka_err seek_start(kafka_conn *c, const char *start)
{
    if (!strcmp(start, "first"))
        return kafka_conn_seek(c, 0, KAFKA_SEEK_FIRST, NULL);
    if (!strcmp(start, "last"))
        return kafka_conn_seek(c, 0, KAFKA_SEEK_LAST, NULL);
    char *end;
    long long off = strtoll(start, &end, 10);
    if (*end || end == start) {
        fprintf(stderr, "conn_consume: bad offset %s\n", start);
        exit(2);
    }
    /* -N: relative to the end (the high-water mark). */
    if (off < 0)
        return kafka_conn_seek(c, off, KAFKA_SEEK_LAST, NULL);
    return kafka_conn_seek(c, off, KAFKA_SEEK_ABSOLUTE, NULL);
}

static void print_message(const opts *o, const kafka_message *m)
{
    /* key and value point into the batch: valid until the next
     * kafka_batch_read_message or kafka_batch_close. Print (or copy) them
     * before moving on. */
    const char *key = m->key ? m->key : "";
    const char *value = m->value ? m->value : "";
    if (o->full)
        printf("partition=%d offset=%lld key=%.*s value=%.*s\n", m->partition, (long long)m->offset,
               (int)m->key_len, key, (int)m->value_len, value);
    else
        printf("%.*s\n", (int)m->value_len, value);
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);

    /* Connect to the partition's leader; the conn comes back bound to
     * topic/partition with its offset at 0. */
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, o.brokers, o.topic, o.partition, NULL, 10000);
    if (err) {
        fprintf(stderr, "conn_consume: %s: %s\n", kafka_err_str(err), kafka_dial_last_error());
        return 1;
    }
    kafka_conn_set_timeout(c, 10000);
    if ((err = seek_start(c, o.start)) != 0) {
        fprintf(stderr, "conn_consume: seek %s: %s (%s)\n", o.start, kafka_err_str(err), kafka_conn_last_error(c));
        kafka_conn_close(c);
        return 1;
    }

    long seen = 0;
    int rc = 0;
    /* min_bytes 1: answer as soon as there is anything; max_wait 500 ms:
     * otherwise answer empty after half a second, so -e can notice the end. */
    kafka_read_batch_config rb = {.min_bytes = 1, .max_bytes = 1024 * 1024, .max_wait_ms = 500};
    while (o.count < 0 || seen < o.count) {
        /* A fresh deadline per round trip: a broker that stops answering
         * makes the read fail with KAFKA_ERR_TIMEOUT (and closes the
         * conn) instead of hanging. */
        kafka_conn_set_timeout(c, 10000);
        kafka_batch *b = NULL;
        err = kafka_conn_read_batch_with(c, &rb, &b);
        if (err) {
            /* e.g. OFFSET_OUT_OF_RANGE after the log was truncated: seek
             * again (KAFKA_SEEK_FIRST) to recover; here we just stop. */
            fprintf(stderr, "conn_consume: %s (%s)\n", kafka_err_str(err), kafka_conn_last_error(c));
            rc = 1;
            break;
        }
        /* Until the batch is closed, the conn belongs to it. */
        kafka_message m;
        while ((o.count < 0 || seen < o.count) && kafka_batch_read_message(b, &m) == 0) {
            print_message(&o, &m);
            seen++;
        }
        int64_t hwm = kafka_batch_high_water_mark(b);
        /* Closing moves the conn's offset past the last message read, so
         * the next read_batch continues there (messages not read because of
         * -c are fetched again, never skipped). A decode error met while
         * reading comes back here. */
        err = kafka_batch_close(b);
        if (err) {
            fprintf(stderr, "conn_consume: bad batch: %s (%s)\n", kafka_err_str(err), kafka_conn_last_error(c));
            rc = 1;
            break;
        }
        if (o.exit_at_end && kafka_conn_offset(c) >= hwm)
            break; /* caught up with the high-water mark */
    }
    fflush(stdout);
    kafka_conn_close(c);
    return rc;
}
