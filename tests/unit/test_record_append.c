/*
 * Appending records to a v2 batch: kafka_batch_builder_append and its
 * inline header-less variant kafka_batch_builder_append_no_headers.
 *
 * Every record appended is compared byte for byte with a reference encoder
 * written here from Kafka's message format documentation (record = length
 * varint, attributes, timestamp delta varint, offset delta varint, key,
 * value, headers; every varint zigzag, loop-encoded), and the size helpers'
 * predictions with the bytes written. The shapes straddle every width
 * boundary of every varint (1/2/3/4+ bytes), null/empty/long keys and
 * values, headers with null values, timestamps before and after the first
 * one, and the limits (2 GiB batch, INT32_MAX records, hostile lengths).
 * The batches are then decoded and must give back exactly what went in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/record_batch.h"

/* ---- reference encoder ----------------------------------------------------- */

static size_t ref_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static size_t ref_varint(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    return ref_uvarint(p, (u << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static size_t ref_bytes(uint8_t *p, const void *data, int64_t len)
{
    size_t n = ref_varint(p, len);
    if (len > 0) {
        memcpy(p + n, data, (size_t)len);
        n += (size_t)len;
    }
    return n;
}

/* One record as Kafka documents it; returns its size. out must be large
 * enough (the caller sizes it from the inputs). */
static size_t ref_record(uint8_t *out, int64_t ts_delta, int32_t offset_delta, const void *key, int32_t key_len,
                         const void *value, int32_t value_len, const kafka_header *hdrs, size_t n_hdrs,
                         size_t body_cap)
{
    uint8_t *body = malloc(body_cap);
    assert_non_null(body);
    size_t n = 0;
    body[n++] = 0; /* attributes */
    n += ref_varint(body + n, ts_delta);
    n += ref_varint(body + n, offset_delta);
    n += ref_bytes(body + n, key, key_len);
    n += ref_bytes(body + n, value, value_len);
    n += ref_varint(body + n, (int64_t)n_hdrs);
    for (size_t i = 0; i < n_hdrs; i++) {
        n += ref_bytes(body + n, hdrs[i].key, (int64_t)hdrs[i].key_len);
        n += ref_bytes(body + n, hdrs[i].value, hdrs[i].value ? (int64_t)hdrs[i].value_len : -1);
    }
    assert_true(n <= body_cap);
    size_t l = ref_varint(out, (int64_t)n);
    memcpy(out + l, body, n);
    free(body);
    return l + n;
}

/* ---- a record to append, and the check of one append ------------------------ */

typedef struct rec_in {
    int64_t ts;
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    const kafka_header *hdrs;
    size_t n_hdrs;
} rec_in;

static size_t hdrs_bytes(const kafka_header *h, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i].key_len + h[i].value_len;
    return s;
}

/* Appends r to b (through the header-less variant when no_hdr_api), and
 * checks the size prediction and the bytes against the reference. */
static void append_checked(kafka_batch_builder *b, const rec_in *r, bool no_hdr_api)
{
    size_t predicted = kafka_batch_builder_record_size(b, r->ts, r->key_len, r->value_len, r->hdrs, r->n_hdrs);
    size_t bound = kafka_record_size_bound(r->key_len, r->value_len, r->hdrs, r->n_hdrs);
    int64_t delta = b->count ? (int64_t)((uint64_t)r->ts - (uint64_t)b->base_timestamp) : 0;
    int32_t offset_delta = b->count;
    size_t before = b->out->len;
    kafka_err err = no_hdr_api ? kafka_batch_builder_append_no_headers(b, r->ts, r->key, r->key_len, r->value,
                                                                       r->value_len)
                               : kafka_batch_builder_append(b, r->ts, r->key, r->key_len, r->value, r->value_len,
                                                            r->hdrs, r->n_hdrs);
    assert_int_equal(err, 0);
    size_t wrote = b->out->len - before;
    assert_int_equal(wrote, predicted);
    assert_true(predicted <= bound);

    size_t cap = 64 + (size_t)(r->key_len > 0 ? r->key_len : 0) + (size_t)(r->value_len > 0 ? r->value_len : 0) +
                 20 * r->n_hdrs + hdrs_bytes(r->hdrs, r->n_hdrs);
    uint8_t *want = malloc(cap + 8);
    assert_non_null(want);
    size_t want_len = ref_record(want, delta, offset_delta, r->key, r->key_len, r->value, r->value_len, r->hdrs,
                                 r->n_hdrs, cap);
    assert_int_equal(wrote, want_len);
    assert_memory_equal(b->out->data + before, want, want_len);
    free(want);
}

static void assert_bytes_eq(kafka_bytes got, const uint8_t *data, int32_t len)
{
    if (len < 0) {
        assert_true(got.len < 0);
        return;
    }
    assert_int_equal(got.len, len);
    if (len > 0)
        assert_memory_equal(got.ptr, data, (size_t)len);
}

/* Decodes out (one batch) and checks it holds recs[0..n) exactly. */
static void check_decoded(const kafka_wbuf *out, const rec_in *recs, size_t n)
{
    kafka_records_iter it;
    kafka_records_iter_init(&it, out->data, out->len, NULL);
    const kafka_record_batch *bt;
    assert_int_equal(kafka_records_iter_next_batch(&it, &bt), 1);
    assert_int_equal(bt->record_count, (int32_t)n);
    assert_int_equal(bt->last_offset_delta, (int32_t)n - 1);
    assert_int_equal(bt->base_timestamp, recs[0].ts);
    int64_t max_ts = recs[0].ts;
    for (size_t i = 1; i < n; i++)
        max_ts = recs[i].ts > max_ts ? recs[i].ts : max_ts;
    assert_int_equal(bt->max_timestamp, max_ts);
    for (size_t i = 0; i < n; i++) {
        kafka_record rec;
        assert_int_equal(kafka_records_iter_next_record(&it, &rec), 1);
        assert_int_equal(rec.offset, (int64_t)i);
        assert_int_equal(rec.timestamp, recs[i].ts);
        assert_bytes_eq(rec.key, recs[i].key, recs[i].key_len);
        assert_bytes_eq(rec.value, recs[i].value, recs[i].value_len);
        assert_int_equal(rec.header_count, (int32_t)recs[i].n_hdrs);
        size_t pos = 0;
        kafka_header h;
        for (size_t j = 0; j < recs[i].n_hdrs; j++) {
            const kafka_header *w = &recs[i].hdrs[j];
            assert_true(kafka_record_header_next(&rec, &pos, &h));
            assert_int_equal(h.key_len, w->key_len);
            if (w->key_len)
                assert_memory_equal(h.key, w->key, w->key_len);
            assert_true((h.value == NULL) == (w->value == NULL));
            if (w->value) {
                assert_int_equal(h.value_len, w->value_len);
                if (w->value_len)
                    assert_memory_equal(h.value, w->value, w->value_len);
            }
        }
        assert_false(kafka_record_header_next(&rec, &pos, &h));
    }
    kafka_record rec;
    assert_int_equal(kafka_records_iter_next(&it, &rec), 0);
    assert_false(it.truncated);
    kafka_records_iter_free(&it);
}

/* Builds one batch of recs through the chosen API, checking every append,
 * then the decoded batch. */
static void build_and_check(const rec_in *recs, size_t n, bool no_hdr_api)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    for (size_t i = 0; i < n; i++)
        append_checked(&b, &recs[i], no_hdr_api && recs[i].n_hdrs == 0);
    assert_int_equal(kafka_batch_builder_count(&b), (int32_t)n);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    check_decoded(&out, recs, n);
    kafka_wbuf_free(&out);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + seed);
    return p;
}

