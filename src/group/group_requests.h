/*
 * The classic group requests, each filled in one place (internal,
 * sans-I/O): the blocking calls of group.c and the membership machine
 * (membership.c) both build their JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit and OffsetFetch here. Each fills the generated
 * request struct for version v (fields the version lacks stay at their
 * defaults, which the encoder requires); arrays come from arena a and
 * strings point to the caller's, which must outlive the encoding.
 */
#ifndef KAFKA_GROUP_REQUESTS_H
#define KAFKA_GROUP_REQUESTS_H

#include "common/arena.h"
#include "group/group.h"
#include "protocol/gen/all.h"

/* Who is asking: the member's identity in the group. */
typedef struct kafka_group_ident {
    const char *group_id;
    const char *member_id;   /* "" before the first join */
    const char *instance_id; /* NULL: dynamic member */
    int32_t generation;      /* -1: none */
} kafka_group_ident;

kafka_err kafka_group_join_request_fill(kafka_join_group_request *req, int16_t v, const kafka_group_ident *id,
                                        int32_t session_timeout_ms, int32_t rebalance_timeout_ms,
                                        const kafka_group_protocol *protos, size_t n, kafka_arena *a);
kafka_err kafka_group_sync_request_fill(kafka_sync_group_request *req, int16_t v, const kafka_group_ident *id,
                                        const char *protocol, const char *const *member_ids,
                                        const kafka_bytes *assignments, size_t n, kafka_arena *a);
void kafka_group_heartbeat_request_fill(kafka_heartbeat_request *req, int16_t v, const kafka_group_ident *id);
/* mi: storage for the v3+ member entry (must outlive the encoding). */
void kafka_group_leave_request_fill(kafka_leave_group_request *req, int16_t v, const kafka_group_ident *id,
                                    kafka_leave_group_request_member_identity *mi);
kafka_err kafka_group_commit_request_fill(kafka_offset_commit_request *req, int16_t v, const kafka_group_ident *id,
                                          const kafka_group_offset *offs, size_t n, kafka_arena *a);
kafka_err kafka_group_offset_fetch_request_fill(kafka_offset_fetch_request *req, int16_t v, const char *group_id,
                                                const kafka_group_offset *offs, size_t n, kafka_arena *a);

/* Reads an OffsetCommit answer into offs[i].err; returns the first error. */
kafka_err kafka_group_commit_response_apply(const kafka_offset_commit_response *resp, kafka_group_offset *offs,
                                            size_t n);
/* Reads an OffsetFetch answer into offs[i].offset / .err (partitions it
 * does not name: PROTOCOL); returns the first error. */
kafka_err kafka_group_offset_fetch_response_apply(const kafka_offset_fetch_response *resp, kafka_group_offset *offs,
                                                  size_t n);

#endif
