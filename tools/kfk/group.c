/*
 * kfk group — list | describe | lag | reset | delete, on kafka_admin.
 * Every sub-verb takes --json; per-item errors are printed with their
 * group or partition and make the exit status 1.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kfk_admin.h"

enum { OPT_JSON = 0x2000, OPT_STATE, OPT_TO };

#define MAX_ITEMS 256

typedef struct group_opts {
    const char *sub;
    const char *names[MAX_ITEMS];
    size_t n_names;
    const char *states[16];
    size_t n_states;
    const char *topic; /* reset */
    int32_t partition; /* reset: -1 = every partition */
    const char *to;    /* reset: earliest | latest | @ms | offset */
    bool json;
} group_opts;

static void usage(FILE *f)
{
    fputs("usage: kfk group list [--state STATE]... [--json]\n"
          "       kfk group describe GROUP... [--json]\n"
          "       kfk group lag GROUP [--json]\n"
          "       kfk group reset GROUP -t TOPIC [-p N] --to earliest|latest|@MS|OFFSET [--json]\n"
          "       kfk group delete GROUP... [--json]\n\n",
          f);
    kfk_print_common_usage(f);
}

/* ---- list ------------------------------------------------------------------------ */

static int run_list(kafka_admin *a, const kfk_conf *conf, const group_opts *o)
{
    kafka_admin_group_list *l = NULL;
    kafka_err err = kafka_admin_list_groups(a, o->states, o->n_states, NULL, 0, conf->timeout_ms, &l);
    if (!l) {
        kfk_admin_report(a, "group", "list", err);
        return KFK_EXIT_ERROR;
    }
    if (o->json) {
        printf("{\"groups\":[");
        for (size_t i = 0; i < l->n; i++) {
            const kafka_admin_group_listing *g = &l->groups[i];
            printf("%s{\"group\":", i ? "," : "");
            kfk_json_cstr(stdout, g->group);
            kfk_json_member("protocol_type", g->protocol_type);
            kfk_json_member("state", g->state);
            kfk_json_member("type", g->type);
            printf(",\"coordinator\":%" PRId32 "}", g->coordinator);
        }
        printf("],\"broker_errors\":[");
        for (size_t i = 0; i < l->n_errors; i++) {
            printf("%s{\"broker\":%" PRId32 ",\"error\":", i ? "," : "", l->errors[i].broker);
            kfk_json_err(stdout, l->errors[i].err);
            putchar('}');
        }
        printf("]}\n");
    } else {
        for (size_t i = 0; i < l->n; i++) {
            const kafka_admin_group_listing *g = &l->groups[i];
            printf("%s\t%s\t%s\n", g->group, g->state ? g->state : "-", *g->protocol_type ? g->protocol_type : "-");
        }
    }
    for (size_t i = 0; i < l->n_errors; i++)
        kfk_err("group", "list: broker %" PRId32 ": %s", l->errors[i].broker, kafka_err_str(l->errors[i].err));
    kafka_admin_group_list_free(l);
    return err ? KFK_EXIT_ERROR : 0;
}

/* ---- describe ------------------------------------------------------------------- */

static void member_json(const kafka_admin_group_member *m)
{
    printf("{\"member_id\":");
    kfk_json_cstr(stdout, m->member_id);
    kfk_json_member("instance_id", m->instance_id);
    kfk_json_member("client_id", m->client_id);
    kfk_json_member("client_host", m->client_host);
    printf(",\"assigned\":[");
    for (size_t k = 0; k < m->n_assigned; k++) {
        printf("%s{\"topic\":", k ? "," : "");
        kfk_json_cstr(stdout, m->assigned[k].topic);
        printf(",\"partition\":%" PRId32 "}", m->assigned[k].partition);
    }
    printf("],\"subscribed\":[");
    for (size_t k = 0; k < m->n_subscribed; k++) {
        printf("%s", k ? "," : "");
        kfk_json_cstr(stdout, m->subscribed[k]);
    }
    printf("]}");
}

