/* ke_handshake, connection setup without I/O, driven over a ke_wire with
 * scripted broker bytes (no sockets, no threads): ApiVersions v3 falling
 * back to v0, SASL PLAIN accepted and refused, the SCRAM-SHA-256 exchange
 * of RFC 7677 section 3, the raw (v0) token exchange, and broken or
 * hostile answers. Expected request bytes are written by hand from the
 * Kafka protocol guide and the RFCs, not taken from the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/handshake.h"
#include "kafka/error.h"
#include "net/sasl.h"
#include "scram_rfc7677.h"

typedef struct fx {
    ke_wire w;
    ke_handshake h;
    kafka_dialer_config cfg;
} fx;

typedef struct req {
    int16_t key, ver;
    int32_t corr;
    uint8_t body[1024];
    size_t body_len;
} req;

static void fx_start(fx *f, kafka_sasl_mechanism_id mech, const char *user, const char *pass)
{
    memset(f, 0, sizeof *f);
    f->cfg.sasl.mechanism = mech;
    f->cfg.sasl.username = user;
    f->cfg.sasl.password = pass;
    ke_wire_init(&f->w, 10, 100, 0);
    ke_wire_open(&f->w);
    assert_int_equal(ke_handshake_start(&f->h, &f->w, &f->cfg, "b1:9092", "hs-test", -1), 0);
}

static void fx_end(fx *f)
{
    ke_wire_destroy(&f->w);
    ke_handshake_free(&f->h);
}

/* Takes every byte the wire has to write (one frame): its size prefix
 * is checked and dropped. */
static size_t take_frame(fx *f, uint8_t *out, size_t cap)
{
    assert_true(ke_wire_wants_write(&f->w));
    struct iovec iov[8];
    int n = ke_wire_output(&f->w, iov, 8);
    uint8_t buf[2048];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        assert_true(len + iov[i].iov_len <= sizeof buf);
        memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    ke_wire_wrote(&f->w, len);
    assert_false(ke_wire_wants_write(&f->w));
    assert_true(len >= 4 && len - 4 <= cap);
    uint32_t size = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    assert_int_equal(size, len - 4);
    memcpy(out, buf + 4, len - 4);
    return len - 4;
}

/* Takes the one request the wire has to write. header_v2: the request
 * header carries tagged fields (flexible versions). */
static void take_request(fx *f, bool header_v2, req *r)
{
    uint8_t buf[2048];
    size_t size = take_frame(f, buf + 4, sizeof buf - 4);
    const uint8_t *p = buf + 4;
    r->key = (int16_t)(p[0] << 8 | p[1]);
    r->ver = (int16_t)(p[2] << 8 | p[3]);
    r->corr = (int32_t)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]);
    size_t cid = (size_t)(p[8] << 8 | p[9]);
    assert_int_equal(cid, strlen("hs-test"));
    assert_memory_equal(p + 10, "hs-test", cid);
    size_t at = 10 + cid;
    if (header_v2)
        assert_int_equal(p[at++], 0); /* no tagged fields */
    r->body_len = size - at;
    memcpy(r->body, p + at, r->body_len);
}

/* Feeds a response frame: size, correlation id, a tag byte when the
 * response header is v1, then body. */
static kafka_err respond(fx *f, int32_t corr, bool header_v1, const uint8_t *body, size_t len)
{
    uint8_t frame[1024];
    size_t n = 4 + 4 + (header_v1 ? 1 : 0) + len;
    uint32_t size = (uint32_t)(n - 4);
    frame[0] = (uint8_t)(size >> 24), frame[1] = (uint8_t)(size >> 16), frame[2] = (uint8_t)(size >> 8);
    frame[3] = (uint8_t)size;
    frame[4] = (uint8_t)((uint32_t)corr >> 24), frame[5] = (uint8_t)((uint32_t)corr >> 16);
    frame[6] = (uint8_t)((uint32_t)corr >> 8), frame[7] = (uint8_t)corr;
    if (header_v1)
        frame[8] = 0;
    memcpy(frame + n - len, body, len);
    return ke_wire_feed(&f->w, frame, n);
}

