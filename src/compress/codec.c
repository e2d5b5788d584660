/* kafka_codec_name / kafka_codec_parse (include/kafka/compression.h). */
#include <stddef.h>
#include <strings.h>

#include "kafka/compression.h"
#include "kafka/error.h"

static const struct {
    kafka_codec codec;
    const char *name;
} codec_names[] = {
    {KAFKA_CODEC_NONE, "none"}, {KAFKA_CODEC_GZIP, "gzip"}, {KAFKA_CODEC_SNAPPY, "snappy"},
    {KAFKA_CODEC_LZ4, "lz4"},   {KAFKA_CODEC_ZSTD, "zstd"},
};

#define CODEC_COUNT (sizeof codec_names / sizeof codec_names[0])

const char *kafka_codec_name(kafka_codec codec)
{
    for (size_t i = 0; i < CODEC_COUNT; i++)
        if (codec_names[i].codec == codec)
            return codec_names[i].name;
    return NULL;
}

int kafka_codec_parse(const char *name, kafka_codec *out)
{
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    if (!name)
        return KAFKA_ERR_UNSUPPORTED_CODEC;
    for (size_t i = 0; i < CODEC_COUNT; i++) {
        if (strcasecmp(name, codec_names[i].name) == 0) {
            *out = codec_names[i].codec;
            return KAFKA_ERR_OK;
        }
    }
    return KAFKA_ERR_UNSUPPORTED_CODEC;
}
