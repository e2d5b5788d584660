#include "cluster/cluster_util.h"

#include <string.h>

#include "conn/conn_internal.h"

void kafka_bootstrap_iter_init(kafka_bootstrap_iter *it, const char *list) { it->p = list ? list : ""; }

static bool is_sep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n'; }

kafka_err kafka_bootstrap_next(kafka_bootstrap_iter *it, char *addr, size_t addr_len)
{
    while (*it->p && is_sep(*it->p))
        it->p++;
    if (!*it->p)
        return KAFKA_ERR_NOT_FOUND;
    const char *start = it->p;
    while (*it->p && !is_sep(*it->p))
        it->p++;
    size_t n = (size_t)(it->p - start);
    if (n + 1 > addr_len)
        return KAFKA_ERR_INVALID_ARG;
    memcpy(addr, start, n);
    addr[n] = '\0';
    char host[256];
    int port = 0;
    kafka_err err = kafka_split_host_port(addr, host, sizeof host, &port);
    if (err || port <= 0 || port > 65535 || !host[0])
        return KAFKA_ERR_INVALID_ARG;
    return 0;
}

bool kafka_cluster_err_stale_metadata(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KAFKA_ERR_LEADER_NOT_AVAILABLE:
    case KAFKA_ERR_FENCED_LEADER_EPOCH:
    case KAFKA_ERR_UNKNOWN_LEADER_EPOCH:
    case KAFKA_ERR_REPLICA_NOT_AVAILABLE:
    case KAFKA_ERR_KAFKA_STORAGE_ERROR:
    case KAFKA_ERR_BROKER_NOT_AVAILABLE:
    case KAFKA_ERR_TRANSPORT:
    case KAFKA_ERR_TIMEOUT:
    case KAFKA_ERR_NO_BROKERS:
    case KAFKA_ERR_PROTOCOL:
        return true;
    default:
        return false;
    }
}

bool kafka_cluster_err_for_reader(kafka_err err)
{
    if (!err || err == KAFKA_ERR_CLOSED)
        return false;
    if (kafka_err_is_fatal(err))
        return true;
    return !kafka_cluster_err_stale_metadata(err) && !kafka_err_is_retriable(err);
}
