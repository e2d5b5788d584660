/* ke_wire: framing, pipelining, deadlines and backoff of one connection,
 * without I/O (wire.h). */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/backoff.h"
#include "conn/conn_internal.h"
#include "engine/wire.h"
#include "protocol/gen_runtime.h"

void ke_wire_init(ke_wire *w, int backoff_min_ms, int backoff_max_ms, int32_t max_response)
{
    memset(w, 0, sizeof *w);
    w->state = KE_WIRE_DOWN;
    w->backoff_min_ms = backoff_min_ms;
    w->backoff_max_ms = backoff_max_ms;
    w->max_response = max_response > 0 ? max_response : KAFKA_CONN_DEFAULT_MAX_RESPONSE;
    w->next_corr = 1;
}

static void reset_read(ke_wire *w)
{
    kafka_free(w->frame);
    w->frame = NULL;
    w->frame_len = w->frame_have = w->stage_have = 0;
    w->read_gen++;
}

/* Frees what a request owns (not the caller's ext memory). */
static void req_free(ke_wire_req *q)
{
    kafka_free(q->bytes);
    q->bytes = NULL;
    kafka_free(q->ext);
    q->ext = NULL;
    q->n_ext = 0;
}

/* Pops and fails every request; callbacks may submit new ones (they are
 * kept: only the requests present on entry fail). */
static void fail_all(ke_wire *w, kafka_err err, const char *why)
{
    size_t n = w->len;
    ke_wire_req *old = w->reqs;
    size_t head = w->head;
    w->reqs = NULL;
    w->head = w->len = w->cap = w->n_written = w->out_off = 0;
    for (size_t i = 0; i < n; i++) {
        ke_wire_req *q = &old[head + i];
        req_free(q);
        q->fn(q->arg, err, why, NULL, NULL, 0);
    }
    kafka_free(old);
}

void ke_wire_destroy(ke_wire *w)
{
    reset_read(w);
    fail_all(w, KAFKA_ERR_CLOSED, "the engine was closed");
    kafka_free(w->reqs);
    w->reqs = NULL;
}

int32_t ke_wire_next_corr(ke_wire *w)
{
    int32_t c = w->next_corr;
    w->next_corr = c == INT32_MAX ? 1 : c + 1;
    return c;
}

kafka_err ke_wire_submit(ke_wire *w, int32_t corr, uint8_t *bytes, size_t len, bool flexible_response,
                         int64_t deadline, ke_response_fn fn, void *arg)
{
    return ke_wire_submit_ext(w, corr, bytes, len, NULL, 0, flexible_response, deadline, fn, arg);
}

kafka_err ke_wire_submit_ext(ke_wire *w, int32_t corr, uint8_t *bytes, size_t len, struct iovec *ext, int n_ext,
                             bool flexible_response, int64_t deadline, ke_response_fn fn, void *arg)
{
    if (w->head + w->len == w->cap) {
        if (w->head > 0) { /* compact before growing */
            memmove(w->reqs, w->reqs + w->head, w->len * sizeof *w->reqs);
            w->head = 0;
        }
        if (w->len == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 8;
            ke_wire_req *n = kafka_realloc(w->reqs, cap * sizeof *n);
            if (!n) {
                kafka_free(bytes);
                kafka_free(ext);
                return KAFKA_ERR_NOMEM;
            }
            w->reqs = n;
            w->cap = cap;
        }
    }
    size_t total = len;
    for (int i = 0; i < n_ext; i++)
        total += ext[i].iov_len;
    w->reqs[w->head + w->len++] =
        (ke_wire_req){corr, flexible_response, deadline, fn, arg, bytes, len, false, ext, n_ext, total, false};
    return 0;
}

void ke_wire_last_no_response(ke_wire *w)
{
    if (w->len)
        w->reqs[w->head + w->len - 1].no_response = true;
}

void ke_wire_last_raw(ke_wire *w)
{
    if (w->len)
        w->reqs[w->head + w->len - 1].raw_response = true;
}

int ke_wire_output(const ke_wire *w, struct iovec *iov, int max)
{
    if (w->state != KE_WIRE_UP)
        return 0;
    int n = 0;
    for (size_t i = w->n_written; i < w->len && n < max; i++) {
        const ke_wire_req *q = &w->reqs[w->head + i];
        size_t skip = i == w->n_written ? w->out_off : 0;
        if (skip < q->len) {
            iov[n++] = (struct iovec){q->bytes + skip, q->len - skip};
            skip = 0;
        } else {
            skip -= q->len;
        }
        for (int k = 0; k < q->n_ext && n < max; k++) {
            size_t l = q->ext[k].iov_len;
            if (skip >= l) { /* written already, or empty */
                skip -= l;
                continue;
            }
            iov[n++] = (struct iovec){(uint8_t *)q->ext[k].iov_base + skip, l - skip};
            skip = 0;
        }
    }
    return n;
}

