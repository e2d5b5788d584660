/* SCRAM-SHA-256 end to end through kafka_dial, over the scripted peer
 * (pluggable transport): ApiVersions, SaslHandshake v1 "SCRAM-SHA-256",
 * then two SaslAuthenticate v2 rounds carrying the RFC 7677 section 3
 * example exchange (user "user", password "pencil", client nonce fixed
 * with the test-only hook kafka_sasl_scram_test_set_nonce). The peer
 * checks every client message byte for byte against the RFC text, so the
 * expected values come from the RFC, not from the code under test.
 * Failures: the server's e= attribute, a wrong server signature and a
 * broker-side SASL_AUTHENTICATION_FAILED each end the dial with a SASL
 * error and a message that says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn_peer.h"
#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "net/sasl.h"
#include "scram_rfc7677.h"
#include "protocol/api.h"


typedef enum scram_ending {
    END_OK,             /* RFC server-final: success */
    END_E_ATTR,         /* server-final "e=invalid-proof" */
    END_BAD_SIGNATURE,  /* server-final with a wrong v= */
    END_BROKER_REJECTS, /* second SaslAuthenticate answers error 58 */
} scram_ending;

typedef struct scram_script {
    scram_ending ending;
    char mismatch[128]; /* set by the peer when a client message was wrong */
} scram_script;

