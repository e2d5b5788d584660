/*
 * The producer's state machine (src/writer/producer_state.h) driven
 * without a broker: a small model of a Kafka broker's idempotent-producer
 * checks (written here from the protocol's rules, not from the module:
 * per partition and producer id, the next expected sequence; the last
 * five batches remembered for duplicates; an older epoch fenced; an
 * unknown producer refused) answers scripted Produce requests, and a fake
 * clock stands in for time. The driver below plays the writer's part
 * (take sendable heads, send them on a broker's connection in order, feed
 * each answer back, fetch a producer id when asked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "writer/producer_state.h"

#define N_PARTS 2
#define N_BROKERS 3
#define MAX_BATCHES 32
#define MAX_LOG 64
#define MAX_REQS 64
#define BACKOFF_MIN 100
#define BACKOFF_MAX 1000

/* ---- the broker model ------------------------------------------------------ */

/* What a partition's log holds, shared by every broker (replication: a
 * new leader has the old one's log and producer state). */
typedef struct model_part {
    int log[MAX_LOG]; /* batch ids in log order */
    int n_log;
    int64_t pid;      /* the producer it knows, -1 none */
    bool forgot;      /* it dropped a producer's state (retention) */
    int16_t epoch;
    int32_t next_seq; /* expected next sequence */
    struct {
        int32_t seq, count;
    } recent[5]; /* the last five accepted batches */
    int n_recent;
} model_part;

/* One Produce of one batch on a broker's connection. */
typedef struct req {
    int broker, part, batch;
    int64_t pid;
    int16_t epoch;
    int32_t seq, count;
} req;

typedef struct batch {
    kafka_pbatch pb; /* first: the module hands back its address */
    int id;
    int part;
    bool done;
    kafka_err result;
    int order; /* completion order */
} batch;

typedef struct harness {
    kafka_pstate ps;
    kafka_ppart pp[N_PARTS];
    int leader[N_PARTS];
    model_part mp[N_PARTS];
    batch b[MAX_BATCHES];
    int n_b;
    req q[N_BROKERS][MAX_REQS]; /* each broker's requests in flight, in order */
    int qn[N_BROKERS];
    int64_t now;
    int64_t next_pid;
    int pid_fetches;
    int completed;
    int retries, requeues;
    bool metadata_asked;
} harness;

static void h_init(harness *h, bool idempotent, int max_in_flight, int max_attempts)
{
    memset(h, 0, sizeof *h);
    kafka_pstate_init(&h->ps, idempotent, max_in_flight, max_attempts, BACKOFF_MIN, BACKOFF_MAX);
    for (int i = 0; i < N_PARTS; i++) {
        kafka_ppart_init(&h->pp[i]);
        h->mp[i].pid = -1;
        h->leader[i] = 0;
    }
    h->now = 1000000;
    h->next_pid = 7000;
}

/* The broker's verdict on a Produce of r, applied to the log when
 * accepted. Kafka's rules for an idempotent producer. */
