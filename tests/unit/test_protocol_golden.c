/* Hand-written golden tests for the generated codecs and the headers: every
 * expected byte string below was written out by hand from the Kafka protocol
 * guide (https://kafka.apache.org/protocol), not produced by the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "protocol/gen_runtime.h"
#include "protocol/header.h"

/* Decodes from a heap copy of exactly len bytes (ASan sees any overread). */
typedef struct exact_buf {
    uint8_t *data;
    kafka_rbuf r;
} exact_buf;

static void exact_init(exact_buf *b, const uint8_t *data, size_t len)
{
    b->data = malloc(len ? len : 1);
    assert_non_null(b->data);
    memcpy(b->data, data, len);
    kafka_rbuf_init(&b->r, b->data, len);
}

static void expect_bytes(const kafka_wbuf *w, const uint8_t *want, size_t len)
{
    assert_int_equal(w->len, len);
    assert_memory_equal(w->data, want, len);
}

/* ApiVersionsRequest v0, header v1, correlation id 1, client id "ab". */
static void test_api_versions_request_v0(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 'a', 'b'};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_api_versions_request req;
    kafka_api_versions_request_init(&req);
    assert_int_equal(kafka_request_header_version(KAFKA_API_API_VERSIONS, 0), 1);
    assert_int_equal(kafka_request_header_encode(&w, KAFKA_API_API_VERSIONS, 0, 1, kafka_str_c("ab")), 0);
    assert_int_equal(kafka_api_versions_request_encode(&w, 0, &req), 0);
    expect_bytes(&w, want, sizeof want);

    /* ClientSoftwareName is v3+ and ignorable: silently dropped in v0. */
    req.client_software_name = kafka_str_c("kc");
    size_t before = w.len;
    assert_int_equal(kafka_api_versions_request_encode(&w, 0, &req), 0);
    assert_int_equal(w.len, before);
    kafka_wbuf_free(&w);
}

/* ApiVersionsRequest v3: header v2 (client id stays an int16 string, then an
 * empty tag section), compact strings and the body's empty tag section. */
static void test_api_versions_request_v3(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, /* key 18, v3, corr 2 */
        0x00, 0x02, 'a', 'b', 0x00,                     /* client id, no tags */
        0x03, 'k', 'c',                                 /* compact "kc" */
        0x04, '1', '.', '0',                            /* compact "1.0" */
        0x00,                                           /* no tags */
    };
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_api_versions_request req;
    kafka_api_versions_request_init(&req);
    req.client_software_name = kafka_str_c("kc");
    req.client_software_version = kafka_str_c("1.0");
    assert_int_equal(kafka_request_header_version(KAFKA_API_API_VERSIONS, 3), 2);
    assert_int_equal(kafka_request_header_encode(&w, KAFKA_API_API_VERSIONS, 3, 2, kafka_str_c("ab")), 0);
    assert_int_equal(kafka_api_versions_request_encode(&w, 3, &req), 0);
    expect_bytes(&w, want, sizeof want);
    assert_int_equal(kafka_api_versions_request_size(3, &req), 8);

    /* A test server reads it back. */
    exact_buf b;
    exact_init(&b, want, sizeof want);
    int16_t key, ver;
    int32_t corr;
    kafka_str cid;
    assert_int_equal(kafka_request_header_decode(&b.r, &key, &ver, &corr, &cid), 0);
    assert_int_equal(key, 18);
    assert_int_equal(ver, 3);
    assert_int_equal(corr, 2);
    assert_true(kafka_str_eq_c(cid, "ab"));
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_api_versions_request got;
    assert_int_equal(kafka_api_versions_request_decode(&b.r, &a, 3, &got), 0);
    assert_true(kafka_str_eq_c(got.client_software_name, "kc"));
    assert_true(kafka_str_eq_c(got.client_software_version, "1.0"));
    assert_int_equal(kafka_rbuf_remaining(&b.r), 0);
    kafka_arena_free(&a);
    free(b.data);
    kafka_wbuf_free(&w);
}

