/*
 * kfk's JSON input (tools/kfk/json_in.c, produce --json) and output
 * (tools/kfk/json.c, consume --json), without a broker: the documented
 * shapes decode to the expected messages, hostile or broken input is a
 * clear error (never a crash or a read past the record: run under ASan in
 * the sanitizer build), and what kfk writes reads back to the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kfk.h"
#include "rand_util.h"

#define MAXH 8

typedef struct parsed {
    kafka_message m;
    kafka_header hs[MAXH];
    char buf[4096];
    const char *err;
    bool ok;
} parsed;

/* Parses `text` from an exact-size heap copy, so that ASan sees any read
 * past its end. */
static parsed *parse(const char *text)
{
    parsed *p = calloc(1, sizeof *p);
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(p);
    assert_non_null(copy);
    memcpy(copy, text, len);
    assert_true(len < sizeof p->buf);
    p->ok = kfk_json_message(copy, len, p->buf, p->hs, MAXH, &p->m, &p->err);
    free(copy);
    return p;
}

static void assert_bytes(const void *got, size_t got_len, const char *want)
{
    assert_non_null(got);
    assert_int_equal(got_len, strlen(want));
    assert_memory_equal(got, want, got_len);
}

static void test_full_message(void **state)
{
    (void)state;
    parsed *p = parse("{\"topic\":\"t\",\"partition\":3,\"offset\":9,\"timestamp\":1234,\"key\":\"k\",\"value\":\"v\","
                      "\"headers\":[{\"key\":\"h1\",\"value\":\"x\"},{\"key\":\"h2\",\"value\":null}]}");
    assert_true(p->ok);
    assert_bytes(p->m.key, p->m.key_len, "k");
    assert_bytes(p->m.value, p->m.value_len, "v");
    assert_int_equal(p->m.timestamp_ms, 1234);
    assert_int_equal(p->m.n_headers, 2);
    assert_bytes(p->m.headers[0].key, p->m.headers[0].key_len, "h1");
    assert_bytes(p->m.headers[0].value, p->m.headers[0].value_len, "x");
    assert_bytes(p->m.headers[1].key, p->m.headers[1].key_len, "h2");
    assert_null(p->m.headers[1].value);
    free(p);
}

static void test_defaults_and_nulls(void **state)
{
    (void)state;
    parsed *p = parse("  { }  ");
    assert_true(p->ok);
    assert_null(p->m.key);
    assert_null(p->m.value);
    assert_int_equal(p->m.timestamp_ms, KAFKA_TIMESTAMP_NONE);
    assert_int_equal(p->m.n_headers, 0);
    free(p);
    p = parse("{\"key\":null,\"value\":\"\",\"headers\":{\"a\":\"1\",\"b\":null}}");
    assert_true(p->ok);
    assert_null(p->m.key);
    assert_non_null(p->m.value); /* empty, not null */
    assert_int_equal(p->m.value_len, 0);
    assert_int_equal(p->m.n_headers, 2);
    assert_bytes(p->m.headers[0].key, p->m.headers[0].key_len, "a");
    assert_null(p->m.headers[1].value);
    free(p);
}

static void test_escapes(void **state)
{
    (void)state;
    /* \u00e9 is U+00E9 (2 UTF-8 bytes), a surrogate pair U+1F600 (4). */
    parsed *p = parse("{\"value\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000z\"}");
    assert_true(p->ok);
    static const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";
    assert_int_equal(p->m.value_len, sizeof want - 1);
    assert_memory_equal(p->m.value, want, sizeof want - 1);
    free(p);
}

static void test_ignored_members(void **state)
{
    (void)state;
    parsed *p = parse("{\"x\":[1,-2.5e3,true,false,null,{\"y\":[[]]},\"s\"],\"value\":\"v\",\"z\":{}}");
    assert_true(p->ok);
    assert_bytes(p->m.value, p->m.value_len, "v");
    free(p);
}

