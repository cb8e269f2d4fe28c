/* Unit tests for src/dns/auth.c: queries in wire form through
 * dns_auth_respond, responses read back with dns_msg_parse and compared
 * section by section (tz_dump prints one record per line). Covers the
 * checks before the lookup (drop, FORMERR, NOTIMP, BADVERS, REFUSED),
 * RFC 1034 section 4.3.2 (answers, CNAME chains within and across zones,
 * loops, referrals with glue, DS at a delegation, RFC 4035 section
 * 3.1.4.1), RFC 2308 negative answers, RFC 4592's wildcard example,
 * RFC 6672 DNAME, RFC 8482 ANY, transfers, truncation at 512 octets and
 * at the EDNS size, and the question's case. */
#include "test.h"

#include <errno.h>
#include <pthread.h>

#include "base/err.h"
#include "dns/auth.h"
#include "dns/edns.h"
#include "dns_testzone.h"

/* ---- the zones -------------------------------------------------------------------- */

#define SOA_EX "ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"

struct rec {
    const char *owner;
    uint32_t ttl;
    uint16_t type;
    const char *text;
};

static struct dns_zone *make_zone(const char *apex, const struct rec *r, size_t n)
{
    struct buf errors = BUF_INIT;
    struct dns_name a = tz_name(apex);
    struct dns_zone *z = dns_zone_new(&a, DNS_CLASS_IN);
    if (!z)
        abort();
    for (size_t i = 0; i < n; i++)
        if (tz_add(z, (unsigned)i + 1, r[i].owner, r[i].ttl, r[i].type, r[i].text, &errors) != 0)
            goto bad;
    if (dns_zone_finish(z, &errors) != 0)
        goto bad;
    buf_free(&errors);
    return z;
bad:
    fprintf(stderr, "%s", buf_cstr(&errors));
    abort();
}

