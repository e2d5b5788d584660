/*
 * Tests of the test-broker fixture itself (tests/support/test_cluster.h) and
 * of kafka_test_broker's control channel. Facts are checked with tools that
 * are not under test: librdkafka's Metadata call and hand-written
 * ApiVersions bytes on a plain socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <librdkafka/rdkafka.h>

#include "test_cluster.h"

/* Port of the n-th (0-based) entry of a "127.0.0.1:p1,127.0.0.1:p2" list. */
static int nth_port(const char *bootstrap, int n)
{
    const char *p = bootstrap;

    while (n-- > 0 && (p = strchr(p, ',')) != NULL)
        p++;
    if (p == NULL || (p = strchr(p, ':')) == NULL)
        return -1;
    return atoi(p + 1);
}

/* Sends ApiVersions v0 (correlation id 7) to 127.0.0.1:port.
 * Returns 1 if a response with correlation id 7 and error 0 came back,
 * 0 if the connection was refused or closed, -1 on anything else. */
static int apiversions_probe(int port)
{
    static const unsigned char req[] = {0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 7, 0, 2, 'k', 't'};
    unsigned char resp[10];
    struct sockaddr_in sa;
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = errno == ECONNREFUSED ? 0 : -1;
        goto out;
    }
    if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
        rc = 0;
        goto out;
    }
    while (got < sizeof(resp)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, 10000) <= 0)
            goto out;
        n = recv(fd, resp + got, sizeof(resp) - got, 0);
        if (n <= 0) {
            rc = 0;
            goto out;
        }
        got += (size_t)n;
    }
    /* size(4) | correlation id = 7 | error_code = 0 */
    rc = (resp[4] | resp[5] | resp[6]) == 0 && resp[7] == 7 && resp[8] == 0 && resp[9] == 0;
out:
    close(fd);
    return rc;
}

/* Partition count of topic as librdkafka's Metadata call sees it, or -1. */
static int metadata_partitions(const char *bootstrap, const char *topic)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
        if (md->topic_cnt == 1 && md->topics[0].err == 0)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return n;
}

static void test_bootstrap_lists_three_brokers(void **state)
{
    kt_cluster *c = *state;
    const char *bs = kt_cluster_bootstrap(c);
    int commas = 0;
    const char *p;

    assert_non_null(bs);
    for (p = bs; *p; p++)
        commas += *p == ',';
    if (!kt_cluster_is_mock(c)) {
        assert_true(strlen(bs) > 0);
        return;
    }
    assert_int_equal(commas, 2);
    assert_int_equal(kt_cluster_broker_count(c), 3);
    assert_int_equal(strncmp(bs, "127.0.0.1:", 10), 0);
    for (int i = 0; i < 3; i++) {
        int port = nth_port(bs, i);
        assert_true(port > 0 && port < 65536);
        assert_int_equal(apiversions_probe(port), 1);
    }
}

static void test_create_topic_visible_in_metadata(void **state)
{
    kt_cluster *c = *state;
    char *topic = kt_unique_topic("fixture");
    /* Mock: 3, which differs from the 4 partitions that auto-creation by
     * the Metadata call below would give. Real-cluster mode may run against
     * another mock without CreateTopics (tests/broker/run_real_mode.sh),
     * where only auto-creation's 4 can work. */
    int parts = kt_cluster_is_mock(c) ? 3 : 4;

    assert_int_equal(kt_cluster_create_topic(c, topic, parts, 1), 0);
    assert_int_equal(metadata_partitions(kt_cluster_bootstrap(c), topic), parts);
    free(topic);
}

static void test_duplicate_topic_is_err(void **state)
{
    kt_cluster *c = *state;
    char *topic;

    KT_REQUIRE_MOCK(c);
    topic = kt_unique_topic("dup");
    assert_int_equal(kt_cluster_cmd(c, "topic %s 2", topic), 0);
    assert_string_equal(kt_cluster_last_reply(c), "ok");
    assert_int_equal(kt_cluster_cmd(c, "topic %s 2", topic), -1);
    assert_string_equal(kt_cluster_last_reply(c), "err topic: TOPIC_ALREADY_EXISTS (36)");
    free(topic);
}

