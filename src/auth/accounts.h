/*
 * accounts.h - the accounts that mail and FTP share.
 *
 * Stored in the data directory's database "<datadir>/outpost.db" (SQLite, WAL
 * mode, busy timeout so that `outpost user add` works while the server runs).
 * A handle is used by one thread at a time; each thread opens its own.
 *
 * Addresses are "local@domain", normalised to lower case; the local part is
 * letters, digits and . _ + - (not starting or ending with '.', no '..'), the
 * domain a valid host name.
 */
#ifndef OP_AUTH_ACCOUNTS_H
#define OP_AUTH_ACCOUNTS_H

#include <stddef.h>

#define ADDRESS_MAX 256

struct accounts;

int  accounts_open(const char *datadir, struct accounts **out);
void accounts_close(struct accounts *a);

/* Normalise and validate an address; 0 or OP_E_SYNTAX. */
int address_normalize(const char *in, char *out, size_t outlen);

int accounts_add(struct accounts *a, const char *address, const char *hash);      /* OP_E_EXISTS */
int accounts_del(struct accounts *a, const char *address);                        /* OP_E_NOTFOUND */
int accounts_set_hash(struct accounts *a, const char *address, const char *hash); /* OP_E_NOTFOUND */
int accounts_exists(struct accounts *a, const char *address);                     /* 1, 0 or negative */
int accounts_list(struct accounts *a, void (*fn)(void *arg, const char *address), void *arg);

/* Check a login: 0 if the password is right, OP_E_AUTH if not or if there is
 * no such account (the dummy hash runs then, so both take the same time). */
int accounts_check_login(struct accounts *a, const char *address, const char *password);

#endif
