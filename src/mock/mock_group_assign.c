/*
 * Server-side assignors of the mock's KIP-848 consumer groups, and the
 * partition-set helpers they and the reconciliation use.
 *
 *  - "range": per topic, the subscribed members in member-id order get
 *    contiguous ranges, the first (partitions % members) one extra
 *    (Kafka's RangeAssignor rule).
 *  - "uniform" (the default, as in Kafka): partitions spread so that
 *    member counts differ by at most one when every member subscribes to
 *    the same topics, keeping each member's previous target where the
 *    balance allows (sticky); with different subscriptions, the most
 *    constrained partitions go first, each to its least-loaded eligible
 *    member.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_group_consumer.h"

/* ---- partition sets ------------------------------------------------------ */

static int tp_cmp(const kafka_uuid *ta, int32_t pa, const kafka_uuid *tb, int32_t pb)
{
    int c = memcmp(ta->b, tb->b, sizeof ta->b);
    if (c)
        return c;
    return pa < pb ? -1 : pa > pb;
}

typedef struct tp_key {
    const kmock_tps *s;
    const kafka_uuid *topic;
    int32_t partition;
} tp_key;

static int tp_cmp_at(const void *ctx, size_t i)
{
    const tp_key *k = ctx;
    return tp_cmp(&k->s->v[i].topic, k->s->v[i].partition, k->topic, k->partition);
}

static size_t tps_search(const kmock_tps *s, const kafka_uuid *topic, int32_t partition, bool *found)
{
    tp_key k = {s, topic, partition};
    return kmock_lower_bound(s->n, tp_cmp_at, &k, found);
}

bool kmock_tps_has(const kmock_tps *s, const kafka_uuid *topic, int32_t partition)
{
    bool found;
    (void)tps_search(s, topic, partition, &found);
    return found;
}

bool kmock_tps_add(kmock_tps *s, const kafka_uuid *topic, int32_t partition)
{
    bool found;
    size_t i = tps_search(s, topic, partition, &found);
    if (found)
        return true;
    if (!kafka_array_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v, 8))
        return false;
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = (kmock_tp){*topic, partition};
    s->n++;
    return true;
}

void kmock_tps_clear(kmock_tps *s) { s->n = 0; }

void kmock_tps_free(kmock_tps *s)
{
    kafka_free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

void kmock_tps_move(kmock_tps *dst, kmock_tps *src)
{
    kmock_tps_free(dst);
    *dst = *src;
    src->v = NULL;
    src->n = src->cap = 0;
}

bool kmock_tps_equal(const kmock_tps *a, const kmock_tps *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

/* ---- subscriptions --------------------------------------------------------- */

bool kmock_cmember_subscribes(const kmock_cmember *m, const char *topic)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i], topic) == 0)
            return true;
    return m->regex && regexec(&m->re, topic, 0, NULL, 0) == 0;
}

bool kmock_assignor_known(kafka_str name)
{
    return kafka_str_eq_c(name, "uniform") || kafka_str_eq_c(name, "range");
}

/* ---- the assignors ---------------------------------------------------------- */

static int member_id_cmp(const void *a, const void *b)
{
    const kmock_cmember *x = *(kmock_cmember *const *)a, *y = *(kmock_cmember *const *)b;
    return strcmp(x->id, y->id);
}

static bool assign_range(kmock_cgroup *cg, kmock_cmember **sorted)
{
    kmock_cmember **subs = kafka_calloc(cg->n_members ? cg->n_members : 1, sizeof *subs);
    if (!subs)
        return false;
    bool ok = true;
    for (size_t t = 0; t < cg->n_meta && ok; t++) {
        const kmock_topic_meta *tm = &cg->meta[t];
        size_t n = 0;
        for (size_t i = 0; i < cg->n_members; i++)
            if (kmock_cmember_subscribes(sorted[i], tm->name))
                subs[n++] = sorted[i];
        if (n == 0)
            continue;
        int32_t q = tm->partitions / (int32_t)n, extra = tm->partitions % (int32_t)n;
        for (size_t i = 0; i < n && ok; i++) {
            int32_t start = (int32_t)i * q + ((int32_t)i < extra ? (int32_t)i : extra);
            int32_t len = q + ((int32_t)i < extra);
            for (int32_t p = start; p < start + len && ok; p++)
                ok = kmock_tps_add(&subs[i]->target, &tm->id, p);
        }
    }
    kafka_free(subs);
    return ok;
}

