/*
 * The mock cluster's state: brokers, topics and partitions (with their
 * logs), producer ids, pinned coordinators and injected errors, and the
 * request handlers that read and change it.
 *
 * Sans-I/O: a handler gets one request body and returns one response body;
 * the server (mock_server.c) owns sockets, framing and timing. Not
 * thread-safe by itself: the mock's mutex guards every call.
 */
#ifndef KAFKA_MOCK_CLUSTER_H
#define KAFKA_MOCK_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/mock.h"
#include "mock/mock_acl.h"
#include "mock/mock_config.h"
#include "mock/mock_fetch_session.h"
#include "mock/mock_log.h"
#include "mock/mock_quota.h"
#include "mock/mock_sasl.h"
#include "protocol/api.h"
#include "protocol/wire.h"

#define KMOCK_TOPIC_NAME_MAX 249

typedef struct kmock_partition {
    int32_t leader; /* broker id, -1 none */
    int32_t leader_epoch;
    int32_t *replicas;
    int32_t nreplicas;
    /* an ongoing reassignment's target replicas (NULL: none); the mock
     * does not copy data, so one that adds replicas stays in progress
     * until cancelled or replaced (mock_api_reassign.c) */
    int32_t *target;
    int32_t ntarget;
    kmock_log log;
} kmock_partition;

typedef struct kmock_topic {
    char *name;
    kafka_uuid id;
    int32_t npartitions;
    kmock_partition *partitions;
    kmock_configs configs; /* overrides of the topic configs */
    bool log_append_time;  /* message.timestamp.type=LogAppendTime */
    bool compacted;        /* cleanup.policy has compact: records need keys */
} kmock_topic;

typedef struct kmock_broker_info {
    int32_t id;
    char host[64];
    int32_t port;
    bool up;
    int32_t rtt_ms;
    int32_t throttle_ms; /* reported in every response that has the field */
    char rack[64];       /* "" = no rack */
} kmock_broker_info;

/* One queued injected error: `count` more requests get `error`. */
typedef struct kmock_err_entry {
    int16_t error; /* 0: served normally, only delayed */
    int32_t count;
    int32_t delay_ms; /* added to the answer's latency */
} kmock_err_entry;

typedef struct kmock_err_queue {
    kmock_err_entry *e;
    size_t n, cap;
} kmock_err_queue;

typedef struct kmock_pin {
    int8_t key_type;
    char *key;
    int32_t broker_id;
} kmock_pin;

/* Metadata answers `error` for this topic (and never auto-creates it). */
typedef struct kmock_topic_error {
    char *name;
    int16_t error;
} kmock_topic_error;

/* How a transactional id's last transaction ended (DescribeTransactions
 * reports CompleteCommit / CompleteAbort, or Empty before the first). */
#define KMOCK_TXN_NONE 0
#define KMOCK_TXN_COMMITTED 1
#define KMOCK_TXN_ABORTED 2

/* A transactional id's state in the transaction coordinator. */
typedef struct kmock_txn_partition {
    kmock_partition *p; /* NULL once its topic is deleted */
    char *topic;
    int32_t partition;
} kmock_txn_partition;

typedef struct kmock_txn {
    char *id;
    int64_t producer_id;
    int16_t epoch;
    int32_t timeout_ms;
    bool ongoing;
    int8_t ended;       /* how its last transaction ended: KMOCK_TXN_* */
    int64_t started_ms; /* when it became ongoing (mock clock) */
    kmock_txn_partition *parts;
    size_t nparts, parts_cap;
    char **groups; /* AddOffsetsToTxn's group ids */
    size_t ngroups, groups_cap;
} kmock_txn;

typedef struct kmock_groups kmock_groups; /* mock_group.h */

