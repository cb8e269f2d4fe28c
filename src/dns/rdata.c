/*
 * rdata.c - RDATA between presentation form and wire form, driven by a
 * table of field layouts per type (see struct field below).
 *
 * The printer and the checker are one walk over the wire form: with an
 * output buffer it prints, without one it only checks. A type's RDATA is
 * printed in its own form only if the walk accepts it; the walk accepts
 * only what the text parser could have produced, so that text printed
 * here always reads back to the same octets (the zone-file fuzzer holds
 * us to that). Anything else is printed in the generic form.
 */
#include "dns/rdata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/rdata_int.h"
#include "dns/rdnames.h"

enum ftype {
    F_END = 0,
    F_U8,      /* decimal 0-255 */
    F_ALG,     /* a DNSSEC algorithm: 8 bits, or a mnemonic on input */
    F_DIGEST,  /* a DS digest type: 8 bits, or a mnemonic on input */
    F_U16,     /* decimal 0-65535 */
    F_U32,     /* decimal 0-4294967295 */
    F_TTL,     /* 32 bits, with units allowed (SOA timers, as BIND reads them) */
    F_A,       /* dotted IPv4 address */
    F_AAAA,    /* IPv6 address (RFC 4291 section 2.2 in, RFC 5952 out) */
    F_NAME,    /* a domain name, uncompressed */
    F_STR,     /* one <character-string> */
    F_STRS,    /* one or more <character-string>s, to the end */
    F_HEX,     /* hex to the end, one or more octets, possibly several tokens */
    F_SALT,    /* an octet of length, then that many octets in hex; "-" is empty */
    F_B64,     /* base64 to the end, one or more octets, possibly several tokens */
    F_HASH,    /* an octet of length, then that many octets in base32hex */
    F_BITMAP,  /* NSEC type bitmap to the end (RFC 4034 section 4.1.2) */
    F_TYPE,    /* a type mnemonic, 16 bits */
    F_TIME,    /* RRSIG time, 32 bits */
    F_TAG,     /* CAA tag: an octet of length, then letters and digits */
    F_REST,    /* one character-string that runs to the end, no length octet */
    F_SVCB,    /* SvcParams to the end */
    F_LOC,     /* the whole of a LOC record */
};

struct field {
    enum ftype t;
    const char *name;
};

struct rtype {
    const char *name;              /* the type, for messages */
    struct field f[10];            /* ended by F_END (the zero that fills the rest) */
};

#define FIELDS(...) {__VA_ARGS__}

