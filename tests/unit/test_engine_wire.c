/* ke_wire, the engine's sans-I/O connection core, driven with scripted
 * bytes and a fake clock (no sockets): pipelining, responses of two
 * brokers in either order, a torn frame, hostile sizes, a correlation id out
 * of order, partial writes, reconnect backoff and request deadlines; bodies
 * written from the caller's memory, and requests the broker does not
 * answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "engine/wire.h"

typedef struct got {
    int calls;
    kafka_err err;
    char body[64];
    size_t body_len;
    int order; /* global arrival order */
} got;

static int g_seq;

static void on_resp(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    got *g = arg;
    g->calls++;
    g->err = err;
    g->order = ++g_seq;
    if (!err && !frame) { /* a request without response, written */
        g->body_len = 0;
    } else if (!err) {
        assert_true(len < sizeof g->body);
        memcpy(g->body, body, len);
        g->body_len = len;
        kafka_free(frame);
    } else {
        assert_null(frame);
        assert_non_null(why);
    }
}

/* A request frame as the engine would build it: 4-byte size, then bytes. */
static void submit(ke_wire *w, const char *payload, int64_t deadline, got *g, int32_t *corr)
{
    size_t n = strlen(payload);
    uint8_t *b = kafka_malloc(4 + n);
    b[0] = 0, b[1] = 0, b[2] = (uint8_t)(n >> 8), b[3] = (uint8_t)n;
    memcpy(b + 4, payload, n);
    *corr = ke_wire_next_corr(w);
    assert_int_equal(ke_wire_submit(w, *corr, b, 4 + n, false, deadline, on_resp, g), 0);
}

/* A response frame: size, correlation id, body (response header v0). */
static size_t response(uint8_t *out, int32_t corr, const char *body)
{
    size_t n = strlen(body);
    uint32_t size = (uint32_t)(4 + n);
    out[0] = (uint8_t)(size >> 24), out[1] = (uint8_t)(size >> 16), out[2] = (uint8_t)(size >> 8), out[3] = (uint8_t)size;
    out[4] = (uint8_t)((uint32_t)corr >> 24), out[5] = (uint8_t)((uint32_t)corr >> 16);
    out[6] = (uint8_t)((uint32_t)corr >> 8), out[7] = (uint8_t)corr;
    memcpy(out + 8, body, n);
    return 8 + n;
}

/* Writes everything the wire has to send; returns the byte count. */
static size_t write_all(ke_wire *w)
{
    struct iovec iov[16];
    size_t total = 0;
    int n;
    while ((n = ke_wire_output(w, iov, 16)) > 0) {
        size_t s = 0;
        for (int i = 0; i < n; i++)
            s += iov[i].iov_len;
        ke_wire_wrote(w, s);
        total += s;
    }
    return total;
}

static void test_pipelining(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    got g[3] = {0};
    int32_t c[3];
    submit(&w, "one", -1, &g[0], &c[0]);
    submit(&w, "two", -1, &g[1], &c[1]);
    /* Nothing goes out before the connection is up. */
    struct iovec iov[8];
    assert_int_equal(ke_wire_output(&w, iov, 8), 0);
    ke_wire_up(&w);
    submit(&w, "three", -1, &g[2], &c[2]);
    assert_int_equal(ke_wire_output(&w, iov, 8), 3);
    assert_int_equal(write_all(&w), (4 + 3) + (4 + 3) + (4 + 5));
    assert_true(c[0] != c[1] && c[1] != c[2]);
    /* All three responses in one read, in order. */
    uint8_t buf[128];
    size_t n = response(buf, c[0], "r1");
    n += response(buf + n, c[1], "r2");
    n += response(buf + n, c[2], "r3");
    assert_int_equal(ke_wire_feed(&w, buf, n), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].err, 0);
        char want[3] = {'r', (char)('1' + i), 0};
        assert_int_equal(g[i].body_len, 2);
        assert_memory_equal(g[i].body, want, 2);
    }
    assert_true(g[0].order < g[1].order && g[1].order < g[2].order);
    ke_wire_destroy(&w);
}

