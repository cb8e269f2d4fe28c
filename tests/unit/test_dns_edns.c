/* Unit tests for src/dns/edns.c: finding and checking the OPT RR
 * (RFC 6891), writing it, Extended DNS Errors (RFC 8914). The dig captures
 * with EDNS are read in test_dns_wire.c. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "dns/writer.h"

#define MAXRR 16
static struct dns_rr g_rrs[MAXRR];

static int parse(struct dns_msg *m, const uint8_t *p, size_t len)
{
    return dns_msg_parse(m, p, len, g_rrs, MAXRR);
}

/* A hand-built packet, as in test_dns_wire.c. */
struct pkt {
    uint8_t b[512];
    size_t n;
};

static void u8(struct pkt *p, unsigned v) { p->b[p->n++] = (uint8_t)v; }
static void u16(struct pkt *p, unsigned v) { u8(p, v >> 8 & 0xFF); u8(p, v & 0xFF); }
static void raw(struct pkt *p, const void *d, size_t n) { memcpy(p->b + p->n, d, n); p->n += n; }
static void ptr(struct pkt *p, unsigned off) { u16(p, 0xC000 | off); }

/* A one-label name and the root after it. */
static void name(struct pkt *p, const char *label)
{
    u8(p, (unsigned)strlen(label));
    raw(p, label, strlen(label));
    u8(p, 0);
}

/* A header claiming qd questions, an answers and ar additional RRs, and
 * the question "a." A IN. */
static void query(struct pkt *p, unsigned qd, unsigned an, unsigned ar)
{
    p->n = 0;
    u16(p, 1); u16(p, 0); u16(p, qd); u16(p, an); u16(p, 0); u16(p, ar);
    name(p, "a");
    u16(p, DNS_TYPE_A); u16(p, DNS_CLASS_IN);
}

/* An OPT RR; owner_label NULL for the root. */
static void opt_rr(struct pkt *p, const char *owner_label, unsigned udp, uint32_t ttl,
                   const char *opts, size_t n)
{
    if (owner_label)
        name(p, owner_label);
    else
        u8(p, 0);
    u16(p, DNS_TYPE_OPT); u16(p, udp); u16(p, ttl >> 16); u16(p, ttl & 0xFFFF);
    u16(p, (unsigned)n);
    raw(p, opts, n);
}

static enum dns_edns_status edns_of(const struct pkt *p, struct dns_edns *e)
{
    struct dns_msg m;
    if (parse(&m, p->b, p->n) < 0)
        return (enum dns_edns_status)99;
    return dns_edns_get(&m, e);
}

TEST(dns_edns_find)
{
    struct pkt p;
    struct dns_edns e;
    query(&p, 1, 0, 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_NONE);
    CHECK_INT(e.udp_size, 0);

    /* RFC 6891 section 6.1.3: payload, extended RCODE, version, DO */
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 4096, 0x01028000, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 4096);
    CHECK_INT(e.ext_rcode, 1);
    CHECK_INT(e.version, 2);
    CHECK(e.do_bit);
    CHECK_INT(e.z, 0);
    CHECK_INT(e.options_len, 0);
    struct dns_header h = {.rcode = 2};
    CHECK_INT(dns_edns_rcode(&h, &e), 18);

    /* a payload below 512 counts as 512 (RFC 6891 section 6.2.5); the Z
     * bits are kept as received */
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 100, 0x00007FFF, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 512);
    CHECK(!e.do_bit);
    CHECK_INT(e.z, 0x7FFF);

    /* the owner may be a pointer, as long as it leads to the root: the
     * questions "a." and "." */
    p.n = 0;
    u16(&p, 1); u16(&p, 0); u16(&p, 2); u16(&p, 0); u16(&p, 0); u16(&p, 1);
    name(&p, "a"); u16(&p, 1); u16(&p, 1);
    size_t root_at = p.n;
    u8(&p, 0); u16(&p, 1); u16(&p, 1);
    ptr(&p, (unsigned)root_at);
    u16(&p, DNS_TYPE_OPT); u16(&p, 1232); u16(&p, 0); u16(&p, 0); u16(&p, 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_OK);
}

TEST(dns_edns_malformed)
{
    struct pkt p;
    struct dns_edns e;
    /* twice (RFC 6891 section 6.1.1) */
    query(&p, 1, 0, 2);
    opt_rr(&p, NULL, 1232, 0, "", 0);
    opt_rr(&p, NULL, 512, 0, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_MULTIPLE);
    CHECK_INT(e.udp_size, 1232);           /* the first one is described */
    /* the owner is not the root (RFC 6891 section 6.1.2) */
    query(&p, 1, 0, 1);
    opt_rr(&p, "a", 1232, 0, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_BAD_OWNER);
    /* in the answer section, alone or besides one in the additional */
    query(&p, 1, 1, 0);
    opt_rr(&p, NULL, 1232, 0, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_MISPLACED);
    query(&p, 1, 1, 1);
    opt_rr(&p, NULL, 1232, 0, "", 0);
    opt_rr(&p, NULL, 1232, 0, "", 0);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_MULTIPLE);
    /* options cut inside an option's header, or overrunning the RDATA */
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 1232, 0, "\0\12\0", 3);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_BAD_OPTIONS);
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 1232, 0, "\0\12\0\3ab", 6);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_BAD_OPTIONS);
    size_t pos = 0;
    struct dns_edns_opt o;
    CHECK(!dns_edns_next_option(&e, &pos, &o));
    /* a good option, then a bad one: the iterator gives the first only */
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 1232, 0, "\0\12\0\2ab\0\14\0\1", 10);
    CHECK_INT(edns_of(&p, &e), DNS_EDNS_BAD_OPTIONS);
    pos = 0;
    CHECK(dns_edns_next_option(&e, &pos, &o));
    CHECK(!dns_edns_next_option(&e, &pos, &o));
}