static const struct rtype *rtype_of(uint16_t type)
{
    /* RFC 1035 sections 3.3 and 3.4 */
    static const struct rtype a = {"A", FIELDS({F_A, "address"})};
    static const struct rtype ns = {"NS", FIELDS({F_NAME, "name server"})};
    static const struct rtype cname = {"CNAME", FIELDS({F_NAME, "target"})};
    static const struct rtype ptr = {"PTR", FIELDS({F_NAME, "target"})};
    static const struct rtype mbox = {"", FIELDS({F_NAME, "name"})};
    static const struct rtype minfo = {"MINFO", FIELDS({F_NAME, "rmailbx"}, {F_NAME, "emailbx"})};
    static const struct rtype soa = {
        "SOA", FIELDS({F_NAME, "primary name server"}, {F_NAME, "mailbox"}, {F_U32, "serial"},
                      {F_TTL, "refresh"}, {F_TTL, "retry"}, {F_TTL, "expire"},
                      {F_TTL, "minimum"})};
    static const struct rtype mx = {"MX", FIELDS({F_U16, "preference"}, {F_NAME, "exchange"})};
    static const struct rtype txt = {"TXT", FIELDS({F_STRS, "text"})};
    static const struct rtype spf = {"SPF", FIELDS({F_STRS, "text"})};
    static const struct rtype hinfo = {"HINFO", FIELDS({F_STR, "CPU"}, {F_STR, "OS"})};
    /* RFC 1183 */
    static const struct rtype rp = {"RP", FIELDS({F_NAME, "mailbox"}, {F_NAME, "TXT name"})};
    static const struct rtype afsdb = {"AFSDB", FIELDS({F_U16, "subtype"}, {F_NAME, "hostname"})};
    static const struct rtype rt = {"RT", FIELDS({F_U16, "preference"}, {F_NAME, "host"})};
    /* RFC 1876 */
    static const struct rtype loc = {"LOC", FIELDS({F_LOC, "location"})};
    /* RFC 3596 */
    static const struct rtype aaaa = {"AAAA", FIELDS({F_AAAA, "address"})};
    /* RFC 2782 */
    static const struct rtype srv = {"SRV", FIELDS({F_U16, "priority"}, {F_U16, "weight"},
                                                   {F_U16, "port"}, {F_NAME, "target"})};
    /* RFC 3403 section 4.1 */
    static const struct rtype naptr = {
        "NAPTR", FIELDS({F_U16, "order"}, {F_U16, "preference"}, {F_STR, "flags"},
                        {F_STR, "services"}, {F_STR, "regexp"}, {F_NAME, "replacement"})};
    /* RFC 2230 */
    static const struct rtype kx = {"KX", FIELDS({F_U16, "preference"}, {F_NAME, "exchanger"})};
    /* RFC 6672 */
    static const struct rtype dname = {"DNAME", FIELDS({F_NAME, "target"})};
    /* RFC 4034 section 5.3, RFC 7344 */
    static const struct rtype ds = {"DS", FIELDS({F_U16, "key tag"}, {F_ALG, "algorithm"},
                                                 {F_DIGEST, "digest type"}, {F_HEX, "digest"})};
    static const struct rtype cds = {"CDS", FIELDS({F_U16, "key tag"}, {F_ALG, "algorithm"},
                                                   {F_DIGEST, "digest type"}, {F_HEX, "digest"})};
    /* RFC 4255 */
    static const struct rtype sshfp = {"SSHFP", FIELDS({F_U8, "algorithm"}, {F_U8, "fingerprint type"},
                                                       {F_HEX, "fingerprint"})};
    /* RFC 4034 section 3.2 */
    static const struct rtype rrsig = {
        "RRSIG", FIELDS({F_TYPE, "type covered"}, {F_ALG, "algorithm"}, {F_U8, "labels"},
                        {F_TTL, "original TTL"}, {F_TIME, "expiration"}, {F_TIME, "inception"},
                        {F_U16, "key tag"}, {F_NAME, "signer"}, {F_B64, "signature"})};
    /* RFC 4034 section 4.2 */
    static const struct rtype nsec = {"NSEC", FIELDS({F_NAME, "next name"}, {F_BITMAP, "type"})};
    /* RFC 4034 section 2.2 */
    static const struct rtype dnskey = {"DNSKEY", FIELDS({F_U16, "flags"}, {F_U8, "protocol"},
                                                         {F_ALG, "algorithm"}, {F_B64, "key"})};
    static const struct rtype cdnskey = {"CDNSKEY", FIELDS({F_U16, "flags"}, {F_U8, "protocol"},
                                                           {F_ALG, "algorithm"}, {F_B64, "key"})};
    /* RFC 4701 */
    static const struct rtype dhcid = {"DHCID", FIELDS({F_B64, "data"})};
    /* RFC 5155 sections 3.3 and 4.3 */
    static const struct rtype nsec3 = {
        "NSEC3", FIELDS({F_U8, "hash algorithm"}, {F_U8, "flags"}, {F_U16, "iterations"},
                        {F_SALT, "salt"}, {F_HASH, "next hashed owner"}, {F_BITMAP, "type"})};
    static const struct rtype nsec3param = {
        "NSEC3PARAM",
        FIELDS({F_U8, "hash algorithm"}, {F_U8, "flags"}, {F_U16, "iterations"}, {F_SALT, "salt"})};
    /* RFC 6698 section 2.2, RFC 8162 */
    static const struct rtype tlsa = {"TLSA", FIELDS({F_U8, "usage"}, {F_U8, "selector"},
                                                     {F_U8, "matching type"}, {F_HEX, "data"})};
    static const struct rtype smimea = {"SMIMEA", FIELDS({F_U8, "usage"}, {F_U8, "selector"},
                                                         {F_U8, "matching type"}, {F_HEX, "data"})};
    /* RFC 7929 */
    static const struct rtype openpgpkey = {"OPENPGPKEY", FIELDS({F_B64, "key"})};
    /* RFC 7477 */
    static const struct rtype csync = {"CSYNC", FIELDS({F_U32, "serial"}, {F_U16, "flags"},
                                                       {F_BITMAP, "type"})};
    /* RFC 8976 */
    static const struct rtype zonemd = {"ZONEMD", FIELDS({F_U32, "serial"}, {F_U8, "scheme"},
                                                         {F_U8, "hash algorithm"}, {F_HEX, "digest"})};
    /* RFC 9460 section 2.1 */
    static const struct rtype svcb = {"SVCB", FIELDS({F_U16, "priority"}, {F_NAME, "target"},
                                                     {F_SVCB, "parameter"})};
    static const struct rtype https = {"HTTPS", FIELDS({F_U16, "priority"}, {F_NAME, "target"},
                                                       {F_SVCB, "parameter"})};
    /* RFC 7553 */
    static const struct rtype uri = {"URI", FIELDS({F_U16, "priority"}, {F_U16, "weight"},
                                                   {F_REST, "target"})};
    /* RFC 8659 section 4.1 */
    static const struct rtype caa = {"CAA", FIELDS({F_U8, "flags"}, {F_TAG, "tag"},
                                                   {F_REST, "value"})};

    switch (type) {
    case DNS_TYPE_A: return &a;
    case DNS_TYPE_NS: return &ns;
    case DNS_TYPE_MD: case DNS_TYPE_MF: case DNS_TYPE_MB: case DNS_TYPE_MG: case DNS_TYPE_MR:
        return &mbox;
    case DNS_TYPE_CNAME: return &cname;
    case DNS_TYPE_SOA: return &soa;
    case DNS_TYPE_PTR: return &ptr;
    case DNS_TYPE_HINFO: return &hinfo;
    case DNS_TYPE_MINFO: return &minfo;
    case DNS_TYPE_MX: return &mx;
    case DNS_TYPE_TXT: return &txt;
    case DNS_TYPE_RP: return &rp;
    case DNS_TYPE_AFSDB: return &afsdb;
    case DNS_TYPE_RT: return &rt;
    case DNS_TYPE_AAAA: return &aaaa;
    case DNS_TYPE_LOC: return &loc;
    case DNS_TYPE_SRV: return &srv;
    case DNS_TYPE_NAPTR: return &naptr;
    case DNS_TYPE_KX: return &kx;
    case DNS_TYPE_DNAME: return &dname;
    case DNS_TYPE_DS: return &ds;
    case DNS_TYPE_SSHFP: return &sshfp;
    case DNS_TYPE_RRSIG: return &rrsig;
    case DNS_TYPE_NSEC: return &nsec;
    case DNS_TYPE_DNSKEY: return &dnskey;
    case DNS_TYPE_DHCID: return &dhcid;
    case DNS_TYPE_NSEC3: return &nsec3;
    case DNS_TYPE_NSEC3PARAM: return &nsec3param;
    case DNS_TYPE_TLSA: return &tlsa;
    case DNS_TYPE_SMIMEA: return &smimea;
    case DNS_TYPE_CDS: return &cds;
    case DNS_TYPE_CDNSKEY: return &cdnskey;
    case DNS_TYPE_OPENPGPKEY: return &openpgpkey;
    case DNS_TYPE_CSYNC: return &csync;
    case DNS_TYPE_ZONEMD: return &zonemd;
    case DNS_TYPE_SVCB: return &svcb;
    case DNS_TYPE_HTTPS: return &https;
    case DNS_TYPE_SPF: return &spf;
    case DNS_TYPE_URI: return &uri;
    case DNS_TYPE_CAA: return &caa;
    default: return NULL;
    }
}

