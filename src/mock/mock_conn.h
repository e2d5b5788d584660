/*
 * One client connection of the mock, sans-I/O: bytes read from the socket
 * are fed in, complete request frames come out; response frames are queued
 * in request order (a slot per request, filled now or later: deferred
 * Fetch, group coordinator, added latency) and leave as one output buffer
 * in that order. The server (mock_server.c) owns the socket; this is what
 * an I/O engine would drive instead.
 *
 * Single-threaded; the mock's mutex guards it.
 */
#ifndef KAFKA_MOCK_CONN_H
#define KAFKA_MOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

/* Largest request frame accepted (Kafka's socket.request.max.bytes). */
#define KMOCK_MAX_FRAME (100 * 1024 * 1024)

typedef struct kmock_slot {
    uint64_t token;
    int16_t api_key, api_version;
    int32_t correlation_id;
    bool filled;   /* frame holds the whole response, or nothing is sent */
    int32_t delay_ms; /* injected latency of this request, added when filled */
    bool raw;         /* a bare SASL frame: size and body, no response header */
    int64_t ready_at;
    kafka_wbuf frame;
} kmock_slot;

typedef struct kmock_conn {
    kafka_wbuf in;  /* received bytes; in_off of them consumed */
    size_t in_off;
    kmock_slot *slots; /* FIFO in request order */
    size_t nslots, slots_cap;
    kafka_wbuf out; /* response bytes not yet written; out_off of them were */
    size_t out_off;
} kmock_conn;

void kmock_conn_init(kmock_conn *c);
void kmock_conn_free(kmock_conn *c);

/* Appends received bytes. false when out of memory. */
bool kmock_conn_feed(kmock_conn *c, const uint8_t *data, size_t len);

/* The next complete request frame (without its size prefix): 1 and
 * frame and len set (valid until the next feed), 0 when incomplete, -1 when
 * the size prefix is negative or above KMOCK_MAX_FRAME (close). */
int kmock_conn_next_frame(kmock_conn *c, const uint8_t **frame, size_t *len);

/* Queues a slot for a request (responses leave in this order). NULL when
 * out of memory. */
kmock_slot *kmock_conn_push(kmock_conn *c, uint64_t token, int16_t api_key, int16_t api_version,
                            int32_t correlation_id);

/* The slot of `token`, NULL if none (answered, or connection reset). */
kmock_slot *kmock_conn_slot(kmock_conn *c, uint64_t token);

/* Fills a slot with its response: frames body (size, header of the
 * slot's API and version, body); body NULL means no response is sent
 * (acks=0). Ready at ready_at (ms). false when out of memory. */
bool kmock_conn_fill(kmock_slot *s, const uint8_t *body, size_t len, int64_t ready_at);

/* Moves filled slots at the head whose time has come into the output.
 * Returns when the head slot will be ready (INT64_MAX: nothing waits for
 * time). false when out of memory. */
bool kmock_conn_flush(kmock_conn *c, int64_t now_ms, int64_t *next_ready);

/* Output bytes waiting to be written, and marking n of them written. */
static inline size_t kmock_conn_pending(const kmock_conn *c) { return c->out.len - c->out_off; }
static inline const uint8_t *kmock_conn_out(const kmock_conn *c) { return c->out.data + c->out_off; }
void kmock_conn_written(kmock_conn *c, size_t n);

#endif