/* MetadataRequest v1: one topic "t"; then null topics (= all topics). */
static void test_metadata_request_v1(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff, /* header, null client id */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',                    /* [ "t" ] */
    };
    static const uint8_t want_null[] = {0xff, 0xff, 0xff, 0xff};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_metadata_request_metadata_request_topic topic;
    kafka_metadata_request_metadata_request_topic_init(&topic);
    topic.name = kafka_str_c("t");
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    req.topics = &topic;
    req.topics_count = 1;
    assert_int_equal(kafka_request_header_encode(&w, KAFKA_API_METADATA, 1, 7, KAFKA_STR_NULL), 0);
    assert_int_equal(kafka_metadata_request_encode(&w, 1, &req), 0);
    expect_bytes(&w, want, sizeof want);

    kafka_wbuf_free(&w);
    req.topics = NULL;
    req.topics_count = -1;
    assert_int_equal(kafka_metadata_request_encode(&w, 1, &req), 0);
    expect_bytes(&w, want_null, sizeof want_null);
    /* v0 has no null topics: refusing beats silently asking for nothing. */
    kafka_wbuf_free(&w);
    assert_int_equal(kafka_metadata_request_encode(&w, 0, &req), KAFKA_ERR_INVALID_ARG);
    /* AllowAutoTopicCreation is v4+, default true, not ignorable. */
    req.topics_count = 0;
    req.allow_auto_topic_creation = false;
    kafka_wbuf_free(&w);
    assert_int_equal(kafka_metadata_request_encode(&w, 3, &req), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_metadata_request_size(3, &req), 0);
    kafka_wbuf_free(&w);
    assert_int_equal(kafka_metadata_request_encode(&w, 4, &req), 0);
    kafka_wbuf_free(&w);
}

/* ProduceRequest v3 with header v1: null transactional id, acks -1,
 * timeout 1000, topic "t" partition 0 with 3 bytes of records. */
static const uint8_t produce_v3[] = {
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 'c', /* header */
    0xff, 0xff,                                                       /* TransactionalId null */
    0xff, 0xff,                                                       /* Acks -1 */
    0x00, 0x00, 0x03, 0xe8,                                           /* TimeoutMs 1000 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',                          /* [ topic "t" */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,                   /*   [ partition 0 */
    0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03,                         /*     records ]] */
};

static void test_produce_request_v3(void **state)
{
    (void)state;
    static const uint8_t records[] = {1, 2, 3};
    kafka_produce_request_partition_produce_data part;
    kafka_produce_request_partition_produce_data_init(&part);
    part.index = 0;
    part.records = (kafka_bytes){records, 3};
    kafka_produce_request_topic_produce_data topic;
    kafka_produce_request_topic_produce_data_init(&topic);
    topic.name = kafka_str_c("t");
    topic.partition_data = &part;
    topic.partition_data_count = 1;
    kafka_produce_request req;
    kafka_produce_request_init(&req);
    assert_int_equal(req.transactional_id.len, -1); /* schema default null */
    req.acks = -1;
    req.timeout_ms = 1000;
    req.topic_data = &topic;
    req.topic_data_count = 1;

    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_request_header_encode(&w, KAFKA_API_PRODUCE, 3, 5, kafka_str_c("c")), 0);
    assert_int_equal(kafka_produce_request_encode(&w, 3, &req), 0);
    expect_bytes(&w, produce_v3, sizeof produce_v3);
    assert_int_equal(kafka_produce_request_size(3, &req), sizeof produce_v3 - 11);
    kafka_wbuf_free(&w);
}

/* kafka_gen_encode_refs: the body's bytes with each referenced record
 * batch put back at its offset are exactly kafka_gen_encode's output, at
 * every Produce version (v9 is flexible), whether every batch is
 * referenced or the refs run out (the rest are copied); an empty records
 * field is never referenced. */
