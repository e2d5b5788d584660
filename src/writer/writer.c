/*
 * kafka_writer: configuration, enqueueing (partition choice + encoding into
 * the partition's open batch), synchronous waits, flush, stats and close.
 * The background I/O (one engine thread) lives in writer_io.c, the
 * compression workers in writer_zip.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/membarrier.h"
#include "common/tsan.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "common/lock.h"
#include "compress/compress.h"
#include "conn/conn_internal.h"
#include "net/stream.h"
#include "writer/writer_internal.h"

#define W_DEFAULT_BATCH_BYTES 1048576
#define W_DEFAULT_BUFFERED (64LL * 1024 * 1024)
/* Buffer bytes a partition takes from the shared budget at a time (see
 * "buffer space"): one shared compare-and-swap per ~150 small messages. */
#define W_CREDIT_CHUNK 16384
/* Released batches kept for reuse (batch_pool_put): at most this many, and
 * at most max_buffered_bytes / W_POOL_SHARE bytes of their buffers. */
#define W_POOL_MAX 16
#define W_POOL_SHARE 8
/* The longest a synchronous call spins for its answer before it sleeps
 * (wait_waiter): LAN round trips only. */
#define W_SYNC_SPIN_MAX_US 200
/* How long the I/O thread polls for the next synchronous write after one
 * completed (kafka_engine_config.linger_until_us). */
#define W_IO_LINGER_US 50

int64_t kafka_writer_now(void) { return kafka_now_ms(); }

void kafka_writer_log(kafka_writer *w, kafka_log_level lvl, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (lvl == KAFKA_LOG_ERROR) {
        pthread_mutex_lock(&w->err_mu);
        memcpy(w->last_error, buf, sizeof w->last_error);
        pthread_mutex_unlock(&w->err_mu);
    }
    if (w->cfg.log && lvl <= w->cfg.log_level)
        w->cfg.log(w->cfg.log_privdata, lvl, buf);
}

void kafka_writer_broker_error(kafka_writer *w, kafka_err err, const char *why)
{
    pthread_mutex_lock(&w->err_mu);
    snprintf(w->last_error, sizeof w->last_error, "%s (%s)", why, kafka_err_name(err));
    pthread_mutex_unlock(&w->err_mu);
}

/* Keeps the text of a failure to reach the cluster (`what` failed with
 * err: the producer id, metadata) as the writer's last error, at once,
 * with the dial's detail when there is one (this thread's last dial).
 * Locked or not. */
void kafka_writer_note_failure(kafka_writer *w, const char *what, kafka_err err)
{
    char why[400];
    const char *d = kafka_dial_last_error();
    bool dial = err == KAFKA_ERR_TLS || err == KAFKA_ERR_SASL || err == KAFKA_ERR_SASL_AUTHENTICATION_FAILED ||
                err == KAFKA_ERR_NO_BROKERS || err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_RESOLVE ||
                err == KAFKA_ERR_TIMEOUT;
    if (dial && d && *d && strstr(d, kafka_err_str(err))) /* said already */
        snprintf(why, sizeof why, "%s: %s", what, d);
    else if (dial && d && *d)
        snprintf(why, sizeof why, "%s: %s: %s", what, kafka_err_str(err), d);
    else
        snprintf(why, sizeof why, "%s: %s", what, kafka_err_str(err));
    kafka_writer_broker_error(w, err, why);
}

/* ---- configuration ------------------------------------------------------- */

static kafka_err cfg_fail(char *errbuf, size_t errlen, kafka_err err, const char *what)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "kafka_writer_new: %s", what);
    return err;
}

static kafka_err cfg_validate(const kafka_writer_config *c, char *eb, size_t el)
{
    if (!c->brokers || !*c->brokers)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "brokers is empty");
    if (c->max_attempts < 0 || c->backoff_min_ms < 0 || c->backoff_max_ms < 0 || c->batch_size < 0 ||
        c->batch_bytes < 0 || c->batch_timeout_ms < 0 || c->read_timeout_ms < 0 || c->write_timeout_ms < 0 ||
        c->dial_timeout_ms < 0 || c->max_buffered_bytes < 0 || c->max_in_flight < 0 || c->append_lanes < 0 ||
        c->compression_workers < 0)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "sizes, counts and timeouts must not be negative");
    if (c->batch_bytes > 0 && c->batch_bytes < KAFKA_RECORD_BATCH_HEADER_SIZE + 8)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "batch_bytes is smaller than one record batch");
    if ((unsigned)c->required_acks > KAFKA_REQUIRE_NONE)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "required_acks is not a kafka_required_acks value");
    if ((unsigned)c->compression > KAFKA_CODEC_ZSTD)
        return cfg_fail(eb, el, KAFKA_ERR_UNSUPPORTED_CODEC, "unknown compression codec");
    if (c->topic && !*c->topic)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "topic is an empty string (use NULL for per-message topics)");
    if ((unsigned)c->log_level > KAFKA_LOG_DEBUG)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "log_level out of range");
    if ((unsigned)c->balancer.keyless > KAFKA_KEYLESS_ROUND_ROBIN)
        return cfg_fail(eb, el, KAFKA_ERR_INVALID_ARG, "balancer.keyless is not a kafka_keyless_mode value");
    return 0;
}

static void cfg_defaults(kafka_writer_config *c)
{
#define DEF(f, v)                                                                                                      \
    if (!c->f)                                                                                                         \
    c->f = (v)
    DEF(max_attempts, 10);
    DEF(backoff_min_ms, 100);
    DEF(backoff_max_ms, 1000);
    DEF(batch_size, 100);
    DEF(batch_bytes, W_DEFAULT_BATCH_BYTES);
    DEF(batch_timeout_ms, 1000);
    DEF(read_timeout_ms, 10000);
    DEF(write_timeout_ms, 10000);
    DEF(dial_timeout_ms, 10000);
    DEF(max_buffered_bytes, W_DEFAULT_BUFFERED);
    DEF(max_in_flight, 5);
#undef DEF
    if (c->backoff_max_ms < c->backoff_min_ms)
        c->backoff_max_ms = c->backoff_min_ms;
    if (c->max_in_flight > 5 && !c->disable_idempotence)
        c->max_in_flight = 5;
}

static void batch_free(wbatch *b)
{
    kafka_free(b->refs);
    kafka_free(b->idx);
    kafka_free(b->opq);
    kafka_wbuf_free(&b->buf);
    kafka_wbuf_free(&b->zbuf);
    kafka_free(b);
}

static void writer_free_mem(kafka_writer *w)
{
    for (wbatch *b = w->pool, *next; b; b = next) {
        next = b->next;
        batch_free(b);
    }
    for (wtopic *t = w->topics, *next; t; t = next) {
        next = t->next;
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            if (p)
                kafka_free(p);
        }
        kafka_free(t->name);
        kafka_free(t);
    }
    for (wblock *b = w->blocks, *next; b; b = next) {
        next = b->next;
        kafka_free(b);
    }
    kafka_free(w->wbrokers);
    kafka_free(w->send_vec.v);
    kafka_free(w->send_done.v);
    kafka_free(w->recv_done.v);
    kafka_compressor_free(w->send_z);
    if (w->cluster)
        kafka_cluster_free(w->cluster);
    kafka_balancer_state_free(w->bal);
    kafka_free(w->brokers);
    kafka_free(w->topic);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->err_mu);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->zq_cv);
    kafka_free(w);
}

static int rr_mode_of(const kafka_balancer *b);

static int cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

