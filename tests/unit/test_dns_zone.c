/* Unit tests for src/dns/zone.c and zoneset.c: building zones, the checks
 * at dns_zone_finish (each error "file:line: ..."), the walk's order,
 * duplicates and TTLs (RFC 2181 section 5), the node flags the answer
 * path relies on, and zone sets (deepest apex). */
#include "test.h"

#include <errno.h>

#include "base/err.h"
#include "dns/zonedata.h"
#include "dns_testzone.h"

#define SOA "ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"

static struct dns_zone *base_zone(const char *apex)
{
    struct dns_name a = tz_name(apex);
    return dns_zone_new(&a, DNS_CLASS_IN);
}

/* Does errors contain s? */
static bool has(struct buf *errors, const char *s)
{
    const char *t = buf_cstr(errors);
    return t && strstr(t, s);
}

TEST(dns_zone_good)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    REQUIRE(z);
    CHECK_INT(tz_add(z, 1, "example.test.", 3600, DNS_TYPE_SOA, SOA, &errors), 0);
    CHECK_INT(tz_add(z, 2, "example.test.", 3600, DNS_TYPE_NS, "ns1.example.test.", &errors), 0);
    CHECK_INT(tz_add(z, 3, "ns1.example.test.", 3600, DNS_TYPE_A, "192.0.2.53", &errors), 0);
    CHECK_INT(tz_add(z, 4, "WWW.Example.Test.", 3600, DNS_TYPE_A, "192.0.2.80", &errors), 0);
    CHECK_INT(tz_add(z, 5, "www.example.test.", 3600, DNS_TYPE_A, "192.0.2.80", &errors), 0);
    CHECK_INT(tz_add(z, 6, "a.b.c.example.test.", 3600, DNS_TYPE_TXT, "deep", &errors), 0);
    CHECK_INT(tz_add(z, 7, "*.example.test.", 3600, DNS_TYPE_TXT, "wild", &errors), 0);
    CHECK_INT(dns_zone_records(z), 7);
    CHECK_INT(dns_zone_finish(z, &errors), 0);
    CHECK_INT(buf_len(&errors), 0);
    CHECK_INT(dns_zone_records(z), 6);               /* the duplicate A is gone */
    CHECK_INT(dns_zone_serial(z), 2024010101);
    /* adding after finish is refused */
    CHECK_INT(tz_add(z, 8, "x.example.test.", 1, DNS_TYPE_A, "192.0.2.1", &errors), -EINVAL);

    /* empty non-terminals b.c and c exist, with the flags */
    struct dns_lname ln;
    struct dns_name n = tz_name("b.c.example.test.");
    dns_lname_init(&ln, &n);
    uint32_t i = dns_zone_lookup(z, &ln, 0);
    REQUIRE(i != DNS_ZNONE);
    CHECK(z->nodes[i].flags & DNS_ZN_ENT);
    i = dns_zone_lookup(z, &ln, 1);
    REQUIRE(i != DNS_ZNONE);
    CHECK(z->nodes[i].flags & DNS_ZN_ENT);
    CHECK(z->nodes[0].wild != DNS_ZNONE);
    n = tz_name("nope.example.test.");
    dns_lname_init(&ln, &n);
    CHECK(dns_zone_lookup(z, &ln, 0) == DNS_ZNONE);
    dns_zone_unref(z);
    buf_free(&errors);
}

struct walk_out {
    struct buf text;
};

static int walk_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct walk_out *w = arg;
    char t[DNS_NAME_MAXTEXT], tb[DNS_MNEMONIC_MAX];
    dns_name_to_text(owner, t, sizeof t);
    buf_printf(&w->text, "%s %u %s ", t, ttl, dns_type_to_text(type, tb));
    tz_rdata_text(type, rdata, rdlen, &w->text);
    buf_puts(&w->text, "\n");
    return 0;
}

