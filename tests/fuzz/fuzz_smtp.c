/*
 * fuzz_smtp.c - libFuzzer target for src/smtp/parse.c.
 *
 * The input is parsed as one command line; the struct returned is checked
 * against the contract in parse.h (pointers inside the line, decoded
 * fields NUL-terminated within their arrays, limits kept, a reply for
 * every error). xtext decoding and re-encoding must round-trip. The same
 * bytes as an [smtp] aliases / catch_all value must parse or fail cleanly.
 * Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/parse.h"
#include "smtp/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void within(const char *base, size_t len, const char *p, size_t n)
{
    if (!p) {
        if (n)
            abort();
        return;
    }
    if (p < base || p > base + len || n > (size_t)(base + len - p))
        abort();
}

static void terminated(const char *s, size_t cap)
{
    if (!memchr(s, '\0', cap))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct smtp_cmd c;
    int r = smtp_parse(line, size, &c);
    terminated(c.path, sizeof c.path);
    terminated(c.envid, sizeof c.envid);
    terminated(c.auth, sizeof c.auth);
    terminated(c.orcpt, sizeof c.orcpt);
    within(line, size, c.arg, c.arglen);
    if (c.arg2)
        within(line, size, c.arg2, c.arg2len);
    if (r < 0) {
        if (r < SMTP_PARSE_EMPTY || r > SMTP_PARSE_TOOLONG)
            abort();
        const char *rep = smtp_parse_reply(r, c.verb);
        if (!rep || strlen(rep) < 10 || (rep[0] != '5'))
            abort();
    } else {
        if (r != 0 || c.verb == SMTP_UNKNOWN || memchr(line, '\0', size))
            abort();
        if ((c.verb == SMTP_MAIL || c.verb == SMTP_RCPT) && !c.null_path && !c.postmaster) {
            bool u;
            if (!smtp_mailbox_valid(c.path, strlen(c.path), &u) || u != c.path_utf8)
                abort();
            if (strlen(c.path) > 254)
                abort();
        }
        if (c.verb == SMTP_MAIL && c.null_path && c.path[0])
            abort();
        if (c.verb != SMTP_MAIL && (c.null_path || c.has_size || c.smtputf8 || c.has_envid))
            abort();
        if ((c.notify & SMTP_NOTIFY_NEVER) && c.notify != SMTP_NOTIFY_NEVER)
            abort();
    }
    /* xtext: whatever decodes must encode back to a form that decodes the same */
    char dec[256], enc[800], dec2[256];
    int n = smtp_xtext_decode(line, size, dec, sizeof dec);
    if (n >= 0) {
        int m = smtp_xtext_encode(dec, (size_t)n, enc, sizeof enc);
        if (m < 0 || smtp_xtext_decode(enc, (size_t)m, dec2, sizeof dec2) != n ||
            memcmp(dec, dec2, (size_t)n) != 0)
            abort();
    }
    /* the config lists (smtp/rcpt.c) */
    char text[1024], err[300];
    size_t tl = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, tl);
    text[tl] = '\0';
    for (int dom = 0; dom < 2; dom++) {
        struct smtp_map *m;
        size_t nm;
        if (smtp_map_parse(text, dom, &m, &nm, err, sizeof err) == 0) {
            for (size_t i = 0; i < nm; i++)
                if (!m[i].key[0] || !strchr(m[i].target, '@'))
                    abort();
            smtp_map_free(m, nm);
        } else if (!err[0]) {
            abort();
        }
    }
    return 0;
}
