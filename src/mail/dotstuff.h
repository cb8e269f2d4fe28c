/*
 * dotstuff.h - a stored message into the body of a dot-terminated
 * transfer: SMTP's DATA (RFC 5321 section 4.5.2) and POP3's multi-line
 * responses (RFC 1939 section 3) use the same form.
 *
 * In: the message as stored, bare LF or CRLF line ends, any bytes.
 * Out: CRLF line ends, a '.' doubled at the start of every line, and the
 * ".\r\n" terminator line. A CR not followed by LF is passed through as it
 * is, also at the very end (it is then followed by the CRLF that ends the
 * last line). The stuffer is incremental: input may be cut anywhere (also
 * between CR and LF), so a message can be sent block by block as it is
 * read from disk. In TOP mode (RFC 1939 section 7) it stops after the
 * headers, the blank line that ends them and n body lines; what follows
 * is ignored.
 *
 * dotstuff() and dotstuff_end() are pure: they write only to out and keep
 * their state in the struct. The _buf forms append to a struct buf.
 * Prefix dotstuff_.
 */
#ifndef OP_MAIL_DOTSTUFF_H
#define OP_MAIL_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct dotstuff {
    int state;                  /* private to dotstuff.c */
    uint32_t body_left;         /* TOP: body lines still to send */
};

/* The room out needs for n input octets (every octet may double, plus a
 * CR held back from the previous block), and for the end. */
#define DOTSTUFF_ROOM(n) (2 * (n) + 1)
#define DOTSTUFF_END_ROOM 6

/* The whole message (SMTP DATA, POP3 RETR). */
void dotstuff_init(struct dotstuff *s);
/* POP3 TOP: the headers, the blank line, then at most body_lines lines. */
void dotstuff_init_top(struct dotstuff *s, uint32_t body_lines);

/* Stuff in[0 .. n) into out, which has DOTSTUFF_ROOM(n) octets; returns
 * how many were written. */
size_t dotstuff(struct dotstuff *s, const char *in, size_t n, char *out);
/* The end: CRLF when the last line has none, then ".\r\n"; out has
 * DOTSTUFF_END_ROOM octets. Returns how many were written. */
size_t dotstuff_end(struct dotstuff *s, char *out);
/* True once TOP mode has written everything it will (the caller can stop
 * reading); always false for a whole message. */
bool dotstuff_done(const struct dotstuff *s);

/* The same, appending to a buffer: 0 or -ENOMEM (out then holds part). */
int dotstuff_buf(struct dotstuff *s, struct buf *out, const char *in, size_t n);
int dotstuff_end_buf(struct dotstuff *s, struct buf *out);

#endif
