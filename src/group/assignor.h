/*
 * Consumer-group partition assignors (internal, sans-I/O).
 *
 * The group leader decodes every member's ConsumerProtocolSubscription
 * (group/consumer_protocol.h), turns each into a kafka_group_member, looks
 * up the partition counts of all subscribed topics, and calls
 * kafka_assignor_assign(). The result is one partition list per member,
 * which the leader encodes as ConsumerProtocolAssignment for SyncGroup.
 *
 * Built-in assignors, wire-compatible with the Java client (and so with
 * librdkafka and kcat members of the same group):
 *   "range"              (EAGER)        RangeAssignor
 *   "roundrobin"         (EAGER)        RoundRobinAssignor
 *   "cooperative-sticky" (COOPERATIVE)  CooperativeStickyAssignor semantics
 *                                       (own algorithm, see assignor_sticky.c)
 *
 * Member order: where an assignor orders members it uses Java's rule
 * (AbstractPartitionAssignor.MemberInfo): static members (with a group
 * instance id) first, ordered by instance id, then dynamic members ordered
 * by member id; ties broken by member id. Strings compare bytewise
 * (strcmp), which equals Java's String.compareTo for ASCII names.
 *
 * Topics a member subscribes to that are absent from the metadata given
 * (unknown or not yet created) are skipped, as Java does. Rack-aware
 * assignment (KIP-881) is not implemented: `rack` is carried but unused.
 *
 * Not thread-safe per call, but the assignors keep no state: concurrent
 * calls with different arenas are fine.
 */
#ifndef KAFKA_GROUP_ASSIGNOR_H
#define KAFKA_GROUP_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "group/consumer_protocol.h"
#include "kafka/error.h"

/* One member of the group as the leader sees it. All pointers are the
 * caller's and must stay valid for the duration of the assign call (the
 * result points to member_id and to topic names of `topics` metadata). */
typedef struct kafka_group_member {
    const char *member_id;         /* unique within the group, non-NULL */
    const char *group_instance_id; /* NULL if dynamic */
    const char *const *topics;     /* subscription */
    size_t n_topics;
    /* Partitions the member owns (subscription v1+), and the generation
     * they are from (v2+, or cooperative-sticky user data; -1 unknown). */
    const kafka_topic_partition *owned;
    size_t n_owned;
    int32_t generation;
    const char *rack; /* v3+, NULL if unknown; unused for now */
} kafka_group_member;

/* Partition count of one topic, from Metadata. */
typedef struct kafka_topic_metadata {
    const char *topic;
    int32_t partition_count;
} kafka_topic_metadata;

/* What one member gets. `partitions` is sorted by topic then partition;
 * topic pointers point to the kafka_topic_metadata names given. */
typedef struct kafka_member_assignment {
    const char *member_id;
    kafka_topic_partition *partitions;
    size_t n_partitions;
} kafka_member_assignment;

typedef enum kafka_rebalance_protocol {
    KAFKA_REBALANCE_EAGER = 0,      /* revoke everything, then join */
    KAFKA_REBALANCE_COOPERATIVE = 1 /* keep what you keep; revoke only moves */
} kafka_rebalance_protocol;

typedef struct kafka_assignor kafka_assignor;

/* An assignment function: fills out[i] for members[i] (out has n_members
 * entries, zeroed, member_id already set), allocating from `arena`.
 * kafka_assignor_assign has validated the input (non-NULL ids and names,
 * no duplicate member ids or topics, counts >= 0, the partition cap), and
 * passes `topics` sorted by name, without topics no member subscribes to.
 * The caller sorts each member's partitions afterwards. */
typedef kafka_err (*kafka_assign_fn)(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
                                     const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *arena,
                                     kafka_member_assignment *out);

struct kafka_assignor {
    const char *name;                  /* JoinGroup protocol name */
    kafka_rebalance_protocol protocol; /* the strongest protocol it supports */
    kafka_assign_fn assign;
    void *opaque; /* for custom assignors */
};

/* The built-in assignors, NULL-terminated. Static storage. */
extern const kafka_assignor *const kafka_builtin_assignors[];

extern const kafka_assignor kafka_assignor_range;
extern const kafka_assignor kafka_assignor_roundrobin;
extern const kafka_assignor kafka_assignor_cooperative_sticky;

/* The built-in assignor with this protocol name, or NULL. */
const kafka_assignor *kafka_assignor_find(const char *name);

/* Validates the input and runs the assignor. On success *out points to an
 * arena array of n_members assignments, out[i] for members[i], each
 * sorted by topic then partition. Owned partitions naming unknown topics
 * or partitions out of range are ignored. Errors: INVALID_ARG (NULL member
 * id or topic name, duplicate member id or metadata topic, negative
 * partition count), TOO_LARGE (subscribed partitions past
 * KAFKA_ASSIGNOR_MAX_PARTITIONS), NOMEM. With n_members == 0 *out is an
 * empty array. Scratch memory is freed before returning. Does not block. */
kafka_err kafka_assignor_assign(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
                                const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *arena,
                                kafka_member_assignment **out);

/* Cap on the partitions one assign call handles (sum of the partition
 * counts of subscribed topics); past it kafka_assignor_assign returns
 * TOO_LARGE rather than trying to allocate for a hostile count. */
#define KAFKA_ASSIGNOR_MAX_PARTITIONS (1u << 24)

/* Fills *m from a decoded subscription: topics, owned partitions and rack
 * point into `s` (so into the arena that decoded it), generation comes
 * from kafka_consumer_subscription_generation(). member_id and
 * group_instance_id come from the JoinGroup response. */
void kafka_group_member_from_subscription(kafka_group_member *m, const char *member_id,
                                          const char *group_instance_id, const kafka_consumer_subscription *s);

/* ---- helpers shared by the assignors (assignor.c) ----------------------- */

/* qsort comparator for `const kafka_group_member *` elements: Java's
 * MemberInfo order (static by instance id first, then by member id). */
int kafka_group_member_cmp(const void *a, const void *b);

/* Returns an array of n pointers into members, sorted with
 * kafka_group_member_cmp, allocated from `scratch`; NULL on NOMEM. */
const kafka_group_member **kafka_group_members_sorted(const kafka_group_member *members, size_t n,
                                                      kafka_arena *scratch);

/* Subscription matrix: m[i * n_topics + t] != 0 when members[i] subscribes
 * to topics[t] (topics as passed to the assign function, sorted by name).
 * Allocated from `scratch`; NULL on NOMEM. */
uint8_t *kafka_subscription_matrix(const kafka_group_member *members, size_t n_members,
                                   const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *scratch);

/* Index of `topic` in the name-sorted `topics`, or -1. */
int32_t kafka_topic_index(const kafka_topic_metadata *topics, size_t n_topics, const char *topic);

/* Allocates out[i].partitions with room for counts[i] entries, and sets
 * n_partitions to 0, for an assignor that counts first and fills second. */
kafka_err kafka_member_assignments_reserve(kafka_member_assignment *out, size_t n, const size_t *counts,
                                           kafka_arena *arena);

#endif /* KAFKA_GROUP_ASSIGNOR_H */
