/* TLS on the mock's listeners: see mock_tls.h. */
#include "mock/mock_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

struct kmock_tls {
    SSL_CTX *ctx;
};

kafka_err kmock_tls_new(kmock_tls **out, const char *cert_file, const char *key_file)
{
    kmock_tls *t = OPENSSL_zalloc(sizeof(*t));

    *out = NULL;
    if (!t)
        return KAFKA_ERR_NOMEM;
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) ||
        SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(t->ctx, key_file ? key_file : cert_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1) {
        ERR_clear_error();
        kmock_tls_free(t);
        return KAFKA_ERR_TLS;
    }
    /* writes may be partial and resume from a moved buffer (the output
     * buffer grows between attempts) */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    *out = t;
    return 0;
}

void kmock_tls_free(kmock_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    OPENSSL_free(t);
}

void *kmock_tls_session(kmock_tls *t, int fd)
{
    SSL *s = SSL_new(t->ctx);

    if (s && SSL_set_fd(s, fd) != 1) {
        SSL_free(s);
        return NULL;
    }
    if (s)
        SSL_set_accept_state(s);
    return s;
}

void kmock_tls_session_free(void *session)
{
    SSL_free(session);
}

/* -1 (would block, with the direction it waits for) or 0 (closed/failed). */
static ssize_t blocked(SSL *s, int rc, bool *want_read, bool *want_write)
{
    switch (SSL_get_error(s, rc)) {
    case SSL_ERROR_WANT_READ:
        if (want_read)
            *want_read = true;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        if (want_write)
            *want_write = true;
        return -1;
    default:
        ERR_clear_error();
        return 0;
    }
}

ssize_t kmock_tls_read(void *session, void *buf, size_t len, bool *want_write)
{
    int n = SSL_read(session, buf, len > INT32_MAX ? INT32_MAX : (int)len);

    *want_write = false;
    return n > 0 ? (ssize_t)n : blocked(session, n, NULL, want_write);
}

ssize_t kmock_tls_write(void *session, const void *buf, size_t len, bool *want_read)
{
    int n = SSL_write(session, buf, len > INT32_MAX ? INT32_MAX : (int)len);

    *want_read = false;
    return n > 0 ? (ssize_t)n : blocked(session, n, want_read, NULL);
}
