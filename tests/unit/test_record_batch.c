/*
 * Record batches v2 (encode + decode) and message sets v0/v1 (decode).
 *
 * Expected values come from outside the code under test: the batches
 * librdkafka encoded (tests/data/NAME.records, see tests/data/README.md) and
 * what was given to kcat; hand-assembled bytes following Kafka's message
 * format documentation; CRC32 from zlib; gzip from zlib.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "kafka/alloc.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch.h"
#include "batch_util.h"

/* ---- helpers ---------------------------------------------------------- */

static uint8_t *read_file(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/%s", KAFKA_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void assert_bytes(kafka_bytes b, const char *want)
{
    if (!want) {
        assert_true(b.len < 0);
        return;
    }
    assert_int_equal(b.len, (int32_t)strlen(want));
    assert_memory_equal(b.ptr, want, strlen(want));
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

/* ---- captured librdkafka batches -------------------------------------- */

static char g_key3_value[301];

struct want_rec {
    const char *key;
    const char *value;
};

static const struct want_rec kcat_records[6] = {
    {"key1", "value1"},     {"key2", ""}, {NULL, "nokey-line"}, {"", "empty-key"},
    {"key3", g_key3_value}, {"k\xc3\xa9y4", "v\xc3\xa4lue \xe2\x82\xac" "4"},
};

struct capture {
    const char *file;
    kafka_codec codec;
    int64_t timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional;
};

static void check_capture(const struct capture *c)
{
    memset(g_key3_value, 0, sizeof g_key3_value);
    for (int i = 0; i < 30; i++)
        memcpy(g_key3_value + 10 * i, "abcdefghij", 10);

    size_t len;
    uint8_t *data = read_file(c->file, &len);
    kafka_records_iter it;
    kafka_records_iter_init(&it, data, len, NULL);
    const kafka_record_batch *bt;
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_int_equal(bt->magic, 2);
    assert_int_equal(bt->base_offset, 0);
    assert_int_equal(bt->codec, c->codec);
    assert_int_equal(bt->partition_leader_epoch, 0);
    assert_int_equal(bt->record_count, 6);
    assert_int_equal(bt->last_offset_delta, 5);
    assert_int_equal(bt->base_timestamp, c->timestamp);
    assert_int_equal(bt->max_timestamp, c->timestamp);
    assert_int_equal(bt->producer_id, c->producer_id);
    assert_int_equal(bt->producer_epoch, c->producer_epoch);
    assert_int_equal(bt->base_sequence, c->base_sequence);
    assert_int_equal(bt->transactional, c->transactional);
    assert_false(bt->control);
    assert_false(bt->log_append_time);
    assert_int_equal(bt->raw_len, len);

    for (int i = 0; i < 6; i++) {
        kafka_record rec;
        assert_int_equal(kafka_records_iter_next_record(&it, &rec), 1);
        assert_int_equal(rec.offset, i);
        assert_int_equal(rec.timestamp, c->timestamp);
        assert_bytes(rec.key, kcat_records[i].key);
        assert_bytes(rec.value, kcat_records[i].value);
        assert_int_equal(rec.header_count, 2);
        size_t pos = 0;
        kafka_header h;
        assert_true(kafka_record_header_next(&rec, &pos, &h));
        assert_int_equal(h.key_len, 2);
        assert_memory_equal(h.key, "h1", 2);
        assert_non_null(h.value);
        assert_int_equal(h.value_len, 2);
        assert_memory_equal(h.value, "v1", 2);
        assert_true(kafka_record_header_next(&rec, &pos, &h));
        assert_int_equal(h.key_len, 2);
        assert_memory_equal(h.key, "h2", 2);
        assert_non_null(h.value); /* empty, not null */
        assert_int_equal(h.value_len, 0);
        assert_false(kafka_record_header_next(&rec, &pos, &h));
    }
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next_record(&it, &rec), 0);
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 0);
    assert_false(it.truncated);
    kafka_records_iter_free(&it);
    free(data);
}

#define PLAIN_PRODUCER -1, -1, -1, false

static void test_capture_none(void **s)
{
    (void)s;
    check_capture(&(struct capture){"none.records", KAFKA_CODEC_NONE, 1795305571630, PLAIN_PRODUCER});
}
static void test_capture_gzip(void **s)
{
    (void)s;
    check_capture(&(struct capture){"gzip.records", KAFKA_CODEC_GZIP, 1795305572842, PLAIN_PRODUCER});
}
static void test_capture_snappy(void **s)
{
    (void)s;
    check_capture(&(struct capture){"snappy.records", KAFKA_CODEC_SNAPPY, 1795305574055, PLAIN_PRODUCER});
}
static void test_capture_lz4(void **s)
{
    (void)s;
    check_capture(&(struct capture){"lz4.records", KAFKA_CODEC_LZ4, 1795305575265, PLAIN_PRODUCER});
}
static void test_capture_zstd(void **s)
{
    (void)s;
    check_capture(&(struct capture){"zstd.records", KAFKA_CODEC_ZSTD, 1795305576476, PLAIN_PRODUCER});
}
static void test_capture_idempotent(void **s)
{
    (void)s;
    check_capture(&(struct capture){"idempotent.records", KAFKA_CODEC_NONE, 1795305577688, 0x162524c8, 0, 0, false});
}
static void test_capture_transactional(void **s)
{
    (void)s;
    check_capture(&(struct capture){"transactional.records", KAFKA_CODEC_NONE, 1795305578901, 0x52cc888, 0, 0, true});
}

