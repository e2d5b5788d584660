/*
 * kafka_cluster: what writers, readers and the admin client share about a
 * cluster — a metadata cache (topics, partitions, leaders, brokers), group
 * and transaction coordinators, and a pool of connections per broker
 * (kafka-go's Transport).
 *
 * Metadata is refreshed when it is older than metadata_max_age_ms, and on
 * demand after kafka_cluster_invalidate() (callers invalidate on
 * NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE
 * and disconnects). Refreshes are single-flight (concurrent callers wait for
 * the one in progress) and rate-limited by backoff_min_ms, so a storm of
 * errors cannot turn into a storm of Metadata requests.
 *
 * The broker table follows the metadata: a broker the latest answer no
 * longer lists is forgotten (its idle connections closed) once no
 * connection to it is borrowed and no cached coordinator names it;
 * kafka_cluster_acquire() of a forgotten id is KAFKA_ERR_BROKER_NOT_AVAILABLE.
 * Connections are always closed after the cluster's lock is released, so
 * a user transport's close callback never runs under it.
 *
 * Deadlines are absolute CLOCK_MONOTONIC milliseconds (kafka_now_ms(),
 * -1 = none). Every call is thread-safe.
 */
#ifndef KAFKA_CLUSTER_H
#define KAFKA_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "kafka/error.h"
#include "protocol/wire.h"

typedef struct kafka_cluster kafka_cluster;

typedef struct kafka_cluster_config {
    const char *bootstrap;             /* "h1:9092,h2:9092"; required; copied */
    const kafka_dialer_config *dialer; /* NULL = defaults; deep-copied (the
                                          transport and callbacks are not:
                                          they must outlive the cluster) */
    int dial_timeout_ms;               /* default 10000 */
    int metadata_max_age_ms;           /* default 60000 */
    int backoff_min_ms;                /* default 100 */
    int backoff_max_ms;                /* default 1000 */
    int max_conns_per_broker;          /* default 2 */
    bool allow_auto_topic_creation;    /* Metadata's flag; default false */
} kafka_cluster_config;

/* One partition as the cache knows it. leader is -1 when there is none. */
typedef struct kafka_cluster_partition {
    int32_t id;
    int32_t leader;
    int32_t leader_epoch;
    kafka_err err;
} kafka_cluster_partition;

/* An immutable, reference-counted snapshot of one topic. */
typedef struct kafka_cluster_topic {
    const char *name;
    kafka_err err;                       /* topic-level error, 0 if none */
    int32_t n_partitions;
    const kafka_cluster_partition *partitions; /* sorted by id */
    const int32_t *partition_ids;        /* 0..n-1 ids, for balancers */
} kafka_cluster_topic;

/* Creates a cluster handle; does no I/O. errbuf gets the reason of a
 * failure (e.g. an empty or malformed bootstrap list). */
kafka_err kafka_cluster_new(const kafka_cluster_config *cfg, kafka_cluster **out, char *errbuf, size_t errlen);

/* Wakes every call blocked on the cluster and on its borrowed
 * connections; later calls return KAFKA_ERR_CLOSED. Does not block. */
void kafka_cluster_interrupt(kafka_cluster *kc);

/* Closes every connection and frees. Every borrowed connection must have
 * been released first (interrupt, then let the borrowers finish). */
void kafka_cluster_free(kafka_cluster *kc);

/* Returns the topic's snapshot in *out (release with
 * kafka_cluster_topic_release), refreshing the metadata when the topic is
 * unknown, stale or invalidated. A topic-level error is returned as the
 * call's error *and* kept in (*out)->err. Blocks up to the deadline. */
kafka_err kafka_cluster_topic_get(kafka_cluster *kc, const char *topic, int64_t deadline,
                                  const kafka_cluster_topic **out);
void kafka_cluster_topic_release(kafka_cluster *kc, const kafka_cluster_topic *t);

/* Leader broker id of topic/partition (refreshing as topic_get does).
 * Errors: the partition's or topic's Kafka error, LEADER_NOT_AVAILABLE when
 * it has no leader, UNKNOWN_TOPIC_OR_PARTITION for a partition id out of
 * range. */
