/*
 * Consumer-group helpers (internal): a blocking OffsetCommit to the group
 * coordinator found through the cluster layer (the admin client's offset
 * resets), the group error classification, and the lenient JoinGroup /
 * SyncGroup decoders. Membership itself (join, sync, heartbeat, leave) is
 * the sans-I/O machine of membership.h, driven by the reader's I/O thread;
 * the requests are built in group_requests.c for both.
 *
 * kafka_group holds an identity (member id, generation, instance id) under
 * a mutex. A call borrows a coordinator connection for one round trip and
 * gives it back; on NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and
 * connection errors it invalidates the cached coordinator, so the next
 * call looks it up again. Deadlines are monotonic ms (-1 = none).
 */
#ifndef KAFKA_GROUP_GROUP_H
#define KAFKA_GROUP_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "common/arena.h"
#include "group/consumer_protocol.h"
#include "kafka/error.h"
#include "protocol/wire.h"

typedef struct kafka_group {
    kafka_cluster *kc;
    char *group_id;
    char *instance_id; /* NULL = dynamic member */
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    pthread_mutex_t mu;
    /* under mu */
    char *member_id;    /* "" before the first join */
    int32_t generation; /* -1 when not in a generation */
    char last_error[256];
} kafka_group;

/* One protocol (assignor) offered in JoinGroup. */
typedef struct kafka_group_protocol {
    const char *name;
    const uint8_t *metadata;
    size_t metadata_len;
} kafka_group_protocol;

/* One committed offset. */
typedef struct kafka_group_offset {
    const char *topic;
    int32_t partition;
    int64_t offset; /* OffsetFetch: -1 = nothing committed */
    kafka_err err;  /* per-partition result */
} kafka_group_offset;

kafka_err kafka_group_init(kafka_group *g, kafka_cluster *kc, const char *group_id, const char *instance_id,
                           int32_t session_timeout_ms, int32_t rebalance_timeout_ms);
void kafka_group_destroy(kafka_group *g);

/* OffsetCommit of offs[0..n) with the current generation (or -1 / "" for a
 * "simple" commit when generation < 0). Sets each offs[i].err and returns
 * the first error. */
kafka_err kafka_group_commit(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline);

/* Forget the generation (after ILLEGAL_GENERATION, or before rejoining). */
void kafka_group_reset_generation(kafka_group *g, bool forget_member_id);
int32_t kafka_group_generation(kafka_group *g);

/* Copies the last error text. */
void kafka_group_last_error(kafka_group *g, char *buf, size_t len);

/* OffsetFetch v8+ and OffsetCommit v9+ reshape the request for KIP-848;
 * the classic protocol needs neither. */
#define KAFKA_GROUP_OFFSET_FETCH_MAX 7
#define KAFKA_GROUP_OFFSET_COMMIT_MAX 8

/* JoinGroup / SyncGroup response decoders (kafka_decode_fn shape, m: the
 * generated response struct) that keep the error code when a broker sends
 * null fields the strict decoders refuse (librdkafka's mock: see
 * group.c). Shared with the membership machine (membership.c). */
kafka_err kafka_group_join_response_decode(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m);
kafka_err kafka_group_sync_response_decode(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m);

/* True for errors after which the coordinator must be looked up again. */
bool kafka_group_err_coordinator(kafka_err err);

/* A join/sync error the application must hear of from its next read (the
 * group keeps retrying, in case it is fixed): fatal errors (TLS, SASL,
 * fenced) and those no retry can cure (GROUP_AUTHORIZATION_FAILED,
 * INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL,
 * no common version...), but not the steps of an ordinary rebalance
 * (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * MEMBER_ID_REQUIRED, INVALID_REQUEST from a coordinator that completed
 * the sync without us) nor coordinator moves and outages. */
bool kafka_group_err_for_reader(kafka_err err);

#endif
