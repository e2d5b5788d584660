/*
 * Mock group coordinator: the instance, the group registry, member lookup,
 * the reply path, dispatch by api key and the timer loop. The API handlers
 * live in mock_group_{join,sync,offsets,admin}.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/api_keys.h"

char *kmock_strdup_str(kafka_str s)
{
    if (s.len < 0)
        return NULL;
    return kafka_strndup(s.len ? s.ptr : "", (size_t)s.len);
}

kafka_str kmock_str(const char *s) { return kafka_str_c(s); }

bool kmock_streq(const char *a, kafka_str b) { return a && b.len >= 0 && kafka_str_eq_c(b, a); }

const char *kmock_state_name(kmock_state s)
{
    switch (s) {
    case KMOCK_EMPTY: return "Empty";
    case KMOCK_PREPARING_REBALANCE: return "PreparingRebalance";
    case KMOCK_COMPLETING_REBALANCE: return "CompletingRebalance";
    case KMOCK_STABLE: return "Stable";
    case KMOCK_DEAD: return "Dead";
    }
    return "Dead";
}

void kmock_array_remove(void *arr, size_t *n, size_t idx, size_t elem_size)
{
    uint8_t *a = arr;
    memmove(a + idx * elem_size, a + (idx + 1) * elem_size, (*n - idx - 1) * elem_size);
    (*n)--;
}

size_t kmock_lower_bound(size_t n, int (*cmp_at)(const void *ctx, size_t i), const void *ctx, bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_at(ctx, mid);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int kmock_send(const kmock_waiter *w, const kafka_gen_message *m, const void *resp)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_err err = kafka_gen_encode(&out, m, w->version, resp);
    if (err != KAFKA_ERR_OK || out.oom) {
        kafka_wbuf_free(&out);
        return -1;
    }
    w->fn(w->ctx, w->token, out.data, out.len);
    kafka_wbuf_free(&out);
    return 1;
}

void kmock_send_deferred(kmock_waiter *w, const kafka_gen_message *m, const void *resp)
{
    if (!w->active)
        return;
    kmock_waiter copy = *w;
    w->active = false;
    (void)kmock_send(&copy, m, resp);
}

/* ---- groups ------------------------------------------------------------- */

kmock_group *kmock_group_find(kmock_groups *g, kafka_str id)
{
    if (id.len < 0)
        return NULL;
    for (size_t i = 0; i < g->n_groups; i++)
        if (kmock_streq(g->groups[i]->id, id))
            return g->groups[i];
    return NULL;
}

static void group_free(kmock_group *grp)
{
    for (size_t i = 0; i < grp->n_members; i++)
        kmock_member_free(grp->members[i]);
    kafka_free(grp->members);
    for (size_t i = 0; i < grp->n_pending; i++)
        kafka_free(grp->pending[i].id);
    kafka_free(grp->pending);
    kmock_offsets_free(grp);
    kmock_txn_offsets_free(grp);
    kmock_cgroup_free(grp->cg);
    kafka_free(grp->id);
    kafka_free(grp->protocol_type);
    kafka_free(grp->protocol_name);
    kafka_free(grp->leader_id);
    kafka_free(grp);
}

void kmock_group_delete(kmock_groups *g, kmock_group *grp)
{
    for (size_t i = 0; i < g->n_groups; i++) {
        if (g->groups[i] == grp) {
            kmock_array_remove(g->groups, &g->n_groups, i, sizeof *g->groups);
            break;
        }
    }
    group_free(grp);
}

/* Kafka drops Empty groups without offsets at its periodic cleanup; the
 * mock does it only when it needs the room. */
static bool evict_one_empty_group(kmock_groups *g)
{
    for (size_t i = 0; i < g->n_groups; i++) {
        kmock_group *grp = g->groups[i];
        if (kmock_group_is_empty(grp) && grp->n_offsets == 0 && grp->n_txn_offsets == 0 && grp->n_pending == 0) {
            kmock_group_delete(g, grp);
            return true;
        }
    }
    return false;
}

