/* Test fixture around kafka_test_broker or a real cluster: see test_cluster.h. */
#include "test_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <librdkafka/rdkafka.h>

#ifndef KAFKA_TEST_BROKER_BIN
#define KAFKA_TEST_BROKER_BIN "kafka_test_broker"
#endif
#ifndef KAFKA_MOCK_BIN
#define KAFKA_MOCK_BIN "kafka-mock"
#endif

#define KT_REPLY_TIMEOUT_MS 10000
#define KT_STOP_TIMEOUT_MS 10000
#define KT_LINE_MAX 4096

struct kt_cluster {
    bool mock;
    kt_broker_kind kind;
    bool dead; /* broker gone or out of sync: every command fails */
    pid_t pid;
    int to_fd;   /* broker's stdin */
    int from_fd; /* broker's stdout */
    int brokers;
    char *bootstrap;
    char inbuf[KT_LINE_MAX];
    size_t inlen;
    char reply[KT_LINE_MAX];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void set_reply(kt_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reply(kt_cluster *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->reply, sizeof(c->reply), fmt, ap);
    va_end(ap);
}

/* Reads one line from the broker into c->reply (without the newline).
 * Returns 0, or -1 on timeout / EOF / over-long line (then c->dead is set,
 * since the reply stream can no longer be trusted to be in step). */
static int read_line(kt_cluster *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        char *nl = memchr(c->inbuf, '\n', c->inlen);
        struct pollfd p = {.fd = c->from_fd, .events = POLLIN};
        int64_t left;
        ssize_t n;
        int pr;

        if (nl != NULL) {
            size_t l = (size_t)(nl - c->inbuf);
            memcpy(c->reply, c->inbuf, l);
            c->reply[l] = '\0';
            c->inlen -= l + 1;
            memmove(c->inbuf, nl + 1, c->inlen);
            return 0;
        }
        if (c->inlen == sizeof(c->inbuf)) {
            set_reply(c, "broker sent a line longer than %d bytes", KT_LINE_MAX);
            break;
        }
        left = deadline - now_ms();
        if (left <= 0) {
            set_reply(c, "no answer from the test broker within %d ms", timeout_ms);
            break;
        }
        pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue; /* the deadline check above reports the timeout */
        n = read(c->from_fd, c->inbuf + c->inlen, sizeof(c->inbuf) - c->inlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            set_reply(c, "test broker closed its output (crashed or exited)");
            break;
        }
        c->inlen += (size_t)n;
    }
    c->dead = true;
    fprintf(stderr, "kt_cluster: %s\n", c->reply);
    return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Spawning the broker.                                                      */

static const char *broker_bin(kt_broker_kind kind)
{
    const char *env = getenv(kind == KT_BROKER_KAFKA_MOCK ? "KAFKA_MOCK_BIN" : "KAFKA_TEST_BROKER_BIN");

    if (env != NULL && *env != '\0')
        return env;
    return kind == KT_BROKER_KAFKA_MOCK ? KAFKA_MOCK_BIN : KAFKA_TEST_BROKER_BIN;
}

static void child_exec(int in_fd, int out_fd, pid_t parent, kt_broker_kind kind, int brokers)
{
    char nbuf[16];
    const char *bin = broker_bin(kind);

    /* The broker must not outlive a test that crashed. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    snprintf(nbuf, sizeof(nbuf), "%d", brokers);
    if (kind == KT_BROKER_KAFKA_MOCK) /* auto-created topics: 4 partitions, as kafka_test_broker */
        execl(bin, bin, "--brokers", nbuf, "--partitions", "4", (char *)NULL);
    else
        execl(bin, bin, "-n", nbuf, (char *)NULL);
    fprintf(stderr, "kt_cluster: cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* A write to a broker that died must give EPIPE, not kill the test. */
static void ignore_sigpipe(void)
{
    struct sigaction old;

    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

static int spawn_broker(kt_cluster *c, int brokers)
{
    int in[2], out[2];
    pid_t parent = getpid();

    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    fflush(NULL); /* the child must not repeat buffered test output */
    c->pid = fork();
    if (c->pid == 0)
        child_exec(in[0], out[1], parent, c->kind, brokers);
    close(in[0]);
    close(out[1]);
    c->to_fd = in[1];
    c->from_fd = out[0];
    if (c->pid < 0) {
        close(in[1]);
        close(out[0]);
        c->to_fd = c->from_fd = -1;
        return -1;
    }
    return 0;
}

/* kafka_test_broker: expects "bootstrap <list>" then "ready"; kafka-mock
 * prints the bootstrap list alone as its first line, once it serves. */
static int await_ready(kt_cluster *c)
{
    if (read_line(c, KT_REPLY_TIMEOUT_MS) != 0)
        return -1;
    if (c->kind == KT_BROKER_KAFKA_MOCK) {
        c->bootstrap = c->reply[0] != '\0' && strchr(c->reply, ' ') == NULL ? strdup(c->reply) : NULL;
        if (c->bootstrap == NULL)
            fprintf(stderr, "kt_cluster: unexpected first line from kafka-mock: '%s'\n", c->reply);
        return c->bootstrap != NULL ? 0 : -1;
    }
    if (strncmp(c->reply, "bootstrap ", 10) != 0 || c->reply[10] == '\0') {
        fprintf(stderr, "kt_cluster: unexpected first line from broker: '%s'\n", c->reply);
        return -1;
    }
    c->bootstrap = strdup(c->reply + 10);
    if (c->bootstrap == NULL || read_line(c, KT_REPLY_TIMEOUT_MS) != 0)
        return -1;
    if (strcmp(c->reply, "ready") != 0) {
        fprintf(stderr, "kt_cluster: expected 'ready', got '%s'\n", c->reply);
        return -1;
    }
    return 0;
}

static int count_entries(const char *list)
{
    int n = 1;

    for (; *list; list++)
        n += *list == ',';
    return n;
}

kt_broker_kind kt_default_broker_kind(void)
{
    const char *env = getenv("KAFKA_TEST_BROKER");

    if (env != NULL && strcmp(env, "kafka_mock") == 0)
        return KT_BROKER_KAFKA_MOCK;
    if (env != NULL && *env != '\0' && strcmp(env, "rdkafka") != 0)
        fprintf(stderr, "kt_cluster: KAFKA_TEST_BROKER=%s is neither rdkafka nor kafka_mock; using rdkafka\n", env);
    return KT_BROKER_RDKAFKA;
}

kt_cluster *kt_cluster_start(int brokers)
{
    return kt_cluster_start_kind(kt_default_broker_kind(), brokers);
}

kt_cluster *kt_cluster_start_kind(kt_broker_kind kind, int brokers)
{
    const char *real = getenv("KAFKA_BROKERS");
    kt_cluster *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->pid = -1;
    c->to_fd = c->from_fd = -1;
    if (real != NULL && *real != '\0') {
        c->bootstrap = strdup(real);
        c->brokers = count_entries(real);
        if (c->bootstrap == NULL) {
            free(c);
            return NULL;
        }
        return c;
    }
    c->mock = true;
    c->kind = kind;
    c->brokers = brokers;
    ignore_sigpipe();
    if (spawn_broker(c, brokers) != 0) {
        fprintf(stderr, "kt_cluster: cannot start %s: %s\n", broker_bin(kind), strerror(errno));
        free(c);
        return NULL;
    }
    if (await_ready(c) != 0) {
        fprintf(stderr, "kt_cluster: test broker %s did not start\n", broker_bin(kind));
        kt_cluster_stop(c);
        return NULL;
    }
    return c;
}

const char *kt_cluster_bootstrap(const kt_cluster *c)
{
    return c->bootstrap;
}

bool kt_cluster_is_mock(const kt_cluster *c)
{
    return c->mock;
}

kt_broker_kind kt_cluster_kind(const kt_cluster *c)
{
    return c->kind;
}

int kt_cluster_broker_count(const kt_cluster *c)
{
    return c->brokers;
}

int kt_cluster_pid(const kt_cluster *c)
{
    return c->mock ? (int)c->pid : -1;
}

const char *kt_cluster_last_reply(const kt_cluster *c)
{
    return c->reply;
}

static int send_line(kt_cluster *c, const char *line)
{
    if (!c->mock) {
        set_reply(c, "not a mock cluster (KAFKA_BROKERS is set)");
        return -1;
    }
    if (c->dead) {
        set_reply(c, "test broker is gone");
        return -1;
    }
    if (strchr(line, '\n') != NULL) {
        set_reply(c, "command contains a newline");
        return -1;
    }
    if (write_all(c->to_fd, line, strlen(line)) != 0 || write_all(c->to_fd, "\n", 1) != 0) {
        set_reply(c, "cannot write to the test broker: %s", strerror(errno));
        c->dead = true;
        fprintf(stderr, "kt_cluster: %s\n", c->reply);
        return -1;
    }
    if (read_line(c, KT_REPLY_TIMEOUT_MS) != 0)
        return -1;
    return strcmp(c->reply, "ok") == 0 || strncmp(c->reply, "ok ", 3) == 0 ? 0 : -1;
}

int kt_cluster_cmd(kt_cluster *c, const char *fmt, ...)
{
    char line[KT_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        set_reply(c, "command too long");
        return -1;
    }
    return send_line(c, line);
}

/* ------------------------------------------------------------------------ */
/* Real cluster: CreateTopics through librdkafka's admin API.               */

static rd_kafka_t *admin_handle(const char *bootstrap)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kt_cluster: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kt_cluster: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static rd_kafka_resp_err_t admin_create(rd_kafka_t *rk, const char *topic, int partitions,
                                        int replication)
{
    char errstr[256];
    rd_kafka_NewTopic_t *nt;
    rd_kafka_AdminOptions_t *opts;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;

    nt = rd_kafka_NewTopic_new(topic, partitions, replication > 0 ? replication : -1, errstr,
                               sizeof(errstr));
    if (nt == NULL) {
        fprintf(stderr, "kt_cluster: NewTopic: %s\n", errstr);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, 25000, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(opts, 20000, errstr, sizeof(errstr));
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev != NULL) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
        err = rd_kafka_event_error(ev);
        if (err == 0 && cnt == 1)
            err = rd_kafka_topic_result_error(tr[0]);
        if (err != 0 && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            fprintf(stderr, "kt_cluster: CreateTopics %s: %s\n", topic, rd_kafka_err2str(err));
        rd_kafka_event_destroy(ev);
    } else {
        fprintf(stderr, "kt_cluster: CreateTopics %s: no answer in 30 s\n", topic);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    return err;
}

/* true once Metadata shows the topic with `partitions` led partitions. */
static bool topic_ready(rd_kafka_t *rk, const char *topic, int partitions)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    bool ok = false;
    int i;

    if (rkt == NULL)
        return false;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0 && md->topic_cnt == 1 &&
        md->topics[0].err == 0 && md->topics[0].partition_cnt >= partitions) {
        ok = true;
        for (i = 0; i < md->topics[0].partition_cnt; i++)
            ok = ok && md->topics[0].partitions[i].leader >= 0;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return ok;
}

/* ---- ApiVersions v0 probe, hand-encoded (independent of libkafka) ---- */

static int connect_first(const char *bootstrap)
{
    char host[256];
    size_t len = strcspn(bootstrap, ",");
    const char *colon;
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;

    if (len >= sizeof(host))
        return -1;
    memcpy(host, bootstrap, len);
    host[len] = '\0';
    if ((colon = strrchr(host, ':')) == NULL)
        return -1;
    host[colon - host] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host[0] == '[' ? host + 1 : host, colon + 1, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static bool recv_full(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, 10000) <= 0 || (n = recv(fd, buf + got, len - got, 0)) <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

/* true if the first bootstrap broker lists CreateTopics (key 19) in its
 * ApiVersions v0 answer. On any doubt (no answer, TLS/SASL-only listener)
 * it answers true, so that real clusters take the admin-API path. */
static bool offers_create_topics(const char *bootstrap)
{
    /* size=12 | key=18 | version=0 | correlation id=1 | client_id "kt" */
    static const unsigned char req[] = {0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 1, 0, 2, 'k', 't'};
    unsigned char hdr[4], *body = NULL;
    uint32_t size, n, i;
    bool found = true;
    int fd = connect_first(bootstrap);

    if (fd < 0)
        return true;
    if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req) || !recv_full(fd, hdr, 4))
        goto out;
    size = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (size < 10 || size > 65536 || (body = malloc(size)) == NULL || !recv_full(fd, body, size))
        goto out;
    /* correlation id(4) | error(2) | count(4) | count x (key, min, max) */
    if (body[4] != 0 || body[5] != 0)
        goto out;
    n = (uint32_t)body[6] << 24 | (uint32_t)body[7] << 16 | (uint32_t)body[8] << 8 | body[9];
    if (n > (size - 10) / 6)
        goto out;
    found = false;
    for (i = 0; i < n && !found; i++)
        found = body[10 + 6 * i] == 0 && body[11 + 6 * i] == 19;
out:
    free(body);
    close(fd);
    return found;
}

static int real_create_topic(kt_cluster *c, const char *topic, int partitions, int replication)
{
    rd_kafka_t *rk = admin_handle(c->bootstrap);
    rd_kafka_resp_err_t err;
    int64_t deadline = now_ms() + 30000;
    int rc = -1;

    if (rk == NULL)
        return -1;
    if (offers_create_topics(c->bootstrap)) {
        err = admin_create(rk, topic, partitions, replication);
    } else {
        /* A broker without CreateTopics (e.g. another kafka_test_broker
         * given as KAFKA_BROKERS; librdkafka's admin client would wait for
         * a controller the mock never names): rely on auto-creation by the
         * Metadata requests below, so the broker's default partition count
         * must be at least `partitions`. */
        err = 0;
    }
    if (err == 0 || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        while (rc != 0 && now_ms() < deadline) {
            if (topic_ready(rk, topic, partitions))
                rc = 0;
            else
                sleep_ms(200);
        }
        if (rc != 0)
            fprintf(stderr, "kt_cluster: topic %s not visible after 30 s\n", topic);
    }
    rd_kafka_destroy(rk);
    return rc;
}

int kt_cluster_create_topic(kt_cluster *c, const char *topic, int partitions, int replication)
{
    if (!c->mock)
        return real_create_topic(c, topic, partitions, replication);
    if (replication > 0)
        return kt_cluster_cmd(c, "topic %s %d %d", topic, partitions, replication);
    return kt_cluster_cmd(c, "topic %s %d", topic, partitions);
}

/* ------------------------------------------------------------------------ */
/* Stopping.                                                                 */

/* Waits up to ms for the child; returns true once reaped. */
static bool wait_child(pid_t pid, int ms, int *status)
{
    int64_t deadline = now_ms() + ms;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return true;
        if (now_ms() >= deadline)
            return false;
        sleep_ms(10);
    }
}

static int stop_mock(kt_cluster *c)
{
    int status = 0;
    bool clean = !c->dead; /* a broker that died earlier did not stop cleanly */

    if (!c->dead && send_line(c, "quit") != 0)
        clean = false;
    close(c->to_fd); /* EOF on stdin also makes the broker exit */
    c->to_fd = -1;
    if (!wait_child(c->pid, KT_STOP_TIMEOUT_MS, &status)) {
        fprintf(stderr, "kt_cluster: broker %d did not exit; SIGTERM\n", (int)c->pid);
        clean = false;
        kill(c->pid, SIGTERM);
        if (!wait_child(c->pid, 2000, &status)) {
            kill(c->pid, SIGKILL);
            wait_child(c->pid, 5000, &status);
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "kt_cluster: broker exit status 0x%x\n", (unsigned)status);
        clean = false;
    }
    return clean ? 0 : -1;
}

int kt_cluster_stop(kt_cluster *c)
{
    int rc = 0;

    if (c == NULL)
        return 0;
    if (c->mock && c->pid > 0)
        rc = stop_mock(c);
    if (c->to_fd >= 0)
        close(c->to_fd);
    if (c->from_fd >= 0)
        close(c->from_fd);
    free(c->bootstrap);
    free(c);
    return rc;
}

/* ------------------------------------------------------------------------ */

char *kt_unique_topic(const char *prefix)
{
    static unsigned counter;
    unsigned rnd = 0;
    char *name;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t len;

    if (fd < 0 || read(fd, &rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
        rnd = (unsigned)now_ms() ^ (unsigned)getpid() * 2654435761u;
    if (fd >= 0)
        close(fd);
    len = strlen(prefix) + 48;
    name = malloc(len);
    if (name != NULL)
        snprintf(name, len, "%s-%d-%u-%08x", prefix, (int)getpid(), ++counter, rnd);
    return name;
}

int kt_cluster_group_setup(void **state)
{
    kt_cluster *c = kt_cluster_start(3);

    *state = c;
    return c != NULL ? 0 : -1;
}

int kt_cluster_group_teardown(void **state)
{
    int rc = kt_cluster_stop(*state);

    *state = NULL;
    return rc;
}
