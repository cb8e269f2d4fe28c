/* Unit tests for src/dns/wire.c, rdnames.c and the reading side of edns.c:
 * parsing messages (real dig captures and hand-built ones, good and
 * malformed), decompressing RDATA, reading EDNS. The writer is tested in
 * test_dns_writer.c. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/rdnames.h"
#include "dns/wire.h"
#include "dns/writer.h"

/* ---- real traffic ------------------------------------------------------------
 *
 * Queries sent by dig 9.18.49 (Debian 12) to a UDP socket on 127.0.0.1, and
 * the responses dnspython 2.3 built for them (its compression is
 * case-insensitive, so "mx2.Example.TEST." went out as "mx2" + a pointer
 * to "example.test."). What dig printed is quoted beside each.
 */

/* dig example.test MX: RD AD, EDNS udp 1232, a client COOKIE */
static const uint8_t dig_mx_query[] = {
    0x27, 0x19, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x3f, 0xeb, 0x5d,
    0x62, 0x86, 0xf8, 0xf9, 0x57,
};
/* ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 10009
 * flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 1, ADDITIONAL: 3
 * EDNS: version: 0, flags:; udp: 8192
 * example.test.       3600 IN MX   10 mail.example.test.
 * example.test.       3600 IN MX   20 mx2.example.test.
 * example.test.       3600 IN NS   ns1.example.test.
 * mail.example.test.  3600 IN A    192.0.2.25
 * mail.example.test.  3600 IN AAAA 2001:db8::25 */
static const uint8_t dig_mx_response[] = {
    0x27, 0x19, 0x85, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x03,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01,
    0x00, 0x00, 0x0e, 0x10, 0x00, 0x09, 0x00, 0x0a, 0x04, 0x6d, 0x61, 0x69,
    0x6c, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e,
    0x10, 0x00, 0x08, 0x00, 0x14, 0x03, 0x6d, 0x78, 0x32, 0xc0, 0x0c, 0xc0,
    0x0c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x06, 0x03,
    0x6e, 0x73, 0x31, 0xc0, 0x0c, 0xc0, 0x2c, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00, 0x0e, 0x10, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x19, 0xc0, 0x2c, 0x00,
    0x1c, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x10, 0x20, 0x01, 0x0d,
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x25, 0x00, 0x00, 0x29, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* dig +dnssec nope.example.test A: the DO bit set */
static const uint8_t dig_nx_query[] = {
    0x71, 0xea, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x04, 0x6e, 0x6f, 0x70, 0x65, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
    0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x0c, 0x00, 0x0a,
    0x00, 0x08, 0x2c, 0x6b, 0x1d, 0xef, 0x28, 0xb7, 0x5f, 0x0f,
};
/* status: NXDOMAIN, flags: qr aa rd; AUTHORITY: 1, ADDITIONAL: 1
 * example.test. 300 IN SOA ns1.example.test. hostmaster.example.test.
 *                          2024010101 7200 3600 1209600 300 */
static const uint8_t dig_nx_response[] = {
    0x71, 0xea, 0x85, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x04, 0x6e, 0x6f, 0x70, 0x65, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
    0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0,
    0x11, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x27, 0x03,
    0x6e, 0x73, 0x31, 0xc0, 0x11, 0x0a, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61,
    0x73, 0x74, 0x65, 0x72, 0xc0, 0x11, 0x78, 0xa3, 0xf1, 0x75, 0x00, 0x00,
    0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00,
    0x01, 0x2c, 0x00, 0x00, 0x29, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00,
};

/* dig +edns=1 example.test TXT: EDNS version 1 */
static const uint8_t dig_badvers_query[] = {
    0x3d, 0x9a, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x99, 0xa3, 0x53,
    0x9b, 0xe2, 0x70, 0x07, 0x04,
};
/* dig: ";; BADVERS, retrying with EDNS version 0." */
static const uint8_t dig_badvers_response[] = {
    0x3d, 0x9a, 0x81, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00,
};

/* dig _sip._udp.example.test SRV, answered REFUSED with an EDE:
 * status: REFUSED; EDNS: version: 0, flags: do; udp: 1232
 * EDE: 20 (Not Authoritative): (not here) */
static const uint8_t dig_ede_response[] = {
    0xf8, 0xf2, 0x81, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x04, 0x5f, 0x73, 0x69, 0x70, 0x04, 0x5f, 0x75, 0x64, 0x70, 0x07, 0x65,
    0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
    0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80,
    0x00, 0x00, 0x0e, 0x00, 0x0f, 0x00, 0x0a, 0x00, 0x14, 0x6e, 0x6f, 0x74,
    0x20, 0x68, 0x65, 0x72, 0x65,
};

/* ---- helpers ------------------------------------------------------------------ */

#define MAXRR 256
static struct dns_rr g_rrs[MAXRR];

static int parse(struct dns_msg *m, const uint8_t *p, size_t len)
{
    return dns_msg_parse(m, p, len, g_rrs, MAXRR);
}

static const char *owner_text(const struct dns_msg *m, const struct dns_rr *rr)
{
    static char buf[DNS_NAME_MAXTEXT];
    struct dns_name n;
    if (dns_rr_owner(m, rr, &n) < 0 || dns_name_to_text(&n, buf, sizeof buf) < 0)
        return "(error)";
    return buf;
}

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0)
        abort();
    return n;
}

