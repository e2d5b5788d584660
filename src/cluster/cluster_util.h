/* Small pure helpers of the cluster layer (unit-tested alone). */
#ifndef KAFKA_CLUSTER_UTIL_H
#define KAFKA_CLUSTER_UTIL_H

#include <stddef.h>

#include "kafka/conn.h"
#include "kafka/error.h"

/* Iterates a bootstrap list "h1:9092, h2:9092,[::1]:9092": entries are
 * separated by commas and/or spaces. */
typedef struct kafka_bootstrap_iter {
    const char *p;
} kafka_bootstrap_iter;

void kafka_bootstrap_iter_init(kafka_bootstrap_iter *it, const char *list);

/* Copies the next "host:port" into addr. Returns 0, KAFKA_ERR_NOT_FOUND at
 * the end, or KAFKA_ERR_INVALID_ARG for an entry that is not host:port
 * with a port in 1..65535 (or that does not fit in addr). */
kafka_err kafka_bootstrap_next(kafka_bootstrap_iter *it, char *addr, size_t addr_len);

#endif

/* ---- error classification: the one place for every layer ------------------ */

#include <stdbool.h>

/* The error means the cached metadata (leader, partition count) may be
 * stale: invalidate the topic and look the leader up again before
 * retrying. Includes a dropped connection (the broker may have gone with
 * its leadership). */
bool kafka_cluster_err_stale_metadata(kafka_err err);

/* A fetch error the application must hear of from its next read (the
 * reader still retries after backoff, in case it is fixed): fatal errors
 * (TLS, SASL, authorization: kafka_err_is_fatal) and Kafka errors that are
 * neither retriable nor a sign of stale metadata. */
bool kafka_cluster_err_for_reader(kafka_err err);
