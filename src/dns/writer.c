/*
 * writer.c - building DNS messages with name compression. See writer.h.
 */
#include "dns/writer.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "dns/rdnames.h"

/* Pointers carry a 14-bit offset (RFC 1035 section 4.1.4). */
#define MAX_TARGET_OFFSET 0x3FFF

static bool room(const struct dns_writer *w, size_t n)
{
    return n <= w->limit - w->reserved - w->len;
}

static void put16(struct dns_writer *w, uint16_t v)
{
    w->buf[w->len++] = (uint8_t)(v >> 8);
    w->buf[w->len++] = (uint8_t)v;
}

static void put32(struct dns_writer *w, uint32_t v)
{
    put16(w, (uint16_t)(v >> 16));
    put16(w, (uint16_t)v);
}

int dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t limit,
                    const struct dns_header *h)
{
    if (limit < DNS_HEADER_SIZE || limit > DNS_MSG_MAX)
        return -EINVAL;
    w->buf = buf;
    w->limit = limit;
    w->reserved = 0;
    w->len = DNS_HEADER_SIZE;
    w->section = DNS_SECTION_QUESTION;
    memset(w->count, 0, sizeof w->count);
    w->ntargets = 0;
    dns_writer_set_header(w, h);
    return 0;
}

void dns_writer_set_header(struct dns_writer *w, const struct dns_header *h)
{
    struct dns_header t = *h;
    memcpy(t.count, w->count, sizeof t.count);
    dns_header_write(&t, w->buf);
}

int dns_writer_reserve(struct dns_writer *w, size_t n)
{
    if (!room(w, n))
        return -EMSGSIZE;
    w->reserved += n;
    return 0;
}

void dns_writer_release(struct dns_writer *w, size_t n)
{
    w->reserved -= n < w->reserved ? n : w->reserved;
}

/* ---- names ------------------------------------------------------------------ */

/* Does the name we wrote at buf[off] (labels, perhaps ending in one of our
 * own pointers) equal the uncompressed labels at wire, octet for octet?
 * Our pointers only go backwards, so the walk ends. */
static bool same_name(const uint8_t *buf, size_t off, const uint8_t *wire)
{
    for (;;) {
        uint8_t c = buf[off];
        if ((c & 0xC0) == 0xC0) {
            off = (size_t)(c & 0x3F) << 8 | buf[off + 1];
            continue;
        }
        if (c != wire[0])
            return false;
        if (c == 0)
            return true;
        if (memcmp(buf + off + 1, wire + 1, c) != 0)
            return false;
        off += 1 + (size_t)c;
        wire += 1 + (size_t)c;
    }
}

static void remember(struct dns_writer *w, size_t off, int labels)
{
    if (off <= MAX_TARGET_OFFSET && w->ntargets < DNS_WRITER_TARGETS) {
        w->targets[w->ntargets].off = (uint16_t)off;
        w->targets[w->ntargets].labels = (uint8_t)labels;
        w->ntargets++;
    }
}

/*
 * Write n at the end of the message. With compress, its longest suffix
 * already in the message becomes a pointer, and the suffixes written here
 * in full become targets for later names.
 */
static int write_name(struct dns_writer *w, const struct dns_name *n, bool compress)
{
    uint8_t pos[DNS_NAME_MAXLABELS + 1];
    int k = 0;
    for (size_t p = 0; n->wire[p] != 0; p += 1 + n->wire[p])
        pos[k++] = (uint8_t)p;
    pos[k] = (uint8_t)(n->len - 1);       /* where the root label is */

    /* Labels [0, keep) are written out; the rest is a pointer to target,
     * or just the root label when keep == k. */
    int keep = k;
    size_t target = 0;
    for (int i = 0; compress && i < k && keep == k; i++) {
        for (size_t t = 0; t < w->ntargets; t++) {
            if (w->targets[t].labels == k - i &&
                same_name(w->buf, w->targets[t].off, n->wire + pos[i])) {
                keep = i;
                target = w->targets[t].off;
                break;
            }
        }
    }

    size_t literal = pos[keep];
    if (!room(w, literal + (keep < k ? 2 : 1)))
        return -EMSGSIZE;
    if (compress)
        for (int i = 0; i < keep; i++)
            remember(w, w->len + pos[i], k - i);
    memcpy(w->buf + w->len, n->wire, literal);
    w->len += literal;
    if (keep < k)
        put16(w, (uint16_t)(0xC000 | target));
    else
        w->buf[w->len++] = 0;
    return 0;
}

/* ---- questions and RRs -------------------------------------------------------- */

/* The RDATA of a type that embeds names, name by name: compressed where
 * RFC 3597 section 4 allows it, in full elsewhere. */
