/*
 * One interface over Kafka's four codecs. Sans-I/O, no global state,
 * thread-safe (each call uses its own codec context, or the caller's
 * kafka_compressor).
 *
 * Output is appended to a kafka_wbuf (src/protocol/wire.h); on error the
 * wbuf's length is restored to what it was on entry.
 */
#ifndef KAFKA_COMPRESS_H
#define KAFKA_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "kafka/compression.h"
#include "kafka/error.h"
#include "protocol/wire.h"

/* Compresses in[0..in_len) with `codec` at `level`
 * (KAFKA_COMPRESSION_LEVEL_DEFAULT for the codec's default) and appends the
 * result to `out` in the framing Kafka expects inside a record batch: gzip
 * stream, snappy in xerial framing, lz4 frame, zstd frame.
 *
 * Levels (anything else is KAFKA_ERR_INVALID_ARG, never clamped):
 *   gzip   -1..9 (libdeflate, which gives these zlib's meaning; 0 stores;
 *          default -1, i.e. 6)
 *   snappy ignored (snappy has no levels)
 *   lz4    0..12 (0 = fast mode, the default; 3..12 = lz4hc)
 *   zstd   ZSTD_minCLevel()..ZSTD_maxCLevel() (negative = fast; default 3)
 * KAFKA_CODEC_NONE copies the input. lz4 frames use 64 KiB independent
 * blocks without checksums, as Kafka's Java client writes them. */
kafka_err kafka_compress(kafka_codec codec, int level, const uint8_t *in, size_t in_len, kafka_wbuf *out);

/* Codec contexts kept from one compression to the next (a zstd CCtx, an
 * lz4 frame context, a libdeflate compressor: each allocates and initialises
 * from hundreds of KiB to a few MiB), for a caller that compresses batch
 * after batch. Created empty (each context on first use), so it costs
 * nothing for the codecs never used. One thread at a time; NULL on
 * out-of-memory. */
typedef struct kafka_compressor kafka_compressor;
kafka_compressor *kafka_compressor_new(void);
void kafka_compressor_free(kafka_compressor *z); /* NULL is a no-op */

/* kafka_compress, reusing z's context for the codec (z NULL = fresh
 * contexts, exactly kafka_compress). The output is the same bytes as
 * kafka_compress gives. */
kafka_err kafka_compress_with(kafka_compressor *z, kafka_codec codec, int level, const uint8_t *in, size_t in_len,
                              kafka_wbuf *out);

/* Decompresses in[0..in_len) and appends the result to `out`. Accepts every
 * framing Kafka producers have written (snappy: xerial and raw; lz4: frame
 * format, including the broken header checksum of Kafka 0.8-era clients).
 * More than `max_out` bytes of output is KAFKA_ERR_TOO_LARGE (a
 * decompression bomb never allocates past the limit); corrupt input is
 * KAFKA_ERR_COMPRESSION (so is empty input, except for KAFKA_CODEC_NONE,
 * which copies); an unknown codec is KAFKA_ERR_UNSUPPORTED_CODEC.
 * Memory: the output grows in steps up to max_out, never past it, whatever
 * the input claims; codec state adds at most about 8 MiB (zstd's window
 * cap, lz4's 4 MiB blocks), usually well under 1 MiB. */
kafka_err kafka_decompress(kafka_codec codec, const uint8_t *in, size_t in_len, size_t max_out, kafka_wbuf *out);

#endif
