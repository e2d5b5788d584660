/*
 * Partition balancers (kafka/balancer.h) and the writer's balancer state
 * (writer/balancer_internal.h).
 *
 * The state keeps one entry per topic: a round-robin position (atomic) and
 * the least-bytes counters (under the entry's mutex). Entries live in an
 * open-addressing table behind a read-write lock and are never removed
 * before the state is freed, so an entry pointer stays valid after the
 * table lock is released.
 */
#include "writer/balancer_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "protocol/crc32c.h"
#include "protocol/hash.h"

typedef struct lb_counter {
    int32_t partition;
    uint64_t bytes;
} lb_counter;

typedef struct topic_entry {
    char *name;
    uint32_t hash;
    atomic_uint_fast64_t rr; /* next round-robin position */
    pthread_mutex_t lock;    /* guards ids, counters, n */
    int32_t *ids;            /* the partition list last given, caller's order */
    lb_counter *counters;    /* one per partition, sorted by partition id */
    size_t n;
} topic_entry;

struct kafka_balancer_state {
    kafka_balancer cfg;
    pthread_rwlock_t lock; /* guards slots, cap, count (not the entries) */
    topic_entry **slots;   /* power-of-two sized; NULL = free */
    size_t cap;
    size_t count;
};

/* ---- key hashing (stateless) ------------------------------------------- */

static bool is_hash_kind(kafka_balancer_kind kind)
{
    return kind == KAFKA_BALANCER_MURMUR2 || kind == KAFKA_BALANCER_HASH ||
           kind == KAFKA_BALANCER_REFERENCE_HASH || kind == KAFKA_BALANCER_CRC32;
}

/* |int32(h)| computed without signed overflow: Go's (and sarama's)
 * int32(h) % n followed by negation equals |int32(h)| % n, and for
 * h == 0x80000000 both give 2^31 % n. */
static uint32_t abs_int32_bits(uint32_t h)
{
    return (h & 0x80000000u) ? 0u - h : h;
}

/* The position in a list of n partitions that `kind` maps the key to
 * (see the table in kafka/balancer.h). n >= 1, n <= INT32_MAX. */
static uint32_t hash_index(kafka_balancer_kind kind, const void *key, size_t len, uint32_t n)
{
    switch (kind) {
    case KAFKA_BALANCER_HASH:
        return abs_int32_bits(kafka_fnv1a32(key, len)) % n;
    case KAFKA_BALANCER_REFERENCE_HASH:
        return (kafka_fnv1a32(key, len) & 0x7fffffffu) % n;
    case KAFKA_BALANCER_CRC32:
        return kafka_crc32(0, key, len) % n;
    case KAFKA_BALANCER_MURMUR2:
    default:
        return (kafka_murmur2(key, len) & 0x7fffffffu) % n;
    }
}

/* Whether a hash balancer hashes this key or spreads the message
 * round-robin as keyless (rules in kafka/balancer.h). */
static bool key_is_hashed(const kafka_balancer *cfg, const void *key, size_t key_len)
{
    if (cfg->consistent)
        return true;
    if (!key)
        return false;
    /* librdkafka consistent_random and kafka-go CRC32Balancer treat an
     * empty key like a null one. */
    return !(cfg->kind == KAFKA_BALANCER_CRC32 && key_len == 0);
}

kafka_err kafka_partition_for_key(kafka_balancer_kind kind, const void *key,
                                  size_t key_len, int32_t n_partitions,
                                  int32_t *partition)
{
    if (!is_hash_kind(kind) || n_partitions < 1 || !partition || (!key && key_len))
        return KAFKA_ERR_INVALID_ARG;
    *partition = (int32_t)hash_index(kind, key, key_len, (uint32_t)n_partitions);
    return KAFKA_ERR_OK;
}

