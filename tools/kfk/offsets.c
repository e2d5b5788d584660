/*
 * kfk offsets / kfk delete-records — a topic's offsets (start and end of
 * each partition, or the offset at a time) and deleting the records before
 * an offset, on kafka_admin. Both take --json.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kfk_admin.h"

enum { OPT_JSON = 0x2000, OPT_AT, OPT_BEFORE };

typedef struct offsets_opts {
    const char *topic;
    int32_t partition; /* -1 = every partition */
    const char *at;     /* offsets: earliest | latest | max | @ms; NULL = start and end */
    const char *before; /* delete-records: OFFSET | end */
    bool json;
} offsets_opts;

static int parse_args(int argc, char **argv, kfk_conf *conf, offsets_opts *o, bool deleting)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"partition", required_argument, NULL, 'p'},
                                             {"at", required_argument, NULL, OPT_AT},
                                             {"before", required_argument, NULL, OPT_BEFORE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const kfk_verb_opts vo = {"Jp:h", longopts};
    int c, status = 0;
    while ((c = kfk_getopt(argc, argv, &vo, conf, &status)) != -1) {
        switch (c) {
        case 'J':
        case OPT_JSON: o->json = true; break;
        case 'p':
            if (!kfk_parse_i32(optarg, "partition", 0, INT32_MAX, &o->partition))
                return KFK_EXIT_USAGE;
            break;
        case OPT_AT: o->at = optarg; break;
        case OPT_BEFORE: o->before = optarg; break;
        case 'h':
            printf("usage: kfk offsets TOPIC [-p N] [--at earliest|latest|max|@MS] [--json]\n"
                   "       kfk delete-records TOPIC [-p N] --before OFFSET|end [--json]\n\n");
            kfk_print_common_usage(stdout);
            return -1;
        default: return status ? status : KFK_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "kfk: %s: expected one TOPIC\n", deleting ? "delete-records" : "offsets");
        return KFK_EXIT_USAGE;
    }
    o->topic = argv[optind];
    if (deleting ? (!o->before || o->at) : o->before != NULL) {
        fprintf(stderr, "kfk: %s\n", deleting ? "delete-records: --before OFFSET|end is required (and --at is not "
                                                "an option here)"
                                              : "offsets: --before belongs to delete-records");
        return KFK_EXIT_USAGE;
    }
    return kfk_conf_check(conf);
}

static bool parse_at(const char *at, int64_t *ts)
{
    if (!strcmp(at, "earliest") || !strcmp(at, "beginning"))
        *ts = KAFKA_ADMIN_OFFSET_EARLIEST;
    else if (!strcmp(at, "latest") || !strcmp(at, "end"))
        *ts = KAFKA_ADMIN_OFFSET_LATEST;
    else if (!strcmp(at, "max"))
        *ts = KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP;
    else if (at[0] == '@')
        return kfk_parse_i64(at + 1, "--at timestamp", 0, INT64_MAX, ts);
    else {
        fprintf(stderr, "kfk: offsets: bad --at '%s' (earliest, latest, max or @MS)\n", at);
        return false;
    }
    return true;
}

/* Per-partition errors are printed; returns whether there were any. */
static bool report_items(const kafka_admin_offsets *r, const char *verb)
{
    bool any = false;
    for (size_t i = 0; i < r->n; i++)
        if (r->offsets[i].err) {
            any = true;
            kfk_err(verb, "%s [%" PRId32 "]: %s", r->offsets[i].topic, r->offsets[i].partition,
                    kafka_err_str(r->offsets[i].err));
        }
    return any;
}

/* Start and end of every partition: two ListOffsets calls. */
static int start_and_end(kafka_admin *a, const kfk_conf *conf, const offsets_opts *o)
{
    kafka_admin_tp tp = {.topic = o->topic, .partition = o->partition};
    kafka_admin_offsets *first = NULL, *last = NULL;
    kafka_err err = kafka_admin_list_offsets(a, &tp, 1, KAFKA_ADMIN_OFFSET_EARLIEST, conf->timeout_ms, &first);
    if (first && !err)
        err = kafka_admin_list_offsets(a, &tp, 1, KAFKA_ADMIN_OFFSET_LATEST, conf->timeout_ms, &last);
    int rc = 0;
    if (!first || !last || first->n != last->n) {
        kfk_admin_report(a, "offsets", o->topic, err ? err : KAFKA_ERR_PROTOCOL);
        rc = KFK_EXIT_ERROR;
    } else {
        if (o->json) {
            printf("{\"topic\":");
            kfk_json_cstr(stdout, o->topic);
            printf(",\"partitions\":[");
        }
        for (size_t i = 0; i < first->n; i++) {
            const kafka_admin_offset *s = &first->offsets[i], *e = &last->offsets[i];
            kafka_err pe = s->err ? s->err : e->err;
            if (o->json) {
                printf("%s{\"partition\":%" PRId32 ",\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"error\":", i ? "," : "",
                       s->partition, s->offset, e->offset);
                kfk_json_err(stdout, pe);
                putchar('}');
            } else if (!pe) {
                printf("%s\t%" PRId32 "\tstart %" PRId64 "\tend %" PRId64 "\n", s->topic, s->partition, s->offset,
                       e->offset);
            }
        }
        if (o->json)
            printf("]}\n");
        bool item_errors = report_items(first, "offsets");
        item_errors |= report_items(last, "offsets");
        if (item_errors || err)
            rc = KFK_EXIT_ERROR;
    }
    kafka_admin_offsets_free(first);
    kafka_admin_offsets_free(last);
    return rc;
}