/* ---- text to wire ---------------------------------------------------------------------- */

/* Type name for messages: the table's, or the mnemonic. */
static const char *tname(uint16_t type, const struct rtype *rt, char buf[DNS_MNEMONIC_MAX])
{
    return rt && rt->name[0] ? rt->name : dns_type_to_text(type, buf);
}

/* A TTL with optional units (RFC 2308 section 4 leaves the form to BIND,
 * which reads 1w2d3h4m5s, case-insensitive, or a plain number). */
int dns_ttl_from_text(const char *s, size_t len, uint32_t *out)
{
    uint64_t total = 0, cur = 0;
    bool digits = false, units = false;
    if (len == 0)
        return OP_E_SYNTAX;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (uint64_t)(c - '0');
            if (cur > UINT32_MAX)
                return OP_E_SYNTAX;
            digits = true;
            continue;
        }
        uint64_t mult;
        switch (c | 0x20) {
        case 'w': mult = 604800; break;
        case 'd': mult = 86400; break;
        case 'h': mult = 3600; break;
        case 'm': mult = 60; break;
        case 's': mult = 1; break;
        default: return OP_E_SYNTAX;
        }
        if (!digits)
            return OP_E_SYNTAX;
        total += cur * mult;
        if (total > UINT32_MAX)
            return OP_E_SYNTAX;
        cur = 0;
        digits = false;
        units = true;
    }
    if (digits) {
        /* a bare number is seconds, but only alone: "1h30" is a typo */
        if (units)
            return OP_E_SYNTAX;
        total = cur;
    }
    *out = (uint32_t)total;
    return 0;
}

