/* The mock cluster's state: see mock_cluster.h. */
#include "mock/mock_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "protocol/hash.h"

#define KMOCK_DEFAULT_RETENTION ((int64_t)64 * 1024 * 1024)

static void apply_topic_configs(const kmock_cluster *c, kmock_topic *t);

/* splitmix64: topic ids and the cluster id need to be unique, not secret. */
static uint64_t next_random(kmock_cluster *c)
{
    uint64_t z = (c->uuid_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

kafka_err kmock_cluster_init(kmock_cluster *c, const kafka_mock_config *cfg)
{
    struct timespec ts;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    memset(c, 0, sizeof(*c));
    if (cfg->brokers < 0 || cfg->brokers > KAFKA_MOCK_MAX_BROKERS || cfg->default_partitions < 0 ||
        cfg->default_replicas < 0 || cfg->retention_bytes < 0 || cfg->initial_rebalance_delay_ms < 0)
        return KAFKA_ERR_INVALID_ARG;
    c->nbrokers = cfg->brokers ? cfg->brokers : 1;
    if (cfg->default_replicas > c->nbrokers)
        return KAFKA_ERR_INVALID_ARG;
    c->default_partitions = cfg->default_partitions ? cfg->default_partitions : 1;
    c->default_replicas = cfg->default_replicas ? cfg->default_replicas : (c->nbrokers < 3 ? c->nbrokers : 3);
    c->auto_create = !cfg->disable_auto_create_topics;
    c->retention_bytes = cfg->retention_bytes ? cfg->retention_bytes : KMOCK_DEFAULT_RETENTION;
    c->initial_rebalance_delay_ms = cfg->initial_rebalance_delay_ms;
    c->require_sasl = cfg->require_sasl;
    c->enforce_acls = cfg->enforce_acls;
    if (cfg->rack && strlen(cfg->rack) >= sizeof(c->brokers[0].rack))
        return KAFKA_ERR_INVALID_ARG;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->uuid_state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)c;
    for (int i = 0; i < 22; i++)
        c->cluster_id[i] = b64[next_random(c) & 63];
    c->next_producer_id = 1000;
    for (int32_t i = 0; i < c->nbrokers; i++) {
        c->brokers[i].id = i + 1;
        snprintf(c->brokers[i].host, sizeof(c->brokers[i].host), "127.0.0.1");
        c->brokers[i].up = true;
        snprintf(c->brokers[i].rack, sizeof(c->brokers[i].rack), "%s", cfg->rack ? cfg->rack : "");
    }
    return 0;
}

static void topic_free(kmock_topic *t)
{
    for (int32_t i = 0; i < t->npartitions; i++) {
        kmock_log_free(&t->partitions[i].log);
        kafka_free(t->partitions[i].replicas);
        kafka_free(t->partitions[i].target);
    }
    kafka_free(t->partitions);
    kmock_configs_free(&t->configs);
    kafka_free(t->name);
    kafka_free(t);
}

void kmock_cluster_free(kmock_cluster *c)
{
    for (size_t i = 0; i < c->ntopics; i++)
        topic_free(c->topics[i]);
    kafka_free(c->topics);
    kmock_txn_free_all(c);
    kmock_fs_cache_free(&c->fetch_sessions);
    kmock_sasl_users_free(&c->users);
    kmock_acls_free(&c->acls);
    kmock_quotas_free(&c->quotas);
    for (size_t i = 0; i < c->npins; i++)
        kafka_free(c->pins[i].key);
    kafka_free(c->pins);
    for (size_t i = 0; i < c->ntopic_errors; i++)
        kafka_free(c->topic_errors[i].name);
    kafka_free(c->topic_errors);
    for (int b = 0; b <= KAFKA_MOCK_MAX_BROKERS; b++)
        for (int k = 0; k <= KAFKA_API_KEY_MAX; k++)
            kafka_free(c->errors[b][k].e);
    memset(c, 0, sizeof(*c));
}

const kmock_broker_info *kmock_broker(const kmock_cluster *c, int32_t id)
{
    return id >= 1 && id <= c->nbrokers ? &c->brokers[id - 1] : NULL;
}

kmock_topic *kmock_topic_find(const kmock_cluster *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (strlen(c->topics[i]->name) == len && memcmp(c->topics[i]->name, name, len) == 0)
            return c->topics[i];
    return NULL;
}

kmock_topic *kmock_topic_find_id(const kmock_cluster *c, const kafka_uuid *id)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (memcmp(c->topics[i]->id.b, id->b, 16) == 0)
            return c->topics[i];
    return NULL;
}

