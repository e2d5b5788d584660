/*
 * Compression layer (src/compress/): round trips, data written by the
 * codecs' own command-line tools (tests/data/compress/, see its README),
 * the reverse (the CLIs decode what we write), xerial snappy built by hand,
 * lz4's pre-0.10 Kafka header checksum, decompression bombs under a
 * tracking allocator, corrupt and truncated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rand_util.h"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "compress/compress.h"
#include "compress/xxhash32.h"
#include "kafka/alloc.h"

#define DATA_DIR KAFKA_SOURCE_DIR "/tests/data/compress/"
#define MB ((size_t)1024 * 1024)

/* ---- helpers ---------------------------------------------------------- */

static kt_rng g_rng = {0x9E3779B97F4A7C15ull};

/* Compressible text: numbered lines with a few varying words. */
static uint8_t *make_text(size_t n)
{
    static const char *words[] = {"alpha ", "beta ", "gamma ", "delta ", "kafka ", "record ", "batch "};
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    size_t i = 0;
    unsigned line = 0;
    while (i < n) {
        char tmp[64];
        int k = snprintf(tmp, sizeof tmp, "%u: %s%s\n", line, words[line % 7], words[(line / 7) % 7]);
        for (int j = 0; j < k && i < n; j++)
            p[i++] = (uint8_t)tmp[j];
        line++;
    }
    return p;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint8_t *read_data(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", DATA_DIR, name);
    return read_file(path, len);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void assert_bytes(const kafka_wbuf *w, size_t off, const uint8_t *want, size_t n)
{
    assert_int_equal(w->len - off, n);
    if (n)
        assert_memory_equal(w->data + off, want, n);
}

static void roundtrip(kafka_codec codec, int level, const uint8_t *in, size_t n)
{
    kafka_wbuf c, d;
    kafka_wbuf_init(&c);
    kafka_wbuf_init(&d);
    assert_int_equal(kafka_compress(codec, level, in, n, &c), KAFKA_ERR_OK);
    /* Appends after what the buffer already holds. */
    kafka_put_raw(&d, "HEAD", 4);
    assert_int_equal(kafka_decompress(codec, c.data, c.len, n, &d), KAFKA_ERR_OK);
    assert_memory_equal(d.data, "HEAD", 4);
    assert_bytes(&d, 4, in, n);
    /* One byte less than the output is over the limit. */
    if (n) {
        d.len = 4;
        assert_int_equal(kafka_decompress(codec, c.data, c.len, n - 1, &d), KAFKA_ERR_TOO_LARGE);
        assert_int_equal(d.len, 4);
    }
    kafka_wbuf_free(&c);
    kafka_wbuf_free(&d);
}

static const kafka_codec all_codecs[] = {KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4, KAFKA_CODEC_ZSTD};
#define NCODECS (sizeof all_codecs / sizeof all_codecs[0])

/* ---- names ------------------------------------------------------------- */

static void test_codec_names(void **state)
{
    (void)state;
    static const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int i = 0; i <= 4; i++) {
        kafka_codec c = (kafka_codec)99;
        assert_string_equal(kafka_codec_name((kafka_codec)i), names[i]);
        assert_int_equal(kafka_codec_parse(names[i], &c), 0);
        assert_int_equal((int)c, i);
    }
    kafka_codec c;
    assert_int_equal(kafka_codec_parse("GZip", &c), 0);
    assert_int_equal(c, KAFKA_CODEC_GZIP);
    assert_int_equal(kafka_codec_parse("ZSTD", &c), 0);
    assert_int_equal(c, KAFKA_CODEC_ZSTD);
    assert_int_equal(kafka_codec_parse("brotli", &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse("", &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse("lz44", &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse(NULL, &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse("lz4", NULL), KAFKA_ERR_INVALID_ARG);
    assert_null(kafka_codec_name((kafka_codec)5));
    assert_null(kafka_codec_name((kafka_codec)-1));
}

static void test_unknown_codec(void **state)
{
    (void)state;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    const uint8_t in[4] = {1, 2, 3, 4};
    assert_int_equal(kafka_compress((kafka_codec)5, KAFKA_COMPRESSION_LEVEL_DEFAULT, in, 4, &w),
                     KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_decompress((kafka_codec)5, in, 4, 100, &w), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_decompress((kafka_codec)-3, in, 4, 100, &w), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(w.len, 0);
    /* Bad arguments. */
    assert_int_equal(kafka_compress(KAFKA_CODEC_GZIP, KAFKA_COMPRESSION_LEVEL_DEFAULT, NULL, 4, &w),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_decompress(KAFKA_CODEC_GZIP, in, 4, 100, NULL), KAFKA_ERR_INVALID_ARG);
    kafka_wbuf_free(&w);
}

static void test_none_codec(void **state)
{
    (void)state;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    const uint8_t in[5] = {'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(kafka_compress(KAFKA_CODEC_NONE, 0, in, 5, &w), 0);
    assert_bytes(&w, 0, in, 5);
    w.len = 0;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_NONE, in, 5, 5, &w), 0);
    assert_bytes(&w, 0, in, 5);
    w.len = 0;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_NONE, in, 5, 4, &w), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(w.len, 0);
    kafka_wbuf_free(&w);
}

/* ---- round trips --------------------------------------------------------- */

static void roundtrip_sizes(kafka_codec codec, const int *levels, size_t nlevels)
{
    uint8_t one = 0x5a;
    uint8_t *rnd = kt_random_bytes(&g_rng, 100 * 1024);
    uint8_t *txt = make_text(MB);
    for (size_t i = 0; i < nlevels; i++) {
        roundtrip(codec, levels[i], NULL, 0);
        roundtrip(codec, levels[i], &one, 1);
        roundtrip(codec, levels[i], rnd, 100 * 1024);
        roundtrip(codec, levels[i], txt, MB);
    }
    free(rnd);
    free(txt);
}

static void test_roundtrip_gzip(void **state)
{
    (void)state;
    const int levels[] = {KAFKA_COMPRESSION_LEVEL_DEFAULT, -1, 0, 1, 9};
    roundtrip_sizes(KAFKA_CODEC_GZIP, levels, 5);
}

/* What zlib's own gzip wrapper (windowBits 15 + 16) writes. */
static void zlib_gzip(int level, const uint8_t *in, size_t n, kafka_wbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong bound = deflateBound(&zs, (uLong)n);
    assert_true(kafka_wbuf_reserve(out, bound));
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out->data + out->len;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
}

/* zlib inflate accepting the gzip wrapper only (windowBits 15 + 16). */
static void zlib_gunzip_equals(const kafka_wbuf *c, const uint8_t *in, size_t n)
{
    uint8_t *d = malloc(n + 1);
    assert_non_null(d);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = c->data;
    zs.avail_in = (uInt)c->len;
    zs.next_out = d;
    zs.avail_out = (uInt)(n + 1);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0); /* the member ends exactly at the end */
    assert_int_equal(zs.total_out, n);
    if (n)
        assert_memory_equal(d, in, n);
    inflateEnd(&zs);
    free(d);
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A standard gzip member (libdeflate's since gzip moved to it; no longer
 * byte-identical to zlib's gzip wrapper): magic, CM 8, no optional
 * fields; the trailer holds the input's CRC-32 (zlib's crc32_z) and
 * length; zlib's gzip-only inflate reads it back; a kept compressor gives
 * the same bytes as a fresh one; and at the default level and above the
 * output is no larger than zlib's at that level (16 bytes of slack: an
 * empty input costs libdeflate 3 bytes more; below level 6 libdeflate's
 * levels trade differently, e.g. its level 2 is up to 11% larger than
 * zlib's on text, its level 1 30% smaller). Set KT_GZIP_SIZES to print
 * every size. */
static void test_gzip_framing(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 15, 16, 63, 64, 65, 100, 1000, 4096, 65535, 65536, 65537, MB + 3, 3 * MB};
    static const struct {
        int level;
    } levels[] = {{KAFKA_COMPRESSION_LEVEL_DEFAULT}, {-1}, {0}, {1}, {2}, {6}, {8}, {9}};
    uint8_t *txt = make_text(3 * MB), *rnd = kt_random_bytes(&g_rng, 3 * MB);
    kafka_compressor *z = kafka_compressor_new();
    assert_non_null(z);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            size_t n = sizes[s];
            int level = levels[l].level;
            /* big inputs at two levels only: the rest is time, not coverage */
            if (n > MB && level != KAFKA_COMPRESSION_LEVEL_DEFAULT && level != 1)
                continue;
            const uint8_t *in = (s + l) % 2 ? rnd : txt;
            kafka_wbuf ours, kept, ref;
            kafka_wbuf_init(&ours);
            kafka_wbuf_init(&kept);
            kafka_wbuf_init(&ref);
            assert_int_equal(kafka_compress(KAFKA_CODEC_GZIP, level, in, n, &ours), KAFKA_ERR_OK);
            assert_int_equal(kafka_compress_with(z, KAFKA_CODEC_GZIP, level, in, n, &kept), KAFKA_ERR_OK);
            zlib_gzip(level == KAFKA_COMPRESSION_LEVEL_DEFAULT ? Z_DEFAULT_COMPRESSION : level, in, n, &ref);

            assert_true(ours.len >= 18);
            const uint8_t hdr[4] = {0x1f, 0x8b, 8, 0};
            assert_memory_equal(ours.data, hdr, sizeof hdr);
            assert_int_equal(le32_at(ours.data + ours.len - 8), (uint32_t)crc32_z(0, in, n));
            assert_int_equal(le32_at(ours.data + ours.len - 4), (uint32_t)n);
            assert_bytes(&kept, 0, ours.data, ours.len);
            if (getenv("KT_GZIP_SIZES"))
                print_message("gzip %zu bytes level %d: %zu, zlib %zu\n", n, level, ours.len, ref.len);
            bool ratio_level = level == KAFKA_COMPRESSION_LEVEL_DEFAULT || level == -1 || level >= 6;
            if (n >= 1000 && ratio_level && ours.len > ref.len + 16)
                fail_msg("%zu bytes at level %d: %zu compressed, zlib %zu", n, level, ours.len, ref.len);
            zlib_gunzip_equals(&ours, in, n);
            kafka_wbuf_free(&ours);
            kafka_wbuf_free(&kept);
            kafka_wbuf_free(&ref);
        }
    kafka_compressor_free(z);
    free(txt);
    free(rnd);
}

static void test_roundtrip_snappy(void **state)
{
    (void)state;
    const int levels[] = {KAFKA_COMPRESSION_LEVEL_DEFAULT, 7};
    roundtrip_sizes(KAFKA_CODEC_SNAPPY, levels, 2);
}

static void test_roundtrip_lz4(void **state)
{
    (void)state;
    const int levels[] = {KAFKA_COMPRESSION_LEVEL_DEFAULT, 0, 1, 9, 12};
    roundtrip_sizes(KAFKA_CODEC_LZ4, levels, 5);
}

static void test_roundtrip_zstd(void **state)
{
    (void)state;
    const int levels[] = {KAFKA_COMPRESSION_LEVEL_DEFAULT, -5, 1, 3, 19};
    roundtrip_sizes(KAFKA_CODEC_ZSTD, levels, 5);
}

static void test_invalid_levels(void **state)
{
    (void)state;
    const struct {
        kafka_codec codec;
        int level;
    } bad[] = {
        {KAFKA_CODEC_GZIP, 10},   {KAFKA_CODEC_GZIP, -2},  {KAFKA_CODEC_LZ4, 13},
        {KAFKA_CODEC_LZ4, -1},    {KAFKA_CODEC_ZSTD, 23},  {KAFKA_CODEC_ZSTD, -200000},
    };
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_put_raw(&w, "xy", 2);
    const uint8_t in[3] = {1, 2, 3};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_compress(bad[i].codec, bad[i].level, in, 3, &w), KAFKA_ERR_INVALID_ARG);
        assert_int_equal(w.len, 2);
    }
    kafka_wbuf_free(&w);
}

