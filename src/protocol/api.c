/* API key table lookups and generic codec dispatch: see api.h. */
#include "protocol/api.h"

const kafka_api_info *kafka_api_info_get(int16_t api_key)
{
    if (api_key < 0 || api_key > KAFKA_API_KEY_MAX)
        return NULL;
    const kafka_api_info *info = &kafka_gen_api_table[api_key];
    return info->name ? info : NULL;
}

static bool flexible_from(int16_t flex_min, int16_t version) { return flex_min >= 0 && version >= flex_min; }

bool kafka_api_request_flexible(int16_t api_key, int16_t version)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info && flexible_from(info->request_flexible_min, version);
}

bool kafka_api_response_flexible(int16_t api_key, int16_t version)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info && flexible_from(info->response_flexible_min, version);
}

size_t kafka_api_request_struct_size(int16_t api_key)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? info->request->root->size : 0;
}

size_t kafka_api_response_struct_size(int16_t api_key)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? info->response->root->size : 0;
}

kafka_err kafka_request_encode_any(kafka_wbuf *w, int16_t api_key, int16_t version, const void *msg)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? kafka_gen_encode(w, info->request, version, msg) : KAFKA_ERR_INVALID_ARG;
}

kafka_err kafka_response_encode_any(kafka_wbuf *w, int16_t api_key, int16_t version, const void *msg)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? kafka_gen_encode(w, info->response, version, msg) : KAFKA_ERR_INVALID_ARG;
}

static kafka_err unknown_key(kafka_rbuf *r)
{
    kafka_rbuf_fail(r, KAFKA_ERR_INVALID_ARG, "api_key");
    return r->err;
}

kafka_err kafka_request_decode_any(kafka_rbuf *r, kafka_arena *arena, int16_t api_key, int16_t version, void *msg)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? kafka_gen_decode(r, arena, info->request, version, msg) : unknown_key(r);
}

kafka_err kafka_response_decode_any(kafka_rbuf *r, kafka_arena *arena, int16_t api_key, int16_t version, void *msg)
{
    const kafka_api_info *info = kafka_api_info_get(api_key);
    return info ? kafka_gen_decode(r, arena, info->response, version, msg) : unknown_key(r);
}