kmock_partition *kmock_partition_get(const kmock_cluster *c, kafka_str topic, int32_t partition)
{
    kmock_topic *t = topic.len > 0 ? kmock_topic_find(c, topic.ptr, (size_t)topic.len) : NULL;

    return t && partition >= 0 && partition < t->npartitions ? &t->partitions[partition] : NULL;
}

/* Kafka's rule: [a-zA-Z0-9._-], at most 249 characters, not "." or "..". */
static bool valid_topic_name(const char *name, size_t len)
{
    if (len == 0 || len > KMOCK_TOPIC_NAME_MAX || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* Partition i's replicas start at broker (start + i) mod n, as Kafka's
 * round-robin assignment does; the first replica leads. */
static bool init_partition(kmock_cluster *c, kmock_partition *p, int32_t index, int32_t start, int32_t replicas)
{
    p->replicas = kafka_calloc((size_t)replicas, sizeof(int32_t));
    if (!p->replicas)
        return false;
    p->nreplicas = replicas;
    p->target = NULL;
    p->ntarget = 0;
    for (int32_t r = 0; r < replicas; r++)
        p->replicas[r] = (int32_t)((start + index + r) % c->nbrokers) + 1;
    p->leader = p->replicas[0];
    p->leader_epoch = 0;
    kmock_log_init(&p->log, c->retention_bytes);
    return true;
}

int16_t kmock_topic_create(kmock_cluster *c, const char *name, size_t len, int32_t partitions, int32_t replicas,
                           kmock_topic **out)
{
    kmock_topic *t;

    if (!valid_topic_name(name, len))
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    if (kmock_topic_find(c, name, len))
        return KAFKA_ERR_TOPIC_ALREADY_EXISTS;
    if (partitions == -1)
        partitions = c->default_partitions;
    if (replicas == -1 || replicas == 0)
        replicas = c->default_replicas;
    if (partitions < 1 || partitions > 100000)
        return KAFKA_ERR_INVALID_PARTITIONS;
    if (replicas < 1 || replicas > c->nbrokers)
        return KAFKA_ERR_INVALID_REPLICATION_FACTOR;
    if (!kafka_array_reserve((void **)&c->topics, &c->topics_cap, c->ntopics + 1, sizeof(*c->topics), 8))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    t = kafka_calloc(1, sizeof(*t));
    if (!t)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    t->name = kafka_strndup(name, len);
    t->partitions = kafka_calloc((size_t)partitions, sizeof(*t->partitions));
    if (!t->name || !t->partitions) {
        topic_free(t);
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
    uint64_t hi = next_random(c), lo = next_random(c);
    for (int i = 0; i < 8; i++) {
        t->id.b[i] = (uint8_t)(hi >> (56 - 8 * i));
        t->id.b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    int32_t start = (int32_t)(kafka_murmur2(name, len) % (uint32_t)c->nbrokers);
    for (int32_t i = 0; i < partitions; i++) {
        if (!init_partition(c, &t->partitions[i], i, start, replicas)) {
            topic_free(t);
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        }
        t->npartitions = i + 1;
    }
    c->topics[c->ntopics++] = t;
    if (out)
        *out = t;
    return 0;
}

int16_t kmock_topic_delete(kmock_cluster *c, kmock_topic *t)
{
    for (size_t i = 0; i < c->ntopics; i++) {
        if (c->topics[i] == t) {
            kmock_txn_forget_topic(c, t);
            c->topics[i] = c->topics[--c->ntopics];
            topic_free(t);
            return 0;
        }
    }
    return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

int16_t kmock_topic_add_partitions(kmock_cluster *c, kmock_topic *t, int32_t total)
{
    if (total <= t->npartitions || total > 100000)
        return KAFKA_ERR_INVALID_PARTITIONS;
    kmock_partition *np = kafka_realloc(t->partitions, (size_t)total * sizeof(*np));
    if (!np)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    t->partitions = np;
    int32_t replicas = t->partitions[0].nreplicas;
    int32_t start = (int32_t)(kafka_murmur2(t->name, strlen(t->name)) % (uint32_t)c->nbrokers);
    for (int32_t i = t->npartitions; i < total; i++) {
        memset(&t->partitions[i], 0, sizeof(t->partitions[i]));
        if (!init_partition(c, &t->partitions[i], i, start, replicas))
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        t->npartitions = i + 1;
    }
    apply_topic_configs(c, t);
    return 0;
}

int32_t kmock_coordinator_for(const kmock_cluster *c, int8_t key_type, kafka_str key)
{
    size_t len = key.len > 0 ? (size_t)key.len : 0;

    for (size_t i = 0; i < c->npins; i++)
        if (c->pins[i].key_type == key_type && strlen(c->pins[i].key) == len &&
            memcmp(c->pins[i].key, key.ptr, len) == 0)
            return c->pins[i].broker_id;
    return (int32_t)(kafka_murmur2(key.ptr ? key.ptr : "", len) % (uint32_t)c->nbrokers) + 1;
}

kafka_err kmock_pin_coordinator(kmock_cluster *c, int8_t key_type, const char *key, int32_t broker_id)
{
    size_t cap = c->npins;

    if (!key || (key_type != 0 && key_type != 1) || (broker_id != -1 && !kmock_broker(c, broker_id)))
        return KAFKA_ERR_INVALID_ARG;
    for (size_t i = 0; i < c->npins; i++) {
        if (c->pins[i].key_type == key_type && strcmp(c->pins[i].key, key) == 0) {
            if (broker_id == -1) {
                kafka_free(c->pins[i].key);
                c->pins[i] = c->pins[--c->npins];
            } else {
                c->pins[i].broker_id = broker_id;
            }
            return 0;
        }
    }
    if (broker_id == -1)
        return 0;
    if (!kafka_array_reserve((void **)&c->pins, &cap, c->npins + 1, sizeof(*c->pins), c->npins + 1))
        return KAFKA_ERR_NOMEM;
    char *k = kafka_strdup(key);
    if (!k)
        return KAFKA_ERR_NOMEM;
    c->pins[c->npins++] = (kmock_pin){.key_type = key_type, .key = k, .broker_id = broker_id};
    return 0;
}

/* Index into c->errors of (broker_id, api_key), false when out of range. */
static bool err_index(const kmock_cluster *c, int32_t broker_id, int16_t api_key, int *b)
{
    if (api_key < 0 || api_key > KAFKA_API_KEY_MAX || (broker_id != -1 && !kmock_broker(c, broker_id)))
        return false;
    *b = broker_id == -1 ? 0 : broker_id;
    return true;
}

static kmock_err_queue *err_queue(kmock_cluster *c, int32_t broker_id, int16_t api_key)
{
    int b;
    return err_index(c, broker_id, api_key, &b) ? &c->errors[b][api_key] : NULL;
}

static int16_t pop(kmock_err_queue *q, int32_t *delay_ms)
{
    if (!q || q->n == 0)
        return 0;
    int16_t e = q->e[0].error;
    *delay_ms = q->e[0].delay_ms;
    if (--q->e[0].count == 0) {
        memmove(&q->e[0], &q->e[1], (q->n - 1) * sizeof(q->e[0]));
        q->n--;
    }
    return e;
}

int16_t kmock_take_error(kmock_cluster *c, int32_t broker_id, int16_t api_key, int32_t *delay_ms)
{
    kmock_err_queue *own = err_queue(c, broker_id, api_key);

    *delay_ms = 0;
    /* a broker's own queue first, then the cluster-wide one */
    if (own && own->n > 0)
        return pop(own, delay_ms);
    return pop(err_queue(c, -1, api_key), delay_ms);
}

kafka_err kmock_push_error(kmock_cluster *c, int32_t broker_id, int16_t api_key, int16_t error, int32_t count,
                           int32_t delay_ms)
{
    kmock_err_queue *q = err_queue(c, broker_id, api_key);

    if (!q || count < 0 || delay_ms < 0 || (error == 0 && delay_ms == 0))
        return KAFKA_ERR_INVALID_ARG;
    if (count == 0)
        return 0;
    if (!kafka_array_reserve((void **)&q->e, &q->cap, q->n + 1, sizeof(*q->e), 4))
        return KAFKA_ERR_NOMEM;
    q->e[q->n++] = (kmock_err_entry){.error = error, .count = count, .delay_ms = delay_ms};
    return 0;
}

int kmock_pending_errors(const kmock_cluster *c, int32_t broker_id, int16_t api_key)
{
    const kmock_err_queue *q;
    int n = 0, b;

    if (!err_index(c, broker_id, api_key, &b))
        return -1;
    q = &c->errors[b][api_key];
    for (size_t i = 0; i < q->n; i++)
        n += q->e[i].count;
    return n;
}

void kmock_clear_errors(kmock_cluster *c, int32_t broker_id, int16_t api_key)
{
    if (broker_id != -1) {
        kmock_err_queue *q = err_queue(c, broker_id, api_key);
        if (q)
            q->n = 0;
        return;
    }
    for (int32_t b = -1; b <= c->nbrokers; b++) {
        kmock_err_queue *q = b == 0 ? NULL : err_queue(c, b, api_key);
        if (q)
            q->n = 0;
    }
}

int16_t kmock_topic_error_for(const kmock_cluster *c, kafka_str name)
{
    size_t len = name.len > 0 ? (size_t)name.len : 0;

    for (size_t i = 0; i < c->ntopic_errors; i++)
        if (strlen(c->topic_errors[i].name) == len && memcmp(c->topic_errors[i].name, name.ptr, len) == 0)
            return c->topic_errors[i].error;
    return 0;
}

kafka_err kmock_set_topic_error(kmock_cluster *c, const char *name, int16_t error)
{
    for (size_t i = 0; i < c->ntopic_errors; i++) {
        if (strcmp(c->topic_errors[i].name, name) == 0) {
            if (error) {
                c->topic_errors[i].error = error;
            } else {
                kafka_free(c->topic_errors[i].name);
                c->topic_errors[i] = c->topic_errors[--c->ntopic_errors];
            }
            return 0;
        }
    }
    if (!error)
        return 0;
    if (!kafka_array_reserve((void **)&c->topic_errors, &c->topic_errors_cap, c->ntopic_errors + 1,
                             sizeof(*c->topic_errors), 4))
        return KAFKA_ERR_NOMEM;
    char *n = kafka_strdup(name);
    if (!n)
        return KAFKA_ERR_NOMEM;
    c->topic_errors[c->ntopic_errors++] = (kmock_topic_error){.name = n, .error = error};
    return 0;
}

kafka_err kmock_set_api_versions(kmock_cluster *c, int16_t api_key, int16_t min_v, int16_t max_v, bool reset)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);

    if (info && reset) {
        c->version_override_set[api_key] = false;
        return 0;
    }
    if (!info || (min_v == -1) != (max_v == -1) || (min_v != -1 && (min_v < 0 || max_v < min_v)))
        return KAFKA_ERR_INVALID_ARG;
    if (api_key == KAFKA_API_API_VERSIONS && min_v == -1)
        return KAFKA_ERR_INVALID_ARG; /* clients could not talk to the mock at all */
    c->version_override_set[api_key] = true;
    c->version_override[api_key][0] = min_v;
    c->version_override[api_key][1] = max_v;
    return 0;
}

int64_t kmock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the overrides change: the logs' retention (the topic's
 * retention.bytes when it is positive and below the mock's own), the
 * timestamp type, and whether records need keys (compaction; the mock
 * does not compact). */
static void apply_topic_configs(const kmock_cluster *c, kmock_topic *t)
{
    bool is_default;
    const kmock_config_key *rb = kmock_config_key_find(kafka_str_c("retention.bytes"));
    const kmock_config_key *tt = kmock_config_key_find(kafka_str_c("message.timestamp.type"));
    long long bytes = strtoll(kmock_config_get(&t->configs, rb, &is_default), NULL, 10);
    int64_t retention = bytes > 0 && bytes < c->retention_bytes ? (int64_t)bytes : c->retention_bytes;

    for (int32_t i = 0; i < t->npartitions; i++)
        t->partitions[i].log.retention_bytes = retention;
    t->log_append_time = strcmp(kmock_config_get(&t->configs, tt, &is_default), "LogAppendTime") == 0;
    t->compacted = strstr(kmock_config_get(&t->configs, kmock_config_key_find(kafka_str_c("cleanup.policy")), &is_default),
                          "compact") != NULL;
}

int16_t kmock_topic_config_set(kmock_cluster *c, kmock_topic *t, kafka_str name, kafka_str value)
{
    const kmock_config_key *key = kmock_config_key_find(name);

    if (!key || (value.len >= 0 && !kmock_config_valid(key, value)))
        return KAFKA_ERR_INVALID_CONFIG;
    if (!kmock_config_set(&t->configs, key, value))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    apply_topic_configs(c, t);
    return 0;
}

void kmock_topic_config_clear(kmock_cluster *c, kmock_topic *t)
{
    kmock_config_clear(&t->configs);
    apply_topic_configs(c, t);
}
