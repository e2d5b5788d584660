/*
 * kfk — the look-ups verbs make before they start: dialing a bootstrap
 * broker (so an unreachable cluster is reported within the connect
 * timeout, with the system's reason), the partitions of a topic (so a
 * topic or partition that does not exist is an error, not a hang), and
 * the offsets of a partition (to resolve -o end, -N and @timestamp).
 */
#include <stdlib.h>
#include <string.h>

#include "kfk.h"

kafka_err kfk_dial_bootstrap(const kfk_conf *conf, const char *verb, kafka_conn **out)
{
    char *list = strdup(conf->brokers);
    if (!list)
        return KAFKA_ERR_NOMEM;
    kafka_err err = KAFKA_ERR_NO_BROKERS;
    char *save = NULL;
    for (char *addr = strtok_r(list, ",", &save); addr; addr = strtok_r(NULL, ",", &save)) {
        while (*addr == ' ')
            addr++;
        if (!*addr)
            continue;
        err = kafka_dial(out, addr, &conf->dialer, conf->dialer.connect_timeout_ms);
        if (!err)
            break;
        kfk_err(verb, "broker %s: %s (%s)", addr, kafka_dial_last_error(), kafka_err_str(err));
    }
    if (err)
        kfk_err(verb, "no broker of '%s' answered", conf->brokers);
    free(list);
    return err;
}

kafka_err kfk_all_partitions(kafka_conn *c, const char *verb, kafka_partition **out, size_t *n)
{
    kafka_err err = kafka_conn_read_partitions(c, NULL, 0, out, n);
    if (err)
        kfk_err(verb, "metadata from %s: %s (%s)", kafka_conn_address(c), kafka_err_str(err),
                kafka_conn_last_error(c));
    return err;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

kafka_err kfk_topic_partitions(const kfk_conf *conf, const char *verb, const char *topic, int32_t **ids,
                               size_t *n)
{
    kafka_conn *c;
    kafka_err err = kfk_dial_bootstrap(conf, verb, &c);
    if (err)
        return err;
    kafka_conn_set_timeout(c, conf->timeout_ms);
    kafka_partition *ps = NULL;
    size_t np = 0;
    err = kfk_all_partitions(c, verb, &ps, &np);
    kafka_conn_close(c);
    if (err)
        return err;
    *ids = malloc((np ? np : 1) * sizeof **ids);
    *n = 0;
    if (!*ids) {
        kafka_free_partitions(ps);
        return KAFKA_ERR_NOMEM;
    }
    for (size_t i = 0; i < np; i++)
        if (!strcmp(ps[i].topic, topic))
            (*ids)[(*n)++] = ps[i].id;
    kafka_free_partitions(ps);
    if (*n == 0) {
        kfk_err(verb, "topic '%s' does not exist", topic);
        free(*ids);
        *ids = NULL;
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    qsort(*ids, *n, sizeof **ids, cmp_i32);
    return 0;
}

kafka_err kfk_partition_offsets(const kfk_conf *conf, const char *verb, const char *topic, int32_t partition,
                                int64_t at_ms, int64_t *first, int64_t *last, int64_t *at)
{
    kafka_conn *c;
    kafka_err err = kafka_dial_leader(&c, conf->brokers, topic, partition, &conf->dialer, conf->timeout_ms);
    if (err) {
        kfk_err(verb, "leader of %s [%d]: %s (%s)", topic, partition, kafka_err_str(err), kafka_dial_last_error());
        return err;
    }
    kafka_conn_set_timeout(c, conf->timeout_ms);
    err = kafka_conn_read_offsets(c, first, last);
    if (!err && at_ms >= 0) {
        err = kafka_conn_read_offset_at(c, at_ms, at);
        if (!err && *at < 0) /* no message at or after at_ms */
            *at = *last;
    }
    if (err)
        kfk_err(verb, "offsets of %s [%d]: %s (%s)", topic, partition, kafka_err_str(err), kafka_conn_last_error(c));
    kafka_conn_close(c);
    return err;
}
