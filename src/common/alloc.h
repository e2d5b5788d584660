/* Internal allocation entry points: every allocation in libkafka goes
 * through these so that kafka_set_allocator() sees it. */
#ifndef KAFKA_INTERNAL_ALLOC_H
#define KAFKA_INTERNAL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *kafka_malloc(size_t size);
void *kafka_calloc(size_t n, size_t size); /* overflow-checked */
void *kafka_realloc(void *ptr, size_t size);
void kafka_free(void *ptr);
char *kafka_strdup(const char *s);
char *kafka_strndup(const char *s, size_t n);

/* Grows the array *arr (of *cap elements of elem_size bytes) so that it
 * holds at least `need` elements, doubling (at least min_cap). Returns
 * false, leaving the array as it was, when out of memory or on overflow. */
bool kafka_array_reserve(void **arr, size_t *cap, size_t need, size_t elem_size, size_t min_cap);

#endif
