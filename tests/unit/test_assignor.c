/* Partition assignors. Expected assignments are the values the Java
 * client's RangeAssignorTest / RoundRobinAssignorTest assert for the same
 * scenarios, or worked out by hand from the assignor's published rules
 * (comments show the working). The cooperative-sticky assignor is also
 * checked against invariants over many random membership changes, with
 * the minimal number of moves computed independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/assignor.h"

static kafka_arena arena;

static int setup(void **state)
{
    kafka_arena_init(&arena, 0);
    return 0;
}

static int teardown(void **state)
{
    kafka_arena_free(&arena);
    return 0;
}

/* "t1-0,t1-1,t2-0": a member's partitions in the order returned. */
static const char *fmt(const kafka_member_assignment *a)
{
    static char buf[4096];
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < a->n_partitions; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s-%d", i ? "," : "", a->partitions[i].topic,
                                (int)a->partitions[i].partition);
    return buf;
}

#define EXPECT(out, i, want) assert_string_equal(fmt(&(out)[i]), (want))

static kafka_member_assignment *run(const kafka_assignor *a, const kafka_group_member *m, size_t n,
                                    const kafka_topic_metadata *t, size_t nt)
{
    kafka_member_assignment *out = NULL;
    assert_int_equal(kafka_assignor_assign(a, m, n, t, nt, &arena, &out), 0);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i].member_id, m[i].member_id);
    return out;
}

static const char *T1[] = {"t1"};
static const char *T2[] = {"t2"};
static const char *T12[] = {"t1", "t2"};

/* ---- table -------------------------------------------------------------- */

static void test_table(void **state)
{
    assert_ptr_equal(kafka_assignor_find("range"), &kafka_assignor_range);
    assert_ptr_equal(kafka_assignor_find("roundrobin"), &kafka_assignor_roundrobin);
    assert_ptr_equal(kafka_assignor_find("cooperative-sticky"), &kafka_assignor_cooperative_sticky);
    assert_null(kafka_assignor_find("sticky"));
    assert_null(kafka_assignor_find(NULL));
    assert_int_equal(kafka_assignor_range.protocol, KAFKA_REBALANCE_EAGER);
    assert_int_equal(kafka_assignor_roundrobin.protocol, KAFKA_REBALANCE_EAGER);
    assert_int_equal(kafka_assignor_cooperative_sticky.protocol, KAFKA_REBALANCE_COOPERATIVE);
}

/* ---- range -------------------------------------------------------------- */

