/*
 * kafka_writer background I/O, on the writer's one engine thread
 * (src/engine): each turn of the engine's loop seals due batches,
 * compresses them (unless compression workers do: writer_zip.c), stamps
 * the idempotence fields, groups batches by leader and queues one Produce
 * request per broker on that broker's pipelined connection; each response
 * is handled as it arrives, broker by broker, and completes, retries or
 * fails its batches by the rules of the producer state (producer_state.c).
 *
 * Locking: the engine's calls are made without w->mu (a dial and a
 * failing connection call back into the writer, on_broker and
 * on_produce, which take it); everything else holds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "compress/compress.h"
#include "conn/conn_internal.h"
#include "engine/engine.h"
#include "protocol/api.h"
#include "protocol/crc32c.h"
#include "protocol/gen_runtime.h"
#include "protocol/gen/api_keys.h"
#include "protocol/gen/init_producer_id.h"
#include "protocol/gen/produce.h"
#include "writer/writer_internal.h"

KAFKA_CONN_ENCODER(init_producer_id_request)
KAFKA_CONN_DECODER(init_producer_id_response)
KAFKA_CONN_DECODER(produce_response)

#define W_PRODUCE_MIN 3 /* record batch v2 */
#define W_PRODUCE_MAX 9

/* A list of completed batches, delivered outside the lock. */
typedef wvec wdone;

static void done_push(kafka_writer *w, wdone *d, wbatch *b, kafka_err err, int64_t off)
{
    kafka_writer_complete(w, b, err, off);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        wbatch **v = kafka_realloc(d->v, cap * sizeof *v);
        if (!v) { /* cannot defer: deliver without dropping the lock order */
            pthread_mutex_unlock(&w->mu);
            kafka_writer_deliver(w, b);
            pthread_mutex_lock(&w->mu);
            kafka_writer_release_batch(w, b);
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = b;
}

/* Locked on entry and exit; drops the lock around the callbacks. */
static void done_flush(kafka_writer *w, wdone *d)
{
    if (!d->n)
        return;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < d->n; i++)
        kafka_writer_deliver(w, d->v[i]);
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < d->n; i++)
        kafka_writer_release_batch(w, d->v[i]);
    d->n = 0;
}

void kafka_writer_stamp(wbatch *b, int64_t pid, int16_t epoch, int32_t seq)
{
    size_t len;
    uint8_t *p = kafka_writer_wire(b, &len);
    kafka_err err = kafka_record_batch_set_producer(p, len, pid, epoch, seq);
    if (err && !b->finish_err)
        b->finish_err = err; /* not a batch this writer built: never sent */
}

/* Gives back what compression reserved beyond the result (codecs reserve
 * their worst-case bound, about the uncompressed size), since the buffer
 * lives until the batch is acknowledged. */
static void wbuf_fit(kafka_wbuf *wb)
{
    if (wb->cap - wb->len <= wb->len / 4 + 4096)
        return;
    uint8_t *d = kafka_realloc(wb->data, wb->len);
    if (d) {
        wb->data = d;
        wb->cap = wb->len;
    }
}

void kafka_writer_finish_batch(wbatch *b, kafka_compressor *z)
{
    if (b->finished)
        return;
    b->finished = true;
    if (b->bb.cfg.codec == KAFKA_CODEC_NONE) {
        b->finish_err = kafka_batch_builder_finish(&b->bb);
        return;
    }
    /* Compressed into a buffer of its own: the uncompressed records stay
     * where the completion index points, so delivering them needs no
     * decompression. */
    b->finish_err = kafka_batch_builder_finish_to(&b->bb, &b->zbuf, z);
    if (b->finish_err)
        return;
    wbuf_fit(&b->zbuf);
    if (!b->index_ok) /* nothing will read the records there again */
        kafka_wbuf_free(&b->buf);
}

/* ---- errors and retries: producer_state.c decides ------------------------- */

static void batch_ok(kafka_writer *w, wbatch *b, int64_t base_offset, wdone *d)
{
    wpart *p = b->part;
    if (W_DEBUG_ON(w))
        kafka_writer_log(w, KAFKA_LOG_DEBUG, "acked %s[%d] batch %llu: seq %d, offset %lld", p->topic, (int)p->id,
                         (unsigned long long)b->pb.batch_no, (int)b->pb.base_seq, (long long)base_offset);
    kafka_pstate_acked(&w->ps, &p->pp, &b->pb);
    done_push(w, d, b, 0, base_offset);
}

