/* Request dispatch, shared handler helpers, ApiVersions: see mock_cluster.h. */
#include <string.h>

#include "mock/mock_cluster.h"
#include "mock/mock_groups_dispatch.h"
#include "protocol/gen/all.h"

/* What the mock serves: versions every Kafka 3.x/4.x broker accepts, cut to
 * what the generated codecs know (kmock_api_supported). Produce starts at
 * 3 and Fetch at 4: older versions carry message format v0/v1, which the
 * mock does not store (Kafka 4 removed them too). */
typedef struct kmock_api_entry {
    int16_t key, min_v, max_v;
    kmock_handler fn;
} kmock_api_entry;

static const kmock_api_entry api_entries[] = {
    {KAFKA_API_PRODUCE, 3, 11, kmock_produce},
    {KAFKA_API_FETCH, 4, 17, kmock_fetch},
    {KAFKA_API_LIST_OFFSETS, 1, 10, kmock_list_offsets},
    {KAFKA_API_METADATA, 0, 12, kmock_metadata},
    {KAFKA_API_FIND_COORDINATOR, 0, 6, kmock_find_coordinator},
    {KAFKA_API_API_VERSIONS, 0, 4, kmock_api_versions},
    {KAFKA_API_CREATE_TOPICS, 2, 7, kmock_create_topics},
    {KAFKA_API_DELETE_TOPICS, 1, 6, kmock_delete_topics},
    {KAFKA_API_INIT_PRODUCER_ID, 0, 5, kmock_init_producer_id},
    {KAFKA_API_OFFSET_FOR_LEADER_EPOCH, 2, 4, kmock_offset_for_leader_epoch},
    {KAFKA_API_CREATE_PARTITIONS, 0, 3, kmock_create_partitions},
    {KAFKA_API_DELETE_RECORDS, 0, 2, kmock_delete_records},
    {KAFKA_API_DESCRIBE_CONFIGS, 0, 4, kmock_describe_configs},
    {KAFKA_API_ALTER_CONFIGS, 0, 2, kmock_alter_configs},
    {KAFKA_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, kmock_incremental_alter_configs},
    {KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, kmock_describe_user_scram_credentials},
    {KAFKA_API_CREATE_ACLS, 1, 3, kmock_create_acls},
    {KAFKA_API_DESCRIBE_ACLS, 1, 3, kmock_describe_acls},
    {KAFKA_API_DELETE_ACLS, 1, 3, kmock_delete_acls},
    {KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, kmock_alter_user_scram_credentials},
    {KAFKA_API_DESCRIBE_CLUSTER, 0, 1, kmock_describe_cluster},
    /* clients' versions of AddPartitionsToTxn (4+ is broker to broker) */
    {KAFKA_API_ADD_PARTITIONS_TO_TXN, 0, 3, kmock_add_partitions_to_txn},
    /* 5 is KIP-890's epoch bump per transaction: not yet */
    {KAFKA_API_END_TXN, 0, 4, kmock_end_txn},
    /* with the group module, which serves TxnOffsetCommit */
    {KAFKA_API_ADD_OFFSETS_TO_TXN, 0, 4, kmock_add_offsets_to_txn},
    /* operations APIs: mock_api_ops.c, mock_api_reassign.c, mock_api_txn_admin.c,
     * mock_api_quotas.c */
    {KAFKA_API_ELECT_LEADERS, 0, 2, kmock_elect_leaders},
    {KAFKA_API_DESCRIBE_LOG_DIRS, 0, 4, kmock_describe_log_dirs},
    {KAFKA_API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, kmock_alter_partition_reassignments},
    {KAFKA_API_LIST_PARTITION_REASSIGNMENTS, 0, 0, kmock_list_partition_reassignments},
    {KAFKA_API_DESCRIBE_PRODUCERS, 0, 0, kmock_describe_producers},
    {KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 0, 1, kmock_describe_client_quotas},
    {KAFKA_API_ALTER_CLIENT_QUOTAS, 0, 1, kmock_alter_client_quotas},
    {KAFKA_API_LIST_TRANSACTIONS, 0, 1, kmock_list_transactions},
    {KAFKA_API_DESCRIBE_TRANSACTIONS, 0, 0, kmock_describe_transactions},
};

