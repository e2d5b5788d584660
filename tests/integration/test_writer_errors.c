/*
 * kafka_writer, errors a user can see: a writer whose brokers refuse TLS
 * or authentication, or cannot be reached, says so with the text
 * (kafka_writer_last_error), and a synchronous write without a timeout
 * returns the failure instead of waiting forever (TLS and SASL failures
 * are fatal: not retried).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/writer.h"
#include "test_cluster.h"
#include "writer_util.h"

/* One synchronous write with no time limit; returns its message's error
 * and copies the writer's last error into text. */
static kafka_err write_one(kafka_writer *w, char *text, size_t len)
{
    kafka_message m = {.value = "v", .value_len = 1};
    kafka_err e = 0;
    kafka_err ret = kafka_writer_write_messages(w, &m, 1, &e, -1);
    assert_int_equal(ret, e);
    kafka_writer_last_error(w, text, len);
    return e;
}

/* TLS to a broker that speaks plain TCP: the handshake fails; the write
 * returns TLS (not retried until a timeout) and the text says TLS. */
static void test_tls_failure(void **state)
{
    kt_cluster *kt = *state;
    kafka_dialer_config d = {.tls = {.enable = true}};
    kafka_writer *w = kt_writer_new(kt, "writer-tls", (kafka_writer_config){.dialer = &d});
    assert_non_null(w);
    char text[512];
    kafka_err e = write_one(w, text, sizeof text);
    print_message("TLS failure: %s: %s\n", kafka_err_name(e), text);
    assert_int_equal(e, KAFKA_ERR_TLS);
    assert_non_null(strstr(text, "TLS"));
    kafka_writer_close(w, 1000);
}

/* SASL to a broker without SASL (the mock): refused, fatal, with text. */
static void test_sasl_failure(void **state)
{
    kt_cluster *kt = *state;
    KT_REQUIRE_MOCK(kt);
    kafka_dialer_config d = {.sasl = {.mechanism = KAFKA_SASL_PLAIN, .username = "u", .password = "p"}};
    kafka_writer *w = kt_writer_new(kt, "writer-sasl", (kafka_writer_config){.dialer = &d});
    assert_non_null(w);
    char text[512];
    kafka_err e = write_one(w, text, sizeof text);
    print_message("SASL failure: %s: %s\n", kafka_err_name(e), text);
    assert_true(kafka_err_is_fatal(e));
    assert_true(text[0] != 0);
    kafka_writer_close(w, 1000);
}

/* Nothing listens at the address: the write fails after its attempts,
 * and the text names the address. */
static void test_unreachable(void **state)
{
    (void)state;
    kafka_writer *w = NULL;
    char eb[256] = "";
    kafka_writer_config cfg = {
        .brokers = "127.0.0.1:1", .topic = "writer-unreachable", .max_attempts = 2, .backoff_min_ms = 10,
        .backoff_max_ms = 50, .dial_timeout_ms = 2000};
    assert_int_equal(kafka_writer_new(&w, &cfg, eb, sizeof eb), 0);
    char text[512];
    kafka_err e = write_one(w, text, sizeof text);
    print_message("unreachable: %s: %s\n", kafka_err_name(e), text);
    assert_true(e != 0);
    assert_non_null(strstr(text, "127.0.0.1:1"));
    kafka_writer_close(w, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_failure),
        cmocka_unit_test(test_sasl_failure),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
