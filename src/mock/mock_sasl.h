/*
 * SASL on the mock's listeners (when the mock requires it): SaslHandshake
 * v0-1 (after v0 the tokens come as bare frames) and SaslAuthenticate
 * v0-2, with PLAIN and SCRAM-SHA-256/512 (RFC 5802/7677; 4096 PBKDF2
 * iterations, random salts and nonces) against the users given to the
 * mock, and OAUTHBEARER with unsecured JWTs as Kafka's default validator
 * takes them (alg "none", a "sub", an "exp" not passed; any subject is
 * accepted). Until a connection has authenticated, it may only send
 * ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes
 * it, as Kafka does.
 *
 * Sans-I/O, single-threaded (the mock's mutex guards it).
 */
#ifndef KAFKA_MOCK_SASL_H
#define KAFKA_MOCK_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"
#include "protocol/wire.h"

/* A SCRAM credential as a broker stores it (no password). */
typedef struct kmock_scram_cred {
    bool set;
    int32_t iterations;
    uint8_t salt[64];
    size_t salt_len;
    uint8_t stored[64], server[64]; /* StoredKey, ServerKey */
} kmock_scram_cred;

/* Kafka's bounds on SCRAM iterations. */
#define KMOCK_SCRAM_MIN_ITERATIONS 4096
#define KMOCK_SCRAM_MAX_ITERATIONS 16384

/* One user's credentials. */
typedef struct kmock_sasl_user {
    char *name;
    char *password;           /* for PLAIN; NULL for a user made by AlterUserScramCredentials */
    kmock_scram_cred scram[2]; /* [0] SCRAM-SHA-256, [1] SCRAM-SHA-512 */
} kmock_sasl_user;

typedef struct kmock_sasl_users {
    kmock_sasl_user *u;
    size_t n, cap;
} kmock_sasl_users;

/* Adds or replaces a user (valid for every mechanism). */
kafka_err kmock_sasl_user_set(kmock_sasl_users *us, const char *name, const char *password);
/* AlterUserScramCredentials: sets one SCRAM credential (mechanism 1 =
 * SHA-256, 2 = SHA-512) from the client's salted password, or deletes it
 * (salted == NULL). Returns 0 or a Kafka error code (RESOURCE_NOT_FOUND,
 * UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM,
 * UNKNOWN_SERVER_ERROR). */
int16_t kmock_sasl_scram_upsert(kmock_sasl_users *us, kafka_str name, int8_t mechanism, int32_t iterations,
                                kafka_bytes salt, kafka_bytes salted);
int16_t kmock_sasl_scram_delete(kmock_sasl_users *us, kafka_str name, int8_t mechanism);
/* The user named `name`, or NULL. */
const kmock_sasl_user *kmock_sasl_user_find(const kmock_sasl_users *us, kafka_str name);
void kmock_sasl_users_free(kmock_sasl_users *us);

/* A connection's authentication. Zero-initialised = not started. */
typedef struct kmock_sasl_conn {
    int mech;   /* 0 none yet, 1 PLAIN, 2 SCRAM-SHA-256, 3 SCRAM-SHA-512, 4 OAUTHBEARER */
    int step;   /* SCRAM: 0 client-first expected, 1 client-final expected */
    bool raw;   /* after a v0 handshake: tokens come as bare frames */
    bool authenticated;
    char *user; /* the authenticated (or authenticating) user */
    char *auth_message; /* SCRAM: client-first-bare,server-first */
    char *nonce;        /* SCRAM: the combined nonce */
} kmock_sasl_conn;

void kmock_sasl_conn_free(kmock_sasl_conn *s);

/* One SASL token from the client (a SaslAuthenticate's bytes, or a bare
 * frame after a v0 handshake): true and the server's answer in reply
 * (possibly empty), false when authentication failed. */
bool kmock_sasl_token(kmock_sasl_conn *s, const kmock_sasl_users *us, const uint8_t *token, size_t len,
                      kafka_wbuf *reply);

/* Serves SaslHandshake (17) or SaslAuthenticate (36) on one connection:
 * the response body into out. Returns 1 (respond), 0 (respond, then close:
 * a failed authentication) or -1 (undecodable: close at once). */
int kmock_sasl_handle(kmock_sasl_conn *s, const kmock_sasl_users *us, int16_t api_key, int16_t version,
                      const uint8_t *body, size_t len, kafka_wbuf *out);

#endif
