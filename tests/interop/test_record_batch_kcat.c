/*
 * What libkafka's batch builder encodes, kcat (librdkafka) decodes, per
 * codec, with CRC checking on (-X check.crcs=true).
 *
 * The batch goes to a one-broker mock cluster in a Produce v3 request that
 * this test frames by hand (so the test depends only on the record batch
 * code, not on the conn layer); kcat then consumes it and prints offset,
 * timestamp, key, value and headers, compared with what was encoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kcat.h"
#include "protocol/record_batch.h"
#include "test_cluster.h"

enum { N = 50 };

static int connect_first(const char *bootstrap)
{
    char host[256];
    snprintf(host, sizeof host, "%s", bootstrap);
    char *comma = strchr(host, ',');
    if (comma)
        *comma = '\0';
    char *colon = strrchr(host, ':');
    assert_non_null(colon);
    *colon = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    assert_int_equal(getaddrinfo(host, colon + 1, &hints, &ai), 0);
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
    freeaddrinfo(ai);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

/* Produce v3 (acks=1) of one batch to topic/0; returns the partition's
 * error code from the response. */
static int produce_raw(const char *bootstrap, const char *topic, const uint8_t *batch, size_t len)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_put_i32(&w, 0); /* size, patched below */
    kafka_put_i16(&w, 0); /* api key Produce */
    kafka_put_i16(&w, 3); /* version */
    kafka_put_i32(&w, 42);
    kafka_put_string(&w, kafka_str_c("interop"));
    kafka_put_string(&w, KAFKA_STR_NULL); /* transactional id */
    kafka_put_i16(&w, 1);                 /* acks */
    kafka_put_i32(&w, 10000);
    kafka_put_i32(&w, 1);
    kafka_put_string(&w, kafka_str_c(topic));
    kafka_put_i32(&w, 1);
    kafka_put_i32(&w, 0); /* partition */
    kafka_put_bytes(&w, (kafka_bytes){batch, (int32_t)len});
    assert_false(w.oom);
    kafka_write_u32_at(w.data, (uint32_t)(w.len - 4));

    int fd = connect_first(bootstrap);
    assert_int_equal(write(fd, w.data, w.len), (ssize_t)w.len);
    kafka_wbuf_free(&w);
    uint8_t hdr[4];
    read_full(fd, hdr, 4);
    uint32_t size = kafka_read_u32_at(hdr);
    assert_true(size < (1u << 20));
    uint8_t *resp = malloc(size);
    read_full(fd, resp, size);
    close(fd);

    kafka_rbuf r;
    kafka_rbuf_init(&r, resp, size);
    assert_int_equal(kafka_get_i32(&r, "correlation"), 42);
    assert_int_equal(kafka_get_i32(&r, "topics"), 1);
    kafka_get_string(&r, false, "name");
    assert_int_equal(kafka_get_i32(&r, "partitions"), 1);
    assert_int_equal(kafka_get_i32(&r, "index"), 0);
    int err = kafka_get_i16(&r, "error");
    assert_int_equal(r.err, 0);
    free(resp);
    return err;
}

static void roundtrip(kt_cluster *c, kafka_codec codec)
{
    const char *name = kafka_codec_name(codec);
    char topic[64];
    snprintf(topic, sizeof topic, "rb-interop-%s", name);
    assert_int_equal(kt_cluster_create_topic(c, topic, 1, 1), 0);

    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.codec = codec;
    kafka_batch_builder b;
    assert_int_equal(kafka_batch_builder_init(&b, &out, &cfg), 0);
    size_t cap = N * 200, off = 0;
    char *want = malloc(cap);
    for (int i = 0; i < N; i++) {
        char key[32], value[128], hv[16];
        snprintf(key, sizeof key, "key-%03d", i);
        snprintf(value, sizeof value, "value-%03d-%s-%.*s", i, name, i % 40,
                 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
        snprintf(hv, sizeof hv, "hv%d", i);
        const kafka_header h[2] = {{"h", 1, hv, strlen(hv)}, {"lib", 3, "kafka", 5}};
        int64_t ts = 1600000000000 + i * 3;
        assert_int_equal(kafka_batch_builder_append(&b, ts, key, (int32_t)strlen(key), value,
                                                    (int32_t)strlen(value), h, 2),
                         0);
        off += (size_t)snprintf(want + off, cap - off, "%d|%lld|%s|%s|h=%s,lib=kafka\n", i, (long long)ts, key,
                                value, hv);
    }
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
    assert_int_equal(produce_raw(kt_cluster_bootstrap(c), topic, out.data, out.len), 0);

    const char *args[] = {"-C", "-b", kt_cluster_bootstrap(c), "-t", topic, "-p", "0", "-o", "beginning", "-e",
                          "-X", "check.crcs=true", "-f", "%o|%T|%k|%s|%h\n", NULL};
    kt_kcat_result r;
    if (kt_kcat(args, NULL, 0, 60000, &r) != 0)
        fail_msg("kcat consume (%s) exit %d: %s", name, r.status, r.err);
    if (strcmp(r.out, want) != 0)
        fail_msg("kcat (%s) printed:\n%s\nexpected:\n%s", name, r.out, want);
    kt_kcat_result_free(&r);
    free(want);
    kafka_wbuf_free(&out);
}

static void test_none(void **state) { roundtrip(*state, KAFKA_CODEC_NONE); }
static void test_gzip(void **state) { roundtrip(*state, KAFKA_CODEC_GZIP); }
static void test_snappy(void **state) { roundtrip(*state, KAFKA_CODEC_SNAPPY); }
static void test_lz4(void **state) { roundtrip(*state, KAFKA_CODEC_LZ4); }
static void test_zstd(void **state) { roundtrip(*state, KAFKA_CODEC_ZSTD); }

static int group_setup(void **state)
{
    if (kt_kcat_path() == NULL) {
        fprintf(stderr, "kcat not found: install kcat (scripts/setup.sh) or set KCAT\n");
        return -1;
    }
    /* The raw Produce goes to the first bootstrap broker, so it must lead
     * every partition: one broker, and only the mock (on a real cluster the
     * leader may be elsewhere). */
    if (getenv("KAFKA_BROKERS")) {
        fprintf(stderr, "test_record_batch_kcat needs the mock broker: unset KAFKA_BROKERS\n");
        return -1;
    }
    kt_cluster *c = kt_cluster_start(1);
    if (!c)
        return -1;
    *state = c;
    return 0;
}

static int group_teardown(void **state)
{
    kt_cluster_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none), cmocka_unit_test(test_gzip), cmocka_unit_test(test_snappy),
        cmocka_unit_test(test_lz4),  cmocka_unit_test(test_zstd),
    };
    return cmocka_run_group_tests_name("record_batch_kcat", tests, group_setup, group_teardown);
}