TEST(dns_zone_walk_order_and_ttls)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    REQUIRE(z);
    tz_add(z, 1, "z.example.test.", 300, DNS_TYPE_A, "192.0.2.2", &errors);
    tz_add(z, 2, "example.test.", 3600, DNS_TYPE_NS, "ns.elsewhere.", &errors);
    tz_add(z, 3, "Z.example.test.", 600, DNS_TYPE_A, "192.0.2.1", &errors);
    tz_add(z, 4, "a.example.test.", 60, DNS_TYPE_TXT, "x", &errors);
    tz_add(z, 5, "example.test.", 3600, DNS_TYPE_SOA, SOA, &errors);
    tz_add(z, 6, "*.z.example.test.", 60, DNS_TYPE_TXT, "w", &errors);
    tz_add(z, 7, "\\001.z.example.test.", 60, DNS_TYPE_TXT, "o", &errors);
    REQUIRE(dns_zone_finish(z, &errors) == 0);
    /* RFC 2181 section 5.2: the first TTL wins, with a warning */
    CHECK(has(&errors, "test.zone:3: z.example.test.: warning: TTL 600 differs"));
    struct walk_out w = {BUF_INIT};
    CHECK_INT(dns_zone_walk(z, walk_cb, &w), 0);
    /* RFC 4034 section 6.1's order: \001 before *, then z's subdomains */
    CHECK_STR(buf_cstr(&w.text),
              "example.test. 3600 SOA ns1.example.test. hostmaster.example.test. 2024010101\n"
              "example.test. 3600 NS ns.elsewhere.\n"
              "a.example.test. 60 TXT \"x\"\n"
              "z.example.test. 300 A 192.0.2.1\n"
              "z.example.test. 300 A 192.0.2.2\n"
              "\\001.z.example.test. 60 TXT \"o\"\n"
              "*.z.example.test. 60 TXT \"w\"\n");
    buf_free(&w.text);
    dns_zone_unref(z);
    buf_free(&errors);
}

TEST(dns_zone_add_refusals)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    REQUIRE(z);
    CHECK_INT(tz_add(z, 10, "www.other.test.", 60, DNS_TYPE_A, "192.0.2.1", &errors), OP_E_SYNTAX);
    CHECK(has(&errors, "test.zone:10: www.other.test.: outside the zone example.test."));
    CHECK_INT(tz_add(z, 11, "example.test.", 60, DNS_TYPE_A, "192.0.2.1", &errors), 0);
    struct dns_name o = tz_name("example.test.");
    struct dns_src src = {"f.zone", 12};
    CHECK_INT(dns_zone_add(z, &src, &o, DNS_TYPE_A, DNS_CLASS_CH, 60,
                           (const uint8_t *)"\1\2\3\4", 4, &errors), OP_E_SYNTAX);
    CHECK(has(&errors, "f.zone:12: example.test.: class CH"));
    CHECK_INT(dns_zone_add(z, &src, &o, DNS_TYPE_AXFR, DNS_CLASS_IN, 60, NULL, 0, &errors),
              OP_E_SYNTAX);
    CHECK_INT(dns_zone_add(z, &src, &o, DNS_TYPE_MX, DNS_CLASS_IN, 60,
                           (const uint8_t *)"\0\1\3abc", 6, &errors), OP_E_SYNTAX);
    CHECK(has(&errors, "does not match the layout of MX"));
    dns_zone_unref(z);
    buf_free(&errors);
}

TEST(dns_zone_checks)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    REQUIRE(z);
    /* no SOA, no NS at the apex */
    tz_add(z, 1, "www.example.test.", 60, DNS_TYPE_A, "192.0.2.1", &errors);
    CHECK_INT(dns_zone_finish(z, &errors), OP_E_SYNTAX);
    CHECK(has(&errors, "test.zone:0: example.test.: the zone has no SOA record at its apex"));
    CHECK(has(&errors, "the zone has no NS records at its apex"));
    CHECK_INT(dns_zone_finish(z, &errors), -EINVAL);
    dns_zone_unref(z);

    buf_clear(&errors);
    z = base_zone("example.test.");
    tz_add(z, 1, "example.test.", 60, DNS_TYPE_SOA, SOA, &errors);
    tz_add(z, 2, "example.test.", 60, DNS_TYPE_SOA,
           "ns2.example.test. h.example.test. 2 1 1 1 1", &errors);
    tz_add(z, 3, "example.test.", 60, DNS_TYPE_NS, "ns1.example.test.", &errors);
    tz_add(z, 4, "www.example.test.", 60, DNS_TYPE_SOA, SOA, &errors);
    tz_add(z, 5, "alias.example.test.", 60, DNS_TYPE_CNAME, "www.example.test.", &errors);
    tz_add(z, 6, "alias.example.test.", 60, DNS_TYPE_TXT, "no", &errors);
    tz_add(z, 7, "two.example.test.", 60, DNS_TYPE_CNAME, "a.example.test.", &errors);
    tz_add(z, 8, "two.example.test.", 60, DNS_TYPE_CNAME, "b.example.test.", &errors);
    /* a delegation whose in-zone name server has no glue, and one that has */
    tz_add(z, 9, "sub.example.test.", 60, DNS_TYPE_NS, "ns.sub.example.test.", &errors);
    tz_add(z, 10, "ok.example.test.", 60, DNS_TYPE_NS, "ns.ok.example.test.", &errors);
    tz_add(z, 11, "ns.ok.example.test.", 60, DNS_TYPE_AAAA, "2001:db8::53", &errors);
    tz_add(z, 12, "out.example.test.", 60, DNS_TYPE_NS, "ns.elsewhere.", &errors);
    /* an NS set below a delegation is occluded: not checked */
    tz_add(z, 13, "x.sub.example.test.", 60, DNS_TYPE_NS, "ns.x.sub.example.test.", &errors);
    /* RRSIG beside a CNAME is fine (RFC 4035 section 2.5): not built here */
    CHECK_INT(dns_zone_finish(z, &errors), OP_E_SYNTAX);
    const char *t = buf_cstr(&errors);
    CHECK(has(&errors, "test.zone:1: example.test.: more than one SOA record"));
    CHECK(has(&errors, "test.zone:4: www.example.test.: an SOA record belongs at the zone's apex"));
    CHECK(has(&errors, "test.zone:6: alias.example.test.: TXT beside a CNAME"));
    CHECK(has(&errors, "test.zone:7: two.example.test.: more than one CNAME record"));
    CHECK(has(&errors, "test.zone:3: example.test.: name server ns1.example.test. is inside the "
                       "zone but has no A or AAAA record"));
    CHECK(has(&errors, "test.zone:9: sub.example.test.: name server ns.sub.example.test. is"));
    CHECK(!has(&errors, "ns.ok.example.test. is"));
    CHECK(!has(&errors, "ns.elsewhere"));
    CHECK(!has(&errors, "ns.x.sub"));
    if (test_current_failed)
        fprintf(stderr, "%s", t);
    dns_zone_unref(z);
    buf_free(&errors);
}

