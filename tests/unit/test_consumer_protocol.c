/* ConsumerProtocolSubscription / ConsumerProtocolAssignment codecs against
 * hand-written bytes (laid out from the schemas in
 * kafka-protocol/message/ConsumerProtocol*.json: int16 version, then the
 * fields, classic non-flexible encoding), round trips, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "group/consumer_protocol.h"

static kafka_arena arena;

static int setup(void **state)
{
    kafka_arena_init(&arena, 0);
    return 0;
}

static int teardown(void **state)
{
    kafka_arena_free(&arena);
    return 0;
}

/* v0 subscription: topics ["t1", "t2"], user data null. */
static const uint8_t SUB_V0[] = {
    0x00, 0x00,             /* version 0 */
    0x00, 0x00, 0x00, 0x02, /* topics: 2 */
    0x00, 0x02, 't',  '1',  /* "t1" */
    0x00, 0x02, 't',  '2',  /* "t2" */
    0xff, 0xff, 0xff, 0xff, /* user data: null */
};

/* v3 subscription: topics ["t1"], user data {0xAB}, owned t1:[0,2],
 * generation 7, rack "r1". */
static const uint8_t SUB_V3[] = {
    0x00, 0x03,                               /* version 3 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't', '1', /* topics ["t1"] */
    0x00, 0x00, 0x00, 0x01, 0xab,             /* user data, 1 byte */
    0x00, 0x00, 0x00, 0x01,                   /* owned: 1 topic */
    0x00, 0x02, 't',  '1',                    /* "t1" */
    0x00, 0x00, 0x00, 0x02,                   /* 2 partitions */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* 0, 2 */
    0x00, 0x00, 0x00, 0x07,                   /* generation 7 */
    0x00, 0x02, 'r',  '1',                    /* rack "r1" */
};

/* v0 assignment: t1:[0,1], t2:[5], user data null. */
static const uint8_t ASSIGN_V0[] = {
    0x00, 0x00,             /* version 0 */
    0x00, 0x00, 0x00, 0x02, /* 2 topics */
    0x00, 0x02, 't',  '1',  0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x02, 't',  '2',  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05,
    0xff, 0xff, 0xff, 0xff, /* user data: null */
};

static void assert_bytes(const kafka_wbuf *w, const uint8_t *want, size_t n)
{
    assert_false(w->oom);
    assert_int_equal(w->len, n);
    assert_memory_equal(w->data, want, n);
}

static void test_subscription_v0_bytes(void **state)
{
    const char *topics[] = {"t1", "t2"};
    kafka_consumer_subscription s = {
        .version = 0, .topics = topics, .n_topics = 2, .user_data = KAFKA_BYTES_NULL, .generation = -1};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), 0);
    assert_bytes(&w, SUB_V0, sizeof SUB_V0);
    kafka_wbuf_free(&w);

    kafka_consumer_subscription d;
    assert_int_equal(kafka_consumer_subscription_decode(SUB_V0, sizeof SUB_V0, &arena, &d), 0);
    assert_int_equal(d.version, 0);
    assert_int_equal(d.n_topics, 2);
    assert_string_equal(d.topics[0], "t1");
    assert_string_equal(d.topics[1], "t2");
    assert_true(d.user_data.len < 0);
    assert_int_equal(d.n_owned, 0);
    assert_int_equal(d.generation, -1);
    assert_null(d.rack);
}

