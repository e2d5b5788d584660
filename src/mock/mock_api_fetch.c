/* Fetch, ListOffsets and OffsetForLeaderEpoch in the mock. */
#include <string.h>

#include "mock/mock_cluster.h"
#include "mock/mock_fetch_session.h"
#include "protocol/gen/all.h"
#include "protocol/record_batch.h"

/* Leader epoch fencing (KIP-320): -1 skips the check. */
static int16_t epoch_error(const kmock_partition *p, int32_t current_leader_epoch)
{
    if (current_leader_epoch < 0 || current_leader_epoch == p->leader_epoch)
        return 0;
    return current_leader_epoch > p->leader_epoch ? KAFKA_ERR_UNKNOWN_LEADER_EPOCH : KAFKA_ERR_FENCED_LEADER_EPOCH;
}

/* Copies the batches from fetch_offset on into rp->records, within
 * *budget bytes (at least one batch when `first` and budget allows none:
 * KIP-74). Returns the bytes added. */
static size_t read_batches(const kmock_log *l, int64_t fetch_offset, int64_t limit, int32_t partition_max,
                           int64_t *budget, bool *first, kafka_arena *a, kafka_fetch_response_partition_data *rp)
{
    size_t start = kmock_log_find(l, fetch_offset), end = start, bytes = 0;

    for (; end < l->n; end++) {
        const kmock_batch *b = kmock_log_batch(l, end);
        size_t len = b->len;
        if (b->base_offset >= limit)
            break;
        bool fits = (int64_t)(bytes + len) <= partition_max && (int64_t)(bytes + len) <= *budget;
        if (!fits && !(*first && end == start))
            break;
        bytes += len;
    }
    if (bytes == 0)
        return 0;
    uint8_t *buf = kafka_arena_alloc_uninit(a, bytes);
    if (!buf)
        return 0;
    size_t pos = 0;
    for (size_t i = start; i < end; i++) {
        const kmock_batch *b = kmock_log_batch(l, i);
        memcpy(buf + pos, b->data, b->len);
        pos += b->len;
    }
    rp->records = (kafka_bytes){buf, (int32_t)bytes};
    *budget -= (int64_t)bytes;
    *first = false;
    return bytes;
}

/* Collects a partition's aborted transactions into the response. */
typedef struct aborted_acc {
    kafka_arena *a;
    kafka_fetch_response_partition_data *rp;
    size_t cap;
    bool oom;
} aborted_acc;

static void add_aborted(void *arg, const kmock_aborted *ab)
{
    aborted_acc *acc = arg;
    kafka_fetch_response_partition_data *rp = acc->rp;

    if ((size_t)rp->aborted_transactions_count == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 4;
        kafka_fetch_response_aborted_transaction *n = kafka_arena_calloc(acc->a, cap, sizeof(*n));
        if (!n) {
            acc->oom = true;
            return;
        }
        if (acc->cap)
            memcpy(n, rp->aborted_transactions, acc->cap * sizeof(*n));
        rp->aborted_transactions = n;
        acc->cap = cap;
    }
    rp->aborted_transactions[rp->aborted_transactions_count++] =
        (kafka_fetch_response_aborted_transaction){ab->producer_id, ab->first_offset};
}

/* One partition a Fetch asks about: from the request (sessionless and
 * new sessions) or from its session (incremental fetches). */
typedef struct fetch_item {
    kafka_str topic;
    kafka_uuid topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t leader_epoch;
    kmock_fs_part *sp; /* the session's entry, NULL without a session */
} fetch_item;

static kmock_topic *item_topic(const kmock_cluster *c, const kmock_request *rq, const fetch_item *it)
{
    if (rq->api_version >= 13)
        return kmock_topic_find_id(c, &it->topic_id);
    return it->topic.len > 0 ? kmock_topic_find(c, it->topic.ptr, (size_t)it->topic.len) : NULL;
}

/* Is broker_id one of p's replicas, and up? */
static bool serving_replica(const kmock_cluster *c, const kmock_partition *p, int32_t broker_id)
{
    const kmock_broker_info *b = kmock_broker(c, broker_id);
    for (int32_t i = 0; b && b->up && i < p->nreplicas; i++)
        if (p->replicas[i] == broker_id)
            return true;
    return false;
}

/* KIP-392, as Kafka's RackAwareReplicaSelector on the leader: the replica
 * a consumer in `rack` should fetch from instead, or -1 (no rack, the
 * leader is in that rack, or no live replica is). The mock's replicas are
 * always caught up, so the first one in the rack is as good as any. */
