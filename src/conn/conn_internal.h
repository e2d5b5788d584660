/*
 * kafka_conn internals: framing, correlation ids, pipelining, version
 * negotiation. Higher layers (cluster, writer, reader, admin) use the
 * generic request calls below; they are internal because they move
 * generated protocol structs, which are not part of the public API.
 *
 * Framing: a request is int32 size, request header (v1, or v2 with tagged
 * fields for flexible versions), body. A response is int32 size, response
 * header (correlation id, plus tagged fields for flexible versions except
 * ApiVersions, whose response header is always v0), body.
 *
 * Pipelining: kafka_conn_send() may be called several times before the
 * matching kafka_conn_recv() calls; responses arrive in request order and
 * must be received in that order (recv of a correlation id that is not the
 * oldest outstanding one is KAFKA_ERR_STATE). A response whose correlation
 * id differs from the oldest outstanding request closes the conn. One
 * sending thread and one receiving thread may work at the same time.
 */
#ifndef KAFKA_CONN_INTERNAL_H
#define KAFKA_CONN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/arena.h"
#include "kafka/conn.h"
#include "net/stream.h"
#include "protocol/wire.h"

/* Kafka's wire value of the acks setting: -1, 1 or 0. */
static inline int16_t kafka_required_acks_wire(kafka_required_acks a)
{
    return a == KAFKA_REQUIRE_ONE ? 1 : a == KAFKA_REQUIRE_NONE ? 0 : -1;
}

/* API keys below this bound have a slot in the version table. */
#define KAFKA_CONN_MAX_API 128
#define KAFKA_CONN_DEFAULT_MAX_RESPONSE (100 * 1024 * 1024)

/* ---- pure helpers (unit-tested alone) ----------------------------------- */

/* Picks the highest version in both [cmin,cmax] (client) and [bmin,bmax]
 * (broker). Returns 0 and *out, or KAFKA_ERR_NO_COMMON_VERSION with
 * "API <name>: broker supports v<bmin>-v<bmax>, client v<cmin>-v<cmax>: no
 * common version" in err (bmin < 0 means "broker lacks the API": the text
 * says "broker does not support it"). */
kafka_err kafka_version_pick(const char *api_name, int16_t cmin, int16_t cmax, int16_t bmin, int16_t bmax,
                             int16_t *out, char *err, size_t err_len);

/* A broker's version range of each API key (min < 0: not supported), as
 * its ApiVersions answer gave them (src/engine/handshake.h). */
typedef struct kafka_api_table {
    int16_t min[KAFKA_CONN_MAX_API];
    int16_t max[KAFKA_CONN_MAX_API];
} kafka_api_table;

/* Every API unsupported. */
void kafka_api_table_clear(kafka_api_table *t);

/* Version to use for api_key within [want_min, want_max] (clipped to the
 * codec's stable versions) and the broker's range; -1 with the reason in
 * why (naming the API) when there is none. */
int16_t kafka_api_table_pick(const kafka_api_table *t, int16_t api_key, int16_t want_min, int16_t want_max,
                             char *why, size_t why_len);

/* Splits "host:port" / "[v6]:port" into host (NUL-terminated, host_len
 * bytes) and port. Returns KAFKA_ERR_INVALID_ARG on malformed input. */
kafka_err kafka_split_host_port(const char *addr, char *host, size_t host_len, int *port);

/* Validates a response length prefix: 4..max. TOO_LARGE / CORRUPT with
 * text otherwise. */
kafka_err kafka_frame_check_size(int32_t size, int32_t max, char *err, size_t err_len);

/* Request framing in one place (kafka_conn and the engine): writes the
 * size prefix and request header v1 (v2 when flexible) for a body of
 * body_len bytes into hdr (KAFKA_REQUEST_HEADER_MAX bytes); returns its
 * length. client_id is cut at 255 bytes. */
#define KAFKA_REQUEST_HEADER_MAX (4 + 2 + 2 + 4 + 2 + 255 + 1)
size_t kafka_frame_header_write(uint8_t *hdr, int16_t api_key, int16_t version, int32_t corr,
                                   const char *client_id, bool flexible, size_t body_len);
/* Whether api_key at version uses the flexible request header (v2) / the
 * flexible response header (v1; never ApiVersions, KIP-511). */
bool kafka_request_header_flexible(int16_t api_key, int16_t version);
bool kafka_response_header_flexible(int16_t api_key, int16_t version);

/* ---- construction ------------------------------------------------------- */

/* Wraps an already connected stream (takes ownership, also on failure).
 * Does no I/O. */
kafka_err kafka_conn_new(kafka_stream *s, const char *addr, const char *client_id, kafka_conn **out);

/* Installs the version table the handshake negotiated (conn/dial.c runs
 * src/engine/handshake.h's state machine before wrapping the stream). */
void kafka_conn_set_versions(kafka_conn *c, const kafka_api_table *t);


/* ---- errors --------------------------------------------------------------- */

