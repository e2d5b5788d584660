/*
 * Kafka API keys and the per-API facts every layer needs: name, supported
 * version range, first flexible version of request and response, and the
 * generated codec of each.
 *
 * Covers the 72 API keys whose request schema lists "broker" among its
 * listeners (src/protocol/gen/api_keys.h has the enum). Version ranges are
 * the schemas' validVersions, including a latest version the schema marks
 * unstable (latest_version_unstable): a client should not pick that version
 * unless the broker advertises it and the caller opts in.
 *
 * Everything here is constant data: thread-safe, no allocation.
 */
#ifndef KAFKA_PROTOCOL_API_H
#define KAFKA_PROTOCOL_API_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/error.h"
#include "protocol/gen/api_keys.h"
#include "protocol/gen_runtime.h"
#include "protocol/wire.h"

typedef struct kafka_api_info {
    int16_t key;
    const char *name; /* "Produce" */
    int16_t min_version, max_version;
    int16_t request_flexible_min, response_flexible_min; /* -1 if never flexible */
    bool latest_version_unstable; /* max_version is still in development */
    const kafka_gen_message *request;  /* codec tables of the request body */
    const kafka_gen_message *response; /* codec tables of the response body */
} kafka_api_info;

/* Facts about one API key; NULL if the key is unknown to libkafka. */
const kafka_api_info *kafka_api_info_get(int16_t api_key);

/* True when `version` of the request / response of `api_key` uses the
 * flexible (compact, tagged-field) encoding; false for unknown keys. */
bool kafka_api_request_flexible(int16_t api_key, int16_t version);
bool kafka_api_response_flexible(int16_t api_key, int16_t version);

/* Size in bytes of the C struct holding a request / response of `api_key`
 * (0 if unknown): lets generic code (tests, fuzzers, test servers) allocate
 * a message without knowing its type. */
size_t kafka_api_request_struct_size(int16_t api_key);
size_t kafka_api_response_struct_size(int16_t api_key);

/* Generic codecs: `msg` points to the struct of the request/response of
 * api_key (kafka_produce_request for KAFKA_API_PRODUCE, ...). Same contract
 * as the typed kafka_<msg>_encode/_decode; an unknown key is
 * KAFKA_ERR_INVALID_ARG. */
kafka_err kafka_request_encode_any(kafka_wbuf *w, int16_t api_key, int16_t version, const void *msg);
kafka_err kafka_request_decode_any(kafka_rbuf *r, kafka_arena *arena, int16_t api_key, int16_t version, void *msg);
kafka_err kafka_response_encode_any(kafka_wbuf *w, int16_t api_key, int16_t version, const void *msg);
kafka_err kafka_response_decode_any(kafka_rbuf *r, kafka_arena *arena, int16_t api_key, int16_t version, void *msg);

/* The generated table, indexed by key; entries with name == NULL are holes. */
extern const kafka_api_info kafka_gen_api_table[KAFKA_API_KEY_MAX + 1];

#endif /* KAFKA_PROTOCOL_API_H */
