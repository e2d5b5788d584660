/* libFuzzer target: every generated response (and request) decoder, every
 * version. Input: byte 0 picks the API (index into the known keys, modulo
 * their count), byte 1 bit 7 picks request instead of response and its low
 * bits the version (modulo the valid range); the rest is the body.
 *
 * Beyond "no crash, no leak, no overread" it checks two properties: what
 * decodes must re-encode (size == kafka_gen_size), and decoding that
 * encoding must give a message that encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "protocol/api.h"
#include "protocol/gen_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const kafka_api_info *pick_api(uint8_t b)
{
    static int16_t keys[KAFKA_API_COUNT];
    static int n;
    if (!n)
        for (int k = 0; k <= KAFKA_API_KEY_MAX; k++)
            if (kafka_api_info_get((int16_t)k))
                keys[n++] = (int16_t)k;
    return kafka_api_info_get(keys[b % n]);
}

static void check_reencode(const kafka_gen_message *m, int16_t v, const void *msg)
{
    kafka_wbuf w1, w2;
    kafka_wbuf_init(&w1);
    kafka_wbuf_init(&w2);
    if (kafka_gen_encode(&w1, m, v, msg) != 0 || w1.len != kafka_gen_size(m, v, msg))
        abort();
    void *again = calloc(1, m->root->size);
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kafka_rbuf r;
    static const uint8_t empty[1];
    kafka_rbuf_init(&r, w1.data ? w1.data : empty, w1.len); /* NULL + 0 is UB */
    if (!again || kafka_gen_decode(&r, &a, m, v, again) != 0 || kafka_rbuf_remaining(&r) != 0)
        abort();
    if (kafka_gen_encode(&w2, m, v, again) != 0 || w2.len != w1.len || (w1.len && memcmp(w1.data, w2.data, w1.len) != 0))
        abort();
    kafka_arena_free(&a);
    free(again);
    kafka_wbuf_free(&w1);
    kafka_wbuf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const kafka_api_info *info = pick_api(data[0]);
    const kafka_gen_message *m = (data[1] & 0x80) ? info->request : info->response;
    int16_t v = (int16_t)(m->min_version + (data[1] & 0x7f) % (m->max_version - m->min_version + 1));

    void *msg = calloc(1, m->root->size);
    if (!msg)
        return 0;
    kafka_arena a;
    kafka_arena_init(&a, 64u << 20); /* bounded, as a real client would be */
    kafka_rbuf r;
    kafka_rbuf_init(&r, data + 2, size - 2);
    kafka_err err = kafka_gen_decode(&r, &a, m, v, msg);
    if (err == 0)
        check_reencode(m, v, msg);
    else if (!r.field)
        abort(); /* every failure names its field */
    kafka_arena_free(&a);
    free(msg);
    return 0;
}