static const struct rec example_test[] = {
    {"example.test.", 3600, DNS_TYPE_SOA, SOA_EX},
    {"example.test.", 3600, DNS_TYPE_NS, "ns1.example.test."},
    {"example.test.", 3600, DNS_TYPE_NS, "ns2.example.test."},
    {"example.test.", 3600, DNS_TYPE_MX, "10 mail.example.test."},
    {"ns1.example.test.", 3600, DNS_TYPE_A, "192.0.2.53"},
    {"ns2.example.test.", 3600, DNS_TYPE_AAAA, "2001:db8::53"},
    {"mail.example.test.", 3600, DNS_TYPE_A, "192.0.2.25"},
    {"mail.example.test.", 3600, DNS_TYPE_AAAA, "2001:db8::25"},
    {"www.example.test.", 600, DNS_TYPE_A, "192.0.2.80"},
    {"alias.example.test.", 300, DNS_TYPE_CNAME, "www.example.test."},
    {"alias2.example.test.", 300, DNS_TYPE_CNAME, "alias.example.test."},
    {"loop1.example.test.", 300, DNS_TYPE_CNAME, "loop2.example.test."},
    {"loop2.example.test.", 300, DNS_TYPE_CNAME, "LOOP1.example.test."},
    {"self.example.test.", 300, DNS_TYPE_CNAME, "self.example.test."},
    {"dangling.example.test.", 300, DNS_TYPE_CNAME, "nothing.example.test."},
    {"cross.example.test.", 300, DNS_TYPE_CNAME, "www.other.test."},
    {"crossnx.example.test.", 300, DNS_TYPE_CNAME, "nothing.other.test."},
    {"outside.example.test.", 300, DNS_TYPE_CNAME, "www.example.com."},
    {"tolame.example.test.", 300, DNS_TYPE_CNAME, "host.lame.example.test."},
    {"_sip._tcp.example.test.", 300, DNS_TYPE_SRV, "0 5 5060 www.example.test."},
    {"dn.example.test.", 300, DNS_TYPE_DNAME, "other.test."},
    {"grow.example.test.", 300, DNS_TYPE_DNAME,
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.other.test."},
    {"lame.example.test.", 3600, DNS_TYPE_NS, "ns.elsewhere."},
    {"glued.example.test.", 3600, DNS_TYPE_NS, "ns.glued.example.test."},
    {"ns.glued.example.test.", 3600, DNS_TYPE_A, "192.0.2.55"},
    {"sub.example.test.", 3600, DNS_TYPE_NS, "ns.sub.example.test."},
    {"ns.sub.example.test.", 3600, DNS_TYPE_A, "192.0.2.54"},
    {"a.b.example.test.", 300, DNS_TYPE_TXT, "deep"},
    {"*.w.example.test.", 300, DNS_TYPE_CNAME, "www.example.test."},
    {"tobig.example.test.", 300, DNS_TYPE_CNAME, "big.example.test."},
};

static const struct rec other_test[] = {
    {"other.test.", 60, DNS_TYPE_SOA, "ns1.example.test. h.other.test. 7 1 1 1 30"},
    {"other.test.", 60, DNS_TYPE_NS, "ns1.example.test."},
    {"www.other.test.", 60, DNS_TYPE_A, "192.0.2.81"},
};

static const struct rec sub_test[] = {
    {"sub.example.test.", 60, DNS_TYPE_SOA, "ns.sub.example.test. h.sub.example.test. 9 1 1 1 60"},
    {"sub.example.test.", 60, DNS_TYPE_NS, "ns.sub.example.test."},
    {"ns.sub.example.test.", 60, DNS_TYPE_A, "192.0.2.54"},
    {"host.sub.example.test.", 60, DNS_TYPE_A, "192.0.2.56"},
};

#define N(a) (sizeof a / sizeof a[0])

static struct dns_zoneset *g_zs;

/* The DS RRset at sub.example.test. (RDATA opaque to this code). */
static void add_ds(struct dns_zone *z)
{
    static const uint8_t ds[] = {0x30, 0x39, 13, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    struct dns_name o = tz_name("sub.example.test.");
    if (dns_zone_add(z, NULL, &o, DNS_TYPE_DS, DNS_CLASS_IN, 3600, ds, sizeof ds, NULL) != 0)
        abort();
}

static struct dns_zoneset *zs(void)
{
    if (g_zs)
        return g_zs;
    struct buf errors = BUF_INIT;
    struct dns_name a = tz_name("example.test.");
    struct dns_zone *z = dns_zone_new(&a, DNS_CLASS_IN);
    for (size_t i = 0; i < N(example_test); i++)
        tz_add(z, (unsigned)i + 1, example_test[i].owner, example_test[i].ttl,
               example_test[i].type, example_test[i].text, &errors);
    add_ds(z);
    /* 40 TXT records of 30 octets: about 1700 octets in all */
    for (int i = 0; i < 40; i++) {
        char t[64];
        snprintf(t, sizeof t, "record %02d of a big TXT RRset...", i);
        tz_add(z, 100, "big.example.test.", 60, DNS_TYPE_TXT, t, &errors);
    }
    /* 12 mail exchangers with an A and an AAAA each */
    for (int i = 0; i < 12; i++) {
        char t[96], h[64], ip[64];
        snprintf(h, sizeof h, "mx%02d.example.test.", i);
        snprintf(t, sizeof t, "%d %s", i, h);
        tz_add(z, 200, "mxmany.example.test.", 60, DNS_TYPE_MX, t, &errors);
        snprintf(ip, sizeof ip, "192.0.2.%d", 100 + i);
        tz_add(z, 200, h, 60, DNS_TYPE_A, ip, &errors);
        snprintf(ip, sizeof ip, "2001:db8::%d", 100 + i);
        tz_add(z, 200, h, 60, DNS_TYPE_AAAA, ip, &errors);
    }
    /* a delegation to 8 name servers inside it, with A and AAAA glue */
    for (int i = 0; i < 8; i++) {
        char h[96], ip[64];
        snprintf(h, sizeof h, "nameserver-number-%02d.many.example.test.", i);
        tz_add(z, 300, "many.example.test.", 60, DNS_TYPE_NS, h, &errors);
        snprintf(ip, sizeof ip, "192.0.2.%d", 200 + i);
        tz_add(z, 300, h, 60, DNS_TYPE_A, ip, &errors);
        snprintf(ip, sizeof ip, "2001:db8::%d", 200 + i);
        tz_add(z, 300, h, 60, DNS_TYPE_AAAA, ip, &errors);
    }
    if (dns_zone_finish(z, &errors) != 0) {
        fprintf(stderr, "%s", buf_cstr(&errors));
        abort();
    }
    buf_free(&errors);
    g_zs = dns_zoneset_new();
    struct dns_zone *o = make_zone("other.test.", other_test, N(other_test));
    struct dns_zone *s = make_zone("sub.example.test.", sub_test, N(sub_test));
    if (dns_zoneset_add(g_zs, z) || dns_zoneset_add(g_zs, o) || dns_zoneset_add(g_zs, s))
        abort();
    dns_zone_unref(z);
    dns_zone_unref(o);
    dns_zone_unref(s);
    return g_zs;
}

/* ---- queries ----------------------------------------------------------------------- */

struct q {
    bool tcp;
    bool rd;
    bool edns;
    uint16_t udp;                    /* the client's payload size */
    bool do_bit;
    uint8_t version;
    uint8_t opcode;
    uint16_t qclass;                 /* 0: IN */
};

static uint8_t g_query[512];
static size_t g_qlen;
static uint8_t g_out[65536];
static size_t g_len;
static struct dns_auth_result g_res;

static size_t build(const char *name, uint16_t type, const struct q *o)
{
    struct dns_writer w;
    struct dns_header h = {.id = 0xBEEF, .rd = o->rd, .opcode = o->opcode};
    if (dns_writer_init(&w, g_query, sizeof g_query, &h) < 0)
        abort();
    struct dns_name n = tz_name(name);
    if (dns_writer_question(&w, &n, type, o->qclass ? o->qclass : DNS_CLASS_IN) < 0)
        abort();
    if (o->edns) {
        struct dns_edns_out e = {.udp_size = o->udp, .do_bit = o->do_bit, .version = o->version};
        if (dns_edns_write(&w, &e) < 0)
            abort();
    }
    return g_qlen = dns_writer_len(&w);
}

static const char *respond(const struct dns_zoneset *set, const uint8_t *q, size_t qlen, bool tcp)
{
    struct dns_auth_opts opts = {.tcp = tcp, .udp_max = 1232};
    g_len = dns_auth_respond(set, q, qlen, &opts, g_out, sizeof g_out, &g_res);
    if (g_len == 0)
        return "(nothing)";
    /* Every response carries the query's ID and QR. */
    if (g_out[0] != q[0] || g_out[1] != q[1] || !(g_out[2] & 0x80))
        return "bad header";
    return tz_dump(g_out, g_len);
}

static const char *ask_with(const char *name, uint16_t type, const struct q *o)
{
    build(name, type, o);
    return respond(zs(), g_query, g_qlen, o->tcp);
}

static const char *ask(const char *name, uint16_t type)
{
    struct q o = {0};
    return ask_with(name, type, &o);
}

/* ---- answers ----------------------------------------------------------------------- */

TEST(dns_auth_exact)
{
    CHECK_STR(ask("www.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD www.example.test. A\n"
              "AN www.example.test. 600 A 192.0.2.80");
    CHECK_INT(g_res.kind, DNS_AUTH_ANSWER);
    CHECK_INT(g_res.rcode, 0);
    CHECK_INT(g_res.qtype, DNS_TYPE_A);
    CHECK(g_res.zone != NULL);
    CHECK(!g_res.truncated);
    /* additional data for MX, NS and SRV (in-zone targets only) */
    CHECK_STR(ask("example.test.", DNS_TYPE_MX),
              "qr aa NOERROR\n"
              "QD example.test. MX\n"
              "AN example.test. 3600 MX 10 mail.example.test.\n"
              "AR mail.example.test. 3600 A 192.0.2.25\n"
              "AR mail.example.test. 3600 AAAA 2001:db8::25");
    CHECK_STR(ask("example.test.", DNS_TYPE_NS),
              "qr aa NOERROR\n"
              "QD example.test. NS\n"
              "AN example.test. 3600 NS ns1.example.test.\n"
              "AN example.test. 3600 NS ns2.example.test.\n"
              "AR ns1.example.test. 3600 A 192.0.2.53\n"
              "AR ns2.example.test. 3600 AAAA 2001:db8::53");
    CHECK_STR(ask("_sip._tcp.example.test.", DNS_TYPE_SRV),
              "qr aa NOERROR\n"
              "QD _sip._tcp.example.test. SRV\n"
              "AN _sip._tcp.example.test. 300 SRV 0 5 5060 www.example.test.\n"
              "AR www.example.test. 600 A 192.0.2.80");
    /* RD is copied, RA never set */
    struct q o = {.rd = true};
    CHECK_STR(ask_with("www.example.test.", DNS_TYPE_A, &o),
              "qr aa rd NOERROR\n"
              "QD www.example.test. A\n"
              "AN www.example.test. 600 A 192.0.2.80");
}

TEST(dns_auth_negative)
{
    /* RFC 2308 section 3: SOA TTL min(3600, 300) */
    CHECK_STR(ask("nothing.example.test.", DNS_TYPE_A),
              "qr aa NXDOMAIN\n"
              "QD nothing.example.test. A\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_INT(g_res.kind, DNS_AUTH_NXDOMAIN);
    CHECK_STR(ask("www.example.test.", DNS_TYPE_AAAA),
              "qr aa NOERROR\n"
              "QD www.example.test. AAAA\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_INT(g_res.kind, DNS_AUTH_NODATA);
    /* an empty non-terminal exists: NODATA, not NXDOMAIN */
    CHECK_STR(ask("b.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD b.example.test. A\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_INT(g_res.kind, DNS_AUTH_NODATA);
}

TEST(dns_auth_cname_chains)
{
    CHECK_STR(ask("alias2.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD alias2.example.test. A\n"
              "AN alias2.example.test. 300 CNAME alias.example.test.\n"
              "AN alias.example.test. 300 CNAME www.example.test.\n"
              "AN www.example.test. 600 A 192.0.2.80");
    CHECK_INT(g_res.kind, DNS_AUTH_ANSWER);
    /* a CNAME asked for is not followed */
    CHECK_STR(ask("alias.example.test.", DNS_TYPE_CNAME),
              "qr aa NOERROR\n"
              "QD alias.example.test. CNAME\n"
              "AN alias.example.test. 300 CNAME www.example.test.");
    /* RFC 6604: the RCODE is the last name's */
    CHECK_STR(ask("dangling.example.test.", DNS_TYPE_A),
              "qr aa NXDOMAIN\n"
              "QD dangling.example.test. A\n"
              "AN dangling.example.test. 300 CNAME nothing.example.test.\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_INT(g_res.kind, DNS_AUTH_NXDOMAIN);
    CHECK_STR(ask("alias.example.test.", DNS_TYPE_AAAA),
              "qr aa NOERROR\n"
              "QD alias.example.test. AAAA\n"
              "AN alias.example.test. 300 CNAME www.example.test.\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    /* into another zone of ours, and out of our zones */
    CHECK_STR(ask("cross.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD cross.example.test. A\n"
              "AN cross.example.test. 300 CNAME www.other.test.\n"
              "AN www.other.test. 60 A 192.0.2.81");
    CHECK_STR(ask("crossnx.example.test.", DNS_TYPE_A),
              "qr aa NXDOMAIN\n"
              "QD crossnx.example.test. A\n"
              "AN crossnx.example.test. 300 CNAME nothing.other.test.\n"
              "NS other.test. 30 SOA ns1.example.test. h.other.test. 7");
    CHECK_STR(ask("outside.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD outside.example.test. A\n"
              "AN outside.example.test. 300 CNAME www.example.com.");
    /* loops end at the first repeated name, case ignored */
    CHECK_STR(ask("loop1.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD loop1.example.test. A\n"
              "AN loop1.example.test. 300 CNAME loop2.example.test.\n"
              "AN loop2.example.test. 300 CNAME LOOP1.example.test.");
    CHECK_STR(ask("self.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD self.example.test. A\n"
              "AN self.example.test. 300 CNAME self.example.test.");
    /* into a delegation: the CNAME, then the referral (AA for the CNAME) */
    CHECK_STR(ask("tolame.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD tolame.example.test. A\n"
              "AN tolame.example.test. 300 CNAME host.lame.example.test.\n"
              "NS lame.example.test. 3600 NS ns.elsewhere.");
    /* a wildcard CNAME: owner is the name asked */
    CHECK_STR(ask("x.w.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD x.w.example.test. A\n"
              "AN x.w.example.test. 300 CNAME www.example.test.\n"
              "AN www.example.test. 600 A 192.0.2.80");
    /* ... whose target has no data of the type: NODATA at the end */
    CHECK_STR(ask("x.w.example.test.", DNS_TYPE_TXT),
              "qr aa NOERROR\n"
              "QD x.w.example.test. TXT\n"
              "AN x.w.example.test. 300 CNAME www.example.test.\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_INT(g_res.kind, DNS_AUTH_ANSWER);
}

/* A chain of 20 CNAMEs stops after 12 steps. */
TEST(dns_auth_cname_bound)
{
    struct rec r[24];
    char owners[22][64], targets[22][64];
    r[0] = (struct rec){"long.test.", 60, DNS_TYPE_SOA, "ns.elsewhere. h.elsewhere. 1 1 1 1 1"};
    r[1] = (struct rec){"long.test.", 60, DNS_TYPE_NS, "ns.elsewhere."};
    for (int i = 0; i < 20; i++) {
        snprintf(owners[i], 64, "c%d.long.test.", i);
        snprintf(targets[i], 64, "c%d.long.test.", i + 1);
        r[2 + i] = (struct rec){owners[i], 60, DNS_TYPE_CNAME, targets[i]};
    }
    struct dns_zone *z = make_zone("long.test.", r, 22);
    struct dns_zoneset *set = dns_zoneset_new();
    REQUIRE(dns_zoneset_add(set, z) == 0);
    dns_zone_unref(z);
    struct q o = {0};
    build("c0.long.test.", DNS_TYPE_A, &o);
    respond(set, g_query, g_qlen, false);
    REQUIRE(g_len > 12);
    CHECK_INT(g_out[7], 12);                  /* ANCOUNT */
    CHECK_INT(g_res.rcode, 0);
    dns_zoneset_unref(set);
}

TEST(dns_auth_referrals)
{
    CHECK_STR(ask("www.glued.example.test.", DNS_TYPE_A),
              "qr NOERROR\n"
              "QD www.glued.example.test. A\n"
              "NS glued.example.test. 3600 NS ns.glued.example.test.\n"
              "AR ns.glued.example.test. 3600 A 192.0.2.55");
    CHECK_INT(g_res.kind, DNS_AUTH_REFERRAL);
    /* at the delegation point itself, any type but DS */
    CHECK_STR(ask("glued.example.test.", DNS_TYPE_NS),
              "qr NOERROR\n"
              "QD glued.example.test. NS\n"
              "NS glued.example.test. 3600 NS ns.glued.example.test.\n"
              "AR ns.glued.example.test. 3600 A 192.0.2.55");
    /* glue is not answered with authoritatively */
    CHECK_STR(ask("ns.glued.example.test.", DNS_TYPE_A),
              "qr NOERROR\n"
              "QD ns.glued.example.test. A\n"
              "NS glued.example.test. 3600 NS ns.glued.example.test.\n"
              "AR ns.glued.example.test. 3600 A 192.0.2.55");
    CHECK_STR(ask("host.lame.example.test.", DNS_TYPE_A),
              "qr NOERROR\n"
              "QD host.lame.example.test. A\n"
              "NS lame.example.test. 3600 NS ns.elsewhere.");
    /* RFC 4035 section 3.1.4.1: DS is the parent's */
    CHECK_STR(ask("lame.example.test.", DNS_TYPE_DS),
              "qr aa NOERROR\n"
              "QD lame.example.test. DS\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    /* ... also when the child zone is ours too */
    CHECK_STR(ask("sub.example.test.", DNS_TYPE_DS),
              "qr aa NOERROR\n"
              "QD sub.example.test. DS\n"
              "AN sub.example.test. 3600 DS \\# 12");
    /* DS at the apex of a zone whose parent is not ours: the zone's NODATA */
    CHECK_STR(ask("other.test.", DNS_TYPE_DS),
              "qr aa NOERROR\n"
              "QD other.test. DS\n"
              "NS other.test. 30 SOA ns1.example.test. h.other.test. 7");
    /* and everything else there comes from the child */
    CHECK_STR(ask("sub.example.test.", DNS_TYPE_NS),
              "qr aa NOERROR\n"
              "QD sub.example.test. NS\n"
              "AN sub.example.test. 60 NS ns.sub.example.test.\n"
              "AR ns.sub.example.test. 60 A 192.0.2.54");
    CHECK_STR(ask("host.sub.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD host.sub.example.test. A\n"
              "AN host.sub.example.test. 60 A 192.0.2.56");
}

TEST(dns_auth_dname)
{
    CHECK_STR(ask("www.dn.example.test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD www.dn.example.test. A\n"
              "AN dn.example.test. 300 DNAME other.test.\n"
              "AN www.dn.example.test. 300 CNAME www.other.test.\n"
              "AN www.other.test. 60 A 192.0.2.81");
    CHECK_STR(ask("dn.example.test.", DNS_TYPE_DNAME),
              "qr aa NOERROR\n"
              "QD dn.example.test. DNAME\n"
              "AN dn.example.test. 300 DNAME other.test.");
    /* the DNAME's owner itself is not redirected */
    CHECK_INT(strstr(ask("dn.example.test.", DNS_TYPE_A), "\nAN") == NULL, 1);
    CHECK_INT(g_res.kind, DNS_AUTH_NODATA);
    /* RFC 6672 section 2.2: a result over 255 octets is YXDOMAIN, after
     * the DNAME; one that fits but does not exist is NXDOMAIN (RFC 6604) */
    char longname[300] = "";
    for (int i = 0; i < 2; i++)
        strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    strcat(longname, "dn.example.test.");
    ask(longname, DNS_TYPE_A);
    CHECK_INT(g_res.rcode, DNS_RCODE_NXDOMAIN);
    strcpy(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    strcat(longname, "grow.example.test.");
    const char *t = ask(longname, DNS_TYPE_A);
    CHECK_INT(g_res.rcode, DNS_RCODE_YXDOMAIN);
    CHECK_INT(g_res.kind, DNS_AUTH_ERROR);
    CHECK(strncmp(t, "qr aa YXDOMAIN\n", 15) == 0);
    CHECK(strstr(t, "\nAN grow.example.test. 300 DNAME bbb") != NULL);
    CHECK(strstr(t, "CNAME") == NULL);
}

TEST(dns_auth_any)
{
    /* RFC 8482: one RRset */
    CHECK_STR(ask("mail.example.test.", DNS_TYPE_ANY),
              "qr aa NOERROR\n"
              "QD mail.example.test. ANY\n"
              "AN mail.example.test. 3600 A 192.0.2.25");
    CHECK_STR(ask("alias.example.test.", DNS_TYPE_ANY),
              "qr aa NOERROR\n"
              "QD alias.example.test. ANY\n"
              "AN alias.example.test. 300 CNAME www.example.test.");
    struct q o = {.tcp = true};
    CHECK_STR(ask_with("example.test.", DNS_TYPE_ANY, &o),
              "qr aa NOERROR\n"
              "QD example.test. ANY\n"
              "AN example.test. 3600 NS ns1.example.test.\n"
              "AN example.test. 3600 NS ns2.example.test.\n"
              "AR ns1.example.test. 3600 A 192.0.2.53\n"
              "AR ns2.example.test. 3600 AAAA 2001:db8::53");
}

/* ---- RFC 4592 section 2.2.1 ------------------------------------------------------- */

static const struct rec rfc4592[] = {
    {"example.", 3600, DNS_TYPE_SOA, "ns.example.com. h.example.com. 1 1 1 1 3600"},
    {"example.", 3600, DNS_TYPE_NS, "ns.example.com."},
    {"example.", 3600, DNS_TYPE_NS, "ns.example.net."},
    {"*.example.", 3600, DNS_TYPE_TXT, "this is a wildcard"},
    {"*.example.", 3600, DNS_TYPE_MX, "10 host1.example."},
    {"sub.*.example.", 3600, DNS_TYPE_TXT, "this is not a wildcard"},
    {"host1.example.", 3600, DNS_TYPE_A, "192.0.2.1"},
    {"_ssh._tcp.host1.example.", 3600, DNS_TYPE_SRV, "0 0 22 host1.example."},
    {"_ssh._tcp.host2.example.", 3600, DNS_TYPE_SRV, "0 0 22 host2.example."},
    {"subdel.example.", 3600, DNS_TYPE_NS, "ns.example.com."},
    {"subdel.example.", 3600, DNS_TYPE_NS, "ns.example.net."},
};

TEST(dns_auth_rfc4592)
{
    struct dns_zone *z = make_zone("example.", rfc4592, N(rfc4592));
    struct dns_zoneset *set = dns_zoneset_new();
    REQUIRE(dns_zoneset_add(set, z) == 0);
    dns_zone_unref(z);
    struct q o = {0};
#define ASK(name, type) (build(name, type, &o), respond(set, g_query, g_qlen, false))
    const char *soa = "NS example. 3600 SOA ns.example.com. h.example.com. 1";
    char want[512];

    /* section 2.2.1: synthesized from *.example, owner is the QNAME */
    CHECK_STR(ASK("host3.example.", DNS_TYPE_MX),
              "qr aa NOERROR\n"
              "QD host3.example. MX\n"
              "AN host3.example. 3600 MX 10 host1.example.\n"
              "AR host1.example. 3600 A 192.0.2.1");
    snprintf(want, sizeof want, "qr aa NOERROR\nQD host3.example. A\n%s", soa);
    CHECK_STR(ASK("host3.example.", DNS_TYPE_A), want);
    CHECK_STR(ASK("foo.bar.example.", DNS_TYPE_TXT),
              "qr aa NOERROR\n"
              "QD foo.bar.example. TXT\n"
              "AN foo.bar.example. 3600 TXT \"this is a wildcard\"");
    /* names that exist are not matched by the wildcard */
    snprintf(want, sizeof want, "qr aa NOERROR\nQD host1.example. MX\n%s", soa);
    CHECK_STR(ASK("host1.example.", DNS_TYPE_MX), want);
    snprintf(want, sizeof want, "qr aa NOERROR\nQD sub.*.example. MX\n%s", soa);
    CHECK_STR(ASK("sub.*.example.", DNS_TYPE_MX), want);
    /* section 2.2.2: the empty non-terminal _tcp.host1 is the closest
     * encloser and has no wildcard */
    snprintf(want, sizeof want, "qr aa NXDOMAIN\nQD _telnet._tcp.host1.example. SRV\n%s", soa);
    CHECK_STR(ASK("_telnet._tcp.host1.example.", DNS_TYPE_SRV), want);
    CHECK_STR(ASK("host.subdel.example.", DNS_TYPE_A),
              "qr NOERROR\n"
              "QD host.subdel.example. A\n"
              "NS subdel.example. 3600 NS ns.example.com.\n"
              "NS subdel.example. 3600 NS ns.example.net.");
    /* the closest encloser is *.example itself, which has no wildcard child */
    snprintf(want, sizeof want, "qr aa NXDOMAIN\nQD ghost.*.example. MX\n%s", soa);
    CHECK_STR(ASK("ghost.*.example.", DNS_TYPE_MX), want);
    /* section 2.2.3-style: the wildcard asked for by its own name */
    CHECK_STR(ASK("*.example.", DNS_TYPE_TXT),
              "qr aa NOERROR\n"
              "QD *.example. TXT\n"
              "AN *.example. 3600 TXT \"this is a wildcard\"");
    /* an empty non-terminal blocks: _tcp.host2 exists, so x._tcp.host2 has
     * it as closest encloser; host2 exists only as an empty non-terminal */
    snprintf(want, sizeof want, "qr aa NOERROR\nQD host2.example. A\n%s", soa);
    CHECK_STR(ASK("host2.example.", DNS_TYPE_A), want);
#undef ASK
    dns_zoneset_unref(set);
}

/* ---- the checks ----------------------------------------------------------------------- */

TEST(dns_auth_drop_and_errors)
{
    struct q o = {.rd = true};
    build("www.example.test.", DNS_TYPE_A, &o);
    /* too short, and responses, are dropped */
    CHECK_STR(respond(zs(), g_query, 11, false), "(nothing)");
    CHECK_INT(g_res.kind, DNS_AUTH_DROP);
    g_query[2] |= 0x80;
    CHECK_STR(respond(zs(), g_query, g_qlen, false), "(nothing)");
    g_query[2] &= 0x7F;

    /* trailing octets */
    uint8_t q[600];
    memcpy(q, g_query, g_qlen);
    q[g_qlen] = 0;
    CHECK_STR(respond(zs(), q, g_qlen + 1, false),
              "qr rd FORMERR\nQD www.example.test. A");
    CHECK_INT(g_res.kind, DNS_AUTH_ERROR);
    CHECK_INT(g_res.rcode, DNS_RCODE_FORMERR);
    /* no question, two questions: no question in the answer */
    memcpy(q, g_query, 12);
    q[5] = 0;
    CHECK_STR(respond(zs(), q, 12, false), "qr rd FORMERR");
    memcpy(q, g_query, g_qlen);
    memcpy(q + g_qlen, g_query + 12, g_qlen - 12);
    q[5] = 2;
    CHECK_STR(respond(zs(), q, 2 * g_qlen - 12, false), "qr rd FORMERR");
    /* unparsable: header only */
    memcpy(q, g_query, g_qlen);
    q[12] = 0x40;
    CHECK_STR(respond(zs(), q, g_qlen, false), "qr rd FORMERR");
    /* an answer record in a query */
    memcpy(q, g_query, g_qlen);
    memcpy(q + g_qlen, "\xc0\x0c\0\1\0\1\0\0\0\0\0\4\1\2\3\4", 16);
    q[7] = 1;
    CHECK_STR(respond(zs(), q, g_qlen + 16, false), "qr rd FORMERR\nQD www.example.test. A");

    /* opcodes */
    o.opcode = DNS_OPCODE_NOTIFY;
    CHECK_STR(ask_with("example.test.", DNS_TYPE_SOA, &o), "qr rd NOTIMP\nQD example.test. SOA");
    CHECK_INT(g_res.kind, DNS_AUTH_ERROR);
    o.opcode = DNS_OPCODE_STATUS;
    CHECK_STR(ask_with("example.test.", DNS_TYPE_SOA, &o), "qr rd NOTIMP\nQD example.test. SOA");
    CHECK(g_out[2] == (0x80 | DNS_OPCODE_STATUS << 3 | 1));   /* the opcode is copied */
    o.opcode = 0;

    /* classes and zones */
    o.qclass = DNS_CLASS_CH;
    CHECK_STR(ask_with("version.bind.", DNS_TYPE_TXT, &o), "qr rd REFUSED\nQD version.bind. TXT");
    o.qclass = DNS_CLASS_ANY;
    CHECK_STR(ask_with("www.example.test.", DNS_TYPE_A, &o),
              "qr rd REFUSED\nQD www.example.test. A");
    o.qclass = 0;
    CHECK_STR(ask_with("www.example.com.", DNS_TYPE_A, &o), "qr rd REFUSED\nQD www.example.com. A");
    CHECK(g_res.zone == NULL);
    CHECK_STR(ask_with(".", DNS_TYPE_NS, &o), "qr rd REFUSED\nQD . NS");
    CHECK_STR(ask("maila.example.test.", DNS_TYPE_MAILA), "qr NOTIMP\nQD maila.example.test. MAILA");
}

TEST(dns_auth_transfers)
{
    struct q o = {.tcp = true};
    CHECK_STR(ask_with("example.test.", DNS_TYPE_AXFR, &o), "(nothing)");
    CHECK_INT(g_res.kind, DNS_AUTH_XFR);
    CHECK(g_res.zone != NULL);
    CHECK_STR(ask_with("example.test.", DNS_TYPE_IXFR, &o), "(nothing)");
    CHECK_INT(g_res.kind, DNS_AUTH_XFR);
    CHECK_STR(ask("example.test.", DNS_TYPE_AXFR), "qr NOTIMP\nQD example.test. AXFR");
    /* RFC 1995 section 2: over UDP, the SOA alone */
    CHECK_STR(ask("example.test.", DNS_TYPE_IXFR),
              "qr aa NOERROR\n"
              "QD example.test. IXFR\n"
              "AN example.test. 3600 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_STR(ask("www.example.test.", DNS_TYPE_IXFR), "qr NOTAUTH\nQD www.example.test. IXFR");
    /* an IXFR query carries the client's SOA in the authority section
     * (RFC 1995 section 3): not a FORMERR */
    struct q u = {0};
    build("example.test.", DNS_TYPE_IXFR, &u);
    uint8_t q[600];
    memcpy(q, g_query, g_qlen);
    uint8_t rd[300];
    int n = tz_rdata(DNS_TYPE_SOA, "ns1.example.test. h.example.test. 2024010100 1 1 1 1", rd);
    memcpy(q + g_qlen, "\xc0\x0c\0\6\0\1\0\0\0\0", 10);
    q[g_qlen + 10] = 0;
    q[g_qlen + 11] = (uint8_t)n;
    memcpy(q + g_qlen + 12, rd, (size_t)n);
    q[9] = 1;
    CHECK_STR(respond(zs(), q, g_qlen + 12 + (size_t)n, false),
              "qr aa NOERROR\n"
              "QD example.test. IXFR\n"
              "AN example.test. 3600 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    /* any other query with an authority record is refused as malformed */
    build("example.test.", DNS_TYPE_SOA, &u);
    memcpy(q + 12, g_query + 12, g_qlen - 12);
    CHECK_STR(respond(zs(), q, g_qlen + 12 + (size_t)n, false),
              "qr FORMERR\nQD example.test. SOA");
}

TEST(dns_auth_edns)
{
    struct q o = {.edns = true, .udp = 4096, .do_bit = true};
    CHECK_STR(ask_with("www.example.test.", DNS_TYPE_A, &o),
              "qr aa NOERROR\n"
              "QD www.example.test. A\n"
              "AN www.example.test. 600 A 192.0.2.80\n"
              "AR OPT udp=1232 do=1 ver=0");
    o.do_bit = false;
    CHECK_STR(ask_with("nothing.example.test.", DNS_TYPE_A, &o),
              "qr aa NXDOMAIN\n"
              "QD nothing.example.test. A\n"
              "NS example.test. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101\n"
              "AR OPT udp=1232 do=0 ver=0");
    /* RFC 6891 section 6.1.3: BADVERS, with an OPT RR of version 0 */
    o.version = 1;
    CHECK_STR(ask_with("www.example.test.", DNS_TYPE_A, &o),
              "qr BADVERS\nQD www.example.test. A\nAR OPT udp=1232 do=0 ver=0");
    CHECK_INT(g_res.rcode, DNS_RCODE_BADVERS);
    CHECK_INT(g_out[3] & 0xF, 0);
    o.version = 0;
    /* errors keep the OPT RR */
    o.qclass = DNS_CLASS_CH;
    CHECK_STR(ask_with("www.example.test.", DNS_TYPE_A, &o),
              "qr REFUSED\nQD www.example.test. A\nAR OPT udp=1232 do=0 ver=0");
    o.qclass = 0;
    /* two OPT RRs: FORMERR without one */
    build("www.example.test.", DNS_TYPE_A, &o);
    uint8_t q[600];
    memcpy(q, g_query, g_qlen);
    memcpy(q + g_qlen, g_query + g_qlen - 11, 11);
    q[11] = 2;
    CHECK_STR(respond(zs(), q, g_qlen + 11, false), "qr FORMERR\nQD www.example.test. A");
    /* an OPT RR in the answer section */
    memcpy(q, g_query, g_qlen);
    q[7] = 1;
    q[11] = 0;
    CHECK_STR(respond(zs(), q, g_qlen, false), "qr FORMERR\nQD www.example.test. A");
}

/* ---- sizes ------------------------------------------------------------------------------ */

TEST(dns_auth_truncation)
{
    /* without EDNS: 512 octets; the TXT RRset does not fit: TC, empty */
    CHECK_STR(ask("big.example.test.", DNS_TYPE_TXT), "qr aa tc NOERROR\nQD big.example.test. TXT");
    CHECK(g_res.truncated);
    CHECK(g_len <= 512);
    /* with EDNS, up to our 1232: still too big, the OPT RR stays */
    struct q o = {.edns = true, .udp = 4096};
    CHECK_STR(ask_with("big.example.test.", DNS_TYPE_TXT, &o),
              "qr aa tc NOERROR\nQD big.example.test. TXT\nAR OPT udp=1232 do=0 ver=0");
    /* over TCP, everything */
    o.tcp = true;
    ask_with("big.example.test.", DNS_TYPE_TXT, &o);
    CHECK(!g_res.truncated);
    CHECK_INT(g_out[6] << 8 | g_out[7], 40);
    o.tcp = false;
    /* a payload size below 512 counts as 512 (RFC 6891 section 6.2.5) */
    o.udp = 100;
    ask_with("mxmany.example.test.", DNS_TYPE_MX, &o);
    CHECK(!g_res.truncated);
    CHECK(g_len > 400 && g_len <= 512);
    /* additional data that does not fit is left out, without TC; the
     * OPT RR is there */
    CHECK_INT(g_out[6] << 8 | g_out[7], 12);
    int ar = g_out[10] << 8 | g_out[11];
    CHECK(ar > 1 && ar < 25);
    CHECK(strstr(tz_dump(g_out, g_len), "AR OPT udp=1232") != NULL);
    CHECK(strstr(tz_dump(g_out, g_len), " tc ") == NULL);
    /* with room, all 24 addresses */
    o.udp = 1232;
    ask_with("mxmany.example.test.", DNS_TYPE_MX, &o);
    CHECK_INT(g_out[10] << 8 | g_out[11], 25);

    /* the CNAME fits, its target's RRset does not: what fitted, and TC */
    CHECK_STR(ask("tobig.example.test.", DNS_TYPE_TXT),
              "qr aa tc NOERROR\n"
              "QD tobig.example.test. TXT\n"
              "AN tobig.example.test. 300 CNAME big.example.test.");

    /* a referral whose in-domain glue does not fit: TC (RFC 9471) */
    ask("www.many.example.test.", DNS_TYPE_A);
    CHECK(g_res.truncated);
    CHECK_INT(g_res.kind, DNS_AUTH_REFERRAL);
    CHECK_INT(g_out[8] << 8 | g_out[9], 8);      /* the NS set is there */
    CHECK(g_len <= 512);
    o.udp = 1232;
    ask_with("www.many.example.test.", DNS_TYPE_A, &o);
    CHECK(!g_res.truncated);
    CHECK_INT(g_out[10] << 8 | g_out[11], 17);
}

TEST(dns_auth_case)
{
    /* the question comes back with its case; the answer's owner is a
     * pointer to it; matching ignores case */
    CHECK_STR(ask("WwW.ExAmPlE.TeSt.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD WwW.ExAmPlE.TeSt. A\n"
              "AN WwW.ExAmPlE.TeSt. 600 A 192.0.2.80");
    size_t qend = 12 + 18 + 4;
    CHECK_INT(g_out[qend], 0xC0);
    CHECK_INT(g_out[qend + 1], 12);
    CHECK_STR(ask("NOTHING.example.TEST.", DNS_TYPE_A),
              "qr aa NXDOMAIN\n"
              "QD NOTHING.example.TEST. A\n"
              "NS example.TEST. 300 SOA ns1.example.test. hostmaster.example.test. 2024010101");
    CHECK_STR(ask("X.W.Example.Test.", DNS_TYPE_A),
              "qr aa NOERROR\n"
              "QD X.W.Example.Test. A\n"
              "AN X.W.Example.Test. 300 CNAME www.example.test.\n"
              "AN www.example.test. 600 A 192.0.2.80");
    CHECK_STR(ask("www.GLUED.example.test.", DNS_TYPE_A),
              "qr NOERROR\n"
              "QD www.GLUED.example.test. A\n"
              "NS GLUED.example.test. 3600 NS ns.glued.example.test.\n"
              "AR ns.glued.example.test. 3600 A 192.0.2.55");
}

/* ---- threads ------------------------------------------------------------------------------ */

/* Readers share a zone set without locks: each thread answers the same
 * queries with its own buffers and must get the same octets. */
struct reader {
    const uint8_t *q;
    size_t qlen;
    const uint8_t *want;
    size_t wantlen;
    int bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    static _Thread_local uint8_t out[65536];
    struct dns_auth_opts opts = {.udp_max = 1232};
    struct dns_auth_result res;
    for (int i = 0; i < 20000; i++) {
        size_t n = dns_auth_respond(zs(), r->q, r->qlen, &opts, out, sizeof out, &res);
        if (n != r->wantlen || memcmp(out, r->want, n) != 0)
            r->bad++;
    }
    return NULL;
}

TEST(dns_auth_threads)
{
    struct q o = {.edns = true, .udp = 1232};
    ask_with("alias2.example.test.", DNS_TYPE_A, &o);
    static uint8_t want[65536];
    memcpy(want, g_out, g_len);
    struct reader r[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (struct reader){g_query, g_qlen, want, g_len, 0};
        REQUIRE(pthread_create(&t[i], NULL, reader_main, &r[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(r[i].bad, 0);
    }
}
