/* The classic membership state machine (group/membership.h) driven with
 * scripted coordinator responses, no broker: leader and follower joins,
 * the rebalance errors, commits during a rebalance, session expiry,
 * leaving. The requests it builds are decoded and checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/membership.h"
#include "protocol/gen/all.h"

/* Versions the scripted coordinator "supports". */
static int16_t version_of(int16_t api)
{
    switch (api) {
    case KAFKA_API_JOIN_GROUP:
        return 5;
    case KAFKA_API_SYNC_GROUP:
        return 3;
    case KAFKA_API_HEARTBEAT:
        return 3;
    case KAFKA_API_LEAVE_GROUP:
        return 3;
    case KAFKA_API_OFFSET_COMMIT:
        return 7;
    case KAFKA_API_OFFSET_FETCH:
        return 5;
    default:
        return 0;
    }
}

#define SESSION 10000
#define HB 1000

typedef struct h {
    kgm *m;
    int64_t now;
    kafka_arena a;    /* decoded requests */
    kafka_wbuf last;  /* the last request's body */
    kgm_request rq;   /* the last request */
    const char *proto; /* the assignor the scripted coordinator picks */
} h;

static kafka_err four_partitions(void *arg, const char *topic, int32_t *count)
{
    (void)arg;
    if (strcmp(topic, "t") != 0)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    *count = 4;
    return 0;
}

static const char *const topics[] = {"t"};

/* Unknown until the count goes to 0 (the owner's metadata answer came). */
static int pending_lookups;

static kafka_err slow_partitions(void *arg, const char *topic, int32_t *count)
{
    (void)arg;
    (void)topic;
    if (pending_lookups > 0) {
        pending_lookups--;
        return KAFKA_ERR_TIMEOUT;
    }
    *count = 4;
    return 0;
}

/* The partition counts h_init's machines see (NULL: four_partitions). */
static kafka_err (*count_fn)(void *, const char *, int32_t *);

static void h_init(h *x, const kafka_assignor *as, const char *instance)
{
    memset(x, 0, sizeof *x);
    static const kafka_assignor *ass[1];
    ass[0] = as;
    kgm_config c = {
        .group_id = "g",
        .instance_id = instance,
        .topics = topics,
        .n_topics = 1,
        .assignors = ass,
        .n_assignors = 1,
        .session_timeout_ms = SESSION,
        .rebalance_timeout_ms = 20000,
        .heartbeat_interval_ms = HB,
        .backoff_min_ms = 100,
        .backoff_max_ms = 1000,
        .partition_count = count_fn ? count_fn : four_partitions,
    };
    x->now = 1000000;
    x->proto = as->name;
    assert_int_equal(kgm_new(&x->m, &c, x->now), 0);
    kafka_arena_init(&x->a, 0);
    kafka_wbuf_init(&x->last);
}

static void h_free(h *x)
{
    kgm_free(x->m);
    kafka_arena_free(&x->a);
    kafka_wbuf_free(&x->last);
}

/* The next request must be `api`; it is built into x->last. */
static void expect(h *x, int16_t api)
{
    kgm_request rq;
    assert_true(kgm_next_request(x->m, x->now, &rq));
    assert_int_equal(rq.api_key, api);
    int16_t v = version_of(api);
    assert_true(v >= rq.min_version && v <= rq.max_version);
    kafka_wbuf_free(&x->last);
    kafka_wbuf_init(&x->last);
    assert_int_equal(kgm_build(x->m, rq.id, v, &x->last, x->now), 0);
    x->rq = rq;
}

static void expect_none(h *x)
{
    kgm_request rq;
    assert_false(kgm_next_request(x->m, x->now, &rq));
}

static kafka_rbuf last_body(h *x)
{
    kafka_rbuf r;
    kafka_rbuf_init(&r, x->last.data, x->last.len);
    return r;
}

/* Sends what the coordinator answers to the last request. */
static void respond(h *x, kafka_err (*enc)(kafka_wbuf *, int16_t, const void *), const void *resp)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(enc(&w, version_of(x->rq.api_key), resp), 0);
    kgm_response(x->m, x->rq.id, 0, w.data, w.len, x->now);
    kafka_wbuf_free(&w);
}