static void test_subscription_v3_bytes(void **state)
{
    const char *topics[] = {"t1"};
    const uint8_t ud[] = {0xab};
    const kafka_topic_partition owned[] = {{"t1", 0}, {"t1", 2}};
    kafka_consumer_subscription s = {.version = 3,
                                     .topics = topics,
                                     .n_topics = 1,
                                     .user_data = {ud, 1},
                                     .owned = owned,
                                     .n_owned = 2,
                                     .generation = 7,
                                     .rack = "r1"};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), 0);
    assert_bytes(&w, SUB_V3, sizeof SUB_V3);
    kafka_wbuf_free(&w);

    kafka_consumer_subscription d;
    assert_int_equal(kafka_consumer_subscription_decode(SUB_V3, sizeof SUB_V3, &arena, &d), 0);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.n_topics, 1);
    assert_string_equal(d.topics[0], "t1");
    assert_int_equal(d.user_data.len, 1);
    assert_int_equal(d.user_data.ptr[0], 0xab);
    assert_int_equal(d.n_owned, 2);
    assert_string_equal(d.owned[0].topic, "t1");
    assert_int_equal(d.owned[0].partition, 0);
    assert_string_equal(d.owned[1].topic, "t1");
    assert_int_equal(d.owned[1].partition, 2);
    assert_int_equal(d.generation, 7);
    assert_string_equal(d.rack, "r1");
    assert_int_equal(kafka_consumer_subscription_generation(&d), 7);
}

static void test_assignment_v0_bytes(void **state)
{
    /* Interleaved input: the encoder groups t1's partitions together. */
    const kafka_topic_partition tps[] = {{"t1", 0}, {"t2", 5}, {"t1", 1}};
    kafka_consumer_assignment a = {.version = 0, .partitions = tps, .n_partitions = 3, .user_data = KAFKA_BYTES_NULL};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_assignment_encode(&a, &w), 0);
    assert_bytes(&w, ASSIGN_V0, sizeof ASSIGN_V0);
    kafka_wbuf_free(&w);

    kafka_consumer_assignment d;
    assert_int_equal(kafka_consumer_assignment_decode(ASSIGN_V0, sizeof ASSIGN_V0, &arena, &d), 0);
    assert_int_equal(d.version, 0);
    assert_int_equal(d.n_partitions, 3);
    assert_string_equal(d.partitions[0].topic, "t1");
    assert_int_equal(d.partitions[0].partition, 0);
    assert_string_equal(d.partitions[1].topic, "t1");
    assert_int_equal(d.partitions[1].partition, 1);
    assert_string_equal(d.partitions[2].topic, "t2");
    assert_int_equal(d.partitions[2].partition, 5);
    assert_true(d.user_data.len < 0);
}

static void test_subscription_roundtrip_versions(void **state)
{
    const char *topics[] = {"alpha", "beta", ""};
    const uint8_t ud[] = {1, 2, 3};
    const kafka_topic_partition owned[] = {{"alpha", 3}, {"beta", 0}, {"alpha", 1}};
    for (int16_t v = 0; v <= 3; v++) {
        kafka_consumer_subscription s = {.version = v,
                                         .topics = topics,
                                         .n_topics = 3,
                                         .user_data = {ud, 3},
                                         .owned = owned,
                                         .n_owned = 3,
                                         .generation = 42,
                                         .rack = "rack-a"};
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        assert_int_equal(kafka_consumer_subscription_encode(&s, &w), 0);
        kafka_consumer_subscription d;
        assert_int_equal(kafka_consumer_subscription_decode(w.data, w.len, &arena, &d), 0);
        assert_int_equal(d.version, v);
        assert_int_equal(d.n_topics, 3);
        assert_string_equal(d.topics[0], "alpha");
        assert_string_equal(d.topics[1], "beta");
        assert_string_equal(d.topics[2], "");
        assert_int_equal(d.user_data.len, 3);
        assert_memory_equal(d.user_data.ptr, ud, 3);
        if (v >= 1) {
            /* grouped by topic on the wire: alpha 3, alpha 1, beta 0 */
            assert_int_equal(d.n_owned, 3);
            assert_string_equal(d.owned[0].topic, "alpha");
            assert_int_equal(d.owned[0].partition, 3);
            assert_string_equal(d.owned[1].topic, "alpha");
            assert_int_equal(d.owned[1].partition, 1);
            assert_string_equal(d.owned[2].topic, "beta");
            assert_int_equal(d.owned[2].partition, 0);
        } else {
            assert_int_equal(d.n_owned, 0);
        }
        assert_int_equal(d.generation, v >= 2 ? 42 : -1);
        if (v >= 3)
            assert_string_equal(d.rack, "rack-a");
        else
            assert_null(d.rack);
        kafka_wbuf_free(&w);
    }
}

