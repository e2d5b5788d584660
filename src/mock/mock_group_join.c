/*
 * Mock group coordinator: JoinGroup and the rebalance engine (Kafka's
 * GroupCoordinator doJoinGroup / prepareRebalance / onCompleteJoin and the
 * delayed joins, plus the session, sync and pending-member timers).
 *
 * A rebalance: the group goes to PreparingRebalance and every member's
 * JoinGroup is held (deferred) until all known members have rejoined and no
 * member-id handshake is outstanding, or the rebalance timeout (the
 * largest of the members') expires; a group that was Empty instead waits
 * the initial rebalance delay, extended while new members keep arriving.
 * Then members that did not rejoin are dropped, the generation is bumped,
 * a protocol is chosen by vote, and every held JoinGroup is answered: the
 * leader's with all members' metadata.
 */
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/join_group.h"

void kmock_member_free(kmock_member *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_protocols; i++) {
        kafka_free(m->protocols[i].name);
        kafka_free(m->protocols[i].meta);
    }
    kafka_free(m->protocols);
    kafka_free(m->assignment);
    kafka_free(m->id);
    kafka_free(m->instance_id);
    kafka_free(m->client_id);
    kafka_free(m->client_host);
    kafka_free(m);
}

/* ---- protocols ---------------------------------------------------------- */

static bool supported_by_all(const kmock_group *grp, kafka_str name)
{
    for (size_t i = 0; i < grp->n_members; i++) {
        const kmock_member *m = grp->members[i];
        bool found = false;
        for (size_t p = 0; p < m->n_protocols && !found; p++)
            found = kmock_streq(m->protocols[p].name, name);
        if (!found)
            return false;
    }
    return true;
}

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
        if (supported_by_all(grp, req->protocols[i].name))
            return true;
    return false;
}

/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for the first in its own preference order; the most votes
 * win, ties going to the leader's preference. */
