/*
 * kafka_cluster: metadata cache, coordinators and the connection pool.
 * See cluster.h for the contract. One mutex guards everything; no I/O is
 * ever done while holding it (dials and requests run unlocked, with the
 * state they need copied out first).
 */
#include "cluster/cluster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster_util.h"
#include "common/alloc.h"
#include "common/arena.h"
#include "common/backoff.h"
#include "conn/conn_internal.h"
#include "net/stream.h"
#include "protocol/api.h"
#include "protocol/gen/find_coordinator.h"
#include "protocol/gen/metadata.h"

KAFKA_CONN_ENCODER(metadata_request)
KAFKA_CONN_DECODER(metadata_response)
KAFKA_CONN_ENCODER(find_coordinator_request)
KAFKA_CONN_DECODER(find_coordinator_response)

/* ---- types ---------------------------------------------------------------- */

typedef struct topic_snap { /* pub must stay first: see kafka_cluster_topic_release */
    kafka_cluster_topic pub;
    atomic_int refs;
} topic_snap;

typedef struct topic_entry {
    char *name;
    topic_snap *snap; /* NULL until first fetched */
    int64_t fetched_at;
    uint64_t gen; /* kafka_cluster.md_gen of the answer that set snap */
    bool stale;
} topic_entry;

typedef struct conn_list {
    kafka_conn **v;
    size_t n, cap;
} conn_list;

typedef struct broker_entry {
    int32_t id;   /* bootstrap entries have ids <= -2 */
    char *addr;   /* "host:port" */
    conn_list idle;
    conn_list busy;
    int dialing;  /* dials in progress (count toward the limit) */
    bool known;   /* present in the last metadata (or a coordinator) */
} broker_entry;

typedef struct coord_entry {
    char *key;
    int8_t type;
    int32_t broker;
} coord_entry;

struct kafka_cluster {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool closed;

    kafka_cluster_config cfg;
    kafka_dialer_config dialer;
    char *dialer_strings[9];

    broker_entry *brokers;
    size_t n_brokers, cap_brokers;
    size_t next_any; /* round-robin start for acquire_any */

    topic_entry *topics;
    size_t n_topics, cap_topics;

    coord_entry *coords;
    size_t n_coords, cap_coords;

    /* Connections to close once the mutex is released (cluster_unlock):
     * kafka_conn_close may run a user transport's close callback, which
     * must not run under this lock (it may block, or call into libkafka). */
    conn_list reap;

    bool refreshing;
    int64_t last_refresh;
    uint64_t md_gen; /* answers applied */
};

#define BOOTSTRAP_ID_BASE (-2)
/* Brokers taken from one Metadata answer; real clusters have far fewer. */
#define KAFKA_CLUSTER_MAX_BROKERS 10000

/* ---- small helpers -------------------------------------------------------- */

static int64_t now_ms(void) { return kafka_now_ms(); }

static bool past(int64_t deadline) { return deadline >= 0 && now_ms() >= deadline; }

static int remaining_ms(int64_t deadline, int cap)
{
    if (deadline < 0)
        return cap;
    int64_t r = deadline - now_ms();
    if (r < 0)
        r = 0;
    return r < cap ? (int)r : cap;
}

/* Waits on the condition variable until signalled or the deadline (or at
 * most max_ms when max_ms >= 0). Returns false when the deadline passed. */
static bool cond_wait_until(kafka_cluster *kc, int64_t deadline, int max_ms)
{
    int64_t until = deadline;
    if (max_ms >= 0 && (until < 0 || until > now_ms() + max_ms))
        until = now_ms() + max_ms;
    if (until < 0) {
        pthread_cond_wait(&kc->cv, &kc->mu);
        return true;
    }
    int64_t wait = until - now_ms();
    if (wait <= 0)
        return !past(deadline);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&kc->cv, &kc->mu, &ts);
    return !past(deadline);
}

static bool list_push(conn_list *l, kafka_conn *c)
{
    if (!kafka_array_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, 4))
        return false;
    l->v[l->n++] = c;
    return true;
}

static bool list_remove(conn_list *l, kafka_conn *c)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == c) {
            l->v[i] = l->v[--l->n];
            return true;
        }
    }
    return false;
}

static broker_entry *broker_find(kafka_cluster *kc, int32_t id)
{
    for (size_t i = 0; i < kc->n_brokers; i++)
        if (kc->brokers[i].id == id)
            return &kc->brokers[i];
    return NULL;
}

/* Queues c to be closed by cluster_unlock. Locked. */
static void close_later(kafka_cluster *kc, kafka_conn *c)
{
    if (!list_push(&kc->reap, c))
        kafka_conn_close(c); /* out of memory: closing now beats leaking */
}

/* Releases the mutex, then closes what close_later queued. */
static void cluster_unlock(kafka_cluster *kc)
{
    conn_list r = {0};
    if (kc->reap.n) {
        r = kc->reap;
        kc->reap = (conn_list){0};
    }
    pthread_mutex_unlock(&kc->mu);
    for (size_t i = 0; i < r.n; i++)
        kafka_conn_close(r.v[i]);
    kafka_free(r.v);
}

static void close_idle(kafka_cluster *kc, broker_entry *b)
{
    for (size_t i = 0; i < b->idle.n; i++)
        close_later(kc, b->idle.v[i]);
    b->idle.n = 0;
}

