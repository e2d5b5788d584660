/* lz4 frame format via lz4frame.h.
 *
 * Encode: one frame the way Kafka's Java client and librdkafka write it:
 * 64 KiB independent blocks, no block or content checksum, no content size.
 *
 * Decode: any sequence of lz4 frames (and skippable frames), decoded in
 * bounded steps. Kafka clients before 0.10 (message format v0) computed the
 * frame header checksum byte (HC) over the magic number as well as the
 * frame descriptor. When HC matches neither the correct value nor that
 * broken one the frame is corrupt; when it matches the broken one, a
 * repaired copy of the header (at most 19 bytes) is fed to the decoder
 * instead, so the input itself is never modified. */
#define LZ4F_STATIC_LINKING_ONLY
#include <lz4.h>
#include <lz4frame.h>

#include "common/alloc.h"
#include "compress/compress_int.h"
#include "compress/xxhash32.h"

/* lz4frame's custom allocator hooks (and the frame compressor that takes
 * a caller's context) appeared in lz4 1.9.4; older versions use malloc. */
#if defined(LZ4_VERSION_NUMBER) && LZ4_VERSION_NUMBER >= 10904
#define KAFKA_LZ4_CUSTOM_MEM 1
#endif

#define LZ4_FRAME_MAGIC 0x184D2204u
#define LZ4_SKIP_MAGIC_MASK 0xFFFFFFF0u
#define LZ4_SKIP_MAGIC 0x184D2A50u
#define LZ4_HEADER_MAX 19 /* magic 4, FLG, BD, content size 8, dict id 4, HC */

static uint32_t read32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#ifdef KAFKA_LZ4_CUSTOM_MEM
static void *lz4_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return kafka_malloc(n);
}

static void *lz4_calloc(void *opaque, size_t n)
{
    (void)opaque;
    return kafka_calloc(1, n);
}

static void lz4_free(void *opaque, void *p)
{
    (void)opaque;
    kafka_free(p);
}

static const LZ4F_CustomMem lz4_mem = {lz4_alloc, lz4_calloc, lz4_free, NULL};
#endif

static LZ4F_cctx *lz4_cctx_new(void)
{
#ifdef KAFKA_LZ4_CUSTOM_MEM
    return LZ4F_createCompressionContext_advanced(lz4_mem, LZ4F_VERSION);
#else
    LZ4F_cctx *c = NULL;
    return LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)) ? NULL : c;
#endif
}

/* An lz4frame error result as a libkafka error: its allocations failing
 * (contexts grow their buffers inside compress and decompress calls) is
 * NOMEM, anything else a compression error. */
static kafka_err lz4_err(size_t code)
{
    return LZ4F_getErrorCode(code) == LZ4F_ERROR_allocation_failed ? KAFKA_ERR_NOMEM : KAFKA_ERR_COMPRESSION;
}

kafka_err kafka_lz4_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx)
{
    if (level == KAFKA_COMPRESSION_LEVEL_DEFAULT)
        level = 0; /* lz4 fast mode, as librdkafka */
    else if (level < 0 || level > LZ4F_compressionLevel_max())
        return KAFKA_ERR_INVALID_ARG;

    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.compressionLevel = level;

    size_t bound = LZ4F_compressFrameBound(in_len, &prefs);
    if (LZ4F_isError(bound))
        return KAFKA_ERR_TOO_LARGE;
    if (!kafka_wbuf_reserve(out, bound))
        return KAFKA_ERR_NOMEM;
    /* A kept context keeps its block state and buffers between frames. */
    LZ4F_cctx *cctx = ctx ? *ctx : NULL;
    if (!cctx) {
        cctx = lz4_cctx_new();
        if (!cctx)
            return KAFKA_ERR_NOMEM;
        if (ctx)
            *ctx = cctx;
    }
    size_t n = LZ4F_compressFrame_usingCDict(cctx, out->data + out->len, bound, in, in_len, NULL, &prefs);
    if (!ctx)
        LZ4F_freeCompressionContext(cctx);
    if (LZ4F_isError(n))
        return lz4_err(n);
    out->len += n;
    return KAFKA_ERR_OK;
}

void kafka_lz4_ctx_free(void *ctx) { LZ4F_freeCompressionContext(ctx); }

