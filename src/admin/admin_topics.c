/* Topics: create, delete, create partitions (controller), list and
 * describe (Metadata). */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "conn/topic_requests.h"
#include "protocol/api.h"
#include "protocol/gen/create_partitions.h"
#include "protocol/gen/create_topics.h"
#include "protocol/gen/delete_topics.h"
#include "protocol/gen/metadata.h"

KAFKA_CONN_ENCODER(create_topics_request)
KAFKA_CONN_DECODER(create_topics_response)
KAFKA_CONN_ENCODER(delete_topics_request)
KAFKA_CONN_DECODER(delete_topics_response)
KAFKA_CONN_ENCODER(create_partitions_request)
KAFKA_CONN_DECODER(create_partitions_response)

void kafka_admin_topic_results_free(kafka_admin_topic_results *r) { admin_result_free(r); }
void kafka_admin_topics_free(kafka_admin_topics *t) { admin_result_free(t); }

/* Checks a list of topic names: each valid, none repeated. */
static kafka_err check_names(kafka_admin *a, const char *what, const char *const *names, size_t n,
                             size_t stride_bytes)
{
    if (n == 0 || !names)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no topics given", what);
    if (n > INT32_MAX)
        return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: too many topics", what);
    for (size_t i = 0; i < n; i++) {
        const char *t = *(const char *const *)(const void *)((const char *)names + i * stride_bytes);
        if (!admin_topic_name_ok(t))
            return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: invalid topic name \"%s\" (1..249 of a-z A-Z 0-9 . _ -)",
                              what, t ? t : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(t, *(const char *const *)(const void *)((const char *)names + j * stride_bytes)) == 0)
                return admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: topic \"%s\" named twice", what, t);
    }
    return 0;
}

/* A results struct with one entry per requested topic, all UNKNOWN until
 * the answer fills them. */
static kafka_admin_topic_results *results_new(const char *const *names, size_t n, size_t stride_bytes)
{
    kafka_arena *ar;
    kafka_admin_topic_results *r = admin_result_new(sizeof *r, &ar);
    if (!r)
        return NULL;
    r->results = kafka_arena_calloc(ar, n, sizeof *r->results);
    if (!r->results) {
        admin_result_free(r);
        return NULL;
    }
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        kafka_admin_topic_result *x = &r->results[i];
        x->topic = admin_strz(ar, *(const char *const *)(const void *)((const char *)names + i * stride_bytes));
        x->err = KAFKA_ERR_PROTOCOL; /* until the answer names it */
        x->message = "the broker's answer did not mention this topic";
        x->partitions = -1;
        x->replication_factor = -1;
        if (!x->topic) {
            admin_result_free(r);
            return NULL;
        }
    }
    return r;
}

static kafka_admin_topic_result *result_for(kafka_admin_topic_results *r, kafka_str name)
{
    for (size_t i = 0; i < r->n; i++)
        if (kafka_str_eq_c(name, r->results[i].topic))
            return &r->results[i];
    return NULL;
}

static void set_result(kafka_admin_topic_results *r, kafka_admin_topic_result *x, int16_t code, kafka_str msg)
{
    x->err = kafka_err_from_wire(code);
    x->message = msg.len > 0 ? admin_str(admin_result_arena(r), msg) : NULL;
}

/* First item error of a results struct (0 when all succeeded). */
static kafka_err first_error(kafka_admin *a, const char *what, const kafka_admin_topic_results *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->results[i].err)
            return admin_item_fail(a, what, r->results[i].topic, -1, r->results[i].err, r->results[i].message);
    return 0;
}

/* ---- create ------------------------------------------------------------- */

typedef struct create_ctx {
    const kafka_topic_config *topics;
    size_t n;
    int32_t timeout_ms;
    bool validate_only;
} create_ctx;

static kafka_err create_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    create_ctx *c = ctx;
    (void)v;
    kafka_create_topics_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    *req = r;
    return kafka_create_topics_build(c->topics, c->n, c->timeout_ms, c->validate_only, arena, r);
}

static kafka_err create_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_create_topics_response *r = resp;
    for (int32_t i = 0; i < r->topics_count; i++)
        if (r->topics[i].error_code == KAFKA_ERR_NOT_CONTROLLER)
            return KAFKA_ERR_NOT_CONTROLLER;
    return 0;
}

