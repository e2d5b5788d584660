/* libFuzzer target: hostile broker responses through the whole conn layer.
 *
 * The fuzz input plays the broker behind an in-memory kafka_transport
 * (include/kafka/transport.h): no sockets, no threads, never blocks — a
 * read past the end of the input is a closed connection. The dial gets a
 * valid ApiVersions v3 answer (every API the client knows, at its full
 * range, except that byte 1 caps the version of the API under test), then
 * the input drives one conn operation picked by byte 0:
 *   0 write_messages (acks all)   1 read_batch + every message
 *   2 read_partitions             3 read_offsets + seek
 *   4 brokers + controller        5 create + delete topics
 *   6 dial with SASL SCRAM-SHA-256, then read_partitions
 *   7 dial with SASL PLAIN, then write_messages (acks none)
 * Responses are chunks: [u8 mode][u16 len][len bytes]. Mode bit 0 clear:
 * the transport frames the bytes as a response (int32 size, the
 * correlation id of the oldest request it has not answered, the bytes);
 * set: the bytes go out raw (hostile sizes, wrong correlation ids, SASL
 * v0 tokens). It must never crash, hang, leak or overread. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/dialer.h"
#include "kafka/transport.h"
#include "protocol/api.h"
#include "protocol/gen/api_versions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint8_t out[8 + 0xffff]; /* the response being served: header + one chunk */
    size_t out_len, out_pos;
    int32_t corrs[64]; /* correlation ids of requests not yet answered */
    size_t n_corrs;
    uint8_t hdr[12]; /* the current request's first bytes */
    size_t hdr_len;
    uint64_t skip; /* bytes of the current request left to discard */
    int16_t cap_key, cap_version;
    bool handshake_done;
} fz;

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int32_t pop_corr(fz *f)
{
    if (!f->n_corrs)
        return 0;
    int32_t c = f->corrs[0];
    memmove(f->corrs, f->corrs + 1, (--f->n_corrs) * sizeof f->corrs[0]);
    return c;
}

/* The canned ApiVersions v3 answer, framed. */
static void serve_api_versions(fz *f)
{
    kafka_api_versions_response resp;
    kafka_api_versions_response_init(&resp);
    kafka_api_versions_response_api_version v[KAFKA_API_KEY_MAX + 1];
    int32_t n = 0;
    for (int k = 0; k <= KAFKA_API_KEY_MAX; k++) {
        const kafka_api_info *ai = kafka_api_info_get((int16_t)k);
        if (!ai)
            continue;
        kafka_api_versions_response_api_version_init(&v[n]);
        v[n].api_key = (int16_t)k;
        v[n].min_version = ai->min_version;
        v[n].max_version = ai->max_version;
        if (k == f->cap_key && f->cap_version < ai->max_version)
            v[n].max_version = f->cap_version < ai->min_version ? ai->min_version : f->cap_version;
        n++;
    }
    resp.api_keys = v;
    resp.api_keys_count = n;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    if (kafka_api_versions_response_encode(&w, 3, &resp) == 0 && w.len + 8 <= sizeof f->out) {
        be32(f->out, (uint32_t)(w.len + 4));
        be32(f->out + 4, (uint32_t)pop_corr(f));
        memcpy(f->out + 8, w.data, w.len);
        f->out_len = w.len + 8;
        f->out_pos = 0;
    }
    kafka_wbuf_free(&w);
}

/* Loads the next response chunk; false when the input is used up. */
static bool next_chunk(fz *f)
{
    if (!f->handshake_done) {
        f->handshake_done = true;
        serve_api_versions(f);
        return f->out_len > 0;
    }
    if (f->in_len - f->in_pos < 3)
        return false;
    uint8_t mode = f->in[f->in_pos];
    size_t len = (size_t)f->in[f->in_pos + 1] << 8 | f->in[f->in_pos + 2];
    f->in_pos += 3;
    if (len > f->in_len - f->in_pos)
        len = f->in_len - f->in_pos;
    size_t hdr = (mode & 1) ? 0 : 8;
    if (hdr) {
        be32(f->out, (uint32_t)(len + 4));
        be32(f->out + 4, (uint32_t)pop_corr(f));
    }
    memcpy(f->out + hdr, f->in + f->in_pos, len);
    f->in_pos += len;
    f->out_len = hdr + len;
    f->out_pos = 0;
    return f->out_len > 0 || next_chunk(f);
}

static int fz_dial(void *pd, const char *host, int port, int timeout_ms, void **conn, char *errbuf, size_t errlen)
{
    (void)host, (void)port, (void)timeout_ms, (void)errbuf, (void)errlen;
    *conn = pd;
    return 0;
}

static long fz_read(void *pd, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)conn, (void)timeout_ms;
    fz *f = pd;
    if (f->out_pos == f->out_len && !next_chunk(f))
        return KAFKA_TRANSPORT_CLOSED;
    size_t n = f->out_len - f->out_pos;
    if (n > len)
        n = len;
    memcpy(buf, f->out + f->out_pos, n);
    f->out_pos += n;
    return (long)n;
}

