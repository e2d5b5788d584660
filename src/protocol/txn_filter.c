/* Read-committed filtering of one Fetch answer (see txn_filter.h). */
#include "protocol/txn_filter.h"

#include <stdlib.h>

#include "common/alloc.h"

static int cmp_first_offset(const void *a, const void *b)
{
    int64_t x = ((const kafka_fetch_response_aborted_transaction *)a)->first_offset;
    int64_t y = ((const kafka_fetch_response_aborted_transaction *)b)->first_offset;
    return (x > y) - (x < y);
}

void kafka_txn_filter_sort(kafka_fetch_response_aborted_transaction *aborted, int32_t n)
{
    if (aborted && n > 1)
        qsort(aborted, (size_t)n, sizeof *aborted, cmp_first_offset);
}

void kafka_txn_filter_reset(kafka_txn_filter *f, const kafka_fetch_response_aborted_transaction *aborted, int32_t n)
{
    f->aborted = aborted;
    f->n_aborted = n > 0 ? n : 0;
    f->idx = 0;
    f->n_pids = 0;
}

void kafka_txn_filter_free(kafka_txn_filter *f)
{
    kafka_free(f->pids);
    f->pids = NULL;
    f->n_pids = f->cap_pids = 0;
}

static bool find(const kafka_txn_filter *f, int64_t pid, size_t *idx)
{
    for (size_t i = 0; i < f->n_pids; i++)
        if (f->pids[i] == pid) {
            *idx = i;
            return true;
        }
    return false;
}

static kafka_err add(kafka_txn_filter *f, int64_t pid)
{
    size_t i;
    if (find(f, pid, &i))
        return 0;
    if (!kafka_array_reserve((void **)&f->pids, &f->cap_pids, f->n_pids + 1, sizeof *f->pids, 8))
        return KAFKA_ERR_NOMEM;
    f->pids[f->n_pids++] = pid;
    return 0;
}

kafka_err kafka_txn_filter_skip(kafka_txn_filter *f, const kafka_record_batch *b, bool *skip)
{
    *skip = false;
    /* Wrapping, as the record decoder computes offsets: base_offset and
     * last_offset_delta come from the wire, and their int64 sum may
     * overflow (undefined) on a hostile batch. */
    int64_t last = (int64_t)((uint64_t)b->base_offset + (uint64_t)(int64_t)b->last_offset_delta);
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