static kafka_err model_produce(harness *h, const req *r)
{
    model_part *m = &h->mp[r->part];
    if (r->pid >= 0) {
        if (m->pid == r->pid && r->epoch < m->epoch)
            return KAFKA_ERR_INVALID_PRODUCER_EPOCH;
        if (m->pid != r->pid || r->epoch != m->epoch) {
            /* A producer (or epoch) the partition has not seen: it must
             * start at sequence 0 (a broker that dropped the producer's
             * state says so; else the sequence is out of order). */
            if (r->seq != 0)
                return m->forgot ? KAFKA_ERR_UNKNOWN_PRODUCER_ID : KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
            m->pid = r->pid;
            m->epoch = r->epoch;
            m->next_seq = 0;
            m->n_recent = 0;
        } else {
            for (int i = 0; i < m->n_recent; i++)
                if (m->recent[i].seq == r->seq && m->recent[i].count == r->count)
                    return KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER;
            if (r->seq != m->next_seq)
                return KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
        if (m->n_recent == 5)
            memmove(&m->recent[0], &m->recent[1], 4 * sizeof m->recent[0]);
        else
            m->n_recent++;
        m->recent[m->n_recent - 1].seq = r->seq;
        m->recent[m->n_recent - 1].count = r->count;
        m->next_seq = r->seq + r->count;
    }
    assert_true(m->n_log < MAX_LOG);
    m->log[m->n_log++] = r->batch;
    return 0;
}

/* ---- the driver (the writer's part) ----------------------------------------- */

static int add_batch(harness *h, int part, int32_t count)
{
    assert_true(h->n_b < MAX_BATCHES);
    batch *b = &h->b[h->n_b];
    b->id = h->n_b;
    b->part = part;
    b->pb.base_seq = -1;
    kafka_ppart_push(&h->pp[part], &b->pb, count);
    return h->n_b++;
}

/* Fetches a producer id when the state asks for one and nothing is in
 * flight (as the writer does). */
static void maybe_pid(harness *h)
{
    if (!kafka_pstate_pid_needed(&h->ps) || h->ps.inflight)
        return;
    h->pid_fetches++;
    kafka_pstate_pid_assigned(&h->ps, h->next_pid++, 0);
    for (int i = 0; i < N_PARTS; i++)
        kafka_ppart_restart(&h->pp[i]);
}

/* One send step at h->now: every sendable head goes to its leader's
 * connection. Returns the requests sent; *wake (optional) gets the next
 * time a backoff ends. */
static int send_step(harness *h, int64_t *wake)
{
    maybe_pid(h);
    int sent = 0;
    int64_t w = INT64_MAX;
    for (int p = 0; p < N_PARTS; p++)
        while (kafka_pstate_sendable(&h->ps, &h->pp[p], h->now, &w)) {
            batch *b = (batch *)(void *)kafka_pstate_take(&h->ps, &h->pp[p]);
            int br = h->leader[p];
            assert_true(h->qn[br] < MAX_REQS);
            h->q[br][h->qn[br]++] = (req){br,           p, b->id, h->ps.idempotent ? h->ps.pid : -1, h->ps.epoch,
                                          b->pb.base_seq, b->pb.count};
            sent++;
        }
    if (wake)
        *wake = w;
    return sent;
}

static void complete(harness *h, batch *b, kafka_err err)
{
    assert_false(b->done);
    b->done = true;
    b->result = err;
    b->order = h->completed++;
}

/* Feeds err (0 = acknowledged) for the request r back to the state. */
static void feed(harness *h, const req *r, kafka_err err)
{
    batch *b = &h->b[r->batch];
    kafka_ppart *pp = &h->pp[r->part];
    if (!err) {
        kafka_pstate_acked(&h->ps, pp, &b->pb);
        complete(h, b, 0);
        return;
    }
    kafka_ps_outcome o = kafka_pstate_failed(&h->ps, pp, &b->pb, err, h->now, false);
    switch (o.verdict) {
    case KAFKA_PS_SUCCEEDED:
        complete(h, b, 0);
        break;
    case KAFKA_PS_FAILED:
        complete(h, b, o.err);
        break;
    case KAFKA_PS_REQUEUED:
        h->requeues++;
        break;
    case KAFKA_PS_RETRY:
        h->retries++;
        h->metadata_asked |= o.refresh_metadata;
        break;
    }
}

static req pop_req(harness *h, int broker)
{
    assert_true(h->qn[broker] > 0);
    req r = h->q[broker][0];
    memmove(&h->q[broker][0], &h->q[broker][1], (size_t)(--h->qn[broker]) * sizeof r);
    return r;
}

/* The broker handles its oldest request and answers it. */
static kafka_err answer(harness *h, int broker)
{
    req r = pop_req(h, broker);
    kafka_err err = model_produce(h, &r);
    feed(h, &r, err);
    return err;
}

/* The broker handles its oldest request (stores it when valid), but the
 * answer is lost: the connection breaks. */
static void answer_lost(harness *h, int broker)
{
    req r = pop_req(h, broker);
    (void)model_produce(h, &r);
    feed(h, &r, KAFKA_ERR_TRANSPORT);
}

/* The broker refuses its oldest request with err without storing it. */
static void refuse(harness *h, int broker, kafka_err err)
{
    req r = pop_req(h, broker);
    feed(h, &r, err);
}

static void answer_all(harness *h, int broker)
{
    while (h->qn[broker])
        answer(h, broker);
}

/* Runs send steps and answers until every batch is done, advancing the
 * fake clock past each backoff. */
static void run_to_end(harness *h)
{
    for (int round = 0; round < 100; round++) {
        int64_t wake;
        send_step(h, &wake);
        bool any = false;
        for (int br = 0; br < N_BROKERS; br++)
            if (h->qn[br]) {
                answer_all(h, br);
                any = true;
            }
        if (h->completed == h->n_b)
            return;
        if (!any && wake != INT64_MAX)
            h->now = wake;
    }
    fail_msg("batches still pending after 100 rounds");
}

static void assert_log(const harness *h, int part, const int *ids, int n)
{
    assert_int_equal(h->mp[part].n_log, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(h->mp[part].log[i], ids[i]);
}

/* ---- tests ------------------------------------------------------------------- */

/* Batches are pipelined (up to max_in_flight) with consecutive sequences
 * and land in order. */
static void test_pipelined_in_order(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 3);
    for (int i = 0; i < 7; i++)
        add_batch(&h, 0, 10);
    assert_int_equal(send_step(&h, NULL), 5); /* the in-flight limit */
    assert_int_equal(h.pid_fetches, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h.q[0][i].seq, i * 10);
    assert_int_equal(send_step(&h, NULL), 0);
    answer(&h, 0);
    assert_int_equal(send_step(&h, NULL), 1); /* a slot freed */
    answer_all(&h, 0);
    assert_int_equal(send_step(&h, NULL), 1);
    answer_all(&h, 0);
    int want[] = {0, 1, 2, 3, 4, 5, 6};
    assert_log(&h, 0, want, 7);
    for (int i = 0; i < 7; i++) {
        assert_true(h.b[i].done);
        assert_int_equal(h.b[i].result, 0);
        assert_int_equal(h.b[i].order, i);
    }
    assert_int_equal(h.ps.inflight, 0);
}

/* The answer to a stored batch is lost; the resend (same sequence, after
 * the backoff, not before) is a duplicate to the broker, which counts as
 * written; the log holds the batch once and the next batch follows. */
static void test_duplicate_sequence_is_success(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    int a = add_batch(&h, 0, 3);
    send_step(&h, NULL);
    int32_t seq = h.q[0][0].seq;
    answer_lost(&h, 0);
    assert_int_equal(h.retries, 1);
    assert_false(h.b[a].done);
    int64_t wake;
    assert_int_equal(send_step(&h, &wake), 0); /* backing off */
    assert_true(wake > h.now && wake <= h.now + BACKOFF_MAX);
    h.now = wake;
    assert_int_equal(send_step(&h, NULL), 1);
    assert_int_equal(h.q[0][0].seq, seq); /* the very same sequence */
    assert_int_equal(answer(&h, 0), KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER);
    assert_true(h.b[a].done);
    assert_int_equal(h.b[a].result, 0);
    int b = add_batch(&h, 0, 2);
    send_step(&h, NULL);
    assert_int_equal(h.q[0][0].seq, seq + 3);
    assert_int_equal(answer(&h, 0), 0);
    int want[] = {a, b};
    assert_log(&h, 0, want, 2);
    assert_int_equal(h.pid_fetches, 1); /* no reset needed */
}

/* The first of three pipelined batches is refused (not stored): the broker
 * answers the next two OUT_OF_ORDER. They are put back behind it without
 * counting an attempt, nothing is sent until all three are back, and the
 * resends land in the original order with the original sequences. */
static void test_out_of_order_after_failed_predecessor(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 2);
    for (int i = 0; i < 3; i++)
        add_batch(&h, 0, 4);
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_NOT_ENOUGH_REPLICAS);
    h.now += BACKOFF_MAX; /* the backoff is over, but... */
    assert_int_equal(send_step(&h, NULL), 0); /* ...the others are still in flight */
    assert_int_equal(answer(&h, 0), KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(answer(&h, 0), KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(h.requeues, 2);
    assert_false(kafka_pstate_pid_needed(&h.ps)); /* no reset for these */
    assert_int_equal(h.b[1].pb.attempts, 0);
    run_to_end(&h);
    int want[] = {0, 1, 2};
    assert_log(&h, 0, want, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h.b[i].result, 0);
        assert_int_equal(h.b[i].order, i);
        assert_int_equal(h.b[i].pb.base_seq, i * 4);
    }
    assert_int_equal(h.pid_fetches, 1);
}

