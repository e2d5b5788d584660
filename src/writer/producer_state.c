/*
 * The producer's state machine (producer_state.h): no I/O, no clock of
 * its own, no locks.
 */
#include "writer/producer_state.h"

#include "common/backoff.h"

/* OUT_OF_ORDER resends of one batch before it counts as failed: each one
 * waits for a predecessor's retry, so they are bounded apart from
 * max_attempts but must still end. */
#define PS_MAX_REQUEUES 100

void kafka_pstate_init(kafka_pstate *ps, bool idempotent, int max_in_flight, int max_attempts, int backoff_min_ms,
                       int backoff_max_ms)
{
    *ps = (kafka_pstate){0};
    ps->idempotent = idempotent;
    ps->pid = -1;
    ps->epoch = -1;
    ps->max_in_flight = max_in_flight > 0 ? max_in_flight : 1;
    ps->max_attempts = max_attempts > 0 ? max_attempts : 1;
    ps->backoff_min_ms = backoff_min_ms;
    ps->backoff_max_ms = backoff_max_ms;
}

void kafka_ppart_init(kafka_ppart *pp) { *pp = (kafka_ppart){0}; }

void kafka_ppart_push(kafka_ppart *pp, kafka_pbatch *b, int32_t count)
{
    b->next = NULL;
    b->count = count;
    b->batch_no = pp->next_batch_no++;
    if (pp->qtail)
        pp->qtail->next = b;
    else
        pp->qhead = b;
    pp->qtail = b;
}

void kafka_ppart_requeue(kafka_ppart *pp, kafka_pbatch *b)
{
    kafka_pbatch **at = &pp->qhead;
    while (*at && (*at)->batch_no < b->batch_no)
        at = &(*at)->next;
    b->next = *at;
    *at = b;
    if (!b->next)
        pp->qtail = b;
}

kafka_pbatch *kafka_ppart_pop(kafka_ppart *pp)
{
    kafka_pbatch *b = pp->qhead;
    if (!b)
        return NULL;
    pp->qhead = b->next;
    if (!pp->qhead)
        pp->qtail = NULL;
    b->next = NULL;
    return b;
}

bool kafka_pstate_pid_needed(const kafka_pstate *ps) { return ps->idempotent && (ps->pid < 0 || ps->pid_reset); }

bool kafka_pstate_sendable(const kafka_pstate *ps, const kafka_ppart *pp, int64_t now, int64_t *wake)
{
    if (!pp->qhead || kafka_pstate_pid_needed(ps) || pp->inflight >= ps->max_in_flight ||
        (pp->retrying && pp->inflight > 0))
        return false;
    if (now < pp->backoff_until) {
        if (wake && pp->backoff_until < *wake)
            *wake = pp->backoff_until;
        return false;
    }
    return true;
}

kafka_pbatch *kafka_pstate_take(kafka_pstate *ps, kafka_ppart *pp)
{
    kafka_pbatch *b = kafka_ppart_pop(pp);
    if (!b)
        return NULL;
    pp->inflight++;
    ps->inflight++;
    pp->retrying = false;
    if (ps->idempotent && b->base_seq < 0) {
        b->base_seq = pp->next_seq;
        pp->next_seq += b->count;
    }
    return b;
}

void kafka_pstate_untake(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b)
{
    pp->inflight--;
    ps->inflight--;
    kafka_ppart_requeue(pp, b);
}

void kafka_pstate_acked(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b)
{
    pp->inflight--;
    ps->inflight--;
    if (b->base_seq >= 0)
        pp->acked_seq = b->base_seq + b->count;
}

bool kafka_pstate_err_retriable(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_TRANSPORT:
    case KAFKA_ERR_TIMEOUT:
    case KAFKA_ERR_CLOSED: /* the conn broke (not the writer: see aborting) */
    case KAFKA_ERR_NO_BROKERS:
    case KAFKA_ERR_RESOLVE:
    case KAFKA_ERR_BROKER_NOT_AVAILABLE: /* the leader left the broker table: metadata moved on */
    case KAFKA_ERR_PROTOCOL:
    case KAFKA_ERR_UNKNOWN_PRODUCER_ID:
    case KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case KAFKA_ERR_INVALID_PRODUCER_EPOCH:
        return true;
    default:
        return kafka_err_is_retriable(err);
    }
}

bool kafka_pstate_err_moves_leader(kafka_err err)
{
    return err == KAFKA_ERR_NOT_LEADER_OR_FOLLOWER || err == KAFKA_ERR_LEADER_NOT_AVAILABLE ||
           err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION || err == KAFKA_ERR_FENCED_LEADER_EPOCH ||
           err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_CLOSED || err == KAFKA_ERR_TIMEOUT ||
           err == KAFKA_ERR_NOT_ENOUGH_REPLICAS || err == KAFKA_ERR_BROKER_NOT_AVAILABLE;
}

