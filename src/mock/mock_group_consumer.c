/*
 * Mock group coordinator: KIP-848 consumer groups, ConsumerGroupHeartbeat
 * (Kafka's GroupMetadataManager.consumerGroupHeartbeat and
 * CurrentAssignmentBuilder) and the member checks OffsetCommit and
 * OffsetFetch apply to them. See mock_group_consumer.h for the model.
 *
 * Simplifications, stated: the group epoch moves on every subscription or
 * topic change at once (no metadata refresh interval); the heartbeat
 * interval and session timeout are Kafka's defaults (5 s, 45 s); a
 * classic group with members and a consumer group with members do not
 * convert into each other (JoinGroup gets INCONSISTENT_GROUP_PROTOCOL, a
 * heartbeat GROUP_ID_NOT_FOUND); an empty one converts.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_consumer.h"
#include "protocol/gen/consumer_group_heartbeat.h"

/* ---- members -------------------------------------------------------------- */

static void free_topics(kmock_cmember *m)
{
    for (size_t i = 0; i < m->n_topics; i++)
        kafka_free(m->topics[i]);
    kafka_free(m->topics);
    m->topics = NULL;
    m->n_topics = 0;
}

static void free_regex(kmock_cmember *m)
{
    if (m->regex)
        regfree(&m->re);
    kafka_free(m->regex);
    m->regex = NULL;
}

static void cmember_free(kmock_cmember *m)
{
    free_topics(m);
    free_regex(m);
    kmock_tps_free(&m->assigned);
    kmock_tps_free(&m->revoking);
    kmock_tps_free(&m->target);
    kafka_free(m->id);
    kafka_free(m->instance_id);
    kafka_free(m->rack_id);
    kafka_free(m->client_id);
    kafka_free(m->client_host);
    kafka_free(m->assignor);
    kafka_free(m);
}

void kmock_cgroup_free(kmock_cgroup *cg)
{
    if (!cg)
        return;
    for (size_t i = 0; i < cg->n_members; i++)
        cmember_free(cg->members[i]);
    kafka_free(cg->members);
    for (size_t i = 0; i < cg->n_meta; i++)
        kafka_free(cg->meta[i].name);
    kafka_free(cg->meta);
    kafka_free(cg->assignor);
    kafka_free(cg);
}

bool kmock_cgroup_has_members(const kmock_cgroup *cg) { return cg && cg->n_members > 0; }

static kmock_cmember *cmember_find(const kmock_cgroup *cg, kafka_str id)
{
    for (size_t i = 0; cg && i < cg->n_members; i++)
        if (kmock_streq(cg->members[i]->id, id))
            return cg->members[i];
    return NULL;
}

static kmock_cmember *cmember_by_instance(const kmock_cgroup *cg, kafka_str instance_id)
{
    for (size_t i = 0; instance_id.len >= 0 && i < cg->n_members; i++)
        if (kmock_streq(cg->members[i]->instance_id, instance_id))
            return cg->members[i];
    return NULL;
}

static void cmember_remove(kmock_cgroup *cg, kmock_cmember *m)
{
    for (size_t i = 0; i < cg->n_members; i++) {
        if (cg->members[i] == m) {
            kmock_array_remove(cg->members, &cg->n_members, i, sizeof *cg->members);
            break;
        }
    }
    cmember_free(m);
    cg->group_epoch++;
}

const char *kmock_cgroup_state(const kmock_cgroup *cg)
{
    if (cg->n_members == 0)
        return "Empty";
    if (cg->group_epoch > cg->assignment_epoch)
        return "Assigning";
    for (size_t i = 0; i < cg->n_members; i++) {
        const kmock_cmember *m = cg->members[i];
        if (m->state != KMOCK_CM_STABLE || m->epoch != cg->assignment_epoch) /* Kafka's isReconciledTo */
            return "Reconciling";
    }
    return "Stable";
}

bool kmock_cgroup_subscribes(const kmock_cgroup *cg, kafka_str topic)
{
    char name[256];
    if (topic.len < 0 || (size_t)topic.len >= sizeof name)
        return false; /* longer than any legal topic name (249) */
    memcpy(name, topic.ptr, (size_t)topic.len);
    name[topic.len] = '\0';
    for (size_t i = 0; i < cg->n_members; i++)
        if (kmock_cmember_subscribes(cg->members[i], name))
            return true;
    return false;
}

