/* DescribeConfigs, AlterConfigs and IncrementalAlterConfigs in the mock,
 * for topics (brokers: described with no entries, never altered). */
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4
/* DescribeConfigs ConfigSource */
#define SOURCE_TOPIC 1
#define SOURCE_DEFAULT 5

/* The broker a BROKER resource names ("" = any), or an error. */
static int16_t broker_resource(const kmock_cluster *c, kafka_str name)
{
    char buf[16];
    int32_t id = 0;

    if (name.len == 0)
        return 0;
    if (name.len < 0 || (size_t)name.len >= sizeof(buf))
        return KAFKA_ERR_INVALID_REQUEST;
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9' || id > 100000)
            return KAFKA_ERR_INVALID_REQUEST;
        id = id * 10 + (*p - '0');
    }
    return kmock_broker(c, id) ? 0 : KAFKA_ERR_INVALID_REQUEST;
}

static bool wanted(const kafka_describe_configs_request_describe_configs_resource *r, const char *key)
{
    if (r->configuration_keys_count < 0)
        return true; /* null: every key */
    for (int32_t i = 0; i < r->configuration_keys_count; i++)
        if (kafka_str_eq_c(r->configuration_keys[i], key))
            return true;
    return false;
}

kmock_outcome kmock_describe_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at)
{
    kafka_describe_configs_request *req = kmock_decode(rq, a);
    kafka_describe_configs_response resp;
    size_t nkeys = 0;

    (void)wake_at;
    if (!req || req->resources_count < 0)
        return KMOCK_CLOSE;
    while (kmock_topic_config_keys[nkeys].name)
        nkeys++;
    kafka_describe_configs_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.results, req->resources_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->resources_count; i++) {
        const kafka_describe_configs_request_describe_configs_resource *qr = &req->resources[i];
        kafka_describe_configs_response_describe_configs_result *rr = &resp.results[i];
        kmock_topic *t = NULL;

        kafka_describe_configs_response_describe_configs_result_init(rr);
        rr->resource_type = qr->resource_type;
        rr->resource_name = qr->resource_name;
        rr->configs_count = 0;
        if (rq->injected)
            rr->error_code = rq->injected;
        else if (qr->resource_type == RESOURCE_BROKER)
            rr->error_code = broker_resource(c, qr->resource_name);
        else if (qr->resource_type != RESOURCE_TOPIC)
            rr->error_code = KAFKA_ERR_INVALID_REQUEST;
        else if (!(t = qr->resource_name.len > 0
                           ? kmock_topic_find(c, qr->resource_name.ptr, (size_t)qr->resource_name.len)
                           : NULL))
            rr->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (rr->error_code || !t)
            continue;
        rr->configs = kafka_arena_calloc(a, nkeys, sizeof(*rr->configs));
        if (!rr->configs)
            return KMOCK_CLOSE;
        for (size_t k = 0; k < nkeys; k++) {
            const kmock_config_key *key = &kmock_topic_config_keys[k];
            kafka_describe_configs_response_describe_configs_resource_result *e;
            bool is_default;
            if (!wanted(qr, key->name))
                continue;
            e = &rr->configs[rr->configs_count++];
            kafka_describe_configs_response_describe_configs_resource_result_init(e);
            e->name = kafka_str_c(key->name);
            e->value = kafka_str_c(kmock_config_get(&t->configs, key, &is_default));
            e->is_default = is_default;
            e->config_source = is_default ? SOURCE_DEFAULT : SOURCE_TOPIC;
            e->config_type = key->type;
            e->synonyms_count = 0;
        }
    }
    return kmock_encode(rq, &resp, out);
}

