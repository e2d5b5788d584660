/* kafka_stream: dispatch to the socket, TLS or user-transport back end,
 * interrupt, errors, close. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "net/stream_impl.h"

int kafka_deadline_timeout(int64_t deadline_ms)
{
    if (deadline_ms < 0)
        return -1;
    int64_t left = deadline_ms - kafka_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

kafka_stream *kafka_stream_alloc(kafka_stream_kind kind, const char *host, int port)
{
    kafka_stream *s = kafka_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->fd = -1;
    s->wake_fd = -1;
    atomic_init(&s->interrupted, false);
    atomic_init(&s->last_err_side, KAFKA_STREAM_RD);
    /* IPv6 literals get brackets so that "host:port" stays unambiguous. */
    if (strchr(host, ':'))
        snprintf(s->peer, sizeof s->peer, "[%s]:%d", host, port);
    else
        snprintf(s->peer, sizeof s->peer, "%s:%d", host, port);
    return s;
}

kafka_err kafka_stream_fail(kafka_stream *s, int side, kafka_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err[side], sizeof s->err[side], fmt, ap);
    va_end(ap);
    atomic_store(&s->last_err_side, side);
    return err;
}

kafka_err kafka_stream_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms)
{
    if (!s || (!buf && len))
        return KAFKA_ERR_INVALID_ARG;
    if (atomic_load(&s->interrupted))
        return kafka_stream_fail(s, KAFKA_STREAM_RD, KAFKA_ERR_CLOSED, "read from %s: stream closed", s->peer);
    if (len == 0)
        return 0;
    switch (s->kind) {
    case KAFKA_STREAM_SOCKET:
        return kafka_sock_read_full(s, buf, len, deadline_ms);
    case KAFKA_STREAM_TLS:
        return kafka_tls_read_full(s, buf, len, deadline_ms);
    case KAFKA_STREAM_USER:
        return kafka_user_read_full(s, buf, len, deadline_ms);
    }
    return KAFKA_ERR_STATE;
}

kafka_err kafka_stream_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms)
{
    if (!s || iovcnt < 0 || (!iov && iovcnt))
        return KAFKA_ERR_INVALID_ARG;
    if (atomic_load(&s->interrupted))
        return kafka_stream_fail(s, KAFKA_STREAM_WR, KAFKA_ERR_CLOSED, "write to %s: stream closed", s->peer);
    if (iovcnt == 0)
        return 0;
    switch (s->kind) {
    case KAFKA_STREAM_SOCKET:
        return kafka_sock_writev_full(s, iov, iovcnt, deadline_ms);
    case KAFKA_STREAM_TLS:
        return kafka_tls_writev_full(s, iov, iovcnt, deadline_ms);
    case KAFKA_STREAM_USER:
        return kafka_user_writev_full(s, iov, iovcnt, deadline_ms);
    }
    return KAFKA_ERR_STATE;
}

void kafka_stream_interrupt(kafka_stream *s)
{
    if (!s || atomic_exchange(&s->interrupted, true))
        return;
    if (s->wake_fd >= 0) {
        /* The eventfd stays readable from now on: every poll wakes. */
        uint64_t one = 1;
        ssize_t r;
        do
            r = write(s->wake_fd, &one, sizeof one);
        while (r < 0 && errno == EINTR);
    }
    if (s->kind == KAFKA_STREAM_USER && s->tp.interrupt)
        s->tp.interrupt(s->tp.privdata, s->uconn);
}

const char *kafka_stream_last_error(const kafka_stream *s)
{
    if (!s)
        return "";
    return s->err[atomic_load(&s->last_err_side)];
}

const char *kafka_stream_peer(const kafka_stream *s)
{
    return s ? s->peer : "";
}

void kafka_stream_close(kafka_stream *s)
{
    if (!s)
        return;
    if (s->ssl || s->ssl_ctx || s->ssl_lock_init)
        kafka_tls_free(s);
    if (s->kind == KAFKA_STREAM_USER && s->uconn && s->tp.close)
        s->tp.close(s->tp.privdata, s->uconn);
    if (s->fd >= 0)
        close(s->fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    kafka_free(s);
}
