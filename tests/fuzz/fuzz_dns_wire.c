/*
 * fuzz_dns_wire.c - libFuzzer target for src/dns/wire.c, writer.c,
 * rdnames.c, edns.c and the wire side of name.c.
 *
 * The input is parsed as a DNS message (octets after the last entry are
 * allowed and counted). When that succeeds:
 *   - every owner name and every RDATA is read back (decompressed, and in
 *     canonical form, which must have the same length); every owner's
 *     text form must parse back to the same octets;
 *   - the whole message is written again through the writer, with
 *     compression, and parsed again: the second parse must give the same
 *     header, and entry by entry the same owner names (octet for octet),
 *     types, classes, TTLs, sections and decompressed RDATA, and the same
 *     EDNS reading. Writing the second parse again must give exactly the
 *     same octets as the first rewrite (compression is deterministic);
 *   - rewriting with a smaller size limit taken from the input stops at a
 *     whole entry, and gives a prefix of the full rewrite that parses.
 * The rewrite may only fail for size: decompressing pointers that sat in
 * RDATA we do not compress can make a message outgrow 65535 octets.
 * A name is also read at an offset taken from the input, whatever the
 * parse said. Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/rdnames.h"
#include "dns/wire.h"
#include "dns/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXRR DNS_MSG_MAXRR(DNS_MSG_MAX)

static struct dns_rr rrs1[MAXRR], rrs2[MAXRR], rrs3[MAXRR];
static uint8_t out1[DNS_MSG_MAX], out2[DNS_MSG_MAX];
static uint8_t rd1[DNS_MSG_MAX], rd2[DNS_MSG_MAX];

static void check_name_text(const struct dns_name *n)
{
    char text[DNS_NAME_MAXTEXT];
    int len = dns_name_to_text(n, text, sizeof text);
    if (len <= 0 || (size_t)len != strlen(text))
        abort();
    struct dns_name back;
    if (dns_name_from_text(&back, text, (size_t)len, NULL) != 0)
        abort();
    if (back.len != n->len || memcmp(back.wire, n->wire, n->len) != 0)
        abort();
    if (dns_name_compare(n, &back) != 0 || !dns_name_equal(n, &back))
        abort();
}

/* Every entry of a parsed message reads back; returns false only when the
 * decompressed RDATA is too long to ever be written again. */
static bool check_entries(const struct dns_msg *m)
{
    bool writable = true;
    for (size_t i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        struct dns_name owner;
        if (dns_rr_owner(m, rr, &owner) != 0)
            abort();
        check_name_text(&owner);
        if (rr->section == DNS_SECTION_QUESTION)
            continue;
        if ((size_t)rr->rdata + rr->rdlength > m->len)
            abort();
        int n = dns_rr_rdata(m, rr, rd1, sizeof rd1, 0);
        int c = dns_rr_rdata(m, rr, rd2, sizeof rd2, DNS_RDATA_CANONICAL);
        if (n == OP_E_TOOLONG && c == OP_E_TOOLONG) {
            writable = false;
            continue;
        }
        if (n < 0 || c != n)
            abort();
        if (!(dns_rdnames_flags(rr->type) & DNS_RDN_DECOMPRESS) &&
            (n != rr->rdlength || memcmp(rd1, m->pkt + rr->rdata, rr->rdlength) != 0))
            abort();
    }
    return writable;
}

/* Write the entries of m through a writer into out[0 .. limit), stopping
 * at the first that does not fit; returns the length, and in *written how
 * many entries went in. */
static size_t rewrite(const struct dns_msg *m, uint8_t *out, size_t limit, size_t *written)
{
    struct dns_writer w;
    if (dns_writer_init(&w, out, limit, &m->hdr) != 0)
        abort();
    *written = 0;
    for (size_t i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        struct dns_name owner;
        if (dns_rr_owner(m, rr, &owner) != 0)
            abort();
        int r;
        if (rr->section == DNS_SECTION_QUESTION) {
            r = dns_writer_question(&w, &owner, rr->type, rr->rclass);
        } else {
            int n = dns_rr_rdata(m, rr, rd1, sizeof rd1, 0);
            if (n < 0)
                abort();
            r = dns_writer_rr(&w, (enum dns_section)rr->section, &owner, rr->type, rr->rclass,
                              rr->ttl, rd1, (size_t)n);
        }
        if (r == -EMSGSIZE)
            break;
        if (r != 0)
            abort();
        (*written)++;
    }
    if (dns_writer_len(&w) > limit)
        abort();
    return dns_writer_len(&w);
}

