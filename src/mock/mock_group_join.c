/*
 * Mock group coordinator: JoinGroup (Kafka's GroupCoordinator doJoinGroup:
 * the KIP-394 member-id handshake, protocol checks, new, known and static
 * members). The rebalance it triggers is mock_group_rebalance.c's.
 */
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/join_group.h"

/* ---- protocols ---------------------------------------------------------- */

/* Kafka's GroupMetadata.supportsProtocols: an Empty group takes any
 * non-empty protocol type and list; otherwise the type must match and one
 * of the protocols must be supported by every member (the joining member's
 * previous protocols included, as Kafka counts them). */
static bool protocols_acceptable(const kmock_group *grp, const kafka_join_group_request *req)
{
    if (req->protocol_type.len <= 0 || req->protocols_count <= 0)
        return false;
    if (grp->state == KMOCK_EMPTY)
        return true;
    if (!kmock_streq(grp->protocol_type, req->protocol_type))
        return false;
    for (int32_t i = 0; i < req->protocols_count; i++)
        if (kmock_supported_by_all(grp, req->protocols[i].name))
            return true;
    return false;
}

/* Same protocols, same metadata, same order (Kafka's matches): a rejoin
 * that changes nothing need not rebalance. */
static bool protocols_match(const kmock_member *m, const kafka_join_group_request *req)
{
    if ((size_t)req->protocols_count != m->n_protocols)
        return false;
    for (size_t i = 0; i < m->n_protocols; i++) {
        const kafka_join_group_request_join_group_request_protocol *p = &req->protocols[i];
        if (!kmock_streq(m->protocols[i].name, p->name) || p->metadata.len != m->protocols[i].meta_len ||
            (p->metadata.len > 0 && memcmp(p->metadata.ptr, m->protocols[i].meta, (size_t)p->metadata.len) != 0))
            return false;
    }
    return true;
}

/* Replaces the member's protocols and timeouts with the request's.
 * false = out of memory (the member is unchanged). */
static bool member_update(kmock_groups *g, kmock_member *m, const kafka_join_group_request *req)
{
    size_t n = (size_t)req->protocols_count;
    kmock_protocol *ps = kafka_calloc(n, sizeof *ps);
    if (!ps)
        return false;
    for (size_t i = 0; i < n; i++) {
        const kafka_join_group_request_join_group_request_protocol *p = &req->protocols[i];
        ps[i].name = kmock_strdup_str(p->name.len < 0 ? kafka_str_c("") : p->name);
        ps[i].meta_len = p->metadata.len < 0 ? 0 : p->metadata.len;
        ps[i].meta = kafka_malloc(ps[i].meta_len ? (size_t)ps[i].meta_len : 1);
        if (!ps[i].name || !ps[i].meta) {
            for (size_t j = 0; j <= i; j++) {
                kafka_free(ps[j].name);
                kafka_free(ps[j].meta);
            }
            kafka_free(ps);
            return false;
        }
        if (ps[i].meta_len)
            memcpy(ps[i].meta, p->metadata.ptr, (size_t)ps[i].meta_len);
    }
    for (size_t i = 0; i < m->n_protocols; i++) {
        kafka_free(m->protocols[i].name);
        kafka_free(m->protocols[i].meta);
    }
    kafka_free(m->protocols);
    m->protocols = ps;
    m->n_protocols = n;
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    if (g->client_id || !m->client_id) {
        kafka_free(m->client_id);
        kafka_free(m->client_host);
        m->client_id = kafka_strdup(g->client_id ? g->client_id : "");
        m->client_host = kafka_strdup(g->client_host ? g->client_host : "");
    }
    return true;
}

/* ---- answering JoinGroup ------------------------------------------------- */

static int join_reply_now(const kmock_group *grp, kmock_req *rq, const kmock_join_result *jr)
{
    kafka_join_group_response resp;
    kmock_join_response(grp, rq->version, rq->arena, jr, &resp);
    return kmock_send(&rq->w, &kafka_join_group_response_msg, &resp);
}

static int join_error(kmock_req *rq, int16_t err, kafka_str member_id)
{
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    resp.error_code = err;
    resp.member_id = member_id.len < 0 ? kafka_str_c("") : member_id;
    resp.protocol_name = rq->version >= 7 ? KAFKA_STR_NULL : kafka_str_c("");
    return kmock_send(&rq->w, &kafka_join_group_response_msg, &resp);
}

/* ---- JoinGroup ------------------------------------------------------------ */

