/*
 * Mock group coordinator: the classic rebalance engine (Kafka's
 * GroupCoordinator prepareRebalance / onCompleteJoin, the delayed joins,
 * member removal, and the session, sync and member-id handshake timers).
 *
 * A rebalance: the group goes to PreparingRebalance and every member's
 * JoinGroup is held (deferred) until all known members have rejoined and no
 * member-id handshake is outstanding, or the rebalance timeout (the
 * largest of the members') expires; a group that was Empty instead waits
 * the initial rebalance delay, extended while new members keep arriving.
 * Then dynamic members that did not rejoin are dropped, the generation is
 * bumped, a protocol is chosen by vote, and every held JoinGroup is
 * answered: the leader's with all members' metadata.
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

bool kmock_supported_by_all(const kmock_group *grp, kafka_str name)
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

const char *kmock_select_protocol(const kmock_group *grp)
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
        if (!kmock_supported_by_all(grp, kmock_str(cand)))
            continue;
        size_t votes = 0;
        for (size_t i = 0; i < grp->n_members; i++) {
            const kmock_member *m = grp->members[i];
            for (size_t p = 0; p < m->n_protocols; p++) {
                const char *name = m->protocols[p].name;
                if (kmock_supported_by_all(grp, kmock_str(name))) {
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

/* ---- answering JoinGroup ------------------------------------------------- */

void kmock_join_response(const kmock_group *grp, int16_t version, kafka_arena *arena, const kmock_join_result *jr,
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
    resp->members = kafka_arena_calloc(arena, grp->n_members, sizeof *resp->members);
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

/* Answers a held JoinGroup of `m`. */
void kmock_join_reply_deferred(const kmock_group *grp, kmock_member *m, const kmock_join_result *jr)
{
    if (!m->join.active)
        return;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_join_group_response resp;
    kmock_join_response(grp, m->join.version, &arena, jr, &resp);
    kmock_send_deferred(&m->join, &kafka_join_group_response_msg, &resp);
    kafka_arena_free(&arena);
}

static void sync_error_deferred(kmock_member *m, int16_t err) { kmock_sync_reply_deferred(NULL, m, err); }

/* ---- the rebalance engine ------------------------------------------------ */

static int32_t group_rebalance_timeout(const kmock_group *grp)
{
    int32_t t = 0;
    for (size_t i = 0; i < grp->n_members; i++)
        if (grp->members[i]->rebalance_timeout_ms > t)
            t = grp->members[i]->rebalance_timeout_ms;
    return t;
}

void kmock_set_leader(kmock_group *grp, const char *id)
{
    char *copy = id ? kafka_strdup(id) : NULL;
    kafka_free(grp->leader_id);
    grp->leader_id = copy;
}

bool kmock_is_leader(const kmock_group *grp, const kmock_member *m)
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
        /* Kafka waits the whole delay even past the rebalance timeout */
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
            kmock_array_remove(grp->members, &grp->n_members, i, sizeof *grp->members);
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
        kmock_set_leader(grp, NULL);
        grp->state = KMOCK_EMPTY;
        return;
    }
    /* a leader that left or did not rejoin hands over to one that did */
    kmock_member *leader = NULL;
    for (size_t i = 0; i < grp->n_members; i++)
        if (kmock_is_leader(grp, grp->members[i]) && grp->members[i]->join.active)
            leader = grp->members[i];
    for (size_t i = 0; !leader && i < grp->n_members; i++)
        if (grp->members[i]->join.active)
            leader = grp->members[i];
    if (!leader)
        leader = grp->members[0];
    kmock_set_leader(grp, leader->id);
    const char *proto = kmock_select_protocol(grp);
    grp->protocol_name = proto ? kafka_strdup(proto) : NULL;
    grp->state = KMOCK_COMPLETING_REBALANCE;
    grp->sync_deadline_ms = now + group_rebalance_timeout(grp);
    for (size_t i = 0; i < grp->n_members; i++) {
        kmock_member *m = grp->members[i];
        m->synced = false;
        m->is_new = false;
        m->last_heartbeat_ms = now;
        kmock_join_result jr = {.member_id = m->id, .with_members = m == leader};
        kmock_join_reply_deferred(grp, m, &jr);
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
void kmock_maybe_rebalance(kmock_groups *g, kmock_group *grp, int64_t now)
{
    if (grp->state == KMOCK_STABLE || grp->state == KMOCK_COMPLETING_REBALANCE || grp->state == KMOCK_EMPTY)
        prepare_rebalance(g, grp, now);
    try_complete_join(g, grp, now);
}

void kmock_hold_join(kmock_member *m, const kmock_req *rq)
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
    kmock_array_remove(grp->pending, &grp->n_pending, idx, sizeof *grp->pending);
    try_complete_join(g, grp, now);
}

static void detach_member(kmock_group *grp, kmock_member *m)
{
    for (size_t i = 0; i < grp->n_members; i++) {
        if (grp->members[i] == m) {
            kmock_array_remove(grp->members, &grp->n_members, i, sizeof *grp->members);
            break;
        }
    }
    if (kmock_is_leader(grp, m))
        kmock_set_leader(grp, grp->n_members ? grp->members[0]->id : NULL);
}

void kmock_remove_member(kmock_groups *g, kmock_group *grp, kmock_member *m, int64_t now)
{
    /* Kafka answers with the unknown member id (""): the client rejoins afresh */
    kmock_join_result jr = {.error = KAFKA_ERR_UNKNOWN_MEMBER_ID, .member_id = ""};
    kmock_join_reply_deferred(grp, m, &jr);
    sync_error_deferred(m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    detach_member(grp, m);
    kmock_member_free(m);
    if (grp->state == KMOCK_STABLE || grp->state == KMOCK_COMPLETING_REBALANCE)
        kmock_maybe_rebalance(g, grp, now);
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

