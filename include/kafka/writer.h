/*
 * libkafka — kafka_writer: the high-level producer (kafka-go's Writer).
 *
 * @code
 *   kafka_writer *w;
 *   char why[256];
 *   if (kafka_writer_new(&w, &(kafka_writer_config){ .brokers = "h1:9092,h2:9092", .topic = "events" },
 *                        why, sizeof why) != 0) {
 *       fprintf(stderr, "kafka_writer_new: %s\n", why);
 *       return;
 *   }
 *   kafka_message msgs[] = { { .value = "hello", .value_len = 5 } };
 *   kafka_err errs[1];
 *   kafka_writer_write_messages(w, msgs, 1, errs, -1);
 *   kafka_writer_close(w, 10000);
 * @endcode
 *
 * WHAT IT DOES. Each message goes to a partition chosen by the balancer
 * (kafka/balancer.h) and is encoded at once into that partition's open
 * record batch (no per-message heap allocation; the caller's buffers may be
 * reused as soon as the call returns). A message without a timestamp
 * (timestamp_ms 0 or KAFKA_TIMESTAMP_NONE) gets the wall-clock time of the
 * write call, to the millisecond (the writer caches the current millisecond
 * against the CPU's time-stamp counter where the kernel's clocksource is
 * the TSC, so a wall-clock step shows up within 1 ms). A batch is closed when it holds
 * batch_size messages, when the next message would pass batch_bytes, when
 * batch_timeout_ms has passed since its first message, when a SYNCHRONOUS
 * write put a message in it (a synchronous caller never waits for the batch
 * timer: its batch leaves at once, so one message costs about one round
 * trip), or on flush/close. Closed batches are compressed and sent: one
 * Produce request per broker carries one batch of every ready partition led
 * by that broker; up to max_in_flight requests are outstanding per
 * connection.
 *
 * THREADS / I/O DESIGN. A writer runs ONE I/O thread whatever the number
 * of brokers and partitions (the I/O engine's: readiness from epoll, poll
 * where epoll is missing). On it the writer seals due batches, compresses
 * them (unless compression workers do), groups them by leader and queues
 * one Produce request per broker on that broker's connection (pipelined:
 * up to max_in_flight requests outstanding per connection); each response
 * is handled as soon as it arrives, broker by broker, so a broker slow to
 * answer delays only its own partitions. It works the same over TCP, TLS
 * and user transports (a user transport has no file descriptor: while one
 * is connected the thread polls it every few milliseconds). Completion
 * callbacks and the log callback run on that thread (or, at close, on the
 * closing thread); the thread sets up each broker connection (TCP, TLS,
 * ApiVersions, SASL) without waiting on the network, so a broker that
 * stalls its handshake delays only its own partitions (only a host name
 * lookup and a user transport's dial callback may block it). Metadata
 * refreshes and InitProducerId are requests on those connections like
 * Produce: they never block the thread (a partition whose leader is being
 * looked up waits; the others keep flowing). With compression on, up to
 * compression_workers more threads (default: one per online CPU, at most
 * 4) compress closed batches in parallel, each with its own codec
 * contexts, and the I/O thread sends them as they are ready, each
 * partition's batches in order (with compression_workers = 1, or
 * compression off, no extra thread: the I/O thread compresses each batch
 * as it sends it). Those threads run only the codec, never a callback;
 * close joins them.
 * A SYNCHRONOUS write seals its batches at once and wakes the I/O thread,
 * which sends them without waiting for batch_timeout_ms: a one-message
 * write costs about one broker round trip plus a wake-up of the I/O
 * thread. While its writes' answers come within about 200 us (a LAN), the
 * calling thread watches for the answer for up to twice its usual wait
 * before it sleeps (on machines with more than one CPU), which saves the
 * wake-up back, and after such a write completes the I/O thread polls for
 * 50 us before it sleeps, in case the next synchronous write follows at
 * once; with slower answers both sleep at once. The calling thread runs
 * no I/O and no callback.
 *
 * DELIVERY. Retriable failures (leadership changes, UNKNOWN_TOPIC_OR_
 * PARTITION, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
 * disconnects, timeouts, any error Kafka marks retriable) are retried after
 * an exponential backoff with jitter (backoff_min_ms..backoff_max_ms), with
 * the topic's metadata invalidated first, up to max_attempts sends per
 * batch. Other errors (MESSAGE_TOO_LARGE, INVALID_RECORD, CORRUPT_MESSAGE,
 * authorization, ...) fail that batch's messages at once with that error.
 * After a failure, a partition sends nothing new until all its in-flight
 * batches have come back, then resends in the original order.
 *
 * IDEMPOTENCE (on by default; .disable_idempotence turns it off). The
 * writer gets a producer id with InitProducerId (no transactional id) and
 * numbers each partition's batches (sequence assigned at first send, kept
 * across retries), so retries can neither duplicate nor reorder messages;
 * up to 5 batches per partition are in flight. DUPLICATE_SEQUENCE_NUMBER is
 * success (the broker already has the batch; its offset is then reported
 * as -1). OUT_OF_ORDER_SEQUENCE_NUMBER for a batch whose predecessor is not
 * yet acknowledged is a normal consequence of that predecessor's failure:
 * the batch is resent after it. OUT_OF_ORDER_SEQUENCE_NUMBER for the next
 * expected batch, UNKNOWN_PRODUCER_ID and INVALID_PRODUCER_EPOCH mean the
 * broker lost the producer's state: the writer waits until nothing is in
 * flight, asks for a NEW producer id (it does not bump the epoch, which
 * needs InitProducerId v3+ and a transactional-style flow), restarts every
 * partition's sequences at 0 and resends the unacknowledged batches in
 * order. A batch the broker had written before it lost the state may then
 * be written twice; the Java client has the same window. Idempotence needs
 * required_acks = ALL, Produce v3+ and InitProducerId; otherwise it is
 * turned off with a log line (KAFKA_LOG_WARN).
 *
 * MEMORY. max_buffered_bytes bounds the encoded (uncompressed) bytes of all
 * messages accepted and not yet acknowledged or failed. With compression,
 * a compressed batch also holds its compressed copy; with a completion
 * callback too, it keeps its uncompressed records until acknowledged (the
 * callback reads them there instead of decompressing the batch again), so
 * memory in use can reach max_buffered_bytes plus the compressed size of
 * the batches compressed and not yet acknowledged: the batches in flight
 * when the I/O thread compresses (compression_workers = 1), every closed
 * batch with compression workers (they compress a batch as soon as it
 * closes). Each compressing thread (the I/O thread, or each of the
 * compression_workers
 * workers) also keeps its own codec context, from a few KiB (snappy) to a
 * few MiB (zstd), until close. Acknowledged batches keep their buffers
 * for the next batches (at most 16 batches and max_buffered_bytes / 8
 * bytes; freed at close), so that a steady stream neither allocates nor
 * touches fresh pages per batch; that memory comes on top of
 * max_buffered_bytes. A write that finds
 * the buffer full blocks up to its timeout_ms, then returns
 * KAFKA_ERR_QUEUE_FULL for each message it could not enqueue. Nothing is
 * ever dropped silently: every accepted message is reported (errs[] of a
 * synchronous call, or the completion callback).
 *
 * THREAD SAFETY. A writer is shared by any number of threads: every
 * function may be called concurrently, except that kafka_writer_close must
 * be called once, and no call may start after it began. Asynchronous
 * writes from several threads append in parallel (without the writer's
 * lock, each under its partition's): to different partitions at once; to
 * one partition one at a time, or at once with .append_lanes.
 * ORDER within a partition: one thread's messages are stored in the order
 * of its calls. With append_lanes 0 or 1 (the default), messages of
 * different threads are stored in the order their writes took place (a
 * write that returned before another began comes first); with
 * append_lanes > 1 only each thread's own order holds. Close wakes the
 * calls waiting inside the writer in other threads and returns only after
 * they have returned: writes blocked on a full buffer (KAFKA_ERR_CLOSED for
 * the messages not yet enqueued), synchronous writes (their messages are
 * delivered by close's flush or failed when its timeout passes) and
 * flushes. Calls running without waiting (an asynchronous write appending
 * when close begins) are waited for too: close frees the writer only once
 * every call begun before it has returned. From the moment close begins,
 * a write still running in another thread may get KAFKA_ERR_CLOSED for
 * messages it has not enqueued yet; nothing enqueued is ever dropped
 * without a report.
 *
 * ABI. kafka_writer_config and kafka_writer_stats only ever grow at the end;
 * zero-initialise them (designated initializers do) so that later fields
 * read as defaults.
 *
 * NOT IMPLEMENTED (yet): transactions; a host name lookup (getaddrinfo)
 * and a user transport's dial that do not block the I/O thread; per-message errors
 * inside one batch (Produce v8 record_errors: the whole batch gets the
 * error); resetting stats on read (kafka-go's Stats() resets; these are
 * cumulative).
 *
 * TEST BROKER NOTE: librdkafka 2.0.2's mock cluster (the test broker)
 * checks producer ids and sequences only for transactional producers, so
 * it stores an idempotent resend again (tests/integration/test_writer.c
 * test_probe_broker_dedup proves it). There, a batch appended by a broker
 * that went down before answering is written twice after the resend, and a
 * batch sent while its predecessor failed may land before it. The writer
 * resends with the same producer id, epoch and sequence, which Kafka
 * deduplicates; see tests/broker/README.md.
 */
