/* kafka_admin client quotas. The test brokers lack the KIP-546 APIs: the
 * round trip checks the call says so and is reported as skipped; against
 * Kafka 2.6+ it sets, reads and removes a user's quota. */
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

static void test_quota_round_trip(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *user = kt_unique_topic("quota-user");
    kafka_admin_quota_entity ent = {"user", user};
    kafka_admin_quota_change ch = {&ent, 1, "producer_byte_rate", 1048576, false};
    kafka_admin_quota_results *r = NULL;
    kafka_err err = kafka_admin_alter_quotas(a, &ch, 1, false, 10000, &r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(r);
        kafka_admin_close(a);
        free(user);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "AlterClientQuotas");
    assert_int_equal(err, 0);
    assert_int_equal(r->n, 1);
    kafka_admin_quota_results_free(r);
    kafka_admin_quota_filter f = {"user", KAFKA_ADMIN_QUOTA_MATCH_EXACT, user};
    kafka_admin_quotas *q = NULL;
    assert_int_equal(kafka_admin_describe_quotas(a, &f, 1, false, 10000, &q), 0);
    assert_int_equal(q->n, 1);
    assert_int_equal(q->entries[0].n_values, 1);
    assert_string_equal(q->entries[0].values[0].key, "producer_byte_rate");
    assert_true(q->entries[0].values[0].value == 1048576.0);
    kafka_admin_quotas_free(q);
    ch.remove = true;
    assert_int_equal(kafka_admin_alter_quotas(a, &ch, 1, false, 10000, &r), 0);
    kafka_admin_quota_results_free(r);
    kafka_admin_close(a);
    free(user);
}

static void test_quota_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_quota_results *r = (kafka_admin_quota_results *)1;
    kafka_admin_quota_entity ok = {"user", "u"}, notype = {"", "u"}, emptyname = {"user", ""};
    kafka_admin_quota_change bad[] = {
        {&notype, 1, "k", 1, false}, {&emptyname, 1, "k", 1, false}, {&ok, 0, "k", 1, false},
        {&ok, 1, "", 1, false},      {&ok, 1, "k", -1, false},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_alter_quotas(a, &bad[i], 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
        assert_null(r);
    }
    assert_int_equal(kafka_admin_alter_quotas(a, bad, 0, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_quotas *q = (kafka_admin_quotas *)1;
    kafka_admin_quota_filter noname = {"user", KAFKA_ADMIN_QUOTA_MATCH_EXACT, NULL};
    kafka_admin_quota_filter badmatch = {"user", (kafka_admin_quota_match)5, NULL};
    assert_int_equal(kafka_admin_describe_quotas(a, &noname, 1, false, 1000, &q), KAFKA_ERR_INVALID_ARG);
    assert_null(q);
    assert_int_equal(kafka_admin_describe_quotas(a, &badmatch, 1, false, 1000, &q), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_quotas(a, NULL, 1, false, 1000, &q), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quota_round_trip),
        cmocka_unit_test(test_quota_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
