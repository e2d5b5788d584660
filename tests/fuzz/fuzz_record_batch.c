/*
 * libFuzzer target for the records iterator (v2 batches of every codec,
 * v0/v1 message sets) and, on what decodes, the v2 encoder.
 *
 * Input: one flags byte, then a records blob. Flags bit 0 = verify CRCs
 * (off by default so the fuzzer gets past them; the attribute bits of the
 * blob reach every codec). Every decoded v2 batch is re-encoded with the
 * builder (header-less records through the inline fast path) and decoded
 * again; the records must come back identical, and every append must add
 * exactly the bytes kafka_batch_builder_record_size predicted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_RECS = 64, MAX_HDRS = 8 };

typedef struct saved {
    kafka_record rec;
    kafka_header hdrs[MAX_HDRS];
    size_t n_hdrs;
} saved;

static void check_same_bytes(kafka_bytes a, kafka_bytes b)
{
    if (a.len != b.len || (a.len > 0 && memcmp(a.ptr, b.ptr, (size_t)a.len) != 0))
        abort();
}

/* Re-encodes the records of one batch and checks they decode the same. */
static void reencode(const kafka_record_batch *bt, const saved *recs, size_t n)
{
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.base_offset = bt->base_offset;
    kafka_batch_builder b;
    if (kafka_batch_builder_init(&b, &out, &cfg))
        abort();
    for (size_t i = 0; i < n; i++) {
        const kafka_record *r = &recs[i].rec;
        /* The size helper predicts exactly what the append adds; header-less
         * records go through the inline fast path as the writer's do. */
        size_t predicted = kafka_batch_builder_record_size(&b, r->timestamp, r->key.len, r->value.len, recs[i].hdrs,
                                                           recs[i].n_hdrs);
        size_t before = out.len;
        kafka_err err = recs[i].n_hdrs ? kafka_batch_builder_append(&b, r->timestamp, r->key.ptr, r->key.len,
                                                                    r->value.ptr, r->value.len, recs[i].hdrs,
                                                                    recs[i].n_hdrs)
                                       : kafka_batch_builder_append_no_headers(&b, r->timestamp, r->key.ptr,
                                                                               r->key.len, r->value.ptr, r->value.len);
        if (err || out.len - before != predicted)
            abort();
    }
    if (kafka_batch_builder_finish(&b))
        abort();
    kafka_records_iter it;
    kafka_records_iter_init(&it, out.data, out.len, NULL);
    kafka_record r;
    for (size_t i = 0; i < n; i++) {
        if (kafka_records_iter_next(&it, &r) != 1)
            abort();
        check_same_bytes(r.key, recs[i].rec.key);
        check_same_bytes(r.value, recs[i].rec.value);
        if (r.timestamp != recs[i].rec.timestamp || (size_t)r.header_count != recs[i].n_hdrs)
            abort();
    }
    if (kafka_records_iter_next(&it, &r) != 0)
        abort();
    kafka_records_iter_free(&it);
    kafka_wbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kafka_records_iter_config cfg = {
        .skip_crc_check = !(data[0] & 1),
        .max_decompressed = 1 << 20,
    };
    kafka_records_iter it;
    kafka_records_iter_init(&it, data + 1, size - 1, &cfg);
    static saved recs[MAX_RECS];
    const kafka_record_batch *bt;
    while (kafka_records_iter_next_batch(&it, &bt) == 1) {
        size_t n = 0;
        bool all = true;
        kafka_record rec;
        int rc;
        while ((rc = kafka_records_iter_next_record(&it, &rec)) == 1) {
            int16_t type;
            int32_t epoch;
            if (bt->control)
                (void)kafka_control_record_parse(&rec, &type, &epoch);
            if (n == MAX_RECS || rec.header_count > MAX_HDRS) {
                all = false;
                continue;
            }
            saved *s = &recs[n++];
            s->rec = rec;
            s->n_hdrs = 0;
            size_t pos = 0;
            while (kafka_record_header_next(&rec, &pos, &s->hdrs[s->n_hdrs]))
                s->n_hdrs++;
            if ((int32_t)s->n_hdrs != rec.header_count)
                abort();
        }
        if (rc < 0)
            break;
        if (bt->magic == 2 && all && n > 0)
            reencode(bt, recs, n);
    }
    kafka_records_iter_free(&it);
    return 0;
}