static const kmock_api_entry *entry_for(int16_t key)
{
    for (size_t i = 0; i < sizeof(api_entries) / sizeof(api_entries[0]); i++)
        if (api_entries[i].key == key)
            return &api_entries[i];
    return NULL;
}

bool kmock_api_supported(const kmock_cluster *c, int16_t api_key, int16_t *min_v, int16_t *max_v)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    const kmock_api_entry *e = entry_for(api_key);
    int16_t lo, hi;

    if (!info)
        return false;
    if (api_key == KAFKA_API_SASL_HANDSHAKE || api_key == KAFKA_API_SASL_AUTHENTICATE) {
        /* served by the connection (mock_sasl.c) when SASL is required */
        if (!c->require_sasl)
            return false;
        lo = 0;
        hi = api_key == KAFKA_API_SASL_HANDSHAKE ? 1 : 2;
    } else if (e) {
        if (api_key == KAFKA_API_ADD_OFFSETS_TO_TXN && !c->groups)
            return false;
        lo = e->min_v;
        hi = e->max_v;
    } else if (c->groups && kmock_groups_serves(api_key, &lo, &hi)) {
        /* the group module's versions */
    } else {
        return false;
    }
    if (lo < info->min_version)
        lo = info->min_version;
    if (hi > info->max_version)
        hi = info->max_version;
    const int16_t *ov = c->version_override[api_key];
    if (c->version_override_set[api_key]) {
        if (ov[0] == -1)
            return false;
        /* an apiversion fault narrows what is served, never widens it */
        if (ov[0] > lo)
            lo = ov[0];
        if (ov[1] < hi)
            hi = ov[1];
    }
    if (lo > hi)
        return false;
    if (min_v)
        *min_v = lo;
    if (max_v)
        *max_v = hi;
    return true;
}

void *kmock_decode(const kmock_request *rq, kafka_arena *a)
{
    size_t size = kafka_api_request_struct_size(rq->api_key);
    void *msg = size ? kafka_arena_alloc(a, size) : NULL;
    kafka_rbuf r;

    if (!msg)
        return NULL;
    kafka_rbuf_init(&r, rq->body, rq->len);
    return kafka_request_decode_any(&r, a, rq->api_key, rq->api_version, msg) == 0 ? msg : NULL;
}

static size_t member_size(const kafka_gen_field *f)
{
    switch (f->type) {
    case KAFKA_GT_BOOL:
        return sizeof(bool);
    case KAFKA_GT_INT8:
        return 1;
    case KAFKA_GT_INT16:
    case KAFKA_GT_UINT16:
        return 2;
    case KAFKA_GT_INT32:
    case KAFKA_GT_UINT32:
        return 4;
    case KAFKA_GT_INT64:
    case KAFKA_GT_FLOAT64:
        return 8;
    case KAFKA_GT_STRING:
        return sizeof(kafka_str);
    case KAFKA_GT_BYTES:
    case KAFKA_GT_RECORDS:
        return sizeof(kafka_bytes);
    case KAFKA_GT_UUID:
        return sizeof(kafka_uuid);
    default:
        return f->sub->size;
    }
}

/* The codecs refuse to encode a version that lacks a field holding a
 * non-default value; the handlers fill responses for every version at
 * once, so this puts every field the version lacks back to its default
 * (recursively). false when out of memory. */
