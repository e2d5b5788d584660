/*
 * Mock group coordinator: ConsumerGroupDescribe (KIP-848's DescribeGroups):
 * epochs, the assignor, and every member's current and target assignment.
 */
#include <string.h>

#include "kafka/error.h"
#include "mock/mock_group_consumer.h"
#include "protocol/gen/consumer_group_describe.h"

typedef kafka_consumer_group_describe_response_described_group cgd_group;
typedef kafka_consumer_group_describe_response_assignment cgd_assignment;

static kafka_str topic_name(const kmock_cgroup *cg, const kafka_uuid *id)
{
    for (size_t i = 0; i < cg->n_meta; i++)
        if (memcmp(cg->meta[i].id.b, id->b, 16) == 0)
            return kafka_str_c(cg->meta[i].name);
    return kafka_str_c(""); /* the topic is gone */
}

static bool describe_tps(const kmock_cgroup *cg, const kmock_tps *s, kafka_arena *arena, cgd_assignment *out)
{
    kafka_consumer_group_describe_response_assignment_init(out);
    kafka_consumer_group_describe_response_topic_partitions *tps = kafka_arena_calloc(arena, s->n, sizeof *tps);
    int32_t *parts = kafka_arena_calloc(arena, s->n, sizeof *parts);
    if (!tps || !parts)
        return false;
    int32_t nt = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (nt == 0 || memcmp(tps[nt - 1].topic_id.b, s->v[i].topic.b, 16) != 0) {
            tps[nt].topic_id = s->v[i].topic;
            tps[nt].topic_name = topic_name(cg, &s->v[i].topic);
            tps[nt].partitions = &parts[i];
            nt++;
        }
        parts[i] = s->v[i].partition;
        tps[nt - 1].partitions_count++;
    }
    out->topic_partitions = tps;
    out->topic_partitions_count = nt;
    return true;
}

static bool describe_group(const kmock_group *grp, kafka_str id, bool with_ops, kafka_arena *arena, cgd_group *o)
{
    kafka_consumer_group_describe_response_described_group_init(o);
    o->group_id = id;
    o->group_state = kafka_str_c("");
    o->assignor_name = kafka_str_c("");
    if (!grp || !grp->cg) {
        o->error_code = KAFKA_ERR_GROUP_ID_NOT_FOUND;
        o->error_message = kafka_str_c(grp ? "not a consumer group" : "no such group");
        return true;
    }
    const kmock_cgroup *cg = grp->cg;
    o->group_state = kafka_str_c(kmock_cgroup_state(cg));
    o->group_epoch = cg->group_epoch;
    o->assignment_epoch = cg->assignment_epoch;
    o->assignor_name = kafka_str_c(cg->assignor ? cg->assignor : KMOCK_CONSUMER_DEFAULT_ASSIGNOR);
    o->authorized_operations = with_ops ? KMOCK_GROUP_AUTHORIZED_OPS : INT32_MIN;
    o->members = kafka_arena_calloc(arena, cg->n_members, sizeof *o->members);
    if (!o->members)
        return false;
    o->members_count = (int32_t)cg->n_members;
    for (size_t i = 0; i < cg->n_members; i++) {
        const kmock_cmember *m = cg->members[i];
        kafka_consumer_group_describe_response_member *om = &o->members[i];
        kafka_consumer_group_describe_response_member_init(om);
        om->member_id = kafka_str_c(m->id);
        om->instance_id = kmock_str(m->instance_id);
        om->rack_id = kmock_str(m->rack_id);
        om->member_epoch = m->epoch;
        om->client_id = kafka_str_c(m->client_id ? m->client_id : "");
        om->client_host = kafka_str_c(m->client_host ? m->client_host : "");
        om->subscribed_topic_names = kafka_arena_calloc(arena, m->n_topics, sizeof(kafka_str));
        if (!om->subscribed_topic_names)
            return false;
        for (size_t t = 0; t < m->n_topics; t++)
            om->subscribed_topic_names[t] = kafka_str_c(m->topics[t]);
        om->subscribed_topic_names_count = (int32_t)m->n_topics;
        om->subscribed_topic_regex = kmock_str(m->regex);
        if (!describe_tps(cg, &m->assigned, arena, &om->assignment) ||
            !describe_tps(cg, &m->target, arena, &om->target_assignment))
            return false;
    }
    return true;
}

int kmock_handle_consumer_describe(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_consumer_group_describe_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_consumer_group_describe_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_consumer_group_describe_response resp;
    kafka_consumer_group_describe_response_init(&resp);
    int32_t n = req.group_ids_count > 0 ? req.group_ids_count : 0;
    resp.groups = kafka_arena_calloc(rq->arena, (size_t)n, sizeof *resp.groups);
    if (!resp.groups)
        return -1;
    resp.groups_count = n;
    for (int32_t i = 0; i < n; i++) {
        cgd_group *o = &resp.groups[i];
        if (!g->topics) {
            kafka_consumer_group_describe_response_described_group_init(o);
            o->group_id = req.group_ids[i];
            o->group_state = o->assignor_name = kafka_str_c("");
            o->error_code = KAFKA_ERR_UNSUPPORTED_VERSION;
            continue;
        }
        if (!describe_group(kmock_group_find(g, req.group_ids[i]), req.group_ids[i],
                            req.include_authorized_operations, rq->arena, o))
            return -1;
    }
    return kmock_send(&rq->w, &kafka_consumer_group_describe_response_msg, &resp);
}