static void test_range_two_members_two_topics(void **state)
{
    /* RangeAssignor javadoc and testTwoConsumersTwoTopicsSixPartitions. */
    kafka_group_member m[] = {{.member_id = "consumer2", .topics = T12, .n_topics = 2},
                              {.member_id = "consumer1", .topics = T12, .n_topics = 2}};
    kafka_topic_metadata t[] = {{"t2", 3}, {"t1", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 2, t, 2);
    EXPECT(out, 1, "t1-0,t1-1,t2-0,t2-1");
    EXPECT(out, 0, "t1-2,t2-2");
}

static void test_range_mixed_subscriptions(void **state)
{
    /* testMultipleConsumersMixedTopics: t1 has 3, t2 has 2 partitions;
     * consumer2 alone takes t2. */
    kafka_group_member m[] = {{.member_id = "consumer1", .topics = T1, .n_topics = 1},
                              {.member_id = "consumer2", .topics = T12, .n_topics = 2},
                              {.member_id = "consumer3", .topics = T1, .n_topics = 1}};
    kafka_topic_metadata t[] = {{"t1", 3}, {"t2", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 3, t, 2);
    EXPECT(out, 0, "t1-0");
    EXPECT(out, 1, "t1-1,t2-0,t2-1");
    EXPECT(out, 2, "t1-2");
}

static void test_range_unsubscribed_and_missing_topics(void **state)
{
    /* testOnlyAssignsPartitionsFromSubscribedTopics, plus a subscribed
     * topic absent from the metadata (skipped). */
    const char *topics[] = {"t1", "missing"};
    kafka_group_member m[] = {{.member_id = "c", .topics = topics, .n_topics = 2}};
    kafka_topic_metadata t[] = {{"t1", 3}, {"other", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 1, t, 2);
    EXPECT(out, 0, "t1-0,t1-1,t1-2");
}

static void test_range_more_members_than_partitions(void **state)
{
    kafka_group_member m[] = {{.member_id = "c3", .topics = T1, .n_topics = 1},
                              {.member_id = "c1", .topics = T1, .n_topics = 1},
                              {.member_id = "c2", .topics = T1, .n_topics = 1}};
    kafka_topic_metadata t[] = {{"t1", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 3, t, 1);
    EXPECT(out, 1, "t1-0");
    EXPECT(out, 2, "t1-1");
    EXPECT(out, 0, "");
}

static void test_range_uneven_split(void **state)
{
    /* 7 partitions over 3 members: 7/3 = 2 each, the first 7%3 = 1 gets 3. */
    kafka_group_member m[] = {{.member_id = "a", .topics = T1, .n_topics = 1},
                              {.member_id = "b", .topics = T1, .n_topics = 1},
                              {.member_id = "c", .topics = T1, .n_topics = 1}};
    kafka_topic_metadata t[] = {{"t1", 7}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 3, t, 1);
    EXPECT(out, 0, "t1-0,t1-1,t1-2");
    EXPECT(out, 1, "t1-3,t1-4");
    EXPECT(out, 2, "t1-5,t1-6");
}

/* Static members come first, by instance id, then dynamic ones by member
 * id (AbstractPartitionAssignor.MemberInfo.compareTo). */
static const kafka_group_member STATIC_MIX[] = {
    {.member_id = "aaa", .topics = T1, .n_topics = 1},
    {.member_id = "zzz", .group_instance_id = "inst1", .topics = T1, .n_topics = 1},
    {.member_id = "yyy", .group_instance_id = "inst2", .topics = T1, .n_topics = 1},
};

static void test_range_static_members(void **state)
{
    /* order: zzz (inst1), yyy (inst2), aaa; 7 partitions: 3, 2, 2 */
    kafka_topic_metadata t[] = {{"t1", 7}};
    kafka_member_assignment *out = run(&kafka_assignor_range, STATIC_MIX, 3, t, 1);
    EXPECT(out, 1, "t1-0,t1-1,t1-2");
    EXPECT(out, 2, "t1-3,t1-4");
    EXPECT(out, 0, "t1-5,t1-6");
}

/* ---- roundrobin --------------------------------------------------------- */

static void test_roundrobin_two_members_two_topics(void **state)
{
    /* RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions */
    kafka_group_member m[] = {{.member_id = "consumer1", .topics = T12, .n_topics = 2},
                              {.member_id = "consumer2", .topics = T12, .n_topics = 2}};
    kafka_topic_metadata t[] = {{"t1", 3}, {"t2", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_roundrobin, m, 2, t, 2);
    EXPECT(out, 0, "t1-0,t1-2,t2-1");
    EXPECT(out, 1, "t1-1,t2-0,t2-2");
}

static void test_roundrobin_mixed_subscriptions(void **state)
{
    /* RoundRobinAssignorTest.testMultipleConsumersMixedTopics */
    kafka_group_member m[] = {{.member_id = "consumer1", .topics = T1, .n_topics = 1},
                              {.member_id = "consumer2", .topics = T12, .n_topics = 2},
                              {.member_id = "consumer3", .topics = T1, .n_topics = 1}};
    kafka_topic_metadata t[] = {{"t1", 3}, {"t2", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_roundrobin, m, 3, t, 2);
    EXPECT(out, 0, "t1-0");
    EXPECT(out, 1, "t1-1,t2-0,t2-1");
    EXPECT(out, 2, "t1-2");
}

static void test_roundrobin_javadoc_example(void **state)
{
    /* RoundRobinAssignor javadoc: t0/t1/t2 with 1/2/3 partitions; C0
     * subscribes t0, C1 t0,t1, C2 t0,t1,t2 -> C0 [t0p0], C1 [t1p0],
     * C2 [t1p1, t2p0, t2p1, t2p2]. */
    const char *s0[] = {"t0"}, *s1[] = {"t0", "t1"}, *s2[] = {"t0", "t1", "t2"};
    kafka_group_member m[] = {{.member_id = "C2", .topics = s2, .n_topics = 3},
                              {.member_id = "C0", .topics = s0, .n_topics = 1},
                              {.member_id = "C1", .topics = s1, .n_topics = 2}};
    kafka_topic_metadata t[] = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_roundrobin, m, 3, t, 3);
    EXPECT(out, 1, "t0-0");
    EXPECT(out, 2, "t1-0");
    EXPECT(out, 0, "t1-1,t2-0,t2-1,t2-2");
}

static void test_roundrobin_skip_order(void **state)
{
    /* topics sorted: a (c2 only), b (both). a-0: c1 skipped -> c2;
     * a-1: c1 skipped -> c2; b-0 -> c1; b-1 -> c2; b-2 -> c1. */
    const char *ab[] = {"b", "a"};
    const char *b[] = {"b"};
    kafka_group_member m[] = {{.member_id = "c2", .topics = ab, .n_topics = 2},
                              {.member_id = "c1", .topics = b, .n_topics = 1}};
    kafka_topic_metadata t[] = {{"b", 3}, {"a", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_roundrobin, m, 2, t, 2);
    EXPECT(out, 1, "b-0,b-2");
    EXPECT(out, 0, "a-0,a-1,b-1");
}

static void test_roundrobin_static_members(void **state)
{
    /* order zzz, yyy, aaa; 4 partitions dealt: zzz 0,3; yyy 1; aaa 2 */
    kafka_topic_metadata t[] = {{"t1", 4}};
    kafka_member_assignment *out = run(&kafka_assignor_roundrobin, STATIC_MIX, 3, t, 1);
    EXPECT(out, 1, "t1-0,t1-3");
    EXPECT(out, 2, "t1-1");
    EXPECT(out, 0, "t1-2");
}

/* ---- bad input ---------------------------------------------------------- */

static void test_bad_input(void **state)
{
    kafka_member_assignment *out = NULL;
    kafka_topic_metadata t[] = {{"t1", 3}};
    kafka_group_member dup[] = {{.member_id = "c", .topics = T1, .n_topics = 1},
                                {.member_id = "c", .topics = T1, .n_topics = 1}};
    for (size_t i = 0; kafka_builtin_assignors[i]; i++) {
        const kafka_assignor *a = kafka_builtin_assignors[i];
        assert_int_equal(kafka_assignor_assign(a, dup, 2, t, 1, &arena, &out), KAFKA_ERR_INVALID_ARG);
        kafka_group_member noid[] = {{.member_id = NULL, .topics = T1, .n_topics = 1}};
        assert_int_equal(kafka_assignor_assign(a, noid, 1, t, 1, &arena, &out), KAFKA_ERR_INVALID_ARG);
        kafka_topic_metadata neg[] = {{"t1", -1}};
        assert_int_equal(kafka_assignor_assign(a, dup, 1, neg, 1, &arena, &out), KAFKA_ERR_INVALID_ARG);
        kafka_topic_metadata twice[] = {{"t1", 1}, {"t1", 2}};
        assert_int_equal(kafka_assignor_assign(a, dup, 1, twice, 2, &arena, &out), KAFKA_ERR_INVALID_ARG);
        kafka_topic_metadata huge[] = {{"t1", INT32_MAX}};
        assert_int_equal(kafka_assignor_assign(a, dup, 1, huge, 1, &arena, &out), KAFKA_ERR_TOO_LARGE);
        /* a huge topic nobody subscribes to costs nothing */
        kafka_topic_metadata other[] = {{"t1", 2}, {"other", INT32_MAX}};
        assert_int_equal(kafka_assignor_assign(a, dup, 1, other, 2, &arena, &out), 0);
        assert_string_equal(fmt(&out[0]), "t1-0,t1-1");
        /* no members: empty result */
        assert_int_equal(kafka_assignor_assign(a, NULL, 0, t, 1, &arena, &out), 0);
        assert_non_null(out);
        /* owned partitions of unknown topics or past the count are ignored */
        kafka_topic_partition junk[] = {{"nope", 0}, {"t1", 99}, {"t1", -4}};
        kafka_group_member j[] = {{.member_id = "c", .topics = T1, .n_topics = 1, .owned = junk, .n_owned = 3,
                                   .generation = 1}};
        assert_int_equal(kafka_assignor_assign(a, j, 1, t, 1, &arena, &out), 0);
        assert_string_equal(fmt(&out[0]), "t1-0,t1-1,t1-2");
    }
}

/* ---- cooperative-sticky: hand-worked scenarios --------------------------- */

#define TP(t, p) {t, p}

static void test_sticky_fresh(void **state)
{
    kafka_group_member m[] = {{.member_id = "c1", .topics = T1, .n_topics = 1, .generation = -1}};
    kafka_topic_metadata t[] = {{"t1", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 1, t, 1);
    EXPECT(out, 0, "t1-0,t1-1,t1-2");
}

static void test_sticky_add_member_two_phases(void **state)
{
    /* CooperativeStickyAssignorTest.testAddRemoveConsumerOneTopic: c1
     * owns all 3; c2 joins. Quota ceil(3/2) = 2: c1 keeps t1-0,t1-1;
     * t1-2 would go to c2 but c1 still owns it: withheld this round. */
    kafka_topic_partition own1[] = {TP("t1", 0), TP("t1", 1), TP("t1", 2)};
    kafka_group_member m[] = {{.member_id = "c1", .topics = T1, .n_topics = 1, .owned = own1, .n_owned = 3,
                               .generation = 1},
                              {.member_id = "c2", .topics = T1, .n_topics = 1, .generation = -1}};
    kafka_topic_metadata t[] = {{"t1", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 1);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "");
    /* Follow-up rebalance: c1 revoked t1-2, c2 gets it. */
    kafka_topic_partition own1b[] = {TP("t1", 0), TP("t1", 1)};
    m[0].owned = own1b;
    m[0].n_owned = 2;
    m[0].generation = m[1].generation = 2;
    out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 1);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "t1-2");
}

static void test_sticky_remove_member_spreads(void **state)
{
    /* c3 leaves: c1 and c2 keep theirs; t1-4 goes to c1 (tie, c1 first),
     * t1-5 to c2. Nobody else owned them: no two-phase needed. */
    kafka_topic_partition o1[] = {TP("t1", 0), TP("t1", 1)};
    kafka_topic_partition o2[] = {TP("t1", 2), TP("t1", 3)};
    kafka_group_member m[] = {
        {.member_id = "c1", .topics = T1, .n_topics = 1, .owned = o1, .n_owned = 2, .generation = 3},
        {.member_id = "c2", .topics = T1, .n_topics = 1, .owned = o2, .n_owned = 2, .generation = 3}};
    kafka_topic_metadata t[] = {{"t1", 6}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 1);
    EXPECT(out, 0, "t1-0,t1-1,t1-4");
    EXPECT(out, 1, "t1-2,t1-3,t1-5");
}

static void test_sticky_add_third_member_moves_minimum(void **state)
{
    /* 6 partitions, c1 {0,1,4}, c2 {2,3,5}; c3 joins. Quota 2: c1 keeps
     * 0,1, c2 keeps 2,3; 4 and 5 go to c3 but are withheld (still owned).
     * Follow-up: c3 gets 4,5. Two moves, the minimum (6 - 2*2 kept). */
    kafka_topic_partition o1[] = {TP("t1", 0), TP("t1", 1), TP("t1", 4)};
    kafka_topic_partition o2[] = {TP("t1", 2), TP("t1", 3), TP("t1", 5)};
    kafka_group_member m[] = {
        {.member_id = "c1", .topics = T1, .n_topics = 1, .owned = o1, .n_owned = 3, .generation = 4},
        {.member_id = "c2", .topics = T1, .n_topics = 1, .owned = o2, .n_owned = 3, .generation = 4},
        {.member_id = "c3", .topics = T1, .n_topics = 1, .generation = -1}};
    kafka_topic_metadata t[] = {{"t1", 6}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 3, t, 1);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "t1-2,t1-3");
    EXPECT(out, 2, "");
    m[0].n_owned = m[1].n_owned = 2;
    m[0].generation = m[1].generation = m[2].generation = 5;
    out = run(&kafka_assignor_cooperative_sticky, m, 3, t, 1);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "t1-2,t1-3");
    EXPECT(out, 2, "t1-4,t1-5");
}

static void test_sticky_stale_generation(void **state)
{
    /* c1 (generation 5) owns 0,1,2; c2 (generation 3, a zombie) still
     * claims 0. c1 keeps 0,1 (quota 2) despite the stale claim; 2 goes to
     * c2 but c1 still owns it: withheld. */
    kafka_topic_partition o1[] = {TP("t1", 0), TP("t1", 1), TP("t1", 2)};
    kafka_topic_partition o2[] = {TP("t1", 0)};
    kafka_group_member m[] = {
        {.member_id = "c1", .topics = T1, .n_topics = 1, .owned = o1, .n_owned = 3, .generation = 5},
        {.member_id = "c2", .topics = T1, .n_topics = 1, .owned = o2, .n_owned = 1, .generation = 3}};
    kafka_topic_metadata t[] = {{"t1", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 1);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "");
}

static void test_sticky_conflicting_claims(void **state)
{
    /* c1 and c2 both claim t1-0 in the same generation: neither keeps it
     * and it is withheld from both this round; t1-1 goes to c2. */
    kafka_topic_partition o[] = {TP("t1", 0)};
    kafka_group_member m[] = {
        {.member_id = "c1", .topics = T1, .n_topics = 1, .owned = o, .n_owned = 1, .generation = 2},
        {.member_id = "c2", .topics = T1, .n_topics = 1, .owned = o, .n_owned = 1, .generation = 2}};
    kafka_topic_metadata t[] = {{"t1", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 1);
    EXPECT(out, 0, "");
    EXPECT(out, 1, "t1-1");
}

static void test_sticky_unequal_subscriptions(void **state)
{
    /* t2 only c2 can take: it is placed first (fewest eligible members),
     * then t1 goes to the lighter c1: balanced 2/2. */
    kafka_group_member m[] = {{.member_id = "c1", .topics = T1, .n_topics = 1, .generation = -1},
                              {.member_id = "c2", .topics = T12, .n_topics = 2, .generation = -1}};
    kafka_topic_metadata t[] = {{"t1", 2}, {"t2", 2}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 2);
    EXPECT(out, 0, "t1-0,t1-1");
    EXPECT(out, 1, "t2-0,t2-1");
    (void)T2;
}

static void test_sticky_unsubscribe_revokes_first(void **state)
{
    /* c2 owned t1-1 but now only subscribes to t2: t1-1 cannot stay with
     * c2, and cannot go to c1 directly either (c2 still owns it). */
    kafka_topic_partition o1[] = {TP("t1", 0)};
    kafka_topic_partition o2[] = {TP("t1", 1), TP("t2", 0)};
    kafka_group_member m[] = {
        {.member_id = "c1", .topics = T1, .n_topics = 1, .owned = o1, .n_owned = 1, .generation = 1},
        {.member_id = "c2", .topics = T2, .n_topics = 1, .owned = o2, .n_owned = 2, .generation = 1}};
    kafka_topic_metadata t[] = {{"t1", 2}, {"t2", 1}};
    kafka_member_assignment *out = run(&kafka_assignor_cooperative_sticky, m, 2, t, 2);
    EXPECT(out, 0, "t1-0");
    EXPECT(out, 1, "t2-0");
}

/* ---- leader pipeline: subscription bytes -> assignment bytes ------------- */

static void test_leader_pipeline(void **state)
{
    /* Two v1 subscriptions to t1 (user data null, nothing owned), as a
     * Java 2.4+ consumer sends them; range over 3 partitions gives
     * consumer1 t1-0,t1-1 and consumer2 t1-2. */
    static const uint8_t sub[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't', '1',
                                  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    kafka_consumer_subscription s1, s2;
    assert_int_equal(kafka_consumer_subscription_decode(sub, sizeof sub, &arena, &s1), 0);
    assert_int_equal(kafka_consumer_subscription_decode(sub, sizeof sub, &arena, &s2), 0);
    kafka_group_member m[2];
    kafka_group_member_from_subscription(&m[0], "consumer2", NULL, &s2);
    kafka_group_member_from_subscription(&m[1], "consumer1", NULL, &s1);
    assert_int_equal(m[0].generation, -1);
    kafka_topic_metadata t[] = {{"t1", 3}};
    kafka_member_assignment *out = run(&kafka_assignor_range, m, 2, t, 1);
    kafka_consumer_assignment a = {.version = 0,
                                   .partitions = out[1].partitions,
                                   .n_partitions = out[1].n_partitions,
                                   .user_data = KAFKA_BYTES_NULL};
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_consumer_assignment_encode(&a, &w), 0);
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't',  '1',  0x00,
                                   0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                   0xff, 0xff, 0xff, 0xff};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.data, want, sizeof want);
    kafka_wbuf_free(&w);
    EXPECT(out, 0, "t1-2");
}

/* ---- cooperative-sticky: randomized invariants -------------------------- */

#define SIM_TOPICS 3
#define SIM_MAXP 8
#define SIM_MEMBERS 7
#define SIM_PARTS (SIM_TOPICS * SIM_MAXP)

static const char *SIM_TOPIC_NAMES[SIM_TOPICS] = {"ta", "tb", "tc"};

typedef struct sim_member {
    char id[8];
    bool present;
    const char *topics[SIM_TOPICS];
    size_t n_topics;
    kafka_topic_partition owned[SIM_PARTS];
    size_t n_owned;
    int32_t generation;
} sim_member;

typedef struct sim {
    uint64_t rng;
    sim_member m[SIM_MEMBERS];
    kafka_topic_metadata topics[SIM_TOPICS];
    bool equal; /* everybody subscribes to every topic */
    int32_t generation;
    size_t total;
} sim;

static uint32_t rnd(sim *s, uint32_t n)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng % n);
}

