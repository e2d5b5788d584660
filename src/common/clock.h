/* The one monotonic clock of the library (CLOCK_MONOTONIC): every deadline
 * and duration is measured on it. Thread-safe, no state. (Wall-clock Unix
 * time is common/wallclock.h.) */
#ifndef KAFKA_COMMON_CLOCK_H
#define KAFKA_COMMON_CLOCK_H

#include <stdint.h>

int64_t kafka_now_ms(void);
int64_t kafka_now_us(void);

#endif
