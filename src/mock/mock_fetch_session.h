/*
 * Fetch sessions (KIP-227) in the mock: a session remembers the partitions
 * a client fetches and what it was last told about each, so that
 * incremental Fetch requests name only what changed and incremental
 * responses carry only partitions with news. At most KMOCK_FETCH_SESSIONS
 * sessions live at once (Kafka's max.incremental.fetch.session.cache.slots
 * default); the least recently used one is evicted for a new one.
 *
 * Single-threaded: the mock's mutex guards it.
 */
#ifndef KAFKA_MOCK_FETCH_SESSION_H
#define KAFKA_MOCK_FETCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

#define KMOCK_FETCH_SESSIONS 1000

typedef struct kmock_fs_part {
    char *topic;       /* name (versions < 13) */
    kafka_uuid topic_id; /* id (versions >= 13) */
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t leader_epoch;
    bool sent;         /* the client has heard of it since it was added */
    int64_t hw, lso, log_start; /* what the client was last told */
} kmock_fs_part;

typedef struct kmock_fetch_session {
    int32_t id;
    int32_t epoch; /* the epoch the next incremental request must carry */
    int32_t broker_id;
    uint64_t last_used;
    kmock_fs_part *parts;
    size_t n, cap;
} kmock_fetch_session;

typedef struct kmock_fs_cache {
    kmock_fetch_session **s;
    size_t n, cap;
    int32_t next_id;
    uint64_t clock;
} kmock_fs_cache;

void kmock_fs_cache_free(kmock_fs_cache *fc);
/* A new empty session on broker_id (epoch 1 expected next); NULL when out
 * of memory. */
kmock_fetch_session *kmock_fs_new(kmock_fs_cache *fc, int32_t broker_id);
/* The session with this id on broker_id, or NULL. Marks it used. */
kmock_fetch_session *kmock_fs_find(kmock_fs_cache *fc, int32_t id, int32_t broker_id);
void kmock_fs_remove(kmock_fs_cache *fc, int32_t id);
/* The session's entry for a partition, added when missing (NULL: out of
 * memory). A topic is named by id when `id` is not all zero, else by name. */
kmock_fs_part *kmock_fs_upsert(kmock_fetch_session *s, kafka_str topic, const kafka_uuid *id, int32_t partition);
void kmock_fs_forget(kmock_fetch_session *s, kafka_str topic, const kafka_uuid *id, int32_t partition);

#endif