/* A hand-built packet. Names are written label by label from dotted text
 * (no escapes), so the expected bytes do not depend on name.c. */
struct pkt {
    uint8_t b[4096];
    size_t n;
};

static void u8(struct pkt *p, unsigned v) { p->b[p->n++] = (uint8_t)v; }
static void u16(struct pkt *p, unsigned v) { u8(p, v >> 8 & 0xFF); u8(p, v & 0xFF); }
static void u32(struct pkt *p, uint32_t v) { u16(p, v >> 16); u16(p, v & 0xFFFF); }
static void raw(struct pkt *p, const void *d, size_t n) { memcpy(p->b + p->n, d, n); p->n += n; }
static void ptr(struct pkt *p, unsigned off) { u16(p, 0xC000 | off); }

/* "a.b" -> \1a\1b (no root); returns where it started */
static size_t labels(struct pkt *p, const char *dotted)
{
    size_t start = p->n;
    while (*dotted) {
        size_t l = strcspn(dotted, ".");
        u8(p, (unsigned)l);
        raw(p, dotted, l);
        dotted += l;
        if (*dotted == '.')
            dotted++;
    }
    return start;
}

static size_t name(struct pkt *p, const char *dotted)
{
    size_t start = labels(p, dotted);
    u8(p, 0);
    return start;
}

static void header(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
                   unsigned ns, unsigned ar)
{
    p->n = 0;
    u16(p, id); u16(p, flags); u16(p, qd); u16(p, an); u16(p, ns); u16(p, ar);
}

/* TYPE CLASS TTL RDLENGTH(placeholder); returns where RDLENGTH is. */
static size_t rr(struct pkt *p, unsigned type, unsigned rclass, uint32_t ttl)
{
    u16(p, type); u16(p, rclass); u32(p, ttl);
    size_t at = p->n;
    u16(p, 0);
    return at;
}

static void rr_end(struct pkt *p, size_t at)
{
    size_t len = p->n - at - 2;
    p->b[at] = (uint8_t)(len >> 8);
    p->b[at + 1] = (uint8_t)len;
}

/*
 * The round trip the fuzzer checks: parse, write everything again through
 * the writer (with compression), parse that, and compare entry by entry:
 * owner names octet for octet, type, class, TTL, decompressed RDATA.
 */