static void test_assignment_roundtrip_versions(void **state)
{
    const kafka_topic_partition tps[] = {{"x", 0}, {"y", 1}, {"y", 2}};
    for (int16_t v = 0; v <= 3; v++) {
        kafka_consumer_assignment a = {.version = v, .partitions = tps, .n_partitions = 3, .user_data = {(const uint8_t *)"", 0}};
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        assert_int_equal(kafka_consumer_assignment_encode(&a, &w), 0);
        /* 2 + 4 + (2+1+4+4) + (2+1+4+8) + 4 */
        assert_int_equal(w.len, 36);
        kafka_consumer_assignment d;
        assert_int_equal(kafka_consumer_assignment_decode(w.data, w.len, &arena, &d), 0);
        assert_int_equal(d.version, v);
        assert_int_equal(d.n_partitions, 3);
        for (size_t i = 0; i < 3; i++) {
            assert_string_equal(d.partitions[i].topic, tps[i].topic);
            assert_int_equal(d.partitions[i].partition, tps[i].partition);
        }
        assert_int_equal(d.user_data.len, 0); /* empty, not null */
        kafka_wbuf_free(&w);
    }
}

static void test_null_rack_and_empty(void **state)
{
    kafka_consumer_subscription s = {.version = 3, .user_data = KAFKA_BYTES_NULL, .generation = -1};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), 0);
    const uint8_t want[] = {0, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_bytes(&w, want, sizeof want);
    kafka_wbuf_free(&w);

    /* A member the leader gave nothing may receive zero bytes. */
    kafka_consumer_assignment d;
    assert_int_equal(kafka_consumer_assignment_decode(NULL, 0, &arena, &d), 0);
    assert_int_equal(d.n_partitions, 0);
}

static void test_future_version_and_trailing(void **state)
{
    /* Version 9: parsed with the v3 layout, extra trailing bytes ignored. */
    uint8_t buf[sizeof SUB_V3 + 3];
    memcpy(buf, SUB_V3, sizeof SUB_V3);
    buf[1] = 9;
    buf[sizeof SUB_V3] = 0xde;
    buf[sizeof SUB_V3 + 1] = 0xad;
    buf[sizeof SUB_V3 + 2] = 0x00;
    kafka_consumer_subscription d;
    assert_int_equal(kafka_consumer_subscription_decode(buf, sizeof buf, &arena, &d), 0);
    assert_int_equal(d.version, 9);
    assert_int_equal(d.generation, 7);
    assert_string_equal(d.rack, "r1");
}

static void test_generation_from_userdata(void **state)
{
    /* Pre-v2 Java cooperative-sticky members carry the generation as a
     * 4-byte int32 user data. */
    uint8_t ud[4];
    kafka_cooperative_sticky_userdata(0x01020304, ud);
    const uint8_t want[] = {1, 2, 3, 4};
    assert_memory_equal(ud, want, 4);
    kafka_consumer_subscription s = {.version = 1, .user_data = {ud, 4}, .generation = -1};
    assert_int_equal(kafka_consumer_subscription_generation(&s), 0x01020304);
    s.user_data = KAFKA_BYTES_NULL;
    assert_int_equal(kafka_consumer_subscription_generation(&s), -1);
    s.version = 2;
    s.generation = 5;
    assert_int_equal(kafka_consumer_subscription_generation(&s), 5);
}

