/*
 * libkafka — kafka_admin: cluster administration (the surface of franz-go's
 * kadm): topics, offsets and records, consumer groups (lag, resets),
 * configs, ACLs, SCRAM users, leader elections, log dirs, transactions,
 * cluster description.
 *
 * @code
 *   kafka_admin *a;
 *   if (kafka_admin_new(&a, &(kafka_admin_config){ .brokers = "h1:9092" }, NULL, 0) != 0)
 *       return;
 *   kafka_admin_group_lag *lag;
 *   if (kafka_admin_lag(a, "billing", 5000, &lag) == 0)
 *       printf("total lag %lld\n", (long long)lag->total);
 *   kafka_admin_group_lag_free(lag);
 *   kafka_admin_close(a);
 * @endcode
 *
 * Routing. Each call sends its requests where Kafka requires them (each
 * call's comment says which API and where): the controller (CreateTopics,
 * DeleteTopics, CreatePartitions, ElectLeaders, AlterUserScramCredentials;
 * when Metadata names no controller that is among its brokers, as old
 * brokers and librdkafka's mock do, any broker, which is what librdkafka
 * and the Java client do too), the partition leaders (ListOffsets,
 * DeleteRecords: one request per leader broker for all its partitions,
 * answers merged), the group or transaction coordinator, every broker
 * (ListGroups, ListTransactions, DescribeLogDirs), the broker that owns a
 * resource (broker configs) or any broker (Metadata, ACLs, topic configs).
 *
 * Retries. Every call retries, with exponential backoff, until its
 * timeout_ms (-1 = no limit) runs out: on connection failures, on
 * NOT_CONTROLLER, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE, and for partition-routed calls on
 * NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_LEADER_EPOCH and
 * friends (after refreshing the metadata). Other errors are returned.
 *
 * Results. A call that reaches the cluster hands back one owned result
 * struct in *out, freed with that struct's own free function (NULL-safe);
 * every string and array in it lives until that free. Each item of a
 * result (a topic, a partition, a group) carries its own `err`. The call
 * itself returns 0 when every item succeeded, else the first item error
 * (the result is still set, so that the caller can see which items
 * failed), or a request-level error (then *out is NULL): bad arguments
 * (KAFKA_ERR_INVALID_ARG with the reason in kafka_admin_last_error),
 * KAFKA_ERR_TIMEOUT, KAFKA_ERR_CLOSED, KAFKA_ERR_NO_COMMON_VERSION (the
 * broker lacks the API: e.g. librdkafka's mock has no CreateTopics).
 * Calls that send one request per item or per target broker (describe
 * groups, describe configs, list groups, log dirs, ...) report a target
 * they could not reach as the error of its items, with *out set.
 *
 * Thread safety: a kafka_admin may be used by any number of threads at
 * once (its connections come from a pool; each call borrows what it needs).
 * kafka_admin_close from another thread wakes every blocked call, which
 * returns KAFKA_ERR_CLOSED; no call may start after close returned.
 *
 * Not yet (not declared here): the legacy (non-incremental) AlterConfigs;
 * KIP-848 members' target assignments (the current one is described).
 *
 * ABI: the config and every result struct only grow at the end (the
 * policy in kafka/kafka.h).
 */
#ifndef KAFKA_ADMIN_H
#define KAFKA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h" /* kafka_api_version, kafka_topic_config */
#include "dialer.h"
#include "error.h"
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafka_admin kafka_admin;

/* ---- the client ------------------------------------------------------------ */

typedef struct kafka_admin_config {
    /* Bootstrap brokers "h1:9092,h2:9092". Required. */
    const char *brokers;
    /* TLS, SASL, client id, user transport: as for kafka_reader/writer.
     * NULL = plain TCP. Deep-copied (callbacks and transport excepted). */
    const kafka_dialer_config *dialer;
    int dial_timeout_ms; /* 0 = 10000 */
    int backoff_min_ms;  /* retry backoff; 0 = 100 */
    int backoff_max_ms;  /* 0 = 1000 */
} kafka_admin_config;

/* Creates an admin client (no I/O: a bad address shows at the first call).
 * Missing brokers or a malformed address is KAFKA_ERR_INVALID_ARG with the
 * reason in errbuf (may be NULL). cfg is read during the call only. On
 * success *out must be closed with kafka_admin_close. Does not block. */
KAFKA_API kafka_err kafka_admin_new(kafka_admin **out, const kafka_admin_config *cfg, char *errbuf,
                                    size_t errlen);

/* Wakes every call blocked on the admin client (they return
 * KAFKA_ERR_CLOSED), waits for them to return, closes the connections and
 * frees. NULL-safe. */
KAFKA_API void kafka_admin_close(kafka_admin *a);

/* Copies the detailed text of the last failure of any call on this client
 * (e.g. "create topics: any broker (no controller named):
 * NO_COMMON_VERSION (client and broker share no version of an API):
 * 127.0.0.1:39581: API CreateTopics: broker does not support it (client
 * v0-v7)") into buf (always NUL-terminated when len > 0).
 * With several threads, the last failure of any of them. Does not block. */
KAFKA_API void kafka_admin_last_error(kafka_admin *a, char *buf, size_t len);

/* A topic partition named in a request. partition -1 means "every
 * partition of the topic" where a call says so. */
typedef struct kafka_admin_tp {
    const char *topic;
    int32_t partition;
} kafka_admin_tp;

/* ---- topics -------------------------------------------------------------- */

/* Topics to create are kafka_topic_config (kafka/conn.h): name,
 * num_partitions and replication_factor (-1 = the broker's defaults,
 * CreateTopics v4+, Kafka 2.4+), config name/value pairs. */

