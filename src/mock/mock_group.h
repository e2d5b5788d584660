/*
 * kafka_mock's group coordinator (internal, sans-I/O).
 *
 * One cluster-wide instance answers the group APIs of every mock broker:
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup (classic groups with dynamic
 * and static members), ConsumerGroupHeartbeat and ConsumerGroupDescribe
 * (KIP-848 consumer groups, server-side "uniform" and "range" assignors),
 * OffsetCommit, OffsetFetch, OffsetDelete, TxnOffsetCommit (offsets
 * visible when the transaction commits), ListGroups, DescribeGroups and
 * DeleteGroups, for every version the schemas in
 * src/protocol/gen/ define (flexible versions included). It follows the
 * semantics of Kafka's group coordinator (GroupCoordinator /
 * GroupMetadataManager): member-id handshake, delayed joins, protocol
 * selection by vote, generations, leader election, session and rebalance
 * timeouts, static membership with fencing, the offset store.
 *
 * It knows nothing of sockets: the caller (the mock's serving thread)
 * hands it a request BODY (the bytes after the request header) and gets
 * response BODIES back through a callback, immediately or later. Time is
 * the caller's clock, passed in as now_ms, so tests drive it with a fake
 * clock.
 *
 * Not thread-safe: one thread calls every function of one instance.
 *
 * Where it knowingly differs from Kafka: offsets never expire (no
 * offsets.retention); Empty groups without offsets are dropped only when
 * the group table is full; a member's client id and host are what
 * kmock_groups_set_client last said ("" if never); a second JoinGroup from
 * a member whose first is still held replaces it unanswered (Kafka does
 * the same); KIP-848 groups use Kafka's default heartbeat interval (5 s)
 * and session timeout (45 s), POSIX extended regular expressions for
 * SubscribedTopicRegex, simpler (but balanced and sticky) "uniform" and
 * per-topic "range" assignors, and classic members cannot join a
 * non-empty KIP-848 group (INCONSISTENT_GROUP_PROTOCOL) nor KIP-848
 * members a non-empty classic group (GROUP_ID_NOT_FOUND).
 *
 * Bounded memory: at most KMOCK_GROUPS_MAX groups (an Empty group without
 * offsets is evicted first), KMOCK_GROUP_MAX_MEMBERS members per group
 * (GROUP_MAX_SIZE_REACHED past it), KMOCK_MEMBER_MAX_METADATA bytes of
 * protocol metadata per member and KMOCK_GROUP_MAX_OFFSETS committed
 * partitions per group (both answered INVALID_REQUEST /
 * INVALID_COMMIT_OFFSET_SIZE rather than growing).
 */
#ifndef KAFKA_MOCK_GROUP_H
#define KAFKA_MOCK_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMOCK_GROUPS_MAX 4096
#define KMOCK_GROUP_MAX_MEMBERS 1000
#define KMOCK_MEMBER_MAX_PROTOCOLS 32
#define KMOCK_MEMBER_MAX_METADATA (1024 * 1024)
#define KMOCK_GROUP_MAX_OFFSETS 100000
/* Kafka's offset.metadata.max.bytes default. */
#define KMOCK_OFFSET_MAX_METADATA 4096

typedef struct kmock_groups kmock_groups;

/* Receives one response BODY (no size prefix, no response header: the
 * caller frames it with the correlation id it kept for `token`). `body`
 * lives only for the call. May be called from kmock_groups_handle (for
 * the request being handled or for other, deferred ones) and from
 * kmock_groups_tick. It must not call back into the same kmock_groups. A
 * token whose connection has gone away should be ignored by the callee:
 * the coordinator does not know about connections. */
typedef void (*kmock_reply_fn)(void *ctx, uint64_t token, const uint8_t *body, size_t len);

typedef struct kmock_groups_config {
    /* Kafka's group.initial.rebalance.delay.ms: how long a join into an
     * Empty group waits for more members (extended while new members
     * arrive, up to the rebalance timeout). 0 = no delay. */
    int32_t initial_rebalance_delay_ms;
    /* group.min/max.session.timeout.ms; a JoinGroup outside gets
     * INVALID_SESSION_TIMEOUT. 0 for both = Kafka's defaults (6000,
     * 1800000). */
    int32_t min_session_timeout_ms, max_session_timeout_ms;
    /* Does topic/partition exist? Returns 0 or UNKNOWN_TOPIC_OR_PARTITION
     * (3). NULL = every partition exists. Called during handle only. */
    int (*partition_exists)(void *ctx, const char *topic, int32_t partition);
    void *ctx;
} kmock_groups_config;

