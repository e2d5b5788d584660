/* The small API of issue 15, against the 3-broker test broker:
 * kafka_message.opaque handed back to the completion callback (async and
 * sync writes; delivered, failed by the broker, failed at close; indexed
 * and decoded reports), an explicit partition (KAFKA_MSG_PARTITION_SET,
 * partition 0 included; an out-of-range one fails that message only), and
 * kafka_dial on a bootstrap list. Expected values come from what the test
 * wrote (its own tags) and what it reads back through the conn layer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/conn.h"
#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

/* ---- opaque --------------------------------------------------------------- */

#define N_TAGGED 40

/* One application request per message: what the callback must find. */
typedef struct request {
    char value[16];
    int reports; /* times the callback reported it */
    kafka_err err;
} request;

typedef struct reports {
    pthread_mutex_t mu;
    long strays; /* reports with a NULL or foreign opaque, or wrong content */
    request req[N_TAGGED];
} reports;

static void match_cb(void *priv, const kafka_message *msgs, size_t n, kafka_err err)
{
    reports *r = priv;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        request *q = msgs[i].opaque;
        if (!q || q < r->req || q >= r->req + N_TAGGED) {
            r->strays++;
            continue;
        }
        /* Reports with contents must carry this request's own value. */
        if (msgs[i].value && (msgs[i].value_len != strlen(q->value) ||
                              memcmp(msgs[i].value, q->value, msgs[i].value_len) != 0))
            r->strays++;
        q->reports++;
        q->err = err;
    }
    pthread_mutex_unlock(&r->mu);
}

static void reports_init(reports *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    for (int i = 0; i < N_TAGGED; i++)
        snprintf(r->req[i].value, sizeof r->req[i].value, "req-%d", i);
}

/* Messages for r's requests; every third with a header (those batches
 * are reported by decoding, the others from the writer's index), every
 * fifth with a NULL opaque (not one of r's: must come back NULL). */
static void tagged_messages(reports *r, kafka_message *msgs, const kafka_header *h)
{
    for (int i = 0; i < N_TAGGED; i++) {
        msgs[i] = (kafka_message){.value = r->req[i].value, .value_len = strlen(r->req[i].value),
                                  .opaque = i % 5 == 4 ? NULL : &r->req[i]};
        if (i % 3 == 0) {
            msgs[i].headers = h;
            msgs[i].n_headers = 1;
        }
    }
}

static void expect_all_reported(reports *r, kafka_err want)
{
    long nulls = 0;
    for (int i = 0; i < N_TAGGED; i++) {
        if (i % 5 == 4) {
            assert_int_equal(r->req[i].reports, 0);
            nulls++;
            continue;
        }
        assert_int_equal(r->req[i].reports, 1);
        assert_int_equal(r->req[i].err, want);
    }
    /* The NULL-opaque messages are the strays, and nothing else. */
    assert_int_equal(r->strays, nulls);
}

static void opaque_round(kt_cluster *kt, bool async, kafka_codec codec)
{
    char *topic = kt_unique_topic("w-opaque");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    reports r;
    reports_init(&r);
    kafka_writer *w = kt_writer_new(kt, topic,
                                    (kafka_writer_config){.async = async, .completion = match_cb,
                                                          .completion_privdata = &r, .compression = codec,
                                                          .batch_size = 7, .batch_timeout_ms = 5});
    assert_non_null(w);
    kafka_message msgs[N_TAGGED];
    const kafka_header h = {.key = "h", .key_len = 1, .value = "v", .value_len = 1};
    tagged_messages(&r, msgs, &h);
    kafka_err errs[N_TAGGED];
    assert_int_equal(kafka_writer_write_messages(w, msgs, N_TAGGED, errs, 30000), 0);
    assert_int_equal(kafka_writer_close(w, 30000), 0);
    expect_all_reported(&r, 0);
    free(topic);
}

static void test_opaque_async(void **state) { opaque_round(*state, true, KAFKA_CODEC_NONE); }
static void test_opaque_sync(void **state) { opaque_round(*state, false, KAFKA_CODEC_NONE); }
static void test_opaque_async_compressed(void **state) { opaque_round(*state, true, KAFKA_CODEC_LZ4); }

/* A broker error fails the batch: each message's report still carries
 * its opaque. */
