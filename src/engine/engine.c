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
#include "common/clock.h"
#include "common/lock.h"
#include "engine/engine.h"
#include "engine/handshake.h"
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
    /* Connection setup, in order: dialing (TCP connect, TLS), then the
     * handshake (ApiVersions, SASL) over the open wire; up after it. */
    kafka_dialing *dialing;
    kafka_stream *s; /* connected (handshaking or up) */
    bool handshaking;
    ke_handshake hs;
    kafka_api_table versions; /* the broker's, once up */
    int64_t setup_deadline;   /* of this attempt: dial_timeout_ms */
    char addr[300];
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
    b->w.frame_alloc = e->cfg.frame_alloc;
    b->w.frame_arg = e->cfg.arg;
    e->b[e->nb++] = b;
    return b;
}

/* ---- readiness registration ------------------------------------------------ */

static void reg_set(kafka_engine *e, ke_broker *b, bool rd, bool wr)
{
#if KE_HAVE_EPOLL
    if (e->ep < 0 || b->fd < 0)
        return;
    uint32_t want = (rd ? EPOLLIN : 0) | (wr ? EPOLLOUT : 0);
    if (want == b->ev)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = b};
    if (epoll_ctl(e->ep, b->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, b->fd, &ev) == 0)
        b->ev = want;
#else
    (void)e;
    (void)b;
    (void)rd;
    (void)wr;
#endif
}

static void reg_update(kafka_engine *e, ke_broker *b) { reg_set(e, b, true, ke_wire_wants_write(&b->w)); }

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

/* Up: connected, and the handshake is done. */
static bool broker_up(const ke_broker *b) { return b->w.state == KE_WIRE_UP && !b->handshaking; }

static bool broker_connecting(const ke_broker *b) { return b->dialing || b->handshaking; }

/* Closes b's connection: the dial in progress or the stream. */
static void drop_conn(kafka_engine *e, ke_broker *b)
{
    reg_remove(e, b);
    kafka_dialing_free(b->dialing);
    b->dialing = NULL;
    kafka_stream_close(b->s);
    b->s = NULL;
    b->fd = -1;
}

static void broker_down(kafka_engine *e, ke_broker *b, kafka_err err, const char *why, int64_t now)
{
    /* Copied first: why may point into the stream freed below. */
    char text[sizeof b->w.err];
    snprintf(text, sizeof text, "%s", why ? why : b->w.err);
    drop_conn(e, b);
    bool hs = b->handshaking;
    b->handshaking = false;
    ke_wire_fail(&b->w, err, now, text);
    if (hs) {
        /* The handshake's reading of a transport failure wins: a broker
         * that hangs up during the raw SASL exchange refused the password. */
        if (b->hs.state == KE_HS_FAILED && b->hs.err != err) {
            err = b->hs.err;
            snprintf(text, sizeof text, "broker %d: %.230s", b->node, b->hs.why);
            snprintf(b->w.err, sizeof b->w.err, "%s", text);
        }
        ke_handshake_free(&b->hs);
    }
    b->last_err = err;
    bool tell = !b->reported_down;
    b->reported_down = true;
    if (tell && e->cfg.on_broker)
        e->cfg.on_broker(e->cfg.arg, b->node, false, err, text);
}

/* After I/O or time on a handshaking broker: up, or down with the
 * handshake's error. */
static void handshake_check(kafka_engine *e, ke_broker *b, int64_t now)
{
    if (!b->handshaking || !ke_handshake_finished(&b->hs))
        return;
    if (b->hs.state == KE_HS_FAILED) {
        char why[sizeof b->hs.why + 32];
        snprintf(why, sizeof why, "broker %d: %s", b->node, b->hs.why);
        broker_down(e, b, b->hs.err, why, now);
        return;
    }
    b->versions = b->hs.versions;
    ke_handshake_free(&b->hs);
    b->handshaking = false;
    ke_wire_up(&b->w); /* resets the backoff */
    b->last_err = 0;
    reg_update(e, b);
    if (b->reported_down && e->cfg.on_broker)
        e->cfg.on_broker(e->cfg.arg, b->node, true, 0, "connected");
    b->reported_down = false;
}

/* After readiness of the dialing socket or at its deadline: the next
 * address, TLS, or the handshake once the stream is ready. */
