/* Unit tests for src/smtp/body.c: the DATA/BDAT body state machine. */
#include "test.h"

#include "smtp/body.h"

/* Feed in one piece and then byte by byte: both must agree. */
static void run(const char *in, size_t len, bool dot, uint64_t max, struct buf *out,
                struct smtp_body *b, size_t *used)
{
    smtp_body_init(b, dot, max);
    *used = smtp_body_feed(b, out, in, len);
    struct buf one = BUF_INIT;
    struct smtp_body b1;
    smtp_body_init(&b1, dot, max);
    size_t u1 = 0;
    for (size_t i = 0; i < len && !b1.done; i++)
        u1 += smtp_body_feed(&b1, &one, in + i, 1);
    CHECK_INT(u1, *used);
    CHECK_INT(b1.flags, b->flags);
    CHECK_INT(b1.done, b->done);
    /* Past the size limit only the count matters (what was kept may differ). */
    if (!(b->flags & SMTP_BODY_TOO_BIG))
        CHECK(buf_len(&one) == buf_len(out) && memcmp(buf_ptr(&one), buf_ptr(out), buf_len(out)) == 0);
    buf_free(&one);
}

#define RUN(lit, dot, max)                                                   \
    do {                                                                     \
        buf_clear(&out);                                                     \
        run(lit, sizeof lit - 1, dot, max, &out, &b, &used);                 \
    } while (0)

TEST(smtp_body_data_terminator_and_unstuffing)
{
    struct buf out = BUF_INIT;
    struct smtp_body b;
    size_t used;
    RUN("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n", true, 1000);
    CHECK(b.done);
    CHECK_INT(used, 24);
    CHECK_STR(buf_cstr(&out), "Subject: x\r\n\r\nhello\r\n");
    CHECK_INT(b.flags, 0);
    CHECK(smtp_body_refusal(&b) == NULL);
    /* empty message: the terminator right away */
    RUN(".\r\n", true, 1000);
    CHECK(b.done);
    CHECK_INT(buf_len(&out), 0);
    /* dot-unstuffing */
    RUN("..leading\r\n...\r\n.\r\n", true, 1000);
    CHECK(b.done);
    CHECK_STR(buf_cstr(&out), ".leading\r\n..\r\n");
    /* not yet the end */
    RUN("abc\r\n.", true, 1000);
    CHECK(!b.done);
    CHECK_STR(buf_cstr(&out), "abc\r\n");
    buf_free(&out);
}

TEST(smtp_body_bare_cr_lf_never_end_data)
{
    struct buf out = BUF_INIT;
    struct smtp_body b;
    size_t used;
    /* SMTP smuggling forms: none of them ends the data */
    RUN("a\n.\nb\r\n", true, 1000);
    CHECK(!b.done);
    CHECK(b.flags & SMTP_BODY_BARE_LF);
    RUN("a\r\n.\nb\r\n", true, 1000);
    CHECK(!b.done);
    RUN("a\n.\r\nb\r\n", true, 1000);
    CHECK(!b.done);
    CHECK(b.flags & SMTP_BODY_BARE_LF);
    RUN("a\r.\r\nb", true, 1000);
    CHECK(!b.done);
    CHECK(b.flags & SMTP_BODY_BARE_CR);
    RUN("a\r\n.\rb\r\n.\r\n", true, 1000);
    CHECK(b.done);
    CHECK(b.flags & SMTP_BODY_BARE_CR);
    CHECK_STR(buf_cstr(&out), "a\r\n\rb\r\n");
    CHECK(smtp_body_refusal(&b) != NULL);
    CHECK(strncmp(smtp_body_refusal(&b), "550 5.6.0", 9) == 0);
    RUN("a\r\r\n.\r\n", true, 1000);
    CHECK(b.done);
    CHECK(b.flags & SMTP_BODY_BARE_CR);
    buf_free(&out);
}

TEST(smtp_body_limits)
{
    struct buf out = BUF_INIT;
    struct smtp_body b;
    size_t used;
    static char big[3000];
    /* a 998-octet line is fine, 999 is not */
    memset(big, 'x', 998);
    memcpy(big + 998, "\r\n.\r\n", 5);
    smtp_body_init(&b, true, 100000);
    smtp_body_feed(&b, &out, big, 1003);
    CHECK(b.done);
    CHECK_INT(b.flags, 0);
    buf_clear(&out);
    memset(big, 'x', 999);
    memcpy(big + 999, "\r\n.\r\n", 5);
    smtp_body_init(&b, true, 100000);
    smtp_body_feed(&b, &out, big, 1004);
    CHECK(b.done);
    CHECK(b.flags & SMTP_BODY_LONG_LINE);
    CHECK_INT(buf_len(&out), 1001);               /* nothing cut */
    CHECK(strncmp(smtp_body_refusal(&b), "500 5.3.4", 9) == 0);
    /* size: counted past the limit, not stored */
    RUN("0123456789\r\n.\r\n", true, 5);
    CHECK(b.done);
    CHECK(b.flags & SMTP_BODY_TOO_BIG);
    CHECK(buf_len(&out) <= 5);
    CHECK_INT(b.size, 12);
    CHECK(strncmp(smtp_body_refusal(&b), "552 5.3.4", 9) == 0);
    RUN("a\0b\r\n.\r\n", true, 100);
    CHECK(b.flags & SMTP_BODY_NUL);
    RUN("caf\xc3\xa9\r\n.\r\n", true, 100);
    CHECK(b.flags & SMTP_BODY_8BIT);
    CHECK(smtp_body_refusal(&b) == NULL);
    (void)used;
    buf_free(&out);
}

TEST(smtp_body_bdat_mode)
{
    struct buf out = BUF_INIT;
    struct smtp_body b;
    size_t used;
    RUN("a\r\n.\r\n..b\r\n", false, 1000);
    CHECK(!b.done);
    CHECK_INT(used, 11);
    CHECK_STR(buf_cstr(&out), "a\r\n.\r\n..b\r\n");
    /* CR at a chunk end waits for the next chunk */
    smtp_body_init(&b, false, 1000);
    buf_clear(&out);
    smtp_body_feed(&b, &out, "x\r", 2);
    smtp_body_feed(&b, &out, "\ny", 2);
    smtp_body_finish(&b, &out);
    CHECK_STR(buf_cstr(&out), "x\r\ny");
    CHECK_INT(b.flags, 0);
    smtp_body_init(&b, false, 1000);
    buf_clear(&out);
    smtp_body_feed(&b, &out, "x\r", 2);
    smtp_body_finish(&b, &out);
    CHECK(b.flags & SMTP_BODY_BARE_CR);
    buf_free(&out);
}