typedef struct kmock_cluster {
    int32_t nbrokers;
    int32_t default_partitions, default_replicas;
    bool auto_create;
    int64_t retention_bytes;
    int32_t initial_rebalance_delay_ms;
    char cluster_id[24];
    kmock_broker_info brokers[KAFKA_MOCK_MAX_BROKERS];
    kmock_topic **topics;
    size_t ntopics, topics_cap;
    int64_t next_producer_id;
    uint64_t uuid_state;
    kmock_pin *pins;
    size_t npins;
    kmock_topic_error *topic_errors;
    size_t ntopic_errors, topic_errors_cap;
    kmock_txn **txns;
    size_t ntxns, txns_cap;
    /* apiversion faults: [key] = {min, max} when set; {-1, -1} = not served */
    bool version_override_set[KAFKA_API_KEY_MAX + 1];
    int16_t version_override[KAFKA_API_KEY_MAX + 1][2];
    /* [0] cluster-wide, [id] broker id's own; each per API key */
    kmock_err_queue errors[KAFKA_MOCK_MAX_BROKERS + 1][KAFKA_API_KEY_MAX + 1];
    kmock_fs_cache fetch_sessions;
    bool require_sasl; /* every listener: SASL PLAIN / SCRAM first */
    bool enforce_acls; /* topic APIs check ACLs (mock_acl.h) */
    kmock_acls acls;
    kmock_sasl_users users;
    kmock_quotas quotas; /* AlterClientQuotas (mock_api_quotas.c) */
    uint64_t appends; /* bumps on every append: deferred fetches look again */
    int64_t now_ms;   /* the serving thread's clock at the current request */
    kmock_groups *groups; /* the group coordinator (mock_groups_on.c) */
} kmock_cluster;

/* ---- cluster state (mock_cluster.c) ---- */

kafka_err kmock_cluster_init(kmock_cluster *c, const kafka_mock_config *cfg);
void kmock_cluster_free(kmock_cluster *c);

kmock_topic *kmock_topic_find(const kmock_cluster *c, const char *name, size_t len);
kmock_topic *kmock_topic_find_id(const kmock_cluster *c, const kafka_uuid *id);
/* Creates a topic; returns 0 or a Kafka error code (TOPIC_ALREADY_EXISTS,
 * INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
 * UNKNOWN_SERVER_ERROR for out of memory). replicas 0 = default. */
int16_t kmock_topic_create(kmock_cluster *c, const char *name, size_t len, int32_t partitions, int32_t replicas,
                           kmock_topic **out);
int16_t kmock_topic_delete(kmock_cluster *c, kmock_topic *t);
/* Sets (value non-null) or removes one config override of a topic and
 * applies what acts (retention.bytes, message.timestamp.type). Returns 0,
 * INVALID_CONFIG (unknown key or bad value) or UNKNOWN_SERVER_ERROR. */
int16_t kmock_topic_config_set(kmock_cluster *c, kmock_topic *t, kafka_str name, kafka_str value);
/* Removes every override of a topic (AlterConfigs replaces them all). */
void kmock_topic_config_clear(kmock_cluster *c, kmock_topic *t);
/* Wall-clock milliseconds (record and marker timestamps). */
int64_t kmock_wall_ms(void);
int16_t kmock_topic_add_partitions(kmock_cluster *c, kmock_topic *t, int32_t total);
/* The partition, or NULL. */
kmock_partition *kmock_partition_get(const kmock_cluster *c, kafka_str topic, int32_t partition);
/* Broker id coordinating (key_type, key). */
int32_t kmock_coordinator_for(const kmock_cluster *c, int8_t key_type, kafka_str key);
kafka_err kmock_pin_coordinator(kmock_cluster *c, int8_t key_type, const char *key, int32_t broker_id);

/* Takes the next injected error for api_key on broker_id: 0 if none (or
 * an entry that only delays); *delay_ms gets the entry's delay (0 if none). */
int16_t kmock_take_error(kmock_cluster *c, int32_t broker_id, int16_t api_key, int32_t *delay_ms);
/* Queues `count` requests answered with `error` (0 with delay_ms > 0: served
 * normally, answered delay_ms later). */
kafka_err kmock_push_error(kmock_cluster *c, int32_t broker_id, int16_t api_key, int16_t error, int32_t count,
                           int32_t delay_ms);
/* Narrows the versions of api_key served and advertised to [min_v,
 * max_v] (-1 -1: not served at all); reset = true restores the default. */
