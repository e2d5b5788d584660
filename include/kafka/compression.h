/*
 * libkafka — compression codecs (the values are the codec bits of Kafka's
 * record batch attributes).
 *
 * Thread safety: everything here is pure and thread-safe; nothing blocks.
 */
#ifndef KAFKA_COMPRESSION_H
#define KAFKA_COMPRESSION_H

#include "error.h"
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

/* Compression level meaning "the codec's default" (e.g. for
 * kafka_writer_config.compression_level). Other levels are the codec's own
 * (gzip -1..9, lz4 0..12 where 3..12 is lz4hc, zstd its negative fast
 * levels..22); snappy has none. A level outside the range fails with
 * KAFKA_ERR_INVALID_ARG rather than being clamped. */
#define KAFKA_COMPRESSION_LEVEL_DEFAULT (-1000)

/* Returns "none", "gzip", "snappy", "lz4", "zstd", or NULL for a value
 * that is not a kafka_codec. Static storage (never free it); thread-safe;
 * does not block. */
KAFKA_API const char *kafka_codec_name(kafka_codec codec);

/* Parses a codec name as above (case-insensitive). Returns 0 and sets *out,
 * or KAFKA_ERR_UNSUPPORTED_CODEC (also for a NULL name);
 * KAFKA_ERR_INVALID_ARG if out is NULL. Does not block. Thread-safe. */
KAFKA_API kafka_err kafka_codec_parse(const char *name, kafka_codec *out);

#ifdef __cplusplus
}
#endif
#endif
