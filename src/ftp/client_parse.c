/*
 * client_parse.c - the FTP client's pure parsers: what a server sends,
 * read over (pointer, length) without ever looking past the end. The
 * contract of each is in client.h.
 */
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "ftp/client.h"

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Length of the line at p[0 .. n) without its line end, and in *next the
 * offset after its LF; false when no LF is there yet. */
static bool line_at(const char *p, size_t n, size_t *linelen, size_t *next)
{
    const char *lf = memchr(p, '\n', n);
    if (!lf)
        return false;
    size_t l = (size_t)(lf - p);
    *next = l + 1;
    if (l > 0 && p[l - 1] == '\r')
        l--;
    *linelen = l;
    return true;
}

/* RFC 959 section 4.2.1: first digit 1-5, second 0-5, third any. */
static int code_at(const char *p, size_t n)
{
    if (n < 3 || p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '5' || !is_digit(p[2]))
        return -1;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

int ftpc_reply_parse(const char *p, size_t n, struct ftpc_reply *r)
{
    size_t limit = n < FTPC_REPLY_MAX ? n : FTPC_REPLY_MAX;
    size_t len, next;
    if (!line_at(p, limit, &len, &next)) {
        if (memchr(p, '\0', limit))
            return OP_E_SYNTAX;
        /* What is there must already look like a reply. */
        if (n >= 1 && (p[0] < '1' || p[0] > '5'))
            return OP_E_SYNTAX;
        if (n >= 3 && code_at(p, n) < 0)
            return OP_E_SYNTAX;
        if (n >= 4 && p[3] != ' ' && p[3] != '-' && p[3] != '\r')
            return OP_E_SYNTAX;
        return n >= FTPC_REPLY_MAX ? OP_E_TOOLONG : 0;
    }
    int code = code_at(p, len);
    if (code < 0 || (len > 3 && p[3] != ' ' && p[3] != '-'))
        return OP_E_SYNTAX;
    memset(r, 0, sizeof *r);
    r->code = code;
    if (len == 3 || p[3] == ' ') {
        r->len = next;
        return memchr(p, '\0', r->len) ? OP_E_SYNTAX : 1;
    }
    /* Multi-line: up to the first line "xyz " (or just "xyz") with the same
     * code; lines between are text, whatever they start with. */
    size_t off = next;
    for (;;) {
        if (!line_at(p + off, limit - off, &len, &next)) {
            if (memchr(p, '\0', limit))
                return OP_E_SYNTAX;
            return limit == FTPC_REPLY_MAX ? OP_E_TOOLONG : 0;
        }
        if (len >= 3 && memcmp(p + off, p, 3) == 0 && (len == 3 || p[off + 3] == ' ')) {
            r->len = off + next;
            r->multi = true;
            return memchr(p, '\0', r->len) ? OP_E_SYNTAX : 1;
        }
        off += next;
    }
}

size_t ftpc_reply_text(const char *p, const struct ftpc_reply *r, char *out, size_t cap)
{
    size_t o = 0, off = 0;
    if (cap == 0)
        return 0;
    while (off < r->len) {
        size_t len, next;
        if (!line_at(p + off, r->len - off, &len, &next))
            break;
        if (off > 0 && o + 1 < cap)
            out[o++] = '\n';
        for (size_t i = 0; i < len && o + 1 < cap; i++) {
            unsigned char ch = (unsigned char)p[off + i];
            out[o++] = (ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : (char)ch;
        }
        off += next;
    }
    out[o] = '\0';
    return o;
}

int ftpc_epsv_parse(const char *p, size_t n, uint16_t *port)
{
    const char *open = memchr(p, '(', n);
    if (!open)
        return OP_E_SYNTAX;
    size_t i = (size_t)(open - p) + 1;
    if (n - i < 5)
        return OP_E_SYNTAX;
    char d = p[i];
    /* RFC 2428 section 3: the delimiter is any of ASCII 33-126; the same
     * character separates all fields, and the first two are empty here. */
    if (d < 33 || d > 126 || is_digit(d) || p[i + 1] != d || p[i + 2] != d)
        return OP_E_SYNTAX;
    i += 3;
    unsigned long v = 0;
    size_t digits = 0;
    while (i < n && is_digit(p[i]) && digits < 6) {
        v = v * 10 + (unsigned long)(p[i] - '0');
        i++;
        digits++;
    }
    if (digits == 0 || v == 0 || v > 65535 || i + 1 >= n || p[i] != d || p[i + 1] != ')')
        return OP_E_SYNTAX;
    *port = (uint16_t)v;
    return 0;
}

int ftpc_pasv_parse(const char *p, size_t n, uint8_t addr[4], uint16_t *port)
{
    /* Skip the reply code, then try each digit that starts a number. */
    size_t start = n >= 3 && code_at(p, n) >= 0 ? 3 : 0;
    for (size_t s = start; s < n; s++) {
        if (!is_digit(p[s]) || (s > 0 && is_digit(p[s - 1])))
            continue;
        unsigned v[6];
        size_t i = s;
        int k;
        for (k = 0; k < 6; k++) {
            unsigned x = 0;
            size_t digits = 0;
            while (i < n && is_digit(p[i]) && digits < 4) {
                x = x * 10 + (unsigned)(p[i] - '0');
                i++;
                digits++;
            }
            if (digits == 0 || digits > 3 || x > 255)
                break;
            v[k] = x;
            if (k < 5) {
                if (i >= n || p[i] != ',')
                    break;
                i++;
            }
        }
        if (k < 6 || (i < n && is_digit(p[i])))
            continue;
        for (int j = 0; j < 4; j++)
            addr[j] = (uint8_t)v[j];
        *port = (uint16_t)(v[4] << 8 | v[5]);
        if (*port == 0)
            return OP_E_SYNTAX;
        return 0;
    }
    return OP_E_SYNTAX;
}

static const struct {
    const char *name;
    const char *param;    /* a required first parameter, or NULL */
    unsigned bit;
} feat_names[] = {
    {"EPSV", NULL, FTPC_FEAT_EPSV},
    {"EPRT", NULL, FTPC_FEAT_EPRT},
    {"SIZE", NULL, FTPC_FEAT_SIZE},
    {"MDTM", NULL, FTPC_FEAT_MDTM},
    {"REST", "STREAM", FTPC_FEAT_REST_STREAM},
    {"MLST", NULL, FTPC_FEAT_MLST},
    {"UTF8", NULL, FTPC_FEAT_UTF8},
    {"AUTH", NULL, 0},        /* its parameters list the mechanisms: below */
    {"PBSZ", NULL, FTPC_FEAT_PBSZ},
    {"PROT", NULL, FTPC_FEAT_PROT},
};

/* Does the space-separated list q[0 .. n) hold word (case-insensitive)? */
static bool has_word(const char *q, size_t n, const char *word)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (q[i] == ' ' || q[i] == ';'))
            i++;
        size_t s = i;
        while (i < n && q[i] != ' ' && q[i] != ';')
            i++;
        if (i > s && str_ieq(q + s, i - s, word))
            return true;
    }
    return false;
}

