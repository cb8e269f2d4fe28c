/*
 * maildir.h - Maildir++ message files, written the crash-safe way.
 *
 * A mailbox is a directory <root> with tmp/, new/ and cur/ (Maildir++: the
 * INBOX is the root itself, other folders are "<root>/.Name"). A message is
 * written to tmp/<unique>, fsync'ed, linked into new/ under its final name,
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

/* Create root and its tmp/, new/, cur/ (mode 0700), fsync'ing what it made. */
int maildir_create(const char *root);

/* Deliver len bytes into root/new/. name (size namelen >= 256) receives the
 * base file name. 0 or -errno (-ENOSPC, -EDQUOT, -EIO ...). */
int maildir_deliver(const char *root, const void *data, size_t len, char *name, size_t namelen);

/* Size of data once every bare LF is sent as CRLF. */
uint64_t mail_crlf_size(const void *data, size_t len);

/* Parse ",S=" and ",W=" from a Maildir file name; 0 if present, else -ENOENT. */
int maildir_name_sizes(const char *name, uint64_t *size, uint64_t *crlf_size);

#endif