static void test_two_brokers_any_order(void **state)
{
    (void)state;
    ke_wire a, b;
    ke_wire_init(&a, 100, 1000, 0);
    ke_wire_init(&b, 100, 1000, 0);
    ke_wire_up(&a);
    ke_wire_up(&b);
    got ga = {0}, gb = {0};
    int32_t ca, cb;
    submit(&a, "fetch-a", -1, &ga, &ca);
    submit(&b, "fetch-b", -1, &gb, &cb);
    write_all(&a);
    write_all(&b);
    /* Broker b answers first (a is slow): b's callback runs now, a's
     * request keeps waiting without holding b up. */
    uint8_t buf[64];
    assert_int_equal(ke_wire_feed(&b, buf, response(buf, cb, "B")), 0);
    assert_int_equal(gb.calls, 1);
    assert_int_equal(ga.calls, 0);
    assert_int_equal(ke_wire_feed(&a, buf, response(buf, ca, "A")), 0);
    assert_int_equal(ga.calls, 1);
    assert_true(gb.order < ga.order);
    ke_wire_destroy(&a);
    ke_wire_destroy(&b);
}

static void test_torn_frame(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    ke_wire_up(&w);
    got g = {0};
    int32_t c;
    submit(&w, "req", -1, &g, &c);
    write_all(&w);
    uint8_t buf[64];
    size_t n = response(buf, c, "torn-body");
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(ke_wire_feed(&w, buf + i, 1), 0);
        assert_int_equal(g.calls, 0);
    }
    assert_int_equal(ke_wire_feed(&w, buf + n - 1, 1), 0);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.body_len, 9);
    assert_memory_equal(g.body, "torn-body", 9);
    ke_wire_destroy(&w);
}

static void hostile(uint32_t size, kafka_err want)
{
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 1 << 20);
    ke_wire_up(&w);
    got g = {0};
    int32_t c;
    submit(&w, "req", -1, &g, &c);
    write_all(&w);
    uint8_t hdr[4] = {(uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size};
    kafka_err err = ke_wire_feed(&w, hdr, 4);
    assert_int_equal(err, want);
    assert_true(w.err[0] != 0);
    /* The driver fails the connection: the request hears of it. */
    ke_wire_fail(&w, err, 0, NULL);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, want);
    assert_int_equal(w.state, KE_WIRE_DOWN);
    ke_wire_destroy(&w);
}

static void test_hostile_sizes(void **state)
{
    (void)state;
    hostile(0x7fffffffu, KAFKA_ERR_TOO_LARGE); /* no 2 GiB allocation */
    hostile(0xffffffffu, KAFKA_ERR_CORRUPT);   /* negative */
    hostile(2, KAFKA_ERR_CORRUPT);             /* shorter than a correlation id */
}

static void test_wrong_correlation_id(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    ke_wire_up(&w);
    got g1 = {0}, g2 = {0};
    int32_t c1, c2;
    submit(&w, "a", -1, &g1, &c1);
    submit(&w, "b", -1, &g2, &c2);
    write_all(&w);
    uint8_t buf[64];
    /* The second request's answer before the first's: a broken stream. */
    assert_int_equal(ke_wire_feed(&w, buf, response(buf, c2, "x")), KAFKA_ERR_PROTOCOL);
    ke_wire_fail(&w, KAFKA_ERR_PROTOCOL, 0, NULL);
    assert_int_equal(g1.err, KAFKA_ERR_PROTOCOL);
    assert_int_equal(g2.err, KAFKA_ERR_PROTOCOL);
    /* A response with nothing outstanding. */
    ke_wire_up(&w);
    assert_int_equal(ke_wire_feed(&w, buf, response(buf, 77, "x")), KAFKA_ERR_PROTOCOL);
    ke_wire_destroy(&w);
}

