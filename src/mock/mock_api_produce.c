/* Produce and InitProducerId in the mock. */
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

kmock_outcome kmock_produce(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                            int64_t *wake_at)
{
    kafka_produce_request *req = kmock_decode(rq, a);
    kafka_produce_response resp;
    bool bad_acks;

    (void)wake_at;
    if (!req || req->topic_data_count < 0)
        return KMOCK_CLOSE;
    bad_acks = req->acks != 0 && req->acks != 1 && req->acks != -1;
    kafka_produce_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.responses, req->topic_data_count))
        return KMOCK_CLOSE;
    for (int32_t t = 0; t < req->topic_data_count; t++) {
        const kafka_produce_request_topic_produce_data *td = &req->topic_data[t];
        kafka_produce_response_topic_produce_response *rt = &resp.responses[t];
        int32_t np = td->partition_data_count > 0 ? td->partition_data_count : 0;

        kafka_produce_response_topic_produce_response_init(rt);
        rt->name = td->name;
        if (!KMOCK_ARRAY(a, rt->partition_responses, np))
            return KMOCK_CLOSE;
        for (int32_t i = 0; i < np; i++) {
            const kafka_produce_request_partition_produce_data *pd = &td->partition_data[i];
            kafka_produce_response_partition_produce_response *rp = &rt->partition_responses[i];
            kmock_partition *p = kmock_partition_get(c, td->name, pd->index);
            const kmock_topic *topic = p ? kmock_topic_find(c, td->name.ptr, (size_t)td->name.len) : NULL;
            kmock_append_rules rules = {.leader_epoch = p ? p->leader_epoch : -1,
                                        .log_append_time = topic && topic->log_append_time ? kmock_wall_ms() : -1,
                                        .require_keys = topic && topic->compacted};
            int16_t err = kmock_topic_denied(c, rq, KMOCK_OP_WRITE, td->name);

            if (!err)
                err = kmock_partition_error(c, rq, p);
            kafka_produce_response_partition_produce_response_init(rp);
            rp->index = pd->index;
            rp->base_offset = -1;
            if (!err && bad_acks)
                err = KAFKA_ERR_INVALID_REQUIRED_ACKS;
            if (!err && (pd->records.len <= 0 || !pd->records.ptr))
                err = KAFKA_ERR_INVALID_RECORD;
            if (!err) {
                kmock_append_result ar = kmock_log_append(&p->log, pd->records.ptr, (size_t)pd->records.len, &rules);
                err = ar.error;
                if (!err) {
                    rp->base_offset = ar.base_offset;
                    rp->log_append_time_ms = rules.log_append_time;
                    if (!ar.duplicate)
                        c->appends++;
                } else if (ar.message) {
                    rp->error_message = kafka_str_c(ar.message);
                }
                if (ar.nbad) { /* v8+: which records (ignorable before) */
                    if (!KMOCK_ARRAY(a, rp->record_errors, ar.nbad))
                        return KMOCK_CLOSE;
                    for (int k = 0; k < ar.nbad; k++)
                        rp->record_errors[k] = (kafka_produce_response_batch_index_and_error_message){
                            ar.bad_records[k], kafka_str_c("Compacted topic cannot accept message without key")};
                }
            }
            rp->error_code = err;
            if (p) {
                rp->log_start_offset = p->log.log_start;
                if (err == KAFKA_ERR_NOT_LEADER_OR_FOLLOWER) {
                    rp->current_leader.leader_id = p->leader;
                    rp->current_leader.leader_epoch = p->leader_epoch;
                }
            }
        }
    }
    if (req->acks == 0)
        return KMOCK_NO_RESPONSE;
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_init_producer_id(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at)
{
    kafka_init_producer_id_request *req = kmock_decode(rq, a);
    kafka_init_producer_id_response resp;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_init_producer_id_response_init(&resp);
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (rq->injected) {
        resp.error_code = rq->injected;
    } else if (req->transactional_id.len >= 0) {
        resp.error_code = kmock_txn_init(c, req->transactional_id, req->transaction_timeout_ms, rq->now_ms,
                                         &resp.producer_id, &resp.producer_epoch);
    } else if (req->producer_id >= 0) {
        /* KIP-360: an idempotent producer bumping its epoch keeps its id. */
        resp.producer_id = req->producer_id;
        resp.producer_epoch = (int16_t)(req->producer_epoch < 0 ? 0 : req->producer_epoch + 1);
        if (resp.producer_epoch < 0) {
            resp.producer_id = c->next_producer_id++;
            resp.producer_epoch = 0;
        }
    } else {
        resp.producer_id = c->next_producer_id++;
        resp.producer_epoch = 0;
    }
    return kmock_encode(rq, &resp, out);
}
