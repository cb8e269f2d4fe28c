/*
 * client_url.c - ftp:// URLs and netrc files; see client_url.h.
 */
#include "ftp/client_url.h"

#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/util.h"

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* %-decode s[0 .. n) into out[0 .. cap), NUL-terminated. RFC 1738
 * section 2.2: "%XX" is the octet XX. CR, LF and NUL are refused. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (n - i < 3)
                return OP_E_SYNTAX;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return OP_E_SYNTAX;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (ch == '\0' || ch == '\r' || ch == '\n' || (unsigned char)ch < 0x20)
            return OP_E_SYNTAX;
        if (o + 1 >= cap)
            return OP_E_TOOLONG;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

int ftpc_url_parse(const char *s, size_t n, struct ftpc_url *u)
{
    memset(u, 0, sizeof *u);
    u->port = 21;
    if (n < 6 || strncasecmp(s, "ftp://", 6) != 0)
        return OP_E_SYNTAX;
    size_t i = 6;
    /* The authority ends at the first '/' (or the end). */
    size_t end = i;
    while (end < n && s[end] != '/')
        end++;
    const char *auth = s + i;
    size_t alen = end - i;
    /* userinfo: up to the last '@' of the authority */
    const char *at = NULL;
    for (size_t k = 0; k < alen; k++)
        if (auth[k] == '@')
            at = auth + k;
    if (at) {
        size_t ulen = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', ulen);
        if (colon) {
            u->has_password = true;
            ulen = (size_t)(colon - auth);
        }
        if (ulen == 0)
            return OP_E_SYNTAX;
        int r = decode(auth, ulen, u->user, sizeof u->user);
        if (r < 0)
            return r;
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    /* host[:port], host possibly [IPv6] */
    size_t hlen;
    const char *rest;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close || close == auth + 1)
            return OP_E_SYNTAX;
        hlen = (size_t)(close - auth - 1);
        if (hlen >= sizeof u->host)
            return OP_E_TOOLONG;
        for (size_t k = 0; k < hlen; k++) {
            char ch = auth[1 + k];
            if (!(hexval(ch) >= 0 || ch == ':' || ch == '.'))
                return OP_E_SYNTAX;
        }
        memcpy(u->host, auth + 1, hlen);
        u->host[hlen] = '\0';
        rest = close + 1;
    } else {
        hlen = 0;
        while (hlen < alen && auth[hlen] != ':')
            hlen++;
        if (hlen == 0)
            return OP_E_SYNTAX;
        if (hlen >= sizeof u->host)
            return OP_E_TOOLONG;
        for (size_t k = 0; k < hlen; k++) {
            char ch = auth[k];
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
            if (!ok)
                return OP_E_SYNTAX;
        }
        memcpy(u->host, auth, hlen);
        u->host[hlen] = '\0';
        rest = auth + hlen;
    }
    size_t restlen = (size_t)(auth + alen - rest);
    if (restlen > 0) {
        if (rest[0] != ':' || restlen < 2 || restlen > 6)
            return OP_E_SYNTAX;
        unsigned long port = 0;
        for (size_t k = 1; k < restlen; k++) {
            if (rest[k] < '0' || rest[k] > '9')
                return OP_E_SYNTAX;
            port = port * 10 + (unsigned long)(rest[k] - '0');
        }
        if (port == 0 || port > 65535)
            return OP_E_SYNTAX;
        u->port = (uint16_t)port;
    }
    /* The path, after the '/' that ends the authority. */
    if (end < n) {
        const char *path = s + end + 1;
        size_t plen = n - end - 1;
        /* RFC 1738 section 3.2.2: ";type=X" at the end. */
        if (plen >= 7 && strncasecmp(path + plen - 7, ";type=", 6) == 0) {
            char t = (char)(path[plen - 1] | 0x20);
            if (t != 'a' && t != 'i' && t != 'd')
                return OP_E_SYNTAX;
            u->type = t;
            plen -= 7;
        }
        int r = decode(path, plen, u->path, sizeof u->path);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- netrc ------------------------------------------------------------------------------ */

struct lexer {
    const char *p;
    size_t n, i;
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The next token into out (NUL-terminated): 1, 0 at the end, or an error. */
static int next_token(struct lexer *lx, char *out, size_t cap)
{
    while (lx->i < lx->n && is_space(lx->p[lx->i]))
        lx->i++;
    if (lx->i >= lx->n)
        return 0;
    if (lx->p[lx->i] == '\0')
        return OP_E_SYNTAX;
    size_t o = 0;
    if (lx->p[lx->i] == '"') {
        lx->i++;
        for (;;) {
            if (lx->i >= lx->n)
                return OP_E_SYNTAX;
            char ch = lx->p[lx->i++];
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (lx->i >= lx->n)
                    return OP_E_SYNTAX;
                ch = lx->p[lx->i++];
            }
            if (ch == '\0' || ch == '\n' || ch == '\r')
                return OP_E_SYNTAX;
            if (o + 1 >= cap)
                return OP_E_TOOLONG;
            out[o++] = ch;
        }
    } else {
        while (lx->i < lx->n && !is_space(lx->p[lx->i])) {
            char ch = lx->p[lx->i++];
            if (ch == '\0')
                return OP_E_SYNTAX;
            if (o + 1 >= cap)
                return OP_E_TOOLONG;
            out[o++] = ch;
        }
    }
    out[o] = '\0';
    return 1;
}

/* macdef: its body runs to the first empty line. */
static void skip_macro(struct lexer *lx)
{
    while (lx->i < lx->n && lx->p[lx->i] != '\n')
        lx->i++;
    while (lx->i < lx->n) {
        lx->i++;                                   /* past a '\n' */
        if (lx->i < lx->n && lx->p[lx->i] == '\n')
            return;
        if (lx->i + 1 < lx->n && lx->p[lx->i] == '\r' && lx->p[lx->i + 1] == '\n')
            return;
        while (lx->i < lx->n && lx->p[lx->i] != '\n')
            lx->i++;
    }
}

int ftpc_netrc_find(const char *t, size_t n, const char *host, const char *login,
                    struct ftpc_netrc *out)
{
    struct lexer lx = {t, n, 0};
    char tok[FTPC_NAME_MAX];
    struct ftpc_netrc cur, dflt;
    bool in_entry = false, cur_matches = false, have_default = false, in_default = false;
    memset(out, 0, sizeof *out);
    memset(&cur, 0, sizeof cur);
    memset(&dflt, 0, sizeof dflt);
    int found = 0, r;
    for (;;) {
        r = next_token(&lx, tok, sizeof tok);
        bool at_end = r == 0;
        if (r < 0)
            goto done;
        bool starts = !at_end && (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0);
        if ((at_end || starts) && in_entry) {
            /* The entry before this one is complete. */
            bool login_ok = !login || (cur.has_login && strcmp(cur.login, login) == 0);
            if (cur_matches && login_ok) {
                *out = cur;
                found = 1;
                r = 0;
                goto done;
            }
            if (in_default && login_ok && !have_default) {
                dflt = cur;
                have_default = true;
            }
            in_entry = false;
        }
        if (at_end)
            break;
        if (strcmp(tok, "machine") == 0) {
            if ((r = next_token(&lx, tok, sizeof tok)) <= 0) {
                r = OP_E_SYNTAX;
                goto done;
            }
            memset(&cur, 0, sizeof cur);
            in_entry = true;
            in_default = false;
            cur_matches = strcasecmp(tok, host) == 0;
        } else if (strcmp(tok, "default") == 0) {
            memset(&cur, 0, sizeof cur);
            in_entry = true;
            in_default = true;
            cur_matches = false;
        } else if (strcmp(tok, "login") == 0 || strcmp(tok, "password") == 0 ||
                   strcmp(tok, "account") == 0) {
            bool is_login = tok[0] == 'l', is_pass = tok[0] == 'p';
            if ((r = next_token(&lx, tok, sizeof tok)) <= 0) {
                r = r < 0 ? r : OP_E_SYNTAX;
                goto done;
            }
            if (in_entry && is_login) {
                str_copy(cur.login, sizeof cur.login, tok);
                cur.has_login = true;
            } else if (in_entry && is_pass) {
                str_copy(cur.password, sizeof cur.password, tok);
                cur.has_password = true;
            }
        } else if (strcmp(tok, "macdef") == 0) {
            if ((r = next_token(&lx, tok, sizeof tok)) <= 0) {
                r = r < 0 ? r : OP_E_SYNTAX;
                goto done;
            }
            skip_macro(&lx);
        } else {
            r = OP_E_SYNTAX;
            goto done;
        }
    }
    if (have_default) {
        *out = dflt;
        found = 1;
    }
    r = 0;
done:
    explicit_bzero(tok, sizeof tok);
    explicit_bzero(&cur, sizeof cur);
    explicit_bzero(&dflt, sizeof dflt);
    if (r < 0) {
        explicit_bzero(out, sizeof *out);
        return r;
    }
    return found;
}
