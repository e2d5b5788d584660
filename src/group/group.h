/*
 * Classic consumer-group membership requests (internal): JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch sent to the
 * group coordinator found through the cluster layer.
 *
 * kafka_group holds the member's identity (member id, generation, instance
 * id) under a mutex, so the group thread (join/sync/heartbeat) and an
 * application thread (synchronous commits) can use it together. Every call
 * borrows a coordinator connection for one round trip and gives it back; on
 * NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and connection errors it
 * invalidates the cached coordinator, so the next call looks it up again.
 * The state machine (when to join, what to revoke) is the caller's
 * (src/reader/reader_group.c). Deadlines are monotonic ms (-1 = none).
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

/* What JoinGroup answered (arrays and strings live in the caller's arena). */
typedef struct kafka_group_join_result {
    int32_t generation;
    const char *protocol;  /* chosen assignor name */
    const char *leader_id;
    bool is_leader;
    size_t n_members;      /* leader only */
    const char **member_ids;
    const char **instance_ids; /* NULL entries for dynamic members */
    kafka_bytes *metadata;
} kafka_group_join_result;

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

/* JoinGroup (retrying once on MEMBER_ID_REQUIRED with the id the broker
 * gave). On success the member id and generation are updated. On
 * UNKNOWN_MEMBER_ID the member id is reset to "" (join again as new). */
kafka_err kafka_group_join(kafka_group *g, const kafka_group_protocol *protos, size_t n, int64_t deadline,
                           kafka_arena *arena, kafka_group_join_result *out);

/* SyncGroup; the leader passes one assignment per member (member_ids[i] /
 * assignments[i]), followers n = 0. *assignment (in arena) is this
 * member's bytes. */
kafka_err kafka_group_sync(kafka_group *g, const char *protocol, const char *const *member_ids,
                           const kafka_bytes *assignments, size_t n, int64_t deadline, kafka_arena *arena,
                           kafka_bytes *assignment);

kafka_err kafka_group_heartbeat(kafka_group *g, int64_t deadline);

/* LeaveGroup for this member; forgets the member id and generation. */
kafka_err kafka_group_leave(kafka_group *g, int64_t deadline);

/* OffsetCommit of offs[0..n) with the current generation (or -1 / "" for a
 * "simple" commit when generation < 0). Sets each offs[i].err and returns
 * the first error. */
kafka_err kafka_group_commit(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline);

/* OffsetFetch: fills offs[i].offset (-1 = none committed) and .err. */
kafka_err kafka_group_fetch_offsets(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline);

/* Forget the generation (after ILLEGAL_GENERATION, or before rejoining). */
void kafka_group_reset_generation(kafka_group *g, bool forget_member_id);
int32_t kafka_group_generation(kafka_group *g);

/* Copies the last error text. */
void kafka_group_last_error(kafka_group *g, char *buf, size_t len);

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