/* A send or a response failed for b. Locked. */
static void batch_failed(kafka_writer *w, wbatch *b, kafka_err err, wdone *d)
{
    wpart *p = b->part;
    if (W_DEBUG_ON(w))
        kafka_writer_log(w, KAFKA_LOG_DEBUG, "failed %s[%d] batch %llu: seq %d: %s", p->topic, (int)p->id,
                         (unsigned long long)b->pb.batch_no, (int)b->pb.base_seq, kafka_err_name(err));
    kafka_ps_outcome o = kafka_pstate_failed(&w->ps, &p->pp, &b->pb, err, kafka_writer_now(), w->aborting);
    if (o.pid_reset)
        kafka_writer_log(w, KAFKA_LOG_WARN, "%s on %s[%d]: resetting the producer id", kafka_err_name(err), p->topic,
                         (int)p->id);
    switch (o.verdict) {
    case KAFKA_PS_SUCCEEDED: /* DUPLICATE_SEQUENCE_NUMBER: the broker has it */
        done_push(w, d, b, 0, -1);
        return;
    case KAFKA_PS_FAILED:
        if (!w->aborting)
            kafka_writer_log(w, KAFKA_LOG_ERROR, "%d messages to %s[%d] failed after %d attempts: %s", (int)b->count,
                             p->topic, (int)p->id, b->pb.attempts, kafka_err_name(o.err));
        done_push(w, d, b, o.err, -1);
        return;
    case KAFKA_PS_REQUEUED: /* resent after its predecessor */
        return; /* this turn's send step takes it */
    case KAFKA_PS_RETRY:
        w->st.retries++;
        if (o.refresh_metadata) {
            kafka_cluster_invalidate(w->cluster, p->topic);
            p->leader = -1; /* looked up again: waits for the refresh */
        }
        kafka_writer_log(w, KAFKA_LOG_INFO, "retrying %d messages to %s[%d] (attempt %d): %s", (int)b->count,
                         p->topic, (int)p->id, b->pb.attempts + 1, kafka_err_name(err));
        return;
    }
}

/* ---- producer id ------------------------------------------------------------ */

static bool has_queued(kafka_writer *w)
{
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            if (p && (p->pp.qhead || wpart_has_open(p)))
                return true;
        }
    return false;
}

/* What waits for the producer id fails with err rather than wait
 * forever. Locked. */
static void pid_fail_waiting(kafka_writer *w, kafka_err err, wdone *d)
{
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            /* A head still in a compression worker stays: the
             * next failed attempt (or close) takes it. */
            while (p && p->pp.qhead && kafka_writer_zip_cancel(w, W_BATCH(p->pp.qhead)))
                done_push(w, d, W_BATCH(kafka_ppart_pop(&p->pp)), err, -1);
        }
}

/* The InitProducerId outcome: the new id, or err (why: its text), or
 * disable (the broker lacks InitProducerId or Produce v3+). Locked. */
static void pid_result(kafka_writer *w, kafka_err err, int64_t pid, int16_t epoch, bool disable, const char *why,
                       wdone *d)
{
    w->pid_in_flight = false;
    if (disable) {
        w->ps.idempotent = false;
        kafka_writer_log(w, KAFKA_LOG_WARN, "idempotence off: the broker lacks InitProducerId or Produce v3+");
        return;
    }
    if (err) {
        if (err == KAFKA_ERR_CLOSED && (w->stop || w->closing))
            return; /* the engine is stopping */
        char text[400];
        snprintf(text, sizeof text, "InitProducerId: %s", why && *why ? why : kafka_err_str(err));
        kafka_writer_log(w, KAFKA_LOG_WARN, "%s (%s)", text, kafka_err_name(err));
        kafka_writer_broker_error(w, err, text);
        if (kafka_pstate_pid_failed(&w->ps, err, kafka_writer_now(), w->aborting))
            pid_fail_waiting(w, err, d);
        return;
    }
    kafka_pstate_pid_assigned(&w->ps, pid, epoch);
    /* New id: every partition's sequence restarts at 0, in queue order. */
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            if (p)
                kafka_ppart_restart(&p->pp);
        }
    kafka_writer_log(w, KAFKA_LOG_INFO, "producer id %lld epoch %d", (long long)pid, (int)epoch);
}

/* An InitProducerId in flight: the callback's argument. */
typedef struct wpid {
    kafka_writer *w;
    kafka_engine *e;
    int32_t broker;
    int16_t version;
} wpid;

/* InitProducerId's answer (or failure), on the engine thread, unlocked. */
static void on_pid(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    wpid *q = arg;
    kafka_writer *w = q->w;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_response_init(&resp);
    char text[300];
    snprintf(text, sizeof text, "%s", why ? why : "");
    if (!err) {
        kafka_rbuf rb;
        kafka_rbuf_init(&rb, body, len);
        err = init_producer_id_response_dec_(&rb, &arena, q->version, &resp);
        if (err && err != KAFKA_ERR_NOMEM) {
            snprintf(text, sizeof text, "broker %d: malformed InitProducerId response", (int)q->broker);
            kafka_engine_fail_broker(q->e, q->broker, KAFKA_ERR_PROTOCOL, text);
            err = KAFKA_ERR_PROTOCOL;
        } else if (!err && (err = kafka_err_from_wire(resp.error_code)) != 0) {
            snprintf(text, sizeof text, "broker %d: %s", (int)q->broker, kafka_err_str(err));
        }
    }
    pthread_mutex_lock(&w->mu);
    pid_result(w, err, resp.producer_id, resp.producer_epoch, false, text, &w->recv_done);
    done_flush(w, &w->recv_done);
    pthread_mutex_unlock(&w->mu);
    kafka_arena_free(&arena);
    kafka_free(frame);
    kafka_free(q);
}

