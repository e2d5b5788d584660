/* zstd via zstd.h. Encode: one frame (content size recorded) at the given
 * level. Decode: any sequence of zstd (and skippable) frames, streaming in
 * bounded steps, since Kafka's Java client writes frames without a content
 * size.
 *
 * Memory: a streaming zstd decoder allocates the window the frame declares
 * (up to 128 MiB by default) or the frame's content size if smaller,
 * whatever the real output turns out to be. So:
 *  - a first frame whose recorded content size exceeds max_out fails at
 *    once with KAFKA_ERR_TOO_LARGE;
 *  - the streaming window is capped at max(8 MiB, max_out rounded up to a
 *    power of two), 8 MiB covering what zstd's CLI up to level 19 and
 *    Kafka's Java client at its default level write;
 *  - a frame that declares a larger window is decoded in one shot into a
 *    buffer of max_out + 1 bytes instead (one-shot decoding needs no
 *    window), so memory stays within max(8 MiB, about max_out).
 * zstd's own allocations go * through the libkafka allocator. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "common/alloc.h"
#include "compress/compress_int.h"

/* Largest window zstd accepts by default (2^27); above it, zstd refuses. */
#define ZSTD_WINDOW_LOG_CAP 27
#define ZSTD_WINDOW_LOG_FLOOR 23

static void *zs_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return kafka_malloc(n);
}

static void zs_free(void *opaque, void *p)
{
    (void)opaque;
    kafka_free(p);
}

static const ZSTD_customMem zs_mem = {zs_alloc, zs_free, NULL};

static kafka_err zs_error(size_t code)
{
    return ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation ? KAFKA_ERR_NOMEM : KAFKA_ERR_COMPRESSION;
}

kafka_err kafka_zstd_compress(int level, const uint8_t *in, size_t in_len, kafka_wbuf *out, void **ctx)
{
    if (level == KAFKA_COMPRESSION_LEVEL_DEFAULT)
        level = ZSTD_CLEVEL_DEFAULT;
    else if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return KAFKA_ERR_INVALID_ARG;

    size_t bound = ZSTD_compressBound(in_len);
    if (ZSTD_isError(bound))
        return KAFKA_ERR_TOO_LARGE;
    if (!kafka_wbuf_reserve(out, bound))
        return KAFKA_ERR_NOMEM;
    /* A kept context keeps its workspace: no allocation, and zstd skips
     * re-zeroing its tables between frames. */
    ZSTD_CCtx *cctx = ctx ? *ctx : NULL;
    if (!cctx) {
        cctx = ZSTD_createCCtx_advanced(zs_mem);
        if (!cctx)
            return KAFKA_ERR_NOMEM;
        if (ctx)
            *ctx = cctx;
    } else {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only); /* after a failed call */
    }
    kafka_err err = KAFKA_ERR_OK;
    size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(rc))
        rc = ZSTD_compress2(cctx, out->data + out->len, bound, in, in_len);
    if (ZSTD_isError(rc))
        err = zs_error(rc);
    else
        out->len += rc;
    if (!ctx)
        ZSTD_freeCCtx(cctx);
    return err;
}

void kafka_zstd_ctx_free(void *ctx) { ZSTD_freeCCtx(ctx); }

static int zs_window_log(size_t limit)
{
    int log = ZSTD_WINDOW_LOG_FLOOR;
    while (log < ZSTD_WINDOW_LOG_CAP && ((size_t)1 << log) < limit)
        log++;
    return log;
}

/* Streaming decode; ZSTD_error_frameParameter_windowTooLarge comes back
 * through *zcode so the caller can fall back to one-shot decoding. */
static kafka_err zs_stream(ZSTD_DCtx *dctx, const uint8_t *in, size_t in_len, kafka_zsink *sink, ZSTD_ErrorCode *zcode)
{
    ZSTD_inBuffer ib = {in, in_len, 0};
    *zcode = ZSTD_error_no_error;
    for (;;) {
        uint8_t *p;
        size_t room;
        kafka_err err = kafka_zsink_space(sink, &p, &room);
        if (err)
            return err;
        ZSTD_outBuffer ob = {p, room, 0};
        size_t rc = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(rc)) {
            *zcode = ZSTD_getErrorCode(rc);
            return zs_error(rc);
        }
        err = kafka_zsink_commit(sink, ob.pos);
        if (err)
            return err;
        if (ib.pos == ib.size) {
            if (rc == 0)
                return KAFKA_ERR_OK; /* last frame complete and flushed */
            if (ob.pos < ob.size)
                return KAFKA_ERR_COMPRESSION; /* wants input we do not have */
        }
    }
}

/* One-shot decode into a buffer of the remaining limit: no window needed;
 * output that does not fit is dstSize_tooSmall. */
static kafka_err zs_oneshot(ZSTD_DCtx *dctx, const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    kafka_zsink_rewind(sink);
    uint8_t *p;
    kafka_err err = kafka_zsink_reserve(sink, sink->limit, &p);
    if (err)
        return err;
    size_t rc = ZSTD_decompressDCtx(dctx, p, sink->limit, in, in_len);
    if (ZSTD_isError(rc))
        return ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall ? KAFKA_ERR_TOO_LARGE : zs_error(rc);
    return kafka_zsink_commit(sink, rc);
}

kafka_err kafka_zstd_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    /* The first frame promises more than the limit: fail before decoding. */
    unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > sink->limit)
        return KAFKA_ERR_TOO_LARGE;
    ZSTD_DCtx *dctx = ZSTD_createDCtx_advanced(zs_mem);
    if (!dctx)
        return KAFKA_ERR_NOMEM;
    int wlog = zs_window_log(sink->limit);
    kafka_err err;
    size_t rc = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
    if (ZSTD_isError(rc)) {
        err = zs_error(rc);
    } else {
        ZSTD_ErrorCode zcode;
        err = zs_stream(dctx, in, in_len, sink, &zcode);
        /* A window above the cap but a limit zstd would allow anyway:
         * retry in one shot, bounded by the limit. */
        if (zcode == ZSTD_error_frameParameter_windowTooLarge && wlog < ZSTD_WINDOW_LOG_CAP) {
            ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
            err = zs_oneshot(dctx, in, in_len, sink);
        }
    }
    ZSTD_freeDCtx(dctx);
    return err;
}
