/*
 * The public surface, seen the way an application sees it: this file
 * includes only the umbrella header <kafka/kafka.h> (plus the C library and
 * cmocka), and checks documented promises of the headers without a broker:
 *   - error tables: every code has a description and a unique name,
 *     retriable / fatal flags agree with hand-written lists;
 *   - codec names round-trip; version string; balancer kind names;
 *   - zero-initialised configs are accepted (dialer, writer, reader), with
 *     the documented defaults visible through the stats accessors;
 *   - the allocator hook sees the library's allocations and NULL restores
 *     the defaults.
 * Expected values are written out by hand from Kafka's protocol error
 * table (kafka.apache.org/protocol#protocol_error_codes) and the headers'
 * documentation, not taken from the code under test.
 *
 * No network: every dial goes through a user transport whose dial()
 * callback records its arguments and fails.
 */
#include <kafka/kafka.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- error tables ---------------------------------------------------------- */

struct err_row {
    kafka_err code;
    const char *name;
    int retriable;
    const char *desc;
};

#define ROW_(name, value, retriable, desc) {(value), #name, (retriable), (desc)},
static const struct err_row k_rows[] = {KAFKA_PROTOCOL_ERRORS(ROW_) KAFKA_CLIENT_ERRORS(ROW_)};
#undef ROW_
#define N_ROWS (sizeof k_rows / sizeof k_rows[0])

static void test_error_tables_complete(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ROWS; i++) {
        const struct err_row *r = &k_rows[i];
        const char *s = kafka_err_str(r->code);
        const char *n = kafka_err_name(r->code);
        assert_non_null(s);
        assert_non_null(n);
        assert_string_equal(s, r->desc);
        assert_string_equal(n, r->name);
        assert_string_not_equal(n, "UNKNOWN");
        assert_int_equal(kafka_err_is_retriable(r->code), r->retriable != 0);
        /* Documented: no code is both fatal and retriable. */
        assert_false(kafka_err_is_fatal(r->code) && kafka_err_is_retriable(r->code));
        for (size_t j = i + 1; j < N_ROWS; j++) {
            assert_int_not_equal(r->code, k_rows[j].code);
            assert_string_not_equal(r->name, k_rows[j].name);
        }
    }
}

/* Kafka's protocol table is contiguous from 0 to 127 (Kafka 3.9 / 4.0) and
 * the client codes from -1 to -24; count them by value, not by row. */
static void test_error_tables_cover_ranges(void **state)
{
    (void)state;
    for (int code = 0; code <= 127; code++)
        assert_string_not_equal(kafka_err_name(code), "UNKNOWN");
    for (int code = -1; code >= -24; code--)
        assert_string_not_equal(kafka_err_name(code), "UNKNOWN");
    assert_int_equal(N_ROWS, 128 + 1 /* UNKNOWN_SERVER_ERROR */ + 24);
}