static int write_rdata_names(struct dns_writer *w, uint16_t type, uint16_t rclass,
                             const uint8_t *rdata, size_t rdlen)
{
    bool compress = dns_rdnames_flags(type) & DNS_RDN_COMPRESS;
    struct dns_rdata_iter it;
    dns_rdata_iter_init(&it, type, rclass, rdata, 0, rdlen, false);
    for (;;) {
        struct dns_name name;
        size_t off, n;
        int piece = dns_rdata_next(&it, &name, &off, &n);
        if (piece <= 0)
            return piece;
        if (piece == DNS_PIECE_NAME) {
            int r = write_name(w, &name, compress);
            if (r < 0)
                return r;
        } else {
            if (!room(w, n))
                return -EMSGSIZE;
            memcpy(w->buf + w->len, rdata + off, n);
            w->len += n;
        }
    }
}

/* Owner, TYPE, CLASS, TTL and a zero RDLENGTH; returns where RDLENGTH is. */
static int write_rr_head(struct dns_writer *w, const struct dns_name *owner, uint16_t type,
                         uint16_t rclass, uint32_t ttl, size_t *rdlength_at)
{
    int r = write_name(w, owner, true);
    if (r < 0)
        return r;
    if (!room(w, 10))
        return -EMSGSIZE;
    put16(w, type);
    put16(w, rclass);
    put32(w, ttl);
    *rdlength_at = w->len;
    put16(w, 0);
    return 0;
}

/* Checks common to every entry: the section order and the count. */
static int check_section(const struct dns_writer *w, enum dns_section s)
{
    if ((int)s < w->section || (int)s >= DNS_SECTIONS)
        return -EINVAL;
    if (w->count[s] == UINT16_MAX)
        return -EMSGSIZE;
    return 0;
}

/* An entry is complete: count it, or undo everything it wrote. */
static int finish(struct dns_writer *w, enum dns_section s, int r, size_t start,
                  size_t ntargets)
{
    if (r < 0) {
        w->len = start;
        w->ntargets = ntargets;
        return r;
    }
    w->section = (int)s;
    w->count[s]++;
    w->buf[4 + 2 * s] = (uint8_t)(w->count[s] >> 8);
    w->buf[5 + 2 * s] = (uint8_t)w->count[s];
    return 0;
}

int dns_writer_question(struct dns_writer *w, const struct dns_name *qname,
                        uint16_t qtype, uint16_t qclass)
{
    int r = check_section(w, DNS_SECTION_QUESTION);
    if (r < 0)
        return r;
    size_t start = w->len, ntargets = w->ntargets;
    r = write_name(w, qname, true);
    if (r == 0 && !room(w, 4))
        r = -EMSGSIZE;
    if (r == 0) {
        put16(w, qtype);
        put16(w, qclass);
    }
    return finish(w, DNS_SECTION_QUESTION, r, start, ntargets);
}

int dns_writer_rr(struct dns_writer *w, enum dns_section s, const struct dns_name *owner,
                  uint16_t type, uint16_t rclass, uint32_t ttl,
                  const uint8_t *rdata, size_t rdlen)
{
    int r = check_section(w, s);
    if (r < 0)
        return r;
    if (s == DNS_SECTION_QUESTION || rdlen > UINT16_MAX)
        return -EINVAL;
    size_t start = w->len, ntargets = w->ntargets, rdlength_at;
    r = write_rr_head(w, owner, type, rclass, ttl, &rdlength_at);
    if (r == 0) {
        size_t rdstart = w->len;
        if (dns_rdnames_flags(type) & DNS_RDN_NAMES) {
            r = write_rdata_names(w, type, rclass, rdata, rdlen);
        } else if (!room(w, rdlen)) {
            r = -EMSGSIZE;
        } else {
            memcpy(w->buf + w->len, rdata, rdlen);
            w->len += rdlen;
        }
        /* Compression only shrinks RDATA, so its length still fits 16 bits. */
        size_t n = w->len - rdstart;
        w->buf[rdlength_at] = (uint8_t)(n >> 8);
        w->buf[rdlength_at + 1] = (uint8_t)n;
    }
    return finish(w, s, r, start, ntargets);
}

int dns_writer_rr_raw(struct dns_writer *w, enum dns_section s, const struct dns_name *owner,
                      uint16_t type, uint16_t rclass, uint32_t ttl, size_t rdlen,
                      uint8_t **rdata)
{
    int r = check_section(w, s);
    if (r < 0)
        return r;
    if (s == DNS_SECTION_QUESTION || rdlen > UINT16_MAX)
        return -EINVAL;
    size_t start = w->len, ntargets = w->ntargets, rdlength_at;
    r = write_rr_head(w, owner, type, rclass, ttl, &rdlength_at);
    if (r == 0 && !room(w, rdlen))
        r = -EMSGSIZE;
    if (r == 0) {
        w->buf[rdlength_at] = (uint8_t)(rdlen >> 8);
        w->buf[rdlength_at + 1] = (uint8_t)rdlen;
        *rdata = w->buf + w->len;
        w->len += rdlen;
    }
    return finish(w, s, r, start, ntargets);
}