/* ---- data written by the command-line tools ------------------------------ */

static void decode_file_equals_plain(kafka_codec codec, const char *name)
{
    size_t plain_len, clen;
    uint8_t *plain = read_data("plain.txt", &plain_len);
    uint8_t *comp = read_data(name, &clen);
    assert_int_equal(plain_len, 99022); /* the committed sample */
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_decompress(codec, comp, clen, plain_len, &w), KAFKA_ERR_OK);
    assert_bytes(&w, 0, plain, plain_len);
    w.len = 0;
    assert_int_equal(kafka_decompress(codec, comp, clen, plain_len - 1, &w), KAFKA_ERR_TOO_LARGE);
    assert_int_equal(w.len, 0);
    kafka_wbuf_free(&w);
    free(plain);
    free(comp);
}

static void test_cli_files_decode(void **state)
{
    (void)state;
    decode_file_equals_plain(KAFKA_CODEC_GZIP, "plain.txt.gz");
    decode_file_equals_plain(KAFKA_CODEC_GZIP, "multi.gz");
    decode_file_equals_plain(KAFKA_CODEC_GZIP, "plain.txt.zlib");
    decode_file_equals_plain(KAFKA_CODEC_LZ4, "plain.txt.lz4");
    decode_file_equals_plain(KAFKA_CODEC_LZ4, "plain_linked_64k_blockcrc.lz4");
    decode_file_equals_plain(KAFKA_CODEC_ZSTD, "plain.txt.zst");
    decode_file_equals_plain(KAFKA_CODEC_ZSTD, "plain_stream_nocheck.zst");
}

