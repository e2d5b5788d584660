/* Dialing: the non-blocking state machine (kafka_dialing_*: resolver
 * hook, then a user transport or TCP connect to each address in turn, then
 * TLS) and kafka_stream_dial, its blocking driver. SASL runs later over
 * the stream (it needs Kafka framing: src/engine/handshake.h).
 *
 * Not bounded by the deadline: name resolution (getaddrinfo blocks for as
 * long as the system resolver takes), the resolver hook and a user
 * transport's dial. A dial cannot be interrupted from another thread; it
 * ends at its deadline. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "net/stream_impl.h"

#define KAFKA_DEFAULT_CONNECT_TIMEOUT_MS 10000
/* Go's dialSerial rule: each remaining address gets an equal share of the
 * time left, but at least this much (or all that is left). */
#define KAFKA_CONNECT_MIN_SHARE_MS 2000

typedef enum { DIALING_CONNECT, DIALING_TLS, DIALING_DONE } dialing_stage;

struct kafka_dialing {
    kafka_stream *s;
    kafka_dialer_config cfg; /* shallow copy: only scalars are used after start */
    dialing_stage stage;
    struct addrinfo *res, *ai; /* the address being tried */
    size_t n_addrs, i_addr;
    int64_t deadline;     /* the whole dial */
    int64_t try_deadline; /* this address */
    short events;
    char addr[300]; /* "[v6]:port" being tried (host:port before the first) */
    kafka_err first;                  /* the first failure, as Go reports */
    char first_msg[400];
};

static int64_t dial_deadline(const kafka_dialer_config *cfg, int64_t deadline_ms)
{
    int ct = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : KAFKA_DEFAULT_CONNECT_TIMEOUT_MS;
    int64_t own = kafka_now_ms() + ct;
    return (deadline_ms >= 0 && deadline_ms < own) ? deadline_ms : own;
}

static void sock_addr_str(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN], serv[8];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, outlen, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(out, outlen, "[%s]:%s", host, serv);
    else
        snprintf(out, outlen, "%s:%s", host, serv);
}

/* The deadline of the attempt on the current address (Go's partialDeadline). */
static int64_t share_deadline(const kafka_dialing *d, int64_t now)
{
    size_t remaining = d->n_addrs - d->i_addr;
    if (remaining <= 1)
        return d->deadline;
    int64_t left = d->deadline - now;
    int64_t share = left / (int64_t)remaining;
    if (share < KAFKA_CONNECT_MIN_SHARE_MS)
        share = left < KAFKA_CONNECT_MIN_SHARE_MS ? left : KAFKA_CONNECT_MIN_SHARE_MS;
    return now + share;
}

/* Keeps the first failure ("<op> <address>: <what>"), as Go reports. */
static void note_failure(kafka_dialing *d, kafka_err err, const char *op, const char *what)
{
    if (d->first)
        return;
    d->first = err;
    snprintf(d->first_msg, sizeof d->first_msg, "%s %s: %s", op, d->addr, what);
}

static void close_attempt(kafka_dialing *d)
{
    if (d->s->fd >= 0)
        close(d->s->fd);
    d->s->fd = -1;
}

/* The socket is connected: options, the interrupt eventfd, then TLS. */
static kafka_err connected(kafka_dialing *d, char *errbuf, size_t errlen)
{
    freeaddrinfo(d->res);
    d->res = d->ai = NULL;
    kafka_sock_tune(d->s->fd, &d->cfg);
    kafka_err err = kafka_sock_init_wake(d->s);
    if (err) {
        snprintf(errbuf, errlen, "%s", kafka_stream_last_error(d->s));
        return err;
    }
    d->stage = d->cfg.tls.enable ? DIALING_TLS : DIALING_DONE;
    return 0;
}

/* Starts connect() on the addresses from d->ai on until one is in
 * progress or connected; an error when none is left. */
static kafka_err try_next(kafka_dialing *d, int64_t now, char *errbuf, size_t errlen)
{
    for (; d->ai; d->ai = d->ai->ai_next, d->i_addr++) {
        const struct addrinfo *ai = d->ai;
        if (now >= d->deadline) {
            note_failure(d, KAFKA_ERR_TIMEOUT, "connect", "timed out");
            break;
        }
        sock_addr_str(ai->ai_addr, ai->ai_addrlen, d->addr, sizeof d->addr);
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            note_failure(d, KAFKA_ERR_TRANSPORT, "socket for", strerror(errno));
            continue;
        }
        int r;
        do
            r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        while (r < 0 && errno == EINTR);
        d->s->fd = fd;
        if (r == 0) {
            d->ai = NULL;
            return connected(d, errbuf, errlen);
        }
        if (errno == EINPROGRESS) {
            d->try_deadline = share_deadline(d, now);
            d->events = POLLOUT;
            return 0;
        }
        note_failure(d, KAFKA_ERR_TRANSPORT, "connect", strerror(errno));
        close_attempt(d);
    }
    snprintf(errbuf, errlen, "%s", d->first ? d->first_msg : "connect: no address");
    return d->first ? d->first : KAFKA_ERR_TRANSPORT;
}

/* The connect in progress: done, failed (next address) or still pending. */
static kafka_err step_connect(kafka_dialing *d, int64_t now, char *errbuf, size_t errlen)
{
    struct pollfd p = {.fd = d->s->fd, .events = POLLOUT};
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        if (now < d->try_deadline)
            return 0;
        note_failure(d, KAFKA_ERR_TIMEOUT, "connect", "timed out");
    } else {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (n < 0 || getsockopt(d->s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr == 0)
            return connected(d, errbuf, errlen);
        note_failure(d, KAFKA_ERR_TRANSPORT, "connect", strerror(soerr));
    }
    close_attempt(d);
    d->ai = d->ai->ai_next;
    d->i_addr++;
    return try_next(d, now, errbuf, errlen);
}

