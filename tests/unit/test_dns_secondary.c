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