static bool roundtrip(const uint8_t *pkt, size_t len, size_t *newlen)
{
    static struct dns_rr rrs1[MAXRR], rrs2[MAXRR];
    static uint8_t out[DNS_MSG_MAX], rd1[DNS_MSG_MAX], rd2[DNS_MSG_MAX];
    struct dns_msg m1, m2;
    struct dns_writer w;
    if (dns_msg_parse(&m1, pkt, len, rrs1, MAXRR) < 0)
        return false;
    if (dns_writer_init(&w, out, sizeof out, &m1.hdr) < 0)
        return false;
    for (size_t i = 0; i < m1.nrr; i++) {
        const struct dns_rr *r = &m1.rr[i];
        struct dns_name owner;
        if (dns_rr_owner(&m1, r, &owner) < 0)
            return false;
        int rc;
        if (r->section == DNS_SECTION_QUESTION) {
            rc = dns_writer_question(&w, &owner, r->type, r->rclass);
        } else {
            int n = dns_rr_rdata(&m1, r, rd1, sizeof rd1, 0);
            if (n < 0)
                return false;
            rc = dns_writer_rr(&w, r->section, &owner, r->type, r->rclass, r->ttl, rd1, (size_t)n);
        }
        if (rc < 0)
            return false;
    }
    *newlen = dns_writer_len(&w);
    if (dns_msg_parse(&m2, out, *newlen, rrs2, MAXRR) < 0 || m2.nrr != m1.nrr)
        return false;
    if (memcmp(out + 2, pkt + 2, 10) != 0 || out[0] != pkt[0] || out[1] != pkt[1])
        return false;                                  /* ID, flags, counts */
    for (size_t i = 0; i < m1.nrr; i++) {
        const struct dns_rr *a = &m1.rr[i], *b = &m2.rr[i];
        struct dns_name na, nb;
        dns_rr_owner(&m1, a, &na);
        dns_rr_owner(&m2, b, &nb);
        if (na.len != nb.len || memcmp(na.wire, nb.wire, na.len) != 0 || a->type != b->type ||
            a->rclass != b->rclass || a->ttl != b->ttl || a->section != b->section)
            return false;
        if (a->section == DNS_SECTION_QUESTION)
            continue;
        int l1 = dns_rr_rdata(&m1, a, rd1, sizeof rd1, 0);
        int l2 = dns_rr_rdata(&m2, b, rd2, sizeof rd2, 0);
        if (l1 < 0 || l1 != l2 || memcmp(rd1, rd2, (size_t)l1) != 0)
            return false;
    }
    return true;
}

/* ---- parsing real traffic ------------------------------------------------------ */

TEST(dns_wire_dig_query)
{
    struct dns_msg m;
    REQUIRE(parse(&m, dig_mx_query, sizeof dig_mx_query) == 0);
    CHECK_INT(m.hdr.id, 10009);
    CHECK(!m.hdr.qr && m.hdr.rd && m.hdr.ad && !m.hdr.aa && !m.hdr.tc && !m.hdr.cd);
    CHECK_INT(m.hdr.opcode, DNS_OPCODE_QUERY);
    CHECK_INT(m.nrr, 2);
    size_t n;
    const struct dns_rr *q = dns_msg_section(&m, DNS_SECTION_QUESTION, &n);
    REQUIRE(n == 1);
    CHECK_STR(owner_text(&m, q), "example.test.");
    CHECK_INT(q->type, DNS_TYPE_MX);
    CHECK_INT(q->rclass, DNS_CLASS_IN);
    dns_msg_section(&m, DNS_SECTION_ANSWER, &n);
    CHECK_INT(n, 0);

    struct dns_edns e;
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 1232);
    CHECK_INT(e.version, 0);
    CHECK(!e.do_bit);
    struct dns_edns_opt opt;
    REQUIRE(dns_edns_find_option(&e, DNS_EDNS_COOKIE, &opt));
    CHECK_INT(opt.len, 8);                 /* a client cookie alone */
    CHECK(!dns_edns_find_option(&e, DNS_EDNS_EDE, &opt));

    REQUIRE(parse(&m, dig_nx_query, sizeof dig_nx_query) == 0);
    CHECK_STR(owner_text(&m, &m.rr[0]), "nope.example.test.");
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK(e.do_bit);

    REQUIRE(parse(&m, dig_badvers_query, sizeof dig_badvers_query) == 0);
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK_INT(e.version, 1);               /* a server answers BADVERS */
}

