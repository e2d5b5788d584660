/* kafka_writer: where keyless messages go (include/kafka/balancer.h,
 * "Keyless messages ... sticky by default"). One thread writes to a fresh
 * 4-partition topic; the topic is read back through the conn layer, and
 * every message's partition (found by the id in its value) is compared
 * with what the documented rule gives:
 *   - hash kinds, .keyless = STICKY (the zero value): a thread keeps its
 *     partition until it has put there batch_size messages or batch_bytes
 *     key+value bytes, then takes the next partition of the topic in turn;
 *   - .keyless = KAFKA_KEYLESS_ROUND_ROBIN, and the ROUND_ROBIN kind: the
 *     next partition for every message;
 *   - keyed messages (and for the non-CRC32 kinds empty keys) go where
 *     kafka_partition_for_key says, and do not move the sticky partition.
 * The first keyless partition is taken from the data (the rule does not
 * say where the rotation starts); everything after it is derived from the
 * rule, never from the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/balancer.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

#define P 4        /* partitions of every topic here */
#define MAX_MSGS 256

/* ---- messages and where they landed --------------------------------------- */

/* Value of message id: the id as a big-endian u32, then filler up to len
 * (len >= 4). */
static void fill_value(uint8_t *v, size_t len, uint32_t id)
{
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)(id >> (24 - 8 * i));
    for (size_t i = 4; i < len; i++)
        v[i] = (uint8_t)('a' + (id + i) % 26);
}

typedef struct placed {
    uint32_t n;                /* messages written: ids 0..n-1 */
    int32_t where[MAX_MSGS];   /* partition of each id, -1 = not seen */
    int count[MAX_MSGS];       /* copies read back */
    int64_t last_id[P];        /* per partition: order check */
    long out_of_order, bad;
} placed;

static void placed_seen(void *priv, int32_t p, int64_t offset, const kafka_message *m)
{
    (void)offset;
    placed *s = priv;
    if (!m->value || m->value_len < 4) {
        s->bad++;
        return;
    }
    const uint8_t *v = m->value;
    uint32_t id = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    if (id >= s->n || p < 0 || p >= P) {
        s->bad++;
        return;
    }
    s->count[id]++;
    s->where[id] = p;
    if ((int64_t)id <= s->last_id[p])
        s->out_of_order++;
    s->last_id[p] = id;
}

/* Reads the P partitions of topic back: every one of the n messages
 * exactly once, nothing else, and each partition in write order. */
static void read_placed(kt_cluster *kt, const char *topic, uint32_t n, placed *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    for (uint32_t i = 0; i < MAX_MSGS; i++)
        s->where[i] = -1;
    for (int p = 0; p < P; p++)
        s->last_id[p] = -1;
    long total = 0;
    for (int32_t p = 0; p < P; p++) {
        long got = kt_read_partition(kt, topic, p, placed_seen, s);
        assert_true(got >= 0);
        total += got;
    }
    assert_int_equal(s->bad, 0);
    assert_int_equal(total, n);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(s->count[i], 1);
    assert_int_equal(s->out_of_order, 0); /* one thread: write order per partition */
}

/* A writer on a fresh P-partition topic (*topic_out, caller frees). */
static kafka_writer *writer_on_new_topic(kt_cluster *kt, const char *prefix, kafka_writer_config cfg,
                                         char **topic_out)
{
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, P, 3), 0);
    kafka_writer *w = kt_writer_new(kt, topic, cfg);
    assert_non_null(w);
    *topic_out = topic;
    return w;
}

/* Writes msgs[0..n) one per call (async writer) or in one call (sync),
 * then closes the writer (which delivers what async writes buffered). */
static void write_all_close(kafka_writer *w, const kafka_message *msgs, uint32_t n, bool async)
{
    if (async) {
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(kafka_writer_write_messages(w, &msgs[i], 1, NULL, -1), 0);
    } else {
        kafka_err errs[MAX_MSGS];
        assert_int_equal(kafka_writer_write_messages(w, msgs, n, errs, -1), 0);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(errs[i], 0);
    }
    assert_int_equal(kafka_writer_close(w, 10000), 0);
}

