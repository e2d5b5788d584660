/* Writer test fixtures (writer_util.h). */
#include "writer_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "kafka/conn.h"

static void log_stderr(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "writer log %d: %s\n", (int)lvl, msg);
}

kafka_writer *kt_writer_new(kt_cluster *kt, const char *topic, kafka_writer_config cfg)
{
    cfg.brokers = kt_cluster_bootstrap(kt);
    cfg.topic = topic;
    if (!cfg.backoff_min_ms)
        cfg.backoff_min_ms = 20;
    if (!cfg.backoff_max_ms)
        cfg.backoff_max_ms = 200;
    if (!cfg.log) {
        cfg.log = log_stderr;
        cfg.log_level = getenv("WRITER_DEBUG") ? KAFKA_LOG_DEBUG : KAFKA_LOG_WARN;
    }
    kafka_writer *w = NULL;
    char err[256] = "";
    if (kafka_writer_new(&w, &cfg, err, sizeof err)) {
        fprintf(stderr, "kafka_writer_new: %s\n", err);
        return NULL;
    }
    return w;
}

long kt_read_partition(kt_cluster *kt, const char *topic, int32_t p, kt_seen_fn fn, void *priv)
{
    kafka_conn *c = NULL;
    if (kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, p, NULL, 10000))
        return -1;
    int64_t last = 0;
    long n = kafka_conn_read_last_offset(c, &last) ? -1 : 0;
    while (n >= 0 && kafka_conn_offset(c) < last) {
        kafka_batch *b = NULL;
        kafka_conn_set_timeout(c, 10000);
        if (kafka_conn_read_batch(c, 1, 4 << 20, &b)) {
            n = -1;
            break;
        }
        kafka_message m;
        kafka_err e;
        while ((e = kafka_batch_read_message(b, &m)) == 0) {
            fn(priv, p, m.offset, &m);
            n++;
        }
        if (kafka_batch_close(b) || e != KAFKA_ERR_END_OF_PARTITION)
            n = -1;
    }
    kafka_conn_close(c);
    return n;
}
