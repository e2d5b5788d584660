/*
 * Record batches (message format v2) and legacy message sets (v0/v1).
 * Sans-I/O: bytes in, views out; no sockets, threads or global state.
 *
 * ENCODING — kafka_batch_builder appends v2 records straight into the
 * caller's kafka_wbuf (usually a partition's batch buffer) with no per-record
 * allocation: the only allocations are the wbuf growing and, for compressed
 * batches, one compression pass at finish.
 *
 *     kafka_batch_builder b;
 *     kafka_batch_builder_init(&b, &buf, &(kafka_batch_builder_config){
 *         .codec = KAFKA_CODEC_LZ4, .producer_id = -1, ... });
 *     kafka_batch_builder_append(&b, ts, key, klen, val, vlen, hdrs, nh);
 *     ...
 *     kafka_batch_builder_finish(&b);   // buf now holds one complete batch
 *
 * Several batches may be built one after another into the same wbuf.
 * kafka_batch_builder_append_no_headers is the same append for records
 * without headers, with its common case inlined into the caller (the
 * writer's per-message path).
 *
 * DECODING — kafka_records_iter walks a records blob as a Fetch response
 * holds it: zero or more batches (v2) or messages (v0/v1, recognised by the
 * magic byte at offset 16), possibly ending in a partial batch which is
 * ignored (Kafka cuts responses at max_bytes) and flagged in `truncated`.
 * Records are views: key, value and headers point INTO the input buffer for
 * uncompressed batches, and into the iterator's scratch buffer for
 * compressed ones. Views from a compressed batch stay valid until the next
 * batch is decoded (the scratch buffer is reused); views into the input
 * stay valid as long as the input.
 *
 * Hostile input gives KAFKA_ERR_TRUNCATED / KAFKA_ERR_CORRUPT /
 * KAFKA_ERR_CRC_MISMATCH / KAFKA_ERR_TOO_LARGE (decompressed size over the
 * limit) / KAFKA_ERR_COMPRESSION, never a crash or an allocation larger than
 * the configured decompression limit.
 *
 * Thread safety: a builder or iterator is used by one thread at a time;
 * distinct ones are independent.
 */
#ifndef KAFKA_PROTOCOL_RECORD_BATCH_H
#define KAFKA_PROTOCOL_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/compression.h"
#include "kafka/error.h"
#include "kafka/message.h"
#include "protocol/wire.h"

typedef struct kafka_compressor kafka_compressor; /* compress/compress.h */

/* ---- format constants ---------------------------------------------------- */

#define KAFKA_RECORD_BATCH_HEADER_SIZE 61 /* v2 header, up to the first record */
#define KAFKA_LOG_OVERHEAD 12             /* offset + length, every format */

#define KAFKA_ATTR_CODEC_MASK 0x07
#define KAFKA_ATTR_LOG_APPEND_TIME 0x08
#define KAFKA_ATTR_TRANSACTIONAL 0x10
#define KAFKA_ATTR_CONTROL 0x20
#define KAFKA_ATTR_DELETE_HORIZON 0x40

/* Control record types (the key of a control batch's only record). */
#define KAFKA_CONTROL_ABORT 0
#define KAFKA_CONTROL_COMMIT 1

/* Default cap on one batch's decompressed size. */
#define KAFKA_RECORDS_DEFAULT_MAX_DECOMPRESSED (64u * 1024 * 1024)

/* Record headers are the public kafka_header (kafka/message.h): key of
 * key_len bytes, value NULL for a null value. Encoding reads them as given by
 * the application; decoding fills them with views into the records. */

/* ---- encoding -------------------------------------------------------------- */

/* Batch-level settings. The zero value is NOT the no-producer default:
 * set producer_id = -1, producer_epoch = -1, base_sequence = -1 and
 * partition_leader_epoch = -1 for a plain (non-idempotent) producer, or use
 * kafka_batch_builder_config_default(). */
typedef struct kafka_batch_builder_config {
    int64_t base_offset;            /* 0 when producing */
    int32_t partition_leader_epoch; /* -1 when producing */
    kafka_codec codec;
    int compression_level; /* KAFKA_COMPRESSION_LEVEL_DEFAULT or 0 = default */
    int64_t producer_id;   /* -1 when not idempotent */
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional;
    bool control;         /* control batch: records must be control records */
    bool log_append_time; /* timestampType bit; producers leave it false */
    /* Optional reusable buffer for compression at finish; NULL = a
     * temporary one is allocated and freed inside finish. */
    kafka_wbuf *scratch;
} kafka_batch_builder_config;