static void test_error_well_known_codes(void **state)
{
    (void)state;
    /* Numbers from Kafka's protocol page, written independently of the
     * header's table. */
    assert_int_equal(KAFKA_ERR_OK, 0);
    assert_int_equal(KAFKA_ERR_NONE, 0);
    assert_int_equal(KAFKA_ERR_OFFSET_OUT_OF_RANGE, 1);
    assert_int_equal(KAFKA_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    assert_int_equal(KAFKA_ERR_MESSAGE_TOO_LARGE, 10);
    assert_int_equal(KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED, 29);
    assert_int_equal(KAFKA_ERR_UNSUPPORTED_VERSION, 35);
    assert_int_equal(KAFKA_ERR_INVALID_RECORD, 87);
    assert_string_equal(kafka_err_name(6), "NOT_LEADER_OR_FOLLOWER");
    assert_string_equal(kafka_err_name(0), "NONE");
    assert_string_equal(kafka_err_name(KAFKA_ERR_TIMEOUT), "TIMEOUT");

    static const int retriable[] = {6 /* NOT_LEADER_OR_FOLLOWER */, 5 /* LEADER_NOT_AVAILABLE */,
                                    7 /* REQUEST_TIMED_OUT */,      19 /* NOT_ENOUGH_REPLICAS */,
                                    3 /* UNKNOWN_TOPIC_OR_PARTITION */, 15 /* COORDINATOR_NOT_AVAILABLE */,
                                    16 /* NOT_COORDINATOR */};
    static const int not_retriable[] = {0, 10 /* MESSAGE_TOO_LARGE */, 87 /* INVALID_RECORD */,
                                        29 /* TOPIC_AUTHORIZATION_FAILED */, 35 /* UNSUPPORTED_VERSION */,
                                        36 /* TOPIC_ALREADY_EXISTS */};
    for (size_t i = 0; i < sizeof retriable / sizeof retriable[0]; i++) {
        assert_true(kafka_err_is_retriable(retriable[i]));
        assert_false(kafka_err_is_fatal(retriable[i]));
    }
    for (size_t i = 0; i < sizeof not_retriable / sizeof not_retriable[0]; i++)
        assert_false(kafka_err_is_retriable(not_retriable[i]));

    assert_true(kafka_err_is_retriable(KAFKA_ERR_TIMEOUT));
    assert_true(kafka_err_is_retriable(KAFKA_ERR_TRANSPORT));
    assert_false(kafka_err_is_retriable(KAFKA_ERR_INVALID_ARG));
    assert_false(kafka_err_is_retriable(KAFKA_ERR_CLOSED));

    assert_true(kafka_err_is_fatal(58 /* SASL_AUTHENTICATION_FAILED */));
    assert_true(kafka_err_is_fatal(90 /* PRODUCER_FENCED */));
    assert_true(kafka_err_is_fatal(KAFKA_ERR_NOMEM));
    assert_false(kafka_err_is_fatal(0));
    assert_false(kafka_err_is_fatal(KAFKA_ERR_TIMEOUT));
}

static void test_error_unknown_and_wire(void **state)
{
    (void)state;
    assert_string_equal(kafka_err_str(5000), "unknown error");
    assert_string_equal(kafka_err_name(5000), "UNKNOWN");
    assert_string_equal(kafka_err_name(-5000), "UNKNOWN");
    assert_false(kafka_err_is_retriable(5000));
    assert_false(kafka_err_is_fatal(5000));

    assert_int_equal(kafka_err_from_wire(-1), KAFKA_ERR_UNKNOWN_SERVER_ERROR);
    assert_true(KAFKA_ERR_UNKNOWN_SERVER_ERROR > 0); /* the sign says who raised it */
    assert_int_equal(kafka_err_from_wire(-2), KAFKA_ERR_UNKNOWN_SERVER_ERROR);
    assert_int_equal(kafka_err_from_wire(0), 0);
    assert_int_equal(kafka_err_from_wire(6), 6);
    assert_int_equal(kafka_err_from_wire(300), 300); /* newer than the header */
}

/* ---- codecs, version, balancer names ---------------------------------------- */

static void test_codec_names(void **state)
{
    (void)state;
    static const struct {
        int value; /* Kafka's attribute bits */
        const char *name;
    } codecs[] = {{0, "none"}, {1, "gzip"}, {2, "snappy"}, {3, "lz4"}, {4, "zstd"}};
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        const char *n = kafka_codec_name((kafka_codec)codecs[i].value);
        assert_non_null(n);
        assert_string_equal(n, codecs[i].name);
        kafka_codec c = (kafka_codec)99;
        assert_int_equal(kafka_codec_parse(n, &c), 0);
        assert_int_equal((int)c, codecs[i].value);
    }
    kafka_codec c = KAFKA_CODEC_NONE;
    assert_int_equal(kafka_codec_parse("ZStd", &c), 0);
    assert_int_equal(c, KAFKA_CODEC_ZSTD);
    assert_null(kafka_codec_name((kafka_codec)5));
    assert_int_equal(kafka_codec_parse("brotli", &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse("", &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse(NULL, &c), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_codec_parse("gzip", NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(c, KAFKA_CODEC_ZSTD); /* untouched by the failures */
}

static void test_version(void **state)
{
    (void)state;
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", KAFKA_VERSION_MAJOR, KAFKA_VERSION_MINOR, KAFKA_VERSION_PATCH);
    assert_string_equal(KAFKA_VERSION_STRING, expect);
    assert_non_null(kafka_version());
    assert_string_equal(kafka_version(), KAFKA_VERSION_STRING);
}

static void test_balancer_kind_names(void **state)
{
    (void)state;
    assert_int_equal(KAFKA_BALANCER_DEFAULT, 0);
    assert_int_equal(KAFKA_BALANCER_DEFAULT, KAFKA_BALANCER_MURMUR2);
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_MURMUR2), "murmur2");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_ROUND_ROBIN), "round_robin");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_LEAST_BYTES), "least_bytes");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_HASH), "hash");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_REFERENCE_HASH), "reference_hash");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_CRC32), "crc32");
    assert_string_equal(kafka_balancer_kind_name(KAFKA_BALANCER_CUSTOM), "custom");
    assert_string_equal(kafka_balancer_kind_name((kafka_balancer_kind)77), "unknown");

    int32_t p = -1;
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_ROUND_ROBIN, "k", 1, 3, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, "k", 1, 0, &p), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_partition_for_key(KAFKA_BALANCER_MURMUR2, "k", 1, 3, NULL), KAFKA_ERR_INVALID_ARG);
}

