/*
 * Balancer unit tests. Expected values come from outside libkafka:
 *   - murmur2: Apache Kafka's UtilsTest.testMurmur2 and librdkafka's
 *     unittest_murmur2 (Java-compatible results);
 *   - FNV-1a 32: the FNV reference test vectors (Landon Curt Noll's suite)
 *     and librdkafka's unittest_fnv1a (|int32| of Go's hash/fnv results);
 *   - CRC32: the standard check value crc32("123456789") = 0xCBF43926;
 *   - partitions: hand-computed from those hashes with the formulas the
 *     reference clients use (worked out in the comments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/balancer.h"
#include "protocol/hash.h"
#include "writer/balancer_internal.h"

static const int32_t P6[] = {0, 1, 2, 3, 4, 5};

/* ---- hashes ----------------------------------------------------------- */

static void test_murmur2_kafka_vectors(void **state)
{
    (void)state;
    /* UtilsTest.testMurmur2: Java's signed results. */
    static const struct { const char *in; int32_t want; } cases[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t h = kafka_murmur2(cases[i].in, strlen(cases[i].in));
        assert_int_equal(h, (uint32_t)cases[i].want);
    }
}

static void test_murmur2_librdkafka_vectors(void **state)
{
    (void)state;
    /* librdkafka rdmurmur2.c unittest (its "java_murmur2_results"),
     * including every tail length and unaligned starts. */
    const char *s = "1234";
    const char *u = "PreAmbleWillBeRemoved,ThePrePartThatIs";
    const struct { const char *in; uint32_t want; } cases[] = {
        {"kafka", 0xd067cf64u},  {"giberish123456789", 0x8f552b0cu},
        {s, 0x9fc97b14u},        {s + 1, 0xe7c009cau},
        {s + 2, 0x873930dau},    {s + 3, 0x5a4b5ca1u},
        {u, 0x78424f1cu},        {u + 1, 0x4a62b377u},
        {u + 2, 0xe0e4e09eu},    {u + 3, 0x62b8b43fu},
        {"", 0x106e08d9u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(kafka_murmur2(cases[i].in, strlen(cases[i].in)), cases[i].want);
    assert_int_equal(kafka_murmur2(NULL, 0), 0x106e08d9u);
}

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    assert_int_equal(kafka_fnv1a32("", 0), 0x811c9dc5u);
    assert_int_equal(kafka_fnv1a32(NULL, 0), 0x811c9dc5u);
    assert_int_equal(kafka_fnv1a32("a", 1), 0xe40c292cu);
    assert_int_equal(kafka_fnv1a32("foobar", 6), 0xbf9cf968u);
}

/* ---- kafka_partition_for_key --------------------------------------------- */

static int32_t pfk(kafka_balancer_kind kind, const char *key, int32_t n)
{
    int32_t p = -1;
    assert_int_equal(kafka_partition_for_key(kind, key, strlen(key), n, &p), 0);
    return p;
}

static void test_partition_for_key_murmur2(void **state)
{
    (void)state;
    /* (murmur2 & 0x7fffffff) % n with the UtilsTest values:
     * "foobar": -790332482 & 0x7fffffff = 1357151166; %50 = 16, %100 = 66.
     * "21": -973932308 -> 1173551340; %50 = 40.
     * "abc": 479470107; %50 = 7, %6 = 3 (479470107 = 6*79911684 + 3).
     * "a-little-bit-long-string": -985981536 -> 1161502112; %6 = 2. */
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "foobar", 50), 16);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "foobar", 100), 66);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "21", 50), 40);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "abc", 50), 7);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "abc", 6), 3);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "a-little-bit-long-string", 6), 2);
    assert_int_equal(pfk(KAFKA_BALANCER_DEFAULT, "foobar", 50), 16);
    assert_int_equal(pfk(KAFKA_BALANCER_MURMUR2, "foobar", 1), 0);
}