/* Adds or updates broker `id` at addr. Caller holds the lock. */
static kafka_err broker_upsert(kafka_cluster *kc, int32_t id, const char *addr)
{
    broker_entry *b = broker_find(kc, id);
    if (b) {
        b->known = true;
        if (strcmp(b->addr, addr) != 0) {
            /* the broker moved: its pooled connections go to the old address */
            char *a = kafka_strdup(addr);
            if (!a)
                return KAFKA_ERR_NOMEM;
            kafka_free(b->addr);
            b->addr = a;
            close_idle(kc, b);
        }
        return 0;
    }
    if (!kafka_array_reserve((void **)&kc->brokers, &kc->cap_brokers, kc->n_brokers + 1, sizeof *kc->brokers, 8))
        return KAFKA_ERR_NOMEM;
    b = &kc->brokers[kc->n_brokers];
    memset(b, 0, sizeof *b);
    b->id = id;
    b->known = true;
    b->addr = kafka_strdup(addr);
    if (!b->addr)
        return KAFKA_ERR_NOMEM;
    kc->n_brokers++;
    return 0;
}

/* "host:port" ("[v6]:port") of a broker as the protocol describes it;
 * false for an empty or oversized host. */
#define KAFKA_ADDR_MAX 320
static bool format_addr(char addr[KAFKA_ADDR_MAX], kafka_str host, int32_t port)
{
    if (host.len <= 0 || host.len > 255 || port <= 0 || port > 65535)
        return false;
    bool v6 = memchr(host.ptr, ':', (size_t)host.len) != NULL;
    snprintf(addr, KAFKA_ADDR_MAX, v6 ? "[%.*s]:%d" : "%.*s:%d", (int)host.len, host.ptr, (int)port);
    return true;
}

static topic_entry *topic_find(kafka_cluster *kc, const char *name)
{
    for (size_t i = 0; i < kc->n_topics; i++)
        if (strcmp(kc->topics[i].name, name) == 0)
            return &kc->topics[i];
    return NULL;
}

static topic_entry *topic_add(kafka_cluster *kc, const char *name)
{
    if (!kafka_array_reserve((void **)&kc->topics, &kc->cap_topics, kc->n_topics + 1, sizeof *kc->topics, 8))
        return NULL;
    topic_entry *e = &kc->topics[kc->n_topics];
    memset(e, 0, sizeof *e);
    e->name = kafka_strdup(name);
    if (!e->name)
        return NULL;
    e->stale = true;
    kc->n_topics++;
    return e;
}

static void snap_unref(topic_snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        kafka_free(s);
}

/* ---- construction --------------------------------------------------------- */

static char *dup_or_null(const char *s, char **slot)
{
    *slot = s ? kafka_strdup(s) : NULL;
    return *slot;
}

static kafka_err copy_dialer(kafka_cluster *kc, const kafka_dialer_config *d)
{
    if (!d)
        return 0;
    kc->dialer = *d;
    char **s = kc->dialer_strings;
    const char *src[9] = {d->client_id, d->tls.ca_file, d->tls.ca_dir, d->tls.cert_file, d->tls.key_file,
                          d->tls.key_password, d->tls.server_name, d->sasl.username, d->sasl.password};
    const char **dst[9] = {&kc->dialer.client_id, &kc->dialer.tls.ca_file, &kc->dialer.tls.ca_dir,
                           &kc->dialer.tls.cert_file, &kc->dialer.tls.key_file, &kc->dialer.tls.key_password,
                           &kc->dialer.tls.server_name, &kc->dialer.sasl.username, &kc->dialer.sasl.password};
    for (int i = 0; i < 9; i++) {
        if (src[i] && !dup_or_null(src[i], &s[i]))
            return KAFKA_ERR_NOMEM;
        *dst[i] = s[i];
    }
    return 0;
}

kafka_err kafka_cluster_new(const kafka_cluster_config *cfg, kafka_cluster **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->bootstrap) {
        snprintf(errbuf, errlen, "no bootstrap brokers given");
        return KAFKA_ERR_INVALID_ARG;
    }
    kafka_cluster *kc = kafka_calloc(1, sizeof *kc);
    if (!kc)
        return KAFKA_ERR_NOMEM;
    pthread_mutex_init(&kc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&kc->cv, &ca);
    pthread_condattr_destroy(&ca);

    kc->cfg = *cfg;
    kc->cfg.bootstrap = NULL;
    kc->cfg.dialer = NULL;
    if (kc->cfg.dial_timeout_ms <= 0)
        kc->cfg.dial_timeout_ms = 10000;
    if (kc->cfg.metadata_max_age_ms <= 0)
        kc->cfg.metadata_max_age_ms = 60000;
    if (kc->cfg.backoff_min_ms <= 0)
        kc->cfg.backoff_min_ms = 100;
    if (kc->cfg.backoff_max_ms < kc->cfg.backoff_min_ms)
        kc->cfg.backoff_max_ms = kc->cfg.backoff_min_ms > 1000 ? kc->cfg.backoff_min_ms : 1000;
    if (kc->cfg.max_conns_per_broker <= 0)
        kc->cfg.max_conns_per_broker = 2;

    kafka_err err = copy_dialer(kc, cfg->dialer);
    int32_t next_id = BOOTSTRAP_ID_BASE;
    kafka_bootstrap_iter it;
    kafka_bootstrap_iter_init(&it, cfg->bootstrap);
    char addr[300];
    while (!err) {
        kafka_err e = kafka_bootstrap_next(&it, addr, sizeof addr);
        if (e == KAFKA_ERR_NOT_FOUND)
            break;
        if (e) {
            snprintf(errbuf, errlen, "bad bootstrap address in \"%s\"", cfg->bootstrap);
            err = e;
            break;
        }
        err = broker_upsert(kc, next_id--, addr);
        if (!err)
            kc->brokers[kc->n_brokers - 1].known = false;
    }
    if (!err && kc->n_brokers == 0) {
        snprintf(errbuf, errlen, "no bootstrap brokers given");
        err = KAFKA_ERR_INVALID_ARG;
    }
    if (err) {
        kafka_cluster_free(kc);
        return err;
    }
    *out = kc;
    return 0;
}