bool ke_wire_wants_write(const ke_wire *w)
{
    return w->state == KE_WIRE_UP && w->n_written < w->len;
}

void ke_wire_wrote(ke_wire *w, size_t n)
{
    while (n > 0 && w->n_written < w->len) {
        ke_wire_req *q = &w->reqs[w->head + w->n_written];
        size_t left = q->total - w->out_off;
        if (n < left) {
            w->out_off += n;
            return;
        }
        n -= left;
        /* Written: the bytes are not needed any more. */
        req_free(q);
        w->out_off = 0;
        if (q->no_response) {
            /* Done: out of the FIFO (the requests written before it keep
             * awaiting their responses in order), then its callback,
             * which may submit more (appended behind). */
            ke_wire_req done = *q;
            size_t at = w->head + w->n_written;
            memmove(&w->reqs[at], &w->reqs[at + 1], (w->head + w->len - at - 1) * sizeof *w->reqs);
            if (--w->len == 0)
                w->head = 0;
            done.fn(done.arg, 0, NULL, NULL, NULL, 0);
            continue;
        }
        w->n_written++;
    }
}

void ke_wire_read_buf(ke_wire *w, uint8_t **ptr, size_t *len)
{
    if (!w->frame) {
        *ptr = w->stage + w->stage_have;
        *len = sizeof w->stage - w->stage_have;
    } else {
        *ptr = w->frame + w->frame_have;
        *len = w->frame_len - w->frame_have;
    }
}

void ke_wire_read_buf_exact(ke_wire *w, uint8_t **ptr, size_t *len)
{
    ke_wire_read_buf(w, ptr, len);
    if (!w->frame && w->stage_have < 4)
        *len = 4 - w->stage_have;
}

/* A whole response frame is in: match it to the oldest request. */
static kafka_err dispatch(ke_wire *w)
{
    uint8_t *frame = w->frame;
    size_t len = w->frame_len;
    w->frame = NULL;
    w->frame_len = w->frame_have = 0;
    if (w->n_written > 0 && w->reqs[w->head].raw_response) {
        ke_wire_req q = w->reqs[w->head];
        w->head++;
        w->len--;
        w->n_written--;
        if (w->len == 0)
            w->head = 0;
        q.fn(q.arg, 0, NULL, frame, frame, len);
        return 0;
    }
    int32_t corr = len >= 4 ? (int32_t)kafka_read_u32_at(frame) : -1;
    if (w->n_written == 0) {
        kafka_free(frame);
        snprintf(w->err, sizeof w->err, "response with correlation id %d while no request is outstanding", corr);
        return KAFKA_ERR_PROTOCOL;
    }
    ke_wire_req q = w->reqs[w->head];
    if (corr != q.corr) {
        kafka_free(frame);
        snprintf(w->err, sizeof w->err, "response for correlation id %d expected, got %d", q.corr, corr);
        return KAFKA_ERR_PROTOCOL;
    }
    kafka_rbuf body;
    kafka_rbuf_init(&body, frame + 4, len - 4);
    if (q.flexible_response) {
        kafka_gen_skip_tagged(&body, "ResponseHeader._tagged_fields");
        if (body.err) {
            kafka_free(frame);
            snprintf(w->err, sizeof w->err, "malformed response header: field %s", body.field ? body.field : "?");
            return KAFKA_ERR_PROTOCOL;
        }
    }
    w->head++;
    w->len--;
    w->n_written--;
    if (w->len == 0)
        w->head = 0;
    q.fn(q.arg, 0, NULL, frame, body.p, (size_t)(body.end - body.p));
    return 0;
}

