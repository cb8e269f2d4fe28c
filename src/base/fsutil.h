/*
 * fsutil.h - files the durable way.
 *
 * Durability rule of the whole project: data is on disk only once the file is
 * fsync'ed AND the directory holding its name is fsync'ed. write_file_atomic()
 * does both, so a crash leaves either the old file or the complete new one.
 */
#ifndef OP_BASE_FSUTIL_H
#define OP_BASE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

/* mkdir -p with the given mode for created directories; 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

/* fsync the directory at path (or the open directory fd); 0 or -errno. */
int fsync_dir(const char *path);

/* Write len bytes to path via "path.tmp.<random>", fsync, rename, fsync dir. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Write all of n bytes to fd, retrying on EINTR and short writes; 0 or -errno. */
int write_all(int fd, const void *p, size_t n);

/* Append the whole content of path to out; 0 or -errno. max bounds the size. */
int read_file(const char *path, struct buf *out, size_t max);

/* Read all of fd (until EOF) into out, at most max bytes (-EFBIG beyond). */
int read_fd(int fd, struct buf *out, size_t max);

/* Directory part of path into dst ("." when none). */
void path_dirname(const char *path, char *dst, size_t dstlen);

/* Join dir and name into dst; -ENAMETOOLONG if it does not fit. Absolute
 * names are returned unchanged. */
int path_join(char *dst, size_t dstlen, const char *dir, const char *name);

#endif
