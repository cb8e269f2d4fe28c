/*
 * name.c - domain names: presentation text, wire form, compression
 * pointers, comparison. See name.h for the contract.
 */
#include "dns/name.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "dns/consts.h"

/* RFC 4343 section 3: only ASCII letters have case. Label length octets
 * (0..63) are below 'A', so lower-casing a whole wire name never changes
 * its structure. */
static inline uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

void dns_name_set_root(struct dns_name *n)
{
    n->len = 1;
    n->wire[0] = 0;
}

/* ---- presentation form ------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One label character at s[*i] (an escape or a plain character) into *out;
 * RFC 1035 section 5.1: "\X" is X, "\DDD" the octet of decimal value DDD. */
static int text_octet(const char *s, size_t len, size_t *i, uint8_t *out)
{
    if (s[*i] != '\\') {
        *out = (uint8_t)s[(*i)++];
        return 0;
    }
    (*i)++;
    if (*i == len)
        return OP_E_SYNTAX;                 /* a lone backslash at the end */
    if (!is_digit(s[*i])) {
        *out = (uint8_t)s[(*i)++];
        return 0;
    }
    if (len - *i < 3 || !is_digit(s[*i + 1]) || !is_digit(s[*i + 2]))
        return OP_E_SYNTAX;
    unsigned v = (unsigned)(s[*i] - '0') * 100 + (unsigned)(s[*i + 1] - '0') * 10 +
                 (unsigned)(s[*i + 2] - '0');
    if (v > 255)
        return OP_E_SYNTAX;
    *out = (uint8_t)v;
    *i += 3;
    return 0;
}

int dns_name_from_text(struct dns_name *out, const char *text, size_t len,
                       const struct dns_name *origin)
{
    if (len == 0)
        return OP_E_SYNTAX;
    if (len == 1 && text[0] == '.') {
        dns_name_set_root(out);
        return 0;
    }
    struct dns_name copy;
    if (origin == out) {                     /* "www" relative to itself */
        copy = *origin;
        origin = &copy;
    }
    /* Completed labels occupy wire[0..n); the label being read has its
     * length octet at wire[n] and ll octets after it. */
    size_t n = 0, ll = 0;
    bool absolute = false;
    size_t i = 0;
    while (i < len) {
        if (text[i] == '.') {
            if (ll == 0)
                return OP_E_SYNTAX;         /* empty label: ".a", "a..b" */
            out->wire[n] = (uint8_t)ll;
            n += 1 + ll;
            ll = 0;
            i++;
            absolute = (i == len);
            continue;
        }
        uint8_t c;
        int r = text_octet(text, len, &i, &c);
        if (r < 0)
            return r;
        if (ll == DNS_LABEL_MAX)
            return OP_E_TOOLONG;
        /* This label with c, plus the root label, must still fit. */
        if (n + 1 + ll + 1 + 1 > DNS_NAME_MAXWIRE)
            return OP_E_TOOLONG;
        out->wire[n + 1 + ll] = c;
        ll++;
    }
    if (ll > 0) {                            /* a last label without a dot */
        out->wire[n] = (uint8_t)ll;
        n += 1 + ll;
    }
    if (absolute || !origin) {
        out->wire[n++] = 0;
    } else {
        if (n + origin->len > DNS_NAME_MAXWIRE)
            return OP_E_TOOLONG;
        memcpy(out->wire + n, origin->wire, origin->len);
        n += origin->len;
    }
    out->len = (uint8_t)n;
    return 0;
}

/* The characters that BIND and dig escape as "\X" in names: '.' separates
 * labels, the others are special in master files (RFC 1035 section 5.1). */
static bool needs_backslash(uint8_t c)
{
    return c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
           c == '@' || c == '$';
}

int dns_name_to_text(const struct dns_name *n, char *out, size_t cap)
{
    size_t o = 0;
    if (n->len <= 1) {
        if (cap < 2)
            return -ENOSPC;
        out[0] = '.';
        out[1] = '\0';
        return 1;
    }
    for (size_t pos = 0; n->wire[pos] != 0; pos += 1 + n->wire[pos]) {
        for (size_t k = 1; k <= n->wire[pos]; k++) {
            uint8_t c = n->wire[pos + k];
            bool plain = c >= 0x21 && c <= 0x7e;
            size_t width = needs_backslash(c) ? 2 : plain ? 1 : 4;
            /* The label's dot and the final NUL must still fit after it. */
            if (o + width + 2 > cap)
                return -ENOSPC;
            if (width == 2) {
                out[o++] = '\\';
                out[o++] = (char)c;
            } else if (width == 4) {
                out[o++] = '\\';
                out[o++] = (char)('0' + c / 100);
                out[o++] = (char)('0' + c / 10 % 10);
                out[o++] = (char)('0' + c % 10);
            } else {
                out[o++] = (char)c;
            }
        }
        out[o++] = '.';
    }
    out[o] = '\0';
    return (int)o;
}

/* ---- wire form ---------------------------------------------------------------- */

