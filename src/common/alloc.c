#include "common/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/alloc.h"

static void *default_malloc(void *pd, size_t n) { (void)pd; return malloc(n); }
static void *default_realloc(void *pd, void *p, size_t n) { (void)pd; return realloc(p, n); }
static void default_free(void *pd, void *p) { (void)pd; free(p); }

/* The one documented piece of global mutable state (see kafka/alloc.h). */
static kafka_allocator g_alloc = {default_malloc, default_realloc, default_free, NULL};

void kafka_set_allocator(const kafka_allocator *a)
{
    if (a && a->malloc_fn && a->realloc_fn && a->free_fn)
        g_alloc = *a;
    else
        g_alloc = (kafka_allocator){default_malloc, default_realloc, default_free, NULL};
}

void *kafka_malloc(size_t size) { return g_alloc.malloc_fn(g_alloc.privdata, size ? size : 1); }

void *kafka_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = kafka_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *kafka_realloc(void *ptr, size_t size)
{
    return g_alloc.realloc_fn(g_alloc.privdata, ptr, size ? size : 1);
}

void kafka_free(void *ptr)
{
    if (ptr)
        g_alloc.free_fn(g_alloc.privdata, ptr);
}

char *kafka_strndup(const char *s, size_t n)
{
    char *d = kafka_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *kafka_strdup(const char *s) { return s ? kafka_strndup(s, strlen(s)) : NULL; }

bool kafka_array_reserve(void **arr, size_t *cap, size_t need, size_t elem_size, size_t min_cap)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : (min_cap ? min_cap : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return false;
        n *= 2;
    }
    if (elem_size && n > SIZE_MAX / elem_size)
        return false;
    void *v = kafka_realloc(*arr, n * elem_size);
    if (!v)
        return false;
    *arr = v;
    *cap = n;
    return true;
}
