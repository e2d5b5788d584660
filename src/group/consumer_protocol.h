/*
 * The embedded "consumer" protocol (internal, sans-I/O): the bytes a
 * consumer puts in JoinGroup's protocol metadata (ConsumerProtocolSubscription)
 * and the group leader puts in SyncGroup's member assignment
 * (ConsumerProtocolAssignment). Both are Kafka "data" schemas, never
 * flexible: an int16 version, then the fields of that version, exactly as
 * the Java client writes them (ConsumerProtocol.serialize*).
 *
 * Versions: subscription and assignment 0..3 are encoded; a decoder meets
 * a newer version by parsing it with the v3 layout and ignoring trailing
 * bytes, which is the compatibility rule the schema states ("future
 * versions will not remove or reorder fields"). Trailing bytes after a
 * known version are ignored too, as the Java client does.
 *
 * Memory: decoded topic names are copied into the caller's arena as
 * NUL-terminated strings (a name holding a NUL byte is rejected as
 * CORRUPT); user_data stays a view into the input buffer. Everything a
 * decoder returns lives until the arena is reset and, for user_data, as
 * long as the input buffer. Decoders never allocate more than a small
 * multiple of the input size: every count is checked against the bytes
 * left (kafka_get_array_len).
 */
#ifndef KAFKA_GROUP_CONSUMER_PROTOCOL_H
#define KAFKA_GROUP_CONSUMER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/error.h"
#include "protocol/wire.h"

/* The JoinGroup protocol_type of consumer groups. */
#define KAFKA_CONSUMER_PROTOCOL_TYPE "consumer"
/* Highest ConsumerProtocolSubscription/Assignment version we write. */
#define KAFKA_CONSUMER_PROTOCOL_MAX_VERSION 3

/* One partition of one topic. `topic` is NUL-terminated. */
typedef struct kafka_topic_partition {
    const char *topic;
    int32_t partition;
} kafka_topic_partition;

/* ConsumerProtocolSubscription, flattened. */
typedef struct kafka_consumer_subscription {
    int16_t version;                    /* encode: 0..3; decode: as read */
    const char *const *topics;          /* subscribed topic names */
    size_t n_topics;
    kafka_bytes user_data;              /* len < 0 = null */
    const kafka_topic_partition *owned; /* v1+: partitions the member owns */
    size_t n_owned;
    int32_t generation; /* v2+: generation of `owned`; -1 = unknown */
    const char *rack;   /* v3+: client rack; NULL = none */
} kafka_consumer_subscription;

/* ConsumerProtocolAssignment, flattened (no field changes across 0..3). */
typedef struct kafka_consumer_assignment {
    int16_t version; /* encode: 0..3; decode: as read */
    const kafka_topic_partition *partitions;
    size_t n_partitions;
    kafka_bytes user_data; /* len < 0 = null */
} kafka_consumer_assignment;

/* Appends the encoding of `s` at s->version to `w`. Fields the version
 * lacks are dropped (they are "ignorable" in the schema). Returns
 * INVALID_ARG for a version outside 0..3, a NULL topic or a name longer
 * than 32767 bytes, NOMEM if `w` ran out of memory. On error `w` may hold
 * a partial encoding. */
kafka_err kafka_consumer_subscription_encode(const kafka_consumer_subscription *s, kafka_wbuf *w);

/* Decodes `len` bytes at `data` into `out` (arena-allocated arrays).
 * Errors: TRUNCATED, CORRUPT (negative version, null non-nullable field,
 * impossible count, NUL in a name), NOMEM. */
kafka_err kafka_consumer_subscription_decode(const void *data, size_t len, kafka_arena *arena,
                                             kafka_consumer_subscription *out);

/* Appends the encoding of `a` at a->version. Partitions of one topic are
 * grouped under a single topic entry, topics in order of first appearance,
 * partitions in input order. Errors as for the subscription. */
kafka_err kafka_consumer_assignment_encode(const kafka_consumer_assignment *a, kafka_wbuf *w);

/* Decodes an assignment. An empty input (len 0) is a valid empty
 * assignment: the broker sends zero bytes to a member the leader gave
 * nothing (librdkafka accepts it too). Errors as for the subscription. */
kafka_err kafka_consumer_assignment_decode(const void *data, size_t len, kafka_arena *arena,
                                           kafka_consumer_assignment *out);

/* The generation a subscription vouches for its owned partitions with, as
 * the Java cooperative-sticky assignor reads it: the v2+ GenerationId
 * field if present; otherwise a 4-byte user_data holding an int32
 * generation (what Java's CooperativeStickyAssignor writes for leaders
 * older than v2); otherwise -1 (unknown). */
int32_t kafka_consumer_subscription_generation(const kafka_consumer_subscription *s);

/* Writes the 4-byte cooperative-sticky user data (int32 generation, big
 * endian) into out, for subscriptions read by pre-v2 leaders. */
void kafka_cooperative_sticky_userdata(int32_t generation, uint8_t out[4]);

#endif /* KAFKA_GROUP_CONSUMER_PROTOCOL_H */
