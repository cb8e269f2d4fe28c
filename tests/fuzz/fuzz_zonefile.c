/*
 * fuzz_zonefile.c - libFuzzer target for src/dns/zonefile*.c and
 * src/dns/rdata*.c.
 *
 * The input is read as a master file with origin example.test. For every
 * record the reader hands over, the RDATA is printed with
 * dns_rdata_to_text(), the text cut into tokens the way the reader does
 * (dns_zonefile_tokenize) and read back with dns_rdata_from_text(): it must
 * be accepted and give the same octets. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A printed RDATA has at most one token per octet, plus a few. */
static struct dns_token toks[DNS_RDATA_MAX + 16];
static uint8_t again[DNS_RDATA_MAX];

static int check(void *arg, const struct dns_src *src, const struct dns_name *owner,
                 uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen)
{
    struct buf text = BUF_INIT;
    if (dns_rdata_to_text(type, rdata, rdlen, &text) < 0)
        abort();
    const char *s = buf_cstr(&text);
    int n = dns_zonefile_tokenize(s, buf_len(&text), toks, sizeof toks / sizeof toks[0]);
    if (n < 0) {
        fprintf(stderr, "type %u: printed text does not tokenize: %s\n", type, s);
        abort();
    }
    char err[256];
    int m = dns_rdata_from_text(type, toks, (size_t)n, NULL, again, sizeof again, err,
                                sizeof err);
    if (m != rdlen || memcmp(again, rdata, rdlen) != 0) {
        fprintf(stderr, "type %u: '%s' reads back as %d octets, not %u (%s)\n", type, s, m,
                rdlen, m < 0 ? err : "different octets");
        abort();
    }
    buf_free(&text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dns_name origin;
    dns_name_from_text(&origin, "example.test.", 13, NULL);
    struct buf errors = BUF_INIT;
    dns_zonefile_parse((const char *)data, size, "fuzz", &origin, check, NULL, &errors);
    buf_free(&errors);
    return 0;
}
