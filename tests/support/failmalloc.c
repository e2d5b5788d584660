/* tests/support/failmalloc.h */
#include "failmalloc.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "kafka/alloc.h"

static atomic_long g_count;
static atomic_long g_fail_at;
static atomic_bool g_fired;

#define SITES_MAX 8192
static pthread_mutex_t g_sites_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_sites[SITES_MAX];
static size_t g_n_sites;
/* With KT_FAILMALLOC_STACKS=file: each new stack's frames, as
 * "object+offset" lines, appended at uninstall (for addr2line). */
#define STACK_FRAMES 10
static void *g_stacks[SITES_MAX][STACK_FRAMES];
static int g_stack_len[SITES_MAX];

/* Notes the call stack of the allocation being failed. */
static void site_add(void)
{
    void *frames[STACK_FRAMES];
    int n = backtrace(frames, STACK_FRAMES);
    uint64_t h = 1469598103934665603u; /* FNV-1a over the return addresses */
    /* Skip site_add and should_fail (the hook's own frames, whether
     * inlined or not, and libkafka's allocation wrappers are the same for
     * every site: they only shift the window). */
    for (int i = 2; i < n; i++) {
        uintptr_t a = (uintptr_t)frames[i];
        for (size_t b = 0; b < sizeof a; b++) {
            h ^= (uint8_t)(a >> (8 * b));
            h *= 1099511628211u;
        }
    }
    pthread_mutex_lock(&g_sites_mu);
    size_t i = 0;
    while (i < g_n_sites && g_sites[i] != h)
        i++;
    if (i == g_n_sites && g_n_sites < SITES_MAX) {
        for (int k = 0; k < n; k++)
            g_stacks[g_n_sites][k] = frames[k];
        g_stack_len[g_n_sites] = n;
        g_sites[g_n_sites++] = h;
    }
    pthread_mutex_unlock(&g_sites_mu);
}

static bool should_fail(void)
{
    long n = atomic_fetch_add(&g_count, 1) + 1;
    long at = atomic_load(&g_fail_at);
    if (at > 0 && n == at) {
        atomic_store(&g_fired, true);
        site_add();
        return true;
    }
    return false;
}

static void *fm_malloc(void *pd, size_t n)
{
    (void)pd;
    return should_fail() ? NULL : malloc(n);
}

static void *fm_realloc(void *pd, void *p, size_t n)
{
    (void)pd;
    return should_fail() ? NULL : realloc(p, n);
}

static void fm_free(void *pd, void *p)
{
    (void)pd;
    free(p);
}

void kt_failmalloc_install(void)
{
    void *warm[2];
    backtrace(warm, 2); /* its first call loads libgcc: not under a lock later */
    kt_failmalloc_arm(0);
    kafka_set_allocator(&(kafka_allocator){fm_malloc, fm_realloc, fm_free, NULL});
}

static void stacks_dump(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    pthread_mutex_lock(&g_sites_mu);
    for (size_t i = 0; i < g_n_sites; i++) {
        for (int k = 2; k < g_stack_len[i]; k++) {
            Dl_info di;
            if (dladdr(g_stacks[i][k], &di) && di.dli_fname)
                fprintf(f, "%s%s+0x%lx", k > 2 ? " " : "", di.dli_fname,
                        (unsigned long)((uintptr_t)g_stacks[i][k] - (uintptr_t)di.dli_fbase - 1));
        }
        fputc('\n', f);
    }
    pthread_mutex_unlock(&g_sites_mu);
    fclose(f);
}

void kt_failmalloc_uninstall(void)
{
    kt_failmalloc_arm(0);
    kafka_set_allocator(NULL);
    const char *path = getenv("KT_FAILMALLOC_STACKS");
    if (path && *path)
        stacks_dump(path);
}

void kt_failmalloc_arm(long n)
{
    atomic_store(&g_fail_at, 0);
    atomic_store(&g_count, 0);
    atomic_store(&g_fired, false);
    atomic_store(&g_fail_at, n);
}

bool kt_failmalloc_fired(void) { return atomic_load(&g_fired); }

long kt_failmalloc_count(void) { return atomic_load(&g_count); }

size_t kt_failmalloc_sites(void)
{
    pthread_mutex_lock(&g_sites_mu);
    size_t n = g_n_sites;
    pthread_mutex_unlock(&g_sites_mu);
    return n;
}