static int topic_no(const char *t)
{
    for (int i = 0; i < SIM_TOPICS; i++)
        if (strcmp(SIM_TOPIC_NAMES[i], t) == 0)
            return i;
    return -1;
}

static bool sim_subscribes(const sim_member *m, const char *t)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i], t) == 0)
            return true;
    return false;
}

static bool sim_owns(const sim_member *m, const char *t, int32_t p)
{
    for (size_t i = 0; i < m->n_owned; i++)
        if (strcmp(m->owned[i].topic, t) == 0 && m->owned[i].partition == p)
            return true;
    return false;
}

/* Owner (member index) of every partition in the members' owned lists. */
static void owners(const sim *s, int *own)
{
    for (size_t g = 0; g < SIM_PARTS; g++)
        own[g] = -1;
    for (int i = 0; i < SIM_MEMBERS; i++)
        if (s->m[i].present)
            for (size_t j = 0; j < s->m[i].n_owned; j++)
                own[topic_no(s->m[i].owned[j].topic) * SIM_MAXP + s->m[i].owned[j].partition] = i;
}

/* One rebalance: checks the invariants, then installs the result as every
 * member's owned partitions. Returns the number of partitions withheld
 * (subscribed by someone, assigned to nobody). */
static size_t sim_round(sim *s)
{
    kafka_group_member gm[SIM_MEMBERS];
    int idx[SIM_MEMBERS];
    size_t n = 0;
    for (int i = 0; i < SIM_MEMBERS; i++) {
        sim_member *m = &s->m[i];
        if (!m->present)
            continue;
        gm[n] = (kafka_group_member){.member_id = m->id, .topics = m->topics, .n_topics = m->n_topics,
                                     .owned = m->owned, .n_owned = m->n_owned, .generation = m->generation};
        idx[n++] = i;
    }
    kafka_member_assignment *out = NULL;
    assert_int_equal(kafka_assignor_assign(&kafka_assignor_cooperative_sticky, gm, n, s->topics, SIM_TOPICS,
                                           &arena, &out),
                     0);
    int taken[SIM_PARTS];
    for (size_t g = 0; g < SIM_PARTS; g++)
        taken[g] = -1;
    for (size_t k = 0; k < n; k++) {
        sim_member *m = &s->m[idx[k]];
        for (size_t j = 0; j < out[k].n_partitions; j++) {
            const kafka_topic_partition *tp = &out[k].partitions[j];
            int t = topic_no(tp->topic);
            assert_true(t >= 0);
            assert_true(tp->partition >= 0 && tp->partition < s->topics[t].partition_count);
            assert_true(sim_subscribes(m, tp->topic));
            size_t g = (size_t)t * SIM_MAXP + (size_t)tp->partition;
            assert_int_equal(taken[g], -1); /* never assigned twice */
            taken[g] = idx[k];
            /* cooperative: a partition new to m is owned by nobody else */
            if (!sim_owns(m, tp->topic, tp->partition))
                for (size_t o = 0; o < n; o++)
                    if (idx[o] != idx[k])
                        assert_false(sim_owns(&s->m[idx[o]], tp->topic, tp->partition));
        }
    }
    size_t withheld = 0;
    for (int t = 0; t < SIM_TOPICS; t++) {
        bool wanted = false;
        for (size_t k = 0; k < n; k++)
            wanted |= sim_subscribes(&s->m[idx[k]], SIM_TOPIC_NAMES[t]);
        for (int32_t p = 0; wanted && p < s->topics[t].partition_count; p++)
            withheld += taken[t * SIM_MAXP + p] < 0;
    }
    s->generation++;
    for (size_t k = 0; k < n; k++) {
        sim_member *m = &s->m[idx[k]];
        m->n_owned = out[k].n_partitions;
        for (size_t j = 0; j < m->n_owned; j++) {
            m->owned[j].topic = SIM_TOPIC_NAMES[topic_no(out[k].partitions[j].topic)];
            m->owned[j].partition = out[k].partitions[j].partition;
        }
        m->generation = s->generation;
    }
    kafka_arena_reset(&arena);
    return withheld;
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x < y) - (x > y);
}

