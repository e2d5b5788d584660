/*
 * libkafka — error codes.
 *
 * Every fallible libkafka call returns a kafka_err: 0 is success. Positive
 * values are Kafka protocol error codes with Kafka's own numbers and names
 * (KAFKA_ERR_NOT_LEADER_OR_FOLLOWER == 6); negative values are raised by the
 * client itself (KAFKA_ERR_TIMEOUT, KAFKA_ERR_CLOSED, ...). Kafka's
 * UNKNOWN_SERVER_ERROR (-1 on the wire) is mapped to
 * KAFKA_ERR_UNKNOWN_SERVER_ERROR, a positive value, so that the sign always
 * tells who raised an error.
 *
 * Thread safety: every function here is pure and thread-safe.
 */
#ifndef KAFKA_ERROR_H
#define KAFKA_ERROR_H

#include <stdbool.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int kafka_err;

/* X(name, value, retriable, description) — Kafka protocol errors. */
#define KAFKA_PROTOCOL_ERRORS(X)                                                         \
    X(NONE, 0, 0, "success")                                                             \
    X(OFFSET_OUT_OF_RANGE, 1, 0, "offset out of range")                                  \
    X(CORRUPT_MESSAGE, 2, 1, "corrupt message (CRC or size mismatch)")                   \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3, 1, "unknown topic or partition")                    \
    X(INVALID_FETCH_SIZE, 4, 0, "invalid fetch size")                                    \
    X(LEADER_NOT_AVAILABLE, 5, 1, "leader not available")                                \
    X(NOT_LEADER_OR_FOLLOWER, 6, 1, "not leader or follower")                            \
    X(REQUEST_TIMED_OUT, 7, 1, "request timed out")                                      \
    X(BROKER_NOT_AVAILABLE, 8, 0, "broker not available")                                \
    X(REPLICA_NOT_AVAILABLE, 9, 1, "replica not available")                              \
    X(MESSAGE_TOO_LARGE, 10, 0, "message too large")                                     \
    X(STALE_CONTROLLER_EPOCH, 11, 0, "stale controller epoch")                           \
    X(OFFSET_METADATA_TOO_LARGE, 12, 0, "offset metadata too large")                     \
    X(NETWORK_EXCEPTION, 13, 1, "broker disconnected before the response")               \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14, 1, "coordinator load in progress")               \
    X(COORDINATOR_NOT_AVAILABLE, 15, 1, "coordinator not available")                     \
    X(NOT_COORDINATOR, 16, 1, "not coordinator")                                         \
    X(INVALID_TOPIC_EXCEPTION, 17, 0, "invalid topic")                                   \
    X(RECORD_LIST_TOO_LARGE, 18, 0, "record batch larger than the maximum segment")      \
    X(NOT_ENOUGH_REPLICAS, 19, 1, "not enough in-sync replicas")                         \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, 1, "not enough replicas after append")       \
    X(INVALID_REQUIRED_ACKS, 21, 0, "invalid required acks")                             \
    X(ILLEGAL_GENERATION, 22, 0, "illegal generation")                                   \
    X(INCONSISTENT_GROUP_PROTOCOL, 23, 0, "inconsistent group protocol")                 \
    X(INVALID_GROUP_ID, 24, 0, "invalid group id")                                       \
    X(UNKNOWN_MEMBER_ID, 25, 0, "unknown member id")                                     \
    X(INVALID_SESSION_TIMEOUT, 26, 0, "invalid session timeout")                         \
    X(REBALANCE_IN_PROGRESS, 27, 0, "rebalance in progress")                             \
    X(INVALID_COMMIT_OFFSET_SIZE, 28, 0, "invalid commit offset size")                   \
    X(TOPIC_AUTHORIZATION_FAILED, 29, 0, "topic authorization failed")                   \
    X(GROUP_AUTHORIZATION_FAILED, 30, 0, "group authorization failed")                   \
    X(CLUSTER_AUTHORIZATION_FAILED, 31, 0, "cluster authorization failed")               \
    X(INVALID_TIMESTAMP, 32, 0, "invalid timestamp")                                     \
    X(UNSUPPORTED_SASL_MECHANISM, 33, 0, "unsupported SASL mechanism")                   \
    X(ILLEGAL_SASL_STATE, 34, 0, "illegal SASL state")                                   \
    X(UNSUPPORTED_VERSION, 35, 0, "unsupported version")                                 \
    X(TOPIC_ALREADY_EXISTS, 36, 0, "topic already exists")                               \
    X(INVALID_PARTITIONS, 37, 0, "invalid number of partitions")                         \
    X(INVALID_REPLICATION_FACTOR, 38, 0, "invalid replication factor")                   \
    X(INVALID_REPLICA_ASSIGNMENT, 39, 0, "invalid replica assignment")                   \
    X(INVALID_CONFIG, 40, 0, "invalid config")                                           \
    X(NOT_CONTROLLER, 41, 1, "not controller")                                           \
    X(INVALID_REQUEST, 42, 0, "invalid request")                                         \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, 0, "unsupported for message format")           \
    X(POLICY_VIOLATION, 44, 0, "policy violation")                                       \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, 0, "out of order sequence number")               \
    X(DUPLICATE_SEQUENCE_NUMBER, 46, 0, "duplicate sequence number")                     \
    X(INVALID_PRODUCER_EPOCH, 47, 0, "invalid producer epoch")                           \
    X(INVALID_TXN_STATE, 48, 0, "invalid transaction state")                             \
    X(INVALID_PRODUCER_ID_MAPPING, 49, 0, "invalid producer id mapping")                 \
    X(INVALID_TRANSACTION_TIMEOUT, 50, 0, "invalid transaction timeout")                 \
    X(CONCURRENT_TRANSACTIONS, 51, 1, "concurrent transactions")                         \
    X(TRANSACTION_COORDINATOR_FENCED, 52, 0, "transaction coordinator fenced")           \
    X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, 0, "transactional id authorization failed") \
    X(SECURITY_DISABLED, 54, 0, "security features disabled")                            \
    X(OPERATION_NOT_ATTEMPTED, 55, 0, "operation not attempted")                         \
    X(KAFKA_STORAGE_ERROR, 56, 1, "broker storage error")                                \
    X(LOG_DIR_NOT_FOUND, 57, 0, "log dir not found")                                     \
    X(SASL_AUTHENTICATION_FAILED, 58, 0, "SASL authentication failed")                   \
    X(UNKNOWN_PRODUCER_ID, 59, 0, "unknown producer id")                                 \
    X(REASSIGNMENT_IN_PROGRESS, 60, 0, "reassignment in progress")                       \
    X(DELEGATION_TOKEN_AUTH_DISABLED, 61, 0, "delegation token auth disabled")           \
    X(DELEGATION_TOKEN_NOT_FOUND, 62, 0, "delegation token not found")                   \
    X(DELEGATION_TOKEN_OWNER_MISMATCH, 63, 0, "delegation token owner mismatch")         \
    X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, 0, "delegation token request not allowed") \
    X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, 0, "delegation token authorization failed") \
    X(DELEGATION_TOKEN_EXPIRED, 66, 0, "delegation token expired")                       \
    X(INVALID_PRINCIPAL_TYPE, 67, 0, "invalid principal type")                           \
    X(NON_EMPTY_GROUP, 68, 0, "group is not empty")                                      \
    X(GROUP_ID_NOT_FOUND, 69, 0, "group id not found")                                   \
    X(FETCH_SESSION_ID_NOT_FOUND, 70, 1, "fetch session id not found")                   \
    X(INVALID_FETCH_SESSION_EPOCH, 71, 1, "invalid fetch session epoch")                 \
    X(LISTENER_NOT_FOUND, 72, 1, "listener not found")                                   \
    X(TOPIC_DELETION_DISABLED, 73, 0, "topic deletion disabled")                         \
    X(FENCED_LEADER_EPOCH, 74, 1, "fenced leader epoch")                                 \
    X(UNKNOWN_LEADER_EPOCH, 75, 1, "unknown leader epoch")                               \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76, 0, "unsupported compression type")               \
    X(STALE_BROKER_EPOCH, 77, 0, "stale broker epoch")                                   \
    X(OFFSET_NOT_AVAILABLE, 78, 1, "offset not available")                               \
    X(MEMBER_ID_REQUIRED, 79, 0, "member id required")                                   \
    X(PREFERRED_LEADER_NOT_AVAILABLE, 80, 1, "preferred leader not available")           \
    X(GROUP_MAX_SIZE_REACHED, 81, 0, "group max size reached")                           \
    X(FENCED_INSTANCE_ID, 82, 0, "fenced instance id")                                   \
    X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, 1, "eligible leaders not available")           \
    X(ELECTION_NOT_NEEDED, 84, 0, "election not needed")                                 \
    X(NO_REASSIGNMENT_IN_PROGRESS, 85, 0, "no reassignment in progress")                 \
    X(GROUP_SUBSCRIBED_TO_TOPIC, 86, 0, "group subscribed to topic")                     \
    X(INVALID_RECORD, 87, 0, "invalid record")                                           \
    X(UNSTABLE_OFFSET_COMMIT, 88, 1, "unstable offset commit")                           \
    X(THROTTLING_QUOTA_EXCEEDED, 89, 1, "throttling quota exceeded")                     \
    X(PRODUCER_FENCED, 90, 0, "producer fenced")                                         \
    X(RESOURCE_NOT_FOUND, 91, 0, "resource not found")                                   \
    X(DUPLICATE_RESOURCE, 92, 0, "duplicate resource")                                   \
    X(UNACCEPTABLE_CREDENTIAL, 93, 0, "unacceptable credential")                         \
    X(INCONSISTENT_VOTER_SET, 94, 0, "inconsistent voter set")                           \
    X(INVALID_UPDATE_VERSION, 95, 0, "invalid update version")                           \
    X(FEATURE_UPDATE_FAILED, 96, 0, "feature update failed")                             \
    X(PRINCIPAL_DESERIALIZATION_FAILURE, 97, 0, "principal deserialization failure")     \
    X(SNAPSHOT_NOT_FOUND, 98, 0, "snapshot not found")                                   \
    X(POSITION_OUT_OF_RANGE, 99, 0, "position out of range")                             \
    X(UNKNOWN_TOPIC_ID, 100, 1, "unknown topic id")                                      \
    X(DUPLICATE_BROKER_REGISTRATION, 101, 0, "duplicate broker registration")            \
    X(BROKER_ID_NOT_REGISTERED, 102, 0, "broker id not registered")                      \
    X(INCONSISTENT_TOPIC_ID, 103, 1, "inconsistent topic id")                            \
    X(INCONSISTENT_CLUSTER_ID, 104, 0, "inconsistent cluster id")                        \
    X(TRANSACTIONAL_ID_NOT_FOUND, 105, 0, "transactional id not found")                  \
    X(FETCH_SESSION_TOPIC_ID_ERROR, 106, 1, "fetch session topic id error")              \
    X(INELIGIBLE_REPLICA, 107, 0, "ineligible replica")                                  \
    X(NEW_LEADER_ELECTED, 108, 0, "new leader elected")                                  \
    X(OFFSET_MOVED_TO_TIERED_STORAGE, 109, 0, "offset moved to tiered storage")          \
    X(FENCED_MEMBER_EPOCH, 110, 0, "fenced member epoch")                                \
    X(UNRELEASED_INSTANCE_ID, 111, 0, "unreleased instance id")                          \
    X(UNSUPPORTED_ASSIGNOR, 112, 0, "unsupported assignor")                              \
    X(STALE_MEMBER_EPOCH, 113, 0, "stale member epoch")                                  \
    X(MISMATCHED_ENDPOINT_TYPE, 114, 0, "mismatched endpoint type")                      \
    X(UNSUPPORTED_ENDPOINT_TYPE, 115, 0, "unsupported endpoint type")                    \
    X(UNKNOWN_CONTROLLER_ID, 116, 0, "unknown controller id")                            \
    X(UNKNOWN_SUBSCRIPTION_ID, 117, 0, "unknown subscription id")                        \
    X(TELEMETRY_TOO_LARGE, 118, 0, "telemetry too large")                                \
    X(INVALID_REGISTRATION, 119, 0, "invalid registration")                              \
    X(TRANSACTION_ABORTABLE, 120, 0, "transaction abortable")                            \
    X(INVALID_RECORD_STATE, 121, 0, "invalid record state")                              \
    X(SHARE_SESSION_NOT_FOUND, 122, 1, "share session not found")                        \
    X(INVALID_SHARE_SESSION_EPOCH, 123, 1, "invalid share session epoch")                \
    X(FENCED_STATE_EPOCH, 124, 0, "fenced state epoch")                                  \
    X(INVALID_VOTER_KEY, 125, 0, "invalid voter key")                                    \
    X(DUPLICATE_VOTER, 126, 0, "duplicate voter")                                        \
    X(VOTER_NOT_FOUND, 127, 0, "voter not found")                                        \
    X(UNKNOWN_SERVER_ERROR, 1000, 0, "unknown server error (-1 on the wire)")