/* What we write, the tool decodes. A missing tool fails the test. */
/* One kafka_compressor used for a sequence of inputs, codecs and levels
 * (contexts kept, levels changed, a failed call in between): every output
 * decodes to its input; gzip and zstd give the very bytes of a fresh
 * context; lz4 (whose kept hash table may find other matches) decodes the
 * same, and its output is a frame the lz4 CLI reads. */
static void test_compressor_reuse(void **state)
{
    (void)state;
    kafka_compressor *z = kafka_compressor_new();
    assert_non_null(z);
    uint8_t *text = make_text(300000), *rnd = kt_random_bytes(&g_rng, 70000);
    const struct {
        const uint8_t *p;
        size_t n;
    } in[] = {{text, 300000}, {rnd, 70000}, {text + 5, 1000}, {NULL, 0}, {text, 200000}};
    const int levels[] = {KAFKA_COMPRESSION_LEVEL_DEFAULT, 1, KAFKA_COMPRESSION_LEVEL_DEFAULT};
    for (int round = 0; round < 2; round++)
        for (size_t c = 0; c < NCODECS; c++)
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
                for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
                    kafka_codec codec = all_codecs[c];
                    kafka_wbuf a, b, d;
                    kafka_wbuf_init(&a);
                    kafka_wbuf_init(&b);
                    kafka_wbuf_init(&d);
                    kafka_put_raw(&a, "HEAD", 4); /* appends after what is there */
                    assert_int_equal(kafka_compress_with(z, codec, levels[l], in[i].p, in[i].n, &a), 0);
                    assert_memory_equal(a.data, "HEAD", 4);
                    assert_int_equal(kafka_compress(codec, levels[l], in[i].p, in[i].n, &b), 0);
                    if (codec == KAFKA_CODEC_GZIP || codec == KAFKA_CODEC_ZSTD || codec == KAFKA_CODEC_SNAPPY)
                        assert_bytes(&a, 4, b.data, b.len);
                    assert_int_equal(kafka_decompress(codec, a.data + 4, a.len - 4, in[i].n, &d), 0);
                    assert_bytes(&d, 0, in[i].p, in[i].n);
                    if (codec == KAFKA_CODEC_LZ4 && i == 0 && round == 1 && l == 0) {
                        /* lz4's CLI reads what a kept context wrote (the
                         * lz4 tests below cover fresh contexts). */
                        char src[] = "/tmp/kafka_compress_XXXXXX";
                        int fd = mkstemp(src);
                        assert_true(fd >= 0);
                        close(fd);
                        char dst[sizeof src + 8];
                        snprintf(dst, sizeof dst, "%s.out", src);
                        write_file(src, a.data + 4, a.len - 4);
                        char cmd[256];
                        snprintf(cmd, sizeof cmd, "lz4 -dc '%s' > '%s'", src, dst);
                        int rc = system(cmd);
                        if (rc != 0)
                            fail_msg("'%s' failed (status %d): is lz4 installed?", cmd, rc);
                        size_t got_len;
                        uint8_t *got = read_file(dst, &got_len);
                        assert_int_equal(got_len, in[i].n);
                        assert_memory_equal(got, in[i].p, in[i].n);
                        free(got);
                        unlink(src);
                        unlink(dst);
                    }
                    /* A bad level fails without spoiling the kept context. */
                    assert_int_equal(kafka_compress_with(z, codec, 99, in[i].p, in[i].n, &d),
                                     codec == KAFKA_CODEC_SNAPPY ? 0 : KAFKA_ERR_INVALID_ARG);
                    kafka_wbuf_free(&a);
                    kafka_wbuf_free(&b);
                    kafka_wbuf_free(&d);
                }
    kafka_compressor_free(z);
    kafka_compressor_free(NULL);
    /* NULL compressor: fresh contexts, same as kafka_compress. */
    kafka_wbuf a;
    kafka_wbuf_init(&a);
    assert_int_equal(kafka_compress_with(NULL, KAFKA_CODEC_ZSTD, KAFKA_COMPRESSION_LEVEL_DEFAULT, text, 1000, &a), 0);
    kafka_wbuf_free(&a);
    free(text);
    free(rnd);
}