kafka_err ke_wire_read_done(ke_wire *w, size_t n)
{
    if (w->frame) {
        w->frame_have += n;
        return w->frame_have == w->frame_len ? dispatch(w) : 0;
    }
    w->stage_have += n;
    size_t at = 0;
    while (w->stage_have - at >= 4) {
        int32_t size = (int32_t)kafka_read_u32_at(w->stage + at);
        char why[160];
        /* A raw token (SASL v0) has no header: it may be empty. */
        bool raw = w->n_written > 0 && w->reqs[w->head].raw_response;
        kafka_err err = raw && size >= 0 && size <= w->max_response
                            ? 0
                            : kafka_frame_check_size(size, w->max_response, why, sizeof why);
        if (err) {
            snprintf(w->err, sizeof w->err, "%s", why);
            return err;
        }
        size_t alloc = size > 0 ? (size_t)size : 1; /* an empty raw token */
        w->frame = w->frame_alloc ? w->frame_alloc(w->frame_arg, alloc) : kafka_malloc(alloc);
        if (!w->frame) {
            snprintf(w->err, sizeof w->err, "no memory for a %d-byte response", size);
            return KAFKA_ERR_NOMEM;
        }
        w->frame_len = (size_t)size;
        size_t avail = w->stage_have - at - 4;
        size_t take = avail < w->frame_len ? avail : w->frame_len;
        if (take)
            memcpy(w->frame, w->stage + at + 4, take);
        w->frame_have = take;
        at += 4 + take;
        if (w->frame_have < w->frame_len)
            break; /* the rest is read into the frame */
        unsigned gen = w->read_gen;
        err = dispatch(w);
        /* The callback may have failed the connection (the read state is
         * reset then): nothing of the stage is left to handle. */
        if (err || gen != w->read_gen)
            return err;
    }
    memmove(w->stage, w->stage + at, w->stage_have - at);
    w->stage_have -= at;
    return 0;
}

kafka_err ke_wire_feed(ke_wire *w, const uint8_t *data, size_t len)
{
    while (len > 0) {
        uint8_t *p;
        size_t room;
        ke_wire_read_buf(w, &p, &room);
        size_t n = room < len ? room : len;
        memcpy(p, data, n);
        data += n;
        len -= n;
        kafka_err err = ke_wire_read_done(w, n);
        if (err)
            return err;
    }
    return 0;
}

int64_t ke_wire_deadline(const ke_wire *w)
{
    int64_t d = -1;
    for (size_t i = 0; i < w->len; i++) {
        int64_t q = w->reqs[w->head + i].deadline;
        if (q >= 0 && (d < 0 || q < d))
            d = q;
    }
    if (w->state == KE_WIRE_DOWN && w->len > 0 && (d < 0 || w->retry_at < d))
        d = w->retry_at;
    return d;
}

kafka_err ke_wire_expire(ke_wire *w, int64_t now)
{
    for (size_t i = 0; i < w->n_written; i++) {
        const ke_wire_req *q = &w->reqs[w->head + i];
        if (q->deadline >= 0 && q->deadline <= now) {
            snprintf(w->err, sizeof w->err, "no response to correlation id %d within its deadline", q->corr);
            return KAFKA_ERR_TIMEOUT;
        }
    }
    /* Not written yet: fail alone, keep the order of the rest. The one
     * partly written (out_off > 0) must go out whole, so it stays. */
    size_t keep = w->head + w->n_written;
    for (size_t i = w->n_written; i < w->len; i++) {
        ke_wire_req q = w->reqs[w->head + i];
        bool partial = i == w->n_written && w->out_off > 0;
        if (!partial && q.deadline >= 0 && q.deadline <= now) {
            req_free(&q);
            q.fn(q.arg, KAFKA_ERR_TIMEOUT, "request deadline passed before it could be sent", NULL, NULL, 0);
            continue;
        }
        w->reqs[keep++] = q;
    }
    w->len = keep - w->head;
    return 0;
}

bool ke_wire_should_connect(const ke_wire *w, int64_t now, bool wanted)
{
    return w->state == KE_WIRE_DOWN && now >= w->retry_at && (wanted || w->len > 0);
}

void ke_wire_connecting(ke_wire *w) { w->state = KE_WIRE_CONNECTING; }

void ke_wire_open(ke_wire *w) { w->state = KE_WIRE_UP; }

void ke_wire_up(ke_wire *w)
{
    w->state = KE_WIRE_UP;
    w->attempt = 0;
}

void ke_wire_fail(ke_wire *w, kafka_err err, int64_t now, const char *why)
{
    if (why && why != w->err)
        snprintf(w->err, sizeof w->err, "%s", why);
    reset_read(w);
    w->state = KE_WIRE_DOWN;
    w->retry_at = now + kafka_backoff_ms(w->attempt < 16 ? w->attempt : 16, w->backoff_min_ms, w->backoff_max_ms);
    w->attempt++;
    char text[sizeof w->err];
    snprintf(text, sizeof text, "%s", w->err);
    fail_all(w, err, text);
}

void ke_wire_cut(ke_wire *w, kafka_err err, const char *why)
{
    reset_read(w);
    w->state = KE_WIRE_DOWN;
    w->retry_at = 0; /* on purpose, not a failure: reconnect at once */
    fail_all(w, err, why);
}
