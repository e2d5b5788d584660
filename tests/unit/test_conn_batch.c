/* kafka_conn_read_batch against a scripted peer (no broker): what a
 * read-committed batch delivers when the Fetch answer carries aborted
 * transactions, what a read-uncommitted one delivers from the same bytes,
 * and that skipped batches move the position (a Fetch answer holding only
 * an aborted transaction must not be fetched again and again). Expected
 * values are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "conn_peer.h"
#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "protocol/api.h"
#include "protocol/gen/fetch.h"
#include "batch_util.h"
#include "protocol/record_batch.h"

static void add_batch(kafka_wbuf *w, int64_t base, int64_t pid, bool txn, const char *const *vals, int n)
{
    assert_int_equal(kt_add_batch(w, base, pid, txn, vals, n), 0);
}

/* Offsets 0-10: producer 7 commits c0 c1 c2, producer 9 aborts a0 a1 a2
 * then commits k0, n0 is not transactional; markers at 7, 8 and 10. */
static void log_mixed(kafka_wbuf *w)
{
    const char *p7a[] = {"c0", "c1"}, *p9a[] = {"a0", "a1"}, *plain[] = {"n0"};
    const char *p7b[] = {"c2"}, *p9b[] = {"a2"}, *p9c[] = {"k0"};
    add_batch(w, 0, 7, true, p7a, 2);
    add_batch(w, 2, 9, true, p9a, 2);
    add_batch(w, 4, 0, false, plain, 1);
    add_batch(w, 5, 7, true, p7b, 1);
    add_batch(w, 6, 9, true, p9b, 1);
    assert_int_equal(kafka_control_batch_encode(w, 7, 7, 0, KAFKA_CONTROL_COMMIT, 0, 1000), 0);
    assert_int_equal(kafka_control_batch_encode(w, 8, 9, 0, KAFKA_CONTROL_ABORT, 0, 1000), 0);
    add_batch(w, 9, 9, true, p9c, 1);
    assert_int_equal(kafka_control_batch_encode(w, 10, 9, 0, KAFKA_CONTROL_COMMIT, 0, 1000), 0);
}

/* Offsets 11-13: producer 9 aborts b0 b1; its marker at 13. */
static void log_aborted_only(kafka_wbuf *w)
{
    const char *p9[] = {"b0", "b1"};
    add_batch(w, 11, 9, true, p9, 2);
    assert_int_equal(kafka_control_batch_encode(w, 13, 9, 0, KAFKA_CONTROL_ABORT, 0, 1000), 0);
}

/* Answers Fetch request req for partition 0 of "t" (high-water mark and
 * last stable offset 20) with the record bytes in recs and the aborted
 * list ab (n entries, -1 = null), in the request's version. 0 or -1. */
static int respond_fetch(kt_peer *p, const kt_request *req, const kafka_wbuf *recs,
                         kafka_fetch_response_aborted_transaction *ab, int32_t n)
{
    return kt_peer_fetch_answer(p, req, "t", recs, 20, ab, n) ? -1 : 0;
}

typedef struct fetch_script {
    int8_t isolation[3]; /* isolation_level of each Fetch seen */
    int64_t offset[3];   /* fetch_offset of each Fetch seen */
    int fetches;
} fetch_script;

/* Answers Fetch 1 and 2 with log_mixed (aborted list: producer 9 from
 * offset 2, and a second entry out of order, which the client must sort),
 * Fetch 3 with log_aborted_only (producer 9 from 11). */
static int script_fetch(kt_peer *p, void *arg)
{
    fetch_script *fs = arg;
    if (kt_peer_handshake_all(p))
        return -1;
    kt_request req;
    while (fs->fetches < 3 && kt_peer_read(p, &req) == 0) {
        if (req.api_key != KAFKA_API_FETCH) {
            kt_request_free(&req);
            return -1;
        }
        kafka_arena arena;
        kafka_arena_init(&arena, 0);
        kafka_rbuf rb;
        kafka_rbuf_init(&rb, req.body, req.body_len);
        kafka_fetch_request fr;
        kafka_fetch_request_init(&fr);
        int rc = kafka_fetch_request_decode(&rb, &arena, req.api_version, &fr) ? -1 : 0;
        if (!rc && fr.topics_count == 1 && fr.topics[0].partitions_count == 1) {
            fs->isolation[fs->fetches] = fr.isolation_level;
            fs->offset[fs->fetches] = fr.topics[0].partitions[0].fetch_offset;
        }
        kafka_wbuf recs;
        kafka_wbuf_init(&recs);
        kafka_fetch_response_aborted_transaction ab[2] = {{.producer_id = 5, .first_offset = 100},
                                                          {.producer_id = 9, .first_offset = 2}};
        if (fs->fetches < 2) {
            log_mixed(&recs);
        } else {
            log_aborted_only(&recs);
            ab[1].first_offset = 11;
        }
        if (!rc)
            rc = respond_fetch(p, &req, &recs, ab, 2);
        kafka_wbuf_free(&recs);
        kafka_arena_free(&arena);
        kt_request_free(&req);
        fs->fetches++;
        if (rc)
            return -1;
    }
    return kt_peer_wait_eof(p);
}

/* Reads the whole batch; returns the number of messages, their values
 * joined with ',' in out. */