kafka_err kmock_set_api_versions(kmock_cluster *c, int16_t api_key, int16_t min_v, int16_t max_v, bool reset);
/* Sets (error != 0) or clears (0) the Metadata error of a topic name. */
kafka_err kmock_set_topic_error(kmock_cluster *c, const char *name, int16_t error);
/* The Metadata error set for a topic name, 0 if none. */
int16_t kmock_topic_error_for(const kmock_cluster *c, kafka_str name);
int kmock_pending_errors(const kmock_cluster *c, int32_t broker_id, int16_t api_key);
void kmock_clear_errors(kmock_cluster *c, int32_t broker_id, int16_t api_key);

/* ---- transaction coordinator (mock_txn.c) ---- */

/* InitProducerId for a transactional id: a new id gets a producer id at
 * epoch 0; a known one has its open transaction aborted and its epoch
 * bumped (fencing the previous producer). Returns 0 or an error code. */
int16_t kmock_txn_init(kmock_cluster *c, kafka_str id, int32_t timeout_ms, int64_t now_ms, int64_t *producer_id,
                       int16_t *epoch);
/* The transaction of (id, producer_id, epoch), or NULL with *err set
 * (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED). */
kmock_txn *kmock_txn_check(kmock_cluster *c, kafka_str id, int64_t producer_id, int16_t epoch, int16_t *err);
/* Adds topic/partition to the transaction (0, UNKNOWN_TOPIC_OR_PARTITION,
 * UNKNOWN_SERVER_ERROR). */
int16_t kmock_txn_add_partition(kmock_cluster *c, kmock_txn *t, kafka_str topic, int32_t partition);
/* The group module's check of a TxnOffsetCommit (mock_group.h's
 * kmock_txn_check_fn): 0 when (id, producer) is current and its open
 * transaction added group_id with AddOffsetsToTxn. */
int kmock_txn_check_group(void *cluster, const char *transactional_id, int64_t producer_id, int16_t epoch,
                          const char *group_id);
/* Writes the commit or abort markers and empties the transaction. */
int16_t kmock_txn_end(kmock_cluster *c, kmock_txn *t, bool commit, int64_t now_ms);
/* Forgets partitions of a deleted topic in every transaction. */
void kmock_txn_forget_topic(kmock_cluster *c, const kmock_topic *t);
/* Aborts the transactions open for longer than their timeout (fencing
 * their producers, as Kafka's coordinator does); returns the next
 * deadline or INT64_MAX. */
int64_t kmock_txn_tick(kmock_cluster *c, int64_t now_ms);
void kmock_txn_free_all(kmock_cluster *c);

/* ---- request handling (mock_api*.c) ---- */

/* What the server does with a handled request. */
typedef enum kmock_outcome {
    KMOCK_RESPOND,    /* `out` holds the response body */
    KMOCK_NO_RESPONSE, /* Produce with acks=0 */
    KMOCK_DEFER,      /* Fetch waiting for data: call again later */
    KMOCK_GROUP,      /* handed to the group module, which replies later */
    KMOCK_CLOSE       /* close the connection (undecodable, unsupported) */
} kmock_outcome;

typedef struct kmock_request {
    int32_t broker_id; /* the broker it arrived at */
    int16_t api_key, api_version;
    const uint8_t *body;
    size_t len;
    int64_t now_ms;
    bool final; /* deferred Fetch: the wait is over, answer whatever there is */
    bool rerun; /* a deferred Fetch looking again (its session was set up already) */
    int32_t session_id;   /* rerun: the fetch session its first run used (0 none) */
    int32_t *session_out; /* first run of a Fetch: where to note that session */
    int16_t injected; /* error to answer with (0: serve normally) */
    int32_t throttle_ms; /* throttling fault of the broker: reported in the response */
    const char *user;    /* the SASL user of the connection, NULL = anonymous */
} kmock_request;

/* Serves one request: decodes it, applies it, encodes the response body
 * into out. For KMOCK_DEFER, *wake_at is the deadline (ms) at which to
 * call again with final = true. */
kmock_outcome kmock_handle(kmock_cluster *c, const kmock_request *rq, kafka_wbuf *out, int64_t *wake_at);

