/* Non-blocking stream I/O for the engine: one attempt, never a wait. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "kafka/transport.h"
#include "net/stream_impl.h"

int kafka_stream_fd(const kafka_stream *s)
{
    return s && s->kind != KAFKA_STREAM_USER ? s->fd : -1;
}

static kafka_err nb_closed(kafka_stream *s, int side)
{
    return kafka_stream_fail(s, side, KAFKA_ERR_CLOSED, "%s %s: stream closed",
                             side == KAFKA_STREAM_RD ? "read from" : "write to", s->peer);
}

static kafka_err sock_read_some(kafka_stream *s, void *buf, size_t len, size_t *got)
{
    for (;;) {
        ssize_t n = recv(s->fd, buf, len, 0);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT, "read from %s: connection closed by peer",
                                     s->peer);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT, "read from %s: %s", s->peer,
                                 strerror(errno));
    }
}

static kafka_err sock_writev_some(kafka_stream *s, const struct iovec *iov, int iovcnt, size_t *put)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt)};
    for (;;) {
        ssize_t n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            *put = (size_t)n;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return kafka_stream_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_TRANSPORT, "write to %s: %s", s->peer,
                                 strerror(errno));
    }
}

/* A user transport asked with timeout 0; TIMEOUT means "nothing now". */
static kafka_err user_result_nb(kafka_stream *s, int side, long r, size_t len, size_t *moved)
{
    const char *op = side == KAFKA_STREAM_RD ? "read from" : "write to";
    if (r > 0 && (size_t)r <= len) {
        *moved = (size_t)r;
        return 0;
    }
    if (r == KAFKA_TRANSPORT_TIMEOUT)
        return 0;
    if (r > 0)
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: user transport returned %ld for %zu bytes", op,
                                 s->peer, r, len);
    if (r == KAFKA_TRANSPORT_CLOSED && side == KAFKA_STREAM_RD)
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: connection closed by peer", op, s->peer);
    return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: user transport returned %ld", op, s->peer, r);
}

kafka_err kafka_stream_read_some(kafka_stream *s, void *buf, size_t len, size_t *got)
{
    *got = 0;
    if (atomic_load(&s->interrupted))
        return nb_closed(s, KAFKA_STREAM_RD);
    if (len == 0)
        return 0;
    switch (s->kind) {
    case KAFKA_STREAM_SOCKET:
        return sock_read_some(s, buf, len, got);
    case KAFKA_STREAM_TLS:
        return kafka_tls_read_some(s, buf, len, got);
    case KAFKA_STREAM_USER:
        return user_result_nb(s, KAFKA_STREAM_RD, s->tp.read(s->tp.privdata, s->uconn, buf, len, 0), len, got);
    }
    return KAFKA_ERR_STATE;
}

kafka_err kafka_stream_writev_some(kafka_stream *s, const struct iovec *iov, int iovcnt, size_t *put)
{
    *put = 0;
    if (atomic_load(&s->interrupted))
        return nb_closed(s, KAFKA_STREAM_WR);
    while (iovcnt > 0 && iov->iov_len == 0) {
        iov++;
        iovcnt--;
    }
    if (iovcnt == 0)
        return 0;
    switch (s->kind) {
    case KAFKA_STREAM_SOCKET:
        return sock_writev_some(s, iov, iovcnt, put);
    case KAFKA_STREAM_TLS:
        return kafka_tls_write_some(s, iov->iov_base, iov->iov_len, put);
    case KAFKA_STREAM_USER: {
        long r = s->tp.write(s->tp.privdata, s->uconn, iov->iov_base, iov->iov_len, 0);
        return user_result_nb(s, KAFKA_STREAM_WR, r == 0 ? KAFKA_TRANSPORT_ERROR : r, iov->iov_len, put);
    }
    }
    return KAFKA_ERR_STATE;
}
