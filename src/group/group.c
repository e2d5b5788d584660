/* Classic group membership and offset requests to the group coordinator. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_internal.h"
#include "cluster/cluster_util.h"
#include "group/group.h"
#include "protocol/gen/all.h"

KAFKA_CONN_ENCODER(join_group_request)
KAFKA_CONN_DECODER(join_group_response)

/* JoinGroup response that keeps its error code when the rest does not
 * decode: librdkafka's mock answers a refused JoinGroup v0-v6 with a null
 * ProtocolName (nullable only from v7), and the strict decoder would turn
 * GROUP_AUTHORIZATION_FAILED into a protocol error. ThrottleTimeMs (v2+)
 * and ErrorCode lead every version, before any tagged field. */
static kafka_err join_group_response_lenient_dec_(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)
{
    kafka_rbuf start = *r;
    kafka_err err = join_group_response_dec_(r, a, v, m);
    if (!err)
        return 0;
    kafka_rbuf head = start;
    kafka_join_group_response *resp = m;
    kafka_join_group_response_init(resp);
    if (v >= 2)
        resp->throttle_time_ms = kafka_get_i32(&head, "JoinGroupResponse.ThrottleTimeMs");
    resp->error_code = kafka_get_i16(&head, "JoinGroupResponse.ErrorCode");
    if (head.err || !resp->error_code)
        return err;
    *r = head;
    r->p = r->end; /* the rest is not read */
    return 0;
}
KAFKA_CONN_ENCODER(sync_group_request)
KAFKA_CONN_DECODER(sync_group_response)

/* SyncGroup v0-v3 response, tolerating a null Assignment: librdkafka's
 * mock broker sends one with an error code (e.g. REBALANCE_IN_PROGRESS),
 * and the strict generated decoder would turn that into a protocol error
 * that hides the code. Flexible versions go to the generated decoder. */
static kafka_err sync_group_response_lenient_dec_(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)
{
    if (v >= 4)
        return sync_group_response_dec_(r, a, v, m);
    kafka_sync_group_response *resp = m;
    kafka_sync_group_response_init(resp);
    if (v >= 1)
        resp->throttle_time_ms = kafka_get_i32(r, "SyncGroupResponse.ThrottleTimeMs");
    resp->error_code = kafka_get_i16(r, "SyncGroupResponse.ErrorCode");
    resp->assignment = kafka_get_bytes(r, true, "SyncGroupResponse.Assignment");
    if (resp->assignment.len < 0)
        resp->assignment = (kafka_bytes){NULL, 0};
    return r->err;
}
KAFKA_CONN_ENCODER(heartbeat_request)
KAFKA_CONN_DECODER(heartbeat_response)
KAFKA_CONN_ENCODER(leave_group_request)
KAFKA_CONN_DECODER(leave_group_response)
KAFKA_CONN_ENCODER(offset_commit_request)
KAFKA_CONN_DECODER(offset_commit_response)
KAFKA_CONN_ENCODER(offset_fetch_request)
KAFKA_CONN_DECODER(offset_fetch_response)

/* OffsetFetch v8+ and OffsetCommit v9+ reshape the request for KIP-848;
 * the classic protocol needs neither. */
#define OFFSET_FETCH_MAX 7
#define OFFSET_COMMIT_MAX 8

static kafka_err gerr(kafka_group *g, kafka_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static kafka_err gerr(kafka_group *g, kafka_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g->mu);
    vsnprintf(g->last_error, sizeof g->last_error, fmt, ap);
    pthread_mutex_unlock(&g->mu);
    va_end(ap);
    return err;
}

bool kafka_group_err_coordinator(kafka_err err)
{
    return err == KAFKA_ERR_NOT_COORDINATOR || err == KAFKA_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_CLOSED || err == KAFKA_ERR_TIMEOUT ||
           err == KAFKA_ERR_NO_BROKERS || err == KAFKA_ERR_NETWORK_EXCEPTION || err == KAFKA_ERR_PROTOCOL;
}

