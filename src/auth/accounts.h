/*
 * accounts.h - the accounts that mail and FTP share.
 *
 * Stored in the data directory's database "<datadir>/outpost.db" (SQLite, WAL
 * mode, busy timeout so that `outpost user add` works while the server runs).
 * A handle is used by one thread at a time; each thread opens its own.
 * The database file is created with mode 0600 (it holds password hashes).
 *
 * Addresses are "local@domain", normalised to lower case; the local part is
 * letters, digits and . _ + - (not starting or ending with '.', no '..'), the
 * domain a valid host name. Every function below that takes an address
 * normalises it first, so "Bob@Example.TEST" and "bob@example.test" are the
 * same account; an address that fails normalisation gives OP_E_SYNTAX.
 *
 * Errors: OP_E_DB when SQLite fails (the reason is logged), -errno for the
 * file system, -EINVAL for a missing argument or an unusable hash.
 */
#ifndef OP_AUTH_ACCOUNTS_H
#define OP_AUTH_ACCOUNTS_H

#include <stddef.h>

#define ADDRESS_MAX 256

struct accounts;

/* Open (creating the directory, file and schema if needed). 0 or negative. */
int  accounts_open(const char *datadir, struct accounts **out);
void accounts_close(struct accounts *a);

/* Normalise and validate an address; 0 or OP_E_SYNTAX (-ENOSPC if a valid
 * address does not fit outlen; ADDRESS_MAX always fits). in and out may be
 * the same buffer. At most 254 octets in all (RFC 5321 section 4.5.3.1.3),
 * 64 in the local part, 63 per domain label; the domain needs no dot
 * ("localhost" is accepted). */
int address_normalize(const char *in, char *out, size_t outlen);

int accounts_add(struct accounts *a, const char *address, const char *hash);      /* OP_E_EXISTS */
int accounts_del(struct accounts *a, const char *address);                        /* OP_E_NOTFOUND */
int accounts_set_hash(struct accounts *a, const char *address, const char *hash); /* OP_E_NOTFOUND */
int accounts_exists(struct accounts *a, const char *address);                     /* 1, 0 or negative */
/* Call fn for every account, in address order; returns how many, or a
 * negative code. fn may look accounts up through the same handle but must
 * not add, delete or list through it. */
int accounts_list(struct accounts *a, void (*fn)(void *arg, const char *address), void *arg);

/* Check a login: 0 if the password is right, OP_E_AUTH if not or if there is
 * no such account (the dummy hash runs then, so both take the same time); an
 * invalid address is OP_E_AUTH too. Negative other than OP_E_AUTH only when
 * the database fails (the caller answers with a temporary error then).
 * Slow by design (one password hash): not for an event-loop thread. */
int accounts_check_login(struct accounts *a, const char *address, const char *password);

#endif