/*
 * The one name reader behind dns_name_read() and dns_name_from_wire().
 * Labels are copied into out as they are met; pos is where the next label
 * octet is read, run_start where the current run of labels began (the
 * name's start, then each pointer's target). RFC 1035 section 4.1.4 lets a
 * pointer refer to "a prior occurrence of the same name"; requiring each
 * target to lie below run_start is that rule made checkable, and it makes
 * every jump go strictly backwards, so no loop can exist.
 */
static int read_name(const uint8_t *msg, size_t len, size_t off, bool allow_ptrs,
                     struct dns_name *out)
{
    size_t pos = off, run_start = off;
    size_t n = 0;             /* octets in out->wire */
    size_t used = 0;          /* octets at off, fixed at the first pointer */
    int ptrs = 0;

    for (;;) {
        if (pos >= len)
            return -EBADMSG;
        uint8_t c = msg[pos];
        switch (c & 0xC0) {
        case 0x00:                                   /* a label, or the root */
            if (c == 0) {
                if (out) {
                    out->wire[n] = 0;
                    out->len = (uint8_t)(n + 1);
                }
                if (ptrs == 0)
                    used = pos + 1 - off;
                return (int)used;
            }
            if (c > len - pos - 1)
                return -EBADMSG;                     /* label past the end */
            if (n + 1 + c + 1 > DNS_NAME_MAXWIRE)    /* room for the root too */
                return OP_E_TOOLONG;
            if (out)
                memcpy(out->wire + n, msg + pos, 1 + (size_t)c);
            n += 1 + (size_t)c;
            pos += 1 + (size_t)c;
            break;
        case 0xC0: {                                 /* a compression pointer */
            if (!allow_ptrs)
                return OP_E_SYNTAX;
            if (len - pos < 2)
                return -EBADMSG;
            size_t target = (size_t)(c & 0x3F) << 8 | msg[pos + 1];
            if (ptrs == 0)
                used = pos + 2 - off;
            if (target >= run_start || target < DNS_HEADER_SIZE)
                return OP_E_SYNTAX;
            if (++ptrs > DNS_NAME_MAXPTRS)
                return OP_E_SYNTAX;
            pos = run_start = target;
            break;
        }
        default:
            /* 0x40: extended label types (RFC 6891 section 5 deprecates
             * them, RFC 2673 binary labels are historic); 0x80: reserved. */
            return OP_E_SYNTAX;
        }
    }
}

int dns_name_read(const uint8_t *msg, size_t len, size_t off, struct dns_name *out)
{
    if (off >= len)
        return -EBADMSG;
    return read_name(msg, len, off, true, out);
}

int dns_name_from_wire(struct dns_name *out, const uint8_t *p, size_t len)
{
    return read_name(p, len, 0, false, out);
}

/* ---- comparing ------------------------------------------------------------------ */

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (lower(a->wire[i]) != lower(b->wire[i]))
            return false;
    return true;
}

/* Offsets of the non-root labels of n, left to right; returns their count. */
static int label_offsets(const struct dns_name *n, uint8_t off[DNS_NAME_MAXLABELS])
{
    int count = 0;
    for (size_t pos = 0; pos < n->len && n->wire[pos] != 0 && count < DNS_NAME_MAXLABELS;
         pos += 1 + n->wire[pos])
        off[count++] = (uint8_t)pos;
    return count;
}

/* RFC 4034 section 6.1: labels are compared as lower-cased octet strings,
 * and "the absence of an octet sorts before a zero value octet". */
static int label_compare(const uint8_t *a, const uint8_t *b)
{
    size_t la = a[0], lb = b[0];
    size_t min = la < lb ? la : lb;
    for (size_t i = 1; i <= min; i++) {
        uint8_t ca = lower(a[i]), cb = lower(b[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return la == lb ? 0 : (la < lb ? -1 : 1);
}

int dns_name_compare(const struct dns_name *a, const struct dns_name *b)
{
    uint8_t oa[DNS_NAME_MAXLABELS], ob[DNS_NAME_MAXLABELS];
    int na = label_offsets(a, oa), nb = label_offsets(b, ob);
    /* From the most significant (rightmost) label leftwards. */
    while (na > 0 && nb > 0) {
        int r = label_compare(a->wire + oa[--na], b->wire + ob[--nb]);
        if (r != 0)
            return r;
    }
    /* All shared labels equal: the name with labels left is the longer. */
    return (na > 0) - (nb > 0);
}

bool dns_name_is_subdomain(const struct dns_name *n, const struct dns_name *parent)
{
    int extra = dns_name_labels(n) - dns_name_labels(parent);
    if (extra < 0)
        return false;
    size_t pos = 0;
    while (extra-- > 0)
        pos += 1 + n->wire[pos];
    if (n->len - pos != parent->len)
        return false;
    for (size_t i = 0; i < parent->len; i++)
        if (lower(n->wire[pos + i]) != lower(parent->wire[i]))
            return false;
    return true;
}

/* ---- small helpers ------------------------------------------------------------------- */

int dns_name_labels(const struct dns_name *n)
{
    int count = 0;
    for (size_t pos = 0; pos < n->len && n->wire[pos] != 0; pos += 1 + n->wire[pos])
        count++;
    return count;
}

void dns_name_lower(struct dns_name *n)
{
    for (size_t i = 0; i < n->len; i++)
        n->wire[i] = lower(n->wire[i]);
}
