/* Key hashes for the partition balancers; see hash.h. */
#include "protocol/hash.h"

/* Reads 4 bytes as a little-endian word: murmur2 as Kafka defines it is
 * byte-order independent, whatever CPU runs it. */
static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint32_t kafka_murmur2(const void *data, size_t len)
{
    const uint32_t seed = 0x9747b28cu;
    const uint32_t m = 0x5bd1e995u;
    const unsigned char *p = data;
    /* Java hashes an int-length array; the length enters the seed as an
     * int, so only its low 32 bits matter. */
    uint32_t h = seed ^ (uint32_t)len;
    size_t words = len / 4;

    for (size_t i = 0; i < words; i++) {
        uint32_t k = load_le32(p + 4 * i);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }

    /* The 1-3 trailing bytes (only when there are some: p may be NULL
     * for an empty key, and NULL + 0 is not valid C). */
    size_t rest = len & 3;
    if (rest) {
        const unsigned char *tail = p + 4 * words;
        if (rest == 3)
            h ^= (uint32_t)tail[2] << 16;
        if (rest >= 2)
            h ^= (uint32_t)tail[1] << 8;
        h ^= (uint32_t)tail[0];
        h *= m;
    }

    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

uint32_t kafka_fnv1a32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}
