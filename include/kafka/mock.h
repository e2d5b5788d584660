/*
 * libkafka-mock — kafka_mock, an in-process fake Kafka cluster for tests.
 *
 * A kafka_mock is N brokers on loopback TCP ports of their own (or on
 * listening sockets the caller passes), served by ONE background thread
 * with a poll() loop; any Kafka client (libkafka, librdkafka/kcat,
 * kafka-python, ...) can connect to kafka_mock_bootstrap(). It is built on
 * libkafka's protocol layer (generated codecs, record batch decoding,
 * compression) and shipped as its own library, libkafka-mock (pkg-config
 * `libkafka-mock`, CMake `libkafka::kafka_mock`); the `kafka-mock` program
 * runs the same cluster from a shell.
 *
 *     kafka_mock *m;
 *     kafka_mock_new(&m, &(kafka_mock_config){ .brokers = 3 });
 *     kafka_mock_create_topic(m, "t", 6, 3);
 *     ... point a writer / reader at kafka_mock_bootstrap(m) ...
 *     kafka_mock_close(m);
 *
 * WHAT IT SPEAKS (ApiVersions advertises exactly this):
 *  - ApiVersions 0-4 (its response always uses header v0; an unknown
 *    version gets UNSUPPORTED_VERSION in a v0 answer);
 *  - Metadata 0-12: topic ids, leader epochs, racks, auto-creation;
 *  - Produce 3-11, message format v2 only, one batch per partition (as
 *    Kafka requires): CRC checked, every codec
 *    decompressed to validate, idempotent producers' sequences and epochs
 *    enforced (a retry of one of the last 5 batches gets its original
 *    offset), acks=0 honoured;
 *  - InitProducerId 0-5, AddPartitionsToTxn 0-3, EndTxn 0-4: a transaction
 *    coordinator with commit and abort markers, fencing by epoch, a new
 *    InitProducerId aborting what the previous incarnation left open, and
 *    transactions open past their timeout aborted (producer fenced);
 *  - Fetch 4-17: min_bytes, deferred max_wait, max_bytes and
 *    partition_max_bytes, several batches per partition, read_committed up
 *    to the last stable offset with the aborted transactions' list, fetch
 *    sessions (KIP-227: incremental requests and answers, forgotten
 *    partitions, at most 1000 sessions, least recently used evicted; as
 *    in Kafka a session fetches from the offset the client last sent for
 *    a partition), and from v11 follower fetching (KIP-392): every
 *    replica serves consumers, and the leader answers a consumer that
 *    sends a rack_id with no records and the preferred_read_replica of a
 *    live replica in that rack (none when the leader is in it; racks:
 *    kafka_mock_config.rack, kafka_mock_set_rack). Replicas never lag:
 *    a follower serves the leader's log and high watermark;
 *  - ListOffsets 1-10 (earliest -2, latest -1, max timestamp -3, by
 *    timestamp), OffsetForLeaderEpoch 2-4;
 *  - CreateTopics 2-7, DeleteTopics 1-6, CreatePartitions 0-3,
 *    DeleteRecords 0-2;
 *  - DescribeConfigs 0-4, AlterConfigs 0-2, IncrementalAlterConfigs 0-1
 *    (SET and DELETE) for topics: Kafka's topic config keys with their
 *    defaults, unknown keys and bad values refused (INVALID_CONFIG);
 *    retention.bytes bounds the topic's logs and
 *    message.timestamp.type=LogAppendTime stamps its batches, the others
 *    are stored and described only; brokers are described with no entries;
 *  - CreateAcls, DescribeAcls, DeleteAcls 1-3 (Kafka's filter rules;
 *    enforced only with enforce_acls, see there);
 *  - DescribeUserScramCredentials 0 and AlterUserScramCredentials 0
 *    (salted passwords as admin clients send them; Kafka's iteration
 *    bounds 4096-16384), on the users SASL checks;
 *  - FindCoordinator 0-6 (v4+ batched), DescribeCluster 0-1;
 *  - TLS listeners with tls_cert_file (TLS 1.2+);
 *  - with require_sasl: SaslHandshake 0-1, SaslAuthenticate 0-2 (PLAIN,
 *    SCRAM-SHA-256, SCRAM-SHA-512, and OAUTHBEARER with unsecured JWTs
 *    as Kafka's default validator takes them: alg "none", a "sub", an
 *    "exp" not passed); a failed authentication is answered
 *    SASL_AUTHENTICATION_FAILED, then the connection is closed;
 *  - the group coordinator (src/mock/mock_group.h): JoinGroup, SyncGroup,
 *    Heartbeat, LeaveGroup (classic groups, static membership, rebalance
 *    and session timeouts, initial_rebalance_delay_ms), OffsetCommit,
 *    OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups,
 *    KIP-848 ConsumerGroupHeartbeat/ConsumerGroupDescribe, and with the
 *    transaction coordinator AddOffsetsToTxn 0-4 and TxnOffsetCommit, at
 *    every version of the schemas.
 * A request for an API not listed is answered by closing the connection,
 * as Kafka does.
 * NOT YET: ACL enforcement beyond topics (groups, cluster, transactional
 * ids), signed OAUTHBEARER tokens, client certificates (mutual TLS),
 * replication lag (followers are always caught up), and serving from
 * libkafka's I/O engine (the mock has its own poll() thread).
 *
 * Coordinators: FindCoordinator answers hash(key) mod brokers (or the
 * broker pinned with kafka_mock_set_coordinator); the group and
 * transaction APIs are served by one cluster-wide coordinator whichever
 * broker receives them, so the mock never answers NOT_COORDINATOR except
 * through kafka_mock_push_errors.
 *
 * Storage: every partition keeps the record batches as received, in
 * memory, with base offset and partition leader epoch rewritten; the
 * oldest batches are dropped once a
 * partition holds more than retention_bytes, moving its log start offset.
 *
 * THREAD SAFETY: every function here may be called from any thread at any
 * time while the mock thread serves clients (one mutex guards the cluster
 * state); only kafka_mock_close must not race with other calls on the same
 * mock. No function blocks for longer than it takes the mock thread to
 * finish one pass of its loop (fault calls that change sockets wait for
 * it, so that a broker is really down when kafka_mock_broker_down
 * returns).
 *
 * ABI: kafka_mock_config only ever grows at the end; zero-initialise it
 * (designated initializers do) so that later fields read as defaults.
 */