/* The broker forgot the producer (its state expired): UNKNOWN_PRODUCER_ID
 * asks for a new producer id; the batch is stamped again from sequence 0
 * under it and accepted, after the earlier batch. */
static void test_unknown_producer_id(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    int a = add_batch(&h, 0, 5);
    send_step(&h, NULL);
    answer(&h, 0);
    int64_t first_pid = h.ps.pid;
    h.mp[0].pid = -1; /* the broker drops the producer's state */
    h.mp[0].forgot = true;
    int b = add_batch(&h, 0, 5);
    send_step(&h, NULL);
    assert_int_equal(h.q[0][0].seq, 5);
    assert_int_equal(answer(&h, 0), KAFKA_ERR_UNKNOWN_PRODUCER_ID);
    assert_true(kafka_pstate_pid_needed(&h.ps));
    run_to_end(&h);
    assert_int_equal(h.pid_fetches, 2);
    assert_true(h.ps.pid != first_pid);
    assert_int_equal(h.b[b].pb.base_seq, 0);
    assert_int_equal(h.b[b].result, 0);
    int want[] = {a, b};
    assert_log(&h, 0, want, 2);
}

/* The producer was fenced by a newer epoch: INVALID_PRODUCER_EPOCH asks
 * for a new producer id too, and the batch lands once under it. */
