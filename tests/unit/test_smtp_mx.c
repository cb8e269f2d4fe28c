/* MX answers and their order (smtp/mx.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "dns/consts.h"
#include "dns/writer.h"
#include "smtp/mx.h"
#include "test.h"

static struct dns_name N(const char *text)
{
    struct dns_name n;
    dns_name_from_text(&n, text, strlen(text), NULL);
    return n;
}

typedef struct { uint16_t pref; const char *host; } mxrec;

/* A response to (qname, qtype) with rcode, and nmx MX records "pref host". */
static size_t answer(uint8_t *buf, const char *qname, uint16_t qtype, int rcode,
                     const mxrec *mx, size_t nmx)
{
    struct dns_writer w;
    struct dns_header h = {.id = 1, .qr = true, .rd = true, .ra = true, .rcode = (uint8_t)rcode};
    dns_writer_init(&w, buf, 4096, &h);
    struct dns_name q = N(qname);
    dns_writer_question(&w, &q, qtype, DNS_CLASS_IN);
    for (size_t i = 0; i < nmx; i++) {
        uint8_t rd[2 + DNS_NAME_MAXWIRE];
        struct dns_name t = N(mx[i].host);
        rd[0] = (uint8_t)(mx[i].pref >> 8);
        rd[1] = (uint8_t)mx[i].pref;
        memcpy(rd + 2, t.wire, t.len);
        dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_MX, DNS_CLASS_IN, 300, rd, 2u + t.len);
    }
    return dns_writer_len(&w);
}

TEST(smtp_mx_parse_records)
{
    uint8_t buf[4096];
    mxrec recs[] = {{20, "b.example."}, {10, "A.Example."}};
    size_t len = answer(buf, "example.", DNS_TYPE_MX, 0, recs, 2);
    struct mx_host h[MX_MAX];
    size_t n;
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_FOUND);
    REQUIRE(n == 2);
    CHECK_INT(h[0].pref, 20);
    CHECK_STR(h[0].text, "b.example");
    CHECK_STR(h[1].text, "a.example");      /* lower-cased, no final dot */
    /* Only as many as the caller holds. */
    CHECK_INT(mx_parse(buf, len, h, 1, &n), MX_FOUND);
    CHECK_INT(n, 1);
}

TEST(smtp_mx_parse_outcomes)
{
    uint8_t buf[4096];
    struct mx_host h[MX_MAX];
    size_t n;
    size_t len = answer(buf, "example.", DNS_TYPE_MX, 0, NULL, 0);
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_NODATA);
    len = answer(buf, "example.", DNS_TYPE_MX, DNS_RCODE_NXDOMAIN, NULL, 0);
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_NXDOMAIN);
    len = answer(buf, "example.", DNS_TYPE_MX, DNS_RCODE_SERVFAIL, NULL, 0);
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_TEMPFAIL);
    mxrec null_mx[] = {{0, "."}};
    len = answer(buf, "example.", DNS_TYPE_MX, 0, null_mx, 1);
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_NULL);
    CHECK_INT(n, 0);
    /* A null MX among others still says "no mail" (RFC 7505 section 3). */
    mxrec mixed[] = {{10, "mx.example."}, {0, "."}};
    len = answer(buf, "example.", DNS_TYPE_MX, 0, mixed, 2);
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_NULL);
    /* Garbage and truncation. */
    CHECK_INT(mx_parse(buf, 5, h, MX_MAX, &n), MX_TEMPFAIL);
    buf[2] |= 0x02;     /* TC */
    CHECK_INT(mx_parse(buf, len, h, MX_MAX, &n), MX_TEMPFAIL);
}

static uint32_t rnd_state;
static uint32_t fixed_rnd(uint32_t bound)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % bound;
}

TEST(smtp_mx_order_by_preference_random_among_equals)
{
    struct mx_host h[6];
    static const uint16_t prefs[] = {30, 10, 20, 10, 10, 0};
    int first_seen[6] = {0};
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < 6; i++) {
            h[i].pref = prefs[i];
            snprintf(h[i].text, sizeof h[i].text, "h%zu", i);
        }
        rnd_state = (uint32_t)round;
        mx_order(h, 6, fixed_rnd);
        CHECK_STR(h[0].text, "h5");             /* 0 */
        CHECK_INT(h[1].pref, 10);
        CHECK_INT(h[2].pref, 10);
        CHECK_INT(h[3].pref, 10);
        CHECK_STR(h[4].text, "h2");             /* 20 */
        CHECK_STR(h[5].text, "h0");             /* 30 */
        first_seen[h[1].text[1] - '0']++;
    }
    /* Each of the three preference-10 hosts came first sometimes. */
    CHECK(first_seen[1] > 0 && first_seen[3] > 0 && first_seen[4] > 0);
}

TEST(smtp_mx_addresses)
{
    uint8_t buf[4096];
    struct dns_writer w;
    struct dns_header hd = {.id = 1, .qr = true};
    dns_writer_init(&w, buf, sizeof buf, &hd);
    struct dns_name q = N("mx.example.");
    dns_writer_question(&w, &q, DNS_TYPE_A, DNS_CLASS_IN);
    uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2}, bad[3] = {1, 2, 3};
    dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 60, a1, 4);
    dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 60, bad, 3);
    dns_writer_rr(&w, DNS_SECTION_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 60, a2, 4);
    struct sockaddr_storage ss[4];
    CHECK_INT(mx_addrs_parse(buf, dns_writer_len(&w), DNS_TYPE_A, 2525, ss, 4), 2);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss[1];
    CHECK_INT(s4->sin_family, AF_INET);
    CHECK_INT(ntohs(s4->sin_port), 2525);
    CHECK_INT(ntohl(s4->sin_addr.s_addr), 0xc0000202);
    CHECK_INT(mx_addrs_parse(buf, dns_writer_len(&w), DNS_TYPE_A, 25, ss, 1), 1);
    CHECK_INT(mx_addrs_parse(buf, dns_writer_len(&w), DNS_TYPE_AAAA, 25, ss, 4), 0);
    CHECK_INT(mx_addrs_parse(buf, 3, DNS_TYPE_A, 25, ss, 4), -EAGAIN);
}