static void test_partition_for_key_fnv(void **state)
{
    (void)state;
    /* fnv1a("a") = 0xe40c292c, as int32 = -469030612, |.| = 469030612.
     *   HASH (sarama): |int32 % n|: n=7 -> 469030612 % 7 = 6, n=3 -> 0.
     *   REFERENCE_HASH: (0xe40c292c & 0x7fffffff) = 1678518572:
     *   n=7 -> 3, n=3 -> 2.
     * fnv1a("foobar") = 0xbf9cf968 -> |int32| = 1080231576:
     *   HASH n=7 -> 4; REFERENCE (0x3f9cf968 = 1067251048) n=7 -> 5. */
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "a", 7), 6);
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "a", 3), 0);
    assert_int_equal(pfk(KAFKA_BALANCER_REFERENCE_HASH, "a", 7), 3);
    assert_int_equal(pfk(KAFKA_BALANCER_REFERENCE_HASH, "a", 3), 2);
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "foobar", 7), 4);
    assert_int_equal(pfk(KAFKA_BALANCER_REFERENCE_HASH, "foobar", 7), 5);

    /* librdkafka's unittest_fnv1a lists |int32(fnv1a)| (the sarama/HASH
     * form): "kafka" 0x0d33c4e1, "giberish123456789" 0x77a58295,
     * "1234" 0x023bdd03. HASH partition = that % n. */
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "kafka", 6), (int32_t)(0x0d33c4e1u % 6));
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "kafka", 7), (int32_t)(0x0d33c4e1u % 7));
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "giberish123456789", 7),
                     (int32_t)(0x77a58295u % 7));
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "1234", 7), (int32_t)(0x023bdd03u % 7));
    assert_int_equal(pfk(KAFKA_BALANCER_HASH, "kafka", 3), 2);
}

static void test_partition_for_key_crc32(void **state)
{
    (void)state;
    /* crc32("123456789") = 0xCBF43926 = 3421780262: %6 = 2, %7 = 5. */
    assert_int_equal(pfk(KAFKA_BALANCER_CRC32, "123456789", 6), 2);
    assert_int_equal(pfk(KAFKA_BALANCER_CRC32, "123456789", 7), 5);
    /* crc32("") = 0. */
    assert_int_equal(pfk(KAFKA_BALANCER_CRC32, "", 6), 0);
}

static void test_partition_for_key_bad_input(void **state)
{
    (void)state;
    int32_t p = 77;
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_ROUND_ROBIN, "k", 1, 6, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_CUSTOM, "k", 1, 6, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key((kafka_balancer_kind)99, "k", 1, 6, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, "k", 1, 0, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, "k", 1, -3, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, "k", 1, 6, NULL),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, NULL, 5, 6, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(p, 77);
    /* NULL key of length 0 = empty key: murmur2("") = 0x106e08d9 =
     * 275646681, % 6 = 3. */
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, NULL, 0, 6, &p), 0);
    assert_int_equal(p, 3);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_DEFAULT), "murmur2");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_ROUND_ROBIN), "round_robin");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_LEAST_BYTES), "least_bytes");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_HASH), "hash");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_REFERENCE_HASH), "reference_hash");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_CRC32), "crc32");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_CUSTOM), "custom");
    assert_string_equal(kafka_balancer_kind_name((kafka_balancer_kind)42), "unknown");
}

/* ---- pick: hash kinds ------------------------------------------------------ */

static kafka_balancer_state *new_state(kafka_balancer b)
{
    kafka_balancer_state *st = NULL;
    assert_int_equal(kafka_balancer_state_new(&b, &st), 0);
    assert_non_null(st);
    return st;
}

static int32_t pick(kafka_balancer_state *st, const char *topic, const char *key,
                    size_t value_len, const int32_t *parts, size_t n)
{
    int32_t p = -1;
    assert_int_equal(kafka_balancer_pick(st, topic, key, key ? strlen(key) : 0, value_len,
                                         parts, n, &p),
                     0);
    return p;
}

