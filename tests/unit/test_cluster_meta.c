/* The sans-I/O face of the cluster's metadata (cluster.h): building the
 * Metadata request per version, applying a decoded answer to the cache,
 * and the non-blocking lookup's three outcomes (known / definitive error /
 * pending), without a broker: answers are built by hand or round-tripped
 * through the generated codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "common/arena.h"
#include "common/clock.h"
#include "protocol/gen/metadata.h"
#include "protocol/wire.h"

#define MAX_AGE_MS 60000
#define BACKOFF_MAX_MS 1000

static kafka_cluster *new_cluster(bool auto_create)
{
    kafka_cluster *kc = NULL;
    char eb[128];
    kafka_cluster_config cfg = {.bootstrap = "127.0.0.1:1,127.0.0.1:2",
                                .metadata_max_age_ms = MAX_AGE_MS,
                                .backoff_min_ms = 100,
                                .backoff_max_ms = BACKOFF_MAX_MS,
                                .allow_auto_topic_creation = auto_create};
    assert_int_equal(kafka_cluster_new(&cfg, &kc, eb, sizeof eb), 0);
    return kc;
}

static kafka_str str(const char *s) { return (kafka_str){s, (int32_t)strlen(s)}; }

/* Brokers 1 (h1:9092) and 2 (h2:9093). Topic "t": partition 0 led by 1,
 * partition 1 by 2, partition 2 without a leader; topic "x": the broker
 * says it does not exist. Partitions listed out of order on purpose. */
typedef struct answer {
    kafka_metadata_response_metadata_response_broker brokers[2];
    kafka_metadata_response_metadata_response_partition parts[3];
    kafka_metadata_response_metadata_response_topic topics[2];
    kafka_metadata_response resp;
} answer;

static void answer_init(answer *a)
{
    memset(a, 0, sizeof *a);
    static int32_t none[1];
    const int32_t ids[2] = {1, 2}, ports[2] = {9092, 9093};
    const char *hosts[2] = {"h1", "h2"};
    for (int i = 0; i < 2; i++) {
        kafka_metadata_response_metadata_response_broker_init(&a->brokers[i]);
        a->brokers[i].node_id = ids[i];
        a->brokers[i].host = str(hosts[i]);
        a->brokers[i].port = ports[i];
    }
    const int32_t index[3] = {2, 1, 0}, leader[3] = {-1, 2, 1};
    for (int i = 0; i < 3; i++) {
        kafka_metadata_response_metadata_response_partition_init(&a->parts[i]);
        a->parts[i].partition_index = index[i];
        a->parts[i].leader_id = leader[i];
        a->parts[i].replica_nodes = a->parts[i].isr_nodes = a->parts[i].offline_replicas = none;
    }
    a->parts[0].error_code = 5; /* LEADER_NOT_AVAILABLE */
    for (int i = 0; i < 2; i++)
        kafka_metadata_response_metadata_response_topic_init(&a->topics[i]);
    a->topics[0].name = str("t");
    a->topics[0].partitions = a->parts;
    a->topics[0].partitions_count = 3;
    a->topics[1].name = str("x");
    a->topics[1].error_code = 3; /* UNKNOWN_TOPIC_OR_PARTITION */
    a->topics[1].partitions = a->parts;
    kafka_metadata_response_init(&a->resp);
    a->resp.brokers = a->brokers;
    a->resp.brokers_count = 2;
    a->resp.topics = a->topics;
    a->resp.topics_count = 2;
}

/* Looks partition up at `now`: returns the error, fills leader/refresh. */
static kafka_err lookup(kafka_cluster *kc, const char *topic, int32_t partition, int64_t now, int32_t *leader,
                        bool *refresh)
{
    *leader = -7;
    *refresh = false;
    return kafka_cluster_leader_cached(kc, topic, partition, now, leader, refresh);
}

static void test_unknown_topic_is_pending(void **state)
{
    (void)state;
    kafka_cluster *kc = new_cluster(false);
    int32_t leader;
    bool refresh;
    assert_int_equal(lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh), 0);
    assert_int_equal(leader, -1);
    assert_true(refresh);
    /* Still pending until an answer comes: no I/O happened. */
    assert_int_equal(lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh), 0);
    assert_int_equal(leader, -1);
    assert_true(refresh);
    kafka_cluster_free(kc);
}

