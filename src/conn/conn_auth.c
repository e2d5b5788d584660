/* Connection setup after dialing: ApiVersions negotiation and SASL. */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_priv.h"
#include "kafka/dialer.h"
#include "kafka/kafka.h"
#include "net/sasl.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"

KAFKA_CONN_ENCODER(api_versions_request)
KAFKA_CONN_ENCODER(sasl_handshake_request)
KAFKA_CONN_DECODER(sasl_handshake_response)
KAFKA_CONN_ENCODER(sasl_authenticate_request)
KAFKA_CONN_DECODER(sasl_authenticate_response)

/* ---- ApiVersions ------------------------------------------------------------ */

/* Newest ApiVersions version we send first; v3 is the first flexible one
 * and carries the client software name (KIP-511). */
#define APIV_FIRST 3

static void store_versions(kafka_conn *c, const kafka_api_versions_response *r)
{
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        c->bmin[i] = c->bmax[i] = -1;
    for (int32_t i = 0; i < r->api_keys_count; i++) {
        int16_t k = r->api_keys[i].api_key;
        if (k >= 0 && k < KAFKA_CONN_MAX_API) {
            c->bmin[k] = r->api_keys[i].min_version;
            c->bmax[k] = r->api_keys[i].max_version;
        }
    }
    c->have_versions = true;
}

/* Sends ApiVersions at `version`; on success *resp is decoded (arrays in
 * arena). An UNSUPPORTED_VERSION answer is decoded as v0, the format
 * brokers use for it, and returned as KAFKA_ERR_UNSUPPORTED_VERSION. */
static kafka_err api_versions_once(kafka_conn *c, int16_t version, kafka_arena *arena,
                                   kafka_api_versions_response *resp)
{
    kafka_api_versions_request req;
    kafka_api_versions_request_init(&req);
    if (version >= 3) {
        req.client_software_name = kafka_str_c("libkafka");
        req.client_software_version = kafka_str_c(KAFKA_VERSION_STRING);
    }
    int32_t corr;
    kafka_err err = kafka_conn_send(c, KAFKA_API_API_VERSIONS, version, api_versions_request_enc_, &req, &corr, NULL);
    if (err)
        return err;
    kafka_rbuf r;
    err = kafka_conn_recv_raw(c, corr, false, arena, &r);
    if (err)
        return err;
    /* Peek the error code: a broker that does not know `version` answers
     * in the v0 format. */
    int16_t code = 0;
    if (kafka_rbuf_remaining(&r) >= 2)
        code = (int16_t)((r.p[0] << 8) | r.p[1]);
    int16_t dv = code == KAFKA_ERR_UNSUPPORTED_VERSION ? 0 : version;
    kafka_api_versions_response_init(resp);
    err = kafka_api_versions_response_decode(&r, arena, dv, resp);
    /* The error code alone decides the fallback: librdkafka's mock (and
     * possibly other brokers) encode the rest of an UNSUPPORTED_VERSION
     * answer to a v3 request in the v3 layout, which does not decode as v0.
     * The frame was read whole, so the stream is still in sync. */
    if (code == KAFKA_ERR_UNSUPPORTED_VERSION && version > 0)
        return KAFKA_ERR_UNSUPPORTED_VERSION;
    if (err)
        return kafka_conn_fail(c, KAFKA_ERR_PROTOCOL, "%s: undecodable ApiVersions v%d response: field %s: %s",
                               c->addr, dv, r.field ? r.field : "?", kafka_err_str(err));
    if (resp->error_code)
        return kafka_conn_err(c, kafka_err_from_wire(resp->error_code), "%s: ApiVersions v%d: %s", c->addr,
                              version, kafka_err_str(kafka_err_from_wire(resp->error_code)));
    return 0;
}

kafka_err kafka_conn_negotiate_versions(kafka_conn *c)
{
    /* Until the broker answers, only ApiVersions itself is assumed to exist. */
    kafka_conn_set_broker_versions(c, KAFKA_API_API_VERSIONS, 0, APIV_FIRST);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_api_versions_response resp;
    kafka_err err = api_versions_once(c, APIV_FIRST, &arena, &resp);
    if (err == KAFKA_ERR_UNSUPPORTED_VERSION) {
        /* Old brokers (and librdkafka's mock) reject v3: retry with v0,
         * which every broker since 0.10 understands. */
        kafka_arena_reset(&arena);
        err = api_versions_once(c, 0, &arena, &resp);
    }
    if (!err)
        store_versions(c, &resp);
    kafka_arena_free(&arena);
    return err;
}

