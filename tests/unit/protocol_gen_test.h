/* Driver for the generated round-trip test (test_protocol_gen.c, written by
 * tools/kafka_codegen.py): the generated part knows each message's fields
 * by name, this part runs the same checks for all of them. */
#ifndef KAFKA_TEST_PROTOCOL_GEN_TEST_H
#define KAFKA_TEST_PROTOCOL_GEN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "protocol/gen_runtime.h"
#include "protocol/wire.h"

typedef struct test_gen_case {
    const kafka_gen_message *msg;
    size_t size;
    void (*fill)(kafka_arena *a, void *m, int v, bool nulls);
    bool (*cmp)(const void *x, const void *y);
    void (*init)(void *m);
    kafka_err (*enc)(kafka_wbuf *w, int16_t v, const void *m);
    kafka_err (*dec)(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m);
    size_t (*size_fn)(int16_t v, const void *m);
} test_gen_case;

#define CHECK(cond, path)                                                                                    \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            print_message("field mismatch: %s\n", path);                                                    \
            return false;                                                                                    \
        }                                                                                                    \
    } while (0)

static inline kafka_bytes test_bytes(const char *s) { return (kafka_bytes){(const uint8_t *)s, (int32_t)strlen(s)}; }

static inline bool test_bytes_eq(kafka_bytes a, kafka_bytes b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static inline kafka_uuid test_uuid(uint32_t h, int v, int i)
{
    kafka_uuid u;
    for (int k = 0; k < 16; k++)
        u.b[k] = (uint8_t)((h >> (8 * (k % 4))) + (unsigned)(k * 7 + v * 3 + i));
    return u;
}

/* Decodes exactly `len` bytes from a heap copy of that size, so that any
 * read past the end is an ASan error, not a silent read of slack. */
static inline kafka_err test_decode_exact(const test_gen_case *c, const uint8_t *data, size_t len, int16_t v,
                                          kafka_arena *a, void *out, size_t *left)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    kafka_rbuf r;
    kafka_rbuf_init(&r, copy, len);
    kafka_err err = c->dec(&r, a, v, out);
    if (left)
        *left = kafka_rbuf_remaining(&r);
    if (err)
        assert_non_null(r.field); /* every failure names its field */
    free(copy);
    return err;
}

static inline void test_gen_one(const test_gen_case *c, int16_t v, bool nulls)
{
    kafka_arena fa, da;
    kafka_arena_init(&fa, 0);
    kafka_arena_init(&da, 0);
    void *m1 = calloc(1, c->size), *m2 = calloc(1, c->size);
    assert_non_null(m1);
    assert_non_null(m2);
    c->init(m1);
    c->fill(&fa, m1, v, nulls);

    kafka_wbuf w, w2;
    kafka_wbuf_init(&w);
    kafka_wbuf_init(&w2);
    kafka_err err = c->enc(&w, v, m1);
    if (err)
        print_message("%s v%d%s: encode failed: %d\n", c->msg->name, v, nulls ? " (nulls)" : "", err);
    assert_int_equal(err, 0);
    assert_int_equal(w.len, c->size_fn(v, m1));

    /* Decoding with a different buffer copy: strings in m2 point into it,
     * so compare before freeing. */
    uint8_t *copy = malloc(w.len ? w.len : 1);
    assert_non_null(copy);
    if (w.len)
        memcpy(copy, w.data, w.len);
    kafka_rbuf r;
    kafka_rbuf_init(&r, copy, w.len);
    err = c->dec(&r, &da, v, m2);
    if (err)
        print_message("%s v%d: decode failed at %s: %d\n", c->msg->name, v, r.field, err);
    assert_int_equal(err, 0);
    assert_int_equal(kafka_rbuf_remaining(&r), 0);
    if (!c->cmp(m1, m2))
        fail_msg("%s v%d%s: decoded message differs", c->msg->name, v, nulls ? " (nulls)" : "");
    assert_int_equal(c->enc(&w2, v, m2), 0);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(w2.data, w.data, w.len);
    free(copy);

    /* Every strict prefix must fail cleanly. */
    for (size_t n = 0; n < w.len; n++) {
        kafka_arena_reset(&da);
        err = test_decode_exact(c, w.data, n, v, &da, m2, NULL);
        if (err != KAFKA_ERR_TRUNCATED && err != KAFKA_ERR_CORRUPT)
            fail_msg("%s v%d: prefix of %zu/%zu bytes gave %d", c->msg->name, v, n, w.len, err);
    }

    kafka_wbuf_free(&w);
    kafka_wbuf_free(&w2);
    kafka_arena_free(&fa);
    kafka_arena_free(&da);
    free(m1);
    free(m2);
}

static inline void test_gen_roundtrip(void **state)
{
    const test_gen_case *c = *state;
    /* Once with every field set, once with every nullable field null. */
    for (int v = c->msg->min_version; v <= c->msg->max_version; v++) {
        test_gen_one(c, (int16_t)v, false);
        test_gen_one(c, (int16_t)v, true);
    }
    /* Versions outside validVersions are refused both ways. */
    void *m = calloc(1, c->size);
    assert_non_null(m);
    c->init(m);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(c->enc(&w, (int16_t)(c->msg->max_version + 1), m), KAFKA_ERR_INVALID_ARG);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    static const uint8_t zeros[64];
    assert_int_equal(test_decode_exact(c, zeros, sizeof zeros, -1, &a, m, NULL), KAFKA_ERR_INVALID_ARG);
    kafka_arena_free(&a);
    kafka_wbuf_free(&w);
    free(m);
}

#endif
