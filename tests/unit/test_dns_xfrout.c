/* Unit tests of outgoing transfers (src/dns/xfrout.c) without sockets:
 * AXFR split into messages with the question in the first only and the SOA
 * first and last, refusals (REFUSED, NOTAUTH), IXFR when up to date, from
 * the journal, and beyond it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/journal.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "dns/xfrout.h"
#include "dns/zone.h"
#include "test.h"

static struct dns_zone *load(const char *dir, const char *tag, unsigned serial, int bulk,
                             const char *extra)
{
    char path[512];
    pathf(path, sizeof path, "%s/%s.zone", dir, tag);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f, "$ORIGIN x.test.\n$TTL 300\n@ SOA ns host %u 3600 600 86400 300\n@ NS ns\n"
               "ns A 192.0.2.1\n%s", serial, extra);
    for (int i = 0; i < bulk; i++)
        fprintf(f, "b%04d TXT \"%0200d\"\n", i, i);
    fclose(f);
    struct dns_name apex;
    dns_name_from_text(&apex, "x.test.", 7, NULL);
    struct dns_zone *z = NULL;
    struct buf err = BUF_INIT;
    int r = dns_zone_load(path, &apex, &z, &err);
    if (r < 0)
        fprintf(stderr, "%s", buf_cstr(&err));
    buf_free(&err);
    return r < 0 ? NULL : z;
}

static struct sockaddr_storage peer(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

/* A transfer request for name; IXFR carries an SOA with serial. */
static size_t request(uint8_t *buf, const char *name, uint16_t type, unsigned serial)
{
    struct dns_header h;
    memset(&h, 0, sizeof h);
    h.id = 0x1234;
    struct dns_writer w;
    struct dns_name n;
    dns_name_from_text(&n, name, strlen(name), NULL);
    dns_writer_init(&w, buf, 512, &h);
    dns_writer_question(&w, &n, type, DNS_CLASS_IN);
    if (type == DNS_TYPE_IXFR) {
        uint8_t rd[64], *p = rd;
        struct dns_name ns, host;
        dns_name_from_text(&ns, "ns.x.test.", 10, NULL);
        dns_name_from_text(&host, "host.x.test.", 12, NULL);
        memcpy(p, ns.wire, ns.len), p += ns.len;
        memcpy(p, host.wire, host.len), p += host.len;
        unsigned v[5] = {serial, 1, 1, 1, 1};
        for (int i = 0; i < 5; i++)
            *p++ = (uint8_t)(v[i] >> 24), *p++ = (uint8_t)(v[i] >> 16),
            *p++ = (uint8_t)(v[i] >> 8), *p++ = (uint8_t)v[i];
        dns_writer_rr(&w, DNS_SECTION_AUTHORITY, &n, DNS_TYPE_SOA, DNS_CLASS_IN, 0, rd,
                      (size_t)(p - rd));
    }
    return dns_writer_len(&w);
}

/* Run a transfer to its end: messages, records, SOA serials seen in order. */
struct result {
    int messages, records, questions, soas;
    unsigned soa_serial[16];
    size_t largest;
};