static void test_partial_writes(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    ke_wire_up(&w);
    got g = {0};
    int32_t c;
    submit(&w, "abcdef", -1, &g, &c);
    struct iovec iov[4];
    assert_int_equal(ke_wire_output(&w, iov, 4), 1);
    assert_int_equal(iov[0].iov_len, 10);
    ke_wire_wrote(&w, 6); /* the size and "ab" */
    assert_int_equal(ke_wire_output(&w, iov, 4), 1);
    assert_int_equal(iov[0].iov_len, 4);
    assert_memory_equal(iov[0].iov_base, "cdef", 4);
    ke_wire_wrote(&w, 4);
    assert_false(ke_wire_wants_write(&w));
    ke_wire_destroy(&w);
    assert_int_equal(g.err, KAFKA_ERR_CLOSED); /* destroy fails what is left */
}

static void test_reconnect_backoff(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    int64_t now = 10000;
    assert_true(ke_wire_should_connect(&w, now, true));
    assert_false(ke_wire_should_connect(&w, now, false)); /* nothing to do */
    ke_wire_connecting(&w);
    got g = {0};
    int32_t c;
    submit(&w, "queued while connecting", -1, &g, &c);
    ke_wire_fail(&w, KAFKA_ERR_TRANSPORT, now, "connect 127.0.0.1:1: refused");
    assert_int_equal(g.err, KAFKA_ERR_TRANSPORT); /* queued requests fail with it */
    /* First retry after min * [0.5, 1], then doubling, capped by max. */
    assert_true(w.retry_at >= now + 50 && w.retry_at <= now + 100);
    assert_false(ke_wire_should_connect(&w, w.retry_at - 1, true));
    assert_true(ke_wire_should_connect(&w, w.retry_at, true));
    now = w.retry_at;
    ke_wire_fail(&w, KAFKA_ERR_TRANSPORT, now, "again");
    assert_true(w.retry_at >= now + 100 && w.retry_at <= now + 200);
    for (int i = 0; i < 10; i++)
        ke_wire_fail(&w, KAFKA_ERR_TRANSPORT, now, "again");
    assert_true(w.retry_at >= now + 500 && w.retry_at <= now + 1000);
    assert_string_equal(w.err, "again");
    /* Up resets the backoff. */
    ke_wire_up(&w);
    ke_wire_fail(&w, KAFKA_ERR_TRANSPORT, now, "down");
    assert_true(w.retry_at <= now + 100);
    ke_wire_destroy(&w);
}

/* A cut on purpose (a parked long poll the owner no longer wants): the
 * requests fail with the given error, and the wire may connect again at
 * once, with its failure count untouched. */
static void test_cut(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    int64_t now = 5000;
    ke_wire_fail(&w, KAFKA_ERR_TRANSPORT, now, "refused"); /* one failure: attempt 1 */
    ke_wire_up(&w);
    got g = {0};
    int32_t c;
    submit(&w, "parked", -1, &g, &c);
    write_all(&w);
    int attempt = w.attempt;
    ke_wire_cut(&w, KAFKA_ERR_CLOSED, "a seek cut it");
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, KAFKA_ERR_CLOSED);
    assert_int_equal(w.state, KE_WIRE_DOWN);
    assert_true(ke_wire_should_connect(&w, now, true)); /* no backoff */
    assert_int_equal(w.attempt, attempt);
    /* A response of the cut connection never reaches the new one. */
    ke_wire_up(&w);
    got g2 = {0};
    submit(&w, "next", -1, &g2, &c);
    write_all(&w);
    uint8_t buf[64];
    assert_int_equal(ke_wire_feed(&w, buf, response(buf, c, "fresh")), 0);
    assert_int_equal(g2.calls, 1);
    assert_int_equal(g2.body_len, 5);
    assert_memory_equal(g2.body, "fresh", 5);
    assert_int_equal(g.calls, 1);
    ke_wire_destroy(&w);
}

typedef struct frame_log {
    int calls;
    size_t size;
} frame_log;

static void *frame_alloc(void *arg, size_t size)
{
    frame_log *l = arg;
    l->calls++;
    l->size = size;
    return kafka_malloc(size);
}

typedef struct big_got {
    int calls;
    size_t len;
    bool intact;
} big_got;

static void on_big(void *arg, kafka_err err, const char *why, uint8_t *frame, const uint8_t *body, size_t len)
{
    (void)why;
    big_got *g = arg;
    assert_int_equal(err, 0);
    g->calls++;
    g->len = len;
    g->intact = true;
    for (size_t i = 0; i < len; i++)
        if (body[i] != (uint8_t)(i * 7))
            g->intact = false;
    kafka_free(frame);
}

