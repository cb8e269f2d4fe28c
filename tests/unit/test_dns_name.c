/* Unit tests for src/dns/name.c and src/dns/consts.c: names in text and
 * wire form, compression pointers, comparison; type and class mnemonics. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/name.h"

/* Parse absolute or relative (origin NULL) text; returns the rc. */
static int from(struct dns_name *n, const char *text)
{
    return dns_name_from_text(n, text, strlen(text), NULL);
}

/* The text form of a name, in a static buffer. */
static const char *text(const struct dns_name *n)
{
    static char buf[DNS_NAME_MAXTEXT];
    if (dns_name_to_text(n, buf, sizeof buf) < 0)
        return "(error)";
    return buf;
}

static bool wire_is(const struct dns_name *n, const char *wire, size_t len)
{
    return n->len == len && memcmp(n->wire, wire, len) == 0;
}

/* n copies of c, NUL-terminated, in buf. */
static char *rep(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- presentation text -------------------------------------------------- */

TEST(dns_name_text_basic)
{
    struct dns_name n, origin;
    REQUIRE(from(&n, "www.example.com.") == 0);
    CHECK(wire_is(&n, "\3www\7example\3com", 17));
    CHECK_STR(text(&n), "www.example.com.");
    CHECK_INT(dns_name_labels(&n), 3);

    /* relative names take the origin, or the root without one */
    REQUIRE(from(&origin, "example.com.") == 0);
    REQUIRE(dns_name_from_text(&n, "www", 3, &origin) == 0);
    CHECK_STR(text(&n), "www.example.com.");
    REQUIRE(dns_name_from_text(&n, "a.b", 3, &origin) == 0);
    CHECK_STR(text(&n), "a.b.example.com.");
    REQUIRE(dns_name_from_text(&n, "www.", 4, &origin) == 0);
    CHECK_STR(text(&n), "www.");
    REQUIRE(from(&n, "www") == 0);
    CHECK_STR(text(&n), "www.");
    /* the output may be the origin itself */
    n = origin;
    REQUIRE(dns_name_from_text(&n, "mail", 4, &n) == 0);
    CHECK_STR(text(&n), "mail.example.com.");

    /* the root, and "." ignores the origin */
    REQUIRE(dns_name_from_text(&n, ".", 1, &origin) == 0);
    CHECK(wire_is(&n, "", 1));
    CHECK_STR(text(&n), ".");
    CHECK_INT(dns_name_labels(&n), 0);

    /* case is kept */
    REQUIRE(from(&n, "WwW.Example.COM.") == 0);
    CHECK_STR(text(&n), "WwW.Example.COM.");
    /* "@" is an ordinary character here (the zone parser handles it) */
    REQUIRE(from(&n, "@") == 0);
    CHECK(wire_is(&n, "\1@", 3));
    CHECK_STR(text(&n), "\\@.");
}

TEST(dns_name_text_escapes)
{
    struct dns_name n;
    /* "\." is a dot inside a label, "\\" a backslash, "\DDD" an octet */
    REQUIRE(from(&n, "a\\.b.c.") == 0);
    CHECK(wire_is(&n, "\3a.b\1c", 7));
    CHECK_STR(text(&n), "a\\.b.c.");
    REQUIRE(from(&n, "\\065\\066c.") == 0);
    CHECK(wire_is(&n, "\3ABc", 5));
    CHECK_STR(text(&n), "ABc.");
    REQUIRE(from(&n, "\\\\.") == 0);
    CHECK(wire_is(&n, "\1\\", 3));
    REQUIRE(from(&n, "\\000\\255.") == 0);
    CHECK(wire_is(&n, "\2\0\377", 4));
    CHECK_STR(text(&n), "\\000\\255.");
    REQUIRE(from(&n, "\\x") == 0);                 /* \X for a plain X */
    CHECK(wire_is(&n, "\1x", 3));

    /* every character dig escapes, and non-printables as \DDD */
    const char special[] = ".\\\"();@$ \x7f\x01~!";
    struct dns_name m;
    m.wire[0] = (uint8_t)(sizeof special - 1);
    memcpy(m.wire + 1, special, sizeof special - 1);
    m.wire[sizeof special] = 0;
    m.len = (uint8_t)(sizeof special + 1);
    CHECK_STR(text(&m), "\\.\\\\\\\"\\(\\)\\;\\@\\$\\032\\127\\001~!.");
    /* and back */
    REQUIRE(from(&n, text(&m)) == 0);
    CHECK(wire_is(&n, (const char *)m.wire, m.len));
}

TEST(dns_name_text_errors)
{
    struct dns_name n;
    static const char *const bad[] = {
        "", "..", ".a", "a..b", "a..", "..a", "a\\", "\\1", "\\12", "\\12.",
        "\\256", "\\999", "\\2a5", "\\1a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = from(&n, bad[i]);
        if (r != OP_E_SYNTAX)
            fprintf(stderr, "    \"%s\": %d\n", bad[i], r);
        CHECK_INT(r, OP_E_SYNTAX);
    }
    /* NUL bytes inside the given length are octets like any other */
    REQUIRE(dns_name_from_text(&n, "a\0b", 3, NULL) == 0);
    CHECK(wire_is(&n, "\3a\0b", 5));
}

TEST(dns_name_text_limits)
{
    char l63[64], l62[63], l61[62], l64[65], t[600];
    struct dns_name n, origin;
    rep(l63, 'a', 63);
    rep(l62, 'b', 62);
    rep(l61, 'c', 61);
    rep(l64, 'd', 64);

    /* a label of 63 octets is fine, 64 is not (RFC 1035 section 2.3.4) */
    snprintf(t, sizeof t, "%s.", l63);
    CHECK_INT(from(&n, t), 0);
    CHECK_INT(n.len, 65);
    snprintf(t, sizeof t, "%s.", l64);
    CHECK_INT(from(&n, t), OP_E_TOOLONG);
    /* 63 octets written as escapes still count as 63 */
    char esc[300] = "";
    for (int i = 0; i < 63; i++)
        strcat(esc, "\\065");
    CHECK_INT(from(&n, esc), 0);
    strcat(esc, "A");
    CHECK_INT(from(&n, esc), OP_E_TOOLONG);

    /* 255 octets in all is fine: 3 * (1 + 63) + (1 + 61) + 1 */
    snprintf(t, sizeof t, "%s.%s.%s.%s.", l63, l63, l63, l61);
    REQUIRE(from(&n, t) == 0);
    CHECK_INT(n.len, 255);
    CHECK_STR(text(&n), t);
    CHECK_INT(dns_name_labels(&n), 4);
    /* 256 is not */
    snprintf(t, sizeof t, "%s.%s.%s.%s.", l63, l63, l63, l62);
    CHECK_INT(from(&n, t), OP_E_TOOLONG);
    /* nor when the origin makes it too long: 2 * 64 + 1 + (2 * 64) = 257 */
    snprintf(t, sizeof t, "%s.%s.", l63, l63);
    REQUIRE(from(&origin, t) == 0);
    CHECK_INT(dns_name_from_text(&n, t, strlen(t) - 1, &origin), OP_E_TOOLONG);
    /* ...but exactly 255 with the origin is fine */
    snprintf(t, sizeof t, "%s.%s", l63, l61);
    CHECK_INT(dns_name_from_text(&n, t, strlen(t), &origin), 0);
    CHECK_INT(n.len, 255);

    /* 127 one-octet labels: the most labels a name can have */
    char many[300] = "";
    for (int i = 0; i < 127; i++)
        strcat(many, "x.");
    REQUIRE(from(&n, many) == 0);
    CHECK_INT(n.len, 255);
    CHECK_INT(dns_name_labels(&n), 127);
    strcat(many, "x.");
    CHECK_INT(from(&n, many), OP_E_TOOLONG);
}

TEST(dns_name_text_output_buffer)
{
    struct dns_name n;
    char buf[DNS_NAME_MAXTEXT];
    /* the longest text there is: 254 label octets, all escaped */
    n.len = 0;
    for (int l = 0; l < 4; l++) {
        int size = l < 3 ? 63 : 61;
        n.wire[n.len++] = (uint8_t)size;
        for (int i = 0; i < size; i++)
            n.wire[n.len++] = 0xff;
    }
    n.wire[n.len++] = 0;
    CHECK_INT(n.len, 255);
    int len = dns_name_to_text(&n, buf, sizeof buf);
    CHECK_INT(len, 250 * 4 + 4);
    CHECK_INT(strlen(buf), (size_t)len);
    struct dns_name back;
    REQUIRE(from(&back, buf) == 0);
    CHECK(wire_is(&back, (const char *)n.wire, n.len));

    /* the buffer must hold the text and its NUL, exactly */
    REQUIRE(from(&n, "ab.c.") == 0);
    CHECK_INT(dns_name_to_text(&n, buf, 6), 5);
    CHECK_STR(buf, "ab.c.");
    CHECK_INT(dns_name_to_text(&n, buf, 5), -ENOSPC);
    dns_name_set_root(&n);
    CHECK_INT(dns_name_to_text(&n, buf, 2), 1);
    CHECK_INT(dns_name_to_text(&n, buf, 1), -ENOSPC);
}

/* ---- comparing ------------------------------------------------------------ */

TEST(dns_name_canonical_order)
{
    /* RFC 4034 section 6.1, in canonical order */
    static const char *const sorted[] = {
        "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
        "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
        "\\200.z.example.",
    };
    enum { N = sizeof sorted / sizeof sorted[0] };
    struct dns_name names[N];
    for (int i = 0; i < N; i++)
        REQUIRE(from(&names[i], sorted[i]) == 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            int r = dns_name_compare(&names[i], &names[j]);
            if ((i < j && r >= 0) || (i > j && r <= 0) || (i == j && r != 0)) {
                fprintf(stderr, "    %s vs %s: %d\n", sorted[i], sorted[j], r);
                CHECK(0);
            }
        }
    }
    /* case does not matter, a shorter label sorts before a longer one */
    struct dns_name a, b;
    REQUIRE(from(&a, "Z.A.Example.") == 0);
    REQUIRE(from(&b, "z.a.example.") == 0);
    CHECK_INT(dns_name_compare(&a, &b), 0);
    CHECK(dns_name_equal(&a, &b));
    REQUIRE(from(&a, "ab.") == 0);
    REQUIRE(from(&b, "abc.") == 0);
    CHECK(dns_name_compare(&a, &b) < 0);
    CHECK(!dns_name_equal(&a, &b));
    /* the root comes first */
    dns_name_set_root(&a);
    CHECK(dns_name_compare(&a, &b) < 0);
    CHECK(dns_name_compare(&b, &a) > 0);
    /* only ASCII letters fold: 0xC0 and 0xE0 differ */
    REQUIRE(from(&a, "\\192.") == 0);
    REQUIRE(from(&b, "\\224.") == 0);
    CHECK(!dns_name_equal(&a, &b));
    CHECK(dns_name_compare(&a, &b) < 0);
}

