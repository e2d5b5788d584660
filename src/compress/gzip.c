/* gzip via zlib. Encode: raw deflate (windowBits -15) inside a gzip
 * member (RFC 1952) whose 10-byte header and 8-byte trailer are written
 * here, so that the trailer's CRC-32 comes from kafka_crc32_ieee
 * (PCLMULQDQ folding where the CPU has it; zlib's own crc32 was ~5% of a
 * gzip produce). The deflate stream is the very one zlib's gzip wrapper
 * would make (same level, window, memLevel 8, default strategy), and the
 * header is the one zlib writes on Unix, so the output is byte for byte
 * what deflateInit2(windowBits 15 + 16) gives there.
 * Decode: gzip or zlib wrapper, auto-detected (windowBits 15 + 32), which
 * checks the header, CRC and length, and concatenated gzip members;
 * anything else after the last member is corrupt. zlib's own allocations
 * go through the libkafka allocator. */
#define ZLIB_CONST
#include <limits.h>
#include <stdbool.h>
#include <zlib.h>

#include "common/alloc.h"
#include "compress/compress_int.h"
#include "compress/crc32.h"

static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return kafka_calloc(items, size);
}

static void gz_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    kafka_free(p);
}

static z_stream gz_stream(void)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = gz_alloc;
    zs.zfree = gz_free;
    return zs;
}

/* Feeds the next piece of input: zlib counts in uInt, inputs may be larger. */
static void gz_feed(z_stream *zs, const uint8_t *in, size_t in_len, size_t *pos)
{
    if (zs->avail_in == 0 && *pos < in_len) {
        size_t chunk = in_len - *pos;
        if (chunk > UINT_MAX)
            chunk = UINT_MAX;
        zs->next_in = in + *pos;
        zs->avail_in = (uInt)chunk;
        *pos += chunk;
    }
}

static uInt gz_clamp(size_t n) { return n > UINT_MAX ? UINT_MAX : (uInt)n; }

/* RFC 1952 framing around the raw deflate stream. */
#define GZ_HEADER_LEN 10
#define GZ_TRAILER_LEN 8

/* A raw deflate stream kept between calls, and the level it was set up for. */
typedef struct gz_ctx {
    z_stream zs;
    int level;
    bool live; /* deflateInit2 succeeded: deflateEnd owed */
} gz_ctx;

/* Ready for a new raw deflate stream at `level`: a kept stream is reset (its
 * window and hash table stay allocated), else (re)initialised. */
static kafka_err gz_ctx_start(gz_ctx *g, int level)
{
    if (g->live && g->level == level && deflateReset(&g->zs) == Z_OK)
        return KAFKA_ERR_OK;
    if (g->live)
        deflateEnd(&g->zs);
    g->live = false;
    g->zs = gz_stream();
    int rc = deflateInit2(&g->zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KAFKA_ERR_NOMEM : KAFKA_ERR_COMPRESSION;
    g->live = true;
    g->level = level;
    return KAFKA_ERR_OK;
}

void kafka_gzip_ctx_free(void *ctx)
{
    gz_ctx *g = ctx;
    if (!g)
        return;
    if (g->live)
        deflateEnd(&g->zs);
    kafka_free(g);
}

/* The member header as zlib writes it without a gz_header: magic 1f 8b,
 * CM 8 (deflate), FLG 0 (no name, comment, extra or header CRC), MTIME 0
 * (none: a batch is not a file), XFL from the level, OS 3. OS 3 (Unix) is
 * what zlib writes on every Unix, so the output stays byte-identical to
 * zlib's gzip wrapper (and to earlier libkafka) there; decoders ignore it. */
static void gz_put_header(kafka_wbuf *out, int level)
{
    if (level == Z_DEFAULT_COMPRESSION)
        level = 6; /* zlib's meaning of -1 */
    /* zlib's rule: 2 = slowest (level 9), 4 = fastest (levels 0 and 1, or
     * the Huffman-only / RLE strategies, which are never used here). */
    uint8_t xfl = level == 9 ? 2 : level < 2 ? 4 : 0;
    const uint8_t h[GZ_HEADER_LEN] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3};
    kafka_put_raw(out, h, sizeof h);
}

static void gz_put_le32(kafka_wbuf *out, uint32_t v)
{
    const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    kafka_put_raw(out, b, sizeof b);
}

/* Appends the raw deflate stream of the whole input. */
static kafka_err gz_deflate_raw(z_stream *zs, const uint8_t *in, size_t in_len, kafka_wbuf *out)
{
    kafka_err err = KAFKA_ERR_OK;
    size_t pos = 0;
    /* One deflate call normally does it: deflateBound covers the worst case. */
    size_t step = deflateBound(zs, (uLong)in_len);
    for (;;) {
        gz_feed(zs, in, in_len, &pos);
        int flush = pos == in_len ? Z_FINISH : Z_NO_FLUSH;
        if (!kafka_wbuf_reserve(out, step)) {
            err = KAFKA_ERR_NOMEM;
            break;
        }
        size_t room = out->cap - out->len;
        zs->next_out = out->data + out->len;
        zs->avail_out = gz_clamp(room);
        uInt given = zs->avail_out;
        int rc = deflate(zs, flush);
        out->len += given - zs->avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            err = KAFKA_ERR_COMPRESSION;
            break;
        }
        step = 64 * 1024;
    }
    return err;
}