TEST(dns_wire_dig_responses)
{
    struct dns_msg m;
    uint8_t rd[512];
    REQUIRE(parse(&m, dig_mx_response, sizeof dig_mx_response) == 0);
    CHECK(m.hdr.qr && m.hdr.aa && m.hdr.rd && !m.hdr.ra);
    CHECK_INT(m.hdr.rcode, DNS_RCODE_NOERROR);
    size_t n;
    const struct dns_rr *an = dns_msg_section(&m, DNS_SECTION_ANSWER, &n);
    REQUIRE(n == 2);
    CHECK_STR(owner_text(&m, &an[0]), "example.test.");
    CHECK_INT(an[0].ttl, 3600);
    /* MX 10 mail.example.test., stored as "mail" + pointer: decompressed */
    CHECK_INT(an[0].rdlength, 9);
    CHECK_INT(dns_rr_rdata(&m, &an[0], rd, sizeof rd, 0), 2 + 19);
    CHECK(memcmp(rd, "\0\12\4mail\7example\4test", 2 + 19) == 0);
    CHECK_INT(dns_rr_rdata(&m, &an[1], rd, sizeof rd, 0), 2 + 18);
    CHECK(memcmp(rd, "\0\24\3mx2\7example\4test", 2 + 18) == 0);
    const struct dns_rr *ns = dns_msg_section(&m, DNS_SECTION_AUTHORITY, &n);
    REQUIRE(n == 1);
    CHECK_INT(ns->type, DNS_TYPE_NS);
    CHECK_INT(dns_rr_rdata(&m, ns, rd, sizeof rd, 0), 18);
    CHECK(memcmp(rd, "\3ns1\7example\4test", 18) == 0);
    const struct dns_rr *ar = dns_msg_section(&m, DNS_SECTION_ADDITIONAL, &n);
    REQUIRE(n == 3);
    CHECK_STR(owner_text(&m, &ar[0]), "mail.example.test.");
    CHECK_INT(ar[0].type, DNS_TYPE_A);
    CHECK_INT(dns_rr_rdata(&m, &ar[0], rd, sizeof rd, 0), 4);
    CHECK(memcmp(rd, "\xc0\x00\x02\x19", 4) == 0);
    CHECK_INT(ar[1].type, DNS_TYPE_AAAA);
    CHECK_INT(ar[1].rdlength, 16);
    CHECK_INT(ar[2].type, DNS_TYPE_OPT);
    struct dns_edns e;
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 8192);
    /* a buffer too small for the decompressed RDATA */
    CHECK_INT(dns_rr_rdata(&m, &an[0], rd, 20, 0), -ENOSPC);

    /* NXDOMAIN with the SOA: both names decompressed, canonical form */
    REQUIRE(parse(&m, dig_nx_response, sizeof dig_nx_response) == 0);
    CHECK_INT(m.hdr.rcode, DNS_RCODE_NXDOMAIN);
    const struct dns_rr *soa = dns_msg_section(&m, DNS_SECTION_AUTHORITY, &n);
    REQUIRE(n == 1 && soa->type == DNS_TYPE_SOA);
    CHECK_STR(owner_text(&m, soa), "example.test.");
    int len = dns_rr_rdata(&m, soa, rd, sizeof rd, 0);
    CHECK_INT(len, 18 + 25 + 20);
    CHECK(memcmp(rd, "\3ns1\7example\4test\0\12hostmaster\7example\4test", 18 + 25) == 0);
    CHECK(memcmp(rd + 43, "\x78\xa3\xf1\x75\0\0\x1c\x20\0\0\x0e\x10\0\x12\x75\0\0\0\x01\x2c",
                 20) == 0);

    /* BADVERS: 16 = the OPT RR's 1 << 4 | the header's 0 */
    REQUIRE(parse(&m, dig_badvers_response, sizeof dig_badvers_response) == 0);
    CHECK_INT(m.hdr.rcode, 0);
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK_INT(e.ext_rcode, 1);
    CHECK_INT(dns_edns_rcode(&m.hdr, &e), DNS_RCODE_BADVERS);
    CHECK_INT(dns_edns_rcode(&m.hdr, NULL), 0);

    /* EDE 20 "not here", DO echoed */
    REQUIRE(parse(&m, dig_ede_response, sizeof dig_ede_response) == 0);
    CHECK_INT(m.hdr.rcode, DNS_RCODE_REFUSED);
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    CHECK(e.do_bit);
    struct dns_edns_opt opt;
    REQUIRE(dns_edns_find_option(&e, DNS_EDNS_EDE, &opt));
    uint16_t code;
    const char *text;
    size_t tlen;
    REQUIRE(dns_edns_read_ede(&opt, &code, &text, &tlen) == 0);
    CHECK_INT(code, DNS_EDE_NOT_AUTHORITATIVE);
    CHECK_STR(dns_ede_name(code), "Not Authoritative");
    CHECK(tlen == 8 && memcmp(text, "not here", 8) == 0);
}

TEST(dns_wire_roundtrip_real)
{
    static const struct { const uint8_t *p; size_t n; } msgs[] = {
        {dig_mx_query, sizeof dig_mx_query}, {dig_mx_response, sizeof dig_mx_response},
        {dig_nx_query, sizeof dig_nx_query}, {dig_nx_response, sizeof dig_nx_response},
        {dig_badvers_query, sizeof dig_badvers_query},
        {dig_badvers_response, sizeof dig_badvers_response},
        {dig_ede_response, sizeof dig_ede_response},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        size_t newlen = 0;
        CHECK(roundtrip(msgs[i].p, msgs[i].n, &newlen));
        /* our compression is as good, except for case: "mx2.Example.TEST."
         * in the MX response cannot point at "example.test." */
        if (msgs[i].p != dig_mx_response)
            CHECK_INT(newlen, msgs[i].n);
    }
}

