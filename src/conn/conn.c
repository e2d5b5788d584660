/* kafka_conn core: lifecycle, errors, deadlines, framing, pipelining. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "conn/conn_priv.h"
#include "protocol/api.h"
#include "protocol/gen_runtime.h"

/* ---- lifecycle ------------------------------------------------------------ */

kafka_err kafka_conn_new(kafka_stream *s, const char *addr, const char *client_id, kafka_conn **out)
{
    *out = NULL;
    kafka_conn *c = kafka_calloc(1, sizeof *c);
    if (!c) {
        kafka_stream_close(s);
        return KAFKA_ERR_NOMEM;
    }
    c->s = s;
    c->addr = kafka_strdup(addr ? addr : "");
    c->client_id = kafka_strdup(client_id ? client_id : "libkafka");
    if (!c->addr || !c->client_id) {
        kafka_free(c->addr);
        kafka_free(c->client_id);
        kafka_free(c);
        kafka_stream_close(s);
        return KAFKA_ERR_NOMEM;
    }
    atomic_init(&c->refs, 1);
    atomic_init(&c->closed, false);
    atomic_init(&c->broken, false);
    atomic_init(&c->read_deadline, 0);
    atomic_init(&c->write_deadline, 0);
    pthread_mutex_init(&c->wmu, NULL);
    pthread_mutex_init(&c->qmu, NULL);
    c->next_corr = 1;
    c->max_response = KAFKA_CONN_DEFAULT_MAX_RESPONSE;
    c->partition = -1;
    kafka_api_table_clear(&c->versions);
    *out = c;
    return 0;
}

static void conn_free(kafka_conn *c)
{
    kafka_stream_close(c->s);
    pthread_mutex_destroy(&c->wmu);
    pthread_mutex_destroy(&c->qmu);
    kafka_free(c->q);
    kafka_free(c->addr);
    kafka_free(c->client_id);
    kafka_free(c->topic);
    kafka_free(c->ctrl_host);
    kafka_free(c->ctrl_rack);
    kafka_free(c);
}

kafka_err kafka_conn_enter(kafka_conn *c)
{
    if (!c)
        return KAFKA_ERR_INVALID_ARG;
    atomic_fetch_add(&c->refs, 1);
    if (atomic_load(&c->closed) || atomic_load(&c->broken)) {
        kafka_conn_leave(c);
        return KAFKA_ERR_CLOSED;
    }
    return 0;
}

void kafka_conn_leave(kafka_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        conn_free(c);
}

void kafka_conn_close(kafka_conn *c)
{
    if (!c || atomic_exchange(&c->closed, true))
        return;
    kafka_stream_interrupt(c->s); /* wakes a call blocked in another thread */
    kafka_conn_leave(c);          /* drops the owner's reference */
}

/* ---- errors --------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void conn_vseterr(kafka_conn *c, const char *fmt, va_list ap)
{
    vsnprintf(c->err, sizeof c->err, fmt, ap);
}

kafka_err kafka_conn_err(kafka_conn *c, kafka_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conn_vseterr(c, fmt, ap);
    va_end(ap);
    return err;
}

kafka_err kafka_conn_fail(kafka_conn *c, kafka_err err, const char *fmt, ...)
{
    /* the sending and the receiving thread may fail at once: the first one
     * to flip `broken` keeps its reason */
    if (!atomic_exchange(&c->broken, true)) {
        va_list ap;
        va_start(ap, fmt);
        conn_vseterr(c, fmt, ap);
        va_end(ap);
        c->broken_err = err;
        kafka_stream_interrupt(c->s); /* later reads and writes fail at once */
    }
    return err;
}

const char *kafka_conn_last_error(const kafka_conn *c) { return c ? c->err : "no conn"; }

const char *kafka_conn_address(const kafka_conn *c) { return c->addr; }

void kafka_conn_set_max_response_bytes(kafka_conn *c, int32_t max)
{
    c->max_response = max > 0 ? max : KAFKA_CONN_DEFAULT_MAX_RESPONSE;
}

/* ---- deadlines -------------------------------------------------------------- */

int64_t kafka_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kafka_conn_set_read_deadline(kafka_conn *c, int64_t unix_ms) { atomic_store(&c->read_deadline, unix_ms); }
void kafka_conn_set_write_deadline(kafka_conn *c, int64_t unix_ms) { atomic_store(&c->write_deadline, unix_ms); }

void kafka_conn_set_deadline(kafka_conn *c, int64_t unix_ms)
{
    kafka_conn_set_read_deadline(c, unix_ms);
    kafka_conn_set_write_deadline(c, unix_ms);
}

