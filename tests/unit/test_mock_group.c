/* The mock's group coordinator (src/mock/mock_group*.c), driven through
 * encoded request bodies and a fake clock. Expected outcomes are Kafka's
 * documented group-coordinator behaviour (KIP-345 static membership,
 * KIP-394 member id handshake, KIP-814 skip assignment, the
 * group.initial.rebalance.delay.ms contract, the error codes of each API's
 * schema), not read off the implementation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/consumer_protocol.h"
#include "kafka/error.h"
#include "mock/mock_group.h"
#include "mock_group_harness.h"
#include "protocol/gen/all.h"

/* ---- harness ------------------------------------------------------------------ */

static int partition_exists(void *ctx, const char *topic, int32_t partition)
{
    (void)ctx;
    if (strcmp(topic, "missing") == 0 || partition >= 8)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return 0;
}

static int setup_with_delay(int32_t delay)
{
    kmock_groups_config cfg = {.initial_rebalance_delay_ms = delay,
                               .min_session_timeout_ms = 1000,
                               .max_session_timeout_ms = 600000,
                               .partition_exists = partition_exists};
    return kt_mg_setup(&cfg);
}

static int setup(void **state) { return setup_with_delay(0); }
static int setup_delay(void **state) { return setup_with_delay(3000); }

static int teardown(void **state)
{
    kt_mg_teardown();
    return 0;
}

/* ---- request builders ------------------------------------------------------ */

typedef struct member {
    const char *group;
    const char *id;    /* "" before joining */
    const char *instance; /* NULL = dynamic */
    const char *protocol_type;
    const char *protocols[3]; /* names, NULL-terminated */
    const char *meta;         /* metadata bytes (same for every protocol) */
    int32_t session_ms, rebalance_ms;
    int32_t generation;
    uint64_t token; /* last request */
} member;

static member mk(const char *group)
{
    member m = {.group = group, .id = "", .protocol_type = "consumer", .protocols = {"range", NULL},
                .meta = "sub", .session_ms = 10000, .rebalance_ms = 20000, .generation = -1};
    return m;
}

static int join(member *m, int16_t v)
{
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c(m->group);
    req.session_timeout_ms = m->session_ms;
    req.rebalance_timeout_ms = v >= 1 ? m->rebalance_ms : -1;
    req.member_id = kafka_str_c(m->id);
    req.group_instance_id = kafka_str_c(v >= 5 ? m->instance : NULL);
    req.protocol_type = kafka_str_c(m->protocol_type);
    kafka_join_group_request_join_group_request_protocol ps[3];
    int n = 0;
    while (n < 3 && m->protocols[n]) {
        ps[n].name = kafka_str_c(m->protocols[n]);
        ps[n].metadata = (kafka_bytes){(const uint8_t *)m->meta, (int32_t)strlen(m->meta)};
        n++;
    }
    req.protocols = ps;
    req.protocols_count = n;
    return kt_mg_send(KAFKA_API_JOIN_GROUP, &kafka_join_group_request_msg, v, &req, &m->token);
}

/* Takes the JoinGroup answer and remembers the id and generation. */
static void join_result(member *m, int16_t v, kafka_join_group_response *resp)
{
    kt_mg_take_reply(m->token, &kafka_join_group_response_msg, v, resp);
    if (resp->member_id.len > 0)
        m->id = kt_mg_dup(resp->member_id);
    if (resp->error_code == 0)
        m->generation = resp->generation_id;
}

/* KIP-394 handshake (v4+) then the real join; returns handle's result. */
static int join_with_id(member *m, int16_t v)
{
    if (v >= 4 && !m->instance && m->id[0] == '\0') {
        assert_int_equal(join(m, v), 1);
        kafka_join_group_response r;
        join_result(m, v, &r);
        assert_int_equal(r.error_code, KAFKA_ERR_MEMBER_ID_REQUIRED);
        assert_true(m->id[0] != '\0');
    }
    return join(m, v);
}

static int sync(member *m, int16_t v, const char **ids, const char **assign, int n)
{
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c(m->group);
    req.generation_id = m->generation;
    req.member_id = kafka_str_c(m->id);
    req.group_instance_id = kafka_str_c(v >= 3 ? m->instance : NULL);
    if (v >= 5) {
        req.protocol_type = kafka_str_c(m->protocol_type);
        req.protocol_name = kafka_str_c(m->protocols[0]);
    }
    kafka_sync_group_request_sync_group_request_assignment as[4];
    for (int i = 0; i < n; i++) {
        as[i].member_id = kafka_str_c(ids[i]);
        as[i].assignment = (kafka_bytes){(const uint8_t *)assign[i], (int32_t)strlen(assign[i])};
    }
    req.assignments = as;
    req.assignments_count = n;
    return kt_mg_send(KAFKA_API_SYNC_GROUP, &kafka_sync_group_request_msg, v, &req, &m->token);
}

static int16_t sync_result(member *m, int16_t v, kafka_sync_group_response *out)
{
    kafka_sync_group_response tmp;
    if (!out)
        out = &tmp;
    kt_mg_take_reply(m->token, &kafka_sync_group_response_msg, v, out);
    return out->error_code;
}

static int16_t heartbeat(member *m, int16_t v)
{
    kafka_heartbeat_request req;
    kafka_heartbeat_request_init(&req);
    req.group_id = kafka_str_c(m->group);
    req.generation_id = m->generation;
    req.member_id = kafka_str_c(m->id);
    req.group_instance_id = kafka_str_c(v >= 3 ? m->instance : NULL);
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_HEARTBEAT, &kafka_heartbeat_request_msg, v, &req, &tok), 1);
    kafka_heartbeat_response resp;
    kt_mg_take_reply(tok, &kafka_heartbeat_response_msg, v, &resp);
    return resp.error_code;
}

/* Two dynamic members "a" (leader) and "b" in a Stable group with their
 * assignments "A" and "B". */
