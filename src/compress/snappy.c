/* snappy via the snappy-c API, in Kafka's xerial framing:
 *
 *   header: 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00, int32 version = 1,
 *           int32 minimum compatible version = 1   (16 bytes, big-endian)
 *   blocks: int32 compressed length, then one raw snappy block
 *
 * Encode writes one block per 32 KiB of input (the block size of Java's
 * SnappyOutputStream that Kafka uses). Decode accepts xerial framing (by its
 * magic) and, otherwise, one raw snappy block. Every block's declared
 * uncompressed length is checked against the limit before allocating.
 * snappy's own working memory is allocated by the snappy library with
 * operator new, not through the libkafka allocator. */
#include <snappy-c.h>

#include "compress/compress_int.h"

#define XERIAL_BLOCK ((size_t)32 * 1024)
#define XERIAL_HEADER_LEN 16

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};

kafka_err kafka_snappy_compress(const uint8_t *in, size_t in_len, kafka_wbuf *out)
{
    kafka_put_raw(out, xerial_magic, sizeof xerial_magic);
    kafka_put_i32(out, 1); /* version */
    kafka_put_i32(out, 1); /* minimum compatible version */
    for (size_t pos = 0; pos < in_len;) {
        size_t chunk = in_len - pos < XERIAL_BLOCK ? in_len - pos : XERIAL_BLOCK;
        size_t bound = snappy_max_compressed_length(chunk);
        if (!kafka_wbuf_reserve(out, 4 + bound))
            return KAFKA_ERR_NOMEM;
        size_t clen = bound;
        uint8_t *hdr = out->data + out->len;
        if (snappy_compress((const char *)in + pos, chunk, (char *)hdr + 4, &clen) != SNAPPY_OK)
            return KAFKA_ERR_COMPRESSION;
        kafka_write_u32_at(hdr, (uint32_t)clen);
        out->len += 4 + clen;
        pos += chunk;
    }
    return out->oom ? KAFKA_ERR_NOMEM : KAFKA_ERR_OK;
}

/* Decodes one raw snappy block, appending through the sink. */
static kafka_err snappy_block(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK)
        return KAFKA_ERR_COMPRESSION;
    uint8_t *p;
    kafka_err err = kafka_zsink_reserve(sink, ulen, &p);
    if (err)
        return err;
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, in_len, (char *)p, &got) != SNAPPY_OK || got != ulen)
        return KAFKA_ERR_COMPRESSION;
    return kafka_zsink_commit(sink, got);
}

static kafka_err xerial_blocks(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    kafka_rbuf r;
    kafka_rbuf_init(&r, in, in_len);
    kafka_skip(&r, XERIAL_HEADER_LEN, "xerial header");
    while (!r.err && kafka_rbuf_remaining(&r) > 0) {
        uint32_t clen = kafka_get_u32(&r, "xerial block length");
        const uint8_t *block = kafka_get_raw(&r, clen, "xerial block");
        if (!block)
            break;
        kafka_err err = snappy_block(block, clen, sink);
        if (err)
            return err;
    }
    return r.err ? KAFKA_ERR_COMPRESSION : KAFKA_ERR_OK;
}

kafka_err kafka_snappy_decompress(const uint8_t *in, size_t in_len, kafka_zsink *sink)
{
    if (in_len >= sizeof xerial_magic && memcmp(in, xerial_magic, sizeof xerial_magic) == 0)
        return xerial_blocks(in, in_len, sink);
    return snappy_block(in, in_len, sink);
}
