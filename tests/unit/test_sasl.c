/* Unit tests for auth/sasl: strict base64 and the PLAIN mechanism. */
#include "test.h"

#include <string.h>

#include "auth/sasl.h"
#include "base/err.h"

static int dec(const char *s, unsigned char *out, size_t outlen)
{
    return sasl_b64_decode(s, strlen(s), out, outlen);
}

/* RFC 4648 section 10 test vectors, both directions. */
TEST(sasl_b64_rfc4648_vectors)
{
    static const char *const v[][2] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
        {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char enc[32];
        unsigned char raw[32];
        size_t rl = strlen(v[i][0]);
        CHECK_INT(sasl_b64_encode((const unsigned char *)v[i][0], rl, enc, sizeof enc),
                  strlen(v[i][1]));
        CHECK_STR(enc, v[i][1]);
        int n = dec(v[i][1], raw, sizeof raw);
        CHECK_INT(n, rl);
        CHECK(n >= 0 && memcmp(raw, v[i][0], rl) == 0);
    }
}

TEST(sasl_b64_alphabet)
{
    unsigned char all[48], back[48];
    char enc[65];
    /* 0x00 0x10 0x83 ... encodes to the whole alphabet in order. */
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    CHECK_INT(dec(alpha, all, sizeof all), 48);
    CHECK_INT(sasl_b64_encode(all, 48, enc, sizeof enc), 64);
    CHECK_STR(enc, alpha);
    for (int b = 0; b < 256; b++) {
        unsigned char one = (unsigned char)b;
        char e[8];
        REQUIRE(sasl_b64_encode(&one, 1, e, sizeof e) == 4);
        CHECK_INT(dec(e, back, sizeof back), 1);
        CHECK_INT(back[0], b);
    }
}

TEST(sasl_b64_rejects)
{
    unsigned char out[64];
    static const char *const bad[] = {
        "Zg",        /* no padding */
        "Zg=",       /* short padding */
        "Zm9",       /* length not a multiple of 4 */
        "Z===",      /* one character is not a byte */
        "====",
        "Zg==Zg==",  /* padding in the middle */
        "Z=g=",
        "Zh==",      /* non-zero unused bits (RFC 4648 section 3.5) */
        "Zm9=",
        "Zm-v",      /* base64url alphabet */
        "Zm_v",
        "Zm9 ",      /* whitespace */
        "Zm9v\r\n",
        " Zm9v",
        "Zm9\x80",
        "Zm\0v",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = sasl_b64_decode(bad[i], i == 15 ? 4 : strlen(bad[i]), out, sizeof out);
        if (r != OP_E_SYNTAX)
            fprintf(stderr, "    accepted bad input #%zu\n", i);
        CHECK_INT(r, OP_E_SYNTAX);
    }
}

TEST(sasl_b64_limits)
{
    unsigned char out[6];
    char enc[9];
    CHECK_INT(dec("Zm9vYmFy", out, 6), 6);
    CHECK_INT(dec("Zm9vYmFy", out, 5), OP_E_SYNTAX);
    CHECK_INT(dec("Zm9vYg==", out, 4), 4);
    CHECK_INT(dec("Zm9vYg==", out, 3), OP_E_SYNTAX);
    CHECK_INT(sasl_b64_encode((const unsigned char *)"foobar", 6, enc, 9), 8);
    CHECK_INT(sasl_b64_encode((const unsigned char *)"foobar", 6, enc, 8), -ENOSPC);
    CHECK_INT(sasl_b64_encode((const unsigned char *)"", 0, enc, 1), 0);
    CHECK_INT(sasl_b64_encode((const unsigned char *)"", 0, enc, 0), -ENOSPC);
}

/* Encode raw (length n) and run the PLAIN decoder on it. */
static int plain(const void *raw, size_t n, char *z, char *c, char *p)
{
    char enc[2048];
    int el = sasl_b64_encode(raw, n, enc, sizeof enc);
    if (el < 0)
        return el;
    return sasl_plain_decode(enc, (size_t)el, z, c, p);
}