#ifndef KAFKA_MOCK_H
#define KAFKA_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KAFKA_MOCK_STATIC)
#define KAFKA_MOCK_API
#elif defined(__GNUC__) || defined(__clang__)
#define KAFKA_MOCK_API __attribute__((visibility("default")))
#else
#define KAFKA_MOCK_API
#endif

/* Largest number of brokers one mock runs. */
#define KAFKA_MOCK_MAX_BROKERS 64

typedef struct kafka_mock kafka_mock;

/* Zero value = defaults (each field says its default). */
typedef struct kafka_mock_config {
    /* Brokers, ids 1..brokers. 0 = 1 (a development broker); at most
     * KAFKA_MOCK_MAX_BROKERS. */
    int brokers;
    /* Partitions of a topic created by auto-creation (Metadata naming an
     * unknown topic, or a Produce to one). 0 = 1, Kafka's num.partitions. */
    int default_partitions;
    /* Replicas of auto-created topics. 0 = min(3, brokers). */
    int default_replicas;
    /* Kafka's auto.create.topics.enable is on by default; true turns it off
     * (Metadata then answers UNKNOWN_TOPIC_OR_PARTITION). */
    bool disable_auto_create_topics;
    /* Bytes of record batches a partition keeps before dropping its oldest
     * batches. 0 = 64 MiB. The newest batch is always kept. */
    int64_t retention_bytes;
    /* Delay before the first rebalance of an empty group completes
     * (Kafka's group.initial.rebalance.delay.ms, default 3000 there).
     * 0 = none, as tests want; used by the group module. */
    int32_t initial_rebalance_delay_ms;
    /* Optional: `brokers` listening TCP sockets (bound, listen() called),
     * one per broker in id order, which the mock then owns (closes them at
     * close, and binds a new socket to the same address after a
     * kafka_mock_broker_down/up). NULL = the mock binds 127.0.0.1 on
     * ephemeral ports. */
    const int *listen_fds;
    /* Rack of every broker as reported in Metadata/DescribeCluster (at most
     * 63 bytes; kafka_mock_set_rack changes it per broker); NULL = no
     * rack. Copied. */
    const char *rack;
    /* Every listener requires SASL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512,
     * through SaslHandshake v1 and SaslAuthenticate) with the users of
     * kafka_mock_add_user before anything but ApiVersions (Kafka's
     * SASL_PLAINTEXT). false = no authentication (PLAINTEXT). */
    bool require_sasl;
    /* TLS on every listener (Kafka's SSL, or SASL_SSL with require_sasl):
     * the server certificate (PEM, may hold the chain) and its private key
     * (PEM, unencrypted; NULL = in tls_cert_file). NULL = plain TCP.
     * Read during kafka_mock_new only; a bad file is KAFKA_ERR_TLS. */
    const char *tls_cert_file;
    const char *tls_key_file;
    /* ACLs are enforced on the topic APIs (Produce WRITE, Fetch READ,
     * Metadata/ListOffsets DESCRIBE, CreateTopics CREATE, DeleteTopics
     * DELETE; TOPIC_AUTHORIZATION_FAILED otherwise) for the SASL user
     * ("User:NAME", "User:ANONYMOUS" without SASL), with Kafka's rules: a
     * matching DENY wins, no matching ALLOW is a denial. Only bindings for
     * host "*" apply. Group, cluster and transactional-id ACLs are stored
     * and listed but not enforced, nor are the ACL APIs themselves. false
     * = ACLs are stored only. */
    bool enforce_acls;
} kafka_mock_config;