/* Zero values that the headers document as the safe defaults. */
static void test_zero_value_enums(void **state)
{
    (void)state;
    kafka_writer_config wc = {0};
    assert_int_equal(wc.required_acks, KAFKA_REQUIRE_ALL); /* acks=all */
    assert_int_equal(wc.balancer.kind, KAFKA_BALANCER_DEFAULT);
    assert_int_equal(wc.compression, KAFKA_CODEC_NONE);
    kafka_reader_config rc = {0};
    assert_int_equal(rc.start_offset, KAFKA_START_FIRST);
    assert_int_equal(rc.isolation_level, KAFKA_READ_UNCOMMITTED);
    kafka_dialer_config dc = {0};
    assert_int_equal(dc.sasl.mechanism, KAFKA_SASL_NONE);
    assert_false(dc.tls.enable);
}

/* ---- a transport that records the dial and refuses it ----------------------- */

struct refusing {
    atomic_int dials;
    char host[128];
    int port;
};

static int refuse_dial(void *privdata, const char *host, int port, int timeout_ms, void **conn_out, char *errbuf,
                       size_t errlen)
{
    (void)timeout_ms;
    struct refusing *t = privdata;
    /* Only the first dial's arguments are kept: writers and readers may dial
     * again from their own threads. */
    if (atomic_fetch_add(&t->dials, 1) == 0) {
        snprintf(t->host, sizeof t->host, "%s", host);
        t->port = port;
    }
    *conn_out = NULL;
    snprintf(errbuf, errlen, "refused by test transport");
    return -1;
}

static long never_read(void *privdata, void *conn, void *buf, size_t len, int timeout_ms)
{
    (void)privdata, (void)conn, (void)buf, (void)len, (void)timeout_ms;
    return KAFKA_TRANSPORT_ERROR;
}

static long never_write(void *privdata, void *conn, const void *buf, size_t len, int timeout_ms)
{
    (void)privdata, (void)conn, (void)buf, (void)len, (void)timeout_ms;
    return KAFKA_TRANSPORT_ERROR;
}

static void never_close(void *privdata, void *conn) { (void)privdata, (void)conn; }

static struct refusing g_refusing;
static const kafka_transport g_refuse_tp = {
    .privdata = &g_refusing, .dial = refuse_dial, .read = never_read, .write = never_write, .close = never_close};

static void reset_refusing(void)
{
    atomic_store(&g_refusing.dials, 0);
    g_refusing.host[0] = '\0';
    g_refusing.port = 0;
}

static void *read_dial_error(void *arg)
{
    const char **out = arg;
    *out = kafka_dial_last_error();
    return NULL;
}

