/*
 * Mock group coordinator: the committed-offset store of a group, and the
 * member checks an offset commit must pass (Kafka's
 * ClassicGroup.validateOffsetCommit).
 *
 * Offsets live in the group, sorted by (topic, partition), so lookups are
 * binary searches and "all partitions" comes out grouped by topic.
 */
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"
#include "mock/mock_group_int.h"

void kmock_offsets_free(kmock_group *grp)
{
    for (size_t i = 0; i < grp->n_offsets; i++) {
        kafka_free(grp->offsets[i].topic);
        kafka_free(grp->offsets[i].metadata);
    }
    kafka_free(grp->offsets);
    grp->offsets = NULL;
    grp->n_offsets = grp->cap_offsets = 0;
}

static int cmp_key(const char *topic, int32_t partition, kafka_str t, int32_t p)
{
    size_t n = strlen(topic);
    size_t m = (size_t)(t.len > 0 ? t.len : 0);
    int c = memcmp(topic, t.ptr ? t.ptr : "", n < m ? n : m);
    if (c)
        return c;
    if (n != m)
        return n < m ? -1 : 1;
    return partition < p ? -1 : partition > p;
}

typedef struct offset_key {
    const kmock_group *grp;
    kafka_str topic;
    int32_t partition;
} offset_key;

static int offset_cmp_at(const void *ctx, size_t i)
{
    const offset_key *k = ctx;
    return cmp_key(k->grp->offsets[i].topic, k->grp->offsets[i].partition, k->topic, k->partition);
}

/* Index of (t, p), or of where it would go (*found = false). */
static size_t offset_search(const kmock_group *grp, kafka_str t, int32_t p, bool *found)
{
    offset_key k = {grp, t, p};
    return kmock_lower_bound(grp->n_offsets, offset_cmp_at, &k, found);
}

const kmock_offset *kmock_offset_get(const kmock_group *grp, kafka_str t, int32_t p)
{
    bool found;
    size_t i = offset_search(grp, t, p, &found);
    return found ? &grp->offsets[i] : NULL;
}

int16_t kmock_offset_put(kmock_group *grp, kafka_str t, int32_t p, int64_t offset, int32_t epoch, kafka_str meta)
{
    bool found;
    size_t i = offset_search(grp, t, p, &found);
    char *m = kmock_strdup_str(meta.len < 0 ? kafka_str_c("") : meta);
    if (!m)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!found) {
        if (grp->n_offsets >= KMOCK_GROUP_MAX_OFFSETS) {
            kafka_free(m);
            return KAFKA_ERR_INVALID_COMMIT_OFFSET_SIZE;
        }
        char *topic = kmock_strdup_str(t);
        if (!topic || !kafka_array_reserve((void **)&grp->offsets, &grp->cap_offsets, grp->n_offsets + 1,
                                           sizeof *grp->offsets, 16)) {
            kafka_free(topic);
            kafka_free(m);
            return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        }
        memmove(&grp->offsets[i + 1], &grp->offsets[i], (grp->n_offsets - i) * sizeof *grp->offsets);
        grp->n_offsets++;
        grp->offsets[i] = (kmock_offset){.topic = topic, .partition = p, .metadata = NULL};
    }
    kmock_offset *o = &grp->offsets[i];
    kafka_free(o->metadata);
    o->metadata = m;
    o->offset = offset;
    o->leader_epoch = epoch;
    return 0;
}

void kmock_offset_remove(kmock_group *grp, kafka_str t, int32_t p)
{
    bool found;
    size_t i = offset_search(grp, t, p, &found);
    if (!found)
        return;
    kafka_free(grp->offsets[i].topic);
    kafka_free(grp->offsets[i].metadata);
    kmock_array_remove(grp->offsets, &grp->n_offsets, i, sizeof *grp->offsets);
}

int16_t kmock_partition_check(const kmock_groups *g, kafka_str topic, int32_t partition, kafka_arena *arena)
{
    if (!g->cfg.partition_exists)
        return 0;
    char *name = kafka_arena_alloc(arena, (size_t)(topic.len > 0 ? topic.len : 0) + 1);
    if (!name)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (topic.len > 0)
        memcpy(name, topic.ptr, (size_t)topic.len);
    return (int16_t)g->cfg.partition_exists(g->cfg.ctx, name, partition);
}

/* ---- commit checks --------------------------------------------------------- */

int16_t kmock_commit_checks(const kmock_groups *g, kafka_str topic, int32_t partition, kafka_str metadata,
                            kafka_arena *arena)
{
    int16_t err = kmock_partition_check(g, topic, partition, arena);
    if (!err && metadata.len > KMOCK_OFFSET_MAX_METADATA)
        err = KAFKA_ERR_OFFSET_METADATA_TOO_LARGE;
    return err;
}

int16_t kmock_validate_offset_commit(kmock_group *grp, kafka_str member_id, kafka_str instance_id, int32_t gen,
                                     bool transactional, int16_t version)
{
    if (grp->state == KMOCK_DEAD)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (grp->cg)
        return kmock_cgroup_validate_commit(grp->cg, member_id, instance_id, gen, transactional, version);
    if (gen < 0 && grp->state == KMOCK_EMPTY)
        return 0; /* a "simple" commit: admin client or manual assignment */
    if (gen >= 0 || member_id.len > 0 || instance_id.len >= 0) {
        kmock_member *m;
        int16_t err = kmock_validate_member(grp, member_id, instance_id, &m);
        if (err)
            return err;
        if (gen != grp->generation)
            return KAFKA_ERR_ILLEGAL_GENERATION;
    } else if (!transactional && grp->state != KMOCK_EMPTY) {
        /* only members commit into a live group; TxnOffsetCommit before v3
         * cannot name its member */
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    }
    if (!transactional && grp->state == KMOCK_COMPLETING_REBALANCE)
        return KAFKA_ERR_REBALANCE_IN_PROGRESS;
    return 0;
}
