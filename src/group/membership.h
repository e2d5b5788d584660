/*
 * Classic consumer-group membership as a sans-I/O state machine
 * (internal): JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch
 * and LeaveGroup, all sent to the group coordinator.
 *
 * No sockets, no threads, no clock of its own: the owner (the reader's
 * I/O thread, reader_group.c; the unit tests, with scripted responses)
 *   - tells it where the coordinator is (kgm_coordinator) or that it could
 *     not be reached (kgm_coordinator_failed);
 *   - asks it for the requests to send (kgm_next_request: one at a time,
 *     each with its api key and version range; kgm_build encodes it at the
 *     version the connection supports: every group request is built here),
 *     and hands back each response's body (kgm_response), or the
 *     transport's failure;
 *   - collects the events (kgm_next_event): partitions assigned (with
 *     their committed offsets) / to revoke / lost, commits done, fatal or
 *     user-visible errors with their text;
 *   - asks for the next deadline (kgm_deadline) and calls kgm_tick then.
 *
 * The reader-facing shape (requests out, "assigned" / "revoke" / "lost"
 * events in, kgm_revoke_done, kgm_commit, kgm_leave) is what a KIP-848
 * machine (ConsumerGroupHeartbeat) would also offer; the reader only
 * touches these calls, so such a machine can sit beside this one.
 *
 * Rebalances: eager assignors revoke every owned partition before
 * JoinGroup; cooperative ones keep them and, when SyncGroup takes some
 * away, revoke those and join once more. A revocation is announced with
 * KGM_EV_REVOKE and the machine waits for kgm_revoke_done (the owner runs
 * the application's callback and commits what was delivered first),
 * bounded by half the rebalance timeout. Errors: REBALANCE_IN_PROGRESS ->
 * rejoin; UNKNOWN_MEMBER_ID -> forget the member id, partitions lost,
 * rejoin; ILLEGAL_GENERATION -> partitions lost, rejoin; NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE, a failed connection (kafka_group_err_coordinator)
 * -> look the coordinator up again; FENCED_INSTANCE_ID -> fatal (the
 * machine stops); a follower whose SyncGroup is refused (a coordinator
 * that completed the round without it) rejoins. No heartbeat answered for
 * a session timeout -> partitions lost, rejoin.
 *
 * Not thread-safe: one owner thread.
 */
#ifndef KAFKA_GROUP_MEMBERSHIP_H
#define KAFKA_GROUP_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "group/assignor.h"
#include "group/group.h"
#include "protocol/wire.h"

typedef struct kgm kgm;

typedef struct kgm_config {
    const char *group_id;    /* copied */
    const char *instance_id; /* NULL = dynamic member; copied */
    const char *const *topics; /* subscription; copied */
    size_t n_topics;
    const kafka_assignor *const *assignors; /* preference order; static storage */
    size_t n_assignors;
    int32_t session_timeout_ms, rebalance_timeout_ms, heartbeat_interval_ms;
    int32_t commit_interval_ms; /* 0: no KGM_EV_COMMIT_DUE */
    int32_t backoff_min_ms, backoff_max_ms;
    /* The leader's partition counts: 0 and *count; KAFKA_ERR_TIMEOUT when
     * not known yet (the owner asks for them; the machine asks again every
     * backoff_min_ms, for up to half the session timeout, then leaves the
     * topic out); another error: the topic is left out of the assignment. */
    kafka_err (*partition_count)(void *arg, const char *topic, int32_t *count);
    void *arg;
} kgm_config;

/* One request to send to the coordinator. */
typedef struct kgm_request {
    uint32_t id; /* hand back with kgm_response */
    int16_t api_key;
    int16_t min_version, max_version;
    int64_t deadline; /* monotonic ms: fail it (TIMEOUT) past this */
} kgm_request;

/* One partition of an event. */
typedef struct kgm_partition {
    const char *topic; /* the machine's copy: valid until kgm_free */
    int32_t partition;
    int64_t offset; /* ASSIGNED: committed offset, -1 none; COMMIT_DONE: offset */
    kafka_err err;  /* COMMIT_DONE: per-partition result */
} kgm_partition;

