#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    if (!path[0])
        return -ENOENT;                  /* as mkdir(""); also keeps tmp + 1 in bounds */
    if (!str_copy(tmp, sizeof tmp, path))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    /* EEXIST also comes for a file of that name: only a directory will do. */
    struct stat st;
    if (stat(tmp, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[4200];
    uint32_t rnd = random_below(UINT32_MAX);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%08x", path, rnd) >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    char dir[4096];
    path_dirname(path, dir, sizeof dir);
    return fsync_dir(dir);
}

int read_fd(int fd, struct buf *out, size_t max)
{
    size_t got = 0;
    for (;;) {
        char *w = buf_reserve(out, 65536);
        if (!w)
            return -ENOMEM;
        ssize_t r = read(fd, w, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return 0;
        got += (size_t)r;
        if (got > max)
            return -EFBIG;
        buf_commit(out, (size_t)r);
    }
}

int read_file(const char *path, struct buf *out, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = read_fd(fd, out, max);
    close(fd);
    return r;
}

void path_dirname(const char *path, char *dst, size_t dstlen)
{
    if (dstlen == 0)
        return;                              /* no room even for the NUL */
    const char *slash = strrchr(path, '/');
    if (!slash) {
        str_copy(dst, dstlen, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;                               /* "/file" -> "/" */
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, path, n);
    dst[n] = '\0';
}

int path_join(char *dst, size_t dstlen, const char *dir, const char *name)
{
    int n;
    if (name[0] == '/' || !dir || !dir[0])
        n = snprintf(dst, dstlen, "%s", name);
    else
        n = snprintf(dst, dstlen, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= dstlen) ? -ENAMETOOLONG : 0;
}
