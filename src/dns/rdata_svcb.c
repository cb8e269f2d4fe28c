/*
 * rdata_svcb.c - the SvcParams of SVCB and HTTPS records (RFC 9460
 * sections 2.1, 7 and appendix A), in text and wire form.
 *
 * Text: one token per parameter, "key" or "key=value", the value possibly
 * in quotes (the lexer keeps key="a b" together as one token). Wire: each
 * parameter as key (16 bits), length (16 bits), value; keys in strictly
 * increasing order (section 2.2), so the text may list them in any order
 * but not twice.
 */
#include "dns/rdata_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* More parameters than this in one record are refused both ways, which
 * keeps the sorting below on the stack; real records have a handful. */
#define SVCB_MAXPARAMS 64

enum {
    K_MANDATORY = 0, K_ALPN = 1, K_NODEFAULTALPN = 2, K_PORT = 3, K_IPV4HINT = 4, K_ECH = 5,
    K_IPV6HINT = 6, K_DOHPATH = 7 /* RFC 9461 */, K_OHTTP = 8 /* RFC 9540 */,
    K_INVALID = 65535,             /* RFC 9460 section 14.3.2: reserved */
};

static const char *const key_names[] = {
    "mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint", "dohpath",
    "ohttp",
};
#define NKEYS (sizeof key_names / sizeof key_names[0])

/* A key name or keyNNNNN (section 2.1) into *key. */
static bool key_from_text(const char *s, size_t len, uint32_t *key)
{
    for (uint32_t k = 0; k < NKEYS; k++)
        if (strlen(key_names[k]) == len && memcmp(key_names[k], s, len) == 0) {
            *key = k;
            return true;
        }
    /* "key" and digits, without leading zeros (so each key has one name) */
    if (len > 3 && memcmp(s, "key", 3) == 0 && (len == 4 || s[3] != '0') &&
        rd_uint(s + 3, len - 3, 65535, key))
        return *key != K_INVALID;
    return false;
}

static int key_print(struct buf *b, unsigned key)
{
    if (key < NKEYS)
        return buf_puts(b, key_names[key]);
    return buf_printf(b, "key%u", key);
}

struct param {
    uint32_t key;
    const char *val;               /* NULL when the token has no '=' */
    size_t vlen;
    bool quoted;
};

/* Split "key=value" and strip the quotes of a quoted value. */
static int param_split(struct rd_out *o, const struct dns_token *t, struct param *p)
{
    const char *eq = memchr(t->text, '=', t->len);
    size_t klen = eq ? (size_t)(eq - t->text) : t->len;
    char sh[48];
    if (!key_from_text(t->text, klen, &p->key))
        return rd_fail(o, "'%s' is not a parameter key", rd_shown(t->text, klen, sh));
    p->val = NULL;
    p->vlen = 0;
    p->quoted = false;
    if (eq) {
        p->val = eq + 1;
        p->vlen = t->len - klen - 1;
        if (p->vlen >= 2 && p->val[0] == '"' && p->val[p->vlen - 1] == '"') {
            p->val++;
            p->vlen -= 2;
            p->quoted = true;
        }
    }
    return 0;
}

/* Comma-separated items of a value that holds no escapes (port lists,
 * addresses, key names): calls each with every item. */
typedef int (*item_fn)(struct rd_out *o, const char *s, size_t len);

static int for_items(struct rd_out *o, const struct param *p, item_fn fn)
{
    size_t start = 0;
    for (size_t i = 0; i <= p->vlen; i++) {
        if (i < p->vlen && p->val[i] != ',')
            continue;
        if (i == start)
            return rd_fail(o, "%s has an empty item in its list",
                           key_names[p->key < NKEYS ? p->key : 0]);
        int r = fn(o, p->val + start, i - start);
        if (r < 0)
            return r;
        start = i + 1;
    }
    return 0;
}

static int item_v4(struct rd_out *o, const char *s, size_t len)
{
    char tmp[INET_ADDRSTRLEN], sh[48];
    uint8_t a[4];
    if (len >= sizeof tmp || memchr(s, '\0', len))
        return rd_fail(o, "ipv4hint '%s' is not an IPv4 address", rd_shown(s, len, sh));
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, a) != 1)
        return rd_fail(o, "ipv4hint '%s' is not an IPv4 address", rd_shown(s, len, sh));
    return rd_put(o, a, 4);
}

