/*
 * Internals shared by the files of the mock group coordinator
 * (mock_group*.c): the group and member records, the request context, and
 * the rebalance engine the API handlers drive. See mock_group.h.
 */
#ifndef KAFKA_MOCK_GROUP_INT_H
#define KAFKA_MOCK_GROUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "mock/mock_group.h"
#include "protocol/gen/join_group.h"
#include "protocol/gen_runtime.h"
#include "protocol/wire.h"

/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member waiting in
 * a rebalance cannot heartbeat, so it is dropped after this long. */
#define KMOCK_NEW_MEMBER_JOIN_TIMEOUT_MS 300000
#define KMOCK_DEFAULT_MIN_SESSION_MS 6000
#define KMOCK_DEFAULT_MAX_SESSION_MS 1800000

/* Kafka's AclOperation codes a group supports: READ (3), DELETE (6),
 * DESCRIBE (8). Without ACLs every one of them is authorized. */
#define KMOCK_GROUP_AUTHORIZED_OPS ((1 << 3) | (1 << 6) | (1 << 8))

/* Classic group states, in Kafka's names (kmock_state_name). */
typedef enum kmock_state {
    KMOCK_EMPTY,
    KMOCK_PREPARING_REBALANCE,
    KMOCK_COMPLETING_REBALANCE,
    KMOCK_STABLE,
    KMOCK_DEAD
} kmock_state;

/* A request whose answer is deferred: everything needed to answer it. */
typedef struct kmock_waiter {
    bool active;
    int16_t version;
    uint64_t token;
    kmock_reply_fn fn;
    void *ctx;
} kmock_waiter;

/* One request being handled. */
typedef struct kmock_req {
    int16_t version;
    int64_t now;
    kafka_arena *arena; /* for decoded requests and response arrays */
    kmock_waiter w;     /* this request's reply route (active = false) */
} kmock_req;

typedef struct kmock_protocol {
    char *name;
    uint8_t *meta;
    int32_t meta_len;
} kmock_protocol;

typedef struct kmock_member {
    char *id;
    char *instance_id; /* NULL = dynamic member */
    char *client_id, *client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    kmock_protocol *protocols; /* in the member's preference order */
    size_t n_protocols;
    uint8_t *assignment; /* from the leader's SyncGroup; NULL = none */
    int32_t assignment_len;
    int64_t last_heartbeat_ms;
    bool is_new;  /* joined during this rebalance, no JoinGroup answer yet */
    bool synced;  /* sent SyncGroup for the current generation */
    kmock_waiter join, sync;
} kmock_member;

/* Got MEMBER_ID_REQUIRED, has not joined with that id yet. */
typedef struct kmock_pending {
    char *id;
    int64_t deadline_ms;
} kmock_pending;

typedef struct kmock_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* never NULL: a null commit stores "" as Kafka does */
} kmock_offset;

typedef struct kmock_cgroup kmock_cgroup;

/* An offset a transaction committed (TxnOffsetCommit) that its EndTxn has
 * not yet made visible. */
typedef struct kmock_txn_offset {
    int64_t producer_id;
    kmock_offset o;
} kmock_txn_offset;

typedef struct kmock_group {
    char *id;
    /* KIP-848 consumer group state, or NULL for a classic group (whose
     * fields below then apply; a consumer group keeps state = Empty and
     * no classic members, so the classic APIs find no member in it) */
    kmock_cgroup *cg;
    kmock_state state;
    int32_t generation;
    char *protocol_type; /* NULL until a member joined */
    char *protocol_name; /* NULL when no generation has a protocol */
    char *leader_id;     /* NULL = no leader */
    kmock_member **members; /* in join order */
    size_t n_members, cap_members;
    kmock_pending *pending;
    size_t n_pending, cap_pending;
    /* PreparingRebalance: when the join completes regardless */
    int64_t join_deadline_ms;
    bool initial_delay;    /* the deadline is Kafka's InitialDelayedJoin */
    bool new_member_added; /* a member arrived during the initial delay */
    int32_t delay_remaining_ms;
    /* after a join completes: members that do not sync by then are removed */
    int64_t sync_deadline_ms;
    kmock_offset *offsets; /* sorted by (topic, partition) */
    size_t n_offsets, cap_offsets;
    kmock_txn_offset *txn_offsets; /* pending, in arrival order */
    size_t n_txn_offsets, cap_txn_offsets;
} kmock_group;

struct kmock_groups {
    kmock_groups_config cfg;
    kmock_group **groups;
    size_t n_groups, cap_groups;
    uint64_t id_seq; /* member id generator state */
    char *client_id, *client_host;
    kmock_topics_fn topics; /* cluster topics for KIP-848 subscriptions */
    void *topics_ctx;
    kmock_txn_check_fn txn_check; /* the producer of a TxnOffsetCommit */
    void *txn_ctx;
};

