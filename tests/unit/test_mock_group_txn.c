/* Transactional offset commits in the mock's group coordinator
 * (TxnOffsetCommit, KIP-98/KIP-447): offsets a transaction commits stay
 * invisible until the transaction commits, vanish if it aborts, make
 * OffsetFetch's require_stable answer UNSTABLE_OFFSET_COMMIT meanwhile, and
 * are checked against the group's members and the transaction
 * coordinator's view of the producer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/error.h"
#include "mock/mock_group.h"
#include "mock_group_harness.h"
#include "protocol/gen/all.h"

static struct {
    int calls;
    char txn_id[64], group[64];
    int64_t producer_id;
    int16_t epoch;
} seen;

/* The transaction coordinator of these tests: producer 42 is at epoch 3. */
static int check_producer(void *ctx, const char *transactional_id, int64_t producer_id, int16_t producer_epoch,
                          const char *group_id)
{
    assert_ptr_equal(ctx, &seen);
    seen.calls++;
    strncpy(seen.txn_id, transactional_id, sizeof seen.txn_id - 1);
    strncpy(seen.group, group_id, sizeof seen.group - 1);
    seen.producer_id = producer_id;
    seen.epoch = producer_epoch;
    if (producer_id != 42 && producer_id != 43)
        return KAFKA_ERR_INVALID_PRODUCER_ID_MAPPING;
    return producer_epoch < 3 ? KAFKA_ERR_PRODUCER_FENCED : 0;
}

static int partition_exists(void *ctx, const char *topic, int32_t partition)
{
    return strcmp(topic, "missing") == 0 ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION : 0;
}

static int setup(void **state)
{
    memset(&seen, 0, sizeof seen);
    kmock_groups_config cfg = {.partition_exists = partition_exists};
    return kt_mg_setup(&cfg);
}

static int teardown(void **state)
{
    kt_mg_teardown();
    return 0;
}

typedef struct txn_req {
    const char *group;
    int64_t producer_id;
    int16_t epoch;
    int32_t generation;
    const char *member;
    const char *topic;
    int64_t offset;
} txn_req;

/* One TxnOffsetCommit of partition 0; returns its error. */
static int16_t txn_commit_v(const txn_req *c, int16_t v)
{
    kafka_txn_offset_commit_request req;
    kafka_txn_offset_commit_request_init(&req);
    req.transactional_id = kafka_str_c("txn-1");
    req.group_id = kafka_str_c(c->group);
    req.producer_id = c->producer_id;
    req.producer_epoch = c->epoch;
    if (v >= 3) {
        req.generation_id = c->generation;
        req.member_id = kafka_str_c(c->member ? c->member : "");
    }
    kafka_txn_offset_commit_request_txn_offset_commit_request_partition p;
    kafka_txn_offset_commit_request_txn_offset_commit_request_partition_init(&p);
    p.committed_offset = c->offset;
    p.committed_metadata = kafka_str_c("txn-meta");
    kafka_txn_offset_commit_request_txn_offset_commit_request_topic t = {kafka_str_c(c->topic ? c->topic : "t"), &p,
                                                                         1};
    req.topics = &t;
    req.topics_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_TXN_OFFSET_COMMIT, &kafka_txn_offset_commit_request_msg, v, &req, &tok), 1);
    kafka_txn_offset_commit_response resp;
    kt_mg_take_reply(tok, &kafka_txn_offset_commit_response_msg, v, &resp);
    assert_int_equal(resp.topics_count, 1);
    assert_int_equal(resp.topics[0].partitions_count, 1);
    return resp.topics[0].partitions[0].error_code;
}

static int16_t txn_commit(const txn_req *c) { return txn_commit_v(c, 4); }

/* OffsetFetch v7 of partition 0 of t; *err gets the partition's error. */
static int64_t fetch(const char *group, bool require_stable, int16_t *err)
{
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c(group);
    int32_t part = 0;
    kafka_offset_fetch_request_offset_fetch_request_topic t = {kafka_str_c("t"), &part, 1};
    req.topics = &t;
    req.topics_count = 1;
    req.require_stable = require_stable;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_FETCH, &kafka_offset_fetch_request_msg, 7, &req, &tok), 1);
    kafka_offset_fetch_response resp;
    kt_mg_take_reply(tok, &kafka_offset_fetch_response_msg, 7, &resp);
    *err = resp.topics[0].partitions[0].error_code;
    return resp.topics[0].partitions[0].committed_offset;
}

/* A plain OffsetCommit v2 (simple, generation -1) of partition 0 of t. */
static void plain_commit(const char *group, int64_t offset)
{
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c(group);
    kafka_offset_commit_request_offset_commit_request_partition p;
    kafka_offset_commit_request_offset_commit_request_partition_init(&p);
    p.committed_offset = offset;
    kafka_offset_commit_request_offset_commit_request_topic t = {kafka_str_c("t"), &p, 1};
    req.topics = &t;
    req.topics_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_COMMIT, &kafka_offset_commit_request_msg, 2, &req, &tok), 1);
    kafka_offset_commit_response resp;
    kt_mg_take_reply(tok, &kafka_offset_commit_response_msg, 2, &resp);
    assert_int_equal(resp.topics[0].partitions[0].error_code, 0);
}

