/*
 * The producer's state, sans I/O: per-partition queues of sealed batches,
 * sequence numbers, batches in flight, retries with backoff, the producer
 * id and epoch, and the idempotent producer's rules on errors. It is fed
 * events (a batch taken for sending, acknowledged, failed with an error;
 * a producer id obtained or refused) and the current time (monotonic ms,
 * passed in: tests use a fake clock), and returns decisions (send this
 * batch with this sequence, retry it after this time, fail it, fetch a new
 * producer id). It never sends, reads, sleeps, locks or logs: the writer
 * (writer_io.c) does the I/O, and unit tests drive it with scripted broker
 * answers (tests/unit/test_producer_state.c).
 *
 * Ordering: a partition's batches are numbered when sealed (batch_no) and
 * leave in that order; a batch put back (retry, out-of-order resend) goes
 * back to its place by number, and while a partition has a batch to
 * resend, nothing more of it is sent until what is in flight has come back
 * (so the resend goes first and the sequence stays gap-free).
 *
 * Not thread-safe: the caller serializes every call on one state (the
 * writer holds its mutex).
 */
#ifndef KAFKA_WRITER_PRODUCER_STATE_H
#define KAFKA_WRITER_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"

/* One sealed batch as the producer state sees it (embedded in the
 * writer's batch; the caller owns the memory). */
typedef struct kafka_pbatch {
    struct kafka_pbatch *next; /* its partition's queue (or a free list) */
    uint64_t batch_no;         /* queue order within the partition */
    int32_t count;             /* records (set when queued) */
    int32_t base_seq;          /* -1 until stamped at first send */
    int attempts;              /* failed sends that counted */
    int requeues;              /* OUT_OF_ORDER resends (bounded separately) */
    kafka_err last_err;        /* the last error worth reporting */
    bool maybe_stored;         /* an attempt failed in a way that leaves
                                  open whether the broker stored it */
} kafka_pbatch;

/* One partition's queue and sequence state (embedded in the writer's
 * partition). Zeroed by kafka_ppart_init. */
typedef struct kafka_ppart {
    kafka_pbatch *qhead, *qtail; /* sealed, not in flight, ascending batch_no */
    int inflight;                /* batches sent, not yet answered */
    int64_t backoff_until;       /* no send before (monotonic ms) */
    bool retrying;               /* a batch was put back: it goes first */
    int32_t next_seq;            /* sequence of the next stamped batch */
    int32_t acked_seq;           /* sequence expected after the last ack */
    uint64_t next_batch_no;
} kafka_ppart;

/* The producer's writer-wide state. */
typedef struct kafka_pstate {
    bool idempotent;       /* sequences stamped; the idempotent rules apply */
    bool pid_reset;        /* the producer id must be renewed before sending */
    int64_t pid;           /* -1 = none yet */
    int16_t epoch;
    int max_in_flight;     /* batches in flight per partition (>= 1) */
    int max_attempts;      /* failed sends before a batch fails (>= 1) */
    int backoff_min_ms, backoff_max_ms;
    size_t inflight;       /* batches in flight, every partition */
    int pid_failures;      /* InitProducerId failures in a row */
    int64_t pid_backoff_until;
} kafka_pstate;

/* Initializes ps (no producer id yet). */
void kafka_pstate_init(kafka_pstate *ps, bool idempotent, int max_in_flight, int max_attempts, int backoff_min_ms,
                       int backoff_max_ms);
/* Initializes an empty partition. */
void kafka_ppart_init(kafka_ppart *pp);

/* Appends a just-sealed batch of `count` records to pp's queue and numbers
 * it. b is the caller's; it stays linked until taken or popped. */
void kafka_ppart_push(kafka_ppart *pp, kafka_pbatch *b, int32_t count);
/* Puts b back into pp's queue at its place by batch_no. */
void kafka_ppart_requeue(kafka_ppart *pp, kafka_pbatch *b);
/* Unlinks and returns the queue's head (NULL when empty), to complete it
 * without sending (close, a refused producer id). */
kafka_pbatch *kafka_ppart_pop(kafka_ppart *pp);

