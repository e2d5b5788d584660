/*
 * Mock group coordinator: TxnOffsetCommit (Kafka's
 * OffsetMetadataManager.commitTransactionalOffset, completed by the
 * transaction markers). The offsets a transaction commits are held per
 * producer, invisible to OffsetFetch (which, asked for stable offsets,
 * answers UNSTABLE_OFFSET_COMMIT for them), until kmock_groups_end_txn
 * makes them the group's committed offsets or drops them.
 */
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"
#include "protocol/gen/txn_offset_commit.h"

static void txn_offset_free(kmock_txn_offset *t)
{
    kafka_free(t->o.topic);
    kafka_free(t->o.metadata);
}

void kmock_txn_offsets_free(kmock_group *grp)
{
    for (size_t i = 0; i < grp->n_txn_offsets; i++)
        txn_offset_free(&grp->txn_offsets[i]);
    kafka_free(grp->txn_offsets);
    grp->txn_offsets = NULL;
    grp->n_txn_offsets = grp->cap_txn_offsets = 0;
}

bool kmock_txn_offset_pending(const kmock_group *grp, kafka_str topic, int32_t partition)
{
    for (size_t i = 0; grp && i < grp->n_txn_offsets; i++)
        if (grp->txn_offsets[i].o.partition == partition && kmock_streq(grp->txn_offsets[i].o.topic, topic))
            return true;
    return false;
}

/* Holds (or replaces) producer_id's offset for a partition. */
static int16_t txn_offset_put(kmock_group *grp, int64_t producer_id, kafka_str topic, int32_t partition, int64_t offset,
                              int32_t leader_epoch, kafka_str metadata)
{
    char *meta = kmock_strdup_str(metadata.len < 0 ? kafka_str_c("") : metadata);
    if (!meta)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    kmock_txn_offset *t = NULL;
    for (size_t i = 0; i < grp->n_txn_offsets && !t; i++)
        if (grp->txn_offsets[i].producer_id == producer_id && grp->txn_offsets[i].o.partition == partition &&
            kmock_streq(grp->txn_offsets[i].o.topic, topic))
            t = &grp->txn_offsets[i];
    if (!t) {
        if (grp->n_txn_offsets >= KMOCK_GROUP_MAX_OFFSETS) {
            kafka_free(meta);
            return KAFKA_ERR_INVALID_COMMIT_OFFSET_SIZE;
        }
        char *name = kmock_strdup_str(topic);
        if (!name || !kafka_array_reserve((void **)&grp->txn_offsets, &grp->cap_txn_offsets, grp->n_txn_offsets + 1,
                                          sizeof *grp->txn_offsets, 8)) {
            kafka_free(name);
            kafka_free(meta);
            return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        }
        t = &grp->txn_offsets[grp->n_txn_offsets++];
        *t = (kmock_txn_offset){.producer_id = producer_id, .o = {.topic = name, .partition = partition}};
    }
    kafka_free(t->o.metadata);
    t->o.metadata = meta;
    t->o.offset = offset;
    t->o.leader_epoch = leader_epoch;
    return 0;
}

void kmock_groups_end_txn(kmock_groups *g, int64_t producer_id, bool commit)
{
    for (size_t gi = 0; gi < g->n_groups; gi++) {
        kmock_group *grp = g->groups[gi];
        size_t kept = 0;
        for (size_t i = 0; i < grp->n_txn_offsets; i++) {
            kmock_txn_offset *t = &grp->txn_offsets[i];
            if (t->producer_id != producer_id) {
                grp->txn_offsets[kept++] = *t;
                continue;
            }
            if (commit) /* in commit order: a later commit of a partition wins */
                (void)kmock_offset_put(grp, kafka_str_c(t->o.topic), t->o.partition, t->o.offset, t->o.leader_epoch,
                                       kafka_str_c(t->o.metadata));
            txn_offset_free(t);
        }
        grp->n_txn_offsets = kept;
    }
}

/* NUL-terminated arena copy for the transaction check. */
static const char *arena_cstr(kafka_arena *arena, kafka_str s)
{
    size_t n = (size_t)(s.len > 0 ? s.len : 0);
    char *c = kafka_arena_alloc(arena, n + 1);
    if (c && n)
        memcpy(c, s.ptr, n);
    return c;
}

static int16_t txn_check(kmock_groups *g, kafka_arena *arena, const kafka_txn_offset_commit_request *req)
{
    if (!g->txn_check)
        return 0;
    const char *txn_id = arena_cstr(arena, req->transactional_id), *group = arena_cstr(arena, req->group_id);
    if (!txn_id || !group)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    return (int16_t)g->txn_check(g->txn_ctx, txn_id, req->producer_id, req->producer_epoch, group);
}

int kmock_handle_txn_offset_commit(kmock_groups *g, kmock_req *rq, kafka_rbuf *r)
{
    kafka_txn_offset_commit_request req;
    if (kafka_gen_decode(r, rq->arena, &kafka_txn_offset_commit_request_msg, rq->version, &req) != KAFKA_ERR_OK)
        return -1;
    kmock_group *grp = NULL;
    int16_t group_err = 0;
    if (req.group_id.len <= 0)
        group_err = KAFKA_ERR_INVALID_GROUP_ID;
    else if (!(group_err = txn_check(g, rq->arena, &req)) &&
             (grp = kmock_group_get_or_create(g, req.group_id, &group_err)) != NULL)
        /* before v3 the request names no member: no member checks then */
        group_err = kmock_validate_offset_commit(grp, req.member_id, req.group_instance_id, req.generation_id, true,
                                                 rq->version);

    kafka_txn_offset_commit_response resp;
    kafka_txn_offset_commit_response_init(&resp);
    int32_t nt = req.topics_count > 0 ? req.topics_count : 0;
    resp.topics = kafka_arena_calloc(rq->arena, (size_t)nt, sizeof *resp.topics);
    if (!resp.topics)
        return -1;
    resp.topics_count = nt;
    for (int32_t t = 0; t < nt; t++) {
        const kafka_txn_offset_commit_request_txn_offset_commit_request_topic *it = &req.topics[t];
        kafka_txn_offset_commit_response_txn_offset_commit_response_topic *ot = &resp.topics[t];
        int32_t np = it->partitions_count > 0 ? it->partitions_count : 0;
        ot->name = it->name;
        ot->partitions = kafka_arena_calloc(rq->arena, (size_t)np, sizeof *ot->partitions);
        if (!ot->partitions)
            return -1;
        ot->partitions_count = np;
        for (int32_t p = 0; p < np; p++) {
            const kafka_txn_offset_commit_request_txn_offset_commit_request_partition *ip = &it->partitions[p];
            int16_t err = group_err ? group_err
                                    : kmock_commit_checks(g, it->name, ip->partition_index, ip->committed_metadata,
                                                          rq->arena);
            if (!err)
                err = txn_offset_put(grp, req.producer_id, it->name, ip->partition_index, ip->committed_offset,
                                     ip->committed_leader_epoch, ip->committed_metadata);
            ot->partitions[p].partition_index = ip->partition_index;
            ot->partitions[p].error_code = err;
        }
    }
    return kmock_send(&rq->w, &kafka_txn_offset_commit_response_msg, &resp);
}
