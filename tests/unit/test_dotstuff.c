/* Unit tests for src/mail/dotstuff.c: the one dot-stuffer of POP3's RETR and
 * TOP (whose byte-exact output the first table pins) and of the SMTP
 * client's DATA. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/util.h"
#include "mail/dotstuff.h"

/* ---- the byte-stuffer ----------------------------------------------------- */

/* Run src through a stuffer: its first split octets in one chunk, the rest
 * in chunks of step octets (0: one chunk). top < 0 means whole-message
 * mode. Returns a malloc'ed string. */
static char *stuff(const char *src, size_t len, long top, size_t split, size_t step, bool *done)
{
    struct dotstuff s;
    struct buf out = BUF_INIT;
    if (top < 0)
        dotstuff_init(&s);
    else
        dotstuff_init_top(&s, (uint32_t)top);
    if (dotstuff_buf(&s, &out, src, split) < 0)
        abort();
    for (size_t i = split; i < len;) {
        size_t n = step && step < len - i ? step : len - i;
        if (dotstuff_buf(&s, &out, src + i, n) < 0)
            abort();
        i += n;
    }
    if (done)
        *done = dotstuff_done(&s);
    if (dotstuff_end_buf(&s, &out) < 0)
        abort();
    char *r = strdup(buf_cstr(&out));
    buf_free(&out);
    if (!r)
        abort();
    return r;
}

struct stuff_case {
    const char *in;
    long top;                 /* -1: RETR */
    const char *want;
};

static const struct stuff_case stuff_cases[] = {
    {"", -1, ".\r\n"},
    {"a", -1, "a\r\n.\r\n"},
    {"a\n", -1, "a\r\n.\r\n"},
    {"a\r\n", -1, "a\r\n.\r\n"},
    {"a\nb\n", -1, "a\r\nb\r\n.\r\n"},
    {"a\r\nb\nc", -1, "a\r\nb\r\nc\r\n.\r\n"},
    {".", -1, "..\r\n.\r\n"},
    {".\n", -1, "..\r\n.\r\n"},
    {".hidden\n", -1, "..hidden\r\n.\r\n"},
    {"a\n.\nb\n", -1, "a\r\n..\r\nb\r\n.\r\n"},
    {"a\r\n..\r\n", -1, "a\r\n...\r\n.\r\n"},
    {"a.b\n.c.\n", -1, "a.b\r\n..c.\r\n.\r\n"},
    {"\n", -1, "\r\n.\r\n"},
    {"\n\n", -1, "\r\n\r\n.\r\n"},
    {"a\rb\n", -1, "a\rb\r\n.\r\n"},                /* bare CR kept */
    {"a\r.b\n", -1, "a\r.b\r\n.\r\n"},              /* not a line start */
    {"a\r", -1, "a\r\r\n.\r\n"},                    /* bare CR at the end */
    {"a\r\r\n", -1, "a\r\r\n.\r\n"},
    {"\r\n.\r\n", -1, "\r\n..\r\n.\r\n"},

    /* TOP */
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, "H: 1\r\nH: 2\r\n\r\n.\r\n"},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 2, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n"},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 3, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 99, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"},
    {"H: 1\r\n\r\n.b1\r\nb2", 1, "H: 1\r\n\r\n..b1\r\n.\r\n"},
    {"H: 1\r\n\nb1\nb2", 5, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"},   /* mixed blank line */
    {"H: 1\n\r\nb1\nb2", 1, "H: 1\r\n\r\nb1\r\n.\r\n"},
    {"H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n.\r\n"},                /* no body at all */
    {"", 0, ".\r\n"},
    {"\nbody\nmore\n", 1, "\r\nbody\r\n.\r\n"},                /* no headers */
    {"H: a\r\n\r\n\r\nx\n", 1, "H: a\r\n\r\n\r\n.\r\n"},      /* empty body line */
    {"H: a\r\r\n\r\nx\n", 0, "H: a\r\r\n\r\n.\r\n"},          /* CR CR LF is not blank */
};

static void check_stuff_case(const struct stuff_case *c, size_t inlen)
{
    char *one = stuff(c->in, inlen, c->top, inlen, 0, NULL);
    if (inlen == strlen(c->in)) {
        if (strcmp(one, c->want) != 0) {
            fprintf(stderr, "    stuffing case %zu gave a different result\n",
                    (size_t)(c - stuff_cases));
            test_fail(__FILE__, __LINE__, "stuff case");
        }
    }
    /* Every two-chunk split and byte-by-byte feeding give the same. */
    for (size_t k = 0; k <= inlen; k++) {
        char *two = stuff(c->in, inlen, c->top, k, 0, NULL);
        if (strcmp(one, two) != 0) {
            fprintf(stderr, "    stuffing case %zu split at %zu differs\n",
                    (size_t)(c - stuff_cases), k);
            test_fail(__FILE__, __LINE__, "split");
        }
        free(two);
    }
    char *bytes = stuff(c->in, inlen, c->top, 0, 1, NULL);
    CHECK_STR(bytes, one);
    free(bytes);
    free(one);
}

TEST(dotstuff_table)
{
    for (size_t i = 0; i < ARRAY_LEN(stuff_cases); i++)
        check_stuff_case(&stuff_cases[i], strlen(stuff_cases[i].in));
}

TEST(dotstuff_binary_bytes)
{
    /* NUL and high bytes pass through; only line ends and dots change. */
    const char in[] = "x\0y\n.\0\n\xff\r\n";
    size_t inlen = sizeof in - 1;
    struct dotstuff s;
    struct buf out = BUF_INIT;
    dotstuff_init(&s);
    REQUIRE(dotstuff_buf(&s, &out, in, inlen) == 0);
    REQUIRE(dotstuff_end_buf(&s, &out) == 0);
    const char want[] = "x\0y\r\n..\0\r\n\xff\r\n.\r\n";
    CHECK_INT(buf_len(&out), sizeof want - 1);
    CHECK(memcmp(buf_ptr(&out), want, sizeof want - 1) == 0);
    buf_free(&out);
}

