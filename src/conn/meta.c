/* Metadata-based calls (partitions, brokers, controller) and topic admin
 * (CreateTopics, DeleteTopics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "conn/conn_priv.h"
#include "conn/topic_requests.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"

KAFKA_CONN_ENCODER(metadata_request)
KAFKA_CONN_DECODER(metadata_response)
KAFKA_CONN_ENCODER(create_topics_request)
KAFKA_CONN_DECODER(create_topics_response)
KAFKA_CONN_ENCODER(delete_topics_request)
KAFKA_CONN_DECODER(delete_topics_response)

typedef kafka_metadata_response_metadata_response_broker md_broker;
typedef kafka_metadata_response_metadata_response_topic md_topic;
typedef kafka_metadata_response_metadata_response_partition md_partition;

/* One Metadata round trip. topics == NULL && n == 0: all topics;
 * no_topics: none (brokers/controller only; v0 cannot say so and gets all). */
static kafka_err metadata(kafka_conn *c, const char *const *topics, size_t n, bool no_topics, kafka_arena *arena,
                          kafka_metadata_response *resp)
{
    int16_t v = kafka_conn_version(c, KAFKA_API_METADATA, 0, INT16_MAX);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;
    if (n > INT32_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    /* Reading metadata must not create topics (v4+; older versions always
     * follow the broker's auto.create.topics.enable). */
    if (v >= 4)
        req.allow_auto_topic_creation = false;
    kafka_metadata_request_metadata_request_topic *t = NULL;
    if (n) {
        t = kafka_arena_calloc(arena, n, sizeof *t);
        if (!t)
            return KAFKA_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            kafka_metadata_request_metadata_request_topic_init(&t[i]);
            t[i].name = kafka_str_c(topics[i]);
        }
        req.topics = t;
        req.topics_count = (int32_t)n;
    } else {
        req.topics = NULL;
        req.topics_count = (no_topics && v >= 1) ? 0 : (v >= 1 ? -1 : 0);
    }
    kafka_metadata_response_init(resp);
    return kafka_conn_roundtrip(c, KAFKA_API_METADATA, v, metadata_request_enc_, &req, metadata_response_dec_, resp,
                                arena, NULL);
}

static size_t str_space(kafka_str s) { return s.len >= 0 ? (size_t)s.len + 1 : 0; }

/* Copies a view into the packed block at *cur; NULL for a null string. */
static const char *pack_str(char **cur, kafka_str s)
{
    if (s.len < 0)
        return NULL;
    char *d = *cur;
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    *cur += s.len + 1;
    return d;
}

static const md_broker *find_broker(const kafka_metadata_response *r, int32_t id)
{
    for (int32_t i = 0; i < r->brokers_count; i++)
        if (r->brokers[i].node_id == id)
            return &r->brokers[i];
    return NULL;
}

static size_t count_nodes(int32_t n) { return n > 0 ? (size_t)n : 0; }

/* Brokers sorted by node id (ties: first listed first) for binary search:
 * a hostile answer with millions of brokers and partitions must not cost
 * brokers x partitions lookups. */
typedef struct broker_key {
    int32_t id;
    int32_t idx; /* into r->brokers */
} broker_key;

typedef struct broker_index {
    broker_key *keys;
    size_t n;
} broker_index;

static int cmp_broker_key(const void *a, const void *b)
{
    const broker_key *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static kafka_err broker_index_build(broker_index *bi, const kafka_metadata_response *r)
{
    bi->n = count_nodes(r->brokers_count);
    bi->keys = kafka_calloc(bi->n ? bi->n : 1, sizeof *bi->keys);
    if (!bi->keys)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < bi->n; i++)
        bi->keys[i] = (broker_key){r->brokers[i].node_id, (int32_t)i};
    qsort(bi->keys, bi->n, sizeof *bi->keys, cmp_broker_key);
    return 0;
}

