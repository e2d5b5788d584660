/* The reader's fetching, on its one I/O thread (the engine's): one Fetch
 * per broker carrying every partition that broker leads and this reader
 * reads; ListOffsets per broker to resolve start offsets; responses cut
 * into per-partition chunks for the reading thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "cluster/cluster_util.h"
#include "conn/conn_internal.h"
#include "conn/requests.h"
#include "net/stream.h"
#include "protocol/gen/all.h"
#include "reader/fetch_session.h"
#include "reader/reader_internal.h"

KAFKA_CONN_ENCODER(fetch_request)

KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

#define MAX_FETCH_BYTES_GROWTH (64 * 1024 * 1024)
#define FREE_CHUNKS_KEPT 4
/* Headroom over max_wait for the Fetch round trip. */
#define FETCH_DEADLINE_SLACK_MS 10000

typedef struct kr_broker {
    int32_t id;
    bool busy;       /* a Fetch or ListOffsets outstanding */
    kr_session sess; /* its fetch session (KIP-227) */
} kr_broker;

/* One partition of a request in flight. */
typedef struct kr_req_part {
    kr_part *p;
    uint64_t epoch;
    int64_t offset;
    int32_t max_bytes;
    kafka_err err; /* its error in the response, handled after the lock */
} kr_req_part;

/* A request in flight: the callback's argument. */
typedef struct kr_req {
    kafka_reader *r;
    int32_t broker;
    int16_t version;
    bool list; /* ListOffsets, else Fetch */
    int64_t sent_us;
    size_t n;
    kr_req_part parts[];
} kr_req;

/* ---- parts and chunks -------------------------------------------------- */

void kr_part_release(kr_part *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        kafka_free(p);
}

static size_t frame_class(size_t size)
{
    size_t cap = KR_FRAME_POOL_MIN;
    while (cap < size && cap <= SIZE_MAX / 2)
        cap *= 2;
    return cap;
}

void *kr_frame_alloc(void *arg, size_t size)
{
    kafka_reader *r = arg;
    if (size < KR_FRAME_POOL_MIN / 4)
        return kafka_malloc(size);
    size_t cap = frame_class(size);
    uint8_t *p = NULL;
    pthread_mutex_lock(&r->frames.mu);
    /* The smallest cached frame that fits. */
    size_t best = r->frames.n;
    for (size_t i = 0; i < r->frames.n; i++)
        if (r->frames.f[i].cap >= cap && (best == r->frames.n || r->frames.f[i].cap < r->frames.f[best].cap))
            best = i;
    if (best < r->frames.n) {
        p = r->frames.f[best].p;
        r->frames.bytes -= r->frames.f[best].cap;
        r->frames.f[best] = r->frames.f[--r->frames.n];
    }
    pthread_mutex_unlock(&r->frames.mu);
    return p ? p : kafka_malloc(cap);
}

/* Keeps frame (of `size` requested bytes) for reuse, or frees it. */
static void frame_put(kafka_reader *r, uint8_t *frame, size_t size)
{
    if (!frame)
        return;
    if (size >= KR_FRAME_POOL_MIN / 4) {
        size_t cap = frame_class(size);
        pthread_mutex_lock(&r->frames.mu);
        bool keep = r->frames.n < KR_FRAMES_KEPT && !atomic_load(&r->closing_a) &&
                    (int64_t)(r->frames.bytes + cap) <= r->cfg.queue_capacity_bytes / 4;
        if (keep) {
            r->frames.f[r->frames.n].p = frame;
            r->frames.f[r->frames.n++].cap = cap;
            r->frames.bytes += cap;
        }
        pthread_mutex_unlock(&r->frames.mu);
        if (keep)
            return;
    }
    kafka_free(frame);
}

void kr_frames_free(kafka_reader *r)
{
    for (size_t i = 0; i < r->frames.n; i++)
        kafka_free(r->frames.f[i].p);
    r->frames.n = 0;
    r->frames.bytes = 0;
}

void kr_fbuf_release(kr_fbuf *fb)
{
    if (fb && atomic_fetch_sub(&fb->refs, 1) == 1) {
        kafka_arena_free(&fb->arena);
        frame_put(fb->r, fb->frame, fb->frame_size);
        kafka_free(fb);
    }
}

kr_part *kr_part_find_locked(kafka_reader *r, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i]->partition == partition && strcmp(r->parts[i]->topic, topic) == 0)
            return r->parts[i];
    return NULL;
}

void kr_chunk_recycle_locked(kafka_reader *r, kr_chunk *c)
{
    kr_part *p = c->part;
    kr_fbuf_release(c->fb);
    c->fb = NULL;
    c->part = NULL;
    c->next = NULL;
    if (r->n_free < FREE_CHUNKS_KEPT && !r->closing) {
        c->next = r->free_chunks;
        r->free_chunks = c;
        r->n_free++;
    } else {
        kafka_free(c);
    }
    kr_part_release(p);
    if (r->fetch_held && r->q_bytes < r->cfg.queue_capacity_bytes) {
        r->fetch_held = false;
        kr_io_wake(r);
    }
}