/* Starts a cluster and its serving thread. cfg may be NULL (defaults); it
 * is read during the call only. On success *m is the new mock (free it
 * with kafka_mock_close) and the brokers accept connections at once.
 * Errors: KAFKA_ERR_INVALID_ARG (brokers out of range, negative values,
 * a listen_fds entry that is not a listening socket), KAFKA_ERR_NOMEM,
 * KAFKA_ERR_TRANSPORT (socket, bind or thread creation failed); *m is then NULL. */
KAFKA_MOCK_API kafka_err kafka_mock_new(kafka_mock **m, const kafka_mock_config *cfg);

/* Stops the serving thread, closes every socket and frees the mock. Clients
 * still connected see their connections closed. NULL is a no-op. Blocks
 * until the thread has exited (one loop pass). */
KAFKA_MOCK_API void kafka_mock_close(kafka_mock *m);

/* "127.0.0.1:port,127.0.0.1:port,..." in broker id order. Owned by the
 * mock, valid until kafka_mock_close (ports do not change, even across
 * kafka_mock_broker_down/up). */
KAFKA_MOCK_API const char *kafka_mock_bootstrap(const kafka_mock *m);

/* Number of brokers (ids 1..n). */
KAFKA_MOCK_API int kafka_mock_broker_count(const kafka_mock *m);

/* Creates a topic with `partitions` partitions (>= 1) and `replicas`
 * replicas each (0 = min(3, brokers); at most brokers), leaders spread
 * round-robin over the brokers. KAFKA_ERR_TOPIC_ALREADY_EXISTS,
 * KAFKA_ERR_INVALID_PARTITIONS, KAFKA_ERR_INVALID_REPLICATION_FACTOR,
 * KAFKA_ERR_INVALID_TOPIC_EXCEPTION (empty, too long or bad characters),
 * KAFKA_ERR_NOMEM. `name` is copied. */
KAFKA_MOCK_API kafka_err kafka_mock_create_topic(kafka_mock *m, const char *name, int partitions, int replicas);

/* Adds (or changes the password of) a SASL user, valid for PLAIN and both
 * SCRAM mechanisms (stored as SCRAM credentials: random salt, 4096
 * iterations). Only used with require_sasl. Strings are copied.
 * KAFKA_ERR_INVALID_ARG for an empty name or a NULL password. */
