/* Per-partition fetcher threads: Fetch from the leader, queue the responses. */
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "conn/conn_internal.h"
#include "net/stream.h"
#include "protocol/gen/all.h"
#include "cluster/cluster_util.h"
#include "reader/reader_internal.h"

KAFKA_CONN_ENCODER(fetch_request)
KAFKA_CONN_DECODER(fetch_response)
KAFKA_CONN_ENCODER(list_offsets_request)
KAFKA_CONN_DECODER(list_offsets_response)

/* Fetch v13+ names topics by id only; the reader speaks names. */
#define FETCH_MAX_VERSION 12
/* Fetch v4 brought isolation_level and the aborted transactions list. */
#define FETCH_MIN_READ_COMMITTED 4
#define MAX_FETCH_BYTES_GROWTH (64 * 1024 * 1024)
#define FREE_CHUNKS_KEPT 4
/* Headroom over max_wait for the Fetch round trip. */
#define FETCH_DEADLINE_SLACK_MS 10000

void kr_part_release(kr_part *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        kafka_free(p);
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
    c->part = NULL;
    c->next = NULL;
    if (r->n_free < FREE_CHUNKS_KEPT && !r->closing) {
        kafka_arena_reset(&c->arena);
        c->next = r->free_chunks;
        r->free_chunks = c;
        r->n_free++;
    } else {
        kafka_arena_free(&c->arena);
        kafka_free(c);
    }
    kr_part_release(p);
}

static kr_chunk *chunk_get(kafka_reader *r)
{
    pthread_mutex_lock(&r->mu);
    kr_chunk *c = r->free_chunks;
    if (c) {
        r->free_chunks = c->next;
        r->n_free--;
    }
    pthread_mutex_unlock(&r->mu);
    if (!c) {
        c = kafka_calloc(1, sizeof *c);
        if (c)
            kafka_arena_init(&c->arena, 0);
    }
    return c;
}

/* Sleeps up to ms unless the part is stopped first. */
static void part_sleep(kr_part *p, int ms)
{
    kafka_reader *r = p->r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    if (!p->stop && !r->closing)
        pthread_cond_timedwait(&r->cond_space, &r->mu, &ts);
    pthread_mutex_unlock(&r->mu);
}

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
    int16_t v = kafka_conn_version(conn, KAFKA_API_LIST_OFFSETS, 1, INT16_MAX);
    kafka_list_offsets_request_list_offsets_partition lp;
    kafka_list_offsets_request_list_offsets_partition_init(&lp);
    lp.partition_index = partition;
    lp.timestamp = ts;
    kafka_list_offsets_request_list_offsets_topic lt;
    kafka_list_offsets_request_list_offsets_topic_init(&lt);
    lt.name = kafka_str_c(topic);
    lt.partitions = &lp;
    lt.partitions_count = 1;
    kafka_list_offsets_request req;
    kafka_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.isolation_level = r->cfg.isolation_level == KAFKA_READ_COMMITTED ? 1 : 0;
    req.topics = &lt;
    req.topics_count = 1;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    err = v < 0 ? KAFKA_ERR_NO_COMMON_VERSION
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
    if (res == KAFKA_ERR_NOT_LEADER_OR_FOLLOWER || res == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
        res == KAFKA_ERR_LEADER_NOT_AVAILABLE || res == KAFKA_ERR_FENCED_LEADER_EPOCH || res == KAFKA_ERR_TRANSPORT)
        kafka_cluster_invalidate(r->kc, topic);
    return res;
}

