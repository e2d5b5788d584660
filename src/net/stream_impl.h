/* Private to src/net: the kafka_stream object and the functions the
 * socket, TLS and user-transport back ends share. Users of streams include
 * net/stream.h only. */
#ifndef KAFKA_NET_STREAM_IMPL_H
#define KAFKA_NET_STREAM_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/dialer.h"
#include "kafka/transport.h"
#include "net/stream.h"

typedef enum kafka_stream_kind { KAFKA_STREAM_SOCKET, KAFKA_STREAM_TLS, KAFKA_STREAM_USER } kafka_stream_kind;

/* Which error slot a failure goes to: the read side and the write side may
 * fail at the same time on two threads, so each owns one buffer. */
enum { KAFKA_STREAM_RD = 0, KAFKA_STREAM_WR = 1 };

struct ssl_st;
struct ssl_ctx_st;

struct kafka_stream {
    kafka_stream_kind kind;
    int fd;      /* socket, -1 for user transports */
    int wake_fd; /* eventfd made readable by interrupt(), -1 for user transports */
    atomic_bool interrupted;

    /* TLS: SSL objects are not safe for concurrent use, so every SSL call
     * runs under ssl_lock; waiting for the socket happens outside it. */
    struct ssl_st *ssl;
    struct ssl_ctx_st *ssl_ctx;
    pthread_mutex_t ssl_lock;
    bool ssl_lock_init;

    /* User transport: a copy of the callbacks and the connection handle. */
    kafka_transport tp;
    void *uconn;

    char peer[300];
    char err[2][320];
    atomic_int last_err_side;
};

/* Allocates a stream with no back end yet (fd = wake_fd = -1). */
kafka_stream *kafka_stream_alloc(kafka_stream_kind kind, const char *host, int port);

/* Records a failure message in the given side's slot; returns err. */
kafka_err kafka_stream_fail(kafka_stream *s, int side, kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Milliseconds until deadline for poll(): -1 = no deadline, 0 when past. */
int kafka_deadline_timeout(int64_t deadline_ms);

/* ---- socket.c ----------------------------------------------------------- */

/* Applies TCP_NODELAY and keepalive settings (best effort). */
void kafka_sock_tune(int fd, const kafka_dialer_config *cfg);

/* Creates the interrupt eventfd of a socket stream. */
kafka_err kafka_sock_init_wake(kafka_stream *s);

/* Waits until fd is ready for `events` (POLLIN/POLLOUT), the deadline
 * passes (TIMEOUT) or the stream is interrupted (CLOSED). */
kafka_err kafka_sock_wait(kafka_stream *s, short events, int64_t deadline_ms);

kafka_err kafka_sock_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms);
kafka_err kafka_sock_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms);

/* ---- tls.c -------------------------------------------------------------- */

/* Builds the SSL context and connection object from cfg (certificates are
 * loaded here, so configuration errors surface before any connect) and
 * sets the name to verify: server_name or `host`, the name that was asked
 * for before resolver mapping. */
kafka_err kafka_tls_prepare(kafka_stream *s, const kafka_tls_config *cfg, const char *host, char *errbuf,
                            size_t errlen);
/* One non-blocking step of the handshake on the connected socket s->fd:
 * 0 with *events = 0 when it is done (s->kind becomes KAFKA_STREAM_TLS),
 * 0 with *events = POLLIN or POLLOUT when it must wait for the socket,
 * or KAFKA_ERR_TLS with text (a certificate that does not verify says
 * why, and which name it lacks). */
kafka_err kafka_tls_handshake_step(kafka_stream *s, short *events, char *errbuf, size_t errlen);
kafka_err kafka_tls_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms);
kafka_err kafka_tls_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms);
/* Non-blocking single attempts (stream.h read_some / writev_some). */
kafka_err kafka_tls_read_some(kafka_stream *s, void *buf, size_t len, size_t *got);
kafka_err kafka_tls_write_some(kafka_stream *s, const void *buf, size_t len, size_t *put);
/* Sends close_notify (without waiting) and frees the SSL objects. */
void kafka_tls_free(kafka_stream *s);

/* ---- transport.c -------------------------------------------------------- */

/* Dials through a user transport; fills s->tp / s->uconn. */
kafka_err kafka_user_dial(kafka_stream *s, const kafka_transport *tp, const char *host, int port, int64_t deadline_ms,
                          char *errbuf, size_t errlen);
kafka_err kafka_user_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms);
kafka_err kafka_user_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms);

#endif
