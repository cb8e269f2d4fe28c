/* Unit tests for the secondary side: RFC 1982 serial arithmetic, SOA
 * timers, the unavailable placeholder answered
 * SERVFAIL, and NOTIFY answers for zones we are not secondary for. */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "base/err.h"
#include "dns/auth.h"
#include "dns/journal.h"
#include "dns/secondary.h"
#include "dns/writer.h"
#include "dns/xfrin.h"
#include "dns_testzone.h"

TEST(dns_serial_arithmetic)
{
    /* RFC 1982 section 3.2, SERIAL_BITS 32. */
    CHECK(dns_serial_gt(2, 1));
    CHECK(!dns_serial_gt(1, 2));
    CHECK(!dns_serial_gt(7, 7));
    CHECK(dns_serial_gt(0, 0xFFFFFFFFu));            /* wraps around */
    CHECK(dns_serial_gt(5, 0xFFFFFFF0u));
    CHECK(!dns_serial_gt(0xFFFFFFF0u, 5));
    CHECK(dns_serial_gt(0x7FFFFFFFu, 0));
    CHECK(!dns_serial_gt(0x80000000u, 0));           /* undefined: not newer */
    CHECK(!dns_serial_gt(0, 0x80000000u));
}

TEST(dns_soa_timers)
{
    uint8_t rd[600];
    int n = tz_rdata(DNS_TYPE_SOA, "ns.x.test. h.x.test. 42 2 1 6 60", rd);
    struct dns_soa_timers t;
    CHECK_INT(dns_soa_parse(rd, (size_t)n, &t), 0);
    CHECK_INT(t.serial, 42);
    CHECK_INT(t.refresh, 2);
    CHECK_INT(t.retry, 1);
    CHECK_INT(t.expire, 6);
    CHECK_INT(t.minimum, 60);
    CHECK_INT(dns_soa_parse(rd, (size_t)n - 1, &t), -EBADMSG);
    CHECK_INT(dns_soa_parse(rd, 3, &t), -EBADMSG);
}

static size_t query(uint8_t *buf, size_t cap, const char *name, uint16_t type, uint8_t opcode)
{
    struct dns_writer w;
    struct dns_header h = {.id = 0x1234, .opcode = opcode};
    struct dns_name n = tz_name(name);
    if (dns_writer_init(&w, buf, cap, &h) < 0 || dns_writer_question(&w, &n, type, DNS_CLASS_IN) < 0)
        abort();
    return dns_writer_len(&w);
}

TEST(dns_unavailable_zone_is_servfail)
{
    struct dns_name apex = tz_name("sec.test.");
    struct dns_zone *z = dns_zone_new_unavailable(&apex);
    REQUIRE(z);
    CHECK(!dns_zone_available(z));
    struct dns_zoneset *zs = dns_zoneset_new();
    REQUIRE(zs);
    CHECK_INT(dns_zoneset_add(zs, z), 0);
    uint8_t q[512], out[4096];
    struct dns_auth_opts o = {.tcp = false, .udp_max = 1232};
    struct dns_auth_result res;
    size_t qlen = query(q, sizeof q, "www.sec.test.", DNS_TYPE_A, DNS_OPCODE_QUERY);
    size_t n = dns_auth_respond(zs, q, qlen, &o, out, sizeof out, &res);
    REQUIRE(n >= DNS_HEADER_SIZE);
    CHECK_INT(out[3] & 0xF, DNS_RCODE_SERVFAIL);
    CHECK_INT(out[2] & 0x04, 0);                     /* no AA */
    CHECK_INT(out[7], 0);                            /* no answer */
    qlen = query(q, sizeof q, "sec.test.", DNS_TYPE_SOA, DNS_OPCODE_QUERY);
    n = dns_auth_respond(zs, q, qlen, &o, out, sizeof out, &res);
    REQUIRE(n >= DNS_HEADER_SIZE);
    CHECK_INT(out[3] & 0xF, DNS_RCODE_SERVFAIL);
    dns_zoneset_unref(zs);
    dns_zone_unref(z);
}

