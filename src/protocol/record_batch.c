/*
 * Record batch v2 encoder and the records iterator (v2 batches and v0/v1
 * message sets). Layout facts: Kafka's "message format" documentation.
 *
 * v2 batch header, byte offsets from the batch start:
 *   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 |
 *   16 magic i8 | 17 crc u32 (CRC32C of bytes 21..end) | 21 attributes i16 |
 *   23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
 *   43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 |
 *   57 recordCount i32 | 61 records...
 * v0/v1 message: offset i64 | size i32 | crc u32 (CRC32 of magic..end) |
 *   magic i8 | attributes i8 | [timestamp i64, v1 only] | key bytes | value bytes
 */
#include "protocol/record_batch.h"

#include "compress/compress.h"
#include "protocol/crc32c.h"

enum {
    OFF_LENGTH = 8,
    OFF_LEADER_EPOCH = 12,
    OFF_MAGIC = 16,
    OFF_CRC = 17,
    OFF_ATTRIBUTES = 21,
    OFF_LAST_OFFSET_DELTA = 23,
    OFF_BASE_TIMESTAMP = 27,
    OFF_MAX_TIMESTAMP = 35,
    OFF_PRODUCER_ID = 43,
    OFF_PRODUCER_EPOCH = 51,
    OFF_BASE_SEQUENCE = 53,
    OFF_RECORD_COUNT = 57,
    /* smallest v2 record: length, attributes, ts delta, offset delta, key
     * length, value length, header count: one byte each */
    MIN_RECORD_SIZE = 7,
    /* v0 message after offset+size: crc 4, magic 1, attributes 1, key len 4,
     * value len 4 */
    LEGACY_MIN_SIZE_V0 = 14,
    LEGACY_MIN_SIZE_V1 = 22,
};

static void write_u64_at(uint8_t *p, uint64_t v)
{
    kafka_write_u32_at(p, (uint32_t)(v >> 32));
    kafka_write_u32_at(p + 4, (uint32_t)v);
}