static void cli_decodes(kafka_codec codec, const char *tool, const uint8_t *in, size_t n, int level)
{
    char src[] = "/tmp/kafka_compress_XXXXXX";
    int fd = mkstemp(src);
    assert_true(fd >= 0);
    close(fd);
    char dst[sizeof src + 8];
    snprintf(dst, sizeof dst, "%s.out", src);

    kafka_wbuf c;
    kafka_wbuf_init(&c);
    assert_int_equal(kafka_compress(codec, level, in, n, &c), 0);
    write_file(src, c.data, c.len);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s -dc '%s' > '%s'", tool, src, dst);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' failed (status %d): is %s installed?", cmd, rc, tool);
    size_t got_len;
    uint8_t *got = read_file(dst, &got_len);
    assert_int_equal(got_len, n);
    if (n)
        assert_memory_equal(got, in, n);
    free(got);
    kafka_wbuf_free(&c);
    unlink(src);
    unlink(dst);
}

static void test_cli_decodes_ours(void **state)
{
    (void)state;
    size_t plain_len;
    uint8_t *plain = read_data("plain.txt", &plain_len);
    uint8_t *rnd = kt_random_bytes(&g_rng, 200 * 1024);
    const char *tools[] = {"gzip", "lz4", "zstd"};
    const kafka_codec codecs[] = {KAFKA_CODEC_GZIP, KAFKA_CODEC_LZ4, KAFKA_CODEC_ZSTD};
    for (int i = 0; i < 3; i++) {
        cli_decodes(codecs[i], tools[i], plain, plain_len, KAFKA_COMPRESSION_LEVEL_DEFAULT);
        cli_decodes(codecs[i], tools[i], rnd, 200 * 1024, KAFKA_COMPRESSION_LEVEL_DEFAULT);
        cli_decodes(codecs[i], tools[i], (const uint8_t *)"x", 1, 1);
    }
    free(plain);
    free(rnd);
}

/* ---- snappy framing -------------------------------------------------------- */

/* The xerial header, written out byte by byte from the format description. */
static const uint8_t xerial_header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};

/* Builds a xerial stream with the snappy library directly, block size bs. */
static uint8_t *xerial_by_hand(const uint8_t *in, size_t n, size_t bs, size_t *out_len)
{
    size_t cap = 16 + (n / bs + 1) * (4 + snappy_max_compressed_length(bs));
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    memcpy(out, xerial_header, 16);
    size_t o = 16;
    for (size_t pos = 0; pos < n; pos += bs) {
        size_t chunk = n - pos < bs ? n - pos : bs;
        size_t clen = cap - o - 4;
        assert_int_equal(snappy_compress((const char *)in + pos, chunk, (char *)out + o + 4, &clen), SNAPPY_OK);
        out[o] = (uint8_t)(clen >> 24);
        out[o + 1] = (uint8_t)(clen >> 16);
        out[o + 2] = (uint8_t)(clen >> 8);
        out[o + 3] = (uint8_t)clen;
        o += 4 + clen;
    }
    *out_len = o;
    return out;
}

