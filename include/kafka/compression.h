/*
 * libkafka — compression codecs (the values are Kafka's attribute bits).
 */
#ifndef KAFKA_COMPRESSION_H
#define KAFKA_COMPRESSION_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kafka_codec {
    KAFKA_CODEC_NONE = 0,
    KAFKA_CODEC_GZIP = 1,
    KAFKA_CODEC_SNAPPY = 2,
    KAFKA_CODEC_LZ4 = 3,
    KAFKA_CODEC_ZSTD = 4
} kafka_codec;

/* Level meaning "the codec's default". */
#define KAFKA_COMPRESSION_LEVEL_DEFAULT (-1000)

/* Returns "none", "gzip", "snappy", "lz4", "zstd", or NULL for an unknown
 * value. Static storage; thread-safe. */
KAFKA_API const char *kafka_codec_name(kafka_codec codec);

/* Parses a codec name as above (case-insensitive). Returns 0 and sets *out,
 * or KAFKA_ERR_UNSUPPORTED_CODEC (also for a NULL name);
 * KAFKA_ERR_INVALID_ARG if out is NULL. Does not block. Thread-safe. */
KAFKA_API int kafka_codec_parse(const char *name, kafka_codec *out);

#ifdef __cplusplus
}
#endif
#endif
