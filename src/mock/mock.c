/* kafka_mock's public API: see include/kafka/mock.h. */
#include "kafka/mock.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_groups_dispatch.h"
#include "mock/mock_server.h"

/* Frees a mock whose thread is not running (stopped, or never started). */
static void destroy(kafka_mock *m)
{
    kmock_server_free(m);
    kmock_groups_detach(&m->c);
    kmock_cluster_free(&m->c);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    kafka_free(m);
}

kafka_err kafka_mock_new(kafka_mock **out, const kafka_mock_config *cfg)
{
    static const kafka_mock_config defaults;
    kafka_mock *m;
    kafka_err err;

    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    m = kafka_calloc(1, sizeof(*m));
    if (!m)
        return KAFKA_ERR_NOMEM;
    if ((err = kmock_cluster_init(&m->c, cfg)) != 0) {
        kmock_cluster_free(&m->c);
        kafka_free(m);
        return err;
    }
    for (int i = 0; i < KAFKA_MOCK_MAX_BROKERS; i++)
        m->listen_fd[i] = -1;
    m->wake_rd = m->wake_wr = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cond, NULL);
    if ((err = kmock_groups_attach(&m->c)) != 0 || (err = kmock_server_start(m, cfg)) != 0) {
        destroy(m);
        return err;
    }
    *out = m;
    return 0;
}

void kafka_mock_close(kafka_mock *m)
{
    if (!m)
        return;
    kmock_server_stop(m);
    destroy(m);
}

const char *kafka_mock_bootstrap(const kafka_mock *m)
{
    return m->bootstrap;
}

int kafka_mock_broker_count(const kafka_mock *m)
{
    return m->c.nbrokers; /* fixed at creation */
}

kafka_err kafka_mock_create_topic(kafka_mock *m, const char *name, int partitions, int replicas)
{
    int16_t e;

    if (!name || partitions < 1 || replicas < 0)
        return partitions < 1 ? KAFKA_ERR_INVALID_PARTITIONS : KAFKA_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->mu);
    e = kmock_topic_create(&m->c, name, strlen(name), partitions, replicas, NULL);
    pthread_mutex_unlock(&m->mu);
    return e == KAFKA_ERR_UNKNOWN_SERVER_ERROR ? KAFKA_ERR_NOMEM : e;
}

static kafka_err set_up(kafka_mock *m, int32_t broker_id, bool up)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    if (broker_id != -1 && !kmock_broker(&m->c, broker_id)) {
        pthread_mutex_unlock(&m->mu);
        return KAFKA_ERR_INVALID_ARG;
    }
    for (int32_t i = 0; i < m->c.nbrokers; i++)
        if (broker_id == -1 || broker_id == i + 1)
            m->c.brokers[i].up = up;
    err = kmock_server_sync_sockets(m);
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_broker_down(kafka_mock *m, int32_t broker_id)
{
    return set_up(m, broker_id, false);
}

kafka_err kafka_mock_broker_up(kafka_mock *m, int32_t broker_id)
{
    return set_up(m, broker_id, true);
}

kafka_err kafka_mock_set_leader(kafka_mock *m, const char *topic, int32_t partition, int32_t broker_id)
{
    kafka_err err = 0;

    pthread_mutex_lock(&m->mu);
    kmock_partition *p = topic ? kmock_partition_get(&m->c, kafka_str_c(topic), partition) : NULL;
    if (!p)
        err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (broker_id != -1 && !kmock_broker(&m->c, broker_id))
        err = KAFKA_ERR_INVALID_ARG;
    else {
        p->leader = broker_id;
        p->leader_epoch++;
    }
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_push_errors(kafka_mock *m, int32_t broker_id, int16_t api_key, int16_t error, int count)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    err = error == 0 ? KAFKA_ERR_INVALID_ARG : kmock_push_error(&m->c, broker_id, api_key, error, count, 0);
    pthread_mutex_unlock(&m->mu);
    return err;
}

int kafka_mock_pending_errors(kafka_mock *m, int32_t broker_id, int16_t api_key)
{
    int n;

    pthread_mutex_lock(&m->mu);
    n = kmock_pending_errors(&m->c, broker_id, api_key);
    pthread_mutex_unlock(&m->mu);
    return n;
}

void kafka_mock_clear_errors(kafka_mock *m, int32_t broker_id, int16_t api_key)
{
    pthread_mutex_lock(&m->mu);
    kmock_clear_errors(&m->c, broker_id, api_key);
    pthread_mutex_unlock(&m->mu);
}

kafka_err kafka_mock_set_rtt(kafka_mock *m, int32_t broker_id, int32_t rtt_ms)
{
    kafka_err err = 0;

    pthread_mutex_lock(&m->mu);
    if (rtt_ms < 0 || (broker_id != -1 && !kmock_broker(&m->c, broker_id)))
        err = KAFKA_ERR_INVALID_ARG;
    else
        for (int32_t i = 0; i < m->c.nbrokers; i++)
            if (broker_id == -1 || broker_id == i + 1)
                m->c.brokers[i].rtt_ms = rtt_ms;
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_set_coordinator(kafka_mock *m, int8_t key_type, const char *key, int32_t broker_id)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    err = kmock_pin_coordinator(&m->c, key_type, key, broker_id);
    pthread_mutex_unlock(&m->mu);
    return err;
}

