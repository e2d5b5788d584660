/*
 * kafka_writer, errors a user can see: a writer whose brokers refuse TLS
 * or authentication, or cannot be reached, says so with the text
 * (kafka_writer_last_error), and a synchronous write without a timeout
 * returns the failure instead of waiting forever (TLS and SASL failures
 * are fatal: not retried). The TLS and SASL brokers are an in-process
 * kafka_mock with a TLS listener (a certificate the writer does not
 * trust) or SASL users (a wrong password).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "certs.h"
#include "kafka/mock.h"
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

/* A writer to mock's brokers with dialer d (no retry beyond 2 sends). */
static kafka_writer *mock_writer(kafka_mock *mock, const char *topic, const kafka_dialer_config *d)
{
    kafka_writer *w = NULL;
    char eb[256] = "";
    kafka_writer_config cfg = {.brokers = kafka_mock_bootstrap(mock), .topic = topic, .dialer = d,
                               .max_attempts = 2, .backoff_min_ms = 10, .backoff_max_ms = 50};
    assert_int_equal(kafka_writer_new(&w, &cfg, eb, sizeof eb), 0);
    return w;
}

/* A broker whose certificate is signed by a CA the writer does not trust:
 * verification fails, the write returns TLS at once, the text says why. */
static void test_untrusted_certificate(void **state)
{
    (void)state;
    kt_pki pki;
    if (kt_pki_make(&pki) != 0)
        fail_msg("cannot make the test certificates");
    kafka_mock *mock = NULL;
    kafka_mock_config mc = {.brokers = 1, .tls_cert_file = pki.srv_cert_pem, .tls_key_file = pki.srv_key_pem};
    assert_int_equal(kafka_mock_new(&mock, &mc), 0);
    assert_int_equal(kafka_mock_create_topic(mock, "writer-trusted", 1, 1), 0);
    kafka_dialer_config d = {.tls = {.enable = true, .ca_file = pki.untrusted_ca_pem}};
    kafka_writer *w = mock_writer(mock, "writer-untrusted", &d);
    char text[512];
    kafka_err e = write_one(w, text, sizeof text);
    print_message("untrusted certificate: %s: %s\n", kafka_err_name(e), text);
    assert_int_equal(e, KAFKA_ERR_TLS);
    assert_non_null(strstr(text, "TLS"));
    kafka_writer_close(w, 1000);
    /* The same broker with the right CA: the writer works. */
    d.tls.ca_file = pki.ca_pem;
    w = mock_writer(mock, "writer-trusted", &d);
    assert_int_equal(write_one(w, text, sizeof text), 0);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    kafka_mock_close(mock);
    kt_pki_remove(&pki);
}

/* A broker that requires SASL and refuses the password: the write returns
 * the fatal error at once, the text says so. */
static void test_wrong_password(void **state)
{
    (void)state;
    kafka_mock *mock = NULL;
    kafka_mock_config mc = {.brokers = 1, .require_sasl = true};
    assert_int_equal(kafka_mock_new(&mock, &mc), 0);
    assert_int_equal(kafka_mock_add_user(mock, "alice", "right"), 0);
    assert_int_equal(kafka_mock_create_topic(mock, "writer-password", 1, 1), 0);
    kafka_dialer_config d = {.sasl = {.mechanism = KAFKA_SASL_SCRAM_SHA_256, .username = "alice", .password = "wrong"}};
    kafka_writer *w = mock_writer(mock, "writer-password", &d);
    char text[512];
    kafka_err e = write_one(w, text, sizeof text);
    print_message("wrong password: %s: %s\n", kafka_err_name(e), text);
    assert_true(kafka_err_is_fatal(e));
    assert_true(text[0] != 0);
    kafka_writer_close(w, 1000);
    /* The right password works. */
    d.sasl.password = "right";
    w = mock_writer(mock, "writer-password", &d);
    assert_int_equal(write_one(w, text, sizeof text), 0);
    assert_int_equal(kafka_writer_close(w, 5000), 0);
    kafka_mock_close(mock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_failure),
        cmocka_unit_test(test_sasl_failure),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_wrong_password),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