/* Encoding the same records with the same batch fields must give exactly
 * the bytes librdkafka wrote (uncompressed, so the output is canonical). */
static void encode_like_capture(const char *file, int64_t ts, int64_t pid, int16_t epoch, int32_t seq, bool txn)
{
    memset(g_key3_value, 0, sizeof g_key3_value);
    for (int i = 0; i < 30; i++)
        memcpy(g_key3_value + 10 * i, "abcdefghij", 10);
    size_t len;
    uint8_t *want = read_file(file, &len);
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.partition_leader_epoch = 0;
    cfg.producer_id = pid;
    cfg.producer_epoch = epoch;
    cfg.base_sequence = seq;
    cfg.transactional = txn;
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    const kafka_header hdrs[2] = {{"h1", 2, "v1", 2}, {"h2", 2, "", 0}};
    for (int i = 0; i < 6; i++) {
        const struct want_rec *r = &kcat_records[i];
        size_t before = out.len;
        size_t predicted = kafka_batch_builder_record_size(&b, ts, r->key ? (int32_t)strlen(r->key) : -1,
                                                           (int32_t)strlen(r->value), hdrs, 2);
        assert_int_equal(kafka_batch_builder_append(&b, ts, r->key, r->key ? (int32_t)strlen(r->key) : -1, r->value,
                                                     (int32_t)strlen(r->value), hdrs, 2),
                         0);
        assert_int_equal(out.len - before, predicted);
        assert_true(predicted <= kafka_record_size_bound(r->key ? (int32_t)strlen(r->key) : -1,
                                                         (int32_t)strlen(r->value), hdrs, 2));
    }
    assert_int_equal(kafka_batch_builder_count(&b), 6);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, want, len);
    kafka_wbuf_free(&out);
    free(want);
}

static void test_encode_matches_librdkafka(void **s)
{
    (void)s;
    encode_like_capture("none.records", 1795305571630, -1, -1, -1, false);
    encode_like_capture("idempotent.records", 1795305577688, 0x162524c8, 0, 0, false);
    encode_like_capture("transactional.records", 1795305578901, 0x52cc888, 0, 0, true);
}

/* Restamping the plain capture with the idempotent run's producer fields
 * gives what the builder writes with those fields from the start. */
static void test_set_producer(void **s)
{
    (void)s;
    size_t len;
    uint8_t *data = read_file("none.records", &len);
    assert_int_equal(kafka_record_batch_set_producer(data, len, 0x162524c8, 0, 0), 0);
    assert_int_equal(kafka_record_batch_set_producer(data, len - 1, 1, 1, 1), KAFKA_ERR_CORRUPT);
    kafka_records_iter it;
    const kafka_record_batch *bt;
    kafka_records_iter_init(&it, data, len, NULL); /* CRC checked */
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_int_equal(bt->producer_id, 0x162524c8);
    assert_int_equal(bt->producer_epoch, 0);
    assert_int_equal(bt->base_sequence, 0);
    /* bytes 43..56 as xxd shows them in idempotent.records */
    static const uint8_t want[] = {0, 0, 0, 0, 0x16, 0x25, 0x24, 0xc8, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(data + 43, want, sizeof want);
    free(data);
}

/* What a broker does to a batch it appends: new base offset and leader
 * epoch (outside the CRC), and for a LogAppendTime topic its own clock. */
static void test_set_base_and_log_append_time(void **s)
{
    (void)s;
    size_t len;
    uint8_t *data = read_file("none.records", &len);
    kafka_records_iter it;
    const kafka_record_batch *bt;
    kafka_record rec;
    assert_int_equal(kafka_record_batch_set_base(data, len, 1000, 7), 0);
    assert_int_equal(kafka_record_batch_set_base(data, len - 1, 0, 0), KAFKA_ERR_CORRUPT);
    assert_int_equal(kafka_record_batch_set_log_append_time(data, len, 1700000000123LL), 0);
    assert_int_equal(kafka_record_batch_set_log_append_time(data, len + 1, 0), KAFKA_ERR_CORRUPT);
    kafka_records_iter_init(&it, data, len, NULL); /* CRC checked */
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_int_equal(bt->base_offset, 1000);
    assert_int_equal(bt->partition_leader_epoch, 7);
    assert_true(bt->log_append_time);
    int64_t next = 1000;
    while (kafka_records_iter_next_record(&it, &rec) == 1) {
        assert_int_equal(rec.offset, next++);
        assert_int_equal(rec.timestamp, 1700000000123LL);
    }
    assert_int_equal(it.err, 0);
    assert_true(next > 1000);
    kafka_records_iter_free(&it);
    free(data);
}

static void test_crc_checked(void **s)
{
    (void)s;
    size_t len;
    uint8_t *data = read_file("none.records", &len);
    data[100] ^= 0x01; /* inside a record value */
    kafka_records_iter it;
    const kafka_record_batch *bt;
    kafka_records_iter_init(&it, data, len, NULL);
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), KAFKA_ERR_CRC_MISMATCH);
    assert_string_equal(it.err_field, "crc");
    /* sticky */
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), KAFKA_ERR_CRC_MISMATCH);
    kafka_records_iter_init(&it, data, len, &(kafka_records_iter_config){.skip_crc_check = true});
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    free(data);
}

