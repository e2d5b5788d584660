/* SASL PLAIN (RFC 4616): one message "authzid NUL authcid NUL passwd" with
 * an empty authzid; the server's (empty) answer completes the exchange. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/alloc.h"
#include "net/sasl.h"

typedef struct plain_state {
    char *user;
    char *pass;
    int stage; /* 0: first message pending, 1: waiting for the server, 2: done */
} plain_state;

static void plain_destroy(void *state)
{
    plain_state *st = state;
    if (!st)
        return;
    if (st->pass) {
        OPENSSL_cleanse(st->pass, strlen(st->pass));
        kafka_free(st->pass);
    }
    kafka_free(st->user);
    kafka_free(st);
}

static kafka_err plain_create(const kafka_sasl_config *cfg, void **state_out, char *errbuf, size_t errlen)
{
    *state_out = NULL;
    if (!cfg || !cfg->username || !cfg->password || !cfg->username[0]) {
        snprintf(errbuf, errlen, "SASL PLAIN needs a username and a password");
        return KAFKA_ERR_INVALID_ARG;
    }
    plain_state *st = kafka_calloc(1, sizeof *st);
    if (!st)
        return KAFKA_ERR_NOMEM;
    st->user = kafka_strdup(cfg->username);
    st->pass = kafka_strdup(cfg->password);
    if (!st->user || !st->pass) {
        plain_destroy(st);
        return KAFKA_ERR_NOMEM;
    }
    *state_out = st;
    return 0;
}

static kafka_err plain_step(void *state, const uint8_t *server_msg, size_t len, kafka_wbuf *out, bool *done,
                            char *errbuf, size_t errlen)
{
    plain_state *st = state;
    *done = false;
    if (st->stage == 0) {
        kafka_put_u8(out, 0);
        kafka_put_raw(out, st->user, strlen(st->user));
        kafka_put_u8(out, 0);
        kafka_put_raw(out, st->pass, strlen(st->pass));
        st->stage = 1;
        return out->oom ? KAFKA_ERR_NOMEM : 0;
    }
    if (st->stage == 1) {
        /* A successful PLAIN exchange ends with an empty server message;
         * failures arrive as a SaslAuthenticate error code instead. */
        (void)server_msg;
        if (len != 0) {
            snprintf(errbuf, errlen, "SASL PLAIN: unexpected %zu-byte server message after authentication", len);
            return KAFKA_ERR_SASL;
        }
        st->stage = 2;
        *done = true;
        return 0;
    }
    snprintf(errbuf, errlen, "SASL PLAIN: exchange already complete");
    return KAFKA_ERR_SASL;
}

const kafka_sasl_mech kafka_sasl_plain = {
    .name = "PLAIN",
    .id = KAFKA_SASL_PLAIN,
    .create = plain_create,
    .step = plain_step,
    .destroy = plain_destroy,
};