/* ---- shapes ------------------------------------------------------------------ */

/* Lengths around every varint width boundary of a length (zigzag 2n:
 * 1 byte below 64, 2 below 8192, 3 below 2^20) and the fast path's own
 * thresholds (key + value near 58 and 8178, where the record length varint
 * changes width). -1 is null. */
static const int32_t small_lens[] = {-1, 0, 1, 2, 7, 30, 49, 50, 51, 56, 57, 58, 63, 64, 65, 100,
                                     8177, 8178, 8183, 8184, 8185, 8191, 8192};

/* Every combination of key and value length from small_lens, with no
 * headers, through both APIs; timestamps move back and forth around the
 * first one by deltas of every varint width. */
static void test_key_value_combinations(void **s)
{
    (void)s;
    enum { NL = sizeof small_lens / sizeof small_lens[0] };
    static const int64_t deltas[] = {0, 1, -1, 31, -32, 63, -64, 64, 8191, -8192, 8192, 1048575, -1048576, 1048576};
    enum { ND = sizeof deltas / sizeof deltas[0] };
    uint8_t *kbuf = pattern(8192, 1), *vbuf = pattern(8192, 2);
    rec_in recs[NL * NL];
    size_t n = 0;
    for (size_t i = 0; i < NL; i++)
        for (size_t j = 0; j < NL; j++) {
            int32_t kl = small_lens[i], vl = small_lens[j];
            recs[n] = (rec_in){.ts = 1700000000000 + deltas[n % ND],
                               .key = kl < 0 ? NULL : kbuf,
                               .key_len = kl,
                               .value = vl < 0 ? NULL : vbuf,
                               .value_len = vl};
            n++;
        }
    build_and_check(recs, n, false);
    build_and_check(recs, n, true);
    free(kbuf);
    free(vbuf);
}

