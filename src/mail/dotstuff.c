/*
 * dotstuff.c - the dot-stuffer of SMTP DATA and POP3 responses; the
 * contract is in dotstuff.h.
 */
#include "mail/dotstuff.h"

#include <errno.h>
#include <string.h>

enum {
    ST_BOL = 1,           /* the next byte starts a line */
    ST_CR = 2,            /* a CR was seen and not yet written: LF may follow */
    ST_TOP = 4,           /* TOP mode */
    ST_HEADERS = 8,       /* TOP: still in the header section */
    ST_DONE = 16,         /* TOP: everything to send has been written */
};

void dotstuff_init(struct dotstuff *s)
{
    s->state = ST_BOL;
    s->body_left = 0;
}

void dotstuff_init_top(struct dotstuff *s, uint32_t body_lines)
{
    s->state = ST_BOL | ST_TOP | ST_HEADERS;
    s->body_left = body_lines;
}

bool dotstuff_done(const struct dotstuff *s)
{
    return (s->state & ST_DONE) != 0;
}

/* A line has just been ended with CRLF; was_empty says it had no bytes.
 * RFC 1939 section 7: TOP sends the headers, the blank line that ends them
 * (the first empty line), then n lines of the body. */
static void line_end(struct dotstuff *s, bool was_empty)
{
    s->state |= ST_BOL;
    if (!(s->state & ST_TOP))
        return;
    if (s->state & ST_HEADERS) {
        if (was_empty) {
            s->state &= ~ST_HEADERS;
            if (s->body_left == 0)
                s->state |= ST_DONE;
        }
        return;
    }
    if (--s->body_left == 0)
        s->state |= ST_DONE;
}

size_t dotstuff(struct dotstuff *s, const char *in, size_t n, char *out)
{
    char *w = out;
    const char *p = in, *end = in + n;
    while (p < end && !(s->state & ST_DONE)) {
        if (s->state & ST_CR) {
            s->state &= ~ST_CR;
            if (*p == '\n') {
                *w++ = '\r';
                *w++ = '\n';
                p++;
                line_end(s, (s->state & ST_BOL) != 0);
                continue;
            }
            /* A bare CR is not a line end: pass it through as it is. */
            *w++ = '\r';
            s->state &= ~ST_BOL;
        }
        char c = *p;
        if (c == '\r') {
            /* Held back until the next byte says whether it ends a line; a
             * block boundary may fall here. BOL is kept meanwhile so that
             * CR LF on an empty line counts as the empty line. */
            s->state |= ST_CR;
            p++;
            continue;
        }
        if (c == '\n') {
            /* RFC 5321 section 2.3.8, RFC 1939 section 3: lines end with
             * CRLF; stored bare LF line ends are converted. */
            *w++ = '\r';
            *w++ = '\n';
            p++;
            line_end(s, (s->state & ST_BOL) != 0);
            continue;
        }
        /* RFC 5321 section 4.5.2, RFC 1939 section 3: a line starting with
         * the terminating '.' is sent with that '.' doubled. */
        if ((s->state & ST_BOL) && c == '.')
            *w++ = '.';
        s->state &= ~ST_BOL;
        const char *q = p;
        while (q < end && *q != '\r' && *q != '\n')
            q++;
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        p = q;
    }
    return (size_t)(w - out);
}

size_t dotstuff_end(struct dotstuff *s, char *out)
{
    size_t n = 0;
    if (s->state & ST_CR) {
        out[n++] = '\r';                     /* a bare CR at the very end */
        s->state &= ~(ST_CR | ST_BOL);
    }
    if (!(s->state & ST_BOL)) {
        out[n++] = '\r';
        out[n++] = '\n';
        s->state |= ST_BOL;
    }
    memcpy(out + n, ".\r\n", 3);
    return n + 3;
}

int dotstuff_buf(struct dotstuff *s, struct buf *out, const char *in, size_t n)
{
    if (n == 0 || (s->state & ST_DONE))
        return 0;
    if (n > ((size_t)-1 - 1) / 2)
        return -ENOMEM;
    char *w = buf_reserve(out, DOTSTUFF_ROOM(n));
    if (!w)
        return -ENOMEM;
    buf_commit(out, dotstuff(s, in, n, w));
    return 0;
}

int dotstuff_end_buf(struct dotstuff *s, struct buf *out)
{
    char tail[DOTSTUFF_END_ROOM];
    size_t n = dotstuff_end(s, tail);
    return buf_append(out, tail, n);
}