kafka_err kafka_conn_api_versions(kafka_conn *c, kafka_api_version **out, size_t *n)
{
    if (!c || !out || !n)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    *n = 0;
    size_t cnt = 0;
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        cnt += c->bmin[i] >= 0;
    kafka_api_version *v = kafka_calloc(cnt ? cnt : 1, sizeof *v);
    if (!v)
        return KAFKA_ERR_NOMEM;
    size_t j = 0;
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        if (c->bmin[i] >= 0)
            v[j++] = (kafka_api_version){(int16_t)i, c->bmin[i], c->bmax[i]};
    *out = v;
    *n = cnt;
    return 0;
}

void kafka_free_api_versions(kafka_api_version *v) { kafka_free(v); }

int16_t kafka_conn_api_version_for(kafka_conn *c, int16_t api_key)
{
    return kafka_conn_version(c, api_key, 0, INT16_MAX);
}

/* ---- SASL ---------------------------------------------------------------------- */

/* The v0 exchange: SASL tokens framed only by an int32 length, no Kafka
 * header (brokers before 1.0, or after SaslHandshake v0). */
static kafka_err sasl_raw_send(kafka_conn *c, const uint8_t *p, size_t len)
{
    uint8_t sz[4];
    kafka_write_u32_at(sz, (uint32_t)len);
    struct iovec iov[2] = {{sz, 4}, {(void *)(uintptr_t)p, len}};
    kafka_err err = kafka_stream_writev_full(c->s, iov, len ? 2 : 1, kafka_conn_write_deadline_mono(c));
    if (err)
        return kafka_conn_fail(c, err, "%s: SASL: write failed: %s", c->addr, kafka_stream_last_error(c->s));
    return 0;
}

static kafka_err sasl_raw_recv(kafka_conn *c, kafka_arena *arena, const uint8_t **p, size_t *len)
{
    uint8_t sz[4];
    int64_t dl = kafka_conn_read_deadline_mono(c);
    kafka_err err = kafka_stream_read_full(c->s, sz, 4, dl);
    if (err)
        return kafka_conn_fail(c, KAFKA_ERR_SASL_AUTHENTICATION_FAILED,
                               "%s: SASL: broker closed the connection during authentication (%s)", c->addr,
                               kafka_stream_last_error(c->s));
    int32_t n = (int32_t)kafka_read_u32_at(sz);
    if (n < 0 || n > 1024 * 1024)
        return kafka_conn_fail(c, KAFKA_ERR_SASL, "%s: SASL: bad token length %d", c->addr, n);
    uint8_t *buf = kafka_arena_alloc(arena, (size_t)n);
    if (!buf)
        return kafka_conn_fail(c, KAFKA_ERR_NOMEM, "%s: SASL: out of memory", c->addr);
    err = kafka_stream_read_full(c->s, buf, (size_t)n, dl);
    if (err)
        return kafka_conn_fail(c, err, "%s: SASL: read failed: %s", c->addr, kafka_stream_last_error(c->s));
    *p = buf;
    *len = (size_t)n;
    return 0;
}

/* One SaslAuthenticate round: sends `out`, returns the server's bytes. */
static kafka_err sasl_auth_round(kafka_conn *c, const kafka_wbuf *out, kafka_arena *arena, const uint8_t **p,
                                 size_t *len)
{
    kafka_sasl_authenticate_request req;
    kafka_sasl_authenticate_request_init(&req);
    req.auth_bytes = (kafka_bytes){out->data ? out->data : (const uint8_t *)"", (int32_t)out->len};
    kafka_sasl_authenticate_response resp;
    kafka_sasl_authenticate_response_init(&resp);
    kafka_err err = kafka_conn_roundtrip(c, KAFKA_API_SASL_AUTHENTICATE, -1, sasl_authenticate_request_enc_, &req,
                                         sasl_authenticate_response_dec_, &resp, arena, NULL);
    if (err)
        return err;
    if (resp.error_code) {
        kafka_err e = kafka_err_from_wire(resp.error_code);
        return kafka_conn_err(c, e, "%s: SASL authentication failed: %s%s%.*s", c->addr, kafka_err_str(e),
                              resp.error_message.len > 0 ? ": " : "",
                              resp.error_message.len > 0 ? (int)resp.error_message.len : 0,
                              resp.error_message.len > 0 ? resp.error_message.ptr : "");
    }
    *p = resp.auth_bytes.ptr;
    *len = resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0;
    return 0;
}

/* SaslHandshake: tells the broker the mechanism. Returns the version used
 * in *hv. */