static int32_t broker_timeout(int timeout_ms) { return timeout_ms > 0 ? timeout_ms : 10000; }

kafka_err kafka_admin_create_topics(kafka_admin *a, const kafka_topic_config *topics, size_t n, bool validate_only,
                                    int timeout_ms, kafka_admin_topic_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create topics: out is NULL");
    if (!err)
        err = check_names(a, "create topics", topics ? &topics[0].topic : NULL, n, sizeof *topics);
    for (size_t i = 0; !err && i < n; i++) {
        const kafka_topic_config *t = &topics[i];
        if (t->num_partitions == 0 || t->num_partitions < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create topics: topic %s: partitions %d (> 0, or -1 for the "
                             "broker's default)", t->topic, (int)t->num_partitions);
        else if (t->replication_factor == 0 || t->replication_factor < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create topics: topic %s: replication factor %d (> 0, or -1 "
                             "for the broker's default)", t->topic, (int)t->replication_factor);
        else if (t->n_configs && (!t->config_names || !t->config_values))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create topics: topic %s: configs without names or values",
                             t->topic);
        for (size_t j = 0; !err && j < t->n_configs; j++)
            if (!t->config_names[j] || !*t->config_names[j])
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create topics: topic %s: config %zu has no name",
                                 t->topic, j);
    }
    if (err) {
        admin_leave(a);
        return err;
    }
    int64_t deadline = admin_deadline(timeout_ms);
    create_ctx ctx = {topics, n, broker_timeout(timeout_ms), validate_only};
    kafka_create_topics_response resp;
    admin_rpc rpc = {.what = "create topics", .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_CREATE_TOPICS,
                     .vmin = 0, .vmax = INT16_MAX, .enc = create_topics_request_enc_,
                     .dec = create_topics_response_dec_, .build = create_build, .routing_err = create_routing,
                     .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = admin_rpc_run(a, &rpc, &arena, deadline);
    kafka_admin_topic_results *r = NULL;
    if (!err && !(r = results_new(&topics[0].topic, n, sizeof *topics)))
        err = KAFKA_ERR_NOMEM;
    for (int32_t i = 0; !err && i < resp.topics_count; i++) {
        const kafka_create_topics_response_creatable_topic_result *t = &resp.topics[i];
        kafka_admin_topic_result *x = result_for(r, t->name);
        if (!x)
            continue;
        set_result(r, x, t->error_code, t->error_message);
        memcpy(x->topic_id, t->topic_id.b, 16);
        if (rpc.version >= 5) {
            x->partitions = t->num_partitions;
            x->replication_factor = t->replication_factor;
        }
    }
    kafka_arena_free(&arena);
    if (!err) {
        *out = r;
        err = first_error(a, "create topics", r);
    }
    admin_leave(a);
    return err;
}

/* ---- delete ------------------------------------------------------------- */

typedef struct delete_ctx {
    const char *const *topics;
    const uint8_t (*ids)[16]; /* by id when not NULL */
    size_t n;
    int32_t timeout_ms;
} delete_ctx;

static kafka_err delete_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    delete_ctx *c = ctx;
    kafka_delete_topics_request *r = kafka_arena_alloc(arena, sizeof *r);
    if (!r)
        return KAFKA_ERR_NOMEM;
    *req = r;
    return kafka_delete_topics_build(c->topics, c->ids, c->n, c->timeout_ms, v, arena, r);
}

static kafka_err delete_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_delete_topics_response *r = resp;
    for (int32_t i = 0; i < r->responses_count; i++)
        if (r->responses[i].error_code == KAFKA_ERR_NOT_CONTROLLER)
            return KAFKA_ERR_NOT_CONTROLLER;
    return 0;
}

