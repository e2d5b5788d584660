/*
 * kafka_reader internals.
 *
 * Threads: the application's reading thread; ONE I/O thread, the engine's
 * (src/engine/), whatever the number of partitions and brokers
 * (fetcher.c runs on it: one Fetch per broker carrying every partition
 * that broker leads; in group mode it also drives the membership state
 * machine, reader_group.c). Rebalance callbacks run in the application's
 * thread, inside its read calls and close.
 * Fetch responses are cut into "chunks" (one per partition with records:
 * the shared response frame, kr_fbuf, plus where that partition's records
 * are) and pushed onto one queue bounded by bytes for the whole reader;
 * the reading thread decodes them in place (reader.c).
 *
 * Locking: one mutex, r->mu, guards the queue, every kr_part field marked
 * "mu", the stats and the last error. No lock is held across I/O.
 * Exceptions, for the per-message path: kr_part.epoch and next_offset are
 * atomics that the reading thread checks and advances without mu and
 * without any locked instruction (see "Hand-off" below), and the reading
 * thread's pend_* counts are added to st under mu by whoever reports them.
 *
 * Hand-off (an asymmetric Dekker handshake): the reading thread publishes
 * what it is doing in r->rstate with plain stores -- KR_RS_CALL inside a
 * read call, KR_RS_DELIVER while it checks a part's epoch and advances that
 * part's next_offset without mu -- and then reads the shared state
 * (closing_a, epoch, next_offset) with plain loads. The rare other side
 * (set_offset, a stop, an offset resolution or reset; close) first writes
 * what it changes (bumps the epoch, sets closing_a), then calls
 * kr_sync_reading: a process-wide barrier (membarrier(2) PRIVATE_EXPEDITED,
 * which makes every running thread execute a full fence) after which either
 * it sees the reading thread's rstate store or the reading thread sees its
 * write; it then waits while rstate is KR_RS_DELIVER. So after
 * kr_sync_reading, no delivery that saw the old epoch is still running and
 * none will start, and the caller may write next_offset. Without
 * membarrier (not Linux, old kernel, seccomp) both sides use a seq_cst
 * fence instead (r->asym false). ThreadSanitizer builds, which model
 * neither, make every rstate write a read-modify-write instead (reader.c).
 *
 * Staleness: set_offset and a stop (revocation, close) bump a part's epoch
 * (a stop also sets stop); a chunk remembers the epoch it was fetched under
 * and is dropped when it no longer matches, so nothing fetched before a
 * seek or a rebalance is ever delivered after it.
 */
#ifndef KAFKA_READER_INTERNAL_H
#define KAFKA_READER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "common/arena.h"
#include "group/assignor.h"
#include "group/group.h"
#include "group/membership.h"
#include "kafka/reader.h"
#include "protocol/gen/fetch.h"
#include "protocol/record_batch.h"
#include "protocol/txn_filter.h"

typedef struct kr_part kr_part;

/* Partition mode: a partition to read and where it starts. */
typedef struct kr_part_start_at {
    int32_t partition;
    int64_t offset;
} kr_part_start_at;


/* One partition being read. Freed when refs drops to 0 (the reader's
 * table, a request in flight and each queued chunk hold one). */
struct kr_part {
    kafka_reader *r;
    const char *topic; /* interned by the reader: valid until close */
    int32_t partition;
    atomic_int refs;
    /* I/O thread only (fetcher.c) */
    int32_t leader;   /* -1 = look it up */
    bool in_flight;   /* in a Fetch or ListOffsets outstanding */
    /* While in_flight: the request's broker, the epoch it was sent under,
     * and whether it is a Fetch at the high watermark (the broker parks it
     * for up to max_wait_ms: a seek cuts it short, see kr_io_seek). */
    int32_t flight_broker;
    uint64_t flight_epoch;
    bool flight_parked;
    int64_t retry_at; /* backoff after an error (monotonic ms) */
    int attempt;
    /* mu */
    bool stop;
    /* Written under mu; atomic so that the reading thread can check it per
     * message without taking mu. */
    _Atomic uint64_t epoch;
    int64_t fetch_offset; /* next Fetch position; KAFKA_OFFSET_FIRST/LAST = resolve */
    /* Next offset to deliver; -1 unknown; KR_POS_STOPPED once the part is
     * stopped (the last position then is in stopped_pos). Other threads
     * write it under mu, after bumping epoch and kr_sync_reading; the
     * reading thread advances it per message with a plain store and no lock
     * while its epoch still matches (reader.c deliver_fast; see "Hand-off"
     * above), so a set_offset or a stop never loses to a delivery that
     * began before it. */
    _Atomic int64_t next_offset;
    int64_t stopped_pos;  /* mu: next_offset when the part was stopped */
    int64_t hwm;          /* from the last fetch; -1 unknown */
    int64_t pending_commit; /* offset to commit; -1 none */
    /* Position after the last message kafka_reader_read_message delivered
     * (it promises to commit it); -1 none. Written by the reading thread in
     * the same delivery window as next_offset, so a revocation reads it
     * exactly after kr_sync_reading and commits it: a read whose own commit
     * loses the race with the revoke is not redelivered to the next owner. */
    _Atomic int64_t read_pos;
    int64_t committed;      /* last committed offset; -1 none */
    int32_t max_bytes;      /* grows when one batch exceeds it */
};

