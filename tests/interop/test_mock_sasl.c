/*
 * SASL on kafka_mock (require_sasl): PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
 * and OAUTHBEARER (unsecured JWTs) checked by two clients, kcat
 * (librdkafka's SASL) and libkafka's kafka_conn; a wrong password, an
 * expired token and a client that skips authentication are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "kafka/mock.h"
#include "kcat.h"

static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
static const kafka_sasl_mechanism_id mech_ids[] = {KAFKA_SASL_PLAIN, KAFKA_SASL_SCRAM_SHA_256,
                                                   KAFKA_SASL_SCRAM_SHA_512};

static int setup(void **state)
{
    kafka_mock *m;
    if (kafka_mock_new(&m, &(kafka_mock_config){.brokers = 1, .require_sasl = true}) != 0 ||
        kafka_mock_add_user(m, "alice", "s3cret,=pw") != 0 || kafka_mock_create_topic(m, "sasl", 1, 1) != 0)
        return -1;
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    kafka_mock_close(*state);
    return 0;
}

static int kcat_sasl(kafka_mock *m, const char *mech, const char *password, const char *mode, const char *in,
                     kt_kcat_result *r)
{
    char mech_opt[64], pass_opt[64];
    snprintf(mech_opt, sizeof mech_opt, "sasl.mechanisms=%s", mech);
    snprintf(pass_opt, sizeof pass_opt, "sasl.password=%s", password);
    const char *args[] = {mode, "-b", kafka_mock_bootstrap(m), "-X", "security.protocol=SASL_PLAINTEXT", "-X",
                          mech_opt, "-X", "sasl.username=alice", "-X", pass_opt, "-t", "sasl", "-p", "0",
                          strcmp(mode, "-C") == 0 ? "-e" : "-c", strcmp(mode, "-C") == 0 ? "-q" : "100", NULL};
    return kt_kcat(args, in, in ? strlen(in) : 0, 60000, r);
}

static void test_kcat_every_mechanism(void **state)
{
    kafka_mock *m = *state;
    kt_kcat_result r;
    if (!kt_kcat_path()) {
        print_message("skipped: kcat not found\n");
        skip();
    }
    for (int i = 0; i < 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "via-%s\n", mechs[i]);
        if (kcat_sasl(m, mechs[i], "s3cret,=pw", "-P", line, &r) != 0)
            fail_msg("kcat produce with %s: exit %d: %s", mechs[i], r.status, r.err);
        kt_kcat_result_free(&r);
    }
    if (kcat_sasl(m, "SCRAM-SHA-512", "s3cret,=pw", "-C", NULL, &r) != 0)
        fail_msg("kcat consume: exit %d: %s", r.status, r.err);
    assert_string_equal(r.out, "via-PLAIN\nvia-SCRAM-SHA-256\nvia-SCRAM-SHA-512\n");
    kt_kcat_result_free(&r);
    /* a wrong password gets nothing */
    const char *args[] = {"-L", "-b", kafka_mock_bootstrap(m), "-X", "security.protocol=SASL_PLAINTEXT", "-X",
                          "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X", "sasl.password=nope",
                          "-m", "5", NULL};
    assert_int_not_equal(kt_kcat(args, NULL, 0, 60000, &r), 0);
    kt_kcat_result_free(&r);
}

static void test_libkafka_every_mechanism(void **state)
{
    kafka_mock *m = *state;
    kafka_conn *c;
    kafka_partition *ps;
    size_t n;
    const char *topic = "sasl";
    for (int i = 0; i < 3; i++) {
        kafka_dialer_config cfg = {.sasl = {.mechanism = mech_ids[i], .username = "alice", .password = "s3cret,=pw"}};
        assert_int_equal(kafka_dial(&c, kafka_mock_bootstrap(m), &cfg, 10000), 0);
        assert_int_equal(kafka_conn_read_partitions(c, &topic, 1, &ps, &n), 0);
        assert_int_equal(n, 1);
        kafka_free_partitions(ps);
        kafka_conn_close(c);
        cfg.sasl.password = "wrong";
        kafka_err e = kafka_dial(&c, kafka_mock_bootstrap(m), &cfg, 10000);
        assert_true(e == KAFKA_ERR_SASL_AUTHENTICATION_FAILED || e == KAFKA_ERR_SASL);
    }
    /* without SASL: ApiVersions is answered, anything else closes */
    assert_int_equal(kafka_dial(&c, kafka_mock_bootstrap(m), NULL, 10000), 0);
    assert_int_not_equal(kafka_conn_read_partitions(c, &topic, 1, &ps, &n), 0);
    kafka_conn_close(c);
}

/* An unsecured JWT (RFC 7519 with alg "none"), as Kafka's
 * OAuthBearerUnsecuredJws takes them: base64url header and claims, no
 * signature. exp_s is the expiry in Unix seconds. */
static void unsecured_jwt(char *out, size_t cap, const char *sub, long long exp_s)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char claims[128];
    const char *parts[2] = {"{\"alg\":\"none\"}", claims};
    size_t o = 0;
    snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"exp\":%lld}", sub, exp_s);
    for (int p = 0; p < 2; p++) {
        const unsigned char *in = (const unsigned char *)parts[p];
        size_t n = strlen(parts[p]);
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
            out[o++] = b64url[v >> 18 & 63];
            out[o++] = b64url[v >> 12 & 63];
            if (i + 1 < n)
                out[o++] = b64url[v >> 6 & 63];
            if (i + 2 < n)
                out[o++] = b64url[v & 63];
        }
        out[o++] = '.';
        assert_true(o < cap);
    }
    out[o] = '\0';
}

