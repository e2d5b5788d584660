/* kafka_reader on the engine against the test broker: a group member reads
 * every message of a 1,000-partition topic over 3 brokers with a fixed
 * number of threads (counted in /proc/self/task); a slow broker does not
 * hold back the partitions of the others, nor does one that accepts TCP
 * and never answers its handshake; a partition that does not exist is an
 * error from the read, not a timeout forever. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "proc_util.h"
#include "test_cluster.h"
#include "writer_util.h"

static void log_cb(void *priv, kafka_log_level lvl, const char *msg)
{
    (void)priv;
    fprintf(stderr, "[reader %d] %s\n", (int)lvl, msg);
}

static kafka_reader *open_reader(kafka_reader_config cfg)
{
    if (!cfg.max_wait_ms)
        cfg.max_wait_ms = 200;
    if (getenv("KT_LOG")) {
        cfg.log = log_cb;
        cfg.log_level = KAFKA_LOG_DEBUG;
    }
    kafka_reader *r = NULL;
    char err[256] = "";
    kafka_err e = kafka_reader_new(&r, &cfg, err, sizeof err);
    if (e)
        fail_msg("kafka_reader_new: %s: %s", kafka_err_name(e), err);
    return r;
}

/* n messages "m<i>" spread round-robin over the topic's partitions. */
static void preload(kt_cluster *kt, const char *topic, int n)
{
    kafka_writer *w = kt_writer_new(kt, topic,
                                    (kafka_writer_config){.balancer = {.kind = KAFKA_BALANCER_ROUND_ROBIN},
                                                          .batch_size = 1000});
    assert_non_null(w);
    kafka_message *m = calloc((size_t)n, sizeof *m);
    char (*vals)[16] = calloc((size_t)n, sizeof *vals);
    for (int i = 0; i < n; i++) {
        int len = snprintf(vals[i], sizeof vals[i], "m%d", i);
        m[i].value = vals[i];
        m[i].value_len = (size_t)len;
    }
    assert_int_equal(kafka_writer_write_messages(w, m, (size_t)n, NULL, 120000), 0);
    assert_int_equal(kafka_writer_close(w, -1), 0);
    free(m);
    free(vals);
}

#define MANY_PARTS 1000
#define MANY_MSGS 20000
/* Threads a reader adds whatever the partition count and the mode: its
 * I/O thread, which also drives the group membership. */
#define MAX_READER_THREADS 1

static void test_thousand_partitions_group(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("engine-many");
    assert_int_equal(kt_cluster_create_topic(kt, topic, MANY_PARTS, 1), 0);
    preload(kt, topic, MANY_MSGS);
    int base = kt_thread_count();
    assert_true(base > 0);
    char group[64];
    snprintf(group, sizeof group, "g-%s", topic);
    kafka_reader *r = open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt),
                                                        .topic = topic,
                                                        .group_id = group,
                                                        .commit_interval_ms = 1000,
                                                        .session_timeout_ms = 6000,
                                                        .heartbeat_interval_ms = 300});
    unsigned char *seen = calloc(MANY_MSGS, 1);
    int got = 0, peak = 0, dups = 0;
    while (got < MANY_MSGS) {
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(r, &m, 60000);
        if (e)
            fail_msg("read %d of %d: %s", got, MANY_MSGS, kafka_err_name(e));
        int t = kt_thread_count();
        if (t > peak)
            peak = t;
        char buf[16] = "";
        memcpy(buf, m.value, m.value_len < 15 ? m.value_len : 15);
        int i = atoi(buf + 1);
        assert_true(i >= 0 && i < MANY_MSGS);
        if (seen[i])
            dups++;
        else
            got++;
        seen[i] = 1;
    }
    assert_int_equal(dups, 0);
    print_message("1000 partitions: %d messages, threads %d before the reader, peak %d\n", got, base, peak);
    assert_true(peak - base <= MAX_READER_THREADS);
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    assert_int_equal(st.partitions, MANY_PARTS);
    assert_int_equal(kafka_reader_close(r), 0);
    free(seen);
    free(topic);
}

/* Partition i led by broker i+1; broker 1 answers 3 s late. Each broker
 * has its own connection and its own Fetch, so every message of the
 * partitions led by brokers 2 and 3 arrives before the first one of the
 * slow broker's partition. */
