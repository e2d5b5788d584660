/*
 * kafka_engine: one I/O thread for every broker a client object talks to.
 *
 * Each broker has one connection, a ke_wire (wire.h: the sans-I/O core of
 * framing, pipelining, deadlines and backoff); this file is the driver
 * that feeds the cores from the sockets: one thread of ours, readiness
 * from epoll (poll where epoll is missing), a wake-up eventfd (a pipe
 * elsewhere) so that other threads can ask the thread to run its owner's
 * turn now.
 *
 * The owner (the reader today) is a state machine run on the I/O thread:
 * cfg.on_turn is called at every turn of the loop (after the I/O and the
 * deadlines of that turn, and after kafka_engine_wake) and issues requests
 * with kafka_engine_send; responses come to each request's callback, also
 * on the I/O thread, as soon as they are complete, broker by broker.
 *
 * Connections are set up by the engine itself, without waiting on the
 * network: the dialing state machine of net/stream.h (non-blocking TCP
 * connect to each address of the host in turn, IPv4 and IPv6, then the
 * TLS handshake step by step, certificate and host name verified as in
 * net/tls.c) is driven by readiness and by its deadline as an engine
 * timer; then the handshake of handshake.h (ApiVersions v3 with the v0
 * fallback, SaslHandshake and SaslAuthenticate rounds) goes over the
 * broker's own ke_wire as its first requests, with every other broker's
 * traffic going on meanwhile. One attempt is bounded by dial_timeout_ms
 * (the dialer's connect_timeout_ms caps the TCP and TLS part). The
 * blocking kafka_conn drives the very same two state machines (conn/dial.c).
 * A refused or unreachable broker, a certificate that does not verify, a
 * refused password: the attempt fails with the text and is retried after
 * backoff (the owner decides what is fatal: kafka_err_is_fatal).
 *
 * What still blocks the I/O thread, at the start of an attempt only:
 * name resolution (getaddrinfo has no portable non-blocking form; an IP
 * address is not looked up, a host name is looked up for as long as the
 * system resolver takes), the dialer's resolver hook, and a user
 * transport's dial callback (the user's code: it may block; its read and
 * write are called with a zero timeout, see below). An OAUTHBEARER token
 * callback runs inside the handshake, also on this thread.
 *
 * The seam for other drivers (an application's event loop, a WebAssembly
 * host; the public API for it is a later issue): everything the thread does
 * goes through kafka_engine_interest (fds, the events wanted, the next
 * deadline: out) and kafka_engine_ready / kafka_engine_timeout (readable /
 * writable / the time: in). Connections over user transports have no fd:
 * while one exists the timeout is capped at KE_USER_POLL_MS and they are
 * tried at every turn.
 *
 * Threads: kafka_engine_wake and kafka_engine_stop are for any thread;
 * every other call is for the I/O thread only (on_turn and callbacks).
 */
#ifndef KAFKA_ENGINE_H
#define KAFKA_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "conn/conn_internal.h"
#include "engine/wire.h"

typedef struct kafka_engine kafka_engine;

#define KE_USER_POLL_MS 5

typedef struct kafka_engine_config {
    kafka_cluster *kc;  /* borrowed: must outlive the engine */
    const char *client_id; /* NULL = "libkafka"; copied */
    int backoff_min_ms; /* reconnect backoff; default 100 */
    int backoff_max_ms; /* default 1000 */
    int dial_timeout_ms; /* one connection attempt; default 10000 */
    /* The owner's turn, on the I/O thread: returns the next time (monotonic
     * ms) it wants a turn without a wake-up or a response (-1 = none). */
    int64_t (*on_turn)(void *arg, kafka_engine *e, int64_t now);
    /* Called when a broker's connection fails or comes back (up = true),
     * with the reason; for the owner's one log line. May be NULL. */
    void (*on_broker)(void *arg, int32_t broker, bool up, kafka_err err, const char *why);
    void *arg;
} kafka_engine_config;

/* Creates the engine and starts its thread. */
kafka_err kafka_engine_start(kafka_engine **out, const kafka_engine_config *cfg);
/* Any thread: asks for an on_turn as soon as possible. Does not block. */
void kafka_engine_wake(kafka_engine *e);
/* Any thread but the I/O one: stops the thread (every request still
 * outstanding gets its callback with KAFKA_ERR_CLOSED, on the I/O thread,
 * before this returns), closes the connections and frees. */
void kafka_engine_stop(kafka_engine *e);

/* ---- for the owner, on the I/O thread ------------------------------------- */