kafka_err kafka_admin_delete_topics(kafka_admin *a, const char *const *topics, size_t n, int timeout_ms,
                                    kafka_admin_topic_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_names(a, "delete topics", topics, n, sizeof *topics)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "delete topics: out is NULL");
    if (err) {
        admin_leave(a);
        return err;
    }
    delete_ctx ctx = {topics, NULL, n, broker_timeout(timeout_ms)};
    kafka_delete_topics_response resp;
    admin_rpc rpc = {.what = "delete topics", .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_DELETE_TOPICS,
                     .vmin = 0, .vmax = INT16_MAX, .enc = delete_topics_request_enc_,
                     .dec = delete_topics_response_dec_, .build = delete_build, .routing_err = delete_routing,
                     .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_admin_topic_results *r = NULL;
    if (!err && !(r = results_new(topics, n, sizeof *topics)))
        err = KAFKA_ERR_NOMEM;
    for (int32_t i = 0; !err && i < resp.responses_count; i++) {
        const kafka_delete_topics_response_deletable_topic_result *t = &resp.responses[i];
        kafka_admin_topic_result *x = result_for(r, t->name);
        if (!x)
            continue;
        set_result(r, x, t->error_code, t->error_message);
        memcpy(x->topic_id, t->topic_id.b, 16);
    }
    kafka_arena_free(&arena);
    if (!err) {
        *out = r;
        err = first_error(a, "delete topics", r);
    }
    admin_leave(a);
    return err;
}

static bool id_is_zero(const uint8_t id[16])
{
    for (int i = 0; i < 16; i++)
        if (id[i])
            return false;
    return true;
}

kafka_err kafka_admin_delete_topics_by_id(kafka_admin *a, const uint8_t (*ids)[16], size_t n, int timeout_ms,
                                          kafka_admin_topic_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "delete topics by id";
    if (!out || !ids || n == 0 || n > INT32_MAX)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no ids given, or NULL out", what);
    for (size_t i = 0; !err && i < n; i++) {
        if (id_is_zero(ids[i]))
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: id %zu is all zero", what, i);
        for (size_t j = 0; !err && j < i; j++)
            if (memcmp(ids[i], ids[j], 16) == 0)
                err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: id %zu named twice", what, i);
    }
    delete_ctx ctx = {NULL, ids, n, broker_timeout(timeout_ms)};
    kafka_delete_topics_response resp;
    admin_rpc rpc = {.what = what, .route = ADMIN_ROUTE_CONTROLLER, .api = KAFKA_API_DELETE_TOPICS, .vmin = 6,
                     .vmax = INT16_MAX, .enc = delete_topics_request_enc_, .dec = delete_topics_response_dec_,
                     .build = delete_build, .routing_err = delete_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    if (!err)
        err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_arena *ar = NULL;
    kafka_admin_topic_results *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->results = kafka_arena_calloc(ar, n, sizeof *r->results))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; !err && i < n; i++) {
        kafka_admin_topic_result *x = &r->results[r->n++];
        memcpy(x->topic_id, ids[i], 16);
        x->err = KAFKA_ERR_PROTOCOL; /* until the answer names it */
        x->partitions = -1;
        x->replication_factor = -1;
        for (int32_t k = 0; k < resp.responses_count; k++)
            if (memcmp(resp.responses[k].topic_id.b, ids[i], 16) == 0) {
                x->topic = admin_str(ar, resp.responses[k].name);
                set_result(r, x, resp.responses[k].error_code, resp.responses[k].error_message);
            }
    }
    kafka_arena_free(&arena);
    if (!err) {
        *out = r;
        err = first_error(a, what, r);
    } else {
        admin_result_free(r);
    }
    admin_leave(a);
    return err;
}

/* ---- create partitions ---------------------------------------------------- */

typedef struct partitions_ctx {
    const kafka_admin_partition_count *topics;
    size_t n;
    int32_t timeout_ms;
    bool validate_only;
} partitions_ctx;

