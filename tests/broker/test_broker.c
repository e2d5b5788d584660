/*
 * kafka_test_broker: librdkafka's mock cluster as a stand-alone program, so
 * that libkafka's tests talk to a Kafka-protocol broker written by someone
 * else.
 *
 *   kafka_test_broker [-n brokers] [-t topic:partitions[:replication]]...
 *
 * On start it prints exactly two lines on stdout and flushes them:
 *
 *   bootstrap 127.0.0.1:PORT1,127.0.0.1:PORT2,...
 *   ready
 *
 * It then reads control commands from stdin, one per line, and answers each
 * with exactly one line, "ok", "ok <data>" or "err <reason>" (see usage()
 * below, or tests/broker/README.md). It exits with status 0 after "quit",
 * at EOF on stdin, and on SIGTERM/SIGINT, always destroying the mock first.
 *
 * What the mock does by default (librdkafka 2.0.2, learned by running it and
 * documented in tests/broker/README.md): ports are ephemeral on 127.0.0.1;
 * broker ids are 1..N; a Metadata request naming an unknown topic creates it
 * (auto topic creation) with 4 partitions and replication min(3, N); the
 * mock picks partition leaders (not predictable: tests pin them with
 * "leader"). "down" closes the listener: new connections are refused.
 *
 * Limits of the mock: only old, non-flexible API versions (the startup probe
 * below records the exact maxima; the "apiversions" command prints them),
 * about 5 MB kept per partition, one stored batch returned per fetch, no CRC
 * check, no SASL, no CreateTopics (use the "topic" command instead).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_BROKERS 64
#define MAX_PARTITIONS 10000
#define MAX_LINE 4096
#define MAX_ARGS 64
#define MAX_API_KEY 127

static volatile sig_atomic_t g_stop;

/* The mock's broker connections get TCP_NODELAY, as Kafka's own broker
 * sets on every connection it accepts (SocketServer). Without it, a
 * response written while the previous one on the connection is not yet
 * acknowledged waits for the client's delayed ACK (about 40 ms on Linux)
 * whenever the client has no request to send meanwhile: the last responses
 * of a pipelined burst then arrive 40 ms late, which no real broker does.
 * librdkafka's mock accepts with accept() and sets no such option, so this
 * program's own accept() takes its place (symbols of the executable come
 * first in the dynamic lookup) and calls accept4(), a different symbol. */