TEST(dns_notify_not_secondary)
{
    uint8_t q[512], out[512];
    struct sockaddr_storage peer = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&peer;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(0x7F000001);
    size_t qlen = query(q, sizeof q, "nothere.test.", DNS_TYPE_SOA, DNS_OPCODE_NOTIFY);
    size_t n = dns_secondary_notify(q, qlen, &peer, out, sizeof out);
    REQUIRE(n == qlen);                               /* the question echoed */
    CHECK_INT(out[0] << 8 | out[1], 0x1234);
    CHECK_INT(out[2] & 0x80, 0x80);                   /* QR */
    CHECK_INT((out[2] >> 3) & 0xF, DNS_OPCODE_NOTIFY);
    CHECK_INT(out[3] & 0xF, DNS_RCODE_NOTAUTH);
    /* No question: FORMERR; a response: dropped. */
    uint8_t bare[DNS_HEADER_SIZE] = {0x12, 0x34, DNS_OPCODE_NOTIFY << 3};
    n = dns_secondary_notify(bare, sizeof bare, &peer, out, sizeof out);
    REQUIRE(n == DNS_HEADER_SIZE);
    CHECK_INT(out[3] & 0xF, DNS_RCODE_FORMERR);
    q[2] |= 0x80;
    CHECK_INT(dns_secondary_notify(q, qlen, &peer, out, sizeof out), 0);
}

/* ---- reading transfers (dns_xfrin_read) ------------------------------------------- */

struct xrec {
    const char *owner;
    uint16_t type;
    const char *rdata;               /* as tz_rdata reads it */
};

#define XSOA(serial) {"sec.test.", DNS_TYPE_SOA, "ns.sec.test. h.sec.test. " #serial " 2 1 6 60"}

/* Append one answer message (ID 0x4242, question sec.test/qtype unless
 * noq) holding recs to the stream s at *len. */
static void put_msg(uint8_t *s, size_t *len, uint16_t qtype, bool noq, const struct xrec *recs,
                    size_t n)
{
    struct dns_writer w;
    struct dns_header h = {.id = 0x4242, .qr = true, .aa = true};
    struct dns_name apex = tz_name("sec.test.");
    uint8_t *m = s + *len + 2;
    if (dns_writer_init(&w, m, 65535, &h) < 0 ||
        (!noq && dns_writer_question(&w, &apex, qtype, DNS_CLASS_IN) < 0))
        abort();
    for (size_t i = 0; i < n; i++) {
        uint8_t rd[600];
        int rl = tz_rdata(recs[i].type, recs[i].rdata, rd);
        struct dns_name o = tz_name(recs[i].owner);
        if (dns_writer_rr(&w, DNS_SECTION_ANSWER, &o, recs[i].type, DNS_CLASS_IN, 300, rd,
                          (size_t)rl) < 0)
            abort();
    }
    size_t ml = dns_writer_len(&w);
    s[*len] = (uint8_t)(ml >> 8);
    s[*len + 1] = (uint8_t)ml;
    *len += 2 + ml;
}

static uint8_t g_stream[200000];

static const struct xrec zone1[] = {
    XSOA(1),
    {"sec.test.", DNS_TYPE_NS, "ns.sec.test."},
    {"ns.sec.test.", DNS_TYPE_A, "192.0.2.53"},
    {"www.sec.test.", DNS_TYPE_A, "192.0.2.1"},
    {"old.sec.test.", DNS_TYPE_TXT, "going"},
    XSOA(1),
};

static struct dns_zone *axfr_zone1(void)
{
    size_t len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, zone1, 3);     /* over two messages */
    put_msg(g_stream, &len, DNS_TYPE_AXFR, true, zone1 + 3, 3);
    struct dns_name apex = tz_name("sec.test.");
    struct dns_zone *z = NULL;
    char err[300];
    if (dns_xfrin_read(g_stream, len, 0x4242, &apex, NULL, &z, err, sizeof err) != 1)
        return NULL;
    return z;
}

