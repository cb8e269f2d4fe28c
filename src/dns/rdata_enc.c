/*
 * rdata_enc.c - the encodings that RDATA text forms use: decimal numbers,
 * escaped character-strings, hex, base64, base32hex and RRSIG times.
 */
#include "dns/rdata_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

int rd_fail(struct rd_out *o, const char *fmt, ...)
{
    if (o->err && o->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->err, o->errlen, fmt, ap);
        va_end(ap);
    }
    return OP_E_SYNTAX;
}

const char *rd_shown(const char *s, size_t len, char buf[48])
{
    size_t n = len < 40 ? len : 40;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(buf + n, len > 40 ? "..." : "");
    return buf;
}

int rd_put(struct rd_out *o, const void *p, size_t n)
{
    if (o->cap - o->len < n)
        return -ENOSPC;
    if (n)
        memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

int rd_put8(struct rd_out *o, unsigned v)
{
    uint8_t b = (uint8_t)v;
    return rd_put(o, &b, 1);
}

int rd_put16(struct rd_out *o, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return rd_put(o, b, 2);
}

int rd_put32(struct rd_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return rd_put(o, b, 4);
}

bool rd_uint(const char *s, size_t len, uint32_t max, uint32_t *v)
{
    if (len == 0 || len > 10)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > max)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* RFC 1035 section 5.1: \X is X, \DDD the octet DDD (decimal). */
int rd_unescape(struct rd_out *o, const char *what, const char *s, size_t len, uint8_t *out,
                size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\\') {
            if (i + 1 >= len)
                return rd_fail(o, "%s ends in a lone backslash", what);
            c = (uint8_t)s[++i];
            if (c >= '0' && c <= '9') {
                if (i + 2 >= len || s[i + 1] < '0' || s[i + 1] > '9' || s[i + 2] < '0' ||
                    s[i + 2] > '9')
                    return rd_fail(o, "%s has a \\DDD escape without three digits", what);
                unsigned d = (unsigned)(c - '0') * 100 + (unsigned)(s[i + 1] - '0') * 10 +
                             (unsigned)(s[i + 2] - '0');
                if (d > 255)
                    return rd_fail(o, "%s has the escape \\%u, over 255", what, d);
                c = (uint8_t)d;
                i += 2;
            }
        }
        if (n >= cap)
            return -ENOSPC;
        out[n++] = c;
    }
    return (int)n;
}

int rd_print_escaped(struct buf *b, const uint8_t *p, size_t n)
{
    char *w = buf_reserve(b, n * 4);
    if (!w)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            w[k++] = '\\';
            w[k++] = (char)c;
        } else if (c < 0x20 || c > 0x7e) {
            w[k++] = '\\';
            w[k++] = (char)('0' + c / 100);
            w[k++] = (char)('0' + c / 10 % 10);
            w[k++] = (char)('0' + c % 10);
        } else {
            w[k++] = (char)c;
        }
    }
    buf_commit(b, k);
    return 0;
}

/* ---- hex ----------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rd_hex_decode(struct rd_out *o, const char *what, const char *s, size_t len, int *half)
{
    for (size_t i = 0; i < len; i++) {
        int v = hexval(s[i]);
        if (v < 0)
            return rd_fail(o, "%s: '%c' is not a hex digit", what,
                           s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
        if (*half < 0) {
            *half = v;
        } else {
            int r = rd_put8(o, (unsigned)(*half << 4 | v));
            if (r < 0)
                return r;
            *half = -1;
        }
    }
    return 0;
}

int rd_hex_print(struct buf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    char *w = buf_reserve(b, n * 2);
    if (!w)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        w[2 * i] = digits[p[i] >> 4];
        w[2 * i + 1] = digits[p[i] & 15];
    }
    buf_commit(b, n * 2);
    return 0;
}

/* ---- base64 (RFC 4648 section 4) --------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int rd_b64_decode(struct rd_out *o, const char *what, struct rd_b64 *st, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        st->chars++;
        if (s[i] == '=') {
            st->pad++;
            continue;
        }
        int v = b64val(s[i]);
        if (v < 0)
            return rd_fail(o, "%s: '%c' is not a base64 character", what,
                           s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
        if (st->pad)
            return rd_fail(o, "%s: base64 goes on after its '=' padding", what);
        st->acc = (st->acc << 6) | (uint32_t)v;
        st->bits += 6;
        if (st->bits >= 8) {
            st->bits -= 8;
            int r = rd_put8(o, (st->acc >> st->bits) & 0xff);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int rd_b64_end(struct rd_out *o, const char *what, const struct rd_b64 *st)
{
    /* Groups of four characters, the last one padded with at most two '='. */
    if (st->chars % 4 != 0 || st->pad > 2)
        return rd_fail(o, "%s: base64 is not padded to a multiple of 4 characters", what);
    return 0;
}