bool kafka_group_err_for_reader(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_REBALANCE_IN_PROGRESS:
    case KAFKA_ERR_ILLEGAL_GENERATION:
    case KAFKA_ERR_UNKNOWN_MEMBER_ID:
    case KAFKA_ERR_MEMBER_ID_REQUIRED:
    case KAFKA_ERR_INVALID_REQUEST:
    case KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        return false;
    default:
        return !kafka_group_err_coordinator(err) && kafka_cluster_err_for_reader(err);
    }
}

kafka_err kafka_group_init(kafka_group *g, kafka_cluster *kc, const char *group_id, const char *instance_id,
                           int32_t session_timeout_ms, int32_t rebalance_timeout_ms)
{
    memset(g, 0, sizeof *g);
    g->kc = kc;
    g->session_timeout_ms = session_timeout_ms;
    g->rebalance_timeout_ms = rebalance_timeout_ms;
    g->generation = -1;
    g->group_id = kafka_strdup(group_id);
    g->member_id = kafka_strdup("");
    g->instance_id = instance_id ? kafka_strdup(instance_id) : NULL;
    if (!g->group_id || !g->member_id || (instance_id && !g->instance_id)) {
        kafka_group_destroy(g);
        return KAFKA_ERR_NOMEM;
    }
    pthread_mutex_init(&g->mu, NULL);
    return 0;
}

void kafka_group_destroy(kafka_group *g)
{
    if (g->group_id)
        pthread_mutex_destroy(&g->mu);
    kafka_free(g->group_id);
    kafka_free(g->member_id);
    kafka_free(g->instance_id);
    memset(g, 0, sizeof *g);
}

/* Snapshot of the identity, for building a request without the lock. */
typedef struct ident {
    char member_id[256];
    int32_t generation;
} ident;

static void snapshot(kafka_group *g, ident *id)
{
    pthread_mutex_lock(&g->mu);
    snprintf(id->member_id, sizeof id->member_id, "%s", g->member_id);
    id->generation = g->generation;
    pthread_mutex_unlock(&g->mu);
}

static void set_member_id(kafka_group *g, kafka_str s)
{
    char *m = kafka_strndup(s.ptr ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
    if (!m)
        return;
    pthread_mutex_lock(&g->mu);
    kafka_free(g->member_id);
    g->member_id = m;
    pthread_mutex_unlock(&g->mu);
}

void kafka_group_reset_generation(kafka_group *g, bool forget_member_id)
{
    if (forget_member_id)
        set_member_id(g, kafka_str_c(""));
    pthread_mutex_lock(&g->mu);
    g->generation = -1;
    pthread_mutex_unlock(&g->mu);
}

int32_t kafka_group_generation(kafka_group *g)
{
    pthread_mutex_lock(&g->mu);
    int32_t gen = g->generation;
    pthread_mutex_unlock(&g->mu);
    return gen;
}

void kafka_group_last_error(kafka_group *g, char *buf, size_t len)
{
    if (!len)
        return;
    pthread_mutex_lock(&g->mu);
    snprintf(buf, len, "%s", g->last_error);
    pthread_mutex_unlock(&g->mu);
}

/* Borrows a connection to the coordinator. */
static kafka_err coord_acquire(kafka_group *g, int64_t deadline, kafka_conn **conn)
{
    int32_t broker = -1;
    kafka_err err = kafka_cluster_coordinator(g->kc, g->group_id, 0, deadline, &broker);
    if (err)
        return gerr(g, err, "find coordinator of group %s: %s", g->group_id, kafka_err_str(err));
    err = kafka_cluster_acquire(g->kc, broker, deadline, conn);
    if (err) {
        kafka_cluster_invalidate_coordinator(g->kc, g->group_id, 0);
        return gerr(g, err, "connect to coordinator %d of group %s: %s", broker, g->group_id, kafka_err_str(err));
    }
    kafka_cluster_conn_deadline(*conn, deadline);
    return 0;
}

/* Gives the conn back and forgets the coordinator after errors that say
 * it moved or cannot be reached. */
static kafka_err coord_done(kafka_group *g, kafka_conn *conn, kafka_err err, const char *what)
{
    /* Keep the conn's own explanation for client-side failures. */
    if (err && err < 0 && conn)
        gerr(g, err, "%s (group %s): %s: %s", what, g->group_id, kafka_err_str(err), kafka_conn_last_error(conn));
    else if (err)
        gerr(g, err, "%s (group %s): %s", what, g->group_id, kafka_err_str(err));
    if (conn)
        kafka_cluster_release(g->kc, conn, !kafka_cluster_err_breaks_conn(err));
    if (err && kafka_group_err_coordinator(err))
        kafka_cluster_invalidate_coordinator(g->kc, g->group_id, 0);
    return err;
}

static const char *arena_str(kafka_arena *a, kafka_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = kafka_arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s.ptr, n);
    return p;
}

