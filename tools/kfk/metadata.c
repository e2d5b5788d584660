/*
 * kfk metadata — brokers, topics and partitions (leader, replicas, ISR),
 * as `kcat -L` prints them, or as one JSON document with --json.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kfk.h"

enum { OPT_JSON = 0x2000 };

typedef struct cluster_view {
    kafka_broker *brokers;
    size_t n_brokers;
    kafka_partition *parts;
    size_t n_parts;
    int32_t controller; /* -1 when the broker does not say */
    int32_t origin;     /* id of the broker that answered, -1 if unknown */
    const char *origin_addr;
} cluster_view;

static int cmp_partition(const void *a, const void *b)
{
    const kafka_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int32_t origin_id(const cluster_view *v)
{
    for (size_t i = 0; i < v->n_brokers; i++) {
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%" PRId32, v->brokers[i].host, v->brokers[i].port);
        if (!strcmp(addr, v->origin_addr))
            return v->brokers[i].id;
    }
    return -1;
}

/* Number of partitions of the topic starting at parts[i] (sorted). */
static size_t topic_run(const cluster_view *v, size_t i)
{
    size_t j = i;
    while (j < v->n_parts && !strcmp(v->parts[j].topic, v->parts[i].topic))
        j++;
    return j - i;
}

static void print_ids(FILE *f, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%" PRId32, i ? "," : "", ids[i]);
}

static void print_text(const cluster_view *v, const char *topic)
{
    size_t n_topics = 0;
    for (size_t i = 0; i < v->n_parts; i += topic_run(v, i))
        n_topics++;
    if (topic)
        printf("Metadata for %s (from broker %" PRId32 ": %s/%" PRId32 "):\n", topic, v->origin, v->origin_addr,
               v->origin);
    else
        printf("Metadata for all topics (from broker %" PRId32 ": %s/%" PRId32 "):\n", v->origin, v->origin_addr,
               v->origin);
    printf(" %zu brokers:\n", v->n_brokers);
    for (size_t i = 0; i < v->n_brokers; i++)
        printf("  broker %" PRId32 " at %s:%" PRId32 "%s\n", v->brokers[i].id, v->brokers[i].host, v->brokers[i].port,
               v->brokers[i].id == v->controller ? " (controller)" : "");
    printf(" %zu topics:\n", n_topics);
    for (size_t i = 0; i < v->n_parts;) {
        size_t run = topic_run(v, i);
        printf("  topic \"%s\" with %zu partitions:\n", v->parts[i].topic, run);
        for (size_t j = i; j < i + run; j++) {
            const kafka_partition *p = &v->parts[j];
            printf("    partition %" PRId32 ", leader %" PRId32 ", replicas: ", p->id, p->leader.id);
            print_ids(stdout, p->replicas, p->n_replicas);
            printf(", isrs: ");
            print_ids(stdout, p->isr, p->n_isr);
            if (p->err)
                printf(", %s", kafka_err_name(p->err));
            putchar('\n');
        }
        i += run;
    }
}

static void print_json(const cluster_view *v)
{
    printf("{\"origin_broker\":%" PRId32 ",\"controller\":%" PRId32 ",\"brokers\":[", v->origin, v->controller);
    for (size_t i = 0; i < v->n_brokers; i++) {
        const kafka_broker *b = &v->brokers[i];
        printf("%s{\"id\":%" PRId32 ",\"host\":", i ? "," : "", b->id);
        kfk_json_str(stdout, b->host, strlen(b->host));
        printf(",\"port\":%" PRId32 ",\"rack\":", b->port);
        kfk_json_str(stdout, b->rack, b->rack ? strlen(b->rack) : 0);
        putchar('}');
    }
    printf("],\"topics\":[");
    for (size_t i = 0; i < v->n_parts;) {
        size_t run = topic_run(v, i);
        printf("%s{\"name\":", i ? "," : "");
        kfk_json_str(stdout, v->parts[i].topic, strlen(v->parts[i].topic));
        printf(",\"partitions\":[");
        for (size_t j = i; j < i + run; j++) {
            const kafka_partition *p = &v->parts[j];
            printf("%s{\"partition\":%" PRId32 ",\"leader\":%" PRId32 ",\"replicas\":[", j > i ? "," : "", p->id,
                   p->leader.id);
            print_ids(stdout, p->replicas, p->n_replicas);
            printf("],\"isr\":[");
            print_ids(stdout, p->isr, p->n_isr);
            printf("],\"error\":");
            if (p->err)
                printf("\"%s\"", kafka_err_name(p->err));
            else
                printf("null");
            putchar('}');
        }
        printf("]}");
        i += run;
    }
    printf("]}\n");
}

static void usage(FILE *f)
{
    fputs("usage: kfk metadata [-t TOPIC] [--json]\n"
          "  -t, --topic TOPIC  only this topic (an error if it does not exist)\n"
          "      --json         one JSON document\n\n",
          f);
    kfk_print_common_usage(f);
}

/* Keeps only `topic`'s partitions (they are contiguous once sorted). */
static bool keep_topic(cluster_view *v, const char *topic)
{
    size_t i = 0;
    while (i < v->n_parts && strcmp(v->parts[i].topic, topic))
        i++;
    if (i == v->n_parts)
        return false;
    size_t run = topic_run(v, i);
    memmove(v->parts, v->parts + i, run * sizeof *v->parts);
    v->n_parts = run;
    return true;
}

int kfk_metadata(int argc, char **argv, kfk_conf *conf)
{
    static const struct option longopts[] = {{"topic", required_argument, NULL, 't'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"t:Jh", longopts};
    const char *topic = NULL;
    bool json = false;
    int c, status = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        switch (c) {
        case 't': topic = optarg; break;
        case 'J':
        case OPT_JSON: json = true; break;
        case 'h': usage(stdout); return KFK_EXIT_OK;
        default: return status ? status : KFK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kfk: metadata: unexpected argument '%s'\n", argv[optind]);
        return KFK_EXIT_USAGE;
    }
    if ((status = kfk_conf_check(conf)) != 0)
        return status;

    kafka_conn *conn;
    if (kfk_dial_bootstrap(conf, "metadata", &conn))
        return KFK_EXIT_ERROR;
    kafka_conn_set_timeout(conn, conf->timeout_ms);
    cluster_view v = {.controller = -1, .origin_addr = kafka_conn_address(conn)};
    kafka_err err = kafka_conn_brokers(conn, &v.brokers, &v.n_brokers);
    if (err)
        kfk_err("metadata", "brokers from %s: %s (%s)", v.origin_addr, kafka_err_str(err),
                kafka_conn_last_error(conn));
    if (!err)
        err = kfk_all_partitions(conn, "metadata", &v.parts, &v.n_parts);
    kafka_broker ctl;
    if (!err && kafka_conn_controller(conn, &ctl) == 0) /* optional: old brokers do not say */
        v.controller = ctl.id;
    int rc = KFK_EXIT_ERROR;
    if (!err) {
        v.origin = origin_id(&v);
        qsort(v.parts, v.n_parts, sizeof *v.parts, cmp_partition);
        if (topic && !keep_topic(&v, topic))
            kfk_err("metadata", "topic '%s' does not exist", topic);
        else {
            if (json)
                print_json(&v);
            else
                print_text(&v, topic);
            rc = fflush(stdout) == 0 ? KFK_EXIT_OK : KFK_EXIT_ERROR;
        }
    }
    kafka_free_brokers(v.brokers);
    kafka_free_partitions(v.parts);
    kafka_conn_close(conn);
    return rc;
}
