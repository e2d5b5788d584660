/* kafka_dial, kafka_dial_leader, kafka_dial_partition. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_priv.h"
#include "engine/handshake.h"
#include "kafka/dialer.h"

/* Detail of the calling thread's last failed dial (kafka_dial_last_error). */
static _Thread_local char g_dial_err[512];

const char *kafka_dial_last_error(void) { return g_dial_err; }

static kafka_err dial_errf(kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static kafka_err dial_errf(kafka_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_dial_err, sizeof g_dial_err, fmt, ap);
    va_end(ap);
    return err;
}

static int64_t deadline_unix(int timeout_ms) { return timeout_ms < 0 ? 0 : kafka_unix_ms() + timeout_ms; }

static int remaining_ms(int64_t unix_deadline)
{
    if (unix_deadline == 0)
        return -1;
    int64_t left = unix_deadline - kafka_unix_ms();
    return left > 0 ? (int)left : 0;
}

/* The blocking driver of the connection handshake (engine/handshake.h):
 * writes what the wire has queued, reads exactly the bytes of the next
 * response, until the handshake is done or failed. mono_deadline bounds
 * every read and write (-1 = none). */
static kafka_err run_handshake(kafka_stream *s, const char *address, const kafka_dialer_config *cfg,
                               int64_t mono_deadline, kafka_api_table *versions, int32_t *next_corr)
{
    ke_wire w;
    ke_wire_init(&w, 0, 0, 0);
    ke_wire_open(&w);
    ke_handshake h;
    ke_handshake_start(&h, &w, cfg, address, cfg ? cfg->client_id : NULL, mono_deadline);
    while (!ke_handshake_finished(&h)) {
        kafka_err err;
        if (ke_wire_wants_write(&w)) {
            struct iovec iov[8];
            int n = ke_wire_output(&w, iov, 8);
            size_t total = 0;
            for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
            err = kafka_stream_writev_full(s, iov, n, mono_deadline);
            if (!err)
                ke_wire_wrote(&w, total);
        } else if (w.n_written > 0) {
            uint8_t *p;
            size_t room;
            ke_wire_read_buf_exact(&w, &p, &room);
            err = kafka_stream_read_full(s, p, room, mono_deadline);
            if (!err) {
                err = ke_wire_read_done(&w, room); /* runs the handshake's next step */
                if (err)
                    ke_wire_fail(&w, err, kafka_now_ms(), w.err);
                continue;
            }
        } else { /* cannot happen: every step leaves a request outstanding */
            ke_wire_fail(&w, KAFKA_ERR_STATE, kafka_now_ms(), "connection setup stalled");
            continue;
        }
        if (err)
            ke_wire_fail(&w, err, kafka_now_ms(), kafka_stream_last_error(s));
    }
    *next_corr = w.next_corr;
    ke_wire_destroy(&w);
    ke_handshake_free(&h);
    if (h.err)
        return dial_errf(h.err, "%s", h.why);
    *versions = h.versions;
    return 0;
}

/* Dials `address` with an absolute Unix deadline (0 = none). */
static kafka_err dial_until(kafka_conn **out, const char *address, const kafka_dialer_config *cfg,
                            int64_t unix_deadline)
{
    *out = NULL;
    g_dial_err[0] = '\0';
    char host[256];
    int port;
    if (kafka_split_host_port(address, host, sizeof host, &port))
        return dial_errf(KAFKA_ERR_INVALID_ARG, "invalid broker address \"%s\": want host:port or [v6]:port",
                         address ? address : "(null)");
    int left = remaining_ms(unix_deadline);
    int64_t mono = left < 0 ? -1 : kafka_now_ms() + left;
    kafka_stream *s = NULL;
    char why[400] = "";
    kafka_err err = kafka_stream_dial(cfg, host, port, mono, &s, why, sizeof why);
    if (err)
        return dial_errf(err, "dial %s: %s", address, why[0] ? why : kafka_err_str(err));
    kafka_api_table versions;
    int32_t next_corr;
    err = run_handshake(s, address, cfg, mono, &versions, &next_corr);
    if (err) {
        kafka_stream_close(s);
        return err;
    }
    kafka_conn *c;
    err = kafka_conn_new(s, address, cfg ? cfg->client_id : NULL, &c);
    if (err)
        return dial_errf(err, "dial %s: %s", address, kafka_err_str(err));
    kafka_conn_set_versions(c, &versions);
    c->next_corr = next_corr; /* the conn's requests follow the handshake's */
    *out = c;
    return 0;
}

/* Appends "; <this thread's last dial error>" to the report of a list. */
static void report_add(char *rep, size_t cap)
{
    size_t len = strlen(rep);
    const char *parts[2] = {len ? "; " : "", g_dial_err};
    for (int i = 0; i < 2; i++)
        for (const char *p = parts[i]; *p && len + 1 < cap; p++)
            rep[len++] = *p;
    rep[len] = '\0';
}

