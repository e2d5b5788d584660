/* SASL SCRAM (RFC 5802, RFC 7677) client without channel binding, over any
 * OpenSSL digest. Kafka offers SCRAM-SHA-256 and SCRAM-SHA-512.
 *
 *   client-first  = "n,," client-first-bare ; client-first-bare = "n=" user ",r=" cnonce
 *   server-first  = ["m=..." ","] "r=" cnonce snonce ",s=" salt ",i=" iterations *("," ext)
 *   client-final  = "c=biws,r=" nonce ",p=" base64(ClientKey XOR HMAC(StoredKey, AuthMessage))
 *   server-final  = "v=" base64(HMAC(ServerKey, AuthMessage)) | "e=" error
 *
 * Username and password are used as given (no SASLprep), like Kafka's Java
 * client; the username is escaped ("=" -> "=3D", "," -> "=2C"). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/alloc.h"
#include "net/sasl.h"

#define SCRAM_MAX_MSG 4096 /* no legitimate server message comes near this */
#define SCRAM_NONCE_RAW 24 /* random bytes, 32 base64 characters */

typedef struct scram_state {
    const EVP_MD *md;
    size_t hlen;
    char *user; /* escaped saslname */
    char *pass;
    char *cnonce;
    int stage; /* 0: send client-first, 1: expect server-first, 2: expect server-final, 3: done */
    kafka_wbuf first_bare;   /* client-first-bare */
    uint8_t server_sig[EVP_MAX_MD_SIZE];
} scram_state;

/* ---- base64 (RFC 4648, padded, strict) ---------------------------------- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_put(kafka_wbuf *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        kafka_put_u8(out, (uint8_t)b64_alphabet[(v >> 18) & 63]);
        kafka_put_u8(out, (uint8_t)b64_alphabet[(v >> 12) & 63]);
        kafka_put_u8(out, i + 1 < n ? (uint8_t)b64_alphabet[(v >> 6) & 63] : '=');
        kafka_put_u8(out, i + 2 < n ? (uint8_t)b64_alphabet[v & 63] : '=');
    }
}

static int b64_val(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decodes padded base64 into out (room for len*3/4 bytes); returns the
 * decoded length or -1 on any malformation. */
static long b64_decode(const char *s, size_t len, uint8_t *out)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + (size_t)k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_val(c)) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -1; /* non-canonical: bits below the padding must be zero */
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    return (long)o;
}

/* ---- state -------------------------------------------------------------- */

void kafka_sasl_scram_destroy(void *state)
{
    scram_state *st = state;
    if (!st)
        return;
    if (st->pass) {
        OPENSSL_cleanse(st->pass, strlen(st->pass));
        kafka_free(st->pass);
    }
    kafka_free(st->user);
    kafka_free(st->cnonce);
    kafka_wbuf_free(&st->first_bare);
    OPENSSL_cleanse(st->server_sig, sizeof st->server_sig);
    kafka_free(st);
}

