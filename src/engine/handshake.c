/* ke_handshake: ApiVersions and SASL over a ke_wire, without I/O
 * (handshake.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/handshake.h"
#include "kafka/kafka.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"

KAFKA_CONN_ENCODER(api_versions_request)
KAFKA_CONN_ENCODER(sasl_handshake_request)
KAFKA_CONN_ENCODER(sasl_authenticate_request)

/* Newest ApiVersions version we send first; v3 is the first flexible one
 * and carries the client software name (KIP-511). */
#define APIV_FIRST 3
/* Largest number of client messages in one authentication (SCRAM needs 2). */
#define SASL_MAX_ROUNDS 16
/* Largest raw (v0) SASL token accepted from a broker. */
#define SASL_MAX_RAW_TOKEN (1024 * 1024)

static void hs_fail(ke_handshake *h, kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void hs_fail(ke_handshake *h, kafka_err err, const char *fmt, ...)
{
    if (ke_handshake_finished(h))
        return; /* the first outcome is the one to report */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->why, sizeof h->why, fmt, ap);
    va_end(ap);
    h->err = err;
    h->state = KE_HS_FAILED;
}

static void on_response(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                        size_t len);

/* A response that does not decode: the broker's fault (PROTOCOL, naming
 * the field), unless memory ran out. */
static void hs_undecodable(ke_handshake *h, const char *api, int16_t version, const kafka_rbuf *r, kafka_err err)
{
    if (err == KAFKA_ERR_NOMEM)
        hs_fail(h, err, "%s: %s v%d response: out of memory", h->addr, api, version);
    else
        hs_fail(h, KAFKA_ERR_PROTOCOL, "%s: undecodable %s v%d response: field %s: %s", h->addr, api, version,
                r->field ? r->field : "?", kafka_err_str(err));
}

/* Frames and queues one request of the handshake on the wire. */
static void hs_submit(ke_handshake *h, int16_t api_key, int16_t version, kafka_encode_fn enc, const void *req)
{
    kafka_wbuf body;
    kafka_wbuf_init(&body);
    kafka_err err = enc(&body, version, req);
    if (!err && body.oom)
        err = KAFKA_ERR_NOMEM;
    uint8_t hdr[KAFKA_REQUEST_HEADER_MAX];
    size_t hlen = 0;
    uint8_t *frame = NULL;
    h->req_version = version;
    if (!err) {
        int32_t corr = ke_wire_next_corr(h->w);
        hlen = kafka_frame_header_write(hdr, api_key, version, corr, h->client_id,
                                        kafka_request_header_flexible(api_key, version), body.len);
        frame = kafka_malloc(hlen + body.len);
        if (frame) {
            memcpy(frame, hdr, hlen);
            if (body.len)
                memcpy(frame + hlen, body.data, body.len);
            err = ke_wire_submit(h->w, corr, frame, hlen + body.len, kafka_response_header_flexible(api_key, version),
                                 h->deadline, on_response, h);
        } else {
            err = KAFKA_ERR_NOMEM;
        }
    }
    kafka_wbuf_free(&body);
    if (err) {
        const kafka_api_info *ai = kafka_api_info_get(api_key);
        hs_fail(h, err, "%s: cannot encode %s v%d: %s", h->addr, ai ? ai->name : "?", version, kafka_err_str(err));
    }
}

/* The raw exchange: the token framed by its int32 length only. */
static void hs_submit_raw(ke_handshake *h, const uint8_t *tok, size_t len)
{
    uint8_t *frame = kafka_malloc(4 + len);
    if (!frame) {
        hs_fail(h, KAFKA_ERR_NOMEM, "%s: SASL: out of memory", h->addr);
        return;
    }
    kafka_write_u32_at(frame, (uint32_t)len);
    if (len)
        memcpy(frame + 4, tok, len);
    kafka_err err = ke_wire_submit(h->w, ke_wire_next_corr(h->w), frame, 4 + len, false, h->deadline, on_response, h);
    if (err)
        hs_fail(h, err, "%s: SASL: out of memory", h->addr);
    else
        ke_wire_last_raw(h->w);
}

static void send_api_versions(ke_handshake *h, int16_t version)
{
    kafka_api_versions_request req;
    kafka_api_versions_request_init(&req);
    if (version >= 3) {
        req.client_software_name = kafka_str_c("libkafka");
        req.client_software_version = kafka_str_c(KAFKA_VERSION_STRING);
    }
    h->apiv_version = version;
    h->state = KE_HS_API_VERSIONS;
    hs_submit(h, KAFKA_API_API_VERSIONS, version, api_versions_request_enc_, &req);
}

/* Sends the mechanism's next client message (out), raw or in a
 * SaslAuthenticate request. */
