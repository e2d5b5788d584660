/* kafka_admin client quotas. librdkafka's mock lacks the KIP-546 APIs:
 * the round trip checks the call says so and is reported as skipped;
 * against kafka-mock (or Kafka 2.6+) it sets, reads and removes quotas,
 * and Kafka's validation and describe filters are checked. */
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

/* The result of one change (one entity) as the broker answered it. */
static kafka_err alter_one(kafka_admin *a, const kafka_admin_quota_entity *ent, size_t n_ent, const char *key,
                           double value, bool remove, bool validate_only)
{
    kafka_admin_quota_change ch = {ent, n_ent, key, value, remove};
    kafka_admin_quota_results *r = NULL;
    (void)kafka_admin_alter_quotas(a, &ch, 1, validate_only, 10000, &r);
    assert_non_null(r);
    assert_int_equal(r->n, 1);
    kafka_err err = r->results[0].err;
    kafka_admin_quota_results_free(r);
    return err;
}

static kafka_admin_quotas *describe(kafka_admin *a, const kafka_admin_quota_filter *f, size_t n, bool strict)
{
    kafka_admin_quotas *q = NULL;
    assert_int_equal(kafka_admin_describe_quotas(a, f, n, strict, 10000, &q), 0);
    return q;
}

static double value_of(const kafka_admin_quota_entry *e, const char *key)
{
    for (size_t i = 0; i < e->n_values; i++)
        if (strcmp(e->values[i].key, key) == 0)
            return e->values[i].value;
    return -1;
}

/* Kafka's rules (ClientQuotaControlManager): user and client-id entities
 * take the byte rates, request_percentage and controller_mutation_rate,
 * an IP entity only connection_creation_rate and a numeric address; byte
 * and connection rates are whole numbers; anything else is
 * INVALID_REQUEST. validate_only stores nothing. Describe: an exact user
 * filter matches the user alone and the user with a client id unless
 * strict; the default filter matches the default entity (null name);
 * removing every quota of an entity forgets it. */
static void test_quota_semantics(void **state)
{
    kt_cluster *kt = *state;
    kafka_admin *a = kt_admin_new(kt);
    char *user = kt_unique_topic("quota-sem");
    kafka_admin_quota_entity u = {"user", user};
    kafka_admin_quota_entity uc[] = {{"user", user}, {"client-id", "app"}};
    kafka_admin_quota_entity ip = {"ip", "127.0.0.9"}, badip = {"ip", "not-an-ip"};
    kafka_admin_quota_entity ipuser[] = {{"ip", "127.0.0.9"}, {"user", user}};
    kafka_admin_quota_filter fu = {"user", KAFKA_ADMIN_QUOTA_MATCH_EXACT, user};
    kafka_admin_quotas *q = NULL;
    kafka_admin_quota_change probe = {&u, 1, "producer_byte_rate", 1024, false};
    kafka_admin_quota_results *r = NULL;
    kafka_err err = kafka_admin_alter_quotas(a, &probe, 1, true, 10000, &r);
    kafka_admin_quota_results_free(r);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) {
        kafka_admin_close(a);
        free(user);
    }
    KT_SKIP_IF_UNSUPPORTED(err, "AlterClientQuotas");
    assert_int_equal(err, 0);
    q = describe(a, &fu, 1, false); /* validate_only stored nothing */
    assert_int_equal(q->n, 0);
    kafka_admin_quotas_free(q);

    assert_int_equal(alter_one(a, &u, 1, "producer_byte_rate", 1024, false, false), 0);
    assert_int_equal(alter_one(a, &u, 1, "request_percentage", 12.5, false, false), 0);
    assert_int_equal(alter_one(a, uc, 2, "consumer_byte_rate", 2048, false, false), 0);
    assert_int_equal(alter_one(a, &ip, 1, "connection_creation_rate", 5, false, false), 0);
    assert_int_equal(alter_one(a, &u, 1, "producer_byte_rate", 1.5, false, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter_one(a, &u, 1, "bogus_rate", 1, false, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter_one(a, &u, 1, "connection_creation_rate", 1, false, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter_one(a, &ip, 1, "producer_byte_rate", 1, false, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter_one(a, &badip, 1, "connection_creation_rate", 1, false, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter_one(a, ipuser, 2, "connection_creation_rate", 1, false, false), KAFKA_ERR_INVALID_REQUEST);

    q = describe(a, &fu, 1, true);
    assert_int_equal(q->n, 1);
    assert_int_equal(q->entries[0].n_entity, 1);
    assert_string_equal(q->entries[0].entity[0].type, "user");
    assert_string_equal(q->entries[0].entity[0].name, user);
    assert_int_equal(q->entries[0].n_values, 2);
    assert_true(value_of(&q->entries[0], "producer_byte_rate") == 1024.0);
    assert_true(value_of(&q->entries[0], "request_percentage") == 12.5);
    kafka_admin_quotas_free(q);
    q = describe(a, &fu, 1, false);
    assert_int_equal(q->n, 2);
    for (size_t i = 0; i < q->n; i++)
        if (q->entries[i].n_entity == 2)
            assert_true(value_of(&q->entries[i], "consumer_byte_rate") == 2048.0);
    kafka_admin_quotas_free(q);
    kafka_admin_quota_filter fip = {"ip", KAFKA_ADMIN_QUOTA_MATCH_EXACT, "127.0.0.9"};
    q = describe(a, &fip, 1, true);
    assert_int_equal(q->n, 1);
    assert_true(value_of(&q->entries[0], "connection_creation_rate") == 5.0);
    kafka_admin_quotas_free(q);

    /* the default user (null name) */
    kafka_admin_quota_entity du = {"user", NULL};
    kafka_admin_quota_filter fdu = {"user", KAFKA_ADMIN_QUOTA_MATCH_DEFAULT, NULL};
    assert_int_equal(alter_one(a, &du, 1, "consumer_byte_rate", 4096, false, false), 0);
    q = describe(a, &fdu, 1, true);
    assert_int_equal(q->n, 1);
    assert_null(q->entries[0].entity[0].name);
    assert_true(value_of(&q->entries[0], "consumer_byte_rate") == 4096.0);
    kafka_admin_quotas_free(q);

    /* removing every quota forgets the entities */
    assert_int_equal(alter_one(a, &du, 1, "consumer_byte_rate", 0, true, false), 0);
    assert_int_equal(alter_one(a, &u, 1, "producer_byte_rate", 0, true, false), 0);
    assert_int_equal(alter_one(a, &u, 1, "request_percentage", 0, true, false), 0);
    assert_int_equal(alter_one(a, uc, 2, "consumer_byte_rate", 0, true, false), 0);
    assert_int_equal(alter_one(a, &ip, 1, "connection_creation_rate", 0, true, false), 0);
    q = describe(a, &fu, 1, false);
    assert_int_equal(q->n, 0);
    kafka_admin_quotas_free(q);
    q = describe(a, &fdu, 1, true);
    assert_int_equal(q->n, 0);
    kafka_admin_quotas_free(q);
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
        cmocka_unit_test(test_quota_semantics),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