unsigned ftpc_feat_parse(const char *p, size_t n)
{
    struct ftpc_reply r;
    if (ftpc_reply_parse(p, n, &r) != 1 || r.code != 211 || !r.multi)
        return 0;
    unsigned bits = 0;
    size_t len = 0, next = 0, off = r.len;
    if (!line_at(p, r.len, &len, &off))    /* skip "211-..." */
        return 0;
    while (off < r.len && line_at(p + off, r.len - off, &len, &next)) {
        const char *l = p + off;
        off += next;
        if (len < 2 || l[0] != ' ')
            continue;       /* the closing line, or not a feature line */
        l++;
        len--;
        size_t w = 0;
        while (w < len && l[w] != ' ')
            w++;
        const char *params = w < len ? l + w + 1 : l + len;
        size_t plen = w < len ? len - w - 1 : 0;
        for (size_t i = 0; i < ARRAY_LEN(feat_names); i++) {
            if (!str_ieq(l, w, feat_names[i].name))
                continue;
            if (feat_names[i].bit == 0) {
                /* RFC 4217 section 6: "AUTH TLS" (some list "AUTH TLS;SSL"). */
                if (has_word(params, plen, "TLS"))
                    bits |= FTPC_FEAT_AUTH_TLS;
            } else if (!feat_names[i].param || has_word(params, plen, feat_names[i].param)) {
                bits |= feat_names[i].bit;
            }
        }
    }
    return bits;
}

