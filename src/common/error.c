#include "kafka/error.h"

#include <stddef.h>

struct err_info {
    int code;
    bool retriable;
    const char *name;
    const char *desc;
};

#define ROW_(name, value, retriable, desc) {(value), (retriable), #name, (desc)},
static const struct err_info g_errors[] = {
    KAFKA_PROTOCOL_ERRORS(ROW_) KAFKA_CLIENT_ERRORS(ROW_)};
#undef ROW_

static const struct err_info *lookup(kafka_err err)
{
    /* Protocol codes 0..127 sit in table order; client codes follow. */
    for (size_t i = 0; i < sizeof g_errors / sizeof g_errors[0]; i++)
        if (g_errors[i].code == err)
            return &g_errors[i];
    return NULL;
}

const char *kafka_err_str(kafka_err err)
{
    const struct err_info *e = lookup(err);
    return e ? e->desc : "unknown error";
}

const char *kafka_err_name(kafka_err err)
{
    const struct err_info *e = lookup(err);
    return e ? e->name : "UNKNOWN";
}

bool kafka_err_is_retriable(kafka_err err)
{
    const struct err_info *e = lookup(err);
    return e && e->retriable;
}

bool kafka_err_is_fatal(kafka_err err)
{
    switch (err) {
    case KAFKA_ERR_NOMEM:
    case KAFKA_ERR_FENCED:
    case KAFKA_ERR_SASL:
    case KAFKA_ERR_TLS:
    case KAFKA_ERR_SASL_AUTHENTICATION_FAILED:
    case KAFKA_ERR_PRODUCER_FENCED:
    case KAFKA_ERR_INVALID_PRODUCER_EPOCH:
    case KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case KAFKA_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case KAFKA_ERR_FENCED_INSTANCE_ID:
        return true;
    default:
        return false;
    }
}

kafka_err kafka_err_from_wire(int wire_code)
{
    if (wire_code == -1)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    if (wire_code < 0)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    return wire_code;
}
