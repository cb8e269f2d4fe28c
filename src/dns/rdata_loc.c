/*
 * rdata_loc.c - LOC records (RFC 1876): a location as latitude,
 * longitude, altitude and three sizes, in text and wire form.
 *
 * Text (section 3):
 *   d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [siz[m] [hp[m] [vp[m]]]]
 * with seconds to a thousandth and metres to a centimetre; the sizes
 * default to 1m, 10000m and 10m. Wire (section 2): version 0, the three
 * sizes as a digit and a power of ten (of centimetres) in one octet each,
 * then latitude and longitude in thousandths of a second offset by 2^31,
 * and the altitude in centimetres from 100,000 m below the WGS 84 spheroid.
 */
#include "dns/rdata_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

#define LOC_EQUATOR 2147483648u        /* 2^31: 0 degrees */
#define LOC_ALT_BASE 10000000u         /* 100,000 m in centimetres */
#define MS_PER_DEGREE 3600000u

/* A decimal number "[-]int[.frac][m]" with at most maxfrac fraction
 * digits, scaled by 10^maxfrac, into *v. */
static bool decimal(const struct dns_token *t, unsigned maxfrac, bool sign, bool unit, int64_t *v)
{
    const char *s = t->text, *end = t->text + t->len;
    bool neg = false;
    if (unit && s < end && (end[-1] == 'm' || end[-1] == 'M'))
        end--;
    if (sign && s < end && *s == '-') {
        neg = true;
        s++;
    }
    int64_t x = 0;
    unsigned digits = 0, frac = 0;
    bool dot = false;
    for (; s < end; s++) {
        if (*s == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*s < '0' || *s > '9' || (dot && ++frac > maxfrac) || ++digits > 12)
            return false;
        x = x * 10 + (*s - '0');
    }
    if (digits == 0 || (dot && frac == 0))
        return false;
    for (; frac < maxfrac; frac++)
        x *= 10;
    *v = neg ? -x : x;
    return true;
}

/* One of latitude (hemi "NS", max 90) or longitude ("EW", 180). */
static int coordinate(struct rd_out *o, const struct dns_token *tok, size_t ntok, size_t *i,
                      const char *hemi, unsigned max, const char *what)
{
    int64_t part[3] = {0, 0, 0};
    static const unsigned frac[3] = {0, 0, 3}, limit[3] = {0, 59, 59999};
    size_t k = 0;
    for (; k < 3 && *i < ntok; k++) {
        const struct dns_token *t = &tok[*i];
        if (t->len == 1 && ((t->text[0] & ~0x20) == hemi[0] || (t->text[0] & ~0x20) == hemi[1]))
            break;
        if (!decimal(t, frac[k], false, false, &part[k]) || (k && part[k] > limit[k]) ||
            (k == 0 && part[0] > max)) {
            char sh[48];
            return rd_fail(o, "LOC: %s '%s' is not a number of %s in range", what,
                           rd_shown(t->text, t->len, sh),
                           k == 0 ? "degrees" : k == 1 ? "minutes" : "seconds");
        }
        ++*i;
    }
    if (k == 0 || *i >= ntok || tok[*i].len != 1 ||
        ((tok[*i].text[0] & ~0x20) != hemi[0] && (tok[*i].text[0] & ~0x20) != hemi[1]))
        return rd_fail(o, "LOC: %s needs degrees, optional minutes and seconds, then %c or %c",
                       what, hemi[0], hemi[1]);
    bool positive = (tok[*i].text[0] & ~0x20) == hemi[0];
    ++*i;
    int64_t ms = (part[0] * 60 + part[1]) * 60000 + part[2];
    if (ms > (int64_t)max * MS_PER_DEGREE)
        return rd_fail(o, "LOC: %s is beyond %u degrees", what, max);
    return rd_put32(o, (uint32_t)(positive ? LOC_EQUATOR + ms : LOC_EQUATOR - ms));
}

/* A size in metres into the digit-and-exponent octet (section 2). */
static uint8_t size_octet(int64_t cm)
{
    unsigned e = 0;
    while (cm >= 10) {
        cm /= 10;
        e++;
    }
    return (uint8_t)(cm << 4 | e);
}

