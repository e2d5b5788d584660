/* Pure helpers of the conn layer: version picking, address parsing, frame
 * size checks. No I/O, no state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn_internal.h"
#include "protocol/api.h"

kafka_err kafka_version_pick(const char *api_name, int16_t cmin, int16_t cmax, int16_t bmin, int16_t bmax,
                             int16_t *out, char *err, size_t err_len)
{
    if (bmin < 0 || bmax < bmin) {
        snprintf(err, err_len, "API %s: broker does not support it (client v%d-v%d)", api_name, cmin, cmax);
        return KAFKA_ERR_NO_COMMON_VERSION;
    }
    int16_t lo = cmin > bmin ? cmin : bmin;
    int16_t hi = cmax < bmax ? cmax : bmax;
    if (lo > hi) {
        snprintf(err, err_len, "API %s: broker supports v%d-v%d, client v%d-v%d: no common version", api_name, bmin,
                 bmax, cmin, cmax);
        return KAFKA_ERR_NO_COMMON_VERSION;
    }
    *out = hi;
    return 0;
}

void kafka_api_table_clear(kafka_api_table *t)
{
    for (int i = 0; i < KAFKA_CONN_MAX_API; i++)
        t->min[i] = t->max[i] = -1;
}

int16_t kafka_api_table_pick(const kafka_api_table *t, int16_t api_key, int16_t want_min, int16_t want_max,
                             char *why, size_t why_len)
{
    const kafka_api_info *ai = kafka_api_info_get(api_key);
    if (!ai) {
        snprintf(why, why_len, "API key %d is unknown to this client", api_key);
        return -1;
    }
    int16_t cmin = want_min > ai->min_version ? want_min : ai->min_version;
    /* A version the schema marks unstable is still being designed. */
    int16_t codec_max = ai->latest_version_unstable ? (int16_t)(ai->max_version - 1) : ai->max_version;
    int16_t cmax = want_max < codec_max ? want_max : codec_max;
    int16_t bmin = -1, bmax = -1;
    if (api_key >= 0 && api_key < KAFKA_CONN_MAX_API) {
        bmin = t->min[api_key];
        bmax = t->max[api_key];
    }
    int16_t v;
    if (kafka_version_pick(ai->name, cmin, cmax, bmin, bmax, &v, why, why_len))
        return -1;
    return v;
}

kafka_err kafka_split_host_port(const char *addr, char *host, size_t host_len, int *port)
{
    if (!addr || !host || host_len == 0 || !port)
        return KAFKA_ERR_INVALID_ARG;
    const char *hs, *he, *colon;
    if (addr[0] == '[') { /* [v6]:port */
        hs = addr + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return KAFKA_ERR_INVALID_ARG;
        colon = he + 1;
    } else {
        hs = addr;
        colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon) /* bare v6 without [] is ambiguous */
            return KAFKA_ERR_INVALID_ARG;
        he = colon;
    }
    size_t n = (size_t)(he - hs);
    if (n == 0 || n >= host_len)
        return KAFKA_ERR_INVALID_ARG;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || p <= 0 || p > 65535)
        return KAFKA_ERR_INVALID_ARG;
    memcpy(host, hs, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

kafka_err kafka_frame_check_size(int32_t size, int32_t max, char *err, size_t err_len)
{
    if (size < 4) { /* a response holds at least its correlation id */
        snprintf(err, err_len, "response length prefix %d is below the 4-byte minimum", size);
        return KAFKA_ERR_CORRUPT;
    }
    if (size > max) {
        snprintf(err, err_len, "response of %d bytes exceeds the %d-byte limit", size, max);
        return KAFKA_ERR_TOO_LARGE;
    }
    return 0;
}

size_t kafka_frame_header_write(uint8_t *hdr, int16_t api_key, int16_t version, int32_t corr,
                                   const char *client_id, bool flexible, size_t body_len)
{
    size_t id_len = strlen(client_id);
    if (id_len > 255) /* client ids are short; keeps the header on the stack */
        id_len = 255;
    size_t hlen = 4 + 2 + 2 + 4 + 2 + id_len + (flexible ? 1 : 0);
    kafka_write_u32_at(hdr, (uint32_t)(hlen - 4 + body_len));
    hdr[4] = (uint8_t)((uint16_t)api_key >> 8);
    hdr[5] = (uint8_t)api_key;
    hdr[6] = (uint8_t)((uint16_t)version >> 8);
    hdr[7] = (uint8_t)version;
    kafka_write_u32_at(hdr + 8, (uint32_t)corr);
    hdr[12] = (uint8_t)(id_len >> 8);
    hdr[13] = (uint8_t)id_len;
    memcpy(hdr + 14, client_id, id_len);
    if (flexible)
        hdr[14 + id_len] = 0; /* no tagged fields */
    return hlen;
}

bool kafka_request_header_flexible(int16_t api_key, int16_t version)
{
    const kafka_api_info *ai = kafka_api_info_get(api_key);
    return ai && ai->request_flexible_min >= 0 && version >= ai->request_flexible_min;
}

bool kafka_response_header_flexible(int16_t api_key, int16_t version)
{
    if (api_key == KAFKA_API_API_VERSIONS) /* always header v0 (KIP-511) */
        return false;
    const kafka_api_info *ai = kafka_api_info_get(api_key);
    return ai && ai->response_flexible_min >= 0 && version >= ai->response_flexible_min;
}