/* Sends InitProducerId to any broker that is up (w->pid_in_flight set
 * by the caller). Unlocked, on the engine thread. */
static void pid_send(kafka_writer *w, kafka_engine *e, int64_t now)
{
    char why[300] = "";
    int32_t broker = -1;
    bool disable = false;
    kafka_err err = ke_any_broker(e, w->cluster, &w->pid_rr, &broker, why, sizeof why);
    if (err == KAFKA_ERR_STATE) { /* connecting: asked again on a later turn */
        pthread_mutex_lock(&w->mu);
        w->pid_in_flight = false;
        pthread_mutex_unlock(&w->mu);
        return;
    }
    int16_t v = -1;
    if (!err) {
        char tmp[300];
        if (kafka_engine_version(e, broker, KAFKA_API_PRODUCE, W_PRODUCE_MIN, W_PRODUCE_MAX, tmp, sizeof tmp) < 0 ||
            (v = kafka_engine_version(e, broker, KAFKA_API_INIT_PRODUCER_ID, 0, 4, tmp, sizeof tmp)) < 0) {
            disable = true;
            err = KAFKA_ERR_NO_COMMON_VERSION;
        }
    }
    wpid *q = err ? NULL : kafka_calloc(1, sizeof *q);
    if (!err && !q)
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        *q = (wpid){w, e, broker, v};
        kafka_init_producer_id_request req;
        kafka_init_producer_id_request_init(&req);
        req.transactional_id = KAFKA_STR_NULL;
        req.transaction_timeout_ms = 60000;
        req.producer_id = -1;
        req.producer_epoch = -1;
        /* It may queue behind Produce requests on that connection. */
        err = kafka_engine_send(e, broker, KAFKA_API_INIT_PRODUCER_ID, v, init_producer_id_request_enc_, &req,
                                now + w->cfg.write_timeout_ms + w->cfg.read_timeout_ms, on_pid, q);
        if (err) {
            kafka_free(q);
            snprintf(why, sizeof why, "broker %d: %s", (int)broker, kafka_err_str(err));
        }
    }
    if (!err)
        return;
    pthread_mutex_lock(&w->mu);
    pid_result(w, err, -1, -1, disable, why, &w->send_done);
    done_flush(w, &w->send_done);
    pthread_mutex_unlock(&w->mu);
}

/* ---- the send step ---------------------------------------------------------- */

static bool vec_push(wvec *a, wbatch *b)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        wbatch **v = kafka_realloc(a->v, cap * sizeof *v);
        if (!v)
            return false;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = b;
    return true;
}

/* Requests in flight to broker (the writer's own count: the engine's
 * may not be read under w->mu). Locked. */
static int broker_inflight(const kafka_writer *w, int32_t broker)
{
    for (size_t i = 0; i < w->n_wbrokers; i++)
        if (w->wbrokers[i].id == broker)
            return w->wbrokers[i].inflight;
    return 0;
}

/* The writer's slot for broker (created on first use); NULL on OOM.
 * Locked. */
static wbroker *broker_slot(kafka_writer *w, int32_t broker)
{
    for (size_t i = 0; i < w->n_wbrokers; i++)
        if (w->wbrokers[i].id == broker)
            return &w->wbrokers[i];
    wbroker *v = kafka_realloc(w->wbrokers, (w->n_wbrokers + 1) * sizeof *v);
    if (!v)
        return NULL;
    w->wbrokers = v;
    v[w->n_wbrokers] = (wbroker){broker, 0, false};
    return &v[w->n_wbrokers++];
}

/* Seals due batches and pops the sendable head of each partition whose
 * leader is known into out (a partition whose leader is pending waits for
 * w->md's answer; one whose lookup failed has its head failed into d).
 * Returns the time the I/O thread should run it next. Locked. */
