/*
 * Allocation-failure injection for tests (nghttp2's failmalloc idea)
 * through libkafka's allocator hook (kafka/alloc.h): count allocations,
 * fail the Nth one after arming, and remember which call stacks were
 * failed, so that a suite can say how many distinct out-of-memory paths
 * it reached.
 *
 *   kt_failmalloc_install();
 *   for (long n = 1;; n++) {
 *       kt_failmalloc_arm(n);
 *       ... run the scenario ...
 *       if (!kt_failmalloc_fired()) break;   // the Nth allocation never came
 *   }
 *   kt_failmalloc_uninstall();
 *
 * The allocator is process-wide: install it before creating any libkafka
 * object and uninstall it after freeing every one. Thread-safe (writer and
 * reader threads allocate too: the Nth allocation may be theirs).
 */
#ifndef KT_FAILMALLOC_H
#define KT_FAILMALLOC_H

#include <stdbool.h>
#include <stddef.h>

void kt_failmalloc_install(void);
/* Restores the default allocator. With KT_FAILMALLOC_STACKS=path in the
 * environment, appends every failed call stack seen so far to path, one
 * line each: "object+offset" per frame, innermost first (the return
 * addresses minus one, for addr2line -f -e object offset). */
void kt_failmalloc_uninstall(void);
/* From now on, the nth allocation (n >= 1) fails; n = 0: none does. */
void kt_failmalloc_arm(long n);
/* True when the armed failure happened. */
bool kt_failmalloc_fired(void);
/* Allocations counted since the last arm. */
long kt_failmalloc_count(void);
/* Distinct call stacks (the innermost 8 frames above the hook, which
 * include libkafka's allocation wrappers: a proxy for the out-of-memory
 * paths reached; a path reached from two callers counts twice) whose
 * allocation was failed since install. */
size_t kt_failmalloc_sites(void);

#endif
