/*
 * libkafka — kafka_message, the unit that conns, writers and readers move.
 *
 * A message is a plain struct of views: libkafka never frees what a message
 * points to. When you write messages, the pointers are yours and need to
 * stay valid only for the duration of the call that takes them (the
 * library copies the bytes into its own buffers before returning). When
 * you read messages, the pointers point into the library's fetch buffer and
 * the reading call's documentation says how long they stay valid; copy the
 * bytes to keep them longer.
 *
 * Null versus empty: key == NULL is a null key (Kafka's "no key"); a
 * non-NULL key with key_len == 0 is an empty key. The same holds for value
 * (a NULL value is a tombstone on compacted topics) and for header values.
 *
 * Thread safety: a message is a plain value with no library state; it may
 * be shared between threads as long as nobody modifies it meanwhile.
 *
 * ABI: new fields are only ever appended at the end of these structs (the
 * policy in kafka/kafka.h). Zero a message before filling it (designated
 * initializers do that), so that fields added later read as "unset".
 */
#ifndef KAFKA_MESSAGE_H
#define KAFKA_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One record header. `key` is a string of key_len bytes (not necessarily
 * NUL-terminated); `value` may be NULL (null header value). */
typedef struct kafka_header {
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
} kafka_header;

/* Acknowledgements a write asks for, shared by kafka_writer and
 * kafka_conn_write_messages. The ZERO VALUE IS "ALL" (every in-sync
 * replica): kafka-go's zero value, RequireNone, makes the broker send no
 * answer at all and loses data silently; libkafka's zero value is the safe
 * one. */
typedef enum kafka_required_acks {
    KAFKA_REQUIRE_ALL = 0, /* acks=-1 (default) */
    KAFKA_REQUIRE_ONE = 1, /* acks=1: the leader only */
    KAFKA_REQUIRE_NONE = 2 /* acks=0: no answer; messages complete when sent,
                              with offset -1; a writer then disables
                              idempotence */
} kafka_required_acks;

/* Sentinel for "no timestamp given": the writer stamps the current time. */
#define KAFKA_TIMESTAMP_NONE INT64_C(-1)

/* kafka_message.flags: the writer sends the message to
 * kafka_message.partition instead of asking the balancer. Partition 0 is
 * a valid partition, so the partition field alone cannot say "chosen":
 * without this bit (the zero value) the field is ignored on writes, as it
 * always was. A partition the topic does not have fails that message with
 * KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION (after one metadata refresh, in
 * case the topic has just grown). Conns bound to a partition ignore it. */
#define KAFKA_MSG_PARTITION_SET UINT32_C(0x1)

typedef struct kafka_message {
    /* Topic and partition. For writes through a conn bound to a partition
     * (kafka_dial_leader) these are ignored; a writer honours `partition`
     * only with KAFKA_MSG_PARTITION_SET in `flags`; for reads they are
     * filled in.
     * `topic` is NUL-terminated when filled by the library. */
    const char *topic;
    int32_t partition;
    /* Offset: filled in on reads, and on writes where the broker reports
     * it; ignored as input. */
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const kafka_header *headers;
    size_t n_headers;
    /* Milliseconds since the Unix epoch. On writes, 0 or
     * KAFKA_TIMESTAMP_NONE mean "now". On reads, the record's timestamp
     * (create time or log-append time, as the topic is configured). */
    int64_t timestamp_ms;
    /* KAFKA_MSG_* bits; 0 (the zero value) asks for nothing special.
     * Reads set it to 0. (Appended after 0.1.0.) */
    uint32_t flags;
    /* The application's own pointer, never read or freed by libkafka: a
     * kafka_writer hands it back with this message to the completion
     * callback (every outcome: delivered, failed, failed at close), so
     * that a delivery report can be matched to its request. Reads set it
     * to NULL. (Appended after 0.1.0.) */
    void *opaque;
} kafka_message;

/* Deep copy of *src into *dst (one allocation holding topic, key, value
 * and headers), to keep a read message past its lifetime (see
 * kafka/reader.h and kafka/conn.h). Free with kafka_message_free; the
 * copy's `headers` pointer is that allocation (even with n_headers == 0),
 * so do not change it. NOMEM on failure (*dst zeroed). Does not block.
 * Defined with the reader (src/reader/reader.c). */
KAFKA_API kafka_err kafka_message_copy(kafka_message *dst, const kafka_message *src);

/* Frees what kafka_message_copy allocated and zeroes *m. Only for copies. */
KAFKA_API void kafka_message_free(kafka_message *m);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_MESSAGE_H */
