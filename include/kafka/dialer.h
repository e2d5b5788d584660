/*
 * libkafka — dialer configuration: how connections to brokers are opened.
 *
 * A kafka_dialer_config is a plain struct whose zero value means "all
 * defaults" (plain TCP, no TLS, no SASL, client id "libkafka", 10 s connect
 * timeout, TCP_NODELAY and keepalive on). Fill it with designated
 * initializers:
 *
 * @code
 *     kafka_dialer_config d = {
 *         .client_id = "billing",
 *         .tls = { .enable = true, .ca_file = "/etc/kafka/ca.pem" },
 *         .sasl = { .mechanism = KAFKA_SASL_SCRAM_SHA_512,
 *                   .username = "alice", .password = "secret" },
 *     };
 * @endcode
 *
 * ABI growth (the policy in kafka/kafka.h): new fields are only ever
 * appended at the end of these structs and their zero value always keeps
 * the previous behaviour, so code that zero-initialises the struct keeps
 * compiling and behaving the same against a newer header.
 *
 * Ownership: nothing here is ever freed by libkafka. kafka_dial* read the
 * config and the strings it points to during the call only.
 * kafka_writer_new and kafka_reader_new deep-copy it (strings included),
 * except the pointers to user code and user data: `transport`, the
 * callbacks and every privdata are kept as given and must stay valid until
 * the object that uses them is closed.
 *
 * Thread safety: a config is a plain value that libkafka only reads, so one
 * config may be passed to several calls on several threads at once. The
 * callbacks it names (transport, resolver, OAUTHBEARER token) may be called
 * concurrently from several libkafka threads and must be thread-safe.
 */
#ifndef KAFKA_DIALER_H
#define KAFKA_DIALER_H

#include <stdbool.h>
#include <stddef.h>

#include "export.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TLS settings (OpenSSL). TLS 1.2 is the minimum version offered. */
typedef struct kafka_tls_config {
    /* Turns TLS on. Every other field is ignored when false. */
    bool enable;
    /* PEM file of trusted CA certificates and/or a directory of hashed CA
     * certificates (c_rehash). When both are NULL the system trust store
     * (OpenSSL's default verify paths) is used. */
    const char *ca_file;
    const char *ca_dir;
    /* Client certificate (PEM, may hold the chain) and private key (PEM)
     * for mutual TLS. key_file defaults to cert_file. key_password
     * decrypts an encrypted key (NULL = key is not encrypted). */
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    /* Skips BOTH the certificate chain check and the host name check. For
     * tests only: it makes TLS open to man-in-the-middle attacks. Default
     * false: the peer's chain and its name are verified. */
    bool insecure_skip_verify;
    /* Name sent as SNI and checked against the certificate (DNS name or IP
     * address). Default: the host being dialed, before any resolver-hook
     * mapping. SNI is not sent for IP addresses. */
    const char *server_name;
} kafka_tls_config;

typedef enum kafka_sasl_mechanism_id {
    KAFKA_SASL_NONE = 0,
    KAFKA_SASL_PLAIN,
    KAFKA_SASL_SCRAM_SHA_256,
    KAFKA_SASL_SCRAM_SHA_512,
    KAFKA_SASL_OAUTHBEARER
} kafka_sasl_mechanism_id;

/* OAUTHBEARER token callback: writes a NUL-terminated bearer token (e.g. a
 * JWT) into token_buf (buf_len bytes) and returns 0, or returns non-zero
 * and writes a NUL-terminated reason into errbuf (errlen bytes). Called on
 * the thread that is opening a connection, once per connection; it may
 * block (e.g. to fetch or refresh a token). */
typedef int (*kafka_oauth_token_fn)(void *privdata, char *token_buf, size_t buf_len, char *errbuf,
                                    size_t errlen);

/* SASL authentication, run right after connecting (and after TLS). */
typedef struct kafka_sasl_config {
    kafka_sasl_mechanism_id mechanism; /* default KAFKA_SASL_NONE */
    /* PLAIN and SCRAM. Sent as given: SASLprep (RFC 4013) normalisation is
     * not applied, as in the Java client. */
    const char *username;
    const char *password;
    /* OAUTHBEARER: required token source. */
    kafka_oauth_token_fn oauth_token_cb;
    void *oauth_privdata;
} kafka_sasl_config;

typedef struct kafka_dialer_config {
    /* Client id sent in every request header. Default "libkafka". */
    const char *client_id;
    /* Upper bound for connecting, including the TLS handshake (ms).
     * Default 10000. A shorter deadline passed to the dialing call wins. */
    int connect_timeout_ms;
    /* TCP keepalive is on by default; keepalive_idle_s sets the idle time
     * before the first probe (default 60 s). */
    bool disable_keepalive;
    int keepalive_idle_s;
    /* TCP_NODELAY is on by default (requests are written in one go). */
    bool disable_nodelay;
    /* Address family: 0 (AF_UNSPEC, the default) tries IPv6 and IPv4
     * addresses in resolver order; AF_INET or AF_INET6 restricts to one. */
    int family;
    kafka_tls_config tls;
    kafka_sasl_config sasl;
    /* NULL = TCP sockets; otherwise a user transport that stays valid as
     * long as any connection uses it (see transport.h). */
    const kafka_transport *transport;
    /* Optional broker address mapping applied before every dial. */
    kafka_resolver_fn resolver;
    void *resolver_privdata;
} kafka_dialer_config;

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_DIALER_H */