/* Every prefix of a good message is refused, none crashes or reads past
 * its end (ASan watches the heap copy of exactly that size). */
TEST(dns_wire_truncated_anywhere)
{
    static const struct { const uint8_t *p; size_t n; } msgs[] = {
        {dig_mx_query, sizeof dig_mx_query}, {dig_mx_response, sizeof dig_mx_response},
        {dig_nx_response, sizeof dig_nx_response}, {dig_ede_response, sizeof dig_ede_response},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        for (size_t len = 0; len < msgs[i].n; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, msgs[i].p, len);
            struct dns_msg m;
            int r = parse(&m, copy, len);
            if (r != -EBADMSG) {
                fprintf(stderr, "    message %zu cut at %zu: %d\n", i, len, r);
                CHECK(0);
            }
            free(copy);
        }
    }
}

/* ---- hand-built messages ----------------------------------------------------------- */

TEST(dns_wire_rfc1035_query)
{
    /* RFC 1035 section 4.1: ID 0x1234, RD, one question: www.example.com A IN */
    static const uint8_t q[] = {
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
        3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
        0, 1, 0, 1,
    };
    struct dns_msg m;
    REQUIRE(parse(&m, q, sizeof q) == 0);
    CHECK_INT(m.hdr.id, 0x1234);
    CHECK(m.hdr.rd && !m.hdr.qr);
    CHECK_INT(m.nrr, 1);
    CHECK_STR(owner_text(&m, &m.rr[0]), "www.example.com.");
    CHECK_INT(m.rr[0].owner, 12);
    struct dns_edns e;
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_NONE);

    /* the writer produces exactly these octets */
    uint8_t out[512];
    struct dns_writer w;
    struct dns_header h = {.id = 0x1234, .rd = true};
    REQUIRE(dns_writer_init(&w, out, sizeof out, &h) == 0);
    struct dns_name qn = name_of("www.example.com.");
    REQUIRE(dns_writer_question(&w, &qn, DNS_TYPE_A, DNS_CLASS_IN) == 0);
    CHECK_INT(dns_writer_len(&w), sizeof q);
    CHECK(memcmp(out, q, sizeof q) == 0);

    /* the header's fields, all set, and back */
    struct dns_header all = {.id = 0xFFFF, .qr = 1, .aa = 1, .tc = 1, .rd = 1, .ra = 1, .z = 1,
                             .ad = 1, .cd = 1, .opcode = 15, .rcode = 15,
                             .count = {1, 2, 3, 4}};
    uint8_t hb[DNS_HEADER_SIZE];
    dns_header_write(&all, hb);
    CHECK(memcmp(hb, "\xff\xff\xff\xff\0\1\0\2\0\3\0\4", 12) == 0);
    struct dns_header back;
    REQUIRE(dns_header_read(hb, sizeof hb, &back) == 0);
    CHECK(memcmp(&back, &all, sizeof all) == 0);
    struct dns_header notify = {.opcode = DNS_OPCODE_NOTIFY, .aa = 1};
    dns_header_write(&notify, hb);
    CHECK(hb[2] == 0x24 && hb[3] == 0x00);
    CHECK_INT(dns_header_read(hb, 11, &back), -EBADMSG);
}

/* A response whose RDATA uses compression in every type that may carry it
 * on input (RFC 3597 section 4), plus types whose names may not be. */
