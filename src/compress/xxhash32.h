/* XXH32 (xxHash, 32-bit), written from the published algorithm
 * description. Used only to check and repair LZ4 frame header checksums,
 * so it need not be fast. Pure; thread-safe. */
#ifndef KAFKA_COMPRESS_XXHASH32_H
#define KAFKA_COMPRESS_XXHASH32_H

#include <stddef.h>
#include <stdint.h>

uint32_t kafka_xxh32(const void *data, size_t len, uint32_t seed);

#endif