/* ---- hand-assembled v2 bytes -------------------------------------------- */

/* A control batch (COMMIT, coordinator epoch 5) assembled byte by byte
 * from the format documentation; the CRC32C computed with the bitwise
 * definition here, not with the library. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static size_t hand_control_batch(uint8_t *b)
{
    memset(b, 0, 100);
    be64(b, 42);                  /* baseOffset */
    be32(b + 12, 3);              /* partitionLeaderEpoch */
    b[16] = 2;                    /* magic */
    b[21] = 0x00, b[22] = 0x30;   /* attributes: transactional | control */
    be32(b + 23, 0);              /* lastOffsetDelta */
    be64(b + 27, 1000);           /* baseTimestamp */
    be64(b + 35, 1000);           /* maxTimestamp */
    be64(b + 43, 77);             /* producerId */
    b[51] = 0, b[52] = 9;         /* producerEpoch */
    be32(b + 53, 0xffffffffu);    /* baseSequence -1 */
    be32(b + 57, 1);              /* one record */
    static const uint8_t rec[] = {
        0x20,       /* length 16 (zigzag 32) */
        0x00,       /* attributes */
        0x00,       /* timestampDelta 0 */
        0x00,       /* offsetDelta 0 */
        0x08,       /* key length 4 */
        0, 0, 0, 1, /* version 0, type COMMIT */
        0x0c,       /* value length 6 */
        0, 0, 0, 0, 0, 5, /* version 0, coordinator epoch 5 */
        0x00,       /* no headers */
    };
    memcpy(b + 61, rec, sizeof rec);
    size_t n = 61 + sizeof rec;
    be32(b + 8, (uint32_t)(n - 12));
    be32(b + 17, crc32c_bitwise(b + 21, n - 21));
    return n;
}

static void test_control_batch_hand_assembled(void **s)
{
    (void)s;
    uint8_t buf[100];
    size_t n = hand_control_batch(buf);
    kafka_records_iter it;
    kafka_records_iter_init(&it, buf, n, NULL);
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
    assert_true(it.batch.control);
    assert_true(it.batch.transactional);
    assert_int_equal(it.batch.partition_leader_epoch, 3);
    assert_int_equal(it.batch.producer_id, 77);
    assert_int_equal(it.batch.producer_epoch, 9);
    assert_int_equal(rec.offset, 42);
    assert_int_equal(rec.timestamp, 1000);
    int16_t type;
    int32_t epoch;
    assert_int_equal(kafka_control_record_parse(&rec, &type, &epoch), 0);
    assert_int_equal(type, KAFKA_CONTROL_COMMIT);
    assert_int_equal(epoch, 5);
    assert_int_equal(kafka_records_iter_next(&it, &rec), 0);

    /* our encoder writes the same bytes */
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    assert_int_equal(kafka_control_batch_encode(&out, 42, 77, 9, KAFKA_CONTROL_COMMIT, 5, 1000), 0);
    be32(buf + 12, 0xffffffffu); /* the encoder leaves the leader epoch to the broker */
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, buf, n);
    kafka_wbuf_free(&out);
}

/* ---- round trips ------------------------------------------------------------ */

