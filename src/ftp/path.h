/*
 * path.h - the FTP jail: every path a client names is resolved inside the
 * session's home directory, and nothing outside it is ever opened.
 *
 * Two steps:
 *   1. ftp_path_join() (pure, lexical): the current directory and the
 *      client's argument become one virtual absolute path ("/a/b"): "."
 *      and empty parts vanish, ".." goes up one level and stops at "/" (as
 *      a chroot does), "//" is one "/". A leading "/" means the home.
 *   2. ftp_jail_open() and ftp_jail_parent() open that virtual path
 *      relative to the home's directory descriptor with openat2() and
 *      RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: the kernel refuses any
 *      step (a "..", an absolute symlink, a symlink whose target climbs
 *      out, a directory renamed away meanwhile) that would leave the home
 *      (EXDEV). Where openat2() is missing (Linux < 5.6) the path is walked
 *      one component at a time with O_NOFOLLOW, so no symlink is followed
 *      at all. Operations on names (mkdir, unlink, rename, stat) then work
 *      on (parent descriptor, single name) pairs, so the check and the use
 *      are the same object: no race between them.
 *
 * Every function reports -errno (ENOENT, EACCES, EXDEV for an escape,
 * ENAMETOOLONG, ENOTDIR, ...).
 */
#ifndef OP_FTP_PATH_H
#define OP_FTP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define FTP_VPATH_MAX 4096

/* cwd (a virtual absolute path) + arg -> out, a virtual absolute path
 * without "." / ".." / empty parts. 0 or -ENAMETOOLONG. */
int ftp_path_join(const char *cwd, const char *arg, size_t arglen, char *out, size_t outlen);

/* The part of a virtual path relative to the home, for openat(): "." for
 * "/", else the path without its leading "/". */
const char *ftp_path_rel(const char *vpath);

/* The home <datadir>/ftp/<domain>/<local> of an account (the address is
 * already normalised: lower case, one '@'), or <datadir>/ftp/public for
 * anonymous (user NULL). -EINVAL for a user part that is not a plain
 * name. */
int ftp_home_path(const char *datadir, const char *user, char *out, size_t outlen);

/* Open the home (creating it and its parents, mode 0750, if create),
 * returning an O_PATH | O_DIRECTORY descriptor or -errno. */
int ftp_jail_root(const char *home, bool create);

/* Open vpath beneath root with flags (O_RDONLY, O_WRONLY | O_CREAT ...,
 * O_DIRECTORY, O_PATH); O_NOFOLLOW and O_CLOEXEC are always added. fd or
 * -errno. */
int ftp_jail_open(int root, const char *vpath, int flags, mode_t mode);

/* Open the directory holding vpath's last component (O_PATH | O_DIRECTORY)
 * and point *name at that component (inside vpath). "/" itself has no
 * parent: -EPERM. fd or -errno. */
int ftp_jail_parent(int root, const char *vpath, const char **name);

/* lstat of vpath beneath root (a symlink is reported as one, never
 * followed). 0 or -errno. */
int ftp_jail_stat(int root, const char *vpath, struct stat *st);

/* The same without waiting for the disk, for the event loop: resolved only
 * through the kernel's lookup cache (openat2 RESOLVE_CACHED, Linux 5.12),
 * with the same jail (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS). -EAGAIN
 * when some component is not cached, when flags ask for O_CREAT or
 * O_TRUNC (which the kernel never does from its cache), and where the
 * kernel cannot resolve from its cache at all (before 5.12, or under
 * ftp_jail_force_walk): the caller then repeats the work with
 * ftp_jail_open / ftp_jail_stat on a thread that may wait. Any other
 * result is final. */
int ftp_jail_open_cached(int root, const char *vpath, int flags);
/* lstat from the cache, as above: the last component opened O_PATH (a
 * symlink is opened itself, not followed) and fstat'ed. */
int ftp_jail_stat_cached(int root, const char *vpath, struct stat *st);

/* Force the fallback walk (tests of the O_NOFOLLOW path). */
void ftp_jail_force_walk(bool on);
/* Make the cached variants answer -EAGAIN (tests of the fallback). */
void ftp_jail_force_uncached(bool on);

#endif
