/*
 * Mock group coordinator: SyncGroup, Heartbeat and LeaveGroup of classic
 * groups (Kafka's GroupCoordinator handleSyncGroup / handleHeartbeat /
 * handleLeaveGroup). The leader's SyncGroup carries every member's
 * assignment; followers that sync first are held until it arrives.
 */
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/heartbeat.h"
#include "protocol/gen/leave_group.h"
#include "protocol/gen/sync_group.h"

/* ---- SyncGroup ------------------------------------------------------------ */

static void sync_response(const kmock_group *grp, const kmock_member *m, int16_t err, kafka_sync_group_response *resp)
{
    kafka_sync_group_response_init(resp);
    resp->error_code = err;
    resp->assignment = (kafka_bytes){(const uint8_t *)"", 0};
    if (err || !grp)
        return;
    resp->protocol_type = kmock_str(grp->protocol_type);
    resp->protocol_name = kmock_str(grp->protocol_name);
    if (m->assignment)
        resp->assignment = (kafka_bytes){m->assignment, m->assignment_len};
}

void kmock_sync_reply_deferred(const kmock_group *grp, kmock_member *m, int16_t err)
{
    kafka_sync_group_response resp;
    sync_response(grp, m, err, &resp);
    kmock_send_deferred(&m->sync, &kafka_sync_group_response_msg, &resp);
}

static int sync_reply_now(kmock_req *rq, const kmock_group *grp, const kmock_member *m, int16_t err)
{
    kafka_sync_group_response resp;
    sync_response(grp, m, err, &resp);
    return kmock_send(&rq->w, &kafka_sync_group_response_msg, &resp);
}

/* Stores the leader's assignments: members it left out get an empty one. */
static int16_t apply_assignments(kmock_group *grp, const kafka_sync_group_request *req)
{
    for (size_t i = 0; i < grp->n_members; i++) {
        kmock_member *m = grp->members[i];
        kafka_bytes a = {NULL, 0};
        for (int32_t k = 0; k < req->assignments_count; k++)
            if (kmock_streq(m->id, req->assignments[k].member_id))
                a = req->assignments[k].assignment;
        size_t n = a.len > 0 ? (size_t)a.len : 0;
        uint8_t *copy = kafka_malloc(n ? n : 1);
        if (!copy)
            return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        if (n)
            memcpy(copy, a.ptr, n);
        kafka_free(m->assignment);
        m->assignment = copy;
        m->assignment_len = (int32_t)n;
    }
    return 0;
}