static void same_entries(const struct dns_msg *a, const struct dns_msg *b)
{
    if (a->nrr != b->nrr || memcmp(&a->hdr, &b->hdr, sizeof a->hdr) != 0)
        abort();
    for (int s = 0; s <= DNS_SECTIONS; s++)
        if (a->first[s] != b->first[s])
            abort();
    for (size_t i = 0; i < a->nrr; i++) {
        const struct dns_rr *x = &a->rr[i], *y = &b->rr[i];
        struct dns_name nx, ny;
        if (dns_rr_owner(a, x, &nx) != 0 || dns_rr_owner(b, y, &ny) != 0)
            abort();
        if (nx.len != ny.len || memcmp(nx.wire, ny.wire, nx.len) != 0)
            abort();
        if (x->type != y->type || x->rclass != y->rclass || x->ttl != y->ttl ||
            x->section != y->section)
            abort();
        if (x->section == DNS_SECTION_QUESTION)
            continue;
        int lx = dns_rr_rdata(a, x, rd1, sizeof rd1, 0);
        int ly = dns_rr_rdata(b, y, rd2, sizeof rd2, 0);
        if (lx < 0 || lx != ly || memcmp(rd1, rd2, (size_t)lx) != 0)
            abort();
    }
    struct dns_edns ea, eb;
    if (dns_edns_get(a, &ea) != dns_edns_get(b, &eb))
        abort();
    if (ea.udp_size != eb.udp_size || ea.ext_rcode != eb.ext_rcode ||
        ea.version != eb.version || ea.do_bit != eb.do_bit || ea.z != eb.z ||
        ea.options_len != eb.options_len ||
        (ea.options_len && memcmp(ea.options, eb.options, ea.options_len) != 0))
        abort();
}

static void check_edns(const struct dns_msg *m)
{
    struct dns_edns e;
    enum dns_edns_status st = dns_edns_get(m, &e);
    if (st == DNS_EDNS_NONE)
        return;
    if (e.udp_size < DNS_EDNS_MIN_UDP)
        abort();
    size_t pos = 0, total = 0;
    struct dns_edns_opt o;
    while (dns_edns_next_option(&e, &pos, &o)) {
        if (o.data < e.options || o.data + o.len > e.options + e.options_len)
            abort();
        total += 4u + o.len;
        uint16_t code;
        const char *text;
        size_t tlen;
        if (o.code == DNS_EDNS_EDE && dns_edns_read_ede(&o, &code, &text, &tlen) == 0 &&
            tlen + 2 != o.len)
            abort();
    }
    /* The iterator stops exactly at the end of a well-formed option list,
     * and early in a malformed one (the other statuses take precedence). */
    if (st == DNS_EDNS_OK && total != e.options_len)
        abort();
    if (st == DNS_EDNS_BAD_OPTIONS && total == e.options_len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A name anywhere: never reads outside data, consumes what is there. */
    if (size > 2) {
        struct dns_name n;
        size_t off = ((size_t)data[0] << 8 | data[1]) % size;
        int r = dns_name_read(data, size, off, &n);
        if (r > 0 && (size_t)r > size - off)
            abort();
        if (r > 0)
            check_name_text(&n);
    }

    struct dns_msg m1, m2, m3;
    if (dns_msg_parse(&m1, data, size, rrs1, MAXRR) != 0)
        return 0;
    check_edns(&m1);
    if (!check_entries(&m1))
        return 0;
    size_t n1, n2;
    size_t len1 = rewrite(&m1, out1, DNS_MSG_MAX, &n1);
    if (n1 < m1.nrr)
        return 0;
    if (dns_msg_parse(&m2, out1, len1, rrs2, MAXRR) != 0 || m2.trailing != 0)
        abort();
    same_entries(&m1, &m2);

    size_t len2 = rewrite(&m2, out2, DNS_MSG_MAX, &n2);
    if (n2 != m2.nrr || len2 != len1 || memcmp(out1, out2, len1) != 0)
        abort();

    /* Truncation (RFC 2181 section 9): with a smaller limit the writer
     * stops at a whole entry, and what it wrote is the same octets as the
     * start of the full message (only the counts differ) and parses. */
    size_t limit = DNS_HEADER_SIZE + (size_t)(data[0] << 8 | data[1]) % (len1 - DNS_HEADER_SIZE + 1);
    size_t len3 = rewrite(&m2, out2, limit, &n2);
    if (memcmp(out1, out2, 4) != 0 || memcmp(out1 + DNS_HEADER_SIZE, out2 + DNS_HEADER_SIZE,
                                              len3 - DNS_HEADER_SIZE) != 0)
        abort();
    if (dns_msg_parse(&m3, out2, len3, rrs3, MAXRR) != 0 || m3.nrr != n2 || m3.trailing != 0)
        abort();
    if ((n2 < m2.nrr && limit >= len1) || (n2 == m2.nrr && len3 != len1))
        abort();
    return 0;
}
