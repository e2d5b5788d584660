/* ListTransactions and DescribeTransactions (KIP-664) in the mock: each
 * broker answers for the transactional ids it coordinates (FindCoordinator
 * with key type 1), from the coordinator state of mock_txn.c, with Kafka's
 * state names. */
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

#define KEY_TYPE_TXN 1

/* Kafka's TransactionState names; the mock's coordinator goes through
 * Empty, Ongoing, and Complete* (its markers are written at once, so the
 * Prepare* states are never seen). */
static const char *const known_states[] = {"Empty",        "Ongoing",        "PrepareCommit", "PrepareAbort",
                                           "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

static const char *state_name(const kmock_txn *t)
{
    if (t->ongoing)
        return "Ongoing";
    if (t->ended == KMOCK_TXN_COMMITTED)
        return "CompleteCommit";
    if (t->ended == KMOCK_TXN_ABORTED)
        return "CompleteAbort";
    return "Empty";
}

static bool is_known_state(kafka_str s)
{
    for (size_t i = 0; i < sizeof known_states / sizeof known_states[0]; i++)
        if (kafka_str_eq_c(s, known_states[i]))
            return true;
    return false;
}

static bool coordinated_here(const kmock_cluster *c, const kmock_request *rq, const kmock_txn *t)
{
    return kmock_coordinator_for(c, KEY_TYPE_TXN, kafka_str_c(t->id)) == rq->broker_id;
}

/* The request's filters: every one given must match (an empty list
 * matches everything; the duration counts from the open transaction's
 * start, so only ongoing ones run "longer than" it). */
static bool listed(const kafka_list_transactions_request *req, const kmock_txn *t, int64_t now_ms)
{
    bool ok = req->state_filters_count <= 0;
    for (int32_t i = 0; !ok && i < req->state_filters_count; i++)
        ok = kafka_str_eq_c(req->state_filters[i], state_name(t));
    if (!ok)
        return false;
    ok = req->producer_id_filters_count <= 0;
    for (int32_t i = 0; !ok && i < req->producer_id_filters_count; i++)
        ok = req->producer_id_filters[i] == t->producer_id;
    if (!ok)
        return false;
    return req->duration_filter < 0 || (t->ongoing && now_ms - t->started_ms > req->duration_filter);
}

kmock_outcome kmock_list_transactions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at)
{
    kafka_list_transactions_request *req = kmock_decode(rq, a);
    kafka_list_transactions_response resp;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_list_transactions_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.unknown_state_filters, req->state_filters_count > 0 ? req->state_filters_count : 0) ||
        !KMOCK_ARRAY(a, resp.transaction_states, c->ntxns))
        return KMOCK_CLOSE;
    resp.unknown_state_filters_count = 0;
    for (int32_t i = 0; i < req->state_filters_count; i++)
        if (!is_known_state(req->state_filters[i]))
            resp.unknown_state_filters[resp.unknown_state_filters_count++] = req->state_filters[i];
    resp.transaction_states_count = 0;
    for (size_t i = 0; i < c->ntxns; i++) {
        const kmock_txn *t = c->txns[i];
        if (!coordinated_here(c, rq, t) || !listed(req, t, c->now_ms))
            continue;
        kafka_list_transactions_response_transaction_state *s =
            &resp.transaction_states[resp.transaction_states_count++];
        kafka_list_transactions_response_transaction_state_init(s);
        s->transactional_id = kafka_str_c(t->id);
        s->producer_id = t->producer_id;
        s->transaction_state = kafka_str_c(state_name(t));
    }
    return kmock_encode(rq, &resp, out);
}

static const kmock_txn *txn_named(const kmock_cluster *c, kafka_str id)
{
    for (size_t i = 0; i < c->ntxns; i++)
        if (kafka_str_eq_c(id, c->txns[i]->id))
            return c->txns[i];
    return NULL;
}

/* The open transaction's partitions, grouped by topic. */
static bool fill_topics(const kmock_txn *t, kafka_arena *a, kafka_describe_transactions_response_transaction_state *s)
{
    if (!KMOCK_ARRAY(a, s->topics, t->nparts))
        return false;
    s->topics_count = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        kafka_describe_transactions_response_topic_data *td = NULL;
        for (int32_t k = 0; k < s->topics_count && !td; k++)
            if (kafka_str_eq_c(s->topics[k].topic, t->parts[i].topic))
                td = &s->topics[k];
        if (!td) {
            td = &s->topics[s->topics_count++];
            kafka_describe_transactions_response_topic_data_init(td);
            td->topic = kafka_str_c(t->parts[i].topic);
            if (!KMOCK_ARRAY(a, td->partitions, t->nparts))
                return false;
            td->partitions_count = 0;
        }
        td->partitions[td->partitions_count++] = t->parts[i].partition;
    }
    return true;
}

kmock_outcome kmock_describe_transactions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                          kafka_wbuf *out, int64_t *wake_at)
{
    kafka_describe_transactions_request *req = kmock_decode(rq, a);
    kafka_describe_transactions_response resp;

    (void)wake_at;
    if (!req || req->transactional_ids_count < 0)
        return KMOCK_CLOSE;
    kafka_describe_transactions_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.transaction_states, req->transactional_ids_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->transactional_ids_count; i++) {
        kafka_str id = req->transactional_ids[i];
        kafka_describe_transactions_response_transaction_state *s = &resp.transaction_states[i];
        const kmock_txn *t = txn_named(c, id);
        kafka_describe_transactions_response_transaction_state_init(s);
        s->transactional_id = id;
        s->topics_count = 0;
        if (kmock_coordinator_for(c, KEY_TYPE_TXN, id) != rq->broker_id)
            s->error_code = KAFKA_ERR_NOT_COORDINATOR;
        else if (!t)
            s->error_code = KAFKA_ERR_TRANSACTIONAL_ID_NOT_FOUND;
        if (s->error_code)
            continue;
        s->transaction_state = kafka_str_c(state_name(t));
        s->transaction_timeout_ms = t->timeout_ms;
        /* Kafka keeps the last transaction's start once it completes; -1
         * before the first. started_ms is on the mock's monotonic clock:
         * reported as wall-clock time, as Kafka's is. */
        s->transaction_start_time_ms =
            t->ongoing || t->ended != KMOCK_TXN_NONE ? kmock_wall_ms() - (c->now_ms - t->started_ms) : -1;
        s->producer_id = t->producer_id;
        s->producer_epoch = t->epoch;
        if (!fill_topics(t, a, s))
            return KMOCK_CLOSE;
    }
    return kmock_encode(rq, &resp, out);
}
