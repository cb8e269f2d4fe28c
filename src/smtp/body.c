/*
 * body.c - the DATA/BDAT body state machine (contract in body.h).
 */
#include "smtp/body.h"

#include <string.h>

enum {
    S_BOL,      /* at the start of a line */
    S_TEXT,     /* inside a line */
    S_CR,       /* a CR was read and is held back: CRLF or bare CR? */
    S_DOT,      /* DATA: "." at the start of a line */
    S_DOTCR,    /* DATA: ".\r" at the start of a line */
};

void smtp_body_init(struct smtp_body *b, bool dot, uint64_t max)
{
    memset(b, 0, sizeof *b);
    b->dot = dot;
    b->max = max;
    b->state = S_BOL;
}

/* Store n octets (or count them only, once over the limit). */
static void emit(struct smtp_body *b, struct buf *out, const char *p, size_t n)
{
    if (!(b->flags & SMTP_BODY_TOO_BIG) && b->size + n > b->max)
        b->flags |= SMTP_BODY_TOO_BIG;
    if (!(b->flags & (SMTP_BODY_TOO_BIG | SMTP_BODY_NOMEM)) && buf_append(out, p, n) < 0)
        b->flags |= SMTP_BODY_NOMEM;
    b->size += n;
}

/* Octets that need no decision in a line: everything but CR, LF, NUL. */
static size_t plain_run(const char *p, size_t len, unsigned *flags)
{
    size_t i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r' || c == '\n' || c == 0)
            break;
        if (c & 0x80)
            *flags |= SMTP_BODY_8BIT;
    }
    return i;
}

static void line_grew(struct smtp_body *b, size_t n)
{
    b->line += n;
    if (b->line > SMTP_BODY_LINE_MAX)
        b->flags |= SMTP_BODY_LONG_LINE;
}

size_t smtp_body_feed(struct smtp_body *b, struct buf *out, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && !b->done) {
        char c = p[i];
        switch (b->state) {
        case S_BOL:
            if (b->dot && c == '.') {
                b->state = S_DOT;
                i++;
                continue;
            }
            b->state = S_TEXT;
            continue;                         /* the same octet, as text */
        case S_TEXT: {
            size_t n = plain_run(p + i, len - i, &b->flags);
            if (n) {
                emit(b, out, p + i, n);
                line_grew(b, n);
                i += n;
                continue;
            }
            if (c == '\r') {
                b->state = S_CR;
            } else if (c == '\n') {
                /* RFC 5321 2.3.8: not a line end; kept, and the message refused. */
                b->flags |= SMTP_BODY_BARE_LF;
                emit(b, out, "\n", 1);
                line_grew(b, 1);
            } else {
                b->flags |= SMTP_BODY_NUL;
                emit(b, out, p + i, 1);
                line_grew(b, 1);
            }
            i++;
            continue;
        }
        case S_CR:
            if (c == '\n') {
                emit(b, out, "\r\n", 2);
                b->line = 0;
                b->state = S_BOL;
                i++;
                continue;
            }
            /* A CR not followed by LF is bare (2.3.8). */
            b->flags |= SMTP_BODY_BARE_CR;
            emit(b, out, "\r", 1);
            line_grew(b, 1);
            b->state = S_TEXT;
            continue;                         /* this octet decides anew (it may be a CR) */
        case S_DOT:
            if (c == '\r') {
                b->state = S_DOTCR;
                i++;
                continue;
            }
            /* RFC 5321 4.5.2: a leading "." with more on the line is removed;
             * it still counted toward the line as sent. */
            line_grew(b, 1);
            b->state = S_TEXT;
            continue;
        case S_DOTCR:
            if (c == '\n') {
                b->done = true;               /* CRLF "." CRLF */
                i++;
                return i;
            }
            line_grew(b, 1);                  /* the removed dot */
            b->state = S_CR;
            continue;
        }
    }
    return i;
}

void smtp_body_finish(struct smtp_body *b, struct buf *out)
{
    if (b->state == S_CR) {
        b->flags |= SMTP_BODY_BARE_CR;
        emit(b, out, "\r", 1);
        b->state = S_TEXT;
    }
}

const char *smtp_body_refusal(const struct smtp_body *b)
{
    if (b->flags & SMTP_BODY_NOMEM)
        return "452 4.3.1 Insufficient system storage";
    if (b->flags & SMTP_BODY_TOO_BIG)
        return "552 5.3.4 Message size exceeds fixed maximum message size";
    if (b->flags & SMTP_BODY_LONG_LINE)
        return "500 5.3.4 Message has a line longer than 998 octets (RFC 5321 section 4.5.3.1.6)";
    if (b->flags & SMTP_BODY_NUL)
        return "550 5.6.0 Message contains NUL octets";
    if (b->flags & (SMTP_BODY_BARE_CR | SMTP_BODY_BARE_LF))
        return "550 5.6.0 Message contains a bare CR or LF (RFC 5321 section 2.3.8)";
    return NULL;
}
