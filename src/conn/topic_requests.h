/* CreateTopics and DeleteTopics requests, built in one place for
 * kafka_conn_create_topics / kafka_conn_delete_topics and the admin client
 * (internal). Arrays come from `arena`; strings stay views of the
 * caller's. */
#ifndef KAFKA_CONN_TOPIC_REQUESTS_H
#define KAFKA_CONN_TOPIC_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/conn.h"
#include "protocol/gen/create_topics.h"
#include "protocol/gen/delete_topics.h"

/* timeout_ms <= 0 means 10000. INVALID_ARG for a topic without a name, a
 * NULL config name or config arrays missing; NOMEM. */
kafka_err kafka_create_topics_build(const kafka_topic_config *topics, size_t n, int32_t timeout_ms,
                                   bool validate_only, kafka_arena *arena, kafka_create_topics_request *req);

/* By name (topics[0..n)), or by topic id when ids is not NULL (ids[0..n),
 * DeleteTopics v6+ only: INVALID_ARG for an older v), for DeleteTopics
 * version v (v6+ uses the topics array). */
kafka_err kafka_delete_topics_build(const char *const *topics, const uint8_t (*ids)[16], size_t n,
                                   int32_t timeout_ms, int16_t v, kafka_arena *arena, kafka_delete_topics_request *req);

#endif
