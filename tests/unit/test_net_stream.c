/* Socket streams and user transports against real loopback sockets served
 * by a thread in this process (no network beyond 127.0.0.1 / ::1). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
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

#include "kafka/dialer.h"
#include "net/stream.h"

/* ---- a one-connection loopback server ----------------------------------- */

typedef enum { SRV_ECHO, SRV_SILENT, SRV_CLOSE } srv_mode;

typedef struct server {
    int lfd;
    int port;
    srv_mode mode;
    pthread_t th;
} server;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *server_main(void *arg)
{
    server *sv = arg;
    int c = accept(sv->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[65536];
    if (sv->mode == SRV_ECHO) {
        for (;;) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0)
                break;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w <= 0)
                    goto done;
                off += w;
            }
        }
    } else if (sv->mode == SRV_SILENT) {
        while (read(c, buf, sizeof buf) > 0) /* until the client goes away */
            ;
    }
done:
    close(c);
    return NULL;
}

/* Starts a server on addr ("127.0.0.1" or "::1"); false if the address
 * family is unavailable here. */
static bool server_start(server *sv, const char *addr, srv_mode mode)
{
    memset(sv, 0, sizeof *sv);
    sv->mode = mode;
    bool v6 = strchr(addr, ':') != NULL;
    sv->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sv->lfd < 0)
        return false;
    int on = 1;
    setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        sl = sizeof *a;
    }
    if (bind(sv->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(sv->lfd, 4) != 0) {
        close(sv->lfd);
        return false;
    }
    sl = sizeof ss;
    getsockname(sv->lfd, (struct sockaddr *)&ss, &sl);
    sv->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
    return true;
}

static void server_stop(server *sv)
{
    pthread_join(sv->th, NULL);
    close(sv->lfd);
}

static int64_t in_ms(int ms)
{
    return kafka_now_ms() + ms;
}

static kafka_stream *dial_ok(const kafka_dialer_config *cfg, const char *host, int port)
{
    kafka_stream *s = NULL;
    char err[256] = "";
    kafka_err e = kafka_stream_dial(cfg, host, port, in_ms(5000), &s, err, sizeof err);
    if (e)
        fail_msg("dial %s:%d: %d %s", host, port, e, err);
    assert_non_null(s);
    return s;
}

/* Writes a message in three iovecs and reads it back from the echo. */
static void echo_roundtrip(kafka_stream *s)
{
    struct iovec iov[3] = {{(void *)(uintptr_t) "hello", 5}, {(void *)(uintptr_t) ", ", 2}, {(void *)(uintptr_t) "kafka", 5}};
    assert_int_equal(kafka_stream_writev_full(s, iov, 3, in_ms(5000)), 0);
    char buf[12];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(5000)), 0);
    assert_memory_equal(buf, "hello, kafka", 12);
}

/* ---- tests -------------------------------------------------------------- */

static void test_ipv4_echo(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_ECHO));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    char expect[32];
    snprintf(expect, sizeof expect, "127.0.0.1:%d", sv.port);
    assert_string_equal(kafka_stream_peer(s), expect);
    echo_roundtrip(s);
    kafka_stream_close(s);
    server_stop(&sv);
}

static void test_ipv6_echo(void **state)
{
    (void)state;
    server sv;
    if (!server_start(&sv, "::1", SRV_ECHO)) {
        skip(); /* no IPv6 loopback on this machine */
        return;
    }
    kafka_dialer_config cfg = {.family = AF_INET6};
    kafka_stream *s = dial_ok(&cfg, "::1", sv.port);
    char expect[32];
    snprintf(expect, sizeof expect, "[::1]:%d", sv.port);
    assert_string_equal(kafka_stream_peer(s), expect);
    echo_roundtrip(s);
    kafka_stream_close(s);
    server_stop(&sv);
}

static void test_localhost_name(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_ECHO));
    /* "localhost" may resolve to ::1 first, which refuses: the dialer must
     * move on to 127.0.0.1. */
    kafka_stream *s = dial_ok(&(kafka_dialer_config){.disable_nodelay = true, .keepalive_idle_s = 5}, "localhost",
                              sv.port);
    echo_roundtrip(s);
    kafka_stream_close(s);
    server_stop(&sv);
}