TEST(dns_name_subdomain_and_lower)
{
    struct dns_name n, p, root;
    dns_name_set_root(&root);
    REQUIRE(from(&n, "www.Example.COM.") == 0);
    REQUIRE(from(&p, "example.com.") == 0);
    CHECK(dns_name_is_subdomain(&n, &p));
    CHECK(dns_name_is_subdomain(&p, &p));
    CHECK(dns_name_is_subdomain(&n, &root));
    CHECK(dns_name_is_subdomain(&root, &root));
    CHECK(!dns_name_is_subdomain(&p, &n));
    CHECK(!dns_name_is_subdomain(&root, &p));
    REQUIRE(from(&p, "ample.com.") == 0);           /* not a label boundary */
    CHECK(!dns_name_is_subdomain(&n, &p));
    REQUIRE(from(&p, "www.example.org.") == 0);
    CHECK(!dns_name_is_subdomain(&n, &p));

    REQUIRE(from(&n, "MiXeD\\200.CASE.") == 0);
    dns_name_lower(&n);
    CHECK_STR(text(&n), "mixed\\200.case.");
}

/* ---- wire form and compression pointers ------------------------------------ */

/*
 * RFC 1035 section 4.1.4's example: F.ISI.ARPA at offset 20, FOO.F.ISI.ARPA
 * at 40 pointing to 20, ARPA at 64 as a pointer to 26, the root at 92.
 */
