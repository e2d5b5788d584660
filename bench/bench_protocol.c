/*
 * Protocol core benchmark (issue 3 "Speed"): record batch encode and decode
 * of 1000 x 100-byte records, CRC32C throughput (hardware and portable),
 * and heap allocations per record counted through kafka_set_allocator.
 *
 * Targets: encode <= 30 ns/record, decode <= 20 ns/record, CRC32C >= 5 GB/s
 * with hardware, 0 allocations per record. Prints figures; never fails on
 * speed (a benchmark is not a timed test). librdkafka has no public batch
 * encoder/decoder API, so there is no librdkafka ratio here.
 *
 * Usage: bench_protocol [iterations]   (default 2000 batches per figure)
 *
 * Each figure is the best of ROUNDS rounds (iterations / ROUNDS batches
 * each): on a shared machine the minimum is the figure least disturbed by
 * other processes. Allocation counts cover all rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/alloc.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

enum { RECORDS = 1000, VALUE_SIZE = 100, ROUNDS = 10 };

static size_t g_allocs;
static void *count_malloc(void *pd, size_t n) { (void)pd; g_allocs++; return malloc(n); }
static void *count_realloc(void *pd, void *p, size_t n) { (void)pd; g_allocs++; return realloc(p, n); }
static void count_free(void *pd, void *p) { (void)pd; free(p); }

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint64_t g_sink; /* keeps the optimizer honest */

static void encode_batch(kafka_wbuf *out, const uint8_t *value, const char *key, int32_t key_len,
                         const kafka_header *hdrs, size_t n_hdrs)
{
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    out->len = 0;
    if (kafka_batch_builder_init(&b, out, &cfg))
        abort();
    for (int i = 0; i < RECORDS; i++)
        if (kafka_batch_builder_append(&b, 1700000000000 + i, key, key_len, value, VALUE_SIZE, hdrs, n_hdrs))
            abort();
    if (kafka_batch_builder_finish(&b))
        abort();
}

static void decode_batch(const kafka_wbuf *in)
{
    kafka_records_iter it;
    kafka_records_iter_init(&it, in->data, in->len, NULL);
    kafka_record rec;
    uint64_t sum = 0;
    int n = 0;
    while (kafka_records_iter_next(&it, &rec) == 1) {
        sum += (uint64_t)rec.value.len + (uint64_t)rec.offset;
        n++;
    }
    if (n != RECORDS)
        abort();
    kafka_records_iter_free(&it);
    g_sink += sum;
}

static void bench_records(const char *label, int iters, const char *key, const kafka_header *hdrs, size_t n_hdrs)
{
    uint8_t value[VALUE_SIZE];
    for (int i = 0; i < VALUE_SIZE; i++)
        value[i] = (uint8_t)i;
    int32_t key_len = key ? (int32_t)strlen(key) : -1;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    encode_batch(&out, value, key, key_len, hdrs, n_hdrs); /* warm-up, sizes the buffer */

    int per_round = iters / ROUNDS > 0 ? iters / ROUNDS : 1;
    iters = per_round * ROUNDS;
    double enc = 1e30, dec = 1e30;
    g_allocs = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_ns();
        for (int it = 0; it < per_round; it++)
            encode_batch(&out, value, key, key_len, hdrs, n_hdrs);
        double t = (now_ns() - t0) / ((double)per_round * RECORDS);
        enc = t < enc ? t : enc;
    }
    size_t enc_allocs = g_allocs;

    g_allocs = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_ns();
        for (int it = 0; it < per_round; it++)
            decode_batch(&out);
        double t = (now_ns() - t0) / ((double)per_round * RECORDS);
        dec = t < dec ? t : dec;
    }
    size_t dec_allocs = g_allocs;

    printf("%-34s encode %6.2f ns/record  decode %6.2f ns/record  (batch %zu bytes)\n", label, enc, dec, out.len);
    printf("%-34s allocations/record: encode %.4f, decode %.4f\n", "", (double)enc_allocs / ((double)iters * RECORDS),
           (double)dec_allocs / ((double)iters * RECORDS));
    kafka_wbuf_free(&out);
}