/* True when the producer id must be (re)fetched before anything is sent
 * (idempotent, and none yet or a reset asked for). */
bool kafka_pstate_pid_needed(const kafka_pstate *ps);
/* True when pp's head may be sent at `now`: there is one, no producer id
 * is awaited, pp is below max_in_flight, no resend waits for the batches
 * in flight, and any backoff is over. When only the backoff stops it,
 * lowers *wake to the backoff's end. */
bool kafka_pstate_sendable(const kafka_pstate *ps, const kafka_ppart *pp, int64_t now, int64_t *wake);
/* Takes pp's head for sending (kafka_pstate_sendable said yes): counts
 * it in flight and, when idempotent, stamps its base sequence the first
 * time (a resend keeps its sequence). Returns it. */
kafka_pbatch *kafka_pstate_take(kafka_pstate *ps, kafka_ppart *pp);
/* Gives back a batch taken but not sent (its partition started a retry
 * meanwhile: it must go after the resend). */
void kafka_pstate_untake(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b);
/* The broker acknowledged b (taken from pp): no longer in flight; the
 * next expected sequence moves past it. */
void kafka_pstate_acked(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b);

/* What to do with a batch whose send or response failed. */
typedef enum {
    KAFKA_PS_SUCCEEDED, /* DUPLICATE_SEQUENCE_NUMBER: the broker has it; acked */
    KAFKA_PS_FAILED,    /* give up: complete it with outcome.err */
    KAFKA_PS_REQUEUED,  /* put back: resent after its predecessor, no backoff */
    KAFKA_PS_RETRY      /* put back: resent after the backoff */
} kafka_ps_verdict;

typedef struct kafka_ps_outcome {
    kafka_ps_verdict verdict;
    kafka_err err;         /* FAILED: the error to report */
    bool refresh_metadata; /* RETRY: the leader may have moved */
    bool pid_reset;        /* this failure asked for a new producer id
                              (it was not asked for before) */
} kafka_ps_outcome;

/* b (taken from pp) failed with err at `now`. aborting: the writer is
 * closing without waiting, every failure is final. Applies the rules:
 * DUPLICATE_SEQUENCE_NUMBER counts as success; OUT_OF_ORDER_SEQUENCE_NUMBER
 * for a batch that is not the next expected one (a predecessor failed)
 * resends it after that predecessor without counting an attempt;
 * OUT_OF_ORDER for the expected batch, UNKNOWN_PRODUCER_ID and
 * INVALID_PRODUCER_EPOCH renew the producer id (sequences restart from
 * 0 in queue order); a retriable error retries after a backoff until
 * max_attempts. A batch that fails for good leaves its sequence numbers
 * unused: when the broker surely refused every attempt (an error in the
 * Produce response other than a timeout) and nothing of the partition is
 * in flight, the next batches take those numbers; otherwise (an attempt
 * may have been stored, or later batches are in flight with later
 * numbers) a new producer id is asked for. When the verdict is SUCCEEDED,
 * b was already counted acked. */
kafka_ps_outcome kafka_pstate_failed(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b, kafka_err err, int64_t now,
                                     bool aborting);

/* A new producer id arrived: records it and clears the reset. The caller
 * then calls kafka_ppart_restart for every partition. */
void kafka_pstate_pid_assigned(kafka_pstate *ps, int64_t pid, int16_t epoch);
/* Restarts pp's sequences at 0 for a new producer id; its queued batches
 * will be stamped again, in queue order. */
void kafka_ppart_restart(kafka_ppart *pp);
/* InitProducerId failed with err at `now`: backs off; true when the
 * batches waiting for the id must now fail with err (err not retriable,
 * max_attempts failures in a row, or aborting). */
bool kafka_pstate_pid_failed(kafka_pstate *ps, kafka_err err, int64_t now, bool aborting);

/* Errors worth another send of a Produce (transport and broker-side
 * retriable errors, and the idempotent producer's own). */
bool kafka_pstate_err_retriable(kafka_err err);
/* Errors after which the partition's leader should be looked up again. */
bool kafka_pstate_err_moves_leader(kafka_err err);

#endif