/* A dialer config that sets nothing but the transport is accepted: the dial
 * reaches the transport with the address split into host and port. */
static void test_dialer_zero_config(void **state)
{
    (void)state;
    reset_refusing();
    kafka_conn *c = (kafka_conn *)&c; /* must be reset to NULL */
    kafka_err err = kafka_dial(&c, "broker.example:9093", &(kafka_dialer_config){.transport = &g_refuse_tp}, 1000);
    assert_int_equal(err, KAFKA_ERR_TRANSPORT);
    assert_null(c);
    assert_int_equal(atomic_load(&g_refusing.dials), 1);
    assert_string_equal(g_refusing.host, "broker.example");
    assert_int_equal(g_refusing.port, 9093);
    assert_non_null(strstr(kafka_dial_last_error(), "refused by test transport"));

    /* kafka_dial_last_error is per thread: a fresh thread sees "". */
    const char *other = NULL;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_dial_error, &other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(other);
    assert_string_equal(other, "");

    reset_refusing();
    err = kafka_dial(&c, "[::1]:9092", &(kafka_dialer_config){.transport = &g_refuse_tp}, 1000);
    assert_int_equal(err, KAFKA_ERR_TRANSPORT);
    assert_string_equal(g_refusing.host, "::1");
    assert_int_equal(g_refusing.port, 9092);
}

static int map_to_tunnel(void *privdata, const char *host, int port, char *host_out, size_t host_out_len,
                         int *port_out)
{
    (void)privdata;
    snprintf(host_out, host_out_len, "tunnel-%s", host);
    *port_out = port + 1;
    return 0;
}

static void test_dialer_resolver_and_invalid(void **state)
{
    (void)state;
    reset_refusing();
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial(&c, "b1:9092",
                               &(kafka_dialer_config){.transport = &g_refuse_tp, .resolver = map_to_tunnel}, 1000);
    assert_int_equal(err, KAFKA_ERR_TRANSPORT);
    assert_string_equal(g_refusing.host, "tunnel-b1");
    assert_int_equal(g_refusing.port, 9093);

    /* transport.h: TLS together with a user transport is INVALID_ARG. */
    reset_refusing();
    err = kafka_dial(&c, "b1:9092", &(kafka_dialer_config){.transport = &g_refuse_tp, .tls = {.enable = true}}, 1000);
    assert_int_equal(err, KAFKA_ERR_INVALID_ARG);
    assert_null(c);

    /* A transport without its required callbacks. */
    kafka_transport partial = {.dial = refuse_dial, .privdata = &g_refusing};
    err = kafka_dial(&c, "b1:9092", &(kafka_dialer_config){.transport = &partial}, 1000);
    assert_int_equal(err, KAFKA_ERR_INVALID_ARG);

    /* Malformed addresses. */
    err = kafka_dial(&c, "no-port", &(kafka_dialer_config){.transport = &g_refuse_tp}, 1000);
    assert_int_equal(err, KAFKA_ERR_INVALID_ARG);
    assert_string_not_equal(kafka_dial_last_error(), "");
    err = kafka_dial(&c, NULL, NULL, 1000);
    assert_int_equal(err, KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_dial(NULL, "b1:9092", NULL, 1000), KAFKA_ERR_INVALID_ARG);
}

/* ---- writer and reader: zero-valued configs --------------------------------- */

static const kafka_dialer_config g_refuse_dialer = {.transport = &g_refuse_tp};