kmock_group *kmock_group_get_or_create(kmock_groups *g, kafka_str id, int16_t *err)
{
    *err = 0;
    kmock_group *grp = kmock_group_find(g, id);
    if (grp)
        return grp;
    if (g->n_groups >= KMOCK_GROUPS_MAX && !evict_one_empty_group(g)) {
        *err = KAFKA_ERR_INVALID_REQUEST;
        return NULL;
    }
    if (!kafka_array_reserve((void **)&g->groups, &g->cap_groups, g->n_groups + 1, sizeof *g->groups, 16))
        goto oom;
    grp = kafka_calloc(1, sizeof *grp);
    if (!grp)
        goto oom;
    grp->id = kmock_strdup_str(id);
    if (!grp->id) {
        kafka_free(grp);
        goto oom;
    }
    grp->state = KMOCK_EMPTY;
    grp->join_deadline_ms = INT64_MAX;
    grp->sync_deadline_ms = INT64_MAX;
    g->groups[g->n_groups++] = grp;
    return grp;
oom:
    *err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    return NULL;
}

bool kmock_group_is_empty(const kmock_group *grp)
{
    return grp->state == KMOCK_EMPTY && grp->n_members == 0 && !kmock_cgroup_has_members(grp->cg);
}

/* ---- members ------------------------------------------------------------ */

/* "<client id>-<uuid>": a 64-bit sequence run through two mixing steps, so
 * ids are unique within the instance and reproducible across runs. */
char *kmock_new_member_id(kmock_groups *g)
{
    uint64_t a = (g->id_seq += 0x9e3779b97f4a7c15ull);
    uint64_t b = a * 0xbf58476d1ce4e5b9ull;
    a ^= a >> 31;
    b ^= b >> 29;
    const char *prefix = g->client_id && g->client_id[0] ? g->client_id : "member";
    size_t n = strlen(prefix) + 40;
    char *id = kafka_malloc(n);
    if (id)
        snprintf(id, n, "%s-%08x-%04x-4%03x-%04x-%012llx", prefix, (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
                 (unsigned)a & 0xfff, (unsigned)(b >> 48) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
    return id;
}

kmock_member *kmock_member_find(kmock_group *grp, kafka_str id)
{
    for (size_t i = 0; i < grp->n_members; i++)
        if (kmock_streq(grp->members[i]->id, id))
            return grp->members[i];
    return NULL;
}

kmock_member *kmock_member_by_instance(kmock_group *grp, kafka_str instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (size_t i = 0; i < grp->n_members; i++)
        if (kmock_streq(grp->members[i]->instance_id, instance_id))
            return grp->members[i];
    return NULL;
}

int16_t kmock_validate_member(kmock_group *grp, kafka_str member_id, kafka_str instance_id, kmock_member **out)
{
    *out = NULL;
    if (instance_id.len >= 0) {
        kmock_member *st = kmock_member_by_instance(grp, instance_id);
        if (!st)
            return KAFKA_ERR_UNKNOWN_MEMBER_ID;
        if (!kmock_streq(st->id, member_id))
            return KAFKA_ERR_FENCED_INSTANCE_ID;
        *out = st;
        return 0;
    }
    *out = kmock_member_find(grp, member_id);
    return *out ? 0 : KAFKA_ERR_UNKNOWN_MEMBER_ID;
}

kafka_bytes kmock_member_metadata(const kmock_member *m, const char *protocol)
{
    for (size_t i = 0; protocol && i < m->n_protocols; i++)
        if (strcmp(m->protocols[i].name, protocol) == 0)
            return (kafka_bytes){m->protocols[i].meta, m->protocols[i].meta_len};
    return (kafka_bytes){NULL, 0};
}

/* ---- the instance ------------------------------------------------------- */

int kmock_groups_new(kmock_groups **out, const kmock_groups_config *cfg)
{
    *out = NULL;
    kmock_groups_config c = cfg ? *cfg : (kmock_groups_config){0};
    if (c.min_session_timeout_ms == 0 && c.max_session_timeout_ms == 0) {
        c.min_session_timeout_ms = KMOCK_DEFAULT_MIN_SESSION_MS;
        c.max_session_timeout_ms = KMOCK_DEFAULT_MAX_SESSION_MS;
    }
    if (c.initial_rebalance_delay_ms < 0 || c.min_session_timeout_ms < 0 ||
        c.min_session_timeout_ms > c.max_session_timeout_ms)
        return -1;
    kmock_groups *g = kafka_calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->cfg = c;
    g->id_seq = 0x9e3779b97f4a7c15ull;
    *out = g;
    return 0;
}

void kmock_groups_free(kmock_groups *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_groups; i++)
        group_free(g->groups[i]);
    kafka_free(g->groups);
    kafka_free(g->client_id);
    kafka_free(g->client_host);
    kafka_free(g);
}

void kmock_groups_set_client(kmock_groups *g, const char *client_id, const char *client_host)
{
    kafka_free(g->client_id);
    kafka_free(g->client_host);
    g->client_id = client_id ? kafka_strdup(client_id) : NULL;
    g->client_host = client_host ? kafka_strdup(client_host) : NULL;
}

void kmock_groups_set_txn_check(kmock_groups *g, kmock_txn_check_fn check, void *ctx)
{
    g->txn_check = check;
    g->txn_ctx = ctx;
}

void kmock_groups_set_topics(kmock_groups *g, kmock_topics_fn topics, void *ctx)
{
    g->topics = topics;
    g->topics_ctx = ctx;
}

int64_t kmock_groups_tick(kmock_groups *g, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < g->n_groups; i++) {
        kmock_group *grp = g->groups[i];
        int64_t d = grp->cg ? kmock_cgroup_tick(g, grp, now_ms) : kmock_group_tick(g, grp, now_ms);
        if (d < next)
            next = d;
    }
    return next;
}