static kr_chunk *chunk_get_locked(kafka_reader *r)
{
    kr_chunk *c = r->free_chunks;
    if (c) {
        r->free_chunks = c->next;
        r->n_free--;
        c->next = NULL;
        return c;
    }
    return kafka_calloc(1, sizeof *c);
}

/* ---- blocking ListOffsets (application threads: lag, set_offset_at) ------ */

kafka_err kr_list_offset(kafka_reader *r, const char *topic, int32_t partition, int64_t ts, int64_t deadline,
                         int64_t *out)
{
    int32_t leader = -1;
    kafka_err err = kafka_cluster_leader(r->kc, topic, partition, deadline, &leader);
    if (err)
        return err;
    kafka_conn *conn = NULL;
    err = kafka_cluster_acquire(r->kc, leader, deadline, &conn);
    if (err)
        return err;
    kafka_cluster_conn_deadline(conn, deadline);
    int16_t v = kafka_conn_version(conn, KAFKA_API_LIST_OFFSETS, KAFKA_LIST_OFFSETS_MIN_VERSION,
                                   KAFKA_LIST_OFFSETS_MAX_VERSION);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_offset_want want = {topic, partition, ts};
    kafka_list_offsets_request req;
    if (v >= 0 && kafka_list_offsets_request_build(&arena, &want, 1,
                                                   r->cfg.isolation_level == KAFKA_READ_COMMITTED, &req))
        v = -2;
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    err = v == -2 ? KAFKA_ERR_NOMEM
          : v < 0 ? KAFKA_ERR_NO_COMMON_VERSION
                  : kafka_conn_roundtrip(conn, KAFKA_API_LIST_OFFSETS, v, list_offsets_request_enc_, &req,
                                       list_offsets_response_dec_, &resp, &arena, NULL);
    kafka_cluster_release(r->kc, conn, !kafka_cluster_err_breaks_conn(err));
    kafka_err res = err ? err : KAFKA_ERR_PROTOCOL;
    for (int32_t i = 0; !err && i < resp.topics_count; i++)
        for (int32_t j = 0; j < resp.topics[i].partitions_count; j++) {
            const kafka_list_offsets_response_list_offsets_partition_response *pr = &resp.topics[i].partitions[j];
            if (pr->partition_index != partition)
                continue;
            res = kafka_err_from_wire(pr->error_code);
            if (!res)
                *out = pr->offset;
        }
    kafka_arena_free(&arena);
    if (kafka_cluster_err_stale_metadata(res))
        kafka_cluster_invalidate(r->kc, topic);
    return res;
}

/* ---- errors ---------------------------------------------------------------- */

/* A part's fetch failed: back off; stale metadata looks the leader up
 * again; an error the application must hear of goes to the next read. */
static void part_failed(kafka_reader *r, kr_part *p, kafka_err err, const char *why, int64_t now)
{
    bool stale = kafka_cluster_err_stale_metadata(err);
    if (stale) {
        kafka_cluster_invalidate(r->kc, p->topic);
        p->leader = -1;
    }
    p->retry_at = now + kafka_backoff_ms(p->attempt < 16 ? p->attempt : 16, r->cfg.backoff_min_ms,
                                         r->cfg.backoff_max_ms);
    p->attempt++;
    pthread_mutex_lock(&r->mu);
    bool quiet = p->stop || r->closing;
    if (!quiet) {
        snprintf(r->last_error, sizeof r->last_error, "fetch %s [%d]: %s", p->topic, p->partition,
                 why && *why ? why : kafka_err_str(err));
        r->st.errors++;
        if (kafka_cluster_err_for_reader(err)) {
            r->deliver_err = err;
            pthread_cond_broadcast(&r->cond_data);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (!quiet && p->attempt == 1)
        kr_log(r, KAFKA_LOG_WARN, "fetch %s [%d]: %s (retrying)", p->topic, p->partition,
               why && *why ? why : kafka_err_str(err));
}

/* ---- responses (I/O thread) ------------------------------------------------ */

static kr_broker *broker_find(kafka_reader *r, int32_t id)
{
    for (size_t i = 0; i < r->n_io_brokers; i++)
        if (r->io_brokers[i].id == id)
            return &r->io_brokers[i];
    return NULL;
}

/* The broker's slot, made on first use (NULL: no memory). */
static kr_broker *broker_slot(kafka_reader *r, int32_t id)
{
    kr_broker *found = broker_find(r, id);
    if (found)
        return found;
    if (!kafka_array_reserve((void **)&r->io_brokers, &r->cap_io_brokers, r->n_io_brokers + 1, sizeof *r->io_brokers,
                             8))
        return NULL;
    r->io_brokers[r->n_io_brokers] = (kr_broker){.id = id};
    kr_session_init(&r->io_brokers[r->n_io_brokers].sess);
    return &r->io_brokers[r->n_io_brokers++];
}

static void req_done(kr_req *q)
{
    kr_broker *b = broker_find(q->r, q->broker);
    if (b)
        b->busy = false;
    for (size_t i = 0; i < q->n; i++) {
        q->parts[i].p->in_flight = false;
        kr_part_release(q->parts[i].p);
    }
    kafka_free(q);
}

static kr_req_part *req_find(kr_req *q, const kafka_str topic, int32_t partition)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->parts[i].p->partition == partition && kafka_str_eq_c(topic, q->parts[i].p->topic))
            return &q->parts[i];
    return NULL;
}

