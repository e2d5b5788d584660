/* SASL PLAIN and SCRAM on the mock's listeners: see mock_sasl.h. */
#include "mock/mock_sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "protocol/gen/sasl_authenticate.h"
#include "protocol/gen/sasl_handshake.h"

#define SCRAM_ITERATIONS 4096

static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"};
#define NMECHANISMS 4

static int64_t kmock_sasl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const EVP_MD *md_of(int mech)
{
    return mech == 3 ? EVP_sha512() : EVP_sha256();
}

static void hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *msg, size_t mlen, uint8_t *out)
{
    unsigned int n = 0;
    HMAC(md, key, (int)klen, msg, mlen, out, &n);
}

/* StoredKey and ServerKey from a salted password (RFC 5802 section 3). */
static bool keys_from_salted(const EVP_MD *md, const uint8_t *salted, kmock_scram_cred *cr)
{
    uint8_t client[64];
    size_t n = (size_t)EVP_MD_size(md);
    unsigned int dn = 0;

    hmac(md, salted, n, "Client Key", 10, client);
    hmac(md, salted, n, "Server Key", 10, cr->server);
    cr->set = EVP_Digest(client, n, cr->stored, &dn, md, NULL) == 1;
    return cr->set;
}

/* A credential from a password: random salt, SCRAM_ITERATIONS rounds. */
static bool scram_cred(const EVP_MD *md, const char *password, kmock_scram_cred *cr)
{
    uint8_t salted[64];

    cr->salt_len = 16;
    cr->iterations = SCRAM_ITERATIONS;
    return RAND_bytes(cr->salt, (int)cr->salt_len) == 1 &&
           PKCS5_PBKDF2_HMAC(password, (int)strlen(password), cr->salt, (int)cr->salt_len, cr->iterations, md,
                             EVP_MD_size(md), salted) &&
           keys_from_salted(md, salted, cr);
}

kafka_err kmock_sasl_user_set(kmock_sasl_users *us, const char *name, const char *password)
{
    kmock_sasl_user u = {0};
    size_t i;

    if (!name || !*name || !password)
        return KAFKA_ERR_INVALID_ARG;
    if (!scram_cred(EVP_sha256(), password, &u.scram[0]) || !scram_cred(EVP_sha512(), password, &u.scram[1]))
        return KAFKA_ERR_NOMEM;
    if (!(u.name = kafka_strdup(name)) || !(u.password = kafka_strdup(password))) {
        kafka_free(u.name);
        return KAFKA_ERR_NOMEM;
    }
    for (i = 0; i < us->n && strcmp(us->u[i].name, name) != 0; i++) {
    }
    if (i == us->n) {
        if (!kafka_array_reserve((void **)&us->u, &us->cap, us->n + 1, sizeof(*us->u), 4)) {
            kafka_free(u.name);
            kafka_free(u.password);
            return KAFKA_ERR_NOMEM;
        }
        us->n++;
    } else {
        kafka_free(us->u[i].name);
        kafka_free(us->u[i].password);
    }
    us->u[i] = u;
    return 0;
}

void kmock_sasl_users_free(kmock_sasl_users *us)
{
    for (size_t i = 0; i < us->n; i++) {
        kafka_free(us->u[i].name);
        if (us->u[i].password)
            OPENSSL_cleanse(us->u[i].password, strlen(us->u[i].password));
        kafka_free(us->u[i].password);
    }
    kafka_free(us->u);
    memset(us, 0, sizeof(*us));
}

void kmock_sasl_conn_free(kmock_sasl_conn *s)
{
    kafka_free(s->user);
    kafka_free(s->auth_message);
    kafka_free(s->nonce);
    memset(s, 0, sizeof(*s));
}

static kmock_sasl_user *find_user(const kmock_sasl_users *us, const char *name, size_t len)
{
    for (size_t i = 0; i < us->n; i++)
        if (strlen(us->u[i].name) == len && memcmp(us->u[i].name, name, len) == 0)
            return &us->u[i];
    return NULL;
}