static bool scrub(const kafka_gen_struct *d, void *s, int16_t version, kafka_arena *a)
{
    void *def = kafka_arena_alloc(a, d->size);

    if (!def)
        return false;
    kafka_gen_init(d, def);
    for (uint16_t i = 0; i < d->nfields; i++) {
        const kafka_gen_field *f = &d->fields[i];
        char *m = (char *)s + f->offset;
        bool present = version >= f->v_min && version <= f->v_max;
        if (!present) {
            size_t sz = (f->flags & KAFKA_GF_ARRAY) ? sizeof(void *) : member_size(f);
            memcpy(m, (char *)def + f->offset, sz);
            if (f->flags & KAFKA_GF_ARRAY)
                memcpy((char *)s + f->aux, (char *)def + f->aux, sizeof(int32_t));
            else if (f->type == KAFKA_GT_STRUCT && f->aux)
                memcpy((char *)s + f->aux, (char *)def + f->aux, sizeof(bool));
            continue;
        }
        if (f->type != KAFKA_GT_STRUCT)
            continue;
        if (f->flags & KAFKA_GF_ARRAY) {
            int32_t n;
            char *elems;
            memcpy(&n, (char *)s + f->aux, sizeof(n));
            memcpy(&elems, m, sizeof(elems));
            for (int32_t k = 0; k < n && elems; k++)
                if (!scrub(f->sub, elems + (size_t)k * f->sub->size, version, a))
                    return false;
        } else if (!scrub(f->sub, m, version, a)) {
            return false;
        }
    }
    return true;
}

/* A throttling fault: the response's ThrottleTimeMs (KIP-219: the client
 * then waits that long before its next request to this broker). */
static void set_throttle(const kafka_gen_struct *root, void *resp, int16_t version, int32_t ms)
{
    for (uint16_t i = 0; i < root->nfields; i++) {
        const kafka_gen_field *f = &root->fields[i];
        const char *dot = strrchr(f->name, '.');
        if (f->type == KAFKA_GT_INT32 && !(f->flags & KAFKA_GF_ARRAY) && dot &&
            strcmp(dot + 1, "ThrottleTimeMs") == 0 && version >= f->v_min && version <= f->v_max) {
            memcpy((char *)resp + f->offset, &ms, sizeof(ms));
            return;
        }
    }
}

kmock_outcome kmock_encode(const kmock_request *rq, void *resp, kafka_wbuf *out)
{
    const kafka_api_info *info = kafka_api_info_get(rq->api_key);
    kafka_arena a;
    bool ok;

    kafka_arena_init(&a, 0);
    ok = scrub(info->response->root, resp, rq->api_version, &a);
    if (ok && rq->throttle_ms > 0)
        set_throttle(info->response->root, resp, rq->api_version, rq->throttle_ms);
    kafka_arena_free(&a);
    if (!ok)
        return KMOCK_CLOSE;
    return kafka_response_encode_any(out, rq->api_key, rq->api_version, resp) == 0 && !out->oom ? KMOCK_RESPOND
                                                                                             : KMOCK_CLOSE;
}

const char *kmock_cstr(kafka_arena *a, kafka_str s)
{
    size_t len = s.len > 0 ? (size_t)s.len : 0;
    char *p = kafka_arena_alloc(a, len + 1);

    if (!p)
        return "";
    if (len)
        memcpy(p, s.ptr, len);
    p[len] = '\0';
    return p;
}

int16_t kmock_topic_denied(const kmock_cluster *c, const kmock_request *rq, int8_t op, kafka_str topic)
{
    if (!c->enforce_acls || kmock_acl_authorized(&c->acls, rq->user, op, KMOCK_RES_TOPIC, topic))
        return 0;
    return KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED;
}

int16_t kmock_partition_error(const kmock_cluster *c, const kmock_request *rq, const kmock_partition *p)
{
    if (rq->injected)
        return rq->injected;
    if (!p)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (p->leader < 0)
        return KAFKA_ERR_LEADER_NOT_AVAILABLE;
    if (p->leader != rq->broker_id)
        return KAFKA_ERR_NOT_LEADER_OR_FOLLOWER;
    return 0;
}

/* An injected error for an API whose handler does not place errors itself:
 * the response with every field at its default and the top-level error
 * code (the root field named "ErrorCode") set. KMOCK_CLOSE when the
 * response has none. */
