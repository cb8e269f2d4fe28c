/*
 * maildir.c - Maildir++ message files: create a mailbox, deliver a message
 * durably, and read the sizes a file name carries. See maildir.h.
 *
 * The delivery protocol follows the Maildir description (cr.yp.to/proto/
 * maildir.html): a file is complete in tmp/ before its name appears in new/,
 * so readers never see a partial message. On top of that, the data and then
 * the new/ directory are fsync'ed, so a reported delivery survives a crash.
 */
#include "mail/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"

#define MAILDIR_MODE 0700
#define MESSAGE_MODE 0600
#define HOST_MAX 64                  /* sanitised host part, bytes */
#define UNIQUE_TRIES 8               /* fresh names tried before giving up */

/* Per-process delivery counter: together with pid, time and a random part
 * it keeps names unique across this process's threads. */
static atomic_uint_fast64_t g_delivery_seq;

/* --- creating a Maildir ------------------------------------------------ */

/* mkdir path; when it was created, fsync its parent so the new entry is
 * durable. 0 or -errno; an existing directory is fine. */
static int mkdir_durable(const char *path)
{
    if (mkdir(path, MAILDIR_MODE) < 0) {
        if (errno != EEXIST)
            return -errno;
        struct stat st;
        if (stat(path, &st) < 0)
            return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    char parent[4096];
    path_dirname(path, parent, sizeof parent);
    return fsync_dir(parent);
}

int maildir_create(const char *root)
{
    char path[4096];
    if (!root[0])
        return -EINVAL;
    if (!str_copy(path, sizeof path, root))
        return -ENAMETOOLONG;
    /* Every missing ancestor, then root itself. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        int r = mkdir_durable(path);
        *p = '/';
        if (r < 0)
            return r;
    }
    int r = mkdir_durable(path);
    if (r < 0)
        return r;
    static const char *const subdirs[] = {"tmp", "new", "cur"};
    for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
        char sub[4096];
        if ((r = path_join(sub, sizeof sub, root, subdirs[i])) < 0)
            return r;
        if ((r = mkdir_durable(sub)) < 0)
            return r;
    }
    return 0;
}

/* --- sizes ------------------------------------------------------------- */

uint64_t mail_crlf_size(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t n = len;
    /* Count LFs not preceded by CR: each grows by one octet on the wire. */
    const unsigned char *end = p + len, *lf = p;
    while ((lf = memchr(lf, '\n', (size_t)(end - lf))) != NULL) {
        if (lf == p || lf[-1] != '\r')
            n++;
        lf++;
    }
    return n;
}

uint64_t mail_wire_size(const void *data, size_t len)
{
    uint64_t n = mail_crlf_size(data, len);
    if (len > 0 && ((const unsigned char *)data)[len - 1] != '\n')
        n += 2;
    return n;
}

/* Parse the decimal value of field ",<key>=" in the base part of name (the
 * part before the ':' that starts the info). true if found and well formed. */
static bool name_field(const char *name, char key, uint64_t *out)
{
    const char *end = strchr(name, ':');
    if (!end)
        end = name + strlen(name);
    for (const char *p = name; p + 3 <= end; p++) {
        if (p[0] != ',' || p[1] != key || p[2] != '=')
            continue;
        const char *d = p + 3;
        uint64_t v = 0;
        size_t digits = 0;
        while (d < end && *d >= '0' && *d <= '9') {
            unsigned dig = (unsigned)(*d - '0');
            if (v > (UINT64_MAX - dig) / 10)
                return false;
            v = v * 10 + dig;
            d++;
            digits++;
        }
        if (digits > 0 && (d == end || *d == ',')) {
            *out = v;
            return true;
        }
    }
    return false;
}

int maildir_name_sizes(const char *name, uint64_t *size, uint64_t *crlf_size)
{
    uint64_t s, w;
    if (!name_field(name, 'S', &s) || !name_field(name, 'W', &w))
        return -ENOENT;
    *size = s;
    *crlf_size = w;
    return 0;
}

/* --- delivery ---------------------------------------------------------- */

/* The host part of a unique name. The Maildir description asks for '/' and
 * ':' to be written as \057 and \072; we escape every byte outside
 * [A-Za-z0-9.-_] the same way so the name is printable ASCII and ',' (which
 * starts the S=/W= fields) cannot appear. */
static void host_part(char *out, size_t outlen)
{
    char host[256];
    if (gethostname(host, sizeof host) < 0 || !host[0])
        str_copy(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_';
        size_t need = plain ? 1 : 4;
        if (o + need >= outlen)
            break;
        if (plain)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\%03o", *p);
    }
    out[o] = '\0';
}

/* "<sec>.M<usec>P<pid>Q<seq>R<rand>.<host>" */
static int unique_name(char *out, size_t outlen, const char *host)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seq = atomic_fetch_add(&g_delivery_seq, 1) + 1;
    uint64_t rnd;
    int r = random_bytes(&rnd, sizeof rnd);
    if (r < 0)
        return r;
    int n = snprintf(out, outlen, "%lld.M%06ldP%ldQ%" PRIu64 "R%016" PRIx64 ".%s",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)getpid(), seq, rnd, host);
    return (n < 0 || (size_t)n >= outlen) ? -ENAMETOOLONG : 0;
}

