/* The group thread of a kafka_reader in group mode: join, sync, assign (as
 * leader), heartbeat, periodic commits, revoke (eager: everything before a
 * join; cooperative: only what moved, then rejoin), leave at close. */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "net/stream.h"
#include "reader/reader_internal.h"

/* The leader's wait before SyncGroup when it has followers (join_and_sync). */
#define LEADER_SYNC_DELAY_MS 100

/* ---- helpers ------------------------------------------------------------ */

static bool is_closing(kafka_reader *r)
{
    pthread_mutex_lock(&r->mu);
    bool c = r->closing;
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* Waits on cond_group until `until` (monotonic ms) or a wake-up. */
static void group_wait(kafka_reader *r, int64_t until)
{
    int64_t left = until - kafka_now_ms();
    if (left <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    if (!r->closing && !r->rejoin)
        pthread_cond_timedwait(&r->cond_group, &r->mu, &ts);
    pthread_mutex_unlock(&r->mu);
}

static void run_callback(kafka_reader *r, kafka_rebalance_fn fn, kr_part **ps, size_t n, bool revoked)
{
    if (!fn || !n)
        return;
    kafka_reader_partition *a = kafka_calloc(n, sizeof *a);
    if (!a)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        a[i].topic = ps[i]->topic;
        a[i].partition = ps[i]->partition;
        a[i].offset = revoked ? kr_part_position_locked(ps[i]) : (ps[i]->fetch_offset >= 0 ? ps[i]->fetch_offset : -1);
    }
    pthread_mutex_unlock(&r->mu);
    fn(r->cfg.rebalance_privdata, r, a, n);
    kafka_free(a);
}

/* Commits what `ps` (or every part when ps == NULL) has pending. */
static kafka_err commit_parts(kafka_reader *r, kr_part **ps, size_t n, int64_t deadline)
{
    pthread_mutex_lock(&r->mu);
    if (!ps) {
        ps = r->parts;
        n = r->n_parts;
    }
    kafka_group_offset *offs = kafka_calloc(n ? n : 1, sizeof *offs);
    kr_part **owners = kafka_calloc(n ? n : 1, sizeof *owners);
    size_t k = 0;
    for (size_t i = 0; offs && owners && i < n; i++) {
        kr_part *p = ps[i];
        if (p->pending_commit < 0 || p->pending_commit <= p->committed)
            continue;
        offs[k] = (kafka_group_offset){.topic = p->topic, .partition = p->partition, .offset = p->pending_commit};
        atomic_fetch_add(&p->refs, 1);
        owners[k++] = p;
    }
    pthread_mutex_unlock(&r->mu);
    kafka_err err = offs && owners ? 0 : KAFKA_ERR_NOMEM;
    if (k)
        kr_log(r, KAFKA_LOG_DEBUG, "commit: %zu of %zu partition(s) have something to commit", k, n);
    if (!err && k)
        err = kr_group_commit_sync(r, offs, k, deadline);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < k; i++) {
        if (!offs[i].err && owners[i]->pending_commit == offs[i].offset)
            owners[i]->pending_commit = -1;
        kr_part_release(owners[i]);
    }
    pthread_mutex_unlock(&r->mu);
    kafka_free(offs);
    kafka_free(owners);
    return err;
}

kr_part *kr_group_part_owned_locked(kafka_reader *r, const char *topic, int32_t partition)
{
    kr_part *p = kr_part_find_locked(r, topic, partition);
    for (size_t i = 0; !p && i < r->n_revoking; i++)
        if (r->revoking[i]->partition == partition && strcmp(r->revoking[i]->topic, topic) == 0)
            p = r->revoking[i];
    return p;
}

kafka_err kr_group_commit_pending(kafka_reader *r, int64_t deadline) { return commit_parts(r, NULL, 0, deadline); }

