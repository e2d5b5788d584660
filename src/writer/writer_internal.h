/*
 * kafka_writer internals shared by writer.c (state, enqueue, API),
 * writer_io.c (the I/O, on the engine thread) and writer_zip.c (compression
 * workers). One mutex (w->mu) guards every
 * field below unless a comment says otherwise.
 *
 * Asynchronous writes append without w->mu (writer.c, append_fast): they
 * find their topic and partition through lock-free reads of structures that
 * never move (topics and partitions are allocated one by one and freed only
 * at close; their arrays only grow, old copies kept until close), and take
 * only the lock of their lane of the partition (wlane.mu) around its open
 * batch. A partition has w->n_lanes open batches ("lanes", 1 unless
 * cfg.append_lanes says more); a thread always appends to the same lane
 * (its number is per thread), so threads writing to the same partitions in
 * parallel do not pass the batch's cache lines back and forth on every
 * message, and each thread's messages keep their order (one lane's batches
 * are queued in order). Buffer space comes from
 * a shared budget taken with a compare-and-swap, a chunk per lane at a time.
 * Lock order: w->mu before any wlane.mu; never two wlane.mu at once except
 * under w->mu (parts_lock_all), in list order.
 */
#ifndef KAFKA_WRITER_INTERNAL_H
#define KAFKA_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "common/lock.h"
#include "common/wallclock.h"
#include "engine/meta.h"
#include "kafka/writer.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"
#include "writer/balancer_internal.h"
#include "writer/producer_state.h"

/* A synchronous write call waiting for its messages (lives on its stack). */
typedef struct wwaiter {
    struct wwaiter *next; /* kafka_writer.waiters */
    uint64_t id;          /* what batches refer to: the call may time out
                             and return while its batches live on */
    size_t remaining;
    kafka_err *errs; /* n entries, always non-NULL */
} wwaiter;

typedef struct wref {
    uint64_t waiter; /* wwaiter.id */
    size_t idx;
} wref;

typedef struct wpart wpart;

/* Where one record's key and value sit in its batch buffer (uncompressed
 * batches), for the completion callback. Lengths -1 = null. */
typedef struct wmeta {
    uint32_t key_off, val_off;
    int32_t kl, vl;
    int64_t ts;
} wmeta;

/* When the writer spreads messages round-robin itself instead of asking
 * the balancer (fixed at creation from cfg.balancer). */
/* Who spreads which messages (writer.c rr_mode_of): the balancer
 * (NEVER), the writer per message for every message (ALWAYS) or for
 * keyless ones (NULL_KEYS), or the writer sticky for keyless ones
 * (STICKY). */
enum { W_RR_NEVER, W_RR_ALWAYS, W_RR_NULL_KEYS, W_RR_STICKY };

/* A sealed batch and the compression workers (writer_zip.c), under w->mu:
 * NONE = nothing to wait for (finished, or compressed by the I/O thread at
 * send time when there are no workers); QUEUED = waiting in w->zq for a
 * worker; BUSY = a worker is compressing it, unlocked: nobody else may
 * touch it (its partition's queue cannot send or drop it) until NONE. */
enum { W_Z_NONE, W_Z_QUEUED, W_Z_BUSY };

/* Why a batch was closed (stats). */
enum { W_SEAL_FULL, W_SEAL_SYNC, W_SEAL_TIMEOUT, W_SEAL_FLUSH };

typedef struct wbatch {
    kafka_pbatch pb;     /* queue link, number, sequence, attempts
                            (producer_state.h); first: W_BATCH converts */
    struct wbatch *next; /* the batch pool (writer.c) */
    wpart *part;
    kafka_wbuf buf;      /* the builder's output: header + records as appended */
    kafka_batch_builder bb;
    kafka_wbuf zbuf;     /* compressed batches: the finished batch as sent
                            (buf keeps the uncompressed records for the
                            completion index, or is freed) */
    int32_t count;
    size_t bytes;        /* counted against max_buffered_bytes */
    int64_t payload;     /* key+value bytes (least-bytes balancer) */
    int64_t created_ms;
    bool finished;       /* builder finished (compressed): kafka_writer_finish_batch */
    uint8_t zstate;      /* W_Z_*: where the compression workers have it
                            (w->mu; in the padding: no bigger batches) */
    kafka_err finish_err;
    kafka_err result;
    int64_t base_offset;
    wref *refs;
    size_t n_refs, cap_refs;
    bool index_ok;       /* idx describes every record (see wmeta) */
    wmeta *idx;
    size_t idx_cap;
    /* The messages' kafka_message.opaque, for the completion callback
     * (kept only with one): opq[0..count) once a record had a non-NULL
     * one (opq_live), so that batches of NULL opaques cost nothing. */
    bool keep_opaque;
    bool opq_live;
    void **opq;
    size_t opq_cap;
} wbatch;

