/* Scripted Kafka peer over a socketpair (see conn_peer.h). */
#include "conn_peer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/api.h"
#include "protocol/gen/api_versions.h"
#include "protocol/gen/fetch.h"
#include "protocol/gen/metadata.h"
#include "protocol/gen_runtime.h"
#include "protocol/header.h"

struct kt_peer {
    int client_fd; /* handed to libkafka by the transport's dial */
    int peer_fd;
    bool client_taken;
    kafka_transport tp;
    pthread_t thread;
    kt_script_fn script;
    void *arg;
    int result;
    /* kt_peer_start_each: every dial starts a child peer (no thread of
     * the parent's own). */
    bool each;
    pthread_mutex_t mu;
    struct kt_peer *children[KT_PEER_MAX_CONNS];
    int n_children;
};

/* ---- the client-side transport ---------------------------------------------- */

static int tp_dial(void *pd, const char *host, int port, int timeout_ms, void **conn, char *errbuf, size_t errlen)
{
    (void)host, (void)port, (void)timeout_ms;
    kt_peer *p = pd;
    if (p->each) {
        pthread_mutex_lock(&p->mu);
        kt_peer *c = p->n_children < KT_PEER_MAX_CONNS ? kt_peer_start(p->script, p->arg) : NULL;
        if (c) {
            c->client_taken = true;
            p->children[p->n_children++] = c;
            *conn = (void *)(intptr_t)c->client_fd;
        }
        pthread_mutex_unlock(&p->mu);
        if (!c)
            snprintf(errbuf, errlen, "kt_peer: no more connections");
        return c ? 0 : -1;
    }
    if (p->client_taken) {
        snprintf(errbuf, errlen, "kt_peer: only one connection per peer");
        return -1;
    }
    p->client_taken = true;
    *conn = (void *)(intptr_t)p->client_fd;
    return 0;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
    struct pollfd pfd = {fd, ev, 0};
    int r;
    do
        r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r;
}

static long tp_read(void *pd, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)pd;
    int fd = (int)(intptr_t)conn;
    int r = wait_fd(fd, POLLIN, timeout_ms);
    if (r == 0)
        return KAFKA_TRANSPORT_TIMEOUT;
    if (r < 0)
        return KAFKA_TRANSPORT_ERROR;
    ssize_t n = read(fd, buf, len);
    if (n < 0)
        return KAFKA_TRANSPORT_ERROR;
    return (long)n; /* 0 = closed */
}

static long tp_write(void *pd, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)pd;
    int fd = (int)(intptr_t)conn;
    int r = wait_fd(fd, POLLOUT, timeout_ms);
    if (r == 0)
        return KAFKA_TRANSPORT_TIMEOUT;
    if (r < 0)
        return KAFKA_TRANSPORT_ERROR;
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n <= 0 ? KAFKA_TRANSPORT_ERROR : (long)n;
}

static void tp_close(void *pd, void *conn)
{
    (void)pd;
    close((int)(intptr_t)conn);
}

static void tp_interrupt(void *pd, void *conn)
{
    (void)pd;
    shutdown((int)(intptr_t)conn, SHUT_RDWR);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void *peer_main(void *arg)
{
    kt_peer *p = arg;
    p->result = p->script(p, p->arg);
    return NULL;
}

kt_peer *kt_peer_start(kt_script_fn script, void *arg)
{
    kt_peer *p = calloc(1, sizeof *p);
    int sv[2];
    if (!p || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        free(p);
        return NULL;
    }
    p->client_fd = sv[0];
    p->peer_fd = sv[1];
    p->tp = (kafka_transport){.privdata = p, .dial = tp_dial, .read = tp_read, .write = tp_write,
                              .close = tp_close, .interrupt = tp_interrupt};
    p->script = script;
    p->arg = arg;
    if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
        close(sv[0]);
        close(sv[1]);
        free(p);
        return NULL;
    }
    return p;
}

kt_peer *kt_peer_start_each(kt_script_fn script, void *arg)
{
    kt_peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->each = true;
    p->client_fd = p->peer_fd = -1;
    p->client_taken = true;
    pthread_mutex_init(&p->mu, NULL);
    p->tp = (kafka_transport){.privdata = p, .dial = tp_dial, .read = tp_read, .write = tp_write,
                              .close = tp_close, .interrupt = tp_interrupt};
    p->script = script;
    p->arg = arg;
    return p;
}

const kafka_transport *kt_peer_transport(kt_peer *p) { return &p->tp; }

