/*
 * consume — prints the messages of a Kafka topic, one value per line,
 * with kafka_reader.
 *
 *   consume -b host:port[,...] -t topic [-p partition] [-o first|last|OFFSET]
 *           [-c count] [-e] [-f]
 *   consume -b ... -t topic -g group [-o first|last] [-c count] [-e] [-f]
 *
 *   -p  partition mode: read this partition (default 0)
 *   -g  group mode: join consumer group `group` and read what it assigns;
 *       offsets are committed as messages are printed
 *   -o  where to start (group mode: when the group has no committed offset)
 *   -c  stop after count messages
 *   -e  exit at the end of the partition(s)
 *   -f  print "partition=P offset=O key=K value=V" instead of the value
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static kafka_reader_config reader_config(const opts *o)
{
    kafka_reader_config cfg = {.brokers = o->brokers, .topic = o->topic, .max_wait_ms = 500};
    if (o->group) {
        cfg.group_id = o->group;
        cfg.commit_interval_ms = 1000; /* periodic, flushed at close */
    } else {
        cfg.partition = o->partition;
    }
    if (!strcmp(o->start, "first")) {
        cfg.start_offset = KAFKA_START_FIRST;
    } else if (!strcmp(o->start, "last")) {
        cfg.start_offset = KAFKA_START_LAST;
    } else {
        char *end;
        long long off = strtoll(o->start, &end, 10);
        if (*end || off < 0 || o->group) {
            fprintf(stderr, "consume: bad offset %s (group mode takes first or last)\n", o->start);
            exit(2);
        }
        cfg.start_offset = KAFKA_START_AT;
        cfg.start_at = off;
    }
    return cfg;
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

/* At the end: nothing left to read in what this reader reads. */
static bool at_end(kafka_reader *r, bool group)
{
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    if (group && st.partitions == 0)
        return false;
    int64_t lag = -1;
    return kafka_reader_read_lag(r, &lag, 5000) == 0 && lag == 0;
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    kafka_reader_config cfg = reader_config(&o);
    kafka_reader *r;
    char errbuf[256];
    kafka_err err = kafka_reader_new(&r, &cfg, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "consume: %s: %s\n", kafka_err_str(err), errbuf);
        return 1;
    }
    long seen = 0;
    int rc = 0;
    while (o.count < 0 || seen < o.count) {
        kafka_message m;
        err = kafka_reader_read_message(r, &m, 1000);
        if (err == KAFKA_ERR_TIMEOUT) {
            if (o.exit_at_end && at_end(r, o.group != NULL))
                break;
            continue;
        }
        if (err) {
            kafka_reader_last_error(r, errbuf, sizeof errbuf);
            fprintf(stderr, "consume: %s (%s)\n", kafka_err_str(err), errbuf);
            rc = 1;
            break;
        }
        print_message(&o, &m);
        seen++;
        if (o.exit_at_end && kafka_reader_lag(r) == 0 && at_end(r, o.group != NULL))
            break;
    }
    fflush(stdout);
    err = kafka_reader_close(r);
    if (err && !rc) {
        fprintf(stderr, "consume: final commit: %s\n", kafka_err_str(err));
        rc = 1;
    }
    return rc;
}
