/*
 * librdkafka's transactional producer for tests (a client that is not
 * ours writing transactions): a producer with a transactional id, and one
 * transaction of n values "<prefix>0".."<prefix>n-1" to partition 0,
 * committed or aborted. Failures fail the calling cmocka test. Only for
 * integration/interop tests (they link librdkafka).
 */
#ifndef KT_RDKAFKA_TXN_H
#define KT_RDKAFKA_TXN_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

/* Skips the current cmocka test (reported as skipped) in a ThreadSanitizer
 * build: librdkafka starts its threads with C11 thrd_create, which the TSan
 * runtimes of gcc 12 and clang 14 do not intercept, so they crash in TSan's
 * allocator (tests/cmake/tsan.cmake). Put it before the first rd_kafka call. */
#if defined(__SANITIZE_THREAD__)
#define KT_REQUIRE_INPROCESS_RDKAFKA()                                                          \
    do {                                                                                        \
        print_message("skipped: librdkafka's threads cannot run under ThreadSanitizer\n");      \
        skip();                                                                                 \
    } while (0)
#else
#define KT_REQUIRE_INPROCESS_RDKAFKA() ((void)0)
#endif

/* A producer on bootstrap with transactional.id = txn_id, transactions
 * initialised (30 s). Destroy with rd_kafka_destroy. */
rd_kafka_t *kt_rdkafka_txn_producer(const char *bootstrap, const char *txn_id);

/* Fails the test with the error's text when e is not NULL (and frees it). */
void kt_rdkafka_check(rd_kafka_error_t *e, const char *what);

/* Begins a transaction, produces the n values to topic partition 0 and
 * flushes them: the transaction stays open (Ongoing). */
void kt_rdkafka_txn_open(rd_kafka_t *rk, const char *topic, const char *prefix, int n);

/* Commits or aborts the open transaction (30 s). */
void kt_rdkafka_txn_end(rd_kafka_t *rk, bool commit);

/* kt_rdkafka_txn_open then kt_rdkafka_txn_end. */
void kt_rdkafka_txn(rd_kafka_t *rk, const char *topic, const char *prefix, int n, bool commit);

#endif