/* Most lanes per partition (cfg.append_lanes; see the top of this file). */
#define W_LANES 8
/* Groups of threads with a sticky keyless partition of their own (wtopic). */
#define W_STICKY_SLOTS 16
/* Threads with a call-accounting slot of their own (writer_internal.h active). */
#define W_ACTIVE_SLOTS 64

/* One open batch of a partition and what appends to it need. */
typedef struct wlane {
    /* Guards the open batch's contents (count, bytes, buffer, index...:
     * appends) and credit, and `open` together with w->mu: `open` changes
     * only with both held (batch_new, kafka_writer_seal), so either one is
     * enough to read the pointer. A kafka_lock (common/lock.h): taken once
     * per message, where pthread_mutex_t's bookkeeping showed. */
    kafka_lock mu;
    wbatch *open;
    /* Buffer bytes this lane took from w->buffered_bytes and has not used
     * yet: appends draw on it without touching the shared counter; a write
     * that finds no room takes every lane's credit back before it decides
     * (space_wait), so the limit stays exact. */
    int64_t credit;
    size_t last_len;    /* buffer bytes / records of the last sealed batch */
    int32_t last_count; /* (capacity hints for the next one; both locks) */
    char pad[64];       /* lanes written by different cores: no shared line */
} wlane;

struct wpart {
    wlane lanes[W_LANES]; /* the first w->n_lanes are used */
    const char *topic; /* owned by the wtopic */
    int32_t id;
    kafka_ppart pp;     /* sealed batches, sequences, in flight, backoff
                           (producer_state.h) */
    int32_t leader;     /* last known leader, -1 unknown */
};

/* The writer's batch of a producer-state batch. */
#define W_BATCH(pbp) ((wbatch *)(void *)(pbp))

/* True when a lane of p has an open batch. w->mu held. */
static inline bool wpart_has_open(const wpart *p)
{
    for (int l = 0; l < W_LANES; l++)
        if (p->lanes[l].open)
            return true;
    return false;
}

/* A topic's state. Allocated once, never moved, freed at close; the fields
 * the lock-free append path reads are atomic and written under w->mu. */
/* A sticky slot of a wtopic (see there). */
typedef struct wsticky {
    _Atomic int32_t part;
    _Atomic int32_t msgs_left;
    _Atomic int64_t bytes_left;
    char pad[64 - 16];
} wsticky;

typedef struct wtopic {
    _Atomic(struct wtopic *) next; /* w->topics list; set once */
    char *name;                    /* immutable */
    /* Partition count as last learned from the cluster, so that writes
     * keep being partitioned (without blocking) while metadata cannot be
     * refreshed. ids = 0..n_known-1 (ids[i] == i); the array only grows
     * and is published before n_known, so ids has >= n_known entries. */
    _Atomic int32_t n_known;
    _Atomic(int32_t *) ids;
    int32_t ids_cap;
    _Atomic int64_t next_refresh;
    /* Partition states by id (NULL until first used). The array only grows
     * (a copy, published before n_parts; old copies kept until close). */
    _Atomic(_Atomic(wpart *) *) parts;
    _Atomic int32_t n_parts;
    /* Round-robin positions (writer-side spreading), one per lane (threads
     * of different lanes rotate independently; one thread alone sees one
     * plain rotation), each on a cache line of its own. */
    char pad0[64];
    struct {
        atomic_uint_fast32_t pos;
        char pad[64 - sizeof(atomic_uint_fast32_t)];
    } rr[W_LANES];
    /* Sticky keyless placement (kafka/balancer.h KAFKA_KEYLESS_STICKY):
     * one slot per group of threads (thread number modulo
     * W_STICKY_SLOTS), each on a cache line of its own: the partition the
     * group fills and what it may still put there before it takes the
     * next one from rr[0]. Zeroed = no partition yet. Relaxed atomics:
     * threads sharing a slot only blur the counts. */
    wsticky sticky[W_STICKY_SLOTS];
} wtopic;

/* A grow-only array's storage (see wtopic): kept until close because a
 * lock-free reader may still hold it. */
typedef struct wblock {
    struct wblock *next;
    max_align_t data[];
} wblock;

/* A growable array of batches (the send step's popped batches, and
 * completed batches waiting to be delivered outside the lock). */
typedef struct wvec {
    wbatch **v;
    size_t n, cap;
} wvec;

/* A broker the writer sends to: its Produce requests in flight (the
 * per-connection max_in_flight). */
typedef struct wbroker {
    int32_t id;
    int inflight;
    bool up; /* connected as far as the writer knows (stats: dials) */
} wbroker;