static int offsets_at(kafka_admin *a, const kfk_conf *conf, const offsets_opts *o, int64_t ts)
{
    kafka_admin_tp tp = {.topic = o->topic, .partition = o->partition};
    kafka_admin_offsets *r = NULL;
    kafka_err err = kafka_admin_list_offsets(a, &tp, 1, ts, conf->timeout_ms, &r);
    if (!r) {
        kfk_admin_report(a, "offsets", o->topic, err);
        return KFK_EXIT_ERROR;
    }
    if (o->json) {
        printf("{\"topic\":");
        kfk_json_cstr(stdout, o->topic);
        printf(",\"partitions\":[");
    }
    for (size_t i = 0; i < r->n; i++) {
        const kafka_admin_offset *p = &r->offsets[i];
        if (o->json) {
            printf("%s{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",\"error\":",
                   i ? "," : "", p->partition, p->offset, p->timestamp);
            kfk_json_err(stdout, p->err);
            putchar('}');
        } else if (!p->err) {
            printf("%s\t%" PRId32 "\t%" PRId64 "\n", p->topic, p->partition, p->offset);
        }
    }
    if (o->json)
        printf("]}\n");
    bool item_errors = report_items(r, "offsets");
    kafka_admin_offsets_free(r);
    return err || item_errors ? KFK_EXIT_ERROR : 0;
}

int kfk_offsets(int argc, char **argv, kfk_conf *conf)
{
    offsets_opts o = {.partition = -1};
    int rc = parse_args(argc, argv, conf, &o, false);
    int64_t ts = 0;
    if (rc == 0 && o.at && !parse_at(o.at, &ts))
        rc = KFK_EXIT_USAGE;
    kafka_admin *a = rc == 0 ? kfk_admin_open(conf, "offsets") : NULL;
    if (rc == 0 && !a)
        rc = KFK_EXIT_ERROR;
    if (a) {
        rc = o.at ? offsets_at(a, conf, &o, ts) : start_and_end(a, conf, &o);
        kafka_admin_close(a);
    }
    return rc < 0 ? KFK_EXIT_OK : rc;
}

int kfk_delete_records(int argc, char **argv, kfk_conf *conf)
{
    offsets_opts o = {.partition = -1};
    int rc = parse_args(argc, argv, conf, &o, true);
    int64_t before = -1; /* "end": everything */
    if (rc == 0 && strcmp(o.before, "end") && !kfk_parse_i64(o.before, "--before offset", 0, INT64_MAX, &before))
        rc = KFK_EXIT_USAGE;
    int32_t *ids = NULL;
    size_t n = 1;
    if (rc == 0 && o.partition < 0 && kfk_topic_partitions(conf, "delete-records", o.topic, &ids, &n))
        rc = KFK_EXIT_ERROR;
    kafka_admin *a = rc == 0 ? kfk_admin_open(conf, "delete-records") : NULL;
    if (rc == 0 && !a)
        rc = KFK_EXIT_ERROR;
    kafka_admin_offset_spec *specs = a ? calloc(n, sizeof *specs) : NULL;
    if (a && !specs)
        rc = KFK_EXIT_ERROR;
    if (specs) {
        for (size_t i = 0; i < n; i++)
            specs[i] = (kafka_admin_offset_spec){.topic = o.topic, .partition = ids ? ids[i] : o.partition,
                                                 .offset = before};
        kafka_admin_offsets *r = NULL;
        kafka_err err = kafka_admin_delete_records(a, specs, n, conf->timeout_ms, &r);
        if (!r) {
            kfk_admin_report(a, "delete-records", o.topic, err);
            rc = KFK_EXIT_ERROR;
        } else {
            if (o.json) {
                printf("{\"topic\":");
                kfk_json_cstr(stdout, o.topic);
                printf(",\"partitions\":[");
            }
            for (size_t i = 0; i < r->n; i++) {
                const kafka_admin_offset *p = &r->offsets[i];
                if (o.json) {
                    printf("%s{\"partition\":%" PRId32 ",\"low_watermark\":%" PRId64 ",\"error\":", i ? "," : "",
                           p->partition, p->offset);
                    kfk_json_err(stdout, p->err);
                    putchar('}');
                } else if (!p->err) {
                    printf("%s\t%" PRId32 "\tnew start %" PRId64 "\n", p->topic, p->partition, p->offset);
                }
            }
            if (o.json)
                printf("]}\n");
            rc = report_items(r, "delete-records") || err ? KFK_EXIT_ERROR : 0;
            kafka_admin_offsets_free(r);
        }
    }
    free(specs);
    free(ids);
    kafka_admin_close(a);
    return rc < 0 ? KFK_EXIT_OK : rc;
}
