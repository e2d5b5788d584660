/* Classic consumer-group membership, sans-I/O (membership.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "group/group_requests.h"
#include "group/membership.h"

#define KGM_MAX_IN_FLIGHT 8

typedef enum phase {
    PH_JOIN,        /* a JoinGroup is due (at join_at) */
    PH_REVOKE_WAIT, /* KGM_EV_REVOKE given, waiting for kgm_revoke_done */
    PH_JOINING,     /* JoinGroup in flight */
    PH_SYNC,        /* SyncGroup due */
    PH_SYNCING,     /* SyncGroup in flight */
    PH_STABLE,      /* a member of the generation */
    PH_LEAVING,     /* kgm_leave: commits, then LeaveGroup */
    PH_DONE,        /* left, or fatal */
} phase;

typedef enum rq_kind { RQ_JOIN, RQ_SYNC, RQ_HEARTBEAT, RQ_FETCH, RQ_COMMIT, RQ_LEAVE } rq_kind;

typedef struct commit_batch {
    struct commit_batch *next;
    kgm_partition *parts;
    size_t n;
    void *token;
    int64_t deadline;
    bool in_flight;
} commit_batch;

typedef struct in_flight {
    bool used;
    uint32_t id;
    rq_kind kind;
    int16_t version;
    int32_t generation; /* when it was built */
    commit_batch *batch;
    kgm_partition *fetch; /* RQ_FETCH: the partitions asked */
    size_t n_fetch;
    int64_t deadline;
} in_flight;

typedef struct part_list {
    kgm_partition *v;
    size_t n, cap;
} part_list;

struct kgm {
    kgm_config cfg;
    char *group_id, *instance_id;
    char **topics; /* subscription */
    /* interned topic names (subscription and assignments) */
    char **names;
    size_t n_names, cap_names;

    phase ph;
    phase after_revoke; /* PH_JOIN or PH_STABLE */
    bool rejoin_after_sync; /* a rejoin asked while a round was in flight */
    int64_t join_at, revoke_until;
    int join_attempt;

    int32_t coord;
    int64_t coord_retry_at;
    int coord_attempt;

    char *member_id;
    int32_t generation;
    bool leader;
    int64_t rounds;
    kafka_arena round; /* the join answer, the leader's assignments */
    char *protocol;
    const char **sync_members;
    kafka_bytes *sync_assign;
    size_t n_sync;

    part_list owned;    /* partitions of this member */
    part_list to_fetch; /* assigned, committed offsets not yet known */
    int64_t fetch_at;
    int fetch_attempt;
    bool fetch_in_flight;

    int64_t hb_at, last_hb_ok;
    /* The leader's SyncGroup backoff (see on_join): when the last round
     * completed, when this one's JoinGroup went, how many rounds in a row
     * followed at once, and when the SyncGroup may go. */
    int64_t stable_at, join_sent_at, sync_at;
    int quick_rounds;
    /* The leader's assignment waits for partition counts not yet known
     * (partition_count said KAFKA_ERR_TIMEOUT) until lead_until; the join
     * answer stays in m->round meanwhile. */
    const kafka_join_group_response *join_resp;
    bool lead_pending;
    int64_t lead_until;
    bool hb_in_flight;
    int64_t commit_at;

    commit_batch *commits, *commits_tail;
    bool commit_in_flight;
    bool leave_sent, leave_in_flight;

    in_flight fl[KGM_MAX_IN_FLIGHT];
    uint32_t next_id;

    kgm_event *evq;
    size_t n_ev, cap_ev, ev_head;
    kgm_partition *last_parts; /* parts of the event handed out last */
};

/* ---- small helpers --------------------------------------------------------- */

static char *intern(kgm *m, const char *s, size_t len)
{
    for (size_t i = 0; i < m->n_names; i++)
        if (strlen(m->names[i]) == len && memcmp(m->names[i], s, len) == 0)
            return m->names[i];
    if (m->n_names == m->cap_names) {
        size_t cap = m->cap_names ? m->cap_names * 2 : 8;
        char **nn = kafka_realloc(m->names, cap * sizeof *nn);
        if (!nn)
            return NULL;
        m->names = nn;
        m->cap_names = cap;
    }
    char *c = kafka_strndup(s, len);
    if (!c)
        return NULL;
    m->names[m->n_names++] = c;
    return c;
}

static bool list_push(part_list *l, kgm_partition p)
{
    if (!kafka_array_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, 16))
        return false;
    l->v[l->n++] = p;
    return true;
}

static bool list_has(const part_list *l, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].partition == partition && (l->v[i].topic == topic || strcmp(l->v[i].topic, topic) == 0))
            return true;
    return false;
}

static int backoff(kgm *m, int *attempt)
{
    int a = *attempt < 10 ? *attempt : 10;
    (*attempt)++;
    return kafka_backoff_ms(a, m->cfg.backoff_min_ms, m->cfg.backoff_max_ms);
}

