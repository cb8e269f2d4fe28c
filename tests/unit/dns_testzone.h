/*
 * dns_testzone.h - helpers shared by the zone and authoritative-answer
 * tests: records from a small text form (the zone-file reader is not what
 * is tested here), queries built with the writer, responses printed one
 * record per line so tests compare whole sections at once.
 */
#ifndef OP_TEST_DNS_TESTZONE_H
#define OP_TEST_DNS_TESTZONE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dns/consts.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "dns/zone.h"

static inline struct dns_name tz_name(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(&n, text, strlen(text), NULL) < 0) {
        fprintf(stderr, "bad test name %s\n", text);
        abort();
    }
    return n;
}

/* Append name text to p, return the new end. */
static inline uint8_t *tz_put_name(uint8_t *p, const char *text)
{
    struct dns_name n = tz_name(text);
    memcpy(p, n.wire, n.len);
    return p + n.len;
}

static inline uint8_t *tz_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *tz_put32(uint8_t *p, unsigned long v)
{
    return tz_put16(tz_put16(p, (unsigned)(v >> 16) & 0xFFFF), (unsigned)v & 0xFFFF);
}

/*
 * RDATA from text, for the few types the tests use:
 *   A, AAAA      an address
 *   NS, CNAME, DNAME, PTR   a name
 *   MX           "10 mail.example."
 *   SRV          "0 5 25 host.example."
 *   SOA          "mname rname serial refresh retry expire minimum"
 *   TXT          the text, as one character-string
 * Returns the length.
 */
static inline int tz_rdata(uint16_t type, const char *text, uint8_t *out)
{
    char a[300], b[300];
    unsigned long v[5];
    uint8_t *p = out;
    switch (type) {
    case DNS_TYPE_A:
        return inet_pton(AF_INET, text, out) == 1 ? 4 : (abort(), 0);
    case DNS_TYPE_AAAA:
        return inet_pton(AF_INET6, text, out) == 1 ? 16 : (abort(), 0);
    case DNS_TYPE_NS: case DNS_TYPE_CNAME: case DNS_TYPE_DNAME: case DNS_TYPE_PTR:
        return (int)(tz_put_name(p, text) - out);
    case DNS_TYPE_MX:
        if (sscanf(text, "%lu %299s", &v[0], a) != 2)
            abort();
        return (int)(tz_put_name(tz_put16(p, (unsigned)v[0]), a) - out);
    case DNS_TYPE_SRV:
        if (sscanf(text, "%lu %lu %lu %299s", &v[0], &v[1], &v[2], a) != 4)
            abort();
        p = tz_put16(tz_put16(tz_put16(p, (unsigned)v[0]), (unsigned)v[1]), (unsigned)v[2]);
        return (int)(tz_put_name(p, a) - out);
    case DNS_TYPE_SOA:
        if (sscanf(text, "%299s %299s %lu %lu %lu %lu %lu", a, b, &v[0], &v[1], &v[2], &v[3],
                   &v[4]) != 7)
            abort();
        p = tz_put_name(tz_put_name(p, a), b);
        for (int i = 0; i < 5; i++)
            p = tz_put32(p, v[i]);
        return (int)(p - out);
    case DNS_TYPE_TXT: {
        size_t n = strlen(text);
        if (n > 255)
            abort();
        out[0] = (uint8_t)n;
        memcpy(out + 1, text, n);
        return (int)n + 1;
    }
    default:
        abort();
    }
}

/* Add one record; returns dns_zone_add's result. */
static inline int tz_add(struct dns_zone *z, unsigned line, const char *owner, uint32_t ttl,
                         uint16_t type, const char *text, struct buf *errors)
{
    uint8_t rd[600];
    int len = tz_rdata(type, text, rd);
    struct dns_name o = tz_name(owner);
    struct dns_src src = {"test.zone", line};
    return dns_zone_add(z, &src, &o, type, DNS_CLASS_IN, ttl, rd, (uint16_t)len, errors);
}

