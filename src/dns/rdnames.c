/*
 * rdnames.c - the layout of the RDATA types that embed domain names.
 * See rdnames.h.
 */
#include "dns/rdnames.h"

#include <errno.h>

#include "base/err.h"
#include "dns/consts.h"

/*
 * Each layout is a string, one character per field, read left to right:
 *   'n'  a domain name
 *   '1', '2', '4'  a fixed field of that many octets
 *   'c'  a <character-string>: a length octet and that many octets
 *        (RFC 1035 section 3.3)
 *   'x'  everything up to the end of the RDATA (possibly nothing)
 */
struct layout {
    uint8_t flags;
    const char *fields;
};

/* Receivers MUST decompress the RFC 1035 types and SHOULD decompress the
 * RFC 3597 list: outpost treats both alike. Newer types never compress. */
#define RFC1035 (DNS_RDN_NAMES | DNS_RDN_DECOMPRESS | DNS_RDN_LOWER)
#define RFC3597 (DNS_RDN_NAMES | DNS_RDN_DECOMPRESS | DNS_RDN_LOWER)
#define NEWER   (DNS_RDN_NAMES | DNS_RDN_LOWER)

static const struct layout layouts[] = {
    /* RFC 1035 section 3.3: "well-known" (RFC 3597 section 4); names
     * decompressed on input; the ones still in use compressed on output. */
    [DNS_TYPE_NS] = {RFC1035 | DNS_RDN_COMPRESS, "n"},            /* 3.3.11 */
    [DNS_TYPE_MD] = {RFC1035, "n"},                                /* 3.3.4 */
    [DNS_TYPE_MF] = {RFC1035, "n"},                                /* 3.3.5 */
    [DNS_TYPE_CNAME] = {RFC1035 | DNS_RDN_COMPRESS, "n"},         /* 3.3.1 */
    [DNS_TYPE_SOA] = {RFC1035 | DNS_RDN_COMPRESS, "nn44444"},     /* 3.3.13 */
    [DNS_TYPE_MB] = {RFC1035, "n"},                                /* 3.3.3 */
    [DNS_TYPE_MG] = {RFC1035, "n"},                                /* 3.3.6 */
    [DNS_TYPE_MR] = {RFC1035, "n"},                                /* 3.3.8 */
    [DNS_TYPE_PTR] = {RFC1035 | DNS_RDN_COMPRESS, "n"},           /* 3.3.12 */
    [DNS_TYPE_MINFO] = {RFC1035, "nn"},                            /* 3.3.7 */
    [DNS_TYPE_MX] = {RFC1035 | DNS_RDN_COMPRESS, "2n"},           /* 3.3.9 */
    /* RFC 3597 section 4: receivers SHOULD decompress these too. */
    [DNS_TYPE_RP] = {RFC3597, "nn"},                               /* RFC 1183 2.2 */
    [DNS_TYPE_AFSDB] = {RFC3597, "2n"},                            /* RFC 1183 1 */
    [DNS_TYPE_RT] = {RFC3597, "2n"},                               /* RFC 1183 3.3 */
    [DNS_TYPE_SIG] = {RFC3597, "2114442nx"},                       /* RFC 2535 4.1 */
    [DNS_TYPE_PX] = {RFC3597, "2nn"},                              /* RFC 2163 4 */
    [DNS_TYPE_NXT] = {RFC3597, "nx"},                              /* RFC 2535 5.2 */
    [DNS_TYPE_SRV] = {RFC3597, "222n"},                            /* RFC 2782 */
    [DNS_TYPE_NAPTR] = {RFC3597, "22cccn"},                        /* RFC 3403 4.1 */
    /* Names that must arrive uncompressed but are lower-cased in the
     * canonical form (RFC 4034 section 6.2, RFC 6840 section 5.1). */
    [DNS_TYPE_KX] = {NEWER, "2n"},                                 /* RFC 2230 3.1 */
    [DNS_TYPE_DNAME] = {NEWER, "n"},                               /* RFC 6672 2.1 */
    [DNS_TYPE_RRSIG] = {NEWER, "2114442nx"},                       /* RFC 4034 3.1 */
};

static const struct layout opaque = {0, "x"};

static const struct layout *layout_of(uint16_t type)
{
    if (type < sizeof layouts / sizeof layouts[0] && layouts[type].fields)
        return &layouts[type];
    return &opaque;
}

unsigned dns_rdnames_flags(uint16_t type)
{
    return layout_of(type)->flags;
}

void dns_rdata_iter_init(struct dns_rdata_iter *it, uint16_t type, uint16_t rclass,
                         const uint8_t *buf, size_t off, size_t rdlen, bool in_message)
{
    const struct layout *l = layout_of(type);
    it->buf = buf;
    it->pos = off;
    it->end = off + rdlen;
    it->fields = l->fields;
    it->ptrs = in_message && (l->flags & DNS_RDN_DECOMPRESS);
    /* RFC 2136 sections 2.4.1, 2.4.3, 2.5.2, 2.5.3: "RRset exists", "RRset
     * does not exist" and the deletions carry no RDATA, with class ANY or
     * NONE. */
    if (rdlen == 0 && (rclass == DNS_CLASS_ANY || rclass == DNS_CLASS_NONE))
        it->fields = "";
}

/* Consume one non-name field; -EBADMSG if it does not fit the RDATA. */
static int skip_field(struct dns_rdata_iter *it, char f)
{
    size_t left = it->end - it->pos;
    size_t need;
    switch (f) {
    case '1': need = 1; break;
    case '2': need = 2; break;
    case '4': need = 4; break;
    case 'c': need = left > 0 ? 1 + (size_t)it->buf[it->pos] : 1; break;
    case 'x': need = left; break;
    default: return OP_E_SYNTAX;    /* a typo in the table above */
    }
    if (need > left)
        return -EBADMSG;
    it->pos += need;
    return 0;
}

int dns_rdata_next(struct dns_rdata_iter *it, struct dns_name *name, size_t *off, size_t *len)
{
    /* A run of fields that are not names becomes one OCTETS piece. */
    size_t start = it->pos;
    while (*it->fields && *it->fields != 'n') {
        int r = skip_field(it, *it->fields++);
        if (r < 0)
            return r;
    }
    if (it->pos > start) {
        *off = start;
        *len = it->pos - start;
        return DNS_PIECE_OCTETS;
    }
    if (*it->fields == '\0')
        return it->pos == it->end ? DNS_PIECE_END : OP_E_SYNTAX;

    it->fields++;
    int used;
    if (it->ptrs) {
        /* Bounded by the RDATA's end: the name's own octets must lie in
         * the RDATA, and its pointers can only go backwards from there. */
        used = dns_name_read(it->buf, it->end, it->pos, name);
    } else {
        used = dns_name_from_wire(name, it->buf + it->pos, it->end - it->pos);
    }
    if (used < 0)
        return used;
    *off = it->pos;
    *len = (size_t)used;
    it->pos += (size_t)used;
    return DNS_PIECE_NAME;
}

int dns_rdata_check(uint16_t type, uint16_t rclass, const uint8_t *buf, size_t off,
                    size_t rdlen, bool in_message)
{
    struct dns_rdata_iter it;
    dns_rdata_iter_init(&it, type, rclass, buf, off, rdlen, in_message);
    size_t o, n;
    int r;
    while ((r = dns_rdata_next(&it, NULL, &o, &n)) > 0)
        ;
    return r;
}
