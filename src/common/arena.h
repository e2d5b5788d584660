/* A bump allocator for decoded responses: every array a decoder creates is
 * carved from one arena and freed at once with it, so a response costs a
 * handful of allocations however many elements it has. Not thread-safe. */
#ifndef KAFKA_INTERNAL_ARENA_H
#define KAFKA_INTERNAL_ARENA_H

#include <stddef.h>

typedef struct kafka_arena_chunk kafka_arena_chunk;

typedef struct kafka_arena {
    kafka_arena_chunk *head; /* newest chunk first */
    size_t limit;            /* max total bytes; 0 = unlimited */
    size_t total;            /* bytes allocated from the system so far */
} kafka_arena;

/* Zero-initialised arena is valid (no limit). */
void kafka_arena_init(kafka_arena *a, size_t limit);
/* Returns zeroed, 16-byte aligned memory that lives until reset/free, or
 * NULL when out of memory or past the limit. size 0 returns a valid
 * non-NULL pointer. */
void *kafka_arena_alloc(kafka_arena *a, size_t size);
/* Like kafka_arena_alloc but the memory is not zeroed: for buffers that
 * are filled at once (a response frame read from the network). */
void *kafka_arena_alloc_uninit(kafka_arena *a, size_t size);
/* Overflow-checked n * size. */
void *kafka_arena_calloc(kafka_arena *a, size_t n, size_t size);
/* Frees everything but keeps the first chunk for reuse. */
void kafka_arena_reset(kafka_arena *a);
/* Frees everything. */
void kafka_arena_free(kafka_arena *a);

#endif
