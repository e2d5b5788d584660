/* kafka_conn against the test broker: produce and read back with every
 * codec, headers, keys and timestamps; offsets and seek; errors;
 * pipelining; deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn/conn_internal.h"
#include "kafka/conn.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "test_cluster.h"

static int setup(void **state)
{
    kt_cluster *kt = kt_cluster_start(1);
    if (!kt)
        return -1;
    *state = kt;
    return 0;
}

static int teardown(void **state)
{
    kt_cluster_stop(*state);
    return 0;
}

/* A fresh topic with one partition and a conn to its leader. */
static kafka_conn *leader_conn(kt_cluster *kt, const char *prefix, char **topic_out)
{
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000);
    if (err)
        fail_msg("dial leader: %s: %s", kafka_err_str(err), kafka_dial_last_error());
    kafka_conn_set_timeout(c, 10000);
    *topic_out = topic;
    return c;
}

static void test_produce_read_every_codec(void **state)
{
    kt_cluster *kt = *state;
    const kafka_codec codecs[] = {KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4,
                                  KAFKA_CODEC_ZSTD};
    for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++) {
        char *topic;
        kafka_conn *c = leader_conn(kt, "conn-codec", &topic);
        kafka_header h[2] = {{"h1", 2, "v1", 2}, {"h2", 2, NULL, 0}};
        kafka_message in[3] = {
            {.key = "k0", .key_len = 2, .value = "hello", .value_len = 5, .timestamp_ms = 1700000000000},
            {.key = NULL, .value = "world", .value_len = 5, .headers = h, .n_headers = 2,
             .timestamp_ms = 1700000000123},
            {.key = "", .key_len = 0, .value = NULL, .timestamp_ms = 1700000000456},
        };
        kafka_write_options wo = {.acks = KAFKA_REQUIRE_ALL, .codec = codecs[ci]};
        int64_t base = -1;
        kafka_err err = kafka_conn_write_messages(c, in, 3, &wo, &base);
        if (err)
            fail_msg("codec %s: %s: %s", kafka_codec_name(codecs[ci]), kafka_err_str(err), kafka_conn_last_error(c));
        assert_int_equal(base, 0);

        kafka_batch *b;
        assert_int_equal(kafka_conn_read_batch(c, 1, 1 << 20, &b), 0);
        assert_int_equal(kafka_batch_high_water_mark(b), 3);
        kafka_message m;
        assert_int_equal(kafka_batch_read_message(b, &m), 0);
        assert_string_equal(m.topic, topic);
        assert_int_equal(m.offset, 0);
        assert_int_equal(m.key_len, 2);
        assert_memory_equal(m.key, "k0", 2);
        assert_memory_equal(m.value, "hello", 5);
        assert_int_equal(m.timestamp_ms, 1700000000000);
        assert_int_equal(m.n_headers, 0);
        assert_int_equal(kafka_batch_read_message(b, &m), 0);
        assert_int_equal(m.offset, 1);
        assert_null(m.key);
        assert_int_equal(m.value_len, 5);
        assert_memory_equal(m.value, "world", 5);
        assert_int_equal(m.timestamp_ms, 1700000000123);
        assert_int_equal(m.n_headers, 2);
        assert_int_equal(m.headers[0].key_len, 2);
        assert_memory_equal(m.headers[0].key, "h1", 2);
        assert_memory_equal(m.headers[0].value, "v1", 2);
        assert_memory_equal(m.headers[1].key, "h2", 2);
        assert_null(m.headers[1].value);
        assert_int_equal(kafka_batch_read_message(b, &m), 0);
        assert_int_equal(m.offset, 2);
        assert_non_null(m.key); /* empty, not null */
        assert_int_equal(m.key_len, 0);
        assert_null(m.value); /* tombstone */
        assert_int_equal(kafka_batch_read_message(b, &m), KAFKA_ERR_END_OF_PARTITION);
        assert_int_equal(kafka_batch_close(b), 0);
        assert_int_equal(kafka_conn_offset(c), 3);
        kafka_conn_close(c);
        free(topic);
    }
}

