/* kafka_conn framing, version negotiation, pipelining and hostile peers,
 * against a scripted peer over the pluggable transport (no broker).
 * Expected request bytes are written out by hand from the protocol guide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn/conn_internal.h"
#include "conn_peer.h"
#include "kafka/alloc.h"
#include "kafka/dialer.h"
#include "protocol/api.h"

/* ---- helpers -------------------------------------------------------------- */

static kafka_conn *dial_peer(kt_peer *p, kafka_err *err_out)
{
    kafka_dialer_config cfg = {.transport = kt_peer_transport(p)};
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, "peer:9092", &cfg, 5000);
    if (err_out)
        *err_out = err;
    return c;
}

/* Answers ApiVersions v3 with a v3 response listing Produce 3-9 and
 * ApiVersions 0-4 (hand-encoded). */
static int answer_v3(kt_peer *p)
{
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    static const uint8_t body[] = {
        0x00, 0x00,                                     /* error_code */
        0x03,                                           /* compact array: 2 entries */
        0x00, 0x00, 0x00, 0x03, 0x00, 0x09, 0x00,       /* Produce 3-9, no tags */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,       /* ApiVersions 0-4 */
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x00};                                          /* no tagged fields */
    int rc = kt_peer_respond(p, req.corr, false, body, sizeof body);
    kt_request_free(&req);
    return rc;
}

/* ---- version negotiation ------------------------------------------------------ */

static int script_v3_exact(kt_peer *p, void *arg)
{
    (void)arg;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    /* ApiVersions v3, header v2, client id "libkafka", body: compact
     * strings "libkafka" and "0.1.0", empty tag sections. */
    static const uint8_t want[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 'l', 'i',
                                   'b',  'k',  'a',  'f',  'k',  'a',  0x00, 0x09, 'l',  'i',  'b', 'k',
                                   'a',  'f',  'k',  'a',  0x06, '0',  '.',  '1',  '.',  '0',  0x00};
    int rc = (req.frame_len == sizeof want && memcmp(req.frame, want, sizeof want) == 0) ? 0 : -2;
    static const uint8_t body[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x09, 0x00, 0x00,
                                   0x12, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    if (kt_peer_respond(p, req.corr, false, body, sizeof body))
        rc = -1;
    kt_request_free(&req);
    if (kt_peer_wait_eof(p))
        rc = -1;
    return rc;
}

static void test_negotiate_v3(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_v3_exact, NULL);
    kafka_err err;
    kafka_conn *c = dial_peer(p, &err);
    assert_int_equal(err, 0);
    assert_int_equal(kafka_conn_api_version_for(c, KAFKA_API_PRODUCE), 9);
    /* Fetch is not advertised: the error names the API. */
    assert_int_equal(kafka_conn_api_version_for(c, KAFKA_API_FETCH), -1);
    assert_non_null(strstr(kafka_conn_last_error(c), "API Fetch: broker does not support it"));
    kafka_api_version *v;
    size_t n;
    assert_int_equal(kafka_conn_api_versions(c, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].api_key, 0);
    assert_int_equal(v[0].min_version, 3);
    assert_int_equal(v[0].max_version, 9);
    assert_int_equal(v[1].api_key, 18);
    kafka_free_api_versions(v);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

static int script_v0_fallback(kt_peer *p, void *arg)
{
    (void)arg;
    kt_request req;
    if (kt_peer_read(p, &req) || req.api_version != 3)
        return -1;
    /* What a pre-2.4 broker (or librdkafka's mock) answers: a v0 body with
     * UNSUPPORTED_VERSION and its own ApiVersions range. */
    static const uint8_t err35[] = {0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02};
    kt_peer_respond(p, req.corr, false, err35, sizeof err35);
    int32_t first_corr = req.corr;
    kt_request_free(&req);
    if (kt_peer_read(p, &req))
        return -1;
    /* ApiVersions v0 with header v1 and an empty body. */
    static const uint8_t want[] = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
                                   0x08, 'l',  'i',  'b',  'k',  'a',  'f',  'k',  'a'};
    int rc = (req.corr == first_corr + 1 && req.frame_len == sizeof want && memcmp(req.frame, want, sizeof want) == 0)
                 ? 0
                 : -2;
    static const uint8_t v0[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* error 0, 3 entries */
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* Produce 0-7 */
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, /* Fetch 0-11 */
                                 0x00, 0x12, 0x00, 0x00, 0x00, 0x02};
    kt_peer_respond(p, req.corr, false, v0, sizeof v0);
    kt_request_free(&req);
    if (kt_peer_wait_eof(p))
        rc = -1;
    return rc;
}