/* One partition to place. */
typedef struct slot {
    size_t topic; /* index in cg->meta */
    int32_t partition;
    size_t eligible; /* members subscribed to the topic */
    bool placed;
} slot;

static int slot_constraint_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->eligible != y->eligible)
        return x->eligible < y->eligible ? -1 : 1;
    if (x->topic != y->topic)
        return x->topic < y->topic ? -1 : 1;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static bool assign_uniform(kmock_cgroup *cg, kmock_cmember **sorted, kmock_tps *previous)
{
    size_t total = 0;
    for (size_t t = 0; t < cg->n_meta; t++)
        total += (size_t)cg->meta[t].partitions;
    slot *slots = kafka_calloc(total ? total : 1, sizeof *slots);
    size_t *count = kafka_calloc(cg->n_members ? cg->n_members : 1, sizeof *count);
    if (!slots || !count) {
        kafka_free(slots);
        kafka_free(count);
        return false;
    }
    bool homogeneous = true;
    size_t n = 0;
    for (size_t t = 0; t < cg->n_meta; t++) {
        size_t eligible = 0;
        for (size_t i = 0; i < cg->n_members; i++)
            eligible += kmock_cmember_subscribes(sorted[i], cg->meta[t].name);
        homogeneous &= eligible == cg->n_members;
        for (int32_t p = 0; p < cg->meta[t].partitions; p++)
            slots[n++] = (slot){t, p, eligible, eligible == 0};
    }
    bool ok = true;
    if (homogeneous && cg->n_members > 0) {
        /* sticky pass: keep previous targets up to the balanced quota */
        size_t floor_q = total / cg->n_members, extra = total % cg->n_members;
        for (size_t i = 0; i < cg->n_members && ok; i++) {
            for (size_t s = 0; s < n && ok; s++) {
                if (slots[s].placed || !kmock_tps_has(&previous[i], &cg->meta[slots[s].topic].id, slots[s].partition))
                    continue;
                if (count[i] >= floor_q) {
                    if (count[i] > floor_q || extra == 0)
                        continue;
                    extra--;
                }
                ok = kmock_tps_add(&sorted[i]->target, &cg->meta[slots[s].topic].id, slots[s].partition);
                slots[s].placed = true;
                count[i]++;
            }
        }
    } else {
        qsort(slots, n, sizeof *slots, slot_constraint_cmp);
    }
    for (size_t s = 0; s < n && ok; s++) {
        if (slots[s].placed)
            continue;
        const kmock_topic_meta *tm = &cg->meta[slots[s].topic];
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < cg->n_members; i++)
            if ((best == SIZE_MAX || count[i] < count[best]) && kmock_cmember_subscribes(sorted[i], tm->name))
                best = i;
        if (best == SIZE_MAX)
            continue;
        ok = kmock_tps_add(&sorted[best]->target, &tm->id, slots[s].partition);
        count[best]++;
    }
    kafka_free(slots);
    kafka_free(count);
    return ok;
}

bool kmock_assign(kmock_cgroup *cg, const char *assignor)
{
    size_t n = cg->n_members;
    kmock_cmember **sorted = kafka_calloc(n ? n : 1, sizeof *sorted);
    kmock_tps *previous = kafka_calloc(n ? n : 1, sizeof *previous);
    if (!sorted || !previous) {
        kafka_free(sorted);
        kafka_free(previous);
        return false;
    }
    memcpy(sorted, cg->members, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, member_id_cmp);
    for (size_t i = 0; i < n; i++)
        kmock_tps_move(&previous[i], &sorted[i]->target);
    bool ok = strcmp(assignor, "range") == 0 ? assign_range(cg, sorted) : assign_uniform(cg, sorted, previous);
    for (size_t i = 0; i < n; i++) {
        if (!ok)
            kmock_tps_clear(&sorted[i]->target);
        kmock_tps_free(&previous[i]);
    }
    kafka_free(sorted);
    kafka_free(previous);
    return ok;
}