#define ENC(T)                                                                                                         \
    static kafka_err T##_enc(kafka_wbuf *w, int16_t v, const void *m) { return kafka_##T##_encode(w, v, m); }
ENC(join_group_response)
ENC(sync_group_response)
ENC(heartbeat_response)
ENC(offset_fetch_response)
ENC(offset_commit_response)
ENC(leave_group_response)

static kgm_event next_event(h *x, kgm_event_kind kind)
{
    kgm_event ev;
    assert_true(kgm_next_event(x->m, &ev));
    if (ev.kind != kind)
        fail_msg("event %d, expected %d (%s)", ev.kind, kind, ev.text);
    return ev;
}

static void no_event(h *x)
{
    kgm_event ev;
    if (kgm_next_event(x->m, &ev))
        fail_msg("unexpected event %d (%s)", ev.kind, ev.text);
}

static kafka_bytes subscription(kafka_arena *a)
{
    kafka_consumer_subscription s = {.version = 1, .topics = topics, .n_topics = 1, .user_data = KAFKA_BYTES_NULL,
                                     .generation = -1};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_subscription_encode(&s, &w), 0);
    uint8_t *c = kafka_arena_alloc(a, w.len);
    memcpy(c, w.data, w.len);
    kafka_bytes b = {c, (int32_t)w.len};
    kafka_wbuf_free(&w);
    return b;
}

static kafka_bytes assignment(kafka_arena *a, const int32_t *parts, size_t n)
{
    kafka_topic_partition tp[8];
    for (size_t i = 0; i < n; i++)
        tp[i] = (kafka_topic_partition){"t", parts[i]};
    kafka_consumer_assignment ca = {.version = 1, .partitions = tp, .n_partitions = n, .user_data = KAFKA_BYTES_NULL};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_assignment_encode(&ca, &w), 0);
    uint8_t *c = kafka_arena_alloc(a, w.len);
    memcpy(c, w.data, w.len);
    kafka_bytes b = {c, (int32_t)w.len};
    kafka_wbuf_free(&w);
    return b;
}

/* Answers the last JoinGroup: member `me`, leader `leader`; the leader
 * gets the member list (me and, with other, a second member). */
static void join_ok(h *x, const char *me, const char *leader, const char *other, int32_t gen)
{
    kafka_join_group_response r;
    kafka_join_group_response_init(&r);
    r.generation_id = gen;
    r.protocol_name = kafka_str_c(x->proto);
    r.leader = kafka_str_c(leader);
    r.member_id = kafka_str_c(me);
    kafka_join_group_response_join_group_response_member ms[2];
    memset(ms, 0, sizeof ms);
    if (strcmp(me, leader) == 0) {
        ms[0].member_id = kafka_str_c(me);
        ms[0].group_instance_id = KAFKA_STR_NULL;
        ms[0].metadata = subscription(&x->a);
        if (other) {
            ms[1].member_id = kafka_str_c(other);
            ms[1].group_instance_id = KAFKA_STR_NULL;
            ms[1].metadata = subscription(&x->a);
        }
        r.members = ms;
        r.members_count = other ? 2 : 1;
    }
    respond(x, join_group_response_enc, &r);
}

static void join_err(h *x, kafka_err err, const char *member)
{
    kafka_join_group_response r;
    kafka_join_group_response_init(&r);
    r.error_code = (int16_t)err;
    r.protocol_name = kafka_str_c("");
    r.leader = kafka_str_c("");
    r.member_id = kafka_str_c(member);
    respond(x, join_group_response_enc, &r);
}

static void sync_ok(h *x, const int32_t *parts, size_t n)
{
    kafka_sync_group_response r;
    kafka_sync_group_response_init(&r);
    r.assignment = assignment(&x->a, parts, n);
    respond(x, sync_group_response_enc, &r);
}

static void sync_err(h *x, kafka_err err)
{
    kafka_sync_group_response r;
    kafka_sync_group_response_init(&r);
    r.error_code = (int16_t)err;
    r.assignment = (kafka_bytes){(const uint8_t *)"", 0};
    respond(x, sync_group_response_enc, &r);
}