/* PLAIN (RFC 4616): [authzid] NUL user NUL password. */
static bool plain(kmock_sasl_conn *s, const kmock_sasl_users *us, const uint8_t *msg, size_t len)
{
    const uint8_t *nul1 = memchr(msg, 0, len), *nul2;
    if (!nul1 || !(nul2 = memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - msg))))
        return false;
    const char *user = (const char *)nul1 + 1, *pass = (const char *)nul2 + 1;
    size_t ulen = (size_t)(nul2 - nul1 - 1), plen = len - (size_t)(nul2 + 1 - msg);
    const kmock_sasl_user *u = find_user(us, user, ulen);
    if (!u || !u->password || strlen(u->password) != plen || CRYPTO_memcmp(u->password, pass, plen) != 0)
        return false;
    s->user = kafka_strndup(user, ulen);
    return s->user != NULL;
}

/* base64url (no padding) into out (cap bytes, NUL-terminated); false
 * when it does not decode or does not fit. */
static bool b64url_decode(const char *in, size_t len, char *out, size_t cap)
{
    char std[2048];
    size_t n = 0;
    int got;

    if (len == 0 || len + 4 >= sizeof(std))
        return false;
    for (size_t i = 0; i < len; i++)
        std[n++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4)
        std[n++] = '=';
    if (n / 4 * 3 >= cap || (got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)std, (int)n)) < 0)
        return false;
    got -= (int)(len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0); /* EVP counts the padding */
    out[got] = '\0';
    return strlen(out) == (size_t)got;
}

/* A JSON string or number member of a flat object: a view of its value
 * (without quotes), or NULL. Enough for the claims of a test token. */
static const char *json_member(const char *json, const char *name, size_t *len)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *p = strstr(json, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p == '"') {
        const char *end = strchr(++p, '"');
        *len = end ? (size_t)(end - p) : 0;
        return end ? p : NULL;
    }
    *len = strspn(p, "0123456789.-");
    return *len ? p : NULL;
}

/* OAUTHBEARER (RFC 7628) with unsecured JWTs, as Kafka's default
 * validator accepts them: "n,,\x01auth=Bearer <jwt>\x01\x01", the JWT
 * header saying alg "none", the payload naming its subject ("sub") and,
 * when it has an "exp", not expired. */
static bool oauthbearer(kmock_sasl_conn *s, const char *msg)
{
    const char *auth = strstr(msg, "\001auth=Bearer "), *tok, *dot1, *dot2;
    char header[512], payload[1024];
    size_t len, toklen;

    if (strncmp(msg, "n,", 2) != 0 || !auth)
        return false;
    tok = auth + strlen("\001auth=Bearer ");
    toklen = strcspn(tok, "\x01");
    if (!(dot1 = memchr(tok, '.', toklen)) || !(dot2 = memchr(dot1 + 1, '.', toklen - (size_t)(dot1 + 1 - tok))) ||
        !b64url_decode(tok, (size_t)(dot1 - tok), header, sizeof header) ||
        !b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof payload))
        return false;
    const char *alg = json_member(header, "alg", &len);
    if (!alg || len != 4 || memcmp(alg, "none", 4) != 0)
        return false;
    const char *exp = json_member(payload, "exp", &len);
    if (exp && strtod(exp, NULL) * 1000.0 < (double)kmock_sasl_now_ms())
        return false;
    const char *sub = json_member(payload, "sub", &len);
    if (!sub || len == 0)
        return false;
    s->user = kafka_strndup(sub, len);
    return s->user != NULL;
}

/* The value of attribute `a` ("n", "r", ...) in a SCRAM message, or NULL. */
static const char *attr(const char *msg, char a, size_t *len)
{
    for (const char *p = msg; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (p[0] == a && p[1] == '=') {
            const char *end = strchr(p, ',');
            *len = end ? (size_t)(end - p - 2) : strlen(p + 2);
            return p + 2;
        }
    }
    return NULL;
}

