/* kafka_reader (partition mode) against a scripted broker over the
 * pluggable transport, no broker process: read-committed delivers the
 * committed and non-transactional records and none of an aborted
 * transaction's, read-uncommitted delivers them all, control batches never
 * reach the application, and each mode sends its isolation level in Fetch.
 * The test broker (librdkafka's mock) sends no aborted-transactions list,
 * so this is where the reader's read-committed path is checked end to end.
 * The log is written with the record-batch builder and control-batch
 * encoder; the expected values are spelled out by hand. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "batch_util.h"
#include "common/arena.h"
#include "conn_peer.h"
#include "kafka/kafka.h"
#include "protocol/api.h"
#include "protocol/gen/fetch.h"
#include "protocol/gen/list_offsets.h"
#include "protocol/record_batch.h"

/* Offsets 0-13 of partition 0 of "t": producer 7 commits c0 c1 c2,
 * producer 9 aborts a0 a1 a2, then commits k0, then aborts b0 b1; n0 is
 * not transactional; markers at 7 (commit 7), 8 (abort 9), 10 (commit 9),
 * 13 (abort 9). */
#define LOG_END 14

static void write_log(kafka_wbuf *w)
{
    const char *p7a[] = {"c0", "c1"}, *p9a[] = {"a0", "a1"}, *plain[] = {"n0"};
    const char *p7b[] = {"c2"}, *p9b[] = {"a2"}, *p9c[] = {"k0"}, *p9d[] = {"b0", "b1"};
    assert_int_equal(kt_add_batch(w, 0, 7, true, p7a, 2), 0);
    assert_int_equal(kt_add_batch(w, 2, 9, true, p9a, 2), 0);
    assert_int_equal(kt_add_batch(w, 4, 0, false, plain, 1), 0);
    assert_int_equal(kt_add_batch(w, 5, 7, true, p7b, 1), 0);
    assert_int_equal(kt_add_batch(w, 6, 9, true, p9b, 1), 0);
    assert_int_equal(kafka_control_batch_encode(w, 7, 7, 0, KAFKA_CONTROL_COMMIT, 0, 1000), 0);
    assert_int_equal(kafka_control_batch_encode(w, 8, 9, 0, KAFKA_CONTROL_ABORT, 0, 1000), 0);
    assert_int_equal(kt_add_batch(w, 9, 9, true, p9c, 1), 0);
    assert_int_equal(kafka_control_batch_encode(w, 10, 9, 0, KAFKA_CONTROL_COMMIT, 0, 1000), 0);
    assert_int_equal(kt_add_batch(w, 11, 9, true, p9d, 2), 0);
    assert_int_equal(kafka_control_batch_encode(w, 13, 9, 0, KAFKA_CONTROL_ABORT, 0, 1000), 0);
}

/* What the broker saw (every connection's script writes here). */
typedef struct broker_state {
    pthread_mutex_t mu;
    int fetches;
    int isolation_seen[2]; /* Fetch requests per isolation level */
} broker_state;

/* Versions offered: all non-flexible (Metadata < 9, ListOffsets < 6,
 * Fetch < 12), Fetch >= 4 (isolation level, aborted transactions). */
static const int16_t g_versions[][3] = {{KAFKA_API_API_VERSIONS, 0, 3},
                                        {KAFKA_API_METADATA, 1, 8},
                                        {KAFKA_API_LIST_OFFSETS, 1, 5},
                                        {KAFKA_API_FETCH, 4, 11}};

/* Earliest (-2) is 0; anything else is the end of the log. */
static int serve_list_offsets(kt_peer *p, const kt_request *req)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, req->body, req->body_len);
    kafka_list_offsets_request lr;
    kafka_list_offsets_request_init(&lr);
    int rc = -1;
    if (kafka_list_offsets_request_decode(&rb, &arena, req->api_version, &lr) == 0 && lr.topics_count == 1 &&
        lr.topics[0].partitions_count == 1) {
        kafka_list_offsets_response_list_offsets_partition_response pr;
        kafka_list_offsets_response_list_offsets_partition_response_init(&pr);
        pr.partition_index = 0;
        pr.offset = lr.topics[0].partitions[0].timestamp == -2 ? 0 : LOG_END;
        pr.timestamp = -1;
        kafka_list_offsets_response_list_offsets_topic_response tr;
        kafka_list_offsets_response_list_offsets_topic_response_init(&tr);
        tr.name = kafka_str_c("t");
        tr.partitions = &pr;
        tr.partitions_count = 1;
        kafka_list_offsets_response resp;
        kafka_list_offsets_response_init(&resp);
        resp.topics = &tr;
        resp.topics_count = 1;
        rc = kt_peer_answer(p, req, &resp);
    }
    kafka_arena_free(&arena);
    return rc;
}