/* Kafka's ConsumerGroup.validateMemberEpoch for offset APIs. */
static int16_t validate_epoch(const kmock_cgroup *cg, kafka_str member_id, int32_t epoch)
{
    const kmock_cmember *m = cmember_find(cg, member_id);
    if (!m)
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    return epoch != m->epoch ? KAFKA_ERR_STALE_MEMBER_EPOCH : 0;
}

int16_t kmock_cgroup_validate_commit(const kmock_cgroup *cg, kafka_str member_id, kafka_str instance_id, int32_t epoch,
                                     bool transactional, int16_t version)
{
    if (epoch < 0 && cg->n_members == 0)
        return 0; /* admin client or manual assignment into an empty group */
    if (transactional && epoch == -1 && member_id.len <= 0 && instance_id.len < 0)
        return 0; /* TxnOffsetCommit before v3 names no member */
    if (!cmember_find(cg, member_id))
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    if (!transactional && version < 9) /* members of the new protocol commit with v9+ */
        return KAFKA_ERR_UNSUPPORTED_VERSION;
    return validate_epoch(cg, member_id, epoch);
}

int16_t kmock_cgroup_validate_fetch(const kmock_cgroup *cg, kafka_str member_id, int32_t epoch)
{
    if (epoch < 0 && member_id.len < 0)
        return 0;
    return validate_epoch(cg, member_id, epoch);
}

/* ---- ConsumerGroupHeartbeat ------------------------------------------------------ */

typedef kafka_consumer_group_heartbeat_request cgh_req;
typedef kafka_consumer_group_heartbeat_response cgh_resp;

static int cgh_error(kmock_req *rq, int16_t err, const char *message)
{
    cgh_resp resp;
    kafka_consumer_group_heartbeat_response_init(&resp);
    resp.error_code = err;
    resp.error_message = kafka_str_c(message);
    return kmock_send(&rq->w, &kafka_consumer_group_heartbeat_response_msg, &resp);
}

/* The request's owned partitions as a set (NULL when it sent none). */
static bool owned_set(const cgh_req *req, kmock_tps *out, const kmock_tps **view)
{
    *view = NULL;
    if (req->topic_partitions_count < 0)
        return true;
    for (int32_t t = 0; t < req->topic_partitions_count; t++)
        for (int32_t p = 0; p < req->topic_partitions[t].partitions_count; p++)
            if (!kmock_tps_add(out, &req->topic_partitions[t].topic_id, req->topic_partitions[t].partitions[p]))
                return false;
    *view = out;
    return true;
}

/* Compiles a subscription pattern the way Java's Pattern.matches applies
 * it: to the whole topic name. false = not a valid (POSIX extended)
 * expression, or out of memory. */
static bool compile_pattern(const char *raw, regex_t *re)
{
    size_t n = strlen(raw) + 5;
    char *anchored = kafka_malloc(n);
    if (!anchored)
        return false;
    snprintf(anchored, n, "^(%s)$", raw);
    bool ok = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB) == 0;
    kafka_free(anchored);
    return ok;
}

static bool regex_compiles(kafka_str pattern)
{
    char *raw = kmock_strdup_str(pattern);
    regex_t re;
    bool ok = raw && compile_pattern(raw, &re);
    if (ok)
        regfree(&re);
    kafka_free(raw);
    return ok;
}

/* Applies the subscription fields the request carries (null = unchanged);
 * *changed when they differ. false = out of memory. */
static bool set_subscription(kmock_cmember *m, const cgh_req *req, bool *changed)
{
    if (req->subscribed_topic_names_count >= 0) {
        bool same = (size_t)req->subscribed_topic_names_count == m->n_topics;
        for (size_t i = 0; same && i < m->n_topics; i++)
            same = kmock_streq(m->topics[i], req->subscribed_topic_names[i]);
        if (!same) {
            size_t n = (size_t)req->subscribed_topic_names_count;
            char **topics = kafka_calloc(n ? n : 1, sizeof *topics);
            if (!topics)
                return false;
            for (size_t i = 0; i < n; i++) {
                kafka_str s = req->subscribed_topic_names[i];
                if (!(topics[i] = kmock_strdup_str(s.len < 0 ? kafka_str_c("") : s))) {
                    for (size_t k = 0; k < i; k++)
                        kafka_free(topics[k]);
                    kafka_free(topics);
                    return false;
                }
            }
            free_topics(m);
            m->topics = topics;
            m->n_topics = n;
            *changed = true;
        }
    }
    if (req->subscribed_topic_regex.len >= 0 && !kmock_streq(m->regex, req->subscribed_topic_regex)) {
        free_regex(m);
        *changed = true;
        if (req->subscribed_topic_regex.len == 0)
            return true; /* "" clears the pattern */
        char *raw = kmock_strdup_str(req->subscribed_topic_regex);
        if (!raw || !compile_pattern(raw, &m->re)) { /* it compiled in the check */
            kafka_free(raw);
            return false;
        }
        m->regex = raw;
    }
    return true;
}