/* State while reading one record's tokens. */
struct rd_in {
    const struct dns_token *tok;
    size_t ntok, i;
    const struct dns_name *origin;
    const char *type;              /* for messages */
};

/* Put the type's name before the sentence a helper wrote. */
static int with_type(struct rd_out *o, const char *type)
{
    char tmp[256];
    if (!o->err || !o->errlen)
        return OP_E_SYNTAX;
    snprintf(tmp, sizeof tmp, "%s", o->err);
    return rd_fail(o, "%s: %s", type, tmp);
}

static int need(struct rd_in *in, struct rd_out *o, const char *field)
{
    if (in->i >= in->ntok)
        return rd_fail(o, "%s: %s is missing", in->type, field);
    return 0;
}

/* A token made printable for messages. */
static const char *shown(const struct dns_token *t, char buf[48])
{
    return rd_shown(t->text, t->len, buf);
}

static int name_from_token(struct rd_in *in, struct rd_out *o, const struct dns_token *t,
                           const char *field, struct dns_name *n)
{
    char sh[48];
    /* "@" is the origin in names inside RDATA too (RFC 1035 section 5.1). */
    if (!t->quoted && t->len == 1 && t->text[0] == '@') {
        if (!in->origin)
            return rd_fail(o, "%s: %s \"@\" has no origin to stand for", in->type, field);
        *n = *in->origin;
        return 0;
    }
    int r = dns_name_from_text(n, t->text, t->len, in->origin);
    if (r == OP_E_TOOLONG)
        return rd_fail(o, "%s: %s '%s' is too long (labels up to 63, names up to 255 octets)",
                       in->type, field, shown(t, sh));
    if (r < 0)
        return rd_fail(o, "%s: %s '%s' is not a domain name", in->type, field, shown(t, sh));
    return 0;
}

/* Bitmap of types into the RFC 4034 section 4.1.2 form: windows of up to
 * 32 octets, in increasing order, each ending at its last non-zero octet. */
static int bitmap_from_text(struct rd_in *in, struct rd_out *o, const char *field)
{
    uint8_t bits[8192];
    memset(bits, 0, sizeof bits);
    bool any = false;
    for (; in->i < in->ntok; in->i++) {
        const struct dns_token *t = &in->tok[in->i];
        uint16_t ty;
        char sh[48];
        if (dns_type_from_text(t->text, t->len, &ty) < 0)
            return rd_fail(o, "%s: '%s' in the %s list is not a type", in->type, shown(t, sh),
                           field);
        bits[ty >> 3] |= (uint8_t)(0x80 >> (ty & 7));
        any = true;
    }
    if (!any)
        return 0;
    for (unsigned w = 0; w < 256; w++) {
        int last = -1;
        for (int k = 0; k < 32; k++)
            if (bits[w * 32 + (unsigned)k])
                last = k;
        if (last < 0)
            continue;
        int r;
        if ((r = rd_put8(o, w)) < 0 || (r = rd_put8(o, (unsigned)last + 1)) < 0 ||
            (r = rd_put(o, bits + w * 32, (size_t)last + 1)) < 0)
            return r;
    }
    return 0;
}

/* Mnemonics read (never printed: dig prints the numbers) for DNSSEC
 * algorithms (IANA registry, RFC 4034 appendix A.1 and later) and DS
 * digest types (RFC 4034 appendix A.2, RFC 4509, RFC 6605). */
struct mnem {
    const char *name;
    uint8_t value;
};

static const struct mnem algorithms[] = {
    {"RSAMD5", 1}, {"DH", 2}, {"DSA", 3}, {"RSASHA1", 5}, {"DSA-NSEC3-SHA1", 6},
    {"RSASHA1-NSEC3-SHA1", 7}, {"RSASHA256", 8}, {"RSASHA512", 10}, {"ECC-GOST", 12},
    {"ECDSAP256SHA256", 13}, {"ECDSAP384SHA384", 14}, {"ED25519", 15}, {"ED448", 16},
    {"INDIRECT", 252}, {"PRIVATEDNS", 253}, {"PRIVATEOID", 254}, {NULL, 0},
};

static const struct mnem digests[] = {
    {"SHA-1", 1}, {"SHA-256", 2}, {"GOST", 3}, {"SHA-384", 4}, {NULL, 0},
};