/* Errors that mean the broker no longer knows this producer's sequence
 * state as we do: only a new producer id (sequences from 0) repairs it. */
static bool breaks_sequence(kafka_err err)
{
    return err == KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == KAFKA_ERR_UNKNOWN_PRODUCER_ID ||
           err == KAFKA_ERR_INVALID_PRODUCER_EPOCH;
}

/* Failures after which the broker may have stored the batch: the client's
 * own (a lost answer, a timeout, a broken connection: negative codes) and
 * the broker's timeouts. Any other error in a Produce response is a
 * refusal: nothing was stored. */
static bool maybe_stored(kafka_err err)
{
    return err < 0 || err == KAFKA_ERR_REQUEST_TIMED_OUT || err == KAFKA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND ||
           err == KAFKA_ERR_UNKNOWN_SERVER_ERROR;
}

/* b (idempotent, stamped) failed for good: its sequence numbers were never
 * stored. Nothing of pp in flight: the next batches take them (the queued
 * ones stamped after it are stamped again, in order; one stamped before it
 * and waiting for its retry keeps its numbers). Else a new producer id
 * repairs the hole. Returns true when it asked for the new id. */
static bool seq_hole(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b)
{
    if (!b->maybe_stored && pp->inflight == 0 && pp->next_seq >= b->base_seq) {
        pp->next_seq = b->base_seq;
        pp->acked_seq = b->base_seq;
        for (kafka_pbatch *q = pp->qhead; q; q = q->next)
            if (q->base_seq > b->base_seq) /* stamped after it: again */
                q->base_seq = -1;
        return false;
    }
    if (ps->pid_reset)
        return false;
    ps->pid_reset = true;
    return true;
}

kafka_ps_outcome kafka_pstate_failed(kafka_pstate *ps, kafka_ppart *pp, kafka_pbatch *b, kafka_err err, int64_t now,
                                     bool aborting)
{
    kafka_ps_outcome o = {KAFKA_PS_FAILED, err, false, false};
    if (err == KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER) {
        /* The broker already has this batch (an earlier send whose answer
         * was lost): it is written. */
        kafka_pstate_acked(ps, pp, b);
        o.verdict = KAFKA_PS_SUCCEEDED;
        o.err = 0;
        return o;
    }
    pp->inflight--;
    ps->inflight--;
    /* A broken connection is a consequence: keep the cause, if any. */
    if (err != KAFKA_ERR_CLOSED || !b->last_err)
        b->last_err = err;
    if (maybe_stored(err))
        b->maybe_stored = true;
    if (aborting) {
        o.err = b->last_err;
        return o;
    }
    bool idem = ps->idempotent && b->base_seq >= 0;
    if (idem && err == KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER && b->base_seq != pp->acked_seq &&
        b->requeues < PS_MAX_REQUEUES) {
        /* A predecessor failed and the broker refuses what follows it:
         * resend after it, no attempt counted. */
        b->requeues++;
        kafka_ppart_requeue(pp, b);
        pp->retrying = true;
        o.verdict = KAFKA_PS_REQUEUED;
        o.err = 0;
        return o;
    }
    if (idem && breaks_sequence(err) && !ps->pid_reset) {
        ps->pid_reset = true;
        o.pid_reset = true;
    }
    b->attempts++;
    if (!kafka_pstate_err_retriable(err) || b->attempts >= ps->max_attempts) {
        if (idem && seq_hole(ps, pp, b))
            o.pid_reset = true;
        return o;
    }
    o.verdict = KAFKA_PS_RETRY;
    o.err = 0;
    o.refresh_metadata = kafka_pstate_err_moves_leader(err);
    kafka_ppart_requeue(pp, b);
    pp->retrying = true;
    int64_t until = now + kafka_backoff_ms(b->attempts - 1, ps->backoff_min_ms, ps->backoff_max_ms);
    if (until > pp->backoff_until)
        pp->backoff_until = until;
    return o;
}

void kafka_pstate_pid_assigned(kafka_pstate *ps, int64_t pid, int16_t epoch)
{
    ps->pid = pid;
    ps->epoch = epoch;
    ps->pid_reset = false;
    ps->pid_failures = 0;
}

void kafka_ppart_restart(kafka_ppart *pp)
{
    pp->next_seq = 0;
    pp->acked_seq = 0;
    for (kafka_pbatch *b = pp->qhead; b; b = b->next)
        b->base_seq = -1;
}

bool kafka_pstate_pid_failed(kafka_pstate *ps, kafka_err err, int64_t now, bool aborting)
{
    ps->pid_failures++;
    ps->pid_backoff_until = now + kafka_backoff_ms(ps->pid_failures - 1, ps->backoff_min_ms, ps->backoff_max_ms);
    if (ps->pid_failures >= ps->max_attempts || !kafka_pstate_err_retriable(err) || aborting) {
        ps->pid_failures = 0;
        return true;
    }
    return false;
}
