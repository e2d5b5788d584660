/*
 * KIP-848 consumer groups in the mock group coordinator (internal to
 * mock_group_consumer*.c and mock_group_assign.c).
 *
 * The coordinator owns the assignment: a group epoch that moves whenever
 * membership, subscriptions or the subscribed topics change; a target
 * assignment computed by a server-side assignor for that epoch; and, per
 * member, the reconciliation toward its target (Kafka's
 * CurrentAssignmentBuilder): a member first revokes what it must give up
 * (UNREVOKED_PARTITIONS, its epoch held back), then gets the new epoch and
 * the partitions nobody else still owns (UNRELEASED_PARTITIONS until the
 * rest are released), then is STABLE.
 */
#ifndef KAFKA_MOCK_GROUP_CONSUMER_H
#define KAFKA_MOCK_GROUP_CONSUMER_H

#include <regex.h>

#include "mock/mock_group_int.h"

/* Kafka's group.consumer.* defaults. */
#define KMOCK_CONSUMER_SESSION_TIMEOUT_MS 45000
#define KMOCK_CONSUMER_HEARTBEAT_INTERVAL_MS 5000
#define KMOCK_CONSUMER_DEFAULT_ASSIGNOR "uniform"
#define KMOCK_CONSUMER_MAX_SUBSCRIBED_TOPICS 10000

/* One partition, by topic id. */
typedef struct kmock_tp {
    kafka_uuid topic;
    int32_t partition;
} kmock_tp;

/* A set of partitions: sorted by (topic id bytes, partition), no duplicates. */
typedef struct kmock_tps {
    kmock_tp *v;
    size_t n, cap;
} kmock_tps;

/* A subscribed topic that exists, as the cluster describes it. */
typedef struct kmock_topic_meta {
    char *name;
    kafka_uuid id;
    int32_t partitions;
} kmock_topic_meta;

typedef enum kmock_cm_state {
    KMOCK_CM_STABLE,
    KMOCK_CM_UNREVOKED_PARTITIONS,
    KMOCK_CM_UNRELEASED_PARTITIONS
} kmock_cm_state;

typedef struct kmock_cmember {
    char *id;
    char *instance_id; /* NULL = dynamic */
    char *rack_id;
    char *client_id, *client_host;
    int32_t epoch, previous_epoch; /* epoch -2: a static member away */
    kmock_cm_state state;
    int32_t rebalance_timeout_ms;
    char **topics; /* subscribed names */
    size_t n_topics;
    char *regex; /* subscribed pattern (whole-name match), NULL = none */
    regex_t re;
    char *assignor; /* requested server assignor, NULL = no preference */
    kmock_tps assigned, revoking, target;
    int64_t last_heartbeat_ms;
    int64_t revoke_deadline_ms; /* UNREVOKED_PARTITIONS: fenced after */
} kmock_cmember;

struct kmock_cgroup {
    int32_t group_epoch, assignment_epoch;
    kmock_cmember **members;
    size_t n_members, cap_members;
    kmock_topic_meta *meta; /* the subscribed topics that exist, by name */
    size_t n_meta;
    char *assignor; /* the assignor of the current target */
};

/* ---- partition sets (mock_group_assign.c) -------------------------------- */

bool kmock_tps_has(const kmock_tps *s, const kafka_uuid *topic, int32_t partition);
/* Adds (keeps the set sorted). false = out of memory. */
bool kmock_tps_add(kmock_tps *s, const kafka_uuid *topic, int32_t partition);
void kmock_tps_clear(kmock_tps *s);
void kmock_tps_free(kmock_tps *s);
/* Moves src into dst (dst freed first; src emptied). */
void kmock_tps_move(kmock_tps *dst, kmock_tps *src);
bool kmock_tps_equal(const kmock_tps *a, const kmock_tps *b);

/* Does the member subscribe to `topic` (by name, or by its pattern)? */
bool kmock_cmember_subscribes(const kmock_cmember *m, const char *topic);

/* Is `name` a server assignor the mock has ("uniform", "range")? */
bool kmock_assignor_known(kafka_str name);
/* Computes every member's target from cg->meta with the named assignor
 * (known). false = out of memory (targets then left empty). */
bool kmock_assign(kmock_cgroup *cg, const char *assignor);

/* ---- target assignment and reconciliation (mock_group_consumer_target.c) -- */

/* Resolves the members' subscriptions against the cluster's topics;
 * *changed when that differs from before (topic created, deleted, grown).
 * false = out of memory. */
bool kmock_cgroup_refresh_metadata(kmock_groups *g, kmock_cgroup *cg, bool *changed);
/* Recomputes every member's target when the group epoch moved past the
 * assignment epoch. false = out of memory. */
bool kmock_cgroup_update_target(kmock_cgroup *cg);
/* Moves m toward its target; `owned` = the partitions the member says it
 * owns, NULL if its heartbeat did not say. false = out of memory. */
bool kmock_cmember_reconcile(kmock_cgroup *cg, kmock_cmember *m, const kmock_tps *owned, int64_t now);

#endif /* KAFKA_MOCK_GROUP_CONSUMER_H */
