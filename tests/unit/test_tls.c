/* TLS streams against an OpenSSL echo server in a thread on 127.0.0.1.
 * The test makes its own CAs and certificates with the OpenSSL API at
 * start-up (EC P-256), writes the client-side ones as PEM files into a
 * temporary directory and removes them at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kafka/dialer.h"
#include "net/stream.h"

/* ---- certificates ------------------------------------------------------- */

typedef struct pki {
    char dir[64];
    EVP_PKEY *ca_key, *evil_key, *srv_key, *self_key, *cli_key;
    X509 *ca, *evil, *srv, *srv_by_evil, *self, *cli;
    char ca_pem[128], evil_pem[128], cli_pem[128], cli_key_pem[128], cli_key_enc_pem[128];
} pki;

static pki P;

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for `key` named cn, signed by issuer (NULL = self-signed). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, const char *san,
                       long serial)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (san)
        add_ext(x, &ctx, NID_subject_alt_name, san);
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
}

static void write_key(const char *path, EVP_PKEY *k, const char *password)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (password)
        assert_int_equal(PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), (const unsigned char *)password,
                                              (int)strlen(password), NULL, NULL),
                         1);
    else
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

static int pki_setup(void **state)
{
    (void)state;
    snprintf(P.dir, sizeof P.dir, "/tmp/kafka-tls-XXXXXX");
    if (!mkdtemp(P.dir))
        return -1;
    P.ca_key = EVP_EC_gen("P-256");
    P.evil_key = EVP_EC_gen("P-256");
    P.srv_key = EVP_EC_gen("P-256");
    P.self_key = EVP_EC_gen("P-256");
    P.cli_key = EVP_EC_gen("P-256");
    const char *srv_san = "DNS:localhost,DNS:broker.test,IP:127.0.0.1";
    P.ca = make_cert(P.ca_key, "libkafka test CA", NULL, NULL, true, NULL, 1);
    P.evil = make_cert(P.evil_key, "untrusted CA", NULL, NULL, true, NULL, 2);
    P.srv = make_cert(P.srv_key, "broker.test", P.ca, P.ca_key, false, srv_san, 3);
    P.srv_by_evil = make_cert(P.srv_key, "broker.test", P.evil, P.evil_key, false, srv_san, 4);
    P.self = make_cert(P.self_key, "localhost", NULL, NULL, false, "DNS:localhost,IP:127.0.0.1", 5);
    P.cli = make_cert(P.cli_key, "client-1", P.ca, P.ca_key, false, NULL, 6);
    snprintf(P.ca_pem, sizeof P.ca_pem, "%s/ca.pem", P.dir);
    snprintf(P.evil_pem, sizeof P.evil_pem, "%s/evil.pem", P.dir);
    snprintf(P.cli_pem, sizeof P.cli_pem, "%s/client.pem", P.dir);
    snprintf(P.cli_key_pem, sizeof P.cli_key_pem, "%s/client.key", P.dir);
    snprintf(P.cli_key_enc_pem, sizeof P.cli_key_enc_pem, "%s/client-enc.key", P.dir);
    write_cert(P.ca_pem, P.ca);
    write_cert(P.evil_pem, P.evil);
    write_cert(P.cli_pem, P.cli);
    write_key(P.cli_key_pem, P.cli_key, NULL);
    write_key(P.cli_key_enc_pem, P.cli_key, "hunter2");
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    unlink(P.ca_pem);
    unlink(P.evil_pem);
    unlink(P.cli_pem);
    unlink(P.cli_key_pem);
    unlink(P.cli_key_enc_pem);
    rmdir(P.dir);
    X509 *certs[] = {P.ca, P.evil, P.srv, P.srv_by_evil, P.self, P.cli};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
        X509_free(certs[i]);
    EVP_PKEY *keys[] = {P.ca_key, P.evil_key, P.srv_key, P.self_key, P.cli_key};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

/* ---- TLS echo server ---------------------------------------------------- */

typedef struct tls_server {
    int lfd;
    int port;
    SSL_CTX *ctx;
    pthread_t th;
    bool handshake_ok;
    bool saw_client_cert;
    char sni[64]; /* server name the client sent, "" if none */
} tls_server;

static void *tls_server_main(void *arg)
{
    tls_server *sv = arg;
    /* OpenSSL's fd BIO writes with write(): a client that hangs up early
     * would SIGPIPE the whole test. Blocked in this thread only, so a
     * SIGPIPE raised by the library (client side) would still kill it. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    /* Safety net against a client that never comes: no test relies on it. */
    struct pollfd p = {sv->lfd, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1)
        return NULL;
    int c = accept(sv->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    struct timeval tv = {20, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(sv->ctx);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) {
        sv->handshake_ok = true;
        X509 *peer = SSL_get1_peer_certificate(ssl);
        sv->saw_client_cert = peer != NULL;
        const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        snprintf(sv->sni, sizeof sv->sni, "%s", sni ? sni : "");
        X509_free(peer);
        char buf[16384];
        for (;;) {
            int n = SSL_read(ssl, buf, sizeof buf);
            if (n <= 0 || SSL_write(ssl, buf, n) != n)
                break;
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(c);
    ERR_clear_error();
    return NULL;
}

static void tls_server_start(tls_server *sv, X509 *cert, EVP_PKEY *key, X509 *client_ca)
{
    memset(sv, 0, sizeof *sv);
    sv->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(sv->ctx);
    assert_int_equal(SSL_CTX_use_certificate(sv->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sv->ctx, key), 1);
    if (client_ca) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(sv->ctx), client_ca);
        SSL_CTX_set_verify(sv->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv->lfd, 4), 0);
    socklen_t sl = sizeof a;
    getsockname(sv->lfd, (struct sockaddr *)&a, &sl);
    sv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&sv->th, NULL, tls_server_main, sv), 0);
}

