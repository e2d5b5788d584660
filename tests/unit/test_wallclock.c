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
    /* 100 ms: calibration (20 ms) and then ~80 expiries of the cache. */
    assert_int_equal(bracket(&c, 1000000, 100), 0);
    if (tsc && KAFKA_WALLCLOCK_TSC)
        assert_true(atomic_load(&c.tpm) > 0); /* the cached path was in use */
    else
        print_message("TSC clocksource not in use here: plain clock_gettime path only\n");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