static void roundtrip_codec(kafka_codec codec)
{
    kafka_wbuf out, scratch;
    kafka_wbuf_init(&out);
    kafka_wbuf_init(&scratch);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.codec = codec;
    cfg.base_offset = 1000;
    cfg.producer_id = 12345;
    cfg.producer_epoch = 3;
    cfg.base_sequence = 77;
    cfg.scratch = &scratch;
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    const kafka_header hdrs[3] = {{"a", 1, "x", 1}, {"null-value", 10, NULL, 0}, {"", 0, "", 0}};
    char key[32], val[200];
    enum { N = 500 };
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        memset(val, 'a' + i % 26, sizeof val);
        /* timestamps go backwards for odd records: negative deltas */
        int64_t ts = 1700000000000 + (i % 2 ? -i : i);
        const void *k = i % 7 == 3 ? NULL : key;
        int32_t klen = k ? (int32_t)strlen(key) : -1;
        const void *v = i % 11 == 5 ? NULL : val;
        int32_t vlen = v ? (int32_t)(i % 200) : -1;
        assert_int_equal(kafka_batch_builder_append(&b, ts, k, klen, v, vlen, hdrs, (size_t)(i % 4)), 0);
    }
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    /* a second batch in the same buffer */
    assert_int_equal(kafka_control_batch_encode(&out, 1000 + N, 12345, 3, KAFKA_CONTROL_ABORT, 1, 1700000000001), 0);

    kafka_records_iter it;
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    const kafka_record_batch *bt;
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_int_equal(bt->codec, codec);
    assert_int_equal(bt->base_offset, 1000);
    assert_int_equal(bt->record_count, N);
    assert_int_equal(bt->last_offset_delta, N - 1);
    assert_int_equal(bt->base_timestamp, 1700000000000);
    assert_int_equal(bt->max_timestamp, 1700000000000 + 498);
    assert_int_equal(bt->producer_id, 12345);
    assert_int_equal(bt->producer_epoch, 3);
    assert_int_equal(bt->base_sequence, 77);
    assert_false(bt->transactional);
    assert_false(bt->control);
    for (int i = 0; i < N; i++) {
        kafka_record rec;
        assert_int_equal(kafka_records_iter_next_record(&it, &rec), 1);
        assert_int_equal(rec.offset, 1000 + i);
        assert_int_equal(rec.timestamp, 1700000000000 + (i % 2 ? -i : i));
        snprintf(key, sizeof key, "key-%d", i);
        assert_bytes(rec.key, i % 7 == 3 ? NULL : key);
        if (i % 11 == 5) {
            assert_true(rec.value.len < 0);
        } else {
            assert_int_equal(rec.value.len, i % 200);
            for (int j = 0; j < rec.value.len; j++)
                assert_int_equal(rec.value.ptr[j], 'a' + i % 26);
        }
        assert_int_equal(rec.header_count, i % 4);
        size_t pos = 0;
        kafka_header h;
        for (int j = 0; j < i % 4; j++) {
            assert_true(kafka_record_header_next(&rec, &pos, &h));
            assert_int_equal(h.key_len, hdrs[j].key_len);
            assert_memory_equal(h.key, hdrs[j].key, h.key_len);
            assert_true((h.value == NULL) == (hdrs[j].value == NULL));
            assert_int_equal(h.value_len, hdrs[j].value_len);
        }
        assert_false(kafka_record_header_next(&rec, &pos, &h));
    }
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next_record(&it, &rec), 0);
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_true(bt->control);
    assert_true(bt->transactional);
    assert_int_equal(bt->base_offset, 1000 + N);
    assert_int_equal(kafka_records_iter_next_record(&it, &rec), 1);
    int16_t type;
    int32_t epoch;
    assert_int_equal(kafka_control_record_parse(&rec, &type, &epoch), 0);
    assert_int_equal(type, KAFKA_CONTROL_ABORT);
    assert_int_equal(epoch, 1);
    assert_int_equal(kafka_records_iter_next(&it, &rec), 0);
    assert_false(it.truncated);
    kafka_records_iter_free(&it);
    kafka_wbuf_free(&out);
    kafka_wbuf_free(&scratch);
}

static void test_roundtrip_none(void **s) { (void)s; roundtrip_codec(KAFKA_CODEC_NONE); }
static void test_roundtrip_gzip(void **s) { (void)s; roundtrip_codec(KAFKA_CODEC_GZIP); }
static void test_roundtrip_snappy(void **s) { (void)s; roundtrip_codec(KAFKA_CODEC_SNAPPY); }
static void test_roundtrip_lz4(void **s) { (void)s; roundtrip_codec(KAFKA_CODEC_LZ4); }
static void test_roundtrip_zstd(void **s) { (void)s; roundtrip_codec(KAFKA_CODEC_ZSTD); }

static void test_big_and_many(void **s)
{
    (void)s;
    enum { BIG = 3 * 1024 * 1024, MANY = 10000 };
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 5, "big", 3, big, BIG, NULL, 0), 0);
    for (int i = 0; i < MANY; i++) {
        uint32_t v = (uint32_t)i;
        assert_int_equal(kafka_batch_builder_append(&b, 5 + i, NULL, -1, &v, 4, NULL, 0), 0);
    }
    assert_int_equal(kafka_batch_builder_finish(&b), 0);

    kafka_records_iter it;
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
    assert_int_equal(rec.value.len, BIG);
    assert_memory_equal(rec.value.ptr, big, BIG);
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
        assert_int_equal(rec.offset, i + 1);
        assert_int_equal(rec.timestamp, 5 + i);
        uint32_t v;
        assert_int_equal(rec.value.len, 4);
        memcpy(&v, rec.value.ptr, 4);
        assert_int_equal(v, (uint32_t)i);
    }
    assert_int_equal(kafka_records_iter_next(&it, &rec), 0);

    /* a compressed big batch over the decompression limit is refused */
    kafka_wbuf_free(&out);
    kafka_wbuf_init(&out);
    cfg.codec = KAFKA_CODEC_ZSTD;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    memset(big, 'z', BIG);
    assert_int_equal(kafka_batch_builder_append(&b, 5, NULL, -1, big, BIG, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_true(out.len < 100000);
    kafka_records_iter_init(&it, out.data, out.len, &(kafka_records_iter_config){.max_decompressed = 1024 * 1024});
    assert_int_equal(kafka_records_iter_next(&it, &rec), KAFKA_ERR_TOO_LARGE);
    kafka_records_iter_free(&it);
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
    assert_int_equal(rec.value.len, BIG);
    kafka_records_iter_free(&it);
    kafka_wbuf_free(&out);
    free(big);
}

static void test_flags_and_log_append_time(void **s)
{
    (void)s;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.transactional = true;
    cfg.log_append_time = true;
    cfg.producer_id = 1;
    cfg.producer_epoch = 0;
    cfg.base_sequence = 0;
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 10, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 30, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 20, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    /* attributes: transactional 0x10 | log append time 0x08 */
    assert_int_equal(out.data[21], 0);
    assert_int_equal(out.data[22], 0x18);
    kafka_records_iter it;
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    kafka_record rec;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
        assert_int_equal(rec.timestamp, 30); /* log append time = maxTimestamp */
    }
    assert_true(it.batch.transactional);
    assert_true(it.batch.log_append_time);
    kafka_wbuf_free(&out);
}

