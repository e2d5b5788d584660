/* The kafka_conn struct, shared by the files of src/conn/ only. */
#ifndef KAFKA_CONN_PRIV_H
#define KAFKA_CONN_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "conn/conn_internal.h"

/* One outstanding request, oldest first. */
typedef struct kafka_pending {
    int32_t corr;
    int16_t api_key;
    int16_t version;
} kafka_pending;

struct kafka_conn {
    kafka_stream *s;
    char *addr;
    char *client_id;

    /* close() from another thread: refs counts the owner plus every call in
     * progress; the last one out frees. */
    atomic_int refs;
    atomic_bool closed;
    atomic_llong read_deadline;  /* Unix ms, 0 = none */
    atomic_llong write_deadline; /* Unix ms, 0 = none */

    pthread_mutex_t wmu; /* serialises senders, guards next_corr + queue push */
    pthread_mutex_t qmu; /* guards the pending queue */
    int32_t next_corr;
    kafka_pending *q;
    size_t q_head, q_len, q_cap; /* ring buffer */

    atomic_bool broken; /* the stream is in an unknown state: closed */
    kafka_err broken_err;
    int32_t max_response;

    bool have_versions;
    kafka_api_table versions; /* the broker's, from the handshake */

    /* kafka-go's bound topic/partition and offset. */
    char *topic;
    int32_t partition;
    int64_t offset;

    /* Storage for kafka_conn_controller's strings. */
    char *ctrl_host;
    char *ctrl_rack;

    char err[512];
};

#endif