TEST(dns_xfrin_axfr_stream)
{
    struct dns_zone *z = axfr_zone1();
    REQUIRE(z);
    CHECK_INT(dns_zone_serial(z), 1);
    CHECK_INT(dns_zone_records(z), 5);
    dns_zone_unref(z);

    /* Broken streams: cut short, another ID, a different closing serial,
     * records outside the zone, an error RCODE. */
    struct dns_name apex = tz_name("sec.test.");
    char err[300];
    size_t len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, zone1, 5);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, NULL, &z, err, sizeof err),
              -ECONNRESET);
    CHECK_INT(dns_xfrin_read(g_stream, len - 1, 0x4242, &apex, NULL, &z, err, sizeof err),
              -ECONNRESET);
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, zone1, 6);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4243, &apex, NULL, &z, err, sizeof err), -EBADMSG);
    static const struct xrec badend[] = {XSOA(1), {"sec.test.", DNS_TYPE_NS, "ns.x.test."},
                                         XSOA(2)};
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, badend, 3);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, NULL, &z, err, sizeof err), -EBADMSG);
    CHECK(strstr(err, "closing SOA") != NULL);
    static const struct xrec outside[] = {XSOA(1), {"www.other.test.", DNS_TYPE_A, "192.0.2.9"},
                                          XSOA(1)};
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, outside, 3);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, NULL, &z, err, sizeof err), -EBADMSG);
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_AXFR, false, zone1, 6);
    g_stream[2 + 3] |= DNS_RCODE_NOTAUTH;
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, NULL, &z, err, sizeof err), -EPROTO);
    CHECK(strstr(err, "NOTAUTH") != NULL);
    CHECK(z == NULL);
}

TEST(dns_xfrin_ixfr_stream)
{
    struct dns_zone *cur = axfr_zone1();
    REQUIRE(cur);
    struct dns_name apex = tz_name("sec.test.");
    char err[300];
    struct dns_zone *z = NULL;
    /* Two sequences, 1 -> 2 -> 3 (RFC 1995 section 4's shape). */
    static const struct xrec ixfr[] = {
        XSOA(3),
        XSOA(1), {"old.sec.test.", DNS_TYPE_TXT, "going"},
        XSOA(2), {"new.sec.test.", DNS_TYPE_A, "192.0.2.2"},
        XSOA(2), {"www.sec.test.", DNS_TYPE_A, "192.0.2.1"},
        XSOA(3), {"www.sec.test.", DNS_TYPE_A, "192.0.2.3"},
        XSOA(3),
    };
    size_t len = 0;
    put_msg(g_stream, &len, DNS_TYPE_IXFR, false, ixfr, 6);
    put_msg(g_stream, &len, DNS_TYPE_IXFR, true, ixfr + 6, 4);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, cur, &z, err, sizeof err), 1);
    REQUIRE(z);
    CHECK_INT(dns_zone_serial(z), 3);
    CHECK_INT(dns_zone_records(z), 5);               /* SOA NS ns-A new-A www-A */
    dns_zone_unref(z);

    /* Nothing newer: the SOA alone. */
    static const struct xrec same[] = {XSOA(1)};
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_IXFR, false, same, 1);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, cur, &z, err, sizeof err), 0);

    /* Deleting what we do not have: out of step. */
    static const struct xrec stale[] = {
        XSOA(2), XSOA(1), {"nothere.sec.test.", DNS_TYPE_A, "192.0.2.7"}, XSOA(2), XSOA(2),
    };
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_IXFR, false, stale, 5);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, cur, &z, err, sizeof err), -ENOENT);

    /* Differences from another version than ours. */
    static const struct xrec other[] = {XSOA(3), XSOA(2), XSOA(3), XSOA(3)};
    len = 0;
    put_msg(g_stream, &len, DNS_TYPE_IXFR, false, other, 4);
    CHECK(dns_xfrin_read(g_stream, len, 0x4242, &apex, cur, &z, err, sizeof err) < 0);

    /* A whole zone in answer to IXFR (RFC 1995 section 4). */
    len = 0;
    static const struct xrec full[] = {
        XSOA(5), {"sec.test.", DNS_TYPE_NS, "ns.elsewhere.test."},
        {"x.sec.test.", DNS_TYPE_A, "192.0.2.5"}, XSOA(5),
    };
    put_msg(g_stream, &len, DNS_TYPE_IXFR, false, full, 4);
    CHECK_INT(dns_xfrin_read(g_stream, len, 0x4242, &apex, cur, &z, err, sizeof err), 1);
    REQUIRE(z);
    CHECK_INT(dns_zone_serial(z), 5);
    CHECK_INT(dns_zone_records(z), 3);
    dns_zone_unref(z);
    dns_zone_unref(cur);
}