static void test_visible_when_committed(void **state)
{
    int16_t err;
    txn_req c = {.group = "tg", .producer_id = 42, .epoch = 3, .generation = -1, .offset = 10};
    assert_int_equal(txn_commit(&c), 0);
    assert_int_equal(fetch("tg", false, &err), -1); /* not yet visible */
    assert_int_equal(err, 0);
    assert_int_equal(fetch("tg", true, &err), -1);
    assert_int_equal(err, KAFKA_ERR_UNSTABLE_OFFSET_COMMIT);
    kmock_groups_end_txn(kt_mg_state.g, 42, true);
    assert_int_equal(fetch("tg", true, &err), 10);
    assert_int_equal(err, 0);
}

static void test_dropped_when_aborted(void **state)
{
    int16_t err;
    plain_commit("tg", 5);
    txn_req c = {.group = "tg", .producer_id = 42, .epoch = 3, .generation = -1, .offset = 10};
    assert_int_equal(txn_commit(&c), 0);
    assert_int_equal(fetch("tg", false, &err), 5);
    kmock_groups_end_txn(kt_mg_state.g, 43, true); /* another producer's end */
    assert_int_equal(fetch("tg", true, &err), -1);
    assert_int_equal(err, KAFKA_ERR_UNSTABLE_OFFSET_COMMIT);
    kmock_groups_end_txn(kt_mg_state.g, 42, false);
    assert_int_equal(fetch("tg", true, &err), 5);
    assert_int_equal(err, 0);
}

/* Two transactions on one partition: each becomes visible when its own
 * transaction commits, the later commit winning. */
static void test_two_producers(void **state)
{
    int16_t err;
    txn_req a = {.group = "tg", .producer_id = 42, .epoch = 3, .generation = -1, .offset = 10};
    txn_req b = {.group = "tg", .producer_id = 43, .epoch = 3, .generation = -1, .offset = 20};
    assert_int_equal(txn_commit(&a), 0);
    assert_int_equal(txn_commit(&b), 0);
    kmock_groups_end_txn(kt_mg_state.g, 43, true);
    assert_int_equal(fetch("tg", false, &err), 20);
    assert_int_equal(fetch("tg", true, &err), -1); /* 42's is still open */
    assert_int_equal(err, KAFKA_ERR_UNSTABLE_OFFSET_COMMIT);
    kmock_groups_end_txn(kt_mg_state.g, 42, true);
    assert_int_equal(fetch("tg", true, &err), 10);
}

static void test_producer_checked(void **state)
{
    kmock_groups_set_txn_check(kt_mg_state.g, check_producer, &seen);
    txn_req c = {.group = "tg", .producer_id = 42, .epoch = 2, .generation = -1, .offset = 1};
    assert_int_equal(txn_commit(&c), KAFKA_ERR_PRODUCER_FENCED);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.txn_id, "txn-1");
    assert_string_equal(seen.group, "tg");
    assert_int_equal(seen.producer_id, 42);
    assert_int_equal(seen.epoch, 2);
    c.producer_id = 7;
    c.epoch = 3;
    assert_int_equal(txn_commit(&c), KAFKA_ERR_INVALID_PRODUCER_ID_MAPPING);
    c.producer_id = 42;
    assert_int_equal(txn_commit(&c), 0);
}

static void test_group_checks(void **state)
{
    txn_req c = {.group = "", .producer_id = 42, .epoch = 3, .generation = -1, .offset = 1};
    assert_int_equal(txn_commit(&c), KAFKA_ERR_INVALID_GROUP_ID);
    c.group = "live";
    c.topic = "missing";
    assert_int_equal(txn_commit(&c), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    c.topic = NULL;

    /* a live classic group: a member alone, Stable */
    kafka_join_group_request j;
    kafka_join_group_request_init(&j);
    kafka_join_group_request_join_group_request_protocol p = {kafka_str_c("range"), {(const uint8_t *)"m", 1}};
    j.group_id = kafka_str_c("live");
    j.session_timeout_ms = 10000;
    j.rebalance_timeout_ms = 10000;
    j.protocol_type = kafka_str_c("consumer");
    j.protocols = &p;
    j.protocols_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_JOIN_GROUP, &kafka_join_group_request_msg, 3, &j, &tok), 1);
    kafka_join_group_response jr;
    kt_mg_take_reply(tok, &kafka_join_group_response_msg, 3, &jr);
    assert_int_equal(jr.error_code, 0);
    const char *member = kt_mg_dup(jr.member_id);

    c.member = member;
    c.generation = jr.generation_id + 1;
    assert_int_equal(txn_commit(&c), KAFKA_ERR_ILLEGAL_GENERATION);
    c.generation = jr.generation_id; /* CompletingRebalance is no obstacle to a transaction */
    assert_int_equal(txn_commit(&c), 0);
    c.member = "ghost";
    assert_int_equal(txn_commit(&c), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    /* before v3 a TxnOffsetCommit names no member and passes */
    assert_int_equal(txn_commit_v(&c, 2), 0);
}

static void test_every_version(void **state)
{
    int16_t err;
    for (int16_t v = 0; v <= 4; v++) {
        txn_req c = {.group = "tg", .producer_id = 42, .epoch = 3, .generation = -1, .offset = 100 + v};
        assert_int_equal(txn_commit_v(&c, v), 0);
        kmock_groups_end_txn(kt_mg_state.g, 42, true);
        assert_int_equal(fetch("tg", true, &err), 100 + v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_visible_when_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_when_aborted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_producers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
