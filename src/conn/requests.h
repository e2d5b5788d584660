/*
 * Fetch and ListOffsets requests, built in one place for kafka_conn
 * (batch.c, offsets.c) and the reader (src/reader/fetcher.c): the same
 * version limits and the same field choices everywhere. Pure: builds
 * generated request structs in an arena; no I/O.
 */
#ifndef KAFKA_CONN_REQUESTS_H
#define KAFKA_CONN_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "protocol/gen/fetch.h"
#include "protocol/gen/list_offsets.h"

/* Fetch v13+ names topics by id only; libkafka speaks names. */
#define KAFKA_FETCH_MAX_VERSION 12
/* Fetch v4 brought isolation_level and the aborted transactions list. */
#define KAFKA_FETCH_MIN_READ_COMMITTED 4
/* Fetch v7 brought fetch sessions (KIP-227). */
#define KAFKA_FETCH_MIN_SESSION 7
/* ListOffsets v0 answers with an offsets array instead of one offset. */
#define KAFKA_LIST_OFFSETS_MIN_VERSION 1
/* The newest ListOffsets whose fields libkafka fills: v4+ carry leader
 * epochs (current_leader_epoch -1 = no fencing), v6+ are flexible, v7-v9
 * only add timestamp sentinels; v10 adds TimeoutMs for remote-storage
 * lookups, which would need the caller's deadline: not offered. The broker's
 * own range decides through the version negotiation. (librdkafka 2.0.2's
 * mock, the test broker, writes the v4/v5 LeaderEpoch as an int64, which
 * misaligns every partition entry after the first: the test broker
 * advertises ListOffsets up to v3 only; tests/unit/test_list_offsets_versions.c.) */
#define KAFKA_LIST_OFFSETS_MAX_VERSION 9

/* The Fetch versions to offer: [*min, KAFKA_FETCH_MAX_VERSION]. */
int16_t kafka_fetch_min_version(bool read_committed);

/* One partition to fetch. */
typedef struct kafka_fetch_want {
    const char *topic; /* must outlive the request */
    int32_t partition;
    int64_t offset;
    int32_t max_bytes; /* per partition (KIP-74) */
} kafka_fetch_want;

typedef struct kafka_fetch_opts {
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes; /* the whole response */
    bool read_committed;
    int32_t session_id;    /* KIP-227; 0 with epoch -1 = no session */
    int32_t session_epoch; /* 0 = create a session, >0 = incremental */
    /* Incremental fetches: partitions to drop from the session. */
    const kafka_fetch_want *forgotten;
    size_t n_forgotten;
} kafka_fetch_opts;

/* Fills *req (arrays in arena a) to fetch want[0..n); consecutive entries
 * of one topic share a topic entry (a topic may appear twice, which
 * Kafka accepts). NOMEM when the arena cannot grow. */
kafka_err kafka_fetch_request_build(kafka_arena *a, const kafka_fetch_want *want, size_t n,
                                    const kafka_fetch_opts *o, kafka_fetch_request *req);

/* One partition's offset to look up: timestamp, or -2 earliest, -1 latest. */
typedef struct kafka_offset_want {
    const char *topic;
    int32_t partition;
    int64_t timestamp;
} kafka_offset_want;

kafka_err kafka_list_offsets_request_build(kafka_arena *a, const kafka_offset_want *want, size_t n,
                                           bool read_committed, kafka_list_offsets_request *req);

#endif