/* Many iovecs (more than IOV_MAX) and a few MB: every byte comes back in
 * order. */
static void test_large_writev(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_ECHO));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    enum { N = 3000, PIECE = 700 };
    static uint8_t data[N * PIECE], back[N * PIECE];
    static struct iovec iov[N];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 8));
    for (int i = 0; i < N; i++)
        iov[i] = (struct iovec){data + (size_t)i * PIECE, PIECE};
    /* 2 MB exceed the socket buffers, and the echo server blocks when we
     * do not read: interleave writes of 100 iovecs with reads. */
    int chunk = 100;
    size_t got = 0;
    for (int i = 0; i < N; i += chunk) {
        assert_int_equal(kafka_stream_writev_full(s, iov + i, chunk, in_ms(10000)), 0);
        assert_int_equal(kafka_stream_read_full(s, back + got, (size_t)chunk * PIECE, in_ms(10000)), 0);
        got += (size_t)chunk * PIECE;
    }
    assert_memory_equal(back, data, sizeof data);
    kafka_stream_close(s);
    server_stop(&sv);
}

typedef struct reader_arg {
    kafka_stream *s;
    uint8_t *buf;
    size_t len;
    kafka_err err;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    a->err = kafka_stream_read_full(a->s, a->buf, a->len, in_ms(20000));
    return NULL;
}

static void test_writev_above_iov_max(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_ECHO));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    enum { N = 2500, PIECE = 300 };
    static uint8_t data[N * PIECE], back[N * PIECE];
    static struct iovec iov[N];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < N; i++)
        iov[i] = (struct iovec){data + (size_t)i * PIECE, PIECE};
    iov[5].iov_len = 0; /* empty iovecs are allowed */
    size_t total = sizeof data - PIECE;
    reader_arg ra = {.s = s, .buf = back, .len = total};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &ra), 0);
    assert_int_equal(kafka_stream_writev_full(s, iov, N, in_ms(20000)), 0);
    pthread_join(th, NULL);
    assert_int_equal(ra.err, 0);
    assert_memory_equal(back, data, 5 * PIECE);
    assert_memory_equal(back + 5 * PIECE, data + 6 * PIECE, total - 5 * PIECE);
    kafka_stream_close(s);
    server_stop(&sv);
}

static void test_read_deadline(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_SILENT));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    char buf[4];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(100)), KAFKA_ERR_TIMEOUT);
    assert_non_null(strstr(kafka_stream_last_error(s), "deadline"));
    /* A deadline already in the past fails at once too. */
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, kafka_now_ms() - 1), KAFKA_ERR_TIMEOUT);
    kafka_stream_close(s);
    server_stop(&sv);
}

typedef struct interrupter {
    kafka_stream *s;
    int delay_ms;
} interrupter;

static void *interrupter_main(void *p)
{
    interrupter *it = p;
    sleep_ms(it->delay_ms);
    kafka_stream_interrupt(it->s);
    return NULL;
}

static void test_interrupt_wakes_read(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_SILENT));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    interrupter it = {s, 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter_main, &it), 0);
    char buf[4];
    /* A deadline far away: only the interrupt can end this read. */
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(60000)), KAFKA_ERR_CLOSED);
    pthread_join(th, NULL);
    /* Later calls fail at once. */
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, -1), KAFKA_ERR_CLOSED);
    struct iovec iov = {buf, 1};
    assert_int_equal(kafka_stream_writev_full(s, &iov, 1, -1), KAFKA_ERR_CLOSED);
    kafka_stream_close(s);
    server_stop(&sv);
}

static void test_peer_closes(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_CLOSE));
    kafka_stream *s = dial_ok(NULL, "127.0.0.1", sv.port);
    char buf[4];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(5000)), KAFKA_ERR_TRANSPORT);
    assert_non_null(strstr(kafka_stream_last_error(s), "closed by peer"));
    /* Writing to a reset connection fails with an error, not SIGPIPE. */
    static char big[1 << 16];
    struct iovec iov = {big, sizeof big};
    kafka_err e = 0;
    for (int i = 0; i < 50 && !e; i++)
        e = kafka_stream_writev_full(s, &iov, 1, in_ms(5000));
    assert_int_equal(e, KAFKA_ERR_TRANSPORT);
    kafka_stream_close(s);
    server_stop(&sv);
}

