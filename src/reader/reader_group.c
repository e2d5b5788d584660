/* Group mode of a kafka_reader: the membership state machine
 * (group/membership.h) driven from the reader's I/O thread, over its own
 * connection to the coordinator (kafka_engine_coordinator: a Fetch
 * long-poll never delays a Heartbeat); FindCoordinator goes through the
 * engine too (the cluster's sans-I/O face), so nothing here blocks. Rebalance callbacks run in the
 * application's thread, inside its read calls and close; a revocation
 * waits for its callback (bounded by half the rebalance timeout), then
 * commits what was delivered and lets the machine rejoin. Synchronous
 * commits from application threads are posted to the I/O thread. */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "protocol/gen/api_keys.h"
#include "reader/reader_internal.h"

/* A rebalance callback waiting for the application's thread. */
typedef struct kr_cb {
    struct kr_cb *next;
    bool revoked; /* on_revoked, else on_assigned */
    kafka_reader_partition *parts;
    size_t n;
    uint64_t seq; /* a revocation waiting for it (0: none) */
} kr_cb;

/* A revocation waiting for its callback (I/O thread). */
typedef struct kr_revoke {
    kr_part **ps;
    size_t n;
    uint64_t seq;
} kr_revoke;

/* A commit handed to the I/O thread. */
typedef struct kr_commit_job {
    struct kr_commit_job *next;     /* r->jobs: not yet given to the machine */
    struct kr_commit_job *all_next; /* r->all_jobs: every live job */
    kgm_partition *parts;
    size_t n;
    int64_t deadline;
    bool internal;  /* no waiter (periodic, revoke): freed when done */
    bool done;      /* mu */
    bool abandoned; /* mu: the waiter gave up; freed when done */
    kafka_err err;
} kr_commit_job;

/* Reader state of group mode not worth a field each in kafka_reader. */
typedef struct kr_group_io {
    kr_commit_job *all_jobs; /* mu */
    uint64_t cb_seq;         /* I/O thread: last revocation seq given */
    uint64_t cb_done_seq;    /* mu: last revocation whose callback ran */
    bool leave_given;        /* I/O thread */
    /* I/O thread: the FindCoordinator through the engine */
    bool fc_in_flight, fc_done;
    kafka_err fc_err;
    int32_t fc_broker;
    int16_t fc_version;
    size_t fc_rr; /* where the broker search starts (ke_any_broker) */
    bool connecting; /* I/O thread: this turn waits for a connection setup */
    char fc_why[300];
} kr_group_io;

static kr_group_io *gio(kafka_reader *r) { return r->grp; }

/* ---- helpers --------------------------------------------------------------- */

kr_part *kr_group_part_owned_locked(kafka_reader *r, const char *topic, int32_t partition)
{
    kr_part *p = kr_part_find_locked(r, topic, partition);
    for (size_t i = 0; !p && i < r->n_revoking; i++)
        if (r->revoking[i]->partition == partition && strcmp(r->revoking[i]->topic, topic) == 0)
            p = r->revoking[i];
    return p;
}

/* Adds to each part's pending commit what read_message delivered from it
 * (read_pos): read_message promises that commit, and a revoke between its
 * delivery and its own commit must not leave the message to the next
 * owner. Messages from fetch_message are the application's to commit
 * (at-least-once), so they are not. Parts stopped (read_pos is fixed). */
static void adopt_read_positions(kafka_reader *r, kr_part **ps, size_t n)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        int64_t rp = atomic_load(&ps[i]->read_pos);
        if (rp > ps[i]->pending_commit && rp > ps[i]->committed)
            ps[i]->pending_commit = rp;
    }
    pthread_mutex_unlock(&r->mu);
}

static void job_free(kr_commit_job *j)
{
    if (!j)
        return;
    kafka_free(j->parts);
    kafka_free(j);
}

/* A job for what ps[0..n) (every part when ps == NULL) has pending; NULL
 * when nothing is (or no memory). mu held. */