/* Large keys and values: 3-byte length varints up to the fast path's
 * 1 MiB limit, and past it (4 bytes, the general path). */
static void test_long_keys_and_values(void **s)
{
    (void)s;
    static const int32_t big[] = {8193, 100000, (1 << 20) - 2, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20};
    enum { NB = sizeof big / sizeof big[0] };
    uint8_t *kbuf = pattern(3 << 20, 3), *vbuf = pattern(3 << 20, 4);
    rec_in recs[4 * NB];
    size_t n = 0;
    for (size_t i = 0; i < NB; i++) {
        recs[n++] = (rec_in){.ts = 5 + (int64_t)i, .key = NULL, .key_len = -1, .value = vbuf, .value_len = big[i]};
        recs[n++] = (rec_in){.ts = 5 - (int64_t)i, .key = kbuf, .key_len = big[i], .value = NULL, .value_len = -1};
        recs[n++] = (rec_in){.ts = 7, .key = kbuf, .key_len = 0, .value = vbuf, .value_len = big[i]};
        recs[n++] = (rec_in){.ts = 7, .key = kbuf, .key_len = big[i], .value = vbuf, .value_len = 1};
    }
    build_and_check(recs, n, false);
    build_and_check(recs, n, true);
    free(kbuf);
    free(vbuf);
}

/* Headers (null values, empty keys and values, long ones) mixed with
 * header-less records and null/empty/long keys and values. */
static void test_headers_mixed(void **s)
{
    (void)s;
    uint8_t *big = pattern(10000, 5);
    const kafka_header h1[1] = {{"null-value", 10, NULL, 0}};
    const kafka_header h3[3] = {{"", 0, "", 0}, {"k", 1, NULL, 0}, {(const char *)big, 200, big, 9000}};
    static const int32_t lens[] = {-1, 0, 5, 200, 9000};
    enum { NL = sizeof lens / sizeof lens[0] };
    rec_in recs[NL * NL * 3];
    size_t n = 0;
    for (size_t i = 0; i < NL; i++)
        for (size_t j = 0; j < NL; j++)
            for (size_t h = 0; h < 3; h++) {
                int32_t kl = lens[i], vl = lens[j];
                recs[n] = (rec_in){.ts = 1000 + (n % 2 ? -(int64_t)n * 7 : (int64_t)n * 300),
                                   .key = kl < 0 ? NULL : big,
                                   .key_len = kl,
                                   .value = vl < 0 ? NULL : big + 1,
                                   .value_len = vl,
                                   .hdrs = h == 0 ? NULL : h == 1 ? h1 : h3,
                                   .n_hdrs = h == 0 ? 0 : h == 1 ? 1 : 3};
                n++;
            }
    build_and_check(recs, n, false);
    build_and_check(recs, n, true);
    free(big);
}

/* Offset deltas cross 64 (2-byte varint) and 8192 (3 bytes); timestamp
 * extremes wrap the delta the same way on both sides. */
