#include "compress/xxhash32.h"

#define P1 2654435761u
#define P2 2246822519u
#define P3 3266489917u
#define P4 668265263u
#define P5 374761393u

static uint32_t rotl32(uint32_t x, unsigned r) { return (x << r) | (x >> (32 - r)); }

static uint32_t read32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t xxh32_round(uint32_t acc, uint32_t input) { return rotl32(acc + input * P2, 13) * P1; }

uint32_t kafka_xxh32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    uint32_t h;

    if (len >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        /* Four lanes over each 16-byte stripe. */
        while ((size_t)(end - p) >= 16) {
            v1 = xxh32_round(v1, read32le(p));
            v2 = xxh32_round(v2, read32le(p + 4));
            v3 = xxh32_round(v3, read32le(p + 8));
            v4 = xxh32_round(v4, read32le(p + 12));
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + P5;
    }
    h += (uint32_t)len;
    while ((size_t)(end - p) >= 4) {
        h = rotl32(h + read32le(p) * P3, 17) * P4;
        p += 4;
    }
    while (p < end)
        h = rotl32(h + (uint32_t)(*p++) * P5, 11) * P1;
    /* Final avalanche. */
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}
