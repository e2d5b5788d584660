/*
 * kafka-mock's control language on stdin (the commands of
 * tests/broker/README.md that kafka_mock supports, plus a few of its own):
 * one command per line, one answer line each: "ok", "ok <data>" or
 * "err <reason>". Not thread-safe (one reader of stdin).
 */
#ifndef KAFKA_MOCK_COMMANDS_H
#define KAFKA_MOCK_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "kafka/mock.h"

/* Runs one command line (no newline) against m and writes the answer
 * (without newline) to reply. Returns true when the command was "quit". */
bool kmock_command(kafka_mock *m, const char *line, char *reply, size_t reply_len);

/* Parses an API name ("Produce") or number; -1 when unknown. */
int kmock_parse_api(const char *s);

/* Parses an error name (Kafka's or librdkafka's) or number into *err;
 * false when unknown. */
bool kmock_parse_error(const char *s, int *err);

#endif
