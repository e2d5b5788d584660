/*
 * ke_meta: an engine owner's metadata refresh, without blocking the I/O
 * thread.
 *
 * The owner (reader, writer; any state machine on a kafka_engine) looks
 * leaders up with kafka_cluster_leader_cached; when the answer is
 * "pending" (or stale) it names the topic with ke_meta_want and moves on.
 * ke_meta_turn, called from the owner's on_turn, sends at most one
 * Metadata request at a time (every wanted topic in it), through
 * kafka_engine_send to a broker that is up; the answer is applied to the
 * cluster's cache (kafka_cluster_md_apply) on the I/O thread, then `done`
 * is called, and the owner's next turn finds the leaders known or
 * definitively missing. Failures (no broker reachable, TLS/SASL refused,
 * an undecodable answer) go to `done` with the reason, and the request is
 * tried again after an exponential backoff; successes are spaced by
 * backoff_min_ms, so a storm of NOT_LEADER errors costs one request per
 * interval.
 *
 * Not thread-safe: every call on the engine's I/O thread (init and free
 * excepted: before the engine starts and after it stopped).
 */
#ifndef KAFKA_ENGINE_META_H
#define KAFKA_ENGINE_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "engine/engine.h"

/* A refresh's outcome: err 0 (applied to the cache), or why it failed.
 * Never called with KAFKA_ERR_CLOSED (the engine stopping). */
typedef void (*ke_meta_done_fn)(void *arg, kafka_err err, const char *why);

typedef struct ke_meta {
    kafka_cluster *kc; /* borrowed */
    kafka_engine *e;   /* the engine of the last turn */
    int backoff_min_ms, backoff_max_ms;
    int timeout_ms; /* a request's deadline after it is queued */
    ke_meta_done_fn done;
    void *arg;
    char **want; /* topics for the next request (owned, no duplicates) */
    size_t n_want, cap_want;
    char **asked; /* the request in flight's topics (owned) */
    size_t n_asked;
    bool in_flight;
    int16_t version;
    int32_t broker;  /* of the request in flight */
    int64_t next_at; /* no request before (monotonic ms) */
    int attempt;     /* failures in a row */
    size_t rr;       /* where the broker search starts */
    uint64_t sent, failed; /* counts (tests, debug lines) */
} ke_meta;

/* timeout_ms: how long a request may wait for its answer once queued (it
 * may queue behind the owner's own requests on that connection: a Fetch's
 * max_wait, say). */
void ke_meta_init(ke_meta *m, kafka_cluster *kc, int backoff_min_ms, int backoff_max_ms, int timeout_ms,
                  ke_meta_done_fn done, void *arg);
/* Frees what m holds; the engine must be stopped (no request in flight). */
void ke_meta_free(ke_meta *m);

/* Adds topic (copied) to the next request. NOMEM, else 0. */
kafka_err ke_meta_want(ke_meta *m, const char *topic);
/* True while topics wait for a request or its answer. */
bool ke_meta_busy(const ke_meta *m);

/* Sends the request when topics are wanted, none is in flight and the
 * backoff allows. Returns when it wants the next turn (-1: on the answer
 * or the next ke_meta_want). Calls done on an immediate failure. */
int64_t ke_meta_turn(ke_meta *m, kafka_engine *e, int64_t now);

/* A broker of kc that e has a connection up to, for requests any broker
 * answers (Metadata, InitProducerId...): an idle one if there is, else it
 * tries to connect one more (known brokers, then bootstrap addresses,
 * from *rr on), else the least busy one. KAFKA_ERR_STATE when none is up
 * yet but a connection is being set up (kafka_engine_broker): not a
 * failure, ask again on a later turn. On failure returns the most telling
 * error (TLS or SASL before NO_BROKERS) with its text in why. */
kafka_err ke_any_broker(kafka_engine *e, kafka_cluster *kc, size_t *rr, int32_t *out, char *why, size_t why_len);

#endif
