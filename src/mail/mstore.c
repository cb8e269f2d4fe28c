/*
 * mstore.c - where an account's Maildir lives, the per-mailbox session
 * lock, and local delivery. See mstore.h.
 */
#include "mail/mstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "mail/maildir.h"

#define MSTORE_LOCKFILE "outpost.lock"

/* A path component made from one part of an address. Even though addresses
 * are normalised first, this check alone must keep the result inside mail/:
 * no separator, nothing hidden or "..", only printable ASCII without space
 * or backslash. */
static bool mstore_safe_part(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\')
            return false;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return false;
    }
    return true;
}

int mstore_root(const char *datadir, const char *address, char *out, size_t outlen)
{
    const char *at = strchr(address, '@');
    if (!at || strchr(at + 1, '@'))
        return OP_E_SYNTAX;
    size_t local_len = (size_t)(at - address);
    const char *domain = at + 1;
    if (!mstore_safe_part(address, local_len) || !mstore_safe_part(domain, strlen(domain)))
        return OP_E_SYNTAX;
    int n = snprintf(out, outlen, "%s/mail/%s/%.*s", datadir, domain, (int)local_len, address);
    return (n < 0 || (size_t)n >= outlen) ? -ENAMETOOLONG : 0;
}

int mstore_lock(const char *root)
{
    char path[4096];
    int r = path_join(path, sizeof path, root, MSTORE_LOCKFILE);
    if (r < 0)
        return r;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    /* flock() locks belong to the open file description, so a second open
     * in the same process conflicts just like another process does. */
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(fd);
        return e == EWOULDBLOCK ? OP_E_LOCKED : -e;
    }
    return fd;
}

void mstore_unlock(int fd)
{
    if (fd >= 0)
        close(fd);       /* closing the last descriptor releases the flock */
}

int mstore_deliver(struct accounts *acc, const char *datadir, const char *address,
                   const void *data, size_t len)
{
    char norm[ADDRESS_MAX], root[4096], name[256];
    int r = address_normalize(address, norm, sizeof norm);
    if (r < 0)
        return r;
    r = accounts_exists(acc, norm);
    if (r < 0)
        return r;
    if (r == 0)
        return OP_E_NOTFOUND;
    if ((r = mstore_root(datadir, norm, root, sizeof root)) < 0)
        return r;
    if ((r = maildir_create(root)) < 0) {
        log_err("delivery to %s: cannot create mailbox %s: %s", norm, root, op_strerror(r));
        return r;
    }
    if ((r = maildir_deliver(root, data, len, name, sizeof name)) < 0) {
        log_err("delivery to %s: %s", norm, op_strerror(r));
        return r;
    }
    log_debug("delivered %zu octets to %s as %s", len, norm, name);
    return 0;
}