static void tls_server_stop(tls_server *sv)
{
    pthread_join(sv->th, NULL);
    close(sv->lfd);
    SSL_CTX_free(sv->ctx);
}

/* ---- helpers ------------------------------------------------------------ */

static int64_t in_ms(int ms)
{
    return kafka_now_ms() + ms;
}

static kafka_err dial(const kafka_tls_config *tls, const char *host, int port, kafka_stream **s, char *err,
                      size_t errlen)
{
    kafka_dialer_config cfg = {.tls = *tls};
    cfg.tls.enable = true;
    *s = NULL;
    err[0] = '\0';
    return kafka_stream_dial(&cfg, host, port, in_ms(10000), s, err, errlen);
}

/* Writes "ping over tls" and expects it back; returns the first failure. */
static kafka_err echo(kafka_stream *s)
{
    const char msg[] = "ping over tls";
    struct iovec iov[2] = {{(void *)(uintptr_t)msg, 5}, {(void *)(uintptr_t)(msg + 5), sizeof msg - 6}};
    kafka_err e = kafka_stream_writev_full(s, iov, 2, in_ms(10000));
    if (e)
        return e;
    char buf[sizeof msg - 1];
    e = kafka_stream_read_full(s, buf, sizeof buf, in_ms(10000));
    if (e)
        return e;
    assert_memory_equal(buf, msg, sizeof buf);
    return 0;
}

/* Runs a dial that must fail with KAFKA_ERR_TLS and checks the text. */
static void expect_tls_failure(X509 *srv_cert, EVP_PKEY *srv_key, const kafka_tls_config *tls, const char *host,
                               const char *needle)
{
    tls_server sv;
    tls_server_start(&sv, srv_cert, srv_key, NULL);
    kafka_stream *s;
    char err[320];
    kafka_err e = dial(tls, host, sv.port, &s, err, sizeof err);
    if (e != KAFKA_ERR_TLS)
        fail_msg("dial gave %d (%s), want KAFKA_ERR_TLS", e, err);
    assert_null(s);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    tls_server_stop(&sv);
    assert_false(sv.handshake_ok);
}

/* ---- tests -------------------------------------------------------------- */

