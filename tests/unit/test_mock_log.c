/* kafka_mock's partition log (src/mock/mock_log.c): offsets assigned,
 * batches validated (CRC, codec, framing), idempotent producers' sequences
 * and epochs enforced as Kafka does, retention by bytes, timestamp
 * lookups. Batches come from the library's batch builder; the expected
 * offsets and error codes are Kafka's rules written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mock/mock_log.h"
#include "protocol/record_batch.h"

/* One batch of n records "v0".."v<n-1>" with timestamps ts0, ts0+1, ... */
static void batch(kafka_wbuf *w, kafka_codec codec, int64_t pid, int16_t epoch, int32_t seq, int n, int64_t ts0)
{
    kafka_batch_builder b;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    char v[16];

    cfg.codec = codec;
    cfg.producer_id = pid;
    cfg.producer_epoch = pid >= 0 ? epoch : -1;
    cfg.base_sequence = pid >= 0 ? seq : -1;
    assert_int_equal(kafka_batch_builder_init(&b, w, &cfg), 0);
    for (int i = 0; i < n; i++) {
        int len = snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(kafka_batch_builder_append(&b, ts0 + i, NULL, -1, v, len, NULL, 0), 0);
    }
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
}

static kmock_append_result append(kmock_log *l, kafka_codec codec, int64_t pid, int16_t epoch, int32_t seq, int n)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    batch(&w, codec, pid, epoch, seq, n, 1000);
    kmock_append_result r = kmock_log_append(l, w.data, w.len, &(kmock_append_rules){.leader_epoch = 3, .log_append_time = -1});
    kafka_wbuf_free(&w);
    return r;
}

static void test_offsets_and_codecs(void **state)
{
    (void)state;
    kmock_log l;
    kmock_log_init(&l, 1 << 20);
    const kafka_codec codecs[] = {KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4,
                                  KAFKA_CODEC_ZSTD};
    for (int i = 0; i < 5; i++) {
        kmock_append_result r = append(&l, codecs[i], -1, 0, 0, 3);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.base_offset, 3 * i);
    }
    assert_int_equal(l.log_end, 15);
    assert_int_equal(l.n, 5);
    /* the stored batch carries the assigned base offset and leader epoch */
    kafka_records_iter it;
    const kafka_record_batch *rb;
    const kmock_batch *b = kmock_log_batch(&l, 2);
    kafka_records_iter_init(&it, b->data, b->len, NULL);
    assert_int_equal(kafka_records_iter_next_batch(&it, &rb), 1);
    assert_int_equal(rb->base_offset, 6);
    assert_int_equal(rb->partition_leader_epoch, 3);
    kafka_records_iter_free(&it);
    assert_int_equal(kmock_log_find(&l, 7), 2);
    assert_int_equal(kmock_log_find(&l, 15), 5);
    kmock_log_free(&l);
}

static void test_rejects_corrupt(void **state)
{
    (void)state;
    kmock_log l;
    kafka_wbuf w;
    kmock_log_init(&l, 1 << 20);
    kafka_wbuf_init(&w);
    batch(&w, KAFKA_CODEC_NONE, -1, 0, 0, 2, 1000);
    w.data[w.len - 1] ^= 0x01; /* a record byte: the CRC no longer matches */
    assert_int_equal(kmock_log_append(&l, w.data, w.len, &(kmock_append_rules){.log_append_time = -1}).error, 2 /* CORRUPT_MESSAGE */);
    assert_int_equal(kmock_log_append(&l, w.data, 30, &(kmock_append_rules){.log_append_time = -1}).error, 2); /* a partial batch only */
    assert_int_equal(l.log_end, 0);
    kafka_wbuf_free(&w);
    kmock_log_free(&l);
}

static void test_one_batch_and_keys(void **state)
{
    (void)state;
    kmock_log l;
    kafka_wbuf w;
    kmock_log_init(&l, 1 << 20);
    kafka_wbuf_init(&w);
    batch(&w, KAFKA_CODEC_NONE, -1, 0, 0, 2, 1000);
    batch(&w, KAFKA_CODEC_NONE, -1, 0, 0, 2, 1000); /* a second batch for the same partition */
    assert_int_equal(kmock_log_append(&l, w.data, w.len, &(kmock_append_rules){.log_append_time = -1}).error,
                     87 /* INVALID_RECORD */);
    assert_int_equal(l.log_end, 0);
    /* compacted topic: records without keys are refused, by index */
    w.len = 0;
    batch(&w, KAFKA_CODEC_GZIP, -1, 0, 0, 3, 1000); /* the helper writes no keys */
    kmock_append_result r =
        kmock_log_append(&l, w.data, w.len, &(kmock_append_rules){.log_append_time = -1, .require_keys = true});
    assert_int_equal(r.error, 87);
    assert_int_equal(r.nbad, 3);
    assert_int_equal(r.bad_records[0], 0);
    assert_int_equal(r.bad_records[2], 2);
    assert_int_equal(l.log_end, 0);
    kafka_wbuf_free(&w);
    kmock_log_free(&l);
}

