/*
 * ke_wire: the sans-I/O core of one broker connection (nghttp2-style).
 *
 * It knows Kafka framing, correlation ids, pipelining, request deadlines
 * and the reconnect backoff of one connection, and nothing of sockets,
 * threads or clocks: whoever drives it (src/engine/engine.c today, an
 * application's event loop later) feeds it bytes read and the time, and
 * asks it for bytes to write and for its next deadline:
 *
 *   ke_wire_read_buf / ke_wire_read_done   bytes in (read straight into the
 *                                          response buffer: no copy)
 *   ke_wire_output / ke_wire_wrote         bytes out, as iovecs
 *   ke_wire_deadline / ke_wire_expire      time in
 *   ke_wire_fail / ke_wire_up              the transport's fate
 *
 * Requests are pipelined: any number may be written before the first
 * response arrives. Kafka answers in request order on one connection, so a
 * response must carry the oldest outstanding correlation id; anything
 * else is a protocol violation that fails the connection. Each response
 * is handed to its request's callback as soon as its last byte is in, so
 * a slow broker delays only its own connection.
 *
 * Failure: every error (transport, hostile length prefix, out-of-order
 * correlation id, a request past its deadline) fails the connection: every
 * request on it, sent or not, gets its callback with the error, and the
 * state becomes DOWN until retry_at (exponential backoff with jitter,
 * reset by ke_wire_up).
 *
 * Not thread-safe: one thread (the driver's) owns a ke_wire.
 */
#ifndef KAFKA_ENGINE_WIRE_H
#define KAFKA_ENGINE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kafka/error.h"

/* A response (err 0) or the request's failure (err != 0, frame NULL, why
 * says what happened). On success the callee owns `frame` (free it with
 * kafka_free) and `body` points into it, past the response header, for
 * body_len bytes: decoded views may point into it as long as it lives. */
typedef void (*ke_response_fn)(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                               size_t body_len);

#define KE_WIRE_STAGE 1024

typedef enum { KE_WIRE_DOWN = 0, KE_WIRE_CONNECTING, KE_WIRE_UP } ke_wire_state;

typedef struct ke_wire_req {
    int32_t corr;
    bool flexible_response; /* response header v1 (tagged fields) */
    int64_t deadline;       /* -1 = none */
    ke_response_fn fn;
    void *arg;
    uint8_t *bytes; /* the whole request frame (size prefix included) */
    size_t len;
    bool no_response; /* the broker sends none (Produce with acks = 0) */
    /* Bytes written after `bytes` without a copy (the caller's memory,
     * unchanged until fn runs); the array is owned. */
    struct iovec *ext;
    int n_ext;
    size_t total; /* len + the ext bytes */
    bool raw_response; /* answered by a bare size-prefixed token (SASL v0) */
} ke_wire_req;

typedef struct ke_wire {
    ke_wire_state state;
    int attempt;      /* connection failures in a row */
    int64_t retry_at; /* DOWN: when to connect again */
    int backoff_min_ms, backoff_max_ms;
    int32_t max_response;
    int32_t next_corr;
    /* FIFO of requests, oldest first: [head, head + n_written) are on the
     * wire awaiting their responses, the rest are not fully written yet;
     * out_off bytes of the first unwritten one are written. */
    ke_wire_req *reqs;
    size_t head, len, cap, n_written, out_off;
    /* The response being read: its 4 length bytes come into stage, with
     * what follows them in the same read (a small response whole: one
     * read per response, not one for the size and one for the rest);
     * then the rest of the frame goes straight into frame. */
    uint8_t stage[KE_WIRE_STAGE];
    size_t stage_have;
    unsigned read_gen; /* bumped when the read state is reset */
    uint8_t *frame;
    size_t frame_len, frame_have;
    /* Allocates response frames (NULL: kafka_malloc); see
     * kafka_engine_config.frame_alloc. */
    void *(*frame_alloc)(void *arg, size_t size);
    void *frame_arg;
    char err[256]; /* why the connection last failed */
} ke_wire;

void ke_wire_init(ke_wire *w, int backoff_min_ms, int backoff_max_ms, int32_t max_response);
/* Fails every request (callbacks run with KAFKA_ERR_CLOSED) and frees. */
void ke_wire_destroy(ke_wire *w);

/* Queues a request frame whose size prefix and header the caller already
 * wrote (kafka_frame_header_write), with correlation id `corr` from
 * ke_wire_next_corr. Takes ownership of `bytes` (kafka_malloc'd) also on
 * failure (NOMEM, with the callback not called). Allowed in any state:
 * requests queued while DOWN or CONNECTING go out once UP, or fail with the
 * connection. */