static bool set_str(char **field, kafka_str s)
{
    if (s.len < 0)
        return true;
    char *c = kmock_strdup_str(s);
    if (!c)
        return false;
    kafka_free(*field);
    *field = c;
    return true;
}

/* Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, plus the mock's
 * own bounds. */
static const char *invalid_request(const cgh_req *req, int16_t version)
{
    /* v1+ (KIP-1082): the client makes its member id, even to join */
    if ((version >= 1 || req->member_epoch > 0 || req->member_epoch == -1) && req->member_id.len == 0)
        return "MemberId can't be empty.";
    if (req->group_id.len == 0)
        return "GroupId can't be empty.";
    if (req->instance_id.len == 0)
        return "InstanceId can't be empty.";
    if (req->rack_id.len == 0)
        return "RackId can't be empty.";
    if (req->member_epoch == 0) {
        if (req->rebalance_timeout_ms == -1)
            return "RebalanceTimeoutMs must be provided in first request.";
        if (req->topic_partitions_count != 0)
            return "TopicPartitions must be empty when (re-)joining.";
        if (req->subscribed_topic_names_count < 0 && req->subscribed_topic_regex.len < 0)
            return "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.";
    } else if (req->member_epoch == -2) {
        if (req->instance_id.len < 0)
            return "InstanceId can't be null.";
    } else if (req->member_epoch < -2) {
        return "MemberEpoch is invalid.";
    }
    if (req->group_id.len < 0 || req->member_id.len < 0)
        return "GroupId and MemberId can't be null."; /* the schema says non-null */
    if (req->subscribed_topic_names_count > KMOCK_CONSUMER_MAX_SUBSCRIBED_TOPICS)
        return "kafka_mock: too many subscribed topics.";
    if (req->subscribed_topic_regex.len > 0 && !regex_compiles(req->subscribed_topic_regex))
        return "SubscribedTopicRegex is not a valid regular expression.";
    return NULL;
}

/* Finds the group for a join, creating it or converting an empty classic
 * group; *err on failure. */
static kmock_group *group_for_join(kmock_groups *g, kafka_str id, int16_t *err)
{
    kmock_group *grp = kmock_group_get_or_create(g, id, err);
    if (!grp || grp->cg)
        return grp;
    if (grp->n_members > 0 || grp->n_pending > 0 || grp->state == KMOCK_DEAD) {
        *err = KAFKA_ERR_GROUP_ID_NOT_FOUND; /* "not a consumer group" */
        return NULL;
    }
    grp->cg = kafka_calloc(1, sizeof *grp->cg);
    if (!grp->cg)
        *err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    return grp->cg ? grp : NULL;
}

static kmock_cmember *cmember_new(kmock_groups *g, kmock_cgroup *cg, kafka_str id)
{
    if (cg->n_members >= KMOCK_GROUP_MAX_MEMBERS ||
        !kafka_array_reserve((void **)&cg->members, &cg->cap_members, cg->n_members + 1, sizeof *cg->members, 4))
        return NULL;
    kmock_cmember *m = kafka_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = id.len > 0 ? kmock_strdup_str(id) : kmock_new_member_id(g);
    if (!m->id) {
        kafka_free(m);
        return NULL;
    }
    m->revoke_deadline_ms = INT64_MAX;
    cg->members[cg->n_members++] = m;
    return m;
}

/* Kafka's consumerGroupLeave: -1 leaves for good, -2 is a static member
 * going away for a while (its partitions wait for it). */