kafka_err kafka_cluster_leader(kafka_cluster *kc, const char *topic, int32_t partition, int64_t deadline,
                               int32_t *leader_out);

/* The leader of `partition` in snapshot t: 0 and *leader_out, or t's
 * topic error, UNKNOWN_TOPIC_OR_PARTITION for an id t lacks,
 * LEADER_NOT_AVAILABLE (or the partition's own error) when it has none.
 * Pure: the one place this rule lives. */
kafka_err kafka_cluster_topic_leader(const kafka_cluster_topic *t, int32_t partition, int32_t *leader_out);

/* ---- the sans-I/O face of metadata ----------------------------------------
 *
 * For owners that do their own I/O (the reader and writer on their engine,
 * src/engine/meta.h): look up what the cache knows now without blocking,
 * build a Metadata request for the topics that need one, and apply the
 * decoded answer. The blocking calls above are these same steps over a
 * pooled connection. */

/* Non-blocking topic lookup at time `now` (monotonic ms). Three outcomes:
 *  - known: 0 and *out (release with kafka_cluster_topic_release);
 *  - a definitive error from the last answer (the topic's error, e.g.
 *    UNKNOWN_TOPIC_OR_PARTITION for a topic the answer lacked): returned,
 *    with *out set; it stays the answer until kafka_cluster_invalidate or
 *    until backoff_max_ms old;
 *  - pending: 0 and *out NULL: nothing usable is cached (never asked,
 *    invalidated): ask a refresh for the topic and look again after it.
 * *refresh says the topic should be in the next Metadata request (also
 * for an answer past metadata_max_age_ms, served meanwhile). Takes the
 * cluster's lock; no I/O. */
kafka_err kafka_cluster_topic_cached(kafka_cluster *kc, const char *topic, int64_t now,
                                     const kafka_cluster_topic **out, bool *refresh);

/* kafka_cluster_topic_cached + kafka_cluster_topic_leader: 0 with
 * *leader_out >= 0 (known), 0 with -1 (pending: refresh), or the
 * definitive error. */
kafka_err kafka_cluster_leader_cached(kafka_cluster *kc, const char *topic, int32_t partition, int64_t now,
                                      int32_t *leader_out, bool *refresh);

/* Highest Metadata version the cluster layer asks for. */
#define KAFKA_CLUSTER_MD_MAX_VERSION INT16_MAX

/* Builds the Metadata request for topics names[0..n) at `version` into
 * *req (arrays from arena; the names are referenced, not copied), with
 * flags as kafka_cluster_metadata takes them. The one place a Metadata
 * request is built. */
struct kafka_metadata_request;
kafka_err kafka_cluster_md_request(const kafka_cluster *kc, const char *const *names, size_t n, unsigned flags,
                                   int16_t version, kafka_arena *arena, struct kafka_metadata_request *req);

/* Applies a decoded Metadata answer to the cache (brokers, topics,
 * partitions, leaders); asked[0..n_asked) are the topics the request named:
 * those the answer lacks are recorded as UNKNOWN_TOPIC_OR_PARTITION. */
struct kafka_metadata_response;
kafka_err kafka_cluster_md_apply(kafka_cluster *kc, const struct kafka_metadata_response *resp,
                                 const char *const *asked, size_t n_asked);

/* Brokers worth sending a Metadata request to: the ones the last answer
 * listed, then the bootstrap entries (negative ids <= -2, which
 * kafka_cluster_acquire accepts). Copies at most max; returns how many. */
size_t kafka_cluster_md_candidates(kafka_cluster *kc, int32_t *ids, size_t max);

/* Marks a topic's metadata stale (NULL: every topic); the next lookup
 * refreshes it. Does not block. */
void kafka_cluster_invalidate(kafka_cluster *kc, const char *topic);

/* Coordinator of a group (key_type 0) or transactional id (key_type 1),
 * via FindCoordinator, cached until kafka_cluster_invalidate_coordinator. */
kafka_err kafka_cluster_coordinator(kafka_cluster *kc, const char *key, int8_t key_type, int64_t deadline,
                                    int32_t *broker_out);