void kafka_cluster_interrupt(kafka_cluster *kc)
{
    pthread_mutex_lock(&kc->mu);
    kc->closed = true;
    for (size_t i = 0; i < kc->n_brokers; i++)
        for (size_t j = 0; j < kc->brokers[i].busy.n; j++)
            kafka_conn_shutdown(kc->brokers[i].busy.v[j]);
    pthread_cond_broadcast(&kc->cv);
    cluster_unlock(kc);
}

void kafka_cluster_free(kafka_cluster *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->n_brokers; i++) {
        broker_entry *b = &kc->brokers[i];
        for (size_t j = 0; j < b->idle.n; j++)
            kafka_conn_close(b->idle.v[j]);
        for (size_t j = 0; j < b->busy.n; j++)
            kafka_conn_close(b->busy.v[j]);
        kafka_free(b->idle.v);
        kafka_free(b->busy.v);
        kafka_free(b->addr);
    }
    kafka_free(kc->brokers);
    for (size_t i = 0; i < kc->reap.n; i++)
        kafka_conn_close(kc->reap.v[i]);
    kafka_free(kc->reap.v);
    for (size_t i = 0; i < kc->n_topics; i++) {
        kafka_free(kc->topics[i].name);
        snap_unref(kc->topics[i].snap);
    }
    kafka_free(kc->topics);
    for (size_t i = 0; i < kc->n_coords; i++)
        kafka_free(kc->coords[i].key);
    kafka_free(kc->coords);
    for (int i = 0; i < 9; i++)
        kafka_free(kc->dialer_strings[i]);
    pthread_cond_destroy(&kc->cv);
    pthread_mutex_destroy(&kc->mu);
    kafka_free(kc);
}

const kafka_dialer_config *kafka_cluster_dialer(const kafka_cluster *kc) { return &kc->dialer; }

/* ---- connection pool ------------------------------------------------------ */

bool kafka_cluster_err_breaks_conn(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_TRANSPORT:
    case KAFKA_ERR_TIMEOUT:
    case KAFKA_ERR_CLOSED:
    case KAFKA_ERR_PROTOCOL:
    case KAFKA_ERR_TOO_LARGE:
    case KAFKA_ERR_TRUNCATED:
    case KAFKA_ERR_CORRUPT:
    case KAFKA_ERR_NOMEM:
    case KAFKA_ERR_TLS:
    case KAFKA_ERR_SASL:
        return true;
    default:
        return false;
    }
}

void kafka_cluster_conn_deadline(kafka_conn *conn, int64_t deadline)
{
    if (deadline < 0) {
        kafka_conn_set_deadline(conn, 0);
        return;
    }
    int64_t rem = deadline - now_ms();
    kafka_conn_set_deadline(conn, kafka_unix_ms() + (rem > 1 ? rem : 1));
}

/* Dials addr without the lock held. */
static kafka_err dial_unlocked(kafka_cluster *kc, const char *addr, int64_t deadline, kafka_conn **out)
{
    int t = remaining_ms(deadline, kc->cfg.dial_timeout_ms);
    if (t <= 0)
        return KAFKA_ERR_TIMEOUT;
    return kafka_dial(out, addr, &kc->dialer, t);
}

/* Takes an idle conn of b or dials one. Called with the lock held; returns
 * with it held. *dialed says whether the caller should wait instead
 * (KAFKA_ERR_STATE = at the limit). */
