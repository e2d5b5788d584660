/* DescribeClientQuotas and AlterClientQuotas (KIP-546) in the mock: any
 * broker answers (Kafka forwards the alteration to its controller), with
 * the validation of Kafka's ClientQuotaControlManager: entity types
 * "user" and "client-id" (alone or together) or "ip" (alone, a numeric
 * address or the default: the mock resolves no host names), each type
 * once, no empty name; the keys each kind of entity takes, the byte rates
 * and connection rate as whole numbers (a removal is not checked). Each
 * bad entry is INVALID_REQUEST on its own; a bad describe filter is the
 * response's error (an unknown entity type there UNSUPPORTED_VERSION, as
 * Kafka's ClientQuotasImage answers). */
#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

static const char *const type_names[KMOCK_QE_TYPES] = {"user", "client-id", "ip"};

static const struct {
    const char *name;
    bool integral; /* LONG/INT in Kafka's QuotaConfig: the value must be whole */
    bool ip;       /* an IP entity's key (the others are user/client-id keys) */
} quota_keys[KMOCK_QUOTA_KEYS] = {
    {"producer_byte_rate", true, false},       {"consumer_byte_rate", true, false},
    {"request_percentage", false, false},      {"controller_mutation_rate", false, false},
    {"connection_creation_rate", true, true},
};

void kmock_quotas_free(kmock_quotas *q)
{
    for (size_t i = 0; i < q->n; i++)
        for (int k = 0; k < KMOCK_QE_TYPES; k++)
            kafka_free(q->e[i].name[k]);
    kafka_free(q->e);
    memset(q, 0, sizeof(*q));
}

static int type_index(kafka_str s)
{
    for (int k = 0; k < KMOCK_QE_TYPES; k++)
        if (kafka_str_eq_c(s, type_names[k]))
            return k;
    return -1;
}

static bool valid_ip(kafka_str s)
{
    char buf[64];
    unsigned char addr[16];

    if (s.len <= 0 || (size_t)s.len >= sizeof buf)
        return false;
    memcpy(buf, s.ptr, (size_t)s.len);
    buf[s.len] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* An entity as asked for: which types, and each one's name (null =
 * default). Names point into the request. */
typedef struct asked_entity {
    bool has[KMOCK_QE_TYPES];
    kafka_str name[KMOCK_QE_TYPES];
} asked_entity;

static int16_t parse_entity(const kafka_alter_client_quotas_request_entry_data *e, asked_entity *out)
{
    memset(out, 0, sizeof(*out));
    if (e->entity_count <= 0)
        return KAFKA_ERR_INVALID_REQUEST;
    for (int32_t i = 0; i < e->entity_count; i++) {
        int k = type_index(e->entity[i].entity_type);
        if (k < 0 || out->has[k] || e->entity[i].entity_name.len == 0)
            return KAFKA_ERR_INVALID_REQUEST;
        out->has[k] = true;
        out->name[k] = e->entity[i].entity_name;
    }
    if (out->has[KMOCK_QE_IP] && (out->has[KMOCK_QE_USER] || out->has[KMOCK_QE_CLIENT_ID]))
        return KAFKA_ERR_INVALID_REQUEST;
    if (out->has[KMOCK_QE_IP] && out->name[KMOCK_QE_IP].len >= 0 && !valid_ip(out->name[KMOCK_QE_IP]))
        return KAFKA_ERR_INVALID_REQUEST;
    return 0;
}

static int key_index(kafka_str s)
{
    for (int k = 0; k < KMOCK_QUOTA_KEYS; k++)
        if (kafka_str_eq_c(s, quota_keys[k].name))
            return k;
    return -1;
}

static int16_t check_ops(const kafka_alter_client_quotas_request_entry_data *e, const asked_entity *ent)
{
    for (int32_t i = 0; i < e->ops_count; i++) {
        const kafka_alter_client_quotas_request_op_data *op = &e->ops[i];
        int k = key_index(op->key);
        if (op->remove)
            continue; /* Kafka removes whatever key is named */
        if (k < 0 || quota_keys[k].ip != ent->has[KMOCK_QE_IP])
            return KAFKA_ERR_INVALID_REQUEST;
        if (quota_keys[k].integral && fabs(op->value - round(op->value)) > 1e-6)
            return KAFKA_ERR_INVALID_REQUEST;
    }
    return 0;
}

