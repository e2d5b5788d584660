/* KIP-848 consumer groups in the mock's group coordinator: the
 * ConsumerGroupHeartbeat protocol (member and group epochs, server-side
 * assignment, revoke-before-assign reconciliation, fencing, static
 * members), ConsumerGroupDescribe, and how the offset and admin APIs treat
 * these groups. Expected behaviour is KIP-848's (and Kafka 4.0's error
 * codes), driven with encoded requests and a fake clock. */
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

/* ---- the cluster's topics ---------------------------------------------------- */

typedef struct topic {
    const char *name;
    uint8_t id;
    int32_t partitions;
} topic;

static topic TOPICS[] = {{"t1", 1, 6}, {"t2", 2, 3}, {"other", 3, 4}};

static kafka_uuid topic_id(uint8_t id)
{
    kafka_uuid u = {{0}};
    u.b[15] = id;
    return u;
}

static void list_topics(void *ctx, kmock_topic_visit_fn visit, void *arg)
{
    (void)ctx;
    for (size_t i = 0; i < sizeof TOPICS / sizeof TOPICS[0]; i++) {
        kafka_uuid u = topic_id(TOPICS[i].id);
        visit(arg, TOPICS[i].name, u.b, TOPICS[i].partitions);
    }
}

static int setup(void **state)
{
    TOPICS[0].partitions = 6;
    kmock_groups_config cfg = {0};
    if (kt_mg_setup(&cfg) != 0)
        return -1;
    kmock_groups_set_topics(kt_mg_state.g, list_topics, NULL);
    return 0;
}

static int setup_no_topics(void **state)
{
    kmock_groups_config cfg = {0};
    return kt_mg_setup(&cfg);
}

static int teardown(void **state)
{
    kt_mg_teardown();
    return 0;
}

/* ---- a member ---------------------------------------------------------------- */

typedef struct cmember {
    const char *group;
    const char *id; /* "" = let the coordinator pick */
    int32_t epoch;
    const char *instance;
    const char *topics[3];
    const char *regex;
    const char *assignor;
    /* what it owns: partition bitmaps per topic id 1..3 */
    uint32_t owned[4];
    bool send_owned;
} cmember;

static cmember mk(const char *group, const char *id, const char *t0, const char *t1)
{
    cmember m = {.group = group, .id = id, .topics = {t0, t1, NULL}, .send_owned = true};
    return m;
}

typedef struct hb_result {
    int16_t error;
    int32_t epoch;
    bool has_assignment;
    uint32_t assigned[4]; /* bitmaps per topic id */
} hb_result;

static hb_result heartbeat_v(cmember *m, int16_t v)
{
    kafka_consumer_group_heartbeat_request req;
    kafka_consumer_group_heartbeat_request_init(&req);
    req.group_id = kafka_str_c(m->group);
    req.member_id = kafka_str_c(m->id);
    req.member_epoch = m->epoch;
    req.instance_id = kafka_str_c(m->instance);
    kafka_str names[3];
    kafka_consumer_group_heartbeat_request_topic_partitions tps[4];
    int32_t parts[4][32];
    if (m->epoch == 0) {
        req.rebalance_timeout_ms = 30000;
        int n = 0;
        while (n < 3 && m->topics[n]) {
            names[n] = kafka_str_c(m->topics[n]);
            n++;
        }
        if (n || !m->regex) {
            req.subscribed_topic_names = names;
            req.subscribed_topic_names_count = n;
        }
        if (m->regex)
            req.subscribed_topic_regex = kafka_str_c(m->regex);
        req.server_assignor = kafka_str_c(m->assignor);
        req.topic_partitions = tps;
        req.topic_partitions_count = 0;
    } else if (m->send_owned) {
        int nt = 0;
        for (uint8_t t = 1; t <= 3; t++) {
            if (!m->owned[t])
                continue;
            kafka_consumer_group_heartbeat_request_topic_partitions_init(&tps[nt]);
            tps[nt].topic_id = topic_id(t);
            int np = 0;
            for (int p = 0; p < 32; p++)
                if (m->owned[t] & (1u << p))
                    parts[nt][np++] = p;
            tps[nt].partitions = parts[nt];
            tps[nt].partitions_count = np;
            nt++;
        }
        req.topic_partitions = tps;
        req.topic_partitions_count = nt;
    }
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_CONSUMER_GROUP_HEARTBEAT, &kafka_consumer_group_heartbeat_request_msg, v,
                                &req, &tok),
                     1);
    kafka_consumer_group_heartbeat_response resp;
    kt_mg_take_reply(tok, &kafka_consumer_group_heartbeat_response_msg, v, &resp);
    hb_result r = {.error = resp.error_code, .epoch = resp.member_epoch, .has_assignment = resp.assignment_present};
    if (resp.error_code)
        return r;
    assert_int_equal(resp.heartbeat_interval_ms, resp.member_epoch >= 0 ? 5000 : 0);
    if (resp.member_id.len > 0)
        m->id = kt_mg_dup(resp.member_id);
    m->epoch = resp.member_epoch;
    if (resp.assignment_present) {
        memset(m->owned, 0, sizeof m->owned);
        for (int t = 0; t < resp.assignment.topic_partitions_count; t++) {
            const kafka_consumer_group_heartbeat_response_topic_partitions *tp = &resp.assignment.topic_partitions[t];
            uint8_t id = tp->topic_id.b[15];
            assert_true(id >= 1 && id <= 3);
            for (int p = 0; p < tp->partitions_count; p++)
                r.assigned[id] |= 1u << tp->partitions[p];
        }
        /* the member takes what it is given and lets go of the rest */
        memcpy(m->owned, r.assigned, sizeof m->owned);
    }
    return r;
}