static kgm_event *ev_push(kgm *m, kgm_event_kind kind)
{
    if (m->n_ev == m->cap_ev) {
        size_t cap = m->cap_ev ? m->cap_ev * 2 : 8;
        kgm_event *q = kafka_realloc(m->evq, cap * sizeof *q);
        if (!q)
            return NULL;
        m->evq = q;
        m->cap_ev = cap;
    }
    kgm_event *e = &m->evq[m->n_ev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

/* An event carrying a copy of parts[0..n) (none when n == 0 and the kind
 * needs partitions). */
static void ev_parts(kgm *m, kgm_event_kind kind, const kgm_partition *parts, size_t n)
{
    if (!n)
        return;
    kgm_partition *c = kafka_malloc(n * sizeof *c);
    kgm_event *e = c ? ev_push(m, kind) : NULL;
    if (!e) {
        kafka_free(c);
        return;
    }
    memcpy(c, parts, n * sizeof *c);
    e->parts = c;
    e->n = n;
}

static void ev_error(kgm *m, kafka_err err, bool fatal, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void ev_error(kgm *m, kafka_err err, bool fatal, const char *fmt, ...)
{
    kgm_event *e = ev_push(m, KGM_EV_ERROR);
    if (!e)
        return;
    e->err = err;
    e->fatal = fatal;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

static void set_member_id(kgm *m, kafka_str s)
{
    char *c = kafka_strndup(s.ptr ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
    if (!c)
        return;
    kafka_free(m->member_id);
    m->member_id = c;
}

static kafka_group_ident ident(const kgm *m)
{
    return (kafka_group_ident){m->group_id, m->member_id, m->instance_id, m->generation};
}

static in_flight *fl_find(kgm *m, uint32_t id)
{
    for (int i = 0; i < KGM_MAX_IN_FLIGHT; i++)
        if (m->fl[i].used && m->fl[i].id == id)
            return &m->fl[i];
    return NULL;
}

static bool fl_has_room(const kgm *m)
{
    for (int i = 0; i < KGM_MAX_IN_FLIGHT; i++)
        if (!m->fl[i].used)
            return true;
    return false;
}

static in_flight *fl_new(kgm *m, rq_kind kind, int64_t deadline)
{
    for (int i = 0; i < KGM_MAX_IN_FLIGHT; i++)
        if (!m->fl[i].used) {
            in_flight *f = &m->fl[i];
            memset(f, 0, sizeof *f);
            f->used = true;
            f->id = ++m->next_id;
            f->kind = kind;
            f->generation = m->generation;
            f->deadline = deadline;
            return f;
        }
    return NULL;
}

/* ---- state changes ----------------------------------------------------------- */

static void coordinator_lost(kgm *m, kafka_err err, int64_t now)
{
    (void)err;
    if (m->coord >= 0)
        m->coord_retry_at = now; /* look it up again at once, then back off */
    m->coord = -1;
}

/* The generation is gone: the partitions are lost (not committed). */
static void lose_all(kgm *m, bool forget_member_id)
{
    ev_parts(m, KGM_EV_LOST, m->owned.v, m->owned.n);
    m->owned.n = 0;
    m->to_fetch.n = 0;
    m->generation = -1;
    if (forget_member_id)
        set_member_id(m, kafka_str_c(""));
}

static bool eager(const kgm *m)
{
    const kafka_assignor *a = m->protocol ? kafka_assignor_find(m->protocol) : NULL;
    if (!a && m->cfg.n_assignors)
        a = m->cfg.assignors[0];
    return !a || a->protocol == KAFKA_REBALANCE_EAGER;
}

/* Starts a rebalance round: eager members revoke what they own first. */
static void start_round(kgm *m, int64_t now)
{
    switch (m->ph) {
    case PH_JOINING:
    case PH_SYNC:
    case PH_SYNCING:
        m->rejoin_after_sync = true;
        return;
    case PH_JOIN:
    case PH_REVOKE_WAIT:
    case PH_LEAVING:
    case PH_DONE:
        return;
    case PH_STABLE:
        break;
    }
    m->to_fetch.n = 0;
    m->join_at = now;
    if (eager(m) && m->owned.n && m->generation >= 0) {
        ev_parts(m, KGM_EV_REVOKE, m->owned.v, m->owned.n);
        m->owned.n = 0;
        m->ph = PH_REVOKE_WAIT;
        m->after_revoke = PH_JOIN;
        m->revoke_until = now + m->cfg.rebalance_timeout_ms / 2;
        return;
    }
    m->ph = PH_JOIN;
}

static void rejoin_now(kgm *m, int64_t now)
{
    if (m->ph == PH_LEAVING || m->ph == PH_DONE)
        return;
    m->ph = PH_JOIN;
    m->join_at = now;
}

static void fatal(kgm *m, kafka_err err, const char *what)
{
    lose_all(m, false);
    m->ph = PH_DONE;
    ev_error(m, err, true, "%s (group %s): %s", what, m->group_id, kafka_err_str(err));
}

/* ---- lifecycle ------------------------------------------------------------------ */

kafka_err kgm_new(kgm **out, const kgm_config *cfg, int64_t now)
{
    *out = NULL;
    if (!cfg->group_id || !cfg->n_topics || !cfg->n_assignors)
        return KAFKA_ERR_INVALID_ARG;
    kgm *m = kafka_calloc(1, sizeof *m);
    if (!m)
        return KAFKA_ERR_NOMEM;
    m->cfg = *cfg;
    if (m->cfg.backoff_min_ms <= 0)
        m->cfg.backoff_min_ms = 100;
    if (m->cfg.backoff_max_ms <= 0)
        m->cfg.backoff_max_ms = 1000;
    m->group_id = kafka_strdup(cfg->group_id);
    m->instance_id = cfg->instance_id ? kafka_strdup(cfg->instance_id) : NULL;
    m->member_id = kafka_strdup("");
    m->topics = kafka_calloc(cfg->n_topics, sizeof *m->topics);
    bool ok = m->group_id && m->member_id && m->topics && (!cfg->instance_id || m->instance_id);
    for (size_t i = 0; ok && i < cfg->n_topics; i++)
        ok = (m->topics[i] = intern(m, cfg->topics[i], strlen(cfg->topics[i]))) != NULL;
    kafka_arena_init(&m->round, 0);
    m->coord = -1;
    m->generation = -1;
    m->ph = PH_JOIN;
    m->join_at = now;
    m->last_hb_ok = now;
    m->commit_at = cfg->commit_interval_ms > 0 ? now + cfg->commit_interval_ms : -1;
    if (!ok) {
        kgm_free(m);
        return KAFKA_ERR_NOMEM;
    }
    *out = m;
    return 0;
}

static void batch_free(commit_batch *b)
{
    kafka_free(b->parts);
    kafka_free(b);
}

void kgm_free(kgm *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_names; i++)
        kafka_free(m->names[i]);
    kafka_free(m->names);
    kafka_free(m->topics);
    kafka_free(m->group_id);
    kafka_free(m->instance_id);
    kafka_free(m->member_id);
    kafka_free(m->protocol);
    kafka_arena_free(&m->round);
    kafka_free(m->owned.v);
    kafka_free(m->to_fetch.v);
    for (int i = 0; i < KGM_MAX_IN_FLIGHT; i++)
        kafka_free(m->fl[i].fetch);
    while (m->commits) {
        commit_batch *b = m->commits;
        m->commits = b->next;
        batch_free(b);
    }
    for (size_t i = m->ev_head; i < m->n_ev; i++)
        kafka_free(m->evq[i].parts);
    kafka_free(m->evq);
    kafka_free(m->last_parts);
    kafka_free(m);
}

/* ---- coordinator ------------------------------------------------------------------ */

bool kgm_needs_coordinator(const kgm *m, int64_t now)
{
    if (m->ph == PH_LEAVING && !m->commits && m->leave_sent)
        return false; /* nothing left to send */
    return m->coord < 0 && m->ph != PH_DONE && now >= m->coord_retry_at;
}

void kgm_coordinator(kgm *m, int32_t broker, int64_t now)
{
    (void)now;
    m->coord = broker;
    m->coord_attempt = 0;
}

void kgm_coordinator_failed(kgm *m, kafka_err err, const char *why, int64_t now)
{
    m->coord = -1;
    m->coord_retry_at = now + backoff(m, &m->coord_attempt);
    /* A join that cannot find its coordinator is a join error the reader
     * may have to hear of (TLS, SASL, authorization). */
    if (m->ph == PH_JOIN || m->ph == PH_JOINING)
        ev_error(m, err, false, "%s", why && *why ? why : kafka_err_str(err));
}

void kgm_coordinator_pending(kgm *m, int64_t until)
{
    m->coord = -1;
    m->coord_retry_at = until;
}

int32_t kgm_coordinator_id(const kgm *m) { return m->coord; }

/* ---- requests ------------------------------------------------------------------------ */

static kafka_err lead(kgm *m, const kafka_join_group_response *j, bool final);
static void round_failed(kgm *m, kafka_err err, const char *what, int64_t now);

/* The group layer's view of parts[0..n) (offsets kept unless fetch), in a. */
static kafka_group_offset *to_offsets(kafka_arena *a, const kgm_partition *parts, size_t n, bool fetch)
{
    kafka_group_offset *offs = kafka_arena_calloc(a, n ? n : 1, sizeof *offs);
    for (size_t i = 0; offs && i < n; i++)
        offs[i] = (kafka_group_offset){parts[i].topic, parts[i].partition, fetch ? -1 : parts[i].offset, 0};
    return offs;
}

static void commit_fail(kgm *m, commit_batch *b, kafka_err err)
{
    for (size_t i = 0; i < b->n; i++)
        b->parts[i].err = err;
    kgm_event *e = ev_push(m, KGM_EV_COMMIT_DONE);
    if (e) {
        e->parts = b->parts;
        e->n = b->n;
        e->token = b->token;
        e->err = err;
        b->parts = NULL;
    }
    batch_free(b);
}

static void commit_unlink(kgm *m, commit_batch *b)
{
    commit_batch **pp = &m->commits;
    while (*pp && *pp != b)
        pp = &(*pp)->next;
    if (*pp)
        *pp = b->next;
    m->commits_tail = NULL;
    for (commit_batch *c = m->commits; c; c = c->next)
        m->commits_tail = c;
}

/* Commits may go while the member's generation is its own. */
static bool commits_may_go(const kgm *m)
{
    return m->generation >= 0 && (m->ph == PH_STABLE || m->ph == PH_REVOKE_WAIT || m->ph == PH_JOIN ||
                                  m->ph == PH_LEAVING);
}

bool kgm_next_request(kgm *m, int64_t now, kgm_request *out)
{
    /* Commits past their deadline fail here, whatever the state. */
    for (commit_batch *b = m->commits, *next; b; b = next) {
        next = b->next;
        if (!b->in_flight && b->deadline >= 0 && now >= b->deadline) {
            commit_unlink(m, b);
            commit_fail(m, b, KAFKA_ERR_TIMEOUT);
        }
    }
    /* Leaving: the commits queued go first, then LeaveGroup (or nothing
     * for a static member). */
    if (m->ph == PH_LEAVING && !m->commits && !m->commit_in_flight && m->leave_sent && !m->leave_in_flight) {
        m->ph = PH_DONE;
        ev_push(m, KGM_EV_LEFT);
        return false;
    }
    if (m->coord < 0 || m->ph == PH_DONE || !fl_has_room(m))
        return false;
    int64_t rb = m->cfg.rebalance_timeout_ms + m->cfg.session_timeout_ms;
    in_flight *f = NULL;
    /* The revoke's commits go before the JoinGroup that ends their
     * generation. */
    bool commits_first = m->commits && m->generation >= 0;
    if (m->ph == PH_JOIN && now >= m->join_at && !m->commit_in_flight && !commits_first) {
        f = fl_new(m, RQ_JOIN, now + rb);
        m->ph = PH_JOINING;
        m->join_sent_at = now;
        *out = (kgm_request){f->id, KAFKA_API_JOIN_GROUP, 0, INT16_MAX, f->deadline};
        return true;
    }
    if (m->ph == PH_SYNC && now >= m->sync_at && m->lead_pending) {
        /* Partition counts the leader was waiting for; past lead_until the
         * topics still unknown are left out. */
        kafka_err err = lead(m, m->join_resp, now >= m->lead_until);
        m->lead_pending = err == KAFKA_ERR_TIMEOUT;
        if (m->lead_pending) {
            m->sync_at = now + m->cfg.backoff_min_ms;
            return false;
        }
        if (err) {
            round_failed(m, err, "assign partitions", now);
            return false;
        }
    }
    if (m->ph == PH_SYNC && now >= m->sync_at) {
        f = fl_new(m, RQ_SYNC, now + rb);
        m->ph = PH_SYNCING;
        *out = (kgm_request){f->id, KAFKA_API_SYNC_GROUP, 0, INT16_MAX, f->deadline};
        return true;
    }
    if (m->commits && !m->commit_in_flight && commits_may_go(m)) {
        commit_batch *b = m->commits;
        f = fl_new(m, RQ_COMMIT, b->deadline >= 0 ? b->deadline : now + m->cfg.session_timeout_ms);
        f->batch = b;
        b->in_flight = true;
        m->commit_in_flight = true;
        *out = (kgm_request){f->id, KAFKA_API_OFFSET_COMMIT, 0, KAFKA_GROUP_OFFSET_COMMIT_MAX, f->deadline};
        return true;
    }
    if (m->ph == PH_STABLE && m->to_fetch.n && !m->fetch_in_flight && now >= m->fetch_at) {
        f = fl_new(m, RQ_FETCH, now + m->cfg.session_timeout_ms);
        f->fetch = kafka_malloc(m->to_fetch.n * sizeof *f->fetch);
        if (!f->fetch) {
            f->used = false;
            return false;
        }
        memcpy(f->fetch, m->to_fetch.v, m->to_fetch.n * sizeof *f->fetch);
        f->n_fetch = m->to_fetch.n;
        m->fetch_in_flight = true;
        *out = (kgm_request){f->id, KAFKA_API_OFFSET_FETCH, 1, KAFKA_GROUP_OFFSET_FETCH_MAX, f->deadline};
        return true;
    }
    if ((m->ph == PH_STABLE || m->ph == PH_REVOKE_WAIT) && m->generation >= 0 && !m->hb_in_flight &&
        now >= m->hb_at) {
        f = fl_new(m, RQ_HEARTBEAT, now + m->cfg.session_timeout_ms / 2);
        m->hb_in_flight = true;
        *out = (kgm_request){f->id, KAFKA_API_HEARTBEAT, 0, INT16_MAX, f->deadline};
        return true;
    }
    if (m->ph == PH_LEAVING && !m->commits && !m->commit_in_flight && !m->leave_sent) {
        m->leave_sent = true;
        m->leave_in_flight = true;
        f = fl_new(m, RQ_LEAVE, now + m->cfg.session_timeout_ms);
        *out = (kgm_request){f->id, KAFKA_API_LEAVE_GROUP, 0, INT16_MAX, f->deadline};
        return true;
    }
    return false;
}

/* The JoinGroup protocols: one subscription per assignor, naming what
 * this member owns (cooperative assignors keep it). */
static kafka_err build_protocols(kgm *m, kafka_arena *a, kafka_group_protocol **out)
{
    kafka_group_protocol *protos = kafka_arena_calloc(a, m->cfg.n_assignors, sizeof *protos);
    kafka_topic_partition *owned = kafka_arena_calloc(a, m->owned.n ? m->owned.n : 1, sizeof *owned);
    if (!protos || !owned)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < m->owned.n; i++)
        owned[i] = (kafka_topic_partition){m->owned.v[i].topic, m->owned.v[i].partition};
    for (size_t i = 0; i < m->cfg.n_assignors; i++) {
        const kafka_assignor *as = m->cfg.assignors[i];
        uint8_t ud[4];
        kafka_consumer_subscription s = {
            .version = 1,
            .topics = (const char *const *)m->topics,
            .n_topics = m->cfg.n_topics,
            .user_data = KAFKA_BYTES_NULL,
            .owned = owned,
            .n_owned = m->owned.n,
            .generation = -1,
        };
        if (as->protocol == KAFKA_REBALANCE_COOPERATIVE) {
            kafka_cooperative_sticky_userdata(m->generation, ud);
            s.user_data = (kafka_bytes){ud, 4};
        }
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        kafka_err err = kafka_consumer_subscription_encode(&s, &w);
        if (!err && w.oom)
            err = KAFKA_ERR_NOMEM;
        uint8_t *copy = err ? NULL : kafka_arena_alloc(a, w.len ? w.len : 1);
        if (copy)
            memcpy(copy, w.data, w.len);
        size_t len = w.len;
        kafka_wbuf_free(&w);
        if (!copy)
            return err ? err : KAFKA_ERR_NOMEM;
        protos[i] = (kafka_group_protocol){as->name, copy, len};
    }
    *out = protos;
    return 0;
}

kafka_err kgm_build(kgm *m, uint32_t id, int16_t v, kafka_wbuf *w, int64_t now)
{
    in_flight *f = fl_find(m, id);
    if (!f)
        return KAFKA_ERR_STATE;
    f->version = v;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_group_ident idt = ident(m);
    kafka_err err = 0;
    switch (f->kind) {
    case RQ_JOIN: {
        kafka_group_protocol *protos = NULL;
        kafka_join_group_request req;
        err = build_protocols(m, &a, &protos);
        if (!err)
            err = kafka_group_join_request_fill(&req, v, &idt, m->cfg.session_timeout_ms,
                                                m->cfg.rebalance_timeout_ms, protos, m->cfg.n_assignors, &a);
        if (!err)
            err = kafka_join_group_request_encode(w, v, &req);
        break;
    }
    case RQ_SYNC: {
        kafka_sync_group_request req;
        err = kafka_group_sync_request_fill(&req, v, &idt, m->protocol, m->sync_members, m->sync_assign, m->n_sync,
                                            &a);
        if (!err)
            err = kafka_sync_group_request_encode(w, v, &req);
        break;
    }
    case RQ_HEARTBEAT: {
        kafka_heartbeat_request req;
        kafka_group_heartbeat_request_fill(&req, v, &idt);
        err = kafka_heartbeat_request_encode(w, v, &req);
        break;
    }
    case RQ_LEAVE: {
        kafka_leave_group_request req;
        kafka_leave_group_request_member_identity mi;
        kafka_group_leave_request_fill(&req, v, &idt, &mi);
        err = kafka_leave_group_request_encode(w, v, &req);
        break;
    }
    case RQ_COMMIT: {
        commit_batch *b = f->batch;
        kafka_group_offset *offs = to_offsets(&a, b->parts, b->n, false);
        if (!offs) {
            err = KAFKA_ERR_NOMEM;
            break;
        }
        kafka_offset_commit_request req;
        err = kafka_group_commit_request_fill(&req, v, &idt, offs, b->n, &a);
        if (!err)
            err = kafka_offset_commit_request_encode(w, v, &req);
        break;
    }
    case RQ_FETCH: {
        kafka_group_offset *offs = to_offsets(&a, f->fetch, f->n_fetch, true);
        if (!offs) {
            err = KAFKA_ERR_NOMEM;
            break;
        }
        kafka_offset_fetch_request req;
        err = kafka_group_offset_fetch_request_fill(&req, v, m->group_id, offs, f->n_fetch, &a);
        if (!err)
            err = kafka_offset_fetch_request_encode(w, v, &req);
        break;
    }
    }
    if (!err && w->oom)
        err = KAFKA_ERR_NOMEM;
    kafka_arena_free(&a);
    if (err)
        kgm_response(m, id, err, NULL, 0, now);
    return err;
}

/* ---- responses ------------------------------------------------------------------------ */

/* The leader's job: decode the subscriptions, assign, encode one
 * assignment per member (into m->round). */
static kafka_err lead(kgm *m, const kafka_join_group_response *j, bool final)
{
    kafka_arena *a = &m->round;
    const kafka_assignor *as = kafka_assignor_find(m->protocol);
    for (size_t i = 0; !as && i < m->cfg.n_assignors; i++)
        if (strcmp(m->cfg.assignors[i]->name, m->protocol) == 0)
            as = m->cfg.assignors[i];
    if (!as)
        return KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    size_t n = j->members_count > 0 ? (size_t)j->members_count : 0;
    kafka_group_member *ms = kafka_arena_calloc(a, n ? n : 1, sizeof *ms);
    const char **ids = kafka_arena_calloc(a, n ? n : 1, sizeof *ids);
    const char **tnames = kafka_arena_calloc(a, 1, sizeof *tnames);
    size_t nt = 0, cap = 1;
    if (!ms || !ids || !tnames)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const kafka_join_group_response_join_group_response_member *jm = &j->members[i];
        size_t il = jm->member_id.len > 0 ? (size_t)jm->member_id.len : 0;
        char *mid = kafka_arena_alloc(a, il + 1);
        const char *inst = NULL;
        if (mid && il)
            memcpy(mid, jm->member_id.ptr, il);
        if (jm->group_instance_id.len >= 0) {
            char *c = kafka_arena_alloc(a, (size_t)jm->group_instance_id.len + 1);
            if (c && jm->group_instance_id.len)
                memcpy(c, jm->group_instance_id.ptr, (size_t)jm->group_instance_id.len);
            inst = c;
        }
        if (!mid)
            return KAFKA_ERR_NOMEM;
        ids[i] = mid;
        kafka_consumer_subscription s;
        kafka_err err = kafka_consumer_subscription_decode(jm->metadata.ptr,
                                                           jm->metadata.len > 0 ? (size_t)jm->metadata.len : 0, a, &s);
        if (err) {
            memset(&s, 0, sizeof s);
            s.generation = -1;
        }
        kafka_group_member_from_subscription(&ms[i], mid, inst, &s);
        for (size_t t = 0; t < s.n_topics; t++) {
            size_t k = 0;
            while (k < nt && strcmp(tnames[k], s.topics[t]) != 0)
                k++;
            if (k < nt)
                continue;
            if (nt == cap) {
                cap *= 2;
                const char **nn = kafka_arena_calloc(a, cap, sizeof *nn);
                if (!nn)
                    return KAFKA_ERR_NOMEM;
                memcpy(nn, tnames, nt * sizeof *nn);
                tnames = nn;
            }
            tnames[nt++] = s.topics[t];
        }
    }
    kafka_topic_metadata *md = kafka_arena_calloc(a, nt ? nt : 1, sizeof *md);
    if (!md)
        return KAFKA_ERR_NOMEM;
    size_t nmd = 0;
    for (size_t t = 0; t < nt; t++) {
        int32_t count = 0;
        kafka_err ce = m->cfg.partition_count ? m->cfg.partition_count(m->cfg.arg, tnames[t], &count)
                                              : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (ce == KAFKA_ERR_TIMEOUT && !final)
            return KAFKA_ERR_TIMEOUT; /* not known yet: again later */
        if (!ce)
            md[nmd++] = (kafka_topic_metadata){tnames[t], count};
    }
    kafka_member_assignment *out = NULL;
    kafka_err err = kafka_assignor_assign(as, ms, n, md, nmd, a, &out);
    if (err)
        return err;
    kafka_bytes *enc = kafka_arena_calloc(a, n ? n : 1, sizeof *enc);
    if (!enc)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_consumer_assignment ca = {.version = 1, .partitions = out[i].partitions,
                                        .n_partitions = out[i].n_partitions, .user_data = KAFKA_BYTES_NULL};
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        err = kafka_consumer_assignment_encode(&ca, &w);
        if (!err && w.oom)
            err = KAFKA_ERR_NOMEM;
        size_t len = w.len;
        uint8_t *copy = err ? NULL : kafka_arena_alloc(a, len ? len : 1);
        if (copy)
            memcpy(copy, w.data, len);
        kafka_wbuf_free(&w);
        if (!copy)
            return err ? err : KAFKA_ERR_NOMEM;
        enc[i] = (kafka_bytes){copy, (int32_t)len};
    }
    m->sync_members = ids;
    m->sync_assign = enc;
    m->n_sync = n;
    return 0;
}

/* A join or sync step failed with err: what the group does next. */
static void round_failed(kgm *m, kafka_err err, const char *what, int64_t now)
{
    switch (err) {
    case KAFKA_ERR_REBALANCE_IN_PROGRESS:
    case KAFKA_ERR_INVALID_REQUEST: /* a coordinator that completed the sync without us */
        rejoin_now(m, now);
        return;
    case KAFKA_ERR_ILLEGAL_GENERATION:
        lose_all(m, false);
        rejoin_now(m, now);
        return;
    case KAFKA_ERR_UNKNOWN_MEMBER_ID:
        lose_all(m, true);
        rejoin_now(m, now);
        return;
    case KAFKA_ERR_FENCED_INSTANCE_ID:
        fatal(m, err, what);
        return;
    default:
        break;
    }
    if (kafka_group_err_coordinator(err)) {
        coordinator_lost(m, err, now);
        rejoin_now(m, now);
        if (err < 0) /* a transport failure: the reader may need its text */
            ev_error(m, err, false, "%s (group %s): %s", what, m->group_id, kafka_err_str(err));
        return;
    }
    ev_error(m, err, false, "%s (group %s): %s", what, m->group_id, kafka_err_str(err));
    rejoin_now(m, now);
    m->join_at = now + backoff(m, &m->join_attempt);
}

static void on_join(kgm *m, in_flight *f, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    if (m->ph != PH_JOINING)
        return;
    kafka_arena_reset(&m->round);
    m->sync_members = NULL;
    m->sync_assign = NULL;
    m->n_sync = 0;
    m->join_resp = NULL;
    m->lead_pending = false;
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    if (!err) {
        /* The answer stays in m->round: the leader may assign later. */
        uint8_t *copy = kafka_arena_alloc(&m->round, len ? len : 1);
        kafka_rbuf r;
        if (copy && len)
            memcpy(copy, body, len);
        kafka_rbuf_init(&r, copy, len);
        err = copy ? kafka_group_join_response_decode(&r, &m->round, f->version, &resp) : KAFKA_ERR_NOMEM;
    }
    if (!err && resp.error_code) {
        err = kafka_err_from_wire(resp.error_code);
        if (err == KAFKA_ERR_MEMBER_ID_REQUIRED && resp.member_id.len > 0) {
            /* KIP-394: the broker hands out the id and wants it back. */
            set_member_id(m, resp.member_id);
            rejoin_now(m, now);
            return;
        }
    }
    if (err) {
        round_failed(m, err, "join group", now);
        return;
    }
    set_member_id(m, resp.member_id);
    m->generation = resp.generation_id;
    m->leader = kafka_str_eq(resp.leader, resp.member_id);
    kafka_free(m->protocol);
    m->protocol = kafka_strndup(resp.protocol_name.ptr ? resp.protocol_name.ptr : "",
                                resp.protocol_name.len > 0 ? (size_t)resp.protocol_name.len : 0);
    if (!m->protocol) {
        round_failed(m, KAFKA_ERR_NOMEM, "join group", now);
        return;
    }
    m->last_hb_ok = now;
    if (m->leader) {
        kafka_join_group_response *kept = kafka_arena_alloc(&m->round, sizeof *kept);
        if (!kept) {
            round_failed(m, KAFKA_ERR_NOMEM, "join group", now);
            return;
        }
        *kept = resp;
        m->join_resp = kept;
        m->lead_until = now + m->cfg.session_timeout_ms / 2;
        err = lead(m, kept, false);
        m->lead_pending = err == KAFKA_ERR_TIMEOUT;
        if (err && !m->lead_pending) {
            round_failed(m, err, "assign partitions", now);
            return;
        }
    }
    /* The leader's SyncGroup goes at once. A coordinator that completes
     * the round with the leader's SyncGroup and refuses a follower's later
     * one (librdkafka's mock: INVALID_REQUEST) makes that follower rejoin
     * (round_failed), which starts the next round at once; when rounds
     * follow each other so, the leader backs off before its SyncGroup
     * (backoff_min_ms, doubling) so that the followers' SyncGroups come
     * first. A coordinator with Kafka's rules never costs a wait, except
     * for rounds that really come in a row (members joining one after
     * another). */
    bool quick = m->stable_at > 0 && m->join_sent_at - m->stable_at <= 2 * m->cfg.heartbeat_interval_ms;
    m->quick_rounds = quick ? m->quick_rounds + 1 : 0;
    m->sync_at = now;
    if (m->leader && resp.members_count > 1 && m->quick_rounds > 0) {
        int q = m->quick_rounds - 1;
        m->sync_at = now + backoff(m, &q);
    }
    if (m->lead_pending && m->sync_at < now + m->cfg.backoff_min_ms)
        m->sync_at = now + m->cfg.backoff_min_ms;
    m->ph = PH_SYNC;
}

static void on_sync(kgm *m, in_flight *f, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    if (m->ph != PH_SYNCING)
        return;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_sync_group_response resp;
    kafka_sync_group_response_init(&resp);
    if (!err) {
        kafka_rbuf r;
        kafka_rbuf_init(&r, body, len);
        err = kafka_group_sync_response_decode(&r, &a, f->version, &resp);
    }
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    kafka_consumer_assignment asg;
    memset(&asg, 0, sizeof asg);
    if (!err)
        err = kafka_consumer_assignment_decode(resp.assignment.ptr,
                                               resp.assignment.len > 0 ? (size_t)resp.assignment.len : 0, &a, &asg);
    if (err) {
        kafka_arena_free(&a);
        round_failed(m, err, "sync group", now);
        return;
    }
    m->rounds++;
    m->join_attempt = 0;
    m->stable_at = now;
    /* What moved: revoked = owned and not assigned; added = assigned and
     * not owned (eager members own nothing here). */
    part_list assigned = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < asg.n_partitions; i++) {
        const char *t = intern(m, asg.partitions[i].topic, strlen(asg.partitions[i].topic));
        ok = t && list_push(&assigned, (kgm_partition){t, asg.partitions[i].partition, -1, 0});
    }
    kafka_arena_free(&a);
    if (!ok) {
        kafka_free(assigned.v);
        round_failed(m, KAFKA_ERR_NOMEM, "sync group", now);
        return;
    }
    part_list kept = {0}, revoked = {0};
    m->to_fetch.n = 0;
    for (size_t i = 0; ok && i < m->owned.n; i++)
        ok = list_push(list_has(&assigned, m->owned.v[i].topic, m->owned.v[i].partition) ? &kept : &revoked,
                       m->owned.v[i]);
    for (size_t i = 0; ok && i < assigned.n; i++)
        if (!list_has(&m->owned, assigned.v[i].topic, assigned.v[i].partition))
            ok = list_push(&m->to_fetch, assigned.v[i]);
    kafka_free(assigned.v);
    if (!ok) {
        kafka_free(kept.v);
        kafka_free(revoked.v);
        round_failed(m, KAFKA_ERR_NOMEM, "sync group", now);
        return;
    }
    kafka_free(m->owned.v);
    m->owned = kept;
    m->last_hb_ok = now;
    m->hb_at = now + m->cfg.heartbeat_interval_ms;
    m->fetch_at = now;
    m->fetch_attempt = 0;
    /* Commits held during the round: those for partitions kept go with the
     * new generation, the others fail (the partition is not ours). */
    for (commit_batch *b = m->commits, *next; b; b = next) {
        next = b->next;
        bool mine = true;
        for (size_t i = 0; mine && i < b->n; i++)
            mine = list_has(&m->owned, b->parts[i].topic, b->parts[i].partition) ||
                   list_has(&m->to_fetch, b->parts[i].topic, b->parts[i].partition);
        if (!mine && !b->in_flight) {
            commit_unlink(m, b);
            commit_fail(m, b, KAFKA_ERR_REBALANCE_IN_PROGRESS);
        }
    }
    if (revoked.n) {
        /* Cooperative: give these up, then join again so that the others
         * can take them. */
        ev_parts(m, KGM_EV_REVOKE, revoked.v, revoked.n);
        m->ph = PH_REVOKE_WAIT;
        m->after_revoke = PH_JOIN;
        m->revoke_until = now + m->cfg.rebalance_timeout_ms / 2;
    } else if (m->rejoin_after_sync) {
        m->ph = PH_STABLE;
        m->rejoin_after_sync = false;
        start_round(m, now);
    } else {
        m->ph = PH_STABLE;
    }
    kafka_free(revoked.v);
}