/* A port that nobody listens on: bind without listen keeps it reserved so
 * no other test process can take it meanwhile. */
static void test_connect_refused(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t sl = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &sl);
    int port = ntohs(a.sin_port);
    kafka_stream *s = NULL;
    char err[256];
    assert_int_equal(kafka_stream_dial(NULL, "127.0.0.1", port, in_ms(5000), &s, err, sizeof err),
                     KAFKA_ERR_TRANSPORT);
    assert_null(s);
    char expect[64];
    snprintf(expect, sizeof expect, "connect 127.0.0.1:%d: Connection refused", port);
    assert_string_equal(err, expect);
    close(fd);
}

static void test_bad_args(void **state)
{
    (void)state;
    kafka_stream *s = NULL;
    char err[256];
    assert_int_equal(kafka_stream_dial(NULL, "127.0.0.1", 0, -1, &s, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_stream_dial(NULL, "127.0.0.1", 70000, -1, &s, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_stream_dial(NULL, "", 9092, -1, &s, err, sizeof err), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_stream_dial(NULL, NULL, 9092, -1, &s, NULL, 0), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_stream_dial(&(kafka_dialer_config){.family = 12345}, "127.0.0.1", 9092, -1, &s, err,
                                       sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    kafka_stream_close(NULL);
}

/* Connect timeout: a listener with a full accept queue stops answering
 * SYNs on Linux, so a further connect hangs until the deadline. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t sl = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &sl);
    /* Fill the queue with non-blocking connects that are never accepted. */
    int fill[8];
    int nfill = 0;
    bool full = false;
    for (; nfill < 8 && !full; nfill++) {
        fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int r = connect(fill[nfill], (struct sockaddr *)&a, sizeof a);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fill[nfill], POLLOUT, 0};
            full = poll(&p, 1, 500) == 0; /* this one did not complete */
        }
    }
    if (!full) {
        for (int i = 0; i < nfill; i++)
            close(fill[i]);
        close(lfd);
        skip(); /* this kernel accepts beyond the backlog */
        return;
    }
    kafka_stream *s = NULL;
    char err[256];
    kafka_err e = kafka_stream_dial(&(kafka_dialer_config){.connect_timeout_ms = 300}, "127.0.0.1",
                                    ntohs(a.sin_port), -1, &s, err, sizeof err);
    assert_int_equal(e, KAFKA_ERR_TIMEOUT);
    assert_non_null(strstr(err, "timed out"));
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(lfd);
}

/* ---- resolver hook and user transport ----------------------------------- */

typedef struct resolver_ctx {
    int port;
    int calls;
} resolver_ctx;

static int fake_resolver(void *priv, const char *host, int port, char *host_out, size_t host_out_len, int *port_out)
{
    resolver_ctx *rc = priv;
    rc->calls++;
    if (strcmp(host, "broker-1.fake") != 0 || port != 9092)
        return -1;
    snprintf(host_out, host_out_len, "127.0.0.1");
    *port_out = rc->port;
    return 0;
}

static void test_resolver_hook(void **state)
{
    (void)state;
    server sv;
    assert_true(server_start(&sv, "127.0.0.1", SRV_ECHO));
    resolver_ctx rc = {.port = sv.port};
    kafka_dialer_config cfg = {.resolver = fake_resolver, .resolver_privdata = &rc};
    kafka_stream *s = dial_ok(&cfg, "broker-1.fake", 9092);
    assert_int_equal(rc.calls, 1);
    assert_string_equal(kafka_stream_peer(s), "broker-1.fake:9092");
    echo_roundtrip(s);
    kafka_stream_close(s);
    server_stop(&sv);
    char err[256];
    assert_int_equal(kafka_stream_dial(&cfg, "unknown.fake", 9092, in_ms(1000), &s, err, sizeof err),
                     KAFKA_ERR_RESOLVE);
}

/* A user transport over a socketpair; the far end is an echo thread. */
typedef struct pair_transport {
    int dials;
    int closes;
    int interrupts;
    char last_host[64];
    int last_port;
    pthread_t echo;
    int far;
} pair_transport;

typedef struct pair_conn {
    int fd;
    int wake[2];
} pair_conn;

static void *pair_echo(void *p)
{
    pair_transport *pt = p;
    char buf[4096];
    for (;;) {
        ssize_t n = read(pt->far, buf, sizeof buf);
        if (n <= 0)
            break;
        if (send(pt->far, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(pt->far);
    return NULL;
}

static int pt_dial(void *priv, const char *host, int port, int timeout_ms, void **conn_out, char *errbuf, size_t errlen)
{
    pair_transport *pt = priv;
    (void)timeout_ms;
    snprintf(pt->last_host, sizeof pt->last_host, "%s", host);
    pt->last_port = port;
    if (port == 1) {
        snprintf(errbuf, errlen, "tunnel refused");
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pair_conn *c = calloc(1, sizeof *c);
    c->fd = sv[0];
    pipe(c->wake);
    pt->far = sv[1];
    pthread_create(&pt->echo, NULL, pair_echo, pt);
    pt->dials++;
    *conn_out = c;
    return 0;
}

static long pt_wait(pair_conn *c, short ev, int timeout_ms)
{
    struct pollfd p[2] = {{c->fd, ev, 0}, {c->wake[0], POLLIN, 0}};
    int n = poll(p, 2, timeout_ms);
    if (n == 0)
        return KAFKA_TRANSPORT_TIMEOUT;
    if (n < 0 || p[1].revents)
        return KAFKA_TRANSPORT_ERROR;
    return 1;
}

static long pt_read(void *priv, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)priv;
    pair_conn *c = conn;
    long w = pt_wait(c, POLLIN, timeout_ms);
    if (w <= 0)
        return w == 0 ? KAFKA_TRANSPORT_ERROR : w;
    ssize_t n = read(c->fd, buf, len);
    return n < 0 ? KAFKA_TRANSPORT_ERROR : (long)n;
}

static long pt_write(void *priv, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)priv;
    pair_conn *c = conn;
    long w = pt_wait(c, POLLOUT, timeout_ms);
    if (w <= 0)
        return w == 0 ? KAFKA_TRANSPORT_ERROR : w;
    /* Short writes on purpose: at most 3 bytes per call. */
    ssize_t n = send(c->fd, buf, len > 3 ? 3 : len, MSG_NOSIGNAL);
    return n <= 0 ? KAFKA_TRANSPORT_ERROR : (long)n;
}

static void pt_close(void *priv, void *conn)
{
    pair_transport *pt = priv;
    pair_conn *c = conn;
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(pt->echo, NULL);
    close(c->wake[0]);
    close(c->wake[1]);
    free(c);
    pt->closes++;
}

static void pt_interrupt(void *priv, void *conn)
{
    pair_transport *pt = priv;
    pair_conn *c = conn;
    pt->interrupts++;
    (void)!write(c->wake[1], "x", 1);
}

static void test_user_transport(void **state)
{
    (void)state;
    pair_transport pt = {0};
    kafka_transport tp = {.privdata = &pt, .dial = pt_dial, .read = pt_read, .write = pt_write, .close = pt_close,
                          .interrupt = pt_interrupt};
    resolver_ctx rc = {.port = 4242};
    kafka_dialer_config cfg = {.transport = &tp, .resolver = fake_resolver, .resolver_privdata = &rc};
    kafka_stream *s = dial_ok(&cfg, "broker-1.fake", 9092);
    /* The transport sees the mapped address. */
    assert_string_equal(pt.last_host, "127.0.0.1");
    assert_int_equal(pt.last_port, 4242);
    echo_roundtrip(s);
    char buf[4];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(100)), KAFKA_ERR_TIMEOUT);
    interrupter it = {s, 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter_main, &it), 0);
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(60000)), KAFKA_ERR_CLOSED);
    pthread_join(th, NULL);
    assert_int_equal(pt.interrupts, 1);
    kafka_stream_close(s);
    assert_int_equal(pt.dials, 1);
    assert_int_equal(pt.closes, 1);

    /* Dial failure carries the transport's reason. */
    char err[256];
    assert_int_equal(kafka_stream_dial(&(kafka_dialer_config){.transport = &tp}, "h", 1, in_ms(1000), &s, err,
                                       sizeof err),
                     KAFKA_ERR_TRANSPORT);
    assert_non_null(strstr(err, "tunnel refused"));
    /* TLS cannot be layered over a user transport. */
    assert_int_equal(kafka_stream_dial(&(kafka_dialer_config){.transport = &tp, .tls.enable = true}, "h", 2,
                                       in_ms(1000), &s, err, sizeof err),
                     KAFKA_ERR_INVALID_ARG);
    /* Missing callbacks are refused. */
    kafka_transport broken = {.dial = pt_dial};
    assert_int_equal(kafka_stream_dial(&(kafka_dialer_config){.transport = &broken}, "h", 2, in_ms(1000), &s, err,
                                       sizeof err),
                     KAFKA_ERR_INVALID_ARG);
}