static void hb_answer(h *x, kafka_err err)
{
    kafka_heartbeat_response r;
    kafka_heartbeat_response_init(&r);
    r.error_code = (int16_t)err;
    respond(x, heartbeat_response_enc, &r);
}

/* Answers the last OffsetFetch: partition p committed at offs[p]. */
static void offsets_ok(h *x, const int64_t *offs, int32_t n)
{
    kafka_offset_fetch_response_offset_fetch_response_partition ps[8];
    for (int32_t i = 0; i < n; i++) {
        kafka_offset_fetch_response_offset_fetch_response_partition_init(&ps[i]);
        ps[i].partition_index = i;
        ps[i].committed_offset = offs[i];
        ps[i].metadata = kafka_str_c("");
    }
    kafka_offset_fetch_response_offset_fetch_response_topic t;
    kafka_offset_fetch_response_offset_fetch_response_topic_init(&t);
    t.name = kafka_str_c("t");
    t.partitions = ps;
    t.partitions_count = n;
    kafka_offset_fetch_response r;
    kafka_offset_fetch_response_init(&r);
    r.topics = &t;
    r.topics_count = 1;
    respond(x, offset_fetch_response_enc, &r);
}

/* Answers the last OffsetCommit with err for every partition it names. */
static void commit_answer(h *x, kafka_err err)
{
    kafka_rbuf rb = last_body(x);
    kafka_offset_commit_request req;
    assert_int_equal(kafka_offset_commit_request_decode(&rb, &x->a, version_of(KAFKA_API_OFFSET_COMMIT), &req), 0);
    kafka_offset_commit_response_offset_commit_response_topic *ts =
        kafka_arena_calloc(&x->a, (size_t)req.topics_count + 1, sizeof *ts);
    for (int32_t t = 0; t < req.topics_count; t++) {
        ts[t].name = req.topics[t].name;
        ts[t].partitions_count = req.topics[t].partitions_count;
        ts[t].partitions = kafka_arena_calloc(&x->a, (size_t)ts[t].partitions_count + 1, sizeof *ts[t].partitions);
        for (int32_t p = 0; p < ts[t].partitions_count; p++) {
            ts[t].partitions[p].partition_index = req.topics[t].partitions[p].partition_index;
            ts[t].partitions[p].error_code = (int16_t)err;
        }
    }
    kafka_offset_commit_response r;
    kafka_offset_commit_response_init(&r);
    r.topics = ts;
    r.topics_count = req.topics_count;
    respond(x, offset_commit_response_enc, &r);
}

static kafka_join_group_request last_join(h *x)
{
    kafka_rbuf rb = last_body(x);
    kafka_join_group_request req;
    assert_int_equal(kafka_join_group_request_decode(&rb, &x->a, version_of(KAFKA_API_JOIN_GROUP), &req), 0);
    return req;
}

static bool str_is(kafka_str s, const char *c) { return kafka_str_eq_c(s, c); }

/* A lone member up to a stable generation owning partitions 0..n-1 (of
 * "t"), committed offsets 10 + p. */
