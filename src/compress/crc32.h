/*
 * CRC-32 (IEEE 802.3, the gzip trailer's checksum, the one zlib's crc32()
 * computes). Sans-I/O, pure functions, no global mutable state,
 * thread-safe.
 *
 * Every function is chainable like zlib's crc32(): start with crc = 0 and
 * feed the previous result back in, f(f(0, a), b) == f(0, a || b). The
 * pre/post inversion is done inside. Lengths are size_t: buffers of 4 GiB
 * and more are fine.
 */
#ifndef KAFKA_COMPRESS_CRC32_H
#define KAFKA_COMPRESS_CRC32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32 with the fastest implementation this CPU has: carry-less
 * multiplication folding (PCLMULQDQ) on x86-64 CPUs that have it, chosen at
 * run time; zlib's crc32_z everywhere else and for inputs too short for
 * folding to pay off. Same results as zlib's crc32() for every input. */
uint32_t kafka_crc32_ieee(uint32_t crc, const void *buf, size_t len);

/* "pclmul" or "zlib": what kafka_crc32_ieee() uses for long inputs. */
const char *kafka_crc32_ieee_impl_name(void);

/* ---- for tests: each implementation on its own ---------------------- */

/* zlib's crc32_z (always available). */
uint32_t kafka_crc32_ieee_zlib(uint32_t crc, const void *buf, size_t len);

/* The PCLMULQDQ folding implementation, for every length (short inputs
 * and the last len % 16 bytes go to zlib). Only call it when
 * kafka_crc32_ieee_pclmul_available() is true: it executes instructions
 * older CPUs do not have. On other targets it is kafka_crc32_ieee_zlib. */
uint32_t kafka_crc32_ieee_pclmul(uint32_t crc, const void *buf, size_t len);

/* True when this CPU has PCLMULQDQ and SSE4.1 and this build can use them. */
bool kafka_crc32_ieee_pclmul_available(void);

/* The folding implementation's constants, so the unit test can recompute
 * each one from the polynomial. Each is a polynomial over GF(2) of degree
 * <= 32, stored bit-reflected in 33 bits: bit i holds the coefficient of
 * x^(32-i). P(x) = x^32 + x^26 + x^23 + ... + 1 (0x104C11DB7). */
typedef struct kafka_crc32_ieee_consts {
    uint64_t fold4_lo; /* x^(4*128+32) mod P */
    uint64_t fold4_hi; /* x^(4*128-32) mod P */
    uint64_t fold1_lo; /* x^(128+32) mod P */
    uint64_t fold1_hi; /* x^(128-32) mod P */
    uint64_t red96;    /* x^96 mod P */
    uint64_t red64;    /* x^64 mod P */
    uint64_t mu;       /* floor(x^64 / P), the Barrett constant */
    uint64_t poly;     /* P itself */
} kafka_crc32_ieee_consts;

extern const kafka_crc32_ieee_consts kafka_crc32_ieee_k;

#endif /* KAFKA_COMPRESS_CRC32_H */
