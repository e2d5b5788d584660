/*
 * libkafka — umbrella header. Include this one file.
 *
 * Global mutable state: the only process-wide state libkafka keeps is the
 * allocator installed with kafka_set_allocator() (kafka/alloc.h) and the
 * CPU feature probe behind CRC32C, which is computed once and thread-safe.
 */
#ifndef KAFKA_KAFKA_H
#define KAFKA_KAFKA_H

#include "export.h"
#include "alloc.h"
#include "error.h"
#include "compression.h"
#include "message.h"
#include "transport.h"
#include "dialer.h"
#include "conn.h"
#include "balancer.h"
#include "reader.h"

#define KAFKA_VERSION_MAJOR 0
#define KAFKA_VERSION_MINOR 1
#define KAFKA_VERSION_PATCH 0
#define KAFKA_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the library's version string, e.g. "0.1.0" (static storage). */
KAFKA_API const char *kafka_version(void);

#ifdef __cplusplus
}
#endif
#endif
