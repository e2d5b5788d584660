/* kafka_admin describe/alter configs. librdkafka's mock has neither
 * DescribeConfigs nor IncrementalAlterConfigs: the calls must say so
 * (NO_COMMON_VERSION, naming the API), and the rest of each test is
 * reported as skipped; against kafka_mock or Kafka it runs in full. */
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

static const kafka_admin_config_entry *entry(const kafka_admin_config_resource *r, const char *name)
{
    for (size_t i = 0; i < r->n_entries; i++)
        if (strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

static void test_describe_and_alter_topic_config(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-configs");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_resource res = {KAFKA_ADMIN_RESOURCE_TOPIC, topic};
    kafka_admin_configs *c = NULL;
    kafka_err err = kafka_admin_describe_configs(a, &res, 1, NULL, 0, 10000, &c);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        char msg[512];
        kafka_admin_last_error(a, msg, sizeof msg);
        assert_non_null(strstr(msg, "DescribeConfigs"));
        assert_null(c);
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeConfigs");
    assert_int_equal(err, 0);
    assert_int_equal(c->n, 1);
    const kafka_admin_config_entry *e = entry(&c->resources[0], "cleanup.policy");
    assert_non_null(e);
    assert_string_equal(e->value, "delete");
    kafka_admin_configs_free(c);

    kafka_admin_config_change ch = {KAFKA_ADMIN_RESOURCE_TOPIC, topic, "cleanup.policy", KAFKA_ADMIN_CONFIG_SET,
                                    "compact"};
    kafka_admin_resource_results *r = NULL;
    err = kafka_admin_alter_configs(a, &ch, 1, false, 10000, &r);
    KT_SKIP_IF_UNSUPPORTED(err, "IncrementalAlterConfigs");
    assert_int_equal(err, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->results[0].err, 0);
    kafka_admin_resource_results_free(r);

    const char *key = "cleanup.policy";
    assert_int_equal(kafka_admin_describe_configs(a, &res, 1, &key, 1, 10000, &c), 0);
    e = entry(&c->resources[0], "cleanup.policy");
    assert_non_null(e);
    assert_string_equal(e->value, "compact");
    assert_int_equal(e->source, KAFKA_ADMIN_CONFIG_SOURCE_DYNAMIC_TOPIC);
    assert_false(e->is_default);
    kafka_admin_configs_free(c);
    kafka_admin_close(a);
    free(topic);
}

/* A broker's configs, asked of that broker, and a topic's in the same
 * call (two requests, answers merged in request order). */
static void test_describe_broker_config(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("admin-configs-b");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_resource res[] = {{KAFKA_ADMIN_RESOURCE_BROKER, "2"}, {KAFKA_ADMIN_RESOURCE_TOPIC, topic}};
    kafka_admin_configs *c = NULL;
    kafka_err err = kafka_admin_describe_configs(a, res, 2, NULL, 0, 10000, &c);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(topic);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeConfigs");
    assert_int_equal(err, 0);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->resources[0].type, KAFKA_ADMIN_RESOURCE_BROKER);
    assert_string_equal(c->resources[0].name, "2");
    assert_int_equal(c->resources[0].err, 0); /* answered by broker 2 (kafka_mock lists no broker configs) */
    assert_string_equal(c->resources[1].name, topic);
    assert_int_equal(c->resources[1].err, 0);
    for (size_t i = 1; i < c->resources[0].n_entries; i++) /* sorted by name */
        assert_true(strcmp(c->resources[0].entries[i - 1].name, c->resources[0].entries[i].name) < 0);
    kafka_admin_configs_free(c);
    kafka_admin_close(a);
    free(topic);
}

static void test_unknown_topic_config(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *unknown = kt_unique_topic("admin-nope");
    kafka_admin_resource res = {KAFKA_ADMIN_RESOURCE_TOPIC, unknown};
    kafka_admin_configs *c = NULL;
    kafka_err err = kafka_admin_describe_configs(a, &res, 1, NULL, 0, 10000, &c);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(unknown);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "DescribeConfigs");
    assert_int_equal(err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(c->resources[0].err, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kafka_admin_configs_free(c);
    kafka_admin_close(a);
    free(unknown);
}

static void test_configs_bad_input(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_configs *c = (kafka_admin_configs *)1;
    kafka_admin_resource bad[] = {
        {KAFKA_ADMIN_RESOURCE_TOPIC, ""},
        {KAFKA_ADMIN_RESOURCE_TOPIC, NULL},
        {KAFKA_ADMIN_RESOURCE_BROKER, "abc"},
        {KAFKA_ADMIN_RESOURCE_BROKER, "-1"},
        {(kafka_admin_resource_type)99, "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kafka_admin_describe_configs(a, &bad[i], 1, NULL, 0, 1000, &c), KAFKA_ERR_INVALID_ARG);
        assert_null(c);
    }
    kafka_admin_resource ok = {KAFKA_ADMIN_RESOURCE_TOPIC, "t"};
    assert_int_equal(kafka_admin_describe_configs(a, &ok, 0, NULL, 0, 1000, &c), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_configs(a, &ok, 1, NULL, 2, 1000, &c), KAFKA_ERR_INVALID_ARG);
    const char *empty_key = "";
    assert_int_equal(kafka_admin_describe_configs(a, &ok, 1, &empty_key, 1, 1000, &c), KAFKA_ERR_INVALID_ARG);

    kafka_admin_resource_results *r = (kafka_admin_resource_results *)1;
    kafka_admin_config_change chs[] = {
        {KAFKA_ADMIN_RESOURCE_TOPIC, "t", "", KAFKA_ADMIN_CONFIG_SET, "v"},
        {KAFKA_ADMIN_RESOURCE_TOPIC, "t", "k", KAFKA_ADMIN_CONFIG_SET, NULL},
        {KAFKA_ADMIN_RESOURCE_TOPIC, "t", "k", (kafka_admin_config_op)9, "v"},
        {KAFKA_ADMIN_RESOURCE_BROKER, "x1", "k", KAFKA_ADMIN_CONFIG_SET, "v"},
        {KAFKA_ADMIN_RESOURCE_TOPIC, "", "k", KAFKA_ADMIN_CONFIG_SET, "v"},
    };
    for (size_t i = 0; i < sizeof chs / sizeof chs[0]; i++) {
        assert_int_equal(kafka_admin_alter_configs(a, &chs[i], 1, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
        assert_null(r);
    }
    kafka_admin_config_change twice[] = {
        {KAFKA_ADMIN_RESOURCE_TOPIC, "t", "k", KAFKA_ADMIN_CONFIG_SET, "v"},
        {KAFKA_ADMIN_RESOURCE_TOPIC, "t", "k", KAFKA_ADMIN_CONFIG_DELETE, NULL},
    };
    assert_int_equal(kafka_admin_alter_configs(a, twice, 2, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_alter_configs(a, twice, 0, false, 1000, &r), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_and_alter_topic_config),
        cmocka_unit_test(test_describe_broker_config),
        cmocka_unit_test(test_unknown_topic_config),
        cmocka_unit_test(test_configs_bad_input),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