static void stable_pair(member *a, member *b, int16_t v)
{
    kafka_join_group_response ra, rb;
    int16_t sv = v > 5 ? 5 : v; /* SyncGroup's newest */
    assert_int_equal(join_with_id(a, v), 1); /* alone, no delay: at once */
    join_result(a, v, &ra);
    assert_int_equal(ra.error_code, 0);
    const char *ids1[] = {a->id};
    const char *as1[] = {"A"};
    assert_int_equal(sync(a, sv, ids1, as1, 1), 1);
    assert_int_equal(sync_result(a, sv, NULL), 0);
    /* b joins: a must rejoin */
    assert_int_equal(join_with_id(b, v), 0);
    assert_int_equal(heartbeat(a, v > 4 ? 4 : v), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(a, v), 1);
    join_result(a, v, &ra);
    join_result(b, v, &rb);
    assert_int_equal(ra.error_code, 0);
    assert_int_equal(rb.error_code, 0);
    const char *ids[] = {a->id, b->id};
    const char *as[] = {"A", "B"};
    assert_int_equal(sync(b, sv, NULL, NULL, 0), 0);
    assert_int_equal(sync(a, sv, ids, as, 2), 1);
    assert_int_equal(sync_result(a, sv, NULL), 0);
    assert_int_equal(sync_result(b, sv, NULL), 0);
}

/* ---- classic membership ----------------------------------------------------- */

/* KIP-394: v4+ joins without an id get MEMBER_ID_REQUIRED and an id; the
 * delayed initial rebalance waits group.initial.rebalance.delay.ms and is
 * extended while members keep arriving; the leader (first member) gets
 * every member's metadata, the follower none. */
static void test_join_handshake_and_initial_delay(void **state)
{
    member a = mk("g1"), b = mk("g1");
    b.meta = "sub-b";
    assert_int_equal(join_with_id(&a, 5), 0);
    kt_mg_state.now += 1000;
    assert_int_equal(join_with_id(&b, 5), 0);
    /* first delay (3000 from a's join) passes with b new: extended */
    kt_mg_advance(2000);
    assert_false(kt_mg_has_reply(a.token));
    int64_t next = kmock_groups_tick(kt_mg_state.g, kt_mg_state.now);
    assert_true(next > kt_mg_state.now && next <= kt_mg_state.now + 3000);
    kt_mg_advance(2999);
    assert_false(kt_mg_has_reply(a.token));
    kt_mg_advance(1);
    kafka_join_group_response ra, rb;
    join_result(&a, 5, &ra);
    join_result(&b, 5, &rb);
    assert_int_equal(ra.error_code, 0);
    assert_int_equal(rb.error_code, 0);
    assert_int_equal(ra.generation_id, 1);
    assert_int_equal(rb.generation_id, 1);
    kt_mg_assert_str(ra.leader, a.id);
    kt_mg_assert_str(rb.leader, a.id);
    kt_mg_assert_str(ra.protocol_name, "range");
    assert_int_equal(ra.members_count, 2);
    assert_int_equal(rb.members_count, 0);
    bool saw_b = false;
    for (int i = 0; i < ra.members_count; i++)
        if (kafka_str_eq_c(ra.members[i].member_id, b.id)) {
            saw_b = true;
            assert_int_equal(ra.members[i].metadata.len, 5);
            assert_memory_equal(ra.members[i].metadata.ptr, "sub-b", 5);
        }
    assert_true(saw_b);
}