static hb_result heartbeat(cmember *m) { return heartbeat_v(m, 1); }

static hb_result leave(cmember *m, int32_t epoch)
{
    int32_t keep = m->epoch;
    m->epoch = epoch;
    hb_result r = heartbeat(m);
    if (r.error)
        m->epoch = keep;
    return r;
}

static kafka_consumer_group_describe_response_described_group describe(const char *group)
{
    kafka_consumer_group_describe_request req;
    kafka_consumer_group_describe_request_init(&req);
    kafka_str id = kafka_str_c(group);
    req.group_ids = &id;
    req.group_ids_count = 1;
    req.include_authorized_operations = true;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_CONSUMER_GROUP_DESCRIBE, &kafka_consumer_group_describe_request_msg, 0, &req,
                                &tok),
                     1);
    kafka_consumer_group_describe_response resp;
    kt_mg_take_reply(tok, &kafka_consumer_group_describe_response_msg, 0, &resp);
    assert_int_equal(resp.groups_count, 1);
    return resp.groups[0];
}

static int popcount(uint32_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* ---- tests -------------------------------------------------------------------- */

/* The first member gets a coordinator-made id, epoch 1 and every
 * partition of its topics. */
static void test_single_member(void **state)
{
    cmember a = mk("g", "", "t1", "t2");
    hb_result r = heartbeat_v(&a, 0);
    assert_int_equal(r.error, 0);
    assert_true(a.id[0] != '\0');
    assert_int_equal(r.epoch, 1);
    assert_true(r.has_assignment);
    assert_int_equal(r.assigned[1], 0x3f);
    assert_int_equal(r.assigned[2], 0x7);
    assert_int_equal(r.assigned[3], 0);
    /* a steady heartbeat changes nothing */
    a.send_owned = false;
    r = heartbeat(&a);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.epoch, 1);
    assert_false(r.has_assignment);
    kafka_consumer_group_describe_response_described_group d = describe("g");
    assert_int_equal(d.error_code, 0);
    kt_mg_assert_str(d.group_state, "Stable");
    kt_mg_assert_str(d.assignor_name, "uniform");
    assert_int_equal(d.group_epoch, 1);
    assert_int_equal(d.assignment_epoch, 1);
    assert_int_equal(d.members_count, 1);
    assert_int_equal(d.members[0].assignment.topic_partitions_count, 2);
}

/* A second member: the first revokes half before the second gets it
 * (revoke first, then assign), and the epochs follow KIP-848. */
