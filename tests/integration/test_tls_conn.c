/* kafka_conn over TLS against the test broker: a TLS terminator (socat
 * OPENSSL-LISTEN) sits in front of the broker that leads a fresh topic,
 * with a certificate made by this test (tests/support/certs.h: CA-signed,
 * names localhost and 127.0.0.1). Checks:
 *   - trusted CA: dial, produce and read back through the terminator;
 *   - a CA that did not sign the server certificate: KAFKA_ERR_TLS, and
 *     the text says the certificate could not be verified;
 *   - a server name the certificate does not carry: KAFKA_ERR_TLS with
 *     "hostname mismatch";
 *   - plain TCP to the TLS port: a clean error, not a hang.
 * Skipped (not passed) when socat is not installed; scripts/setup.sh
 * installs it. Everything has a timeout; the terminator runs in its own
 * process group, which teardown kills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "test_cluster.h"

#define DIAL_TIMEOUT_MS 10000

typedef struct tls_fixture {
    kt_cluster *kt;
    kt_pki pki;
    char *topic;
    char leader[256]; /* "host:port" of the plain broker behind the terminator */
    pid_t socat;      /* also its process group id */
    int tls_port;
    char tls_addr[64]; /* "127.0.0.1:<tls_port>" */
    bool have_socat;
} tls_fixture;

static bool socat_installed(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char exe[4200];
        snprintf(exe, sizeof exe, "%s/socat", dir);
        if (access(exe, X_OK) == 0)
            return true;
    }
    return false;
}

/* A port the kernel considers free right now (bind to 0, read, close).
 * Another process could take it before socat does; start_terminator
 * retries with a new port if socat exits. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* true once 127.0.0.1:port accepts a TCP connection. */
static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ok = poll(&pfd, 1, 500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
    }
    close(fd);
    return ok;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Kills the terminator's process group (socat forks one child per
 * connection) and reaps the parent: SIGTERM, then SIGKILL after 5 s. */
static void stop_terminator(tls_fixture *f)
{
    if (f->socat <= 0)
        return;
    kill(-f->socat, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(f->socat, NULL, WNOHANG) == f->socat) {
            f->socat = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(-f->socat, SIGKILL);
    waitpid(f->socat, NULL, 0);
    f->socat = 0;
}

/* Starts socat on a free loopback port and waits (10 s at most) until it
 * accepts. 0 on success. */
static int start_terminator_once(tls_fixture *f)
{
    f->tls_port = free_port();
    if (f->tls_port < 0)
        return -1;
    char listen[1024], target[300];
    snprintf(listen, sizeof listen, "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,verify=0",
             f->tls_port, f->pki.srv_cert_pem, f->pki.srv_key_pem);
    snprintf(target, sizeof target, "TCP:%s", f->leader);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        /* -T 60: an idle connection's child exits by itself. */
        execlp("socat", "socat", "-T", "60", listen, target, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    f->socat = pid;
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            f->socat = 0;
            return -1; /* exited: e.g. the port was taken meanwhile */
        }
        if (port_accepts(f->tls_port)) {
            snprintf(f->tls_addr, sizeof f->tls_addr, "127.0.0.1:%d", f->tls_port);
            return 0;
        }
        sleep_ms(50);
    }
    stop_terminator(f);
    return -1;
}

static int start_terminator(tls_fixture *f)
{
    for (int attempt = 0; attempt < 3; attempt++)
        if (start_terminator_once(f) == 0)
            return 0;
    fprintf(stderr, "test_tls_conn: socat did not start listening\n");
    return -1;
}

static int group_setup(void **state)
{
    tls_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    f->have_socat = socat_installed();
    if (!f->have_socat)
        return 0; /* every test skips */
    f->kt = kt_cluster_start(1);
    if (!f->kt)
        return -1;
    f->topic = kt_unique_topic("tls-conn");
    if (kt_cluster_create_topic(f->kt, f->topic, 1, 1))
        return -1;
    /* The terminator forwards to whichever broker leads partition 0. */
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, kt_cluster_bootstrap(f->kt), f->topic, 0, NULL, DIAL_TIMEOUT_MS);
    if (err) {
        fprintf(stderr, "dial leader: %s: %s\n", kafka_err_str(err), kafka_dial_last_error());
        return -1;
    }
    snprintf(f->leader, sizeof f->leader, "%s", kafka_conn_address(c));
    kafka_conn_close(c);
    if (kt_pki_make(&f->pki))
        return -1;
    return start_terminator(f);
}

static int group_teardown(void **state)
{
    tls_fixture *f = *state;
    if (!f)
        return 0;
    stop_terminator(f);
    kt_pki_remove(&f->pki);
    int rc = f->kt ? kt_cluster_stop(f->kt) : 0;
    free(f->topic);
    free(f);
    return rc;
}

#define REQUIRE_SOCAT(f)                                                                                           \
    do {                                                                                                           \
        if (!(f)->have_socat) {                                                                                    \
            print_message("skipped: socat is not installed (scripts/setup.sh installs it)\n");                     \
            skip();                                                                                                \
        }                                                                                                          \
    } while (0)

/* kafka_dial with these TLS settings; why gets the dial's error text. */
static kafka_err dial_tls(const char *addr, const kafka_tls_config *tls, kafka_conn **c, char *why, size_t len)
{
    kafka_dialer_config cfg = {.tls = *tls};
    kafka_err err = kafka_dial(c, addr, &cfg, DIAL_TIMEOUT_MS);
    snprintf(why, len, "%s", kafka_dial_last_error());
    return err;
}