kafka_err kr_group_commit_sync(kafka_reader *r, kafka_group_offset *offs, size_t n, int64_t deadline)
{
    kafka_err err;
    int attempt = 0;
    pthread_mutex_lock(&r->mu);
    int64_t round = r->st.rebalances;
    bool during = r->rebalancing;
    pthread_mutex_unlock(&r->mu);
    for (;;) {
        err = kafka_group_commit(&r->group, offs, n, deadline);
        if (!err || !kafka_group_err_coordinator(err) || err == KAFKA_ERR_CLOSED)
            break;
        int ms = kafka_backoff_ms(attempt++, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms);
        if (kafka_now_ms() + ms >= deadline)
            break;
        kafka_sleep_ms(ms);
    }
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        kr_part *p = kr_group_part_owned_locked(r, offs[i].topic, offs[i].partition);
        if (p && !offs[i].err && offs[i].offset > p->committed)
            p->committed = offs[i].offset;
    }
    if (!err)
        r->st.commits++;
    else
        r->st.errors++;
    /* A commit made during or across a rebalance (the group thread's revoke
     * commit before JoinGroup, or an application thread's while the group
     * thread joins) was refused for the old generation: the round in
     * progress or just done is the rejoin it asks for. Asking again made
     * every eager rebalance on a coordinator that refuses commits while it
     * rebalances (librdkafka's mock) trigger another one. */
    bool crossed = during || r->rebalancing || r->st.rebalances != round;
    if (!crossed && (err == KAFKA_ERR_REBALANCE_IN_PROGRESS || err == KAFKA_ERR_ILLEGAL_GENERATION ||
                     err == KAFKA_ERR_UNKNOWN_MEMBER_ID)) {
        r->rejoin = true;
        pthread_cond_broadcast(&r->cond_group);
    }
    pthread_mutex_unlock(&r->mu);
    if (err)
        kr_log(r, KAFKA_LOG_WARN, "commit: %s", kafka_err_str(err));
    return err;
}

/* Adds to each part's pending commit what read_message delivered from it
 * (read_pos): read_message promises that commit, and a revoke between its
 * delivery and its own commit must not leave the message to the next
 * owner. Messages from fetch_message are the application's to commit
 * (at-least-once), so they are not. Parts stopped (read_pos is fixed). */
static void adopt_read_positions(kafka_reader *r, kr_part **ps, size_t n)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        int64_t rp = atomic_load(&ps[i]->read_pos);
        if (rp > ps[i]->pending_commit && rp > ps[i]->committed)
            ps[i]->pending_commit = rp;
    }
    pthread_mutex_unlock(&r->mu);
}

/* Stops parts matching pred, runs on_revoked, and (when `commit`) commits
 * their pending offsets and what read_message delivered: the callback may
 * still add commits. */
static void revoke(kafka_reader *r, kr_part_pred pred, void *arg, bool commit)
{
    kr_part **ps = NULL;
    size_t n = 0;
    kr_parts_stop(r, pred, arg, &ps, &n);
    if (!ps)
        return;
    pthread_mutex_lock(&r->mu);
    r->revoking = ps;
    r->n_revoking = n;
    pthread_mutex_unlock(&r->mu);
    run_callback(r, r->cfg.on_revoked, ps, n, true);
    if (commit && n) {
        int64_t deadline = kafka_now_ms() + r->cfg.session_timeout_ms / 2;
        pthread_mutex_lock(&r->mu);
        if (r->closing)
            deadline = kafka_now_ms() + r->cfg.close_timeout_ms;
        pthread_mutex_unlock(&r->mu);
        adopt_read_positions(r, ps, n);
        commit_parts(r, ps, n, deadline);
    }
    pthread_mutex_lock(&r->mu);
    r->revoking = NULL;
    r->n_revoking = 0;
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++)
        kr_part_release(ps[i]);
    kafka_free(ps);
}

/* ---- join / sync ------------------------------------------------------- */