static void test_every_truncation_fails(void **state)
{
    kafka_consumer_subscription s;
    for (size_t n = 0; n < sizeof SUB_V3; n++) {
        kafka_err err = kafka_consumer_subscription_decode(SUB_V3, n, &arena, &s);
        assert_true(err == KAFKA_ERR_TRUNCATED || err == KAFKA_ERR_CORRUPT);
    }
    kafka_consumer_assignment a;
    for (size_t n = 1; n < sizeof ASSIGN_V0; n++) {
        kafka_err err = kafka_consumer_assignment_decode(ASSIGN_V0, n, &arena, &a);
        assert_true(err == KAFKA_ERR_TRUNCATED || err == KAFKA_ERR_CORRUPT);
    }
}

static void test_hostile_counts(void **state)
{
    kafka_consumer_subscription s;
    /* 2^31-1 topics in a 10-byte buffer: CORRUPT before any allocation. */
    const uint8_t big_topics[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0};
    assert_int_equal(kafka_consumer_subscription_decode(big_topics, sizeof big_topics, &arena, &s),
                     KAFKA_ERR_CORRUPT);
    /* null topics array: the field is not nullable */
    const uint8_t null_topics[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_consumer_subscription_decode(null_topics, sizeof null_topics, &arena, &s),
                     KAFKA_ERR_CORRUPT);
    /* topic string length runs past the end */
    const uint8_t long_str[] = {0, 0, 0, 0, 0, 1, 0x7f, 0xff, 'a'};
    assert_int_equal(kafka_consumer_subscription_decode(long_str, sizeof long_str, &arena, &s),
                     KAFKA_ERR_TRUNCATED);
    /* negative version */
    const uint8_t neg_version[] = {0xff, 0xfe, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_consumer_subscription_decode(neg_version, sizeof neg_version, &arena, &s),
                     KAFKA_ERR_CORRUPT);
    /* NUL inside a topic name cannot become a C string */
    const uint8_t nul_name[] = {0, 0, 0, 0, 0, 1, 0, 2, 'a', 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_consumer_subscription_decode(nul_name, sizeof nul_name, &arena, &s), KAFKA_ERR_CORRUPT);
    /* v1 owned partitions: a partition count far past the buffer */
    const uint8_t big_parts[] = {0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
                                 0, 1, 'a', 0x10, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(kafka_consumer_subscription_decode(big_parts, sizeof big_parts, &arena, &s),
                     KAFKA_ERR_CORRUPT);
    /* assignment: negative topic count other than -1, and null */
    kafka_consumer_assignment a;
    const uint8_t neg_count[] = {0, 0, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_consumer_assignment_decode(neg_count, sizeof neg_count, &arena, &a), KAFKA_ERR_CORRUPT);
    const uint8_t null_count[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kafka_consumer_assignment_decode(null_count, sizeof null_count, &arena, &a), KAFKA_ERR_CORRUPT);
    /* user data length past the end */
    const uint8_t big_ud[] = {0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 1, 2};
    assert_int_equal(kafka_consumer_assignment_decode(big_ud, sizeof big_ud, &arena, &a), KAFKA_ERR_TRUNCATED);
}

static void test_encode_bad_args(void **state)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_consumer_subscription s = {.version = 4, .user_data = KAFKA_BYTES_NULL};
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), KAFKA_ERR_INVALID_ARG);
    s.version = -1;
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), KAFKA_ERR_INVALID_ARG);
    const char *topics[] = {NULL};
    s = (kafka_consumer_subscription){.version = 0, .topics = topics, .n_topics = 1, .user_data = KAFKA_BYTES_NULL};
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), KAFKA_ERR_INVALID_ARG);
    kafka_consumer_assignment a = {.version = 0, .partitions = NULL, .n_partitions = 1};
    assert_int_equal(kafka_consumer_assignment_encode(&a, &w), KAFKA_ERR_INVALID_ARG);
    kafka_wbuf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_subscription_v0_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscription_v3_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignment_v0_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscription_roundtrip_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignment_roundtrip_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_rack_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_version_and_trailing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_from_userdata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_bad_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