static void write_u16_at(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint64_t read_u64_at(const uint8_t *p)
{
    return ((uint64_t)kafka_read_u32_at(p) << 32) | kafka_read_u32_at(p + 4);
}

static uint16_t read_u16_at(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

/* Two's-complement wrapping arithmetic without signed-overflow UB: hostile
 * or extreme timestamps wrap the same way on encode and decode. */
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* A record's offset as a consumer can use it: not negative (a wrapped
 * base + delta) and not INT64_MAX, whose successor (the next fetch
 * position every consumer computes) does not exist. */
static bool record_offset_ok(int64_t off) { return off >= 0 && off < INT64_MAX; }

/* ======================================================================
 * Encoding
 * ====================================================================== */

kafka_batch_builder_config kafka_batch_builder_config_default(void)
{
    return (kafka_batch_builder_config){
        .partition_leader_epoch = -1,
        .codec = KAFKA_CODEC_NONE,
        .compression_level = KAFKA_COMPRESSION_LEVEL_DEFAULT,
        .producer_id = -1,
        .producer_epoch = -1,
        .base_sequence = -1,
    };
}

static int16_t builder_attributes(const kafka_batch_builder_config *c)
{
    int16_t a = (int16_t)(c->codec & KAFKA_ATTR_CODEC_MASK);
    if (c->log_append_time)
        a |= KAFKA_ATTR_LOG_APPEND_TIME;
    if (c->transactional)
        a |= KAFKA_ATTR_TRANSACTIONAL;
    if (c->control)
        a |= KAFKA_ATTR_CONTROL;
    return a;
}

kafka_err kafka_batch_builder_init(kafka_batch_builder *b, kafka_wbuf *out, const kafka_batch_builder_config *cfg)
{
    if (!b || !out || !cfg)
        return KAFKA_ERR_INVALID_ARG;
    if ((unsigned)cfg->codec > KAFKA_CODEC_ZSTD)
        return KAFKA_ERR_UNSUPPORTED_CODEC;
    *b = (kafka_batch_builder){.out = out, .start = out->len, .cfg = *cfg};
    if (!kafka_wbuf_reserve(out, KAFKA_RECORD_BATCH_HEADER_SIZE))
        return KAFKA_ERR_NOMEM;
    /* Fields known now are written now; length, CRC, lastOffsetDelta,
     * timestamps and count are patched in by finish. */
    uint8_t *h = out->data + out->len;
    memset(h, 0, KAFKA_RECORD_BATCH_HEADER_SIZE);
    write_u64_at(h, (uint64_t)cfg->base_offset);
    kafka_write_u32_at(h + OFF_LEADER_EPOCH, (uint32_t)cfg->partition_leader_epoch);
    h[OFF_MAGIC] = 2;
    write_u16_at(h + OFF_ATTRIBUTES, (uint16_t)builder_attributes(cfg));
    write_u64_at(h + OFF_PRODUCER_ID, (uint64_t)cfg->producer_id);
    write_u16_at(h + OFF_PRODUCER_EPOCH, (uint16_t)cfg->producer_epoch);
    kafka_write_u32_at(h + OFF_BASE_SEQUENCE, (uint32_t)cfg->base_sequence);
    out->len += KAFKA_RECORD_BATCH_HEADER_SIZE;
    return 0;
}

/* ---- record encoding -------------------------------------------------------
 *
 * A record is: length varint | attributes i8 | timestamp delta varint |
 * offset delta varint | key length varint | key | value length varint |
 * value | header count varint | headers. Every varint is zigzag-encoded.
 * plan_record computes each varint's size once; append checks, reserves and
 * writes with those numbers (one capacity check, raw stores), and
 * kafka_batch_builder_record_size reports them, so the prediction and the
 * bytes written cannot disagree. */

/* Bytes of the unsigned varint of z (1..10): one per started group of 7
 * significant bits. (bits * 9 + 64) / 64 equals ceil(bits / 7) for every
 * bits in 1..64, so this is a few instructions without a loop. */
static inline size_t uvarint_len(uint64_t z)
{
#if defined(__GNUC__) || defined(__clang__)
    unsigned bits = 64u - (unsigned)__builtin_clzll(z | 1);
    return (bits * 9u + 64u) / 64u;
#else
    return kafka_uvarint_size(z);
#endif
}

/* Writes the unsigned varint z at p (room for 10 bytes); returns the end.
 * One- and two-byte varints, which are nearly all of a batch's lengths,
 * deltas and counts, are stored without the loop. */
static inline uint8_t *put_uvarint(uint8_t *p, uint64_t z)
{
    if (z < 0x80) {
        p[0] = (uint8_t)z;
        return p + 1;
    }
    if (z < 0x4000) {
        p[0] = (uint8_t)(z | 0x80);
        p[1] = (uint8_t)(z >> 7);
        return p + 2;
    }
    return p + kafka_uvarint_encode(p, z);
}

/* A length-prefixed field (key, value, header key or value): zigzag
 * length, -1 for null, then the bytes. len is -1 or 0..INT32_MAX. */
static inline uint8_t *put_field(uint8_t *p, const void *data, int64_t len)
{
    if (len <= 0) {
        p[0] = len < 0 ? 1 : 0; /* zigzag(-1) = 1, zigzag(0) = 0 */
        return p + 1;
    }
    p = put_uvarint(p, (uint64_t)len << 1);
    memcpy(p, data, (size_t)len);
    return p + len;
}

/* Encoded size of a key or value field of len bytes (-1 = null). */
static inline uint64_t field_size(int64_t len)
{
    return len < 0 ? 1 : uvarint_len((uint64_t)len << 1) + (uint64_t)len;
}

/* Size of the headers part of a record (count + each header), or UINT64_MAX
 * for an invalid header. At most INT32_MAX headers of at most
 * 2 x (5 + INT32_MAX) bytes each: the sum stays below 2^64 and never wraps. */
static uint64_t headers_size(const kafka_header *headers, size_t n)
{
    if (n > INT32_MAX || (n && !headers))
        return UINT64_MAX;
    uint64_t sz = uvarint_len((uint64_t)n << 1);
    for (size_t i = 0; i < n; i++) {
        const kafka_header *h = &headers[i];
        if (h->key_len > INT32_MAX || h->value_len > INT32_MAX || (h->key_len && !h->key))
            return UINT64_MAX;
        sz += field_size((int64_t)h->key_len);
        sz += h->value ? field_size((int64_t)h->value_len) : 1; /* varint -1 */
    }
    return sz;
}

static uint8_t *put_headers(uint8_t *p, const kafka_header *headers, size_t n)
{
    p = put_uvarint(p, (uint64_t)n << 1);
    for (size_t i = 0; i < n; i++) {
        p = put_field(p, headers[i].key, (int64_t)headers[i].key_len);
        p = put_field(p, headers[i].value, headers[i].value ? (int64_t)headers[i].value_len : -1);
    }
    return p;
}

/* One record's numbers, computed once per append. */
typedef struct rec_plan {
    uint64_t ts_zz; /* zigzag timestamp delta */
    uint64_t body;  /* bytes after the length varint */
    uint64_t total; /* length varint + body */
} rec_plan;

/* key_len/value_len are -1..INT32_MAX and hdr_size comes from
 * headers_size, so body and total cannot wrap (see headers_size); a body
 * at or past 2^63 gives a wrong length-varint size, but such a record is
 * far past the 2 GiB batch limit and is refused anyway. */
static inline rec_plan plan_record(const kafka_batch_builder *b, int64_t timestamp_ms, int32_t key_len,
                                   int32_t value_len, uint64_t hdr_size)
{
    /* The first record's timestamp becomes the base: its delta is 0. */
    int64_t base = b->count ? b->base_timestamp : timestamp_ms;
    rec_plan r;
    r.ts_zz = kafka_zigzag64(wrap_sub(timestamp_ms, base));
    r.body = 1 /* attributes */ + uvarint_len(r.ts_zz) + uvarint_len((uint64_t)b->count << 1) +
             field_size(key_len) + field_size(value_len) + hdr_size;
    r.total = uvarint_len(r.body << 1) + r.body;
    return r;
}

static bool valid_len(int32_t len, const void *p) { return len >= -1 && (len <= 0 || p != NULL); }

size_t kafka_batch_builder_record_size(const kafka_batch_builder *b, int64_t timestamp_ms, int32_t key_len,
                                       int32_t value_len, const kafka_header *headers, size_t n_headers)
{
    if (key_len < -1 || value_len < -1)
        return SIZE_MAX;
    uint64_t hs = headers_size(headers, n_headers);
    if (hs == UINT64_MAX)
        return SIZE_MAX;
    uint64_t total = plan_record(b, timestamp_ms, key_len, value_len, hs).total;
    return total > SIZE_MAX ? SIZE_MAX : (size_t)total;
}

size_t kafka_record_size_bound(int32_t key_len, int32_t value_len, const kafka_header *headers, size_t n_headers)
{
    if (key_len < -1 || value_len < -1)
        return SIZE_MAX;
    uint64_t hs = headers_size(headers, n_headers);
    if (hs == UINT64_MAX)
        return SIZE_MAX;
    /* 10-byte timestamp delta and 5-byte offset delta are the maxima. */
    uint64_t body = 1 + 10 + 5 + field_size(key_len) + field_size(value_len) + hs;
    uint64_t total = uvarint_len(body << 1) + body;
    return total > SIZE_MAX ? SIZE_MAX : (size_t)total;
}

/* Updates the batch's timestamps and count after a record was appended. */
static inline void note_appended(kafka_batch_builder *b, int64_t timestamp_ms)
{
    if (b->count == 0) {
        b->base_timestamp = b->max_timestamp = timestamp_ms;
    } else if (timestamp_ms > b->max_timestamp) {
        b->max_timestamp = timestamp_ms;
    }
    b->count++;
}

/* Every case of kafka_batch_builder_append: validation, errors, headers,
 * large records. Kept out of line so that the fast path's caller stays
 * small. */
__attribute__((noinline)) static kafka_err append_general(kafka_batch_builder *b, int64_t timestamp_ms,
                                                          const void *key, int32_t key_len, const void *value,
                                                          int32_t value_len, const kafka_header *headers,
                                                          size_t n_headers)
{
    if (!b || b->finished || !valid_len(key_len, key) || !valid_len(value_len, value))
        return KAFKA_ERR_INVALID_ARG;
    if (b->count == INT32_MAX)
        return KAFKA_ERR_TOO_LARGE;
    uint64_t hs = 1; /* no headers: a zero count */
    if (n_headers) {
        hs = headers_size(headers, n_headers);
        if (hs == UINT64_MAX)
            return KAFKA_ERR_INVALID_ARG;
    }
    rec_plan r = plan_record(b, timestamp_ms, key_len, value_len, hs);
    kafka_wbuf *out = b->out;
    /* batchLength is an int32 counted from byte 12. */
    if (r.total > (uint64_t)INT32_MAX - (out->len - b->start - KAFKA_LOG_OVERHEAD))
        return KAFKA_ERR_TOO_LARGE;
    if (!kafka_wbuf_reserve(out, (size_t)r.total))
        return KAFKA_ERR_NOMEM;

    uint8_t *p = out->data + out->len;
    p = put_uvarint(p, r.body << 1);
    *p++ = 0; /* record attributes: unused */
    p = put_uvarint(p, r.ts_zz);
    p = put_uvarint(p, (uint64_t)b->count << 1);
    p = put_field(p, key, key_len);
    p = put_field(p, value, value_len);
    if (n_headers == 0)
        *p = 0;
    else
        (void)put_headers(p, headers, n_headers);
    out->len += (size_t)r.total;
    note_appended(b, timestamp_ms);
    return 0;
}

kafka_err kafka_batch_builder_append(kafka_batch_builder *b, int64_t timestamp_ms, const void *key, int32_t key_len,
                                     const void *value, int32_t value_len, const kafka_header *headers,
                                     size_t n_headers)
{
    /* Header-less records of ordinary size: the inline fast path. */
    if (n_headers == 0 && b && kafka_batch_builder_try_append_small_(b, timestamp_ms, key, key_len, value, value_len))
        return 0;
    return append_general(b, timestamp_ms, key, key_len, value, value_len, headers, n_headers);
}

/* Replaces the uncompressed records after the header with their
 * compressed form. */
static kafka_err compress_records(kafka_batch_builder *b)
{
    kafka_wbuf tmp;
    kafka_wbuf *scratch = b->cfg.scratch;
    if (!scratch) {
        kafka_wbuf_init(&tmp);
        scratch = &tmp;
    }
    scratch->len = 0;
    size_t recs = b->start + KAFKA_RECORD_BATCH_HEADER_SIZE;
    int level = b->cfg.compression_level ? b->cfg.compression_level : KAFKA_COMPRESSION_LEVEL_DEFAULT;
    kafka_err err = kafka_compress(b->cfg.codec, level, b->out->data + recs, b->out->len - recs, scratch);
    if (!err) {
        if (scratch->len > (size_t)INT32_MAX - (KAFKA_RECORD_BATCH_HEADER_SIZE - KAFKA_LOG_OVERHEAD)) {
            err = KAFKA_ERR_TOO_LARGE;
        } else {
            b->out->len = recs;
            kafka_put_raw(b->out, scratch->data, scratch->len);
            if (b->out->oom)
                err = KAFKA_ERR_NOMEM;
        }
    }
    if (scratch == &tmp)
        kafka_wbuf_free(&tmp);
    return err;
}

/* Fills in the header fields known only at the end (length,
 * lastOffsetDelta, timestamps, count) and the CRC32C of the complete batch
 * h[0..size). */
static void seal_header(const kafka_batch_builder *b, uint8_t *h, size_t size)
{
    kafka_write_u32_at(h + OFF_LENGTH, (uint32_t)(size - KAFKA_LOG_OVERHEAD));
    kafka_write_u32_at(h + OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
    write_u64_at(h + OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    write_u64_at(h + OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    kafka_write_u32_at(h + OFF_RECORD_COUNT, (uint32_t)b->count);
    kafka_write_u32_at(h + OFF_CRC, kafka_crc32c(0, h + OFF_ATTRIBUTES, size - OFF_ATTRIBUTES));
}

kafka_err kafka_batch_builder_finish(kafka_batch_builder *b)
{
    if (!b || b->finished || b->count == 0)
        return KAFKA_ERR_INVALID_ARG;
    if (b->out->oom)
        return KAFKA_ERR_NOMEM;
    if (b->cfg.codec != KAFKA_CODEC_NONE) {
        kafka_err err = compress_records(b);
        if (err)
            return err;
    }
    seal_header(b, b->out->data + b->start, b->out->len - b->start);
    b->finished = true;
    return 0;
}

kafka_err kafka_batch_builder_finish_to(kafka_batch_builder *b, kafka_wbuf *dst, kafka_compressor *z)
{
    if (!b || !dst || dst == b->out || b->finished || b->count == 0)
        return KAFKA_ERR_INVALID_ARG;
    if (b->out->oom || dst->oom)
        return KAFKA_ERR_NOMEM;
    size_t at = dst->len, recs = b->start + KAFKA_RECORD_BATCH_HEADER_SIZE;
    /* The header as init wrote it; seal_header completes it in dst. */
    kafka_put_raw(dst, b->out->data + b->start, KAFKA_RECORD_BATCH_HEADER_SIZE);
    int level = b->cfg.compression_level ? b->cfg.compression_level : KAFKA_COMPRESSION_LEVEL_DEFAULT;
    /* Compresses straight into dst (KAFKA_CODEC_NONE copies): no scratch
     * buffer and no copy back, unlike the in-place finish. */
    kafka_err err = dst->oom ? KAFKA_ERR_NOMEM
                             : kafka_compress_with(z, b->cfg.codec, level, b->out->data + recs, b->out->len - recs, dst);
    if (!err && dst->len - at - KAFKA_LOG_OVERHEAD > (size_t)INT32_MAX)
        err = KAFKA_ERR_TOO_LARGE;
    if (err) {
        dst->len = at;
        dst->oom = false;
        return err;
    }
    seal_header(b, dst->data + at, dst->len - at);
    b->finished = true;
    return 0;
}

int64_t kafka_records_next_offset(const uint8_t *data, size_t len)
{
    int64_t next = -1;
    size_t pos = 0;
    while (len - pos >= KAFKA_LOG_OVERHEAD) {
        const uint8_t *p = data + pos;
        int64_t base = (int64_t)(((uint64_t)kafka_read_u32_at(p) << 32) | kafka_read_u32_at(p + 4));
        int32_t length = (int32_t)kafka_read_u32_at(p + OFF_LENGTH);
        if (length < 5 || (size_t)length > len - pos - KAFKA_LOG_OVERHEAD)
            break;
        int8_t magic = (int8_t)p[OFF_MAGIC];
        if (magic == 2) {
            if (length < KAFKA_RECORD_BATCH_HEADER_SIZE - KAFKA_LOG_OVERHEAD)
                break;
            int32_t lod = (int32_t)kafka_read_u32_at(p + OFF_LAST_OFFSET_DELTA);
            if (lod < 0)
                break;
            /* Wrapping: base and lod come from the wire and may overflow
             * int64 (then next wraps negative: nothing is queued). */
            next = (int64_t)((uint64_t)base + (uint64_t)lod + 1u);
        } else {
            /* v0/v1: a wrapper message carries its last inner offset. */
            next = (int64_t)((uint64_t)base + 1u); /* wrapping, as above */
        }
        pos += KAFKA_LOG_OVERHEAD + (size_t)length;
    }
    return next;
}

kafka_err kafka_record_batch_set_producer(uint8_t *batch, size_t len, int64_t producer_id, int16_t producer_epoch,
                                          int32_t base_sequence)
{
    if (!batch || len < KAFKA_RECORD_BATCH_HEADER_SIZE || batch[OFF_MAGIC] != 2 ||
        kafka_read_u32_at(batch + OFF_LENGTH) != len - KAFKA_LOG_OVERHEAD)
        return KAFKA_ERR_CORRUPT;
    write_u64_at(batch + OFF_PRODUCER_ID, (uint64_t)producer_id);
    write_u16_at(batch + OFF_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    kafka_write_u32_at(batch + OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    kafka_write_u32_at(batch + OFF_CRC, kafka_crc32c(0, batch + OFF_ATTRIBUTES, len - OFF_ATTRIBUTES));
    return 0;
}

kafka_err kafka_record_batch_set_base(uint8_t *batch, size_t len, int64_t base_offset, int32_t partition_leader_epoch)
{
    if (!batch || len < KAFKA_RECORD_BATCH_HEADER_SIZE || batch[OFF_MAGIC] != 2 ||
        kafka_read_u32_at(batch + OFF_LENGTH) != len - KAFKA_LOG_OVERHEAD)
        return KAFKA_ERR_CORRUPT;
    write_u64_at(batch, (uint64_t)base_offset);
    kafka_write_u32_at(batch + OFF_LEADER_EPOCH, (uint32_t)partition_leader_epoch);
    return 0;
}

kafka_err kafka_record_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t timestamp_ms)
{
    if (!batch || len < KAFKA_RECORD_BATCH_HEADER_SIZE || batch[OFF_MAGIC] != 2 ||
        kafka_read_u32_at(batch + OFF_LENGTH) != len - KAFKA_LOG_OVERHEAD)
        return KAFKA_ERR_CORRUPT;
    uint16_t attrs = (uint16_t)(((uint16_t)batch[OFF_ATTRIBUTES] << 8) | batch[OFF_ATTRIBUTES + 1]);
    write_u16_at(batch + OFF_ATTRIBUTES, (uint16_t)(attrs | KAFKA_ATTR_LOG_APPEND_TIME));
    write_u64_at(batch + OFF_MAX_TIMESTAMP, (uint64_t)timestamp_ms);
    kafka_write_u32_at(batch + OFF_CRC, kafka_crc32c(0, batch + OFF_ATTRIBUTES, len - OFF_ATTRIBUTES));
    return 0;
}

kafka_err kafka_control_batch_encode(kafka_wbuf *out, int64_t base_offset, int64_t producer_id,
                                     int16_t producer_epoch, int16_t type, int32_t coordinator_epoch,
                                     int64_t timestamp_ms)
{
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.base_offset = base_offset;
    cfg.producer_id = producer_id;
    cfg.producer_epoch = producer_epoch;
    cfg.transactional = true;
    cfg.control = true;
    uint8_t key[4], value[6];
    write_u16_at(key, 0); /* control record key version */
    write_u16_at(key + 2, (uint16_t)type);
    write_u16_at(value, 0); /* end transaction marker version */
    kafka_write_u32_at(value + 2, (uint32_t)coordinator_epoch);
    size_t start = out->len;
    kafka_batch_builder b;
    kafka_err err = kafka_batch_builder_init(&b, out, &cfg);
    if (!err)
        err = kafka_batch_builder_append(&b, timestamp_ms, key, 4, value, 6, NULL, 0);
    if (!err)
        err = kafka_batch_builder_finish(&b);
    if (err && out->len > start)
        out->len = start;
    return err;
}

/* ======================================================================
 * Decoding
 * ====================================================================== */

/* kafka_rbuf_init(NULL, 0) would compute NULL + 0, which C leaves
 * undefined: empty inputs point here instead. */
static const uint8_t empty_input[1];

static void rbuf_init_safe(kafka_rbuf *r, const void *data, size_t len)
{
    if (!data)
        kafka_rbuf_init(r, empty_input, 0);
    else
        kafka_rbuf_init(r, data, len);
}

void kafka_records_iter_init(kafka_records_iter *it, const void *data, size_t len,
                             const kafka_records_iter_config *cfg)
{
    memset(it, 0, sizeof *it);
    rbuf_init_safe(&it->in, data, len);
    if (cfg)
        it->cfg = *cfg;
    if (!it->cfg.max_decompressed)
        it->cfg.max_decompressed = KAFKA_RECORDS_DEFAULT_MAX_DECOMPRESSED;
    kafka_wbuf_init(&it->own_scratch);
    rbuf_init_safe(&it->recs, NULL, 0);
}

void kafka_records_iter_free(kafka_records_iter *it)
{
    if (it)
        kafka_wbuf_free(&it->own_scratch);
}

static int iter_fail(kafka_records_iter *it, kafka_err err, const char *field)
{
    if (!it->err) {
        it->err = err;
        it->err_field = field;
    }
    it->in_batch = false;
    return it->err;
}

static int iter_fail_rbuf(kafka_records_iter *it, const kafka_rbuf *r) { return iter_fail(it, r->err, r->field); }

/* Decompresses [p, p+n) into the scratch buffer and points `recs` at it. */
static int decompress_into_scratch(kafka_records_iter *it, kafka_codec codec, const uint8_t *p, size_t n,
                                   const char *field)
{
    kafka_wbuf *s = it->cfg.scratch ? it->cfg.scratch : &it->own_scratch;
    s->len = 0;
    s->oom = false;
    kafka_err err = kafka_decompress(codec, p, n, it->cfg.max_decompressed, s);
    if (err)
        return iter_fail(it, err, field);
    rbuf_init_safe(&it->recs, s->data, s->len);
    return 0;
}

static int open_v2_batch(kafka_records_iter *it, const uint8_t *p, size_t size)
{
    kafka_record_batch *bt = &it->batch;
    if (size < KAFKA_RECORD_BATCH_HEADER_SIZE)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "batchLength");
    bt->crc = kafka_read_u32_at(p + OFF_CRC);
    if (!it->cfg.skip_crc_check && kafka_crc32c(0, p + OFF_ATTRIBUTES, size - OFF_ATTRIBUTES) != bt->crc)
        return iter_fail(it, KAFKA_ERR_CRC_MISMATCH, "crc");
    bt->partition_leader_epoch = (int32_t)kafka_read_u32_at(p + OFF_LEADER_EPOCH);
    bt->attributes = (int16_t)read_u16_at(p + OFF_ATTRIBUTES);
    bt->codec = (kafka_codec)(bt->attributes & KAFKA_ATTR_CODEC_MASK);
    bt->log_append_time = (bt->attributes & KAFKA_ATTR_LOG_APPEND_TIME) != 0;
    bt->transactional = (bt->attributes & KAFKA_ATTR_TRANSACTIONAL) != 0;
    bt->control = (bt->attributes & KAFKA_ATTR_CONTROL) != 0;
    bt->last_offset_delta = (int32_t)kafka_read_u32_at(p + OFF_LAST_OFFSET_DELTA);
    bt->base_timestamp = (int64_t)read_u64_at(p + OFF_BASE_TIMESTAMP);
    bt->max_timestamp = (int64_t)read_u64_at(p + OFF_MAX_TIMESTAMP);
    bt->producer_id = (int64_t)read_u64_at(p + OFF_PRODUCER_ID);
    bt->producer_epoch = (int16_t)read_u16_at(p + OFF_PRODUCER_EPOCH);
    bt->base_sequence = (int32_t)kafka_read_u32_at(p + OFF_BASE_SEQUENCE);
    bt->record_count = (int32_t)kafka_read_u32_at(p + OFF_RECORD_COUNT);
    if (bt->record_count < 0)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "recordCount");
    if (bt->codec > KAFKA_CODEC_ZSTD)
        return iter_fail(it, KAFKA_ERR_UNSUPPORTED_CODEC, "attributes");

    const uint8_t *recs = p + KAFKA_RECORD_BATCH_HEADER_SIZE;
    size_t recs_len = size - KAFKA_RECORD_BATCH_HEADER_SIZE;
    if (bt->codec == KAFKA_CODEC_NONE) {
        kafka_rbuf_init(&it->recs, recs, recs_len);
    } else {
        int rc = decompress_into_scratch(it, bt->codec, recs, recs_len, "records");
        if (rc)
            return rc;
    }
    /* The count is only a claim: it must fit in the bytes we have. */
    if ((uint64_t)bt->record_count > kafka_rbuf_remaining(&it->recs) / MIN_RECORD_SIZE)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "recordCount");
    it->recs_left = bt->record_count;
    it->legacy_relative = false;
    return 0;
}

/* ---- legacy (v0/v1) messages ---------------------------------------------- */

typedef struct legacy_msg {
    int64_t offset;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp;
    kafka_bytes key;
    kafka_bytes value;
} legacy_msg;

/* Parses one complete legacy message (offset..end) of `size` bytes after
 * the 12-byte log overhead, checking its CRC32 unless told not to. */
static kafka_err parse_legacy(const uint8_t *p, size_t size, bool check_crc, legacy_msg *m, const char **field)
{
    kafka_rbuf r;
    kafka_rbuf_init(&r, p, KAFKA_LOG_OVERHEAD + size);
    m->offset = kafka_get_i64(&r, "offset");
    kafka_skip(&r, 4, "messageSize");
    uint32_t crc = kafka_get_u32(&r, "crc");
    const uint8_t *crc_start = r.p;
    m->magic = kafka_get_i8(&r, "magic");
    m->attributes = kafka_get_i8(&r, "attributes");
    if (!r.err && m->magic != 0 && m->magic != 1)
        kafka_rbuf_fail(&r, KAFKA_ERR_CORRUPT, "magic");
    m->timestamp = m->magic == 1 ? kafka_get_i64(&r, "timestamp") : -1;
    m->key = kafka_get_bytes(&r, true, "key");
    m->value = kafka_get_bytes(&r, true, "value");
    if (!r.err && kafka_rbuf_remaining(&r) != 0)
        kafka_rbuf_fail(&r, KAFKA_ERR_CORRUPT, "messageSize");
    if (r.err) {
        *field = r.field;
        return r.err;
    }
    if (check_crc && kafka_crc32(0, crc_start, (size_t)(r.end - crc_start)) != crc) {
        *field = "crc";
        return KAFKA_ERR_CRC_MISMATCH;
    }
    return 0;
}

/* Reads the offset and size of the legacy entry at r, returning the whole
 * entry's length, or 0 with r failed. Entries inside a wrapper must be
 * complete: a partial one is CORRUPT. */
static size_t legacy_entry_len(kafka_rbuf *r, int64_t *offset)
{
    const uint8_t *start = r->p;
    *offset = kafka_get_i64(r, "offset");
    int32_t size = kafka_get_i32(r, "messageSize");
    if (r->err)
        return 0;
    if (size < LEGACY_MIN_SIZE_V0 || (size_t)size > kafka_rbuf_remaining(r)) {
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, "messageSize");
        return 0;
    }
    r->p = start;
    return KAFKA_LOG_OVERHEAD + (size_t)size;
}

/* Walks the decompressed inner messages of a wrapper once to learn their
 * count and first/last offsets (v1 inner offsets are relative to the last). */
static int scan_inner(kafka_records_iter *it, int32_t *count, int64_t *first, int64_t *last)
{
    kafka_rbuf r = it->recs;
    *count = 0;
    while (kafka_rbuf_remaining(&r)) {
        int64_t off;
        size_t n = legacy_entry_len(&r, &off);
        if (!n)
            return iter_fail_rbuf(it, &r);
        if (*count == 0)
            *first = off;
        *last = off;
        (*count)++;
        r.p += n;
    }
    if (*count == 0)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "records");
    return 0;
}