/* One gzip member: header, raw deflate, trailer (CRC-32 of the input, then
 * its length mod 2^32, both little-endian). */
static kafka_err gz_member(gz_ctx *g, const uint8_t *in, size_t in_len, kafka_wbuf *out)
{
    /* Reserved at once, so the header and trailer never cost a regrowth:
     * deflateBound of a raw stream has no room for any wrapper. */
    size_t bound = deflateBound(&g->zs, (uLong)in_len);
    if (!kafka_wbuf_reserve(out, bound + GZ_HEADER_LEN + GZ_TRAILER_LEN))
        return KAFKA_ERR_NOMEM;
    gz_put_header(out, g->level);
    kafka_err err = gz_deflate_raw(&g->zs, in, in_len, out);
    if (err)
        return err;
    gz_put_le32(out, kafka_crc32_ieee(0, in, in_len));
    gz_put_le32(out, (uint32_t)in_len); /* ISIZE is the length mod 2^32 */
    return out->oom ? KAFKA_ERR_NOMEM : KAFKA_ERR_OK;
}

kafka_err kafka_gzip_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx)
{
    if (level == KAFKA_COMPRESSION_LEVEL_DEFAULT)
        level = Z_DEFAULT_COMPRESSION;
    else if (level < -1 || level > 9)
        return KAFKA_ERR_INVALID_ARG;

    gz_ctx local = {0}, *g = &local;
    if (ctx) {
        if (!*ctx && !(*ctx = kafka_calloc(1, sizeof(gz_ctx))))
            return KAFKA_ERR_NOMEM;
        g = *ctx;
    }
    kafka_err err = gz_ctx_start(g, level);
    if (!err)
        err = gz_member(g, in, in_len, out);
    if (g == &local && g->live)
        deflateEnd(&g->zs);
    return err;
}

/* After the end of one member: more input is fine only if it is another
 * gzip member (magic 1f 8b). */
static kafka_err gz_next_member(z_stream *zs, const uint8_t *in, size_t in_len, size_t pos, bool *done)
{
    size_t rest = zs->avail_in + (in_len - pos);
    if (rest == 0) {
        *done = true;
        return KAFKA_ERR_OK;
    }
    uint8_t b0, b1;
    if (zs->avail_in >= 2) {
        b0 = zs->next_in[0];
        b1 = zs->next_in[1];
    } else if (zs->avail_in == 1) {
        if (pos >= in_len)
            return KAFKA_ERR_COMPRESSION;
        b0 = zs->next_in[0];
        b1 = in[pos];
    } else {
        if (in_len - pos < 2)
            return KAFKA_ERR_COMPRESSION;
        b0 = in[pos];
        b1 = in[pos + 1];
    }
    if (b0 != 0x1f || b1 != 0x8b)
        return KAFKA_ERR_COMPRESSION;
    return inflateReset(zs) == Z_OK ? KAFKA_ERR_OK : KAFKA_ERR_COMPRESSION;
}

static kafka_err gz_inflate_loop(z_stream *zs, const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    size_t pos = 0;
    for (;;) {
        gz_feed(zs, in, in_len, &pos);
        uint8_t *p;
        size_t room;
        kafka_err err = kafka_zsink_space(sink, &p, &room);
        if (err)
            return err;
        zs->next_out = p;
        zs->avail_out = gz_clamp(room);
        uInt given = zs->avail_out;
        int rc = inflate(zs, Z_NO_FLUSH);
        err = kafka_zsink_commit(sink, given - zs->avail_out);
        if (err)
            return err;
        switch (rc) {
        case Z_STREAM_END: {
            bool done = false;
            err = gz_next_member(zs, in, in_len, pos, &done);
            if (err || done)
                return err;
            break;
        }
        case Z_OK:
            break;
        case Z_BUF_ERROR:
            /* No progress: out of input means the stream is truncated. */
            if (zs->avail_in == 0 && pos == in_len)
                return KAFKA_ERR_COMPRESSION;
            if (zs->avail_out != 0)
                return KAFKA_ERR_COMPRESSION;
            break;
        case Z_MEM_ERROR:
            return KAFKA_ERR_NOMEM;
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return KAFKA_ERR_COMPRESSION;
        }
    }
}

kafka_err kafka_gzip_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    z_stream zs = gz_stream();
    int rc = inflateInit2(&zs, 15 + 32);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KAFKA_ERR_NOMEM : KAFKA_ERR_COMPRESSION;
    kafka_err err = gz_inflate_loop(&zs, in, in_len, sink);
    inflateEnd(&zs);
    return err;
}
