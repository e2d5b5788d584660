/* Allocation failures in the admin client (the failmalloc method of
 * tests/integration/test_failmalloc.c): for the main admin calls, fail the
 * Nth allocation for N = 1, 2, ... until a run no longer reaches an Nth
 * allocation. Every run must succeed or fail with a clean error (NOMEM
 * mostly); nothing may crash, hang or leak (the ASan build's leak check
 * runs at exit). The broker is another process: only our allocations
 * fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_util.h"
#include "failmalloc.h"
#include "kafka/kafka.h"
#include "test_cluster.h"

#define MAX_N 20000

typedef kafka_err (*scenario_fn)(kt_cluster *kt, const char *topic, const char *group);

/* Errors a call may return when one of its allocations failed: NOMEM, or
 * the error of the step the failure broke (a dial that failed reads as
 * "no broker reachable" once the retries ran out). */
static void check_clean(kafka_err e)
{
    if (e == 0 || e == KAFKA_ERR_NOMEM || e == KAFKA_ERR_NO_BROKERS || e == KAFKA_ERR_TIMEOUT ||
        e == KAFKA_ERR_TRANSPORT)
        return;
    fail_msg("unexpected error %s under allocation failure", kafka_err_name(e));
}

static kafka_err with_admin(kt_cluster *kt, kafka_admin **a)
{
    kafka_admin_config cfg = {.brokers = kt_cluster_bootstrap(kt), .backoff_min_ms = 5, .backoff_max_ms = 20};
    return kafka_admin_new(a, &cfg, NULL, 0);
}

static kafka_err sc_topics(kt_cluster *kt, const char *topic, const char *group)
{
    (void)group;
    kafka_admin *a = NULL;
    kafka_err e = with_admin(kt, &a);
    if (e)
        return e;
    kafka_admin_topics *t = NULL;
    e = kafka_admin_list_topics(a, false, 2000, &t);
    kafka_admin_topics_free(t);
    t = NULL;
    if (!e)
        e = kafka_admin_describe_topics(a, (const char *const[]){topic}, 1, 2000, &t);
    kafka_admin_topics_free(t);
    kafka_admin_close(a);
    return e;
}

static kafka_err sc_offsets(kt_cluster *kt, const char *topic, const char *group)
{
    (void)group;
    kafka_admin *a = NULL;
    kafka_err e = with_admin(kt, &a);
    if (e)
        return e;
    kafka_admin_offsets *o = NULL;
    e = kafka_admin_list_offsets(a, &(kafka_admin_tp){topic, -1}, 1, KAFKA_ADMIN_OFFSET_LATEST, 2000, &o);
    kafka_admin_offsets_free(o);
    kafka_admin_close(a);
    return e;
}

static kafka_err sc_lag(kt_cluster *kt, const char *topic, const char *group)
{
    kafka_admin *a = NULL;
    kafka_err e = with_admin(kt, &a);
    if (e)
        return e;
    kafka_admin_group_offsets *o = NULL;
    kafka_admin_offset_spec spec = {topic, 0, 1};
    e = kafka_admin_alter_offsets(a, group, &spec, 1, 2000, &o);
    kafka_admin_group_offsets_free(o);
    kafka_admin_group_lag *lag = NULL;
    if (!e)
        e = kafka_admin_lag(a, group, 2000, &lag);
    kafka_admin_group_lag_free(lag);
    kafka_admin_close(a);
    return e;
}

static kafka_err sc_cluster(kt_cluster *kt, const char *topic, const char *group)
{
    (void)topic;
    (void)group;
    kafka_admin *a = NULL;
    kafka_err e = with_admin(kt, &a);
    if (e)
        return e;
    kafka_admin_cluster *c = NULL;
    e = kafka_admin_describe_cluster(a, 2000, &c);
    kafka_admin_cluster_free(c);
    kafka_admin_versions *v = NULL;
    if (!e)
        e = kafka_admin_api_versions(a, 2000, &v);
    kafka_admin_versions_free(v);
    kafka_admin_close(a);
    return e;
}

static void run(kt_cluster *kt, const char *what, scenario_fn fn)
{
    char *topic = kt_filled_topic(kt, "admin-fm");
    char *group = kt_unique_topic("admin-fm-group");
    long ok = 0, failed = 0;
    kt_failmalloc_install();
    long n;
    for (n = 1; n < MAX_N; n++) {
        kt_failmalloc_arm(n);
        kafka_err e = fn(kt, topic, group);
        bool fired = kt_failmalloc_fired();
        kt_failmalloc_arm(0);
        check_clean(e);
        e ? failed++ : ok++;
        if (!fired)
            break;
    }
    kt_failmalloc_uninstall();
    assert_true(n < MAX_N);
    assert_int_equal(fn(kt, topic, group), 0); /* and it still works */
    print_message("%s: %ld runs, %ld failed cleanly, %ld succeeded\n", what, n, failed, ok);
    free(group);
    free(topic);
}

static void test_fm_topics(void **state) { run(*state, "topics", sc_topics); }
static void test_fm_offsets(void **state) { run(*state, "offsets", sc_offsets); }
static void test_fm_lag(void **state)
{
    if (!kt_has_groups(*state)) {
        print_message("skipped: the test broker has no consumer groups\n");
        skip();
    }
    run(*state, "alter offsets + lag", sc_lag);
}
static void test_fm_cluster(void **state) { run(*state, "cluster", sc_cluster); }

static int setup(void **state)
{
    if (kt_cluster_group_setup(state))
        return -1;
    if (kt_cluster_is_mock(*state) && kt_cluster_kind(*state) == KT_BROKER_RDKAFKA &&
        kt_cluster_cmd(*state, "apiversion OffsetFetch 0 1") != 0) /* see test_admin_groups.c */
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fm_topics),
        cmocka_unit_test(test_fm_offsets),
        cmocka_unit_test(test_fm_lag),
        cmocka_unit_test(test_fm_cluster),
    };
    return cmocka_run_group_tests(tests, setup, kt_cluster_group_teardown);
}
