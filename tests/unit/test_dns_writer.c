/* Unit tests for src/dns/writer.c: building messages, name compression
 * (RFC 1035 section 4.1.4, RFC 3597 section 4), whole-RR truncation
 * (RFC 2181 section 9), room kept for the OPT RR. */
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

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0)
        abort();
    return n;
}

/* ---- the writer -------------------------------------------------------------- */

TEST(dns_writer_compression)
{
    uint8_t buf[512];
    struct dns_writer w;
    struct dns_header h = {.id = 0xABCD, .qr = 1, .aa = 1};
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_name zone = name_of("example.test."), mail = name_of("mail.example.test.");
    struct dns_name upper = name_of("MX2.Example.TEST.");
    REQUIRE(dns_writer_question(&w, &zone, DNS_TYPE_MX, DNS_CLASS_IN) == 0);
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &zone, DNS_TYPE_MX, 1, 3600,
                          (const uint8_t *)"\0\12\4mail\7example\4test", 2 + 19) == 0);
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &mail, DNS_TYPE_A, 1, 3600,
                          (const uint8_t *)"\xc0\0\2\31", 4) == 0);
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &upper, DNS_TYPE_A, 1, 3600,
                          (const uint8_t *)"\xc0\0\2\32", 4) == 0);
    static const uint8_t want[] = {
        0xab, 0xcd, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 2,
        /* 12: question */
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
        /* 30: answer: owner is a pointer, and so is the MX's suffix */
        0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 9, 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 12,
        /* 51: mail.example.test points at the MX's "mail" at 44 */
        0xc0, 44, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 0xc0, 0, 2, 25,
        /* 67: case differs: no suffix matches, written in full */
        3, 'M', 'X', '2', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 4, 'T', 'E', 'S', 'T', 0,
        0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 0xc0, 0, 2, 26,
    };
    CHECK_INT(dns_writer_len(&w), sizeof want);
    CHECK(memcmp(buf, want, sizeof want) == 0);
    /* and a later name in that case does compress against it */
    struct dns_name upper2 = name_of("www.Example.TEST.");
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &upper2, DNS_TYPE_A, 1, 0,
                          (const uint8_t *)"\0\0\0\0", 4) == 0);
    CHECK(memcmp(buf + sizeof want, "\3www\xc0\x47", 6) == 0);

    /* section order is enforced */
    CHECK_INT(dns_writer_rr(&w, DNS_SECTION_ANSWER, &zone, DNS_TYPE_A, 1, 0,
                            (const uint8_t *)"\0\0\0\0", 4), -EINVAL);
    CHECK_INT(dns_writer_question(&w, &zone, DNS_TYPE_A, 1), -EINVAL);
    CHECK_INT(dns_writer_rr(&w, DNS_SECTION_QUESTION, &zone, DNS_TYPE_A, 1, 0, NULL, 0), -EINVAL);
}

TEST(dns_writer_no_compression_in_other_rdata)
{
    uint8_t buf[512];
    struct dns_writer w;
    struct dns_header h = {.qr = 1};
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_name zone = name_of("example.test.");
    struct dns_name sip = name_of("_sip._udp.example.test.");
    REQUIRE(dns_writer_question(&w, &sip, DNS_TYPE_SRV, 1) == 0);
    /* RFC 3597 section 4: the SRV target is written in full... */
    static const char srv[] = "\0\1\0\2\x13\xc4\3sip\7example\4test";
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &sip, DNS_TYPE_SRV, 1, 60,
                          (const uint8_t *)srv, sizeof srv) == 0);
    size_t target_at = 12 + 28 + 2 + 10 + 6;
    CHECK(memcmp(buf + target_at, "\3sip\7example\4test\0", 18) == 0);
    /* ...and never pointed into: sip.example.test. points at the question */
    struct dns_name sipname = name_of("sip.example.test.");
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &sipname, DNS_TYPE_A, 1, 60,
                          (const uint8_t *)"\1\2\3\4", 4) == 0);
    size_t a_at = target_at + 18;
    CHECK(memcmp(buf + a_at, "\3sip\xc0\x16", 6) == 0);
    (void)zone;

    /* malformed RDATA for a type with names: refused, nothing written */
    size_t len = dns_writer_len(&w);
    CHECK_INT(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &zone, DNS_TYPE_MX, 1, 0,
                            (const uint8_t *)"\0", 1), -EBADMSG);
    CHECK_INT(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &zone, DNS_TYPE_NS, 1, 0,
                            (const uint8_t *)"\3ns1\0junk", 9), OP_E_SYNTAX);
    CHECK_INT(dns_writer_rr(&w, DNS_SECTION_ADDITIONAL, &zone, DNS_TYPE_NS, 1, 0,
                            (const uint8_t *)"\xc0\x0c", 2), OP_E_SYNTAX);
    CHECK_INT(dns_writer_len(&w), len);
    struct dns_msg m;
    REQUIRE(parse(&m, buf, len) == 0);
    CHECK_INT(m.nrr, 3);
}

