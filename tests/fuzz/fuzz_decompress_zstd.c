/* libFuzzer target: the zstd decompressor (kafka_decompress, 1 MiB limit).
 * Seeds: tests/fuzz/corpus/decompress_zstd/. */
#include "fuzz_decompress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decompress(KAFKA_CODEC_ZSTD, data, size);
}
