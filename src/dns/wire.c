/*
 * wire.c - reading DNS messages. See wire.h for the contract.
 *
 * The order of checks follows NSD's query.c: size, then the counts against
 * the size, then the sections one by one, each field bounds-checked before
 * it is read.
 */
#include "dns/wire.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "dns/rdnames.h"

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- header (RFC 1035 section 4.1.1) ------------------------------------ */

int dns_header_read(const uint8_t *pkt, size_t len, struct dns_header *h)
{
    if (len < DNS_HEADER_SIZE)
        return -EBADMSG;
    uint16_t flags = get16(pkt + 2);
    h->id = get16(pkt);
    h->qr = flags & DNS_FLAG_QR;
    h->opcode = (uint8_t)(flags >> 11 & 0xF);
    h->aa = flags & DNS_FLAG_AA;
    h->tc = flags & DNS_FLAG_TC;
    h->rd = flags & DNS_FLAG_RD;
    h->ra = flags & DNS_FLAG_RA;
    h->z = flags & DNS_FLAG_Z;
    h->ad = flags & DNS_FLAG_AD;
    h->cd = flags & DNS_FLAG_CD;
    h->rcode = (uint8_t)(flags & 0xF);
    for (int s = 0; s < DNS_SECTIONS; s++)
        h->count[s] = get16(pkt + 4 + 2 * s);
    return 0;
}

void dns_header_write(const struct dns_header *h, uint8_t out[DNS_HEADER_SIZE])
{
    uint16_t flags = (uint16_t)((h->opcode & 0xF) << 11 | (h->rcode & 0xF));
    flags |= (h->qr ? DNS_FLAG_QR : 0) | (h->aa ? DNS_FLAG_AA : 0) | (h->tc ? DNS_FLAG_TC : 0) |
             (h->rd ? DNS_FLAG_RD : 0) | (h->ra ? DNS_FLAG_RA : 0) | (h->z ? DNS_FLAG_Z : 0) |
             (h->ad ? DNS_FLAG_AD : 0) | (h->cd ? DNS_FLAG_CD : 0);
    out[0] = (uint8_t)(h->id >> 8);
    out[1] = (uint8_t)h->id;
    out[2] = (uint8_t)(flags >> 8);
    out[3] = (uint8_t)flags;
    for (int s = 0; s < DNS_SECTIONS; s++) {
        out[4 + 2 * s] = (uint8_t)(h->count[s] >> 8);
        out[5 + 2 * s] = (uint8_t)h->count[s];
    }
}

/* ---- the sections ------------------------------------------------------------ */

/* The smallest question: the root name (1), QTYPE and QCLASS (4); the
 * smallest RR adds TTL and RDLENGTH (6) (RFC 1035 sections 4.1.2, 4.1.3). */
#define MIN_QUESTION 5
#define MIN_RR 11

/* One entry at pkt[*pos]: its owner name and fixed fields, and for an RR
 * its RDATA, checked against its type's layout. */
static int parse_entry(const uint8_t *pkt, size_t len, size_t *pos, enum dns_section s,
                       struct dns_rr *rr)
{
    int used = dns_name_read(pkt, len, *pos, NULL);
    if (used < 0)
        return used;
    size_t p = *pos + (size_t)used;
    size_t fixed = s == DNS_SECTION_QUESTION ? 4 : 10;
    if (len - p < fixed)
        return -EBADMSG;
    rr->section = (uint8_t)s;
    rr->owner = (uint16_t)*pos;
    rr->type = get16(pkt + p);
    rr->rclass = get16(pkt + p + 2);
    rr->ttl = 0;
    rr->rdlength = 0;
    p += fixed;
    rr->rdata = (uint16_t)p;
    if (s != DNS_SECTION_QUESTION) {
        rr->ttl = get32(pkt + p - 6);
        rr->rdlength = get16(pkt + p - 2);
        if (len - p < rr->rdlength)
            return -EBADMSG;
        int r = dns_rdata_check(rr->type, rr->rclass, pkt, p, rr->rdlength, true);
        if (r < 0)
            return r;
        p += rr->rdlength;
    }
    *pos = p;
    return 0;
}

int dns_msg_parse(struct dns_msg *m, const uint8_t *pkt, size_t len,
                  struct dns_rr *rrs, size_t max)
{
    memset(m, 0, sizeof *m);
    m->pkt = pkt;
    m->len = len;
    m->rr = rrs;
    if (len > DNS_MSG_MAX)
        return OP_E_TOOLONG;
    int r = dns_header_read(pkt, len, &m->hdr);
    if (r < 0)
        return r;

    /* Never trust the counts: together they must fit in what is left. */
    const uint16_t *count = m->hdr.count;
    size_t nq = count[DNS_SECTION_QUESTION];
    size_t nrr = (size_t)count[1] + count[2] + count[3];
    if (nq * MIN_QUESTION + nrr * MIN_RR > len - DNS_HEADER_SIZE)
        return -EBADMSG;
    if (nq + nrr > max)
        return OP_E_LIMIT;

    size_t pos = DNS_HEADER_SIZE, k = 0;
    for (int s = 0; s < DNS_SECTIONS; s++) {
        m->first[s] = k;
        for (size_t i = 0; i < count[s]; i++) {
            r = parse_entry(pkt, len, &pos, (enum dns_section)s, &rrs[k]);
            if (r < 0)
                return r;
            k++;
        }
    }
    m->first[DNS_SECTIONS] = m->nrr = k;
    m->trailing = len - pos;
    return 0;
}

/* ---- reading one RR --------------------------------------------------------------- */

int dns_rr_owner(const struct dns_msg *m, const struct dns_rr *rr, struct dns_name *out)
{
    int r = dns_name_read(m->pkt, m->len, rr->owner, out);
    return r < 0 ? r : 0;
}

int dns_rr_rdata(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *out, size_t cap,
                 unsigned options)
{
    unsigned flags = dns_rdnames_flags(rr->type);
    bool lower = (options & DNS_RDATA_CANONICAL) && (flags & DNS_RDN_LOWER);
    if (!(flags & DNS_RDN_DECOMPRESS) && !lower) {
        /* Nothing can be compressed in it: the RDATA is already flat. */
        if (cap < rr->rdlength)
            return -ENOSPC;
        memcpy(out, m->pkt + rr->rdata, rr->rdlength);
        return rr->rdlength;
    }

    struct dns_rdata_iter it;
    dns_rdata_iter_init(&it, rr->type, rr->rclass, m->pkt, rr->rdata, rr->rdlength, true);
    size_t o = 0;
    for (;;) {
        struct dns_name name;
        size_t off, n;
        int piece = dns_rdata_next(&it, &name, &off, &n);
        if (piece <= 0) {
            if (piece < 0)
                return piece;
            return (int)o;
        }
        const uint8_t *src = m->pkt + off;
        if (piece == DNS_PIECE_NAME) {
            if (lower)
                dns_name_lower(&name);
            src = name.wire;
            n = name.len;
        }
        if (o + n > DNS_MSG_MAX)
            return OP_E_TOOLONG;
        if (o + n > cap)
            return -ENOSPC;
        memcpy(out + o, src, n);
        o += n;
    }
}
