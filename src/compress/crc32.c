/*
 * CRC-32 (IEEE) by carry-less multiplication (PCLMULQDQ) on x86-64, after
 * Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
 * Instruction" (2009); zlib's crc32_z elsewhere and for short inputs.
 *
 * Why: gzip's trailer CRC was ~5% of the CPU of a gzip produce, at about
 * 4 instructions per byte in zlib; folding needs about 0.4.
 *
 * The mathematics, in the bit-reflected world gzip's CRC lives in:
 *
 * A message M (bits in stream order: byte 0's least significant bit first,
 * as the highest power of x) has the raw CRC  M(x) * x^32 mod P(x),
 * P = 0x104C11DB7; zlib's value is that with the initial register ~crc
 * added to the first 32 message bits and the result inverted.
 *
 * An xmm register holding 16 message bytes loaded little-endian has bit k
 * = the coefficient of x^(127-k): call that polynomial R(r). Its low 64-bit
 * half q (bits 0..63) read the same way is Q(q) = sum q_i x^(63-i), so
 * R(r) = Q(lo) * x^64 + Q(hi). For PCLMULQDQ, clmul(a, b) bit m is the
 * XOR of a_i & b_j over i + j = m, so R(clmul(a, b)) = x * Q(a) * Q(b):
 * the reflected product comes out one degree high. Constants K (degree
 * <= 32) are stored as 33-bit reflected values (bit j = coefficient of
 * x^(32-j)), for which Q(k) = K * x^31; so R(clmul(a, k)) = Q(a) * K * x^32.
 *
 * Folding: a 128-bit chunk X that lies 128*n bits before a later chunk
 * contributes X * x^(128n) to the polynomial as seen from that chunk, and
 *   X * x^(128n) = Q(lo) * x^(128n+64) + Q(hi) * x^(128n)
 *                = R(clmul(lo, x^(128n+32))) + R(clmul(hi, x^(128n-32)))  (mod P)
 * with the constants reduced mod P. The sum has degree < 128, so it is
 * simply XORed into the later chunk. Four chunks in flight (n = 4, 64
 * bytes per step) keep the multiplier busy; at the end they are folded
 * into one (n = 1), which then takes the remaining whole 16-byte chunks.
 *
 * Reduction of the last chunk X to the CRC, G = R(X) * x^32 mod P:
 *  1. T = clmul(lo, x^96 mod P) ^ (X >> 64 bits): R(T) = x^32 * S, where
 *     S = Q(lo) * (x^96 mod P) + Q(hi) * x^32 == G, deg S < 96.
 *  2. S = C * x^64 + D (C: its top 32 coefficients, bits 0..31 of T).
 *     T2 = clmul(C, x^64 mod P) ^ (T >> 32 bits): R(T2) = x^64 * Z with
 *     Z = C * (x^64 mod P) + D == G, deg Z < 64; Z = Q(low half of T2).
 *  3. Barrett: Z mod P = Z + q * P, q = floor(Zh * mu / x^32), where Zh are
 *     Z's top 32 coefficients and mu = floor(x^64 / P). Only the low 32
 *     coefficients of q * P are needed: they land in bits 32..63, where
 *     Z's low 32 coefficients are, and the CRC is that 32-bit lane.
 */
#include "compress/crc32.h"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KAFKA_CRC32_PCLMUL 1
#include <immintrin.h>
#endif

/* Shorter inputs go to zlib: folding's set-up and final reduction cost
 * about as much as zlib spends on this many bytes. */
#define FOLD_MIN 64

/* Each is a polynomial of degree <= 32, bit-reflected in 33 bits (bit i =
 * coefficient of x^(32-i)); tests/unit/test_crc32.c recomputes every one. */
const kafka_crc32_ieee_consts kafka_crc32_ieee_k = {
    .fold4_lo = 0x154442bd4, /* x^(4*128+32) mod P: folds a low half 512 bits on */
    .fold4_hi = 0x1c6e41596, /* x^(4*128-32) mod P: folds a high half 512 bits on */
    .fold1_lo = 0x1751997d0, /* x^(128+32) mod P: folds a low half 128 bits on */
    .fold1_hi = 0x0ccaa009e, /* x^(128-32) mod P: folds a high half 128 bits on */
    .red96 = 0x0ccaa009e,    /* x^96 mod P: reduction step 1 (equal to fold1_hi) */
    .red64 = 0x163cd6124,    /* x^64 mod P: reduction step 2 */
    .mu = 0x1f7011641,       /* floor(x^64 / P): Barrett quotient estimate */
    .poly = 0x1db710641,     /* P(x) = 0x104C11DB7 */
};

