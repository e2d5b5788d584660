/* kafka_engine: the driver of the per-broker ke_wire cores (engine.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#define KE_HAVE_EPOLL 1
#else
#include <fcntl.h>
#define KE_HAVE_EPOLL 0
#endif

#include "common/alloc.h"
#include "engine/engine.h"
#include "net/stream.h"

/* Bytes read from one broker per readiness event before the others get
 * their turn (level-triggered readiness brings the loop back). */
#define KE_READ_BUDGET (4 * 1024 * 1024)
#define KE_MAX_IOV 64
#define KE_MAX_FDS 256

typedef struct ke_broker {
    int32_t id;   /* the connection's key (engine.h: kafka_engine_coordinator) */
    int32_t node; /* the broker it connects to */
    ke_wire w;
    kafka_conn *conn; /* borrowed from the cluster's pool while up */
    kafka_stream *s;
    int fd;          /* -1: none, or a user transport */
    uint32_t ev;     /* epoll events registered (0 = not registered) */
    kafka_err last_err;
    bool reported_down; /* on_broker(down) told, not yet up again */
} ke_broker;

struct kafka_engine {
    kafka_engine_config cfg;
    char *client_id;
    ke_broker **b;
    size_t nb, capb;
    pthread_t thread;
    atomic_bool stopping;
    atomic_bool wake_pending;
    int wake_rd, wake_wr;
    int ep; /* epoll fd, -1 without epoll */
    int64_t owner_next;
};

static ke_broker *broker_find(kafka_engine *e, int32_t id)
{
    for (size_t i = 0; i < e->nb; i++)
        if (e->b[i]->id == id)
            return e->b[i];
    return NULL;
}

static ke_broker *broker_get(kafka_engine *e, int32_t id)
{
    ke_broker *b = broker_find(e, id);
    if (b)
        return b;
    if (e->nb == e->capb) {
        size_t cap = e->capb ? e->capb * 2 : 8;
        ke_broker **nb = kafka_realloc(e->b, cap * sizeof *nb);
        if (!nb)
            return NULL;
        e->b = nb;
        e->capb = cap;
    }
    b = kafka_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->id = id;
    b->node = id <= KE_COORDINATOR_BASE + KE_COORDINATOR_MAX_NODE ? id - KE_COORDINATOR_BASE : id;
    b->fd = -1;
    ke_wire_init(&b->w, e->cfg.backoff_min_ms, e->cfg.backoff_max_ms, 0);
    e->b[e->nb++] = b;
    return b;
}

/* ---- readiness registration ------------------------------------------------ */

static void reg_update(kafka_engine *e, ke_broker *b)
{
#if KE_HAVE_EPOLL
    if (e->ep < 0 || b->fd < 0)
        return;
    uint32_t want = EPOLLIN | (ke_wire_wants_write(&b->w) ? EPOLLOUT : 0);
    if (want == b->ev)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = b};
    if (epoll_ctl(e->ep, b->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, b->fd, &ev) == 0)
        b->ev = want;
#else
    (void)e;
    (void)b;
#endif
}

static void reg_remove(kafka_engine *e, ke_broker *b)
{
#if KE_HAVE_EPOLL
    if (e->ep >= 0 && b->fd >= 0 && b->ev)
        epoll_ctl(e->ep, EPOLL_CTL_DEL, b->fd, NULL);
#else
    (void)e;
#endif
    b->ev = 0;
}

/* ---- connection fate ---------------------------------------------------------- */

static void broker_down(kafka_engine *e, ke_broker *b, kafka_err err, const char *why, int64_t now)
{
    /* Copied first: why may point into the stream freed below. */
    char text[sizeof b->w.err];
    snprintf(text, sizeof text, "%s", why ? why : b->w.err);
    reg_remove(e, b);
    if (b->conn)
        kafka_cluster_release(e->cfg.kc, b->conn, false);
    b->conn = NULL;
    b->s = NULL;
    b->fd = -1;
    b->last_err = err;
    bool tell = !b->reported_down;
    b->reported_down = true;
    ke_wire_fail(&b->w, err, now, text);
    if (tell && e->cfg.on_broker)
        e->cfg.on_broker(e->cfg.arg, b->node, false, err, text);
}

