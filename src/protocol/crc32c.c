/*
 * CRC32C: hardware (SSE4.2 crc32 instruction, ARMv8 CRC extension) selected
 * at run time, with a portable slicing-by-8 fallback. CRC32 (IEEE) is
 * libdeflate's.
 */
#include "protocol/crc32c.h"

#include <string.h>

#include <libdeflate.h>
#include "protocol/crc32c_table.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KAFKA_CRC32C_X86 1
#include <nmmintrin.h>
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
#define KAFKA_CRC32C_ARM 1
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

/* Loads 8 bytes as a little-endian integer from any alignment; compilers
 * turn this into one load on little-endian CPUs. */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint32_t kafka_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    const uint32_t(*t)[256] = kafka_crc32c_table;
    crc = ~crc;
    /* Byte at a time until 8-byte aligned, so the main loop loads aligned. */
    while (len && ((uintptr_t)p & 7)) {
        crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t v = load_le64(p) ^ crc;
        crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
              t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(KAFKA_CRC32C_X86)

/* Applies "feed n zero bytes" (n = the table's length) to a raw CRC
 * register: how the three interleaved streams are stitched together. */
static inline uint32_t crc_shift(const uint32_t (*s)[256], uint32_t c)
{
    return s[0][c & 0xff] ^ s[1][(c >> 8) & 0xff] ^ s[2][(c >> 16) & 0xff] ^ s[3][c >> 24];
}

/* The crc32 instruction has a latency of 3 cycles but a throughput of one
 * per cycle, so one dependency chain runs at a third of the possible speed.
 * Three independent streams over adjacent blocks of `block` bytes keep it
 * busy; the results are combined with crc_shift. */
__attribute__((target("sse4.2"))) static uint64_t crc_3way(uint64_t crc, const uint8_t **pp, size_t *lenp,
                                                          size_t block, const uint32_t (*shift)[256])
{
    const uint8_t *p = *pp;
    size_t len = *lenp;
    while (len >= 3 * block) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = p + block;
        do {
            uint64_t a, b, c;
            memcpy(&a, p, 8);
            memcpy(&b, p + block, 8);
            memcpy(&c, p + 2 * block, 8);
            crc = _mm_crc32_u64(crc, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, c);
            p += 8;
        } while (p < end);
        crc = crc_shift(shift, (uint32_t)crc) ^ c1;
        crc = crc_shift(shift, (uint32_t)crc) ^ c2;
        p += 2 * block;
        len -= 3 * block;
    }
    *pp = p;
    *lenp = len;
    return crc;
}

__attribute__((target("sse4.2"))) uint32_t kafka_crc32c_hw(uint32_t crc32, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t crc = ~crc32;
    while (len && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
        len--;
    }
    crc = crc_3way(crc, &p, &len, KAFKA_CRC32C_LONG, kafka_crc32c_shift_long);
    crc = crc_3way(crc, &p, &len, KAFKA_CRC32C_SHORT, kafka_crc32c_shift_short);
    while (len >= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        crc = _mm_crc32_u64(crc, a);
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
    return ~(uint32_t)crc;
}

bool kafka_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

static const char *hw_name(void) { return "sse4.2"; }

#elif defined(KAFKA_CRC32C_ARM)

__attribute__((target("+crc"))) uint32_t kafka_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = __crc32cb(crc, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t a;
        memcpy(&a, p, 8); /* aarch64 Linux is little-endian */
        crc = __crc32cd(crc, a);
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = __crc32cb(crc, *p++);
    return ~crc;
}

bool kafka_crc32c_hw_available(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}

static const char *hw_name(void) { return "armv8-crc"; }

#else

/* No hardware path on this target: the "hardware" entry point is the
 * portable one so callers and tests need no special case. */
uint32_t kafka_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return kafka_crc32c_sw(crc, buf, len);
}

bool kafka_crc32c_hw_available(void) { return false; }

static const char *hw_name(void) { return "portable"; }

#endif

uint32_t kafka_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* The feature test is a load of a value the runtime filled in at start
     * (x86) or a cheap auxv lookup (arm); both are thread-safe. */
    if (kafka_crc32c_hw_available())
        return kafka_crc32c_hw(crc, buf, len);
    return kafka_crc32c_sw(crc, buf, len);
}

const char *kafka_crc32c_impl_name(void)
{
    return kafka_crc32c_hw_available() ? hw_name() : "portable";
}

uint32_t kafka_crc32(uint32_t crc, const void *buf, size_t len)
{
    /* libdeflate's: carry-less multiplication folding where the CPU has
     * it (chosen at run time), slice-by-8 elsewhere; zlib's results. */
    return libdeflate_crc32(crc, buf, len);
}
