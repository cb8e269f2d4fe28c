/*
 * parse.c - SMTP command lines into command structs (see parse.h for the
 * grammar and the contract). Every reader below takes a cursor and an end
 * and never looks past the end.
 */
#include "smtp/parse.h"

#include <arpa/inet.h>
#include <string.h>

#include "base/util.h"

struct cur {
    const char *p, *end;
};

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Length of one well-formed UTF-8 sequence of non-ASCII at p (RFC 3629
 * section 4: no overlongs, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    if (avail == 0)
        return 0;
    unsigned char c = u[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (avail < n || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (u[i] < 0x80 || u[i] > 0xbf)
            return 0;
    return n;
}

/* ---- mailboxes (RFC 5321 section 4.1.2, RFC 6531 section 3.3) ---------- */

/* Dot-string: Atom *("." Atom); atoms may hold UTF-8 (RFC 6531). */
static bool dot_string(struct cur *c, bool *utf8)
{
    const char *start = c->p;
    bool need_atom = true;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (is_atext(ch)) {
            c->p++;
            need_atom = false;
        } else if (ch >= 0x80) {
            size_t n = utf8_seq(c->p, c->end);
            if (!n)
                return false;
            c->p += n;
            *utf8 = true;
            need_atom = false;
        } else if (ch == '.' && !need_atom) {
            c->p++;
            need_atom = true;
        } else
            break;
    }
    return c->p > start && !need_atom;
}

/* Quoted-string: DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE. */
static bool quoted_string(struct cur *c, bool *utf8)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch == '\\') {
            if (c->p + 1 >= c->end)
                return false;
            unsigned char q = (unsigned char)c->p[1];
            if (q < 32 || q > 126)
                return false;
            c->p += 2;
        } else if (ch >= 32 && ch <= 126) {
            c->p++;
        } else if (ch >= 0x80) {
            size_t n = utf8_seq(c->p, c->end);
            if (!n)
                return false;
            c->p += n;
            *utf8 = true;
        } else
            return false;
    }
    return false;
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str],
 * or a U-label (RFC 6531: any well-formed UTF-8 in the label). */
static bool domain(struct cur *c, bool *utf8)
{
    const char *start = c->p;
    for (;;) {
        const char *label = c->p;
        bool last_hyphen = false;
        while (c->p < c->end) {
            unsigned char ch = (unsigned char)*c->p;
            if (is_alnum(ch)) {
                c->p++;
                last_hyphen = false;
            } else if (ch == '-' && c->p > label) {
                c->p++;
                last_hyphen = true;
            } else if (ch >= 0x80) {
                size_t n = utf8_seq(c->p, c->end);
                if (!n)
                    return false;
                c->p += n;
                *utf8 = true;
                last_hyphen = false;
            } else
                break;
        }
        if (c->p == label || last_hyphen || c->p - label > 63)
            return false;
        if (c->p < c->end && *c->p == '.' && c->p + 1 < c->end &&
            (is_alnum((unsigned char)c->p[1]) || (unsigned char)c->p[1] >= 0x80)) {
            c->p++;
            continue;
        }
        break;
    }
    return c->p - start <= 255;
}

/* address-literal (RFC 5321 4.1.3): "[" IPv4 / "IPv6:" IPv6 "]". */
static bool address_literal(struct cur *c)
{
    if (c->p >= c->end || *c->p != '[')
        return false;
    const char *close = memchr(c->p, ']', (size_t)(c->end - c->p));
    if (!close)
        return false;
    const char *in = c->p + 1;
    size_t n = (size_t)(close - in);
    char tmp[64];
    unsigned char addr[16];
    if (n > 5 && strncasecmp(in, "IPv6:", 5) == 0) {
        if (n - 5 >= sizeof tmp)
            return false;
        memcpy(tmp, in + 5, n - 5);
        tmp[n - 5] = '\0';
        if (inet_pton(AF_INET6, tmp, addr) != 1)
            return false;
    } else {
        if (n == 0 || n >= 16)
            return false;
        memcpy(tmp, in, n);
        tmp[n] = '\0';
        /* inet_pton accepts exactly dotted-quad decimal, as Snum does
         * (leading zeros aside, which it refuses: harmless). */
        if (inet_pton(AF_INET, tmp, addr) != 1)
            return false;
    }
    c->p = close + 1;
    return true;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ). On success out
 * holds the canonical text: a quoted local part whose content is a valid
 * dot-string is unquoted (the two forms are the same mailbox). */