/* glibc's prototype; exported (visibility, and tests/broker/CMakeLists.txt). */
__attribute__((visibility("default"))) int accept(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len)
{
    int s = accept4(fd, addr, len, 0);
    if (s >= 0) {
        int one = 1;
        (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return s;
}

typedef struct tb_state {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    int brokers;
    /* ApiVersions as the mock advertised them at startup: the ceiling for
     * the "apiversion" command (the mock must never be asked to accept a
     * version its handlers do not implement). -1 = API not offered. */
    int16_t api_min[MAX_API_KEY + 1];
    int16_t api_max[MAX_API_KEY + 1];
    bool api_known;
} tb_state;

/* ------------------------------------------------------------------------ */
/* Output: every answer is one line, flushed at once (the reader is a pipe). */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void usage(FILE *f)
{
    fputs("usage: kafka_test_broker [-n brokers] [-t topic:partitions[:replication]]...\n"
          "commands on stdin (one per line, each answered by 'ok [data]' or 'err <reason>'):\n"
          "  topic <name> <partitions> [replication]   create a topic\n"
          "  down <broker_id|-1> / up <broker_id|-1>   take broker(s) down / up\n"
          "  leader <topic> <partition> <broker_id|-1> set a partition's leader\n"
          "  follower <topic> <partition> <broker_id>  set the preferred follower\n"
          "  follower_wmarks <topic> <partition> <lo> <hi>\n"
          "  rtt <broker_id|-1> <ms>                   add round-trip time\n"
          "  rack <broker_id|-1> <rack>                set the rack in Metadata\n"
          "  error <api> <err> [<err>...]              errors for the next requests (cluster-wide)\n"
          "  broker_error <broker_id> <api> <err>[:rtt_ms]...  per-broker errors\n"
          "  broker_error_count <broker_id> <api>      -> ok <count>\n"
          "  clear_errors <api>                        drop pushed cluster-wide errors\n"
          "  topic_error <topic> <err>                 error for the topic in Metadata\n"
          "  coordinator <group|transaction> <key> <broker_id>\n"
          "  apiversion <api> <min> <max>              restrict versions (-1 -1 disables)\n"
          "  apiversions                               -> ok key:min:max,...\n"
          "  bootstrap                                 -> ok <bootstrap list>\n"
          "  ping                                      -> ok\n"
          "  quit                                      exit cleanly\n"
          "<api> is a number or a name (Produce, Fetch, Metadata, ...);\n"
          "<err> is a number or a name (NOT_LEADER_OR_FOLLOWER, TRANSPORT, ...).\n",
          f);
}

/* ------------------------------------------------------------------------ */
/* Parsing helpers: strict, so that a typo answers "err", not a silent 0.    */

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static const struct {
    const char *name;
    int key;
} api_names[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},  {"ApiVersions", 18},
    {"CreateTopics", 19},    {"DeleteTopics", 20},   {"DeleteRecords", 21},
    {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28}, {"DescribeConfigs", 32}, {"AlterConfigs", 33},
    {"SaslAuthenticate", 36}, {"CreatePartitions", 37}, {"DeleteGroups", 42},
};

static bool parse_api(const char *s, int *key)
{
    long v;
    size_t i;

    if (parse_long(s, 0, MAX_API_KEY, &v)) {
        *key = (int)v;
        return true;
    }
    for (i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++) {
        if (s != NULL && strcasecmp(s, api_names[i].name) == 0) {
            *key = api_names[i].key;
            return true;
        }
    }
    return false;
}

/* Kafka's current names where librdkafka 2.0.2 still uses an older one. */
static const struct {
    const char *name;
    rd_kafka_resp_err_t err;
} err_aliases[] = {
    {"NOT_LEADER_OR_FOLLOWER", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
    {"UNKNOWN_TOPIC_OR_PARTITION", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART},
    {"COORDINATOR_LOAD_IN_PROGRESS", RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS},
    {"TRANSPORT", RD_KAFKA_RESP_ERR__TRANSPORT},
};

/* Accepts a number, one of librdkafka's error names (as listed by
 * rd_kafka_get_err_descs, with or without its leading '_' for internal
 * errors), or a Kafka name from err_aliases. Numbers are not range-checked
 * against known codes: tests may want to send an unknown code on purpose. */
static bool parse_err(const char *s, rd_kafka_resp_err_t *err)
{
    const struct rd_kafka_err_desc *descs;
    size_t cnt, i;
    long v;

    if (parse_long(s, -200, 32767, &v)) {
        *err = (rd_kafka_resp_err_t)v;
        return true;
    }
    if (s == NULL)
        return false;
    for (i = 0; i < sizeof(err_aliases) / sizeof(err_aliases[0]); i++) {
        if (strcasecmp(s, err_aliases[i].name) == 0) {
            *err = err_aliases[i].err;
            return true;
        }
    }
    rd_kafka_get_err_descs(&descs, &cnt);
    for (i = 0; i < cnt; i++) {
        const char *n = descs[i].name;
        if (n == NULL)
            continue;
        if (strcasecmp(s, n) == 0 || (n[0] == '_' && strcasecmp(s, n + 1) == 0)) {
            *err = descs[i].code;
            return true;
        }
    }
    return false;
}

/* Broker ids are 1..N; -1 means "all brokers" where the mock allows it. */
static bool parse_broker(const tb_state *st, const char *s, bool allow_all, int32_t *id)
{
    long v;

    if (!parse_long(s, -1, st->brokers, &v) || v == 0 || (v == -1 && !allow_all))
        return false;
    *id = (int32_t)v;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Startup probe: one ApiVersions v0 request over a plain socket. It proves
 * the listener answers before we print "ready", and records the version
 * ranges the mock implements (there is no getter for them in the mock API). */

static int probe_connect(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;
    size_t hl;

    if (colon == NULL || (hl = (size_t)(colon - hostport)) >= sizeof(host))
        return -1;
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static bool read_full(int fd, unsigned char *buf, size_t len, int timeout_ms)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0)
            return false;
        n = read(fd, buf + got, len - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int16_t be16(const unsigned char *p)
{
    return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* Parses an ApiVersions v0 response body (after the correlation id). */
static bool probe_parse(tb_state *st, const unsigned char *b, size_t len)
{
    uint32_t n, i;

    if (len < 6 || be16(b) != 0)
        return false;
    n = be32(b + 2);
    if (n > (len - 6) / 6)
        return false;
    for (i = 0; i < n; i++) {
        const unsigned char *e = b + 6 + (size_t)i * 6;
        int16_t key = be16(e);
        if (key >= 0 && key <= MAX_API_KEY) {
            st->api_min[key] = be16(e + 2);
            st->api_max[key] = be16(e + 4);
        }
    }
    return true;
}

static bool probe_apiversions(tb_state *st, const char *bootstrap)
{
    /* size=12 | api_key=18 | api_version=0 | correlation_id=1 | client_id="tb" */
    static const unsigned char req[] = {0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 1, 0, 2, 't', 'b'};
    unsigned char hdr[4], *body = NULL;
    uint32_t size;
    char first[300];
    size_t flen = strcspn(bootstrap, ",");
    bool ok = false;
    int fd;

    if (flen >= sizeof(first))
        return false;
    memcpy(first, bootstrap, flen);
    first[flen] = '\0';
    if ((fd = probe_connect(first)) < 0)
        return false;
    if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req) || !read_full(fd, hdr, 4, 10000))
        goto out;
    size = be32(hdr);
    if (size < 4 || size > 1u << 20 || (body = malloc(size)) == NULL)
        goto out;
    if (read_full(fd, body, size, 10000) && be32(body) == 1)
        ok = probe_parse(st, body + 4, size - 4);
out:
    free(body);
    close(fd);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Commands. Each handler gets argv without the command word and replies. */

static void err_reply(const char *what, rd_kafka_resp_err_t err)
{
    reply("err %s: %s (%d)", what, rd_kafka_err2name(err), (int)err);
}

static int create_topic(tb_state *st, const char *name, long parts, long repl)
{
    rd_kafka_resp_err_t err;

    err = rd_kafka_mock_topic_create(st->mc, name, (int)parts, (int)repl);
    if (err) {
        err_reply("topic", err);
        return -1;
    }
    return 0;
}

static void cmd_topic(tb_state *st, int argc, char **argv)
{
    long parts, repl = st->brokers < 3 ? st->brokers : 3;

    if (argc < 2 || argc > 3 || strlen(argv[0]) > 249 ||
        !parse_long(argv[1], 1, MAX_PARTITIONS, &parts) ||
        (argc == 3 && !parse_long(argv[2], 1, st->brokers, &repl))) {
        reply("err usage: topic <name> <partitions 1..%d> [replication 1..%d]",
              MAX_PARTITIONS, st->brokers);
        return;
    }
    if (create_topic(st, argv[0], parts, repl) == 0)
        reply("ok");
}

static void cmd_updown(tb_state *st, int argc, char **argv, bool up)
{
    int32_t id;
    rd_kafka_resp_err_t err;

    if (argc != 1 || !parse_broker(st, argv[0], true, &id)) {
        reply("err usage: %s <broker_id 1..%d | -1>", up ? "up" : "down", st->brokers);
        return;
    }
    err = up ? rd_kafka_mock_broker_set_up(st->mc, id) : rd_kafka_mock_broker_set_down(st->mc, id);
    if (err)
        err_reply(up ? "up" : "down", err);
    else
        reply("ok");
}

static void cmd_leader(tb_state *st, int argc, char **argv, bool follower)
{
    long part;
    int32_t id;
    rd_kafka_resp_err_t err;
    const char *name = follower ? "follower" : "leader";

    if (argc != 3 || !parse_long(argv[1], 0, MAX_PARTITIONS - 1, &part) ||
        !parse_broker(st, argv[2], !follower, &id)) {
        reply("err usage: %s <topic> <partition> <broker_id 1..%d%s>", name, st->brokers,
              follower ? "" : " | -1");
        return;
    }
    err = follower ? rd_kafka_mock_partition_set_follower(st->mc, argv[0], (int32_t)part, id)
                   : rd_kafka_mock_partition_set_leader(st->mc, argv[0], (int32_t)part, id);
    if (err)
        err_reply(name, err);
    else
        reply("ok");
}

static void cmd_follower_wmarks(tb_state *st, int argc, char **argv)
{
    long part, lo, hi;
    rd_kafka_resp_err_t err;

    if (argc != 4 || !parse_long(argv[1], 0, MAX_PARTITIONS - 1, &part) ||
        !parse_long(argv[2], -1, LONG_MAX, &lo) || !parse_long(argv[3], -1, LONG_MAX, &hi)) {
        reply("err usage: follower_wmarks <topic> <partition> <lo|-1> <hi|-1>");
        return;
    }
    err = rd_kafka_mock_partition_set_follower_wmarks(st->mc, argv[0], (int32_t)part, lo, hi);
    if (err)
        err_reply("follower_wmarks", err);
    else
        reply("ok");
}

static void cmd_rtt(tb_state *st, int argc, char **argv)
{
    int32_t id;
    long ms;
    rd_kafka_resp_err_t err;

    if (argc != 2 || !parse_broker(st, argv[0], true, &id) ||
        !parse_long(argv[1], 0, 600000, &ms)) {
        reply("err usage: rtt <broker_id 1..%d | -1> <ms 0..600000>", st->brokers);
        return;
    }
    err = rd_kafka_mock_broker_set_rtt(st->mc, id, (int)ms);
    if (err)
        err_reply("rtt", err);
    else
        reply("ok");
}

static void cmd_rack(tb_state *st, int argc, char **argv)
{
    int32_t id;
    rd_kafka_resp_err_t err;

    if (argc != 2 || !parse_broker(st, argv[0], true, &id)) {
        reply("err usage: rack <broker_id 1..%d | -1> <rack>", st->brokers);
        return;
    }
    err = rd_kafka_mock_broker_set_rack(st->mc, id, argv[1]);
    if (err)
        err_reply("rack", err);
    else
        reply("ok");
}

static void cmd_error(tb_state *st, int argc, char **argv)
{
    rd_kafka_resp_err_t errs[MAX_ARGS];
    int key, i;

    if (argc < 2 || !parse_api(argv[0], &key)) {
        reply("err usage: error <api> <err> [<err>...]");
        return;
    }
    for (i = 1; i < argc; i++) {
        if (!parse_err(argv[i], &errs[i - 1])) {
            reply("err unknown error code '%s'", argv[i]);
            return;
        }
    }
    rd_kafka_mock_push_request_errors_array(st->mc, (int16_t)key, (size_t)(argc - 1), errs);
    reply("ok");
}

/* broker_error <broker> <api> <err>[:rtt]... The mock takes the tuples as
 * varargs only, so they are pushed one call per tuple, which stacks them in
 * the same order as one call with all of them would. */
static void cmd_broker_error(tb_state *st, int argc, char **argv)
{
    rd_kafka_resp_err_t errs[MAX_ARGS], err;
    long rtts[MAX_ARGS];
    int32_t id;
    int key, i;

    if (argc < 3 || !parse_broker(st, argv[0], false, &id) || !parse_api(argv[1], &key)) {
        reply("err usage: broker_error <broker_id 1..%d> <api> <err>[:rtt_ms]...", st->brokers);
        return;
    }
    for (i = 2; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        rtts[i] = 0;
        if (colon != NULL) {
            *colon = '\0';
            if (!parse_long(colon + 1, 0, 600000, &rtts[i])) {
                reply("err bad rtt '%s'", colon + 1);
                return;
            }
        }
        if (!parse_err(argv[i], &errs[i])) {
            reply("err unknown error code '%s'", argv[i]);
            return;
        }
    }
    for (i = 2; i < argc; i++) {
        err = rd_kafka_mock_broker_push_request_error_rtts(st->mc, id, (int16_t)key, 1, errs[i],
                                                           (int)rtts[i]);
        if (err) {
            err_reply("broker_error", err);
            return;
        }
    }
    reply("ok");
}

static void cmd_broker_error_count(tb_state *st, int argc, char **argv)
{
    int32_t id;
    int key;
    size_t cnt = 0;
    rd_kafka_resp_err_t err;

    if (argc != 2 || !parse_broker(st, argv[0], false, &id) || !parse_api(argv[1], &key)) {
        reply("err usage: broker_error_count <broker_id 1..%d> <api>", st->brokers);
        return;
    }
    err = rd_kafka_mock_broker_error_stack_cnt(st->mc, id, (int16_t)key, &cnt);
    if (err)
        err_reply("broker_error_count", err);
    else
        reply("ok %zu", cnt);
}

static void cmd_clear_errors(tb_state *st, int argc, char **argv)
{
    int key;

    if (argc != 1 || !parse_api(argv[0], &key)) {
        reply("err usage: clear_errors <api>");
        return;
    }
    rd_kafka_mock_clear_request_errors(st->mc, (int16_t)key);
    reply("ok");
}

static void cmd_topic_error(tb_state *st, int argc, char **argv)
{
    rd_kafka_resp_err_t err;

    if (argc != 2 || !parse_err(argv[1], &err)) {
        reply("err usage: topic_error <topic> <err>");
        return;
    }
    rd_kafka_mock_topic_set_error(st->mc, argv[0], err);
    reply("ok");
}

static void cmd_coordinator(tb_state *st, int argc, char **argv)
{
    long id;
    rd_kafka_resp_err_t err;

    /* The mock allows any id here (an invalid coordinator is a test case). */
    if (argc != 3 || (strcmp(argv[0], "group") != 0 && strcmp(argv[0], "transaction") != 0) ||
        !parse_long(argv[2], -1, INT32_MAX, &id)) {
        reply("err usage: coordinator <group|transaction> <key> <broker_id>");
        return;
    }
    err = rd_kafka_mock_coordinator_set(st->mc, argv[0], argv[1], (int32_t)id);
    if (err)
        err_reply("coordinator", err);
    else
        reply("ok");
}

static void cmd_apiversion(tb_state *st, int argc, char **argv)
{
    int key;
    long lo, hi;
    rd_kafka_resp_err_t err;

    if (argc != 3 || !parse_api(argv[0], &key) || !parse_long(argv[1], -1, 32767, &lo) ||
        !parse_long(argv[2], -1, 32767, &hi)) {
        reply("err usage: apiversion <api> <min> <max>   (-1 -1 disables the API)");
        return;
    }
    if (!(lo == -1 && hi == -1)) {
        if (lo < 0 || hi < lo) {
            reply("err need 0 <= min <= max, or -1 -1");
            return;
        }
        if (st->api_max[key] < 0 || lo < st->api_min[key] || hi > st->api_max[key]) {
            reply("err api %d: the mock implements versions %d..%d only", key,
                  (int)st->api_min[key], (int)st->api_max[key]);
            return;
        }
    }
    err = rd_kafka_mock_set_apiversion(st->mc, (int16_t)key, (int16_t)lo, (int16_t)hi);
    if (err)
        err_reply("apiversion", err);
    else
        reply("ok");
}

static void cmd_apiversions(tb_state *st)
{
    char buf[MAX_LINE];
    size_t off = 0;
    int k;

    buf[0] = '\0';
    for (k = 0; k <= MAX_API_KEY; k++) {
        if (st->api_max[k] < 0)
            continue;
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d:%d:%d", off ? "," : "", k,
                                (int)st->api_min[k], (int)st->api_max[k]);
        if (off >= sizeof(buf))
            break;
    }
    reply("ok %s", buf);
}

/* Splits on blanks in place; returns -1 if there are too many words. */
static int split(char *line, char **argv)
{
    int argc = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MAX_ARGS)
            return -1;
        argv[argc++] = tok;
    }
    return argc;
}

/* Returns false when the program should exit. */
static bool dispatch(tb_state *st, char *line)
{
    char *argv[MAX_ARGS];
    int argc = split(line, argv);
    const char *c;

    if (argc < 0) {
        reply("err too many words");
        return true;
    }
    if (argc == 0) {
        reply("err empty command");
        return true;
    }
    c = argv[0];
    argc--;
    if ((strcmp(c, "quit") == 0 || strcmp(c, "exit") == 0) && argc == 0) {
        reply("ok");
        return false;
    }
    if (strcmp(c, "ping") == 0 && argc == 0) reply("ok");
    else if (strcmp(c, "bootstrap") == 0 && argc == 0) reply("ok %s", rd_kafka_mock_cluster_bootstraps(st->mc));
    else if (strcmp(c, "topic") == 0) cmd_topic(st, argc, argv + 1);
    else if (strcmp(c, "down") == 0) cmd_updown(st, argc, argv + 1, false);
    else if (strcmp(c, "up") == 0) cmd_updown(st, argc, argv + 1, true);
    else if (strcmp(c, "leader") == 0) cmd_leader(st, argc, argv + 1, false);
    else if (strcmp(c, "follower") == 0) cmd_leader(st, argc, argv + 1, true);
    else if (strcmp(c, "follower_wmarks") == 0) cmd_follower_wmarks(st, argc, argv + 1);
    else if (strcmp(c, "rtt") == 0) cmd_rtt(st, argc, argv + 1);
    else if (strcmp(c, "rack") == 0) cmd_rack(st, argc, argv + 1);
    else if (strcmp(c, "error") == 0) cmd_error(st, argc, argv + 1);
    else if (strcmp(c, "broker_error") == 0) cmd_broker_error(st, argc, argv + 1);
    else if (strcmp(c, "broker_error_count") == 0) cmd_broker_error_count(st, argc, argv + 1);
    else if (strcmp(c, "clear_errors") == 0) cmd_clear_errors(st, argc, argv + 1);
    else if (strcmp(c, "topic_error") == 0) cmd_topic_error(st, argc, argv + 1);
    else if (strcmp(c, "coordinator") == 0) cmd_coordinator(st, argc, argv + 1);
    else if (strcmp(c, "apiversion") == 0) cmd_apiversion(st, argc, argv + 1);
    else if (strcmp(c, "apiversions") == 0 && argc == 0) cmd_apiversions(st);
    else reply("err unknown command '%.64s' (see kafka_test_broker -h)", c);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Command loop: poll() so that a signal ends the wait promptly.            */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A vanished reader of stdout must not kill us before cleanup. */
    signal(SIGPIPE, SIG_IGN);
}

/* Handles each complete line in buf[0..*len); keeps the partial tail. */
static bool consume_lines(tb_state *st, char *buf, size_t *len)
{
    char *start = buf, *nl;
    bool go = true;

    while (go && (nl = memchr(start, '\n', *len - (size_t)(start - buf))) != NULL) {
        *nl = '\0';
        if (memchr(start, '\0', (size_t)(nl - start)) != NULL)
            reply("err NUL byte in command");
        else
            go = dispatch(st, start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    return go;
}

static void command_loop(tb_state *st)
{
    char buf[MAX_LINE + 1];
    size_t len = 0;
    bool discarding = false;

    while (!g_stop) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 200) <= 0)
            continue; /* timeout or EINTR: re-check g_stop */
        n = read(STDIN_FILENO, buf + len, MAX_LINE - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EOF or error on stdin: exit cleanly */
        len += (size_t)n;
        if (discarding) {
            /* Skip the rest of an over-long line up to its newline. */
            char *nl = memchr(buf, '\n', len);
            if (nl == NULL) {
                len = 0;
                continue;
            }
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
            discarding = false;
        }
        if (!consume_lines(st, buf, &len))
            return;
        if (len == MAX_LINE) {
            reply("err line longer than %d bytes", MAX_LINE);
            len = 0;
            discarding = true;
        }
    }
}

/* ------------------------------------------------------------------------ */

static int parse_topic_arg(tb_state *st, const char *orig)
{
    char arg[MAX_LINE], *p1, *p2;
    long parts, repl = st->brokers < 3 ? st->brokers : 3;

    /* Parse a copy: writing into argv would change what ps shows. */
    if (strlen(orig) >= sizeof(arg))
        return -1;
    strcpy(arg, orig);
    p1 = strchr(arg, ':');
    if (p1 == NULL || p1 == arg)
        return -1;
    *p1++ = '\0';
    p2 = strchr(p1, ':');
    if (p2 != NULL)
        *p2++ = '\0';
    if (!parse_long(p1, 1, MAX_PARTITIONS, &parts) ||
        (p2 != NULL && !parse_long(p2, 1, st->brokers, &repl)))
        return -1;
    if (rd_kafka_mock_topic_create(st->mc, arg, (int)parts, (int)repl) != 0)
        return -1;
    return 0;
}

static rd_kafka_t *make_handle(void)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    /* Warnings and errors only: the mock's info chatter would drown the
     * test output (stderr is inherited by the tests). */
    rd_kafka_conf_set(conf, "log_level", "4", NULL, 0);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_test_broker: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int parse_args(int argc, char **argv, long *brokers)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!parse_long(argv[++i], 1, MAX_BROKERS, brokers)) {
                fprintf(stderr, "kafka_test_broker: -n wants 1..%d\n", MAX_BROKERS);
                return -1;
            }
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            i++; /* topics are created after the cluster exists */
        } else {
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static int create_arg_topics(tb_state *st, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") != 0)
            continue;
        if (parse_topic_arg(st, argv[++i]) != 0) {
            fprintf(stderr, "kafka_test_broker: bad -t (want topic:partitions[:replication 1..%d])\n",
                    st->brokers);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    tb_state st;
    long brokers = 3;
    int rc = 1;

    memset(&st, 0, sizeof(st));
    memset(st.api_min, 0xff, sizeof(st.api_min));
    memset(st.api_max, 0xff, sizeof(st.api_max));
    if (parse_args(argc, argv, &brokers) != 0)
        return 2;
    st.brokers = (int)brokers;
    install_signals();
    if ((st.rk = make_handle()) == NULL)
        return 1;
    if ((st.mc = rd_kafka_mock_cluster_new(st.rk, st.brokers)) == NULL) {
        fprintf(stderr, "kafka_test_broker: rd_kafka_mock_cluster_new failed\n");
        goto out;
    }
    if (create_arg_topics(&st, argc, argv) != 0)
        goto out;
    st.api_known = probe_apiversions(&st, rd_kafka_mock_cluster_bootstraps(st.mc));
    if (!st.api_known) {
        fprintf(stderr, "kafka_test_broker: the mock did not answer ApiVersions\n");
        goto out;
    }
    /* librdkafka 2.0.2's mock writes the v4/v5 ListOffsets LeaderEpoch as
     * an int64 (Kafka's schema: int32), which misaligns every partition
     * entry after the first: advertise v0-v3, the versions it encodes
     * right (`apiversion ListOffsets 0 5` brings v4/v5 back). Clients then
     * get v3 through the version negotiation, with no special case. */
    if (st.api_max[2] > 3 && rd_kafka_mock_set_apiversion(st.mc, 2, st.api_min[2], 3) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_test_broker: cannot cap ListOffsets at v3\n");
        goto out;
    }
    reply("bootstrap %s", rd_kafka_mock_cluster_bootstraps(st.mc));
    reply("ready");
    command_loop(&st);
    rc = 0;
out:
    if (st.mc)
        rd_kafka_mock_cluster_destroy(st.mc);
    rd_kafka_destroy(st.rk);
    return rc;
}
