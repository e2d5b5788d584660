/* Shared body of the fuzz_decompress_<codec> targets: decode arbitrary
 * bytes with a 1 MiB limit. Besides crashes and sanitizer reports, traps
 * when an error leaves output behind, when the limit is passed, or when
 * re-compressing a successful output does not round-trip. */
#ifndef KAFKA_FUZZ_DECOMPRESS_H
#define KAFKA_FUZZ_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compress/compress.h"

#define FUZZ_MAX_OUT ((size_t)1 << 20)
#define FUZZ_ROUNDTRIP_MAX ((size_t)64 << 10)

static int fuzz_decompress(kafka_codec codec, const uint8_t *data, size_t size)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_err err = kafka_decompress(codec, data, size, FUZZ_MAX_OUT, &out);
    if (err && out.len != 0)
        __builtin_trap();
    if (!err && out.len > FUZZ_MAX_OUT)
        __builtin_trap();
    if (!err && out.len <= FUZZ_ROUNDTRIP_MAX) {
        kafka_wbuf c, d;
        kafka_wbuf_init(&c);
        kafka_wbuf_init(&d);
        if (kafka_compress(codec, 1, out.data, out.len, &c) != KAFKA_ERR_OK)
            __builtin_trap();
        if (kafka_decompress(codec, c.data, c.len, out.len, &d) != KAFKA_ERR_OK || d.len != out.len ||
            (out.len && memcmp(d.data, out.data, out.len) != 0))
            __builtin_trap();
        kafka_wbuf_free(&c);
        kafka_wbuf_free(&d);
    }
    kafka_wbuf_free(&out);
    return 0;
}

#endif
