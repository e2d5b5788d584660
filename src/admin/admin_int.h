/*
 * kafka_admin internals: the client object, one routed round trip with
 * retries (admin_rpc_run), owned results, and small copy helpers shared by
 * the per-area files (admin_topics.c, admin_offsets.c, admin_groups.c,
 * admin_configs.c, admin_cluster.c).
 *
 * Layering: requests are built with the generated codecs
 * (src/protocol/gen/) and sent through the cluster layer's pooled
 * connections; nothing here touches bytes or sockets.
 */
#ifndef KAFKA_ADMIN_INT_H
#define KAFKA_ADMIN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "common/arena.h"
#include "conn/conn_internal.h"
#include "kafka/admin.h"
#include "protocol/wire.h"

struct kafka_admin {
    kafka_cluster *kc;
    int backoff_min_ms, backoff_max_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on close and when a call leaves */
    bool closed;
    int calls; /* calls in progress (close waits for them) */
    char last_error[512];
};

/* Records the detailed text of a failure (printf-style); returns err. */
kafka_err admin_fail(kafka_admin *a, kafka_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Records the failure of one item of a result: "what: item [partition]:
 * NAME (description): broker message" (partition < 0 and message NULL
 * are left out); returns err. */
kafka_err admin_item_fail(kafka_admin *a, const char *what, const char *item, int32_t partition, kafka_err err,
                          const char *message);

/* Brackets every public call: enter fails with CLOSED after close. */
kafka_err admin_enter(kafka_admin *a);
void admin_leave(kafka_admin *a);

/* Absolute monotonic deadline of a call's timeout_ms (-1 = none). */
int64_t admin_deadline(int timeout_ms);

/* Sleeps the backoff of retry `attempt`; false when the deadline would
 * pass first (no sleep then) or the client was closed (then *err becomes
 * KAFKA_ERR_CLOSED, so that the call reports the close). */
bool admin_backoff(kafka_admin *a, int attempt, int64_t deadline, kafka_err *err);

/* Metadata (kafka_cluster_metadata's flags) retried until the deadline;
 * the answer lives in `arena`. */
struct kafka_metadata_response;
kafka_err admin_metadata(kafka_admin *a, const char *what, const char *const *topics, size_t n, unsigned flags,
                         int64_t deadline, kafka_arena *arena, struct kafka_metadata_response *resp, int16_t *version);

typedef enum admin_route {
    ADMIN_ROUTE_ANY,        /* any broker */
    ADMIN_ROUTE_CONTROLLER, /* the controller, else any broker */
    ADMIN_ROUTE_BROKER,     /* rpc.broker */
    ADMIN_ROUTE_GROUP,      /* the coordinator of group rpc.group */
    ADMIN_ROUTE_TXN         /* the coordinator of transactional id rpc.group */
} admin_route;

/* One request/response exchange, routed and retried by admin_rpc_run. */
typedef struct admin_rpc {
    const char *what; /* "create topics": prefix of error texts */
    admin_route route;
    int32_t broker;    /* ADMIN_ROUTE_BROKER */
    const char *group; /* ADMIN_ROUTE_GROUP / _TXN: the group or transactional id */
    int16_t api, vmin, vmax;
    kafka_encode_fn enc;
    kafka_decode_fn dec;
    /* Builds the request for version v (arrays from the arena) into *req. */
    kafka_err (*build)(void *ctx, int16_t v, kafka_arena *arena, const void **req);
    /* Optional: the routing error an answer carries (NOT_CONTROLLER,
     * NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...), which makes
     * the call look its target up again and retry; 0 when none. */
    kafka_err (*routing_err)(void *ctx, int16_t v, const void *resp);
    void *ctx;
    void *resp;          /* decoded into (arena-allocated arrays) */
    int16_t version;     /* out: the version used */
    int32_t answered_by; /* out: broker id of the target, -1 = unknown */
} admin_rpc;

/* Sends the request to its target and decodes the answer into r->resp,
 * retrying retriable failures with backoff until the deadline. The answer
 * lives in `arena` (reset at each attempt). Returns 0, or the last error
 * with kafka_admin_last_error set. */
kafka_err admin_rpc_run(kafka_admin *a, admin_rpc *r, kafka_arena *arena, int64_t deadline);

/* Runs *rpc on every broker Metadata lists (route and broker set here),
 * calling answered(ctx, rpc) after each answer: it copies what it needs
 * and returns the answer's top-level error (0 when none; NOMEM stops).
 * A broker that fails is recorded in *errors (allocated from `ar`), the
 * first one's error in *first (and its text in last_error). Returns only
 * what stops the whole call: NO_COMMON_VERSION, CLOSED, NOMEM. */
kafka_err admin_each_broker(kafka_admin *a, admin_rpc *rpc, int64_t deadline, kafka_arena *ar,
                            kafka_err (*answered)(void *ctx, const admin_rpc *rpc), void *ctx,
                            kafka_admin_broker_error **errors, size_t *n_errors, kafka_err *first);

/* An arena-allocated array of n elements (arr, capacity *cap) able to
 * hold `need`: arr itself, or a larger copy (the old block stays in the
 * arena until it is freed); NULL when out of memory. */
void *admin_grow(kafka_arena *ar, void *arr, size_t *cap, size_t n, size_t need, size_t elem);

/* True for errors an answer carries when it went to the wrong broker. */
bool admin_err_is_routing(kafka_err err);

/* ---- owned results ---------------------------------------------------------
 * A result is one allocation holding an arena followed by the public
 * struct; everything the struct points to comes from that arena. */
void *admin_result_new(size_t size, kafka_arena **arena);
void admin_result_free(void *pub);
/* The arena of a result made by admin_result_new. */
kafka_arena *admin_result_arena(void *pub);

/* NUL-terminated copies into an arena; NULL for a null string (and, for
 * admin_str, on allocation failure: callers check arena failures with
 * admin_strz when NULL is not a valid value). */
const char *admin_str(kafka_arena *a, kafka_str s);
const char *admin_strz(kafka_arena *a, const char *s);
int32_t *admin_ints(kafka_arena *a, const int32_t *v, int32_t n, size_t *n_out);

/* Ids of the brokers a fresh Metadata answer lists (kafka_calloc'd array
 * in *ids, freed with kafka_free). */
kafka_err admin_brokers(kafka_admin *a, const char *what, int64_t deadline, int32_t **ids, size_t *n);

/* kafka_admin_list_offsets inside a call (admin_enter done). */
kafka_err admin_list_offsets(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int64_t timestamp,
                             int64_t deadline, kafka_admin_offsets **out);

/* Validates a topic name as Kafka does (1..249 of [a-zA-Z0-9._-]). */
bool admin_topic_name_ok(const char *name);

#endif
