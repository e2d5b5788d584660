/*
 * kfk topic — list | describe | create | delete | alter-config, on
 * kafka_admin. Every sub-verb takes --json; a per-topic error is printed
 * with its topic and makes the exit status 1.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kfk_admin.h"

enum { OPT_JSON = 0x2000, OPT_INTERNAL, OPT_VALIDATE, OPT_SET, OPT_DELETE, OPT_REPLICATION, OPT_PARTITIONS };

#define MAX_ITEMS 256

typedef struct topic_opts {
    const char *sub;
    const char *names[MAX_ITEMS];
    size_t n_names;
    int32_t partitions;  /* create: -1 = broker default */
    int32_t replication; /* create: -1 = broker default */
    const char *cfg_names[MAX_ITEMS], *cfg_values[MAX_ITEMS];
    size_t n_cfg;        /* create: --config; alter-config: --set / --delete */
    kafka_admin_config_op cfg_ops[MAX_ITEMS];
    bool json, internal, validate;
} topic_opts;

static void usage(FILE *f)
{
    fputs("usage: kfk topic list [--internal] [--json]\n"
          "       kfk topic describe [TOPIC...] [--json]\n"
          "       kfk topic create TOPIC... [--partitions N] [--replication R] [--config K=V]... [--validate] [--json]\n"
          "       kfk topic delete TOPIC... [--json]\n"
          "       kfk topic alter-config TOPIC (--set K=V | --delete K)... [--validate] [--json]\n\n",
          f);
    kfk_print_common_usage(f);
}

static void print_ids(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%" PRId32, i ? "," : "", ids[i]);
}

/* ---- list / describe ------------------------------------------------------ */

static void describe_json(const kafka_admin_topics *t, bool full)
{
    printf("{\"topics\":[");
    for (size_t i = 0; i < t->n; i++) {
        const kafka_admin_topic *tp = &t->topics[i];
        printf("%s{\"name\":", i ? "," : "");
        kfk_json_cstr(stdout, tp->name);
        kfk_json_member_err(tp->err);
        printf(",\"internal\":%s,\"partition_count\":%zu", tp->internal ? "true" : "false", tp->n_partitions);
        if (full) {
            printf(",\"partitions\":[");
            for (size_t j = 0; j < tp->n_partitions; j++) {
                const kafka_admin_partition *p = &tp->partitions[j];
                printf("%s{\"partition\":%" PRId32 ",\"leader\":%" PRId32 ",\"leader_epoch\":%" PRId32 ",\"replicas\":[",
                       j ? "," : "", p->partition, p->leader, p->leader_epoch);
                print_ids(p->replicas, p->n_replicas);
                printf("],\"isr\":[");
                print_ids(p->isr, p->n_isr);
                printf("],\"offline\":[");
                print_ids(p->offline, p->n_offline);
                printf("],\"error\":");
                kfk_json_err(stdout, p->err);
                putchar('}');
            }
            putchar(']');
        }
        putchar('}');
    }
    printf("]}\n");
}

static void describe_text(const kafka_admin_topics *t, bool full)
{
    for (size_t i = 0; i < t->n; i++) {
        const kafka_admin_topic *tp = &t->topics[i];
        if (tp->err) {
            printf("topic \"%s\": %s\n", tp->name, kafka_err_name(tp->err));
            continue;
        }
        if (!full) {
            printf("%s\t%zu partitions%s\n", tp->name, tp->n_partitions, tp->internal ? "\tinternal" : "");
            continue;
        }
        printf("topic \"%s\" with %zu partitions%s:\n", tp->name, tp->n_partitions, tp->internal ? " (internal)" : "");
        for (size_t j = 0; j < tp->n_partitions; j++) {
            const kafka_admin_partition *p = &tp->partitions[j];
            printf("  partition %" PRId32 ", leader %" PRId32 ", replicas: ", p->partition, p->leader);
            print_ids(p->replicas, p->n_replicas);
            printf(", isrs: ");
            print_ids(p->isr, p->n_isr);
            if (p->n_offline) {
                printf(", offline: ");
                print_ids(p->offline, p->n_offline);
            }
            if (p->err)
                printf(", %s", kafka_err_name(p->err));
            putchar('\n');
        }
    }
}