static int run_describe(kafka_admin *a, const kfk_conf *conf, const group_opts *o)
{
    kafka_admin_groups *g = NULL;
    kafka_err err = kafka_admin_describe_groups(a, o->names, o->n_names, conf->timeout_ms, &g);
    if (!g) {
        kfk_admin_report(a, "group", "describe", err);
        return KFK_EXIT_ERROR;
    }
    if (o->json)
        printf("{\"groups\":[");
    for (size_t i = 0; i < g->n; i++) {
        const kafka_admin_group *x = &g->groups[i];
        if (x->err)
            kfk_err("group", "%s: %s", x->group,
                    x->err == KAFKA_ERR_GROUP_ID_NOT_FOUND ? "does not exist" : kafka_err_str(x->err));
        if (o->json) {
            printf("%s{\"group\":", i ? "," : "");
            kfk_json_cstr(stdout, x->group);
            kfk_json_member_err(x->err);
            kfk_json_member("state", x->state);
            kfk_json_member("type", x->type);
            kfk_json_member("protocol_type", x->protocol_type);
            kfk_json_member("protocol", x->protocol);
            printf(",\"coordinator\":%" PRId32 ",\"members\":[", x->coordinator);
            for (size_t j = 0; j < x->n_members; j++) {
                printf("%s", j ? "," : "");
                member_json(&x->members[j]);
            }
            printf("]}");
        } else if (!x->err) {
            printf("group %s: state %s, protocol %s, coordinator %" PRId32 ", %zu member(s)\n", x->group,
                   x->state ? x->state : "-", x->protocol && *x->protocol ? x->protocol : "-", x->coordinator,
                   x->n_members);
            for (size_t j = 0; j < x->n_members; j++) {
                const kafka_admin_group_member *m = &x->members[j];
                printf("  member %s (client %s, host %s):", m->member_id, m->client_id ? m->client_id : "-",
                       m->client_host ? m->client_host : "-");
                for (size_t k = 0; k < m->n_assigned; k++)
                    printf(" %s[%" PRId32 "]", m->assigned[k].topic, m->assigned[k].partition);
                putchar('\n');
            }
        }
    }
    if (o->json)
        printf("]}\n");
    kafka_admin_groups_free(g);
    return err ? KFK_EXIT_ERROR : 0;
}

/* ---- lag -------------------------------------------------------------------------- */

static int run_lag(kafka_admin *a, const kfk_conf *conf, const group_opts *o)
{
    kafka_admin_group_lag *l = NULL;
    kafka_err err = kafka_admin_lag(a, o->names[0], conf->timeout_ms, &l);
    if (!l) {
        kfk_admin_report(a, "group", "lag", err);
        return KFK_EXIT_ERROR;
    }
    if (o->json) {
        printf("{\"group\":");
        kfk_json_cstr(stdout, l->group);
        kfk_json_member("state", l->state);
        printf(",\"total\":%" PRId64 ",\"partitions\":[", l->total);
    } else {
        printf("%-30s %9s %12s %12s %12s %10s  %s\n", "TOPIC", "PARTITION", "COMMITTED", "START", "END", "LAG",
               "MEMBER");
    }
    for (size_t i = 0; i < l->n; i++) {
        const kafka_admin_partition_lag *p = &l->partitions[i];
        if (p->err)
            kfk_err("group", "lag of %s [%" PRId32 "]: %s", p->topic, p->partition, kafka_err_str(p->err));
        if (o->json) {
            printf("%s{\"topic\":", i ? "," : "");
            kfk_json_cstr(stdout, p->topic);
            printf(",\"partition\":%" PRId32 ",\"committed\":%" PRId64 ",\"start\":%" PRId64 ",\"end\":%" PRId64
                   ",\"lag\":%" PRId64 ",\"member_id\":",
                   p->partition, p->committed, p->start, p->end, p->lag);
            kfk_json_cstr(stdout, p->member_id);
            kfk_json_member_err(p->err);
            putchar('}');
        } else {
            printf("%-30s %9" PRId32 " %12" PRId64 " %12" PRId64 " %12" PRId64 " %10" PRId64 "  %s\n", p->topic,
                   p->partition, p->committed, p->start, p->end, p->lag, p->member_id ? p->member_id : "-");
        }
    }
    if (o->json)
        printf("]}\n");
    else
        printf("group %s: total lag %" PRId64 "%s%s\n", l->group, l->total, l->state ? ", state " : "",
               l->state ? l->state : "");
    kafka_admin_group_lag_free(l);
    return err ? KFK_EXIT_ERROR : 0;
}