/* ---- helpers (mock_group.c) --------------------------------------------- */

/* NUL-terminated heap copy of a string view (NULL for a null view or out of
 * memory: callers that need to tell the two apart check s.len first). */
char *kmock_strdup_str(kafka_str s);
/* View of a stored C string (NULL = null). */
kafka_str kmock_str(const char *s);
bool kmock_streq(const char *a, kafka_str b);
const char *kmock_state_name(kmock_state s);

/* Removes element idx of the array arr[0..*n) of elem_size-byte
 * elements, keeping the order. */
void kmock_array_remove(void *arr, size_t *n, size_t idx, size_t elem_size);
/* Binary search over n sorted elements: cmp_at(ctx, i) compares element i
 * with the key (<0: element before it). Returns the key's index (*found)
 * or where it would be inserted. */
size_t kmock_lower_bound(size_t n, int (*cmp_at)(const void *ctx, size_t i), const void *ctx, bool *found);

/* Encodes `resp` (message m at w->version) and hands it to w's route.
 * Returns 1, or -1 if encoding failed (out of memory: nothing sent). */
int kmock_send(const kmock_waiter *w, const kafka_gen_message *m, const void *resp);
/* Same, then clears w (for deferred waiters). */
void kmock_send_deferred(kmock_waiter *w, const kafka_gen_message *m, const void *resp);

kmock_group *kmock_group_find(kmock_groups *g, kafka_str id);
/* Finds or creates (Empty, generation 0). *err = 0, or an error code when
 * the group cap is reached and no Empty group can be evicted. */
kmock_group *kmock_group_get_or_create(kmock_groups *g, kafka_str id, int16_t *err);
/* Removes and frees the group (its waiters are not answered). */
void kmock_group_delete(kmock_groups *g, kmock_group *grp);

kmock_member *kmock_member_find(kmock_group *grp, kafka_str id);
kmock_member *kmock_member_by_instance(kmock_group *grp, kafka_str instance_id);
/* A new member id, "<client id>-<uuid>" as Kafka makes them (NULL = out of
 * memory). */
char *kmock_new_member_id(kmock_groups *g);
/* No members of either protocol (DeleteGroups' and eviction's test). */
bool kmock_group_is_empty(const kmock_group *grp);

/* Kafka's validateCurrentMember: FENCED_INSTANCE_ID when the instance id
 * belongs to another member id, UNKNOWN_MEMBER_ID when the member (or
 * instance) is unknown, else 0 with *out set. */
int16_t kmock_validate_member(kmock_group *grp, kafka_str member_id, kafka_str instance_id, kmock_member **out);
/* The member's metadata for `protocol` (NULL view if it has none). */
kafka_bytes kmock_member_metadata(const kmock_member *m, const char *protocol);

/* ---- rebalance engine (mock_group_rebalance.c) ---------------------------- */

void kmock_member_free(kmock_member *m);
/* Does every member list protocol `name`? */
bool kmock_supported_by_all(const kmock_group *grp, kafka_str name);
/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for its first; most votes win, ties to the leader's
 * preference. NULL for a group without members. */
const char *kmock_select_protocol(const kmock_group *grp);
void kmock_set_leader(kmock_group *grp, const char *id);
bool kmock_is_leader(const kmock_group *grp, const kmock_member *m);

/* What one JoinGroup answer says. */
typedef struct kmock_join_result {
    int16_t error;
    const char *member_id;
    bool with_members;   /* the leader's answer: every member's metadata */
    const char *leader;  /* NULL = the group's leader */
    bool skip_assignment;
} kmock_join_result;

/* Fills a JoinGroup response for `version` (arrays from arena). */
void kmock_join_response(const kmock_group *grp, int16_t version, kafka_arena *arena, const kmock_join_result *jr,
                         kafka_join_group_response *resp);
/* Answers m's held JoinGroup, if any. */
void kmock_join_reply_deferred(const kmock_group *grp, kmock_member *m, const kmock_join_result *jr);
/* Holds the request's JoinGroup in m until the join completes. A second
 * JoinGroup from the same member replaces the first, which is then never
 * answered (as in Kafka, where clients do not pipeline joins). */
void kmock_hold_join(kmock_member *m, const kmock_req *rq);
/* Kafka's maybePrepareRebalance followed by the join completion check. */
void kmock_maybe_rebalance(kmock_groups *g, kmock_group *grp, int64_t now);
/* Removes a member (answering its waiting JoinGroup/SyncGroup with
 * UNKNOWN_MEMBER_ID) and rebalances as Kafka's removeMemberAndUpdateGroup. */
