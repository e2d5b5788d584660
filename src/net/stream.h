/*
 * kafka_stream: one byte stream to a broker — a plain TCP socket, TLS over
 * a socket, or a user-supplied transport (include/kafka/transport.h). The
 * conn layer frames Kafka requests over it and knows nothing else of
 * sockets.
 *
 * Blocking model: every call takes an absolute deadline in milliseconds on
 * the CLOCK_MONOTONIC clock (kafka_now_ms(); -1 = no deadline). A call that
 * cannot finish before the deadline returns KAFKA_ERR_TIMEOUT.
 * kafka_stream_interrupt() may be called from another thread to wake a
 * blocked call, which then returns KAFKA_ERR_CLOSED.
 *
 * Thread safety: one reader thread and one writer thread may use a stream at
 * the same time; interrupt() is safe from any thread. Everything else needs
 * external locking.
 */
#ifndef KAFKA_NET_STREAM_H
#define KAFKA_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/clock.h"
#include "kafka/error.h"

typedef struct kafka_stream kafka_stream;

/* kafka_now_ms(): the monotonic clock, common/clock.h. */

/* Reads exactly `len` bytes into buf, or fails (TIMEOUT, CLOSED, TRANSPORT
 * when the peer closed or the socket failed). */
kafka_err kafka_stream_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms);

/* Writes every byte of the iovecs, or fails. */
kafka_err kafka_stream_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms);

/* Wakes blocked calls; later calls return KAFKA_ERR_CLOSED. */
void kafka_stream_interrupt(kafka_stream *s);

/* Human-readable detail of the last failure ("connect to 127.0.0.1:9092:
 * connection refused"); valid until the next call on the stream. */
const char *kafka_stream_last_error(const kafka_stream *s);

/* "host:port" of the peer as dialed. */
const char *kafka_stream_peer(const kafka_stream *s);

/* Closes and frees. NULL is a no-op. */
void kafka_stream_close(kafka_stream *s);

/* ---- non-blocking use (the engine, src/engine/) ----------------------------
 * These never wait. They are for one thread that owns the stream and learns
 * readiness elsewhere (epoll on kafka_stream_fd, or polling a user
 * transport, which has no fd). */

/* The socket to watch for readiness, or -1 for a user transport (call
 * read_some/writev_some with nothing ready instead: they ask the
 * transport with a zero timeout). */
int kafka_stream_fd(const kafka_stream *s);

/* Reads what is available now, up to len bytes: 0 with *got = 0 when
 * nothing is (try again when readable), 0 with *got > 0, or TRANSPORT /
 * CLOSED with text in kafka_stream_last_error. */
kafka_err kafka_stream_read_some(kafka_stream *s, void *buf, size_t len, size_t *got);

/* Writes what the stream accepts now from the iovecs (in order); *put gets
 * the count (0 = try again when writable). A TLS stream must be called
 * again with the same first bytes after it accepted none (OpenSSL's
 * retry rule); the engine's output queue does so naturally. */
kafka_err kafka_stream_writev_some(kafka_stream *s, const struct iovec *iov, int iovcnt, size_t *put);

/* Dialing (implemented in src/net/dial.c): resolves host, connects with
 * the dialer's settings (TCP_NODELAY, keepalive, TLS, user transport,
 * resolver hook) and returns a stream. SASL is not done here: it needs
 * Kafka framing (src/engine/handshake.h runs it over the stream).
 *
 * kafka_stream_dial blocks until the stream is ready or the deadline
 * (capped by the dialer's connect_timeout_ms) passes: it is the loop
 * around the non-blocking state machine below, waiting with poll(). */
struct kafka_dialer_config;
kafka_err kafka_stream_dial(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                            kafka_stream **out, char *errbuf, size_t errbuf_len);

/* ---- dialing without blocking (the engine) ----------------------------------
 * A connection being made: TCP connect to each address of the host in
 * turn (each with a share of the time left, Go's rule), then the TLS
 * handshake when the dialer asks for TLS. The driver waits for
 * kafka_dialing_fd to be ready for kafka_dialing_events (POLLIN/POLLOUT),
 * or for kafka_dialing_deadline, then calls kafka_dialing_step.
 *
 * What still blocks, in kafka_dialing_start only: the resolver hook and
 * getaddrinfo (the system resolver has no portable non-blocking form; an
 * IP address is not looked up), and a user transport's dial callback
 * (the user's code: such a transport is connected when start returns). */
typedef struct kafka_dialing kafka_dialing;

/* Starts dialing host:port; deadline_ms: monotonic ms (-1 = only the
 * dialer's connect_timeout_ms). Errors (bad address, resolution, TLS
 * configuration, every address refused at once) come with text. */
kafka_err kafka_dialing_start(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                              kafka_dialing **out, char *errbuf, size_t errbuf_len);
/* Advances after readiness or at the deadline (calling it early is
 * harmless): 0 with *done = true when the stream is ready (take it), 0
 * with *done = false to wait again, or the error with text (TRANSPORT,
 * TIMEOUT when no address answered in time, TLS: fatal, never retried on
 * another address). */
kafka_err kafka_dialing_step(kafka_dialing *d, int64_t now, bool *done, char *errbuf, size_t errbuf_len);
/* The socket to wait on (-1 when there is none to wait for: step now). */
int kafka_dialing_fd(const kafka_dialing *d);
/* POLLIN and/or POLLOUT. */
short kafka_dialing_events(const kafka_dialing *d);
/* When to step even without readiness (monotonic ms). */
int64_t kafka_dialing_deadline(const kafka_dialing *d);
/* The ready stream (after step said done); the dialing keeps nothing. */
kafka_stream *kafka_dialing_take(kafka_dialing *d);
/* Frees (closing a stream not taken). NULL is a no-op. */
void kafka_dialing_free(kafka_dialing *d);

#endif