static kafka_err take_or_dial(kafka_cluster *kc, broker_entry **bp, int32_t id, int64_t deadline, kafka_conn **out)
{
    broker_entry *b = *bp;
    if (b->idle.n) {
        kafka_conn *c = b->idle.v[--b->idle.n];
        if (!list_push(&b->busy, c)) {
            close_later(kc, c);
            return KAFKA_ERR_NOMEM;
        }
        *out = c;
        return 0;
    }
    if ((int)(b->busy.n) + b->dialing >= kc->cfg.max_conns_per_broker)
        return KAFKA_ERR_STATE;
    char *addr = kafka_strdup(b->addr);
    if (!addr)
        return KAFKA_ERR_NOMEM;
    b->dialing++;
    cluster_unlock(kc);
    kafka_conn *c = NULL;
    kafka_err err = dial_unlocked(kc, addr, deadline, &c);
    kafka_free(addr);
    pthread_mutex_lock(&kc->mu);
    b = broker_find(kc, id); /* the array may have moved */
    *bp = b;
    b->dialing--;
    pthread_cond_broadcast(&kc->cv);
    if (err)
        return err;
    if (kc->closed) {
        close_later(kc, c);
        return KAFKA_ERR_CLOSED;
    }
    if (!list_push(&b->busy, c)) {
        close_later(kc, c);
        return KAFKA_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

kafka_err kafka_cluster_acquire(kafka_cluster *kc, int32_t broker_id, int64_t deadline, kafka_conn **out)
{
    *out = NULL;
    pthread_mutex_lock(&kc->mu);
    kafka_err err;
    for (;;) {
        if (kc->closed) {
            err = KAFKA_ERR_CLOSED;
            break;
        }
        broker_entry *b = broker_find(kc, broker_id);
        if (!b) {
            err = KAFKA_ERR_BROKER_NOT_AVAILABLE;
            break;
        }
        err = take_or_dial(kc, &b, broker_id, deadline, out);
        if (err != KAFKA_ERR_STATE)
            break;
        if (!cond_wait_until(kc, deadline, -1)) {
            err = KAFKA_ERR_TIMEOUT;
            break;
        }
    }
    cluster_unlock(kc);
    return err;
}

kafka_err kafka_cluster_broker_addr(kafka_cluster *kc, int32_t broker_id, char *buf, size_t len)
{
    pthread_mutex_lock(&kc->mu);
    broker_entry *b = kc->closed ? NULL : broker_find(kc, broker_id);
    if (b)
        snprintf(buf, len, "%s", b->addr);
    kafka_err err = kc->closed ? KAFKA_ERR_CLOSED : b ? 0 : KAFKA_ERR_BROKER_NOT_AVAILABLE;
    cluster_unlock(kc);
    return err;
}

kafka_err kafka_cluster_acquire_any(kafka_cluster *kc, int64_t deadline, kafka_conn **out)
{
    *out = NULL;
    pthread_mutex_lock(&kc->mu);
    kafka_err err = KAFKA_ERR_NO_BROKERS, last = KAFKA_ERR_NO_BROKERS;
    /* an idle conn to a known broker is free */
    for (size_t i = 0; i < kc->n_brokers && !kc->closed; i++) {
        broker_entry *b = &kc->brokers[i];
        if (b->idle.n) {
            err = take_or_dial(kc, &b, b->id, deadline, out);
            goto done;
        }
    }
    /* otherwise dial, known brokers before bootstrap addresses, starting
     * after the last one used so that a dead broker is not always first */
    for (int pass = 0; pass < 2 && !kc->closed; pass++) {
        size_t n = kc->n_brokers;
        for (size_t k = 0; k < n && !kc->closed; k++) {
            size_t i = (kc->next_any + k) % n;
            broker_entry *b = &kc->brokers[i];
            if ((pass == 0) != b->known)
                continue;
            if (past(deadline)) {
                err = KAFKA_ERR_TIMEOUT;
                goto done;
            }
            int32_t id = b->id;
            err = take_or_dial(kc, &b, id, deadline, out);
            if (err == 0) {
                kc->next_any = i;
                goto done;
            }
            if (err != KAFKA_ERR_STATE)
                last = err;
            n = kc->n_brokers;
        }
    }
    err = kc->closed ? KAFKA_ERR_CLOSED : (last == KAFKA_ERR_NO_BROKERS ? KAFKA_ERR_NO_BROKERS : last);
    if (err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_RESOLVE)
        err = KAFKA_ERR_NO_BROKERS;
    kc->next_any++;
done:
    cluster_unlock(kc);
    return err;
}

void kafka_cluster_release(kafka_cluster *kc, kafka_conn *conn, bool reusable)
{
    if (!conn)
        return;
    pthread_mutex_lock(&kc->mu);
    broker_entry *owner = NULL;
    for (size_t i = 0; i < kc->n_brokers && !owner; i++)
        if (list_remove(&kc->brokers[i].busy, conn))
            owner = &kc->brokers[i];
    if (owner && reusable && !kc->closed && list_push(&owner->idle, conn))
        conn = NULL;
    pthread_cond_broadcast(&kc->cv);
    cluster_unlock(kc);
    kafka_conn_close(conn); /* NULL-safe */
}

size_t kafka_cluster_brokers(kafka_cluster *kc, int32_t *ids, size_t max)
{
    pthread_mutex_lock(&kc->mu);
    size_t n = 0;
    for (size_t i = 0; i < kc->n_brokers; i++) {
        if (kc->brokers[i].id < 0 || !kc->brokers[i].known)
            continue;
        if (n < max)
            ids[n] = kc->brokers[i].id;
        n++;
    }
    cluster_unlock(kc);
    return n;
}

/* ---- metadata ------------------------------------------------------------- */

static int cmp_partition(const void *a, const void *b)
{
    int32_t x = ((const kafka_cluster_partition *)a)->id, y = ((const kafka_cluster_partition *)b)->id;
    return x < y ? -1 : x > y;
}

/* Builds an immutable snapshot of one Metadata topic (one allocation). */
static topic_snap *snap_build(const kafka_metadata_response_metadata_response_topic *t)
{
    int32_t n = t->partitions_count > 0 ? t->partitions_count : 0;
    size_t name_len = t->name.len > 0 ? (size_t)t->name.len : 0;
    size_t size = sizeof(topic_snap) + (size_t)n * (sizeof(kafka_cluster_partition) + sizeof(int32_t)) + name_len + 1;
    topic_snap *s = kafka_calloc(1, size);
    if (!s)
        return NULL;
    kafka_cluster_partition *parts = (kafka_cluster_partition *)(s + 1);
    int32_t *ids = (int32_t *)(parts + n);
    char *name = (char *)(ids + n);
    if (name_len)
        memcpy(name, t->name.ptr, name_len);
    for (int32_t i = 0; i < n; i++) {
        const kafka_metadata_response_metadata_response_partition *p = &t->partitions[i];
        parts[i] = (kafka_cluster_partition){p->partition_index, p->leader_id, p->leader_epoch,
                                             kafka_err_from_wire(p->error_code)};
    }
    /* sort by id: qsort, not insertion sort, whose n^2 on a hostile
     * reverse-ordered list of millions of partitions ran under the mutex */
    qsort(parts, (size_t)n, sizeof *parts, cmp_partition);
    for (int32_t i = 0; i < n; i++)
        ids[i] = parts[i].id;
    s->pub = (kafka_cluster_topic){name, kafka_err_from_wire(t->error_code), n, parts, ids};
    atomic_init(&s->refs, 1);
    return s;
}

static bool is_coordinator(const kafka_cluster *kc, int32_t id)
{
    for (size_t i = 0; i < kc->n_coords; i++)
        if (kc->coords[i].broker == id)
            return true;
    return false;
}

/* Forgets the brokers the last Metadata answer no longer listed, so that
 * the table follows the cluster instead of growing with every broker ever
 * seen (broker ids churn in autoscaled clusters). Kept: bootstrap entries,
 * brokers still in use (busy conns, dials in flight) and cached
 * coordinators; the next answer prunes those once they are free. Idle
 * conns of a forgotten broker are closed after the unlock. Locked. */
static void prune_departed(kafka_cluster *kc)
{
    size_t kept = 0;
    for (size_t i = 0; i < kc->n_brokers; i++) {
        broker_entry *b = &kc->brokers[i];
        if (b->id >= 0 && !b->known && b->busy.n == 0 && b->dialing == 0 && !is_coordinator(kc, b->id)) {
            close_idle(kc, b);
            kafka_free(b->idle.v);
            kafka_free(b->busy.v);
            kafka_free(b->addr);
            continue;
        }
        if (kept != i)
            kc->brokers[kept] = *b;
        kept++;
    }
    kc->n_brokers = kept;
}

/* e's answer is now t (answer number gen, at now). false: no memory. */
static bool entry_answer(topic_entry *e, const kafka_metadata_response_metadata_response_topic *t, int64_t now,
                         uint64_t gen)
{
    topic_snap *s = snap_build(t);
    if (!s)
        return false;
    snap_unref(e->snap);
    e->snap = s;
    e->fetched_at = now;
    e->gen = gen;
    e->stale = false;
    return true;
}

/* Applies a Metadata response (the answer to a request for the topics
 * asked[0..n_asked)). Caller holds the lock. */
static kafka_err apply_metadata(kafka_cluster *kc, const kafka_metadata_response *r, const char *const *asked,
                                size_t n_asked)
{
    char addr[KAFKA_ADDR_MAX];
    /* broker_upsert is a linear search: the cap keeps a hostile answer
     * listing millions of brokers from costing n^2 under the mutex. */
    int32_t nb = r->brokers_count < KAFKA_CLUSTER_MAX_BROKERS ? r->brokers_count : KAFKA_CLUSTER_MAX_BROKERS;
    /* a broker missing from this answer has left the cluster: it is no
     * longer listed, and prune_departed forgets it once nothing uses it */
    if (nb > 0)
        for (size_t i = 0; i < kc->n_brokers; i++)
            if (kc->brokers[i].id >= 0)
                kc->brokers[i].known = false;
    for (int32_t i = 0; i < nb; i++) {
        const kafka_metadata_response_metadata_response_broker *b = &r->brokers[i];
        /* negative ids are not broker ids (and <= -2 name bootstrap entries) */
        if (b->node_id < 0 || !format_addr(addr, b->host, b->port))
            continue;
        kafka_err err = broker_upsert(kc, b->node_id, addr);
        if (err)
            return err;
    }
    if (nb > 0)
        prune_departed(kc);
    int64_t now = now_ms();
    uint64_t gen = ++kc->md_gen;
    for (int32_t i = 0; i < r->topics_count; i++) {
        const kafka_metadata_response_metadata_response_topic *t = &r->topics[i];
        if (t->name.len <= 0)
            continue;
        char name[256];
        if (t->name.len >= (int32_t)sizeof name)
            continue;
        memcpy(name, t->name.ptr, (size_t)t->name.len);
        name[t->name.len] = '\0';
        topic_entry *e = topic_find(kc, name);
        if (!e)
            continue; /* we did not ask for it */
        if (!entry_answer(e, t, now, gen))
            return KAFKA_ERR_NOMEM;
    }
    /* A topic asked for and missing from the answer does not exist (or is
     * hidden from us): an answer too, so that lookups stop waiting. */
    for (size_t i = 0; i < n_asked; i++) {
        topic_entry *e = topic_find(kc, asked[i]);
        if (!e || e->gen == gen)
            continue;
        kafka_metadata_response_metadata_response_topic absent = {
            .error_code = (int16_t)KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION, .name = kafka_str_c(asked[i])};
        if (!entry_answer(e, &absent, now, gen))
            return KAFKA_ERR_NOMEM;
    }
    return 0;
}

kafka_err kafka_cluster_md_request(const kafka_cluster *kc, const char *const *names, size_t n, unsigned flags,
                                   int16_t version, kafka_arena *arena, kafka_metadata_request *req)
{
    if (n > INT32_MAX || (n && !names))
        return KAFKA_ERR_INVALID_ARG;
    bool all = (flags & KAFKA_CLUSTER_MD_ALL_TOPICS) != 0;
    kafka_metadata_request_init(req);
    /* before v4 naming a topic may create it: ask for every topic instead */
    if (n && version < 4 && (flags & KAFKA_CLUSTER_MD_NEVER_CREATE)) {
        n = 0;
        all = true;
    }
    req->topics_count = (int32_t)n;
    req->topics = kafka_arena_calloc(arena, n ? n : 1, sizeof *req->topics);
    if (!req->topics)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_metadata_request_metadata_request_topic_init(&req->topics[i]);
        req->topics[i].name = kafka_str_c(names[i]);
    }
    if (n == 0 && all && version >= 1) {
        req->topics = NULL; /* v1+: null = every topic; v0: empty = every topic */
        req->topics_count = -1;
    }
    /* v0-v3 have no flag: brokers then auto-create if they are configured
     * to, which the caller cannot prevent (v0 also reads an empty list as
     * "all topics") */
    if (version >= 4)
        req->allow_auto_topic_creation = kc->cfg.allow_auto_topic_creation;
    return 0;
}

kafka_err kafka_cluster_md_apply(kafka_cluster *kc, const kafka_metadata_response *resp, const char *const *asked,
                                 size_t n_asked)
{
    pthread_mutex_lock(&kc->mu);
    kafka_err err = apply_metadata(kc, resp, asked, n_asked);
    cluster_unlock(kc);
    return err;
}

/* One Metadata round trip on any broker, applied to the cache; the
 * decoded answer is left in *resp (arena-allocated). topics: n names, or
 * with n == 0 every topic (all) / none (!all; Metadata v0 cannot say
 * "none" and gets every topic). Called without the lock. */
static kafka_err metadata_roundtrip(kafka_cluster *kc, const char *const *names, size_t n, unsigned flags,
                                    int64_t deadline, kafka_arena *arena, kafka_metadata_response *resp,
                                    int16_t *version)
{
    kafka_conn *c = NULL;
    kafka_err err = kafka_cluster_acquire_any(kc, deadline, &c);
    if (err)
        return err;
    int16_t v = kafka_conn_version(c, KAFKA_API_METADATA, 0, KAFKA_CLUSTER_MD_MAX_VERSION);
    kafka_metadata_request req;
    err = v < 0 ? KAFKA_ERR_NO_COMMON_VERSION : kafka_cluster_md_request(kc, names, n, flags, v, arena, &req);
    kafka_metadata_response_init(resp);
    kafka_cluster_conn_deadline(c, deadline);
    if (!err)
        err = kafka_conn_roundtrip(c, KAFKA_API_METADATA, v, metadata_request_enc_, &req, metadata_response_dec_,
                                   resp, arena, NULL);
    kafka_cluster_release(kc, c, !kafka_cluster_err_breaks_conn(err));
    if (!err)
        err = kafka_cluster_md_apply(kc, resp, names, n);
    if (version)
        *version = v;
    return err;
}

/* One Metadata round trip for `names` on any broker, applied to the cache.
 * Called without the lock. */
static kafka_err metadata_fetch(kafka_cluster *kc, char **names, size_t n, int64_t deadline)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response resp;
    kafka_err err =
        metadata_roundtrip(kc, (const char *const *)names, n, 0, deadline, &arena, &resp, NULL);
    kafka_arena_free(&arena);
    return err;
}