static void test_pick_default_is_murmur2(void **state)
{
    (void)state;
    kafka_balancer_state *st = NULL;
    assert_int_equal(kafka_balancer_state_new(NULL, &st), 0);
    assert_int_equal(kafka_balancer_state_kind(st), KAFKA_BALANCER_MURMUR2);
    /* "abc" -> 3 of 6 (see above), every time. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(pick(st, "t", "abc", 10, P6, 6), 3);
    kafka_balancer_state_free(st);

    st = new_state((kafka_balancer){0});
    assert_int_equal(pick(st, "t", "foobar", 0, P6, 6), 1357151166 % 6);
    kafka_balancer_state_free(st);
}

static void test_pick_maps_index_to_listed_partition(void **state)
{
    (void)state;
    /* The hash picks a position in the list: "abc" is position 3 of 6. */
    static const int32_t ids[] = {10, 11, 12, 13, 14, 15};
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_MURMUR2});
    assert_int_equal(pick(st, "t", "abc", 0, ids, 6), 13);
    kafka_balancer_state_free(st);

    st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_CRC32});
    assert_int_equal(pick(st, "t", "123456789", 0, ids, 6), 12);
    kafka_balancer_state_free(st);
}

static void test_pick_hash_kinds(void **state)
{
    (void)state;
    static const int32_t p7[] = {0, 1, 2, 3, 4, 5, 6};
    kafka_balancer_state *h = new_state((kafka_balancer){.kind = KAFKA_BALANCER_HASH});
    kafka_balancer_state *r = new_state((kafka_balancer){.kind = KAFKA_BALANCER_REFERENCE_HASH});
    kafka_balancer_state *c = new_state((kafka_balancer){.kind = KAFKA_BALANCER_CRC32});
    assert_int_equal(pick(h, "t", "a", 0, p7, 7), 6);
    assert_int_equal(pick(r, "t", "a", 0, p7, 7), 3);
    assert_int_equal(pick(h, "t", "foobar", 0, p7, 7), 4);
    assert_int_equal(pick(r, "t", "foobar", 0, p7, 7), 5);
    assert_int_equal(pick(c, "t", "123456789", 0, p7, 7), 5);
    /* An empty (non-null) key is hashed by HASH: fnv1a("") = 0x811c9dc5,
     * |int32| = 0x7ee3623b = 2128829019, % 7 = 2. */
    int32_t p = -1;
    assert_int_equal(kafka_balancer_pick(h, "t", "", 0, 0, p7, 7, &p), 0);
    assert_int_equal(p, 2);
    kafka_balancer_state_free(h);
    kafka_balancer_state_free(r);
    kafka_balancer_state_free(c);
}

/* A null key is spread round-robin by every hash kind; CRC32 also
 * spreads empty keys. */
static void test_pick_keyless_round_robin(void **state)
{
    (void)state;
    const kafka_balancer_kind kinds[] = {KAFKA_BALANCER_MURMUR2, KAFKA_BALANCER_HASH,
                                         KAFKA_BALANCER_REFERENCE_HASH, KAFKA_BALANCER_CRC32};
    for (size_t k = 0; k < 4; k++) {
        kafka_balancer_state *st = new_state((kafka_balancer){.kind = kinds[k]});
        for (int i = 0; i < 12; i++)
            assert_int_equal(pick(st, "t", NULL, 5, P6, 6), i % 6);
        kafka_balancer_state_free(st);
    }

    kafka_balancer_state *c = new_state((kafka_balancer){.kind = KAFKA_BALANCER_CRC32});
    for (int i = 0; i < 12; i++) {
        int32_t p = -1;
        assert_int_equal(kafka_balancer_pick(c, "t", "", 0, 5, P6, 6, &p), 0);
        assert_int_equal(p, i % 6);
    }
    kafka_balancer_state_free(c);
}