/* Connection keys. Every call below names a connection by a key: a broker
 * id (>= 0) names that broker's main connection, and
 * kafka_engine_coordinator(id) a second, separate connection to the same
 * broker for group coordination. A broker works on one request per
 * connection at a time, so a Fetch long-poll (max_wait) on the main
 * connection would hold a Heartbeat queued behind it for up to max_wait.
 * The coordinator keys take the bottom of the int32 range (broker ids are
 * >= 0; the cluster's bootstrap entries are small negatives); a broker id
 * above KE_COORDINATOR_MAX_NODE (none in practice) shares its main
 * connection. on_broker reports the broker id, not the key. */
#define KE_COORDINATOR_BASE INT32_MIN
#define KE_COORDINATOR_MAX_NODE ((int32_t)1 << 30)
static inline int32_t kafka_engine_coordinator(int32_t broker)
{
    return broker >= 0 && broker <= KE_COORDINATOR_MAX_NODE ? KE_COORDINATOR_BASE + broker : broker;
}

/* State of the connection to broker: 0 when it is up (requests can be
 * encoded for it: see kafka_engine_version). KAFKA_ERR_STATE ("broker N:
 * connecting") while it is being set up: this call starts an attempt when
 * there is none and the backoff allows, and returns without waiting for
 * it; the owner gets its turn again when the attempt succeeds or fails
 * (on_broker says so when the broker was down) and skips the broker's
 * work until then (kafka_engine_connecting). Otherwise the error of the
 * last attempt, with its text in why (a refused password or an untrusted
 * certificate: SASL_AUTHENTICATION_FAILED / TLS with the broker's or
 * OpenSSL's words), with "(waiting to reconnect)" while the backoff runs. */
kafka_err kafka_engine_broker(kafka_engine *e, int32_t broker, char *why, size_t why_len);

/* True while broker's connection is being set up (kafka_engine_broker
 * returned KAFKA_ERR_STATE): an owner skips the broker's work until a
 * later turn finds it up or failed. */
bool kafka_engine_connecting(kafka_engine *e, int32_t broker);

/* Highest version of api_key within [min, max] that broker (up) supports;
 * -1 when none (why gets the text). */
int16_t kafka_engine_version(kafka_engine *e, int32_t broker, int16_t api_key, int16_t min, int16_t max, char *why,
                             size_t why_len);

/* Encodes req (enc at version) and queues it on broker's connection;
 * fn(arg, ...) gets the response or the failure exactly once (never inside
 * this call). deadline: monotonic ms (-1 none); a request past it fails its
 * connection (Kafka answers in order, so the rest would wait behind it).
 * Errors (NOMEM, an encoding failure, broker not up) are returned and fn is
 * not called. */
kafka_err kafka_engine_send(kafka_engine *e, int32_t broker, int16_t api_key, int16_t version, kafka_encode_fn enc,
                            const void *req, int64_t deadline, ke_response_fn fn, void *arg);

/* Like kafka_engine_send, for a request body already encoded: the
 * iovecs body[0..iovcnt), written from the caller's memory without a
 * copy (the array itself is copied): that memory must stay unchanged
 * until fn runs (a Produce's record batches, say). expect_response
 * false: the broker sends no answer (Produce with acks = 0); fn runs
 * with err 0 and no frame once the request is written. */
kafka_err kafka_engine_send_iov(kafka_engine *e, int32_t broker, int16_t api_key, int16_t version,
                                const struct iovec *body, int iovcnt, bool expect_response, int64_t deadline,
                                ke_response_fn fn, void *arg);

/* Number of requests outstanding on broker's connection (queued or on the
 * wire). */
size_t kafka_engine_in_flight(kafka_engine *e, int32_t broker);

/* Fails broker's connection now (e.g. a response the owner could not
 * decode): requests on it get err; it reconnects after backoff. */
void kafka_engine_fail_broker(kafka_engine *e, int32_t broker, kafka_err err, const char *why);

/* ---- the driver seam --------------------------------------------------------- */

typedef struct kafka_engine_fd {
    int fd;
    bool want_read, want_write;
} kafka_engine_fd;

/* What to wait for: fills at most max fds, returns how many; *deadline gets
 * the next time kafka_engine_timeout must run (-1 = none). */
int kafka_engine_interest(kafka_engine *e, kafka_engine_fd *fds, int max, int64_t now, int64_t *deadline);
/* fd became readable and/or writable. */
void kafka_engine_ready(kafka_engine *e, int fd, bool readable, bool writable, int64_t now);
/* The time: expires deadlines, retries user transports, runs the owner's
 * turn. Call after every wait (and after kafka_engine_ready calls). */
void kafka_engine_timeout(kafka_engine *e, int64_t now);

#endif
