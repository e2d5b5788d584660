/*
 * Kafka request and response headers (RequestHeader.json, ResponseHeader.json).
 *
 *   request  v0: api_key int16, api_version int16, correlation_id int32
 *            v1: v0 + client_id NULLABLE_STRING (int16 length, even in v2)
 *            v2: v1 + tagged fields (flexible request versions)
 *   response v0: correlation_id int32
 *            v1: v0 + tagged fields (flexible response versions, except
 *                ApiVersions, whose responses always use v0 so that a client
 *                can read the error of a version the broker does not know)
 *
 * No length prefix is written or read here: framing belongs to the
 * connection layer. Sans-I/O, no allocation, thread-safe.
 */
#ifndef KAFKA_PROTOCOL_HEADER_H
#define KAFKA_PROTOCOL_HEADER_H

#include <stdint.h>

#include "kafka/error.h"
#include "protocol/wire.h"

/* ControlledShutdown (key 7) is not a "broker" API and so has no generated
 * codec, but its v0 is the one request using header v0. */
#define KAFKA_API_CONTROLLED_SHUTDOWN_KEY 7

/* Request header version (0, 1 or 2) for api_key at api_version; -1 when
 * the key is unknown. */
int kafka_request_header_version(int16_t api_key, int16_t api_version);

/* Response header version (0 or 1); -1 when the key is unknown. */
int kafka_response_header_version(int16_t api_key, int16_t api_version);

/* Appends a request header. KAFKA_ERR_INVALID_ARG for an unknown key or a
 * client_id longer than 32767 bytes; KAFKA_ERR_NOMEM if w ran out. */
kafka_err kafka_request_header_encode(kafka_wbuf *w, int16_t api_key, int16_t api_version, int32_t correlation_id,
                                      kafka_str client_id);

/* Reads a request header (for test servers). An unknown api_key is read as
 * header v1 (what brokers do). client_id is a view into r's buffer. On
 * failure returns r->err with r->field set. */
kafka_err kafka_request_header_decode(kafka_rbuf *r, int16_t *api_key, int16_t *api_version, int32_t *correlation_id,
                                      kafka_str *client_id);

/* Reads a response header for a request of api_key/api_version, skipping
 * any tagged fields. */
kafka_err kafka_response_header_decode(kafka_rbuf *r, int16_t api_key, int16_t api_version, int32_t *correlation_id);

/* Appends a response header (for test servers). */
kafka_err kafka_response_header_encode(kafka_wbuf *w, int16_t api_key, int16_t api_version, int32_t correlation_id);

#endif /* KAFKA_PROTOCOL_HEADER_H */