static int32_t preferred_read_replica(const kmock_cluster *c, const kmock_partition *p, kafka_str rack)
{
    if (rack.len <= 0)
        return -1;
    int32_t pick = -1;
    for (int32_t i = 0; i < p->nreplicas; i++) {
        const kmock_broker_info *b = kmock_broker(c, p->replicas[i]);
        if (!b || !b->up || strlen(b->rack) != (size_t)rack.len || memcmp(b->rack, rack.ptr, (size_t)rack.len) != 0)
            continue;
        if (p->replicas[i] == p->leader)
            return -1; /* Kafka never names the leader itself */
        if (pick < 0)
            pick = p->replicas[i];
    }
    return pick;
}

/* Serves one partition into rp; returns the record bytes added. From
 * version 11 on a consumer may fetch from a follower (KIP-392), and the
 * leader names a replica in the consumer's rack (rp->preferred_read_replica)
 * instead of answering with records. */
static int64_t serve_partition(kmock_cluster *c, const kmock_request *rq, const fetch_item *it, kafka_str rack,
                               bool read_committed, int64_t *budget, bool *first, kafka_arena *a,
                               kafka_fetch_response_partition_data *rp, bool *oom)
{
    kmock_topic *topic = item_topic(c, rq, it);
    kmock_partition *p = topic && it->partition >= 0 && it->partition < topic->npartitions
                             ? &topic->partitions[it->partition]
                             : NULL;
    int16_t err = kmock_topic_denied(c, rq, KMOCK_OP_READ, topic ? kafka_str_c(topic->name) : it->topic);
    int64_t bytes = 0;

    if (!err)
        err = kmock_partition_error(c, rq, p);
    if (err == KAFKA_ERR_NOT_LEADER_OR_FOLLOWER && !rq->injected && p && rq->api_version >= 11 && p->leader >= 0 &&
        serving_replica(c, p, rq->broker_id))
        err = 0; /* a follower serves consumers too */

    kafka_fetch_response_partition_data_init(rp);
    rp->partition_index = it->partition;
    rp->records = (kafka_bytes){(const uint8_t *)"", 0}; /* empty, not null: clients reject null */
    if (!topic && err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION && rq->api_version >= 13)
        err = KAFKA_ERR_UNKNOWN_TOPIC_ID;
    if (!err)
        err = epoch_error(p, it->leader_epoch);
    if (!err && (it->fetch_offset < p->log.log_start || it->fetch_offset > p->log.log_end))
        err = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
    rp->error_code = err;
    rp->aborted_transactions_count = read_committed ? 0 : -1;
    if (!p)
        return 0;
    int64_t lso = kmock_log_last_stable(&p->log);
    rp->high_watermark = p->log.log_end;
    rp->last_stable_offset = lso;
    rp->log_start_offset = p->log.log_start;
    if (err)
        return 0;
    if (rq->api_version >= 11 && p->leader == rq->broker_id &&
        (rp->preferred_read_replica = preferred_read_replica(c, p, rack)) >= 0)
        return 0; /* as Kafka: no records, the client goes to that replica */
    bytes = (int64_t)read_batches(&p->log, it->fetch_offset, read_committed ? lso : p->log.log_end,
                                  rq->api_version >= 3 ? it->max_bytes : INT32_MAX, budget, first, a, rp);
    if (read_committed && rp->records.len > 0) {
        /* the aborted transactions the returned batches overlap */
        aborted_acc acc = {.a = a, .rp = rp};
        int64_t end = kafka_records_next_offset(rp->records.ptr, (size_t)rp->records.len);
        kmock_log_aborted_in(&p->log, it->fetch_offset, end, add_aborted, &acc);
        *oom |= acc.oom;
    }
    return bytes;
}

/* The request's partitions as items; with a session, each is also added
 * to (or updated in) it. -1 when out of memory. */
static int request_items(const kafka_fetch_request *req, kmock_fetch_session *s, fetch_item *items, size_t *n)
{
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_fetch_request_fetch_topic *ft = &req->topics[t];
        for (int32_t i = 0; i < ft->partitions_count; i++) {
            const kafka_fetch_request_fetch_partition *fp = &ft->partitions[i];
            fetch_item *it = &items[(*n)++];
            *it = (fetch_item){.topic = ft->topic, .topic_id = ft->topic_id, .partition = fp->partition,
                               .fetch_offset = fp->fetch_offset, .max_bytes = fp->partition_max_bytes,
                               .leader_epoch = fp->current_leader_epoch};
            if (s) {
                if (!(it->sp = kmock_fs_upsert(s, ft->topic, &ft->topic_id, fp->partition)))
                    return -1;
                it->sp->fetch_offset = fp->fetch_offset;
                it->sp->max_bytes = fp->partition_max_bytes;
                it->sp->leader_epoch = fp->current_leader_epoch;
            }
        }
    }
    return 0;
}