kafka_err kafka_writer_new(kafka_writer **out, const kafka_writer_config *cfg, char *errbuf, size_t errlen)
{
    if (!out || !cfg)
        return cfg_fail(errbuf, errlen, KAFKA_ERR_INVALID_ARG, "NULL argument");
    *out = NULL;
    kafka_err err = cfg_validate(cfg, errbuf, errlen);
    if (err)
        return err;
    kafka_writer *w = kafka_calloc(1, sizeof *w);
    if (!w)
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "out of memory");
    w->cfg = *cfg;
    cfg_defaults(&w->cfg);
    /* the application's calls and the I/O thread take it together */
    kafka_mutex_init_adaptive(&w->mu);
    w->sync_spin = sysconf(_SC_NPROCESSORS_ONLN) > 1;
    pthread_mutex_init(&w->err_mu, NULL);
    cond_init_mono(&w->done_cv);
    pthread_cond_init(&w->zq_cv, NULL);
    w->acks = kafka_required_acks_wire(cfg->required_acks);
    w->rr_mode = rr_mode_of(&cfg->balancer);
    w->empty_key_keyless = cfg->balancer.kind == KAFKA_BALANCER_CRC32;
    w->n_lanes = cfg->append_lanes <= 1 ? 1 : cfg->append_lanes >= W_LANES ? W_LANES : (unsigned)cfg->append_lanes;
    kafka_wallclock_init(&w->clock, kafka_wallclock_tsc_usable());
    w->asym = kafka_membarrier_register();
    kafka_pstate_init(&w->ps, !cfg->disable_idempotence && w->acks == -1, w->cfg.max_in_flight,
                      w->cfg.max_attempts, w->cfg.backoff_min_ms, w->cfg.backoff_max_ms);
    if (!cfg->disable_idempotence && w->acks != -1)
        kafka_writer_log(w, KAFKA_LOG_WARN, "idempotence off: it needs required_acks = ALL");
    w->brokers = kafka_strdup(cfg->brokers);
    w->topic = cfg->topic ? kafka_strdup(cfg->topic) : NULL;
    w->cfg.brokers = w->brokers;
    w->cfg.topic = w->topic;
    if (!w->brokers || (cfg->topic && !w->topic)) {
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "out of memory");
    }
    err = kafka_balancer_state_new(&cfg->balancer, &w->bal);
    if (err) {
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, err, "invalid balancer (unknown kind, or CUSTOM without fn)");
    }
    char cerr[200] = "";
    kafka_cluster_config cc = {.bootstrap = w->brokers,
                               .dialer = cfg->dialer,
                               .dial_timeout_ms = w->cfg.dial_timeout_ms,
                               .backoff_min_ms = w->cfg.backoff_min_ms,
                               .backoff_max_ms = w->cfg.backoff_max_ms,
                               .max_conns_per_broker = 2,
                               .allow_auto_topic_creation = cfg->allow_auto_topic_creation};
    err = kafka_cluster_new(&cc, &w->cluster, cerr, sizeof cerr);
    if (err) {
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, err, cerr[0] ? cerr : "invalid brokers");
    }
    w->st.queue_capacity = w->cfg.max_buffered_bytes;
    /* Small enough that credits are a small part of a small buffer. */
    w->credit_chunk = w->cfg.max_buffered_bytes / 64 < W_CREDIT_CHUNK ? w->cfg.max_buffered_bytes / 64 : W_CREDIT_CHUNK;
    /* Workers first: the I/O thread decides from n_zworkers whether it
     * compresses itself. */
    w->n_zworkers = kafka_writer_zip_count(&w->cfg);
    if (kafka_writer_zip_start(w) != 0) {
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "cannot start the compression threads");
    }
    if (kafka_writer_io_start(w) != 0) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->zq_cv);
        pthread_mutex_unlock(&w->mu);
        kafka_writer_zip_join(w);
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "cannot start the I/O thread");
    }
    w->threads_started = true;
    *out = w;
    return 0;
}

/* ---- partitions and batches ---------------------------------------------- */

/* Zeroed storage for a grow-only array, kept until close (a lock-free
 * reader may still use a replaced copy). Locked. NULL on OOM. */
static void *block_new(kafka_writer *w, size_t bytes)
{
    wblock *b = kafka_calloc(1, sizeof *b + bytes);
    if (!b)
        return NULL;
    b->next = w->blocks;
    w->blocks = b;
    return b->data;
}

/* The state of `topic`, or NULL before its first use. Lock-free: any
 * thread, with or without w->mu. The writer's own topic is one pointer
 * comparison (w->topic is its immutable copy, so pointer equality is
 * enough; a caller's buffer could change content). */
static wtopic *topic_scan(kafka_writer *w, const char *topic)
{
    for (wtopic *t = atomic_load_explicit(&w->topics, memory_order_acquire); t;
         t = atomic_load_explicit(&t->next, memory_order_acquire))
        if (strcmp(t->name, topic) == 0)
            return t;
    return NULL;
}

static inline wtopic *topic_find(kafka_writer *w, const char *topic)
{
    if (topic == w->topic) {
        wtopic *t = atomic_load_explicit(&w->cfg_wt, memory_order_acquire);
        if (t)
            return t;
    }
    return topic_scan(w, topic);
}

/* Creates the state of `topic` and publishes it, complete, at the end of
 * the list. Locked. NULL on OOM. */
static wtopic *topic_add(kafka_writer *w, const char *topic)
{
    wtopic *t = kafka_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->name = kafka_strdup(topic);
    if (!t->name) {
        kafka_free(t);
        return NULL;
    }
    if (w->topics_tail)
        atomic_store_explicit(&w->topics_tail->next, t, memory_order_release);
    else
        atomic_store_explicit(&w->topics, t, memory_order_release);
    w->topics_tail = t;
    if (w->topic && strcmp(topic, w->topic) == 0)
        atomic_store_explicit(&w->cfg_wt, t, memory_order_release);
    return t;
}

/* The state of partition `id` of t, created on first use. Locked. NULL on
 * OOM. */
static wpart *part_in(kafka_writer *w, wtopic *t, int32_t id)
{
    int32_t n = atomic_load_explicit(&t->n_parts, memory_order_relaxed);
    _Atomic(wpart *) *v = atomic_load_explicit(&t->parts, memory_order_relaxed);
    if (id < n) {
        wpart *p = atomic_load_explicit(&v[id], memory_order_relaxed);
        if (p)
            return p;
    } else {
        /* Grow by copying: readers may hold the old array. */
        int64_t cap = n ? n : 4;
        while (cap <= id)
            cap *= 2;
        _Atomic(wpart *) *nv = block_new(w, (size_t)cap * sizeof *nv);
        if (!nv)
            return NULL;
        for (int32_t i = 0; i < n; i++)
            atomic_store_explicit(&nv[i], atomic_load_explicit(&v[i], memory_order_relaxed), memory_order_relaxed);
        atomic_store_explicit(&t->parts, nv, memory_order_release);
        atomic_store_explicit(&t->n_parts, (int32_t)cap, memory_order_release);
        v = nv;
    }
    wpart *p = kafka_calloc(1, sizeof *p); /* lane locks: zero = unlocked */
    if (!p)
        return NULL;
    p->topic = t->name;
    p->id = id;
    p->leader = -1;
    atomic_store_explicit(&v[id], p, memory_order_release);
    return p;
}

/* Finds or creates the partition state. Locked. NULL on OOM. */
static wpart *part_get(kafka_writer *w, const char *topic, int32_t id)
{
    wtopic *t = topic_find(w, topic);
    if (!t && !(t = topic_add(w, topic)))
        return NULL;
    return part_in(w, t, id);
}

/* Partition `id` of t if its state exists, else NULL. Lock-free. */
static inline wpart *part_peek(wtopic *t, int32_t id)
{
    /* parts is published before n_parts grows: it has >= n entries. */
    int32_t n = atomic_load_explicit(&t->n_parts, memory_order_acquire);
    if (id >= n)
        return NULL;
    return atomic_load_explicit(&atomic_load_explicit(&t->parts, memory_order_acquire)[id], memory_order_acquire);
}

/* The memory a pooled batch keeps. */
static size_t batch_mem(const wbatch *b)
{
    return b->buf.cap + b->zbuf.cap + b->idx_cap * sizeof *b->idx + b->cap_refs * sizeof *b->refs +
           b->opq_cap * sizeof *b->opq;
}

/* Keeps released b for reuse if the pool has room (W_POOL_MAX batches,
 * max_buffered_bytes / W_POOL_SHARE bytes), else frees it. Its buffers
 * and arrays stay allocated, emptied; everything else is reset. w->mu
 * held. */
static void batch_pool_put(kafka_writer *w, wbatch *b)
{
    size_t mem = batch_mem(b);
    if (w->pool_n >= W_POOL_MAX || b->buf.oom || b->zbuf.oom ||
        w->pool_bytes + mem > (size_t)(w->cfg.max_buffered_bytes / W_POOL_SHARE)) {
        batch_free(b);
        return;
    }
    wbatch keep = {.buf = b->buf, .zbuf = b->zbuf, .idx = b->idx, .idx_cap = b->idx_cap, .refs = b->refs,
                   .cap_refs = b->cap_refs, .opq = b->opq, .opq_cap = b->opq_cap};
    *b = keep;
    b->buf.len = 0;
    b->zbuf.len = 0;
    b->next = w->pool;
    w->pool = b;
    w->pool_n++;
    w->pool_bytes += mem;
}

/* A batch from the pool (most recently released first: its memory is the
 * warmest), or a new zeroed one; NULL on OOM. w->mu held. */
static wbatch *batch_pool_take(kafka_writer *w)
{
    wbatch *b = w->pool;
    if (!b)
        return kafka_calloc(1, sizeof *b);
    w->pool = b->next;
    w->pool_n--;
    w->pool_bytes -= batch_mem(b);
    b->next = NULL;
    return b;
}

/* A new open batch for lane ln of p. w->mu and ln->mu held. */
static wbatch *batch_new(kafka_writer *w, wpart *p, wlane *ln)
{
    wbatch *b = batch_pool_take(w);
    if (!b)
        return NULL;
    kafka_batch_builder_config bc = kafka_batch_builder_config_default();
    bc.codec = w->cfg.compression;
    bc.compression_level = w->cfg.compression_level;
    if (kafka_batch_builder_init(&b->bb, &b->buf, &bc) != 0) {
        batch_free(b);
        return NULL;
    }
    /* Size the buffer (and index) like the partition's previous batch, so
     * that a steady stream does not regrow and copy them batch after
     * batch. A failed reservation only means growing later. */
    if (ln->last_len && !kafka_wbuf_reserve(&b->buf, ln->last_len))
        b->buf.oom = false; /* nothing was written: the buffer is intact */
    b->part = p;
    b->created_ms = kafka_writer_now();
    b->pb.base_seq = -1;
    b->base_offset = -1;
    b->bytes = KAFKA_RECORD_BATCH_HEADER_SIZE;
    /* The completion callback is fed from an index of where each record's
     * key and value sit in the batch buffer (compressed batches are
     * compressed into a second buffer, so the records stay put). */
    b->index_ok = w->cfg.completion != NULL;
    b->keep_opaque = b->index_ok;
    if (b->index_ok && ln->last_count > 0 && b->idx_cap < (size_t)ln->last_count) {
        wmeta *idx = kafka_realloc(b->idx, (size_t)ln->last_count * sizeof *b->idx);
        if (idx) {
            b->idx = idx;
            b->idx_cap = (size_t)ln->last_count;
        }
    }
    w->pending_batches++;
    atomic_fetch_add_explicit(&w->buffered_bytes, (int64_t)b->bytes, memory_order_relaxed);
    return b;
}

