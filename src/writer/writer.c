/*
 * kafka_writer: configuration, enqueueing (partition choice + encoding into
 * the partition's open batch), synchronous waits, flush, stats and close.
 * The background sender/receiver live in writer_io.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "net/stream.h"
#include "writer/writer_internal.h"

#define W_DEFAULT_BATCH_BYTES 1048576
#define W_DEFAULT_BUFFERED (64LL * 1024 * 1024)

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
        c->dial_timeout_ms < 0 || c->max_buffered_bytes < 0 || c->max_in_flight < 0)
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

static void writer_free_mem(kafka_writer *w)
{
    for (size_t i = 0; i < w->n_topics; i++) {
        for (int32_t j = 0; j < w->topics[i].n_parts; j++)
            kafka_free(w->topics[i].parts[j]);
        kafka_free(w->topics[i].parts);
        kafka_free(w->topics[i].name);
    }
    kafka_free(w->topics);
    for (size_t i = 0; i < w->n_conns; i++) {
        if (w->conns[i]->conn)
            kafka_cluster_release(w->cluster, w->conns[i]->conn, false);
        kafka_free(w->conns[i]);
    }
    kafka_free(w->conns);
    if (w->cluster)
        kafka_cluster_free(w->cluster);
    kafka_balancer_state_free(w->bal);
    kafka_free(w->brokers);
    kafka_free(w->topic);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->err_mu);
    pthread_cond_destroy(&w->send_cv);
    pthread_cond_destroy(&w->recv_cv);
    pthread_cond_destroy(&w->done_cv);
    kafka_free(w);
}

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
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->err_mu, NULL);
    cond_init_mono(&w->send_cv);
    cond_init_mono(&w->recv_cv);
    cond_init_mono(&w->done_cv);
    w->pid = -1;
    w->epoch = -1;
    w->acks = cfg->required_acks == KAFKA_REQUIRE_ONE ? 1 : cfg->required_acks == KAFKA_REQUIRE_NONE ? 0 : -1;
    w->idempotent = !cfg->disable_idempotence && w->acks == -1;
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
    if (pthread_create(&w->sender, NULL, kafka_writer_sender_main, w) != 0) {
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "cannot start the sender thread");
    }
    if (pthread_create(&w->receiver, NULL, kafka_writer_receiver_main, w) != 0) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->send_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->sender, NULL);
        writer_free_mem(w);
        return cfg_fail(errbuf, errlen, KAFKA_ERR_NOMEM, "cannot start the receiver thread");
    }
    w->threads_started = true;
    *out = w;
    return 0;
}

/* ---- partitions and batches ---------------------------------------------- */

/* Finds or creates the partition state. Locked. NULL on OOM. */
static wpart *part_get(kafka_writer *w, const char *topic, int32_t id)
{
    wtopic *t = NULL;
    for (size_t i = 0; i < w->n_topics; i++)
        if (strcmp(w->topics[i].name, topic) == 0) {
            t = &w->topics[i];
            break;
        }
    if (!t) {
        wtopic *nt = kafka_realloc(w->topics, (w->n_topics + 1) * sizeof *nt);
        if (!nt)
            return NULL;
        w->topics = nt;
        t = &nt[w->n_topics];
        memset(t, 0, sizeof *t);
        t->name = kafka_strdup(topic);
        if (!t->name)
            return NULL;
        w->n_topics++;
    }
    if (id >= t->n_parts) {
        wpart **np = kafka_realloc(t->parts, (size_t)(id + 1) * sizeof *np);
        if (!np)
            return NULL;
        for (int32_t i = t->n_parts; i <= id; i++)
            np[i] = NULL;
        t->parts = np;
        t->n_parts = id + 1;
    }
    if (!t->parts[id]) {
        wpart *p = kafka_calloc(1, sizeof *p);
        if (!p)
            return NULL;
        p->topic = t->name;
        p->id = id;
        p->leader = -1;
        t->parts[id] = p;
    }
    return t->parts[id];
}

static wbatch *batch_new(kafka_writer *w, wpart *p)
{
    wbatch *b = kafka_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    kafka_wbuf_init(&b->buf);
    kafka_batch_builder_config bc = kafka_batch_builder_config_default();
    bc.codec = w->cfg.compression;
    bc.compression_level = w->cfg.compression_level;
    if (kafka_batch_builder_init(&b->bb, &b->buf, &bc) != 0) {
        kafka_wbuf_free(&b->buf);
        kafka_free(b);
        return NULL;
    }
    b->part = p;
    b->batch_no = p->next_batch_no++;
    b->created_ms = kafka_writer_now();
    b->base_seq = -1;
    b->base_offset = -1;
    b->bytes = KAFKA_RECORD_BATCH_HEADER_SIZE;
    w->pending_batches++;
    w->buffered_bytes += (int64_t)b->bytes;
    return b;
}

