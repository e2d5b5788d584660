/*
 * Mock group coordinator, KIP-848 consumer groups: resolving subscriptions
 * against the cluster's topics, the target assignment of each group epoch,
 * and the reconciliation of one member toward its target (Kafka's
 * CurrentAssignmentBuilder: revoke first, then take the new epoch and the
 * partitions nobody else still holds).
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_group_consumer.h"

/* ---- subscriptions and topics --------------------------------------------------- */

typedef struct meta_walk {
    const kmock_cgroup *cg;
    kmock_topic_meta *out;
    size_t n, cap;
    bool oom;
} meta_walk;

static void visit_topic(void *arg, const char *topic, const uint8_t topic_id[16], int32_t partitions)
{
    meta_walk *w = arg;
    if (w->oom || partitions < 0)
        return;
    bool wanted = false;
    for (size_t i = 0; i < w->cg->n_members && !wanted; i++)
        wanted = kmock_cmember_subscribes(w->cg->members[i], topic);
    if (!wanted)
        return;
    if (!kafka_array_reserve((void **)&w->out, &w->cap, w->n + 1, sizeof *w->out, 8) ||
        !(w->out[w->n].name = kafka_strdup(topic))) {
        w->oom = true;
        return;
    }
    memcpy(w->out[w->n].id.b, topic_id, 16);
    w->out[w->n].partitions = partitions;
    w->n++;
}

static int meta_cmp(const void *a, const void *b)
{
    return strcmp(((const kmock_topic_meta *)a)->name, ((const kmock_topic_meta *)b)->name);
}

static void meta_free(kmock_topic_meta *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kafka_free(m[i].name);
    kafka_free(m);
}

bool kmock_cgroup_refresh_metadata(kmock_groups *g, kmock_cgroup *cg, bool *changed)
{
    meta_walk w = {.cg = cg};
    g->topics(g->topics_ctx, visit_topic, &w);
    if (w.oom) {
        meta_free(w.out, w.n);
        return false;
    }
    if (w.n > 1)
        qsort(w.out, w.n, sizeof *w.out, meta_cmp);
    bool same = w.n == cg->n_meta;
    for (size_t i = 0; same && i < w.n; i++)
        same = strcmp(w.out[i].name, cg->meta[i].name) == 0 && w.out[i].partitions == cg->meta[i].partitions &&
               memcmp(w.out[i].id.b, cg->meta[i].id.b, 16) == 0;
    if (same) {
        meta_free(w.out, w.n);
        return true;
    }
    meta_free(cg->meta, cg->n_meta);
    cg->meta = w.out;
    cg->n_meta = w.n;
    *changed = true;
    return true;
}

/* The assignor most members asked for (Kafka picks by popularity), else
 * the default. */
static const char *group_assignor(const kmock_cgroup *cg)
{
    const char *best = KMOCK_CONSUMER_DEFAULT_ASSIGNOR;
    size_t best_votes = 0;
    for (size_t i = 0; i < cg->n_members; i++) {
        const char *a = cg->members[i]->assignor;
        if (!a)
            continue;
        size_t votes = 0;
        for (size_t k = 0; k < cg->n_members; k++)
            votes += cg->members[k]->assignor && strcmp(cg->members[k]->assignor, a) == 0;
        if (votes > best_votes) {
            best = a;
            best_votes = votes;
        }
    }
    return best;
}

bool kmock_cgroup_update_target(kmock_cgroup *cg)
{
    if (cg->group_epoch <= cg->assignment_epoch)
        return true;
    const char *name = group_assignor(cg);
    char *copy = kafka_strdup(name);
    if (!copy || !kmock_assign(cg, name)) {
        kafka_free(copy);
        return false;
    }
    kafka_free(cg->assignor);
    cg->assignor = copy;
    cg->assignment_epoch = cg->group_epoch;
    return true;
}

/* ---- reconciliation (Kafka's CurrentAssignmentBuilder) --------------------------- */

/* Is the partition held (assigned or being revoked) by a member other than m? */
static bool owned_by_other(const kmock_cgroup *cg, const kmock_cmember *m, const kmock_tp *tp)
{
    for (size_t i = 0; i < cg->n_members; i++) {
        const kmock_cmember *o = cg->members[i];
        if (o != m && (kmock_tps_has(&o->assigned, &tp->topic, tp->partition) ||
                       kmock_tps_has(&o->revoking, &tp->topic, tp->partition)))
            return true;
    }
    return false;
}

static bool compute_next(kmock_cgroup *cg, kmock_cmember *m, int64_t now)
{
    kmock_tps keep = {0}, revoke = {0}, grant = {0};
    bool unreleased = false, ok = true;
    for (size_t i = 0; i < m->assigned.n && ok; i++) {
        const kmock_tp *tp = &m->assigned.v[i];
        ok = kmock_tps_add(kmock_tps_has(&m->target, &tp->topic, tp->partition) ? &keep : &revoke, &tp->topic,
                           tp->partition);
    }
    for (size_t i = 0; i < m->target.n && ok; i++) {
        const kmock_tp *tp = &m->target.v[i];
        if (kmock_tps_has(&m->assigned, &tp->topic, tp->partition))
            continue;
        if (owned_by_other(cg, m, tp))
            unreleased = true;
        else
            ok = kmock_tps_add(&grant, &tp->topic, tp->partition);
    }
    if (ok && revoke.n > 0) {
        /* give up partitions first; the epoch waits */
        m->state = KMOCK_CM_UNREVOKED_PARTITIONS;
        m->previous_epoch = m->epoch;
        kmock_tps_move(&m->assigned, &keep);
        kmock_tps_move(&m->revoking, &revoke);
        m->revoke_deadline_ms = now + m->rebalance_timeout_ms;
    } else if (ok) {
        for (size_t i = 0; i < grant.n && ok; i++)
            ok = kmock_tps_add(&keep, &grant.v[i].topic, grant.v[i].partition);
        if (ok) {
            m->previous_epoch = m->epoch;
            m->epoch = cg->assignment_epoch;
            m->state = unreleased ? KMOCK_CM_UNRELEASED_PARTITIONS : KMOCK_CM_STABLE;
            kmock_tps_move(&m->assigned, &keep);
            kmock_tps_clear(&m->revoking);
            m->revoke_deadline_ms = INT64_MAX;
        }
    }
    kmock_tps_free(&keep);
    kmock_tps_free(&revoke);
    kmock_tps_free(&grant);
    return ok;
}

bool kmock_cmember_reconcile(kmock_cgroup *cg, kmock_cmember *m, const kmock_tps *owned, int64_t now)
{
    switch (m->state) {
    case KMOCK_CM_STABLE:
        if (m->epoch == cg->assignment_epoch)
            return true;
        break;
    case KMOCK_CM_UNREVOKED_PARTITIONS:
        if (!owned)
            return true;
        for (size_t i = 0; i < m->revoking.n; i++)
            if (kmock_tps_has(owned, &m->revoking.v[i].topic, m->revoking.v[i].partition))
                return true; /* still holds some */
        break;
    case KMOCK_CM_UNRELEASED_PARTITIONS:
        break;
    }
    return compute_next(cg, m, now);
}
