/* kafka_stream_dial: resolver hook, then a user transport or a TCP socket
 * (+ TLS). SASL runs later in the conn layer (it needs Kafka framing).
 *
 * Not bounded by the deadline: name resolution (getaddrinfo blocks for as
 * long as the system resolver takes) and the resolver hook. A dial cannot
 * be interrupted from another thread; it ends at its deadline. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/stream_impl.h"

#define KAFKA_DEFAULT_CONNECT_TIMEOUT_MS 10000

static int64_t dial_deadline(const kafka_dialer_config *cfg, int64_t deadline_ms)
{
    int ct = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : KAFKA_DEFAULT_CONNECT_TIMEOUT_MS;
    int64_t own = kafka_now_ms() + ct;
    return (deadline_ms >= 0 && deadline_ms < own) ? deadline_ms : own;
}

static kafka_err dial_socket(kafka_stream *s, const kafka_dialer_config *cfg, const char *orig_host,
                             const char *host, int port, int64_t deadline, char *errbuf, size_t errlen)
{
    kafka_err err = cfg->tls.enable ? kafka_tls_prepare(s, &cfg->tls, orig_host, errbuf, errlen) : 0;
    if (err)
        return err;
    if ((err = kafka_sock_connect(host, port, cfg->family, deadline, &s->fd, errbuf, errlen)) != 0)
        return err;
    kafka_sock_tune(s->fd, cfg);
    if ((err = kafka_sock_init_wake(s)) != 0) {
        snprintf(errbuf, errlen, "%s", kafka_stream_last_error(s));
        return err;
    }
    if (cfg->tls.enable)
        err = kafka_tls_handshake(s, deadline, errbuf, errlen);
    return err;
}

kafka_err kafka_stream_dial(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                            kafka_stream **out, char *errbuf, size_t errbuf_len)
{
    static const kafka_dialer_config defaults;
    char scratch[8];
    if (!errbuf) {
        errbuf = scratch;
        errbuf_len = sizeof scratch;
    }
    if (errbuf_len)
        errbuf[0] = '\0';
    if (!out || !host || !host[0] || port <= 0 || port > 65535) {
        snprintf(errbuf, errbuf_len, "dial: invalid address %s:%d", host ? host : "(null)", port);
        return KAFKA_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    if (cfg->tls.enable && cfg->transport) {
        snprintf(errbuf, errbuf_len, "dial: TLS over a user transport is not supported; do TLS in the transport");
        return KAFKA_ERR_INVALID_ARG;
    }
    int64_t deadline = dial_deadline(cfg, deadline_ms);

    /* The resolver hook maps the advertised address to the one dialed. */
    char mapped[256];
    const char *dial_host = host;
    int dial_port = port;
    if (cfg->resolver) {
        mapped[0] = '\0';
        int mport = port;
        if (cfg->resolver(cfg->resolver_privdata, host, port, mapped, sizeof mapped, &mport) != 0 ||
            !memchr(mapped, '\0', sizeof mapped) || !mapped[0] || mport <= 0 || mport > 65535) {
            snprintf(errbuf, errbuf_len, "resolve %s:%d: resolver hook failed", host, port);
            return KAFKA_ERR_RESOLVE;
        }
        dial_host = mapped;
        dial_port = mport;
    }

    kafka_stream *s = kafka_stream_alloc(cfg->transport ? KAFKA_STREAM_USER : KAFKA_STREAM_SOCKET, host, port);
    if (!s) {
        snprintf(errbuf, errbuf_len, "dial %s:%d: out of memory", host, port);
        return KAFKA_ERR_NOMEM;
    }
    kafka_err err = cfg->transport
                        ? kafka_user_dial(s, cfg->transport, dial_host, dial_port, deadline, errbuf, errbuf_len)
                        : dial_socket(s, cfg, host, dial_host, dial_port, deadline, errbuf, errbuf_len);
    if (err) {
        kafka_stream_close(s);
        return err;
    }
    *out = s;
    return 0;
}