static void send_token(ke_handshake *h, const kafka_wbuf *out)
{
    if (h->rounds++ == SASL_MAX_ROUNDS) {
        hs_fail(h, KAFKA_ERR_SASL, "%s: SASL %s: no result after %d rounds", h->addr, h->mech->name,
                SASL_MAX_ROUNDS);
        return;
    }
    h->state = KE_HS_SASL_AUTH;
    if (h->raw) {
        hs_submit_raw(h, out->data, out->len);
        return;
    }
    char why[200];
    int16_t v = kafka_api_table_pick(&h->versions, KAFKA_API_SASL_AUTHENTICATE, 0, INT16_MAX, why, sizeof why);
    if (v < 0) {
        hs_fail(h, KAFKA_ERR_NO_COMMON_VERSION, "%s: %s", h->addr, why);
        return;
    }
    kafka_sasl_authenticate_request req;
    kafka_sasl_authenticate_request_init(&req);
    req.auth_bytes = (kafka_bytes){out->data ? out->data : (const uint8_t *)"", (int32_t)out->len};
    hs_submit(h, KAFKA_API_SASL_AUTHENTICATE, v, sasl_authenticate_request_enc_, &req);
}

/* Feeds the broker's bytes (NULL: the first step) to the mechanism and
 * sends its answer, or finishes. */
static void sasl_step(ke_handshake *h, const uint8_t *in, size_t in_len)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    char why[256] = "";
    bool done = false;
    kafka_err err = h->mech->step(h->mech_state, in, in_len, &out, &done, why, sizeof why);
    if (!err && out.oom)
        err = KAFKA_ERR_NOMEM;
    if (err)
        hs_fail(h, err, "%s: SASL %s: %s", h->addr, h->mech->name, why[0] ? why : kafka_err_str(err));
    else if (done)
        h->state = KE_HS_DONE;
    else
        send_token(h, &out);
    kafka_wbuf_free(&out);
}

static void start_sasl(ke_handshake *h)
{
    const kafka_sasl_mech *m = kafka_sasl_mech_by_id(h->sasl->mechanism);
    if (!m) {
        hs_fail(h, KAFKA_ERR_INVALID_ARG, "SASL: unknown mechanism id %d", (int)h->sasl->mechanism);
        return;
    }
    char why[256] = "";
    kafka_err err = m->create(h->sasl, &h->mech_state, why, sizeof why);
    if (err) {
        hs_fail(h, err, "SASL %s: %s", m->name, why[0] ? why : kafka_err_str(err));
        return;
    }
    h->mech = m;
    int16_t v = kafka_api_table_pick(&h->versions, KAFKA_API_SASL_HANDSHAKE, 0, 1, why, sizeof why);
    if (v < 0) {
        hs_fail(h, KAFKA_ERR_SASL, "%s: SASL: broker does not offer SaslHandshake", h->addr);
        return;
    }
    kafka_sasl_handshake_request req;
    kafka_sasl_handshake_request_init(&req);
    req.mechanism = kafka_str_c(m->name);
    /* SaslAuthenticate when the broker has it (Kafka >= 1.0, with
     * handshake v1); the raw v0 exchange only otherwise. */
    h->raw = v == 0 || kafka_api_table_pick(&h->versions, KAFKA_API_SASL_AUTHENTICATE, 0, INT16_MAX, why,
                                            sizeof why) < 0;
    h->state = KE_HS_SASL_HANDSHAKE;
    hs_submit(h, KAFKA_API_SASL_HANDSHAKE, v, sasl_handshake_request_enc_, &req);
}

/* ---- responses -------------------------------------------------------------- */

static void on_api_versions(ke_handshake *h, kafka_rbuf *r, kafka_arena *arena)
{
    /* Peek the error code: a broker that does not know the version asked
     * answers in the v0 format. */
    int16_t code = 0;
    if (kafka_rbuf_remaining(r) >= 2)
        code = (int16_t)((r->p[0] << 8) | r->p[1]);
    /* The error code alone decides the fallback: librdkafka's mock (and
     * possibly other brokers) encode the rest of an UNSUPPORTED_VERSION
     * answer to a v3 request in the v3 layout, which does not decode as
     * v0. The frame was read whole, so the stream is still in sync. */
    if (code == KAFKA_ERR_UNSUPPORTED_VERSION && h->apiv_version > 0) {
        send_api_versions(h, 0); /* every broker since 0.10 understands v0 */
        return;
    }
    int16_t dv = code == KAFKA_ERR_UNSUPPORTED_VERSION ? 0 : h->apiv_version;
    kafka_api_versions_response resp;
    kafka_api_versions_response_init(&resp);
    kafka_err err = kafka_api_versions_response_decode(r, arena, dv, &resp);
    if (err) {
        hs_undecodable(h, "ApiVersions", dv, r, err);
        return;
    }
    if (resp.error_code) {
        err = kafka_err_from_wire(resp.error_code);
        hs_fail(h, err, "%s: ApiVersions v%d: %s", h->addr, h->apiv_version, kafka_err_str(err));
        return;
    }
    kafka_api_table_clear(&h->versions);
    for (int32_t i = 0; i < resp.api_keys_count; i++) {
        int16_t k = resp.api_keys[i].api_key;
        if (k >= 0 && k < KAFKA_CONN_MAX_API) {
            h->versions.min[k] = resp.api_keys[i].min_version;
            h->versions.max[k] = resp.api_keys[i].max_version;
        }
    }
    if (h->sasl && h->sasl->mechanism != KAFKA_SASL_NONE)
        start_sasl(h);
    else
        h->state = KE_HS_DONE;
}

