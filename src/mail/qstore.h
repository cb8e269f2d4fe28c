/*
 * qstore.h - the files of the mail queue (layout in queue.c), shared by the
 * server side (queue.c) and the control side (queue_ctl.c, which also runs
 * in the `outpost queue` process).
 */
#ifndef OP_MAIL_QSTORE_H
#define OP_MAIL_QSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/qentry.h"

#define QSTORE_DIR "queue"
#define QSTORE_MARKER "flush"        /* touched by flush and delete */

/* <datadir>/queue, or <datadir>/queue/<id><ext>. 0 or -ENAMETOOLONG. */
int  qstore_dir(char *out, size_t n, const char *datadir);
int  qstore_path(char *out, size_t n, const char *datadir, const char *id, const char *ext);
/* A queue ID as queue_submit makes them: [0-9A-F], 8..QUEUE_ID_MAX-1 long. */
bool qstore_valid_id(const char *id);
/* Read and parse <id>.env. 0, OP_E_NOTFOUND, OP_E_SYNTAX, -errno. */
int  qstore_read(const char *datadir, const char *id, struct qentry *e);
/* Replace <id>.env atomically and durably (tmp file, fsync, rename, fsync
 * of the directory). Only the holder of the entry's lease calls this. */
int  qstore_write(const char *datadir, const char *id, const struct qentry *e);
/* Take the entry's lease: an exclusive flock on <id>.msg (never replaced,
 * so the lock cannot be lost to a rename; released by close or by the
 * process's death, so a crash leaves no stale lease). The fd (>= 0) is the
 * message, read-only. OP_E_LOCKED, OP_E_NOTFOUND or -errno. */
int  qstore_lock(const char *datadir, const char *id);
/* Remove <id>.env then <id>.msg and fsync the directory: once the
 * envelope is gone the entry is gone (a lone .msg is a leftover). */
int  qstore_remove(const char *datadir, const char *id);
/* Change the marker file a running server watches (flush, delete): one
 * byte appended (size and mtime change). */
int  qstore_poke(const char *datadir);

#endif