static bool name_is(const char *stored, kafka_str asked)
{
    return stored ? kafka_str_eq_c(asked, stored) : asked.len < 0;
}

static kmock_quota_entity *entity_find(kmock_quotas *q, const asked_entity *a)
{
    for (size_t i = 0; i < q->n; i++) {
        bool same = true;
        for (int k = 0; k < KMOCK_QE_TYPES && same; k++)
            same = q->e[i].has[k] == a->has[k] && (!a->has[k] || name_is(q->e[i].name[k], a->name[k]));
        if (same)
            return &q->e[i];
    }
    return NULL;
}

static kmock_quota_entity *entity_add(kmock_quotas *q, const asked_entity *a)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        kmock_quota_entity *e = kafka_realloc(q->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        q->e = e;
        q->cap = cap;
    }
    kmock_quota_entity *e = &q->e[q->n];
    memset(e, 0, sizeof(*e));
    for (int k = 0; k < KMOCK_QE_TYPES; k++) {
        e->has[k] = a->has[k];
        if (a->has[k] && a->name[k].len >= 0 && !(e->name[k] = kafka_strndup(a->name[k].ptr, (size_t)a->name[k].len))) {
            for (int j = 0; j < k; j++)
                kafka_free(e->name[j]);
            return NULL;
        }
    }
    q->n++;
    return e;
}

/* Drops an entity left with no quota (Kafka forgets it too). */
static void entity_drop_if_empty(kmock_quotas *q, kmock_quota_entity *e)
{
    for (int k = 0; k < KMOCK_QUOTA_KEYS; k++)
        if (e->set[k])
            return;
    for (int k = 0; k < KMOCK_QE_TYPES; k++)
        kafka_free(e->name[k]);
    *e = q->e[--q->n];
}

static int16_t apply(kmock_quotas *q, const kafka_alter_client_quotas_request_entry_data *e, const asked_entity *a)
{
    kmock_quota_entity *ent = entity_find(q, a);

    if (!ent && !(ent = entity_add(q, a)))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < e->ops_count; i++) {
        int k = key_index(e->ops[i].key);
        if (k < 0)
            continue; /* a removal of a key no entity has */
        ent->set[k] = !e->ops[i].remove;
        ent->value[k] = e->ops[i].remove ? 0 : e->ops[i].value;
    }
    entity_drop_if_empty(q, ent);
    return 0;
}

kmock_outcome kmock_alter_client_quotas(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                        int64_t *wake_at)
{
    kafka_alter_client_quotas_request *req = kmock_decode(rq, a);
    kafka_alter_client_quotas_response resp;

    (void)wake_at;
    if (!req || req->entries_count < 0)
        return KMOCK_CLOSE;
    kafka_alter_client_quotas_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.entries, req->entries_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->entries_count; i++) {
        const kafka_alter_client_quotas_request_entry_data *qe = &req->entries[i];
        kafka_alter_client_quotas_response_entry_data *re = &resp.entries[i];
        asked_entity ent;
        kafka_alter_client_quotas_response_entry_data_init(re);
        if (!KMOCK_ARRAY(a, re->entity, qe->entity_count > 0 ? qe->entity_count : 0))
            return KMOCK_CLOSE;
        for (int32_t k = 0; k < re->entity_count; k++) {
            re->entity[k].entity_type = qe->entity[k].entity_type;
            re->entity[k].entity_name = qe->entity[k].entity_name;
        }
        int16_t err = parse_entity(qe, &ent);
        if (!err)
            err = check_ops(qe, &ent);
        if (!err && !req->validate_only)
            err = apply(&c->quotas, qe, &ent);
        re->error_code = err;
        if (err)
            re->error_message = kafka_str_c(kafka_err_str(err));
    }
    return kmock_encode(rq, &resp, out);
}

/* ---- DescribeClientQuotas ---- */

#define MATCH_EXACT 0
#define MATCH_DEFAULT 1

