/*
 * Record-batch fixtures for tests: write small batches (optionally
 * transactional) into a buffer with the library's batch builder.
 */
#ifndef KT_BATCH_UTIL_H
#define KT_BATCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/wire.h"

/* Appends one batch at base offset `base` holding the n string values
 * (timestamp 1000, no keys); transactional for producer `pid` (epoch 0,
 * sequence 0) when txn. 0 on success, -1 on any builder error. */
int kt_add_batch(kafka_wbuf *w, int64_t base, int64_t pid, bool txn, const char *const *vals, int n);

#endif
