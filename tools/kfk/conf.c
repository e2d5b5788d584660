/*
 * kfk — connection settings. Every way of setting something (a flag such
 * as --ca, -X key=value, a line of a -F file) ends in kfk_conf_set, so the
 * names and checks live in one table. Names follow librdkafka's, so a kcat
 * config file mostly works as is; a name kfk does not know is an error,
 * never silently ignored.
 */
#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "kfk.h"

void kfk_conf_init(kfk_conf *c)
{
    *c = (kfk_conf){.timeout_ms = 10000};
    c->dialer.client_id = "kfk";
    c->dialer.connect_timeout_ms = 10000;
}

void kfk_conf_free(kfk_conf *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    c->owned = NULL;
    c->n_owned = 0;
}

void kfk_log_stderr(void *privdata, kafka_log_level level, const char *msg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    (void)privdata;
    fprintf(stderr, "kfk: libkafka %s: %s\n", level <= KAFKA_LOG_DEBUG ? names[level] : "?", msg);
}

static char *keep(kfk_conf *c, const char *s)
{
    char **grown = realloc(c->owned, (c->n_owned + 1) * sizeof *grown);
    char *copy = strdup(s);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            c->owned = grown;
        fprintf(stderr, "kfk: out of memory\n");
        exit(KFK_EXIT_ERROR);
    }
    c->owned = grown;
    c->owned[c->n_owned++] = copy;
    return copy;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = false;
        return true;
    }
    return false;
}

static int bad_value(const char *key, const char *v, const char *expected)
{
    fprintf(stderr, "kfk: config %s: bad value '%s' (expected %s)\n", key, v, expected);
    return KFK_EXIT_USAGE;
}

static int set_mechanism(kfk_conf *c, const char *key, const char *v)
{
    static const struct {
        const char *name;
        kafka_sasl_mechanism_id id;
    } mechs[] = {{"PLAIN", KAFKA_SASL_PLAIN},
                 {"SCRAM-SHA-256", KAFKA_SASL_SCRAM_SHA_256},
                 {"SCRAM-SHA-512", KAFKA_SASL_SCRAM_SHA_512}};
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (!strcasecmp(v, mechs[i].name)) {
            c->dialer.sasl.mechanism = mechs[i].id;
            return 0;
        }
    return bad_value(key, v, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
}

static int set_ca(kfk_conf *c, const char *v)
{
    struct stat st;
    if (stat(v, &st) != 0) {
        fprintf(stderr, "kfk: config ssl.ca.location: %s: %s\n", v, strerror(errno));
        return KFK_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode))
        c->dialer.tls.ca_dir = v;
    else
        c->dialer.tls.ca_file = v;
    c->tls_asked = true;
    return 0;
}

static int set_int(const char *key, const char *v, int *out)
{
    int32_t n;
    if (!kfk_parse_i32(v, key, 1, INT32_MAX, &n))
        return KFK_EXIT_USAGE;
    *out = n;
    return 0;
}

static int set_family(kfk_conf *c, const char *key, const char *v)
{
    if (!strcasecmp(v, "any"))
        c->dialer.family = 0;
    else if (!strcasecmp(v, "v4"))
        c->dialer.family = AF_INET;
    else if (!strcasecmp(v, "v6"))
        c->dialer.family = AF_INET6;
    else
        return bad_value(key, v, "any, v4 or v6");
    return 0;
}

static int set_verify(kfk_conf *c, const char *key, const char *v)
{
    bool on;
    if (!parse_bool(v, &on))
        return bad_value(key, v, "true or false");
    c->dialer.tls.insecure_skip_verify = !on;
    c->tls_asked = true;
    return 0;
}

/* librdkafka separates the host name check from the chain check; libkafka
 * verifies both or neither, so only the default ("https") is accepted. */
static int set_endpoint_check(const char *key, const char *v)
{
    if (!strcasecmp(v, "https"))
        return 0;
    fprintf(stderr,
            "kfk: config %s=%s: the host name check cannot be turned off alone; "
            "enable.ssl.certificate.verification=false turns off all certificate checks\n",
            key, v);
    return KFK_EXIT_USAGE;
}

static int set_protocol(kfk_conf *c, const char *key, const char *v)
{
    static const char *const ok[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcasecmp(v, ok[i])) {
            c->protocol = ok[i];
            return 0;
        }
    return bad_value(key, v, "plaintext, ssl, sasl_plaintext or sasl_ssl");
}