/* The outcome for one topic of create/delete/create-partitions. */
typedef struct kafka_admin_topic_result {
    const char *topic;
    kafka_err err;
    const char *message;        /* the broker's error message, or NULL */
    uint8_t topic_id[16];       /* CreateTopics v7+/DeleteTopics v6+, else zero */
    int32_t partitions;         /* CreateTopics v5+, else -1 */
    int16_t replication_factor; /* CreateTopics v5+, else -1 */
} kafka_admin_topic_result;

typedef struct kafka_admin_topic_results {
    kafka_admin_topic_result *results; /* in request order */
    size_t n;
} kafka_admin_topic_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_topic_results_free(kafka_admin_topic_results *r);

/* CreateTopics, sent to the controller. validate_only asks the broker to
 * check without creating. Duplicate, empty, over-long (> 249 bytes) or
 * ill-formed names (Kafka allows a-z A-Z 0-9 . _ -) and
 * partitions/replication 0 or < -1 are INVALID_ARG before any I/O. Returns as described at the top (e.g. TOPIC_ALREADY_EXISTS as an
 * item error). The broker's timeout is timeout_ms (10000 when -1). */
KAFKA_API kafka_err kafka_admin_create_topics(kafka_admin *a, const kafka_topic_config *topics, size_t n,
                                              bool validate_only, int timeout_ms, kafka_admin_topic_results **out);

/* DeleteTopics by name, sent to the controller. */
KAFKA_API kafka_err kafka_admin_delete_topics(kafka_admin *a, const char *const *topics, size_t n, int timeout_ms,
                                              kafka_admin_topic_results **out);

/* DeleteTopics by topic id (DeleteTopics v6+, Kafka 2.8+; ids from
 * kafka_admin_describe_topics or create), to the controller. Each result
 * has the id and, when the broker names it, the topic's name (NULL
 * otherwise); an unknown id is UNKNOWN_TOPIC_ID. */
KAFKA_API kafka_err kafka_admin_delete_topics_by_id(kafka_admin *a, const uint8_t (*ids)[16], size_t n,
                                                    int timeout_ms, kafka_admin_topic_results **out);

/* A new (larger) partition count for a topic. */
typedef struct kafka_admin_partition_count {
    const char *topic;
    int32_t count; /* > 0 */
} kafka_admin_partition_count;

/* CreatePartitions, to the controller: grows each topic to its new count;
 * the broker places the new replicas. validate_only checks without
 * changing anything. *out: one result per topic (partitions = the new
 * count when it succeeded). */
KAFKA_API kafka_err kafka_admin_create_partitions(kafka_admin *a, const kafka_admin_partition_count *topics,
                                                  size_t n, bool validate_only, int timeout_ms,
                                                  kafka_admin_topic_results **out);

/* One partition as Metadata describes it. */
typedef struct kafka_admin_partition {
    int32_t partition;
    kafka_err err;         /* e.g. LEADER_NOT_AVAILABLE */
    int32_t leader;        /* broker id, -1 = none */
    int32_t leader_epoch;  /* Metadata v7+, else -1 */
    const int32_t *replicas;
    size_t n_replicas;
    const int32_t *isr;
    size_t n_isr;
    const int32_t *offline; /* offline replicas (Metadata v5+) */
    size_t n_offline;
} kafka_admin_partition;

typedef struct kafka_admin_topic {
    const char *name;
    kafka_err err; /* UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist */
    bool internal; /* __consumer_offsets, __transaction_state (Metadata v1+) */
    uint8_t topic_id[16]; /* Metadata v10+, else zero */
    kafka_admin_partition *partitions; /* sorted by partition id */
    size_t n_partitions;
} kafka_admin_topic;

typedef struct kafka_admin_topics {
    kafka_admin_topic *topics;
    size_t n;
} kafka_admin_topics;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_topics_free(kafka_admin_topics *t);

/* Every topic of the cluster (Metadata for all topics, any broker), sorted
 * by name; internal topics only when include_internal. */
KAFKA_API kafka_err kafka_admin_list_topics(kafka_admin *a, bool include_internal, int timeout_ms,
                                            kafka_admin_topics **out);

/* The named topics, in request order (Metadata, any broker). Never creates
 * a topic: with Metadata v4+ auto-creation is turned off; older brokers
 * cannot be told, so all topics are asked for and filtered. A topic that
 * does not exist is an item with err UNKNOWN_TOPIC_OR_PARTITION. */
KAFKA_API kafka_err kafka_admin_describe_topics(kafka_admin *a, const char *const *topics, size_t n,
                                                int timeout_ms, kafka_admin_topics **out);

/* ---- offsets ------------------------------------------------------------- */

/* Special timestamps of kafka_admin_list_offsets. */
#define KAFKA_ADMIN_OFFSET_LATEST (-1)        /* the high-water mark (end) */
#define KAFKA_ADMIN_OFFSET_EARLIEST (-2)      /* the log start offset */
#define KAFKA_ADMIN_OFFSET_MAX_TIMESTAMP (-3) /* the record with the largest
                                                 timestamp (ListOffsets v7+) */

typedef struct kafka_admin_offset {
    const char *topic;
    int32_t partition;
    kafka_err err;
    int64_t offset;       /* -1 when none (e.g. no record at/after the time) */
    int64_t timestamp;    /* of that record (v1+), -1 for EARLIEST/LATEST */
    int32_t leader_epoch; /* v4+, else -1 */
} kafka_admin_offset;

typedef struct kafka_admin_offsets {
    kafka_admin_offset *offsets; /* sorted by topic, then partition */
    size_t n;
} kafka_admin_offsets;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_offsets_free(kafka_admin_offsets *o);

