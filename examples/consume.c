/*
 * consume — prints the messages of a Kafka partition, one value per line.
 *
 *   consume -b host:port[,...] -t topic [-p partition] [-o first|last|OFFSET]
 *           [-c count] [-e] [-f]
 *   consume -b ... -t topic -g group     (needs kafka_reader: not yet)
 *
 *   -o  where to start (default first)
 *   -c  stop after count messages
 *   -e  exit at the end of the partition
 *   -f  print "partition=P offset=O key=K value=V" instead of the value
 *
 * Reads through a kafka_conn to the partition leader (kafka_dial_leader)
 * with kafka_conn_read_batch.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kafka.h"

typedef struct opts {
    const char *brokers, *topic, *group, *start;
    int32_t partition;
    long count;
    bool exit_at_end, full;
} opts;

static void usage(void)
{
    fprintf(stderr, "usage: consume -b brokers -t topic [-p partition | -g group] [-o first|last|OFFSET] "
                    "[-c count] [-e] [-f]\n");
    exit(2);
}

static opts parse(int argc, char **argv)
{
    opts o = {.start = "first", .count = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-e")) {
            o.exit_at_end = true;
            continue;
        }
        if (!strcmp(a, "-f")) {
            o.full = true;
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
        else if (!strcmp(a, "-g"))
            o.group = v;
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

static kafka_err seek_start(kafka_conn *c, const char *start)
{
    if (!strcmp(start, "first"))
        return kafka_conn_seek(c, 0, KAFKA_SEEK_FIRST, NULL);
    if (!strcmp(start, "last"))
        return kafka_conn_seek(c, 0, KAFKA_SEEK_LAST, NULL);
    char *end;
    long long off = strtoll(start, &end, 10);
    if (*end || off < 0) {
        fprintf(stderr, "consume: bad offset %s\n", start);
        exit(2);
    }
    return kafka_conn_seek(c, off, KAFKA_SEEK_ABSOLUTE, NULL);
}

static void print_message(const opts *o, const kafka_message *m)
{
    if (o->full)
        printf("partition=%d offset=%lld key=%.*s value=%.*s\n", m->partition, (long long)m->offset,
               (int)m->key_len, m->key ? (const char *)m->key : "", (int)m->value_len,
               m->value ? (const char *)m->value : "");
    else
        printf("%.*s\n", (int)m->value_len, m->value ? (const char *)m->value : "");
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    if (o.group) {
        fprintf(stderr, "consume: consumer groups need kafka_reader (not yet implemented)\n");
        return 2;
    }
    kafka_conn *c;
    kafka_err err = kafka_dial_leader(&c, o.brokers, o.topic, o.partition, NULL, 10000);
    if (err) {
        fprintf(stderr, "consume: %s: %s\n", kafka_err_str(err), kafka_dial_last_error());
        return 1;
    }
    if ((err = seek_start(c, o.start)) != 0) {
        fprintf(stderr, "consume: seek %s: %s (%s)\n", o.start, kafka_err_str(err), kafka_conn_last_error(c));
        kafka_conn_close(c);
        return 1;
    }
    long seen = 0;
    int rc = 0;
    kafka_read_batch_config rb = {.min_bytes = 1, .max_bytes = 1024 * 1024, .max_wait_ms = 500};
    while (o.count < 0 || seen < o.count) {
        kafka_batch *b;
        err = kafka_conn_read_batch_with(c, &rb, &b);
        if (err) {
            fprintf(stderr, "consume: %s (%s)\n", kafka_err_str(err), kafka_conn_last_error(c));
            rc = 1;
            break;
        }
        kafka_message m;
        while ((o.count < 0 || seen < o.count) && kafka_batch_read_message(b, &m) == 0) {
            print_message(&o, &m);
            seen++;
        }
        int64_t hwm = kafka_batch_high_water_mark(b);
        err = kafka_batch_close(b);
        if (err) {
            fprintf(stderr, "consume: bad batch: %s (%s)\n", kafka_err_str(err), kafka_conn_last_error(c));
            rc = 1;
            break;
        }
        if (o.exit_at_end && kafka_conn_offset(c) >= hwm)
            break;
    }
    fflush(stdout);
    kafka_conn_close(c);
    return rc;
}
