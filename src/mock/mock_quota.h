/*
 * Client quotas in the mock (KIP-546): the values AlterClientQuotas set,
 * per entity, as Kafka's controller keeps them. An entity is a user, a
 * client id, a user and a client id, or an IP address; each part names
 * one (a string) or the default (NULL). The mock stores quotas; it does
 * not throttle by them.
 *
 * Single-threaded: the mock's mutex guards it.
 */
#ifndef KAFKA_MOCK_QUOTA_H
#define KAFKA_MOCK_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

/* entity types, in the order Kafka's describe output lists them */
enum { KMOCK_QE_USER, KMOCK_QE_CLIENT_ID, KMOCK_QE_IP, KMOCK_QE_TYPES };
/* producer_byte_rate, consumer_byte_rate, request_percentage,
 * controller_mutation_rate, connection_creation_rate */
#define KMOCK_QUOTA_KEYS 5

typedef struct kmock_quota_entity {
    bool has[KMOCK_QE_TYPES];
    char *name[KMOCK_QE_TYPES]; /* NULL: the default entity of that type */
    bool set[KMOCK_QUOTA_KEYS];
    double value[KMOCK_QUOTA_KEYS];
} kmock_quota_entity;

typedef struct kmock_quotas {
    kmock_quota_entity *e;
    size_t n, cap;
} kmock_quotas;

void kmock_quotas_free(kmock_quotas *q);

#endif