kafka_err kafka_cluster_metadata(kafka_cluster *kc, const char *const *topics, size_t n, unsigned flags,
                                 int64_t deadline, kafka_arena *arena, kafka_metadata_response *resp,
                                 int16_t *version)
{
    if (n > INT32_MAX || (n && !topics))
        return KAFKA_ERR_INVALID_ARG;
    return metadata_roundtrip(kc, topics, n, flags, deadline, arena, resp, version);
}

/* True when e's snapshot can be served without a refresh. */
static bool snap_fresh(const kafka_cluster *kc, const topic_entry *e, int64_t now)
{
    if (!e || !e->snap || e->stale)
        return false;
    int64_t age = now - e->fetched_at;
    if (age >= kc->cfg.metadata_max_age_ms)
        return false;
    /* an error answer (e.g. a topic being created) is re-asked soon */
    if (e->snap->pub.err && age >= kc->cfg.backoff_min_ms)
        return false;
    return true;
}

/* Refreshes every cached topic (which includes `topic`). Called with the
 * lock held and kc->refreshing false; returns with the lock held. */
static kafka_err refresh_locked(kafka_cluster *kc, int64_t deadline)
{
    kc->refreshing = true;
    size_t n = kc->n_topics;
    char **names = kafka_calloc(n ? n : 1, sizeof *names);
    kafka_err err = names ? 0 : KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n && !err; i++)
        if (!(names[i] = kafka_strdup(kc->topics[i].name)))
            err = KAFKA_ERR_NOMEM;
    kc->last_refresh = now_ms();
    cluster_unlock(kc);
    if (!err)
        err = metadata_fetch(kc, names, n, deadline);
    for (size_t i = 0; names && i < n; i++)
        kafka_free(names[i]);
    kafka_free(names);
    pthread_mutex_lock(&kc->mu);
    kc->refreshing = false;
    kc->last_refresh = now_ms();
    pthread_cond_broadcast(&kc->cv);
    return err;
}

