/* libFuzzer target: kafka_mock's request handlers (src/mock/mock_api*.c)
 * on hostile bodies. Input: byte 0 picks an API the mock serves (modulo
 * their count), byte 1 the version (modulo its range), byte 2 bit 0 asks
 * for an injected error; the rest is the request body. Each input gets a
 * fresh 3-broker cluster with one topic holding one record, so state never
 * piles up between inputs. Beyond "no crash, no leak, no overread": an
 * answered request's response decodes with libkafka's decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/api.h"
#include "protocol/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kmock_cluster c;
    int16_t keys[KAFKA_API_KEY_MAX + 1], lo, hi;
    int n = 0;

    if (size < 3 || kmock_cluster_init(&c, &(kafka_mock_config){.brokers = 3}) != 0)
        return 0;
    for (int16_t k = 0; k <= KAFKA_API_KEY_MAX; k++)
        if (kmock_api_supported(&c, k, NULL, NULL))
            keys[n++] = k;
    kmock_topic *t;
    if (n == 0 || kmock_topic_create(&c, "t", 1, 2, 1, &t) != 0) {
        kmock_cluster_free(&c);
        return 0;
    }
    /* one record in the log, so that Fetch and ListOffsets find data */
    kafka_wbuf w;
    kafka_batch_builder b;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    kafka_wbuf_init(&w);
    if (kafka_batch_builder_init(&b, &w, &cfg) == 0 &&
        kafka_batch_builder_append(&b, 1000, "k", 1, "v", 1, NULL, 0) == 0 && kafka_batch_builder_finish(&b) == 0)
        (void)kmock_log_append(&t->partitions[0].log, w.data, w.len, &(kmock_append_rules){.log_append_time = -1});
    kafka_wbuf_free(&w);

    int16_t key = keys[data[0] % n];
    kmock_api_supported(&c, key, &lo, &hi);
    kmock_request rq = {.broker_id = t->partitions[0].leader, .api_key = key,
                        .api_version = (int16_t)(lo + data[1] % (hi - lo + 1)), .body = data + 3,
                        .len = size - 3, .now_ms = 1000, .injected = (data[2] & 1) ? 6 : 0};
    kafka_wbuf out;
    int64_t wake = 0;
    kafka_wbuf_init(&out);
    kmock_outcome oc = kmock_handle(&c, &rq, &out, &wake);
    if (oc == KMOCK_DEFER) {
        rq.final = true;
        rq.now_ms = wake;
        out.len = 0;
        oc = kmock_handle(&c, &rq, &out, &wake);
        if (oc == KMOCK_DEFER)
            abort(); /* the deadline always answers */
    }
    if (oc == KMOCK_RESPOND) {
        const kafka_api_info *info = kafka_api_info_get(key);
        void *resp = calloc(1, info->response->root->size);
        kafka_arena a;
        kafka_rbuf r;
        kafka_arena_init(&a, 0);
        kafka_rbuf_init(&r, out.data, out.len);
        int16_t v = key == KAFKA_API_API_VERSIONS && rq.api_version > 4 ? 0 : rq.api_version;
        if (kafka_response_decode_any(&r, &a, key, v, resp) != 0)
            abort(); /* the mock answered something libkafka cannot read */
        kafka_arena_free(&a);
        free(resp);
    }
    kafka_wbuf_free(&out);
    kmock_cluster_free(&c);
    return 0;
}