static void test_snappy_xerial_interop(void **state)
{
    (void)state;
    size_t n = 300 * 1000;
    uint8_t *txt = make_text(n);
    kafka_wbuf w;
    kafka_wbuf_init(&w);

    /* Hand-built frames, with Java's 32 KiB blocks and with odd ones. */
    const size_t sizes[] = {32768, 10000, 1 << 20};
    for (int i = 0; i < 3; i++) {
        size_t xl;
        uint8_t *x = xerial_by_hand(txt, n, sizes[i], &xl);
        w.len = 0;
        assert_int_equal(kafka_decompress(KAFKA_CODEC_SNAPPY, x, xl, n, &w), 0);
        assert_bytes(&w, 0, txt, n);
        free(x);
    }

    /* Raw snappy (no framing). */
    size_t rl = snappy_max_compressed_length(n);
    uint8_t *raw = malloc(rl);
    assert_non_null(raw);
    assert_int_equal(snappy_compress((const char *)txt, n, (char *)raw, &rl), SNAPPY_OK);
    w.len = 0;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_SNAPPY, raw, rl, n, &w), 0);
    assert_bytes(&w, 0, txt, n);
    w.len = 0;
    /* The declared length alone is over the limit: refused before decoding. */
    assert_int_equal(kafka_decompress(KAFKA_CODEC_SNAPPY, raw, rl, n - 1, &w), KAFKA_ERR_TOO_LARGE);
    free(raw);

    /* What we write: the header above, then 32 KiB blocks that the snappy
     * library decodes on its own. */
    kafka_wbuf c;
    kafka_wbuf_init(&c);
    assert_int_equal(kafka_compress(KAFKA_CODEC_SNAPPY, KAFKA_COMPRESSION_LEVEL_DEFAULT, txt, n, &c), 0);
    assert_true(c.len > 16);
    assert_memory_equal(c.data, xerial_header, 16);
    size_t pos = 16, total = 0;
    uint8_t *plain = malloc(32768);
    assert_non_null(plain);
    while (pos < c.len) {
        assert_true(c.len - pos >= 4);
        size_t clen = ((size_t)c.data[pos] << 24) | ((size_t)c.data[pos + 1] << 16) |
                      ((size_t)c.data[pos + 2] << 8) | c.data[pos + 3];
        pos += 4;
        assert_true(clen <= c.len - pos);
        size_t ulen;
        assert_int_equal(snappy_uncompressed_length((const char *)c.data + pos, clen, &ulen), SNAPPY_OK);
        assert_true(ulen == 32768 || total + ulen == n);
        assert_int_equal(snappy_uncompress((const char *)c.data + pos, clen, (char *)plain, &ulen), SNAPPY_OK);
        assert_memory_equal(plain, txt + total, ulen);
        total += ulen;
        pos += clen;
    }
    assert_int_equal(total, n);

    /* Empty input: the header alone, which decodes to nothing. */
    c.len = 0;
    assert_int_equal(kafka_compress(KAFKA_CODEC_SNAPPY, KAFKA_COMPRESSION_LEVEL_DEFAULT, NULL, 0, &c), 0);
    assert_bytes(&c, 0, xerial_header, 16);

    free(plain);
    kafka_wbuf_free(&c);
    kafka_wbuf_free(&w);
    free(txt);
}

/* ---- lz4 header checksum ---------------------------------------------------- */

static void test_xxh32_vectors(void **state)
{
    (void)state;
    /* Published XXH32 vectors; the last two computed with libxxhash 0.8.1. */
    assert_int_equal(kafka_xxh32("", 0, 0), 0x02CC5D05u);
    assert_int_equal(kafka_xxh32("a", 1, 0), 0x550D7456u);
    assert_int_equal(kafka_xxh32("abc", 3, 0), 0x32D153FFu);
    const char *s = "Nobody inspects the spammish repetition";
    assert_int_equal(kafka_xxh32(s, strlen(s), 0), 0xE2293B2Fu);
    assert_int_equal(kafka_xxh32("abc", 3, 1), 0xAA3DA8FFu);
    assert_int_equal(kafka_xxh32("0123456789abcdef0123", 20, 2654435761u), 0x5AF2E746u);
}

/* Returns the offset of the HC byte of the lz4 frame at p. */
static size_t lz4_hc_offset(const uint8_t *p)
{
    uint8_t flg = p[4];
    return 4 + 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
}

static void check_broken_hc(uint8_t *frame, size_t len, const uint8_t *plain, size_t plain_len)
{
    size_t hc = lz4_hc_offset(frame);
    uint8_t good = (uint8_t)(kafka_xxh32(frame + 4, hc - 4, 0) >> 8);
    /* The tool's HC is the correct one: checks our xxh32 against lz4's. */
    assert_int_equal(frame[hc], good);
    /* Kafka 0.8's: the hash also covers the magic number. */
    uint8_t broken = (uint8_t)(kafka_xxh32(frame, hc, 0) >> 8);
    assert_int_not_equal(broken, good);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    frame[hc] = broken;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_LZ4, frame, len, plain_len, &w), KAFKA_ERR_OK);
    assert_bytes(&w, 0, plain, plain_len);
    /* Neither value: corrupt. */
    uint8_t other = (uint8_t)(good + 1);
    if (other == broken)
        other++;
    frame[hc] = other;
    w.len = 0;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_LZ4, frame, len, plain_len, &w), KAFKA_ERR_COMPRESSION);
    assert_int_equal(w.len, 0);
    frame[hc] = good;
    kafka_wbuf_free(&w);
}