/* ListOffsets of parts[0..n) (partition -1 = every partition of the topic)
 * at `timestamp`: KAFKA_ADMIN_OFFSET_EARLIEST, _LATEST, _MAX_TIMESTAMP, or
 * a Unix time in ms (the first offset whose timestamp is >= it). One
 * request per partition leader (one after the other), each carrying every
 * partition that broker leads; answers merged.
 * An unknown topic or partition is an item error. */
KAFKA_API kafka_err kafka_admin_list_offsets(kafka_admin *a, const kafka_admin_tp *parts, size_t n,
                                             int64_t timestamp, int timeout_ms, kafka_admin_offsets **out);

/* A partition and an offset: a position to commit (alter offsets), or
 * the offset to delete records before (delete records). */
typedef struct kafka_admin_offset_spec {
    const char *topic;
    int32_t partition;
    int64_t offset; /* >= 0 (delete records: -1 = the high-water mark) */
} kafka_admin_offset_spec;

/* DeleteRecords: deletes the records of parts[i].topic/partition before
 * parts[i].offset (-1 = the high-water mark: everything), one request per
 * partition leader (Kafka 0.11+). *out holds each partition's new log
 * start offset in its offset field (-1 on error), sorted by topic and
 * partition. The broker waits up to timeout_ms (30000 when -1) for the
 * replicas. */
KAFKA_API kafka_err kafka_admin_delete_records(kafka_admin *a, const kafka_admin_offset_spec *parts, size_t n,
                                               int timeout_ms, kafka_admin_offsets **out);

/* ---- consumer groups --------------------------------------------------------- */

typedef struct kafka_admin_group_listing {
    const char *group;
    const char *protocol_type; /* "consumer" for consumer groups, "" for
                                  groups that only store offsets */
    const char *state;         /* "Stable", "Empty", ... (ListGroups v4+), else NULL */
    const char *type;          /* "classic", "consumer" (v5+), else NULL */
    int32_t coordinator;       /* the broker that listed it */
} kafka_admin_group_listing;

typedef struct kafka_admin_broker_error {
    int32_t broker;
    kafka_err err;
} kafka_admin_broker_error;

typedef struct kafka_admin_group_list {
    kafka_admin_group_listing *groups; /* sorted by group id */
    size_t n;
    kafka_admin_broker_error *errors; /* brokers that failed to answer */
    size_t n_errors;
} kafka_admin_group_list;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_group_list_free(kafka_admin_group_list *l);

/* ListGroups sent to every broker (each lists the groups it coordinates),
 * merged. states (e.g. {"Stable", "Empty"}) filters by state and needs
 * ListGroups v4+ (Kafka 2.6+); types ({"classic"} / {"consumer"}) filters
 * by type and needs v5+ (Kafka 3.8+); older brokers make the call fail
 * with NO_COMMON_VERSION rather than ignore the filter. A broker that
 * cannot be reached is listed in errors, and its error is returned (the
 * other brokers' groups are in *out). */
KAFKA_API kafka_err kafka_admin_list_groups(kafka_admin *a, const char *const *states, size_t n_states,
                                            const char *const *types, size_t n_types, int timeout_ms,
                                            kafka_admin_group_list **out);

typedef struct kafka_admin_group_member {
    const char *member_id;
    const char *instance_id; /* static membership, else NULL */
    const char *client_id;
    const char *client_host;
    /* Consumer groups: the assignment and subscription decoded (the
     * "consumer" embedded protocol); other protocol types: empty. */
    const kafka_admin_tp *assigned; /* sorted by topic, partition */
    size_t n_assigned;
    const char *const *subscribed;
    size_t n_subscribed;
} kafka_admin_group_member;

typedef struct kafka_admin_group {
    const char *group;
    kafka_err err;         /* GROUP_ID_NOT_FOUND for a group that does not exist */
    const char *state;     /* "Stable", "Empty", "PreparingRebalance", ... */
    const char *protocol_type;
    const char *protocol;  /* the assignor ("range", ...), "" when none */
    int32_t coordinator;
    kafka_admin_group_member *members;
    size_t n_members;
    const char *type;      /* "classic", or "consumer" for a KIP-848 group */
} kafka_admin_group;

typedef struct kafka_admin_groups {
    kafka_admin_group *groups; /* in request order */
    size_t n;
} kafka_admin_groups;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_groups_free(kafka_admin_groups *g);

/* DescribeGroups, one request per group to its coordinator; a group the
 * classic API does not know is asked again with ConsumerGroupDescribe
 * (KIP-848 groups, Kafka 3.7+), whose members' assignments come as topic
 * partitions. A group that does not exist (the broker says state "Dead"
 * or GROUP_ID_NOT_FOUND) is an item with err GROUP_ID_NOT_FOUND. */
KAFKA_API kafka_err kafka_admin_describe_groups(kafka_admin *a, const char *const *groups, size_t n,
                                                int timeout_ms, kafka_admin_groups **out);

typedef struct kafka_admin_group_result {
    const char *group;
    kafka_err err; /* e.g. NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND */
} kafka_admin_group_result;

typedef struct kafka_admin_group_results {
    kafka_admin_group_result *results; /* in request order */
    size_t n;
} kafka_admin_group_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_group_results_free(kafka_admin_group_results *r);

/* DeleteGroups, one request per group to its coordinator. Only empty
 * groups can be deleted (NON_EMPTY_GROUP otherwise). */
KAFKA_API kafka_err kafka_admin_delete_groups(kafka_admin *a, const char *const *groups, size_t n,
                                              int timeout_ms, kafka_admin_group_results **out);

