/*
 * libkafka — kafka_conn: one connection to one broker (kafka-go's Conn).
 *
 * A conn frames the Kafka protocol over one stream (TCP, TLS or a
 * user-supplied transport, see kafka/dialer.h). On dial it negotiates API
 * versions (ApiVersions v3, falling back to v0 for brokers that answer
 * UNSUPPORTED_VERSION) and, when the dialer config asks for it, runs SASL.
 * Every later request uses the highest version both sides support; when
 * there is none the call fails with KAFKA_ERR_NO_COMMON_VERSION and
 * kafka_conn_last_error() names the API and both ranges.
 *
 * Failures that leave the byte stream in an unknown state (a truncated,
 * oversized, undecodable or out-of-order response, a timeout in the middle
 * of a frame, a transport error) close the conn: every later call returns
 * KAFKA_ERR_CLOSED and kafka_conn_last_error() keeps the first reason.
 * Kafka error codes in a response (OFFSET_OUT_OF_RANGE,
 * UNKNOWN_TOPIC_OR_PARTITION, ...) do not: the conn stays usable.
 *
 * Deadlines follow Go's net.Conn: absolute times in milliseconds since the
 * Unix epoch (CLOCK_REALTIME), 0 = none. A call blocked past its deadline
 * returns KAFKA_ERR_TIMEOUT. kafka_conn_set_timeout() is a convenience that
 * sets both deadlines to "now + timeout_ms".
 *
 * Thread safety: a conn is used by one thread at a time, like a socket,
 * with these exceptions, safe from any thread at any time:
 * kafka_conn_close() (it wakes a call blocked in another thread, which
 * returns KAFKA_ERR_CLOSED, and frees the conn when that call returns) and
 * the deadline setters. No call may start after kafka_conn_close().
 * A kafka_batch belongs to its conn and follows the same rule.
 *
 * Blocking: every call described as "one round trip" (or more) blocks
 * until the broker answers, the conn's read/write deadline passes
 * (KAFKA_ERR_TIMEOUT, which closes the conn) or kafka_conn_close() is
 * called from another thread (KAFKA_ERR_CLOSED). With no deadline set
 * (the default) such a call waits for as long as the broker stays silent:
 * set a deadline or close the conn to bound it. Calls not described so do
 * not touch the network.
 *
 * Ownership: arrays returned through kafka_conn_read_partitions,
 * kafka_conn_brokers and kafka_conn_api_versions are the caller's and are
 * freed with the matching kafka_free_* function; strings returned by
 * kafka_conn_address / kafka_conn_last_error / kafka_conn_controller are
 * the conn's. kafka_write_options, kafka_read_batch_config and
 * kafka_topic_config are plain values read during the call only; they
 * follow the ABI growth policy in kafka/kafka.h (zero = default, fields
 * only appended).
 */
#ifndef KAFKA_CONN_H
#define KAFKA_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compression.h"
#include "dialer.h"
#include "error.h"
#include "export.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafka_conn kafka_conn;
typedef struct kafka_batch kafka_batch;

/* A broker as reported by Metadata. Strings are NUL-terminated; rack may be
 * NULL. */
typedef struct kafka_broker {
    int32_t id;
    const char *host;
    int32_t port;
    const char *rack;
} kafka_broker;

/* A partition as reported by Metadata (kafka-go's Partition). `leader.id`
 * is -1 (and host NULL) when the partition has no leader. `err` is the
 * partition's Kafka error code (e.g. LEADER_NOT_AVAILABLE), 0 if none. */
typedef struct kafka_partition {
    const char *topic;
    int32_t id;
    kafka_broker leader;
    const int32_t *replicas;
    size_t n_replicas;
    const int32_t *isr;
    size_t n_isr;
    kafka_err err;
} kafka_partition;