static void test_writer_zero_config(void **state)
{
    (void)state;
    reset_refusing();
    kafka_writer *w = NULL;
    char errbuf[256] = "";
    kafka_err err = kafka_writer_new(
        &w, &(kafka_writer_config){.brokers = "b1:9092", .topic = "t", .dialer = &g_refuse_dialer}, errbuf,
        sizeof errbuf);
    assert_int_equal(err, 0);
    assert_non_null(w);
    kafka_writer_stats st;
    memset(&st, 0xff, sizeof st);
    kafka_writer_stats_get(w, &st);
    assert_int_equal(st.queue_capacity, 64 * 1024 * 1024); /* documented default of max_buffered_bytes */
    assert_int_equal(st.queue_length, 0);
    assert_int_equal(st.messages, 0);
    assert_int_equal(st.producer_id, -1);
    char last[64] = "x";
    kafka_writer_last_error(w, last, sizeof last);
    assert_string_equal(last, "");
    /* Nothing buffered: close delivers "everything". */
    assert_int_equal(kafka_writer_close(w, 1000), 0);
}

static void test_writer_invalid_configs(void **state)
{
    (void)state;
    kafka_writer *w = (kafka_writer *)&w;
    char errbuf[256];
    const kafka_writer_config bad[] = {
        {.topic = "t"},                                                   /* no brokers */
        {.brokers = "", .topic = "t"},                                    /* empty brokers */
        {.brokers = "b1:9092", .topic = "t", .batch_size = -1},           /* negative size */
        {.brokers = "b1:9092", .topic = "t", .required_acks = (kafka_required_acks)7},
        {.brokers = "b1:9092", .topic = "t", .balancer = {.kind = KAFKA_BALANCER_CUSTOM}}, /* no fn */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errbuf[0] = '\0';
        assert_int_equal(kafka_writer_new(&w, &bad[i], errbuf, sizeof errbuf), KAFKA_ERR_INVALID_ARG);
        assert_string_not_equal(errbuf, ""); /* a one-line reason */
    }
    kafka_writer_config codec = {.brokers = "b1:9092", .topic = "t", .compression = (kafka_codec)9};
    assert_int_equal(kafka_writer_new(&w, &codec, NULL, 0), KAFKA_ERR_UNSUPPORTED_CODEC);
    assert_int_equal(kafka_writer_new(&w, NULL, NULL, 0), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_writer_close(NULL, 0), KAFKA_ERR_INVALID_ARG);
}

static void test_reader_zero_config(void **state)
{
    (void)state;
    reset_refusing();
    kafka_reader *r = NULL;
    char errbuf[256] = "";
    kafka_err err = kafka_reader_new(
        &r, &(kafka_reader_config){.brokers = "b1:9092", .topic = "t", .dialer = &g_refuse_dialer}, errbuf,
        sizeof errbuf);
    assert_int_equal(err, 0);
    assert_non_null(r);
    kafka_reader_stats st;
    memset(&st, 0xff, sizeof st);
    kafka_reader_stats_get(r, &st);
    /* Documented defaults: min_bytes 1, max_bytes 1 MiB, max_wait 10 s. */
    assert_int_equal(st.min_bytes, 1);
    assert_int_equal(st.max_bytes, 1024 * 1024);
    assert_int_equal(st.max_wait_ms, 10000);
    assert_int_equal(st.messages, 0);
    assert_int_equal(kafka_reader_close(r), 0);
    kafka_reader_close(NULL); /* documented no-op */
}

static void test_reader_invalid_configs(void **state)
{
    (void)state;
    static const char *const topics[] = {"a", "b"};
    static const char *const bogus_assignor[] = {"bogus"};
    const kafka_reader_config bad[] = {
        {.topic = "t"},                                                       /* no brokers */
        {.brokers = "b1:9092"},                                               /* no topic */
        {.brokers = "b1:9092", .topic = "t", .partition = -1},
        {.brokers = "b1:9092", .topic = "t", .partition = 1, .group_id = "g"},
        {.brokers = "b1:9092", .topic = "t", .group_id = "g", .group_topics = topics, .n_group_topics = 2},
        {.brokers = "b1:9092", .topic = "t", .group_id = "g", .start_offset = KAFKA_START_AT},
        {.brokers = "b1:9092", .topic = "t", .group_id = "g", .assignors = bogus_assignor, .n_assignors = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kafka_reader *r = NULL;
        char errbuf[256] = "";
        assert_int_equal(kafka_reader_new(&r, &bad[i], errbuf, sizeof errbuf), KAFKA_ERR_INVALID_ARG);
        assert_string_not_equal(errbuf, "");
    }
}

/* ---- allocator hook ---------------------------------------------------------- */

static atomic_long g_live;  /* blocks handed out and not yet freed */
static atomic_long g_calls; /* every call into the hook */

static void *count_malloc(void *pd, size_t n)
{
    (void)pd;
    atomic_fetch_add(&g_calls, 1);
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&g_live, 1);
    return p;
}