/* A committed offset of a group. */
typedef struct kafka_admin_group_offset {
    const char *topic;
    int32_t partition;
    kafka_err err;
    int64_t offset;        /* the next offset to consume; -1 = none committed */
    int32_t leader_epoch;  /* OffsetFetch v5+, else -1 */
    const char *metadata;  /* the commit's metadata string, or NULL */
} kafka_admin_group_offset;

typedef struct kafka_admin_group_offsets {
    const char *group;
    kafka_admin_group_offset *offsets; /* sorted by topic, partition */
    size_t n;
} kafka_admin_group_offsets;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_group_offsets_free(kafka_admin_group_offsets *o);

/* OffsetFetch (v2+) of every partition the group committed, from its
 * coordinator. A group that never committed (or does not exist) has no
 * offsets: *out with n == 0, as Kafka answers. */
KAFKA_API kafka_err kafka_admin_fetch_offsets(kafka_admin *a, const char *group, int timeout_ms,
                                              kafka_admin_group_offsets **out);

/* OffsetCommit outside any generation (member id "", generation -1), to
 * the group's coordinator, only while the group has no members: the group
 * is first described (DescribeGroups) and a group in any state but Empty
 * or Dead gets NON_EMPTY_GROUP before anything is written. Brokers
 * without DescribeGroups (librdkafka's mock) skip that check; Kafka
 * itself also refuses such a commit for an active group. Per-partition
 * results in *out (offset = what was committed). */
KAFKA_API kafka_err kafka_admin_alter_offsets(kafka_admin *a, const char *group, const kafka_admin_offset_spec *offs,
                                              size_t n, int timeout_ms, kafka_admin_group_offsets **out);

/* Resets the group's offsets of parts (partition -1 = every partition of
 * the topic) to `to`: KAFKA_ADMIN_OFFSET_EARLIEST, KAFKA_ADMIN_OFFSET_LATEST
 * or a Unix time in ms (the first offset at or after it; the end offset
 * where no record is that recent, as kafka-consumer-groups.sh does). For
 * explicit offsets use kafka_admin_alter_offsets. ListOffsets, then the
 * commit of kafka_admin_alter_offsets (with its empty-group check). */
KAFKA_API kafka_err kafka_admin_reset_offsets(kafka_admin *a, const char *group, const kafka_admin_tp *parts,
                                              size_t n, int64_t to, int timeout_ms, kafka_admin_group_offsets **out);

/* OffsetDelete (Kafka 2.4+) of parts (explicit partitions) from the group,
 * to its coordinator. Per-partition errors in *out (offset -1), e.g.
 * GROUP_SUBSCRIBED_TO_TOPIC while a member consumes the topic. */
KAFKA_API kafka_err kafka_admin_delete_offsets(kafka_admin *a, const char *group, const kafka_admin_tp *parts,
                                               size_t n, int timeout_ms, kafka_admin_group_offsets **out);

/* Lag of one partition: end - committed, or end - start when the group
 * has no commit for it (everything still retained is unread: franz-go's
 * kadm does the same), never negative. */
typedef struct kafka_admin_partition_lag {
    const char *topic;
    int32_t partition;
    kafka_err err;         /* a ListOffsets or commit error; lag is then -1 */
    int64_t committed;     /* -1 = none */
    int64_t start;         /* log start offset */
    int64_t end;           /* high-water mark */
    int64_t lag;
    const char *member_id; /* the member it is assigned to, or NULL */
} kafka_admin_partition_lag;

typedef struct kafka_admin_group_lag {
    const char *group;
    const char *state;   /* from DescribeGroups; NULL when the broker lacks it */
    kafka_admin_partition_lag *partitions; /* sorted by topic, partition */
    size_t n;
    int64_t total;       /* sum of the partitions' lag (errors count 0) */
} kafka_admin_group_lag;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_group_lag_free(kafka_admin_group_lag *l);

/* The group's lag on every partition of every topic it has commits for
 * or is assigned: DescribeGroups or ConsumerGroupDescribe (when the broker
 * has them, for assignments and state), OffsetFetch, then ListOffsets
 * earliest and latest. A group without commits or members has n == 0.
 * Classic and KIP-848 groups. */
KAFKA_API kafka_err kafka_admin_lag(kafka_admin *a, const char *group, int timeout_ms, kafka_admin_group_lag **out);

/* ---- configs --------------------------------------------------------------- */

/* Resource types (Kafka's numbers). */
typedef enum kafka_admin_resource_type {
    KAFKA_ADMIN_RESOURCE_TOPIC = 2,
    KAFKA_ADMIN_RESOURCE_BROKER = 4, /* name: the broker id ("1"); "" = the
                                        cluster-wide broker defaults */
    KAFKA_ADMIN_RESOURCE_BROKER_LOGGER = 8
} kafka_admin_resource_type;

typedef struct kafka_admin_resource {
    kafka_admin_resource_type type;
    const char *name;
} kafka_admin_resource;

/* Where a config value comes from (Kafka's ConfigSource numbers). */
typedef enum kafka_admin_config_source {
    KAFKA_ADMIN_CONFIG_SOURCE_UNKNOWN = 0,
    KAFKA_ADMIN_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
    KAFKA_ADMIN_CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    KAFKA_ADMIN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    KAFKA_ADMIN_CONFIG_SOURCE_STATIC_BROKER = 4,
    KAFKA_ADMIN_CONFIG_SOURCE_DEFAULT = 5,
    KAFKA_ADMIN_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER = 6
} kafka_admin_config_source;