static void test_builder_errors(void **s)
{
    (void)s;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    cfg.codec = (kafka_codec)7;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), KAFKA_ERR_UNSUPPORTED_CODEC);
    cfg.codec = KAFKA_CODEC_NONE;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), KAFKA_ERR_INVALID_ARG); /* empty */
    assert_int_equal(kafka_batch_builder_append(&b, 0, NULL, 5, "v", 1, NULL, 0), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append(&b, 0, "k", -2, "v", 1, NULL, 0), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 2), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_size(&b), KAFKA_RECORD_BATCH_HEADER_SIZE);
    assert_int_equal(kafka_batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 0), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_finish(&b), KAFKA_ERR_INVALID_ARG);
    kafka_wbuf_free(&out);
}

/* ---- truncation and corruption ---------------------------------------------- */

static void test_truncated_tail_ignored(void **s)
{
    (void)s;
    size_t len;
    uint8_t *one = read_file("none.records", &len);
    uint8_t *two = malloc(2 * len);
    memcpy(two, one, len);
    memcpy(two + len, one, len);
    for (size_t cut = 0; cut <= 2 * len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, two, cut); /* exact-size copy: ASan sees any overread */
        kafka_records_iter it;
        kafka_records_iter_init(&it, copy, cut, NULL);
        kafka_record rec;
        int n = 0, rc;
        while ((rc = kafka_records_iter_next(&it, &rec)) == 1)
            n++;
        assert_int_equal(rc, 0);
        int want = cut < len ? 0 : cut < 2 * len ? 6 : 12;
        assert_int_equal(n, want);
        assert_int_equal(it.truncated, cut != 0 && cut != len && cut != 2 * len);
        free(copy);
    }
    free(two);
    free(one);
}

static int decode_all(const uint8_t *p, size_t n, bool skip_crc)
{
    kafka_records_iter it;
    kafka_records_iter_init(&it, p, n, &(kafka_records_iter_config){.skip_crc_check = skip_crc});
    kafka_record rec;
    int rc;
    while ((rc = kafka_records_iter_next(&it, &rec)) == 1)
        ;
    kafka_records_iter_free(&it);
    return rc;
}

static void test_hostile_fields(void **s)
{
    (void)s;
    uint8_t good[100], b[100];
    size_t n = hand_control_batch(good);
    assert_int_equal(decode_all(good, n, false), 0);

    /* record count claims 2^31-1 records */
    memcpy(b, good, n);
    be32(b + 57, 0x7fffffff);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* negative record count */
    be32(b + 57, 0xffffffff);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* count says 0 but a record follows */
    be32(b + 57, 0);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* count says 2 but only one record: runs out inside the batch */
    be32(b + 57, 2);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_TRUNCATED);
    /* negative batch length */
    memcpy(b, good, n);
    be32(b + 8, 0x80000000u);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* batch length too small for a v2 header */
    be32(b + 8, 20);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* unknown magic */
    memcpy(b, good, n);
    b[16] = 3;
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* codec 5..7 */
    memcpy(b, good, n);
    b[22] = 0x35;
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_UNSUPPORTED_CODEC);
    /* record length larger than the batch */
    memcpy(b, good, n);
    b[61] = 0x7e;
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* record length shorter than its fields */
    b[61] = 0x10;
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_TRUNCATED);
    /* key length -2 */
    memcpy(b, good, n);
    b[65] = 0x03;
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* overlong varint (11 bytes of continuation) */
    memcpy(b, good, n);
    memset(b + 61, 0xff, 11);
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_CORRUPT);
    /* a compressed batch whose payload is garbage */
    memcpy(b, good, n);
    b[22] = 0x31; /* gzip */
    assert_int_equal(decode_all(b, n, true), KAFKA_ERR_COMPRESSION);
}

/* ---- record shapes off the decoder's fast path -------------------------------- */

/* A v2 batch (no CRC) around hand-written record bytes; returns its size. */
static size_t hand_batch(uint8_t *b, const uint8_t *recs, size_t recs_len, int32_t count)
{
    memset(b, 0, 61);
    be64(b, 100);        /* baseOffset */
    b[16] = 2;           /* magic */
    be64(b + 27, 5000);  /* baseTimestamp */
    be64(b + 35, 5000);  /* maxTimestamp */
    be64(b + 43, (uint64_t)-1);
    be32(b + 57, (uint32_t)count);
    memcpy(b + 61, recs, recs_len);
    size_t n = 61 + recs_len;
    be32(b + 8, (uint32_t)(n - 12));
    return n;
}

/* Decodes the one record of a hand batch: rc, and the record / error field.
 * The record's views point into a static buffer, valid until the next call. */
static int decode_one(const uint8_t *recs, size_t len, kafka_record *rec, const char **field)
{
    static uint8_t b[256];
    size_t n = hand_batch(b, recs, len, 1);
    kafka_records_iter it;
    kafka_records_iter_init(&it, b, n, &(kafka_records_iter_config){.skip_crc_check = true});
    int rc = kafka_records_iter_next(&it, rec);
    *field = it.err_field;
    kafka_records_iter_free(&it);
    return rc;
}