/* X(name, value, retriable, description) — errors raised by the client. */
#define KAFKA_CLIENT_ERRORS(X)                                                           \
    X(INVALID_ARG, -1, 0, "invalid argument")                                            \
    X(NOMEM, -2, 0, "out of memory")                                                     \
    X(TRUNCATED, -3, 0, "truncated input: a field runs past the end of the buffer")      \
    X(CORRUPT, -4, 0, "malformed input: a field holds an impossible value")              \
    X(TOO_LARGE, -5, 0, "size exceeds the configured limit")                             \
    X(TIMEOUT, -6, 1, "timed out")                                                       \
    X(CLOSED, -7, 0, "object was closed")                                                \
    X(TRANSPORT, -8, 1, "connection failed or broke")                                    \
    X(RESOLVE, -9, 1, "address resolution failed")                                       \
    X(TLS, -10, 0, "TLS handshake or certificate verification failed")                   \
    X(SASL, -11, 0, "SASL authentication failed")                                        \
    X(NO_COMMON_VERSION, -12, 0, "client and broker share no version of an API")         \
    X(UNSUPPORTED_CODEC, -13, 0, "unknown or unsupported compression codec")             \
    X(COMPRESSION, -14, 0, "compression or decompression failed")                        \
    X(CRC_MISMATCH, -15, 0, "CRC mismatch")                                              \
    X(QUEUE_FULL, -16, 1, "queue full: buffered bytes reached their limit")              \
    X(PROTOCOL, -17, 0, "broker violated the protocol")                                  \
    X(NOT_FOUND, -18, 0, "not found")                                                    \
    X(STATE, -19, 0, "operation not valid in the current state")                         \
    X(NOT_IMPLEMENTED, -20, 0, "not implemented in this version of libkafka")            \
    X(NO_BROKERS, -21, 1, "no broker reachable")                                         \
    X(PARTIAL, -22, 0, "some messages failed: see each message's error")                 \
    X(FENCED, -23, 0, "producer fenced: its id or epoch can no longer be used")          \
    X(END_OF_PARTITION, -24, 0, "reached the end of the partition")