static void test_every_command_answers_ok(void **state)
{
    kt_cluster *c = *state;
    static const char *const cmds[] = {
        "ping",
        "topic ok-t 2 3",
        "leader ok-t 0 2",
        "leader ok-t 1 -1",
        "leader ok-t 1 1",
        "follower ok-t 0 3",
        "follower_wmarks ok-t 0 -1 -1",
        "rtt 1 5",
        "rtt -1 0",
        "rack -1 rack-a",
        "down 3",
        "up 3",
        "down -1",
        "up -1",
        "error Produce NOT_LEADER_OR_FOLLOWER 7",
        "clear_errors 0",
        "error 3 UNKNOWN_TOPIC_OR_PARTITION",
        "clear_errors Metadata",
        "broker_error 2 Fetch 6:10 0",
        "topic_error some-topic 3",
        "topic_error some-topic 0",
        "coordinator group g1 2",
        "coordinator transaction tx1 3",
        "apiversion Fetch 4 11",
        "apiversion 1 0 11",
        "apiversion ListOffsets -1 -1",
        "apiversion 2 0 5",
        "apiversions",
        "bootstrap",
    };

    KT_REQUIRE_MOCK(c);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (kt_cluster_cmd(c, "%s", cmds[i]) != 0)
            fail_msg("'%s' answered '%s'", cmds[i], kt_cluster_last_reply(c));
    }
}

static void test_answers_carry_data(void **state)
{
    kt_cluster *c = *state;
    char expect[512];

    KT_REQUIRE_MOCK(c);
    assert_int_equal(kt_cluster_cmd(c, "bootstrap"), 0);
    snprintf(expect, sizeof(expect), "ok %s", kt_cluster_bootstrap(c));
    assert_string_equal(kt_cluster_last_reply(c), expect);

    /* Two errors pushed for broker 1's Produce, none consumed yet. */
    assert_int_equal(kt_cluster_cmd(c, "broker_error 1 Produce 6 0:20"), 0);
    assert_int_equal(kt_cluster_cmd(c, "broker_error_count 1 0"), 0);
    assert_string_equal(kt_cluster_last_reply(c), "ok 2");

    /* ApiVersions of the mock in librdkafka 2.0.2, as documented in
     * tests/broker/README.md: Produce 0..7, Fetch 0..11, Metadata 0..2,
     * ApiVersions 0..2. */
    assert_int_equal(kt_cluster_cmd(c, "apiversions"), 0);
    assert_non_null(strstr(kt_cluster_last_reply(c), " 0:0:7,"));
    assert_non_null(strstr(kt_cluster_last_reply(c), ",1:0:11,"));
    assert_non_null(strstr(kt_cluster_last_reply(c), ",3:0:2,"));
    assert_non_null(strstr(kt_cluster_last_reply(c), ",18:0:2"));
}

static void test_bad_commands_answer_err(void **state)
{
    kt_cluster *c = *state;
    static const char *const bad[] = {
        "",
        "   ",
        "nonsense",
        "topic",
        "topic t",
        "topic t 0",
        "topic t -3",
        "topic t 2x",
        "topic t 2 4", /* replication > brokers */
        "topic t 100000",
        "down",
        "down 0",
        "down 4",
        "down abc",
        "up 99",
        "leader ok-t 0 9",
        "leader ok-t 99 1",
        "leader ok-t",
        "rtt 1",
        "rtt 1 -5",
        "error",
        "error Produce",
        "error NoSuchApi 6",
        "error 0 NO_SUCH_ERROR",
        "error 999 6",
        "broker_error 0 0 6",
        "broker_error 1 0 6:x",
        "broker_error_count 7 0",
        "coordinator nope k 1",
        "coordinator group k",
        "apiversion Fetch 0 99",
        "apiversion Fetch 5 4",
        "apiversion CreateTopics 0 1",
        "apiversions extra",
        "quit now", /* extra words are never ignored, not even by quit */
    };

    KT_REQUIRE_MOCK(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (kt_cluster_cmd(c, "%s", bad[i]) != -1)
            fail_msg("'%s' answered '%s'", bad[i], kt_cluster_last_reply(c));
        if (strncmp(kt_cluster_last_reply(c), "err ", 4) != 0)
            fail_msg("'%s' answered '%s'", bad[i], kt_cluster_last_reply(c));
    }
    /* A newline inside a command is refused locally, not sent. */
    assert_int_equal(kt_cluster_cmd(c, "ping\nquit"), -1);
    /* The channel is still in step after all of that. */
    assert_int_equal(kt_cluster_cmd(c, "ping"), 0);
}

static void test_down_refuses_connections_up_restores(void **state)
{
    kt_cluster *c = *state;
    int port;

    KT_REQUIRE_MOCK(c);
    port = nth_port(kt_cluster_bootstrap(c), 1); /* broker id 2 */
    assert_int_equal(apiversions_probe(port), 1);
    assert_int_equal(kt_cluster_cmd(c, "down 2"), 0);
    assert_int_equal(apiversions_probe(port), 0);
    /* The other brokers keep serving. */
    assert_int_equal(apiversions_probe(nth_port(kt_cluster_bootstrap(c), 0)), 1);
    assert_int_equal(kt_cluster_cmd(c, "up 2"), 0);
    assert_int_equal(apiversions_probe(port), 1);
}