struct kafka_writer {
    kafka_writer_config cfg; /* strings below are owned copies */
    char *brokers, *topic;
    kafka_cluster *cluster;
    kafka_balancer_state *bal;
    int16_t acks;
    int rr_mode;            /* W_RR_*; read-only after creation */
    bool empty_key_keyless; /* CRC32: an empty key counts as none; read-only */
    unsigned n_lanes;       /* 1..W_LANES (cfg.append_lanes); read-only */
    /* Read by every append, written once per topic (under w->mu): kept
     * with the read-only fields, away from the lock's cache line. */
    _Atomic(wtopic *) topics;  /* list, creation order; only appended to */
    _Atomic(wtopic *) cfg_wt;  /* the wtopic of cfg.topic once created */
    kafka_wallclock clock;  /* record timestamps; thread-safe, no lock */

    pthread_mutex_t mu;
    pthread_cond_t done_cv;  /* writers/flush/close: space freed, batch done */
    /* The I/O: one engine thread (writer_io.c) runs the send steps and
     * handles the responses; kafka_writer_wake asks it for a turn. */
    kafka_engine *eng;
    bool threads_started; /* the engine thread (and workers) run */
    /* Engine thread only: leader lookups (Metadata through the engine),
     * and where the search for a broker for InitProducerId starts. */
    ke_meta md;
    size_t pid_rr;
    bool pid_in_flight; /* mu: an InitProducerId is on its way */

    /* Compression workers (writer_zip.c): n_zworkers threads (0 = the
     * I/O thread compresses at send time), read-only after creation; sealed
     * batches wait for them in the ring zq[zq_first..zq_first+zq_len)
     * (mod zq_cap), oldest seal first. */
    pthread_cond_t zq_cv;    /* workers: a batch to compress, or stop */
    pthread_t *zworkers;
    int n_zworkers;
    wbatch **zq;
    size_t zq_first, zq_len, zq_cap;
    _Atomic int64_t compress_ns; /* stats: time spent compressing, every thread */

    wtopic *topics_tail;
    wblock *blocks;            /* every grow-only array, freed at close */
    wwaiter *waiters;  /* synchronous calls waiting */
    uint64_t next_waiter_id;
    wvec recv_done; /* completed batches to deliver (engine thread) */
    wvec send_vec;  /* batches collect() popped */
    wvec send_done; /* completed batches to deliver */
    struct kafka_compressor *send_z; /* codec contexts (compression on, no
                                        workers); created on first use */
    wbroker *wbrokers; /* brokers sent to, with their requests in flight */
    size_t n_wbrokers;

    size_t pending_batches; /* allocated, not yet completed */
    /* Released batches kept for reuse with their buffers (writer.c
     * batch_pool_put), linked by next: a steady stream then neither calls
     * malloc nor faults in fresh pages for every batch. w->mu. */
    struct wbatch *pool;
    size_t pool_n, pool_bytes;
    /* Bytes of the messages and batches accepted and not yet released,
     * plus the lanes' credit (wlane.credit). Taken with a compare-and-swap
     * that never passes max_buffered_bytes, without w->mu; given back under
     * w->mu. On a cache line of its own. */
    char pad0[64];
    _Atomic int64_t buffered_bytes;
    char pad1[64];
    int64_t credit_chunk;  /* what a lane takes at a time; read-only */
    int64_t sealed_msgs;   /* messages in sealed, unreleased batches (the
                              open ones count in their batch, under their
                              lane's lock) */
    int flush_requests;
    bool closing, aborting, stop;
    /* Calls that may wait inside the writer (synchronous writes, flushes,
     * asynchronous writes that left the lock-free path): close wakes them
     * and frees nothing until this is back to 0. mu. */
    int calls_waiting;
    /* Public calls running, so that close frees nothing under one (an
     * asynchronous write on the lock-free path holds no lock close could
     * wait on, and is not in calls_waiting). Threads numbered below
     * W_ACTIVE_SLOTS count in a slot of their own (only that thread writes
     * it: plain stores, ordered against close by an asymmetric fence when
     * `asym`, see common/membarrier.h); other threads share the last slot
     * with atomic read-modify-writes. One cache line each (writer.c,
     * api_enter / api_leave). */
    struct {
        atomic_long n;
        char pad[64 - sizeof(atomic_long)];
    } active[W_ACTIVE_SLOTS + 1];
    bool asym; /* membarrier registered: api_enter needs no fence */

    /* Producer id, epoch, idempotence, batches in flight, retry rules
     * (producer_state.h). */
    kafka_pstate ps;

