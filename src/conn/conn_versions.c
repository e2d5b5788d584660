/* The public version-table queries of a kafka_conn (the table itself is
 * negotiated by the handshake, src/engine/handshake.h). */
#include "common/alloc.h"
#include "conn/conn_priv.h"

kafka_err kafka_conn_api_versions(kafka_conn *c, kafka_api_version **out, size_t *n)
{
    if (!c || !out || !n)
        return KAFKA_ERR_INVALID_ARG;
    *out = NULL;
    *n = 0;
    size_t cnt = 0;
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        cnt += c->versions.min[i] >= 0;
    kafka_api_version *v = kafka_calloc(cnt ? cnt : 1, sizeof *v);
    if (!v)
        return KAFKA_ERR_NOMEM;
    size_t j = 0;
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        if (c->versions.min[i] >= 0)
            v[j++] = (kafka_api_version){(int16_t)i, c->versions.min[i], c->versions.max[i]};
    *out = v;
    *n = cnt;
    return 0;
}

void kafka_free_api_versions(kafka_api_version *v) { kafka_free(v); }

int16_t kafka_conn_api_version_for(kafka_conn *c, int16_t api_key)
{
    return kafka_conn_version(c, api_key, 0, INT16_MAX);
}