static void stats_fetch(kafka_reader *r, int64_t wait_us, int64_t bytes)
{
    kafka_reader_stats *s = &r->st;
    s->fetches++;
    s->fetch_wait_us_total += wait_us;
    if (wait_us > s->fetch_wait_us_max)
        s->fetch_wait_us_max = wait_us;
    if (s->fetches == 1 || bytes < s->fetch_bytes_min)
        s->fetch_bytes_min = bytes;
    if (bytes > s->fetch_bytes_max)
        s->fetch_bytes_max = bytes;
    s->fetch_bytes_avg += (bytes - s->fetch_bytes_avg) / s->fetches;
}

/* OFFSET_OUT_OF_RANGE: move to the nearest end of [log start, hwm] (the
 * response says both from Fetch v5; before that, the start is looked up). */
static void reset_offset_locked(kafka_reader *r, kr_part *p, int64_t offset, int64_t log_start, int64_t hwm)
{
    int64_t to = log_start >= 0 && offset < log_start ? log_start
                 : hwm >= 0 && offset > hwm             ? hwm
                                                         : KAFKA_OFFSET_FIRST;
    /* Like a seek: what was prefetched before the reset is dropped, and
     * bumping the epoch keeps a delivery that starts after kr_sync_reading
     * from overwriting the new position. */
    p->epoch++;
    p->fetch_offset = to;
    kr_sync_reading(r);
    p->next_offset = to >= 0 ? to : -1;
    r->st.offset_resets++;
    kr_log(r, KAFKA_LOG_WARN, "%s [%d]: offset %lld out of range [%lld, %lld]: reset to %lld", p->topic, p->partition,
           (long long)offset, (long long)log_start, (long long)hwm, (long long)to);
}

/* One partition's data: a chunk for the queue when it has records.
 * KAFKA_ERR_NOMEM when the chunk could not be allocated (the data is
 * fetched again after the part's backoff). */
static kafka_err fetched_part_locked(kafka_reader *r, kr_req_part *rp, const kafka_fetch_response_partition_data *pd,
                                kr_fbuf *fb, bool rc, int64_t *bytes)
{
    kr_part *p = rp->p;
    size_t len = pd->records.len > 0 ? (size_t)pd->records.len : 0;
    *bytes += (int64_t)len;
    p->hwm = rc && pd->last_stable_offset >= 0 ? pd->last_stable_offset : pd->high_watermark;
    int64_t next = len ? kafka_records_next_offset(pd->records.ptr, len) : -1;
    if (next > rp->offset) {
        kr_chunk *c = chunk_get_locked(r);
        if (!c)
            return KAFKA_ERR_NOMEM;
        c->part = p;
        atomic_fetch_add(&p->refs, 1);
        c->fb = fb;
        atomic_fetch_add(&fb->refs, 1);
        c->epoch = rp->epoch;
        c->data = pd->records.ptr;
        c->len = len;
        c->bytes = len;
        c->aborted = pd->aborted_transactions;
        c->n_aborted = pd->aborted_transactions_count > 0 ? pd->aborted_transactions_count : 0;
        kafka_txn_filter_sort(c->aborted, c->n_aborted);
        c->next = NULL;
        if (r->q_tail)
            r->q_tail->next = c;
        else
            r->q_head = c;
        r->q_tail = c;
        r->q_len++;
        r->q_bytes += (int64_t)len;
        p->fetch_offset = next;
        pthread_cond_signal(&r->cond_data);
    } else if (len > 0 && next < 0 && rp->max_bytes < MAX_FETCH_BYTES_GROWTH) {
        /* One batch larger than max_bytes (pre-KIP-74 brokers return only
         * a partial one): ask for more next time. */
        p->max_bytes = rp->max_bytes * 2;
    }
    return 0;
}