static int open_legacy(kafka_records_iter *it, const uint8_t *p, size_t size)
{
    kafka_record_batch *bt = &it->batch;
    legacy_msg m;
    const char *field = NULL;
    kafka_err err = parse_legacy(p, size, !it->cfg.skip_crc_check, &m, &field);
    if (err)
        return iter_fail(it, err, field);
    bt->crc = kafka_read_u32_at(p + 12);
    bt->partition_leader_epoch = -1;
    bt->attributes = (uint8_t)m.attributes;
    bt->codec = (kafka_codec)(m.attributes & KAFKA_ATTR_CODEC_MASK);
    bt->log_append_time = m.magic == 1 && (m.attributes & KAFKA_ATTR_LOG_APPEND_TIME);
    bt->base_timestamp = bt->max_timestamp = m.timestamp;
    bt->producer_id = -1;
    bt->producer_epoch = -1;
    bt->base_sequence = -1;
    it->legacy_relative = false;
    it->legacy_offset_adjust = 0;

    if (bt->codec == KAFKA_CODEC_NONE) {
        kafka_rbuf_init(&it->recs, p, KAFKA_LOG_OVERHEAD + size);
        bt->record_count = 1;
        bt->last_offset_delta = 0;
        it->recs_left = 1;
        return 0;
    }
    /* zstd arrived with format v2; older formats cannot carry it. */
    if (bt->codec > KAFKA_CODEC_LZ4)
        return iter_fail(it, KAFKA_ERR_UNSUPPORTED_CODEC, "attributes");
    if (m.value.len < 0)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "value");
    int rc = decompress_into_scratch(it, bt->codec, m.value.ptr, (size_t)m.value.len, "value");
    if (rc)
        return rc;
    int32_t count;
    int64_t first = 0, last = 0;
    rc = scan_inner(it, &count, &first, &last);
    if (rc)
        return rc;
    if (m.magic == 1) {
        /* The last inner message carries the wrapper's offset. */
        it->legacy_relative = true;
        it->legacy_offset_adjust = wrap_sub(m.offset, last);
    }
    bt->base_offset = wrap_add(first, it->legacy_offset_adjust);
    bt->last_offset_delta = (int32_t)wrap_sub(last, first);
    bt->record_count = count;
    it->recs_left = count;
    return 0;
}

