/* SASL through kafka_dial with a scripted peer over the pluggable
 * transport: SaslHandshake v1 + SaslAuthenticate, the v0 raw exchange, and
 * failures. Expected bytes are hand-written from the protocol guide and
 * RFC 4616 (PLAIN: authzid NUL authcid NUL passwd). */
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
#include "protocol/api.h"

typedef struct sasl_script {
    bool v0_broker;       /* handshake v0 + raw exchange, no SaslAuthenticate */
    bool reject_auth;     /* SaslAuthenticate answers error 58 */
    bool reject_mech;     /* SaslHandshake answers error 33 */
} sasl_script;

static const uint8_t PLAIN_TOKEN[] = {0, 'a', 'l', 'i', 'c', 'e', 0, 's', 'e', 'c', 'r', 'e', 't'};

static int script_sasl(kt_peer *p, void *arg)
{
    sasl_script *s = arg;
    kt_request req;
    if (kt_peer_read(p, &req))
        return -1;
    /* Broker API list: SaslHandshake 0-1 (0 only for the old broker),
     * SaslAuthenticate 0-2 unless old. */
    int16_t ranges[3][3] = {{18, 0, 3}, {17, 0, (int16_t)(s->v0_broker ? 0 : 1)}, {36, 0, 2}};
    kt_peer_api_versions(p, &req, (const int16_t(*)[3])ranges, s->v0_broker ? 2 : 3);
    kt_request_free(&req);

    if (kt_peer_read(p, &req) || req.api_key != KAFKA_API_SASL_HANDSHAKE)
        return -1;
    /* SaslHandshake body: string "PLAIN". */
    static const uint8_t want_hs[] = {0x00, 0x05, 'P', 'L', 'A', 'I', 'N'};
    int rc = (req.api_version == (s->v0_broker ? 0 : 1) && req.body_len == sizeof want_hs &&
              memcmp(req.body, want_hs, sizeof want_hs) == 0)
                 ? 0
                 : -2;
    /* error_code, mechanisms [1] "PLAIN" */
    uint8_t hs_resp[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 'P', 'L', 'A', 'I', 'N'};
    if (s->reject_mech) {
        hs_resp[1] = 33;
        memcpy(hs_resp + 8, "SCRAM", 5);
    }
    kt_peer_respond(p, req.corr, false, hs_resp, sizeof hs_resp);
    kt_request_free(&req);
    if (s->reject_mech)
        return kt_peer_wait_eof(p) ? -1 : rc;

    if (s->v0_broker) {
        uint8_t *tok;
        size_t len;
        if (kt_peer_read_raw(p, &tok, &len))
            return -1;
        if (len != sizeof PLAIN_TOKEN || memcmp(tok, PLAIN_TOKEN, len) != 0)
            rc = -3;
        free(tok);
        static const uint8_t empty[4] = {0, 0, 0, 0}; /* success: an empty token */
        kt_peer_write(p, empty, 4);
    } else {
        if (kt_peer_read(p, &req) || req.api_key != KAFKA_API_SASL_AUTHENTICATE)
            return -1;
        /* SaslAuthenticate v2 (flexible): compact bytes of the token + tags. */
        uint8_t want[1 + sizeof PLAIN_TOKEN + 1];
        want[0] = sizeof PLAIN_TOKEN + 1;
        memcpy(want + 1, PLAIN_TOKEN, sizeof PLAIN_TOKEN);
        want[sizeof want - 1] = 0;
        if (req.api_version != 2 || req.body_len != sizeof want || memcmp(req.body, want, sizeof want) != 0)
            rc = -4;
        if (s->reject_auth) {
            /* error 58, compact string "bad creds", empty auth bytes,
             * session lifetime 0, no tags */
            static const uint8_t bad[] = {0x00, 0x3a, 0x0a, 'b', 'a', 'd', ' ', 'c', 'r', 'e', 'd', 's',
                                          0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
            kt_peer_respond(p, req.corr, true, bad, sizeof bad);
        } else {
            static const uint8_t ok[] = {0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
            kt_peer_respond(p, req.corr, true, ok, sizeof ok);
        }
        kt_request_free(&req);
    }
    if (kt_peer_wait_eof(p))
        rc = -1;
    return rc;
}

static kafka_err dial_sasl(sasl_script *s, char *why, size_t len)
{
    kt_peer *p = kt_peer_start(script_sasl, s);
    kafka_dialer_config cfg = {
        .transport = kt_peer_transport(p),
        .sasl = {.mechanism = KAFKA_SASL_PLAIN, .username = "alice", .password = "secret"},
    };
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, "peer:9092", &cfg, 5000);
    snprintf(why, len, "%s", kafka_dial_last_error());
    kafka_conn_close(c);
    assert_int_equal(kt_peer_join(p), 0);
    return err;
}

static void test_plain_handshake_v1(void **state)
{
    (void)state;
    sasl_script s = {0};
    char why[512];
    assert_int_equal(dial_sasl(&s, why, sizeof why), 0);
}

static void test_plain_raw_v0(void **state)
{
    (void)state;
    sasl_script s = {.v0_broker = true};
    char why[512];
    assert_int_equal(dial_sasl(&s, why, sizeof why), 0);
}

static void test_plain_rejected(void **state)
{
    (void)state;
    sasl_script s = {.reject_auth = true};
    char why[512];
    assert_int_equal(dial_sasl(&s, why, sizeof why), KAFKA_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "bad creds"));
}

static void test_mechanism_not_enabled(void **state)
{
    (void)state;
    sasl_script s = {.reject_mech = true};
    char why[512];
    assert_int_equal(dial_sasl(&s, why, sizeof why), KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM);
    assert_non_null(strstr(why, "broker enables: SCRAM"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_handshake_v1),
        cmocka_unit_test(test_plain_raw_v0),
        cmocka_unit_test(test_plain_rejected),
        cmocka_unit_test(test_mechanism_not_enabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