/* The protocol is chosen by vote among those every member supports. */
static void test_protocol_selection(void **state)
{
    member a = mk("g"), b = mk("g"), c = mk("g");
    a.protocols[0] = "range", a.protocols[1] = "roundrobin";
    b.protocols[0] = "roundrobin", b.protocols[1] = "range";
    c.protocols[0] = "roundrobin", c.protocols[1] = "range";
    kafka_join_group_response r;
    assert_int_equal(join_with_id(&a, 7), 1);
    join_result(&a, 7, &r);
    kt_mg_assert_str(r.protocol_name, "range");
    kt_mg_assert_str(r.protocol_type, "consumer");
    assert_int_equal(join_with_id(&b, 7), 0);
    assert_int_equal(join_with_id(&c, 7), 0);
    assert_int_equal(join(&a, 7), 1);
    join_result(&a, 7, &r);
    kt_mg_assert_str(r.protocol_name, "roundrobin"); /* 2 votes to 1 */
    join_result(&b, 7, &r);
    join_result(&c, 7, &r);
    /* a member with no protocol in common is refused */
    member d = mk("g");
    d.protocols[0] = "sticky";
    assert_int_equal(join(&d, 7), 1);
    join_result(&d, 7, &r);
    assert_int_equal(r.error_code, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    member e = mk("g");
    e.protocol_type = "connect";
    assert_int_equal(join(&e, 7), 1);
    join_result(&e, 7, &r);
    assert_int_equal(r.error_code, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
}

/* The follower's SyncGroup waits for the leader's; each gets its own
 * assignment; heartbeats are fine once Stable. */
static void test_sync_distributes_assignments(void **state)
{
    member a = mk("g"), b = mk("g");
    kafka_join_group_response r;
    assert_int_equal(join_with_id(&a, 9), 1);
    join_result(&a, 9, &r);
    assert_int_equal(join_with_id(&b, 9), 0);
    assert_int_equal(join(&a, 9), 1);
    join_result(&a, 9, &r);
    join_result(&b, 9, &r);
    assert_int_equal(r.generation_id, 2);
    assert_int_equal(heartbeat(&b, 4), 0); /* CompletingRebalance: NONE */
    assert_int_equal(sync(&b, 5, NULL, NULL, 0), 0);
    assert_false(kt_mg_has_reply(b.token));
    const char *ids[] = {a.id, b.id};
    const char *as[] = {"assign-a", "assign-b"};
    assert_int_equal(sync(&a, 5, ids, as, 2), 1);
    kafka_sync_group_response s;
    assert_int_equal(sync_result(&a, 5, &s), 0);
    assert_int_equal(s.assignment.len, 8);
    assert_memory_equal(s.assignment.ptr, "assign-a", 8);
    kt_mg_assert_str(s.protocol_type, "consumer");
    kt_mg_assert_str(s.protocol_name, "range");
    assert_int_equal(sync_result(&b, 5, &s), 0);
    assert_memory_equal(s.assignment.ptr, "assign-b", 8);
    assert_int_equal(heartbeat(&a, 4), 0);
    assert_int_equal(heartbeat(&b, 4), 0);
    /* a late SyncGroup in Stable gets the stored assignment at once */
    assert_int_equal(sync(&b, 5, NULL, NULL, 0), 1);
    assert_int_equal(sync_result(&b, 5, &s), 0);
    assert_memory_equal(s.assignment.ptr, "assign-b", 8);
}

/* A new member triggers a rebalance: heartbeats say REBALANCE_IN_PROGRESS
 * and the join completes when every known member has rejoined. */
static void test_rebalance_waits_for_all_members(void **state)
{
    member a = mk("g"), b = mk("g"), c = mk("g");
    stable_pair(&a, &b, 5);
    assert_int_equal(join_with_id(&c, 5), 0);
    assert_int_equal(heartbeat(&a, 3), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(heartbeat(&b, 3), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(&a, 5), 0);
    assert_false(kt_mg_has_reply(c.token));
    assert_int_equal(join(&b, 5), 1);
    kafka_join_group_response r;
    join_result(&a, 5, &r);
    assert_int_equal(r.members_count, 3);
    assert_int_equal(r.generation_id, 3);
    join_result(&b, 5, &r);
    join_result(&c, 5, &r);
    assert_int_equal(r.generation_id, 3);
    kt_mg_assert_str(r.leader, a.id);
}

/* Members that do not rejoin within the rebalance timeout are dropped. */
static void test_rebalance_timeout_drops_laggard(void **state)
{
    member a = mk("g"), b = mk("g"), c = mk("g");
    stable_pair(&a, &b, 5);
    assert_int_equal(join_with_id(&c, 5), 0);
    kt_mg_advance(3000);
    assert_int_equal(heartbeat(&a, 3), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(&a, 5), 0);
    /* b stays alive by heartbeating but never rejoins */
    for (int i = 0; i < 3; i++) {
        kt_mg_advance(5000);
        assert_int_equal(heartbeat(&b, 3), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    }
    kt_mg_advance(1999); /* the rebalance timeout is 20000 from c's join */
    assert_false(kt_mg_has_reply(a.token));
    kt_mg_advance(1);
    kafka_join_group_response r;
    join_result(&a, 5, &r);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.members_count, 2);
    join_result(&c, 5, &r);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(heartbeat(&b, 3), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* A member silent for its session timeout is removed and the group
 * rebalances without it. */
static void test_session_expiry_triggers_rebalance(void **state)
{
    member a = mk("g"), b = mk("g");
    stable_pair(&a, &b, 4);
    kt_mg_advance(6000);
    assert_int_equal(heartbeat(&a, 2), 0);
    kt_mg_advance(3999);
    assert_int_equal(heartbeat(&a, 2), 0); /* b still in: Stable */
    kt_mg_advance(1);                            /* b's 10 s session ends */
    assert_int_equal(heartbeat(&a, 2), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(&a, 4), 1); /* the only member left */
    kafka_join_group_response r;
    join_result(&a, 4, &r);
    assert_int_equal(r.members_count, 1);
    assert_int_equal(r.generation_id, 3);
    assert_int_equal(heartbeat(&b, 2), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_true(kmock_groups_tick(kt_mg_state.g, kt_mg_state.now) <= kt_mg_state.now + 20000);
}

/* KIP-345: a static member rejoining with its instance id gets a new
 * member id without a rebalance while the group is Stable; the old id is
 * fenced. A rejoining static leader: before v9 it is told the old leader
 * id (no pointless assignment); v9+ (KIP-814) it is the leader and told to
 * skip the assignment. */
static void test_static_member_rejoin(void **state)
{
    for (int16_t v = 5; v <= 9; v += 4) {
        member a = mk(v == 5 ? "s5" : "s9"), b = mk(a.group);
        a.instance = "inst-a";
        b.instance = "inst-b";
        stable_pair(&a, &b, v);
        int32_t gen = a.generation;
        const char *old_a = a.id, *old_b = b.id;
        /* follower restarts */
        b.id = "";
        assert_int_equal(join(&b, v), 1);
        kafka_join_group_response r;
        join_result(&b, v, &r);
        assert_int_equal(r.error_code, 0);
        assert_int_equal(r.generation_id, gen);
        assert_false(kafka_str_eq_c(r.member_id, old_b));
        kt_mg_assert_str(r.leader, a.id);
        assert_int_equal(heartbeat(&a, 3), 0); /* no rebalance */
        member stale = b;
        stale.id = old_b;
        assert_int_equal(heartbeat(&stale, 3), KAFKA_ERR_FENCED_INSTANCE_ID);
        assert_int_equal(heartbeat(&b, 3), 0);
        kafka_sync_group_response s;
        assert_int_equal(sync(&b, 5, NULL, NULL, 0), 1);
        assert_int_equal(sync_result(&b, 5, &s), 0);
        assert_memory_equal(s.assignment.ptr, "B", 1);
        /* leader restarts */
        a.id = "";
        assert_int_equal(join(&a, v), 1);
        join_result(&a, v, &r);
        assert_int_equal(r.error_code, 0);
        assert_int_equal(r.generation_id, gen);
        if (v >= 9) {
            assert_true(r.skip_assignment);
            kt_mg_assert_str(r.leader, a.id);
            assert_int_equal(r.members_count, 2);
        } else {
            kt_mg_assert_str(r.leader, old_a);
            assert_int_equal(r.members_count, 0);
        }
        assert_int_equal(heartbeat(&b, 3), 0);
    }
}

/* LeaveGroup v3+ takes a batch with per-member errors; v0-2 one member
 * with the error at the top. The last member leaving empties the group. */
static void test_leave(void **state)
{
    member a = mk("g"), b = mk("g");
    stable_pair(&a, &b, 5);
    kafka_leave_group_request req;
    kafka_leave_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    kafka_leave_group_request_member_identity ids[2];
    kafka_leave_group_request_member_identity_init(&ids[0]);
    kafka_leave_group_request_member_identity_init(&ids[1]);
    ids[0].member_id = kafka_str_c(b.id);
    ids[1].member_id = kafka_str_c("nobody");
    req.members = ids;
    req.members_count = 2;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, 5, &req, &tok), 1);
    kafka_leave_group_response resp;
    kt_mg_take_reply(tok, &kafka_leave_group_response_msg, 5, &resp);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.members_count, 2);
    assert_int_equal(resp.members[0].error_code, 0);
    assert_int_equal(resp.members[1].error_code, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(&a, 3), KAFKA_ERR_REBALANCE_IN_PROGRESS);

    kafka_leave_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.member_id = kafka_str_c("nobody");
    assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, 1, &req, &tok), 1);
    kt_mg_take_reply(tok, &kafka_leave_group_response_msg, 1, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_UNKNOWN_MEMBER_ID);

    req.member_id = kafka_str_c(a.id);
    assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, 0, &req, &tok), 1);
    kt_mg_take_reply(tok, &kafka_leave_group_response_msg, 0, &resp);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(heartbeat(&a, 3), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* Static members leave by instance id; a stale member id is fenced. */
static void test_leave_static(void **state)
{
    member a = mk("g"), b = mk("g");
    a.instance = "ia", b.instance = "ib";
    stable_pair(&a, &b, 5);
    kafka_leave_group_request req;
    kafka_leave_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    kafka_leave_group_request_member_identity id;
    kafka_leave_group_request_member_identity_init(&id);
    id.member_id = kafka_str_c("old-id");
    id.group_instance_id = kafka_str_c("ib");
    req.members = &id;
    req.members_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, 4, &req, &tok), 1);
    kafka_leave_group_response resp;
    kt_mg_take_reply(tok, &kafka_leave_group_response_msg, 4, &resp);
    assert_int_equal(resp.members[0].error_code, KAFKA_ERR_FENCED_INSTANCE_ID);
    id.member_id = kafka_str_c(""); /* by instance id alone */
    assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, 4, &req, &tok), 1);
    kt_mg_take_reply(tok, &kafka_leave_group_response_msg, 4, &resp);
    assert_int_equal(resp.members[0].error_code, 0);
    assert_int_equal(heartbeat(&b, 3), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* The error answers of JoinGroup, SyncGroup and Heartbeat. */
static void test_membership_errors(void **state)
{
    member a = mk("g"), b = mk("g");
    stable_pair(&a, &b, 5);
    kafka_join_group_response jr;

    member ghost = mk("g");
    ghost.id = "ghost";
    assert_int_equal(join(&ghost, 5), 1);
    join_result(&ghost, 5, &jr);
    assert_int_equal(jr.error_code, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(&ghost, 0), KAFKA_ERR_UNKNOWN_MEMBER_ID);

    member quick = mk("g");
    quick.session_ms = 10; /* below the minimum (1000) */
    assert_int_equal(join(&quick, 5), 1);
    join_result(&quick, 5, &jr);
    assert_int_equal(jr.error_code, KAFKA_ERR_INVALID_SESSION_TIMEOUT);

    member noname = mk("");
    assert_int_equal(join(&noname, 5), 1);
    join_result(&noname, 5, &jr);
    assert_int_equal(jr.error_code, KAFKA_ERR_INVALID_GROUP_ID);

    member old = a;
    old.generation = a.generation - 1;
    assert_int_equal(heartbeat(&old, 2), KAFKA_ERR_ILLEGAL_GENERATION);
    assert_int_equal(sync(&old, 2, NULL, NULL, 0), 1);
    assert_int_equal(sync_result(&old, 2, NULL), KAFKA_ERR_ILLEGAL_GENERATION);

    member wrongproto = b;
    wrongproto.protocols[0] = "roundrobin";
    assert_int_equal(sync(&wrongproto, 5, NULL, NULL, 0), 1);
    assert_int_equal(sync_result(&wrongproto, 5, NULL), KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);

    /* SyncGroup while the group prepares a rebalance */
    member c = mk("g");
    assert_int_equal(join_with_id(&c, 5), 0);
    assert_int_equal(sync(&b, 5, NULL, NULL, 0), 1);
    assert_int_equal(sync_result(&b, 5, NULL), KAFKA_ERR_REBALANCE_IN_PROGRESS);

    member nogroup = mk("nogroup");
    nogroup.id = "x";
    nogroup.generation = 1;
    assert_int_equal(heartbeat(&nogroup, 4), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* A member that joins but never syncs is removed after the rebalance
 * timeout, and so is a follower whose leader never syncs. */
static void test_sync_timeout(void **state)
{
    member a = mk("g"), b = mk("g");
    a.session_ms = b.session_ms = 60000; /* longer than the rebalance timeout */
    kafka_join_group_response r;
    assert_int_equal(join_with_id(&a, 5), 1);
    join_result(&a, 5, &r);
    assert_int_equal(sync(&a, 5, NULL, NULL, 0), 1); /* the leader, alone */
    assert_int_equal(sync_result(&a, 5, NULL), 0);
    assert_int_equal(join_with_id(&b, 5), 0);
    assert_int_equal(join(&a, 5), 1);
    join_result(&a, 5, &r);
    join_result(&b, 5, &r);
    assert_int_equal(sync(&b, 5, NULL, NULL, 0), 0); /* waits for a */
    kt_mg_advance(19999);
    assert_false(kt_mg_has_reply(b.token));
    kt_mg_advance(1);
    /* a never synced: removed, b's wait ends with REBALANCE_IN_PROGRESS */
    assert_int_equal(sync_result(&b, 5, NULL), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(heartbeat(&a, 3), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}


/* KIP-394: a member that got MEMBER_ID_REQUIRED holds up the rebalance
 * until it joins or its session timeout passes. */
static void test_pending_member_blocks_join(void **state)
{
    member a = mk("g"), b = mk("g"), c = mk("g");
    stable_pair(&a, &b, 5);
    assert_int_equal(join(&c, 5), 1); /* the handshake only */
    kafka_join_group_response r;
    join_result(&c, 5, &r);
    assert_int_equal(r.error_code, KAFKA_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(heartbeat(&a, 4), 0); /* no rebalance for it yet */
    assert_int_equal(join(&a, 5), 0);       /* the leader rejoins */
    assert_int_equal(join(&b, 5), 0);
    kt_mg_advance(9999);
    assert_false(kt_mg_has_reply(a.token));
    kt_mg_advance(1); /* c's 10 s session: the handshake expires */
    join_result(&a, 5, &r);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.members_count, 2);
    join_result(&b, 5, &r);
    assert_int_equal(r.error_code, 0);
}

/* A group takes KMOCK_GROUP_MAX_MEMBERS members, then answers
 * GROUP_MAX_SIZE_REACHED instead of growing. */
static void test_group_max_size(void **state)
{
    kafka_join_group_response r;
    for (int i = 0; i < KMOCK_GROUP_MAX_MEMBERS; i++) {
        member m = mk("big");
        assert_int_equal(join(&m, 5), 1);
        join_result(&m, 5, &r);
        assert_int_equal(r.error_code, KAFKA_ERR_MEMBER_ID_REQUIRED);
        kt_mg_clear();
    }
    member m = mk("big");
    assert_int_equal(join(&m, 5), 1);
    join_result(&m, 5, &r);
    assert_int_equal(r.error_code, KAFKA_ERR_GROUP_MAX_SIZE_REACHED);
}

/* A static member that does not rejoin stays in the group through the
 * rebalance (its session decides), unlike a dynamic one. */
static void test_static_member_survives_rebalance(void **state)
{
    member a = mk("g"), b = mk("g"), c = mk("g");
    a.instance = "ia", b.instance = "ib";
    b.session_ms = 60000;
    stable_pair(&a, &b, 5);
    assert_int_equal(join(&c, 4), 1); /* handshake */
    kafka_join_group_response r;
    join_result(&c, 4, &r);
    assert_int_equal(join(&c, 4), 0);
    assert_int_equal(join(&a, 5), 0);
    kt_mg_advance(10000);
    assert_int_equal(heartbeat(&a, 4), KAFKA_ERR_REBALANCE_IN_PROGRESS); /* a's join keeps it alive anyway */
    assert_int_equal(heartbeat(&b, 4), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    kt_mg_advance(10000); /* the rebalance timeout */
    join_result(&a, 5, &r);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.members_count, 3);
    join_result(&c, 4, &r);
    assert_int_equal(r.error_code, 0);
}

/* ---- offsets -------------------------------------------------------------- */

typedef struct commit_part {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *meta;
} commit_part;

/* Commits one partition; returns its error code. */
static int16_t commit(const char *group, const member *m, int16_t v, commit_part cp)
{
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c(group);
    if (m && v >= 1) {
        req.generation_id_or_member_epoch = m->generation;
        req.member_id = kafka_str_c(m->id);
    }
    kafka_offset_commit_request_offset_commit_request_topic t;
    kafka_offset_commit_request_offset_commit_request_topic_init(&t);
    kafka_offset_commit_request_offset_commit_request_partition p;
    kafka_offset_commit_request_offset_commit_request_partition_init(&p);
    p.partition_index = cp.partition;
    p.committed_offset = cp.offset;
    p.committed_leader_epoch = v >= 6 ? 7 : -1;
    p.committed_metadata = kafka_str_c(cp.meta);
    t.name = kafka_str_c(cp.topic);
    t.partitions = &p;
    t.partitions_count = 1;
    req.topics = &t;
    req.topics_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_COMMIT, &kafka_offset_commit_request_msg, v, &req, &tok), 1);
    kafka_offset_commit_response resp;
    kt_mg_take_reply(tok, &kafka_offset_commit_response_msg, v, &resp);
    assert_int_equal(resp.topics_count, 1);
    kt_mg_assert_str(resp.topics[0].name, cp.topic);
    assert_int_equal(resp.topics[0].partitions_count, 1);
    assert_int_equal(resp.topics[0].partitions[0].partition_index, cp.partition);
    return resp.topics[0].partitions[0].error_code;
}

/* OffsetFetch v0-7 of one partition. */
static kafka_offset_fetch_response_offset_fetch_response_partition fetch1(const char *group, int16_t v, const char *topic,
                                                                          int32_t partition)
{
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c(group);
    kafka_offset_fetch_request_offset_fetch_request_topic t;
    kafka_offset_fetch_request_offset_fetch_request_topic_init(&t);
    t.name = kafka_str_c(topic);
    t.partition_indexes = &partition;
    t.partition_indexes_count = 1;
    req.topics = &t;
    req.topics_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_FETCH, &kafka_offset_fetch_request_msg, v, &req, &tok), 1);
    kafka_offset_fetch_response resp;
    kt_mg_take_reply(tok, &kafka_offset_fetch_response_msg, v, &resp);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.topics_count, 1);
    assert_int_equal(resp.topics[0].partitions_count, 1);
    return resp.topics[0].partitions[0];
}

