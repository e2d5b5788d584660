/* ke_meta: metadata refresh through the engine (meta.h). */
#include "engine/meta.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/backoff.h"
#include "protocol/api.h"
#include "protocol/gen/metadata.h"

KAFKA_CONN_ENCODER(metadata_request)

/* Candidates looked at per search: real clusters list far fewer. */
#define KE_META_MAX_CANDIDATES 256

void ke_meta_init(ke_meta *m, kafka_cluster *kc, int backoff_min_ms, int backoff_max_ms, int timeout_ms,
                  ke_meta_done_fn done, void *arg)
{
    memset(m, 0, sizeof *m);
    m->kc = kc;
    m->backoff_min_ms = backoff_min_ms > 0 ? backoff_min_ms : 100;
    m->backoff_max_ms = backoff_max_ms >= m->backoff_min_ms ? backoff_max_ms : m->backoff_min_ms;
    m->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    m->done = done;
    m->arg = arg;
    m->broker = -1;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kafka_free(v[i]);
    kafka_free(v);
}

void ke_meta_free(ke_meta *m)
{
    names_free(m->want, m->n_want);
    names_free(m->asked, m->n_asked);
    m->want = m->asked = NULL;
    m->n_want = m->cap_want = m->n_asked = 0;
}

bool ke_meta_busy(const ke_meta *m) { return m->in_flight || m->n_want > 0; }

/* Adds name to want, taking it (freed when already there). */
static kafka_err want_take(ke_meta *m, char *name)
{
    for (size_t i = 0; i < m->n_want; i++)
        if (strcmp(m->want[i], name) == 0) {
            kafka_free(name);
            return 0;
        }
    if (!kafka_array_reserve((void **)&m->want, &m->cap_want, m->n_want + 1, sizeof *m->want, 8)) {
        kafka_free(name);
        return KAFKA_ERR_NOMEM;
    }
    m->want[m->n_want++] = name;
    return 0;
}

kafka_err ke_meta_want(ke_meta *m, const char *topic)
{
    /* the answer on its way covers it */
    for (size_t i = 0; m->in_flight && i < m->n_asked; i++)
        if (strcmp(m->asked[i], topic) == 0)
            return 0;
    for (size_t i = 0; i < m->n_want; i++)
        if (strcmp(m->want[i], topic) == 0)
            return 0;
    char *name = kafka_strdup(topic);
    return name ? want_take(m, name) : KAFKA_ERR_NOMEM;
}

/* The request in flight (or being sent) failed: its topics are wanted
 * again, after a backoff. */
static void failed(ke_meta *m, kafka_err err, const char *why, int64_t now)
{
    for (size_t i = 0; i < m->n_asked; i++)
        want_take(m, m->asked[i]); /* NOMEM: that topic waits for its owner's next want */
    kafka_free(m->asked);
    m->asked = NULL;
    m->n_asked = 0;
    m->in_flight = false;
    m->failed++;
    m->next_at = now + kafka_backoff_ms(m->attempt < 16 ? m->attempt : 16, m->backoff_min_ms, m->backoff_max_ms);
    m->attempt++;
    if (err != KAFKA_ERR_CLOSED && m->done)
        m->done(m->arg, err, why);
}

static void on_metadata(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    ke_meta *m = arg;
    int64_t now = kafka_now_ms();
    char text[300];
    if (err) {
        snprintf(text, sizeof text, "%s", why && *why ? why : kafka_err_str(err));
        failed(m, err, text, now);
        return;
    }
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response resp;
    kafka_metadata_response_init(&resp);
    kafka_rbuf rb;
    kafka_rbuf_init(&rb, body, len);
    err = kafka_metadata_response_decode(&rb, &arena, m->version, &resp);
    if (err && err != KAFKA_ERR_NOMEM) {
        snprintf(text, sizeof text, "broker %d: undecodable Metadata v%d response: field %s: %s", (int)m->broker,
                 (int)m->version, rb.field ? rb.field : "?", kafka_err_str(err));
        kafka_engine_fail_broker(m->e, m->broker, KAFKA_ERR_PROTOCOL, text);
        err = KAFKA_ERR_PROTOCOL;
    }
    if (!err)
        err = kafka_cluster_md_apply(m->kc, &resp, (const char *const *)m->asked, m->n_asked);
    kafka_arena_free(&arena);
    kafka_free(frame);
    if (err) {
        if (err == KAFKA_ERR_NOMEM)
            snprintf(text, sizeof text, "metadata: no memory for the answer");
        failed(m, err, text, now);
        return;
    }
    names_free(m->asked, m->n_asked);
    m->asked = NULL;
    m->n_asked = 0;
    m->in_flight = false;
    m->attempt = 0;
    m->next_at = now + m->backoff_min_ms;
    if (m->done)
        m->done(m->arg, 0, NULL);
}

