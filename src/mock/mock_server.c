/* The mock's serving thread: see mock_server.h. */
#include "mock/mock_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "mock/mock_groups_dispatch.h"
#include "mock/mock_tls.h"
#include "protocol/header.h"

#define KMOCK_READ_CHUNK 65536

int64_t kmock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kmock_server_wake(kafka_mock *m)
{
    char b = 1;
    ssize_t n;

    do
        n = write(m->wake_wr, &b, 1);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, so the loop wakes anyway */
}

static bool set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* Binds a new listener at the broker's address (the first time port 0:
 * the kernel picks one, which is then kept). */
static int open_listener(kafka_mock *m, int i)
{
    int one = 1;
    int fd = socket(m->addr[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&m->addr[i], m->addrlen[i]) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    m->addrlen[i] = sizeof(m->addr[i]);
    getsockname(fd, (struct sockaddr *)&m->addr[i], &m->addrlen[i]);
    return fd;
}

static int port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static kafka_err make_bootstrap(kafka_mock *m)
{
    kafka_wbuf w;
    char part[96];

    kafka_wbuf_init(&w);
    for (int32_t i = 0; i < m->c.nbrokers; i++) {
        int n = snprintf(part, sizeof(part), "%s%s:%d", i ? "," : "", m->c.brokers[i].host, m->c.brokers[i].port);
        kafka_put_raw(&w, part, (size_t)n);
    }
    kafka_put_u8(&w, 0);
    if (w.oom) {
        kafka_wbuf_free(&w);
        return KAFKA_ERR_NOMEM;
    }
    m->bootstrap = (char *)w.data;
    return 0;
}

/* ---- clients ------------------------------------------------------------- */

static void client_close(kafka_mock *m, kmock_client *cl)
{
    for (size_t i = 0; i < m->ndeferred;) {
        if (m->deferred[i].client == cl) {
            kafka_free(m->deferred[i].body);
            m->deferred[i] = m->deferred[--m->ndeferred];
        } else {
            i++;
        }
    }
    kmock_tls_session_free(cl->tls);
    close(cl->fd);
    kmock_sasl_conn_free(&cl->sasl);
    kmock_conn_free(&cl->conn);
    kafka_free(cl);
}

static void accept_clients(kafka_mock *m, int i)
{
    for (int k = 0; k < 64; k++) {
        int one = 1;
        int fd = accept4(m->listen_fd[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        /* Kafka sets TCP_NODELAY on every connection it accepts. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        kmock_client *cl = kafka_calloc(1, sizeof(*cl));
        if (!cl || !kafka_array_reserve((void **)&m->clients, &m->clients_cap, m->nclients + 1,
                                        sizeof(*m->clients), 16)) {
            kafka_free(cl);
            close(fd);
            return;
        }
        cl->fd = fd;
        cl->broker_id = i + 1;
        if (m->tls && !(cl->tls = kmock_tls_session(m->tls, fd))) {
            kafka_free(cl);
            close(fd);
            return;
        }
        kmock_conn_init(&cl->conn);
        m->clients[m->nclients++] = cl;
    }
}

/* The client a token's slot belongs to (NULL: it closed meanwhile). */
static kmock_client *client_of(kafka_mock *m, uint64_t token)
{
    for (size_t i = 0; i < m->nclients; i++)
        if (!m->clients[i]->closing && kmock_conn_slot(&m->clients[i]->conn, token))
            return m->clients[i];
    return NULL;
}

static int64_t rtt_of(const kafka_mock *m, int32_t broker_id)
{
    const kmock_broker_info *b = kmock_broker(&m->c, broker_id);
    return b ? b->rtt_ms : 0;
}

static void answer(kafka_mock *m, kmock_client *cl, uint64_t token, const uint8_t *body, size_t len,
                   int64_t now_ms)
{
    kmock_slot *s = kmock_conn_slot(&cl->conn, token);

    if (s && !kmock_conn_fill(s, body, len, now_ms + rtt_of(m, cl->broker_id) + s->delay_ms))
        cl->closing = true;
}

/* The group module's reply callback. */
static void group_reply(void *ctx, uint64_t token, const uint8_t *body, size_t len)
{
    kafka_mock *m = ctx;
    kmock_client *cl = client_of(m, token);

    if (cl) /* replies for a closed connection are dropped */
        answer(m, cl, token, body, len, kmock_now_ms());
}

static void serve_outcome(kafka_mock *m, kmock_client *cl, uint64_t token, kmock_outcome oc, kafka_wbuf *out,
                          const kmock_request *rq, int64_t wake_at)
{
    switch (oc) {
    case KMOCK_RESPOND:
        answer(m, cl, token, out->data, out->len, rq->now_ms);
        break;
    case KMOCK_NO_RESPONSE:
        answer(m, cl, token, NULL, 0, rq->now_ms);
        break;
    case KMOCK_DEFER: {
        uint8_t *copy = kafka_malloc(rq->len ? rq->len : 1);
        if (!copy || !kafka_array_reserve((void **)&m->deferred, &m->deferred_cap, m->ndeferred + 1,
                                          sizeof(*m->deferred), 8)) {
            kafka_free(copy);
            cl->closing = true;
            break;
        }
        memcpy(copy, rq->body, rq->len);
        kmock_deferred *d = &m->deferred[m->ndeferred++];
        d->token = token;
        d->client = cl;
        d->rq = *rq;
        d->rq.body = copy;
        d->rq.session_out = NULL;
        d->rq.rerun = true;
        d->body = copy;
        d->wake_at = wake_at;
        break;
    }
    case KMOCK_GROUP:
        if (kmock_groups_dispatch(&m->c, rq->api_key, rq->api_version, rq->body, rq->len, rq->now_ms, token,
                                  group_reply, m) < 0)
            cl->closing = true;
        break;
    case KMOCK_CLOSE:
        cl->closing = true;
        break;
    }
}

static void serve_frame(kafka_mock *m, kmock_client *cl, const uint8_t *frame, size_t len, int64_t now_ms)
{
    kafka_rbuf r;
    int16_t key, ver;
    int32_t corr;
    kafka_str client_id;
    kafka_wbuf out;
    int64_t wake_at = 0;
    uint64_t token = ++m->next_token;

    if (cl->sasl.raw) {
        /* after a SaslHandshake v0: a bare token, answered bare */
        kmock_slot *s = kmock_conn_push(&cl->conn, token, -1, 0, 0);
        kafka_wbuf_init(&out);
        if (!s || !kmock_sasl_token(&cl->sasl, &m->c.users, frame, len, &out)) {
            cl->closing = true;
        } else {
            s->raw = true;
            answer(m, cl, token, out.data ? out.data : (const uint8_t *)"", out.len, now_ms);
        }
        kafka_wbuf_free(&out);
        return;
    }
    kafka_rbuf_init(&r, frame, len);
    if (kafka_request_header_decode(&r, &key, &ver, &corr, &client_id) != 0 ||
        !kmock_conn_push(&cl->conn, token, key, ver, corr)) {
        cl->closing = true;
        return;
    }
    kafka_wbuf_init(&out);
    kmock_request rq = {.broker_id = cl->broker_id, .api_key = key, .api_version = ver, .body = r.p,
                        .len = kafka_rbuf_remaining(&r), .now_ms = now_ms};
    m->c.now_ms = now_ms;
    rq.throttle_ms = kmock_broker(&m->c, cl->broker_id)->throttle_ms;
    rq.user = cl->sasl.authenticated ? cl->sasl.user : NULL;
    rq.session_out = &rq.session_id; /* a deferred Fetch keeps its session */
    if (m->c.require_sasl && !cl->sasl.authenticated && key != KAFKA_API_API_VERSIONS &&
        key != KAFKA_API_SASL_HANDSHAKE && key != KAFKA_API_SASL_AUTHENTICATE) {
        cl->closing = true; /* Kafka closes a connection that skips authentication */
        return;
    }
    if (m->c.require_sasl && (key == KAFKA_API_SASL_HANDSHAKE || key == KAFKA_API_SASL_AUTHENTICATE)) {
        int16_t lo, hi;
        int rc = kmock_api_supported(&m->c, key, &lo, &hi) && ver >= lo && ver <= hi
                     ? kmock_sasl_handle(&cl->sasl, &m->c.users, key, ver, r.p, kafka_rbuf_remaining(&r), &out)
                     : -1;
        if (rc < 0)
            cl->closing = true;
        else
            answer(m, cl, token, out.data, out.len, now_ms);
        cl->close_when_flushed |= rc == 0;
        kafka_wbuf_free(&out);
        return;
    }
    rq.injected = kmock_take_error(&m->c, cl->broker_id, key, &kmock_conn_slot(&cl->conn, token)->delay_ms);
    if (rq.injected == KAFKA_ERR_MOCK_DISCONNECT) {
        cl->closing = true;
        return;
    }
    kmock_outcome oc = kmock_handle(&m->c, &rq, &out, &wake_at); /* sets wake_at: call it first */
    serve_outcome(m, cl, token, oc, &out, &rq, wake_at);
    kafka_wbuf_free(&out);
}

/* One read from the client's socket (through TLS when it has a session):
 * > 0 bytes, 0 closed or failed, -1 nothing now. */
static ssize_t client_recv(kmock_client *cl, uint8_t *buf, size_t len)
{
    if (cl->tls)
        return kmock_tls_read(cl->tls, buf, len, &cl->tls_wants_write);
    for (;;) {
        ssize_t n = read(cl->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -1;
        return n < 0 ? 0 : n;
    }
}

static ssize_t client_send(kmock_client *cl, const uint8_t *buf, size_t len)
{
    bool wants_read;

    if (cl->tls)
        return kmock_tls_write(cl->tls, buf, len, &wants_read); /* a read is always polled for */
    for (;;) {
        ssize_t n = send(cl->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -1;
        return n < 0 ? 0 : n;
    }
}

/* Reads what the socket has and serves every complete frame. */
static void client_read(kafka_mock *m, kmock_client *cl, int64_t now_ms)
{
    uint8_t buf[KMOCK_READ_CHUNK];

    for (int rounds = 0; rounds < 16 && !cl->closing; rounds++) {
        ssize_t n = client_recv(cl, buf, sizeof(buf));
        const uint8_t *frame;
        size_t flen;
        int rc = 0;

        if (n < 0)
            return;
        if (n == 0 || !kmock_conn_feed(&cl->conn, buf, (size_t)n)) {
            cl->closing = true;
            return;
        }
        while (!cl->closing && (rc = kmock_conn_next_frame(&cl->conn, &frame, &flen)) == 1)
            serve_frame(m, cl, frame, flen, now_ms);
        if (rc < 0)
            cl->closing = true;
        /* a short plain read drained the socket; TLS hands out a record at
         * a time, so read on until it would block */
        if (!cl->tls && (size_t)n < sizeof(buf))
            return;
    }
}

static void client_write(kmock_client *cl)
{
    while (kmock_conn_pending(&cl->conn) > 0) {
        ssize_t n = client_send(cl, kmock_conn_out(&cl->conn), kmock_conn_pending(&cl->conn));
        if (n < 0)
            return;
        if (n == 0) {
            cl->closing = true;
            return;
        }
        kmock_conn_written(&cl->conn, (size_t)n);
    }
}

/* ---- loop ---------------------------------------------------------------- */

/* Deferred Fetches look again after an append, or answer at their deadline. */
static int64_t run_deferred(kafka_mock *m, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    bool appended = m->c.appends != m->seen_appends;

    m->seen_appends = m->c.appends;
    for (size_t i = 0; i < m->ndeferred;) {
        kmock_deferred *d = &m->deferred[i];
        if (appended || now_ms >= d->wake_at) {
            kafka_wbuf out;
            int64_t wake_at = d->wake_at;
            kmock_deferred done = *d;
            kmock_outcome oc;

            done.rq.now_ms = now_ms;
            done.rq.final = now_ms >= d->wake_at;
            kafka_wbuf_init(&out);
            oc = kmock_handle(&m->c, &done.rq, &out, &wake_at);
            if (oc != KMOCK_DEFER) {
                m->deferred[i] = m->deferred[--m->ndeferred];
                serve_outcome(m, done.client, done.token, oc, &out, &done.rq, wake_at);
                kafka_free(done.body);
                kafka_wbuf_free(&out);
                continue;
            }
            kafka_wbuf_free(&out);
        }
        if (d->wake_at < next)
            next = d->wake_at;
        i++;
    }
    return next;
}

/* Applies the brokers' up/down state to listeners and connections. */
static void apply_sockets(kafka_mock *m)
{
    m->sockets_error = 0;
    for (int32_t i = 0; i < m->c.nbrokers; i++) {
        bool up = m->c.brokers[i].up;
        if (!up && m->listen_fd[i] >= 0) {
            close(m->listen_fd[i]);
            m->listen_fd[i] = -1;
            for (size_t k = 0; k < m->nclients; k++)
                if (m->clients[k]->broker_id == i + 1)
                    m->clients[k]->closing = true;
        } else if (up && m->listen_fd[i] < 0) {
            m->listen_fd[i] = open_listener(m, i);
            if (m->listen_fd[i] < 0) {
                m->sockets_error = KAFKA_ERR_TRANSPORT;
                m->c.brokers[i].up = false;
            }
        }
    }
}

static void reap_clients(kafka_mock *m)
{
    for (size_t i = 0; i < m->nclients;) {
        if (m->clients[i]->closing) {
            client_close(m, m->clients[i]);
            m->clients[i] = m->clients[--m->nclients];
        } else {
            i++;
        }
    }
}

static void *serve(void *arg)
{
    kafka_mock *m = arg;
    struct pollfd *pfd = NULL;
    size_t pfd_cap = 0;

    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        int64_t now = kmock_now_ms(), next = INT64_MAX, t;
        size_t n = 0, first_client;

        if (m->sockets_applied != m->sockets_wanted) {
            apply_sockets(m);
            m->sockets_applied = m->sockets_wanted;
            pthread_cond_broadcast(&m->cond);
        }
        if ((t = run_deferred(m, now)) < next)
            next = t;
        if (m->c.groups && (t = kmock_groups_timer(&m->c, now)) < next)
            next = t;
        m->c.now_ms = now;
        if ((t = kmock_txn_tick(&m->c, now)) < next)
            next = t;
        for (size_t i = 0; i < m->nclients; i++) {
            kmock_client *cl = m->clients[i];
            if (!cl->closing && !kmock_conn_flush(&cl->conn, now, &t))
                cl->closing = true;
            if (t < next)
                next = t;
            if (!cl->closing)
                client_write(cl);
            if (cl->close_when_flushed && cl->conn.nslots == 0 && kmock_conn_pending(&cl->conn) == 0)
                cl->closing = true;
        }
        reap_clients(m);
        if (!kafka_array_reserve((void **)&pfd, &pfd_cap, 1 + (size_t)m->c.nbrokers + m->nclients, sizeof(*pfd),
                                 16)) {
            /* out of memory: try again shortly */
            pthread_mutex_unlock(&m->mu);
            usleep(10000);
            pthread_mutex_lock(&m->mu);
            continue;
        }
        pfd[n++] = (struct pollfd){.fd = m->wake_rd, .events = POLLIN};
        for (int32_t i = 0; i < m->c.nbrokers; i++)
            pfd[n++] = (struct pollfd){.fd = m->listen_fd[i], .events = POLLIN}; /* -1: ignored */
        first_client = n;
        for (size_t i = 0; i < m->nclients; i++) {
            kmock_client *cl = m->clients[i];
            short ev = POLLIN;
            if (kmock_conn_pending(&cl->conn) > 0 || cl->tls_wants_write)
                ev |= POLLOUT;
            pfd[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
        }
        int timeout = -1;
        if (next != INT64_MAX)
            timeout = next <= now ? 0 : (next - now > 60000 ? 60000 : (int)(next - now));
        size_t nclients = m->nclients;
        pthread_mutex_unlock(&m->mu);
        int rc = poll(pfd, (nfds_t)n, timeout);
        pthread_mutex_lock(&m->mu);
        if (rc < 0)
            continue;
        if (pfd[0].revents) {
            char buf[256];
            while (read(m->wake_rd, buf, sizeof(buf)) > 0) {
            }
        }
        now = kmock_now_ms();
        /* clients first: the indexes of pfd match m->clients until accept */
        for (size_t i = 0; i < nclients; i++) {
            kmock_client *cl = m->clients[i];
            short re = pfd[first_client + i].revents;
            if (re & (POLLERR | POLLNVAL))
                cl->closing = true;
            else if ((re & (POLLIN | POLLHUP)) || (cl->tls_wants_write && (re & POLLOUT)))
                client_read(m, cl, now); /* (TLS: also a handshake waiting to write) */
        }
        for (int32_t i = 0; i < m->c.nbrokers; i++)
            if (m->listen_fd[i] >= 0 && (pfd[1 + i].revents & POLLIN))
                accept_clients(m, i);
    }
    pthread_mutex_unlock(&m->mu);
    kafka_free(pfd);
    return NULL;
}

kafka_err kmock_server_sync_sockets(kafka_mock *m)
{
    uint64_t gen = ++m->sockets_wanted;

    kmock_server_wake(m);
    while (m->sockets_applied < gen && !m->stop)
        pthread_cond_wait(&m->cond, &m->mu);
    return m->sockets_error ? KAFKA_ERR_TRANSPORT : 0;
}

static bool is_listening_socket(int fd)
{
    int v = 0;
    socklen_t l = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

kafka_err kmock_server_start(kafka_mock *m, const kafka_mock_config *cfg)
{
    int p[2];
    kafka_err err;

    for (int32_t i = 0; i < KAFKA_MOCK_MAX_BROKERS; i++)
        m->listen_fd[i] = -1;
    m->wake_rd = m->wake_wr = -1;
    for (int32_t i = 0; cfg->listen_fds && i < m->c.nbrokers; i++)
        if (!is_listening_socket(cfg->listen_fds[i]))
            return KAFKA_ERR_INVALID_ARG;
    for (int32_t i = 0; i < m->c.nbrokers; i++) {
        if (cfg->listen_fds) {
            m->listen_fd[i] = cfg->listen_fds[i];
            m->addrlen[i] = sizeof(m->addr[i]);
            if (getsockname(m->listen_fd[i], (struct sockaddr *)&m->addr[i], &m->addrlen[i]) != 0 ||
                !set_nonblock(m->listen_fd[i]))
                return KAFKA_ERR_INVALID_ARG;
            fcntl(m->listen_fd[i], F_SETFD, FD_CLOEXEC);
        } else {
            struct sockaddr_in *sin = (struct sockaddr_in *)&m->addr[i];
            memset(&m->addr[i], 0, sizeof(m->addr[i]));
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            m->addrlen[i] = sizeof(*sin);
            if ((m->listen_fd[i] = open_listener(m, i)) < 0)
                return KAFKA_ERR_TRANSPORT;
        }
        m->c.brokers[i].port = port_of(&m->addr[i]);
        if (m->addr[i].ss_family == AF_INET6)
            snprintf(m->c.brokers[i].host, sizeof(m->c.brokers[i].host), "::1");
    }
    if (cfg->tls_cert_file && (err = kmock_tls_new(&m->tls, cfg->tls_cert_file, cfg->tls_key_file)) != 0)
        return err;
    if ((err = make_bootstrap(m)) != 0)
        return err;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return KAFKA_ERR_TRANSPORT;
    m->wake_rd = p[0];
    m->wake_wr = p[1];
    if (pthread_create(&m->thread, NULL, serve, m) != 0)
        return KAFKA_ERR_TRANSPORT;
    return 0;
}

void kmock_server_stop(kafka_mock *m)
{
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    kmock_server_wake(m);
    pthread_join(m->thread, NULL);
}

void kmock_server_free(kafka_mock *m)
{
    for (size_t i = 0; i < m->nclients; i++)
        client_close(m, m->clients[i]);
    kafka_free(m->clients);
    for (size_t i = 0; i < m->ndeferred; i++)
        kafka_free(m->deferred[i].body);
    kafka_free(m->deferred);
    for (int32_t i = 0; i < KAFKA_MOCK_MAX_BROKERS; i++)
        if (m->listen_fd[i] >= 0)
            close(m->listen_fd[i]);
    if (m->wake_rd >= 0)
        close(m->wake_rd);
    if (m->wake_wr >= 0)
        close(m->wake_wr);
    kmock_tls_free(m->tls);
    kafka_free(m->bootstrap);
}