typedef struct kafka_admin_config_synonym {
    const char *name;
    const char *value;
    kafka_admin_config_source source;
} kafka_admin_config_synonym;

typedef struct kafka_admin_config_entry {
    const char *name;
    const char *value;       /* NULL for sensitive values and unset ones */
    kafka_admin_config_source source; /* DescribeConfigs v1+; v0: DEFAULT or UNKNOWN */
    bool is_default;         /* source == DEFAULT */
    bool read_only;
    bool sensitive;
    int8_t type;             /* Kafka's ConfigType (v3+), 0 = unknown */
    const char *documentation; /* v3+, NULL when not sent */
    const kafka_admin_config_synonym *synonyms; /* v1+: lower-precedence values */
    size_t n_synonyms;
} kafka_admin_config_entry;

typedef struct kafka_admin_config_resource {
    kafka_admin_resource_type type;
    const char *name;
    kafka_err err; /* e.g. UNKNOWN_TOPIC_OR_PARTITION */
    const char *message;
    kafka_admin_config_entry *entries; /* sorted by name */
    size_t n_entries;
} kafka_admin_config_resource;

typedef struct kafka_admin_configs {
    kafka_admin_config_resource *resources; /* in request order */
    size_t n;
} kafka_admin_configs;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_configs_free(kafka_admin_configs *c);

/* DescribeConfigs of resources[0..n): topics in one request to any
 * broker, each broker resource to that broker ("" to any broker).
 * keys[0..n_keys) restricts the entries (NULL/0 = all); synonyms are
 * always asked for. */
KAFKA_API kafka_err kafka_admin_describe_configs(kafka_admin *a, const kafka_admin_resource *resources, size_t n,
                                                 const char *const *keys, size_t n_keys, int timeout_ms,
                                                 kafka_admin_configs **out);

typedef enum kafka_admin_config_op {
    KAFKA_ADMIN_CONFIG_SET = 0,
    KAFKA_ADMIN_CONFIG_DELETE = 1,   /* back to the default */
    KAFKA_ADMIN_CONFIG_APPEND = 2,   /* list-valued configs */
    KAFKA_ADMIN_CONFIG_SUBTRACT = 3
} kafka_admin_config_op;

/* One change: config `name` of resource (type, resource). */
typedef struct kafka_admin_config_change {
    kafka_admin_resource_type type;
    const char *resource;
    const char *name;
    kafka_admin_config_op op;
    const char *value; /* NULL with DELETE */
} kafka_admin_config_change;

typedef struct kafka_admin_resource_result {
    kafka_admin_resource_type type;
    const char *name;
    kafka_err err;
    const char *message;
} kafka_admin_resource_result;

typedef struct kafka_admin_resource_results {
    kafka_admin_resource_result *results; /* one per distinct resource, in first-seen order */
    size_t n;
} kafka_admin_resource_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_resource_results_free(kafka_admin_resource_results *r);

/* IncrementalAlterConfigs (Kafka 2.3+): changes[0..n) grouped by
 * resource; topics in one request to any broker, broker resources to
 * that broker. validate_only checks without applying. Only the named
 * configs change (unlike the legacy AlterConfigs, not offered). */
KAFKA_API kafka_err kafka_admin_alter_configs(kafka_admin *a, const kafka_admin_config_change *changes, size_t n,
                                              bool validate_only, int timeout_ms,
                                              kafka_admin_resource_results **out);

/* ---- ACLs ---------------------------------------------------------------- */

/* Kafka's numbers. In a filter 0 means ANY. */
typedef enum kafka_acl_resource {
    KAFKA_ACL_RESOURCE_ANY = 1,
    KAFKA_ACL_RESOURCE_TOPIC = 2,
    KAFKA_ACL_RESOURCE_GROUP = 3,
    KAFKA_ACL_RESOURCE_CLUSTER = 4, /* name "kafka-cluster" */
    KAFKA_ACL_RESOURCE_TRANSACTIONAL_ID = 5,
    KAFKA_ACL_RESOURCE_DELEGATION_TOKEN = 6,
    KAFKA_ACL_RESOURCE_USER = 7
} kafka_acl_resource;

typedef enum kafka_acl_pattern {
    KAFKA_ACL_PATTERN_ANY = 1,   /* filters only */
    KAFKA_ACL_PATTERN_MATCH = 2, /* filters only: what applies to the name */
    KAFKA_ACL_PATTERN_LITERAL = 3,
    KAFKA_ACL_PATTERN_PREFIXED = 4
} kafka_acl_pattern;

typedef enum kafka_acl_operation {
    KAFKA_ACL_OP_ANY = 1,
    KAFKA_ACL_OP_ALL = 2,
    KAFKA_ACL_OP_READ = 3,
    KAFKA_ACL_OP_WRITE = 4,
    KAFKA_ACL_OP_CREATE = 5,
    KAFKA_ACL_OP_DELETE = 6,
    KAFKA_ACL_OP_ALTER = 7,
    KAFKA_ACL_OP_DESCRIBE = 8,
    KAFKA_ACL_OP_CLUSTER_ACTION = 9,
    KAFKA_ACL_OP_DESCRIBE_CONFIGS = 10,
    KAFKA_ACL_OP_ALTER_CONFIGS = 11,
    KAFKA_ACL_OP_IDEMPOTENT_WRITE = 12,
    KAFKA_ACL_OP_CREATE_TOKENS = 13,
    KAFKA_ACL_OP_DESCRIBE_TOKENS = 14
} kafka_acl_operation;

typedef enum kafka_acl_permission {
    KAFKA_ACL_PERMISSION_ANY = 1,
    KAFKA_ACL_PERMISSION_DENY = 2,
    KAFKA_ACL_PERMISSION_ALLOW = 3
} kafka_acl_permission;

