/*
 * Mock group coordinator: OffsetCommit, OffsetFetch and OffsetDelete
 * (Kafka's OffsetMetadataManager and ClassicGroup.validateOffsetDelete)
 * over the store of mock_group_offset_store.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "group/consumer_protocol.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/offset_commit.h"
#include "protocol/gen/offset_delete.h"
#include "protocol/gen/offset_fetch.h"

/* ---- OffsetCommit ----------------------------------------------------------- */

int kmock_handle_offset_commit(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_offset_commit_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_offset_commit_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    int16_t group_err = 0;
    kmock_group *grp = req.group_id.len >= 0 ? kmock_group_find(g, req.group_id) : NULL;
    if (req.group_id.len < 0)
        group_err = KAFKA_ERR_INVALID_GROUP_ID;
    else if (!grp && req.generation_id_or_member_epoch < 0)
        grp = kmock_group_get_or_create(g, req.group_id, &group_err);
    else if (!grp) /* v9 says so plainly; older versions kept ILLEGAL_GENERATION */
        group_err = rq->version >= 9 ? KAFKA_ERR_GROUP_ID_NOT_FOUND : KAFKA_ERR_ILLEGAL_GENERATION;
    if (grp && !group_err)
        group_err = kmock_validate_offset_commit(grp, req.member_id, req.group_instance_id,
                                                 req.generation_id_or_member_epoch, false, rq->version);

    kafka_offset_commit_response resp;
    kafka_offset_commit_response_init(&resp);
    int32_t nt = req.topics_count > 0 ? req.topics_count : 0;
    resp.topics = kafka_arena_calloc(rq->arena, (size_t)nt, sizeof *resp.topics);
    if (!resp.topics)
        return -1;
    resp.topics_count = nt;
    for (int32_t t = 0; t < nt; t++) {
        const kafka_offset_commit_request_offset_commit_request_topic *it = &req.topics[t];
        kafka_offset_commit_response_offset_commit_response_topic *ot = &resp.topics[t];
        int32_t np = it->partitions_count > 0 ? it->partitions_count : 0;
        ot->name = it->name;
        ot->partitions = kafka_arena_calloc(rq->arena, (size_t)np, sizeof *ot->partitions);
        if (!ot->partitions)
            return -1;
        ot->partitions_count = np;
        for (int32_t p = 0; p < np; p++) {
            const kafka_offset_commit_request_offset_commit_request_partition *ip = &it->partitions[p];
            int16_t err = group_err ? group_err
                                    : kmock_commit_checks(g, it->name, ip->partition_index, ip->committed_metadata,
                                                          rq->arena);
            if (!err)
                err = kmock_offset_put(grp, it->name, ip->partition_index, ip->committed_offset,
                                       ip->committed_leader_epoch, ip->committed_metadata);
            ot->partitions[p].partition_index = ip->partition_index;
            ot->partitions[p].error_code = err;
        }
    }
    return kmock_send(&rq->w, &kafka_offset_commit_response_msg, &resp);
}

/* ---- OffsetFetch --------------------------------------------------------- */

/* The v8+ per-group shapes carry the same fields as v0-7's; the handler
 * works on the v8 ones and converts for older versions. */
typedef kafka_offset_fetch_request_offset_fetch_request_topics fetch_topic_req;
typedef kafka_offset_fetch_response_offset_fetch_response_topics fetch_topic_resp;
typedef kafka_offset_fetch_response_offset_fetch_response_partitions fetch_part_resp;

/* One partition's answer. Asked for stable offsets (v7+ require_stable),
 * a partition a transaction still holds an offset for is
 * UNSTABLE_OFFSET_COMMIT, as in Kafka; otherwise the last committed offset
 * is returned and the transaction's stays invisible. */
static void fill_partition(const kmock_group *grp, kafka_str topic, int32_t partition, bool require_stable,
                           fetch_part_resp *o)
{
    const kmock_offset *off = grp ? kmock_offset_get(grp, topic, partition) : NULL;
    if (require_stable && kmock_txn_offset_pending(grp, topic, partition)) {
        fill_partition(NULL, topic, partition, false, o);
        o->error_code = KAFKA_ERR_UNSTABLE_OFFSET_COMMIT;
        return;
    }
    o->partition_index = partition;
    o->committed_offset = off ? off->offset : -1;
    o->committed_leader_epoch = off ? off->leader_epoch : -1;
    o->metadata = kafka_str_c(off ? off->metadata : "");
    o->error_code = 0;
}

