/* CreateTopics, DeleteTopics and CreatePartitions in the mock. Topic
 * configs are accepted and ignored (DescribeConfigs is not served yet). */
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

kmock_outcome kmock_create_topics(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at)
{
    kafka_create_topics_request *req = kmock_decode(rq, a);
    kafka_create_topics_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_create_topics_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.topics, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->topics_count; i++) {
        const kafka_create_topics_request_creatable_topic *qt = &req->topics[i];
        kafka_create_topics_response_creatable_topic_result *rt = &resp.topics[i];
        size_t len = qt->name.len > 0 ? (size_t)qt->name.len : 0;
        kmock_topic *t = NULL;
        int32_t partitions = qt->num_partitions, replicas = qt->replication_factor;
        int16_t err = rq->injected ? rq->injected : kmock_topic_denied(c, rq, KMOCK_OP_CREATE, qt->name);

        kafka_create_topics_response_creatable_topic_result_init(rt);
        rt->name = qt->name;
        if (!err && qt->assignments_count > 0) {
            /* manual assignment: partitions and replicas from it */
            partitions = qt->assignments_count;
            replicas = qt->assignments[0].broker_ids_count;
            if (qt->num_partitions != -1 || qt->replication_factor != -1)
                err = KAFKA_ERR_INVALID_REQUEST;
        }
        for (int32_t k = 0; !err && k < qt->configs_count; k++) {
            const kmock_config_key *key = kmock_config_key_find(qt->configs[k].name);
            if (!key || !kmock_config_valid(key, qt->configs[k].value))
                err = KAFKA_ERR_INVALID_CONFIG;
        }
        if (!err && req->validate_only) {
            err = kmock_topic_find(c, qt->name.ptr ? qt->name.ptr : "", len) ? KAFKA_ERR_TOPIC_ALREADY_EXISTS : 0;
        } else if (!err) {
            err = kmock_topic_create(c, qt->name.ptr ? qt->name.ptr : "", len, partitions, replicas, &t);
            for (int32_t k = 0; !err && k < qt->configs_count; k++)
                err = kmock_topic_config_set(c, t, qt->configs[k].name, qt->configs[k].value);
            if (err && t) {
                (void)kmock_topic_delete(c, t);
                t = NULL;
            }
            if (!err && qt->assignments_count > 0) {
                for (int32_t p = 0; p < t->npartitions && p < qt->assignments_count; p++) {
                    const kafka_create_topics_request_creatable_replica_assignment *as = &qt->assignments[p];
                    for (int32_t r = 0; r < t->partitions[p].nreplicas && r < as->broker_ids_count; r++)
                        t->partitions[p].replicas[r] = kmock_broker(c, as->broker_ids[r]) ? as->broker_ids[r]
                                                                                          : t->partitions[p].replicas[r];
                    t->partitions[p].leader = t->partitions[p].replicas[0];
                }
            }
        }
        rt->error_code = err;
        if (err) {
            rt->error_message = kafka_str_c(kafka_err_str(err));
            rt->num_partitions = -1;
            rt->replication_factor = -1;
        } else if (t) {
            rt->topic_id = t->id;
            rt->num_partitions = t->npartitions;
            rt->replication_factor = (int16_t)t->partitions[0].nreplicas;
        } else {
            rt->num_partitions = partitions == -1 ? c->default_partitions : partitions;
            rt->replication_factor = (int16_t)(replicas == -1 ? c->default_replicas : replicas);
        }
        rt->configs_count = 0;
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_delete_topics(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at)
{
    kafka_delete_topics_request *req = kmock_decode(rq, a);
    kafka_delete_topics_response resp;
    int32_t n;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    /* v6+ names topics by state (name or id); earlier versions by name */
    n = rq->api_version >= 6 ? req->topics_count : req->topic_names_count;
    if (n < 0)
        return KMOCK_CLOSE;
    kafka_delete_topics_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.responses, n))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        kafka_delete_topics_response_deletable_topic_result *rt = &resp.responses[i];
        kafka_str name = rq->api_version >= 6 ? req->topics[i].name : req->topic_names[i];
        kmock_topic *t;

        kafka_delete_topics_response_deletable_topic_result_init(rt);
        rt->name = name;
        if (name.len >= 0) {
            t = kmock_topic_find(c, name.ptr ? name.ptr : "", (size_t)name.len);
        } else {
            t = kmock_topic_find_id(c, &req->topics[i].topic_id);
            rt->topic_id = req->topics[i].topic_id;
        }
        if (rq->injected)
            rt->error_code = rq->injected;
        else if (t && kmock_topic_denied(c, rq, KMOCK_OP_DELETE, kafka_str_c(t->name)))
            rt->error_code = KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED;
        else if (!t)
            rt->error_code = name.len >= 0 ? KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION : KAFKA_ERR_UNKNOWN_TOPIC_ID;
        else {
            rt->topic_id = t->id;
            if (name.len < 0)
                rt->name = kafka_str_c(kmock_cstr(a, kafka_str_c(t->name)));
            rt->error_code = kmock_topic_delete(c, t);
        }
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_create_partitions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at)
{
    kafka_create_partitions_request *req = kmock_decode(rq, a);
    kafka_create_partitions_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_create_partitions_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.results, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->topics_count; i++) {
        const kafka_create_partitions_request_create_partitions_topic *qt = &req->topics[i];
        kafka_create_partitions_response_create_partitions_topic_result *rt = &resp.results[i];
        kmock_topic *t = qt->name.len > 0 ? kmock_topic_find(c, qt->name.ptr, (size_t)qt->name.len) : NULL;
        int16_t err = rq->injected;

        kafka_create_partitions_response_create_partitions_topic_result_init(rt);
        rt->name = qt->name;
        if (!err && !t)
            err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (!err && qt->count <= t->npartitions)
            err = KAFKA_ERR_INVALID_PARTITIONS;
        if (!err && !req->validate_only)
            err = kmock_topic_add_partitions(c, t, qt->count);
        rt->error_code = err;
        if (err)
            rt->error_message = kafka_str_c(kafka_err_str(err));
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_delete_records(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                   int64_t *wake_at)
{
    kafka_delete_records_request *req = kmock_decode(rq, a);
    kafka_delete_records_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_delete_records_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.topics, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_delete_records_request_delete_records_topic *qt = &req->topics[t];
        kafka_delete_records_response_delete_records_topic_result *rt = &resp.topics[t];
        int32_t np = qt->partitions_count > 0 ? qt->partitions_count : 0;

        kafka_delete_records_response_delete_records_topic_result_init(rt);
        rt->name = qt->name;
        if (!KMOCK_ARRAY(a, rt->partitions, np))
            return KMOCK_CLOSE;
        for (int32_t i = 0; i < np; i++) {
            const kafka_delete_records_request_delete_records_partition *qp = &qt->partitions[i];
            kafka_delete_records_response_delete_records_partition_result *rp = &rt->partitions[i];
            kmock_partition *p = kmock_partition_get(c, qt->name, qp->partition_index);
            int16_t err = kmock_partition_error(c, rq, p);
            int64_t offset = qp->offset;

            kafka_delete_records_response_delete_records_partition_result_init(rp);
            rp->partition_index = qp->partition_index;
            rp->low_watermark = -1;
            if (!err) {
                if (offset == -1) /* up to the high watermark */
                    offset = p->log.log_end;
                if (offset < 0 || offset > p->log.log_end)
                    err = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
                else
                    kmock_log_delete_before(&p->log, offset);
                rp->low_watermark = p->log.log_start;
            }
            rp->error_code = err;
        }
    }
    return kmock_encode(rq, &resp, out);
}
