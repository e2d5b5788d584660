/*
 * ke_handshake: the Kafka half of connection setup, sans-I/O — ApiVersions
 * (v3, falling back to v0 on UNSUPPORTED_VERSION, as old brokers and
 * librdkafka's mock require), then SASL when the dialer asks for it
 * (SaslHandshake, then SaslAuthenticate rounds, or the raw token exchange
 * brokers before 1.0 use after SaslHandshake v0), driving the mechanisms
 * of src/net/sasl.h (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER).
 *
 * It runs over a ke_wire (wire.h) that is open (ke_wire_open): each step
 * submits its request to the wire and the response's callback takes the
 * next step, so whoever drives the wire drives the handshake. Two drivers
 * exist and there is no other copy of this logic: the engine (engine.c,
 * without blocking, with every other broker's traffic) and kafka_dial
 * (conn/dial.c: blocking reads and writes on the stream, for the public
 * kafka_conn and the cluster's pool).
 *
 * Progress is read from the struct: state KE_HS_DONE (versions filled)
 * or KE_HS_FAILED (err, why). A transport failure (the driver calls
 * ke_wire_fail) or a request past its deadline fails the handshake with
 * the wire's text; a broker that closes the connection during the raw
 * SASL exchange refused the credentials (SASL_AUTHENTICATION_FAILED).
 * Refused credentials, an unknown mechanism and certificate failures are
 * fatal (kafka_err_is_fatal); the texts carry the broker's words.
 *
 * Not thread-safe: the wire's driver owns it.
 */
#ifndef KAFKA_ENGINE_HANDSHAKE_H
#define KAFKA_ENGINE_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn/conn_internal.h"
#include "engine/wire.h"
#include "kafka/dialer.h"
#include "net/sasl.h"

typedef enum {
    KE_HS_API_VERSIONS = 0,
    KE_HS_SASL_HANDSHAKE,
    KE_HS_SASL_AUTH,
    KE_HS_DONE,
    KE_HS_FAILED
} ke_hs_state;

typedef struct ke_handshake {
    ke_hs_state state;
    ke_wire *w;
    const kafka_sasl_config *sasl; /* borrowed; NULL = no SASL */
    const char *client_id;         /* borrowed */
    char addr[300];                /* for the texts: "host:port" */
    int64_t deadline;              /* of each request (monotonic ms, -1 none) */
    int16_t apiv_version;          /* the ApiVersions version asked */
    int16_t req_version;           /* the version of the request outstanding */
    kafka_api_table versions;      /* the broker's, once DONE */
    const kafka_sasl_mech *mech;
    void *mech_state;
    bool raw; /* the v0 token exchange instead of SaslAuthenticate */
    int rounds;
    kafka_err err;
    char why[512];
} ke_handshake;

/* Starts the handshake on an open wire: submits ApiVersions. cfg (may be
 * NULL: no SASL) and client_id must outlive the handshake. deadline bounds
 * every request of it. Returns the failure (also in h->err / h->why). */
kafka_err ke_handshake_start(ke_handshake *h, ke_wire *w, const kafka_dialer_config *cfg, const char *addr,
                             const char *client_id, int64_t deadline);

/* Done or failed: nothing more will be submitted. */
static inline bool ke_handshake_finished(const ke_handshake *h)
{
    return h->state == KE_HS_DONE || h->state == KE_HS_FAILED;
}

/* The request the handshake waits for: "ApiVersions", "SaslHandshake",
 * "SaslAuthenticate" (for texts). */
const char *ke_handshake_step_name(const ke_handshake *h);

/* Frees the mechanism state (wiping its secrets). The wire is the
 * caller's: fail or destroy it first, so that no callback refers to h. */
void ke_handshake_free(ke_handshake *h);

#endif