static bool mailbox(struct cur *c, char *out, size_t outlen, bool *utf8, bool *literal)
{
    const char *lp = c->p;
    bool quoted = false;
    if (c->p < c->end && *c->p == '"') {
        if (!quoted_string(c, utf8))
            return false;
        quoted = true;
    } else if (!dot_string(c, utf8)) {
        return false;
    }
    const char *lp_end = c->p;
    if (lp_end - lp > 64 + (quoted ? 2 : 0))
        return false;
    if (c->p >= c->end || *c->p != '@')
        return false;
    c->p++;
    const char *dom = c->p;
    *literal = false;
    if (c->p < c->end && *c->p == '[') {
        if (!address_literal(c))
            return false;
        *literal = true;
    } else if (!domain(c, utf8)) {
        return false;
    }
    const char *dom_end = c->p;

    /* Canonical local part. */
    char local[140];
    size_t ll = 0;
    if (quoted) {
        /* Unquote to see whether it is a plain dot-string. */
        char raw[140];
        size_t rl = 0;
        for (const char *q = lp + 1; q < lp_end - 1; q++) {
            if (*q == '\\')
                q++;
            raw[rl++] = *q;
        }
        struct cur t = {raw, raw + rl};
        bool u = false;
        if (rl > 0 && dot_string(&t, &u) && t.p == t.end) {
            memcpy(local, raw, rl);
            ll = rl;
        } else {
            memcpy(local, lp, (size_t)(lp_end - lp));
            ll = (size_t)(lp_end - lp);
        }
    } else {
        memcpy(local, lp, (size_t)(lp_end - lp));
        ll = (size_t)(lp_end - lp);
    }
    size_t dl = (size_t)(dom_end - dom);
    if (ll + 1 + dl + 1 > outlen || ll + 1 + dl > 254)
        return false;
    memcpy(out, local, ll);
    out[ll] = '@';
    memcpy(out + ll + 1, dom, dl);
    out[ll + 1 + dl] = '\0';
    return true;
}