static kafka_err join_once(kafka_group *g, const kafka_group_protocol *protos, size_t n, int64_t deadline,
                           kafka_arena *arena, kafka_group_join_result *out, kafka_str *new_member)
{
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_JOIN_GROUP, 0, INT16_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "join group");
    ident id;
    snapshot(g, &id);
    kafka_join_group_request_join_group_request_protocol *p = kafka_arena_calloc(arena, n ? n : 1, sizeof *p);
    if (!p)
        return coord_done(g, conn, KAFKA_ERR_NOMEM, "join group");
    for (size_t i = 0; i < n; i++) {
        kafka_join_group_request_join_group_request_protocol_init(&p[i]);
        p[i].name = kafka_str_c(protos[i].name);
        p[i].metadata = (kafka_bytes){protos[i].metadata, (int32_t)protos[i].metadata_len};
    }
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c(g->group_id);
    req.session_timeout_ms = g->session_timeout_ms;
    req.rebalance_timeout_ms = g->rebalance_timeout_ms;
    req.member_id = kafka_str_c(id.member_id);
    if (v >= 5) /* static membership needs JoinGroup v5 (KIP-345) */
        req.group_instance_id = kafka_str_c(g->instance_id);
    req.protocol_type = kafka_str_c(KAFKA_CONSUMER_PROTOCOL_TYPE);
    req.protocols = p;
    req.protocols_count = (int32_t)n;
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    err = kafka_conn_roundtrip(conn, KAFKA_API_JOIN_GROUP, v, join_group_request_enc_, &req,
                               join_group_response_lenient_dec_, &resp, arena, NULL);
    if (!err && resp.error_code) {
        err = kafka_err_from_wire(resp.error_code);
        *new_member = resp.member_id;
    }
    if (err)
        return coord_done(g, conn, err, "join group");
    memset(out, 0, sizeof *out);
    out->generation = resp.generation_id;
    out->protocol = arena_str(arena, resp.protocol_name);
    out->leader_id = arena_str(arena, resp.leader);
    out->is_leader = kafka_str_eq(resp.leader, resp.member_id);
    size_t nm = resp.members_count > 0 ? (size_t)resp.members_count : 0;
    out->member_ids = kafka_arena_calloc(arena, nm + 1, sizeof *out->member_ids);
    out->instance_ids = kafka_arena_calloc(arena, nm + 1, sizeof *out->instance_ids);
    out->metadata = kafka_arena_calloc(arena, nm + 1, sizeof *out->metadata);
    if (!out->protocol || !out->leader_id || !out->member_ids || !out->instance_ids || !out->metadata)
        return coord_done(g, conn, KAFKA_ERR_NOMEM, "join group");
    for (size_t i = 0; i < nm; i++) {
        out->member_ids[i] = arena_str(arena, resp.members[i].member_id);
        out->instance_ids[i] =
            resp.members[i].group_instance_id.len >= 0 ? arena_str(arena, resp.members[i].group_instance_id) : NULL;
        out->metadata[i] = resp.members[i].metadata;
        if (!out->member_ids[i])
            return coord_done(g, conn, KAFKA_ERR_NOMEM, "join group");
    }
    out->n_members = nm;
    set_member_id(g, resp.member_id);
    pthread_mutex_lock(&g->mu);
    g->generation = resp.generation_id;
    pthread_mutex_unlock(&g->mu);
    return coord_done(g, conn, 0, "join group");
}

