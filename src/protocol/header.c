/* Request/response headers: see header.h. */
#include "protocol/header.h"

#include "protocol/api.h"
#include "protocol/gen_runtime.h"

int kafka_request_header_version(int16_t api_key, int16_t api_version)
{
    if (api_key == KAFKA_API_CONTROLLED_SHUTDOWN_KEY)
        return api_version == 0 ? 0 : 1;
    if (!kafka_api_info_get(api_key))
        return -1;
    return kafka_api_request_flexible(api_key, api_version) ? 2 : 1;
}

int kafka_response_header_version(int16_t api_key, int16_t api_version)
{
    if (api_key == KAFKA_API_API_VERSIONS || api_key == KAFKA_API_CONTROLLED_SHUTDOWN_KEY)
        return 0;
    if (!kafka_api_info_get(api_key))
        return -1;
    return kafka_api_response_flexible(api_key, api_version) ? 1 : 0;
}

kafka_err kafka_request_header_encode(kafka_wbuf *w, int16_t api_key, int16_t api_version, int32_t correlation_id,
                                      kafka_str client_id)
{
    int hv = kafka_request_header_version(api_key, api_version);
    if (hv < 0 || client_id.len > INT16_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_i16(w, api_key);
    kafka_put_i16(w, api_version);
    kafka_put_i32(w, correlation_id);
    if (hv >= 1)
        kafka_put_string(w, client_id);
    if (hv >= 2)
        kafka_put_uvarint(w, 0); /* no tagged fields */
    return w->oom ? KAFKA_ERR_NOMEM : 0;
}

kafka_err kafka_request_header_decode(kafka_rbuf *r, int16_t *api_key, int16_t *api_version, int32_t *correlation_id,
                                      kafka_str *client_id)
{
    *api_key = kafka_get_i16(r, "RequestHeader.RequestApiKey");
    *api_version = kafka_get_i16(r, "RequestHeader.RequestApiVersion");
    *correlation_id = kafka_get_i32(r, "RequestHeader.CorrelationId");
    *client_id = KAFKA_STR_NULL;
    if (r->err)
        return r->err;
    int hv = kafka_request_header_version(*api_key, *api_version);
    if (hv < 0)
        hv = 1;
    if (hv >= 1)
        *client_id = kafka_get_string(r, true, "RequestHeader.ClientId");
    if (hv >= 2)
        kafka_gen_skip_tagged(r, "RequestHeader._tagged_fields");
    return r->err;
}

kafka_err kafka_response_header_decode(kafka_rbuf *r, int16_t api_key, int16_t api_version, int32_t *correlation_id)
{
    *correlation_id = kafka_get_i32(r, "ResponseHeader.CorrelationId");
    if (kafka_response_header_version(api_key, api_version) == 1)
        kafka_gen_skip_tagged(r, "ResponseHeader._tagged_fields");
    return r->err;
}

kafka_err kafka_response_header_encode(kafka_wbuf *w, int16_t api_key, int16_t api_version, int32_t correlation_id)
{
    int hv = kafka_response_header_version(api_key, api_version);
    if (hv < 0)
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_i32(w, correlation_id);
    if (hv == 1)
        kafka_put_uvarint(w, 0);
    return w->oom ? KAFKA_ERR_NOMEM : 0;
}
