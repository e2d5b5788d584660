/* The contended side of kafka_lock (lock.h). */
#include "common/lock.h"

#include <sched.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define KAFKA_HAVE_FUTEX 1
#else
#define KAFKA_HAVE_FUTEX 0
#endif

/* Spins before sleeping: a lane is held for well under a microsecond, so
 * a waiter usually gets it without a system call. */
#define KAFKA_LOCK_SPINS 100

static void sleep_while_contended(kafka_lock *l)
{
#if KAFKA_HAVE_FUTEX
    /* Returns at once if the state is no longer 2 (EAGAIN), on a wake-up
     * or spuriously: the caller re-checks in every case. */
    syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
#else
    (void)l;
    sched_yield();
#endif
}

void kafka_lock_wait_(kafka_lock *l)
{
    for (int i = 0; i < KAFKA_LOCK_SPINS; i++) {
        int unlocked = 0;
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->state, &unlocked, 1, memory_order_acquire, memory_order_relaxed))
            return;
        kafka_cpu_relax();
    }
    /* Announce a sleeper (state 2) with every attempt, so that the holder's
     * release wakes someone; taking the lock in state 2 is conservative
     * (one needless wake-up at most). */
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        sleep_while_contended(l);
}

void kafka_lock_wake_(kafka_lock *l)
{
#if KAFKA_HAVE_FUTEX
    syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#else
    (void)l;
#endif
}

void kafka_mutex_init_adaptive(pthread_mutex_t *mu)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(mu, &ma);
    pthread_mutexattr_destroy(&ma);
}