static kafka_err broker_connect(kafka_engine *e, ke_broker *b, int64_t now)
{
    ke_wire_connecting(&b->w);
    kafka_conn *conn = NULL;
    kafka_err err = kafka_cluster_acquire(e->cfg.kc, b->node, now + e->cfg.dial_timeout_ms, &conn);
    if (err) {
        char why[256];
        const char *d = kafka_dial_last_error();
        if (err == KAFKA_ERR_BROKER_NOT_AVAILABLE || !d || !*d)
            snprintf(why, sizeof why, "broker %d: %s", b->node, kafka_err_str(err));
        else
            snprintf(why, sizeof why, "broker %d: %s", b->node, d);
        broker_down(e, b, err, why, kafka_now_ms());
        return err;
    }
    b->conn = conn;
    b->s = kafka_conn_stream(conn);
    b->fd = kafka_stream_fd(b->s);
    b->last_err = 0;
    ke_wire_up(&b->w);
    reg_update(e, b);
    if (b->reported_down && e->cfg.on_broker)
        e->cfg.on_broker(e->cfg.arg, b->node, true, 0, "connected");
    b->reported_down = false;
    return 0;
}

/* ---- I/O -------------------------------------------------------------------------- */

static void broker_write(kafka_engine *e, ke_broker *b, int64_t now)
{
    while (b->s && ke_wire_wants_write(&b->w)) {
        struct iovec iov[KE_MAX_IOV];
        int n = ke_wire_output(&b->w, iov, KE_MAX_IOV);
        size_t put = 0;
        kafka_err err = kafka_stream_writev_some(b->s, iov, n, &put);
        if (err) {
            broker_down(e, b, err, kafka_stream_last_error(b->s), now);
            return;
        }
        if (put == 0)
            break;
        ke_wire_wrote(&b->w, put);
    }
    reg_update(e, b);
}

static void broker_read(kafka_engine *e, ke_broker *b, int64_t now)
{
    size_t budget = KE_READ_BUDGET;
    while (b->s && budget > 0) {
        uint8_t *p;
        size_t room, got = 0;
        ke_wire_read_buf(&b->w, &p, &room);
        kafka_err err = kafka_stream_read_some(b->s, p, room, &got);
        if (err) {
            broker_down(e, b, err, kafka_stream_last_error(b->s), now);
            return;
        }
        if (got == 0)
            return;
        budget = got > budget ? 0 : budget - got;
        /* May run a callback, which may send (queued, written below). */
        err = ke_wire_read_done(&b->w, got);
        if (err) {
            char why[300];
            snprintf(why, sizeof why, "broker %d: %s", b->node, b->w.err);
            broker_down(e, b, err, why, now);
            return;
        }
    }
}

/* ---- owner calls ------------------------------------------------------------------- */

kafka_err kafka_engine_broker(kafka_engine *e, int32_t broker, char *why, size_t why_len)
{
    ke_broker *b = broker_get(e, broker);
    if (!b) {
        snprintf(why, why_len, "out of memory");
        return KAFKA_ERR_NOMEM;
    }
    if (b->w.state == KE_WIRE_UP)
        return 0;
    int64_t now = kafka_now_ms();
    if (!ke_wire_should_connect(&b->w, now, true)) {
        snprintf(why, why_len, "%s (waiting to reconnect)", b->w.err);
        return b->last_err ? b->last_err : KAFKA_ERR_TIMEOUT;
    }
    kafka_err err = broker_connect(e, b, now);
    if (err)
        snprintf(why, why_len, "%s", b->w.err);
    return err;
}