TEST(dns_writer_truncation)
{
    uint8_t buf[110];
    struct dns_writer w;
    struct dns_header h = {.id = 1, .qr = 1};
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    CHECK_INT(dns_writer_init(&w, buf, 11, &h), -EINVAL);
    CHECK_INT(dns_writer_init(&w, buf, 65536, &h), -EINVAL);
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_name q = name_of("many.example.");
    REQUIRE(dns_writer_question(&w, &q, DNS_TYPE_TXT, 1) == 0);     /* 12 + 18 */
    /* each TXT RR: pointer (2) + 10 + 21 octets of RDATA = 33 */
    static const char txt[] = "\24twenty octets of txt";
    int added = 0, r;
    while ((r = dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_TXT, 1, 0,
                              (const uint8_t *)txt, 21)) == 0)
        added++;
    CHECK_INT(r, -EMSGSIZE);
    CHECK_INT(added, 2);
    CHECK_INT(dns_writer_len(&w), 30 + 2 * 33);
    /* the message as it stands is whole; the caller sets TC */
    h.tc = true;
    dns_writer_set_header(&w, &h);
    struct dns_msg m;
    REQUIRE(parse(&m, buf, dns_writer_len(&w)) == 0);
    CHECK(m.hdr.tc);
    CHECK_INT(m.hdr.count[DNS_SECTION_ANSWER], 2);
    /* a smaller RR still fits after a refused one: 14 octets, to 110 */
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_TXT, 1, 0,
                          (const uint8_t *)"\1x", 2) == 0);
    CHECK_INT(dns_writer_len(&w), 96 + 14);
    REQUIRE(parse(&m, buf, dns_writer_len(&w)) == 0);
    CHECK_INT(m.hdr.count[DNS_SECTION_ANSWER], 3);

    /* reserving room for the OPT RR keeps it in a truncated response */
    uint8_t big[DNS_MSG_MAX];
    REQUIRE(dns_writer_init(&w, big, 512, &h) == 0);
    REQUIRE(dns_writer_question(&w, &q, DNS_TYPE_TXT, 1) == 0);
    struct dns_edns_out opt = {.udp_size = 1232, .ede = true, .ede_code = DNS_EDE_OTHER,
                               .ede_text = "truncated", .ede_text_len = 9};
    REQUIRE(dns_writer_reserve(&w, dns_edns_size(&opt)) == 0);
    added = 0;
    while (dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_TXT, 1, 0,
                         (const uint8_t *)txt, 21) == 0)
        added++;
    CHECK_INT(added, (512 - 30 - 26) / 33);
    dns_writer_release(&w, dns_edns_size(&opt));
    REQUIRE(dns_edns_write(&w, &opt) == 0);
    CHECK(dns_writer_len(&w) <= 512);
    REQUIRE(parse(&m, big, dns_writer_len(&w)) == 0);
    struct dns_edns e;
    CHECK_INT(dns_edns_get(&m, &e), DNS_EDNS_OK);
    /* no room left at all: the OPT RR does not fit either, and nothing changes */
    size_t len = dns_writer_len(&w);
    REQUIRE(dns_writer_init(&w, big, len, &h) == 0);
    CHECK_INT(dns_writer_reserve(&w, len), -EMSGSIZE);
    struct dns_edns_out small = {.udp_size = 512};
    REQUIRE(dns_writer_init(&w, big, 22, &h) == 0);
    CHECK_INT(dns_edns_write(&w, &small), -EMSGSIZE);
    CHECK_INT(dns_writer_len(&w), 12);
    CHECK(big[11] == 0);
}

TEST(dns_writer_pointer_range)
{
    /* Names past offset 16383 cannot be pointed to (14-bit offsets); a
     * long message still reads back right. */
    static uint8_t buf[DNS_MSG_MAX];
    struct dns_writer w;
    struct dns_header h = {.qr = 1};
    REQUIRE(dns_writer_init(&w, buf, sizeof buf, &h) == 0);
    struct dns_name q = name_of("big.example.");
    REQUIRE(dns_writer_question(&w, &q, DNS_TYPE_NULL, 1) == 0);
    static uint8_t filler[16500];
    memset(filler, 'x', sizeof filler);
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_NULL, 1, 0, filler,
                          sizeof filler) == 0);
    CHECK(dns_writer_len(&w) > 16384);
    struct dns_name far = name_of("far.away.test.");
    for (int i = 0; i < 3; i++)
        REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &far, DNS_TYPE_A, 1, 0,
                              (const uint8_t *)"\1\2\3\4", 4) == 0);
    /* a name early in the message can still be pointed to */
    struct dns_name sub = name_of("www.big.example.");
    REQUIRE(dns_writer_rr(&w, DNS_SECTION_ANSWER, &sub, DNS_TYPE_A, 1, 0,
                          (const uint8_t *)"\1\2\3\4", 4) == 0);
    size_t len = dns_writer_len(&w);
    CHECK(memcmp(buf + len - 20, "\3www\xc0\x0c", 6) == 0);

    struct dns_msg m;
    static struct dns_rr rrs[8];
    REQUIRE(dns_msg_parse(&m, buf, len, rrs, 8) == 0);
    CHECK_INT(m.nrr, 6);
    for (int i = 2; i <= 4; i++) {
        struct dns_name n;
        REQUIRE(dns_rr_owner(&m, &rrs[i], &n) == 0);
        CHECK(dns_name_equal(&n, &far));
    }
    /* all three written in full: 15 + 10 + 4 octets each */
    CHECK(rrs[2].owner > 16383);
    CHECK_INT(rrs[3].owner - rrs[2].owner, 29);
    CHECK_INT(rrs[4].owner - rrs[3].owner, 29);
}