/* Simple commits (generation -1) create the group; fetch returns them
 * with metadata and leader epoch; unknown partitions read -1. */
static void test_offsets_round_trip(void **state)
{
    assert_int_equal(commit("og", NULL, 8, (commit_part){"t1", 0, 42, "meta-0"}), 0);
    assert_int_equal(commit("og", NULL, 2, (commit_part){"t1", 1, 43, NULL}), 0);
    assert_int_equal(commit("og", NULL, 0, (commit_part){"t2", 3, 7, "x"}), 0);
    kafka_offset_fetch_response_offset_fetch_response_partition p = fetch1("og", 7, "t1", 0);
    assert_int_equal(p.committed_offset, 42);
    assert_int_equal(p.committed_leader_epoch, 7);
    kt_mg_assert_str(p.metadata, "meta-0");
    p = fetch1("og", 1, "t1", 1);
    assert_int_equal(p.committed_offset, 43);
    kt_mg_assert_str(p.metadata, ""); /* null metadata is stored as "" */
    p = fetch1("og", 5, "t1", 5);
    assert_int_equal(p.committed_offset, -1);
    assert_int_equal(p.committed_leader_epoch, -1);
    assert_int_equal(p.error_code, 0);
    p = fetch1("no-such-group", 3, "t1", 0);
    assert_int_equal(p.committed_offset, -1);
    assert_int_equal(p.error_code, 0);

    /* overwrite */
    assert_int_equal(commit("og", NULL, 9, (commit_part){"t1", 0, 50, "m2"}), 0);
    assert_int_equal(fetch1("og", 6, "t1", 0).committed_offset, 50);

    /* v2+: null topics = every committed partition */
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c("og");
    req.topics_count = -1;
    req.require_stable = true;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_FETCH, &kafka_offset_fetch_request_msg, 7, &req, &tok), 1);
    kafka_offset_fetch_response resp;
    kt_mg_take_reply(tok, &kafka_offset_fetch_response_msg, 7, &resp);
    assert_int_equal(resp.topics_count, 2);
    int found = 0;
    for (int t = 0; t < resp.topics_count; t++)
        for (int k = 0; k < resp.topics[t].partitions_count; k++) {
            const kafka_offset_fetch_response_offset_fetch_response_partition *q = &resp.topics[t].partitions[k];
            if (kafka_str_eq_c(resp.topics[t].name, "t1") && q->partition_index == 1 && q->committed_offset == 43)
                found++;
            if (kafka_str_eq_c(resp.topics[t].name, "t2") && q->partition_index == 3 && q->committed_offset == 7)
                found++;
        }
    assert_int_equal(found, 2);
}