/* An incremental response carries a partition only when there is news:
 * records, an error, or watermarks the client has not been told. */
static bool has_news(const fetch_item *it, const kafka_fetch_response_partition_data *rp)
{
    const kmock_fs_part *sp = it->sp;
    return !sp->sent || rp->records.len > 0 || rp->error_code != 0 || rp->preferred_read_replica >= 0 ||
           sp->hw != rp->high_watermark ||
           sp->lso != rp->last_stable_offset || sp->log_start != rp->log_start_offset;
}

/* Groups the partitions to send by topic into resp. */
static bool build_topics(const kmock_request *rq, const fetch_item *items, kafka_fetch_response_partition_data *pd,
                         const bool *send, size_t n, kafka_arena *a, kafka_fetch_response *resp)
{
    resp->responses = kafka_arena_calloc(a, n + 1, sizeof(*resp->responses));
    if (!resp->responses)
        return false;
    resp->responses_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!send[i])
            continue;
        kafka_fetch_response_fetchable_topic_response *rt = NULL;
        for (int32_t k = 0; k < resp->responses_count && !rt; k++) {
            kafka_fetch_response_fetchable_topic_response *cand = &resp->responses[k];
            bool same = rq->api_version >= 13 ? memcmp(cand->topic_id.b, items[i].topic_id.b, 16) == 0
                                              : kafka_str_eq(cand->topic, items[i].topic);
            if (same)
                rt = cand;
        }
        if (!rt) {
            rt = &resp->responses[resp->responses_count++];
            kafka_fetch_response_fetchable_topic_response_init(rt);
            rt->topic = items[i].topic;
            rt->topic_id = items[i].topic_id;
            rt->partitions = kafka_arena_calloc(a, n, sizeof(*rt->partitions));
            if (!rt->partitions)
                return false;
            rt->partitions_count = 0;
        }
        rt->partitions[rt->partitions_count++] = pd[i];
    }
    return true;
}

/* Opens, finds or updates the request's fetch session (KIP-227, v7+):
 * epoch -1 = no session (closing session_id if one is named), 0 = a new
 * session with the request's partitions, > 0 = an incremental fetch of
 * session_id at that epoch. A rerun of a deferred Fetch only finds the
 * session its first run used. *s is NULL for a sessionless fetch; the
 * result is 0, an error code for the response, or -1 (out of memory). */
static int open_session(kmock_cluster *c, const kmock_request *rq, const kafka_fetch_request *req,
                        kmock_fetch_session **s)
{
    *s = NULL;
    if (rq->rerun) {
        if (rq->session_id && !(*s = kmock_fs_find(&c->fetch_sessions, rq->session_id, rq->broker_id)))
            return KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND;
        return 0;
    }
    if (rq->api_version < 7 || req->session_epoch < 0) {
        if (rq->api_version >= 7 && req->session_id != 0)
            kmock_fs_remove(&c->fetch_sessions, req->session_id);
        return 0;
    }
    if (req->session_epoch == 0) {
        if (req->session_id != 0)
            kmock_fs_remove(&c->fetch_sessions, req->session_id);
        return (*s = kmock_fs_new(&c->fetch_sessions, rq->broker_id)) ? 0 : -1;
    }
    if (!(*s = kmock_fs_find(&c->fetch_sessions, req->session_id, rq->broker_id)))
        return KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND;
    if (req->session_epoch != (*s)->epoch) {
        *s = NULL;
        return KAFKA_ERR_INVALID_FETCH_SESSION_EPOCH;
    }
    (*s)->epoch = (*s)->epoch == INT32_MAX ? 1 : (*s)->epoch + 1;
    for (int32_t t = 0; t < req->forgotten_topics_data_count; t++) {
        const kafka_fetch_request_forgotten_topic *f = &req->forgotten_topics_data[t];
        for (int32_t i = 0; i < f->partitions_count; i++)
            kmock_fs_forget(*s, f->topic, &f->topic_id, f->partitions[i]);
    }
    return 0;
}