void kafka_writer_seal(kafka_writer *w, wpart *p, int why)
{
    wbatch *b = p->open;
    if (!b)
        return;
    p->open = NULL;
    b->next = NULL;
    if (p->qtail)
        p->qtail->next = b;
    else
        p->qhead = b;
    p->qtail = b;
    int64_t *ctr[] = {&w->st.batches_full, &w->st.batches_sync, &w->st.batches_timeout, &w->st.batches_flush};
    (*ctr[why])++;
    pthread_cond_signal(&w->send_cv);
}

void kafka_writer_requeue(wpart *p, wbatch *b)
{
    wbatch **pp = &p->qhead;
    while (*pp && (*pp)->batch_no < b->batch_no)
        pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    if (!b->next)
        p->qtail = b;
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
    b->refs[b->n_refs++] = (wref){wt, idx};
    return true;
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
void kafka_writer_deliver(kafka_writer *w, wbatch *b)
{
    if (!w->cfg.completion || b->count == 0)
        return;
    if (!b->finished) {
        b->finish_err = kafka_batch_builder_finish(&b->bb);
        b->finished = true;
    }
    kafka_message *msgs = kafka_calloc((size_t)b->count, sizeof *msgs);
    kafka_header *hdrs = NULL;
    size_t n_hdrs = 0, cap_hdrs = 0;
    if (!msgs) {
        kafka_writer_log(w, KAFKA_LOG_ERROR, "out of memory reporting %d messages of %s[%d] (%s)", (int)b->count,
                         b->part->topic, (int)b->part->id, kafka_err_name(b->result));
        return;
    }
    size_t n = 0;
    if (!b->finish_err) {
        kafka_records_iter it;
        kafka_records_iter_init(&it, b->buf.data + kafka_batch_builder_start(&b->bb),
                                kafka_batch_builder_size(&b->bb), NULL);
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
        kafka_records_iter_free(&it);
    }
    /* Whatever could not be decoded is still reported, without content. */
    for (size_t i = 0; i < (size_t)b->count; i++) {
        msgs[i].topic = b->part->topic;
        msgs[i].partition = b->part->id;
        msgs[i].offset = (b->result == 0 && b->base_offset >= 0) ? b->base_offset + (int64_t)i : -1;
    }
    w->cfg.completion(w->cfg.completion_privdata, msgs, (size_t)b->count, b->result);
    kafka_free(hdrs);
    kafka_free(msgs);
}

void kafka_writer_release_batch(kafka_writer *w, wbatch *b)
{
    for (size_t i = 0; i < b->n_refs; i++) {
        wwaiter *wt = b->refs[i].waiter;
        wt->errs[b->refs[i].idx] = b->result;
        wt->remaining--;
    }
    kafka_balancer_add_bytes(w->bal, b->part->topic, b->part->id, -b->payload);
    w->buffered_bytes -= (int64_t)b->bytes;
    w->buffered_msgs -= b->count;
    w->pending_batches--;
    kafka_free(b->refs);
    kafka_wbuf_free(&b->buf);
    kafka_free(b);
    pthread_cond_broadcast(&w->done_cv);
}

/* ---- writing ---------------------------------------------------------------- */

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
    size_t sz = kafka_record_size_bound((int32_t)m->key_len, (int32_t)m->value_len, m->headers, m->n_headers);
    if (sz == SIZE_MAX || sz + KAFKA_RECORD_BATCH_HEADER_SIZE > (size_t)w->cfg.batch_bytes)
        return KAFKA_ERR_MESSAGE_TOO_LARGE;
    return 0;
}