/* OffsetFetch v8+ asks for several groups at once. */
static void test_offset_fetch_batched(void **state)
{
    assert_int_equal(commit("ga", NULL, 8, (commit_part){"t", 0, 10, "a"}), 0);
    assert_int_equal(commit("gb", NULL, 8, (commit_part){"t", 0, 20, "b"}), 0);
    for (int16_t v = 8; v <= 9; v++) {
        kafka_offset_fetch_request req;
        kafka_offset_fetch_request_init(&req);
        kafka_offset_fetch_request_offset_fetch_request_group groups[3];
        int32_t part = 0;
        kafka_offset_fetch_request_offset_fetch_request_topics topic;
        kafka_offset_fetch_request_offset_fetch_request_topics_init(&topic);
        topic.name = kafka_str_c("t");
        topic.partition_indexes = &part;
        topic.partition_indexes_count = 1;
        const char *names[3] = {"ga", "gb", "gz"};
        for (int i = 0; i < 3; i++) {
            kafka_offset_fetch_request_offset_fetch_request_group_init(&groups[i]);
            groups[i].group_id = kafka_str_c(names[i]);
            groups[i].topics = i == 1 ? NULL : &topic;
            groups[i].topics_count = i == 1 ? -1 : 1;
        }
        req.groups = groups;
        req.groups_count = 3;
        uint64_t tok;
        assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_FETCH, &kafka_offset_fetch_request_msg, v, &req, &tok), 1);
        kafka_offset_fetch_response resp;
        kt_mg_take_reply(tok, &kafka_offset_fetch_response_msg, v, &resp);
        assert_int_equal(resp.groups_count, 3);
        kt_mg_assert_str(resp.groups[0].group_id, "ga");
        assert_int_equal(resp.groups[0].topics[0].partitions[0].committed_offset, 10);
        kt_mg_assert_str(resp.groups[0].topics[0].partitions[0].metadata, "a");
        assert_int_equal(resp.groups[1].topics_count, 1); /* all of gb's */
        assert_int_equal(resp.groups[1].topics[0].partitions[0].committed_offset, 20);
        assert_int_equal(resp.groups[2].error_code, 0);
        assert_int_equal(resp.groups[2].topics[0].partitions[0].committed_offset, -1);
    }
}

