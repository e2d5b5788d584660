/* Topic configs in the mock: see mock_config.h. */
#include "mock/mock_config.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* Kafka 3.x/4.x defaults (TopicConfig / LogConfig). */
const kmock_config_key kmock_topic_config_keys[] = {
    {"cleanup.policy", "delete", 7},
    {"compression.type", "producer", 2},
    {"delete.retention.ms", "86400000", 5},
    {"file.delete.delay.ms", "60000", 5},
    {"flush.messages", "9223372036854775807", 5},
    {"flush.ms", "9223372036854775807", 5},
    {"index.interval.bytes", "4096", 3},
    {"max.compaction.lag.ms", "9223372036854775807", 5},
    {"max.message.bytes", "1048588", 3},
    {"message.timestamp.type", "CreateTime", 2},
    {"min.cleanable.dirty.ratio", "0.5", 6},
    {"min.compaction.lag.ms", "0", 5},
    {"min.insync.replicas", "1", 3},
    {"preallocate", "false", 1},
    {"retention.bytes", "-1", 5},
    {"retention.ms", "604800000", 5},
    {"segment.bytes", "1073741824", 3},
    {"segment.index.bytes", "10485760", 3},
    {"segment.jitter.ms", "0", 5},
    {"segment.ms", "604800000", 5},
    {"unclean.leader.election.enable", "false", 1},
    {NULL, NULL, 0},
};

void kmock_configs_free(kmock_configs *cs)
{
    kmock_config_clear(cs);
    kafka_free(cs->e);
    memset(cs, 0, sizeof(*cs));
}

void kmock_config_clear(kmock_configs *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        kafka_free(cs->e[i].value);
    cs->n = 0;
}

const kmock_config_key *kmock_config_key_find(kafka_str name)
{
    for (const kmock_config_key *k = kmock_topic_config_keys; k->name; k++)
        if (kafka_str_eq_c(name, k->name))
            return k;
    return NULL;
}

const char *kmock_config_get(const kmock_configs *cs, const kmock_config_key *key, bool *is_default)
{
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->e[i].key == key) {
            *is_default = false;
            return cs->e[i].value;
        }
    }
    *is_default = true;
    return key->default_value;
}

static bool one_of(kafka_str v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (kafka_str_eq_c(v, *allowed))
            return true;
    return false;
}

bool kmock_config_valid(const kmock_config_key *key, kafka_str value)
{
    static const char *const bools[] = {"true", "false", NULL};
    static const char *const ts_types[] = {"CreateTime", "LogAppendTime", NULL};
    static const char *const codecs[] = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd", NULL};
    static const char *const policies[] = {"delete", "compact", "delete,compact", "compact,delete", "", NULL};
    char buf[32];

    if (value.len < 0)
        return false;
    if (strcmp(key->name, "message.timestamp.type") == 0)
        return one_of(value, ts_types);
    if (strcmp(key->name, "compression.type") == 0)
        return one_of(value, codecs);
    if (strcmp(key->name, "cleanup.policy") == 0)
        return one_of(value, policies);
    switch (key->type) {
    case 1:
        return one_of(value, bools);
    case 3:
    case 5: {
        char *end;
        if (value.len == 0 || (size_t)value.len >= sizeof(buf))
            return false;
        memcpy(buf, value.ptr, (size_t)value.len);
        buf[value.len] = '\0';
        (void)strtoll(buf, &end, 10);
        return *end == '\0';
    }
    default:
        return true;
    }
}

bool kmock_config_set(kmock_configs *cs, const kmock_config_key *key, kafka_str value)
{
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->e[i].key == key) {
            if (value.len < 0) {
                kafka_free(cs->e[i].value);
                cs->e[i] = cs->e[--cs->n];
                return true;
            }
            char *v = kafka_strndup(value.len ? value.ptr : "", (size_t)value.len);
            if (!v)
                return false;
            kafka_free(cs->e[i].value);
            cs->e[i].value = v;
            return true;
        }
    }
    if (value.len < 0)
        return true;
    if (!kafka_array_reserve((void **)&cs->e, &cs->cap, cs->n + 1, sizeof(*cs->e), 4))
        return false;
    char *v = kafka_strndup(value.len ? value.ptr : "", (size_t)value.len);
    if (!v)
        return false;
    cs->e[cs->n++] = (kmock_config_entry){.key = key, .value = v};
    return true;
}