/* Valid encodings the per-record fast path does not take in one step
 * (non-minimal varints, 3-byte lengths, headers, a null header value) and
 * invalid ones: the record must decode exactly, and errors must name the
 * same field as always. */
/* A record whose offset would be INT64_MAX (base INT64_MAX - 1, second
 * record) is corrupt: no consumer can compute the position after it. The
 * first record decodes; the second is refused with its field named. */
static void test_record_offset_at_int64_max(void **s)
{
    (void)s;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.base_offset = INT64_MAX - 1;
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &w, &cfg), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 1000, NULL, -1, "a", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_append(&b, 1000, NULL, -1, "b", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    kafka_records_iter it;
    kafka_records_iter_init(&it, w.data, w.len, NULL);
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
    assert_true(rec.offset == INT64_MAX - 1);
    assert_int_equal(kafka_records_iter_next(&it, &rec), KAFKA_ERR_CORRUPT);
    assert_string_equal(it.err_field, "offsetDelta");
    kafka_records_iter_free(&it);
    kafka_wbuf_free(&w);
}

static void test_record_shapes(void **s)
{
    (void)s;
    kafka_record rec;
    const char *field;
    /* every varint non-minimal: 0x80 0x00 is 0, 0x82 0x80 0x00 is 1 */
    static const uint8_t overlong[] = {
        0x1c,             /* length 14 */
        0x00,             /* attributes */
        0x84, 0x80, 0x00, /* timestampDelta +2, three bytes */
        0x86, 0x00,       /* offsetDelta 3, two bytes */
        0x81, 0x00,       /* key null (-1), two bytes */
        0x82, 0x80, 0x00, /* value length 1, three bytes */
        'v',
        0x80, 0x00,       /* no headers, two bytes */
    };
    uint8_t ok[sizeof overlong];
    memcpy(ok, overlong, sizeof ok);
    ok[0] = (uint8_t)((sizeof ok - 1) * 2);
    assert_int_equal(decode_one(ok, sizeof ok, &rec, &field), 1);
    assert_int_equal(rec.offset, 103);
    assert_int_equal(rec.timestamp, 5002);
    assert_int_equal(rec.key.len, -1);
    assert_int_equal(rec.value.len, 1);
    assert_int_equal(rec.value.ptr[0], 'v');
    assert_int_equal(rec.header_count, 0);

    /* two headers, the second with a null value */
    static const uint8_t hdrs[] = {
        0x1a,             /* length 13 */
        0x00, 0x00, 0x02, /* attributes, timestampDelta 0, offsetDelta 1 */
        0x02, 'k',        /* key "k" */
        0x00,             /* value "" */
        0x04,             /* 2 headers */
        0x02, 'a', 0x02, 'b', /* a=b */
        0x02, 'c', 0x01,      /* c=null */
    };
    uint8_t h[sizeof hdrs];
    memcpy(h, hdrs, sizeof h);
    h[0] = (uint8_t)((sizeof h - 1) * 2);
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), 1);
    assert_int_equal(rec.offset, 101);
    assert_int_equal(rec.key.len, 1);
    assert_int_equal(rec.value.len, 0);
    assert_non_null(rec.value.ptr);
    assert_int_equal(rec.header_count, 2);
    size_t pos = 0;
    kafka_header hd;
    assert_true(kafka_record_header_next(&rec, &pos, &hd));
    assert_int_equal(hd.key_len, 1);
    assert_memory_equal(hd.key, "a", 1);
    assert_int_equal(hd.value_len, 1);
    assert_memory_equal(hd.value, "b", 1);
    assert_true(kafka_record_header_next(&rec, &pos, &hd));
    assert_memory_equal(hd.key, "c", 1);
    assert_null(hd.value);
    assert_false(kafka_record_header_next(&rec, &pos, &hd));

    /* errors, each naming its field */
    memcpy(h, hdrs, sizeof h);
    h[0] = (uint8_t)((sizeof h - 1) * 2);
    h[7] = 0x06; /* 3 headers: the third runs past the record */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_TRUNCATED);
    assert_string_equal(field, "headerKeyLength");
    h[7] = 0x03; /* -2 headers */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_CORRUPT);
    assert_string_equal(field, "headerCount");
    h[7] = 0x04;
    h[8] = 0x01; /* header key null */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_CORRUPT);
    assert_string_equal(field, "headerKeyLength");
    h[8] = 0x02;
    h[3] = 0x01; /* offsetDelta -1 */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_CORRUPT);
    assert_string_equal(field, "offsetDelta");
    h[3] = 0x02;
    h[4] = 0x05; /* key length -3 */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_CORRUPT);
    assert_string_equal(field, "key");
    h[4] = 0x02;
    h[6] = 0x40; /* value length 32: past the record */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_TRUNCATED);
    assert_string_equal(field, "value");
    h[6] = 0x00;
    h[0] = (uint8_t)((sizeof h) * 2); /* record length one past the batch */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_CORRUPT);
    assert_string_equal(field, "recordLength");
    h[0] = (uint8_t)((sizeof h - 2) * 2); /* one byte left over after the record */
    assert_int_equal(decode_one(h, sizeof h, &rec, &field), KAFKA_ERR_TRUNCATED);
    /* a record of length 0 */
    static const uint8_t empty[] = {0x00, 0, 0, 0, 0, 0, 0}; /* padded past the count check */
    assert_int_equal(decode_one(empty, sizeof empty, &rec, &field), KAFKA_ERR_TRUNCATED);
    assert_string_equal(field, "recordAttributes");
}