/* ---- reset ------------------------------------------------------------------------ */

static int print_group_offsets(const kafka_admin_group_offsets *r, const group_opts *o)
{
    int rc = 0;
    if (o->json) {
        printf("{\"group\":");
        kfk_json_cstr(stdout, r->group);
        printf(",\"offsets\":[");
    }
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_group_offset *p = &r->offsets[i];
        if (p->err) {
            rc = KFK_EXIT_ERROR;
            kfk_err("group", "reset %s [%" PRId32 "]: %s", p->topic, p->partition, kafka_err_str(p->err));
        }
        if (o->json) {
            printf("%s{\"topic\":", i ? "," : "");
            kfk_json_cstr(stdout, p->topic);
            printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"error\":", p->partition, p->offset);
            kfk_json_err(stdout, p->err);
            putchar('}');
        } else if (!p->err) {
            printf("%s [%" PRId32 "] -> %" PRId64 "\n", p->topic, p->partition, p->offset);
        }
    }
    if (o->json)
        printf("]}\n");
    return rc;
}

/* --to OFFSET: the same explicit offset on the chosen partitions. */
static kafka_err reset_explicit(kafka_admin *a, const kfk_conf *conf, const group_opts *o, int64_t offset,
                                kafka_admin_group_offsets **out)
{
    int32_t *ids = NULL;
    size_t n = 1;
    int32_t one = o->partition;
    if (o->partition < 0 && kfk_topic_partitions(conf, "group", o->topic, &ids, &n))
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    kafka_admin_offset_spec *specs = calloc(n, sizeof *specs);
    if (!specs) {
        free(ids);
        return KAFKA_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        specs[i] = (kafka_admin_offset_spec){.topic = o->topic, .partition = ids ? ids[i] : one, .offset = offset};
    kafka_err err = kafka_admin_alter_offsets(a, o->names[0], specs, n, conf->timeout_ms, out);
    free(specs);
    free(ids);
    return err;
}

static int run_reset(kafka_admin *a, const kfk_conf *conf, const group_opts *o)
{
    int64_t to;
    bool explicit_offset = false;
    if (!strcmp(o->to, "earliest") || !strcmp(o->to, "beginning"))
        to = KAFKA_ADMIN_OFFSET_EARLIEST;
    else if (!strcmp(o->to, "latest") || !strcmp(o->to, "end"))
        to = KAFKA_ADMIN_OFFSET_LATEST;
    else if (o->to[0] == '@') {
        if (!kfk_parse_i64(o->to + 1, "--to timestamp", 0, INT64_MAX, &to))
            return KFK_EXIT_USAGE;
    } else {
        if (!kfk_parse_i64(o->to, "--to offset", 0, INT64_MAX, &to))
            return KFK_EXIT_USAGE;
        explicit_offset = true;
    }
    kafka_admin_group_offsets *r = NULL;
    kafka_err err;
    if (explicit_offset) {
        err = reset_explicit(a, conf, o, to, &r);
    } else {
        kafka_admin_tp tp = {.topic = o->topic, .partition = o->partition};
        err = kafka_admin_reset_offsets(a, o->names[0], &tp, 1, to, conf->timeout_ms, &r);
    }
    if (!r) {
        if (err != KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION || !explicit_offset) /* else already reported */
            kfk_admin_report(a, "group", "reset", err);
        return KFK_EXIT_ERROR;
    }
    int rc = print_group_offsets(r, o);
    kafka_admin_group_offsets_free(r);
    return err ? KFK_EXIT_ERROR : rc;
}

/* ---- delete ------------------------------------------------------------------------ */

static int run_delete(kafka_admin *a, const kfk_conf *conf, const group_opts *o)
{
    kafka_admin_group_results *r = NULL;
    kafka_err err = kafka_admin_delete_groups(a, o->names, o->n_names, conf->timeout_ms, &r);
    if (!r) {
        kfk_admin_report(a, "group", "delete", err);
        return KFK_EXIT_ERROR;
    }
    if (o->json)
        printf("{\"results\":[");
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_group_result *x = &r->results[i];
        if (o->json) {
            printf("%s{\"group\":", i ? "," : "");
            kfk_json_cstr(stdout, x->group);
            kfk_json_member_err(x->err);
            putchar('}');
        } else if (!x->err) {
            printf("deleted group %s\n", x->group);
        }
        if (x->err)
            kfk_err("group", "delete %s: %s", x->group, kafka_err_str(x->err));
    }
    if (o->json)
        printf("]}\n");
    kafka_admin_group_results_free(r);
    return err ? KFK_EXIT_ERROR : 0;
}

