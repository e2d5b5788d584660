/*
 * Topic configs in the mock: the known keys with Kafka's defaults, and the
 * values a topic overrides (CreateTopics configs, AlterConfigs,
 * IncrementalAlterConfigs). Two of them act: retention.bytes (bounds the
 * partitions' logs, within the mock's own retention) and
 * message.timestamp.type (LogAppendTime: the mock stamps batches). The
 * rest are stored and described only.
 *
 * Single-threaded: the mock's mutex guards it.
 */
#ifndef KAFKA_MOCK_CONFIG_H
#define KAFKA_MOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

typedef struct kmock_config_key {
    const char *name;
    const char *default_value;
    int8_t type; /* DescribeConfigs ConfigType: 1 BOOLEAN, 2 STRING, 3 INT, 5 LONG, 7 LIST */
} kmock_config_key;

/* The known topic configs, NULL-terminated. */
extern const kmock_config_key kmock_topic_config_keys[];

typedef struct kmock_config_entry {
    const kmock_config_key *key;
    char *value;
} kmock_config_entry;

typedef struct kmock_configs {
    kmock_config_entry *e;
    size_t n, cap;
} kmock_configs;

void kmock_configs_free(kmock_configs *cs);
/* The key named `name`, or NULL (Kafka: unknown topic config). */
const kmock_config_key *kmock_config_key_find(kafka_str name);
/* The topic's value of key (its override, else the default). */
const char *kmock_config_get(const kmock_configs *cs, const kmock_config_key *key, bool *is_default);
/* Checks that value suits the key's type (an integer for INT/LONG,
 * true/false for BOOLEAN, a known value for the enumerations). */
bool kmock_config_valid(const kmock_config_key *key, kafka_str value);
/* Sets (value.len >= 0) or removes (null value) an override; false when
 * out of memory. */
bool kmock_config_set(kmock_configs *cs, const kmock_config_key *key, kafka_str value);
void kmock_config_clear(kmock_configs *cs);

#endif
