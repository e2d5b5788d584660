/*
 * "roundrobin" assignor, Java RoundRobinAssignor semantics: all partitions
 * of all subscribed topics, sorted by topic then partition, are dealt to
 * the members in MemberInfo order, one at a time in a circle; a member not
 * subscribed to a partition's topic is skipped for that partition (the
 * circle then continues after the member that took it).
 */
#include "group/assignor.h"

/* Deals every partition; with out == NULL only counts into counts[]. */
static void deal(const kafka_group_member *members, const kafka_group_member *const *order, size_t n_members,
                 const kafka_topic_metadata *topics, size_t n_topics, const uint8_t *sub, size_t *counts,
                 kafka_member_assignment *out)
{
    size_t c = 0; /* the circular iterator's position in `order` */
    for (size_t t = 0; t < n_topics; t++) {
        for (int32_t p = 0; p < topics[t].partition_count; p++) {
            /* Someone subscribes to every topic we were given, so this
             * loop stops within n_members steps. */
            while (!sub[(size_t)(order[c] - members) * n_topics + t])
                c = (c + 1) % n_members;
            size_t m = (size_t)(order[c] - members);
            c = (c + 1) % n_members;
            if (!out) {
                counts[m]++;
                continue;
            }
            out[m].partitions[out[m].n_partitions].topic = topics[t].topic;
            out[m].partitions[out[m].n_partitions++].partition = p;
        }
    }
}

static kafka_err roundrobin_assign(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
                                   const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *arena,
                                   kafka_member_assignment *out)
{
    kafka_arena scratch;
    kafka_arena_init(&scratch, 0);
    kafka_err err = KAFKA_ERR_NOMEM;
    const kafka_group_member **order = kafka_group_members_sorted(members, n_members, &scratch);
    uint8_t *sub = kafka_subscription_matrix(members, n_members, topics, n_topics, &scratch);
    size_t *counts = kafka_arena_calloc(&scratch, n_members, sizeof *counts);
    if (order && sub && counts) {
        deal(members, order, n_members, topics, n_topics, sub, counts, NULL);
        err = kafka_member_assignments_reserve(out, n_members, counts, arena);
        if (!err)
            deal(members, order, n_members, topics, n_topics, sub, counts, out);
    }
    kafka_arena_free(&scratch);
    return err;
}

const kafka_assignor kafka_assignor_roundrobin = {
    .name = "roundrobin",
    .protocol = KAFKA_REBALANCE_EAGER,
    .assign = roundrobin_assign,
};
