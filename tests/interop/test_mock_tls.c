/*
 * kafka_mock with TLS listeners and SASL (Kafka's SASL_SSL): kcat
 * (librdkafka's OpenSSL and SCRAM) and libkafka's kafka_conn connect with
 * SCRAM-SHA-512 over TLS, verifying the mock's certificate against a test
 * CA made at test time (tests/support/certs.h); a client that does not
 * trust that CA is refused. A kafka_writer and a kafka_reader do the same
 * on their I/O engine (TLS and SCRAM as non-blocking state machines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certs.h"
#include "kafka/kafka.h"
#include "kafka/mock.h"
#include "kcat.h"

typedef struct fixture {
    kt_pki pki;
    kafka_mock *m;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || kt_pki_make(&f->pki) != 0)
        return -1;
    if (kafka_mock_new(&f->m, &(kafka_mock_config){.brokers = 2, .require_sasl = true,
                                                   .tls_cert_file = f->pki.srv_cert_pem,
                                                   .tls_key_file = f->pki.srv_key_pem}) != 0 ||
        kafka_mock_add_user(f->m, "bob", "tls-pw") != 0 || kafka_mock_create_topic(f->m, "tls", 1, 1) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kafka_mock_close(f->m);
    kt_pki_remove(&f->pki);
    free(f);
    return 0;
}

static int kcat_tls(fixture *f, const char *mode, const char *ca, const char *in, kt_kcat_result *r)
{
    char ca_opt[200];
    snprintf(ca_opt, sizeof ca_opt, "ssl.ca.location=%s", ca);
    const char *args[] = {mode, "-b", kafka_mock_bootstrap(f->m), "-X", "security.protocol=SASL_SSL", "-X", ca_opt,
                          "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=bob", "-X",
                          "sasl.password=tls-pw", "-t", "tls", "-p", "0", strcmp(mode, "-C") == 0 ? "-e" : "-c",
                          strcmp(mode, "-C") == 0 ? "-q" : "100", NULL};
    return kt_kcat(args, in, in ? strlen(in) : 0, 60000, r);
}

static void test_kcat_sasl_ssl(void **state)
{
    fixture *f = *state;
    kt_kcat_result r;
    if (!kt_kcat_path()) {
        print_message("skipped: kcat not found\n");
        skip();
    }
    if (kcat_tls(f, "-P", f->pki.ca_pem, "one\ntwo\n", &r) != 0)
        fail_msg("kcat produce over SASL_SSL: exit %d: %s", r.status, r.err);
    kt_kcat_result_free(&r);
    if (kcat_tls(f, "-C", f->pki.ca_pem, NULL, &r) != 0)
        fail_msg("kcat consume over SASL_SSL: exit %d: %s", r.status, r.err);
    assert_string_equal(r.out, "one\ntwo\n");
    kt_kcat_result_free(&r);
    /* a client that trusts another CA does not get in */
    char ca_opt[200];
    snprintf(ca_opt, sizeof ca_opt, "ssl.ca.location=%s", f->pki.untrusted_ca_pem);
    const char *args[] = {"-L", "-b", kafka_mock_bootstrap(f->m), "-X", "security.protocol=SASL_SSL", "-X", ca_opt,
                          "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=bob", "-X",
                          "sasl.password=tls-pw", "-m", "5", NULL};
    assert_int_not_equal(kt_kcat(args, NULL, 0, 60000, &r), 0);
    kt_kcat_result_free(&r);
}

static void test_libkafka_sasl_ssl(void **state)
{
    fixture *f = *state;
    kafka_conn *c;
    kafka_partition *ps;
    size_t n;
    const char *topic = "tls";
    char first[64]; /* kafka_dial takes one address */
    snprintf(first, sizeof first, "%.*s", (int)strcspn(kafka_mock_bootstrap(f->m), ","), kafka_mock_bootstrap(f->m));
    kafka_dialer_config cfg = {.tls = {.enable = true, .ca_file = f->pki.ca_pem},
                               .sasl = {.mechanism = KAFKA_SASL_SCRAM_SHA_512, .username = "bob",
                                        .password = "tls-pw"}};
    assert_int_equal(kafka_dial(&c, first, &cfg, 10000), 0);
    assert_int_equal(kafka_conn_read_partitions(c, &topic, 1, &ps, &n), 0);
    assert_int_equal(n, 1);
    kafka_free_partitions(ps);
    kafka_conn_close(c);
    cfg.tls.ca_file = f->pki.untrusted_ca_pem;
    assert_int_equal(kafka_dial(&c, first, &cfg, 10000), KAFKA_ERR_TLS);
}

/* Write and read back over SASL_SSL through the engine: TLS handshake
 * steps and SCRAM rounds driven by readiness, not by blocking calls. */
static void test_engine_sasl_ssl(void **state)
{
    fixture *f = *state;
    kafka_dialer_config cfg = {.tls = {.enable = true, .ca_file = f->pki.ca_pem},
                               .sasl = {.mechanism = KAFKA_SASL_SCRAM_SHA_512, .username = "bob",
                                        .password = "tls-pw"}};
    assert_int_equal(kafka_mock_create_topic(f->m, "tls-engine", 2, 1), 0);
    kafka_writer *w = NULL;
    char err[256] = "";
    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = kafka_mock_bootstrap(f->m),
                                                                 .topic = "tls-engine",
                                                                 .dialer = &cfg},
                                      err, sizeof err),
                     0);
    kafka_message m[20];
    char vals[20][8];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(vals[i], sizeof vals[i], "s%d", i);
        m[i] = (kafka_message){.value = vals[i], .value_len = (size_t)n};
    }
    assert_int_equal(kafka_writer_write_messages(w, m, 20, NULL, 30000), 0);
    assert_int_equal(kafka_writer_close(w, -1), 0);
    kafka_reader *r = NULL;
    assert_int_equal(kafka_reader_new(&r, &(kafka_reader_config){.brokers = kafka_mock_bootstrap(f->m),
                                                                 .topic = "tls-engine",
                                                                 .all_partitions = true,
                                                                 .dialer = &cfg},
                                      err, sizeof err),
                     0);
    bool seen[20] = {false};
    for (int i = 0; i < 20; i++) {
        kafka_message got;
        kafka_err e = kafka_reader_read_message(r, &got, 30000);
        if (e)
            fail_msg("read %d: %s", i, kafka_err_name(e));
        char v[8] = "";
        assert_true(got.value_len < sizeof v);
        memcpy(v, got.value, got.value_len);
        int k = -1;
        assert_int_equal(sscanf(v, "s%d", &k), 1);
        assert_true(k >= 0 && k < 20 && !seen[k]);
        seen[k] = true;
    }
    kafka_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_sasl_ssl),
        cmocka_unit_test(test_libkafka_sasl_ssl),
        cmocka_unit_test(test_engine_sasl_ssl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