void kafka_mock_forget_producers(kafka_mock *m)
{
    pthread_mutex_lock(&m->mu);
    for (size_t t = 0; t < m->c.ntopics; t++)
        for (int32_t p = 0; p < m->c.topics[t]->npartitions; p++)
            kmock_log_forget_producers(&m->c.topics[t]->partitions[p].log);
    pthread_mutex_unlock(&m->mu);
}

kafka_err kafka_mock_partition_offsets(kafka_mock *m, const char *topic, int32_t partition, int64_t *log_start,
                                       int64_t *log_end)
{
    kafka_err err = 0;

    pthread_mutex_lock(&m->mu);
    kmock_partition *p = topic ? kmock_partition_get(&m->c, kafka_str_c(topic), partition) : NULL;
    if (!p) {
        err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else {
        if (log_start)
            *log_start = p->log.log_start;
        if (log_end)
            *log_end = p->log.log_end;
    }
    pthread_mutex_unlock(&m->mu);
    return err;
}

int64_t kafka_mock_partition_bytes(kafka_mock *m, const char *topic, int32_t partition)
{
    int64_t bytes = -1;

    pthread_mutex_lock(&m->mu);
    kmock_partition *p = topic ? kmock_partition_get(&m->c, kafka_str_c(topic), partition) : NULL;
    if (p)
        bytes = p->log.bytes;
    pthread_mutex_unlock(&m->mu);
    return bytes;
}

kafka_err kafka_mock_push_error_rtt(kafka_mock *m, int32_t broker_id, int16_t api_key, int16_t error, int32_t rtt_ms)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    err = kmock_push_error(&m->c, broker_id, api_key, error, 1, rtt_ms);
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_set_topic_error(kafka_mock *m, const char *topic, int16_t error)
{
    kafka_err err;

    if (!topic)
        return KAFKA_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->mu);
    err = kmock_set_topic_error(&m->c, topic, error);
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_set_api_versions(kafka_mock *m, int16_t api_key, int16_t min_version, int16_t max_version)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    err = kmock_set_api_versions(&m->c, api_key, min_version, max_version, false);
    pthread_mutex_unlock(&m->mu);
    return err;
}

void kafka_mock_reset_api_versions(kafka_mock *m, int16_t api_key)
{
    pthread_mutex_lock(&m->mu);
    (void)kmock_set_api_versions(&m->c, api_key, 0, 0, true);
    pthread_mutex_unlock(&m->mu);
}

int kafka_mock_api_versions(kafka_mock *m, int16_t api_key, int16_t *min_version, int16_t *max_version)
{
    bool ok;

    pthread_mutex_lock(&m->mu);
    ok = kmock_api_supported(&m->c, api_key, min_version, max_version);
    pthread_mutex_unlock(&m->mu);
    return ok ? 1 : 0;
}

kafka_err kafka_mock_set_throttle(kafka_mock *m, int32_t broker_id, int32_t throttle_ms)
{
    kafka_err err = 0;

    pthread_mutex_lock(&m->mu);
    if (throttle_ms < 0 || (broker_id != -1 && !kmock_broker(&m->c, broker_id)))
        err = KAFKA_ERR_INVALID_ARG;
    else
        for (int32_t i = 0; i < m->c.nbrokers; i++)
            if (broker_id == -1 || broker_id == i + 1)
                m->c.brokers[i].throttle_ms = throttle_ms;
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_add_user(kafka_mock *m, const char *user, const char *password)
{
    kafka_err err;

    pthread_mutex_lock(&m->mu);
    err = kmock_sasl_user_set(&m->c.users, user, password);
    pthread_mutex_unlock(&m->mu);
    return err;
}

kafka_err kafka_mock_add_acl(kafka_mock *m, int8_t resource_type, const char *resource_name, int8_t pattern_type,
                             const char *principal, const char *host, int8_t operation, int8_t permission)
{
    int16_t e;

    pthread_mutex_lock(&m->mu);
    e = kmock_acl_add(&m->c.acls, resource_type, kafka_str_c(resource_name), pattern_type, kafka_str_c(principal),
                      kafka_str_c(host), operation, permission);
    pthread_mutex_unlock(&m->mu);
    return e < 0 ? KAFKA_ERR_NOMEM : e;
}

kafka_err kafka_mock_set_rack(kafka_mock *m, int32_t broker_id, const char *rack)
{
    kafka_err err = 0;

    pthread_mutex_lock(&m->mu);
    if ((broker_id != -1 && !kmock_broker(&m->c, broker_id)) ||
        (rack && strlen(rack) >= sizeof(m->c.brokers[0].rack)))
        err = KAFKA_ERR_INVALID_ARG;
    else
        for (int32_t i = 0; i < m->c.nbrokers; i++)
            if (broker_id == -1 || broker_id == i + 1)
                snprintf(m->c.brokers[i].rack, sizeof(m->c.brokers[i].rack), "%s", rack ? rack : "");
    pthread_mutex_unlock(&m->mu);
    return err;
}
