/*
 * Writer test fixtures: a writer on the test cluster with the tests'
 * defaults, and reading a partition back through the conn layer.
 */
#ifndef KT_WRITER_UTIL_H
#define KT_WRITER_UTIL_H

#include <stdint.h>

#include "kafka/message.h"
#include "kafka/writer.h"
#include "test_cluster.h"

/* A writer for topic on kt's brokers. cfg's other fields are kept; unset
 * backoffs become 20 / 200 ms, and without a log callback the writer logs
 * to stderr (debug level with WRITER_DEBUG set, else warnings). NULL on
 * failure (the reason is printed). */
kafka_writer *kt_writer_new(kt_cluster *kt, const char *topic, kafka_writer_config cfg);

typedef void (*kt_seen_fn)(void *priv, int32_t partition, int64_t offset, const kafka_message *m);

/* Reads partition p of topic from offset 0 to its end (the high-water mark
 * when called) with the conn layer, calling fn for each message. Returns
 * the number read, or -1 if a conn call failed. */
long kt_read_partition(kt_cluster *kt, const char *topic, int32_t p, kt_seen_fn fn, void *priv);

#endif