static void test_invalid_epoch(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    add_batch(&h, 0, 1);
    send_step(&h, NULL);
    answer(&h, 0);
    h.mp[0].epoch = 9; /* someone bumped the epoch */
    int b = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    assert_int_equal(answer(&h, 0), KAFKA_ERR_INVALID_PRODUCER_EPOCH);
    assert_true(kafka_pstate_pid_needed(&h.ps));
    run_to_end(&h);
    assert_int_equal(h.b[b].result, 0);
    assert_int_equal(h.mp[0].n_log, 2);
}

/* Three batches in flight to broker 0 when leadership moves to broker 1:
 * the first was stored (replicated) but its answer lost, the other two
 * are refused NOT_LEADER. The retries ask for metadata, go to the new
 * leader with their sequences, the stored one is a duplicate there, and
 * the log keeps the order without a copy. */
static void test_retries_across_leader_move(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    for (int i = 0; i < 3; i++)
        add_batch(&h, 0, 2);
    send_step(&h, NULL);
    answer_lost(&h, 0);
    refuse(&h, 0, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    refuse(&h, 0, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_true(h.metadata_asked);
    h.leader[0] = 1;
    int64_t wake;
    assert_int_equal(send_step(&h, &wake), 0);
    h.now = wake;
    assert_int_equal(send_step(&h, NULL), 3);
    assert_int_equal(h.qn[0], 0);
    assert_int_equal(h.qn[1], 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h.q[1][i].seq, i * 2);
    assert_int_equal(answer(&h, 1), KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER);
    answer_all(&h, 1);
    int want[] = {0, 1, 2};
    assert_log(&h, 0, want, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h.b[i].result, 0);
    assert_int_equal(h.pid_fetches, 1);
}

/* Partition 0's leader (broker 0) does not answer: partition 0 stops at
 * max_in_flight while partition 1 (broker 2) keeps sending and completing;
 * when broker 0 answers, partition 0 finishes in order. */
static void test_slow_broker_does_not_hold_others(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    h.leader[1] = 2;
    int p0[10], p1[10];
    for (int i = 0; i < 10; i++) {
        p0[i] = add_batch(&h, 0, 1);
        p1[i] = add_batch(&h, 1, 1);
    }
    for (int round = 0; round < 10; round++) {
        send_step(&h, NULL);
        if (h.qn[2])
            answer(&h, 2); /* the fast broker answers one at a time */
    }
    answer_all(&h, 2);
    send_step(&h, NULL);
    answer_all(&h, 2);
    for (int i = 0; i < 10; i++)
        assert_true(h.b[p1[i]].done);
    assert_int_equal(h.qn[0], 5);
    assert_int_equal(h.pp[0].inflight, 5);
    for (int i = 0; i < 10; i++)
        assert_false(h.b[p0[i]].done);
    run_to_end(&h);
    assert_log(&h, 0, p0, 10);
    assert_log(&h, 1, p1, 10);
}

/* A batch refused every time fails after max_attempts with the broker's
 * error; the broker stored none of its attempts, so the batch queued
 * behind it takes its sequence numbers (same producer id) and lands. */
static void test_attempts_exhausted(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 1, 3);
    int a = add_batch(&h, 0, 2);
    int b = add_batch(&h, 0, 2);
    for (int i = 0; i < 3; i++) {
        int64_t wake;
        if (!send_step(&h, &wake)) {
            h.now = wake;
            assert_int_equal(send_step(&h, NULL), 1);
        }
        assert_int_equal(h.q[0][0].batch, a);
        refuse(&h, 0, KAFKA_ERR_NOT_ENOUGH_REPLICAS);
    }
    assert_true(h.b[a].done);
    assert_int_equal(h.b[a].result, KAFKA_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(h.b[a].pb.attempts, 3);
    assert_false(kafka_pstate_pid_needed(&h.ps));
    run_to_end(&h);
    assert_int_equal(h.b[b].result, 0);
    assert_int_equal(h.b[b].pb.base_seq, 0);
    assert_int_equal(h.pid_fetches, 1);
    int want[] = {b};
    assert_log(&h, 0, want, 1);
}

/* A batch refused for good (INVALID_RECORD) while the next is written
 * later: the next takes its sequence numbers and is accepted at once (a
 * broker checking sequences would otherwise answer OUT_OF_ORDER). */
static void test_refused_batch_frees_its_sequence(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    int a = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    answer(&h, 0);
    int bad = add_batch(&h, 0, 3);
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_INVALID_RECORD);
    assert_int_equal(h.b[bad].result, KAFKA_ERR_INVALID_RECORD);
    int c = add_batch(&h, 0, 2);
    send_step(&h, NULL);
    assert_int_equal(h.q[0][0].seq, 1);
    assert_int_equal(answer(&h, 0), 0);
    assert_int_equal(h.retries + h.requeues, 0);
    assert_int_equal(h.pid_fetches, 1);
    int want[] = {a, c};
    assert_log(&h, 0, want, 2);
}

/* A batch whose answer was lost and that then fails for good may be
 * stored: its numbers are not reused, a new producer id is asked for. */
static void test_maybe_stored_failure_renews_pid(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 2);
    int a = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    answer_lost(&h, 0); /* stored, answer lost */
    h.now += BACKOFF_MAX;
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_INVALID_RECORD); /* attempts exhausted */
    assert_int_equal(h.b[a].result, KAFKA_ERR_INVALID_RECORD);
    assert_true(kafka_pstate_pid_needed(&h.ps));
    int b = add_batch(&h, 0, 1);
    run_to_end(&h);
    assert_int_equal(h.pid_fetches, 2);
    assert_int_equal(h.b[b].result, 0);
    int want[] = {a, b};
    assert_log(&h, 0, want, 2);
}

