/*
 * libkafka — kafka_reader: the high-level consumer (kafka-go's Reader).
 *
 * Two modes, chosen by the config:
 *
 *   Partition mode (group_id == NULL): reads one topic/partition from a
 *   start offset; the application moves it with kafka_reader_set_offset /
 *   kafka_reader_set_offset_at. It may also read several partitions, or
 *   all partitions, of its topic without a group (config.partitions /
 *   all_partitions: still one I/O thread; see there).
 *
 *   Group mode (group_id set): joins a consumer group (classic protocol:
 *   JoinGroup / SyncGroup / Heartbeat / LeaveGroup, run by a background
 *   thread that never depends on the application calling read), reads the
 *   partitions the group assigns to this member, starting at the group's
 *   committed offsets, and commits offsets (OffsetCommit).
 *
 * Background prefetch: one I/O thread per reader, whatever the number of
 * partitions and brokers, keeps one connection per broker and one Fetch
 * in flight per broker, carrying every partition that broker leads and
 * this reader reads (the starting partition rotates from one Fetch to the
 * next; max_bytes is the per-partition limit, KIP-74). The responses are
 * queued for the reading thread as they arrive, broker by broker (a slow
 * broker delays only its own partitions); queue_capacity_bytes bounds the
 * queue of the whole reader (no Fetch is sent while it is full, and a
 * Fetch asks for no more than the room left, or max_bytes). Fetch errors
 * are handled there: disconnects and leadership changes
 * (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
 * FENCED_LEADER_EPOCH ...) invalidate the metadata and retry with
 * exponential backoff; a partition the metadata does not have
 * (UNKNOWN_TOPIC_OR_PARTITION), fatal errors (TLS, SASL, authorization)
 * and other non-retriable errors are also returned by the next read, with
 * the text in kafka_reader_last_error, while the reader keeps retrying.
 * Fetch sessions (KIP-227): with Fetch v7+ each broker's Fetch is
 * incremental (only partitions that joined, left or moved are named); a
 * broker that keeps no sessions, or loses one (FETCH_SESSION_ID_NOT_FOUND,
 * INVALID_FETCH_SESSION_EPOCH), gets full fetches.
 *
 * OFFSET_OUT_OF_RANGE reset policy: when a fetch offset is outside the
 * partition's [log start, high-water mark] range, the reader moves to the
 * nearest end of that range: to the log start if the offset is below it
 * (retention deleted the data: read what remains), else to the high-water
 * mark (the log was truncated: read what comes next). Like a seek, a reset
 * drops what was prefetched and not yet read. Each reset is logged
 * (KAFKA_LOG_WARN) and counted in kafka_reader_stats.offset_resets.
 *
 * Message lifetime (zero-copy): a message's key, value and headers point
 * into the reader's fetch buffer and stay valid until the next
 * kafka_reader_read_message / kafka_reader_fetch_message call on the same
 * reader or kafka_reader_close (its topic string until close); to keep one
 * longer, copy it with kafka_message_copy() and free it with
 * kafka_message_free().
 *
 * Thread safety: one thread reads (read_message / fetch_message) at a time;
 * every other call (commit_messages, offset, lag, read_lag, set_offset*,
 * stats, last_error, close) may be made from any thread. kafka_reader_close
 * from another thread wakes a blocked read, which returns KAFKA_ERR_CLOSED.
 *
 * Not implemented yet (say so rather than pretend):
 *   - the new consumer group protocol (KIP-848, ConsumerGroupHeartbeat);
 *   - rack-aware fetching from followers (KIP-392);
 *   - group topic regex subscriptions and reacting to partitions added to a
 *     subscribed topic while the group is stable (the count is read at each
 *     rebalance only);
 *   - rack-aware assignment (KIP-881).
 *
 * Costs to know: one I/O thread and one connection per broker (plus, in
 * group mode, a second connection to the group coordinator, so that a
 * Fetch long-poll never delays a Heartbeat), whatever the mode and the
 * number of partitions; connections are set up on the I/O thread
 * without waiting on the network (a broker that accepts TCP and stalls its
 * TLS/SASL handshake delays only its own partitions; a host name lookup
 * and a user transport's dial callback may still block it);
 * read_message with commit_interval_ms == 0 makes one
 * OffsetCommit round trip per message (kafka-go's semantics: use
 * commit_interval_ms, or fetch_message + commit_messages in batches, for
 * throughput); a group leader sends its SyncGroup at once, except when
 * rebalance rounds follow each other at once (a coordinator that refuses a
 * follower's SyncGroup sent after the leader's, as librdkafka's mock does,
 * makes that follower rejoin): then it backs off (backoff_min_ms,
 * doubling) first; on Linux the reader registers the process for
 * membarrier(2) (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) so
 * that a read takes no lock and no atomic read-modify-write per message,
 * and set_offset, a rebalance and close each issue one membarrier call
 * instead (where membarrier is unavailable, e.g. blocked by seccomp, each
 * read uses a memory fence instead; behaviour is the same).
 *
 * ABI: the config and stats structs only ever grow at the end; zero them
 * (designated initializers do) so fields added later read as defaults.
 */