static kr_commit_job *pending_job_locked(kafka_reader *r, kr_part **ps, size_t n, int64_t deadline)
{
    if (!ps) {
        ps = r->parts;
        n = r->n_parts;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ps[i]->pending_commit >= 0 && ps[i]->pending_commit > ps[i]->committed)
            k++;
    if (!k)
        return NULL;
    kr_commit_job *j = kafka_calloc(1, sizeof *j);
    kgm_partition *parts = kafka_calloc(k, sizeof *parts);
    if (!j || !parts) {
        kafka_free(j);
        kafka_free(parts);
        return NULL;
    }
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (ps[i]->pending_commit >= 0 && ps[i]->pending_commit > ps[i]->committed)
            parts[k++] = (kgm_partition){ps[i]->topic, ps[i]->partition, ps[i]->pending_commit, 0};
    j->parts = parts;
    j->n = k;
    j->deadline = deadline;
    return j;
}

/* Hands job to the I/O thread (mu held). */
static void post_job_locked(kafka_reader *r, kr_commit_job *j)
{
    kr_commit_job **pp = &r->jobs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    j->all_next = gio(r)->all_jobs;
    gio(r)->all_jobs = j;
}

static void unlink_all_locked(kafka_reader *r, kr_commit_job *j)
{
    kr_commit_job **pp = &gio(r)->all_jobs;
    while (*pp && *pp != j)
        pp = &(*pp)->all_next;
    if (*pp)
        *pp = j->all_next;
}

static void cb_push_locked(kafka_reader *r, kr_cb *cb)
{
    kr_cb **pp = &r->cbq;
    while (*pp)
        pp = &(*pp)->next;
    *pp = cb;
    pthread_cond_broadcast(&r->cond_data);
}

/* A callback for parts (mu held); the offsets as the callback reports them. */
static kr_cb *cb_new_locked(kafka_reader *r, kr_part **ps, size_t n, bool revoked)
{
    (void)r;
    kr_cb *cb = kafka_calloc(1, sizeof *cb);
    kafka_reader_partition *a = kafka_calloc(n ? n : 1, sizeof *a);
    if (!cb || !a) {
        kafka_free(cb);
        kafka_free(a);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        a[i].topic = ps[i]->topic;
        a[i].partition = ps[i]->partition;
        a[i].offset = revoked ? kr_part_position_locked(ps[i]) : (ps[i]->fetch_offset >= 0 ? ps[i]->fetch_offset : -1);
    }
    cb->revoked = revoked;
    cb->parts = a;
    cb->n = n;
    return cb;
}

void kr_group_run_callbacks(kafka_reader *r)
{
    for (;;) {
        pthread_mutex_lock(&r->mu);
        kr_cb *cb = r->cbq;
        if (cb)
            r->cbq = cb->next;
        pthread_mutex_unlock(&r->mu);
        if (!cb)
            return;
        kafka_rebalance_fn fn = cb->revoked ? r->cfg.on_revoked : r->cfg.on_assigned;
        if (fn && cb->n)
            fn(r->cfg.rebalance_privdata, r, cb->parts, cb->n);
        if (cb->seq) {
            pthread_mutex_lock(&r->mu);
            if (cb->seq > gio(r)->cb_done_seq)
                gio(r)->cb_done_seq = cb->seq;
            pthread_mutex_unlock(&r->mu);
            kr_io_wake(r);
        }
        kafka_free(cb->parts);
        kafka_free(cb);
    }
}

/* ---- events of the machine (I/O thread) ---------------------------------------------- */

typedef struct ev_set {
    const kgm_partition *parts;
    size_t n;
} ev_set;

static bool in_set(const kr_part *p, void *arg)
{
    const ev_set *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (s->parts[i].partition == p->partition && strcmp(s->parts[i].topic, p->topic) == 0)
            return true;
    return false;
}

/* Gives the machine what ps[0..n) (every part: NULL) has pending, as a
 * commit nobody waits for (I/O thread). */
static void commit_pending(kafka_reader *r, kr_part **ps, size_t n, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    kr_commit_job *j = pending_job_locked(r, ps, n, now + r->cfg.session_timeout_ms / 2);
    if (j) {
        j->internal = true;
        j->all_next = gio(r)->all_jobs;
        gio(r)->all_jobs = j;
    }
    pthread_mutex_unlock(&r->mu);
    if (j && kgm_commit(r->gm, j->parts, j->n, j, j->deadline, now) != 0) {
        pthread_mutex_lock(&r->mu);
        unlink_all_locked(r, j);
        pthread_mutex_unlock(&r->mu);
        job_free(j);
    }
}