static void on_fetch(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    kr_req *q = arg;
    kafka_reader *r = q->r;
    int64_t now = kafka_now_ms();
    kr_fbuf *fb = NULL;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    char text[300] = "";
    if (!err) {
        fb = kafka_calloc(1, sizeof *fb);
        if (!fb) {
            kafka_free(frame);
            err = KAFKA_ERR_NOMEM;
        } else {
            atomic_init(&fb->refs, 1);
            fb->r = r;
            fb->frame = frame;
            fb->frame_size = (size_t)(body + len - frame);
            kafka_arena_init(&fb->arena, 0);
            kafka_rbuf rb;
            kafka_rbuf_init(&rb, body, len);
            err = kafka_fetch_response_decode(&rb, &fb->arena, q->version, &resp);
            if (err == KAFKA_ERR_NOMEM) {
                snprintf(text, sizeof text, "broker %d: no memory to decode a Fetch response", q->broker);
            } else if (err) {
                snprintf(text, sizeof text, "broker %d: undecodable Fetch v%d response: field %s: %s", q->broker,
                         q->version, rb.field ? rb.field : "?", kafka_err_str(err));
                kafka_engine_fail_broker(r->eng, q->broker, KAFKA_ERR_PROTOCOL, text);
                err = KAFKA_ERR_PROTOCOL;
            } else if (resp.error_code) {
                err = kafka_err_from_wire(resp.error_code);
                snprintf(text, sizeof text, "broker %d: Fetch: %s", q->broker, kafka_err_str(err));
            }
        }
    } else {
        snprintf(text, sizeof text, "%s", why ? why : "");
    }
    kr_broker *b = broker_find(r, q->broker);
    if (b) {
        bool creating = b->sess.creating;
        kr_session_done(&b->sess, err, err ? 0 : resp.session_id);
        if (creating && !err)
            kr_log(r, KAFKA_LOG_DEBUG, "broker %d: %s", q->broker,
                   b->sess.unsupported ? "keeps no fetch sessions: full fetches" : "fetch session created");
    }
    if (err == KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND || err == KAFKA_ERR_INVALID_FETCH_SESSION_EPOCH) {
        /* The broker lost or rejected the session: the next Fetch is a
         * full one (it creates a new session); nothing for the parts. */
        kr_log(r, KAFKA_LOG_DEBUG, "broker %d: %s: full fetch", q->broker, kafka_err_str(err));
        kr_fbuf_release(fb);
        req_done(q);
        return;
    }
    if (err) {
        /* A part seeked or stopped since (e.g. the seek that cut this
         * Fetch short: kr_io_seek_locked) has nothing to retry. */
        for (size_t i = 0; i < q->n; i++)
            if (!q->parts[i].p->stop && atomic_load(&q->parts[i].p->epoch) == q->parts[i].epoch)
                part_failed(r, q->parts[i].p, err, text, now);
        kr_fbuf_release(fb);
        req_done(q);
        return;
    }
    bool rc = r->cfg.isolation_level == KAFKA_READ_COMMITTED;
    int64_t bytes = 0;
    /* Per-partition errors are noted in q and handled after the lock is
     * dropped (part_failed takes it). */
    pthread_mutex_lock(&r->mu);
    for (int32_t i = 0; i < resp.responses_count; i++) {
        const kafka_fetch_response_fetchable_topic_response *t = &resp.responses[i];
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const kafka_fetch_response_partition_data *pd = &t->partitions[j];
            kr_req_part *rp = req_find(q, t->topic, pd->partition_index);
            if (!rp || rp->p->stop || rp->p->epoch != rp->epoch)
                continue; /* stopped or seeked while in flight: stale */
            kafka_err pe = kafka_err_from_wire(pd->error_code);
            if (pe == KAFKA_ERR_OFFSET_OUT_OF_RANGE) {
                reset_offset_locked(r, rp->p, rp->offset, pd->log_start_offset, pd->high_watermark);
            } else if (pe) {
                rp->err = pe;
            } else {
                rp->p->attempt = 0;
                rp->err = fetched_part_locked(r, rp, pd, fb, rc, &bytes);
            }
        }
    }
    stats_fetch(r, kafka_now_us() - q->sent_us, bytes);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < q->n; i++) {
        kr_req_part *rp = &q->parts[i];
        if (!rp->err)
            continue;
        snprintf(text, sizeof text, "broker %d: Fetch at offset %lld: %s", q->broker, (long long)rp->offset,
                 rp->err == KAFKA_ERR_NOMEM ? "no memory for its data" : kafka_err_str(rp->err));
        part_failed(r, rp->p, rp->err, text, now);
    }
    kr_fbuf_release(fb);
    req_done(q);
}

static void on_list_offsets(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                            size_t len)
{
    kr_req *q = arg;
    kafka_reader *r = q->r;
    int64_t now = kafka_now_ms();
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    char text[300] = "";
    if (!err) {
        kafka_rbuf rb;
        kafka_rbuf_init(&rb, body, len);
        err = kafka_list_offsets_response_decode(&rb, &arena, q->version, &resp);
        if (err == KAFKA_ERR_NOMEM) {
            snprintf(text, sizeof text, "broker %d: no memory to decode a ListOffsets response", q->broker);
        } else if (err) {
            snprintf(text, sizeof text, "broker %d: undecodable ListOffsets response: field %s", q->broker,
                     rb.field ? rb.field : "?");
            kafka_engine_fail_broker(r->eng, q->broker, KAFKA_ERR_PROTOCOL, text);
            err = KAFKA_ERR_PROTOCOL;
        }
    } else {
        snprintf(text, sizeof text, "%s", why ? why : "");
    }
    for (size_t i = 0; err && i < q->n; i++)
        part_failed(r, q->parts[i].p, err, text, now);
    for (int32_t i = 0; !err && i < resp.topics_count; i++)
        for (int32_t j = 0; j < resp.topics[i].partitions_count; j++) {
            const kafka_list_offsets_response_list_offsets_partition_response *pr = &resp.topics[i].partitions[j];
            kr_req_part *rp = req_find(q, resp.topics[i].name, pr->partition_index);
            if (!rp)
                continue;
            kafka_err pe = kafka_err_from_wire(pr->error_code);
            if (pe) {
                snprintf(text, sizeof text, "broker %d: ListOffsets: %s", q->broker, kafka_err_str(pe));
                part_failed(r, rp->p, pe, text, now);
                continue;
            }
            kr_part *p = rp->p;
            pthread_mutex_lock(&r->mu);
            if (p->epoch == rp->epoch && !p->stop && p->fetch_offset == rp->offset) {
                /* Nothing of this epoch is fetched before the start offset
                 * is known, so no delivery races with this store; the sync
                 * is for a delivery of an older chunk still under way. */
                p->fetch_offset = pr->offset;
                kr_sync_reading(r);
                p->next_offset = pr->offset;
                p->attempt = 0;
            }
            pthread_mutex_unlock(&r->mu);
            kr_log(r, KAFKA_LOG_DEBUG, "%s [%d]: start offset %lld", p->topic, p->partition, (long long)pr->offset);
        }
    kafka_arena_free(&arena);
    kafka_free(frame);
    req_done(q);
}