/* Answers one group's fetch into out (arena-allocated). */
static bool fetch_group(const kmock_group *grp, const fetch_topic_req *topics, int32_t n_topics, bool require_stable,
                        kafka_arena *arena, fetch_topic_resp **out, int32_t *out_count)
{
    if (n_topics >= 0) { /* the partitions asked for */
        fetch_topic_resp *ts = kafka_arena_calloc(arena, (size_t)n_topics, sizeof *ts);
        if (!ts)
            return false;
        for (int32_t t = 0; t < n_topics; t++) {
            int32_t np = topics[t].partition_indexes_count > 0 ? topics[t].partition_indexes_count : 0;
            ts[t].name = topics[t].name;
            ts[t].partitions = kafka_arena_calloc(arena, (size_t)np, sizeof *ts[t].partitions);
            if (!ts[t].partitions)
                return false;
            ts[t].partitions_count = np;
            for (int32_t p = 0; p < np; p++)
                fill_partition(grp, topics[t].name, topics[t].partition_indexes[p], require_stable,
                               &ts[t].partitions[p]);
        }
        *out = ts;
        *out_count = n_topics;
        return true;
    }
    /* null topics: every committed partition, grouped by topic */
    size_t n = grp ? grp->n_offsets : 0;
    fetch_topic_resp *ts = kafka_arena_calloc(arena, n, sizeof *ts);
    fetch_part_resp *ps = kafka_arena_calloc(arena, n, sizeof *ps);
    if (!ts || !ps)
        return false;
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const kmock_offset *o = &grp->offsets[i];
        if (nt == 0 || !kmock_streq(o->topic, ts[nt - 1].name)) {
            ts[nt].name = kafka_str_c(o->topic);
            ts[nt].partitions = &ps[i];
            nt++;
        }
        fill_partition(grp, kafka_str_c(o->topic), o->partition, require_stable, &ps[i]);
        ts[nt - 1].partitions_count++;
    }
    *out = ts;
    *out_count = nt;
    return true;
}

static int fetch_v8(kmock_groups *g, kmock_req *rq, const kafka_offset_fetch_request *req)
{
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    int32_t ng = req->groups_count > 0 ? req->groups_count : 0;
    resp.groups = kafka_arena_calloc(rq->arena, (size_t)ng, sizeof *resp.groups);
    if (!resp.groups)
        return -1;
    resp.groups_count = ng;
    for (int32_t i = 0; i < ng; i++) {
        const kafka_offset_fetch_request_offset_fetch_request_group *ig = &req->groups[i];
        kafka_offset_fetch_response_offset_fetch_response_group *og = &resp.groups[i];
        og->group_id = ig->group_id;
        const kmock_group *grp = kmock_group_find(g, ig->group_id);
        if (grp && grp->cg && (og->error_code = kmock_cgroup_validate_fetch(grp->cg, ig->member_id, ig->member_epoch))) {
            og->topics_count = 0;
            continue;
        }
        if (!fetch_group(grp, ig->topics, ig->topics_count, req->require_stable, rq->arena, &og->topics,
                         &og->topics_count))
            return -1;
    }
    return kmock_send(&rq->w, &kafka_offset_fetch_response_msg, &resp);
}

static int fetch_v0(kmock_groups *g, kmock_req *rq, const kafka_offset_fetch_request *req)
{
    /* lift the request into the v8 shape */
    int32_t nt = req->topics_count;
    fetch_topic_req *topics = NULL;
    if (nt >= 0) {
        topics = kafka_arena_calloc(rq->arena, (size_t)nt, sizeof *topics);
        if (!topics)
            return -1;
        for (int32_t t = 0; t < nt; t++) {
            topics[t].name = req->topics[t].name;
            topics[t].partition_indexes = req->topics[t].partition_indexes;
            topics[t].partition_indexes_count = req->topics[t].partition_indexes_count;
        }
    }
    fetch_topic_resp *ts;
    int32_t n;
    if (!fetch_group(kmock_group_find(g, req->group_id), topics, nt, req->require_stable, rq->arena, &ts, &n))
        return -1;
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    resp.topics = kafka_arena_calloc(rq->arena, (size_t)n, sizeof *resp.topics);
    if (!resp.topics)
        return -1;
    resp.topics_count = n;
    for (int32_t t = 0; t < n; t++) {
        resp.topics[t].name = ts[t].name;
        int32_t np = ts[t].partitions_count;
        resp.topics[t].partitions = kafka_arena_calloc(rq->arena, (size_t)np, sizeof *resp.topics[t].partitions);
        if (!resp.topics[t].partitions)
            return -1;
        resp.topics[t].partitions_count = np;
        for (int32_t p = 0; p < np; p++) {
            const fetch_part_resp *s = &ts[t].partitions[p];
            kafka_offset_fetch_response_offset_fetch_response_partition *o = &resp.topics[t].partitions[p];
            o->partition_index = s->partition_index;
            o->committed_offset = s->committed_offset;
            o->committed_leader_epoch = s->committed_leader_epoch;
            o->metadata = s->metadata;
            o->error_code = s->error_code;
        }
    }
    return kmock_send(&rq->w, &kafka_offset_fetch_response_msg, &resp);
}

