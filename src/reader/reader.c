/* kafka_reader: lifecycle, the read path (decoding queued fetches in
 * place), offsets, lag and stats. */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn/conn_internal.h"
#include "common/alloc.h"
#include "common/lock.h"
#include "common/membarrier.h"
#include "common/tsan.h"
#include "net/stream.h"
#include "reader/reader_internal.h"

#define DEFAULT_MAX_BYTES (1024 * 1024)
#define DEFAULT_MAX_WAIT_MS 10000
#define DEFAULT_QUEUE_BYTES (16 * 1024 * 1024)
#define DEFAULT_SESSION_MS 30000
#define DEFAULT_REBALANCE_MS 30000
#define DEFAULT_HEARTBEAT_MS 3000
#define DEFAULT_CLOSE_MS 5000
#define READ_LAG_TIMEOUT_MS 10000

void kr_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, mu, &ts);
}

/* ---- hand-off with the reading thread (reader_internal.h) -------------- */

/* ThreadSanitizer models neither membarrier(2) nor standalone fences, so
 * it could neither check the asymmetric handshake nor see the ordering it
 * gives. A TSan build (common/tsan.h) therefore runs the same handshake
 * with read-modify-writes on rstate, which TSan models exactly (see
 * rstate_enter); only the cost per message differs (one locked instruction
 * per delivery). */

/* The heavy half of the fence pair: orders the caller's earlier writes
 * before its later reads as seen by every thread of the process. */
static void heavy_fence(kafka_reader *r)
{
#if KAFKA_TSAN
    /* An RMW that changes nothing: it comes before or after each of the
     * reading thread's rstate RMWs in rstate's modification order (see
     * rstate_enter). */
    atomic_fetch_add_explicit(&r->rstate, 0, memory_order_acq_rel);
#else
    if (r->asym && kafka_membarrier_heavy())
        return;
    /* Not registered (the reading thread fences itself then), or the
     * call failed after registration, which the kernel does not do. */
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* The light half, on the reading thread: publishes rstate = s before the
 * shared loads that follow. A compiler barrier when membarrier is
 * registered, else a full fence.
 * TSan builds: every rstate write of the reading thread is an RMW, so
 * heavy_fence's RMW either comes first -- then this exchange reads from
 * its release sequence, and the epoch / closing_a written before it are
 * visible here -- or comes later and reads this window's KR_RS_DELIVER (or
 * the release of a window already over), which kr_sync_reading waits out. */
static inline void rstate_enter(kafka_reader *r, int s)
{
#if KAFKA_TSAN
    atomic_exchange_explicit(&r->rstate, s, memory_order_acq_rel);
#else
    atomic_store_explicit(&r->rstate, s, memory_order_relaxed);
    if (r->asym)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Leaves a state: everything done in it happens-before whoever then reads
 * the new state (acquire). */
static inline void rstate_leave(kafka_reader *r, int s)
{
#if KAFKA_TSAN
    atomic_exchange_explicit(&r->rstate, s, memory_order_release); /* an RMW: see rstate_enter */
#else
    atomic_store_explicit(&r->rstate, s, memory_order_release);
#endif
}

void kr_sync_reading(kafka_reader *r)
{
    heavy_fence(r);
    /* A delivery window is a few dozen instructions without locks or
     * waits; yield in case the reading thread was preempted inside one. */
    while (atomic_load_explicit(&r->rstate, memory_order_acquire) == KR_RS_DELIVER)
        sched_yield();
}

void kr_log(kafka_reader *r, kafka_log_level level, const char *fmt, ...)
{
    if (!r->cfg.log || level > r->cfg.log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->cfg.log(r->cfg.log_privdata, level, buf);
}

void kr_error(kafka_reader *r, kafka_err err, const char *fmt, ...)
{
    (void)err;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->mu);
    vsnprintf(r->last_error, sizeof r->last_error, fmt, ap);
    r->st.errors++;
    pthread_mutex_unlock(&r->mu);
    va_end(ap);
}

const char *kr_intern_topic_locked(kafka_reader *r, const char *topic)
{
    for (size_t i = 0; i < r->n_topics; i++)
        if (strcmp(r->topics[i], topic) == 0)
            return r->topics[i];
    if (r->n_topics == r->cap_topics) {
        size_t cap = r->cap_topics ? r->cap_topics * 2 : 4;
        char **nt = kafka_realloc(r->topics, cap * sizeof *nt);
        if (!nt)
            return NULL;
        r->topics = nt;
        r->cap_topics = cap;
    }
    char *s = kafka_strdup(topic);
    if (s)
        r->topics[r->n_topics++] = s;
    return s;
}

/* ---- config ------------------------------------------------------------ */

static kafka_err bad(char *errbuf, size_t errlen, const char *msg)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", msg);
    return KAFKA_ERR_INVALID_ARG;
}