static void test_produce_encode_refs(void **state)
{
    (void)state;
    static uint8_t rec[4][300];
    for (int i = 0; i < 4; i++)
        memset(rec[i], 'a' + i, sizeof rec[i]);
    kafka_produce_request_partition_produce_data pd[5];
    for (int i = 0; i < 5; i++) {
        kafka_produce_request_partition_produce_data_init(&pd[i]);
        pd[i].index = i;
        /* partition 2 has empty records; lengths differ so a misplaced
         * batch shows */
        pd[i].records = i == 2 ? (kafka_bytes){rec[0], 0} : (kafka_bytes){rec[i % 4], 100 + 40 * i};
    }
    kafka_produce_request_topic_produce_data td[2];
    for (int t = 0; t < 2; t++)
        kafka_produce_request_topic_produce_data_init(&td[t]);
    td[0].name = kafka_str_c("first");
    td[0].partition_data = pd;
    td[0].partition_data_count = 2;
    td[1].name = kafka_str_c("second");
    td[1].partition_data = pd + 2;
    td[1].partition_data_count = 3;
    kafka_produce_request req;
    kafka_produce_request_init(&req);
    req.acks = 1;
    req.timeout_ms = 30000;
    req.topic_data = td;
    req.topic_data_count = 2;
    for (int16_t v = 3; v <= 9; v++) {
        kafka_wbuf want;
        kafka_wbuf_init(&want);
        assert_int_equal(kafka_produce_request_encode(&want, v, &req), 0);
        for (size_t cap = 0; cap <= 5; cap++) {
            kafka_gen_ref refs[5];
            size_t n = 99;
            kafka_wbuf body, got;
            kafka_wbuf_init(&body);
            kafka_wbuf_init(&got);
            assert_int_equal(kafka_gen_encode_refs(&body, &kafka_produce_request_msg, v, &req, refs, cap, &n), 0);
            assert_int_equal(n, cap < 4 ? cap : 4); /* 4 non-empty batches */
            size_t at = 0;
            for (size_t i = 0; i < n; i++) {
                assert_true(refs[i].at >= at && refs[i].at <= body.len);
                kafka_put_raw(&got, body.data + at, refs[i].at - at);
                kafka_put_raw(&got, refs[i].ptr, refs[i].len);
                at = refs[i].at;
            }
            kafka_put_raw(&got, body.data + at, body.len - at);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
            kafka_wbuf_free(&body);
            kafka_wbuf_free(&got);
        }
        kafka_wbuf_free(&want);
    }
}

/* Nullable string -1 decodes as null; the same -1 in a non-nullable string
 * is CORRUPT and names the field. */
static void test_nullable_string(void **state)
{
    (void)state;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_produce_request req;
    exact_buf b;
    exact_init(&b, produce_v3 + 11, sizeof produce_v3 - 11);
    assert_int_equal(kafka_produce_request_decode(&b.r, &a, 3, &req), 0);
    assert_int_equal(req.transactional_id.len, -1);
    assert_null(req.transactional_id.ptr);
    assert_int_equal(req.acks, -1);
    assert_int_equal(req.timeout_ms, 1000);
    assert_int_equal(req.topic_data_count, 1);
    assert_true(kafka_str_eq_c(req.topic_data[0].name, "t"));
    assert_int_equal(req.topic_data[0].partition_data[0].records.len, 3);
    assert_int_equal(req.topic_data[0].partition_data[0].records.ptr[2], 3);
    free(b.data);

    uint8_t bad[sizeof produce_v3 - 11];
    memcpy(bad, produce_v3 + 11, sizeof bad);
    bad[12] = 0xff; /* topic name length 0x0001 -> 0xff01 = -255 */
    bad[13] = 0xff; /* -> 0xffff = -1 */
    exact_init(&b, bad, sizeof bad);
    assert_int_equal(kafka_produce_request_decode(&b.r, &a, 3, &req), KAFKA_ERR_CORRUPT);
    assert_string_equal(b.r.field, "ProduceRequest.TopicData.Name");
    free(b.data);
    kafka_arena_free(&a);
}

