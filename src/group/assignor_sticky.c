/*
 * "cooperative-sticky" assignor: the semantics of Java's
 * CooperativeStickyAssignor with our own, simpler algorithm.
 *
 *   1. Keep. Each member keeps the partitions it owns (subscription v1+)
 *      if its generation is the group's highest, it still subscribes to the
 *      topic, the partition exists, and no other member of that generation
 *      claims it. When all members subscribe to the same topics, a member
 *      keeps at most ceil(P / N) (its first ones in the order it listed
 *      them), as Java does. Then, newest generation first, partitions
 *      that only members of an older generation claim (and no newer member
 *      does) go back to their claimer, if it is the only one of its
 *      generation.
 *   2. Fill. Every other partition, those with the fewest eligible members
 *      first, goes to the eligible member holding the fewest partitions
 *      (ties: MemberInfo order).
 *   3. Balance. While some member A holds at least two more partitions than
 *      a member B that could take one of A's partitions, move one, starting
 *      with the ones A got last (new ones before kept ones). Each move lowers
 *      the sum of squared counts, so this ends; with equal subscriptions it
 *      ends balanced within one.
 *   4. Cooperative rule. A partition not kept in step 1 by its final
 *      member, while another member still lists it as owned (any
 *      generation), is left out of this assignment: its owner revokes it and
 *      rejoins, and the follow-up rebalance hands it over. So a partition
 *      never moves directly between two members within one rebalance, and
 *      one that two members of the newest generation both claimed is
 *      withheld from both (Java does the same).
 *
 * Not ported: Java's general-case partition-movement bookkeeping, and rack
 * awareness. Cost is O(P * N) for the fill plus O(N log N + |A| * N) per
 * balancing move, fine for groups of hundreds of members and partitions in
 * the tens of thousands.
 */
#include "group/assignor.h"

#include <stdlib.h>
#include <string.h>

typedef struct sticky {
    const kafka_group_member *members;
    size_t n;
    const kafka_topic_metadata *topics;
    size_t nt;
    const uint8_t *sub; /* n x nt subscription matrix */
    size_t *base;       /* per topic: global index of partition 0 */
    size_t np;          /* total partitions */
    int32_t *topic_of;  /* per partition */
    /* current assignment: owner per partition, and per member a doubly
     * linked list of its partitions in the order it got them */
    int32_t *owner, *next, *prev, *head, *tail;
    size_t *count;
    size_t *rank; /* member's position in MemberInfo order */
    /* raw ownership claims (any generation), for the cooperative rule */
    int32_t *claim_last;
    uint32_t *claim_n;
    uint8_t *kept;  /* kept by its owner in step 1 and not moved since */
    uint8_t *self;  /* scratch for emit: the final owner lists it as owned */
} sticky;

/* ---- bookkeeping -------------------------------------------------------- */

static void give(sticky *s, int32_t g, int32_t m)
{
    s->owner[g] = m;
    s->next[g] = -1;
    s->prev[g] = s->tail[m];
    if (s->tail[m] >= 0)
        s->next[s->tail[m]] = g;
    else
        s->head[m] = g;
    s->tail[m] = g;
    s->count[m]++;
}

static void take(sticky *s, int32_t g)
{
    int32_t m = s->owner[g];
    if (s->prev[g] >= 0)
        s->next[s->prev[g]] = s->next[g];
    else
        s->head[m] = s->next[g];
    if (s->next[g] >= 0)
        s->prev[s->next[g]] = s->prev[g];
    else
        s->tail[m] = s->prev[g];
    s->owner[g] = -1;
    s->kept[g] = 0;
    s->count[m]--;
}

static bool subscribes(const sticky *s, size_t m, int32_t t) { return s->sub[m * s->nt + (size_t)t] != 0; }

/* Global index of an owned entry, or -1 if the topic or partition is not
 * in this assignment's metadata. */
static int32_t global_index(const sticky *s, const kafka_topic_partition *tp)
{
    int32_t t = kafka_topic_index(s->topics, s->nt, tp->topic);
    if (t < 0 || tp->partition < 0 || tp->partition >= s->topics[t].partition_count)
        return -1;
    return (int32_t)(s->base[t] + (size_t)tp->partition);
}

/* The eligible member (subscribed to t, not `except`) with the fewest
 * partitions, ties by rank; -1 if none. */
