/*
 * The writer's balancer instance: a kafka_balancer (kafka/balancer.h) plus
 * the counters it needs (round-robin positions and least-bytes byte counts,
 * one set per topic).
 *
 * Thread safety: every function may be called concurrently from any number
 * of threads on the same state, except kafka_balancer_state_free(), which
 * must run after all other calls have returned.
 */
#ifndef KAFKA_WRITER_BALANCER_INTERNAL_H
#define KAFKA_WRITER_BALANCER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kafka/balancer.h"
#include "kafka/error.h"

typedef struct kafka_balancer_state kafka_balancer_state;

/* Validates `cfg` (NULL means the zero value) and creates a state for it.
 * Returns 0, KAFKA_ERR_INVALID_ARG (unknown kind or keyless mode, CUSTOM
 * without fn) or
 * KAFKA_ERR_NOMEM. The state copies cfg; fn/privdata must outlive it. */
kafka_err kafka_balancer_state_new(const kafka_balancer *cfg, kafka_balancer_state **out);

/* Frees the state (NULL is fine). */
void kafka_balancer_state_free(kafka_balancer_state *st);

/* Chooses the partition for one message and stores it in *partition_out.
 * `partitions` lists the topic's partition ids: pass every partition of the
 * topic in ascending order (hash balancers map key hashes onto positions in
 * this list, as the other clients do onto 0..P-1). topic may be NULL
 * (counted as ""). key == NULL means a null key; key_len must then be 0.
 * For LEAST_BYTES the chosen partition's count grows by key_len+value_len.
 * Returns 0, KAFKA_ERR_INVALID_ARG (NULL state/partitions/out, n == 0 or
 * n > INT32_MAX, NULL key with key_len > 0, a CUSTOM callback returning a
 * partition not in the list) or KAFKA_ERR_NOMEM (first use of a topic).
 * Keyless messages of a hash kind are spread round-robin here, whatever
 * cfg.keyless says: the sticky placement needs the writer's batch limits
 * and thread numbers, so the writer does it itself (writer.c pick) and
 * calls this only for what it does not spread. */
kafka_err kafka_balancer_pick(kafka_balancer_state *st, const char *topic, const void *key,
                              size_t key_len, size_t value_len, const int32_t *partitions,
                              size_t n, int32_t *partition_out);

/* LEAST_BYTES: adds `delta` (may be negative) to the byte count of
 * (topic, partition), clamped to [0, UINT64_MAX]. The writer calls it with
 * a negative delta when messages leave its buffers (delivered or failed),
 * which turns kafka-go's "fewest bytes ever sent" into "fewest bytes
 * outstanding"; not calling it keeps kafka-go's behaviour. Unknown topics
 * or partitions and other kinds are ignored. */
void kafka_balancer_add_bytes(kafka_balancer_state *st, const char *topic, int32_t partition,
                              int64_t delta);

/* LEAST_BYTES: the current byte count of (topic, partition); 0 when
 * unknown. For stats and tests. */
uint64_t kafka_balancer_bytes(kafka_balancer_state *st, const char *topic, int32_t partition);

/* The balancer's kind (after defaulting). */
kafka_balancer_kind kafka_balancer_state_kind(const kafka_balancer_state *st);

#endif /* KAFKA_WRITER_BALANCER_INTERNAL_H */