void kafka_conn_set_timeout(kafka_conn *c, int timeout_ms)
{
    kafka_conn_set_deadline(c, timeout_ms < 0 ? 0 : kafka_unix_ms() + timeout_ms);
}

/* Converts a Unix-time deadline to the stream's monotonic clock. A deadline
 * in the past maps to "now", so the stream times out at once. */
static int64_t to_mono(int64_t unix_deadline)
{
    if (unix_deadline <= 0)
        return -1;
    int64_t left = unix_deadline - kafka_unix_ms();
    return kafka_now_ms() + (left > 0 ? left : 0);
}

int64_t kafka_conn_read_deadline_mono(const kafka_conn *c) { return to_mono(atomic_load(&c->read_deadline)); }
int64_t kafka_conn_write_deadline_mono(const kafka_conn *c) { return to_mono(atomic_load(&c->write_deadline)); }

/* ---- bound partition ------------------------------------------------------------- */

kafka_err kafka_conn_bind(kafka_conn *c, const char *topic, int32_t partition)
{
    if (!c || !topic || partition < 0)
        return KAFKA_ERR_INVALID_ARG;
    char *t = kafka_strdup(topic);
    if (!t)
        return KAFKA_ERR_NOMEM;
    kafka_free(c->topic);
    c->topic = t;
    c->partition = partition;
    c->offset = 0;
    return 0;
}

const char *kafka_conn_topic(const kafka_conn *c) { return c->topic; }
int32_t kafka_conn_partition(const kafka_conn *c) { return c->partition; }
int64_t kafka_conn_offset(const kafka_conn *c) { return c->offset; }
void kafka_conn_set_offset(kafka_conn *c, int64_t offset) { c->offset = offset; }

/* ---- the pending queue ---------------------------------------------------------- */

static bool queue_push(kafka_conn *c, kafka_pending p)
{
    bool ok = true;
    pthread_mutex_lock(&c->qmu);
    if (c->q_len == c->q_cap) {
        size_t cap = c->q_cap ? c->q_cap * 2 : 8;
        kafka_pending *q = kafka_calloc(cap, sizeof *q);
        if (!q) {
            ok = false;
        } else {
            for (size_t i = 0; i < c->q_len; i++)
                q[i] = c->q[(c->q_head + i) % c->q_cap];
            kafka_free(c->q);
            c->q = q;
            c->q_cap = cap;
            c->q_head = 0;
        }
    }
    if (ok) {
        c->q[(c->q_head + c->q_len) % c->q_cap] = p;
        c->q_len++;
    }
    pthread_mutex_unlock(&c->qmu);
    return ok;
}

/* Copies the oldest entry; false when none. */
static bool queue_peek(kafka_conn *c, kafka_pending *p)
{
    pthread_mutex_lock(&c->qmu);
    bool ok = c->q_len > 0;
    if (ok)
        *p = c->q[c->q_head];
    pthread_mutex_unlock(&c->qmu);
    return ok;
}

static void queue_pop(kafka_conn *c)
{
    pthread_mutex_lock(&c->qmu);
    if (c->q_len > 0) {
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_len--;
    }
    pthread_mutex_unlock(&c->qmu);
}

int kafka_conn_in_flight(const kafka_conn *c)
{
    kafka_conn *m = (kafka_conn *)(uintptr_t)c; /* the mutex is not part of the value */
    pthread_mutex_lock(&m->qmu);
    int n = (int)m->q_len;
    pthread_mutex_unlock(&m->qmu);
    return n;
}

/* ---- framing ------------------------------------------------------------------------ */

static kafka_err usable(kafka_conn *c)
{
    if (atomic_load(&c->closed))
        return kafka_conn_err(c, KAFKA_ERR_CLOSED, "conn to %s was closed", c->addr);
    if (atomic_load(&c->broken))
        return KAFKA_ERR_CLOSED; /* last_error keeps the reason */
    return 0;
}

/* A stream error closes the conn; the text names the operation. */
static kafka_err stream_fail(kafka_conn *c, kafka_err err, const char *what)
{
    if (err == KAFKA_ERR_CLOSED || atomic_load(&c->closed))
        return kafka_conn_fail(c, KAFKA_ERR_CLOSED, "%s %s: conn was closed", what, c->addr);
    if (err == KAFKA_ERR_TIMEOUT)
        return kafka_conn_fail(c, err, "%s %s: deadline exceeded", what, c->addr);
    return kafka_conn_fail(c, err, "%s %s: %s", what, c->addr, kafka_stream_last_error(c->s));
}

/* Header + body pieces in one vectored write; bodies of more pieces than
 * fit on the stack get a heap array. */