/* ---- planning (I/O thread) ------------------------------------------------- */

typedef struct plan_part {
    kr_part *p;
    uint64_t epoch;
    int64_t offset;
    int32_t max_bytes;
    int64_t hwm; /* p->hwm read under mu when planned (read_lag writes it) */
} plan_part;

/* Sends one request to broker b for the parts in pp[0..n) (all led by
 * it). Every failure goes to the parts (part_failed: backoff, and the
 * next read hears of a fatal one such as NOMEM): none is forgotten. */
static void send_request(kafka_reader *r, kr_broker *b, bool list, plan_part *pp, size_t n, int64_t now)
{
    int32_t broker = b->id;
    char why[300];
    kafka_err err = kafka_engine_broker(r->eng, broker, why, sizeof why);
    if (err == KAFKA_ERR_STATE)
        return; /* connecting: a later turn (the engine runs one when it is up or failed) plans these again */
    int16_t v = -1;
    if (!err) {
        bool rc = r->cfg.isolation_level == KAFKA_READ_COMMITTED;
        v = list ? kafka_engine_version(r->eng, broker, KAFKA_API_LIST_OFFSETS, KAFKA_LIST_OFFSETS_MIN_VERSION,
                                        KAFKA_LIST_OFFSETS_MAX_VERSION, why, sizeof why)
                 : kafka_engine_version(r->eng, broker, KAFKA_API_FETCH, kafka_fetch_min_version(rc),
                                        KAFKA_FETCH_MAX_VERSION, why, sizeof why);
        if (v < 0)
            err = KAFKA_ERR_NO_COMMON_VERSION;
    }
    kr_req *q = err ? NULL : kafka_calloc(1, sizeof *q + n * sizeof q->parts[0]);
    if (!err && !q)
        err = KAFKA_ERR_NOMEM;
    if (err) {
        for (size_t i = 0; i < n; i++)
            part_failed(r, pp[i].p, err, why, now);
        return;
    }
    q->r = r;
    q->broker = broker;
    q->version = v;
    q->list = list;
    q->n = n;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_err e = 0;
    if (list) {
        kafka_offset_want *want = kafka_arena_alloc(&a, n * sizeof *want);
        kafka_list_offsets_request req;
        for (size_t i = 0; want && i < n; i++) /* KAFKA_OFFSET_FIRST / LAST are Kafka's -2 / -1 */
            want[i] = (kafka_offset_want){pp[i].p->topic, pp[i].p->partition, pp[i].offset};
        e = !want ? KAFKA_ERR_NOMEM
                  : kafka_list_offsets_request_build(&a, want, n, r->cfg.isolation_level == KAFKA_READ_COMMITTED,
                                                     &req);
        if (!e)
            e = kafka_engine_send(r->eng, broker, KAFKA_API_LIST_OFFSETS, v, list_offsets_request_enc_, &req,
                                  now + r->cfg.dial_timeout_ms + FETCH_DEADLINE_SLACK_MS, on_list_offsets, q);
    } else {
        kafka_fetch_want *want = kafka_arena_alloc(&a, n * sizeof *want);
        for (size_t i = 0; want && i < n; i++)
            want[i] = (kafka_fetch_want){pp[i].p->topic, pp[i].p->partition, pp[i].offset, pp[i].max_bytes};
        pthread_mutex_lock(&r->mu);
        int64_t room = r->cfg.queue_capacity_bytes - r->q_bytes;
        pthread_mutex_unlock(&r->mu);
        kafka_fetch_opts o = {
            .max_wait_ms = r->cfg.max_wait_ms,
            .min_bytes = r->cfg.min_bytes,
            /* The whole response stays within the queue's room (at least
             * one partition's worth, so that a full queue still moves). */
            .max_bytes = room > r->cfg.max_bytes ? (room > INT32_MAX ? INT32_MAX : (int32_t)room) : r->cfg.max_bytes,
            .read_committed = r->cfg.isolation_level == KAFKA_READ_COMMITTED,
            .session_epoch = -1,
        };
        kafka_fetch_request req;
        kafka_fetch_want *send = NULL;
        size_t n_send = 0;
        e = !want ? KAFKA_ERR_NOMEM
                        : kr_session_plan(&b->sess, v >= KAFKA_FETCH_MIN_SESSION, want, n, &a, &send, &n_send, &o);
        if (!e)
            e = kafka_fetch_request_build(&a, send, n_send, &o, &req);
        if (!e)
            e = kafka_engine_send(r->eng, broker, KAFKA_API_FETCH, v, fetch_request_enc_, &req,
                                  now + r->cfg.max_wait_ms + FETCH_DEADLINE_SLACK_MS, on_fetch, q);
        if (e && b->sess.pending)
            kr_session_done(&b->sess, e, 0);
    }
    kafka_arena_free(&a);
    if (e) {
        for (size_t i = 0; i < n; i++)
            part_failed(r, pp[i].p, e, kafka_err_str(e), now);
        kafka_free(q);
        return;
    }
    q->sent_us = kafka_now_us();
    b->busy = true;
    for (size_t i = 0; i < n; i++) {
        q->parts[i] = (kr_req_part){pp[i].p, pp[i].epoch, pp[i].offset, pp[i].max_bytes, 0};
        pp[i].p->in_flight = true;
        pp[i].p->flight_broker = broker;
        pp[i].p->flight_epoch = pp[i].epoch;
        pp[i].p->flight_parked = !list && pp[i].hwm >= 0 && pp[i].offset >= pp[i].hwm;
        atomic_fetch_add(&pp[i].p->refs, 1);
    }
}

