/* kafka_conn_read_offset_at / kafka_conn_read_offsets on the wire, with a
 * scripted peer that offers ListOffsets v1 only. The request bytes the
 * peer expects and the response bytes it sends are written by hand from
 * the ListOffsets v1 schema (request: replica_id, [topic name,
 * [partition, timestamp]]; response: [topic name, [partition, error_code,
 * timestamp, offset]]). The test broker (librdkafka's mock) cannot answer
 * timestamp lookups, so this is where the timestamp path is checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn_peer.h"
#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "protocol/api.h"

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ListOffsets v1 request for topic "t" partition 0 at timestamp ts. */
static size_t want_request(uint8_t *b, int64_t ts)
{
    static const uint8_t head[] = {0xff, 0xff, 0xff, 0xff, /* replica_id -1 */
                                   0, 0, 0, 1,             /* 1 topic */
                                   0, 1, 't',              /* name */
                                   0, 0, 0, 1,             /* 1 partition */
                                   0, 0, 0, 0};            /* partition 0 */
    memcpy(b, head, sizeof head);
    put_be(b + sizeof head, (uint64_t)ts, 8);
    return sizeof head + 8;
}

/* One step of the script: the timestamp the client must ask for and what
 * the broker answers. */
typedef struct exchange {
    int64_t ask_ts;
    int16_t error;
    int64_t reply_ts, offset;
} exchange;

typedef struct script {
    const exchange *ex;
    size_t n;
    int bad_request; /* 1-based index of the first request that differed */
} script;

static int run_script(kt_peer *p, void *arg)
{
    script *s = arg;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    const int16_t ranges[2][3] = {{18, 0, 3}, {KAFKA_API_LIST_OFFSETS, 1, 1}};
    kt_peer_api_versions(p, &req, ranges, 2);
    kt_request_free(&req);
    for (size_t i = 0; i < s->n; i++) {
        if (kt_peer_read(p, &req))
            return -1;
        uint8_t want[64];
        size_t wl = want_request(want, s->ex[i].ask_ts);
        if (!s->bad_request && (req.api_key != KAFKA_API_LIST_OFFSETS || req.api_version != 1 ||
                                req.body_len != wl || memcmp(req.body, want, wl) != 0))
            s->bad_request = (int)i + 1;
        uint8_t resp[] = {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0, /* topic "t", 1 partition, id 0 */
                          0, 0,                                             /* error_code */
                          0, 0, 0, 0, 0, 0, 0, 0,                           /* timestamp */
                          0, 0, 0, 0, 0, 0, 0, 0};                          /* offset */
        put_be(resp + 15, (uint16_t)s->ex[i].error, 2);
        put_be(resp + 17, (uint64_t)s->ex[i].reply_ts, 8);
        put_be(resp + 25, (uint64_t)s->ex[i].offset, 8);
        kt_peer_respond(p, req.corr, false, resp, sizeof resp);
        kt_request_free(&req);
    }
    return kt_peer_wait_eof(p);
}

static kafka_conn *dial_peer(kt_peer *p)
{
    kafka_dialer_config cfg = {.transport = kt_peer_transport(p)};
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, "peer:9092", &cfg, 5000);
    if (err)
        fail_msg("dial: %s: %s", kafka_err_str(err), kafka_dial_last_error());
    kafka_conn_set_timeout(c, 5000);
    assert_int_equal(kafka_conn_bind(c, "t", 0), 0);
    return c;
}

static void finish(kt_peer *p, kafka_conn *c, script *s)
{
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    if (s->bad_request)
        fail_msg("ListOffsets request %d differs from the expected bytes", s->bad_request);
}

static void test_offset_at(void **state)
{
    (void)state;
    /* Messages stamped 1000/2000/3000 at offsets 0/1/2: at 1500 the broker
     * names offset 1 (stamped 2000); past the newest it answers -1/-1. */
    const exchange ex[] = {{1500, 0, 2000, 1}, {3001, 0, -1, -1}};
    script s = {ex, 2, 0};
    kt_peer *p = kt_peer_start(run_script, &s);
    kafka_conn *c = dial_peer(p);
    int64_t at = -7;
    assert_int_equal(kafka_conn_read_offset_at(c, 1500, &at), 0);
    assert_int_equal(at, 1);
    assert_int_equal(kafka_conn_read_offset_at(c, 3001, &at), 0);
    assert_int_equal(at, -1);
    finish(p, c, &s);
}

static void test_read_offsets_asks_earliest_then_latest(void **state)
{
    (void)state;
    /* Kafka's special timestamps: -2 = earliest, -1 = latest. */
    const exchange ex[] = {{-2, 0, -1, 5}, {-1, 0, -1, 9}};
    script s = {ex, 2, 0};
    kt_peer *p = kt_peer_start(run_script, &s);
    kafka_conn *c = dial_peer(p);
    int64_t first = -7, last = -7;
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), 0);
    assert_int_equal(first, 5);
    assert_int_equal(last, 9);
    finish(p, c, &s);
}

static void test_partition_error_keeps_conn(void **state)
{
    (void)state;
    /* NOT_LEADER_OR_FOLLOWER (6) is the partition's Kafka error: returned as
     * such, and the conn answers the next call. */
    const exchange ex[] = {{1500, 6, -1, -1}, {-1, 0, -1, 3}};
    script s = {ex, 2, 0};
    kt_peer *p = kt_peer_start(run_script, &s);
    kafka_conn *c = dial_peer(p);
    int64_t at = -7;
    assert_int_equal(kafka_conn_read_offset_at(c, 1500, &at), KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_non_null(strstr(kafka_conn_last_error(c), "t [0]"));
    int64_t last = -7;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(last, 3);
    finish(p, c, &s);
}

/* Seek offsets whose sum overflows int64 (signed overflow is undefined
 * behaviour: UBSan aborts on it) are rejected, before and after a
 * ListOffsets round trip. */
static void test_seek_overflow(void **state)
{
    (void)state;
    static const exchange ex[] = {{-2, 0, -1, 10}};
    script s = {ex, 1, 0};
    kt_peer *p = kt_peer_start(run_script, &s);
    kafka_conn *c = dial_peer(p);
    int64_t off = 0;
    assert_int_equal(kafka_conn_seek(c, INT64_MAX, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, &off), 0);
    assert_int_equal(off, INT64_MAX);
    assert_int_equal(kafka_conn_seek(c, 1, KAFKA_SEEK_CURRENT | KAFKA_SEEK_DONT_CHECK, &off), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_conn_offset(c), INT64_MAX); /* unchanged */
    /* first offset 10 + INT64_MAX */
    assert_int_equal(kafka_conn_seek(c, INT64_MAX, KAFKA_SEEK_FIRST | KAFKA_SEEK_DONT_CHECK, &off),
                     KAFKA_ERR_INVALID_ARG);
    finish(p, c, &s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_at),
        cmocka_unit_test(test_read_offsets_asks_earliest_then_latest),
        cmocka_unit_test(test_partition_error_keeps_conn),
        cmocka_unit_test(test_seek_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