/* One API a broker supports (from ApiVersions). */
typedef struct kafka_api_version {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kafka_api_version;

/* ---- dialing ------------------------------------------------------------ */

/* Connects to the broker at `address` ("host:port"; IPv6 as "[::1]:9092"),
 * negotiates API versions and authenticates when cfg asks for SASL.
 * `address` may be a bootstrap list "h1:9092,h2:9092": the addresses are
 * tried in order, each with an equal share of the time left, until one
 * connects (a Kafka error from a broker, e.g. SASL refused, stops the
 * search); the conn is to that broker, and on failure the error is the
 * last address's and kafka_dial_last_error() names every address tried.
 * cfg == NULL means defaults (plain TCP, client id "libkafka"); cfg is read
 * during the call only. Blocks up to timeout_ms (-1 = no limit).
 * On success *out is a conn that the caller closes with kafka_conn_close().
 * On failure *out is NULL and the error says why: TIMEOUT, TRANSPORT,
 * RESOLVE, TLS, SASL / SASL_AUTHENTICATION_FAILED, PROTOCOL, ...;
 * kafka_dial_last_error() gives the detailed text for the calling thread. */
KAFKA_API kafka_err kafka_dial(kafka_conn **out, const char *address, const kafka_dialer_config *cfg,
                               int timeout_ms);

/* Connects to the leader of topic/partition: asks the brokers in
 * `bootstrap` ("h1:9092,h2:9092", tried in order) for metadata, then dials
 * the leader. The conn is bound to the partition: write, read and offset
 * calls use it. Errors as kafka_dial(), plus the partition's Kafka error
 * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE) and NO_BROKERS when no
 * bootstrap broker answered. Blocks up to timeout_ms in total. */
KAFKA_API kafka_err kafka_dial_leader(kafka_conn **out, const char *bootstrap, const char *topic, int32_t partition,
                                      const kafka_dialer_config *cfg, int timeout_ms);

/* Connects to p->leader and binds the conn to p->topic / p->id (kafka-go's
 * DialPartition). `p` typically comes from kafka_conn_read_partitions(); it
 * is read during the call only. Errors and blocking as kafka_dial();
 * KAFKA_ERR_INVALID_ARG when the partition has no leader. */
KAFKA_API kafka_err kafka_dial_partition(kafka_conn **out, const kafka_partition *p, const kafka_dialer_config *cfg,
                                         int timeout_ms);

/* Detailed text of the last failed kafka_dial* call made by this thread
 * (thread-local; "" if none). Owned by libkafka; valid until the thread's
 * next kafka_dial* call or its exit. Never NULL; does not block. */
KAFKA_API const char *kafka_dial_last_error(void);

/* Closes the connection and frees the conn. Safe from any thread: a call
 * blocked on `c` in another thread wakes and returns KAFKA_ERR_CLOSED, and
 * the memory is released when that call has returned. NULL is a no-op.
 * Does not block (beyond a mutex). */
KAFKA_API void kafka_conn_close(kafka_conn *c);

/* ---- deadlines, errors, settings -------------------------------------- */

/* Sets the read and write deadline (ms since the Unix epoch, 0 = none).
 * Applies to calls that start later (a call already blocked keeps the
 * deadline it started with; use kafka_conn_close to stop it). A timeout
 * leaves the stream mid-frame, so it closes the conn. Thread-safe; does
 * not block. `c` must not be NULL. */
KAFKA_API void kafka_conn_set_deadline(kafka_conn *c, int64_t unix_ms);
KAFKA_API void kafka_conn_set_read_deadline(kafka_conn *c, int64_t unix_ms);
KAFKA_API void kafka_conn_set_write_deadline(kafka_conn *c, int64_t unix_ms);
/* Both deadlines = now + timeout_ms; timeout_ms < 0 clears them. Same
 * rules as kafka_conn_set_deadline. */
KAFKA_API void kafka_conn_set_timeout(kafka_conn *c, int timeout_ms);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME), for deadlines.
 * Thread-safe; does not block. */
KAFKA_API int64_t kafka_unix_ms(void);

/* Detailed text of the conn's last failure, e.g. "response for correlation
 * id 7 expected, got 9" or "API CreateTopics: broker supports v0-v4, client
 * v5-v7: no common version". Owned by the conn; valid until the next call
 * on it. Never NULL. */
KAFKA_API const char *kafka_conn_last_error(const kafka_conn *c);

/* Largest response frame accepted (default 100 MiB; max <= 0 restores
 * the default); a larger length prefix closes the conn with
 * KAFKA_ERR_TOO_LARGE before anything is allocated. Same threading rule
 * as other conn calls; does not block. */
KAFKA_API void kafka_conn_set_max_response_bytes(kafka_conn *c, int32_t max);

/* "host:port" of the broker as dialed. Owned by the conn; valid until
 * kafka_conn_close. Does not block. */
KAFKA_API const char *kafka_conn_address(const kafka_conn *c);

/* Binds the conn to a topic/partition (what kafka_dial_leader does) and
 * resets the offset to 0 (kafka-go's "first" by default: call
 * kafka_conn_seek to move). topic is copied. Does not check that this
 * broker leads the partition. Does not block. KAFKA_ERR_INVALID_ARG for a
 * NULL topic or a negative partition. */
KAFKA_API kafka_err kafka_conn_bind(kafka_conn *c, const char *topic, int32_t partition);

/* ---- API versions ------------------------------------------------------- */

/* Copies the broker's API version ranges (as received at dial) into a
 * newly allocated array: *out, *n. Free with kafka_free_api_versions()
 * (NULL is a no-op). Does not block. */