typedef int (*kmock_handler)(kmock_groups *g, kmock_req *rq, kafka_rbuf *r);

static const struct {
    int16_t api_key;
    kmock_handler fn;
} HANDLERS[] = {
    {KAFKA_API_JOIN_GROUP, kmock_handle_join},
    {KAFKA_API_SYNC_GROUP, kmock_handle_sync},
    {KAFKA_API_HEARTBEAT, kmock_handle_heartbeat},
    {KAFKA_API_LEAVE_GROUP, kmock_handle_leave},
    {KAFKA_API_OFFSET_COMMIT, kmock_handle_offset_commit},
    {KAFKA_API_OFFSET_FETCH, kmock_handle_offset_fetch},
    {KAFKA_API_OFFSET_DELETE, kmock_handle_offset_delete},
    {KAFKA_API_LIST_GROUPS, kmock_handle_list_groups},
    {KAFKA_API_DESCRIBE_GROUPS, kmock_handle_describe_groups},
    {KAFKA_API_DELETE_GROUPS, kmock_handle_delete_groups},
    {KAFKA_API_TXN_OFFSET_COMMIT, kmock_handle_txn_offset_commit},
    {KAFKA_API_CONSUMER_GROUP_HEARTBEAT, kmock_handle_consumer_heartbeat},
    {KAFKA_API_CONSUMER_GROUP_DESCRIBE, kmock_handle_consumer_describe},
};

int kmock_groups_handle(kmock_groups *g, int16_t api_key, int16_t version, const uint8_t *body, size_t len,
                        int64_t now_ms, uint64_t token, kmock_reply_fn reply, void *reply_ctx)
{
    kmock_handler fn = NULL;
    for (size_t i = 0; i < sizeof HANDLERS / sizeof HANDLERS[0]; i++)
        if (HANDLERS[i].api_key == api_key)
            fn = HANDLERS[i].fn;
    if (!fn || !reply)
        return -1;
    (void)kmock_groups_tick(g, now_ms);

    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_rbuf r;
    kafka_rbuf_init(&r, body, len);
    kmock_req rq = {
        .version = version,
        .now = now_ms,
        .arena = &arena,
        .w = {.active = false, .version = version, .token = token, .fn = reply, .ctx = reply_ctx},
    };
    int rc = fn(g, &rq, &r);
    kafka_arena_free(&arena);
    return rc;
}