int kfk_conf_set(kfk_conf *c, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "kfk: config: expected key=value, got '%s'\n", kv);
        return KFK_EXIT_USAGE;
    }
    char key[128];
    size_t klen = (size_t)(eq - kv);
    while (klen && (kv[klen - 1] == ' ' || kv[klen - 1] == '\t'))
        klen--; /* "key = value" */
    if (klen >= sizeof key) {
        fprintf(stderr, "kfk: config: key too long in '%s'\n", kv);
        return KFK_EXIT_USAGE;
    }
    memcpy(key, kv, klen);
    key[klen] = 0;
    const char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    v = keep(c, v);
    kafka_tls_config *tls = &c->dialer.tls;
    kafka_sasl_config *sasl = &c->dialer.sasl;

    if (!strcmp(key, "bootstrap.servers") || !strcmp(key, "metadata.broker.list"))
        c->brokers = v;
    else if (!strcmp(key, "client.id"))
        c->dialer.client_id = v;
    else if (!strcmp(key, "security.protocol"))
        return set_protocol(c, key, v);
    else if (!strcmp(key, "ssl.ca.location"))
        return set_ca(c, v);
    else if (!strcmp(key, "ssl.certificate.location"))
        tls->cert_file = v, c->tls_asked = true;
    else if (!strcmp(key, "ssl.key.location"))
        tls->key_file = v, c->tls_asked = true;
    else if (!strcmp(key, "ssl.key.password"))
        tls->key_password = v, c->tls_asked = true;
    else if (!strcmp(key, "ssl.server.name"))
        tls->server_name = v, c->tls_asked = true;
    else if (!strcmp(key, "enable.ssl.certificate.verification"))
        return set_verify(c, key, v);
    else if (!strcmp(key, "ssl.endpoint.identification.algorithm"))
        return set_endpoint_check(key, v);
    else if (!strcmp(key, "sasl.mechanism") || !strcmp(key, "sasl.mechanisms"))
        return set_mechanism(c, key, v);
    else if (!strcmp(key, "sasl.username"))
        sasl->username = v;
    else if (!strcmp(key, "sasl.password"))
        sasl->password = v;
    else if (!strcmp(key, "socket.connection.setup.timeout.ms"))
        return set_int(key, v, &c->dialer.connect_timeout_ms);
    else if (!strcmp(key, "socket.timeout.ms"))
        return set_int(key, v, &c->timeout_ms);
    else if (!strcmp(key, "broker.address.family"))
        return set_family(c, key, v);
    else {
        fprintf(stderr, "kfk: config: unknown setting '%s' (see kfk(1), CONFIGURATION)\n", key);
        return KFK_EXIT_USAGE;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

int kfk_conf_load(kfk_conf *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kfk: config file %s: %s\n", path, strerror(errno));
        return KFK_EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0;
    while (!rc && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        rc = kfk_conf_set(c, s);
        if (rc)
            fprintf(stderr, "kfk: (in %s, line %d)\n", path, lineno);
    }
    free(line);
    fclose(f);
    return rc;
}

int kfk_conf_check(kfk_conf *c)
{
    if (!c->brokers || !*c->brokers) {
        fprintf(stderr, "kfk: no brokers: give -b host:port[,...] (or bootstrap.servers in a -F file)\n");
        return KFK_EXIT_USAGE;
    }
    bool sasl_wanted = c->dialer.sasl.mechanism != KAFKA_SASL_NONE;
    bool tls = c->tls_asked;
    if (c->protocol) {
        bool p_tls = strstr(c->protocol, "ssl") != NULL;
        bool p_sasl = !strncmp(c->protocol, "sasl_", 5);
        if (c->tls_asked && !p_tls) {
            fprintf(stderr, "kfk: TLS settings given but security.protocol=%s\n", c->protocol);
            return KFK_EXIT_USAGE;
        }
        if (p_sasl != sasl_wanted) {
            fprintf(stderr, "kfk: security.protocol=%s %s sasl.mechanism\n", c->protocol,
                    p_sasl ? "needs" : "excludes");
            return KFK_EXIT_USAGE;
        }
        tls = p_tls;
    }
    c->dialer.tls.enable = tls;
    if (sasl_wanted && (!c->dialer.sasl.username || !c->dialer.sasl.password)) {
        fprintf(stderr, "kfk: SASL needs sasl.username and sasl.password\n");
        return KFK_EXIT_USAGE;
    }
    if (c->dialer.connect_timeout_ms > c->timeout_ms)
        c->timeout_ms = c->dialer.connect_timeout_ms;
    return 0;
}
