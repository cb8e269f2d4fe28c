/*
 * sasl.h - SASL mechanism decoding shared by POP3, SMTP and IMAP.
 *
 * PLAIN (RFC 4616): base64 of "authzid NUL authcid NUL passwd".
 *
 * Pure functions over (pointer, length): they never read past len, never
 * write past the given sizes, and keep no state. Base64 is decoded without
 * branches or table lookups that depend on the data (it carries passwords),
 * and decoded bytes that held a password are wiped before returning.
 */
#ifndef OP_AUTH_SASL_H
#define OP_AUTH_SASL_H

#include <stddef.h>

#define SASL_FIELD_MAX 256

/* Decode base64 (RFC 4648 section 4, padding required, no whitespace, unused
 * bits zero) into out; returns the decoded length or OP_E_SYNTAX (also when
 * the result would not fit outlen). Empty input decodes to length 0. Only
 * canonical encodings are accepted: encoding the result gives back in. */
int sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);
/* Encode; returns the encoded length (NUL-terminated) or -ENOSPC. */
int sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen);

/* Decode an AUTH PLAIN response. Fields are NUL-terminated; each at most
 * SASL_FIELD_MAX-1 bytes; none may contain NUL; each must be UTF-8 (RFC 4616
 * section 2); authcid and passwd must not be empty. 0 or OP_E_SYNTAX (the
 * three fields are empty strings then). An authzid that is neither empty nor
 * equal to authcid is the caller's to refuse. SASLprep of the password is
 * passwd.c's job (it applies to every way of logging in). */
int sasl_plain_decode(const char *b64, size_t len, char authzid[SASL_FIELD_MAX],
                      char authcid[SASL_FIELD_MAX], char passwd[SASL_FIELD_MAX]);

#endif