/* Without an interrupt callback the stream still notices the interrupt
 * between bounded waits. */
static void test_user_transport_no_interrupt_cb(void **state)
{
    (void)state;
    pair_transport pt = {0};
    kafka_transport tp = {.privdata = &pt, .dial = pt_dial, .read = pt_read, .write = pt_write, .close = pt_close};
    kafka_stream *s = dial_ok(&(kafka_dialer_config){.transport = &tp}, "h", 2);
    echo_roundtrip(s);
    interrupter it = {s, 50};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter_main, &it), 0);
    char buf[4];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, -1), KAFKA_ERR_CLOSED);
    pthread_join(th, NULL);
    kafka_stream_close(s);
}

/* A transport that lies about byte counts or reports close. */
static long liar_read(void *priv, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)conn;
    (void)buf;
    (void)timeout_ms;
    return *(long *)priv == 0 ? (long)len + 10 : 0;
}

static long liar_write(void *priv, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)priv;
    (void)conn;
    (void)buf;
    (void)timeout_ms;
    return (long)len * 2;
}

static int liar_dial(void *priv, const char *host, int port, int timeout_ms, void **conn_out, char *errbuf,
                     size_t errlen)
{
    (void)priv;
    (void)host;
    (void)port;
    (void)timeout_ms;
    (void)errbuf;
    (void)errlen;
    *conn_out = (void *)1;
    return 0;
}