static void test_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"value\":\"v\"",
        "{\"value\":\"v\"} x",
        "{\"value\":\"unterminated}",
        "{\"value\":1}",
        "{\"key\":true}",
        "{\"value\":\"\\x\"}",
        "{\"value\":\"\\u12\"}",
        "{\"value\":\"\\ud83d\"}",        /* lone high surrogate */
        "{\"value\":\"\\ude00\"}",        /* lone low surrogate */
        "{\"value\":\"\\ud83d\\u0041\"}", /* high surrogate + non-low */
        "{\"value\":\"a\nb\"}",           /* raw control character */
        "{\"timestamp\":\"now\"}",
        "{\"timestamp\":99999999999999999999999}",
        "{\"headers\":[{\"value\":\"no key\"}]}",
        "{\"headers\":[{\"key\":null}]}",
        "{\"headers\":\"h\"}",
        "{\"headers\":[1]}",
        "{\"headers\":[{},{},{},{},{},{},{},{},{}]}", /* more than MAXH, and keyless */
        "{\"headers\":{\"1\":\"\",\"2\":\"\",\"3\":\"\",\"4\":\"\",\"5\":\"\",\"6\":\"\",\"7\":\"\",\"8\":\"\",\"9\":\"\"}}",
        "{\"value\" \"v\"}",
        "{\"value\":\"v\",}",
        "{,}",
        "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", /* too deep */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parsed *p = parse(bad[i]);
        if (p->ok)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(p->err);
        assert_true(strlen(p->err) > 0);
        free(p);
    }
}

/* Random mutations of valid records: each is accepted or refused with a
 * reason; never a crash (ASan would report reads past the copy). */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"key\":\"k1\",\"value\":\"v1\",\"headers\":[{\"key\":\"h\",\"value\":\"x\"}],\"timestamp\":1234}",
        "{\"key\":\"\\u00e9\\ud83d\\ude00\",\"value\":\"tab\\there\",\"extra\":[1,{\"z\":true}],\"n\":-1.5e3}",
        "{\"value\":null,\"headers\":{\"a\":\"1\",\"b\":null}}",
    };
    static const char alphabet[] = "{}[]\",:\\u0dDe8-.ntfl \x01\x80\xff";
    kt_rng rng = {0x6b666b6a736f6e31ULL};
    for (int round = 0; round < 20000; round++) {
        char text[256];
        const char *seed = seeds[kt_rng_next(&rng) % 3];
        size_t len = strlen(seed);
        memcpy(text, seed, len + 1);
        int edits = 1 + (int)(kt_rng_next(&rng) % 4);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t pos = kt_rng_next(&rng) % len;
            switch (kt_rng_next(&rng) % 3) {
            case 0: memmove(text + pos, text + pos + 1, len - pos), len--; break;
            case 1:
                if (len + 1 < sizeof text) {
                    memmove(text + pos + 1, text + pos, len - pos + 1);
                    text[pos] = alphabet[kt_rng_next(&rng) % (sizeof alphabet - 1)];
                    len++;
                }
                break;
            default: text[pos] = 0, len = pos; break;
            }
        }
        parsed *p = parse(text);
        assert_true(p->ok || (p->err && *p->err));
        if (p->ok) { /* what was accepted points inside the decode buffer */
            assert_true(!p->m.value || ((const char *)p->m.value >= p->buf &&
                                        (const char *)p->m.value + p->m.value_len <= p->buf + sizeof p->buf));
        }
        free(p);
    }
}

/* What consume --json writes (kfk_json_str) reads back as the same bytes,
 * for every valid UTF-8 text and control character. */
static void test_output_round_trip(void **state)
{
    (void)state;
    static const char value[] = "plain \"quoted\" back\\slash /\x01\x1f\x7f tab\t nl\n \xc3\xa9 \xf0\x9f\x98\x80";
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    assert_non_null(f);
    fputs("{\"value\":", f);
    kfk_json_str(f, value, sizeof value - 1);
    fputs(",\"key\":", f);
    kfk_json_str(f, NULL, 0);
    fputs("}", f);
    fclose(f);
    parsed *p = parse(out);
    assert_true(p->ok);
    assert_null(p->m.key);
    assert_int_equal(p->m.value_len, sizeof value - 1);
    assert_memory_equal(p->m.value, value, sizeof value - 1);
    free(p);
    free(out);
}

/* Bytes that are not UTF-8 are written as \u00XX: valid JSON, read back as
 * the Latin-1 character (documented: that direction is lossy). */
static void test_output_invalid_utf8(void **state)
{
    (void)state;
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    assert_non_null(f);
    kfk_json_str(f, "\xff\xc3(", 3);
    fclose(f);
    assert_string_equal(out, "\"\\u00ff\\u00c3(\"");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_message),       cmocka_unit_test(test_defaults_and_nulls),
        cmocka_unit_test(test_escapes),            cmocka_unit_test(test_ignored_members),
        cmocka_unit_test(test_bad_input),          cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_output_round_trip),  cmocka_unit_test(test_output_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