/* The revocation's callback ran (or there is none): commit what it added,
 * and let the machine go on. */
static void finish_revoke(kafka_reader *r, int64_t now)
{
    kr_revoke *rv = r->rv;
    r->rv = NULL;
    commit_pending(r, rv->ps, rv->n, now);
    pthread_mutex_lock(&r->mu);
    r->revoking = NULL;
    r->n_revoking = 0;
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < rv->n; i++)
        kr_part_release(rv->ps[i]);
    kafka_free(rv->ps);
    kafka_free(rv);
    kgm_revoke_done(r->gm, now);
}

static void begin_revoke(kafka_reader *r, const kgm_event *ev, int64_t now)
{
    if (r->rv)
        finish_revoke(r, now); /* an older one: its callback comes late */
    ev_set set = {ev->parts, ev->n};
    kr_part **ps = NULL;
    size_t n = 0;
    kr_parts_stop(r, in_set, &set, &ps, &n);
    /* What read_message delivered is committed now, before the callback
     * (which may run much later, in the application's next read): the
     * next owner must not read it again. */
    if (ps) {
        adopt_read_positions(r, ps, n);
        commit_pending(r, ps, n, now);
    }
    kr_revoke *rv = kafka_calloc(1, sizeof *rv);
    if (!ps || !rv) {
        kafka_free(rv);
        for (size_t i = 0; ps && i < n; i++)
            kr_part_release(ps[i]);
        kafka_free(ps);
        kgm_revoke_done(r->gm, now);
        return;
    }
    rv->ps = ps;
    rv->n = n;
    r->rv = rv;
    pthread_mutex_lock(&r->mu);
    r->revoking = ps;
    r->n_revoking = n;
    kr_cb *cb = r->cfg.on_revoked && n ? cb_new_locked(r, ps, n, true) : NULL;
    if (cb) {
        rv->seq = cb->seq = ++gio(r)->cb_seq;
        cb_push_locked(r, cb);
    }
    pthread_mutex_unlock(&r->mu);
    kr_log(r, KAFKA_LOG_INFO, "group %s: revoking %zu partition(s)", r->group_id, n);
    if (!cb)
        finish_revoke(r, now);
}

static void lose(kafka_reader *r, const kgm_event *ev)
{
    ev_set set = {ev->parts, ev->n};
    kr_part **ps = NULL;
    size_t n = 0;
    kr_parts_stop(r, in_set, &set, &ps, &n);
    kr_log(r, KAFKA_LOG_WARN, "group %s: %zu partition(s) lost", r->group_id, n);
    pthread_mutex_lock(&r->mu);
    kr_cb *cb = r->cfg.on_revoked && ps && n ? cb_new_locked(r, ps, n, true) : NULL;
    if (cb)
        cb_push_locked(r, cb);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; ps && i < n; i++)
        kr_part_release(ps[i]);
    kafka_free(ps);
}

static void assign(kafka_reader *r, const kgm_event *ev)
{
    int64_t def = r->cfg.start_offset == KAFKA_START_LAST ? KAFKA_OFFSET_LAST : KAFKA_OFFSET_FIRST;
    kr_part **started = kafka_calloc(ev->n ? ev->n : 1, sizeof *started);
    size_t ns = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const kgm_partition *p = &ev->parts[i];
        kafka_err err = kr_part_start(r, p->topic, p->partition, p->offset >= 0 ? p->offset : def);
        if (err) {
            kr_error(r, err, "group %s: start %s [%d]: %s", r->group_id, p->topic, p->partition, kafka_err_str(err));
            continue;
        }
        pthread_mutex_lock(&r->mu);
        kr_part *kp = started ? kr_part_find_locked(r, p->topic, p->partition) : NULL;
        if (kp) {
            atomic_fetch_add(&kp->refs, 1);
            started[ns++] = kp;
        }
        pthread_mutex_unlock(&r->mu);
    }
    kr_log(r, KAFKA_LOG_INFO, "group %s: %zu partition(s) assigned", r->group_id, ev->n);
    pthread_mutex_lock(&r->mu);
    kr_cb *cb = r->cfg.on_assigned && ns ? cb_new_locked(r, started, ns, false) : NULL;
    if (cb)
        cb_push_locked(r, cb);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < ns; i++)
        kr_part_release(started[i]);
    kafka_free(started);
}

