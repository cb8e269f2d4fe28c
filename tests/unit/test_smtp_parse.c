/* Unit tests for src/smtp/parse.c: verbs, RFC 5321 paths, ESMTP parameters, xtext. */
#include "test.h"

#include "smtp/parse.h"

static int parse(const char *line, struct smtp_cmd *c)
{
    return smtp_parse(line, strlen(line), c);
}

TEST(smtp_parse_verbs)
{
    struct smtp_cmd c;
    CHECK_INT(parse("EHLO client.example", &c), 0);
    CHECK_INT(c.verb, SMTP_EHLO);
    CHECK(c.arglen == 14 && memcmp(c.arg, "client.example", 14) == 0);
    CHECK_INT(parse("helo [192.0.2.1]", &c), 0);
    CHECK_INT(c.verb, SMTP_HELO);
    CHECK_INT(parse("HELO", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(c.verb, SMTP_HELO);
    CHECK_INT(parse("data", &c), 0);
    CHECK_INT(c.verb, SMTP_DATA);
    CHECK_INT(parse("DATA x", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("RSET", &c), 0);
    CHECK_INT(parse("QUIT  ", &c), 0);
    CHECK_INT(parse("NOOP anything at all", &c), 0);
    CHECK_INT(parse("HELP", &c), 0);
    CHECK_INT(parse("VRFY", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("VRFY bob", &c), 0);
    CHECK_INT(c.verb, SMTP_VRFY);
    CHECK_INT(parse("STARTTLS", &c), 0);
    CHECK_INT(c.verb, SMTP_STARTTLS);
    CHECK_INT(parse("XYZZY", &c), SMTP_PARSE_UNKNOWN);
    CHECK_INT(c.verb, SMTP_UNKNOWN);
    CHECK_INT(parse("MAILX FROM:<a@b>", &c), SMTP_PARSE_UNKNOWN);
    CHECK_INT(parse("", &c), SMTP_PARSE_EMPTY);
    CHECK_INT(smtp_parse("NOOP \0x", 7, &c), SMTP_PARSE_NUL);
    CHECK_STR(smtp_verb_name(SMTP_BDAT), "BDAT");
}

TEST(smtp_parse_mail_paths)
{
    struct smtp_cmd c;
    CHECK_INT(parse("MAIL FROM:<alice@example.test>", &c), 0);
    CHECK_INT(c.verb, SMTP_MAIL);
    CHECK_STR(c.path, "alice@example.test");
    CHECK(!c.null_path);
    CHECK_INT(parse("mail from:<>", &c), 0);
    CHECK(c.null_path);
    CHECK_STR(c.path, "");
    CHECK_INT(parse("MAIL FROM: <alice@example.test>", &c), 0);   /* tolerated space */
    CHECK_STR(c.path, "alice@example.test");
    CHECK_INT(parse("MAIL FROM:alice@example.test", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<alice@example.test", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<alice>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<a..b@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<.a@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<a@-example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<a@example-.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL FROM:<a@example..test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("MAIL TO:<a@example.test>", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("MAIL", &c), SMTP_PARSE_SYNTAX);
    /* source route: parsed, dropped (RFC 5321 4.1.1.3) */
    CHECK_INT(parse("RCPT TO:<@hosta.example,@hostb.example:bob@example.test>", &c), 0);
    CHECK_STR(c.path, "bob@example.test");
    CHECK_INT(parse("RCPT TO:<@hosta.example:bob@example.test>", &c), 0);
    CHECK_INT(parse("RCPT TO:<@hosta.example bob@example.test>", &c), SMTP_PARSE_PATH);
    /* atext specials */
    CHECK_INT(parse("RCPT TO:<a+b!#$%&'*/=?^_`{|}~-c@example.test>", &c), 0);
    CHECK_STR(c.path, "a+b!#$%&'*/=?^_`{|}~-c@example.test");
    /* RCPT accepts <Postmaster> without a domain; MAIL does not */
    CHECK_INT(parse("RCPT TO:<postmaster>", &c), 0);
    CHECK(c.postmaster);
    CHECK_INT(parse("MAIL FROM:<postmaster>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<>", &c), SMTP_PARSE_PATH);
}

TEST(smtp_parse_quoted_local_parts)
{
    struct smtp_cmd c;
    CHECK_INT(parse("RCPT TO:<\"john doe\"@example.test>", &c), 0);
    CHECK_STR(c.path, "\"john doe\"@example.test");
    /* a quoted dot-string is the same mailbox unquoted */
    CHECK_INT(parse("RCPT TO:<\"bob\"@example.test>", &c), 0);
    CHECK_STR(c.path, "bob@example.test");
    CHECK_INT(parse("RCPT TO:<\"a\\\"b\"@example.test>", &c), 0);
    CHECK_STR(c.path, "\"a\\\"b\"@example.test");
    CHECK_INT(parse("RCPT TO:<\"a@b\"@example.test>", &c), 0);
    CHECK_INT(parse("RCPT TO:<\"unterminated@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\"tab\there\"@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\"\"@example.test>", &c), 0);
    /* 64 octets of local part at most */
    char line[400];
    snprintf(line, sizeof line, "RCPT TO:<%064d@example.test>", 0);
    CHECK_INT(parse(line, &c), 0);
    snprintf(line, sizeof line, "RCPT TO:<%065d@example.test>", 0);
    CHECK_INT(parse(line, &c), SMTP_PARSE_PATH);
}

TEST(smtp_parse_address_literals)
{
    struct smtp_cmd c;
    CHECK_INT(parse("RCPT TO:<bob@[192.0.2.1]>", &c), 0);
    CHECK(c.path_literal);
    CHECK_STR(c.path, "bob@[192.0.2.1]");
    CHECK_INT(parse("RCPT TO:<bob@[IPv6:2001:db8::1]>", &c), 0);
    CHECK_STR(c.path, "bob@[IPv6:2001:db8::1]");
    CHECK_INT(parse("RCPT TO:<bob@[ipv6:::1]>", &c), 0);
    CHECK_INT(parse("RCPT TO:<bob@[IPv6:2001:db8::1::2]>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<bob@[2001:db8::1]>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<bob@[192.0.2.256]>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<bob@[192.0.2]>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<bob@[x-tag:foo]>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<bob@[192.0.2.1>", &c), SMTP_PARSE_PATH);
}

TEST(smtp_parse_smtputf8_addresses)
{
    struct smtp_cmd c;
    CHECK_INT(parse("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc\x63her.example> SMTPUTF8", &c), 0);
    CHECK(c.path_utf8);
    CHECK(c.smtputf8);
    CHECK_INT(parse("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.test>", &c), 0);
    CHECK(c.path_utf8);
    CHECK_INT(parse("RCPT TO:<bob@example.test>", &c), 0);
    CHECK(!c.path_utf8);
    /* malformed UTF-8: overlong, lone continuation, surrogate, truncated */
    CHECK_INT(parse("RCPT TO:<\xc0\xafx@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\x80x@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\xed\xa0\x80@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\xe7\x94@example.test>", &c), SMTP_PARSE_PATH);
    CHECK_INT(parse("RCPT TO:<\"\xc3\xa9t\xc3\xa9\"@example.test>", &c), 0);
    CHECK(c.path_utf8);
}

TEST(smtp_parse_mail_params)
{
    struct smtp_cmd c;
    CHECK_INT(parse("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1", &c), 0);
    CHECK(c.has_size);
    CHECK_INT(c.size, 1000);
    CHECK_INT(c.body, SMTP_BODY_8BITMIME);
    CHECK_INT(c.ret, SMTP_RET_HDRS);
    CHECK(c.has_envid);
    CHECK_STR(c.envid, "QQ+1");
    CHECK_INT(parse("MAIL FROM:<a@b.example> body=7bit", &c), 0);
    CHECK_INT(c.body, SMTP_BODY_7BIT);
    CHECK_INT(parse("MAIL FROM:<a@b.example> BODY=BINARYMIME", &c), SMTP_PARSE_PARAM);
    CHECK_INT(parse("MAIL FROM:<a@b.example> BODY=9BIT", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> SIZE=12x", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> SIZE=99999999999999999999999", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> XFOO=1", &c), SMTP_PARSE_PARAM);
    CHECK_INT(parse("MAIL FROM:<a@b.example> NOTIFY=NEVER", &c), SMTP_PARSE_PARAM);
    CHECK_INT(parse("MAIL FROM:<a@b.example> SMTPUTF8=yes", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=<>", &c), 0);
    CHECK(c.has_auth);
    CHECK_STR(c.auth, "");
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=e+3Dmc2@example.com", &c), 0);
    CHECK_STR(c.auth, "e=mc2@example.com");
    /* RFC 4954 section 5: xtext of a mailbox, or <> */
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=a+2Bb@example.com", &c), 0);
    CHECK_STR(c.auth, "a+b@example.com");
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=a+2bb@example.com", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=a+4@example.com", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=a+00b@example.com", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=<a@b.example>", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=not-a-mailbox", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> AUTH=<> AUTH=<>", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> ENVID=a+zz", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example> ENVID=", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("MAIL FROM:<a@b.example>SIZE=1", &c), SMTP_PARSE_PATH);
    char line[400];
    memset(line, 0, sizeof line);
    strcpy(line, "MAIL FROM:<a@b.example> ENVID=");
    memset(line + strlen(line), 'x', 101);
    CHECK_INT(parse(line, &c), SMTP_PARSE_PARAM_VALUE);   /* over 100 octets */
}

TEST(smtp_parse_rcpt_dsn_params)
{
    struct smtp_cmd c;
    CHECK_INT(parse("RCPT TO:<b@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40c.example", &c), 0);
    CHECK_INT(c.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
    CHECK_STR(c.orcpt, "rfc822;b@c.example");
    CHECK_INT(parse("RCPT TO:<b@c.example> NOTIFY=never", &c), 0);
    CHECK_INT(c.notify, SMTP_NOTIFY_NEVER);
    CHECK_INT(parse("RCPT TO:<b@c.example> NOTIFY=NEVER,DELAY", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("RCPT TO:<b@c.example> NOTIFY=DELAY,DELAY", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("RCPT TO:<b@c.example> NOTIFY=", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("RCPT TO:<b@c.example> ORCPT=x400;foo", &c), SMTP_PARSE_PARAM_VALUE);
    CHECK_INT(parse("RCPT TO:<b@c.example> ORCPT=utf-8;b@c", &c), 0);
    CHECK_INT(parse("RCPT TO:<b@c.example> SIZE=10", &c), SMTP_PARSE_PARAM);
}

TEST(smtp_parse_auth_bdat)
{
    struct smtp_cmd c;
    CHECK_INT(parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==", &c), 0);
    CHECK(c.arglen == 5 && c.arg2 && c.arg2len == 20);
    CHECK_INT(parse("AUTH LOGIN", &c), 0);
    CHECK(c.arg2 == NULL);
    CHECK_INT(parse("AUTH PLAIN =", &c), 0);
    CHECK(c.arg2 != NULL && c.arg2len == 0);
    CHECK_INT(parse("AUTH", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("AUTH PLAIN ab$c", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("BDAT 1000", &c), 0);
    CHECK_INT(c.verb, SMTP_BDAT);
    CHECK_INT(c.chunk, 1000);
    CHECK(!c.last);
    CHECK_INT(parse("BDAT 0 LAST", &c), 0);
    CHECK(c.last);
    CHECK_INT(parse("bdat 5 last", &c), 0);
    CHECK_INT(parse("BDAT", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("BDAT x", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("BDAT 5 FIRST", &c), SMTP_PARSE_SYNTAX);
    CHECK_INT(parse("BDAT 99999999999999999999", &c), SMTP_PARSE_SYNTAX);
}

TEST(smtp_parse_limits)
{
    struct smtp_cmd c;
    static char line[SMTP_AUTH_LINE_MAX + 100];
    memset(line, 'a', sizeof line - 1);
    memcpy(line, "NOOP ", 5);
    CHECK_INT(smtp_parse(line, SMTP_LINE_MAX, &c), 0);
    CHECK_INT(smtp_parse(line, SMTP_LINE_MAX + 1, &c), SMTP_PARSE_TOOLONG);
    memcpy(line, "AUTH PLAIN ", 11);
    CHECK_INT(smtp_parse(line, SMTP_LINE_MAX + 1, &c), 0);
    /* a path over 256 octets */
    char big[600];
    snprintf(big, sizeof big, "RCPT TO:<a@%0300d.example>", 0);
    CHECK(parse(big, &c) < 0);
    CHECK(strncmp(smtp_parse_reply(SMTP_PARSE_PATH, SMTP_RCPT), "501 5.1.3", 9) == 0);
    CHECK(strncmp(smtp_parse_reply(SMTP_PARSE_PATH, SMTP_MAIL), "501 5.1.7", 9) == 0);
    CHECK(strncmp(smtp_parse_reply(SMTP_PARSE_PARAM, SMTP_MAIL), "555 5.5.4", 9) == 0);
    CHECK(strncmp(smtp_parse_reply(SMTP_PARSE_UNKNOWN, SMTP_UNKNOWN), "500 5.5.2", 9) == 0);
}

TEST(smtp_xtext)
{
    char out[64];
    CHECK_INT(smtp_xtext_decode("a+2Bb+3Dc", 9, out, sizeof out), 5);
    CHECK_STR(out, "a+b=c");
    CHECK_INT(smtp_xtext_decode("a+2b", 4, out, sizeof out), -1);     /* lower-case hex */
    CHECK_INT(smtp_xtext_decode("a+2", 3, out, sizeof out), -1);
    CHECK_INT(smtp_xtext_decode("a=b", 3, out, sizeof out), -1);
    CHECK_INT(smtp_xtext_decode("a b", 3, out, sizeof out), -1);
    CHECK_INT(smtp_xtext_decode("+00", 3, out, sizeof out), -1);
    CHECK_INT(smtp_xtext_decode("abcdef", 6, out, 4), -1);
    CHECK_INT(smtp_xtext_encode("a+b=c d", 7, out, sizeof out), 13);
    CHECK_STR(out, "a+2Bb+3Dc+20d");
    char back[64];
    CHECK_INT(smtp_xtext_decode(out, strlen(out), back, sizeof back), 7);
    CHECK_STR(back, "a+b=c d");
}

TEST(smtp_mailbox_valid)
{
    bool u;
    CHECK(smtp_mailbox_valid("a@b", 3, &u));
    CHECK(!u);
    CHECK(!smtp_mailbox_valid("a@b ", 4, &u));
    CHECK(!smtp_mailbox_valid("ab", 2, &u));
}