int64_t ke_meta_turn(ke_meta *m, kafka_engine *e, int64_t now)
{
    m->e = e;
    if (m->in_flight || !m->n_want)
        return -1;
    if (now < m->next_at)
        return m->next_at;
    char why[300] = "";
    int32_t broker = -1;
    kafka_err err = ke_any_broker(e, m->kc, &m->rr, &broker, why, sizeof why);
    if (err == KAFKA_ERR_STATE)
        return -1; /* connecting: the engine runs a turn when that attempt ends */
    int16_t v = -1;
    if (!err && (v = kafka_engine_version(e, broker, KAFKA_API_METADATA, 0, KAFKA_CLUSTER_MD_MAX_VERSION, why,
                                          sizeof why)) < 0)
        err = KAFKA_ERR_NO_COMMON_VERSION;
    /* The wanted topics become the request's. */
    m->asked = m->want;
    m->n_asked = m->n_want;
    m->want = NULL;
    m->n_want = m->cap_want = 0;
    if (!err) {
        kafka_arena arena;
        kafka_arena_init(&arena, 0);
        kafka_metadata_request req;
        /* The same request as the blocking refresh (cluster.c): the
         * named topics; auto-creation as the cluster config says (v4+). */
        err = kafka_cluster_md_request(m->kc, (const char *const *)m->asked, m->n_asked, 0, v, &arena, &req);
        if (!err)
            err = kafka_engine_send(e, broker, KAFKA_API_METADATA, v, metadata_request_enc_, &req,
                                    now + m->timeout_ms, on_metadata, m);
        kafka_arena_free(&arena);
        if (err)
            snprintf(why, sizeof why, "metadata request to broker %d: %s", (int)broker, kafka_err_str(err));
    }
    if (err) {
        failed(m, err, why, now);
        return m->next_at;
    }
    m->version = v;
    m->broker = broker;
    m->in_flight = true;
    m->sent++;
    return -1;
}

kafka_err ke_any_broker(kafka_engine *e, kafka_cluster *kc, size_t *rr, int32_t *out, char *why, size_t why_len)
{
    int32_t ids[KE_META_MAX_CANDIDATES];
    size_t n = kafka_cluster_md_candidates(kc, ids, KE_META_MAX_CANDIDATES);
    if (n > KE_META_MAX_CANDIDATES)
        n = KE_META_MAX_CANDIDATES;
    *out = -1;
    char tmp[300];
    /* An idle connection costs nothing and delays no one; a busy one may
     * hold the request behind a long-polling Fetch. */
    int32_t best = -1;
    size_t best_load = 0;
    for (size_t i = 0; i < n; i++) {
        if (kafka_engine_version(e, ids[i], KAFKA_API_METADATA, 0, KAFKA_CLUSTER_MD_MAX_VERSION, tmp, sizeof tmp) < 0)
            continue;
        size_t load = kafka_engine_in_flight(e, ids[i]);
        if (load == 0) {
            *out = ids[i];
            return 0;
        }
        if (best < 0 || load < best_load) {
            best = ids[i];
            best_load = load;
        }
    }
    /* None idle: connect one more (only one attempt when a busy one can
     * serve instead; every candidate when none is up). */
    kafka_err err = KAFKA_ERR_NO_BROKERS;
    bool fatal = false, connecting = false;
    snprintf(why, why_len, "no broker is reachable");
    for (size_t k = 0; k < n; k++) {
        size_t i = (*rr + k) % n;
        if (kafka_engine_version(e, ids[i], KAFKA_API_METADATA, 0, KAFKA_CLUSTER_MD_MAX_VERSION, tmp, sizeof tmp) >= 0)
            continue;
        kafka_err c = kafka_engine_broker(e, ids[i], tmp, sizeof tmp);
        if (!c) {
            *rr = i + 1;
            *out = ids[i];
            return 0;
        }
        if (c == KAFKA_ERR_STATE) { /* being set up: it may serve on a later turn */
            connecting = true;
        } else if (!fatal) {
            fatal = kafka_err_is_fatal(c);
            err = c;
            snprintf(why, why_len, "%s", tmp);
        }
        if (best >= 0) {
            *rr = i + 1;
            break;
        }
    }
    if (best >= 0) {
        *out = best;
        return 0;
    }
    (*rr)++;
    if (connecting && !fatal) {
        snprintf(why, why_len, "connecting");
        return KAFKA_ERR_STATE;
    }
    if (n == 0)
        snprintf(why, why_len, "no broker known");
    return err == KAFKA_ERR_TRANSPORT || err == KAFKA_ERR_RESOLVE ? KAFKA_ERR_NO_BROKERS : err;
}
