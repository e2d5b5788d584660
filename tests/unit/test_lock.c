/* kafka_lock (src/common/lock.h): mutual exclusion under contention, and
 * the sleeping path: waiters that found the lock held long enough to go to
 * sleep in the kernel are woken by the release and all get the lock. No
 * timing is asserted; sleeps only make the contended paths likely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "common/lock.h"

#define THREADS 4
#define ROUNDS 200000

typedef struct shared {
    kafka_lock lock;
    long counter;         /* plain: only touched under the lock */
    int inside;           /* plain: threads in the critical section */
    int overlap;          /* set if two were ever inside at once */
    atomic_int started;
} shared;

static void *hammer(void *arg)
{
    shared *s = arg;
    atomic_fetch_add(&s->started, 1);
    for (long i = 0; i < ROUNDS; i++) {
        kafka_lock_acquire(&s->lock);
        if (++s->inside != 1)
            s->overlap = 1;
        s->counter++;
        s->inside--;
        kafka_lock_release(&s->lock);
    }
    return NULL;
}

/* Every increment made under the lock is kept, and no two threads were
 * ever inside together. */
static void test_lock_mutual_exclusion(void **state)
{
    (void)state;
    shared s = {0};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(s.counter, (long)THREADS * ROUNDS);
    assert_int_equal(s.overlap, 0);
    assert_int_equal(atomic_load(&s.lock.state), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *take_once(void *arg)
{
    shared *s = arg;
    atomic_fetch_add(&s->started, 1);
    kafka_lock_acquire(&s->lock);
    s->counter++;
    kafka_lock_release(&s->lock);
    return NULL;
}

/* The main thread holds the lock while the others arrive and give up
 * spinning (they then wait in the kernel, the state says so); one release
 * must lead every one of them through. */
static void test_lock_wakes_sleepers(void **state)
{
    (void)state;
    shared s = {0};
    kafka_lock_acquire(&s.lock);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, take_once, &s), 0);
    while (atomic_load(&s.started) < THREADS)
        sleep_ms(1);
    sleep_ms(50); /* long past the spinning */
    assert_int_equal(atomic_load(&s.lock.state), 2); /* sleepers announced */
    assert_int_equal(s.counter, 0);                 /* nobody got in */
    kafka_lock_release(&s.lock);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(s.counter, THREADS);
    assert_int_equal(atomic_load(&s.lock.state), 0);
}

/* Uncontended: acquire and release leave the zero (unlocked) state. */
static void test_lock_uncontended(void **state)
{
    (void)state;
    kafka_lock l = {0};
    for (int i = 0; i < 3; i++) {
        kafka_lock_acquire(&l);
        assert_int_equal(atomic_load(&l.state), 1);
        kafka_lock_release(&l);
        assert_int_equal(atomic_load(&l.state), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_uncontended),
        cmocka_unit_test(test_lock_mutual_exclusion),
        cmocka_unit_test(test_lock_wakes_sleepers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