typedef struct kafka_batch_builder {
    kafka_wbuf *out;
    size_t start; /* where this batch begins in out */
    kafka_batch_builder_config cfg;
    int32_t count;
    int64_t base_timestamp;
    int64_t max_timestamp;
    bool finished;
} kafka_batch_builder;

/* Defaults for a non-idempotent producer with no compression. */
kafka_batch_builder_config kafka_batch_builder_config_default(void);

/* Starts a batch at the end of `out`, reserving its 61-byte header. `out`
 * must outlive the builder; the builder keeps no other pointers. cfg is
 * copied. KAFKA_ERR_UNSUPPORTED_CODEC for an unknown codec, KAFKA_ERR_NOMEM. */
kafka_err kafka_batch_builder_init(kafka_batch_builder *b, kafka_wbuf *out, const kafka_batch_builder_config *cfg);

/* Appends one record: key/value of key_len/value_len bytes (-1 = null; the
 * pointer may then be NULL), `n_headers` headers. The bytes are copied into
 * `out`. The first record's timestamp becomes the batch's base timestamp.
 * KAFKA_ERR_INVALID_ARG for bad lengths or a finished builder,
 * KAFKA_ERR_TOO_LARGE when the batch would pass 2 GiB or INT32_MAX records,
 * KAFKA_ERR_NOMEM. On error the builder and out are unchanged. */
kafka_err kafka_batch_builder_append(kafka_batch_builder *b, int64_t timestamp_ms, const void *key, int32_t key_len,
                                     const void *value, int32_t value_len, const kafka_header *headers,
                                     size_t n_headers);

/* Where the key and value of a record WITHOUT headers lie in the
 * buffer it was appended to, from `end`, the offset just past the record,
 * and its key and value lengths (-1 = null, stored as nothing): a v2
 * record ends [keyLen varint][key][valueLen varint][value][headerCount 0].
 * For callers that remember where each record's fields are (the writer's
 * completion index) without decoding the batch again. Pure. */
static inline void kafka_record_kv_offsets(size_t end, int32_t key_len, int32_t value_len, size_t *key_off,
                                           size_t *value_off)
{
    size_t vlen = value_len > 0 ? (size_t)value_len : 0, klen = key_len > 0 ? (size_t)key_len : 0;
    *value_off = end - 1 - vlen;
    *key_off = *value_off - kafka_varint_size(value_len) - klen;
}

/* kafka_batch_builder_append(b, timestamp_ms, key, key_len, value,
 * value_len, NULL, 0), with the same arguments, results, output bytes and
 * thread-safety, for callers that append many header-less records (the
 * writer's per-message enqueue): the common case is inlined into the caller
 * and everything else goes through kafka_batch_builder_append. */
static inline kafka_err kafka_batch_builder_append_no_headers(kafka_batch_builder *b, int64_t timestamp_ms,
                                                              const void *key, int32_t key_len, const void *value,
                                                              int32_t value_len);

/* Finishes the batch: compresses the records if a codec is set, then fills
 * in length, lastOffsetDelta, timestamps, record count and the CRC32C.
 * A batch needs at least one record (KAFKA_ERR_INVALID_ARG otherwise).
 * On a compression error the records are left uncompressed and the batch
 * is unusable: truncate `out` to kafka_batch_builder_start(). */
kafka_err kafka_batch_builder_finish(kafka_batch_builder *b);

/* Finishes the batch into `dst` instead of in place: appends the complete
 * batch (header, records compressed with the batch's codec, length, CRC)
 * to dst at dst->len, and leaves `out` holding the records exactly as
 * appended (uncompressed), so that a caller can still read them there; it
 * also saves the in-place finish's scratch buffer and copy back. dst must
 * be another buffer than out. Afterwards the builder takes no more records,
 * and kafka_batch_builder_start/size keep describing `out` (the header
 * there is left incomplete: only dst holds a valid batch). On error dst is
 * unchanged (KAFKA_ERR_INVALID_ARG, KAFKA_ERR_NOMEM, KAFKA_ERR_TOO_LARGE,
 * KAFKA_ERR_COMPRESSION) and the builder may be finished again. z (may be
 * NULL) lends codec contexts kept between batches (compress/compress.h);
 * it is used during the call only. */
kafka_err kafka_batch_builder_finish_to(kafka_batch_builder *b, kafka_wbuf *dst, kafka_compressor *z);

/* Offset in `out` where this batch starts. */
static inline size_t kafka_batch_builder_start(const kafka_batch_builder *b) { return b->start; }

/* Records appended so far. */
static inline int32_t kafka_batch_builder_count(const kafka_batch_builder *b) { return b->count; }

