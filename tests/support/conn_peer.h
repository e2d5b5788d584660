/*
 * A scripted Kafka peer for conn unit tests, no broker: the client side is
 * a kafka_transport (the pluggable transport of kafka/transport.h) over one
 * end of a socketpair; a script function runs in a thread on the other end
 * and reads requests / writes whatever bytes the test wants (valid,
 * truncated, hostile).
 *
 * Usage:
 *     kt_peer *p = kt_peer_start(script, arg);
 *     kafka_dialer_config cfg = { .transport = kt_peer_transport(p) };
 *     kafka_dial(&c, "peer:9092", &cfg, 5000);
 *     ...
 *     kt_peer_join(p);   // waits for the script, returns its result
 */
#ifndef KT_CONN_PEER_H
#define KT_CONN_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/transport.h"
#include "protocol/gen/fetch.h"
#include "protocol/wire.h"

typedef struct kt_peer kt_peer;

/* One request as the peer read it. body points into `frame`. */
typedef struct kt_request {
    uint8_t *frame; /* whole frame after the size prefix; malloc'd */
    size_t frame_len;
    int16_t api_key, api_version;
    int32_t corr;
    const uint8_t *body;
    size_t body_len;
} kt_request;

/* A script returns 0 on success; non-zero makes kt_peer_join fail. */
typedef int (*kt_script_fn)(kt_peer *p, void *arg);

kt_peer *kt_peer_start(kt_script_fn script, void *arg);
/* A peer for clients that open several connections (writers, readers,
 * the cluster layer): every dial through its transport starts a child
 * peer running script(child, arg) in a thread of its own (at most
 * KT_PEER_MAX_CONNS). kt_peer_join(parent) joins every child and returns
 * the first non-zero result. */
#define KT_PEER_MAX_CONNS 32
kt_peer *kt_peer_start_each(kt_script_fn script, void *arg);
const kafka_transport *kt_peer_transport(kt_peer *p);
/* Waits for the script and frees the peer; returns the script's result. */
int kt_peer_join(kt_peer *p);

/* ---- for scripts -------------------------------------------------------- */

/* Reads one request frame (5 s limit). 0 on success, -1 on EOF/timeout. */
int kt_peer_read(kt_peer *p, kt_request *req);
void kt_request_free(kt_request *req);
/* For serving loops: waits (30 s at most) for the next request. 0 = a
 * request in *req, 1 = the client closed the connection, -1 = error or
 * timeout. */
int kt_peer_serve_next(kt_peer *p, kt_request *req);
/* Reads one raw SASL v0 frame (int32 size + bytes). */
int kt_peer_read_raw(kt_peer *p, uint8_t **data, size_t *len);
/* Writes bytes as they are. */
int kt_peer_write(kt_peer *p, const void *data, size_t len);
/* Writes size + correlation id (+ an empty tagged-field section when
 * flexible_header) + body. */
int kt_peer_respond(kt_peer *p, int32_t corr, bool flexible_header, const void *body, size_t len);
/* Answers an ApiVersions request (any version) with these ranges:
 * triples {key, min, max} x n, in the format of the request's version. */
int kt_peer_api_versions(kt_peer *p, const kt_request *req, const int16_t (*ranges)[3], size_t n);
/* Reads the ApiVersions request and answers it with every API the client
 * knows at its full range. */
int kt_peer_handshake_all(kt_peer *p);
/* A request handler for kt_peer_serve: 0 = served, 1 = stop serving
 * (the client has gone, or the script hung up), -1 = failure. */
typedef int (*kt_handler_fn)(kt_peer *p, const kt_request *req, void *arg);
/* Serves requests with handler until the client closes the connection
 * (0) or the handler stops (1: 0, -1: -1, with the request named on
 * stderr). A script body for kt_peer_start_each. */
int kt_peer_serve(kt_peer *p, kt_handler_fn handler, void *arg);
/* Answers Fetch request req for partition 0 of `topic` with the record
 * bytes recs, high-water mark and last stable offset high_watermark, and
 * the aborted list (n_aborted entries, -1 = null), in the request's
 * version. 0, 1 when the client has gone (the answer could not be
 * written), -1 on an encoding failure. */
int kt_peer_fetch_answer(kt_peer *p, const kt_request *req, const char *topic, const kafka_wbuf *recs,
                         int64_t high_watermark, kafka_fetch_response_aborted_transaction *aborted, int32_t n_aborted);
/* Answers request req with the response struct *resp of its API (e.g. a
 * kafka_fetch_response for a Fetch), encoded in the request's version,
 * with the header that version takes. 0, 1 when the client has gone,
 * -1 on an encoding failure. */
int kt_peer_answer(kt_peer *p, const kt_request *req, const void *resp);
/* What every scripted broker answers alike: ApiVersions (with these n
 * ranges) and Metadata (kt_peer_metadata: `topic`, one partition), as a
 * kt_handler_fn would; 2 when req is neither. */
int kt_peer_answer_common(kt_peer *p, const kt_request *req, const int16_t (*versions)[3], size_t n,
                          const char *topic);
/* Answers Metadata request req: one broker (id 1, "peer:9092") leading
 * every partition 0..partitions-1 of `topic` (one replica). */
int kt_peer_metadata(kt_peer *p, const kt_request *req, const char *topic, int32_t partitions);
/* Closes the peer's end (the client sees EOF). */
void kt_peer_hangup(kt_peer *p);
/* Waits until the client closes its end (read returns 0), 5 s limit. */
int kt_peer_wait_eof(kt_peer *p);

#endif
