/*
 * A cheap wall clock in milliseconds for record timestamps.
 *
 * Reading CLOCK_REALTIME costs about 20 ns even through the vDSO, which is
 * a large part of an asynchronous write; CLOCK_REALTIME_COARSE is cheap
 * but up to a scheduler tick (4 ms) stale. This clock caches the current
 * millisecond together with the time-stamp counter (TSC) value at which
 * that millisecond is over, so that a read is one RDTSC and a few loads;
 * CLOCK_REALTIME is read again once per millisecond (or when the cache is
 * being updated by another thread).
 *
 * Guarantee: a value v returned by kafka_wallclock_ms() satisfies
 * floor(a) <= v <= floor(c), for a and c the CLOCK_REALTIME milliseconds
 * read just before and just after the call, unless the wall clock is
 * stepped meanwhile; a step shows up within one millisecond.
 *
 * The cache is only used where the TSC is a safe tick source: x86-64 with
 * the kernel's clocksource "tsc" (the kernel then vouches for a constant,
 * synchronised TSC). Elsewhere, and for the first ~2 ms after init while the TSC
 * rate is calibrated against CLOCK_MONOTONIC, every read is a plain
 * clock_gettime(CLOCK_REALTIME).
 *
 * Thread safety: kafka_wallclock_ms may be called from any number of
 * threads at once (a sequence lock protects the cache; readers never
 * block or write unless the cache is due). init must finish before.
 */
#ifndef KAFKA_INTERNAL_WALLCLOCK_H
#define KAFKA_INTERNAL_WALLCLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/tsan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define KAFKA_WALLCLOCK_TSC 1
#else
#define KAFKA_WALLCLOCK_TSC 0
#endif

typedef struct kafka_wallclock {
    /* Read by every caller: one cache line of its own (the owner may
     * embed this struct next to fields that other threads write). */
    char pad0[64];
    atomic_uint seq;       /* odd while the cache is being written */
    atomic_llong ms;       /* cached CLOCK_REALTIME milliseconds */
    atomic_ullong until;   /* TSC value before which ms is current; 0 = none */
    atomic_ullong tpm;     /* TSC ticks per millisecond (conservative); 0 = not calibrated */
    bool use_tsc;          /* set by init, then read-only */
    /* Calibration start; touched only by the seq owner. */
    uint64_t cal_tsc;
    int64_t cal_ns;
    char pad1[64];
} kafka_wallclock;

/* Sets up c (no allocation, nothing to free). use_tsc = false forces the
 * plain clock_gettime path (tests, or platforms without a usable TSC). */
void kafka_wallclock_init(kafka_wallclock *c, bool use_tsc);

/* True when the kernel's clocksource is the TSC (read from sysfs). */
bool kafka_wallclock_tsc_usable(void);

/* The cache miss path of kafka_wallclock_ms. */
int64_t kafka_wallclock_refresh(kafka_wallclock *c);

/* CLOCK_REALTIME in milliseconds since the Unix epoch (see above). */
static inline int64_t kafka_wallclock_ms(kafka_wallclock *c)
{
#if KAFKA_WALLCLOCK_TSC
    unsigned s = atomic_load_explicit(&c->seq, memory_order_acquire);
#if KAFKA_TSAN
    /* No fences under TSan (common/tsan.h): acquire loads order the seq
     * re-check after them just as the fence does. */
    long long ms = atomic_load_explicit(&c->ms, memory_order_acquire);
    unsigned long long until = atomic_load_explicit(&c->until, memory_order_acquire);
#else
    long long ms = atomic_load_explicit(&c->ms, memory_order_relaxed);
    unsigned long long until = atomic_load_explicit(&c->until, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
#endif
    if (!(s & 1u) && atomic_load_explicit(&c->seq, memory_order_relaxed) == s && __rdtsc() < until)
        return (int64_t)ms;
#endif
    return kafka_wallclock_refresh(c);
}

#endif