static void test_trusted_by_name(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "localhost", sv.port, &s, err, sizeof err), 0);
    assert_int_equal(echo(s), 0);
    kafka_stream_close(s);
    tls_server_stop(&sv);
    assert_true(sv.handshake_ok);
    assert_string_equal(sv.sni, "localhost");
}

static void test_trusted_by_ip(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "127.0.0.1", sv.port, &s, err, sizeof err), 0);
    assert_int_equal(echo(s), 0);
    kafka_stream_close(s);
    tls_server_stop(&sv);
    assert_string_equal(sv.sni, ""); /* no SNI for IP addresses (RFC 6066) */
}

static void test_server_name_override(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem, .server_name = "broker.test"}, "127.0.0.1",
                          sv.port, &s, err, sizeof err),
                     0);
    assert_int_equal(echo(s), 0);
    kafka_stream_close(s);
    tls_server_stop(&sv);
    assert_string_equal(sv.sni, "broker.test");
}

static void test_untrusted_ca(void **state)
{
    (void)state;
    /* Server certificate issued by a CA the client does not trust. */
    expect_tls_failure(P.srv_by_evil, P.srv_key, &(kafka_tls_config){.ca_file = P.ca_pem}, "localhost",
                       "certificate verify failed: unable to get local issuer certificate");
}

static void test_self_signed(void **state)
{
    (void)state;
    expect_tls_failure(P.self, P.self_key, &(kafka_tls_config){.ca_file = P.ca_pem}, "localhost",
                       "certificate verify failed: self-signed certificate");
}

static void test_wrong_hostname(void **state)
{
    (void)state;
    expect_tls_failure(P.srv, P.srv_key, &(kafka_tls_config){.ca_file = P.ca_pem, .server_name = "other.test"},
                       "127.0.0.1", "hostname mismatch");
}

static void test_wrong_ip(void **state)
{
    (void)state;
    /* The certificate names 127.0.0.1, not 127.0.0.2. */
    expect_tls_failure(P.srv, P.srv_key, &(kafka_tls_config){.ca_file = P.ca_pem, .server_name = "127.0.0.2"},
                       "127.0.0.1", "IP address mismatch");
}

static void test_insecure_skip_verify(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv_by_evil, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem, .insecure_skip_verify = true,
                                              .server_name = "other.test"},
                          "127.0.0.1", sv.port, &s, err, sizeof err),
                     0);
    assert_int_equal(echo(s), 0);
    kafka_stream_close(s);
    tls_server_stop(&sv);
}

static void test_mutual_tls(void **state)
{
    (void)state;
    const char *keys[] = {P.cli_key_pem, P.cli_key_enc_pem};
    for (int i = 0; i < 2; i++) {
        tls_server sv;
        tls_server_start(&sv, P.srv, P.srv_key, P.ca);
        kafka_stream *s;
        char err[320];
        kafka_tls_config tls = {.ca_file = P.ca_pem, .cert_file = P.cli_pem, .key_file = keys[i],
                                .key_password = i ? "hunter2" : NULL};
        kafka_err e = dial(&tls, "localhost", sv.port, &s, err, sizeof err);
        if (e)
            fail_msg("mTLS dial: %s", err);
        assert_int_equal(echo(s), 0);
        kafka_stream_close(s);
        tls_server_stop(&sv);
        assert_true(sv.saw_client_cert);
    }
}

static void test_mutual_tls_without_client_cert(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, P.ca);
    kafka_stream *s;
    char err[320];
    /* With TLS 1.3 the client finishes its handshake before the server
     * checks the client certificate, so the refusal may surface at the
     * dial (TLS) or at the first read (TRANSPORT): either way no echo. */
    kafka_err e = dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "localhost", sv.port, &s, err, sizeof err);
    if (e == 0) {
        e = echo(s);
        kafka_stream_close(s);
        assert_int_equal(e, KAFKA_ERR_TRANSPORT);
    } else {
        assert_int_equal(e, KAFKA_ERR_TLS);
    }
    tls_server_stop(&sv);
    assert_false(sv.handshake_ok);
}