static void commit_done(kafka_reader *r, const kgm_event *ev)
{
    kr_commit_job *j = ev->token;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < ev->n; i++) {
        const kgm_partition *p = &ev->parts[i];
        kr_part *kp = kr_group_part_owned_locked(r, p->topic, p->partition);
        if (!kp || p->err)
            continue;
        if (p->offset > kp->committed)
            kp->committed = p->offset;
        if (kp->pending_commit >= 0 && kp->pending_commit <= p->offset)
            kp->pending_commit = -1;
    }
    if (!ev->err)
        r->st.commits++;
    else
        r->st.errors++;
    bool free_it = false;
    if (j) {
        for (size_t i = 0; i < ev->n && i < j->n; i++)
            j->parts[i].err = ev->parts[i].err;
        j->err = ev->err;
        j->done = true;
        free_it = j->internal || j->abandoned;
        if (free_it)
            unlink_all_locked(r, j);
        pthread_cond_broadcast(&r->cond_group);
    }
    pthread_mutex_unlock(&r->mu);
    if (ev->err)
        kr_log(r, KAFKA_LOG_WARN, "group %s: commit: %s", r->group_id, kafka_err_str(ev->err));
    if (free_it)
        job_free(j);
}

static void group_error(kafka_reader *r, const kgm_event *ev)
{
    kr_error(r, ev->err, "%s", ev->text);
    kr_log(r, ev->fatal ? KAFKA_LOG_ERROR : KAFKA_LOG_WARN, "group %s: %s (%s)%s", r->group_id, ev->text,
           kafka_err_name(ev->err), ev->fatal ? "" : "; retrying");
    if (ev->fatal || kafka_group_err_for_reader(ev->err)) {
        /* TLS, SASL, authorization, a bad group id, fenced...: the read
         * says so now (the group keeps retrying unless fatal, in case it
         * is fixed); other errors leave their text in
         * kafka_reader_last_error for the read's TIMEOUT. */
        pthread_mutex_lock(&r->mu);
        r->deliver_err = ev->err;
        pthread_cond_broadcast(&r->cond_data);
        pthread_mutex_unlock(&r->mu);
    }
}

static void handle_events(kafka_reader *r, int64_t now)
{
    kgm_event ev;
    while (kgm_next_event(r->gm, &ev)) {
        switch (ev.kind) {
        case KGM_EV_ASSIGNED:
            assign(r, &ev);
            break;
        case KGM_EV_REVOKE:
            begin_revoke(r, &ev, now);
            break;
        case KGM_EV_LOST:
            lose(r, &ev);
            break;
        case KGM_EV_COMMIT_DUE:
            commit_pending(r, NULL, 0, now);
            break;
        case KGM_EV_COMMIT_DONE:
            commit_done(r, &ev);
            break;
        case KGM_EV_ERROR:
            group_error(r, &ev);
            break;
        case KGM_EV_LEFT:
            kr_log(r, ev.err ? KAFKA_LOG_WARN : KAFKA_LOG_INFO, "group %s: leave: %s", r->group_id,
                   kafka_err_name(ev.err));
            pthread_mutex_lock(&r->mu);
            r->group_done = true;
            pthread_cond_broadcast(&r->cond_group);
            pthread_mutex_unlock(&r->mu);
            break;
        case KGM_EV_NONE:
            break;
        }
    }
}

/* ---- the coordinator and the requests (I/O thread) ------------------------------------- */

typedef struct rq_ctx {
    kafka_reader *r;
    uint32_t id;
} rq_ctx;