bool smtp_mailbox_valid(const char *p, size_t len, bool *utf8)
{
    struct cur c = {p, p + len};
    char out[SMTP_PATH_MAX];
    bool u = false, lit = false;
    bool ok = mailbox(&c, out, sizeof out, &u, &lit) && c.p == c.end;
    if (utf8)
        *utf8 = u;
    return ok;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">"; A-d-l = At-domain *("," At-domain). */
static int path(struct cur *c, struct smtp_cmd *o, bool reverse)
{
    if (c->p >= c->end || *c->p != '<')
        return SMTP_PARSE_PATH;
    c->p++;
    if (reverse && c->p < c->end && *c->p == '>') {
        c->p++;
        o->null_path = true;
        o->path[0] = '\0';
        return 0;
    }
    if (!reverse && c->end - c->p >= 11 && strncasecmp(c->p, "Postmaster>", 11) == 0) {
        c->p += 11;
        o->postmaster = true;
        str_copy(o->path, sizeof o->path, "Postmaster");
        return 0;
    }
    if (c->p < c->end && *c->p == '@') {
        /* Source route (RFC 5321 4.1.1.3, appendix C): parsed, then ignored. */
        for (;;) {
            c->p++;
            bool u = false;
            if (!domain(c, &u))
                return SMTP_PARSE_PATH;
            if (c->p < c->end && *c->p == ',' && c->p + 1 < c->end && c->p[1] == '@') {
                c->p++;
                continue;
            }
            break;
        }
        if (c->p >= c->end || *c->p != ':')
            return SMTP_PARSE_PATH;
        c->p++;
    }
    const char *start = c->p;
    const char *gt = memchr(c->p, '>', (size_t)(c->end - c->p));
    if (gt && gt - start > 256)
        return SMTP_PARSE_TOOLONG;
    if (!mailbox(c, o->path, sizeof o->path, &o->path_utf8, &o->path_literal))
        return SMTP_PARSE_PATH;
    if (c->p >= c->end || *c->p != '>')
        return SMTP_PARSE_PATH;
    c->p++;
    return 0;
}

/* ---- xtext (RFC 3461 section 4) ------------------------------------------ */

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int smtp_xtext_decode(const char *in, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '+') {
            if (len - i < 3)
                return -1;
            int h = hexval((unsigned char)in[i + 1]), l = hexval((unsigned char)in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            ch = (unsigned char)(h << 4 | l);
            i += 2;
            if (ch == 0)
                return -1;
        } else if (ch < 33 || ch > 126 || ch == '=') {
            return -1;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)ch;
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return (int)o;
}

int smtp_xtext_encode(const char *in, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch >= 33 && ch <= 126 && ch != '+' && ch != '=') {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = (char)ch;
        } else {
            if (o + 3 >= outlen)
                return -1;
            out[o++] = '+';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return (int)o;
}

/* ---- parameters ------------------------------------------------------------- */

static bool kw_is(const char *k, size_t kl, const char *name)
{
    return str_ieq(k, kl, name);
}

static bool parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* One esmtp-param "keyword[=value]" of MAIL (rcpt false) or RCPT. */
static int param(const char *k, size_t kl, const char *v, size_t vl, bool has_v, bool rcpt,
                 struct smtp_cmd *o, unsigned *seen)
{
    enum { P_SIZE = 1, P_BODY = 2, P_UTF8 = 4, P_RET = 8, P_ENVID = 16, P_AUTH = 32,
           P_NOTIFY = 64, P_ORCPT = 128 };
    unsigned bit;
    if (!rcpt && kw_is(k, kl, "SIZE")) {
        bit = P_SIZE;
        if (!has_v || !parse_u64(v, vl, UINT64_MAX, &o->size))
            return SMTP_PARSE_PARAM_VALUE;
        o->has_size = true;
    } else if (!rcpt && kw_is(k, kl, "BODY")) {
        bit = P_BODY;
        if (has_v && str_ieq(v, vl, "7BIT"))
            o->body = SMTP_BODY_7BIT;
        else if (has_v && str_ieq(v, vl, "8BITMIME"))
            o->body = SMTP_BODY_8BITMIME;
        else if (has_v && str_ieq(v, vl, "BINARYMIME"))
            return SMTP_PARSE_PARAM;          /* not offered (RFC 3030 section 3) */
        else
            return SMTP_PARSE_PARAM_VALUE;
    } else if (!rcpt && kw_is(k, kl, "SMTPUTF8")) {
        bit = P_UTF8;
        if (has_v)
            return SMTP_PARSE_PARAM_VALUE;
        o->smtputf8 = true;
    } else if (!rcpt && kw_is(k, kl, "RET")) {
        bit = P_RET;
        if (has_v && str_ieq(v, vl, "FULL"))
            o->ret = SMTP_RET_FULL;
        else if (has_v && str_ieq(v, vl, "HDRS"))
            o->ret = SMTP_RET_HDRS;
        else
            return SMTP_PARSE_PARAM_VALUE;
    } else if (!rcpt && kw_is(k, kl, "ENVID")) {
        bit = P_ENVID;
        if (!has_v || smtp_xtext_decode(v, vl, o->envid, sizeof o->envid) <= 0)
            return SMTP_PARSE_PARAM_VALUE;
        o->has_envid = true;
    } else if (!rcpt && kw_is(k, kl, "AUTH")) {
        /* RFC 4954 section 5: AUTH=<> or AUTH=xtext(mailbox). */
        bit = P_AUTH;
        if (!has_v)
            return SMTP_PARSE_PARAM_VALUE;
        if (vl == 2 && v[0] == '<' && v[1] == '>') {
            o->auth[0] = '\0';
        } else {
            /* The decoded value is a mailbox (RFC 4954 section 5: "AUTH="
             * xtext of an addr-spec); anything else is malformed. */
            bool utf8;
            int n = smtp_xtext_decode(v, vl, o->auth, sizeof o->auth);
            if (n <= 0 || !smtp_mailbox_valid(o->auth, (size_t)n, &utf8))
                return SMTP_PARSE_PARAM_VALUE;
        }
        o->has_auth = true;
    } else if (rcpt && kw_is(k, kl, "NOTIFY")) {
        bit = P_NOTIFY;
        if (!has_v)
            return SMTP_PARSE_PARAM_VALUE;
        unsigned bits = 0;
        const char *p = v, *end = v + vl;
        while (p <= end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            unsigned b;
            if (str_ieq(p, (size_t)(e - p), "NEVER"))
                b = SMTP_NOTIFY_NEVER;
            else if (str_ieq(p, (size_t)(e - p), "SUCCESS"))
                b = SMTP_NOTIFY_SUCCESS;
            else if (str_ieq(p, (size_t)(e - p), "FAILURE"))
                b = SMTP_NOTIFY_FAILURE;
            else if (str_ieq(p, (size_t)(e - p), "DELAY"))
                b = SMTP_NOTIFY_DELAY;
            else
                return SMTP_PARSE_PARAM_VALUE;
            if (bits & b)
                return SMTP_PARSE_PARAM_VALUE;
            bits |= b;
            if (!comma)
                break;
            p = comma + 1;
        }
        /* RFC 3461 section 4.1: NEVER stands alone. */
        if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
            return SMTP_PARSE_PARAM_VALUE;
        o->notify = bits;
    } else if (rcpt && kw_is(k, kl, "ORCPT")) {
        bit = P_ORCPT;
        const char *semi = has_v ? memchr(v, ';', vl) : NULL;
        if (!semi)
            return SMTP_PARSE_PARAM_VALUE;
        size_t tl = (size_t)(semi - v);
        const char *type;
        if (str_ieq(v, tl, "rfc822"))
            type = "rfc822;";
        else if (str_ieq(v, tl, "utf-8"))
            type = "utf-8;";
        else
            return SMTP_PARSE_PARAM_VALUE;
        size_t tlen = strlen(type);
        memcpy(o->orcpt, type, tlen);
        if (smtp_xtext_decode(semi + 1, vl - tl - 1, o->orcpt + tlen, sizeof o->orcpt - tlen) <= 0) {
            o->orcpt[0] = '\0';
            return SMTP_PARSE_PARAM_VALUE;
        }
    } else {
        return SMTP_PARSE_PARAM;
    }
    if (*seen & bit)
        return SMTP_PARSE_PARAM_VALUE;        /* each parameter once */
    *seen |= bit;
    return 0;
}

static int params(struct cur *c, bool rcpt, struct smtp_cmd *o)
{
    unsigned seen = 0;
    for (;;) {
        while (c->p < c->end && *c->p == ' ')
            c->p++;
        if (c->p >= c->end)
            return 0;
        const char *k = c->p;
        if (!is_alnum((unsigned char)*k))
            return SMTP_PARSE_SYNTAX;
        while (c->p < c->end && (is_alnum((unsigned char)*c->p) || *c->p == '-'))
            c->p++;
        size_t kl = (size_t)(c->p - k);
        const char *v = NULL;
        size_t vl = 0;
        bool has_v = false;
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            v = c->p;
            /* esmtp-value = 1*(%d33-60 / %d62-126), UTF-8 too (RFC 6531) */
            while (c->p < c->end && *c->p != ' ') {
                unsigned char ch = (unsigned char)*c->p;
                if (ch >= 0x80) {
                    size_t n = utf8_seq(c->p, c->end);
                    if (!n)
                        return SMTP_PARSE_PARAM_VALUE;
                    c->p += n;
                    continue;
                }
                if (ch < 33 || ch == '=')
                    return SMTP_PARSE_PARAM_VALUE;
                c->p++;
            }
            vl = (size_t)(c->p - v);
            if (vl == 0)
                return SMTP_PARSE_PARAM_VALUE;
            has_v = true;
        } else if (c->p < c->end && *c->p != ' ') {
            return SMTP_PARSE_SYNTAX;
        }
        int r = param(k, kl, v, vl, has_v, rcpt, o, &seen);
        if (r < 0)
            return r;
    }
}

