/* Unit tests for src/dns/zonefile*.c: every construct of RFC 1035 section
 * 5.1 as BIND reads it, errors with their file:line, $INCLUDE. Records
 * are printed one a line as "owner ttl class type rdata". */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "dns/consts.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

static int collect(void *arg, const struct dns_src *src, const struct dns_name *owner,
                   uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                   uint16_t rdlen)
{
    struct buf *b = arg;
    char name[DNS_NAME_MAXTEXT], tb[DNS_MNEMONIC_MAX], cb[DNS_MNEMONIC_MAX];
    dns_name_to_text(owner, name, sizeof name);
    buf_printf(b, "%s %u %s %s ", name, ttl, dns_class_to_text(rclass, cb),
               dns_type_to_text(type, tb));
    dns_rdata_to_text(type, rdata, rdlen, b);
    buf_printf(b, "\n");
    return 0;
}

static struct dns_name origin(const char *s)
{
    struct dns_name n;
    dns_name_from_text(&n, s, strlen(s), NULL);
    return n;
}

/* Parse text with origin example.test.; records into out, errors into err. */
static int run(const char *text, struct buf *out, struct buf *err)
{
    struct dns_name o = origin("example.test.");
    return dns_zonefile_parse(text, strlen(text), "t.zone", &o, collect, out, err);
}

TEST(dns_zonefile_constructs)
{
    const char *text =
        "$TTL 1h\r\n"
        "@ IN SOA ns1 hostmaster ( 2024010101 ; serial\n"
        "         2h 1h 2w\n"
        "         5m )\n"
        "  IN NS ns1\n"                                  /* omitted owner */
        "\tNS ns2.other.test.\n"
        "ns1 300 IN A 192.0.2.1\n"                        /* TTL then class */
        "ns1 IN 1H30M AAAA 2001:db8::1\n"                 /* class then TTL, units */
        "www CNAME @ ; a comment \"with quotes\"\n"
        "txt TXT \"a;b\" \"c\\\"d\" plain\n"
        "long TXT ( \"v=DKIM1; k=rsa; \"\n"
        "           \"p=MIGf\" )\n"
        "$ORIGIN sub.example.test.\n"
        "host A 192.0.2.2\n"
        "abs.example.test. 1W A 192.0.2.3\n"
        "u TYPE1234 \\# 2 abcd\n"
        "c CLASS1 TYPE1 192.0.2.4\n"
        "esc\\.dot A 192.0.2.5\n"
        "* MX 10 mail.example.test.\n"
        "last A 192.0.2.6";                                /* no final newline */
    struct buf out = BUF_INIT, err = BUF_INIT;
    int r = run(text, &out, &err);
    if (r < 0)
        fprintf(stderr, "    %s", buf_cstr(&err));
    REQUIRE(r == 0);
    CHECK_STR(buf_cstr(&out),
              "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. "
              "2024010101 7200 3600 1209600 300\n"
              "example.test. 3600 IN NS ns1.example.test.\n"
              "example.test. 3600 IN NS ns2.other.test.\n"
              "ns1.example.test. 300 IN A 192.0.2.1\n"
              "ns1.example.test. 5400 IN AAAA 2001:db8::1\n"
              "www.example.test. 3600 IN CNAME example.test.\n"
              "txt.example.test. 3600 IN TXT \"a;b\" \"c\\\"d\" \"plain\"\n"
              "long.example.test. 3600 IN TXT \"v=DKIM1; k=rsa; \" \"p=MIGf\"\n"
              "host.sub.example.test. 3600 IN A 192.0.2.2\n"
              "abs.example.test. 604800 IN A 192.0.2.3\n"
              "u.sub.example.test. 3600 IN TYPE1234 \\# 2 ABCD\n"
              "c.sub.example.test. 3600 IN A 192.0.2.4\n"
              "esc\\.dot.sub.example.test. 3600 IN A 192.0.2.5\n"
              "*.sub.example.test. 3600 IN MX 10 mail.example.test.\n"
              "last.sub.example.test. 3600 IN A 192.0.2.6\n");
    CHECK_INT((int)buf_len(&err), 0);
    buf_free(&out);
    buf_free(&err);
}

