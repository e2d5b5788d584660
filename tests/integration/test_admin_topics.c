/* kafka_admin topic calls against the test broker. librdkafka's mock has
 * no CreateTopics/DeleteTopics/CreatePartitions: those tests check the
 * call reaches a broker and reports NO_COMMON_VERSION there (proof that
 * the controller lookup falls back to any broker when Metadata names no
 * controller), and are reported as skipped for the part they cannot
 * check; against kafka_mock or a real cluster they run in full.
 * Expected values come from what the tests set up (topics created with
 * the fixture, leaders pinned with the mock's "leader" command). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_util.h"
#include "kafka/admin.h"
#include "test_cluster.h"

static const kafka_admin_topic *find_topic(const kafka_admin_topics *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->topics[i].name, name) == 0)
            return &t->topics[i];
    return NULL;
}

static void test_new_bad_config(void **state)
{
    (void)state;
    kafka_admin *a = (kafka_admin *)1;
    char err[128] = "";
    assert_int_equal(kafka_admin_new(&a, NULL, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    assert_null(a);
    assert_int_equal(kafka_admin_new(&a, &(kafka_admin_config){.brokers = ""}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_true(strlen(err) > 0);
    assert_int_equal(kafka_admin_new(&a, &(kafka_admin_config){.brokers = "nohost"}, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_new(&a, &(kafka_admin_config){.brokers = "h:1", .dial_timeout_ms = -1}, NULL, 0),
                     KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(NULL); /* NULL-safe */
}