static kafka_err partitions_build(void *ctx, int16_t v, kafka_arena *arena, const void **req)
{
    partitions_ctx *c = ctx;
    (void)v;
    kafka_create_partitions_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_create_partitions_request_create_partitions_topic *ts = kafka_arena_calloc(arena, c->n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_create_partitions_request_init(r);
    for (size_t i = 0; i < c->n; i++) {
        kafka_create_partitions_request_create_partitions_topic_init(&ts[i]);
        ts[i].name = kafka_str_c(c->topics[i].topic);
        ts[i].count = c->topics[i].count;
        ts[i].assignments = NULL;
        ts[i].assignments_count = -1; /* the broker places the new replicas */
    }
    r->topics = ts;
    r->topics_count = (int32_t)c->n;
    r->timeout_ms = c->timeout_ms;
    r->validate_only = c->validate_only;
    *req = r;
    return 0;
}

static kafka_err partitions_routing(void *ctx, int16_t v, const void *resp)
{
    (void)ctx;
    (void)v;
    const kafka_create_partitions_response *r = resp;
    for (int32_t i = 0; i < r->results_count; i++)
        if (r->results[i].error_code == KAFKA_ERR_NOT_CONTROLLER)
            return KAFKA_ERR_NOT_CONTROLLER;
    return 0;
}

kafka_err kafka_admin_create_partitions(kafka_admin *a, const kafka_admin_partition_count *topics, size_t n,
                                        bool validate_only, int timeout_ms, kafka_admin_topic_results **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_names(a, "create partitions", topics ? &topics[0].topic : NULL, n, sizeof *topics)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "create partitions: out is NULL");
    for (size_t i = 0; !err && i < n; i++)
        if (topics[i].count <= 0)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "create partitions: topic %s: count %d (must be > 0)",
                             topics[i].topic, (int)topics[i].count);
    if (err) {
        admin_leave(a);
        return err;
    }
    partitions_ctx ctx = {topics, n, broker_timeout(timeout_ms), validate_only};
    kafka_create_partitions_response resp;
    admin_rpc rpc = {.what = "create partitions", .route = ADMIN_ROUTE_CONTROLLER,
                     .api = KAFKA_API_CREATE_PARTITIONS, .vmin = 0, .vmax = INT16_MAX,
                     .enc = create_partitions_request_enc_, .dec = create_partitions_response_dec_,
                     .build = partitions_build, .routing_err = partitions_routing, .ctx = &ctx, .resp = &resp};
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = admin_rpc_run(a, &rpc, &arena, admin_deadline(timeout_ms));
    kafka_admin_topic_results *r = NULL;
    if (!err && !(r = results_new(&topics[0].topic, n, sizeof *topics)))
        err = KAFKA_ERR_NOMEM;
    for (int32_t i = 0; !err && i < resp.results_count; i++) {
        kafka_admin_topic_result *x = result_for(r, resp.results[i].name);
        if (x)
            set_result(r, x, resp.results[i].error_code, resp.results[i].error_message);
    }
    for (size_t i = 0; r && i < n; i++)
        if (!r->results[i].err)
            r->results[i].partitions = topics[i].count;
    kafka_arena_free(&arena);
    if (!err) {
        *out = r;
        err = first_error(a, "create partitions", r);
    }
    admin_leave(a);
    return err;
}

/* ---- list / describe (Metadata) -------------------------------------------- */

typedef kafka_metadata_response_metadata_response_topic md_topic;

static int cmp_partition(const void *x, const void *y)
{
    int32_t p = ((const kafka_admin_partition *)x)->partition, q = ((const kafka_admin_partition *)y)->partition;
    return p < q ? -1 : p > q;
}

static int cmp_topic(const void *x, const void *y)
{
    return strcmp(((const kafka_admin_topic *)x)->name, ((const kafka_admin_topic *)y)->name);
}

static kafka_err fill_topic(kafka_arena *ar, kafka_admin_topic *o, const md_topic *t, int16_t v)
{
    o->name = admin_str(ar, t->name);
    o->err = kafka_err_from_wire(t->error_code);
    o->internal = t->is_internal;
    memcpy(o->topic_id, t->topic_id.b, 16);
    size_t n = t->partitions_count > 0 ? (size_t)t->partitions_count : 0;
    o->partitions = kafka_arena_calloc(ar, n ? n : 1, sizeof *o->partitions);
    if (!o->name || !o->partitions)
        return KAFKA_ERR_NOMEM;
    o->n_partitions = n;
    for (size_t i = 0; i < n; i++) {
        const kafka_metadata_response_metadata_response_partition *p = &t->partitions[i];
        kafka_admin_partition *q = &o->partitions[i];
        q->partition = p->partition_index;
        q->err = kafka_err_from_wire(p->error_code);
        q->leader = p->leader_id;
        q->leader_epoch = v >= 7 ? p->leader_epoch : -1;
        q->replicas = admin_ints(ar, p->replica_nodes, p->replica_nodes_count, &q->n_replicas);
        q->isr = admin_ints(ar, p->isr_nodes, p->isr_nodes_count, &q->n_isr);
        q->offline = admin_ints(ar, p->offline_replicas, p->offline_replicas_count, &q->n_offline);
        if (!q->replicas || !q->isr || !q->offline)
            return KAFKA_ERR_NOMEM;
    }
    qsort(o->partitions, n, sizeof *o->partitions, cmp_partition);
    return 0;
}