static void test_negotiate_v0_fallback(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_v0_fallback, NULL);
    kafka_err err;
    kafka_conn *c = dial_peer(p, &err);
    assert_int_equal(err, 0);
    assert_int_equal(kafka_conn_api_version_for(c, KAFKA_API_PRODUCE), 7);
    assert_int_equal(kafka_conn_api_version_for(c, KAFKA_API_FETCH), 11);
    assert_int_equal(kafka_conn_api_version_for(c, KAFKA_API_API_VERSIONS), 2);
    /* CreateTopics is missing (like the mock): create fails cleanly. */
    kafka_topic_config t = {.topic = "x", .num_partitions = 1, .replication_factor = 1};
    assert_int_equal(kafka_conn_create_topics(c, &t, 1, 0), KAFKA_ERR_NO_COMMON_VERSION);
    assert_non_null(strstr(kafka_conn_last_error(c), "API CreateTopics"));
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

static int script_old_produce(kt_peer *p, void *arg)
{
    (void)arg;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    static const int16_t ranges[][3] = {{0, 0, 2}, {18, 0, 3}};
    kt_peer_api_versions(p, &req, ranges, 2);
    kt_request_free(&req);
    return kt_peer_wait_eof(p);
}

static void test_no_common_version(void **state)
{
    (void)state;
    char why[200];
    int16_t v = -1;
    /* Pure picking, hand-checked cases. */
    assert_int_equal(kafka_version_pick("Fetch", 0, 12, 4, 11, &v, why, sizeof why), 0);
    assert_int_equal(v, 11);
    assert_int_equal(kafka_version_pick("Fetch", 0, 12, 0, 17, &v, why, sizeof why), 0);
    assert_int_equal(v, 12);
    assert_int_equal(kafka_version_pick("CreateTopics", 5, 7, 0, 4, &v, why, sizeof why),
                     KAFKA_ERR_NO_COMMON_VERSION);
    assert_string_equal(why, "API CreateTopics: broker supports v0-v4, client v5-v7: no common version");

    /* Through a conn: a broker with Produce v0-v2 cannot take record
     * batches v2 (Produce >= 3). */
    kt_peer *p = kt_peer_start(script_old_produce, NULL);
    kafka_err err;
    kafka_conn *c = dial_peer(p, &err);
    assert_int_equal(err, 0);
    kafka_message m = {.topic = "t", .partition = 0, .value = "v", .value_len = 1};
    assert_int_equal(kafka_conn_write_messages(c, &m, 1, NULL, NULL), KAFKA_ERR_NO_COMMON_VERSION);
    assert_non_null(strstr(kafka_conn_last_error(c), "API Produce: broker supports v0-v2, client v3-"));
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

/* ---- pipelining ------------------------------------------------------------------ */

static int script_pipeline(kt_peer *p, void *arg)
{
    (void)arg;
    if (answer_v3(p))
        return -1;
    kt_request r[3];
    for (int i = 0; i < 3; i++)
        if (kt_peer_read(p, &r[i]))
            return -1;
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        if (r[i].corr != 2 + i || r[i].body_len != 1 || r[i].body[0] != 'a' + i)
            rc = -2;
        uint8_t body = (uint8_t)('A' + i);
        kt_peer_respond(p, r[i].corr, false, &body, 1);
        kt_request_free(&r[i]);
    }
    if (kt_peer_wait_eof(p))
        rc = -1;
    return rc;
}

static void test_pipelined_in_order(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_pipeline, NULL);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    int32_t corr[3];
    for (int i = 0; i < 3; i++) {
        uint8_t b = (uint8_t)('a' + i);
        assert_int_equal(kafka_conn_send_raw(c, KAFKA_API_PRODUCE, 3, false, &b, 1, true, &corr[i]), 0);
    }
    assert_int_equal(kafka_conn_in_flight(c), 3);
    assert_int_equal(corr[0], 2); /* 1 was ApiVersions */
    assert_int_equal(corr[2], 4);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_rbuf body;
    /* Receiving out of order is refused without touching the stream. */
    assert_int_equal(kafka_conn_recv_raw(c, corr[1], false, &a, &body), KAFKA_ERR_STATE);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kafka_conn_recv_raw(c, corr[i], false, &a, &body), 0);
        assert_int_equal(kafka_rbuf_remaining(&body), 1);
        assert_int_equal(body.p[0], 'A' + i);
    }
    assert_int_equal(kafka_conn_in_flight(c), 0);
    kafka_arena_free(&a);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