/* A batch refused for good while later batches of its partition are in
 * flight with later numbers: a new producer id repairs the hole. */
static void test_refused_with_later_in_flight_renews_pid(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    int a = add_batch(&h, 0, 1);
    int b = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_INVALID_RECORD);
    assert_true(kafka_pstate_pid_needed(&h.ps));
    run_to_end(&h);
    assert_int_equal(h.b[a].result, KAFKA_ERR_INVALID_RECORD);
    assert_int_equal(h.b[b].result, 0);
    assert_int_equal(h.pid_fetches, 2);
    int want[] = {b};
    assert_log(&h, 0, want, 1);
}

/* An error that no retry can fix fails the batch at once. */
static void test_fatal_error_fails_at_once(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 10);
    int a = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_MESSAGE_TOO_LARGE);
    assert_true(h.b[a].done);
    assert_int_equal(h.b[a].result, KAFKA_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(h.retries, 0);
}

/* Without idempotence: no producer id, no sequences. */
static void test_not_idempotent(void **state)
{
    (void)state;
    harness h;
    h_init(&h, false, 5, 3);
    add_batch(&h, 0, 1);
    add_batch(&h, 0, 1);
    assert_false(kafka_pstate_pid_needed(&h.ps));
    run_to_end(&h);
    assert_int_equal(h.pid_fetches, 0);
    assert_int_equal(h.b[0].pb.base_seq, -1);
    assert_int_equal(h.b[1].pb.base_seq, -1);
    int want[] = {0, 1};
    assert_log(&h, 0, want, 2);
}

