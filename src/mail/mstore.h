/*
 * mstore.h - where accounts' mail lives, and the per-mailbox session lock.
 *
 * Layout under the data directory:  mail/<domain>/<local>/  is the Maildir++
 * root of <local>@<domain>. Addresses are normalised (see auth/accounts.h)
 * before they get here; mstore_root() still refuses anything that could
 * step outside mail/ ('/', a leading '.', control characters).
 */
#ifndef OP_MAIL_MSTORE_H
#define OP_MAIL_MSTORE_H

#include <stddef.h>

/* Path of the Maildir root of address into out. 0 or OP_E_SYNTAX / -ENAMETOOLONG. */
int mstore_root(const char *datadir, const char *address, char *out, size_t outlen);

/* Take the exclusive session lock of the mailbox at root (flock on
 * root/outpost.lock, non-blocking; works across threads and processes).
 * Returns the lock's fd (>= 0), OP_E_LOCKED if another session holds it, or
 * -errno. mstore_unlock() releases it. */
int mstore_lock(const char *root);
void mstore_unlock(int fd);

/* Deliver one message to address: creates the Maildir if needed, writes the
 * message durably. 0, OP_E_NOTFOUND (no such account), or -errno. */
struct accounts;
int mstore_deliver(struct accounts *acc, const char *datadir, const char *address,
                   const void *data, size_t len);

#endif