KAFKA_API kafka_err kafka_conn_api_versions(kafka_conn *c, kafka_api_version **out, size_t *n);
KAFKA_API void kafka_free_api_versions(kafka_api_version *v);

/* The version this conn uses for api_key: highest common one, or -1 (and
 * last_error says why) when there is none. Does not block. */
KAFKA_API int16_t kafka_conn_api_version_for(kafka_conn *c, int16_t api_key);

/* ---- producing ---------------------------------------------------------- */

/* Options of kafka_conn_write_messages; zero value = acks all, no
 * compression, 10 s broker-side timeout. */
typedef struct kafka_write_options {
    kafka_required_acks acks; /* zero value KAFKA_REQUIRE_ALL; KAFKA_REQUIRE_NONE
                                 sends no response and base offset is -1 */
    kafka_codec codec;        /* KAFKA_CODEC_NONE.. */
    int32_t timeout_ms; /* broker-side wait for acks; 0 = 10000 */
} kafka_write_options;

/* Writes msgs[0..n) as one record batch to the conn's bound
 * topic/partition (kafka_dial_leader / kafka_conn_bind), or, when the conn
 * is not bound, to msgs[0].topic / msgs[0].partition (every message then
 * goes there). One Produce round trip; blocks until the broker answers or
 * the write/read deadline passes. The bytes are copied: msgs may be freed
 * when the call returns. opts == NULL means defaults. On success
 * *base_offset (may be NULL) is the offset of msgs[0] (-1 with acks=0).
 * A Kafka error (e.g. UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
 * MESSAGE_TOO_LARGE) applies to all messages of the call. */
KAFKA_API kafka_err kafka_conn_write_messages(kafka_conn *c, const kafka_message *msgs, size_t n,
                                              const kafka_write_options *opts, int64_t *base_offset);

/* ---- consuming ---------------------------------------------------------- */

typedef struct kafka_read_batch_config {
    int32_t min_bytes;   /* 0 = 1 */
    int32_t max_bytes;   /* 0 = 1 MiB */
    int32_t max_wait_ms; /* broker-side wait for min_bytes; 0 = derived
                            from the read deadline (default 10 s), minus
                            a margin so the response beats the deadline */
    bool read_committed; /* isolation level READ_COMMITTED: the broker
                            stops at the last stable offset, and the batch
                            skips the records of aborted transactions below
                            it (from the Fetch answer's aborted list, as
                            the Java consumer does). Needs Fetch v4+
                            (Kafka 0.11+). Control records (transaction
                            markers) are skipped in both modes; the
                            batch's offset moves past skipped records. */
} kafka_read_batch_config;

/* Fetches from the conn's bound partition at the conn's offset
 * (kafka_conn_offset) and returns a batch iterator in *out, which the
 * caller must close with kafka_batch_close(). Blocks for one Fetch round
 * trip. The _with variant takes a config (NULL = defaults); the short
 * form uses min_bytes / max_bytes with the other fields at their
 * defaults. A Kafka error of the partition (OFFSET_OUT_OF_RANGE,
 * UNKNOWN_TOPIC_OR_PARTITION, ...) is returned directly and *out is NULL.
 * The conn must not be used for other calls until the batch is closed. */
KAFKA_API kafka_err kafka_conn_read_batch(kafka_conn *c, int32_t min_bytes, int32_t max_bytes, kafka_batch **out);
KAFKA_API kafka_err kafka_conn_read_batch_with(kafka_conn *c, const kafka_read_batch_config *cfg,
                                               kafka_batch **out);

/* Reads the next message of the batch into *m. The pointers in *m (topic,
 * key, value, headers) point into the batch and are valid until the next
 * kafka_batch_read_message or kafka_batch_close on it. Returns 0, or
 * KAFKA_ERR_END_OF_PARTITION when the batch has no more messages (then
 * close it and read another), or a decode error (CORRUPT, CRC_MISMATCH,
 * COMPRESSION, ...). Does not block. */
KAFKA_API kafka_err kafka_batch_read_message(kafka_batch *b, kafka_message *m);

/* Partition high-water mark reported by the Fetch. Does not block. */
KAFKA_API int64_t kafka_batch_high_water_mark(const kafka_batch *b);
/* Offset of the next message the batch will return (where reading
 * resumes); equals the fetch offset before the first read. Does not
 * block. */
KAFKA_API int64_t kafka_batch_offset(const kafka_batch *b);

/* Frees the batch and moves the conn's offset past the last message read
 * (kafka-go semantics). Returns the batch's first error, 0 if none
 * (reaching its end is not an error). NULL is a no-op returning 0. Does
 * not block. Messages read from the batch are invalid afterwards. */
