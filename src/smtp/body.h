/*
 * body.h - the message body of DATA and BDAT as a byte-at-a-time state
 * machine, pure: no I/O, no allocation beyond the output buffer it fills.
 *
 * DATA (RFC 5321 section 4.1.1.4, 4.5.2): the body ends at CRLF "." CRLF
 * (the first CRLF may be the one that ended the DATA command); a line that
 * starts with "." has it removed (dot-unstuffing). Only CRLF ends a line:
 * RFC 5321 section 2.3.8 forbids bare CR and bare LF in the mail stream,
 * so a bare LF or CR never ends a line and never helps form the end of
 * the data (a "\n.\n" or "\n.\r\n" inside a message is ordinary text, so a
 * message cannot smuggle a second one past the server). Their presence is
 * recorded and the session refuses such a message at its end.
 *
 * BDAT (RFC 3030): chunks are taken as they are, no dot handling; the same
 * line checks apply (the message is still text unless BINARYMIME, which is
 * not offered).
 *
 * Limits: a line longer than 998 octets without its CRLF (RFC 5321
 * 4.5.3.1.6) and a message larger than max are recorded, never cut: the
 * session reads to the end and refuses the whole message (5.3.4). Beyond
 * max nothing more is stored, so a client cannot make the server buffer
 * without bound.
 */
#ifndef OP_SMTP_BODY_H
#define OP_SMTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define SMTP_BODY_LINE_MAX 998

enum {
    SMTP_BODY_LONG_LINE = 1,   /* a line over 998 octets */
    SMTP_BODY_BARE_CR   = 2,
    SMTP_BODY_BARE_LF   = 4,
    SMTP_BODY_NUL       = 8,
    SMTP_BODY_TOO_BIG   = 16,  /* over max: the rest was not stored */
    SMTP_BODY_8BIT      = 32,  /* an octet above 127 */
    SMTP_BODY_NOMEM     = 64,  /* the output buffer could not grow */
};

struct smtp_body {
    int state;                 /* private to body.c */
    bool dot;                  /* DATA (true) or BDAT (false) */
    bool done;                 /* DATA: the terminator was read */
    unsigned flags;            /* SMTP_BODY_* */
    size_t line;               /* octets in the current line */
    uint64_t size;             /* octets of the message (stored or not) */
    uint64_t max;              /* store at most this many */
};

/* Start a body: dot for DATA, not for BDAT. */
void smtp_body_init(struct smtp_body *b, bool dot, uint64_t max);

/* Feed len octets; the message text is appended to out. Returns how many
 * octets were used: all of them, except in DATA mode once the terminator
 * is found (done then true; what follows it is the next command). */
size_t smtp_body_feed(struct smtp_body *b, struct buf *out, const char *p, size_t len);

/* A BDAT chunk may end anywhere; the message ends with BDAT LAST: flush a
 * CR held back at the end (it was bare). */
void smtp_body_finish(struct smtp_body *b, struct buf *out);

/* The refusal for a finished body whose flags forbid accepting it, as a
 * whole reply line without CRLF, or NULL if it may be accepted. */
const char *smtp_body_refusal(const struct smtp_body *b);

#endif