static void on_sasl_handshake(ke_handshake *h, kafka_rbuf *r, kafka_arena *arena, int16_t version)
{
    kafka_sasl_handshake_response resp;
    kafka_sasl_handshake_response_init(&resp);
    kafka_err err = kafka_sasl_handshake_response_decode(r, arena, version, &resp);
    if (err) {
        hs_undecodable(h, "SaslHandshake", version, r, err);
        return;
    }
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
        err = kafka_err_from_wire(resp.error_code);
        hs_fail(h, err, "%s: SASL mechanism %s rejected (%s); broker enables: %s", h->addr, h->mech->name,
                kafka_err_str(err), list[0] ? list : "none");
        return;
    }
    sasl_step(h, NULL, 0);
}

static void on_sasl_authenticate(ke_handshake *h, kafka_rbuf *r, kafka_arena *arena, int16_t version)
{
    kafka_sasl_authenticate_response resp;
    kafka_sasl_authenticate_response_init(&resp);
    kafka_err err = kafka_sasl_authenticate_response_decode(r, arena, version, &resp);
    if (err) {
        hs_undecodable(h, "SaslAuthenticate", version, r, err);
        return;
    }
    if (resp.error_code) {
        err = kafka_err_from_wire(resp.error_code);
        hs_fail(h, err, "%s: SASL authentication failed: %s%s%.*s", h->addr, kafka_err_str(err),
                resp.error_message.len > 0 ? ": " : "", resp.error_message.len > 0 ? (int)resp.error_message.len : 0,
                resp.error_message.len > 0 ? resp.error_message.ptr : "");
        return;
    }
    sasl_step(h, resp.auth_bytes.ptr ? resp.auth_bytes.ptr : (const uint8_t *)"",
              resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0);
}

static void on_response(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body,
                        size_t len)
{
    ke_handshake *h = arg;
    if (err) {
        if (h->state == KE_HS_SASL_AUTH && h->raw && err == KAFKA_ERR_TRANSPORT)
            hs_fail(h, KAFKA_ERR_SASL_AUTHENTICATION_FAILED,
                    "%s: SASL: broker closed the connection during authentication (%s)", h->addr, why ? why : "");
        else
            hs_fail(h, err, "%s", why ? why : kafka_err_str(err));
        return;
    }
    if (h->state == KE_HS_FAILED) { /* a late answer: nothing more to do */
        kafka_free(frame);
        return;
    }
    kafka_rbuf r;
    kafka_rbuf_init(&r, body, len);
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    switch (h->state) {
    case KE_HS_API_VERSIONS:
        on_api_versions(h, &r, &arena);
        break;
    case KE_HS_SASL_HANDSHAKE:
        on_sasl_handshake(h, &r, &arena, h->req_version);
        break;
    case KE_HS_SASL_AUTH:
        if (h->raw) {
            if (len > SASL_MAX_RAW_TOKEN)
                hs_fail(h, KAFKA_ERR_SASL, "%s: SASL: bad token length %zu", h->addr, len);
            else
                sasl_step(h, body, len);
        } else {
            on_sasl_authenticate(h, &r, &arena, h->req_version);
        }
        break;
    default:
        hs_fail(h, KAFKA_ERR_PROTOCOL, "%s: unexpected response during connection setup", h->addr);
        break;
    }
    kafka_arena_free(&arena);
    kafka_free(frame);
}

kafka_err ke_handshake_start(ke_handshake *h, ke_wire *w, const kafka_dialer_config *cfg, const char *addr,
                             const char *client_id, int64_t deadline)
{
    memset(h, 0, sizeof *h);
    h->w = w;
    h->sasl = cfg ? &cfg->sasl : NULL;
    h->client_id = client_id ? client_id : "libkafka";
    snprintf(h->addr, sizeof h->addr, "%s", addr ? addr : "?");
    h->deadline = deadline;
    kafka_api_table_clear(&h->versions);
    /* Until the broker answers, only ApiVersions itself is assumed to exist. */
    h->versions.min[KAFKA_API_API_VERSIONS] = 0;
    h->versions.max[KAFKA_API_API_VERSIONS] = APIV_FIRST;
    send_api_versions(h, APIV_FIRST);
    return h->state == KE_HS_FAILED ? h->err : 0;
}

const char *ke_handshake_step_name(const ke_handshake *h)
{
    switch (h->state) {
    case KE_HS_API_VERSIONS:
        return "ApiVersions";
    case KE_HS_SASL_HANDSHAKE:
        return "SaslHandshake";
    case KE_HS_SASL_AUTH:
        return h->raw ? "the SASL token" : "SaslAuthenticate";
    default:
        return "nothing";
    }
}

void ke_handshake_free(ke_handshake *h)
{
    if (h->mech)
        h->mech->destroy(h->mech_state);
    h->mech = NULL;
    h->mech_state = NULL;
}