/* The versions the mock serves of api_key: false if it does not serve it. */
bool kmock_api_supported(const kmock_cluster *c, int16_t api_key, int16_t *min_v, int16_t *max_v);

/* Handlers, one per API (same contract as kmock_handle). */
typedef kmock_outcome (*kmock_handler)(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                       int64_t *wake_at);
kmock_outcome kmock_api_versions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                 int64_t *wake_at);
kmock_outcome kmock_metadata(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                             int64_t *wake_at);
kmock_outcome kmock_describe_cluster(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at);
kmock_outcome kmock_find_coordinator(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at);
kmock_outcome kmock_produce(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                            int64_t *wake_at);
kmock_outcome kmock_init_producer_id(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at);
kmock_outcome kmock_fetch(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                          int64_t *wake_at);
kmock_outcome kmock_list_offsets(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                 int64_t *wake_at);
kmock_outcome kmock_offset_for_leader_epoch(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                            kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_add_partitions_to_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                          kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_add_offsets_to_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                       int64_t *wake_at);
kmock_outcome kmock_end_txn(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                            int64_t *wake_at);
kmock_outcome kmock_delete_records(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                   int64_t *wake_at);
kmock_outcome kmock_describe_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                     int64_t *wake_at);
kmock_outcome kmock_alter_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at);
kmock_outcome kmock_incremental_alter_configs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                              kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_describe_user_scram_credentials(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                    kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_alter_user_scram_credentials(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                 kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_create_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                int64_t *wake_at);
kmock_outcome kmock_describe_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at);
kmock_outcome kmock_delete_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                int64_t *wake_at);
kmock_outcome kmock_create_topics(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at);
kmock_outcome kmock_delete_topics(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at);
/* Operations APIs (mock_api_ops.c, mock_api_txn_admin.c) */
kmock_outcome kmock_elect_leaders(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at);
kmock_outcome kmock_describe_log_dirs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at);
kmock_outcome kmock_describe_producers(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                       int64_t *wake_at);
kmock_outcome kmock_list_transactions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at);
kmock_outcome kmock_describe_transactions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                          kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_alter_partition_reassignments(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                   kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_list_partition_reassignments(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                                  kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_describe_client_quotas(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                           kafka_wbuf *out, int64_t *wake_at);
kmock_outcome kmock_alter_client_quotas(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                        int64_t *wake_at);
kmock_outcome kmock_create_partitions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at);

/* Shared by the handlers (mock_api.c). */

/* Gives a response array `field` (with its field##_count) n zeroed
 * elements from the arena (one more, so that n == 0 is not NULL); false
 * when out of memory. */
#define KMOCK_ARRAY(arena, field, n)                                                              \
    (((field) = kafka_arena_calloc((arena), (size_t)(n) + 1, sizeof(*(field)))) != NULL            \
         ? ((field##_count) = (int32_t)(n), true)                                                   \
         : false)

/* Decodes rq's body as the request of its API into a struct from `a`;
 * NULL if it does not decode. */
void *kmock_decode(const kmock_request *rq, kafka_arena *a);
/* Encodes resp (the response struct of rq's API) into out, after putting
 * the fields rq's version lacks back to their defaults (resp changes). */
kmock_outcome kmock_encode(const kmock_request *rq, void *resp, kafka_wbuf *out);
/* Partition-level error for a request on `broker_id`: injected error,
 * unknown partition, or not the leader. 0 if it may be served. */
int16_t kmock_partition_error(const kmock_cluster *c, const kmock_request *rq, const kmock_partition *p);
/* NUL-terminated copy of s in the arena ("" on failure). */
const char *kmock_cstr(kafka_arena *a, kafka_str s);
/* With enforce_acls: TOPIC_AUTHORIZATION_FAILED when rq's user may not do
 * op on the topic, else 0. */
int16_t kmock_topic_denied(const kmock_cluster *c, const kmock_request *rq, int8_t op, kafka_str topic);
/* Broker info of id, NULL if out of range. */
const kmock_broker_info *kmock_broker(const kmock_cluster *c, int32_t id);

#endif