static void test_apply_then_lookup(void **state)
{
    (void)state;
    kafka_cluster *kc = new_cluster(false);
    int32_t leader;
    bool refresh;
    const char *asked[] = {"t", "x", "gone"};
    for (int i = 0; i < 3; i++)
        lookup(kc, asked[i], 0, kafka_now_ms(), &leader, &refresh); /* the cache now tracks them */
    answer a;
    answer_init(&a);
    assert_int_equal(kafka_cluster_md_apply(kc, &a.resp, asked, 3), 0);
    int64_t now = kafka_now_ms();

    assert_int_equal(lookup(kc, "t", 0, now, &leader, &refresh), 0);
    assert_int_equal(leader, 1);
    assert_false(refresh);
    assert_int_equal(lookup(kc, "t", 1, now, &leader, &refresh), 0);
    assert_int_equal(leader, 2);
    assert_int_equal(lookup(kc, "t", 2, now, &leader, &refresh), KAFKA_ERR_LEADER_NOT_AVAILABLE);
    assert_int_equal(leader, -1);
    /* a partition the topic lacks: definitive, not pending */
    assert_int_equal(lookup(kc, "t", 3, now, &leader, &refresh), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(refresh);
    assert_int_equal(lookup(kc, "t", -1, now, &leader, &refresh), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* the topic's own error */
    assert_int_equal(lookup(kc, "x", 0, now, &leader, &refresh), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(refresh);
    /* asked for, missing from the answer: unknown, not pending forever */
    assert_int_equal(lookup(kc, "gone", 0, now, &leader, &refresh), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(refresh);
    /* not asked: still pending */
    assert_int_equal(lookup(kc, "other", 0, now, &leader, &refresh), 0);
    assert_int_equal(leader, -1);
    assert_true(refresh);

    /* The snapshot: partitions sorted, ids for the balancers. */
    const kafka_cluster_topic *t = NULL;
    assert_int_equal(kafka_cluster_topic_cached(kc, "t", now, &t, &refresh), 0);
    assert_non_null(t);
    assert_int_equal(t->n_partitions, 3);
    for (int32_t i = 0; i < 3; i++)
        assert_int_equal(t->partition_ids[i], i);
    kafka_cluster_topic_release(kc, t);

    /* The broker table follows the answer; bootstrap entries come last. */
    int32_t ids[8];
    assert_int_equal(kafka_cluster_brokers(kc, ids, 8), 2);
    size_t n = kafka_cluster_md_candidates(kc, ids, 8);
    assert_int_equal(n, 4);
    assert_true((ids[0] == 1 && ids[1] == 2) || (ids[0] == 2 && ids[1] == 1));
    assert_true(ids[2] <= -2 && ids[3] <= -2);
    kafka_cluster_free(kc);
}

static void test_invalidate_and_age(void **state)
{
    (void)state;
    kafka_cluster *kc = new_cluster(false);
    int32_t leader;
    bool refresh;
    const char *asked[] = {"t", "x"};
    lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh);
    lookup(kc, "x", 0, kafka_now_ms(), &leader, &refresh);
    answer a;
    answer_init(&a);
    assert_int_equal(kafka_cluster_md_apply(kc, &a.resp, asked, 2), 0);
    int64_t now = kafka_now_ms();
    /* old enough: still served, and a refresh asked for */
    assert_int_equal(lookup(kc, "t", 0, now + MAX_AGE_MS + 1, &leader, &refresh), 0);
    assert_int_equal(leader, 1);
    assert_true(refresh);
    /* an error answer is asked again once backoff_max_ms old */
    assert_int_equal(lookup(kc, "x", 0, now + BACKOFF_MAX_MS + 1, &leader, &refresh), 0);
    assert_int_equal(leader, -1);
    assert_true(refresh);
    /* invalidated: pending until the next answer */
    kafka_cluster_invalidate(kc, "t");
    assert_int_equal(lookup(kc, "t", 0, now, &leader, &refresh), 0);
    assert_int_equal(leader, -1);
    assert_true(refresh);
    /* the leader moved to broker 2 */
    a.parts[2].leader_id = 2;
    assert_int_equal(kafka_cluster_md_apply(kc, &a.resp, asked, 1), 0);
    assert_int_equal(lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh), 0);
    assert_int_equal(leader, 2);
    assert_false(refresh);
    kafka_cluster_free(kc);
}

/* The same answer, encoded and decoded by the generated codec at v1 (the
 * test broker's versions) as the engine's callback decodes it. */
static void test_apply_decoded_answer(void **state)
{
    (void)state;
    kafka_cluster *kc = new_cluster(false);
    int32_t leader;
    bool refresh;
    lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh);
    answer a;
    answer_init(&a);
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_metadata_response_encode(&w, 1, &a.resp), 0);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, w.data, w.len);
    kafka_metadata_response got;
    kafka_metadata_response_init(&got);
    assert_int_equal(kafka_metadata_response_decode(&rb, &arena, 1, &got), 0);
    const char *asked[] = {"t"};
    assert_int_equal(kafka_cluster_md_apply(kc, &got, asked, 1), 0);
    kafka_arena_free(&arena); /* the cache keeps copies, not views */
    kafka_wbuf_free(&w);
    assert_int_equal(lookup(kc, "t", 1, kafka_now_ms(), &leader, &refresh), 0);
    assert_int_equal(leader, 2);
    kafka_cluster_free(kc);
}