static void rfc1035_example(uint8_t msg[100])
{
    memset(msg, 0xEE, 100);
    memcpy(msg + 20, "\1F\3ISI\4ARPA\0", 12);
    memcpy(msg + 40, "\3FOO\xC0\x14", 6);
    memcpy(msg + 64, "\xC0\x1A", 2);
    msg[92] = 0;
}

TEST(dns_name_read_rfc1035_example)
{
    uint8_t msg[100];
    struct dns_name n;
    rfc1035_example(msg);
    CHECK_INT(dns_name_read(msg, 100, 20, &n), 12);
    CHECK_STR(text(&n), "F.ISI.ARPA.");
    CHECK_INT(dns_name_read(msg, 100, 40, &n), 6);
    CHECK_STR(text(&n), "FOO.F.ISI.ARPA.");
    CHECK_INT(dns_name_read(msg, 100, 64, &n), 2);
    CHECK_STR(text(&n), "ARPA.");
    CHECK_INT(dns_name_read(msg, 100, 92, &n), 1);
    CHECK_STR(text(&n), ".");
    /* measuring only */
    CHECK_INT(dns_name_read(msg, 100, 40, NULL), 6);
    /* the flat reader refuses the pointer but reads the plain name */
    CHECK_INT(dns_name_from_wire(&n, msg + 40, 60), OP_E_SYNTAX);
    CHECK_INT(dns_name_from_wire(&n, msg + 20, 12), 12);
    CHECK_INT(dns_name_from_wire(&n, msg + 20, 11), -EBADMSG);
}

