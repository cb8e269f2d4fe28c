/* Unit tests for src/pop3/parse.c: command lines (the byte-stuffer RETR and
 * TOP use is mail/dotstuff.c, tested in test_dotstuff.c). */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/util.h"
#include "pop3/parse.h"

/* ---- command lines ------------------------------------------------------- */

struct line_case {
    const char *line;
    size_t len;                 /* 0: strlen(line) */
    int rc;
    enum pop3_verb verb;
    int nnum;
    uint32_t n0, n1;
    const char *arg;            /* NULL: no argument expected */
    const char *arg2;           /* NULL: arg2 must be NULL */
};

#define OK(l, v) {l, 0, 0, v, 0, 0, 0, NULL, NULL}
#define OKN(l, v, k, a, b) {l, 0, 0, v, k, a, b, NULL, NULL}
#define OKA(l, v, a1, a2) {l, 0, 0, v, 0, 0, 0, a1, a2}
#define BAD(l, rc, v) {l, 0, rc, v, 0, 0, 0, NULL, NULL}

static const struct line_case line_cases[] = {
    /* every verb, case-insensitive */
    OKA("USER alice", POP3_USER, "alice", NULL),
    OKA("user alice@example.test", POP3_USER, "alice@example.test", NULL),
    OKA("UsEr bob", POP3_USER, "bob", NULL),
    OKA("PASS secret", POP3_PASS, "secret", NULL),
    OKA("pass two words", POP3_PASS, "two words", NULL),
    OKA("PASS  leading space", POP3_PASS, " leading space", NULL),
    OKA("PASS trailing  ", POP3_PASS, "trailing  ", NULL),
    OKA("PASS tab\there", POP3_PASS, "tab\there", NULL),
    OKA("PASS \xc3\xa9t\xc3\xa9", POP3_PASS, "\xc3\xa9t\xc3\xa9", NULL),
    OK("STAT", POP3_STAT),
    OK("stat", POP3_STAT),
    OK("NOOP", POP3_NOOP),
    OK("RSET", POP3_RSET),
    OK("QUIT", POP3_QUIT),
    OK("quit", POP3_QUIT),
    OK("CAPA", POP3_CAPA),
    OK("STLS", POP3_STLS),
    OK("stls", POP3_STLS),
    OKN("LIST", POP3_LIST, 0, 0, 0),
    OKN("LIST 1", POP3_LIST, 1, 1, 0),
    OKN("list 42", POP3_LIST, 1, 42, 0),
    OKN("UIDL", POP3_UIDL, 0, 0, 0),
    OKN("UIDL 7", POP3_UIDL, 1, 7, 0),
    OKN("RETR 1", POP3_RETR, 1, 1, 0),
    OKN("retr 4294967295", POP3_RETR, 1, 4294967295u, 0),
    OKN("DELE 3", POP3_DELE, 1, 3, 0),
    OKN("TOP 1 10", POP3_TOP, 2, 1, 10),
    OKN("top 2 0", POP3_TOP, 2, 2, 0),
    OKN("TOP 5 4294967295", POP3_TOP, 2, 5, 4294967295u),
    OKA("AUTH PLAIN", POP3_AUTH, "PLAIN", NULL),
    OKA("auth plain dGVzdAB0ZXN0AHBhc3M=", POP3_AUTH, "plain", "dGVzdAB0ZXN0AHBhc3M="),
    OKA("AUTH PLAIN =", POP3_AUTH, "PLAIN", ""),
    OKA("AUTH", POP3_AUTH, NULL, NULL),
    OKA("AUTH  ", POP3_AUTH, NULL, NULL),
    OKA("APOP mrose c4c9334bac560ecc979e58001b3e22fb", POP3_APOP, "mrose",
        "c4c9334bac560ecc979e58001b3e22fb"),

    /* blanks: several between arguments, trailing, leading */
    OKN("TOP  1\t\t 10", POP3_TOP, 2, 1, 10),
    OKN("RETR 1 ", POP3_RETR, 1, 1, 0),
    OKN("RETR\t1", POP3_RETR, 1, 1, 0),
    OK("QUIT  \t", POP3_QUIT),
    OKA("USER   carol  ", POP3_USER, "carol", NULL),
    OK("  NOOP", POP3_NOOP),

    /* numbers */
    OKN("RETR 0001", POP3_RETR, 1, 1, 0),
    OKN("TOP 1 000", POP3_TOP, 2, 1, 0),
    BAD("RETR 0", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("RETR 000", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("LIST 0", POP3_PARSE_NUMBER, POP3_LIST),
    BAD("TOP 0 5", POP3_PARSE_NUMBER, POP3_TOP),
    BAD("RETR 4294967296", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("RETR 99999999999999999999", POP3_PARSE_NUMBER, POP3_RETR),
    OKN("TOP 1 4294967296", POP3_TOP, 2, 1, 4294967295u),       /* a count saturates */
    OKN("TOP 1 99999999999999999999", POP3_TOP, 2, 1, 4294967295u),
    BAD("TOP 4294967296 1", POP3_PARSE_NUMBER, POP3_TOP),       /* a number does not */
    BAD("TOP 1 99999999999x", POP3_PARSE_NUMBER, POP3_TOP),
    BAD("RETR -1", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("RETR +1", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("RETR 0x1", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("RETR 1a", POP3_PARSE_NUMBER, POP3_RETR),
    BAD("DELE one", POP3_PARSE_NUMBER, POP3_DELE),
    BAD("UIDL 1.5", POP3_PARSE_NUMBER, POP3_UIDL),
    BAD("TOP 1 -1", POP3_PARSE_NUMBER, POP3_TOP),
    BAD("RETR 0000000000" "0000000000" "0000000000" "0000000000" "1", POP3_PARSE_TOOLONG, POP3_RETR),
    OKN("RETR 0000000000" "0000000000" "0000000000" "000000001", POP3_RETR, 1, 1, 0),

    /* argument counts */
    BAD("USER", POP3_PARSE_ARGS, POP3_USER),
    BAD("USER a b", POP3_PARSE_ARGS, POP3_USER),
    BAD("PASS", POP3_PARSE_ARGS, POP3_PASS),
    BAD("PASS ", POP3_PARSE_ARGS, POP3_PASS),
    BAD("PASS\tsecret", POP3_PARSE_ARGS, POP3_PASS),
    BAD("STAT 1", POP3_PARSE_ARGS, POP3_STAT),
    BAD("NOOP x", POP3_PARSE_ARGS, POP3_NOOP),
    BAD("QUIT now", POP3_PARSE_ARGS, POP3_QUIT),
    BAD("CAPA x", POP3_PARSE_ARGS, POP3_CAPA),
    BAD("STLS x", POP3_PARSE_ARGS, POP3_STLS),
    BAD("RSET 1", POP3_PARSE_ARGS, POP3_RSET),
    BAD("LIST 1 2", POP3_PARSE_ARGS, POP3_LIST),
    BAD("UIDL 1 2", POP3_PARSE_ARGS, POP3_UIDL),
    BAD("RETR", POP3_PARSE_ARGS, POP3_RETR),
    BAD("RETR 1 2", POP3_PARSE_ARGS, POP3_RETR),
    BAD("DELE", POP3_PARSE_ARGS, POP3_DELE),
    BAD("TOP", POP3_PARSE_ARGS, POP3_TOP),
    BAD("TOP 1", POP3_PARSE_ARGS, POP3_TOP),
    BAD("TOP 1 2 3", POP3_PARSE_ARGS, POP3_TOP),
    BAD("AUTH PLAIN a b", POP3_PARSE_ARGS, POP3_AUTH),
    BAD("AUTH A B C D E", POP3_PARSE_ARGS, POP3_AUTH),
    BAD("APOP mrose", POP3_PARSE_ARGS, POP3_APOP),
    BAD("APOP", POP3_PARSE_ARGS, POP3_APOP),

    /* non-printable bytes in arguments */
    BAD("USER al\x01ice", POP3_PARSE_ARGS, POP3_USER),
    BAD("USER al\x7fice", POP3_PARSE_ARGS, POP3_USER),
    BAD("USER \xc3\xa9", POP3_PARSE_ARGS, POP3_USER),
    BAD("USER a\rb", POP3_PARSE_ARGS, POP3_USER),
    BAD("AUTH PLAIN \x02", POP3_PARSE_ARGS, POP3_AUTH),
    BAD("STAT \x01", POP3_PARSE_ARGS, POP3_STAT),
    OKA("PASS a\x01\x7f" "b", POP3_PASS, "a\x01\x7f" "b", NULL),

    /* lengths: 40 is fine, 41 is not */
    OKA("USER 0123456789012345678901234567890123456789", POP3_USER,
        "0123456789012345678901234567890123456789", NULL),
    BAD("USER 01234567890123456789012345678901234567890", POP3_PARSE_TOOLONG, POP3_USER),
    BAD("AUTH 01234567890123456789012345678901234567890", POP3_PARSE_TOOLONG, POP3_AUTH),
    BAD("APOP 01234567890123456789012345678901234567890 x", POP3_PARSE_TOOLONG, POP3_APOP),
    BAD("APOP x 01234567890123456789012345678901234567890", POP3_PARSE_TOOLONG, POP3_APOP),

    /* keywords */
    BAD("", POP3_PARSE_EMPTY, POP3_UNKNOWN),
    BAD("   ", POP3_PARSE_EMPTY, POP3_UNKNOWN),
    BAD("\t", POP3_PARSE_EMPTY, POP3_UNKNOWN),
    BAD("HELO", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("XTND XMIT", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("RETRIEVE 1", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("USERS alice", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("US", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("RET", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("TO 1 2", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("T0P 1 2", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("\x01USER a", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("USER\x01 a", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("\xd5SER a", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),
    BAD("GET / HTTP/1.1", POP3_PARSE_UNKNOWN, POP3_UNKNOWN),

    /* NUL bytes: explicit lengths */
    {"USER a\0b", 8, POP3_PARSE_NUL, POP3_USER, 0, 0, 0, NULL, NULL},
    {"PASS se\0cret", 12, POP3_PARSE_NUL, POP3_PASS, 0, 0, 0, NULL, NULL},
    {"QUIT \0", 6, POP3_PARSE_NUL, POP3_QUIT, 0, 0, 0, NULL, NULL},
    {"\0", 1, POP3_PARSE_NUL, POP3_UNKNOWN, 0, 0, 0, NULL, NULL},
    {"NO\0P", 4, POP3_PARSE_NUL, POP3_UNKNOWN, 0, 0, 0, NULL, NULL},
    {"QUIT\0", 5, POP3_PARSE_NUL, POP3_UNKNOWN, 0, 0, 0, NULL, NULL},   /* NUL inside the keyword */
};

/* Compare (p, n) with the expected NUL-terminated string. */
static bool same(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && (n == 0 || memcmp(p, want, n) == 0);
}

static void check_line_case(const struct line_case *c)
{
    size_t len = c->len ? c->len : strlen(c->line);
    /* A heap copy of exactly len bytes lets ASan catch any read past it. */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, c->line, len);
    struct pop3_cmd cmd;
    int r = pop3_parse(copy, len, &cmd);
    bool ok = r == c->rc && cmd.verb == c->verb;
    if (ok && r == 0) {
        ok = cmd.nnum == c->nnum && (cmd.nnum < 1 || cmd.num[0] == c->n0) &&
             (cmd.nnum < 2 || cmd.num[1] == c->n1);
        if (c->arg)
            ok = ok && cmd.arg && same(cmd.arg, cmd.arglen, c->arg);
        else
            ok = ok && cmd.arglen == 0;
        if (c->arg2)
            ok = ok && cmd.arg2 && same(cmd.arg2, cmd.arg2len, c->arg2);
        else
            ok = ok && !cmd.arg2 && cmd.arg2len == 0;
    }
    if (!ok) {
        /* The line is printed with escapes; these are test strings, not
         * anybody's password. */
        fprintf(stderr, "    line \"");
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)c->line[i];
            if (ch >= 0x20 && ch < 0x7f)
                fputc(ch, stderr);
            else
                fprintf(stderr, "\\x%02x", ch);
        }
        fprintf(stderr, "\": rc %d (want %d), verb %d (want %d)\n", r, c->rc, cmd.verb, c->verb);
        test_fail(__FILE__, __LINE__, "line case");
    }
    free(copy);
}

TEST(pop3_parse_table)
{
    for (size_t i = 0; i < ARRAY_LEN(line_cases); i++)
        check_line_case(&line_cases[i]);
}

static void fill_line(char *dst, const char *prefix, char fill, size_t nfill)
{
    size_t n = strlen(prefix);
    memcpy(dst, prefix, n);
    memset(dst + n, fill, nfill);
    dst[n + nfill] = '\0';
}

TEST(pop3_parse_pass_limits)
{
    char line[600];
    struct pop3_cmd cmd;
    fill_line(line, "PASS ", 'x', 255);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), 0);
    CHECK_INT(cmd.arglen, 255);
    fill_line(line, "PASS ", 'x', 256);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), POP3_PARSE_TOOLONG);
    CHECK_INT(cmd.verb, POP3_PASS);
    CHECK(cmd.arg == NULL && cmd.arglen == 0);
    /* A 41-byte password is fine: the 40-byte rule is not for PASS. */
    fill_line(line, "PASS ", 'y', 41);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), 0);
}

TEST(pop3_parse_auth_limits)
{
    static char line[POP3_MAX_INITIAL_RESPONSE + 64];
    struct pop3_cmd cmd;
    fill_line(line, "AUTH PLAIN ", 'A', POP3_MAX_INITIAL_RESPONSE);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), 0);
    CHECK_INT(cmd.arg2len, POP3_MAX_INITIAL_RESPONSE);
    fill_line(line, "AUTH PLAIN ", 'A', POP3_MAX_INITIAL_RESPONSE + 1);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), POP3_PARSE_TOOLONG);
    /* Longer than 40 but well within the line limit: an ordinary response. */
    fill_line(line, "AUTH PLAIN ", 'B', 300);
    CHECK_INT(pop3_parse(line, strlen(line), &cmd), 0);
    CHECK_INT(cmd.arg2len, 300);
    /* "=" is an empty response, distinct from no response. */
    CHECK_INT(pop3_parse("AUTH PLAIN =", 12, &cmd), 0);
    CHECK(cmd.arg2 != NULL);
    CHECK_INT(cmd.arg2len, 0);
    CHECK_INT(pop3_parse("AUTH PLAIN", 10, &cmd), 0);
    CHECK(cmd.arg2 == NULL);
    /* "==" is just an (odd) response, left to the SASL decoder. */
    CHECK_INT(pop3_parse("AUTH PLAIN ==", 13, &cmd), 0);
    CHECK_INT(cmd.arg2len, 2);
}

TEST(pop3_parse_args_point_into_line)
{
    const char line[] = "USER alice";
    struct pop3_cmd cmd;
    REQUIRE(pop3_parse(line, sizeof line - 1, &cmd) == 0);
    CHECK(cmd.arg == line + 5);
    /* Only len bytes are read: what follows in memory does not count. */
    CHECK_INT(pop3_parse("QUIT now", 4, &cmd), 0);
    CHECK_INT(cmd.verb, POP3_QUIT);
    CHECK_INT(pop3_parse("USER alice", 7, &cmd), 0);
    CHECK(same(cmd.arg, cmd.arglen, "al"));
}

TEST(pop3_parse_strerror_and_names)
{
    const int codes[] = {POP3_PARSE_EMPTY, POP3_PARSE_UNKNOWN, POP3_PARSE_ARGS,
                         POP3_PARSE_NUMBER, POP3_PARSE_NUL, POP3_PARSE_TOOLONG};
    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        const char *s = pop3_parse_strerror(codes[i]);
        CHECK(s && *s && strcmp(s, "unknown error") != 0);
        /* No CR or LF: the sentence goes straight into an -ERR line. */
        CHECK(!strpbrk(s, "\r\n"));
    }
    CHECK_STR(pop3_parse_strerror(-ENOMEM), strerror(ENOMEM));
    CHECK_STR(pop3_verb_name(POP3_RETR), "RETR");
    CHECK_STR(pop3_verb_name(POP3_TOP), "TOP");
    CHECK_STR(pop3_verb_name(POP3_UNKNOWN), "?");
}