/* ---- message sets v0/v1 ------------------------------------------------------ */

/* Appends one legacy message with a zlib-computed CRC32. */
static size_t legacy_msg(uint8_t *p, int64_t offset, int magic, int attributes, int64_t ts, const char *key,
                         const void *value, int32_t value_len)
{
    size_t n = 12;
    size_t crc_at = n;
    n += 4;
    p[n++] = (uint8_t)magic;
    p[n++] = (uint8_t)attributes;
    if (magic == 1) {
        be64(p + n, (uint64_t)ts);
        n += 8;
    }
    if (key) {
        be32(p + n, (uint32_t)strlen(key));
        n += 4;
        memcpy(p + n, key, strlen(key));
        n += strlen(key);
    } else {
        be32(p + n, 0xffffffffu);
        n += 4;
    }
    be32(p + n, (uint32_t)value_len);
    n += 4;
    if (value_len > 0) {
        memcpy(p + n, value, (size_t)value_len);
        n += (size_t)value_len;
    }
    be64(p, (uint64_t)offset);
    be32(p + 8, (uint32_t)(n - 12));
    be32(p + crc_at, (uint32_t)crc32(0, p + crc_at + 4, (uInt)(n - crc_at - 4)));
    return n;
}

static size_t gzip_buf(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

static void test_message_set_v0_v1(void **s)
{
    (void)s;
    uint8_t buf[4096];
    size_t n = 0;
    n += legacy_msg(buf + n, 10, 0, 0, 0, "k0", "v0", 2);
    n += legacy_msg(buf + n, 11, 1, 0, 1600000000000, NULL, "v1", 2);
    n += legacy_msg(buf + n, 12, 1, 0, 1600000000001, "k2", NULL, -1);
    /* v1 gzip wrapper: inner offsets 0,1,2 relative; wrapper offset 15 is
     * the last inner message's absolute offset, so 13,14,15. */
    uint8_t inner[512], gz[1024];
    size_t in_n = 0;
    in_n += legacy_msg(inner + in_n, 0, 1, 0, 1600000000010, "a", "inner-a", 7);
    in_n += legacy_msg(inner + in_n, 1, 1, 0, 1600000000011, "b", "inner-b", 7);
    in_n += legacy_msg(inner + in_n, 2, 1, 0, 1600000000012, NULL, "inner-c", 7);
    size_t gz_n = gzip_buf(inner, in_n, gz, sizeof gz);
    n += legacy_msg(buf + n, 15, 1, KAFKA_CODEC_GZIP, 1600000000012, NULL, gz, (int32_t)gz_n);
    /* v0 gzip wrapper: inner offsets are absolute */
    in_n = 0;
    in_n += legacy_msg(inner + in_n, 16, 0, 0, 0, NULL, "old-a", 5);
    in_n += legacy_msg(inner + in_n, 17, 0, 0, 0, NULL, "old-b", 5);
    gz_n = gzip_buf(inner, in_n, gz, sizeof gz);
    n += legacy_msg(buf + n, 17, 0, KAFKA_CODEC_GZIP, 0, NULL, gz, (int32_t)gz_n);

    static const struct {
        int64_t offset, ts;
        const char *key, *value;
        int magic;
    } want[] = {
        {10, -1, "k0", "v0", 0},
        {11, 1600000000000, NULL, "v1", 1},
        {12, 1600000000001, "k2", NULL, 1},
        {13, 1600000000010, "a", "inner-a", 1},
        {14, 1600000000011, "b", "inner-b", 1},
        {15, 1600000000012, NULL, "inner-c", 1},
        {16, -1, NULL, "old-a", 0},
        {17, -1, NULL, "old-b", 0},
    };
    kafka_records_iter it;
    kafka_records_iter_init(&it, buf, n, NULL);
    kafka_record rec;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(kafka_records_iter_next(&it, &rec), 1);
        assert_int_equal(it.batch.magic, want[i].magic);
        assert_int_equal(rec.offset, want[i].offset);
        assert_int_equal(rec.timestamp, want[i].ts);
        assert_bytes(rec.key, want[i].key);
        assert_bytes(rec.value, want[i].value);
        assert_int_equal(rec.header_count, 0);
        if (want[i].offset == 13) {
            assert_int_equal(it.batch.codec, KAFKA_CODEC_GZIP);
            assert_int_equal(it.batch.base_offset, 13);
            assert_int_equal(it.batch.record_count, 3);
            assert_int_equal(it.batch.last_offset_delta, 2);
        }
    }
    assert_int_equal(kafka_records_iter_next(&it, &rec), 0);
    assert_false(it.truncated);
    kafka_records_iter_free(&it);

    /* CRC32 is checked */
    buf[n - 1] ^= 0xff; /* last byte: inside the v0 wrapper's gzip payload */
    assert_int_equal(decode_all(buf, n, false), KAFKA_ERR_CRC_MISMATCH);
    buf[n - 1] ^= 0xff;
    buf[28] ^= 0x01; /* "v0" of the first message (bytes 28-29) */
    assert_int_equal(decode_all(buf, n, false), KAFKA_ERR_CRC_MISMATCH);
    buf[28] ^= 0x01;
    assert_int_equal(decode_all(buf, n, false), 0);

    /* every prefix: never an error, partial tail ignored */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        assert_int_equal(decode_all(copy, cut, false), 0);
        free(copy);
    }
}