/* ---- options ------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, kfk_conf *conf, group_opts *o)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"state", required_argument, NULL, OPT_STATE},
                                             {"topic", required_argument, NULL, 't'},
                                             {"partition", required_argument, NULL, 'p'},
                                             {"to", required_argument, NULL, OPT_TO},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"Jt:p:h", longopts};
    int c, status = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        int rc = 0;
        switch (c) {
        case 'J':
        case OPT_JSON: o->json = true; break;
        case OPT_STATE:
            if (o->n_states == sizeof o->states / sizeof o->states[0])
                rc = KFK_EXIT_USAGE;
            else
                o->states[o->n_states++] = optarg;
            break;
        case 't': o->topic = optarg; break;
        case 'p': rc = kfk_parse_i32(optarg, "partition", 0, INT32_MAX, &o->partition) ? 0 : KFK_EXIT_USAGE; break;
        case OPT_TO: o->to = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (kfk_sub_and_names(argc, argv, "group", usage, &o->sub, o->names, MAX_ITEMS, &o->n_names))
        return KFK_EXIT_USAGE;
    bool ok;
    if (!strcmp(o->sub, "list"))
        ok = o->n_names == 0;
    else if (!strcmp(o->sub, "describe") || !strcmp(o->sub, "delete"))
        ok = o->n_names > 0;
    else if (!strcmp(o->sub, "lag"))
        ok = o->n_names == 1;
    else if (!strcmp(o->sub, "reset"))
        ok = o->n_names == 1 && o->topic && o->to;
    else {
        fprintf(stderr, "kfk: group: unknown sub-command '%s'\n", o->sub);
        return KFK_EXIT_USAGE;
    }
    if (!ok) {
        fprintf(stderr, "kfk: group %s: wrong arguments (see kfk group --help)\n", o->sub);
        return KFK_EXIT_USAGE;
    }
    return kfk_conf_check(conf);
}

int kfk_group(int argc, char **argv, kfk_conf *conf)
{
    group_opts o = {.partition = -1};
    int rc = parse_args(argc, argv, conf, &o);
    kafka_admin *a = rc == 0 ? kfk_admin_open(conf, "group") : NULL;
    if (rc == 0 && !a)
        rc = KFK_EXIT_ERROR;
    if (a) {
        if (!strcmp(o.sub, "list"))
            rc = run_list(a, conf, &o);
        else if (!strcmp(o.sub, "describe"))
            rc = run_describe(a, conf, &o);
        else if (!strcmp(o.sub, "lag"))
            rc = run_lag(a, conf, &o);
        else if (!strcmp(o.sub, "reset"))
            rc = run_reset(a, conf, &o);
        else
            rc = run_delete(a, conf, &o);
        kafka_admin_close(a);
    }
    return rc < 0 ? KFK_EXIT_OK : rc;
}