TEST(sasl_plain_ok)
{
    char z[SASL_FIELD_MAX], c[SASL_FIELD_MAX], p[SASL_FIELD_MAX];
    /* RFC 4616 section 4 examples (the password is the example's). */
    REQUIRE(plain("\0tim\0tanstaaftanstaaf", 21, z, c, p) == 0);
    CHECK_STR(z, "");
    CHECK_STR(c, "tim");
    CHECK(strcmp(p, "tanstaaftanstaaf") == 0);
    REQUIRE(plain("Ursel\0Kurt\0xipj3plmq", 20, z, c, p) == 0);
    CHECK_STR(z, "Ursel");
    CHECK_STR(c, "Kurt");
    CHECK(strcmp(p, "xipj3plmq") == 0);
    /* The usual form sent by mail clients. */
    const char *b64 = "AGJvYkBleGFtcGxlLnRlc3QAc2VjcmV0";  /* \0bob@example.test\0secret */
    REQUIRE(sasl_plain_decode(b64, strlen(b64), z, c, p) == 0);
    CHECK_STR(c, "bob@example.test");
    CHECK(strcmp(p, "secret") == 0);
    /* UTF-8 in every field. */
    REQUIRE(plain("\xc3\xa9\0\xe2\x82\xac\0\xf0\x9f\x94\x91", 11, z, c, p) == 0);
    CHECK_STR(z, "\xc3\xa9");
    CHECK_STR(c, "\xe2\x82\xac");
}

TEST(sasl_plain_lengths)
{
    char z[SASL_FIELD_MAX], c[SASL_FIELD_MAX], p[SASL_FIELD_MAX];
    unsigned char m[1024];
    /* 255 octets in each field is the most RFC 4616 requires and we take. */
    memset(m, 'a', 255);
    m[255] = 0;
    memset(m + 256, 'b', 255);
    m[511] = 0;
    memset(m + 512, 'c', 255);
    REQUIRE(plain(m, 767, z, c, p) == 0);
    CHECK_INT(strlen(z), 255);
    CHECK_INT(strlen(c), 255);
    CHECK_INT(strlen(p), 255);
    /* 256 in any one of them is refused. */
    memset(m, 'a', 256);
    m[256] = 0;
    memcpy(m + 257, "u\0p", 3);
    CHECK_INT(plain(m, 260, z, c, p), OP_E_SYNTAX);
    memcpy(m, "\0", 1);
    memset(m + 1, 'b', 256);
    memcpy(m + 257, "\0p", 2);
    CHECK_INT(plain(m, 259, z, c, p), OP_E_SYNTAX);
    memcpy(m, "\0u\0", 3);
    memset(m + 3, 'c', 256);
    CHECK_INT(plain(m, 259, z, c, p), OP_E_SYNTAX);
    CHECK_STR(c, "");
    CHECK_STR(p, "");
}

TEST(sasl_plain_rejects)
{
    char z[SASL_FIELD_MAX], c[SASL_FIELD_MAX], p[SASL_FIELD_MAX];
    CHECK_INT(plain("", 0, z, c, p), OP_E_SYNTAX);
    CHECK_INT(plain("user", 4, z, c, p), OP_E_SYNTAX);          /* no NUL */
    CHECK_INT(plain("user\0pw", 7, z, c, p), OP_E_SYNTAX);      /* one NUL */
    CHECK_INT(plain("\0user\0", 6, z, c, p), OP_E_SYNTAX);      /* empty passwd */
    CHECK_INT(plain("\0\0pw", 4, z, c, p), OP_E_SYNTAX);        /* empty authcid */
    CHECK_INT(plain("\0u\0p\0w", 6, z, c, p), OP_E_SYNTAX);     /* NUL in passwd */
    CHECK_INT(plain("\0u\0p\xc0\xaf", 6, z, c, p), OP_E_SYNTAX); /* overlong UTF-8 */
    CHECK_INT(plain("\0u\0p\xed\xa0\x80", 7, z, c, p), OP_E_SYNTAX); /* surrogate */
    CHECK_INT(plain("\0u\xff\0p", 5, z, c, p), OP_E_SYNTAX);
    CHECK_INT(plain("\0u\0p\xe2\x82", 6, z, c, p), OP_E_SYNTAX); /* cut short */
    CHECK_INT(plain("\0u\0\xf4\x90\x80\x80", 7, z, c, p), OP_E_SYNTAX); /* > U+10FFFF */
    /* Not base64 at all. */
    CHECK_INT(sasl_plain_decode("AHUAcA", 6, z, c, p), OP_E_SYNTAX);
    CHECK_INT(sasl_plain_decode("=", 1, z, c, p), OP_E_SYNTAX);
    CHECK_STR(z, "");
    CHECK_STR(c, "");
    CHECK_STR(p, "");
}
