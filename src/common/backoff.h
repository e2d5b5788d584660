/* Exponential backoff with jitter, shared by every retry loop. */
#ifndef KAFKA_INTERNAL_BACKOFF_H
#define KAFKA_INTERNAL_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `attempt` (0 = first retry): min_ms * 2^attempt
 * capped at max_ms, then scaled by a random factor in [0.5, 1.0] so that
 * clients that failed together do not retry together. Never 0 when
 * min_ms > 0, so no retry loop can spin. Thread-safe. */
int kafka_backoff_ms(int attempt, int min_ms, int max_ms);

/* A cheap thread-local pseudo-random number (not for cryptography). */
uint64_t kafka_rand64(void);

/* Sleeps ms milliseconds (ms <= 0 returns at once). */
void kafka_sleep_ms(int ms);

#endif
