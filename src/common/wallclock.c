/*
 * The cached wall clock (wallclock.h): the cache miss path, TSC
 * calibration and the clocksource check.
 */
#include "common/wallclock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Calibration measures TSC ticks against CLOCK_MONOTONIC between two
 * samples. The start sample reads the clock first and the TSC second, the
 * end sample the TSC first and the clock second, so a delay between the
 * two reads of a sample (preemption, an interrupt) can only lengthen the
 * measured nanoseconds or shorten the measured ticks: the rate comes out
 * low, never high, and a low rate only makes the cache expire early. The
 * vDSO clock is itself computed from the TSC, so there is no other error
 * to average away, and 2 ms is enough (it used to be 20 ms, during which
 * every read paid for two clock reads: a writer's first 20 ms of writes
 * cost about 40 ns more each). Calibration starts at init. */
#define CAL_MIN_NS 2000000LL
/* The rate used is this many thousandths of the measured one, so that a
 * cached millisecond expires a little early, never late (covers NTP
 * slewing, 500 ppm at most, and calibration error). */
#define RATE_PERMILLE 990u

/* The cache's data stores follow the odd seq: relaxed after a release
 * fence, or releases themselves under TSan, which has no fences
 * (common/tsan.h). */
#if KAFKA_TSAN
#define DATA_STORE_ORDER memory_order_release
#else
#define DATA_STORE_ORDER memory_order_relaxed
#endif

bool kafka_wallclock_tsc_usable(void)
{
#if KAFKA_WALLCLOCK_TSC
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f)
        return false;
    char buf[32] = "";
    bool ok = fgets(buf, sizeof buf, f) != NULL && strncmp(buf, "tsc", 3) == 0 && (buf[3] == '\n' || !buf[3]);
    fclose(f);
    return ok;
#else
    return false;
#endif
}

#if KAFKA_WALLCLOCK_TSC
static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#endif

void kafka_wallclock_init(kafka_wallclock *c, bool use_tsc)
{
    memset(c, 0, sizeof *c);
    atomic_init(&c->seq, 0u);
    atomic_init(&c->ms, 0);
    atomic_init(&c->until, 0u);
    atomic_init(&c->tpm, 0u);
    c->use_tsc = use_tsc && KAFKA_WALLCLOCK_TSC;
#if KAFKA_WALLCLOCK_TSC
    if (c->use_tsc) { /* the start sample: the clock, then the TSC */
        c->cal_ns = mono_ns();
        c->cal_tsc = __rdtsc();
    }
#endif
}

#if KAFKA_WALLCLOCK_TSC
/* The TSC rate measured from init's start sample to this end sample
 * (`tsc` was read before the clock here: see CAL_MIN_NS); 0 until
 * CAL_MIN_NS have passed. Seq owner only. */
static uint64_t calibrate(kafka_wallclock *c, uint64_t tsc)
{
    int64_t dns = mono_ns() - c->cal_ns;
    if (dns < CAL_MIN_NS || tsc <= c->cal_tsc)
        return 0;
    /* ticks per ms = dticks * 1e6 / dns, in floating point: dticks * 1e6
     * overflows 64 bits after a few hours of TSC at GHz rates. */
    double tpm = (double)(tsc - c->cal_tsc) * 1e6 / (double)dns * RATE_PERMILLE / 1000.0;
    if (tpm < 1000.0) /* below 1 MHz: not a TSC we trust */
        return 0;
    return (uint64_t)tpm;
}
#endif

int64_t kafka_wallclock_refresh(kafka_wallclock *c)
{
#if KAFKA_WALLCLOCK_TSC
    /* The TSC first, then the wall clock: if this thread is preempted in
     * between, the millisecond read is later than `t`, and the expiry
     * computed from t comes early (stale values are impossible). */
    uint64_t t = c->use_tsc ? __rdtsc() : 0;
#endif
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#if KAFKA_WALLCLOCK_TSC
    if (!c->use_tsc)
        return ms;
    unsigned s = atomic_load_explicit(&c->seq, memory_order_relaxed);
    if ((s & 1u) || !atomic_compare_exchange_strong_explicit(&c->seq, &s, s + 1u, memory_order_acquire,
                                                             memory_order_relaxed))
        return ms; /* another thread is updating it: use our own read */
#if !KAFKA_TSAN
    atomic_thread_fence(memory_order_release); /* the odd seq before the data stores */
#endif
    uint64_t tpm = atomic_load_explicit(&c->tpm, memory_order_relaxed);
    if (!tpm) {
        tpm = calibrate(c, t);
        atomic_store_explicit(&c->tpm, tpm, memory_order_relaxed);
    }
    uint64_t until = 0; /* not calibrated yet: every read misses */
    if (tpm) {
        /* Nanoseconds left in this millisecond, in TSC ticks (< 1e6 *
         * tpm: no overflow below 1.8e7 GHz). */
        uint64_t left_ns = 1000000u - (uint64_t)(ts.tv_nsec % 1000000);
        until = t + left_ns * tpm / 1000000u;
    }
    atomic_store_explicit(&c->ms, ms, DATA_STORE_ORDER);
    atomic_store_explicit(&c->until, until, DATA_STORE_ORDER);
    atomic_store_explicit(&c->seq, s + 2u, memory_order_release);
#endif
    return ms;
}