/* saslname escaping of RFC 5802 section 5.1. */
static char *scram_escape_user(const char *u)
{
    size_t n = 0;
    for (const char *p = u; *p; p++)
        n += (*p == '=' || *p == ',') ? 3 : 1;
    char *e = kafka_malloc(n + 1);
    if (!e)
        return NULL;
    char *o = e;
    for (const char *p = u; *p; p++) {
        if (*p == '=' || *p == ',') {
            memcpy(o, *p == '=' ? "=3D" : "=2C", 3);
            o += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return e;
}

static char *scram_random_nonce(void)
{
    uint8_t raw[SCRAM_NONCE_RAW];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    kafka_wbuf w;
    kafka_wbuf_init(&w);
    b64_put(&w, raw, sizeof raw);
    kafka_put_u8(&w, 0);
    if (w.oom) {
        kafka_wbuf_free(&w);
        return NULL;
    }
    return (char *)w.data; /* ownership moves to the caller */
}

/* Test-only fixed client nonce (kafka_sasl_scram_test_set_nonce); empty =
 * random nonces, the normal case. */
static char scram_test_nonce[128];

static bool scram_nonce_ok(const char *nonce)
{
    if (!nonce[0])
        return false;
    for (const char *p = nonce; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == ',')
            return false;
    return true;
}

kafka_err kafka_sasl_scram_test_set_nonce(const char *nonce)
{
    if (!nonce) {
        scram_test_nonce[0] = '\0';
        return 0;
    }
    if (strlen(nonce) >= sizeof scram_test_nonce || !scram_nonce_ok(nonce))
        return KAFKA_ERR_INVALID_ARG;
    memcpy(scram_test_nonce, nonce, strlen(nonce) + 1);
    return 0;
}

kafka_err kafka_sasl_scram_create_md(const char *digest, const char *user, const char *password, void **state_out,
                                     char *errbuf, size_t errlen)
{
    *state_out = NULL;
    if (!user || !user[0] || !password) {
        snprintf(errbuf, errlen, "SASL SCRAM needs a username and a password");
        return KAFKA_ERR_INVALID_ARG;
    }
    const EVP_MD *md = digest ? EVP_get_digestbyname(digest) : NULL;
    if (!md) {
        snprintf(errbuf, errlen, "SASL SCRAM: digest %s not available", digest ? digest : "(null)");
        return KAFKA_ERR_INVALID_ARG;
    }
    scram_state *st = kafka_calloc(1, sizeof *st);
    if (!st)
        return KAFKA_ERR_NOMEM;
    st->md = md;
    st->hlen = (size_t)EVP_MD_get_size(md);
    kafka_wbuf_init(&st->first_bare);
    st->user = scram_escape_user(user);
    st->pass = kafka_strdup(password);
    st->cnonce = scram_test_nonce[0] ? kafka_strdup(scram_test_nonce) : scram_random_nonce();
    if (!st->user || !st->pass || !st->cnonce) {
        kafka_sasl_scram_destroy(st);
        snprintf(errbuf, errlen, "SASL SCRAM: out of memory or no randomness for the nonce");
        return KAFKA_ERR_NOMEM;
    }
    *state_out = st;
    return 0;
}

kafka_err kafka_sasl_scram_set_nonce(void *state, const char *nonce)
{
    scram_state *st = state;
    if (!st || !nonce || !nonce[0] || strchr(nonce, ',') || st->stage != 0)
        return KAFKA_ERR_INVALID_ARG;
    char *n = kafka_strdup(nonce);
    if (!n)
        return KAFKA_ERR_NOMEM;
    kafka_free(st->cnonce);
    st->cnonce = n;
    return 0;
}

/* ---- messages ----------------------------------------------------------- */

static kafka_err scram_client_first(scram_state *st, kafka_wbuf *out)
{
    kafka_wbuf *b = &st->first_bare;
    b->len = 0;
    kafka_put_raw(b, "n=", 2);
    kafka_put_raw(b, st->user, strlen(st->user));
    kafka_put_raw(b, ",r=", 3);
    kafka_put_raw(b, st->cnonce, strlen(st->cnonce));
    kafka_put_raw(out, "n,,", 3);
    if (!b->oom)
        kafka_put_raw(out, b->data, b->len);
    return (b->oom || out->oom) ? KAFKA_ERR_NOMEM : 0;
}

typedef struct scram_attr {
    const char *ptr; /* value, not NUL-terminated */
    size_t len;
    bool present;
} scram_attr;

/* Splits "a=v,b=w,..." and keeps the values of r, s, i, m, e, v. Rejects
 * anything that is not attr=value. */
static bool scram_parse(const char *msg, size_t len, scram_attr attrs[26])
{
    memset(attrs, 0, 26 * sizeof attrs[0]);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && msg[j] != ',')
            j++;
        if (j - i < 2 || msg[i + 1] != '=' || !((msg[i] >= 'a' && msg[i] <= 'z') || (msg[i] >= 'A' && msg[i] <= 'Z')))
            return false;
        if (msg[i] >= 'a' && msg[i] <= 'z' && !attrs[msg[i] - 'a'].present) {
            scram_attr *a = &attrs[msg[i] - 'a'];
            a->ptr = msg + i + 2;
            a->len = j - i - 2;
            a->present = true;
        }
        if (j == len)
            break;
        i = j + 1;
        if (i == len)
            return false; /* trailing comma */
    }
    return true;
}

static kafka_err scram_fail(char *errbuf, size_t errlen, const char *why)
{
    snprintf(errbuf, errlen, "SASL SCRAM: %s", why);
    return KAFKA_ERR_SASL;
}

/* Parses i=: digits only, within the sane range. */
static bool scram_iterations(const scram_attr *a, int *out)
{
    if (!a->present || a->len == 0 || a->len > 9)
        return false;
    long v = 0;
    for (size_t k = 0; k < a->len; k++) {
        if (a->ptr[k] < '0' || a->ptr[k] > '9')
            return false;
        v = v * 10 + (a->ptr[k] - '0');
    }
    if (v < KAFKA_SCRAM_MIN_ITERATIONS || v > KAFKA_SCRAM_MAX_ITERATIONS)
        return false;
    *out = (int)v;
    return true;
}

