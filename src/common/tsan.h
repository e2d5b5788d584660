/*
 * KAFKA_TSAN: 1 when compiled with ThreadSanitizer (gcc or clang), else 0.
 *
 * TSan models atomics and locks but not standalone fences (gcc rejects
 * atomic_thread_fence under -fsanitize=thread) nor membarrier(2). Code that
 * orders memory with those takes an equivalent fence-free path in TSan
 * builds (stronger orders on the atomics themselves), so that TSan checks
 * the same protocol and sees the happens-before edges it creates.
 */
#ifndef KAFKA_INTERNAL_TSAN_H
#define KAFKA_INTERNAL_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define KAFKA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KAFKA_TSAN 1
#endif
#endif
#ifndef KAFKA_TSAN
#define KAFKA_TSAN 0
#endif

#endif