static int16_t check_filter(const kafka_describe_client_quotas_request *req, int *types)
{
    bool seen[KMOCK_QE_TYPES] = {false};

    for (int32_t i = 0; i < req->components_count; i++) {
        const kafka_describe_client_quotas_request_component_data *f = &req->components[i];
        int k = type_index(f->entity_type);
        types[i] = k;
        if (f->entity_type.len <= 0)
            return KAFKA_ERR_INVALID_REQUEST;
        for (int32_t j = 0; j < i; j++)
            if (kafka_str_eq(req->components[j].entity_type, f->entity_type))
                return KAFKA_ERR_INVALID_REQUEST;
        if (k < 0)
            return KAFKA_ERR_UNSUPPORTED_VERSION;
        seen[k] = true;
        if ((f->match_type == MATCH_EXACT) != (f->match.len >= 0) || f->match_type < 0 || f->match_type > 2)
            return KAFKA_ERR_INVALID_REQUEST;
    }
    if (seen[KMOCK_QE_IP] && (seen[KMOCK_QE_USER] || seen[KMOCK_QE_CLIENT_ID]))
        return KAFKA_ERR_INVALID_REQUEST;
    return 0;
}

/* Every component must match a part of the entity (SPECIFIED: any name
 * of the type, the default included, as Kafka's ClientQuotasImage
 * matches); strict: the entity has no part the filter does not name. */
static bool entity_matches(const kmock_quota_entity *e, const kafka_describe_client_quotas_request *req,
                           const int *types)
{
    bool named[KMOCK_QE_TYPES] = {false};

    for (int32_t i = 0; i < req->components_count; i++) {
        const kafka_describe_client_quotas_request_component_data *f = &req->components[i];
        int k = types[i];
        named[k] = true;
        if (!e->has[k])
            return false;
        if (f->match_type == MATCH_EXACT && !(e->name[k] && kafka_str_eq_c(f->match, e->name[k])))
            return false;
        if (f->match_type == MATCH_DEFAULT && e->name[k])
            return false;
    }
    for (int k = 0; req->strict && k < KMOCK_QE_TYPES; k++)
        if (e->has[k] && !named[k])
            return false;
    return true;
}

static bool fill_entry(const kmock_quota_entity *e, kafka_arena *a, kafka_describe_client_quotas_response_entry_data *r)
{
    int nparts = 0, nvalues = 0;

    for (int k = 0; k < KMOCK_QE_TYPES; k++)
        nparts += e->has[k];
    for (int k = 0; k < KMOCK_QUOTA_KEYS; k++)
        nvalues += e->set[k];
    kafka_describe_client_quotas_response_entry_data_init(r);
    if (!KMOCK_ARRAY(a, r->entity, nparts) || !KMOCK_ARRAY(a, r->values, nvalues))
        return false;
    r->entity_count = r->values_count = 0;
    for (int k = 0; k < KMOCK_QE_TYPES; k++)
        if (e->has[k])
            r->entity[r->entity_count++] = (kafka_describe_client_quotas_response_entity_data){
                kafka_str_c(type_names[k]), kafka_str_c(e->name[k])};
    for (int k = 0; k < KMOCK_QUOTA_KEYS; k++)
        if (e->set[k])
            r->values[r->values_count++] =
                (kafka_describe_client_quotas_response_value_data){kafka_str_c(quota_keys[k].name), e->value[k]};
    return true;
}

kmock_outcome kmock_describe_client_quotas(kmock_cluster *c, const kmock_request *rq, kafka_arena *a,
                                           kafka_wbuf *out, int64_t *wake_at)
{
    kafka_describe_client_quotas_request *req = kmock_decode(rq, a);
    kafka_describe_client_quotas_response resp;
    int *types;

    (void)wake_at;
    if (!req || req->components_count < 0)
        return KMOCK_CLOSE;
    kafka_describe_client_quotas_response_init(&resp);
    types = kafka_arena_calloc(a, (size_t)req->components_count + 1, sizeof(int));
    if (!types)
        return KMOCK_CLOSE;
    resp.error_code = check_filter(req, types);
    if (resp.error_code) {
        resp.error_message = kafka_str_c(kafka_err_str(resp.error_code));
        resp.entries_count = -1; /* null with an error, as Kafka answers */
        return kmock_encode(rq, &resp, out);
    }
    if (!KMOCK_ARRAY(a, resp.entries, c->quotas.n))
        return KMOCK_CLOSE;
    resp.entries_count = 0;
    for (size_t i = 0; i < c->quotas.n; i++)
        if (entity_matches(&c->quotas.e[i], req, types) &&
            !fill_entry(&c->quotas.e[i], a, &resp.entries[resp.entries_count++]))
            return KMOCK_CLOSE;
    return kmock_encode(rq, &resp, out);
}