static kafka_err encode_subscription(kafka_reader *r, const kafka_assignor *a, kafka_arena *arena,
                                     kafka_group_protocol *out)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_parts;
    kafka_topic_partition *owned = kafka_arena_calloc(arena, n ? n : 1, sizeof *owned);
    for (size_t i = 0; owned && i < n; i++)
        owned[i] = (kafka_topic_partition){r->parts[i]->topic, r->parts[i]->partition};
    pthread_mutex_unlock(&r->mu);
    if (!owned)
        return KAFKA_ERR_NOMEM;
    uint8_t ud[4];
    kafka_consumer_subscription s = {
        .version = 1,
        .topics = (const char *const *)r->group_topics,
        .n_topics = r->n_group_topics,
        .user_data = KAFKA_BYTES_NULL,
        .owned = owned,
        .n_owned = n,
        .generation = -1,
    };
    if (a->protocol == KAFKA_REBALANCE_COOPERATIVE) {
        kafka_cooperative_sticky_userdata(kafka_group_generation(&r->group), ud);
        s.user_data = (kafka_bytes){ud, 4};
    }
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_err err = kafka_consumer_subscription_encode(&s, &w);
    if (!err && w.oom)
        err = KAFKA_ERR_NOMEM;
    uint8_t *copy = err ? NULL : kafka_arena_alloc(arena, w.len);
    if (!err && !copy)
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        memcpy(copy, w.data, w.len);
        *out = (kafka_group_protocol){a->name, copy, w.len};
    }
    kafka_wbuf_free(&w);
    return err;
}

/* The leader's job: decode subscriptions, get partition counts, assign,
 * encode one assignment per member. */
static kafka_err lead(kafka_reader *r, const kafka_group_join_result *j, kafka_arena *arena, kafka_bytes **out)
{
    const kafka_assignor *a = kafka_assignor_find(j->protocol);
    if (!a)
        return KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    size_t n = j->n_members;
    kafka_group_member *ms = kafka_arena_calloc(arena, n ? n : 1, sizeof *ms);
    const char **tnames = NULL;
    size_t nt = 0, cap = 0;
    if (!ms)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_consumer_subscription s;
        kafka_err err = kafka_consumer_subscription_decode(j->metadata[i].ptr,
                                                           j->metadata[i].len > 0 ? (size_t)j->metadata[i].len : 0,
                                                           arena, &s);
        if (err) {
            kr_log(r, KAFKA_LOG_WARN, "member %s sent an undecodable subscription: %s", j->member_ids[i],
                   kafka_err_str(err));
            memset(&s, 0, sizeof s);
            s.generation = -1;
        }
        kafka_group_member_from_subscription(&ms[i], j->member_ids[i], j->instance_ids[i], &s);
        for (size_t t = 0; t < s.n_topics; t++) {
            size_t k = 0;
            while (k < nt && strcmp(tnames[k], s.topics[t]) != 0)
                k++;
            if (k < nt)
                continue;
            if (nt == cap) {
                cap = cap ? cap * 2 : 8;
                const char **nn = kafka_arena_calloc(arena, cap, sizeof *nn);
                if (!nn)
                    return KAFKA_ERR_NOMEM;
                if (nt)
                    memcpy(nn, tnames, nt * sizeof *nn);
                tnames = nn;
            }
            tnames[nt++] = s.topics[t];
        }
    }
    kafka_topic_metadata *md = kafka_arena_calloc(arena, nt ? nt : 1, sizeof *md);
    if (!md)
        return KAFKA_ERR_NOMEM;
    size_t nmd = 0;
    int64_t deadline = kafka_now_ms() + r->cfg.session_timeout_ms / 2;
    for (size_t t = 0; t < nt; t++) {
        const kafka_cluster_topic *ct = NULL;
        kafka_err err = kafka_cluster_topic_get(r->kc, tnames[t], deadline, &ct);
        if (!err)
            md[nmd++] = (kafka_topic_metadata){tnames[t], ct->n_partitions};
        else
            kr_log(r, KAFKA_LOG_WARN, "assign: topic %s: %s (skipped)", tnames[t], kafka_err_str(err));
        if (ct)
            kafka_cluster_topic_release(r->kc, ct);
    }
    kafka_member_assignment *as = NULL;
    kafka_err err = kafka_assignor_assign(a, ms, n, md, nmd, arena, &as);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++)
        kr_log(r, KAFKA_LOG_DEBUG, "assign (%s): member %s gets %zu partition(s) of %zu topic(s)", a->name,
               ms[i].member_id, as[i].n_partitions, nmd);
    kafka_bytes *enc = kafka_arena_calloc(arena, n ? n : 1, sizeof *enc);
    if (!enc)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        kafka_consumer_assignment ca = {.version = 1, .partitions = as[i].partitions,
                                        .n_partitions = as[i].n_partitions, .user_data = KAFKA_BYTES_NULL};
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        err = kafka_consumer_assignment_encode(&ca, &w);
        if (!err && w.oom)
            err = KAFKA_ERR_NOMEM;
        size_t len = w.len;
        uint8_t *copy = err ? NULL : kafka_arena_alloc(arena, len);
        if (copy)
            memcpy(copy, w.data, len);
        kafka_wbuf_free(&w);
        if (!copy)
            return err ? err : KAFKA_ERR_NOMEM;
        enc[i] = (kafka_bytes){copy, (int32_t)len};
    }
    *out = enc;
    return 0;
}