static kafka_err validate(const kafka_reader_config *c, char *eb, size_t el)
{
    if (!c->brokers || !*c->brokers)
        return bad(eb, el, "brokers: a bootstrap list is required");
    if (c->partition < 0)
        return bad(eb, el, "partition: must be >= 0");
    bool group = c->group_id != NULL;
    if (group && !*c->group_id)
        return bad(eb, el, "group_id: must not be empty");
    if (group && c->partition != 0)
        return bad(eb, el, "partition and group_id: set one or the other, not both");
    if (!group && (!c->topic || !*c->topic))
        return bad(eb, el, "topic: required in partition mode");
    if (c->topic && c->n_group_topics)
        return bad(eb, el, "topic and group_topics: set one or the other, not both");
    if (!group && c->n_group_topics)
        return bad(eb, el, "group_topics: needs group_id");
    if (group && !c->topic && !c->n_group_topics)
        return bad(eb, el, "group mode: set topic or group_topics");
    for (size_t i = 0; i < c->n_group_topics; i++)
        if (!c->group_topics || !c->group_topics[i] || !*c->group_topics[i])
            return bad(eb, el, "group_topics: NULL or empty name");
    if (group && c->start_offset == KAFKA_START_AT)
        return bad(eb, el, "start_offset: KAFKA_START_AT is for partition mode (group mode starts at the committed offset)");
    if (c->start_offset == KAFKA_START_AT && c->start_at < 0)
        return bad(eb, el, "start_at: must be >= 0");
    if ((unsigned)c->start_offset > KAFKA_START_AT || (unsigned)c->isolation_level > KAFKA_READ_COMMITTED)
        return bad(eb, el, "start_offset / isolation_level: unknown value");
    if (c->min_bytes < 0 || c->max_bytes < 0 || c->max_wait_ms < 0 || c->queue_capacity_bytes < 0 ||
        c->commit_interval_ms < 0 || c->session_timeout_ms < 0 || c->rebalance_timeout_ms < 0 ||
        c->heartbeat_interval_ms < 0)
        return bad(eb, el, "sizes and timeouts must not be negative");
    if (!group && (c->group_instance_id || c->n_assignors))
        return bad(eb, el, "group_instance_id / assignors: need group_id");
    kafka_err err = kr_partitions_validate(c, eb, el);
    if (err)
        return err;
    for (size_t i = 0; i < c->n_assignors; i++)
        if (!c->assignors || !c->assignors[i] || !kafka_assignor_find(c->assignors[i]))
            return bad(eb, el, "assignors: unknown name (range, roundrobin, cooperative-sticky)");
    return 0;
}

static void apply_defaults(kafka_reader_config *c)
{
    if (!c->min_bytes)
        c->min_bytes = 1;
    if (!c->max_bytes)
        c->max_bytes = DEFAULT_MAX_BYTES;
    if (!c->max_wait_ms)
        c->max_wait_ms = DEFAULT_MAX_WAIT_MS;
    if (!c->queue_capacity_bytes)
        c->queue_capacity_bytes = DEFAULT_QUEUE_BYTES;
    if (!c->session_timeout_ms)
        c->session_timeout_ms = DEFAULT_SESSION_MS;
    if (!c->rebalance_timeout_ms)
        c->rebalance_timeout_ms = DEFAULT_REBALANCE_MS;
    if (!c->heartbeat_interval_ms)
        c->heartbeat_interval_ms = DEFAULT_HEARTBEAT_MS;
    if (!c->backoff_min_ms)
        c->backoff_min_ms = 100;
    if (!c->backoff_max_ms)
        c->backoff_max_ms = 1000;
    if (!c->dial_timeout_ms)
        c->dial_timeout_ms = 10000;
    if (!c->close_timeout_ms)
        c->close_timeout_ms = DEFAULT_CLOSE_MS;
}

static kafka_err copy_config(kafka_reader *r, const kafka_reader_config *cfg)
{
    r->cfg = *cfg;
    apply_defaults(&r->cfg);
    r->brokers = kafka_strdup(cfg->brokers);
    r->topic_cfg = cfg->topic ? kafka_strdup(cfg->topic) : NULL;
    r->group_id = cfg->group_id ? kafka_strdup(cfg->group_id) : NULL;
    r->instance_id = cfg->group_instance_id ? kafka_strdup(cfg->group_instance_id) : NULL;
    if (!r->brokers || (cfg->topic && !r->topic_cfg) || (cfg->group_id && !r->group_id) ||
        (cfg->group_instance_id && !r->instance_id))
        return KAFKA_ERR_NOMEM;
    r->cfg.brokers = r->brokers;
    r->cfg.topic = r->topic_cfg;
    r->cfg.group_id = r->group_id;
    r->cfg.group_instance_id = r->instance_id;
    r->group_mode = r->group_id != NULL;
    size_t nt = cfg->n_group_topics ? cfg->n_group_topics : (r->group_mode ? 1 : 0);
    r->group_topics = kafka_calloc(nt ? nt : 1, sizeof *r->group_topics);
    if (!r->group_topics)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < nt; i++) {
        r->group_topics[i] = kafka_strdup(cfg->n_group_topics ? cfg->group_topics[i] : cfg->topic);
        if (!r->group_topics[i])
            return KAFKA_ERR_NOMEM;
        r->n_group_topics++;
    }
    r->cfg.group_topics = (const char *const *)r->group_topics;
    r->cfg.n_group_topics = r->n_group_topics;
    static const char *const defaults[] = {"range", "roundrobin"};
    const char *const *names = cfg->n_assignors ? cfg->assignors : defaults;
    size_t na = cfg->n_assignors ? cfg->n_assignors : 2;
    r->assignors = kafka_calloc(na, sizeof *r->assignors);
    if (!r->assignors)
        return KAFKA_ERR_NOMEM;
    r->cooperative = true;
    for (size_t i = 0; i < na; i++) {
        r->assignors[i] = kafka_assignor_find(names[i]);
        if (r->assignors[i]->protocol != KAFKA_REBALANCE_COOPERATIVE)
            r->cooperative = false;
    }
    r->n_assignors = na;
    r->cfg.assignors = NULL;
    r->cfg.n_assignors = 0;
    r->cfg.dialer = NULL;
    return kr_partitions_copy(r, cfg);
}

