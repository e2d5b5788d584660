/* The classic group requests, built in one place (group_requests.h). */
#include <string.h>

#include "group/group_requests.h"

kafka_err kafka_group_join_request_fill(kafka_join_group_request *req, int16_t v, const kafka_group_ident *id,
                                        int32_t session_timeout_ms, int32_t rebalance_timeout_ms,
                                        const kafka_group_protocol *protos, size_t n, kafka_arena *a)
{
    kafka_join_group_request_join_group_request_protocol *p = kafka_arena_calloc(a, n ? n : 1, sizeof *p);
    if (!p)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_join_group_request_join_group_request_protocol_init(&p[i]);
        p[i].name = kafka_str_c(protos[i].name);
        p[i].metadata = (kafka_bytes){protos[i].metadata, (int32_t)protos[i].metadata_len};
    }
    kafka_join_group_request_init(req);
    req->group_id = kafka_str_c(id->group_id);
    req->session_timeout_ms = session_timeout_ms;
    req->rebalance_timeout_ms = rebalance_timeout_ms;
    req->member_id = kafka_str_c(id->member_id);
    if (v >= 5) /* static membership needs JoinGroup v5 (KIP-345) */
        req->group_instance_id = kafka_str_c(id->instance_id);
    req->protocol_type = kafka_str_c(KAFKA_CONSUMER_PROTOCOL_TYPE);
    req->protocols = p;
    req->protocols_count = (int32_t)n;
    return 0;
}

kafka_err kafka_group_sync_request_fill(kafka_sync_group_request *req, int16_t v, const kafka_group_ident *id,
                                        const char *protocol, const char *const *member_ids,
                                        const kafka_bytes *assignments, size_t n, kafka_arena *a)
{
    kafka_sync_group_request_sync_group_request_assignment *as = kafka_arena_calloc(a, n ? n : 1, sizeof *as);
    if (!as)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_sync_group_request_sync_group_request_assignment_init(&as[i]);
        as[i].member_id = kafka_str_c(member_ids[i]);
        as[i].assignment = assignments[i];
    }
    kafka_sync_group_request_init(req);
    req->group_id = kafka_str_c(id->group_id);
    req->generation_id = id->generation;
    req->member_id = kafka_str_c(id->member_id);
    if (v >= 3)
        req->group_instance_id = kafka_str_c(id->instance_id);
    req->protocol_type = kafka_str_c(KAFKA_CONSUMER_PROTOCOL_TYPE);
    req->protocol_name = kafka_str_c(protocol);
    req->assignments = as;
    req->assignments_count = (int32_t)n;
    return 0;
}

void kafka_group_heartbeat_request_fill(kafka_heartbeat_request *req, int16_t v, const kafka_group_ident *id)
{
    kafka_heartbeat_request_init(req);
    req->group_id = kafka_str_c(id->group_id);
    req->generation_id = id->generation;
    req->member_id = kafka_str_c(id->member_id);
    if (v >= 3)
        req->group_instance_id = kafka_str_c(id->instance_id);
}

void kafka_group_leave_request_fill(kafka_leave_group_request *req, int16_t v, const kafka_group_ident *id,
                                    kafka_leave_group_request_member_identity *mi)
{
    kafka_leave_group_request_member_identity_init(mi);
    mi->member_id = kafka_str_c(id->member_id);
    mi->group_instance_id = kafka_str_c(id->instance_id);
    mi->reason = kafka_str_c("the consumer is being closed");
    kafka_leave_group_request_init(req);
    req->group_id = kafka_str_c(id->group_id);
    /* v0-2 name one member; v3+ take a list (the encoder refuses a field
     * the version lacks). */
    if (v < 3) {
        req->member_id = kafka_str_c(id->member_id);
    } else {
        req->members = mi;
        req->members_count = 1;
    }
}