#ifndef KAFKA_READER_H
#define KAFKA_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dialer.h"
#include "error.h"
#include "export.h"
#include "log.h"
#include "message.h" /* kafka_message, kafka_message_copy / kafka_message_free */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafka_reader kafka_reader;

/* Where reading starts: in partition mode, always; in group mode, for
 * partitions the group has no committed offset for. */
typedef enum kafka_start_offset {
    KAFKA_START_FIRST = 0, /* the oldest retained message (default) */
    KAFKA_START_LAST = 1,  /* the high-water mark: only new messages */
    KAFKA_START_AT = 2     /* config.start_at (partition mode only) */
} kafka_start_offset;

typedef enum kafka_isolation_level {
    KAFKA_READ_UNCOMMITTED = 0, /* default: every record */
    KAFKA_READ_COMMITTED = 1    /* skip records of aborted transactions, and
                                   stop at the last stable offset */
} kafka_isolation_level;

/* One partition handed to a rebalance callback. offset is the position the
 * reader starts at (assigned) or the last offset it delivered + 1
 * (revoked), -1 when unknown. */
typedef struct kafka_reader_partition {
    const char *topic;
    int32_t partition;
    int64_t offset;
} kafka_reader_partition;

/* Rebalance callback (group mode): parts[0..n) were assigned to this member
 * or are being revoked from it. Runs in the application's thread, inside
 * kafka_reader_read_message / kafka_reader_fetch_message (before they
 * return a message or time out) and inside kafka_reader_close, as Java's
 * poll() and librdkafka do: it may flush application state and call
 * kafka_reader_commit_messages, but must not call read/fetch/close. On
 * revocation the reader has already stopped delivering those partitions;
 * it waits for the callback before it commits what was delivered and
 * pending and rejoins, at most half of rebalance_timeout_ms (a member
 * whose application does not read in that time rejoins without it; the
 * callback then runs at the next read). `parts` is valid during the call
 * only. */
typedef void (*kafka_rebalance_fn)(void *privdata, kafka_reader *r, const kafka_reader_partition *parts, size_t n);

