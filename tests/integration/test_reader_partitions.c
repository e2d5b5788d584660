/* kafka_reader reading several partitions without a group
 * (config.partitions / all_partitions / start_offsets): every partition of
 * a 12-partition topic read by one reader, each message exactly once and
 * in offset order per partition, on one I/O thread (counted in
 * /proc/self/task); an explicit subset with per-partition starts; the
 * one-partition calls refuse with several; bad configs are INVALID_ARG at
 * kafka_reader_new; a partition or topic that does not exist is an error
 * from the read (or from new_checked), never a hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "proc_util.h"
#include "reader_util.h"
#include "test_cluster.h"
#include "writer_util.h"

#define N_PARTS 12
#define PER_PART 100
#define N_MSGS (N_PARTS * PER_PART)

static kafka_reader *open_reader(kafka_reader_config cfg)
{
    if (!cfg.max_wait_ms)
        cfg.max_wait_ms = 200;
    return kt_reader_open(&cfg);
}

/* A fresh N_PARTS-partition topic holding PER_PART messages "m<i>" per
 * partition (round-robin: message i goes to partition i % N_PARTS). */
static char *filled_topic(kt_cluster *kt, const char *prefix)
{
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, N_PARTS, 1), 0);
    kafka_writer *w = kt_writer_new(kt, topic,
                                    (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN},
                                                          .batch_size = 1});
    assert_non_null(w);
    static char vals[N_MSGS][16];
    kafka_message *m = calloc(N_MSGS, sizeof *m);
    assert_non_null(m);
    for (int i = 0; i < N_MSGS; i++) {
        int len = snprintf(vals[i], sizeof vals[i], "m%d", i);
        m[i].value = vals[i];
        m[i].value_len = (size_t)len;
    }
    assert_int_equal(kafka_writer_write_messages(w, m, N_MSGS, NULL, 120000), 0);
    assert_int_equal(kafka_writer_close(w, -1), 0);
    free(m);
    return topic;
}

static int value_num(const kafka_message *m)
{
    char buf[16] = "";
    if (m->value_len == 0 || m->value_len >= sizeof buf)
        return -1;
    memcpy(buf, m->value, m->value_len);
    return buf[0] == 'm' ? atoi(buf + 1) : -1;
}

/* Reads `want` messages; checks each value is new and each partition's
 * offsets follow one another from first[p] on (first[p] < 0: partition p
 * must not appear). Fills count[p]. Returns the peak thread count seen. */
static int read_all(kafka_reader *r, int want, const int64_t first[N_PARTS], int count[N_PARTS])
{
    unsigned char *seen = calloc(N_MSGS, 1);
    assert_non_null(seen);
    int64_t next[N_PARTS];
    memcpy(next, first, sizeof next);
    int peak = 0;
    for (int got = 0; got < want; got++) {
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(r, &m, 30000);
        if (e)
            fail_msg("read %d of %d: %s", got, want, kafka_err_name(e));
        assert_true(m.partition >= 0 && m.partition < N_PARTS);
        if (first[m.partition] < 0)
            fail_msg("a message of partition %d, which is not read", (int)m.partition);
        /* per-partition order: every offset, in order, once */
        assert_int_equal(m.offset, next[m.partition]);
        next[m.partition]++;
        int i = value_num(&m);
        assert_true(i >= 0 && i < N_MSGS);
        assert_int_equal(i % N_PARTS, m.partition); /* round-robin from 0 */
        assert_int_equal(i / N_PARTS, m.offset);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        count[m.partition]++;
        int t = kt_thread_count();
        peak = t > peak ? t : peak;
    }
    kafka_message m;
    assert_int_equal(kafka_reader_fetch_message(r, &m, 300), KAFKA_ERR_TIMEOUT); /* nothing more */
    free(seen);
    return peak;
}

/* One reader, all_partitions: every message once, per-partition order,
 * and one thread added (its I/O thread) for 12 partitions. */