static bool hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *data, size_t dlen, uint8_t *out)
{
    unsigned int olen = 0;
    return HMAC(md, key, (int)klen, data, dlen, out, &olen) != NULL;
}

/* Computes the proof and stores the expected server signature. */
static kafka_err scram_keys(scram_state *st, const uint8_t *salt, size_t salt_len, int iters, const kafka_wbuf *auth,
                            uint8_t *proof)
{
    uint8_t salted[EVP_MAX_MD_SIZE], ckey[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
    uint8_t csig[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
    unsigned int slen = 0;
    kafka_err err = KAFKA_ERR_SASL;
    size_t h = st->hlen;
    if (PKCS5_PBKDF2_HMAC(st->pass, (int)strlen(st->pass), salt, (int)salt_len, iters, st->md, (int)h, salted) != 1)
        goto out;
    if (!hmac(st->md, salted, h, "Client Key", 10, ckey) || EVP_Digest(ckey, h, stored, &slen, st->md, NULL) != 1 ||
        !hmac(st->md, stored, h, auth->data, auth->len, csig) || !hmac(st->md, salted, h, "Server Key", 10, skey) ||
        !hmac(st->md, skey, h, auth->data, auth->len, st->server_sig))
        goto out;
    for (size_t k = 0; k < h; k++)
        proof[k] = ckey[k] ^ csig[k];
    err = 0;
out:
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ckey, sizeof ckey);
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(csig, sizeof csig);
    OPENSSL_cleanse(skey, sizeof skey);
    return err;
}

static kafka_err scram_client_final(scram_state *st, const char *msg, size_t len, kafka_wbuf *out, char *errbuf,
                                    size_t errlen)
{
    scram_attr a[26];
    if (!scram_parse(msg, len, a))
        return scram_fail(errbuf, errlen, "malformed server-first message");
    if (a['m' - 'a'].present)
        return scram_fail(errbuf, errlen, "server requires an unsupported mandatory extension (m=)");
    if (a['e' - 'a'].present) {
        snprintf(errbuf, errlen, "SASL SCRAM: server error: %.*s", (int)a['e' - 'a'].len, a['e' - 'a'].ptr);
        return KAFKA_ERR_SASL;
    }
    const scram_attr *r = &a['r' - 'a'], *s = &a['s' - 'a'];
    size_t cn = strlen(st->cnonce);
    if (!r->present || r->len <= cn || memcmp(r->ptr, st->cnonce, cn) != 0)
        return scram_fail(errbuf, errlen, "server nonce does not extend the client nonce");
    for (size_t k = 0; k < r->len; k++)
        if (r->ptr[k] < 0x21 || r->ptr[k] > 0x7e)
            return scram_fail(errbuf, errlen, "server nonce holds a non-printable character");
    int iters = 0;
    if (!scram_iterations(&a['i' - 'a'], &iters)) {
        snprintf(errbuf, errlen, "SASL SCRAM: missing or unacceptable iteration count (allowed %d..%d)",
                 KAFKA_SCRAM_MIN_ITERATIONS, KAFKA_SCRAM_MAX_ITERATIONS);
        return KAFKA_ERR_SASL;
    }
    uint8_t salt[SCRAM_MAX_MSG];
    long salt_len = s->present ? b64_decode(s->ptr, s->len, salt) : -1;
    if (salt_len <= 0)
        return scram_fail(errbuf, errlen, "missing or malformed salt");

    /* client-final-without-proof, then AuthMessage over all three. */
    kafka_wbuf fin, auth;
    kafka_wbuf_init(&fin);
    kafka_wbuf_init(&auth);
    kafka_put_raw(&fin, "c=biws,r=", 9);
    kafka_put_raw(&fin, r->ptr, r->len);
    kafka_put_raw(&auth, st->first_bare.data, st->first_bare.len);
    kafka_put_u8(&auth, ',');
    kafka_put_raw(&auth, msg, len);
    kafka_put_u8(&auth, ',');
    kafka_put_raw(&auth, fin.data, fin.len);
    kafka_err err = (fin.oom || auth.oom) ? KAFKA_ERR_NOMEM : 0;
    uint8_t proof[EVP_MAX_MD_SIZE];
    if (!err && (err = scram_keys(st, salt, (size_t)salt_len, iters, &auth, proof)) != 0)
        scram_fail(errbuf, errlen, "key derivation failed");
    if (!err) {
        kafka_put_raw(out, fin.data, fin.len);
        kafka_put_raw(out, ",p=", 3);
        b64_put(out, proof, st->hlen);
        err = out->oom ? KAFKA_ERR_NOMEM : 0;
    }
    OPENSSL_cleanse(proof, sizeof proof);
    kafka_wbuf_free(&fin);
    kafka_wbuf_free(&auth);
    return err;
}

static kafka_err scram_verify_final(scram_state *st, const char *msg, size_t len, char *errbuf, size_t errlen)
{
    scram_attr a[26];
    if (!scram_parse(msg, len, a))
        return scram_fail(errbuf, errlen, "malformed server-final message");
    if (a['e' - 'a'].present) {
        snprintf(errbuf, errlen, "SASL SCRAM: server error: %.*s", (int)a['e' - 'a'].len, a['e' - 'a'].ptr);
        return KAFKA_ERR_SASL;
    }
    const scram_attr *v = &a['v' - 'a'];
    uint8_t sig[SCRAM_MAX_MSG];
    long n = v->present ? b64_decode(v->ptr, v->len, sig) : -1;
    if (n < 0)
        return scram_fail(errbuf, errlen, "server-final message has no valid v= signature");
    if ((size_t)n != st->hlen || CRYPTO_memcmp(sig, st->server_sig, st->hlen) != 0)
        return scram_fail(errbuf, errlen, "server signature mismatch: the server does not know the password");
    return 0;
}

kafka_err kafka_sasl_scram_step(void *state, const uint8_t *server_msg, size_t len, kafka_wbuf *out, bool *done,
                                char *errbuf, size_t errlen)
{
    scram_state *st = state;
    *done = false;
    kafka_err err;
    if (st->stage != 0 && (len > SCRAM_MAX_MSG - 1 || (len && !server_msg)))
        return scram_fail(errbuf, errlen, "server message too large");
    if (st->stage != 0 && memchr(server_msg ? server_msg : (const uint8_t *)"", 0, len))
        return scram_fail(errbuf, errlen, "server message contains a NUL byte");
    switch (st->stage) {
    case 0:
        err = scram_client_first(st, out);
        break;
    case 1:
        err = scram_client_final(st, (const char *)server_msg, len, out, errbuf, errlen);
        break;
    case 2:
        err = scram_verify_final(st, (const char *)server_msg, len, errbuf, errlen);
        if (!err)
            *done = true;
        break;
    default:
        return scram_fail(errbuf, errlen, "exchange already complete or failed");
    }
    /* Any failure poisons the state: stage 3 only accepts destroy. */
    st->stage = err ? 3 : st->stage + 1;
    return err;
}

static kafka_err scram256_create(const kafka_sasl_config *cfg, void **state_out, char *errbuf, size_t errlen)
{
    return kafka_sasl_scram_create_md("SHA256", cfg ? cfg->username : NULL, cfg ? cfg->password : NULL, state_out,
                                      errbuf, errlen);
}

static kafka_err scram512_create(const kafka_sasl_config *cfg, void **state_out, char *errbuf, size_t errlen)
{
    return kafka_sasl_scram_create_md("SHA512", cfg ? cfg->username : NULL, cfg ? cfg->password : NULL, state_out,
                                      errbuf, errlen);
}

const kafka_sasl_mech kafka_sasl_scram_sha256 = {
    .name = "SCRAM-SHA-256",
    .id = KAFKA_SASL_SCRAM_SHA_256,
    .create = scram256_create,
    .step = kafka_sasl_scram_step,
    .destroy = kafka_sasl_scram_destroy,
};

const kafka_sasl_mech kafka_sasl_scram_sha512 = {
    .name = "SCRAM-SHA-512",
    .id = KAFKA_SASL_SCRAM_SHA_512,
    .create = scram512_create,
    .step = kafka_sasl_scram_step,
    .destroy = kafka_sasl_scram_destroy,
};

kafka_err kafka_scram_make_credential(kafka_sasl_mechanism_id mech, const char *password, int iterations,
                                      uint8_t salt[KAFKA_SCRAM_SALT_LEN], uint8_t salted[64], size_t *salted_len)
{
    const EVP_MD *md = mech == KAFKA_SASL_SCRAM_SHA_256 ? EVP_sha256()
                       : mech == KAFKA_SASL_SCRAM_SHA_512 ? EVP_sha512()
                                                           : NULL;
    if (!md || !password || iterations < KAFKA_SCRAM_MIN_ITERATIONS || iterations > KAFKA_SCRAM_MAX_ITERATIONS)
        return KAFKA_ERR_INVALID_ARG;
    int h = EVP_MD_size(md);
    if (RAND_bytes(salt, KAFKA_SCRAM_SALT_LEN) != 1 ||
        PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, KAFKA_SCRAM_SALT_LEN, iterations, md, h, salted) != 1)
        return KAFKA_ERR_SASL;
    *salted_len = (size_t)h;
    return 0;
}
