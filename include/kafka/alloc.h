/*
 * libkafka — allocator hook.
 *
 * What it covers: every allocation libkafka makes itself (objects, buffers,
 * decoded structures, copies of configs) and the working memory of the
 * libdeflate (gzip), zstd and lz4 (de)compression contexts, which
 * libkafka routes through it (libdeflate's allocator is process-wide:
 * other libdeflate users in the process then allocate through this hook
 * too, i.e. plain malloc unless one is installed). Not covered: memory allocated inside OpenSSL, snappy (C++
 * operator new), the C library (getaddrinfo, pthreads, thread-local
 * storage) and any user transport.
 *
 * Thread safety: kafka_set_allocator() changes process-wide state, one of
 * the few pieces of global mutable state listed in kafka/kafka.h. Call it
 * before any other libkafka function, from one thread, while no other
 * thread uses libkafka. Changing it while libkafka objects or memory it
 * handed out (e.g. from kafka_conn_read_partitions or kafka_message_copy)
 * still exist would free that memory with the wrong allocator.
 */
#ifndef KAFKA_ALLOC_H
#define KAFKA_ALLOC_H

#include <stddef.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocator callbacks, with C's malloc/realloc/free semantics. Each gets
 * `privdata` as the first argument. libkafka never asks for 0 bytes (it
 * rounds a 0 request up to 1) and never passes NULL to free_fn, but
 * realloc_fn(privdata, NULL, n) must behave like malloc. A callback
 * returning NULL makes the libkafka call fail with KAFKA_ERR_NOMEM. The
 * callbacks may be called from any libkafka thread, concurrently, so they
 * must be thread-safe. */
typedef struct kafka_allocator {
    void *(*malloc_fn)(void *privdata, size_t size);
    void *(*realloc_fn)(void *privdata, void *ptr, size_t size);
    void (*free_fn)(void *privdata, void *ptr);
    void *privdata;
} kafka_allocator;

/* Installs `a` as the allocator for every later allocation the library
 * makes. NULL, or an `a` with any of the three callbacks NULL, restores
 * malloc/realloc/free. The struct is copied (privdata is kept as a
 * pointer and never freed). Does not block. Not thread-safe: see the
 * header comment. */
KAFKA_API void kafka_set_allocator(const kafka_allocator *a);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_ALLOC_H */