/* ApiVersionsResponse v0 after a v0 response header. */
static void test_api_versions_response_v0(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x00, 0x00, 0x00, 0x2a,             /* correlation id 42 */
        0x00, 0x00,                         /* ErrorCode 0 */
        0x00, 0x00, 0x00, 0x02,             /* 2 ApiKeys */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x09, /* Produce 0-9 */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x03, /* ApiVersions 0-3 */
    };
    exact_buf b;
    exact_init(&b, in, sizeof in);
    int32_t corr;
    assert_int_equal(kafka_response_header_version(KAFKA_API_API_VERSIONS, 3), 0);
    assert_int_equal(kafka_response_header_decode(&b.r, KAFKA_API_API_VERSIONS, 0, &corr), 0);
    assert_int_equal(corr, 42);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_api_versions_response resp;
    assert_int_equal(kafka_api_versions_response_decode(&b.r, &a, 0, &resp), 0);
    assert_int_equal(kafka_rbuf_remaining(&b.r), 0);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.api_keys_count, 2);
    assert_int_equal(resp.api_keys[0].api_key, 0);
    assert_int_equal(resp.api_keys[0].min_version, 0);
    assert_int_equal(resp.api_keys[0].max_version, 9);
    assert_int_equal(resp.api_keys[1].api_key, 18);
    assert_int_equal(resp.api_keys[1].max_version, 3);
    assert_int_equal(resp.throttle_time_ms, 0);

    /* Re-encoding gives the same body back. */
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_api_versions_response_encode(&w, 0, &resp), 0);
    expect_bytes(&w, in + 4, sizeof in - 4);
    kafka_wbuf_free(&w);
    kafka_arena_free(&a);
    free(b.data);
}

/* Flexible response: unknown tags (in the header, in an array element and
 * at the top level) are skipped; a known tag is decoded. */
static void test_flexible_unknown_tags(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x00, 0x00, 0x00, 0x09,                         /* correlation id 9 */
        0x01, 0x07, 0x01, 0xee,                         /* header: tag 7, 1 byte */
        0x00, 0x00,                                     /* ErrorCode */
        0x02,                                           /* compact array of 1 */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x04,             /* ApiVersions 0-4 */
        0x01, 0x05, 0x02, 0xaa, 0xbb,                   /* element: unknown tag 5 */
        0x00, 0x00, 0x00, 0x64,                         /* ThrottleTimeMs 100 */
        0x02,                                           /* two tagged fields */
        0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x07,          /* tag 1 FinalizedFeaturesEpoch = 7 */
        0x09, 0x01, 'x',                                /* unknown tag 9 */
    };
    exact_buf b;
    exact_init(&b, in, sizeof in);
    int32_t corr;
    /* A flexible non-ApiVersions response uses header v1. */
    assert_int_equal(kafka_response_header_version(KAFKA_API_METADATA, 9), 1);
    assert_int_equal(kafka_response_header_version(KAFKA_API_METADATA, 8), 0);
    assert_int_equal(kafka_response_header_decode(&b.r, KAFKA_API_METADATA, 9, &corr), 0);
    assert_int_equal(corr, 9);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_api_versions_response resp;
    assert_int_equal(kafka_api_versions_response_decode(&b.r, &a, 3, &resp), 0);
    assert_int_equal(kafka_rbuf_remaining(&b.r), 0);
    assert_int_equal(resp.api_keys_count, 1);
    assert_int_equal(resp.api_keys[0].api_key, 18);
    assert_int_equal(resp.api_keys[0].max_version, 4);
    assert_int_equal(resp.throttle_time_ms, 100);
    assert_int_equal(resp.finalized_features_epoch, 7);
    assert_int_equal(resp.supported_features_count, 0);
    assert_false(resp.zk_migration_ready);

    /* Re-encoded: unknown tags gone, the known one kept. */
    static const uint8_t want[] = {
        0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x64, 0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x07,
    };
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_api_versions_response_encode(&w, 3, &resp), 0);
    expect_bytes(&w, want, sizeof want);
    kafka_wbuf_free(&w);
    kafka_arena_free(&a);
    free(b.data);
}

/* A 2 GB array count in a 40-byte frame is CORRUPT before any allocation:
 * the arena's 4 KiB limit would turn an attempted allocation into NOMEM. */