/* An ACL binding (create; results), or a filter (describe, delete) where
 * 0 enums and NULL strings mean "any". In a binding to create, pattern 0
 * means LITERAL and host NULL means "*" (every host); the other fields
 * are required. */
typedef struct kafka_admin_acl {
    kafka_acl_resource resource_type;
    const char *resource_name;
    kafka_acl_pattern pattern;
    const char *principal; /* "User:alice" */
    const char *host;
    kafka_acl_operation operation;
    kafka_acl_permission permission;
} kafka_admin_acl;

typedef struct kafka_admin_acls {
    kafka_admin_acl *acls;
    size_t n;
} kafka_admin_acls;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_acls_free(kafka_admin_acls *l);

/* DescribeAcls with one filter, any broker. Brokers without an
 * authorizer answer SECURITY_DISABLED. */
KAFKA_API kafka_err kafka_admin_describe_acls(kafka_admin *a, const kafka_admin_acl *filter, int timeout_ms,
                                              kafka_admin_acls **out);

typedef struct kafka_admin_acl_result {
    kafka_err err;
    const char *message; /* or NULL */
    kafka_admin_acl *matched; /* delete only: the ACLs the filter removed */
    size_t n_matched;
} kafka_admin_acl_result;

typedef struct kafka_admin_acl_results {
    kafka_admin_acl_result *results; /* one per binding or filter, in order */
    size_t n;
} kafka_admin_acl_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_acl_results_free(kafka_admin_acl_results *r);

/* CreateAcls of acls[0..n) in one request, any broker. */
KAFKA_API kafka_err kafka_admin_create_acls(kafka_admin *a, const kafka_admin_acl *acls, size_t n, int timeout_ms,
                                            kafka_admin_acl_results **out);

/* DeleteAcls of filters[0..n) in one request, any broker; each result
 * lists the ACLs its filter matched and removed. */
KAFKA_API kafka_err kafka_admin_delete_acls(kafka_admin *a, const kafka_admin_acl *filters, size_t n, int timeout_ms,
                                            kafka_admin_acl_results **out);

/* ---- SCRAM users (KIP-554, Kafka 2.7+) --------------------------------------- */

typedef struct kafka_admin_scram_credential {
    kafka_sasl_mechanism_id mechanism; /* KAFKA_SASL_SCRAM_SHA_256 or _512 */
    int32_t iterations;
} kafka_admin_scram_credential;

typedef struct kafka_admin_scram_user {
    const char *user;
    kafka_err err; /* RESOURCE_NOT_FOUND for a user without credentials */
    const char *message;
    const kafka_admin_scram_credential *credentials; /* describe only */
    size_t n_credentials;
} kafka_admin_scram_user;

typedef struct kafka_admin_scram_users {
    kafka_admin_scram_user *users;
    size_t n;
} kafka_admin_scram_users;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_scram_users_free(kafka_admin_scram_users *u);

/* DescribeUserScramCredentials of users[0..n) (NULL/0 = every user with
 * credentials), any broker. Passwords never leave the broker: only the
 * mechanisms and iteration counts. */
KAFKA_API kafka_err kafka_admin_describe_scram_users(kafka_admin *a, const char *const *users, size_t n,
                                                     int timeout_ms, kafka_admin_scram_users **out);

/* A credential to create or replace. The salted password is computed
 * here (PBKDF2 with a random 32-byte salt): the password itself is never
 * sent. iterations 0 = 8192; otherwise 4096..16384 (Kafka's bounds). */
typedef struct kafka_admin_scram_upsert {
    const char *user;
    kafka_sasl_mechanism_id mechanism;
    int32_t iterations;
    const char *password;
} kafka_admin_scram_upsert;

/* A credential to delete. */
typedef struct kafka_admin_scram_delete {
    const char *user;
    kafka_sasl_mechanism_id mechanism;
} kafka_admin_scram_delete;

/* AlterUserScramCredentials of upserts[0..n_upserts) and
 * deletes[0..n_deletes) in one request, to the controller (any broker
 * when none is named). One result per distinct user, in order. */
KAFKA_API kafka_err kafka_admin_alter_scram_users(kafka_admin *a, const kafka_admin_scram_upsert *upserts,
                                                  size_t n_upserts, const kafka_admin_scram_delete *deletes,
                                                  size_t n_deletes, int timeout_ms, kafka_admin_scram_users **out);

/* ---- replicas: leader elections, log dirs ------------------------------------ */

/* The outcome for one partition. */
typedef struct kafka_admin_partition_result {
    const char *topic;
    int32_t partition;
    kafka_err err;
    const char *message; /* or NULL */
} kafka_admin_partition_result;

typedef struct kafka_admin_partition_results {
    kafka_admin_partition_result *results; /* sorted by topic, partition */
    size_t n;
} kafka_admin_partition_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_partition_results_free(kafka_admin_partition_results *r);

typedef enum kafka_admin_election {
    KAFKA_ADMIN_ELECT_PREFERRED = 0, /* move leadership back to the preferred replica */
    KAFKA_ADMIN_ELECT_UNCLEAN = 1    /* elect an out-of-sync replica of a leaderless partition (data loss) */
} kafka_admin_election;

/* ElectLeaders (Kafka 2.2+; unclean needs 2.4+) for parts (partition -1
 * = every partition of the topic; an unknown one is an item error), to
 * the controller. A partition whose preferred replica already leads gets
 * ELECTION_NOT_NEEDED, which does not count as a failure in the return
 * value. */
