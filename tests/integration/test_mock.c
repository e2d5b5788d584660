/*
 * kafka_mock in process (libkafka-mock), spoken to over TCP with requests
 * encoded by the generated codecs at today's (flexible) versions: what the
 * mock promises in include/kafka/mock.h, request by request, and its fault
 * calls. Expected values are Kafka's documented behaviour, not read back
 * from the mock's code. (kcat and kafka-python check the same mock
 * independently: tests/interop via KAFKA_TEST_BROKER=kafka_mock and
 * tests/mock/kafka_python_test.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "batch_util.h"
#include "kafka/mock.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"
#include "protocol/header.h"
#include "protocol/record_batch.h"

typedef struct fixture {
    kafka_mock *m;
    int nbrokers;
    int port[3];
    kafka_arena arena;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || kafka_mock_new(&f->m, &(kafka_mock_config){.brokers = 3, .retention_bytes = 1 << 20}) != 0)
        return -1;
    const char *b = kafka_mock_bootstrap(f->m);
    for (int i = 0; i < 3; i++) {
        b = strchr(b, ':') + 1;
        f->port[i] = atoi(b);
    }
    kafka_arena_init(&f->arena, 0);
    f->nbrokers = 3;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kafka_mock_close(f->m);
    kafka_arena_free(&f->arena);
    free(f);
    return 0;
}

/* Connects to broker id (1..3); -1 when refused. */
static int dial(fixture *f, int id)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port[id - 1])};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_request(int fd, int16_t key, int16_t ver, int32_t corr, const void *req)
{
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    kafka_put_u32(&w, 0);
    assert_int_equal(kafka_request_header_encode(&w, key, ver, corr, kafka_str_c("test")), 0);
    assert_int_equal(kafka_request_encode_any(&w, key, ver, req), 0);
    kafka_write_u32_at(w.data, (uint32_t)(w.len - 4));
    assert_int_equal(send(fd, w.data, w.len, MSG_NOSIGNAL), (ssize_t)w.len);
    kafka_wbuf_free(&w);
}

