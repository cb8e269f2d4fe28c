/*
 * mindex.h - the mailbox index: stable ids for the messages of a Maildir.
 *
 * The index of a mailbox is an SQLite database (WAL mode) beside its Maildir,
 * "<root>/outpost-index.sqlite". It records, per message, a UID that is never
 * reused within a UIDVALIDITY, the file's name, and its CRLF size. The
 * Maildir is the truth and the index a cache of it: mindex_sync() adds files
 * that appeared (delivered by outpost or dropped in by another program),
 * forgets files that vanished, and rebuilds the index from the directory when
 * it is missing or unreadable (with a new UIDVALIDITY, so clients re-sync).
 * The last UIDVALIDITY given out is also kept in "<root>/outpost-uidvalidity"
 * so that a rebuilt index always gets a greater one.
 *
 * Callers hold no database handle between calls: a session syncs at login and
 * expunges at the end, which keeps an idle session's memory small.
 *
 * Not thread-safe per mailbox by itself: sessions serialise through
 * mstore_lock(); concurrent deliveries only add files and are picked up by the
 * next sync.
 */
#ifndef OP_MAIL_MINDEX_H
#define OP_MAIL_MINDEX_H

#include <stddef.h>
#include <stdint.h>

struct mindex_msg {
    uint32_t uid;
    uint64_t size;       /* octets as sent with CRLF line ends */
    char *path;          /* relative to root: "new/NAME" or "cur/NAME" */
};

struct mindex_list {
    uint32_t uidvalidity;
    uint32_t uidnext;
    size_t n;
    struct mindex_msg *msgs;     /* ascending uid */
};

/* Synchronise the index of the Maildir at root with its files and return the
 * messages. New files get uids in delivery order. 0, -ENOENT/-ENOTDIR if root
 * is not a Maildir (no index is created then), OP_E_LOCKED if the database
 * stayed busy for the busy timeout, or another negative code. On error *out
 * is empty (mindex_list_free() is still safe). */
int mindex_sync(const char *root, struct mindex_list *out);

/* Delete the messages with these uids: unlink the files, fsync new/ and cur/,
 * remove them from the index. A file already gone, or an unknown uid, is not
 * an error; a file that another program moved since the last sync is found
 * by its base name. -ENOENT if the mailbox has no index yet. */
int mindex_expunge(const char *root, const uint32_t *uids, size_t n);

void mindex_list_free(struct mindex_list *l);

#endif