static void reader_free(kafka_reader *r)
{
    while (r->q_head) {
        kr_chunk *c = r->q_head;
        r->q_head = c->next;
        kr_fbuf_release(c->fb);
        kr_part_release(c->part);
        kafka_free(c);
    }
    if (r->cur) {
        kr_fbuf_release(r->cur->fb);
        kr_part_release(r->cur->part);
        kafka_free(r->cur);
    }
    while (r->free_chunks) {
        kr_chunk *c = r->free_chunks;
        r->free_chunks = c->next;
        kafka_free(c);
    }
    for (size_t i = 0; i < r->n_parts; i++)
        kr_part_release(r->parts[i]);
    kafka_free(r->parts);
    kafka_free(r->part_ids);
    for (size_t i = 0; i < r->n_topics; i++)
        kafka_free(r->topics[i]);
    kafka_free(r->topics);
    for (size_t i = 0; i < r->n_group_topics; i++)
        kafka_free(r->group_topics[i]);
    kafka_free(r->group_topics);
    kafka_free(r->assignors);
    kr_group_free(r);
    if (r->kc)
        kafka_cluster_free(r->kc);
    kafka_records_iter_free(&r->it);
    kafka_wbuf_free(&r->scratch);
    kafka_txn_filter_free(&r->txn);
    kafka_free(r->hdrs);
    kafka_free(r->brokers);
    kafka_free(r->topic_cfg);
    kafka_free(r->group_id);
    kafka_free(r->instance_id);
    pthread_cond_destroy(&r->cond_data);
    pthread_cond_destroy(&r->cond_space);
    pthread_cond_destroy(&r->cond_group);
    pthread_cond_destroy(&r->cond_idle);
    kr_frames_free(r);
    pthread_mutex_destroy(&r->frames.mu);
    pthread_mutex_destroy(&r->mu);
    kafka_free(r);
}

kafka_err kafka_reader_new(kafka_reader **out, const kafka_reader_config *cfg, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out || !cfg)
        return bad(errbuf, errlen, "out and cfg are required");
    *out = NULL;
    kafka_err err = validate(cfg, errbuf, errlen);
    if (err)
        return err;
    kafka_reader *r = kafka_calloc(1, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    /* the reading thread per chunk, the I/O thread per response */
    kafka_mutex_init_adaptive(&r->mu);
    pthread_mutex_init(&r->frames.mu, NULL);
    pthread_cond_init(&r->cond_data, NULL);
    pthread_cond_init(&r->cond_space, NULL);
    pthread_cond_init(&r->cond_group, NULL);
    pthread_cond_init(&r->cond_idle, NULL);
    atomic_init(&r->active_calls, 0);
    atomic_init(&r->closing_a, false);
    atomic_init(&r->rstate, KR_RS_IDLE);
    r->asym = kafka_membarrier_register();
    kafka_wbuf_init(&r->scratch);
    kafka_records_iter_init(&r->it, NULL, 0, NULL);
    err = copy_config(r, cfg);
    if (!err) {
        kafka_cluster_config cc = {
            .bootstrap = r->brokers,
            .dialer = cfg->dialer,
            .dial_timeout_ms = r->cfg.dial_timeout_ms,
            .backoff_min_ms = r->cfg.backoff_min_ms,
            .backoff_max_ms = r->cfg.backoff_max_ms,
            /* the I/O thread keeps one per broker and one to the group
             * coordinator; the application's lag / set_offset_at calls
             * borrow others */
            .max_conns_per_broker = 4,
        };
        err = kafka_cluster_new(&cc, &r->kc, errbuf, errlen);
    }
    if (!err && r->group_mode)
        err = kr_group_init(r); /* before the I/O thread, which drives it */
    if (!err)
        err = kr_io_start(r);
    if (!err && !r->group_mode)
        err = kr_partitions_start(r);
    if (err) {
        if (errbuf && errlen && !errbuf[0])
            snprintf(errbuf, errlen, "creating the reader: %s", kafka_err_str(err));
        if (r->kc)
            kafka_cluster_interrupt(r->kc);
        kr_io_stop(r);
        kr_parts_stop(r, NULL, NULL, NULL, NULL);
        reader_free(r);
        return err;
    }
    *out = r;
    return 0;
}

