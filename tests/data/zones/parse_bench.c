/*
 * parse_bench.c - time the zone-file reader on one file (test-only).
 *
 *   make && cc -O2 -std=c17 -D_GNU_SOURCE -Isrc tests/data/zones/parse_bench.c \
 *       build/release/src/base/*.o build/release/src/dns/*.o -o build/parse_bench
 *   tests/data/zones/gen_big_zone.py > /tmp/big.zone
 *   build/parse_bench /tmp/big.zone bench.test.
 *
 * Prints the records read and the wall-clock time of dns_zonefile_read().
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "dns/zonefile.h"

static int count(void *arg, const struct dns_src *src, const struct dns_name *owner,
                 uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen)
{
    (*(unsigned long *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: parse_bench FILE ORIGIN\n");
        return 2;
    }
    struct dns_name origin;
    if (dns_name_from_text(&origin, argv[2], strlen(argv[2]), NULL) < 0)
        return 2;
    struct buf errors = BUF_INIT;
    unsigned long n = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int r = dns_zonefile_read(argv[1], &origin, count, &n, &errors);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fputs(buf_cstr(&errors), stderr);
    printf("%lu records in %.3f s (rc %d)\n", n,
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, r);
    buf_free(&errors);
    return r < 0;
}