static void test_list_and_describe(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-topics");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 0 1", topic), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 1 2", topic), 0);
    assert_int_equal(kt_cluster_cmd(kt, "leader %s 2 3", topic), 0);
    kafka_admin *a = kt_admin_new(kt);

    kafka_admin_topics *list = NULL;
    assert_int_equal(kafka_admin_list_topics(a, false, 10000, &list), 0);
    const kafka_admin_topic *t = find_topic(list, topic);
    assert_non_null(t);
    assert_int_equal(t->err, 0);
    assert_int_equal(t->n_partitions, 3);
    for (size_t i = 0; i < t->n_partitions; i++) {
        assert_int_equal(t->partitions[i].partition, (int)i);
        assert_int_equal(t->partitions[i].leader, (int)i + 1);
        /* replication 3 on 3 brokers: every broker is a replica (the
         * leader pinned above among them) */
        const kafka_admin_partition *p = &t->partitions[i];
        assert_int_equal(p->n_replicas, 3);
        bool leader_listed = false, leader_in_sync = false;
        for (size_t k = 0; k < p->n_replicas; k++)
            leader_listed |= p->replicas[k] == p->leader;
        for (size_t k = 0; k < p->n_isr; k++)
            leader_in_sync |= p->isr[k] == p->leader;
        assert_true(leader_listed && leader_in_sync);
        assert_int_equal(p->n_offline, 0);
    }
    for (size_t i = 1; i < list->n; i++) /* sorted by name */
        assert_true(strcmp(list->topics[i - 1].name, list->topics[i].name) < 0);
    kafka_admin_topics_free(list);

    char *unknown = kt_unique_topic("admin-nope");
    const char *names[] = {topic, unknown};
    kafka_admin_topics *d = NULL;
    assert_int_equal(kafka_admin_describe_topics(a, names, 2, 10000, &d), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_non_null(d);
    assert_int_equal(d->n, 2);
    assert_string_equal(d->topics[0].name, topic);
    assert_int_equal(d->topics[0].err, 0);
    assert_int_equal(d->topics[0].n_partitions, 3);
    assert_int_equal(d->topics[0].partitions[1].leader, 2);
    assert_string_equal(d->topics[1].name, unknown);
    assert_int_equal(d->topics[1].err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(d->topics[1].n_partitions, 0);
    kafka_admin_topics_free(d);

    /* describing an unknown topic must not create it (the mock
     * auto-creates topics named in Metadata v0-v3) */
    assert_int_equal(kafka_admin_list_topics(a, true, 10000, &list), 0);
    assert_null(find_topic(list, unknown));
    kafka_admin_topics_free(list);

    kafka_admin_close(a);
    free(unknown);
    free(topic);
}

static void test_topic_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_topic_results *r = (kafka_admin_topic_results *)1;
    char msg[512];

    const char *long_name_buf = NULL;
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    long_name_buf = longname;

    kafka_topic_config bad[] = {
        {.topic = "", .num_partitions = 1, .replication_factor = 1},
        {.topic = NULL, .num_partitions = 1, .replication_factor = 1},
        {.topic = "ok", .num_partitions = -5, .replication_factor = 1},
        {.topic = "ok", .num_partitions = 0, .replication_factor = 1},
        {.topic = "ok", .num_partitions = 1, .replication_factor = 0},
        {.topic = "bad/name", .num_partitions = 1, .replication_factor = 1},
        {.topic = long_name_buf, .num_partitions = 1, .replication_factor = 1},
        {.topic = "ok", .num_partitions = 1, .replication_factor = 1, .n_configs = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_create_topics(a, &bad[i], 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
        assert_null(r);
        kafka_admin_last_error(a, msg, sizeof msg);
        assert_true(strlen(msg) > 0);
    }
    kafka_topic_config twice[] = {{.topic = "x", .num_partitions = 1, .replication_factor = 1},
                                  {.topic = "x", .num_partitions = 1, .replication_factor = 1}};
    assert_int_equal(kafka_admin_create_topics(a, twice, 2, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_create_topics(a, twice, 0, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_create_topics(a, NULL, 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_create_topics(a, twice, 1, false, 1000, NULL), KAFKA_ERR_INVALID_ARG);

    const char *empty[] = {""};
    assert_int_equal(kafka_admin_delete_topics(a, empty, 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_topics(a, NULL, 0, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_topics *d = (kafka_admin_topics *)1;
    assert_int_equal(kafka_admin_describe_topics(a, empty, 1, 1000, &d), KAFKA_ERR_INVALID_ARG);
    assert_null(d);
    kafka_admin_partition_count neg = {"t", -1}, zero = {"t", 0}, noname = {"", 3};
    assert_int_equal(kafka_admin_create_partitions(a, &neg, 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_create_partitions(a, &zero, 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_create_partitions(a, &noname, 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

/* CreateTopics, DeleteTopics, CreatePartitions, each routed to the
 * controller; the mock names controller 0, which is none of its brokers,
 * so the calls go to any broker (the fallback) and that broker's answer,
 * not a lookup failure, decides the outcome. */
static void test_create_delete_topics(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *topic = kt_unique_topic("admin-create");
    const char *cfg_names[] = {"cleanup.policy"};
    const char *cfg_values[] = {"compact"};
    kafka_topic_config nt = {.topic = topic, .num_partitions = 2, .replication_factor = 1,
                             .config_names = cfg_names, .config_values = cfg_values, .n_configs = 1};
    kafka_admin_topic_results *r = NULL;
    kafka_err err = kafka_admin_create_topics(a, &nt, 1, true, 10000, &r);
    char msg[512];
    kafka_admin_last_error(a, msg, sizeof msg);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        /* the message names the API, not a failed controller lookup */
        assert_null(strstr(msg, "NOT_FOUND"));
        assert_non_null(strstr(msg, "CreateTopics"));
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "CreateTopics");
    assert_int_equal(err, 0);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->results[0].topic, topic);
    kafka_admin_topic_results_free(r);

    /* validate_only created nothing */
    kafka_admin_topics *d = NULL;
    assert_int_equal(kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 10000, &d),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kafka_admin_topics_free(d);

    assert_int_equal(kafka_admin_create_topics(a, &nt, 1, false, 10000, &r), 0);
    kafka_admin_topic_results_free(r);
    assert_int_equal(kafka_admin_create_topics(a, &nt, 1, false, 10000, &r), KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    assert_non_null(r);
    assert_int_equal(r->results[0].err, KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    kafka_admin_topic_results_free(r);

    kafka_admin_partition_count pc = {topic, 5};
    assert_int_equal(kafka_admin_create_partitions(a, &pc, 1, false, 10000, &r), 0);
    kafka_admin_topic_results_free(r);
    assert_int_equal(kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 10000, &d), 0);
    assert_int_equal(d->topics[0].n_partitions, 5);
    kafka_admin_topics_free(d);

    assert_int_equal(kafka_admin_delete_topics(a, (const char *const[]){topic}, 1, 10000, &r), 0);
    kafka_admin_topic_results_free(r);
    char *unknown = kt_unique_topic("admin-nope");
    assert_int_equal(kafka_admin_delete_topics(a, (const char *const[]){unknown}, 1, 10000, &r),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(r->results[0].err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kafka_admin_topic_results_free(r);
    free(unknown);
    kafka_admin_close(a);
    free(topic);
}

/* DeleteTopics by id: the id comes from Metadata v10+ (brokers older
 * than Kafka 2.8, and librdkafka's mock, report none: skipped). */
static void test_delete_topic_by_id(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-byid");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_topics *d = NULL;
    assert_int_equal(kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 10000, &d), 0);
    uint8_t id[1][16];
    memcpy(id[0], d->topics[0].topic_id, 16);
    kafka_admin_topics_free(d);
    static const uint8_t zero[16];
    if (memcmp(id[0], zero, 16) == 0) {
        kafka_admin_close(a);
        free(topic);
        print_message("skipped: the test broker reports no topic ids (Metadata < v10)\n");
        skip();
    }
    kafka_admin_topic_results *r = NULL;
    kafka_err err = kafka_admin_delete_topics_by_id(a, (const uint8_t(*)[16])id, 1, 10000, &r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DeleteTopics v6 (by id)");
    assert_int_equal(err, 0);
    assert_memory_equal(r->results[0].topic_id, id[0], 16);
    kafka_admin_topic_results_free(r);
    assert_int_equal(kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 10000, &d),
                     KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kafka_admin_topics_free(d);
    kafka_admin_close(a);
    free(topic);
}

static void test_delete_by_id_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_topic_results *r = (kafka_admin_topic_results *)1;
    uint8_t ids[2][16] = {{0}, {0}};
    assert_int_equal(kafka_admin_delete_topics_by_id(a, (const uint8_t(*)[16])ids, 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_null(r);
    ids[0][0] = ids[1][0] = 7;
    assert_int_equal(kafka_admin_delete_topics_by_id(a, (const uint8_t(*)[16])ids, 2, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_topics_by_id(a, NULL, 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

/* A cluster nobody answers: the call returns within its timeout with a
 * connection error instead of hanging. */
static void test_unreachable_times_out(void **state)
{
    (void)state;
    kafka_admin *a = NULL;
    kafka_admin_config cfg = {.brokers = "127.0.0.1:1", .backoff_min_ms = 20, .backoff_max_ms = 50};
    assert_int_equal(kafka_admin_new(&a, &cfg, NULL, 0), 0);
    kafka_admin_topics *t = (kafka_admin_topics *)1;
    kafka_err err = kafka_admin_list_topics(a, false, 300, &t);
    assert_true(err == KAFKA_ERR_NO_BROKERS || err == KAFKA_ERR_TIMEOUT || err == KAFKA_ERR_TRANSPORT);
    assert_null(t);
    char msg[512];
    kafka_admin_last_error(a, msg, sizeof msg);
    assert_non_null(strstr(msg, "list topics"));
    kafka_admin_close(a);
}

/* Every kind of call (any broker, controller, leaders, coordinator, every
 * broker) against a cluster nobody answers: each returns a connection
 * error within its timeout, *out stays NULL, and nothing hangs. */
static void test_every_route_times_out(void **state)
{
    (void)state;
    kafka_admin *a = NULL;
    kafka_admin_config cfg = {.brokers = "127.0.0.1:1", .backoff_min_ms = 10, .backoff_max_ms = 50};
    assert_int_equal(kafka_admin_new(&a, &cfg, NULL, 0), 0);
    const int t = 300;
    kafka_err errs[8];
    kafka_admin_topic_results *tr = NULL;
    kafka_topic_config nt = {.topic = "t", .num_partitions = 1, .replication_factor = 1};
    errs[0] = kafka_admin_create_topics(a, &nt, 1, false, t, &tr);
    assert_null(tr);
    kafka_admin_offsets *o = NULL;
    errs[1] = kafka_admin_list_offsets(a, &(kafka_admin_tp){"t", -1}, 1, KAFKA_ADMIN_OFFSET_LATEST, t, &o);
    assert_null(o);
    kafka_admin_group_lag *lag = NULL;
    errs[2] = kafka_admin_lag(a, "g", t, &lag);
    assert_null(lag);
    kafka_admin_groups *g = NULL;
    errs[3] = kafka_admin_describe_groups(a, (const char *const[]){"g"}, 1, t, &g);
    /* one coordinator per group: an unreachable one is that group's error */
    assert_non_null(g);
    assert_int_equal(g->groups[0].err, errs[3]);
    kafka_admin_groups_free(g);
    kafka_admin_group_list *gl = NULL;
    errs[4] = kafka_admin_list_groups(a, NULL, 0, NULL, 0, t, &gl);
    assert_null(gl);
    kafka_admin_configs *c = NULL;
    errs[5] = kafka_admin_describe_configs(a, &(kafka_admin_resource){KAFKA_ADMIN_RESOURCE_TOPIC, "t"}, 1, NULL, 0, t,
                                           &c);
    assert_non_null(c); /* per-target requests: the target's failure is the item's error */
    assert_int_equal(c->resources[0].err, errs[5]);
    kafka_admin_configs_free(c);
    kafka_admin_cluster *cl = NULL;
    errs[6] = kafka_admin_describe_cluster(a, t, &cl);
    assert_null(cl);
    kafka_admin_group_offsets *go = NULL;
    errs[7] = kafka_admin_fetch_offsets(a, "g", t, &go);
    assert_null(go);
    for (int i = 0; i < 8; i++) {
        if (errs[i] != KAFKA_ERR_NO_BROKERS && errs[i] != KAFKA_ERR_TIMEOUT && errs[i] != KAFKA_ERR_TRANSPORT)
            fail_msg("call %d: %s", i, kafka_err_name(errs[i]));
    }
    kafka_admin_close(a);
}

/* One client shared by four threads, each listing and describing topics
 * and reading end offsets: every call succeeds (a data race here is what
 * the TSan build of this test would report). */
typedef struct shared_ctx {
    kafka_admin *a;
    const char *topic;
    kafka_err err;
} shared_ctx;

static void *use_shared(void *arg)
{
    shared_ctx *c = arg;
    for (int i = 0; i < 5 && !c->err; i++) {
        kafka_admin_topics *t = NULL;
        c->err = kafka_admin_describe_topics(c->a, &c->topic, 1, 10000, &t);
        kafka_admin_topics_free(t);
        kafka_admin_offsets *o = NULL;
        if (!c->err)
            c->err = kafka_admin_list_offsets(c->a, &(kafka_admin_tp){c->topic, -1}, 1, KAFKA_ADMIN_OFFSET_LATEST,
                                              10000, &o);
        kafka_admin_offsets_free(o);
    }
    return NULL;
}

static void test_shared_by_threads(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-threads");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    kafka_admin *a = kt_admin_new(kt);
    pthread_t th[4];
    shared_ctx c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (shared_ctx){a, topic, 0};
        assert_int_equal(pthread_create(&th[i], NULL, use_shared, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].err, 0);
    }
    kafka_admin_close(a);
    free(topic);
}

/* close from another thread wakes a call blocked with no timeout: the
 * resolver hook tells the test the call is inside (dialing), then fails
 * the dial, so the call is in its retry loop when close runs. */
typedef struct blocked {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool dialing;
    kafka_admin *a;
    kafka_err err;
} blocked;

static int failing_resolver(void *priv, const char *host, int port, char *host_out, size_t len, int *port_out)
{
    (void)host;
    (void)port;
    (void)host_out;
    (void)len;
    (void)port_out;
    blocked *b = priv;
    pthread_mutex_lock(&b->mu);
    b->dialing = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return -1;
}

static void *list_forever(void *arg)
{
    blocked *b = arg;
    kafka_admin_topics *t = NULL;
    b->err = kafka_admin_list_topics(b->a, false, -1, &t);
    kafka_admin_topics_free(t);
    return NULL;
}

static void test_close_wakes_blocked_call(void **state)
{
    (void)state;
    blocked b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    kafka_dialer_config d = {.resolver = failing_resolver, .resolver_privdata = &b};
    kafka_admin_config cfg = {.brokers = "127.0.0.1:9", .dialer = &d, .backoff_min_ms = 10, .backoff_max_ms = 20};
    assert_int_equal(kafka_admin_new(&b.a, &cfg, NULL, 0), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, list_forever, &b), 0);
    pthread_mutex_lock(&b.mu);
    while (!b.dialing)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    kafka_admin_close(b.a); /* waits for the call to return */
    pthread_join(th, NULL);
    assert_int_equal(b.err, KAFKA_ERR_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_bad_config),
        cmocka_unit_test(test_list_and_describe),
        cmocka_unit_test(test_topic_bad_input),
        cmocka_unit_test(test_create_delete_topics),
        cmocka_unit_test(test_delete_topic_by_id),
        cmocka_unit_test(test_delete_by_id_bad_input),
        cmocka_unit_test(test_unreachable_times_out),
        cmocka_unit_test(test_every_route_times_out),
        cmocka_unit_test(test_shared_by_threads),
        cmocka_unit_test(test_close_wakes_blocked_call),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