static int64_t collect(kafka_writer *w, wvec *out, wdone *d)
{
    int64_t now = kafka_writer_now(), wake = now + 1000;
    bool flush = w->flush_requests > 0 || w->closing;
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            if (!p)
                continue;
            for (int l = 0; l < W_LANES; l++) {
                wlane *ln = &p->lanes[l];
                if (!ln->open)
                    continue;
                /* Writers append to an open batch under its lane's lock only. */
                kafka_lock_acquire(&ln->mu);
                if (ln->open->count > 0) {
                    int64_t due = ln->open->created_ms + w->cfg.batch_timeout_ms;
                    if (flush)
                        kafka_writer_seal(w, p, ln, W_SEAL_FLUSH);
                    else if (now >= due)
                        kafka_writer_seal(w, p, ln, W_SEAL_TIMEOUT);
                    else if (due < wake)
                        wake = due;
                }
                kafka_lock_release(&ln->mu);
            }
            /* A head still being compressed (zstate) holds its partition:
             * its worker signals send_cv when it is done. */
            if (!kafka_pstate_sendable(&w->ps, &p->pp, now, &wake) || W_BATCH(p->pp.qhead)->zstate)
                continue;
            /* The leader from the cache, without blocking. */
            int32_t leader = -1;
            bool refresh = false;
            kafka_err lerr = kafka_cluster_leader_cached(w->cluster, p->topic, p->id, now, &leader, &refresh);
            if (refresh && ke_meta_want(&w->md, p->topic) && !lerr)
                lerr = KAFKA_ERR_NOMEM;
            if (!lerr && leader < 0) {
                /* Pending (the topic was invalidated, or never known): a
                 * partition that failed waits for the answer (the next
                 * turn); the others keep their last leader meanwhile. */
                if (p->leader < 0)
                    continue;
                leader = p->leader;
            }
            if (lerr) {
                kafka_writer_note_failure(w, "metadata", lerr);
                batch_failed(w, W_BATCH(kafka_pstate_take(&w->ps, &p->pp)), lerr, d);
                continue;
            }
            p->leader = leader;
            if (broker_inflight(w, leader) >= w->cfg.max_in_flight || kafka_engine_connecting(w->eng, leader))
                continue;
            if (!vec_push(out, W_BATCH(p->pp.qhead)))
                return now + 10;
            kafka_pstate_take(&w->ps, &p->pp);
        }
    return wake;
}

/* Compresses b once (with the I/O thread's codec contexts z; a compression
 * worker already did when there are workers) and stamps it. Unlocked. */
static kafka_err prepare(kafka_writer *w, wbatch *b, kafka_compressor *z)
{
    kafka_writer_finish_timed(w, b, z);
    if (b->finish_err)
        return b->finish_err;
    if (b->pb.base_seq >= 0)
        kafka_writer_stamp(b, w->ps.pid, w->ps.epoch, b->pb.base_seq);
    return b->finish_err;
}

static int cmp_topic(const void *a, const void *b)
{
    const wbatch *x = *(wbatch *const *)a, *y = *(wbatch *const *)b;
    return strcmp(x->part->topic, y->part->topic);
}

/* One encoded Produce request: the body's own bytes (headers, lengths) in
 * body, and iov[0..iovcnt) the whole body in wire order, with the record
 * batches pointing into the batches' buffers instead of copied. */
typedef struct wenc {
    kafka_wbuf body;
    struct iovec *iov;
    int iovcnt;
} wenc;

static void enc_free(wenc *e)
{
    kafka_wbuf_free(&e->body);
    kafka_free(e->iov);
    e->iov = NULL;
    e->iovcnt = 0;
}

/* Interleaves e->body's bytes with the referenced batches. refs are in
 * wire order; iov has room for 2 * n_refs + 1 entries. */
static void enc_gather(wenc *e, const kafka_gen_ref *refs, size_t n_refs)
{
    size_t at = 0;
    int k = 0;
    for (size_t i = 0; i < n_refs; i++) {
        if (refs[i].at > at)
            e->iov[k++] = (struct iovec){e->body.data + at, refs[i].at - at};
        e->iov[k++] = (struct iovec){(void *)(uintptr_t)refs[i].ptr, refs[i].len};
        at = refs[i].at;
    }
    if (e->body.len > at)
        e->iov[k++] = (struct iovec){e->body.data + at, e->body.len - at};
    e->iovcnt = k;
}

/* Encodes one Produce request for batches v[0..n) (same broker) into e;
 * the iovecs point into the batches, which must stay put until sent. */