int16_t kafka_engine_version(kafka_engine *e, int32_t broker, int16_t api_key, int16_t min, int16_t max, char *why,
                             size_t why_len)
{
    ke_broker *b = broker_find(e, broker);
    if (!b || !b->conn) {
        snprintf(why, why_len, "broker %d is not connected", broker);
        return -1;
    }
    int16_t v = kafka_conn_version(b->conn, api_key, min, max);
    if (v < 0)
        snprintf(why, why_len, "%s", kafka_conn_last_error(b->conn));
    return v;
}

/* Frames body (size prefix, header) and queues it on b: with copy, in
 * one buffer; else the body goes out from the caller's memory. */
static kafka_err submit_frame(kafka_engine *e, ke_broker *b, int16_t api_key, int16_t version,
                              const struct iovec *body, int iovcnt, bool copy, bool expect_response,
                              int64_t deadline, ke_response_fn fn, void *arg)
{
    size_t blen = 0;
    for (int i = 0; i < iovcnt; i++)
        blen += body[i].iov_len;
    if (blen > (size_t)INT32_MAX - KAFKA_REQUEST_HEADER_MAX)
        return KAFKA_ERR_TOO_LARGE;
    uint8_t hdr[KAFKA_REQUEST_HEADER_MAX];
    int32_t corr = ke_wire_next_corr(&b->w);
    size_t hlen = kafka_frame_header_write(hdr, api_key, version, corr, e->client_id,
                                           kafka_request_header_flexible(api_key, version), blen);
    uint8_t *frame = kafka_malloc(hlen + (copy ? blen : 0));
    struct iovec *ext = copy || !iovcnt ? NULL : kafka_malloc((size_t)iovcnt * sizeof *ext);
    if (!frame || (!copy && iovcnt && !ext)) {
        kafka_free(frame);
        kafka_free(ext);
        return KAFKA_ERR_NOMEM;
    }
    memcpy(frame, hdr, hlen);
    size_t at = hlen;
    for (int i = 0; copy && i < iovcnt; i++) {
        if (body[i].iov_len)
            memcpy(frame + at, body[i].iov_base, body[i].iov_len);
        at += body[i].iov_len;
    }
    if (ext)
        memcpy(ext, body, (size_t)iovcnt * sizeof *ext);
    bool flex = expect_response && kafka_response_header_flexible(api_key, version);
    kafka_err err = ke_wire_submit_ext(&b->w, corr, frame, at, ext, copy ? 0 : iovcnt, flex, deadline, fn, arg);
    if (!err && !expect_response)
        ke_wire_last_no_response(&b->w);
    return err;
}

kafka_err kafka_engine_send(kafka_engine *e, int32_t broker, int16_t api_key, int16_t version, kafka_encode_fn enc,
                            const void *req, int64_t deadline, ke_response_fn fn, void *arg)
{
    ke_broker *b = broker_find(e, broker);
    if (!b || b->w.state != KE_WIRE_UP)
        return KAFKA_ERR_STATE;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_err err = enc(&w, version, req);
    if (!err && w.oom)
        err = KAFKA_ERR_NOMEM;
    if (!err) {
        struct iovec iov = {w.data, w.len};
        err = submit_frame(e, b, api_key, version, &iov, 1, true, true, deadline, fn, arg);
    }
    kafka_wbuf_free(&w);
    return err;
}

kafka_err kafka_engine_send_iov(kafka_engine *e, int32_t broker, int16_t api_key, int16_t version,
                                const struct iovec *body, int iovcnt, bool expect_response, int64_t deadline,
                                ke_response_fn fn, void *arg)
{
    ke_broker *b = broker_find(e, broker);
    if (!b || b->w.state != KE_WIRE_UP)
        return KAFKA_ERR_STATE;
    return submit_frame(e, b, api_key, version, body, iovcnt, false, expect_response, deadline, fn, arg);
}

size_t kafka_engine_in_flight(kafka_engine *e, int32_t broker)
{
    ke_broker *b = broker_find(e, broker);
    return b ? b->w.len : 0;
}

void kafka_engine_fail_broker(kafka_engine *e, int32_t broker, kafka_err err, const char *why)
{
    ke_broker *b = broker_find(e, broker);
    if (b && b->w.state == KE_WIRE_UP)
        broker_down(e, b, err, why, kafka_now_ms());
}