kafka_err kafka_dial(kafka_conn **out, const char *address, const kafka_dialer_config *cfg, int timeout_ms)
{
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    int64_t deadline = deadline_unix(timeout_ms);
    if (!address || !strchr(address, ','))
        return dial_until(out, address, cfg, deadline);
    /* A bootstrap list: each address in turn, each with an equal share of
     * the time left (so that one black-holed broker cannot use up the
     * whole timeout), the last with all of it. */
    *out = NULL;
    char *list = kafka_strdup(address);
    if (!list)
        return dial_errf(KAFKA_ERR_NOMEM, "dial %s: %s", address, kafka_err_str(KAFKA_ERR_NOMEM));
    size_t n_left = 0;
    for (const char *p = list; *p; p++)
        n_left += *p == ',';
    n_left++;
    char report[sizeof g_dial_err] = "";
    kafka_err err = KAFKA_ERR_INVALID_ARG;
    char *save = NULL;
    for (char *a = strtok_r(list, ", ", &save); a; a = strtok_r(NULL, ", ", &save), n_left--) {
        int64_t until = deadline;
        if (deadline && n_left > 1) {
            int64_t left = deadline - kafka_unix_ms();
            until = kafka_unix_ms() + (left > 0 ? left / (int64_t)n_left : 0);
        }
        err = dial_until(out, a, cfg, until);
        if (!err)
            break;
        report_add(report, sizeof report);
        /* An answer from a broker (SASL refused, ...) or no memory is
         * final; an address that could not be used is not: try the next. */
        if (err > 0 || err == KAFKA_ERR_NOMEM)
            break;
    }
    kafka_free(list);
    if (err)
        dial_errf(err, "%s", report[0] ? report : "dial: empty broker list");
    return err;
}

kafka_err kafka_dial_partition(kafka_conn **out, const kafka_partition *p, const kafka_dialer_config *cfg,
                               int timeout_ms)
{
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    if (!p || !p->topic || !p->leader.host || p->leader.port <= 0)
        return dial_errf(KAFKA_ERR_INVALID_ARG, "dial partition: %s has no leader address",
                         p && p->topic ? p->topic : "(null)");
    char addr[300];
    bool v6 = strchr(p->leader.host, ':') != NULL;
    snprintf(addr, sizeof addr, v6 ? "[%s]:%d" : "%s:%d", p->leader.host, p->leader.port);
    kafka_conn *c;
    kafka_err err = kafka_dial(&c, addr, cfg, timeout_ms);
    if (err)
        return err;
    err = kafka_conn_bind(c, p->topic, p->id);
    if (err) {
        kafka_conn_close(c);
        return err;
    }
    *out = c;
    return 0;
}

/* Finds p's leader through one bootstrap broker. */
static kafka_err leader_via(const char *broker, const char *topic, int32_t partition, const kafka_dialer_config *cfg,
                            int64_t unix_deadline, kafka_conn **out)
{
    kafka_conn *boot;
    kafka_err err = dial_until(&boot, broker, cfg, unix_deadline);
    if (err)
        return err;
    kafka_conn_set_deadline(boot, unix_deadline);
    kafka_partition *parts = NULL;
    size_t n = 0;
    err = kafka_conn_read_partitions(boot, &topic, 1, &parts, &n);
    if (err) {
        snprintf(g_dial_err, sizeof g_dial_err, "%s", kafka_conn_last_error(boot));
        kafka_conn_close(boot);
        return err;
    }
    kafka_conn_close(boot);
    const kafka_partition *p = NULL;
    for (size_t i = 0; i < n; i++)
        if (parts[i].id == partition)
            p = &parts[i];
    if (!p) {
        snprintf(g_dial_err, sizeof g_dial_err, "topic %s has no partition %d", topic, partition);
        kafka_free_partitions(parts);
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (p->err || p->leader.id < 0) {
        err = p->err ? p->err : KAFKA_ERR_LEADER_NOT_AVAILABLE;
        snprintf(g_dial_err, sizeof g_dial_err, "%s [%d]: %s", topic, partition, kafka_err_str(err));
        kafka_free_partitions(parts);
        return err;
    }
    int left = remaining_ms(unix_deadline);
    err = kafka_dial_partition(out, p, cfg, left);
    kafka_free_partitions(parts);
    return err;
}

kafka_err kafka_dial_leader(kafka_conn **out, const char *bootstrap, const char *topic, int32_t partition,
                            const kafka_dialer_config *cfg, int timeout_ms)
{
    if (!out)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    if (!bootstrap || !topic || partition < 0)
        return dial_errf(KAFKA_ERR_INVALID_ARG, "dial leader: bootstrap, topic and partition >= 0 are required");
    int64_t deadline = deadline_unix(timeout_ms);
    char *list = kafka_strdup(bootstrap);
    if (!list)
        return KAFKA_ERR_NOMEM;
    kafka_err err = KAFKA_ERR_NO_BROKERS;
    char *save = NULL;
    for (char *b = strtok_r(list, ", ", &save); b; b = strtok_r(NULL, ", ", &save)) {
        err = leader_via(b, topic, partition, cfg, deadline, out);
        /* A Kafka answer about the topic is final; a broker that could not
         * be reached is not: try the next one. */
        if (!err || err > 0 || err == KAFKA_ERR_INVALID_ARG || err == KAFKA_ERR_NOMEM)
            break;
    }
    if (err == KAFKA_ERR_NO_BROKERS)
        dial_errf(err, "dial leader: no broker in \"%s\"", bootstrap);
    kafka_free(list);
    return err;
}