static void test_unique_topic_names(void **state)
{
    char *a = kt_unique_topic("uniq"), *b = kt_unique_topic("uniq");
    char pidpart[32];

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(a, b);
    snprintf(pidpart, sizeof(pidpart), "uniq-%d-", (int)getpid());
    assert_int_equal(strncmp(a, pidpart, strlen(pidpart)), 0);
    assert_int_equal(strncmp(b, pidpart, strlen(pidpart)), 0);
    free(a);
    free(b);
}

/* ---- tests that own their cluster ------------------------------------- */

static void test_stop_is_clean(void **state)
{
    kt_cluster *c = kt_cluster_start(1);

    (void)state;
    assert_non_null(c);
    if (kt_cluster_is_mock(c))
        assert_int_equal(kt_cluster_broker_count(c), 1);
    assert_int_equal(kt_cluster_stop(c), 0);
    assert_int_equal(kt_cluster_stop(NULL), 0);
}

static void test_sigterm_exits_zero(void **state)
{
    kt_cluster *c = kt_cluster_start(2);
    int status = -1;
    pid_t pid;

    (void)state;
    assert_non_null(c);
    if (!kt_cluster_is_mock(c)) {
        kt_cluster_stop(c);
        skip();
    }
    pid = (pid_t)kt_cluster_pid(c);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The fixture now finds its broker gone: commands fail, no hang. */
    assert_int_equal(kt_cluster_cmd(c, "ping"), -1);
    assert_int_equal(kt_cluster_stop(c), -1);
}

static void test_crashed_broker_fails_commands(void **state)
{
    kt_cluster *c = kt_cluster_start(1);

    (void)state;
    assert_non_null(c);
    if (!kt_cluster_is_mock(c)) {
        kt_cluster_stop(c);
        skip();
    }
    assert_int_equal(kill((pid_t)kt_cluster_pid(c), SIGKILL), 0);
    assert_int_equal(kt_cluster_cmd(c, "ping"), -1);
    assert_int_equal(kt_cluster_cmd(c, "ping"), -1);
    assert_string_equal(kt_cluster_last_reply(c), "test broker is gone");
    assert_int_equal(kt_cluster_stop(c), -1);
}

static void test_missing_broker_binary(void **state)
{
    kt_cluster *c;

    (void)state;
    if (getenv("KAFKA_BROKERS") != NULL && *getenv("KAFKA_BROKERS") != '\0')
        skip();
    setenv("KAFKA_TEST_BROKER_BIN", "/nonexistent/kafka_test_broker", 1);
    c = kt_cluster_start(1);
    unsetenv("KAFKA_TEST_BROKER_BIN");
    assert_null(c);
}

static void test_real_cluster_mode_refuses_control(void **state)
{
    kt_cluster *c;
    const char *old = getenv("KAFKA_BROKERS");
    char *saved = old ? strdup(old) : NULL;

    (void)state;
    setenv("KAFKA_BROKERS", "127.0.0.1:1,127.0.0.1:2", 1);
    c = kt_cluster_start(3);
    if (saved) {
        setenv("KAFKA_BROKERS", saved, 1);
        free(saved);
    } else {
        unsetenv("KAFKA_BROKERS");
    }
    assert_non_null(c);
    assert_false(kt_cluster_is_mock(c));
    assert_string_equal(kt_cluster_bootstrap(c), "127.0.0.1:1,127.0.0.1:2");
    assert_int_equal(kt_cluster_broker_count(c), 2);
    assert_int_equal(kt_cluster_pid(c), -1);
    assert_int_equal(kt_cluster_cmd(c, "ping"), -1);
    assert_int_equal(kt_cluster_stop(c), 0);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_bootstrap_lists_three_brokers),
        cmocka_unit_test(test_create_topic_visible_in_metadata),
        cmocka_unit_test(test_duplicate_topic_is_err),
        cmocka_unit_test(test_every_command_answers_ok),
        cmocka_unit_test(test_answers_carry_data),
        cmocka_unit_test(test_bad_commands_answer_err),
        cmocka_unit_test(test_down_refuses_connections_up_restores),
        cmocka_unit_test(test_unique_topic_names),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_stop_is_clean),
        cmocka_unit_test(test_sigterm_exits_zero),
        cmocka_unit_test(test_crashed_broker_fails_commands),
        cmocka_unit_test(test_missing_broker_binary),
        cmocka_unit_test(test_real_cluster_mode_refuses_control),
    };
    int failed = cmocka_run_group_tests_name("shared_cluster", shared, kt_cluster_group_setup,
                                             kt_cluster_group_teardown);

    return failed + cmocka_run_group_tests_name("own_cluster", own, NULL, NULL);
}