static void test_huge_array_count(void **state)
{
    (void)state;
    uint8_t in[40] = {0x00, 0x00, 0x7f, 0xff, 0xff, 0xff};
    exact_buf b;
    exact_init(&b, in, sizeof in);
    kafka_arena a;
    kafka_arena_init(&a, 4096);
    kafka_api_versions_response resp;
    assert_int_equal(kafka_api_versions_response_decode(&b.r, &a, 0, &resp), KAFKA_ERR_CORRUPT);
    assert_string_equal(b.r.field, "ApiVersionsResponse.ApiKeys");
    free(b.data);

    /* The same in compact form: uvarint 0x80000000 + 1. */
    static const uint8_t compact[] = {0x00, 0x00, 0x81, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0, 0};
    exact_init(&b, compact, sizeof compact);
    assert_int_equal(kafka_api_versions_response_decode(&b.r, &a, 3, &resp), KAFKA_ERR_CORRUPT);
    assert_string_equal(b.r.field, "ApiVersionsResponse.ApiKeys");
    free(b.data);
    kafka_arena_free(&a);
}

/* A tagged field whose declared size runs past the buffer is TRUNCATED. */
static void test_tag_size_overrun(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0x05, 'x'};
    exact_buf b;
    exact_init(&b, in, sizeof in);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_api_versions_response resp;
    assert_int_equal(kafka_api_versions_response_decode(&b.r, &a, 3, &resp), KAFKA_ERR_TRUNCATED);
    assert_string_equal(b.r.field, "ApiVersionsResponse._tagged_fields");
    free(b.data);
    kafka_arena_free(&a);
}

static void test_api_table(void **state)
{
    (void)state;
    const kafka_api_info *p = kafka_api_info_get(KAFKA_API_PRODUCE);
    assert_non_null(p);
    assert_string_equal(p->name, "Produce");
    assert_int_equal(p->min_version, 0);
    assert_int_equal(p->max_version, 11);
    assert_int_equal(p->request_flexible_min, 9);
    assert_int_equal(p->response_flexible_min, 9);
    const kafka_api_info *s = kafka_api_info_get(KAFKA_API_SASL_HANDSHAKE);
    assert_non_null(s);
    assert_int_equal(s->request_flexible_min, -1);
    assert_null(kafka_api_info_get(4)); /* LeaderAndIsr: not a broker API */
    assert_null(kafka_api_info_get(-1));
    assert_null(kafka_api_info_get(1000));
    int n = 0;
    for (int k = 0; k <= KAFKA_API_KEY_MAX; k++)
        n += kafka_api_info_get((int16_t)k) != NULL;
    assert_int_equal(n, 72);
    assert_int_equal(KAFKA_API_DESCRIBE_ACLS, 29);
    assert_int_equal(KAFKA_API_API_VERSIONS, 18);
    assert_int_equal(kafka_request_header_version(KAFKA_API_PRODUCE, 8), 1);
    assert_int_equal(kafka_request_header_version(KAFKA_API_PRODUCE, 9), 2);
    assert_int_equal(kafka_request_header_version(KAFKA_API_CONTROLLED_SHUTDOWN_KEY, 0), 0);
    assert_int_equal(kafka_request_header_version(4, 0), -1);
    assert_int_equal(kafka_api_request_struct_size(KAFKA_API_PRODUCE), sizeof(kafka_produce_request));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_versions_request_v0),
        cmocka_unit_test(test_api_versions_request_v3),
        cmocka_unit_test(test_metadata_request_v1),
        cmocka_unit_test(test_produce_request_v3),
        cmocka_unit_test(test_produce_encode_refs),
        cmocka_unit_test(test_nullable_string),
        cmocka_unit_test(test_api_versions_response_v0),
        cmocka_unit_test(test_flexible_unknown_tags),
        cmocka_unit_test(test_huge_array_count),
        cmocka_unit_test(test_tag_size_overrun),
        cmocka_unit_test(test_api_table),
    };
    return cmocka_run_group_tests_name("protocol_golden", tests, NULL, NULL);
}