/* writev all pieces, retrying on EINTR and short writes; 0 or -errno. */
static int writev_all(int fd, const struct iovec *iov, int iovcnt)
{
    struct iovec v[64];
    while (iovcnt > 0) {
        int n = iovcnt < (int)ARRAY_LEN(v) ? iovcnt : (int)ARRAY_LEN(v);
        memcpy(v, iov, (size_t)n * sizeof v[0]);
        int i = 0;
        while (i < n) {
            ssize_t w = writev(fd, v + i, n - i);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            /* Skip what was written, possibly part of one piece. */
            size_t left = (size_t)w;
            while (i < n && left >= v[i].iov_len) {
                left -= v[i].iov_len;
                i++;
            }
            if (i < n) {
                v[i].iov_base = (char *)v[i].iov_base + left;
                v[i].iov_len -= left;
            }
        }
        iov += n;
        iovcnt -= n;
    }
    return 0;
}

uint64_t mail_wire_size_iov(const struct iovec *iov, int iovcnt)
{
    /* Like mail_wire_size(), with "LF preceded by CR" looked up across the
     * boundary between pieces. */
    uint64_t n = 0;
    int prev = -1, last = -1;
    for (int k = 0; k < iovcnt; k++) {
        const unsigned char *p = iov[k].iov_base;
        size_t len = iov[k].iov_len;
        if (len == 0)
            continue;
        n += mail_crlf_size(p, len);
        /* mail_crlf_size() counted a LF at p[0] as bare; undo when the
         * previous piece ended with CR. */
        if (p[0] == '\n' && prev == '\r')
            n--;
        prev = last = p[len - 1];
    }
    if (last >= 0 && last != '\n')
        n += 2;
    return n;
}

/* An unnamed file in root/tmp (O_TMPFILE): nothing to unlink afterwards
 * and no name to create, which on ext4 takes about a quarter off the cost
 * of a durable delivery. "" in t->path marks it. -EOPNOTSUPP (or -EISDIR
 * from kernels that predate O_TMPFILE) when the file system cannot. */
static int open_unnamed(const char *root, struct maildir_tmp *t)
{
    /* Linking it needs /proc (see publish()); without it, a named file. */
    static atomic_int have_proc = -1;
    if (atomic_load(&have_proc) < 0)
        atomic_store(&have_proc, access("/proc/self/fd", X_OK) == 0);
    if (!atomic_load(&have_proc))
        return -EOPNOTSUPP;
    char dir[4200];
    if (snprintf(dir, sizeof dir, "%s/tmp", root) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    /* Without O_EXCL: such a file may be given a name by linkat(). */
    int fd = open(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, MESSAGE_MODE);
    if (fd < 0)
        return -errno;
    t->path[0] = '\0';
    return fd;
}

/* A named file root/tmp/<unique>, for file systems without O_TMPFILE. */
static int open_named(const char *root, struct maildir_tmp *t)
{
    char unique[256];
    int fd = -1, r = -EEXIST;
    for (int i = 0; i < UNIQUE_TRIES && fd < 0; i++) {
        if ((r = unique_name(unique, sizeof unique, t->host)) < 0)
            return r;
        if (snprintf(t->path, sizeof t->path, "%s/tmp/%s", root, unique) >= (int)sizeof t->path)
            return -ENAMETOOLONG;
        fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, MESSAGE_MODE);
        r = fd < 0 ? -errno : 0;
        if (r < 0 && r != -EEXIST)
            break;
    }
    if (fd < 0)
        t->path[0] = '\0';
    return fd < 0 ? r : fd;
}

int maildir_tmp_begin(const char *root, const struct iovec *iov, int iovcnt,
                      struct maildir_tmp *t)
{
    t->fd = -1;
    t->path[0] = '\0';
    host_part(t->host, sizeof t->host);
    int fd = open_unnamed(root, t);
    if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL)
        fd = open_named(root, t);
    if (fd < 0)
        return fd;
    t->size = 0;
    for (int k = 0; k < iovcnt; k++)
        t->size += iov[k].iov_len;
    t->wire = mail_wire_size_iov(iov, iovcnt);
    int r = writev_all(fd, iov, iovcnt);
    if (r < 0) {
        close(fd);
        if (t->path[0])
            unlink(t->path);
        t->path[0] = '\0';
        return r;
    }
    /* Writeback under way now, so that a caller's other files fsync'ed
     * before maildir_tmp_end() share the journal commit with this one. A
     * hint only: maildir_tmp_end()'s fsync is the guarantee. */
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    t->fd = fd;
    return 0;
}