static int32_t least_loaded(const sticky *s, int32_t t, int32_t except)
{
    int32_t best = -1;
    for (size_t m = 0; m < s->n; m++) {
        if ((int32_t)m == except || !subscribes(s, m, t))
            continue;
        if (best < 0 || s->count[m] < s->count[best] ||
            (s->count[m] == s->count[best] && s->rank[m] < s->rank[best]))
            best = (int32_t)m;
    }
    return best;
}

/* ---- setup -------------------------------------------------------------- */

#define ALLOC(s, field, n, scratch)                                                                   \
    ((s)->field = kafka_arena_calloc((scratch), (n), sizeof *(s)->field), (s)->field != NULL)

static kafka_err sticky_init(sticky *s, const kafka_group_member *members, size_t n,
                             const kafka_topic_metadata *topics, size_t nt, kafka_arena *scratch)
{
    if (n > UINT32_MAX) /* balance_step packs ranks in 32 bits */
        return KAFKA_ERR_TOO_LARGE;
    s->members = members;
    s->n = n;
    s->topics = topics;
    s->nt = nt;
    s->sub = kafka_subscription_matrix(members, n, topics, nt, scratch);
    if (!s->sub || !ALLOC(s, base, nt, scratch))
        return KAFKA_ERR_NOMEM;
    s->np = 0;
    for (size_t t = 0; t < nt; t++) {
        s->base[t] = s->np;
        s->np += (size_t)topics[t].partition_count;
    }
    size_t np = s->np;
    if (!ALLOC(s, topic_of, np, scratch) || !ALLOC(s, owner, np, scratch) || !ALLOC(s, next, np, scratch) ||
        !ALLOC(s, prev, np, scratch) || !ALLOC(s, head, n, scratch) || !ALLOC(s, tail, n, scratch) ||
        !ALLOC(s, count, n, scratch) || !ALLOC(s, rank, n, scratch) || !ALLOC(s, claim_last, np, scratch) ||
        !ALLOC(s, claim_n, np, scratch) || !ALLOC(s, kept, np, scratch) || !ALLOC(s, self, np, scratch))
        return KAFKA_ERR_NOMEM;
    for (size_t t = 0; t < nt; t++)
        for (int32_t p = 0; p < topics[t].partition_count; p++)
            s->topic_of[s->base[t] + (size_t)p] = (int32_t)t;
    for (size_t g = 0; g < np; g++)
        s->owner[g] = s->claim_last[g] = -1;
    for (size_t m = 0; m < n; m++)
        s->head[m] = s->tail[m] = -1;
    const kafka_group_member **order = kafka_group_members_sorted(members, n, scratch);
    if (!order)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        s->rank[order[i] - members] = i;
    return 0;
}

/* Counts every member's raw claims (any generation); a member listing a
 * partition twice claims it once. */
static void record_claims(sticky *s)
{
    for (size_t m = 0; m < s->n; m++) {
        for (size_t j = 0; j < s->members[m].n_owned; j++) {
            int32_t g = global_index(s, &s->members[m].owned[j]);
            if (g < 0 || s->claim_last[g] == (int32_t)m)
                continue;
            s->claim_n[g]++;
            s->claim_last[g] = (int32_t)m;
        }
    }
}

static bool subscriptions_equal(const sticky *s)
{
    for (size_t m = 1; m < s->n; m++)
        if (memcmp(s->sub, s->sub + m * s->nt, s->nt) != 0)
            return false;
    return true;
}

/* ---- step 1: keep ------------------------------------------------------- */

/* Claims by members of generation `gen`: per partition, how many distinct
 * members and which (the last one seen). */
static void count_claims_of_generation(const sticky *s, int32_t gen, uint32_t *n_claims, int32_t *who)
{
    for (size_t m = 0; m < s->n; m++) {
        const kafka_group_member *mb = &s->members[m];
        if (mb->generation != gen)
            continue;
        for (size_t j = 0; j < mb->n_owned; j++) {
            int32_t g = global_index(s, &mb->owned[j]);
            if (g < 0 || !subscribes(s, m, s->topic_of[g]) || who[g] == (int32_t)m)
                continue;
            n_claims[g]++;
            who[g] = (int32_t)m;
        }
    }
}

/* Gives each member of generation `gen` the partitions only it claims (in
 * that generation) and no newer generation claims, up to `cap`, in the
 * order it listed them. */