#ifndef KAFKA_WRITER_H
#define KAFKA_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balancer.h"
#include "compression.h"
#include "dialer.h"
#include "error.h"
#include "export.h"
#include "log.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafka_writer kafka_writer;

/* kafka_required_acks (the zero value is ALL) is defined in kafka/message.h,
 * shared with kafka_conn_write_messages. */

/* kafka_log_fn and kafka_log_level are defined in kafka/log.h, shared
 * with kafka_reader. */

/* Completion callback: msgs[0..n) were delivered (err == 0; offset set, or
 * -1 when unknown: acks=none or a duplicate) or failed with err. All
 * messages of one call belong to one batch and share its outcome (a large
 * batch may be reported in several calls, in order). msgs and
 * everything they point to (topic, key, value, headers) are valid during
 * the call only; each message's `opaque` is the one it was written with
 * (flags are not reported: 0). Runs on the writer's I/O thread (or, at
 * close, the closing thread), never with a writer lock held,
 * but must NOT call kafka_writer_* functions on the same writer (a write
 * could wait for space only this thread can free). */
typedef void (*kafka_writer_completion_fn)(void *privdata, const kafka_message *msgs, size_t n, kafka_err err);

/* Writer configuration: the zero value of every field means its default. */
typedef struct kafka_writer_config {
    /* Bootstrap brokers "h1:9092,h2:9092". Required. */
    const char *brokers;
    /* Topic of every message. NULL: each message names its topic
     * (kafka_message.topic); setting both is KAFKA_ERR_INVALID_ARG (as in
     * kafka-go). */
    const char *topic;
    /* Partition choice; zero value = murmur2 for keys, sticky for null
     * keys: batch_size messages (or batch_bytes bytes) to one partition,
     * then the next (kafka/balancer.h). kafka_message.partition is
     * ignored unless the message has KAFKA_MSG_PARTITION_SET in flags
     * (kafka/message.h); such a message bypasses the balancer. */
    kafka_balancer balancer;
    int max_attempts;      /* sends per batch before failing it; 0 = 10 */
    int backoff_min_ms;    /* 0 = 100 */
    int backoff_max_ms;    /* 0 = 1000 */
    int batch_size;        /* messages per batch; 0 = 100 */
    int32_t batch_bytes;   /* bytes per batch, and the largest message
                              accepted (its record + the 61-byte batch
                              header); 0 = 1048576 */
    int batch_timeout_ms;  /* max age of an open batch; 0 = 1000 */
    int read_timeout_ms;   /* wait for a Produce response; 0 = 10000 */
    int write_timeout_ms;  /* send of a request, and the broker-side ack
                              timeout sent in Produce; 0 = 10000 */
    int dial_timeout_ms;   /* 0 = 10000 */
    kafka_required_acks required_acks; /* zero value: ALL (see above) */
    /* false: write_messages returns when every message is acknowledged or
     * failed. true: it returns once the messages are enqueued; outcomes go
     * to `completion`. */
    bool async;
    kafka_writer_completion_fn completion; /* optional, in both modes */
    void *completion_privdata;
    kafka_codec compression;     /* KAFKA_CODEC_NONE.. */
    int compression_level;       /* 0 or KAFKA_COMPRESSION_LEVEL_DEFAULT = codec default */
    bool allow_auto_topic_creation;
    kafka_log_fn log;            /* optional */
    void *log_privdata;
    kafka_log_level log_level;   /* most verbose level passed to log; 0 = errors only */
    const kafka_dialer_config *dialer; /* NULL = plain TCP; deep-copied
                                          (transport callbacks must outlive
                                          the writer) */
    int64_t max_buffered_bytes;  /* THE memory knob; 0 = 64 MiB */
    bool disable_idempotence;    /* idempotence is on by default */
    int max_in_flight;           /* requests per connection; 0 = 5 (max 5
                                    per partition with idempotence) */
    /* Parallel appends, for many threads writing at once. 0 or 1: each
     * partition has one open batch, and stores messages in the order the
     * writes took place, across threads. N (2..8; more = 8): up to N open
     * batches per partition, one per group of threads (threads are spread
     * over the groups on their first write and keep theirs), so that N
     * threads append to a partition in parallel instead of passing its
     * batch from core to core on every message. Each thread's own messages
     * keep their order; messages of DIFFERENT threads are then not ordered
     * with one another, even when one write returned before the other
     * began. Batches are smaller and more numerous (batch_size,
     * batch_bytes and batch_timeout_ms apply to each open batch), and
     * round-robin spreading rotates per group. */
    int append_lanes;
    /* Threads that compress closed batches when compression is on, each
     * with codec contexts of its own (no threads without compression).
     * 0 = the number of online CPUs, at most 4; 1 = no extra thread: the
     * I/O thread compresses each batch as it sends it; N (2..32; more = 32)
     * = N threads compress batches as soon as they close, several at once,
     * and the I/O thread sends each partition's batches in order as they are
     * ready. Negative is KAFKA_ERR_INVALID_ARG. */
    int compression_workers;
} kafka_writer_config;

