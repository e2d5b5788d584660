/* Internal to src/compress: the bounded output sink shared by the four
 * decompressors, and the per-codec entry points kafka_compress() and
 * kafka_decompress() dispatch to. */
#ifndef KAFKA_COMPRESS_INT_H
#define KAFKA_COMPRESS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "compress/compress.h"

/* Output of one decompression call: appends to `out` from `start`, at most
 * `limit` bytes. Space is handed out in growing steps, never allocating
 * past start + limit; once the limit is reached the decoder gets a one-byte
 * scratch area, and a byte written there means more output than allowed
 * (KAFKA_ERR_TOO_LARGE) without allocating for the rest. */
typedef struct kafka_zsink {
    kafka_wbuf *out;
    size_t start;
    size_t limit;
    bool in_scratch;
    uint8_t scratch[1];
} kafka_zsink;

static inline size_t kafka_zsink_produced(const kafka_zsink *s) { return s->out->len - s->start; }

/* Gives the next writable range [*p, *p + *n), *n > 0. KAFKA_ERR_TOO_LARGE
 * once more than `limit` bytes were produced; KAFKA_ERR_NOMEM. */
kafka_err kafka_zsink_space(kafka_zsink *s, uint8_t **p, size_t *n);

/* Records that n bytes were written at the range kafka_zsink_space gave;
 * KAFKA_ERR_TOO_LARGE if they went past the limit. */
kafka_err kafka_zsink_commit(kafka_zsink *s, size_t n);

/* Gives exactly n writable bytes (for codecs that know the output size
 * before decoding, like snappy): KAFKA_ERR_TOO_LARGE when n would pass the
 * limit, before anything is allocated. Commit with kafka_zsink_commit. */
kafka_err kafka_zsink_reserve(kafka_zsink *s, size_t n, uint8_t **p);

/* Drops everything this call produced (used by a codec that restarts). */
static inline void kafka_zsink_rewind(kafka_zsink *s) { s->out->len = s->start; }

/* Per-codec implementations. A compressor's ctx, when not NULL, holds its
 * codec context between calls (*ctx NULL: created on first use; freed
 * with the codec's kafka_*_ctx_free); ctx NULL = a context for this call
 * only. Compressors append to `out` (level already
 * validated by the codec itself); decompressors write through the sink. */
kafka_err kafka_gzip_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx);
void kafka_gzip_ctx_free(void *ctx);
kafka_err kafka_gzip_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink);
kafka_err kafka_snappy_compress(const uint8_t *in, size_t in_len, kafka_wbuf *out);
kafka_err kafka_snappy_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink);
kafka_err kafka_lz4_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx);
void kafka_lz4_ctx_free(void *ctx);
kafka_err kafka_lz4_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink);
kafka_err kafka_zstd_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx);
void kafka_zstd_ctx_free(void *ctx);
kafka_err kafka_zstd_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink);

#endif