/* Configuration errors fail before any connection is made. */
static void test_bad_files(void **state)
{
    (void)state;
    kafka_stream *s;
    char err[320];
    /* Port 9 on loopback is never contacted: the context fails first... but
     * a server is started anyway so that a bug would not hang. */
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = "/nonexistent/ca.pem"}, "localhost", sv.port, &s, err,
                          sizeof err),
                     KAFKA_ERR_TLS);
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem, .cert_file = P.cli_pem,
                                              .key_file = P.cli_key_enc_pem, .key_password = "wrong"},
                          "localhost", sv.port, &s, err, sizeof err),
                     KAFKA_ERR_TLS);
    assert_non_null(strstr(err, "client key"));
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem, .cert_file = P.cli_pem,
                                              .key_file = P.cli_key_enc_pem},
                          "localhost", sv.port, &s, err, sizeof err),
                     KAFKA_ERR_TLS);
    /* Finally one good dial releases the server thread. */
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "localhost", sv.port, &s, err, sizeof err), 0);
    kafka_stream_close(s);
    tls_server_stop(&sv);
}

typedef struct bulk_reader {
    kafka_stream *s;
    uint8_t *buf;
    size_t len;
    kafka_err err;
} bulk_reader;

static void *bulk_reader_main(void *p)
{
    bulk_reader *r = p;
    r->err = kafka_stream_read_full(r->s, r->buf, r->len, in_ms(30000));
    return NULL;
}

/* One thread writes 1 MB in many iovecs while another reads the echo:
 * the reader/writer concurrency the stream promises. */
static void test_concurrent_read_write(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "localhost", sv.port, &s, err, sizeof err), 0);
    enum { TOTAL = 1 << 20 };
    uint8_t *data = malloc(TOTAL), *back = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(i * 31 + (i >> 12));
    bulk_reader r = {s, back, TOTAL, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bulk_reader_main, &r), 0);
    /* Mixed sizes: small iovecs get gathered, large ones go in place. */
    size_t off = 0;
    size_t sizes[] = {7, 100, 9000, 20000, 3, 65536};
    for (int k = 0; off < TOTAL; k++) {
        struct iovec iov[3];
        int n = 0;
        for (; n < 3 && off < TOTAL; n++) {
            size_t len = sizes[(k * 3 + n) % 6];
            if (len > TOTAL - off)
                len = TOTAL - off;
            iov[n] = (struct iovec){data + off, len};
            off += len;
        }
        assert_int_equal(kafka_stream_writev_full(s, iov, n, in_ms(30000)), 0);
    }
    pthread_join(th, NULL);
    assert_int_equal(r.err, 0);
    assert_memory_equal(back, data, TOTAL);
    free(data);
    free(back);
    kafka_stream_close(s);
    tls_server_stop(&sv);
}

typedef struct interrupter {
    kafka_stream *s;
} interrupter;

static void *interrupter_main(void *p)
{
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    kafka_stream_interrupt(((interrupter *)p)->s);
    return NULL;
}

static void test_interrupt_tls_read(void **state)
{
    (void)state;
    tls_server sv;
    tls_server_start(&sv, P.srv, P.srv_key, NULL);
    kafka_stream *s;
    char err[320];
    assert_int_equal(dial(&(kafka_tls_config){.ca_file = P.ca_pem}, "localhost", sv.port, &s, err, sizeof err), 0);
    char buf[8];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(100)), KAFKA_ERR_TIMEOUT);
    interrupter it = {s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter_main, &it), 0);
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(60000)), KAFKA_ERR_CLOSED);
    pthread_join(th, NULL);
    kafka_stream_close(s);
    tls_server_stop(&sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_by_name),
        cmocka_unit_test(test_trusted_by_ip),
        cmocka_unit_test(test_server_name_override),
        cmocka_unit_test(test_untrusted_ca),
        cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_wrong_hostname),
        cmocka_unit_test(test_wrong_ip),
        cmocka_unit_test(test_insecure_skip_verify),
        cmocka_unit_test(test_mutual_tls),
        cmocka_unit_test(test_mutual_tls_without_client_cert),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_concurrent_read_write),
        cmocka_unit_test(test_interrupt_tls_read),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