/* Index into r->brokers of the first broker with this id, or -1. */
static int32_t broker_index_find(const broker_index *bi, int32_t id)
{
    size_t lo = 0, hi = bi->n;
    while (lo < hi) { /* first key whose id is >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (bi->keys[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < bi->n && bi->keys[lo].id == id ? bi->keys[lo].idx : -1;
}

/* Packs every partition of every topic into one allocation: structs, then
 * int32 arrays, then strings. Each topic name and each broker's host and
 * rack are stored once and shared by the partitions that refer to them,
 * so the block is never larger than a small multiple of the response
 * (repeating them per partition let a ~100 KB answer demand gigabytes). */
static kafka_err pack_partitions(const kafka_metadata_response *r, kafka_partition **out, size_t *nout)
{
    broker_index bi;
    kafka_err err = broker_index_build(&bi, r);
    if (err)
        return err;
    size_t np = 0, nints = 0, nchars = 0;
    for (size_t i = 0; i < bi.n; i++)
        nchars += str_space(r->brokers[i].host) + str_space(r->brokers[i].rack);
    for (int32_t i = 0; i < r->topics_count; i++) {
        const md_topic *t = &r->topics[i];
        nchars += str_space(t->name);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const md_partition *p = &t->partitions[j];
            np++;
            nints += count_nodes(p->replica_nodes_count) + count_nodes(p->isr_nodes_count);
        }
    }
    size_t bytes = np * sizeof(kafka_partition) + nints * sizeof(int32_t) + nchars;
    char *block = kafka_calloc(1, bytes ? bytes : 1);
    const char **bstr = kafka_calloc(bi.n ? 2 * bi.n : 1, sizeof *bstr); /* host, rack per broker */
    if (!block || !bstr) {
        kafka_free(block);
        kafka_free(bstr);
        kafka_free(bi.keys);
        return KAFKA_ERR_NOMEM;
    }
    kafka_partition *parts = (kafka_partition *)(void *)block;
    int32_t *ints = (int32_t *)(void *)(block + np * sizeof(kafka_partition));
    char *chars = (char *)(ints + nints);
    for (size_t i = 0; i < bi.n; i++) {
        bstr[2 * i] = pack_str(&chars, r->brokers[i].host);
        bstr[2 * i + 1] = pack_str(&chars, r->brokers[i].rack);
    }
    size_t k = 0;
    for (int32_t i = 0; i < r->topics_count; i++) {
        const md_topic *t = &r->topics[i];
        const char *name = pack_str(&chars, t->name);
        for (int32_t j = 0; j < t->partitions_count; j++, k++) {
            const md_partition *p = &t->partitions[j];
            int32_t bx = broker_index_find(&bi, p->leader_id);
            const md_broker *b = bx >= 0 ? &r->brokers[bx] : NULL;
            kafka_partition *o = &parts[k];
            o->topic = name;
            o->id = p->partition_index;
            o->err = kafka_err_from_wire(p->error_code);
            o->leader.id = b ? b->node_id : -1;
            o->leader.host = b ? bstr[2 * bx] : NULL;
            o->leader.port = b ? b->port : -1;
            o->leader.rack = b ? bstr[2 * bx + 1] : NULL;
            o->n_replicas = count_nodes(p->replica_nodes_count);
            if (o->n_replicas)
                memcpy(ints, p->replica_nodes, o->n_replicas * sizeof *ints);
            o->replicas = ints;
            ints += o->n_replicas;
            o->n_isr = count_nodes(p->isr_nodes_count);
            if (o->n_isr)
                memcpy(ints, p->isr_nodes, o->n_isr * sizeof *ints);
            o->isr = ints;
            ints += o->n_isr;
        }
    }
    kafka_free(bstr);
    kafka_free(bi.keys);
    *out = parts;
    *nout = np;
    return 0;
}

kafka_err kafka_conn_read_partitions(kafka_conn *c, const char *const *topics, size_t n_topics,
                                     kafka_partition **out, size_t *n)
{
    if (!c || !out || !n || (n_topics && !topics))
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    *n = 0;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response resp;
    err = metadata(c, topics, n_topics, false, &arena, &resp);
    for (int32_t i = 0; !err && i < resp.topics_count; i++) {
        if (resp.topics[i].error_code) {
            err = kafka_err_from_wire(resp.topics[i].error_code);
            kafka_conn_err(c, err, "metadata for topic %.*s: %s", (int)(resp.topics[i].name.len > 0 ? resp.topics[i].name.len : 0),
                           resp.topics[i].name.ptr ? resp.topics[i].name.ptr : "", kafka_err_str(err));
        }
    }
    if (!err)
        err = pack_partitions(&resp, out, n);
    kafka_arena_free(&arena);
    kafka_conn_leave(c);
    return err;
}

void kafka_free_partitions(kafka_partition *p) { kafka_free(p); }

kafka_err kafka_conn_brokers(kafka_conn *c, kafka_broker **out, size_t *n)
{
    if (!c || !out || !n)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    *n = 0;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response resp;
    err = metadata(c, NULL, 0, true, &arena, &resp);
    if (!err) {
        size_t nb = count_nodes(resp.brokers_count), nchars = 0;
        for (size_t i = 0; i < nb; i++)
            nchars += str_space(resp.brokers[i].host) + str_space(resp.brokers[i].rack);
        char *block = kafka_calloc(1, nb * sizeof(kafka_broker) + nchars + 1);
        if (!block) {
            err = KAFKA_ERR_NOMEM;
        } else {
            kafka_broker *bs = (kafka_broker *)(void *)block;
            char *chars = block + nb * sizeof(kafka_broker);
            for (size_t i = 0; i < nb; i++) {
                bs[i].id = resp.brokers[i].node_id;
                bs[i].host = pack_str(&chars, resp.brokers[i].host);
                bs[i].port = resp.brokers[i].port;
                bs[i].rack = pack_str(&chars, resp.brokers[i].rack);
            }
            *out = bs;
            *n = nb;
        }
    }
    kafka_arena_free(&arena);
    kafka_conn_leave(c);
    return err;
}

void kafka_free_brokers(kafka_broker *b) { kafka_free(b); }

static char *dup_view(kafka_str s) { return s.len < 0 ? NULL : kafka_strndup(s.ptr ? s.ptr : "", (size_t)s.len); }

kafka_err kafka_conn_controller(kafka_conn *c, kafka_broker *out)
{
    if (!c || !out)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    kafka_metadata_response resp;
    err = metadata(c, NULL, 0, true, &arena, &resp);
    if (!err && kafka_conn_version(c, KAFKA_API_METADATA, 0, INT16_MAX) < 1)
        err = kafka_conn_err(c, KAFKA_ERR_NO_COMMON_VERSION, "controller: Metadata v0 does not report it");
    if (!err) {
        const md_broker *b = find_broker(&resp, resp.controller_id);
        if (!b) {
            err = kafka_conn_err(c, KAFKA_ERR_NOT_FOUND, "controller %d is not among the %d brokers in metadata",
                                 resp.controller_id, resp.brokers_count);
        } else {
            kafka_free(c->ctrl_host);
            kafka_free(c->ctrl_rack);
            c->ctrl_host = dup_view(b->host);
            c->ctrl_rack = dup_view(b->rack);
            if (!c->ctrl_host)
                err = KAFKA_ERR_NOMEM;
            *out = (kafka_broker){b->node_id, c->ctrl_host, b->port, c->ctrl_rack};
        }
    }
    kafka_arena_free(&arena);
    kafka_conn_leave(c);
    return err;
}

/* ---- admin ---------------------------------------------------------------------- */

static kafka_err topic_error(kafka_conn *c, const char *what, kafka_str name, int16_t code, kafka_str msg)
{
    kafka_err e = kafka_err_from_wire(code);
    return kafka_conn_err(c, e, "%s %.*s: %s%s%.*s", what, (int)(name.len > 0 ? name.len : 0), name.ptr ? name.ptr : "",
                          kafka_err_str(e), msg.len > 0 ? ": " : "", (int)(msg.len > 0 ? msg.len : 0),
                          msg.len > 0 ? msg.ptr : "");
}

kafka_err kafka_create_topics_build(const kafka_topic_config *topics, size_t n, int32_t timeout_ms,
                                   bool validate_only, kafka_arena *arena, kafka_create_topics_request *req)
{
    if (n > INT32_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_create_topics_request_creatable_topic *ts = kafka_arena_calloc(arena, n ? n : 1, sizeof *ts);
    if (!ts)
        return KAFKA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const kafka_topic_config *tc = &topics[i];
        if (!tc->topic || (tc->n_configs && (!tc->config_names || !tc->config_values)) || tc->n_configs > INT32_MAX)
            return KAFKA_ERR_INVALID_ARG;
        kafka_create_topics_request_creatable_topic_init(&ts[i]);
        ts[i].name = kafka_str_c(tc->topic);
        ts[i].num_partitions = tc->num_partitions;
        ts[i].replication_factor = tc->replication_factor;
        if (tc->n_configs) {
            kafka_create_topics_request_creatable_topic_config *cf = kafka_arena_calloc(arena, tc->n_configs, sizeof *cf);
            if (!cf)
                return KAFKA_ERR_NOMEM;
            for (size_t j = 0; j < tc->n_configs; j++) {
                if (!tc->config_names[j])
                    return KAFKA_ERR_INVALID_ARG;
                kafka_create_topics_request_creatable_topic_config_init(&cf[j]);
                cf[j].name = kafka_str_c(tc->config_names[j]);
                cf[j].value = kafka_str_c(tc->config_values[j]);
            }
            ts[i].configs = cf;
            ts[i].configs_count = (int32_t)tc->n_configs;
        }
    }
    kafka_create_topics_request_init(req);
    req->topics = ts;
    req->topics_count = (int32_t)n;
    req->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    req->validate_only = validate_only;
    return 0;
}

static kafka_err create_topics(kafka_conn *c, const kafka_topic_config *topics, size_t n, int32_t timeout_ms,
                               kafka_arena *arena)
{
    int16_t v = kafka_conn_version(c, KAFKA_API_CREATE_TOPICS, 0, INT16_MAX);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;
    kafka_create_topics_request req;
    kafka_err err = kafka_create_topics_build(topics, n, timeout_ms, false, arena, &req);
    if (err == KAFKA_ERR_INVALID_ARG)
        return kafka_conn_err(c, err, "create topics: a topic has no name or bad configs");
    if (err)
        return err;
    kafka_create_topics_response resp;
    kafka_create_topics_response_init(&resp);
    err = kafka_conn_roundtrip(c, KAFKA_API_CREATE_TOPICS, v, create_topics_request_enc_, &req,
                               create_topics_response_dec_, &resp, arena, NULL);
    for (int32_t i = 0; !err && i < resp.topics_count; i++)
        if (resp.topics[i].error_code)
            err = topic_error(c, "create topic", resp.topics[i].name, resp.topics[i].error_code,
                              resp.topics[i].error_message);
    return err;
}

kafka_err kafka_conn_create_topics(kafka_conn *c, const kafka_topic_config *topics, size_t n, int32_t timeout_ms)
{
    if (!c || (n && !topics) || n > INT32_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = n ? create_topics(c, topics, n, timeout_ms, &arena) : 0;
    kafka_arena_free(&arena);
    kafka_conn_leave(c);
    return err;
}

kafka_err kafka_delete_topics_build(const char *const *topics, const uint8_t (*ids)[16], size_t n,
                                   int32_t timeout_ms, int16_t v, kafka_arena *arena, kafka_delete_topics_request *req)
{
    if (n > INT32_MAX || (ids && v < 6))
        return KAFKA_ERR_INVALID_ARG;
    kafka_delete_topics_request_init(req);
    req->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    if (v >= 6) { /* topics by name or id */
        kafka_delete_topics_request_delete_topic_state *ts = kafka_arena_calloc(arena, n ? n : 1, sizeof *ts);
        if (!ts)
            return KAFKA_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            kafka_delete_topics_request_delete_topic_state_init(&ts[i]);
            if (ids) {
                ts[i].name = KAFKA_STR_NULL;
                memcpy(ts[i].topic_id.b, ids[i], 16);
            } else {
                ts[i].name = kafka_str_c(topics[i]);
            }
        }
        req->topics = ts;
        req->topics_count = (int32_t)n;
    } else {
        kafka_str *names = kafka_arena_calloc(arena, n ? n : 1, sizeof *names);
        if (!names)
            return KAFKA_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            names[i] = kafka_str_c(topics[i]);
        req->topic_names = names;
        req->topic_names_count = (int32_t)n;
    }
    return 0;
}

static kafka_err delete_topics(kafka_conn *c, const char *const *topics, size_t n, int32_t timeout_ms,
                               kafka_arena *arena)
{
    int16_t v = kafka_conn_version(c, KAFKA_API_DELETE_TOPICS, 0, INT16_MAX);
    if (v < 0)
        return KAFKA_ERR_NO_COMMON_VERSION;
    kafka_delete_topics_request req;
    kafka_err build_err = kafka_delete_topics_build(topics, NULL, n, timeout_ms, v, arena, &req);
    if (build_err)
        return build_err;
    kafka_delete_topics_response resp;
    kafka_delete_topics_response_init(&resp);
    kafka_err err = kafka_conn_roundtrip(c, KAFKA_API_DELETE_TOPICS, v, delete_topics_request_enc_, &req,
                                         delete_topics_response_dec_, &resp, arena, NULL);
    for (int32_t i = 0; !err && i < resp.responses_count; i++)
        if (resp.responses[i].error_code)
            err = topic_error(c, "delete topic", resp.responses[i].name, resp.responses[i].error_code,
                              resp.responses[i].error_message);
    return err;
}

kafka_err kafka_conn_delete_topics(kafka_conn *c, const char *const *topics, size_t n, int32_t timeout_ms)
{
    if (!c || (n && !topics) || n > INT32_MAX)
        return KAFKA_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!topics[i])
            return KAFKA_ERR_INVALID_ARG;
    kafka_err err = kafka_conn_enter(c);
    if (err)
        return err;
    kafka_arena arena;
    kafka_arena_init(&arena, 0);
    err = n ? delete_topics(c, topics, n, timeout_ms, &arena) : 0;
    kafka_arena_free(&arena);
    kafka_conn_leave(c);
    return err;
}
