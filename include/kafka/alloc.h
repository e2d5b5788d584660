/*
 * libkafka — allocator hook.
 *
 * Thread safety: kafka_set_allocator() changes process-wide state (the only
 * global mutable state of the library besides what kafka.h lists). Call it
 * once, before any other libkafka function, from one thread; changing it
 * while objects exist frees memory with the wrong allocator.
 */
#ifndef KAFKA_ALLOC_H
#define KAFKA_ALLOC_H

#include <stddef.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocator callbacks. Each gets the `privdata` given to
 * kafka_set_allocator(). `realloc_fn(privdata, NULL, n)` must behave like
 * malloc and `free_fn(privdata, NULL)` must be a no-op, as in C. */
typedef struct kafka_allocator {
    void *(*malloc_fn)(void *privdata, size_t size);
    void *(*realloc_fn)(void *privdata, void *ptr, size_t size);
    void (*free_fn)(void *privdata, void *ptr);
    void *privdata;
} kafka_allocator;

/* Installs `a` as the allocator for every later allocation the library
 * makes; NULL restores malloc/realloc/free. The struct is copied. Does not
 * block. Not thread-safe: see the header comment. */
KAFKA_API void kafka_set_allocator(const kafka_allocator *a);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_ALLOC_H */