static void on_heartbeat(kgm *m, in_flight *f, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    m->hb_in_flight = false;
    m->hb_at = now + m->cfg.heartbeat_interval_ms;
    if (f->generation != m->generation || (m->ph != PH_STABLE && m->ph != PH_REVOKE_WAIT))
        return; /* an answer about an older generation */
    kafka_heartbeat_response resp;
    kafka_heartbeat_response_init(&resp);
    if (!err) {
        kafka_arena a;
        kafka_arena_init(&a, 0);
        kafka_rbuf r;
        kafka_rbuf_init(&r, body, len);
        err = kafka_heartbeat_response_decode(&r, &a, f->version, &resp);
        kafka_arena_free(&a);
    }
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    switch (err) {
    case 0:
        m->last_hb_ok = now;
        return;
    case KAFKA_ERR_REBALANCE_IN_PROGRESS:
        m->last_hb_ok = now;
        start_round(m, now);
        return;
    case KAFKA_ERR_ILLEGAL_GENERATION:
    case KAFKA_ERR_UNKNOWN_MEMBER_ID:
        if (m->ph == PH_REVOKE_WAIT)
            m->ph = PH_JOIN; /* the revoke's commit cannot succeed now */
        lose_all(m, err == KAFKA_ERR_UNKNOWN_MEMBER_ID);
        rejoin_now(m, now);
        return;
    case KAFKA_ERR_FENCED_INSTANCE_ID:
        fatal(m, err, "heartbeat");
        return;
    default:
        if (kafka_group_err_coordinator(err)) {
            coordinator_lost(m, err, now);
            m->hb_at = now + m->cfg.backoff_min_ms;
        }
        return;
    }
}