kafka_err kafka_reader_new_checked(kafka_reader **out, const kafka_reader_config *cfg, int timeout_ms, char *errbuf,
                                   size_t errlen)
{
    kafka_err err = kafka_reader_new(out, cfg, errbuf, errlen);
    if (err)
        return err;
    kafka_reader *r = *out;
    int64_t deadline = timeout_ms < 0 ? -1 : kafka_now_ms() + timeout_ms;
    const char *const *topics = r->group_mode ? (const char *const *)r->group_topics : (const char *const *)&r->topic_cfg;
    size_t n = r->group_mode ? r->n_group_topics : 1;
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_cluster_topic *t = NULL;
        err = kafka_cluster_topic_get(r->kc, topics[i], deadline, &t);
        /* part_ids is sorted: its last is the highest */
        if (!err && !r->group_mode && r->n_part_ids && r->part_ids[r->n_part_ids - 1].partition >= t->n_partitions)
            err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (err && errbuf && errlen)
            snprintf(errbuf, errlen, "topic %s%s: %s", topics[i],
                     t && !t->err && !r->group_mode ? " (partition out of range)" : "", kafka_err_str(err));
        if (t)
            kafka_cluster_topic_release(r->kc, t);
    }
    if (err) {
        kafka_reader_close(r);
        *out = NULL;
    }
    return err;
}

/* ---- application-call bracketing (close waits for them) ---------------- */

/* Lock-free on the common path (a read per message must not take mu just
 * to bracket itself). enter increments active_calls and then checks
 * closing_a; close sets closing_a and then checks active_calls; both
 * seq_cst, so either the call sees closing or close sees the call. */