/* Reader configuration: the zero value of every field means its default. */
typedef struct kafka_reader_config {
    /* Bootstrap brokers "h1:9092,h2:9092". Required. */
    const char *brokers;
    /* The topic. Required in partition mode; in group mode it is the only
     * subscribed topic unless group_topics is given (setting both is
     * KAFKA_ERR_INVALID_ARG). */
    const char *topic;
    /* Partition mode: the partition (>= 0). Must stay 0 in group mode
     * (as in kafka-go: partition and group_id exclude each other). */
    int32_t partition;
    /* Group mode: the consumer group id. */
    const char *group_id;
    const char *const *group_topics; /* n_group_topics names */
    size_t n_group_topics;

    int32_t min_bytes;          /* per Fetch; 0 = 1 */
    int32_t max_bytes;          /* per partition per Fetch; 0 = 1 MiB (a
                                   larger first batch is still returned) */
    int max_wait_ms;            /* broker-side wait for min_bytes; 0 = 10000
                                   (close interrupts it) */
    int64_t queue_capacity_bytes; /* prefetched bytes held; 0 = 16 MiB */

    kafka_start_offset start_offset;
    int64_t start_at; /* with KAFKA_START_AT */
    kafka_isolation_level isolation_level;

    /* Commits (group mode). 0: read_message / commit_messages commit
     * synchronously (one OffsetCommit round trip). > 0: they record the
     * offsets, and the I/O thread commits them every commit_interval_ms,
     * on every rebalance and at close. */
    int commit_interval_ms;
    int session_timeout_ms;    /* 0 = 30000 */
    int rebalance_timeout_ms;  /* 0 = 30000 */
    int heartbeat_interval_ms; /* 0 = 3000 */
    /* Static membership (KIP-345): a stable id per member instance. A
     * static member does not send LeaveGroup at close, so a restart within
     * the session timeout gets its partitions back without a rebalance. */
    const char *group_instance_id;
    /* Assignor names in order of preference: "range", "roundrobin",
     * "cooperative-sticky". NULL = {"range", "roundrobin"} (the defaults of
     * librdkafka and kafka-go, so mixed groups agree). The reader rebalances
     * cooperatively (incrementally) only when every listed assignor is
     * cooperative, i.e. with {"cooperative-sticky"} alone. */
    const char *const *assignors;
    size_t n_assignors;
    kafka_rebalance_fn on_assigned; /* optional */
    kafka_rebalance_fn on_revoked;  /* optional */
    void *rebalance_privdata;

    kafka_log_fn log; /* optional; called from reader threads */
    void *log_privdata;
    kafka_log_level log_level; /* most verbose level passed to log */
    const kafka_dialer_config *dialer; /* NULL = plain TCP; deep-copied */
    int dial_timeout_ms;    /* 0 = 10000 */
    int backoff_min_ms;     /* retry backoff; 0 = 100 */
    int backoff_max_ms;     /* 0 = 1000 */
    int close_timeout_ms;   /* bound on close's final commit + leave; 0 = 5000 */

    /* Partition mode, several partitions in ONE reader (one I/O thread,
     * one Fetch per broker for all of them; franz-go's direct consume).
     * Zero values keep the single `partition` above. Either:
     *   partitions[0..n_partitions): these partitions of `topic` (each
     *     >= 0, no duplicates; the array is copied during kafka_reader_new),
     *   or all_partitions: every partition of `topic`, as the first
     *     metadata the reader's I/O thread gets lists them. Partitions
     *     added to the topic later are NOT picked up (create a new reader).
     * Each partition starts at start_offset / start_at (KAFKA_START_AT:
     * the same offset in every partition), or at its start_offsets
     * entry. Order: per partition only (messages of one partition arrive
     * in offset order; partitions interleave in no defined order).
     * Several partitions (n_partitions > 1 or all_partitions) make
     * kafka_reader_offset return -1 and set_offset / set_offset_at
     * return KAFKA_ERR_STATE (a seek names one partition; use a reader
     * per partition to seek); lag, read_lag and stats.lag sum over the
     * partitions. n_partitions == 1 behaves exactly
     * like `partition`. Errors (kafka_reader_new, INVALID_ARG with the
     * reason): with group_id; with a non-zero `partition`; both set;
     * n_partitions > 0 with partitions NULL or partitions set with
     * n_partitions 0; a negative or duplicate id. A partition the topic
     * does not have, or an unknown topic, is reported by the next read
     * (UNKNOWN_TOPIC_OR_PARTITION, the other partitions keep flowing and
     * the reader keeps looking), or at creation by kafka_reader_new_checked.
     * Thread safety is the same as with one partition (see the top). */
    const int32_t *partitions;
    size_t n_partitions;
    bool all_partitions;
    /* Optional, with partitions only: start_offsets[i] is where
     * partitions[i] starts (an offset >= 0, KAFKA_OFFSET_FIRST or
     * KAFKA_OFFSET_LAST), overriding start_offset; copied like partitions.
     * Anything else -> INVALID_ARG at kafka_reader_new. */
    const int64_t *start_offsets;
} kafka_reader_config;

