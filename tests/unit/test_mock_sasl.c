/* kafka_mock's SASL server (src/mock/mock_sasl.c), without sockets:
 * credentials set the AlterUserScramCredentials way (salt, iterations and
 * a salted password computed here with OpenSSL's PBKDF2, as an admin
 * client does) authenticate a SCRAM client, a wrong password does not,
 * deletions and bad credentials are refused with Kafka's codes. (kcat
 * checks the same server over the network: interop/test_mock_sasl.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mock/mock_sasl.h"
#include "net/sasl.h"

/* Runs a full SCRAM exchange of `digest` for user/password; true when the
 * server accepted it and the client verified the server's signature. */
static bool scram_login(const kmock_sasl_users *us, int mech, const char *digest, const char *user,
                        const char *password)
{
    kmock_sasl_conn s = {.mech = mech};
    void *client;
    kafka_wbuf to_server, to_client;
    bool done = false, ok = false;
    char err[128];
    kafka_wbuf_init(&to_server);
    kafka_wbuf_init(&to_client);
    assert_int_equal(kafka_sasl_scram_create_md(digest, user, password, &client, err, sizeof err), 0);
    assert_int_equal(kafka_sasl_scram_step(client, NULL, 0, &to_server, &done, err, sizeof err), 0);
    for (int round = 0; round < 2; round++) {
        to_client.len = 0;
        if (!kmock_sasl_token(&s, us, to_server.data, to_server.len, &to_client))
            goto out;
        to_server.len = 0;
        if (kafka_sasl_scram_step(client, to_client.data, to_client.len, &to_server, &done, err, sizeof err) != 0)
            goto out;
    }
    ok = done && s.authenticated;
out:
    kafka_sasl_scram_destroy(client);
    kafka_wbuf_free(&to_server);
    kafka_wbuf_free(&to_client);
    kmock_sasl_conn_free(&s);
    return ok;
}

static void test_upserted_credentials(void **state)
{
    (void)state;
    kmock_sasl_users us = {0};
    uint8_t salt[20], salted[64];
    memset(salt, 0x5a, sizeof salt);
    assert_int_equal(PKCS5_PBKDF2_HMAC("pw-512", 6, salt, sizeof salt, 8192, EVP_sha512(), 64, salted), 1);
    assert_int_equal(kmock_sasl_scram_upsert(&us, kafka_str_c("dave"), 2, 8192, (kafka_bytes){salt, sizeof salt},
                                             (kafka_bytes){salted, 64}),
                     0);
    assert_true(scram_login(&us, 3, "SHA512", "dave", "pw-512"));
    assert_false(scram_login(&us, 3, "SHA512", "dave", "wrong"));
    assert_false(scram_login(&us, 2, "SHA256", "dave", "pw-512")); /* no SHA-256 credential */
    /* bad credentials: iterations out of Kafka's bounds, wrong length, mechanism */
    assert_int_equal(kmock_sasl_scram_upsert(&us, kafka_str_c("dave"), 2, 100, (kafka_bytes){salt, sizeof salt},
                                             (kafka_bytes){salted, 64}),
                     93);
    assert_int_equal(kmock_sasl_scram_upsert(&us, kafka_str_c("dave"), 1, 8192, (kafka_bytes){salt, sizeof salt},
                                             (kafka_bytes){salted, 64}),
                     93); /* SHA-256 takes 32 bytes */
    assert_int_equal(kmock_sasl_scram_upsert(&us, kafka_str_c("dave"), 3, 8192, (kafka_bytes){salt, sizeof salt},
                                             (kafka_bytes){salted, 64}),
                     33);
    assert_int_equal(kmock_sasl_scram_delete(&us, kafka_str_c("dave"), 2), 0);
    assert_false(scram_login(&us, 3, "SHA512", "dave", "pw-512"));
    assert_int_equal(kmock_sasl_scram_delete(&us, kafka_str_c("dave"), 2), 91); /* RESOURCE_NOT_FOUND */
    /* a user with a password has both credentials and PLAIN */
    assert_int_equal(kmock_sasl_user_set(&us, "erin", "pw"), 0);
    assert_true(scram_login(&us, 2, "SHA256", "erin", "pw"));
    assert_true(scram_login(&us, 3, "SHA512", "erin", "pw"));
    kmock_sasl_conn p = {.mech = 1};
    kafka_wbuf reply;
    kafka_wbuf_init(&reply);
    assert_true(kmock_sasl_token(&p, &us, (const uint8_t *)"\0erin\0pw", 8, &reply));
    kmock_sasl_conn_free(&p);
    kmock_sasl_conn q = {.mech = 1};
    assert_false(kmock_sasl_token(&q, &us, (const uint8_t *)"\0dave\0pw-512", 12, &reply)); /* no PLAIN password */
    kmock_sasl_conn_free(&q);
    kafka_wbuf_free(&reply);
    kmock_sasl_users_free(&us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_upserted_credentials)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
