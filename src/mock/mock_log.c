/* A partition's log in the mock: see mock_log.h. */
#include "mock/mock_log.h"

#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "protocol/record_batch.h"

void kmock_log_init(kmock_log *l, int64_t retention_bytes)
{
    memset(l, 0, sizeof(*l));
    l->retention_bytes = retention_bytes;
}

void kmock_log_free(kmock_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        kafka_free(l->batches[(l->head + i) % l->cap].data);
    kafka_free(l->batches);
    kafka_free(l->producers);
    kafka_free(l->aborted);
    memset(l, 0, sizeof(*l));
}

const kmock_batch *kmock_log_batch(const kmock_log *l, size_t i)
{
    return &l->batches[(l->head + i) % l->cap];
}

size_t kmock_log_find(const kmock_log *l, int64_t offset)
{
    size_t lo = 0, hi = l->n;

    /* first batch whose last_offset >= offset */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kmock_log_batch(l, mid)->last_offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t kmock_log_last_stable(const kmock_log *l)
{
    int64_t lso = l->log_end;

    for (size_t i = 0; i < l->nproducers; i++)
        if (l->producers[i].txn_first_offset >= 0 && l->producers[i].txn_first_offset < lso)
            lso = l->producers[i].txn_first_offset;
    return lso;
}

void kmock_log_forget_producers(kmock_log *l)
{
    l->nproducers = 0;
}

static kmock_producer *find_producer(kmock_log *l, int64_t pid)
{
    for (size_t i = 0; i < l->nproducers; i++)
        if (l->producers[i].producer_id == pid)
            return &l->producers[i];
    return NULL;
}

static kmock_producer *add_producer(kmock_log *l, int64_t pid)
{
    if (l->nproducers == l->producers_cap) {
        size_t cap = l->producers_cap ? l->producers_cap * 2 : 4;
        kmock_producer *p = kafka_realloc(l->producers, cap * sizeof(*p));
        if (!p)
            return NULL;
        l->producers = p;
        l->producers_cap = cap;
    }
    kmock_producer *p = &l->producers[l->nproducers++];
    memset(p, 0, sizeof(*p));
    p->producer_id = pid;
    p->txn_first_offset = -1;
    return p;
}

/* One validated batch of a Produce request, before it is appended. */
typedef struct pending_batch {
    const uint8_t *raw;
    size_t len;
    int32_t count;
    int64_t max_ts, max_ts_delta; /* max_ts_delta: offset delta of that record */
    int64_t producer_id;
    int16_t epoch;
    int32_t base_seq;
    bool transactional;
} pending_batch;

static kmock_append_result fail(int16_t error, const char *message)
{
    return (kmock_append_result){.error = error, .base_offset = -1, .message = message};
}

static int16_t records_error(kafka_err e)
{
    switch (e) {
    case KAFKA_ERR_UNSUPPORTED_CODEC:
        return KAFKA_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    case KAFKA_ERR_NOMEM:
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    default:
        return KAFKA_ERR_CORRUPT_MESSAGE;
    }
}

/* Walks every record of every batch (checking CRCs and decompressing) and
 * fills pb[0..*npb). */
static kmock_append_result validate(const uint8_t *records, size_t len, bool require_keys, pending_batch *pb,
                                    size_t cap, size_t *npb)
{
    kafka_records_iter it;
    const kafka_record_batch *b;
    kmock_append_result res = {0};
    int32_t index = 0; /* of the record in the request */
    int rc;

    *npb = 0;
    kafka_records_iter_init(&it, records, len, NULL);
    while ((rc = kafka_records_iter_next_batch(&it, &b)) == 1) {
        kafka_record rec;
        int32_t count = 0;
        int64_t max_ts = -1, max_delta = 0;

        if (b->magic != 2) {
            res = fail(KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, "message format v0/v1 is not accepted");
            goto out;
        }
        if (b->control) {
            res = fail(KAFKA_ERR_INVALID_RECORD, "clients may not write control batches");
            goto out;
        }
        if (*npb == cap) {
            /* Kafka (ProduceRequest.validateRecords): v3+ carries exactly
             * one batch per partition */
            res = fail(KAFKA_ERR_INVALID_RECORD, "Produce requests may only contain exactly one record batch");
            goto out;
        }
        while ((rc = kafka_records_iter_next_record(&it, &rec)) == 1) {
            if (require_keys && rec.key.len < 0 && res.nbad < KMOCK_MAX_RECORD_ERRORS)
                res.bad_records[res.nbad++] = index;
            index++;
            if (rec.timestamp > max_ts) {
                max_ts = rec.timestamp;
                max_delta = rec.offset - b->base_offset;
            }
            count++;
        }
        if (rc < 0) {
            res = fail(records_error(rc), "a record does not decode");
            goto out;
        }
        if (count == 0 || count != b->record_count || b->last_offset_delta != count - 1) {
            res = fail(KAFKA_ERR_INVALID_RECORD, "record count does not match the batch header");
            goto out;
        }
        pb[*npb] = (pending_batch){.raw = b->raw, .len = b->raw_len, .count = count, .max_ts = max_ts,
                                   .max_ts_delta = max_delta, .producer_id = b->producer_id,
                                   .epoch = b->producer_epoch, .base_seq = b->base_sequence,
                                   .transactional = b->transactional};
        (*npb)++;
    }
    if (rc < 0)
        res = fail(records_error(rc), it.err_field ? it.err_field : "record batch does not decode");
    else if (it.truncated || *npb == 0)
        res = fail(KAFKA_ERR_CORRUPT_MESSAGE, "records end in a partial batch or hold none");
    else if (res.nbad) {
        res.error = KAFKA_ERR_INVALID_RECORD;
        res.base_offset = -1;
        res.message = "Compacted topic cannot accept message without key";
    }
out:
    kafka_records_iter_free(&it);
    return res;
}

static int32_t seq_add(int32_t seq, int32_t n)
{
    /* sequences wrap from INT32_MAX to 0 */
    return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1));
}

