/*
 * qstore.c - paths, reading, atomic rewriting and leases of queue entries.
 * See qstore.h and the layout in queue.c.
 */
#include "mail/qstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"

#define QSTORE_ENV_MAX (64u << 20)   /* far more than QENTRY_RCPTS_MAX lines */

int qstore_dir(char *out, size_t n, const char *datadir)
{
    int k = snprintf(out, n, "%s/" QSTORE_DIR, datadir);
    return (k < 0 || (size_t)k >= n) ? -ENAMETOOLONG : 0;
}

int qstore_path(char *out, size_t n, const char *datadir, const char *id, const char *ext)
{
    int k = snprintf(out, n, "%s/" QSTORE_DIR "/%s%s", datadir, id, ext);
    return (k < 0 || (size_t)k >= n) ? -ENAMETOOLONG : 0;
}

bool qstore_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 8 || n >= QUEUE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
            return false;
    return true;
}

int qstore_read(const char *datadir, const char *id, struct qentry *e)
{
    char path[4096];
    int r = qstore_path(path, sizeof path, datadir, id, ".env");
    if (r < 0)
        return r;
    struct buf b = BUF_INIT;
    r = read_file(path, &b, QSTORE_ENV_MAX);
    if (r == -ENOENT)
        r = OP_E_NOTFOUND;
    if (r == 0)
        r = qentry_parse(buf_ptr(&b), buf_len(&b), e);
    buf_free(&b);
    return r;
}

int qstore_write(const char *datadir, const char *id, const struct qentry *e)
{
    char path[4096];
    int r = qstore_path(path, sizeof path, datadir, id, ".env");
    if (r < 0)
        return r;
    struct buf b = BUF_INIT;
    r = qentry_format(e, &b);
    if (r == 0)
        r = write_file_atomic(path, buf_ptr(&b), buf_len(&b), 0600);
    buf_free(&b);
    return r;
}

int qstore_lock(const char *datadir, const char *id)
{
    char path[4096];
    int r = qstore_path(path, sizeof path, datadir, id, ".msg");
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? OP_E_NOTFOUND : -errno;
    /* flock() belongs to the open file description: a second open in this
     * process conflicts just as another process does. */
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        if (err == EINTR)
            continue;
        close(fd);
        return err == EWOULDBLOCK ? OP_E_LOCKED : -err;
    }
    /* Removed between open and flock by the previous holder: gone. */
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
        close(fd);
        return OP_E_NOTFOUND;
    }
    return fd;
}

int qstore_remove(const char *datadir, const char *id)
{
    char env[4096], msg[4096], dir[4096];
    int r;
    if ((r = qstore_path(env, sizeof env, datadir, id, ".env")) < 0 ||
        (r = qstore_path(msg, sizeof msg, datadir, id, ".msg")) < 0 ||
        (r = qstore_dir(dir, sizeof dir, datadir)) < 0)
        return r;
    if (unlink(env) < 0)
        return errno == ENOENT ? OP_E_NOTFOUND : -errno;
    if (unlink(msg) < 0 && errno != ENOENT)
        log_warn("queue %s: cannot remove %s: %s", id, msg, strerror(errno));
    /* Durable removal: otherwise a crash could bring back an entry whose
     * recipients were all served, and they would get it twice. */
    return fsync_dir(dir);
}

int qstore_poke(const char *datadir)
{
    char path[4096];
    int r = qstore_path(path, sizeof path, datadir, QSTORE_MARKER, "");
    if (r < 0)
        return r;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    /* One more byte: the size changes even when two pokes fall within one
     * tick of the file system's clock (the mtime alone could miss one). */
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size >= 4096 && ftruncate(fd, 0) < 0)
        r = -errno;
    if (r == 0 && write(fd, "+", 1) != 1)
        r = -errno;
    close(fd);
    return r;
}
