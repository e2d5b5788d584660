/* kafka_writer against a scripted broker over the pluggable transport, no
 * broker process: when the answer to an idempotent Produce is lost (the
 * connection drops after the request was read, as when a broker stored
 * the batch and went down), the writer resends the very batch: same
 * producer id, epoch, base sequence and records, which is what lets a
 * Kafka broker deduplicate it. (librdkafka's mock, the test broker, does
 * not deduplicate idempotent resends; integration/test_writer.c
 * test_probe_broker_dedup records that broker behaviour.) The batch
 * header fields are read at their offsets in the v2 record-batch layout,
 * written out here from the protocol guide. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "conn_peer.h"
#include "kafka/kafka.h"
#include "protocol/api.h"
#include "protocol/gen/init_producer_id.h"
#include "protocol/gen/produce.h"

#define MAX_SENDS 4

/* One Produce as the broker saw it. */
typedef struct sent_batch {
    int64_t producer_id;
    int16_t epoch;
    int32_t base_seq;
    int32_t count;
    uint8_t records[256]; /* the bytes after the 61-byte header */
    size_t records_len;
} sent_batch;

typedef struct broker_state {
    pthread_mutex_t mu;
    sent_batch sent[MAX_SENDS];
    int n_sent;
} broker_state;

/* Non-flexible versions only; Produce v3+ carries producer ids. */
static const int16_t g_versions[][3] = {{KAFKA_API_API_VERSIONS, 0, 3},
                                        {KAFKA_API_METADATA, 1, 8},
                                        {KAFKA_API_INIT_PRODUCER_ID, 0, 1},
                                        {KAFKA_API_PRODUCE, 3, 8}};

static int64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int serve_init_pid(kt_peer *p, const kt_request *req)
{
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_response_init(&resp);
    resp.producer_id = 4242;
    resp.producer_epoch = 3;
    return kt_peer_answer(p, req, &resp);
}

/* Records the batch; the first one gets no answer (the connection drops),
 * later ones are acknowledged at offset 0. Returns 1 after the hang-up. */
static int serve_produce(kt_peer *p, const kt_request *req, broker_state *bs)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, req->body, req->body_len);
    kafka_produce_request pr;
    kafka_produce_request_init(&pr);
    if (kafka_produce_request_decode(&rb, &arena, req->api_version, &pr) || pr.topic_data_count != 1 ||
        pr.topic_data[0].partition_data_count != 1) {
        kafka_arena_free(&arena);
        return -1;
    }
    kafka_bytes recs = pr.topic_data[0].partition_data[0].records;
    pthread_mutex_lock(&bs->mu);
    int n = bs->n_sent;
    if (n < MAX_SENDS && recs.len >= 61 && (size_t)recs.len - 61 <= sizeof bs->sent[n].records) {
        sent_batch *s = &bs->sent[n];
        const uint8_t *b = recs.ptr;
        s->producer_id = be(b + 43, 8);
        s->epoch = (int16_t)be(b + 51, 2);
        s->base_seq = (int32_t)be(b + 53, 4);
        s->count = (int32_t)be(b + 57, 4);
        s->records_len = (size_t)recs.len - 61;
        memcpy(s->records, b + 61, s->records_len);
        bs->n_sent++;
    }
    pthread_mutex_unlock(&bs->mu);
    if (n == 0) { /* the answer is lost */
        kafka_arena_free(&arena);
        kt_peer_hangup(p);
        return 1;
    }
    kafka_produce_response_partition_produce_response pp;
    kafka_produce_response_partition_produce_response_init(&pp);
    pp.index = 0;
    pp.base_offset = 0;
    kafka_produce_response_topic_produce_response tp;
    kafka_produce_response_topic_produce_response_init(&tp);
    tp.name = pr.topic_data[0].name;
    tp.partition_responses = &pp;
    tp.partition_responses_count = 1;
    kafka_produce_response resp;
    kafka_produce_response_init(&resp);
    resp.responses = &tp;
    resp.responses_count = 1;
    int rc = kt_peer_answer(p, req, &resp);
    kafka_arena_free(&arena);
    return rc;
}

static int handle(kt_peer *p, const kt_request *req, void *arg)
{
    int rc = kt_peer_answer_common(p, req, g_versions, sizeof g_versions / sizeof g_versions[0], "t");
    if (rc != 2)
        return rc;
    switch (req->api_key) {
    case KAFKA_API_INIT_PRODUCER_ID: return serve_init_pid(p, req);
    case KAFKA_API_PRODUCE: return serve_produce(p, req, arg);
    default: return -1; /* kt_peer_serve names it; the join fails */
    }
}

static int serve(kt_peer *p, void *arg) { return kt_peer_serve(p, handle, arg); }

static void test_lost_answer_resends_same_batch(void **state)
{
    (void)state;
    broker_state bs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kt_peer *peer = kt_peer_start_each(serve, &bs);
    assert_non_null(peer);
    kafka_dialer_config dc = {.transport = kt_peer_transport(peer)};
    kafka_writer *w = NULL;
    char err[256] = "";
    kafka_err e = kafka_writer_new(&w,
                                   &(kafka_writer_config){.brokers = "peer:9092", .topic = "t", .dialer = &dc,
                                                          .backoff_min_ms = 1, .backoff_max_ms = 5},
                                   err, sizeof err);
    if (e)
        fail_msg("kafka_writer_new: %s: %s", kafka_err_name(e), err);
    kafka_message m[2] = {{.key = "k", .key_len = 1, .value = "first", .value_len = 5},
                          {.key = "k", .key_len = 1, .value = "second", .value_len = 6}};
    kafka_err errs[2] = {1, 1};
    assert_int_equal(kafka_writer_write_messages(w, m, 2, errs, 10000), 0);
    assert_int_equal(errs[0], 0);
    assert_int_equal(errs[1], 0);
    kafka_writer_stats st;
    kafka_writer_stats_get(w, &st);
    assert_true(st.idempotent);
    assert_int_equal(st.producer_id, 4242);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    assert_int_equal(kt_peer_join(peer), 0);
    /* Sent twice: the lost one and its resend, identical where it counts. */
    assert_int_equal(bs.n_sent, 2);
    const sent_batch *a = &bs.sent[0], *b = &bs.sent[1];
    assert_int_equal(a->producer_id, 4242);
    assert_int_equal(a->epoch, 3);
    assert_int_equal(a->base_seq, 0);
    assert_int_equal(a->count, 2);
    assert_int_equal(b->producer_id, a->producer_id);
    assert_int_equal(b->epoch, a->epoch);
    assert_int_equal(b->base_seq, a->base_seq);
    assert_int_equal(b->count, a->count);
    assert_int_equal(b->records_len, a->records_len);
    assert_memory_equal(b->records, a->records, a->records_len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_answer_resends_same_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