static int item_v6(struct rd_out *o, const char *s, size_t len)
{
    char tmp[INET6_ADDRSTRLEN + 8], sh[48];
    uint8_t a[16];
    if (len >= sizeof tmp || memchr(s, '\0', len))
        return rd_fail(o, "ipv6hint '%s' is not an IPv6 address", rd_shown(s, len, sh));
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET6, tmp, a) != 1)
        return rd_fail(o, "ipv6hint '%s' is not an IPv6 address", rd_shown(s, len, sh));
    return rd_put(o, a, 16);
}

static int item_key(struct rd_out *o, const char *s, size_t len)
{
    uint32_t k;
    char sh[48];
    if (!key_from_text(s, len, &k))
        return rd_fail(o, "mandatory '%s' is not a parameter key", rd_shown(s, len, sh));
    return rd_put16(o, k);
}

static int cmp_u16(const uint8_t *a, const uint8_t *b)
{
    return (a[0] << 8 | a[1]) - (b[0] << 8 | b[1]);
}

/* Appendix A.1: a value-list is a char-string whose unescaped octets are
 * items split at ',' with '\' escaping ',' and '\' inside an item. */
static int alpn_from_text(struct rd_out *o, const struct param *p)
{
    size_t start = o->len;
    int n = rd_unescape(o, "alpn", p->val, p->vlen, o->p + o->len, o->cap - o->len);
    if (n < 0)
        return n;
    /* rewrite in place as length-prefixed ids: each id grows by one octet
     * but loses its comma, and the first one has room made for it */
    uint8_t *v = o->p + start;
    size_t vlen = (size_t)n;
    if (vlen == 0)
        return rd_fail(o, "alpn is empty");
    if (o->cap - start < vlen + 1)
        return -ENOSPC;
    memmove(v + 1, v, vlen);
    size_t rd = 1, wr = 0;
    while (rd <= vlen) {
        size_t lenpos = wr++;
        size_t idlen = 0;
        while (rd <= vlen && v[rd] != ',') {
            uint8_t c = v[rd++];
            if (c == '\\') {
                if (rd > vlen)
                    return rd_fail(o, "alpn ends in a lone backslash");
                c = v[rd++];
            }
            v[wr++] = c;
            idlen++;
        }
        if (idlen == 0 || idlen > 255)
            return rd_fail(o, "alpn has an id that is empty or longer than 255 octets");
        v[lenpos] = (uint8_t)idlen;
        rd++;                                      /* the comma */
        if (rd == vlen + 1 && v[vlen] == ',')
            return rd_fail(o, "alpn has an empty id after its last comma");
    }
    o->len = start + wr;
    return 0;
}

static int value_from_text(struct rd_out *o, const struct param *p)
{
    int r;
    bool has = p->val && p->vlen > 0;
    switch (p->key) {
    case K_MANDATORY: {
        if (!has)
            return rd_fail(o, "mandatory needs a list of keys");
        size_t start = o->len;
        if ((r = for_items(o, p, item_key)) < 0)
            return r;
        /* Section 8: sorted, no duplicates, and not "mandatory" itself. */
        uint8_t *v = o->p + start;
        size_t n = (o->len - start) / 2;
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cmp_u16(v + 2 * (j - 1), v + 2 * j) > 0; j--) {
                uint8_t t0 = v[2 * j], t1 = v[2 * j + 1];
                v[2 * j] = v[2 * j - 2];
                v[2 * j + 1] = v[2 * j - 1];
                v[2 * j - 2] = t0;
                v[2 * j - 1] = t1;
            }
        for (size_t i = 0; i < n; i++) {
            if (v[2 * i] == 0 && v[2 * i + 1] == 0)
                return rd_fail(o, "mandatory may not list mandatory");
            if (i && cmp_u16(v + 2 * i - 2, v + 2 * i) == 0)
                return rd_fail(o, "mandatory lists a key twice");
        }
        return 0;
    }
    case K_ALPN:
        if (!has)
            return rd_fail(o, "alpn needs a list of protocol ids");
        return alpn_from_text(o, p);
    case K_NODEFAULTALPN: case K_OHTTP:
        if (p->val)
            return rd_fail(o, "%s takes no value", key_names[p->key]);
        return 0;
    case K_PORT: {
        uint32_t v;
        if (!has || !rd_uint(p->val, p->vlen, 65535, &v))
            return rd_fail(o, "port needs a number up to 65535");
        return rd_put16(o, v);
    }
    case K_IPV4HINT:
        if (!has)
            return rd_fail(o, "ipv4hint needs a list of addresses");
        return for_items(o, p, item_v4);
    case K_IPV6HINT:
        if (!has)
            return rd_fail(o, "ipv6hint needs a list of addresses");
        return for_items(o, p, item_v6);
    case K_ECH: {
        if (!has)
            return rd_fail(o, "ech needs a base64 value");
        struct rd_b64 st = {0, 0, 0, 0};
        if ((r = rd_b64_decode(o, "ech", &st, p->val, p->vlen)) < 0)
            return r;
        return rd_b64_end(o, "ech", &st);
    }
    default:                                       /* dohpath and keyNNNNN */
        if (p->key == K_DOHPATH && !has)
            return rd_fail(o, "dohpath needs a URI template");
        if (!p->val)
            return 0;
        r = rd_unescape(o, key_names[p->key < NKEYS ? p->key : 0], p->val, p->vlen,
                        o->p + o->len, o->cap - o->len);
        if (r < 0)
            return r;
        o->len += (size_t)r;
        return 0;
    }
}

