/*
 * dead_letter — messages that fail processing N times go to a dead-letter
 * topic through a kafka_writer, and are then committed (kafka-go's
 * "seed 003" pattern, in C).
 *
 *   dead_letter -b host:port[,...] -t topic -g group -d dead-letter-topic
 *               [-r retries] [-n seconds]
 *
 * "Processing" here fails for any message whose value contains "poison".
 * A failing message is retried up to -r times (default 3); then it is
 * written to the dead-letter topic (synchronously: the write returns once
 * the broker acknowledged it) with headers saying where it came from, and
 * only after that is its offset committed. If the dead-letter write fails,
 * the offset is NOT committed: the message will be read again.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/kafka.h"

static bool process(const kafka_message *m)
{
    if (m->value && memmem(m->value, m->value_len, "poison", 6))
        return false;
    printf("processed %s [%d] %lld: %.*s\n", m->topic, m->partition, (long long)m->offset, (int)m->value_len,
           m->value ? (const char *)m->value : "");
    return true;
}

static kafka_err dead_letter(kafka_writer *w, const kafka_message *m)
{
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    kafka_header h[3] = {
        {"dlq.topic", 9, m->topic, strlen(m->topic)},
        {"dlq.partition", 13, part, strlen(part)},
        {"dlq.offset", 10, off, strlen(off)},
    };
    kafka_message out = {.key = m->key, .key_len = m->key_len, .value = m->value, .value_len = m->value_len,
                         .headers = h, .n_headers = 3};
    return kafka_writer_write_messages(w, &out, 1, NULL, 10000);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *group = NULL, *dlq = NULL;
    int retries = 3, seconds = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-b"))
            brokers = argv[i + 1];
        else if (!strcmp(argv[i], "-t"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "-g"))
            group = argv[i + 1];
        else if (!strcmp(argv[i], "-d"))
            dlq = argv[i + 1];
        else if (!strcmp(argv[i], "-r"))
            retries = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n"))
            seconds = atoi(argv[i + 1]);
    }
    if (!brokers || !topic || !group || !dlq) {
        fprintf(stderr, "usage: dead_letter -b brokers -t topic -g group -d dlq-topic [-r retries] [-n seconds]\n");
        return 2;
    }
    char errbuf[256];
    kafka_reader *r;
    kafka_err err = kafka_reader_new(&r, &(kafka_reader_config){.brokers = brokers, .topic = topic, .group_id = group},
                                     errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "reader: %s: %s\n", kafka_err_str(err), errbuf);
        return 1;
    }
    kafka_writer *w;
    err = kafka_writer_new(&w, &(kafka_writer_config){.brokers = brokers, .topic = dlq}, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "writer: %s: %s\n", kafka_err_str(err), errbuf);
        kafka_reader_close(r);
        return 1;
    }
    int rc = 0;
    time_t end = time(NULL) + seconds;
    while (time(NULL) < end) {
        kafka_message m;
        err = kafka_reader_fetch_message(r, &m, 500);
        if (err == KAFKA_ERR_TIMEOUT)
            continue;
        if (err) {
            fprintf(stderr, "fetch: %s\n", kafka_err_str(err));
            rc = 1;
            break;
        }
        bool ok = false;
        for (int attempt = 0; attempt <= retries && !ok; attempt++)
            ok = process(&m);
        if (!ok) {
            err = dead_letter(w, &m);
            if (err) {
                /* Not committed: it will come back after a restart. */
                fprintf(stderr, "dead-letter write failed: %s\n", kafka_err_str(err));
                continue;
            }
            printf("dead-lettered %s [%d] %lld\n", m.topic, m.partition, (long long)m.offset);
        }
        err = kafka_reader_commit_messages(r, &m, 1, 10000);
        if (err)
            fprintf(stderr, "commit: %s (the message may be processed again)\n", kafka_err_str(err));
    }
    kafka_writer_close(w, 10000);
    kafka_reader_close(r);
    return rc;
}