static void test_opaque_broker_error(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-opaque-err");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 3), 0);
    reports r;
    reports_init(&r);
    kafka_writer *w = kt_writer_new(
        kt, topic, (kafka_writer_config){.completion = match_cb, .completion_privdata = &r, .batch_size = 1000});
    assert_non_null(w);
    kafka_message msgs[N_TAGGED];
    const kafka_header h = {.key = "h", .key_len = 1, .value = "v", .value_len = 1};
    tagged_messages(&r, msgs, &h);
    assert_int_equal(kt_cluster_cmd(kt, "error Produce 87"), 0); /* INVALID_RECORD, not retriable */
    kafka_err errs[N_TAGGED];
    assert_int_equal(kafka_writer_write_messages(w, msgs, N_TAGGED, errs, 30000), KAFKA_ERR_INVALID_RECORD);
    assert_int_equal(kafka_writer_close(w, 10000), 0);
    expect_all_reported(&r, KAFKA_ERR_INVALID_RECORD);
    free(topic);
}

/* Messages still buffered when close gives up are reported failed, each
 * with its opaque. */
static void test_opaque_failed_at_close(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("w-opaque-close");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 2, 3), 0);
    reports r;
    reports_init(&r);
    kafka_writer *w =
        kt_writer_new(kt, topic,
                      (kafka_writer_config){.async = true, .completion = match_cb, .completion_privdata = &r,
                                            .dial_timeout_ms = 500, .read_timeout_ms = 1000, .write_timeout_ms = 1000,
                                            /* retried until close gives up (a failed leader
                                             * lookup costs no time: it never blocks) */
                                            .max_attempts = 1000});
    assert_non_null(w);
    /* Learn the metadata (an untagged message: a stray), then lose every
     * broker. */
    kafka_message m0 = {.value = "first", .value_len = 5};
    assert_int_equal(kafka_writer_write_messages(w, &m0, 1, NULL, -1), 0);
    assert_int_equal(kafka_writer_flush(w, 10000), 0);
    r.strays = 0;
    assert_int_equal(kt_cluster_cmd(kt, "down -1"), 0);
    kafka_message msgs[N_TAGGED];
    const kafka_header h = {.key = "h", .key_len = 1, .value = "v", .value_len = 1};
    tagged_messages(&r, msgs, &h);
    assert_int_equal(kafka_writer_write_messages(w, msgs, N_TAGGED, NULL, -1), 0);
    kafka_err e = kafka_writer_close(w, 1500);
    assert_int_equal(kt_cluster_cmd(kt, "up -1"), 0);
    assert_int_equal(e, KAFKA_ERR_TIMEOUT);
    for (int i = 0; i < N_TAGGED; i++)
        if (i % 5 != 4) {
            assert_int_equal(r.req[i].reports, 1);
            assert_true(r.req[i].err != 0);
        }
    free(topic);
}

/* ---- explicit partition ------------------------------------------------------ */

typedef struct part_seen {
    long n;
    char last[32];
} part_seen;

static void part_seen_cb(void *priv, int32_t partition, int64_t offset, const kafka_message *m)
{
    (void)partition;
    (void)offset;
    part_seen *s = priv;
    s->n++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)m->value_len, (const char *)m->value);
}