/* Cumulative counters since kafka_writer_new (kafka-go WriterStats). Times
 * are in milliseconds. "Batch time" is from a batch's first message to its
 * send; "write time" from a request's send to its response. */
typedef struct kafka_writer_stats {
    int64_t writes;   /* Produce requests sent */
    int64_t messages; /* messages acknowledged */
    int64_t bytes;    /* record bytes acknowledged (uncompressed) */
    int64_t errors;   /* messages failed */
    int64_t retries;  /* batch resends */
    int64_t batch_size_min, batch_size_avg, batch_size_max;    /* messages */
    int64_t batch_bytes_min, batch_bytes_avg, batch_bytes_max; /* bytes */
    int64_t batch_time_min, batch_time_avg, batch_time_max;
    int64_t write_time_min, write_time_avg, write_time_max;
    int64_t wait_time;   /* total time writes spent waiting for buffer space */
    int64_t dials;       /* connections borrowed/opened */
    int64_t queue_length;     /* messages buffered now (not yet completed) */
    int64_t queue_bytes;      /* bytes buffered now */
    int64_t queue_capacity;   /* max_buffered_bytes */
    int64_t batches_sync;     /* batches closed because a sync write waited */
    int64_t batches_full;     /* ... because batch_size/batch_bytes was reached */
    int64_t batches_timeout;  /* ... by batch_timeout_ms */
    int64_t batches_flush;    /* ... by flush/close */
    bool idempotent;          /* idempotence in effect */
    int64_t producer_id;      /* -1 when none */
    int64_t compression_threads; /* compression workers running (0: the
                                    I/O thread compresses, or none) */
    int64_t compress_time_us;    /* time spent compressing batches, summed
                                    over the threads (microseconds) */
} kafka_writer_stats;

