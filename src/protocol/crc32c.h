/*
 * CRC32C (Castagnoli) for record batches v2, and CRC32 (IEEE) for the v0/v1
 * message sets. Sans-I/O, pure functions, thread-safe.
 *
 * All functions are chainable like zlib's crc32(): start with crc = 0 and
 * feed the previous result back in, f(f(0, a), b) == f(0, a || b). The
 * pre/post inversion is done inside.
 */
#ifndef KAFKA_PROTOCOL_CRC32C_H
#define KAFKA_PROTOCOL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC32C with the fastest implementation this CPU has (SSE4.2 on x86-64,
 * the ARMv8 CRC extension on aarch64, else slicing-by-8), chosen at run
 * time. */
uint32_t kafka_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable slicing-by-8 implementation (always available). */
uint32_t kafka_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* The hardware implementation. Only call it when
 * kafka_crc32c_hw_available() is true (it executes CPU instructions that
 * older CPUs do not have). */
uint32_t kafka_crc32c_hw(uint32_t crc, const void *buf, size_t len);

/* True when this CPU has CRC32C instructions libkafka knows how to use. */
bool kafka_crc32c_hw_available(void);

/* "sse4.2", "armv8-crc" or "portable": what kafka_crc32c() uses. */
const char *kafka_crc32c_impl_name(void);

/* CRC32 (IEEE 802.3, the one zlib's crc32() computes, chainable the same
 * way), used by message format v0/v1: libdeflate_crc32. */
uint32_t kafka_crc32(uint32_t crc, const void *buf, size_t len);

#endif /* KAFKA_PROTOCOL_CRC32C_H */