KAFKA_API kafka_err kafka_admin_elect_leaders(kafka_admin *a, const kafka_admin_tp *parts, size_t n,
                                              kafka_admin_election election, int timeout_ms,
                                              kafka_admin_partition_results **out);

typedef struct kafka_admin_log_dir_partition {
    const char *topic;
    int32_t partition;
    int64_t size;       /* bytes */
    int64_t offset_lag; /* behind the log end (a future replica being moved), else 0 */
    bool is_future;     /* the replica is being moved into this dir */
} kafka_admin_log_dir_partition;

typedef struct kafka_admin_log_dir {
    const char *path;
    kafka_err err; /* KAFKA_STORAGE_ERROR for an offline dir */
    int64_t total_bytes, usable_bytes; /* DescribeLogDirs v4+, else -1 */
    kafka_admin_log_dir_partition *partitions;
    size_t n_partitions;
} kafka_admin_log_dir;

typedef struct kafka_admin_broker_log_dirs {
    int32_t broker;
    kafka_err err; /* the broker could not be asked */
    kafka_admin_log_dir *dirs;
    size_t n_dirs;
} kafka_admin_broker_log_dirs;

typedef struct kafka_admin_log_dirs {
    kafka_admin_broker_log_dirs *brokers; /* in request order (or by id) */
    size_t n;
} kafka_admin_log_dirs;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_log_dirs_free(kafka_admin_log_dirs *d);

/* DescribeLogDirs (Kafka 1.0+) of every partition, sent to each of
 * brokers[0..n) (NULL/0 = every broker Metadata lists). */
KAFKA_API kafka_err kafka_admin_describe_log_dirs(kafka_admin *a, const int32_t *brokers, size_t n, int timeout_ms,
                                                  kafka_admin_log_dirs **out);

/* A partition's replica set to move to (alter), or its move in progress
 * (list). */
typedef struct kafka_admin_reassignment {
    const char *topic;
    int32_t partition;
    const int32_t *replicas; /* alter: the target replicas, NULL/0 = cancel
                                the move in progress; list: the current set */
    size_t n_replicas;
    const int32_t *adding;   /* list only: replicas being added */
    size_t n_adding;
    const int32_t *removing; /* list only: replicas being removed */
    size_t n_removing;
} kafka_admin_reassignment;

typedef struct kafka_admin_reassignments {
    kafka_admin_reassignment *reassignments; /* sorted by topic, partition */
    size_t n;
} kafka_admin_reassignments;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_reassignments_free(kafka_admin_reassignments *r);

/* AlterPartitionReassignments (KIP-455, Kafka 2.4+), to the controller:
 * starts (or cancels) moving each partition to its replicas. Per-partition
 * results in *out. */
KAFKA_API kafka_err kafka_admin_alter_reassignments(kafka_admin *a, const kafka_admin_reassignment *moves, size_t n,
                                                    int timeout_ms, kafka_admin_partition_results **out);

/* ListPartitionReassignments, to the controller: the moves in progress of
 * parts (partition -1 = every partition of the topic; NULL/0 = every
 * partition of the cluster). An unknown topic or partition among parts
 * makes the call return UNKNOWN_TOPIC_OR_PARTITION, with the moves of the
 * others still in *out. */
KAFKA_API kafka_err kafka_admin_list_reassignments(kafka_admin *a, const kafka_admin_tp *parts, size_t n,
                                                   int timeout_ms, kafka_admin_reassignments **out);

/* ---- producers (KIP-664, Kafka 3.0+) ------------------------------------------ */

typedef struct kafka_admin_producer {
    int64_t producer_id;
    int32_t producer_epoch;
    int32_t last_sequence;
    int64_t last_timestamp;
    int32_t coordinator_epoch;
    int64_t txn_start_offset; /* first offset of its open transaction, -1 = none */
} kafka_admin_producer;

typedef struct kafka_admin_partition_producers {
    const char *topic;
    int32_t partition;
    kafka_err err;
    const char *message;
    const kafka_admin_producer *producers; /* active producers */
    size_t n_producers;
} kafka_admin_partition_producers;

typedef struct kafka_admin_producers {
    kafka_admin_partition_producers *partitions; /* sorted by topic, partition */
    size_t n;
} kafka_admin_producers;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_producers_free(kafka_admin_producers *p);

/* DescribeProducers of parts (partition -1 = every partition of the
 * topic), one request per partition leader, answers merged. */
KAFKA_API kafka_err kafka_admin_describe_producers(kafka_admin *a, const kafka_admin_tp *parts, size_t n,
                                                   int timeout_ms, kafka_admin_producers **out);

/* ---- transactions (KIP-664, Kafka 3.0+) ---------------------------------------- */

typedef struct kafka_admin_txn_listing {
    const char *transactional_id;
    int64_t producer_id;
    const char *state; /* "Ongoing", "CompleteCommit", ... */
    int32_t coordinator;
} kafka_admin_txn_listing;

typedef struct kafka_admin_txn_list {
    kafka_admin_txn_listing *txns; /* sorted by transactional id */
    size_t n;
    kafka_admin_broker_error *errors; /* brokers that failed to answer */
    size_t n_errors;
} kafka_admin_txn_list;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_txn_list_free(kafka_admin_txn_list *l);

/* ListTransactions on every broker (each lists the transactional ids it
 * coordinates), merged; states ("Ongoing", ...) and producer ids filter
 * (NULL/0 = no filter). Failing brokers are in errors and their error is
 * returned, as in kafka_admin_list_groups. */
KAFKA_API kafka_err kafka_admin_list_transactions(kafka_admin *a, const char *const *states, size_t n_states,
                                                  const int64_t *producer_ids, size_t n_producer_ids, int timeout_ms,
                                                  kafka_admin_txn_list **out);

