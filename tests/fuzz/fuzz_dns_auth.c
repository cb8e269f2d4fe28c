/*
 * fuzz_dns_auth.c - libFuzzer target for src/dns/auth.c (and the zone
 * lookups under it).
 *
 * A fixed zone set is built once: two zones with a delegation and its
 * glue, a child zone of ours, CNAME chains (one a loop, one across zones),
 * a DNAME, wildcards (one a CNAME), an empty non-terminal, MX and SRV with
 * in-zone targets, and an RRset too big for 512 octets. The input is the
 * query, as is; the low bit of its ID picks TCP, the next two our EDNS
 * payload size. Checks:
 *   - a response is produced unless the query is shorter than a header,
 *     is a response, or is a transfer over TCP; never longer than the
 *     limit (65535 over TCP; over UDP 512, or with EDNS at most our size);
 *   - it parses with dns_msg_parse without trailing octets, has QR, the
 *     query's ID and opcode, and the result's RCODE in its header;
 *   - TC only over UDP, and the result says the same.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dns/auth.h"
#include "dns/edns.h"
#include "dns/wire.h"
#include "../unit/dns_testzone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    const char *owner;
    uint16_t type;
    const char *text;
};

static const struct rec ex[] = {
    {"example.test.", DNS_TYPE_SOA, "ns1.example.test. h.example.test. 1 7200 3600 1209600 300"},
    {"example.test.", DNS_TYPE_NS, "ns1.example.test."},
    {"example.test.", DNS_TYPE_MX, "10 mail.example.test."},
    {"example.test.", DNS_TYPE_MX, "20 mx.elsewhere."},
    {"ns1.example.test.", DNS_TYPE_A, "192.0.2.53"},
    {"ns1.example.test.", DNS_TYPE_AAAA, "2001:db8::53"},
    {"mail.example.test.", DNS_TYPE_A, "192.0.2.25"},
    {"www.example.test.", DNS_TYPE_A, "192.0.2.80"},
    {"www.example.test.", DNS_TYPE_TXT, "hello"},
    {"alias.example.test.", DNS_TYPE_CNAME, "www.example.test."},
    {"loop1.example.test.", DNS_TYPE_CNAME, "loop2.example.test."},
    {"loop2.example.test.", DNS_TYPE_CNAME, "loop1.example.test."},
    {"cross.example.test.", DNS_TYPE_CNAME, "www.other.test."},
    {"dn.example.test.", DNS_TYPE_DNAME, "other.test."},
    {"*.example.test.", DNS_TYPE_MX, "10 mail.example.test."},
    {"*.w.example.test.", DNS_TYPE_CNAME, "alias.example.test."},
    {"a.b.c.example.test.", DNS_TYPE_TXT, "deep"},
    {"_sip._udp.example.test.", DNS_TYPE_SRV, "0 1 5060 www.example.test."},
    {"del.example.test.", DNS_TYPE_NS, "ns.del.example.test."},
    {"del.example.test.", DNS_TYPE_NS, "ns.elsewhere."},
    {"ns.del.example.test.", DNS_TYPE_A, "192.0.2.54"},
    {"sub.example.test.", DNS_TYPE_NS, "ns1.example.test."},
};
static const struct rec other[] = {
    {"other.test.", DNS_TYPE_SOA, "ns1.example.test. h.other.test. 2 1 1 1 1"},
    {"other.test.", DNS_TYPE_NS, "ns1.example.test."},
    {"www.other.test.", DNS_TYPE_A, "192.0.2.81"},
    {"back.other.test.", DNS_TYPE_CNAME, "cross.example.test."},
};
static const struct rec sub[] = {
    {"sub.example.test.", DNS_TYPE_SOA, "ns1.example.test. h.other.test. 3 1 1 1 1"},
    {"sub.example.test.", DNS_TYPE_NS, "ns1.example.test."},
    {"host.sub.example.test.", DNS_TYPE_A, "192.0.2.82"},
};

static struct dns_zone *zone(const char *apex, const struct rec *r, size_t n, bool big)
{
    struct dns_name a = tz_name(apex);
    struct dns_zone *z = dns_zone_new(&a, DNS_CLASS_IN);
    if (!z)
        abort();
    for (size_t i = 0; i < n; i++)
        if (tz_add(z, (unsigned)i, r[i].owner, 3600, r[i].type, r[i].text, NULL) != 0)
            abort();
    for (int i = 0; big && i < 30; i++) {
        char t[64];
        snprintf(t, sizeof t, "a TXT record long enough to fill %02d", i);
        if (tz_add(z, 100, "big.example.test.", 60, DNS_TYPE_TXT, t, NULL) != 0)
            abort();
    }
    if (dns_zone_finish(z, NULL) != 0)
        abort();
    return z;
}

static struct dns_zoneset *g_zs;
static uint8_t g_out[65536];

static void setup(void)
{
    g_zs = dns_zoneset_new();
    struct dns_zone *z[3] = {zone("example.test.", ex, sizeof ex / sizeof ex[0], true),
                             zone("other.test.", other, sizeof other / sizeof other[0], false),
                             zone("sub.example.test.", sub, sizeof sub / sizeof sub[0], false)};
    for (int i = 0; i < 3; i++) {
        if (dns_zoneset_add(g_zs, z[i]) != 0)
            abort();
        dns_zone_unref(z[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_zs)
        setup();
    static const uint16_t sizes[4] = {512, 1232, 1400, 4096};
    struct dns_auth_opts o = {.tcp = size > 1 && (data[1] & 1),
                              .udp_max = sizes[size > 1 ? (data[1] >> 1) & 3 : 0]};
    struct dns_auth_result res;
    size_t len = dns_auth_respond(g_zs, data, size, &o, g_out, sizeof g_out, &res);

    struct dns_header qh;
    bool readable = dns_header_read(data, size, &qh) == 0;
    if (len == 0) {
        if (res.kind != DNS_AUTH_DROP && res.kind != DNS_AUTH_XFR)
            abort();
        if (res.kind == DNS_AUTH_DROP && readable && !qh.qr)
            abort();                         /* every real query gets an answer */
        if (res.kind == DNS_AUTH_XFR && !o.tcp)
            abort();
        return 0;
    }
    if (!readable || qh.qr || res.kind == DNS_AUTH_DROP || res.kind == DNS_AUTH_XFR)
        abort();
    size_t limit = o.tcp ? 65535 : o.udp_max;
    if (len > limit || len < DNS_HEADER_SIZE)
        abort();

    static struct dns_rr rrs[DNS_MSG_MAXRR(65535)];
    struct dns_msg m;
    if (dns_msg_parse(&m, g_out, len, rrs, sizeof rrs / sizeof rrs[0]) != 0 || m.trailing)
        abort();
    if (!m.hdr.qr || m.hdr.id != qh.id || m.hdr.opcode != qh.opcode || m.hdr.ra)
        abort();
    struct dns_edns e;
    enum dns_edns_status st = dns_edns_get(&m, &e);
    if (st != DNS_EDNS_NONE && st != DNS_EDNS_OK)
        abort();
    if (dns_edns_rcode(&m.hdr, &e) != res.rcode)
        abort();
    if (!o.tcp && st == DNS_EDNS_NONE && len > 512)
        abort();
    if (m.hdr.tc != res.truncated || (m.hdr.tc && o.tcp))
        abort();
    if (m.hdr.count[DNS_SECTION_QUESTION] > 1)
        abort();
    return 0;
}