static void dialing_advance(kafka_engine *e, ke_broker *b, int64_t now)
{
    reg_remove(e, b); /* the socket may be replaced by the next address's */
    bool done = false;
    char why[400] = "";
    kafka_err err = kafka_dialing_step(b->dialing, now, &done, why, sizeof why);
    if (err) {
        char text[sizeof why + 340];
        snprintf(text, sizeof text, "broker %d: dial %s: %s", b->node, b->addr, why[0] ? why : kafka_err_str(err));
        broker_down(e, b, err, text, now);
        return;
    }
    if (!done) {
        b->fd = kafka_dialing_fd(b->dialing);
        short ev = kafka_dialing_events(b->dialing);
        reg_set(e, b, ev & POLLIN, ev & POLLOUT);
        return;
    }
    b->s = kafka_dialing_take(b->dialing);
    kafka_dialing_free(b->dialing);
    b->dialing = NULL;
    b->fd = kafka_stream_fd(b->s);
    ke_wire_open(&b->w);
    b->handshaking = true;
    ke_handshake_start(&b->hs, &b->w, kafka_cluster_dialer(e->cfg.kc), b->addr, e->client_id, b->setup_deadline);
    reg_update(e, b);
    handshake_check(e, b, now);
}

/* Starts an attempt: nothing here waits for the network (see engine.h
 * for what may still block: name resolution, a user transport's dial). */
static void broker_connect(kafka_engine *e, ke_broker *b, int64_t now)
{
    ke_wire_connecting(&b->w);
    char host[256], why[400] = "";
    int port = 0;
    kafka_err err = kafka_cluster_broker_addr(e->cfg.kc, b->node, b->addr, sizeof b->addr);
    if (err) {
        snprintf(why, sizeof why, "broker %d: %s", b->node, kafka_err_str(err));
        broker_down(e, b, err, why, now);
        return;
    }
    if (kafka_split_host_port(b->addr, host, sizeof host, &port)) {
        snprintf(why, sizeof why, "broker %d: invalid address \"%s\"", b->node, b->addr);
        broker_down(e, b, KAFKA_ERR_INVALID_ARG, why, now);
        return;
    }
    b->setup_deadline = now + e->cfg.dial_timeout_ms;
    err = kafka_dialing_start(kafka_cluster_dialer(e->cfg.kc), host, port, b->setup_deadline, &b->dialing, why,
                              sizeof why);
    if (err) {
        char text[sizeof why + 340];
        snprintf(text, sizeof text, "broker %d: dial %s: %s", b->node, b->addr, why[0] ? why : kafka_err_str(err));
        broker_down(e, b, err, text, kafka_now_ms());
        return;
    }
    dialing_advance(e, b, kafka_now_ms());
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
    if (broker_up(b))
        return 0;
    int64_t now = kafka_now_ms();
    if (!broker_connecting(b)) {
        if (!ke_wire_should_connect(&b->w, now, true)) {
            snprintf(why, why_len, "%s (waiting to reconnect)", b->w.err);
            return b->last_err ? b->last_err : KAFKA_ERR_TIMEOUT;
        }
        broker_connect(e, b, now);
    }
    if (broker_up(b))
        return 0;
    if (broker_connecting(b)) {
        snprintf(why, why_len, "broker %d: connecting", b->node);
        return KAFKA_ERR_STATE;
    }
    snprintf(why, why_len, "%s", b->w.err);
    return b->last_err ? b->last_err : KAFKA_ERR_TRANSPORT;
}

bool kafka_engine_connecting(kafka_engine *e, int32_t broker)
{
    ke_broker *b = broker_find(e, broker);
    return b && broker_connecting(b);
}

int16_t kafka_engine_version(kafka_engine *e, int32_t broker, int16_t api_key, int16_t min, int16_t max, char *why,
                             size_t why_len)
{
    ke_broker *b = broker_find(e, broker);
    if (!b || !broker_up(b)) {
        snprintf(why, why_len, "broker %d is not connected", broker);
        return -1;
    }
    char text[200];
    int16_t v = kafka_api_table_pick(&b->versions, api_key, min, max, text, sizeof text);
    if (v < 0)
        snprintf(why, why_len, "%s: %s", b->addr, text);
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
    if (!b || !broker_up(b))
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
    if (!b || !broker_up(b))
        return KAFKA_ERR_STATE;
    return submit_frame(e, b, api_key, version, body, iovcnt, false, expect_response, deadline, fn, arg);
}