static void test_two_members_reconcile(void **state)
{
    cmember a = mk("g", "member-a", "t1", NULL), b = mk("g", "member-b", "t1", NULL);
    assert_int_equal(heartbeat(&a).epoch, 1);
    hb_result rb = heartbeat(&b);
    assert_int_equal(rb.error, 0);
    assert_int_equal(rb.epoch, 2); /* new epoch, but its partitions are still a's */
    assert_int_equal(rb.assigned[1], 0);
    kafka_consumer_group_describe_response_described_group d = describe("g");
    kt_mg_assert_str(d.group_state, "Reconciling");
    assert_int_equal(d.group_epoch, 2);

    hb_result ra = heartbeat(&a);
    assert_int_equal(ra.epoch, 1); /* held back until it revokes */
    assert_int_equal(popcount(ra.assigned[1]), 3);
    rb = heartbeat(&b); /* nothing released yet */
    assert_int_equal(popcount(b.owned[1]), 0);
    ra = heartbeat(&a); /* owns only the kept three now */
    assert_int_equal(ra.epoch, 2);
    assert_int_equal(popcount(ra.assigned[1]), 3);
    rb = heartbeat(&b);
    assert_int_equal(rb.epoch, 2);
    assert_true(rb.has_assignment);
    assert_int_equal(popcount(rb.assigned[1]), 3);
    assert_int_equal(a.owned[1] & b.owned[1], 0);
    assert_int_equal(a.owned[1] | b.owned[1], 0x3f);
    kt_mg_assert_str(describe("g").group_state, "Stable");
}