int kafka_records_iter_next_batch(kafka_records_iter *it, const kafka_record_batch **out)
{
    *out = NULL;
    if (it->err)
        return it->err;
    it->in_batch = false;
    it->recs_left = 0;
    size_t rem = kafka_rbuf_remaining(&it->in);
    if (rem == 0)
        return 0;
    const uint8_t *p = it->in.p;
    /* Kafka cuts fetch responses at max_bytes: a partial last batch is
     * normal and is left for the next fetch. */
    if (rem < KAFKA_LOG_OVERHEAD) {
        it->truncated = true;
        return 0;
    }
    int32_t length = (int32_t)kafka_read_u32_at(p + OFF_LENGTH);
    if (length < 0)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "batchLength");
    if ((size_t)length > rem - KAFKA_LOG_OVERHEAD) {
        it->truncated = true;
        return 0;
    }
    /* magic sits at byte 16 in every format */
    if (length < OFF_MAGIC + 1 - KAFKA_LOG_OVERHEAD)
        return iter_fail(it, KAFKA_ERR_CORRUPT, "batchLength");
    size_t size = KAFKA_LOG_OVERHEAD + (size_t)length;
    it->in.p += size;

    kafka_record_batch *bt = &it->batch;
    memset(bt, 0, sizeof *bt);
    bt->base_offset = (int64_t)read_u64_at(p);
    bt->length = length;
    bt->magic = (int8_t)p[OFF_MAGIC];
    bt->raw = p;
    bt->raw_len = size;
    int rc;
    switch (bt->magic) {
    case 2:
        rc = open_v2_batch(it, p, size);
        break;
    case 0:
    case 1:
        if (length < (bt->magic ? LEGACY_MIN_SIZE_V1 : LEGACY_MIN_SIZE_V0))
            return iter_fail(it, KAFKA_ERR_CORRUPT, "messageSize");
        rc = open_legacy(it, p, (size_t)length);
        break;
    default:
        return iter_fail(it, KAFKA_ERR_CORRUPT, "magic");
    }
    if (rc)
        return rc;
    it->in_batch = true;
    *out = bt;
    return 1;
}