size_t kafka_engine_in_flight(kafka_engine *e, int32_t broker)
{
    ke_broker *b = broker_find(e, broker);
    return b && broker_up(b) ? b->w.len : 0;
}

void kafka_engine_fail_broker(kafka_engine *e, int32_t broker, kafka_err err, const char *why)
{
    ke_broker *b = broker_find(e, broker);
    if (b && (b->w.state == KE_WIRE_UP || b->dialing))
        broker_down(e, b, err, why, kafka_now_ms());
}

void kafka_engine_cut_broker(kafka_engine *e, int32_t broker, const char *why)
{
    ke_broker *b = broker_find(e, broker);
    if (!b || !broker_up(b))
        return;
    drop_conn(e, b);
    ke_wire_cut(&b->w, KAFKA_ERR_CLOSED, why);
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
        int64_t bd = b->dialing ? kafka_dialing_deadline(b->dialing) : ke_wire_deadline(&b->w);
        if (bd >= 0 && (d < 0 || bd < d))
            d = bd;
        if (b->dialing && b->fd >= 0 && n < max) {
            short ev = kafka_dialing_events(b->dialing);
            fds[n++] = (kafka_engine_fd){b->fd, (ev & POLLIN) != 0, (ev & POLLOUT) != 0};
        }
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
#if KE_HAVE_EPOLL
    /* An eventfd's one read takes its whole count. */
    if (read(e->wake_rd, buf, sizeof buf) < 0) {
    }
#else
    while (read(e->wake_rd, buf, sizeof buf) > 0) {
    }
#endif
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
        if (b->fd != fd)
            continue;
        if (b->dialing) {
            dialing_advance(e, b, now);
            return;
        }
        if (b->w.state != KE_WIRE_UP)
            continue;
        if (writable)
            broker_write(e, b, now);
        if (readable)
            broker_read(e, b, now);
        handshake_check(e, b, now);
        return;
    }
}

void kafka_engine_timeout(kafka_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->nb; i++) {
        ke_broker *b = e->b[i];
        if (b->dialing && now >= kafka_dialing_deadline(b->dialing))
            dialing_advance(e, b, now);
        if (b->w.state == KE_WIRE_UP && b->fd < 0 && b->s)
            broker_read(e, b, now); /* a user transport: no readiness to wait for */
        kafka_err err = ke_wire_expire(&b->w, now);
        if (err && b->w.state == KE_WIRE_UP) {
            char why[400];
            if (b->handshaking)
                snprintf(why, sizeof why, "broker %d: %s: connection setup timed out (no answer to %s within %d ms)",
                         b->node, b->addr, ke_handshake_step_name(&b->hs), e->cfg.dial_timeout_ms);
            else
                snprintf(why, sizeof why, "broker %d: %s", b->node, b->w.err);
            broker_down(e, b, err, why, now);
        }
        handshake_check(e, b, now);
    }
    if (e->cfg.on_turn)
        e->owner_next = e->cfg.on_turn(e->cfg.arg, e, now);
    for (size_t i = 0; i < e->nb; i++)
        if (e->b[i]->w.state == KE_WIRE_UP)
            broker_write(e, e->b[i], now); /* the handshake's requests too */
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
        int k = -1;
        int64_t linger = t != 0 && e->cfg.linger_until_us ? e->cfg.linger_until_us(e->cfg.arg) : 0;
        while (linger > 0 && kafka_now_us() < linger && !atomic_load(&e->stopping)) {
            if ((k = epoll_wait(e->ep, evs, 64, 0)) != 0)
                break;
            kafka_cpu_relax();
        }
        if (k <= 0)
            k = epoll_wait(e->ep, evs, 64, linger > 0 ? wait_ms(deadline, kafka_now_ms()) : t);
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
        kafka_dialing_free(b->dialing);
        b->dialing = NULL;
        kafka_stream_close(b->s);
        b->s = NULL;
        ke_wire_destroy(&b->w);
        if (b->handshaking)
            ke_handshake_free(&b->hs);
        b->handshaking = false;
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