/* ApiVersions v0 response body: error, then [key, min, max] x n. */
static size_t apiv0_body(uint8_t *b, int16_t code, const int16_t (*keys)[3], int n)
{
    size_t at = 0;
    b[at++] = (uint8_t)((uint16_t)code >> 8), b[at++] = (uint8_t)code;
    b[at++] = 0, b[at++] = 0, b[at++] = 0, b[at++] = (uint8_t)n;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            b[at++] = (uint8_t)((uint16_t)keys[i][k] >> 8), b[at++] = (uint8_t)keys[i][k];
    return at;
}

/* ApiVersions v3 response body: error, compact array of [key, min, max,
 * tags], throttle time, tags. */
static size_t apiv3_body(uint8_t *b, const int16_t (*keys)[3], int n)
{
    size_t at = 0;
    b[at++] = 0, b[at++] = 0;
    b[at++] = (uint8_t)(n + 1);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++)
            b[at++] = (uint8_t)((uint16_t)keys[i][k] >> 8), b[at++] = (uint8_t)keys[i][k];
        b[at++] = 0;
    }
    memset(b + at, 0, 4); /* throttle_time_ms */
    at += 4;
    b[at++] = 0;
    return at;
}

/* The ApiVersions v3 request the handshake starts with: compact strings
 * "libkafka" and the library version, then no tags. */
static void expect_apiv3(fx *f, req *r)
{
    take_request(f, true, r);
    assert_int_equal(r->key, 18);
    assert_int_equal(r->ver, 3);
    assert_int_equal(r->body[0], strlen("libkafka") + 1);
    assert_memory_equal(r->body + 1, "libkafka", strlen("libkafka"));
}

static const int16_t SASL_KEYS[4][3] = {{18, 0, 3}, {17, 0, 1}, {36, 0, 2}, {0, 3, 9}};

/* ---- ApiVersions --------------------------------------------------------- */

static void test_api_versions_v0_fallback(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, KAFKA_SASL_NONE, NULL, NULL);
    req r;
    expect_apiv3(&f, &r);
    /* An old broker: UNSUPPORTED_VERSION (35), in the v0 layout. */
    uint8_t b[64];
    const int16_t v2[1][3] = {{18, 0, 2}};
    assert_int_equal(respond(&f, r.corr, false, b, apiv0_body(b, 35, v2, 1)), 0);
    assert_int_equal(f.h.state, KE_HS_API_VERSIONS);
    take_request(&f, false, &r); /* v0: header v1, empty body */
    assert_int_equal(r.key, 18);
    assert_int_equal(r.ver, 0);
    assert_int_equal(r.body_len, 0);
    const int16_t keys[2][3] = {{18, 0, 2}, {0, 2, 8}};
    assert_int_equal(respond(&f, r.corr, false, b, apiv0_body(b, 0, keys, 2)), 0);
    assert_int_equal(f.h.state, KE_HS_DONE);
    assert_int_equal(f.h.versions.min[0], 2);
    assert_int_equal(f.h.versions.max[0], 8);
    assert_int_equal(f.h.versions.max[18], 2);
    assert_int_equal(f.h.versions.min[1], -1); /* Fetch: not offered */
    assert_false(ke_wire_wants_write(&f.w));
    fx_end(&f);
}

/* A handshake without SASL, its ApiVersions v3 answered with the key
 * Produce v4-v13 (one entry), error code `code`, the entry count claimed
 * as `claimed` (1 = honest), to correlation id + corr_off. Returns what
 * the wire said of the answer. */
static kafka_err answer_apiv3(fx *f, int32_t corr_off, int16_t code, uint8_t claimed)
{
    fx_start(f, KAFKA_SASL_NONE, NULL, NULL);
    req r;
    expect_apiv3(f, &r);
    uint8_t b[64];
    const int16_t keys[1][3] = {{0, 4, 13}};
    size_t n = apiv3_body(b, keys, 1);
    b[1] = (uint8_t)code;
    b[2] = (uint8_t)(claimed + 1);
    return respond(f, r.corr + corr_off, false, b, n);
}

