/*
 * passwd.h - password hashes (libxcrypt's yescrypt, "$y$").
 *
 * Passwords are SASLprep'ed (RFC 4013) before hashing and before checking
 * (see passwd.c for the exact rule). Only hashes are ever stored. Verification recomputes the hash and compares
 * in constant time. Hashing costs tens of milliseconds by design: callers on
 * an event loop run it on the worker pool. Every function is thread-safe.
 *
 * A stored hash that starts with '*' or '!' (the crypt(5) and shadow(5)
 * conventions for "no password" and "locked"), or that libxcrypt cannot
 * parse, never verifies; checking it costs as much as a real verification.
 */
#ifndef OP_AUTH_PASSWD_H
#define OP_AUTH_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWD_HASH_MAX 256

/* Hash password with a fresh random salt into out (at most PASSWD_HASH_MAX
 * bytes are ever needed). 0, -EINVAL (no password), -ENOSPC (out too small),
 * -ENOMEM, or OP_E_AUTH if libxcrypt refuses. */
int passwd_hash(const char *password, char *out, size_t outlen);

/* true if password matches hash (any crypt(5) scheme libxcrypt knows). */
bool passwd_verify(const char *password, const char *hash);

/* Run a verification against a fixed dummy hash, for unknown users, so the
 * time to answer does not reveal whether an account exists. */
void passwd_verify_dummy(const char *password);

/* Compute the dummy hash now rather than on the first unknown user (whose
 * answer would otherwise take twice as long). Called by accounts_open();
 * calling it again does nothing. */
void passwd_dummy_init(void);

#endif