static void *count_realloc(void *pd, void *p, size_t n)
{
    (void)pd;
    atomic_fetch_add(&g_calls, 1);
    void *q = realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&g_live, 1);
    return q;
}

static void count_free(void *pd, void *p)
{
    (void)pd;
    atomic_fetch_add(&g_calls, 1);
    if (p)
        atomic_fetch_sub(&g_live, 1);
    free(p);
}

static int g_alloc_tag;

static void test_allocator_hook(void **state)
{
    (void)state;
    atomic_store(&g_live, 0);
    atomic_store(&g_calls, 0);
    kafka_set_allocator(
        &(kafka_allocator){.malloc_fn = count_malloc, .realloc_fn = count_realloc, .free_fn = count_free,
                           .privdata = &g_alloc_tag});

    static const kafka_header hdr = {.key = "h", .key_len = 1, .value = "v", .value_len = 1};
    const kafka_message src = {.topic = "events", .partition = 2, .offset = 42, .key = "key", .key_len = 3,
                               .value = "value", .value_len = 5, .headers = &hdr, .n_headers = 1};
    kafka_message copy;
    assert_int_equal(kafka_message_copy(&copy, &src), 0);
    assert_true(atomic_load(&g_live) >= 1);
    assert_string_equal(copy.topic, "events");
    assert_int_equal(copy.offset, 42);
    assert_memory_equal(copy.key, "key", 3);
    assert_memory_equal(copy.value, "value", 5);
    assert_int_equal(copy.n_headers, 1);
    assert_memory_equal(copy.headers[0].key, "h", 1);
    assert_ptr_not_equal(copy.value, src.value);
    kafka_message_free(&copy);
    assert_int_equal(atomic_load(&g_live), 0);

    /* A writer's whole life goes through the hook and frees all it took. */
    long before = atomic_load(&g_calls);
    kafka_writer *w = NULL;
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = "b1:9092", .topic = "t",
                                                                  .dialer = &g_refuse_dialer},
                                      NULL, 0),
                     0);
    assert_true(atomic_load(&g_calls) > before);
    assert_int_equal(kafka_writer_close(w, 1000), 0);
    assert_int_equal(atomic_load(&g_live), 0);

    /* NULL restores malloc/free: the hook is no longer called. */
    kafka_set_allocator(NULL);
    long calls = atomic_load(&g_calls);
    assert_int_equal(kafka_message_copy(&copy, &src), 0);
    kafka_message_free(&copy);
    assert_int_equal(atomic_load(&g_calls), calls);

    /* So does an allocator with a missing callback. */
    kafka_set_allocator(&(kafka_allocator){.malloc_fn = count_malloc, .realloc_fn = count_realloc});
    assert_int_equal(kafka_message_copy(&copy, &src), 0);
    kafka_message_free(&copy);
    assert_int_equal(atomic_load(&g_calls), calls);
    kafka_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_tables_complete),
        cmocka_unit_test(test_error_tables_cover_ranges),
        cmocka_unit_test(test_error_well_known_codes),
        cmocka_unit_test(test_error_unknown_and_wire),
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_balancer_kind_names),
        cmocka_unit_test(test_zero_value_enums),
        cmocka_unit_test(test_dialer_zero_config),
        cmocka_unit_test(test_dialer_resolver_and_invalid),
        cmocka_unit_test(test_writer_zero_config),
        cmocka_unit_test(test_writer_invalid_configs),
        cmocka_unit_test(test_reader_zero_config),
        cmocka_unit_test(test_reader_invalid_configs),
        cmocka_unit_test(test_allocator_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
