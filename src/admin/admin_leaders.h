/* Requests split per partition leader (internal): ListOffsets and
 * DeleteRecords send one request per leader broker carrying all of its
 * partitions, merge the answers into one kafka_admin_offsets, and ask
 * again (after a metadata refresh) for partitions whose leader moved. */
#ifndef KAFKA_ADMIN_LEADERS_H
#define KAFKA_ADMIN_LEADERS_H

#include "admin/admin_int.h"

/* The err of an entry not answered yet. */
#define ADMIN_PENDING KAFKA_ERR_STATE

/* Result entries for parts (partition -1 expanded to every partition from
 * metadata), sorted, without duplicates; unknown topics/partitions get
 * UNKNOWN_TOPIC_OR_PARTITION, the others ADMIN_PENDING (offset -1). */
kafka_err admin_offsets_expand(kafka_admin *a, const char *what, const kafka_admin_tp *parts, size_t n,
                               int64_t deadline, kafka_admin_offsets **out);

kafka_admin_offset *admin_offsets_find(kafka_admin_offsets *o, kafka_str topic, int32_t partition);

/* The pending entry of an answer's partition, its err set from the wire
 * code: NULL when there is none (not asked, already answered) or when the
 * code means "ask the new leader later" (the entry stays pending and
 * *last gets that error). */
kafka_admin_offset *admin_leader_answer(kafka_admin_offsets *o, kafka_str topic, int32_t partition, int16_t code,
                                        kafka_err *last);

/* Partition errors that mean "ask the new leader later". */
bool admin_partition_err_retriable(kafka_err e);

typedef struct admin_leader_op {
    const char *what;
    int16_t api, vmin, vmax;
    kafka_encode_fn enc;
    kafka_decode_fn dec;
    void *resp; /* decoded into */
    /* The request for entries o->offsets[idx[0..n)] (all led by one broker). */
    kafka_err (*build)(void *ctx, int16_t v, kafka_arena *arena, const kafka_admin_offsets *o, const size_t *idx,
                       size_t n, const void **req);
    /* Fills the answered entries; leaves retriable ones ADMIN_PENDING with
     * their error in *last. */
    void (*apply)(void *ctx, int16_t v, const void *resp, kafka_admin_offsets *o, kafka_err *last);
    void *ctx;
} admin_leader_op;

/* Runs op until no entry is pending or the deadline passes (pending ones
 * then get the last retriable error). Returns request-level failures
 * only (CLOSED, NOMEM, NO_COMMON_VERSION). */
kafka_err admin_per_leader(kafka_admin *a, admin_leader_op *op, kafka_admin_offsets *o, int64_t deadline);

#endif