static kmock_outcome top_level_error(const kmock_request *rq, kafka_arena *a, kafka_wbuf *out)
{
    const kafka_api_info *info = kafka_api_info_get(rq->api_key);
    const kafka_gen_struct *root = info->response->root;
    void *resp = kafka_arena_alloc(a, root->size);

    if (!resp)
        return KMOCK_CLOSE;
    kafka_gen_init(root, resp);
    for (uint16_t i = 0; i < root->nfields; i++) {
        const kafka_gen_field *f = &root->fields[i];
        const char *dot = strrchr(f->name, '.');
        if (f->type == KAFKA_GT_INT16 && !(f->flags & KAFKA_GF_ARRAY) && dot && strcmp(dot + 1, "ErrorCode") == 0 &&
            rq->api_version >= f->v_min && rq->api_version <= f->v_max) {
            memcpy((char *)resp + f->offset, &rq->injected, sizeof(int16_t));
            return kmock_encode(rq, resp, out);
        }
    }
    return KMOCK_CLOSE;
}

/* APIs whose handlers put an injected error where it belongs (per
 * partition or per topic); the rest get top_level_error. */
static bool places_errors_itself(int16_t key)
{
    switch (key) {
    case KAFKA_API_PRODUCE:
    case KAFKA_API_FETCH:
    case KAFKA_API_LIST_OFFSETS:
    case KAFKA_API_METADATA:
    case KAFKA_API_OFFSET_FOR_LEADER_EPOCH:
    case KAFKA_API_CREATE_TOPICS:
    case KAFKA_API_DELETE_TOPICS:
    case KAFKA_API_CREATE_PARTITIONS:
    case KAFKA_API_ADD_PARTITIONS_TO_TXN:
    case KAFKA_API_DELETE_RECORDS:
    case KAFKA_API_DESCRIBE_CONFIGS:
    case KAFKA_API_ALTER_CONFIGS:
    case KAFKA_API_INCREMENTAL_ALTER_CONFIGS:
    case KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS:
    case KAFKA_API_CREATE_ACLS:
    case KAFKA_API_DELETE_ACLS:
    case KAFKA_API_ELECT_LEADERS:
    case KAFKA_API_DESCRIBE_PRODUCERS:
        return true;
    default:
        return false;
    }
}

kmock_outcome kmock_handle(kmock_cluster *c, const kmock_request *rq, kafka_wbuf *out, int64_t *wake_at)
{
    const kmock_api_entry *e = entry_for(rq->api_key);
    kafka_arena arena;
    kmock_outcome oc;
    int16_t lo, hi;

    /* ApiVersions answers versions it does not know (with
     * UNSUPPORTED_VERSION), so that a client can fall back. */
    if (rq->api_key != KAFKA_API_API_VERSIONS &&
        (!kmock_api_supported(c, rq->api_key, &lo, &hi) || rq->api_version < lo || rq->api_version > hi))
        return KMOCK_CLOSE;
    kafka_arena_init(&arena, (size_t)256 << 20);
    if (rq->injected && !places_errors_itself(rq->api_key))
        oc = top_level_error(rq, &arena, out);
    else if (e)
        oc = e->fn(c, rq, &arena, out, wake_at);
    else
        oc = KMOCK_GROUP; /* the server hands it to the group module */
    kafka_arena_free(&arena);
    return oc;
}

kmock_outcome kmock_api_versions(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                 int64_t *wake_at)
{
    kafka_api_versions_response resp;
    kmock_request v = *rq;
    size_t n = 0;

    kafka_api_versions_response_init(&resp);
    if (rq->api_version > 4) {
        /* Answer in v0 so that any client can read the error and retry. */
        v.api_version = 0;
        resp.error_code = KAFKA_ERR_UNSUPPORTED_VERSION;
    } else if (!kmock_decode(rq, a)) {
        return KMOCK_CLOSE;
    }
    resp.api_keys = kafka_arena_calloc(a, KAFKA_API_KEY_MAX + 1, sizeof(*resp.api_keys));
    if (!resp.api_keys)
        return KMOCK_CLOSE;
    for (int16_t k = 0; k <= KAFKA_API_KEY_MAX; k++) {
        int16_t lo, hi;
        if (kmock_api_supported(c, k, &lo, &hi))
            resp.api_keys[n++] = (kafka_api_versions_response_api_version){k, lo, hi};
    }
    resp.api_keys_count = (int32_t)n;
    return kmock_encode(&v, &resp, out);
}