kmock_outcome kmock_fetch(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                          int64_t *wake_at)
{
    kafka_fetch_request *req = kmock_decode(rq, a);
    kafka_fetch_response resp;
    kmock_fetch_session *s;
    bool read_committed, first = true, any_error = false, oom = false, incremental;
    int64_t budget, total = 0;
    size_t n = 0, cap = 0;
    int rc;

    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    read_committed = req->isolation_level == 1;
    budget = rq->api_version >= 3 ? req->max_bytes : INT32_MAX;
    kafka_fetch_response_init(&resp);
    if ((rc = open_session(c, rq, req, &s)) != 0) {
        if (rc < 0)
            return KMOCK_CLOSE;
        resp.error_code = (int16_t)rc;
        resp.responses_count = 0;
        return kmock_encode(rq, &resp, out);
    }
    if (rq->session_out)
        *rq->session_out = s ? s->id : 0;
    incremental = s && req->session_epoch > 0;
    for (int32_t t = 0; t < req->topics_count; t++)
        cap += req->topics[t].partitions_count > 0 ? (size_t)req->topics[t].partitions_count : 0;
    if (s)
        cap += s->n;
    fetch_item *items = kafka_arena_calloc(a, cap + 1, sizeof(*items));
    if (!items)
        return KMOCK_CLOSE;
    if (request_items(req, s && !rq->rerun ? s : NULL, items, &n) != 0)
        return KMOCK_CLOSE;
    if (s) {
        /* a session fetches all of its partitions, in its order */
        n = 0;
        for (size_t i = 0; i < s->n; i++) {
            kmock_fs_part *sp = &s->parts[i];
            items[n++] = (fetch_item){.topic = {sp->topic, (int32_t)strlen(sp->topic)}, .topic_id = sp->topic_id,
                                      .partition = sp->partition, .fetch_offset = sp->fetch_offset,
                                      .max_bytes = sp->max_bytes, .leader_epoch = sp->leader_epoch, .sp = sp};
        }
    }
    kafka_fetch_response_partition_data *pd = kafka_arena_calloc(a, n + 1, sizeof(*pd));
    bool *send = kafka_arena_calloc(a, n + 1, sizeof(*send));
    if (!pd || !send)
        return KMOCK_CLOSE;
    for (size_t i = 0; i < n; i++) {
        total += serve_partition(c, rq, &items[i], req->rack_id, read_committed, &budget, &first, a, &pd[i], &oom);
        /* errors and redirections to a preferred replica are answered at once */
        any_error |= pd[i].error_code != 0 || pd[i].preferred_read_replica >= 0;
    }
    if (oom)
        return KMOCK_CLOSE;
    if (!rq->final && !any_error && total < req->min_bytes && req->max_wait_ms > 0) {
        *wake_at = rq->now_ms + req->max_wait_ms;
        return KMOCK_DEFER;
    }
    for (size_t i = 0; i < n; i++) {
        kmock_fs_part *sp = items[i].sp;
        send[i] = !incremental || has_news(&items[i], &pd[i]);
        if (sp && send[i]) {
            sp->sent = true;
            sp->hw = pd[i].high_watermark;
            sp->lso = pd[i].last_stable_offset;
            sp->log_start = pd[i].log_start_offset;
            /* The fetch offset stays what the client last sent, as in
             * Kafka (CachedPartition.updateRequestParams is its only
             * writer): a client that dropped a response (a partition
             * revoked and restarted at its committed offset) and does not
             * name the partition again gets the same records again, not
             * the ones after those it never used. */
        }
    }
    if (!build_topics(rq, items, pd, send, n, a, &resp))
        return KMOCK_CLOSE;
    resp.session_id = s ? s->id : 0;
    return kmock_encode(rq, &resp, out);
}

/* Epoch of the batch holding `offset` (the partition's current epoch at the
 * end of the log). */
static int32_t epoch_at(const kmock_partition *p, int64_t offset)
{
    size_t i = kmock_log_find(&p->log, offset);

    return i < p->log.n ? kmock_log_batch(&p->log, i)->leader_epoch : p->leader_epoch;
}