/* A response larger than the stage that takes its size prefix, followed
 * in the same bytes by a small one: the first is read partly through the
 * stage and partly straight into its frame, in any chunking. */
static void test_frame_past_stage(void **state)
{
    (void)state;
    enum { BIG = 3 * KE_WIRE_STAGE + 17 };
    static uint8_t in[8 + BIG + 64];
    for (size_t step = 1; step <= 2 * KE_WIRE_STAGE; step = step * 3 + 1) {
        ke_wire w;
        ke_wire_init(&w, 100, 1000, 0);
        ke_wire_up(&w);
        big_got big = {0};
        got small = {0};
        int32_t c1 = ke_wire_next_corr(&w), c2;
        uint8_t *rq = kafka_malloc(5);
        memcpy(rq, "\0\0\0\1x", 5);
        assert_int_equal(ke_wire_submit(&w, c1, rq, 5, false, -1, on_big, &big), 0);
        submit(&w, "small", -1, &small, &c2);
        write_all(&w);
        uint32_t size = 4 + BIG;
        in[0] = (uint8_t)(size >> 24), in[1] = (uint8_t)(size >> 16), in[2] = (uint8_t)(size >> 8), in[3] = (uint8_t)size;
        in[4] = 0, in[5] = 0, in[6] = (uint8_t)(c1 >> 8), in[7] = (uint8_t)c1;
        for (size_t i = 0; i < BIG; i++)
            in[8 + i] = (uint8_t)(i * 7);
        size_t n = 8 + BIG + response(in + 8 + BIG, c2, "tail");
        for (size_t at = 0; at < n; at += step)
            assert_int_equal(ke_wire_feed(&w, in + at, n - at < step ? n - at : step), 0);
        assert_int_equal(big.calls, 1);
        assert_int_equal(big.len, BIG);
        assert_true(big.intact);
        assert_int_equal(small.calls, 1);
        assert_memory_equal(small.body, "tail", 4);
        ke_wire_destroy(&w);
    }
}

/* The owner's frame allocator gets each response frame's exact size. */
static void test_frame_alloc(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    frame_log l = {0};
    w.frame_alloc = frame_alloc;
    w.frame_arg = &l;
    ke_wire_up(&w);
    got g = {0};
    int32_t c;
    submit(&w, "q", -1, &g, &c);
    write_all(&w);
    uint8_t buf[64];
    assert_int_equal(ke_wire_feed(&w, buf, response(buf, c, "answer")), 0);
    assert_int_equal(l.calls, 1);
    assert_int_equal(l.size, 4 + 6); /* correlation id + body */
    assert_int_equal(g.calls, 1);
    assert_memory_equal(g.body, "answer", 6);
    ke_wire_destroy(&w);
}

static void test_request_deadline(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    /* Not sent yet (down): only the late request fails, alone. */
    got early = {0}, late = {0};
    int32_t c1, c2;
    submit(&w, "late", 500, &late, &c1);
    submit(&w, "early", 900, &early, &c2);
    assert_int_equal(ke_wire_deadline(&w), w.retry_at < 500 ? w.retry_at : 500);
    assert_int_equal(ke_wire_expire(&w, 500), 0);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.err, KAFKA_ERR_TIMEOUT);
    assert_int_equal(early.calls, 0);
    /* On the wire: the deadline fails the connection (answers come in
     * order, so everything behind it would wait). */
    ke_wire_up(&w);
    write_all(&w);
    assert_int_equal(ke_wire_deadline(&w), 900);
    assert_int_equal(ke_wire_expire(&w, 899), 0);
    assert_int_equal(ke_wire_expire(&w, 900), KAFKA_ERR_TIMEOUT);
    ke_wire_fail(&w, KAFKA_ERR_TIMEOUT, 900, NULL);
    assert_int_equal(early.err, KAFKA_ERR_TIMEOUT);
    assert_int_equal(ke_wire_deadline(&w), -1); /* nothing queued */
    ke_wire_destroy(&w);
}