static kafka_err join_and_sync(kafka_reader *r, kafka_arena *arena, kafka_consumer_assignment *asg)
{
    kafka_group_protocol *protos = kafka_arena_calloc(arena, r->n_assignors, sizeof *protos);
    if (!protos)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < r->n_assignors; i++) {
        kafka_err err = encode_subscription(r, r->assignors[i], arena, &protos[i]);
        if (err)
            return err;
    }
    int64_t deadline = kafka_now_ms() + r->cfg.rebalance_timeout_ms + r->cfg.session_timeout_ms;
    kafka_group_join_result j;
    kafka_err err = kafka_group_join(&r->group, protos, r->n_assignors, deadline, arena, &j);
    if (err)
        return err;
    kr_log(r, KAFKA_LOG_INFO, "joined group %s generation %d (%s, leader %s, %s)", r->group_id, j.generation,
           j.protocol, j.leader_id, j.is_leader ? "us" : "not us");
    kafka_bytes *enc = NULL;
    if (j.is_leader) {
        err = lead(r, &j, arena, &enc);
        if (err)
            return err;
        /* Let the followers' SyncGroups arrive first. A real coordinator
         * hands a follower its assignment whenever its SyncGroup comes,
         * but librdkafka's mock (2.0.2, rdkafka_mock_cgrp.c) completes the
         * sync as soon as the leader's SyncGroup brings every assignment,
         * moves the group to Up and answers a later follower's SyncGroup
         * with INVALID_REQUEST; that follower must rejoin, which starts
         * another rebalance. The mock answers the leader's JoinGroup
         * first, so without this wait the follower loses that race nearly
         * every round under load (issue 16: the full group suite saw six
         * rounds in a row and 3,579 duplicates in the three-member test).
         * A second cause of extra rounds, commits refused during a
         * rebalance asking for yet another one, is fixed (see
         * kr_group_commit_sync); this wait remains for the mock alone, and
         * goes once the test uses a coordinator with Kafka's rules
         * (kafka_mock). A lone member does not wait; close cuts it short. */
        if (j.n_members > 1)
            group_wait(r, kafka_now_ms() + LEADER_SYNC_DELAY_MS);
    }
    kafka_bytes mine = KAFKA_BYTES_NULL;
    err = kafka_group_sync(&r->group, j.protocol, j.is_leader ? j.member_ids : NULL, enc,
                           j.is_leader ? j.n_members : 0, deadline, arena, &mine);
    /* A follower whose SyncGroup fails (REBALANCE_IN_PROGRESS, or
     * INVALID_REQUEST from the mock when the leader synced first) returns
     * the error: the group thread rejoins after a backoff. */
    if (err)
        return err;
    return kafka_consumer_assignment_decode(mine.ptr, mine.len > 0 ? (size_t)mine.len : 0, arena, asg);
}