/* Most partitions the present members can keep when all subscribe to
 * everything: quotas ceil(P/N) for P % N members, floor(P/N) for the rest,
 * the larger quotas to the members owning most. */
static size_t max_keepable(const sim *s)
{
    size_t c[SIM_MEMBERS], n = 0;
    for (int i = 0; i < SIM_MEMBERS; i++)
        if (s->m[i].present)
            c[n++] = s->m[i].n_owned;
    qsort(c, n, sizeof *c, cmp_size_desc);
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        size_t quota = s->total / n + (i < s->total % n ? 1 : 0);
        keep += c[i] < quota ? c[i] : quota;
    }
    return keep;
}

static void sim_check_balanced(const sim *s)
{
    size_t lo = SIZE_MAX, hi = 0, sum = 0;
    for (int i = 0; i < SIM_MEMBERS; i++) {
        if (!s->m[i].present)
            continue;
        size_t c = s->m[i].n_owned;
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
        sum += c;
    }
    assert_int_equal(sum, s->total);
    assert_true(hi - lo <= 1);
}

static void sim_change_membership(sim *s)
{
    int i = (int)rnd(s, SIM_MEMBERS);
    size_t present = 0;
    for (int k = 0; k < SIM_MEMBERS; k++)
        present += s->m[k].present;
    if (s->m[i].present && present > 1) {
        s->m[i].present = false;
        return;
    }
    sim_member *m = &s->m[i];
    m->present = true;
    m->n_owned = 0;
    m->generation = -1;
    m->n_topics = 0;
    for (int t = 0; t < SIM_TOPICS; t++)
        if (s->equal || rnd(s, 2))
            m->topics[m->n_topics++] = SIM_TOPIC_NAMES[t];
    if (m->n_topics == 0)
        m->topics[m->n_topics++] = SIM_TOPIC_NAMES[rnd(s, SIM_TOPICS)];
}

