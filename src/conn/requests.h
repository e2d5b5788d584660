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
/* v4+ add leader-epoch fencing, which libkafka does not do. (Observed too:
 * the test broker, librdkafka 2.0.2's mock, answers a v4/v5 request for
 * many partitions with misaligned partition entries; v1-v3 are right.) */
#define KAFKA_LIST_OFFSETS_MAX_VERSION 3

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
