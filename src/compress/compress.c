/* kafka_compress / kafka_decompress: argument checks, dispatch, and the
 * bounded output sink every decompressor writes through. */
#include "compress/compress_int.h"

#include "common/alloc.h"

#include <string.h>

/* First step of output growth; later steps double what was produced. */
#define ZSINK_MIN_STEP ((size_t)64 * 1024)

/* Makes room for n more bytes. Grows geometrically like kafka_wbuf, but
 * never past start + limit: a legitimate output of exactly max_out bytes
 * costs max_out, not twice that. Needs n <= limit - produced. */
static kafka_err zsink_grow(kafka_zsink *s, size_t n)
{
    kafka_wbuf *w = s->out;
    if (w->cap - w->len >= n)
        return KAFKA_ERR_OK;
    size_t need = w->len + n;
    size_t cap = w->cap > SIZE_MAX / 2 ? SIZE_MAX : w->cap * 2;
    size_t ceiling = s->start + s->limit;
    if (cap < need)
        cap = need;
    if (cap > ceiling)
        cap = ceiling > need ? ceiling : need;
    uint8_t *d = kafka_realloc(w->data, cap ? cap : 1);
    if (!d)
        return KAFKA_ERR_NOMEM;
    w->data = d;
    w->cap = cap ? cap : 1;
    return KAFKA_ERR_OK;
}

kafka_err kafka_zsink_space(kafka_zsink *s, uint8_t **p, size_t *n)
{
    size_t produced = kafka_zsink_produced(s);
    if (produced > s->limit)
        return KAFKA_ERR_TOO_LARGE;
    if (produced == s->limit) {
        /* At the limit: any further byte lands in the scratch byte and
         * proves the output too large, without allocating for it. */
        s->in_scratch = true;
        *p = s->scratch;
        *n = sizeof s->scratch;
        return KAFKA_ERR_OK;
    }
    size_t hard = s->limit - produced;
    size_t want = produced > ZSINK_MIN_STEP ? produced : ZSINK_MIN_STEP;
    if (want > hard)
        want = hard;
    kafka_err err = zsink_grow(s, want);
    if (err)
        return err;
    size_t room = s->out->cap - s->out->len;
    *p = s->out->data + s->out->len;
    *n = room < hard ? room : hard;
    return KAFKA_ERR_OK;
}

kafka_err kafka_zsink_commit(kafka_zsink *s, size_t n)
{
    if (s->in_scratch) {
        s->in_scratch = false;
        return n ? KAFKA_ERR_TOO_LARGE : KAFKA_ERR_OK;
    }
    s->out->len += n;
    return KAFKA_ERR_OK;
}

kafka_err kafka_zsink_reserve(kafka_zsink *s, size_t n, uint8_t **p)
{
    size_t produced = kafka_zsink_produced(s);
    if (produced > s->limit || n > s->limit - produced)
        return KAFKA_ERR_TOO_LARGE;
    /* At least one byte so that *p is never NULL, even for n == 0. */
    if (n == 0 && !kafka_wbuf_reserve(s->out, 1))
        return KAFKA_ERR_NOMEM;
    kafka_err err = zsink_grow(s, n);
    if (err)
        return err;
    *p = s->out->data + s->out->len;
    return KAFKA_ERR_OK;
}

struct kafka_compressor {
    void *gzip, *lz4, *zstd; /* each codec's kept context, NULL until used */
};

kafka_compressor *kafka_compressor_new(void) { return kafka_calloc(1, sizeof(kafka_compressor)); }

void kafka_compressor_free(kafka_compressor *z)
{
    if (!z)
        return;
    kafka_gzip_ctx_free(z->gzip);
    kafka_lz4_ctx_free(z->lz4);
    kafka_zstd_ctx_free(z->zstd);
    kafka_free(z);
}

kafka_err kafka_compress_with(kafka_compressor *z, kafka_codec codec, int level, const uint8_t *in, size_t in_len,
                              kafka_wbuf *out)
{
    if (!out || (!in && in_len))
        return KAFKA_ERR_INVALID_ARG;
    if (out->oom)
        return KAFKA_ERR_NOMEM;
    static const uint8_t empty[1];
    if (!in)
        in = empty;
    size_t start = out->len;
    kafka_err err;
    switch (codec) {
    case KAFKA_CODEC_NONE:
        kafka_put_raw(out, in, in_len);
        err = KAFKA_ERR_OK;
        break;
    case KAFKA_CODEC_GZIP:
        err = kafka_gzip_compress(level, in, in_len, out, z ? &z->gzip : NULL);
        break;
    case KAFKA_CODEC_SNAPPY:
        err = kafka_snappy_compress(in, in_len, out); /* snappy-c keeps no context */
        break;
    case KAFKA_CODEC_LZ4:
        err = kafka_lz4_compress(level, in, in_len, out, z ? &z->lz4 : NULL);
        break;
    case KAFKA_CODEC_ZSTD:
        err = kafka_zstd_compress(level, in, in_len, out, z ? &z->zstd : NULL);
        break;
    default:
        return KAFKA_ERR_UNSUPPORTED_CODEC;
    }
    if (!err && out->oom)
        err = KAFKA_ERR_NOMEM;
    if (err) {
        out->len = start;
        out->oom = false;
    }
    return err;
}

kafka_err kafka_compress(kafka_codec codec, int level, const uint8_t *in, size_t in_len, kafka_wbuf *out)
{
    return kafka_compress_with(NULL, codec, level, in, in_len, out);
}

static kafka_err decompress_none(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    uint8_t *p;
    kafka_err err = kafka_zsink_reserve(sink, in_len, &p);
    if (err)
        return err;
    memcpy(p, in, in_len);
    return kafka_zsink_commit(sink, in_len);
}

kafka_err kafka_decompress(kafka_codec codec, const uint8_t *in, size_t in_len, size_t max_out, kafka_wbuf *out)
{
    if (!out || (!in && in_len))
        return KAFKA_ERR_INVALID_ARG;
    if ((int)codec < (int)KAFKA_CODEC_NONE || (int)codec > (int)KAFKA_CODEC_ZSTD)
        return KAFKA_ERR_UNSUPPORTED_CODEC;
    if (out->oom)
        return KAFKA_ERR_NOMEM;
    static const uint8_t empty[1];
    if (!in)
        in = empty;
    /* Every codec's stream has at least a header: empty input is corrupt. */
    if (in_len == 0 && codec != KAFKA_CODEC_NONE)
        return KAFKA_ERR_COMPRESSION;

    size_t start = out->len;
    /* Keep start + limit representable. */
    size_t limit = max_out < SIZE_MAX - start ? max_out : SIZE_MAX - start;
    kafka_zsink sink = {out, start, limit, false, {0}};
    kafka_err err;
    switch (codec) {
    case KAFKA_CODEC_GZIP:
        err = kafka_gzip_decompress(in, in_len, &sink);
        break;
    case KAFKA_CODEC_SNAPPY:
        err = kafka_snappy_decompress(in, in_len, &sink);
        break;
    case KAFKA_CODEC_LZ4:
        err = kafka_lz4_decompress(in, in_len, &sink);
        break;
    case KAFKA_CODEC_ZSTD:
        err = kafka_zstd_decompress(in, in_len, &sink);
        break;
    default:
        err = decompress_none(in, in_len, &sink);
        break;
    }
    if (!err && out->oom)
        err = KAFKA_ERR_NOMEM;
    if (err) {
        out->len = start;
        out->oom = false;
    }
    return err;
}
