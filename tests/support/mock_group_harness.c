#include "mock_group_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/wire.h"

kt_mg kt_mg_state;

static void on_reply(void *ctx, uint64_t token, const uint8_t *body, size_t len)
{
    kt_mg *t = ctx;
    assert_ptr_equal(t, &kt_mg_state);
    assert_true(t->n_replies < KT_MG_MAX_REPLIES);
    kt_mg_reply *r = &t->replies[t->n_replies++];
    r->token = token;
    r->body = malloc(len ? len : 1);
    assert_non_null(r->body);
    memcpy(r->body, body, len);
    r->len = len;
    r->taken = false;
}

int kt_mg_setup(const kmock_groups_config *cfg)
{
    memset(&kt_mg_state, 0, sizeof kt_mg_state);
    kafka_arena_init(&kt_mg_state.arena, 0);
    kt_mg_state.now = 1000000;
    return kmock_groups_new(&kt_mg_state.g, cfg);
}

void kt_mg_clear(void)
{
    for (size_t i = 0; i < kt_mg_state.n_replies; i++)
        free(kt_mg_state.replies[i].body);
    kt_mg_state.n_replies = 0;
    kafka_arena_reset(&kt_mg_state.arena);
}

void kt_mg_teardown(void)
{
    kmock_groups_free(kt_mg_state.g);
    kt_mg_clear();
    kafka_arena_free(&kt_mg_state.arena);
}

int kt_mg_send(int16_t api_key, const kafka_gen_message *m, int16_t version, const void *req, uint64_t *token)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    assert_int_equal(kafka_gen_encode(&w, m, version, req), KAFKA_ERR_OK);
    uint64_t tok = ++kt_mg_state.next_token;
    if (token)
        *token = tok;
    int rc = kmock_groups_handle(kt_mg_state.g, api_key, version, w.data, w.len, kt_mg_state.now, tok, on_reply,
                                 &kt_mg_state);
    kafka_wbuf_free(&w);
    return rc;
}

bool kt_mg_has_reply(uint64_t token)
{
    for (size_t i = 0; i < kt_mg_state.n_replies; i++)
        if (kt_mg_state.replies[i].token == token && !kt_mg_state.replies[i].taken)
            return true;
    return false;
}

void kt_mg_take_reply(uint64_t token, const kafka_gen_message *m, int16_t version, void *out)
{
    for (size_t i = 0; i < kt_mg_state.n_replies; i++) {
        kt_mg_reply *r = &kt_mg_state.replies[i];
        if (r->token != token || r->taken)
            continue;
        r->taken = true;
        kafka_rbuf rb;
        kafka_rbuf_init(&rb, r->body, r->len);
        assert_int_equal(kafka_gen_decode(&rb, &kt_mg_state.arena, m, version, out), KAFKA_ERR_OK);
        assert_int_equal(kafka_rbuf_remaining(&rb), 0);
        for (size_t k = i + 1; k < kt_mg_state.n_replies; k++)
            assert_false(kt_mg_state.replies[k].token == token && !kt_mg_state.replies[k].taken);
        return;
    }
    fail_msg("no reply for token %llu", (unsigned long long)token);
}

void kt_mg_advance(int64_t ms)
{
    kt_mg_state.now += ms;
    (void)kmock_groups_tick(kt_mg_state.g, kt_mg_state.now);
}

char *kt_mg_dup(kafka_str s)
{
    char *c = kafka_arena_alloc(&kt_mg_state.arena, (size_t)(s.len > 0 ? s.len : 0) + 1);
    assert_non_null(c);
    if (s.len > 0)
        memcpy(c, s.ptr, (size_t)s.len);
    return c;
}

void kt_mg_assert_str(kafka_str s, const char *want)
{
    assert_true(s.len >= 0);
    assert_int_equal(s.len, (int32_t)strlen(want));
    assert_memory_equal(s.ptr, want, (size_t)s.len);
}