static int leave(kmock_groups *g, kmock_req *rq, const cgh_req *req)
{
    kmock_group *grp = kmock_group_find(g, req->group_id);
    if (!grp || !grp->cg)
        return cgh_error(rq, KAFKA_ERR_GROUP_ID_NOT_FOUND, NULL);
    kmock_cmember *m;
    if (req->instance_id.len < 0) {
        if (!(m = cmember_find(grp->cg, req->member_id)))
            return cgh_error(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID, NULL);
    } else {
        if (!(m = cmember_by_instance(grp->cg, req->instance_id)))
            return cgh_error(rq, KAFKA_ERR_UNKNOWN_MEMBER_ID, NULL);
        if (!kmock_streq(m->id, req->member_id))
            return cgh_error(rq, KAFKA_ERR_FENCED_INSTANCE_ID, NULL);
    }
    if (req->member_epoch == -2 && m->instance_id) {
        m->previous_epoch = m->epoch;
        m->epoch = -2;
        m->last_heartbeat_ms = rq->now;
    } else {
        cmember_remove(grp->cg, m);
    }
    cgh_resp resp;
    kafka_consumer_group_heartbeat_response_init(&resp);
    resp.member_id = req->member_id;
    resp.member_epoch = req->member_epoch;
    return kmock_send(&rq->w, &kafka_consumer_group_heartbeat_response_msg, &resp);
}

/* The member this heartbeat is from, created or taken over on a join;
 * *err when it is not acceptable. */
static kmock_cmember *heartbeat_member(kmock_groups *g, kmock_cgroup *cg, const cgh_req *req, const kmock_tps *owned,
                                       int16_t *err)
{
    *err = 0;
    kmock_cmember *m = req->member_id.len > 0 ? cmember_find(cg, req->member_id) : NULL;
    kmock_cmember *st = cmember_by_instance(cg, req->instance_id); /* NULL when no instance id */
    if (req->member_epoch > 0) {
        if (req->instance_id.len >= 0 && (!st || st != m))
            *err = st ? KAFKA_ERR_FENCED_INSTANCE_ID : KAFKA_ERR_UNKNOWN_MEMBER_ID;
        else if (!m)
            *err = KAFKA_ERR_UNKNOWN_MEMBER_ID;
        else if (req->member_epoch > m->epoch)
            *err = KAFKA_ERR_FENCED_MEMBER_EPOCH;
        else if (req->member_epoch < m->epoch) {
            /* a lost response: the previous epoch with a subset of the
             * current assignment is still fine; a heartbeat that does not
             * say what it owns cannot show that (Kafka's isSubset(null)) */
            bool subset = owned != NULL;
            for (size_t i = 0; owned && i < owned->n; i++)
                subset &= kmock_tps_has(&m->assigned, &owned->v[i].topic, owned->v[i].partition);
            if (req->member_epoch != m->previous_epoch || !subset)
                *err = KAFKA_ERR_FENCED_MEMBER_EPOCH;
        }
        return *err ? NULL : m;
    }
    /* epoch 0: (re)join */
    if (st) {
        /* an instance id is released only by leaving with epoch -2 */
        if (st->epoch != -2 || (m && m != st)) {
            *err = KAFKA_ERR_UNRELEASED_INSTANCE_ID;
            return NULL;
        }
        /* the static member is back, maybe under a new id: same partitions */
        char *id = req->member_id.len > 0 ? kmock_strdup_str(req->member_id) : kmock_new_member_id(g);
        if (!id) {
            *err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
            return NULL;
        }
        kafka_free(st->id);
        st->id = id;
        st->epoch = st->previous_epoch;
        return st;
    }
    if (!m && !(m = cmember_new(g, cg, req->member_id)))
        *err = cg->n_members >= KMOCK_GROUP_MAX_MEMBERS ? KAFKA_ERR_GROUP_MAX_SIZE_REACHED
                                                        : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    return m;
}

/* Converts the member's assignment into the response's topic list. */
static bool response_assignment(const kmock_cmember *m, kafka_arena *arena, cgh_resp *resp)
{
    kafka_consumer_group_heartbeat_response_topic_partitions *tps =
        kafka_arena_calloc(arena, m->assigned.n, sizeof *tps);
    int32_t *parts = kafka_arena_calloc(arena, m->assigned.n, sizeof *parts);
    if (!tps || !parts)
        return false;
    int32_t nt = 0;
    for (size_t i = 0; i < m->assigned.n; i++) {
        const kmock_tp *tp = &m->assigned.v[i];
        if (nt == 0 || memcmp(tps[nt - 1].topic_id.b, tp->topic.b, 16) != 0) {
            tps[nt].topic_id = tp->topic;
            tps[nt].partitions = &parts[i];
            nt++;
        }
        parts[i] = tp->partition;
        tps[nt - 1].partitions_count++;
    }
    kafka_consumer_group_heartbeat_response_assignment_init(&resp->assignment);
    resp->assignment.topic_partitions = tps;
    resp->assignment.topic_partitions_count = nt;
    resp->assignment_present = true;
    return true;
}