/* Below the end of the log: the whole log (records before the fetch
 * offset are the client's to skip, as with Kafka's compressed batches),
 * high-water mark and last stable offset LOG_END, the aborted list of
 * producer 9 (from 2 and from 11). At the end: nothing, after a short
 * wait (Kafka would wait max_wait). */
static int serve_fetch(kt_peer *p, const kt_request *req, broker_state *bs)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, req->body, req->body_len);
    kafka_fetch_request fr;
    kafka_fetch_request_init(&fr);
    if (kafka_fetch_request_decode(&rb, &arena, req->api_version, &fr) || fr.topics_count != 1 ||
        fr.topics[0].partitions_count != 1) {
        fprintf(stderr, "scripted broker: Fetch with %d topics\n", (int)fr.topics_count);
        kafka_arena_free(&arena);
        return -1;
    }
    int64_t at = fr.topics[0].partitions[0].fetch_offset;
    pthread_mutex_lock(&bs->mu);
    bs->fetches++;
    if (fr.isolation_level == 0 || fr.isolation_level == 1)
        bs->isolation_seen[fr.isolation_level]++;
    pthread_mutex_unlock(&bs->mu);
    kafka_wbuf recs;
    kafka_wbuf_init(&recs);
    if (at < LOG_END)
        write_log(&recs);
    else
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    kafka_fetch_response_aborted_transaction ab[2] = {{.producer_id = 9, .first_offset = 2},
                                                      {.producer_id = 9, .first_offset = 11}};
    bool committed = fr.isolation_level == 1;
    int rc = kt_peer_fetch_answer(p, req, "t", &recs, LOG_END, committed ? ab : NULL, committed ? 2 : -1);
    kafka_wbuf_free(&recs);
    kafka_arena_free(&arena);
    return rc;
}

/* Every connection's requests, until the client closes it. */
static int handle(kt_peer *p, const kt_request *req, void *arg)
{
    int rc = kt_peer_answer_common(p, req, g_versions, sizeof g_versions / sizeof g_versions[0], "t");
    if (rc != 2)
        return rc;
    switch (req->api_key) {
    case KAFKA_API_LIST_OFFSETS: return serve_list_offsets(p, req);
    case KAFKA_API_FETCH: return serve_fetch(p, req, arg);
    default: return -1; /* kt_peer_serve names it; the join fails */
    }
}

static int serve(kt_peer *p, void *arg) { return kt_peer_serve(p, handle, arg); }

/* Reads until `want` messages or a 3 s gap; returns them joined by ' '. */
static void read_values(kafka_isolation_level iso, int want, char *out, size_t cap, broker_state *bs)
{
    kt_peer *peer = kt_peer_start_each(serve, bs);
    assert_non_null(peer);
    kafka_dialer_config dc = {.transport = kt_peer_transport(peer)};
    kafka_reader *r = NULL;
    char err[256] = "";
    kafka_err e = kafka_reader_new(&r,
                                   &(kafka_reader_config){.brokers = "peer:9092", .topic = "t", .dialer = &dc,
                                                          .isolation_level = iso, .max_wait_ms = 100,
                                                          .start_offset = KAFKA_START_FIRST},
                                   err, sizeof err);
    if (e)
        fail_msg("kafka_reader_new: %s: %s", kafka_err_name(e), err);
    out[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < want; i++) {
        kafka_message m;
        e = kafka_reader_read_message(r, &m, 3000);
        if (e)
            break;
        len += (size_t)snprintf(out + len, cap - len, "%s%.*s@%lld", i ? " " : "", (int)m.value_len,
                                (const char *)m.value, (long long)m.offset);
        assert_true(len < cap);
    }
    assert_int_equal(kafka_reader_close(r), 0);
    assert_int_equal(kt_peer_join(peer), 0);
}

static void test_read_committed(void **state)
{
    (void)state;
    broker_state bs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char got[512];
    /* One more than there are: the reader must stop at k0 and wait. */
    read_values(KAFKA_READ_COMMITTED, 6, got, sizeof got, &bs);
    assert_string_equal(got, "c0@0 c1@1 n0@4 c2@5 k0@9");
    assert_true(bs.fetches >= 1);
    assert_int_equal(bs.isolation_seen[0], 0);
    assert_int_equal(bs.isolation_seen[1], bs.fetches);
}

static void test_read_uncommitted(void **state)
{
    (void)state;
    broker_state bs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char got[512];
    read_values(KAFKA_READ_UNCOMMITTED, 11, got, sizeof got, &bs);
    /* Every data record, in order; no control record. */
    assert_string_equal(got, "c0@0 c1@1 a0@2 a1@3 n0@4 c2@5 a2@6 k0@9 b0@11 b1@12");
    assert_int_equal(bs.isolation_seen[1], 0);
    assert_int_equal(bs.isolation_seen[0], bs.fetches);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_committed),
        cmocka_unit_test(test_read_uncommitted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