void kafka_cluster_invalidate_coordinator(kafka_cluster *kc, const char *key, int8_t key_type);

/* The sans-I/O face of the coordinator lookup, for owners that send
 * FindCoordinator through their engine (the group reader): the request
 * body for key at `version`, built where the blocking lookup builds it;
 * and the answer's body applied: 0 and *broker_out (cached as key's
 * coordinator, its address in the broker table), or the error
 * (COORDINATOR_NOT_AVAILABLE for a node < 0, PROTOCOL for a body that does
 * not decode). */
kafka_err kafka_cluster_fc_encode(const char *key, int8_t key_type, int16_t version, kafka_wbuf *w);
kafka_err kafka_cluster_fc_answer(kafka_cluster *kc, const char *key, int8_t key_type, int16_t version,
                                  const uint8_t *body, size_t len, int32_t *broker_out);

/* Borrows a connection to broker `broker_id` from the pool, dialing one
 * when none is idle and the per-broker limit allows, else waiting for one
 * to be released. The borrower has the conn to itself until it calls
 * kafka_cluster_release. Blocks up to the deadline. */
kafka_err kafka_cluster_acquire(kafka_cluster *kc, int32_t broker_id, int64_t deadline, kafka_conn **out);

/* Copies broker broker_id's "host:port" into buf (for a connection made
 * outside the pool: the engine's). BROKER_NOT_AVAILABLE for an id the
 * cluster does not know, CLOSED after close. Does not block. */
kafka_err kafka_cluster_broker_addr(kafka_cluster *kc, int32_t broker_id, char *buf, size_t len);

/* Borrows a connection to any reachable broker (known brokers first, then
 * the bootstrap list): for Metadata and similar requests. */
kafka_err kafka_cluster_acquire_any(kafka_cluster *kc, int64_t deadline, kafka_conn **out);

/* Returns a borrowed connection. reusable = false closes it (after a
 * transport error, a timeout or a protocol violation, the stream is in an
 * unknown state). Does not block. */
void kafka_cluster_release(kafka_cluster *kc, kafka_conn *conn, bool reusable);

/* True when err means the conn it came from must not be reused. */
bool kafka_cluster_err_breaks_conn(kafka_err err);

/* Sets the deadline (monotonic ms, -1 = none) on a borrowed conn. */
void kafka_cluster_conn_deadline(kafka_conn *conn, int64_t deadline);

/* Broker ids currently known (from the last metadata); copies at most max
 * into ids and returns how many there are. */
size_t kafka_cluster_brokers(kafka_cluster *kc, int32_t *ids, size_t max);

/* Flags of kafka_cluster_metadata. */
#define KAFKA_CLUSTER_MD_ALL_TOPICS 0x1  /* n == 0 means every topic (else none) */
#define KAFKA_CLUSTER_MD_NEVER_CREATE 0x2 /* brokers older than Metadata v4
                                             cannot be told not to create a
                                             named topic: ask for every topic
                                             instead (callers filter) */

/* One Metadata round trip on any broker for `topics` (n names; n == 0:
 * every topic with KAFKA_CLUSTER_MD_ALL_TOPICS, else none: brokers and
 * controller only, which Metadata v0 cannot ask and answers with every
 * topic). The broker
 * table is updated from the answer (so kafka_cluster_acquire of a listed
 * broker works), cached topics too; the decoded answer is left in *resp,
 * allocated from `arena`; *version (may be NULL) gets the version used.
 * No retries: one attempt, bounded by the deadline. Auto-creation follows
 * the cluster config (Metadata v4+; older brokers decide themselves). */
struct kafka_metadata_response;
kafka_err kafka_cluster_metadata(kafka_cluster *kc, const char *const *topics, size_t n, unsigned flags,
                                 int64_t deadline, kafka_arena *arena, struct kafka_metadata_response *resp,
                                 int16_t *version);

/* Copy of the dialer config the cluster uses (valid for its lifetime). */
const kafka_dialer_config *kafka_cluster_dialer(const kafka_cluster *kc);

#endif
