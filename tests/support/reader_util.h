/*
 * Helpers of the group-reader tests: open a reader or fail the test with
 * its error text, read back the "m<i>" values the tests produce, count a
 * member's partitions, and an opt-in log (KT_LOG set in the environment).
 */
#ifndef KT_READER_UTIL_H
#define KT_READER_UTIL_H

#include <stdint.h>

#include "kafka/kafka.h"

/* kafka_reader_new, failing the test (cmocka fail_msg) with the error. */
kafka_reader *kt_reader_open(const kafka_reader_config *c);

/* i of a message whose value is "m<i>" (-1 when it is not a number). */
int kt_value_num(const kafka_message *m);

/* Partitions the reader holds now (stats.partitions). */
int32_t kt_reader_partitions(kafka_reader *r);

/* With KT_LOG set: sets c->log to a stderr logger at DEBUG, tagged with
 * tag (borrowed: must outlive the reader). Otherwise leaves c alone. */
void kt_reader_log_from_env(kafka_reader_config *c, const char *tag);

#endif
