/*
 * kfk — what the administration verbs (topic, group, offsets,
 * delete-records) share: opening a kafka_admin from the connection
 * settings, reporting a failed call, and small output helpers.
 */
#include <string.h>

#include "kfk_admin.h"

kafka_admin *kfk_admin_open(const kfk_conf *conf, const char *verb)
{
    /* One bootstrap dial first: an unreachable cluster is reported at once
     * with the system's reason, as for every other verb (the admin client
     * itself would retry until the timeout). */
    kafka_conn *probe;
    if (kfk_dial_bootstrap(conf, verb, &probe))
        return NULL;
    kafka_conn_close(probe);
    kafka_admin *a = NULL;
    char errbuf[256];
    kafka_err err = kafka_admin_new(&a, &(kafka_admin_config){.brokers = conf->brokers,
                                                              .dialer = &conf->dialer,
                                                              .dial_timeout_ms = conf->dialer.connect_timeout_ms},
                                    errbuf, sizeof errbuf);
    if (err) {
        kfk_err(verb, "%s (%s)", errbuf, kafka_err_str(err));
        return NULL;
    }
    return a;
}

void kfk_admin_report(kafka_admin *a, const char *verb, const char *what, kafka_err err)
{
    char detail[512];
    kafka_admin_last_error(a, detail, sizeof detail);
    if (err == KAFKA_ERR_NO_COMMON_VERSION)
        kfk_err(verb, "%s: the broker does not support this request (%s)", what, detail);
    else
        kfk_err(verb, "%s: %s%s%s%s", what, kafka_err_str(err), *detail ? " (" : "", detail, *detail ? ")" : "");
}

void kfk_json_err(FILE *f, kafka_err err)
{
    if (err)
        fprintf(f, "\"%s\"", kafka_err_name(err));
    else
        fputs("null", f);
}

void kfk_json_cstr(FILE *f, const char *s)
{
    kfk_json_str(f, s, s ? strlen(s) : 0);
}

void kfk_json_member(const char *name, const char *value)
{
    printf(",\"%s\":", name);
    kfk_json_cstr(stdout, value);
}

void kfk_json_member_err(kafka_err err)
{
    fputs(",\"error\":", stdout);
    kfk_json_err(stdout, err);
}

int kfk_sub_and_names(int argc, char **argv, const char *verb, void (*usage)(FILE *), const char **sub,
                      const char **names, size_t max, size_t *n)
{
    if (optind >= argc) {
        usage(stderr);
        return KFK_EXIT_USAGE;
    }
    *sub = argv[optind++];
    for (*n = 0; optind < argc; optind++) {
        if (*n == max || !*argv[optind]) {
            fprintf(stderr, "kfk: %s: empty or too many (more than %zu) names\n", verb, max);
            return KFK_EXIT_USAGE;
        }
        names[(*n)++] = argv[optind];
    }
    return 0;
}
