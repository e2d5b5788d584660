/*
 * kfk — the libkafka command-line tool: produce, consume and inspect a
 * Kafka cluster (kcat's workflows), see kfk(1).
 *
 *   kfk [connection options] VERB [verb options and arguments]
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kfk.h"

volatile sig_atomic_t kfk_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    kfk_interrupted = 1;
}

typedef struct verb {
    const char *name;
    int (*run)(int argc, char **argv, kfk_conf *conf);
    const char *summary;
} verb;

static const verb VERBS[] = {
    {"produce", kfk_produce, "write lines of stdin or files to a topic"},
    {"consume", kfk_consume, "print the messages of a topic (every partition, or a group's)"},
    {"metadata", kfk_metadata, "list brokers, topics and partitions"},
#ifdef KFK_HAVE_ADMIN
    {"topic", kfk_topic, "list, describe, create, delete topics; alter their configs"},
    {"group", kfk_group, "list, describe, delete consumer groups; their lag; reset their offsets"},
    {"offsets", kfk_offsets, "start and end offsets of a topic's partitions, or the offsets at a time"},
    {"delete-records", kfk_delete_records, "delete the records before an offset"},
    {"acl", kfk_acl, "list, create, delete ACLs"},
#endif
};

/* Verbs this build lacks (administration needs libkafka's kafka_admin):
 * named so that a user gets a clear answer rather than "unknown verb". */
static const char *const NOT_YET[] = {
#ifndef KFK_HAVE_ADMIN
    "topic", "group", "offsets", "delete-records", "acl",
#endif
    NULL};

static void usage(FILE *f)
{
    fputs("usage: kfk [connection options] VERB [options] [arguments]\n\nVerbs:\n", f);
    for (size_t i = 0; i < sizeof VERBS / sizeof VERBS[0]; i++)
        fprintf(f, "  %-10s %s\n", VERBS[i].name, VERBS[i].summary);
    fputs("\n'kfk VERB --help' describes a verb. See kfk(1).\n\n", f);
    kfk_print_common_usage(f);
}

int main(int argc, char **argv)
{
    static const struct option top_long[] = {{"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    /* "+": stop at the verb; the verb parses the rest. */
    static const kfk_verb_opts top = {"+hV", top_long};
    kfk_conf conf;
    kfk_conf_init(&conf);
    int status = 0, c;
    while ((c = kfk_getopt(argc, argv, &top, &conf, &status)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return KFK_EXIT_OK;
        }
        if (c == 'V') {
            printf("kfk (libkafka %s)\n", kafka_version());
            return KFK_EXIT_OK;
        }
        kfk_conf_free(&conf);
        return status ? status : KFK_EXIT_USAGE;
    }
    if (optind >= argc) {
        usage(stderr);
        kfk_conf_free(&conf);
        return KFK_EXIT_USAGE;
    }
    int verb_at = optind;
    const char *name = argv[verb_at];
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = -1;
    for (size_t i = 0; i < sizeof VERBS / sizeof VERBS[0]; i++)
        if (!strcmp(name, VERBS[i].name)) {
            /* The verb sees argv[0] = its name; optind = 0 restarts
             * glibc's getopt (permuting, so options may follow
             * arguments). */
            optind = 0;
            rc = VERBS[i].run(argc - verb_at, argv + verb_at, &conf);
            break;
        }
    if (rc < 0) {
        bool later = false;
        for (size_t i = 0; NOT_YET[i]; i++)
            later |= !strcmp(name, NOT_YET[i]);
        if (later)
            fprintf(stderr, "kfk: '%s' is not implemented yet\n", name);
        else {
            fprintf(stderr, "kfk: unknown verb '%s'\n\n", name);
            usage(stderr);
        }
        rc = later ? KFK_EXIT_ERROR : KFK_EXIT_USAGE;
    }
    kfk_conf_free(&conf);
    return rc;
}