kafka_err kafka_group_join(kafka_group *g, const kafka_group_protocol *protos, size_t n, int64_t deadline,
                           kafka_arena *arena, kafka_group_join_result *out)
{
    kafka_str member = KAFKA_STR_NULL;
    kafka_err err = join_once(g, protos, n, deadline, arena, out, &member);
    if (err == KAFKA_ERR_MEMBER_ID_REQUIRED && member.len > 0) {
        /* KIP-394: the broker hands out the id and wants it back. */
        set_member_id(g, member);
        err = join_once(g, protos, n, deadline, arena, out, &member);
    }
    if (err == KAFKA_ERR_UNKNOWN_MEMBER_ID || err == KAFKA_ERR_ILLEGAL_GENERATION)
        kafka_group_reset_generation(g, err == KAFKA_ERR_UNKNOWN_MEMBER_ID);
    return err;
}

kafka_err kafka_group_sync(kafka_group *g, const char *protocol, const char *const *member_ids,
                           const kafka_bytes *assignments, size_t n, int64_t deadline, kafka_arena *arena,
                           kafka_bytes *assignment)
{
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_SYNC_GROUP, 0, INT16_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "sync group");
    ident id;
    snapshot(g, &id);
    kafka_sync_group_request_sync_group_request_assignment *as = kafka_arena_calloc(arena, n ? n : 1, sizeof *as);
    if (!as)
        return coord_done(g, conn, KAFKA_ERR_NOMEM, "sync group");
    for (size_t i = 0; i < n; i++) {
        kafka_sync_group_request_sync_group_request_assignment_init(&as[i]);
        as[i].member_id = kafka_str_c(member_ids[i]);
        as[i].assignment = assignments[i];
    }
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c(g->group_id);
    req.generation_id = id.generation;
    req.member_id = kafka_str_c(id.member_id);
    if (v >= 3)
        req.group_instance_id = kafka_str_c(g->instance_id);
    req.protocol_type = kafka_str_c(KAFKA_CONSUMER_PROTOCOL_TYPE);
    req.protocol_name = kafka_str_c(protocol);
    req.assignments = as;
    req.assignments_count = (int32_t)n;
    kafka_sync_group_response resp;
    kafka_sync_group_response_init(&resp);
    err = kafka_conn_roundtrip(conn, KAFKA_API_SYNC_GROUP, v, sync_group_request_enc_, &req,
                               sync_group_response_lenient_dec_, &resp, arena, NULL);
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    if (!err)
        *assignment = resp.assignment;
    if (err == KAFKA_ERR_UNKNOWN_MEMBER_ID || err == KAFKA_ERR_ILLEGAL_GENERATION)
        kafka_group_reset_generation(g, err == KAFKA_ERR_UNKNOWN_MEMBER_ID);
    return coord_done(g, conn, err, "sync group");
}

kafka_err kafka_group_heartbeat(kafka_group *g, int64_t deadline)
{
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_HEARTBEAT, 0, INT16_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "heartbeat");
    ident id;
    snapshot(g, &id);
    kafka_heartbeat_request req;
    kafka_heartbeat_request_init(&req);
    req.group_id = kafka_str_c(g->group_id);
    req.generation_id = id.generation;
    req.member_id = kafka_str_c(id.member_id);
    if (v >= 3)
        req.group_instance_id = kafka_str_c(g->instance_id);
    kafka_heartbeat_response resp;
    kafka_heartbeat_response_init(&resp);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = kafka_conn_roundtrip(conn, KAFKA_API_HEARTBEAT, v, heartbeat_request_enc_, &req, heartbeat_response_dec_,
                               &resp, &arena, NULL);
    kafka_arena_free(&arena);
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    return coord_done(g, conn, err, "heartbeat");
}