int kmock_handle_offset_fetch(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_offset_fetch_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_offset_fetch_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    return rq->version >= 8 ? fetch_v8(g, rq, &req) : fetch_v0(g, rq, &req);
}

/* ---- OffsetDelete -------------------------------------------------------- */

/* Does a member of this consumer group subscribe to topic? Unknown when a
 * subscription does not parse: then it counts as subscribed, the safe
 * answer (Kafka's isSubscribedToTopic). */
static bool group_subscribes(const kmock_group *grp, kafka_str topic, kafka_arena *arena)
{
    for (size_t i = 0; i < grp->n_members; i++) {
        kafka_bytes meta = kmock_member_metadata(grp->members[i], grp->protocol_name);
        kafka_consumer_subscription sub;
        if (!grp->protocol_name ||
            kafka_consumer_subscription_decode(meta.ptr, (size_t)meta.len, arena, &sub) != KAFKA_ERR_OK)
            return true;
        for (size_t t = 0; t < sub.n_topics; t++)
            if (kmock_streq(sub.topics[t], topic))
                return true;
    }
    return false;
}

int kmock_handle_offset_delete(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_offset_delete_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_offset_delete_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_offset_delete_response resp;
    kafka_offset_delete_response_init(&resp);
    kmock_group *grp = req.group_id.len > 0 ? kmock_group_find(g, req.group_id) : NULL;
    bool consumer = grp && (grp->cg || kmock_streq(KAFKA_CONSUMER_PROTOCOL_TYPE, kmock_str(grp->protocol_type)));
    if (req.group_id.len <= 0)
        resp.error_code = KAFKA_ERR_INVALID_GROUP_ID;
    else if (!grp || grp->state == KMOCK_DEAD)
        resp.error_code = KAFKA_ERR_GROUP_ID_NOT_FOUND;
    else if (grp->state != KMOCK_EMPTY && !consumer)
        resp.error_code = KAFKA_ERR_NON_EMPTY_GROUP;
    if (resp.error_code)
        return kmock_send(&rq->w, &kafka_offset_delete_response_msg, &resp);

    int32_t nt = req.topics_count > 0 ? req.topics_count : 0;
    resp.topics = kafka_arena_calloc(rq->arena, (size_t)nt, sizeof *resp.topics);
    if (!resp.topics)
        return -1;
    resp.topics_count = nt;
    for (int32_t t = 0; t < nt; t++) {
        const kafka_offset_delete_request_offset_delete_request_topic *it = &req.topics[t];
        kafka_offset_delete_response_offset_delete_response_topic *ot = &resp.topics[t];
        int32_t np = it->partitions_count > 0 ? it->partitions_count : 0;
        bool subscribed = grp->cg ? kmock_cgroup_subscribes(grp->cg, it->name)
                                  : grp->state != KMOCK_EMPTY && group_subscribes(grp, it->name, rq->arena);
        ot->name = it->name;
        ot->partitions = kafka_arena_calloc(rq->arena, (size_t)np, sizeof *ot->partitions);
        if (!ot->partitions)
            return -1;
        ot->partitions_count = np;
        for (int32_t p = 0; p < np; p++) {
            int32_t part = it->partitions[p].partition_index;
            int16_t err = kmock_partition_check(g, it->name, part, rq->arena);
            if (!err && subscribed)
                err = KAFKA_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            if (!err)
                kmock_offset_remove(grp, it->name, part);
            ot->partitions[p].partition_index = part;
            ot->partitions[p].error_code = err;
        }
    }
    return kmock_send(&rq->w, &kafka_offset_delete_response_msg, &resp);
}