static char *b64(const uint8_t *in, size_t len)
{
    char *out = kafka_malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/* SCRAM client-first: "gs2-header client-first-bare"; answers server-first. */
static bool scram_first(kmock_sasl_conn *s, const kmock_sasl_users *us, const char *msg, kafka_wbuf *reply)
{
    size_t ulen, nlen;
    const char *bare, *user, *cnonce;
    uint8_t rnd[18];
    char *snonce, *salt;
    const kmock_sasl_user *u;
    char name[256];
    size_t o = 0;

    if (strncmp(msg, "n,", 2) != 0 && strncmp(msg, "y,", 2) != 0)
        return false; /* channel binding ("p=") is not offered */
    bare = strchr(msg + 2, ',');
    if (!bare || !(user = attr(bare + 1, 'n', &ulen)) || !(cnonce = attr(bare + 1, 'r', &nlen)) || ulen >= sizeof(name))
        return false;
    for (size_t i = 0; i < ulen; i++) { /* saslname: "=2C" is ',', "=3D" is '=' */
        if (user[i] == '=' && i + 2 < ulen + 1 && strncmp(user + i, "=2C", 3) == 0) {
            name[o++] = ',';
            i += 2;
        } else if (user[i] == '=' && strncmp(user + i, "=3D", 3) == 0) {
            name[o++] = '=';
            i += 2;
        } else {
            name[o++] = user[i];
        }
    }
    if (!(u = find_user(us, name, o)) || !u->scram[s->mech - 2].set || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return false;
    const kmock_scram_cred *cr = &u->scram[s->mech - 2];
    char iters[24];
    snprintf(iters, sizeof iters, ",i=%d", (int)cr->iterations);
    snonce = b64(rnd, sizeof(rnd));
    salt = b64(cr->salt, cr->salt_len);
    s->user = kafka_strndup(name, o);
    if (snonce && salt && s->user) {
        kafka_wbuf n;
        kafka_wbuf_init(&n);
        kafka_put_raw(&n, cnonce, nlen);
        kafka_put_raw(&n, snonce, strlen(snonce));
        kafka_put_u8(&n, 0);
        s->nonce = (char *)n.data;
        kafka_put_raw(reply, "r=", 2);
        kafka_put_raw(reply, s->nonce, strlen(s->nonce));
        kafka_put_raw(reply, ",s=", 3);
        kafka_put_raw(reply, salt, strlen(salt));
        kafka_put_raw(reply, iters, strlen(iters));
        /* AuthMessage so far: client-first-bare "," server-first "," */
        kafka_wbuf am;
        kafka_wbuf_init(&am);
        kafka_put_raw(&am, bare + 1, strlen(bare + 1));
        kafka_put_u8(&am, ',');
        kafka_put_raw(&am, reply->data, reply->len);
        kafka_put_u8(&am, ',');
        kafka_put_u8(&am, 0);
        s->auth_message = (char *)am.data;
    }
    kafka_free(snonce);
    kafka_free(salt);
    return s->nonce && s->auth_message && !reply->oom;
}

/* SCRAM client-final: "c=...,r=nonce,p=proof"; answers "v=signature". */
static bool scram_final(kmock_sasl_conn *s, const kmock_sasl_users *us, const char *msg, kafka_wbuf *reply)
{
    const EVP_MD *md = md_of(s->mech);
    size_t n = (size_t)EVP_MD_size(md), rlen, plen;
    const char *r = attr(msg, 'r', &rlen), *p = attr(msg, 'p', &plen), *proof_at = strstr(msg, ",p=");
    const kmock_sasl_user *u = find_user(us, s->user, strlen(s->user));
    uint8_t proof[96], sig[64], key[64], stored[64], ssig[64];
    unsigned int dn = 0;
    kafka_wbuf am;
    bool ok = false;

    size_t nlen = s->nonce ? strlen(s->nonce) : 0;
    /* Kafka accepts a final nonce that ENDS with the server's (librdkafka
     * sends its client nonce in front of the combined one again) */
    if (!u || !r || !p || !proof_at || rlen < nlen || memcmp(r + rlen - nlen, s->nonce, nlen) != 0 ||
        (strncmp(msg, "c=biws,", 7) != 0 && strncmp(msg, "c=eSws,", 7) != 0) || plen > 128)
        return false;
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    kafka_wbuf_init(&am);
    kafka_put_raw(&am, s->auth_message, strlen(s->auth_message));
    kafka_put_raw(&am, msg, (size_t)(proof_at - msg));
    if (!am.oom && EVP_DecodeBlock(proof, (const unsigned char *)p, (int)plen) >= (int)n) {
        const kmock_scram_cred *cr = &u->scram[s->mech - 2];
        hmac(md, cr->stored, n, am.data, am.len, sig);
        for (size_t i = 0; i < n; i++)
            key[i] = proof[i] ^ sig[i]; /* the client's ClientKey, if the proof is right */
        if (EVP_Digest(key, n, stored, &dn, md, NULL) == 1 &&
            cr->set && CRYPTO_memcmp(stored, cr->stored, n) == 0) {
            char *v;
            hmac(md, cr->server, n, am.data, am.len, ssig);
            if ((v = b64(ssig, n)) != NULL) {
                kafka_put_raw(reply, "v=", 2);
                kafka_put_raw(reply, v, strlen(v));
                kafka_free(v);
                ok = !reply->oom;
            }
        }
    }
    kafka_wbuf_free(&am);
    return ok;
}

bool kmock_sasl_token(kmock_sasl_conn *s, const kmock_sasl_users *us, const uint8_t *token, size_t len,
                      kafka_wbuf *reply)
{
    char msg[4097];
    bool ok;

    if (!s->mech || s->authenticated || len >= sizeof(msg))
        return false;
    memcpy(msg, token, len);
    msg[len] = '\0';
    if (s->mech == 1) {
        ok = plain(s, us, token, len);
        s->authenticated = ok;
    } else if (s->mech == 4) {
        ok = oauthbearer(s, msg);
        s->authenticated = ok;
    } else if (s->step == 0) {
        ok = scram_first(s, us, msg, reply);
        s->step = 1;
    } else {
        ok = scram_final(s, us, msg, reply);
        s->authenticated = ok;
    }
    if (s->authenticated)
        s->raw = false;
    return ok;
}

static int handshake(kmock_sasl_conn *s, int16_t version, const uint8_t *body, size_t len, kafka_wbuf *out)
{
    kafka_sasl_handshake_request req;
    kafka_sasl_handshake_response resp;
    kafka_arena a;
    kafka_rbuf r;
    kafka_str names[NMECHANISMS];
    int rc = 1;

    kafka_arena_init(&a, 1 << 20);
    kafka_rbuf_init(&r, body, len);
    if (kafka_sasl_handshake_request_decode(&r, &a, version, &req) != 0) {
        kafka_arena_free(&a);
        return -1;
    }
    kafka_sasl_handshake_response_init(&resp);
    for (int i = 0; i < NMECHANISMS; i++) {
        names[i] = kafka_str_c(mechanisms[i]);
        if (kafka_str_eq(req.mechanism, names[i]))
            s->mech = i + 1;
    }
    resp.mechanisms = names;
    resp.mechanisms_count = NMECHANISMS;
    if (s->authenticated || s->step) {
        resp.error_code = KAFKA_ERR_ILLEGAL_SASL_STATE;
        rc = 0;
    } else if (!s->mech) {
        resp.error_code = KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM;
        rc = 0;
    } else if (version == 0) {
        s->raw = true; /* v0: the tokens follow as bare size-prefixed frames */
    }
    if (kafka_sasl_handshake_response_encode(out, version, &resp) != 0)
        rc = -1;
    kafka_arena_free(&a);
    return rc;
}

static int authenticate(kmock_sasl_conn *s, const kmock_sasl_users *us, int16_t version, const uint8_t *body,
                        size_t len, kafka_wbuf *out)
{
    kafka_sasl_authenticate_request req;
    kafka_sasl_authenticate_response resp;
    kafka_arena a;
    kafka_rbuf r;
    kafka_wbuf reply;
    bool ok = false;
    int rc;

    kafka_arena_init(&a, 1 << 20);
    kafka_rbuf_init(&r, body, len);
    if (kafka_sasl_authenticate_request_decode(&r, &a, version, &req) != 0 || req.auth_bytes.len < 0) {
        kafka_arena_free(&a);
        return -1;
    }
    kafka_wbuf_init(&reply);
    ok = !s->raw && kmock_sasl_token(s, us, req.auth_bytes.ptr, (size_t)req.auth_bytes.len, &reply);
    kafka_sasl_authenticate_response_init(&resp);
    resp.auth_bytes = (kafka_bytes){reply.data ? reply.data : (const uint8_t *)"", (int32_t)reply.len};
    if (!ok) {
        resp.error_code = KAFKA_ERR_SASL_AUTHENTICATION_FAILED;
        resp.error_message = kafka_str_c("Authentication failed: invalid credentials");
        resp.auth_bytes = (kafka_bytes){(const uint8_t *)"", 0};
    }
    rc = kafka_sasl_authenticate_response_encode(out, version, &resp) != 0 ? -1 : ok ? 1 : 0;
    kafka_wbuf_free(&reply);
    kafka_arena_free(&a);
    return rc;
}

int kmock_sasl_handle(kmock_sasl_conn *s, const kmock_sasl_users *us, int16_t api_key, int16_t version,
                      const uint8_t *body, size_t len, kafka_wbuf *out)
{
    if (api_key == 17)
        return handshake(s, version, body, len, out);
    return authenticate(s, us, version, body, len, out);
}

const kmock_sasl_user *kmock_sasl_user_find(const kmock_sasl_users *us, kafka_str name)
{
    return name.len > 0 ? find_user(us, name.ptr, (size_t)name.len) : NULL;
}

int16_t kmock_sasl_scram_upsert(kmock_sasl_users *us, kafka_str name, int8_t mechanism, int32_t iterations,
                                kafka_bytes salt, kafka_bytes salted)
{
    const EVP_MD *md = mechanism == 2 ? EVP_sha512() : EVP_sha256();
    kmock_scram_cred cr = {0};
    size_t i;

    if (mechanism != 1 && mechanism != 2)
        return KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM;
    if (name.len <= 0 || iterations < KMOCK_SCRAM_MIN_ITERATIONS || iterations > KMOCK_SCRAM_MAX_ITERATIONS ||
        salt.len <= 0 || (size_t)salt.len > sizeof(cr.salt) || salted.len != EVP_MD_size(md))
        return KAFKA_ERR_UNACCEPTABLE_CREDENTIAL;
    cr.iterations = iterations;
    cr.salt_len = (size_t)salt.len;
    memcpy(cr.salt, salt.ptr, cr.salt_len);
    if (!keys_from_salted(md, salted.ptr, &cr))
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    for (i = 0; i < us->n && !(strlen(us->u[i].name) == (size_t)name.len &&
                               memcmp(us->u[i].name, name.ptr, (size_t)name.len) == 0);
         i++) {
    }
    if (i == us->n) {
        char *n = kafka_strndup(name.ptr, (size_t)name.len);
        if (!n || !kafka_array_reserve((void **)&us->u, &us->cap, us->n + 1, sizeof(*us->u), 4)) {
            kafka_free(n);
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
        }
        us->u[us->n++] = (kmock_sasl_user){.name = n};
    }
    us->u[i].scram[mechanism - 1] = cr;
    return 0;
}

int16_t kmock_sasl_scram_delete(kmock_sasl_users *us, kafka_str name, int8_t mechanism)
{
    kmock_sasl_user *u = name.len > 0 ? find_user(us, name.ptr, (size_t)name.len) : NULL;

    if (mechanism != 1 && mechanism != 2)
        return KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM;
    if (!u || !u->scram[mechanism - 1].set)
        return KAFKA_ERR_RESOURCE_NOT_FOUND;
    memset(&u->scram[mechanism - 1], 0, sizeof(u->scram[0]));
    return 0;
}