TEST(dns_zonefile_ttl_rules)
{
    struct buf out = BUF_INIT, err = BUF_INIT;
    /* no $TTL: the SOA minimum first, then the last TTL given, with warnings */
    REQUIRE(run("@ SOA ns1 h 1 2 3 4 600\n"
                "a A 192.0.2.1\n"
                "b 60 A 192.0.2.2\n"
                "c A 192.0.2.3\n", &out, &err) == 0);
    CHECK_STR(buf_cstr(&out),
              "example.test. 600 IN SOA ns1.example.test. h.example.test. 1 2 3 4 600\n"
              "a.example.test. 600 IN A 192.0.2.1\n"
              "b.example.test. 60 IN A 192.0.2.2\n"
              "c.example.test. 60 IN A 192.0.2.3\n");
    CHECK(strstr(buf_cstr(&err), "t.zone:1: warning: ") != NULL);
    buf_clear(&out);
    buf_clear(&err);
    /* a TTL over 2^31-1 is taken as 0 (RFC 2181 section 8), with a warning */
    REQUIRE(run("$TTL 60\na 4294967295 A 192.0.2.1\n", &out, &err) == 0);
    CHECK_STR(buf_cstr(&out), "a.example.test. 0 IN A 192.0.2.1\n");
    CHECK(strstr(buf_cstr(&err), "t.zone:2: warning: TTL 4294967295") != NULL);
    buf_clear(&out);
    buf_clear(&err);
    REQUIRE(run("a A 192.0.2.1\n", &out, &err) < 0);
    CHECK_STR(buf_cstr(&err), "t.zone:1: no TTL given and no $TTL before this record\n");
    buf_free(&out);
    buf_free(&err);
}

/* Each bad file must fail with exactly this first error line. */
static const struct {
    const char *text, *err;
} bad[] = {
    {"$TTL 1h\n\n a A 192.0.2.1\n", "t.zone:3: the first record has no owner name\n"},
    {"$TTL 1h\na CH A 192.0.2.1\n", "t.zone:2: class CH differs from the zone's class IN\n"},
    {"$TTL 1h\na ( A\n 192.0.2.1\n", "t.zone:4: the '(' of line 2 is not closed\n"},
    {"$TTL 1h\na A 192.0.2.1 )\n", "t.zone:2: ')' without a '(' before it\n"},
    {"$TTL 1h\na TXT \"open\n", "t.zone:2: a quoted string is not closed before the end of the line\n"},
    {"$TTL 1h\n\na MX 70000 mail\n", "t.zone:3: MX: preference 70000 is over 65535\n"},
    {"$TTL 1h\na ( MX\n 10 )\n", "t.zone:2: MX: exchange is missing\n"},
    {"$TTL 1h\na BOGUS x\n", "t.zone:2: 'BOGUS' is not a type, a TTL or a class\n"},
    {"$TTL 1h\na IN ANY x\n", "t.zone:2: type ANY cannot be in a zone\n"},
    {"$TTL 1x\n", "t.zone:1: $TTL '1x' is not a TTL (like 3600 or 1h)\n"},
    {"$TTL 1h\na 1h2x A 192.0.2.1\n", "t.zone:2: TTL '1h2x' is not a TTL (like 3600 or 1h)\n"},
    {"$ORIGIN\n", "t.zone:1: $ORIGIN takes one domain name\n"},
    {"$INCLUDE other.zone\n", "t.zone:1: $INCLUDE is not allowed here\n"},
    {"$GENERATE 1-2 a$ A 1.2.3.$\n", "t.zone:1: unknown directive '$GENERATE'\n"},
    {"$TTL 1h\na..b A 192.0.2.1\n", "t.zone:2: owner 'a..b' is not a domain name\n"},
    {"$TTL 1h\na\n", "t.zone:2: the record has no type\n"},
};

TEST(dns_zonefile_errors)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf out = BUF_INIT, err = BUF_INIT;
        struct dns_name o = origin("example.test.");
        size_t len = strlen(bad[i].text);
        int r = dns_zonefile_parse(bad[i].text, len, "t.zone", &o, collect, &out, &err);
        CHECK(r < 0);
        const char *e = buf_cstr(&err);
        if (strcmp(e, bad[i].err) != 0) {
            fprintf(stderr, "    case %zu: got \"%s\", want \"%s\"\n", i, e, bad[i].err);
            CHECK(0);
        }
        buf_free(&out);
        buf_free(&err);
    }
}