    kafka_writer_stats st;
    int64_t n_batches, sum_batch_size, sum_batch_bytes, sum_batch_time;
    int64_t n_writes_timed, sum_write_time;
    pthread_mutex_t err_mu; /* guards last_error only (logging may run under mu) */
    char last_error[512];
};

/* writer.c */
void kafka_writer_log(kafka_writer *w, kafka_log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int64_t kafka_writer_now(void);
/* Keeps `why` (the text of a failure to reach or use a broker: dial,
 * TLS, SASL, a broken connection) as the writer's last error, which
 * kafka_writer_last_error returns. Any thread, locked or not. */
void kafka_writer_broker_error(kafka_writer *w, kafka_err err, const char *why);
/* The same for `what` (the producer id, metadata) failing with err: the
 * text is built from err and this thread's last dial error. */
void kafka_writer_note_failure(kafka_writer *w, const char *what, kafka_err err);
/* True when debug lines would reach the log callback (skip formatting). */
#define W_DEBUG_ON(w) ((w)->cfg.log && (w)->cfg.log_level >= KAFKA_LOG_DEBUG)
/* Closes lane ln's open batch (if any) and appends it to its partition
 * p's queue. Caller holds w->mu and ln->mu. */
void kafka_writer_seal(kafka_writer *w, wpart *p, wlane *ln, int why);
/* Records a batch's outcome and unlinks it from the accounting; the caller
 * then calls kafka_writer_deliver (unlocked) and kafka_writer_free_batch
 * (locked). Locked. */
void kafka_writer_complete(kafka_writer *w, wbatch *b, kafka_err err, int64_t base_offset);
/* Runs the completion callback for a completed batch. Unlocked. */
void kafka_writer_deliver(kafka_writer *w, wbatch *b);
/* Sets waiters' errors, releases buffer space, frees. Locked. */
void kafka_writer_release_batch(kafka_writer *w, wbatch *b);

/* The finished batch's bytes as they go on the wire (b->finished and no
 * finish_err): the compressed copy for a compressed batch, else the
 * builder's buffer. */
static inline uint8_t *kafka_writer_wire(wbatch *b, size_t *len)
{
    if (b->zbuf.len) {
        *len = b->zbuf.len;
        return b->zbuf.data;
    }
    *len = kafka_batch_builder_size(&b->bb);
    return b->buf.data + kafka_batch_builder_start(&b->bb);
}

/* writer_io.c */
/* Finishes (compresses) b once; the outcome is in b->finish_err. z (may
 * be NULL) lends codec contexts: the I/O thread's own. Touches only b
 * (and z): callable unlocked by whoever owns b at the time. */
void kafka_writer_finish_batch(wbatch *b, kafka_compressor *z);
/* Starts the writer's engine thread (w->cluster and the config set;
 * compression workers started first). 0, or the engine's error. */
kafka_err kafka_writer_io_start(kafka_writer *w);
/* Stops and frees it (every request still outstanding fails first). */
void kafka_writer_io_stop(kafka_writer *w);
/* Asks the engine thread for a turn now (something to send, a flush, a
 * compressed batch, close). Any thread, locked or not; never blocks. */
void kafka_writer_wake(kafka_writer *w);
/* kafka_writer_finish_batch, timed into w->compress_ns when it compresses.
 * Unlocked; same ownership rule. */
void kafka_writer_finish_timed(kafka_writer *w, wbatch *b, kafka_compressor *z);
/* Stamps producer id/epoch/sequence into a finished batch and fixes its
 * CRC (used at every send, so a restamped batch after a producer id reset
 * stays valid), through the protocol layer. A batch it cannot stamp (not
 * one complete v2 batch: a bug, never seen) gets finish_err set and is
 * failed instead of sent. */
void kafka_writer_stamp(wbatch *b, int64_t pid, int16_t epoch, int32_t seq);

/* writer_zip.c: the compression workers. */
/* Number of workers cfg asks for (0 = none: no compression, or 1). */
int kafka_writer_zip_count(const kafka_writer_config *cfg);
/* Starts w->n_zworkers workers (before the I/O thread, which reads
 * n_zworkers). 0, or KAFKA_ERR_NOMEM with none left running. */
kafka_err kafka_writer_zip_start(kafka_writer *w);
/* Joins the workers; w->stop must be set (and broadcast on zq_cv). */
void kafka_writer_zip_join(kafka_writer *w);
/* Hands a just-sealed batch to the workers (no-op without workers).
 * Locked. */
void kafka_writer_zip_push(kafka_writer *w, wbatch *b);
/* Takes b back from the workers before its owner completes it without
 * sending (close, a failed producer id): false while a worker is
 * compressing it (try again later: the worker broadcasts done_cv when it
 * finishes during an abort). Locked. */
bool kafka_writer_zip_cancel(kafka_writer *w, wbatch *b);

#endif