/* kafka_conn_send_rawv: body pieces go out as one frame, in order, with
 * the frame length covering them all; empty pieces are skipped. 40 pieces
 * take the heap path (more than the 32 kept on the stack). */
#define RAWV_PIECES 40

static int script_rawv(kt_peer *p, void *arg)
{
    (void)arg;
    if (answer_v3(p))
        return -1;
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        kt_request req;
        if (kt_peer_read(p, &req))
            return -1;
        /* Echo the body: the test compares it with what it sent. */
        kt_peer_respond(p, req.corr, false, req.body, req.body_len);
        kt_request_free(&req);
    }
    if (kt_peer_wait_eof(p))
        rc = -1;
    return rc;
}

static void test_send_rawv_pieces(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_rawv, NULL);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    static uint8_t data[RAWV_PIECES][RAWV_PIECES];
    struct iovec iov[RAWV_PIECES];
    uint8_t expect[RAWV_PIECES * RAWV_PIECES];
    size_t el = 0;
    for (int i = 0; i < RAWV_PIECES; i++) {
        memset(data[i], 'a' + i % 26, (size_t)i); /* piece 0 is empty */
        iov[i] = (struct iovec){data[i], (size_t)i};
        memcpy(expect + el, data[i], (size_t)i);
        el += (size_t)i;
    }
    const int counts[2] = {3, RAWV_PIECES};
    int32_t corr[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(kafka_conn_send_rawv(c, KAFKA_API_PRODUCE, 3, false, iov, counts[k], true, &corr[k]), 0);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    for (int k = 0; k < 2; k++) {
        kafka_rbuf body;
        assert_int_equal(kafka_conn_recv_raw(c, corr[k], false, &a, &body), 0);
        size_t want = k == 0 ? 0 + 1 + 2 : el;
        assert_int_equal(kafka_rbuf_remaining(&body), want);
        assert_memory_equal(body.p, expect, want);
    }
    kafka_arena_free(&a);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

/* ---- hostile peers ------------------------------------------------------------------ */

typedef struct hostile {
    const uint8_t *bytes; /* written after reading one request */
    size_t len;
    bool wrong_corr; /* answer with corr + 5 instead */
} hostile;

static int script_hostile(kt_peer *p, void *arg)
{
    hostile *h = arg;
    if (answer_v3(p))
        return -1;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    if (h->wrong_corr) {
        uint8_t body[2] = {0, 0};
        kt_peer_respond(p, req.corr + 5, false, body, 2);
    } else {
        kt_peer_write(p, h->bytes, h->len);
    }
    kt_request_free(&req);
    kt_peer_hangup(p);
    return 0;
}

/* Sends one raw request and receives its response; returns the error. */
static kafka_err one_roundtrip(hostile *h, char *errtext, size_t errlen)
{
    kt_peer *p = kt_peer_start(script_hostile, h);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    int32_t corr;
    uint8_t b = 0;
    assert_int_equal(kafka_conn_send_raw(c, KAFKA_API_PRODUCE, 3, false, &b, 1, true, &corr), 0);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_rbuf body;
    kafka_err err = kafka_conn_recv_raw(c, corr, false, &a, &body);
    snprintf(errtext, errlen, "%s", kafka_conn_last_error(c));
    if (err) /* the conn is closed for good: every later call says so */
        assert_int_equal(kafka_conn_send_raw(c, KAFKA_API_PRODUCE, 3, false, &b, 1, true, &corr), KAFKA_ERR_CLOSED);
    kafka_arena_free(&a);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    return err;
}

static void test_wrong_correlation_id(void **state)
{
    (void)state;
    hostile h = {.wrong_corr = true};
    char why[512];
    assert_int_equal(one_roundtrip(&h, why, sizeof why), KAFKA_ERR_PROTOCOL);
    assert_non_null(strstr(why, "response for correlation id 2 expected, got 7"));
}

static void test_truncated_frame(void **state)
{
    (void)state;
    /* Promises 100 bytes, delivers 6, hangs up. */
    static const uint8_t bytes[] = {0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    hostile h = {bytes, sizeof bytes, false};
    char why[512];
    assert_int_equal(one_roundtrip(&h, why, sizeof why), KAFKA_ERR_TRUNCATED);
    assert_non_null(strstr(why, "truncated response"));
}

/* Counts the largest single allocation while installed. */
static size_t g_max_alloc;
static void *count_malloc(void *pd, size_t n)
{
    (void)pd;
    if (n > g_max_alloc)
        g_max_alloc = n;
    return malloc(n);
}
static void *count_realloc(void *pd, void *ptr, size_t n)
{
    (void)pd;
    if (n > g_max_alloc)
        g_max_alloc = n;
    return realloc(ptr, n);
}
static void count_free(void *pd, void *ptr)
{
    (void)pd;
    free(ptr);
}

static void test_2gb_length_prefix(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02};
    hostile h = {bytes, sizeof bytes, false};
    char why[512];
    kafka_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    g_max_alloc = 0;
    kafka_set_allocator(&counting);
    kafka_err err = one_roundtrip(&h, why, sizeof why);
    kafka_set_allocator(NULL);
    assert_int_equal(err, KAFKA_ERR_TOO_LARGE);
    assert_non_null(strstr(why, "response of 2147483647 bytes exceeds the 104857600-byte limit"));
    assert_true(g_max_alloc < 1024 * 1024); /* refused before allocating */
}

static void test_negative_length_prefix(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0xff, 0xff, 0xff, 0xfe};
    hostile h = {bytes, sizeof bytes, false};
    char why[512];
    assert_int_equal(one_roundtrip(&h, why, sizeof why), KAFKA_ERR_CORRUPT);
    assert_non_null(strstr(why, "below the 4-byte minimum"));
}