KAFKA_MOCK_API kafka_err kafka_mock_add_user(kafka_mock *m, const char *user, const char *password);

/* Adds an ACL binding as CreateAcls does (values are Kafka's: resource
 * type 2 = TOPIC, 3 = GROUP, 4 = CLUSTER, 5 = TRANSACTIONAL_ID; pattern 3
 * = LITERAL, 4 = PREFIXED; operation 2 = ALL, 3 = READ, 4 = WRITE,
 * 5 = CREATE, 6 = DELETE, 7 = ALTER, 8 = DESCRIBE, ...; permission 2 =
 * DENY, 3 = ALLOW), e.g. (2, "orders", 3, "User:alice", "*", 4, 3).
 * Strings are copied. KAFKA_ERR_INVALID_REQUEST for a bad value. */
KAFKA_MOCK_API kafka_err kafka_mock_add_acl(kafka_mock *m, int8_t resource_type, const char *resource_name,
                                            int8_t pattern_type, const char *principal, const char *host,
                                            int8_t operation, int8_t permission);

/* ---- faults ---------------------------------------------------------------
 * broker_id -1 means every broker where a function says so. */

/* Closes the broker's listener and its connections: new connections are
 * refused until kafka_mock_broker_up. Leadership does not move (clients
 * see the leader unreachable, as when a real broker dies). Returns once the
 * sockets are closed. KAFKA_ERR_INVALID_ARG for an unknown id. */
KAFKA_MOCK_API kafka_err kafka_mock_broker_down(kafka_mock *m, int32_t broker_id);

/* Listens again, on the same address and port. KAFKA_ERR_TRANSPORT if the port
 * cannot be bound again. */
KAFKA_MOCK_API kafka_err kafka_mock_broker_up(kafka_mock *m, int32_t broker_id);

/* Moves the leadership of topic/partition to broker_id (-1: no leader,
 * answers LEADER_NOT_AVAILABLE / NOT_LEADER_OR_FOLLOWER), bumping its
 * leader epoch. KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION, KAFKA_ERR_INVALID_ARG. */
KAFKA_MOCK_API kafka_err kafka_mock_set_leader(kafka_mock *m, const char *topic, int32_t partition,
                                               int32_t broker_id);

/* The next `count` requests of api_key received by broker_id (-1: by any
 * broker) are answered with `error` instead of being served (error
 * KAFKA_ERR_MOCK_DISCONNECT: the connection is closed instead). Queues
 * add up; a broker's own queue is used before the cluster-wide one. Where
 * the error goes: Produce/Fetch/ListOffsets/OffsetForLeaderEpoch per
 * partition, Metadata per topic, CreateTopics/DeleteTopics/CreatePartitions
 * per topic, everything else in the response's top-level error code
 * (APIs whose responses have none only support the disconnect).
 * KAFKA_ERR_INVALID_ARG for an unknown broker or api_key, count < 0. */
KAFKA_MOCK_API kafka_err kafka_mock_push_errors(kafka_mock *m, int32_t broker_id, int16_t api_key, int16_t error,
                                                int count);

/* One request of api_key on broker_id (-1: any) answered with `error`
 * (KAFKA_ERR_MOCK_DISCONNECT: closed instead) rtt_ms later than usual;
 * error 0 serves it normally, only late. Queued after the entries of
 * kafka_mock_push_errors for the same queue. KAFKA_ERR_INVALID_ARG as
 * there, or for error 0 with rtt_ms 0 and for rtt_ms < 0. */
KAFKA_MOCK_API kafka_err kafka_mock_push_error_rtt(kafka_mock *m, int32_t broker_id, int16_t api_key, int16_t error,
                                                   int32_t rtt_ms);

/* Metadata answers `error` for the topic named `topic` (existing or not;
 * it is then never auto-created); error 0 removes that. */
KAFKA_MOCK_API kafka_err kafka_mock_set_topic_error(kafka_mock *m, const char *topic, int16_t error);

