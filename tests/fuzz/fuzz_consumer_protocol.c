/* Fuzzes the consumer-protocol decoders, and feeds what decodes into the
 * assignors: a subscription from a hostile group member must never crash
 * the leader. Decoded input is re-encoded and must decode to the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group/assignor.h"
#include "group/consumer_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_subscription(const kafka_consumer_subscription *s, kafka_arena *arena)
{
    kafka_consumer_subscription e = *s;
    if (e.version > KAFKA_CONSUMER_PROTOCOL_MAX_VERSION)
        e.version = KAFKA_CONSUMER_PROTOCOL_MAX_VERSION;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    if (kafka_consumer_subscription_encode(&e, &w) == 0) {
        kafka_consumer_subscription d;
        if (kafka_consumer_subscription_decode(w.data, w.len, arena, &d) != 0 || d.n_topics != s->n_topics ||
            d.n_owned != s->n_owned || d.generation != s->generation)
            abort();
    }
    kafka_wbuf_free(&w);

    /* Two members: the decoded one and a well-behaved one. */
    static const char *const topics[] = {"a", "b"};
    kafka_group_member m[2] = {
        {.member_id = "x", .topics = s->topics, .n_topics = s->n_topics, .owned = s->owned,
         .n_owned = s->n_owned, .generation = kafka_consumer_subscription_generation(s), .rack = s->rack},
        {.member_id = "y", .topics = topics, .n_topics = 2, .generation = -1},
    };
    kafka_topic_metadata md[2] = {{"a", 3}, {"b", 2}};
    for (size_t i = 0; kafka_builtin_assignors[i]; i++) {
        kafka_member_assignment *out;
        (void)kafka_assignor_assign(kafka_builtin_assignors[i], m, 2, md, 2, arena, &out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_consumer_subscription s;
    if (kafka_consumer_subscription_decode(data, size, &arena, &s) == 0)
        check_subscription(&s, &arena);
    kafka_consumer_assignment a;
    if (kafka_consumer_assignment_decode(data, size, &arena, &a) == 0 && size > 0) {
        kafka_wbuf w;
        kafka_wbuf_init(&w);
        kafka_consumer_assignment e = a;
        if (e.version > KAFKA_CONSUMER_PROTOCOL_MAX_VERSION)
            e.version = KAFKA_CONSUMER_PROTOCOL_MAX_VERSION;
        kafka_consumer_assignment d;
        if (kafka_consumer_assignment_encode(&e, &w) != 0 ||
            kafka_consumer_assignment_decode(w.data, w.len, &arena, &d) != 0 || d.n_partitions != a.n_partitions)
            abort();
        kafka_wbuf_free(&w);
    }
    kafka_arena_free(&arena);
    return 0;
}