TEST(dns_edns_options)
{
    struct pkt p;
    struct dns_edns e;
    query(&p, 1, 0, 1);
    opt_rr(&p, NULL, 1232, 0, "\0\12\0\2ab\0\14\0\0\0\17\0\3\0\22x", 17);
    REQUIRE(edns_of(&p, &e) == DNS_EDNS_OK);
    size_t pos = 0;
    struct dns_edns_opt o;
    REQUIRE(dns_edns_next_option(&e, &pos, &o));
    CHECK(o.code == DNS_EDNS_COOKIE && o.len == 2 && memcmp(o.data, "ab", 2) == 0);
    REQUIRE(dns_edns_next_option(&e, &pos, &o));
    CHECK(o.code == DNS_EDNS_PADDING && o.len == 0);
    REQUIRE(dns_edns_next_option(&e, &pos, &o));
    CHECK(o.code == DNS_EDNS_EDE && o.len == 3);
    CHECK(!dns_edns_next_option(&e, &pos, &o));

    REQUIRE(dns_edns_find_option(&e, DNS_EDNS_EDE, &o));
    uint16_t code;
    const char *text;
    size_t tlen;
    REQUIRE(dns_edns_read_ede(&o, &code, &text, &tlen) == 0);
    CHECK_INT(code, DNS_EDE_PROHIBITED);
    CHECK(tlen == 1 && text[0] == 'x');
    CHECK(!dns_edns_find_option(&e, DNS_EDNS_NSID, &o));
    /* an EDE too short for its info-code */
    o.len = 1;
    CHECK_INT(dns_edns_read_ede(&o, &code, &text, &tlen), OP_E_SYNTAX);
    CHECK_STR(dns_ede_name(DNS_EDE_PROHIBITED), "Prohibited");
    CHECK_STR(dns_ede_name(DNS_EDE_INVALID_DATA), "Invalid Data");
    CHECK(dns_ede_name(500) == NULL);
}

TEST(dns_edns_write_read)
{
    uint8_t buf[512];
    struct dns_writer w;
    struct dns_header h = {.id = 7, .qr = 1, .rcode = DNS_RCODE_BADVERS & 0xF};
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_name q;
    REQUIRE(dns_name_from_text(&q, "example.test.", 13, NULL) == 0);
    REQUIRE(dns_writer_question(&w, &q, DNS_TYPE_A, DNS_CLASS_IN) == 0);
    struct dns_edns_out out = {
        .udp_size = 1232, .rcode = DNS_RCODE_BADVERS, .do_bit = true,
        .ede = true, .ede_code = DNS_EDE_PROHIBITED, .ede_text = "no transfers",
        .ede_text_len = 12,
    };
    size_t before = dns_writer_len(&w);
    REQUIRE(dns_edns_write(&w, &out) == 0);
    CHECK_INT(dns_writer_len(&w) - before, dns_edns_size(&out));

    struct dns_msg m;
    REQUIRE(parse(&m, buf, dns_writer_len(&w)) == 0);
    struct dns_edns e;
    REQUIRE(dns_edns_get(&m, &e) == DNS_EDNS_OK);
    CHECK_INT(e.udp_size, 1232);
    CHECK(e.do_bit);
    CHECK_INT(e.version, 0);
    CHECK_INT(e.z, 0);
    CHECK_INT(dns_edns_rcode(&m.hdr, &e), DNS_RCODE_BADVERS);
    struct dns_edns_opt o;
    REQUIRE(dns_edns_find_option(&e, DNS_EDNS_EDE, &o));
    uint16_t code;
    const char *text;
    size_t tlen;
    REQUIRE(dns_edns_read_ede(&o, &code, &text, &tlen) == 0);
    CHECK_INT(code, DNS_EDE_PROHIBITED);
    CHECK(tlen == 12 && memcmp(text, "no transfers", 12) == 0);

    /* the bare minimum: 11 octets, "root OPT 512 0 0" */
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_edns_out plain = {.udp_size = 100};
    REQUIRE(dns_edns_write(&w, &plain) == 0);
    CHECK_INT(dns_writer_len(&w), 12 + 11);
    CHECK(memcmp(buf + 12, "\0\0\x29\x02\0\0\0\0\0\0\0", 11) == 0);
    /* an EDE with no text, version 1 */
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_edns_out v1 = {.udp_size = 4096, .version = 1, .ede = true, .ede_code = 0};
    REQUIRE(dns_edns_write(&w, &v1) == 0);
    CHECK(memcmp(buf + 12, "\0\0\x29\x10\0\0\1\0\0\0\6\0\x0f\0\2\0\0", 17) == 0);
    /* too long a text */
    struct dns_edns_out huge = {.ede = true, .ede_text = "", .ede_text_len = 70000};
    CHECK_INT(dns_edns_write(&w, &huge), -EINVAL);
}