static void test_pick_consistent_hashes_null_keys(void **state)
{
    (void)state;
    /* consistent: null hashed as empty. crc32("") = 0 -> position 0;
     * murmur2("") = 275646681 -> % 6 = 3. */
    kafka_balancer_state *c =
        new_state((kafka_balancer){.kind = KAFKA_BALANCER_CRC32, .consistent = true});
    kafka_balancer_state *m =
        new_state((kafka_balancer){.kind = KAFKA_BALANCER_MURMUR2, .consistent = true});
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pick(c, "t", NULL, 1, P6, 6), 0);
        assert_int_equal(pick(c, "t", "", 1, P6, 6), 0);
        assert_int_equal(pick(m, "t", NULL, 1, P6, 6), 3);
    }
    kafka_balancer_state_free(c);
    kafka_balancer_state_free(m);
}

/* ---- round-robin ------------------------------------------------------------- */

static void test_round_robin_sequence_per_topic(void **state)
{
    (void)state;
    static const int32_t p3[] = {7, 8, 9};
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_ROUND_ROBIN});
    /* Keys are ignored. Alternating topics: each keeps its own cycle (one
     * shared counter would send topic a only to 7 and 9). */
    const int32_t want_a[] = {7, 8, 9, 7, 8, 9};
    const int32_t want_b[] = {0, 1, 0, 1, 0, 1};
    static const int32_t p2[] = {0, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pick(st, "a", "samekey", 1, p3, 3), want_a[i]);
        assert_int_equal(pick(st, "b", "samekey", 1, p2, 2), want_b[i]);
    }
    /* A NULL topic counts as "". */
    assert_int_equal(pick(st, NULL, NULL, 0, p3, 3), 7);
    assert_int_equal(pick(st, "", NULL, 0, p3, 3), 8);
    kafka_balancer_state_free(st);
}

enum { RR_THREADS = 8, RR_PER_THREAD = 6000 };

typedef struct rr_arg {
    kafka_balancer_state *st;
    unsigned counts[6];
    int failures;
} rr_arg;

static void *rr_worker(void *p)
{
    rr_arg *a = p;
    for (int i = 0; i < RR_PER_THREAD; i++) {
        int32_t part = -1;
        if (kafka_balancer_pick(a->st, "topic", NULL, 0, 1, P6, 6, &part) != 0 || part < 0 ||
            part > 5)
            a->failures++;
        else
            a->counts[part]++;
    }
    return NULL;
}

static void test_round_robin_even_across_threads(void **state)
{
    (void)state;
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_ROUND_ROBIN});
    pthread_t th[RR_THREADS];
    rr_arg args[RR_THREADS];
    memset(args, 0, sizeof(args));
    for (int i = 0; i < RR_THREADS; i++) {
        args[i].st = st;
        assert_int_equal(pthread_create(&th[i], NULL, rr_worker, &args[i]), 0);
    }
    unsigned total[6] = {0};
    for (int i = 0; i < RR_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
        for (int p = 0; p < 6; p++)
            total[p] += args[i].counts[p];
    }
    /* 48000 picks over one atomic counter: exactly 8000 per partition. */
    for (int p = 0; p < 6; p++)
        assert_int_equal(total[p], RR_THREADS * RR_PER_THREAD / 6);
    kafka_balancer_state_free(st);
}

/* ---- least-bytes ------------------------------------------------------------- */