static size_t build_compressed_response(struct pkt *p)
{
    header(p, 0xBEEF, 0x8400, 1, 0, 0, 0);
    size_t zone = name(p, "example.com");          /* 12 */
    u16(p, DNS_TYPE_ANY); u16(p, DNS_CLASS_IN);
    size_t at;
    unsigned an = 0;

#define OWNER() ptr(p, (unsigned)zone)
    OWNER(); at = rr(p, DNS_TYPE_NS, 1, 3600); labels(p, "ns1"); ptr(p, zone); rr_end(p, at); an++;
    labels(p, "www"); OWNER(); at = rr(p, DNS_TYPE_CNAME, 1, 60); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_SOA, 1, 3600);
    labels(p, "NS1"); ptr(p, zone); labels(p, "HostMaster"); ptr(p, zone);
    u32(p, 1); u32(p, 2); u32(p, 3); u32(p, 4); u32(p, 5); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_PTR, 1, 1); labels(p, "host"); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_MX, 1, 1); u16(p, 10); labels(p, "mail"); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_SRV, 1, 1); u16(p, 1); u16(p, 2); u16(p, 5060);
    labels(p, "sip"); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_NAPTR, 1, 1); u16(p, 100); u16(p, 10);
    raw(p, "\1U\7E2U+sip\0", 11); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_RP, 1, 1); labels(p, "admin"); ptr(p, zone); ptr(p, zone);
    rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_AFSDB, 1, 1); u16(p, 1); labels(p, "afs"); ptr(p, zone);
    rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_RT, 1, 1); u16(p, 5); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_PX, 1, 1); u16(p, 7); ptr(p, zone); labels(p, "x400"); ptr(p, zone);
    rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_MINFO, 1, 1); ptr(p, zone); ptr(p, zone); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_MB, 1, 1); ptr(p, zone); rr_end(p, at); an++;
    /* names that must arrive whole: KX, DNAME, RRSIG's signer, NSEC */
    OWNER(); at = rr(p, DNS_TYPE_KX, 1, 1); u16(p, 3); name(p, "KX.Example.com"); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_DNAME, 1, 1); name(p, "Other.NET"); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_RRSIG, 1, 1);
    u16(p, DNS_TYPE_A); u8(p, 13); u8(p, 2); u32(p, 3600); u32(p, 2000000000); u32(p, 1000000000);
    u16(p, 12345); name(p, "EXAMPLE.com"); raw(p, "SIGNATURE", 9); rr_end(p, at); an++;
    OWNER(); at = rr(p, DNS_TYPE_NSEC, 1, 1); name(p, "A.example.com"); raw(p, "\0\1\x40", 3);
    rr_end(p, at); an++;
    /* opaque types */
    OWNER(); at = rr(p, DNS_TYPE_TXT, 1, 1); raw(p, "\5hello", 6); rr_end(p, at); an++;
    OWNER(); at = rr(p, 65280, 1, 1); rr_end(p, at); an++;   /* private type, empty */
#undef OWNER
    p->b[7] = (uint8_t)an;
    return an;
}

struct flat {
    uint16_t type;
    const char *rdata;            /* decompressed */
    size_t len;
    const char *canon;            /* DNS_RDATA_CANONICAL, when different */
};
#define F(t, r) {t, r, sizeof r - 1, NULL}
#define FC(t, r, c) {t, r, sizeof r - 1, c}
#define EX "\7example\3com\0"
#define SIG_FIXED "\0\1\15\2\0\0\x0e\x10\x77\x35\x94\0\x3b\x9a\xca\0\x30\x39"

static const struct flat flats[] = {
    F(DNS_TYPE_NS, "\3ns1" EX),
    F(DNS_TYPE_CNAME, EX),
    FC(DNS_TYPE_SOA, "\3NS1" EX "\12HostMaster" EX "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5",
       "\3ns1" EX "\12hostmaster" EX "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5"),
    F(DNS_TYPE_PTR, "\4host" EX),
    F(DNS_TYPE_MX, "\0\12\4mail" EX),
    F(DNS_TYPE_SRV, "\0\1\0\2\x13\xc4\3sip" EX),
    F(DNS_TYPE_NAPTR, "\0\x64\0\12\1U\7E2U+sip\0" EX),
    F(DNS_TYPE_RP, "\5admin" EX EX),
    F(DNS_TYPE_AFSDB, "\0\1\3afs" EX),
    F(DNS_TYPE_RT, "\0\5" EX),
    F(DNS_TYPE_PX, "\0\7" EX "\4x400" EX),
    F(DNS_TYPE_MINFO, EX EX),
    F(DNS_TYPE_MB, EX),
    FC(DNS_TYPE_KX, "\0\3\2KX\7Example\3com\0", "\0\3\2kx" EX),
    FC(DNS_TYPE_DNAME, "\5Other\3NET\0", "\5other\3net\0"),
    FC(DNS_TYPE_RRSIG, SIG_FIXED "\7EXAMPLE\3com\0SIGNATURE", SIG_FIXED EX "SIGNATURE"),
    /* RFC 6840 section 5.1: NSEC's next name keeps its case */
    F(DNS_TYPE_NSEC, "\1A" EX "\0\1\x40"),
    F(DNS_TYPE_TXT, "\5hello"),
    {65280, "", 0, NULL},
};

