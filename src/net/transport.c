/* Streams over a user-supplied kafka_transport (include/kafka/transport.h). */
#include <stdio.h>
#include <string.h>

#include "net/stream_impl.h"

/* Without an interrupt callback a blocked read could not be woken, so such
 * transports are called with timeouts of at most this many ms and the
 * interrupt flag is checked between calls. */
#define KAFKA_USER_SLICE_MS 200

kafka_err kafka_user_dial(kafka_stream *s, const kafka_transport *tp, const char *host, int port, int64_t deadline_ms,
                          char *errbuf, size_t errlen)
{
    if (!tp->dial || !tp->read || !tp->write || !tp->close) {
        snprintf(errbuf, errlen, "user transport lacks a required callback (dial, read, write and close are required)");
        return KAFKA_ERR_INVALID_ARG;
    }
    char why[256] = "";
    void *conn = NULL;
    int r = tp->dial(tp->privdata, host, port, kafka_deadline_timeout(deadline_ms), &conn, why, sizeof why);
    why[sizeof why - 1] = '\0';
    if (r != 0) {
        snprintf(errbuf, errlen, "dial %s:%d via user transport: %s", host, port, why[0] ? why : "failed");
        return KAFKA_ERR_TRANSPORT;
    }
    s->tp = *tp;
    s->uconn = conn;
    return 0;
}

static int user_timeout(const kafka_stream *s, int64_t deadline_ms)
{
    int t = kafka_deadline_timeout(deadline_ms);
    if (!s->tp.interrupt && (t < 0 || t > KAFKA_USER_SLICE_MS))
        t = KAFKA_USER_SLICE_MS;
    return t;
}

/* Maps a non-positive callback result to an error; 1 = keep going (a
 * timeout slice ended before the deadline). */
static kafka_err user_result(kafka_stream *s, int side, long r, int64_t deadline_ms)
{
    const char *op = side == KAFKA_STREAM_RD ? "read from" : "write to";
    if (atomic_load(&s->interrupted))
        return kafka_stream_fail(s, side, KAFKA_ERR_CLOSED, "%s %s: interrupted (stream closed)", op, s->peer);
    if (r == KAFKA_TRANSPORT_TIMEOUT) {
        if (deadline_ms >= 0 && kafka_deadline_timeout(deadline_ms) == 0)
            return kafka_stream_fail(s, side, KAFKA_ERR_TIMEOUT, "%s %s: deadline exceeded", op, s->peer);
        return 1;
    }
    if (r == KAFKA_TRANSPORT_CLOSED && side == KAFKA_STREAM_RD)
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: connection closed by peer", op, s->peer);
    return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: user transport returned %ld", op, s->peer, r);
}

kafka_err kafka_user_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms)
{
    uint8_t *p = buf;
    while (len > 0) {
        if (atomic_load(&s->interrupted))
            return user_result(s, KAFKA_STREAM_RD, KAFKA_TRANSPORT_ERROR, deadline_ms);
        long r = s->tp.read(s->tp.privdata, s->uconn, p, len, user_timeout(s, deadline_ms));
        if (r > 0 && (size_t)r <= len) {
            p += r;
            len -= (size_t)r;
            continue;
        }
        if (r > 0) /* claims more than asked: a broken transport */
            return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT,
                                     "read from %s: user transport returned %ld for a %zu-byte read", s->peer, r, len);
        kafka_err e = user_result(s, KAFKA_STREAM_RD, r, deadline_ms);
        if (e != 1)
            return e;
    }
    return 0;
}

static kafka_err user_write_all(kafka_stream *s, const uint8_t *p, size_t len, int64_t deadline_ms)
{
    while (len > 0) {
        if (atomic_load(&s->interrupted))
            return user_result(s, KAFKA_STREAM_WR, KAFKA_TRANSPORT_ERROR, deadline_ms);
        long r = s->tp.write(s->tp.privdata, s->uconn, p, len, user_timeout(s, deadline_ms));
        if (r > 0 && (size_t)r <= len) {
            p += r;
            len -= (size_t)r;
            continue;
        }
        if (r > 0)
            return kafka_stream_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_TRANSPORT,
                                     "write to %s: user transport returned %ld for a %zu-byte write", s->peer, r, len);
        kafka_err e = user_result(s, KAFKA_STREAM_WR, r == 0 ? KAFKA_TRANSPORT_ERROR : r, deadline_ms);
        if (e != 1)
            return e;
    }
    return 0;
}

kafka_err kafka_user_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms)
{
    for (int i = 0; i < iovcnt; i++) {
        kafka_err e = user_write_all(s, iov[i].iov_base, iov[i].iov_len, deadline_ms);
        if (e)
            return e;
    }
    return 0;
}
