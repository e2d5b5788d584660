/* AlterPartitionReassignments and ListPartitionReassignments (KIP-455) in
 * the mock, served by the controller (broker 1, as Metadata says).
 *
 * Kafka finishes a reassignment once every target replica is in sync. The
 * mock keeps one log per partition and copies nothing, so: a target that
 * only drops or reorders current replicas (all in sync) completes at once,
 * as in Kafka; one that adds replicas stays in progress (listed with its
 * adding/removing replicas) until it is cancelled (null replicas) or
 * replaced. */
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

#define CONTROLLER_ID 1

static bool has(const int32_t *set, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (set[i] == id)
            return true;
    return false;
}

static void set_target(kmock_partition *p, int32_t *target, int32_t n)
{
    kafka_free(p->target);
    p->target = target;
    p->ntarget = n;
}

/* Validates and applies one partition's target (Kafka's checks: a
 * non-empty list of distinct, known brokers). */
static int16_t reassign(kmock_cluster *c, kmock_partition *p, const int32_t *replicas, int32_t n)
{
    bool subset = true;

    if (n < 0) {
        if (!p->target)
            return KAFKA_ERR_NO_REASSIGNMENT_IN_PROGRESS;
        set_target(p, NULL, 0); /* the original replicas never changed */
        return 0;
    }
    if (n == 0)
        return KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT;
    for (int32_t i = 0; i < n; i++) {
        if (!kmock_broker(c, replicas[i]) || has(replicas, i, replicas[i]))
            return KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT;
        subset &= has(p->replicas, p->nreplicas, replicas[i]);
    }
    int32_t *copy = kafka_calloc((size_t)n, sizeof(int32_t));
    if (!copy)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    memcpy(copy, replicas, (size_t)n * sizeof(int32_t));
    if (!subset) {
        set_target(p, copy, n);
        return 0;
    }
    /* every target replica is in sync already: done */
    set_target(p, NULL, 0);
    kafka_free(p->replicas);
    p->replicas = copy;
    p->nreplicas = n;
    if (!has(copy, n, p->leader)) {
        p->leader = copy[0];
        p->leader_epoch++;
    }
    return 0;
}

