/*
 * libkafka — pluggable transport and resolver hook.
 *
 * By default libkafka talks to brokers over TCP sockets it opens itself.
 * An application may instead supply its own byte transport: a set of
 * dial/read/write/close callbacks (the C twin of kafka-go's Dialer.DialFunc
 * and of KafkaGoSaur's "dial backend"). Use it to run over an SSH tunnel, a
 * WebSocket, an in-process pipe, or to inject faults in tests. Set
 * kafka_dialer_config.transport to a kafka_transport you own.
 *
 * Ownership: libkafka never frees a kafka_transport or its privdata; both
 * must stay valid until every connection dialed through them is closed.
 * Each `conn` returned by dial() is owned by libkafka until it passes it to
 * close() (exactly once).
 *
 * Threading: for one conn, read() and write() may be called at the same time
 * from two different threads (one reader, one writer); interrupt() may be
 * called from any thread while read() or write() is blocked; close() is
 * never called concurrently with anything else on that conn. dial() may be
 * called from several threads at once for different connections.
 *
 * ABI: kafka_transport follows the policy in kafka/kafka.h. Callbacks
 * added later are appended and optional: a NULL (zero) callback always
 * means "not provided", with the documented fallback.
 *
 * TLS is not layered over a user transport by libkafka: a transport that
 * needs TLS must provide it itself (setting tls.enable together with a
 * transport fails the dial with KAFKA_ERR_INVALID_ARG).
 */
#ifndef KAFKA_TRANSPORT_H
#define KAFKA_TRANSPORT_H

#include <stddef.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return values of kafka_transport.read / .write besides a byte count. */
#define KAFKA_TRANSPORT_CLOSED 0    /* read only: the peer closed the stream */
#define KAFKA_TRANSPORT_ERROR (-1)  /* the stream failed */
#define KAFKA_TRANSPORT_TIMEOUT (-2) /* nothing moved within timeout_ms */

typedef struct kafka_transport {
    /* Passed unchanged as the first argument of every callback. */
    void *privdata;

    /* Opens a connection to host:port (already mapped by the resolver
     * hook, if any) within timeout_ms (-1 = no limit). On success stores an
     * opaque connection handle in *conn_out and returns 0; on failure
     * returns non-zero and writes a NUL-terminated reason into errbuf
     * (errlen bytes, may be 0). Required.
     * A writer or reader calls it on its I/O thread, which serves every
     * broker: a dial that blocks (for up to timeout_ms) holds the other
     * brokers' traffic that long; a transport that can connect in the
     * background should return at once and let read/write wait. */
    int (*dial)(void *privdata, const char *host, int port, int timeout_ms, void **conn_out, char *errbuf,
                size_t errlen);

    /* Reads up to len bytes (len > 0) into buf, waiting at most timeout_ms
     * (-1 = no limit; 0 = do not wait). Returns the number of bytes read
     * (> 0), KAFKA_TRANSPORT_CLOSED (0) when the peer closed,
     * KAFKA_TRANSPORT_ERROR (-1) on failure or KAFKA_TRANSPORT_TIMEOUT (-2).
     * Required. A writer or reader's I/O thread calls read and write with
     * timeout_ms 0 and polls again a few milliseconds later. */
    long (*read)(void *privdata, void *conn, void *buf, size_t len, int timeout_ms);

    /* Writes up to len bytes (len > 0) from buf, waiting at most timeout_ms.
     * Returns the number of bytes written (> 0; short writes are fine:
     * libkafka calls again with the rest), KAFKA_TRANSPORT_ERROR or
     * KAFKA_TRANSPORT_TIMEOUT. Required. */
    long (*write)(void *privdata, void *conn, const void *buf, size_t len, int timeout_ms);

    /* Closes the connection and frees what dial() allocated. Required. */
    void (*close)(void *privdata, void *conn);

    /* Optional (may be NULL): makes a blocked read() or write() on conn
     * return promptly (any return value). Called from another thread when
     * the connection is being shut down. Without it libkafka waits in
     * slices of at most 200 ms so that a shutdown is still noticed. */
    void (*interrupt)(void *privdata, void *conn);
} kafka_transport;

/* Resolver hook: maps a broker address (as configured or as advertised by
 * the cluster's metadata) to the address actually dialed — for proxies,
 * tunnels, port-forwards and tests. Writes a NUL-terminated host into
 * host_out (host_out_len bytes) and the port into *port_out; returns 0 on
 * success, non-zero to fail the dial with KAFKA_ERR_RESOLVE. Called on the
 * dialing thread before every connection attempt; it may block, and the
 * time it takes counts against the dial's timeout (libkafka cannot cut it
 * short). TLS still verifies the certificate against the original
 * (unmapped) host name unless tls.server_name says otherwise. */
typedef int (*kafka_resolver_fn)(void *privdata, const char *host, int port, char *host_out, size_t host_out_len,
                                 int *port_out);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_TRANSPORT_H */