TEST(dns_zonefile_nul)
{
    static const char text[] = "$TTL 1h\na A 192.0.2.1\nb\tA 192.0.\0.1\n";
    struct buf out = BUF_INIT, err = BUF_INIT;
    struct dns_name o = origin("example.test.");
    CHECK(dns_zonefile_parse(text, sizeof text - 1, "t.zone", &o, collect, &out, &err) < 0);
    CHECK_STR(buf_cstr(&err), "t.zone:3: a NUL byte is not allowed in a zone file\n");
    buf_free(&out);
    buf_free(&err);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(dns_zonefile_include)
{
    char dir[] = "/tmp/zftestXXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char p[256], sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    snprintf(p, sizeof p, "%s/main.zone", dir);
    write_file(p, "$TTL 300\n"
                  "@ NS ns1\n"
                  "$INCLUDE sub/hosts.inc hosts.example.test.\n"
                  "after A 192.0.2.9\n"        /* the origin is back to the zone's */
                  "  A 192.0.2.10\n"           /* and so is the previous owner */
                  "$INCLUDE \"sub/hosts.inc\"\n");
    snprintf(p, sizeof p, "%s/sub/hosts.inc", dir);
    write_file(p, "; hosts\n"
                  "h1 A 192.0.2.1\n"
                  "$ORIGIN deeper.example.test.\n"
                  "h2 A 192.0.2.2\n"
                  "$INCLUDE more.inc\n");      /* relative to sub/ */
    snprintf(p, sizeof p, "%s/sub/more.inc", dir);
    write_file(p, "h3 A 192.0.2.3\n");

    struct buf out = BUF_INIT, err = BUF_INIT;
    struct dns_name o = origin("example.test.");
    snprintf(p, sizeof p, "%s/main.zone", dir);
    int r = dns_zonefile_read(p, &o, collect, &out, &err);
    if (r < 0)
        fprintf(stderr, "    %s", buf_cstr(&err));
    CHECK(r == 0);
    CHECK_STR(buf_cstr(&out),
              "example.test. 300 IN NS ns1.example.test.\n"
              "h1.hosts.example.test. 300 IN A 192.0.2.1\n"
              "h2.deeper.example.test. 300 IN A 192.0.2.2\n"
              "h3.deeper.example.test. 300 IN A 192.0.2.3\n"
              "after.example.test. 300 IN A 192.0.2.9\n"
              "after.example.test. 300 IN A 192.0.2.10\n"
              "h1.example.test. 300 IN A 192.0.2.1\n"
              "h2.deeper.example.test. 300 IN A 192.0.2.2\n"
              "h3.deeper.example.test. 300 IN A 192.0.2.3\n");

    /* an error inside an included file names that file and line */
    snprintf(p, sizeof p, "%s/sub/more.inc", dir);
    write_file(p, "h3 A 192.0.2.3\nh4 A 192.0.2.300\n");
    buf_clear(&out);
    buf_clear(&err);
    snprintf(p, sizeof p, "%s/main.zone", dir);
    CHECK(dns_zonefile_read(p, &o, collect, &out, &err) < 0);
    char want[512];
    snprintf(want, sizeof want, "%s/sub/more.inc:2: A: address '192.0.2.300' is not an IPv4 "
             "address\n", dir);
    CHECK_STR(buf_cstr(&err), want);

    /* a file that includes itself stops at the nesting bound */
    snprintf(p, sizeof p, "%s/loop.zone", dir);
    write_file(p, "$INCLUDE loop.zone\n");
    buf_clear(&err);
    CHECK(dns_zonefile_read(p, &o, collect, &out, &err) < 0);
    CHECK(strstr(buf_cstr(&err), "nested more than") != NULL);

    /* a missing file */
    buf_clear(&err);
    snprintf(p, sizeof p, "%s/none.zone", dir);
    CHECK(dns_zonefile_read(p, &o, collect, &out, &err) == -ENOENT);

    buf_free(&out);
    buf_free(&err);
    const char *files[] = {"sub/hosts.inc", "sub/more.inc", "main.zone", "loop.zone", "sub", ""};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (remove(p) < 0)
            rmdir(p);
    }
}

TEST(dns_zonefile_tokenize)
{
    struct dns_token t[8];
    const char *s = "1 . alpn=\"h2,h3\" key7=\"a b\" \"q\\\"x\" ; c";
    int n = dns_zonefile_tokenize(s, strlen(s), t, 8);
    REQUIRE(n == 5);
    CHECK(t[2].len == 12 && memcmp(t[2].text, "alpn=\"h2,h3\"", 12) == 0 && !t[2].quoted);
    CHECK(t[3].len == 10 && !t[3].quoted);
    CHECK(t[4].len == 4 && memcmp(t[4].text, "q\\\"x", 4) == 0 && t[4].quoted);
    CHECK(dns_zonefile_tokenize("a b c", 5, t, 2) == -ENOSPC);
    CHECK(dns_zonefile_tokenize("a\nb", 3, t, 8) == OP_E_SYNTAX);
    CHECK(dns_zonefile_tokenize("\"a", 2, t, 8) == OP_E_SYNTAX);
}