/* Chooses the partition (unlocked: may fetch metadata). */
static kafka_err msg_partition(kafka_writer *w, const kafka_message *m, const kafka_cluster_topic **tcache,
                               int32_t *out)
{
    const char *topic = msg_topic(w, m);
    if (!*tcache || strcmp((*tcache)->name, topic) != 0) {
        if (*tcache)
            kafka_cluster_topic_release(w->cluster, *tcache);
        *tcache = NULL;
        int64_t dl = kafka_writer_now() + w->cfg.read_timeout_ms;
        kafka_err err = kafka_cluster_topic_get(w->cluster, topic, dl, tcache);
        if (err) {
            if (*tcache)
                kafka_cluster_topic_release(w->cluster, *tcache);
            *tcache = NULL;
            return err;
        }
        if ((*tcache)->n_partitions < 1)
            return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return kafka_balancer_pick(w->bal, topic, m->key, m->key_len, m->value_len, (*tcache)->partition_ids,
                               (size_t)(*tcache)->n_partitions, out);
}

static int64_t ts_now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void abs_timespec(int64_t mono_ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_ms / 1000);
    ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

/* Waits for room for `need` bytes. Locked. 0, QUEUE_FULL or CLOSED. */
static kafka_err wait_space(kafka_writer *w, int64_t need, int64_t deadline)
{
    int64_t t0 = -1;
    kafka_err err = 0;
    /* An empty buffer always takes one message, so a message larger than
     * max_buffered_bytes (but within batch_bytes) can still be written. */
    while (!w->closing && w->buffered_bytes > 0 && w->buffered_bytes + need > w->cfg.max_buffered_bytes) {
        if (t0 < 0)
            t0 = kafka_writer_now();
        if (deadline >= 0 && kafka_writer_now() >= deadline) {
            err = KAFKA_ERR_QUEUE_FULL;
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
    if (t0 >= 0)
        w->st.wait_time += kafka_writer_now() - t0;
    if (!err && w->closing)
        err = KAFKA_ERR_CLOSED;
    return err;
}

/* Appends one message to its partition's open batch. Locked. */
static kafka_err enqueue_one(kafka_writer *w, const kafka_message *m, int32_t partition, wwaiter *wt, size_t idx,
                             int64_t deadline, wpart **touched)
{
    int64_t ts = (m->timestamp_ms == 0 || m->timestamp_ms == KAFKA_TIMESTAMP_NONE) ? ts_now_unix() : m->timestamp_ms;
    int32_t kl = m->key ? (int32_t)m->key_len : -1, vl = m->value ? (int32_t)m->value_len : -1;
    size_t bound = kafka_record_size_bound(kl < 0 ? 0 : kl, vl < 0 ? 0 : vl, m->headers, m->n_headers);
    kafka_err err = wait_space(w, (int64_t)bound, deadline);
    if (err)
        return err;
    wpart *p = part_get(w, msg_topic(w, m), partition);
    if (!p)
        return KAFKA_ERR_NOMEM;
    for (int pass = 0; pass < 2; pass++) {
        if (!p->open && !(p->open = batch_new(w, p)))
            return KAFKA_ERR_NOMEM;
        wbatch *b = p->open;
        size_t rs = kafka_batch_builder_record_size(&b->bb, ts, kl, vl, m->headers, m->n_headers);
        if (b->count > 0 && b->bytes + rs > (size_t)w->cfg.batch_bytes) {
            kafka_writer_seal(w, p, W_SEAL_FULL);
            continue;
        }
        if (wt && !ref_add(b, wt, idx))
            return KAFKA_ERR_NOMEM;
        err = kafka_batch_builder_append(&b->bb, ts, m->key, kl, m->value, vl, m->headers, m->n_headers);
        if (err) {
            if (wt)
                b->n_refs--;
            return err;
        }
        b->count++;
        b->bytes += rs;
        w->buffered_bytes += (int64_t)rs;
        w->buffered_msgs++;
        b->payload += (int64_t)(m->key_len + m->value_len);
        *touched = p;
        if (b->count >= w->cfg.batch_size)
            kafka_writer_seal(w, p, W_SEAL_FULL);
        else if (b->count == 1)
            pthread_cond_signal(&w->send_cv); /* the timer starts now */
        return 0;
    }
    return KAFKA_ERR_NOMEM;
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

kafka_err kafka_writer_write_messages(kafka_writer *w, const kafka_message *msgs, size_t n, kafka_err *errs,
                                      int timeout_ms)
{
    if (!w || (!msgs && n))
        return KAFKA_ERR_INVALID_ARG;
    if (n == 0)
        return 0;
    kafka_err *e = errs ? errs : kafka_calloc(n, sizeof *e);
    if (!e)
        return KAFKA_ERR_NOMEM;
    kafka_err bad = 0;
    for (size_t i = 0; i < n; i++) {
        e[i] = msg_validate(w, &msgs[i]);
        if (e[i] && !bad)
            bad = e[i];
    }
    if (bad) {
        for (size_t i = 0; i < n; i++)
            if (!e[i])
                e[i] = bad;
        if (!errs)
            kafka_free(e);
        return bad;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : kafka_writer_now() + timeout_ms;
    wwaiter wt = {0, e};
    bool sync = !w->cfg.async;
    const kafka_cluster_topic *tc = NULL;
    for (size_t i = 0; i < n; i++) {
        int32_t part = -1;
        e[i] = msg_partition(w, &msgs[i], &tc, &part);
        if (e[i])
            continue;
        wpart *touched = NULL;
        pthread_mutex_lock(&w->mu);
        e[i] = enqueue_one(w, &msgs[i], part, sync ? &wt : NULL, i, deadline, &touched);
        if (!e[i] && sync)
            wt.remaining++;
        pthread_mutex_unlock(&w->mu);
    }
    if (tc)
        kafka_cluster_topic_release(w->cluster, tc);
    if (sync) {
        pthread_mutex_lock(&w->mu);
        /* Do not let the caller wait for batch_timeout: close every open
         * batch holding one of its messages now. */
        for (size_t t = 0; t < w->n_topics; t++)
            for (int32_t j = 0; j < w->topics[t].n_parts; j++) {
                wpart *p = w->topics[t].parts[j];
                if (p && p->open)
                    for (size_t r = 0; r < p->open->n_refs; r++)
                        if (p->open->refs[r].waiter == &wt) {
                            kafka_writer_seal(w, p, W_SEAL_SYNC);
                            break;
                        }
            }
        while (wt.remaining > 0)
            pthread_cond_wait(&w->done_cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    kafka_err ret = summarize(e, n);
    if (!errs)
        kafka_free(e);
    return ret;
}

kafka_err kafka_writer_flush(kafka_writer *w, int timeout_ms)
{
    if (!w)
        return KAFKA_ERR_INVALID_ARG;
    int64_t deadline = timeout_ms < 0 ? -1 : kafka_writer_now() + timeout_ms;
    kafka_err err = 0;
    pthread_mutex_lock(&w->mu);
    w->flush_requests++;
    pthread_cond_signal(&w->send_cv);
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
    pthread_mutex_unlock(&w->mu);
    return err;
}

static int64_t avg(int64_t sum, int64_t n) { return n ? sum / n : 0; }

void kafka_writer_stats_get(kafka_writer *w, kafka_writer_stats *out)
{
    if (!w || !out)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->batch_size_avg = avg(w->sum_batch_size, w->n_batches);
    out->batch_bytes_avg = avg(w->sum_batch_bytes, w->n_batches);
    out->batch_time_avg = avg(w->sum_batch_time, w->n_batches);
    out->write_time_avg = avg(w->sum_write_time, w->n_writes_timed);
    out->queue_length = w->buffered_msgs;
    out->queue_bytes = w->buffered_bytes;
    out->idempotent = w->idempotent;
    out->producer_id = w->pid;
    pthread_mutex_unlock(&w->mu);
}

void kafka_writer_last_error(kafka_writer *w, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = 0;
    if (!w)
        return;
    pthread_mutex_lock(&w->err_mu);
    snprintf(buf, len, "%s", w->last_error);
    pthread_mutex_unlock(&w->err_mu);
}

/* ---- close ------------------------------------------------------------------ */

/* Completes every batch not in flight with its last error (or TIMEOUT).
 * Locked; drops the lock around the callbacks. */
static void abort_queued(kafka_writer *w)
{
    for (;;) {
        wbatch *b = NULL;
        for (size_t t = 0; t < w->n_topics && !b; t++)
            for (int32_t j = 0; j < w->topics[t].n_parts && !b; j++) {
                wpart *p = w->topics[t].parts[j];
                if (!p)
                    continue;
                if (p->open)
                    kafka_writer_seal(w, p, W_SEAL_FLUSH);
                if (p->qhead) {
                    b = p->qhead;
                    p->qhead = b->next;
                    if (!p->qhead)
                        p->qtail = NULL;
                }
            }
        if (!b)
            return;
        kafka_writer_complete(w, b, b->last_err ? b->last_err : KAFKA_ERR_TIMEOUT, -1);
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
    if (kafka_writer_flush(w, timeout_ms) != 0) {
        ret = KAFKA_ERR_TIMEOUT;
        pthread_mutex_lock(&w->mu);
        w->closing = true;
        w->aborting = true;
        pthread_cond_broadcast(&w->send_cv);
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
    w->stop = true;
    pthread_cond_broadcast(&w->send_cv);
    pthread_cond_broadcast(&w->recv_cv);
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->threads_started) {
        pthread_join(w->sender, NULL);
        pthread_join(w->receiver, NULL);
    }
    writer_free_mem(w);
    return ret;
}