void kafka_writer_seal(kafka_writer *w, wpart *p, wlane *ln, int why)
{
    wbatch *b = ln->open;
    if (!b)
        return;
    ln->open = NULL;
    ln->last_len = b->buf.len;
    ln->last_count = b->count;
    w->sealed_msgs += b->count;
    /* Numbered in queue order (lanes seal in any order): requeues keep
     * the order the sequence numbers follow. */
    kafka_ppart_push(&p->pp, &b->pb, b->count);
    int64_t *ctr[] = {&w->st.batches_full, &w->st.batches_sync, &w->st.batches_timeout, &w->st.batches_flush};
    (*ctr[why])++;
    if (w->n_zworkers) /* the I/O thread waits for it to be compressed */
        kafka_writer_zip_push(w, b);
    else if (why != W_SEAL_SYNC) /* write_sync sends, or wakes the I/O thread */
        kafka_writer_wake(w);
}

static bool ref_add(wbatch *b, wwaiter *wt, size_t idx)
{
    if (b->n_refs == b->cap_refs) {
        size_t cap = b->cap_refs ? b->cap_refs * 2 : 8;
        wref *r = kafka_realloc(b->refs, cap * sizeof *r);
        if (!r)
            return false;
        b->refs = r;
        b->cap_refs = cap;
    }
    b->refs[b->n_refs++] = (wref){wt->id, idx};
    return true;
}

/* Keeps the opaque of the record about to be appended (number b->count)
 * when the batch reports to a completion callback. The array exists only
 * from the first non-NULL opaque on (earlier records' are NULL). False on
 * OOM: the message must then fail, since its report could not carry it.
 * The lane's lock held. */
static bool batch_opaque_add(wbatch *b, void *opaque)
{
    if (!b->keep_opaque || (!opaque && !b->opq_live))
        return true;
    size_t need = (size_t)b->count + 1;
    if (need > b->opq_cap) {
        size_t cap = b->opq_cap ? b->opq_cap * 2 : 16;
        if (cap < need)
            cap = need;
        void **v = kafka_realloc(b->opq, cap * sizeof *v);
        if (!v)
            return false;
        b->opq = v;
        b->opq_cap = cap;
    }
    if (!b->opq_live) {
        for (int32_t i = 0; i < b->count; i++)
            b->opq[i] = NULL;
        b->opq_live = true;
    }
    b->opq[b->count] = opaque;
    return true;
}

/* The opaque of b's record i (NULL when none was kept). */
static inline void *batch_opaque(const wbatch *b, size_t i) { return b->opq_live ? b->opq[i] : NULL; }

/* Notes where the record just appended keeps its key and value (the
 * protocol layer knows the layout: kafka_record_kv_offsets). Records with
 * headers are not indexed (the batch falls back to decoding). Amortised growth: no
 * allocation per message. The lane's lock held. */
static void batch_index_add(wbatch *b, int32_t kl, int32_t vl, int64_t ts, size_t n_headers)
{
    if (n_headers) {
        b->index_ok = false;
        return;
    }
    if ((size_t)b->count == b->idx_cap) {
        size_t cap = b->idx_cap ? b->idx_cap * 2 : 16;
        wmeta *v = kafka_realloc(b->idx, cap * sizeof *v);
        if (!v) {
            b->index_ok = false;
            return;
        }
        b->idx = v;
        b->idx_cap = cap;
    }
    size_t key_off, val_off;
    kafka_record_kv_offsets(b->buf.len, kl, vl, &key_off, &val_off);
    b->idx[b->count] = (wmeta){(uint32_t)key_off, (uint32_t)val_off, kl, vl, ts};
}

/* ---- completion ----------------------------------------------------------- */

void kafka_writer_complete(kafka_writer *w, wbatch *b, kafka_err err, int64_t base_offset)
{
    b->result = err;
    b->base_offset = base_offset;
    if (err)
        w->st.errors += b->count;
    else {
        w->st.messages += b->count;
        w->st.bytes += (int64_t)b->bytes;
    }
}

/* Hands the batch's messages to the completion callback, decoded from the
 * batch bytes (the caller's buffers are long gone). */
#define W_DELIVER_CHUNK 128

/* deliver() from the index: no decoding, no allocation; a large batch is
 * reported in chunks of W_DELIVER_CHUNK messages. */
static void deliver_indexed(kafka_writer *w, wbatch *b)
{
    kafka_message msgs[W_DELIVER_CHUNK];
    const uint8_t *base = b->buf.data;
    /* Loop invariants hoisted: offsets count up from base_offset, or are
     * all -1 (failed, or unknown). */
    const bool known = b->result == 0 && b->base_offset >= 0;
    const int64_t step = known ? 1 : 0;
    int64_t off = known ? b->base_offset : -1;
    const char *topic = b->part->topic;
    const int32_t part = b->part->id, count = b->count;
    const wmeta *x = b->idx;
    for (int32_t i = 0; i < count;) {
        size_t n = 0;
        for (; n < W_DELIVER_CHUNK && i < count; n++, i++, x++, off += step) {
            kafka_message *m = &msgs[n];
            m->topic = topic;
            m->partition = part;
            m->offset = off;
            m->key = x->kl >= 0 ? base + x->key_off : NULL;
            m->key_len = x->kl > 0 ? (size_t)x->kl : 0;
            m->value = x->vl >= 0 ? base + x->val_off : NULL;
            m->value_len = x->vl > 0 ? (size_t)x->vl : 0;
            m->headers = NULL;
            m->n_headers = 0;
            m->timestamp_ms = x->ts;
            m->flags = 0;
            m->opaque = batch_opaque(b, (size_t)i);
        }
        w->cfg.completion(w->cfg.completion_privdata, msgs, n, b->result);
    }
}

/* deliver() without memory to decode the batch: every message is still
 * reported (topic, partition, offset, opaque, outcome), without its key,
 * value and headers, in chunks from the stack. */
static void deliver_bare(kafka_writer *w, wbatch *b)
{
    kafka_writer_log(w, KAFKA_LOG_ERROR, "out of memory decoding %d messages of %s[%d] for their report (%s): "
                     "reported without contents", (int)b->count, b->part->topic, (int)b->part->id,
                     kafka_err_name(b->result));
    kafka_message msgs[W_DELIVER_CHUNK];
    const bool known = b->result == 0 && b->base_offset >= 0;
    for (size_t i = 0; i < (size_t)b->count;) {
        size_t n = 0;
        for (; n < W_DELIVER_CHUNK && i < (size_t)b->count; n++, i++)
            msgs[n] = (kafka_message){.topic = b->part->topic,
                                      .partition = b->part->id,
                                      .offset = known ? b->base_offset + (int64_t)i : -1,
                                      .timestamp_ms = -1,
                                      .opaque = batch_opaque(b, i)};
        w->cfg.completion(w->cfg.completion_privdata, msgs, n, b->result);
    }
}

void kafka_writer_deliver(kafka_writer *w, wbatch *b)
{
    if (!w->cfg.completion || b->count == 0)
        return;
    if (b->index_ok) {
        deliver_indexed(w, b);
        return;
    }
    kafka_writer_finish_batch(b, NULL);
    kafka_message *msgs = kafka_calloc((size_t)b->count, sizeof *msgs);
    kafka_header *hdrs = NULL;
    size_t n_hdrs = 0, cap_hdrs = 0;
    if (!msgs) {
        deliver_bare(w, b);
        return;
    }
    size_t n = 0;
    /* Views into a compressed batch point into the iterator's scratch
     * buffer: it is freed only after the callback. */
    kafka_records_iter it;
    bool it_live = false;
    if (!b->finish_err) {
        it_live = true;
        size_t wire_len;
        const uint8_t *wire = kafka_writer_wire(b, &wire_len);
        kafka_records_iter_init(&it, wire, wire_len, NULL);
        kafka_record rec;
        /* Two passes: headers first (the array may move while growing). */
        size_t *hstart = kafka_calloc((size_t)b->count, sizeof *hstart);
        while (hstart && n < (size_t)b->count && kafka_records_iter_next(&it, &rec) == 1) {
            kafka_message *m = &msgs[n];
            m->key = rec.key.len >= 0 ? rec.key.ptr : NULL;
            m->key_len = rec.key.len > 0 ? (size_t)rec.key.len : 0;
            m->value = rec.value.len >= 0 ? rec.value.ptr : NULL;
            m->value_len = rec.value.len > 0 ? (size_t)rec.value.len : 0;
            m->timestamp_ms = rec.timestamp;
            hstart[n] = n_hdrs;
            size_t pos = 0;
            kafka_header h;
            while (kafka_record_header_next(&rec, &pos, &h)) {
                if (n_hdrs == cap_hdrs) {
                    size_t cap = cap_hdrs ? cap_hdrs * 2 : 16;
                    kafka_header *nh = kafka_realloc(hdrs, cap * sizeof *nh);
                    if (!nh)
                        break;
                    hdrs = nh;
                    cap_hdrs = cap;
                }
                hdrs[n_hdrs++] = h;
            }
            m->n_headers = n_hdrs - hstart[n];
            n++;
        }
        for (size_t i = 0; hstart && i < n; i++)
            msgs[i].headers = msgs[i].n_headers ? hdrs + hstart[i] : NULL;
        kafka_free(hstart);
    }
    /* Whatever could not be decoded is still reported, without content. */
    for (size_t i = 0; i < (size_t)b->count; i++) {
        msgs[i].topic = b->part->topic;
        msgs[i].partition = b->part->id;
        msgs[i].offset = (b->result == 0 && b->base_offset >= 0) ? b->base_offset + (int64_t)i : -1;
        msgs[i].opaque = batch_opaque(b, i);
    }
    w->cfg.completion(w->cfg.completion_privdata, msgs, (size_t)b->count, b->result);
    if (it_live)
        kafka_records_iter_free(&it);
    kafka_free(hdrs);
    kafka_free(msgs);
}

