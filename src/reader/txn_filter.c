/* Read-committed filtering of one fetch response (see reader_internal.h). */
#include "common/alloc.h"
#include "reader/reader_internal.h"

void kr_txn_filter_reset(kr_txn_filter *f, const kafka_fetch_response_aborted_transaction *aborted, int32_t n)
{
    f->aborted = aborted;
    f->n_aborted = n > 0 ? n : 0;
    f->idx = 0;
    f->n_pids = 0;
}

void kr_txn_filter_free(kr_txn_filter *f)
{
    kafka_free(f->pids);
    f->pids = NULL;
    f->n_pids = f->cap_pids = 0;
}

static bool find(const kr_txn_filter *f, int64_t pid, size_t *idx)
{
    for (size_t i = 0; i < f->n_pids; i++)
        if (f->pids[i] == pid) {
            *idx = i;
            return true;
        }
    return false;
}

static kafka_err add(kr_txn_filter *f, int64_t pid)
{
    size_t i;
    if (find(f, pid, &i))
        return 0;
    if (f->n_pids == f->cap_pids) {
        size_t cap = f->cap_pids ? f->cap_pids * 2 : 8;
        int64_t *n = kafka_realloc(f->pids, cap * sizeof *n);
        if (!n)
            return KAFKA_ERR_NOMEM;
        f->pids = n;
        f->cap_pids = cap;
    }
    f->pids[f->n_pids++] = pid;
    return 0;
}

kafka_err kr_txn_filter_skip(kr_txn_filter *f, const kafka_record_batch *b, bool *skip)
{
    *skip = false;
    int64_t last = b->base_offset + b->last_offset_delta;
    while (f->idx < f->n_aborted && f->aborted[f->idx].first_offset <= last) {
        kafka_err err = add(f, f->aborted[f->idx].producer_id);
        if (err)
            return err;
        f->idx++;
    }
    size_t i;
    if (b->control) {
        /* The marker ends the producer's transaction, aborted or not. */
        if (find(f, b->producer_id, &i))
            f->pids[i] = f->pids[--f->n_pids];
        *skip = true;
    } else if (b->transactional && find(f, b->producer_id, &i)) {
        *skip = true;
    }
    return 0;
}