/* Cumulative counters since kafka_reader_new (kafka-go ReaderStats), plus
 * the split of fetch time: fetch_wait_* is the time a Fetch spent on the
 * network and in the broker (request sent to response received);
 * fetch_decode_* the time spent decoding records in the reading thread.
 * Times in milliseconds except *_us (microseconds). */
typedef struct kafka_reader_stats {
    int64_t dials;      /* connections borrowed for fetches (pooled) */
    int64_t fetches;    /* Fetch requests completed */
    int64_t messages;   /* messages delivered */
    int64_t bytes;      /* key + value bytes delivered */
    int64_t rebalances; /* group generations joined */
    int64_t timeouts;   /* reads that timed out */
    int64_t errors;     /* fetch / group / commit errors seen */
    int64_t offset_resets;
    int64_t commits;    /* OffsetCommit requests that succeeded */
    int64_t fetch_wait_us_total, fetch_wait_us_max;
    int64_t fetch_decode_us_total;
    int64_t fetch_bytes_min, fetch_bytes_avg, fetch_bytes_max; /* records bytes per Fetch */
    int64_t offset;        /* partition mode, one partition: next offset to deliver (else -1) */
    int64_t lag;           /* sum over the partitions read of hwm - offset */
    int64_t queue_length;  /* fetch responses queued */
    int64_t queue_bytes;
    int32_t partitions;    /* partitions being read now */
    int32_t min_bytes, max_bytes;
    int max_wait_ms;
} kafka_reader_stats;

/* Creates a reader and starts its background threads (no blocking I/O in
 * the call: a wrong broker address shows up as read errors/timeouts).
 * Validates the config: missing brokers or topic, negative partition,
 * partition and group_id both set, topic and group_topics both set, a
 * bad partitions list (see kafka_reader_config.partitions),
 * unknown assignor names, KAFKA_START_AT in group mode -> INVALID_ARG with
 * the reason in errbuf (may be NULL). An unknown topic is reported by the
 * first read (UNKNOWN_TOPIC_OR_PARTITION); kafka_reader_new_checked reports
 * it at creation. cfg is read during the call only (strings are copied).
 * On success *out must be closed with kafka_reader_close. */
KAFKA_API kafka_err kafka_reader_new(kafka_reader **out, const kafka_reader_config *cfg, char *errbuf,
                                     size_t errlen);

/* Like kafka_reader_new, then waits up to timeout_ms for metadata of the
 * topic(s): an unknown topic is KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION and a
 * partition (any of config.partitions) beyond the topic's count likewise
 * (nothing is left running).
 * Blocks. */
KAFKA_API kafka_err kafka_reader_new_checked(kafka_reader **out, const kafka_reader_config *cfg, int timeout_ms,
                                             char *errbuf, size_t errlen);

/* Reads the next message into *m and, in group mode, commits its offset
 * (synchronously when commit_interval_ms == 0, else at the next periodic
 * commit; when a rebalance revokes the partition before that commit, the
 * revocation commits it, so the next owner does not read it again). Blocks up to timeout_ms (-1 = no limit): KAFKA_ERR_TIMEOUT when
 * nothing arrived, KAFKA_ERR_CLOSED after kafka_reader_close, or a
 * non-retriable error: a record batch that does not decode (CORRUPT,
 * CRC_MISMATCH, COMPRESSION; that fetch is skipped) or a Fetch error such
 * as TOPIC_AUTHORIZATION_FAILED (returned once; the fetcher keeps
 * retrying). kafka_reader_last_error() has the details. See the message
 * lifetime rule above. */
KAFKA_API kafka_err kafka_reader_read_message(kafka_reader *r, kafka_message *m, int timeout_ms);

/* Like read_message but never commits: commit with
 * kafka_reader_commit_messages once the message is processed
 * (at-least-once). */
KAFKA_API kafka_err kafka_reader_fetch_message(kafka_reader *r, kafka_message *m, int timeout_ms);