kafka_err kafka_cluster_topic_get(kafka_cluster *kc, const char *topic, int64_t deadline,
                                  const kafka_cluster_topic **out)
{
    *out = NULL;
    if (!topic || !*topic || strlen(topic) > 249)
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    pthread_mutex_lock(&kc->mu);
    kafka_err err = 0;
    int attempt = 0;
    for (;;) {
        if (kc->closed) {
            err = KAFKA_ERR_CLOSED;
            break;
        }
        topic_entry *e = topic_find(kc, topic);
        if (!e && !(e = topic_add(kc, topic))) {
            err = KAFKA_ERR_NOMEM;
            break;
        }
        int64_t now = now_ms();
        if (snap_fresh(kc, e, now)) {
            topic_snap *s = e->snap;
            atomic_fetch_add(&s->refs, 1);
            *out = &s->pub;
            err = s->pub.err;
            break;
        }
        if (kc->refreshing) {
            if (!cond_wait_until(kc, deadline, -1)) {
                err = KAFKA_ERR_TIMEOUT;
                break;
            }
            continue;
        }
        /* rate limit: at most one refresh per backoff_min_ms */
        int64_t next = kc->last_refresh + kc->cfg.backoff_min_ms;
        if (kc->last_refresh && now < next) {
            if (deadline >= 0 && deadline <= next) {
                err = KAFKA_ERR_TIMEOUT;
                break;
            }
            cond_wait_until(kc, deadline, (int)(next - now));
            continue;
        }
        err = refresh_locked(kc, deadline);
        /* A certificate or password the broker refuses will not get
         * better by retrying until the deadline: say so at once. */
        if (err == KAFKA_ERR_CLOSED || err == KAFKA_ERR_NOMEM || kafka_err_is_fatal(err))
            break;
        if (err) {
            /* no broker answered: back off, then try again until the deadline */
            int wait = kafka_backoff_ms(attempt++, kc->cfg.backoff_min_ms, kc->cfg.backoff_max_ms);
            if (deadline >= 0 && now_ms() + wait >= deadline)
                break;
            cond_wait_until(kc, deadline, wait);
            continue;
        }
        e = topic_find(kc, topic);
        if (e && e->snap) {
            topic_snap *s = e->snap;
            atomic_fetch_add(&s->refs, 1);
            *out = &s->pub;
            err = s->pub.err;
            break;
        }
        err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        break;
    }
    cluster_unlock(kc);
    return err;
}

