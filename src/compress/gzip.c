/* gzip via libdeflate (whole-buffer deflate: a Kafka batch is one buffer
 * on both sides). Encode: one gzip member (RFC 1952) from
 * libdeflate_gzip_compress at the requested level (libdeflate's levels
 * 1-9 mean what zlib's do, with a better ratio at equal level; 0 stores). The output is not byte-identical to zlib's any more, but
 * is a standard gzip member that zlib, gunzip and Java read.
 * Decode: gzip or zlib wrapper, auto-detected, concatenated gzip members
 * (anything else after the last member is corrupt); libdeflate checks the
 * header, CRC-32 and length. libdeflate needs the whole output buffer up
 * front: the member's ISIZE (its length mod 2^32) is the first guess, then
 * the guess doubles, never past the sink's limit, so a bomb gets
 * KAFKA_ERR_TOO_LARGE after at most `limit` bytes were allocated.
 * libdeflate's allocations go through the libkafka allocator
 * (kafka_set_allocator installs it there: common/alloc.c). */
#include <libdeflate.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "common/alloc.h"
#include "compress/compress_int.h"

/* libdeflate's allocator is process-wide: pointed once at libkafka's
 * (which follows kafka_set_allocator). Other libdeflate users in the
 * process then allocate through it too (plain malloc unless the
 * application installed an allocator). */
static pthread_once_t gz_alloc_once = PTHREAD_ONCE_INIT;

static void gz_alloc_init(void) { libdeflate_set_memory_allocator(kafka_malloc, kafka_free); }

/* A compressor kept between calls, and the level it was made for. */
typedef struct gz_ctx {
    struct libdeflate_compressor *c;
    int level;
} gz_ctx;

void kafka_gzip_ctx_free(void *ctx)
{
    gz_ctx *g = ctx;
    if (!g)
        return;
    if (g->c)
        libdeflate_free_compressor(g->c);
    kafka_free(g);
}

static kafka_err gz_member(struct libdeflate_compressor *c, const uint8_t *in, size_t in_len, kafka_wbuf *out)
{
    size_t bound = libdeflate_gzip_compress_bound(c, in_len);
    if (!kafka_wbuf_reserve(out, bound))
        return KAFKA_ERR_NOMEM;
    size_t n = libdeflate_gzip_compress(c, in, in_len, out->data + out->len, bound);
    if (n == 0)
        return KAFKA_ERR_COMPRESSION; /* cannot happen with the bound */
    out->len += n;
    return KAFKA_ERR_OK;
}

kafka_err kafka_gzip_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx)
{
    if (level == KAFKA_COMPRESSION_LEVEL_DEFAULT || level == -1)
        level = 6; /* zlib's default, which libkafka always used */
    else if (level < 0 || level > 9)
        return KAFKA_ERR_INVALID_ARG;
    gz_ctx local = {0}, *g = &local;
    if (ctx) {
        if (!*ctx && !(*ctx = kafka_calloc(1, sizeof(gz_ctx))))
            return KAFKA_ERR_NOMEM;
        g = *ctx;
    }
    if (g->c && g->level != level) {
        libdeflate_free_compressor(g->c);
        g->c = NULL;
    }
    if (!g->c) {
        pthread_once(&gz_alloc_once, gz_alloc_init);
        if (!(g->c = libdeflate_alloc_compressor(level)))
            return KAFKA_ERR_NOMEM;
        g->level = level;
    }
    kafka_err err = gz_member(g->c, in, in_len, out);
    if (g == &local)
        libdeflate_free_compressor(g->c);
    return err;
}

/* Whole-buffer decoders of one wrapper: libdeflate_gzip_decompress_ex or
 * libdeflate_zlib_decompress_ex. */
typedef enum libdeflate_result (*gz_decode_fn)(struct libdeflate_decompressor *, const void *, size_t, void *,
                                               size_t, size_t *, size_t *);

/* Decodes one member at in[0..in_len) into the sink; *used = input bytes
 * it took. `hint`: the expected output length (0: unknown). */
static kafka_err gz_one(struct libdeflate_decompressor *d, gz_decode_fn decode, const uint8_t *in, size_t in_len,
                        size_t hint, kafka_zsink *sink, size_t *used)
{
    size_t room = sink->limit - kafka_zsink_produced(sink);
    size_t guess = hint ? hint : (in_len < SIZE_MAX / 4 ? in_len * 4 : SIZE_MAX);
    if (guess < 64)
        guess = 64;
    for (;;) {
        if (guess > room)
            guess = room;
        uint8_t *p = NULL;
        kafka_err err = kafka_zsink_reserve(sink, guess, &p);
        if (err)
            return err;
        size_t got = 0;
        enum libdeflate_result r = decode(d, in, in_len, p, guess, used, &got);
        if (r == LIBDEFLATE_SUCCESS)
            return kafka_zsink_commit(sink, got);
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE)
            return KAFKA_ERR_COMPRESSION;
        if (guess >= room)
            return KAFKA_ERR_TOO_LARGE; /* more output than the limit */
        guess = guess < SIZE_MAX / 2 ? guess * 2 : SIZE_MAX;
    }
}

/* The ISIZE of the last member (its last 4 bytes), as a hint: right for
 * a single member under 4 GiB, which a Kafka batch always is. */
static size_t gz_isize(const uint8_t *in, size_t in_len)
{
    if (in_len < 18)
        return 0;
    const uint8_t *t = in + in_len - 4;
    return (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
}

kafka_err kafka_gzip_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    if (in_len < 2)
        return KAFKA_ERR_COMPRESSION;
    pthread_once(&gz_alloc_once, gz_alloc_init);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d)
        return KAFKA_ERR_NOMEM;
    kafka_err err;
    size_t used = 0;
    if (in[0] != 0x1f || in[1] != 0x8b) { /* a zlib stream, or garbage */
        err = gz_one(d, libdeflate_zlib_decompress_ex, in, in_len, 0, sink, &used);
        if (!err && used != in_len)
            err = KAFKA_ERR_COMPRESSION;
        libdeflate_free_decompressor(d);
        return err;
    }
    size_t pos = 0, hint = gz_isize(in, in_len);
    do {
        /* Only gzip members may follow a gzip member. */
        if (in_len - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
            err = KAFKA_ERR_COMPRESSION;
            break;
        }
        err = gz_one(d, libdeflate_gzip_decompress_ex, in + pos, in_len - pos, pos ? 0 : hint, sink, &used);
        pos += used;
    } while (!err && pos < in_len);
    libdeflate_free_decompressor(d);
    return err;
}
