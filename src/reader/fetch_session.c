/* Fetch sessions (KIP-227), client side, without I/O (fetch_session.h). */
#include <string.h>

#include "common/alloc.h"
#include "reader/fetch_session.h"

void kr_session_init(kr_session *s) { memset(s, 0, sizeof *s); }

void kr_session_free(kr_session *s)
{
    kafka_free(s->set);
    memset(s, 0, sizeof *s);
}

static const kafka_fetch_want *find(const kafka_fetch_want *v, size_t n, const kafka_fetch_want *w)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].partition == w->partition && v[i].topic == w->topic)
            return &v[i];
    return NULL;
}

/* The session now holds want. */
static kafka_err remember(kr_session *s, const kafka_fetch_want *want, size_t n)
{
    if (n > s->cap) {
        kafka_fetch_want *v = kafka_realloc(s->set, n * sizeof *v);
        if (!v)
            return KAFKA_ERR_NOMEM;
        s->set = v;
        s->cap = n;
    }
    if (n)
        memcpy(s->set, want, n * sizeof *want);
    s->n = n;
    return 0;
}

kafka_err kr_session_plan(kr_session *s, bool use_sessions, const kafka_fetch_want *want, size_t n, kafka_arena *a,
                          kafka_fetch_want **send, size_t *n_send, kafka_fetch_opts *o)
{
    o->forgotten = NULL;
    o->n_forgotten = 0;
    s->pending = true;
    s->creating = false;
    if (!use_sessions || s->unsupported || s->id == 0) {
        /* A full Fetch: sessionless, or creating a session. */
        bool create = use_sessions && !s->unsupported;
        o->session_id = 0;
        o->session_epoch = create ? 0 : -1;
        s->creating = create;
        *send = (kafka_fetch_want *)(uintptr_t)want;
        *n_send = n;
        return create ? remember(s, want, n) : 0;
    }
    kafka_fetch_want *out = kafka_arena_alloc(a, (n ? n : 1) * sizeof *out);
    kafka_fetch_want *gone = kafka_arena_alloc(a, (s->n ? s->n : 1) * sizeof *gone);
    if (!out || !gone)
        return KAFKA_ERR_NOMEM;
    size_t k = 0, g = 0;
    for (size_t i = 0; i < n; i++) {
        const kafka_fetch_want *had = find(s->set, s->n, &want[i]);
        if (!had || had->offset != want[i].offset || had->max_bytes != want[i].max_bytes)
            out[k++] = want[i];
    }
    for (size_t i = 0; i < s->n; i++)
        if (!find(want, n, &s->set[i]))
            gone[g++] = s->set[i];
    o->session_id = s->id;
    o->session_epoch = s->epoch;
    o->forgotten = gone;
    o->n_forgotten = g;
    *send = out;
    *n_send = k;
    return remember(s, want, n);
}

void kr_session_done(kr_session *s, kafka_err err, int32_t resp_session_id)
{
    bool creating = s->creating;
    s->pending = false;
    s->creating = false;
    if (err) {
        /* Session errors, and any failure: start over with a full Fetch
         * that creates a new session. */
        s->id = 0;
        s->epoch = 0;
        s->n = 0;
        return;
    }
    if (creating) {
        if (resp_session_id == 0) {
            s->unsupported = true; /* full sessionless Fetches from now on */
            s->n = 0;
            return;
        }
        s->id = resp_session_id;
        s->epoch = 1;
        return;
    }
    if (s->id != 0)
        s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
}