int rd_loc_from_text(struct rd_out *o, const struct dns_token *tok, size_t ntok)
{
    uint8_t head[4] = {0, 0x12, 0x16, 0x13};   /* version 0; 1m, 10000m, 10m */
    size_t i = 0, at = o->len;
    int r;
    if ((r = rd_put(o, head, 4)) < 0 ||
        (r = coordinate(o, tok, ntok, &i, "NS", 90, "latitude")) < 0 ||
        (r = coordinate(o, tok, ntok, &i, "EW", 180, "longitude")) < 0)
        return r;
    char sh[48];
    int64_t v;
    if (i >= ntok)
        return rd_fail(o, "LOC: altitude is missing");
    if (!decimal(&tok[i], 2, true, true, &v) || v < -(int64_t)LOC_ALT_BASE ||
        v > (int64_t)UINT32_MAX - LOC_ALT_BASE)
        return rd_fail(o, "LOC: altitude '%s' is not metres from -100000 to 42849672.95",
                       rd_shown(tok[i].text, tok[i].len, sh));
    if ((r = rd_put32(o, (uint32_t)(v + LOC_ALT_BASE))) < 0)
        return r;
    static const char *const names[3] = {"size", "horizontal precision", "vertical precision"};
    for (int k = 0; k < 3 && ++i < ntok; k++) {
        if (!decimal(&tok[i], 2, false, true, &v) || v > 9000000000)
            return rd_fail(o, "LOC: %s '%s' is not metres from 0 to 90000000", names[k],
                           rd_shown(tok[i].text, tok[i].len, sh));
        o->p[at + 1 + (size_t)k] = size_octet(v);
    }
    if (i + 1 < ntok && i < ntok)
        return rd_fail(o, "LOC: '%s' is one field too many",
                       rd_shown(tok[i + 1].text, tok[i + 1].len, sh));
    return 0;
}

static int print_size(struct buf *b, uint8_t s)
{
    unsigned long m = s >> 4, e = s & 15, cm = m;
    for (unsigned k = 0; k < e; k++)
        cm *= 10;
    /* as dig: whole metres from 1m up, else 0.xxm */
    if (e >= 2)
        return buf_printf(b, " %lum", cm / 100);
    return buf_printf(b, " 0.%02lum", cm);
}

int rd_loc_walk(const uint8_t *p, size_t len, struct buf *b)
{
    if (len != 16 || p[0] != 0)
        return -1;
    /* sizes: a digit 0-9 and an exponent 0-9, and no zero with an exponent
     * (it would print as 0 and come back as 0x00) */
    for (int k = 1; k <= 3; k++)
        if ((p[k] >> 4) > 9 || (p[k] & 15) > 9 || (p[k] >> 4 == 0 && p[k] != 0))
            return -1;
    uint32_t c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (uint32_t)p[4 + 4 * k] << 24 | (uint32_t)p[5 + 4 * k] << 16 |
               (uint32_t)p[6 + 4 * k] << 8 | p[7 + 4 * k];
    for (int k = 0; k < 2; k++) {
        uint32_t ms = c[k] >= LOC_EQUATOR ? c[k] - LOC_EQUATOR : LOC_EQUATOR - c[k];
        if (ms > (k == 0 ? 90u : 180u) * MS_PER_DEGREE)
            return -1;
    }
    if (!b)
        return 0;
    for (int k = 0; k < 2; k++) {
        bool pos = c[k] >= LOC_EQUATOR;
        uint32_t ms = pos ? c[k] - LOC_EQUATOR : LOC_EQUATOR - c[k];
        if (buf_printf(b, "%s%u %u %u.%03u %c", k ? " " : "", ms / MS_PER_DEGREE,
                       ms / 60000 % 60, ms / 1000 % 60, ms % 1000,
                       k == 0 ? (pos ? 'N' : 'S') : (pos ? 'E' : 'W')) < 0)
            return -ENOMEM;
    }
    bool below = c[2] < LOC_ALT_BASE;
    uint32_t alt = below ? LOC_ALT_BASE - c[2] : c[2] - LOC_ALT_BASE;
    if (buf_printf(b, " %s%u.%02um", below ? "-" : "", alt / 100, alt % 100) < 0 ||
        print_size(b, p[1]) < 0 || print_size(b, p[2]) < 0 || print_size(b, p[3]) < 0)
        return -ENOMEM;
    return 0;
}