kafka_err kafka_dialing_step(kafka_dialing *d, int64_t now, bool *done, char *errbuf, size_t errbuf_len)
{
    *done = false;
    kafka_err err = 0;
    if (d->stage == DIALING_CONNECT)
        err = step_connect(d, now, errbuf, errbuf_len);
    if (!err && d->stage == DIALING_TLS) {
        err = kafka_tls_handshake_step(d->s, &d->events, errbuf, errbuf_len);
        if (!err && d->events == 0)
            d->stage = DIALING_DONE;
        else if (!err && now >= d->deadline) {
            snprintf(errbuf, errbuf_len, "TLS handshake with %s: timed out", d->s->peer);
            err = KAFKA_ERR_TIMEOUT;
        }
    }
    *done = !err && d->stage == DIALING_DONE;
    return err;
}

/* Resolves and starts the first connect. */
static kafka_err start_socket(kafka_dialing *d, const char *orig_host, const char *host, int port, char *errbuf,
                              size_t errlen)
{
    const kafka_dialer_config *cfg = &d->cfg;
    kafka_err err = cfg->tls.enable ? kafka_tls_prepare(d->s, &cfg->tls, orig_host, errbuf, errlen) : 0;
    if (err)
        return err;
    if (cfg->family != AF_UNSPEC && cfg->family != AF_INET && cfg->family != AF_INET6) {
        snprintf(errbuf, errlen, "unsupported address family %d", cfg->family);
        return KAFKA_ERR_INVALID_ARG;
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = cfg->family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    /* getaddrinfo blocks without a deadline of its own (see above). */
    int gai = getaddrinfo(host, portstr, &hints, &d->res);
    if (gai != 0) {
        d->res = NULL;
        snprintf(errbuf, errlen, "resolve %s: %s", host, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return KAFKA_ERR_RESOLVE;
    }
    for (const struct addrinfo *ai = d->res; ai; ai = ai->ai_next)
        d->n_addrs++;
    d->ai = d->res;
    snprintf(d->addr, sizeof d->addr, "%s:%d", host, port);
    return try_next(d, kafka_now_ms(), errbuf, errlen);
}

kafka_err kafka_dialing_start(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                              kafka_dialing **out, char *errbuf, size_t errbuf_len)
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
    kafka_dialing *d = kafka_calloc(1, sizeof *d);
    kafka_stream *s = d ? kafka_stream_alloc(cfg->transport ? KAFKA_STREAM_USER : KAFKA_STREAM_SOCKET, host, port)
                        : NULL;
    if (!s) {
        kafka_free(d);
        snprintf(errbuf, errbuf_len, "dial %s:%d: out of memory", host, port);
        return KAFKA_ERR_NOMEM;
    }
    d->s = s;
    d->cfg = *cfg;
    d->deadline = dial_deadline(cfg, deadline_ms);
    kafka_err err;
    if (cfg->transport) {
        err = kafka_user_dial(s, cfg->transport, dial_host, dial_port, d->deadline, errbuf, errbuf_len);
        d->stage = DIALING_DONE;
    } else {
        err = start_socket(d, host, dial_host, dial_port, errbuf, errbuf_len);
    }
    if (err) {
        kafka_dialing_free(d);
        return err;
    }
    *out = d;
    return 0;
}

int kafka_dialing_fd(const kafka_dialing *d) { return d->stage == DIALING_DONE ? -1 : d->s->fd; }

short kafka_dialing_events(const kafka_dialing *d) { return d->stage == DIALING_DONE ? 0 : d->events; }

int64_t kafka_dialing_deadline(const kafka_dialing *d)
{
    return d->stage == DIALING_CONNECT ? d->try_deadline : d->deadline;
}

kafka_stream *kafka_dialing_take(kafka_dialing *d)
{
    kafka_stream *s = d->s;
    d->s = NULL;
    return s;
}

void kafka_dialing_free(kafka_dialing *d)
{
    if (!d)
        return;
    if (d->res)
        freeaddrinfo(d->res);
    kafka_stream_close(d->s); /* closes the socket of an attempt too */
    kafka_free(d);
}

/* ---- the blocking driver ---------------------------------------------------- */

kafka_err kafka_stream_dial(const struct kafka_dialer_config *cfg, const char *host, int port, int64_t deadline_ms,
                            kafka_stream **out, char *errbuf, size_t errbuf_len)
{
    char scratch[8];
    if (!errbuf) {
        errbuf = scratch;
        errbuf_len = sizeof scratch;
    }
    kafka_dialing *d;
    kafka_err err = kafka_dialing_start(cfg, host, port, deadline_ms, &d, errbuf, errbuf_len);
    if (err)
        return err;
    bool done = false;
    while (!(err = kafka_dialing_step(d, kafka_now_ms(), &done, errbuf, errbuf_len)) && !done) {
        struct pollfd p = {.fd = kafka_dialing_fd(d), .events = kafka_dialing_events(d)};
        int t = kafka_deadline_timeout(kafka_dialing_deadline(d));
        if (poll(&p, 1, t) < 0 && errno != EINTR) {
            snprintf(errbuf, errbuf_len, "dial %s:%d: poll: %s", host, port, strerror(errno));
            err = KAFKA_ERR_TRANSPORT;
            break;
        }
    }
    if (!err)
        *out = kafka_dialing_take(d);
    kafka_dialing_free(d);
    return err;
}