#define KR_POS_STOPPED INT64_MIN

/* kafka_reader.rstate */
enum { KR_RS_IDLE = 0, KR_RS_CALL = 1, KR_RS_DELIVER = 2 };

/* The part's delivered position (next offset to deliver), also after it was
 * stopped; mu held. */
static inline int64_t kr_part_position_locked(const kr_part *p)
{
    return p->stop ? p->stopped_pos : atomic_load(&p->next_offset);
}

/* One Fetch response frame and its decoded arrays, shared by the chunks
 * cut from it; freed with the last one. */
typedef struct kr_fbuf {
    atomic_int refs;
    kafka_reader *r;
    uint8_t *frame;
    size_t frame_size; /* bytes the engine asked kr_frame_alloc for */
    kafka_arena arena;
} kr_fbuf;

/* Drops a reference; the last one returns the frame to the reader's frame
 * cache (kr_frame_alloc). Any thread, mu held or not. */
void kr_fbuf_release(kr_fbuf *fb);

/* Response frames of a few hundred KiB and more are kept for reuse (up to
 * KR_FRAMES_KEPT of them, and a quarter of queue_capacity_bytes): reading
 * a Fetch response into freshly mapped memory costs a page fault per
 * 4 KiB, more than decoding it. Sizes are rounded up to a power of two so
 * that a frame's capacity follows from its size. */
#define KR_FRAMES_KEPT 4
#define KR_FRAME_POOL_MIN (64 * 1024)
typedef struct kr_frame_cache {
    pthread_mutex_t mu; /* its own lock: taken under r->mu and without */
    struct {
        uint8_t *p;
        size_t cap;
    } f[KR_FRAMES_KEPT];
    size_t n;
    size_t bytes;
} kr_frame_cache;

/* One partition's records of a fetch response, waiting in the queue. */
typedef struct kr_chunk {
    struct kr_chunk *next;
    kr_part *part;
    uint64_t epoch;
    kr_fbuf *fb; /* the response frame the pointers below point into */
    const uint8_t *data;
    size_t len;
    kafka_fetch_response_aborted_transaction *aborted; /* sorted by first_offset */
    int32_t n_aborted;
    size_t bytes;
} kr_chunk;

struct kafka_reader {
    kafka_reader_config cfg; /* strings below are the reader's own copies */
    char *brokers, *topic_cfg, *group_id, *instance_id;
    char **group_topics;
    size_t n_group_topics;
    const kafka_assignor **assignors;
    size_t n_assignors;
    bool cooperative;
    bool group_mode;
    /* Partition mode (reader_partitions.c): the partitions to start, sorted
     * (empty with all_partitions); multi: several partitions or
     * all_partitions, so the one-partition calls (set_offset...) refuse. */
    kr_part_start_at *part_ids;
    size_t n_part_ids;
    bool multi;
    /* all_partitions: true until the I/O thread has the topic's partition
     * list and started them (written by it under mu; read under mu). */
    bool all_pending;
    int64_t all_retry_at; /* I/O thread: next metadata attempt */
    kafka_cluster *kc;

    pthread_mutex_t mu;
    pthread_cond_t cond_data;  /* queue not empty, or closing */
    pthread_cond_t cond_space; /* queue has room, a part stopped, or closing */
    pthread_cond_t cond_group; /* a commit posted to the I/O thread is done; the group left */
    bool closing;
    /* Application calls in progress (close waits for 0). Atomic, with
     * closing_a mirroring closing, so that a read does not take mu just to
     * enter and leave: enter increments then checks closing_a, close sets
     * closing_a then checks active_calls (seq_cst, so one sees the other). */
    atomic_int active_calls;
    atomic_bool closing_a;
    pthread_cond_t cond_idle;
    /* The reading thread's state (KR_RS_*; see "Hand-off" above): read
     * calls bracket themselves with it instead of active_calls, so a read
     * takes no locked instruction. Written by the reading thread only. */
    atomic_int rstate;
    bool asym; /* membarrier(2) registered: the reading thread needs no fence */