static void join_alone(h *x, const int32_t *parts, size_t n, int32_t gen)
{
    assert_true(kgm_needs_coordinator(x->m, x->now));
    kgm_coordinator(x->m, 1, x->now);
    expect(x, KAFKA_API_JOIN_GROUP);
    join_ok(x, "m1", "m1", NULL, gen);
    expect(x, KAFKA_API_SYNC_GROUP);
    sync_ok(x, parts, n);
    expect(x, KAFKA_API_OFFSET_FETCH);
    int64_t offs[8];
    for (size_t i = 0; i < 8; i++)
        offs[i] = 10 + (int64_t)i;
    offsets_ok(x, offs, 4);
    kgm_event ev = next_event(x, KGM_EV_ASSIGNED);
    assert_int_equal(ev.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ev.parts[i].topic, "t");
        assert_int_equal(ev.parts[i].offset, 10 + ev.parts[i].partition);
    }
    no_event(x);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_leader_join(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    assert_true(kgm_needs_coordinator(x.m, x.now));
    expect_none(&x); /* nothing without a coordinator */
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    kafka_join_group_request j = last_join(&x);
    assert_true(str_is(j.member_id, ""));
    assert_int_equal(j.protocols_count, 1);
    assert_true(str_is(j.protocols[0].name, "range"));
    /* KIP-394: the broker hands out the member id; the retry carries it. */
    join_err(&x, KAFKA_ERR_MEMBER_ID_REQUIRED, "m1");
    expect(&x, KAFKA_API_JOIN_GROUP);
    j = last_join(&x);
    assert_true(str_is(j.member_id, "m1"));
    join_ok(&x, "m1", "m1", "m2", 7);
    assert_int_equal(kgm_generation(x.m), 7);
    assert_true(kgm_is_leader(x.m));
    /* The leader's SyncGroup goes at once (no wait for the followers) with
     * range's assignment: m1 gets 0,1 and m2 gets 2,3. */
    expect(&x, KAFKA_API_SYNC_GROUP);
    kafka_rbuf rb = last_body(&x);
    kafka_sync_group_request s;
    assert_int_equal(kafka_sync_group_request_decode(&rb, &x.a, 3, &s), 0);
    assert_int_equal(s.generation_id, 7);
    assert_int_equal(s.assignments_count, 2);
    for (int i = 0; i < 2; i++) {
        kafka_consumer_assignment ca;
        assert_int_equal(kafka_consumer_assignment_decode(s.assignments[i].assignment.ptr,
                                                          (size_t)s.assignments[i].assignment.len, &x.a, &ca),
                         0);
        assert_int_equal(ca.n_partitions, 2);
        int32_t first = str_is(s.assignments[i].member_id, "m1") ? 0 : 2;
        assert_int_equal(ca.partitions[0].partition, first);
        assert_int_equal(ca.partitions[1].partition, first + 1);
    }
    sync_ok(&x, (int32_t[]){0, 1}, 2);
    expect(&x, KAFKA_API_OFFSET_FETCH);
    offsets_ok(&x, (int64_t[]){5, -1}, 2);
    kgm_event ev = next_event(&x, KGM_EV_ASSIGNED);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.parts[0].offset, 5);
    assert_int_equal(ev.parts[1].offset, -1);
    assert_int_equal(kgm_rounds(x.m), 1);
    assert_false(kgm_rebalancing(x.m));
    /* Heartbeats every interval, carrying the generation. */
    expect_none(&x);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    rb = last_body(&x);
    kafka_heartbeat_request hb;
    assert_int_equal(kafka_heartbeat_request_decode(&rb, &x.a, 3, &hb), 0);
    assert_int_equal(hb.generation_id, 7);
    assert_true(str_is(hb.member_id, "m1"));
    hb_answer(&x, 0);
    no_event(&x);
    h_free(&x);
}

static void test_follower_join(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m2", "m1", NULL, 3);
    assert_false(kgm_is_leader(x.m));
    expect(&x, KAFKA_API_SYNC_GROUP);
    kafka_rbuf rb = last_body(&x);
    kafka_sync_group_request s;
    assert_int_equal(kafka_sync_group_request_decode(&rb, &x.a, 3, &s), 0);
    assert_int_equal(s.assignments_count, 0);
    /* A coordinator that completed the round without this follower (as
     * librdkafka's mock does when the leader synced first) refuses its
     * SyncGroup: it joins again at once. */
    sync_err(&x, KAFKA_ERR_INVALID_REQUEST);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m2", "m1", NULL, 4);
    expect(&x, KAFKA_API_SYNC_GROUP);
    sync_ok(&x, (int32_t[]){2, 3}, 2);
    expect(&x, KAFKA_API_OFFSET_FETCH);
    offsets_ok(&x, (int64_t[]){-1, -1, 7, 8}, 4);
    kgm_event ev = next_event(&x, KGM_EV_ASSIGNED);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.parts[0].partition, 2);
    assert_int_equal(ev.parts[0].offset, 7);
    h_free(&x);
}

