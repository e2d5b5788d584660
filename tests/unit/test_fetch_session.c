/* kr_session, the client side of KIP-227 fetch sessions, without a broker:
 * creation, incremental requests (joined, moved and left partitions), a
 * lost session falling back to a full fetch, a broker without sessions, and
 * Fetch versions before v7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reader/fetch_session.h"

static const char *T = "topic"; /* one interned name: compared by address */

typedef struct plan {
    kafka_fetch_want *send;
    size_t n_send;
    kafka_fetch_opts o;
} plan;

static plan do_plan(kr_session *s, bool use, const kafka_fetch_want *w, size_t n, kafka_arena *a)
{
    plan p = {0};
    assert_int_equal(kr_session_plan(s, use, w, n, a, &p.send, &p.n_send, &p.o), 0);
    return p;
}

static bool has(const kafka_fetch_want *v, size_t n, int32_t partition, int64_t offset)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].partition == partition && v[i].offset == offset)
            return true;
    return false;
}

static void test_create_then_incremental(void **state)
{
    (void)state;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kr_session s;
    kr_session_init(&s);
    kafka_fetch_want w[3] = {{T, 0, 10, 1000}, {T, 1, 20, 1000}, {T, 2, 30, 1000}};
    plan p = do_plan(&s, true, w, 3, &a);
    /* Creation: every partition, id 0, epoch 0. */
    assert_int_equal(p.n_send, 3);
    assert_int_equal(p.o.session_id, 0);
    assert_int_equal(p.o.session_epoch, 0);
    kr_session_done(&s, 0, 42);
    assert_int_equal(s.id, 42);

    /* Partition 0 moved on, 1 left (revoked), 3 joined, 2 unchanged. */
    kafka_fetch_want w2[3] = {{T, 0, 15, 1000}, {T, 2, 30, 1000}, {T, 3, 0, 1000}};
    p = do_plan(&s, true, w2, 3, &a);
    assert_int_equal(p.o.session_id, 42);
    assert_int_equal(p.o.session_epoch, 1);
    assert_int_equal(p.n_send, 2);
    assert_true(has(p.send, p.n_send, 0, 15));
    assert_true(has(p.send, p.n_send, 3, 0));
    assert_false(has(p.send, p.n_send, 2, 30)); /* the broker remembers it */
    assert_int_equal(p.o.n_forgotten, 1);
    assert_int_equal(p.o.forgotten[0].partition, 1);
    kr_session_done(&s, 0, 42);

    /* Nothing changed: an empty incremental request, next epoch. */
    p = do_plan(&s, true, w2, 3, &a);
    assert_int_equal(p.n_send, 0);
    assert_int_equal(p.o.n_forgotten, 0);
    assert_int_equal(p.o.session_epoch, 2);
    kr_session_done(&s, 0, 42);
    kr_session_free(&s);
    kafka_arena_free(&a);
}

static void test_session_lost(void **state)
{
    (void)state;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kr_session s;
    kr_session_init(&s);
    kafka_fetch_want w[2] = {{T, 0, 10, 1000}, {T, 1, 20, 1000}};
    do_plan(&s, true, w, 2, &a);
    kr_session_done(&s, 0, 7);
    do_plan(&s, true, w, 2, &a);
    /* The broker evicted the session: back to a full, creating fetch. */
    kr_session_done(&s, KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND, 0);
    plan p = do_plan(&s, true, w, 2, &a);
    assert_int_equal(p.o.session_id, 0);
    assert_int_equal(p.o.session_epoch, 0);
    assert_int_equal(p.n_send, 2);
    kr_session_done(&s, 0, 8);
    do_plan(&s, true, w, 2, &a);
    /* A stale epoch, and a transport failure, reset the same way. */
    kr_session_done(&s, KAFKA_ERR_INVALID_FETCH_SESSION_EPOCH, 0);
    p = do_plan(&s, true, w, 2, &a);
    assert_int_equal(p.o.session_epoch, 0);
    kr_session_done(&s, KAFKA_ERR_TRANSPORT, 0);
    p = do_plan(&s, true, w, 2, &a);
    assert_int_equal(p.o.session_epoch, 0);
    assert_int_equal(p.n_send, 2);
    kr_session_free(&s);
    kafka_arena_free(&a);
}

static void test_no_sessions(void **state)
{
    (void)state;
    kafka_arena a;
    kafka_arena_init(&a, 0);
    kr_session s;
    kr_session_init(&s);
    kafka_fetch_want w[2] = {{T, 0, 10, 1000}, {T, 1, 20, 1000}};
    /* A broker that answers session id 0 keeps none: full, sessionless. */
    do_plan(&s, true, w, 2, &a);
    kr_session_done(&s, 0, 0);
    plan p = do_plan(&s, true, w, 2, &a);
    assert_int_equal(p.o.session_id, 0);
    assert_int_equal(p.o.session_epoch, -1);
    assert_int_equal(p.n_send, 2);
    kr_session_done(&s, 0, 0);
    kr_session_free(&s);
    /* Fetch before v7: no session fields at all. */
    kr_session_init(&s);
    p = do_plan(&s, false, w, 2, &a);
    assert_int_equal(p.o.session_epoch, -1);
    assert_int_equal(p.n_send, 2);
    kr_session_done(&s, 0, 0);
    assert_int_equal(s.id, 0);
    kr_session_free(&s);
    kafka_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_incremental),
        cmocka_unit_test(test_session_lost),
        cmocka_unit_test(test_no_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
