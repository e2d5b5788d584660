/*
 * kfk — declarations shared by the administration verbs (built only when
 * libkafka has kafka/admin.h; see tools/kfk/CMakeLists.txt).
 */
#ifndef KFK_ADMIN_H
#define KFK_ADMIN_H

#include "kafka/admin.h"
#include "kfk.h"

/* Checks that a bootstrap broker answers (reporting why not), then
 * creates the admin client; NULL after printing the reason. */
kafka_admin *kfk_admin_open(const kfk_conf *conf, const char *verb);
/* Prints a failed call: "kfk: VERB: WHAT: error (details)". */
void kfk_admin_report(kafka_admin *a, const char *verb, const char *what, kafka_err err);

/* After option parsing: argv[optind] is the sub-command (*sub), the
 * arguments after it names[0..*n) (at most max, none empty); a usage
 * error otherwise (printed; usage(stderr) when there is no sub-command). */
int kfk_sub_and_names(int argc, char **argv, const char *verb, void (*usage)(FILE *), const char **sub,
                      const char **names, size_t max, size_t *n);

/* JSON helpers: an error as its name or null; a C string or null. */
void kfk_json_err(FILE *f, kafka_err err);
void kfk_json_cstr(FILE *f, const char *s);
/* On stdout, a member after the first of an object: ,"name":"value"
 * (null for NULL), and ,"error":NAME-or-null. */
void kfk_json_member(const char *name, const char *value);
void kfk_json_member_err(kafka_err err);

#endif