/* librdkafka's mock completes a round with the leader's SyncGroup and
 * refuses a follower's later one; the follower rejoins at once. When
 * rounds follow each other so, the leader backs off before its SyncGroup;
 * the first round, and a round long after the last, go at once. */
static void test_leader_backs_off_after_quick_rounds(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m1", "m1", "m2", 1);
    expect(&x, KAFKA_API_SYNC_GROUP); /* the first round: at once */
    sync_ok(&x, (int32_t[]){0, 1}, 2);
    expect(&x, KAFKA_API_OFFSET_FETCH);
    offsets_ok(&x, (int64_t[]){-1, -1}, 2);
    next_event(&x, KGM_EV_ASSIGNED);
    /* The refused follower rejoined: the next heartbeat says so. */
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    next_event(&x, KGM_EV_REVOKE);
    kgm_revoke_done(x.m, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m1", "m1", "m2", 2);
    expect_none(&x); /* backing off */
    assert_true(kgm_deadline(x.m) > x.now);
    x.now = kgm_deadline(x.m);
    expect(&x, KAFKA_API_SYNC_GROUP);
    sync_ok(&x, (int32_t[]){0, 1}, 2);
    expect(&x, KAFKA_API_OFFSET_FETCH);
    offsets_ok(&x, (int64_t[]){-1, -1}, 2);
    next_event(&x, KGM_EV_ASSIGNED);
    /* Much later, another member: no wait. */
    x.now += 10 * HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    next_event(&x, KGM_EV_REVOKE);
    kgm_revoke_done(x.m, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m1", "m1", "m2", 3);
    expect(&x, KAFKA_API_SYNC_GROUP);
    h_free(&x);
}

/* The leader's partition counts are not cached yet: the SyncGroup waits
 * for them (asked again every backoff_min_ms), without blocking. */
static void test_leader_waits_for_partition_counts(void **state)
{
    (void)state;
    h x;
    count_fn = slow_partitions;
    h_init(&x, &kafka_assignor_range, NULL);
    count_fn = NULL;
    pending_lookups = 2;
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m1", "m1", "m2", 1);
    expect_none(&x);
    assert_int_equal(pending_lookups, 1);
    x.now = kgm_deadline(x.m);
    expect_none(&x); /* the second lookup: still pending */
    x.now = kgm_deadline(x.m);
    expect(&x, KAFKA_API_SYNC_GROUP);
    kafka_rbuf rb = last_body(&x);
    kafka_sync_group_request s;
    assert_int_equal(kafka_sync_group_request_decode(&rb, &x.a, 3, &s), 0);
    assert_int_equal(s.assignments_count, 2);
    kafka_consumer_assignment ca;
    assert_int_equal(kafka_consumer_assignment_decode(s.assignments[0].assignment.ptr,
                                                      (size_t)s.assignments[0].assignment.len, &x.a, &ca),
                     0);
    assert_int_equal(ca.n_partitions, 2);
    h_free(&x);
}

static void test_rebalance_in_progress_revokes_then_joins(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0, 1}, 2, 1);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    /* Eager: everything is revoked before the JoinGroup, which waits for
     * the owner (its callback, its commit). */
    kgm_event ev = next_event(&x, KGM_EV_REVOKE);
    assert_int_equal(ev.n, 2);
    assert_true(kgm_rebalancing(x.m));
    expect_none(&x);
    /* The revoke's commit goes before the JoinGroup, in the old generation. */
    kgm_partition c = {ev.parts[0].topic, 0, 42, 0};
    assert_int_equal(kgm_commit(x.m, &c, 1, &x, x.now + 5000, x.now), 0);
    kgm_revoke_done(x.m, x.now);
    expect(&x, KAFKA_API_OFFSET_COMMIT);
    kafka_rbuf rb = last_body(&x);
    kafka_offset_commit_request oc;
    assert_int_equal(kafka_offset_commit_request_decode(&rb, &x.a, 7, &oc), 0);
    assert_int_equal(oc.generation_id_or_member_epoch, 1);
    assert_int_equal(oc.topics[0].partitions[0].committed_offset, 42);
    expect_none(&x);
    commit_answer(&x, 0);
    ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_ptr_equal(ev.token, &x);
    assert_int_equal(ev.err, 0);
    expect(&x, KAFKA_API_JOIN_GROUP);
    kafka_join_group_request j = last_join(&x);
    assert_true(str_is(j.member_id, "m1"));
    h_free(&x);
}

