/*
 * kafka_writer compression workers: with compression on and
 * cfg.compression_workers > 1 (or 0 on a multi-core machine), closed
 * batches are compressed by a small pool of threads instead of by the
 * I/O thread, so that compressed production uses more than one core (zlib's
 * deflate alone costs more per message than everything else the writer
 * does).
 *
 * Order and sequence numbers are untouched by the pool: kafka_writer_seal
 * queues each batch in its partition as before and also hands it to the
 * workers (w->zq, oldest seal first). Workers may finish a
 * partition's batches in any order; the I/O thread only ever sends a
 * partition's queue head, and only once no worker holds it (wbatch.zstate
 * back to W_Z_NONE), then stamps its idempotence fields at send time in
 * queue order, exactly as without workers. A worker only builds the
 * batch's compressed copy (kafka_writer_finish_batch): it touches no
 * partition, queue or accounting state, and holds w->mu only to take a
 * batch and to hand it back.
 */
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "compress/compress.h"
#include "writer/writer_internal.h"

#define W_ZWORKERS_DEFAULT_MAX 4
#define W_ZWORKERS_MAX 32

int kafka_writer_zip_count(const kafka_writer_config *cfg)
{
    if (cfg->compression == KAFKA_CODEC_NONE)
        return 0;
    long n = cfg->compression_workers;
    if (n == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > W_ZWORKERS_DEFAULT_MAX)
            n = W_ZWORKERS_DEFAULT_MAX;
    }
    if (n > W_ZWORKERS_MAX)
        n = W_ZWORKERS_MAX;
    /* One thread compressing is what the I/O thread does itself, without a
     * hand-off (and an unknown CPU count means one). */
    return n <= 1 ? 0 : (int)n;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void kafka_writer_finish_timed(kafka_writer *w, wbatch *b, kafka_compressor *z)
{
    if (b->finished || b->bb.cfg.codec == KAFKA_CODEC_NONE) {
        kafka_writer_finish_batch(b, z);
        return;
    }
    int64_t t0 = mono_ns();
    kafka_writer_finish_batch(b, z);
    atomic_fetch_add_explicit(&w->compress_ns, mono_ns() - t0, memory_order_relaxed);
}

static void *zip_main(void *arg)
{
    kafka_writer *w = arg;
    /* Contexts of this thread only (they are large and not thread-safe);
     * NULL on OOM: each batch then gets fresh ones. */
    kafka_compressor *z = kafka_compressor_new();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->zq_len && !w->stop)
            pthread_cond_wait(&w->zq_cv, &w->mu);
        if (w->stop) /* close empties the queue before it stops us */
            break;
        wbatch *b = w->zq[w->zq_first];
        w->zq_first = (w->zq_first + 1) % w->zq_cap;
        w->zq_len--;
        b->zstate = W_Z_BUSY;
        pthread_mutex_unlock(&w->mu);
        kafka_writer_finish_timed(w, b, z);
        pthread_mutex_lock(&w->mu);
        b->zstate = W_Z_NONE;
        /* The I/O thread waits only for partition heads (it sends nothing
         * else); close waits on done_cv to take the batch back. */
        if (W_BATCH(b->part->pp.qhead) == b)
            kafka_writer_wake(w);
        if (w->aborting)
            pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    kafka_compressor_free(z);
    return NULL;
}

kafka_err kafka_writer_zip_start(kafka_writer *w)
{
    int n = w->n_zworkers;
    w->n_zworkers = 0;
    if (n == 0)
        return 0;
    w->zworkers = kafka_calloc((size_t)n, sizeof *w->zworkers);
    if (!w->zworkers)
        return KAFKA_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&w->zworkers[i], NULL, zip_main, w) != 0) {
            pthread_mutex_lock(&w->mu);
            w->stop = true;
            pthread_cond_broadcast(&w->zq_cv);
            pthread_mutex_unlock(&w->mu);
            kafka_writer_zip_join(w);
            w->stop = false;
            return KAFKA_ERR_NOMEM;
        }
        w->n_zworkers = i + 1;
    }
    return 0;
}

void kafka_writer_zip_join(kafka_writer *w)
{
    for (int i = 0; i < w->n_zworkers; i++)
        pthread_join(w->zworkers[i], NULL);
    w->n_zworkers = 0;
    kafka_free(w->zworkers);
    w->zworkers = NULL;
    kafka_free(w->zq);
    w->zq = NULL;
    w->zq_first = w->zq_len = w->zq_cap = 0;
}

/* Room for one more batch in the ring (unwrapped into a bigger array).
 * Locked. false on OOM. */
static bool zq_grow(kafka_writer *w)
{
    if (w->zq_len < w->zq_cap)
        return true;
    size_t cap = w->zq_cap ? w->zq_cap * 2 : 64;
    wbatch **v = kafka_malloc(cap * sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < w->zq_len; i++)
        v[i] = w->zq[(w->zq_first + i) % w->zq_cap];
    kafka_free(w->zq);
    w->zq = v;
    w->zq_first = 0;
    w->zq_cap = cap;
    return true;
}

void kafka_writer_zip_push(kafka_writer *w, wbatch *b)
{
    if (!w->n_zworkers)
        return;
    if (!zq_grow(w)) {
        /* Out of memory: the I/O thread compresses this one when it sends
         * it (with fresh contexts), as without workers. */
        kafka_writer_wake(w);
        return;
    }
    b->zstate = W_Z_QUEUED;
    w->zq[(w->zq_first + w->zq_len) % w->zq_cap] = b;
    w->zq_len++;
    pthread_cond_signal(&w->zq_cv);
}

bool kafka_writer_zip_cancel(kafka_writer *w, wbatch *b)
{
    if (b->zstate == W_Z_BUSY)
        return false;
    if (b->zstate == W_Z_QUEUED) {
        /* Close and producer-id failures only: a linear search is fine.
         * The later batches move up one place, keeping their order. */
        size_t i = 0;
        while (i < w->zq_len && w->zq[(w->zq_first + i) % w->zq_cap] != b)
            i++;
        for (; i + 1 < w->zq_len; i++)
            w->zq[(w->zq_first + i) % w->zq_cap] = w->zq[(w->zq_first + i + 1) % w->zq_cap];
        w->zq_len--;
        b->zstate = W_Z_NONE;
    }
    return true;
}