static bool mnemonic(const struct mnem *m, const struct dns_token *t, uint32_t *v)
{
    for (; m->name; m++)
        if (strlen(m->name) == t->len && strncasecmp(m->name, t->text, t->len) == 0) {
            *v = m->value;
            return true;
        }
    return false;
}

static int field_from_text(struct rd_in *in, struct rd_out *o, const struct field *f)
{
    int r;
    char sh[48];
    const struct dns_token *t = in->i < in->ntok ? &in->tok[in->i] : NULL;
    uint32_t v;

    switch (f->t) {
    case F_ALG: case F_DIGEST:
        if ((r = need(in, o, f->name)) < 0)
            return r;
        if (mnemonic(f->t == F_ALG ? algorithms : digests, t, &v)) {
            in->i++;
            return rd_put8(o, v);
        }
        /* FALLTHROUGH */
    case F_U8: case F_U16: case F_U32: {
        uint32_t max = f->t == F_U16 ? 65535 : f->t == F_U32 ? UINT32_MAX : 255;
        if ((r = need(in, o, f->name)) < 0)
            return r;
        if (!rd_uint(t->text, t->len, max, &v)) {
            bool digits = t->len > 0;
            for (size_t k = 0; k < t->len; k++)
                digits = digits && t->text[k] >= '0' && t->text[k] <= '9';
            if (digits)
                return rd_fail(o, "%s: %s %s is over %lu", in->type, f->name, shown(t, sh),
                               (unsigned long)max);
            return rd_fail(o, "%s: %s '%s' is not a number", in->type, f->name, shown(t, sh));
        }
        in->i++;
        return f->t == F_U16 ? rd_put16(o, v) : f->t == F_U32 ? rd_put32(o, v) : rd_put8(o, v);
    }
    case F_TTL:
        if ((r = need(in, o, f->name)) < 0)
            return r;
        if (dns_ttl_from_text(t->text, t->len, &v) < 0)
            return rd_fail(o, "%s: %s '%s' is not a number of seconds (like 3600 or 1h)",
                           in->type, f->name, shown(t, sh));
        in->i++;
        return rd_put32(o, v);
    case F_TIME:
        if ((r = need(in, o, f->name)) < 0)
            return r;
        if (!rd_time_from_text(t->text, t->len, &v))
            return rd_fail(o, "%s: %s '%s' is not a time (YYYYMMDDHHmmSS, or seconds)",
                           in->type, f->name, shown(t, sh));
        in->i++;
        return rd_put32(o, v);
    case F_TYPE: {
        uint16_t ty;
        if ((r = need(in, o, f->name)) < 0)
            return r;
        if (dns_type_from_text(t->text, t->len, &ty) < 0)
            return rd_fail(o, "%s: %s '%s' is not a type", in->type, f->name, shown(t, sh));
        in->i++;
        return rd_put16(o, ty);
    }
    case F_A: case F_AAAA: {
        char tmp[64];
        uint8_t addr[16];
        if ((r = need(in, o, f->name)) < 0)
            return r;
        int af = f->t == F_A ? AF_INET : AF_INET6;
        if (t->len >= sizeof tmp || memchr(t->text, '\0', t->len))
            return rd_fail(o, "%s: %s '%s' is not an %s address", in->type, f->name,
                           shown(t, sh), af == AF_INET ? "IPv4" : "IPv6");
        memcpy(tmp, t->text, t->len);
        tmp[t->len] = '\0';
        if (inet_pton(af, tmp, addr) != 1)
            return rd_fail(o, "%s: %s '%s' is not an %s address", in->type, f->name,
                           shown(t, sh), af == AF_INET ? "IPv4" : "IPv6");
        in->i++;
        return rd_put(o, addr, af == AF_INET ? 4 : 16);
    }
    case F_NAME: {
        struct dns_name n;
        if ((r = need(in, o, f->name)) < 0 || (r = name_from_token(in, o, t, f->name, &n)) < 0)
            return r;
        in->i++;
        return rd_put(o, n.wire, n.len);
    }
    case F_STR: case F_STRS:
        if ((r = need(in, o, f->name)) < 0)
            return r;
        do {
            t = &in->tok[in->i];
            /* RFC 1035 section 3.3: a length octet, so at most 255 octets. */
            size_t at = o->len;
            if ((r = rd_put8(o, 0)) < 0)
                return r;
            size_t room = o->cap - o->len < 255 ? o->cap - o->len : 255;
            r = rd_unescape(o, f->name, t->text, t->len, o->p + o->len, room);
            if (r == -ENOSPC && room == 255)
                return rd_fail(o, "%s: %s \"%s\" is longer than 255 octets", in->type,
                               f->name, shown(t, sh));
            if (r < 0)
                return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
            o->p[at] = (uint8_t)r;
            o->len += (size_t)r;
            in->i++;
        } while (f->t == F_STRS && in->i < in->ntok);
        return 0;
    case F_REST: {
        if ((r = need(in, o, f->name)) < 0)
            return r;
        r = rd_unescape(o, f->name, t->text, t->len, o->p + o->len, o->cap - o->len);
        if (r < 0)
            return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
        o->len += (size_t)r;
        in->i++;
        return 0;
    }
    case F_TAG: {
        if ((r = need(in, o, f->name)) < 0)
            return r;
        /* RFC 8659 section 4.1: 1-15 letters and digits. */
        bool ok = t->len >= 1 && t->len <= 15 && !t->quoted;
        for (size_t k = 0; ok && k < t->len; k++) {
            char c = t->text[k];
            ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
        }
        if (!ok)
            return rd_fail(o, "%s: %s '%s' is not 1 to 15 letters and digits", in->type,
                           f->name, shown(t, sh));
        if ((r = rd_put8(o, (unsigned)t->len)) < 0)
            return r;
        in->i++;
        return rd_put(o, t->text, t->len);
    }
    case F_HEX: {
        if ((r = need(in, o, f->name)) < 0)
            return r;
        int half = -1;
        for (; in->i < in->ntok; in->i++)
            if ((r = rd_hex_decode(o, f->name, in->tok[in->i].text, in->tok[in->i].len,
                                   &half)) < 0)
                return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
        if (half >= 0)
            return rd_fail(o, "%s: %s has an odd number of hex digits", in->type, f->name);
        return 0;
    }
    case F_SALT: {
        if ((r = need(in, o, f->name)) < 0)
            return r;
        /* RFC 5155 section 3.3: "-" is the empty salt. */
        size_t at = o->len;
        if ((r = rd_put8(o, 0)) < 0)
            return r;
        in->i++;
        if (t->len == 1 && t->text[0] == '-')
            return 0;
        int half = -1;
        if ((r = rd_hex_decode(o, f->name, t->text, t->len, &half)) < 0)
            return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
        if (half >= 0)
            return rd_fail(o, "%s: %s has an odd number of hex digits", in->type, f->name);
        if (o->len - at - 1 > 255)
            return rd_fail(o, "%s: %s is longer than 255 octets", in->type, f->name);
        o->p[at] = (uint8_t)(o->len - at - 1);
        return 0;
    }
    case F_HASH: {
        uint8_t h[255];
        if ((r = need(in, o, f->name)) < 0)
            return r;
        r = rd_b32hex_decode(o, f->name, t->text, t->len, h, sizeof h);
        if (r < 0)
            return with_type(o, in->type);
        if (r == 0)
            return rd_fail(o, "%s: %s is empty", in->type, f->name);
        in->i++;
        int r2;
        if ((r2 = rd_put8(o, (unsigned)r)) < 0)
            return r2;
        return rd_put(o, h, (size_t)r);
    }
    case F_B64: {
        if ((r = need(in, o, f->name)) < 0)
            return r;
        struct rd_b64 st = {0, 0, 0, 0};
        size_t at = o->len;
        for (; in->i < in->ntok; in->i++)
            if ((r = rd_b64_decode(o, f->name, &st, in->tok[in->i].text,
                                   in->tok[in->i].len)) < 0)
                return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
        if ((r = rd_b64_end(o, f->name, &st)) < 0)
            return with_type(o, in->type);
        if (o->len == at)
            return rd_fail(o, "%s: %s is empty", in->type, f->name);
        return 0;
    }
    case F_BITMAP:
        return bitmap_from_text(in, o, f->name);
    case F_LOC:
        r = rd_loc_from_text(o, in->tok + in->i, in->ntok - in->i);
        in->i = in->ntok;
        return r;
    case F_SVCB:
        r = rd_svcb_from_text(o, in->tok + in->i, in->ntok - in->i);
        if (r == OP_E_SYNTAX)
            return with_type(o, in->type);
        in->i = in->ntok;
        return r;
    case F_END:
        break;
    }
    return 0;
}