/* ---- commands ------------------------------------------------------------ */

static const struct {
    const char *name;
    enum smtp_verb verb;
} verbs[] = {
    {"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO}, {"MAIL", SMTP_MAIL}, {"RCPT", SMTP_RCPT},
    {"DATA", SMTP_DATA}, {"RSET", SMTP_RSET}, {"NOOP", SMTP_NOOP}, {"QUIT", SMTP_QUIT},
    {"VRFY", SMTP_VRFY}, {"EXPN", SMTP_EXPN}, {"HELP", SMTP_HELP},
    {"STARTTLS", SMTP_STARTTLS}, {"AUTH", SMTP_AUTH}, {"BDAT", SMTP_BDAT},
};

const char *smtp_verb_name(enum smtp_verb v)
{
    for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return "?";
}

/* "FROM:" / "TO:" then optional spaces (tolerated), then the path. */
static int mail_rcpt(struct cur *c, struct smtp_cmd *o, bool rcpt)
{
    const char *kw = rcpt ? "TO:" : "FROM:";
    size_t kl = strlen(kw);
    if ((size_t)(c->end - c->p) < kl || strncasecmp(c->p, kw, kl) != 0)
        return SMTP_PARSE_SYNTAX;
    c->p += kl;
    while (c->p < c->end && *c->p == ' ')
        c->p++;
    int r = path(c, o, !rcpt);
    if (r < 0)
        return r;
    if (c->p < c->end && *c->p != ' ')
        return SMTP_PARSE_PATH;
    return params(c, rcpt, o);
}

int smtp_parse(const char *line, size_t len, struct smtp_cmd *o)
{
    memset(o, 0, sizeof *o);
    o->verb = SMTP_UNKNOWN;

    struct cur c = {line, line + len};
    const char *v = c.p;
    while (c.p < c.end && is_alpha((unsigned char)*c.p))
        c.p++;
    size_t vl = (size_t)(c.p - v);
    for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
        if (str_ieq(v, vl, verbs[i].name))
            o->verb = verbs[i].verb;
    if (len == 0)
        return SMTP_PARSE_EMPTY;
    if (memchr(line, '\0', len))
        return SMTP_PARSE_NUL;
    if (o->verb == SMTP_UNKNOWN || (c.p < c.end && *c.p != ' ')) {
        o->verb = SMTP_UNKNOWN;
        return SMTP_PARSE_UNKNOWN;
    }
    size_t limit = o->verb == SMTP_AUTH ? SMTP_AUTH_LINE_MAX : SMTP_LINE_MAX;
    if (len > limit)
        return SMTP_PARSE_TOOLONG;
    /* Trailing spaces are not part of any argument. */
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    bool has_arg = c.p < c.end;
    if (has_arg)
        c.p++;                                /* the SP after the verb */
    while (c.p < c.end && *c.p == ' ')
        c.p++;
    switch (o->verb) {
    case SMTP_HELO:
    case SMTP_EHLO: {
        /* One argument: a domain or address literal. Checked loosely, as
         * clients send all sorts; only its presence and form are required. */
        if (c.p >= c.end)
            return SMTP_PARSE_SYNTAX;
        o->arg = c.p;
        while (c.p < c.end && *c.p != ' ') {
            unsigned char ch = (unsigned char)*c.p;
            if (ch < 33 || ch == 127)
                return SMTP_PARSE_SYNTAX;
            c.p++;
        }
        o->arglen = (size_t)(c.p - o->arg);
        if (o->arglen > 255)
            return SMTP_PARSE_SYNTAX;
        return 0;                             /* anything after it is ignored */
    }
    case SMTP_MAIL:
    case SMTP_RCPT:
        return mail_rcpt(&c, o, o->verb == SMTP_RCPT);
    case SMTP_DATA:
    case SMTP_RSET:
    case SMTP_QUIT:
    case SMTP_STARTTLS:
        return c.p < c.end ? SMTP_PARSE_SYNTAX : 0;
    case SMTP_NOOP:
    case SMTP_HELP:
        o->arg = c.p;
        o->arglen = (size_t)(c.end - c.p);
        return 0;
    case SMTP_VRFY:
    case SMTP_EXPN:
        if (c.p >= c.end)
            return SMTP_PARSE_SYNTAX;
        o->arg = c.p;
        o->arglen = (size_t)(c.end - c.p);
        return 0;
    case SMTP_AUTH: {
        o->arg = c.p;
        while (c.p < c.end && *c.p != ' ') {
            unsigned char ch = (unsigned char)*c.p;
            if (!is_alnum(ch) && ch != '-' && ch != '_')
                return SMTP_PARSE_SYNTAX;
            c.p++;
        }
        o->arglen = (size_t)(c.p - o->arg);
        if (o->arglen == 0 || o->arglen > 20)
            return SMTP_PARSE_SYNTAX;
        if (c.p < c.end) {
            c.p++;
            const char *r = c.p;
            while (c.p < c.end) {
                unsigned char ch = (unsigned char)*c.p;
                if (!is_alnum(ch) && ch != '+' && ch != '/' && ch != '=')
                    return SMTP_PARSE_SYNTAX;
                c.p++;
            }
            if (c.p == r)
                return SMTP_PARSE_SYNTAX;
            o->arg2 = r;
            o->arg2len = (c.p - r == 1 && *r == '=') ? 0 : (size_t)(c.p - r);
        }
        return 0;
    }
    case SMTP_BDAT: {
        const char *n = c.p;
        while (c.p < c.end && is_digit((unsigned char)*c.p))
            c.p++;
        if (!parse_u64(n, (size_t)(c.p - n), (uint64_t)1 << 63, &o->chunk))
            return SMTP_PARSE_SYNTAX;
        while (c.p < c.end && *c.p == ' ')
            c.p++;
        if (c.p < c.end) {
            if (!str_ieq(c.p, (size_t)(c.end - c.p), "LAST"))
                return SMTP_PARSE_SYNTAX;
            o->last = true;
        }
        return 0;
    }
    case SMTP_UNKNOWN:
        break;
    }
    return SMTP_PARSE_UNKNOWN;
}

const char *smtp_parse_reply(int code, enum smtp_verb v)
{
    switch (code) {
    case SMTP_PARSE_EMPTY:
        return "500 5.5.2 Error: empty command";
    case SMTP_PARSE_UNKNOWN:
        return "500 5.5.2 Error: command not recognized";
    case SMTP_PARSE_NUL:
        return "500 5.5.2 Error: NUL byte in command";
    case SMTP_PARSE_TOOLONG:
        if (v == SMTP_MAIL)
            return "501 5.1.7 Address too long";
        if (v == SMTP_RCPT)
            return "501 5.1.3 Address too long";
        return "500 5.5.2 Error: line too long";
    case SMTP_PARSE_PATH:
        return v == SMTP_MAIL ? "501 5.1.7 Bad sender address syntax"
                              : "501 5.1.3 Bad recipient address syntax";
    case SMTP_PARSE_PARAM:
        return "555 5.5.4 Unsupported parameter";
    case SMTP_PARSE_PARAM_VALUE:
        return "501 5.5.4 Invalid or repeated parameter value";
    case SMTP_PARSE_SYNTAX:
    default:
        switch (v) {
        case SMTP_HELO: return "501 5.5.4 Syntax: HELO hostname";
        case SMTP_EHLO: return "501 5.5.4 Syntax: EHLO hostname";
        case SMTP_MAIL: return "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]";
        case SMTP_RCPT: return "501 5.5.4 Syntax: RCPT TO:<address> [parameters]";
        case SMTP_VRFY: return "501 5.5.4 Syntax: VRFY address";
        case SMTP_EXPN: return "501 5.5.4 Syntax: EXPN list";
        case SMTP_AUTH: return "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
        case SMTP_BDAT: return "501 5.5.4 Syntax: BDAT size [LAST]";
        case SMTP_DATA: return "501 5.5.4 Syntax: DATA (no arguments)";
        case SMTP_RSET: return "501 5.5.4 Syntax: RSET (no arguments)";
        case SMTP_QUIT: return "501 5.5.4 Syntax: QUIT (no arguments)";
        case SMTP_STARTTLS: return "501 5.5.4 Syntax: STARTTLS (no arguments)";
        default: return "501 5.5.4 Syntax error in parameters or arguments";
        }
    }
}
