/* TLS over a connected non-blocking socket with OpenSSL 3.
 *
 * - Trust: ca_file / ca_dir, else the system store. Peer verification and
 *   host name (or IP address) verification are on unless the user opts out.
 * - TLS 1.2 minimum, no renegotiation, no compression.
 * - The SSL object talks to the socket through a tiny BIO that uses
 *   send(MSG_NOSIGNAL): OpenSSL's own socket BIO calls write(), which would
 *   raise SIGPIPE on a reset connection.
 * - One SSL_CTX per connection (certificates are reloaded on each dial;
 *   simple and always fresh, at a few ms per connect).
 * - One reader and one writer thread may use the stream at once: every SSL
 *   call is made under ssl_lock, and waiting on the socket happens outside
 *   it. Renegotiation is disabled, so SSL_write never needs to read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/stream_impl.h"

#define KAFKA_TLS_STAGE 16384 /* one TLS record's worth of small iovecs */

/* ---- socket BIO with MSG_NOSIGNAL ---------------------------------------- */

static BIO_METHOD *tls_bio_method;
static pthread_once_t tls_bio_once = PTHREAD_ONCE_INIT;

static int tls_bio_fd(BIO *b)
{
    const kafka_stream *s = BIO_get_data(b);
    return s->fd;
}

static int tls_bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = send(tls_bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)n;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = recv(tls_bio_fd(b), buf, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)n;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* send() does not buffer */
}

static void tls_bio_make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kafka-socket");
    if (m && (!BIO_meth_set_write(m, tls_bio_write) || !BIO_meth_set_read(m, tls_bio_read) ||
              !BIO_meth_set_ctrl(m, tls_bio_ctrl))) {
        BIO_meth_free(m);
        m = NULL;
    }
    tls_bio_method = m; /* lives for the whole process */
}

/* ---- context ------------------------------------------------------------ */

/* Never prompt on a terminal (OpenSSL's default): give the configured
 * password or nothing. */
static int tls_password_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)rwflag;
    const char *pw = userdata;
    if (!pw || size <= 0)
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

/* Formats the OpenSSL error queue's most relevant entry. */
static void tls_err_text(char *out, size_t outlen)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(out, outlen, "unknown OpenSSL error");
        return;
    }
    const char *reason = ERR_reason_error_string(e);
    if (reason)
        snprintf(out, outlen, "%s", reason);
    else
        ERR_error_string_n(e, out, outlen);
}

static kafka_err tls_ctx_fail(char *errbuf, size_t errlen, const char *what, const char *path)
{
    char why[200];
    tls_err_text(why, sizeof why);
    snprintf(errbuf, errlen, "TLS: %s%s%s: %s", what, path ? " " : "", path ? path : "", why);
    ERR_clear_error();
    return KAFKA_ERR_TLS;
}

static kafka_err tls_make_ctx(const kafka_tls_config *cfg, SSL_CTX **out, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return tls_ctx_fail(errbuf, errlen, "cannot create context", NULL);
    *out = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx, tls_password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)(uintptr_t)cfg->key_password);
    if (cfg->ca_file || cfg->ca_dir) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, cfg->ca_dir) != 1)
            return tls_ctx_fail(errbuf, errlen, "cannot load CA certificates from",
                                cfg->ca_file ? cfg->ca_file : cfg->ca_dir);
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return tls_ctx_fail(errbuf, errlen, "cannot load the system trust store", NULL);
    }
    if (cfg->cert_file) {
        const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
            return tls_ctx_fail(errbuf, errlen, "cannot load client certificate", cfg->cert_file);
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            return tls_ctx_fail(errbuf, errlen, "cannot load client key", key);
        if (SSL_CTX_check_private_key(ctx) != 1)
            return tls_ctx_fail(errbuf, errlen, "client key does not match certificate", cfg->cert_file);
    } else if (cfg->key_file) {
        snprintf(errbuf, errlen, "TLS: key_file given without cert_file");
        return KAFKA_ERR_INVALID_ARG;
    }
    return 0;
}

static bool tls_is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* SNI and the identity the certificate must carry. */
static kafka_err tls_set_peer_name(SSL *ssl, const kafka_tls_config *cfg, const char *name, char *errbuf,
                                   size_t errlen)
{
    bool ip = tls_is_ip(name);
    /* SSL_set_tlsext_host_name() spelled out: the macro casts away const. */
    if (!ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)name) != 1)
        return tls_ctx_fail(errbuf, errlen, "cannot set SNI name", name);
    if (cfg->insecure_skip_verify) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
    int ok;
    if (ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(ssl, name);
    }
    return ok == 1 ? 0 : tls_ctx_fail(errbuf, errlen, "cannot set the name to verify", name);
}

/* ---- I/O ---------------------------------------------------------------- */

typedef struct tls_result {
    int ok;      /* 1 = the call succeeded */
    int ssl_err; /* SSL_get_error() when it did not */
    int sys_errno;
    char text[200];
} tls_result;