static void explicit_round(kt_cluster *kt, bool async)
{
    char *topic = kt_unique_topic("w-part");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    kafka_writer *w = kt_writer_new(kt, topic, (kafka_writer_config){.async = async, .batch_timeout_ms = 5});
    assert_non_null(w);
    /* Keys that a balancer would spread; the flag overrides it. Message 3
     * has a partition but no flag: the balancer decides (ignored here).
     * Message 4 names a partition the topic does not have. */
    kafka_message msgs[6] = {
        {.key = "a", .key_len = 1, .value = "p0-a", .value_len = 4, .partition = 0, .flags = KAFKA_MSG_PARTITION_SET},
        {.key = "b", .key_len = 1, .value = "p2-b", .value_len = 4, .partition = 2, .flags = KAFKA_MSG_PARTITION_SET},
        {.key = "c", .key_len = 1, .value = "p0-c", .value_len = 4, .partition = 0, .flags = KAFKA_MSG_PARTITION_SET},
        {.key = "d", .key_len = 1, .value = "any", .value_len = 3, .partition = 1},
        {.value = "p7", .value_len = 2, .partition = 7, .flags = KAFKA_MSG_PARTITION_SET},
        {.value = "p2-z", .value_len = 4, .partition = 2, .flags = KAFKA_MSG_PARTITION_SET},
    };
    kafka_err errs[6];
    kafka_err e = kafka_writer_write_messages(w, msgs, 6, errs, 20000);
    assert_int_equal(e, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    for (int i = 0; i < 6; i++)
        assert_int_equal(errs[i], i == 4 ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION : 0);
    /* A negative one too, alone: the call's error is that message's. */
    kafka_message neg = {.value = "neg", .value_len = 3, .partition = -1, .flags = KAFKA_MSG_PARTITION_SET};
    assert_int_equal(kafka_writer_write_messages(w, &neg, 1, NULL, 20000), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(kafka_writer_close(w, 20000), 0);
    part_seen p0 = {0}, p2 = {0}, p1 = {0};
    assert_int_equal(kt_read_partition(kt, topic, 0, part_seen_cb, &p0) +
                         kt_read_partition(kt, topic, 1, part_seen_cb, &p1) +
                         kt_read_partition(kt, topic, 2, part_seen_cb, &p2),
                     4 + 1);
    /* p0-a, p0-c (in that order) on 0; p2-b, p2-z on 2; "any" wherever. */
    assert_true(p0.n == 2 || p0.n == 3);
    assert_true(p2.n == 2 || p2.n == 3);
    if (p0.n == 2)
        assert_string_equal(p0.last, "p0-c");
    if (p2.n == 2)
        assert_string_equal(p2.last, "p2-z");
    free(topic);
}

static void test_explicit_partition_sync(void **state) { explicit_round(*state, false); }
static void test_explicit_partition_async(void **state) { explicit_round(*state, true); }

/* ---- kafka_dial on a bootstrap list ------------------------------------------ */

static void test_dial_bootstrap_list(void **state)
{
    kt_cluster *kt = *state;
    char first[256];
    snprintf(first, sizeof first, "%s", kt_cluster_bootstrap(kt));
    char *comma = strchr(first, ',');
    if (comma)
        *comma = '\0';
    char list[512];
    /* Port 1: privileged and unused on test machines (connection refused). */
    snprintf(list, sizeof list, "127.0.0.1:1, %s", first);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial(&c, list, NULL, 10000), 0);
    assert_non_null(c);
    assert_string_equal(kafka_conn_address(c), first);
    kafka_conn_close(c);
    /* The whole list of the cluster works as well. */
    assert_int_equal(kafka_dial(&c, kt_cluster_bootstrap(kt), NULL, 10000), 0);
    kafka_conn_close(c);
}

static void test_dial_bootstrap_list_all_fail(void **state)
{
    (void)state;
    kafka_conn *c = (kafka_conn *)1;
    kafka_err e = kafka_dial(&c, "127.0.0.1:1,127.0.0.1:2,[::1]:3", NULL, 5000);
    assert_true(e < 0);
    assert_null(c);
    const char *why = kafka_dial_last_error();
    print_message("dial list error: %s\n", why);
    assert_non_null(strstr(why, "127.0.0.1:1"));
    assert_non_null(strstr(why, "127.0.0.1:2"));
    assert_non_null(strstr(why, "[::1]:3"));
    /* A bad entry is named too, and does not stop the search. */
    e = kafka_dial(&c, "nohost,127.0.0.1:1", NULL, 5000);
    assert_true(e < 0);
    assert_non_null(strstr(kafka_dial_last_error(), "nohost"));
    assert_non_null(strstr(kafka_dial_last_error(), "127.0.0.1:1"));
    assert_int_equal(kafka_dial(&c, ",", NULL, 1000), KAFKA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opaque_async),
        cmocka_unit_test(test_opaque_sync),
        cmocka_unit_test(test_opaque_async_compressed),
        cmocka_unit_test(test_opaque_broker_error),
        cmocka_unit_test(test_opaque_failed_at_close),
        cmocka_unit_test(test_explicit_partition_sync),
        cmocka_unit_test(test_explicit_partition_async),
        cmocka_unit_test(test_dial_bootstrap_list),
        cmocka_unit_test(test_dial_bootstrap_list_all_fail),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
