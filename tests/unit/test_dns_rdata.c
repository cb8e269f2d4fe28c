/* Unit tests for src/dns/rdata*.c: every type's text form into wire form
 * and back (vectors from the RFCs' examples where they have some), the
 * generic form of RFC 3597, and bad inputs with the field they name. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "dns/consts.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

struct vec {
    const char *type, *text, *hex, *out;   /* out NULL: prints as text */
};

static const struct vec vectors[] = {
    /* RFC 1876 section 3's examples, as dig prints them */
    {"LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m", "000016138b3cf018810cbce0009895b8", NULL},
    {"LOC", "42 21 54 N 71 06 18 W -24m 30m", "0033161389172dd070be15f000988d20",
     "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m"},
    /* algorithm and digest mnemonics are read, numbers printed */
    {"DS", "1 RSASHA256 SHA-256 AABB", "00010802aabb", "1 8 2 AABB"},
    {"DNSKEY", "257 3 ecdsap256sha256 AQID", "0101030d010203", "257 3 13 AQID"},
    {"RRSIG", "A ED25519 2 1d 20240101000000 20231201000000 1 . AQID",
     "00010f02000151806592008065692200000100010203",
     "A 15 2 86400 20240101000000 20231201000000 1 . AQID"},
    {"A", "192.0.2.1", "c0000201", NULL},
    {"AAAA", "2001:DB8:0:0:0:0:0:1", "20010db8000000000000000000000001", "2001:db8::1"},
    {"AAAA", "::ffff:192.0.2.1", "00000000000000000000ffffc0000201", NULL},
    {"NS", "ns1", "036e7331076578616d706c65047465737400", "ns1.example.test."},
    {"CNAME", "@", "076578616d706c65047465737400", "example.test."},
    {"DNAME", "other.test.", "056f74686572047465737400", NULL},
    {"PTR", "host\\.dot.example.test.", "08686f73742e646f74076578616d706c65047465737400", NULL},
    {"MX", "10 mail", "000a046d61696c076578616d706c65047465737400", "10 mail.example.test."},
    {"MX", "0 .", "000000", NULL},
    {"SOA", "ns1 hostmaster 2024010101 2h 1H 2w 300", "036e7331076578616d706c650474657374000a686f73746d6173746572076578616d706c6504746573740078a3f17500001c2000000e10001275000000012c", "ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"},
    {"TXT", "\"v=spf1 mx -all\"", "0e763d73706631206d78202d616c6c", NULL},
    {"TXT", "\"a\" \"b c\" word", "01610362206304776f7264", "\"a\" \"b c\" \"word\""},
    {"TXT", "\"say \\\"hi\\\"\" \"back\\\\slash\" \"\\007\\255\" \"\"", "0873617920226869220a6261636b5c736c6173680207ff00", NULL},
    {"TXT", "\"\\065\\B\"", "024142", "\"AB\""},
    {"SPF", "\"v=spf1 -all\"", "0b763d73706631202d616c6c", NULL},
    {"HINFO", "\"INTEL-386\" \"Linux\"", "09494e54454c2d333836054c696e7578", NULL},
    {"SRV", "0 5 5060 sipserver.example.com.", "0000000513c409736970736572766572076578616d706c6503636f6d00", NULL},
    {"CAA", "0 issue \"letsencrypt.org\"", "000569737375656c657473656e63727970742e6f7267", NULL},
    {"CAA", "128 tbs \"Unknown\"", "8003746273556e6b6e6f776e", NULL},
    {"CAA", "0 iodef \"mailto:security@example.test\"", "0005696f6465666d61696c746f3a7365637572697479406578616d706c652e74657374", NULL},
    {"NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.", "0064000a0153075349502b44325500045f736970045f756470076578616d706c6503636f6d00", NULL},
    {"NAPTR", "100 50 \"a\" \"z3950+N2L+N2C\" \"!^urn:cid:.+@([^\\\\.]+\\\\.)(.*)$!\\\\2!i\" .", "0064003201610d7a333935302b4e324c2b4e324321215e75726e3a6369643a2e2b40285b5e5c2e5d2b5c2e29282e2a2924215c32216900", NULL},
    {"SSHFP", "2 1 123456789abcdef67890123456789abcdef67890", "0201123456789abcdef67890123456789abcdef67890", "2 1 123456789ABCDEF67890123456789ABCDEF67890"},
    {"TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B566 64C5D3D6", "0301010c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"},
    {"SMIMEA", "3 0 1 AABB", "030001aabb", NULL},
    {"DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", "ec4505012bb183af5f22588179a53b0a98631fad1a292118", NULL},
    {"CDS", "0 0 0 00", "0000000000", NULL},
    {"DNSKEY", "256 3 8 ( AwEAAcMnWBKLuvG/LwnPVykcmpvnntwxfshHlHRh lY0F3oz8AMcuF8gw9McCw+BoC2YxWaiTpNPuxjSNhUlBtcJmcdkz3/r7PIn0\n oDySNy3Mw02XvkAi5ndn2Y95VZQHLDfAlIZL0cuoMRbpUxXcqQ3dIUtHbVM27TnrZwV1LIDvOdmV )", "0100030803010001c32758128bbaf1bf2f09cf57291c9a9be79edc317ec847947461958d05de8cfc00c72e17c830f4c702c3e0680b663159a893a4d3eec6348d854941b5c26671d933dffafb3c89f4a03c92372dccc34d97be4022e67767d98f795594072c37c094864bd1cba83116e95315dca90ddd214b476d5336ed39eb6705752c80ef39d995", "256 3 8 AwEAAcMnWBKLuvG/LwnPVykcmpvnntwxfshHlHRhlY0F3oz8AMcuF8gw9McCw+BoC2YxWaiTpNPuxjSNhUlBtcJmcdkz3/r7PIn0oDySNy3Mw02XvkAi5ndn2Y95VZQHLDfAlIZL0cuoMRbpUxXcqQ3dIUtHbVM27TnrZwV1LIDvOdmV"},
    {"CDNSKEY", "0 3 0 AA==", "0000030000", NULL},
    {"RRSIG", "A 5 3 86400 20030322173103 20030220173103 2642 example.com. AwEAAcMnWBKLuvG/LwnPVykcmpvnntwxfshHlHRhlY0F3oz8AMcuF8gw9McCw+BoC2YxWaiTpNPuxjSNhUlBtcJmcdkz3/r7PIn0oDySNy3Mw02XvkAi5ndn2Y95VZQHLDfAlIZL0cuoMRbpUxXcqQ3dIUtHbVM27TnrZwV1LIDvOdmV", "00010503000151803e7c9dd73e5510d70a52076578616d706c6503636f6d0003010001c32758128bbaf1bf2f09cf57291c9a9be79edc317ec847947461958d05de8cfc00c72e17c830f4c702c3e0680b663159a893a4d3eec6348d854941b5c26671d933dffafb3c89f4a03c92372dccc34d97be4022e67767d98f795594072c37c094864bd1cba83116e95315dca90ddd214b476d5336ed39eb6705752c80ef39d995", NULL},
    {"RRSIG", "TYPE65534 8 2 3600 1700000000 0 1 .  AA==", "fffe080200000e106553f1000000000000010000", "TYPE65534 8 2 3600 20231114221320 19700101000000 1 . AA=="},
    {"NSEC", "host.example.com. A MX RRSIG NSEC TYPE1234", "04686f7374076578616d706c6503636f6d000006400100000003041b000000000000000000000000000000000000000000000000000020", NULL},
    {"NSEC", "b.example.test. NSEC A", "0162076578616d706c650474657374000006400000000001", "b.example.test. A NSEC"},
    {"NSEC3", "1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG", "0101000c04aabbccdd14174eb2409fe28bcb4887a1836f957f0a8425e27b0006400000000002", "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"},
    {"NSEC3", "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR", "010000000014174eb2409fe28bcb4887a1836f957f0a8425e27b", NULL},
    {"NSEC3PARAM", "1 0 12 AABBCCDD", "0100000c04aabbccdd", NULL},
    {"NSEC3PARAM", "1 0 0 -", "0100000000", NULL},
    {"SVCB", "0 foo.example.com.", "000003666f6f076578616d706c6503636f6d00", NULL},
    {"SVCB", "1 .", "000100", NULL},
    {"SVCB", "16 foo.example.com. port=53", "001003666f6f076578616d706c6503636f6d00000300020035", NULL},
    {"SVCB", "1 foo.example.com. key667=hello", "000103666f6f076578616d706c6503636f6d00029b000568656c6c6f", "1 foo.example.com. key667=\"hello\""},
    {"SVCB", "1 foo.example.com. key667=\"hello\\210qoo\"", "000103666f6f076578616d706c6503636f6d00029b000968656c6c6fd2716f6f", NULL},
    {"SVCB", "1 foo.example.com. ipv6hint=\"2001:db8::1,2001:db8::53:1\"", "000103666f6f076578616d706c6503636f6d000006002020010db800000000000000000000000120010db8000000000000000000530001", "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1"},
    {"SVCB", "1 example.com. ipv6hint=\"2001:db8:122:344::192.0.2.33\"", "0001076578616d706c6503636f6d000006001020010db80122034400000000c0000221", "1 example.com. ipv6hint=2001:db8:122:344::c000:221"},
    {"SVCB", "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1", "001003666f6f076578616d706c65036f7267000000000400010004000100090268320568332d313900040004c0000201", "16 foo.example.org. mandatory=alpn,ipv4hint alpn=\"h2,h3-19\" ipv4hint=192.0.2.1"},
    {"SVCB", "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"", "001003666f6f076578616d706c65036f7267000001000c08665c6f6f2c626172026832", NULL},
    {"SVCB", "16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2", "001003666f6f076578616d706c65036f7267000001000c08665c6f6f2c626172026832", "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\""},
    {"HTTPS", "1 . alpn=h3,h2 no-default-alpn port=8443 ech=AEn+DQBFKwAgACBFnkzb dohpath=/dns-query{?dns}", "00010000010006026833026832000200000003000220fb0005000f0049fe0d00452b00200020459e4cdb000700102f646e732d71756572797b3f646e737d", "1 . alpn=\"h3,h2\" no-default-alpn port=8443 ech=AEn+DQBFKwAgACBFnkzb dohpath=\"/dns-query{?dns}\""},
    {"HTTPS", "0 svc.example.test.", "000003737663076578616d706c65047465737400", NULL},
    {"URI", "10 1 \"ftp://ftp1.example.com/public\"", "000a00016674703a2f2f667470312e6578616d706c652e636f6d2f7075626c6963", NULL},
    {"RP", "admin.example.test. .", "0561646d696e076578616d706c6504746573740000", NULL},
    {"TYPE1234", "\\# 4 0A 000001", "0a000001", "\\# 4 0A000001"},
    {"TYPE65280", "\\# 0", "", NULL},
    {"A", "\\# 4 C0000201", "c0000201", "192.0.2.1"},
    {"MX", "\\# 8 000A 046D61696C00", "000a046d61696c00", "10 mail."},
    {"OPENPGPKEY", "AQID", "010203", NULL},
};

static struct dns_name origin_name(void)
{
    struct dns_name o;
    dns_name_from_text(&o, "example.test.", 12 + 1, NULL);
    return o;
}

/* Parse text as RDATA of the type named tname: the length, or an error with
 * its sentence in err. */
static int parse(const char *tname, const char *text, uint8_t *out, size_t cap, char *err,
                 size_t errlen)
{
    struct dns_token tok[256];
    uint16_t type;
    if (dns_type_from_text(tname, strlen(tname), &type) < 0)
        return -EINVAL;
    int n = dns_zonefile_tokenize(text, strlen(text), tok, 256);
    if (n < 0)
        return n;
    struct dns_name o = origin_name();
    return dns_rdata_from_text(type, tok, (size_t)n, &o, out, cap, err, errlen);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

TEST(dns_rdata_vectors)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vec *v = &vectors[i];
        static uint8_t wire[DNS_RDATA_MAX];
        static char h[2 * DNS_RDATA_MAX + 1];
        char err[256] = "";
        int n = parse(v->type, v->text, wire, sizeof wire, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "    %s %s: %s\n", v->type, v->text, err);
            CHECK(n >= 0);
            continue;
        }
        hex(wire, (size_t)n, h);
        CHECK_STR(h, v->hex);
        uint16_t type;
        dns_type_from_text(v->type, strlen(v->type), &type);
        struct buf b = BUF_INIT;
        REQUIRE(dns_rdata_to_text(type, wire, (size_t)n, &b) == 0);
        CHECK_STR(buf_cstr(&b), v->out ? v->out : v->text);
        /* and the printed text reads back to the same octets */
        uint8_t again[DNS_RDATA_MAX];
        int m = parse(v->type, buf_cstr(&b), again, sizeof again, err, sizeof err);
        CHECK(m == n && memcmp(again, wire, (size_t)n) == 0);
        buf_free(&b);
    }
}