#define SEND_IOV_STACK 32

kafka_err kafka_conn_send_rawv(kafka_conn *c, int16_t api_key, int16_t version, bool flexible_header,
                               const struct iovec *body, int body_cnt, bool expect_response, int32_t *corr_out)
{
    kafka_err err = usable(c);
    if (err)
        return err;
    if (body_cnt < 0 || (body_cnt > 0 && !body))
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "bad request body pieces");
    uint8_t hdr[KAFKA_REQUEST_HEADER_MAX];
    size_t id_len = strlen(c->client_id);
    size_t hlen = 4 + 2 + 2 + 4 + 2 + (id_len > 255 ? 255 : id_len) + (flexible_header ? 1 : 0);
    size_t body_len = 0;
    for (int i = 0; i < body_cnt; i++) {
        if (body[i].iov_len > (size_t)INT32_MAX - hlen - body_len)
            return kafka_conn_err(c, KAFKA_ERR_TOO_LARGE, "request exceeds the 2 GiB frame limit");
        body_len += body[i].iov_len;
    }
    struct iovec stack_iov[SEND_IOV_STACK + 1], *iov = stack_iov;
    if (body_cnt > SEND_IOV_STACK) {
        iov = kafka_malloc(((size_t)body_cnt + 1) * sizeof *iov);
        if (!iov)
            return kafka_conn_err(c, KAFKA_ERR_NOMEM, "out of memory sending a request");
    }
    iov[0] = (struct iovec){hdr, hlen};
    if (body_cnt)
        memcpy(iov + 1, body, (size_t)body_cnt * sizeof *iov);

    pthread_mutex_lock(&c->wmu);
    int32_t corr = c->next_corr;
    c->next_corr = corr == INT32_MAX ? 0 : corr + 1;
    kafka_frame_header_write(hdr, api_key, version, corr, c->client_id, flexible_header, body_len);
    if (expect_response && !queue_push(c, (kafka_pending){corr, api_key, version})) {
        pthread_mutex_unlock(&c->wmu);
        if (iov != stack_iov)
            kafka_free(iov);
        return kafka_conn_err(c, KAFKA_ERR_NOMEM, "out of memory queueing a request");
    }
    err = kafka_stream_writev_full(c->s, iov, body_cnt + 1, kafka_conn_write_deadline_mono(c));
    pthread_mutex_unlock(&c->wmu);
    if (iov != stack_iov)
        kafka_free(iov);
    if (err)
        return stream_fail(c, err, "write to");
    if (corr_out)
        *corr_out = corr;
    return 0;
}

kafka_err kafka_conn_send_raw(kafka_conn *c, int16_t api_key, int16_t version, bool flexible_header,
                              const uint8_t *body, size_t body_len, bool expect_response, int32_t *corr_out)
{
    struct iovec iov = {(void *)(uintptr_t)body, body_len};
    return kafka_conn_send_rawv(c, api_key, version, flexible_header, &iov, body_len ? 1 : 0, expect_response,
                                corr_out);
}

kafka_err kafka_conn_recv_raw(kafka_conn *c, int32_t corr, bool flexible_header, kafka_arena *arena,
                              kafka_rbuf *body)
{
    kafka_err err = usable(c);
    if (err)
        return err;
    kafka_pending p;
    if (!queue_peek(c, &p))
        return kafka_conn_err(c, KAFKA_ERR_STATE, "no request outstanding for correlation id %d", corr);
    if (p.corr != corr)
        return kafka_conn_err(c, KAFKA_ERR_STATE,
                              "correlation id %d received out of order: %d is outstanding before it", corr, p.corr);

    int64_t deadline = kafka_conn_read_deadline_mono(c);
    uint8_t szb[4];
    err = kafka_stream_read_full(c->s, szb, 4, deadline);
    if (err)
        return stream_fail(c, err, "read from");
    int32_t size = (int32_t)kafka_read_u32_at(szb);
    char why[160];
    err = kafka_frame_check_size(size, c->max_response, why, sizeof why);
    if (err)
        return kafka_conn_fail(c, err, "%s: %s", c->addr, why);
    uint8_t *frame = kafka_arena_alloc_uninit(arena, (size_t)size); /* filled by the read below */
    if (!frame)
        return kafka_conn_fail(c, KAFKA_ERR_NOMEM, "%s: no memory for a %d-byte response", c->addr, size);
    err = kafka_stream_read_full(c->s, frame, (size_t)size, deadline);
    if (err) {
        if (err == KAFKA_ERR_TRANSPORT)
            return kafka_conn_fail(c, KAFKA_ERR_TRUNCATED, "%s: truncated response: connection ended inside a %d-byte frame (%s)",
                                   c->addr, size, kafka_stream_last_error(c->s));
        return stream_fail(c, err, "read from");
    }
    int32_t got = (int32_t)kafka_read_u32_at(frame);
    if (got != corr)
        return kafka_conn_fail(c, KAFKA_ERR_PROTOCOL, "%s: response for correlation id %d expected, got %d", c->addr,
                               corr, got);
    queue_pop(c);
    kafka_rbuf_init(body, frame + 4, (size_t)size - 4);
    if (flexible_header) {
        kafka_gen_skip_tagged(body, "ResponseHeader._tagged_fields");
        if (body->err)
            return kafka_conn_fail(c, KAFKA_ERR_PROTOCOL, "%s: malformed response header: field %s", c->addr,
                                   body->field ? body->field : "?");
    }
    return 0;
}

