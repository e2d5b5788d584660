/*
 * Read-committed filtering of one Fetch answer for one partition, as the
 * Java consumer does it: a producer enters the aborted set when a batch at
 * or after an aborted transaction's first offset (from the answer's
 * aborted-transactions list, sorted by first_offset) shows up; its
 * transactional batches are skipped while it is in the set; it leaves the
 * set at its next control batch (the abort marker). Control batches are
 * always skipped.
 *
 * Sans-I/O, no global state; one filter per partition walk, not
 * thread-safe. Used by kafka_reader and kafka_conn_read_batch alike.
 */
#ifndef KAFKA_PROTOCOL_TXN_FILTER_H
#define KAFKA_PROTOCOL_TXN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"
#include "protocol/gen/fetch.h"
#include "protocol/record_batch.h"

typedef struct kafka_txn_filter {
    const kafka_fetch_response_aborted_transaction *aborted; /* borrowed */
    int32_t n_aborted, idx;
    int64_t *pids; /* producers with an open aborted transaction */
    size_t n_pids, cap_pids;
} kafka_txn_filter;

/* Sorts a Fetch answer's aborted list by first_offset, in place (brokers
 * send it sorted; the filter relies on the order, so it is not trusted).
 * n <= 0 does nothing. */
void kafka_txn_filter_sort(kafka_fetch_response_aborted_transaction *aborted, int32_t n);

/* Starts a new walk over the batches of one partition's records with the
 * answer's aborted list (sorted; borrowed until the next reset or free;
 * n <= 0 = none). Keeps the filter's allocation. A zeroed filter is a
 * valid empty one. */
void kafka_txn_filter_reset(kafka_txn_filter *f, const kafka_fetch_response_aborted_transaction *aborted, int32_t n);

/* Sets *skip when batch b (the next batch of the walk, in offset order)
 * must not be delivered. Returns 0, or KAFKA_ERR_NOMEM (the set of open
 * aborted producers grows with the number of distinct producers). */
kafka_err kafka_txn_filter_skip(kafka_txn_filter *f, const kafka_record_batch *b, bool *skip);

/* Frees the filter's allocation (the filter stays usable, as if zeroed). */
void kafka_txn_filter_free(kafka_txn_filter *f);

#endif
