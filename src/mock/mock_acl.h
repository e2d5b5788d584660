/*
 * ACLs in the mock: the bindings CreateAcls adds, filtered as Kafka's
 * AclBindingFilter does (DescribeAcls, DeleteAcls), and, when the mock
 * enforces them, Kafka's authorizer rule: a matching DENY wins, else a
 * matching ALLOW (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALL
 * implies every operation), else the request is refused (no
 * allow.everyone.if.no.acl.found). Principals are "User:<SASL user>", or
 * "User:ANONYMOUS" without SASL.
 *
 * Enum values are Kafka's (ResourceType, PatternType, AclOperation,
 * AclPermissionType). Single-threaded: the mock's mutex guards it.
 */
#ifndef KAFKA_MOCK_ACL_H
#define KAFKA_MOCK_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

enum { KMOCK_RES_ANY = 1, KMOCK_RES_TOPIC = 2, KMOCK_RES_GROUP = 3, KMOCK_RES_CLUSTER = 4,
       KMOCK_RES_TRANSACTIONAL_ID = 5, KMOCK_RES_USER = 7 };
enum { KMOCK_PAT_ANY = 1, KMOCK_PAT_MATCH = 2, KMOCK_PAT_LITERAL = 3, KMOCK_PAT_PREFIXED = 4 };
enum { KMOCK_OP_ANY = 1, KMOCK_OP_ALL = 2, KMOCK_OP_READ = 3, KMOCK_OP_WRITE = 4, KMOCK_OP_CREATE = 5,
       KMOCK_OP_DELETE = 6, KMOCK_OP_ALTER = 7, KMOCK_OP_DESCRIBE = 8, KMOCK_OP_IDEMPOTENT_WRITE = 12,
       KMOCK_OP_MAX = 14 };
enum { KMOCK_PERM_ANY = 1, KMOCK_PERM_DENY = 2, KMOCK_PERM_ALLOW = 3 };

typedef struct kmock_acl {
    int8_t resource_type;
    char *resource_name;
    int8_t pattern_type;
    char *principal;
    char *host;
    int8_t operation;
    int8_t permission;
} kmock_acl;

typedef struct kmock_acls {
    kmock_acl *a;
    size_t n, cap;
} kmock_acls;

/* A filter; null strings match anything. */
typedef struct kmock_acl_filter {
    int8_t resource_type;
    kafka_str resource_name;
    int8_t pattern_type;
    kafka_str principal;
    kafka_str host;
    int8_t operation;
    int8_t permission;
} kmock_acl_filter;

void kmock_acls_free(kmock_acls *acls);
/* Adds a binding (an identical one is not added twice). Returns 0,
 * INVALID_REQUEST (an ANY/MATCH/unknown value, an empty name, a principal
 * without "type:") or UNKNOWN_SERVER_ERROR. */
int16_t kmock_acl_add(kmock_acls *acls, int8_t resource_type, kafka_str resource_name, int8_t pattern_type,
                      kafka_str principal, kafka_str host, int8_t operation, int8_t permission);
bool kmock_acl_matches(const kmock_acl *acl, const kmock_acl_filter *f);
/* Removes one binding (index i). */
void kmock_acl_remove(kmock_acls *acls, size_t i);
/* The authorizer: may `user` (NULL = anonymous) from any host do op on
 * the resource? */
bool kmock_acl_authorized(const kmock_acls *acls, const char *user, int8_t op, int8_t resource_type,
                          kafka_str name);

#endif
