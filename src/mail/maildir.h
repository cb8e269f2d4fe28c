/*
 * maildir.h - Maildir++ message files, written the crash-safe way.
 *
 * A mailbox is a directory <root> with tmp/, new/ and cur/ (Maildir++: the
 * INBOX is the root itself, other folders are "<root>/.Name"). A message is
 * written to an unnamed file in tmp/ (O_TMPFILE; tmp/<unique> on file
 * systems without it), fsync'ed, linked into new/ under its final name,
 * and new/ is fsync'ed before delivery is reported: once maildir_deliver()
 * returns 0 the message survives a crash or power cut. On any failure
 * (ENOSPC, EDQUOT, EIO) nothing is left in tmp/ or new/.
 *
 * Final names are "<sec>.M<usec>P<pid>Q<seq>R<rand>.<host>,S=<size>,W=<crlf>"
 * where S is the file's size and W its size with every line ending CRLF
 * (the size POP3 and IMAP report), so listing a mailbox needs no reads.
 * Bytes are stored exactly as received.
 */
#ifndef OP_MAIL_MAILDIR_H
#define OP_MAIL_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Create root (and missing parents) and its tmp/, new/, cur/ (mode 0700),
 * fsync'ing the parent of each directory it made. Existing ones are fine. */
int maildir_create(const char *root);

/* Deliver len bytes into root/new/. name (size namelen >= 256) receives the
 * base file name. 0 or -errno (-ENOSPC, -EDQUOT, -EIO ...). */
int maildir_deliver(const char *root, const void *data, size_t len, char *name, size_t namelen);

/* The same from pieces (e.g. a "Return-Path:" line and the message as
 * received), written with writev so a large message is never copied. */
int maildir_deliver_iov(const char *root, const struct iovec *iov, int iovcnt,
                        char *name, size_t namelen);

/* Two-step delivery, for a caller that must make several files durable
 * together (the mail queue: one message to several mailboxes and the
 * queue). maildir_tmp_write() writes the pieces to a file in root/tmp/ and
 * fsyncs it; maildir_tmp_link() gives that file a new name in root/new/ of
 * any Maildir on the same file system (a hard link, so n mailboxes share
 * one copy; -EXDEV across file systems), WITHOUT fsync'ing new/: the
 * caller fsyncs each new/ before it reports delivery, and unlinks final to
 * take a delivery back. maildir_tmp_discard() closes the file and removes
 * its tmp/ name if it has one (the links in new/ stay). On failure nothing is left behind. */
struct maildir_tmp {
    char path[4096];        /* root/tmp/<unique>, or "" for an unnamed (O_TMPFILE) file */
    int fd;                 /* named: open between _begin() and _end(); unnamed: open
                             * from _begin() until _discard() (it is linked through it) */
    char host[72];          /* host part of names */
    uint64_t size, wire;    /* the S= and W= values */
};
int  maildir_tmp_write(const char *root, const struct iovec *iov, int iovcnt,
                       struct maildir_tmp *t);
int  maildir_tmp_link(const char *root, const struct maildir_tmp *t, char *final, size_t finallen);
void maildir_tmp_discard(struct maildir_tmp *t);
/* maildir_tmp_write() in two halves, so a caller can have the writeback of
 * several files under way before the first fsync waits (they then share a
 * journal commit): _begin() writes and leaves t->fd open, _end() fsyncs
 * and closes it (on failure the tmp file is removed). maildir_tmp_discard()
 * also closes a file left open. */
int  maildir_tmp_begin(const char *root, const struct iovec *iov, int iovcnt,
                       struct maildir_tmp *t);
int  maildir_tmp_end(struct maildir_tmp *t);

/* Remove files in root/tmp/ last changed more than max_age_s seconds before
 * now: leftovers of deliveries cut short by a crash (the Maildir convention
 * is 36 hours, MAILDIR_TMP_MAX_AGE). Returns how many were removed, or
 * -errno if tmp/ cannot be read. */
#define MAILDIR_TMP_MAX_AGE (36 * 3600)
int maildir_clean_tmp(const char *root, long long now, unsigned max_age_s);

/* Size of data once every bare LF is sent as CRLF. */
uint64_t mail_crlf_size(const void *data, size_t len);
/* Size of a whole message as POP3 and IMAP send it: mail_crlf_size(), plus
 * the CRLF added when non-empty data does not end with a line end. This is
 * the W= value. */
uint64_t mail_wire_size(const void *data, size_t len);
/* mail_wire_size() of the concatenation of the pieces. */
uint64_t mail_wire_size_iov(const struct iovec *iov, int iovcnt);

/* Parse ",S=" and ",W=" from a Maildir file name (fields after the ':' that
 * starts the info are ignored). 0 if both are present and well formed (then
 * both outputs are set), else -ENOENT and the outputs are untouched. */
int maildir_name_sizes(const char *name, uint64_t *size, uint64_t *crlf_size);

#endif