static kafka_err sasl_handshake(kafka_conn *c, const kafka_sasl_mech *m, kafka_arena *arena, int16_t *hv)
{
    int16_t v = kafka_conn_version(c, KAFKA_API_SASL_HANDSHAKE, 0, 1);
    if (v < 0)
        return kafka_conn_err(c, KAFKA_ERR_SASL, "%s: SASL: broker does not offer SaslHandshake", c->addr);
    kafka_sasl_handshake_request req;
    kafka_sasl_handshake_request_init(&req);
    req.mechanism = kafka_str_c(m->name);
    kafka_sasl_handshake_response resp;
    kafka_sasl_handshake_response_init(&resp);
    kafka_err err = kafka_conn_roundtrip(c, KAFKA_API_SASL_HANDSHAKE, v, sasl_handshake_request_enc_, &req,
                                         sasl_handshake_response_dec_, &resp, arena, NULL);
    if (err)
        return err;
    if (resp.error_code) {
        char list[256] = "";
        size_t used = 0;
        for (int32_t i = 0; i < resp.mechanisms_count && used < sizeof list - 1; i++) {
            int n = snprintf(list + used, sizeof list - used, "%s%.*s", i ? ", " : "",
                             (int)(resp.mechanisms[i].len > 0 ? resp.mechanisms[i].len : 0),
                             resp.mechanisms[i].ptr ? resp.mechanisms[i].ptr : "");
            if (n < 0)
                break;
            used += (size_t)n;
        }
        kafka_err e = kafka_err_from_wire(resp.error_code);
        return kafka_conn_err(c, e, "%s: SASL mechanism %s rejected (%s); broker enables: %s", c->addr, m->name,
                              kafka_err_str(e), list[0] ? list : "none");
    }
    *hv = v;
    return 0;
}

/* Largest number of client messages in one authentication (SCRAM needs 2). */
#define SASL_MAX_ROUNDS 16

static kafka_err sasl_run(kafka_conn *c, const kafka_sasl_mech *m, void *st, bool raw, kafka_arena *arena)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    char why[256] = "";
    bool done = false;
    kafka_err err = m->step(st, NULL, 0, &out, &done, why, sizeof why);
    for (int round = 0; !err && !done; round++) {
        if (round == SASL_MAX_ROUNDS) {
            err = kafka_conn_err(c, KAFKA_ERR_SASL, "%s: SASL %s: no result after %d rounds", c->addr, m->name, round);
            break;
        }
        if (out.oom) {
            err = kafka_conn_err(c, KAFKA_ERR_NOMEM, "%s: SASL: out of memory", c->addr);
            break;
        }
        const uint8_t *in = NULL;
        size_t in_len = 0;
        if (raw) {
            err = sasl_raw_send(c, out.data, out.len);
            if (!err)
                err = sasl_raw_recv(c, arena, &in, &in_len);
        } else {
            err = sasl_auth_round(c, &out, arena, &in, &in_len);
        }
        if (err)
            break;
        out.len = 0;
        err = m->step(st, in ? in : (const uint8_t *)"", in_len, &out, &done, why, sizeof why);
    }
    if (err && why[0])
        kafka_conn_err(c, err, "%s: SASL %s: %s", c->addr, m->name, why);
    kafka_wbuf_free(&out);
    return err;
}

kafka_err kafka_conn_sasl(kafka_conn *c, const kafka_dialer_config *cfg)
{
    if (!cfg || cfg->sasl.mechanism == KAFKA_SASL_NONE)
        return 0;
    const kafka_sasl_mech *m = kafka_sasl_mech_by_id(cfg->sasl.mechanism);
    if (!m)
        return kafka_conn_err(c, KAFKA_ERR_INVALID_ARG, "SASL: unknown mechanism id %d", (int)cfg->sasl.mechanism);
    void *st = NULL;
    char why[256] = "";
    kafka_err err = m->create(&cfg->sasl, &st, why, sizeof why);
    if (err)
        return kafka_conn_err(c, err, "SASL %s: %s", m->name, why[0] ? why : kafka_err_str(err));
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    int16_t hv = 0;
    err = sasl_handshake(c, m, &arena, &hv);
    if (!err) {
        /* SaslAuthenticate when the broker has it (Kafka >= 1.0, with
         * handshake v1); the raw v0 exchange only otherwise. */
        bool raw = hv == 0 || kafka_conn_version(c, KAFKA_API_SASL_AUTHENTICATE, 0, INT16_MAX) < 0;
        err = sasl_run(c, m, st, raw, &arena);
    }
    m->destroy(st);
    kafka_arena_free(&arena);
    return err;
}