static void test_revoke_wait_is_bounded(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0}, 1, 1);
    kgm_rejoin(x.m, x.now);
    next_event(&x, KGM_EV_REVOKE);
    expect_none(&x);
    /* The owner never finishes (its application does not read): half the
     * rebalance timeout later the member joins anyway. */
    x.now += 10000;
    kgm_tick(x.m, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    h_free(&x);
}

static void test_unknown_member_id(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0, 1}, 2, 1);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    /* The generation is gone: lost (no commit), then a join as a new member. */
    kgm_event ev = next_event(&x, KGM_EV_LOST);
    assert_int_equal(ev.n, 2);
    assert_int_equal(kgm_generation(x.m), -1);
    expect(&x, KAFKA_API_JOIN_GROUP);
    assert_true(str_is(last_join(&x).member_id, ""));
    h_free(&x);
}

static void test_illegal_generation(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0}, 1, 4);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_ILLEGAL_GENERATION);
    next_event(&x, KGM_EV_LOST);
    /* The member id stays. */
    expect(&x, KAFKA_API_JOIN_GROUP);
    assert_true(str_is(last_join(&x).member_id, "m1"));
    /* A commit without a generation is refused at once. */
    kgm_partition c = {"t", 0, 1, 0};
    join_err(&x, KAFKA_ERR_UNKNOWN_MEMBER_ID, "");
    assert_int_equal(kgm_commit(x.m, &c, 1, NULL, x.now + 1000, x.now), 0);
    kgm_event ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_int_equal(ev.err, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    expect(&x, KAFKA_API_JOIN_GROUP);
    assert_true(str_is(last_join(&x).member_id, ""));
    h_free(&x);
}

static void test_coordinator_moves(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0}, 1, 1);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_NOT_COORDINATOR);
    /* Not lost: look the coordinator up again, heartbeat there. */
    no_event(&x);
    assert_true(kgm_needs_coordinator(x.m, x.now));
    expect_none(&x);
    kgm_coordinator(x.m, 2, x.now);
    assert_int_equal(kgm_coordinator_id(x.m), 2);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, 0);
    /* A connection lost under a JoinGroup: look it up again, join again. */
    kgm_rejoin(x.m, x.now);
    next_event(&x, KGM_EV_REVOKE);
    kgm_revoke_done(x.m, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    kgm_response(x.m, x.rq.id, KAFKA_ERR_TRANSPORT, NULL, 0, x.now);
    assert_true(kgm_needs_coordinator(x.m, x.now));
    kgm_coordinator_failed(x.m, KAFKA_ERR_TRANSPORT, "refused", x.now);
    assert_false(kgm_needs_coordinator(x.m, x.now)); /* backoff */
    x.now += 1000;
    assert_true(kgm_needs_coordinator(x.m, x.now));
    kgm_coordinator(x.m, 3, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    /* COORDINATOR_NOT_AVAILABLE from the JoinGroup: the same. */
    join_err(&x, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, "m1");
    assert_true(kgm_needs_coordinator(x.m, x.now));
    h_free(&x);
}

static void test_fenced_instance_is_fatal(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, "inst-1");
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    assert_true(str_is(last_join(&x).group_instance_id, "inst-1"));
    join_ok(&x, "m1", "m1", NULL, 1);
    expect(&x, KAFKA_API_SYNC_GROUP);
    sync_ok(&x, (int32_t[]){0}, 1);
    expect(&x, KAFKA_API_OFFSET_FETCH);
    offsets_ok(&x, (int64_t[]){-1}, 1);
    next_event(&x, KGM_EV_ASSIGNED);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, KAFKA_ERR_FENCED_INSTANCE_ID);
    next_event(&x, KGM_EV_LOST);
    kgm_event ev = next_event(&x, KGM_EV_ERROR);
    assert_int_equal(ev.err, KAFKA_ERR_FENCED_INSTANCE_ID);
    assert_true(ev.fatal);
    assert_non_null(strstr(ev.text, "group g"));
    /* Stopped: no more requests, ever. */
    x.now += 60000;
    kgm_tick(x.m, x.now);
    expect_none(&x);
    assert_int_equal(kgm_deadline(x.m), -1);
    h_free(&x);
}