static int read_all(kafka_batch *b, char *out, size_t cap)
{
    int n = 0;
    out[0] = '\0';
    kafka_message m;
    kafka_err err;
    while ((err = kafka_batch_read_message(b, &m)) == 0) {
        size_t len = strlen(out);
        assert_true(len + m.value_len + 2 < cap);
        if (n)
            out[len++] = ',';
        memcpy(out + len, m.value, m.value_len);
        out[len + m.value_len] = '\0';
        n++;
    }
    assert_int_equal(err, KAFKA_ERR_END_OF_PARTITION);
    return n;
}

static void test_read_committed_filters_aborted(void **state)
{
    (void)state;
    fetch_script fs = {0};
    kt_peer *p = kt_peer_start(script_fetch, &fs);
    kafka_dialer_config d = {.transport = kt_peer_transport(p)};
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial(&c, "peer:9092", &d, 5000), 0);
    assert_int_equal(kafka_conn_bind(c, "t", 0), 0);
    char got[128];

    kafka_read_batch_config committed = {.read_committed = true, .max_wait_ms = 1};
    kafka_batch *b = NULL;
    assert_int_equal(kafka_conn_read_batch_with(c, &committed, &b), 0);
    assert_int_equal(read_all(b, got, sizeof got), 5);
    assert_string_equal(got, "c0,c1,n0,c2,k0");
    assert_int_equal(kafka_batch_offset(b), 11); /* past the last marker */
    assert_int_equal(kafka_batch_close(b), 0);

    /* the same bytes, read uncommitted: everything but the markers */
    assert_int_equal(kafka_conn_seek(c, 0, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, NULL), 0);
    kafka_read_batch_config uncommitted = {.max_wait_ms = 1};
    assert_int_equal(kafka_conn_read_batch_with(c, &uncommitted, &b), 0);
    assert_int_equal(read_all(b, got, sizeof got), 8);
    assert_string_equal(got, "c0,c1,a0,a1,n0,c2,a2,k0");
    assert_int_equal(kafka_batch_close(b), 0);

    /* an answer with nothing committed moves the position past it */
    assert_int_equal(kafka_conn_seek(c, 11, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, NULL), 0);
    assert_int_equal(kafka_conn_read_batch_with(c, &committed, &b), 0);
    assert_int_equal(read_all(b, got, sizeof got), 0);
    assert_int_equal(kafka_batch_offset(b), 14);
    assert_int_equal(kafka_batch_close(b), 0);
    assert_int_equal(kafka_conn_offset(c), 14);

    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    assert_int_equal(fs.fetches, 3);
    assert_int_equal(fs.isolation[0], 1);
    assert_int_equal(fs.isolation[1], 0);
    assert_int_equal(fs.isolation[2], 1);
    assert_int_equal(fs.offset[0], 0);
    assert_int_equal(fs.offset[1], 0);
    assert_int_equal(fs.offset[2], 11);
}

/* One Fetch answer holding only a control batch (a commit marker) at
 * offset INT64_MAX, as a hostile or broken broker could send it. */
typedef struct marker_script {
    int fetches;
} marker_script;

static int script_marker_at_max(kt_peer *p, void *arg)
{
    marker_script *ms = arg;
    if (kt_peer_handshake_all(p))
        return -1;
    kt_request req;
    while (ms->fetches < 1 && kt_peer_read(p, &req) == 0) {
        if (req.api_key != KAFKA_API_FETCH) {
            kt_request_free(&req);
            return -1;
        }
        kafka_wbuf recs;
        kafka_wbuf_init(&recs);
        int rc = kafka_control_batch_encode(&recs, INT64_MAX, 9, 0, KAFKA_CONTROL_COMMIT, 0, 1000) ? -1 : 0;
        if (!rc)
            rc = respond_fetch(p, &req, &recs, NULL, -1);
        kafka_wbuf_free(&recs);
        kt_request_free(&req);
        ms->fetches++;
        if (rc)
            return -1;
    }
    return kt_peer_wait_eof(p);
}

/* Skipping a control batch at offset INT64_MAX must not overflow int64
 * computing the position past it (undefined behaviour, an abort in the
 * sanitizer build); the position stays where it was, as no offset can
 * follow INT64_MAX. */
static void test_marker_at_max_offset(void **state)
{
    (void)state;
    marker_script ms = {0};
    kt_peer *p = kt_peer_start(script_marker_at_max, &ms);
    kafka_dialer_config d = {.transport = kt_peer_transport(p)};
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial(&c, "peer:9092", &d, 5000), 0);
    assert_int_equal(kafka_conn_bind(c, "t", 0), 0);
    assert_int_equal(kafka_conn_seek(c, 5, KAFKA_SEEK_ABSOLUTE | KAFKA_SEEK_DONT_CHECK, NULL), 0);
    kafka_read_batch_config uncommitted = {.max_wait_ms = 1};
    kafka_batch *b = NULL;
    assert_int_equal(kafka_conn_read_batch_with(c, &uncommitted, &b), 0);
    char got[16];
    assert_int_equal(read_all(b, got, sizeof got), 0);
    assert_int_equal(kafka_batch_offset(b), 5);
    assert_int_equal(kafka_batch_close(b), 0);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    assert_int_equal(ms.fetches, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_committed_filters_aborted),
        cmocka_unit_test(test_marker_at_max_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
