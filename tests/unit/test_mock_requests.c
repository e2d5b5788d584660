/* kafka_mock's request handlers without sockets (src/mock/mock_api*.c):
 * for every API and every version the mock advertises, a request with
 * default fields is answered with a response that libkafka's decoder
 * reads back at that version (so every advertised version really
 * encodes), and every truncation of it and random bytes in its place are
 * answered or refused (KMOCK_CLOSE) without a crash or a leak (run under
 * the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock/mock_cluster.h"
#include "protocol/api.h"
#include "protocol/gen/produce.h"
#include "rand_util.h"

static kmock_outcome serve(kmock_cluster *c, int16_t key, int16_t ver, const uint8_t *body, size_t len,
                           kafka_wbuf *out)
{
    kmock_request rq = {.broker_id = 1, .api_key = key, .api_version = ver, .body = body, .len = len,
                        .now_ms = 1000};
    int64_t wake = 0;
    kmock_outcome oc = kmock_handle(c, &rq, out, &wake);
    if (oc == KMOCK_DEFER) {
        assert_true(wake > rq.now_ms);
        rq.final = true;
        rq.now_ms = wake;
        out->len = 0;
        oc = kmock_handle(c, &rq, out, &wake);
        assert_int_not_equal(oc, KMOCK_DEFER); /* the deadline always answers */
    }
    return oc;
}

static void test_every_version_answers(void **state)
{
    (void)state;
    kmock_cluster c;
    int served = 0;
    assert_int_equal(kmock_cluster_init(&c, &(kafka_mock_config){.brokers = 3}), 0);
    assert_int_equal(kmock_topic_create(&c, "t", 1, 3, 1, NULL), 0);
    for (int16_t key = 0; key <= KAFKA_API_KEY_MAX; key++) {
        int16_t lo, hi;
        if (!kmock_api_supported(&c, key, &lo, &hi))
            continue;
        const kafka_api_info *info = kafka_api_info_get(key);
        for (int16_t v = lo; v <= hi; v++) {
            void *req = test_calloc(1, info->request->root->size);
            void *resp = test_calloc(1, info->response->root->size);
            kafka_wbuf body, out;
            kafka_arena a;
            kafka_rbuf r;
            kafka_wbuf_init(&body);
            kafka_wbuf_init(&out);
            kafka_arena_init(&a, 0);
            kafka_gen_init(info->request->root, req);
            if (key == KAFKA_API_PRODUCE)
                ((kafka_produce_request *)req)->acks = 1; /* the schema default, 0, has no response */
            assert_int_equal(kafka_request_encode_any(&body, key, v, req), 0);
            kmock_outcome oc = serve(&c, key, v, body.data, body.len, &out);
            if (oc != KMOCK_RESPOND)
                fail_msg("%s v%d: no response to a default request (outcome %d)", info->name, v, (int)oc);
            kafka_rbuf_init(&r, out.data, out.len);
            if (kafka_response_decode_any(&r, &a, key, v, resp) != 0)
                fail_msg("%s v%d: response does not decode (%s)", info->name, v, r.field ? r.field : "?");
            assert_int_equal(kafka_rbuf_remaining(&r), 0);
            /* every truncation: answered or refused, never a crash */
            for (size_t cut = 0; cut < body.len; cut++) {
                out.len = 0;
                (void)serve(&c, key, v, body.data, cut, &out);
            }
            served++;
            kafka_arena_free(&a);
            kafka_wbuf_free(&body);
            kafka_wbuf_free(&out);
            test_free(req);
            test_free(resp);
        }
    }
    assert_true(served > 50);
    kmock_cluster_free(&c);
}

static void test_random_bodies(void **state)
{
    (void)state;
    kmock_cluster c;
    kt_rng rng = {.s = 13};
    assert_int_equal(kmock_cluster_init(&c, &(kafka_mock_config){.brokers = 2}), 0);
    assert_int_equal(kmock_topic_create(&c, "t", 1, 2, 1, NULL), 0);
    for (int round = 0; round < 3000; round++) {
        int16_t key = (int16_t)(kt_rng_next(&rng) % (KAFKA_API_KEY_MAX + 1));
        int16_t lo, hi;
        if (!kmock_api_supported(&c, key, &lo, &hi))
            continue;
        int16_t v = (int16_t)(lo + (int16_t)(kt_rng_next(&rng) % (uint32_t)(hi - lo + 1)));
        size_t len = kt_rng_next(&rng) % 512;
        uint8_t *buf = kt_random_bytes(&rng, len);
        kafka_wbuf out;
        kafka_wbuf_init(&out);
        (void)serve(&c, key, v, buf, len, &out);
        kafka_wbuf_free(&out);
        free(buf);
    }
    kmock_cluster_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_version_answers),
        cmocka_unit_test(test_random_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
