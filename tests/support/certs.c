/* Test PKI made with OpenSSL's C API; see certs.h. */
#include "certs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!e)
        return false;
    bool ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for `key` named cn, signed by issuer (NULL = self-signed),
 * valid from an hour ago for a day. NULL on failure. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, const char *san,
                       long serial)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    bool ok = add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
              add_ext(x, &ctx, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
              add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
              (!issuer || add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) &&
              (!san || add_ext(x, &ctx, NID_subject_alt_name, san)) &&
              X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = PEM_write_X509(f, x) == 1;
    return fclose(f) == 0 && ok;
}

static bool write_key(const char *path, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(f) == 0 && ok;
}

int kt_pki_make(kt_pki *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/kafka-pki-XXXXXX");
    if (!mkdtemp(p->dir)) {
        perror("kt_pki_make: mkdtemp");
        p->dir[0] = '\0';
        return -1;
    }
    snprintf(p->ca_pem, sizeof p->ca_pem, "%s/ca.pem", p->dir);
    snprintf(p->untrusted_ca_pem, sizeof p->untrusted_ca_pem, "%s/untrusted-ca.pem", p->dir);
    snprintf(p->srv_cert_pem, sizeof p->srv_cert_pem, "%s/server.pem", p->dir);
    snprintf(p->srv_key_pem, sizeof p->srv_key_pem, "%s/server.key", p->dir);

    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *other = NULL, *srv = NULL;
    bool ok = ca_key && other_key && srv_key;
    if (ok) {
        ca = make_cert(ca_key, "libkafka test CA", NULL, NULL, true, NULL, 1);
        other = make_cert(other_key, "libkafka untrusted CA", NULL, NULL, true, NULL, 2);
        srv = ca ? make_cert(srv_key, "localhost", ca, ca_key, false,
                             "DNS:localhost,DNS:broker.test,IP:127.0.0.1", 3)
                 : NULL;
        ok = ca && other && srv && write_cert(p->ca_pem, ca) && write_cert(p->untrusted_ca_pem, other) &&
             write_cert(p->srv_cert_pem, srv) && write_key(p->srv_key_pem, srv_key);
    }
    X509_free(ca);
    X509_free(other);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(srv_key);
    if (!ok) {
        fprintf(stderr, "kt_pki_make: could not create the test certificates in %s\n", p->dir);
        kt_pki_remove(p);
        return -1;
    }
    return 0;
}

void kt_pki_remove(kt_pki *p)
{
    if (!p->dir[0])
        return;
    const char *files[] = {p->ca_pem, p->untrusted_ca_pem, p->srv_cert_pem, p->srv_key_pem};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (files[i][0])
            unlink(files[i]);
    rmdir(p->dir);
    p->dir[0] = '\0';
}