static void sim_init(sim *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    s->equal = seed % 2 == 0;
    for (int t = 0; t < SIM_TOPICS; t++) {
        s->topics[t] = (kafka_topic_metadata){SIM_TOPIC_NAMES[t], (int32_t)rnd(s, SIM_MAXP + 1)};
        s->total += (size_t)s->topics[t].partition_count;
    }
    for (int i = 0; i < SIM_MEMBERS; i++)
        snprintf(s->m[i].id, sizeof s->m[i].id, "m%d", (int)rnd(s, 100) * 10 + i);
}

static void test_sticky_random_rebalances(void **state)
{
    size_t two_phase = 0, moves = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        sim s;
        sim_init(&s, seed);
        sim_change_membership(&s);
        for (int change = 0; change < 12; change++) {
            int before[SIM_PARTS], after[SIM_PARTS];
            owners(&s, before);
            size_t keepable = s.equal ? max_keepable(&s) : 0;
            /* rebalance until nothing is withheld; cooperative needs at
             * most two rounds */
            size_t rounds = 0;
            while (sim_round(&s) > 0) {
                assert_true(++rounds < 2);
                two_phase++;
            }
            owners(&s, after);
            if (s.equal) {
                sim_check_balanced(&s);
                size_t kept = 0;
                for (size_t g = 0; g < SIM_PARTS; g++)
                    kept += before[g] >= 0 && before[g] == after[g];
                assert_int_equal(kept, keepable); /* moved only the minimum */
                for (size_t g = 0; g < SIM_PARTS; g++)
                    moves += before[g] >= 0 && after[g] >= 0 && before[g] != after[g];
            }
            /* stable: another rebalance changes nothing */
            assert_int_equal(sim_round(&s), 0);
            int again[SIM_PARTS];
            owners(&s, again);
            if (s.equal)
                assert_memory_equal(again, after, sizeof after);
            sim_change_membership(&s);
        }
    }
    /* the scenarios did exercise owned partitions moving between members */
    print_message("two-phase rebalances: %zu, direct-owner moves: %zu\n", two_phase, moves);
    assert_true(two_phase > 100);
    assert_true(moves > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_two_members_two_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_mixed_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_unsubscribed_and_missing_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_more_members_than_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_uneven_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_static_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_two_members_two_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_mixed_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_javadoc_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_skip_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_static_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_add_member_two_phases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_remove_member_spreads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_add_third_member_moves_minimum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_stale_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_conflicting_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_unequal_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_unsubscribe_revokes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_random_rebalances, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