/* Classifies a failed SSL call; runs under ssl_lock right after it. */
static void tls_classify(kafka_stream *s, int ret, tls_result *r)
{
    r->sys_errno = errno;
    r->ssl_err = SSL_get_error(s->ssl, ret);
    r->text[0] = '\0';
    if (r->ssl_err == SSL_ERROR_SSL)
        tls_err_text(r->text, sizeof r->text);
    ERR_clear_error();
}

/* Waits as the failed call asked, or turns the failure into an error. */
static kafka_err tls_wait_or_fail(kafka_stream *s, int side, const tls_result *r, int64_t deadline_ms)
{
    const char *op = side == KAFKA_STREAM_RD ? "read from" : "write to";
    kafka_err e;
    switch (r->ssl_err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        e = kafka_sock_wait(s, r->ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_ms);
        if (e == KAFKA_ERR_TIMEOUT)
            return kafka_stream_fail(s, side, e, "%s %s: deadline exceeded", op, s->peer);
        if (e == KAFKA_ERR_CLOSED)
            return kafka_stream_fail(s, side, e, "%s %s: interrupted (stream closed)", op, s->peer);
        if (e)
            return kafka_stream_fail(s, side, e, "%s %s: poll failed", op, s->peer);
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: connection closed by peer (TLS close_notify)",
                                 op, s->peer);
    case SSL_ERROR_SYSCALL:
        if (r->sys_errno == 0)
            return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: connection closed by peer", op, s->peer);
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: %s", op, s->peer, strerror(r->sys_errno));
    default:
        return kafka_stream_fail(s, side, KAFKA_ERR_TRANSPORT, "%s %s: TLS error: %s", op, s->peer,
                                 r->text[0] ? r->text : "unknown");
    }
}

/* Runs SSL_read_ex or SSL_write_ex until `len` bytes have moved, waiting
 * for the socket (or failing) as OpenSSL asks. One loop for both sides:
 * only the OpenSSL call and the error text differ. */
static kafka_err tls_transfer_all(kafka_stream *s, int side, uint8_t *rp, const uint8_t *wp, size_t len,
                                  int64_t deadline_ms)
{
    while (len > 0) {
        if (atomic_load(&s->interrupted))
            return kafka_stream_fail(s, side, KAFKA_ERR_CLOSED, "%s %s: interrupted (stream closed)",
                                     side == KAFKA_STREAM_RD ? "read from" : "write to", s->peer);
        tls_result r = {0};
        size_t n = 0;
        pthread_mutex_lock(&s->ssl_lock);
        ERR_clear_error();
        errno = 0;
        r.ok = side == KAFKA_STREAM_RD ? SSL_read_ex(s->ssl, rp, len, &n) : SSL_write_ex(s->ssl, wp, len, &n);
        if (!r.ok)
            tls_classify(s, r.ok, &r);
        pthread_mutex_unlock(&s->ssl_lock);
        if (r.ok) {
            if (rp)
                rp += n;
            else
                wp += n;
            len -= n;
            continue;
        }
        kafka_err e = tls_wait_or_fail(s, side, &r, deadline_ms);
        if (e)
            return e;
    }
    return 0;
}

kafka_err kafka_tls_read_full(kafka_stream *s, void *buf, size_t len, int64_t deadline_ms)
{
    return tls_transfer_all(s, KAFKA_STREAM_RD, buf, NULL, len, deadline_ms);
}

static kafka_err tls_write_all(kafka_stream *s, const uint8_t *p, size_t len, int64_t deadline_ms)
{
    return tls_transfer_all(s, KAFKA_STREAM_WR, NULL, p, len, deadline_ms);
}

/* Small iovecs are gathered into one buffer so that a request does not
 * become a TLS record per field; large ones are written in place. */
kafka_err kafka_tls_writev_full(kafka_stream *s, const struct iovec *iov, int iovcnt, int64_t deadline_ms)
{
    uint8_t stage[KAFKA_TLS_STAGE];
    size_t used = 0;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t n = iov[i].iov_len;
        if (used + n > sizeof stage || n >= sizeof stage / 2) {
            kafka_err e = tls_write_all(s, stage, used, deadline_ms);
            used = 0;
            if (e)
                return e;
        }
        if (n >= sizeof stage / 2) {
            kafka_err e = tls_write_all(s, p, n, deadline_ms);
            if (e)
                return e;
            continue;
        }
        memcpy(stage + used, p, n);
        used += n;
    }
    return tls_write_all(s, stage, used, deadline_ms);
}

/* ---- handshake ---------------------------------------------------------- */

static kafka_err tls_handshake_fail(kafka_stream *s, const tls_result *r, char *errbuf, size_t errlen)
{
    long vr = SSL_get_verify_result(s->ssl);
    if (vr != X509_V_OK) {
        X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);
        const char *want = param ? X509_VERIFY_PARAM_get0_host(param, 0) : NULL;
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
            snprintf(errbuf, errlen, "TLS handshake with %s: certificate verify failed: %s (the certificate does not name \"%s\")",
                     s->peer, X509_verify_cert_error_string(vr), want ? want : "the dialed host");
        else
            snprintf(errbuf, errlen, "TLS handshake with %s: certificate verify failed: %s", s->peer,
                     X509_verify_cert_error_string(vr));
        return KAFKA_ERR_TLS;
    }
    if (r->ssl_err == SSL_ERROR_SYSCALL)
        snprintf(errbuf, errlen, "TLS handshake with %s: %s", s->peer,
                 r->sys_errno ? strerror(r->sys_errno) : "connection closed by peer");
    else
        snprintf(errbuf, errlen, "TLS handshake with %s failed: %s", s->peer, r->text[0] ? r->text : "unknown error");
    return KAFKA_ERR_TLS;
}

