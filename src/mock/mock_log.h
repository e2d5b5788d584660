/*
 * One partition's log in the mock: the record batches as producers sent
 * them (base offset and partition leader epoch rewritten), bounded by a
 * retention in bytes, plus the idempotent producers' sequence state.
 *
 * Sans-I/O and single-threaded: the mock's cluster mutex guards it.
 */
#ifndef KAFKA_MOCK_LOG_H
#define KAFKA_MOCK_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"

/* Kafka keeps the metadata of the last 5 batches per producer to answer
 * retries of any of them (max.in.flight <= 5 for idempotence). */
#define KMOCK_PRODUCER_BATCHES 5

typedef struct kmock_batch {
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    int64_t max_timestamp_offset; /* offset of the record with max_timestamp */
    int32_t leader_epoch;
    int64_t producer_id;
    bool transactional;
    bool control;
    uint8_t *data; /* the whole batch, owned */
    size_t len;
} kmock_batch;

typedef struct kmock_seq_entry {
    int32_t first_seq, last_seq;
    int64_t base_offset;
} kmock_seq_entry;

typedef struct kmock_producer {
    int64_t producer_id;
    int16_t epoch;
    int n;                       /* entries used in recent[] */
    kmock_seq_entry recent[KMOCK_PRODUCER_BATCHES]; /* oldest first */
    int64_t txn_first_offset;    /* first offset of its open transaction, -1 none */
} kmock_producer;

/* An aborted transaction: the reader drops producer_id's transactional
 * records from first_offset until its abort marker at marker_offset. */
typedef struct kmock_aborted {
    int64_t producer_id;
    int64_t first_offset;
    int64_t marker_offset;
} kmock_aborted;

typedef struct kmock_log {
    kmock_batch *batches; /* ring: batches[(head + i) % cap], i < n */
    size_t head, n, cap;
    int64_t log_start;  /* first offset kept */
    int64_t log_end;    /* next offset = high watermark (single replica view) */
    int64_t bytes;      /* sum of batch lengths kept */
    int64_t retention_bytes;
    kmock_producer *producers;
    size_t nproducers, producers_cap;
    kmock_aborted *aborted; /* in marker order */
    size_t naborted, aborted_cap;
} kmock_log;

/* An empty log keeping at most retention_bytes (> 0) of batches (the
 * newest batch always stays). */
void kmock_log_init(kmock_log *l, int64_t retention_bytes);
void kmock_log_free(kmock_log *l);

/* Per-record errors (Produce v8+ RecordErrors): at most this many listed. */
#define KMOCK_MAX_RECORD_ERRORS 16

/* Result of an append. */
typedef struct kmock_append_result {
    int16_t error;       /* Kafka error code; 0 = appended or duplicate */
    int64_t base_offset; /* first offset assigned (or of the duplicate) */
    bool duplicate;      /* a retry of a batch already in the log */
    const char *message; /* why, for errors (static) */
    /* INVALID_RECORD for particular records: their indexes in the
     * request's records (over every batch), the first ones of them */
    int32_t bad_records[KMOCK_MAX_RECORD_ERRORS];
    int nbad;
} kmock_append_result;

/* What the topic asks of every record. */
typedef struct kmock_append_rules {
    int32_t leader_epoch;
    int64_t log_append_time; /* >= 0: stamp the batches (LogAppendTime) */
    bool require_keys;       /* cleanup.policy=compact: a null key is INVALID_RECORD */
} kmock_append_rules;

/* Validates a Produce partition's records (exactly one v2 batch, as Kafka
 * requires since Produce v3: magic, length, CRC, decompression of every
 * codec, record count) and the
 * idempotent producer's sequence and epoch, then appends them with
 * consecutive offsets and leader_epoch. All or nothing: on any error
 * nothing is appended. Errors: CORRUPT_MESSAGE (bad CRC or framing),
 * INVALID_RECORD (control batch from a client, wrong record count),
 * UNSUPPORTED_COMPRESSION_TYPE, UNSUPPORTED_FOR_MESSAGE_FORMAT (magic
 * < 2), INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER,
 * UNKNOWN_PRODUCER_ID (no state for a producer whose sequence is not 0),
 * DUPLICATE_SEQUENCE_NUMBER (a retry older than the last 5 batches), and
 * NOMEM as UNKNOWN_SERVER_ERROR. A retry of one of the producer's last 5
 * batches appends nothing and reports the original base offset with no
 * error, as Kafka does. rules->log_append_time >= 0 (a LogAppendTime
 * topic) stamps the stored batches with it; rules->require_keys (a
 * compacted topic) refuses records without keys with INVALID_RECORD and
 * their indexes in bad_records. */
kmock_append_result kmock_log_append(kmock_log *l, const uint8_t *records, size_t len,
                                     const kmock_append_rules *rules);

/* Appends a transaction marker (a control batch: commit or abort) for
 * producer_id/epoch, as the transaction coordinator writes it at EndTxn,
 * closing the producer's open transaction on this partition (an abort is
 * remembered for Fetch's aborted-transactions list). Returns 0 or
 * UNKNOWN_SERVER_ERROR (out of memory). */
int16_t kmock_log_append_marker(kmock_log *l, int64_t producer_id, int16_t epoch, bool commit, int32_t leader_epoch,
                                int64_t timestamp_ms);

/* The aborted transactions a read_committed fetch of [from, to) needs:
 * those whose marker is at or after `from` and whose first offset is
 * before `to`. Calls fn for each. */
void kmock_log_aborted_in(const kmock_log *l, int64_t from, int64_t to,
                          void (*fn)(void *arg, const kmock_aborted *a), void *arg);

/* The last stable offset: the first offset of the oldest open
 * transaction, else log_end. */
int64_t kmock_log_last_stable(const kmock_log *l);

/* Index (0..n-1) of the batch holding `offset` or the first batch after
 * it; n when offset >= log_end. */
size_t kmock_log_find(const kmock_log *l, int64_t offset);

/* The i-th kept batch (0 = oldest). */
const kmock_batch *kmock_log_batch(const kmock_log *l, size_t i);

/* Offset of the first record with timestamp >= ts, and that record's
 * timestamp; -1/-1 when none. */
void kmock_log_offset_for_time(const kmock_log *l, int64_t ts, int64_t *offset, int64_t *timestamp);

/* Offset and timestamp of the record with the largest timestamp (the
 * first such record), -1/-1 in an empty log. */
void kmock_log_max_timestamp(const kmock_log *l, int64_t *offset, int64_t *timestamp);

/* DeleteRecords: moves the log start to `offset` (<= log_end), dropping
 * the batches wholly before it (a batch holding it stays: readers skip
 * its records below the start, as with Kafka). */
void kmock_log_delete_before(kmock_log *l, int64_t offset);

/* Forgets every producer's state. */
void kmock_log_forget_producers(kmock_log *l);

#endif
