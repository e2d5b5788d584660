/*
 * CRC-32 (IEEE), kafka_crc32 (protocol/crc32c.h: libdeflate's, used by
 * message format v0/v1 and the CRC32 balancer) against zlib's crc32() and
 * the bitwise definition, at every length up to 1024 and every alignment,
 * on large buffers, chained at random split points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rand_util.h"
#include <zlib.h>

#include "protocol/crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static kt_rng g_rng = {0x2545F4914F6CDD1Dull};

/* The reference: zlib's crc32() itself, fed in uInt pieces. */
static uint32_t zlib_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* Bitwise CRC-32: the definition, independent of zlib and of the code. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* The implementation under test (one since CRC-32 moved to libdeflate;
 * the array form keeps room for more), with names for failure messages. */
static size_t impls(crc_fn *f, const char **name)
{
    f[0] = kafka_crc32, name[0] = "kafka_crc32";
    return 1;
}

static void check_vectors(crc_fn f)
{
    assert_int_equal(f(0, "123456789", 9), 0xCBF43926); /* the CRC-32 check value */
    assert_int_equal(f(0, "", 0), 0);
    assert_int_equal(f(0x12345678, "", 0), 0x12345678);
    for (size_t k = 0; k <= 9; k++)
        assert_int_equal(f(f(0, "123456789", k), &"123456789"[k], 9 - k), 0xCBF43926);
    /* 100 bytes of 0xff and of 0x00: past any short-input path. */
    uint8_t b[100];
    memset(b, 0xff, sizeof b);
    assert_int_equal(f(0, b, sizeof b), crc32_bitwise(0, b, sizeof b));
    memset(b, 0, sizeof b);
    assert_int_equal(f(0, b, sizeof b), crc32_bitwise(0, b, sizeof b));
}

static void test_vectors(void **state)
{
    (void)state;
    check_vectors(kafka_crc32);
}

/* Every length 0..1024 at every alignment 0..15, from 0 and from a random
 * starting CRC; the bitwise definition too for the short lengths, where
 * the boundaries between an implementation's loops and tails are. */
static void test_all_lengths_alignments(void **state)
{
    (void)state;
    enum { MAXLEN = 1024, ALIGNS = 16 };
    uint8_t *buf = kt_random_bytes(&g_rng, MAXLEN + ALIGNS);
    crc_fn f[3];
    const char *name[3];
    size_t nf = impls(f, name);
    for (size_t align = 0; align < ALIGNS; align++)
        for (size_t len = 0; len <= MAXLEN; len++) {
            const uint8_t *p = buf + align;
            uint32_t start = (uint32_t)kt_rng_next(&g_rng);
            uint32_t want0 = zlib_ref(0, p, len), want1 = zlib_ref(start, p, len);
            if (len <= 200)
                assert_int_equal(crc32_bitwise(start, p, len), want1);
            for (size_t i = 0; i < nf; i++) {
                uint32_t got0 = f[i](0, p, len), got1 = f[i](start, p, len);
                if (got0 != want0 || got1 != want1)
                    fail_msg("%s: len %zu align %zu: got %08x/%08x, want %08x/%08x", name[i], len, align, got0,
                             got1, want0, want1);
            }
        }
    free(buf);
}

/* 1 MiB, and 16 MiB + 7 bytes (many 64-byte steps, then a 16-byte chunk
 * loop and a 7-byte tail), at an odd address. */
static void test_large_buffers(void **state)
{
    (void)state;
    static const size_t lens[] = {1u << 20, (16u << 20) + 7};
    crc_fn f[3];
    const char *name[3];
    size_t nf = impls(f, name);
    uint8_t *buf = kt_random_bytes(&g_rng, (16u << 20) + 8);
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        uint32_t want = zlib_ref(0, buf + 1, lens[l]);
        for (size_t i = 0; i < nf; i++)
            if (f[i](0, buf + 1, lens[l]) != want)
                fail_msg("%s: %zu bytes differ from zlib", name[i], lens[l]);
    }
    free(buf);
}

/* Chaining: a buffer cut into random pieces (sizes from 0 to a few KiB)
 * gives the CRC of the whole, for every implementation. */
static void test_chained_random_splits(void **state)
{
    (void)state;
    enum { N = 200000 };
    uint8_t *buf = kt_random_bytes(&g_rng, N);
    uint32_t want = zlib_ref(0, buf, N);
    crc_fn f[3];
    const char *name[3];
    size_t nf = impls(f, name);
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < nf; i++) {
            uint32_t crc = 0;
            size_t pos = 0;
            while (pos < N) {
                size_t max = (round & 1) ? 200 : 5000; /* short and long pieces */
                size_t k = (size_t)(kt_rng_next(&g_rng) % (max + 1));
                if (k > N - pos)
                    k = N - pos;
                crc = f[i](crc, buf + pos, k);
                pos += k;
            }
            if (crc != want)
                fail_msg("%s: round %d: chained %08x, whole %08x", name[i], round, crc, want);
        }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_all_lengths_alignments),
        cmocka_unit_test(test_large_buffers),
        cmocka_unit_test(test_chained_random_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