static void test_offset_commit_errors(void **state)
{
    assert_int_equal(commit("og", NULL, 8, (commit_part){"missing", 0, 1, NULL}), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(commit("og", NULL, 8, (commit_part){"t", 9, 1, NULL}), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char big[KMOCK_OFFSET_MAX_METADATA + 2];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(commit("og", NULL, 8, (commit_part){"t", 0, 1, big}), KAFKA_ERR_OFFSET_METADATA_TOO_LARGE);
    /* a generation for a group that does not exist */
    member m = mk("absent");
    m.id = "someone";
    m.generation = 3;
    assert_int_equal(commit("absent", &m, 8, (commit_part){"t", 0, 1, NULL}), KAFKA_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit("absent", &m, 9, (commit_part){"t", 0, 1, NULL}), KAFKA_ERR_GROUP_ID_NOT_FOUND);

    /* a live group: only its members, at its generation */
    member a = mk("g"), b = mk("g");
    stable_pair(&a, &b, 5);
    assert_int_equal(commit("g", NULL, 8, (commit_part){"t", 0, 1, NULL}), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(commit("g", &a, 8, (commit_part){"t", 0, 5, NULL}), 0);
    member old = b;
    old.generation--;
    assert_int_equal(commit("g", &old, 8, (commit_part){"t", 0, 1, NULL}), KAFKA_ERR_ILLEGAL_GENERATION);
    member ghost = b;
    ghost.id = "ghost";
    assert_int_equal(commit("g", &ghost, 8, (commit_part){"t", 0, 1, NULL}), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(fetch1("g", 7, "t", 0).committed_offset, 5);
}

static int16_t delete_offsets(const char *group, const char *topic, int32_t partition, int16_t *part_err)
{
    kafka_offset_delete_request req;
    kafka_offset_delete_request_init(&req);
    req.group_id = kafka_str_c(group);
    kafka_offset_delete_request_offset_delete_request_topic t;
    kafka_offset_delete_request_offset_delete_request_topic_init(&t);
    kafka_offset_delete_request_offset_delete_request_partition p = {.partition_index = partition};
    t.name = kafka_str_c(topic);
    t.partitions = &p;
    t.partitions_count = 1;
    req.topics = &t;
    req.topics_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_OFFSET_DELETE, &kafka_offset_delete_request_msg, 0, &req, &tok), 1);
    kafka_offset_delete_response resp;
    kt_mg_take_reply(tok, &kafka_offset_delete_response_msg, 0, &resp);
    *part_err = resp.topics_count == 1 ? resp.topics[0].partitions[0].error_code : -1;
    return resp.error_code;
}

/* OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for topics a live consumer group
 * reads, NON_EMPTY_GROUP for live groups of other protocols. */
static void test_offset_delete(void **state)
{
    int16_t perr;
    assert_int_equal(delete_offsets("nope", "t", 0, &perr), KAFKA_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(commit("og", NULL, 8, (commit_part){"t", 0, 9, NULL}), 0);
    assert_int_equal(delete_offsets("og", "t", 0, &perr), 0);
    assert_int_equal(perr, 0);
    assert_int_equal(fetch1("og", 7, "t", 0).committed_offset, -1);
    assert_int_equal(delete_offsets("og", "missing", 0, &perr), 0);
    assert_int_equal(perr, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}

static void test_offset_delete_live_groups(void **state)
{
    /* the subscription bytes contain NULs, so this test builds the join
     * request itself */
    kafka_consumer_subscription s = {.version = 0, .topics = (const char *const[]){"read"}, .n_topics = 1,
                                     .user_data = KAFKA_BYTES_NULL, .generation = -1};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), KAFKA_ERR_OK);
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c("cg");
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 10000;
    req.member_id = kafka_str_c("");
    req.protocol_type = kafka_str_c("consumer");
    kafka_join_group_request_join_group_request_protocol p = {kafka_str_c("range"),
                                                              {w.data, (int32_t)w.len}};
    req.protocols = &p;
    req.protocols_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_JOIN_GROUP, &kafka_join_group_request_msg, 3, &req, &tok), 1);
    kafka_join_group_response jr;
    kt_mg_take_reply(tok, &kafka_join_group_response_msg, 3, &jr);
    assert_int_equal(jr.error_code, 0);
    kafka_wbuf_free(&w);
    assert_int_equal(commit("cg", NULL, 8, (commit_part){"read", 0, 1, NULL}), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    member m = mk("cg");
    m.id = kt_mg_dup(jr.member_id);
    m.generation = jr.generation_id;
    int16_t perr;
    assert_int_equal(sync(&m, 3, NULL, NULL, 0), 1); /* leader alone: Stable */
    assert_int_equal(sync_result(&m, 3, NULL), 0);
    assert_int_equal(commit("cg", &m, 8, (commit_part){"read", 0, 1, NULL}), 0);
    assert_int_equal(commit("cg", &m, 8, (commit_part){"other", 0, 1, NULL}), 0);
    assert_int_equal(delete_offsets("cg", "read", 0, &perr), 0);
    assert_int_equal(perr, KAFKA_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(delete_offsets("cg", "other", 0, &perr), 0);
    assert_int_equal(perr, 0);
    assert_int_equal(fetch1("cg", 7, "read", 0).committed_offset, 1);
    assert_int_equal(fetch1("cg", 7, "other", 0).committed_offset, -1);

    member a = mk("connect-group");
    a.protocol_type = "connect";
    assert_int_equal(join_with_id(&a, 5), 1);
    kafka_join_group_response r;
    join_result(&a, 5, &r);
    assert_int_equal(delete_offsets("connect-group", "t", 0, &perr), KAFKA_ERR_NON_EMPTY_GROUP);
}

/* ---- listing, describing, deleting ---------------------------------------- */

static kafka_list_groups_response list_groups(int16_t v, const char *state_filter, const char *type_filter)
{
    kafka_list_groups_request req;
    kafka_list_groups_request_init(&req);
    kafka_str sf = kafka_str_c(state_filter), tf = kafka_str_c(type_filter);
    if (state_filter) {
        req.states_filter = &sf;
        req.states_filter_count = 1;
    }
    if (type_filter) {
        req.types_filter = &tf;
        req.types_filter_count = 1;
    }
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_LIST_GROUPS, &kafka_list_groups_request_msg, v, &req, &tok), 1);
    kafka_list_groups_response resp;
    kt_mg_take_reply(tok, &kafka_list_groups_response_msg, v, &resp);
    assert_int_equal(resp.error_code, 0);
    return resp;
}

