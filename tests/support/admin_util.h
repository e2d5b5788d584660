/*
 * Admin test fixtures: an admin client on the test cluster, producing a
 * known number of messages to a partition, and skipping a test whose
 * broker lacks the API under test (reported as skipped, never passed).
 */
#ifndef KT_ADMIN_UTIL_H
#define KT_ADMIN_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "kafka/admin.h"
#include "test_cluster.h"

/* An admin client for kt's brokers (backoff 20..200 ms); fails the test
 * on error. */
kafka_admin *kt_admin_new(kt_cluster *kt);

/* Produces n one-byte messages to topic/partition through its leader;
 * fails the test on error. */
void kt_produce_n(kt_cluster *kt, const char *topic, int32_t partition, int n);

/* A fresh 3-partition topic (replication 3), partition p led by broker
 * p + 1 (pinned where the broker has the control command), holding 5, 3
 * and 0 messages. malloc'd name; the caller frees it. */
char *kt_filled_topic(kt_cluster *kt, const char *prefix);

/* True when broker 1 advertises the classic group APIs (JoinGroup,
 * OffsetCommit, OffsetFetch): a kafka_mock built without its group
 * module does not. */
bool kt_has_groups(kt_cluster *kt);

/* Skips the calling cmocka test, printing why, when err is
 * KAFKA_ERR_NO_COMMON_VERSION (the broker lacks the API: librdkafka's
 * mock has no CreateTopics, DescribeConfigs, ListGroups, ...). */
#define KT_SKIP_IF_UNSUPPORTED(err, what)                                                   \
    do {                                                                                    \
        if ((err) == KAFKA_ERR_NO_COMMON_VERSION) {                                         \
            print_message("skipped: the test broker does not support %s\n", (what));       \
            skip();                                                                         \
        }                                                                                   \
    } while (0)

#endif