static void test_slow_broker(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("engine-slow");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 1), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, p + 1), 0);
    preload(kt, topic, 300); /* 100 per partition */
    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 3000"), 0);
    kafka_reader *r = open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt),
                                                        .topic = topic,
                                                        .group_id = topic,
                                                        .commit_interval_ms = 1000,
                                                        .session_timeout_ms = 20000,
                                                        .heartbeat_interval_ms = 300,
                                                        .max_wait_ms = 100});
    int per[3] = {0}, fast_before_slow = -1;
    for (int n = 0; n < 300; n++) {
        kafka_message m;
        kafka_err e = kafka_reader_fetch_message(r, &m, 60000);
        if (e)
            fail_msg("read %d: %s", n, kafka_err_name(e));
        assert_true(m.partition >= 0 && m.partition < 3);
        if (m.partition == 0 && fast_before_slow < 0)
            fast_before_slow = per[1] + per[2];
        per[m.partition]++;
    }
    assert_int_equal(per[0], 100);
    assert_int_equal(per[1], 100);
    assert_int_equal(per[2], 100);
    /* Everything of the fast brokers came before the slow one's first. */
    assert_int_equal(fast_before_slow, 200);
    assert_int_equal(kt_cluster_cmd(kt, "rtt 1 0"), 0);
    kafka_reader_close(r);
    free(topic);
}

static void test_missing_partition_is_an_error(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("engine-missing");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 4, 1), 0);
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic, .partition = 99});
    kafka_message m;
    kafka_err e = KAFKA_ERR_TIMEOUT;
    /* A few reads at most: the first may time out before the lookup. */
    for (int i = 0; i < 20 && e == KAFKA_ERR_TIMEOUT; i++)
        e = kafka_reader_read_message(r, &m, 500);
    assert_int_equal(e, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    assert_non_null(strstr(text, "99"));
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

/* Reads until something other than a timeout comes back (at most n reads
 * of 500 ms: the first may come before the I/O thread's first attempt). */
static kafka_err first_error(kafka_reader *r, int n)
{
    kafka_message m;
    kafka_err e = KAFKA_ERR_TIMEOUT;
    for (int i = 0; i < n && e == KAFKA_ERR_TIMEOUT; i++)
        e = kafka_reader_read_message(r, &m, 500);
    return e;
}

/* A topic the metadata says is unknown (the mock auto-creates topics on
 * Metadata, so the broker is told to answer the error). */
static void test_unknown_topic_is_an_error(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("engine-unknown");
    assert_int_equal(kt_cluster_cmd(kt, "topic_error %s UNKNOWN_TOPIC_OR_PARTITION", topic), 0);
    kafka_reader *r = open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic});
    assert_int_equal(first_error(r, 20), KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    assert_non_null(strstr(text, topic));
    assert_int_equal(kafka_reader_close(r), 0);
    assert_int_equal(kt_cluster_cmd(kt, "topic_error %s 0", topic), 0);
    free(topic);
}

/* TLS to a broker that speaks plain TCP: the handshake fails; the read
 * says so with the reason (fatal: not retried into a timeout). */
static void test_tls_failure_is_an_error(void **state)
{
    kt_cluster *kt = *state;
    kafka_dialer_config d = {.tls = {.enable = true}};
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = "engine-tls", .dialer = &d});
    assert_int_equal(first_error(r, 20), KAFKA_ERR_TLS);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    print_message("TLS failure: %s\n", text);
    assert_non_null(strstr(text, "TLS"));
    assert_int_equal(kafka_reader_close(r), 0);
}

/* The same in group mode: the group thread's join fails with TLS, and the
 * read says so instead of timing out forever. */
static void test_group_tls_failure_is_an_error(void **state)
{
    kt_cluster *kt = *state;
    kafka_dialer_config d = {.tls = {.enable = true}};
    kafka_reader *r = open_reader((kafka_reader_config){
        .brokers = kt_cluster_bootstrap(kt), .topic = "engine-tls", .group_id = "engine-tls-group", .dialer = &d});
    assert_int_equal(first_error(r, 20), KAFKA_ERR_TLS);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    print_message("group TLS failure: %s\n", text);
    assert_true(text[0] != 0);
    assert_int_equal(kafka_reader_close(r), 0);
}