typedef struct assigned_set {
    const kafka_consumer_assignment *a;
} assigned_set;

/* pred for revoke(): part not in the new assignment. */
static bool not_assigned(const kr_part *p, void *arg)
{
    const kafka_consumer_assignment *a = ((assigned_set *)arg)->a;
    for (size_t i = 0; i < a->n_partitions; i++)
        if (a->partitions[i].partition == p->partition && strcmp(a->partitions[i].topic, p->topic) == 0)
            return false;
    return true;
}

/* Starts the newly assigned partitions at their committed offsets. */
static kafka_err start_assigned(kafka_reader *r, const kafka_consumer_assignment *a)
{
    size_t n = a->n_partitions;
    kafka_group_offset *offs = kafka_calloc(n ? n : 1, sizeof *offs);
    if (!offs)
        return KAFKA_ERR_NOMEM;
    size_t k = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++)
        if (!kr_part_find_locked(r, a->partitions[i].topic, a->partitions[i].partition))
            offs[k++] = (kafka_group_offset){.topic = a->partitions[i].topic, .partition = a->partitions[i].partition};
    pthread_mutex_unlock(&r->mu);
    kafka_err err = 0;
    int attempt = 0;
    int64_t deadline = kafka_now_ms() + r->cfg.session_timeout_ms;
    while (k) {
        err = kafka_group_fetch_offsets(&r->group, offs, k, deadline);
        if (!err || !(kafka_group_err_coordinator(err) || err == KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
                      err == KAFKA_ERR_UNSTABLE_OFFSET_COMMIT) ||
            kafka_now_ms() >= deadline || is_closing(r))
            break;
        kafka_sleep_ms(kafka_backoff_ms(attempt++, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms));
    }
    if (err) {
        kafka_free(offs);
        return err;
    }
    int64_t def = r->cfg.start_offset == KAFKA_START_LAST ? KAFKA_OFFSET_LAST : KAFKA_OFFSET_FIRST;
    kr_part **started = kafka_calloc(k ? k : 1, sizeof *started);
    size_t ns = 0;
    for (size_t i = 0; i < k && !err; i++) {
        err = kr_part_start(r, offs[i].topic, offs[i].partition, offs[i].offset >= 0 ? offs[i].offset : def);
        pthread_mutex_lock(&r->mu);
        kr_part *p = err ? NULL : kr_part_find_locked(r, offs[i].topic, offs[i].partition);
        if (p && started) {
            atomic_fetch_add(&p->refs, 1);
            started[ns++] = p;
        }
        pthread_mutex_unlock(&r->mu);
    }
    if (started) {
        run_callback(r, r->cfg.on_assigned, started, ns, false);
        for (size_t i = 0; i < ns; i++)
            kr_part_release(started[i]);
        kafka_free(started);
    }
    kafka_free(offs);
    return err;
}

/* One rebalance round. Returns true when another join is needed at once
 * (cooperative: partitions were revoked). */
static kafka_err rebalance(kafka_reader *r, bool *again)
{
    *again = false;
    pthread_mutex_lock(&r->mu);
    r->rebalancing = true;
    pthread_mutex_unlock(&r->mu);
    if (!r->cooperative)
        revoke(r, NULL, NULL, true); /* eager: give everything up first */
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_consumer_assignment a;
    kafka_err err = join_and_sync(r, &arena, &a);
    if (!err) {
        pthread_mutex_lock(&r->mu);
        r->st.rebalances++;
        size_t before = r->n_parts;
        pthread_mutex_unlock(&r->mu);
        assigned_set set = {&a};
        revoke(r, not_assigned, &set, true);
        pthread_mutex_lock(&r->mu);
        /* Cooperative: revoked partitions go to others in the next round. */
        *again = r->cooperative && r->n_parts < before;
        pthread_mutex_unlock(&r->mu);
        err = start_assigned(r, &a);
        kr_log(r, KAFKA_LOG_INFO, "group %s: %zu partition(s) assigned", r->group_id, a.n_partitions);
    }
    kafka_arena_free(&arena);
    pthread_mutex_lock(&r->mu);
    r->rebalancing = false;
    pthread_mutex_unlock(&r->mu);
    return err;
}