static void leave(kafka_reader *r)
{
    if (atomic_load(&r->closing_a)) {
        /* close may be waiting: decrement under mu and wake it. Once the
         * count is 0 close may free r, so nothing touches r after unlock. */
        pthread_mutex_lock(&r->mu);
        if (atomic_fetch_sub(&r->active_calls, 1) == 1)
            pthread_cond_broadcast(&r->cond_idle);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    /* closing_a was false when read; if close sets it in between, it sees
     * this decrement on its next poll (close waits with a short timeout). */
    atomic_fetch_sub(&r->active_calls, 1);
}

static kafka_err enter(kafka_reader *r)
{
    atomic_fetch_add(&r->active_calls, 1);
    if (atomic_load(&r->closing_a)) {
        leave(r);
        return KAFKA_ERR_CLOSED;
    }
    return 0;
}

/* Read calls (one reading thread at a time) bracket themselves with
 * rstate instead: plain stores, see "Hand-off" in reader_internal.h. close
 * sets closing_a, calls kr_sync_reading and waits for rstate to be idle. */
static inline kafka_err read_enter(kafka_reader *r)
{
    rstate_enter(r, KR_RS_CALL);
    if (atomic_load_explicit(&r->closing_a, memory_order_relaxed)) {
        rstate_leave(r, KR_RS_IDLE);
        return KAFKA_ERR_CLOSED;
    }
    return 0;
}

static inline void read_leave(kafka_reader *r)
{
    if (atomic_load_explicit(&r->closing_a, memory_order_relaxed)) {
        /* close may be waiting: go idle under mu and wake it. Once idle,
         * close may free r, so nothing touches r after unlock. */
        pthread_mutex_lock(&r->mu);
        rstate_leave(r, KR_RS_IDLE);
        pthread_cond_broadcast(&r->cond_idle);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    /* closing_a was false when read; if close sets it in between, it sees
     * rstate idle on its next poll (close waits with a short timeout). */
    rstate_leave(r, KR_RS_IDLE);
}

/* ---- read path --------------------------------------------------------- */

/* Read-committed filtering lives in protocol/txn_filter.c; this applies it (or, in
 * read-uncommitted mode, skips only control batches). */
static kafka_err skip_batch(kafka_reader *r, const kafka_record_batch *b, bool *skip)
{
    if (r->cfg.isolation_level != KAFKA_READ_COMMITTED) {
        *skip = b->control;
        return 0;
    }
    return kafka_txn_filter_skip(&r->txn, b, skip);
}

static void drop_current_locked(kafka_reader *r)
{
    if (!r->cur)
        return;
    kr_chunk_recycle_locked(r, r->cur);
    r->cur = NULL;
    r->in_batch = false;
}

/* Takes the next fresh chunk off the queue; waits up to deadline. */
static kafka_err next_chunk(kafka_reader *r, int64_t deadline)
{
    pthread_mutex_lock(&r->mu);
    drop_current_locked(r);
    for (;;) {
        if (r->closing) {
            pthread_mutex_unlock(&r->mu);
            return KAFKA_ERR_CLOSED;
        }
        if (r->cbq) {
            /* Rebalance callbacks run here, in the application's thread
             * (reader_group.c). */
            pthread_mutex_unlock(&r->mu);
            kr_group_run_callbacks(r);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        if (r->deliver_err && !r->q_head) {
            kafka_err e = r->deliver_err;
            r->deliver_err = 0;
            pthread_mutex_unlock(&r->mu);
            return e;
        }
        kr_chunk *c = r->q_head;
        if (c) {
            r->q_head = c->next;
            if (!r->q_head)
                r->q_tail = NULL;
            r->q_len--;
            r->q_bytes -= (int64_t)c->bytes;
            pthread_cond_broadcast(&r->cond_space);
            if (c->part->stop || c->part->epoch != c->epoch) {
                kr_chunk_recycle_locked(r, c);
                continue;
            }
            r->cur = c;
            break;
        }
        if (deadline >= 0) {
            int64_t left = deadline - kafka_now_ms();
            if (left <= 0) {
                r->st.timeouts++;
                pthread_mutex_unlock(&r->mu);
                return KAFKA_ERR_TIMEOUT;
            }
            kr_cond_wait_ms(&r->cond_data, &r->mu, left);
        } else {
            pthread_cond_wait(&r->cond_data, &r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
    kafka_records_iter_config ic = {.scratch = &r->scratch};
    kafka_records_iter_free(&r->it);
    kafka_records_iter_init(&r->it, r->cur->data, r->cur->len, &ic);
    r->in_batch = false;
    kafka_txn_filter_reset(&r->txn, r->cur->aborted, r->cur->n_aborted);
    return 0;
}

static inline const void *view(kafka_bytes v)
{
    return v.len < 0 ? NULL : (v.ptr ? (const void *)v.ptr : (const void *)"");
}

/* Decodes rec's headers into the reader's header array (grown as needed). */
static kafka_err fill_headers(kafka_reader *r, const kafka_record *rec, kafka_message *m)
{
    size_t n = (size_t)rec->header_count;
    if (n > r->hdr_cap) {
        kafka_header *h = kafka_realloc(r->hdrs, n * sizeof *h);
        if (!h)
            return KAFKA_ERR_NOMEM;
        r->hdrs = h;
        r->hdr_cap = n;
    }
    size_t pos = 0, i = 0;
    while (i < n && kafka_record_header_next(rec, &pos, &r->hdrs[i]))
        i++;
    m->headers = i ? r->hdrs : NULL;
    m->n_headers = i;
    return 0;
}

static inline kafka_err fill_message(kafka_reader *r, const kafka_record *rec, kafka_message *m)
{
    /* Every field is set here, so no memset (it was a measurable share of
     * the per-message cost). */
    const kr_part *p = r->cur->part;
    m->topic = p->topic;
    m->partition = p->partition;
    m->offset = rec->offset;
    m->key = view(rec->key);
    m->key_len = rec->key.len > 0 ? (size_t)rec->key.len : 0;
    m->value = view(rec->value);
    m->value_len = rec->value.len > 0 ? (size_t)rec->value.len : 0;
    m->timestamp_ms = rec->timestamp;
    m->headers = NULL;
    m->n_headers = 0;
    m->flags = 0;
    m->opaque = NULL;
    /* header_count is never negative (the decoder checks it) */
    return rec->header_count ? fill_headers(r, rec, m) : 0;
}

/* Adds to a counter only the reading thread writes: a plain load and store,
 * no locked read-modify-write. */
static inline void pend_add(_Atomic int64_t *c, int64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

/* Next record of the current chunk that is deliverable: 1, 0 at the end of
 * the chunk, or a negative error. */
static int next_record(kafka_reader *r, kafka_record *rec)
{
    for (;;) {
        if (!r->in_batch) {
            const kafka_record_batch *b = NULL;
            /* Timed per batch, not per record: the batch step is where
             * decompression happens, and a clock read per message costs
             * more than decoding a small record. */
            int64_t t0 = kafka_now_us();
            int rc = kafka_records_iter_next_batch(&r->it, &b);
            pend_add(&r->pend_decode_us, kafka_now_us() - t0);
            if (rc <= 0)
                return rc;
            bool skip;
            kafka_err err = skip_batch(r, b, &skip);
            if (err)
                return err;
            if (skip)
                continue;
            r->in_batch = true;
        }
        int rc = kafka_records_iter_next_record(&r->it, rec);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            r->in_batch = false;
            continue;
        }
        return 1;
    }
}

static int64_t pend_take(_Atomic int64_t *c)
{
    int64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, 0, memory_order_relaxed);
    return v;
}

/* Moves the reading thread's pending counts into st; mu held, reading
 * thread only. */
static void flush_pending_locked(kafka_reader *r)
{
    r->st.fetch_decode_us_total += pend_take(&r->pend_decode_us);
    r->st.messages += pend_take(&r->pend_msgs);
    r->st.bytes += pend_take(&r->pend_bytes);
}

/* Fills *m from rec and counts it as delivered. */
static inline kafka_err deliver(kafka_reader *r, const kafka_record *rec, kafka_message *m)
{
    kafka_err err = fill_message(r, rec, m);
    pend_add(&r->pend_msgs, 1);
    pend_add(&r->pend_bytes, (int64_t)(m->key_len + m->value_len));
    return err;
}

/* Lock-free delivery of rec from the current chunk: 1 delivered (position
 * advanced), 0 skip it (before the position), -1 take the locked path. The
 * chunk is fresh if the part's epoch still matches (a seek and a stop bump
 * it). Inside the KR_RS_DELIVER window the check and the plain store of
 * next_offset cannot interleave with a seek, a stop or an offset
 * resolution: those bump the epoch, then wait out any window in progress
 * (kr_sync_reading) before they write next_offset, and a window that
 * starts after their bump sees it. So a message is never delivered after a
 * seek or revocation took effect, and a revocation reads exactly the
 * delivered position. */
static inline int deliver_fast(kafka_reader *r, kr_part *p, const kafka_record *rec)
{
    int res = -1;
    rstate_enter(r, KR_RS_DELIVER);
    if (!atomic_load_explicit(&r->closing_a, memory_order_relaxed) &&
        atomic_load_explicit(&p->epoch, memory_order_relaxed) == r->cur->epoch) {
        int64_t pos = atomic_load_explicit(&p->next_offset, memory_order_relaxed);
        if (pos == KR_POS_STOPPED) {
            res = -1;
        } else if (pos >= 0 && rec->offset < pos) {
            res = 0; /* a compressed batch comes whole */
        } else {
            atomic_store_explicit(&p->next_offset, rec->offset + 1, memory_order_relaxed);
            if (r->read_commits)
                atomic_store_explicit(&p->read_pos, rec->offset + 1, memory_order_relaxed);
            res = 1;
        }
    }
    rstate_leave(r, KR_RS_CALL);
    return res;
}

/* No lock per message on the common path (deliver_fast); mu is taken per
 * chunk, and per message only when the fast path declines. */
static kafka_err read_next(kafka_reader *r, kafka_message *m, int timeout_ms)
{
    int64_t deadline = -2; /* computed when a wait may be needed */
    for (;;) {
        if (!r->cur) {
            if (deadline == -2)
                deadline = timeout_ms < 0 ? -1 : kafka_now_ms() + timeout_ms;
            kafka_err err = next_chunk(r, deadline);
            if (err)
                return err;
        }
        kafka_record rec;
        int rc = next_record(r, &rec);
        kr_part *p = r->cur->part;
        if (rc > 0) {
            int fast = deliver_fast(r, p, &rec);
            if (fast > 0)
                return deliver(r, &rec, m);
            if (fast == 0)
                continue;
        }
        pthread_mutex_lock(&r->mu);
        flush_pending_locked(r);
        bool stale = p->stop || p->epoch != r->cur->epoch || r->closing;
        if (rc <= 0 || stale) {
            if (rc < 0 && !stale) {
                snprintf(r->last_error, sizeof r->last_error, "%s [%d]: bad record data near offset %lld: field %s: %s",
                         p->topic, p->partition, (long long)p->next_offset,
                         r->it.err_field ? r->it.err_field : "?", kafka_err_str(rc));
                r->st.errors++;
                /* Skip past the bad chunk so the reader is not stuck. */
                drop_current_locked(r);
                pthread_mutex_unlock(&r->mu);
                return rc;
            }
            drop_current_locked(r);
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        /* Records before the position: a compressed batch comes whole. */
        if (p->next_offset >= 0 && rec.offset < p->next_offset) {
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        p->next_offset = rec.offset + 1;
        if (r->read_commits)
            p->read_pos = rec.offset + 1;
        pthread_mutex_unlock(&r->mu);
        return deliver(r, &rec, m);
    }
}

kafka_err kafka_reader_fetch_message(kafka_reader *r, kafka_message *m, int timeout_ms)
{
    if (!r || !m)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = read_enter(r);
    if (err)
        return err;
    r->read_commits = false;
    err = read_next(r, m, timeout_ms);
    read_leave(r);
    return err;
}

/* True when m's partition is no longer this reader's: a rebalance revoked
 * it after m was delivered (and committed m's read_pos). */
static bool revoked_since_read(kafka_reader *r, const kafka_message *m)
{
    pthread_mutex_lock(&r->mu);
    bool gone = !kr_part_find_locked(r, m->topic, m->partition);
    pthread_mutex_unlock(&r->mu);
    return gone;
}

kafka_err kafka_reader_read_message(kafka_reader *r, kafka_message *m, int timeout_ms)
{
    if (!r || !m)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = read_enter(r);
    if (err)
        return err;
    r->read_commits = r->group_mode;
    err = read_next(r, m, timeout_ms);
    if (!err && r->group_mode && r->after_read_hook)
        r->after_read_hook(r->after_read_arg, r);
    if (!err && r->group_mode) {
        /* Revoked since the delivery: the revoke committed it (read_pos),
         * and committing again could move back what the next owner
         * committed since. */
        kafka_err cerr = revoked_since_read(r, m)
                             ? 0
                             : kafka_reader_commit_messages(r, m, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (cerr == KAFKA_ERR_REBALANCE_IN_PROGRESS && revoked_since_read(r, m))
            cerr = 0;
        if (cerr)
            kr_log(r, KAFKA_LOG_WARN, "commit after read of %s [%d] offset %lld: %s", m->topic, m->partition,
                   (long long)m->offset, kafka_err_str(cerr));
    }
    read_leave(r);
    return err;
}

/* ---- commits ----------------------------------------------------------- */

kafka_err kafka_reader_commit_messages(kafka_reader *r, const kafka_message *msgs, size_t n, int timeout_ms)
{
    if (!r || (!msgs && n))
        return KAFKA_ERR_INVALID_ARG;
    if (!r->group_mode)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = enter(r);
    if (err)
        return err;
    kafka_group_offset *offs = kafka_calloc(n ? n : 1, sizeof *offs);
    if (!offs) {
        leave(r);
        return KAFKA_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].topic) {
            err = KAFKA_ERR_INVALID_ARG;
            break;
        }
        size_t j = 0;
        while (j < k && !(offs[j].partition == msgs[i].partition && strcmp(offs[j].topic, msgs[i].topic) == 0))
            j++;
        if (j == k) {
            offs[k].topic = msgs[i].topic;
            offs[k].partition = msgs[i].partition;
            offs[k++].offset = msgs[i].offset + 1;
        } else if (msgs[i].offset + 1 > offs[j].offset) {
            offs[j].offset = msgs[i].offset + 1;
        }
    }
    if (!err && r->cfg.commit_interval_ms > 0) {
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < k; i++) {
            kr_part *p = kr_group_part_owned_locked(r, offs[i].topic, offs[i].partition);
            if (!p)
                err = KAFKA_ERR_REBALANCE_IN_PROGRESS;
            else if (offs[i].offset > p->pending_commit && offs[i].offset > p->committed)
                p->pending_commit = offs[i].offset;
        }
        pthread_mutex_unlock(&r->mu);
    } else if (!err && k) {
        int64_t deadline = kafka_now_ms() + (timeout_ms < 0 ? r->cfg.session_timeout_ms : timeout_ms);
        err = kr_group_commit_sync(r, offs, k, deadline);
    }
    kafka_free(offs);
    leave(r);
    return err;
}

/* ---- offsets and lag ----------------------------------------------------- */

int64_t kafka_reader_offset(kafka_reader *r)
{
    if (!r || r->group_mode || r->multi)
        return -1;
    pthread_mutex_lock(&r->mu);
    int64_t off = r->n_parts ? r->parts[0]->next_offset : -1;
    pthread_mutex_unlock(&r->mu);
    return off;
}

static int64_t lag_locked(kafka_reader *r)
{
    int64_t lag = -1;
    for (size_t i = 0; i < r->n_parts; i++) {
        kr_part *p = r->parts[i];
        if (p->hwm < 0 || p->next_offset < 0)
            continue;
        lag = (lag < 0 ? 0 : lag) + (p->hwm > p->next_offset ? p->hwm - p->next_offset : 0);
    }
    return lag;
}

int64_t kafka_reader_lag(kafka_reader *r)
{
    if (!r)
        return -1;
    pthread_mutex_lock(&r->mu);
    int64_t lag = lag_locked(r);
    pthread_mutex_unlock(&r->mu);
    return lag;
}

kafka_err kafka_reader_read_lag(kafka_reader *r, int64_t *lag, int timeout_ms)
{
    if (!r || !lag)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = enter(r);
    if (err)
        return err;
    int64_t deadline = kafka_now_ms() + (timeout_ms < 0 ? READ_LAG_TIMEOUT_MS : timeout_ms);
    pthread_mutex_lock(&r->mu);
    err = kr_partitions_wait_known_locked(r, deadline);
    if (err) {
        pthread_mutex_unlock(&r->mu);
        leave(r);
        return err;
    }
    size_t n = r->n_parts;
    kr_part **ps = kafka_calloc(n ? n : 1, sizeof *ps);
    for (size_t i = 0; ps && i < n; i++) {
        ps[i] = r->parts[i];
        atomic_fetch_add(&ps[i]->refs, 1);
    }
    pthread_mutex_unlock(&r->mu);
    if (!ps) {
        leave(r);
        return KAFKA_ERR_NOMEM;
    }
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t hwm = -1;
        if (!err)
            err = kr_list_offset(r, ps[i]->topic, ps[i]->partition, KAFKA_OFFSET_LAST, deadline, &hwm);
        if (!err) {
            pthread_mutex_lock(&r->mu);
            ps[i]->hwm = hwm;
            int64_t pos = ps[i]->next_offset;
            pthread_mutex_unlock(&r->mu);
            total += pos >= 0 && hwm > pos ? hwm - pos : 0;
        }
        kr_part_release(ps[i]);
    }
    kafka_free(ps);
    if (!err)
        *lag = total;
    leave(r);
    return err;
}

kafka_err kafka_reader_set_offset(kafka_reader *r, int64_t offset)
{
    if (!r || offset < KAFKA_OFFSET_FIRST)
        return KAFKA_ERR_INVALID_ARG;
    if (r->group_mode || r->multi)
        return KAFKA_ERR_STATE;
    kafka_err err = enter(r);
    if (err)
        return err;
    pthread_mutex_lock(&r->mu);
    if (r->n_parts) {
        kr_part *p = r->parts[0];
        p->epoch++;
        kr_sync_reading(r); /* no delivery at the old position after this */
        p->fetch_offset = offset;
        p->next_offset = offset >= 0 ? offset : -1;
        /* A Fetch in flight for the old position comes back stale (its
         * epoch is gone) and is dropped; the next one asks for the new.
         * One parked at the end of the log is cut short. */
        kr_io_seek_locked(r);
        pthread_cond_broadcast(&r->cond_space);
    }
    pthread_mutex_unlock(&r->mu);
    kr_io_wake(r);
    leave(r);
    return 0;
}

kafka_err kafka_reader_set_offset_at(kafka_reader *r, int64_t unix_ms, int timeout_ms)
{
    if (!r || unix_ms < 0)
        return KAFKA_ERR_INVALID_ARG;
    if (r->group_mode || r->multi)
        return KAFKA_ERR_STATE;
    kafka_err err = enter(r);
    if (err)
        return err;
    int64_t off = -1;
    int64_t deadline = kafka_now_ms() + (timeout_ms < 0 ? READ_LAG_TIMEOUT_MS : timeout_ms);
    err = kr_list_offset(r, r->topic_cfg, r->cfg.partition, unix_ms, deadline, &off);
    /* No message at or after the time: the broker answers -1; go to the
     * end, where the next message will be. */
    if (!err && off < 0)
        err = kr_list_offset(r, r->topic_cfg, r->cfg.partition, KAFKA_OFFSET_LAST, deadline, &off);
    leave(r);
    if (err) {
        kr_error(r, err, "set_offset_at %lld: %s", (long long)unix_ms, kafka_err_str(err));
        return err;
    }
    return kafka_reader_set_offset(r, off);
}

/* ---- stats, errors ----------------------------------------------------- */

void kafka_reader_stats_get(kafka_reader *r, kafka_reader_stats *out)
{
    if (!r || !out)
        return;
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    /* Counts the reading thread has not moved into st yet. */
    out->fetch_decode_us_total += atomic_load_explicit(&r->pend_decode_us, memory_order_relaxed);
    out->messages += atomic_load_explicit(&r->pend_msgs, memory_order_relaxed);
    out->bytes += atomic_load_explicit(&r->pend_bytes, memory_order_relaxed);
    out->offset = !r->group_mode && !r->multi && r->n_parts ? r->parts[0]->next_offset : -1;
    out->lag = lag_locked(r);
    out->queue_length = (int64_t)r->q_len;
    out->queue_bytes = r->q_bytes;
    out->partitions = (int32_t)r->n_parts;
    out->min_bytes = r->cfg.min_bytes;
    out->max_bytes = r->cfg.max_bytes;
    out->max_wait_ms = r->cfg.max_wait_ms;
    pthread_mutex_unlock(&r->mu);
}

void kafka_reader_last_error(kafka_reader *r, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = '\0';
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    snprintf(buf, len, "%s", r->last_error);
    pthread_mutex_unlock(&r->mu);
}

/* ---- close --------------------------------------------------------------- */

kafka_err kafka_reader_close(kafka_reader *r)
{
    if (!r)
        return 0;
    pthread_mutex_lock(&r->mu);
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
        return KAFKA_ERR_CLOSED;
    }
    r->closing = true;
    atomic_store(&r->closing_a, true);
    kr_sync_reading(r); /* a read entering from now on sees closing_a */
    pthread_cond_broadcast(&r->cond_data);
    pthread_cond_broadcast(&r->cond_space);
    pthread_cond_broadcast(&r->cond_group);
    /* Timed: a call that read closing_a == false before it was set
     * decrements without signalling (see leave). */
    while (atomic_load(&r->active_calls) > 0 || atomic_load(&r->rstate) != KR_RS_IDLE) {
        kr_cond_wait_ms(&r->cond_idle, &r->mu, 10);
    }
    pthread_mutex_unlock(&r->mu);
    int64_t deadline = kafka_now_ms() + r->cfg.close_timeout_ms;
    if (r->group_mode)
        kr_group_stop(r, deadline); /* final commit + leave, bounded */
    kafka_cluster_interrupt(r->kc); /* ends a connect or metadata refresh of the I/O thread */
    kr_io_stop(r);                  /* requests in flight fail with CLOSED */
    kr_parts_stop(r, NULL, NULL, NULL, NULL);
    kafka_err err = r->close_err;
    reader_free(r);
    return err;
}

/* ---- message copies ------------------------------------------------------ */

kafka_err kafka_message_copy(kafka_message *dst, const kafka_message *src)
{
    if (!dst || !src)
        return KAFKA_ERR_INVALID_ARG;
    size_t tl = src->topic ? strlen(src->topic) + 1 : 0;
    size_t total = src->n_headers * sizeof(kafka_header) + tl + src->key_len + src->value_len + 2;
    for (size_t i = 0; i < src->n_headers; i++)
        total += src->headers[i].key_len + src->headers[i].value_len + 1;
    uint8_t *buf = kafka_malloc(total);
    memset(dst, 0, sizeof *dst);
    if (!buf)
        return KAFKA_ERR_NOMEM;
    *dst = *src;
    /* The header array comes first so it is suitably aligned. */
    kafka_header *h = (kafka_header *)(void *)buf;
    uint8_t *p = buf + src->n_headers * sizeof(kafka_header);
    for (size_t i = 0; i < src->n_headers; i++) {
        h[i] = src->headers[i];
        memcpy(p, src->headers[i].key, src->headers[i].key_len);
        h[i].key = (const char *)p;
        p += src->headers[i].key_len;
        if (src->headers[i].value) {
            memcpy(p, src->headers[i].value, src->headers[i].value_len);
            h[i].value = p;
            p += src->headers[i].value_len;
        }
        *p++ = 0;
    }
    dst->headers = src->n_headers ? h : NULL;
    if (src->topic) {
        memcpy(p, src->topic, tl);
        dst->topic = (const char *)p;
        p += tl;
    }
    if (src->key) {
        memcpy(p, src->key, src->key_len);
        dst->key = p;
        p += src->key_len;
    }
    *p++ = 0;
    if (src->value) {
        memcpy(p, src->value, src->value_len);
        dst->value = p;
        p += src->value_len;
    }
    *p = 0;
    /* Remember the block: it starts at the header array, or at the topic
     * when there are no headers; keep a private pointer in `headers` or
     * find it back from the layout in kafka_message_free. */
    if (!src->n_headers)
        dst->headers = (const kafka_header *)(void *)buf, dst->n_headers = 0;
    return 0;
}

void kafka_message_free(kafka_message *m)
{
    if (!m)
        return;
    kafka_free((void *)(uintptr_t)m->headers);
    memset(m, 0, sizeof *m);
}