static const char *select_protocol(const kmock_group *grp)
{
    if (grp->n_members == 0)
        return NULL;
    const kmock_member *leader = grp->members[0];
    for (size_t i = 0; i < grp->n_members; i++)
        if (grp->leader_id && strcmp(grp->members[i]->id, grp->leader_id) == 0)
            leader = grp->members[i];
    const char *best = NULL;
    size_t best_votes = 0;
    for (size_t c = 0; c < leader->n_protocols; c++) {
        const char *cand = leader->protocols[c].name;
        if (!supported_by_all(grp, kmock_str(cand)))
            continue;
        size_t votes = 0;
        for (size_t i = 0; i < grp->n_members; i++) {
            const kmock_member *m = grp->members[i];
            for (size_t p = 0; p < m->n_protocols; p++) {
                const char *name = m->protocols[p].name;
                if (supported_by_all(grp, kmock_str(name))) {
                    votes += strcmp(name, cand) == 0;
                    break;
                }
            }
        }
        if (!best || votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

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

typedef struct join_result {
    int16_t error;
    const char *member_id;
    bool with_members; /* the leader's answer */
    const char *leader; /* NULL = the group's leader */
    bool skip_assignment;
} join_result;

static void join_response(const kmock_group *grp, int16_t version, kafka_arena *arena, const join_result *jr,
                          kafka_join_group_response *resp)
{
    kafka_join_group_response_init(resp);
    resp->error_code = jr->error;
    resp->member_id = kafka_str_c(jr->member_id ? jr->member_id : "");
    if (jr->error) {
        resp->protocol_name = version >= 7 ? KAFKA_STR_NULL : kafka_str_c("");
        return;
    }
    resp->generation_id = grp->generation;
    resp->protocol_type = kmock_str(grp->protocol_type);
    resp->protocol_name = kafka_str_c(grp->protocol_name ? grp->protocol_name : "");
    resp->leader = kafka_str_c(jr->leader ? jr->leader : grp->leader_id ? grp->leader_id : "");
    resp->skip_assignment = jr->skip_assignment;
    if (!jr->with_members)
        return;
    resp->members = kafka_arena_calloc(arena, grp->n_members ? grp->n_members : 1, sizeof *resp->members);
    if (!resp->members)
        return; /* encodes as an empty list; only under memory exhaustion */
    for (size_t i = 0; i < grp->n_members; i++) {
        const kmock_member *m = grp->members[i];
        kafka_join_group_response_join_group_response_member *o = &resp->members[i];
        o->member_id = kafka_str_c(m->id);
        o->group_instance_id = kmock_str(m->instance_id);
        o->metadata = kmock_member_metadata(m, grp->protocol_name);
    }
    resp->members_count = (int32_t)grp->n_members;
}

static int join_reply_now(const kmock_group *grp, kmock_req *rq, const join_result *jr)
{
    kafka_join_group_response resp;
    join_response(grp, rq->version, rq->arena, jr, &resp);
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

/* Answers a held JoinGroup of `m`. */
static void join_reply_deferred(const kmock_group *grp, kmock_member *m, const join_result *jr)
{
    if (!m->join.active)
        return;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_join_group_response resp;
    join_response(grp, m->join.version, &arena, jr, &resp);
    kmock_send_deferred(&m->join, &kafka_join_group_response_msg, &resp);
    kafka_arena_free(&arena);
}

static void sync_error_deferred(kmock_member *m, int16_t err);

/* ---- the rebalance engine ------------------------------------------------ */

static int32_t group_rebalance_timeout(const kmock_group *grp)
{
    int32_t t = 0;
    for (size_t i = 0; i < grp->n_members; i++)
        if (grp->members[i]->rebalance_timeout_ms > t)
            t = grp->members[i]->rebalance_timeout_ms;
    return t;
}

static void set_leader(kmock_group *grp, const char *id)
{
    char *copy = id ? kafka_strdup(id) : NULL;
    kafka_free(grp->leader_id);
    grp->leader_id = copy;
}

static bool is_leader(const kmock_group *grp, const kmock_member *m)
{
    return grp->leader_id && strcmp(grp->leader_id, m->id) == 0;
}

/* Kafka's prepareRebalance. */
static void prepare_rebalance(kmock_groups *g, kmock_group *grp, int64_t now)
{
    if (grp->state == KMOCK_COMPLETING_REBALANCE) {
        for (size_t i = 0; i < grp->n_members; i++) {
            kmock_member *m = grp->members[i];
            kafka_free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
            sync_error_deferred(m, KAFKA_ERR_REBALANCE_IN_PROGRESS);
        }
    }
    int32_t timeout = group_rebalance_timeout(grp);
    int32_t delay = g->cfg.initial_rebalance_delay_ms;
    if (grp->state == KMOCK_EMPTY && delay > 0) {
        if (delay > timeout)
            delay = timeout;
        grp->initial_delay = true;
        grp->new_member_added = false;
        grp->delay_remaining_ms = timeout - delay > 0 ? timeout - delay : 0;
        grp->join_deadline_ms = now + delay;
    } else {
        grp->initial_delay = false;
        grp->join_deadline_ms = now + timeout;
    }
    grp->sync_deadline_ms = INT64_MAX;
    grp->state = KMOCK_PREPARING_REBALANCE;
}

/* Kafka's onCompleteJoin. */
static void complete_join(kmock_groups *g, kmock_group *grp, int64_t now)
{
    /* dynamic members that did not rejoin in time are dropped */
    for (size_t i = grp->n_members; i-- > 0;) {
        kmock_member *m = grp->members[i];
        if (!m->join.active && !m->instance_id) {
            memmove(&grp->members[i], &grp->members[i + 1], (grp->n_members - i - 1) * sizeof *grp->members);
            grp->n_members--;
            sync_error_deferred(m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
            kmock_member_free(m);
        }
    }
    bool anyone_joined = false;
    for (size_t i = 0; i < grp->n_members; i++)
        anyone_joined |= grp->members[i]->join.active;
    if (grp->n_members > 0 && !anyone_joined) {
        /* only static members that did not rejoin are left: Kafka waits
         * another rebalance timeout for their sessions to run out */
        grp->initial_delay = false;
        grp->join_deadline_ms = now + group_rebalance_timeout(grp);
        return;
    }
    grp->join_deadline_ms = INT64_MAX;
    grp->initial_delay = false;
    grp->generation++;
    kafka_free(grp->protocol_name);
    grp->protocol_name = NULL;
    if (grp->n_members == 0) {
        set_leader(grp, NULL);
        grp->state = KMOCK_EMPTY;
        return;
    }
    /* a leader that left or did not rejoin hands over to one that did */
    kmock_member *leader = NULL;
    for (size_t i = 0; i < grp->n_members; i++)
        if (is_leader(grp, grp->members[i]) && grp->members[i]->join.active)
            leader = grp->members[i];
    for (size_t i = 0; !leader && i < grp->n_members; i++)
        if (grp->members[i]->join.active)
            leader = grp->members[i];
    if (!leader)
        leader = grp->members[0];
    set_leader(grp, leader->id);
    const char *proto = select_protocol(grp);
    grp->protocol_name = proto ? kafka_strdup(proto) : NULL;
    grp->state = KMOCK_COMPLETING_REBALANCE;
    grp->sync_deadline_ms = now + group_rebalance_timeout(grp);
    for (size_t i = 0; i < grp->n_members; i++) {
        kmock_member *m = grp->members[i];
        m->synced = false;
        m->is_new = false;
        m->last_heartbeat_ms = now;
        join_result jr = {.member_id = m->id, .with_members = m == leader};
        join_reply_deferred(grp, m, &jr);
    }
    (void)g;
}

static bool all_members_joined(const kmock_group *grp)
{
    if (grp->n_pending)
        return false;
    for (size_t i = 0; i < grp->n_members; i++)
        if (!grp->members[i]->join.active)
            return false;
    return true;
}

static void try_complete_join(kmock_groups *g, kmock_group *grp, int64_t now)
{
    if (grp->state == KMOCK_PREPARING_REBALANCE && !grp->initial_delay && all_members_joined(grp))
        complete_join(g, grp, now);
}

/* Kafka's maybePrepareRebalance followed by the purgatory check. */
static void maybe_rebalance(kmock_groups *g, kmock_group *grp, int64_t now)
{
    if (grp->state == KMOCK_STABLE || grp->state == KMOCK_COMPLETING_REBALANCE || grp->state == KMOCK_EMPTY)
        prepare_rebalance(g, grp, now);
    try_complete_join(g, grp, now);
}

static void hold_join(kmock_member *m, const kmock_req *rq)
{
    m->join = rq->w;
    m->join.active = true;
}

/* ---- member removal ------------------------------------------------------ */

size_t kmock_pending_find(kmock_group *grp, kafka_str id)
{
    for (size_t i = 0; i < grp->n_pending; i++)
        if (kmock_streq(grp->pending[i].id, id))
            return i;
    return SIZE_MAX;
}

void kmock_remove_pending(kmock_groups *g, kmock_group *grp, size_t idx, int64_t now)
{
    kafka_free(grp->pending[idx].id);
    memmove(&grp->pending[idx], &grp->pending[idx + 1], (grp->n_pending - idx - 1) * sizeof *grp->pending);
    grp->n_pending--;
    try_complete_join(g, grp, now);
}

static void detach_member(kmock_group *grp, kmock_member *m)
{
    for (size_t i = 0; i < grp->n_members; i++) {
        if (grp->members[i] == m) {
            memmove(&grp->members[i], &grp->members[i + 1], (grp->n_members - i - 1) * sizeof *grp->members);
            grp->n_members--;
            break;
        }
    }
    if (is_leader(grp, m))
        set_leader(grp, grp->n_members ? grp->members[0]->id : NULL);
}

void kmock_remove_member(kmock_groups *g, kmock_group *grp, kmock_member *m, int64_t now)
{
    join_result jr = {.error = KAFKA_ERR_UNKNOWN_MEMBER_ID, .member_id = m->id};
    join_reply_deferred(grp, m, &jr);
    sync_error_deferred(m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    detach_member(grp, m);
    kmock_member_free(m);
    if (grp->state == KMOCK_STABLE || grp->state == KMOCK_COMPLETING_REBALANCE)
        maybe_rebalance(g, grp, now);
    else
        try_complete_join(g, grp, now);
}

/* ---- timers ------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Kafka's MemberMetadata.shouldKeepAlive, as a deadline. */
static int64_t member_deadline(const kmock_member *m)
{
    if (m->join.active)
        return m->is_new ? m->last_heartbeat_ms + KMOCK_NEW_MEMBER_JOIN_TIMEOUT_MS : INT64_MAX;
    if (m->sync.active)
        return INT64_MAX;
    return m->last_heartbeat_ms + m->session_timeout_ms;
}

int64_t kmock_group_tick(kmock_groups *g, kmock_group *grp, int64_t now)
{
    for (size_t i = grp->n_pending; i-- > 0;)
        if (grp->pending[i].deadline_ms <= now)
            kmock_remove_pending(g, grp, i, now);
    for (size_t i = grp->n_members; i-- > 0;) {
        if (i >= grp->n_members)
            continue;
        kmock_member *m = grp->members[i];
        if (member_deadline(m) <= now)
            kmock_remove_member(g, grp, m, now);
    }
    if (grp->state == KMOCK_PREPARING_REBALANCE && grp->join_deadline_ms <= now) {
        if (grp->initial_delay && grp->new_member_added && grp->delay_remaining_ms > 0) {
            int32_t delay = g->cfg.initial_rebalance_delay_ms;
            int32_t step = delay < grp->delay_remaining_ms ? delay : grp->delay_remaining_ms;
            grp->new_member_added = false;
            grp->delay_remaining_ms -= step;
            grp->join_deadline_ms = now + step;
        } else {
            complete_join(g, grp, now);
        }
    }
    if ((grp->state == KMOCK_COMPLETING_REBALANCE || grp->state == KMOCK_STABLE) && grp->sync_deadline_ms <= now) {
        /* Kafka's pending-sync timeout: members that never synced go */
        grp->sync_deadline_ms = INT64_MAX;
        for (size_t i = grp->n_members; i-- > 0;) {
            if (i >= grp->n_members)
                continue;
            if (!grp->members[i]->synced)
                kmock_remove_member(g, grp, grp->members[i], now);
        }
    }
    int64_t next = INT64_MAX;
    if (grp->state == KMOCK_PREPARING_REBALANCE)
        next = grp->join_deadline_ms;
    if (grp->state == KMOCK_COMPLETING_REBALANCE || grp->state == KMOCK_STABLE)
        next = grp->sync_deadline_ms;
    for (size_t i = 0; i < grp->n_pending; i++)
        next = min64(next, grp->pending[i].deadline_ms);
    for (size_t i = 0; i < grp->n_members; i++)
        next = min64(next, member_deadline(grp->members[i]));
    return next;
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
        set_leader(grp, m->id);
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
    hold_join(m, rq);
    maybe_rebalance(g, grp, rq->now);
    return m->join.active ? 0 : 1;
}

/* The member's JoinGroup either waits for the rebalance or, if that
 * completed at once, was answered. */
static int update_member_and_rebalance(kmock_groups *g, kmock_group *grp, kmock_member *m, kmock_req *rq,
                                       const kafka_join_group_request *req)
{
    if (!member_update(g, m, req))
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    hold_join(m, rq);
    m->last_heartbeat_ms = rq->now;
    maybe_rebalance(g, grp, rq->now);
    return m->join.active ? 0 : 1;
}

/* A static member rejoining with an unknown member id: Kafka's
 * updateStaticMemberAndRebalance. The old member id is fenced. */
static int replace_static_member(kmock_groups *g, kmock_group *grp, kmock_member *m, kmock_req *rq, char *new_id,
                                 const kafka_join_group_request *req)
{
    join_result fenced = {.error = KAFKA_ERR_FENCED_INSTANCE_ID, .member_id = m->id};
    join_reply_deferred(grp, m, &fenced);
    sync_error_deferred(m, KAFKA_ERR_FENCED_INSTANCE_ID);
    bool was_leader = is_leader(grp, m);
    char *old_id = m->id;
    m->id = new_id;
    if (was_leader)
        set_leader(grp, new_id);
    if (!member_update(g, m, req)) {
        kafka_free(old_id);
        return join_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
    }
    m->last_heartbeat_ms = rq->now;
    int rc;
    const char *next_protocol = grp->state == KMOCK_STABLE ? select_protocol(grp) : NULL;
    if (grp->state == KMOCK_STABLE && next_protocol && grp->protocol_name &&
        strcmp(next_protocol, grp->protocol_name) == 0) {
        /* no rebalance: the member carries on with its assignment. Before
         * v9 a rejoining leader is told the old leader id so that it does
         * not run a pointless assignment (KIP-345); v9 tells it to skip
         * the assignment instead (KIP-814). */
        bool v9 = rq->version >= 9;
        join_result jr = {.member_id = new_id,
                          .with_members = was_leader && v9,
                          .leader = was_leader && !v9 ? old_id : NULL,
                          .skip_assignment = was_leader && v9};
        rc = join_reply_now(grp, rq, &jr);
    } else {
        hold_join(m, rq);
        maybe_rebalance(g, grp, rq->now);
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
        memmove(&grp->pending[pi], &grp->pending[pi + 1], (grp->n_pending - pi - 1) * sizeof *grp->pending);
        grp->n_pending--;
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
            join_result jr = {.member_id = m->id, .with_members = is_leader(grp, m)};
            return join_reply_now(grp, rq, &jr);
        }
        return update_member_and_rebalance(g, grp, m, rq, req);
    case KMOCK_STABLE:
        if (is_leader(grp, m) || !protocols_match(m, req))
            return update_member_and_rebalance(g, grp, m, rq, req);
        {
            join_result jr = {.member_id = m->id};
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

static void sync_error_deferred(kmock_member *m, int16_t err) { kmock_sync_reply_deferred(NULL, m, err); }
