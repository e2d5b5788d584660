/* kafka_admin ACL calls. Neither librdkafka's mock nor kafka_mock (stage
 * 1) has the ACL APIs: the round trip test checks the call says so and is
 * reported as skipped; against a broker with an authorizer it creates,
 * lists and deletes one ACL. Bad input is checked everywhere. */
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

static void test_acl_round_trip(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *topic = kt_unique_topic("acl-topic");
    kafka_admin_acl acl = {.resource_type = KAFKA_ACL_RESOURCE_TOPIC, .resource_name = topic,
                           .principal = "User:alice", .operation = KAFKA_ACL_OP_READ,
                           .permission = KAFKA_ACL_PERMISSION_ALLOW};
    kafka_admin_acl_results *r = NULL;
    kafka_err err = kafka_admin_create_acls(a, &acl, 1, 10000, &r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION || err == KAFKA_ERR_SECURITY_DISABLED) {
        kafka_admin_acl_results_free(r);
        kafka_admin_close(a);
        free(topic);
        print_message("skipped: the test broker %s\n", err == KAFKA_ERR_SECURITY_DISABLED
                                                           ? "has no authorizer"
                                                           : "does not support CreateAcls");
        skip();
    }
    assert_int_equal(err, 0);
    kafka_admin_acl_results_free(r);

    kafka_admin_acl filter = {.resource_type = KAFKA_ACL_RESOURCE_TOPIC, .resource_name = topic};
    kafka_admin_acls *l = NULL;
    assert_int_equal(kafka_admin_describe_acls(a, &filter, 10000, &l), 0);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->acls[0].principal, "User:alice");
    assert_string_equal(l->acls[0].host, "*");
    assert_int_equal(l->acls[0].pattern, KAFKA_ACL_PATTERN_LITERAL);
    assert_int_equal(l->acls[0].operation, KAFKA_ACL_OP_READ);
    kafka_admin_acls_free(l);

    assert_int_equal(kafka_admin_delete_acls(a, &filter, 1, 10000, &r), 0);
    assert_int_equal(r->results[0].n_matched, 1);
    kafka_admin_acl_results_free(r);
    assert_int_equal(kafka_admin_describe_acls(a, &filter, 10000, &l), 0);
    assert_int_equal(l->n, 0);
    kafka_admin_acls_free(l);
    kafka_admin_close(a);
    free(topic);
}

static void test_acl_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_acl_results *r = (kafka_admin_acl_results *)1;
    kafka_admin_acl good = {.resource_type = KAFKA_ACL_RESOURCE_TOPIC, .resource_name = "t",
                            .principal = "User:alice", .operation = KAFKA_ACL_OP_READ,
                            .permission = KAFKA_ACL_PERMISSION_ALLOW};
    kafka_admin_acl bad[8];
    for (int i = 0; i < 8; i++)
        bad[i] = good;
    bad[0].resource_type = 0;               /* no resource type */
    bad[1].resource_name = "";              /* empty name */
    bad[2].principal = "alice";             /* not Type:name */
    bad[3].operation = KAFKA_ACL_OP_ANY;    /* ANY only in filters */
    bad[4].permission = 0;                  /* no permission */
    bad[5].pattern = KAFKA_ACL_PATTERN_MATCH; /* filters only */
    bad[6].host = "";
    bad[7].resource_type = (kafka_acl_resource)42;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(kafka_admin_create_acls(a, &bad[i], 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
        assert_null(r);
    }
    assert_int_equal(kafka_admin_create_acls(a, &good, 0, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_acls *l = (kafka_admin_acls *)1;
    assert_int_equal(kafka_admin_describe_acls(a, NULL, 1000, &l), KAFKA_ERR_INVALID_ARG);
    assert_null(l);
    kafka_admin_acl out_of_range = {.operation = (kafka_acl_operation)99};
    assert_int_equal(kafka_admin_describe_acls(a, &out_of_range, 1000, &l), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_acls(a, &out_of_range, 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_delete_acls(a, NULL, 1, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_round_trip),
        cmocka_unit_test(test_acl_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
