/*
 * Test PKI made at test time with OpenSSL's C API (no files in the tree,
 * nothing that expires in the repository): a trusted CA, a second CA the
 * client does not trust, and a server certificate issued by the trusted CA
 * for CN "localhost" with subjectAltName DNS:localhost, DNS:broker.test,
 * IP:127.0.0.1. Keys are P-256. Files go to a fresh mkdtemp directory
 * under /tmp.
 *
 * Usage:
 *     kt_pki pki;
 *     if (kt_pki_make(&pki)) fail();
 *     ... pki.ca_pem, pki.srv_cert_pem, pki.srv_key_pem, pki.untrusted_ca_pem
 *     kt_pki_remove(&pki);
 */
#ifndef KT_CERTS_H
#define KT_CERTS_H

typedef struct kt_pki {
    char dir[64];
    char ca_pem[128];           /* trusted CA certificate */
    char untrusted_ca_pem[128]; /* a CA that did not sign the server cert */
    char srv_cert_pem[128];     /* server certificate (signed by ca_pem) */
    char srv_key_pem[128];      /* its private key, unencrypted */
} kt_pki;

/* Creates the directory and the four files. 0 on success; -1 (after
 * printing why on stderr and removing what it made) on failure. */
int kt_pki_make(kt_pki *p);

/* Deletes the files and the directory. */
void kt_pki_remove(kt_pki *p);

#endif
