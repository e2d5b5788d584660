/* kafka-mock's stdin commands: see commands.h. */
#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/error.h"

#define MAX_WORDS 32

/* The API keys the commands name (the names Kafka's schemas use). */
static const struct {
    const char *name;
    int key;
} api_names[] = {
    {"Produce", 0}, {"Fetch", 1}, {"ListOffsets", 2}, {"Metadata", 3}, {"OffsetCommit", 8},
    {"OffsetFetch", 9}, {"FindCoordinator", 10}, {"JoinGroup", 11}, {"Heartbeat", 12},
    {"LeaveGroup", 13}, {"SyncGroup", 14}, {"DescribeGroups", 15}, {"ListGroups", 16},
    {"SaslHandshake", 17}, {"ApiVersions", 18}, {"CreateTopics", 19}, {"DeleteTopics", 20},
    {"DeleteRecords", 21}, {"InitProducerId", 22}, {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26}, {"TxnOffsetCommit", 28},
    {"DescribeConfigs", 32}, {"CreatePartitions", 37}, {"DeleteGroups", 42}, {"OffsetDelete", 47},
    {"DescribeCluster", 60},
};

/* librdkafka's names for codes whose Kafka name differs. */
static const struct {
    const char *name;
    int code;
} error_aliases[] = {
    {"NOT_LEADER_FOR_PARTITION", 6}, {"REQUEST_TIMED_OUT", 7}, {"TRANSPORT", KAFKA_ERR_MOCK_DISCONNECT},
    {"NO_ERROR", 0}, {"UNKNOWN", -1},
};

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int kmock_parse_api(const char *s)
{
    long v;

    if (parse_int(s, 0, 32767, &v))
        return (int)v;
    for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
        if (strcasecmp(s, api_names[i].name) == 0)
            return api_names[i].key;
    return -1;
}

bool kmock_parse_error(const char *s, int *err)
{
    long v;

    if (parse_int(s, -32768, 32767, &v)) {
        *err = (int)v;
        return true;
    }
    for (size_t i = 0; i < sizeof(error_aliases) / sizeof(error_aliases[0]); i++) {
        if (strcmp(s, error_aliases[i].name) == 0) {
            *err = error_aliases[i].code;
            return true;
        }
    }
    for (int code = 0; code < 200; code++) {
        if (strcmp(kafka_err_name(code), s) == 0) {
            *err = code;
            return true;
        }
    }
    return false;
}

static int reply_f(char *reply, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reply_f(char *reply, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reply, len, fmt, ap);
    va_end(ap);
    return 0;
}

static void reply_err(char *reply, size_t len, const char *what, kafka_err e)
{
    if (e == 0)
        reply_f(reply, len, "ok");
    else
        reply_f(reply, len, "err %s: %s (%d)", what, kafka_err_name(e), (int)e);
}

static bool broker_arg(kafka_mock *m, const char *s, long *id)
{
    return parse_int(s, -1, kafka_mock_broker_count(m), id) && *id != 0;
}

bool kmock_command(kafka_mock *m, const char *line, char *reply, size_t rlen)
{
    char buf[4096];
    char *w[MAX_WORDS], *save = NULL;
    int n = 0;
    long a, b, c;
    int api, err;

    if (strlen(line) >= sizeof(buf)) {
        reply_f(reply, rlen, "err line too long");
        return false;
    }
    strcpy(buf, line);
    for (char *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_WORDS) {
            reply_f(reply, rlen, "err too many words");
            return false;
        }
        w[n++] = t;
    }
    if (n == 0) {
        reply_f(reply, rlen, "err empty command");
        return false;
    }