static void test_lz4_kafka08_header_checksum(void **state)
{
    (void)state;
    size_t plain_len, flen;
    uint8_t *plain = read_data("plain.txt", &plain_len);
    uint8_t *f = read_data("plain.txt.lz4", &flen);
    check_broken_hc(f, flen, plain, plain_len);
    free(f);
    f = read_data("plain_linked_64k_blockcrc.lz4", &flen); /* has a content size */
    assert_true(f[4] & 0x08);
    check_broken_hc(f, flen, plain, plain_len);
    free(f);

    /* Our own frames: Kafka's descriptor, FLG 0x60 (v01, independent
     * blocks), BD 0x40 (64 KiB blocks). */
    kafka_wbuf c;
    kafka_wbuf_init(&c);
    assert_int_equal(kafka_compress(KAFKA_CODEC_LZ4, KAFKA_COMPRESSION_LEVEL_DEFAULT, plain, plain_len, &c), 0);
    const uint8_t head[6] = {0x04, 0x22, 0x4d, 0x18, 0x60, 0x40};
    assert_memory_equal(c.data, head, 6);
    check_broken_hc(c.data, c.len, plain, plain_len);
    kafka_wbuf_free(&c);
    free(plain);
}

static void test_lz4_multiple_frames(void **state)
{
    (void)state;
    uint8_t *a = make_text(70000);
    uint8_t *b = kt_random_bytes(&g_rng, 5000);
    kafka_wbuf c, w;
    kafka_wbuf_init(&c);
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_compress(KAFKA_CODEC_LZ4, 1, a, 70000, &c), 0);
    /* A skippable frame (magic 0x184D2A53, 3 bytes of payload) between. */
    const uint8_t skip[] = {0x53, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'};
    kafka_put_raw(&c, skip, sizeof skip);
    assert_int_equal(kafka_compress(KAFKA_CODEC_LZ4, 1, b, 5000, &c), 0);
    assert_int_equal(kafka_decompress(KAFKA_CODEC_LZ4, c.data, c.len, 75000, &w), 0);
    assert_int_equal(w.len, 75000);
    assert_memory_equal(w.data, a, 70000);
    assert_memory_equal(w.data + 70000, b, 5000);
    kafka_wbuf_free(&c);
    kafka_wbuf_free(&w);
    free(a);
    free(b);
}

/* ---- bombs under a tracking allocator ---------------------------------------- */

typedef struct track {
    size_t live, peak, largest;
} track;

#define TRACK_HDR 16

static void track_add(track *t, size_t n)
{
    t->live += n;
    if (t->live > t->peak)
        t->peak = t->live;
    if (n > t->largest)
        t->largest = n;
}

static void *track_malloc(void *pd, size_t n)
{
    uint8_t *b = malloc(n + TRACK_HDR);
    if (!b)
        return NULL;
    memcpy(b, &n, sizeof n);
    track_add(pd, n);
    return b + TRACK_HDR;
}

static void *track_realloc(void *pd, void *p, size_t n)
{
    if (!p)
        return track_malloc(pd, n);
    track *t = pd;
    uint8_t *b = (uint8_t *)p - TRACK_HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    uint8_t *nb = realloc(b, n + TRACK_HDR);
    if (!nb)
        return NULL;
    memcpy(nb, &n, sizeof n);
    t->live -= old;
    track_add(t, n);
    return nb + TRACK_HDR;
}

static void track_free(void *pd, void *p)
{
    if (!p)
        return;
    track *t = pd;
    uint8_t *b = (uint8_t *)p - TRACK_HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    t->live -= old;
    free(b);
}

/* Decompresses `bomb` with max_out 1 MiB under the tracking allocator:
 * must be TOO_LARGE with at most 2.5 MiB live at any time. */
static void expect_bomb_refused(kafka_codec codec, const uint8_t *bomb, size_t len)
{
    track t = {0, 0, 0};
    kafka_allocator a = {track_malloc, track_realloc, track_free, &t};
    kafka_set_allocator(&a);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_err err = kafka_decompress(codec, bomb, len, MB, &w);
    size_t wlen = w.len;
    kafka_wbuf_free(&w);
    kafka_set_allocator(NULL);
    assert_int_equal(err, KAFKA_ERR_TOO_LARGE);
    assert_int_equal(wlen, 0);
    assert_int_equal(t.live, 0); /* nothing leaked */
    print_message("codec %s: bomb of %zu bytes refused, peak %zu bytes live, largest block %zu\n",
                  kafka_codec_name(codec), len, t.peak, t.largest);
    /* The output buffer never outgrows the limit... */
    assert_true(t.largest <= MB);
    /* ...and codec state adds little (zstd's window is the largest). */
    if (t.peak > MB * 5 / 2)
        fail_msg("codec %d: peak %zu bytes live for a 1 MiB limit", (int)codec, t.peak);
}

