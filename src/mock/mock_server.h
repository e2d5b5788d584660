/*
 * The mock's serving thread: listening sockets, client connections, one
 * poll() loop, and the glue from request frames to the handlers
 * (mock_cluster.h) and the group module (mock_groups_dispatch.h).
 *
 * Locking: kafka_mock.mu guards the cluster and every field below marked
 * (mu). Connections and listeners are the thread's own; API calls that
 * change sockets (broker down/up) post a request under mu, wake the loop
 * and wait on `cond` until it has been applied.
 */
#ifndef KAFKA_MOCK_SERVER_H
#define KAFKA_MOCK_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kafka/mock.h"
#include "mock/mock_cluster.h"
#include "mock/mock_conn.h"

typedef struct kmock_client {
    int fd;
    int32_t broker_id;
    kmock_conn conn;
    bool closing; /* close once the loop pass ends */
    bool close_when_flushed; /* a failed authentication: answer, then close */
    kmock_sasl_conn sasl;
    void *tls;             /* TLS session, NULL on a plain listener */
    bool tls_wants_write;  /* the TLS handshake waits to write */
} kmock_client;

/* A Fetch waiting for data or for its max_wait. */
typedef struct kmock_deferred {
    uint64_t token;
    kmock_client *client;
    kmock_request rq; /* body points to `body` */
    uint8_t *body;
    int64_t wake_at;
} kmock_deferred;

struct kafka_mock {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    int wake_rd, wake_wr;
    bool stop; /* (mu) */
    kmock_cluster c; /* (mu) */
    int listen_fd[KAFKA_MOCK_MAX_BROKERS];
    struct sockaddr_storage addr[KAFKA_MOCK_MAX_BROKERS];
    socklen_t addrlen[KAFKA_MOCK_MAX_BROKERS];
    uint64_t sockets_wanted, sockets_applied; /* (mu) generation counters */
    int sockets_error;                        /* (mu) last up failure */
    kmock_client **clients;
    size_t nclients, clients_cap;
    kmock_deferred *deferred;
    size_t ndeferred, deferred_cap;
    uint64_t next_token;
    uint64_t seen_appends;
    char *bootstrap;
    struct kmock_tls *tls; /* NULL: plain listeners */
};

/* Opens listeners (or adopts cfg->listen_fds) and starts the thread. */
kafka_err kmock_server_start(kafka_mock *m, const kafka_mock_config *cfg);
/* Stops the thread and closes every socket. */
void kmock_server_stop(kafka_mock *m);
/* Closes every socket and frees what the server allocated (after stop,
 * or after a failed start). */
void kmock_server_free(kafka_mock *m);
/* With m->mu held: asks the loop to apply the brokers' up/down state to
 * the sockets and waits until it has. Returns 0 or KAFKA_ERR_TRANSPORT. */
kafka_err kmock_server_sync_sockets(kafka_mock *m);
/* Wakes the loop (after a change that may unblock deferred answers). */
void kmock_server_wake(kafka_mock *m);
int64_t kmock_now_ms(void);

#endif