static void run(struct dns_xfrout *x, struct result *res)
{
    static uint8_t out[DNS_MSG_MAX];
    static struct dns_rr rrs[4096];
    memset(res, 0, sizeof *res);
    size_t n;
    for (int guard = 0; guard < 1000 && (n = dns_xfrout_next(x, out, sizeof out)) > 0; guard++) {
        struct dns_msg m;
        if (dns_msg_parse(&m, out, n, rrs, 4096) < 0) {
            CHECK(0);
            break;
        }
        CHECK(m.hdr.qr && m.hdr.aa && m.hdr.id == 0x1234 && m.hdr.rcode == 0);
        res->messages++;
        res->questions += m.hdr.count[DNS_SECTION_QUESTION];
        if (n > res->largest)
            res->largest = n;
        size_t na;
        const struct dns_rr *a = dns_msg_section(&m, DNS_SECTION_ANSWER, &na);
        for (size_t i = 0; i < na; i++) {
            res->records++;
            if (a[i].type == DNS_TYPE_SOA && res->soas < 16) {
                const uint8_t *p = out + a[i].rdata + a[i].rdlength - 20;
                res->soa_serial[res->soas++] =
                    (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
            }
        }
    }
    dns_xfrout_free(x);
}

TEST(dns_xfrout_axfr_ixfr_and_refusals)
{
    const char *dir = test_tmpdir();
    struct dns_zone *z1 = load(dir, "v1", 1, 400, "a A 192.0.2.7\n");
    struct dns_zone *z2 = load(dir, "v2", 2, 400, "a A 192.0.2.8\nc A 192.0.2.9\n");
    REQUIRE(z1 && z2);
    struct dns_journal *j = dns_journal_open(NULL, "x.test", 1);
    REQUIRE(j);
    CHECK_INT(dns_journal_update(j, z1, z2), 1);
    struct dns_zoneset *zs = dns_zoneset_new();
    REQUIRE(zs && dns_zoneset_add(zs, z2) == 0);
    struct dns_xfr_policy *p = dns_xfr_policy_new();
    struct dns_acl acl;
    char err[128];
    REQUIRE(dns_acl_parse("127.0.0.0/8, 192.0.2.1 key k", &acl, err, sizeof err) == 0);
    REQUIRE(dns_xfr_policy_add_zone(p, dns_zone_apex(z2), &acl, j) == 0);
    dns_xfr_publish(p);

    static uint8_t q[512], out[DNS_MSG_MAX];
    size_t qlen, olen;
    struct sockaddr_storage lo = peer("127.0.0.1"), other = peer("198.51.100.1"),
                            keyed = peer("192.0.2.1");
    struct result r;

    /* AXFR: 400 TXT records of ~200 octets take several messages. */
    qlen = request(q, "X.test.", DNS_TYPE_AXFR, 0);
    struct dns_xfrout *x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    REQUIRE(x);
    run(x, &r);
    CHECK(r.messages >= 5);
    CHECK_INT(r.questions, 1);
    CHECK_INT(r.records, (int)dns_zone_records(z2) + 1);
    CHECK_INT(r.soas, 2);
    CHECK(r.largest <= DNS_XFR_MSG_TARGET);

    /* Refused: not listed; listed with a key but unsigned: NOTAUTH; not an apex: NOTAUTH. */
    x = dns_xfrout_begin(zs, q, qlen, &other, clock_ms(), out, sizeof out, &olen);
    CHECK(x == NULL && olen > 12 && (out[3] & 15) == DNS_RCODE_REFUSED);
    x = dns_xfrout_begin(zs, q, qlen, &keyed, clock_ms(), out, sizeof out, &olen);
    CHECK(x == NULL && olen > 12 && (out[3] & 15) == DNS_RCODE_NOTAUTH);
    qlen = request(q, "a.x.test.", DNS_TYPE_AXFR, 0);
    x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    CHECK(x == NULL && olen > 12 && (out[3] & 15) == DNS_RCODE_NOTAUTH);

    /* IXFR: current: one SOA; from 1: the step; from 0xF0000000 (older by RFC
     * 1982, not in the journal): the whole zone. */
    qlen = request(q, "x.test.", DNS_TYPE_IXFR, 2);
    x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    REQUIRE(x);
    run(x, &r);
    CHECK(r.messages == 1 && r.records == 1 && r.soa_serial[0] == 2);
    qlen = request(q, "x.test.", DNS_TYPE_IXFR, 1);
    x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    REQUIRE(x);
    run(x, &r);
    CHECK_INT(r.records, 4 + 1 + 2);            /* 4 SOAs, a deleted, a and c added */
    CHECK(r.soas == 4 && r.soa_serial[0] == 2 && r.soa_serial[1] == 1 &&
          r.soa_serial[2] == 2 && r.soa_serial[3] == 2);
    qlen = request(q, "x.test.", DNS_TYPE_IXFR, 0xF0000000u);
    x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    REQUIRE(x);
    run(x, &r);
    CHECK_INT(r.records, (int)dns_zone_records(z2) + 1);

    /* A transfer keeps its zone and diffs when everything else goes. */
    qlen = request(q, "x.test.", DNS_TYPE_IXFR, 1);
    x = dns_xfrout_begin(zs, q, qlen, &lo, clock_ms(), out, sizeof out, &olen);
    REQUIRE(x);
    dns_xfr_cleanup();
    dns_zoneset_unref(zs);
    dns_journal_unref(j);
    dns_zone_unref(z1);
    dns_zone_unref(z2);
    run(x, &r);
    CHECK_INT(r.soas, 4);
}
