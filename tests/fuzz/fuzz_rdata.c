/*
 * fuzz_rdata.c - libFuzzer target for the wire side of src/dns/rdata*.c.
 *
 * The first two octets of the input choose the type (taken modulo a list
 * of the types with a text form, plus a few without, so that inputs stay
 * on types worth exploring); the rest is the RDATA. It is printed with
 * dns_rdata_to_text() and read back with dns_rdata_from_text():
 *   - printed in the type's own form, it must read back to the same octets
 *     (the printer accepts only what the parser produces);
 *   - printed in the generic form (RFC 3597), it may be refused (RDATA that
 *     does not fit a known type's layout), but if read, it must give the
 *     same octets.
 * Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dns/consts.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
    DNS_TYPE_A, DNS_TYPE_NS, DNS_TYPE_MD, DNS_TYPE_CNAME, DNS_TYPE_SOA, DNS_TYPE_PTR,
    DNS_TYPE_HINFO, DNS_TYPE_MINFO, DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_RP, DNS_TYPE_AFSDB,
    DNS_TYPE_RT, DNS_TYPE_SIG, DNS_TYPE_AAAA, DNS_TYPE_SRV, DNS_TYPE_NAPTR, DNS_TYPE_KX,
    DNS_TYPE_DNAME, DNS_TYPE_DS, DNS_TYPE_SSHFP, DNS_TYPE_RRSIG, DNS_TYPE_NSEC,
    DNS_TYPE_DNSKEY, DNS_TYPE_DHCID, DNS_TYPE_NSEC3, DNS_TYPE_NSEC3PARAM, DNS_TYPE_TLSA,
    DNS_TYPE_SMIMEA, DNS_TYPE_CDS, DNS_TYPE_CDNSKEY, DNS_TYPE_OPENPGPKEY, DNS_TYPE_CSYNC,
    DNS_TYPE_ZONEMD, DNS_TYPE_SVCB, DNS_TYPE_HTTPS, DNS_TYPE_SPF, DNS_TYPE_URI, DNS_TYPE_CAA,
    DNS_TYPE_NULL, DNS_TYPE_LOC, 65280,
};

static struct dns_token toks[DNS_RDATA_MAX + 16];
static uint8_t again[DNS_RDATA_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size - 2 > DNS_RDATA_MAX)
        return 0;
    uint16_t type = types[(data[0] << 8 | data[1]) % (sizeof types / sizeof types[0])];
    const uint8_t *rd = data + 2;
    size_t len = size - 2;

    struct buf text = BUF_INIT;
    if (dns_rdata_to_text(type, rd, len, &text) < 0)
        abort();
    const char *s = buf_cstr(&text);
    bool generic = strncmp(s, "\\# ", 3) == 0;
    int n = dns_zonefile_tokenize(s, buf_len(&text), toks, sizeof toks / sizeof toks[0]);
    if (n < 0) {
        fprintf(stderr, "type %u: printed text does not tokenize: %s\n", type, s);
        abort();
    }
    char err[256];
    int m = dns_rdata_from_text(type, toks, (size_t)n, NULL, again, sizeof again, err,
                                sizeof err);
    bool same = m >= 0 && (size_t)m == len && memcmp(again, rd, len) == 0;
    if ((!generic && !same) || (m >= 0 && !same)) {
        fprintf(stderr, "type %u: '%s' reads back as %d octets, not %zu (%s)\n", type, s, m,
                len, m < 0 ? err : "different octets");
        abort();
    }
    buf_free(&text);
    return 0;
}