typedef enum kgm_event_kind {
    KGM_EV_NONE = 0,
    /* parts are now this member's; offset = committed (-1: none). */
    KGM_EV_ASSIGNED,
    /* Stop parts, give the application its callback, commit what was
     * delivered, then call kgm_revoke_done. */
    KGM_EV_REVOKE,
    /* parts are gone (generation lost): stop them, do not commit. */
    KGM_EV_LOST,
    /* A periodic commit is due: kgm_commit what is pending. */
    KGM_EV_COMMIT_DUE,
    /* A kgm_commit finished: token as given, err = first error. */
    KGM_EV_COMMIT_DONE,
    /* A join failed (err, text); the machine retries unless fatal. */
    KGM_EV_ERROR,
    /* kgm_leave finished (or there was nothing to leave). */
    KGM_EV_LEFT,
} kgm_event_kind;

typedef struct kgm_event {
    kgm_event_kind kind;
    kgm_partition *parts; /* valid until the next kgm_next_event / kgm_free */
    size_t n;
    void *token;
    kafka_err err;
    bool fatal; /* ERROR: the machine stopped (FENCED_INSTANCE_ID) */
    char text[256];
} kgm_event;

/* NOMEM, or INVALID_ARG without topics or assignors. */
kafka_err kgm_new(kgm **out, const kgm_config *cfg, int64_t now);
void kgm_free(kgm *m);

/* True when the coordinator must be looked up now (the owner does it,
 * then calls kgm_coordinator or kgm_coordinator_failed). */
bool kgm_needs_coordinator(const kgm *m, int64_t now);
void kgm_coordinator(kgm *m, int32_t broker, int64_t now);
/* The lookup or the connection failed: retried after backoff. */
void kgm_coordinator_failed(kgm *m, kafka_err err, const char *why, int64_t now);
/* The lookup is under way (a connection being set up): no new one before
 * until, and no error. */
void kgm_coordinator_pending(kgm *m, int64_t until);
/* Current coordinator broker id, -1 none. */
int32_t kgm_coordinator_id(const kgm *m);

/* Next request to send now, if any (true). Requests go one after the
 * other in the order given, on one coordinator connection. */
bool kgm_next_request(kgm *m, int64_t now, kgm_request *out);
/* Encodes request id at version v (in the range given) into w. On an
 * error the request is dropped as if it had failed with it. */
kafka_err kgm_build(kgm *m, uint32_t id, int16_t v, kafka_wbuf *w, int64_t now);
/* The response to request id: err != 0 (transport, timeout, closed) or
 * the body (without the response header). */
void kgm_response(kgm *m, uint32_t id, kafka_err err, const uint8_t *body, size_t len, int64_t now);

/* Expires timers (heartbeat, session, backoff, the revoke wait). */
void kgm_tick(kgm *m, int64_t now);
/* When kgm_tick must run next (monotonic ms; -1 none). */
int64_t kgm_deadline(const kgm *m);

bool kgm_next_event(kgm *m, kgm_event *ev);

/* The owner finished the revocation announced by KGM_EV_REVOKE. */
void kgm_revoke_done(kgm *m, int64_t now);
/* Asks for a rejoin (e.g. the subscription's topics changed). */
void kgm_rejoin(kgm *m, int64_t now);
/* Commits offs[0..n) (copied; topic strings must stay valid until the
 * KGM_EV_COMMIT_DONE that carries token). Sent when the member has a
 * generation and the coordinator is known; fails with
 * REBALANCE_IN_PROGRESS at once while the member has no generation (its
 * partitions are not its own), with TIMEOUT past deadline. */
kafka_err kgm_commit(kgm *m, const kgm_partition *offs, size_t n, void *token, int64_t deadline, int64_t now);
/* Leaves the group (LeaveGroup; not for static members, whose partitions
 * wait for them a session timeout) once the commits queued are done;
 * KGM_EV_LEFT when finished. No more joins afterwards. */
void kgm_leave(kgm *m, int64_t now);

/* Queries. */
int32_t kgm_generation(const kgm *m);
const char *kgm_member_id(const kgm *m);
bool kgm_is_leader(const kgm *m);
/* True while a round (revoke, join, sync, offset fetch) is in progress. */
bool kgm_rebalancing(const kgm *m);
/* Joined generations so far. */
int64_t kgm_rounds(const kgm *m);

#endif