/* ---- allocations per record ------------------------------------------------- */

static size_t g_allocs;
static void *count_malloc(void *pd, size_t n) { (void)pd; g_allocs++; return malloc(n); }
static void *count_realloc(void *pd, void *p, size_t n) { (void)pd; g_allocs++; return realloc(p, n); }
static void count_free(void *pd, void *p) { (void)pd; free(p); }

static void test_zero_allocations_per_record(void **s)
{
    (void)s;
    kafka_set_allocator(&(kafka_allocator){count_malloc, count_realloc, count_free, NULL});
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    assert_true(kafka_wbuf_reserve(&out, 1 << 20));
    g_allocs = 0;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    char val[100];
    memset(val, 'x', sizeof val);
    const kafka_header h = {"h", 1, "v", 1};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(kafka_batch_builder_append(&b, i, "key", 3, val, 100, &h, 1), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_int_equal(g_allocs, 0);
    kafka_records_iter it;
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    kafka_record rec;
    int n = 0;
    while (kafka_records_iter_next(&it, &rec) == 1)
        n++;
    assert_int_equal(n, 1000);
    assert_int_equal(g_allocs, 0);
    kafka_records_iter_free(&it);
    kafka_wbuf_free(&out);
    kafka_set_allocator(NULL);
}

/* kafka_records_next_offset: the offset after the last whole batch of a
 * fetched blob (batches of 2, 2, 1 records at 0, 2, 4 and a control batch
 * at 5, so 6), not counting a cut-off last batch; -1 when not even one
 * batch is whole. */
static void test_records_next_offset(void **state)
{
    (void)state;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    const char *two[] = {"a", "b"}, *one[] = {"c"};
    assert_int_equal(kt_add_batch(&w, 0, 7, true, two, 2), 0);
    assert_int_equal(kt_add_batch(&w, 2, 0, false, two, 2), 0);
    size_t after_two = w.len;
    assert_int_equal(kt_add_batch(&w, 4, 7, true, one, 1), 0);
    assert_int_equal(kafka_control_batch_encode(&w, 5, 7, 0, KAFKA_CONTROL_COMMIT, 0, 1000), 0);
    assert_false(w.oom);
    assert_int_equal(kafka_records_next_offset(w.data, w.len), 6);
    assert_int_equal(kafka_records_next_offset(w.data, w.len - 3), 5); /* control batch cut */
    assert_int_equal(kafka_records_next_offset(w.data, after_two + 1), 4);
    assert_int_equal(kafka_records_next_offset(w.data, after_two), 4);
    assert_int_equal(kafka_records_next_offset(w.data, 20), -1);
    assert_int_equal(kafka_records_next_offset(w.data, 0), -1);
    kafka_wbuf_free(&w);
}

/* A hostile broker's batch whose offsets run past INT64_MAX: no next
 * offset (a negative one, below any fetch position, so the fetcher does
 * not queue the answer), and no signed overflow on the way (the sanitizer
 * build would abort). */
static void test_records_next_offset_past_int64_max(void **state)
{
    (void)state;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    const char *vals[] = {"x0", "x1", "x2"};
    assert_int_equal(kt_add_batch(&w, INT64_MAX - 1, 9, true, vals, 3), 0); /* lastOffsetDelta 2 */
    assert_false(w.oom);
    assert_true(kafka_records_next_offset(w.data, w.len) < 0);
    kafka_wbuf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_base_and_log_append_time),
        cmocka_unit_test(test_capture_none),
        cmocka_unit_test(test_capture_gzip),
        cmocka_unit_test(test_capture_snappy),
        cmocka_unit_test(test_capture_lz4),
        cmocka_unit_test(test_capture_zstd),
        cmocka_unit_test(test_capture_idempotent),
        cmocka_unit_test(test_capture_transactional),
        cmocka_unit_test(test_encode_matches_librdkafka),
        cmocka_unit_test(test_crc_checked),
        cmocka_unit_test(test_set_producer),
        cmocka_unit_test(test_control_batch_hand_assembled),
        cmocka_unit_test(test_roundtrip_none),
        cmocka_unit_test(test_roundtrip_gzip),
        cmocka_unit_test(test_roundtrip_snappy),
        cmocka_unit_test(test_roundtrip_lz4),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_big_and_many),
        cmocka_unit_test(test_flags_and_log_append_time),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_truncated_tail_ignored),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_record_shapes),
        cmocka_unit_test(test_record_offset_at_int64_max),
        cmocka_unit_test(test_message_set_v0_v1),
        cmocka_unit_test(test_zero_allocations_per_record),
        cmocka_unit_test(test_records_next_offset),
        cmocka_unit_test(test_records_next_offset_past_int64_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
