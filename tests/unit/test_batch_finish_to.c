/* kafka_batch_builder_finish_to: the finished batch goes to another buffer
 * and the builder's own buffer keeps the records as appended (the writer
 * relies on that to report compressed batches to the completion callback
 * without decompressing them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress/compress.h"
#include "protocol/record_batch.h"

#define NREC 300

static const kafka_codec codecs[] = {KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4,
                                     KAFKA_CODEC_ZSTD};

/* Appends NREC records (some with headers, null keys, null values). */
static void append_all(kafka_batch_builder *b)
{
    static const kafka_header h[2] = {{.key = "h1", .key_len = 2, .value = "v", .value_len = 1},
                                      {.key = "h2", .key_len = 2, .value = NULL}};
    for (int i = 0; i < NREC; i++) {
        char key[16], val[128];
        int kl = snprintf(key, sizeof key, "k%d", i);
        int vl = snprintf(val, sizeof val, "value %d of the batch, compressible compressible", i);
        assert_int_equal(kafka_batch_builder_append(b, 1700000000000 + i, i % 7 ? key : NULL, i % 7 ? kl : -1,
                                                    i % 11 ? val : NULL, i % 11 ? vl : -1, i % 5 ? NULL : h,
                                                    i % 5 ? 0 : 2),
                         0);
    }
}

/* Decodes batch[0..n) and checks it holds what append_all wrote. */
static void check_batch(const uint8_t *batch, size_t n, kafka_codec codec)
{
    kafka_records_iter it;
    kafka_records_iter_init(&it, batch, n, NULL);
    const kafka_record_batch *rb;
    assert_int_equal(kafka_records_iter_next_batch(&it, &rb), 1);
    assert_int_equal(rb->codec, codec);
    assert_int_equal(rb->record_count, NREC);
    kafka_record rec;
    for (int i = 0; i < NREC; i++) {
        assert_int_equal(kafka_records_iter_next_record(&it, &rec), 1);
        char key[16], val[128];
        int kl = snprintf(key, sizeof key, "k%d", i);
        int vl = snprintf(val, sizeof val, "value %d of the batch, compressible compressible", i);
        assert_int_equal(rec.timestamp, 1700000000000 + i);
        assert_int_equal(rec.key.len, i % 7 ? kl : -1);
        if (i % 7)
            assert_memory_equal(rec.key.ptr, key, (size_t)kl);
        assert_int_equal(rec.value.len, i % 11 ? vl : -1);
        if (i % 11)
            assert_memory_equal(rec.value.ptr, val, (size_t)vl);
        size_t pos = 0, nh = 0;
        kafka_header h;
        while (kafka_record_header_next(&rec, &pos, &h))
            nh++;
        assert_int_equal(nh, i % 5 ? 0 : 2);
    }
    assert_int_equal(kafka_records_iter_next_record(&it, &rec), 0);
    assert_int_equal(kafka_records_iter_next_batch(&it, &rb), 0);
    kafka_records_iter_free(&it);
}

static void test_finish_to_every_codec(void **state)
{
    (void)state;
    kafka_compressor *z = kafka_compressor_new();
    assert_non_null(z);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        for (int use_z = 0; use_z < 2; use_z++) {
            kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
            cfg.codec = codecs[c];
            /* Reference: the same records finished in place. */
            kafka_wbuf ref, out, dst;
            kafka_wbuf_init(&ref);
            kafka_wbuf_init(&out);
            kafka_wbuf_init(&dst);
            kafka_batch_builder rb, b;
            assert_int_equal(kafka_batch_builder_init(&rb, &ref, &cfg), 0);
            append_all(&rb);
            assert_int_equal(kafka_batch_builder_finish(&rb), 0);

            kafka_put_raw(&out, "xy", 2); /* the batch need not start at 0 */
            assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
            append_all(&b);
            size_t before = out.len;
            uint8_t *records = malloc(before);
            assert_non_null(records);
            memcpy(records, out.data, before);
            kafka_put_raw(&dst, "prefix", 6); /* appended after what dst holds */
            /* dst must be another buffer. */
            assert_int_equal(kafka_batch_builder_finish_to(&b, &out, z), KAFKA_ERR_INVALID_ARG);
            assert_int_equal(kafka_batch_builder_finish_to(&b, &dst, use_z ? z : NULL), 0);
            assert_memory_equal(dst.data, "prefix", 6);
            check_batch(dst.data + 6, dst.len - 6, codecs[c]);
            /* Same batch as the in-place finish (compressed bytes may differ
             * for lz4 with a kept context, so compare what they decode to;
             * uncompressed ones are byte for byte the same). */
            if (codecs[c] == KAFKA_CODEC_NONE) {
                assert_int_equal(dst.len - 6, ref.len);
                assert_memory_equal(dst.data + 6, ref.data, ref.len);
            }
            /* The builder's buffer still holds the records, untouched
             * after the header's first bytes. */
            assert_int_equal(out.len, before);
            assert_memory_equal(out.data + 2 + KAFKA_RECORD_BATCH_HEADER_SIZE,
                                records + 2 + KAFKA_RECORD_BATCH_HEADER_SIZE,
                                before - 2 - KAFKA_RECORD_BATCH_HEADER_SIZE);
            assert_int_equal(kafka_batch_builder_start(&b), 2);
            /* Finished: no more records, no second finish. */
            assert_int_equal(kafka_batch_builder_append(&b, 0, NULL, -1, "v", 1, NULL, 0), KAFKA_ERR_INVALID_ARG);
            assert_int_equal(kafka_batch_builder_finish_to(&b, &dst, z), KAFKA_ERR_INVALID_ARG);
            assert_int_equal(kafka_batch_builder_finish(&b), KAFKA_ERR_INVALID_ARG);
            free(records);
            kafka_wbuf_free(&ref);
            kafka_wbuf_free(&out);
            kafka_wbuf_free(&dst);
        }
    }
    kafka_compressor_free(z);
}

/* Errors leave dst as it was and the builder finishable. */
static void test_finish_to_errors(void **state)
{
    (void)state;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.codec = KAFKA_CODEC_ZSTD;
    cfg.compression_level = 1000; /* out of zstd's range: fails at finish */
    kafka_wbuf out, dst;
    kafka_wbuf_init(&out);
    kafka_wbuf_init(&dst);
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    /* Empty batch. */
    assert_int_equal(kafka_batch_builder_finish_to(&b, &dst, NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(dst.len, 0);
    append_all(&b);
    kafka_put_raw(&dst, "keep", 4);
    assert_int_equal(kafka_batch_builder_finish_to(&b, &dst, NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(dst.len, 4);
    assert_false(dst.oom);
    /* Fixed level: the same builder finishes. */
    b.cfg.compression_level = KAFKA_COMPRESSION_LEVEL_DEFAULT;
    assert_int_equal(kafka_batch_builder_finish_to(&b, &dst, NULL), 0);
    check_batch(dst.data + 4, dst.len - 4, KAFKA_CODEC_ZSTD);
    assert_int_equal(kafka_batch_builder_finish_to(NULL, &dst, NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_finish_to(&b, NULL, NULL), KAFKA_ERR_INVALID_ARG);
    kafka_wbuf_free(&out);
    kafka_wbuf_free(&dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finish_to_every_codec),
        cmocka_unit_test(test_finish_to_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