/* Bad inputs: each must fail, and its sentence must contain want. */
static const struct {
    const char *type, *text, *want;
} bad[] = {
    {"A", "192.0.2", "not an IPv4 address"},
    {"A", "192.0.2.256", "address"},
    {"A", "192.0.2.1 192.0.2.2", "one field too many"},
    {"A", "", "address is missing"},
    {"AAAA", "2001:db8::1::2", "not an IPv6 address"},
    {"AAAA", "192.0.2.1", "IPv6"},
    {"MX", "70000 mail", "preference 70000 is over 65535"},
    {"MX", "ten mail", "preference 'ten' is not a number"},
    {"MX", "10", "exchange is missing"},
    {"MX", "10 a..b", "not a domain name"},
    {"NS", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test.", "too long"},
    {"SOA", "ns1 hostmaster 1 2 3 4", "minimum is missing"},
    {"SOA", "ns1 hostmaster 4294967296 2 3 4 5", "serial"},
    {"SOA", "ns1 hostmaster 1 2x 3 4 5", "refresh '2x'"},
    {"SOA", "ns1 hostmaster 1 1h30 3 4 5", "refresh"},
    {"TXT", "", "text is missing"},
    {"TXT", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaa\"", "longer than 255"},
    {"TXT", "\"\\256\"", "over 255"},
    {"TXT", "\"\\12\"", "three digits"},
    {"HINFO", "\"x86\"", "OS is missing"},
    {"SRV", "0 5 65536 sip.example.", "port 65536 is over 65535"},
    {"SRV", "0 5 5060", "target is missing"},
    {"CAA", "256 issue \"ca\"", "flags 256"},
    {"CAA", "0 is-sue \"ca\"", "tag 'is-sue'"},
    {"CAA", "0 issue", "value is missing"},
    {"NAPTR", "100 10 \"S\" \"SIP\" \"\"", "replacement is missing"},
    {"SSHFP", "2 1 12345", "odd number of hex digits"},
    {"SSHFP", "2 1 12xz", "not a hex digit"},
    {"SSHFP", "2 1", "fingerprint is missing"},
    {"TLSA", "3 1 256 00", "matching type 256"},
    {"DS", "60485 5 1", "digest is missing"},
    {"DS", "60485 RSASHA3 1 AA", "algorithm 'RSASHA3' is not a number"},
    {"DS", "60485 8 SHA-3 AA", "digest type 'SHA-3' is not a number"},
    {"DNSKEY", "256 3 8 AwEAA", "padded"},
    {"DNSKEY", "256 3 8 Aw*A", "not a base64 character"},
    {"DNSKEY", "256 3 8 AA==AA==", "after its '=' padding"},
    {"DNSKEY", "256 3", "algorithm is missing"},
    {"RRSIG", "A 5 3 86400 20031322173103 20030220173103 2642 example.com. AA==", "expiration"},
    {"RRSIG", "BOGUS 5 3 86400 20030322173103 20030220173103 2642 example.com. AA==", "type covered"},
    {"RRSIG", "A 5 3 86400 21070101000000 20030220173103 2642 example.com. AA==", "expiration"},
    {"NSEC", "next.example. A BOGUS", "'BOGUS' in the type list"},
    {"NSEC3", "1 1 12 aabbcc 2t7b4g4vsa5smi47k61mv5bv1a22boj A", "base32hex"},
    {"NSEC3", "1 1 12 aabbcc 2t7b4g4vsa5smi47k61mv5bv1a22bojw A", "not a base32hex"},
    {"NSEC3PARAM", "1 0 12", "salt is missing"},
    {"NSEC3PARAM", "1 0 12 abc", "odd number"},
    {"SVCB", "1 . port=70000", "port needs a number"},
    {"SVCB", "1 . port=53 port=54", "the key port is given twice"},
    {"SVCB", "1 . alpn=h2,,h3", "empty"},
    {"SVCB", "1 . no-default-alpn", "no-default-alpn comes without alpn"},
    {"SVCB", "1 . mandatory=port", "mandatory is missing"},
    {"SVCB", "1 . mandatory=mandatory port=1", "may not list mandatory"},
    {"SVCB", "1 . ipv4hint=1.2.3", "not an IPv4 address"},
    {"SVCB", "1 . ipv6hint=1.2.3.4", "not an IPv6 address"},
    {"SVCB", "1 . bogus=1", "not a parameter key"},
    {"SVCB", "1 . key65535", "not a parameter key"},
    {"SVCB", "1 . key01=1", "not a parameter key"},
    {"SVCB", "1 . no-default-alpn=x alpn=h2", "takes no value"},
    {"SVCB", "1 . ech", "ech needs"},
    {"LOC", "91 N 0 E 0", "latitude '91'"},
    {"LOC", "90 1 N 0 E 0", "beyond 90 degrees"},
    {"LOC", "10 60 N 0 E 0", "minutes"},
    {"LOC", "10 0 1.2345 N 0 E 0", "seconds"},
    {"LOC", "10 X 0 E 0", "latitude 'X' is not a number of minutes"},
    {"LOC", "10 N 0 0 0 0 0", "longitude needs degrees"},
    {"LOC", "10 N 181 E 0", "longitude '181'"},
    {"LOC", "10 N 0 E", "altitude is missing"},
    {"LOC", "10 N 0 E -100000.01", "altitude '-100000.01'"},
    {"LOC", "10 N 0 E 0 90000000.01m", "size '90000000.01m'"},
    {"LOC", "10 N 0 E 0 1 2 3 4", "'4' is one field too many"},
    {"TYPE1234", "0a000001", "generic form"},
    {"TYPE1234", "\\# 3 0a000001", "not the 3 its length says"},
    {"TYPE1234", "\\# 4 0a00000", "odd number"},
    {"TYPE1234", "\\#", "needs a length"},
    {"TYPE1234", "\\# 65536", "length"},
    {"A", "\\# 3 0a0000", "does not fit the layout"},
    {"A", "\\# 0", "does not fit the layout"},
    {"MX", "\\# 4 000a0461", "does not fit the layout"},
    {"NS", "\\# 2 c00c", "does not fit the layout"},
};

TEST(dns_rdata_bad)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t wire[DNS_RDATA_MAX];
        char err[256] = "";
        int n = parse(bad[i].type, bad[i].text, wire, sizeof wire, err, sizeof err);
        if (n >= 0 || !strstr(err, bad[i].want)) {
            fprintf(stderr, "    %s %s: rc %d, \"%s\", want \"%s\"\n", bad[i].type, bad[i].text,
                    n, err, bad[i].want);
            CHECK(n < 0 && strstr(err, bad[i].want));
        }
        CHECK(n < 0);
    }
}