/* The sticky rule for the keyless messages among ids 0..n-1 (keyless[id]
 * true), each keyless message run_len long runs: the j-th keyless message
 * is in run j / run_len, and run r is on partition (p0 + r) % P, p0 being
 * the first run's partition. Also checks that every partition received
 * the same number of keyless messages when the runs go round evenly. */
static void check_sticky_runs(const placed *s, const bool *keyless, uint32_t n, uint32_t run_len)
{
    int32_t p0 = -1;
    uint32_t j = 0, per_part[P] = {0};
    for (uint32_t id = 0; id < n; id++) {
        if (keyless && !keyless[id])
            continue;
        if (p0 < 0)
            p0 = s->where[id];
        int32_t want = (int32_t)((uint32_t)p0 + j / run_len) % P;
        if (s->where[id] != want)
            fail_msg("keyless message %u (keyless #%u, run %u of %u): partition %d, expected %d", id, j,
                     j / run_len, run_len, (int)s->where[id], (int)want);
        per_part[s->where[id]]++;
        j++;
    }
    assert_true(j > 0);
    if (j % (run_len * P) == 0)
        for (int p = 0; p < P; p++)
            assert_int_equal(per_part[p], j / P);
}

/* ---- (a) runs of batch_size messages --------------------------------------- */

#define RUN_B 10
#define RUN_K 3 /* rounds over the partitions */

/* Keyless messages of one thread come in runs of exactly batch_size
 * messages (values are small: batch_bytes, 1 MiB by default, is far),
 * consecutive runs on consecutive partitions, so after K rounds every
 * partition holds K * batch_size of them, in write order. For every hash
 * kind (CRC32 included: a null key is keyless there too), async writes one
 * message per call and one sync call with all of them. */
static void test_sticky_runs_of_batch_size(void **state)
{
    kt_cluster *kt = *state;
    const kafka_balancer_kind kinds[] = {KAFKA_BALANCER_DEFAULT, KAFKA_BALANCER_HASH, KAFKA_BALANCER_REFERENCE_HASH,
                                         KAFKA_BALANCER_CRC32};
    enum { N = RUN_K * P * RUN_B };
    static uint8_t vals[N][12];
    kafka_message msgs[N];
    for (uint32_t i = 0; i < N; i++) {
        fill_value(vals[i], sizeof vals[i], i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = sizeof vals[i]};
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int async = 0; async < 2; async++) {
            char *topic;
            kafka_writer *w = writer_on_new_topic(
                kt, "wst-runs",
                (kafka_writer_config){.async = async, .batch_size = RUN_B, .balancer = {.kind = kinds[k]}}, &topic);
            write_all_close(w, msgs, N, async);
            static placed s;
            read_placed(kt, topic, N, &s);
            check_sticky_runs(&s, NULL, N, RUN_B);
            free(topic);
        }
}

/* ---- (b) runs of batch_bytes ------------------------------------------------ */

/* batch_size is far (1000), batch_bytes = 4096: a run ends with the
 * message that brings the group's key+value allowance to <= 0
 * (writer.c sticky_pick: the allowance starts at batch_bytes, each
 * message takes key_len + value_len off it after being placed, and the
 * next message moves on once it is <= 0). Values of 1000 bytes leave
 * 3096, 2096, 1096, 96, -904: the 5th message is the last of its run,
 * ceil(4096 / 1000) = 5. Values of 1024 bytes leave 3072, 2048, 1024, 0:
 * a run of 4 = 4096 / 1024, exactly a batch's worth of bytes. */
static void sticky_bytes_case(kt_cluster *kt, size_t value_len, uint32_t run_len)
{
    enum { N = 2 * P * 5 };
    static uint8_t vals[N][1024];
    kafka_message msgs[N];
    uint32_t n = 2 * P * run_len; /* two rounds over the partitions */
    assert_true(n <= N);
    for (uint32_t i = 0; i < n; i++) {
        fill_value(vals[i], value_len, i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = value_len};
    }
    for (int async = 0; async < 2; async++) {
        char *topic;
        kafka_writer *w = writer_on_new_topic(
            kt, "wst-bytes", (kafka_writer_config){.async = async, .batch_size = 1000, .batch_bytes = 4096}, &topic);
        write_all_close(w, msgs, n, async);
        static placed s;
        read_placed(kt, topic, n, &s);
        check_sticky_runs(&s, NULL, n, run_len);
        free(topic);
    }
}

