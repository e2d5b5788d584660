/* kafka_admin SCRAM users. The test brokers lack the KIP-554 APIs: the
 * round trip checks the call says so and is reported as skipped; against
 * Kafka 2.7+ it creates, describes and deletes a credential. Bad input is
 * checked everywhere. */
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

static void test_scram_round_trip(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *user = kt_unique_topic("scram-user");
    kafka_admin_scram_upsert up = {user, KAFKA_SASL_SCRAM_SHA_256, 4096, "secret"};
    kafka_admin_scram_users *u = NULL;
    kafka_err err = kafka_admin_alter_scram_users(a, &up, 1, NULL, 0, 10000, &u);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        assert_null(u);
        kafka_admin_close(a);
        free(user);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "AlterUserScramCredentials");
    assert_int_equal(err, 0);
    assert_int_equal(u->n, 1);
    kafka_admin_scram_users_free(u);
    const char *names[] = {user};
    assert_int_equal(kafka_admin_describe_scram_users(a, names, 1, 10000, &u), 0);
    assert_int_equal(u->users[0].n_credentials, 1);
    assert_int_equal(u->users[0].credentials[0].mechanism, KAFKA_SASL_SCRAM_SHA_256);
    assert_int_equal(u->users[0].credentials[0].iterations, 4096);
    kafka_admin_scram_users_free(u);
    kafka_admin_scram_delete del = {user, KAFKA_SASL_SCRAM_SHA_256};
    assert_int_equal(kafka_admin_alter_scram_users(a, NULL, 0, &del, 1, 10000, &u), 0);
    kafka_admin_scram_users_free(u);
    assert_int_equal(kafka_admin_describe_scram_users(a, names, 1, 10000, &u), KAFKA_ERR_RESOURCE_NOT_FOUND);
    kafka_admin_scram_users_free(u);
    kafka_admin_close(a);
    free(user);
}

static void test_scram_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_scram_users *u = (kafka_admin_scram_users *)1;
    kafka_admin_scram_upsert bad[] = {
        {"", KAFKA_SASL_SCRAM_SHA_256, 0, "p"},
        {"u", KAFKA_SASL_PLAIN, 0, "p"},
        {"u", KAFKA_SASL_SCRAM_SHA_256, 0, ""},
        {"u", KAFKA_SASL_SCRAM_SHA_256, 100, "p"},
        {"u", KAFKA_SASL_SCRAM_SHA_256, 100000, "p"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_alter_scram_users(a, &bad[i], 1, NULL, 0, 1000, &u), KAFKA_ERR_INVALID_ARG);
        assert_null(u);
    }
    kafka_admin_scram_delete del = {"u", KAFKA_SASL_NONE};
    assert_int_equal(kafka_admin_alter_scram_users(a, NULL, 0, &del, 1, 1000, &u), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_alter_scram_users(a, NULL, 0, NULL, 0, 1000, &u), KAFKA_ERR_INVALID_ARG);
    const char *empty[] = {""};
    assert_int_equal(kafka_admin_describe_scram_users(a, empty, 1, 1000, &u), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_scram_users(a, NULL, 1, 1000, &u), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scram_round_trip),
        cmocka_unit_test(test_scram_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
