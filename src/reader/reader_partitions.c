/* kafka_reader, partition mode: the set of partitions one reader reads
 * without a group (config.partition, config.partitions or
 * config.all_partitions; reader.h). All of them go to the same I/O thread
 * (kr_part_start), so their number costs no thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "cluster/cluster_util.h"
#include "reader/reader_internal.h"

static kafka_err bad(char *eb, size_t el, const char *msg)
{
    if (eb && el)
        snprintf(eb, el, "%s", msg);
    return KAFKA_ERR_INVALID_ARG;
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_start(const void *a, const void *b)
{
    const kr_part_start_at *x = a, *y = b;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static int64_t start_offset(const kafka_reader *r)
{
    return r->cfg.start_offset == KAFKA_START_AT     ? r->cfg.start_at
           : r->cfg.start_offset == KAFKA_START_LAST ? KAFKA_OFFSET_LAST
                                                     : KAFKA_OFFSET_FIRST;
}

kafka_err kr_partitions_validate(const kafka_reader_config *c, char *eb, size_t el)
{
    bool list = c->partitions != NULL || c->n_partitions != 0;
    if (c->start_offsets && !list)
        return bad(eb, el, "start_offsets: needs partitions (one per listed partition)");
    if (!list && !c->all_partitions)
        return 0;
    if (c->group_id)
        return bad(eb, el, "partitions / all_partitions and group_id: the group assigns the partitions");
    if (c->partition != 0)
        return bad(eb, el, "partition and partitions / all_partitions: set one, not both");
    if (list && c->all_partitions)
        return bad(eb, el, "partitions and all_partitions: set one or the other, not both");
    if (list && (!c->partitions || !c->n_partitions))
        return bad(eb, el, "partitions: set both partitions and n_partitions (> 0)");
    for (size_t i = 0; list && i < c->n_partitions; i++)
        if (c->partitions[i] < 0)
            return bad(eb, el, "partitions: ids must be >= 0");
    for (size_t i = 0; list && c->start_offsets && i < c->n_partitions; i++)
        if (c->start_offsets[i] < KAFKA_OFFSET_FIRST)
            return bad(eb, el, "start_offsets: an offset >= 0, KAFKA_OFFSET_FIRST or KAFKA_OFFSET_LAST");
    if (!list)
        return 0;
    int32_t *ids = kafka_calloc(c->n_partitions, sizeof *ids);
    if (!ids)
        return KAFKA_ERR_NOMEM;
    memcpy(ids, c->partitions, c->n_partitions * sizeof *ids);
    qsort(ids, c->n_partitions, sizeof *ids, cmp_id);
    bool dup = false;
    for (size_t i = 1; i < c->n_partitions; i++)
        dup = dup || ids[i] == ids[i - 1];
    kafka_free(ids);
    return dup ? bad(eb, el, "partitions: an id is listed twice") : 0;
}

kafka_err kr_partitions_copy(kafka_reader *r, const kafka_reader_config *cfg)
{
    r->cfg.partitions = NULL;
    r->cfg.n_partitions = 0;
    if (r->group_mode)
        return 0;
    if (cfg->all_partitions) {
        r->multi = true;
        r->all_pending = true;
        return 0;
    }
    r->cfg.start_offsets = NULL;
    size_t n = cfg->n_partitions ? cfg->n_partitions : 1;
    r->part_ids = kafka_calloc(n, sizeof *r->part_ids);
    if (!r->part_ids)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        r->part_ids[i].partition = cfg->n_partitions ? cfg->partitions[i] : cfg->partition;
        r->part_ids[i].offset = cfg->start_offsets ? cfg->start_offsets[i] : start_offset(r);
    }
    qsort(r->part_ids, n, sizeof *r->part_ids, cmp_start); /* no duplicates: validated */
    r->n_part_ids = n;
    r->multi = n > 1;
    /* One partition from the list is the single-partition reader. */
    r->cfg.partition = r->part_ids[0].partition;
    return 0;
}

kafka_err kr_partitions_start(kafka_reader *r)
{
    kafka_err err = 0;
    for (size_t i = 0; !err && i < r->n_part_ids; i++)
        err = kr_part_start(r, r->cfg.topic, r->part_ids[i].partition, r->part_ids[i].offset);
    return err;
}

int64_t kr_partitions_resolve_all(kafka_reader *r, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    bool pending = r->all_pending && !r->closing;
    pthread_mutex_unlock(&r->mu);
    if (!pending)
        return -1;
    if (r->all_retry_at > now)
        return r->all_retry_at;
    const kafka_cluster_topic *t = NULL;
    bool refresh = false;
    kafka_err err = kafka_cluster_topic_cached(r->kc, r->cfg.topic, now, &t, &refresh);
    if (refresh && ke_meta_want(&r->md, r->cfg.topic) && !err)
        err = KAFKA_ERR_NOMEM;
    if (!err && !t)
        return -1; /* the refresh's answer (or failure) brings the next turn */
    if (!err && t->n_partitions <= 0)
        err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    int32_t n = !err ? t->n_partitions : 0;
    int32_t *ids = n ? kafka_calloc((size_t)n, sizeof *ids) : NULL;
    if (n && !ids)
        err = KAFKA_ERR_NOMEM;
    for (int32_t i = 0; ids && i < n; i++)
        ids[i] = t->partition_ids[i];
    if (t)
        kafka_cluster_topic_release(r->kc, t);
    for (int32_t i = 0; !err && i < n; i++)
        err = kr_part_start(r, r->cfg.topic, ids[i], start_offset(r));
    kafka_free(ids);
    if (err == KAFKA_ERR_CLOSED)
        return -1;
    if (err && n) {
        /* Part of the list started and then no memory: the parts started
         * keep flowing; say so rather than retry (which would duplicate
         * them). */
        kr_error(r, err, "all_partitions of %s: starting partitions: %s", r->cfg.topic, kafka_err_str(err));
        n = 0;
        err = 0;
    }
    if (err)
        return kr_partitions_failed(r, err, kafka_err_str(err), now);
    pthread_mutex_lock(&r->mu);
    r->all_pending = false;
    pthread_cond_broadcast(&r->cond_data);
    pthread_cond_broadcast(&r->cond_space);
    pthread_mutex_unlock(&r->mu);
    return -1;
}

int64_t kr_partitions_failed(kafka_reader *r, kafka_err err, const char *why, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    bool pending = r->all_pending && !r->closing;
    if (pending) {
        snprintf(r->last_error, sizeof r->last_error, "all_partitions of %s: metadata: %s", r->cfg.topic,
                 why && *why ? why : kafka_err_str(err));
        r->st.errors++;
        if (err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION || kafka_cluster_err_for_reader(err)) {
            r->deliver_err = err;
            pthread_cond_broadcast(&r->cond_data);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (!pending)
        return -1;
    r->all_retry_at = now + kafka_backoff_ms(1, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms);
    return r->all_retry_at;
}

kafka_err kr_partitions_wait_known_locked(kafka_reader *r, int64_t deadline)
{
    while (r->all_pending) {
        if (r->closing)
            return KAFKA_ERR_CLOSED;
        int64_t left = deadline < 0 ? 1000 : deadline - kafka_now_ms();
        if (left <= 0)
            return KAFKA_ERR_TIMEOUT;
        kr_cond_wait_ms(&r->cond_space, &r->mu, left);
    }
    return 0;
}