/* A partition that reports an error but still has a leader is usable. */
static void test_leader_with_partition_error(void **state)
{
    (void)state;
    kafka_cluster_partition parts[] = {{0, 3, 0, KAFKA_ERR_REPLICA_NOT_AVAILABLE}, {1, -1, 0, 0}, {4, 1, 0, 0}};
    int32_t ids[] = {0, 1, 4};
    kafka_cluster_topic t = {.name = "t", .n_partitions = 3, .partitions = parts, .partition_ids = ids};
    int32_t leader = -7;
    assert_int_equal(kafka_cluster_topic_leader(&t, 0, &leader), 0);
    assert_int_equal(leader, 3);
    assert_int_equal(kafka_cluster_topic_leader(&t, 1, &leader), KAFKA_ERR_LEADER_NOT_AVAILABLE);
    assert_int_equal(leader, -1);
    assert_int_equal(kafka_cluster_topic_leader(&t, 4, &leader), 0);
    assert_int_equal(leader, 1);
    assert_int_equal(kafka_cluster_topic_leader(&t, 2, &leader), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    t.err = KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED;
    assert_int_equal(kafka_cluster_topic_leader(&t, 0, &leader), KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED);
}

/* The request, per version: v4+ says whether to auto-create; older
 * versions cannot, so NEVER_CREATE asks for every topic instead (null
 * list from v1, empty list at v0). */
static void test_request_per_version(void **state)
{
    (void)state;
    const char *names[] = {"a", "b"};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_request req;
    for (int pass = 0; pass < 2; pass++) {
        kafka_cluster *kc = new_cluster(pass == 1);
        assert_int_equal(kafka_cluster_md_request(kc, names, 2, KAFKA_CLUSTER_MD_NEVER_CREATE, 9, &arena, &req), 0);
        assert_int_equal(req.topics_count, 2);
        assert_int_equal(req.topics[1].name.len, 1);
        assert_memory_equal(req.topics[1].name.ptr, "b", 1);
        assert_int_equal(req.allow_auto_topic_creation, pass == 1);
        kafka_cluster_free(kc);
    }
    kafka_cluster *kc = new_cluster(false);
    assert_int_equal(kafka_cluster_md_request(kc, names, 2, KAFKA_CLUSTER_MD_NEVER_CREATE, 3, &arena, &req), 0);
    assert_int_equal(req.topics_count, -1);
    assert_null(req.topics);
    assert_int_equal(kafka_cluster_md_request(kc, names, 2, KAFKA_CLUSTER_MD_NEVER_CREATE, 0, &arena, &req), 0);
    assert_int_equal(req.topics_count, 0);
    /* without NEVER_CREATE the names are sent at any version */
    assert_int_equal(kafka_cluster_md_request(kc, names, 2, 0, 1, &arena, &req), 0);
    assert_int_equal(req.topics_count, 2);
    /* no topics: brokers only (v1+: an empty list), or every topic */
    assert_int_equal(kafka_cluster_md_request(kc, NULL, 0, 0, 1, &arena, &req), 0);
    assert_int_equal(req.topics_count, 0);
    assert_int_equal(kafka_cluster_md_request(kc, NULL, 0, KAFKA_CLUSTER_MD_ALL_TOPICS, 1, &arena, &req), 0);
    assert_int_equal(req.topics_count, -1);
    /* and it encodes */
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_metadata_request_encode(&w, 1, &req), 0);
    assert_true(w.len > 0);
    kafka_wbuf_free(&w);
    kafka_cluster_free(kc);
    kafka_arena_free(&arena);
}

/* A closed cluster answers CLOSED, not pending. */
static void test_closed(void **state)
{
    (void)state;
    kafka_cluster *kc = new_cluster(false);
    kafka_cluster_interrupt(kc);
    int32_t leader;
    bool refresh;
    assert_int_equal(lookup(kc, "t", 0, kafka_now_ms(), &leader, &refresh), KAFKA_ERR_CLOSED);
    assert_false(refresh);
    kafka_cluster_free(kc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_topic_is_pending),
        cmocka_unit_test(test_apply_then_lookup),
        cmocka_unit_test(test_invalidate_and_age),
        cmocka_unit_test(test_apply_decoded_answer),
        cmocka_unit_test(test_leader_with_partition_error),
        cmocka_unit_test(test_request_per_version),
        cmocka_unit_test(test_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
