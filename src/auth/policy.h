/*
 * policy.h - when a protocol may accept a password sent in the clear.
 *
 * Shared by every service with plaintext logins (POP3 USER/PASS, AUTH PLAIN
 * and LOGIN in all protocols, FTP PASS): a password crosses the network only
 * inside TLS, except on loopback connections, which never leave the machine
 * (the default); the config can require TLS everywhere or (unsafely) allow
 * cleartext everywhere.
 */
#ifndef OP_AUTH_POLICY_H
#define OP_AUTH_POLICY_H

#include <stdbool.h>

enum plaintext_policy { PLAINTEXT_LOOPBACK, PLAINTEXT_TLS, PLAINTEXT_ALWAYS };

static inline bool plaintext_allowed(enum plaintext_policy p, bool tls, bool loopback)
{
    return tls || p == PLAINTEXT_ALWAYS || (p == PLAINTEXT_LOOPBACK && loopback);
}

#endif
