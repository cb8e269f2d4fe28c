/*
 * fuzz_dns_xfrin.c - libFuzzer target for the reading of zone transfers
 * (src/dns/xfrin.c, dns_xfrin_read): what a primary sends a secondary.
 *
 * The first octet chooses the request: even, AXFR; odd, IXFR from a fixed
 * current zone (sec.test, serial 1). The rest is the answer stream:
 * messages with their 2-octet lengths, answering ID 0x4242. Whatever the
 * input, the read must end (a result, no hang), and a zone it returns
 * must be finished, have the closing serial, and walk with its SOA first.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/consts.h"
#include "dns/name.h"
#include "dns/xfrin.h"
#include "dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_zone *g_cur;
static struct dns_name g_apex;

static void add(struct dns_zone *z, const char *owner, uint16_t type, const uint8_t *rd,
                size_t len)
{
    struct dns_name o;
    if (dns_name_from_text(&o, owner, strlen(owner), NULL) < 0 ||
        dns_zone_add(z, NULL, &o, type, DNS_CLASS_IN, 300, rd, (uint16_t)len, NULL) < 0)
        abort();
}

/* sec.test: SOA (serial 1), NS ns.sec.test, ns A 192.0.2.53, www A 192.0.2.1. */
static void setup(void)
{
    if (dns_name_from_text(&g_apex, "sec.test.", 9, NULL) < 0)
        abort();
    g_cur = dns_zone_new(&g_apex, DNS_CLASS_IN);
    if (!g_cur)
        abort();
    static const uint8_t ns[] = {2, 'n', 's', 3, 's', 'e', 'c', 4, 't', 'e', 's', 't', 0};
    uint8_t soa[2 * sizeof ns + 20] = {0};
    memcpy(soa, ns, sizeof ns);
    memcpy(soa + sizeof ns, ns, sizeof ns);
    soa[2 * sizeof ns + 3] = 1;                          /* serial 1 */
    soa[2 * sizeof ns + 7] = 2;                          /* refresh, retry, expire, minimum */
    soa[2 * sizeof ns + 11] = 1;
    soa[2 * sizeof ns + 15] = 6;
    soa[2 * sizeof ns + 19] = 60;
    static const uint8_t a53[] = {192, 0, 2, 53}, a1[] = {192, 0, 2, 1};
    add(g_cur, "sec.test.", DNS_TYPE_SOA, soa, sizeof soa);
    add(g_cur, "sec.test.", DNS_TYPE_NS, ns, sizeof ns);
    add(g_cur, "ns.sec.test.", DNS_TYPE_A, a53, sizeof a53);
    add(g_cur, "www.sec.test.", DNS_TYPE_A, a1, sizeof a1);
    if (dns_zone_finish(g_cur, NULL) < 0)
        abort();
}

static bool g_first;
static int first_is_soa(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                        uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    if (!g_first && type != DNS_TYPE_SOA)
        abort();
    g_first = true;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_cur)
        setup();
    if (size < 1)
        return 0;
    const struct dns_zone *cur = (data[0] & 1) ? g_cur : NULL;
    struct dns_zone *z = NULL;
    char err[512];
    int r = dns_xfrin_read(data + 1, size - 1, 0x4242, &g_apex, cur, &z, err, sizeof err);
    if (r == 1) {
        struct dns_soa_timers t;
        if (!z || dns_zone_soa(z, &t) < 0 || t.serial != dns_zone_serial(z))
            abort();
        g_first = false;
        if (dns_zone_walk(z, first_is_soa, NULL) < 0)
            abort();
        dns_zone_unref(z);
    } else if (z) {
        abort();
    }
    return 0;
}