const char *kafka_balancer_kind_name(kafka_balancer_kind kind)
{
    switch (kind) {
    case KAFKA_BALANCER_MURMUR2: return "murmur2";
    case KAFKA_BALANCER_ROUND_ROBIN: return "round_robin";
    case KAFKA_BALANCER_LEAST_BYTES: return "least_bytes";
    case KAFKA_BALANCER_HASH: return "hash";
    case KAFKA_BALANCER_REFERENCE_HASH: return "reference_hash";
    case KAFKA_BALANCER_CRC32: return "crc32";
    case KAFKA_BALANCER_CUSTOM: return "custom";
    }
    return "unknown";
}

/* ---- topic table ---------------------------------------------------------- */

static void topic_entry_free(topic_entry *e)
{
    if (!e)
        return;
    pthread_mutex_destroy(&e->lock);
    kafka_free(e->name);
    kafka_free(e->ids);
    kafka_free(e->counters);
    kafka_free(e);
}

static topic_entry *topic_entry_new(const char *name, uint32_t hash)
{
    topic_entry *e = kafka_calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->name = kafka_strdup(name);
    if (!e->name || pthread_mutex_init(&e->lock, NULL) != 0) {
        kafka_free(e->name);
        kafka_free(e);
        return NULL;
    }
    e->hash = hash;
    atomic_init(&e->rr, 0);
    return e;
}

/* Slot holding `name`, or the free slot where it would go. Caller holds
 * the table lock; the table is never full (load <= 1/2). */
static size_t table_probe(topic_entry *const *slots, size_t cap, const char *name, uint32_t hash)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i] && (slots[i]->hash != hash || strcmp(slots[i]->name, name) != 0))
        i = (i + 1) & mask;
    return i;
}

/* Doubles the table. Caller holds the write lock. */
static bool table_grow(kafka_balancer_state *st)
{
    size_t ncap = st->cap ? st->cap * 2 : 16;
    topic_entry **ns = kafka_calloc(ncap, sizeof(*ns));
    if (!ns)
        return false;
    for (size_t i = 0; i < st->cap; i++) {
        topic_entry *e = st->slots[i];
        if (e)
            ns[table_probe(ns, ncap, e->name, e->hash)] = e;
    }
    kafka_free(st->slots);
    st->slots = ns;
    st->cap = ncap;
    return true;
}

static topic_entry *table_find(kafka_balancer_state *st, const char *name, uint32_t hash)
{
    topic_entry *e = NULL;
    pthread_rwlock_rdlock(&st->lock);
    if (st->cap)
        e = st->slots[table_probe(st->slots, st->cap, name, hash)];
    pthread_rwlock_unlock(&st->lock);
    return e;
}

/* The entry for `topic` (NULL counts as ""), created on first use when
 * `create`. NULL when absent (or out of memory while creating). */
static topic_entry *topic_get(kafka_balancer_state *st, const char *topic, bool create)
{
    const char *name = topic ? topic : "";
    uint32_t hash = kafka_fnv1a32(name, strlen(name));
    topic_entry *e = table_find(st, name, hash);
    if (e || !create)
        return e;

    pthread_rwlock_wrlock(&st->lock);
    /* Someone may have inserted it between the two locks. */
    if (st->cap)
        e = st->slots[table_probe(st->slots, st->cap, name, hash)];
    if (!e && ((st->count + 1) * 2 <= st->cap || table_grow(st))) {
        e = topic_entry_new(name, hash);
        if (e) {
            st->slots[table_probe(st->slots, st->cap, name, hash)] = e;
            st->count++;
        }
    }
    pthread_rwlock_unlock(&st->lock);
    return e;
}

/* ---- least-bytes counters -------------------------------------------------- */

static int counter_cmp(const void *a, const void *b)
{
    int32_t x = ((const lb_counter *)a)->partition;
    int32_t y = ((const lb_counter *)b)->partition;
    return (x > y) - (x < y);
}

static lb_counter *counter_find(lb_counter *c, size_t n, int32_t partition)
{
    if (n == 0)
        return NULL; /* c may be NULL: bsearch must not see it */
    lb_counter k = {.partition = partition};
    return bsearch(&k, c, n, sizeof(*c), counter_cmp);
}

