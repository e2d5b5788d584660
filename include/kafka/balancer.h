/*
 * libkafka — partition balancers: which partition a written message goes to.
 *
 * A kafka_balancer is a plain value placed in the writer's config
 * (kafka-go's Writer.Balancer). Its zero value is the default balancer:
 *
 *   DEFAULT (== KAFKA_BALANCER_MURMUR2): a message with a key goes to the
 *   partition the Java client's default partitioner picks for that key
 *   (murmur2, see below); messages with a null key are spread "sticky",
 *   a batch's worth to one partition after the other (see below), as the
 *   Java client and librdkafka do.
 *
 * Why not round-robin for everything, as kafka-go does? Because a key is
 * almost always set to keep one key's messages in one partition, in order.
 * kafka-go's default silently ignores keys, which surprises users and
 * breaks per-key ordering; Java, franz-go, librdkafka and sarama all hash
 * keys by default. Among their hashes, murmur2 is the one the Java client
 * (the reference), franz-go and Kafka Streams agree on, so a libkafka
 * writer and a Java producer send a key to the same partition. Set
 * .kind = KAFKA_BALANCER_ROUND_ROBIN for kafka-go's default behaviour.
 *
 * Key compatibility — what each kind computes for a message with a key of
 * n bytes, over the topic's P partitions (the writer passes every partition
 * of the topic in ascending id order, so "index i" is partition i):
 *
 *   MURMUR2         (murmur2(key) & 0x7fffffff) % P. The Java client's
 *                   default partitioner (Utils.toPositive(Utils.murmur2)),
 *                   librdkafka "murmur2"/"murmur2_random", kafka-go
 *                   Murmur2Balancer, franz-go's default.
 *   HASH            |int32(fnv1a32(key)) % P| (C/Go truncating %). kafka-go
 *                   Hash, sarama's default NewHashPartitioner, librdkafka
 *                   "fnv1a"/"fnv1a_random" (which compute |int32(h)| % P:
 *                   the same partition for every key, INT32_MIN included).
 *   REFERENCE_HASH  (int32(fnv1a32(key)) & 0x7fffffff) % P. kafka-go
 *                   ReferenceHash, sarama NewReferenceHashPartitioner.
 *                   Differs from HASH for about half of all keys.
 *   CRC32           crc32_ieee(key) % P (unsigned). librdkafka "consistent"
 *                   and "consistent_random" (librdkafka's default, also
 *                   confluent-kafka-go/-python), kafka-go CRC32Balancer.
 *
 * Null and empty keys. key == NULL is a null key; a non-NULL key with
 * key_len == 0 is an empty key (kafka/message.h).
 *   - MURMUR2, HASH, REFERENCE_HASH: a null key is spread (keyless); an
 *     empty key is hashed (the Java client, sarama, kafka-go do the same).
 *   - CRC32: null AND empty keys are spread (keyless), because librdkafka
 *     "consistent_random" and kafka-go CRC32Balancer treat both as "no key".
 *   - With .consistent = true, null keys (and for CRC32 empty keys too) are
 *     hashed as an empty key instead, so they all land in one partition
 *     (kafka-go's Consistent field, librdkafka "consistent"/"murmur2").
 *     That makes one hot partition; leave it off unless every message has
 *     a key.
 *   Only the placement of keyed messages is a compatibility promise.
 *
 * Keyless messages ("spread" above) are sticky by default, as in the Java
 * client (KIP-480, and KIP-794's rule for when to move on) and librdkafka
 * (sticky.partitioning.linger.ms): a thread keeps sending keyless messages
 * of a topic to one partition until it has put there a batch's worth
 * (the writer's batch_size messages or batch_bytes key+value bytes), then
 * moves to the next partition in turn. Batches are full instead of one
 * message per partition, so a writer sends fewer and larger requests, and
 * threads writing at once fill different partitions instead of contending
 * for the same open batches. Over time every partition receives the same
 * share. The state is per writer, topic and group of threads (threads are
 * numbered in turn, kafka/kafka.h; 16 groups by thread number modulo 16):
 * threads of one group share a partition. A thread's messages that stay in
 * one partition keep their order, as always; keyless messages have no
 * order across partitions. Set .keyless = KAFKA_KEYLESS_ROUND_ROBIN for the
 * older behaviour, one partition after the other for every message (what
 * libkafka did before; sarama and kafka-go spread keyless messages per
 * message too, at random).
 *
 * ROUND_ROBIN: kafka-go RoundRobin, but with one counter per topic (so
 * writing to two topics alternately does not starve partitions).
 * LEAST_BYTES: kafka-go LeastBytes: the partition of the topic that has
 * been given the fewest key+value bytes by this writer (ties go to the
 * lowest partition id). A partition added to the topic later starts at the
 * current minimum instead of zero, so it is not flooded.
 *
 * Thread safety: a kafka_balancer is an immutable description; the writer
 * keeps the counters. A CUSTOM callback may be called from several threads
 * at once (every thread that writes), so it must be thread-safe.
 */