static kmock_member *member_new(kmock_groups *g, kmock_group *grp, char *id, const kafka_join_group_request *req,
                                int64_t now)
{
    if (!kafka_array_reserve((void **)&grp->members, &grp->cap_members, grp->n_members + 1, sizeof *grp->members, 4))
        return NULL;
    kmock_member *m = kafka_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = id;
    if (req->group_instance_id.len >= 0 && !(m->instance_id = kmock_strdup_str(req->group_instance_id))) {
        kafka_free(m);
        return NULL;
    }
    if (!member_update(g, m, req)) {
        kafka_free(m->instance_id);
        kafka_free(m);
        return NULL;
    }
    m->last_heartbeat_ms = now;
    m->is_new = true;
    grp->members[grp->n_members++] = m;
    if (!grp->leader_id)
        kmock_set_leader(grp, m->id);
    if (grp->n_members == 1) { /* the first member sets the group's type */
        kafka_free(grp->protocol_type);
        grp->protocol_type = kmock_strdup_str(req->protocol_type);
    }
    if (grp->state == KMOCK_PREPARING_REBALANCE)
        grp->new_member_added = true;
    return m;
}

/* Kafka's addMemberAndRebalance; takes ownership of id. */
static int add_member_and_rebalance(kmock_groups *g, kmock_group *grp, kmock_req *rq, char *id,
                                    const kafka_join_group_request *req)
{
    kmock_member *m = member_new(g, grp, id, req, rq->now);
    if (!m) {
        kafka_free(id);
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    }
    kmock_hold_join(m, rq);
    kmock_maybe_rebalance(g, grp, rq->now);
    return m->join.active ? 0 : 1;
}

/* The member's JoinGroup either waits for the rebalance or, if that
 * completed at once, was answered. */
static int update_member_and_rebalance(kmock_groups *g, kmock_group *grp, kmock_member *m, kmock_req *rq,
                                       const kafka_join_group_request *req)
{
    if (!member_update(g, m, req))
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    kmock_hold_join(m, rq);
    m->last_heartbeat_ms = rq->now;
    kmock_maybe_rebalance(g, grp, rq->now);
    return m->join.active ? 0 : 1;
}

/* A static member rejoining with an unknown member id: Kafka's
 * updateStaticMemberAndRebalance. The old member id is fenced. */
static int replace_static_member(kmock_groups *g, kmock_group *grp, kmock_member *m, kmock_req *rq, char *new_id,
                                 const kafka_join_group_request *req)
{
    kmock_join_result fenced = {.error = KAFKA_ERR_FENCED_INSTANCE_ID, .member_id = m->id};
    kmock_join_reply_deferred(grp, m, &fenced);
    kmock_sync_reply_deferred(NULL, m, KAFKA_ERR_FENCED_INSTANCE_ID);
    bool was_leader = kmock_is_leader(grp, m);
    char *old_id = m->id;
    m->id = new_id;
    if (was_leader)
        kmock_set_leader(grp, new_id);
    if (!member_update(g, m, req)) {
        kafka_free(old_id);
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    }
    m->last_heartbeat_ms = rq->now;
    int rc;
    const char *next_protocol = grp->state == KMOCK_STABLE ? kmock_select_protocol(grp) : NULL;
    if (grp->state == KMOCK_STABLE && next_protocol && grp->protocol_name &&
        strcmp(next_protocol, grp->protocol_name) == 0) {
        /* no rebalance: the member carries on with its assignment. Before
         * v9 a rejoining leader is told the old leader id so that it does
         * not run a pointless assignment (KIP-345); v9 tells it to skip
         * the assignment instead (KIP-814). */
        bool v9 = rq->version >= 9;
        kmock_join_result jr = {.member_id = new_id,
                          .with_members = was_leader && v9,
                          .leader = was_leader && !v9 ? old_id : NULL,
                          .skip_assignment = was_leader && v9};
        rc = join_reply_now(grp, rq, &jr);
    } else {
        kmock_hold_join(m, rq);
        kmock_maybe_rebalance(g, grp, rq->now);
        rc = m->join.active ? 0 : 1;
    }
    kafka_free(old_id);
    return rc;
}

