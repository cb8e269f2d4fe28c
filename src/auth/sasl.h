/*
 * sasl.h - SASL mechanism decoding shared by POP3, SMTP and IMAP.
 *
 * PLAIN (RFC 4616): base64 of "authzid NUL authcid NUL passwd".
 */
#ifndef OP_AUTH_SASL_H
#define OP_AUTH_SASL_H

#include <stddef.h>

#define SASL_FIELD_MAX 256

/* Decode base64 (RFC 4648, padding required, no whitespace) into out;
 * returns the decoded length or OP_E_SYNTAX. */
int sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);
/* Encode; returns the encoded length (NUL-terminated) or -ENOSPC. */
int sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen);

/* Decode an AUTH PLAIN response. Fields are NUL-terminated; each at most
 * SASL_FIELD_MAX-1 bytes; none may contain NUL. 0 or OP_E_SYNTAX. An authzid
 * that is neither empty nor equal to authcid is the caller's to refuse. */
int sasl_plain_decode(const char *b64, size_t len, char authzid[SASL_FIELD_MAX],
                      char authcid[SASL_FIELD_MAX], char passwd[SASL_FIELD_MAX]);

#endif