    /* mu: parts being read */
    kr_part **parts;
    size_t n_parts, cap_parts;
    /* mu: interned topic names */
    char **topics;
    size_t n_topics, cap_topics;

    /* mu: queue */
    kr_chunk *q_head, *q_tail;
    size_t q_len;
    int64_t q_bytes;
    kr_chunk *free_chunks; /* recycled, arenas reset */
    kafka_err deliver_err; /* a fetch error the next read reports */
    size_t n_free;
    bool fetch_held; /* mu: the I/O thread waits for queue room */
    bool seek_cut;   /* mu: a seek asks the I/O thread to cut a parked Fetch */
    kr_frame_cache frames;

    /* The I/O thread and what only it touches. */
    kafka_engine *eng;
    struct kr_broker *io_brokers; /* a Fetch / ListOffsets in flight per broker */
    size_t n_io_brokers, cap_io_brokers;
    size_t rotate; /* fairness: where the next Fetch starts in the list */
    ke_meta md;    /* leader lookups: Metadata through the engine */

    /* reading thread only */
    kr_chunk *cur;
    kafka_records_iter it;
    kafka_wbuf scratch; /* decompression buffer, reused */
    bool in_batch;
    kafka_txn_filter txn; /* read-committed filter of the current chunk */
    kafka_header *hdrs;
    size_t hdr_cap;
    bool read_commits; /* the current read call commits what it delivers (read_message) */
    /* Counts not yet added to st: written by the reading thread only
     * (relaxed load+store, no read-modify-write), moved into st under mu
     * whenever it takes mu; stats_get adds them under mu. */
    _Atomic int64_t pend_decode_us, pend_msgs, pend_bytes;

    /* group mode (reader_group.c) */
    kgm *gm;                 /* the membership machine: I/O thread only */
    struct kr_revoke *rv;    /* I/O thread: a revocation waiting for its callback */
    struct kr_group_io *grp; /* the rest of reader_group.c's state */
    struct kr_cb *cbq;       /* mu: rebalance callbacks for the application thread */
    struct kr_commit_job *jobs; /* mu: commits posted to the I/O thread, not yet given to gm */
    bool leave_asked;        /* mu: close asks the I/O thread to leave the group */
    bool group_done;         /* mu: the group is left (or given up) */
    bool gen_valid;          /* mu: the member has a generation (mirrors gm) */
    /* mu: the parts being revoked while on_revoked runs (stopped, not in
     * parts[]), so that the callback's commit_messages finds them */
    kr_part **revoking;
    size_t n_revoking;
    bool abandon; /* tests: close like a crash */
    /* tests: runs in read_message between the delivery and its commit */
    void (*after_read_hook)(void *arg, kafka_reader *r);
    void *after_read_arg;
    kafka_err close_err;

    /* mu: stats and error */
    kafka_reader_stats st;
    char last_error[512];
};

