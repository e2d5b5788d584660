/* A mock client connection's framing and response order: see mock_conn.h. */
#include "mock/mock_conn.h"

#include <string.h>

#include "common/alloc.h"
#include "protocol/header.h"

void kmock_conn_init(kmock_conn *c)
{
    memset(c, 0, sizeof(*c));
    kafka_wbuf_init(&c->in);
    kafka_wbuf_init(&c->out);
}

void kmock_conn_free(kmock_conn *c)
{
    for (size_t i = 0; i < c->nslots; i++)
        kafka_wbuf_free(&c->slots[i].frame);
    kafka_free(c->slots);
    kafka_wbuf_free(&c->in);
    kafka_wbuf_free(&c->out);
    memset(c, 0, sizeof(*c));
}

bool kmock_conn_feed(kmock_conn *c, const uint8_t *data, size_t len)
{
    if (c->in_off > 0 && c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > 65536 && c->in_off * 2 > c->in.len) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    kafka_put_raw(&c->in, data, len);
    return !c->in.oom;
}

int kmock_conn_next_frame(kmock_conn *c, const uint8_t **frame, size_t *len)
{
    size_t avail = c->in.len - c->in_off;
    const uint8_t *p = c->in.data + c->in_off;

    if (avail < 4)
        return 0;
    int32_t size = (int32_t)kafka_read_u32_at(p);
    if (size < 0 || size > KMOCK_MAX_FRAME)
        return -1;
    if (avail - 4 < (size_t)size)
        return 0;
    *frame = p + 4;
    *len = (size_t)size;
    c->in_off += 4 + (size_t)size;
    return 1;
}

kmock_slot *kmock_conn_push(kmock_conn *c, uint64_t token, int16_t api_key, int16_t api_version,
                            int32_t correlation_id)
{
    if (!kafka_array_reserve((void **)&c->slots, &c->slots_cap, c->nslots + 1, sizeof(*c->slots), 4))
        return NULL;
    kmock_slot *s = &c->slots[c->nslots++];
    memset(s, 0, sizeof(*s));
    s->token = token;
    s->api_key = api_key;
    s->api_version = api_version;
    s->correlation_id = correlation_id;
    kafka_wbuf_init(&s->frame);
    return s;
}

kmock_slot *kmock_conn_slot(kmock_conn *c, uint64_t token)
{
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].token == token)
            return &c->slots[i];
    return NULL;
}

bool kmock_conn_fill(kmock_slot *s, const uint8_t *body, size_t len, int64_t ready_at)
{
    s->filled = true;
    s->ready_at = ready_at;
    if (!body)
        return true;
    kafka_put_u32(&s->frame, 0); /* size, set below */
    if (!s->raw && kafka_response_header_encode(&s->frame, s->api_key, s->api_version, s->correlation_id) != 0)
        return false;
    kafka_put_raw(&s->frame, body, len);
    if (s->frame.oom)
        return false;
    kafka_write_u32_at(s->frame.data, (uint32_t)(s->frame.len - 4));
    return true;
}

bool kmock_conn_flush(kmock_conn *c, int64_t now_ms, int64_t *next_ready)
{
    size_t done = 0;

    *next_ready = INT64_MAX;
    while (done < c->nslots && c->slots[done].filled) {
        kmock_slot *s = &c->slots[done];
        if (s->ready_at > now_ms) {
            *next_ready = s->ready_at;
            break;
        }
        if (c->out_off == c->out.len)
            c->out.len = c->out_off = 0;
        kafka_put_raw(&c->out, s->frame.data, s->frame.len);
        if (c->out.oom)
            return false;
        kafka_wbuf_free(&s->frame);
        done++;
    }
    if (done) {
        memmove(c->slots, c->slots + done, (c->nslots - done) * sizeof(*c->slots));
        c->nslots -= done;
    }
    return true;
}

void kmock_conn_written(kmock_conn *c, size_t n)
{
    c->out_off += n;
    if (c->out_off == c->out.len)
        c->out.len = c->out_off = 0;
}
