/*
 * path.c - the FTP jail (see path.h).
 */
#include "ftp/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fsutil.h"

static bool g_force_walk, g_force_uncached;

void ftp_jail_force_walk(bool on)
{
    g_force_walk = on;
}

void ftp_jail_force_uncached(bool on)
{
    g_force_uncached = on;
}

int ftp_path_join(const char *cwd, const char *arg, size_t arglen, char *out, size_t outlen)
{
    if (outlen < 2)
        return -ENAMETOOLONG;
    size_t n = 0;
    out[n++] = '/';
    /* Two sources in turn: the cwd (unless arg is absolute), then arg. */
    const char *src[2] = {cwd, arg};
    size_t srclen[2] = {cwd ? strlen(cwd) : 0, arglen};
    int first = (arglen > 0 && arg[0] == '/') ? 1 : 0;
    for (int k = first; k < 2; k++) {
        const char *p = src[k], *end = src[k] + srclen[k];
        while (p < end) {
            while (p < end && *p == '/')
                p++;
            const char *q = p;
            while (q < end && *q != '/')
                q++;
            size_t len = (size_t)(q - p);
            if (len == 0 || (len == 1 && p[0] == '.')) {
                /* nothing */
            } else if (len == 2 && p[0] == '.' && p[1] == '.') {
                /* Up one level, never above the home (RFC 959 leaves the
                 * meaning of a path to the server; this one is a chroot). */
                while (n > 1 && out[n - 1] != '/')
                    n--;
                if (n > 1)
                    n--;
            } else {
                if (n > 1) {
                    if (n + 1 >= outlen)
                        return -ENAMETOOLONG;
                    out[n++] = '/';
                }
                if (n + len >= outlen)
                    return -ENAMETOOLONG;
                memcpy(out + n, p, len);
                n += len;
            }
            p = q;
        }
    }
    out[n] = '\0';
    return 0;
}

const char *ftp_path_rel(const char *vpath)
{
    return vpath[1] ? vpath + 1 : ".";
}

int ftp_home_path(const char *datadir, const char *user, char *out, size_t outlen)
{
    int n;
    if (!user) {
        n = snprintf(out, outlen, "%s/ftp/public", datadir);
    } else {
        const char *at = strrchr(user, '@');
        if (!at || at == user || !at[1])
            return -EINVAL;
        size_t llen = (size_t)(at - user);
        const char *dom = at + 1;
        /* The parts become directory names: no '/', no leading '.'. */
        if (memchr(user, '/', llen) || strchr(dom, '/') || user[0] == '.' || dom[0] == '.')
            return -EINVAL;
        n = snprintf(out, outlen, "%s/ftp/%s/%.*s", datadir, dom, (int)llen, user);
    }
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int ftp_jail_root(const char *home, bool create)
{
    if (create) {
        int r = mkdir_p(home, 0750);
        if (r < 0)
            return r;
    }
    int fd = open(home, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* The fallback: one component at a time, never following a symlink. */
static int walk_open(int root, const char *rel, int flags, mode_t mode)
{
    int dfd = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if (strcmp(rel, ".") == 0) {
        int fd = openat(dfd, ".", flags, mode);
        int err = errno;
        close(dfd);
        return fd < 0 ? -err : fd;
    }
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        char comp[256];
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof comp || (len == 2 && p[0] == '.' && p[1] == '.')) {
            close(dfd);
            return len >= sizeof comp ? -ENAMETOOLONG : -EXDEV;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        int nfd = slash ? openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : openat(dfd, comp, flags, mode);
        int err = errno;
        close(dfd);
        if (nfd < 0)
            return -err;
        if (!slash)
            return nfd;
        dfd = nfd;
        p = slash + 1;
    }
}

int ftp_jail_open(int root, const char *vpath, int flags, mode_t mode)
{
    if (vpath[0] != '/')
        return -EINVAL;
    const char *rel = ftp_path_rel(vpath);
    flags |= O_NOFOLLOW | O_CLOEXEC;
    if (!g_force_walk) {
        struct open_how how = {
            .flags = (uint64_t)flags,
            .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        int fd;
        do
            fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof how);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0)
            return fd;
        if (errno != ENOSYS)
            return -errno;
    }
    return walk_open(root, rel, flags, mode);
}

int ftp_jail_open_cached(int root, const char *vpath, int flags)
{
    if (vpath[0] != '/')
        return -EINVAL;
    /* O_TMPFILE includes the O_DIRECTORY bit: compare all its bits. */
    if (g_force_walk || g_force_uncached || (flags & (O_CREAT | O_TRUNC)) ||
        (flags & O_TMPFILE) == O_TMPFILE)
        return -EAGAIN;
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_CACHED,
    };
    int fd;
    do
        fd = (int)syscall(SYS_openat2, root, ftp_path_rel(vpath), &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0)
        return fd;
    /* ENOSYS: no openat2; EINVAL: a kernel before RESOLVE_CACHED (5.12).
     * Both mean "ask a thread that may wait", never a different answer. */
    if (errno == ENOSYS || errno == EINVAL)
        return -EAGAIN;
    return -errno;
}

int ftp_jail_stat_cached(int root, const char *vpath, struct stat *st)
{
    if (vpath[0] == '/' && !vpath[1])
        return fstat(root, st) < 0 ? -errno : 0;
    int fd = ftp_jail_open_cached(root, vpath, O_PATH);
    if (fd < 0)
        return fd;
    int r = fstat(fd, st) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int ftp_jail_parent(int root, const char *vpath, const char **name)
{
    if (vpath[0] != '/')
        return -EINVAL;
    if (!vpath[1])
        return -EPERM;
    const char *last = strrchr(vpath, '/');
    char parent[FTP_VPATH_MAX];
    size_t plen = (size_t)(last - vpath);
    if (plen >= sizeof parent)
        return -ENAMETOOLONG;
    if (plen == 0) {
        parent[0] = '/';
        parent[1] = '\0';
    } else {
        memcpy(parent, vpath, plen);
        parent[plen] = '\0';
    }
    *name = last + 1;
    return ftp_jail_open(root, parent, O_RDONLY | O_DIRECTORY, 0);
}

int ftp_jail_stat(int root, const char *vpath, struct stat *st)
{
    if (vpath[0] == '/' && !vpath[1])
        return fstat(root, st) < 0 ? -errno : 0;
    const char *name;
    int dfd = ftp_jail_parent(root, vpath, &name);
    if (dfd < 0)
        return dfd;
    int r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
    int err = errno;
    close(dfd);
    return r < 0 ? -err : 0;
}