static void test_trusted_produce_and_read(void **state)
{
    tls_fixture *f = *state;
    REQUIRE_SOCAT(f);
    kafka_conn *c = NULL;
    char why[512];
    kafka_err err = dial_tls(f->tls_addr, &(kafka_tls_config){.enable = true, .ca_file = f->pki.ca_pem}, &c, why,
                             sizeof why);
    if (err)
        fail_msg("TLS dial %s: %s: %s", f->tls_addr, kafka_err_str(err), why);
    kafka_conn_set_timeout(c, DIAL_TIMEOUT_MS);
    assert_int_equal(kafka_conn_bind(c, f->topic, 0), 0);

    int64_t last = -1;
    assert_int_equal(kafka_conn_read_last_offset(c, &last), 0);
    kafka_message in[3] = {
        {.key = "k1", .key_len = 2, .value = "over", .value_len = 4},
        {.key = "k2", .key_len = 2, .value = "tls", .value_len = 3},
        {.key = "k3", .key_len = 2, .value = "socat", .value_len = 5},
    };
    int64_t base = -1;
    err = kafka_conn_write_messages(c, in, 3, &(kafka_write_options){.codec = KAFKA_CODEC_LZ4}, &base);
    if (err)
        fail_msg("produce over TLS: %s: %s", kafka_err_str(err), kafka_conn_last_error(c));
    assert_int_equal(base, last); /* the first message takes the old end offset */

    assert_int_equal(kafka_conn_seek(c, base, KAFKA_SEEK_ABSOLUTE, NULL), 0);
    kafka_batch *b = NULL;
    assert_int_equal(kafka_conn_read_batch(c, 1, 1 << 20, &b), 0);
    assert_int_equal(kafka_batch_high_water_mark(b), base + 3);
    const char *want[3] = {"over", "tls", "socat"};
    for (int i = 0; i < 3; i++) {
        kafka_message m;
        assert_int_equal(kafka_batch_read_message(b, &m), 0);
        assert_int_equal(m.offset, base + i);
        assert_int_equal(m.value_len, strlen(want[i]));
        assert_memory_equal(m.value, want[i], m.value_len);
        assert_int_equal(m.key_len, 2);
        assert_int_equal(((const char *)m.key)[1], '1' + i);
    }
    kafka_message m;
    assert_int_equal(kafka_batch_read_message(b, &m), KAFKA_ERR_END_OF_PARTITION);
    assert_int_equal(kafka_batch_close(b), 0);
    kafka_conn_close(c);
}

/* By name: "localhost" is both the SNI and the name checked. */
static void test_trusted_by_hostname(void **state)
{
    tls_fixture *f = *state;
    REQUIRE_SOCAT(f);
    char addr[64];
    snprintf(addr, sizeof addr, "localhost:%d", f->tls_port);
    kafka_dialer_config cfg = {.family = AF_INET, .tls = {.enable = true, .ca_file = f->pki.ca_pem}};
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, addr, &cfg, DIAL_TIMEOUT_MS);
    if (err)
        fail_msg("TLS dial %s: %s: %s", addr, kafka_err_str(err), kafka_dial_last_error());
    kafka_conn_set_timeout(c, DIAL_TIMEOUT_MS);
    kafka_broker *brokers = NULL;
    size_t n = 0;
    assert_int_equal(kafka_conn_brokers(c, &brokers, &n), 0); /* a request round trip over TLS */
    assert_true(n >= 1);
    kafka_free_brokers(brokers);
    kafka_conn_close(c);
}

static void test_untrusted_ca(void **state)
{
    tls_fixture *f = *state;
    REQUIRE_SOCAT(f);
    kafka_conn *c = NULL;
    char why[512];
    kafka_err err = dial_tls(f->tls_addr, &(kafka_tls_config){.enable = true, .ca_file = f->pki.untrusted_ca_pem},
                             &c, why, sizeof why);
    assert_null(c);
    if (err != KAFKA_ERR_TLS)
        fail_msg("want KAFKA_ERR_TLS, got %s: %s", kafka_err_str(err), why);
    if (!strstr(why, "certificate verify failed"))
        fail_msg("error text \"%s\" does not say the certificate failed verification", why);
}

static void test_wrong_hostname(void **state)
{
    tls_fixture *f = *state;
    REQUIRE_SOCAT(f);
    kafka_conn *c = NULL;
    char why[512];
    kafka_tls_config tls = {.enable = true, .ca_file = f->pki.ca_pem, .server_name = "wrong.example"};
    kafka_err err = dial_tls(f->tls_addr, &tls, &c, why, sizeof why);
    assert_null(c);
    if (err != KAFKA_ERR_TLS)
        fail_msg("want KAFKA_ERR_TLS, got %s: %s", kafka_err_str(err), why);
    if (!strstr(why, "hostname mismatch"))
        fail_msg("error text \"%s\" does not name the hostname mismatch", why);
}

/* A client that forgets TLS gets an error from the terminator, never a
 * hang (the dial timeout bounds it anyway). */
static void test_plaintext_to_tls_port(void **state)
{
    tls_fixture *f = *state;
    REQUIRE_SOCAT(f);
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, f->tls_addr, NULL, 5000);
    assert_int_not_equal(err, 0);
    assert_null(c);
    assert_true(kafka_dial_last_error()[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_produce_and_read), cmocka_unit_test(test_trusted_by_hostname),
        cmocka_unit_test(test_untrusted_ca),             cmocka_unit_test(test_wrong_hostname),
        cmocka_unit_test(test_plaintext_to_tls_port),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
