/* The mock's group coordinator under hostile and chaotic input:
 *  - mutated request bodies of every group API and version are refused or
 *    answered, never read out of bounds (run under ASan in CI);
 *  - random interleavings of joins, syncs, heartbeats, leaves, commits and
 *    clock jumps by classic members (dynamic and static): every answer
 *    decodes at its request's version, no request is answered twice, and
 *    once every member has left and the sessions have run out, every
 *    deferred request has been answered (nothing hangs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/error.h"
#include "mock/mock_group.h"
#include "mock_group_harness.h"
#include "protocol/gen/all.h"
#include "rand_util.h"

static int setup(void **state)
{
    kmock_groups_config cfg = {.initial_rebalance_delay_ms = 500,
                               .min_session_timeout_ms = 1000,
                               .max_session_timeout_ms = 60000};
    return kt_mg_setup(&cfg);
}

static int teardown(void **state)
{
    kt_mg_teardown();
    return 0;
}

static void ignore_reply(void *ctx, uint64_t token, const uint8_t *body, size_t len)
{
    (void)ctx, (void)token, (void)body, (void)len;
}

/* One valid body per API, encoded at `v` (clamped to the schema). */
static void valid_body(int api, int16_t v, kafka_wbuf *w)
{
    kafka_str g = kafka_str_c("grp"), t = kafka_str_c("topic");
    int32_t part = 1;
    switch (api) {
    case KAFKA_API_JOIN_GROUP: {
        kafka_join_group_request r;
        kafka_join_group_request_init(&r);
        kafka_join_group_request_join_group_request_protocol p = {kafka_str_c("range"), {(const uint8_t *)"m", 1}};
        r.group_id = g;
        r.session_timeout_ms = 10000;
        r.protocol_type = kafka_str_c("consumer");
        r.protocols = &p;
        r.protocols_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_join_group_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_SYNC_GROUP: {
        kafka_sync_group_request r;
        kafka_sync_group_request_init(&r);
        kafka_sync_group_request_sync_group_request_assignment a = {kafka_str_c("m"), {(const uint8_t *)"x", 1}};
        r.group_id = g;
        r.member_id = kafka_str_c("m");
        r.assignments = &a;
        r.assignments_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_sync_group_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_HEARTBEAT: {
        kafka_heartbeat_request r;
        kafka_heartbeat_request_init(&r);
        r.group_id = g;
        r.member_id = kafka_str_c("m");
        assert_int_equal(kafka_gen_encode(w, &kafka_heartbeat_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_LEAVE_GROUP: {
        kafka_leave_group_request r;
        kafka_leave_group_request_init(&r);
        kafka_leave_group_request_member_identity id;
        kafka_leave_group_request_member_identity_init(&id);
        id.member_id = kafka_str_c("m");
        r.group_id = g;
        if (v >= 3) {
            r.members = &id;
            r.members_count = 1;
        } else {
            r.member_id = id.member_id;
        }
        assert_int_equal(kafka_gen_encode(w, &kafka_leave_group_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_OFFSET_COMMIT: {
        kafka_offset_commit_request r;
        kafka_offset_commit_request_init(&r);
        kafka_offset_commit_request_offset_commit_request_partition p;
        kafka_offset_commit_request_offset_commit_request_partition_init(&p);
        kafka_offset_commit_request_offset_commit_request_topic tp = {t, &p, 1};
        r.group_id = g;
        r.topics = &tp;
        r.topics_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_offset_commit_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_OFFSET_FETCH: {
        kafka_offset_fetch_request r;
        kafka_offset_fetch_request_init(&r);
        kafka_offset_fetch_request_offset_fetch_request_topic tp = {t, &part, 1};
        kafka_offset_fetch_request_offset_fetch_request_topics tps = {t, &part, 1};
        kafka_offset_fetch_request_offset_fetch_request_group grp;
        kafka_offset_fetch_request_offset_fetch_request_group_init(&grp);
        grp.group_id = g;
        grp.topics = &tps;
        grp.topics_count = 1;
        if (v >= 8) {
            r.groups = &grp;
            r.groups_count = 1;
        } else {
            r.group_id = g;
            r.topics = &tp;
            r.topics_count = 1;
        }
        assert_int_equal(kafka_gen_encode(w, &kafka_offset_fetch_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_OFFSET_DELETE: {
        kafka_offset_delete_request r;
        kafka_offset_delete_request_init(&r);
        kafka_offset_delete_request_offset_delete_request_partition p = {1};
        kafka_offset_delete_request_offset_delete_request_topic tp = {t, &p, 1};
        r.group_id = g;
        r.topics = &tp;
        r.topics_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_offset_delete_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_LIST_GROUPS: {
        kafka_list_groups_request r;
        kafka_list_groups_request_init(&r);
        kafka_str s = kafka_str_c("Stable");
        if (v >= 4) {
            r.states_filter = &s;
            r.states_filter_count = 1;
        }
        assert_int_equal(kafka_gen_encode(w, &kafka_list_groups_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_DESCRIBE_GROUPS: {
        kafka_describe_groups_request r;
        kafka_describe_groups_request_init(&r);
        r.groups = &g;
        r.groups_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_describe_groups_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_DELETE_GROUPS: {
        kafka_delete_groups_request r;
        kafka_delete_groups_request_init(&r);
        r.groups_names = &g;
        r.groups_names_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_delete_groups_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_TXN_OFFSET_COMMIT: {
        kafka_txn_offset_commit_request r;
        kafka_txn_offset_commit_request_init(&r);
        kafka_txn_offset_commit_request_txn_offset_commit_request_partition p;
        kafka_txn_offset_commit_request_txn_offset_commit_request_partition_init(&p);
        kafka_txn_offset_commit_request_txn_offset_commit_request_topic tp = {t, &p, 1};
        r.transactional_id = kafka_str_c("txn");
        r.group_id = g;
        r.topics = &tp;
        r.topics_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_txn_offset_commit_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_CONSUMER_GROUP_HEARTBEAT: {
        kafka_consumer_group_heartbeat_request r;
        kafka_consumer_group_heartbeat_request_init(&r);
        r.group_id = g;
        r.rebalance_timeout_ms = 1000;
        r.subscribed_topic_names = &t;
        r.subscribed_topic_names_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_consumer_group_heartbeat_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    case KAFKA_API_CONSUMER_GROUP_DESCRIBE: {
        kafka_consumer_group_describe_request r;
        kafka_consumer_group_describe_request_init(&r);
        r.group_ids = &g;
        r.group_ids_count = 1;
        assert_int_equal(kafka_gen_encode(w, &kafka_consumer_group_describe_request_msg, v, &r), KAFKA_ERR_OK);
        break;
    }
    default:
        fail();
    }
}

static void topics(void *ctx, kmock_topic_visit_fn visit, void *arg)
{
    static const uint8_t id[16] = {1};
    visit(arg, "topic", id, 4);
}

static const struct {
    int16_t api;
    int16_t max_version;
} APIS[] = {
    {KAFKA_API_JOIN_GROUP, 9},      {KAFKA_API_SYNC_GROUP, 5},       {KAFKA_API_HEARTBEAT, 4},
    {KAFKA_API_LEAVE_GROUP, 5},     {KAFKA_API_OFFSET_COMMIT, 9},    {KAFKA_API_OFFSET_FETCH, 9},
    {KAFKA_API_OFFSET_DELETE, 0},   {KAFKA_API_LIST_GROUPS, 5},      {KAFKA_API_DESCRIBE_GROUPS, 5},
    {KAFKA_API_DELETE_GROUPS, 2},   {KAFKA_API_CONSUMER_GROUP_HEARTBEAT, 1}, {KAFKA_API_CONSUMER_GROUP_DESCRIBE, 0},
    {KAFKA_API_TXN_OFFSET_COMMIT, 4},
};

/* Flipped bytes, truncations and garbage tails on valid bodies: handle
 * answers (1/0) or refuses (<0), nothing else, and ASan sees no bad read. */
static void test_mutated_bodies(void **state)
{
    kmock_groups_set_topics(kt_mg_state.g, topics, NULL);
    kt_rng rng = {0x5eed1234abcdull};
    for (size_t a = 0; a < sizeof APIS / sizeof APIS[0]; a++) {
        for (int16_t v = 0; v <= APIS[a].max_version; v++) {
            kafka_wbuf w;
            kafka_wbuf_init(&w);
            valid_body(APIS[a].api, v, &w);
            for (int round = 0; round < 200; round++) {
                size_t len = w.len;
                uint8_t *body = malloc(len + 16);
                assert_non_null(body);
                if (len)
                    memcpy(body, w.data, len);
                switch (len ? kt_rng_next(&rng) % 3 : 2) {
                case 0: /* flip a few bytes */
                    for (int k = 0; k < 3; k++)
                        body[kt_rng_next(&rng) % len] ^= (uint8_t)(1 + kt_rng_next(&rng) % 255);
                    break;
                case 1: /* truncate */
                    len = (size_t)(kt_rng_next(&rng) % len);
                    break;
                default: /* garbage tail */
                    for (int k = 0; k < 16; k++)
                        body[len + (size_t)k] = (uint8_t)kt_rng_next(&rng);
                    len += 16;
                }
                int rc = kmock_groups_handle(kt_mg_state.g, APIS[a].api, v, body, len, kt_mg_state.now,
                                             (uint64_t)round, ignore_reply, NULL);
                assert_true(rc == 1 || rc == 0 || rc < 0);
                free(body);
            }
            kafka_wbuf_free(&w);
        }
    }
}

/* ---- chaos ------------------------------------------------------------------- */

#define SLOTS 4
#define MAX_TOKENS 4096

typedef struct slot {
    char id[128];
    const char *instance; /* slots 0 and 1 are static members */
    int32_t generation;
    uint64_t join_token, sync_token; /* outstanding deferred requests */
    bool leader;
    char members[SLOTS][128]; /* the leader's view, for its SyncGroup */
    int n_members;
} slot;

static struct {
    int16_t api[MAX_TOKENS], version[MAX_TOKENS];
    int slot[MAX_TOKENS];
    bool answered[MAX_TOKENS];
    uint64_t sent;
    slot s[SLOTS];
    int joined, synced, deferred; /* how much of the protocol a run exercised */
} C;

static void remember(uint64_t tok, int16_t api, int16_t v, int who)
{
    assert_true(tok < MAX_TOKENS);
    C.api[tok] = api;
    C.version[tok] = v;
    C.slot[tok] = who;
}

static void forget_member(slot *s)
{
    s->id[0] = '\0';
    s->generation = -1;
    s->leader = false;
}

/* Decodes every new answer, checks it is the first for its token, and
 * updates the slots from it. */
static void drain(void)
{
    for (size_t i = 0; i < kt_mg_state.n_replies; i++) {
        kt_mg_reply *r = &kt_mg_state.replies[i];
        uint64_t tok = r->token;
        assert_true(tok < MAX_TOKENS);
        assert_false(C.answered[tok]);
        C.answered[tok] = true;
        slot *s = &C.s[C.slot[tok]];
        int16_t v = C.version[tok];
        switch (C.api[tok]) {
        case KAFKA_API_JOIN_GROUP: {
            kafka_join_group_response jr;
            kt_mg_take_reply(tok, &kafka_join_group_response_msg, v, &jr);
            if (s->join_token == tok)
                s->join_token = 0;
            C.joined += jr.error_code == 0;
            if (jr.error_code == KAFKA_ERR_MEMBER_ID_REQUIRED || jr.error_code == 0) {
                snprintf(s->id, sizeof s->id, "%.*s", (int)jr.member_id.len, jr.member_id.ptr);
                s->generation = jr.error_code ? -1 : jr.generation_id;
                s->leader = jr.error_code == 0 && kafka_str_eq_c(jr.leader, s->id) && jr.members_count > 0;
                s->n_members = 0;
                for (int m = 0; m < jr.members_count && m < SLOTS; m++)
                    snprintf(s->members[s->n_members++], 128, "%.*s", (int)jr.members[m].member_id.len,
                             jr.members[m].member_id.ptr);
            } else if (jr.error_code == KAFKA_ERR_UNKNOWN_MEMBER_ID || jr.error_code == KAFKA_ERR_FENCED_INSTANCE_ID) {
                forget_member(s);
            }
            break;
        }
        case KAFKA_API_SYNC_GROUP: {
            kafka_sync_group_response sr;
            kt_mg_take_reply(tok, &kafka_sync_group_response_msg, v, &sr);
            C.synced += sr.error_code == 0 && sr.assignment.len == 3;
            if (s->sync_token == tok)
                s->sync_token = 0;
            break;
        }
        case KAFKA_API_HEARTBEAT: {
            kafka_heartbeat_response hr;
            kt_mg_take_reply(tok, &kafka_heartbeat_response_msg, v, &hr);
            if (hr.error_code == KAFKA_ERR_UNKNOWN_MEMBER_ID)
                forget_member(s);
            break;
        }
        case KAFKA_API_LEAVE_GROUP: {
            kafka_leave_group_response lr;
            kt_mg_take_reply(tok, &kafka_leave_group_response_msg, v, &lr);
            break;
        }
        case KAFKA_API_OFFSET_COMMIT: {
            kafka_offset_commit_response cr;
            kt_mg_take_reply(tok, &kafka_offset_commit_response_msg, v, &cr);
            break;
        }
        default:
            fail();
        }
    }
    kt_mg_clear();
}

static uint64_t send_for(int who, int16_t api, const kafka_gen_message *m, int16_t v, const void *req, int *rc)
{
    uint64_t tok;
    *rc = kt_mg_send(api, m, v, req, &tok);
    assert_true(*rc == 0 || *rc == 1);
    C.deferred += *rc == 0;
    remember(tok, api, v, who);
    C.sent = tok;
    return tok;
}

static void chaos_join(int who, int16_t v)
{
    slot *s = &C.s[who];
    if (s->join_token)
        return; /* clients do not pipeline joins */
    kafka_join_group_request r;
    kafka_join_group_request_init(&r);
    kafka_join_group_request_join_group_request_protocol p = {kafka_str_c("range"), {(const uint8_t *)"meta", 4}};
    r.group_id = kafka_str_c("chaos");
    r.session_timeout_ms = 6000;
    r.rebalance_timeout_ms = 8000;
    r.member_id = kafka_str_c(s->id);
    r.group_instance_id = kafka_str_c(v >= 5 ? s->instance : NULL);
    r.protocol_type = kafka_str_c("consumer");
    r.protocols = &p;
    r.protocols_count = 1;
    int rc;
    uint64_t tok = send_for(who, KAFKA_API_JOIN_GROUP, &kafka_join_group_request_msg, v, &r, &rc);
    if (rc == 0)
        s->join_token = tok;
}

static void chaos_sync(int who, int16_t v)
{
    slot *s = &C.s[who];
    if (s->sync_token || s->id[0] == '\0')
        return;
    kafka_sync_group_request r;
    kafka_sync_group_request_init(&r);
    kafka_sync_group_request_sync_group_request_assignment as[SLOTS];
    r.group_id = kafka_str_c("chaos");
    r.generation_id = s->generation;
    r.member_id = kafka_str_c(s->id);
    r.group_instance_id = kafka_str_c(v >= 3 ? s->instance : NULL);
    if (s->leader) {
        for (int m = 0; m < s->n_members; m++) {
            as[m].member_id = kafka_str_c(s->members[m]);
            as[m].assignment = (kafka_bytes){(const uint8_t *)"asg", 3};
        }
        r.assignments = as;
        r.assignments_count = s->n_members;
    }
    int rc;
    uint64_t tok = send_for(who, KAFKA_API_SYNC_GROUP, &kafka_sync_group_request_msg, v, &r, &rc);
    if (rc == 0)
        s->sync_token = tok;
}

static void chaos_heartbeat(int who, int16_t v)
{
    slot *s = &C.s[who];
    kafka_heartbeat_request r;
    kafka_heartbeat_request_init(&r);
    r.group_id = kafka_str_c("chaos");
    r.generation_id = s->generation;
    r.member_id = kafka_str_c(s->id);
    r.group_instance_id = kafka_str_c(v >= 3 ? s->instance : NULL);
    int rc;
    (void)send_for(who, KAFKA_API_HEARTBEAT, &kafka_heartbeat_request_msg, v, &r, &rc);
    assert_int_equal(rc, 1);
}

static void chaos_leave(int who, int16_t v)
{
    slot *s = &C.s[who];
    kafka_leave_group_request r;
    kafka_leave_group_request_init(&r);
    kafka_leave_group_request_member_identity id;
    kafka_leave_group_request_member_identity_init(&id);
    id.member_id = kafka_str_c(s->id);
    id.group_instance_id = kafka_str_c(s->instance);
    r.group_id = kafka_str_c("chaos");
    if (v >= 3) {
        r.members = &id;
        r.members_count = 1;
    } else {
        r.member_id = id.member_id;
    }
    int rc;
    (void)send_for(who, KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, v, &r, &rc);
    assert_int_equal(rc, 1);
}

static void chaos_commit(int who, int16_t v)
{
    slot *s = &C.s[who];
    kafka_offset_commit_request r;
    kafka_offset_commit_request_init(&r);
    kafka_offset_commit_request_offset_commit_request_partition p;
    kafka_offset_commit_request_offset_commit_request_partition_init(&p);
    p.committed_offset = (int64_t)C.sent;
    kafka_offset_commit_request_offset_commit_request_topic t = {kafka_str_c("t"), &p, 1};
    r.group_id = kafka_str_c("chaos");
    r.generation_id_or_member_epoch = s->generation;
    r.member_id = kafka_str_c(s->id);
    r.topics = &t;
    r.topics_count = 1;
    int rc;
    (void)send_for(who, KAFKA_API_OFFSET_COMMIT, &kafka_offset_commit_request_msg, v, &r, &rc);
    assert_int_equal(rc, 1);
}

static void test_chaos_nothing_hangs(void **state)
{
    memset(&C, 0, sizeof C);
    for (int i = 0; i < SLOTS; i++) {
        forget_member(&C.s[i]);
        C.s[i].instance = i == 0 ? "static-0" : i == 1 ? "static-1" : NULL;
    }
    kt_rng rng = {0xc4a05ull};
    for (int step = 0; step < 3000; step++) {
        int who = (int)(kt_rng_next(&rng) % SLOTS);
        uint64_t op = kt_rng_next(&rng) % 100;
        int16_t v = (int16_t)(kt_rng_next(&rng) % 10);
        if (op < 30)
            chaos_join(who, v);
        else if (op < 50)
            chaos_sync(who, v > 5 ? 5 : v);
        else if (op < 75)
            chaos_heartbeat(who, v > 4 ? 4 : v);
        else if (op < 80)
            chaos_leave(who, v > 5 ? 5 : v);
        else if (op < 88)
            chaos_commit(who, v);
        else
            kt_mg_advance((int64_t)(kt_rng_next(&rng) % 4000));
        drain();
    }
    /* everyone leaves; the clock runs past every timeout */
    for (int i = 0; i < SLOTS; i++) {
        chaos_leave(i, 5);
        drain();
    }
    for (int i = 0; i < 20; i++) {
        kt_mg_advance(30000);
        drain();
    }
    for (uint64_t tok = 1; tok <= C.sent; tok++)
        if (!C.answered[tok])
            fail_msg("request %llu (api %d v%d) was never answered", (unsigned long long)tok, C.api[tok],
                     C.version[tok]);
    assert_int_equal(kmock_groups_tick(kt_mg_state.g, kt_mg_state.now), INT64_MAX);
    /* the run went through rebalances, not just errors */
    assert_true(C.joined > 50);
    assert_true(C.synced > 20);
    assert_true(C.deferred > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mutated_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chaos_nothing_hangs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