static void bench_codec(kafka_codec codec, int iters)
{
    uint8_t value[VALUE_SIZE];
    for (int i = 0; i < VALUE_SIZE; i++)
        value[i] = (uint8_t)("lorem ipsum dolor sit amet "[i % 27]);
    kafka_wbuf out, scratch;
    kafka_wbuf_init(&out);
    kafka_wbuf_init(&scratch);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.codec = codec;
    cfg.scratch = &scratch;
    double t0 = now_ns();
    for (int it = 0; it < iters; it++) {
        kafka_batch_builder b;
        out.len = 0;
        if (kafka_batch_builder_init(&b, &out, &cfg))
            abort();
        for (int i = 0; i < RECORDS; i++)
            if (kafka_batch_builder_append(&b, 1700000000000 + i, NULL, -1, value, VALUE_SIZE, NULL, 0))
                abort();
        if (kafka_batch_builder_finish(&b))
            abort();
    }
    double enc = (now_ns() - t0) / ((double)iters * RECORDS);
    kafka_records_iter_config icfg = {.scratch = &scratch};
    t0 = now_ns();
    for (int it = 0; it < iters; it++) {
        kafka_records_iter iter;
        kafka_records_iter_init(&iter, out.data, out.len, &icfg);
        kafka_record rec;
        int n = 0;
        while (kafka_records_iter_next(&iter, &rec) == 1)
            n++;
        if (n != RECORDS)
            abort();
    }
    double dec = (now_ns() - t0) / ((double)iters * RECORDS);
    printf("codec %-28s encode %6.2f ns/record  decode %6.2f ns/record  (batch %zu bytes)\n", kafka_codec_name(codec),
           enc, dec, out.len);
    kafka_wbuf_free(&out);
    kafka_wbuf_free(&scratch);
}

static void bench_crc(const char *label, uint32_t (*fn)(uint32_t, const void *, size_t))
{
    enum { SIZE = 1 << 20, PER_ROUND = 200 };
    uint8_t *buf = malloc(SIZE);
    if (!buf)
        abort();
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (uint8_t)(i * 7);
    uint32_t c = fn(0, buf, SIZE); /* warm-up */
    double best = 1e30;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_ns();
        for (int r = 0; r < PER_ROUND; r++)
            c = fn(c, buf, SIZE);
        double secs = (now_ns() - t0) / 1e9;
        best = secs < best ? secs : best;
    }
    g_sink += c;
    printf("crc32c %-27s %6.2f GB/s\n", label, (double)SIZE * PER_ROUND / best / 1e9);
    free(buf);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    if (iters <= 0)
        iters = 2000;
    kafka_set_allocator(&(kafka_allocator){count_malloc, count_realloc, count_free, NULL});
    printf("bench_protocol: %d batches x %d records x %d-byte values\n", iters, RECORDS, VALUE_SIZE);
    printf("targets: encode <= 30 ns/record, decode <= 20 ns/record, crc32c >= 5 GB/s (hw), 0 allocs/record\n");
    bench_records("no key, no headers", iters, NULL, NULL, 0);
    const kafka_header hdrs[2] = {{"trace-id", 8, "0123456789abcdef", 16}, {"type", 4, "event", 5}};
    bench_records("16-byte key, 2 headers", iters, "user-0000000042", hdrs, 2);
    for (int c = KAFKA_CODEC_GZIP; c <= KAFKA_CODEC_ZSTD; c++)
        bench_codec((kafka_codec)c, iters / 10 > 0 ? iters / 10 : 1);
    if (kafka_crc32c_hw_available())
        bench_crc(kafka_crc32c_impl_name(), kafka_crc32c_hw);
    else
        printf("crc32c hardware: not available on this CPU\n");
    bench_crc("portable (slicing-by-8)", kafka_crc32c_sw);
    kafka_set_allocator(NULL);
    return 0;
}