TEST(dns_zone_targets_and_cuts)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    tz_add(z, 1, "example.test.", 60, DNS_TYPE_SOA, SOA, &errors);
    tz_add(z, 2, "example.test.", 60, DNS_TYPE_NS, "ns1.example.test.", &errors);
    tz_add(z, 3, "ns1.example.test.", 60, DNS_TYPE_A, "192.0.2.53", &errors);
    tz_add(z, 4, "example.test.", 60, DNS_TYPE_MX, "10 mail.example.test.", &errors);
    tz_add(z, 5, "example.test.", 60, DNS_TYPE_MX, "20 mx.sub.example.test.", &errors);
    tz_add(z, 6, "example.test.", 60, DNS_TYPE_MX, "30 mx.elsewhere.", &errors);
    tz_add(z, 7, "mail.example.test.", 60, DNS_TYPE_A, "192.0.2.25", &errors);
    tz_add(z, 8, "sub.example.test.", 60, DNS_TYPE_NS, "mx.sub.example.test.", &errors);
    tz_add(z, 9, "mx.sub.example.test.", 60, DNS_TYPE_A, "192.0.2.99", &errors);
    REQUIRE(dns_zone_finish(z, &errors) == 0);
    const struct dns_zrrset *mx = dns_zone_rrset(z, 0, DNS_TYPE_MX);
    REQUIRE(mx && mx->count == 3 && mx->targets != DNS_ZNONE);
    /* mail has an address; mx.sub is glue, not data for MX; elsewhere is out */
    CHECK(z->targets[mx->targets] != DNS_ZNONE);
    CHECK(z->targets[mx->targets + 1] == DNS_ZNONE);
    CHECK(z->targets[mx->targets + 2] == DNS_ZNONE);
    struct dns_lname ln;
    struct dns_name n = tz_name("mx.sub.example.test.");
    dns_lname_init(&ln, &n);
    uint32_t glue = dns_zone_lookup(z, &ln, 0), cut = dns_zone_lookup(z, &ln, 1);
    REQUIRE(glue != DNS_ZNONE && cut != DNS_ZNONE);
    CHECK(z->nodes[cut].flags & DNS_ZN_CUT);
    CHECK(z->nodes[cut].cut == cut);
    CHECK(z->nodes[glue].flags & DNS_ZN_BELOW_CUT);
    CHECK(z->nodes[glue].cut == cut);
    const struct dns_zrrset *ns = dns_zone_rrset(z, cut, DNS_TYPE_NS);
    REQUIRE(ns);
    CHECK(z->targets[ns->targets] == glue);
    dns_zone_unref(z);
    buf_free(&errors);
}

