/*
 * Deterministic pseudo-random data for tests (xorshift64): a seed gives
 * the same numbers and bytes on every run and machine, so a failure can be
 * replayed. Each test file keeps its own kt_rng; one kt_rng is not for
 * several threads at once.
 */
#ifndef KT_RAND_UTIL_H
#define KT_RAND_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct kt_rng {
    uint64_t s; /* the state: any nonzero seed */
} kt_rng;

/* The next 64-bit number. */
uint64_t kt_rng_next(kt_rng *r);

/* n random bytes in a malloc'd block the caller frees (n = 0 gives a
 * 1-byte block, so the pointer is never NULL). Fails the test on OOM. */
uint8_t *kt_random_bytes(kt_rng *r, size_t n);

#endif