static void test_many_records_and_extreme_timestamps(void **s)
{
    (void)s;
    enum { N = 8300 };
    rec_in *recs = calloc(N, sizeof *recs);
    assert_non_null(recs);
    static const uint8_t v[3] = {7, 8, 9};
    static const int64_t odd_ts[] = {INT64_MAX, INT64_MIN, -1, 0, INT64_MAX - 1, 1700000000000 - (1 << 21)};
    for (size_t i = 0; i < N; i++) {
        int64_t ts = 1700000000000 + (int64_t)(i % 97) - 40;
        if (i % 1000 == 999)
            ts = odd_ts[(i / 1000) % (sizeof odd_ts / sizeof odd_ts[0])];
        recs[i] = (rec_in){.ts = ts, .key = NULL, .key_len = -1, .value = v, .value_len = (int32_t)(i % 4)};
    }
    build_and_check(recs, N, false);
    build_and_check(recs, N, true);
    /* the first record far from the epoch, the second at an extreme */
    rec_in two[2] = {{.ts = INT64_MIN, .key_len = -1, .value = v, .value_len = 1},
                     {.ts = INT64_MAX, .key_len = -1, .value = v, .value_len = 1}};
    build_and_check(two, 2, true);
    free(recs);
}

/* ---- limits and errors ----------------------------------------------------------- */

/* Lengths near INT32_MAX / SIZE_MAX are rejected or reported exactly,
 * never wrapped; nothing is read from the (tiny) buffers behind them. */
static void test_hostile_lengths(void **s)
{
    (void)s;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    static const uint8_t tiny[1] = {0};

    /* exact sizes for the largest lengths: 5-byte length varints, and a
     * 5-byte record length */
    uint64_t body = 1 + 1 + 1 + (5 + (uint64_t)INT32_MAX) + (5 + (uint64_t)INT32_MAX) + 1;
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, INT32_MAX, INT32_MAX, NULL, 0), (size_t)(5 + body));
    assert_true(kafka_record_size_bound(INT32_MAX, INT32_MAX, NULL, 0) >= (size_t)(5 + body));
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, -2, 1, NULL, 0), SIZE_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, INT32_MIN, NULL, 0), SIZE_MAX);
    assert_int_equal(kafka_record_size_bound(INT32_MIN, 1, NULL, 0), SIZE_MAX);

    /* header lengths past INT32_MAX (size_t in kafka_header) are invalid,
     * a null value's length included */
    const kafka_header bad_key[1] = {{"k", (size_t)INT32_MAX + 1, NULL, 0}};
    const kafka_header bad_val[1] = {{"k", 1, "v", SIZE_MAX}};
    const kafka_header bad_null[1] = {{"k", 1, NULL, SIZE_MAX}};
    const kafka_header one_max[1] = {{"k", INT32_MAX, "v", INT32_MAX}};
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, bad_key, 1), SIZE_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, bad_val, 1), SIZE_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, bad_null, 1), SIZE_MAX);
    assert_int_equal(kafka_record_size_bound(1, 1, bad_val, 1), SIZE_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, NULL, 1), SIZE_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, one_max, (size_t)INT32_MAX + 1), SIZE_MAX);
    /* the largest valid header: exact, no wrap */
    uint64_t hbody = 1 + 1 + 1 + 2 + 2 + 1 + 2 * (5 + (uint64_t)INT32_MAX);
    assert_int_equal(kafka_batch_builder_record_size(&b, 0, 1, 1, one_max, 1), (size_t)(5 + hbody));
    assert_true(kafka_record_size_bound(1, 1, one_max, 1) >= (size_t)(5 + hbody));

    /* appends that cannot fit are refused before any byte is read */
    size_t len0 = out.len;
    assert_int_equal(kafka_batch_builder_append(&b, 0, tiny, INT32_MAX, NULL, -1, NULL, 0), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, NULL, -1, tiny, INT32_MAX), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(kafka_batch_builder_append(&b, 0, NULL, -1, tiny, 1, one_max, 1), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(kafka_batch_builder_append(&b, 0, NULL, -1, tiny, 1, bad_val, 1), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, NULL, -2, tiny, 1), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, NULL, 1, tiny, 1), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, tiny, 1, NULL, 1), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, tiny, 1, tiny, INT32_MIN), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_batch_builder_append_no_headers(NULL, 0, tiny, 1, tiny, 1), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(out.len, len0);
    assert_int_equal(kafka_batch_builder_count(&b), 0);

    /* INT32_MAX records: the next one is refused */
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, NULL, -1, tiny, 1), 0);
    len0 = out.len;
    b.count = INT32_MAX;
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 0, NULL, -1, tiny, 1), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(kafka_batch_builder_append(&b, 0, NULL, -1, tiny, 1, NULL, 0), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(out.len, len0);
    assert_int_equal(b.count, INT32_MAX);
    kafka_wbuf_free(&out);
}