static int cmp_topic(const void *a, const void *b)
{
    const plan_part *x = a, *y = b;
    return x->p->topic < y->p->topic ? -1 : x->p->topic > y->p->topic;
}

/* The leader of p from the cluster's cache, without blocking: known, a
 * definitive error (an unknown topic or partition reaches the next read),
 * or pending: its topic goes into the next Metadata request (r->md) and p
 * waits for the answer. */
static void find_leader(kafka_reader *r, kr_part *p, int64_t now)
{
    int32_t leader = -1;
    bool refresh = false;
    kafka_err err = kafka_cluster_leader_cached(r->kc, p->topic, p->partition, now, &leader, &refresh);
    if (refresh && ke_meta_want(&r->md, p->topic) && !err)
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        p->leader = leader; /* -1: pending */
        return;
    }
    char why[300];
    if (err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        snprintf(why, sizeof why, "topic %s has no partition %d (or the topic does not exist)", p->topic, p->partition);
    else
        snprintf(why, sizeof why, "metadata: %s", kafka_err_str(err));
    part_failed(r, p, err, why, now);
    if (err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        /* reader.h: the read reports an unknown topic or partition (the
         * reader keeps looking, in case it is created). */
        pthread_mutex_lock(&r->mu);
        if (!p->stop && !r->closing) {
            r->deliver_err = err;
            pthread_cond_broadcast(&r->cond_data);
        }
        pthread_mutex_unlock(&r->mu);
    }
}

void kr_io_seek_locked(kafka_reader *r)
{
    r->seek_cut = true;
}

/* Cuts the connection of a broker parking a Fetch for a position a seek
 * made stale: Kafka answers a connection's requests in order, so the Fetch
 * for the new position would otherwise wait up to max_wait_ms behind it.
 * The connection is dialed again at once (a round trip on a LAN, against
 * max_wait_ms: 10 s by default). */
static void cut_parked_fetches(kafka_reader *r)
{
    int32_t cut[8];
    size_t nc = 0;
    pthread_mutex_lock(&r->mu);
    if (r->seek_cut) {
        r->seek_cut = false;
        for (size_t i = 0; i < r->n_parts && nc < sizeof cut / sizeof cut[0]; i++) {
            const kr_part *p = r->parts[i];
            if (p->in_flight && p->flight_parked && p->flight_epoch != p->epoch)
                cut[nc++] = p->flight_broker;
        }
    }
    pthread_mutex_unlock(&r->mu);
    /* Outside mu: the cut runs the Fetch's callback (on_fetch takes it). */
    for (size_t i = 0; i < nc; i++)
        kafka_engine_cut_broker(r->eng, cut[i], "a seek cut a parked Fetch short");
}

/* The metadata refresh (r->md) ended. On failure every part still
 * waiting for its leader hears of it (backoff, the reader's last error,
 * and the next read for a fatal one such as TLS or SASL); on success the
 * next turn finds their leaders. I/O thread. */
static void on_metadata(void *arg, kafka_err err, const char *why)
{
    kafka_reader *r = arg;
    if (!err)
        return;
    int64_t now = kafka_now_ms();
    char text[400];
    snprintf(text, sizeof text, "metadata: %s: %s", kafka_err_str(err), why && *why ? why : "");
    kr_partitions_failed(r, err, text, now);
    pthread_mutex_lock(&r->mu);
    kr_part **waiting = kafka_calloc(r->n_parts ? r->n_parts : 1, sizeof *waiting);
    size_t n = 0;
    for (size_t i = 0; waiting && i < r->n_parts; i++) {
        kr_part *p = r->parts[i];
        if (p->leader < 0 && !p->stop && !p->in_flight && p->retry_at <= now) {
            atomic_fetch_add(&p->refs, 1);
            waiting[n++] = p;
        }
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        part_failed(r, waiting[i], err, text, now);
        kr_part_release(waiting[i]);
    }
    kafka_free(waiting);
}