static kafka_describe_groups_response_described_group describe(int16_t v, const char *group)
{
    kafka_describe_groups_request req;
    kafka_describe_groups_request_init(&req);
    kafka_str name = kafka_str_c(group);
    req.groups = &name;
    req.groups_count = 1;
    req.include_authorized_operations = v >= 3;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_DESCRIBE_GROUPS, &kafka_describe_groups_request_msg, v, &req, &tok), 1);
    kafka_describe_groups_response resp;
    kt_mg_take_reply(tok, &kafka_describe_groups_response_msg, v, &resp);
    assert_int_equal(resp.groups_count, 1);
    return resp.groups[0];
}

static int16_t delete_group(int16_t v, const char *group)
{
    kafka_delete_groups_request req;
    kafka_delete_groups_request_init(&req);
    kafka_str name = kafka_str_c(group);
    req.groups_names = &name;
    req.groups_names_count = 1;
    uint64_t tok;
    assert_int_equal(kt_mg_send(KAFKA_API_DELETE_GROUPS, &kafka_delete_groups_request_msg, v, &req, &tok), 1);
    kafka_delete_groups_response resp;
    kt_mg_take_reply(tok, &kafka_delete_groups_response_msg, v, &resp);
    assert_int_equal(resp.results_count, 1);
    kt_mg_assert_str(resp.results[0].group_id, group);
    return resp.results[0].error_code;
}