/* Follows the request stream to learn each request's correlation id. */
static long fz_write(void *pd, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)conn, (void)timeout_ms;
    fz *f = pd;
    const uint8_t *p = buf;
    size_t left = len;
    while (left) {
        if (f->skip) {
            size_t n = f->skip < left ? (size_t)f->skip : left;
            f->skip -= n;
            p += n;
            left -= n;
            continue;
        }
        f->hdr[f->hdr_len++] = *p++;
        left--;
        if (f->hdr_len == sizeof f->hdr) {
            uint32_t sz = (uint32_t)f->hdr[0] << 24 | (uint32_t)f->hdr[1] << 16 | (uint32_t)f->hdr[2] << 8 | f->hdr[3];
            if (f->n_corrs < sizeof f->corrs / sizeof f->corrs[0])
                f->corrs[f->n_corrs++] = (int32_t)((uint32_t)f->hdr[8] << 24 | (uint32_t)f->hdr[9] << 16 |
                                                   (uint32_t)f->hdr[10] << 8 | f->hdr[11]);
            f->skip = sz >= 8 ? sz - 8 : 0;
            f->hdr_len = 0;
        }
    }
    return (long)len;
}

static void fz_close(void *pd, void *conn) { (void)pd, (void)conn; }

static void run_op(kafka_conn *c, int op)
{
    static const kafka_message msgs[2] = {
        {.topic = "t", .partition = 0, .key = "k", .key_len = 1, .value = "value", .value_len = 5},
        {.topic = "t", .partition = 0, .value = "v2", .value_len = 2},
    };
    const char *topics[] = {"t", "u"};
    switch (op) {
    case 0:
    case 7: {
        kafka_write_options o = {.acks = op == 7 ? KAFKA_REQUIRE_NONE : KAFKA_REQUIRE_ALL, .codec = KAFKA_CODEC_NONE};
        int64_t base;
        kafka_conn_write_messages(c, msgs, 2, &o, &base);
        break;
    }
    case 1: {
        kafka_conn_bind(c, "t", 0);
        kafka_batch *b = NULL;
        if (kafka_conn_read_batch(c, 1, 1 << 20, &b) == 0) {
            kafka_message m;
            for (int i = 0; i < 100000 && kafka_batch_read_message(b, &m) == 0; i++)
                ;
            kafka_batch_close(b);
        }
        break;
    }
    case 2:
    case 6: {
        kafka_partition *parts = NULL;
        size_t n = 0;
        if (kafka_conn_read_partitions(c, topics, 2, &parts, &n) == 0)
            kafka_free_partitions(parts);
        break;
    }
    case 3: {
        kafka_conn_bind(c, "t", 0);
        int64_t first, last, off;
        kafka_conn_read_offsets(c, &first, &last);
        kafka_conn_seek(c, 1, KAFKA_SEEK_FIRST, &off);
        break;
    }
    case 4: {
        kafka_broker *bs = NULL;
        size_t n = 0;
        if (kafka_conn_brokers(c, &bs, &n) == 0)
            kafka_free_brokers(bs);
        kafka_broker ctl;
        kafka_conn_controller(c, &ctl);
        break;
    }
    default: {
        const char *names[] = {"retention.ms"}, *values[] = {"1000"};
        kafka_topic_config tc = {.topic = "t", .num_partitions = 1, .replication_factor = 1, .config_names = names,
                                 .config_values = values, .n_configs = 1};
        kafka_conn_create_topics(c, &tc, 1, 1000);
        kafka_conn_delete_topics(c, topics, 2, 1000);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const int16_t op_api[8] = {KAFKA_API_PRODUCE, KAFKA_API_FETCH, KAFKA_API_METADATA,
                                      KAFKA_API_LIST_OFFSETS, KAFKA_API_METADATA, KAFKA_API_CREATE_TOPICS,
                                      KAFKA_API_SASL_HANDSHAKE, KAFKA_API_SASL_HANDSHAKE};
    int op = data[0] % 8;
    fz *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    f->in = data + 2;
    f->in_len = size - 2;
    f->cap_key = op_api[op];
    f->cap_version = (int16_t)(data[1] & 0x1f);
    kafka_transport tp = {.privdata = f, .dial = fz_dial, .read = fz_read, .write = fz_write, .close = fz_close};
    kafka_dialer_config cfg = {.transport = &tp};
    if (op == 6)
        cfg.sasl = (kafka_sasl_config){.mechanism = KAFKA_SASL_SCRAM_SHA_256, .username = "u", .password = "p"};
    if (op == 7)
        cfg.sasl = (kafka_sasl_config){.mechanism = KAFKA_SASL_PLAIN, .username = "u", .password = "p"};
    kafka_conn *c = NULL;
    if (kafka_dial(&c, "fuzz:9092", &cfg, 1000) == 0) {
        kafka_conn_set_timeout(c, 1000);
        run_op(c, op);
        kafka_conn_close(c);
    }
    free(f);
    return 0;
}