static size_t put_uvarint(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Checks that a SaslAuthenticate v2 body is exactly compact-bytes(want)
 * followed by an empty tagged-field section. */
static bool auth_body_is(const kt_request *req, const char *want)
{
    uint8_t exp[512];
    size_t wl = strlen(want);
    size_t n = put_uvarint(exp, (uint32_t)wl + 1);
    memcpy(exp + n, want, wl);
    n += wl;
    exp[n++] = 0;
    return req->api_key == KAFKA_API_SASL_AUTHENTICATE && req->api_version == 2 && req->body_len == n &&
           memcmp(req->body, exp, n) == 0;
}

/* SaslAuthenticate v2 response: error_code, compact nullable error message,
 * compact bytes, session_lifetime_ms, no tags. */
static int respond_auth(kt_peer *p, int32_t corr, int16_t code, const char *msg, const char *bytes)
{
    uint8_t b[512];
    size_t n = 0;
    b[n++] = (uint8_t)((uint16_t)code >> 8);
    b[n++] = (uint8_t)code;
    if (msg) {
        n += put_uvarint(b + n, (uint32_t)strlen(msg) + 1);
        memcpy(b + n, msg, strlen(msg));
        n += strlen(msg);
    } else {
        b[n++] = 0; /* null */
    }
    n += put_uvarint(b + n, (uint32_t)strlen(bytes) + 1);
    memcpy(b + n, bytes, strlen(bytes));
    n += strlen(bytes);
    memset(b + n, 0, 8); /* session lifetime 0: no re-authentication */
    n += 8;
    b[n++] = 0;
    return kt_peer_respond(p, corr, true, b, n);
}

static int script_scram(kt_peer *p, void *arg)
{
    scram_script *s = arg;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    const int16_t ranges[3][3] = {{18, 0, 3}, {17, 0, 1}, {36, 0, 2}};
    kt_peer_api_versions(p, &req, ranges, 3);
    kt_request_free(&req);

    /* SaslHandshake v1: string "SCRAM-SHA-256"; answer: no error,
     * mechanisms ["SCRAM-SHA-256"]. */
    if (kt_peer_read(p, &req))
        return -1;
    static const uint8_t want_hs[] = {0x00, 0x0d, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6'};
    if (req.api_key != KAFKA_API_SASL_HANDSHAKE || req.api_version != 1 || req.body_len != sizeof want_hs ||
        memcmp(req.body, want_hs, sizeof want_hs) != 0)
        snprintf(s->mismatch, sizeof s->mismatch, "SaslHandshake request");
    uint8_t hs[6 + sizeof want_hs] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    memcpy(hs + 6, want_hs, sizeof want_hs);
    kt_peer_respond(p, req.corr, false, hs, sizeof hs);
    kt_request_free(&req);

    /* Round 1: client-first -> server-first. */
    if (kt_peer_read(p, &req))
        return -1;
    if (!s->mismatch[0] && !auth_body_is(&req, RFC_CLIENT_FIRST))
        snprintf(s->mismatch, sizeof s->mismatch, "client-first message");
    respond_auth(p, req.corr, 0, NULL, RFC_SERVER_FIRST);
    kt_request_free(&req);

    /* Round 2: client-final -> server-final (or a failure). */
    if (kt_peer_read(p, &req))
        return -1;
    if (!s->mismatch[0] && !auth_body_is(&req, RFC_CLIENT_FINAL))
        snprintf(s->mismatch, sizeof s->mismatch, "client-final message");
    switch (s->ending) {
    case END_OK:
        respond_auth(p, req.corr, 0, NULL, RFC_SERVER_FINAL);
        break;
    case END_E_ATTR:
        respond_auth(p, req.corr, 0, NULL, "e=invalid-proof");
        break;
    case END_BAD_SIGNATURE:
        respond_auth(p, req.corr, 0, NULL, BAD_SERVER_FINAL);
        break;
    case END_BROKER_REJECTS:
        respond_auth(p, req.corr, 58, "Authentication failed during authentication due to invalid credentials", "");
        break;
    }
    kt_request_free(&req);
    return kt_peer_wait_eof(p);
}

/* Dials through a scripted peer; returns the dial's error, copies the
 * dial's error text into why. */
static kafka_err dial_scram(scram_script *s, char *why, size_t len)
{
    assert_int_equal(kafka_sasl_scram_test_set_nonce(RFC_CNONCE), 0);
    kt_peer *p = kt_peer_start(script_scram, s);
    kafka_dialer_config cfg = {
        .transport = kt_peer_transport(p),
        .sasl = {.mechanism = KAFKA_SASL_SCRAM_SHA_256, .username = "user", .password = "pencil"},
    };
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, "peer:9092", &cfg, 5000);
    snprintf(why, len, "%s", kafka_dial_last_error());
    if (err)
        assert_null(c);
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    assert_int_equal(kafka_sasl_scram_test_set_nonce(NULL), 0);
    if (s->mismatch[0])
        fail_msg("the client sent an unexpected %s", s->mismatch);
    return err;
}

static void test_rfc7677_exchange(void **state)
{
    (void)state;
    scram_script s = {.ending = END_OK};
    char why[512];
    kafka_err err = dial_scram(&s, why, sizeof why);
    if (err)
        fail_msg("dial: %s: %s", kafka_err_str(err), why);
}

static void test_server_error_attribute(void **state)
{
    (void)state;
    scram_script s = {.ending = END_E_ATTR};
    char why[512];
    assert_int_equal(dial_scram(&s, why, sizeof why), KAFKA_ERR_SASL);
    assert_non_null(strstr(why, "SCRAM-SHA-256"));
    assert_non_null(strstr(why, "invalid-proof"));
}

static void test_wrong_server_signature(void **state)
{
    (void)state;
    scram_script s = {.ending = END_BAD_SIGNATURE};
    char why[512];
    assert_int_equal(dial_scram(&s, why, sizeof why), KAFKA_ERR_SASL);
    assert_non_null(strstr(why, "server signature mismatch"));
}

static void test_broker_rejects_proof(void **state)
{
    (void)state;
    scram_script s = {.ending = END_BROKER_REJECTS};
    char why[512];
    assert_int_equal(dial_scram(&s, why, sizeof why), KAFKA_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "invalid credentials"));
}

static void test_hook_validates_nonce(void **state)
{
    (void)state;
    assert_int_equal(kafka_sasl_scram_test_set_nonce(""), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_sasl_scram_test_set_nonce("a,b"), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_sasl_scram_test_set_nonce("tab\there"), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_sasl_scram_test_set_nonce(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7677_exchange),      cmocka_unit_test(test_server_error_attribute),
        cmocka_unit_test(test_wrong_server_signature), cmocka_unit_test(test_broker_rejects_proof),
        cmocka_unit_test(test_hook_validates_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