static void test_commit_during_rebalance(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_cooperative_sticky, NULL);
    join_alone(&x, (int32_t[]){0, 1}, 2, 1);
    x.now += 3 * HB;
    expect(&x, KAFKA_API_HEARTBEAT);
    hb_answer(&x, 0);
    /* Cooperative: a rejoin keeps the partitions (no revoke first). */
    kgm_rejoin(x.m, x.now);
    no_event(&x);
    expect(&x, KAFKA_API_JOIN_GROUP);
    assert_int_equal(last_join(&x).protocols_count, 1);
    /* Commits while the round is in flight wait for its end... */
    kgm_partition keep = {"t", 0, 100, 0}, moved = {"t", 1, 200, 0};
    int tok_keep, tok_moved;
    kgm_partition both[1] = {keep};
    assert_int_equal(kgm_commit(x.m, both, 1, &tok_keep, x.now + 60000, x.now), 0);
    assert_int_equal(kgm_commit(x.m, &moved, 1, &tok_moved, x.now + 60000, x.now), 0);
    join_ok(&x, "m1", "m1", "m2", 2);
    expect(&x, KAFKA_API_SYNC_GROUP);
    no_event(&x);
    /* ...then partition 1 moves to m2: its commit fails, partition 0's
     * goes with the new generation; partition 1 is revoked, and the member
     * joins again once the owner is done with it. */
    sync_ok(&x, (int32_t[]){0}, 1);
    kgm_event ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_ptr_equal(ev.token, &tok_moved);
    assert_int_equal(ev.err, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    ev = next_event(&x, KGM_EV_REVOKE);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.parts[0].partition, 1);
    expect(&x, KAFKA_API_OFFSET_COMMIT);
    kafka_rbuf rb = last_body(&x);
    kafka_offset_commit_request oc;
    assert_int_equal(kafka_offset_commit_request_decode(&rb, &x.a, 7, &oc), 0);
    assert_int_equal(oc.generation_id_or_member_epoch, 2);
    assert_int_equal(oc.topics[0].partitions[0].partition_index, 0);
    commit_answer(&x, 0);
    ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_ptr_equal(ev.token, &tok_keep);
    assert_int_equal(ev.err, 0);
    kgm_revoke_done(x.m, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    h_free(&x);
}

static void test_commit_refused_asks_rejoin(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_cooperative_sticky, NULL);
    join_alone(&x, (int32_t[]){0}, 1, 1);
    kgm_partition c = {"t", 0, 5, 0};
    assert_int_equal(kgm_commit(x.m, &c, 1, NULL, x.now + 1000, x.now), 0);
    expect(&x, KAFKA_API_OFFSET_COMMIT);
    commit_answer(&x, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    kgm_event ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_int_equal(ev.err, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    expect(&x, KAFKA_API_JOIN_GROUP);
    /* A commit that finds no coordinator is retried there until its
     * deadline, then fails with TIMEOUT. */
    join_ok(&x, "m1", "m1", NULL, 2);
    expect(&x, KAFKA_API_SYNC_GROUP);
    sync_ok(&x, (int32_t[]){0}, 1);
    assert_int_equal(kgm_commit(x.m, &c, 1, NULL, x.now + 1000, x.now), 0);
    expect(&x, KAFKA_API_OFFSET_COMMIT);
    commit_answer(&x, KAFKA_ERR_NOT_COORDINATOR);
    no_event(&x);
    x.now += 1000;
    expect_none(&x);
    ev = next_event(&x, KGM_EV_COMMIT_DONE);
    assert_int_equal(ev.err, KAFKA_ERR_TIMEOUT);
    h_free(&x);
}

static void test_session_expiry(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0, 1, 2}, 3, 1);
    x.now += HB;
    expect(&x, KAFKA_API_HEARTBEAT); /* never answered */
    assert_true(kgm_deadline(x.m) <= x.now + SESSION);
    x.now += SESSION;
    kgm_tick(x.m, x.now);
    next_event(&x, KGM_EV_ERROR);
    kgm_event ev = next_event(&x, KGM_EV_LOST);
    assert_int_equal(ev.n, 3);
    assert_int_equal(kgm_generation(x.m), -1);
    expect(&x, KAFKA_API_JOIN_GROUP);
    h_free(&x);
}