static void test_least_bytes_picks_fewest(void **state)
{
    (void)state;
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_LEAST_BYTES});
    /* Listed out of order: ties go to the lowest id. */
    static const int32_t parts[] = {2, 0, 1};
    /* bytes: {0:0,1:0,2:0} -> 0 gets 100 (key "k" 1 + value 99) */
    assert_int_equal(pick(st, "t", "k", 99, parts, 3), 0);
    /* {0:100,1:0,2:0} -> 1 gets 10 */
    assert_int_equal(pick(st, "t", NULL, 10, parts, 3), 1);
    /* {0:100,1:10,2:0} -> 2 gets 50 */
    assert_int_equal(pick(st, "t", NULL, 50, parts, 3), 2);
    /* {0:100,1:10,2:50} -> 1 gets 45 -> 55 */
    assert_int_equal(pick(st, "t", NULL, 45, parts, 3), 1);
    /* {0:100,1:55,2:50} -> 2 */
    assert_int_equal(pick(st, "t", NULL, 1, parts, 3), 2);
    assert_int_equal(kafka_balancer_bytes(st, "t", 0), 100);
    assert_int_equal(kafka_balancer_bytes(st, "t", 1), 55);
    assert_int_equal(kafka_balancer_bytes(st, "t", 2), 51);

    /* The writer releases bytes of delivered messages: 0 drops to 30. */
    kafka_balancer_add_bytes(st, "t", 0, -70);
    assert_int_equal(kafka_balancer_bytes(st, "t", 0), 30);
    assert_int_equal(pick(st, "t", NULL, 5, parts, 3), 0);
    /* Release more than held: clamps to 0. */
    kafka_balancer_add_bytes(st, "t", 2, INT64_MIN);
    assert_int_equal(kafka_balancer_bytes(st, "t", 2), 0);
    kafka_balancer_add_bytes(st, "t", 2, 7);
    assert_int_equal(kafka_balancer_bytes(st, "t", 2), 7);
    /* Unknown topic / partition: ignored, reads 0. */
    kafka_balancer_add_bytes(st, "nope", 0, 5);
    kafka_balancer_add_bytes(st, "t", 99, 5);
    assert_int_equal(kafka_balancer_bytes(st, "nope", 0), 0);
    assert_int_equal(kafka_balancer_bytes(st, "t", 99), 0);
    kafka_balancer_state_free(st);
}

static void test_least_bytes_partition_set_changes(void **state)
{
    (void)state;
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_LEAST_BYTES});
    static const int32_t two[] = {0, 1};
    assert_int_equal(pick(st, "t", NULL, 100, two, 2), 0); /* {100, 0} */
    assert_int_equal(pick(st, "t", NULL, 60, two, 2), 1);  /* {100, 60} */
    /* Partition 2 appears: it starts at the kept minimum (60), not 0. */
    static const int32_t three[] = {0, 1, 2};
    assert_int_equal(pick(st, "t", NULL, 10, three, 3), 1); /* 1 and 2 tie at 60 */
    assert_int_equal(kafka_balancer_bytes(st, "t", 2), 60);
    assert_int_equal(pick(st, "t", NULL, 10, three, 3), 2); /* {100,70,60} */
    /* Topics are independent. */
    assert_int_equal(pick(st, "other", NULL, 10, three, 3), 0);
    kafka_balancer_state_free(st);
}

enum { LB_THREADS = 8, LB_TOPICS = 40, LB_PER_TOPIC = 60 };

typedef struct lb_arg {
    kafka_balancer_state *st;
    int index; /* start topic, so threads create topics in different orders */
    int failures;
} lb_arg;

static void *lb_worker(void *p)
{
    lb_arg *a = p;
    for (int i = 0; i < LB_PER_TOPIC; i++) {
        for (int k = 0; k < LB_TOPICS; k++) {
            char topic[16];
            snprintf(topic, sizeof(topic), "topic-%d", (k + a->index) % LB_TOPICS);
            int32_t part = -1;
            if (kafka_balancer_pick(a->st, topic, NULL, 0, 10, P6, 6, &part) != 0)
                a->failures++;
        }
    }
    return NULL;
}

/* Many threads, many topics created concurrently (the topic table grows
 * while others read it): each pick takes the minimum and adds 10 bytes, so
 * counts never differ by more than 10; 480 picks of 10 bytes per topic over
 * 6 partitions therefore end at exactly 800 bytes each. */