static void keep_generation(sticky *s, int32_t gen, size_t cap, const uint32_t *n_claims, const int32_t *who,
                            const uint8_t *newer)
{
    for (size_t m = 0; m < s->n; m++) {
        const kafka_group_member *mb = &s->members[m];
        if (mb->generation != gen)
            continue;
        for (size_t j = 0; j < mb->n_owned && s->count[m] < cap; j++) {
            int32_t g = global_index(s, &mb->owned[j]);
            if (g >= 0 && s->owner[g] < 0 && !newer[g] && n_claims[g] == 1 && who[g] == (int32_t)m) {
                give(s, g, (int32_t)m);
                s->kept[g] = 1;
            }
        }
    }
}

static int cmp_i32_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

/* Keeps the newest generation's claims, then older generations' claims on
 * what is still free, newest first. */
static kafka_err keep_owned(sticky *s, size_t cap, kafka_arena *scratch)
{
    int32_t *gens = kafka_arena_calloc(scratch, s->n, sizeof *gens);
    uint32_t *n_claims = kafka_arena_calloc(scratch, s->np, sizeof *n_claims);
    int32_t *who = kafka_arena_calloc(scratch, s->np, sizeof *who);
    uint8_t *newer = kafka_arena_calloc(scratch, s->np, 1);
    if (!gens || !n_claims || !who || !newer)
        return KAFKA_ERR_NOMEM;
    for (size_t m = 0; m < s->n; m++)
        gens[m] = s->members[m].generation;
    qsort(gens, s->n, sizeof *gens, cmp_i32_desc);
    for (size_t i = 0; i < s->n; i++) {
        if (i > 0 && gens[i] == gens[i - 1])
            continue;
        memset(n_claims, 0, s->np * sizeof *n_claims);
        for (size_t g = 0; g < s->np; g++)
            who[g] = -1;
        count_claims_of_generation(s, gens[i], n_claims, who);
        keep_generation(s, gens[i], cap, n_claims, who, newer);
        for (size_t g = 0; g < s->np; g++)
            newer[g] |= n_claims[g] != 0;
    }
    return 0;
}

/* ---- step 2: fill ------------------------------------------------------- */

typedef struct fill_item {
    int32_t g;
    size_t eligible; /* members subscribed to its topic */
} fill_item;

static int cmp_fill(const void *a, const void *b)
{
    const fill_item *x = a, *y = b;
    if (x->eligible != y->eligible)
        return x->eligible < y->eligible ? -1 : 1;
    return (x->g > y->g) - (x->g < y->g);
}

static kafka_err fill_free(sticky *s, kafka_arena *scratch)
{
    size_t *eligible = kafka_arena_calloc(scratch, s->nt, sizeof *eligible);
    fill_item *items = kafka_arena_calloc(scratch, s->np, sizeof *items);
    if (!eligible || !items)
        return KAFKA_ERR_NOMEM;
    for (size_t t = 0; t < s->nt; t++)
        for (size_t m = 0; m < s->n; m++)
            eligible[t] += subscribes(s, m, (int32_t)t);
    size_t k = 0;
    for (size_t g = 0; g < s->np; g++)
        if (s->owner[g] < 0)
            items[k++] = (fill_item){(int32_t)g, eligible[s->topic_of[g]]};
    if (k > 1)
        qsort(items, k, sizeof *items, cmp_fill);
    for (size_t i = 0; i < k; i++) {
        int32_t m = least_loaded(s, s->topic_of[items[i].g], -1);
        if (m >= 0) /* always: only subscribed topics are here */
            give(s, items[i].g, m);
    }
    return 0;
}

/* ---- step 3: balance ---------------------------------------------------- */

static int cmp_u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* Moves one partition from the most loaded member that can give one to a
 * member at least two lighter; false when none can. Members are tried by
 * load, heaviest first, ties in MemberInfo order: the sort key packs the
 * count above the inverted rank (qsort has no context argument). */