typedef struct kafka_admin_txn {
    const char *transactional_id;
    kafka_err err; /* TRANSACTIONAL_ID_NOT_FOUND for an unknown id */
    const char *state;
    int32_t timeout_ms;
    int64_t start_time_ms; /* -1 when no transaction is open */
    int64_t producer_id;
    int16_t producer_epoch;
    const kafka_admin_tp *partitions; /* in the open transaction */
    size_t n_partitions;
    int32_t coordinator;
} kafka_admin_txn;

typedef struct kafka_admin_txns {
    kafka_admin_txn *txns; /* in request order */
    size_t n;
} kafka_admin_txns;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_txns_free(kafka_admin_txns *t);

/* DescribeTransactions, one request per id to its transaction
 * coordinator (FindCoordinator key type 1). */
KAFKA_API kafka_err kafka_admin_describe_transactions(kafka_admin *a, const char *const *ids, size_t n,
                                                      int timeout_ms, kafka_admin_txns **out);

/* ---- client quotas (KIP-546, Kafka 2.6+) ------------------------------------- */

/* One part of a quota entity: type "user", "client-id" or "ip"; name
 * NULL = the default entity of that type. */
typedef struct kafka_admin_quota_entity {
    const char *type;
    const char *name;
} kafka_admin_quota_entity;

typedef struct kafka_admin_quota_value {
    const char *key; /* "producer_byte_rate", "consumer_byte_rate", "request_percentage", ... */
    double value;
} kafka_admin_quota_value;

typedef struct kafka_admin_quota_entry {
    const kafka_admin_quota_entity *entity; /* e.g. {user alice} or {user alice, client-id app} */
    size_t n_entity;
    const kafka_admin_quota_value *values;
    size_t n_values;
} kafka_admin_quota_entry;

typedef struct kafka_admin_quotas {
    kafka_admin_quota_entry *entries;
    size_t n;
} kafka_admin_quotas;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_quotas_free(kafka_admin_quotas *q);

typedef enum kafka_admin_quota_match {
    KAFKA_ADMIN_QUOTA_MATCH_EXACT = 0,   /* the entity named `name` */
    KAFKA_ADMIN_QUOTA_MATCH_DEFAULT = 1, /* the default entity of the type */
    KAFKA_ADMIN_QUOTA_MATCH_ANY = 2      /* any entity of the type, default included */
} kafka_admin_quota_match;

typedef struct kafka_admin_quota_filter {
    const char *type;
    kafka_admin_quota_match match;
    const char *name; /* with MATCH_EXACT */
} kafka_admin_quota_filter;

/* DescribeClientQuotas, any broker: the quotas of entities matching every
 * filter[0..n) (n == 0: every entity); strict = only entities with no
 * other part than the filtered types. */
KAFKA_API kafka_err kafka_admin_describe_quotas(kafka_admin *a, const kafka_admin_quota_filter *filters, size_t n,
                                                bool strict, int timeout_ms, kafka_admin_quotas **out);

/* One change of one quota of one entity. */
typedef struct kafka_admin_quota_change {
    const kafka_admin_quota_entity *entity;
    size_t n_entity;
    const char *key;
    double value;
    bool remove; /* remove the quota (value ignored) */
} kafka_admin_quota_change;

typedef struct kafka_admin_quota_result {
    kafka_err err;
    const char *message;
} kafka_admin_quota_result;

typedef struct kafka_admin_quota_results {
    kafka_admin_quota_result *results; /* one per distinct entity, in first-seen order */
    size_t n;
} kafka_admin_quota_results;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_quota_results_free(kafka_admin_quota_results *r);

/* AlterClientQuotas, any broker: changes[0..n) grouped by entity (same
 * parts in the same order). validate_only checks without applying. */
KAFKA_API kafka_err kafka_admin_alter_quotas(kafka_admin *a, const kafka_admin_quota_change *changes, size_t n,
                                             bool validate_only, int timeout_ms, kafka_admin_quota_results **out);

/* ---- cluster ------------------------------------------------------------- */

typedef struct kafka_admin_broker {
    int32_t id;
    const char *host;
    int32_t port;
    const char *rack; /* NULL when none */
} kafka_admin_broker;

typedef struct kafka_admin_cluster {
    const char *cluster_id; /* Metadata v2+, else NULL */
    int32_t controller;     /* broker id; -1 when Metadata names none of its brokers */
    kafka_admin_broker *brokers; /* sorted by id */
    size_t n_brokers;
} kafka_admin_cluster;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_cluster_free(kafka_admin_cluster *c);

/* Metadata without topics, any broker. */
KAFKA_API kafka_err kafka_admin_describe_cluster(kafka_admin *a, int timeout_ms, kafka_admin_cluster **out);

typedef struct kafka_admin_broker_apis {
    int32_t broker;
    kafka_err err; /* e.g. TRANSPORT when the broker could not be reached */
    const kafka_api_version *apis;
    size_t n_apis;
} kafka_admin_broker_apis;

typedef struct kafka_admin_versions {
    kafka_admin_broker_apis *brokers; /* sorted by broker id */
    size_t n;
} kafka_admin_versions;

/* Frees the result and everything it points to. NULL-safe. */
KAFKA_API void kafka_admin_versions_free(kafka_admin_versions *v);

/* ApiVersions of every broker Metadata lists (the versions each broker
 * answered when the connection was opened). */
KAFKA_API kafka_err kafka_admin_api_versions(kafka_admin *a, int timeout_ms, kafka_admin_versions **out);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_ADMIN_H */
