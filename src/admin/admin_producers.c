/* DescribeProducers: one request per partition leader (admin_leaders.c);
 * each partition's producers are kept beside its entry. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_leaders.h"
#include "protocol/api.h"
#include "protocol/gen/describe_producers.h"

KAFKA_CONN_ENCODER(describe_producers_request)
KAFKA_CONN_DECODER(describe_producers_response)

void kafka_admin_producers_free(kafka_admin_producers *p) { admin_result_free(p); }

typedef struct dp_ctx {
    kafka_admin_producers *r; /* partitions[i] belongs to entry i */
    kafka_arena *ar;          /* r's arena */
    bool nomem;
} dp_ctx;

static kafka_err dp_build(void *ctx, int16_t v, kafka_arena *arena, const kafka_admin_offsets *o, const size_t *idx,
                          size_t n, const void **req)
{
    (void)ctx;
    (void)v;
    kafka_describe_producers_request *r = kafka_arena_alloc(arena, sizeof *r);
    kafka_describe_producers_request_topic_request *ts = kafka_arena_calloc(arena, n, sizeof *ts);
    if (!r || !ts)
        return KAFKA_ERR_NOMEM;
    kafka_describe_producers_request_init(r);
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const kafka_admin_offset *x = &o->offsets[idx[i]];
        if (nt == 0 || !kafka_str_eq_c(ts[nt - 1].name, x->topic)) { /* sorted by topic */
            kafka_describe_producers_request_topic_request_init(&ts[nt]);
            ts[nt].name = kafka_str_c(x->topic);
            ts[nt].partition_indexes = kafka_arena_calloc(arena, n, sizeof(int32_t));
            if (!ts[nt].partition_indexes)
                return KAFKA_ERR_NOMEM;
            nt++;
        }
        ts[nt - 1].partition_indexes[ts[nt - 1].partition_indexes_count++] = x->partition;
    }
    r->topics = ts;
    r->topics_count = nt;
    *req = r;
    return 0;
}

static void dp_apply(void *ctx, int16_t v, const void *resp_, kafka_admin_offsets *o, kafka_err *last)
{
    dp_ctx *c = ctx;
    (void)v;
    const kafka_describe_producers_response *resp = resp_;
    for (int32_t t = 0; t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
            const kafka_describe_producers_response_partition_response *rp = &resp->topics[t].partitions[p];
            kafka_admin_offset *x =
                admin_leader_answer(o, resp->topics[t].name, rp->partition_index, rp->error_code, last);
            if (!x)
                continue;
            kafka_admin_partition_producers *y = &c->r->partitions[x - o->offsets];
            y->message = rp->error_message.len > 0 ? admin_str(c->ar, rp->error_message) : NULL;
            size_t np = rp->active_producers_count > 0 ? (size_t)rp->active_producers_count : 0;
            kafka_admin_producer *pr = kafka_arena_calloc(c->ar, np ? np : 1, sizeof *pr);
            if (!pr) {
                c->nomem = true;
                continue;
            }
            for (size_t k = 0; k < np; k++) {
                const kafka_describe_producers_response_producer_state *s = &rp->active_producers[k];
                pr[k] = (kafka_admin_producer){s->producer_id,       s->producer_epoch,    s->last_sequence,
                                               s->last_timestamp,    s->coordinator_epoch, s->current_txn_start_offset};
            }
            y->producers = pr;
            y->n_producers = np;
        }
}

kafka_err kafka_admin_describe_producers(kafka_admin *a, const kafka_admin_tp *parts, size_t n, int timeout_ms,
                                         kafka_admin_producers **out)
{
    if (out)
        *out = NULL;
    kafka_err err = admin_enter(a);
    if (err)
        return err;
    const char *what = "describe producers";
    if (!out || !parts || n == 0)
        err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: no partitions given, or NULL out", what);
    for (size_t i = 0; !err && i < n; i++)
        if (!admin_topic_name_ok(parts[i].topic) || parts[i].partition < -1)
            err = admin_fail(a, KAFKA_ERR_INVALID_ARG, "%s: bad partition \"%s\" [%d]", what,
                             parts[i].topic ? parts[i].topic : "(null)", (int)parts[i].partition);
    int64_t deadline = admin_deadline(timeout_ms);
    kafka_admin_offsets *o = NULL;
    if (!err)
        err = admin_offsets_expand(a, what, parts, n, deadline, &o);
    dp_ctx ctx = {NULL, NULL, false};
    if (!err && (!(ctx.r = admin_result_new(sizeof *ctx.r, &ctx.ar)) ||
                 !(ctx.r->partitions = kafka_arena_calloc(ctx.ar, o->n ? o->n : 1, sizeof *ctx.r->partitions))))
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_describe_producers_response resp;
    admin_leader_op op = {.what = what, .api = KAFKA_API_DESCRIBE_PRODUCERS, .vmin = 0, .vmax = INT16_MAX,
                          .enc = describe_producers_request_enc_, .dec = describe_producers_response_dec_,
                          .resp = &resp, .build = dp_build, .apply = dp_apply, .ctx = &ctx};
    if (!err)
        err = admin_per_leader(a, &op, o, deadline);
    if (!err && ctx.nomem)
        err = admin_fail(a, KAFKA_ERR_NOMEM, "%s: out of memory", what);
    kafka_err first = 0;
    for (size_t i = 0; !err && i < o->n; i++) {
        kafka_admin_partition_producers *y = &ctx.r->partitions[ctx.r->n++];
        y->topic = admin_strz(ctx.ar, o->offsets[i].topic);
        y->partition = o->offsets[i].partition;
        y->err = o->offsets[i].err;
        if (!y->producers)
            y->producers = kafka_arena_calloc(ctx.ar, 1, sizeof *y->producers);
        if (y->err && !first)
            first = admin_item_fail(a, what, y->topic, y->partition, y->err, y->message);
    }
    kafka_admin_offsets_free(o);
    if (err) {
        admin_result_free(ctx.r);
    } else {
        *out = ctx.r;
        err = first;
    }
    admin_leave(a);
    return err;
}