/* Creates a coordinator with a copy of *cfg. Returns 0, or -1 on a bad
 * config (min > max session timeout, negative delay) or out of memory. */
int kmock_groups_new(kmock_groups **g, const kmock_groups_config *cfg);

/* Frees everything. Deferred requests still waiting are NOT answered (the
 * caller is closing its connections anyway). NULL is a no-op. */
void kmock_groups_free(kmock_groups *g);

/* Identity of the connection whose requests the next kmock_groups_handle
 * calls carry (the request header's client id and the peer's address), as
 * DescribeGroups reports them and as the prefix of generated member ids.
 * Copied; NULL = unknown (""). Optional. */
void kmock_groups_set_client(kmock_groups *g, const char *client_id, const char *client_host);

/* Cluster topics, for KIP-848 consumer groups (whose subscriptions name
 * topics and whose assignments carry topic ids): `topics` calls `visit`
 * once per existing topic, synchronously, with its name, 16-byte topic id
 * and partition count (pointers valid during the call). */
typedef void (*kmock_topic_visit_fn)(void *arg, const char *topic, const uint8_t topic_id[16], int32_t partitions);
typedef void (*kmock_topics_fn)(void *ctx, kmock_topic_visit_fn visit, void *arg);

/* Enables ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69):
 * until it is called they answer UNSUPPORTED_VERSION, since assignments
 * cannot be computed without the topics. `topics` is called during
 * kmock_groups_handle and kmock_groups_tick only. */
void kmock_groups_set_topics(kmock_groups *g, kmock_topics_fn topics, void *ctx);

/* The transaction coordinator's word on a TxnOffsetCommit's producer:
 * returns 0 when transactional_id's current producer is (producer_id,
 * producer_epoch) and its open transaction includes group_id (added with
 * AddOffsetsToTxn), else the error Kafka gives (INVALID_PRODUCER_ID_MAPPING,
 * PRODUCER_FENCED / INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE,
 * TRANSACTIONAL_ID_NOT_FOUND, ...). Strings are NUL-terminated and valid
 * during the call only. */
typedef int (*kmock_txn_check_fn)(void *ctx, const char *transactional_id, int64_t producer_id, int16_t producer_epoch,
                                  const char *group_id);

/* Enables the producer check of TxnOffsetCommit (28); without it every
 * producer is taken at its word. `check` is called during
 * kmock_groups_handle only. */
void kmock_groups_set_txn_check(kmock_groups *g, kmock_txn_check_fn check, void *ctx);

/* Ends the offset commits of producer_id's transaction in every group:
 * commit = true makes them the groups' committed offsets (Kafka's commit
 * marker in __consumer_offsets), false drops them. Call it when an EndTxn
 * completes, and when a transaction is aborted by timeout or fencing.
 * Answers nothing; never fails (committing past KMOCK_GROUP_MAX_OFFSETS
 * or out of memory loses those offsets, as a full store would). */
void kmock_groups_end_txn(kmock_groups *g, int64_t producer_id, bool commit);

/* Handles one request of api key JoinGroup (11), SyncGroup (14),
 * Heartbeat (12), LeaveGroup (13), OffsetCommit (8), OffsetFetch (9),
 * OffsetDelete (47), ListGroups (16), DescribeGroups (15),
 * DeleteGroups (42), TxnOffsetCommit (28), ConsumerGroupHeartbeat (68) or
 * ConsumerGroupDescribe (69) at `version`. `body` is only read during the call.
 * Returns 1 if the request was answered (reply called) before returning,
 * 0 if the answer is deferred (reply is called later, with this token,
 * from kmock_groups_handle or kmock_groups_tick: a JoinGroup waiting for
 * the rebalance, a follower's SyncGroup waiting for the leader's), and <0
 * if the body does not decode, the api key is not a group API or the
 * version is outside the schema's range (the caller closes the
 * connection; nothing was kept). Runs the timers up to now_ms first; call
 * kmock_groups_tick afterwards to learn the next deadline. */
int kmock_groups_handle(kmock_groups *g, int16_t api_key, int16_t version, const uint8_t *body, size_t len,
                        int64_t now_ms, uint64_t token, kmock_reply_fn reply, void *reply_ctx);

/* Runs the timers due at now_ms (rebalance delays and timeouts, sync
 * timeouts, session expiry, expiry of members that never completed the
 * member-id handshake), answering deferred requests through their reply
 * functions. Returns the next deadline (same clock as now_ms), or
 * INT64_MAX when nothing is pending. */
int64_t kmock_groups_tick(kmock_groups *g, int64_t now_ms);

#endif /* KAFKA_MOCK_GROUP_H */