static wwaiter *waiter_find(kafka_writer *w, uint64_t id)
{
    for (wwaiter *x = w->waiters; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL; /* that call timed out and returned */
}

void kafka_writer_release_batch(kafka_writer *w, wbatch *b)
{
    uint64_t last_id = 0;
    wwaiter *wt = NULL;
    for (size_t i = 0; i < b->n_refs; i++) {
        if (b->refs[i].waiter != last_id) { /* refs come in runs per call */
            last_id = b->refs[i].waiter;
            wt = waiter_find(w, last_id);
        }
        if (wt) {
            wt->errs[b->refs[i].idx] = b->result;
            /* The call's last message: its thread returns, and may well
             * write again at once. */
            if (--wt->remaining == 0 && w->sync_spin && w->sync_wait_us < W_SYNC_SPIN_MAX_US)
                atomic_store_explicit(&w->io_linger_until_us, kafka_now_us() + W_IO_LINGER_US,
                                      memory_order_relaxed);
        }
    }
    kafka_balancer_add_bytes(w->bal, b->part->topic, b->part->id, -b->payload);
    atomic_fetch_sub_explicit(&w->buffered_bytes, (int64_t)b->bytes, memory_order_relaxed);
    w->sealed_msgs -= b->count;
    w->pending_batches--;
    batch_pool_put(w, b);
    pthread_cond_broadcast(&w->done_cv);
}

/* ---- writing ---------------------------------------------------------------- */

/* A cheap upper bound of a record's encoded size (every varint at its
 * widest: length 5, attributes 1, timestamp delta 10, offset delta 5, key
 * and value lengths 5 each, header count 5, and 10 per header), so that the
 * exact computation is only needed near a limit. SIZE_MAX on overflow. */
static inline size_t record_size_quick(const kafka_message *m)
{
    /* Key and value lengths are validated <= INT32_MAX before this is
     * used, so without headers the sum cannot overflow 64 bits. */
    uint64_t sz64 = 36 + (uint64_t)m->key_len + (uint64_t)m->value_len;
    if (sz64 > SIZE_MAX / 2)
        return SIZE_MAX;
    size_t sz = (size_t)sz64;
    for (size_t i = 0; i < m->n_headers; i++) {
        const kafka_header *h = &m->headers[i];
        if (h->key_len > SIZE_MAX / 4 || h->value_len > SIZE_MAX / 4 || sz > SIZE_MAX / 4)
            return SIZE_MAX;
        sz += 10 + h->key_len + h->value_len;
    }
    return sz;
}

static const char *msg_topic(const kafka_writer *w, const kafka_message *m)
{
    return w->topic ? w->topic : m->topic;
}

/* Validation that rejects the whole call (nothing half-sent). */
static kafka_err msg_validate(const kafka_writer *w, const kafka_message *m)
{
    if ((w->topic && m->topic) || (!w->topic && (!m->topic || !*m->topic)))
        return KAFKA_ERR_INVALID_ARG;
    if (m->key_len > INT32_MAX || m->value_len > INT32_MAX || (!m->key && m->key_len) ||
        (!m->value && m->value_len) || (m->n_headers && !m->headers))
        return KAFKA_ERR_INVALID_ARG;
    for (size_t i = 0; i < m->n_headers; i++)
        if ((!m->headers[i].key && m->headers[i].key_len) || m->headers[i].key_len > INT32_MAX ||
            m->headers[i].value_len > INT32_MAX || (!m->headers[i].value && m->headers[i].value_len))
            return KAFKA_ERR_INVALID_ARG;
    if (record_size_quick(m) <= (size_t)w->cfg.batch_bytes - KAFKA_RECORD_BATCH_HEADER_SIZE)
        return 0;
    size_t sz = kafka_record_size_bound((int32_t)m->key_len, (int32_t)m->value_len, m->headers, m->n_headers);
    if (sz == SIZE_MAX || sz + KAFKA_RECORD_BATCH_HEADER_SIZE > (size_t)w->cfg.batch_bytes)
        return KAFKA_ERR_MESSAGE_TOO_LARGE;
    return 0;
}

/* Refreshes the writer's partition count of `topic` from the cluster
 * layer (unlocked; blocks up to deadline). On failure a known count stays
 * in use and the next refresh is pushed back, so an unreachable cluster
 * does not make every write wait. */
static kafka_err topic_refresh(kafka_writer *w, const char *topic, int64_t deadline)
{
    const kafka_cluster_topic *t = NULL;
    kafka_err err = kafka_cluster_topic_get(w->cluster, topic, deadline, &t);
    int32_t n = (!err && t) ? t->n_partitions : 0;
    if (t)
        kafka_cluster_topic_release(w->cluster, t);
    if (!err && n < 1)
        err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (err)
        kafka_writer_note_failure(w, "metadata", err);
    pthread_mutex_lock(&w->mu);
    wpart *p0 = part_get(w, topic, 0); /* creates the wtopic */
    wtopic *wt = p0 ? topic_find(w, topic) : NULL;
    if (!wt) {
        pthread_mutex_unlock(&w->mu);
        return KAFKA_ERR_NOMEM;
    }
    int64_t now = kafka_writer_now();
    if (!err && n != wt->n_known) {
        /* ids only grows (a copy, published before n_known): a lock-free
         * reader that saw n_known finds at least that many ids. */
        if (n > wt->ids_cap) {
            int32_t *ids = block_new(w, (size_t)n * sizeof *ids);
            if (ids) {
                for (int32_t i = 0; i < n; i++)
                    ids[i] = i;
                atomic_store_explicit(&wt->ids, ids, memory_order_release);
                wt->ids_cap = n;
            } else {
                err = KAFKA_ERR_NOMEM;
            }
        }
        if (!err)
            atomic_store_explicit(&wt->n_known, n, memory_order_release);
    }
    atomic_store_explicit(&wt->next_refresh, now + (err ? w->cfg.backoff_max_ms : 10000), memory_order_relaxed);
    if (err && wt->n_known > 0)
        err = 0; /* keep partitioning with what we knew */
    pthread_mutex_unlock(&w->mu);
    return err;
}

/* Which messages the writer spreads itself, and how (W_RR_*): every
 * message round-robin (ROUND_ROBIN), keyless messages of a hash kind
 * sticky (the default) or round-robin (KAFKA_KEYLESS_ROUND_ROBIN), and
 * nothing for the kinds that decide themselves or hash every key
 * (.consistent). Spreading in the writer keeps the positions in the wtopic
 * and saves the balancer's per-topic hash lookup and lock on every
 * message; deciding it once at creation saves re-reading the config. */
static int rr_mode_of(const kafka_balancer *b)
{
    if (b->kind == KAFKA_BALANCER_ROUND_ROBIN)
        return W_RR_ALWAYS;
    if (b->kind == KAFKA_BALANCER_LEAST_BYTES || b->kind == KAFKA_BALANCER_CUSTOM || b->consistent)
        return W_RR_NEVER;
    return b->keyless == KAFKA_KEYLESS_ROUND_ROBIN ? W_RR_NULL_KEYS : W_RR_STICKY;
}

/* True when m has no key to hash: a null key, or for CRC32 an empty key
 * too (librdkafka consistent_random, kafka/balancer.h). */
static inline bool keyless(const kafka_writer *w, const kafka_message *m)
{
    return !m->key || (m->key_len == 0 && w->empty_key_keyless);
}

/* The calling thread's lane of w: the thread's number (assigned on its
 * first write to any writer, threads numbered in turn, then fixed for the
 * thread's life) modulo w's lane count, so that a thread's messages to a
 * partition always go to the same lane and keep their order. The thread
 * numbers are the library's only global besides the allocator hook.
 * Lock-free. */
static atomic_uint w_thread_next;
static _Thread_local unsigned w_thread_no = UINT_MAX;

static inline unsigned thread_no(void)
{
    if (w_thread_no == UINT_MAX)
        w_thread_no = atomic_fetch_add_explicit(&w_thread_next, 1, memory_order_relaxed);
    return w_thread_no;
}

static inline unsigned thread_lane(const kafka_writer *w)
{
    if (w->n_lanes == 1)
        return 0;
    return thread_no() % w->n_lanes;
}

/* Counts a public call as running until api_leave (its last access to
 * w), so that close does not free w under it: an asynchronous write on
 * the lock-free path holds no lock close could wait on, and close used
 * to free the writer while such a write, begun before close, was still
 * appending (a use after free). A thread with a slot of its own counts
 * with plain stores: close's asymmetric fence (api_running) makes any
 * count stored before it visible, so the common call pays no locked
 * instruction. Returns the slot for api_leave. Lock-free. */
static inline unsigned api_enter(kafka_writer *w)
{
    unsigned t = thread_no();
#if !KAFKA_TSAN
    if (t < W_ACTIVE_SLOTS) {
        atomic_long *n = &w->active[t].n;
        atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
        if (w->asym)
            atomic_signal_fence(memory_order_seq_cst);
        else
            atomic_thread_fence(memory_order_seq_cst);
        return t;
    }
#endif
    /* Shared slot, and TSan builds (which model neither membarrier nor
     * fences): a read-modify-write, ordered without help. */
    unsigned slot = t < W_ACTIVE_SLOTS ? t : W_ACTIVE_SLOTS;
    atomic_fetch_add_explicit(&w->active[slot].n, 1, memory_order_seq_cst);
    return slot;
}

static inline void api_leave(kafka_writer *w, unsigned slot)
{
    atomic_long *n = &w->active[slot].n;
#if !KAFKA_TSAN
    if (slot < W_ACTIVE_SLOTS) {
        atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) - 1, memory_order_release);
        return;
    }
