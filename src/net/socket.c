/* TCP sockets: socket options and deadline-bounded reads and writes woken
 * by an eventfd (connecting is the dialing state machine's, dialing.c). */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "net/stream_impl.h"

#define KAFKA_IOV_BATCH 64

void kafka_sock_tune(int fd, const kafka_dialer_config *cfg)
{
    int on = 1;
    if (!cfg->disable_nodelay)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (!cfg->disable_keepalive) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#ifdef TCP_KEEPIDLE
        int idle = cfg->keepalive_idle_s > 0 ? cfg->keepalive_idle_s : 60;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
#endif
    }
}

kafka_err kafka_sock_init_wake(kafka_stream *s)
{
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0)
        return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT, "eventfd: %s", strerror(errno));
    return 0;
}

kafka_err kafka_sock_wait(kafka_stream *s, short events, int64_t deadline_ms)
{
    for (;;) {
        if (atomic_load(&s->interrupted))
            return KAFKA_ERR_CLOSED;
        int t = kafka_deadline_timeout(deadline_ms);
        if (t == 0)
            return KAFKA_ERR_TIMEOUT;
        struct pollfd p[2] = {{.fd = s->fd, .events = events}, {.fd = s->wake_fd, .events = POLLIN}};
        int n = poll(p, 2, t);
        if (n < 0 && errno != EINTR)
            return KAFKA_ERR_TRANSPORT;
        if (n <= 0)
            continue; /* EINTR or timeout: the loop head re-checks the deadline */
        if (p[1].revents)
            return KAFKA_ERR_CLOSED;
        if (p[0].revents)
            return 0; /* includes POLLERR/POLLHUP: the next syscall reports it */
    }
}

/* Turns a wait failure into a stream error with text. */
static kafka_err sock_wait_fail(kafka_stream *s, int side, kafka_err e)
{
    const char *op = side == KAFKA_STREAM_RD ? "read from" : "write to";
    if (e == KAFKA_ERR_TIMEOUT)
        return kafka_stream_fail(s, side, e, "%s %s: deadline exceeded", op, s->peer);
    if (e == KAFKA_ERR_CLOSED)
        return kafka_stream_fail(s, side, e, "%s %s: interrupted (stream closed)", op, s->peer);
    return kafka_stream_fail(s, side, e, "%s %s: poll: %s", op, s->peer, strerror(errno));
}

kafka_err kafka_sock_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms)
{
    uint8_t *p = buf;
    while (len > 0) {
        if (atomic_load(&s->interrupted))
            return sock_wait_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_CLOSED);
        ssize_t n = recv(s->fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT, "read from %s: connection closed by peer",
                                     s->peer);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_TRANSPORT, "read from %s: %s", s->peer,
                                     strerror(errno));
        kafka_err e = kafka_sock_wait(s, POLLIN, deadline_ms);
        if (e)
            return sock_wait_fail(s, KAFKA_STREAM_RD, e);
    }
    return 0;
}

/* Drops n written bytes from the front of the iovec window. */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
    while (*cnt > 0 && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
    if (*cnt > 0 && n > 0) {
        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
}

kafka_err kafka_sock_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms)
{
    /* sendmsg consumes a mutable window; copy the caller's array. */
    struct iovec local[KAFKA_IOV_BATCH];
    struct iovec *copy = local;
    if (iovcnt > KAFKA_IOV_BATCH) {
        copy = kafka_calloc((size_t)iovcnt, sizeof *copy);
        if (!copy)
            return kafka_stream_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_NOMEM, "write to %s: out of memory", s->peer);
    }
    memcpy(copy, iov, (size_t)iovcnt * sizeof *copy);
    struct iovec *cur = copy;
    int cnt = iovcnt;
    iov_advance(&cur, &cnt, 0);
    kafka_err err = 0;
    while (cnt > 0 && !err) {
        if (cur->iov_len == 0) {
            cur++;
            cnt--;
            continue;
        }
        if (atomic_load(&s->interrupted)) {
            err = sock_wait_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_CLOSED);
            break;
        }
        struct msghdr msg = {.msg_iov = cur, .msg_iovlen = (size_t)(cnt > IOV_MAX ? IOV_MAX : cnt)};
        /* MSG_NOSIGNAL: a peer reset gives EPIPE instead of killing the
         * process with SIGPIPE. */
        ssize_t n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            iov_advance(&cur, &cnt, (size_t)n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            kafka_err e = kafka_sock_wait(s, POLLOUT, deadline_ms);
            if (e)
                err = sock_wait_fail(s, KAFKA_STREAM_WR, e);
        } else if (errno != EINTR) {
            err = kafka_stream_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_TRANSPORT, "write to %s: %s", s->peer,
                                    strerror(errno));
        }
    }
    if (copy != local)
        kafka_free(copy);
    return err;
}
