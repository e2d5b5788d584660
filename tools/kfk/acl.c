/*
 * kfk acl — list | create | delete, on kafka_admin (DescribeAcls,
 * CreateAcls, DeleteAcls). One binding (create) or one filter (list,
 * delete) per run, from options; --json on each.
 */
#include <string.h>

#include "kfk_admin.h"

enum { OPT_JSON = 0x2000, OPT_TYPE, OPT_RESOURCE, OPT_PATTERN, OPT_PRINCIPAL, OPT_HOST, OPT_OPERATION, OPT_PERMISSION };

typedef struct name_value {
    const char *name;
    int value;
} name_value;

static const name_value RESOURCE_TYPES[] = {{"any", KAFKA_ACL_RESOURCE_ANY},
                                            {"topic", KAFKA_ACL_RESOURCE_TOPIC},
                                            {"group", KAFKA_ACL_RESOURCE_GROUP},
                                            {"cluster", KAFKA_ACL_RESOURCE_CLUSTER},
                                            {"transactional-id", KAFKA_ACL_RESOURCE_TRANSACTIONAL_ID},
                                            {"delegation-token", KAFKA_ACL_RESOURCE_DELEGATION_TOKEN},
                                            {"user", KAFKA_ACL_RESOURCE_USER},
                                            {NULL, 0}};
static const name_value PATTERNS[] = {{"any", KAFKA_ACL_PATTERN_ANY},
                                      {"match", KAFKA_ACL_PATTERN_MATCH},
                                      {"literal", KAFKA_ACL_PATTERN_LITERAL},
                                      {"prefixed", KAFKA_ACL_PATTERN_PREFIXED},
                                      {NULL, 0}};
static const name_value OPERATIONS[] = {{"any", KAFKA_ACL_OP_ANY},
                                        {"all", KAFKA_ACL_OP_ALL},
                                        {"read", KAFKA_ACL_OP_READ},
                                        {"write", KAFKA_ACL_OP_WRITE},
                                        {"create", KAFKA_ACL_OP_CREATE},
                                        {"delete", KAFKA_ACL_OP_DELETE},
                                        {"alter", KAFKA_ACL_OP_ALTER},
                                        {"describe", KAFKA_ACL_OP_DESCRIBE},
                                        {"cluster-action", KAFKA_ACL_OP_CLUSTER_ACTION},
                                        {"describe-configs", KAFKA_ACL_OP_DESCRIBE_CONFIGS},
                                        {"alter-configs", KAFKA_ACL_OP_ALTER_CONFIGS},
                                        {"idempotent-write", KAFKA_ACL_OP_IDEMPOTENT_WRITE},
                                        {"create-tokens", KAFKA_ACL_OP_CREATE_TOKENS},
                                        {"describe-tokens", KAFKA_ACL_OP_DESCRIBE_TOKENS},
                                        {NULL, 0}};
static const name_value PERMISSIONS[] = {{"any", KAFKA_ACL_PERMISSION_ANY},
                                         {"deny", KAFKA_ACL_PERMISSION_DENY},
                                         {"allow", KAFKA_ACL_PERMISSION_ALLOW},
                                         {NULL, 0}};

static bool lookup(const name_value *t, const char *what, const char *name, int *out)
{
    for (; t->name; t++)
        if (!strcmp(t->name, name)) {
            *out = t->value;
            return true;
        }
    fprintf(stderr, "kfk: acl: unknown %s '%s'\n", what, name);
    return false;
}

static const char *name_of(const name_value *t, int value)
{
    for (; t->name; t++)
        if (t->value == value)
            return t->name;
    return "unknown";
}

static void acl_text(const kafka_admin_acl *x)
{
    printf("%s %s:%s %s %s from %s: %s\n", name_of(PERMISSIONS, (int)x->permission),
           name_of(RESOURCE_TYPES, (int)x->resource_type), x->resource_name ? x->resource_name : "*",
           name_of(PATTERNS, (int)x->pattern), x->principal ? x->principal : "*", x->host ? x->host : "*",
           name_of(OPERATIONS, (int)x->operation));
}

static void acl_json(const kafka_admin_acl *x)
{
    printf("{\"resource_type\":\"%s\",\"resource\":", name_of(RESOURCE_TYPES, (int)x->resource_type));
    kfk_json_cstr(stdout, x->resource_name);
    printf(",\"pattern\":\"%s\",\"principal\":", name_of(PATTERNS, (int)x->pattern));
    kfk_json_cstr(stdout, x->principal);
    kfk_json_member("host", x->host);
    printf(",\"operation\":\"%s\",\"permission\":\"%s\"}", name_of(OPERATIONS, (int)x->operation),
           name_of(PERMISSIONS, (int)x->permission));
}

static int run_list(kafka_admin *a, const kfk_conf *conf, const kafka_admin_acl *filter, bool json)
{
    kafka_admin_acls *l = NULL;
    kafka_err err = kafka_admin_describe_acls(a, filter, conf->timeout_ms, &l);
    if (!l) {
        kfk_admin_report(a, "acl", "list", err);
        return KFK_EXIT_ERROR;
    }
    if (json)
        printf("{\"acls\":[");
    for (size_t i = 0; i < l->n; i++) {
        if (json) {
            printf("%s", i ? "," : "");
            acl_json(&l->acls[i]);
        } else {
            acl_text(&l->acls[i]);
        }
    }
    if (json)
        printf("]}\n");
    kafka_admin_acls_free(l);
    return err ? KFK_EXIT_ERROR : 0;
}