static void test_all_partitions(void **state)
{
    kt_cluster *kt = *state;
    char *topic = filled_topic(kt, "parts-all");
    int base = kt_thread_count();
    if (base <= 0)
        skip();
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic, .all_partitions = true});
    int64_t first[N_PARTS] = {0};
    int count[N_PARTS] = {0};
    int peak = read_all(r, N_MSGS, first, count);
    for (int p = 0; p < N_PARTS; p++)
        assert_int_equal(count[p], PER_PART);
    print_message("%d partitions, one reader: threads %d before it, peak %d\n", N_PARTS, base, peak);
    assert_int_equal(peak - base, 1);
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    assert_int_equal(st.partitions, N_PARTS);
    assert_int_equal(st.offset, -1);
    /* several partitions: no single offset, no seek; lag sums them */
    assert_int_equal(kafka_reader_offset(r), -1);
    assert_int_equal(kafka_reader_set_offset(r, 0), KAFKA_ERR_STATE);
    assert_int_equal(kafka_reader_set_offset_at(r, 0, 1000), KAFKA_ERR_STATE);
    int64_t lag = -1;
    assert_int_equal(kafka_reader_read_lag(r, &lag, 10000), 0);
    assert_int_equal(lag, 0);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

/* partitions {7, 1, 5} with their own starts: 1 from offset 40, 5 from the
 * first, 7 from the end (nothing). */
static void test_subset_with_starts(void **state)
{
    kt_cluster *kt = *state;
    char *topic = filled_topic(kt, "parts-subset");
    const int32_t ids[] = {7, 1, 5};
    const int64_t starts[] = {KAFKA_OFFSET_LAST, 40, KAFKA_OFFSET_FIRST};
    kafka_reader *r = open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt),
                                                        .topic = topic,
                                                        .partitions = ids,
                                                        .n_partitions = 3,
                                                        .start_offsets = starts});
    int64_t first[N_PARTS];
    for (int p = 0; p < N_PARTS; p++)
        first[p] = -1;
    first[1] = 40;
    first[5] = 0;
    first[7] = PER_PART;
    int count[N_PARTS] = {0};
    read_all(r, (PER_PART - 40) + PER_PART, first, count);
    assert_int_equal(count[1], PER_PART - 40);
    assert_int_equal(count[5], PER_PART);
    assert_int_equal(count[7], 0);
    int64_t lag = -1;
    assert_int_equal(kafka_reader_read_lag(r, &lag, 10000), 0);
    assert_int_equal(lag, 0);
    assert_int_equal(kafka_reader_set_offset(r, 0), KAFKA_ERR_STATE);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

/* A list of one partition is the one-partition reader: it may seek. */
static void test_one_listed_partition_seeks(void **state)
{
    kt_cluster *kt = *state;
    char *topic = filled_topic(kt, "parts-one");
    const int32_t ids[] = {3};
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic, .partitions = ids, .n_partitions = 1});
    kafka_message m;
    assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
    assert_int_equal(m.partition, 3);
    assert_int_equal(m.offset, 0);
    assert_int_equal(kafka_reader_set_offset(r, 90), 0);
    assert_int_equal(kafka_reader_read_message(r, &m, 30000), 0);
    assert_int_equal(m.partition, 3);
    assert_int_equal(m.offset, 90);
    assert_int_equal(value_num(&m), 90 * N_PARTS + 3);
    assert_int_equal(kafka_reader_offset(r), 91);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

static void expect_invalid(kafka_reader_config c, const char *why)
{
    kafka_reader *r = (kafka_reader *)&r; /* must be set to NULL */
    char err[256] = "";
    kafka_err e = kafka_reader_new(&r, &c, err, sizeof err);
    if (e != KAFKA_ERR_INVALID_ARG)
        fail_msg("%s: got %s, want INVALID_ARG", why, kafka_err_name(e));
    assert_null(r);
    print_message("%s: %s\n", why, err);
    assert_true(err[0] != '\0');
}