void kmock_remove_member(kmock_groups *g, kmock_group *grp, kmock_member *m, int64_t now);
/* Removes a pending (MEMBER_ID_REQUIRED) member; the join may complete. */
void kmock_remove_pending(kmock_groups *g, kmock_group *grp, size_t idx, int64_t now);
/* Index of the pending member id, or SIZE_MAX. */
size_t kmock_pending_find(kmock_group *grp, kafka_str id);
/* Runs the group's timers due at `now`; returns its next deadline. Never
 * deletes the group (only DeleteGroups and eviction do). */
int64_t kmock_group_tick(kmock_groups *g, kmock_group *grp, int64_t now);

/* ---- API handlers ---------------------------------------------------------
 * Each returns 1 (answered), 0 (deferred) or -1 (undecodable body). */
int kmock_handle_join(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_sync(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_heartbeat(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_leave(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_offset_commit(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_offset_fetch(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_offset_delete(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_list_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_describe_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_delete_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_txn_offset_commit(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);

/* ---- transactional offsets (mock_group_txn.c) ------------------------------ */

/* Does a transaction hold an offset for this partition (OffsetFetch's
 * require_stable answers UNSTABLE_OFFSET_COMMIT then)? */
bool kmock_txn_offset_pending(const kmock_group *grp, kafka_str topic, int32_t partition);
void kmock_txn_offsets_free(kmock_group *grp);

/* Answers m's held SyncGroup (if any) with err, or with its assignment
 * and grp's protocol when err is 0 (mock_group_sync.c). */
void kmock_sync_reply_deferred(const kmock_group *grp, kmock_member *m, int16_t err);

/* ---- KIP-848 consumer groups (mock_group_consumer.c) -------------------- */

int kmock_handle_consumer_heartbeat(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
int kmock_handle_consumer_describe(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);
void kmock_cgroup_free(kmock_cgroup *cg);
int64_t kmock_cgroup_tick(kmock_groups *g, kmock_group *grp, int64_t now);
/* ConsumerGroupState name: Empty, Assigning, Reconciling, Stable. */
const char *kmock_cgroup_state(const kmock_cgroup *cg);
bool kmock_cgroup_has_members(const kmock_cgroup *cg);
/* Does any member subscribe to topic (by name or regex)? */
bool kmock_cgroup_subscribes(const kmock_cgroup *cg, kafka_str topic);
/* OffsetCommit / OffsetFetch member checks (Kafka's ConsumerGroup
 * validateOffsetCommit / validateOffsetFetch): 0 or an error code. */
int16_t kmock_cgroup_validate_commit(const kmock_cgroup *cg, kafka_str member_id, kafka_str instance_id, int32_t epoch,
                                     bool transactional, int16_t version);
int16_t kmock_cgroup_validate_fetch(const kmock_cgroup *cg, kafka_str member_id, int32_t epoch);

/* ---- the offset store (mock_group_offset_store.c) ------------------------ */

void kmock_offsets_free(kmock_group *grp);
const kmock_offset *kmock_offset_get(const kmock_group *grp, kafka_str topic, int32_t partition);
/* Stores (or replaces) a committed offset; a null metadata is stored as "".
 * 0, or INVALID_COMMIT_OFFSET_SIZE past KMOCK_GROUP_MAX_OFFSETS, or
 * COORDINATOR_NOT_AVAILABLE out of memory. */
int16_t kmock_offset_put(kmock_group *grp, kafka_str topic, int32_t partition, int64_t offset, int32_t leader_epoch,
                         kafka_str metadata);
void kmock_offset_remove(kmock_group *grp, kafka_str topic, int32_t partition);
/* The config's partition_exists for a view (0 when it is not set). */
int16_t kmock_partition_check(const kmock_groups *g, kafka_str topic, int32_t partition, kafka_arena *arena);
/* What every committed partition must pass, plain or transactional: the
 * partition exists (UNKNOWN_TOPIC_OR_PARTITION), the metadata fits
 * (OFFSET_METADATA_TOO_LARGE). 0 or the error. */
int16_t kmock_commit_checks(const kmock_groups *g, kafka_str topic, int32_t partition, kafka_str metadata,
                            kafka_arena *arena);
/* Kafka's validateOffsetCommit of classic and consumer groups, for
 * OffsetCommit (transactional = false) and TxnOffsetCommit (true): 0 or
 * the error every partition gets. */
int16_t kmock_validate_offset_commit(kmock_group *grp, kafka_str member_id, kafka_str instance_id, int32_t generation,
                                     bool transactional, int16_t version);

#endif /* KAFKA_MOCK_GROUP_INT_H */