TEST(dns_name_read_malformed)
{
    uint8_t m[64];
    struct dns_name n;

#define MSG(...) do { const uint8_t b_[] = {__VA_ARGS__}; memset(m, 0, sizeof m); \
                      memcpy(m + 12, b_, sizeof b_); mlen = 12 + sizeof b_; } while (0)
    size_t mlen;

    /* a pointer to itself: a loop of one */
    MSG(0xC0, 12);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    /* two names pointing at each other: a loop of two, from either end */
    MSG(0xC0, 14, 0xC0, 12);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    CHECK_INT(dns_name_read(m, mlen, 14, &n), OP_E_SYNTAX);
    /* a forward pointer, even to a good name */
    MSG(0xC0, 14, 0x01, 'a', 0x00);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    CHECK_INT(dns_name_read(m, mlen, 14, &n), 3);
    /* a pointer into the name's own labels, at their start or middle */
    MSG(0x01, 'a', 0xC0, 12);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    MSG(0x03, 'a', 0x00, 'b', 0xC0, 14);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    /* a second pointer must go below the first one's target */
    MSG(0x01, 'a', 0xC0, 16, 0x01, 'b', 0xC0, 14, 0x01, 'c', 0xC0, 16);
    CHECK_INT(dns_name_read(m, mlen, 20, &n), OP_E_SYNTAX);
    /* a pointer into the header */
    MSG(0xC0, 0x02);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    /* reserved label types 0x40 and 0x80 */
    MSG(0x41, 'a', 0x00);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    MSG(0x81, 'a', 0x00);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    MSG(0x01, 'a', 0x40);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), OP_E_SYNTAX);
    /* truncated: a label past the end, no root label, half a pointer */
    MSG(0x05, 'a', 'b');
    CHECK_INT(dns_name_read(m, mlen, 12, &n), -EBADMSG);
    MSG(0x01, 'a');
    CHECK_INT(dns_name_read(m, mlen, 12, &n), -EBADMSG);
    MSG(0x01, 'a', 0xC0);
    CHECK_INT(dns_name_read(m, mlen, 12, &n), -EBADMSG);
    CHECK_INT(dns_name_read(m, mlen, mlen, &n), -EBADMSG);
    CHECK_INT(dns_name_read(m, mlen, mlen + 5, &n), -EBADMSG);
    /* a good name with a good pointer, for contrast */
    MSG(0x01, 'a', 0x00, 0x01, 'b', 0xC0, 12);
    CHECK_INT(dns_name_read(m, mlen, 15, &n), 4);
    CHECK_STR(text(&n), "b.a.");
#undef MSG
}

TEST(dns_name_read_too_long_via_pointers)
{
    /* Names of one 63-octet label each, each pointing to the one before:
     * the fourth is 4 * 64 + 1 = 257 octets once decompressed. */
    uint8_t m[400];
    memset(m, 0, sizeof m);
    size_t pos = 12, start[5];
    for (int i = 0; i < 5; i++) {
        start[i] = pos;
        m[pos++] = 63;
        memset(m + pos, 'a' + i, 63);
        pos += 63;
        if (i == 0) {
            m[pos++] = 0;
        } else {
            m[pos++] = 0xC0;
            m[pos++] = (uint8_t)start[i - 1];
        }
    }
    struct dns_name n;
    CHECK_INT(dns_name_read(m, pos, start[0], &n), 65);
    CHECK_INT(dns_name_read(m, pos, start[2], &n), 66);
    CHECK_INT(n.len, 193);
    CHECK_INT(dns_name_read(m, pos, start[3], &n), OP_E_TOOLONG);
    CHECK_INT(dns_name_read(m, pos, start[4], &n), OP_E_TOOLONG);
}

