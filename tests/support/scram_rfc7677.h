/* The SCRAM-SHA-256 example exchange of RFC 7677, section 3 (user
 * "user", password "pencil"), for tests that check a client byte for byte
 * against the RFC text. */
#ifndef KT_SCRAM_RFC7677_H
#define KT_SCRAM_RFC7677_H

#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CNONCE
#define RFC_SERVER_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                                                                            \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* RFC_SERVER_FINAL with the signature of a server that does not know the
 * password (a different, well-formed 32-byte value). */
#define BAD_SERVER_FINAL "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#endif
