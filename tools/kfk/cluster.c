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

/* ListOffsets on a conn bound to the partition (within the deadline the
 * caller set on it): first, last and (at_ms >= 0) the offset at a time
 * (the high-water mark when none is that recent). */
static kafka_err read_offsets(kafka_conn *c, int64_t at_ms, int64_t *first, int64_t *last, int64_t *at)
{
    kafka_err err = kafka_conn_read_offsets(c, first, last);
    if (!err && at_ms >= 0) {
        err = kafka_conn_read_offset_at(c, at_ms, at);
        if (!err && *at < 0) /* no message at or after at_ms */
            *at = *last;
    }
    return err;
}

kafka_err kfk_offsets_begin(kfk_offset_lookup *l, const kfk_conf *conf, const char *verb)
{
    *l = (kfk_offset_lookup){.conf = conf, .verb = verb};
    kafka_conn *c;
    kafka_err err = kfk_dial_bootstrap(conf, verb, &c);
    if (err)
        return err;
    kafka_conn_set_timeout(c, conf->timeout_ms);
    err = kfk_all_partitions(c, verb, &l->parts, &l->n_parts);
    kafka_conn_close(c);
    return err;
}

/* The cached conn to partition p's leader, dialed on first use. */
static kafka_conn *leader_conn(kfk_offset_lookup *l, const kafka_partition *p)
{
    for (size_t i = 0; i < l->n_conns; i++)
        if (l->leaders[i] == p->leader.id)
            return l->conns[i];
    if (l->n_conns == KFK_MAX_LEADERS || p->leader.id < 0)
        return NULL;
    kafka_conn *c;
    if (kafka_dial_partition(&c, p, &l->conf->dialer, l->conf->dialer.connect_timeout_ms))
        return NULL;
    l->leaders[l->n_conns] = p->leader.id;
    l->conns[l->n_conns++] = c;
    return c;
}

kafka_err kfk_offsets_get(kfk_offset_lookup *l, const char *topic, int32_t partition, int64_t at_ms,
                          int64_t *first, int64_t *last, int64_t *at)
{
    const kafka_partition *p = NULL;
    for (size_t i = 0; i < l->n_parts && !p; i++)
        if (l->parts[i].id == partition && !strcmp(l->parts[i].topic, topic))
            p = &l->parts[i];
    kafka_conn *c = p ? leader_conn(l, p) : NULL;
    int64_t deadline = kafka_unix_ms() + l->conf->timeout_ms;
    if (c && kafka_conn_bind(c, topic, partition) == 0) {
        kafka_conn_set_deadline(c, deadline);
        if (read_offsets(c, at_ms, first, last, at) == 0)
            return 0;
        /* A timeout or a broken stream closes the conn: drop it. */
        for (size_t i = 0; i < l->n_conns; i++)
            if (l->conns[i] == c) {
                kafka_conn_close(c);
                l->conns[i] = l->conns[--l->n_conns];
                l->leaders[i] = l->leaders[l->n_conns];
                break;
            }
    }
    /* No cached route (leader unknown or moved, conn broken): the leader
     * as the cluster names it now, on a conn of its own. */
    kafka_err err = kafka_dial_leader(&c, l->conf->brokers, topic, partition, &l->conf->dialer, l->conf->timeout_ms);
    if (err) {
        kfk_err(l->verb, "leader of %s [%d]: %s (%s)", topic, partition, kafka_err_str(err), kafka_dial_last_error());
        return err;
    }
    kafka_conn_set_timeout(c, l->conf->timeout_ms);
    err = read_offsets(c, at_ms, first, last, at);
    if (err)
        kfk_err(l->verb, "offsets of %s [%d]: %s (%s)", topic, partition, kafka_err_str(err),
                kafka_conn_last_error(c));
    kafka_conn_close(c);
    return err;
}

void kfk_offsets_end(kfk_offset_lookup *l)
{
    for (size_t i = 0; i < l->n_conns; i++)
        kafka_conn_close(l->conns[i]);
    kafka_free_partitions(l->parts);
    *l = (kfk_offset_lookup){0};
}