static void on_response(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    rq_ctx *c = arg;
    kafka_reader *r = c->r;
    if (err && err != KAFKA_ERR_CLOSED)
        kr_log(r, KAFKA_LOG_DEBUG, "group %s: request to the coordinator failed: %s", r->group_id, why);
    kr_log(r, KAFKA_LOG_DEBUG, "group %s: response %u: %s", r->group_id, c->id, kafka_err_name(err));
    kgm_response(r->gm, c->id, err, body, len, kafka_now_ms());
    kafka_free(frame);
    kafka_free(c);
}

static kafka_err copy_enc(kafka_wbuf *w, int16_t v, const void *m)
{
    (void)v;
    const kafka_wbuf *src = m;
    kafka_put_raw(w, src->data, src->len);
    return w->oom ? KAFKA_ERR_NOMEM : 0;
}

/* The FindCoordinator answer (on the I/O thread): applied to the cluster's
 * cache; the next turn connects to the coordinator. */
static void on_find_coordinator(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                                size_t len)
{
    kafka_reader *r = arg;
    kr_group_io *g = gio(r);
    int32_t broker = -1;
    if (!err) {
        err = kafka_cluster_fc_answer(r->kc, r->group_id, 0, g->fc_version, body, len, &broker);
        why = kafka_err_str(err);
    }
    g->fc_in_flight = false;
    g->fc_done = true;
    g->fc_err = err;
    g->fc_broker = broker;
    snprintf(g->fc_why, sizeof g->fc_why, "find coordinator of group %s: %s", r->group_id, why ? why : "");
    kafka_free(frame);
}

/* Asks any broker for the group's coordinator, through the engine. */
static void find_coordinator(kafka_reader *r, kafka_engine *e, int64_t now)
{
    kr_group_io *g = gio(r);
    if (g->fc_in_flight)
        return;
    kafka_cluster_invalidate_coordinator(r->kc, r->group_id, 0);
    int32_t b = -1;
    char why[300] = "";
    kafka_err err = ke_any_broker(e, r->kc, &g->fc_rr, &b, why, sizeof why);
    if (err == KAFKA_ERR_STATE) {
        /* Connections being set up: a later turn (the engine gives one when
         * a setup ends). */
        kgm_coordinator_pending(r->gm, now + r->cfg.backoff_min_ms);
        return;
    }
    int16_t v = err ? -1 : kafka_engine_version(e, b, KAFKA_API_FIND_COORDINATOR, 0, INT16_MAX, why, sizeof why);
    if (!err && v < 0)
        err = KAFKA_ERR_NO_COMMON_VERSION;
    if (!err) {
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        g->fc_version = v;
        err = kafka_cluster_fc_encode(r->group_id, 0, v, &w);
        if (!err)
            err = kafka_engine_send(e, b, KAFKA_API_FIND_COORDINATOR, v, copy_enc, &w, now + r->cfg.dial_timeout_ms,
                                    on_find_coordinator, r);
        kafka_wbuf_free(&w);
        if (err)
            snprintf(why, sizeof why, "%s", kafka_err_str(err));
    }
    if (err) {
        char text[400];
        snprintf(text, sizeof text, "find coordinator of group %s: %s", r->group_id, why);
        kgm_coordinator_failed(r->gm, err, text, now);
        return;
    }
    g->fc_in_flight = true;
}

/* The FindCoordinator answered: connect to the coordinator (its own
 * connection) and tell the machine. */
static void coordinator_found(kafka_reader *r, kafka_engine *e, int64_t now)
{
    kr_group_io *g = gio(r);
    g->fc_done = false;
    if (g->fc_err) {
        kgm_coordinator_failed(r->gm, g->fc_err, g->fc_why, now);
        return;
    }
    char cwhy[256] = "";
    kafka_err err = kafka_engine_broker(e, kafka_engine_coordinator(g->fc_broker), cwhy, sizeof cwhy);
    if (err == KAFKA_ERR_STATE) {
        g->fc_done = true; /* connecting: look again at a later turn */
        kgm_coordinator_pending(r->gm, now + r->cfg.backoff_min_ms);
        return;
    }
    if (err) {
        char why[400];
        snprintf(why, sizeof why, "connect to coordinator %d of group %s: %s", g->fc_broker, r->group_id, cwhy);
        kgm_coordinator_failed(r->gm, err, why, kafka_now_ms());
        return;
    }
    kr_log(r, KAFKA_LOG_DEBUG, "group %s: coordinator is broker %d", r->group_id, g->fc_broker);
    kgm_coordinator(r->gm, g->fc_broker, kafka_now_ms());
}