/* Validates the headers of a record and returns them as a raw span. */
static bool read_headers(kafka_rbuf *r, kafka_record *rec)
{
    int64_t n = kafka_get_varint(r, "headerCount");
    if (r->err)
        return false;
    /* each header takes at least two bytes (two length varints) */
    if (n < 0 || (uint64_t)n > kafka_rbuf_remaining(r) / 2)
        return kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, "headerCount");
    rec->header_count = (int32_t)n;
    rec->headers = r->p;
    for (int64_t i = 0; i < n; i++) {
        int64_t kl = kafka_get_varint(r, "headerKeyLength");
        if (!r->err && kl < 0)
            return kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, "headerKeyLength");
        kafka_get_str_body(r, kl, false, "headerKey");
        int64_t vl = kafka_get_varint(r, "headerValueLength");
        if (r->err)
            return false;
        kafka_get_str_body(r, vl, true, "headerValue");
    }
    rec->headers_len = (size_t)(r->p - rec->headers);
    return !r->err;
}

static kafka_bytes get_varint_bytes(kafka_rbuf *r, const char *field)
{
    int64_t len = kafka_get_varint(r, field);
    if (r->err)
        return KAFKA_BYTES_NULL;
    return kafka_str_as_bytes(kafka_get_str_body(r, len, true, field));
}