/* Bytes of this batch so far (header + uncompressed records); after finish,
 * the final (possibly compressed) size. */
static inline size_t kafka_batch_builder_size(const kafka_batch_builder *b) { return b->out->len - b->start; }

/* Exact number of bytes kafka_batch_builder_append would add for this
 * record (uncompressed), so a writer can decide whether it still fits in
 * batch_bytes before appending it. Returns SIZE_MAX for invalid lengths. */
size_t kafka_batch_builder_record_size(const kafka_batch_builder *b, int64_t timestamp_ms, int32_t key_len,
                                       int32_t value_len, const kafka_header *headers, size_t n_headers);

/* Upper bound of the encoded size of a record with these lengths whatever
 * its timestamp and position (for sizing before a builder exists). */
size_t kafka_record_size_bound(int32_t key_len, int32_t value_len, const kafka_header *headers,
                               size_t n_headers);

/* Rewrites the producer id, epoch and base sequence of one finished v2
 * batch in place (batch[0..len) exactly one batch) and recomputes its CRC,
 * for an idempotent writer that learns or bumps its producer id after the
 * batch was built. KAFKA_ERR_CORRUPT if it is not a complete v2 batch. */
kafka_err kafka_record_batch_set_producer(uint8_t *batch, size_t len, int64_t producer_id, int16_t producer_epoch,
                                          int32_t base_sequence);

/* Sets the base offset and partition leader epoch of one finished v2
 * batch in place (batch[0..len) exactly one batch), as a broker does when
 * it appends a producer's batch to its log. Neither field is covered by
 * the CRC, so it stays valid. KAFKA_ERR_CORRUPT if it is not a complete v2
 * batch. */
kafka_err kafka_record_batch_set_base(uint8_t *batch, size_t len, int64_t base_offset, int32_t partition_leader_epoch);

/* Marks one finished v2 batch as stamped by the broker (a topic with
 * message.timestamp.type=LogAppendTime): sets the timestamp-type
 * attribute and the max timestamp, which readers then report as every
 * record's timestamp, and recomputes the CRC. KAFKA_ERR_CORRUPT if it is
 * not a complete v2 batch. */
kafka_err kafka_record_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t timestamp_ms);

/* The offset after the last complete batch of a records blob (a Fetch
 * partition's records: batches of any magic, the last one possibly
 * truncated), from the batch headers alone (no CRC check, no
 * decompression); -1 when it holds no complete batch. Offsets from the
 * wire are added with wrap-around, so a hostile base offset gives a
 * negative result, never undefined behaviour. Pure. */
int64_t kafka_records_next_offset(const uint8_t *data, size_t len);

/* Appends a complete control batch (one commit or abort marker, as a
 * transaction coordinator writes it) to `out`. type is KAFKA_CONTROL_*. */
kafka_err kafka_control_batch_encode(kafka_wbuf *out, int64_t base_offset, int64_t producer_id,
                                     int16_t producer_epoch, int16_t type, int32_t coordinator_epoch,
                                     int64_t timestamp_ms);

/* ---- inline fast path of kafka_batch_builder_append_no_headers -------------
 * Internals (the trailing underscore: not for callers). */

/* Largest zigzag value of a varint of at most three bytes, and the
 * batch size past which the fast path leaves the 2 GiB check to the general
 * path (a fast-path record is smaller than 2^21 bytes). */
#define KAFKA_BATCH_SMALL_VARINT_ (((uint32_t)1 << 21) - 1)
#define KAFKA_BATCH_SMALL_LIMIT_ ((size_t)INT32_MAX - ((size_t)1 << 21))

/* Bytes of the unsigned varint of z <= KAFKA_BATCH_SMALL_VARINT_ (1..3). */
static inline size_t kafka_batch_uvarint3_len_(uint32_t z)
{
#if defined(__GNUC__) || defined(__clang__)
    /* With i = floor(log2 z) (31 ^ clz, one bsr), (9i + 73) / 64 equals
     * ceil((i + 1) / 7): no branch, no loop. */
    return (9u * (31u ^ (unsigned)__builtin_clz(z | 1)) + 73u) >> 6;
#else
    return 1 + (size_t)(z > 0x7f) + (size_t)(z > 0x3fff);
#endif
}

/* Writes z <= KAFKA_BATCH_SMALL_VARINT_ as an unsigned varint; returns the end. */
static inline uint8_t *kafka_batch_put_uvarint3_(uint8_t *p, uint32_t z)
{
    if (z < 0x80) {
        p[0] = (uint8_t)z;
        return p + 1;
    }
    p[0] = (uint8_t)(z | 0x80);
    if (z < 0x4000) {
        p[1] = (uint8_t)(z >> 7);
        return p + 2;
    }
    p[1] = (uint8_t)((z >> 7) | 0x80);
    p[2] = (uint8_t)(z >> 14);
    return p + 3;
}