static kafka_err encode_request(kafka_writer *w, wbatch **v, size_t n, int16_t version, wenc *e)
{
    qsort(v, n, sizeof *v, cmp_topic);
    kafka_produce_request_topic_produce_data *td = kafka_calloc(n, sizeof *td);
    kafka_produce_request_partition_produce_data *pd = kafka_calloc(n, sizeof *pd);
    kafka_gen_ref *refs = kafka_malloc(n * sizeof *refs);
    e->iov = kafka_malloc((2 * n + 1) * sizeof *e->iov);
    kafka_err err = KAFKA_ERR_NOMEM;
    if (td && pd && refs && e->iov) {
        int32_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            kafka_produce_request_partition_produce_data_init(&pd[i]);
            pd[i].index = v[i]->part->id;
            size_t len;
            const uint8_t *wire = kafka_writer_wire(v[i], &len);
            pd[i].records = (kafka_bytes){wire, (int32_t)len};
            if (i == 0 || strcmp(v[i]->part->topic, v[i - 1]->part->topic) != 0) {
                kafka_produce_request_topic_produce_data_init(&td[nt]);
                td[nt].name = kafka_str_c(v[i]->part->topic);
                td[nt].partition_data = &pd[i];
                nt++;
            }
            td[nt - 1].partition_data_count++;
        }
        kafka_produce_request req;
        kafka_produce_request_init(&req);
        req.transactional_id = KAFKA_STR_NULL;
        req.acks = w->acks;
        req.timeout_ms = w->cfg.write_timeout_ms;
        req.topic_data = td;
        req.topic_data_count = nt;
        size_t n_refs = 0;
        err = kafka_gen_encode_refs(&e->body, &kafka_produce_request_msg, version, &req, refs, n, &n_refs);
        if (!err && e->body.oom)
            err = KAFKA_ERR_NOMEM;
        if (!err)
            enc_gather(e, refs, n_refs);
    }
    kafka_free(td);
    kafka_free(pd);
    kafka_free(refs);
    return err;
}

static void stats_batch(kafka_writer *w, wbatch *b, int64_t now)
{
    size_t wire_len;
    kafka_writer_wire(b, &wire_len);
    int64_t size = b->count, bytes = (int64_t)wire_len, t = now - b->created_ms;
    kafka_writer_stats *s = &w->st;
    if (!w->n_batches || size < s->batch_size_min)
        s->batch_size_min = size;
    if (!w->n_batches || bytes < s->batch_bytes_min)
        s->batch_bytes_min = bytes;
    if (!w->n_batches || t < s->batch_time_min)
        s->batch_time_min = t;
    if (size > s->batch_size_max)
        s->batch_size_max = size;
    if (bytes > s->batch_bytes_max)
        s->batch_bytes_max = bytes;
    if (t > s->batch_time_max)
        s->batch_time_max = t;
    w->n_batches++;
    w->sum_batch_size += size;
    w->sum_batch_bytes += bytes;
    w->sum_batch_time += t;
}

/* One Produce request in flight: the response callback's argument. */
typedef struct wreq {
    kafka_writer *w;
    int32_t broker;
    int16_t version;
    int64_t sent_ms;
    wenc e; /* the request's own bytes: the engine writes them (and the
               batches' bytes) from here until the callback */
    size_t n;
    wbatch *batches[]; /* n */
} wreq;

static void on_produce(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                       size_t body_len);

/* Sends v[0..n) (all led by `broker`) as one request. Locked on entry and
 * exit; unlocks for the engine's calls. */
static void send_group(kafka_writer *w, int32_t broker, wbatch **v, size_t n, wdone *d)
{
    wreq *r = kafka_calloc(1, sizeof *r + n * sizeof(wbatch *));
    wbroker *wb = broker_slot(w, broker);
    if (!r || !wb) {
        kafka_free(r);
        for (size_t i = 0; i < n; i++)
            batch_failed(w, v[i], KAFKA_ERR_NOMEM, d);
        return;
    }
    r->w = w;
    r->broker = broker;
    r->n = n;
    memcpy(r->batches, v, n * sizeof *v);
    bool acks = w->acks != 0;
    pthread_mutex_unlock(&w->mu);
    char why[300] = "";
    kafka_err err = kafka_engine_broker(w->eng, broker, why, sizeof why);
    if (err == KAFKA_ERR_STATE) {
        /* Connecting: the batches go back to their partitions, which
         * collect() skips until the connection is up or has failed. */
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < n; i++)
            kafka_pstate_untake(&w->ps, &v[i]->part->pp, &v[i]->pb);
        kafka_free(r);
        return;
    }
    int16_t version = -1;
    if (!err) {
        version = kafka_engine_version(w->eng, broker, KAFKA_API_PRODUCE, W_PRODUCE_MIN, W_PRODUCE_MAX, why,
                                       sizeof why);
        if (version < 0)
            err = KAFKA_ERR_NO_COMMON_VERSION;
    }
    kafka_wbuf_init(&r->e.body);
    if (!err)
        err = encode_request(w, r->batches, n, version, &r->e);
    r->version = version;
    r->sent_ms = kafka_writer_now();
    if (!err) {
        /* Queued in the engine's order, written on this turn; the
         * response (or acks = 0: the write) completes the batches. */
        pthread_mutex_lock(&w->mu);
        wb = broker_slot(w, broker); /* the array may have moved */
        if (wb) {
            wb->inflight++; /* the callback runs later, on this thread */
            if (!wb->up) {
                wb->up = true;
                w->st.dials++;
            }
        }
        pthread_mutex_unlock(&w->mu);
        err = kafka_engine_send_iov(w->eng, broker, KAFKA_API_PRODUCE, version, r->e.iov, r->e.iovcnt, acks,
                                    r->sent_ms + w->cfg.write_timeout_ms + w->cfg.read_timeout_ms, on_produce, r);
        if (err) {
            pthread_mutex_lock(&w->mu);
            wb = broker_slot(w, broker);
            if (wb)
                wb->inflight--;
            pthread_mutex_unlock(&w->mu);
        }
    }
    pthread_mutex_lock(&w->mu);
    if (err) {
        enc_free(&r->e);
        if (why[0])
            kafka_writer_broker_error(w, err, why);
        for (size_t i = 0; i < n; i++)
            batch_failed(w, v[i], err, d);
        kafka_free(r);
        return;
    }
    w->st.writes++;
    int64_t now = kafka_writer_now();
    for (size_t i = 0; i < n; i++) {
        stats_batch(w, v[i], now);
        if (W_DEBUG_ON(w))
            kafka_writer_log(w, KAFKA_LOG_DEBUG,
                             "sent %s[%d] batch %llu: %d msgs, pid %lld epoch %d seq %d, attempt %d, broker %d",
                             v[i]->part->topic, (int)v[i]->part->id, (unsigned long long)v[i]->pb.batch_no,
                             (int)v[i]->count, (long long)w->ps.pid, (int)w->ps.epoch, (int)v[i]->pb.base_seq,
                             v[i]->pb.attempts + 1, (int)broker);
    }
}