uint32_t kafka_crc32_ieee_zlib(uint32_t crc, const void *buf, size_t len)
{
    /* crc32_z takes a size_t length (zlib >= 1.2.9), so no chunking. */
    return (uint32_t)crc32_z(crc, buf, len);
}

#if defined(KAFKA_CRC32_PCLMUL)

#define PCLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

/* The register's two halves, each moved `n` chunks on (constants in the
 * same register: lo for the low half, hi for the high half). */
PCLMUL_TARGET static inline __m128i fold(__m128i x, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

PCLMUL_TARGET static inline __m128i load(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline __m128i consts(uint64_t lo, uint64_t hi)
{
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* Steps 1-3 of the header comment: the raw CRC (not inverted) of the
 * polynomial in x. */
PCLMUL_TARGET static uint32_t reduce(__m128i x)
{
    const kafka_crc32_ieee_consts *k = &kafka_crc32_ieee_k;
    const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
    const __m128i kred = consts(k->red96, k->red64);
    const __m128i kbar = consts(k->mu, k->poly);
    /* 1. fold the low half onto the high one, shifted to make room. */
    __m128i t = _mm_xor_si128(_mm_clmulepi64_si128(x, kred, 0x00), _mm_srli_si128(x, 8));
    /* 2. fold the top 32 coefficients onto the next 64. */
    t = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(t, low32), kred, 0x10), _mm_srli_si128(t, 4));
    /* 3. Barrett: q = floor(Zh * mu / x^32), then add q * P. */
    __m128i q = _mm_clmulepi64_si128(_mm_and_si128(t, low32), kbar, 0x00);
    q = _mm_clmulepi64_si128(_mm_and_si128(q, low32), kbar, 0x10);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(t, q), 1);
}

PCLMUL_TARGET uint32_t kafka_crc32_ieee_pclmul(uint32_t crc, const void *buf, size_t len)
{
    if (len < FOLD_MIN)
        return kafka_crc32_ieee_zlib(crc, buf, len);
    const kafka_crc32_ieee_consts *k = &kafka_crc32_ieee_k;
    const uint8_t *p = buf;
    /* The initial register goes onto the first 32 message bits. */
    __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128((int)~crc));
    __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
    p += 64;
    len -= 64;

    const __m128i k4 = consts(k->fold4_lo, k->fold4_hi);
    while (len >= 64) {
        x0 = _mm_xor_si128(fold(x0, k4), load(p));
        x1 = _mm_xor_si128(fold(x1, k4), load(p + 16));
        x2 = _mm_xor_si128(fold(x2, k4), load(p + 32));
        x3 = _mm_xor_si128(fold(x3, k4), load(p + 48));
        p += 64;
        len -= 64;
    }

    const __m128i k1 = consts(k->fold1_lo, k->fold1_hi);
    __m128i x = _mm_xor_si128(fold(x0, k1), x1);
    x = _mm_xor_si128(fold(x, k1), x2);
    x = _mm_xor_si128(fold(x, k1), x3);
    while (len >= 16) {
        x = _mm_xor_si128(fold(x, k1), load(p));
        p += 16;
        len -= 16;
    }
    /* The last len % 16 bytes: zlib, chained from the folded CRC. */
    return kafka_crc32_ieee_zlib(~reduce(x), p, len);
}

bool kafka_crc32_ieee_pclmul_available(void)
{
    /* A load of flags the runtime filled in at start: thread-safe. */
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

#else

/* No folding on this target: the entry point is zlib's, so callers and
 * tests need no special case. */
uint32_t kafka_crc32_ieee_pclmul(uint32_t crc, const void *buf, size_t len)
{
    return kafka_crc32_ieee_zlib(crc, buf, len);
}

bool kafka_crc32_ieee_pclmul_available(void) { return false; }

#endif

/* The folding entry point sends inputs under FOLD_MIN to zlib itself. */
uint32_t kafka_crc32_ieee(uint32_t crc, const void *buf, size_t len)
{
    if (kafka_crc32_ieee_pclmul_available())
        return kafka_crc32_ieee_pclmul(crc, buf, len);
    return kafka_crc32_ieee_zlib(crc, buf, len);
}

const char *kafka_crc32_ieee_impl_name(void)
{
    return kafka_crc32_ieee_pclmul_available() ? "pclmul" : "zlib";
}