static int run_change(kafka_admin *a, const kfk_conf *conf, const kafka_admin_acl *acl, bool create, bool json)
{
    kafka_admin_acl_results *r = NULL;
    kafka_err err = create ? kafka_admin_create_acls(a, acl, 1, conf->timeout_ms, &r)
                           : kafka_admin_delete_acls(a, acl, 1, conf->timeout_ms, &r);
    if (!r) {
        kfk_admin_report(a, "acl", create ? "create" : "delete", err);
        return KFK_EXIT_ERROR;
    }
    int rc = err ? KFK_EXIT_ERROR : 0;
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_acl_result *x = &r->results[i];
        if (x->err) {
            rc = KFK_EXIT_ERROR;
            kfk_err("acl", "%s: %s%s%s", create ? "create" : "delete", kafka_err_str(x->err), x->message ? ": " : "",
                    x->message ? x->message : "");
        }
        if (json) {
            printf("{\"error\":");
            kfk_json_err(stdout, x->err);
            kfk_json_member("message", x->message);
            printf(",\"deleted\":[");
            for (size_t j = 0; j < x->n_matched; j++) {
                printf("%s", j ? "," : "");
                acl_json(&x->matched[j]);
            }
            printf("]}\n");
        } else if (!x->err) {
            if (create)
                printf("created: "), acl_text(acl);
            for (size_t j = 0; j < x->n_matched; j++)
                printf("deleted: "), acl_text(&x->matched[j]);
        }
    }
    kafka_admin_acl_results_free(r);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: kfk acl list [FILTER] [--json]\n"
          "       kfk acl create --resource-type T --resource NAME --principal User:NAME --operation OP\n"
          "                      [--permission allow|deny] [--pattern literal|prefixed] [--host H] [--json]\n"
          "       kfk acl delete FILTER [--json]\n"
          "  FILTER: any of --resource-type, --resource, --pattern (also match, any), --principal, --host,\n"
          "          --operation, --permission (what is not given matches anything)\n"
          "  T: topic, group, cluster, transactional-id, delegation-token, user\n"
          "  OP: all, read, write, create, delete, alter, describe, cluster-action, describe-configs,\n"
          "      alter-configs, idempotent-write, create-tokens, describe-tokens\n\n",
          f);
    kfk_print_common_usage(f);
}

static int parse_args(int argc, char **argv, kfk_conf *conf, const char **sub, kafka_admin_acl *acl, bool *json)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"resource-type", required_argument, NULL, OPT_TYPE},
                                             {"resource", required_argument, NULL, OPT_RESOURCE},
                                             {"pattern", required_argument, NULL, OPT_PATTERN},
                                             {"principal", required_argument, NULL, OPT_PRINCIPAL},
                                             {"host", required_argument, NULL, OPT_HOST},
                                             {"operation", required_argument, NULL, OPT_OPERATION},
                                             {"permission", required_argument, NULL, OPT_PERMISSION},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"Jh", longopts};
    int c, status = 0, v = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        bool ok = true;
        switch (c) {
        case 'J':
        case OPT_JSON: *json = true; break;
        case OPT_TYPE: ok = lookup(RESOURCE_TYPES, "resource type", optarg, &v), acl->resource_type = v; break;
        case OPT_RESOURCE: acl->resource_name = optarg; break;
        case OPT_PATTERN: ok = lookup(PATTERNS, "pattern", optarg, &v), acl->pattern = v; break;
        case OPT_PRINCIPAL: acl->principal = optarg; break;
        case OPT_HOST: acl->host = optarg; break;
        case OPT_OPERATION: ok = lookup(OPERATIONS, "operation", optarg, &v), acl->operation = v; break;
        case OPT_PERMISSION: ok = lookup(PERMISSIONS, "permission", optarg, &v), acl->permission = v; break;
        case 'h': usage(stdout); return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
        if (!ok)
            return KFK_EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return KFK_EXIT_USAGE;
    }
    *sub = argv[optind];
    if (!strcmp(*sub, "create")) {
        if (!acl->permission)
            acl->permission = KAFKA_ACL_PERMISSION_ALLOW;
        if (!acl->pattern)
            acl->pattern = KAFKA_ACL_PATTERN_LITERAL;
        bool filter_only = acl->resource_type == KAFKA_ACL_RESOURCE_ANY || acl->pattern == KAFKA_ACL_PATTERN_ANY ||
                           acl->pattern == KAFKA_ACL_PATTERN_MATCH || acl->operation == KAFKA_ACL_OP_ANY ||
                           acl->permission == KAFKA_ACL_PERMISSION_ANY;
        if (!acl->resource_type || !acl->resource_name || !acl->principal || !acl->operation || filter_only) {
            fprintf(stderr, "kfk: acl create: needs --resource-type, --resource, --principal and --operation, "
                            "none of them 'any' (and --pattern literal or prefixed)\n");
            return KFK_EXIT_USAGE;
        }
    } else if (strcmp(*sub, "list") && strcmp(*sub, "delete")) {
        fprintf(stderr, "kfk: acl: unknown sub-command '%s'\n", *sub);
        return KFK_EXIT_USAGE;
    }
    return kfk_conf_check(conf);
}

int kfk_acl(int argc, char **argv, kfk_conf *conf)
{
    const char *sub = NULL;
    kafka_admin_acl acl = {0};
    bool json = false;
    int rc = parse_args(argc, argv, conf, &sub, &acl, &json);
    kafka_admin *a = rc == 0 ? kfk_admin_open(conf, "acl") : NULL;
    if (rc == 0 && !a)
        rc = KFK_EXIT_ERROR;
    if (a) {
        rc = !strcmp(sub, "list") ? run_list(a, conf, &acl, json) : run_change(a, conf, &acl, !strcmp(sub, "create"), json);
        kafka_admin_close(a);
    }
    return rc < 0 ? KFK_EXIT_OK : rc;
}