static void test_offsets_and_seek(void **state)
{
    kt_cluster *kt = *state;
    char *topic;
    kafka_conn *c = leader_conn(kt, "conn-seek", &topic);
    int64_t first = -1, last = -1;
    assert_int_equal(kafka_conn_read_offsets(c, &first, &last), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    kafka_message msgs[10];
    char vals[10][8];
    for (int i = 0; i < 10; i++) {
        snprintf(vals[i], sizeof vals[i], "m%d", i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = strlen(vals[i])};
    }
    assert_int_equal(kafka_conn_write_messages(c, msgs, 5, NULL, NULL), 0);
    int64_t base;
    assert_int_equal(kafka_conn_write_messages(c, msgs + 5, 5, NULL, &base), 0);
    assert_int_equal(base, 5);
    assert_int_equal(kafka_conn_read_first_offset(c, &first), 0);
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 10);

    int64_t off;
    assert_int_equal(kafka_conn_seek(c, 7, KAFKA_SEEK_ABSOLUTE, &off), 0);
    assert_int_equal(off, 7);
    kafka_batch *b;
    kafka_message m;
    assert_int_equal(kafka_conn_read_batch(c, 1, 1 << 20, &b), 0);
    /* The broker returns the whole stored batch (offsets 5-9): records
     * before the fetch offset are skipped. */
    assert_int_equal(kafka_batch_read_message(b, &m), 0);
    assert_int_equal(m.offset, 7);
    assert_memory_equal(m.value, "m7", 2);
    assert_int_equal(kafka_batch_close(b), 0);
    assert_int_equal(kafka_conn_offset(c), 8); /* past the one message read */

    assert_int_equal(kafka_conn_seek(c, -2, KAFKA_SEEK_CURRENT, &off), 0);
    assert_int_equal(off, 6);
    assert_int_equal(kafka_conn_seek(c, 0, KAFKA_SEEK_FIRST, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(kafka_conn_seek(c, -1, KAFKA_SEEK_LAST, &off), 0);
    assert_int_equal(off, 9);
    assert_int_equal(kafka_conn_seek(c, 0, KAFKA_SEEK_LAST, &off), 0);
    assert_int_equal(off, 10);
    /* Out of range is refused and leaves the offset alone. */
    assert_int_equal(kafka_conn_seek(c, 11, KAFKA_SEEK_ABSOLUTE, &off), KAFKA_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(kafka_conn_offset(c), 10);
    assert_int_equal(kafka_conn_seek(c, -1, KAFKA_SEEK_FIRST, &off), KAFKA_ERR_OFFSET_OUT_OF_RANGE);
    /* Without the check, the broker says so on fetch. */
    assert_int_equal(kafka_conn_seek(c, 50, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, &off), 0);
    assert_int_equal(kafka_conn_read_batch(c, 1, 1 << 20, &b), KAFKA_ERR_OFFSET_OUT_OF_RANGE);
    assert_null(b);
    /* The conn stays usable after a Kafka error. */
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    assert_int_equal(last, 10);
    kafka_conn_close(c);
    free(topic);
}

static void test_unknown_topic(void **state)
{
    kt_cluster *kt = *state;
    kafka_conn *c = NULL;
    if (!kt_cluster_is_mock(kt)) /* a real cluster may auto-create topics */
        skip();
    char *topic = kt_unique_topic("conn-missing");
    /* The mock auto-creates topics on Metadata v2 requests: make it answer
     * as a broker without the topic does. */
    assert_int_equal(kt_cluster_cmd(kt, "topic_error %s 3", topic), 0);
    assert_int_equal(kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, 0, NULL, 10000),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(c);
    assert_non_null(strstr(kafka_dial_last_error(), topic));
    free(topic);
    /* A partition the topic does not have: the Kafka error, conn usable. */
    kafka_conn *c2 = leader_conn(kt, "conn-nopart", &topic);
    assert_int_equal(kafka_conn_bind(c2, topic, 5), 0);
    int64_t last;
    assert_int_equal(kafka_conn_read_last_offset(c2, &last), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(kafka_conn_bind(c2, topic, 0), 0);
    assert_int_equal(kafka_conn_read_last_offset(c2, &last), 0);
    kafka_conn_close(c2);
    free(topic);
}

static void test_metadata_calls(void **state)
{
    kt_cluster *kt = *state;
    char *topic;
    kafka_conn *c = leader_conn(kt, "conn-md", &topic);
    kafka_broker *bs;
    size_t nb;
    assert_int_equal(kafka_conn_brokers(c, &bs, &nb), 0);
    assert_int_equal(nb, 1);
    assert_int_equal(bs[0].id, 1);
    assert_string_equal(bs[0].host, "127.0.0.1");
    kafka_broker ctrl;
    kafka_err err = kafka_conn_controller(c, &ctrl);
    if (err == 0) {
        assert_int_equal(ctrl.id, 1);
        assert_int_equal(ctrl.port, bs[0].port);
    } else {
        /* librdkafka 2.0's mock reports controller id 0, which is none of
         * its brokers (ids 1..n): the conn says so instead of guessing. */
        assert_int_equal(err, KAFKA_ERR_NOT_FOUND);
        assert_non_null(strstr(kafka_conn_last_error(c), "controller 0 is not among the 1 brokers"));
    }
    kafka_free_brokers(bs);

    kafka_partition *ps;
    size_t np;
    const char *topics[] = {topic};
    assert_int_equal(kafka_conn_read_partitions(c, topics, 1, &ps, &np), 0);
    assert_int_equal(np, 1);
    assert_string_equal(ps[0].topic, topic);
    assert_int_equal(ps[0].id, 0);
    assert_int_equal(ps[0].leader.id, 1);
    assert_int_equal(ps[0].n_replicas, 1);
    /* kafka_dial_partition with what read_partitions returned. */
    kafka_conn *c2;
    assert_int_equal(kafka_dial_partition(&c2, &ps[0], NULL, 10000), 0);
    int64_t last;
    assert_int_equal(kafka_conn_read_last_offset(c2, &last), 0);
    assert_int_equal(last, 0);
    kafka_conn_close(c2);
    kafka_free_partitions(ps);

    kafka_topic_config tc = {.topic = "never", .num_partitions = 1, .replication_factor = 1};
    if (kt_cluster_kind(kt) == KT_BROKER_RDKAFKA) {
        /* librdkafka's mock has no CreateTopics: a clean "no common version". */
        assert_int_equal(kafka_conn_create_topics(c, &tc, 1, 0), KAFKA_ERR_NO_COMMON_VERSION);
        assert_non_null(strstr(kafka_conn_last_error(c), "CreateTopics"));
    } else {
        /* kafka_mock has it (any broker answers, as the mock's controller) */
        char *created = kt_unique_topic("conn-created");
        tc.topic = created;
        assert_int_equal(kafka_conn_create_topics(c, &tc, 1, 0), 0);
        assert_int_equal(kafka_conn_create_topics(c, &tc, 1, 0), KAFKA_ERR_TOPIC_ALREADY_EXISTS);
        free(created);
    }
    /* ApiVersions: librdkafka's mock answered v0 after rejecting v3. */
    kafka_api_version *v;
    size_t n;
    assert_int_equal(kafka_conn_api_versions(c, &v, &n), 0);
    assert_true(n > 5);
    kafka_free_api_versions(v);
    kafka_conn_close(c);
    free(topic);
}

KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

static void test_pipelined_list_offsets(void **state)
{
    kt_cluster *kt = *state;
    char *topic;
    kafka_conn *c = leader_conn(kt, "conn-pipe", &topic);
    kafka_message m = {.value = "x", .value_len = 1};
    assert_int_equal(kafka_conn_write_messages(c, &m, 1, NULL, NULL), 0);
    /* Five ListOffsets in flight at once, alternating earliest/latest. */
    int32_t corr[5];
    int16_t ver[5];
    for (int i = 0; i < 5; i++) {
        kafka_list_offsets_request_list_offsets_partition p;
        kafka_list_offsets_request_list_offsets_partition_init(&p);
        p.partition_index = 0;
        p.timestamp = (i % 2) ? -1 : -2;
        kafka_list_offsets_request_list_offsets_topic t;
        kafka_list_offsets_request_list_offsets_topic_init(&t);
        t.name = kafka_str_c(topic);
        t.partitions = &p;
        t.partitions_count = 1;
        kafka_list_offsets_request req;
        kafka_list_offsets_request_init(&req);
        req.replica_id = -1;
        req.topics = &t;
        req.topics_count = 1;
        int16_t v = kafka_conn_version(c, KAFKA_API_LIST_OFFSETS, 1, INT16_MAX);
        assert_true(v >= 1);
        assert_int_equal(kafka_conn_send(c, KAFKA_API_LIST_OFFSETS, v, list_offsets_request_enc_, &req, &corr[i],
                                         &ver[i]),
                         0);
    }
    assert_int_equal(kafka_conn_in_flight(c), 5);
    for (int i = 0; i < 5; i++) {
        kafka_arena a;
        kafka_arena_init(&a, 0);
        kafka_list_offsets_response resp;
        kafka_list_offsets_response_init(&resp);
        assert_int_equal(kafka_conn_recv(c, corr[i], KAFKA_API_LIST_OFFSETS, ver[i], list_offsets_response_dec_,
                                         &resp, &a),
                         0);
        assert_int_equal(resp.topics_count, 1);
        assert_int_equal(resp.topics[0].partitions[0].offset, (i % 2) ? 1 : 0);
        kafka_arena_free(&a);
    }
    kafka_conn_close(c);
    free(topic);
}

static void test_deadline_with_rtt(void **state)
{
    kt_cluster *kt = *state;
    if (!kt_cluster_is_mock(kt))
        skip();
    char *topic;
    kafka_conn *c = leader_conn(kt, "conn-rtt", &topic);
    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 2000"), 0);
    kafka_conn_set_deadline(c, kafka_unix_ms() + 200);
    int64_t last;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), KAFKA_ERR_TIMEOUT);
    assert_int_equal(kafka_conn_read_last_offset(c, &last), KAFKA_ERR_CLOSED);
    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 0"), 0);
    kafka_conn_close(c);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_read_every_codec),
        cmocka_unit_test(test_offsets_and_seek),
        cmocka_unit_test(test_unknown_topic),
        cmocka_unit_test(test_metadata_calls),
        cmocka_unit_test(test_pipelined_list_offsets),
        cmocka_unit_test(test_deadline_with_rtt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