static void test_random_bytes(void **state)
{
    (void)state;
    /* Random garbage as a response: always a clean error, never a crash,
     * hang or huge allocation (ASan/UBSan check the rest). */
    unsigned seed = 12345;
    for (int round = 0; round < 20; round++) {
        uint8_t bytes[64];
        for (size_t i = 0; i < sizeof bytes; i++) {
            seed = seed * 1103515245u + 12345u;
            bytes[i] = (uint8_t)(seed >> 16);
        }
        hostile h = {bytes, sizeof bytes, false};
        char why[512];
        kafka_err err = one_roundtrip(&h, why, sizeof why);
        assert_true(err < 0);
        assert_true(why[0] != '\0');
    }
}

/* A well-framed response whose body does not decode: the error names the
 * failing field. */
static int script_bad_body(kt_peer *p, void *arg)
{
    (void)arg;
    if (answer_v3(p))
        return -1;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    /* ProduceResponse v9 (flexible, header v1): compact array of 1 topic
     * whose compact name claims 126 bytes of which 64 follow. */
    uint8_t body[2 + 64];
    body[0] = 0x02;
    body[1] = 0x7f;
    memset(body + 2, 'x', 64);
    kt_peer_respond(p, req.corr, true, body, sizeof body);
    kt_request_free(&req);
    return kt_peer_wait_eof(p);
}

static void test_undecodable_names_field(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_bad_body, NULL);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    kafka_message m = {.topic = "t", .partition = 0, .value = "v", .value_len = 1};
    assert_int_equal(kafka_conn_write_messages(c, &m, 1, NULL, NULL), KAFKA_ERR_PROTOCOL);
    assert_non_null(strstr(kafka_conn_last_error(c), "undecodable Produce v9 response: field ProduceResponse.Responses.Name"));
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

/* ---- metadata packing (hostile sizes) ---------------------------------------------- */

