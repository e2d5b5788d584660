/* ListOffsets v4+ (leader epochs) with many partitions, checked against
 * bytes that are not ours: a response encoded by kafka-python 2.0.2
 * (OffsetResponse_v4, whose response schema matches Kafka's), a request
 * written by hand from Kafka's ListOffsetsRequest.json, and the bytes
 * librdkafka 2.0.2's mock cluster (the test broker) really sends, which
 * are not the schema's layout: it writes the v4+ LeaderEpoch as an int64
 * (30-byte partition entries instead of 26), so every entry after the
 * first is misaligned. That is why the test broker advertises ListOffsets
 * only up to v3 (tests/broker/test_broker.c) while libkafka asks for the
 * newest version a broker offers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn/requests.h"
#include "protocol/gen/list_offsets.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Decodes hex as a ListOffsets response at version v into *resp (views
 * into *a and buf); *whole: every byte was consumed. */
static kafka_err decode(const char *hex, uint8_t *buf, size_t cap, int16_t v, kafka_arena *a,
                        kafka_list_offsets_response *resp, bool *whole)
{
    size_t len = unhex(hex, buf, cap);
    kafka_arena_init(a, 0);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, buf, len);
    kafka_list_offsets_response_init(resp);
    kafka_err e = kafka_list_offsets_response_decode(&rb, a, v, resp);
    *whole = rb.p == rb.end;
    return e;
}

/* kafka-python 2.0.2:
 *   OffsetResponse_v4(throttle_time_ms=0, topics=[('t', [(0, 0, -1, 10, 5),
 *       (1, 0, -1, 20, 6), (2, 6, -1, -1, -1)])]).encode().hex()
 * (partition, error_code, timestamp, offset, leader_epoch). */
static const char kafka_python_v4[] = "000000000000000100017400000003"
                                      "000000000000ffffffffffffffff000000000000000a00000005"
                                      "000000010000ffffffffffffffff000000000000001400000006"
                                      "000000020006ffffffffffffffffffffffffffffffffffffffff";

static void test_v4_v5_response_many_partitions(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (int16_t v = 4; v <= 5; v++) { /* v5 is v4's layout */
        kafka_arena a;
        kafka_list_offsets_response resp;
        bool whole = false;
        assert_int_equal(decode(kafka_python_v4, buf, sizeof buf, v, &a, &resp, &whole), 0);
        assert_true(whole);
        assert_int_equal(resp.topics_count, 1);
        assert_int_equal(resp.topics[0].partitions_count, 3);
        const kafka_list_offsets_response_list_offsets_partition_response *p = resp.topics[0].partitions;
        const struct {
            int32_t partition;
            int16_t error;
            int64_t offset;
            int32_t epoch;
        } want[3] = {{0, 0, 10, 5}, {1, 0, 20, 6}, {2, 6, -1, -1}};
        for (int i = 0; i < 3; i++) {
            assert_int_equal(p[i].partition_index, want[i].partition);
            assert_int_equal(p[i].error_code, want[i].error);
            assert_int_equal(p[i].offset, want[i].offset);
            assert_int_equal(p[i].leader_epoch, want[i].epoch);
        }
        kafka_arena_free(&a);
    }
}

/* Captured from the test broker (3 partitions of "lo", offsets 0, leader
 * epoch written as the int64 -1): with the schema's layout the second
 * entry starts 4 bytes early, so it cannot decode as partition 1. */
static const char librdkafka_202_mock_v4[] = "00000000000000010002" "6c6f" "00000003"
                                             "000000000000ffffffffffffffff0000000000000000ffffffffffffffff"
                                             "000000010000ffffffffffffffff0000000000000000ffffffffffffffff"
                                             "000000020000ffffffffffffffff0000000000000000ffffffffffffffff";

static void test_librdkafka_202_mock_v4_is_not_the_schema(void **state)
{
    (void)state;
    uint8_t buf[256];
    kafka_arena a;
    kafka_list_offsets_response resp;
    bool whole = false;
    kafka_err e = decode(librdkafka_202_mock_v4, buf, sizeof buf, 4, &a, &resp, &whole);
    bool aligned = !e && whole && resp.topics_count == 1 && resp.topics[0].partitions_count == 3 &&
                   resp.topics[0].partitions[1].partition_index == 1;
    assert_false(aligned);
    /* The same entries are 30 bytes each: 4 more than the schema's 26. */
    size_t len = strlen(librdkafka_202_mock_v4) / 2;
    assert_int_equal(len - (4 + 4 + 2 + 2 + 4), 3 * 30); /* throttle, topics, "lo", partitions */
    kafka_arena_free(&a);
}

/* Our v4 request for two partitions, against ListOffsetsRequest.json:
 * replica_id int32, isolation_level int8, [name string, [partition int32,
 * current_leader_epoch int32 (-1: none), timestamp int64]]. */
static void test_v4_request_bytes(void **state)
{
    (void)state;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    const char *topic = "t"; /* one pointer: requests group topics by it */
    kafka_offset_want want[2] = {{topic, 0, -2}, {topic, 3, -1}};
    kafka_list_offsets_request req;
    assert_int_equal(kafka_list_offsets_request_build(&a, want, 2, true, &req), 0);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_list_offsets_request_encode(&w, 4, &req), 0);
    static const uint8_t expect[] = {
        0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
        1,                                              /* read committed */
        0, 0, 0, 1, 0, 1, 't',                          /* 1 topic "t" */
        0, 0, 0, 2,                                     /* 2 partitions */
        0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,             /* 0, epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* earliest */
        0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,             /* 3, epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* latest */
    };
    assert_int_equal(w.len, sizeof expect);
    assert_memory_equal(w.data, expect, sizeof expect);
    kafka_wbuf_free(&w);
    kafka_arena_free(&a);
}

/* libkafka offers the newest ListOffsets its requests fill correctly: a
 * broker's own range (the version negotiation) decides, not a cap. */
static void test_offers_v4_and_newer(void **state)
{
    (void)state;
    assert_true(KAFKA_LIST_OFFSETS_MAX_VERSION >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_v5_response_many_partitions),
        cmocka_unit_test(test_librdkafka_202_mock_v4_is_not_the_schema),
        cmocka_unit_test(test_v4_request_bytes),
        cmocka_unit_test(test_offers_v4_and_newer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
