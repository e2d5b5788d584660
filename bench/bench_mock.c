/*
 * bench_mock: kafka_mock's own throughput, so that a test knows the fake
 * cluster is not what limits it. In process, one connection, raw requests
 * (no client library in the way):
 *   produce: -n messages of -s bytes (default 1,000,000 x 100 B) in
 *            Produce v9 requests of --batch records (default 1000),
 *            8 in flight, acks=1, compression off (the mock still checks
 *            every CRC and walks every record);
 *   fetch:   the same messages read back with Fetch v12, 1 MiB per request.
 * Prints one line per measurement, and the bytes the partition keeps
 * against its retention (64 MiB by default, --retention to change):
 *   client=kafka_mock bench=produce size=100 msgs=1000000 secs=0.08 msgs_per_s=12500000 kept_bytes=... retention=...
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kafka/mock.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "protocol/header.h"
#include "protocol/record_batch.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* A framed request: size, header, body. */
static void frame(kafka_wbuf *w, int16_t key, int16_t ver, const void *req)
{
    w->len = 0;
    kafka_put_u32(w, 0);
    if (kafka_request_header_encode(w, key, ver, 1, kafka_str_c("bench")) != 0 ||
        kafka_request_encode_any(w, key, ver, req) != 0)
        die("encode");
    kafka_write_u32_at(w->data, (uint32_t)(w->len - 4));
}

static void send_all(int fd, const kafka_wbuf *w)
{
    for (size_t off = 0; off < w->len;) {
        ssize_t n = send(fd, w->data + off, w->len - off, 0);
        if (n <= 0)
            die("send");
        off += (size_t)n;
    }
}

/* Reads one response frame into buf (grown as needed); returns its size. */
static size_t recv_frame(int fd, kafka_wbuf *buf)
{
    uint8_t hdr[4];
    size_t got = 0, size;
    while (got < 4) {
        ssize_t n = recv(fd, hdr + got, 4 - got, 0);
        if (n <= 0)
            die("recv");
        got += (size_t)n;
    }
    size = kafka_read_u32_at(hdr);
    buf->len = 0;
    if (!kafka_wbuf_reserve(buf, size))
        die("memory");
    for (got = 0; got < size;) {
        ssize_t n = recv(fd, buf->data + got, size - got, 0);
        if (n <= 0)
            die("recv");
        got += (size_t)n;
    }
    buf->len = size;
    return size;
}

int main(int argc, char **argv)
{
    long n = 1000000, size = 100, batch = 1000;
    int64_t retention = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-s") == 0)
            size = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--retention") == 0)
            retention = atoll(argv[i + 1]);
    }
    if (n <= 0 || size < 0 || size > 1000000 || batch <= 0 || batch > n || retention < 0) {
        fprintf(stderr, "usage: bench_mock [-n msgs] [-s bytes] [--batch records] [--retention bytes]\n");
        return 2;
    }
    kafka_mock *m;
    if (kafka_mock_new(&m, &(kafka_mock_config){.brokers = 1, .retention_bytes = retention}) != 0 ||
        kafka_mock_create_topic(m, "bench", 1, 1) != 0)
        die("kafka_mock");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strchr(kafka_mock_bootstrap(m), ':') + 1))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        die("connect");

    /* one batch of `batch` records, sent n / batch times */
    kafka_wbuf records, req_buf, resp_buf;
    kafka_wbuf_init(&records);
    kafka_wbuf_init(&req_buf);
    kafka_wbuf_init(&resp_buf);
    kafka_batch_builder b;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    char *value = malloc((size_t)size + 1);
    memset(value, 'x', (size_t)size);
    if (kafka_batch_builder_init(&b, &records, &cfg) != 0)
        die("batch");
    for (long i = 0; i < batch; i++)
        if (kafka_batch_builder_append(&b, 1000, NULL, -1, value, (int32_t)size, NULL, 0) != 0)
            die("batch");
    if (kafka_batch_builder_finish(&b) != 0)
        die("batch");
    kafka_produce_request preq;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd = {.index = 0, .records = {records.data, (int32_t)records.len}};
    kafka_produce_request_init(&preq);
    kafka_produce_request_topic_produce_data_init(&td);
    td.name = kafka_str_c("bench");
    td.partition_data = &pd;
    td.partition_data_count = 1;
    preq.acks = 1;
    preq.timeout_ms = 10000;
    preq.topic_data = &td;
    preq.topic_data_count = 1;
    frame(&req_buf, KAFKA_API_PRODUCE, 9, &preq);

    long requests = n / batch, sent = 0, done = 0;
    double t0 = now_s();
    while (done < requests) {
        while (sent < requests && sent - done < 8) {
            send_all(fd, &req_buf);
            sent++;
        }
        recv_frame(fd, &resp_buf);
        done++;
    }
    double secs = now_s() - t0;
    long msgs = requests * batch;
    int64_t start, end;
    kafka_mock_partition_offsets(m, "bench", 0, &start, &end);
    printf("client=kafka_mock bench=produce size=%ld msgs=%ld secs=%.3f msgs_per_s=%.0f kept_bytes=%lld "
           "retention=%lld log_start=%lld log_end=%lld\n",
           size, msgs, secs, (double)msgs / secs, (long long)kafka_mock_partition_bytes(m, "bench", 0),
           (long long)(retention ? retention : 64LL << 20), (long long)start, (long long)end);

    /* fetch back what is kept, 1 MiB per request */
    kafka_fetch_request freq;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    kafka_fetch_request_init(&freq);
    kafka_fetch_request_fetch_topic_init(&ft);
    kafka_fetch_request_fetch_partition_init(&fp);
    fp.partition_max_bytes = 1 << 20;
    ft.topic = kafka_str_c("bench");
    ft.partitions = &fp;
    ft.partitions_count = 1;
    freq.max_bytes = 1 << 20;
    freq.topics = &ft;
    freq.topics_count = 1;
    long fetched = 0;
    int64_t offset = start;
    t0 = now_s();
    while (offset < end) {
        fp.fetch_offset = offset;
        frame(&req_buf, KAFKA_API_FETCH, 12, &freq);
        send_all(fd, &req_buf);
        recv_frame(fd, &resp_buf);
        kafka_rbuf r;
        int32_t corr;
        kafka_arena a;
        kafka_fetch_response fresp;
        kafka_arena_init(&a, 0);
        kafka_rbuf_init(&r, resp_buf.data, resp_buf.len);
        if (kafka_response_header_decode(&r, KAFKA_API_FETCH, 12, &corr) != 0 ||
            kafka_response_decode_any(&r, &a, KAFKA_API_FETCH, 12, &fresp) != 0 || fresp.responses_count != 1)
            die("fetch response");
        const kafka_fetch_response_partition_data *p = &fresp.responses[0].partitions[0];
        int64_t next = kafka_records_next_offset(p->records.ptr, (size_t)p->records.len);
        if (p->error_code || next <= offset)
            die("fetch made no progress");
        fetched += (long)(next - offset);
        offset = next;
        kafka_arena_free(&a);
    }
    secs = now_s() - t0;
    printf("client=kafka_mock bench=fetch size=%ld msgs=%ld secs=%.3f msgs_per_s=%.0f\n", size, fetched, secs,
           (double)fetched / secs);
    close(fd);
    kafka_mock_close(m);
    kafka_wbuf_free(&records);
    kafka_wbuf_free(&req_buf);
    kafka_wbuf_free(&resp_buf);
    free(value);
    return 0;
}