/* Appends a big-endian integer of `width` bytes. */
static size_t put_be(uint8_t *p, uint64_t v, int width)
{
    for (int i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    return (size_t)width;
}

enum { AMP_NAME_LEN = 30000, AMP_PARTS = 2000 };

/* Answers Metadata v0 with one broker whose host is AMP_NAME_LEN bytes and
 * one topic, also AMP_NAME_LEN bytes long, with AMP_PARTS partitions all
 * led by that broker: ~96 KB on the wire. Layout from the protocol guide:
 * brokers [node_id i32, host string, port i32], topics [error_code i16,
 * name string, partitions [error_code i16, partition_index i32, leader_id
 * i32, replica_nodes [i32], isr_nodes [i32]]]. */
static int script_metadata_amplify(kt_peer *p, void *arg)
{
    sem_t *handshake_done = arg;
    kt_request req;
    if (kt_peer_read(p, &req)) {
        sem_post(handshake_done); /* the test fails in dial_peer, not waiting */
        return -1;
    }
    static const int16_t ranges[][3] = {{3, 0, 0}, {18, 0, 3}};
    int rc = kt_peer_api_versions(p, &req, ranges, 2);
    kt_request_free(&req);
    /* kt_peer_api_versions frees its libkafka buffer after the client may
     * already have its answer; the test swaps the allocator only after
     * this, when no other thread uses libkafka (kafka/alloc.h). */
    sem_post(handshake_done);
    if (rc || kt_peer_read(p, &req))
        return -1;
    size_t cap = 64 + 2 * AMP_NAME_LEN + (size_t)AMP_PARTS * 18;
    uint8_t *b = malloc(cap), *q = b;
    q += put_be(q, 1, 4);                 /* 1 broker */
    q += put_be(q, 7, 4);                 /* node_id 7 */
    q += put_be(q, AMP_NAME_LEN, 2);      /* host */
    memset(q, 'h', AMP_NAME_LEN);
    q += AMP_NAME_LEN;
    q += put_be(q, 9092, 4);              /* port */
    q += put_be(q, 1, 4);                 /* 1 topic */
    q += put_be(q, 0, 2);                 /* error_code */
    q += put_be(q, AMP_NAME_LEN, 2);      /* name */
    memset(q, 't', AMP_NAME_LEN);
    q += AMP_NAME_LEN;
    q += put_be(q, AMP_PARTS, 4);
    for (uint32_t i = 0; i < AMP_PARTS; i++) {
        q += put_be(q, 0, 2);             /* error_code */
        q += put_be(q, i, 4);             /* partition_index */
        q += put_be(q, 7, 4);             /* leader_id */
        q += put_be(q, 0, 4);             /* no replicas */
        q += put_be(q, 0, 4);             /* no isr */
    }
    rc = kt_peer_respond(p, req.corr, false, b, (size_t)(q - b));
    free(b);
    kt_request_free(&req);
    return rc ? rc : kt_peer_wait_eof(p);
}

static void test_metadata_no_amplification(void **state)
{
    (void)state;
    sem_t handshake_done;
    sem_init(&handshake_done, 0, 0);
    kt_peer *p = kt_peer_start(script_metadata_amplify, &handshake_done);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    sem_wait(&handshake_done);
    kafka_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    g_max_alloc = 0;
    kafka_set_allocator(&counting);
    kafka_partition *parts = NULL;
    size_t n = 0;
    kafka_err err = kafka_conn_read_partitions(c, NULL, 0, &parts, &n);
    kafka_set_allocator(NULL);
    assert_int_equal(err, 0);
    assert_int_equal(n, AMP_PARTS);
    /* Every partition still names its topic and leader in full. */
    assert_int_equal(strlen(parts[0].topic), AMP_NAME_LEN);
    assert_int_equal(strlen(parts[AMP_PARTS - 1].topic), AMP_NAME_LEN);
    assert_int_equal(strlen(parts[AMP_PARTS - 1].leader.host), AMP_NAME_LEN);
    assert_int_equal(parts[AMP_PARTS - 1].id, AMP_PARTS - 1);
    assert_int_equal(parts[AMP_PARTS - 1].leader.id, 7);
    assert_int_equal(parts[AMP_PARTS - 1].leader.port, 9092);
    assert_null(parts[0].leader.rack);
    /* The strings are stored once, not once per partition: the answer
     * (~96 KB) must not turn into a ~120 MB allocation. */
    assert_true(g_max_alloc < 1024 * 1024);
    kafka_free_partitions(parts);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    sem_destroy(&handshake_done);
}

/* ---- deadlines and close ----------------------------------------------------------- */

static int script_silent(kt_peer *p, void *arg)
{
    atomic_bool *got_request = arg;
    if (kt_peer_handshake_all(p))
        return -1;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    kt_request_free(&req);
    if (got_request)
        atomic_store(got_request, true);
    return kt_peer_wait_eof(p); /* never answers */
}

static void test_read_deadline_fires(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_silent, NULL);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    kafka_conn_set_read_deadline(c, kafka_unix_ms() + 50);
    kafka_message m = {.topic = "t", .partition = 0, .value = "v", .value_len = 1};
    assert_int_equal(kafka_conn_write_messages(c, &m, 1, NULL, NULL), KAFKA_ERR_TIMEOUT);
    assert_non_null(strstr(kafka_conn_last_error(c), "deadline exceeded"));
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
}

