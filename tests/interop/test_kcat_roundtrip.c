/*
 * kcat <-> test broker, through the helpers of tests/support/kcat.h: for
 * each codec, 100 keyed lines produced by kcat must come back from kcat,
 * exactly and in order. This proves the broker, the fixture and the kcat
 * helpers before libkafka's own interop tests rely on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcat.h"
#include "test_cluster.h"

#define LINES 100

/* "key-000\tvalue-000-<codec>-xxxx...\n" x LINES; the padding makes the
 * batch compressible and larger than one socket read. */
static char *make_lines(const char *codec, size_t *len)
{
    size_t cap = LINES * 200, off = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    for (int i = 0; i < LINES; i++)
        off += (size_t)snprintf(s + off, cap - off,
                                "key-%03d\tvalue-%03d-%s-%.*s\n", i, i, codec, i % 50,
                                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    *len = off;
    return s;
}

static void roundtrip(kt_cluster *c, const char *codec)
{
    char *topic = kt_unique_topic(codec);
    size_t len;
    char *lines = make_lines(codec, &len);
    kt_kcat_result r;

    assert_int_equal(kt_cluster_create_topic(c, topic, 1, 0), 0);
    if (kt_kcat_produce(kt_cluster_bootstrap(c), topic, 0, codec, lines, len, "\t", &r) != 0)
        fail_msg("kcat produce (%s) exit %d: %s", codec, r.status, r.err);
    kt_kcat_result_free(&r);

    if (kt_kcat_consume(kt_cluster_bootstrap(c), topic, 0, LINES, "%k\t%s\n", &r) != 0)
        fail_msg("kcat consume (%s) exit %d: %s", codec, r.status, r.err);
    assert_int_equal(r.out_len, len);
    assert_memory_equal(r.out, lines, len);
    kt_kcat_result_free(&r);
    free(lines);
    free(topic);
}

static void test_none(void **state) { roundtrip(*state, "none"); }
static void test_gzip(void **state) { roundtrip(*state, "gzip"); }
static void test_snappy(void **state) { roundtrip(*state, "snappy"); }
static void test_lz4(void **state) { roundtrip(*state, "lz4"); }
static void test_zstd(void **state) { roundtrip(*state, "zstd"); }

/* The helper reports a failing kcat with its status and stderr, and an
 * unknown codec is such a failure (kcat rejects it before connecting). */
static void test_kcat_failure_is_reported(void **state)
{
    kt_cluster *c = *state;
    kt_kcat_result r;

    assert_int_not_equal(kt_kcat_produce(kt_cluster_bootstrap(c), "t", 0, "nosuchcodec", "a\n", 2,
                                         NULL, &r),
                         0);
    assert_non_null(r.out);
    assert_true(r.err_len > 0);
    kt_kcat_result_free(&r);
}

/* Values with no key: plain "%s\n" output is exactly the input lines. */
static void test_unkeyed_values(void **state)
{
    kt_cluster *c = *state;
    char *topic = kt_unique_topic("plain");
    static const char data[] = "alpha\nbeta\ngamma\n";
    kt_kcat_result r;

    assert_int_equal(kt_cluster_create_topic(c, topic, 1, 0), 0);
    assert_int_equal(kt_kcat_produce(kt_cluster_bootstrap(c), topic, 0, NULL, data,
                                     sizeof(data) - 1, NULL, &r),
                     0);
    kt_kcat_result_free(&r);
    assert_int_equal(kt_kcat_consume(kt_cluster_bootstrap(c), topic, 0, 10, NULL, &r), 0);
    assert_string_equal(r.out, data);
    kt_kcat_result_free(&r);
    free(topic);
}

static int group_setup(void **state)
{
    if (kt_kcat_path() == NULL) {
        fprintf(stderr, "kcat not found: install kcat (scripts/setup.sh) or set KCAT\n");
        return -1;
    }
    return kt_cluster_group_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),   cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_snappy), cmocka_unit_test(test_lz4),
        cmocka_unit_test(test_zstd),   cmocka_unit_test(test_kcat_failure_is_reported),
        cmocka_unit_test(test_unkeyed_values),
    };

    return cmocka_run_group_tests_name("kcat_roundtrip", tests, group_setup,
                                       kt_cluster_group_teardown);
}
