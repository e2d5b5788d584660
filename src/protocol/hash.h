/*
 * Key hashes used by the partition balancers. Pure functions, no state,
 * thread-safe. (CRC32 IEEE is zlib's crc32(); see protocol/crc32c.h.)
 */
#ifndef KAFKA_PROTOCOL_HASH_H
#define KAFKA_PROTOCOL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's murmur2: the Java client's Utils.murmur2 (MurmurHash2, seed
 * 0x9747b28c, tail bytes folded in little-endian order). The Java function
 * returns a signed int; this returns the same 32 bits unsigned.
 * `data` may be NULL when len == 0. */
uint32_t kafka_murmur2(const void *data, size_t len);

/* 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193), the hash Go's
 * hash/fnv New32a computes. `data` may be NULL when len == 0. */
uint32_t kafka_fnv1a32(const void *data, size_t len);

#endif /* KAFKA_PROTOCOL_HASH_H */