kafka_err kafka_group_leave(kafka_group *g, int64_t deadline)
{
    ident id;
    snapshot(g, &id);
    kafka_group_reset_generation(g, true);
    if (!id.member_id[0])
        return 0;
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_LEAVE_GROUP, 0, INT16_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "leave group");
    kafka_leave_group_request_member_identity mi;
    kafka_leave_group_request_member_identity_init(&mi);
    mi.member_id = kafka_str_c(id.member_id);
    mi.group_instance_id = kafka_str_c(g->instance_id);
    mi.reason = kafka_str_c("the consumer is being closed");
    kafka_leave_group_request req;
    kafka_leave_group_request_init(&req);
    req.group_id = kafka_str_c(g->group_id);
    /* v0-2 name one member; v3+ take a list (the encoder refuses a field
     * the version lacks). */
    if (v < 3) {
        req.member_id = kafka_str_c(id.member_id);
    } else {
        req.members = &mi;
        req.members_count = 1;
    }
    kafka_leave_group_response resp;
    kafka_leave_group_response_init(&resp);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = kafka_conn_roundtrip(conn, KAFKA_API_LEAVE_GROUP, v, leave_group_request_enc_, &req,
                               leave_group_response_dec_, &resp, &arena, NULL);
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    for (int32_t i = 0; !err && i < resp.members_count; i++)
        if (resp.members[i].error_code)
            err = kafka_err_from_wire(resp.members[i].error_code);
    kafka_arena_free(&arena);
    return coord_done(g, conn, err, "leave group");
}

/* Groups offs by topic into request topics (offs need not be sorted). */
static kafka_err build_commit_topics(kafka_group_offset *offs, size_t n, kafka_arena *a,
                                     kafka_offset_commit_request_offset_commit_request_topic **out, int32_t *nt)
{
    kafka_offset_commit_request_offset_commit_request_topic *ts = kafka_arena_calloc(a, n ? n : 1, sizeof *ts);
    if (!ts)
        return KAFKA_ERR_NOMEM;
    int32_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t t = 0;
        while (t < count && !kafka_str_eq_c(ts[t].name, offs[i].topic))
            t++;
        if (t == count) {
            kafka_offset_commit_request_offset_commit_request_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(offs[i].topic);
            ts[t].partitions = kafka_arena_calloc(a, n, sizeof *ts[t].partitions);
            if (!ts[t].partitions)
                return KAFKA_ERR_NOMEM;
            count++;
        }
        kafka_offset_commit_request_offset_commit_request_partition *p = &ts[t].partitions[ts[t].partitions_count++];
        kafka_offset_commit_request_offset_commit_request_partition_init(p);
        p->partition_index = offs[i].partition;
        p->committed_offset = offs[i].offset;
        p->committed_metadata = kafka_str_c("");
    }
    *out = ts;
    *nt = count;
    return 0;
}

static kafka_group_offset *find_off(kafka_group_offset *offs, size_t n, kafka_str topic, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if (offs[i].partition == partition && kafka_str_eq_c(topic, offs[i].topic))
            return &offs[i];
    return NULL;
}

