/* kafka_mock's ACLs (src/mock/mock_acl.c): Kafka's AclBindingFilter
 * matching (ANY, MATCH with literal, wildcard and prefixed patterns) and
 * its authorizer (DENY wins, ALLOW needed, READ/WRITE imply DESCRIBE, ALL
 * implies everything, "User:*"), with expectations written from Kafka's
 * documentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mock/mock_acl.h"

#define S(x) kafka_str_c(x)
#define ANYSTR KAFKA_STR_NULL

static void add(kmock_acls *acls, int8_t type, const char *name, int8_t pat, const char *who, int8_t op, int8_t perm)
{
    assert_int_equal(kmock_acl_add(acls, type, S(name), pat, S(who), S("*"), op, perm), 0);
}

static size_t count(const kmock_acls *acls, kmock_acl_filter f)
{
    size_t n = 0;
    for (size_t i = 0; i < acls->n; i++)
        n += kmock_acl_matches(&acls->a[i], &f);
    return n;
}

static void test_filters(void **state)
{
    (void)state;
    kmock_acls acls = {0};
    add(&acls, KMOCK_RES_TOPIC, "orders", KMOCK_PAT_LITERAL, "User:alice", KMOCK_OP_READ, KMOCK_PERM_ALLOW);
    add(&acls, KMOCK_RES_TOPIC, "ord", KMOCK_PAT_PREFIXED, "User:bob", KMOCK_OP_WRITE, KMOCK_PERM_ALLOW);
    add(&acls, KMOCK_RES_TOPIC, "*", KMOCK_PAT_LITERAL, "User:eve", KMOCK_OP_ALL, KMOCK_PERM_DENY);
    add(&acls, KMOCK_RES_GROUP, "g1", KMOCK_PAT_LITERAL, "User:alice", KMOCK_OP_READ, KMOCK_PERM_ALLOW);
    /* the same binding twice is stored once */
    add(&acls, KMOCK_RES_GROUP, "g1", KMOCK_PAT_LITERAL, "User:alice", KMOCK_OP_READ, KMOCK_PERM_ALLOW);
    assert_int_equal(acls.n, 4);
    kmock_acl_filter any = {KMOCK_RES_ANY, ANYSTR, KMOCK_PAT_ANY, ANYSTR, ANYSTR, KMOCK_OP_ANY, KMOCK_PERM_ANY};
    assert_int_equal(count(&acls, any), 4);
    kmock_acl_filter topics = any;
    topics.resource_type = KMOCK_RES_TOPIC;
    assert_int_equal(count(&acls, topics), 3);
    /* ANY pattern: names compared exactly */
    kmock_acl_filter exact = topics;
    exact.resource_name = S("orders");
    assert_int_equal(count(&acls, exact), 1);
    /* MATCH: every binding that applies to "orders" (literal, prefixed, wildcard) */
    kmock_acl_filter match = exact;
    match.pattern_type = KMOCK_PAT_MATCH;
    assert_int_equal(count(&acls, match), 3);
    kmock_acl_filter prefixed = topics;
    prefixed.pattern_type = KMOCK_PAT_PREFIXED;
    assert_int_equal(count(&acls, prefixed), 1);
    kmock_acl_filter alice = any;
    alice.principal = S("User:alice");
    alice.operation = KMOCK_OP_READ;
    assert_int_equal(count(&acls, alice), 2);
    /* bad bindings */
    assert_int_equal(kmock_acl_add(&acls, KMOCK_RES_ANY, S("t"), KMOCK_PAT_LITERAL, S("User:a"), S("*"), KMOCK_OP_READ,
                                   KMOCK_PERM_ALLOW),
                     42);
    assert_int_equal(kmock_acl_add(&acls, KMOCK_RES_TOPIC, S("t"), KMOCK_PAT_MATCH, S("User:a"), S("*"), KMOCK_OP_READ,
                                   KMOCK_PERM_ALLOW),
                     42);
    assert_int_equal(kmock_acl_add(&acls, KMOCK_RES_TOPIC, S("t"), KMOCK_PAT_LITERAL, S("alice"), S("*"),
                                   KMOCK_OP_READ, KMOCK_PERM_ALLOW),
                     42);
    kmock_acls_free(&acls);
}

static void test_authorizer(void **state)
{
    (void)state;
    kmock_acls acls = {0};
    add(&acls, KMOCK_RES_TOPIC, "orders", KMOCK_PAT_LITERAL, "User:alice", KMOCK_OP_READ, KMOCK_PERM_ALLOW);
    add(&acls, KMOCK_RES_TOPIC, "ord", KMOCK_PAT_PREFIXED, "User:bob", KMOCK_OP_ALL, KMOCK_PERM_ALLOW);
    add(&acls, KMOCK_RES_TOPIC, "ord-secret", KMOCK_PAT_LITERAL, "User:bob", KMOCK_OP_READ, KMOCK_PERM_DENY);
    add(&acls, KMOCK_RES_TOPIC, "public", KMOCK_PAT_LITERAL, "User:*", KMOCK_OP_DESCRIBE, KMOCK_PERM_ALLOW);
    assert_true(kmock_acl_authorized(&acls, "alice", KMOCK_OP_READ, KMOCK_RES_TOPIC, S("orders")));
    assert_true(kmock_acl_authorized(&acls, "alice", KMOCK_OP_DESCRIBE, KMOCK_RES_TOPIC, S("orders"))); /* implied */
    assert_false(kmock_acl_authorized(&acls, "alice", KMOCK_OP_WRITE, KMOCK_RES_TOPIC, S("orders")));
    assert_false(kmock_acl_authorized(&acls, "alice", KMOCK_OP_READ, KMOCK_RES_TOPIC, S("other"))); /* no ACL: denied */
    assert_true(kmock_acl_authorized(&acls, "bob", KMOCK_OP_WRITE, KMOCK_RES_TOPIC, S("orders"))); /* ALL, prefixed */
    assert_false(kmock_acl_authorized(&acls, "bob", KMOCK_OP_READ, KMOCK_RES_TOPIC, S("ord-secret"))); /* DENY wins */
    assert_true(kmock_acl_authorized(&acls, "bob", KMOCK_OP_WRITE, KMOCK_RES_TOPIC, S("ord-secret")));
    assert_true(kmock_acl_authorized(&acls, NULL, KMOCK_OP_DESCRIBE, KMOCK_RES_TOPIC, S("public"))); /* User:* */
    assert_false(kmock_acl_authorized(&acls, NULL, KMOCK_OP_READ, KMOCK_RES_TOPIC, S("public")));
    assert_false(kmock_acl_authorized(&acls, "alice", KMOCK_OP_READ, KMOCK_RES_GROUP, S("orders"))); /* other type */
    kmock_acls_free(&acls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_filters), cmocka_unit_test(test_authorizer)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