void kafka_cluster_topic_release(kafka_cluster *kc, const kafka_cluster_topic *t)
{
    (void)kc;
    if (t) {
        /* pub is the first member: the snapshot starts where t does */
        snap_unref((topic_snap *)(uintptr_t)t);
    }
}

kafka_err kafka_cluster_topic_leader(const kafka_cluster_topic *t, int32_t partition, int32_t *leader_out)
{
    *leader_out = -1;
    if (t->err)
        return t->err;
    /* partitions are sorted by id */
    int32_t lo = 0, hi = t->n_partitions;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (t->partitions[mid].id < partition)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= t->n_partitions || t->partitions[lo].id != partition)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    const kafka_cluster_partition *p = &t->partitions[lo];
    /* a leader the partition reports with an error is still usable
     * (REPLICA_NOT_AVAILABLE, say); only a missing one is not */
    if (p->leader < 0 || p->err == KAFKA_ERR_LEADER_NOT_AVAILABLE)
        return p->err ? p->err : KAFKA_ERR_LEADER_NOT_AVAILABLE;
    *leader_out = p->leader;
    return 0;
}

kafka_err kafka_cluster_leader(kafka_cluster *kc, const char *topic, int32_t partition, int64_t deadline,
                               int32_t *leader_out)
{
    *leader_out = -1;
    const kafka_cluster_topic *t;
    kafka_err err = kafka_cluster_topic_get(kc, topic, deadline, &t);
    if (!err)
        err = kafka_cluster_topic_leader(t, partition, leader_out);
    kafka_cluster_topic_release(kc, t);
    return err;
}

kafka_err kafka_cluster_topic_cached(kafka_cluster *kc, const char *topic, int64_t now,
                                     const kafka_cluster_topic **out, bool *refresh)
{
    *out = NULL;
    *refresh = false;
    if (!topic || !*topic || strlen(topic) > 249)
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    pthread_mutex_lock(&kc->mu);
    kafka_err err = 0;
    topic_entry *e = kc->closed ? NULL : topic_find(kc, topic);
    if (kc->closed)
        err = KAFKA_ERR_CLOSED;
    else if (!e && !(e = topic_add(kc, topic)))
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        int64_t age = e->snap ? now - e->fetched_at : 0;
        /* An error answer is definitive until invalidated, or until it is
         * old enough to be worth asking again (a topic being created). */
        if (!e->snap || e->stale || (e->snap->pub.err && age >= kc->cfg.backoff_max_ms)) {
            *refresh = true;
        } else {
            *refresh = age >= kc->cfg.metadata_max_age_ms; /* served meanwhile */
            atomic_fetch_add(&e->snap->refs, 1);
            *out = &e->snap->pub;
            err = e->snap->pub.err;
        }
    }
    cluster_unlock(kc);
    return err;
}

kafka_err kafka_cluster_leader_cached(kafka_cluster *kc, const char *topic, int32_t partition, int64_t now,
                                      int32_t *leader_out, bool *refresh)
{
    *leader_out = -1;
    const kafka_cluster_topic *t = NULL;
    kafka_err err = kafka_cluster_topic_cached(kc, topic, now, &t, refresh);
    if (!err && t)
        err = kafka_cluster_topic_leader(t, partition, leader_out);
    kafka_cluster_topic_release(kc, t);
    return err;
}

size_t kafka_cluster_md_candidates(kafka_cluster *kc, int32_t *ids, size_t max)
{
    pthread_mutex_lock(&kc->mu);
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < kc->n_brokers; i++) {
            const broker_entry *b = &kc->brokers[i];
            bool listed = b->id >= 0 && b->known, bootstrap = b->id <= BOOTSTRAP_ID_BASE;
            if (pass == 0 ? !listed : !bootstrap)
                continue;
            if (n < max)
                ids[n] = b->id;
            n++;
        }
    cluster_unlock(kc);
    return n;
}

void kafka_cluster_invalidate(kafka_cluster *kc, const char *topic)
{
    pthread_mutex_lock(&kc->mu);
    for (size_t i = 0; i < kc->n_topics; i++)
        if (!topic || strcmp(kc->topics[i].name, topic) == 0)
            kc->topics[i].stale = true;
    cluster_unlock(kc);
}

/* ---- coordinators ----------------------------------------------------------- */

static coord_entry *coord_find(kafka_cluster *kc, const char *key, int8_t type)
{
    for (size_t i = 0; i < kc->n_coords; i++)
        if (kc->coords[i].type == type && strcmp(kc->coords[i].key, key) == 0)
            return &kc->coords[i];
    return NULL;
}