static void test_api_versions_v3_no_sasl(void **state)
{
    (void)state;
    fx f;
    assert_int_equal(answer_apiv3(&f, 0, 0, 1), 0);
    assert_int_equal(f.h.state, KE_HS_DONE);
    assert_int_equal(f.h.versions.min[0], 4);
    assert_int_equal(f.h.versions.max[0], 13);
    fx_end(&f);
}

static void test_api_versions_truncated(void **state)
{
    (void)state;
    fx f;
    assert_int_equal(answer_apiv3(&f, 0, 0, 100), 0); /* claims 100 keys, carries one */
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, KAFKA_ERR_PROTOCOL);
    assert_non_null(strstr(f.h.why, "b1:9092: undecodable ApiVersions v3 response"));
    fx_end(&f);
}

static void test_api_versions_error_code(void **state)
{
    (void)state;
    fx f;
    assert_int_equal(answer_apiv3(&f, 0, 31, 1), 0); /* CLUSTER_AUTHORIZATION_FAILED */
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, 31);
    assert_non_null(strstr(f.h.why, "ApiVersions v3"));
    fx_end(&f);
}

/* A response to a correlation id never sent: the wire refuses it and its
 * driver fails the connection; the handshake reports the wire's text. */
static void test_wrong_correlation_id(void **state)
{
    (void)state;
    fx f;
    kafka_err err = answer_apiv3(&f, 7, 0, 1);
    assert_int_equal(err, KAFKA_ERR_PROTOCOL);
    ke_wire_fail(&f.w, err, 0, f.w.err);
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, KAFKA_ERR_PROTOCOL);
    assert_non_null(strstr(f.h.why, "correlation id"));
    fx_end(&f);
}

/* The connection broke or a deadline passed while waiting. */
static void test_transport_failure(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, KAFKA_SASL_NONE, NULL, NULL);
    req r;
    expect_apiv3(&f, &r);
    ke_wire_fail(&f.w, KAFKA_ERR_TRANSPORT, 0, "read from b1:9092: connection closed by peer");
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, KAFKA_ERR_TRANSPORT);
    assert_string_equal(f.h.why, "read from b1:9092: connection closed by peer");
    assert_string_equal(ke_handshake_step_name(&f.h), "nothing");
    fx_end(&f);
}

/* ---- SASL ------------------------------------------------------------------ */

static const uint8_t PLAIN_TOKEN[] = {0, 'a', 'l', 'i', 'c', 'e', 0, 's', 'e', 'c', 'r', 'e', 't'};

/* ApiVersions v3 with SASL offered, then SaslHandshake v1 for mech. */
static void through_sasl_handshake(fx *f, const char *mech)
{
    req r;
    expect_apiv3(f, &r);
    uint8_t b[128];
    assert_int_equal(respond(f, r.corr, false, b, apiv3_body(b, SASL_KEYS, 4)), 0);
    assert_int_equal(f->h.state, KE_HS_SASL_HANDSHAKE);
    assert_string_equal(ke_handshake_step_name(&f->h), "SaslHandshake");
    take_request(f, false, &r);
    assert_int_equal(r.key, 17);
    assert_int_equal(r.ver, 1);
    size_t ml = strlen(mech);
    assert_int_equal(r.body_len, 2 + ml);
    assert_int_equal(r.body[1], ml);
    assert_memory_equal(r.body + 2, mech, ml);
    /* error 0, mechanisms [mech] */
    size_t n = 0;
    b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = (uint8_t)ml;
    memcpy(b + n, mech, ml);
    assert_int_equal(respond(f, r.corr, false, b, n + ml), 0);
}

/* The next SaslAuthenticate v2 request must carry exactly token. */
static void expect_auth(fx *f, const uint8_t *tok, size_t len, req *r)
{
    take_request(f, true, r);
    assert_int_equal(r->key, 36);
    assert_int_equal(r->ver, 2);
    assert_true(len + 1 < 0x80);
    assert_int_equal(r->body_len, 1 + len + 1);
    assert_int_equal(r->body[0], len + 1);
    assert_memory_equal(r->body + 1, tok, len);
    assert_int_equal(r->body[1 + len], 0);
}