int maildir_tmp_end(struct maildir_tmp *t)
{
    int r = fsync(t->fd) < 0 ? -errno : 0;
    if (!t->path[0]) {
        /* Unnamed: the descriptor is the only way to link it, so it stays
         * open until maildir_tmp_discard(). */
        if (r < 0) {
            close(t->fd);
            t->fd = -1;
        }
        return r;
    }
    /* Some file systems (NFS) report ENOSPC/EDQUOT only at close. */
    if (close(t->fd) < 0 && r == 0)
        r = -errno;
    t->fd = -1;
    if (r < 0) {
        unlink(t->path);
        t->path[0] = '\0';
    }
    return r;
}

int maildir_tmp_write(const char *root, const struct iovec *iov, int iovcnt,
                      struct maildir_tmp *t)
{
    int r = maildir_tmp_begin(root, iov, iovcnt, t);
    return r < 0 ? r : maildir_tmp_end(t);
}

/* Give the file t a name in new/. link() refuses to replace an existing
 * name, so a (very unlikely) clash is detected rather than losing another
 * message. An unnamed file is linked through its /proc/self/fd entry
 * (linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH). A named one on
 * a file system without hard links falls back to a rename that also refuses
 * to replace (then the tmp name is gone: only one mailbox can have it, which
 * the caller learns from -ENOENT on the next link). */
static int publish(const struct maildir_tmp *t, const char *final)
{
    if (!t->path[0]) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->fd);
        return linkat(AT_FDCWD, proc, AT_FDCWD, final, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
    }
    if (link(t->path, final) == 0)
        return 0;
    int e = errno;
    if (e != EPERM && e != EOPNOTSUPP && e != ENOSYS && e != EMLINK)
        return -e;
    if (renameat2(AT_FDCWD, t->path, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    return -errno;
}

int maildir_tmp_link(const char *root, const struct maildir_tmp *t, char *final, size_t finallen)
{
    char unique[256], base[300];
    int r = -EEXIST;
    for (int i = 0; i < UNIQUE_TRIES && r == -EEXIST; i++) {
        /* Name taken in new/: pick another unique part. */
        if ((r = unique_name(unique, sizeof unique, t->host)) < 0)
            return r;
        int n = snprintf(base, sizeof base, "%s,S=%" PRIu64 ",W=%" PRIu64, unique, t->size, t->wire);
        if (n < 0 || (size_t)n >= sizeof base)
            return -ENAMETOOLONG;
        if (snprintf(final, finallen, "%s/new/%s", root, base) >= (int)finallen)
            return -ENAMETOOLONG;
        r = publish(t, final);
    }
    return r;
}

void maildir_tmp_discard(struct maildir_tmp *t)
{
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    /* tmp/ is not fsync'ed: a leftover name there after a crash is
     * harmless (readers ignore tmp/; maildir_clean_tmp() removes it). */
    if (t->path[0] && unlink(t->path) < 0 && errno != ENOENT)
        log_warn("maildir: cannot remove %s: %s", t->path, strerror(errno));
    t->path[0] = '\0';
}

int maildir_deliver_iov(const char *root, const struct iovec *iov, int iovcnt,
                        char *name, size_t namelen)
{
    struct maildir_tmp t;
    char final[4096];
    int r = maildir_tmp_write(root, iov, iovcnt, &t);
    if (r < 0)
        return r;
    r = maildir_tmp_link(root, &t, final, sizeof final);
    maildir_tmp_discard(&t);
    if (r < 0)
        return r;
    const char *base = strrchr(final, '/') + 1;
    if (strlen(base) >= namelen) {
        unlink(final);
        return -ENAMETOOLONG;
    }
    char newdir[4096];
    if ((r = path_join(newdir, sizeof newdir, root, "new")) == 0)
        r = fsync_dir(newdir);
    if (r < 0) {
        /* Not known to be durable: take it back so the sender retries
         * instead of the message appearing twice later. */
        unlink(final);
        return r;
    }
    str_copy(name, namelen, base);
    return 0;
}

int maildir_deliver(const char *root, const void *data, size_t len, char *name, size_t namelen)
{
    struct iovec v = {(void *)data, len};
    return maildir_deliver_iov(root, &v, 1, name, namelen);
}

int maildir_clean_tmp(const char *root, long long now, unsigned max_age_s)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/tmp", root) >= (int)sizeof path)
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if ((long long)st.st_mtime + max_age_s >= now)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
            removed++;
            log_info("maildir %s: removed tmp/%s, left by a delivery that never finished",
                     root, e->d_name);
        }
    }
    closedir(d);
    return removed;
}
