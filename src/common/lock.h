/*
 * A small mutual-exclusion lock for short critical sections on hot paths
 * (the writer's per-partition lanes: one lock and unlock per message).
 *
 * Why not pthread_mutex_t: its lock and unlock run ~55 instructions per
 * pair (type checks, owner and robust-list bookkeeping) around the one
 * atomic instruction that matters. This lock is that atomic instruction
 * inline, and a futex(2) only when a thread must sleep: the classic
 * three-state futex mutex (0 free, 1 held, 2 held and maybe waited on).
 * It is not recursive, has no owner checks, no timed lock, and cannot be
 * used with a condition variable. A waiter spins briefly, then sleeps in
 * the kernel, so a holder that is preempted costs waiters no CPU.
 *
 * Elsewhere than Linux the sleeping side yields the CPU in a loop instead
 * of a futex. ThreadSanitizer sees the acquire/release atomics and models
 * the lock as it would a mutex.
 *
 * Thread-safe by design; zero-initialised = unlocked (no init or destroy).
 */
#ifndef KAFKA_INTERNAL_LOCK_H
#define KAFKA_INTERNAL_LOCK_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct kafka_lock {
    atomic_int state; /* 0 free, 1 held, 2 held with (possible) sleepers */
} kafka_lock;

/* A spin-wait loop's pause (x86 PAUSE, arm64 YIELD): eases the sibling
 * hyperthread and the memory system while a thread polls a flag. */
static inline void kafka_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Initialises a pthread mutex that spins briefly before it sleeps where
 * glibc offers that (PTHREAD_MUTEX_ADAPTIVE_NP), else a default one: for
 * a mutex two threads take for short spells, often at the same moment
 * (an object's application calls and its I/O thread), where a futex wait
 * and wake-up pair would cost more than the spell. Usable with condition
 * variables. */
void kafka_mutex_init_adaptive(pthread_mutex_t *mu);

/* The contended paths (lock.c). */
void kafka_lock_wait_(kafka_lock *l);
void kafka_lock_wake_(kafka_lock *l);

/* Acquires l; blocks (spins briefly, then sleeps) while another thread
 * holds it. Not recursive. */
static inline void kafka_lock_acquire(kafka_lock *l)
{
    int unlocked = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->state, &unlocked, 1, memory_order_acquire, memory_order_relaxed))
        kafka_lock_wait_(l);
}

/* Releases l, held by the calling thread; wakes one sleeper if any. */
static inline void kafka_lock_release(kafka_lock *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
        kafka_lock_wake_(l);
}

#endif