static void test_bombs(void **state)
{
    (void)state;
    size_t n = 100 * MB;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    for (size_t i = 0; i < NCODECS; i++) {
        kafka_wbuf c;
        kafka_wbuf_init(&c);
        assert_int_equal(kafka_compress(all_codecs[i], 1, zeros, n, &c), 0);
        assert_true(c.len < n / 10);
        expect_bomb_refused(all_codecs[i], c.data, c.len);
        kafka_wbuf_free(&c);
    }

    /* Raw snappy: one block declaring 100 MiB. */
    size_t rl = snappy_max_compressed_length(n);
    uint8_t *raw = malloc(rl);
    assert_non_null(raw);
    assert_int_equal(snappy_compress((const char *)zeros, n, (char *)raw, &rl), SNAPPY_OK);
    expect_bomb_refused(KAFKA_CODEC_SNAPPY, raw, rl);
    free(raw);

    /* zstd without a content size in the header (as Kafka's Java client
     * writes it), with the default window and with a 32 MiB one. */
    free(zeros);
    n = 40 * MB;
    zeros = calloc(1, n);
    assert_non_null(zeros);
    const int wlogs[] = {0, 25};
    for (int i = 0; i < 2; i++) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        assert_non_null(cc);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
        if (wlogs[i])
            ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlogs[i]);
        size_t cap = ZSTD_compressBound(n);
        uint8_t *z = malloc(cap);
        assert_non_null(z);
        ZSTD_outBuffer ob = {z, cap, 0};
        ZSTD_inBuffer ib = {zeros, n / 2, 0};
        assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
        ib = (ZSTD_inBuffer){zeros + n / 2, n - n / 2, 0};
        size_t rc;
        do {
            rc = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
            assert_false(ZSTD_isError(rc));
        } while (rc != 0);
        assert_int_equal(ZSTD_getFrameContentSize(z, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
        expect_bomb_refused(KAFKA_CODEC_ZSTD, z, ob.pos);
        ZSTD_freeCCtx(cc);
        free(z);
    }
    free(zeros);
}

/* A frame that declares a 16 MiB window (over the streaming cap for a
 * 1 MiB limit) but holds little data still decodes. */
static void test_zstd_large_window(void **state)
{
    (void)state;
    size_t n = 200 * 1000;
    uint8_t *txt = make_text(n);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 24);
    size_t cap = ZSTD_compressBound(n);
    uint8_t *z = malloc(cap);
    assert_non_null(z);
    ZSTD_outBuffer ob = {z, cap, 0};
    ZSTD_inBuffer ib = {txt, n, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    size_t rc;
    ib = (ZSTD_inBuffer){txt + n, 0, 0};
    do {
        rc = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        assert_false(ZSTD_isError(rc));
    } while (rc != 0);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_decompress(KAFKA_CODEC_ZSTD, z, ob.pos, MB, &w), 0);
    assert_bytes(&w, 0, txt, n);
    w.len = 0;
    assert_int_equal(kafka_decompress(KAFKA_CODEC_ZSTD, z, ob.pos, n - 1, &w), KAFKA_ERR_TOO_LARGE);
    kafka_wbuf_free(&w);
    ZSTD_freeCCtx(cc);
    free(z);
    free(txt);
}

/* ---- corrupt and truncated input --------------------------------------------- */

static void expect_error(kafka_codec codec, const uint8_t *in, size_t len, kafka_err want)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_put_raw(&w, "KEEP", 4);
    kafka_err err = kafka_decompress(codec, in, len, 10 * MB, &w);
    if (err != want)
        fail_msg("codec %d, %zu bytes: got %d, want %d", (int)codec, len, err, want);
    assert_int_equal(w.len, 4);
    assert_memory_equal(w.data, "KEEP", 4);
    kafka_wbuf_free(&w);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t n = 20000;
    uint8_t *txt = make_text(n);
    for (size_t i = 0; i < NCODECS; i++) {
        kafka_wbuf c;
        kafka_wbuf_init(&c);
        assert_int_equal(kafka_compress(all_codecs[i], KAFKA_COMPRESSION_LEVEL_DEFAULT, txt, n, &c), 0);
        for (size_t len = 0; len < c.len; len++) {
            /* xerial has no end marker: the bare header is a valid empty
             * stream (one 32 KiB block here, so no other boundary). */
            if (all_codecs[i] == KAFKA_CODEC_SNAPPY && len == 16)
                continue;
            expect_error(all_codecs[i], c.data, len, KAFKA_ERR_COMPRESSION);
        }
        kafka_wbuf_free(&c);
    }
    free(txt);
}

/* A flipped bit in any of our trailer's CRC or ISIZE bytes makes our own
 * decoder fail: the trailer we write is the one that gets checked. */
static void test_gzip_trailer_checked(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 65537};
    uint8_t *txt = make_text(65537);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        kafka_wbuf c;
        kafka_wbuf_init(&c);
        assert_int_equal(kafka_compress(KAFKA_CODEC_GZIP, KAFKA_COMPRESSION_LEVEL_DEFAULT, txt, sizes[s], &c), 0);
        for (size_t b = c.len - 8; b < c.len; b++) {
            c.data[b] ^= 0x20;
            expect_error(KAFKA_CODEC_GZIP, c.data, c.len, KAFKA_ERR_COMPRESSION);
            c.data[b] ^= 0x20;
        }
        kafka_wbuf d;
        kafka_wbuf_init(&d);
        assert_int_equal(kafka_decompress(KAFKA_CODEC_GZIP, c.data, c.len, sizes[s], &d), 0);
        assert_bytes(&d, 0, txt, sizes[s]);
        kafka_wbuf_free(&d);
        kafka_wbuf_free(&c);
    }
    free(txt);
}