static int token_cb(void *privdata, char *token_buf, size_t buf_len, char *errbuf, size_t errlen)
{
    (void)errbuf, (void)errlen;
    unsecured_jwt(token_buf, buf_len, "carol", *(long long *)privdata);
    return 0;
}

static void test_oauthbearer(void **state)
{
    kafka_mock *m = *state;
    kafka_conn *c;
    long long exp = 4102444800LL; /* 2100-01-01 */
    kafka_dialer_config cfg = {.sasl = {.mechanism = KAFKA_SASL_OAUTHBEARER, .oauth_token_cb = token_cb,
                                        .oauth_privdata = &exp}};
    assert_int_equal(kafka_dial(&c, kafka_mock_bootstrap(m), &cfg, 10000), 0);
    kafka_conn_close(c);
    exp = 946684800LL; /* 2000-01-01: expired */
    kafka_err e = kafka_dial(&c, kafka_mock_bootstrap(m), &cfg, 10000);
    assert_true(e == KAFKA_ERR_SASL_AUTHENTICATION_FAILED || e == KAFKA_ERR_SASL);
    if (!kt_kcat_path())
        return;
    kt_kcat_result r;
    const char *args[] = {"-L", "-b", kafka_mock_bootstrap(m), "-X", "security.protocol=SASL_PLAINTEXT", "-X",
                          "sasl.mechanisms=OAUTHBEARER", "-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-X",
                          "sasl.oauthbearer.config=principal=carol", "-m", "10", NULL};
    if (kt_kcat(args, NULL, 0, 60000, &r) != 0)
        fail_msg("kcat with an unsecured OAUTHBEARER token: exit %d: %s", r.status, r.err);
    kt_kcat_result_free(&r);
}

/* enforce_acls: alice may write and read "allowed" only; kcat (as alice)
 * gets TOPIC_AUTHORIZATION_FAILED elsewhere, libkafka's Metadata too. */
static void test_acl_enforcement(void **state)
{
    (void)state;
    kafka_mock *m;
    kt_kcat_result r;
    assert_int_equal(kafka_mock_new(&m, &(kafka_mock_config){.brokers = 1, .require_sasl = true,
                                                             .enforce_acls = true}),
                     0);
    assert_int_equal(kafka_mock_add_user(m, "alice", "pw"), 0);
    assert_int_equal(kafka_mock_create_topic(m, "allowed", 1, 1), 0);
    assert_int_equal(kafka_mock_create_topic(m, "forbidden", 1, 1), 0);
    assert_int_equal(kafka_mock_add_acl(m, 2, "allowed", 3, "User:alice", "*", 4 /* WRITE */, 3 /* ALLOW */), 0);
    assert_int_equal(kafka_mock_add_acl(m, 2, "allowed", 3, "User:alice", "*", 3 /* READ */, 3), 0);
    assert_int_equal(kafka_mock_add_acl(m, 2, "x", 1 /* ANY: not a pattern */, "User:alice", "*", 3, 3),
                     KAFKA_ERR_INVALID_REQUEST);

    kafka_dialer_config cfg = {.sasl = {.mechanism = KAFKA_SASL_SCRAM_SHA_256, .username = "alice", .password = "pw"}};
    kafka_conn *c;
    kafka_partition *ps;
    size_t n;
    const char *allowed = "allowed", *forbidden = "forbidden";
    assert_int_equal(kafka_dial(&c, kafka_mock_bootstrap(m), &cfg, 10000), 0);
    assert_int_equal(kafka_conn_read_partitions(c, &allowed, 1, &ps, &n), 0);
    kafka_free_partitions(ps);
    assert_int_equal(kafka_conn_read_partitions(c, &forbidden, 1, &ps, &n), KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED);
    kafka_conn_close(c);

    if (!kt_kcat_path()) {
        kafka_mock_close(m);
        return;
    }
    for (int i = 0; i < 2; i++) {
        const char *topic = i == 0 ? "allowed" : "forbidden";
        const char *args[] = {"-P", "-b", kafka_mock_bootstrap(m), "-X", "security.protocol=SASL_PLAINTEXT", "-X",
                              "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X", "sasl.password=pw",
                              "-X", "message.timeout.ms=5000", "-t", topic, "-p", "0", NULL};
        kt_kcat(args, "m\n", 2, 60000, &r);
        if (i == 0)
            assert_int_equal(r.status, 0);
        else
            assert_non_null(strstr(r.err, "uthoriz")); /* "Topic authorization failed" */
        kt_kcat_result_free(&r);
    }
    int64_t start, end;
    assert_int_equal(kafka_mock_partition_offsets(m, "allowed", 0, &start, &end), 0);
    assert_int_equal(end, 1);
    assert_int_equal(kafka_mock_partition_offsets(m, "forbidden", 0, &start, &end), 0);
    assert_int_equal(end, 0);
    kafka_mock_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_every_mechanism),
        cmocka_unit_test(test_libkafka_every_mechanism),
        cmocka_unit_test(test_oauthbearer),
        cmocka_unit_test(test_acl_enforcement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