static kafka_err coord_store(kafka_cluster *kc, const char *key, int8_t type, int32_t node, kafka_str host,
                             int32_t port)
{
    char addr[KAFKA_ADDR_MAX];
    if (!format_addr(addr, host, port))
        return KAFKA_ERR_PROTOCOL;
    kafka_err err = broker_upsert(kc, node, addr);
    if (err)
        return err;
    coord_entry *c = coord_find(kc, key, type);
    if (!c) {
        if (!kafka_array_reserve((void **)&kc->coords, &kc->cap_coords, kc->n_coords + 1, sizeof *kc->coords, 4))
            return KAFKA_ERR_NOMEM;
        c = &kc->coords[kc->n_coords];
        c->key = kafka_strdup(key);
        if (!c->key)
            return KAFKA_ERR_NOMEM;
        c->type = type;
        kc->n_coords++;
    }
    c->broker = node;
    return 0;
}

static void fc_request(const char *key, int8_t key_type, int16_t version, kafka_find_coordinator_request *req,
                       kafka_str *keybuf)
{
    kafka_find_coordinator_request_init(req);
    *keybuf = kafka_str_c(key);
    if (version >= 4) {
        req->coordinator_keys = keybuf;
        req->coordinator_keys_count = 1;
    } else {
        req->key = *keybuf;
    }
    req->key_type = key_type;
}

static kafka_err fc_apply(kafka_cluster *kc, const char *key, int8_t key_type, int16_t version,
                          const kafka_find_coordinator_response *resp, int32_t *broker_out)
{
    *broker_out = -1;
    int32_t node = resp->node_id, port = resp->port;
    kafka_str host = resp->host;
    kafka_err err = kafka_err_from_wire(resp->error_code);
    if (version >= 4) {
        err = resp->coordinators_count == 1 ? kafka_err_from_wire(resp->coordinators[0].error_code)
                                            : KAFKA_ERR_PROTOCOL;
        if (!err) {
            node = resp->coordinators[0].node_id;
            port = resp->coordinators[0].port;
            host = resp->coordinators[0].host;
        }
    }
    /* "No error, node -1" is what no correct broker says; taken as
     * given it was cached as the coordinator and re-asked at once, in
     * a loop that ignored the deadline. Treat it as retriable. */
    if (!err && node < 0)
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!err) {
        pthread_mutex_lock(&kc->mu);
        err = coord_store(kc, key, key_type, node, host, port);
        cluster_unlock(kc);
    }
    if (!err)
        *broker_out = node;
    return err;
}

static kafka_err find_coordinator(kafka_cluster *kc, const char *key, int8_t type, int64_t deadline)
{
    kafka_conn *c = NULL;
    kafka_err err = kafka_cluster_acquire_any(kc, deadline, &c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_find_coordinator_request req;
    kafka_str k;
    int16_t v = kafka_conn_version(c, KAFKA_API_FIND_COORDINATOR, 0, INT16_MAX);
    fc_request(key, type, v, &req, &k);
    kafka_find_coordinator_response resp;
    kafka_find_coordinator_response_init(&resp);
    kafka_cluster_conn_deadline(c, deadline);
    err = v < 0 ? KAFKA_ERR_NO_COMMON_VERSION
                : kafka_conn_roundtrip(c, KAFKA_API_FIND_COORDINATOR, v, find_coordinator_request_enc_, &req,
                                       find_coordinator_response_dec_, &resp, &arena, NULL);
    kafka_cluster_release(kc, c, !kafka_cluster_err_breaks_conn(err));
    int32_t node;
    if (!err)
        err = fc_apply(kc, key, type, v, &resp, &node);
    kafka_arena_free(&arena);
    return err;
}

kafka_err kafka_cluster_fc_encode(const char *key, int8_t key_type, int16_t version, kafka_wbuf *w)
{
    kafka_find_coordinator_request req;
    kafka_str k;
    fc_request(key, key_type, version, &req, &k);
    kafka_err err = kafka_find_coordinator_request_encode(w, version, &req);
    return !err && w->oom ? KAFKA_ERR_NOMEM : err;
}

kafka_err kafka_cluster_fc_answer(kafka_cluster *kc, const char *key, int8_t key_type, int16_t version,
                                  const uint8_t *body, size_t len, int32_t *broker_out)
{
    *broker_out = -1;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_find_coordinator_response resp;
    kafka_find_coordinator_response_init(&resp);
    kafka_rbuf r;
    kafka_rbuf_init(&r, body, len);
    kafka_err err = kafka_find_coordinator_response_decode(&r, &arena, version, &resp);
    if (!err)
        err = fc_apply(kc, key, key_type, version, &resp, broker_out);
    kafka_arena_free(&arena);
    return err;
}

kafka_err kafka_cluster_coordinator(kafka_cluster *kc, const char *key, int8_t key_type, int64_t deadline,
                                    int32_t *broker_out)
{
    *broker_out = -1;
    int attempt = 0;
    for (;;) {
        pthread_mutex_lock(&kc->mu);
        bool closed = kc->closed;
        coord_entry *c = coord_find(kc, key, key_type);
        if (c)
            *broker_out = c->broker;
        cluster_unlock(kc);
        if (closed)
            return KAFKA_ERR_CLOSED;
        if (*broker_out >= 0)
            return 0;
        kafka_err err = find_coordinator(kc, key, key_type, deadline);
        if (!err)
            continue;
        if (!kafka_err_is_retriable(err) && err != KAFKA_ERR_NO_BROKERS)
            return err;
        int wait = kafka_backoff_ms(attempt++, kc->cfg.backoff_min_ms, kc->cfg.backoff_max_ms);
        if (deadline >= 0 && now_ms() + wait >= deadline)
            return err;
        kafka_sleep_ms(wait);
    }
}

void kafka_cluster_invalidate_coordinator(kafka_cluster *kc, const char *key, int8_t key_type)
{
    pthread_mutex_lock(&kc->mu);
    coord_entry *c = coord_find(kc, key, key_type);
    if (c)
        c->broker = -1;
    cluster_unlock(kc);
}