/* The topic an Alter request's resource names, or an error. */
static int16_t alter_target(kmock_cluster *c, int8_t type, kafka_str name, kmock_topic **t)
{
    *t = NULL;
    if (type == RESOURCE_BROKER)
        return broker_resource(c, name) ? KAFKA_ERR_INVALID_REQUEST : KAFKA_ERR_INVALID_CONFIG;
    if (type != RESOURCE_TOPIC)
        return KAFKA_ERR_INVALID_REQUEST;
    *t = name.len > 0 ? kmock_topic_find(c, name.ptr, (size_t)name.len) : NULL;
    return *t ? 0 : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

kmock_outcome kmock_alter_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at)
{
    kafka_alter_configs_request *req = kmock_decode(rq, a);
    kafka_alter_configs_response resp;

    (void)wake_at;
    if (!req || req->resources_count < 0)
        return KMOCK_CLOSE;
    kafka_alter_configs_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.responses, req->resources_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->resources_count; i++) {
        const kafka_alter_configs_request_alter_configs_resource *qr = &req->resources[i];
        kafka_alter_configs_response_alter_configs_resource_response *rr = &resp.responses[i];
        kmock_topic *t;
        int16_t err = rq->injected ? rq->injected : alter_target(c, qr->resource_type, qr->resource_name, &t);

        kafka_alter_configs_response_alter_configs_resource_response_init(rr);
        rr->resource_type = qr->resource_type;
        rr->resource_name = qr->resource_name;
        /* validate everything first: AlterConfigs replaces all overrides */
        for (int32_t k = 0; !err && k < qr->configs_count; k++) {
            const kmock_config_key *key = kmock_config_key_find(qr->configs[k].name);
            if (!key || !kmock_config_valid(key, qr->configs[k].value))
                err = KAFKA_ERR_INVALID_CONFIG;
        }
        if (!err && !req->validate_only) {
            kmock_topic_config_clear(c, t);
            for (int32_t k = 0; !err && k < qr->configs_count; k++)
                err = kmock_topic_config_set(c, t, qr->configs[k].name, qr->configs[k].value);
        }
        rr->error_code = err;
        if (err)
            rr->error_message = kafka_str_c(kafka_err_str(err));
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_incremental_alter_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                              kafka_wbuf *out, int64_t *wake_at)
{
    kafka_incremental_alter_configs_request *req = kmock_decode(rq, a);
    kafka_incremental_alter_configs_response resp;

    (void)wake_at;
    if (!req || req->resources_count < 0)
        return KMOCK_CLOSE;
    kafka_incremental_alter_configs_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.responses, req->resources_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->resources_count; i++) {
        const kafka_incremental_alter_configs_request_alter_configs_resource *qr = &req->resources[i];
        kafka_incremental_alter_configs_response_alter_configs_resource_response *rr = &resp.responses[i];
        kmock_topic *t;
        int16_t err = rq->injected ? rq->injected : alter_target(c, qr->resource_type, qr->resource_name, &t);

        kafka_incremental_alter_configs_response_alter_configs_resource_response_init(rr);
        rr->resource_type = qr->resource_type;
        rr->resource_name = qr->resource_name;
        /* SET (0) and DELETE (1); APPEND/SUBTRACT (2, 3) only apply to list
         * configs, which the mock does not edit piecewise */
        for (int32_t k = 0; !err && k < qr->configs_count; k++) {
            const kafka_incremental_alter_configs_request_alterable_config *e = &qr->configs[k];
            const kmock_config_key *key = kmock_config_key_find(e->name);
            if (!key || e->config_operation > 1 || e->config_operation < 0 ||
                (e->config_operation == 0 && !kmock_config_valid(key, e->value)))
                err = KAFKA_ERR_INVALID_CONFIG;
        }
        for (int32_t k = 0; !err && !req->validate_only && k < qr->configs_count; k++) {
            const kafka_incremental_alter_configs_request_alterable_config *e = &qr->configs[k];
            err = kmock_topic_config_set(c, t, e->name, e->config_operation == 0 ? e->value : KAFKA_STR_NULL);
        }
        rr->error_code = err;
        if (err)
            rr->error_message = kafka_str_c(kafka_err_str(err));
    }
    return kmock_encode(rq, &resp, out);
}
