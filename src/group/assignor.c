/* Assignor table, input validation and helpers shared by the assignors. */
#include "group/assignor.h"

#include <stdlib.h>
#include <string.h>

const kafka_assignor *const kafka_builtin_assignors[] = {
    &kafka_assignor_range,
    &kafka_assignor_roundrobin,
    &kafka_assignor_cooperative_sticky,
    NULL,
};

const kafka_assignor *kafka_assignor_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; kafka_builtin_assignors[i]; i++)
        if (strcmp(kafka_builtin_assignors[i]->name, name) == 0)
            return kafka_builtin_assignors[i];
    return NULL;
}

void kafka_group_member_from_subscription(kafka_group_member *m, const char *member_id,
                                          const char *group_instance_id, const kafka_consumer_subscription *s)
{
    *m = (kafka_group_member){
        .member_id = member_id,
        .group_instance_id = group_instance_id,
        .topics = s->topics,
        .n_topics = s->n_topics,
        .owned = s->owned,
        .n_owned = s->n_owned,
        .generation = kafka_consumer_subscription_generation(s),
        .rack = s->rack,
    };
}

/* ---- helpers ------------------------------------------------------------ */

int kafka_group_member_cmp(const void *a, const void *b)
{
    const kafka_group_member *x = *(const kafka_group_member *const *)a;
    const kafka_group_member *y = *(const kafka_group_member *const *)b;
    if (x->group_instance_id && y->group_instance_id) {
        int c = strcmp(x->group_instance_id, y->group_instance_id);
        if (c)
            return c;
    } else if (x->group_instance_id) {
        return -1;
    } else if (y->group_instance_id) {
        return 1;
    }
    return strcmp(x->member_id, y->member_id);
}

const kafka_group_member **kafka_group_members_sorted(const kafka_group_member *members, size_t n,
                                                      kafka_arena *scratch)
{
    const kafka_group_member **v = kafka_arena_calloc(scratch, n, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = &members[i];
    if (n > 1)
        qsort(v, n, sizeof *v, kafka_group_member_cmp);
    return v;
}

int32_t kafka_topic_index(const kafka_topic_metadata *topics, size_t n_topics, const char *topic)
{
    size_t lo = 0, hi = n_topics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(topics[mid].topic, topic);
        if (c == 0)
            return (int32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint8_t *kafka_subscription_matrix(const kafka_group_member *members, size_t n_members,
                                   const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *scratch)
{
    if (n_topics && n_members > SIZE_MAX / n_topics)
        return NULL;
    uint8_t *m = kafka_arena_calloc(scratch, n_members * n_topics, 1);
    if (!m)
        return NULL;
    for (size_t i = 0; i < n_members; i++) {
        for (size_t j = 0; j < members[i].n_topics; j++) {
            int32_t t = kafka_topic_index(topics, n_topics, members[i].topics[j]);
            if (t >= 0)
                m[i * n_topics + (size_t)t] = 1;
        }
    }
    return m;
}

kafka_err kafka_member_assignments_reserve(kafka_member_assignment *out, size_t n, const size_t *counts,
                                           kafka_arena *arena)
{
    for (size_t i = 0; i < n; i++) {
        out[i].partitions = kafka_arena_calloc(arena, counts[i], sizeof *out[i].partitions);
        if (!out[i].partitions)
            return KAFKA_ERR_NOMEM;
        out[i].n_partitions = 0;
    }
    return 0;
}

/* ---- validation and driver ---------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_topic_md(const void *a, const void *b)
{
    return strcmp(((const kafka_topic_metadata *)a)->topic, ((const kafka_topic_metadata *)b)->topic);
}

static int cmp_tp(const void *a, const void *b)
{
    const kafka_topic_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static kafka_err check_members(const kafka_group_member *members, size_t n, kafka_arena *scratch)
{
    const char **ids = kafka_arena_calloc(scratch, n, sizeof *ids);
    if (!ids)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const kafka_group_member *m = &members[i];
        if (!m->member_id || (m->n_topics && !m->topics) || (m->n_owned && !m->owned))
            return KAFKA_ERR_INVALID_ARG;
        for (size_t j = 0; j < m->n_topics; j++)
            if (!m->topics[j])
                return KAFKA_ERR_INVALID_ARG;
        for (size_t j = 0; j < m->n_owned; j++)
            if (!m->owned[j].topic)
                return KAFKA_ERR_INVALID_ARG;
        ids[i] = m->member_id;
    }
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            return KAFKA_ERR_INVALID_ARG;
    return 0;
}

/* Copies the metadata of the topics someone subscribes to, sorted by name,
 * rejecting duplicates, negative counts and totals past the cap. */
static kafka_err prepare_topics(const kafka_group_member *members, size_t n_members,
                                const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *scratch,
                                kafka_topic_metadata **sorted, size_t *n_sorted)
{
    kafka_topic_metadata *v = kafka_arena_calloc(scratch, n_topics, sizeof *v);
    uint8_t *wanted = kafka_arena_calloc(scratch, n_topics, 1);
    if (!v || !wanted)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n_topics; i++) {
        if (!topics[i].topic || topics[i].partition_count < 0)
            return KAFKA_ERR_INVALID_ARG;
        v[i] = topics[i];
    }
    if (n_topics > 1)
        qsort(v, n_topics, sizeof *v, cmp_topic_md);
    for (size_t i = 1; i < n_topics; i++)
        if (strcmp(v[i - 1].topic, v[i].topic) == 0)
            return KAFKA_ERR_INVALID_ARG;
    for (size_t i = 0; i < n_members; i++) {
        for (size_t j = 0; j < members[i].n_topics; j++) {
            int32_t t = kafka_topic_index(v, n_topics, members[i].topics[j]);
            if (t >= 0)
                wanted[t] = 1;
        }
    }
    size_t k = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n_topics; i++) {
        if (!wanted[i])
            continue;
        total += (uint64_t)v[i].partition_count;
        if (total > KAFKA_ASSIGNOR_MAX_PARTITIONS)
            return KAFKA_ERR_TOO_LARGE;
        v[k++] = v[i];
    }
    *sorted = v;
    *n_sorted = k;
    return 0;
}

kafka_err kafka_assignor_assign(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
                                const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *arena,
                                kafka_member_assignment **out)
{
    if (!a || !a->assign || !arena || !out || (n_members && !members) || (n_topics && !topics))
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    kafka_arena scratch;
    kafka_arena_init(&scratch, 0);
    kafka_topic_metadata *sorted = NULL;
    size_t n_sorted = 0;
    kafka_err err = check_members(members, n_members, &scratch);
    if (!err)
        err = prepare_topics(members, n_members, topics, n_topics, &scratch, &sorted, &n_sorted);
    kafka_member_assignment *res = NULL;
    if (!err) {
        res = kafka_arena_calloc(arena, n_members, sizeof *res);
        if (!res)
            err = KAFKA_ERR_NOMEM;
    }
    for (size_t i = 0; !err && i < n_members; i++)
        res[i].member_id = members[i].member_id;
    if (!err && n_members)
        err = a->assign(a, members, n_members, sorted, n_sorted, arena, res);
    for (size_t i = 0; !err && i < n_members; i++)
        if (res[i].n_partitions > 1)
            qsort(res[i].partitions, res[i].n_partitions, sizeof *res[i].partitions, cmp_tp);
    kafka_arena_free(&scratch);
    if (!err)
        *out = res;
    return err;
}