/* A batch just under 2 GiB takes a record that ends exactly at the limit
 * (batchLength = INT32_MAX) and refuses one byte more. The builder is made
 * to believe the batch is that big by moving its start back: no 2 GiB
 * buffer is needed, and a wrong check would write past the small one
 * (caught by ASan). */
static void test_two_gib_limit(void **s)
{
    (void)s;
    static const uint8_t v[64] = {1};
    for (int api = 0; api < 2; api++) {
        kafka_wbuf out;
        kafka_wbuf_init(&out);
        kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
        kafka_batch_builder b;
        assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
        /* room of 40 bytes: batchLength (size - 12) may grow to INT32_MAX */
        size_t size = (size_t)INT32_MAX + KAFKA_LOG_OVERHEAD - 40;
        b.start = out.len - size;
        /* a 40-byte record: length 1, attributes 1, ts 1, offset 1, key 1,
         * value length 1 + 33 bytes, header count 1 */
        size_t rs = kafka_batch_builder_record_size(&b, 5, -1, 33, NULL, 0);
        assert_int_equal(rs, 40);
        size_t len0 = out.len;
        kafka_err e = api ? kafka_batch_builder_append_no_headers(&b, 5, NULL, -1, v, 34)
                          : kafka_batch_builder_append(&b, 5, NULL, -1, v, 34, NULL, 0);
        assert_int_equal(e, KAFKA_ERR_TOO_LARGE);
        assert_int_equal(out.len, len0);
        assert_int_equal(kafka_batch_builder_count(&b), 0);
        e = api ? kafka_batch_builder_append_no_headers(&b, 5, NULL, -1, v, 33)
                : kafka_batch_builder_append(&b, 5, NULL, -1, v, 33, NULL, 0);
        assert_int_equal(e, 0);
        assert_int_equal(out.len - len0, 40);
        assert_int_equal(kafka_batch_builder_size(&b) - KAFKA_LOG_OVERHEAD, (size_t)INT32_MAX);
        e = api ? kafka_batch_builder_append_no_headers(&b, 6, NULL, -1, NULL, -1)
                : kafka_batch_builder_append(&b, 6, NULL, -1, NULL, -1, NULL, 0);
        assert_int_equal(e, KAFKA_ERR_TOO_LARGE);
        kafka_wbuf_free(&out);
    }
}

/* The buffer grows when needed, and a buffer that failed an allocation
 * (oom) refuses appends without touching anything. */
static void test_growth_and_oom(void **s)
{
    (void)s;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    uint8_t *v = pattern(1000, 9);
    rec_in recs[300];
    for (int i = 0; i < 300; i++)
        recs[i] = (rec_in){.ts = i, .key_len = -1, .value = v, .value_len = (i * 37) % 1000};
    for (int i = 0; i < 300; i++) {
        size_t cap0 = out.cap;
        append_checked(&b, &recs[i], true);
        assert_true(out.cap >= cap0);
    }
    size_t len0 = out.len;
    out.oom = true;
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 1, NULL, -1, v, 1), KAFKA_ERR_NOMEM);
    assert_int_equal(kafka_batch_builder_append(&b, 1, NULL, -1, v, 1, NULL, 0), KAFKA_ERR_NOMEM);
    assert_int_equal(out.len, len0);
    assert_int_equal(kafka_batch_builder_count(&b), 300);
    out.oom = false;
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    check_decoded(&out, recs, 300);
    kafka_wbuf_free(&out);
    free(v);

    /* a finished builder refuses through both APIs */
    kafka_wbuf_init(&out);
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 1, NULL, -1, NULL, -1), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_int_equal(kafka_batch_builder_append_no_headers(&b, 1, NULL, -1, NULL, -1), KAFKA_ERR_INVALID_ARG);
    kafka_wbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_value_combinations),
        cmocka_unit_test(test_long_keys_and_values),
        cmocka_unit_test(test_headers_mixed),
        cmocka_unit_test(test_many_records_and_extreme_timestamps),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_two_gib_limit),
        cmocka_unit_test(test_growth_and_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