/* SaslAuthenticate v2 response body: error, compact nullable message,
 * compact bytes, session lifetime, no tags. */
static size_t auth_body(uint8_t *b, int16_t code, const char *msg, const char *bytes)
{
    size_t n = 0;
    b[n++] = (uint8_t)((uint16_t)code >> 8), b[n++] = (uint8_t)code;
    if (msg) {
        b[n++] = (uint8_t)(strlen(msg) + 1);
        memcpy(b + n, msg, strlen(msg));
        n += strlen(msg);
    } else {
        b[n++] = 0;
    }
    b[n++] = (uint8_t)(strlen(bytes) + 1);
    memcpy(b + n, bytes, strlen(bytes));
    n += strlen(bytes);
    memset(b + n, 0, 8);
    n += 8;
    b[n++] = 0;
    return n;
}

static void test_sasl_plain_ok(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, KAFKA_SASL_PLAIN, "alice", "secret");
    through_sasl_handshake(&f, "PLAIN");
    req r;
    expect_auth(&f, PLAIN_TOKEN, sizeof PLAIN_TOKEN, &r);
    assert_string_equal(ke_handshake_step_name(&f.h), "SaslAuthenticate");
    uint8_t b[128];
    assert_int_equal(respond(&f, r.corr, true, b, auth_body(b, 0, NULL, "")), 0);
    assert_int_equal(f.h.state, KE_HS_DONE);
    assert_int_equal(f.h.versions.max[0], 9);
    fx_end(&f);
}

static void test_sasl_plain_refused(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, KAFKA_SASL_PLAIN, "alice", "secret");
    through_sasl_handshake(&f, "PLAIN");
    req r;
    expect_auth(&f, PLAIN_TOKEN, sizeof PLAIN_TOKEN, &r);
    uint8_t b[128];
    assert_int_equal(respond(&f, r.corr, true, b, auth_body(b, 58, "Invalid username or password", "")), 0);
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, KAFKA_ERR_SASL_AUTHENTICATION_FAILED);
    assert_true(kafka_err_is_fatal(f.h.err));
    assert_non_null(strstr(f.h.why, "b1:9092: SASL authentication failed"));
    assert_non_null(strstr(f.h.why, "Invalid username or password"));
    assert_false(ke_wire_wants_write(&f.w)); /* nothing more is sent */
    fx_end(&f);
}

static void test_sasl_mechanism_not_enabled(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, KAFKA_SASL_PLAIN, "alice", "secret");
    req r;
    expect_apiv3(&f, &r);
    uint8_t b[128];
    assert_int_equal(respond(&f, r.corr, false, b, apiv3_body(b, SASL_KEYS, 4)), 0);
    take_request(&f, false, &r);
    /* UNSUPPORTED_SASL_MECHANISM (33), mechanisms ["SCRAM-SHA-512"] */
    static const uint8_t no[] = {0, 33, 0, 0, 0, 1, 0, 13, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '5', '1', '2'};
    assert_int_equal(respond(&f, r.corr, false, no, sizeof no), 0);
    assert_int_equal(f.h.state, KE_HS_FAILED);
    assert_int_equal(f.h.err, KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM);
    assert_non_null(strstr(f.h.why, "broker enables: SCRAM-SHA-512"));
    fx_end(&f);
}