static const kafka_fetch_response_partition_data *find_pdata(const kafka_fetch_response *resp, const char *topic,
                                                            int32_t partition)
{
    for (int32_t i = 0; i < resp->responses_count; i++) {
        if (!kafka_str_eq_c(resp->responses[i].topic, topic))
            continue;
        for (int32_t j = 0; j < resp->responses[i].partitions_count; j++)
            if (resp->responses[i].partitions[j].partition_index == partition)
                return &resp->responses[i].partitions[j];
    }
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

/* Sends one Fetch for the part at `offset` and queues the result. */
static kafka_err fetch_once(kr_part *p, uint64_t epoch, int64_t offset, int32_t max_bytes)
{
    kafka_reader *r = p->r;
    int64_t deadline = kafka_now_ms() + r->cfg.max_wait_ms + FETCH_DEADLINE_SLACK_MS;
    int32_t leader = -1;
    kafka_err err = kafka_cluster_leader(r->kc, p->topic, p->partition, deadline, &leader);
    if (err)
        return err;
    kafka_conn *conn = NULL;
    err = kafka_cluster_acquire(r->kc, leader, deadline, &conn);
    if (err)
        return err;
    kafka_cluster_conn_deadline(conn, deadline);
    /* Published so that stopping the part can cut a long-poll short. */
    pthread_mutex_lock(&r->mu);
    bool stopped = p->stop;
    if (!stopped)
        p->conn = conn;
    pthread_mutex_unlock(&r->mu);
    if (stopped) {
        kafka_cluster_release(r->kc, conn, true);
        return 0;
    }
    bool rc = r->cfg.isolation_level == KAFKA_READ_COMMITTED;
    int16_t v = kafka_conn_version(conn, KAFKA_API_FETCH, rc ? FETCH_MIN_READ_COMMITTED : 0, FETCH_MAX_VERSION);
    kr_chunk *c = chunk_get(r);
    if (v < 0 || !c) {
        pthread_mutex_lock(&r->mu);
        p->conn = NULL;
        pthread_mutex_unlock(&r->mu);
        kafka_cluster_release(r->kc, conn, true);
        if (c) {
            kafka_arena_free(&c->arena);
            kafka_free(c);
        }
        return v < 0 ? KAFKA_ERR_NO_COMMON_VERSION : KAFKA_ERR_NOMEM;
    }
    kafka_fetch_request_fetch_partition fp;
    kafka_fetch_request_fetch_partition_init(&fp);
    fp.partition = p->partition;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = max_bytes;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_topic_init(&ft);
    ft.topic = kafka_str_c(p->topic);
    ft.partitions = &fp;
    ft.partitions_count = 1;
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    req.replica_id = -1;
    req.max_wait_ms = r->cfg.max_wait_ms;
    req.min_bytes = r->cfg.min_bytes;
    req.max_bytes = max_bytes;
    req.isolation_level = rc ? 1 : 0;
    req.topics = &ft;
    req.topics_count = 1;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    int64_t t0 = kr_now_us();
    err = kafka_conn_roundtrip(conn, KAFKA_API_FETCH, v, fetch_request_enc_, &req, fetch_response_dec_, &resp,
                               &c->arena, NULL);
    int64_t t1 = kr_now_us();
    pthread_mutex_lock(&r->mu);
    p->conn = NULL;
    pthread_mutex_unlock(&r->mu);
    kafka_cluster_release(r->kc, conn, !kafka_cluster_err_breaks_conn(err));
    const kafka_fetch_response_partition_data *pd = NULL;
    if (!err && resp.error_code)
        err = kafka_err_from_wire(resp.error_code);
    if (!err && !(pd = find_pdata(&resp, p->topic, p->partition)))
        err = KAFKA_ERR_PROTOCOL;
    if (!err && pd->error_code)
        err = kafka_err_from_wire(pd->error_code);
    pthread_mutex_lock(&r->mu);
    r->st.dials++;
    if (err || p->stop || p->epoch != epoch) {
        c->part = NULL;
        kafka_arena_free(&c->arena);
        kafka_free(c);
        pthread_mutex_unlock(&r->mu);
        return err;
    }
    size_t len = pd->records.len > 0 ? (size_t)pd->records.len : 0;
    stats_fetch(r, t1 - t0, (int64_t)len);
    p->hwm = rc && pd->last_stable_offset >= 0 ? pd->last_stable_offset : pd->high_watermark;
    int64_t next = len ? kafka_records_next_offset(pd->records.ptr, len) : -1;
    if (next > offset) {
        c->part = p;
        atomic_fetch_add(&p->refs, 1);
        c->epoch = epoch;
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
        c = NULL;
        pthread_cond_signal(&r->cond_data);
    } else if (len > 0 && next < 0 && max_bytes < MAX_FETCH_BYTES_GROWTH) {
        /* One batch larger than max_bytes (pre-KIP-74 brokers return only
         * a partial one): ask for more next time. */
        p->max_bytes = max_bytes * 2;
    } else if (len == 0 && rc && pd->last_stable_offset > offset) {
        /* Only aborted/control data up to the LSO: nothing to deliver. */
    }
    if (c)
        kr_chunk_recycle_locked(r, c);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* OFFSET_OUT_OF_RANGE: move to the nearest end of [log start, hwm]. */
static kafka_err reset_offset(kr_part *p, uint64_t epoch, int64_t offset)
{
    kafka_reader *r = p->r;
    int64_t deadline = kafka_now_ms() + FETCH_DEADLINE_SLACK_MS;
    int64_t first = -1, last = -1;
    kafka_err err = kr_list_offset(r, p->topic, p->partition, KAFKA_OFFSET_FIRST, deadline, &first);
    if (!err)
        err = kr_list_offset(r, p->topic, p->partition, KAFKA_OFFSET_LAST, deadline, &last);
    if (err)
        return err;
    int64_t to = offset < first ? first : last;
    pthread_mutex_lock(&r->mu);
    if (p->epoch == epoch && !p->stop) {
        /* Like a seek: what was prefetched before the reset is dropped
         * (below the new position it is behind the reader; at or above it
         * it may be truncated data), and bumping the epoch is what keeps a
         * delivery that starts after kr_sync_reading from overwriting the
         * new position (the sync only waits out deliveries under way). */
        p->epoch++;
        p->fetch_offset = to;
        kr_sync_reading(r);
        p->next_offset = to;
        r->st.offset_resets++;
    }
    pthread_mutex_unlock(&r->mu);
    kr_log(r, KAFKA_LOG_WARN, "%s [%d]: offset %lld out of range [%lld, %lld]: reset to %lld", p->topic,
           p->partition, (long long)offset, (long long)first, (long long)last, (long long)to);
    return 0;
}

/* Resolves FIRST/LAST into an offset. */
static kafka_err resolve_offset(kr_part *p, uint64_t epoch, int64_t which)
{
    kafka_reader *r = p->r;
    int64_t off = -1;
    kafka_err err =
        kr_list_offset(r, p->topic, p->partition, which, kafka_now_ms() + FETCH_DEADLINE_SLACK_MS, &off);
    if (err)
        return err;
    pthread_mutex_lock(&r->mu);
    if (p->epoch == epoch && !p->stop) {
        /* No chunk of this epoch exists yet (nothing is fetched before the
         * start offset is known), so no delivery can race with this store;
         * the sync is for a delivery of an older chunk still under way. */
        p->fetch_offset = off;
        kr_sync_reading(r);
        p->next_offset = off;
    }
    pthread_mutex_unlock(&r->mu);
    kr_log(r, KAFKA_LOG_DEBUG, "%s [%d]: start offset %lld", p->topic, p->partition, (long long)off);
    return 0;
}

static bool wait_for_room(kr_part *p)
{
    kafka_reader *r = p->r;
    pthread_mutex_lock(&r->mu);
    while (!p->stop && !r->closing && r->q_len > 0 && r->q_bytes >= r->cfg.queue_capacity_bytes)
        pthread_cond_wait(&r->cond_space, &r->mu);
    bool go = !p->stop && !r->closing;
    pthread_mutex_unlock(&r->mu);
    return go;
}

static bool leadership_err(kafka_err err)
{
    return err == KAFKA_ERR_NOT_LEADER_OR_FOLLOWER || err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
           err == KAFKA_ERR_LEADER_NOT_AVAILABLE || err == KAFKA_ERR_FENCED_LEADER_EPOCH ||
           err == KAFKA_ERR_UNKNOWN_LEADER_EPOCH || err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_TIMEOUT ||
           err == KAFKA_ERR_REPLICA_NOT_AVAILABLE || err == KAFKA_ERR_KAFKA_STORAGE_ERROR ||
           err == KAFKA_ERR_NO_BROKERS || err == KAFKA_ERR_CLOSED || err == KAFKA_ERR_PROTOCOL;
}

static void *fetcher_main(void *arg)
{
    kr_part *p = arg;
    kafka_reader *r = p->r;
    int attempt = 0;
    while (wait_for_room(p)) {
        pthread_mutex_lock(&r->mu);
        uint64_t epoch = p->epoch;
        int64_t off = p->fetch_offset;
        int32_t max_bytes = p->max_bytes;
        pthread_mutex_unlock(&r->mu);
        kafka_err err = off < 0 ? resolve_offset(p, epoch, off) : fetch_once(p, epoch, off, max_bytes);
        if (err == KAFKA_ERR_OFFSET_OUT_OF_RANGE)
            err = reset_offset(p, epoch, off);
        if (!err) {
            attempt = 0;
            continue;
        }
        pthread_mutex_lock(&r->mu);
        bool quiet = p->stop || r->closing;
        bool seeked = p->epoch != epoch; /* set_offset cut the Fetch */
        pthread_mutex_unlock(&r->mu);
        if (quiet)
            break;
        if (seeked)
            continue;
        if (leadership_err(err))
            kafka_cluster_invalidate(r->kc, p->topic);
        kr_error(r, err, "fetch %s [%d] at offset %lld: %s", p->topic, p->partition, (long long)off,
                 kafka_err_str(err));
        kr_log(r, KAFKA_LOG_WARN, "fetch %s [%d] at offset %lld: %s (retrying)", p->topic, p->partition,
               (long long)off, kafka_err_str(err));
        if (!leadership_err(err) && !kafka_err_is_retriable(err)) {
            /* e.g. TOPIC_AUTHORIZATION_FAILED: the application must hear
             * of it; the fetcher keeps retrying in case it is fixed. */
            pthread_mutex_lock(&r->mu);
            r->deliver_err = err;
            pthread_cond_broadcast(&r->cond_data);
            pthread_mutex_unlock(&r->mu);
        }
        part_sleep(p, kafka_backoff_ms(attempt < 16 ? attempt : 16, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms));
        attempt++;
    }
    kr_part_release(p);
    return NULL;
}

kafka_err kr_part_start(kafka_reader *r, const char *topic, int32_t partition, int64_t offset)
{
    kr_part *p = kafka_calloc(1, sizeof *p);
    if (!p)
        return KAFKA_ERR_NOMEM;
    p->r = r;
    p->partition = partition;
    p->fetch_offset = offset;
    p->next_offset = offset >= 0 ? offset : -1;
    p->hwm = -1;
    p->pending_commit = -1;
    p->committed = offset >= 0 ? offset : -1;
    p->max_bytes = r->cfg.max_bytes;
    atomic_init(&p->refs, 2); /* the table and the thread */
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
    if (pthread_create(&p->thread, NULL, fetcher_main, p) != 0) {
        pthread_mutex_unlock(&r->mu);
        kafka_free(p);
        return KAFKA_ERR_NOMEM;
    }
    p->thread_started = true;
    r->parts[r->n_parts++] = p;
    r->st.partitions = (int32_t)r->n_parts;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* kr_parts_stop without memory for its selection: stops the matching
 * parts one at a time (each taken out of r->parts under the lock, joined
 * and released outside it) and hands none out, so that no fetcher
 * outlives a close that could not allocate. r->mu held on entry; released
 * on return. */
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
        if (p->conn)
            kafka_conn_shutdown(p->conn);
        kr_sync_reading(r);
        p->stopped_pos = atomic_exchange(&p->next_offset, KR_POS_STOPPED);
        r->st.partitions = (int32_t)r->n_parts;
        pthread_cond_broadcast(&r->cond_space);
        pthread_mutex_unlock(&r->mu);
        if (p->thread_started)
            pthread_join(p->thread, NULL);
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
        if (sel && (!pred || pred(p, arg))) {
            p->stop = true;
            /* Makes its queued chunks and the current one stale for the
             * reading thread's lock-free delivery. */
            p->epoch++;
            if (p->conn)
                kafka_conn_shutdown(p->conn);
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
    /* A fetcher blocked in a Fetch finishes it (max_wait bounds it) or is
     * woken by kafka_cluster_interrupt at close. */
    for (size_t i = 0; i < n; i++)
        if (sel[i]->thread_started)
            pthread_join(sel[i]->thread, NULL);
    if (out) {
        *out = sel;
        *n_out = n;
        return;
    }
    for (size_t i = 0; i < n; i++)
        kr_part_release(sel[i]);
    kafka_free(sel);
}