/* Replaces the entry's counters for a new partition list: partitions that
 * stay keep their counts, new ones start at the smallest kept count (so a
 * partition added to the topic is not flooded until it catches up).
 * Caller holds e->lock. */
static bool counters_rebuild(topic_entry *e, const int32_t *partitions, size_t n)
{
    int32_t *ids = kafka_calloc(n, sizeof(*ids));
    lb_counter *nc = kafka_calloc(n, sizeof(*nc));
    if (!ids || !nc) {
        kafka_free(ids);
        kafka_free(nc);
        return false;
    }
    memcpy(ids, partitions, n * sizeof(*ids));

    bool any_kept = false;
    uint64_t floor = 0;
    bool *kept = kafka_calloc(n, sizeof(*kept));
    if (!kept) {
        kafka_free(ids);
        kafka_free(nc);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        nc[i].partition = partitions[i];
        lb_counter *old = counter_find(e->counters, e->n, partitions[i]);
        if (old) {
            nc[i].bytes = old->bytes;
            kept[i] = true;
            if (!any_kept || old->bytes < floor)
                floor = old->bytes;
            any_kept = true;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!kept[i])
            nc[i].bytes = floor;
    kafka_free(kept);
    qsort(nc, n, sizeof(*nc), counter_cmp);

    kafka_free(e->ids);
    kafka_free(e->counters);
    e->ids = ids;
    e->counters = nc;
    e->n = n;
    return true;
}

static kafka_err pick_least_bytes(topic_entry *e, uint64_t msg_bytes, const int32_t *partitions,
                                  size_t n, int32_t *out)
{
    kafka_err err = KAFKA_ERR_OK;
    pthread_mutex_lock(&e->lock);
    if (e->n != n || memcmp(e->ids, partitions, n * sizeof(*partitions)) != 0) {
        if (!counters_rebuild(e, partitions, n)) {
            err = KAFKA_ERR_NOMEM;
            goto out;
        }
    }
    /* Counters are sorted by id, so the first minimum is the lowest id. */
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (e->counters[i].bytes < e->counters[best].bytes)
            best = i;
    lb_counter *c = &e->counters[best];
    c->bytes = (UINT64_MAX - c->bytes < msg_bytes) ? UINT64_MAX : c->bytes + msg_bytes;
    *out = c->partition;
out:
    pthread_mutex_unlock(&e->lock);
    return err;
}

void kafka_balancer_add_bytes(kafka_balancer_state *st, const char *topic, int32_t partition,
                              int64_t delta)
{
    if (!st || st->cfg.kind != KAFKA_BALANCER_LEAST_BYTES)
        return;
    topic_entry *e = topic_get(st, topic, false);
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    lb_counter *c = counter_find(e->counters, e->n, partition);
    if (c) {
        if (delta >= 0) {
            uint64_t d = (uint64_t)delta;
            c->bytes = (UINT64_MAX - c->bytes < d) ? UINT64_MAX : c->bytes + d;
        } else {
            /* -(delta + 1) + 1 avoids negating INT64_MIN. */
            uint64_t d = (uint64_t)(-(delta + 1)) + 1;
            c->bytes = c->bytes < d ? 0 : c->bytes - d;
        }
    }
    pthread_mutex_unlock(&e->lock);
}

uint64_t kafka_balancer_bytes(kafka_balancer_state *st, const char *topic, int32_t partition)
{
    if (!st)
        return 0;
    topic_entry *e = topic_get(st, topic, false);
    if (!e)
        return 0;
    uint64_t v = 0;
    pthread_mutex_lock(&e->lock);
    lb_counter *c = counter_find(e->counters, e->n, partition);
    if (c)
        v = c->bytes;
    pthread_mutex_unlock(&e->lock);
    return v;
}

/* ---- the state and pick ---------------------------------------------------- */

kafka_err kafka_balancer_state_new(const kafka_balancer *cfg, kafka_balancer_state **out)
{
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    kafka_balancer c = cfg ? *cfg : (kafka_balancer){0};
    if ((unsigned)c.keyless > KAFKA_KEYLESS_ROUND_ROBIN)
        return KAFKA_ERR_INVALID_ARG;
    switch (c.kind) {
    case KAFKA_BALANCER_MURMUR2:
    case KAFKA_BALANCER_ROUND_ROBIN:
    case KAFKA_BALANCER_LEAST_BYTES:
    case KAFKA_BALANCER_HASH:
    case KAFKA_BALANCER_REFERENCE_HASH:
    case KAFKA_BALANCER_CRC32:
        break;
    case KAFKA_BALANCER_CUSTOM:
        if (!c.fn)
            return KAFKA_ERR_INVALID_ARG;
        break;
    default:
        return KAFKA_ERR_INVALID_ARG;
    }
    kafka_balancer_state *st = kafka_calloc(1, sizeof(*st));
    if (!st)
        return KAFKA_ERR_NOMEM;
    if (pthread_rwlock_init(&st->lock, NULL) != 0) {
        kafka_free(st);
        return KAFKA_ERR_NOMEM;
    }
    st->cfg = c;
    *out = st;
    return KAFKA_ERR_OK;
}

void kafka_balancer_state_free(kafka_balancer_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->cap; i++)
        topic_entry_free(st->slots[i]);
    kafka_free(st->slots);
    pthread_rwlock_destroy(&st->lock);
    kafka_free(st);
}

