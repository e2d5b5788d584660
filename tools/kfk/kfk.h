/*
 * kfk — the libkafka command-line tool (a kcat replacement). Declarations
 * shared by its files; each file is one concern:
 *
 *   main.c      verb dispatch, usage, exit codes
 *   conf.c      connection settings: flags, -F file, -X key=value
 *   args.c      option parsing shared by every verb, number parsing
 *   cluster.c   bootstrap dialing, metadata and offset look-ups
 *   json.c      JSON string output
 *   json_in.c   JSON input (produce --json)
 *   format.c    how a consumed message is printed (-f, --json, default)
 *   progress.c  rate and progress on stderr when it is a terminal
 *   produce.c, consume.c, metadata.c: the verbs
 *   admin.c     what the administration verbs share (kfk_admin.h)
 *   topic.c, group.c, offsets.c, acl.c: the administration verbs
 *
 * kfk is a single-process tool: the few globals below (the interrupt flag)
 * are the program's, not the library's.
 */
#ifndef KFK_H
#define KFK_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka/kafka.h"

/* Exit codes (documented in kfk.1). */
enum {
    KFK_EXIT_OK = 0,
    KFK_EXIT_ERROR = 1, /* a broker, network or data error */
    KFK_EXIT_USAGE = 2  /* bad command line or config file */
};

/* ---- conf.c: connection settings ----------------------------------------- */

typedef struct kfk_conf {
    const char *brokers;
    kafka_dialer_config dialer;
    int timeout_ms; /* bound on each metadata / offset look-up */
    bool verbose;   /* library log lines on stderr */
    /* security.protocol as given (NULL: derived from the other settings) */
    const char *protocol;
    bool tls_asked; /* --tls or an ssl.* setting */
    char **owned;   /* copies of every value set (freed by kfk_conf_free) */
    size_t n_owned;
} kfk_conf;

/* Sets the defaults (no brokers, plain TCP, client id "kfk", 10 s). */
void kfk_conf_init(kfk_conf *c);
/* Applies one "key=value" setting (-X, or a line of a -F file). Returns 0,
 * or prints the reason on stderr and returns KFK_EXIT_USAGE. */
int kfk_conf_set(kfk_conf *c, const char *kv);
/* Reads a file of key=value lines (# comments, blank lines allowed). */
int kfk_conf_load(kfk_conf *c, const char *path);
/* Checks the settings once all options are read and settles TLS / SASL
 * from security.protocol (brokers given, a SASL user where the mechanism
 * needs one, ...). */
int kfk_conf_check(kfk_conf *c);
void kfk_conf_free(kfk_conf *c);
/* Logs library messages on stderr (with -v). */
void kfk_log_stderr(void *privdata, kafka_log_level level, const char *msg);

/* ---- args.c: options shared by every verb ---------------------------------- */

/* A verb's own options: getopt_long short string and long table (ended by
 * a zero entry). The common connection options are added to them. */
typedef struct kfk_verb_opts {
    const char *shortopts;
    const struct option *longopts;
} kfk_verb_opts;

/* Like getopt_long over argv, with the common options (-b -F -X -v
 * --tls ...) handled into `conf`: returns the verb's option character, -1
 * at the end, or '?' after printing the reason for a bad option. */
int kfk_getopt(int argc, char **argv, const kfk_verb_opts *vo, kfk_conf *conf, int *status);
/* Usage text of the common options, for each verb's help. */
void kfk_print_common_usage(FILE *f);

/* Strict number parsing: the whole string, in range; prints "kfk: bad
 * WHAT 'S'" and returns false otherwise. */
bool kfk_parse_i32(const char *s, const char *what, int32_t min, int32_t max, int32_t *out);
bool kfk_parse_i64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out);

/* Prints "kfk: VERB: text" on stderr. */
void kfk_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cluster.c: dialing and look-ups -------------------------------------- */

/* Dials the bootstrap brokers in order until one answers. On failure prints
 * every broker's error (e.g. "connect 127.0.0.1:1: Connection refused")
 * and returns the last error. */
kafka_err kfk_dial_bootstrap(const kfk_conf *conf, const char *verb, kafka_conn **out);

/* Partitions of every topic (Metadata for all topics: asking for one
 * topic by name would create it on brokers with auto topic creation),
 * within the deadline set on c. Free with kafka_free_partitions. */
kafka_err kfk_all_partitions(kafka_conn *c, const char *verb, kafka_partition **out, size_t *n);

/* The partition ids of `topic` in ascending order (*ids malloc'ed, free
 * it). A topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION, with a
 * message printed. */
kafka_err kfk_topic_partitions(const kfk_conf *conf, const char *verb, const char *topic, int32_t **ids,
                               size_t *n);