int kt_peer_join(kt_peer *p)
{
    if (p->each) {
        int r = 0;
        for (int i = 0; i < p->n_children; i++) {
            int cr = kt_peer_join(p->children[i]);
            if (cr && !r)
                r = cr;
        }
        pthread_mutex_destroy(&p->mu);
        free(p);
        return r;
    }
    pthread_join(p->thread, NULL);
    if (p->peer_fd >= 0)
        close(p->peer_fd);
    if (!p->client_taken)
        close(p->client_fd);
    int r = p->result;
    free(p);
    return r;
}

void kt_peer_hangup(kt_peer *p)
{
    if (p->peer_fd >= 0)
        close(p->peer_fd);
    p->peer_fd = -1;
}

/* ---- script helpers ------------------------------------------------------------------ */

static int read_full(kt_peer *p, void *buf, size_t len)
{
    uint8_t *b = buf;
    while (len) {
        if (wait_fd(p->peer_fd, POLLIN, 5000) <= 0)
            return -1;
        ssize_t n = read(p->peer_fd, b, len);
        if (n <= 0)
            return -1;
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int kt_peer_write(kt_peer *p, const void *data, size_t len)
{
    const uint8_t *b = data;
    while (len) {
        ssize_t n = send(p->peer_fd, b, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int kt_peer_read_raw(kt_peer *p, uint8_t **data, size_t *len)
{
    uint8_t sz[4];
    if (read_full(p, sz, 4))
        return -1;
    uint32_t n = kafka_read_u32_at(sz);
    if (n > (1u << 24))
        return -1;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || read_full(p, buf, n)) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

int kt_peer_serve_next(kt_peer *p, kt_request *req)
{
    /* Idle until a request or EOF (30 s at most: a client that neither
     * sends nor closes is a failure). */
    if (wait_fd(p->peer_fd, POLLIN, 30000) <= 0)
        return -1;
    uint8_t b;
    ssize_t n = recv(p->peer_fd, &b, 1, MSG_PEEK);
    /* A reset is a close too: a client that closes with a response still
     * unread in its socket (a Fetch answered as the reader closes) makes
     * its kernel send RST, not FIN. */
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return 1;
    if (n < 0)
        return -1;
    return kt_peer_read(p, req);
}

int kt_peer_read(kt_peer *p, kt_request *req)
{
    memset(req, 0, sizeof *req);
    if (kt_peer_read_raw(p, &req->frame, &req->frame_len))
        return -1;
    kafka_rbuf r;
    kafka_rbuf_init(&r, req->frame, req->frame_len);
    kafka_str client_id;
    if (kafka_request_header_decode(&r, &req->api_key, &req->api_version, &req->corr, &client_id)) {
        kt_request_free(req);
        return -1;
    }
    req->body = r.p;
    req->body_len = kafka_rbuf_remaining(&r);
    return 0;
}

void kt_request_free(kt_request *req)
{
    free(req->frame);
    req->frame = NULL;
}

int kt_peer_respond(kt_peer *p, int32_t corr, bool flexible_header, const void *body, size_t len)
{
    uint8_t hdr[9];
    size_t hl = 8 + (flexible_header ? 1 : 0);
    kafka_write_u32_at(hdr, (uint32_t)(hl - 4 + len));
    kafka_write_u32_at(hdr + 4, (uint32_t)corr);
    hdr[8] = 0;
    if (kt_peer_write(p, hdr, hl))
        return -1;
    return len ? kt_peer_write(p, body, len) : 0;
}

int kt_peer_api_versions(kt_peer *p, const kt_request *req, const int16_t (*ranges)[3], size_t n)
{
    kafka_api_versions_response resp;
    kafka_api_versions_response_init(&resp);
    kafka_api_versions_response_api_version *v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].api_key = ranges[i][0];
        v[i].min_version = ranges[i][1];
        v[i].max_version = ranges[i][2];
    }
    resp.api_keys = v;
    resp.api_keys_count = (int32_t)n;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    int rc = kafka_api_versions_response_encode(&w, req->api_version, &resp) ? -1 : 0;
    if (!rc)
        rc = kt_peer_respond(p, req->corr, false, w.data, w.len);
    kafka_wbuf_free(&w);
    free(v);
    return rc;
}

int kt_peer_handshake_all(kt_peer *p)
{
    kt_request req;
    if (kt_peer_read(p, &req) || req.api_key != KAFKA_API_API_VERSIONS)
        return -1;
    int16_t (*ranges)[3] = calloc(KAFKA_API_KEY_MAX + 1, sizeof *ranges);
    size_t n = 0;
    for (int k = 0; k <= KAFKA_API_KEY_MAX; k++) {
        const kafka_api_info *ai = kafka_api_info_get((int16_t)k);
        if (!ai || !ai->name)
            continue;
        ranges[n][0] = (int16_t)k;
        ranges[n][1] = ai->min_version;
        ranges[n][2] = ai->max_version;
        n++;
    }
    int rc = kt_peer_api_versions(p, &req, (const int16_t(*)[3])ranges, n);
    free(ranges);
    kt_request_free(&req);
    return rc;
}

int kt_peer_wait_eof(kt_peer *p)
{
    uint8_t b[256];
    for (;;) {
        if (wait_fd(p->peer_fd, POLLIN, 5000) <= 0)
            return -1;
        ssize_t n = read(p->peer_fd, b, sizeof b);
        if (n <= 0)
            return 0;
    }
}

int kt_peer_metadata(kt_peer *p, const kt_request *req, const char *topic, int32_t partitions)
{
    int32_t nodes[1] = {1};
    kafka_metadata_response_metadata_response_broker b;
    kafka_metadata_response_metadata_response_broker_init(&b);
    b.node_id = 1;
    b.host = kafka_str_c("peer");
    b.port = 9092;
    kafka_metadata_response_metadata_response_partition *pt = calloc((size_t)partitions, sizeof *pt);
    for (int32_t i = 0; pt && i < partitions; i++) {
        kafka_metadata_response_metadata_response_partition_init(&pt[i]);
        pt[i].partition_index = i;
        pt[i].leader_id = 1;
        pt[i].replica_nodes = nodes;
        pt[i].replica_nodes_count = 1;
        pt[i].isr_nodes = nodes;
        pt[i].isr_nodes_count = 1;
        pt[i].offline_replicas_count = 0;
    }
    kafka_metadata_response_metadata_response_topic t;
    kafka_metadata_response_metadata_response_topic_init(&t);
    t.name = kafka_str_c(topic);
    t.partitions = pt;
    t.partitions_count = partitions;
    kafka_metadata_response resp;
    kafka_metadata_response_init(&resp);
    resp.brokers = &b;
    resp.brokers_count = 1;
    resp.controller_id = 1;
    resp.topics = &t;
    resp.topics_count = 1;
    int rc = pt ? kt_peer_answer(p, req, &resp) : -1;
    free(pt);
    return rc;
}

int kt_peer_serve(kt_peer *p, kt_handler_fn handler, void *arg)
{
    for (;;) {
        kt_request req;
        int r = kt_peer_serve_next(p, &req);
        if (r == 1)
            return 0;
        if (r < 0) {
            fprintf(stderr, "kt_peer: no request and no close\n");
            return -1;
        }
        int rc = handler(p, &req, arg);
        if (rc < 0)
            fprintf(stderr, "kt_peer: request api %d v%d not served\n", req.api_key, req.api_version);
        kt_request_free(&req);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
}

int kt_peer_fetch_answer(kt_peer *p, const kt_request *req, const char *topic, const kafka_wbuf *recs,
                         int64_t high_watermark, kafka_fetch_response_aborted_transaction *aborted, int32_t n_aborted)
{
    kafka_fetch_response_partition_data pd;
    kafka_fetch_response_partition_data_init(&pd);
    pd.partition_index = 0;
    pd.high_watermark = high_watermark;
    pd.last_stable_offset = high_watermark;
    pd.log_start_offset = 0;
    pd.aborted_transactions = aborted;
    pd.aborted_transactions_count = n_aborted;
    pd.records = (kafka_bytes){.ptr = recs->data, .len = (int32_t)recs->len};
    kafka_fetch_response_fetchable_topic_response tr;
    kafka_fetch_response_fetchable_topic_response_init(&tr);
    tr.topic = kafka_str_c(topic);
    tr.partitions = &pd;
    tr.partitions_count = 1;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    resp.responses = &tr;
    resp.responses_count = 1;
    return kt_peer_answer(p, req, &resp);
}

int kt_peer_answer(kt_peer *p, const kt_request *req, const void *resp)
{
    const kafka_api_info *ai = kafka_api_info_get(req->api_key);
    if (!ai)
        return -1;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    bool flexible = req->api_key != KAFKA_API_API_VERSIONS && ai->response_flexible_min >= 0 &&
                    req->api_version >= ai->response_flexible_min;
    int rc = kafka_gen_encode(&w, ai->response, req->api_version, resp) ? -1 : 0;
    if (!rc)
        rc = kt_peer_respond(p, req->corr, flexible, w.data, w.len) ? 1 : 0;
    kafka_wbuf_free(&w);
    return rc;
}

int kt_peer_answer_common(kt_peer *p, const kt_request *req, const int16_t (*versions)[3], size_t n,
                          const char *topic)
{
    switch (req->api_key) {
    case KAFKA_API_API_VERSIONS: return kt_peer_api_versions(p, req, versions, n);
    case KAFKA_API_METADATA: return kt_peer_metadata(p, req, topic, 1);
    default: return 2;
    }
}