int32_t ke_wire_next_corr(ke_wire *w);
kafka_err ke_wire_submit(ke_wire *w, int32_t corr, uint8_t *bytes, size_t len, bool flexible_response,
                         int64_t deadline, ke_response_fn fn, void *arg);

/* ke_wire_submit for a request whose frame continues, after `bytes`, with
 * ext[0..n_ext) written from the caller's memory without a copy: that
 * memory must stay unchanged until fn runs. Takes ownership of `bytes`
 * and of the array ext (kafka_malloc'd; the memory it points to stays
 * the caller's), also on failure. */
kafka_err ke_wire_submit_ext(ke_wire *w, int32_t corr, uint8_t *bytes, size_t len, struct iovec *ext, int n_ext,
                             bool flexible_response, int64_t deadline, ke_response_fn fn, void *arg);

/* Marks the request just submitted as one the broker does not answer
 * (Produce with acks = 0): its callback runs with err 0 and no frame as
 * soon as its last byte is written, and it takes no place among the
 * requests awaiting responses. */
void ke_wire_last_no_response(ke_wire *w);

/* Marks the request just submitted as one whose answer is a bare
 * size-prefixed token with no response header and no correlation id (the
 * SASL exchange after SaslHandshake v0, which brokers before 1.0 use):
 * its size may be 0 and the callback's body is the whole token. */
void ke_wire_last_raw(ke_wire *w);

/* Bytes to write now (UP only): fills at most max iovecs, returns how many
 * (0 = nothing to write). */
int ke_wire_output(const ke_wire *w, struct iovec *iov, int max);
/* n bytes of what ke_wire_output returned were written. Runs the
 * callbacks of the no-response requests now fully written. */
void ke_wire_wrote(ke_wire *w, size_t n);
bool ke_wire_wants_write(const ke_wire *w);

/* Where the next bytes read should go (at most *len of them): no copy for
 * response bodies. */
void ke_wire_read_buf(ke_wire *w, uint8_t **ptr, size_t *len);
/* Like ke_wire_read_buf, for a blocking driver that reads exactly *len
 * bytes: never past the current response (between responses, only the
 * size field), so that it never waits for bytes the broker will not send
 * and leaves the stream at a response boundary. */
void ke_wire_read_buf_exact(ke_wire *w, uint8_t **ptr, size_t *len);
/* n bytes were read into the buffer ke_wire_read_buf gave. Dispatches a
 * completed response to its callback. Non-zero: the connection is broken
 * (hostile size, unknown correlation id, no memory): call ke_wire_fail
 * with the returned error and w->err. */
kafka_err ke_wire_read_done(ke_wire *w, size_t n);
/* Copies data in through read_buf/read_done (tests, and drivers that
 * receive bytes rather than read them). */
kafka_err ke_wire_feed(ke_wire *w, const uint8_t *data, size_t len);

/* The next time the driver must call ke_wire_expire (-1 = none): the
 * earliest request deadline, or retry_at when DOWN with requests queued. */
int64_t ke_wire_deadline(const ke_wire *w);
/* At `now`: a request on the wire past its deadline fails the connection
 * (returns KAFKA_ERR_TIMEOUT; call ke_wire_fail); one not yet written just
 * fails alone. */
kafka_err ke_wire_expire(ke_wire *w, int64_t now);

/* True when DOWN, retry_at has come and `wanted` (the driver has work for
 * this broker) or requests are queued. */
bool ke_wire_should_connect(const ke_wire *w, int64_t now, bool wanted);
void ke_wire_connecting(ke_wire *w);
/* The transport is connected: UP for the connection's own handshake
 * (src/engine/handshake.h), keeping the backoff, which ke_wire_up resets
 * once the connection is usable (a broker that refuses every handshake
 * keeps backing off). */
void ke_wire_open(ke_wire *w);
void ke_wire_up(ke_wire *w);
/* The connection failed (or could not be made): every request fails with
 * err and `why`, state DOWN, retry_at = now + backoff. */
void ke_wire_fail(ke_wire *w, kafka_err err, int64_t now, const char *why);
/* The driver dropped the connection on purpose (not a failure): every
 * request fails with err and `why`, state DOWN, and it may connect again
 * at once (no backoff; the failure count is unchanged). */
void ke_wire_cut(ke_wire *w, kafka_err err, const char *why);

#endif