static int run_list_describe(kafka_admin *a, const kfk_conf *conf, const topic_opts *o)
{
    bool describe = !strcmp(o->sub, "describe");
    kafka_admin_topics *t = NULL;
    kafka_err err = describe && o->n_names
                        ? kafka_admin_describe_topics(a, o->names, o->n_names, conf->timeout_ms, &t)
                        : kafka_admin_list_topics(a, describe || o->internal, conf->timeout_ms, &t);
    if (!t) {
        kfk_admin_report(a, "topic", o->sub, err);
        return KFK_EXIT_ERROR;
    }
    if (o->json)
        describe_json(t, describe);
    else
        describe_text(t, describe);
    for (size_t i = 0; i < t->n; i++)
        if (t->topics[i].err)
            kfk_err("topic", "%s: %s", t->topics[i].name,
                    t->topics[i].err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION ? "does not exist"
                                                                             : kafka_err_str(t->topics[i].err));
    kafka_admin_topics_free(t);
    return err ? KFK_EXIT_ERROR : 0;
}

/* ---- create / delete -------------------------------------------------------- */

static int print_topic_results(const kafka_admin_topic_results *r, const topic_opts *o, const char *done)
{
    int rc = 0;
    if (o->json)
        printf("{\"validate_only\":%s,\"results\":[", o->validate ? "true" : "false");
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_topic_result *t = &r->results[i];
        if (t->err)
            rc = KFK_EXIT_ERROR;
        if (o->json) {
            printf("%s{\"topic\":", i ? "," : "");
            kfk_json_cstr(stdout, t->topic);
            kfk_json_member_err(t->err);
            kfk_json_member("message", t->message);
            printf(",\"partitions\":%" PRId32 ",\"replication_factor\":%d}", t->partitions, (int)t->replication_factor);
        } else if (t->err) {
            kfk_err("topic", "%s: %s%s%s", t->topic, kafka_err_str(t->err), t->message ? ": " : "",
                    t->message ? t->message : "");
        } else {
            printf("%s topic %s%s\n", done, t->topic, o->validate ? " (validated only)" : "");
        }
    }
    if (o->json)
        printf("]}\n");
    return rc;
}

static int run_create_delete(kafka_admin *a, const kfk_conf *conf, const topic_opts *o)
{
    bool create = !strcmp(o->sub, "create");
    kafka_admin_topic_results *r = NULL;
    kafka_err err;
    if (create) {
        kafka_topic_config tcs[MAX_ITEMS];
        for (size_t i = 0; i < o->n_names; i++)
            tcs[i] = (kafka_topic_config){.topic = o->names[i],
                                          .num_partitions = o->partitions,
                                          .replication_factor = (int16_t)o->replication,
                                          .config_names = o->cfg_names,
                                          .config_values = o->cfg_values,
                                          .n_configs = o->n_cfg};
        err = kafka_admin_create_topics(a, tcs, o->n_names, o->validate, conf->timeout_ms, &r);
    } else {
        err = kafka_admin_delete_topics(a, o->names, o->n_names, conf->timeout_ms, &r);
    }
    if (!r) {
        kfk_admin_report(a, "topic", o->sub, err);
        return KFK_EXIT_ERROR;
    }
    int rc = print_topic_results(r, o, create ? "created" : "deleted");
    kafka_admin_topic_results_free(r);
    return rc;
}

/* ---- alter-config ------------------------------------------------------------ */

static int run_alter_config(kafka_admin *a, const kfk_conf *conf, const topic_opts *o)
{
    kafka_admin_config_change ch[MAX_ITEMS];
    for (size_t i = 0; i < o->n_cfg; i++)
        ch[i] = (kafka_admin_config_change){.type = KAFKA_ADMIN_RESOURCE_TOPIC,
                                            .resource = o->names[0],
                                            .name = o->cfg_names[i],
                                            .op = o->cfg_ops[i],
                                            .value = o->cfg_values[i]};
    kafka_admin_resource_results *r = NULL;
    kafka_err err = kafka_admin_alter_configs(a, ch, o->n_cfg, o->validate, conf->timeout_ms, &r);
    if (!r) {
        kfk_admin_report(a, "topic", "alter-config", err);
        return KFK_EXIT_ERROR;
    }
    int rc = 0;
    if (o->json)
        printf("{\"validate_only\":%s,\"results\":[", o->validate ? "true" : "false");
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_resource_result *x = &r->results[i];
        rc |= x->err ? KFK_EXIT_ERROR : 0;
        if (o->json) {
            printf("%s{\"topic\":", i ? "," : "");
            kfk_json_cstr(stdout, x->name);
            kfk_json_member_err(x->err);
            kfk_json_member("message", x->message);
            putchar('}');
        } else if (x->err) {
            kfk_err("topic", "%s: %s%s%s", x->name, kafka_err_str(x->err), x->message ? ": " : "",
                    x->message ? x->message : "");
        } else {
            printf("altered config of topic %s%s\n", x->name, o->validate ? " (validated only)" : "");
        }
    }
    if (o->json)
        printf("]}\n");
    kafka_admin_resource_results_free(r);
    return rc;
}