/* The checked decoder: every field through kafka_rbuf, so a failure names
 * its field. kafka_records_iter_next_record takes it only when the fast
 * path below declines (an error, or a shape the fast path does not
 * handle): it is the authority on what is an error and what it is called. */
static int next_v2_record_checked(kafka_records_iter *it, kafka_record *rec)
{
    const kafka_record_batch *bt = &it->batch;
    kafka_rbuf *rs = &it->recs;
    int64_t len = kafka_get_varint(rs, "recordLength");
    if (rs->err)
        return iter_fail_rbuf(it, rs);
    if (len < 0 || (uint64_t)len > kafka_rbuf_remaining(rs))
        return iter_fail(it, KAFKA_ERR_CORRUPT, "recordLength");
    kafka_rbuf r;
    kafka_rbuf_init(&r, rs->p, (size_t)len);
    rs->p += len;

    rec->attributes = kafka_get_i8(&r, "recordAttributes");
    int64_t ts_delta = kafka_get_varint(&r, "timestampDelta");
    int64_t off_delta = kafka_get_varint(&r, "offsetDelta");
    if (!r.err && (off_delta < 0 || off_delta > INT32_MAX))
        kafka_rbuf_fail(&r, KAFKA_ERR_CORRUPT, "offsetDelta");
    rec->key = get_varint_bytes(&r, "key");
    rec->value = get_varint_bytes(&r, "value");
    read_headers(&r, rec);
    if (!r.err && kafka_rbuf_remaining(&r))
        kafka_rbuf_fail(&r, KAFKA_ERR_CORRUPT, "recordLength");
    if (r.err)
        return iter_fail_rbuf(it, &r);
    rec->offset = wrap_add(bt->base_offset, off_delta);
    if (!record_offset_ok(rec->offset))
        return iter_fail(it, KAFKA_ERR_CORRUPT, "offsetDelta");
    rec->timestamp = bt->log_append_time ? bt->max_timestamp : wrap_add(bt->base_timestamp, ts_delta);
    return 1;
}

