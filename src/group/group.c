/* Classic group membership and offset requests to the group coordinator. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_internal.h"
#include "cluster/cluster_util.h"
#include "group/group.h"
#include "group/group_requests.h"
#include "protocol/gen/all.h"

KAFKA_CONN_DECODER(join_group_response)

/* JoinGroup response that keeps its error code when the rest does not
 * decode: librdkafka's mock answers a refused JoinGroup v0-v6 with a null
 * ProtocolName (nullable only from v7), and the strict decoder would turn
 * GROUP_AUTHORIZATION_FAILED into a protocol error. ThrottleTimeMs (v2+)
 * and ErrorCode lead every version, before any tagged field. */
kafka_err kafka_group_join_response_decode(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)
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
KAFKA_CONN_DECODER(sync_group_response)

/* SyncGroup v0-v3 response, tolerating a null Assignment: librdkafka's
 * mock broker sends one with an error code (e.g. REBALANCE_IN_PROGRESS),
 * and the strict generated decoder would turn that into a protocol error
 * that hides the code. Flexible versions go to the generated decoder. */
kafka_err kafka_group_sync_response_decode(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)
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
KAFKA_CONN_ENCODER(offset_commit_request)
KAFKA_CONN_DECODER(offset_commit_response)


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

/* The request builders' view of a snapshot. */
#define IDENT(g, id) ((kafka_group_ident){(g)->group_id, (id).member_id, (g)->instance_id, (id).generation})

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


kafka_err kafka_group_commit(kafka_group *g, kafka_group_offset *offs, size_t n, int64_t deadline)
{
    if (n == 0)
        return 0;
    kafka_conn *conn = NULL;
    kafka_err err = coord_acquire(g, deadline, &conn);
    if (err)
        return err;
    int16_t v = kafka_conn_version(conn, KAFKA_API_OFFSET_COMMIT, 0, KAFKA_GROUP_OFFSET_COMMIT_MAX);
    if (v < 0)
        return coord_done(g, conn, KAFKA_ERR_NO_COMMON_VERSION, "commit offsets");
    ident id;
    snapshot(g, &id);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_offset_commit_request req;
    err = kafka_group_commit_request_fill(&req, v, &IDENT(g, id), offs, n, &arena);
    kafka_offset_commit_response resp;
    kafka_offset_commit_response_init(&resp);
    if (!err)
        err = kafka_conn_roundtrip(conn, KAFKA_API_OFFSET_COMMIT, v, offset_commit_request_enc_, &req,
                                   offset_commit_response_dec_, &resp, &arena, NULL);
    kafka_err first = err;
    if (err) {
        for (size_t i = 0; i < n; i++)
            offs[i].err = err;
    } else {
        first = kafka_group_commit_response_apply(&resp, offs, n);
    }
    kafka_arena_free(&arena);
    if (first == KAFKA_ERR_UNKNOWN_MEMBER_ID || first == KAFKA_ERR_ILLEGAL_GENERATION)
        kafka_group_reset_generation(g, first == KAFKA_ERR_UNKNOWN_MEMBER_ID);
    coord_done(g, conn, err, "commit offsets");
    if (first && !err)
        gerr(g, first, "commit offsets (group %s): %s", g->group_id, kafka_err_str(first));
    return first;
}