/* A refused InitProducerId: retriable errors back off until max_attempts,
 * an authentication failure gives up at once. */
static void test_pid_refused(void **state)
{
    (void)state;
    kafka_pstate ps;
    kafka_pstate_init(&ps, true, 5, 3, BACKOFF_MIN, BACKOFF_MAX);
    assert_false(kafka_pstate_pid_failed(&ps, KAFKA_ERR_TRANSPORT, 1000, false));
    assert_true(ps.pid_backoff_until > 1000);
    assert_false(kafka_pstate_pid_failed(&ps, KAFKA_ERR_TRANSPORT, 2000, false));
    assert_true(kafka_pstate_pid_failed(&ps, KAFKA_ERR_TRANSPORT, 3000, false));
    assert_true(kafka_pstate_pid_failed(&ps, KAFKA_ERR_SASL_AUTHENTICATION_FAILED, 4000, false));
    assert_true(kafka_pstate_pid_needed(&ps));
}

/* Closing without waiting: a failure is final, with the earlier cause
 * kept over the broken connection. */
static void test_abort_keeps_cause(void **state)
{
    (void)state;
    harness h;
    h_init(&h, true, 5, 5);
    int a = add_batch(&h, 0, 1);
    send_step(&h, NULL);
    refuse(&h, 0, KAFKA_ERR_NOT_ENOUGH_REPLICAS);
    h.now += BACKOFF_MAX;
    send_step(&h, NULL);
    req r = pop_req(&h, 0);
    kafka_ps_outcome o = kafka_pstate_failed(&h.ps, &h.pp[0], &h.b[r.batch].pb, KAFKA_ERR_CLOSED, h.now, true);
    assert_int_equal(o.verdict, KAFKA_PS_FAILED);
    assert_int_equal(o.err, KAFKA_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(r.batch, a);
    assert_int_equal(h.ps.inflight, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_duplicate_sequence_is_success),
        cmocka_unit_test(test_out_of_order_after_failed_predecessor),
        cmocka_unit_test(test_unknown_producer_id),
        cmocka_unit_test(test_invalid_epoch),
        cmocka_unit_test(test_retries_across_leader_move),
        cmocka_unit_test(test_slow_broker_does_not_hold_others),
        cmocka_unit_test(test_attempts_exhausted),
        cmocka_unit_test(test_refused_batch_frees_its_sequence),
        cmocka_unit_test(test_maybe_stored_failure_renews_pid),
        cmocka_unit_test(test_refused_with_later_in_flight_renews_pid),
        cmocka_unit_test(test_fatal_error_fails_at_once),
        cmocka_unit_test(test_not_idempotent),
        cmocka_unit_test(test_pid_refused),
        cmocka_unit_test(test_abort_keeps_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