/* Appends a header-less record when the builder is open, the lengths are
 * valid, every varint of the record fits in three bytes (key and value
 * under 1 MiB, record count and |timestamp delta| under 2^20, record under
 * 1 MiB), the batch is far from 2 GiB and `out` already has room. Otherwise
 * returns false having changed nothing, and the caller must use the general
 * path, which decides every other case and reports every error. The bytes
 * are the same as the general path's. */
__attribute__((always_inline)) static inline bool
kafka_batch_builder_try_append_small_(kafka_batch_builder *b, int64_t timestamp_ms, const void *key, int32_t key_len,
                                      const void *value, int32_t value_len)
{
    int32_t n = b->count;
    /* The first record's timestamp becomes the base: its delta is 0.
     * Unsigned subtraction: extreme timestamps wrap instead of overflowing. */
    int64_t delta = (int64_t)((uint64_t)timestamp_ms - (uint64_t)(n ? b->base_timestamp : timestamp_ms));
    uint64_t zts = kafka_zigzag64(delta);
    /* -1 (null) maps to 0; lengths below -1 wrap to huge values. */
    uint32_t kp1 = (uint32_t)key_len + 1, vp1 = (uint32_t)value_len + 1;
    if (b->finished || ((kp1 | vp1 | (uint32_t)n) > KAFKA_BATCH_SMALL_VARINT_ / 2) ||
        zts > KAFKA_BATCH_SMALL_VARINT_ || (key_len > 0 && !key) || (value_len > 0 && !value))
        return false;
    size_t klen = key_len > 0 ? (size_t)key_len : 0, vlen = value_len > 0 ? (size_t)value_len : 0;
    /* The body (everything after the length varint) is the key and value
     * bytes plus 6 to 14 bytes: attributes and header count, one byte each,
     * and four varints of one to three bytes. Unless key + value is within
     * 8 bytes below 58 or 8178, the width of the length varint is the same
     * at both ends, so the fields are written right after it without
     * computing their sizes first, and measured afterwards. */
    size_t kv = klen + vlen;
    if (kv > KAFKA_BATCH_SMALL_VARINT_ / 2 - 14)
        return false;
    size_t lw = kafka_batch_uvarint3_len_((uint32_t)(kv + 6) << 1);
    if (lw != kafka_batch_uvarint3_len_((uint32_t)(kv + 14) << 1)) {
        /* near a width boundary: the exact body size decides */
        size_t body = 2 + kv + kafka_batch_uvarint3_len_((uint32_t)zts) + kafka_batch_uvarint3_len_((uint32_t)n << 1) +
                      kafka_batch_uvarint3_len_(key_len < 0 ? 1 : (uint32_t)key_len << 1) +
                      kafka_batch_uvarint3_len_(value_len < 0 ? 1 : (uint32_t)value_len << 1);
        lw = kafka_batch_uvarint3_len_((uint32_t)body << 1);
    }
    kafka_wbuf *out = b->out;
    if (out->oom || out->cap - out->len < lw + 14 + kv || out->len - b->start > KAFKA_BATCH_SMALL_LIMIT_)
        return false;

    uint8_t *rec = out->data + out->len, *p = rec + lw;
    *p++ = 0; /* record attributes: unused */
    p = kafka_batch_put_uvarint3_(p, (uint32_t)zts);
    p = kafka_batch_put_uvarint3_(p, (uint32_t)n << 1);
    if (key_len < 0) {
        *p++ = 1; /* zigzag(-1) */
    } else {
        p = kafka_batch_put_uvarint3_(p, (uint32_t)key_len << 1);
        if (klen) {
            memcpy(p, key, klen);
            p += klen;
        }
    }
    if (value_len < 0) {
        *p++ = 1;
    } else {
        p = kafka_batch_put_uvarint3_(p, (uint32_t)value_len << 1);
        if (vlen) {
            memcpy(p, value, vlen);
            p += vlen;
        }
    }
    *p++ = 0; /* header count */
    (void)kafka_batch_put_uvarint3_(rec, (uint32_t)(p - rec - lw) << 1); /* exactly lw bytes */
    out->len += (size_t)(p - rec);
    if (n == 0)
        b->base_timestamp = b->max_timestamp = timestamp_ms;
    else if (timestamp_ms > b->max_timestamp)
        b->max_timestamp = timestamp_ms;
    b->count = n + 1;
    return true;
}