/* Prepares and sends what collect() popped. Locked on entry and exit. */
static void send_all(kafka_writer *w, wvec *a, wdone *d, kafka_compressor *z)
{
    int32_t *leaders = kafka_calloc(a->n, sizeof *leaders);
    kafka_err *errs = kafka_calloc(a->n, sizeof *errs);
    if (!leaders || !errs) {
        for (size_t i = 0; i < a->n; i++)
            batch_failed(w, a->v[i], KAFKA_ERR_NOMEM, d);
        goto out;
    }
    for (size_t i = 0; i < a->n; i++)
        leaders[i] = a->v[i]->part->leader; /* collect found them */
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < a->n; i++)
        errs[i] = prepare(w, a->v[i], z);
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < a->n; i++) {
        wbatch *b = a->v[i];
        if (errs[i]) {
            batch_failed(w, b, errs[i], d);
            a->v[i] = NULL;
        } else if (b->part->pp.retrying) {
            /* A batch of this partition failed while we were unlocked:
             * sending b now would put it before that batch's resend (a
             * broker checking sequences answers OUT_OF_ORDER; one that
             * does not, like librdkafka's mock, would reorder). Put it
             * back; it goes after the resend. */
            kafka_pstate_untake(&w->ps, &b->part->pp, &b->pb);
            a->v[i] = NULL;
        }
    }
    /* Group by leader: one request per broker. */
    for (size_t i = 0; i < a->n; i++) {
        if (!a->v[i])
            continue;
        size_t m = 0;
        for (size_t j = i; j < a->n; j++)
            if (a->v[j] && leaders[j] == leaders[i])
                m++;
        wbatch **g = kafka_calloc(m, sizeof *g);
        if (!g) {
            for (size_t j = i; j < a->n; j++)
                if (a->v[j] && leaders[j] == leaders[i]) {
                    batch_failed(w, a->v[j], KAFKA_ERR_NOMEM, d);
                    a->v[j] = NULL;
                }
            continue;
        }
        size_t k = 0;
        int32_t leader = leaders[i];
        for (size_t j = i; j < a->n; j++)
            if (a->v[j] && leaders[j] == leader) {
                g[k++] = a->v[j];
                a->v[j] = NULL;
            }
        send_group(w, leader, g, k, d);
        kafka_free(g);
    }
out:
    kafka_free(leaders);
    kafka_free(errs);
    a->n = 0;
}

/* True when the producer id must be (re)fetched before anything is
 * sent. Locked. */
static bool pid_needed(const kafka_writer *w) { return kafka_pstate_pid_needed(&w->ps); }

/* True when InitProducerId should go now: the id is needed, nothing is
 * in flight, batches wait and the backoff is over. Locked. */
static bool pid_due(kafka_writer *w, int64_t now)
{
    return pid_needed(w) && !w->pid_in_flight && w->ps.inflight == 0 && now >= w->ps.pid_backoff_until &&
           has_queued(w);
}

/* One send step: seals due batches, pops the sendable ones and sends
 * them (nothing is sendable while the producer id is awaited). Returns
 * -1 when it did something (run it again), else the time to run it next.
 * Locked, on the engine thread only (it unlocks for the I/O). */
