/*
 * kfk — command-line parsing shared by every verb: the connection options
 * (accepted before the verb and after it), strict number parsing and error
 * printing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kfk.h"

enum {
    OPT_CLIENT_ID = 0x1000,
    OPT_TLS,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_KEY_PASSWORD,
    OPT_INSECURE,
    OPT_SERVER_NAME,
    OPT_SASL_MECHANISM,
    OPT_SASL_USER,
    OPT_SASL_PASSWORD,
    OPT_CONNECT_TIMEOUT,
    OPT_TIMEOUT
};

#define COMMON_SHORT "b:F:X:v"

static const struct option common_long[] = {
    {"brokers", required_argument, NULL, 'b'},
    {"config-file", required_argument, NULL, 'F'},
    {"verbose", no_argument, NULL, 'v'},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"tls", no_argument, NULL, OPT_TLS},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"cert-key", required_argument, NULL, OPT_KEY},
    {"cert-key-password", required_argument, NULL, OPT_KEY_PASSWORD},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
    {"sasl-mechanism", required_argument, NULL, OPT_SASL_MECHANISM},
    {"sasl-user", required_argument, NULL, OPT_SASL_USER},
    {"sasl-password", required_argument, NULL, OPT_SASL_PASSWORD},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
};
#define N_COMMON (sizeof common_long / sizeof common_long[0])

void kfk_print_common_usage(FILE *f)
{
    fputs("Connection options (before or after the verb):\n"
          "  -b, --brokers H:P[,...]   bootstrap brokers\n"
          "  -F, --config-file FILE    key=value settings file (see kfk(1))\n"
          "  -X KEY=VALUE              one setting (same names as the file)\n"
          "      --client-id ID        client id (default kfk)\n"
          "      --tls                 connect with TLS\n"
          "      --ca FILE|DIR         trusted CA certificates (implies --tls)\n"
          "      --cert FILE, --cert-key FILE, --cert-key-password PW   client certificate\n"
          "      --insecure            do not verify the broker's certificate\n"
          "      --server-name NAME    TLS server name (SNI and verification)\n"
          "      --sasl-mechanism M    PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512\n"
          "      --sasl-user U, --sasl-password P\n"
          "      --connect-timeout MS  bound on connecting (default 10000)\n"
          "      --timeout MS          bound on each look-up (default 10000)\n"
          "  -v, --verbose             library log lines on stderr\n",
          f);
}

/* The flag's equivalent setting, applied through kfk_conf_set. */
static int common_option(int c, const char *arg, kfk_conf *conf)
{
    char kv[4096];
    const char *key = NULL;
    switch (c) {
    case 'b': key = "bootstrap.servers"; break;
    case 'F': return kfk_conf_load(conf, arg);
    case 'X': return kfk_conf_set(conf, arg);
    case 'v': conf->verbose = true; return 0;
    case OPT_CLIENT_ID: key = "client.id"; break;
    case OPT_TLS: conf->tls_asked = true; return 0;
    case OPT_CA: key = "ssl.ca.location"; break;
    case OPT_CERT: key = "ssl.certificate.location"; break;
    case OPT_KEY: key = "ssl.key.location"; break;
    case OPT_KEY_PASSWORD: key = "ssl.key.password"; break;
    case OPT_INSECURE: arg = "false", key = "enable.ssl.certificate.verification"; break;
    case OPT_SERVER_NAME: key = "ssl.server.name"; break;
    case OPT_SASL_MECHANISM: key = "sasl.mechanism"; break;
    case OPT_SASL_USER: key = "sasl.username"; break;
    case OPT_SASL_PASSWORD: key = "sasl.password"; break;
    case OPT_CONNECT_TIMEOUT: key = "socket.connection.setup.timeout.ms"; break;
    case OPT_TIMEOUT: key = "socket.timeout.ms"; break;
    default: return -1; /* not a common option */
    }
    if ((size_t)snprintf(kv, sizeof kv, "%s=%s", key, arg) >= sizeof kv) {
        fprintf(stderr, "kfk: value too long for %s\n", key);
        return KFK_EXIT_USAGE;
    }
    return kfk_conf_set(conf, kv);
}

int kfk_getopt(int argc, char **argv, const kfk_verb_opts *vo, kfk_conf *conf, int *status)
{
    /* The merged tables of the verb being parsed (one verb per run). */
    static const kfk_verb_opts *merged_for;
    static char shortopts[128];
    static struct option longopts[64];
    if (merged_for != vo) {
        size_t n = 0;
        const char *own = vo->shortopts ? vo->shortopts : "";
        bool stop_at_arg = own[0] == '+'; /* must lead the string */
        snprintf(shortopts, sizeof shortopts, "%s:" COMMON_SHORT "%s", stop_at_arg ? "+" : "", own + stop_at_arg);
        for (size_t i = 0; i < N_COMMON; i++)
            longopts[n++] = common_long[i];
        for (const struct option *o = vo->longopts; o && o->name && n + 1 < 64; o++)
            longopts[n++] = *o;
        longopts[n] = (struct option){0};
        merged_for = vo;
    }
    for (;;) {
        int c = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (c == ':' || c == '?') {
            if (c == ':')
                fprintf(stderr, "kfk: option %s needs a value\n", argv[optind - 1]);
            else if (optopt)
                fprintf(stderr, "kfk: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "kfk: unknown option %s\n", argv[optind - 1]);
            *status = KFK_EXIT_USAGE;
            return '?';
        }
        int rc = c == -1 ? -1 : common_option(c, optarg, conf);
        if (rc < 0)
            return c; /* the verb's own option, or the end */
        if (rc > 0) {
            *status = rc;
            return '?';
        }
    }
}

bool kfk_parse_i64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "kfk: bad %s '%s' (expected an integer from %lld to %lld)\n", what, s, (long long)min,
                (long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool kfk_parse_i32(const char *s, const char *what, int32_t min, int32_t max, int32_t *out)
{
    int64_t v;
    if (!kfk_parse_i64(s, what, min, max, &v))
        return false;
    *out = (int32_t)v;
    return true;
}

void kfk_err(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kfk: %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