/* Print RDATA the way the tests spell it. */
static inline void tz_rdata_text(uint16_t type, const uint8_t *rd, size_t len, struct buf *out)
{
    struct dns_name n, n2;
    char t[DNS_NAME_MAXTEXT], t2[DNS_NAME_MAXTEXT], addr[64];
    switch (type) {
    case DNS_TYPE_A:
        if (len == 4 && inet_ntop(AF_INET, rd, addr, sizeof addr)) {
            buf_puts(out, addr);
            return;
        }
        break;
    case DNS_TYPE_AAAA:
        if (len == 16 && inet_ntop(AF_INET6, rd, addr, sizeof addr)) {
            buf_puts(out, addr);
            return;
        }
        break;
    case DNS_TYPE_NS: case DNS_TYPE_CNAME: case DNS_TYPE_DNAME: case DNS_TYPE_PTR:
        if (dns_name_from_wire(&n, rd, len) > 0) {
            dns_name_to_text(&n, t, sizeof t);
            buf_puts(out, t);
            return;
        }
        break;
    case DNS_TYPE_MX:
        if (len > 2 && dns_name_from_wire(&n, rd + 2, len - 2) > 0) {
            dns_name_to_text(&n, t, sizeof t);
            buf_printf(out, "%u %s", rd[0] << 8 | rd[1], t);
            return;
        }
        break;
    case DNS_TYPE_SRV:
        if (len > 6 && dns_name_from_wire(&n, rd + 6, len - 6) > 0) {
            dns_name_to_text(&n, t, sizeof t);
            buf_printf(out, "%u %u %u %s", rd[0] << 8 | rd[1], rd[2] << 8 | rd[3],
                       rd[4] << 8 | rd[5], t);
            return;
        }
        break;
    case DNS_TYPE_SOA: {
        int a = dns_name_from_wire(&n, rd, len);
        int b = a > 0 ? dns_name_from_wire(&n2, rd + a, len - (size_t)a) : -1;
        if (b > 0 && len == (size_t)(a + b) + 20) {
            dns_name_to_text(&n, t, sizeof t);
            dns_name_to_text(&n2, t2, sizeof t2);
            const uint8_t *s = rd + a + b;
            buf_printf(out, "%s %s %u", t, t2,
                       (unsigned)(s[0] << 24 | s[1] << 16 | s[2] << 8 | s[3]));
            return;
        }
        break;
    }
    case DNS_TYPE_TXT:
        if (len > 0 && rd[0] == len - 1) {
            buf_printf(out, "\"%.*s\"", (int)rd[0], (const char *)rd + 1);
            return;
        }
        break;
    }
    buf_printf(out, "\\# %zu", len);
}

/*
 * A response as text: a first line with the flags and RCODE, then one line
 * per entry: "QD name TYPE", "AN name TTL TYPE rdata", "NS ...", "AR ...",
 * with the OPT RR as "AR OPT udp=N do=B ver=N".
 * Returns a pointer to a static buffer ("unparsable" if it does not parse).
 */
static inline const char *tz_dump(const uint8_t *msg, size_t len)
{
    static struct buf out;
    static struct dns_rr rrs[256];
    static uint8_t rd[65536];
    buf_clear(&out);
    struct dns_msg m;
    if (dns_msg_parse(&m, msg, len, rrs, 256) != 0)
        return "unparsable";
    const struct dns_header *h = &m.hdr;
    char rc[DNS_MNEMONIC_MAX], tb[DNS_MNEMONIC_MAX], nt[DNS_NAME_MAXTEXT];
    uint16_t ext = 0;
    for (size_t i = 0; i < m.nrr; i++)
        if (m.rr[i].type == DNS_TYPE_OPT)
            ext = (uint16_t)(m.rr[i].ttl >> 24);
    buf_printf(&out, "%s%s%s%s%s%s %s", h->qr ? "qr" : "-", h->aa ? " aa" : "",
               h->tc ? " tc" : "", h->rd ? " rd" : "", h->ra ? " ra" : "", h->cd ? " cd" : "",
               dns_rcode_to_text((uint16_t)(ext << 4 | h->rcode), rc));
    static const char *sec[] = {"QD", "AN", "NS", "AR"};
    for (size_t i = 0; i < m.nrr; i++) {
        const struct dns_rr *rr = &m.rr[i];
        struct dns_name owner;
        dns_rr_owner(&m, rr, &owner);
        dns_name_to_text(&owner, nt, sizeof nt);
        if (rr->type == DNS_TYPE_OPT) {
            buf_printf(&out, "\nAR OPT udp=%u do=%d ver=%u", rr->rclass, !!(rr->ttl & 0x8000),
                       (unsigned)(rr->ttl >> 16 & 0xFF));
            continue;
        }
        if (rr->section == DNS_SECTION_QUESTION) {
            buf_printf(&out, "\nQD %s %s", nt, dns_type_to_text(rr->type, tb));
            continue;
        }
        buf_printf(&out, "\n%s %s %u %s ", sec[rr->section], nt, rr->ttl,
                   dns_type_to_text(rr->type, tb));
        int n = dns_rr_rdata(&m, rr, rd, sizeof rd, 0);
        tz_rdata_text(rr->type, rd, n < 0 ? 0 : (size_t)n, &out);
    }
    return buf_cstr(&out);
}

#endif