/* ---- the seam -------------------------------------------------------------------- */

int kafka_engine_interest(kafka_engine *e, kafka_engine_fd *fds, int max, int64_t now, int64_t *deadline)
{
    int n = 0;
    int64_t d = e->owner_next;
    if (n < max && e->wake_rd >= 0)
        fds[n++] = (kafka_engine_fd){e->wake_rd, true, false};
    for (size_t i = 0; i < e->nb; i++) {
        ke_broker *b = e->b[i];
        int64_t bd = ke_wire_deadline(&b->w);
        if (bd >= 0 && (d < 0 || bd < d))
            d = bd;
        if (b->w.state != KE_WIRE_UP)
            continue;
        if (b->fd < 0) {
            if (d < 0 || d > now + KE_USER_POLL_MS)
                d = now + KE_USER_POLL_MS;
        } else if (n < max) {
            fds[n++] = (kafka_engine_fd){b->fd, true, ke_wire_wants_write(&b->w)};
        }
    }
    *deadline = d;
    return n;
}

static void drain_wake(kafka_engine *e)
{
    uint8_t buf[64];
    while (read(e->wake_rd, buf, sizeof buf) > 0) {
    }
    atomic_store(&e->wake_pending, false);
}

void kafka_engine_ready(kafka_engine *e, int fd, bool readable, bool writable, int64_t now)
{
    if (fd == e->wake_rd) {
        drain_wake(e);
        return;
    }
    for (size_t i = 0; i < e->nb; i++) {
        ke_broker *b = e->b[i];
        if (b->fd != fd || b->w.state != KE_WIRE_UP)
            continue;
        if (writable)
            broker_write(e, b, now);
        if (readable)
            broker_read(e, b, now);
        return;
    }
}

void kafka_engine_timeout(kafka_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->nb; i++) {
        ke_broker *b = e->b[i];
        if (b->w.state == KE_WIRE_UP && b->fd < 0 && b->s)
            broker_read(e, b, now); /* a user transport: no readiness to wait for */
        kafka_err err = ke_wire_expire(&b->w, now);
        if (err && b->w.state == KE_WIRE_UP) {
            char why[300];
            snprintf(why, sizeof why, "broker %d: %s", b->node, b->w.err);
            broker_down(e, b, err, why, now);
        }
    }
    if (e->cfg.on_turn)
        e->owner_next = e->cfg.on_turn(e->cfg.arg, e, now);
    for (size_t i = 0; i < e->nb; i++)
        if (e->b[i]->w.state == KE_WIRE_UP)
            broker_write(e, e->b[i], now);
}

/* ---- our thread -------------------------------------------------------------------- */

static int wait_ms(int64_t deadline, int64_t now)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now;
    return left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

static void *engine_main(void *arg)
{
    kafka_engine *e = arg;
    kafka_engine_fd fds[KE_MAX_FDS];
    while (!atomic_load(&e->stopping)) {
        int64_t now = kafka_now_ms();
        kafka_engine_timeout(e, now);
        int64_t deadline;
        int n = kafka_engine_interest(e, fds, KE_MAX_FDS, now, &deadline);
        if (atomic_load(&e->stopping))
            break;
        int t = wait_ms(deadline, kafka_now_ms());
#if KE_HAVE_EPOLL
        (void)n;
        struct epoll_event evs[64];
        int k = epoll_wait(e->ep, evs, 64, t);
        now = kafka_now_ms();
        for (int i = 0; i < k; i++) {
            if (evs[i].data.ptr == NULL) {
                drain_wake(e);
                continue;
            }
            ke_broker *b = evs[i].data.ptr;
            bool rd = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
            bool wr = evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
            if (b->fd >= 0)
                kafka_engine_ready(e, b->fd, rd, wr, now);
        }
#else
        struct pollfd p[KE_MAX_FDS];
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = fds[i].fd,
                                   .events = (short)((fds[i].want_read ? POLLIN : 0) | (fds[i].want_write ? POLLOUT : 0))};
        int k = poll(p, (nfds_t)n, t);
        now = kafka_now_ms();
        for (int i = 0; k > 0 && i < n; i++)
            if (p[i].revents)
                kafka_engine_ready(e, p[i].fd, p[i].revents & (POLLIN | POLLERR | POLLHUP),
                                   p[i].revents & (POLLOUT | POLLERR | POLLHUP), now);
#endif
    }
    /* Fail what is left, on this thread, before the owner frees its state. */
    for (size_t i = 0; i < e->nb; i++) {
        ke_broker *b = e->b[i];
        reg_remove(e, b);
        if (b->conn)
            kafka_cluster_release(e->cfg.kc, b->conn, false);
        b->conn = NULL;
        ke_wire_destroy(&b->w);
    }
    return NULL;
}