/* ---- reader.c ---- */
void kr_log(kafka_reader *r, kafka_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records the error text (and counts it in stats.errors). Takes mu. */
void kr_error(kafka_reader *r, kafka_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *kr_intern_topic_locked(kafka_reader *r, const char *topic);
/* pthread_cond_timedwait for at most ms milliseconds (mu held). */
void kr_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t ms);
/* The other side of the hand-off: call after bumping a part's epoch (or
 * setting closing_a), with mu held or not; returns once no delivery that
 * may have seen the old value is still running. Cheap enough for seeks and
 * rebalances (a membarrier system call), not for per-message use. */
void kr_sync_reading(kafka_reader *r);

/* ---- fetcher.c ---- */
/* Starts / stops the I/O thread (stop: after kafka_cluster_interrupt, so a
 * connect or metadata refresh in progress ends at once). */
kafka_err kr_io_start(kafka_reader *r);
void kr_io_stop(kafka_reader *r);
/* Asks the I/O thread to plan fetches now (a part added, a seek, room in
 * the queue). Any thread; does not block. */
void kr_io_wake(kafka_reader *r);
/* After a seek (the part's epoch bumped, mu held): asks the I/O thread to
 * cut short a Fetch for the old position that the broker parks at the
 * high watermark (up to max_wait_ms), so that the seek takes effect within
 * a round trip; the caller wakes the I/O thread after unlocking. */
void kr_io_seek_locked(kafka_reader *r);
/* The engine's frame_alloc (kafka_engine_config): a cached frame when one
 * is big enough, else kafka_malloc of the size's power-of-two class. */
void *kr_frame_alloc(void *arg, size_t size);
/* Frees the cached frames (close). */
void kr_frames_free(kafka_reader *r);
/* Creates a part at start offset `offset` (>= 0, or KAFKA_OFFSET_FIRST /
 * LAST), adds it to r->parts; the I/O thread fetches it from then on.
 * Takes mu. */
kafka_err kr_part_start(kafka_reader *r, const char *topic, int32_t partition, int64_t offset);
/* Stops the parts for which pred(part, arg) is true: removes them from
 * r->parts, marks them stopped (their queued chunks and a Fetch in flight
 * for them become stale; the other parts keep flowing). Fills *out (malloc'd array of the stopped parts, each still
 * referenced: release with kr_part_release) when out != NULL; without
 * memory for that array it still stops them all, and *out is NULL. Takes
 * mu. */
typedef bool (*kr_part_pred)(const kr_part *p, void *arg);
void kr_parts_stop(kafka_reader *r, kr_part_pred pred, void *arg, kr_part ***out, size_t *n_out);
void kr_part_release(kr_part *p);
/* Finds a part by topic/partition; mu held. */
kr_part *kr_part_find_locked(kafka_reader *r, const char *topic, int32_t partition);
/* Returns a chunk to the free list or frees it; mu held. */
void kr_chunk_recycle_locked(kafka_reader *r, kr_chunk *c);
/* ListOffsets for one partition at `ts` (-2 earliest, -1 latest, or a
 * time). */
kafka_err kr_list_offset(kafka_reader *r, const char *topic, int32_t partition, int64_t ts, int64_t deadline,
                         int64_t *out);

/* ---- reader_partitions.c (partition mode's set of partitions) ---- */
/* Checks config.partitions / all_partitions against the rest of the
 * config; INVALID_ARG with the reason in eb. */
kafka_err kr_partitions_validate(const kafka_reader_config *c, char *eb, size_t el);
/* Copies the partition list into r (part_ids, multi, all_pending). */
kafka_err kr_partitions_copy(kafka_reader *r, const kafka_reader_config *cfg);
/* Starts a part per listed partition at the configured start offset. */
kafka_err kr_partitions_start(kafka_reader *r);
/* I/O thread, each turn: while all_pending, looks the topic up and starts
 * every partition it has. Returns when to try again (-1: nothing to do). */
int64_t kr_partitions_resolve_all(kafka_reader *r, int64_t now);
/* I/O thread: the metadata refresh failed with err (why: its text);
 * while all_pending, the error is recorded (and the next read hears of it
 * when the application must) and the lookup retried after a backoff.
 * Returns when to try again (-1: nothing pending). */
int64_t kr_partitions_failed(kafka_reader *r, kafka_err err, const char *why, int64_t now);
/* Waits (mu held) until the all_partitions list is known: 0, or TIMEOUT
 * at the deadline (-1 = none), or CLOSED. */
kafka_err kr_partitions_wait_known_locked(kafka_reader *r, int64_t deadline);

/* ---- reader_group.c ---- */
/* Creates the membership machine (before the I/O thread starts). */
kafka_err kr_group_init(kafka_reader *r);
/* Frees what kr_group_init and the group's traffic left (I/O thread
 * stopped). */
void kr_group_free(kafka_reader *r);
/* I/O thread, each turn: drives the membership machine; returns when it
 * wants the next turn (-1: none). */
int64_t kr_group_turn(kafka_reader *r, kafka_engine *e, int64_t now);
/* Application thread (a read call, close), mu not held: runs the queued
 * rebalance callbacks. */
void kr_group_run_callbacks(kafka_reader *r);
/* The part topic/partition this reader owns: in r->parts, or being revoked
 * (its on_revoked callback may still commit it); NULL otherwise. mu held. */
kr_part *kr_group_part_owned_locked(kafka_reader *r, const char *topic, int32_t partition);
/* Synchronous commit of explicit offsets, from an application thread:
 * posted to the I/O thread; waits up to deadline (TIMEOUT), or until close
 * (CLOSED). Sets offs[i].err. */
kafka_err kr_group_commit_sync(kafka_reader *r, kafka_group_offset *offs, size_t n, int64_t deadline);
/* Tests: make close skip the final commit and LeaveGroup, as if the
 * process died (the group notices at the session timeout). */
void kr_reader_abandon_for_test(kafka_reader *r);
/* Tests: read_message calls hook(arg, r) after it delivered a message and
 * before it commits it (to reproduce a revoke in between). Set before the
 * first read. */
void kr_reader_after_read_hook_for_test(kafka_reader *r, void (*hook)(void *arg, kafka_reader *r), void *arg);
/* Called by close (no application call active): the revoked callback, the
 * final commit and LeaveGroup, within the deadline. */
void kr_group_stop(kafka_reader *r, int64_t deadline);

#endif