int kmock_handle_sync(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_sync_group_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_sync_group_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    if (req.group_id.len <= 0)
        return sync_reply_now(rq, NULL, NULL, KAFKA_ERR_INVALID_GROUP_ID);
    kmock_group *grp = kmock_group_find(g, req.group_id);
    if (!grp)
        return sync_reply_now(rq, NULL, NULL, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    if (grp->state == KMOCK_DEAD)
        return sync_reply_now(rq, NULL, NULL, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    kmock_member *m;
    int16_t err = kmock_validate_member(grp, req.member_id, req.group_instance_id, &m);
    if (!err && req.generation_id != grp->generation)
        err = KAFKA_ERR_ILLEGAL_GENERATION;
    /* v5+: the member states the protocol it expects */
    if (!err && ((req.protocol_type.len >= 0 && !kmock_streq(grp->protocol_type, req.protocol_type)) ||
                 (req.protocol_name.len >= 0 && !kmock_streq(grp->protocol_name, req.protocol_name))))
        err = KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err)
        return sync_reply_now(rq, NULL, NULL, err);
    switch (grp->state) {
    case KMOCK_EMPTY:
    case KMOCK_DEAD:
        return sync_reply_now(rq, NULL, NULL, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    case KMOCK_PREPARING_REBALANCE:
        return sync_reply_now(rq, NULL, NULL, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    case KMOCK_STABLE:
        m->synced = true;
        m->last_heartbeat_ms = rq->now;
        return sync_reply_now(rq, grp, m, 0);
    case KMOCK_COMPLETING_REBALANCE:
        break;
    }
    m->synced = true;
    m->last_heartbeat_ms = rq->now;
    m->sync = rq->w;
    m->sync.active = true;
    if (!grp->leader_id || strcmp(grp->leader_id, m->id) != 0)
        return 0; /* a follower waits for the leader's assignment */
    err = apply_assignments(grp, &req);
    if (!err)
        grp->state = KMOCK_STABLE;
    for (size_t i = 0; i < grp->n_members; i++) {
        kmock_member *o = grp->members[i];
        if (o->sync.active) /* a session restarts with the answer, as in Kafka */
            o->last_heartbeat_ms = rq->now;
        kmock_sync_reply_deferred(grp, o, err);
    }
    return 1;
}

/* ---- Heartbeat ---------------------------------------------------------- */

static int heartbeat_reply(kmock_req *rq, int16_t err)
{
    kafka_heartbeat_response resp;
    kafka_heartbeat_response_init(&resp);
    resp.error_code = err;
    return kmock_send(&rq->w, &kafka_heartbeat_response_msg, &resp);
}

int kmock_handle_heartbeat(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_heartbeat_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_heartbeat_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    if (req.group_id.len <= 0)
        return heartbeat_reply(rq, KAFKA_ERR_INVALID_GROUP_ID);
    kmock_group *grp = kmock_group_find(g, req.group_id);
    if (!grp)
        return heartbeat_reply(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    if (grp->state == KMOCK_DEAD)
        return heartbeat_reply(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    kmock_member *m;
    int16_t err = kmock_validate_member(grp, req.member_id, req.group_instance_id, &m);
    if (err)
        return heartbeat_reply(rq, err);
    if (req.generation_id != grp->generation)
        return heartbeat_reply(rq, KAFKA_ERR_ILLEGAL_GENERATION);
    if (grp->state == KMOCK_EMPTY)
        return heartbeat_reply(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    m->last_heartbeat_ms = rq->now;
    return heartbeat_reply(rq, grp->state == KMOCK_PREPARING_REBALANCE ? KAFKA_ERR_REBALANCE_IN_PROGRESS : 0);
}

/* ---- LeaveGroup ----------------------------------------------------------- */

/* One leaving identity: Kafka's handleLeaveGroup per member. */
static int16_t leave_one(kmock_groups *g, kmock_group *grp, kafka_str member_id, kafka_str instance_id, int64_t now)
{
    if (instance_id.len >= 0) {
        kmock_member *m = kmock_member_by_instance(grp, instance_id);
        if (!m)
            return KAFKA_ERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !kmock_streq(m->id, member_id))
            return KAFKA_ERR_FENCED_INSTANCE_ID;
        kmock_remove_member(g, grp, m, now);
        return 0;
    }
    size_t pi = kmock_pending_find(grp, member_id);
    if (pi != SIZE_MAX) {
        kmock_remove_pending(g, grp, pi, now);
        return 0;
    }
    kmock_member *m = kmock_member_find(grp, member_id);
    if (!m)
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    kmock_remove_member(g, grp, m, now);
    return 0;
}

int kmock_handle_leave(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_leave_group_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_leave_group_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_leave_group_request_member_identity single;
    if (rq->version < 3) { /* one member, by id */
        kafka_leave_group_request_member_identity_init(&single);
        single.member_id = req.member_id;
        req.members = &single;
        req.members_count = 1;
    }
    kafka_leave_group_response resp;
    kafka_leave_group_response_init(&resp);
    int32_t n = req.members_count > 0 ? req.members_count : 0;
    resp.members = kafka_arena_calloc(rq->arena, (size_t)n, sizeof *resp.members);
    if (!resp.members)
        return -1;
    kmock_group *grp = req.group_id.len > 0 ? kmock_group_find(g, req.group_id) : NULL;
    if (req.group_id.len <= 0)
        resp.error_code = KAFKA_ERR_INVALID_GROUP_ID;
    else if (grp && grp->state == KMOCK_DEAD)
        resp.error_code = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    else {
        for (int32_t i = 0; i < n; i++) {
            const kafka_leave_group_request_member_identity *id = &req.members[i];
            kafka_leave_group_response_member_response *o = &resp.members[i];
            o->member_id = id->member_id;
            o->group_instance_id = id->group_instance_id;
            o->error_code = grp ? leave_one(g, grp, id->member_id, id->group_instance_id, rq->now)
                                : KAFKA_ERR_UNKNOWN_MEMBER_ID;
        }
        resp.members_count = n;
        /* before v3 the single member's error is the response's */
        if (rq->version < 3)
            resp.error_code = resp.members[0].error_code;
    }
    if (rq->version < 3)
        resp.members_count = 0;
    return kmock_send(&rq->w, &kafka_leave_group_response_msg, &resp);
}