static struct dns_zone *tiny_zone(const char *apex)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone(apex);
    char soa[600];
    snprintf(soa, sizeof soa, "ns.elsewhere. h.elsewhere. 1 1 1 1 1");
    tz_add(z, 1, apex, 60, DNS_TYPE_SOA, soa, &errors);
    tz_add(z, 2, apex, 60, DNS_TYPE_NS, "ns.elsewhere.", &errors);
    if (strcmp(apex, ".") == 0)
        tz_add(z, 3, "ns.elsewhere.", 60, DNS_TYPE_A, "192.0.2.53", &errors);
    if (dns_zone_finish(z, &errors) != 0) {
        fprintf(stderr, "%s", buf_cstr(&errors));
        abort();
    }
    buf_free(&errors);
    return z;
}

TEST(dns_zoneset_deepest)
{
    struct dns_zoneset *zs = dns_zoneset_new();
    REQUIRE(zs);
    struct dns_zone *a = tiny_zone("test."), *b = tiny_zone("example.test."),
                    *c = tiny_zone("deep.sub.example.test."), *root = tiny_zone(".");
    CHECK_INT(dns_zoneset_add(zs, b), 0);
    CHECK_INT(dns_zoneset_add(zs, a), 0);
    CHECK_INT(dns_zoneset_add(zs, c), 0);
    struct dns_zone *b2 = tiny_zone("EXAMPLE.test.");
    CHECK_INT(dns_zoneset_add(zs, b2), -EEXIST);
    dns_zone_unref(b2);
    struct dns_name n = tz_name("www.Example.TEST.");
    CHECK(dns_zoneset_find(zs, &n) == b);
    n = tz_name("x.sub.example.test.");
    CHECK(dns_zoneset_find(zs, &n) == b);
    n = tz_name("x.deep.sub.example.test.");
    CHECK(dns_zoneset_find(zs, &n) == c);
    n = tz_name("other.test.");
    CHECK(dns_zoneset_find(zs, &n) == a);
    n = tz_name("example.com.");
    CHECK(dns_zoneset_find(zs, &n) == NULL);
    CHECK_INT(dns_zoneset_add(zs, root), 0);
    CHECK(dns_zoneset_find(zs, &n) == root);
    /* the set holds its own references */
    dns_zone_unref(a);
    dns_zone_unref(b);
    dns_zone_unref(c);
    dns_zone_unref(root);
    n = tz_name("www.example.test.");
    CHECK(dns_zoneset_find(zs, &n) != NULL);
    dns_zoneset_unref(zs);
}

/* A zone whose arena is mapped in huge pages (over 4 MiB): every name is
 * found, the ancestors exist, and the walk sees every record. */
static int count_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    (*(size_t *)arg)++;
    return 0;
}

TEST(dns_zone_large)
{
    struct buf errors = BUF_INIT;
    struct dns_zone *z = base_zone("example.test.");
    REQUIRE(z);
    tz_add(z, 1, "example.test.", 60, DNS_TYPE_SOA, SOA, &errors);
    tz_add(z, 2, "example.test.", 60, DNS_TYPE_NS, "ns.elsewhere.", &errors);
    enum { NAMES = 40000 };
    for (int i = 0; i < NAMES; i++) {
        char owner[64], txt[64];
        snprintf(owner, sizeof owner, "h%d.g%d.example.test.", i, i % 97);
        snprintf(txt, sizeof txt, "record number %d of the large zone", i);
        REQUIRE(tz_add(z, 3, owner, 60, DNS_TYPE_TXT, txt, &errors) == 0);
    }
    REQUIRE(dns_zone_finish(z, &errors) == 0);
    CHECK(z->arena_mapped > 0);
    CHECK_INT(z->nnodes, 1 + 97 + NAMES);
    size_t n = 0;
    CHECK_INT(dns_zone_walk(z, count_cb, &n), 0);
    CHECK_INT(n, 2 + NAMES);
    for (int i = 0; i < NAMES; i += 997) {
        char owner[64];
        snprintf(owner, sizeof owner, "H%d.G%d.example.test.", i, i % 97);
        struct dns_name nm = tz_name(owner);
        struct dns_lname ln;
        dns_lname_init(&ln, &nm);
        uint32_t k = dns_zone_lookup(z, &ln, 0);
        CHECK(k != DNS_ZNONE && dns_zone_rrset(z, k, DNS_TYPE_TXT) != NULL);
        k = dns_zone_lookup(z, &ln, 1);
        CHECK(k != DNS_ZNONE && (z->nodes[k].flags & DNS_ZN_ENT));
    }
    dns_zone_unref(z);
    buf_free(&errors);
}