static int64_t on_turn(void *arg, kafka_engine *e, int64_t now)
{
    kafka_reader *r = arg;
    cut_parked_fetches(r);
    /* Group membership first: it also runs while closing (final commit, leave). */
    int64_t gnext = r->group_mode ? kr_group_turn(r, e, now) : -1;
    /* all_partitions: the list comes from the topic's metadata first. */
    int64_t next = kr_partitions_resolve_all(r, now);
    if (gnext >= 0 && (next < 0 || gnext < next))
        next = gnext;
    pthread_mutex_lock(&r->mu);
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
        return gnext;
    }
    bool room = r->q_len == 0 || r->q_bytes < r->cfg.queue_capacity_bytes;
    size_t n = r->n_parts;
    /* pp: the parts to plan for; sel (after them): one broker's share. */
    plan_part *pp = kafka_calloc(n ? 2 * n : 1, sizeof *pp);
    size_t k = 0;
    for (size_t i = 0; pp && i < n; i++) {
        /* Fairness: each turn starts one part further along. */
        kr_part *p = r->parts[(i + r->rotate) % n];
        if (p->stop || p->in_flight)
            continue;
        if (p->retry_at > now) {
            next = next < 0 || p->retry_at < next ? p->retry_at : next;
            continue;
        }
        atomic_fetch_add(&p->refs, 1);
        pp[k++] = (plan_part){p, p->epoch, p->fetch_offset, p->max_bytes, p->hwm};
    }
    r->rotate = n ? (r->rotate + 1) % n : 0;
    r->fetch_held = !room;
    pthread_mutex_unlock(&r->mu);
    if (!pp) {
        ke_meta_turn(&r->md, e, now);
        return now + r->cfg.backoff_min_ms; /* no memory: plan again soon */
    }
    plan_part *sel = pp + n;
    for (size_t i = 0; i < k; i++)
        if (pp[i].p->leader < 0)
            find_leader(r, pp[i].p, now);
    /* Per broker with nothing in flight: first resolve start offsets
     * (ListOffsets), then one Fetch with every other part it leads. */
    for (size_t i = 0; i < k; i++) {
        int32_t broker = pp[i].p->leader;
        if (broker < 0 || pp[i].p->retry_at > now)
            continue;
        kr_broker *b = broker_slot(r, broker);
        if (!b) { /* no memory for its slot: plan again soon */
            int64_t soon = now + r->cfg.backoff_min_ms;
            next = next < 0 || soon < next ? soon : next;
            continue;
        }
        if (b->busy)
            continue;
        size_t m = 0, nl = 0;
        for (size_t j = i; j < k; j++)
            if (pp[j].p->leader == broker && pp[j].p->retry_at <= now && pp[j].offset < 0)
                sel[m++] = pp[j], nl++;
        if (!nl && room)
            for (size_t j = i; j < k; j++)
                if (pp[j].p->leader == broker && pp[j].p->retry_at <= now)
                    sel[m++] = pp[j];
        if (m) {
            /* Stable grouping by topic keeps the rotation inside a topic. */
            if (!nl)
                qsort(sel, m, sizeof *sel, cmp_topic);
            send_request(r, b, nl > 0, sel, m, now);
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (pp[i].p->retry_at > now)
            next = next < 0 || pp[i].p->retry_at < next ? pp[i].p->retry_at : next;
        kr_part_release(pp[i].p);
    }
    kafka_free(pp);
    /* Leaders (and the all_partitions list) wanted above: one Metadata
     * request for them all, its answer handled as it comes. */
    int64_t md = ke_meta_turn(&r->md, e, now);
    return md >= 0 && (next < 0 || md < next) ? md : next;
}

static void on_broker(void *arg, int32_t broker, bool up, kafka_err err, const char *why)
{
    kafka_reader *r = arg;
    /* Negative ids are bootstrap addresses the metadata refresh uses
     * (engine/meta.h), not brokers: its own failure is what is reported. */
    kafka_log_level lvl = broker < 0 ? KAFKA_LOG_DEBUG : KAFKA_LOG_WARN;
    if (up)
        kr_log(r, lvl, "broker %d is back", broker);
    else
        kr_log(r, lvl, "broker %d down: %s (%s)", broker, why, kafka_err_str(err));
}

kafka_err kr_io_start(kafka_reader *r)
{
    /* A Metadata request may queue behind a long-polling Fetch. */
    ke_meta_init(&r->md, r->kc, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms,
                 r->cfg.max_wait_ms + r->cfg.dial_timeout_ms + FETCH_DEADLINE_SLACK_MS, on_metadata, r);
    kafka_engine_config ec = {
        .kc = r->kc,
        .backoff_min_ms = r->cfg.backoff_min_ms,
        .backoff_max_ms = r->cfg.backoff_max_ms,
        .dial_timeout_ms = r->cfg.dial_timeout_ms,
        .on_turn = on_turn,
        .on_broker = on_broker,
        .frame_alloc = kr_frame_alloc,
        .arg = r,
    };
    return kafka_engine_start(&r->eng, &ec);
}

