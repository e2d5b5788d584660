/*
 * Asymmetric fences over membarrier(2): the frequent side of a handshake
 * pays only a compiler barrier, the rare side one system call that makes
 * every running thread of the process execute a full memory barrier.
 * Used by the reader's hand-off and the writer's call accounting.
 *
 * Process-wide kernel state: kafka_membarrier_register registers the
 * process (idempotent; listed in kafka/kafka.h under global state).
 * Thread-safe. Linux 4.14+; elsewhere, under seccomp filters that block
 * the call, and in ThreadSanitizer builds (which cannot model it),
 * registration fails and callers use seq_cst fences on both sides.
 */
#ifndef KAFKA_INTERNAL_MEMBARRIER_H
#define KAFKA_INTERNAL_MEMBARRIER_H

#include <stdbool.h>

/* Registers the process for expedited private membarriers. true when the
 * light side may use a compiler barrier only. */
bool kafka_membarrier_register(void);

/* The heavy side: a process-wide barrier. false if the call failed (then
 * the caller must not rely on it; a registered process does not see
 * failures in practice). */
bool kafka_membarrier_heavy(void);

#endif
