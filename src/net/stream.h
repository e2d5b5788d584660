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
 * Kafka framing, so the conn layer runs it over the stream using the
 * mechanisms in src/net/sasl.h. */
struct kafka_dialer_config;
kafka_err kafka_stream_dial(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                            kafka_stream **out, char *errbuf, size_t errbuf_len);

#endif