static void send_requests(kafka_reader *r, kafka_engine *e, int64_t now)
{
    int32_t coord = kgm_coordinator_id(r->gm);
    if (coord < 0)
        return;
    int32_t key = kafka_engine_coordinator(coord);
    char why[256] = "";
    kafka_err err = kafka_engine_broker(e, key, why, sizeof why);
    if (err == KAFKA_ERR_STATE) {
        gio(r)->connecting = true; /* the engine gives a turn when it is done */
        return;
    }
    if (err) {
        char text[400];
        snprintf(text, sizeof text, "connect to coordinator %d of group %s: %s", coord, r->group_id, why);
        kgm_coordinator_failed(r->gm, err, text, now);
        return;
    }
    kgm_request rq;
    while (kgm_next_request(r->gm, now, &rq)) {
        err = kafka_engine_broker(e, key, why, sizeof why);
        int16_t v = err ? -1 : kafka_engine_version(e, key, rq.api_key, rq.min_version, rq.max_version, why, sizeof why);
        if (!err && v < 0)
            err = KAFKA_ERR_NO_COMMON_VERSION;
        if (err) {
            kr_log(r, KAFKA_LOG_DEBUG, "group %s: %s", r->group_id, why);
            kgm_response(r->gm, rq.id, err, NULL, 0, now);
            continue;
        }
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        kr_log(r, KAFKA_LOG_DEBUG, "group %s: request %u: api %d v%d", r->group_id, rq.id, rq.api_key, v);
        if (kgm_build(r->gm, rq.id, v, &w, now) == 0) {
            rq_ctx *c = kafka_malloc(sizeof *c);
            err = c ? 0 : KAFKA_ERR_NOMEM;
            if (c) {
                *c = (rq_ctx){r, rq.id};
                err = kafka_engine_send(e, key, rq.api_key, v, copy_enc, &w, rq.deadline, on_response, c);
                if (err)
                    kafka_free(c);
            }
            if (err)
                kgm_response(r->gm, rq.id, err, NULL, 0, now);
        }
        kafka_wbuf_free(&w);
    }
}

int64_t kr_group_turn(kafka_reader *r, kafka_engine *e, int64_t now)
{
    kgm *m = r->gm;
    /* What the application threads posted. */
    pthread_mutex_lock(&r->mu);
    kr_commit_job *jobs = r->jobs;
    r->jobs = NULL;
    bool leave = r->leave_asked && !gio(r)->leave_given;
    bool cb_done = r->rv && gio(r)->cb_done_seq >= r->rv->seq;
    pthread_mutex_unlock(&r->mu);
    while (jobs) {
        kr_commit_job *j = jobs;
        jobs = j->next;
        j->next = NULL;
        kgm_commit(m, j->parts, j->n, j, j->deadline, now);
    }
    if (cb_done)
        finish_revoke(r, now);
    if (leave) {
        gio(r)->leave_given = true;
        kgm_leave(m, now);
    }
    handle_events(r, now); /* what the responses since the last turn brought */
    kgm_tick(m, now);
    gio(r)->connecting = false;
    if (gio(r)->fc_done)
        coordinator_found(r, e, now);
    if (kgm_needs_coordinator(m, now))
        find_coordinator(r, e, now);
    send_requests(r, e, now);
    handle_events(r, now);
    pthread_mutex_lock(&r->mu);
    r->gen_valid = kgm_generation(m) >= 0;
    r->st.rebalances = kgm_rounds(m);
    pthread_mutex_unlock(&r->mu);
    int64_t next = kgm_deadline(m);
    /* Waiting for the coordinator's connection: not a busy loop (its setup
     * brings a turn; this bounds the wait). */
    if (gio(r)->connecting && next >= 0 && next < now + r->cfg.backoff_min_ms)
        next = now + r->cfg.backoff_min_ms;
    return next;
}

/* ---- application threads ----------------------------------------------------------------- */

