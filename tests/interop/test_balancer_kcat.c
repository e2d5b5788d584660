/*
 * Balancers against librdkafka (through kcat): kcat produces keyed messages
 * to a 6-partition topic with librdkafka's own partitioner, kcat consumes
 * them back printing each key with the partition it landed in, and for
 * every key libkafka's balancer must pick that same partition.
 *
 *   librdkafka partitioner   libkafka balancer
 *   consistent               KAFKA_BALANCER_CRC32
 *   consistent_random        KAFKA_BALANCER_CRC32   (same for non-empty keys)
 *   murmur2                  KAFKA_BALANCER_MURMUR2 (= the Java client)
 *   murmur2_random           KAFKA_BALANCER_MURMUR2
 *   fnv1a                    KAFKA_BALANCER_HASH    (= kafka-go Hash, sarama)
 *
 * Keyless messages are not compared: both spread them "sticky", but
 * librdkafka moves on after a time (sticky.partitioning.linger.ms) and
 * libkafka after a batch's worth, and neither is a placement promise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/balancer.h"
#include "kcat.h"
#include "test_cluster.h"
#include "writer/balancer_internal.h"

#define KEYS 200
#define PARTS 6

/* Keys of lengths 1..~30 (all murmur2 tail lengths), no ':' or space. */
static void make_key(int i, char *buf, size_t cap)
{
    unsigned u = (unsigned)i * 2654435761u;
    switch (i % 6) {
    case 0: snprintf(buf, cap, "%d", i); break;
    case 1: snprintf(buf, cap, "k%d", i); break;
    case 2: snprintf(buf, cap, "key-%d", i); break;
    case 3: snprintf(buf, cap, "user-%d-%x", i, u); break;
    case 4: snprintf(buf, cap, "order/%08d/item", i); break;
    default: snprintf(buf, cap, "%x%x%x", u, u ^ 0x5a5a5a5au, (unsigned)i); break;
    }
}

typedef struct seen {
    char key[64];
    int partition;
} seen;

/* Parses kcat's "%k %p\n" lines into out[]; returns the count. */
static int parse_lines(char *text, seen *out, int cap)
{
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < cap;
         line = strtok_r(NULL, "\n", &save)) {
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        *sp = '\0';
        assert_true(strlen(line) < sizeof(out[n].key));
        strcpy(out[n].key, line);
        out[n].partition = atoi(sp + 1);
        n++;
    }
    return n;
}

static void check_partitioner(kt_cluster *c, const char *partitioner, kafka_balancer_kind kind)
{
    char *topic = kt_unique_topic(partitioner);
    assert_non_null(topic);
    assert_int_equal(kt_cluster_create_topic(c, topic, PARTS, 0), 0);

    size_t cap = KEYS * 96, len = 0;
    char *input = malloc(cap);
    assert_non_null(input);
    for (int i = 0; i < KEYS; i++) {
        char key[48];
        make_key(i, key, sizeof(key));
        len += (size_t)snprintf(input + len, cap - len, "%s:value-%d\n", key, i);
    }

    char prop[64];
    snprintf(prop, sizeof(prop), "partitioner=%s", partitioner);
    const char *produce[] = {"-b", kt_cluster_bootstrap(c), "-P", "-t", topic, "-K", ":",
                             "-X", prop, NULL};
    kt_kcat_result r;
    if (kt_kcat(produce, input, len, 60000, &r) != 0)
        fail_msg("kcat -P (%s) exit %d: %s", partitioner, r.status, r.err);
    kt_kcat_result_free(&r);

    const char *consume[] = {"-b", kt_cluster_bootstrap(c), "-C", "-t", topic, "-o",
                             "beginning", "-e", "-q", "-f", "%k %p\n", NULL};
    if (kt_kcat(consume, NULL, 0, 60000, &r) != 0)
        fail_msg("kcat -C (%s) exit %d: %s", partitioner, r.status, r.err);

    seen *got = calloc(KEYS + 1, sizeof(*got));
    assert_non_null(got);
    int n = parse_lines(r.out, got, KEYS + 1);
    assert_int_equal(n, KEYS);

    kafka_balancer_state *st = NULL;
    assert_int_equal(kafka_balancer_state_new(&(kafka_balancer){.kind = kind}, &st), 0);
    static const int32_t parts[PARTS] = {0, 1, 2, 3, 4, 5};
    int used[PARTS] = {0};
    for (int i = 0; i < n; i++) {
        int32_t mine = -1, pure = -1;
        size_t klen = strlen(got[i].key);
        assert_int_equal(
            kafka_balancer_pick(st, topic, got[i].key, klen, 8, parts, PARTS, &mine), 0);
        assert_int_equal(kafka_partition_for_key(kind, got[i].key, klen, PARTS, &pure), 0);
        if (mine != got[i].partition || pure != got[i].partition)
            fail_msg("%s: key \"%s\" went to partition %d, libkafka picks %d/%d", partitioner,
                     got[i].key, got[i].partition, (int)mine, (int)pure);
        assert_in_range(got[i].partition, 0, PARTS - 1);
        used[got[i].partition]++;
    }
    /* 200 distinct keys over 6 partitions: every partition gets some, so
     * the comparison covered all of them. */
    for (int p = 0; p < PARTS; p++)
        assert_true(used[p] > 0);

    kafka_balancer_state_free(st);
    free(got);
    kt_kcat_result_free(&r);
    free(input);
    free(topic);
}

static void test_crc32_vs_consistent(void **state)
{
    check_partitioner(*state, "consistent", KAFKA_BALANCER_CRC32);
}

static void test_crc32_vs_consistent_random(void **state)
{
    check_partitioner(*state, "consistent_random", KAFKA_BALANCER_CRC32);
}

static void test_murmur2_vs_murmur2(void **state)
{
    check_partitioner(*state, "murmur2", KAFKA_BALANCER_MURMUR2);
}

static void test_murmur2_vs_murmur2_random(void **state)
{
    check_partitioner(*state, "murmur2_random", KAFKA_BALANCER_MURMUR2);
}

static void test_hash_vs_fnv1a(void **state)
{
    check_partitioner(*state, "fnv1a", KAFKA_BALANCER_HASH);
}

int main(void)
{
    /* kcat is a required test dependency (scripts/setup.sh): a missing one
     * fails the run rather than passing it silently. */
    if (!kt_kcat_path()) {
        fprintf(stderr, "kcat not found (set KCAT or install kcat)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_vs_consistent),
        cmocka_unit_test(test_crc32_vs_consistent_random),
        cmocka_unit_test(test_murmur2_vs_murmur2),
        cmocka_unit_test(test_murmur2_vs_murmur2_random),
        cmocka_unit_test(test_hash_vs_fnv1a),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
