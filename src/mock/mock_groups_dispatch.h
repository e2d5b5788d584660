/*
 * The seam between the mock's serving core and its group coordinator
 * module (mock_group.h: classic groups, offsets, ListGroups/DescribeGroups/
 * DeleteGroups). One cluster-wide coordinator instance serves the group
 * APIs on every broker.
 *
 * Implemented by mock_groups_on.c (the glue to mock_group.h).
 */
#ifndef KAFKA_MOCK_GROUPS_DISPATCH_H
#define KAFKA_MOCK_GROUPS_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"

typedef struct kmock_cluster kmock_cluster;

/* Called with the response body of a group request (no size, no header). */
typedef void (*kmock_group_reply_fn)(void *ctx, uint64_t token, const uint8_t *body, size_t len);

/* Creates c->groups. */
kafka_err kmock_groups_attach(kmock_cluster *c);
void kmock_groups_detach(kmock_cluster *c);

/* The versions of api_key the group module serves; false if it does not. */
bool kmock_groups_serves(int16_t api_key, int16_t *min_v, int16_t *max_v);

/* Hands one request to the module: 1 answered (reply already called), 0
 * deferred (reply called later from here or from kmock_groups_timer), < 0
 * the body does not decode (close the connection). */
int kmock_groups_dispatch(kmock_cluster *c, int16_t api_key, int16_t version, const uint8_t *body, size_t len,
                          int64_t now_ms, uint64_t token, kmock_group_reply_fn reply, void *ctx);

/* A transaction of producer_id ended (EndTxn, timeout, fencing): the
 * groups make its TxnOffsetCommit offsets committed (commit) or drop them. */
void kmock_groups_txn_ended(kmock_cluster *c, int64_t producer_id, bool commit);

/* Runs the module's timers; returns its next deadline or INT64_MAX. */
int64_t kmock_groups_timer(kmock_cluster *c, int64_t now_ms);

#endif