/* Waits for job (posted; mu held) until done, the deadline or (unless
 * closer) close. Returns with mu held; the job is the caller's to free
 * when done, else abandoned to the I/O thread. */
static kafka_err wait_job_locked(kafka_reader *r, kr_commit_job *j, int64_t deadline, bool closer)
{
    while (!j->done) {
        if (r->closing && !closer)
            break;
        int64_t left = deadline < 0 ? 1000 : deadline - kafka_now_ms();
        if (left <= 0)
            break;
        kr_cond_wait_ms(&r->cond_group, &r->mu, left);
    }
    if (j->done) {
        unlink_all_locked(r, j);
        return j->err;
    }
    /* Not handed to the machine yet: take it back. */
    kr_commit_job **pp = &r->jobs;
    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = j->next;
        unlink_all_locked(r, j);
        j->done = true; /* the caller frees it */
    } else {
        j->abandoned = true;
    }
    return r->closing && !closer ? KAFKA_ERR_CLOSED : KAFKA_ERR_TIMEOUT;
}

static kafka_err commit_offsets(kafka_reader *r, kafka_group_offset *offs, size_t n, int64_t deadline, bool closer)
{
    kr_commit_job *j = kafka_calloc(1, sizeof *j);
    kgm_partition *parts = kafka_calloc(n ? n : 1, sizeof *parts);
    if (!j || !parts) {
        kafka_free(j);
        kafka_free(parts);
        return KAFKA_ERR_NOMEM;
    }
    j->parts = parts;
    j->n = n;
    j->deadline = deadline;
    pthread_mutex_lock(&r->mu);
    kafka_err err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        /* The machine keeps the topic until the commit is done: the
         * reader's interned copy lives until close. */
        const char *t = kr_intern_topic_locked(r, offs[i].topic);
        if (!t)
            err = KAFKA_ERR_NOMEM;
        parts[i] = (kgm_partition){t, offs[i].partition, offs[i].offset, 0};
    }
    if (err) {
        pthread_mutex_unlock(&r->mu);
        job_free(j);
        return err;
    }
    post_job_locked(r, j);
    pthread_mutex_unlock(&r->mu);
    kr_io_wake(r);
    pthread_mutex_lock(&r->mu);
    err = wait_job_locked(r, j, deadline, closer);
    bool mine = j->done;
    for (size_t i = 0; i < n; i++)
        offs[i].err = mine ? j->parts[i].err : err;
    pthread_mutex_unlock(&r->mu);
    if (mine)
        job_free(j);
    if (err)
        kr_error(r, err, "group %s: commit: %s", r->group_id, kafka_err_str(err));
    return err;
}

kafka_err kr_group_commit_sync(kafka_reader *r, kafka_group_offset *offs, size_t n, int64_t deadline)
{
    return commit_offsets(r, offs, n, deadline, false);
}

