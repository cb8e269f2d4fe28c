/*
 * passwd.h - password hashes (libxcrypt's yescrypt, "$y$").
 *
 * Only hashes are ever stored. Verification recomputes the hash and compares
 * in constant time. Hashing costs tens of milliseconds by design: callers on
 * an event loop run it on the worker pool.
 */
#ifndef OP_AUTH_PASSWD_H
#define OP_AUTH_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWD_HASH_MAX 256

/* Hash password with a fresh random salt into out. 0 or negative code. */
int passwd_hash(const char *password, char *out, size_t outlen);

/* true if password matches hash (any crypt(5) scheme libxcrypt knows). */
bool passwd_verify(const char *password, const char *hash);

/* Run a verification against a fixed dummy hash, for unknown users, so the
 * time to answer does not reveal whether an account exists. */
void passwd_verify_dummy(const char *password);

#endif