/* Commits msgs[i].offset + 1 for each message's topic/partition (the
 * highest per partition wins; only topic, partition and offset are read,
 * so copies of the messages are fine). Group mode only (INVALID_ARG
 * otherwise). Synchronous when commit_interval_ms == 0 (blocks for one
 * OffsetCommit round trip, retried on coordinator changes within
 * timeout_ms), else recorded for the next periodic commit. Commits for
 * partitions no longer assigned fail with REBALANCE_IN_PROGRESS /
 * ILLEGAL_GENERATION as the coordinator says; those messages will be
 * re-delivered to whichever member owns the partition now. */
KAFKA_API kafka_err kafka_reader_commit_messages(kafka_reader *r, const kafka_message *msgs, size_t n,
                                                 int timeout_ms);

/* Partition mode: the offset of the next message read_message will return
 * (-1 while the start offset is still being resolved); group mode, and
 * partition mode with several partitions: -1. */
KAFKA_API int64_t kafka_reader_offset(kafka_reader *r);

/* Lag from the last fetch: high-water mark - next offset, summed over the
 * partitions read (group mode too). -1 before the first fetch. Does not
 * block. */
KAFKA_API int64_t kafka_reader_lag(kafka_reader *r);

/* Lag from a fresh high-water mark (one ListOffsets round trip per
 * partition; kafka-go's ReadLag), summed over the partitions read. Blocks
 * up to timeout_ms (with all_partitions, also for the partition list: the
 * topic's first metadata; KAFKA_ERR_TIMEOUT if it is not known by then). */
KAFKA_API kafka_err kafka_reader_read_lag(kafka_reader *r, int64_t *lag, int timeout_ms);

/* Partition mode with one partition only (STATE in group mode and with
 * several partitions or all_partitions): the next read returns the
 * message at `offset` (KAFKA_OFFSET_FIRST / KAFKA_OFFSET_LAST accepted).
 * Drops everything prefetched. Does not block (beyond a mutex, one
 * membarrier system call, and waiting out a read that is handing over a
 * message at that instant, which takes no lock and never blocks). From
 * another thread while a read is in progress: that read returns either a
 * message from before the seek or the message at `offset`; every read that
 * starts after set_offset returns reads from `offset` on. A Fetch for the
 * old position that the broker holds at the end of the log (up to
 * max_wait_ms) is not waited for: the I/O thread closes that broker's
 * connection and dials it again, so the seek takes effect within a round
 * trip or two. */
#define KAFKA_OFFSET_FIRST INT64_C(-2)
#define KAFKA_OFFSET_LAST INT64_C(-1)
KAFKA_API kafka_err kafka_reader_set_offset(kafka_reader *r, int64_t offset);

/* Partition mode with one partition only (STATE otherwise, as
 * set_offset): moves to the first message whose timestamp is >=
 * unix_ms (ListOffsets by time; the high-water mark when there is none).
 * Blocks up to timeout_ms. */
KAFKA_API kafka_err kafka_reader_set_offset_at(kafka_reader *r, int64_t unix_ms, int timeout_ms);

/* Snapshot of the counters into *out. Does not block (beyond a mutex). */
KAFKA_API void kafka_reader_stats_get(kafka_reader *r, kafka_reader_stats *out);

/* Copies the detailed text of the reader's last error into buf (always
 * NUL-terminated when len > 0; "" if none). */
KAFKA_API void kafka_reader_last_error(kafka_reader *r, char *buf, size_t len);

/* Closes the reader: wakes blocked reads (they return KAFKA_ERR_CLOSED),
 * commits pending offsets, leaves the group (not for static members),
 * stops every thread and frees the reader once every call in progress on
 * it has returned. Bounded: the commit and leave give up after
 * close_timeout_ms, then in-flight requests are interrupted. Returns the
 * error of the final commit, 0 if none. Safe from any thread; r must not
 * be used after it returns. NULL is a no-op. */
KAFKA_API kafka_err kafka_reader_close(kafka_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_READER_H */