#endif
    atomic_fetch_sub_explicit(n, 1, memory_order_release);
}

/* True while a public call other than close runs (see api_enter). The
 * heavy side of the fence pair comes first. */
static bool api_running(kafka_writer *w)
{
#if !KAFKA_TSAN
    if (!(w->asym && kafka_membarrier_heavy()))
        atomic_thread_fence(memory_order_seq_cst);
#endif
    for (int i = 0; i <= W_ACTIVE_SLOTS; i++)
        if (atomic_load_explicit(&w->active[i].n, memory_order_acquire) > 0)
            return true;
    return false;
}

/* wt's partition count if known and fresh (or `stale_ok`), else 0 (the
 * metadata must be fetched first). Lock-free. */
static inline int32_t known_parts(wtopic *wt, bool stale_ok, int64_t now)
{
    int32_t n = atomic_load_explicit(&wt->n_known, memory_order_acquire);
    if (n <= 0 || (!stale_ok && now >= atomic_load_explicit(&wt->next_refresh, memory_order_relaxed)))
        return 0;
    return n;
}

/* The next partition of wt's rotation, 0..n-1. A 32-bit position: the
 * modulo is cheap, and the wrap every 2^32 messages is one uneven step.
 * Lock-free. */
static inline int32_t rotate(wtopic *wt, unsigned lane, int32_t n)
{
    uint32_t i = (uint32_t)atomic_fetch_add_explicit(&wt->rr[lane].pos, 1, memory_order_relaxed);
    return (int32_t)(i % (uint32_t)n);
}

/* The sticky partition of the calling thread's group for keyless m
 * (kafka/balancer.h): kept until the group has put a batch's worth there
 * (batch_size messages or batch_bytes key+value bytes), then the next one
 * of the rotation. Concurrent threads of one group see the same partition
 * most of the time; a race only makes one stay a few messages more or
 * less. Lock-free, no read-modify-write but the rare rotation. */
static inline int32_t sticky_pick(kafka_writer *w, wtopic *wt, const kafka_message *m, int32_t n)
{
    wsticky *s = &wt->sticky[thread_no() % W_STICKY_SLOTS];
    int32_t part = atomic_load_explicit(&s->part, memory_order_relaxed);
    int32_t msgs = atomic_load_explicit(&s->msgs_left, memory_order_relaxed);
    int64_t bytes = atomic_load_explicit(&s->bytes_left, memory_order_relaxed);
    if (msgs <= 0 || bytes <= 0 || part >= n) {
        part = rotate(wt, 0, n);
        msgs = w->cfg.batch_size;
        bytes = w->cfg.batch_bytes;
        atomic_store_explicit(&s->part, part, memory_order_relaxed);
    }
    atomic_store_explicit(&s->msgs_left, msgs - 1, memory_order_relaxed);
    atomic_store_explicit(&s->bytes_left, bytes - (int64_t)(m->key_len + m->value_len), memory_order_relaxed);
    return part;
}

/* Chooses m's partition among the n known ones of wt, for a thread of
 * lane `lane`. Lock-free (the balancer has its own locks). */
static inline kafka_err pick(kafka_writer *w, const kafka_message *m, const char *topic, wtopic *wt, int32_t n,
                             unsigned lane, int32_t *out)
{
    if (m->flags & KAFKA_MSG_PARTITION_SET) { /* the application chose */
        if (m->partition < 0 || m->partition >= n)
            return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        kafka_balancer_add_bytes(w->bal, topic, m->partition, (int64_t)(m->key_len + m->value_len));
        *out = m->partition;
        return 0;
    }
    switch (w->rr_mode) {
    case W_RR_ALWAYS:
        *out = rotate(wt, lane, n);
        return 0;
    case W_RR_STICKY:
        if (!keyless(w, m))
            break;
        *out = sticky_pick(w, wt, m, n);
        return 0;
    case W_RR_NULL_KEYS:
        if (!keyless(w, m))
            break;
        *out = rotate(wt, lane, n);
        return 0;
    default:
        break;
    }
    const int32_t *ids = atomic_load_explicit(&wt->ids, memory_order_acquire);
    return kafka_balancer_pick(w->bal, topic, m->key, m->key_len, m->value_len, ids, (size_t)n, out);
}

/* Chooses the partition of m if the topic's partition count is known and
 * fresh (or `stale_ok`). Lock-free. KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION
 * when metadata must be fetched first. */
static kafka_err pick_part(kafka_writer *w, const kafka_message *m, const char *topic, bool stale_ok, int64_t now,
                           wtopic **wt_out, int32_t *out)
{
    wtopic *wt = topic_find(w, topic);
    *wt_out = wt;
    int32_t n = wt ? known_parts(wt, stale_ok, now) : 0;
    if (!n)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return pick(w, m, topic, wt, n, thread_lane(w), out);
}

static int64_t coarse_now_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
    return kafka_writer_now();
}

/* A call's deadline. An asynchronous call reads the clock for it only
 * when something has to wait (metadata, buffer space): what runs before
 * the first wait is a few microseconds of CPU, so the deadline still
 * counts from the call's start, and a write that finds room never pays
 * for the clock read. */
typedef struct wdeadline {
    int timeout_ms;
    int64_t at; /* -1 = no limit; W_DL_UNSET = not read yet */
} wdeadline;

#define W_DL_UNSET INT64_MIN

static wdeadline deadline_lazy(int timeout_ms) { return (wdeadline){timeout_ms, timeout_ms < 0 ? -1 : W_DL_UNSET}; }

static int64_t deadline_of(wdeadline *d)
{
    if (d->at == W_DL_UNSET)
        d->at = kafka_writer_now() + d->timeout_ms;
    return d->at;
}

/* True when the writer stamps m with the call's time. */
static inline bool ts_needed(const kafka_message *m)
{
    return m->timestamp_ms == 0 || m->timestamp_ms == KAFKA_TIMESTAMP_NONE;
}

/* m's record timestamp: its own, or the wall clock read once per call
 * (*wall, -1 until read). */
static inline int64_t msg_ts(kafka_writer *w, const kafka_message *m, int64_t *wall)
{
    if (!ts_needed(m))
        return m->timestamp_ms;
    if (*wall < 0)
        *wall = kafka_wallclock_ms(&w->clock);
    return *wall;
}

static void abs_timespec(int64_t mono_ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_ms / 1000);
    ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

/* ---- buffer space ------------------------------------------------------------
 * w->buffered_bytes never passes max_buffered_bytes: bytes are taken from
 * it with a compare-and-swap, by a lane a chunk at a time (its credit,
 * spent under the lane's lock by appends to it: no shared write per
 * message). A write that finds no room takes every credit back and
 * decides on the exact total, as a single lock would (space_wait). */