kafka_err kafka_tls_prepare(kafka_stream *s, const kafka_tls_config *cfg, const char *host, char *errbuf,
                            size_t errlen)
{
    pthread_once(&tls_bio_once, tls_bio_make_method);
    if (!tls_bio_method) {
        snprintf(errbuf, errlen, "TLS: cannot create the socket BIO method");
        return KAFKA_ERR_TLS;
    }
    if (pthread_mutex_init(&s->ssl_lock, NULL) != 0) {
        snprintf(errbuf, errlen, "TLS: cannot create a mutex");
        return KAFKA_ERR_TLS;
    }
    s->ssl_lock_init = true;
    ERR_clear_error();
    SSL_CTX *ctx = NULL;
    kafka_err err = tls_make_ctx(cfg, &ctx, errbuf, errlen);
    s->ssl_ctx = ctx;
    if (err)
        return err;
    s->ssl = SSL_new(ctx);
    BIO *bio = s->ssl ? BIO_new(tls_bio_method) : NULL;
    if (!bio)
        return tls_ctx_fail(errbuf, errlen, "cannot create the connection object", NULL);
    BIO_set_data(bio, s); /* the BIO reads s->fd at each call */
    BIO_set_init(bio, 1);
    SSL_set_bio(s->ssl, bio, bio); /* the SSL owns the BIO now */
    const char *name = cfg->server_name && cfg->server_name[0] ? cfg->server_name : host;
    return tls_set_peer_name(s->ssl, cfg, name, errbuf, errlen);
}

kafka_err kafka_tls_handshake_step(kafka_stream *s, short *events, char *errbuf, size_t errlen)
{
    *events = 0;
    tls_result r = {0};
    ERR_clear_error();
    errno = 0;
    int ret = SSL_connect(s->ssl);
    if (ret == 1) {
        s->kind = KAFKA_STREAM_TLS;
        return 0;
    }
    tls_classify(s, ret, &r);
    if (r.ssl_err == SSL_ERROR_WANT_READ || r.ssl_err == SSL_ERROR_WANT_WRITE) {
        *events = r.ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return 0;
    }
    return tls_handshake_fail(s, &r, errbuf, errlen);
}

void kafka_tls_free(kafka_stream *s)
{
    if (s->ssl) {
        /* Best-effort close_notify on the non-blocking socket; no wait. */
        if (s->kind == KAFKA_STREAM_TLS && !atomic_load(&s->interrupted))
            (void)SSL_shutdown(s->ssl);
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    SSL_CTX_free(s->ssl_ctx);
    s->ssl_ctx = NULL;
    ERR_clear_error();
    if (s->ssl_lock_init) {
        pthread_mutex_destroy(&s->ssl_lock);
        s->ssl_lock_init = false;
    }
}

/* ---- non-blocking attempts (the engine) --------------------------------- */

/* One SSL_read_ex / SSL_write_ex; "would block" is 0 bytes and no error. */
static kafka_err tls_try(kafka_stream *s, int side, void *rp, const void *wp, size_t len, size_t *moved)
{
    *moved = 0;
    if (atomic_load(&s->interrupted))
        return kafka_stream_fail(s, side, KAFKA_ERR_CLOSED, "%s %s: interrupted (stream closed)",
                                 side == KAFKA_STREAM_RD ? "read from" : "write to", s->peer);
    tls_result r = {0};
    pthread_mutex_lock(&s->ssl_lock);
    ERR_clear_error();
    errno = 0;
    r.ok = side == KAFKA_STREAM_RD ? SSL_read_ex(s->ssl, rp, len, moved) : SSL_write_ex(s->ssl, wp, len, moved);
    if (!r.ok)
        tls_classify(s, r.ok, &r);
    pthread_mutex_unlock(&s->ssl_lock);
    if (r.ok)
        return 0;
    *moved = 0;
    if (r.ssl_err == SSL_ERROR_WANT_READ || r.ssl_err == SSL_ERROR_WANT_WRITE)
        return 0;
    /* A deadline of 0 is never reached for the wait cases handled above,
     * so this only formats the failure. */
    return tls_wait_or_fail(s, side, &r, 0);
}

kafka_err kafka_tls_read_some(kafka_stream *s, void *buf, size_t len, size_t *got)
{
    return tls_try(s, KAFKA_STREAM_RD, buf, NULL, len, got);
}

kafka_err kafka_tls_write_some(kafka_stream *s, const void *buf, size_t len, size_t *put)
{
    return tls_try(s, KAFKA_STREAM_WR, NULL, buf, len, put);
}
