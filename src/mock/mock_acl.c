/* ACLs in the mock: see mock_acl.h. */
#include "mock/mock_acl.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

static void acl_free(kmock_acl *a)
{
    kafka_free(a->resource_name);
    kafka_free(a->principal);
    kafka_free(a->host);
}

void kmock_acls_free(kmock_acls *acls)
{
    for (size_t i = 0; i < acls->n; i++)
        acl_free(&acls->a[i]);
    kafka_free(acls->a);
    memset(acls, 0, sizeof(*acls));
}

void kmock_acl_remove(kmock_acls *acls, size_t i)
{
    acl_free(&acls->a[i]);
    memmove(&acls->a[i], &acls->a[i + 1], (acls->n - i - 1) * sizeof(acls->a[0]));
    acls->n--;
}

static bool str_is(const char *s, kafka_str v)
{
    return v.len >= 0 && strlen(s) == (size_t)v.len && memcmp(s, v.ptr, (size_t)v.len) == 0;
}

int16_t kmock_acl_add(kmock_acls *acls, int8_t resource_type, kafka_str resource_name, int8_t pattern_type,
                      kafka_str principal, kafka_str host, int8_t operation, int8_t permission)
{
    kmock_acl a = {.resource_type = resource_type, .pattern_type = pattern_type, .operation = operation,
                   .permission = permission};

    if (resource_type < KMOCK_RES_TOPIC || resource_type > KMOCK_RES_USER ||
        (pattern_type != KMOCK_PAT_LITERAL && pattern_type != KMOCK_PAT_PREFIXED) || operation < KMOCK_OP_ALL ||
        operation > KMOCK_OP_MAX || (permission != KMOCK_PERM_DENY && permission != KMOCK_PERM_ALLOW) ||
        resource_name.len <= 0 || principal.len <= 0 || !memchr(principal.ptr, ':', (size_t)principal.len) ||
        host.len <= 0)
        return 42; /* INVALID_REQUEST */
    for (size_t i = 0; i < acls->n; i++) {
        const kmock_acl *b = &acls->a[i];
        if (b->resource_type == resource_type && b->pattern_type == pattern_type && b->operation == operation &&
            b->permission == permission && str_is(b->resource_name, resource_name) &&
            str_is(b->principal, principal) && str_is(b->host, host))
            return 0;
    }
    a.resource_name = kafka_strndup(resource_name.ptr, (size_t)resource_name.len);
    a.principal = kafka_strndup(principal.ptr, (size_t)principal.len);
    a.host = kafka_strndup(host.ptr, (size_t)host.len);
    if (!a.resource_name || !a.principal || !a.host ||
        !kafka_array_reserve((void **)&acls->a, &acls->cap, acls->n + 1, sizeof(*acls->a), 8)) {
        acl_free(&a);
        return -1; /* UNKNOWN_SERVER_ERROR */
    }
    acls->a[acls->n++] = a;
    return 0;
}

/* Does a binding's resource pattern cover the resource `name`? */
static bool covers(const kmock_acl *acl, kafka_str name)
{
    size_t len = name.len > 0 ? (size_t)name.len : 0, plen = strlen(acl->resource_name);
    if (acl->pattern_type == KMOCK_PAT_PREFIXED)
        return len >= plen && memcmp(acl->resource_name, name.ptr, plen) == 0;
    return strcmp(acl->resource_name, "*") == 0 || str_is(acl->resource_name, name);
}

bool kmock_acl_matches(const kmock_acl *acl, const kmock_acl_filter *f)
{
    if (f->resource_type != KMOCK_RES_ANY && f->resource_type != acl->resource_type)
        return false;
    if (f->pattern_type == KMOCK_PAT_MATCH) {
        if (f->resource_name.len >= 0 && !covers(acl, f->resource_name))
            return false;
    } else {
        if (f->pattern_type != KMOCK_PAT_ANY && f->pattern_type != acl->pattern_type)
            return false;
        if (f->resource_name.len >= 0 && !str_is(acl->resource_name, f->resource_name))
            return false;
    }
    if (f->principal.len >= 0 && !str_is(acl->principal, f->principal))
        return false;
    if (f->host.len >= 0 && !str_is(acl->host, f->host))
        return false;
    if (f->operation != KMOCK_OP_ANY && f->operation != acl->operation)
        return false;
    return f->permission == KMOCK_PERM_ANY || f->permission == acl->permission;
}

/* Does a binding's operation grant (or deny) op? */
static bool op_covers(int8_t acl_op, int8_t op, bool allow)
{
    if (acl_op == op || acl_op == KMOCK_OP_ALL)
        return true;
    /* an allowed READ/WRITE/DELETE/ALTER implies DESCRIBE (Kafka's rule) */
    return allow && op == KMOCK_OP_DESCRIBE &&
           (acl_op == KMOCK_OP_READ || acl_op == KMOCK_OP_WRITE || acl_op == KMOCK_OP_DELETE ||
            acl_op == KMOCK_OP_ALTER);
}

bool kmock_acl_authorized(const kmock_acls *acls, const char *user, int8_t op, int8_t resource_type,
                          kafka_str name)
{
    char principal[300];
    bool allowed = false;

    snprintf(principal, sizeof principal, "User:%s", user ? user : "ANONYMOUS");
    for (size_t i = 0; i < acls->n; i++) {
        const kmock_acl *a = &acls->a[i];
        if (a->resource_type != resource_type || !covers(a, name) || strcmp(a->host, "*") != 0 ||
            (strcmp(a->principal, principal) != 0 && strcmp(a->principal, "User:*") != 0))
            continue;
        if (a->permission == KMOCK_PERM_DENY && op_covers(a->operation, op, false))
            return false;
        if (a->permission == KMOCK_PERM_ALLOW && op_covers(a->operation, op, true))
            allowed = true;
    }
    return allowed;
}
