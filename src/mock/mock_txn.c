/* The mock's transaction coordinator (InitProducerId with a transactional
 * id, AddPartitionsToTxn, EndTxn writing commit/abort markers, fencing by
 * epoch, transaction timeouts, AddOffsetsToTxn; the group module keeps the
 * TxnOffsetCommit offsets until the transaction ends): see mock_cluster.h. */
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_cluster.h"
#include "mock/mock_groups_dispatch.h"
#include "protocol/gen/all.h"

static kmock_txn *txn_find(const kmock_cluster *c, kafka_str id)
{
    size_t len = id.len > 0 ? (size_t)id.len : 0;

    for (size_t i = 0; i < c->ntxns; i++)
        if (strlen(c->txns[i]->id) == len && memcmp(c->txns[i]->id, id.ptr, len) == 0)
            return c->txns[i];
    return NULL;
}

static void txn_clear(kmock_txn *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        kafka_free(t->parts[i].topic);
    for (size_t i = 0; i < t->ngroups; i++)
        kafka_free(t->groups[i]);
    t->nparts = t->ngroups = 0;
    t->ongoing = false;
}

void kmock_txn_free_all(kmock_cluster *c)
{
    for (size_t i = 0; i < c->ntxns; i++) {
        txn_clear(c->txns[i]);
        kafka_free(c->txns[i]->parts);
        kafka_free(c->txns[i]->groups);
        kafka_free(c->txns[i]->id);
        kafka_free(c->txns[i]);
    }
    kafka_free(c->txns);
    c->txns = NULL;
    c->ntxns = c->txns_cap = 0;
}

int16_t kmock_txn_end(kmock_cluster *c, kmock_txn *t, bool commit, int64_t now_ms)
{
    int16_t err = 0;

    (void)now_ms;
    for (size_t i = 0; i < t->nparts; i++) {
        kmock_partition *p = t->parts[i].p;
        if (!p)
            continue;
        int16_t e = kmock_log_append_marker(&p->log, t->producer_id, t->epoch, commit, p->leader_epoch, kmock_wall_ms());
        if (e)
            err = e;
    }
    c->appends++; /* the last stable offsets moved: waiting fetches look again */
    if (t->ngroups)
        kmock_groups_txn_ended(c, t->producer_id, commit);
    txn_clear(t);
    t->ended = commit ? KMOCK_TXN_COMMITTED : KMOCK_TXN_ABORTED;
    return err;
}

int16_t kmock_txn_init(kmock_cluster *c, kafka_str id, int32_t timeout_ms, int64_t now_ms, int64_t *producer_id,
                       int16_t *epoch)
{
    kmock_txn *t = txn_find(c, id);

    if (id.len <= 0)
        return KAFKA_ERR_INVALID_REQUEST;
    if (timeout_ms <= 0 || timeout_ms > 900000) /* Kafka's transaction.max.timeout.ms default */
        return KAFKA_ERR_INVALID_TRANSACTION_TIMEOUT;
    if (!t) {
        if (!kafka_array_reserve((void **)&c->txns, &c->txns_cap, c->ntxns + 1, sizeof(*c->txns), 4) ||
            !(t = kafka_calloc(1, sizeof(*t))))
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        if (!(t->id = kafka_strndup(id.ptr, (size_t)id.len))) {
            kafka_free(t);
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        }
        t->producer_id = c->next_producer_id++;
        t->epoch = 0;
        c->txns[c->ntxns++] = t;
    } else {
        /* fence the previous incarnation: bump the epoch, abort what it
         * left open (its markers carry the new epoch, as Kafka's do) */
        if (t->epoch >= INT16_MAX - 1) {
            t->producer_id = c->next_producer_id++;
            t->epoch = 0;
        } else {
            t->epoch++;
        }
        if (t->ongoing)
            (void)kmock_txn_end(c, t, false, now_ms);
    }
    t->timeout_ms = timeout_ms;
    *producer_id = t->producer_id;
    *epoch = t->epoch;
    return 0;
}

kmock_txn *kmock_txn_check(kmock_cluster *c, kafka_str id, int64_t producer_id, int16_t epoch, int16_t *err)
{
    kmock_txn *t = txn_find(c, id);

    *err = 0;
    if (!t || t->producer_id != producer_id)
        *err = KAFKA_ERR_INVALID_PRODUCER_ID_MAPPING;
    else if (epoch != t->epoch)
        *err = KAFKA_ERR_PRODUCER_FENCED;
    return *err ? NULL : t;
}

int16_t kmock_txn_add_partition(kmock_cluster *c, kmock_txn *t, kafka_str topic, int32_t partition)
{
    kmock_partition *p = kmock_partition_get(c, topic, partition);

    if (!p)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!t->ongoing)
        t->started_ms = c->now_ms;
    t->ongoing = true;
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].p == p)
            return 0;
    if (!kafka_array_reserve((void **)&t->parts, &t->parts_cap, t->nparts + 1, sizeof(*t->parts), 4))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    char *name = kafka_strndup(topic.ptr, (size_t)topic.len);
    if (!name)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    t->parts[t->nparts++] = (kmock_txn_partition){.p = p, .topic = name, .partition = partition};
    return 0;
}

void kmock_txn_forget_topic(kmock_cluster *c, const kmock_topic *topic)
{
    for (size_t i = 0; i < c->ntxns; i++)
        for (size_t k = 0; k < c->txns[i]->nparts; k++)
            if (strcmp(c->txns[i]->parts[k].topic, topic->name) == 0)
                c->txns[i]->parts[k].p = NULL;
}