TEST(dns_name_read_pointer_chain)
{
    /* The root at 12, then pointers each to the one before: reading the
     * k-th pointer follows k pointers. DNS_NAME_MAXPTRS are allowed. */
    uint8_t m[12 + 1 + 2 * 200];
    memset(m, 0, sizeof m);
    size_t pos = 13;
    for (int i = 0; i < 200; i++) {
        size_t target = i == 0 ? 12 : pos - 2;
        m[pos] = (uint8_t)(0xC0 | target >> 8);
        m[pos + 1] = (uint8_t)target;
        pos += 2;
    }
    struct dns_name n;
    size_t last_ok = 13 + 2 * (DNS_NAME_MAXPTRS - 1);
    CHECK_INT(dns_name_read(m, sizeof m, last_ok, &n), 2);
    CHECK_INT(n.len, 1);
    CHECK_INT(dns_name_read(m, sizeof m, last_ok + 2, &n), OP_E_SYNTAX);
}

/* ---- type and class mnemonics (consts.c) ------------------------------------ */

TEST(dns_consts_mnemonics)
{
    char buf[DNS_MNEMONIC_MAX];
    uint16_t v;
    CHECK_STR(dns_type_to_text(DNS_TYPE_A, buf), "A");
    CHECK_STR(dns_type_to_text(DNS_TYPE_NSEC3PARAM, buf), "NSEC3PARAM");
    CHECK_STR(dns_type_to_text(DNS_TYPE_HTTPS, buf), "HTTPS");
    CHECK_STR(dns_type_to_text(DNS_TYPE_CAA, buf), "CAA");
    CHECK_STR(dns_type_to_text(1234, buf), "TYPE1234");
    CHECK_STR(dns_type_to_text(65535, buf), "TYPE65535");
    CHECK(dns_type_name(1234) == NULL);
    CHECK_STR(dns_class_to_text(DNS_CLASS_IN, buf), "IN");
    CHECK_STR(dns_class_to_text(DNS_CLASS_CH, buf), "CH");
    CHECK_STR(dns_class_to_text(5, buf), "CLASS5");
    CHECK_STR(dns_rcode_to_text(DNS_RCODE_BADVERS, buf), "BADVERS");
    CHECK_STR(dns_rcode_to_text(DNS_RCODE_NXDOMAIN, buf), "NXDOMAIN");
    CHECK_STR(dns_rcode_to_text(4095, buf), "RCODE4095");
    CHECK_STR(dns_opcode_to_text(DNS_OPCODE_NOTIFY, buf), "NOTIFY");
    CHECK_STR(dns_opcode_to_text(15, buf), "OPCODE15");

    /* every mnemonic reads back as its number */
    for (uint32_t t = 0; t <= 65535; t++) {
        const char *s = dns_type_to_text((uint16_t)t, buf);
        if (dns_type_from_text(s, strlen(s), &v) != 0 || v != t) {
            fprintf(stderr, "    type %u (%s)\n", t, s);
            CHECK(0);
            break;
        }
    }
    CHECK(dns_type_from_text("aaaa", 4, &v) == 0 && v == DNS_TYPE_AAAA);
    CHECK(dns_type_from_text("NSAP-PTR", 8, &v) == 0 && v == 23);
    CHECK(dns_type_from_text("TYPE1", 5, &v) == 0 && v == DNS_TYPE_A);
    CHECK(dns_type_from_text("type00028", 9, &v) == 0 && v == DNS_TYPE_AAAA);
    CHECK_INT(dns_type_from_text("TYPE65536", 9, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("TYPE", 4, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("TYPE-1", 6, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("TYPE123456", 10, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("AA", 2, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("AAAAA", 5, &v), OP_E_SYNTAX);
    CHECK_INT(dns_type_from_text("", 0, &v), OP_E_SYNTAX);
    CHECK(dns_class_from_text("in", 2, &v) == 0 && v == DNS_CLASS_IN);
    CHECK(dns_class_from_text("CLASS5", 6, &v) == 0 && v == 5);
    CHECK(dns_class_from_text("ANY", 3, &v) == 0 && v == DNS_CLASS_ANY);
    CHECK_INT(dns_class_from_text("TYPE1", 5, &v), OP_E_SYNTAX);
    CHECK_INT(dns_class_from_text("CHAOS", 5, &v), OP_E_SYNTAX);

    CHECK(dns_type_is_meta(DNS_TYPE_OPT));
    CHECK(dns_type_is_meta(DNS_TYPE_AXFR));
    CHECK(dns_type_is_meta(DNS_TYPE_ANY));
    CHECK(!dns_type_is_meta(DNS_TYPE_CAA));
    CHECK(!dns_type_is_meta(DNS_TYPE_A));
}
