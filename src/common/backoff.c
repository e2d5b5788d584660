#include "common/backoff.h"

#include <errno.h>
#include <time.h>

static _Thread_local uint64_t g_rng; /* per thread: no shared mutable state */

uint64_t kafka_rand64(void)
{
    if (!g_rng) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        g_rng = ((uint64_t)ts.tv_nsec << 17) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&g_rng;
        if (!g_rng)
            g_rng = 0x9E3779B97F4A7C15u;
    }
    /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Du;
}

int kafka_backoff_ms(int attempt, int min_ms, int max_ms)
{
    if (min_ms <= 0)
        min_ms = 1;
    if (max_ms < min_ms)
        max_ms = min_ms;
    int64_t d = min_ms;
    for (int i = 0; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    /* jitter: [d/2, d] */
    int64_t half = d / 2;
    int64_t j = half + (int64_t)(kafka_rand64() % (uint64_t)(d - half + 1));
    return j > 0 ? (int)j : 1;
}

void kafka_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}