kmock_outcome kmock_list_offsets(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                 int64_t *wake_at)
{
    kafka_list_offsets_request *req = kmock_decode(rq, a);
    kafka_list_offsets_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_list_offsets_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.topics, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_list_offsets_request_list_offsets_topic *qt = &req->topics[t];
        kafka_list_offsets_response_list_offsets_topic_response *rt = &resp.topics[t];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;

        kafka_list_offsets_response_list_offsets_topic_response_init(rt);
        rt->name = qt->name;
        if (!KMOCK_ARRAY(a, rt->partitions, np))
            return KMOCK_CLOSE;
        for (int32_t i = 0; i < np; i++) {
            const kafka_list_offsets_request_list_offsets_partition *qp = &qt->partitions[i];
            kafka_list_offsets_response_list_offsets_partition_response *rp = &rt->partitions[i];
            kmock_partition *p = kmock_partition_get(c, qt->name, qp->partition_index);
            int16_t err = kmock_topic_denied(c, rq, KMOCK_OP_DESCRIBE, qt->name);
            int64_t off = -1, ts = -1;

            if (!err)
                err = kmock_partition_error(c, rq, p);

            kafka_list_offsets_response_list_offsets_partition_response_init(rp);
            rp->partition_index = qp->partition_index;
            if (!err)
                err = epoch_error(p, qp->current_leader_epoch);
            if (!err) {
                switch (qp->timestamp) {
                case -1: /* latest */
                    off = req->isolation_level == 1 ? kmock_log_last_stable(&p->log) : p->log.log_end;
                    break;
                case -2: /* earliest */
                case -4: /* earliest local (no tiered storage here) */
                    off = p->log.log_start;
                    break;
                case -3: /* max timestamp (KIP-734) */
                    kmock_log_max_timestamp(&p->log, &off, &ts);
                    break;
                case -5: /* latest tiered: nothing is tiered */
                    break;
                default:
                    if (qp->timestamp < 0)
                        err = KAFKA_ERR_INVALID_REQUEST;
                    else
                        kmock_log_offset_for_time(&p->log, qp->timestamp, &off, &ts);
                }
            }
            rp->error_code = err;
            rp->offset = err ? -1 : off;
            rp->timestamp = err ? -1 : ts;
            rp->leader_epoch = !err && off >= 0 ? epoch_at(p, off) : -1;
        }
    }
    return kmock_encode(rq, &resp, out);
}

/* End offset of leader epoch `epoch`: the start of the first batch of a
 * later epoch, or the log end for the current epoch (KIP-101/279). */
static void epoch_end(const kmock_partition *p, int32_t epoch, int32_t *out_epoch, int64_t *out_end)
{
    const kmock_log *l = &p->log;
    int32_t best = -1;

    *out_epoch = -1;
    *out_end = -1;
    if (epoch > p->leader_epoch)
        return;
    for (size_t i = 0; i < l->n; i++) {
        const kmock_batch *b = kmock_log_batch(l, i);
        if (b->leader_epoch > epoch) {
            if (best >= 0) {
                *out_epoch = best;
                *out_end = b->base_offset;
            }
            return;
        }
        best = b->leader_epoch;
    }
    *out_epoch = epoch == p->leader_epoch ? epoch : (best >= 0 ? best : epoch);
    *out_end = l->log_end;
}

kmock_outcome kmock_offset_for_leader_epoch(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                            kafka_wbuf *out, int64_t *wake_at)
{
    kafka_offset_for_leader_epoch_request *req = kmock_decode(rq, a);
    kafka_offset_for_leader_epoch_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_offset_for_leader_epoch_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.topics, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_offset_for_leader_epoch_request_offset_for_leader_topic *qt = &req->topics[t];
        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result *rt = &resp.topics[t];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;

        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result_init(rt);
        rt->topic = qt->topic;
        if (!KMOCK_ARRAY(a, rt->partitions, np))
            return KMOCK_CLOSE;
        for (int32_t i = 0; i < np; i++) {
            const kafka_offset_for_leader_epoch_request_offset_for_leader_partition *qp = &qt->partitions[i];
            kafka_offset_for_leader_epoch_response_epoch_end_offset *rp = &rt->partitions[i];
            kmock_partition *p = kmock_partition_get(c, qt->topic, qp->partition);
            int16_t err = kmock_partition_error(c, rq, p);

            kafka_offset_for_leader_epoch_response_epoch_end_offset_init(rp);
            rp->partition = qp->partition;
            if (!err)
                err = epoch_error(p, qp->current_leader_epoch);
            rp->error_code = err;
            rp->leader_epoch = -1;
            rp->end_offset = -1;
            if (!err)
                epoch_end(p, qp->leader_epoch, &rp->leader_epoch, &rp->end_offset);
        }
    }
    return kmock_encode(rq, &resp, out);
}