#ifndef KAFKA_BALANCER_H
#define KAFKA_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kafka_balancer_kind {
    KAFKA_BALANCER_MURMUR2 = 0,    /* Java client default; keyless: sticky */
    KAFKA_BALANCER_ROUND_ROBIN,    /* kafka-go default: ignores keys */
    KAFKA_BALANCER_LEAST_BYTES,    /* kafka-go LeastBytes: ignores keys */
    KAFKA_BALANCER_HASH,           /* FNV-1a: kafka-go Hash, sarama default */
    KAFKA_BALANCER_REFERENCE_HASH, /* FNV-1a, Java-style sign: kafka-go ReferenceHash */
    KAFKA_BALANCER_CRC32,          /* librdkafka consistent_random (its default) */
    KAFKA_BALANCER_CUSTOM,         /* your kafka_balance_fn */
    /* The zero value. It is and will stay MURMUR2: changing a default
     * balancer would move keys to other partitions. */
    KAFKA_BALANCER_DEFAULT = KAFKA_BALANCER_MURMUR2
} kafka_balancer_kind;

/* How the hash kinds place keyless messages (see the top of the file).
 * KAFKA_BALANCER_ROUND_ROBIN always spreads per message; LEAST_BYTES and
 * CUSTOM decide for themselves; .consistent hashes keyless messages. */
typedef enum kafka_keyless_mode {
    KAFKA_KEYLESS_STICKY = 0,  /* the zero value: a batch's worth per partition */
    KAFKA_KEYLESS_ROUND_ROBIN  /* the next partition for every message */
} kafka_keyless_mode;

/* A user balancer (KAFKA_BALANCER_CUSTOM). Called once per message with:
 *   privdata       kafka_balancer.privdata, as given;
 *   topic          the message's topic, NUL-terminated;
 *   key, key_len   the key (key == NULL: null key);
 *   value_len      the value's length in bytes (0 for a null value);
 *   partitions     the topic's partition ids, ascending, n_partitions >= 1.
 * Returns the chosen partition id, which must be one of partitions[]; any
 * other value fails that message with KAFKA_ERR_INVALID_ARG (nothing is
 * sent). All pointers are valid only during the call. It may be called
 * concurrently from several threads and must not block for long or call
 * back into the writer. */
typedef int32_t (*kafka_balance_fn)(void *privdata, const char *topic, const void *key,
                                    size_t key_len, size_t value_len,
                                    const int32_t *partitions, size_t n_partitions);

/* How a writer chooses partitions. Zero-initialise it (designated
 * initializers do): the zero value is KAFKA_BALANCER_DEFAULT. New fields
 * are only ever appended (the ABI policy in kafka/kafka.h). The writer
 * copies the struct; `privdata` must outlive the writer. */
typedef struct kafka_balancer {
    kafka_balancer_kind kind;
    kafka_balance_fn fn; /* CUSTOM only: required */
    void *privdata;      /* CUSTOM only: passed to fn, never freed by libkafka */
    /* Hash kinds only: hash null keys (and CRC32 empty keys) as an empty
     * key instead of spreading them. See the top of the file. */
    bool consistent;
    /* Hash kinds only: how keyless messages are spread (the zero value:
     * sticky). Anything but a kafka_keyless_mode is INVALID_ARG. */
    kafka_keyless_mode keyless;
} kafka_balancer;

/* Computes the partition a hash balancer sends `key` to in a topic of
 * n_partitions partitions (ids 0..n_partitions-1), without a writer: to
 * know where a key's messages are, e.g. to read them. `kind` is MURMUR2,
 * HASH, REFERENCE_HASH or CRC32; key may be NULL only with key_len == 0
 * and is then hashed as an empty key (the writer would spread a null key
 * instead, unless .consistent). Stores the partition in *partition.
 * Returns 0, or KAFKA_ERR_INVALID_ARG for another kind, n_partitions < 1,
 * or a NULL pointer where one is required. Pure, thread-safe, never
 * blocks; keeps no pointer. */
KAFKA_API kafka_err kafka_partition_for_key(kafka_balancer_kind kind, const void *key,
                                            size_t key_len, int32_t n_partitions,
                                            int32_t *partition);

/* Returns the static name of a balancer kind ("murmur2", "round_robin",
 * "least_bytes", "hash", "reference_hash", "crc32", "custom"), or
 * "unknown". Never NULL; static storage; thread-safe; does not block. */
KAFKA_API const char *kafka_balancer_kind_name(kafka_balancer_kind kind);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_BALANCER_H */
