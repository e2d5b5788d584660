#include "common/arena.h"

#include <stdint.h>
#include <string.h>

#include "common/alloc.h"

struct kafka_arena_chunk {
    kafka_arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_MIN_CHUNK 4096u

void kafka_arena_init(kafka_arena *a, size_t limit)
{
    a->head = NULL;
    a->limit = limit;
    a->total = 0;
}

static kafka_arena_chunk *arena_grow(kafka_arena *a, size_t need)
{
    size_t cap = ARENA_MIN_CHUNK;
    if (a->head && a->head->cap * 2 > cap)
        cap = a->head->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > SIZE_MAX - sizeof(kafka_arena_chunk))
        return NULL;
    if (a->limit && (a->total + cap > a->limit)) {
        if (a->total + need > a->limit)
            return NULL;
        cap = need;
    }
    kafka_arena_chunk *c = kafka_malloc(sizeof(*c) + cap);
    if (!c)
        return NULL;
    c->next = a->head;
    c->cap = cap;
    c->used = 0;
    a->head = c;
    a->total += cap;
    return c;
}

void *kafka_arena_alloc_uninit(kafka_arena *a, size_t size)
{
    if (size > SIZE_MAX - 15)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    kafka_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        c = arena_grow(a, size ? size : 16);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

void *kafka_arena_alloc(kafka_arena *a, size_t size)
{
    void *p = kafka_arena_alloc_uninit(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void *kafka_arena_calloc(kafka_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return kafka_arena_alloc(a, n * size);
}

void kafka_arena_reset(kafka_arena *a)
{
    kafka_arena_chunk *c = a->head;
    if (!c)
        return;
    /* keep the oldest chunk (the tail), free the others */
    kafka_arena_chunk *keep = c;
    while (keep->next)
        keep = keep->next;
    while (c != keep) {
        kafka_arena_chunk *n = c->next;
        kafka_free(c);
        c = n;
    }
    keep->used = 0;
    a->head = keep;
    a->total = keep->cap;
}

void kafka_arena_free(kafka_arena *a)
{
    kafka_arena_chunk *c = a->head;
    while (c) {
        kafka_arena_chunk *n = c->next;
        kafka_free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
