/*
 * log_sink — a logging sink that never loses a line (the seed 004 use
 * case: a zap logger writing to Kafka with a fallback file).
 *
 *   log_sink -b brokers -t topic -f fallback_file [-w enqueue_timeout_ms]
 *            [-c close_timeout_ms]
 *
 * Reads log lines from stdin and writes them to Kafka through an
 * ASYNCHRONOUS kafka_writer. Every line Kafka could not take is appended to
 * the fallback file instead:
 *   - lines the writer refused at enqueue (buffer full for longer than
 *     -w ms, default 100: the application must not block on logging), and
 *   - lines whose delivery failed (reported by the completion callback,
 *     including those still buffered when close gives up after -c ms,
 *     default 5000).
 * So: lines read == lines in Kafka + lines in the fallback file.
 * Prints "lines R, delivered D, fallback F" on stderr; exits 0 when
 * R == D + F (the accounting closed), 1 otherwise.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "kafka/writer.h"

typedef struct sink {
    pthread_mutex_t mu;
    FILE *fallback;
    size_t delivered, fallen_back;
} sink;

static void fallback_line(sink *s, const void *line, size_t len)
{
    pthread_mutex_lock(&s->mu);
    fwrite(line, 1, len, s->fallback);
    fputc('\n', s->fallback);
    s->fallen_back++;
    pthread_mutex_unlock(&s->mu);
}

/* Runs on a writer thread: the messages carry their bytes (decoded from
 * the batch), so failed lines can still be written out. */
static void on_completion(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    sink *s = priv;
    if (!err) {
        pthread_mutex_lock(&s->mu);
        s->delivered += n;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fallback_line(s, msgs[i].value ? msgs[i].value : "", msgs[i].value_len);
}

static void usage(void)
{
    fprintf(stderr, "usage: log_sink -b brokers -t topic -f fallback_file [-w enqueue_timeout_ms] "
                    "[-c close_timeout_ms]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *path = NULL;
    int enqueue_timeout = 100, close_timeout = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-b"))
            brokers = argv[i + 1];
        else if (!strcmp(argv[i], "-t"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "-f"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "-w"))
            enqueue_timeout = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-c"))
            close_timeout = atoi(argv[i + 1]);
        else
            usage();
    }
    if (!brokers || !topic || !path || argc % 2 == 0)
        usage();
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    s.fallback = fopen(path, "a");
    if (!s.fallback) {
        perror(path);
        return 1;
    }
    kafka_writer *w = NULL;
    char err[256];
    kafka_writer_config cfg = {.brokers = brokers,
                               .topic = topic,
                               .async = true,
                               .completion = on_completion,
                               .completion_privdata = &s,
                               .batch_timeout_ms = 50,
                               .max_attempts = 3,
                               .dial_timeout_ms = 1000,
                               .read_timeout_ms = 2000,
                               .write_timeout_ms = 2000,
                               .max_buffered_bytes = 4 << 20};
    if (kafka_writer_new(&w, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "log_sink: %s\n", err);
        return 1;
    }
    size_t lines = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        lines++;
        kafka_message m = {.value = line, .value_len = (size_t)len};
        kafka_err e = 0;
        /* Async: 0 = enqueued (its outcome comes through the callback). */
        if (kafka_writer_write_messages(w, &m, 1, &e, enqueue_timeout) != 0)
            fallback_line(&s, line, (size_t)len);
    }
    free(line);
    kafka_err ce = kafka_writer_close(w, close_timeout);
    fclose(s.fallback);
    fprintf(stderr, "lines %zu, delivered %zu, fallback %zu (close: %s)\n", lines, s.delivered, s.fallen_back,
            ce ? kafka_err_name(ce) : "ok");
    return lines == s.delivered + s.fallen_back ? 0 : 1;
}