kafka_err kafka_group_commit(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline)
{
    if (n == 0)
        return 0;
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_OFFSET_COMMIT, 0, OFFSET_COMMIT_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "commit offsets");
    ident id;
    snapshot(g, &id);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c(g->group_id);
    req.generation_id_or_member_epoch = id.generation;
    req.member_id = kafka_str_c(id.member_id);
    if (v >= 7)
        req.group_instance_id = kafka_str_c(g->instance_id);
    err = build_commit_topics(offs, n, &arena, &req.topics, &req.topics_count);
    kafka_offset_commit_response resp;
    kafka_offset_commit_response_init(&resp);
    if (!err)
        err = kafka_conn_roundtrip(conn, KAFKA_API_OFFSET_COMMIT, v, offset_commit_request_enc_, &req,
                                   offset_commit_response_dec_, &resp, &arena, NULL);
    kafka_err first = err;
    for (size_t i = 0; i < n; i++)
        offs[i].err = err;
    for (int32_t t = 0; !err && t < resp.topics_count; t++)
        for (int32_t p = 0; p < resp.topics[t].partitions_count; p++) {
            kafka_group_offset *o =
                find_off(offs, n, resp.topics[t].name, resp.topics[t].partitions[p].partition_index);
            kafka_err e = kafka_err_from_wire(resp.topics[t].partitions[p].error_code);
            if (o)
                o->err = e;
            if (e && !first)
                first = e;
        }
    kafka_arena_free(&arena);
    if (first == KAFKA_ERR_UNKNOWN_MEMBER_ID || first == KAFKA_ERR_ILLEGAL_GENERATION)
        kafka_group_reset_generation(g, first == KAFKA_ERR_UNKNOWN_MEMBER_ID);
    coord_done(g, conn, err, "commit offsets");
    if (first && !err)
        gerr(g, first, "commit offsets (group %s): %s", g->group_id, kafka_err_str(first));
    return first;
}

kafka_err kafka_group_fetch_offsets(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline)
{
    if (n == 0)
        return 0;
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_OFFSET_FETCH, 1, OFFSET_FETCH_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "fetch committed offsets");
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_offset_fetch_request_offset_fetch_request_topic *ts = kafka_arena_calloc(&arena, n, sizeof *ts);
    int32_t nt = 0;
    for (size_t i = 0; ts && i < n; i++) {
        int32_t t = 0;
        while (t < nt && !kafka_str_eq_c(ts[t].name, offs[i].topic))
            t++;
        if (t == nt) {
            kafka_offset_fetch_request_offset_fetch_request_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(offs[i].topic);
            ts[t].partition_indexes = kafka_arena_calloc(&arena, n, sizeof(int32_t));
            if (!ts[t].partition_indexes) {
                ts = NULL;
                break;
            }
            nt++;
        }
        ts[t].partition_indexes[ts[t].partition_indexes_count++] = offs[i].partition;
    }
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    if (!ts) {
        err = KAFKA_ERR_NOMEM;
    } else {
        kafka_offset_fetch_request req;
        kafka_offset_fetch_request_init(&req);
        req.group_id = kafka_str_c(g->group_id);
        req.topics = ts;
        req.topics_count = nt;
        err = kafka_conn_roundtrip(conn, KAFKA_API_OFFSET_FETCH, v, offset_fetch_request_enc_, &req,
                                   offset_fetch_response_dec_, &resp, &arena, NULL);
    }
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    for (size_t i = 0; i < n; i++) {
        offs[i].offset = -1;
        offs[i].err = err ? err : KAFKA_ERR_PROTOCOL;
    }
    for (int32_t t = 0; !err && t < resp.topics_count; t++)
        for (int32_t p = 0; p < resp.topics[t].partitions_count; p++) {
            const kafka_offset_fetch_response_offset_fetch_response_partition *rp = &resp.topics[t].partitions[p];
            kafka_group_offset *o = find_off(offs, n, resp.topics[t].name, rp->partition_index);
            if (!o)
                continue;
            o->err = kafka_err_from_wire(rp->error_code);
            o->offset = rp->committed_offset;
        }
    kafka_err first = err;
    for (size_t i = 0; !first && i < n; i++)
        first = offs[i].err;
    kafka_arena_free(&arena);
    coord_done(g, conn, err, "fetch committed offsets");
    return first;
}