/* Offsets of partitions, from their leaders: one metadata look-up, then
 * one connection per leader broker, reused for its partitions. */
#define KFK_MAX_LEADERS 64
typedef struct kfk_offset_lookup {
    const kfk_conf *conf;
    const char *verb;
    kafka_partition *parts; /* every topic's */
    size_t n_parts;
    int32_t leaders[KFK_MAX_LEADERS];
    kafka_conn *conns[KFK_MAX_LEADERS];
    size_t n_conns;
} kfk_offset_lookup;

kafka_err kfk_offsets_begin(kfk_offset_lookup *l, const kfk_conf *conf, const char *verb);
/* first (log start), last (high-water mark) and, when at_ms >= 0, the
 * first offset whose timestamp is >= at_ms (the high-water mark if none)
 * in *at. Falls back to a fresh leader look-up when the cached route
 * fails; prints the reason on failure. */
kafka_err kfk_offsets_get(kfk_offset_lookup *l, const char *topic, int32_t partition, int64_t at_ms,
                          int64_t *first, int64_t *last, int64_t *at);
void kfk_offsets_end(kfk_offset_lookup *l);

/* ---- json.c ---------------------------------------------------------------- */

/* Writes bytes as a JSON string literal (quotes included); NULL as null.
 * Control characters are escaped; bytes that are not valid UTF-8 are
 * written as \u00XX (their Latin-1 reading), so the output always parses. */
void kfk_json_str(FILE *f, const void *p, size_t len);

/* Parses one JSON object (the shape consume --json writes: key, value,
 * timestamp, headers; other members ignored) into *m. Strings are decoded
 * into buf (at least len bytes), headers into hs (max_headers of them);
 * m points into both. Returns false with a reason in *err. */
bool kfk_json_message(const char *text, size_t len, char *buf, kafka_header *hs, size_t max_headers,
                      kafka_message *m, const char **err);

/* ---- format.c: printing consumed messages ---------------------------------- */

typedef enum kfk_out_mode { KFK_OUT_DEFAULT, KFK_OUT_FORMAT, KFK_OUT_JSON } kfk_out_mode;

typedef struct kfk_format {
    kfk_out_mode mode;
    const char *fmt;       /* KFK_OUT_FORMAT: kcat's -f syntax */
    char *key_delim; /* KFK_OUT_DEFAULT: print key + key_delim first */
    size_t key_delim_len;
    char *msg_delim; /* KFK_OUT_DEFAULT: after each message ("\n") */
    size_t msg_delim_len;
    bool null_as_word;     /* -Z: print null key / value as "NULL" */
} kfk_format;

/* Checks a -f string (unknown %x or a trailing \ are usage errors). */
bool kfk_format_check(const char *fmt);
/* Prints one message to f as the format says. */
void kfk_format_message(FILE *f, const kfk_format *fm, const kafka_message *m);

/* Expands \n \t \r \0 \\ \xHH in a delimiter given on the command line,
 * into a new string (*len bytes; NUL-terminated too). */
char *kfk_unescape(const char *s, size_t *len);

/* ---- progress.c ------------------------------------------------------------ */

typedef struct kfk_progress {
    bool on;          /* stderr is a terminal */
    const char *what; /* "produced" / "consumed" */
    int64_t start_ms, last_ms;
    int64_t count, bytes;
} kfk_progress;

void kfk_progress_start(kfk_progress *p, const char *what);
/* Counts messages; redraws the line at most every 500 ms. Thread-safe only
 * under the caller's lock. */
void kfk_progress_add(kfk_progress *p, int64_t messages, int64_t bytes);
/* Clears the progress line (before a final summary). */
void kfk_progress_end(kfk_progress *p);

/* ---- interrupts ----------------------------------------------------------- */

/* Set by SIGINT / SIGTERM; long-running verbs poll it and stop cleanly. */
extern volatile sig_atomic_t kfk_interrupted;

/* ---- verbs ----------------------------------------------------------------- */

int kfk_produce(int argc, char **argv, kfk_conf *conf);
int kfk_consume(int argc, char **argv, kfk_conf *conf);
int kfk_metadata(int argc, char **argv, kfk_conf *conf);
/* Administration verbs (kfk_admin.h; only when libkafka has kafka/admin.h,
 * KFK_HAVE_ADMIN). */
int kfk_topic(int argc, char **argv, kfk_conf *conf);
int kfk_group(int argc, char **argv, kfk_conf *conf);
int kfk_offsets(int argc, char **argv, kfk_conf *conf);
int kfk_delete_records(int argc, char **argv, kfk_conf *conf);
int kfk_acl(int argc, char **argv, kfk_conf *conf);

#endif /* KFK_H */