TEST(dns_wire_decompress_rdata)
{
    struct pkt p;
    size_t an = build_compressed_response(&p);
    REQUIRE(an == sizeof flats / sizeof flats[0]);
    struct dns_msg m;
    REQUIRE(parse(&m, p.b, p.n) == 0);
    size_t n;
    const struct dns_rr *rrs = dns_msg_section(&m, DNS_SECTION_ANSWER, &n);
    REQUIRE(n == an);
    CHECK_STR(owner_text(&m, &rrs[1]), "www.example.com.");
    for (size_t i = 0; i < n; i++) {
        uint8_t rd[512];
        CHECK_INT(rrs[i].type, flats[i].type);
        int len = dns_rr_rdata(&m, &rrs[i], rd, sizeof rd, 0);
        if (len != (int)flats[i].len || memcmp(rd, flats[i].rdata, flats[i].len) != 0) {
            fprintf(stderr, "    RR %zu (type %u): length %d\n", i, rrs[i].type, len);
            CHECK(0);
        }
        const char *canon = flats[i].canon ? flats[i].canon : flats[i].rdata;
        len = dns_rr_rdata(&m, &rrs[i], rd, sizeof rd, DNS_RDATA_CANONICAL);
        if (len != (int)flats[i].len || memcmp(rd, canon, flats[i].len) != 0) {
            fprintf(stderr, "    canonical RR %zu (type %u): length %d\n", i, rrs[i].type, len);
            CHECK(0);
        }
    }
    size_t newlen;
    CHECK(roundtrip(p.b, p.n, &newlen));
}

/* Change one thing in an otherwise good message and expect an error. */
static int parse_one_rr(unsigned type, unsigned rclass, const uint8_t *rdata, size_t rdlen)
{
    struct pkt p;
    header(&p, 1, 0x8000, 1, 1, 0, 0);
    name(&p, "example.com");
    u16(&p, 1); u16(&p, 1);
    ptr(&p, 12);
    size_t at = rr(&p, type, rclass, 0);
    raw(&p, rdata, rdlen);
    rr_end(&p, at);
    struct dns_msg m;
    return parse(&m, p.b, p.n);
}

TEST(dns_wire_malformed_rdata)
{
#define RD(s) (const uint8_t *)(s), sizeof(s) - 1
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, 1, RD("\3ns1\xc0\x0c")), 0);
    /* a name past the end of the RDATA, octets left after it */
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, 1, RD("\3ns1")), -EBADMSG);
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, 1, RD("\3ns1\xc0\x0c\0")), OP_E_SYNTAX);
    CHECK_INT(parse_one_rr(DNS_TYPE_CNAME, 1, RD("\0\0")), OP_E_SYNTAX);
    /* empty RDATA: only with class ANY or NONE (RFC 2136 sections 2.4, 2.5) */
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, DNS_CLASS_IN, RD("")), -EBADMSG);
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, DNS_CLASS_ANY, RD("")), 0);
    CHECK_INT(parse_one_rr(DNS_TYPE_MX, DNS_CLASS_NONE, RD("")), 0);
    /* fixed fields cut short */
    CHECK_INT(parse_one_rr(DNS_TYPE_MX, 1, RD("\0")), -EBADMSG);
    CHECK_INT(parse_one_rr(DNS_TYPE_SOA, 1, RD("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")),
              -EBADMSG);
    CHECK_INT(parse_one_rr(DNS_TYPE_SOA, 1, RD("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")), 0);
    CHECK_INT(parse_one_rr(DNS_TYPE_NAPTR, 1, RD("\0\1\0\1\5ab")), -EBADMSG);
    /* a forward pointer, or one into the RDATA's own name */
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, 1, RD("\xc0\x30")), OP_E_SYNTAX);
    CHECK_INT(parse_one_rr(DNS_TYPE_NS, 1, RD("\1a\xc0\x29")), OP_E_SYNTAX);
    /* a pointer where the type forbids compression (RFC 3597 section 4) */
    CHECK_INT(parse_one_rr(DNS_TYPE_DNAME, 1, RD("\xc0\x0c")), OP_E_SYNTAX);
    CHECK_INT(parse_one_rr(DNS_TYPE_KX, 1, RD("\0\1\xc0\x0c")), OP_E_SYNTAX);
    /* bad label types inside RDATA */
    CHECK_INT(parse_one_rr(DNS_TYPE_PTR, 1, RD("\x41\0")), OP_E_SYNTAX);
    /* opaque types are not looked into */
    CHECK_INT(parse_one_rr(DNS_TYPE_A, 1, RD("\xc0\x0c\x41")), 0);
    CHECK_INT(parse_one_rr(DNS_TYPE_NSEC, 1, RD("\xc0\x0c")), 0);
