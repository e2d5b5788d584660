/* Metadata, DescribeCluster and FindCoordinator in the mock. */
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

static kafka_str rack_of(const kmock_broker_info *b)
{
    return b->rack[0] ? kafka_str_c(b->rack) : KAFKA_STR_NULL;
}

static bool fill_topic(const kmock_cluster *c, kafka_arena *a, const kmock_topic *t,
                       kafka_metadata_response_metadata_response_topic *rt)
{
    rt->name = kafka_str_c(t->name);
    rt->topic_id = t->id;
    rt->partitions = kafka_arena_calloc(a, (size_t)t->npartitions, sizeof(*rt->partitions));
    if (!rt->partitions)
        return false;
    rt->partitions_count = t->npartitions;
    for (int32_t i = 0; i < t->npartitions; i++) {
        const kmock_partition *p = &t->partitions[i];
        kafka_metadata_response_metadata_response_partition *rp = &rt->partitions[i];
        kafka_metadata_response_metadata_response_partition_init(rp);
        rp->error_code = p->leader < 0 ? KAFKA_ERR_LEADER_NOT_AVAILABLE : 0;
        rp->partition_index = i;
        rp->leader_id = p->leader;
        rp->leader_epoch = p->leader_epoch;
        rp->replica_nodes = p->replicas;
        rp->replica_nodes_count = p->nreplicas;
        rp->isr_nodes = p->replicas;
        rp->isr_nodes_count = p->nreplicas;
        rp->offline_replicas_count = 0;
    }
    (void)c;
    return true;
}

kmock_outcome kmock_metadata(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                             int64_t *wake_at)
{
    kafka_metadata_request *req = kmock_decode(rq, a);
    kafka_metadata_response resp;
    bool all;
    size_t n;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_metadata_response_init(&resp);
    resp.brokers = kafka_arena_calloc(a, (size_t)c->nbrokers, sizeof(*resp.brokers));
    if (!resp.brokers)
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < c->nbrokers; i++)
        resp.brokers[i] = (kafka_metadata_response_metadata_response_broker){
            c->brokers[i].id, kafka_str_c(c->brokers[i].host), c->brokers[i].port, rack_of(&c->brokers[i])};
    resp.brokers_count = c->nbrokers;
    resp.cluster_id = kafka_str_c(c->cluster_id);
    resp.controller_id = 1;
    /* v0: an empty list means every topic; v1+: null does. */
    all = req->topics_count < 0 || (rq->api_version == 0 && req->topics_count == 0);
    n = all ? c->ntopics : (size_t)req->topics_count;
    resp.topics = kafka_arena_calloc(a, n ? n : 1, sizeof(*resp.topics));
    if (!resp.topics)
        return KMOCK_CLOSE;
    resp.topics_count = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        kafka_metadata_response_metadata_response_topic *rt = &resp.topics[i];
        kmock_topic *t = NULL;
        kafka_metadata_response_metadata_response_topic_init(rt);
        if (all) {
            t = c->topics[i];
        } else {
            const kafka_metadata_request_metadata_request_topic *q = &req->topics[i];
            rt->name = q->name;
            rt->topic_id = q->topic_id;
            if (q->name.len >= 0 && (rt->error_code = kmock_topic_error_for(c, q->name)) != 0)
                continue;
            if (q->name.len >= 0) {
                t = kmock_topic_find(c, q->name.ptr, (size_t)q->name.len);
                bool may_create = (rq->api_version < 4 || req->allow_auto_topic_creation) &&
                                  !kmock_topic_denied(c, rq, KMOCK_OP_CREATE, q->name);
                if (!t && c->auto_create && may_create && !rq->injected) {
                    int16_t e = kmock_topic_create(c, q->name.ptr, (size_t)q->name.len, -1, -1, &t);
                    if (e) {
                        rt->error_code = e;
                        continue;
                    }
                }
            } else {
                t = kmock_topic_find_id(c, &q->topic_id);
            }
            if (!t) {
                rt->error_code = q->name.len >= 0 ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION : KAFKA_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        }
        if (kmock_topic_denied(c, rq, KMOCK_OP_DESCRIBE, kafka_str_c(t->name))) {
            /* Kafka names the topic but tells nothing about it */
            rt->name = kafka_str_c(t->name);
            rt->error_code = KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED;
            rt->partitions_count = 0;
            continue;
        }
        if (!fill_topic(c, a, t, rt))
            return KMOCK_CLOSE;
        if (rq->injected)
            rt->error_code = rq->injected;
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_describe_cluster(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at)
{
    kafka_describe_cluster_request *req = kmock_decode(rq, a);
    kafka_describe_cluster_response resp;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_describe_cluster_response_init(&resp);
    resp.cluster_id = kafka_str_c(c->cluster_id);
    resp.controller_id = 1;
    resp.endpoint_type = req->endpoint_type;
    if (req->endpoint_type != 1) {
        /* only the brokers' endpoints (1) exist here */
        resp.error_code = KAFKA_ERR_UNSUPPORTED_ENDPOINT_TYPE;
        return kmock_encode(rq, &resp, out);
    }
    resp.brokers = kafka_arena_calloc(a, (size_t)c->nbrokers, sizeof(*resp.brokers));
    if (!resp.brokers)
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < c->nbrokers; i++)
        resp.brokers[i] = (kafka_describe_cluster_response_describe_cluster_broker){
            c->brokers[i].id, kafka_str_c(c->brokers[i].host), c->brokers[i].port, rack_of(&c->brokers[i])};
    resp.brokers_count = c->nbrokers;
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_find_coordinator(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at)
{
    kafka_find_coordinator_request *req = kmock_decode(rq, a);
    kafka_find_coordinator_response resp;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_find_coordinator_response_init(&resp);
    if (rq->api_version < 4) {
        const kmock_broker_info *b = kmock_broker(c, kmock_coordinator_for(c, req->key_type, req->key));
        if (req->key_type != 0 && req->key_type != 1) {
            resp.error_code = KAFKA_ERR_INVALID_REQUEST;
            resp.node_id = -1;
            resp.host = kafka_str_c("");
            resp.port = -1;
        } else {
            resp.node_id = b->id;
            resp.host = kafka_str_c(b->host);
            resp.port = b->port;
        }
        return kmock_encode(rq, &resp, out);
    }
    resp.coordinators = kafka_arena_calloc(a, (size_t)(req->coordinator_keys_count > 0 ? req->coordinator_keys_count : 1),
                                           sizeof(*resp.coordinators));
    if (!resp.coordinators)
        return KMOCK_CLOSE;
    resp.coordinators_count = req->coordinator_keys_count > 0 ? req->coordinator_keys_count : 0;
    for (int32_t i = 0; i < resp.coordinators_count; i++) {
        kafka_find_coordinator_response_coordinator *rc = &resp.coordinators[i];
        kafka_find_coordinator_response_coordinator_init(rc);
        rc->key = req->coordinator_keys[i];
        if (req->key_type != 0 && req->key_type != 1) {
            rc->error_code = KAFKA_ERR_INVALID_REQUEST;
            rc->node_id = -1;
            rc->host = kafka_str_c("");
            rc->port = -1;
            continue;
        }
        const kmock_broker_info *b = kmock_broker(c, kmock_coordinator_for(c, req->key_type, rc->key));
        rc->node_id = b->id;
        rc->host = kafka_str_c(b->host);
        rc->port = b->port;
    }
    return kmock_encode(rq, &resp, out);
}
