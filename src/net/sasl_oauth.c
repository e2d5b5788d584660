/* SASL OAUTHBEARER (RFC 7628): the client's initial response is
 * "n,,\x01auth=Bearer <token>\x01\x01" (GS2 header without authzid, then
 * key=value pairs separated by ^A). The token comes from the application's
 * callback, asked once per connection. On success the server answers with
 * an empty message; a non-empty one is the server's JSON error status. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/alloc.h"
#include "net/sasl.h"

typedef struct oauth_state {
    kafka_oauth_token_fn cb;
    void *privdata;
    int stage;
} oauth_state;

static void oauth_destroy(void *state)
{
    kafka_free(state);
}

static kafka_err oauth_create(const kafka_sasl_config *cfg, void **state_out, char *errbuf, size_t errlen)
{
    *state_out = NULL;
    if (!cfg || !cfg->oauth_token_cb) {
        snprintf(errbuf, errlen, "SASL OAUTHBEARER needs oauth_token_cb");
        return KAFKA_ERR_INVALID_ARG;
    }
    oauth_state *st = kafka_calloc(1, sizeof *st);
    if (!st)
        return KAFKA_ERR_NOMEM;
    st->cb = cfg->oauth_token_cb;
    st->privdata = cfg->oauth_privdata;
    *state_out = st;
    return 0;
}

/* RFC 6750 b64token characters: the token must not smuggle separators. */
static bool oauth_token_ok(const char *t, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
        if (!ok)
            return false;
    }
    return true;
}

static kafka_err oauth_first(oauth_state *st, kafka_wbuf *out, char *errbuf, size_t errlen)
{
    char *tok = kafka_calloc(1, KAFKA_OAUTH_MAX_TOKEN);
    if (!tok)
        return KAFKA_ERR_NOMEM;
    char cberr[256] = "";
    kafka_err err = 0;
    if (st->cb(st->privdata, tok, KAFKA_OAUTH_MAX_TOKEN, cberr, sizeof cberr) != 0) {
        cberr[sizeof cberr - 1] = '\0';
        snprintf(errbuf, errlen, "SASL OAUTHBEARER: token callback failed: %s", cberr[0] ? cberr : "(no reason)");
        err = KAFKA_ERR_SASL;
    } else {
        size_t n = strnlen(tok, KAFKA_OAUTH_MAX_TOKEN);
        if (n == KAFKA_OAUTH_MAX_TOKEN || !oauth_token_ok(tok, n)) {
            snprintf(errbuf, errlen, "SASL OAUTHBEARER: token from callback is empty, too long or not a b64token");
            err = KAFKA_ERR_SASL;
        } else {
            static const char head[] = "n,,\x01" "auth=Bearer ";
            kafka_put_raw(out, head, sizeof head - 1);
            kafka_put_raw(out, tok, n);
            kafka_put_raw(out, "\x01\x01", 2);
            err = out->oom ? KAFKA_ERR_NOMEM : 0;
        }
    }
    OPENSSL_cleanse(tok, KAFKA_OAUTH_MAX_TOKEN);
    kafka_free(tok);
    return err;
}

static kafka_err oauth_step(void *state, const uint8_t *server_msg, size_t len, kafka_wbuf *out, bool *done,
                            char *errbuf, size_t errlen)
{
    oauth_state *st = state;
    *done = false;
    if (st->stage == 0) {
        kafka_err err = oauth_first(st, out, errbuf, errlen);
        if (!err)
            st->stage = 1;
        return err;
    }
    if (st->stage == 1 && len == 0) {
        st->stage = 2;
        *done = true;
        return 0;
    }
    if (st->stage == 1) {
        int shown = len > 200 ? 200 : (int)len;
        snprintf(errbuf, errlen, "SASL OAUTHBEARER: server error: %.*s", shown, (const char *)server_msg);
        return KAFKA_ERR_SASL;
    }
    snprintf(errbuf, errlen, "SASL OAUTHBEARER: exchange already complete");
    return KAFKA_ERR_SASL;
}

const kafka_sasl_mech kafka_sasl_oauthbearer = {
    .name = "OAUTHBEARER",
    .id = KAFKA_SASL_OAUTHBEARER,
    .create = oauth_create,
    .step = oauth_step,
    .destroy = oauth_destroy,
};