/* Records a detailed message (printf-style) and returns err. */
kafka_err kafka_conn_err(kafka_conn *c, kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Same, and closes the stream: every later call returns KAFKA_ERR_CLOSED
 * (the first error is kept in last_error). */
kafka_err kafka_conn_fail(kafka_conn *c, kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Refcounting that makes close() from another thread safe: every public
 * operation brackets itself with enter/leave. enter fails with CLOSED once
 * the conn is closed or broken. */
kafka_err kafka_conn_enter(kafka_conn *c);
void kafka_conn_leave(kafka_conn *c);

/* ---- versions --------------------------------------------------------------- */

/* Version to use for api_key within [want_min, want_max] (the caller's
 * own limits, e.g. "Produce >= 3 for record batch v2", clipped to the
 * codec's versions); -1 with last_error set (naming the API) when there is
 * none. */
int16_t kafka_conn_version(kafka_conn *c, int16_t api_key, int16_t want_min, int16_t want_max);

/* Wakes a call blocked on c in another thread (it returns
 * KAFKA_ERR_CLOSED) and makes every later call on it fail, without freeing
 * it: the owner still calls kafka_conn_close (the cluster pool does, when a
 * writer or reader is closed). Thread-safe. */
void kafka_conn_shutdown(kafka_conn *c);

/* Overrides the broker's range for api_key (tests; min < 0 = unsupported). */
void kafka_conn_set_broker_versions(kafka_conn *c, int16_t api_key, int16_t min, int16_t max);

/* ---- framing ------------------------------------------------------------------ */

/* Sends one request: header v1 (v2 when flexible_header) for (api_key,
 * version) + body bytes. When
 * expect_response is false (Produce acks=0) no correlation id is queued.
 * *corr_out (may be NULL) gets the correlation id. Blocks until written or
 * the write deadline passes. */
kafka_err kafka_conn_send_raw(kafka_conn *c, int16_t api_key, int16_t version, bool flexible_header,
                              const uint8_t *body, size_t body_len, bool expect_response, int32_t *corr_out);

/* kafka_conn_send_raw with the body in body_cnt pieces (sent in order,
 * as one frame, without copying them): for a Produce request whose record
 * batches stay in their own buffers. */
kafka_err kafka_conn_send_rawv(kafka_conn *c, int16_t api_key, int16_t version, bool flexible_header,
                               const struct iovec *body, int body_cnt, bool expect_response, int32_t *corr_out);

/* Receives the response for corr, which must be the oldest outstanding
 * one (header v1 when flexible_header, else v0). The frame is allocated
 * from `arena` (so decoded views live as long
 * as the arena); *body is positioned after the response header. Blocks
 * until read or the read deadline passes. */
kafka_err kafka_conn_recv_raw(kafka_conn *c, int32_t corr, bool flexible_header, kafka_arena *arena,
                              kafka_rbuf *body);

/* Number of requests sent and not yet received. */
int kafka_conn_in_flight(const kafka_conn *c);

/* ---- typed calls over generated codecs --------------------------------------- */

/* Type-erased generated codec functions. KAFKA_CONN_CODEC(produce_request)
 * defines produce_request_enc_ / produce_request_dec_ adaptors over
 * kafka_produce_request_encode / _decode (calling through a cast function
 * pointer would be undefined behaviour). */
typedef kafka_err (*kafka_encode_fn)(kafka_wbuf *w, int16_t version, const void *msg);
typedef kafka_err (*kafka_decode_fn)(kafka_rbuf *r, kafka_arena *a, int16_t version, void *msg);

#define KAFKA_CONN_ENCODER(M)                                                        \
    static kafka_err M##_enc_(kafka_wbuf *w, int16_t v, const void *m)               \
    {                                                                                \
        return kafka_##M##_encode(w, v, (const kafka_##M *)m);                       \
    }
#define KAFKA_CONN_DECODER(M)                                                        \
    static kafka_err M##_dec_(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)     \
    {                                                                                \
        return kafka_##M##_decode(r, a, v, (kafka_##M *)m);                          \
    }

/* Encodes req with enc and sends it as api_key; version -1 = the highest
 * common version. The version used is stored in *version_out (may be
 * NULL). */
kafka_err kafka_conn_send(kafka_conn *c, int16_t api_key, int16_t version, kafka_encode_fn enc, const void *req,
                          int32_t *corr_out, int16_t *version_out);

/* Receives the response for corr (api_key, sent at `version`) and decodes
 * it into resp; arrays and the frame live in `arena`. A decode failure
 * closes the conn with KAFKA_ERR_PROTOCOL naming the failing field. */
kafka_err kafka_conn_recv(kafka_conn *c, int32_t corr, int16_t api_key, int16_t version, kafka_decode_fn dec,
                          void *resp, kafka_arena *arena);

/* send + recv; *version_out (may be NULL) gets the version used. */
kafka_err kafka_conn_roundtrip(kafka_conn *c, int16_t api_key, int16_t version, kafka_encode_fn enc, const void *req,
                               kafka_decode_fn dec, void *resp, kafka_arena *arena, int16_t *version_out);

/* ---- bound partition ------------------------------------------------------------- */

const char *kafka_conn_topic(const kafka_conn *c);
int32_t kafka_conn_partition(const kafka_conn *c);
void kafka_conn_set_offset(kafka_conn *c, int64_t offset);

/* Monotonic-clock deadlines derived from the Unix-time deadlines (-1 = none). */
int64_t kafka_conn_read_deadline_mono(const kafka_conn *c);
int64_t kafka_conn_write_deadline_mono(const kafka_conn *c);

#endif /* KAFKA_CONN_INTERNAL_H */
