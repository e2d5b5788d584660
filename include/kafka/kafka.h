/*
 * libkafka — umbrella header. Include this one file.
 *
 * CONVENTIONS that every header follows (each header repeats what is
 * specific to it):
 *
 * Errors. Every fallible call returns a kafka_err (kafka/error.h): 0 is
 * success, positive values are Kafka's own protocol error codes, negative
 * values are raised by the client. Objects keep the detailed text of their
 * last failure (kafka_conn_last_error, kafka_writer_last_error,
 * kafka_reader_last_error; kafka_dial_last_error for dials).
 *
 * Ownership. Pointers passed in are borrowed: libkafka reads (or copies)
 * them during the call and keeps no pointer afterwards, unless the
 * function's comment says otherwise (user transports, callbacks and their
 * privdata must outlive the objects that use them). Pointers handed out
 * are owned by libkafka unless the comment names the function that frees
 * them, and the comment says how long they stay valid.
 *
 * Blocking. Calls that may block say so and take `timeout_ms` (-1 = no
 * limit) or obey the object's deadlines. Closing an object from another
 * thread wakes every call blocked on it, which returns KAFKA_ERR_CLOSED
 * (the C form of kafka-go's context cancellation). Calls that do not say
 * they block never wait for the network (at most for a short mutex).
 *
 * Thread safety is stated in each object's header: a kafka_writer is
 * shared by any number of threads; a kafka_reader has one reading thread;
 * a kafka_conn is used by one thread at a time (close and the deadline
 * setters excepted); plain structs (configs, messages) are values that
 * libkafka only reads during the call that receives them.
 *
 * VERSIONS AND ABI. kafka/version.h gives the version of the headers
 * (KAFKA_VERSION_STRING); kafka_version() the version of the library
 * linked. Public structs (configs, options, stats, messages, transports,
 * balancers) carry no size or version field and have no init function:
 *   1. new fields are only APPENDED (in a minor release), never removed,
 *      reordered or retyped;
 *   2. the zero value of every field, including fields added later, means
 *      "default" or "the previous behaviour", so callers zero-initialise
 *      them (designated initializers or `= {0}`), and code written for an
 *      older header compiles against a newer one and behaves the same.
 * That is SOURCE compatibility only. A size field could not give binary
 * compatibility either: the configs nest structs by value (the balancer
 * inside kafka_writer_config, TLS and SASL inside kafka_dialer_config), so
 * growing an inner struct moves every field after it, and kafka_message is
 * passed in arrays, so growing it changes the array stride. Therefore,
 * until 1.0, EVERY MINOR RELEASE HAS A NEW SONAME (libkafka.so.0.1,
 * libkafka.so.0.2, ...; Debian package libkafka0.1, ...) and a program is
 * rebuilt to move to it; patch releases (0.1.x) keep the ABI exactly
 * (checked with abidiff against abi/, see README.md). From 1.0 the soname
 * is the major version and structs grow only in a new major version.
 * Exported functions carry the symbol version LIBKAFKA_<soname version>.
 *
 * GLOBAL MUTABLE STATE. libkafka keeps no per-process state except:
 *   - the allocator installed with kafka_set_allocator() (kafka/alloc.h):
 *     process-wide, NOT thread-safe; set it once before any other call;
 *   - the text behind kafka_dial_last_error() (kafka/conn.h): one buffer
 *     per thread (thread-local), so dials on different threads do not
 *     interfere;
 *   - a per-thread pseudo-random state for retry jitter (thread-local,
 *     seeded on first use; nothing to configure);
 *   - a thread number for kafka_writer calls: a process-wide atomic
 *     counter hands each thread a number on its first writer call
 *     (thread-local; it picks the thread's append lane, its slot in the
 *     writer's count of running calls and its group for sticky keyless
 *     partitioning (kafka/balancer.h), nothing else);
 *   - a membarrier(2) registration (Linux, kernel-side, process-wide,
 *     idempotent: MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED on the first
 *     kafka_reader_new or kafka_writer_new), which lets the reader's and
 *     the writer's per-message paths skip memory fences;
 *   - the OpenSSL BIO method used for TLS sockets, created once on first
 *     use (pthread_once) and kept until the process exits; OpenSSL's own
 *     global initialisation is OpenSSL's (1.1+ does it automatically);
 *   - a test-only SCRAM client-nonce override inside the library
 *     (kafka_sasl_scram_test_set_nonce, not exported from the shared
 *     library, for unit tests only).
 * The CRC32C hardware probe keeps no state of its own: it asks the CPU
 * feature data the C runtime fills in at start-up (x86) or the auxiliary
 * vector (arm64) on each use, which is thread-safe. libkafka installs no
 * signal handlers: sockets are written with MSG_NOSIGNAL, so a peer reset
 * does not raise SIGPIPE.
 *
 * NAMING. Functions are kafka_<noun>_<verb> (kafka_conn_close,
 * kafka_writer_write_messages). Exceptions kept for kafka-go familiarity
 * or historical reasons: kafka_dial, kafka_dial_leader,
 * kafka_dial_partition, kafka_dial_last_error, kafka_set_allocator,
 * kafka_unix_ms, kafka_partition_for_key and kafka_free_partitions /
 * kafka_free_brokers / kafka_free_api_versions (verb before noun).
 */
#ifndef KAFKA_KAFKA_H
#define KAFKA_KAFKA_H

#include "export.h"
#include <kafka/version.h> /* generated: build or install tree */
#include "alloc.h"
#include "error.h"
#include "compression.h"
#include "log.h"
#include "message.h"
#include "transport.h"
#include "dialer.h"
#include "conn.h"
#include "balancer.h"
#include "writer.h"
#include "reader.h"
#include "admin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the version of the library actually linked, e.g. "0.1.0", which
 * may differ from KAFKA_VERSION_STRING of the header compiled against.
 * Static storage, never NULL; thread-safe; does not block. */
KAFKA_API const char *kafka_version(void);

#ifdef __cplusplus
}
#endif
#endif
