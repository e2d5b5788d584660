/*
 * Running kcat from tests (interop: what libkafka writes kcat must read, and
 * the reverse). kcat is run with fork/exec, never through a shell, with its
 * stdin fed from memory and stdout/stderr captured, under a timeout after
 * which it is killed, so a test never hangs on it.
 *
 * The kcat binary is $KCAT if set, else "kcat" (then "kafkacat") on PATH.
 * Not thread-safe with respect to SIGPIPE disposition (set to ignored on
 * first use if it was the default).
 */
#ifndef KAFKA_TEST_KCAT_H
#define KAFKA_TEST_KCAT_H

#include <stddef.h>

/* Full path of the kcat binary, or NULL if none was found. Looked up on
 * the first call ($KCAT read then); static storage. Thread-safe. */
const char *kt_kcat_path(void);

/* Captured output of one kcat run; free with kt_kcat_result_free(). */
typedef struct kt_kcat_result {
    int status;     /* exit status 0..255; -1 if it timed out, was killed by a
                       signal, or could not be started */
    char *out;      /* stdout, NUL-terminated (never NULL after a run) */
    size_t out_len; /* bytes in out, excluding the NUL */
    char *err;      /* stderr, NUL-terminated (never NULL after a run) */
    size_t err_len;
} kt_kcat_result;

/* Runs kcat with args (NULL-terminated, without the program name), writes
 * stdin_len bytes of stdin_data to its stdin (NULL/0: empty stdin) and then
 * closes it, and collects stdout/stderr (each capped at 64 MB, more is
 * dropped) until it exits or timeout_ms passes (then SIGKILL, status -1).
 * Returns res->status; res is always filled and must be freed. */
int kt_kcat(const char *const args[], const char *stdin_data, size_t stdin_len, int timeout_ms,
            kt_kcat_result *res);

void kt_kcat_result_free(kt_kcat_result *res);

/* Produces the lines of `data` (newline-separated; a final newline is
 * optional) to topic/partition (partition -1: kcat's random partitioner),
 * compressed with codec ("none", "gzip", "snappy", "lz4", "zstd"; NULL =
 * none). If key_delim is non-NULL, each line is "key<key_delim>value".
 * Waits for delivery (kcat flushes before exiting); 60 s timeout.
 * Returns kcat's exit status (0 = all delivered) or -1. */
int kt_kcat_produce(const char *bootstrap, const char *topic, int partition, const char *codec,
                    const char *data, size_t len, const char *key_delim, kt_kcat_result *res);

/* Consumes up to `count` messages from topic/partition starting at the
 * first offset, stopping early at the end of the partition (kcat -e), and
 * prints each with kcat's -f `format` (NULL = "%s\n", the value per line;
 * "%k\t%s\n" gives key TAB value). 60 s timeout. Returns kcat's exit
 * status or -1; the messages are in res->out. */
int kt_kcat_consume(const char *bootstrap, const char *topic, int partition, int count,
                    const char *format, kt_kcat_result *res);

#endif