static inline kafka_err kafka_batch_builder_append_no_headers(kafka_batch_builder *b, int64_t timestamp_ms,
                                                              const void *key, int32_t key_len, const void *value,
                                                              int32_t value_len)
{
    if (b && kafka_batch_builder_try_append_small_(b, timestamp_ms, key, key_len, value, value_len))
        return 0;
    return kafka_batch_builder_append(b, timestamp_ms, key, key_len, value, value_len, NULL, 0);
}

/* ---- decoding -------------------------------------------------------------- */

/* One batch as found in the input. For magic 0/1, one shallow message is
 * presented as a batch: uncompressed ones hold one record; a compressed
 * wrapper holds its inner messages with absolute offsets. */
typedef struct kafka_record_batch {
    int64_t base_offset;
    int32_t length; /* batchLength / message size as on the wire */
    int32_t partition_leader_epoch; /* -1 for v0/v1 */
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    kafka_codec codec;
    bool log_append_time;
    bool transactional;
    bool control;
    int32_t last_offset_delta;
    int64_t base_timestamp; /* -1 for v0 */
    int64_t max_timestamp;
    int64_t producer_id; /* -1 for v0/v1 */
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
    /* The whole batch as on the wire (points into the input). */
    const uint8_t *raw;
    size_t raw_len;
} kafka_record_batch;

/* One record as views. */
typedef struct kafka_record {
    int64_t offset;
    int64_t timestamp;
    int8_t attributes;
    kafka_bytes key;   /* len -1 = null */
    kafka_bytes value; /* len -1 = null */
    int32_t header_count;
    const uint8_t *headers; /* encoded headers, already validated */
    size_t headers_len;
} kafka_record;

typedef struct kafka_records_iter_config {
    bool skip_crc_check; /* zero value: CRCs are verified */
    size_t max_decompressed; /* 0 = KAFKA_RECORDS_DEFAULT_MAX_DECOMPRESSED */
    /* Caller-owned buffer for decompressed batches (reset, grown and reused
     * as needed); NULL = the iterator owns one, released by
     * kafka_records_iter_free. */
    kafka_wbuf *scratch;
} kafka_records_iter_config;

typedef struct kafka_records_iter {
    kafka_rbuf in; /* what follows the current batch */
    kafka_records_iter_config cfg;
    kafka_wbuf own_scratch;
    kafka_record_batch batch; /* the current batch */
    bool in_batch;
    kafka_rbuf recs;      /* records not yet returned of the current batch */
    int32_t recs_left;
    int64_t legacy_offset_adjust; /* v1 compressed: absolute = relative + adjust */
    bool legacy_relative;
    bool truncated;      /* a partial batch at the end was ignored */
    kafka_err err;       /* sticky: first error */
    const char *err_field;
} kafka_records_iter;

/* Prepares to walk data[0..len). The data must outlive every view handed
 * out from it. cfg may be NULL (defaults); it is copied. Never fails. */
void kafka_records_iter_init(kafka_records_iter *it, const void *data, size_t len,
                             const kafka_records_iter_config *cfg);

/* Releases the iterator's own scratch buffer (not a caller-provided one). */
void kafka_records_iter_free(kafka_records_iter *it);

/* Advances to the next batch, skipping any records of the current one
 * that were not read. Returns 1 and sets *out (valid until the next call),
 * 0 at the end (a trailing partial batch sets it->truncated), or a negative
 * kafka_err; errors are sticky and it->err_field names the failed field. */
int kafka_records_iter_next_batch(kafka_records_iter *it, const kafka_record_batch **out);

/* Next record of the current batch: 1 and *rec filled, 0 when the batch has
 * no more records, or a negative kafka_err. */
int kafka_records_iter_next_record(kafka_records_iter *it, kafka_record *rec);

/* Next record across batches (moves to the next batch when one is used up,
 * including control batches: check it->batch.control). 1, 0 at the end, or
 * a negative kafka_err. */
int kafka_records_iter_next(kafka_records_iter *it, kafka_record *rec);

/* Iterates a record's headers: start with *pos = 0; returns true and fills
 * *h while there is one. Headers were validated when the record was read. */
bool kafka_record_header_next(const kafka_record *rec, size_t *pos, kafka_header *h);

/* Parses a control record (a record of a control batch): key = version
 * int16 + type int16; value = version int16 + coordinator epoch int32.
 * KAFKA_ERR_CORRUPT when it is not one. */
kafka_err kafka_control_record_parse(const kafka_record *rec, int16_t *type, int32_t *coordinator_epoch);

#endif /* KAFKA_PROTOCOL_RECORD_BATCH_H */