static bool walk(const struct rtype *rt, const uint8_t *rd, size_t len, struct buf *b, int *err);

/* RFC 3597 section 5: \# <length> <hex>..., the hex possibly split. */
static int generic_from_text(uint16_t type, struct rd_in *in, struct rd_out *o,
                             const struct rtype *rt)
{
    char sh[48];
    uint32_t n;
    if (in->ntok < 2)
        return rd_fail(o, "%s: the generic form \\# needs a length", in->type);
    if (!rd_uint(in->tok[1].text, in->tok[1].len, DNS_RDATA_MAX, &n))
        return rd_fail(o, "%s: generic length '%s' is not a number up to 65535", in->type,
                       shown(&in->tok[1], sh));
    int half = -1, r;
    for (size_t k = 2; k < in->ntok; k++)
        if ((r = rd_hex_decode(o, "generic data", in->tok[k].text, in->tok[k].len, &half)) < 0)
            return r == OP_E_SYNTAX ? with_type(o, in->type) : r;
    if (half >= 0)
        return rd_fail(o, "%s: generic data has an odd number of hex digits", in->type);
    if (o->len != n)
        return rd_fail(o, "%s: generic data is %zu octets, not the %u its length says",
                       in->type, o->len, n);
    /* Known types must hold what their own form could have said. */
    int e = 0;
    if ((rt && !walk(rt, o->p, o->len, NULL, &e)) ||
        (dns_rdnames_flags(type) && dns_rdata_check(type, DNS_CLASS_IN, o->p, 0, o->len, false)))
        return rd_fail(o, "%s: generic data does not fit the layout of the type", in->type);
    return (int)o->len;
}