/* The realistic zones of tests/data/zones (also loaded by NSD and BIND's
 * named-checkzone): each reads without errors or warnings, and every
 * record's RDATA prints and reads back to the same octets. */
struct zcount {
    unsigned records, roundtrip_bad;
};

static int count_and_check(void *arg, const struct dns_src *src, const struct dns_name *owner,
                           uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                           uint16_t rdlen)
{
    struct zcount *c = arg;
    static struct dns_token tok[4096];
    static uint8_t again[DNS_RDATA_MAX];
    struct buf b = BUF_INIT;
    char err[256];
    c->records++;
    dns_rdata_to_text(type, rdata, rdlen, &b);
    int n = dns_zonefile_tokenize(buf_ptr(&b), buf_len(&b), tok, 4096);
    int m = n < 0 ? n : dns_rdata_from_text(type, tok, (size_t)n, NULL, again, sizeof again,
                                            err, sizeof err);
    if (m != rdlen || memcmp(again, rdata, rdlen) != 0) {
        fprintf(stderr, "    %s:%u: '%s' does not read back\n", src->file, src->line,
                buf_cstr(&b));
        c->roundtrip_bad++;
    }
    buf_free(&b);
    return 0;
}

TEST(dns_zonefile_data_zones)
{
    static const struct {
        const char *file, *origin;
        unsigned records;
    } zones[] = {
        {"tests/data/zones/example.test.zone", "example.test.", 65},
        {"tests/data/zones/2.0.192.in-addr.arpa.zone", "2.0.192.in-addr.arpa.", 15},
        {"tests/data/zones/signed.test.zone", "signed.test.", 38},
    };
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        struct zcount c = {0, 0};
        struct buf err = BUF_INIT;
        struct dns_name o = origin(zones[i].origin);
        int r = dns_zonefile_read(zones[i].file, &o, count_and_check, &c, &err);
        if (r < 0 || buf_len(&err))
            fprintf(stderr, "    %s", buf_cstr(&err));
        CHECK(r == 0);
        CHECK_INT((int)buf_len(&err), 0);
        CHECK_INT((int)c.records, (int)zones[i].records);
        CHECK_INT((int)c.roundtrip_bad, 0);
        buf_free(&err);
    }
}

TEST(dns_zonefile_lexer_corners)
{
    struct buf out = BUF_INIT, err = BUF_INIT;
    const char *text =
        "; only a comment ( with a paren\n"
        "\n"
        "   \t  \n"
        "$TTL 60 ; comment after a directive\n"
        "a\tTXT\tfoo\\\"bar foo\\;bar \"(x)\" ; ( ignored\n"
        "b TXT ( ( \"nested\" ) \"parens\" )\n"
        "c TXT (\n"
        "  ; a comment line inside parentheses\n"
        "  \"x\" )\n"
        "d TXT \"a\"\"b\"\n"                          /* two strings, no blank */
        "$ORIGIN .\n"
        "top A 192.0.2.1\n"
        "@ NS ns.example.test.\n";
    int r = run(text, &out, &err);
    if (r < 0)
        fprintf(stderr, "    %s", buf_cstr(&err));
    REQUIRE(r == 0);
    CHECK_STR(buf_cstr(&out),
              "a.example.test. 60 IN TXT \"foo\\\"bar\" \"foo;bar\" \"(x)\"\n"
              "b.example.test. 60 IN TXT \"nested\" \"parens\"\n"
              "c.example.test. 60 IN TXT \"x\"\n"
              "d.example.test. 60 IN TXT \"a\" \"b\"\n"
              "top. 60 IN A 192.0.2.1\n"
              ". 60 IN NS ns.example.test.\n");
    buf_clear(&out);
    buf_clear(&err);
    /* nothing at all, and only comments, are empty zones */
    CHECK(run("", &out, &err) == 0);
    CHECK(run("; nothing\n;\n", &out, &err) == 0);
    CHECK_INT((int)buf_len(&out), 0);
    /* a record's line is that of its first token; errors in RDATA report it */
    buf_clear(&err);
    CHECK(run("$TTL 60\n\n  \nx ( MX\n 10\n mail..x )\n", &out, &err) < 0);
    CHECK_STR(buf_cstr(&err), "t.zone:4: MX: exchange 'mail..x' is not a domain name\n");
    buf_free(&out);
    buf_free(&err);
}
