/*
 * partition_workers — one worker thread per partition; an offset is
 * committed only after the worker has processed its message (kafka-go's
 * "seed 003" pattern, in C).
 *
 *   partition_workers -b host:port[,...] -t topic -g group [-n seconds]
 *
 * The main thread fetches with kafka_reader_fetch_message (no automatic
 * commit), copies each message (kafka_message_copy: a fetched message is
 * only valid until the next fetch) and hands it to the worker of its
 * partition through a small bounded queue. A worker "processes" it
 * (prints it), then commits it with kafka_reader_commit_messages — from
 * its own thread, which the reader allows. Messages of one partition stay
 * in order because one worker owns each partition. Runs for -n seconds
 * (default 10), then closes the reader, which flushes pending commits and
 * leaves the group.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/kafka.h"

#define MAX_WORKERS 64
#define QUEUE_LEN 64

typedef struct worker {
    pthread_t thread;
    int32_t partition;
    kafka_reader *reader;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    kafka_message q[QUEUE_LEN]; /* copies */
    int head, len;
    bool stop;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->len && !w->stop)
            pthread_cond_wait(&w->cond, &w->mu);
        if (!w->len) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        kafka_message m = w->q[w->head];
        w->head = (w->head + 1) % QUEUE_LEN;
        w->len--;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->mu);
        /* The processing step. */
        printf("partition %d offset %lld: %.*s\n", m.partition, (long long)m.offset, (int)m.value_len,
               m.value ? (const char *)m.value : "");
        /* Only now is the message done: commit it. */
        kafka_err err = kafka_reader_commit_messages(w->reader, &m, 1, 10000);
        if (err && err != KAFKA_ERR_CLOSED)
            fprintf(stderr, "partition %d: commit: %s (will be re-delivered)\n", m.partition, kafka_err_str(err));
        kafka_message_free(&m);
    }
}

static void enqueue(worker *w, const kafka_message *m)
{
    kafka_message c;
    if (kafka_message_copy(&c, m) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    pthread_mutex_lock(&w->mu);
    while (w->len == QUEUE_LEN)
        pthread_cond_wait(&w->cond, &w->mu);
    w->q[(w->head + w->len) % QUEUE_LEN] = c;
    w->len++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static worker *worker_for(worker **ws, int *n, kafka_reader *r, int32_t partition)
{
    for (int i = 0; i < *n; i++)
        if (ws[i]->partition == partition)
            return ws[i];
    if (*n == MAX_WORKERS) {
        fprintf(stderr, "too many partitions for this example\n");
        exit(1);
    }
    worker *w = calloc(1, sizeof *w);
    if (!w)
        exit(1);
    w->partition = partition;
    w->reader = r;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_create(&w->thread, NULL, work, w);
    ws[(*n)++] = w;
    return w;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *group = NULL;
    int seconds = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-b"))
            brokers = argv[i + 1];
        else if (!strcmp(argv[i], "-t"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "-g"))
            group = argv[i + 1];
        else if (!strcmp(argv[i], "-n"))
            seconds = atoi(argv[i + 1]);
    }
    if (!brokers || !topic || !group) {
        fprintf(stderr, "usage: partition_workers -b brokers -t topic -g group [-n seconds]\n");
        return 2;
    }
    kafka_reader *r;
    char errbuf[256];
    kafka_err err = kafka_reader_new(&r,
                                     &(kafka_reader_config){.brokers = brokers, .topic = topic, .group_id = group,
                                                            .commit_interval_ms = 1000},
                                     errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "reader: %s: %s\n", kafka_err_str(err), errbuf);
        return 1;
    }
    worker *ws[MAX_WORKERS];
    int n = 0;
    time_t end = time(NULL) + seconds;
    while (time(NULL) < end) {
        kafka_message m;
        err = kafka_reader_fetch_message(r, &m, 500);
        if (err == KAFKA_ERR_TIMEOUT)
            continue;
        if (err) {
            fprintf(stderr, "fetch: %s\n", kafka_err_str(err));
            break;
        }
        enqueue(worker_for(ws, &n, r, m.partition), &m);
    }
    /* Let the workers finish (and commit) what they have, then close. */
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&ws[i]->mu);
        ws[i]->stop = true;
        pthread_cond_broadcast(&ws[i]->cond);
        pthread_mutex_unlock(&ws[i]->mu);
        pthread_join(ws[i]->thread, NULL);
        pthread_mutex_destroy(&ws[i]->mu);
        pthread_cond_destroy(&ws[i]->cond);
        free(ws[i]);
    }
    err = kafka_reader_close(r);
    if (err)
        fprintf(stderr, "final commit: %s\n", kafka_err_str(err));
    return err ? 1 : 0;
}