/* Validates cfg and creates a writer in *out (starts its I/O thread, and
 * its compression workers when compression is on; no network I/O happens
 * here, so an unreachable cluster shows up on writes). cfg is copied
 * (strings too); cfg->dialer is deep-copied.
 * Errors: KAFKA_ERR_INVALID_ARG (NULL/empty brokers, malformed broker
 * list, negative sizes, counts or timeouts (compression_workers too),
 * required_acks out of range, a CUSTOM balancer without fn, ...),
 * KAFKA_ERR_UNSUPPORTED_CODEC (unknown codec), KAFKA_ERR_NOMEM. errbuf (may be NULL) gets a one-line reason. */
KAFKA_API kafka_err kafka_writer_new(kafka_writer **out, const kafka_writer_config *cfg, char *errbuf,
                                     size_t errlen);

/* Writes msgs[0..n) (kafka-go WriteMessages). Every message is validated
 * first: a message without a topic, with a topic when the writer has one,
 * or larger than batch_bytes fails the whole call before anything is
 * enqueued (nothing is half-sent; errs[i] is that message's error for the
 * bad ones and the call's error for the others). Then each message is
 * partitioned and encoded; a topic that cannot be resolved fails its
 * messages only.
 * Synchronous writer: blocks until each message is acknowledged or failed,
 * or until timeout_ms (-1 = no limit) has passed since the call began,
 * whichever comes first: timeout_ms bounds the whole call (metadata,
 * buffer space and acknowledgement). A message still unacknowledged then
 * gets KAFKA_ERR_TIMEOUT in errs, but it is NOT withdrawn: it stays
 * buffered and is retried, so it may still be delivered (or fail) later;
 * that later outcome goes to the completion callback (if any) and the
 * stats only, never to errs (the call has returned).
 * Asynchronous writer: returns once every message is enqueued; timeout_ms
 * bounds the wait for buffer space.
 * In both modes, messages that found no buffer space in time get
 * KAFKA_ERR_QUEUE_FULL.
 * errs (NULL or n entries) gets each message's outcome (async: 0 means
 * "enqueued"). Returns 0 if every message succeeded, else the error shared
 * by all failed messages, or KAFKA_ERR_PARTIAL when they differ.
 * Allocation: none per message; a synchronous call with errs == NULL and
 * more than 64 messages allocates one array for the call.
 * The message bytes are copied: msgs may be freed when the call returns. */