kafka_err kafka_group_commit_request_fill(kafka_offset_commit_request *req, int16_t v, const kafka_group_ident *id,
                                          const kafka_group_offset *offs, size_t n, kafka_arena *a)
{
    kafka_offset_commit_request_init(req);
    req->group_id = kafka_str_c(id->group_id);
    req->generation_id_or_member_epoch = id->generation;
    req->member_id = kafka_str_c(id->member_id);
    if (v >= 7)
        req->group_instance_id = kafka_str_c(id->instance_id);
    /* offs grouped by topic (they need not be sorted) */
    kafka_offset_commit_request_offset_commit_request_topic *ts = kafka_arena_calloc(a, n ? n : 1, sizeof *ts);
    if (!ts)
        return KAFKA_ERR_NOMEM;
    int32_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t t = 0;
        while (t < count && !kafka_str_eq_c(ts[t].name, offs[i].topic))
            t++;
        if (t == count) {
            kafka_offset_commit_request_offset_commit_request_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(offs[i].topic);
            ts[t].partitions = kafka_arena_calloc(a, n, sizeof *ts[t].partitions);
            if (!ts[t].partitions)
                return KAFKA_ERR_NOMEM;
            count++;
        }
        kafka_offset_commit_request_offset_commit_request_partition *p = &ts[t].partitions[ts[t].partitions_count++];
        kafka_offset_commit_request_offset_commit_request_partition_init(p);
        p->partition_index = offs[i].partition;
        p->committed_offset = offs[i].offset;
        p->committed_metadata = kafka_str_c("");
    }
    req->topics = ts;
    req->topics_count = count;
    return 0;
}

kafka_err kafka_group_offset_fetch_request_fill(kafka_offset_fetch_request *req, int16_t v, const char *group_id,
                                                const kafka_group_offset *offs, size_t n, kafka_arena *a)
{
    (void)v;
    kafka_offset_fetch_request_offset_fetch_request_topic *ts = kafka_arena_calloc(a, n ? n : 1, sizeof *ts);
    if (!ts)
        return KAFKA_ERR_NOMEM;
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t t = 0;
        while (t < nt && !kafka_str_eq_c(ts[t].name, offs[i].topic))
            t++;
        if (t == nt) {
            kafka_offset_fetch_request_offset_fetch_request_topic_init(&ts[t]);
            ts[t].name = kafka_str_c(offs[i].topic);
            ts[t].partition_indexes = kafka_arena_calloc(a, n, sizeof(int32_t));
            if (!ts[t].partition_indexes)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        ts[t].partition_indexes[ts[t].partition_indexes_count++] = offs[i].partition;
    }
    kafka_offset_fetch_request_init(req);
    req->group_id = kafka_str_c(group_id);
    req->topics = ts;
    req->topics_count = nt;
    return 0;
}

static kafka_group_offset *find_off(kafka_group_offset *offs, size_t n, kafka_str topic, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if (offs[i].partition == partition && kafka_str_eq_c(topic, offs[i].topic))
            return &offs[i];
    return NULL;
}

kafka_err kafka_group_commit_response_apply(const kafka_offset_commit_response *resp, kafka_group_offset *offs,
                                            size_t n)
{
    kafka_err first = 0;
    for (size_t i = 0; i < n; i++)
        offs[i].err = 0;
    for (int32_t t = 0; t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
            kafka_group_offset *o =
                find_off(offs, n, resp->topics[t].name, resp->topics[t].partitions[p].partition_index);
            kafka_err e = kafka_err_from_wire(resp->topics[t].partitions[p].error_code);
            if (o)
                o->err = e;
            if (e && !first)
                first = e;
        }
    return first;
}

kafka_err kafka_group_offset_fetch_response_apply(const kafka_offset_fetch_response *resp, kafka_group_offset *offs,
                                                  size_t n)
{
    kafka_err err = resp->error_code ? kafka_err_from_wire(resp->error_code) : 0;
    for (size_t i = 0; i < n; i++) {
        offs[i].offset = -1;
        offs[i].err = err ? err : KAFKA_ERR_PROTOCOL;
    }
    for (int32_t t = 0; !err && t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
            const kafka_offset_fetch_response_offset_fetch_response_partition *rp = &resp->topics[t].partitions[p];
            kafka_group_offset *o = find_off(offs, n, resp->topics[t].name, rp->partition_index);
            if (!o)
                continue;
            o->err = kafka_err_from_wire(rp->error_code);
            o->offset = rp->committed_offset;
        }
    kafka_err first = err;
    for (size_t i = 0; !first && i < n; i++)
        first = offs[i].err;
    return first;
}