int rd_b64_print(struct buf *b, const uint8_t *p, size_t n)
{
    char *w = buf_reserve(b, (n + 2) / 3 * 4);
    if (!w)
        return -ENOMEM;
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        w[k++] = b64_alphabet[v >> 18];
        w[k++] = b64_alphabet[(v >> 12) & 63];
        w[k++] = b64_alphabet[(v >> 6) & 63];
        w[k++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        w[k++] = b64_alphabet[v >> 18];
        w[k++] = b64_alphabet[(v >> 12) & 63];
        w[k++] = '=';
        w[k++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        w[k++] = b64_alphabet[v >> 18];
        w[k++] = b64_alphabet[(v >> 12) & 63];
        w[k++] = b64_alphabet[(v >> 6) & 63];
        w[k++] = '=';
    }
    buf_commit(b, k);
    return 0;
}

/* ---- base32hex (RFC 4648 section 7) -------------------------------------------------------- */

static int b32val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'V')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'v')
        return c - 'a' + 10;
    return -1;
}

int rd_b32hex_decode(struct rd_out *o, const char *what, const char *s, size_t len, uint8_t *out,
                     size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b32val(s[i]);
        if (v < 0)
            return rd_fail(o, "%s: '%c' is not a base32hex character", what,
                           s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return rd_fail(o, "%s is longer than %zu octets", what, cap);
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* Unpadded: the characters left over must be fewer than one octet's
     * worth and carry only zero bits, or another text would mean the same. */
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        return rd_fail(o, "%s: base32hex of a wrong length", what);
    return (int)n;
}

int rd_b32hex_print(struct buf *b, const uint8_t *p, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    char *w = buf_reserve(b, (n * 8 + 4) / 5);
    if (!w)
        return -ENOMEM;
    size_t k = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            w[k++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits)
        w[k++] = alphabet[(acc << (5 - bits)) & 31];
    buf_commit(b, k);
    return 0;
}

/* ---- RRSIG times (RFC 4034 section 3.2) -------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool rd_time_from_text(const char *s, size_t len, uint32_t *v)
{
    /* Fourteen digits are a date; anything shorter a plain number. */
    if (len != 14)
        return rd_uint(s, len, UINT32_MAX, v);
    unsigned f[6];
    static const unsigned width[6] = {4, 2, 2, 2, 2, 2};
    size_t pos = 0;
    for (int i = 0; i < 6; i++) {
        uint32_t x;
        if (!rd_uint(s + pos, width[i], 9999, &x))
            return false;
        f[i] = x;
        pos += width[i];
    }
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 ||
        f[2] > mdays[f[1] - 1] + (f[1] == 2 && leap(f[0])) || f[3] > 23 || f[4] > 59 || f[5] > 59)
        return false;
    int64_t t = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
    if (t > UINT32_MAX)
        return false;
    *v = (uint32_t)t;
    return true;
}

int rd_time_print(struct buf *b, uint32_t v)
{
    /* The inverse of days_from_civil. */
    int64_t z = v / 86400 + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    unsigned s = v % 86400;
    return buf_printf(b, "%04lld%02u%02u%02u%02u%02u", (long long)y, m, d, s / 3600, s / 60 % 60,
                      s % 60) < 0 ? -ENOMEM : 0;
}