/* Narrows the versions of api_key that every broker advertises and
 * serves to [min_version, max_version] (within what the mock implements;
 * -1 -1: the API is not served at all, so a request for it closes the
 * connection), to test a client's version fallback. ApiVersions itself
 * cannot be disabled. KAFKA_ERR_INVALID_ARG for an unknown key or a bad
 * range. */
KAFKA_MOCK_API kafka_err kafka_mock_set_api_versions(kafka_mock *m, int16_t api_key, int16_t min_version,
                                                     int16_t max_version);

/* Undoes kafka_mock_set_api_versions for api_key. */
KAFKA_MOCK_API void kafka_mock_reset_api_versions(kafka_mock *m, int16_t api_key);

/* 1 and the versions of api_key the brokers serve now, or 0 when they do
 * not serve it (pointers may be NULL). */
KAFKA_MOCK_API int kafka_mock_api_versions(kafka_mock *m, int16_t api_key, int16_t *min_version,
                                           int16_t *max_version);

/* Pseudo error code for kafka_mock_push_errors: close the connection
 * instead of answering (librdkafka's mock calls it TRANSPORT). */
#define KAFKA_ERR_MOCK_DISCONNECT (-195)

/* How many injected errors for api_key are still queued on broker_id (-1:
 * the cluster-wide queue); -1 for bad arguments. */
KAFKA_MOCK_API int kafka_mock_pending_errors(kafka_mock *m, int32_t broker_id, int16_t api_key);

/* Drops the queued injected errors of api_key (broker_id -1: the cluster
 * queue and every broker's). */
KAFKA_MOCK_API void kafka_mock_clear_errors(kafka_mock *m, int32_t broker_id, int16_t api_key);

/* Delays every response of broker_id (-1: all) by rtt_ms (0 = none) from
 * the moment the request was served; order per connection is kept. */
KAFKA_MOCK_API kafka_err kafka_mock_set_rtt(kafka_mock *m, int32_t broker_id, int32_t rtt_ms);

/* Throttling: every response of broker_id (-1: all) that has a
 * throttle_time_ms field reports throttle_ms (0 = none), as a broker over
 * a quota does (KIP-219: the client is to wait that long before its next
 * request to that broker). The answer itself is not delayed (see
 * kafka_mock_set_rtt). */
KAFKA_MOCK_API kafka_err kafka_mock_set_throttle(kafka_mock *m, int32_t broker_id, int32_t throttle_ms);

/* The rack broker_id (-1: every broker) reports in Metadata and
 * DescribeCluster (NULL = none; at most 63 bytes, copied).
 * KAFKA_ERR_INVALID_ARG for an unknown broker or a longer rack. */
KAFKA_MOCK_API kafka_err kafka_mock_set_rack(kafka_mock *m, int32_t broker_id, const char *rack);

/* Pins the coordinator FindCoordinator reports for (key_type, key):
 * key_type 0 = group, 1 = transaction. broker_id -1 removes the pin. */
KAFKA_MOCK_API kafka_err kafka_mock_set_coordinator(kafka_mock *m, int8_t key_type, const char *key,
                                                    int32_t broker_id);

/* Forgets the idempotent state of every producer (as a broker that lost
 * its producer snapshots): their next batches get UNKNOWN_PRODUCER_ID
 * unless they start a new sequence at 0. */
KAFKA_MOCK_API void kafka_mock_forget_producers(kafka_mock *m);

/* ---- inspection (for tests) ---------------------------------------------- */

/* Log start and end offsets of topic/partition. 0 or
 * KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION. Either pointer may be NULL. */
KAFKA_MOCK_API kafka_err kafka_mock_partition_offsets(kafka_mock *m, const char *topic, int32_t partition,
                                                      int64_t *log_start, int64_t *log_end);

/* Bytes of record batches topic/partition currently keeps (<=
 * retention_bytes plus one batch). -1 for an unknown partition. */
KAFKA_MOCK_API int64_t kafka_mock_partition_bytes(kafka_mock *m, const char *topic, int32_t partition);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_MOCK_H */