int dns_rdata_from_text(uint16_t type, const struct dns_token *tok, size_t ntok,
                        const struct dns_name *origin, uint8_t *out, size_t cap, char *err,
                        size_t errlen)
{
    char tb[DNS_MNEMONIC_MAX], sh[48];
    const struct rtype *rt = rtype_of(type);
    struct rd_in in = {tok, ntok, 0, origin, tname(type, rt, tb)};
    struct rd_out o = {out, 0, cap, err, errlen};
    if (err && errlen)
        err[0] = '\0';

    if (ntok > 0 && !tok[0].quoted && tok[0].len == 2 && tok[0].text[0] == '\\' &&
        tok[0].text[1] == '#')
        return generic_from_text(type, &in, &o, rt);
    if (!rt)
        return rd_fail(&o, "%s: a type without a known text form takes the generic form "
                           "(\\# length hex)", in.type);
    for (const struct field *f = rt->f; f->t != F_END; f++) {
        int r = field_from_text(&in, &o, f);
        if (r < 0)
            return r;
    }
    if (in.i < ntok)
        return rd_fail(&o, "%s: '%s' is one field too many", in.type, shown(&tok[in.i], sh));
    return (int)o.len;
}

/* ---- wire to text ---------------------------------------------------------------------- */

static int sp(struct buf *b, bool *first)
{
    if (*first) {
        *first = false;
        return 0;
    }
    return buf_append(b, " ", 1);
}

/* Check rd[0..len) against the type's fields; with b, also print. Returns
 * whether it fits; *err is -ENOMEM when printing ran out of memory. */