int ftpc_pwd_parse(const char *p, size_t n, char *out, size_t cap)
{
    const char *q = memchr(p, '"', n);
    if (!q || cap == 0)
        return OP_E_SYNTAX;
    size_t i = (size_t)(q - p) + 1, o = 0;
    while (i < n) {
        char ch = p[i];
        if (ch == '\0' || ch == '\r' || ch == '\n')
            return OP_E_SYNTAX;
        if (ch == '"') {
            if (i + 1 < n && p[i + 1] == '"') {
                i++;          /* "" stands for one " */
            } else {
                if (o == 0)
                    return OP_E_SYNTAX;
                out[o] = '\0';
                return (int)o;
            }
        }
        if (o + 1 >= cap)
            return OP_E_TOOLONG;
        out[o++] = ch;
        i++;
    }
    return OP_E_SYNTAX;
}

static bool digits_at(const char *p, size_t n, size_t at, size_t count, int *v)
{
    if (at + count > n)
        return false;
    int x = 0;
    for (size_t i = 0; i < count; i++) {
        if (!is_digit(p[at + i]))
            return false;
        x = x * 10 + (p[at + i] - '0');
    }
    *v = x;
    return true;
}

/* Days from 1970-01-01 to the date (proleptic Gregorian), no time zones. */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ftpc_time_parse(const char *p, size_t n, time_t *t)
{
    size_t i = 0;
    if (n >= 4 && code_at(p, n) >= 0 && p[3] == ' ')
        i = 4;
    while (i < n && p[i] == ' ')
        i++;
    int y, mo, d, h, mi, s;
    if (!digits_at(p, n, i, 4, &y) || !digits_at(p, n, i + 4, 2, &mo) ||
        !digits_at(p, n, i + 6, 2, &d) || !digits_at(p, n, i + 8, 2, &h) ||
        !digits_at(p, n, i + 10, 2, &mi) || !digits_at(p, n, i + 12, 2, &s))
        return OP_E_SYNTAX;
    i += 14;
    if (i < n && p[i] == '.') {           /* fractions of a second: ignored */
        i++;
        while (i < n && is_digit(p[i]))
            i++;
    }
    if (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != ' ')
        return OP_E_SYNTAX;
    /* RFC 3659 section 2.3: seconds up to 60 (a leap second). */
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return OP_E_SYNTAX;
    *t = (time_t)(days_from_civil(y, mo, d) * 86400L + h * 3600L + mi * 60L + s);
    return 0;
}

int ftpc_mlsd_parse(const char *p, size_t n, struct ftpc_entry *e)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    memset(e, 0, sizeof *e);
    e->type = '?';
    const char *sp = memchr(p, ' ', n);
    if (!sp)
        return OP_E_SYNTAX;
    size_t factlen = (size_t)(sp - p);
    e->name = sp + 1;
    e->namelen = n - factlen - 1;
    if (e->namelen == 0 || memchr(e->name, '\0', e->namelen))
        return OP_E_SYNTAX;
    /* RFC 3659 section 7.2: facts are "name=value;" each. */
    size_t i = 0;
    while (i < factlen) {
        size_t s = i;
        while (i < factlen && p[i] != ';')
            i++;
        const char *f = p + s;
        size_t flen = i - s;
        if (i < factlen)
            i++;
        if (flen == 0)
            continue;
        const char *eq = memchr(f, '=', flen);
        if (!eq)
            return OP_E_SYNTAX;
        size_t klen = (size_t)(eq - f);
        const char *v = eq + 1;
        size_t vlen = flen - klen - 1;
        if (str_ieq(f, klen, "type")) {
            if (str_ieq(v, vlen, "file"))
                e->type = 'f';
            else if (str_ieq(v, vlen, "dir"))
                e->type = 'd';
            else if (str_ieq(v, vlen, "cdir"))
                e->type = 'c';
            else if (str_ieq(v, vlen, "pdir"))
                e->type = 'p';
            else
                e->type = 'l';
        } else if (str_ieq(f, klen, "size")) {
            uint64_t x = 0;
            if (vlen == 0 || vlen > 19)
                return OP_E_SYNTAX;
            for (size_t k = 0; k < vlen; k++) {
                if (!is_digit(v[k]))
                    return OP_E_SYNTAX;
                x = x * 10 + (uint64_t)(v[k] - '0');
            }
            e->size = x;
            e->has_size = true;
        } else if (str_ieq(f, klen, "modify")) {
            if (ftpc_time_parse(v, vlen, &e->modify) == 0)
                e->has_modify = true;
        }
    }
    return 0;
}