/* SASL to a broker that has no SASL (the mock): refused, fatal, with text. */
static void test_sasl_failure_is_an_error(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    kafka_dialer_config d = {.sasl = {.mechanism = KAFKA_SASL_PLAIN, .username = "u", .password = "p"}};
    kafka_reader *r = open_reader(
        (kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = "engine-sasl", .dialer = &d});
    kafka_err e = first_error(r, 20);
    char text[512];
    kafka_reader_last_error(r, text, sizeof text);
    print_message("SASL failure: %s: %s\n", kafka_err_name(e), text);
    assert_true(kafka_err_is_fatal(e));
    assert_true(text[0] != 0);
    assert_int_equal(kafka_reader_close(r), 0);
}

/* ---- a user transport over TCP (no fd for the engine to watch) --------- */

static atomic_int g_tp_dials, g_tp_reads;

static int tp_dial(void *priv, const char *host, int port, int timeout_ms, void **conn, char *err, size_t errlen)
{
    (void)priv;
    (void)timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(err, errlen, "test transport: cannot connect to %s:%d", host, port);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int *h = malloc(sizeof *h);
    *h = fd;
    *conn = h;
    atomic_fetch_add(&g_tp_dials, 1);
    return 0;
}

static long tp_wait(int fd, short ev, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int n = poll(&p, 1, timeout_ms);
    return n < 0 ? KAFKA_TRANSPORT_ERROR : n == 0 ? KAFKA_TRANSPORT_TIMEOUT : 1;
}

static long tp_read(void *priv, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)priv;
    int fd = *(int *)conn;
    long w = tp_wait(fd, POLLIN, timeout_ms);
    if (w <= 0)
        return w;
    ssize_t n = recv(fd, buf, len, 0);
    if (n > 0)
        atomic_fetch_add(&g_tp_reads, 1);
    return n < 0 ? KAFKA_TRANSPORT_ERROR : (long)n;
}

static long tp_write(void *priv, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)priv;
    int fd = *(int *)conn;
    long w = tp_wait(fd, POLLOUT, timeout_ms);
    if (w <= 0)
        return w;
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n <= 0 ? KAFKA_TRANSPORT_ERROR : (long)n;
}

static void tp_close(void *priv, void *conn)
{
    (void)priv;
    close(*(int *)conn);
    free(conn);
}

/* The reader over a user transport: the engine has no fd to wait on and
 * asks the transport with a zero timeout; every message still arrives. */
static void test_user_transport(void **state)
{
    kt_cluster *kt = *state;
    char *topic = kt_unique_topic("engine-transport");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 1, 1), 0);
    preload(kt, topic, 500);
    kafka_transport tp = {.dial = tp_dial, .read = tp_read, .write = tp_write, .close = tp_close};
    kafka_dialer_config d = {.transport = &tp};
    atomic_store(&g_tp_dials, 0);
    atomic_store(&g_tp_reads, 0);
    kafka_reader *r =
        open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt), .topic = topic, .dialer = &d});
    for (int i = 0; i < 500; i++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 30000);
        if (e)
            fail_msg("read %d: %s", i, kafka_err_name(e));
        assert_int_equal(m.offset, i);
        char want[16];
        int n = snprintf(want, sizeof want, "m%d", i);
        assert_int_equal(m.value_len, (size_t)n);
        assert_memory_equal(m.value, want, (size_t)n);
    }
    assert_true(atomic_load(&g_tp_dials) > 0);
    assert_true(atomic_load(&g_tp_reads) > 0);
    assert_int_equal(kafka_reader_close(r), 0);
    free(topic);
}

/* The resolver hook sends every dial of one broker to a socket the test
 * owns: the kernel completes the TCP handshake (listen backlog) and
 * nobody ever answers. */
typedef struct stall_map {
    char host[256];
    int port, stall_port;
    atomic_int hits;
} stall_map;

static int stall_resolve(void *priv, const char *host, int port, char *out, size_t out_len, int *port_out)
{
    stall_map *s = priv;
    bool stalled = port == s->port && strcmp(host, s->host) == 0;
    snprintf(out, out_len, "%s", stalled ? "127.0.0.1" : host);
    *port_out = stalled ? s->stall_port : port;
    if (stalled)
        atomic_fetch_add(&s->hits, 1);
    return 0;
}

