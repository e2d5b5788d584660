/* Fetch, ListOffsets and OffsetForLeaderEpoch in the mock. */
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"
#include "protocol/record_batch.h"

/* Leader epoch fencing (KIP-320): -1 skips the check. */
static int16_t epoch_error(const kmock_partition *p, int32_t current_leader_epoch)
{
    if (current_leader_epoch < 0 || current_leader_epoch == p->leader_epoch)
        return 0;
    return current_leader_epoch > p->leader_epoch ? KAFKA_ERR_UNKNOWN_LEADER_EPOCH : KAFKA_ERR_FENCED_LEADER_EPOCH;
}

static kmock_topic *fetch_topic(const kmock_cluster *c, const kmock_request *rq,
                                const kafka_fetch_request_fetch_topic *ft)
{
    if (rq->api_version >= 13)
        return kmock_topic_find_id(c, &ft->topic_id);
    return ft->topic.len > 0 ? kmock_topic_find(c, ft->topic.ptr, (size_t)ft->topic.len) : NULL;
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

kmock_outcome kmock_fetch(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                          int64_t *wake_at)
{
    kafka_fetch_request *req = kmock_decode(rq, a);
    kafka_fetch_response resp;
    bool read_committed, first = true, any_error = false;
    int64_t budget, total = 0;

    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    read_committed = req->isolation_level == 1;
    budget = rq->api_version >= 3 ? req->max_bytes : INT32_MAX;
    kafka_fetch_response_init(&resp);
    resp.session_id = 0; /* no fetch sessions: clients keep sending full fetches */
    if (req->session_id != 0) {
        resp.error_code = KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND;
        resp.responses_count = 0;
        return kmock_encode(rq, &resp, out);
    }
    resp.responses = kafka_arena_calloc(a, (size_t)req->topics_count + 1, sizeof(*resp.responses));
    if (!resp.responses)
        return KMOCK_CLOSE;
    resp.responses_count = req->topics_count;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_fetch_request_fetch_topic *ft = &req->topics[t];
        kafka_fetch_response_fetchable_topic_response *rt = &resp.responses[t];
        kmock_topic *topic = fetch_topic(c, rq, ft);
        int32_t np = ft->partitions_count > 0 ? ft->partitions_count : 0;

        kafka_fetch_response_fetchable_topic_response_init(rt);
        rt->topic = ft->topic;
        rt->topic_id = ft->topic_id;
        rt->partitions = kafka_arena_calloc(a, (size_t)np + 1, sizeof(*rt->partitions));
        if (!rt->partitions)
            return KMOCK_CLOSE;
        rt->partitions_count = np;
        for (int32_t i = 0; i < np; i++) {
            const kafka_fetch_request_fetch_partition *fp = &ft->partitions[i];
            kafka_fetch_response_partition_data *rp = &rt->partitions[i];
            kmock_partition *p = topic && fp->partition >= 0 && fp->partition < topic->npartitions
                                     ? &topic->partitions[fp->partition]
                                     : NULL;
            int16_t err = kmock_partition_error(c, rq, p);

            kafka_fetch_response_partition_data_init(rp);
            rp->partition_index = fp->partition;
            rp->records = (kafka_bytes){(const uint8_t *)"", 0}; /* empty, not null: clients reject null */
            if (!topic && !err && rq->api_version >= 13)
                err = KAFKA_ERR_UNKNOWN_TOPIC_ID;
            if (!err)
                err = epoch_error(p, fp->current_leader_epoch);
            if (!err && (fp->fetch_offset < p->log.log_start || fp->fetch_offset > p->log.log_end))
                err = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
            rp->error_code = err;
            if (p) {
                int64_t lso = kmock_log_last_stable(&p->log);
                rp->high_watermark = p->log.log_end;
                rp->last_stable_offset = lso;
                rp->log_start_offset = p->log.log_start;
                if (!err)
                    total += (int64_t)read_batches(&p->log, fp->fetch_offset, read_committed ? lso : p->log.log_end,
                                                   rq->api_version >= 3 ? fp->partition_max_bytes : INT32_MAX,
                                                   &budget, &first, a, rp);
            }
            if (err) {
                rp->high_watermark = p ? rp->high_watermark : -1;
                any_error = true;
            }
            rp->aborted_transactions_count = read_committed ? 0 : -1;
            if (read_committed && p && !err && rp->records.len > 0) {
                /* the aborted transactions the returned batches overlap */
                aborted_acc acc = {.a = a, .rp = rp};
                int64_t end = kafka_records_next_offset(rp->records.ptr, (size_t)rp->records.len);
                kmock_log_aborted_in(&p->log, fp->fetch_offset, end, add_aborted, &acc);
                if (acc.oom)
                    return KMOCK_CLOSE;
            }
        }
    }
    if (!rq->final && !any_error && total < req->min_bytes && req->max_wait_ms > 0) {
        *wake_at = rq->now_ms + req->max_wait_ms;
        return KMOCK_DEFER;
    }
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
    resp.topics = kafka_arena_calloc(a, (size_t)req->topics_count + 1, sizeof(*resp.topics));
    if (!resp.topics)
        return KMOCK_CLOSE;
    resp.topics_count = req->topics_count;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_list_offsets_request_list_offsets_topic *qt = &req->topics[t];
        kafka_list_offsets_response_list_offsets_topic_response *rt = &resp.topics[t];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;

        kafka_list_offsets_response_list_offsets_topic_response_init(rt);
        rt->name = qt->name;
        rt->partitions = kafka_arena_calloc(a, (size_t)np + 1, sizeof(*rt->partitions));
        if (!rt->partitions)
            return KMOCK_CLOSE;
        rt->partitions_count = np;
        for (int32_t i = 0; i < np; i++) {
            const kafka_list_offsets_request_list_offsets_partition *qp = &qt->partitions[i];
            kafka_list_offsets_response_list_offsets_partition_response *rp = &rt->partitions[i];
            kmock_partition *p = kmock_partition_get(c, qt->name, qp->partition_index);
            int16_t err = kmock_partition_error(c, rq, p);
            int64_t off = -1, ts = -1;

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
    resp.topics = kafka_arena_calloc(a, (size_t)req->topics_count + 1, sizeof(*resp.topics));
    if (!resp.topics)
        return KMOCK_CLOSE;
    resp.topics_count = req->topics_count;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_offset_for_leader_epoch_request_offset_for_leader_topic *qt = &req->topics[t];
        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result *rt = &resp.topics[t];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;

        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result_init(rt);
        rt->topic = qt->topic;
        rt->partitions = kafka_arena_calloc(a, (size_t)np + 1, sizeof(*rt->partitions));
        if (!rt->partitions)
            return KMOCK_CLOSE;
        rt->partitions_count = np;
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