/* Checks a batch against its producer's state. Returns 0 (append), 1 (a
 * duplicate of a recent batch: *dup_offset set) or an error code. */
static int check_sequence(const kmock_producer *p, const pending_batch *b, int64_t *dup_offset)
{
    if (p == NULL)
        return b->base_seq == 0 ? 0 : KAFKA_ERR_UNKNOWN_PRODUCER_ID;
    if (b->epoch < p->epoch)
        return KAFKA_ERR_INVALID_PRODUCER_EPOCH;
    if (b->epoch > p->epoch || p->n == 0)
        return b->base_seq == 0 ? 0 : KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    int32_t last_seq = seq_add(b->base_seq, b->count - 1);
    for (int i = 0; i < p->n; i++) {
        if (p->recent[i].first_seq == b->base_seq && p->recent[i].last_seq == last_seq) {
            *dup_offset = p->recent[i].base_offset;
            return 1;
        }
    }
    int32_t expected = seq_add(p->recent[p->n - 1].last_seq, 1);
    if (b->base_seq == expected)
        return 0;
    /* behind the window of cached batches: an old retry */
    int64_t behind = ((int64_t)expected - b->base_seq + ((int64_t)INT32_MAX + 1)) % ((int64_t)INT32_MAX + 1);
    if (behind > 0 && behind < ((int64_t)1 << 30))
        return KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER;
    return KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

static bool reserve_batches(kmock_log *l, size_t more)
{
    if (l->n + more <= l->cap)
        return true;
    size_t cap = l->cap ? l->cap : 16;
    while (cap < l->n + more)
        cap *= 2;
    kmock_batch *nb = kafka_malloc(cap * sizeof(*nb));
    if (!nb)
        return false;
    for (size_t i = 0; i < l->n; i++)
        nb[i] = l->batches[(l->head + i) % l->cap];
    kafka_free(l->batches);
    l->batches = nb;
    l->cap = cap;
    l->head = 0;
    return true;
}

static void apply_retention(kmock_log *l)
{
    while (l->n > 1 && l->bytes > l->retention_bytes) {
        kmock_batch *b = &l->batches[l->head];
        l->bytes -= (int64_t)b->len;
        kafka_free(b->data);
        l->head = (l->head + 1) % l->cap;
        l->n--;
        l->log_start = kmock_log_batch(l, 0)->base_offset;
    }
    size_t keep = 0;
    while (keep < l->naborted && l->aborted[keep].marker_offset < l->log_start)
        keep++;
    if (keep) {
        memmove(l->aborted, l->aborted + keep, (l->naborted - keep) * sizeof(*l->aborted));
        l->naborted -= keep;
    }
}

static void remember(kmock_producer *p, const pending_batch *b, int64_t base_offset)
{
    if (b->epoch != p->epoch)
        p->n = 0;
    p->epoch = b->epoch;
    if (p->n == KMOCK_PRODUCER_BATCHES) {
        memmove(&p->recent[0], &p->recent[1], (KMOCK_PRODUCER_BATCHES - 1) * sizeof(p->recent[0]));
        p->n--;
    }
    p->recent[p->n++] = (kmock_seq_entry){.first_seq = b->base_seq,
                                          .last_seq = seq_add(b->base_seq, b->count - 1),
                                          .base_offset = base_offset};
    if (b->transactional && p->txn_first_offset < 0)
        p->txn_first_offset = base_offset;
}

#define KMOCK_MAX_BATCHES_PER_PRODUCE 1

kmock_append_result kmock_log_append(kmock_log *l, const uint8_t *records, size_t len,
                                     const kmock_append_rules *rules)
{
    pending_batch pb[KMOCK_MAX_BATCHES_PER_PRODUCE];
    size_t npb;
    memset(pb, 0, sizeof(pb));
    kmock_append_result res = validate(records, len, rules->require_keys, pb, KMOCK_MAX_BATCHES_PER_PRODUCE, &npb);
    int32_t leader_epoch = rules->leader_epoch;
    int64_t log_append_time = rules->log_append_time;
    int64_t first = l->log_end;

    if (res.error)
        return res;
    /* Idempotence: every batch of one request comes from one producer in
     * practice; check them in order against a running state. */
    for (size_t i = 0; i < npb; i++) {
        if (pb[i].producer_id < 0)
            continue;
        int64_t dup = -1;
        int rc = check_sequence(find_producer(l, pb[i].producer_id), &pb[i], &dup);
        if (rc == 1 && npb == 1)
            return (kmock_append_result){.base_offset = dup, .duplicate = true};
        if (rc == 1)
            rc = KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER;
        if (rc != 0)
            return fail((int16_t)rc, "idempotent producer state rejects the batch");
        if (i + 1 < npb && pb[i + 1].producer_id == pb[i].producer_id &&
            (pb[i + 1].epoch != pb[i].epoch || pb[i + 1].base_seq != seq_add(pb[i].base_seq, pb[i].count)))
            return fail(KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "batches of one request are not consecutive");
    }
    if (!reserve_batches(l, npb))
        return fail(KAFKA_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
    /* Producers' state grows before anything is appended, so that an
     * allocation failure leaves the log unchanged. */
    for (size_t i = 0; i < npb; i++)
        if (pb[i].producer_id >= 0 && !find_producer(l, pb[i].producer_id) && !add_producer(l, pb[i].producer_id))
            return fail(KAFKA_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
    uint8_t *copies[KMOCK_MAX_BATCHES_PER_PRODUCE];
    for (size_t i = 0; i < npb; i++) {
        copies[i] = kafka_malloc(pb[i].len);
        if (!copies[i]) {
            while (i-- > 0)
                kafka_free(copies[i]);
            return fail(KAFKA_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        }
        memcpy(copies[i], pb[i].raw, pb[i].len);
    }
    for (size_t i = 0; i < npb; i++) {
        int64_t base = l->log_end;
        kmock_batch *b = &l->batches[(l->head + l->n) % l->cap];
        (void)kafka_record_batch_set_base(copies[i], pb[i].len, base, leader_epoch); /* validated above */
        if (log_append_time >= 0) {
            (void)kafka_record_batch_set_log_append_time(copies[i], pb[i].len, log_append_time);
            pb[i].max_ts = log_append_time;
            pb[i].max_ts_delta = 0;
        }
        *b = (kmock_batch){.base_offset = base, .last_offset = base + pb[i].count - 1, .max_timestamp = pb[i].max_ts,
                           .max_timestamp_offset = base + pb[i].max_ts_delta, .leader_epoch = leader_epoch,
                           .producer_id = pb[i].producer_id, .transactional = pb[i].transactional,
                           .data = copies[i], .len = pb[i].len};
        l->n++;
        l->bytes += (int64_t)pb[i].len;
        l->log_end = base + pb[i].count;
        if (pb[i].producer_id >= 0)
            remember(find_producer(l, pb[i].producer_id), &pb[i], base);
    }
    apply_retention(l);
    return (kmock_append_result){.base_offset = first};
}

void kmock_log_max_timestamp(const kmock_log *l, int64_t *offset, int64_t *timestamp)
{
    *offset = *timestamp = -1;
    for (size_t i = 0; i < l->n; i++) {
        const kmock_batch *b = kmock_log_batch(l, i);
        if (!b->control && b->max_timestamp > *timestamp) {
            *timestamp = b->max_timestamp;
            *offset = b->max_timestamp_offset;
        }
    }
}

void kmock_log_offset_for_time(const kmock_log *l, int64_t ts, int64_t *offset, int64_t *timestamp)
{
    *offset = *timestamp = -1;
    for (size_t i = 0; i < l->n; i++) {
        const kmock_batch *b = kmock_log_batch(l, i);
        kafka_records_iter it;
        kafka_record rec;
        const kafka_record_batch *rb;

        if (b->control || b->max_timestamp < ts)
            continue;
        kafka_records_iter_init(&it, b->data, b->len, &(kafka_records_iter_config){.skip_crc_check = true});
        if (kafka_records_iter_next_batch(&it, &rb) == 1) {
            while (kafka_records_iter_next_record(&it, &rec) == 1) {
                if (rec.timestamp >= ts) {
                    *offset = rec.offset;
                    *timestamp = rec.timestamp;
                    break;
                }
            }
        }
        kafka_records_iter_free(&it);
        if (*offset >= 0)
            return;
    }
}

int16_t kmock_log_append_marker(kmock_log *l, int64_t producer_id, int16_t epoch, bool commit, int32_t leader_epoch,
                                int64_t timestamp_ms)
{
    kmock_producer *p = find_producer(l, producer_id);
    int64_t offset = l->log_end;
    kafka_wbuf w;

    if (!reserve_batches(l, 1) ||
        (!commit && p && p->txn_first_offset >= 0 &&
         !kafka_array_reserve((void **)&l->aborted, &l->aborted_cap, l->naborted + 1, sizeof(*l->aborted), 4)))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    kafka_wbuf_init(&w);
    if (kafka_control_batch_encode(&w, offset, producer_id, epoch, commit ? KAFKA_CONTROL_COMMIT : KAFKA_CONTROL_ABORT,
                                   0, timestamp_ms) != 0 ||
        kafka_record_batch_set_base(w.data, w.len, offset, leader_epoch) != 0) {
        kafka_wbuf_free(&w);
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
    l->batches[(l->head + l->n) % l->cap] =
        (kmock_batch){.base_offset = offset, .last_offset = offset, .max_timestamp = timestamp_ms,
                      .max_timestamp_offset = offset, .leader_epoch = leader_epoch, .producer_id = producer_id,
                      .transactional = true, .control = true, .data = w.data, .len = w.len};
    l->n++;
    l->bytes += (int64_t)w.len;
    l->log_end = offset + 1;
    if (p && epoch > p->epoch) {
        /* a bumped epoch (InitProducerId aborting an open transaction):
         * the producer's next batch starts a new sequence at 0 */
        p->epoch = epoch;
        p->n = 0;
    }
    if (p && p->txn_first_offset >= 0) {
        if (!commit)
            l->aborted[l->naborted++] =
                (kmock_aborted){.producer_id = producer_id, .first_offset = p->txn_first_offset, .marker_offset = offset};
        p->txn_first_offset = -1;
    }
    apply_retention(l);
    return 0;
}

void kmock_log_aborted_in(const kmock_log *l, int64_t from, int64_t to,
                          void (*fn)(void *arg, const kmock_aborted *a), void *arg)
{
    for (size_t i = 0; i < l->naborted; i++)
        if (l->aborted[i].marker_offset >= from && l->aborted[i].first_offset < to)
            fn(arg, &l->aborted[i]);
}

void kmock_log_delete_before(kmock_log *l, int64_t offset)
{
    if (offset <= l->log_start || offset > l->log_end)
        return;
    while (l->n > 0 && kmock_log_batch(l, 0)->last_offset < offset) {
        kmock_batch *b = &l->batches[l->head];
        l->bytes -= (int64_t)b->len;
        kafka_free(b->data);
        l->head = (l->head + 1) % l->cap;
        l->n--;
    }
    l->log_start = offset;
}