/* Collects every byte the wire writes, in n-byte writes. */
static size_t drain(ke_wire *w, uint8_t *out, size_t cap, size_t n)
{
    size_t got_n = 0;
    struct iovec iov[16];
    int k;
    while ((k = ke_wire_output(w, iov, 16)) > 0) {
        size_t take = 0;
        for (int i = 0; i < k && take < n; i++) {
            size_t l = iov[i].iov_len < n - take ? iov[i].iov_len : n - take;
            assert_true(got_n + l <= cap);
            memcpy(out + got_n, iov[i].iov_base, l);
            got_n += l;
            take += l;
        }
        ke_wire_wrote(w, take);
    }
    return got_n;
}

/* A frame whose body is the caller's memory: it goes out after the
 * wire's own bytes, in order, also across partial writes of any size. */
static void test_external_body(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 9; step += 4) {
        ke_wire w;
        ke_wire_init(&w, 100, 1000, 0);
        ke_wire_up(&w);
        uint8_t *head = kafka_malloc(4);
        memcpy(head, "\0\0\0\x09", 4);
        static char part1[] = "abcd", part2[] = "", part3[] = "efghi";
        struct iovec *ext = kafka_malloc(3 * sizeof *ext);
        ext[0] = (struct iovec){part1, 4};
        ext[1] = (struct iovec){part2, 0};
        ext[2] = (struct iovec){part3, 5};
        got g = {0};
        int32_t c = ke_wire_next_corr(&w);
        assert_int_equal(ke_wire_submit_ext(&w, c, head, 4, ext, 3, false, -1, on_resp, &g), 0);
        uint8_t out[32];
        assert_int_equal(drain(&w, out, sizeof out, step), 13);
        assert_memory_equal(out, "\0\0\0\x09" "abcdefghi", 13);
        assert_false(ke_wire_wants_write(&w));
        uint8_t buf[32];
        size_t n = response(buf, c, "ok");
        assert_int_equal(ke_wire_feed(&w, buf, n), 0);
        assert_int_equal(g.calls, 1);
        assert_int_equal(g.err, 0);
        ke_wire_destroy(&w);
    }
}

/* A request the broker does not answer completes once written, and the
 * requests around it keep their responses in order. */
static void test_no_response(void **state)
{
    (void)state;
    ke_wire w;
    ke_wire_init(&w, 100, 1000, 0);
    ke_wire_up(&w);
    got g[3] = {0};
    int32_t c[3];
    submit(&w, "one", -1, &g[0], &c[0]);
    submit(&w, "two", -1, &g[1], &c[1]);
    ke_wire_last_no_response(&w);
    submit(&w, "three", -1, &g[2], &c[2]);
    assert_int_equal(g[1].calls, 0); /* not written yet */
    write_all(&w);
    assert_int_equal(g[1].calls, 1);
    assert_int_equal(g[1].err, 0);
    assert_int_equal(g[0].calls, 0);
    uint8_t buf[64];
    size_t n = response(buf, c[0], "r1");
    n += response(buf + n, c[2], "r3");
    assert_int_equal(ke_wire_feed(&w, buf, n), 0);
    assert_int_equal(g[0].calls, 1);
    assert_int_equal(g[2].calls, 1);
    assert_int_equal(g[2].err, 0);
    assert_memory_equal(g[2].body, "r3", 2);
    assert_true(g[1].order < g[0].order && g[0].order < g[2].order);
    /* A response to it would be out of order: nothing awaits it. */
    n = response(buf, c[1], "r2");
    assert_int_equal(ke_wire_feed(&w, buf, n), KAFKA_ERR_PROTOCOL);
    ke_wire_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelining),       cmocka_unit_test(test_two_brokers_any_order),
        cmocka_unit_test(test_torn_frame),       cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_wrong_correlation_id), cmocka_unit_test(test_partial_writes),
        cmocka_unit_test(test_reconnect_backoff), cmocka_unit_test(test_request_deadline),
        cmocka_unit_test(test_cut),               cmocka_unit_test(test_frame_alloc),
        cmocka_unit_test(test_frame_past_stage),
        cmocka_unit_test(test_external_body),     cmocka_unit_test(test_no_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