kafka_err kafka_admin_list_topics(kafka_admin *a, bool include_internal, int timeout_ms, kafka_admin_topics **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    if (!out) {
        kafka_err ret = admin_fail(a, KAFKA_ERR_INVALID_ARG, "list topics: out is NULL");
        admin_leave(a);
        return ret;
    }
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v = 0;
    err = admin_metadata(a, "list topics", NULL, 0, KAFKA_CLUSTER_MD_ALL_TOPICS, admin_deadline(timeout_ms), &arena,
                         &md, &v);
    kafka_arena *ar = NULL;
    kafka_admin_topics *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->topics = kafka_arena_calloc(ar, md.topics_count > 0 ? (size_t)md.topics_count : 1,
                                                         sizeof *r->topics))))
        err = KAFKA_ERR_NOMEM;
    for (int32_t i = 0; !err && i < md.topics_count; i++) {
        const char *name_prefix = md.topics[i].name.ptr;
        /* names starting with "__" are internal on brokers too old to say */
        bool internal = md.topics[i].is_internal ||
                        (v < 1 && md.topics[i].name.len >= 2 && name_prefix[0] == '_' && name_prefix[1] == '_');
        if (md.topics[i].name.len <= 0 || (internal && !include_internal))
            continue;
        err = fill_topic(ar, &r->topics[r->n], &md.topics[i], v);
        r->topics[r->n].internal = internal;
        r->n++;
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(r);
        kafka_err ret = err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "list topics: out of memory") : err;
        admin_leave(a);
        return ret;
    }
    qsort(r->topics, r->n, sizeof *r->topics, cmp_topic);
    *out = r;
    admin_leave(a);
    return 0;
}

kafka_err kafka_admin_describe_topics(kafka_admin *a, const char *const *topics, size_t n, int timeout_ms,
                                      kafka_admin_topics **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    err = out ? check_names(a, "describe topics", topics, n, sizeof *topics)
              : admin_fail(a, KAFKA_ERR_INVALID_ARG, "describe topics: out is NULL");
    if (err) {
        admin_leave(a);
        return err;
    }
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response md;
    int16_t v = 0;
    err = admin_metadata(a, "describe topics", topics, n, KAFKA_CLUSTER_MD_NEVER_CREATE, admin_deadline(timeout_ms),
                         &arena, &md, &v);
    kafka_arena *ar = NULL;
    kafka_admin_topics *r = err ? NULL : admin_result_new(sizeof *r, &ar);
    if (!err && (!r || !(r->topics = kafka_arena_calloc(ar, n, sizeof *r->topics))))
        err = KAFKA_ERR_NOMEM;
    kafka_err first = 0;
    for (size_t i = 0; !err && i < n; i++) {
        const md_topic *found = NULL;
        for (int32_t j = 0; j < md.topics_count && !found; j++)
            if (kafka_str_eq_c(md.topics[j].name, topics[i]))
                found = &md.topics[j];
        kafka_admin_topic *o = &r->topics[i];
        if (found) {
            err = fill_topic(ar, o, found, v);
        } else {
            o->name = admin_strz(ar, topics[i]);
            o->err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            o->partitions = kafka_arena_calloc(ar, 1, sizeof *o->partitions);
            if (!o->name || !o->partitions)
                err = KAFKA_ERR_NOMEM;
        }
        r->n = i + 1;
        if (!err && o->err && !first)
            first = admin_fail(a, o->err, "describe topics: topic %s: %s", o->name, kafka_err_name(o->err));
    }
    kafka_arena_free(&arena);
    if (err) {
        admin_result_free(r);
        kafka_err ret = err == KAFKA_ERR_NOMEM ? admin_fail(a, err, "describe topics: out of memory") : err;
        admin_leave(a);
        return ret;
    }
    *out = r;
    admin_leave(a);
    return first;
}
