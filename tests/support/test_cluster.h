/*
 * Test fixture: a Kafka cluster for integration and interop tests.
 *
 * By default kt_cluster_start() spawns the embedded test broker
 * (tests/broker/kafka_test_broker, librdkafka's mock cluster) as a child
 * process with pipes on its stdin/stdout, and the control commands of
 * tests/broker/README.md reach it through kt_cluster_cmd().
 * kt_cluster_start_kind(KT_BROKER_KAFKA_MOCK, n) spawns our own kafka-mock
 * program instead (today's protocol versions, CreateTopics, idempotence
 * checks, timestamp lookups; the same command language, minus the
 * commands its README lists as unsupported), and KAFKA_TEST_BROKER picks
 * the kind kt_cluster_start() uses.
 *
 * When the environment variable KAFKA_BROKERS is set (a bootstrap list),
 * the fixture wraps that real cluster instead: kt_cluster_bootstrap() returns
 * it, kt_cluster_create_topic() uses librdkafka's admin API, and every mock
 * control command fails; tests that need mock control call
 * KT_REQUIRE_MOCK(c) first, which marks them skipped (never passed).
 *
 * Environment:
 *   KAFKA_BROKERS          use this real cluster instead of the mock
 *   KAFKA_TEST_BROKER_BIN  path of the broker program (default: the one
 *                          built with the tests, KAFKA_TEST_BROKER_BIN macro)
 *   KAFKA_TEST_BROKER      "rdkafka" (default) or "kafka_mock": the kind
 *                          kt_cluster_start() starts
 *   KAFKA_MOCK_BIN         path of kafka-mock (default: the one built)
 *
 * Nothing here hangs: every read from the broker has a 10 s timeout, and a
 * broker that crashed or closed its stdout makes commands return -1 with a
 * message on stderr. Not thread-safe: one thread drives one kt_cluster.
 * The broker gets SIGTERM when the thread that started it exits
 * (PR_SET_PDEATHSIG), so a crashed test leaves no broker behind: start it
 * from the main thread or from one that outlives its use.
 * Linking: integration/interop tests link librdkafka (needed for the
 * real-cluster path); unit tests must not use this file.
 */
#ifndef KAFKA_TEST_CLUSTER_H
#define KAFKA_TEST_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kt_cluster kt_cluster;

typedef enum kt_broker_kind {
    KT_BROKER_RDKAFKA,   /* kafka_test_broker: librdkafka 2.0.2's mock */
    KT_BROKER_KAFKA_MOCK /* kafka-mock: libkafka-mock (include/kafka/mock.h) */
} kt_broker_kind;

/* The kind named by KAFKA_TEST_BROKER (rdkafka when unset). */
kt_broker_kind kt_default_broker_kind(void);

/* kt_cluster_start with an explicit kind of broker (still a real cluster
 * when KAFKA_BROKERS is set). For tests that need what only one broker
 * has, e.g. kt_cluster_start_kind(KT_BROKER_KAFKA_MOCK, 3) for CreateTopics
 * or idempotence checks. */
kt_cluster *kt_cluster_start_kind(kt_broker_kind kind, int brokers);

/* The kind of broker c runs (meaningless for a real cluster). */
kt_broker_kind kt_cluster_kind(const kt_cluster *c);

/* Starts a mock cluster of the kind KAFKA_TEST_BROKER names (default:
 * kafka_test_broker) with `brokers` brokers (ids 1..brokers), or wraps
 * the real cluster named by KAFKA_BROKERS (then `brokers` is ignored).
 * Blocks until the broker is ready (at most 10 s). Returns NULL on
 * failure after printing why on stderr. Free with kt_cluster_stop(). */
kt_cluster *kt_cluster_start(int brokers);

/* The bootstrap list "host:port,host:port,...". Owned by the cluster, valid
 * until kt_cluster_stop(). */
const char *kt_cluster_bootstrap(const kt_cluster *c);

/* true for the embedded mock, false for a KAFKA_BROKERS cluster. */
bool kt_cluster_is_mock(const kt_cluster *c);

/* Number of brokers (mock: as started; real cluster: entries in the
 * bootstrap list, which may be fewer than the cluster has). */
int kt_cluster_broker_count(const kt_cluster *c);

/* Sends one control line (printf-style, no newline) to the mock and waits
 * up to 10 s for its answer. Returns 0 on "ok", -1 on "err", on a timeout,
 * on a dead broker, on a real cluster, or on a line containing '\n'. */
int kt_cluster_cmd(kt_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last answer line (e.g. "ok 3" or "err topic: TOPIC_ALREADY_EXISTS
 * (36)"), or a description of why the last command failed locally. Owned by
 * the cluster, valid until the next command or kt_cluster_stop(). */
const char *kt_cluster_last_reply(const kt_cluster *c);

/* Creates a topic and returns 0 once it exists. Mock: the "topic" command
 * (replication <= 0 means min(3, brokers)). Real cluster: CreateTopics via
 * librdkafka's admin API (replication <= 0 = broker default), then waits
 * (up to 30 s) until Metadata shows all partitions with leaders; if the
 * broker lacks CreateTopics (e.g. KAFKA_BROKERS names another
 * kafka_test_broker) it relies on auto-creation through that Metadata
 * request, so the broker's default partition count (4 on the mock) must be
 * >= partitions. */
int kt_cluster_create_topic(kt_cluster *c, const char *topic, int partitions, int replication);

/* Stops the mock: "quit", then waits up to 10 s for the exit, then SIGTERM
 * and finally SIGKILL, and reaps it. Returns 0 if the broker exited on its
 * own with status 0 (always 0 for a real cluster), -1 otherwise. Frees c;
 * c may be NULL. */
int kt_cluster_stop(kt_cluster *c);

/* For tests of the fixture itself: pid of the broker process (-1 for a
 * real cluster). */
int kt_cluster_pid(const kt_cluster *c);

/* A fresh topic name "<prefix>-<pid>-<counter>-<random hex>", so that
 * tests running in parallel against one real cluster never collide.
 * malloc'd; the caller frees it. */
char *kt_unique_topic(const char *prefix);

/* cmocka group fixtures: start a 3-broker cluster into *state / stop it.
 * Use with cmocka_run_group_tests(tests, kt_cluster_group_setup,
 * kt_cluster_group_teardown); each test then gets the kt_cluster * in
 * *state. The teardown fails the group if the broker did not exit cleanly. */
int kt_cluster_group_setup(void **state);
int kt_cluster_group_teardown(void **state);

/* Skips the current cmocka test (reported as skipped, not passed) when the
 * fixture wraps a real cluster, for tests that need mock control. */
#define KT_REQUIRE_MOCK(c)                                                             \
    do {                                                                               \
        if (!kt_cluster_is_mock(c)) {                                                  \
            print_message("skipped: needs the mock broker's control (KAFKA_BROKERS set)\n"); \
            skip();                                                                    \
        }                                                                              \
    } while (0)

#endif
