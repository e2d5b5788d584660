/*
 * Mock group coordinator: ListGroups, DescribeGroups and DeleteGroups
 * (Kafka's GroupCoordinator handleListGroups / handleDescribeGroups /
 * handleDeleteGroups, on classic groups).
 */
#include <strings.h>

#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/delete_groups.h"
#include "protocol/gen/describe_groups.h"
#include "protocol/gen/list_groups.h"

/* ListGroups v5 group types (KIP-848). */
#define KMOCK_GROUP_TYPE_CLASSIC "classic"
#define KMOCK_GROUP_TYPE_CONSUMER "consumer"

/* Is `value` in the filter list (case-insensitive, as Kafka compares
 * states and types)? An empty or null filter matches everything. */
static bool filter_matches(const kafka_str *filter, int32_t n, const char *value)
{
    if (n <= 0)
        return true;
    size_t len = strlen(value);
    for (int32_t i = 0; i < n; i++)
        if (filter[i].len == (int32_t)len && strncasecmp(filter[i].ptr, value, len) == 0)
            return true;
    return false;
}

int kmock_handle_list_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_list_groups_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_list_groups_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_list_groups_response resp;
    kafka_list_groups_response_init(&resp);
    resp.groups = kafka_arena_calloc(rq->arena, g->n_groups, sizeof *resp.groups);
    if (!resp.groups)
        return -1;
    int32_t n = 0;
    for (size_t i = 0; i < g->n_groups; i++) {
        const kmock_group *grp = g->groups[i];
        const char *state = grp->cg ? kmock_cgroup_state(grp->cg) : kmock_state_name(grp->state);
        const char *type = grp->cg ? KMOCK_GROUP_TYPE_CONSUMER : KMOCK_GROUP_TYPE_CLASSIC;
        if (grp->state == KMOCK_DEAD || !filter_matches(req.states_filter, req.states_filter_count, state) ||
            !filter_matches(req.types_filter, req.types_filter_count, type))
            continue;
        kafka_list_groups_response_listed_group *o = &resp.groups[n++];
        o->group_id = kafka_str_c(grp->id);
        o->protocol_type = kafka_str_c(grp->cg ? "consumer" : grp->protocol_type ? grp->protocol_type : "");
        o->group_state = kafka_str_c(state);
        o->group_type = kafka_str_c(type);
    }
    resp.groups_count = n;
    return kmock_send(&rq->w, &kafka_list_groups_response_msg, &resp);
}

/* Kafka's GroupMetadata.summary: member metadata, assignments and the
 * protocol only once the group is Stable. */
static bool describe_one(const kmock_group *grp, kafka_str id, bool with_ops, kafka_arena *arena,
                         kafka_describe_groups_response_described_group *o)
{
    kafka_describe_groups_response_described_group_init(o);
    o->group_id = id;
    o->authorized_operations = with_ops ? KMOCK_GROUP_AUTHORIZED_OPS : INT32_MIN;
    o->protocol_type = kafka_str_c("");
    o->protocol_data = kafka_str_c("");
    if (!grp) { /* unknown groups describe as Dead, without an error */
        o->group_state = kafka_str_c(kmock_state_name(KMOCK_DEAD));
        return true;
    }
    bool stable = grp->state == KMOCK_STABLE;
    o->group_state = kafka_str_c(kmock_state_name(grp->state));
    o->protocol_type = kafka_str_c(grp->protocol_type ? grp->protocol_type : "");
    if (stable && grp->protocol_name)
        o->protocol_data = kafka_str_c(grp->protocol_name);
    o->members = kafka_arena_calloc(arena, grp->n_members, sizeof *o->members);
    if (!o->members)
        return false;
    o->members_count = (int32_t)grp->n_members;
    for (size_t i = 0; i < grp->n_members; i++) {
        const kmock_member *m = grp->members[i];
        kafka_describe_groups_response_described_group_member *om = &o->members[i];
        om->member_id = kafka_str_c(m->id);
        om->group_instance_id = kmock_str(m->instance_id);
        om->client_id = kafka_str_c(m->client_id ? m->client_id : "");
        om->client_host = kafka_str_c(m->client_host ? m->client_host : "");
        om->member_metadata = stable ? kmock_member_metadata(m, grp->protocol_name) : (kafka_bytes){NULL, 0};
        om->member_assignment = stable && m->assignment ? (kafka_bytes){m->assignment, m->assignment_len}
                                                        : (kafka_bytes){NULL, 0};
    }
    return true;
}

int kmock_handle_describe_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_describe_groups_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_describe_groups_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_describe_groups_response resp;
    kafka_describe_groups_response_init(&resp);
    int32_t n = req.groups_count > 0 ? req.groups_count : 0;
    resp.groups = kafka_arena_calloc(rq->arena, (size_t)n, sizeof *resp.groups);
    if (!resp.groups)
        return -1;
    resp.groups_count = n;
    for (int32_t i = 0; i < n; i++) {
        const kmock_group *grp = kmock_group_find(g, req.groups[i]);
        if (grp && (grp->state == KMOCK_DEAD || grp->cg))
            grp = NULL; /* consumer groups are not classic: Dead, as Kafka */
        if (!describe_one(grp, req.groups[i], req.include_authorized_operations, rq->arena, &resp.groups[i]))
            return -1;
    }
    return kmock_send(&rq->w, &kafka_describe_groups_response_msg, &resp);
}

int kmock_handle_delete_groups(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_delete_groups_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_delete_groups_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kafka_delete_groups_response resp;
    kafka_delete_groups_response_init(&resp);
    int32_t n = req.groups_names_count > 0 ? req.groups_names_count : 0;
    resp.results = kafka_arena_calloc(rq->arena, (size_t)n, sizeof *resp.results);
    if (!resp.results)
        return -1;
    resp.results_count = n;
    for (int32_t i = 0; i < n; i++) {
        kmock_group *grp = kmock_group_find(g, req.groups_names[i]);
        int16_t err = 0;
        if (!grp || grp->state == KMOCK_DEAD)
            err = KAFKA_ERR_GROUP_ID_NOT_FOUND;
        else if (!kmock_group_is_empty(grp))
            err = KAFKA_ERR_NON_EMPTY_GROUP;
        else
            kmock_group_delete(g, grp); /* its offsets go with it */
        resp.results[i].group_id = req.groups_names[i];
        resp.results[i].error_code = err;
    }
    return kmock_send(&rq->w, &kafka_delete_groups_response_msg, &resp);
}