/* Partition i led by broker i+1; broker 2's connection is sent to a
 * socket that never answers the handshake. Every message of the
 * partitions of brokers 1 and 3 arrives while that handshake is still
 * pending: after them, each connection to the stalled socket holds the
 * ApiVersions request it got and the client has not hung up (no EOF), so
 * no attempt (dial_timeout_ms of 120 s, longer than every read's timeout)
 * has ended. Before connection
 * setup ran on the engine, it blocked the I/O thread and these reads
 * timed out. */
static void test_stalled_handshake(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    char *topic = kt_unique_topic("engine-stall");
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 1), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, p + 1), 0);
    preload(kt, topic, 300); /* 100 per partition */

    static stall_map map;
    memset(&map, 0, sizeof map);
    kafka_conn *c = NULL;
    assert_int_equal(kafka_dial(&c, kt_cluster_bootstrap(kt), NULL, 10000), 0);
    kafka_broker *bs = NULL;
    size_t nb = 0;
    assert_int_equal(kafka_conn_brokers(c, &bs, &nb), 0);
    for (size_t i = 0; i < nb; i++)
        if (bs[i].id == 2) {
            snprintf(map.host, sizeof map.host, "%s", bs[i].host);
            map.port = bs[i].port;
        }
    kafka_free_brokers(bs);
    kafka_conn_close(c);
    assert_true(map.port > 0);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    map.stall_port = ntohs(sa.sin_port);

    kafka_dialer_config d = {.resolver = stall_resolve, .resolver_privdata = &map};
    static const int32_t parts[3] = {0, 1, 2};
    kafka_reader *r = open_reader((kafka_reader_config){.brokers = kt_cluster_bootstrap(kt),
                                                        .topic = topic,
                                                        .partitions = parts,
                                                        .n_partitions = 3,
                                                        .dial_timeout_ms = 120000,
                                                        .dialer = &d});
    int per[3] = {0};
    for (int n = 0; n < 200; n++) {
        kafka_message m;
        kafka_err e = kafka_reader_read_message(r, &m, 60000);
        if (e)
            fail_msg("read %d: %s", n, kafka_err_name(e));
        assert_true(m.partition >= 0 && m.partition < 3);
        per[m.partition]++;
    }
    assert_int_equal(per[0], 100);
    assert_int_equal(per[1], 0);
    assert_int_equal(per[2], 100);
    assert_true(atomic_load(&map.hits) >= 1);

    /* The stalled attempts (the broker's connection, and one for its
     * address in the bootstrap list when metadata went looking): each
     * holds its ApiVersions request (size prefix, then api key 18) and
     * the client still waits on it: an attempt that had ended would have
     * closed its socket (EOF here). */
    struct pollfd pl = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 30000), 1);
    int cfds[8], nc = 0;
    while (nc < 8 && poll(&pl, 1, nc ? 0 : 30000) == 1) {
        int cfd = accept(lfd, NULL, NULL);
        assert_true(cfd >= 0);
        cfds[nc++] = cfd;
        uint8_t buf[512];
        struct pollfd pc = {.fd = cfd, .events = POLLIN};
        assert_int_equal(poll(&pc, 1, 30000), 1);
        ssize_t got = recv(cfd, buf, sizeof buf, MSG_DONTWAIT);
        assert_true(got >= 6);
        assert_int_equal(buf[4], 0);
        assert_int_equal(buf[5], 18);
        got = recv(cfd, buf, sizeof buf, MSG_DONTWAIT);
        assert_true(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)); /* no EOF: not given up */
    }
    assert_true(nc >= 1);
    assert_int_equal(kafka_reader_close(r), 0);
    for (int i = 0; i < nc; i++)
        close(cfds[i]);
    close(lfd);
    free(topic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_topic_is_an_error),
        cmocka_unit_test(test_tls_failure_is_an_error),
        cmocka_unit_test(test_sasl_failure_is_an_error),
        cmocka_unit_test(test_group_tls_failure_is_an_error),
        cmocka_unit_test(test_missing_partition_is_an_error),
        cmocka_unit_test(test_user_transport),
        cmocka_unit_test(test_slow_broker),
        cmocka_unit_test(test_stalled_handshake),
        cmocka_unit_test(test_thousand_partitions_group),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