void kr_io_stop(kafka_reader *r)
{
    if (r->eng)
        kafka_engine_stop(r->eng);
    r->eng = NULL;
    ke_meta_free(&r->md);
    for (size_t i = 0; i < r->n_io_brokers; i++)
        kr_session_free(&r->io_brokers[i].sess);
    kafka_free(r->io_brokers);
    r->io_brokers = NULL;
    r->n_io_brokers = r->cap_io_brokers = 0;
}

void kr_io_wake(kafka_reader *r)
{
    if (r->eng)
        kafka_engine_wake(r->eng);
}

/* ---- parts joining and leaving ------------------------------------------------ */

kafka_err kr_part_start(kafka_reader *r, const char *topic, int32_t partition, int64_t offset)
{
    kr_part *p = kafka_calloc(1, sizeof *p);
    if (!p)
        return KAFKA_ERR_NOMEM;
    p->r = r;
    p->partition = partition;
    p->leader = -1;
    p->fetch_offset = offset;
    p->next_offset = offset >= 0 ? offset : -1;
    p->hwm = -1;
    p->pending_commit = -1;
    p->read_pos = -1;
    p->committed = offset >= 0 ? offset : -1;
    p->max_bytes = r->cfg.max_bytes;
    atomic_init(&p->refs, 1); /* the table */
    pthread_mutex_lock(&r->mu);
    p->topic = kr_intern_topic_locked(r, topic);
    if (!p->topic || r->n_parts == r->cap_parts) {
        size_t cap = r->cap_parts ? r->cap_parts * 2 : 8;
        kr_part **np = !p->topic ? NULL : r->n_parts < r->cap_parts ? r->parts : kafka_realloc(r->parts, cap * sizeof *np);
        if (!np) {
            pthread_mutex_unlock(&r->mu);
            kafka_free(p);
            return KAFKA_ERR_NOMEM;
        }
        r->parts = np;
        r->cap_parts = cap;
    }
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
        kafka_free(p);
        return KAFKA_ERR_CLOSED;
    }
    r->parts[r->n_parts++] = p;
    r->st.partitions = (int32_t)r->n_parts;
    pthread_mutex_unlock(&r->mu);
    kr_io_wake(r);
    return 0;
}

/* kr_parts_stop without memory for its selection: stops the matching
 * parts in place and releases them, handing none out. Parts have no thread
 * of their own (the reader's I/O thread drops a stale part's Fetch by its
 * epoch), so nothing needs joining. r->mu held on entry; released on
 * return. */
static void parts_stop_each(kafka_reader *r, kr_part_pred pred, void *arg)
{
    for (;;) {
        kr_part *p = NULL;
        for (size_t i = 0; i < r->n_parts && !p; i++)
            if (!pred || pred(r->parts[i], arg)) {
                p = r->parts[i];
                r->parts[i] = r->parts[--r->n_parts];
            }
        if (!p)
            break;
        p->stop = true;
        p->epoch++;
        kr_sync_reading(r);
        p->stopped_pos = atomic_exchange(&p->next_offset, KR_POS_STOPPED);
        r->st.partitions = (int32_t)r->n_parts;
        pthread_cond_broadcast(&r->cond_space);
        pthread_mutex_unlock(&r->mu);
        kr_part_release(p);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
}

void kr_parts_stop(kafka_reader *r, kr_part_pred pred, void *arg, kr_part ***out, size_t *n_out)
{
    pthread_mutex_lock(&r->mu);
    kr_part **sel = kafka_calloc(r->n_parts ? r->n_parts : 1, sizeof *sel);
    if (!sel) {
        parts_stop_each(r, pred, arg);
        if (out) {
            *out = NULL;
            *n_out = 0;
        }
        return;
    }
    size_t n = 0, keep = 0;
    for (size_t i = 0; i < r->n_parts; i++) {
        kr_part *p = r->parts[i];
        if (!pred || pred(p, arg)) {
            p->stop = true;
            /* Makes its queued chunks, the current one and a Fetch in
             * flight for it stale; the other parts keep flowing. */
            p->epoch++;
            sel[n++] = p;
        } else {
            r->parts[keep++] = p;
        }
    }
    if (n) {
        /* Fixes the delivered positions: after the sync no delivery from a
         * stopped part is running or will start (reader_internal.h). */
        kr_sync_reading(r);
        for (size_t i = 0; i < n; i++)
            sel[i]->stopped_pos = atomic_exchange(&sel[i]->next_offset, KR_POS_STOPPED);
    }
    r->n_parts = keep;
    r->st.partitions = (int32_t)keep;
    pthread_cond_broadcast(&r->cond_space);
    pthread_mutex_unlock(&r->mu);
    if (out) {
        *out = sel;
        *n_out = n;
        return;
    }
    for (size_t i = 0; i < n; i++)
        kr_part_release(sel[i]);
    kafka_free(sel);
}