/* The range assignor: contiguous ranges per topic in member-id order. */
static void test_range_assignor(void **state)
{
    cmember a = mk("g", "a", "t1", "t2"), b = mk("g", "b", "t1", "t2");
    a.assignor = b.assignor = "range";
    heartbeat(&a);
    heartbeat(&b);
    for (int i = 0; i < 3; i++) {
        heartbeat(&a);
        heartbeat(&b);
    }
    assert_int_equal(a.owned[1], 0x07); /* t1: 0-2 */
    assert_int_equal(a.owned[2], 0x03); /* t2: 0-1 */
    assert_int_equal(b.owned[1], 0x38); /* t1: 3-5 */
    assert_int_equal(b.owned[2], 0x04); /* t2: 2 */
    kafka_consumer_group_describe_response_described_group d = describe("g");
    kt_mg_assert_str(d.assignor_name, "range");
    kt_mg_assert_str(d.group_state, "Stable");
    assert_int_equal(d.authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    for (int i = 0; i < d.members_count; i++) {
        const kafka_consumer_group_describe_response_member *m = &d.members[i];
        assert_int_equal(m->member_epoch, d.assignment_epoch);
        assert_int_equal(m->subscribed_topic_names_count, 2);
        for (int t = 0; t < m->assignment.topic_partitions_count; t++) {
            const kafka_consumer_group_describe_response_topic_partitions *tp = &m->assignment.topic_partitions[t];
            kt_mg_assert_str(tp->topic_name, tp->topic_id.b[15] == 1 ? "t1" : "t2");
        }
    }
}

/* The uniform assignor balances within one partition and keeps what it
 * can when a member goes. */
static void test_uniform_balance_and_leave(void **state)
{
    cmember m[3] = {mk("g", "m0", "t1", "t2"), mk("g", "m1", "t1", "t2"), mk("g", "m2", "t1", "t2")};
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 3; i++)
            heartbeat(&m[i]);
    uint32_t all1 = 0, all2 = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(popcount(m[i].owned[1]) + popcount(m[i].owned[2]), 3); /* 9 partitions / 3 */
        assert_int_equal(all1 & m[i].owned[1], 0);
        assert_int_equal(all2 & m[i].owned[2], 0);
        all1 |= m[i].owned[1];
        all2 |= m[i].owned[2];
    }
    assert_int_equal(all1, 0x3f);
    assert_int_equal(all2, 0x7);
    uint32_t kept1 = m[0].owned[1], kept2 = m[0].owned[2];
    hb_result r = leave(&m[2], -1);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.epoch, -1);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2; i++)
            heartbeat(&m[i]);
    /* sticky: m0 still has what it had */
    assert_int_equal(m[0].owned[1] & kept1, kept1);
    assert_int_equal(m[0].owned[2] & kept2, kept2);
    assert_int_equal(m[0].owned[1] | m[1].owned[1], 0x3f);
    assert_int_equal(m[0].owned[2] | m[1].owned[2], 0x7);
    int n0 = popcount(m[0].owned[1]) + popcount(m[0].owned[2]);
    int n1 = popcount(m[1].owned[1]) + popcount(m[1].owned[2]);
    assert_true(n0 - n1 <= 1 && n1 - n0 <= 1);
    assert_int_equal(heartbeat(&m[2]).error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* Session expiry removes a silent member; the group becomes Empty. */
static void test_session_expiry(void **state)
{
    cmember a = mk("g", "a", "t1", NULL), b = mk("g", "b", "t1", NULL);
    heartbeat(&a);
    heartbeat(&b);
    kt_mg_advance(40000);
    heartbeat(&a);
    assert_true(kmock_groups_tick(kt_mg_state.g, kt_mg_state.now) <= kt_mg_state.now + 5000);
    kt_mg_advance(5000); /* b's 45 s are up */
    assert_int_equal(describe("g").members_count, 1);
    for (int i = 0; i < 3; i++)
        heartbeat(&a);
    assert_int_equal(a.owned[1], 0x3f);
    kt_mg_advance(45000);
    kafka_consumer_group_describe_response_described_group d = describe("g");
    kt_mg_assert_str(d.group_state, "Empty");
    assert_int_equal(d.members_count, 0);
}

/* Epoch checks: ahead of the coordinator is fenced, an unknown member or
 * group is refused, and a bad first request is invalid. */
static void test_fencing_and_errors(void **state)
{
    cmember a = mk("g", "a", "t1", NULL);
    heartbeat(&a);
    cmember ahead = a;
    ahead.epoch = a.epoch + 1;
    assert_int_equal(heartbeat(&ahead).error, KAFKA_ERR_FENCED_MEMBER_EPOCH);
    cmember ghost = a;
    ghost.id = "ghost";
    assert_int_equal(heartbeat(&ghost).error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    cmember lost = mk("no-such-group", "x", "t1", NULL);
    lost.epoch = 3;
    assert_int_equal(heartbeat(&lost).error, KAFKA_ERR_GROUP_ID_NOT_FOUND);
    cmember odd = mk("g", "odd", "t1", NULL);
    odd.assignor = "sticky";
    assert_int_equal(heartbeat(&odd).error, KAFKA_ERR_UNSUPPORTED_ASSIGNOR);

    /* a join without a rebalance timeout */
    kafka_consumer_group_heartbeat_request req;
    kafka_consumer_group_heartbeat_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.member_id = kafka_str_c("new");
    kafka_str t = kafka_str_c("t1");
    req.subscribed_topic_names = &t;
    req.subscribed_topic_names_count = 1;
    uint64_t tok;
    assert_int_equal(
        kt_mg_send(KAFKA_API_CONSUMER_GROUP_HEARTBEAT, &kafka_consumer_group_heartbeat_request_msg, 0, &req, &tok), 1);
    kafka_consumer_group_heartbeat_response resp;
    kt_mg_take_reply(tok, &kafka_consumer_group_heartbeat_response_msg, 0, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_INVALID_REQUEST);
    assert_true(resp.error_message.len > 0);

    /* KIP-1082: from v1 the client names itself */
    cmember anon = mk("g", "", "t1", NULL);
    assert_int_equal(heartbeat_v(&anon, 1).error, KAFKA_ERR_INVALID_REQUEST);
    /* -2 is for static members only */
    cmember dyn = a;
    assert_int_equal(leave(&dyn, -2).error, KAFKA_ERR_INVALID_REQUEST);

    /* a lost response: the previous epoch with a subset still works */
    cmember b = mk("g", "b", "t1", NULL);
    heartbeat(&b);
    for (int i = 0; i < 3; i++) {
        heartbeat(&a);
        heartbeat(&b);
    }
    assert_int_equal(a.epoch, 2);
    cmember old = a;
    old.epoch = 1;
    old.send_owned = false; /* says nothing of what it owns: fenced */
    assert_int_equal(heartbeat(&old).error, KAFKA_ERR_FENCED_MEMBER_EPOCH);
    old.send_owned = true;
    assert_int_equal(heartbeat(&old).error, 0);
}

/* KIP-848 static membership: -2 leaves temporarily, the instance comes
 * back under a new member id with its partitions; a second live member
 * with the same instance id is refused. */
static void test_static_member(void **state)
{
    cmember a = mk("g", "a1", "t1", NULL), b = mk("g", "b", "t1", NULL);
    a.instance = "inst-a";
    heartbeat(&a);
    heartbeat(&b);
    for (int i = 0; i < 3; i++) {
        heartbeat(&a);
        heartbeat(&b);
    }
    uint32_t owned = a.owned[1];
    int32_t epoch = a.epoch;
    assert_int_equal(popcount(owned), 3);
    cmember twin = mk("g", "a2", "t1", NULL);
    twin.instance = "inst-a";
    assert_int_equal(heartbeat(&twin).error, KAFKA_ERR_UNRELEASED_INSTANCE_ID);
    hb_result r = leave(&a, -2);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.epoch, -2);
    r = heartbeat(&twin); /* the restarted instance */
    assert_int_equal(r.error, 0);
    assert_int_equal(r.epoch, epoch);
    assert_int_equal(r.assigned[1], owned);
    kafka_consumer_group_describe_response_described_group d = describe("g");
    assert_int_equal(d.members_count, 2);
    assert_int_equal(d.group_epoch, 2); /* no rebalance */

    /* the old member id of the instance is fenced */
    cmember stale = a;
    stale.id = "a1";
    stale.epoch = twin.epoch;
    assert_int_equal(heartbeat(&stale).error, KAFKA_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(leave(&stale, -1).error, KAFKA_ERR_FENCED_INSTANCE_ID);
    /* rejoining without releasing the instance first is refused */
    cmember again = twin;
    again.epoch = 0;
    assert_int_equal(heartbeat(&again).error, KAFKA_ERR_UNRELEASED_INSTANCE_ID);
    /* leaving for good frees the instance id */
    assert_int_equal(leave(&twin, -1).error, 0);
    assert_int_equal(describe("g").members_count, 1);
}

/* New partitions of a subscribed topic move the group epoch and get
 * assigned; a pattern subscription (v1) matches whole names. */
static void test_topic_growth_and_regex(void **state)
{
    cmember a = mk("g", "a", NULL, NULL);
    a.regex = "t[0-9]";
    hb_result r = heartbeat(&a);
    assert_int_equal(r.assigned[1], 0x3f);
    assert_int_equal(r.assigned[2], 0x7);
    assert_int_equal(r.assigned[3], 0); /* "other" does not match */
    TOPICS[0].partitions = 8;
    r = heartbeat(&a);
    assert_int_equal(r.epoch, 2);
    assert_int_equal(a.owned[1], 0xff);
    cmember bad = mk("g", "bad", NULL, NULL);
    bad.regex = "t[";
    assert_int_equal(heartbeat(&bad).error, KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(describe("g").members_count, 1);
}

/* Offsets of a consumer group: members commit with v9+ at their epoch;
 * admin APIs see a "consumer" group. */
static void test_offsets_and_admin(void **state)
{
    cmember a = mk("cg", "a", "t1", NULL);
    heartbeat(&a);
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c("cg");
    req.member_id = kafka_str_c("a");
    kafka_offset_commit_request_offset_commit_request_topic t;
    kafka_offset_commit_request_offset_commit_request_topic_init(&t);
    kafka_offset_commit_request_offset_commit_request_partition p;
    kafka_offset_commit_request_offset_commit_request_partition_init(&p);
    p.committed_offset = 77;
    t.name = kafka_str_c("t1");
    t.partitions = &p;
    t.partitions_count = 1;
    req.topics = &t;
    req.topics_count = 1;
    const struct {
        int16_t version;
        int32_t epoch;
        int16_t want;
    } cases[] = {{9, 1, 0}, {8, 1, KAFKA_ERR_UNSUPPORTED_VERSION}, {9, 0, KAFKA_ERR_STALE_MEMBER_EPOCH}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        req.generation_id_or_member_epoch = cases[i].epoch;
        uint64_t tok;
        assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_COMMIT, &kafka_offset_commit_request_msg, cases[i].version, &req,
                                    &tok),
                         1);
        kafka_offset_commit_response resp;
        kt_mg_take_reply(tok, &kafka_offset_commit_response_msg, cases[i].version, &resp);
        assert_int_equal(resp.topics[0].partitions[0].error_code, cases[i].want);
    }

    /* OffsetFetch v9 checks the member epoch it is given */
    kafka_offset_fetch_request f;
    kafka_offset_fetch_request_init(&f);
    kafka_offset_fetch_request_offset_fetch_request_group grp;
    kafka_offset_fetch_request_offset_fetch_request_group_init(&grp);
    grp.group_id = kafka_str_c("cg");
    grp.member_id = kafka_str_c("a");
    grp.topics_count = -1;
    f.groups = &grp;
    f.groups_count = 1;
    for (int32_t epoch = 1; epoch >= 0; epoch--) {
        grp.member_epoch = epoch;
        uint64_t tok;
        assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_FETCH, &kafka_offset_fetch_request_msg, 9, &f, &tok), 1);
        kafka_offset_fetch_response resp;
        kt_mg_take_reply(tok, &kafka_offset_fetch_response_msg, 9, &resp);
        if (epoch == 1) {
            assert_int_equal(resp.groups[0].error_code, 0);
            assert_int_equal(resp.groups[0].topics[0].partitions[0].committed_offset, 77);
        } else {
            assert_int_equal(resp.groups[0].error_code, KAFKA_ERR_STALE_MEMBER_EPOCH);
        }
    }

    /* ListGroups v5: type and state of a consumer group */
    kafka_list_groups_request l;
    kafka_list_groups_request_init(&l);
    kafka_str type = kafka_str_c("consumer");
    l.types_filter = &type;
    l.types_filter_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_LIST_GROUPS, &kafka_list_groups_request_msg, 5, &l, &tok), 1);
    kafka_list_groups_response lr;
    kt_mg_take_reply(tok, &kafka_list_groups_response_msg, 5, &lr);
    assert_int_equal(lr.groups_count, 1);
    kt_mg_assert_str(lr.groups[0].group_id, "cg");
    kt_mg_assert_str(lr.groups[0].group_type, "consumer");
    kt_mg_assert_str(lr.groups[0].group_state, "Stable");

    /* DeleteGroups refuses a group with members */
    kafka_delete_groups_request dg;
    kafka_delete_groups_request_init(&dg);
    kafka_str name = kafka_str_c("cg");
    dg.groups_names = &name;
    dg.groups_names_count = 1;
    assert_int_equal(kt_mg_send(KAFKA_API_DELETE_GROUPS, &kafka_delete_groups_request_msg, 2, &dg, &tok), 1);
    kafka_delete_groups_response dr;
    kt_mg_take_reply(tok, &kafka_delete_groups_response_msg, 2, &dr);
    assert_int_equal(dr.results[0].error_code, KAFKA_ERR_NON_EMPTY_GROUP);

    /* OffsetDelete refuses topics the group reads */
    kafka_offset_delete_request od;
    kafka_offset_delete_request_init(&od);
    od.group_id = kafka_str_c("cg");
    kafka_offset_delete_request_offset_delete_request_topic odt;
    kafka_offset_delete_request_offset_delete_request_topic_init(&odt);
    kafka_offset_delete_request_offset_delete_request_partition odp = {.partition_index = 0};
    odt.name = kafka_str_c("t1");
    odt.partitions = &odp;
    odt.partitions_count = 1;
    od.topics = &odt;
    od.topics_count = 1;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_DELETE, &kafka_offset_delete_request_msg, 0, &od, &tok), 1);
    kafka_offset_delete_response odr;
    kt_mg_take_reply(tok, &kafka_offset_delete_response_msg, 0, &odr);
    assert_int_equal(odr.error_code, 0);
    assert_int_equal(odr.topics[0].partitions[0].error_code, KAFKA_ERR_GROUP_SUBSCRIBED_TO_TOPIC);

    /* a classic member cannot join a live consumer group */
    kafka_join_group_request j;
    kafka_join_group_request_init(&j);
    j.group_id = kafka_str_c("cg");
    j.session_timeout_ms = 10000;
    j.rebalance_timeout_ms = 10000;
    j.protocol_type = kafka_str_c("consumer");
    kafka_join_group_request_join_group_request_protocol jp = {kafka_str_c("range"), {(const uint8_t *)"", 0}};
    j.protocols = &jp;
    j.protocols_count = 1;
    assert_int_equal(kt_mg_send(KAFKA_API_JOIN_GROUP, &kafka_join_group_request_msg, 5, &j, &tok), 1);
    kafka_join_group_response jr;
    kt_mg_take_reply(tok, &kafka_join_group_response_msg, 5, &jr);
    assert_int_equal(jr.error_code, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);

    /* once empty, it can be deleted */
    assert_int_equal(leave(&a, -1).error, 0);
    assert_int_equal(kt_mg_send(KAFKA_API_DELETE_GROUPS, &kafka_delete_groups_request_msg, 2, &dg, &tok), 1);
    kt_mg_take_reply(tok, &kafka_delete_groups_response_msg, 2, &dr);
    assert_int_equal(dr.results[0].error_code, 0);
    assert_int_equal(describe("cg").error_code, KAFKA_ERR_GROUP_ID_NOT_FOUND);
}