static void scram_rounds(bool good_signature)
{
    assert_int_equal(kafka_sasl_scram_test_set_nonce(RFC_CNONCE), 0);
    fx f;
    fx_start(&f, KAFKA_SASL_SCRAM_SHA_256, "user", "pencil");
    through_sasl_handshake(&f, "SCRAM-SHA-256");
    req r;
    expect_auth(&f, (const uint8_t *)RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), &r);
    uint8_t b[512];
    assert_int_equal(respond(&f, r.corr, true, b, auth_body(b, 0, NULL, RFC_SERVER_FIRST)), 0);
    assert_int_equal(f.h.state, KE_HS_SASL_AUTH);
    expect_auth(&f, (const uint8_t *)RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &r);
    const char *final = good_signature ? RFC_SERVER_FINAL : BAD_SERVER_FINAL;
    assert_int_equal(respond(&f, r.corr, true, b, auth_body(b, 0, NULL, final)), 0);
    if (good_signature) {
        assert_int_equal(f.h.state, KE_HS_DONE);
    } else {
        assert_int_equal(f.h.state, KE_HS_FAILED);
        assert_int_equal(f.h.err, KAFKA_ERR_SASL);
        assert_non_null(strstr(f.h.why, "SCRAM-SHA-256"));
        assert_non_null(strstr(f.h.why, "signature"));
    }
    assert_false(ke_wire_wants_write(&f.w));
    fx_end(&f);
    assert_int_equal(kafka_sasl_scram_test_set_nonce(NULL), 0);
}

static void test_sasl_scram_rounds(void **state)
{
    (void)state;
    scram_rounds(true);
}

static void test_sasl_scram_bad_server_signature(void **state)
{
    (void)state;
    scram_rounds(false);
}

/* A broker before 1.0: SaslHandshake v0, then the token framed by its
 * length alone, answered the same way (an empty token: accepted). */
static void test_sasl_raw_v0(void **state)
{
    (void)state;
    for (int hang_up = 0; hang_up < 2; hang_up++) {
        fx f;
        fx_start(&f, KAFKA_SASL_PLAIN, "alice", "secret");
        req r;
        expect_apiv3(&f, &r);
        uint8_t b[128];
        const int16_t old[2][3] = {{18, 0, 3}, {17, 0, 0}};
        assert_int_equal(respond(&f, r.corr, false, b, apiv3_body(b, old, 2)), 0);
        take_request(&f, false, &r);
        assert_int_equal(r.key, 17);
        assert_int_equal(r.ver, 0);
        static const uint8_t ok[] = {0, 0, 0, 0, 0, 1, 0, 5, 'P', 'L', 'A', 'I', 'N'};
        assert_int_equal(respond(&f, r.corr, false, ok, sizeof ok), 0);
        /* The raw token: no Kafka header at all. */
        uint8_t tok[64];
        assert_int_equal(take_frame(&f, tok, sizeof tok), sizeof PLAIN_TOKEN);
        assert_memory_equal(tok, PLAIN_TOKEN, sizeof PLAIN_TOKEN);
        assert_string_equal(ke_handshake_step_name(&f.h), "the SASL token");
        if (hang_up) {
            /* Brokers of that age refuse a password by closing. */
            ke_wire_fail(&f.w, KAFKA_ERR_TRANSPORT, 0, "read from b1:9092: connection closed by peer");
            assert_int_equal(f.h.state, KE_HS_FAILED);
            assert_int_equal(f.h.err, KAFKA_ERR_SASL_AUTHENTICATION_FAILED);
            assert_non_null(strstr(f.h.why, "broker closed the connection during authentication"));
        } else {
            static const uint8_t empty[4] = {0, 0, 0, 0}; /* an empty token: accepted */
            assert_int_equal(ke_wire_feed(&f.w, empty, sizeof empty), 0);
            assert_int_equal(f.h.state, KE_HS_DONE);
        }
        fx_end(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_versions_v0_fallback),
        cmocka_unit_test(test_api_versions_v3_no_sasl),
        cmocka_unit_test(test_api_versions_truncated),
        cmocka_unit_test(test_api_versions_error_code),
        cmocka_unit_test(test_wrong_correlation_id),
        cmocka_unit_test(test_transport_failure),
        cmocka_unit_test(test_sasl_plain_ok),
        cmocka_unit_test(test_sasl_plain_refused),
        cmocka_unit_test(test_sasl_mechanism_not_enabled),
        cmocka_unit_test(test_sasl_scram_rounds),
        cmocka_unit_test(test_sasl_scram_bad_server_signature),
        cmocka_unit_test(test_sasl_raw_v0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