static void test_sticky_runs_of_batch_bytes(void **state)
{
    sticky_bytes_case(*state, 1000, 5);
    sticky_bytes_case(*state, 1024, 4);
}

/* ---- (c) per-message rotation ------------------------------------------------- */

/* Message i (all keyless, or all keyed for the ROUND_ROBIN kind) is on
 * partition (p0 + i) % P. */
static void check_rotation(const placed *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (s->where[i] != (s->where[0] + (int32_t)i) % P)
            fail_msg("message %u: partition %d, expected %d (one partition after the other)", i, (int)s->where[i],
                     (int)((s->where[0] + (int32_t)i) % P));
}

/* KAFKA_KEYLESS_ROUND_ROBIN: consecutive keyless messages of one thread go
 * to consecutive partitions, whatever batch_size is (here the default,
 * 100, which a sticky writer would fill before moving). CRC32 empty keys
 * count as keyless there too. */
static void test_keyless_round_robin_mode(void **state)
{
    kt_cluster *kt = *state;
    enum { N = 3 * P + 1 };
    static uint8_t vals[N][8];
    const kafka_balancer_kind kinds[] = {KAFKA_BALANCER_DEFAULT, KAFKA_BALANCER_CRC32};
    for (size_t k = 0; k < 2; k++)
        for (int async = 0; async < 2; async++) {
            kafka_message msgs[N];
            for (uint32_t i = 0; i < N; i++) {
                fill_value(vals[i], sizeof vals[i], i);
                msgs[i] = (kafka_message){.value = vals[i], .value_len = sizeof vals[i]};
                if (kinds[k] == KAFKA_BALANCER_CRC32 && i % 2) {
                    msgs[i].key = "";
                    msgs[i].key_len = 0;
                }
            }
            char *topic;
            kafka_writer *w = writer_on_new_topic(
                kt, "wst-rr",
                (kafka_writer_config){.async = async,
                                      .balancer = {.kind = kinds[k], .keyless = KAFKA_KEYLESS_ROUND_ROBIN}},
                &topic);
            write_all_close(w, msgs, N, async);
            static placed s;
            read_placed(kt, topic, N, &s);
            check_rotation(&s, N);
            free(topic);
        }
}

/* The ROUND_ROBIN kind is not sticky (its .keyless is for the hash kinds)
 * and ignores keys: every message, keyed or not, to the next partition. */
static void test_round_robin_kind_per_message(void **state)
{
    kt_cluster *kt = *state;
    enum { N = 3 * P + 1 };
    static uint8_t vals[N][8];
    kafka_message msgs[N];
    for (uint32_t i = 0; i < N; i++) {
        fill_value(vals[i], sizeof vals[i], i);
        msgs[i] = (kafka_message){.value = vals[i], .value_len = sizeof vals[i]};
        if (i % 3 == 1) {
            msgs[i].key = "same key";
            msgs[i].key_len = 8;
        }
    }
    char *topic;
    kafka_writer *w = writer_on_new_topic(
        kt, "wst-rrkind", (kafka_writer_config){.batch_size = 10, .balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN}},
        &topic);
    write_all_close(w, msgs, N, false);
    static placed s;
    read_placed(kt, topic, N, &s);
    check_rotation(&s, N);
    free(topic);
}

/* ---- (d) keys, empty keys and keyless messages mixed ------------------------------ */

/* Message id's key in the mixed runs: every 4th a real key, every 4th + 1
 * an empty key, the others null. */
static char mixed_keys[MAX_MSGS][16];