TEST(dotstuff_done_flag)
{
    const char msg[] = "Subject: x\n\nline1\nline2\nline3\n";
    bool done = true;
    char *r = stuff(msg, sizeof msg - 1, -1, sizeof msg - 1, 0, &done);
    CHECK(!done);                                  /* RETR: only EOF ends it */
    free(r);
    r = stuff(msg, sizeof msg - 1, 1, sizeof msg - 1, 0, &done);
    CHECK(done);
    CHECK_STR(r, "Subject: x\r\n\r\nline1\r\n.\r\n");
    free(r);
    r = stuff(msg, sizeof msg - 1, 3, sizeof msg - 1, 0, &done);
    CHECK(done);                                   /* the last line ends the count */
    free(r);
    r = stuff(msg, sizeof msg - 1, 4, sizeof msg - 1, 0, &done);
    CHECK(!done);                                  /* asked for more than there is */
    free(r);

    /* Once done, further input is ignored and nothing more is written. */
    struct dotstuff s;
    struct buf out = BUF_INIT;
    dotstuff_init_top(&s, 0);
    REQUIRE(dotstuff_buf(&s, &out, "A: b\n\n", 6) == 0);
    CHECK(dotstuff_done(&s));
    size_t n = buf_len(&out);
    REQUIRE(dotstuff_buf(&s, &out, "more\n", 5) == 0);
    CHECK_INT(buf_len(&out), n);
    REQUIRE(dotstuff_end_buf(&s, &out) == 0);
    CHECK_STR(buf_cstr(&out), "A: b\r\n\r\n.\r\n");
    buf_free(&out);
}

TEST(dotstuff_large_message)
{
    /* A message far larger than a chunk, with dots and both line ends,
     * fed in odd-sized chunks; compared with the one-chunk result. */
    struct buf msg = BUF_INIT;
    for (int i = 0; i < 5000; i++)
        REQUIRE(buf_printf(&msg, i % 3 ? ".line %d\n" : "line %d\r\n", i) == 0);
    size_t len = buf_len(&msg);
    char *one = stuff(buf_ptr(&msg), len, -1, len, 0, NULL);
    struct dotstuff s;
    struct buf out = BUF_INIT;
    dotstuff_init(&s);
    for (size_t off = 0, step = 1; off < len; off += step, step = step * 7 % 1031 + 1) {
        size_t n = len - off < step ? len - off : step;
        REQUIRE(dotstuff_buf(&s, &out, buf_ptr(&msg) + off, n) == 0);
    }
    REQUIRE(dotstuff_end_buf(&s, &out) == 0);
    CHECK_STR(buf_cstr(&out), one);
    /* Every line that starts with a dot starts with two, but the last. */
    const char *p = one;
    int lines = 0;
    while (*p) {
        const char *e = strstr(p, "\r\n");
        REQUIRE(e);
        if (e[2] != '\0')
            CHECK(p[0] != '.' || p[1] == '.');
        p = e + 2;
        lines++;
    }
    CHECK_INT(lines, 5001);
    free(one);
    buf_free(&out);
    buf_free(&msg);
}

/* The raw-buffer form the SMTP client uses: the same output as the buffer
 * form, whatever the block size (RFC 5321 section 4.5.2). */
static const char *stuff_raw(const char *in, size_t chunk, char *out)
{
    struct dotstuff s;
    dotstuff_init(&s);
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += chunk)
        o += dotstuff(&s, in + i, n - i < chunk ? n - i : chunk, out + o);
    o += dotstuff_end(&s, out + o);
    out[o] = '\0';
    return out;
}

TEST(dotstuff_smtp_data)
{
    static const struct { const char *in, *out; } cases[] = {
        {"", ".\r\n"},
        {"a", "a\r\n.\r\n"},
        {"a\r\n", "a\r\n.\r\n"},
        {"a\n", "a\r\n.\r\n"},
        {".\r\n", "..\r\n.\r\n"},
        {"a\n.b\n..c\r\n.", "a\r\n..b\r\n...c\r\n..\r\n.\r\n"},
        {"x.y\r\n", "x.y\r\n.\r\n"},
        {"a\rb\r\n", "a\rb\r\n.\r\n"},          /* bare CR passes */
        {"a\r", "a\r\r\n.\r\n"},                  /* also at the very end */
        {"\r.x\n", "\r.x\r\n.\r\n"},            /* after a bare CR, not a line start */
        {"\r\n.\r\n", "\r\n..\r\n.\r\n"},    /* a lone dot line is data */
    };
    char out[256];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        for (size_t chunk = 1; chunk <= 4; chunk++)
            CHECK_STR(stuff_raw(cases[i].in, chunk, out), cases[i].out);
}

TEST(dotstuff_room_is_enough)
{
    /* The worst case: every octet doubles, plus a held-back CR. */
    char in[64], out[DOTSTUFF_ROOM(sizeof in) + DOTSTUFF_END_ROOM];
    struct dotstuff s;
    dotstuff_init(&s);
    out[0] = 'x';
    CHECK_INT(dotstuff(&s, "\r", 1, out), 0);
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (i % 2) ? '.' : '\n';
    size_t n = dotstuff(&s, in, sizeof in, out);
    CHECK(n <= DOTSTUFF_ROOM(sizeof in));
    n += dotstuff_end(&s, out + n);
    CHECK(n <= sizeof out);
    CHECK(memcmp(out, "\r\n..\r\n..", 8) == 0);
}