/* Takes `need` bytes of the shared budget if they fit. Lock-free. */
static inline bool budget_take(kafka_writer *w, int64_t need)
{
    int64_t cur = atomic_load_explicit(&w->buffered_bytes, memory_order_relaxed);
    do {
        if (cur + need > w->cfg.max_buffered_bytes)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&w->buffered_bytes, &cur, cur + need, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* Makes ln's credit cover `need` bytes: takes a chunk of the shared
 * budget, or only what is missing when a chunk does not fit. ln->mu held. */
static inline bool credit_cover(kafka_writer *w, wlane *ln, int64_t need)
{
    if (ln->credit >= need)
        return true;
    int64_t miss = need - ln->credit;
    if (miss < w->credit_chunk && budget_take(w, w->credit_chunk)) {
        ln->credit += w->credit_chunk;
        return true;
    }
    if (!budget_take(w, miss))
        return false;
    ln->credit += miss;
    return true;
}

/* Locks (or unlocks) every lane of every partition, in list order. w->mu
 * held. */
static void parts_lock_all(kafka_writer *w, bool lock)
{
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            for (int l = 0; p && l < (int)w->n_lanes; l++) {
                if (lock)
                    kafka_lock_acquire(&p->lanes[l].mu);
                else
                    kafka_lock_release(&p->lanes[l].mu);
            }
        }
}

/* Messages buffered (sealed + open) and the lanes' total credit; with
 * `reclaim`, the credit goes back to the shared budget. Every lane locked,
 * w->mu held. */
static int64_t buffered_scan(kafka_writer *w, bool reclaim, int64_t *credit_out)
{
    int64_t credit = 0, msgs = w->sealed_msgs;
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            for (int l = 0; p && l < (int)w->n_lanes; l++) {
                wlane *ln = &p->lanes[l];
                credit += ln->credit;
                if (reclaim)
                    ln->credit = 0;
                if (ln->open)
                    msgs += ln->open->count;
            }
        }
    if (reclaim)
        atomic_fetch_sub_explicit(&w->buffered_bytes, credit, memory_order_relaxed);
    *credit_out = credit;
    return msgs;
}

/* Takes `need` bytes into *held, waiting for room. w->mu held (no
 * partition lock). 0, QUEUE_FULL or CLOSED. */
static kafka_err space_wait(kafka_writer *w, int64_t need, int64_t deadline, int64_t *held)
{
    int64_t t0 = -1;
    kafka_err err = 0;
    for (;;) {
        if (w->closing) {
            err = KAFKA_ERR_CLOSED;
            break;
        }
        if (budget_take(w, need))
            break;
        /* Decide on the exact total: with every partition locked, no
         * append is under way and no credit hides free room. An empty
         * buffer always takes one message, so a message larger than
         * max_buffered_bytes (but within batch_bytes) can still be
         * written; its bytes then keep every other append out until it
         * is counted (this thread holds w->mu throughout). */
        parts_lock_all(w, true);
        int64_t credit;
        int64_t msgs = buffered_scan(w, true, &credit);
        bool ok = budget_take(w, need);
        if (!ok && msgs == 0) {
            atomic_fetch_add_explicit(&w->buffered_bytes, need, memory_order_relaxed);
            ok = true;
        }
        parts_lock_all(w, false);
        if (ok)
            break;
        if (t0 < 0)
            t0 = kafka_writer_now();
        if (deadline >= 0 && kafka_writer_now() >= deadline) {
            err = KAFKA_ERR_QUEUE_FULL;
            break;
        }
        /* Room comes back only through releases, which broadcast done_cv
         * under w->mu. */
        if (deadline < 0) {
            pthread_cond_wait(&w->done_cv, &w->mu);
        } else {
            struct timespec ts;
            abs_timespec(deadline, &ts);
            pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
        }
    }
    if (!err)
        *held = need;
    if (t0 >= 0)
        w->st.wait_time += kafka_writer_now() - t0;
    return err;
}

/* ---- appending ----------------------------------------------------------------- */

/* Appends m to ln's open batch b, spending its exact size of ln's credit
 * (which the caller made cover check_size(), an upper bound). ln->mu held
 * (and w->mu when wtr is set: refs). */
static kafka_err batch_append(wlane *ln, wbatch *b, const kafka_message *m, int64_t ts, int32_t kl, int32_t vl,
                              wwaiter *wtr, size_t idx)
{
    if (wtr && !ref_add(b, wtr, idx))
        return KAFKA_ERR_NOMEM;
    if (!batch_opaque_add(b, m->opaque)) {
        if (wtr)
            b->n_refs--;
        return KAFKA_ERR_NOMEM;
    }
    size_t len0 = b->buf.len;
    /* Messages without headers take the builder's inline path. */
    kafka_err err = m->n_headers
                        ? kafka_batch_builder_append(&b->bb, ts, m->key, kl, m->value, vl, m->headers, m->n_headers)
                        : kafka_batch_builder_append_no_headers(&b->bb, ts, m->key, kl, m->value, vl);
    if (err) {
        if (wtr)
            b->n_refs--;
        return err;
    }
    size_t rs = b->buf.len - len0; /* the exact size, without computing it twice */
    if (b->index_ok)
        batch_index_add(b, kl, vl, ts, m->n_headers);
    b->count++;
    b->bytes += rs;
    ln->credit -= (int64_t)rs;
    b->payload += (int64_t)(m->key_len + m->value_len);
    return 0;
}

/* True when b can take no more messages (the next append seals it). */
static inline bool batch_full(const kafka_writer *w, const wbatch *b) { return b->count >= w->cfg.batch_size; }

/* The size the room checks count for m in b: the cheap upper bound, or
 * the exact size near the batch_bytes limit. SIZE_MAX if m cannot be
 * encoded. The lane's lock held. */
static inline size_t check_size(const kafka_writer *w, const wbatch *b, const kafka_message *m, int64_t ts,
                                int32_t kl, int32_t vl)
{
    size_t rs = record_size_quick(m);
    if (rs != SIZE_MAX && b->bytes + rs > (size_t)w->cfg.batch_bytes)
        rs = kafka_batch_builder_record_size(&b->bb, ts, kl, vl, m->headers, m->n_headers);
    return rs;
}

/* Frees ln's open batch if it holds no message: the write that opened it
 * could not append (no space in time, a bad record, no memory), and an
 * empty batch, which the I/O thread never seals, would hold every flush up.
 * w->mu and ln->mu held. */
static void batch_drop_empty(kafka_writer *w, wlane *ln)
{
    wbatch *b = ln->open;
    if (!b || b->count > 0)
        return;
    ln->open = NULL;
    kafka_writer_release_batch(w, b);
}

/* Appends one message to its partition's open batch (the calling
 * thread's lane). w->mu held; takes the lane's lock; drops w->mu only
 * while waiting for space. */
static kafka_err enqueue_one(kafka_writer *w, const kafka_message *m, wtopic *wt, int32_t partition, int64_t ts,
                             wwaiter *wtr, size_t idx, wdeadline *dl)
{
    /* Close has begun: what the final flush may no longer see is refused
     * (the lock-free path only appends to a batch that is still open,
     * which the flush then sends). */
    if (w->closing)
        return KAFKA_ERR_CLOSED;
    int32_t kl = m->key ? (int32_t)m->key_len : -1, vl = m->value ? (int32_t)m->value_len : -1;
    wpart *p = part_in(w, wt, partition);
    if (!p)
        return KAFKA_ERR_NOMEM;
    wlane *ln = &p->lanes[thread_lane(w)];
    int64_t held = 0; /* buffer space space_wait took for m */
    for (;;) {
        kafka_lock_acquire(&ln->mu);
        ln->credit += held; /* spent below, or left for later appends */
        held = 0;
        if (!ln->open && !(ln->open = batch_new(w, p, ln))) {
            kafka_lock_release(&ln->mu);
            return KAFKA_ERR_NOMEM;
        }
        wbatch *b = ln->open;
        size_t rs = check_size(w, b, m, ts, kl, vl);
        if (rs == SIZE_MAX) {
            batch_drop_empty(w, ln);
            kafka_lock_release(&ln->mu);
            return KAFKA_ERR_INVALID_ARG;
        }
        /* Full: a lock-free append may have filled it and not sealed it
         * yet (that needs w->mu, which this thread holds). */
        if (batch_full(w, b) || (b->count > 0 && b->bytes + rs > (size_t)w->cfg.batch_bytes)) {
            kafka_writer_seal(w, p, ln, W_SEAL_FULL);
            kafka_lock_release(&ln->mu);
            continue;
        }
        if (!credit_cover(w, ln, (int64_t)rs)) {
            /* Wait holding no lane lock: the open batch may be sealed
             * meanwhile, and its successor need another size. */
            kafka_lock_release(&ln->mu);
            kafka_err err = space_wait(w, (int64_t)rs, deadline_of(dl), &held);
            if (err) {
                kafka_lock_acquire(&ln->mu);
                batch_drop_empty(w, ln);
                kafka_lock_release(&ln->mu);
                return err;
            }
            continue;
        }
        kafka_err err = batch_append(ln, b, m, ts, kl, vl, wtr, idx);
        if (err)
            batch_drop_empty(w, ln);
        else if (batch_full(w, b))
            kafka_writer_seal(w, p, ln, W_SEAL_FULL);
        else if (b->count == 1 && !wtr)
            kafka_writer_wake(w); /* the timer starts now (a
                                                 synchronous write seals it
                                                 at once instead) */
        kafka_lock_release(&ln->mu);
        return err;
    }
}

/* Seals ln's open batch if it is full (a lock-free append filled it; it
 * may have been sealed and replaced meanwhile). Takes w->mu and ln->mu, in
 * that order. */
static void seal_full(kafka_writer *w, wpart *p, wlane *ln)
{
    pthread_mutex_lock(&w->mu);
    kafka_lock_acquire(&ln->mu);
    if (ln->open && batch_full(w, ln->open))
        kafka_writer_seal(w, p, ln, W_SEAL_FULL);
    kafka_lock_release(&ln->mu);
    pthread_mutex_unlock(&w->mu);
}