static void test_least_bytes_concurrent_topics(void **state)
{
    (void)state;
    kafka_balancer_state *st = new_state((kafka_balancer){.kind = KAFKA_BALANCER_LEAST_BYTES});
    pthread_t th[LB_THREADS];
    lb_arg args[LB_THREADS];
    for (int i = 0; i < LB_THREADS; i++) {
        args[i] = (lb_arg){.st = st, .index = i * 5};
        assert_int_equal(pthread_create(&th[i], NULL, lb_worker, &args[i]), 0);
    }
    for (int i = 0; i < LB_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    for (int k = 0; k < LB_TOPICS; k++) {
        char topic[16];
        snprintf(topic, sizeof(topic), "topic-%d", k);
        for (int32_t p = 0; p < 6; p++)
            assert_int_equal(kafka_balancer_bytes(st, topic, p), 800);
    }
    kafka_balancer_state_free(st);
}

/* ---- custom ------------------------------------------------------------------ */

typedef struct custom_rec {
    int calls;
    const char *topic;
    const void *key;
    size_t key_len;
    size_t value_len;
    const int32_t *partitions;
    size_t n;
    int32_t ret;
} custom_rec;

static int32_t custom_fn(void *privdata, const char *topic, const void *key, size_t key_len,
                         size_t value_len, const int32_t *partitions, size_t n)
{
    custom_rec *r = privdata;
    r->calls++;
    r->topic = topic;
    r->key = key;
    r->key_len = key_len;
    r->value_len = value_len;
    r->partitions = partitions;
    r->n = n;
    return r->ret;
}

static void test_custom_called_with_arguments(void **state)
{
    (void)state;
    custom_rec rec = {.ret = 12};
    static const int32_t parts[] = {10, 11, 12};
    kafka_balancer_state *st = new_state(
        (kafka_balancer){.kind = KAFKA_BALANCER_CUSTOM, .fn = custom_fn, .privdata = &rec});
    const char key[] = "user-42";
    int32_t p = -1;
    assert_int_equal(kafka_balancer_pick(st, "orders", key, 7, 123, parts, 3, &p), 0);
    assert_int_equal(p, 12);
    assert_int_equal(rec.calls, 1);
    assert_string_equal(rec.topic, "orders");
    assert_ptr_equal(rec.key, key);
    assert_int_equal(rec.key_len, 7);
    assert_int_equal(rec.value_len, 123);
    assert_ptr_equal(rec.partitions, parts);
    assert_int_equal(rec.n, 3);

    /* NULL topic reaches the callback as "". */
    assert_int_equal(kafka_balancer_pick(st, NULL, NULL, 0, 0, parts, 3, &p), 0);
    assert_string_equal(rec.topic, "");
    assert_null(rec.key);
    kafka_balancer_state_free(st);
}

static void test_custom_out_of_range_rejected(void **state)
{
    (void)state;
    static const int32_t parts[] = {10, 11, 12};
    const int32_t bad[] = {3, 13, -1, INT32_MIN, INT32_MAX, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        custom_rec rec = {.ret = bad[i]};
        kafka_balancer_state *st = new_state(
            (kafka_balancer){.kind = KAFKA_BALANCER_CUSTOM, .fn = custom_fn, .privdata = &rec});
        int32_t p = 55;
        assert_int_equal(kafka_balancer_pick(st, "t", "k", 1, 1, parts, 3, &p),
                         KAFKA_ERR_INVALID_ARG);
        assert_int_equal(p, 55); /* untouched on error */
        assert_int_equal(rec.calls, 1);
        kafka_balancer_state_free(st);
    }
}

/* ---- bad input ----------------------------------------------------------------- */

static void test_state_new_rejects_bad_config(void **state)
{
    (void)state;
    kafka_balancer_state *st = (kafka_balancer_state *)&st; /* non-NULL sentinel */
    assert_int_equal(
        kafka_balancer_state_new(&(kafka_balancer){.kind = KAFKA_BALANCER_CUSTOM}, &st),
        KAFKA_ERR_INVALID_ARG);
    assert_null(st);
    assert_int_equal(
        kafka_balancer_state_new(&(kafka_balancer){.kind = (kafka_balancer_kind)42}, &st),
        KAFKA_ERR_INVALID_ARG);
    assert_int_equal(
        kafka_balancer_state_new(&(kafka_balancer){.kind = (kafka_balancer_kind)-1}, &st),
        KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_state_new(NULL, NULL), KAFKA_ERR_INVALID_ARG);
    kafka_balancer_state_free(NULL);
}

/* .keyless must be a kafka_keyless_mode, whatever the kind (the writer
 * checks the same, with a message: tests/integration/test_writer_sticky.c). */
static void test_state_new_rejects_bad_keyless(void **state)
{
    (void)state;
    const kafka_balancer_kind kinds[] = {KAFKA_BALANCER_MURMUR2, KAFKA_BALANCER_ROUND_ROBIN, KAFKA_BALANCER_CRC32};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        kafka_balancer_state *st = (kafka_balancer_state *)&st; /* non-NULL sentinel */
        assert_int_equal(kafka_balancer_state_new(&(kafka_balancer){.kind = kinds[i], .keyless = (kafka_keyless_mode)7},
                                                  &st),
                         KAFKA_ERR_INVALID_ARG);
        assert_null(st);
        assert_int_equal(
            kafka_balancer_state_new(&(kafka_balancer){.kind = kinds[i], .keyless = (kafka_keyless_mode)-1}, &st),
            KAFKA_ERR_INVALID_ARG);
        /* Both modes are accepted. */
        assert_int_equal(
            kafka_balancer_state_new(&(kafka_balancer){.kind = kinds[i], .keyless = KAFKA_KEYLESS_ROUND_ROBIN}, &st),
            0);
        kafka_balancer_state_free(st);
        assert_int_equal(
            kafka_balancer_state_new(&(kafka_balancer){.kind = kinds[i], .keyless = KAFKA_KEYLESS_STICKY}, &st), 0);
        kafka_balancer_state_free(st);
    }
}