#undef RD
}

TEST(dns_wire_malformed_messages)
{
    struct dns_msg m;
    struct pkt p;
    /* short headers */
    for (size_t n = 0; n < DNS_HEADER_SIZE; n++)
        CHECK_INT(parse(&m, dig_mx_query, n), -EBADMSG);
    /* counts the packet cannot hold: checked before anything is read */
    header(&p, 1, 0, 0, 0xFFFF, 0xFFFF, 0xFFFF);
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    header(&p, 1, 0, 1, 0, 0, 0);
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    header(&p, 1, 0, 2, 0, 0, 0);
    name(&p, "a");
    u16(&p, 1); u16(&p, 1);                 /* one question where two are claimed */
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    /* the question's fixed fields cut */
    header(&p, 1, 0, 1, 0, 0, 0);
    name(&p, "a");
    u16(&p, 1); u8(&p, 0);
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    /* an RR without its TTL and RDLENGTH (padded so the counts fit) */
    header(&p, 1, 0, 0, 1, 0, 0);
    name(&p, "abcdef");
    u16(&p, 1); u16(&p, 1);
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    /* RDLENGTH past the end */
    header(&p, 1, 0, 0, 1, 0, 0);
    name(&p, "a");
    rr(&p, DNS_TYPE_A, 1, 0);
    p.b[p.n - 1] = 5;
    raw(&p, "\1\2\3\4", 4);
    CHECK_INT(parse(&m, p.b, p.n), -EBADMSG);
    /* octets after the last RR: counted, for the caller to judge */
    p.b[p.n - 5] = 4;
    CHECK_INT(parse(&m, p.b, p.n), 0);
    CHECK_INT(m.trailing, 0);
    u8(&p, 0);
    u8(&p, 0);
    CHECK_INT(parse(&m, p.b, p.n), 0);
    CHECK_INT(m.trailing, 2);
    /* the owner name loops */
    header(&p, 1, 0, 1, 0, 0, 0);
    ptr(&p, 12);
    u16(&p, 1); u16(&p, 1);
    CHECK_INT(parse(&m, p.b, p.n), OP_E_SYNTAX);
    /* more entries than the caller's array */
    CHECK_INT(dns_msg_parse(&m, dig_mx_response, sizeof dig_mx_response, g_rrs, 6), OP_E_LIMIT);
    CHECK_INT(dns_msg_parse(&m, dig_mx_response, sizeof dig_mx_response, g_rrs, 7), 0);
    CHECK(DNS_MSG_MAXRR(sizeof dig_mx_response) >= 7);
    /* a message over 65535 octets */
    uint8_t *big = calloc(1, DNS_MSG_MAX + 1);
    CHECK_INT(parse(&m, big, DNS_MSG_MAX + 1), OP_E_TOOLONG);
    CHECK_INT(parse(&m, big, DNS_MSG_MAX), 0);  /* zero counts, then junk */
    CHECK_INT(m.trailing, DNS_MSG_MAX - DNS_HEADER_SIZE);
    free(big);
}

/* ---- where names sit in RDATA ------------------------------------------------ */

TEST(dns_rdnames_flags)
{
    CHECK(dns_rdnames_flags(DNS_TYPE_NS) & DNS_RDN_COMPRESS);
    CHECK(dns_rdnames_flags(DNS_TYPE_MX) & DNS_RDN_COMPRESS);
    CHECK(!(dns_rdnames_flags(DNS_TYPE_SRV) & DNS_RDN_COMPRESS));
    CHECK(dns_rdnames_flags(DNS_TYPE_SRV) & DNS_RDN_DECOMPRESS);
    CHECK(!(dns_rdnames_flags(DNS_TYPE_DNAME) & DNS_RDN_DECOMPRESS));
    CHECK(dns_rdnames_flags(DNS_TYPE_RRSIG) & DNS_RDN_LOWER);
    CHECK_INT(dns_rdnames_flags(DNS_TYPE_NSEC), 0);
    CHECK_INT(dns_rdnames_flags(DNS_TYPE_A), 0);
    CHECK_INT(dns_rdnames_flags(65535), 0);
}