static int64_t send_step(kafka_writer *w)
{
    int64_t wake = collect(w, &w->send_vec, &w->send_done);
    if (pid_needed(w) && w->ps.pid_backoff_until > kafka_writer_now() && w->ps.pid_backoff_until < wake)
        wake = w->ps.pid_backoff_until;
    if (w->send_vec.n == 0) {
        done_flush(w, &w->send_done);
        return wake;
    }
    /* Codec contexts kept batch to batch (NULL on OOM: each batch then
     * gets fresh ones), unless compression workers do them all. */
    if (!w->send_z && w->cfg.compression != KAFKA_CODEC_NONE && !w->n_zworkers)
        w->send_z = kafka_compressor_new();
    send_all(w, &w->send_vec, &w->send_done, w->send_z);
    done_flush(w, &w->send_done);
    return -1;
}

/* ---- receiver ------------------------------------------------------------------ */

static wbatch *match(wreq *r, kafka_str topic, int32_t partition)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->batches[i] && r->batches[i]->part->id == partition && kafka_str_eq_c(topic, r->batches[i]->part->topic))
            return r->batches[i];
    return NULL;
}

/* Handles one response (or the failure to get it). Locked. */
static void handle_response(kafka_writer *w, wreq *r, kafka_err err, const kafka_produce_response *resp, wdone *d)
{
    int64_t now = kafka_writer_now(), t = now - r->sent_ms;
    if (!w->n_writes_timed || t < w->st.write_time_min)
        w->st.write_time_min = t;
    if (t > w->st.write_time_max)
        w->st.write_time_max = t;
    w->n_writes_timed++;
    w->sum_write_time += t;
    if (err) {
        for (size_t i = 0; i < r->n; i++)
            batch_failed(w, r->batches[i], err, d);
        return;
    }
    for (int32_t ti = 0; ti < resp->responses_count; ti++) {
        const kafka_produce_response_topic_produce_response *tr = &resp->responses[ti];
        for (int32_t pi = 0; pi < tr->partition_responses_count; pi++) {
            const kafka_produce_response_partition_produce_response *pr = &tr->partition_responses[pi];
            wbatch *b = match(r, tr->name, pr->index);
            if (!b)
                continue;
            for (size_t i = 0; i < r->n; i++)
                if (r->batches[i] == b)
                    r->batches[i] = NULL;
            kafka_err pe = kafka_err_from_wire(pr->error_code);
            if (pe)
                batch_failed(w, b, pe, d);
            else
                batch_ok(w, b, pr->base_offset, d);
        }
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->batches[i]) /* the broker did not answer for it */
            batch_failed(w, r->batches[i], KAFKA_ERR_PROTOCOL, d);
}

/* A Produce's response (or its failure, or with acks = 0 its write), on
 * the engine thread, unlocked. */
static void on_produce(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                       size_t body_len)
{
    wreq *r = arg;
    kafka_writer *w = r->w;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_produce_response resp;
    kafka_produce_response_init(&resp);
    bool ack0 = !err && !frame;
    char text[300] = "";
    if (!err && frame) {
        kafka_rbuf rb;
        kafka_rbuf_init(&rb, body, body_len);
        err = produce_response_dec_(&rb, &arena, r->version, &resp);
        if (!err && rb.err)
            err = KAFKA_ERR_PROTOCOL;
        if (err) {
            snprintf(text, sizeof text, "broker %d: malformed Produce response", (int)r->broker);
            kafka_engine_fail_broker(w->eng, r->broker, KAFKA_ERR_PROTOCOL, text);
            why = text;
        }
    }
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_wbrokers; i++)
        if (w->wbrokers[i].id == r->broker)
            w->wbrokers[i].inflight--;
    if (ack0) {
        for (size_t i = 0; i < r->n; i++)
            batch_ok(w, r->batches[i], -1, &w->recv_done);
    } else {
        if (err && why && *why && err != KAFKA_ERR_CLOSED)
            kafka_writer_broker_error(w, err, why);
        handle_response(w, r, err, &resp, &w->recv_done);
    }
    done_flush(w, &w->recv_done);
    pthread_mutex_unlock(&w->mu);
    kafka_free(frame);
    enc_free(&r->e);
    kafka_free(r);
    kafka_arena_free(&arena);
}

/* Brokers with requests in flight, failed at once when the writer
 * aborts (their batches are then failed by the abort rule). Unlocked. */
static void fail_inflight(kafka_writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->n_wbrokers;
    int32_t *ids = kafka_calloc(n ? n : 1, sizeof *ids);
    size_t k = 0;
    for (size_t i = 0; ids && i < n; i++)
        if (w->wbrokers[i].inflight > 0)
            ids[k++] = w->wbrokers[i].id;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < k; i++)
        kafka_engine_fail_broker(w->eng, ids[i], KAFKA_ERR_CLOSED, "the writer is closing");
    kafka_free(ids);
}

