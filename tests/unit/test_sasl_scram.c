/* SASL mechanisms: SCRAM against the RFC 5802 (SHA-1) and RFC 7677
 * (SHA-256) example exchanges byte for byte, hostile server messages,
 * PLAIN and OAUTHBEARER message bytes. Expected values are the RFCs'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "net/sasl.h"

typedef struct scram_run {
    void *st;
    kafka_wbuf out;
    char err[256];
    bool done;
} scram_run;

static void run_init(scram_run *r, const char *digest, const char *user, const char *pass, const char *nonce)
{
    memset(r, 0, sizeof *r);
    kafka_wbuf_init(&r->out);
    assert_int_equal(kafka_sasl_scram_create_md(digest, user, pass, &r->st, r->err, sizeof r->err), 0);
    if (nonce)
        assert_int_equal(kafka_sasl_scram_set_nonce(r->st, nonce), 0);
}

static kafka_err run_step(scram_run *r, const char *server)
{
    r->out.len = 0;
    r->err[0] = '\0';
    return kafka_sasl_scram_step(r->st, (const uint8_t *)server, server ? strlen(server) : 0, &r->out, &r->done,
                                 r->err, sizeof r->err);
}

static void run_free(scram_run *r)
{
    kafka_sasl_scram_destroy(r->st);
    kafka_wbuf_free(&r->out);
}

static void assert_out(const scram_run *r, const char *expect)
{
    assert_int_equal(r->out.len, strlen(expect));
    assert_memory_equal(r->out.data, expect, strlen(expect));
}

static void rfc_exchange(const char *digest, const char *nonce, const char *first, const char *server_first,
                         const char *final, const char *server_final)
{
    scram_run r;
    run_init(&r, digest, "user", "pencil", nonce);
    assert_int_equal(run_step(&r, NULL), 0);
    assert_false(r.done);
    assert_out(&r, first);
    assert_int_equal(run_step(&r, server_first), 0);
    assert_false(r.done);
    assert_out(&r, final);
    assert_int_equal(run_step(&r, server_final), 0);
    assert_true(r.done);
    assert_int_equal(r.out.len, 0);
    run_free(&r);
}

/* RFC 5802 section 5. */
static void test_rfc5802_sha1(void **state)
{
    (void)state;
    rfc_exchange("SHA1", "fyko+d2lbbFgONRv9qkxdawL", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                 "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                 "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

/* RFC 7677 section 3. */
static void test_rfc7677_sha256(void **state)
{
    (void)state;
    rfc_exchange("SHA256", "rOprNGfwEbeRWgbNEkqO", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

static const char *rfc7677_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

/* Runs to the server-final step with RFC 7677 inputs and returns its result. */
static kafka_err rfc7677_final(const char *server_final, char *err, size_t errlen)
{
    scram_run r;
    run_init(&r, "SHA256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(run_step(&r, NULL), 0);
    assert_int_equal(run_step(&r, rfc7677_first), 0);
    kafka_err e = run_step(&r, server_final);
    assert_false(r.done);
    snprintf(err, errlen, "%s", r.err);
    run_free(&r);
    return e;
}

static void test_wrong_server_signature(void **state)
{
    (void)state;
    char err[256];
    /* First character changed: a server that does not know the password. */
    assert_int_equal(rfc7677_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", err, sizeof err), KAFKA_ERR_SASL);
    assert_non_null(strstr(err, "mismatch"));
    /* Non-canonical base64 (padding bits set) is malformed, not equal. */
    assert_int_equal(rfc7677_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", err, sizeof err), KAFKA_ERR_SASL);
    /* The SHA-1 signature length under SHA-256. */
    assert_int_equal(rfc7677_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", err, sizeof err), KAFKA_ERR_SASL);
    assert_int_equal(rfc7677_final("v=not*base64", err, sizeof err), KAFKA_ERR_SASL);
    assert_int_equal(rfc7677_final("", err, sizeof err), KAFKA_ERR_SASL);
}

static void test_server_error_final(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(rfc7677_final("e=invalid-proof", err, sizeof err), KAFKA_ERR_SASL);
    assert_non_null(strstr(err, "invalid-proof"));
}

static void assert_first_rejected(const char *server_first, const char *why)
{
    scram_run r;
    run_init(&r, "SHA256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    assert_int_equal(run_step(&r, NULL), 0);
    kafka_err e = run_step(&r, server_first);
    if (e != KAFKA_ERR_SASL)
        fail_msg("server-first \"%s\" (%s) gave %d, want KAFKA_ERR_SASL", server_first, why, e);
    assert_true(r.err[0] != '\0');
    /* A failed state refuses further steps. */
    assert_int_equal(run_step(&r, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), KAFKA_ERR_SASL);
    run_free(&r);
}

static void test_malformed_server_first(void **state)
{
    (void)state;
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                          "missing i");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
                          "i=0");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5",
                          "negative i");
    assert_first_rejected(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999", "huge i");
    assert_first_rejected(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
        "overflowing i");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000",
                          "i below the minimum (downgrade)");
    assert_first_rejected("r=XXXXNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                          "nonce does not extend ours");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce not extended at all");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,i=4096", "missing salt");
    assert_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22Z*J0S,i=4096", "bad base64 salt");
    assert_first_rejected("m=ext,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                          "mandatory extension");
    assert_first_rejected("e=unknown-user", "server error");
    assert_first_rejected("garbage", "not attr=value");
    assert_first_rejected("", "empty");
}

static void test_username_escaping(void **state)
{
    (void)state;
    scram_run r;
    run_init(&r, "SHA512", "a=b,c", "pw", "abc");
    assert_int_equal(run_step(&r, NULL), 0);
    assert_out(&r, "n,,n=a=3Db=2Cc,r=abc");
    run_free(&r);
}

static void test_random_nonce(void **state)
{
    (void)state;
    scram_run a, b;
    run_init(&a, "SHA256", "u", "p", NULL);
    run_init(&b, "SHA256", "u", "p", NULL);
    assert_int_equal(run_step(&a, NULL), 0);
    assert_int_equal(run_step(&b, NULL), 0);
    /* "n,,n=u,r=" + 32 base64 characters of 24 random bytes. */
    assert_int_equal(a.out.len, 9 + 32);
    assert_memory_equal(a.out.data, "n,,n=u,r=", 9);
    assert_true(a.out.len != b.out.len || memcmp(a.out.data, b.out.data, a.out.len) != 0);
    run_free(&a);
    run_free(&b);
}

static void test_mech_table(void **state)
{
    (void)state;
    assert_string_equal(kafka_sasl_mech_by_id(KAFKA_SASL_PLAIN)->name, "PLAIN");
    assert_string_equal(kafka_sasl_mech_by_id(KAFKA_SASL_SCRAM_SHA_256)->name, "SCRAM-SHA-256");
    assert_string_equal(kafka_sasl_mech_by_id(KAFKA_SASL_SCRAM_SHA_512)->name, "SCRAM-SHA-512");
    assert_string_equal(kafka_sasl_mech_by_id(KAFKA_SASL_OAUTHBEARER)->name, "OAUTHBEARER");
    assert_null(kafka_sasl_mech_by_id(KAFKA_SASL_NONE));
    assert_ptr_equal(kafka_sasl_mech_by_name("SCRAM-SHA-512", 13), &kafka_sasl_scram_sha512);
    assert_null(kafka_sasl_mech_by_name("GSSAPI", 6));
}

/* SCRAM-SHA-512 through the table: the client-final has a 64-byte proof
 * (88 base64 chars); the exact bytes depend on the random nonce. */
static void test_scram512_via_table(void **state)
{
    (void)state;
    const kafka_sasl_mech *m = kafka_sasl_mech_by_id(KAFKA_SASL_SCRAM_SHA_512);
    kafka_sasl_config cfg = {.mechanism = KAFKA_SASL_SCRAM_SHA_512, .username = "user", .password = "pencil"};
    void *st;
    char err[256];
    assert_int_equal(m->create(&cfg, &st, err, sizeof err), 0);
    assert_int_equal(kafka_sasl_scram_set_nonce(st, "abc"), 0);
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    bool done;
    assert_int_equal(m->step(st, NULL, 0, &out, &done, err, sizeof err), 0);
    out.len = 0;
    const char *sf = "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096";
    assert_int_equal(m->step(st, (const uint8_t *)sf, strlen(sf), &out, &done, err, sizeof err), 0);
    assert_int_equal(out.len, strlen("c=biws,r=abcdef,p=") + 88);
    assert_memory_equal(out.data, "c=biws,r=abcdef,p=", 18);
    m->destroy(st);
    kafka_wbuf_free(&out);
}

static void test_plain_bytes(void **state)
{
    (void)state;
    const kafka_sasl_mech *m = &kafka_sasl_plain;
    kafka_sasl_config cfg = {.mechanism = KAFKA_SASL_PLAIN, .username = "alice", .password = "s3cret"};
    void *st;
    char err[256];
    assert_int_equal(m->create(&cfg, &st, err, sizeof err), 0);
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    bool done = true;
    assert_int_equal(m->step(st, NULL, 0, &out, &done, err, sizeof err), 0);
    assert_false(done);
    static const uint8_t expect[] = {0, 'a', 'l', 'i', 'c', 'e', 0, 's', '3', 'c', 'r', 'e', 't'};
    assert_int_equal(out.len, sizeof expect);
    assert_memory_equal(out.data, expect, sizeof expect);
    out.len = 0;
    assert_int_equal(m->step(st, (const uint8_t *)"", 0, &out, &done, err, sizeof err), 0);
    assert_true(done);
    assert_int_equal(out.len, 0);
    m->destroy(st);
    kafka_wbuf_free(&out);

    kafka_sasl_config nouser = {.mechanism = KAFKA_SASL_PLAIN};
    assert_int_equal(m->create(&nouser, &st, err, sizeof err), KAFKA_ERR_INVALID_ARG);
}

static int token_ok(void *priv, char *buf, size_t len, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    snprintf(buf, len, "%s", (const char *)priv);
    return 0;
}

static int token_fail(void *priv, char *buf, size_t len, char *errbuf, size_t errlen)
{
    (void)priv;
    (void)buf;
    (void)len;
    snprintf(errbuf, errlen, "idp unreachable");
    return 1;
}

static kafka_err oauth_first(kafka_oauth_token_fn cb, const char *tok, kafka_wbuf *out, char *err, size_t errlen)
{
    kafka_sasl_config cfg = {.mechanism = KAFKA_SASL_OAUTHBEARER, .oauth_token_cb = cb, .oauth_privdata = (void *)(uintptr_t)tok};
    void *st;
    assert_int_equal(kafka_sasl_oauthbearer.create(&cfg, &st, err, errlen), 0);
    bool done;
    kafka_err e = kafka_sasl_oauthbearer.step(st, NULL, 0, out, &done, err, errlen);
    if (!e) {
        size_t keep = out->len;
        const char *srv = "{\"status\":\"invalid_token\"}";
        assert_int_equal(kafka_sasl_oauthbearer.step(st, (const uint8_t *)srv, strlen(srv), out, &done, err, errlen),
                         KAFKA_ERR_SASL);
        assert_non_null(strstr(err, "invalid_token"));
        out->len = keep;
    }
    kafka_sasl_oauthbearer.destroy(st);
    return e;
}

static void test_oauthbearer_bytes(void **state)
{
    (void)state;
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    char err[256];
    assert_int_equal(oauth_first(token_ok, "eyJhbGciOi.eyJzdWIi.c2ln", &out, err, sizeof err), 0);
    static const char expect[] = "n,,\001auth=Bearer eyJhbGciOi.eyJzdWIi.c2ln\001\001";
    assert_int_equal(out.len, sizeof expect - 1);
    assert_memory_equal(out.data, expect, sizeof expect - 1);
    out.len = 0;
    assert_int_equal(oauth_first(token_fail, NULL, &out, err, sizeof err), KAFKA_ERR_SASL);
    assert_non_null(strstr(err, "idp unreachable"));
    /* A token smuggling a separator is refused. */
    assert_int_equal(oauth_first(token_ok, "abc\001auth=x", &out, err, sizeof err), KAFKA_ERR_SASL);
    assert_int_equal(oauth_first(token_ok, "", &out, err, sizeof err), KAFKA_ERR_SASL);
    kafka_wbuf_free(&out);
}

/* The credential AlterUserScramCredentials sends: SaltedPassword is
 * PBKDF2-HMAC over the returned salt (checked against OpenSSL's PBKDF2
 * with the digest named explicitly), a fresh salt per call, and bounds. */
static void test_make_credential(void **state)
{
    (void)state;
    uint8_t salt[KAFKA_SCRAM_SALT_LEN], salt2[KAFKA_SCRAM_SALT_LEN], salted[64], want[64];
    size_t n = 0;
    assert_int_equal(kafka_scram_make_credential(KAFKA_SASL_SCRAM_SHA_512, "pencil", 4096, salt, salted, &n), 0);
    assert_int_equal(n, 64);
    assert_int_equal(PKCS5_PBKDF2_HMAC("pencil", 6, salt, sizeof salt, 4096, EVP_sha512(), 64, want), 1);
    assert_memory_equal(salted, want, 64);
    assert_int_equal(kafka_scram_make_credential(KAFKA_SASL_SCRAM_SHA_256, "pencil", 4096, salt2, salted, &n), 0);
    assert_int_equal(n, 32);
    assert_memory_not_equal(salt, salt2, sizeof salt);
    assert_int_equal(PKCS5_PBKDF2_HMAC("pencil", 6, salt2, sizeof salt2, 4096, EVP_sha256(), 32, want), 1);
    assert_memory_equal(salted, want, 32);
    assert_int_equal(kafka_scram_make_credential(KAFKA_SASL_PLAIN, "p", 4096, salt, salted, &n), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_scram_make_credential(KAFKA_SASL_SCRAM_SHA_256, "p", 100, salt, salted, &n),
                     KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_scram_make_credential(KAFKA_SASL_SCRAM_SHA_256, NULL, 4096, salt, salted, &n),
                     KAFKA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5802_sha1),
        cmocka_unit_test(test_make_credential),
        cmocka_unit_test(test_rfc7677_sha256),
        cmocka_unit_test(test_wrong_server_signature),
        cmocka_unit_test(test_server_error_final),
        cmocka_unit_test(test_malformed_server_first),
        cmocka_unit_test(test_username_escaping),
        cmocka_unit_test(test_random_nonce),
        cmocka_unit_test(test_mech_table),
        cmocka_unit_test(test_scram512_via_table),
        cmocka_unit_test(test_plain_bytes),
        cmocka_unit_test(test_oauthbearer_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