static void test_periodic_commit_due(void **state)
{
    (void)state;
    h x;
    memset(&x, 0, sizeof x);
    static const kafka_assignor *ass[1] = {&kafka_assignor_range};
    kgm_config c = {.group_id = "g", .topics = topics, .n_topics = 1, .assignors = ass, .n_assignors = 1,
                    .session_timeout_ms = SESSION, .rebalance_timeout_ms = 20000, .heartbeat_interval_ms = HB,
                    .commit_interval_ms = 5000, .partition_count = four_partitions};
    x.now = 1000;
    x.proto = "range";
    assert_int_equal(kgm_new(&x.m, &c, x.now), 0);
    kafka_arena_init(&x.a, 0);
    kafka_wbuf_init(&x.last);
    join_alone(&x, (int32_t[]){0}, 1, 1);
    x.now += 5000;
    kgm_tick(x.m, x.now);
    next_event(&x, KGM_EV_COMMIT_DUE);
    h_free(&x);
}

static void test_leave(void **state)
{
    (void)state;
    h x;
    h_init(&x, &kafka_assignor_range, NULL);
    join_alone(&x, (int32_t[]){0}, 1, 1);
    /* The close's commit goes first, then LeaveGroup. */
    kgm_partition c = {"t", 0, 9, 0};
    assert_int_equal(kgm_commit(x.m, &c, 1, NULL, x.now + 1000, x.now), 0);
    kgm_leave(x.m, x.now);
    expect(&x, KAFKA_API_OFFSET_COMMIT);
    expect_none(&x);
    commit_answer(&x, 0);
    next_event(&x, KGM_EV_COMMIT_DONE);
    expect(&x, KAFKA_API_LEAVE_GROUP);
    kafka_rbuf rb = last_body(&x);
    kafka_leave_group_request lr;
    assert_int_equal(kafka_leave_group_request_decode(&rb, &x.a, 3, &lr), 0);
    assert_int_equal(lr.members_count, 1);
    assert_true(str_is(lr.members[0].member_id, "m1"));
    kafka_leave_group_response r;
    kafka_leave_group_response_init(&r);
    respond(&x, leave_group_response_enc, &r);
    kgm_event ev = next_event(&x, KGM_EV_LEFT);
    assert_int_equal(ev.err, 0);
    expect_none(&x);
    h_free(&x);

    /* A static member keeps its place: no LeaveGroup. */
    h_init(&x, &kafka_assignor_range, "inst");
    kgm_coordinator(x.m, 1, x.now);
    expect(&x, KAFKA_API_JOIN_GROUP);
    join_ok(&x, "m1", "m1", NULL, 1);
    kgm_leave(x.m, x.now);
    expect_none(&x);
    next_event(&x, KGM_EV_LEFT);
    h_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_join),
        cmocka_unit_test(test_follower_join),
        cmocka_unit_test(test_leader_backs_off_after_quick_rounds),
        cmocka_unit_test(test_leader_waits_for_partition_counts),
        cmocka_unit_test(test_rebalance_in_progress_revokes_then_joins),
        cmocka_unit_test(test_revoke_wait_is_bounded),
        cmocka_unit_test(test_unknown_member_id),
        cmocka_unit_test(test_illegal_generation),
        cmocka_unit_test(test_coordinator_moves),
        cmocka_unit_test(test_fenced_instance_is_fatal),
        cmocka_unit_test(test_commit_during_rebalance),
        cmocka_unit_test(test_commit_refused_asks_rejoin),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_periodic_commit_due),
        cmocka_unit_test(test_leave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
