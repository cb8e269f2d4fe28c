/*
 * zonefile_lex.h - the master-file lexer (RFC 1035 section 5.1), internal
 * to zonefile.c (the fuzzer reaches it through dns_zonefile_tokenize()).
 *
 * It cuts the text into records: the tokens of one logical line, that is
 * up to a newline outside parentheses. Comments (';' to the end of the
 * line) and parentheses disappear; quoted strings become one token with
 * .quoted set and the quotes removed; escapes stay in the text. A token
 * that has a quoted part after other characters (key="a b", RFC 9460's
 * SvcParam form) stays one token, quotes included. Tokens point into the
 * text; nothing is copied.
 */
#ifndef OP_DNS_ZONEFILE_LEX_H
#define OP_DNS_ZONEFILE_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/rdata.h"

struct zlex {
    const char *p, *end;
    unsigned line;                 /* of p, from 1 */
    char *err;                     /* where a sentence goes on error */
    size_t errlen;
};

/* A growing array of tokens; with fixed set it refuses to grow. */
struct ztoks {
    struct dns_token *v;
    size_t n, cap;
    bool fixed;
};

/*
 * The next record into t (emptied first). Returns 1 with *line the line
 * of its first token and *indented whether that line began with a blank
 * (the owner is omitted), 0 at the end of the text, or a negative error:
 * OP_E_SYNTAX with a sentence in err and lx->line where it happened,
 * -ENOMEM, or -ENOSPC for a full fixed array.
 */
int zlex_record(struct zlex *lx, struct ztoks *t, unsigned *line, bool *indented);

#endif