static int join_unknown_member(kmock_groups *g, kmock_group *grp, kmock_req *rq, const kafka_join_group_request *req)
{
    if (grp->n_members + grp->n_pending >= KMOCK_GROUP_MAX_MEMBERS)
        return join_error(rq, KAFKA_ERR_GROUP_MAX_SIZE_REACHED, req->member_id);
    char *id = kmock_new_member_id(g);
    if (!id)
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    if (req->group_instance_id.len >= 0) {
        kmock_member *old = kmock_member_by_instance(grp, req->group_instance_id);
        if (old)
            return replace_static_member(g, grp, old, rq, id, req);
        return add_member_and_rebalance(g, grp, rq, id, req);
    }
    if (rq->version >= 4) {
        /* KIP-394: the member must come back with the id it is given */
        if (!kafka_array_reserve((void **)&grp->pending, &grp->cap_pending, grp->n_pending + 1, sizeof *grp->pending,
                                 4)) {
            kafka_free(id);
            return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        }
        grp->pending[grp->n_pending++] = (kmock_pending){id, rq->now + req->session_timeout_ms};
        return join_error(rq, KAFKA_ERR_MEMBER_ID_REQUIRED, kafka_str_c(id));
    }
    return add_member_and_rebalance(g, grp, rq, id, req);
}

static int join_known_member(kmock_groups *g, kmock_group *grp, kmock_req *rq, const kafka_join_group_request *req)
{
    size_t pi = kmock_pending_find(grp, req->member_id);
    if (pi != SIZE_MAX) {
        char *id = grp->pending[pi].id;
        grp->pending[pi].id = NULL;
        kmock_array_remove(grp->pending, &grp->n_pending, pi, sizeof *grp->pending);
        return add_member_and_rebalance(g, grp, rq, id, req);
    }
    kmock_member *m;
    int16_t err = kmock_validate_member(grp, req->member_id, req->group_instance_id, &m);
    if (err)
        return join_error(rq, err, req->member_id);
    switch (grp->state) {
    case KMOCK_PREPARING_REBALANCE:
        return update_member_and_rebalance(g, grp, m, rq, req);
    case KMOCK_COMPLETING_REBALANCE:
        if (protocols_match(m, req)) {
            /* the JoinGroup answer was lost: send it again */
            kmock_join_result jr = {.member_id = m->id, .with_members = kmock_is_leader(grp, m)};
            return join_reply_now(grp, rq, &jr);
        }
        return update_member_and_rebalance(g, grp, m, rq, req);
    case KMOCK_STABLE:
        if (kmock_is_leader(grp, m) || !protocols_match(m, req))
            return update_member_and_rebalance(g, grp, m, rq, req);
        {
            kmock_join_result jr = {.member_id = m->id};
            return join_reply_now(grp, rq, &jr);
        }
    case KMOCK_EMPTY:
    case KMOCK_DEAD:
        break;
    }
    return join_error(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID, req->member_id);
}

static bool metadata_too_large(const kafka_join_group_request *req)
{
    if (req->protocols_count > KMOCK_MEMBER_MAX_PROTOCOLS)
        return true;
    size_t total = 0;
    for (int32_t i = 0; i < req->protocols_count; i++)
        total += (size_t)(req->protocols[i].metadata.len > 0 ? req->protocols[i].metadata.len : 0) +
                 (size_t)(req->protocols[i].name.len > 0 ? req->protocols[i].name.len : 0);
    return total > KMOCK_MEMBER_MAX_METADATA;
}

int kmock_handle_join(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_join_group_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_join_group_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    if (req.rebalance_timeout_ms < 0) /* v0: the session timeout doubles as it */
        req.rebalance_timeout_ms = req.session_timeout_ms;
    if (req.group_id.len <= 0)
        return join_error(rq, KAFKA_ERR_INVALID_GROUP_ID, req.member_id);
    if (req.session_timeout_ms < g->cfg.min_session_timeout_ms ||
        req.session_timeout_ms > g->cfg.max_session_timeout_ms)
        return join_error(rq, KAFKA_ERR_INVALID_SESSION_TIMEOUT, req.member_id);
    if (metadata_too_large(&req))
        return join_error(rq, KAFKA_ERR_INVALID_REQUEST, req.member_id);
    bool unknown = req.member_id.len <= 0;
    kmock_group *grp;
    if (unknown) {
        int16_t err;
        grp = kmock_group_get_or_create(g, req.group_id, &err);
        if (!grp)
            return join_error(rq, err, req.member_id);
    } else if (!(grp = kmock_group_find(g, req.group_id))) {
        return join_error(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID, req.member_id);
    }
    if (grp->state == KMOCK_DEAD)
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req.member_id);
    if (grp->cg) { /* a KIP-848 group: only an empty one turns classic */
        if (kmock_cgroup_has_members(grp->cg))
            return join_error(rq, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, req.member_id);
        kmock_cgroup_free(grp->cg);
        grp->cg = NULL;
    }
    if (!protocols_acceptable(grp, &req))
        return join_error(rq, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, req.member_id);
    return unknown ? join_unknown_member(g, grp, rq, &req) : join_known_member(g, grp, rq, &req);
}

