/* Group lag: DescribeGroups (assignments, state), OffsetFetch (commits),
 * ListOffsets earliest and latest of every partition of every topic the
 * group commits to or is assigned, merged per partition. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_groups.h"
#include "admin/admin_leaders.h"
#include "common/alloc.h"

void kafka_admin_group_lag_free(kafka_admin_group_lag *l) { admin_result_free(l); }

/* The distinct topics of commits and assignments, as "every partition"
 * requests; *n may be 0. */
static kafka_admin_tp *lag_topics(const kafka_admin_group_offsets *c, const kafka_admin_group *g, size_t *n)
{
    size_t cap = c->n + 1;
    for (size_t m = 0; g && m < g->n_members; m++)
        cap += g->members[m].n_assigned;
    kafka_admin_tp *tp = kafka_calloc(cap, sizeof *tp);
    if (!tp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < cap; i++) {
        const char *t = NULL;
        if (i < c->n) {
            t = c->offsets[i].topic;
        } else {
            size_t j = i - c->n;
            for (size_t m = 0; g && m < g->n_members && !t; m++) {
                if (j < g->members[m].n_assigned)
                    t = g->members[m].assigned[j].topic;
                else
                    j -= g->members[m].n_assigned;
            }
        }
        bool seen = !t;
        for (size_t x = 0; !seen && x < k; x++)
            seen = strcmp(tp[x].topic, t) == 0;
        if (!seen)
            tp[k++] = (kafka_admin_tp){t, -1};
    }
    *n = k;
    return tp;
}

static const kafka_admin_group_offset *commit_of(const kafka_admin_group_offsets *c, const char *topic, int32_t p)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->offsets[i].partition == p && strcmp(c->offsets[i].topic, topic) == 0)
            return &c->offsets[i];
    return NULL;
}

static const kafka_admin_offset *start_of(kafka_admin_offsets *o, const char *topic, int32_t p)
{
    return o ? admin_offsets_find(o, kafka_str_c(topic), p) : NULL;
}

static const char *owner_of(const kafka_admin_group *g, const char *topic, int32_t p)
{
    for (size_t m = 0; g && m < g->n_members; m++)
        for (size_t i = 0; i < g->members[m].n_assigned; i++)
            if (g->members[m].assigned[i].partition == p && strcmp(g->members[m].assigned[i].topic, topic) == 0)
                return g->members[m].member_id;
    return NULL;
}

static kafka_err compute(kafka_admin *a, const char *group, int64_t deadline, kafka_admin_group_lag **out)
{
    kafka_arena *ar = NULL;
    kafka_admin_group_lag *l = admin_result_new(sizeof *l, &ar);
    if (!l || !(l->group = admin_strz(ar, group))) {
        admin_result_free(l);
        return admin_fail(a, KAFKA_ERR_NOMEM, "lag: out of memory");
    }
    kafka_admin_group g = {0};
    kafka_admin_group *gp = &g;
    kafka_err err = admin_describe_group(a, group, deadline, ar, &g);
    if (err == KAFKA_ERR_NO_COMMON_VERSION) { /* commits only */
        gp = NULL;
        err = 0;
    } else if (!err) {
        l->state = g.state;
    }
    kafka_admin_group_offsets *c = NULL;
    if (!err)
        err = admin_fetch_offsets(a, group, deadline, &c);
    if (err == KAFKA_ERR_UNSTABLE_OFFSET_COMMIT || (c && err))
        err = 0; /* item errors: reported per partition below */
    size_t nt = 0;
    kafka_admin_tp *topics = err ? NULL : lag_topics(c, gp, &nt);
    if (!err && !topics)
        err = KAFKA_ERR_NOMEM;
    kafka_admin_offsets *start = NULL, *end = NULL;
    if (!err && nt) {
        kafka_err e = admin_list_offsets(a, topics, nt, KAFKA_ADMIN_OFFSET_EARLIEST, deadline, &start);
        if (!start)
            err = e;
        e = err ? err : admin_list_offsets(a, topics, nt, KAFKA_ADMIN_OFFSET_LATEST, deadline, &end);
        if (!err && !end)
            err = e;
    }
    size_t np = end ? end->n : 0;
    if (!err && !(l->partitions = kafka_arena_calloc(ar, np ? np : 1, sizeof *l->partitions)))
        err = KAFKA_ERR_NOMEM;
    for (size_t i = 0; !err && i < np; i++) {
        const kafka_admin_offset *e = &end->offsets[i];
        const kafka_admin_offset *s = start_of(start, e->topic, e->partition);
        const kafka_admin_group_offset *co = commit_of(c, e->topic, e->partition);
        kafka_admin_partition_lag *p = &l->partitions[l->n++];
        p->topic = admin_strz(ar, e->topic);
        p->partition = e->partition;
        p->committed = co ? co->offset : -1;
        p->start = s && !s->err ? s->offset : -1;
        p->end = e->err ? -1 : e->offset;
        p->member_id = owner_of(gp, e->topic, e->partition);
        p->err = e->err ? e->err : (s && s->err) ? s->err : co ? co->err : 0;
        if (p->err) {
            p->lag = -1;
            continue;
        }
        int64_t from = p->committed >= 0 ? p->committed : p->start;
        p->lag = p->end > from ? p->end - from : 0;
        l->total += p->lag;
    }
    kafka_free(topics);
    kafka_admin_offsets_free(start);
    kafka_admin_offsets_free(end);
    kafka_admin_group_offsets_free(c);
    if (err) {
        admin_result_free(l);
        return err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "lag: out of memory") : err;
    }
    *out = l;
    for (size_t i = 0; i < l->n; i++)
        if (l->partitions[i].err)
            return admin_fail(a, l->partitions[i].err, "lag: group %s: %s [%d]: %s", group, l->partitions[i].topic,
                              (int)l->partitions[i].partition, kafka_err_name(l->partitions[i].err));
    return 0;
}

kafka_err kafka_admin_lag(kafka_admin *a, const char *group, int timeout_ms, kafka_admin_group_lag **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? admin_check_group(a, "lag", group) : admin_fail(a, KAFKA_ERR_INVALID_ARG, "lag: out is NULL");
    if (!err)
        err = compute(a, group, admin_deadline(timeout_ms), out);
    admin_leave(a);
    return err;
}