/* ---- options ------------------------------------------------------------------ */

static int add_cfg(topic_opts *o, const char *kv, kafka_admin_config_op op)
{
    if (o->n_cfg == MAX_ITEMS)
        return KFK_EXIT_USAGE;
    const char *eq = op == KAFKA_ADMIN_CONFIG_DELETE ? NULL : strchr(kv, '=');
    if ((op != KAFKA_ADMIN_CONFIG_DELETE && (!eq || eq == kv)) || !*kv) {
        fprintf(stderr, "kfk: topic: expected NAME=VALUE, got '%s'\n", kv);
        return KFK_EXIT_USAGE;
    }
    /* NAME=VALUE strings live in argv: split a copy kept until exit. */
    char *name = strdup(kv);
    if (!name)
        return KFK_EXIT_ERROR;
    if (eq)
        name[eq - kv] = 0;
    o->cfg_names[o->n_cfg] = name;
    o->cfg_values[o->n_cfg] = eq ? eq + 1 : NULL;
    o->cfg_ops[o->n_cfg++] = op;
    return 0;
}

static int parse_args(int argc, char **argv, kfk_conf *conf, topic_opts *o)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"internal", no_argument, NULL, OPT_INTERNAL},
                                             {"validate", no_argument, NULL, OPT_VALIDATE},
                                             {"partitions", required_argument, NULL, OPT_PARTITIONS},
                                             {"replication", required_argument, NULL, OPT_REPLICATION},
                                             {"config", required_argument, NULL, OPT_SET},
                                             {"set", required_argument, NULL, OPT_SET},
                                             {"delete", required_argument, NULL, OPT_DELETE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"Jh", longopts};
    int c, status = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        int rc = 0;
        switch (c) {
        case 'J':
        case OPT_JSON: o->json = true; break;
        case OPT_INTERNAL: o->internal = true; break;
        case OPT_VALIDATE: o->validate = true; break;
        case OPT_PARTITIONS:
            rc = kfk_parse_i32(optarg, "partition count", 1, INT32_MAX, &o->partitions) ? 0 : KFK_EXIT_USAGE;
            break;
        case OPT_REPLICATION:
            rc = kfk_parse_i32(optarg, "replication factor", 1, INT16_MAX, &o->replication) ? 0 : KFK_EXIT_USAGE;
            break;
        case OPT_SET: rc = add_cfg(o, optarg, KAFKA_ADMIN_CONFIG_SET); break;
        case OPT_DELETE: rc = add_cfg(o, optarg, KAFKA_ADMIN_CONFIG_DELETE); break;
        case 'h': usage(stdout); return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (kfk_sub_and_names(argc, argv, "topic", usage, &o->sub, o->names, MAX_ITEMS, &o->n_names))
        return KFK_EXIT_USAGE;
    bool ok = true;
    if (!strcmp(o->sub, "list"))
        ok = o->n_names == 0;
    else if (!strcmp(o->sub, "create") || !strcmp(o->sub, "delete"))
        ok = o->n_names > 0;
    else if (!strcmp(o->sub, "alter-config"))
        ok = o->n_names == 1 && o->n_cfg > 0;
    else if (strcmp(o->sub, "describe")) {
        fprintf(stderr, "kfk: topic: unknown sub-command '%s'\n", o->sub);
        return KFK_EXIT_USAGE;
    }
    if (!ok) {
        fprintf(stderr, "kfk: topic %s: wrong arguments (see kfk topic --help)\n", o->sub);
        return KFK_EXIT_USAGE;
    }
    return kfk_conf_check(conf);
}

int kfk_topic(int argc, char **argv, kfk_conf *conf)
{
    topic_opts o = {.partitions = -1, .replication = -1};
    int rc = parse_args(argc, argv, conf, &o);
    kafka_admin *a = rc == 0 ? kfk_admin_open(conf, "topic") : NULL;
    if (rc == 0 && !a)
        rc = KFK_EXIT_ERROR;
    if (a) {
        if (!strcmp(o.sub, "list") || !strcmp(o.sub, "describe"))
            rc = run_list_describe(a, conf, &o);
        else if (!strcmp(o.sub, "alter-config"))
            rc = run_alter_config(a, conf, &o);
        else
            rc = run_create_delete(a, conf, &o);
        kafka_admin_close(a);
    }
    for (size_t i = 0; i < o.n_cfg; i++)
        free((char *)(uintptr_t)o.cfg_names[i]);
    return rc < 0 ? KFK_EXIT_OK : rc;
}