kmock_outcome kmock_alter_partition_reassignments(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                  kafka_wbuf *out, int64_t *wake_at)
{
    kafka_alter_partition_reassignments_request *req = kmock_decode(rq, a);
    kafka_alter_partition_reassignments_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_alter_partition_reassignments_response_init(&resp);
    resp.responses_count = 0;
    if (rq->broker_id != CONTROLLER_ID) {
        resp.error_code = KAFKA_ERR_NOT_CONTROLLER;
        return kmock_encode(rq, &resp, out);
    }
    if (!KMOCK_ARRAY(a, resp.responses, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->topics_count; i++) {
        const kafka_alter_partition_reassignments_request_reassignable_topic *qt = &req->topics[i];
        kafka_alter_partition_reassignments_response_reassignable_topic_response *tr = &resp.responses[i];
        kafka_alter_partition_reassignments_response_reassignable_topic_response_init(tr);
        tr->name = qt->name;
        if (!KMOCK_ARRAY(a, tr->partitions, qt->partitions_count > 0 ? qt->partitions_count : 0))
            return KMOCK_CLOSE;
        for (int32_t k = 0; k < tr->partitions_count; k++) {
            const kafka_alter_partition_reassignments_request_reassignable_partition *qp = &qt->partitions[k];
            kafka_alter_partition_reassignments_response_reassignable_partition_response *rp = &tr->partitions[k];
            kmock_partition *p = kmock_partition_get(c, qt->name, qp->partition_index);
            int16_t err = p ? reassign(c, p, qp->replicas, qp->replicas_count) : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            kafka_alter_partition_reassignments_response_reassignable_partition_response_init(rp);
            rp->partition_index = qp->partition_index;
            rp->error_code = err;
            if (err)
                rp->error_message = kafka_str_c(kafka_err_str(err));
        }
    }
    return kmock_encode(rq, &resp, out);
}

/* The elements of a not in b, into out (room for na). */
static int32_t minus(const int32_t *a, int32_t na, const int32_t *b, int32_t nb, int32_t *out)
{
    int32_t n = 0;
    for (int32_t i = 0; i < na; i++)
        if (!has(b, nb, a[i]))
            out[n++] = a[i];
    return n;
}

/* One ongoing reassignment as Kafka lists it: replicas = target then the
 * replicas being removed; adding = target - original; removing =
 * original - target. */
static bool describe(const kmock_partition *p, int32_t index, kafka_arena *a,
                     kafka_list_partition_reassignments_response_ongoing_partition_reassignment *r)
{
    kafka_list_partition_reassignments_response_ongoing_partition_reassignment_init(r);
    r->partition_index = index;
    if (!KMOCK_ARRAY(a, r->replicas, p->ntarget + p->nreplicas) || !KMOCK_ARRAY(a, r->adding_replicas, p->ntarget) ||
        !KMOCK_ARRAY(a, r->removing_replicas, p->nreplicas))
        return false;
    memcpy(r->replicas, p->target, (size_t)p->ntarget * sizeof(int32_t));
    r->removing_replicas_count = minus(p->replicas, p->nreplicas, p->target, p->ntarget, r->removing_replicas);
    memcpy(r->replicas + p->ntarget, r->removing_replicas, (size_t)r->removing_replicas_count * sizeof(int32_t));
    r->replicas_count = p->ntarget + r->removing_replicas_count;
    r->adding_replicas_count = minus(p->target, p->ntarget, p->replicas, p->nreplicas, r->adding_replicas);
    return true;
}

static bool partition_asked(const kafka_list_partition_reassignments_request *req, const kmock_topic *t, int32_t k)
{
    if (req->topics_count < 0)
        return true;
    for (int32_t i = 0; i < req->topics_count; i++)
        if (kafka_str_eq_c(req->topics[i].name, t->name) &&
            has(req->topics[i].partition_indexes,
                req->topics[i].partition_indexes_count > 0 ? req->topics[i].partition_indexes_count : 0, k))
            return true;
    return false;
}

kmock_outcome kmock_list_partition_reassignments(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                 kafka_wbuf *out, int64_t *wake_at)
{
    kafka_list_partition_reassignments_request *req = kmock_decode(rq, a);
    kafka_list_partition_reassignments_response resp;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_list_partition_reassignments_response_init(&resp);
    resp.topics_count = 0;
    if (rq->broker_id != CONTROLLER_ID) {
        resp.error_code = KAFKA_ERR_NOT_CONTROLLER;
        return kmock_encode(rq, &resp, out);
    }
    if (!KMOCK_ARRAY(a, resp.topics, c->ntopics))
        return KMOCK_CLOSE;
    resp.topics_count = 0;
    for (size_t i = 0; i < c->ntopics; i++) {
        const kmock_topic *t = c->topics[i];
        kafka_list_partition_reassignments_response_ongoing_topic_reassignment *tr = &resp.topics[resp.topics_count];
        kafka_list_partition_reassignments_response_ongoing_topic_reassignment_init(tr);
        tr->name = kafka_str_c(t->name);
        if (!KMOCK_ARRAY(a, tr->partitions, t->npartitions))
            return KMOCK_CLOSE;
        tr->partitions_count = 0;
        for (int32_t k = 0; k < t->npartitions; k++)
            if (t->partitions[k].target && partition_asked(req, t, k) &&
                !describe(&t->partitions[k], k, a, &tr->partitions[tr->partitions_count++]))
                return KMOCK_CLOSE;
        if (tr->partitions_count > 0)
            resp.topics_count++;
    }
    return kmock_encode(rq, &resp, out);
}
