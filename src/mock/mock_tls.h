/*
 * TLS on the mock's listeners (OpenSSL, non-blocking): a server context
 * from a PEM certificate (chain) and key, and per-connection read/write
 * that report when the handshake or a renegotiation needs the other
 * direction. TLS 1.2 is the minimum version. Used only by the serving
 * thread.
 */
#ifndef KAFKA_MOCK_TLS_H
#define KAFKA_MOCK_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kafka/error.h"

typedef struct kmock_tls kmock_tls;

/* KAFKA_ERR_TLS when the files cannot be loaded or do not match. */
kafka_err kmock_tls_new(kmock_tls **t, const char *cert_file, const char *key_file);
void kmock_tls_free(kmock_tls *t);

/* A server-side TLS session on an accepted socket (NULL: out of memory). */
void *kmock_tls_session(kmock_tls *t, int fd);
void kmock_tls_session_free(void *session);

/* Read/write: > 0 bytes moved, 0 the peer closed or TLS failed (close the
 * connection), -1 would block; *want_write / *want_read say the session
 * waits for the socket to become writable / readable to go on. */
ssize_t kmock_tls_read(void *session, void *buf, size_t len, bool *want_write);
ssize_t kmock_tls_write(void *session, const void *buf, size_t len, bool *want_read);

#endif