static void on_fetch(kgm *m, in_flight *f, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    m->fetch_in_flight = false;
    if (f->generation != m->generation || m->ph != PH_STABLE)
        return;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_group_offset *offs = to_offsets(&a, f->fetch, f->n_fetch, true);
    if (!offs)
        err = err ? err : KAFKA_ERR_NOMEM;
    if (!err) {
        kafka_offset_fetch_response resp;
        kafka_offset_fetch_response_init(&resp);
        kafka_rbuf r;
        kafka_rbuf_init(&r, body, len);
        err = kafka_offset_fetch_response_decode(&r, &a, f->version, &resp);
        if (!err)
            err = kafka_group_offset_fetch_response_apply(&resp, offs, f->n_fetch);
    }
    if (err) {
        kafka_arena_free(&a);
        if (kafka_group_err_coordinator(err))
            coordinator_lost(m, err, now);
        else if (err != KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS && err != KAFKA_ERR_UNSTABLE_OFFSET_COMMIT)
            ev_error(m, err, false, "fetch committed offsets (group %s): %s", m->group_id, kafka_err_str(err));
        m->fetch_at = now + backoff(m, &m->fetch_attempt);
        return;
    }
    /* Those asked are now this member's, at their committed offsets. */
    part_list got = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < f->n_fetch; i++) {
        kgm_partition p = f->fetch[i];
        if (!list_has(&m->to_fetch, p.topic, p.partition))
            continue;
        p.offset = offs[i].offset;
        ok = list_push(&got, p) && list_push(&m->owned, p);
    }
    kafka_arena_free(&a);
    size_t k = 0;
    for (size_t i = 0; i < m->to_fetch.n; i++)
        if (!list_has(&got, m->to_fetch.v[i].topic, m->to_fetch.v[i].partition))
            m->to_fetch.v[k++] = m->to_fetch.v[i];
    m->to_fetch.n = k;
    ev_parts(m, KGM_EV_ASSIGNED, got.v, got.n);
    kafka_free(got.v);
}