static void liar_close(void *priv, void *conn)
{
    (void)priv;
    (void)conn;
}

static void test_user_transport_broken(void **state)
{
    (void)state;
    long mode = 0;
    kafka_transport tp = {.privdata = &mode, .dial = liar_dial, .read = liar_read, .write = liar_write,
                          .close = liar_close};
    kafka_stream *s = dial_ok(&(kafka_dialer_config){.transport = &tp}, "h", 2);
    char buf[8];
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(1000)), KAFKA_ERR_TRANSPORT);
    mode = 1;
    assert_int_equal(kafka_stream_read_full(s, buf, sizeof buf, in_ms(1000)), KAFKA_ERR_TRANSPORT);
    assert_non_null(strstr(kafka_stream_last_error(s), "closed by peer"));
    struct iovec iov = {buf, sizeof buf};
    assert_int_equal(kafka_stream_writev_full(s, &iov, 1, in_ms(1000)), KAFKA_ERR_TRANSPORT);
    kafka_stream_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_echo),
        cmocka_unit_test(test_ipv6_echo),
        cmocka_unit_test(test_localhost_name),
        cmocka_unit_test(test_large_writev),
        cmocka_unit_test(test_writev_above_iov_max),
        cmocka_unit_test(test_read_deadline),
        cmocka_unit_test(test_interrupt_wakes_read),
        cmocka_unit_test(test_peer_closes),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_resolver_hook),
        cmocka_unit_test(test_user_transport),
        cmocka_unit_test(test_user_transport_no_interrupt_cb),
        cmocka_unit_test(test_user_transport_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
