/* CRC32C (hardware and portable) and CRC32 against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "protocol/crc32c.h"
#include "protocol/crc32c_table.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* RFC 3720 (iSCSI) appendix B.4 vectors, plus the classic "123456789"
 * check value of CRC-32C. */
static void check_vectors(crc_fn f)
{
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(f(0, buf, 32), 0x8A9136AA);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(f(0, buf, 32), 0x62A8AB43);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, 32), 0x46DD794E);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, 32), 0x113FDB5C);
    assert_int_equal(f(0, "123456789", 9), 0xE3069283);
    assert_int_equal(f(0, "", 0), 0);
    /* chaining: split anywhere gives the same result */
    for (size_t k = 0; k <= 9; k++)
        assert_int_equal(f(f(0, "123456789", k), &"123456789"[k], 9 - k), 0xE3069283);
}

static void test_portable_vectors(void **state)
{
    (void)state;
    check_vectors(kafka_crc32c_sw);
}

static void test_hardware_vectors(void **state)
{
    (void)state;
    if (!kafka_crc32c_hw_available()) {
        print_message("no CRC32C instructions on this CPU: hardware path not tested\n");
        skip();
    }
    check_vectors(kafka_crc32c_hw);
}

static void test_dispatch_vectors(void **state)
{
    (void)state;
    print_message("kafka_crc32c uses: %s\n", kafka_crc32c_impl_name());
    check_vectors(kafka_crc32c);
}

/* Bitwise CRC32C: the definition, independent of both implementations. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void test_table_matches_definition(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        assert_int_equal(kafka_crc32c_table[0][i], c);
        for (int t = 1; t < 8; t++) {
            c = kafka_crc32c_table[0][c & 0xff] ^ (c >> 8);
            assert_int_equal(kafka_crc32c_table[t][i], c);
        }
    }
}

/* Register after feeding n zero bytes, bitwise (no pre/post inversion). */
static uint32_t zeros_bitwise(uint32_t c, size_t n)
{
    for (size_t i = 0; i < n * 8; i++)
        c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    return c;
}

static void check_shift_table(const uint32_t (*s)[256], size_t n)
{
    uint32_t img[32];
    for (int b = 0; b < 32; b++)
        img[b] = zeros_bitwise(1u << b, n);
    for (int k = 0; k < 4; k++) {
        for (unsigned i = 0; i < 256; i++) {
            uint32_t v = 0;
            for (int bit = 0; bit < 8; bit++)
                if (i >> bit & 1)
                    v ^= img[8 * k + bit];
            assert_int_equal(s[k][i], v);
        }
    }
}

static void test_shift_tables_match_definition(void **state)
{
    (void)state;
    check_shift_table(kafka_crc32c_shift_long, KAFKA_CRC32C_LONG);
    check_shift_table(kafka_crc32c_shift_short, KAFKA_CRC32C_SHORT);
}

/* Both implementations agree with the bitwise definition at every
 * alignment and every length up to 300, and on a few large buffers. */
static void test_random_all_alignments(void **state)
{
    (void)state;
    enum { N = 4096 + 64 };
    uint8_t *buf = malloc(N);
    assert_non_null(buf);
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    bool hw = kafka_crc32c_hw_available();
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 300; len++) {
            uint32_t want = crc32c_bitwise(0, buf + align, len);
            assert_int_equal(kafka_crc32c_sw(0, buf + align, len), want);
            if (hw)
                assert_int_equal(kafka_crc32c_hw(0, buf + align, len), want);
        }
        uint32_t want = crc32c_bitwise(0, buf + align, 4096);
        assert_int_equal(kafka_crc32c_sw(0, buf + align, 4096), want);
        if (hw)
            assert_int_equal(kafka_crc32c_hw(0, buf + align, 4096), want);
        /* non-zero starting CRC */
        assert_int_equal(kafka_crc32c_sw(0xdeadbeef, buf + align, 1000), crc32c_bitwise(0xdeadbeef, buf + align, 1000));
        if (hw)
            assert_int_equal(kafka_crc32c_hw(0xdeadbeef, buf + align, 1000),
                             crc32c_bitwise(0xdeadbeef, buf + align, 1000));
    }
    free(buf);
}

/* Lengths around the interleaved block sizes (3 x 256 and 3 x 8192 bytes),
 * where the hardware path stitches streams together. */
static void test_long_buffers(void **state)
{
    (void)state;
    enum { N = 3 * 8192 * 3 + 1000 };
    uint8_t *buf = malloc(N);
    assert_non_null(buf);
    uint32_t x = 987654321;
    for (size_t i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(x >> 24);
    }
    static const size_t lens[] = {767, 768, 769, 3 * 768 + 5, 24575, 24576, 24577, 24576 + 768, 49152 + 1000,
                                  N - 3};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t align = 0; align < 3; align++) {
            uint32_t want = crc32c_bitwise(0, buf + align, lens[i]);
            assert_int_equal(kafka_crc32c_sw(0, buf + align, lens[i]), want);
            assert_int_equal(kafka_crc32c(0, buf + align, lens[i]), want);
            if (kafka_crc32c_hw_available())
                assert_int_equal(kafka_crc32c_hw(0, buf + align, lens[i]), want);
        }
    }
    free(buf);
}

/* CRC-32 (IEEE) check value for "123456789" is 0xCBF43926. */
static void test_crc32_ieee(void **state)
{
    (void)state;
    assert_int_equal(kafka_crc32(0, "123456789", 9), 0xCBF43926);
    assert_int_equal(kafka_crc32(kafka_crc32(0, "1234", 4), "56789", 5), 0xCBF43926);
    assert_int_equal(kafka_crc32(0, "", 0), 0);
    /* Long enough for the folding path, chained across its boundaries. */
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 3));
    uint32_t want = (uint32_t)crc32(0, buf, sizeof buf);
    assert_int_equal(kafka_crc32(0, buf, sizeof buf), want);
    assert_int_equal(kafka_crc32(kafka_crc32(0, buf, 63), buf + 63, sizeof buf - 63), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_vectors),
        cmocka_unit_test(test_hardware_vectors),
        cmocka_unit_test(test_dispatch_vectors),
        cmocka_unit_test(test_table_matches_definition),
        cmocka_unit_test(test_shift_tables_match_definition),
        cmocka_unit_test(test_random_all_alignments),
        cmocka_unit_test(test_long_buffers),
        cmocka_unit_test(test_crc32_ieee),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