/* Frees what start made (the thread is not running). */
static void engine_free(kafka_engine *e)
{
    for (size_t i = 0; i < e->nb; i++)
        kafka_free(e->b[i]);
    kafka_free(e->b);
    if (e->ep >= 0)
        close(e->ep);
    if (e->wake_rd >= 0)
        close(e->wake_rd);
    if (e->wake_wr >= 0 && e->wake_wr != e->wake_rd)
        close(e->wake_wr);
    kafka_free(e->client_id);
    kafka_free(e);
}

kafka_err kafka_engine_start(kafka_engine **out, const kafka_engine_config *cfg)
{
    *out = NULL;
    kafka_engine *e = kafka_calloc(1, sizeof *e);
    if (!e)
        return KAFKA_ERR_NOMEM;
    e->cfg = *cfg;
    if (e->cfg.backoff_min_ms <= 0)
        e->cfg.backoff_min_ms = 100;
    if (e->cfg.backoff_max_ms <= 0)
        e->cfg.backoff_max_ms = 1000;
    if (e->cfg.dial_timeout_ms <= 0)
        e->cfg.dial_timeout_ms = 10000;
    e->client_id = kafka_strdup(cfg->client_id ? cfg->client_id : "libkafka");
    e->owner_next = -1;
    e->ep = -1;
    e->wake_rd = e->wake_wr = -1;
    atomic_init(&e->stopping, false);
    atomic_init(&e->wake_pending, false);
    kafka_err err = e->client_id ? 0 : KAFKA_ERR_NOMEM;
#if KE_HAVE_EPOLL
    if (!err) {
        e->wake_rd = e->wake_wr = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        e->ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (e->wake_rd < 0 || e->ep < 0 || epoll_ctl(e->ep, EPOLL_CTL_ADD, e->wake_rd, &ev) != 0)
            err = KAFKA_ERR_TRANSPORT;
    }
#else
    int p[2];
    if (!err && pipe(p) == 0) {
        e->wake_rd = p[0];
        e->wake_wr = p[1];
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        fcntl(p[1], F_SETFL, O_NONBLOCK);
    } else if (!err) {
        err = KAFKA_ERR_TRANSPORT;
    }
#endif
    /* *out before the thread starts: the owner's turn may read it (the
     * reader wakes its own engine when a group assignment starts parts). */
    if (!err)
        *out = e;
    if (!err && pthread_create(&e->thread, NULL, engine_main, e) != 0)
        err = KAFKA_ERR_NOMEM;
    if (err) {
        *out = NULL;
        engine_free(e);
        return err;
    }
    return 0;
}

void kafka_engine_wake(kafka_engine *e)
{
    if (atomic_exchange(&e->wake_pending, true))
        return; /* one is on its way */
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(e->wake_wr, &one, sizeof one);
    while (r < 0 && errno == EINTR);
}

void kafka_engine_stop(kafka_engine *e)
{
    if (!e)
        return;
    atomic_store(&e->stopping, true);
    atomic_store(&e->wake_pending, false);
    kafka_engine_wake(e);
    pthread_join(e->thread, NULL);
    engine_free(e);
}