static void test_idempotent_sequences(void **state)
{
    (void)state;
    kmock_log l;
    kmock_log_init(&l, 1 << 20);
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 5, 1).error, 59); /* UNKNOWN_PRODUCER_ID */
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 0, 2).base_offset, 0); /* seq 0-1 */
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 2, 2).base_offset, 2); /* seq 2-3 */
    /* a retry of a recent batch: no error, the original offset, nothing appended */
    kmock_append_result dup = append(&l, KAFKA_CODEC_NONE, 42, 0, 0, 2);
    assert_int_equal(dup.error, 0);
    assert_true(dup.duplicate);
    assert_int_equal(dup.base_offset, 0);
    assert_int_equal(l.log_end, 4);
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 7, 1).error, 45); /* gap: OUT_OF_ORDER */
    /* six more batches push seq 0-1 out of the five remembered */
    for (int32_t s = 4; s < 10; s++)
        assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, s, 1).error, 0);
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 0, 2).error, 46); /* DUPLICATE_SEQUENCE_NUMBER */
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 1, 3, 1).error, 45); /* new epoch must start at 0 */
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 1, 0, 1).error, 0);
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 0, 10, 1).error, 47); /* old epoch is fenced now */
    /* another producer is independent */
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 43, 0, 0, 1).error, 0);
    kmock_log_forget_producers(&l);
    assert_int_equal(append(&l, KAFKA_CODEC_NONE, 42, 1, 1, 1).error, 59);
    kmock_log_free(&l);
}

static void test_retention_by_bytes(void **state)
{
    (void)state;
    kmock_log l;
    kmock_log_init(&l, 4096);
    for (int i = 0; i < 200; i++)
        assert_int_equal(append(&l, KAFKA_CODEC_NONE, -1, 0, 0, 10).error, 0);
    assert_int_equal(l.log_end, 2000);
    assert_true(l.bytes <= 4096);
    assert_true(l.log_start > 0);
    assert_int_equal(l.log_start, kmock_log_batch(&l, 0)->base_offset);
    assert_int_equal(kmock_log_find(&l, 0), 0); /* before the start: the first batch kept */
    kmock_log_free(&l);
}

static void test_timestamps(void **state)
{
    (void)state;
    kmock_log l;
    kafka_wbuf w;
    int64_t off, ts;
    kmock_log_init(&l, 1 << 20);
    kafka_wbuf_init(&w);
    batch(&w, KAFKA_CODEC_LZ4, -1, 0, 0, 5, 100); /* offsets 0-4, ts 100-104 */
    assert_int_equal(kmock_log_append(&l, w.data, w.len, &(kmock_append_rules){.log_append_time = -1}).error, 0);
    w.len = 0;
    batch(&w, KAFKA_CODEC_NONE, -1, 0, 0, 5, 50); /* offsets 5-9, ts 50-54 */
    assert_int_equal(kmock_log_append(&l, w.data, w.len, &(kmock_append_rules){.log_append_time = -1}).error, 0);
    kmock_log_offset_for_time(&l, 102, &off, &ts);
    assert_int_equal(off, 2);
    assert_int_equal(ts, 102);
    kmock_log_offset_for_time(&l, 0, &off, &ts);
    assert_int_equal(off, 0);
    kmock_log_offset_for_time(&l, 105, &off, &ts);
    assert_int_equal(off, -1);
    kmock_log_max_timestamp(&l, &off, &ts);
    assert_int_equal(off, 4);
    assert_int_equal(ts, 104);
    kafka_wbuf_free(&w);
    kmock_log_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_and_codecs),  cmocka_unit_test(test_rejects_corrupt),
        cmocka_unit_test(test_one_batch_and_keys),
        cmocka_unit_test(test_idempotent_sequences), cmocka_unit_test(test_retention_by_bytes),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