void kr_group_stop(kafka_reader *r, int64_t deadline)
{
    kr_group_run_callbacks(r);
    /* The revoked callback for everything, here in the closing thread, and
     * the final commit of what was delivered and is pending. */
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_parts;
    kr_part **ps = kafka_calloc(n ? n : 1, sizeof *ps);
    for (size_t i = 0; ps && i < n; i++) {
        ps[i] = r->parts[i];
        atomic_fetch_add(&ps[i]->refs, 1);
    }
    kr_cb *cb = ps && n && r->cfg.on_revoked ? cb_new_locked(r, ps, n, true) : NULL;
    bool commit = r->gen_valid && !r->abandon;
    pthread_mutex_unlock(&r->mu);
    if (cb) {
        r->cfg.on_revoked(r->cfg.rebalance_privdata, r, cb->parts, cb->n);
        kafka_free(cb->parts);
        kafka_free(cb);
    }
    if (ps && commit) {
        adopt_read_positions(r, ps, n);
        pthread_mutex_lock(&r->mu);
        kr_commit_job *j = pending_job_locked(r, ps, n, deadline);
        pthread_mutex_unlock(&r->mu);
        if (j) {
            kafka_group_offset *offs = kafka_calloc(j->n, sizeof *offs);
            for (size_t i = 0; offs && i < j->n; i++)
                offs[i] = (kafka_group_offset){j->parts[i].topic, j->parts[i].partition, j->parts[i].offset, 0};
            r->close_err = offs ? commit_offsets(r, offs, j->n, deadline, true) : KAFKA_ERR_NOMEM;
            kafka_free(offs);
            job_free(j);
        }
    }
    for (size_t i = 0; ps && i < n; i++)
        kr_part_release(ps[i]);
    kafka_free(ps);
    /* LeaveGroup (not for static members, nor for a crash-like close). */
    pthread_mutex_lock(&r->mu);
    if (r->abandon)
        r->group_done = true;
    else
        r->leave_asked = true;
    pthread_mutex_unlock(&r->mu);
    kr_io_wake(r);
    pthread_mutex_lock(&r->mu);
    while (!r->group_done) {
        int64_t left = deadline - kafka_now_ms();
        if (left <= 0)
            break;
        kr_cond_wait_ms(&r->cond_group, &r->mu, left);
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static kafka_err partition_count(void *arg, const char *topic, int32_t *count)
{
    kafka_reader *r = arg;
    const kafka_cluster_topic *ct = NULL;
    bool refresh = false;
    /* Without blocking: a topic not cached yet is asked for (the reader's
     * Metadata through the engine) and the machine asks again. */
    kafka_err err = kafka_cluster_topic_cached(r->kc, topic, kafka_now_ms(), &ct, &refresh);
    if (refresh)
        ke_meta_want(&r->md, topic);
    if (!err && !ct)
        return KAFKA_ERR_TIMEOUT;
    if (!err && ct->err)
        err = ct->err;
    if (!err)
        *count = ct->n_partitions;
    else
        kr_log(r, KAFKA_LOG_WARN, "assign: topic %s: %s (skipped)", topic, kafka_err_str(err));
    if (ct)
        kafka_cluster_topic_release(r->kc, ct);
    return err;
}

kafka_err kr_group_init(kafka_reader *r)
{
    kr_group_io *g = kafka_calloc(1, sizeof *g);
    if (!g)
        return KAFKA_ERR_NOMEM;
    r->grp = g;
    kgm_config c = {
        .group_id = r->group_id,
        .instance_id = r->instance_id,
        .topics = (const char *const *)r->group_topics,
        .n_topics = r->n_group_topics,
        .assignors = r->assignors,
        .n_assignors = r->n_assignors,
        .session_timeout_ms = r->cfg.session_timeout_ms,
        .rebalance_timeout_ms = r->cfg.rebalance_timeout_ms,
        .heartbeat_interval_ms = r->cfg.heartbeat_interval_ms,
        .commit_interval_ms = r->cfg.commit_interval_ms,
        .backoff_min_ms = r->cfg.backoff_min_ms,
        .backoff_max_ms = r->cfg.backoff_max_ms,
        .partition_count = partition_count,
        .arg = r,
    };
    return kgm_new(&r->gm, &c, kafka_now_ms());
}

void kr_group_free(kafka_reader *r)
{
    kr_group_io *g = gio(r);
    if (r->rv) {
        for (size_t i = 0; i < r->rv->n; i++)
            kr_part_release(r->rv->ps[i]);
        kafka_free(r->rv->ps);
        kafka_free(r->rv);
        r->rv = NULL;
    }
    while (r->cbq) {
        kr_cb *cb = r->cbq;
        r->cbq = cb->next;
        kafka_free(cb->parts);
        kafka_free(cb);
    }
    while (g && g->all_jobs) {
        kr_commit_job *j = g->all_jobs;
        g->all_jobs = j->all_next;
        job_free(j);
    }
    kgm_free(r->gm);
    r->gm = NULL;
    kafka_free(g);
    r->grp = NULL;
}

void kr_reader_abandon_for_test(kafka_reader *r)
{
    pthread_mutex_lock(&r->mu);
    r->abandon = true;
    pthread_mutex_unlock(&r->mu);
}

void kr_reader_after_read_hook_for_test(kafka_reader *r, void (*hook)(void *arg, kafka_reader *r), void *arg)
{
    r->after_read_hook = hook;
    r->after_read_arg = arg;
}