/* Random joins, leaves, rejoins, heartbeats and topic growth: no two
 * members ever own the same partition at once, and once the churn stops
 * every member converges to the assignment epoch with all partitions
 * spread within one of each other. */
static void test_chaos_converges(void **state)
{
    enum { N = 4 };
    static const char *ids[N] = {"c0", "c1", "c2", "c3"};
    cmember m[N];
    bool in[N] = {false};
    for (int i = 0; i < N; i++)
        m[i] = mk("g", ids[i], "t1", "t2");
    kt_rng rng = {0x848848ull};
    for (int step = 0; step < 2000; step++) {
        int i = (int)(kt_rng_next(&rng) % N);
        uint64_t op = kt_rng_next(&rng) % 100;
        if (op < 5 && in[i]) {
            assert_int_equal(leave(&m[i], -1).error, 0);
            memset(m[i].owned, 0, sizeof m[i].owned);
            in[i] = false;
        } else if (op < 7 && TOPICS[0].partitions < 12) {
            TOPICS[0].partitions++;
        } else {
            if (!in[i]) {
                m[i].epoch = 0;
                in[i] = true;
            }
            hb_result r = heartbeat(&m[i]);
            if (r.error == KAFKA_ERR_UNKNOWN_MEMBER_ID || r.error == KAFKA_ERR_FENCED_MEMBER_EPOCH) {
                memset(m[i].owned, 0, sizeof m[i].owned); /* the client gives up and rejoins */
                in[i] = false;
            } else {
                assert_int_equal(r.error, 0);
            }
        }
        kt_mg_advance(200);
        for (int t = 1; t <= 2; t++) {
            uint32_t seen = 0;
            for (int k = 0; k < N; k++) {
                assert_int_equal(seen & m[k].owned[t], 0);
                seen |= m[k].owned[t];
            }
        }
        kt_mg_clear();
        for (int k = 0; k < N; k++)
            m[k].id = ids[k]; /* the arena copy went with the clear */
    }
    for (int round = 0; round < 6; round++)
        for (int i = 0; i < N; i++) {
            if (!in[i]) {
                m[i].epoch = 0;
                in[i] = true;
            }
            assert_int_equal(heartbeat(&m[i]).error, 0);
        }
    kafka_consumer_group_describe_response_described_group d = describe("g");
    kt_mg_assert_str(d.group_state, "Stable");
    uint32_t all1 = 0, all2 = 0;
    int most = 0, least = 1 << 30;
    for (int i = 0; i < N; i++) {
        assert_int_equal(m[i].epoch, d.assignment_epoch);
        all1 |= m[i].owned[1];
        all2 |= m[i].owned[2];
        int n = popcount(m[i].owned[1]) + popcount(m[i].owned[2]);
        most = n > most ? n : most;
        least = n < least ? n : least;
    }
    assert_int_equal(all1, (1u << TOPICS[0].partitions) - 1);
    assert_int_equal(all2, 0x7);
    assert_true(most - least <= 1);
}

/* Without the topic list the coordinator says so rather than assigning
 * nothing. */
static void test_needs_topics(void **state)
{
    cmember a = mk("g", "a", "t1", NULL);
    assert_int_equal(heartbeat(&a).error, KAFKA_ERR_UNSUPPORTED_VERSION);
    assert_int_equal(describe("g").error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_members_reconcile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_assignor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uniform_balance_and_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fencing_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_growth_and_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_and_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chaos_converges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needs_topics, setup_no_topics, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