/* One enumerator per table row: KAFKA_ERR_<name> = value. KAFKA_ERR_OK and
 * KAFKA_ERR_NONE are both 0. The tables are public so that applications
 * can build their own switch or lookup tables from them; rows are only
 * ever added (values never change). */
#define KAFKA_ERR_ENUM_(name, value, retriable, desc) KAFKA_ERR_##name = (value),
enum kafka_err_code {
    KAFKA_PROTOCOL_ERRORS(KAFKA_ERR_ENUM_)
    KAFKA_CLIENT_ERRORS(KAFKA_ERR_ENUM_)
    KAFKA_ERR_OK = 0
};
#undef KAFKA_ERR_ENUM_

/* Returns a human-readable description of `err`, e.g. "not leader or
 * follower". Never NULL: a code outside both tables gives "unknown error".
 * Static storage (never free it); thread-safe; does not block. */
KAFKA_API const char *kafka_err_str(kafka_err err);

/* Returns the symbolic name without the KAFKA_ERR_ prefix, e.g.
 * "NOT_LEADER_OR_FOLLOWER" or "TIMEOUT"; 0 gives "NONE". Never NULL: a
 * code outside both tables gives "UNKNOWN". Static storage; thread-safe;
 * does not block. */
KAFKA_API const char *kafka_err_name(kafka_err err);

/* True when retrying the same operation later may succeed (leadership
 * moves, timeouts, disconnects, coordinator loading, ...): the
 * `retriable` column of the tables above, which follows the Java client's
 * RetriableException classes for protocol errors. False for 0 and for
 * unknown codes. Pure; thread-safe. */
KAFKA_API bool kafka_err_is_retriable(kafka_err err);

/* True when the object that returned `err` can no longer be used and must
 * be closed: NOMEM, FENCED, TLS, SASL, SASL_AUTHENTICATION_FAILED,
 * PRODUCER_FENCED, INVALID_PRODUCER_EPOCH,
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED and
 * FENCED_INSTANCE_ID. No code is both fatal and retriable. Pure;
 * thread-safe. */
KAFKA_API bool kafka_err_is_fatal(kafka_err err);

/* Maps a wire error code (the int16 of a response) to a kafka_err: -1
 * (and any other negative code) becomes KAFKA_ERR_UNKNOWN_SERVER_ERROR;
 * 0 and positive codes are returned unchanged, including codes newer than
 * this header (kafka_err_name then says "UNKNOWN"). Pure; thread-safe. */
KAFKA_API kafka_err kafka_err_from_wire(int wire_code);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_ERROR_H */
