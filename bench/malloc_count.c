/*
 * libbench_malloc_count.so: an LD_PRELOAD allocation counter shared by both
 * benchmarked clients, so "allocations per message" is measured the same
 * way for libkafka and librdkafka (every thread, every library, libc's own
 * allocations included).
 *
 * It interposes malloc, calloc, realloc, posix_memalign, aligned_alloc,
 * memalign and valloc, counts each call that can allocate (realloc too, as
 * it may move), and forwards to glibc's __libc_* entry points (glibc only).
 * free is not interposed. bench_malloc_count() returns the count; the
 * benchmarks find it with dlsym(RTLD_DEFAULT, ...) and report nothing about
 * allocations when the library is not preloaded.
 *
 * The counter is one relaxed atomic: cheap but contended across threads,
 * so run.sh uses it only in separate, untimed allocation runs.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

uint64_t bench_malloc_count(void);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
void *memalign(size_t align, size_t n);
void *valloc(size_t n);

static atomic_uint_fast64_t g_count;

static void bump(void)
{
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
}

uint64_t bench_malloc_count(void)
{
    return (uint64_t)atomic_load_explicit(&g_count, memory_order_relaxed);
}

void *malloc(size_t n)
{
    bump();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    bump();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    bump();
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    /* align must be a power of two multiple of sizeof(void *) */
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    bump();
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    bump();
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    bump();
    return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
    bump();
    return __libc_memalign(4096, n);
}