KAFKA_API kafka_err kafka_batch_close(kafka_batch *b);

/* ---- offsets ------------------------------------------------------------ */

typedef enum kafka_seek_whence {
    KAFKA_SEEK_FIRST = 0,    /* first offset of the partition + offset */
    KAFKA_SEEK_ABSOLUTE = 1, /* offset */
    KAFKA_SEEK_LAST = 2,     /* last offset (the high-water mark) + offset */
    KAFKA_SEEK_CURRENT = 3,  /* current offset + offset */
    KAFKA_SEEK_RELATIVE = 3  /* alias of CURRENT */
} kafka_seek_whence;

/* Flag or'ed into whence: skip the range check (no ListOffsets round
 * trip for ABSOLUTE / CURRENT). */
#define KAFKA_SEEK_DONT_CHECK 0x100

/* Moves the conn's offset and returns the new one in *new_offset (may be
 * NULL). Checks that the target lies in [first, last] with ListOffsets
 * (one or two round trips) unless KAFKA_SEEK_DONT_CHECK is set; out of
 * range is KAFKA_ERR_OFFSET_OUT_OF_RANGE and leaves the offset unchanged.
 * KAFKA_ERR_STATE when the conn is not bound to a partition. */
KAFKA_API kafka_err kafka_conn_seek(kafka_conn *c, int64_t offset, int whence, int64_t *new_offset);

/* The conn's current offset (where the next read_batch starts). Does not
 * block. */
KAFKA_API int64_t kafka_conn_offset(const kafka_conn *c);

/* ListOffsets on the bound partition: first offset (log start), last
 * offset (high-water mark: the offset the next message will get), the
 * first offset whose timestamp is >= unix_ms, or both first and last.
 * One round trip each (read_offsets: two); the results go to the
 * caller's int64_t(s). */
KAFKA_API kafka_err kafka_conn_read_first_offset(kafka_conn *c, int64_t *out);
KAFKA_API kafka_err kafka_conn_read_last_offset(kafka_conn *c, int64_t *out);
KAFKA_API kafka_err kafka_conn_read_offset_at(kafka_conn *c, int64_t unix_ms, int64_t *out);
KAFKA_API kafka_err kafka_conn_read_offsets(kafka_conn *c, int64_t *first, int64_t *last);

/* ---- metadata and admin ------------------------------------------------- */

/* Partitions of the given topics (n_topics == 0: of every topic), via one
 * Metadata round trip. *out is one allocation holding the array and every
 * string it points to; free it with kafka_free_partitions(). A topic-level
 * Kafka error (e.g. UNKNOWN_TOPIC_OR_PARTITION) of any requested topic is
 * returned and *out is NULL. kafka_free_partitions(NULL) is a no-op. */
KAFKA_API kafka_err kafka_conn_read_partitions(kafka_conn *c, const char *const *topics, size_t n_topics,
                                               kafka_partition **out, size_t *n);
KAFKA_API void kafka_free_partitions(kafka_partition *p);

/* Brokers of the cluster (Metadata without topics; one round trip). *out
 * is one allocation holding the array and its strings; free it with
 * kafka_free_brokers() (NULL is a no-op). */
KAFKA_API kafka_err kafka_conn_brokers(kafka_conn *c, kafka_broker **out, size_t *n);
KAFKA_API void kafka_free_brokers(kafka_broker *b);

/* The cluster's controller (one Metadata round trip). *out's strings are
 * owned by the conn and valid until the next call on it. */
KAFKA_API kafka_err kafka_conn_controller(kafka_conn *c, kafka_broker *out);

/* One topic to create. num_partitions / replication_factor of -1 take the
 * broker's defaults (CreateTopics v4+). configs are name/value pairs
 * ("cleanup.policy", "compact"), n_configs of them. */
typedef struct kafka_topic_config {
    const char *topic;
    int32_t num_partitions;
    int16_t replication_factor;
    const char *const *config_names;
    const char *const *config_values;
    size_t n_configs;
} kafka_topic_config;

/* CreateTopics (send it to the controller: kafka_conn_controller). Blocks
 * for one round trip; timeout_ms is the broker-side wait (0 = 10 s).
 * Returns the first topic error (TOPIC_ALREADY_EXISTS, ...), 0 if all were
 * created; last_error names the topic. */
KAFKA_API kafka_err kafka_conn_create_topics(kafka_conn *c, const kafka_topic_config *topics, size_t n,
                                             int32_t timeout_ms);

/* DeleteTopics; same conventions. */
KAFKA_API kafka_err kafka_conn_delete_topics(kafka_conn *c, const char *const *topics, size_t n,
                                             int32_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_CONN_H */
