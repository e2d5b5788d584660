/*
 * SASL client mechanisms, sans-I/O: each mechanism turns server challenges
 * into client responses; the conn layer carries them in SaslHandshake /
 * SaslAuthenticate requests (or raw v0 frames).
 *
 * Driving a mechanism:
 *
 *     const kafka_sasl_mech *m = kafka_sasl_mech_by_id(cfg->mechanism);
 *     void *st;
 *     err = m->create(cfg, &st, errbuf, errlen);
 *     kafka_wbuf out; kafka_wbuf_init(&out);
 *     bool done = false;
 *     err = m->step(st, NULL, 0, &out, &done, errbuf, errlen); // first message
 *     while (!err && !done) {
 *         send out.data/out.len in a SaslAuthenticate request;
 *         a non-zero error code in the response = authentication failed;
 *         out.len = 0;
 *         err = m->step(st, auth_bytes, auth_len, &out, &done, errbuf, errlen);
 *     }
 *     m->destroy(st); kafka_wbuf_free(&out);
 *
 * step() APPENDS the next client message to `out` (the caller resets
 * out.len between steps). When it sets *done, authentication succeeded
 * from the client's point of view and nothing more is to be sent (out gets
 * nothing appended). Every mechanism's first step (server_msg == NULL) sets
 * *done = false; the conn layer must send that message even when it is
 * empty.
 *
 * Errors: KAFKA_ERR_SASL with a reason in errbuf (server's e= text for
 * SCRAM, bad server signature, malformed challenge, token callback
 * failure), KAFKA_ERR_INVALID_ARG for a config that misses what the
 * mechanism needs, KAFKA_ERR_NOMEM. After an error the state can only be
 * destroyed.
 *
 * Secrets: states hold the password/derived keys and wipe them
 * (OPENSSL_cleanse) on destroy.
 */
#ifndef KAFKA_NET_SASL_H
#define KAFKA_NET_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/dialer.h"
#include "kafka/error.h"
#include "protocol/wire.h"

typedef struct kafka_sasl_mech {
    const char *name; /* as sent in SaslHandshake: "PLAIN", "SCRAM-SHA-256", ... */
    kafka_sasl_mechanism_id id;
    kafka_err (*create)(const kafka_sasl_config *cfg, void **state_out, char *errbuf, size_t errlen);
    kafka_err (*step)(void *state, const uint8_t *server_msg, size_t len, kafka_wbuf *out, bool *done,
                      char *errbuf, size_t errlen);
    void (*destroy)(void *state); /* NULL state is a no-op */
} kafka_sasl_mech;

/* The mechanism for an id, or NULL for KAFKA_SASL_NONE / unknown ids. */
const kafka_sasl_mech *kafka_sasl_mech_by_id(kafka_sasl_mechanism_id id);

/* The mechanism with this exact (case-sensitive) name, or NULL. */
const kafka_sasl_mech *kafka_sasl_mech_by_name(const char *name, size_t len);

extern const kafka_sasl_mech kafka_sasl_plain;
extern const kafka_sasl_mech kafka_sasl_scram_sha256;
extern const kafka_sasl_mech kafka_sasl_scram_sha512;
extern const kafka_sasl_mech kafka_sasl_oauthbearer;

/* ---- SCRAM internals exposed for tests ---------------------------------- */

/* Creates a SCRAM state over any OpenSSL digest name ("SHA1", "SHA256",
 * "SHA512"); Kafka only offers SHA-256 and SHA-512, SHA-1 exists for the
 * RFC 5802 test vector. The state is driven with kafka_sasl_scram_*.step
 * semantics through kafka_sasl_scram_step / destroyed with
 * kafka_sasl_scram_destroy. */
kafka_err kafka_sasl_scram_create_md(const char *digest, const char *user, const char *password, void **state_out,
                                     char *errbuf, size_t errlen);
kafka_err kafka_sasl_scram_step(void *state, const uint8_t *server_msg, size_t len, kafka_wbuf *out, bool *done,
                                char *errbuf, size_t errlen);
void kafka_sasl_scram_destroy(void *state);

/* Test hook: replaces the random client nonce (printable, no ','), before
 * the first step. */
kafka_err kafka_sasl_scram_set_nonce(void *state, const char *nonce);

/* TEST-ONLY hook for tests that cannot reach the mechanism state (SCRAM
 * driven through kafka_dial): while set, every SCRAM state created
 * afterwards uses this client nonce instead of a random one. The string is
 * copied (at most 127 bytes; printable, no ','; anything else is refused
 * with KAFKA_ERR_INVALID_ARG). NULL restores random nonces. Process-wide
 * and not synchronised: call it only from a test's main thread while no
 * connection is being dialled. Not exported from the shared library;
 * production code never calls it. */
kafka_err kafka_sasl_scram_test_set_nonce(const char *nonce);

/* Bounds on the server's iteration count. The minimum is the Java client's
 * (a lower count is a downgrade attack); the maximum keeps a hostile server
 * from making the client burn seconds of CPU. */
#define KAFKA_SCRAM_MIN_ITERATIONS 4096
#ifdef KAFKA_FUZZING
#define KAFKA_SCRAM_MAX_ITERATIONS 8192 /* keep each fuzz run fast */
#else
#define KAFKA_SCRAM_MAX_ITERATIONS 262144
#endif

/* Salt length of the credentials kafka_scram_make_credential makes. */
#define KAFKA_SCRAM_SALT_LEN 32

/* A SCRAM credential for AlterUserScramCredentials (KIP-554): a random
 * salt and SaltedPassword = PBKDF2(HMAC-SHA-256/512, password, salt,
 * iterations) into salted (*salted_len = 32 or 64 bytes). mech is
 * KAFKA_SASL_SCRAM_SHA_256 or _512; iterations within the bounds above.
 * INVALID_ARG otherwise; SASL when OpenSSL fails. */
kafka_err kafka_scram_make_credential(kafka_sasl_mechanism_id mech, const char *password, int iterations,
                                      uint8_t salt[KAFKA_SCRAM_SALT_LEN], uint8_t salted[64], size_t *salted_len);

/* Largest OAUTHBEARER token accepted from the callback. */
#define KAFKA_OAUTH_MAX_TOKEN 16384

#endif