/* Keys that must come with others (section 7.1.1: no-default-alpn needs
 * alpn; section 8: every key in mandatory must be present). present[] is
 * the sorted key list; mand the mandatory value, if any. */
static bool deps_ok(const uint32_t *keys, size_t n, const uint8_t *mand, size_t mlen)
{
    bool alpn = false, nodef = false;
    for (size_t i = 0; i < n; i++) {
        alpn |= keys[i] == K_ALPN;
        nodef |= keys[i] == K_NODEFAULTALPN;
    }
    if (nodef && !alpn)
        return false;
    for (size_t m = 0; m + 1 < mlen; m += 2) {
        uint32_t k = (uint32_t)(mand[m] << 8 | mand[m + 1]);
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = keys[i] == k;
        if (!found)
            return false;
    }
    return true;
}

int rd_svcb_from_text(struct rd_out *o, const struct dns_token *tok, size_t ntok)
{
    struct param ps[SVCB_MAXPARAMS];
    uint32_t keys[SVCB_MAXPARAMS];
    if (ntok > SVCB_MAXPARAMS)
        return rd_fail(o, "more than %d parameters", SVCB_MAXPARAMS);
    int r;
    for (size_t i = 0; i < ntok; i++)
        if ((r = param_split(o, &tok[i], &ps[i])) < 0)
            return r;
    /* Section 2.2: the wire form lists keys in increasing order. */
    for (size_t i = 1; i < ntok; i++)
        for (size_t j = i; j > 0 && ps[j - 1].key > ps[j].key; j--) {
            struct param t = ps[j];
            ps[j] = ps[j - 1];
            ps[j - 1] = t;
        }
    size_t mand_at = 0, mand_len = 0;
    for (size_t i = 0; i < ntok; i++) {
        if (i && ps[i].key == ps[i - 1].key) {
            struct buf kb = BUF_INIT;
            key_print(&kb, ps[i].key);
            r = rd_fail(o, "the key %s is given twice", buf_cstr(&kb) ? buf_cstr(&kb) : "?");
            buf_free(&kb);
            return r;
        }
        keys[i] = ps[i].key;
        size_t at = o->len;
        if ((r = rd_put16(o, ps[i].key)) < 0 || (r = rd_put16(o, 0)) < 0 ||
            (r = value_from_text(o, &ps[i])) < 0)
            return r;
        size_t vlen = o->len - at - 4;
        if (vlen > 65535)
            return -ENOSPC;
        o->p[at + 2] = (uint8_t)(vlen >> 8);
        o->p[at + 3] = (uint8_t)vlen;
        if (ps[i].key == K_MANDATORY) {
            mand_at = at + 4;
            mand_len = vlen;
        }
    }
    if (!deps_ok(keys, ntok, o->p + mand_at, mand_len))
        return rd_fail(o, "a key in mandatory is missing, or no-default-alpn comes without alpn");
    return 0;
}

/* ---- wire -------------------------------------------------------------------------------- */

static int print_alpn(struct buf *b, const uint8_t *v, size_t n)
{
    /* Appendix A.1 backwards: ',' and '\' inside an id get a '\' before
     * them, ids are joined with ',', and the whole is written as a quoted
     * char-string (which escapes those backslashes once more). */
    if (buf_append(b, "=\"", 2) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n;) {
        uint8_t l = v[i++];
        if (i > 1 && buf_append(b, ",", 1) < 0)
            return -ENOMEM;
        for (size_t j = 0; j < l; j++) {
            uint8_t c = v[i + j], bs = '\\';
            if ((c == ',' || c == '\\') && rd_print_escaped(b, &bs, 1) < 0)
                return -ENOMEM;
            if (rd_print_escaped(b, &c, 1) < 0)
                return -ENOMEM;
        }
        i += l;
    }
    return buf_append(b, "\"", 1) < 0 ? -ENOMEM : 0;
}