static void test_invalid_configs(void **state)
{
    (void)state;
    const char *b = "127.0.0.1:1";
    const int32_t two[] = {0, 1}, dup[] = {2, 0, 2}, neg[] = {0, -1};
    const int64_t starts[] = {0, 0}, bad_starts[] = {0, -3};
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .group_id = "g", .partitions = two, .n_partitions = 2},
                   "group_id + partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .group_id = "g", .all_partitions = true},
                   "group_id + all_partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .partition = 1, .partitions = two, .n_partitions = 2},
                   "partition + partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .partition = 1, .all_partitions = true},
                   "partition + all_partitions");
    expect_invalid(
        (kafka_reader_config){.brokers = b, .topic = "t", .partitions = two, .n_partitions = 2, .all_partitions = true},
        "partitions + all_partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .partitions = dup, .n_partitions = 3},
                   "duplicate id");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .partitions = neg, .n_partitions = 2},
                   "negative id");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .n_partitions = 2}, "n_partitions without array");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .partitions = two}, "array without n_partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .start_offsets = starts},
                   "start_offsets without partitions");
    expect_invalid((kafka_reader_config){.brokers = b, .topic = "t", .all_partitions = true, .start_offsets = starts},
                   "start_offsets with all_partitions");
    expect_invalid(
        (kafka_reader_config){.brokers = b, .topic = "t", .partitions = two, .n_partitions = 2, .start_offsets = bad_starts},
        "start offset below KAFKA_OFFSET_FIRST");
}

/* Reads until an error (bounded: each read times out). */
static kafka_err first_error(kafka_reader *r, int tries)
{
    for (int i = 0; i < tries; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 1000);
        if (e && e != KAFKA_ERR_TIMEOUT)
            return e;
    }
    return KAFKA_ERR_TIMEOUT;
}

/* Partition 99 of a 12-partition topic: the read says so while partition
 * 0 keeps flowing; new_checked refuses at creation. */
static void test_missing_partition(void **state)
{
    kt_cluster *kt = *state;
    char *topic = filled_topic(kt, "parts-missing");
    const int32_t ids[] = {0, 99};
    kafka_reader_config c = {.brokers = kt_cluster_bootstrap(kt),
                             .topic = topic,
                             .partitions = ids,
                             .n_partitions = 2,
                             .max_wait_ms = 200};
    kafka_reader *r = open_reader(c);
    int from0 = 0;
    kafka_err e = 0;
    for (int i = 0; i < 40 && (from0 < PER_PART || !e); i++) {
        kafka_message m;
        kafka_err x = kafka_reader_read_message(r, &m, 1000);
        if (!x) {
            assert_int_equal(m.partition, 0);
            from0++;
        } else if (x != KAFKA_ERR_TIMEOUT) {
            e = x;
        }
    }
    assert_int_equal(e, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    assert_non_null(strstr(text, "99"));
    assert_int_equal(kafka_reader_close(r), 0);
    char err[256] = "";
    r = (kafka_reader *)&r;
    assert_int_equal(kafka_reader_new_checked(&r, &c, 10000, err, sizeof err), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(r);
    print_message("new_checked: %s\n", err);
    free(topic);
}

/* all_partitions of a topic the broker says does not exist: the read
 * reports it (the reader keeps looking), close is prompt. */
static void test_all_partitions_unknown_topic(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("parts-unknown");
    assert_int_equal(kt_cluster_cmd(kt, "topic_error %s UNKNOWN_TOPIC_OR_PARTITION", topic), 0);
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic, .all_partitions = true});
    assert_int_equal(first_error(r, 20), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    assert_non_null(strstr(text, topic));
    int64_t lag = 0;
    assert_int_equal(kafka_reader_read_lag(r, &lag, 300), KAFKA_ERR_TIMEOUT); /* no partition list yet */
    assert_int_equal(kafka_reader_close(r), 0);
    assert_int_equal(kt_cluster_cmd(kt, "topic_error %s 0", topic), 0);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_configs),
        cmocka_unit_test(test_all_partitions),
        cmocka_unit_test(test_subset_with_starts),
        cmocka_unit_test(test_one_listed_partition_seeks),
        cmocka_unit_test(test_missing_partition),
        cmocka_unit_test(test_all_partitions_unknown_topic),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
