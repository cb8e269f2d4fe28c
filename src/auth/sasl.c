/*
 * sasl.c - strict base64 (RFC 4648) and the PLAIN mechanism (RFC 4616).
 *
 * The base64 alphabet is mapped with arithmetic on masks instead of a lookup
 * table or a chain of comparisons: the input carries passwords, and neither
 * memory access patterns nor branches should depend on their characters.
 * Validation may still stop early; whether input is well-formed is not secret.
 */
#include "auth/sasl.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

/* -1 (all bits set) if lo <= c <= hi, else 0, without a branch. For small
 * non-negative operands, lo-1-c is negative exactly when c >= lo and c-hi-1
 * exactly when c <= hi, so the sign bit of their AND answers both. */
static int in_range(int c, int lo, int hi)
{
    return -(int)(((unsigned)(lo - 1 - c) & (unsigned)(c - hi - 1)) >> 31);
}

/* The 6-bit value of a base64 character (RFC 4648 section 4, Table 1), or -1
 * for anything else, '=' included. Exactly one term below is non-zero. */
static int b64_val(unsigned char ch)
{
    int c = ch, v = -1;
    v += in_range(c, 'A', 'Z') & (c - 'A' + 1);
    v += in_range(c, 'a', 'z') & (c - 'a' + 27);
    v += in_range(c, '0', '9') & (c - '0' + 53);
    v += in_range(c, '+', '+') & 63;
    v += in_range(c, '/', '/') & 64;
    return v;
}

/* The base64 character for the 6-bit value v. */
static char b64_chr(unsigned v)
{
    int x = (int)v, c = x + 'A';
    c += in_range(x, 26, 51) & ('a' - 'A' - 26);
    c += in_range(x, 52, 61) & ('0' - 'A' - 52);
    c += in_range(x, 62, 62) & ('+' - 'A' - 62);
    c += in_range(x, 63, 63) & ('/' - 'A' - 63);
    return (char)c;
}

int sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
    /* RFC 4648 section 4: the encoded form is whole 4-character quanta,
     * the last one padded with '=' when the data is not a multiple of 3. */
    if (len % 4 != 0)
        return OP_E_SYNTAX;
    if (len == 0)
        return 0;
    if (len / 4 > (size_t)INT_MAX / 3)
        return OP_E_SYNTAX;
    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > outlen)
        return OP_E_SYNTAX;

    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        size_t qpad = i + 4 == len ? pad : 0;
        int a = b64_val((unsigned char)in[i]);
        int b = b64_val((unsigned char)in[i + 1]);
        int c = qpad == 2 ? 0 : b64_val((unsigned char)in[i + 2]);
        int d = qpad >= 1 ? 0 : b64_val((unsigned char)in[i + 3]);
        /* '=' anywhere but the checked tail maps to -1 and fails here. */
        if ((a | b | c | d) < 0)
            goto bad;
        /* RFC 4648 section 3.5: the bits that pad the last character
         * must be zero, or one text could encode the same bytes several
         * ways; refusing them keeps the decoding canonical. */
        if ((qpad == 2 && (b & 0x0f)) || (qpad == 1 && (c & 0x03)))
            goto bad;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        if (qpad < 2)
            out[o++] = (unsigned char)(v >> 8);
        if (qpad < 1)
            out[o++] = (unsigned char)v;
    }
    return (int)n;

bad:
    explicit_bzero(out, o);
    return OP_E_SYNTAX;
}

int sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    if (len > ((size_t)INT_MAX - 1) / 4 * 3 - 3)
        return -ENOSPC;
    size_t need = (len + 2) / 3 * 4;
    if (need + 1 > outlen)
        return -ENOSPC;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t rem = len - i;
        uint32_t v = (uint32_t)in[i] << 16;
        if (rem > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (rem > 2)
            v |= in[i + 2];
        out[o++] = b64_chr(v >> 18 & 63);
        out[o++] = b64_chr(v >> 12 & 63);
        out[o++] = rem > 1 ? b64_chr(v >> 6 & 63) : '=';
        out[o++] = rem > 2 ? b64_chr(v & 63) : '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* Length of the UTF-8 character at p (at most n bytes), or 0 if the bytes
 * there are not one. The ranges are RFC 4616 section 2's SAFE production
 * (which is RFC 3629's: no overlong forms, no surrogates, nothing above
 * U+10FFFF), NUL excluded. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;    /* range of the second byte */
    if (c >= 0x01 && c <= 0x7f)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k = utf8_char(p, n);
        if (k == 0)
            return false;
        p += k;
        n -= k;
    }
    return true;
}

/* A field of the PLAIN message: at most SASL_FIELD_MAX-1 octets (RFC 4616
 * section 2 requires accepting 255), UTF-8, non-empty unless may_be_empty. */
static bool plain_field_ok(const unsigned char *p, size_t n, bool may_be_empty)
{
    if (n >= SASL_FIELD_MAX || (n == 0 && !may_be_empty))
        return false;
    return utf8_valid(p, n);
}

static void field_set(char dst[SASL_FIELD_MAX], const unsigned char *p, size_t n)
{
    memcpy(dst, p, n);
    dst[n] = '\0';
}

int sasl_plain_decode(const char *b64, size_t len, char authzid[SASL_FIELD_MAX],
                      char authcid[SASL_FIELD_MAX], char passwd[SASL_FIELD_MAX])
{
    /* The longest acceptable message: three full fields and two NULs. */
    unsigned char msg[3 * (SASL_FIELD_MAX - 1) + 2];
    int r = OP_E_SYNTAX;

    authzid[0] = authcid[0] = passwd[0] = '\0';
    int n = sasl_b64_decode(b64, len, msg, sizeof msg);
    if (n < 0)
        return OP_E_SYNTAX;

    /* RFC 4616 section 2:
     *   message = [authzid] UTF8NUL authcid UTF8NUL passwd
     * so exactly two NULs; a third would sit inside passwd, which SAFE
     * excludes. */
    size_t len_all = (size_t)n;
    const unsigned char *nul1 = memchr(msg, 0, len_all);
    if (!nul1)
        goto out;
    const unsigned char *cid = nul1 + 1;
    const unsigned char *nul2 = memchr(cid, 0, len_all - (size_t)(cid - msg));
    if (!nul2)
        goto out;
    const unsigned char *pw = nul2 + 1;
    size_t zl = (size_t)(nul1 - msg);
    size_t cl = (size_t)(nul2 - cid);
    size_t pl = len_all - (size_t)(pw - msg);
    if (memchr(pw, 0, pl))
        goto out;
    if (!plain_field_ok(msg, zl, true) || !plain_field_ok(cid, cl, false) ||
        !plain_field_ok(pw, pl, false))
        goto out;

    field_set(authzid, msg, zl);
    field_set(authcid, cid, cl);
    field_set(passwd, pw, pl);
    r = 0;
out:
    explicit_bzero(msg, sizeof msg);
    return r;
}