/* Reads one response frame: its body in *resp (arena), 0; -1 on EOF. */
static int recv_response(fixture *f, int fd, int16_t key, int16_t ver, int32_t corr, void *resp)
{
    uint8_t hdr[4];
    size_t got = 0, size;
    while (got < 4) {
        ssize_t n = recv(fd, hdr + got, 4 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    size = kafka_read_u32_at(hdr);
    uint8_t *buf = kafka_arena_alloc(&f->arena, size);
    assert_non_null(buf);
    for (got = 0; got < size;) {
        ssize_t n = recv(fd, buf + got, size - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    kafka_rbuf r;
    int32_t c;
    kafka_rbuf_init(&r, buf, size);
    assert_int_equal(kafka_response_header_decode(&r, key, ver, &c), 0);
    assert_int_equal(c, corr);
    assert_int_equal(kafka_response_decode_any(&r, &f->arena, key, ver, resp), 0);
    return 0;
}

static void rpc(fixture *f, int fd, int16_t key, int16_t ver, const void *req, void *resp)
{
    static int32_t corr = 100;
    send_request(fd, key, ver, ++corr, req);
    assert_int_equal(recv_response(f, fd, key, ver, corr, resp), 0);
}

static int16_t produce_at(fixture *f, int fd, const char *topic, int32_t part, const kafka_wbuf *records,
                          int64_t *base, int64_t *log_append_time)
{
    kafka_produce_request req;
    kafka_produce_response resp;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd = {.index = part,
                                                      .records = {records->data, (int32_t)records->len}};
    kafka_produce_request_init(&req);
    kafka_produce_request_topic_produce_data_init(&td);
    td.name = kafka_str_c(topic);
    td.partition_data = &pd;
    td.partition_data_count = 1;
    req.acks = -1;
    req.timeout_ms = 5000;
    req.topic_data = &td;
    req.topic_data_count = 1;
    rpc(f, fd, KAFKA_API_PRODUCE, 11, &req, &resp);
    assert_int_equal(resp.responses_count, 1);
    *base = resp.responses[0].partition_responses[0].base_offset;
    if (log_append_time)
        *log_append_time = resp.responses[0].partition_responses[0].log_append_time_ms;
    return resp.responses[0].partition_responses[0].error_code;
}

static int16_t produce(fixture *f, int fd, const char *topic, int32_t part, const kafka_wbuf *records,
                       int64_t *base)
{
    return produce_at(f, fd, topic, part, records, base, NULL);
}

static void one_batch(kafka_wbuf *w, int64_t pid, int32_t seq, int n, int64_t ts0)
{
    kafka_batch_builder b;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.producer_id = pid;
    cfg.producer_epoch = pid >= 0 ? 0 : -1;
    cfg.base_sequence = pid >= 0 ? seq : -1;
    cfg.codec = KAFKA_CODEC_ZSTD;
    w->len = 0;
    assert_int_equal(kafka_batch_builder_init(&b, w, &cfg), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(kafka_batch_builder_append(&b, ts0 + i, "k", 1, "value", 5, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
}

/* A Fetch of partition 0 of one topic (name or id set by the caller) from
 * offset 0, min_bytes 1, 1 MiB limits. */
static void init_fetch(kafka_fetch_request *freq, kafka_fetch_request_fetch_topic *ft,
                       kafka_fetch_request_fetch_partition *fp, int32_t max_wait_ms)
{
    kafka_fetch_request_init(freq);
    kafka_fetch_request_fetch_topic_init(ft);
    kafka_fetch_request_fetch_partition_init(fp);
    fp->partition_max_bytes = 1 << 20;
    ft->partitions = fp;
    ft->partitions_count = 1;
    freq->max_wait_ms = max_wait_ms;
    freq->min_bytes = 1;
    freq->max_bytes = 1 << 20;
    freq->topics = ft;
    freq->topics_count = 1;
}

static int32_t leader_of(fixture *f, int fd, const char *topic, int32_t part)
{
    kafka_metadata_request req;
    kafka_metadata_response resp;
    kafka_metadata_request_metadata_request_topic t = {.name = kafka_str_c(topic)};
    kafka_metadata_request_init(&req);
    req.topics = &t;
    req.topics_count = 1;
    req.allow_auto_topic_creation = false;
    rpc(f, fd, KAFKA_API_METADATA, 12, &req, &resp);
    assert_int_equal(resp.brokers_count, f->nbrokers);
    assert_int_equal(resp.topics_count, 1);
    if (resp.topics[0].error_code)
        return -100 - resp.topics[0].error_code;
    return resp.topics[0].partitions[part].leader_id;
}

static void test_api_versions(void **state)
{
    fixture *f = *state;
    int fd = dial(f, 1);
    kafka_api_versions_request req;
    kafka_api_versions_response resp;
    kafka_api_versions_request_init(&req);
    req.client_software_name = kafka_str_c("test");
    req.client_software_version = kafka_str_c("1");
    rpc(f, fd, KAFKA_API_API_VERSIONS, 3, &req, &resp);
    assert_int_equal(resp.error_code, 0);
    bool produce11 = false, fetch = false;
    for (int32_t i = 0; i < resp.api_keys_count; i++) {
        produce11 |= resp.api_keys[i].api_key == 0 && resp.api_keys[i].max_version >= 11;
        fetch |= resp.api_keys[i].api_key == 1;
        assert_int_not_equal(resp.api_keys[i].api_key, KAFKA_API_ELECT_LEADERS); /* not served: not advertised */
    }
    assert_true(produce11 && fetch);
    /* a version from the future: UNSUPPORTED_VERSION in a v0 answer */
    kafka_api_versions_request_init(&req);
    send_request(fd, KAFKA_API_API_VERSIONS, 0, 7, &req);
    kafka_api_versions_response r0;
    assert_int_equal(recv_response(f, fd, KAFKA_API_API_VERSIONS, 0, 7, &r0), 0);
    assert_int_equal(r0.error_code, 0);
    /* hand-made ApiVersions v9 request header (key 18, version 9, corr 8) */
    uint8_t v9[] = {0, 0, 0, 13, 0, 18, 0, 9, 0, 0, 0, 8, 0, 2, 'k', 't', 0};
    assert_int_equal(send(fd, v9, sizeof(v9), 0), (ssize_t)sizeof(v9));
    assert_int_equal(recv_response(f, fd, KAFKA_API_API_VERSIONS, 0, 8, &r0), 0);
    assert_int_equal(r0.error_code, 35);
    assert_true(r0.api_keys_count > 5);
    close(fd);
}

static void test_produce_fetch_idempotent(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    int fd0 = dial(f, 1);
    assert_int_equal(kafka_mock_create_topic(f->m, "idem", 1, 3), 0);
    int32_t leader = leader_of(f, fd0, "idem", 0);
    assert_true(leader >= 1 && leader <= 3);
    int fd = dial(f, leader);

    kafka_init_producer_id_request ireq;
    kafka_init_producer_id_response iresp;
    kafka_init_producer_id_request_init(&ireq);
    ireq.transactional_id = KAFKA_STR_NULL; /* idempotent, not transactional */
    ireq.transaction_timeout_ms = 60000;
    rpc(f, fd, KAFKA_API_INIT_PRODUCER_ID, 5, &ireq, &iresp);
    assert_int_equal(iresp.error_code, 0);
    assert_true(iresp.producer_id >= 0);

    kafka_wbuf_init(&w);
    one_batch(&w, iresp.producer_id, 0, 3, 1000);
    assert_int_equal(produce(f, fd, "idem", 0, &w, &base), 0);
    assert_int_equal(base, 0);
    /* the same batch again (a retry): same offset, stored once */
    assert_int_equal(produce(f, fd, "idem", 0, &w, &base), 0);
    assert_int_equal(base, 0);
    one_batch(&w, iresp.producer_id, 5, 1, 2000);
    assert_int_equal(produce(f, fd, "idem", 0, &w, &base), 45); /* OUT_OF_ORDER_SEQUENCE_NUMBER */
    one_batch(&w, iresp.producer_id, 3, 2, 3000);
    assert_int_equal(produce(f, fd, "idem", 0, &w, &base), 0);
    assert_int_equal(base, 3);
    int64_t start, end;
    assert_int_equal(kafka_mock_partition_offsets(f->m, "idem", 0, &start, &end), 0);
    assert_int_equal(end, 5);
    /* the wrong broker answers NOT_LEADER_OR_FOLLOWER */
    int other = dial(f, leader % 3 + 1);
    assert_int_equal(produce(f, other, "idem", 0, &w, &base), 6);
    close(other);

    /* Fetch v17 (topic ids): both batches, with their offsets */
    kafka_metadata_request mreq;
    kafka_metadata_response mresp;
    kafka_metadata_request_metadata_request_topic mt = {.name = kafka_str_c("idem")};
    kafka_metadata_request_init(&mreq);
    mreq.topics = &mt;
    mreq.topics_count = 1;
    rpc(f, fd, KAFKA_API_METADATA, 12, &mreq, &mresp);
    kafka_fetch_request freq;
    kafka_fetch_response fresp;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    init_fetch(&freq, &ft, &fp, 100);
    fp.fetch_offset = 1;
    ft.topic_id = mresp.topics[0].topic_id;
    rpc(f, fd, KAFKA_API_FETCH, 17, &freq, &fresp);
    assert_int_equal(fresp.responses_count, 1);
    const kafka_fetch_response_partition_data *pd = &fresp.responses[0].partitions[0];
    assert_int_equal(pd->error_code, 0);
    assert_int_equal(pd->high_watermark, 5);
    kafka_records_iter it;
    kafka_record rec;
    int64_t next = 0;
    kafka_records_iter_init(&it, pd->records.ptr, (size_t)pd->records.len, NULL);
    while (kafka_records_iter_next(&it, &rec) == 1)
        assert_int_equal(rec.offset, next++);
    assert_int_equal(it.err, 0);
    assert_int_equal(next, 5); /* from the start of the batch holding offset 1 */
    kafka_records_iter_free(&it);

    /* ListOffsets v10: by timestamp, latest, earliest, max timestamp */
    kafka_list_offsets_request lreq;
    kafka_list_offsets_response lresp;
    kafka_list_offsets_request_list_offsets_topic lt;
    kafka_list_offsets_request_list_offsets_partition lp[4];
    const int64_t ts[4] = {1001, -1, -2, -3}, want[4] = {1, 5, 0, 4};
    kafka_list_offsets_request_init(&lreq);
    kafka_list_offsets_request_list_offsets_topic_init(&lt);
    lt.name = kafka_str_c("idem");
    for (int i = 0; i < 4; i++) {
        kafka_list_offsets_request_list_offsets_partition_init(&lp[i]);
        lp[i].timestamp = ts[i];
        lt.partitions = &lp[i];
        lt.partitions_count = 1;
        lreq.topics = &lt;
        lreq.topics_count = 1;
        rpc(f, fd, KAFKA_API_LIST_OFFSETS, 10, &lreq, &lresp);
        assert_int_equal(lresp.topics[0].partitions[0].error_code, 0);
        assert_int_equal(lresp.topics[0].partitions[0].offset, want[i]);
    }
    kafka_wbuf_free(&w);
    close(fd);
    close(fd0);
}

static void test_fetch_waits_for_data(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    assert_int_equal(kafka_mock_create_topic(f->m, "wait", 1, 1), 0);
    int fd0 = dial(f, 1);
    int32_t leader = leader_of(f, fd0, "wait", 0);
    int fetcher = dial(f, leader), producer = dial(f, leader);
    kafka_fetch_request freq;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    init_fetch(&freq, &ft, &fp, 60000); /* the answer must come from the produce, not the timer */
    ft.topic = kafka_str_c("wait");
    send_request(fetcher, KAFKA_API_FETCH, 11, 77, &freq);
    struct pollfd p = {.fd = fetcher, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0); /* nothing yet: the Fetch waits */
    kafka_wbuf_init(&w);
    one_batch(&w, -1, 0, 2, 5000);
    assert_int_equal(produce(f, producer, "wait", 0, &w, &base), 0);
    kafka_fetch_response fresp;
    assert_int_equal(recv_response(f, fetcher, KAFKA_API_FETCH, 11, 77, &fresp), 0);
    assert_int_equal(fresp.responses[0].partitions[0].high_watermark, 2);
    assert_true(fresp.responses[0].partitions[0].records.len > 0);
    kafka_wbuf_free(&w);
    close(fetcher);
    close(producer);
    close(fd0);
}

static void test_admin_and_faults(void **state)
{
    fixture *f = *state;
    int fd = dial(f, 2);
    kafka_create_topics_request creq;
    kafka_create_topics_response cresp;
    kafka_create_topics_request_creatable_topic ct;
    kafka_create_topics_request_init(&creq);
    kafka_create_topics_request_creatable_topic_init(&ct);
    ct.name = kafka_str_c("admin-made");
    ct.num_partitions = 4;
    ct.replication_factor = 2;
    creq.topics = &ct;
    creq.topics_count = 1;
    rpc(f, fd, KAFKA_API_CREATE_TOPICS, 7, &creq, &cresp);
    assert_int_equal(cresp.topics[0].error_code, 0);
    assert_int_equal(cresp.topics[0].num_partitions, 4);
    rpc(f, fd, KAFKA_API_CREATE_TOPICS, 7, &creq, &cresp);
    assert_int_equal(cresp.topics[0].error_code, 36); /* TOPIC_ALREADY_EXISTS */
    assert_true(leader_of(f, fd, "admin-made", 3) >= 1);

    /* injected errors: per partition in Metadata's topic, then served again */
    assert_int_equal(kafka_mock_push_errors(f->m, -1, KAFKA_API_METADATA, 5, 1), 0);
    assert_int_equal(kafka_mock_pending_errors(f->m, -1, KAFKA_API_METADATA), 1);
    assert_int_equal(leader_of(f, fd, "admin-made", 0), -105); /* LEADER_NOT_AVAILABLE */
    assert_true(leader_of(f, fd, "admin-made", 0) >= 1);
    /* a disconnect instead of an answer */
    assert_int_equal(kafka_mock_push_errors(f->m, 2, KAFKA_API_METADATA, KAFKA_ERR_MOCK_DISCONNECT, 1), 0);
    kafka_metadata_request mreq;
    kafka_metadata_response mresp;
    kafka_metadata_request_init(&mreq);
    send_request(fd, KAFKA_API_METADATA, 12, 5, &mreq);
    assert_int_equal(recv_response(f, fd, KAFKA_API_METADATA, 12, 5, &mresp), -1);
    close(fd);
    int fd2 = dial(f, 2);

    /* throttling is reported in responses that carry the field */
    assert_int_equal(kafka_mock_set_throttle(f->m, -1, 250), 0);
    kafka_metadata_request_init(&mreq);
    rpc(f, fd2, KAFKA_API_METADATA, 12, &mreq, &mresp);
    assert_int_equal(mresp.throttle_time_ms, 250);
    assert_int_equal(kafka_mock_set_throttle(f->m, -1, 0), 0);
    rpc(f, fd2, KAFKA_API_METADATA, 12, &mreq, &mresp);
    assert_int_equal(mresp.throttle_time_ms, 0);
    close(fd2);

    /* racks per broker, as Metadata reports them */
    assert_int_equal(kafka_mock_set_rack(f->m, 2, "rack-b"), 0);
    assert_int_equal(kafka_mock_set_rack(f->m, 9, "x"), KAFKA_ERR_INVALID_ARG);
    fd2 = dial(f, 2);
    kafka_metadata_request_init(&mreq);
    rpc(f, fd2, KAFKA_API_METADATA, 12, &mreq, &mresp);
    assert_true(kafka_str_eq_c(mresp.brokers[1].rack, "rack-b"));
    assert_int_equal(mresp.brokers[0].rack.len, -1); /* null */
    close(fd2);

    /* leader moves bump the epoch */
    fd = dial(f, 1);
    assert_int_equal(kafka_mock_set_leader(f->m, "admin-made", 0, 3), 0);
    assert_int_equal(leader_of(f, fd, "admin-made", 0), 3);

    /* a broker down refuses connections until it is up again */
    assert_int_equal(kafka_mock_broker_down(f->m, 3), 0);
    assert_int_equal(dial(f, 3), -1);
    assert_int_equal(kafka_mock_broker_up(f->m, 3), 0);
    int fd3 = dial(f, 3);
    assert_true(fd3 >= 0);
    close(fd3);

    /* FindCoordinator v4 (batched) answers every key; a pin wins */
    assert_int_equal(kafka_mock_set_coordinator(f->m, 0, "pinned", 2), 0);
    kafka_find_coordinator_request freq;
    kafka_find_coordinator_response fresp;
    kafka_str keys[2] = {kafka_str_c("pinned"), kafka_str_c("other")};
    kafka_find_coordinator_request_init(&freq);
    freq.coordinator_keys = keys;
    freq.coordinator_keys_count = 2;
    rpc(f, fd, KAFKA_API_FIND_COORDINATOR, 6, &freq, &fresp);
    assert_int_equal(fresp.coordinators_count, 2);
    assert_int_equal(fresp.coordinators[0].node_id, 2);
    assert_int_equal(fresp.coordinators[0].port, f->port[1]);
    assert_true(fresp.coordinators[1].node_id >= 1 && fresp.coordinators[1].node_id <= 3);

    /* DeleteTopics v6 */
    kafka_delete_topics_request dreq;
    kafka_delete_topics_response dresp;
    kafka_delete_topics_request_delete_topic_state ds = {.name = kafka_str_c("admin-made")};
    kafka_delete_topics_request_init(&dreq);
    dreq.topics = &ds;
    dreq.topics_count = 1;
    rpc(f, fd, KAFKA_API_DELETE_TOPICS, 6, &dreq, &dresp);
    assert_int_equal(dresp.responses[0].error_code, 0);
    assert_int_equal(leader_of(f, fd, "admin-made", 0), -103); /* UNKNOWN_TOPIC_OR_PARTITION */
    close(fd);
}

/* One transactional batch of n records for (pid, epoch) from sequence seq. */
static void txn_batch(kafka_wbuf *w, int64_t pid, int16_t epoch, int32_t seq, int n)
{
    kafka_batch_builder b;
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.producer_id = pid;
    cfg.producer_epoch = epoch;
    cfg.base_sequence = seq;
    cfg.transactional = true;
    w->len = 0;
    assert_int_equal(kafka_batch_builder_init(&b, w, &cfg), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(kafka_batch_builder_append(&b, 1000, NULL, -1, "t", 1, NULL, 0), 0);
    assert_int_equal(kafka_batch_builder_finish(&b), 0);
}

static int16_t init_txn_producer(fixture *f, int fd, const char *id, int64_t *pid, int16_t *epoch)
{
    kafka_init_producer_id_request req;
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_request_init(&req);
    req.transactional_id = kafka_str_c(id);
    req.transaction_timeout_ms = 60000;
    rpc(f, fd, KAFKA_API_INIT_PRODUCER_ID, 4, &req, &resp);
    *pid = resp.producer_id;
    *epoch = resp.producer_epoch;
    return resp.error_code;
}

static int16_t add_partition(fixture *f, int fd, const char *id, int64_t pid, int16_t epoch, const char *topic)
{
    kafka_add_partitions_to_txn_request req;
    kafka_add_partitions_to_txn_response resp;
    int32_t part = 0;
    kafka_add_partitions_to_txn_request_add_partitions_to_txn_topic t = {.name = kafka_str_c(topic),
                                                                         .partitions = &part,
                                                                         .partitions_count = 1};
    kafka_add_partitions_to_txn_request_init(&req);
    req.v3_and_below_transactional_id = kafka_str_c(id);
    req.v3_and_below_producer_id = pid;
    req.v3_and_below_producer_epoch = epoch;
    req.v3_and_below_topics = &t;
    req.v3_and_below_topics_count = 1;
    rpc(f, fd, KAFKA_API_ADD_PARTITIONS_TO_TXN, 3, &req, &resp);
    return resp.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
}

static int16_t end_txn(fixture *f, int fd, const char *id, int64_t pid, int16_t epoch, bool commit)
{
    kafka_end_txn_request req;
    kafka_end_txn_response resp;
    kafka_end_txn_request_init(&req);
    req.transactional_id = kafka_str_c(id);
    req.producer_id = pid;
    req.producer_epoch = epoch;
    req.committed = commit;
    rpc(f, fd, KAFKA_API_END_TXN, 4, &req, &resp);
    return resp.error_code;
}

/* Partition 0 of topic from the broker behind fd, from offset 0, as a
 * consumer in rack (NULL: none) at an isolation level (1: read_committed),
 * Fetch version ver (names: <= 12). */
static kafka_fetch_response_partition_data fetch_p0(fixture *f, int fd, int16_t ver, const char *topic,
                                                    const char *rack, int8_t isolation)
{
    kafka_fetch_request freq;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    kafka_fetch_response resp;
    init_fetch(&freq, &ft, &fp, 0);
    ft.topic = kafka_str_c(topic);
    freq.isolation_level = isolation;
    if (rack)
        freq.rack_id = kafka_str_c(rack);
    rpc(f, fd, KAFKA_API_FETCH, ver, &freq, &resp);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.responses_count, 1);
    assert_int_equal(resp.responses[0].partitions_count, 1);
    return resp.responses[0].partitions[0];
}

static kafka_fetch_response_partition_data fetch_in_rack(fixture *f, int fd, int16_t ver, const char *topic,
                                                         const char *rack)
{
    return fetch_p0(f, fd, ver, topic, rack, 0);
}

/* A read_committed Fetch from offset 0: the last stable offset and the
 * aborted transactions' count. */
static void fetch_committed(fixture *f, int fd, const char *topic, int64_t *lso, int32_t *naborted)
{
    kafka_fetch_response_partition_data pd = fetch_p0(f, fd, 11, topic, NULL, 1);
    assert_int_equal(pd.error_code, 0);
    *lso = pd.last_stable_offset;
    *naborted = pd.aborted_transactions_count;
}

static void test_transactions(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t pid, pid2, base, lso;
    int16_t epoch, epoch2;
    int32_t naborted;
    assert_int_equal(kafka_mock_create_topic(f->m, "txn", 1, 1), 0);
    int fd0 = dial(f, 1);
    int fd = dial(f, leader_of(f, fd0, "txn", 0));
    kafka_wbuf_init(&w);

    assert_int_equal(init_txn_producer(f, fd, "tx-1", &pid, &epoch), 0);
    assert_int_equal(epoch, 0);
    assert_int_equal(add_partition(f, fd, "tx-1", pid, epoch, "txn"), 0);
    txn_batch(&w, pid, epoch, 0, 3);
    assert_int_equal(produce(f, fd, "txn", 0, &w, &base), 0);
    fetch_committed(f, fd, "txn", &lso, &naborted);
    assert_int_equal(lso, 0); /* open transaction: nothing is stable yet */
    assert_int_equal(end_txn(f, fd, "tx-1", pid, epoch, true), 0);
    fetch_committed(f, fd, "txn", &lso, &naborted);
    assert_int_equal(lso, 4); /* 3 records + the commit marker */
    assert_int_equal(naborted, 0);
    assert_int_equal(end_txn(f, fd, "tx-1", pid, epoch, true), 48); /* INVALID_TXN_STATE: nothing open */

    /* an aborted transaction is listed for read_committed readers */
    assert_int_equal(add_partition(f, fd, "tx-1", pid, epoch, "txn"), 0);
    txn_batch(&w, pid, epoch, 3, 2);
    assert_int_equal(produce(f, fd, "txn", 0, &w, &base), 0);
    assert_int_equal(base, 4);
    assert_int_equal(end_txn(f, fd, "tx-1", pid, epoch, false), 0);
    fetch_committed(f, fd, "txn", &lso, &naborted);
    assert_int_equal(lso, 7);
    assert_int_equal(naborted, 1);

    /* a new incarnation fences the old one and aborts what it left open */
    assert_int_equal(add_partition(f, fd, "tx-1", pid, epoch, "txn"), 0);
    txn_batch(&w, pid, epoch, 5, 1);
    assert_int_equal(produce(f, fd, "txn", 0, &w, &base), 0);
    assert_int_equal(init_txn_producer(f, fd, "tx-1", &pid2, &epoch2), 0);
    assert_int_equal(pid2, pid);
    assert_int_equal(epoch2, epoch + 1);
    assert_int_equal(end_txn(f, fd, "tx-1", pid, epoch, true), 90); /* PRODUCER_FENCED */
    assert_int_equal(add_partition(f, fd, "tx-1", pid + 1, epoch2, "txn"), 49); /* INVALID_PRODUCER_ID_MAPPING */
    fetch_committed(f, fd, "txn", &lso, &naborted);
    assert_int_equal(lso, 9); /* the open record and its abort marker */
    assert_int_equal(naborted, 2);
    txn_batch(&w, pid, epoch, 6, 1);
    assert_int_equal(produce(f, fd, "txn", 0, &w, &base), 47); /* old epoch: INVALID_PRODUCER_EPOCH */
    kafka_wbuf_free(&w);
    close(fd);
    close(fd0);
}

static void test_transaction_timeout(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t pid, base, lso = 0;
    int16_t epoch;
    int32_t naborted;
    assert_int_equal(kafka_mock_create_topic(f->m, "txn-timeout", 1, 1), 0);
    int fd0 = dial(f, 1);
    int fd = dial(f, leader_of(f, fd0, "txn-timeout", 0));
    kafka_init_producer_id_request req;
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_request_init(&req);
    req.transactional_id = kafka_str_c("tx-timeout");
    req.transaction_timeout_ms = 100;
    rpc(f, fd, KAFKA_API_INIT_PRODUCER_ID, 4, &req, &resp);
    assert_int_equal(resp.error_code, 0);
    pid = resp.producer_id;
    epoch = resp.producer_epoch;
    assert_int_equal(add_partition(f, fd, "tx-timeout", pid, epoch, "txn-timeout"), 0);
    kafka_wbuf_init(&w);
    txn_batch(&w, pid, epoch, 0, 2);
    assert_int_equal(produce(f, fd, "txn-timeout", 0, &w, &base), 0);
    /* the coordinator aborts it once the timeout passes (waits for the
     * outcome, at most 20 s; no assertion on how long it took) */
    for (int i = 0; i < 200 && lso == 0; i++) {
        fetch_committed(f, fd, "txn-timeout", &lso, &naborted);
        if (lso == 0)
            usleep(100000);
    }
    assert_int_equal(lso, 3); /* 2 records + the abort marker */
    assert_int_equal(naborted, 1);
    assert_int_equal(end_txn(f, fd, "tx-timeout", pid, epoch, true), 90); /* fenced by the abort */
    kafka_wbuf_free(&w);
    close(fd);
    close(fd0);
}

/* An incremental (or session-opening) Fetch v12 of topic "sess": names
 * the partitions in parts[0..np) (at offset `offset`), forgets
 * forget[0..nf). */
static void session_fetch_at(int fd, int32_t id, int32_t epoch, const int32_t *parts, int np, int64_t offset,
                             const int32_t *forget, int nf, int32_t max_wait, int32_t corr)
{
    kafka_fetch_request req;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp[2];
    kafka_fetch_request_forgotten_topic fg = {.topic = kafka_str_c("sess"), .partitions = (int32_t *)(uintptr_t)forget,
                                              .partitions_count = nf};
    kafka_fetch_request_init(&req);
    kafka_fetch_request_fetch_topic_init(&ft);
    ft.topic = kafka_str_c("sess");
    ft.partitions = fp;
    ft.partitions_count = np;
    for (int i = 0; i < np; i++) {
        kafka_fetch_request_fetch_partition_init(&fp[i]);
        fp[i].partition = parts[i];
        fp[i].fetch_offset = offset;
        fp[i].partition_max_bytes = 1 << 20;
    }
    req.max_wait_ms = max_wait;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.session_id = id;
    req.session_epoch = epoch;
    req.topics = np ? &ft : NULL;
    req.topics_count = np ? 1 : 0;
    req.forgotten_topics_data = &fg;
    req.forgotten_topics_data_count = nf ? 1 : 0;
    send_request(fd, KAFKA_API_FETCH, 12, corr, &req);
}

static void session_fetch(int fd, int32_t id, int32_t epoch, const int32_t *parts, int np, const int32_t *forget,
                          int nf, int32_t max_wait, int32_t corr)
{
    session_fetch_at(fd, id, epoch, parts, np, 0, forget, nf, max_wait, corr);
}

/* Partitions of "sess" in a Fetch v12 response, as a bit set; -1 if the
 * response has a top-level error (then *err has it). */
static int session_answer(fixture *f, int fd, int32_t corr, int32_t *session_id, int16_t *err)
{
    kafka_fetch_response resp;
    int set = 0;
    assert_int_equal(recv_response(f, fd, KAFKA_API_FETCH, 12, corr, &resp), 0);
    *err = resp.error_code;
    *session_id = resp.session_id;
    if (resp.error_code)
        return -1;
    for (int32_t t = 0; t < resp.responses_count; t++)
        for (int32_t i = 0; i < resp.responses[t].partitions_count; i++)
            set |= 1 << resp.responses[t].partitions[i].partition_index;
    return set;
}

static void test_fetch_sessions(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    int32_t id, id2;
    int16_t err;
    const int32_t both[] = {0, 1}, p0[] = {0};
    assert_int_equal(kafka_mock_create_topic(f->m, "sess", 2, 1), 0);
    int fd0 = dial(f, 1);
    /* both partitions on one broker, so that one session covers them */
    assert_int_equal(kafka_mock_set_leader(f->m, "sess", 0, 1), 0);
    assert_int_equal(kafka_mock_set_leader(f->m, "sess", 1, 1), 0);
    kafka_wbuf_init(&w);

    session_fetch(fd0, 0, 0, both, 2, NULL, 0, 0, 1); /* open a session */
    assert_int_equal(session_answer(f, fd0, 1, &id, &err), 3);
    assert_true(id > 0);
    one_batch(&w, -1, 0, 2, 1000);
    assert_int_equal(produce(f, fd0, "sess", 0, &w, &base), 0);
    session_fetch(fd0, id, 1, NULL, 0, NULL, 0, 0, 2); /* only partition 0 has news */
    assert_int_equal(session_answer(f, fd0, 2, &id2, &err), 1);
    assert_int_equal(id2, id);
    /* The session keeps the offset the client sent (0), as Kafka's does:
     * a client that does not name the partition again (it dropped the
     * answer) gets the same records again. */
    session_fetch(fd0, id, 2, NULL, 0, NULL, 0, 0, 3);
    assert_int_equal(session_answer(f, fd0, 3, &id2, &err), 1);
    const int32_t p1[] = {1};
    session_fetch_at(fd0, id, 3, p0, 1, 2, NULL, 0, 0, 4); /* past the 2 records: nothing new */
    assert_int_equal(session_answer(f, fd0, 4, &id2, &err), 0);
    session_fetch(fd0, id, 7, NULL, 0, NULL, 0, 0, 5);
    assert_int_equal(session_answer(f, fd0, 5, &id2, &err), -1);
    assert_int_equal(err, 71); /* INVALID_FETCH_SESSION_EPOCH */

    /* a waiting incremental fetch is answered by a produce to partition 1 */
    session_fetch(fd0, id, 4, NULL, 0, NULL, 0, 60000, 6);
    int fd1 = dial(f, 1);
    assert_int_equal(produce(f, fd1, "sess", 1, &w, &base), 0);
    assert_int_equal(session_answer(f, fd0, 6, &id2, &err), 2);
    /* forgotten partitions are no longer fetched (partition 1 moves past
     * its records) */
    session_fetch_at(fd0, id, 5, p1, 1, 2, p0, 1, 0, 7);
    assert_int_equal(produce(f, fd1, "sess", 0, &w, &base), 0);
    session_fetch(fd0, id, 6, NULL, 0, NULL, 0, 0, 8);
    assert_true(session_answer(f, fd0, 7, &id2, &err) >= 0);
    assert_int_equal(session_answer(f, fd0, 8, &id2, &err), 0);
    /* epoch -1 closes it */
    session_fetch(fd0, id, -1, p0, 1, NULL, 0, 0, 9);
    assert_int_equal(session_answer(f, fd0, 9, &id2, &err), 1);
    assert_int_equal(id2, 0);
    session_fetch(fd0, id, 7, NULL, 0, NULL, 0, 0, 10);
    assert_int_equal(session_answer(f, fd0, 10, &id2, &err), -1);
    assert_int_equal(err, 70); /* FETCH_SESSION_ID_NOT_FOUND */
    kafka_wbuf_free(&w);
    close(fd1);
    close(fd0);
}

static int16_t create_with_config(fixture *f, int fd, const char *topic, const char *key, const char *value)
{
    kafka_create_topics_request req;
    kafka_create_topics_response resp;
    kafka_create_topics_request_creatable_topic ct;
    kafka_create_topics_request_creatable_topic_config cfg = {kafka_str_c(key), kafka_str_c(value)};
    kafka_create_topics_request_init(&req);
    kafka_create_topics_request_creatable_topic_init(&ct);
    ct.name = kafka_str_c(topic);
    ct.num_partitions = 1;
    ct.replication_factor = 1;
    ct.configs = &cfg;
    ct.configs_count = 1;
    req.topics = &ct;
    req.topics_count = 1;
    rpc(f, fd, KAFKA_API_CREATE_TOPICS, 7, &req, &resp);
    return resp.topics[0].error_code;
}

/* The value DescribeConfigs v4 reports for one key of a topic (arena). */
static const char *describe(fixture *f, int fd, const char *topic, const char *key, bool *is_default)
{
    kafka_describe_configs_request req;
    kafka_describe_configs_response resp;
    kafka_describe_configs_request_describe_configs_resource r;
    kafka_str k = kafka_str_c(key);
    kafka_describe_configs_request_init(&req);
    kafka_describe_configs_request_describe_configs_resource_init(&r);
    r.resource_type = 2;
    r.resource_name = kafka_str_c(topic);
    r.configuration_keys = &k;
    r.configuration_keys_count = 1;
    req.resources = &r;
    req.resources_count = 1;
    rpc(f, fd, KAFKA_API_DESCRIBE_CONFIGS, 4, &req, &resp);
    assert_int_equal(resp.results[0].error_code, 0);
    assert_int_equal(resp.results[0].configs_count, 1);
    /* v1+ says it with the source (IsDefault is v0 only): 5 = DEFAULT_CONFIG */
    *is_default = resp.results[0].configs[0].config_source == 5;
    kafka_str v = resp.results[0].configs[0].value;
    char *out = kafka_arena_alloc(&f->arena, (size_t)v.len + 1);
    memcpy(out, v.ptr, (size_t)v.len);
    out[v.len] = '\0';
    return out;
}

static int16_t incremental_alter(fixture *f, int fd, const char *topic, const char *key, int8_t op,
                                 const char *value)
{
    kafka_incremental_alter_configs_request req;
    kafka_incremental_alter_configs_response resp;
    kafka_incremental_alter_configs_request_alter_configs_resource r;
    kafka_incremental_alter_configs_request_alterable_config e = {kafka_str_c(key), op,
                                                                  value ? kafka_str_c(value) : KAFKA_STR_NULL};
    kafka_incremental_alter_configs_request_init(&req);
    kafka_incremental_alter_configs_request_alter_configs_resource_init(&r);
    r.resource_type = 2;
    r.resource_name = kafka_str_c(topic);
    r.configs = &e;
    r.configs_count = 1;
    req.resources = &r;
    req.resources_count = 1;
    rpc(f, fd, KAFKA_API_INCREMENTAL_ALTER_CONFIGS, 1, &req, &resp);
    return resp.responses[0].error_code;
}

static void test_configs_and_delete_records(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    bool is_default;
    int fd0 = dial(f, 1);
    assert_int_equal(create_with_config(f, fd0, "cfg-bad", "no.such.config", "1"), 40); /* INVALID_CONFIG */
    assert_int_equal(create_with_config(f, fd0, "cfg-bad", "retention.ms", "soon"), 40);
    assert_int_equal(leader_of(f, fd0, "cfg-bad", 0), -103); /* not created */
    assert_int_equal(create_with_config(f, fd0, "cfg", "message.timestamp.type", "LogAppendTime"), 0);
    assert_string_equal(describe(f, fd0, "cfg", "message.timestamp.type", &is_default), "LogAppendTime");
    assert_false(is_default);
    assert_string_equal(describe(f, fd0, "cfg", "cleanup.policy", &is_default), "delete");
    assert_true(is_default);

    /* LogAppendTime: the broker's clock replaces the producer's timestamps */
    int fd = dial(f, leader_of(f, fd0, "cfg", 0));
    kafka_wbuf_init(&w);
    one_batch(&w, -1, 0, 3, 1000);
    int64_t stamped = -1;
    assert_int_equal(produce_at(f, fd, "cfg", 0, &w, &base, &stamped), 0);
    assert_true(stamped > 1000000000000LL); /* a wall-clock time, not the producer's 1000 */
    kafka_fetch_request freq;
    kafka_fetch_response fresp;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    init_fetch(&freq, &ft, &fp, 0);
    ft.topic = kafka_str_c("cfg");
    rpc(f, fd, KAFKA_API_FETCH, 12, &freq, &fresp);
    kafka_records_iter it;
    kafka_record rec;
    int nrec = 0;
    kafka_records_iter_init(&it, fresp.responses[0].partitions[0].records.ptr,
                            (size_t)fresp.responses[0].partitions[0].records.len, NULL);
    while (kafka_records_iter_next(&it, &rec) == 1) {
        assert_int_equal(rec.timestamp, stamped);
        nrec++;
    }
    assert_int_equal(it.err, 0); /* the CRC was recomputed */
    assert_true(it.batch.log_append_time);
    kafka_records_iter_free(&it);
    assert_int_equal(nrec, 3);

    /* IncrementalAlterConfigs: delete, set, bad value */
    assert_int_equal(incremental_alter(f, fd0, "cfg", "message.timestamp.type", 1, NULL), 0);
    assert_string_equal(describe(f, fd0, "cfg", "message.timestamp.type", &is_default), "CreateTime");
    assert_true(is_default);
    assert_int_equal(incremental_alter(f, fd0, "cfg", "retention.ms", 0, "1000"), 0);
    assert_string_equal(describe(f, fd0, "cfg", "retention.ms", &is_default), "1000");
    assert_int_equal(incremental_alter(f, fd0, "cfg", "retention.ms", 0, "x"), 40);
    assert_int_equal(incremental_alter(f, fd0, "nope", "retention.ms", 0, "1"), 3);

    /* DeleteRecords v2: the log start moves, older offsets are out of range */
    one_batch(&w, -1, 0, 3, 2000);
    assert_int_equal(produce(f, fd, "cfg", 0, &w, &base), 0);
    kafka_delete_records_request dreq;
    kafka_delete_records_response dresp;
    kafka_delete_records_request_delete_records_partition dp = {.partition_index = 0, .offset = 4};
    kafka_delete_records_request_delete_records_topic dt = {.name = kafka_str_c("cfg"), .partitions = &dp,
                                                            .partitions_count = 1};
    kafka_delete_records_request_init(&dreq);
    dreq.topics = &dt;
    dreq.topics_count = 1;
    rpc(f, fd, KAFKA_API_DELETE_RECORDS, 2, &dreq, &dresp);
    assert_int_equal(dresp.topics[0].partitions[0].error_code, 0);
    assert_int_equal(dresp.topics[0].partitions[0].low_watermark, 4);
    int64_t start, end;
    assert_int_equal(kafka_mock_partition_offsets(f->m, "cfg", 0, &start, &end), 0);
    assert_int_equal(start, 4);
    assert_int_equal(end, 6);
    rpc(f, fd, KAFKA_API_FETCH, 12, &freq, &fresp); /* still from offset 0 */
    assert_int_equal(fresp.responses[0].partitions[0].error_code, 1); /* OFFSET_OUT_OF_RANGE */
    dp.offset = 7;
    rpc(f, fd, KAFKA_API_DELETE_RECORDS, 2, &dreq, &dresp);
    assert_int_equal(dresp.topics[0].partitions[0].error_code, 1);
    kafka_wbuf_free(&w);
    close(fd);
    close(fd0);
}

static void test_scram_credentials_admin(void **state)
{
    fixture *f = *state;
    int fd = dial(f, 1);
    uint8_t salt[16], salted[32];
    memset(salt, 7, sizeof salt);
    memset(salted, 9, sizeof salted); /* any 32 bytes: the mock cannot tell */
    kafka_alter_user_scram_credentials_request areq;
    kafka_alter_user_scram_credentials_response aresp;
    kafka_alter_user_scram_credentials_request_scram_credential_upsertion up = {
        .name = kafka_str_c("frank"), .mechanism = 1, .iterations = 8192, .salt = {salt, sizeof salt},
        .salted_password = {salted, sizeof salted}};
    kafka_alter_user_scram_credentials_request_init(&areq);
    areq.upsertions = &up;
    areq.upsertions_count = 1;
    areq.deletions_count = 0;
    rpc(f, fd, KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &areq, &aresp);
    assert_int_equal(aresp.results_count, 1);
    assert_int_equal(aresp.results[0].error_code, 0);

    kafka_describe_user_scram_credentials_request dreq;
    kafka_describe_user_scram_credentials_response dresp;
    kafka_describe_user_scram_credentials_request_user_name who[2] = {{kafka_str_c("frank")}, {kafka_str_c("nobody")}};
    kafka_describe_user_scram_credentials_request_init(&dreq);
    dreq.users = who;
    dreq.users_count = 2;
    rpc(f, fd, KAFKA_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, &dreq, &dresp);
    assert_int_equal(dresp.results_count, 2);
    assert_int_equal(dresp.results[0].error_code, 0);
    assert_int_equal(dresp.results[0].credential_infos_count, 1);
    assert_int_equal(dresp.results[0].credential_infos[0].mechanism, 1);
    assert_int_equal(dresp.results[0].credential_infos[0].iterations, 8192);
    assert_int_equal(dresp.results[1].error_code, 91); /* RESOURCE_NOT_FOUND */

    kafka_alter_user_scram_credentials_request_scram_credential_deletion del = {kafka_str_c("frank"), 1};
    kafka_alter_user_scram_credentials_request_init(&areq);
    areq.deletions = &del;
    areq.deletions_count = 1;
    areq.upsertions_count = 0;
    up.iterations = 10; /* below Kafka's 4096 */
    areq.upsertions = &up;
    areq.upsertions_count = 1;
    rpc(f, fd, KAFKA_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &areq, &aresp);
    assert_int_equal(aresp.results_count, 2);
    assert_int_equal(aresp.results[0].error_code, 0);
    assert_int_equal(aresp.results[1].error_code, 93); /* UNACCEPTABLE_CREDENTIAL */
    close(fd);
}

static void test_api_version_fault(void **state)
{
    fixture *f = *state;
    int16_t lo, hi;
    assert_int_equal(kafka_mock_set_api_versions(f->m, KAFKA_API_FETCH, 4, 11), 0);
    assert_int_equal(kafka_mock_api_versions(f->m, KAFKA_API_FETCH, &lo, &hi), 1);
    assert_int_equal(lo, 4);
    assert_int_equal(hi, 11);
    int fd = dial(f, 1);
    kafka_fetch_request freq;
    kafka_fetch_response fresp;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    init_fetch(&freq, &ft, &fp, 0);
    ft.topic = kafka_str_c("anything");
    send_request(fd, KAFKA_API_FETCH, 12, 9, &freq); /* no longer served: the connection closes */
    assert_int_equal(recv_response(f, fd, KAFKA_API_FETCH, 12, 9, &fresp), -1);
    close(fd);
    assert_int_equal(kafka_mock_set_api_versions(f->m, KAFKA_API_DELETE_TOPICS, -1, -1), 0);
    assert_int_equal(kafka_mock_api_versions(f->m, KAFKA_API_DELETE_TOPICS, NULL, NULL), 0);
    assert_int_equal(kafka_mock_set_api_versions(f->m, KAFKA_API_API_VERSIONS, -1, -1), KAFKA_ERR_INVALID_ARG);
    kafka_mock_reset_api_versions(f->m, KAFKA_API_FETCH);
    kafka_mock_reset_api_versions(f->m, KAFKA_API_DELETE_TOPICS);
    assert_int_equal(kafka_mock_api_versions(f->m, KAFKA_API_FETCH, &lo, &hi), 1);
    assert_true(hi >= 12);
}

static void test_retention_bounds_memory(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    assert_int_equal(kafka_mock_create_topic(f->m, "bounded", 1, 1), 0);
    int fd0 = dial(f, 1);
    int fd = dial(f, leader_of(f, fd0, "bounded", 0));
    kafka_wbuf_init(&w);
    for (int i = 0; i < 400; i++) {
        kafka_batch_builder b;
        kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
        char value[100];
        memset(value, 'x', sizeof(value));
        w.len = 0;
        assert_int_equal(kafka_batch_builder_init(&b, &w, &cfg), 0);
        for (int r = 0; r < 100; r++)
            assert_int_equal(kafka_batch_builder_append(&b, 1000, NULL, -1, value, sizeof(value), NULL, 0), 0);
        assert_int_equal(kafka_batch_builder_finish(&b), 0);
        assert_int_equal(produce(f, fd, "bounded", 0, &w, &base), 0);
        assert_int_equal(base, i * 100);
    }
    int64_t start, end;
    assert_int_equal(kafka_mock_partition_offsets(f->m, "bounded", 0, &start, &end), 0);
    assert_int_equal(end, 40000);
    assert_true(start > 0);
    assert_true(kafka_mock_partition_bytes(f->m, "bounded", 0) <= (1 << 20));
    kafka_wbuf_free(&w);
    close(fd);
    close(fd0);
}

/* Listening sockets the caller made: the mock serves on them, and binds
 * the same address again after a broker down/up. */
static void test_caller_listeners(void **state)
{
    (void)state;
    int fds[2], ports[2];
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        socklen_t len = sizeof(sin);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(fds[i], 16), 0);
        assert_int_equal(getsockname(fds[i], (struct sockaddr *)&sin, &len), 0);
        ports[i] = ntohs(sin.sin_port);
    }
    fixture f = {.nbrokers = 2};
    char want[64];
    assert_int_equal(kafka_mock_new(&f.m, &(kafka_mock_config){.brokers = 2, .listen_fds = fds}), 0);
    snprintf(want, sizeof want, "127.0.0.1:%d,127.0.0.1:%d", ports[0], ports[1]);
    assert_string_equal(kafka_mock_bootstrap(f.m), want);
    f.port[0] = ports[0];
    f.port[1] = ports[1];
    kafka_arena_init(&f.arena, 0);
    int fd = dial(&f, 2);
    assert_true(fd >= 0);
    assert_int_equal(kafka_mock_create_topic(f.m, "on-caller-sockets", 2, 2), 0);
    assert_true(leader_of(&f, fd, "on-caller-sockets", 1) >= 1); /* served */
    close(fd);
    assert_int_equal(kafka_mock_broker_down(f.m, 2), 0);
    assert_int_equal(dial(&f, 2), -1);
    assert_int_equal(kafka_mock_broker_up(f.m, 2), 0);
    fd = dial(&f, 2);
    assert_true(fd >= 0);
    close(fd);
    kafka_mock_close(f.m);
    kafka_arena_free(&f.arena);
    /* a descriptor that is not a listening socket is refused */
    int notlistening[1] = {socket(AF_INET, SOCK_STREAM, 0)};
    kafka_mock *m;
    assert_int_equal(kafka_mock_new(&m, &(kafka_mock_config){.brokers = 1, .listen_fds = notlistening}),
                     KAFKA_ERR_INVALID_ARG);
    close(notlistening[0]);
}

/* KIP-392: the leader names a replica in the consumer's rack, which then
 * serves the consumer although it is a follower. */
static void test_follower_fetch(void **state)
{
    fixture *f = *state;
    kafka_wbuf w;
    int64_t base;
    assert_int_equal(kafka_mock_create_topic(f->m, "ff", 1, 3), 0);
    assert_int_equal(kafka_mock_set_leader(f->m, "ff", 0, 1), 0);
    assert_int_equal(kafka_mock_set_rack(f->m, 1, "rack-a"), 0);
    assert_int_equal(kafka_mock_set_rack(f->m, 2, "rack-b"), 0);
    assert_int_equal(kafka_mock_set_rack(f->m, 3, "rack-c"), 0);
    int fd1 = dial(f, 1), fd2 = dial(f, 2);
    kafka_wbuf_init(&w);
    one_batch(&w, -1, 0, 2, 1000);
    assert_int_equal(produce(f, fd1, "ff", 0, &w, &base), 0);

    /* the leader redirects a rack-b consumer to broker 2, without records */
    kafka_fetch_response_partition_data pd = fetch_in_rack(f, fd1, 12, "ff", "rack-b");
    assert_int_equal(pd.error_code, 0);
    assert_int_equal(pd.preferred_read_replica, 2);
    assert_int_equal(pd.records.len, 0);
    assert_int_equal(pd.high_watermark, 2);
    /* no redirection: the consumer is in the leader's rack, in none, or
     * in a rack without a replica */
    const char *stay[] = {"rack-a", NULL, "rack-z"};
    for (int i = 0; i < 3; i++) {
        pd = fetch_in_rack(f, fd1, 12, "ff", stay[i]);
        assert_int_equal(pd.error_code, 0);
        assert_int_equal(pd.preferred_read_replica, -1);
        assert_true(pd.records.len > 0);
    }
    /* the follower serves the consumer (v11+), up to the high watermark */
    pd = fetch_in_rack(f, fd2, 12, "ff", "rack-b");
    assert_int_equal(pd.error_code, 0);
    assert_int_equal(pd.preferred_read_replica, -1);
    assert_true(pd.records.len > 0);
    assert_int_equal(kafka_records_next_offset(pd.records.ptr, (size_t)pd.records.len), 2);
    /* before v11 a consumer fetches from the leader only */
    pd = fetch_in_rack(f, fd2, 10, "ff", NULL);
    assert_int_equal(pd.error_code, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    /* a broker that holds no replica does not serve it at any version */
    assert_int_equal(kafka_mock_create_topic(f->m, "ff-one", 1, 1), 0);
    int32_t only = leader_of(f, fd1, "ff-one", 0);
    assert_true(only >= 1 && only <= 3);
    int fd_other = dial(f, only % 3 + 1);
    pd = fetch_in_rack(f, fd_other, 12, "ff-one", NULL);
    assert_int_equal(pd.error_code, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    close(fd_other);
    /* a replica whose broker is down is not preferred */
    close(fd2);
    assert_int_equal(kafka_mock_broker_down(f->m, 2), 0);
    pd = fetch_in_rack(f, fd1, 12, "ff", "rack-b");
    assert_int_equal(pd.preferred_read_replica, -1);
    assert_true(pd.records.len > 0);
    assert_int_equal(kafka_mock_broker_up(f->m, 2), 0);
    assert_int_equal(kafka_mock_set_rack(f->m, -1, NULL), 0);
    kafka_wbuf_free(&w);
    close(fd1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_versions),
        cmocka_unit_test(test_produce_fetch_idempotent),
        cmocka_unit_test(test_fetch_waits_for_data),
        cmocka_unit_test(test_admin_and_faults),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_transaction_timeout),
        cmocka_unit_test(test_api_version_fault),
        cmocka_unit_test(test_fetch_sessions),
        cmocka_unit_test(test_configs_and_delete_records),
        cmocka_unit_test(test_scram_credentials_admin),
        cmocka_unit_test(test_retention_bounds_memory),
        cmocka_unit_test(test_caller_listeners),
        cmocka_unit_test(test_follower_fetch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