/* The asynchronous append without w->mu: when m's topic has a fresh
 * partition count and the calling thread's lane of m's partition an open
 * batch that already holds a message (the I/O thread's timer runs) and has
 * room for m, and the buffer has room, m is appended under the lane's lock
 * only. Returns true when done (*err is m's outcome); false when the
 * locked path must take over (metadata to fetch, a batch to open or seal,
 * space to wait for), nothing having changed but *wt / *part: the
 * partition chosen, if it was (NULL / -1 if not), which the locked path
 * must keep (the round-robin position has moved). Any thread; no lock
 * held. */
static bool append_fast(kafka_writer *w, const kafka_message *m, int64_t ts, int64_t now, wtopic **wt, int32_t *part,
                        kafka_err *err)
{
    const char *topic = msg_topic(w, m);
    wtopic *t = topic_find(w, topic);
    int32_t n = t ? known_parts(t, false, now) : 0;
    if (!n)
        return false;
    unsigned lane = thread_lane(w);
    *err = pick(w, m, topic, t, n, lane, part);
    if (*err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        return false; /* an explicit partition not (yet) known: the locked
                         path refreshes the metadata once */
    if (*err)
        return true;
    *wt = t;
    wpart *p = part_peek(t, *part);
    if (!p)
        return false;
    wlane *ln = &p->lanes[lane];
    int32_t kl = m->key ? (int32_t)m->key_len : -1, vl = m->value ? (int32_t)m->value_len : -1;
    kafka_lock_acquire(&ln->mu);
    wbatch *b = ln->open;
    if (!b || b->count == 0 || batch_full(w, b))
        goto locked_path;
    size_t rs = record_size_quick(m); /* near batch_bytes: the locked path */
    if (rs == SIZE_MAX || b->bytes + rs > (size_t)w->cfg.batch_bytes || !credit_cover(w, ln, (int64_t)rs))
        goto locked_path;
    *err = batch_append(ln, b, m, ts, kl, vl, NULL, 0);
    bool full = !*err && batch_full(w, b);
    kafka_lock_release(&ln->mu);
    if (full)
        seal_full(w, p, ln);
    return true;
locked_path:
    kafka_lock_release(&ln->mu);
    return false;
}

static kafka_err summarize(const kafka_err *errs, size_t n)
{
    kafka_err first = 0;
    for (size_t i = 0; i < n; i++) {
        if (!errs[i])
            continue;
        if (!first)
            first = errs[i];
        else if (errs[i] != first)
            return KAFKA_ERR_PARTIAL;
    }
    return first;
}

/* Closes every open batch holding a message of waiter wt: a synchronous
 * caller never waits for the batch timer. Locked. */
static void seal_for_waiter(kafka_writer *w, const wwaiter *wt)
{
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            for (int l = 0; p && l < (int)w->n_lanes; l++) {
                wlane *ln = &p->lanes[l];
                if (!ln->open)
                    continue;
                kafka_lock_acquire(&ln->mu);
                /* refs change only under w->mu: the scan is safe, the
                 * seal needs ln->mu. */
                for (size_t r = 0; r < ln->open->n_refs; r++)
                    if (ln->open->refs[r].waiter == wt->id) {
                        kafka_writer_seal(w, p, ln, W_SEAL_SYNC);
                        break;
                    }
                kafka_lock_release(&ln->mu);
            }
        }
}

/* Waits until every message of wt is done or the deadline passes; then
 * unregisters wt (later outcomes of its messages no longer reach it).
 * Locked. */
static void wait_waiter(kafka_writer *w, wwaiter *wt, int64_t deadline, bool wake_io)
{
    /* A wait as short as a LAN round trip is mostly the wake-up of this
     * thread by the I/O one: it costs less to watch the count for twice
     * the usual wait (not above W_SYNC_SPIN_MAX_US) first, without the
     * lock, and sleep only after that. Longer round trips never spin. */
    int64_t t0 = kafka_now_us();
    int64_t spin = w->sync_spin && w->sync_wait_us < W_SYNC_SPIN_MAX_US ? 2 * w->sync_wait_us + 10 : 0;
    if (spin > W_SYNC_SPIN_MAX_US)
        spin = W_SYNC_SPIN_MAX_US;
    if (spin > 0 && wt->remaining > 0) {
        pthread_mutex_unlock(&w->mu);
        /* Woken after the unlock: its turn takes mu at once. */
        if (wake_io)
            kafka_writer_wake(w);
        wake_io = false;
        while (atomic_load_explicit(&wt->remaining, memory_order_acquire) > 0 && kafka_now_us() - t0 < spin)
            for (int i = 0; i < 32; i++)
                kafka_cpu_relax();
        /* The I/O thread counted the last message down under mu and still
         * holds it for a moment: wait for it here too rather than sleep
         * in the mutex (a futex wait and wake-up each). */
        while (pthread_mutex_trylock(&w->mu) != 0) {
            if (kafka_now_us() - t0 >= spin + W_SYNC_SPIN_MAX_US) {
                pthread_mutex_lock(&w->mu);
                break;
            }
            for (int i = 0; i < 32; i++)
                kafka_cpu_relax();
        }
    }
    if (wake_io)
        kafka_writer_wake(w);
    while (wt->remaining > 0) {
        if (deadline < 0) {
            pthread_cond_wait(&w->done_cv, &w->mu);
            continue;
        }
        if (kafka_writer_now() >= deadline)
            break;
        struct timespec ts;
        abs_timespec(deadline, &ts);
        pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
    }
    /* A moving mean over about 8 waits. */
    int64_t took = kafka_now_us() - t0;
    w->sync_wait_us += (took - w->sync_wait_us) / 8;
    for (wwaiter **pp = &w->waiters; *pp; pp = &(*pp)->next)
        if (*pp == wt) {
            *pp = wt->next;
            break;
        }
}

/* Outcome summary of a call without a per-message array. */
typedef struct wsum {
    kafka_err first;
    bool partial;
} wsum;

static void sum_add(wsum *s, kafka_err err)
{
    if (!err)
        return;
    if (!s->first)
        s->first = err;
    else if (err != s->first)
        s->partial = true;
}

#define W_STACK_ERRS 64

/* Validates every message before anything is enqueued (nothing is
 * half-sent). e (NULL or n entries) gets each message's error, and the
 * call's error for the good ones when any is bad. Returns the first
 * error, or 0. */
static kafka_err validate_all(const kafka_writer *w, const kafka_message *msgs, size_t n, kafka_err *e)
{
    kafka_err bad = 0;
    for (size_t i = 0; i < n; i++) {
        kafka_err err = msg_validate(w, &msgs[i]);
        if (e)
            e[i] = err;
        if (err && !bad)
            bad = err;
    }
    for (size_t i = 0; bad && e && i < n; i++)
        if (!e[i])
            e[i] = bad;
    return bad;
}

/* Partitions m and appends it to its partition's open batch. Locked;
 * drops the lock while metadata is fetched. `now` (monotonic, coarse)
 * decides whether the topic's partition count is fresh. */
static kafka_err place_one(kafka_writer *w, const kafka_message *m, int64_t ts, int64_t now, wwaiter *wtr, size_t idx,
                           wdeadline *dl)
{
    const char *topic = msg_topic(w, m);
    wtopic *tp = NULL;
    int32_t part = -1;
    kafka_err err = pick_part(w, m, topic, false, now, &tp, &part);
    if (err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        /* Metadata needed: fetched without the lock. */
        pthread_mutex_unlock(&w->mu);
        int64_t deadline = deadline_of(dl);
        int64_t mdl = kafka_writer_now() + w->cfg.read_timeout_ms;
        if (deadline >= 0 && deadline < mdl)
            mdl = deadline;
        err = topic_refresh(w, topic, mdl);
        pthread_mutex_lock(&w->mu);
        if (!err)
            err = pick_part(w, m, topic, true, now, &tp, &part);
    }
    if (!err)
        err = enqueue_one(w, m, tp, part, ts, wtr, idx, dl);
    return err;
}

/* The asynchronous write: validate, read the clocks, then append each
 * message without w->mu when it can (append_fast), under w->mu when it
 * must. Several threads append in parallel (to different partitions
 * fully, to one partition one at a time). No allocation, no per-message
 * array. */
/* A call that may wait registers itself (w->mu held) so that close, which
 * wakes it, does not free the writer before it has returned;
 * call_leave_unlock must be its last access to w. */
static void call_enter(kafka_writer *w) { w->calls_waiting++; }

static void call_leave_unlock(kafka_writer *w)
{
    if (--w->calls_waiting == 0 && w->closing)
        pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
}