/* ---- the thread ---------------------------------------------------------- */

static void lose_all(kafka_reader *r)
{
    /* The generation is gone: commits would fail, so do not try. */
    revoke(r, NULL, NULL, false);
}

static void *group_main(void *arg)
{
    kafka_reader *r = arg;
    bool need_join = true;
    int attempt = 0;
    int64_t last_ok_hb = kafka_now_ms();
    int64_t next_hb = 0, next_commit = kafka_now_ms() + r->cfg.commit_interval_ms;
    while (!is_closing(r)) {
        pthread_mutex_lock(&r->mu);
        bool asked = r->rejoin;
        r->rejoin = false;
        pthread_mutex_unlock(&r->mu);
        if (asked)
            need_join = true;
        if (need_join) {
            bool again = false;
            kafka_err err = rebalance(r, &again);
            if (err) {
                if (is_closing(r))
                    break;
                char why[256];
                kafka_group_last_error(&r->group, why, sizeof why);
                /* The group layer's text names the request, the group and
                 * the error: no second prefix, unless it is about another
                 * error (a step that sets no text, e.g. the assignment). */
                if (why[0] && strstr(why, kafka_err_str(err)))
                    kr_error(r, err, "%s", why);
                else
                    kr_error(r, err, "group %s: join: %s%s%s", r->group_id, kafka_err_str(err),
                             why[0] ? ": " : "", why);
                kr_log(r, KAFKA_LOG_WARN, "group %s: rebalance failed: %s (%s); retrying", r->group_id,
                       kafka_err_name(err), why);
                if (kafka_group_err_for_reader(err)) {
                    /* TLS, SASL, authorization, a bad group id...: the
                     * read says so now (the group keeps retrying, in case
                     * it is fixed); other errors leave their text in
                     * kafka_reader_last_error for the read's TIMEOUT. */
                    pthread_mutex_lock(&r->mu);
                    r->deliver_err = err;
                    pthread_cond_broadcast(&r->cond_data);
                    pthread_mutex_unlock(&r->mu);
                }
                if (err == KAFKA_ERR_FENCED_INSTANCE_ID)
                    kr_log(r, KAFKA_LOG_ERROR, "group %s: instance id fenced by another member", r->group_id);
                group_wait(r, kafka_now_ms() + kafka_backoff_ms(attempt < 10 ? attempt : 10, r->cfg.backoff_min_ms,
                                                                r->cfg.backoff_max_ms));
                attempt++;
                continue;
            }
            attempt = 0;
            need_join = again;
            last_ok_hb = kafka_now_ms();
            next_hb = last_ok_hb + r->cfg.heartbeat_interval_ms;
            continue;
        }
        int64_t now = kafka_now_ms();
        int64_t until = next_hb;
        if (r->cfg.commit_interval_ms > 0 && next_commit < until)
            until = next_commit;
        group_wait(r, until);
        if (is_closing(r))
            break;
        now = kafka_now_ms();
        if (r->cfg.commit_interval_ms > 0 && now >= next_commit) {
            kr_group_commit_pending(r, now + r->cfg.session_timeout_ms / 2);
            next_commit = kafka_now_ms() + r->cfg.commit_interval_ms;
        }
        if (kafka_now_ms() < next_hb)
            continue;
        kafka_err err = kafka_group_heartbeat(&r->group, kafka_now_ms() + r->cfg.session_timeout_ms / 2);
        kr_log(r, KAFKA_LOG_DEBUG, "group %s: heartbeat: %s", r->group_id, kafka_err_name(err));
        next_hb = kafka_now_ms() + r->cfg.heartbeat_interval_ms;
        if (!err) {
            last_ok_hb = kafka_now_ms();
            continue;
        }
        if (is_closing(r))
            break;
        kr_error(r, err, "group %s: heartbeat: %s", r->group_id, kafka_err_str(err));
        if (err == KAFKA_ERR_REBALANCE_IN_PROGRESS) {
            need_join = true;
        } else if (err == KAFKA_ERR_ILLEGAL_GENERATION || err == KAFKA_ERR_UNKNOWN_MEMBER_ID ||
                   err == KAFKA_ERR_FENCED_INSTANCE_ID) {
            kafka_group_reset_generation(&r->group, err == KAFKA_ERR_UNKNOWN_MEMBER_ID);
            lose_all(r);
            need_join = true;
        } else if (kafka_now_ms() - last_ok_hb > r->cfg.session_timeout_ms) {
            /* The coordinator has surely expired us by now. */
            kr_log(r, KAFKA_LOG_WARN, "group %s: no heartbeat for a session timeout: partitions lost",
                   r->group_id);
            kafka_group_reset_generation(&r->group, false);
            lose_all(r);
            need_join = true;
        } else {
            /* Coordinator moved or unreachable: retry sooner. */
            next_hb = kafka_now_ms() + kafka_backoff_ms(0, r->cfg.backoff_min_ms, r->cfg.backoff_max_ms);
        }
    }
    /* Closing: the revoked callback, the final commit and leave, within
     * the close deadline (close stops the fetchers afterwards). */
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_parts;
    kr_part **ps = kafka_calloc(n ? n : 1, sizeof *ps);
    for (size_t i = 0; ps && i < n; i++) {
        ps[i] = r->parts[i];
        atomic_fetch_add(&ps[i]->refs, 1);
    }
    pthread_mutex_unlock(&r->mu);
    if (ps) {
        run_callback(r, r->cfg.on_revoked, ps, n, true);
        if (kafka_group_generation(&r->group) >= 0 && !r->abandon) {
            adopt_read_positions(r, ps, n);
            r->close_err = commit_parts(r, ps, n, kafka_now_ms() + r->cfg.close_timeout_ms);
        }
        for (size_t i = 0; i < n; i++)
            kr_part_release(ps[i]);
        kafka_free(ps);
    }
    if (!r->instance_id && !r->abandon) {
        int64_t deadline = kafka_now_ms() + r->cfg.close_timeout_ms;
        kafka_err err = kafka_group_leave(&r->group, deadline);
        kr_log(r, err ? KAFKA_LOG_WARN : KAFKA_LOG_INFO, "group %s: leave: %s", r->group_id, kafka_err_name(err));
    }
    pthread_mutex_lock(&r->mu);
    r->group_done = true;
    pthread_cond_broadcast(&r->cond_group);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

kafka_err kr_group_start(kafka_reader *r)
{
    if (pthread_create(&r->group_thread, NULL, group_main, r) != 0)
        return KAFKA_ERR_NOMEM;
    r->group_started = true;
    return 0;
}

void kr_group_stop(kafka_reader *r, int64_t deadline)
{
    if (!r->group_started)
        return;
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->cond_group);
    while (!r->group_done) {
        int64_t left = deadline - kafka_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cond_group, &r->mu, &ts);
    }
    bool done = r->group_done;
    pthread_mutex_unlock(&r->mu);
    if (!done)
        kafka_cluster_interrupt(r->kc); /* bounded close: cut in-flight calls */
    pthread_join(r->group_thread, NULL);
    r->group_started = false;
}

void kr_reader_abandon_for_test(kafka_reader *r)
{
    pthread_mutex_lock(&r->mu);
    r->abandon = true;
    pthread_mutex_unlock(&r->mu);
}

void kr_reader_after_read_hook_for_test(kafka_reader *r, void (*hook)(void *arg, kafka_reader *r), void *arg)
{
    r->after_read_hook = hook;
    r->after_read_arg = arg;
}