/* ---- typed calls ------------------------------------------------------------------------- */

static bool req_flexible(int16_t api_key, int16_t version) { return kafka_request_header_flexible(api_key, version); }

static bool resp_header_flexible(int16_t api_key, int16_t version)
{
    return kafka_response_header_flexible(api_key, version);
}

static const char *api_name(int16_t api_key)
{
    const kafka_api_info *ai = kafka_api_info_get(api_key);
    return ai ? ai->name : "unknown API";
}

kafka_err kafka_conn_send(kafka_conn *c, int16_t api_key, int16_t version, kafka_encode_fn enc, const void *req,
                          int32_t *corr_out, int16_t *version_out)
{
    if (version < 0) {
        version = kafka_conn_version(c, api_key, 0, INT16_MAX);
        if (version < 0)
            return KAFKA_ERR_NO_COMMON_VERSION;
    }
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_err err = enc(&w, version, req);
    if (!err && w.oom)
        err = KAFKA_ERR_NOMEM;
    if (err) {
        kafka_wbuf_free(&w);
        return kafka_conn_err(c, err, "encoding %s v%d request failed: %s", api_name(api_key), version,
                              kafka_err_str(err));
    }
    if (version_out)
        *version_out = version;
    err = kafka_conn_send_raw(c, api_key, version, req_flexible(api_key, version), w.data, w.len, true, corr_out);
    kafka_wbuf_free(&w);
    return err;
}

kafka_err kafka_conn_recv(kafka_conn *c, int32_t corr, int16_t api_key, int16_t version, kafka_decode_fn dec,
                          void *resp, kafka_arena *arena)
{
    kafka_rbuf r;
    kafka_err err = kafka_conn_recv_raw(c, corr, resp_header_flexible(api_key, version), arena, &r);
    if (err)
        return err;
    err = dec(&r, arena, version, resp);
    if (err == KAFKA_ERR_NOMEM)
        return kafka_conn_err(c, err, "%s: out of memory decoding a %s v%d response", c->addr, api_name(api_key),
                              version);
    if (err)
        return kafka_conn_fail(c, KAFKA_ERR_PROTOCOL, "%s: undecodable %s v%d response: field %s: %s", c->addr,
                               api_name(api_key), version, r.field ? r.field : "?", kafka_err_str(err));
    return 0;
}

kafka_err kafka_conn_roundtrip(kafka_conn *c, int16_t api_key, int16_t version, kafka_encode_fn enc, const void *req,
                               kafka_decode_fn dec, void *resp, kafka_arena *arena, int16_t *version_out)
{
    int32_t corr;
    int16_t v;
    kafka_err err = kafka_conn_send(c, api_key, version, enc, req, &corr, &v);
    if (err)
        return err;
    if (version_out)
        *version_out = v;
    return kafka_conn_recv(c, corr, api_key, v, dec, resp, arena);
}

/* ---- versions ---------------------------------------------------------------------------- */

void kafka_conn_set_broker_versions(kafka_conn *c, int16_t api_key, int16_t min, int16_t max)
{
    if (api_key < 0 || api_key >= KAFKA_CONN_MAX_API)
        return;
    c->versions.min[api_key] = min;
    c->versions.max[api_key] = max;
    c->have_versions = true;
}

void kafka_conn_set_versions(kafka_conn *c, const kafka_api_table *t)
{
    c->versions = *t;
    c->have_versions = true;
}

int16_t kafka_conn_version(kafka_conn *c, int16_t api_key, int16_t want_min, int16_t want_max)
{
    char why[200];
    int16_t v = kafka_api_table_pick(&c->versions, api_key, want_min, want_max, why, sizeof why);
    if (v < 0)
        kafka_conn_err(c, KAFKA_ERR_NO_COMMON_VERSION, "%s: %s", c->addr, why);
    return v;
}