/* ---- v2 record fast path ---------------------------------------------------
 * Plain pointer arithmetic over [p, end) with no sticky-error state: each
 * step either succeeds with every bound checked or makes the whole decode
 * decline (return false), after which the checked decoder above re-reads
 * the record from its start and reports the exact error. Accepting here
 * must imply that the checked decoder accepts with the same result. */

/* Any unsigned varint (at most 10 bytes, 64 bits) in [*pp, end), raw (not
 * unzigzagged): the one- and two-byte forms inline (nearly every length and
 * delta in a batch), the rest in a loop. false when truncated or overlong. */
static inline bool fast_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && p[0] < 0x80) {
        *out = p[0];
        *pp = p + 1;
        return true;
    }
    if (end - p >= 2 && p[1] < 0x80) {
        *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        *pp = p + 2;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* A zigzag varint that must lie in [0, INT32_MAX] (lengths, the offset
 * delta): zigzag maps n >= 0 to 2n, so the raw value is even and at most
 * 2 * INT32_MAX, and no unzigzag is needed. */
static inline bool fast_len(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    uint64_t u;
    if (!fast_uvarint(pp, end, &u) || (u & 1) || u > 2 * (uint64_t)INT32_MAX)
        return false;
    *out = (int64_t)(u >> 1);
    return true;
}

/* A varint length then that many bytes; -1 (raw 1) = null when nullable. */
static inline bool fast_bytes(const uint8_t **pp, const uint8_t *end, bool nullable, kafka_bytes *out)
{
    const uint8_t *p = *pp;
    if (nullable && p < end && p[0] == 1) {
        *out = KAFKA_BYTES_NULL;
        *pp = p + 1;
        return true;
    }
    int64_t n;
    if (!fast_len(&p, end, &n) || n > end - p)
        return false;
    *out = (kafka_bytes){p, (int32_t)n};
    *pp = p + n;
    return true;
}

/* Skips n headers (key, then nullable value) in [*pp, end). */
static bool fast_headers(const uint8_t **pp, const uint8_t *end, int64_t n)
{
    kafka_bytes k, v;
    for (int64_t i = 0; i < n; i++)
        if (!fast_bytes(pp, end, false, &k) || !fast_bytes(pp, end, true, &v))
            return false;
    return true;
}

/* Decodes the record at *pp (its length varint first) and moves *pp past
 * it; false, with *pp and *rec meaningless, whenever anything is off.
 * always_inline: as a call it cost about an eighth of the decode. */
__attribute__((always_inline)) static inline bool fast_v2_record(const kafka_record_batch *bt,
                                                                 const uint8_t **pp, const uint8_t *end,
                                                                 kafka_record *rec)
{
    int64_t len, off_delta;
    uint64_t ts_raw;
    const uint8_t *p = *pp;
    if (!fast_len(&p, end, &len) || len == 0 || len > end - p)
        return false;
    const uint8_t *rend = p + len;
    rec->attributes = (int8_t)*p++;
    if (!fast_uvarint(&p, rend, &ts_raw) || !fast_len(&p, rend, &off_delta) ||
        !fast_bytes(&p, rend, true, &rec->key) || !fast_bytes(&p, rend, true, &rec->value))
        return false;
    rec->header_count = 0;
    if (p < rend && *p == 0) {
        rec->headers = ++p; /* no headers: the common case */
    } else {
        uint64_t hc;
        if (!fast_uvarint(&p, rend, &hc))
            return false;
        rec->headers = p;
        /* each header takes at least two bytes (two length varints); a
         * negative count (odd raw value) is left to the checked decoder */
        if ((hc & 1) || (hc >> 1) > (uint64_t)(rend - p) / 2 || !fast_headers(&p, rend, (int64_t)(hc >> 1)))
            return false;
        rec->header_count = (int32_t)(hc >> 1);
    }
    if (p != rend)
        return false;
    rec->headers_len = (size_t)(p - rec->headers);
    rec->offset = wrap_add(bt->base_offset, off_delta);
    if (!record_offset_ok(rec->offset))
        return false; /* the checked decoder reports it */
    rec->timestamp =
        bt->log_append_time ? bt->max_timestamp : wrap_add(bt->base_timestamp, kafka_unzigzag64(ts_raw));
    *pp = rend;
    return true;
}

static int next_legacy_record(kafka_records_iter *it, kafka_record *rec)
{
    kafka_rbuf *rs = &it->recs;
    int64_t off;
    size_t n = legacy_entry_len(rs, &off);
    if (!n)
        return iter_fail_rbuf(it, rs);
    legacy_msg m;
    const char *field = NULL;
    kafka_err err = parse_legacy(rs->p, n - KAFKA_LOG_OVERHEAD, !it->cfg.skip_crc_check, &m, &field);
    if (err)
        return iter_fail(it, err, field);
    rs->p += n;
    if (it->batch.codec != KAFKA_CODEC_NONE && (m.attributes & KAFKA_ATTR_CODEC_MASK))
        return iter_fail(it, KAFKA_ERR_CORRUPT, "attributes"); /* nested compression */
    rec->offset = wrap_add(m.offset, it->legacy_offset_adjust);
    if (!record_offset_ok(rec->offset))
        return iter_fail(it, KAFKA_ERR_CORRUPT, "offset");
    rec->timestamp = it->batch.log_append_time ? it->batch.max_timestamp : m.timestamp;
    rec->attributes = m.attributes;
    rec->key = m.key;
    rec->value = m.value;
    rec->header_count = 0;
    rec->headers = NULL;
    rec->headers_len = 0;
    return 1;
}

/* Everything but a well-formed v2 record: the end of a batch, legacy
 * messages, errors (through the checked decoder). */
__attribute__((noinline)) static int next_record_slow(kafka_records_iter *it, kafka_record *rec)
{
    if (it->err)
        return it->err;
    if (!it->in_batch)
        return 0;
    if (it->recs_left == 0) {
        it->in_batch = false;
        /* bytes after the last announced record mean the count lied */
        if (kafka_rbuf_remaining(&it->recs))
            return iter_fail(it, KAFKA_ERR_CORRUPT, "recordCount");
        return 0;
    }
    it->recs_left--;
    return it->batch.magic == 2 ? next_v2_record_checked(it, rec) : next_legacy_record(it, rec);
}

int kafka_records_iter_next_record(kafka_records_iter *it, kafka_record *rec)
{
    /* in_batch is false once an error is recorded (iter_fail) */
    if (it->in_batch && it->recs_left > 0 && it->batch.magic == 2) {
        const uint8_t *p = it->recs.p;
        if (fast_v2_record(&it->batch, &p, it->recs.end, rec)) {
            it->recs.p = p;
            it->recs_left--;
            return 1;
        }
    }
    return next_record_slow(it, rec);
}

int kafka_records_iter_next(kafka_records_iter *it, kafka_record *rec)
{
    for (;;) {
        int rc = kafka_records_iter_next_record(it, rec);
        if (rc != 0)
            return rc;
        const kafka_record_batch *bt;
        rc = kafka_records_iter_next_batch(it, &bt);
        if (rc <= 0)
            return rc;
    }
}

bool kafka_record_header_next(const kafka_record *rec, size_t *pos, kafka_header *h)
{
    if (!rec->headers || *pos >= rec->headers_len)
        return false;
    const uint8_t *p = rec->headers + *pos, *end = rec->headers + rec->headers_len;
    kafka_bytes k, v;
    if (!fast_bytes(&p, end, false, &k) || !fast_bytes(&p, end, true, &v))
        return false; /* cannot happen: validated when the record was read */
    h->key = (const char *)k.ptr;
    h->key_len = (size_t)k.len;
    h->value = v.len < 0 ? NULL : v.ptr;
    h->value_len = v.len < 0 ? 0 : (size_t)v.len;
    *pos = (size_t)(p - rec->headers);
    return true;
}

kafka_err kafka_control_record_parse(const kafka_record *rec, int16_t *type, int32_t *coordinator_epoch)
{
    if (rec->key.len < 4)
        return KAFKA_ERR_CORRUPT;
    /* Only version 0 exists; readers must ignore unknown newer versions'
     * extra bytes, so only the prefix is checked. */
    int16_t key_version = (int16_t)read_u16_at(rec->key.ptr);
    if (key_version < 0)
        return KAFKA_ERR_CORRUPT;
    *type = (int16_t)read_u16_at(rec->key.ptr + 2);
    if (coordinator_epoch) {
        *coordinator_epoch = -1;
        if (rec->value.len >= 6)
            *coordinator_epoch = (int32_t)kafka_read_u32_at(rec->value.ptr + 2);
    }
    return 0;
}