/* Is v[0..n) a well-formed value for key? */
static bool value_ok(unsigned key, const uint8_t *v, size_t n)
{
    switch (key) {
    case K_MANDATORY:
        if (n == 0 || n % 2)
            return false;
        for (size_t i = 0; i < n; i += 2) {
            unsigned k = (unsigned)(v[i] << 8 | v[i + 1]);
            if (k == K_MANDATORY || k == K_INVALID || (i && cmp_u16(v + i - 2, v + i) >= 0))
                return false;
        }
        return true;
    case K_ALPN:
        if (n == 0)
            return false;
        for (size_t i = 0; i < n; i += 1u + v[i])
            if (v[i] == 0 || n - i - 1 < v[i])
                return false;
        return true;
    case K_NODEFAULTALPN: case K_OHTTP:
        return n == 0;
    case K_PORT:
        return n == 2;
    case K_IPV4HINT:
        return n > 0 && n % 4 == 0;
    case K_IPV6HINT:
        return n > 0 && n % 16 == 0;
    case K_ECH: case K_DOHPATH:
        return n > 0;
    case K_INVALID:
        return false;
    default:
        return true;
    }
}

int rd_svcb_walk(const uint8_t *p, size_t len, struct buf *b)
{
    uint32_t keys[SVCB_MAXPARAMS];
    size_t n = 0, mand_at = 0, mand_len = 0;
    for (size_t pos = 0; pos < len;) {
        if (len - pos < 4 || n == SVCB_MAXPARAMS)
            return -1;
        unsigned key = (unsigned)(p[pos] << 8 | p[pos + 1]);
        size_t vlen = (size_t)(p[pos + 2] << 8 | p[pos + 3]);
        const uint8_t *v = p + pos + 4;
        if (len - pos - 4 < vlen || (n && key <= keys[n - 1]) || !value_ok(key, v, vlen))
            return -1;
        if (key == K_MANDATORY) {
            mand_at = pos + 4;
            mand_len = vlen;
        }
        keys[n++] = key;
        pos += 4 + vlen;
        if (!b)
            continue;
        char tmp[INET6_ADDRSTRLEN];
        int r = buf_append(b, " ", 1) < 0 || key_print(b, key) < 0 ? -ENOMEM : 0;
        switch (key) {
        case K_MANDATORY:
            for (size_t i = 0; r == 0 && i < vlen; i += 2) {
                r = buf_append(b, i ? "," : "=", 1) < 0 ? -ENOMEM : 0;
                if (r == 0)
                    r = key_print(b, (unsigned)(v[i] << 8 | v[i + 1])) < 0 ? -ENOMEM : 0;
            }
            break;
        case K_ALPN:
            if (r == 0)
                r = print_alpn(b, v, vlen);
            break;
        case K_PORT:
            if (r == 0)
                r = buf_printf(b, "=%u", (unsigned)(v[0] << 8 | v[1])) < 0 ? -ENOMEM : 0;
            break;
        case K_IPV4HINT: case K_IPV6HINT: {
            size_t w = key == K_IPV4HINT ? 4 : 16;
            for (size_t i = 0; r == 0 && i < vlen; i += w) {
                inet_ntop(w == 4 ? AF_INET : AF_INET6, v + i, tmp, sizeof tmp);
                r = buf_append(b, i ? "," : "=", 1) < 0 || buf_puts(b, tmp) < 0 ? -ENOMEM : 0;
            }
            break;
        }
        case K_ECH:
            if (r == 0)
                r = buf_append(b, "=", 1) < 0 || rd_b64_print(b, v, vlen) < 0 ? -ENOMEM : 0;
            break;
        case K_NODEFAULTALPN: case K_OHTTP:
            break;
        default:
            /* dohpath and keyNNNNN: a quoted char-string; nothing when empty */
            if (r == 0 && vlen)
                r = buf_append(b, "=\"", 2) < 0 || rd_print_escaped(b, v, vlen) < 0 ||
                    buf_append(b, "\"", 1) < 0 ? -ENOMEM : 0;
            break;
        }
        if (r < 0)
            return r;
    }
    return deps_ok(keys, n, p + mand_at, mand_len) ? 0 : -1;
}