kmock_outcome kmock_add_partitions_to_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                          kafka_wbuf *out, int64_t *wake_at)
{
    kafka_add_partitions_to_txn_request *req = kmock_decode(rq, a);
    kafka_add_partitions_to_txn_response resp;
    int16_t err;

    (void)wake_at;
    if (!req || req->v3_and_below_topics_count < 0)
        return KMOCK_CLOSE;
    kmock_txn *t = kmock_txn_check(c, req->v3_and_below_transactional_id, req->v3_and_below_producer_id,
                                   req->v3_and_below_producer_epoch, &err);
    kafka_add_partitions_to_txn_response_init(&resp);
    int32_t nt = req->v3_and_below_topics_count;
    if (!KMOCK_ARRAY(a, resp.results_by_topic_v3_and_below, nt))
        return KMOCK_CLOSE;
    /* all or nothing: any unknown partition fails the request, and the
     * others are OPERATION_NOT_ATTEMPTED, as Kafka answers */
    bool any_unknown = false;
    for (int32_t i = 0; i < nt && !err; i++)
        for (int32_t k = 0; k < req->v3_and_below_topics[i].partitions_count; k++)
            any_unknown |= !kmock_partition_get(c, req->v3_and_below_topics[i].name,
                                                req->v3_and_below_topics[i].partitions[k]);
    for (int32_t i = 0; i < nt; i++) {
        const kafka_add_partitions_to_txn_request_add_partitions_to_txn_topic *qt = &req->v3_and_below_topics[i];
        kafka_add_partitions_to_txn_response_add_partitions_to_txn_topic_result *rt =
            &resp.results_by_topic_v3_and_below[i];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;
        kafka_add_partitions_to_txn_response_add_partitions_to_txn_topic_result_init(rt);
        rt->name = qt->name;
        if (!KMOCK_ARRAY(a, rt->results_by_partition, np))
            return KMOCK_CLOSE;
        for (int32_t k = 0; k < np; k++) {
            int16_t e = rq->injected ? rq->injected : err;
            if (!e && any_unknown)
                e = kmock_partition_get(c, qt->name, qt->partitions[k]) ? KAFKA_ERR_OPERATION_NOT_ATTEMPTED
                                                                       : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!e)
                e = kmock_txn_add_partition(c, t, qt->name, qt->partitions[k]);
            rt->results_by_partition[k] =
                (kafka_add_partitions_to_txn_response_add_partitions_to_txn_partition_result){qt->partitions[k], e};
        }
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_end_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                            int64_t *wake_at)
{
    kafka_end_txn_request *req = kmock_decode(rq, a);
    kafka_end_txn_response resp;
    int16_t err;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_end_txn_response_init(&resp);
    kmock_txn *t = kmock_txn_check(c, req->transactional_id, req->producer_id, req->producer_epoch, &err);
    if (t && !t->ongoing)
        err = KAFKA_ERR_INVALID_TXN_STATE;
    if (!err)
        err = kmock_txn_end(c, t, req->committed, rq->now_ms);
    resp.error_code = err;
    return kmock_encode(rq, &resp, out);
}

int64_t kmock_txn_tick(kmock_cluster *c, int64_t now_ms)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < c->ntxns; i++) {
        kmock_txn *t = c->txns[i];
        if (!t->ongoing)
            continue;
        int64_t deadline = t->started_ms + t->timeout_ms;
        if (now_ms >= deadline) {
            /* Kafka's coordinator bumps the epoch and aborts: the producer
             * learns it is fenced at its next request */
            if (t->epoch < INT16_MAX - 1)
                t->epoch++;
            (void)kmock_txn_end(c, t, false, now_ms);
        } else if (deadline < next) {
            next = deadline;
        }
    }
    return next;
}

int kmock_txn_check_group(void *cluster, const char *transactional_id, int64_t producer_id, int16_t epoch,
                          const char *group_id)
{
    int16_t err;
    kmock_txn *t = kmock_txn_check(cluster, kafka_str_c(transactional_id), producer_id, epoch, &err);

    if (!t)
        return err;
    for (size_t i = 0; i < t->ngroups; i++)
        if (strcmp(t->groups[i], group_id) == 0)
            return 0;
    return KAFKA_ERR_INVALID_TXN_STATE;
}

kmock_outcome kmock_add_offsets_to_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                       int64_t *wake_at)
{
    kafka_add_offsets_to_txn_request *req = kmock_decode(rq, a);
    kafka_add_offsets_to_txn_response resp;
    int16_t err;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_add_offsets_to_txn_response_init(&resp);
    kmock_txn *t = kmock_txn_check(c, req->transactional_id, req->producer_id, req->producer_epoch, &err);
    if (t && req->group_id.len <= 0)
        err = KAFKA_ERR_INVALID_REQUEST;
    if (!err) {
        bool known = false;
        for (size_t i = 0; i < t->ngroups && !known; i++)
            known = kafka_str_eq_c(req->group_id, t->groups[i]);
        char *g = known ? NULL : kafka_strndup(req->group_id.ptr, (size_t)req->group_id.len);
        if (!known && (!g || !kafka_array_reserve((void **)&t->groups, &t->groups_cap, t->ngroups + 1,
                                                  sizeof(*t->groups), 2))) {
            kafka_free(g);
            err = KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            if (g)
                t->groups[t->ngroups++] = g;
            if (!t->ongoing)
                t->started_ms = c->now_ms;
            t->ongoing = true;
        }
    }
    resp.error_code = err;
    return kmock_encode(rq, &resp, out);
}