static void mixed_message(kafka_message *m, uint8_t *v, uint32_t id)
{
    fill_value(v, 8, id);
    *m = (kafka_message){.value = v, .value_len = 8};
    if (id % 4 == 0) {
        snprintf(mixed_keys[id], sizeof mixed_keys[id], "key-%u", id);
        m->key = mixed_keys[id];
        m->key_len = strlen(mixed_keys[id]);
    } else if (id % 4 == 1) {
        m->key = "";
        m->key_len = 0;
    }
}

/* Keyed messages go to kafka_partition_for_key's partition (computed
 * with the public function, which has its own vector tests) without
 * moving the sticky partition; the keyless ones between them still come
 * in runs of batch_size. Empty keys: hashed by MURMUR2 (all on
 * kafka_partition_for_key(MURMUR2, "", 0, P)), keyless for CRC32. */
static void mixed_case(kt_cluster *kt, kafka_balancer_kind kind, bool async)
{
    /* Keyless: 2 of every 4 messages for MURMUR2 (96), 3 of 4 for CRC32
     * (144): 4 and 6 whole rounds of runs of 6 over the partitions. */
    enum { N = 2 * P * 4 * 6 };
    const uint32_t run = 6;
    static uint8_t vals[N][8];
    kafka_message msgs[N];
    bool keyless[N];
    for (uint32_t i = 0; i < N; i++) {
        mixed_message(&msgs[i], vals[i], i);
        keyless[i] = msgs[i].key == NULL || (kind == KAFKA_BALANCER_CRC32 && msgs[i].key_len == 0);
    }
    char *topic;
    kafka_writer *w = writer_on_new_topic(
        kt, "wst-mixed", (kafka_writer_config){.async = async, .batch_size = (int)run, .balancer = {.kind = kind}},
        &topic);
    write_all_close(w, msgs, N, async);
    static placed s;
    read_placed(kt, topic, N, &s);
    for (uint32_t i = 0; i < N; i++) {
        if (keyless[i])
            continue;
        int32_t want = -1;
        assert_int_equal(kafka_partition_for_key(kind, msgs[i].key, msgs[i].key_len, P, &want), 0);
        if (s.where[i] != want)
            fail_msg("%s: message %u with key \"%.*s\" on partition %d, expected %d", kafka_balancer_kind_name(kind),
                     i, (int)msgs[i].key_len, (const char *)msgs[i].key, (int)s.where[i], (int)want);
    }
    check_sticky_runs(&s, keyless, N, run);
    free(topic);
}

static void test_sticky_with_keys_and_empty_keys(void **state)
{
    for (int async = 0; async < 2; async++) {
        mixed_case(*state, KAFKA_BALANCER_MURMUR2, async);
        mixed_case(*state, KAFKA_BALANCER_CRC32, async);
    }
}

/* ---- (e) a bad keyless mode ------------------------------------------------------------ */

static void test_bad_keyless_mode(void **state)
{
    (void)state;
    const kafka_keyless_mode bad[] = {(kafka_keyless_mode)7, (kafka_keyless_mode)-1,
                                      (kafka_keyless_mode)(KAFKA_KEYLESS_ROUND_ROBIN + 1)};
    const kafka_balancer_kind kinds[] = {KAFKA_BALANCER_DEFAULT, KAFKA_BALANCER_ROUND_ROBIN};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            kafka_writer *w = (kafka_writer *)1;
            char err[256] = "";
            assert_int_equal(kafka_writer_new(&w,
                                              &(kafka_writer_config){.brokers = "h:1",
                                                                     .balancer = {.kind = kinds[k], .keyless = bad[i]}},
                                              err, sizeof err),
                             KAFKA_ERR_INVALID_ARG);
            assert_null(w);
            if (!strstr(err, "keyless"))
                fail_msg("error text does not name keyless: \"%s\"", err);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_keyless_mode),
        cmocka_unit_test(test_sticky_runs_of_batch_size),
        cmocka_unit_test(test_sticky_runs_of_batch_bytes),
        cmocka_unit_test(test_keyless_round_robin_mode),
        cmocka_unit_test(test_round_robin_kind_per_message),
        cmocka_unit_test(test_sticky_with_keys_and_empty_keys),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
