/* The cached wall clock (src/common/wallclock.h): every value it returns
 * lies between CLOCK_REALTIME read just before and just after (in ms, with
 * 1 ms of slack), from one thread and from several at once, with the TSC
 * cache and without it. No timing is asserted: samples are bracketed, so
 * preemption anywhere only widens the bracket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "common/wallclock.h"

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Brackets `samples` reads of c; returns how many were out of bounds and
 * keeps sampling at least `min_ms` of monotonic time (so that the cache
 * is calibrated and expires many times over). */
static long bracket(kafka_wallclock *c, long samples, int64_t min_ms)
{
    long bad = 0;
    int64_t end = mono_ms() + min_ms;
    for (long i = 0; i < samples || mono_ms() < end; i++) {
        int64_t a = realtime_ms();
        int64_t b = kafka_wallclock_ms(c);
        int64_t d = realtime_ms();
        if (b < a - 1 || b > d + 1) {
            if (bad < 5)
                fprintf(stderr, "out of bounds: %lld <= %lld <= %lld\n", (long long)a, (long long)b, (long long)d);
            bad++;
        }
    }
    return bad;
}

static void test_plain(void **state)
{
    (void)state;
    kafka_wallclock c;
    kafka_wallclock_init(&c, false);
    assert_int_equal(bracket(&c, 100000, 0), 0);
    assert_int_equal(atomic_load(&c.tpm), 0); /* never calibrates */
}

static void test_cached_one_thread(void **state)
{
    (void)state;
    kafka_wallclock c;
    bool tsc = kafka_wallclock_tsc_usable();
    kafka_wallclock_init(&c, tsc);
    /* 100 ms: calibration (2 ms) and then ~98 expiries of the cache. */
    assert_int_equal(bracket(&c, 1000000, 100), 0);
    if (tsc && KAFKA_WALLCLOCK_TSC)
        assert_true(atomic_load(&c.tpm) > 0); /* the cached path was in use */
    else
        print_message("TSC clocksource not in use here: plain clock_gettime path only\n");
}

#if KAFKA_WALLCLOCK_TSC
/* A reference reading of the TSC against CLOCK_MONOTONIC: the TSC read
 * between two clock reads, the pair with the smallest gap of 32 tries,
 * placed at the midpoint (off by at most half that gap). */
static void tsc_reference(uint64_t *tsc, double *ns)
{
    double best_gap = 1e18;
    for (int i = 0; i < 32; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        uint64_t t = __rdtsc();
        clock_gettime(CLOCK_MONOTONIC, &b);
        double na = (double)a.tv_sec * 1e9 + (double)a.tv_nsec, nb = (double)b.tv_sec * 1e9 + (double)b.tv_nsec;
        if (nb - na < best_gap) {
            best_gap = nb - na;
            *tsc = t;
            *ns = (na + nb) / 2;
        }
    }
}
#endif

/* Calibration starts at init and needs ~2 ms: the first read 3 ms after
 * init is already calibrated. The rate it found is never above the TSC's
 * real rate (a high rate would let the cache outlive its millisecond),
 * measured here independently over 50 ms. */
static void test_calibrates_from_init(void **state)
{
    (void)state;
#if KAFKA_WALLCLOCK_TSC
    if (!kafka_wallclock_tsc_usable())
        skip(); /* reported as skipped: the clocksource is not the TSC */
    uint64_t t0, t1;
    double n0, n1;
    tsc_reference(&t0, &n0);
    kafka_wallclock c;
    kafka_wallclock_init(&c, true);
    struct timespec nap = {0, 3000000};
    nanosleep(&nap, NULL);
    int64_t a = realtime_ms(), b = kafka_wallclock_ms(&c), d = realtime_ms();
    assert_true(a <= b && b <= d);
    uint64_t tpm = atomic_load(&c.tpm);
    assert_true(tpm > 0);
    nap.tv_nsec = 50000000;
    nanosleep(&nap, NULL);
    tsc_reference(&t1, &n1);
    double real_tpm = (double)(t1 - t0) * 1e6 / (n1 - n0);
    print_message("calibrated %llu ticks/ms, reference %.0f\n", (unsigned long long)tpm, real_tpm);
    assert_true((double)tpm <= real_tpm * 1.0001);
    assert_true((double)tpm >= real_tpm * 0.5);
#else
    skip(); /* no TSC cache on this architecture */
#endif
}

typedef struct sampler {
    pthread_t tid;
    kafka_wallclock *c;
    long bad;
} sampler;

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    s->bad = bracket(s->c, 200000, 60);
    return NULL;
}

static void test_cached_threads(void **state)
{
    (void)state;
    kafka_wallclock c;
    kafka_wallclock_init(&c, kafka_wallclock_tsc_usable());
    sampler s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (sampler){.c = &c};
        assert_int_equal(pthread_create(&s[i].tid, NULL, sampler_main, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(s[i].tid, NULL);
        assert_int_equal(s[i].bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_cached_one_thread),
        cmocka_unit_test(test_cached_threads),
        cmocka_unit_test(test_calibrates_from_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