static bool walk(const struct rtype *rt, const uint8_t *rd, size_t len, struct buf *b, int *err)
{
    size_t pos = 0;
    bool first = true;
    int r = 0;
#define OUT(expr) do { if (b && (r = (expr)) < 0) goto oom; } while (0)
    for (const struct field *f = rt->f; f->t != F_END; f++) {
        size_t left = len - pos;
        const uint8_t *p = rd + pos;
        if (f->t != F_BITMAP && f->t != F_SVCB && f->t != F_REST && f->t != F_LOC)
            OUT(sp(b, &first));
        switch (f->t) {
        case F_U8: case F_ALG: case F_DIGEST:
            if (left < 1)
                return false;
            OUT(buf_printf(b, "%u", p[0]));
            pos += 1;
            break;
        case F_U16: case F_TYPE:
            if (left < 2)
                return false;
            if (f->t == F_U16) {
                OUT(buf_printf(b, "%u", (unsigned)(p[0] << 8 | p[1])));
            } else {
                char tb[DNS_MNEMONIC_MAX];
                OUT(buf_puts(b, dns_type_to_text((uint16_t)(p[0] << 8 | p[1]), tb)));
            }
            pos += 2;
            break;
        case F_U32: case F_TTL: case F_TIME: {
            if (left < 4)
                return false;
            uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (f->t == F_TIME)
                OUT(rd_time_print(b, v));
            else
                OUT(buf_printf(b, "%u", v));
            pos += 4;
            break;
        }
        case F_A: case F_AAAA: {
            size_t n = f->t == F_A ? 4 : 16;
            if (left < n)
                return false;
            char tmp[INET6_ADDRSTRLEN];
            if (b) {
                inet_ntop(n == 4 ? AF_INET : AF_INET6, p, tmp, sizeof tmp);
                OUT(buf_puts(b, tmp));
            }
            pos += n;
            break;
        }
        case F_NAME: {
            struct dns_name nm;
            int k = dns_name_from_wire(&nm, p, left);
            if (k < 0)
                return false;
            if (b) {
                char tmp[DNS_NAME_MAXTEXT];
                if (dns_name_to_text(&nm, tmp, sizeof tmp) < 0)
                    return false;
                OUT(buf_puts(b, tmp));
            }
            pos += (size_t)k;
            break;
        }
        case F_STR: case F_STRS:
            do {
                if (left < 1 || left < 1u + p[0])
                    return false;
                OUT(buf_append(b, "\"", 1));
                OUT(rd_print_escaped(b, p + 1, p[0]));
                OUT(buf_append(b, "\"", 1));
                pos += 1u + p[0];
                left = len - pos;
                p = rd + pos;
                if (f->t == F_STRS && left)
                    OUT(sp(b, &first));
            } while (f->t == F_STRS && left);
            break;
        case F_REST:
            OUT(sp(b, &first));
            OUT(buf_append(b, "\"", 1));
            OUT(rd_print_escaped(b, p, left));
            OUT(buf_append(b, "\"", 1));
            pos = len;
            break;
        case F_TAG:
            if (left < 1 || p[0] < 1 || p[0] > 15 || left < 1u + p[0])
                return false;
            for (unsigned k = 1; k <= p[0]; k++) {
                uint8_t c = p[k];
                if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
                    return false;
            }
            OUT(buf_append(b, p + 1, p[0]));
            pos += 1u + p[0];
            break;
        case F_HEX: case F_B64:
            if (left < 1)
                return false;
            OUT(f->t == F_HEX ? rd_hex_print(b, p, left) : rd_b64_print(b, p, left));
            pos = len;
            break;
        case F_SALT:
            if (left < 1 || left < 1u + p[0])
                return false;
            if (p[0] == 0)
                OUT(buf_append(b, "-", 1));
            else
                OUT(rd_hex_print(b, p + 1, p[0]));
            pos += 1u + p[0];
            break;
        case F_HASH:
            if (left < 1 || p[0] < 1 || left < 1u + p[0])
                return false;
            OUT(rd_b32hex_print(b, p + 1, p[0]));
            pos += 1u + p[0];
            break;
        case F_BITMAP: {
            /* RFC 4034 section 4.1.2: windows in increasing order, 1-32
             * octets each, no trailing zero octet. */
            int prev = -1;
            while (pos < len) {
                if (len - pos < 2)
                    return false;
                unsigned w = rd[pos], n = rd[pos + 1];
                if ((int)w <= prev || n < 1 || n > 32 || len - pos - 2 < n ||
                    rd[pos + 1 + n] == 0)
                    return false;
                for (unsigned k = 0; b && k < n * 8; k++) {
                    if (rd[pos + 2 + k / 8] & (0x80 >> (k % 8))) {
                        char tb[DNS_MNEMONIC_MAX];
                        OUT(sp(b, &first));
                        OUT(buf_puts(b, dns_type_to_text((uint16_t)(w * 256 + k), tb)));
                    }
                }
                prev = (int)w;
                pos += 2 + n;
            }
            break;
        }
        case F_LOC:
            r = rd_loc_walk(p, left, b);
            if (r == -ENOMEM)
                goto oom;
            if (r < 0)
                return false;
            pos = len;
            break;
        case F_SVCB:
            r = rd_svcb_walk(p, left, b);
            if (r == -ENOMEM)
                goto oom;
            if (r < 0)
                return false;
            pos = len;
            break;
        case F_END:
            break;
        }
    }
#undef OUT
    return pos == len;
oom:
    *err = -ENOMEM;
    return false;
}

int dns_rdata_to_text(uint16_t type, const uint8_t *rd, size_t len, struct buf *out)
{
    const struct rtype *rt = rtype_of(type);
    int err = 0;
    if (rt && walk(rt, rd, len, NULL, &err)) {
        walk(rt, rd, len, out, &err);
        return err;
    }
    /* RFC 3597 section 5 */
    if (buf_printf(out, "\\# %zu", len) < 0)
        return -ENOMEM;
    if (len && (buf_append(out, " ", 1) < 0 || rd_hex_print(out, rd, len) < 0))
        return -ENOMEM;
    return 0;
}
