/*
 * kafka-mock: runs a kafka_mock cluster (include/kafka/mock.h) until quit.
 *
 *   kafka-mock [--brokers N] [--topic NAME:PARTITIONS[:REPLICAS]]...
 *              [--partitions N] [--no-auto-create] [--retention-bytes N]
 *              [--user NAME:PASSWORD]...   (SASL PLAIN/SCRAM required then)
 *              [--tls-cert PEM [--tls-key PEM]] (TLS listeners)
 *
 * Prints the bootstrap list as the first line of stdout, then reads
 * control commands on stdin (commands.h; `help` is not one: see
 * tests/broker/README.md and README.md). Exits 0 on `quit`, EOF on stdin,
 * SIGTERM or SIGINT; 2 on a usage error, 1 if the cluster cannot start.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "commands.h"
#include "kafka/mock.h"

#define MAX_TOPICS 256

static void usage(void)
{
    fprintf(stderr, "usage: kafka-mock [--brokers N] [--topic NAME:PARTITIONS[:REPLICAS]]... [--partitions N]\n"
                    "                  [--no-auto-create] [--retention-bytes N] [--user NAME:PASSWORD]...\n"
                    "                  [--tls-cert PEM [--tls-key PEM]]\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return !errno && end != s && !*end && *out >= lo && *out <= hi;
}

int main(int argc, char **argv)
{
    kafka_mock_config cfg = {.brokers = 1};
    const char *topics[MAX_TOPICS], *users[MAX_TOPICS];
    int ntopics = 0, nusers = 0;
    kafka_mock *m;
    kafka_err err;
    long v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(a, "--brokers") == 0 || strcmp(a, "-n") == 0) && val &&
            parse_long(val, 1, KAFKA_MOCK_MAX_BROKERS, &v)) {
            cfg.brokers = (int)v;
            i++;
        } else if ((strcmp(a, "--topic") == 0 || strcmp(a, "-t") == 0) && val && ntopics < MAX_TOPICS) {
            topics[ntopics++] = val;
            i++;
        } else if (strcmp(a, "--partitions") == 0 && val && parse_long(val, 1, 100000, &v)) {
            cfg.default_partitions = (int)v;
            i++;
        } else if (strcmp(a, "--retention-bytes") == 0 && val && parse_long(val, 1, LONG_MAX, &v)) {
            cfg.retention_bytes = v;
            i++;
        } else if (strcmp(a, "--user") == 0 && val && strchr(val, ':') && nusers < MAX_TOPICS) {
            users[nusers++] = val; /* NAME:PASSWORD; SASL becomes required */
            cfg.require_sasl = true;
            i++;
        } else if (strcmp(a, "--tls-cert") == 0 && val) {
            cfg.tls_cert_file = val; /* PEM certificate: every listener speaks TLS */
            i++;
        } else if (strcmp(a, "--tls-key") == 0 && val) {
            cfg.tls_key_file = val;
            i++;
        } else if (strcmp(a, "--no-auto-create") == 0) {
            cfg.disable_auto_create_topics = true;
        } else {
            usage();
            return 2;
        }
    }
    /* SIGTERM/SIGINT arrive through a signalfd next to stdin. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0)
        return 1;
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0)
        return 1;
    if ((err = kafka_mock_new(&m, &cfg)) != 0) {
        fprintf(stderr, "kafka-mock: cannot start: %s\n", kafka_err_str(err));
        return 1;
    }
    for (int i = 0; i < nusers; i++) {
        char user[256];
        const char *colon = strchr(users[i], ':');
        size_t ulen = (size_t)(colon - users[i]);
        if (ulen == 0 || ulen >= sizeof(user)) {
            fprintf(stderr, "kafka-mock: bad --user '%s' (NAME:PASSWORD)\n", users[i]);
            kafka_mock_close(m);
            return 1;
        }
        memcpy(user, users[i], ulen);
        user[ulen] = '\0';
        if ((err = kafka_mock_add_user(m, user, colon + 1)) != 0) {
            fprintf(stderr, "kafka-mock: cannot add user '%s': %s\n", user, kafka_err_str(err));
            kafka_mock_close(m);
            return 1;
        }
    }
    for (int i = 0; i < ntopics; i++) {
        char name[256];
        long parts, reps = 0;
        const char *c1 = strchr(topics[i], ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char num[32];
        size_t nl = c1 ? (size_t)(c1 - topics[i]) : 0, pl = c1 ? (c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)) : 0;
        if (!c1 || nl == 0 || nl >= sizeof(name) || pl == 0 || pl >= sizeof(num)) {
            fprintf(stderr, "kafka-mock: bad --topic '%s' (NAME:PARTITIONS[:REPLICAS])\n", topics[i]);
            kafka_mock_close(m);
            return 1;
        }
        memcpy(name, topics[i], nl);
        name[nl] = '\0';
        memcpy(num, c1 + 1, pl);
        num[pl] = '\0';
        if (!parse_long(num, 1, 100000, &parts) || (c2 && !parse_long(c2 + 1, 1, KAFKA_MOCK_MAX_BROKERS, &reps)) ||
            (err = kafka_mock_create_topic(m, name, (int)parts, (int)reps)) != 0) {
            fprintf(stderr, "kafka-mock: cannot create topic '%s': %s\n", topics[i],
                    err ? kafka_err_str(err) : "bad partitions or replicas");
            kafka_mock_close(m);
            return 1;
        }
    }
    printf("%s\n", kafka_mock_bootstrap(m));
    fflush(stdout);

    char line[4096], reply[4096];
    size_t len = 0;
    bool quit = false;
    while (!quit) {
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break; /* SIGTERM / SIGINT */
        if (!p[0].revents)
            continue;
        ssize_t n = read(STDIN_FILENO, line + len, sizeof(line) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF */
        len += (size_t)n;
        char *nl;
        while (!quit && (nl = memchr(line, '\n', len)) != NULL) {
            *nl = '\0';
            quit = kmock_command(m, line, reply, sizeof(reply));
            printf("%s\n", reply);
            fflush(stdout);
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len);
        }
        if (len == sizeof(line) - 1) {
            printf("err line too long\n");
            fflush(stdout);
            len = 0;
        }
    }
    kafka_mock_close(m);
    close(sfd);
    return 0;
}
