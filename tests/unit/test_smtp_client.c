/* The SMTP client's pure parts: reply parser, EHLO keywords, xtext (its
 * dot-stuffer is mail/dotstuff.c: test_dotstuff.c). */
#include <errno.h>

#include "base/err.h"
#include "smtp/client.h"
#include "test.h"

static int parse(const char *s, struct smtp_reply *r)
{
    return smtp_reply_parse(s, strlen(s), r);
}

TEST(smtp_reply_single_line)
{
    struct smtp_reply r;
    CHECK_INT(parse("250 2.1.0 Ok\r\n", &r), 14);
    CHECK_INT(r.code, 250);
    CHECK_INT(r.nlines, 1);
    CHECK_STR(r.text, "2.1.0 Ok");
    /* Code alone (RFC 5321 section 4.2: the text is optional). */
    CHECK_INT(parse("354\r\n", &r), 5);
    CHECK_INT(r.code, 354);
    CHECK_STR(r.text, "");
    /* Bare LF is taken; what follows the reply is left alone. */
    CHECK_INT(parse("220 hi\n250 next\r\n", &r), 7);
    CHECK_STR(r.text, "hi");
}

TEST(smtp_reply_multiline)
{
    struct smtp_reply r;
    const char *ehlo = "250-mx.example Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
    CHECK_INT(parse(ehlo, &r), (int)strlen(ehlo));
    CHECK_INT(r.code, 250);
    CHECK_INT(r.nlines, 4);
    CHECK_STR(r.text, "mx.example Hello\nPIPELINING\nSIZE 1000\n8BITMIME");
    /* "250-" with empty text, then the last line. */
    CHECK_INT(parse("250-\r\n250 x\r\n", &r), 13);
    CHECK_STR(r.text, "\nx");
}

TEST(smtp_reply_needs_more)
{
    struct smtp_reply r;
    CHECK_INT(parse("", &r), 0);
    CHECK_INT(parse("25", &r), 0);
    CHECK_INT(parse("250 ok", &r), 0);
    CHECK_INT(parse("250-first\r\n", &r), 0);
    CHECK_INT(parse("250-first\r\n250 sec", &r), 0);
}

TEST(smtp_reply_refuses_garbage)
{
    struct smtp_reply r;
    CHECK_INT(parse("hello\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("25\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("2x0 ok\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("150 ok\r\n", &r), OP_E_SYNTAX);       /* first digit 2-5 */
    CHECK_INT(parse("650 ok\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("250_ok\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("250-a\r\n251 b\r\n", &r), OP_E_SYNTAX); /* codes differ */
    CHECK_INT(smtp_reply_parse("25\0 x\r\n", 7, &r), OP_E_SYNTAX);
}

TEST(smtp_reply_limits)
{
    struct smtp_reply r;
    static char big[SMTP_REPLY_LINE_MAX + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, "250 ", 4);
    CHECK_INT(smtp_reply_parse(big, sizeof big, &r), OP_E_TOOLONG);
    /* Just under the limit with its LF: fine. */
    big[SMTP_REPLY_LINE_MAX - 1] = '\n';
    CHECK_INT(smtp_reply_parse(big, sizeof big, &r), SMTP_REPLY_LINE_MAX);
    CHECK_INT(strlen(r.text), SMTP_REPLY_TEXT_MAX - 1);       /* cut, NUL-terminated */
    /* Too many lines. */
    char many[(SMTP_REPLY_LINES_MAX + 1) * 6 + 1];
    size_t o = 0;
    for (int i = 0; i <= SMTP_REPLY_LINES_MAX; i++) {
        memcpy(many + o, "250-\r\n", 6);
        o += 6;
    }
    CHECK_INT(smtp_reply_parse(many, o, &r), OP_E_TOOLONG);
    /* Control characters in the text are masked. */
    CHECK(parse("550 a\x1b[31mb\r\n", &r) > 0);
    CHECK_STR(r.text, "a?[31mb");
}

TEST(smtp_ehlo_keywords)
{
    struct smtp_reply r;
    struct smtp_ext e;
    REQUIRE(parse("250-mx.example greets PIPELINING\r\n250-pipelining\r\n250-SIZE 52428800\r\n"
                  "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
                  "250-AUTH=LOGIN\r\n250 SMTPUTF8\r\n", &r) > 0);
    smtp_ehlo_parse(&r, &e);
    CHECK_INT(e.flags, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
                       SMTP_EXT_STARTTLS | SMTP_EXT_ENHANCED | SMTP_EXT_DSN | SMTP_EXT_SMTPUTF8);
    CHECK_INT(e.size_max, 52428800);
    /* The greeting line is not a keyword; SIZE without a number: no limit. */
    REQUIRE(parse("250-STARTTLS\r\n250 SIZE\r\n", &r) > 0);
    smtp_ehlo_parse(&r, &e);
    CHECK_INT(e.flags, SMTP_EXT_SIZE);
    CHECK_INT(e.size_max, 0);
    /* A keyword that only starts like a known one is not it. */
    REQUIRE(parse("250-x\r\n250-PIPELININGX\r\n250 DSNX\r\n", &r) > 0);
    smtp_ehlo_parse(&r, &e);
    CHECK_INT(e.flags, 0);
    /* HELO-style single line: nothing. */
    REQUIRE(parse("250 mx.example\r\n", &r) > 0);
    smtp_ehlo_parse(&r, &e);
    CHECK_INT(e.flags, 0);
}

TEST(smtp_xtext)
{
    char out[64];
    CHECK_INT(smtp_xtext("abc", out, sizeof out), 0);
    CHECK_STR(out, "abc");
    CHECK_INT(smtp_xtext("a+b=c d\xc3", out, sizeof out), 0);
    CHECK_STR(out, "a+2Bb+3Dc+20d+C3");
    CHECK_INT(smtp_xtext("abc", out, 3), -ENOSPC);
    CHECK_INT(smtp_xtext("+", out, 3), -ENOSPC);
    CHECK_INT(smtp_xtext("+", out, 4), 0);
}

TEST(smtp_timeouts)
{
    struct smtp_timeouts t;
    smtp_timeouts_default(&t);
    CHECK_INT(t.greeting_ms, 300000);
    CHECK_INT(t.data_init_ms, 120000);
    CHECK_INT(t.data_block_ms, 180000);
    CHECK_INT(t.data_end_ms, 600000);
    smtp_timeouts_cap(&t, 2000);
    CHECK_INT(t.data_end_ms, 2000);
    CHECK_INT(t.rcpt_ms, 2000);
}