static bool balance_step(sticky *s, uint64_t *keys, const size_t *by_rank)
{
    size_t min = s->count[0];
    for (size_t m = 0; m < s->n; m++) {
        keys[m] = ((uint64_t)s->count[m] << 32) | (UINT32_MAX - (uint32_t)s->rank[m]);
        if (s->count[m] < min)
            min = s->count[m];
    }
    qsort(keys, s->n, sizeof *keys, cmp_u64_desc);
    for (size_t i = 0; i < s->n; i++) {
        int32_t a = (int32_t)by_rank[UINT32_MAX - (uint32_t)keys[i]];
        if (s->count[a] < min + 2)
            return false;
        for (int32_t g = s->tail[a]; g >= 0; g = s->prev[g]) {
            int32_t b = least_loaded(s, s->topic_of[g], a);
            if (b >= 0 && s->count[b] + 2 <= s->count[a]) {
                take(s, g);
                give(s, g, b);
                return true;
            }
        }
    }
    return false;
}

static kafka_err balance(sticky *s, kafka_arena *scratch)
{
    uint64_t *keys = kafka_arena_calloc(scratch, s->n, sizeof *keys);
    size_t *by_rank = kafka_arena_calloc(scratch, s->n, sizeof *by_rank);
    if (!keys || !by_rank)
        return KAFKA_ERR_NOMEM;
    for (size_t m = 0; m < s->n; m++)
        by_rank[s->rank[m]] = m;
    while (balance_step(s, keys, by_rank))
        ;
    return 0;
}

/* ---- step 4: output with the cooperative rule --------------------------- */

/* Marks the partitions whose final owner lists them as owned. */
static void mark_self_claims(sticky *s)
{
    for (size_t m = 0; m < s->n; m++) {
        for (size_t j = 0; j < s->members[m].n_owned; j++) {
            int32_t g = global_index(s, &s->members[m].owned[j]);
            if (g >= 0 && s->owner[g] == (int32_t)m)
                s->self[g] = 1;
        }
    }
}

/* The cooperative rule (Java's "partitions transferring ownership"): g is
 * withheld when another member still lists it as owned, unless its owner
 * kept it in step 1. A partition two members of the newest generation both
 * claimed was kept by neither, so it is withheld from both, as Java does. */
static bool withheld(const sticky *s, size_t g)
{
    if (s->kept[g])
        return false;
    return s->claim_n[g] > (s->self[g] ? 1u : 0u);
}

static kafka_err emit(sticky *s, kafka_arena *arena, kafka_arena *scratch, kafka_member_assignment *out)
{
    size_t *counts = kafka_arena_calloc(scratch, s->n, sizeof *counts);
    if (!counts)
        return KAFKA_ERR_NOMEM;
    mark_self_claims(s);
    for (size_t g = 0; g < s->np; g++)
        if (s->owner[g] >= 0 && !withheld(s, g))
            counts[s->owner[g]]++;
    kafka_err err = kafka_member_assignments_reserve(out, s->n, counts, arena);
    for (size_t g = 0; !err && g < s->np; g++) {
        int32_t m = s->owner[g];
        if (m < 0 || withheld(s, g))
            continue;
        const kafka_topic_metadata *t = &s->topics[s->topic_of[g]];
        out[m].partitions[out[m].n_partitions].topic = t->topic;
        out[m].partitions[out[m].n_partitions++].partition = (int32_t)(g - s->base[s->topic_of[g]]);
    }
    return err;
}

static kafka_err sticky_run(sticky *s, kafka_arena *arena, kafka_arena *scratch, kafka_member_assignment *out)
{
    record_claims(s);
    size_t cap = SIZE_MAX;
    if (subscriptions_equal(s))
        cap = (s->np + s->n - 1) / s->n;
    kafka_err err = keep_owned(s, cap, scratch);
    if (!err)
        err = fill_free(s, scratch);
    if (!err)
        err = balance(s, scratch);
    if (!err)
        err = emit(s, arena, scratch, out);
    return err;
}

static kafka_err sticky_assign(const kafka_assignor *a, const kafka_group_member *members, size_t n_members,
                               const kafka_topic_metadata *topics, size_t n_topics, kafka_arena *arena,
                               kafka_member_assignment *out)
{
    kafka_arena scratch;
    kafka_arena_init(&scratch, 0);
    sticky s;
    kafka_err err = sticky_init(&s, members, n_members, topics, n_topics, &scratch);
    if (!err)
        err = sticky_run(&s, arena, &scratch, out);
    kafka_arena_free(&scratch);
    return err;
}

const kafka_assignor kafka_assignor_cooperative_sticky = {
    .name = "cooperative-sticky",
    .protocol = KAFKA_REBALANCE_COOPERATIVE,
    .assign = sticky_assign,
};
