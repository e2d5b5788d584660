/*
 * kr_session: the client side of one broker's fetch session (KIP-227,
 * Fetch v7+), as a state machine without I/O (unit-tested alone).
 *
 * The first Fetch creates the session (id 0, epoch 0) and names every
 * partition; the broker answers with a session id. Later Fetches are
 * incremental (that id, epoch 1, 2, ...): they name only the partitions
 * that joined or whose fetch offset or max bytes changed, list those that
 * left as "forgotten", and the broker answers only for partitions with
 * something new. A broker that answers session id 0 does not keep sessions
 * (or its cache is full): the reader then sends full sessionless Fetches
 * (id 0, epoch -1). FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH
 * or any failure of the request resets to a full Fetch that creates a new
 * session.
 *
 * Not thread-safe: the reader's I/O thread owns it.
 */
#ifndef KAFKA_READER_FETCH_SESSION_H
#define KAFKA_READER_FETCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "conn/requests.h"

typedef struct kr_session {
    int32_t id;       /* 0 = none */
    int32_t epoch;    /* of the next incremental request */
    bool unsupported; /* the broker does not keep sessions */
    bool pending;     /* a request is out: done() must come first */
    bool creating;    /* the request out creates the session */
    kafka_fetch_want *set; /* what the broker's session holds */
    size_t n, cap;
} kr_session;

void kr_session_init(kr_session *s);
void kr_session_free(kr_session *s);

/* Plans the next Fetch for want[0..n) (every partition wanted from this
 * broker now; topic pointers compared by address, so intern them). Fills
 * the request's partitions (*send, in arena a), the forgotten ones and the
 * session fields of *o. use_sessions: the Fetch version is v7+. */
kafka_err kr_session_plan(kr_session *s, bool use_sessions, const kafka_fetch_want *want, size_t n, kafka_arena *a,
                          kafka_fetch_want **send, size_t *n_send, kafka_fetch_opts *o);

/* The planned request's outcome: err is the request's failure or the
 * response's top-level error (0 = fine); resp_session_id the response's. */
void kr_session_done(kr_session *s, kafka_err err, int32_t resp_session_id);

#endif