static void test_pick_rejects_bad_input(void **state)
{
    (void)state;
    kafka_balancer_state *st = new_state((kafka_balancer){0});
    int32_t p = 9;
    assert_int_equal(kafka_balancer_pick(NULL, "t", "k", 1, 0, P6, 6, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_pick(st, "t", "k", 1, 0, NULL, 6, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_pick(st, "t", "k", 1, 0, P6, 0, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_pick(st, "t", "k", 1, 0, P6, 6, NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_pick(st, "t", NULL, 4, 0, P6, 6, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_balancer_pick(st, "t", "k", 1, 0, P6, (size_t)INT32_MAX + 1, &p),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(p, 9);
    kafka_balancer_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_kafka_vectors),
        cmocka_unit_test(test_murmur2_librdkafka_vectors),
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_partition_for_key_murmur2),
        cmocka_unit_test(test_partition_for_key_fnv),
        cmocka_unit_test(test_partition_for_key_crc32),
        cmocka_unit_test(test_partition_for_key_bad_input),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_pick_default_is_murmur2),
        cmocka_unit_test(test_pick_maps_index_to_listed_partition),
        cmocka_unit_test(test_pick_hash_kinds),
        cmocka_unit_test(test_pick_keyless_round_robin),
        cmocka_unit_test(test_pick_consistent_hashes_null_keys),
        cmocka_unit_test(test_round_robin_sequence_per_topic),
        cmocka_unit_test(test_round_robin_even_across_threads),
        cmocka_unit_test(test_least_bytes_picks_fewest),
        cmocka_unit_test(test_least_bytes_partition_set_changes),
        cmocka_unit_test(test_least_bytes_concurrent_topics),
        cmocka_unit_test(test_custom_called_with_arguments),
        cmocka_unit_test(test_custom_out_of_range_rejected),
        cmocka_unit_test(test_state_new_rejects_bad_config),
        cmocka_unit_test(test_state_new_rejects_bad_keyless),
        cmocka_unit_test(test_pick_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