static void test_list_describe_delete(void **state)
{
    kmock_groups_set_client(kt_mg_state.g, "client-1", "/127.0.0.1");
    member a = mk("live"), b = mk("live");
    stable_pair(&a, &b, 5);
    assert_int_equal(strncmp(a.id, "client-1-", 9), 0); /* Kafka: client id + "-" + uuid */
    assert_int_equal(commit("idle", NULL, 8, (commit_part){"t", 0, 1, NULL}), 0);

    kafka_list_groups_response l = list_groups(0, NULL, NULL);
    assert_int_equal(l.groups_count, 2);
    l = list_groups(4, "stable", NULL); /* states match case-insensitively */
    assert_int_equal(l.groups_count, 1);
    kt_mg_assert_str(l.groups[0].group_id, "live");
    kt_mg_assert_str(l.groups[0].protocol_type, "consumer");
    kt_mg_assert_str(l.groups[0].group_state, "Stable");
    l = list_groups(5, "Empty", "classic");
    assert_int_equal(l.groups_count, 1);
    kt_mg_assert_str(l.groups[0].group_id, "idle");
    kt_mg_assert_str(l.groups[0].group_type, "classic");
    kt_mg_assert_str(l.groups[0].protocol_type, "");
    l = list_groups(5, NULL, "consumer"); /* no KIP-848 groups */
    assert_int_equal(l.groups_count, 0);

    kafka_describe_groups_response_described_group d = describe(5, "live");
    assert_int_equal(d.error_code, 0);
    kt_mg_assert_str(d.group_state, "Stable");
    kt_mg_assert_str(d.protocol_type, "consumer");
    kt_mg_assert_str(d.protocol_data, "range");
    assert_int_equal(d.members_count, 2);
    assert_int_equal(d.authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    for (int i = 0; i < 2; i++) {
        const kafka_describe_groups_response_described_group_member *m = &d.members[i];
        bool is_a = kafka_str_eq_c(m->member_id, a.id);
        assert_true(is_a || kafka_str_eq_c(m->member_id, b.id));
        kt_mg_assert_str(m->client_id, "client-1");
        kt_mg_assert_str(m->client_host, "/127.0.0.1");
        kt_mg_assert_str((kafka_str){(const char *)m->member_metadata.ptr, m->member_metadata.len}, "sub");
        kt_mg_assert_str((kafka_str){(const char *)m->member_assignment.ptr, m->member_assignment.len}, is_a ? "A" : "B");
    }
    d = describe(0, "unknown");
    assert_int_equal(d.error_code, 0);
    kt_mg_assert_str(d.group_state, "Dead");
    assert_int_equal(d.members_count, 0);
    d = describe(2, "idle");
    kt_mg_assert_str(d.group_state, "Empty");
    assert_int_equal(d.authorized_operations, INT32_MIN);

    assert_int_equal(delete_group(0, "live"), KAFKA_ERR_NON_EMPTY_GROUP);
    assert_int_equal(delete_group(1, "unknown"), KAFKA_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(delete_group(2, "idle"), 0);
    assert_int_equal(fetch1("idle", 7, "t", 0).committed_offset, -1); /* offsets went with it */
    assert_int_equal(delete_group(2, "idle"), KAFKA_ERR_GROUP_ID_NOT_FOUND);
}

/* ---- every version, hostile input, limits ------------------------------------ */

static int16_t vmax(const kafka_gen_message *m, int16_t v) { return v < m->max_version ? v : m->max_version; }

/* One member's whole life at version v of every API (clamped to each
 * API's newest): each answer decodes at that version. */
static void test_every_version(void **state)
{
    for (int16_t v = 0; v <= 9; v++) {
        char group[16];
        snprintf(group, sizeof group, "ev%d", v);
        member a = mk(group);
        int16_t jv = vmax(&kafka_join_group_request_msg, v);
        kafka_join_group_response jr;
        assert_int_equal(join_with_id(&a, jv), 1);
        join_result(&a, jv, &jr);
        assert_int_equal(jr.error_code, 0);
        assert_int_equal(jr.generation_id, 1);
        int16_t sv = vmax(&kafka_sync_group_request_msg, v);
        const char *ids[] = {a.id};
        const char *as[] = {"x"};
        assert_int_equal(sync(&a, sv, ids, as, 1), 1);
        kafka_sync_group_response sr;
        assert_int_equal(sync_result(&a, sv, &sr), 0);
        assert_int_equal(sr.assignment.len, 1);
        assert_int_equal(heartbeat(&a, vmax(&kafka_heartbeat_request_msg, v)), 0);
        int16_t cv = vmax(&kafka_offset_commit_request_msg, v);
        assert_int_equal(commit(group, &a, cv, (commit_part){"t", 1, 100 + v, "m"}), cv == 0 ? KAFKA_ERR_UNKNOWN_MEMBER_ID : 0);
        int16_t fv = vmax(&kafka_offset_fetch_request_msg, v);
        if (fv < 8 && cv > 0)
            assert_int_equal(fetch1(group, fv, "t", 1).committed_offset, 100 + v);
        int16_t dv = vmax(&kafka_describe_groups_request_msg, v);
        kt_mg_assert_str(describe(dv, group).group_state, "Stable");
        (void)list_groups(vmax(&kafka_list_groups_request_msg, v), NULL, NULL);
        kafka_leave_group_request lr;
        kafka_leave_group_request_init(&lr);
        lr.group_id = kafka_str_c(group);
        int16_t lv = vmax(&kafka_leave_group_request_msg, v);
        kafka_leave_group_request_member_identity id;
        kafka_leave_group_request_member_identity_init(&id);
        id.member_id = kafka_str_c(a.id);
        if (lv >= 3) {
            lr.members = &id;
            lr.members_count = 1;
        } else {
            lr.member_id = kafka_str_c(a.id);
        }
        uint64_t tok;
        assert_int_equal(kt_mg_send(KAFKA_API_LEAVE_GROUP, &kafka_leave_group_request_msg, lv, &lr, &tok), 1);
        kafka_leave_group_response resp;
        kt_mg_take_reply(tok, &kafka_leave_group_response_msg, lv, &resp);
        assert_int_equal(resp.error_code, 0);
        assert_int_equal(delete_group(vmax(&kafka_delete_groups_request_msg, v), group), 0);
    }
}

static void ignore_reply(void *ctx, uint64_t token, const uint8_t *body, size_t len)
{
    fail_msg("an undecodable request was answered");
}

static void test_bad_requests(void **state)
{
    const uint8_t junk[] = {0x00, 0x05, 'a'};
    assert_true(kmock_groups_handle(kt_mg_state.g, KAFKA_API_JOIN_GROUP, 5, junk, sizeof junk, kt_mg_state.now, 1, ignore_reply, NULL) < 0);
    assert_true(kmock_groups_handle(kt_mg_state.g, KAFKA_API_FETCH, 5, junk, sizeof junk, kt_mg_state.now, 2, ignore_reply, NULL) < 0);
    assert_true(kmock_groups_handle(kt_mg_state.g, KAFKA_API_HEARTBEAT, 99, junk, sizeof junk, kt_mg_state.now, 3, ignore_reply, NULL) < 0);
    assert_true(kmock_groups_handle(kt_mg_state.g, KAFKA_API_LIST_GROUPS, 3, NULL, 0, kt_mg_state.now, 4, ignore_reply, NULL) < 0);
    assert_int_equal(kt_mg_state.n_replies, 0);
    /* every truncation of a valid body is refused, never read past */
    member a = mk("g");
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.session_timeout_ms = 10000;
    req.protocol_type = kafka_str_c("consumer");
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_gen_encode(&w, &kafka_join_group_request_msg, 9, &req), KAFKA_ERR_OK);
    for (size_t n = 0; n < w.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, w.data, n);
        assert_true(kmock_groups_handle(kt_mg_state.g, KAFKA_API_JOIN_GROUP, 9, copy, n, kt_mg_state.now, 5, ignore_reply, NULL) < 0);
        free(copy);
    }
    kafka_wbuf_free(&w);
    (void)a;
}

static void test_limits(void **state)
{
    member a = mk("g");
    char *meta = malloc(KMOCK_MEMBER_MAX_METADATA + 2);
    memset(meta, 'm', KMOCK_MEMBER_MAX_METADATA + 1);
    meta[KMOCK_MEMBER_MAX_METADATA + 1] = '\0';
    a.meta = meta;
    assert_int_equal(join(&a, 3), 1);
    kafka_join_group_response r;
    join_result(&a, 3, &r);
    assert_int_equal(r.error_code, KAFKA_ERR_INVALID_REQUEST);
    free(meta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_handshake_and_initial_delay, setup_delay, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_distributes_assignments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_waits_for_all_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout_drops_laggard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry_triggers_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_membership_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_member_blocks_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_max_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member_survives_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_fetch_batched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_commit_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_delete_live_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_describe_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