static void test_corrupt(void **state)
{
    (void)state;
    size_t plen, len;
    uint8_t *plain = read_data("plain.txt", &plen);
    uint8_t *d;

    /* gzip: CRC32 in the trailer, trailing garbage, bad magic. */
    d = read_data("plain.txt.gz", &len);
    d[len - 8] ^= 0x01;
    expect_error(KAFKA_CODEC_GZIP, d, len, KAFKA_ERR_COMPRESSION);
    d[len - 8] ^= 0x01;
    d = realloc(d, len + 3);
    assert_non_null(d);
    memcpy(d + len, "abc", 3);
    expect_error(KAFKA_CODEC_GZIP, d, len + 3, KAFKA_ERR_COMPRESSION);
    d[0] = 0x1e;
    expect_error(KAFKA_CODEC_GZIP, d, len, KAFKA_ERR_COMPRESSION);
    free(d);

    /* lz4: content checksum (the CLI writes one), bad magic. */
    d = read_data("plain.txt.lz4", &len);
    d[len - 1] ^= 0x40;
    expect_error(KAFKA_CODEC_LZ4, d, len, KAFKA_ERR_COMPRESSION);
    d[len - 1] ^= 0x40;
    d[0] = 0x05;
    expect_error(KAFKA_CODEC_LZ4, d, len, KAFKA_ERR_COMPRESSION);
    free(d);
    /* lz4: a block checksum (second file has them), in the first block. */
    d = read_data("plain_linked_64k_blockcrc.lz4", &len);
    d[40] ^= 0x10;
    expect_error(KAFKA_CODEC_LZ4, d, len, KAFKA_ERR_COMPRESSION);
    free(d);

    /* zstd: content checksum, bad magic. */
    d = read_data("plain.txt.zst", &len);
    d[len - 1] ^= 0x01;
    expect_error(KAFKA_CODEC_ZSTD, d, len, KAFKA_ERR_COMPRESSION);
    d[len - 1] ^= 0x01;
    d[0] ^= 0xff;
    expect_error(KAFKA_CODEC_ZSTD, d, len, KAFKA_ERR_COMPRESSION);
    free(d);

    /* snappy: a xerial block length past the end; garbage raw snappy. */
    size_t xl;
    uint8_t *x = xerial_by_hand(plain, plen, 32768, &xl);
    x[16] = 0x7f;
    expect_error(KAFKA_CODEC_SNAPPY, x, xl, KAFKA_ERR_COMPRESSION);
    free(x);
    const uint8_t bad_raw[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x00};
    expect_error(KAFKA_CODEC_SNAPPY, bad_raw, sizeof bad_raw, KAFKA_ERR_COMPRESSION);
    /* Declares 4 GiB - 1: over the limit, refused before allocating. */
    const uint8_t huge_raw[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    expect_error(KAFKA_CODEC_SNAPPY, huge_raw, sizeof huge_raw, KAFKA_ERR_TOO_LARGE);

    /* Garbage for every codec. */
    uint8_t *rnd = kt_random_bytes(&g_rng, 4096);
    rnd[0] = 0x00; /* a raw snappy length of 0 with trailing bytes */
    for (size_t i = 0; i < NCODECS; i++)
        expect_error(all_codecs[i], rnd, 4096, KAFKA_ERR_COMPRESSION);
    free(rnd);
    free(plain);
}

/* Every single-byte corruption of a valid stream: no crash, and either
 * success or an error with the buffer left as it was (ASan watches). */
static void test_bitflips_never_crash(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *txt = make_text(n);
    for (size_t i = 0; i < NCODECS; i++) {
        kafka_wbuf c, w;
        kafka_wbuf_init(&c);
        kafka_wbuf_init(&w);
        assert_int_equal(kafka_compress(all_codecs[i], KAFKA_COMPRESSION_LEVEL_DEFAULT, txt, n, &c), 0);
        for (size_t pos = 0; pos < c.len; pos++) {
            for (int bit = 0; bit < 8; bit += 3) {
                c.data[pos] ^= (uint8_t)(1u << bit);
                w.len = 0;
                kafka_err err = kafka_decompress(all_codecs[i], c.data, c.len, 2 * n, &w);
                if (err)
                    assert_int_equal(w.len, 0);
                else
                    assert_true(w.len <= 2 * n);
                c.data[pos] ^= (uint8_t)(1u << bit);
            }
        }
        kafka_wbuf_free(&c);
        kafka_wbuf_free(&w);
    }
    free(txt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_none_codec),
        cmocka_unit_test(test_roundtrip_gzip),
        cmocka_unit_test(test_gzip_framing),
        cmocka_unit_test(test_gzip_trailer_checked),
        cmocka_unit_test(test_roundtrip_snappy),
        cmocka_unit_test(test_roundtrip_lz4),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_invalid_levels),
        cmocka_unit_test(test_compressor_reuse),
        cmocka_unit_test(test_cli_files_decode),
        cmocka_unit_test(test_cli_decodes_ours),
        cmocka_unit_test(test_snappy_xerial_interop),
        cmocka_unit_test(test_xxh32_vectors),
        cmocka_unit_test(test_lz4_kafka08_header_checksum),
        cmocka_unit_test(test_lz4_multiple_frames),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_zstd_large_window),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_bitflips_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