static kafka_err write_async(kafka_writer *w, const kafka_message *msgs, size_t n, kafka_err *errs, int timeout_ms)
{
    kafka_err bad = validate_all(w, msgs, n, errs);
    if (bad)
        return bad;
    int64_t now = coarse_now_ms();
    int64_t wall = ts_needed(&msgs[0]) ? kafka_wallclock_ms(&w->clock) : -1;
    wdeadline dl = deadline_lazy(timeout_ms);
    wsum sum = {0, false};
    bool waits = false; /* registered with call_enter */
    for (size_t i = 0; i < n; i++) {
        const kafka_message *m = &msgs[i];
        int64_t ts = msg_ts(w, m, &wall);
        wtopic *wt = NULL;
        int32_t part = -1;
        kafka_err err = 0;
        if (!append_fast(w, m, ts, now, &wt, &part, &err)) {
            pthread_mutex_lock(&w->mu);
            if (!waits) {
                call_enter(w); /* the locked path may wait (metadata, space) */
                waits = true;
            }
            /* Keep a partition already chosen: choosing again would move
             * the round-robin position twice. */
            err = wt ? enqueue_one(w, m, wt, part, ts, NULL, i, &dl) : place_one(w, m, ts, now, NULL, i, &dl);
            pthread_mutex_unlock(&w->mu);
        }
        if (errs)
            errs[i] = err;
        sum_add(&sum, err);
    }
    if (waits) {
        pthread_mutex_lock(&w->mu);
        call_leave_unlock(w);
    }
    return sum.partial ? KAFKA_ERR_PARTIAL : sum.first;
}

/* The synchronous write: every message is registered with a waiter that
 * the receiver completes; the call's batches are sealed at once. */
static kafka_err write_sync(kafka_writer *w, const kafka_message *msgs, size_t n, kafka_err *errs, int timeout_ms)
{
    /* A slot per message for the receiver to fill. */
    kafka_err stack_errs[W_STACK_ERRS];
    kafka_err *e = errs ? errs : n <= W_STACK_ERRS ? stack_errs : kafka_calloc(n, sizeof *e);
    if (!e)
        return KAFKA_ERR_NOMEM;
    kafka_err ret = validate_all(w, msgs, n, e);
    if (ret)
        goto out;
    int64_t now = coarse_now_ms();
    wdeadline dl = {timeout_ms, timeout_ms < 0 ? -1 : kafka_writer_now() + timeout_ms};
    int64_t wall = -1;
    wwaiter wt = {.errs = e};
    pthread_mutex_lock(&w->mu);
    call_enter(w);
    wt.id = ++w->next_waiter_id;
    wt.next = w->waiters;
    w->waiters = &wt;
    for (size_t i = 0; i < n; i++) {
        kafka_err err = place_one(w, &msgs[i], msg_ts(w, &msgs[i], &wall), now, &wt, i, &dl);
        if (!err) {
            wt.remaining++;
            err = KAFKA_ERR_TIMEOUT; /* pending: the receiver overwrites it */
        }
        e[i] = err;
    }
    seal_for_waiter(w, &wt);
    /* the engine thread sends at once */
    wait_waiter(w, &wt, dl.at, wt.remaining > 0);
    call_leave_unlock(w);
    ret = summarize(e, n);
out:
    if (e != errs && e != stack_errs)
        kafka_free(e);
    return ret;
}

kafka_err kafka_writer_write_messages(kafka_writer *w, const kafka_message *msgs, size_t n, kafka_err *errs,
                                      int timeout_ms)
{
    if (!w || (!msgs && n))
        return KAFKA_ERR_INVALID_ARG;
    if (n == 0)
        return 0;
    unsigned slot = api_enter(w);
    kafka_err err = w->cfg.async ? write_async(w, msgs, n, errs, timeout_ms) : write_sync(w, msgs, n, errs, timeout_ms);
    api_leave(w, slot);
    return err;
}

kafka_err kafka_writer_flush(kafka_writer *w, int timeout_ms)
{
    if (!w)
        return KAFKA_ERR_INVALID_ARG;
    unsigned slot = api_enter(w);
    int64_t deadline = timeout_ms < 0 ? -1 : kafka_writer_now() + timeout_ms;
    kafka_err err = 0;
    pthread_mutex_lock(&w->mu);
    call_enter(w);
    w->flush_requests++;
    kafka_writer_wake(w);
    while (w->pending_batches > 0) {
        if (deadline >= 0 && kafka_writer_now() >= deadline) {
            err = KAFKA_ERR_TIMEOUT;
            break;
        }
        if (deadline < 0) {
            pthread_cond_wait(&w->done_cv, &w->mu);
        } else {
            struct timespec ts;
            abs_timespec(deadline, &ts);
            pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
        }
    }
    w->flush_requests--;
    call_leave_unlock(w);
    api_leave(w, slot);
    return err;
}

static int64_t avg(int64_t sum, int64_t n) { return n ? sum / n : 0; }

void kafka_writer_stats_get(kafka_writer *w, kafka_writer_stats *out)
{
    if (!w || !out)
        return;
    unsigned slot = api_enter(w);
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->batch_size_avg = avg(w->sum_batch_size, w->n_batches);
    out->batch_bytes_avg = avg(w->sum_batch_bytes, w->n_batches);
    out->batch_time_avg = avg(w->sum_batch_time, w->n_batches);
    out->write_time_avg = avg(w->sum_write_time, w->n_writes_timed);
    /* Open batches and credits are under the lanes' locks. */
    parts_lock_all(w, true);
    int64_t credit;
    out->queue_length = buffered_scan(w, false, &credit);
    out->queue_bytes = atomic_load_explicit(&w->buffered_bytes, memory_order_relaxed) - credit;
    parts_lock_all(w, false);
    out->idempotent = w->ps.idempotent;
    out->producer_id = w->ps.pid;
    out->compression_threads = w->n_zworkers;
    out->compress_time_us = atomic_load_explicit(&w->compress_ns, memory_order_relaxed) / 1000;
    pthread_mutex_unlock(&w->mu);
    api_leave(w, slot);
}

void kafka_writer_last_error(kafka_writer *w, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = 0;
    if (!w)
        return;
    unsigned slot = api_enter(w);
    pthread_mutex_lock(&w->err_mu);
    snprintf(buf, len, "%s", w->last_error);
    pthread_mutex_unlock(&w->err_mu);
    api_leave(w, slot);
}

/* ---- close ------------------------------------------------------------------ */

/* Completes every batch not in flight with its last error (or TIMEOUT).
 * Locked; drops the lock around the callbacks. */
static void abort_queued(kafka_writer *w)
{
    for (;;) {
        wbatch *b = NULL;
        for (wtopic *t = w->topics; t && !b; t = t->next)
            for (int32_t j = 0; j < t->n_parts && !b; j++) {
                wpart *p = t->parts[j];
                if (!p)
                    continue;
                for (int l = 0; l < (int)w->n_lanes; l++) {
                    wlane *ln = &p->lanes[l];
                    if (ln->open) {
                        kafka_lock_acquire(&ln->mu);
                        kafka_writer_seal(w, p, ln, W_SEAL_FLUSH);
                        kafka_lock_release(&ln->mu);
                    }
                }
                /* A head still in a compression worker comes back later
                 * (the close loop waits for it). */
                if (p->pp.qhead && kafka_writer_zip_cancel(w, W_BATCH(p->pp.qhead)))
                    b = W_BATCH(kafka_ppart_pop(&p->pp));
            }
        if (!b)
            return;
        kafka_writer_complete(w, b, b->pb.last_err ? b->pb.last_err : KAFKA_ERR_TIMEOUT, -1);
        pthread_mutex_unlock(&w->mu);
        kafka_writer_deliver(w, b);
        pthread_mutex_lock(&w->mu);
        kafka_writer_release_batch(w, b);
    }
}

kafka_err kafka_writer_close(kafka_writer *w, int timeout_ms)
{
    if (!w)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err ret = 0;
    /* From here on writes waiting for buffer space give up (CLOSED), and
     * no new batch is opened; the flush below sends every open one. */
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    if (kafka_writer_flush(w, timeout_ms) != 0) {
        ret = KAFKA_ERR_TIMEOUT;
        pthread_mutex_lock(&w->mu);
        w->closing = true;
        w->aborting = true;
        kafka_writer_wake(w);
        pthread_cond_broadcast(&w->done_cv);
        pthread_mutex_unlock(&w->mu);
        /* Wakes dials, metadata waits and receives on borrowed conns. */
        kafka_cluster_interrupt(w->cluster);
        pthread_mutex_lock(&w->mu);
        abort_queued(w);
        /* What is in flight fails fast now that the conns are shut down. */
        while (w->pending_batches > 0) {
            abort_queued(w);
            if (w->pending_batches == 0)
                break;
            struct timespec ts;
            abs_timespec(kafka_writer_now() + 100, &ts);
            pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
        }
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    /* Calls woken above (a full buffer, a synchronous write whose batches
     * are now done or failed, another flush) return before w is freed. */
    /* And calls running without the lock (an asynchronous write on the
     * lock-free path, begun before close) return before w is freed: they
     * end soon (a write's locked path refuses with CLOSED now). */
    while (w->calls_waiting > 0 || api_running(w)) {
        struct timespec ts;
        abs_timespec(kafka_writer_now() + 10, &ts);
        pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
    }
    w->stop = true;
    kafka_writer_wake(w);
    pthread_cond_broadcast(&w->done_cv);
    pthread_cond_broadcast(&w->zq_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threads_started) {
        kafka_writer_io_stop(w);
        kafka_writer_zip_join(w);
    }
    writer_free_mem(w);
    return ret;
}