static void on_commit(kgm *m, in_flight *f, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    commit_batch *b = f->batch;
    m->commit_in_flight = false;
    b->in_flight = false;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_group_offset *offs = to_offsets(&a, b->parts, b->n, false);
    if (!offs)
        err = err ? err : KAFKA_ERR_NOMEM;
    kafka_err first = err;
    if (!err) {
        kafka_offset_commit_response resp;
        kafka_offset_commit_response_init(&resp);
        kafka_rbuf r;
        kafka_rbuf_init(&r, body, len);
        first = err = kafka_offset_commit_response_decode(&r, &a, f->version, &resp);
        if (!err)
            first = kafka_group_commit_response_apply(&resp, offs, b->n);
    }
    if (first && kafka_group_err_coordinator(first) && (b->deadline < 0 || now < b->deadline)) {
        /* Retried once the coordinator is found again. */
        coordinator_lost(m, first, now);
        kafka_arena_free(&a);
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        b->parts[i].err = err ? err : offs[i].err;
    kafka_arena_free(&a);
    commit_unlink(m, b);
    kgm_event *e = ev_push(m, KGM_EV_COMMIT_DONE);
    if (e) {
        e->parts = b->parts;
        e->n = b->n;
        e->token = b->token;
        e->err = first;
        b->parts = NULL;
    }
    batch_free(b);
    /* Refused for the current generation: the coordinator rebalances (an
     * older generation's refusal is the round already done). */
    if (f->generation == m->generation && m->ph == PH_STABLE) {
        if (first == KAFKA_ERR_REBALANCE_IN_PROGRESS) {
            start_round(m, now);
        } else if (first == KAFKA_ERR_ILLEGAL_GENERATION || first == KAFKA_ERR_UNKNOWN_MEMBER_ID) {
            lose_all(m, first == KAFKA_ERR_UNKNOWN_MEMBER_ID);
            rejoin_now(m, now);
        }
    }
}

static void on_leave(kgm *m, kafka_err err, const uint8_t *body, size_t len, int16_t v)
{
    kafka_leave_group_response resp;
    kafka_leave_group_response_init(&resp);
    if (!err) {
        kafka_arena a;
        kafka_arena_init(&a, 0);
        kafka_rbuf r;
        kafka_rbuf_init(&r, body, len);
        err = kafka_leave_group_response_decode(&r, &a, v, &resp);
        if (!err && resp.error_code)
            err = kafka_err_from_wire(resp.error_code);
        for (int32_t i = 0; !err && i < resp.members_count; i++)
            if (resp.members[i].error_code)
                err = kafka_err_from_wire(resp.members[i].error_code);
        kafka_arena_free(&a);
    }
    m->generation = -1;
    set_member_id(m, kafka_str_c(""));
    m->ph = PH_DONE;
    kgm_event *e = ev_push(m, KGM_EV_LEFT);
    if (e)
        e->err = err;
}

void kgm_response(kgm *m, uint32_t id, kafka_err err, const uint8_t *body, size_t len, int64_t now)
{
    in_flight *f = fl_find(m, id);
    if (!f)
        return;
    in_flight copy = *f;
    f->used = false;
    f->fetch = NULL;
    if (err && kafka_group_err_coordinator(err) && copy.kind != RQ_LEAVE)
        coordinator_lost(m, err, now);
    switch (copy.kind) {
    case RQ_JOIN:
        on_join(m, &copy, err, body, len, now);
        break;
    case RQ_SYNC:
        on_sync(m, &copy, err, body, len, now);
        break;
    case RQ_HEARTBEAT:
        on_heartbeat(m, &copy, err, body, len, now);
        break;
    case RQ_FETCH:
        on_fetch(m, &copy, err, body, len, now);
        break;
    case RQ_COMMIT:
        on_commit(m, &copy, err, body, len, now);
        break;
    case RQ_LEAVE:
        on_leave(m, err, body, len, copy.version);
        break;
    }
    kafka_free(copy.fetch);
}

/* ---- time ----------------------------------------------------------------------------- */

void kgm_tick(kgm *m, int64_t now)
{
    if (m->ph == PH_DONE)
        return;
    if (m->ph == PH_REVOKE_WAIT && now >= m->revoke_until)
        kgm_revoke_done(m, now);
    /* No heartbeat answered for a session: the coordinator has expired us. */
    if (m->generation >= 0 && (m->ph == PH_STABLE || m->ph == PH_REVOKE_WAIT || m->ph == PH_JOIN) &&
        now - m->last_hb_ok > m->cfg.session_timeout_ms) {
        ev_error(m, KAFKA_ERR_TIMEOUT, false, "group %s: no heartbeat answered for a session timeout: partitions lost",
                 m->group_id);
        if (m->ph == PH_REVOKE_WAIT)
            m->ph = PH_JOIN;
        lose_all(m, false);
        rejoin_now(m, now);
    }
    if (m->commit_at >= 0 && now >= m->commit_at) {
        m->commit_at = now + m->cfg.commit_interval_ms;
        if (m->generation >= 0 && m->owned.n && m->ph != PH_LEAVING)
            ev_push(m, KGM_EV_COMMIT_DUE);
    }
}

int64_t kgm_deadline(const kgm *m)
{
    if (m->ph == PH_DONE)
        return -1;
    int64_t d = -1;
#define KGM_MIN(t)                                                                                                     \
    do {                                                                                                               \
        int64_t t_ = (t);                                                                                              \
        if (t_ >= 0 && (d < 0 || t_ < d))                                                                              \
            d = t_;                                                                                                    \
    } while (0)
    if (m->coord < 0)
        KGM_MIN(m->coord_retry_at);
    if (m->ph == PH_JOIN)
        KGM_MIN(m->join_at);
    if (m->ph == PH_SYNC)
        KGM_MIN(m->sync_at);
    if (m->ph == PH_REVOKE_WAIT)
        KGM_MIN(m->revoke_until);
    if ((m->ph == PH_STABLE || m->ph == PH_REVOKE_WAIT) && !m->hb_in_flight)
        KGM_MIN(m->hb_at);
    if (m->generation >= 0)
        KGM_MIN(m->last_hb_ok + m->cfg.session_timeout_ms + 1);
    if (m->ph == PH_STABLE && m->to_fetch.n && !m->fetch_in_flight)
        KGM_MIN(m->fetch_at);
    KGM_MIN(m->commit_at);
    for (commit_batch *b = m->commits; b; b = b->next)
        if (!b->in_flight)
            KGM_MIN(b->deadline);
#undef KGM_MIN
    return d;
}

/* ---- the owner's calls ------------------------------------------------------------------ */

bool kgm_next_event(kgm *m, kgm_event *ev)
{
    kafka_free(m->last_parts);
    m->last_parts = NULL;
    if (m->ev_head == m->n_ev) {
        m->ev_head = m->n_ev = 0;
        return false;
    }
    *ev = m->evq[m->ev_head++];
    m->last_parts = ev->parts;
    return true;
}

void kgm_revoke_done(kgm *m, int64_t now)
{
    if (m->ph != PH_REVOKE_WAIT)
        return;
    m->ph = m->after_revoke;
    m->join_at = now;
}

void kgm_rejoin(kgm *m, int64_t now) { start_round(m, now); }

kafka_err kgm_commit(kgm *m, const kgm_partition *offs, size_t n, void *token, int64_t deadline, int64_t now)
{
    (void)now;
    commit_batch *b = kafka_calloc(1, sizeof *b);
    kgm_partition *c = kafka_malloc((n ? n : 1) * sizeof *c);
    if (!b || !c) {
        kafka_free(b);
        kafka_free(c);
        return KAFKA_ERR_NOMEM;
    }
    if (n)
        memcpy(c, offs, n * sizeof *c);
    *b = (commit_batch){.parts = c, .n = n, .token = token, .deadline = deadline};
    if (m->ph == PH_DONE || (m->generation < 0 && m->ph != PH_JOINING && m->ph != PH_SYNC && m->ph != PH_SYNCING)) {
        commit_fail(m, b, m->ph == PH_DONE ? KAFKA_ERR_CLOSED : KAFKA_ERR_REBALANCE_IN_PROGRESS);
        return 0;
    }
    if (m->commits_tail)
        m->commits_tail->next = b;
    else
        m->commits = b;
    m->commits_tail = b;
    return 0;
}

void kgm_leave(kgm *m, int64_t now)
{
    (void)now;
    if (m->ph == PH_DONE || m->ph == PH_LEAVING)
        return;
    if (m->generation < 0) {
        /* Commits need a generation: those queued cannot go now. */
        while (m->commits) {
            commit_batch *b = m->commits;
            if (b->in_flight)
                break;
            commit_unlink(m, b);
            commit_fail(m, b, KAFKA_ERR_REBALANCE_IN_PROGRESS);
        }
    }
    m->ph = PH_LEAVING;
    /* A static member keeps its place for a session timeout; a member that
     * never joined has nothing to leave: no LeaveGroup, only the commits
     * queued. */
    m->leave_sent = m->instance_id || !m->member_id[0];
}

int32_t kgm_generation(const kgm *m) { return m->generation; }
const char *kgm_member_id(const kgm *m) { return m->member_id; }
bool kgm_is_leader(const kgm *m) { return m->leader; }
bool kgm_rebalancing(const kgm *m) { return m->ph != PH_STABLE || m->to_fetch.n > 0; }
int64_t kgm_rounds(const kgm *m) { return m->rounds; }
