/*
 * authloop.c - dns_auth_respond alone in a tight loop, and the cost of
 * building a large zone.
 *
 *   build/release/authloop [NAMES [SECONDS]]
 *
 * Builds a zone of NAMES names (default 10,000): each with an A record,
 * every tenth also an AAAA and an MX pointing at a name of the zone, every
 * hundredth a CNAME instead; prints the time and memory dns_zone_add and
 * dns_zone_finish took. Then answers a fixed mix of prepared queries
 * (90% names that exist, A/AAAA/MX/CNAME, 10% NXDOMAIN, a third with
 * EDNS) for SECONDS seconds (default 3) on one thread and prints
 * queries per second. No sockets: this measures the lookup and the writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/buf.h"
#include "dns/auth.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/writer.h"
#include "dns/zone.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0)
        abort();
    return n;
}

static void add(struct dns_zone *z, const char *owner, uint16_t type, const uint8_t *rd,
                size_t len)
{
    struct dns_name o = name_of(owner);
    struct buf errors = BUF_INIT;
    if (dns_zone_add(z, NULL, &o, type, DNS_CLASS_IN, 3600, rd, (uint16_t)len, &errors) != 0) {
        fprintf(stderr, "%s", buf_cstr(&errors));
        exit(1);
    }
}

static size_t put_name(uint8_t *p, const char *text)
{
    struct dns_name n = name_of(text);
    memcpy(p, n.wire, n.len);
    return n.len;
}

#define QUERIES 4096

int main(int argc, char **argv)
{
    long names = argc > 1 ? atol(argv[1]) : 10000;
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    long rss0 = maxrss_kib();
    double t0 = now();

    struct dns_name apex = name_of("example.test.");
    struct dns_zone *z = dns_zone_new(&apex, DNS_CLASS_IN);
    uint8_t rd[600];
    size_t n = put_name(rd, "ns1.example.test.");
    n += put_name(rd + n, "hostmaster.example.test.");
    memcpy(rd + n, "\x78\x00\x00\x01\0\0\x1c\x20\0\0\x0e\x10\0\x12\x75\0\0\0\x01\x2c", 20);
    add(z, "example.test.", DNS_TYPE_SOA, rd, n + 20);
    add(z, "example.test.", DNS_TYPE_NS, rd, put_name(rd, "ns1.example.test."));
    add(z, "ns1.example.test.", DNS_TYPE_A, (const uint8_t *)"\xc0\0\2\x35", 4);
    long records = 4;
    char owner[64], target[64];
    for (long i = 0; i < names; i++) {
        snprintf(owner, sizeof owner, "host%ld.example.test.", i);
        if (i % 100 == 99) {
            snprintf(target, sizeof target, "host%ld.example.test.", i - 1);
            add(z, owner, DNS_TYPE_CNAME, rd, put_name(rd, target));
            records++;
            continue;
        }
        uint8_t a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        add(z, owner, DNS_TYPE_A, a, 4);
        records++;
        if (i % 10 == 0) {
            uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8};
            memcpy(aaaa + 12, a, 4);
            add(z, owner, DNS_TYPE_AAAA, aaaa, 16);
            snprintf(target, sizeof target, "host%ld.example.test.", (i + 1) % names);
            rd[0] = 0;
            rd[1] = 10;
            add(z, owner, DNS_TYPE_MX, rd, 2 + put_name(rd + 2, target));
            records += 2;
        }
    }
    double t1 = now();
    struct buf errors = BUF_INIT;
    if (dns_zone_finish(z, &errors) != 0) {
        fprintf(stderr, "%s", buf_cstr(&errors));
        return 1;
    }
    double t2 = now();
    printf("zone: %ld names, %ld records: add %.2f s, finish %.2f s, peak RSS +%ld MiB\n",
           names, records, t1 - t0, t2 - t1, (maxrss_kib() - rss0) / 1024);

    struct dns_zoneset *zs = dns_zoneset_new();
    dns_zoneset_add(zs, z);

    /* Prepared queries. */
    static uint8_t q[QUERIES][300];
    static size_t qlen[QUERIES];
    srand(1);
    for (int i = 0; i < QUERIES; i++) {
        long k = rand() % names;
        int kind = rand() % 10;
        uint16_t type = DNS_TYPE_A;
        if (kind == 0)
            snprintf(owner, sizeof owner, "nx%ld.example.test.", k);
        else
            snprintf(owner, sizeof owner, "host%ld.example.test.", k);
        if (kind == 1)
            type = DNS_TYPE_AAAA;
        else if (kind == 2)
            type = DNS_TYPE_MX;
        struct dns_writer w;
        struct dns_header h = {.id = (uint16_t)i, .rd = true};
        dns_writer_init(&w, q[i], sizeof q[i], &h);
        struct dns_name qn = name_of(owner);
        dns_writer_question(&w, &qn, type, DNS_CLASS_IN);
        if (i % 3 == 0) {
            struct dns_edns_out e = {.udp_size = 1232};
            dns_edns_write(&w, &e);
        }
        qlen[i] = dns_writer_len(&w);
    }

    static uint8_t out[65536];
    struct dns_auth_opts o = {.tcp = false, .udp_max = 1232};
    struct dns_auth_result res;
    long done = 0;
    size_t bytes = 0;
    double start = now(), end;
    do {
        for (int i = 0; i < QUERIES; i++)
            bytes += dns_auth_respond(zs, q[i], qlen[i], &o, out, sizeof out, &res);
        done += QUERIES;
        end = now();
    } while (end - start < seconds);
    printf("dns_auth_respond: %.0f queries/s on one thread (%.0f ns each, %.0f octets average)\n",
           (double)done / (end - start), (end - start) * 1e9 / (double)done,
           (double)bytes / (double)done);
    dns_zoneset_unref(zs);
    dns_zone_unref(z);
    buf_free(&errors);
    return 0;
}