int kmock_handle_consumer_heartbeat(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    cgh_req req;
    if (kafka_gen_decode(r, rq->arena, &kafka_consumer_group_heartbeat_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    if (!g->topics)
        return cgh_error(rq, KAFKA_ERR_UNSUPPORTED_VERSION, "kafka_mock: consumer groups need the topic list");
    const char *why = invalid_request(&req, rq->version);
    if (why)
        return cgh_error(rq, KAFKA_ERR_INVALID_REQUEST, why);
    if (req.server_assignor.len >= 0 && !kmock_assignor_known(req.server_assignor))
        return cgh_error(rq, KAFKA_ERR_UNSUPPORTED_ASSIGNOR, "the mock has the uniform and range assignors");
    if (req.member_epoch < 0)
        return leave(g, rq, &req);

    int16_t err = 0;
    kmock_group *grp = req.member_epoch == 0 ? group_for_join(g, req.group_id, &err) : kmock_group_find(g, req.group_id);
    if (!grp || !grp->cg)
        return cgh_error(rq, err ? err : KAFKA_ERR_GROUP_ID_NOT_FOUND, NULL);
    kmock_cgroup *cg = grp->cg;
    kmock_tps owned_buf = {0};
    const kmock_tps *owned;
    if (!owned_set(&req, &owned_buf, &owned)) {
        kmock_tps_free(&owned_buf);
        return cgh_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
    }
    size_t members_before = cg->n_members;
    kmock_cmember *m = heartbeat_member(g, cg, &req, owned, &err);
    bool changed = cg->n_members != members_before; /* a new member */
    kmock_tps before = {0};
    bool ok = true;
    if (m) {
        m->last_heartbeat_ms = rq->now;
        if (req.rebalance_timeout_ms >= 0)
            m->rebalance_timeout_ms = req.rebalance_timeout_ms;
        ok = set_str(&m->instance_id, req.instance_id) && set_str(&m->rack_id, req.rack_id) &&
             set_subscription(m, &req, &changed);
        if (ok && req.server_assignor.len >= 0 && !kmock_streq(m->assignor, req.server_assignor)) {
            ok = set_str(&m->assignor, req.server_assignor);
            changed = true;
        }
        if (ok && g->client_id)
            ok = set_str(&m->client_id, kafka_str_c(g->client_id)) &&
                 set_str(&m->client_host, kafka_str_c(g->client_host ? g->client_host : ""));
        for (size_t i = 0; ok && i < m->assigned.n; i++)
            ok = kmock_tps_add(&before, &m->assigned.v[i].topic, m->assigned.v[i].partition);
        ok = ok && !err && kmock_cgroup_refresh_metadata(g, cg, &changed);
        if (ok && changed) /* one bump for everything this heartbeat changed */
            cg->group_epoch++;
        ok = ok && kmock_cgroup_update_target(cg) && kmock_cmember_reconcile(cg, m, owned, rq->now);
    }
    kmock_tps_free(&owned_buf);
    if (!m || err || !ok) {
        kmock_tps_free(&before);
        return cgh_error(rq, err ? err : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
    }
    cgh_resp resp;
    kafka_consumer_group_heartbeat_response_init(&resp);
    resp.member_id = kafka_str_c(m->id);
    resp.member_epoch = m->epoch;
    resp.heartbeat_interval_ms = KMOCK_CONSUMER_HEARTBEAT_INTERVAL_MS;
    bool send_assignment = req.member_epoch == 0 || owned || !kmock_tps_equal(&before, &m->assigned);
    kmock_tps_free(&before);
    if (send_assignment && !response_assignment(m, rq->arena, &resp))
        return cgh_error(rq, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
    return kmock_send(&rq->w, &kafka_consumer_group_heartbeat_response_msg, &resp);
}

/* ---- timers ------------------------------------------------------------------- */

int64_t kmock_cgroup_tick(kmock_groups *g, kmock_group *grp, int64_t now)
{
    (void)g;
    kmock_cgroup *cg = grp->cg;
    int64_t next = INT64_MAX;
    for (size_t i = cg->n_members; i-- > 0;) {
        kmock_cmember *m = cg->members[i];
        int64_t session_end = m->last_heartbeat_ms + KMOCK_CONSUMER_SESSION_TIMEOUT_MS;
        int64_t deadline = session_end < m->revoke_deadline_ms ? session_end : m->revoke_deadline_ms;
        if (deadline <= now)
            cmember_remove(cg, m); /* session over, or never revoked: fenced */
        else if (deadline < next)
            next = deadline;
    }
    return next;
}