TEST(dns_rdata_nospace)
{
    uint8_t wire[8];
    char err[64];
    CHECK_INT(parse("TXT", "\"0123456789\"", wire, sizeof wire, err, sizeof err), -ENOSPC);
    CHECK_INT(parse("AAAA", "::1", wire, sizeof wire, err, sizeof err), -ENOSPC);
}

/* Wire forms that do not fit their type print in the generic form. */
TEST(dns_rdata_malformed_wire)
{
    struct {
        uint16_t type;
        const char *wire;
        size_t len;
        const char *text;
    } v[] = {
        {DNS_TYPE_A, "\x01\x02\x03", 3, "\\# 3 010203"},
        {DNS_TYPE_MX, "\x00\x0a\x04mail", 7, "\\# 7 000A046D61696C"},
        {DNS_TYPE_TXT, "", 0, "\\# 0"},
        {DNS_TYPE_TXT, "\x05" "abc", 4, "\\# 4 05616263"},
        /* a bitmap window with a trailing zero octet is not canonical */
        {DNS_TYPE_NSEC, "\x00\x00\x02\x40\x00", 5, "\\# 5 0000024000"},
        /* SVCB keys out of order */
        {DNS_TYPE_SVCB, "\x00\x01\x00\x00\x00\x03\x00\x02\x00\x35\x00\x01\x00\x03\x02h2", 18,
         "\\# 18 000100000003000200350001000302683200"},
        {DNS_TYPE_CAA, "\x00\x00", 2, "\\# 2 0000"},
        /* LOC: a size of zero with an exponent; version 1 */
        {DNS_TYPE_LOC, "\x00\x05\x16\x13\x80\x00\x00\x00\x80\x00\x00\x00\x00\x98\x96\x80", 16,
         "\\# 16 000516138000000080000000009896" "80"},
        {DNS_TYPE_LOC, "\x01\x12\x16\x13\x80\x00\x00\x00\x80\x00\x00\x00\x00\x98\x96\x80", 16,
         "\\# 16 011216138000000080000000009896" "80"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct buf b = BUF_INIT;
        REQUIRE(dns_rdata_to_text(v[i].type, (const uint8_t *)v[i].wire, v[i].len, &b) == 0);
        CHECK_STR(buf_cstr(&b), v[i].text);
        buf_free(&b);
    }
}

TEST(dns_rdata_ttl_units)
{
    uint32_t v;
    CHECK(dns_ttl_from_text("3600", 4, &v) == 0 && v == 3600);
    CHECK(dns_ttl_from_text("1h30m", 5, &v) == 0 && v == 5400);
    CHECK(dns_ttl_from_text("1W", 2, &v) == 0 && v == 604800);
    CHECK(dns_ttl_from_text("2d1S", 4, &v) == 0 && v == 172801);
    CHECK(dns_ttl_from_text("4294967295", 10, &v) == 0 && v == 4294967295u);
    CHECK(dns_ttl_from_text("4294967296", 10, &v) < 0);
    CHECK(dns_ttl_from_text("8000w", 5, &v) < 0);
    CHECK(dns_ttl_from_text("1h30", 4, &v) < 0);
    CHECK(dns_ttl_from_text("h", 1, &v) < 0);
    CHECK(dns_ttl_from_text("", 0, &v) < 0);
    CHECK(dns_ttl_from_text("1y", 2, &v) < 0);
}