KAFKA_API kafka_err kafka_writer_write_messages(kafka_writer *w, const kafka_message *msgs, size_t n,
                                                kafka_err *errs, int timeout_ms);

/* Sends every buffered message now and waits up to timeout_ms (-1 = no
 * limit) until nothing is buffered. Returns 0 or KAFKA_ERR_TIMEOUT (the
 * messages stay buffered and keep being retried). */
KAFKA_API kafka_err kafka_writer_flush(kafka_writer *w, int timeout_ms);

/* Snapshot of the counters into *out. Thread-safe, does not block. */
KAFKA_API void kafka_writer_stats_get(kafka_writer *w, kafka_writer_stats *out);

/* Detailed text of the writer's last failure ("" if none), copied into
 * buf (NUL-terminated, truncated to len): a batch that failed for good,
 * and, as soon as it happens, a failure to reach the cluster (a broker
 * unreachable, a TLS handshake or certificate refused, SASL refused, a
 * connection that broke), with the dial's detail. TLS and SASL failures
 * are fatal (kafka_err_is_fatal): the messages waiting fail at once with
 * that error instead of being retried. */
KAFKA_API void kafka_writer_last_error(kafka_writer *w, char *buf, size_t len);

/* Flushes, waiting up to timeout_ms (-1 = no limit) for everything
 * buffered to be delivered; then fails what is left (with the last error
 * its batch saw, or KAFKA_ERR_TIMEOUT), interrupting connections and
 * dials, so it returns promptly even when every broker is gone. Every
 * undelivered message is reported: through the completion callback and
 * through the errs of the synchronous writes waiting for it. Joins the
 * threads and frees the writer. Returns 0 if everything was delivered,
 * KAFKA_ERR_TIMEOUT if messages had to be failed, KAFKA_ERR_INVALID_ARG for
 * NULL. */
KAFKA_API kafka_err kafka_writer_close(kafka_writer *w, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_WRITER_H */