static void test_past_write_deadline(void **state)
{
    (void)state;
    kt_peer *p = kt_peer_start(script_v3_exact, NULL);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    kafka_conn_set_write_deadline(c, kafka_unix_ms() - 1000);
    /* A deadline in the past: nothing can be written in time. Short
     * writes to a socketpair may still succeed at once, so either outcome
     * is a clean result; the conn stays consistent. */
    kafka_message m = {.topic = "t", .partition = 0, .value = "v", .value_len = 1};
    kafka_conn_set_read_deadline(c, kafka_unix_ms() - 1000);
    kafka_err err = kafka_conn_write_messages(c, &m, 1, NULL, NULL);
    assert_int_equal(err, KAFKA_ERR_TIMEOUT);
    kafka_conn_close(c);
    kt_peer_join(p); /* the script saw an unexpected request: ignore */
}

typedef struct blocked_call {
    kafka_conn *c;
    kafka_err err;
} blocked_call;

static void *call_read_partitions(void *arg)
{
    blocked_call *b = arg;
    kafka_partition *parts;
    size_t n;
    const char *t = "t";
    b->err = kafka_conn_read_partitions(b->c, &t, 1, &parts, &n);
    return NULL;
}

static void test_close_wakes_blocked_call(void **state)
{
    (void)state;
    atomic_bool got_request;
    atomic_init(&got_request, false);
    kt_peer *p = kt_peer_start(script_silent, &got_request);
    kafka_conn *c = dial_peer(p, NULL);
    assert_non_null(c);
    blocked_call b = {c, 0};
    pthread_t th;
    pthread_create(&th, NULL, call_read_partitions, &b);
    /* Wait until the request reached the peer, i.e. the call is blocked
     * reading the response (no deadline set). */
    while (!atomic_load(&got_request))
        usleep(1000);
    kafka_conn_close(c); /* frees c once the blocked call returns */
    pthread_join(th, NULL);
    assert_int_equal(b.err, KAFKA_ERR_CLOSED);
    assert_int_equal(kt_peer_join(p), 0);
}

/* ---- pure helpers ------------------------------------------------------------------ */

static void test_split_host_port(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(kafka_split_host_port("localhost:9092", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 9092);
    assert_int_equal(kafka_split_host_port("[::1]:19092", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 19092);
    assert_int_equal(kafka_split_host_port("::1:9092", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_split_host_port("host", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_split_host_port("host:0", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_split_host_port("host:65536", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_split_host_port("host:12x", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_split_host_port(":9092", host, sizeof host, &port), KAFKA_ERR_INVALID_ARG);
}

static void test_dial_bad_address(void **state)
{
    (void)state;
    kafka_conn *c = (kafka_conn *)1;
    assert_int_equal(kafka_dial(&c, "no-port", NULL, 1000), KAFKA_ERR_INVALID_ARG);
    assert_null(c);
    assert_non_null(strstr(kafka_dial_last_error(), "invalid broker address \"no-port\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate_v3),
        cmocka_unit_test(test_send_rawv_pieces),
        cmocka_unit_test(test_negotiate_v0_fallback),
        cmocka_unit_test(test_no_common_version),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_wrong_correlation_id),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_2gb_length_prefix),
        cmocka_unit_test(test_negative_length_prefix),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_undecodable_names_field),
        cmocka_unit_test(test_metadata_no_amplification),
        cmocka_unit_test(test_read_deadline_fires),
        cmocka_unit_test(test_past_write_deadline),
        cmocka_unit_test(test_close_wakes_blocked_call),
        cmocka_unit_test(test_split_host_port),
        cmocka_unit_test(test_dial_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