#define ARGS(lo, hi)                                                                          \
    if (n - 1 < (lo) || n - 1 > (hi)) {                                                       \
        reply_f(reply, rlen, "err %s: wrong number of arguments", w[0]);                      \
        return false;                                                                         \
    }
    if (strcmp(w[0], "ping") == 0) {
        ARGS(0, 0);
        reply_f(reply, rlen, "ok");
    } else if (strcmp(w[0], "quit") == 0) {
        ARGS(0, 0);
        reply_f(reply, rlen, "ok");
        return true;
    } else if (strcmp(w[0], "bootstrap") == 0) {
        ARGS(0, 0);
        reply_f(reply, rlen, "ok %s", kafka_mock_bootstrap(m));
    } else if (strcmp(w[0], "topic") == 0) {
        ARGS(2, 3);
        c = 0;
        if (!parse_int(w[2], 1, 100000, &b) || (n == 4 && !parse_int(w[3], 1, KAFKA_MOCK_MAX_BROKERS, &c)))
            return reply_f(reply, rlen, "err topic: bad partitions or replication"), false;
        if (n == 3) {
            int brokers = kafka_mock_broker_count(m);
            c = brokers < 3 ? brokers : 3;
        }
        reply_err(reply, rlen, "topic", kafka_mock_create_topic(m, w[1], (int)b, (int)c));
    } else if (strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) {
        ARGS(1, 1);
        if (!broker_arg(m, w[1], &a))
            return reply_f(reply, rlen, "err %s: bad broker id", w[0]), false;
        reply_err(reply, rlen, w[0],
                  w[0][0] == 'd' ? kafka_mock_broker_down(m, (int32_t)a) : kafka_mock_broker_up(m, (int32_t)a));
    } else if (strcmp(w[0], "leader") == 0) {
        ARGS(3, 3);
        if (!parse_int(w[2], 0, INT32_MAX, &b) || !broker_arg(m, w[3], &c))
            return reply_f(reply, rlen, "err leader: bad partition or broker id"), false;
        reply_err(reply, rlen, "leader", kafka_mock_set_leader(m, w[1], (int32_t)b, (int32_t)c));
    } else if (strcmp(w[0], "rtt") == 0) {
        ARGS(2, 2);
        if (!broker_arg(m, w[1], &a) || !parse_int(w[2], 0, 3600000, &b))
            return reply_f(reply, rlen, "err rtt: bad broker id or ms"), false;
        reply_err(reply, rlen, "rtt", kafka_mock_set_rtt(m, (int32_t)a, (int32_t)b));
    } else if (strcmp(w[0], "rack") == 0) {
        ARGS(2, 2);
        if (!broker_arg(m, w[1], &a))
            return reply_f(reply, rlen, "err rack: bad broker id"), false;
        reply_err(reply, rlen, "rack", kafka_mock_set_rack(m, (int32_t)a, w[2]));
    } else if (strcmp(w[0], "throttle") == 0) {
        ARGS(2, 2);
        if (!broker_arg(m, w[1], &a) || !parse_int(w[2], 0, 3600000, &b))
            return reply_f(reply, rlen, "err throttle: bad broker id or ms"), false;
        reply_err(reply, rlen, "throttle", kafka_mock_set_throttle(m, (int32_t)a, (int32_t)b));
    } else if (strcmp(w[0], "error") == 0 || strcmp(w[0], "broker_error") == 0) {
        bool per_broker = w[0][0] == 'b';
        int first = per_broker ? 3 : 2;
        a = -1;
        if (n < first + 1)
            return reply_f(reply, rlen, "err %s: wrong number of arguments", w[0]), false;
        if (per_broker && (!broker_arg(m, w[1], &a) || a == -1))
            return reply_f(reply, rlen, "err %s: bad broker id", w[0]), false;
        if ((api = kmock_parse_api(w[first - 1])) < 0)
            return reply_f(reply, rlen, "err %s: unknown api '%s'", w[0], w[first - 1]), false;
        /* validate every error before queueing any: <err> or, for
         * broker_error, <err>:<rtt_ms> (error 0 = served, only delayed) */
        long delays[MAX_WORDS] = {0};
        for (int i = first; i < n; i++) {
            char *colon = strchr(w[i], ':');
            if (colon) {
                if (!per_broker || !parse_int(colon + 1, 0, 3600000, &delays[i]))
                    return reply_f(reply, rlen, "err %s: bad delay in '%s'", w[0], w[i]), false;
                *colon = '\0';
            }
            if (!kmock_parse_error(w[i], &err) || (err == 0 && delays[i] == 0))
                return reply_f(reply, rlen, "err %s: unknown error '%s'", w[0], w[i]), false;
        }
        for (int i = first; i < n; i++) {
            kmock_parse_error(w[i], &err);
            kafka_err e = delays[i] ? kafka_mock_push_error_rtt(m, (int32_t)a, (int16_t)api, (int16_t)err,
                                                                (int32_t)delays[i])
                                    : kafka_mock_push_errors(m, (int32_t)a, (int16_t)api, (int16_t)err, 1);
            if (e)
                return reply_err(reply, rlen, w[0], e), false;
        }
        reply_f(reply, rlen, "ok");
    } else if (strcmp(w[0], "broker_error_count") == 0) {
        ARGS(2, 2);
        if (!broker_arg(m, w[1], &a) || (api = kmock_parse_api(w[2])) < 0)
            return reply_f(reply, rlen, "err broker_error_count: bad broker id or api"), false;
        reply_f(reply, rlen, "ok %d", kafka_mock_pending_errors(m, (int32_t)a, (int16_t)api));
    } else if (strcmp(w[0], "clear_errors") == 0) {
        ARGS(1, 1);
        if ((api = kmock_parse_api(w[1])) < 0)
            return reply_f(reply, rlen, "err clear_errors: unknown api '%s'", w[1]), false;
        kafka_mock_clear_errors(m, -1, (int16_t)api);
        reply_f(reply, rlen, "ok");
    } else if (strcmp(w[0], "coordinator") == 0) {
        ARGS(3, 3);
        int8_t type = strcmp(w[1], "group") == 0 ? 0 : strcmp(w[1], "transaction") == 0 ? 1 : -1;
        if (type < 0 || !broker_arg(m, w[3], &c))
            return reply_f(reply, rlen, "err coordinator: bad type or broker id"), false;
        reply_err(reply, rlen, "coordinator", kafka_mock_set_coordinator(m, type, w[2], (int32_t)c));
    } else if (strcmp(w[0], "topic_error") == 0) {
        ARGS(2, 2);
        if (!kmock_parse_error(w[2], &err) || err < 0)
            return reply_f(reply, rlen, "err topic_error: unknown error '%s'", w[2]), false;
        reply_err(reply, rlen, "topic_error", kafka_mock_set_topic_error(m, w[1], (int16_t)err));
    } else if (strcmp(w[0], "apiversion") == 0) {
        ARGS(3, 3);
        if ((api = kmock_parse_api(w[1])) < 0 || !parse_int(w[2], -1, 32767, &b) || !parse_int(w[3], -1, 32767, &c))
            return reply_f(reply, rlen, "err apiversion: bad api or versions"), false;
        reply_err(reply, rlen, "apiversion", kafka_mock_set_api_versions(m, (int16_t)api, (int16_t)b, (int16_t)c));
    } else if (strcmp(w[0], "apiversions") == 0) {
        size_t off;
        ARGS(0, 0);
        off = (size_t)snprintf(reply, rlen, "ok");
        for (int k = 0; k < 32768 && off < rlen; k++) {
            int16_t lo, hi;
            if (kafka_mock_api_versions(m, (int16_t)k, &lo, &hi))
                off += (size_t)snprintf(reply + off, rlen - off, "%s%d:%d:%d", off == 2 ? " " : ",", k, lo, hi);
        }
    } else if (strcmp(w[0], "user") == 0) {
        ARGS(2, 2);
        reply_err(reply, rlen, "user", kafka_mock_add_user(m, w[1], w[2]));
    } else if (strcmp(w[0], "forget_producers") == 0) {
        ARGS(0, 0);
        kafka_mock_forget_producers(m);
        reply_f(reply, rlen, "ok");
    } else if (strcmp(w[0], "offsets") == 0) {
        int64_t lo, hi;
        ARGS(2, 2);
        if (!parse_int(w[2], 0, INT32_MAX, &b))
            return reply_f(reply, rlen, "err offsets: bad partition"), false;
        kafka_err e = kafka_mock_partition_offsets(m, w[1], (int32_t)b, &lo, &hi);
        if (e)
            reply_err(reply, rlen, "offsets", e);
        else
            reply_f(reply, rlen, "ok %lld %lld", (long long)lo, (long long)hi);
    } else {
        reply_f(reply, rlen, "err unknown or unsupported command '%s'", w[0]);
    }
#undef ARGS
    return false;
}
