/*
 * "range" assignor, Java RangeAssignor semantics (without KIP-881 rack
 * awareness): per topic, the members subscribed to it in MemberInfo order
 * get contiguous ranges of partitions; with n partitions and k members,
 * each gets n / k and the first n % k get one more.
 */
#include "group/assignor.h"

/* Calls fn(member index, topic, first partition, count) for every range. */
typedef void (*range_fn)(void *ctx, size_t member, const kafka_topic_metadata *t, int32_t first, int32_t count);

static void range_walk(const kafka_group_member *members, const kafka_group_member *const *order, size_t n_members,
                       const kafka_topic_metadata *topics, size_t n_topics, const uint8_t *sub, range_fn fn,
                       void *ctx)
{
    for (size_t t = 0; t < n_topics; t++) {
        int32_t k = 0;
        for (size_t i = 0; i < n_members; i++)
            k += sub[(size_t)(order[i] - members) * n_topics + t];
        if (k == 0)
            continue;
        int32_t per = topics[t].partition_count / k;
        int32_t extra = topics[t].partition_count % k;
        int32_t pos = 0; /* rank among the topic's subscribers */
        for (size_t i = 0; i < n_members; i++) {
            size_t m = (size_t)(order[i] - members);
            if (!sub[m * n_topics + t])
                continue;
            int32_t start = per * pos + (pos < extra ? pos : extra);
            int32_t len = per + (pos < extra ? 1 : 0);
            if (len > 0)
                fn(ctx, m, &topics[t], start, len);
            pos++;
        }
    }
}

static void range_count(void *ctx, size_t member, const kafka_topic_metadata *t, int32_t first, int32_t count)
{
    size_t *counts = ctx;
    counts[member] += (size_t)count;
}

static void range_fill(void *ctx, size_t member, const kafka_topic_metadata *t, int32_t first, int32_t count)
{
    kafka_member_assignment *out = ctx;
    kafka_member_assignment *a = &out[member];
    for (int32_t p = first; p < first + count; p++) {
        a->partitions[a->n_partitions].topic = t->topic;
        a->partitions[a->n_partitions++].partition = p;
    }
}

static kafka_err range_assign(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
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
        range_walk(members, order, n_members, topics, n_topics, sub, range_count, counts);
        err = kafka_member_assignments_reserve(out, n_members, counts, arena);
        if (!err)
            range_walk(members, order, n_members, topics, n_topics, sub, range_fill, out);
    }
    kafka_arena_free(&scratch);
    return err;
}

const kafka_assignor kafka_assignor_range = {
    .name = "range",
    .protocol = KAFKA_REBALANCE_EAGER,
    .assign = range_assign,
};
