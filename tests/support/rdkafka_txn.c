/* librdkafka's transactional producer for tests: see rdkafka_txn.h. */
#include "rdkafka_txn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

void kt_rdkafka_check(rd_kafka_error_t *e, const char *what)
{
    if (e) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %s", what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        fail_msg("%s", msg);
    }
}

rd_kafka_t *kt_rdkafka_txn_producer(const char *bootstrap, const char *txn_id)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "transactional.id", txn_id, errstr, sizeof errstr), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    kt_rdkafka_check(rd_kafka_init_transactions(rk, 30000), "init");
    return rk;
}

void kt_rdkafka_txn_open(rd_kafka_t *rk, const char *topic, const char *prefix, int n)
{
    kt_rdkafka_check(rd_kafka_begin_transaction(rk), "begin");
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof v, "%s%d", prefix, i);
        /* rd_kafka_produce, not producev: its RD_KAFKA_V_* macros are GNU
         * statement expressions, which -Wpedantic rejects under clang. */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        assert_non_null(rkt);
        assert_int_equal(rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, v, (size_t)len, NULL, 0, NULL), 0);
        rd_kafka_topic_destroy(rkt);
    }
    /* the records reach the log before an abort */
    assert_int_equal(rd_kafka_flush(rk, 30000), 0);
}

void kt_rdkafka_txn_end(rd_kafka_t *rk, bool commit)
{
    kt_rdkafka_check(commit ? rd_kafka_commit_transaction(rk, 30000) : rd_kafka_abort_transaction(rk, 30000), "end");
}

void kt_rdkafka_txn(rd_kafka_t *rk, const char *topic, const char *prefix, int n, bool commit)
{
    kt_rdkafka_txn_open(rk, topic, prefix, n);
    kt_rdkafka_txn_end(rk, commit);
}