/* The writer's turn on the engine thread: send steps until nothing more
 * can go now; returns when to run again (-1: on a wake-up or response). */
static int64_t on_turn(void *arg, kafka_engine *e, int64_t now)
{
    kafka_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    if (w->aborting) {
        pthread_mutex_unlock(&w->mu);
        fail_inflight(w);
        return kafka_writer_now() + 100;
    }
    bool pid_go = pid_due(w, now);
    if (pid_go)
        w->pid_in_flight = true;
    int64_t wake;
    while ((wake = send_step(w)) < 0 && !w->stop && !w->aborting) {
    }
    pthread_mutex_unlock(&w->mu);
    /* The engine's calls, unlocked: the producer id, and one Metadata
     * request for every leader collect found pending. */
    if (pid_go)
        pid_send(w, e, now);
    int64_t md = ke_meta_turn(&w->md, e, kafka_writer_now());
    if (wake < 0)
        wake = kafka_writer_now();
    return md >= 0 && md < wake ? md : wake;
}

/* The writer's metadata refresh (w->md) ended: on failure, the text is
 * the writer's last error, and the head batch of each partition still
 * waiting for its leader fails with err (retried after a backoff, up to
 * max_attempts, as any failed send). Unlocked, on the engine thread. */
static void on_metadata(void *arg, kafka_err err, const char *why)
{
    kafka_writer *w = arg;
    if (!err)
        return;
    char text[400];
    snprintf(text, sizeof text, "metadata: %s", why && *why ? why : kafka_err_str(err));
    kafka_writer_broker_error(w, err, text);
    if (w->md.attempt == 1) /* the first failure in a row */
        kafka_writer_log(w, KAFKA_LOG_WARN, "%s (%s; retrying)", text, kafka_err_name(err));
    pthread_mutex_lock(&w->mu);
    int64_t now = kafka_writer_now(), wake = now;
    for (wtopic *t = w->topics; t; t = t->next)
        for (int32_t j = 0; j < t->n_parts; j++) {
            wpart *p = t->parts[j];
            if (!p || !kafka_pstate_sendable(&w->ps, &p->pp, now, &wake) || W_BATCH(p->pp.qhead)->zstate)
                continue;
            int32_t leader = -1;
            bool refresh = false;
            if (p->leader < 0 &&
                kafka_cluster_leader_cached(w->cluster, p->topic, p->id, now, &leader, &refresh) == 0 && leader < 0)
                batch_failed(w, W_BATCH(kafka_pstate_take(&w->ps, &p->pp)), err, &w->recv_done);
        }
    done_flush(w, &w->recv_done);
    pthread_mutex_unlock(&w->mu);
}

/* A broker's connection went down or came back: one WARN line each, and
 * the text kept as the writer's last error. */
static void on_broker(void *arg, int32_t broker, bool up, kafka_err err, const char *why)
{
    kafka_writer *w = arg;
    /* Negative ids are bootstrap addresses the metadata refresh uses
     * (engine/meta.h), not brokers: its own failure is what is reported. */
    kafka_log_level lvl = broker < 0 ? KAFKA_LOG_DEBUG : KAFKA_LOG_WARN;
    if (up) {
        kafka_writer_log(w, lvl, "broker %d is back", (int)broker);
        return;
    }
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_wbrokers; i++)
        if (w->wbrokers[i].id == broker)
            w->wbrokers[i].up = false;
    pthread_mutex_unlock(&w->mu);
    kafka_writer_log(w, lvl, "broker %d down: %s (%s)", (int)broker, why, kafka_err_str(err));
    if (err != KAFKA_ERR_CLOSED)
        kafka_writer_broker_error(w, err, why);
}

kafka_err kafka_writer_io_start(kafka_writer *w)
{
    /* A Metadata request may queue behind Produce requests. */
    ke_meta_init(&w->md, w->cluster, w->cfg.backoff_min_ms, w->cfg.backoff_max_ms,
                 w->cfg.write_timeout_ms + w->cfg.read_timeout_ms, on_metadata, w);
    kafka_engine_config ec = {
        .kc = w->cluster,
        .backoff_min_ms = w->cfg.backoff_min_ms,
        .backoff_max_ms = w->cfg.backoff_max_ms,
        .dial_timeout_ms = w->cfg.dial_timeout_ms,
        .on_turn = on_turn,
        .on_broker = on_broker,
        .arg = w,
    };
    return kafka_engine_start(&w->eng, &ec);
}

void kafka_writer_io_stop(kafka_writer *w)
{
    if (w->eng)
        kafka_engine_stop(w->eng);
    w->eng = NULL;
    ke_meta_free(&w->md);
}

void kafka_writer_wake(kafka_writer *w)
{
    if (w->eng)
        kafka_engine_wake(w->eng);
}