kafka_balancer_kind kafka_balancer_state_kind(const kafka_balancer_state *st)
{
    return st ? st->cfg.kind : KAFKA_BALANCER_DEFAULT;
}

static kafka_err pick_round_robin(kafka_balancer_state *st, const char *topic,
                                  const int32_t *partitions, size_t n, int32_t *out)
{
    topic_entry *e = topic_get(st, topic, true);
    if (!e)
        return KAFKA_ERR_NOMEM;
    uint_fast64_t pos = atomic_fetch_add_explicit(&e->rr, 1, memory_order_relaxed);
    *out = partitions[pos % n];
    return KAFKA_ERR_OK;
}

static kafka_err pick_custom(const kafka_balancer *cfg, const char *topic, const void *key,
                             size_t key_len, size_t value_len, const int32_t *partitions,
                             size_t n, int32_t *out)
{
    int32_t p = cfg->fn(cfg->privdata, topic ? topic : "", key, key_len, value_len, partitions, n);
    /* Trust nothing the callback returns: it must name a listed partition. */
    for (size_t i = 0; i < n; i++) {
        if (partitions[i] == p) {
            *out = p;
            return KAFKA_ERR_OK;
        }
    }
    return KAFKA_ERR_INVALID_ARG;
}

kafka_err kafka_balancer_pick(kafka_balancer_state *st, const char *topic, const void *key,
                              size_t key_len, size_t value_len, const int32_t *partitions,
                              size_t n, int32_t *partition_out)
{
    if (!st || !partitions || !partition_out || n == 0 || n > INT32_MAX || (!key && key_len))
        return KAFKA_ERR_INVALID_ARG;

    const kafka_balancer *cfg = &st->cfg;
    switch (cfg->kind) {
    case KAFKA_BALANCER_ROUND_ROBIN:
        return pick_round_robin(st, topic, partitions, n, partition_out);
    case KAFKA_BALANCER_LEAST_BYTES: {
        topic_entry *e = topic_get(st, topic, true);
        if (!e)
            return KAFKA_ERR_NOMEM;
        uint64_t bytes = (UINT64_MAX - key_len < value_len) ? UINT64_MAX
                                                             : (uint64_t)key_len + value_len;
        return pick_least_bytes(e, bytes, partitions, n, partition_out);
    }
    case KAFKA_BALANCER_CUSTOM:
        return pick_custom(cfg, topic, key, key_len, value_len, partitions, n, partition_out);
    default:
        break;
    }

    if (!key_is_hashed(cfg, key, key_len))
        return pick_round_robin(st, topic, partitions, n, partition_out);
    *partition_out = partitions[hash_index(cfg->kind, key, key_len, (uint32_t)n)];
    return KAFKA_ERR_OK;
}