/* Checks the header of the frame at `in` (at least 4 bytes, LZ4 magic).
 * Sets *hlen to the header length including HC and *fixed to true when the
 * HC is the pre-0.10 Kafka one, with hdr holding a repaired copy. */
static kafka_err lz4_check_header(const uint8_t *in, size_t avail, uint8_t hdr[LZ4_HEADER_MAX], size_t *hlen,
                                  bool *fixed)
{
    if (avail < 7)
        return KAFKA_ERR_COMPRESSION;
    uint8_t flg = in[4];
    size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    size_t hc_at = 4 + desc;
    if (hc_at >= avail)
        return KAFKA_ERR_COMPRESSION;
    uint8_t hc = in[hc_at];
    uint8_t good = (uint8_t)(kafka_xxh32(in + 4, desc, 0) >> 8);
    *hlen = hc_at + 1;
    *fixed = false;
    if (hc == good)
        return KAFKA_ERR_OK;
    uint8_t broken = (uint8_t)(kafka_xxh32(in, hc_at, 0) >> 8);
    if (hc != broken)
        return KAFKA_ERR_COMPRESSION;
    memcpy(hdr, in, hc_at);
    hdr[hc_at] = good;
    *fixed = true;
    return KAFKA_ERR_OK;
}

/* Feeds src to the decoder until it is consumed or the frame ends;
 * *frame_done is set when LZ4F reports the end of the frame. */
static kafka_err lz4_feed(LZ4F_dctx *dctx, const uint8_t *src, size_t src_len, size_t *consumed, kafka_zsink *sink,
                          bool *frame_done)
{
    size_t pos = 0;
    *frame_done = false;
    for (;;) {
        uint8_t *p;
        size_t room;
        kafka_err err = kafka_zsink_space(sink, &p, &room);
        if (err)
            return err;
        size_t dst_n = room, src_n = src_len - pos;
        size_t hint = LZ4F_decompress(dctx, p, &dst_n, src + pos, &src_n, NULL);
        if (LZ4F_isError(hint))
            return lz4_err(hint);
        if (src_n == 0 && dst_n == 0 && hint != 0)
            return KAFKA_ERR_COMPRESSION; /* no progress: never loop forever */
        pos += src_n;
        err = kafka_zsink_commit(sink, dst_n);
        if (err)
            return err;
        if (hint == 0) {
            *frame_done = true;
            break;
        }
        /* Input used up and output not the limiting factor: wants more. */
        if (pos == src_len && dst_n < room)
            break;
    }
    *consumed = pos;
    return KAFKA_ERR_OK;
}

static kafka_err lz4_frames(LZ4F_dctx *dctx, const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    size_t pos = 0;
    while (pos < in_len) {
        if (in_len - pos < 4)
            return KAFKA_ERR_COMPRESSION;
        uint32_t magic = read32le(in + pos);
        bool done = false;
        size_t used = 0;
        kafka_err err;
        if (magic == LZ4_FRAME_MAGIC) {
            uint8_t hdr[LZ4_HEADER_MAX];
            size_t hlen;
            bool fixed;
            err = lz4_check_header(in + pos, in_len - pos, hdr, &hlen, &fixed);
            if (err)
                return err;
            if (fixed) {
                err = lz4_feed(dctx, hdr, hlen, &used, sink, &done);
                if (err)
                    return err;
                if (used != hlen || done)
                    return KAFKA_ERR_COMPRESSION;
                pos += hlen;
            }
        } else if ((magic & LZ4_SKIP_MAGIC_MASK) != LZ4_SKIP_MAGIC) {
            return KAFKA_ERR_COMPRESSION;
        }
        err = lz4_feed(dctx, in + pos, in_len - pos, &used, sink, &done);
        if (err)
            return err;
        pos += used;
        if (!done)
            return KAFKA_ERR_COMPRESSION; /* truncated frame */
    }
    return KAFKA_ERR_OK;
}

kafka_err kafka_lz4_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    LZ4F_dctx *dctx;
#ifdef KAFKA_LZ4_CUSTOM_MEM
    dctx = LZ4F_createDecompressionContext_advanced(lz4_mem, LZ4F_VERSION);
    if (!dctx)
        return KAFKA_ERR_NOMEM;
#else
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return KAFKA_ERR_NOMEM;
#endif
    kafka_err err = lz4_frames(dctx, in, in_len, sink);
    LZ4F_freeDecompressionContext(dctx);
    return err;
}
