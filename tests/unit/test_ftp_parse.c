/* Unit tests for src/ftp/parse.c: FTP command lines. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "ftp/parse.h"

struct line_case {
    const char *line;
    size_t len;                 /* 0: strlen(line) */
    int rc;
    enum ftp_verb verb;
    const char *arg;            /* NULL: no argument expected (when rc == 0) */
};

#define OK(l, v, a) {l, 0, 0, v, a}
#define BAD(l, rc, v) {l, 0, rc, v, NULL}

static const struct line_case cases[] = {
    OK("USER alice", FTP_USER, "alice"),
    OK("user alice@example.test", FTP_USER, "alice@example.test"),
    OK("PASS two words ", FTP_PASS, "two words "),
    OK("PASS", FTP_PASS, NULL),
    OK("ACCT x", FTP_ACCT, "x"),
    OK("CWD /a b/c", FTP_CWD, "/a b/c"),
    OK("XCWD dir", FTP_CWD, "dir"),
    OK("CDUP", FTP_CDUP, NULL),
    OK("XCUP", FTP_CDUP, NULL),
    OK("QUIT", FTP_QUIT, NULL),
    OK("quit", FTP_QUIT, NULL),
    OK("NOOP ", FTP_NOOP, NULL),
    OK("REIN", FTP_REIN, NULL),
    OK("PASV", FTP_PASV, NULL),
    OK("TYPE A", FTP_TYPE, "A"),
    OK("TYPE a n", FTP_TYPE, "a n"),
    OK("TYPE I", FTP_TYPE, "I"),
    OK("TYPE L 8", FTP_TYPE, "L 8"),
    OK("TYPE L8", FTP_TYPE, "L8"),
    OK("STRU F", FTP_STRU, "F"),
    OK("STRU R", FTP_STRU, "R"),
    OK("MODE S", FTP_MODE, "S"),
    OK("RETR  leading space", FTP_RETR, " leading space"),
    OK("STOR file.bin", FTP_STOR, "file.bin"),
    OK("STOU", FTP_STOU, NULL),
    OK("APPE log", FTP_APPE, "log"),
    OK("ALLO 1000", FTP_ALLO, "1000"),
    OK("ALLO 1000 R 80", FTP_ALLO, "1000 R 80"),
    OK("REST 0", FTP_REST, "0"),
    OK("REST 9223372036854775807", FTP_REST, "9223372036854775807"),
    OK("RNFR a", FTP_RNFR, "a"),
    OK("RNTO b", FTP_RNTO, "b"),
    OK("ABOR", FTP_ABOR, NULL),
    OK("DELE x", FTP_DELE, "x"),
    OK("RMD d", FTP_RMD, "d"),
    OK("XRMD d", FTP_RMD, "d"),
    OK("MKD d", FTP_MKD, "d"),
    OK("XMKD d", FTP_MKD, "d"),
    OK("PWD", FTP_PWD, NULL),
    OK("XPWD", FTP_PWD, NULL),
    OK("LIST", FTP_LIST, NULL),
    OK("LIST -la", FTP_LIST, "-la"),
    OK("NLST dir", FTP_NLST, "dir"),
    OK("SITE CHMOD 644 f", FTP_SITE, "CHMOD 644 f"),
    OK("SYST", FTP_SYST, NULL),
    OK("STAT", FTP_STAT, NULL),
    OK("STAT /", FTP_STAT, "/"),
    OK("HELP", FTP_HELP, NULL),
    OK("HELP RETR", FTP_HELP, "RETR"),
    OK("FEAT", FTP_FEAT, NULL),
    OK("OPTS UTF8 ON", FTP_OPTS, "UTF8 ON"),
    OK("SIZE f", FTP_SIZE, "f"),
    OK("MDTM f", FTP_MDTM, "f"),
    OK("MLST", FTP_MLST, NULL),
    OK("MLSD d", FTP_MLSD, "d"),
    OK("AUTH TLS", FTP_AUTH, "TLS"),
    OK("PBSZ 0", FTP_PBSZ, "0"),
    OK("PROT P", FTP_PROT, "P"),
    OK("PROT c", FTP_PROT, "c"),
    OK("CCC", FTP_CCC, NULL),
    OK("HOST ftp.example.test", FTP_HOST, "ftp.example.test"),
    OK("EPSV", FTP_EPSV, NULL),
    OK("EPSV ALL", FTP_EPSV, "ALL"),
    OK("EPSV 2", FTP_EPSV, "2"),
    OK("SMNT x", FTP_SMNT, "x"),
    /* Telnet: the Synch before ABOR, option negotiation, IAC IAC */
    OK("\xff\xf4\xff\xf2" "ABOR", FTP_ABOR, NULL),
    OK("\xff\xf4\xff" "ABOR", FTP_ABOR, NULL),          /* DM taken out of band */
    OK("\xff\xfb\x01NOOP", FTP_NOOP, NULL),
    OK("RETR a\xff\xff" "b", FTP_RETR, "a\xff" "b"),
    OK("NOOP\xff", FTP_NOOP, NULL),
    OK("  NOOP", FTP_NOOP, NULL),
    /* errors */
    BAD("", FTP_PARSE_EMPTY, FTP_UNKNOWN),
    BAD("   ", FTP_PARSE_EMPTY, FTP_UNKNOWN),
    BAD("XYZZY", FTP_PARSE_UNKNOWN, FTP_UNKNOWN),
    BAD("FOO bar", FTP_PARSE_UNKNOWN, FTP_UNKNOWN),
    BAD("RETRx", FTP_PARSE_UNKNOWN, FTP_UNKNOWN),
    BAD("RE", FTP_PARSE_UNKNOWN, FTP_UNKNOWN),
    BAD("RETR", FTP_PARSE_ARGS, FTP_RETR),
    BAD("RETR ", FTP_PARSE_ARGS, FTP_RETR),
    BAD("CDUP x", FTP_PARSE_ARGS, FTP_CDUP),
    BAD("PWD x", FTP_PARSE_ARGS, FTP_PWD),
    BAD("RETR a\rb", FTP_PARSE_CR, FTP_RETR),
    BAD("RETR a\r", FTP_PARSE_CR, FTP_RETR),
    BAD("TYPE E", FTP_PARSE_PARAM, FTP_TYPE),
    BAD("TYPE A T", FTP_PARSE_PARAM, FTP_TYPE),
    BAD("TYPE L 7", FTP_PARSE_PARAM, FTP_TYPE),
    BAD("TYPE X", FTP_PARSE_ARGS, FTP_TYPE),
    BAD("TYPE AN", FTP_PARSE_ARGS, FTP_TYPE),
    BAD("TYPE L 0", FTP_PARSE_ARGS, FTP_TYPE),
    BAD("STRU X", FTP_PARSE_ARGS, FTP_STRU),
    BAD("MODE SS", FTP_PARSE_ARGS, FTP_MODE),
    BAD("PROT X", FTP_PARSE_ARGS, FTP_PROT),
    BAD("REST -1", FTP_PARSE_ARGS, FTP_REST),
    BAD("REST 9223372036854775808", FTP_PARSE_ARGS, FTP_REST),
    BAD("REST 1x", FTP_PARSE_ARGS, FTP_REST),
    BAD("PBSZ 4294967296", FTP_PARSE_ARGS, FTP_PBSZ),
    BAD("ALLO x", FTP_PARSE_ARGS, FTP_ALLO),
    BAD("ALLO 10 X 5", FTP_PARSE_ARGS, FTP_ALLO),
    BAD("PORT 1,2,3,4,5", FTP_PARSE_ARGS, FTP_PORT),
    BAD("PORT 1,2,3,4,5,6,7", FTP_PARSE_ARGS, FTP_PORT),
    BAD("PORT 256,2,3,4,5,6", FTP_PARSE_ARGS, FTP_PORT),
    BAD("PORT 1,2,3,4,5,", FTP_PARSE_ARGS, FTP_PORT),
    BAD("PORT 1,,3,4,5,6", FTP_PARSE_ARGS, FTP_PORT),
    BAD("PORT 0001,2,3,4,5,6", FTP_PARSE_ARGS, FTP_PORT),
    BAD("EPRT |3|1.2.3.4|5|", FTP_PARSE_FAMILY, FTP_EPRT),
    BAD("EPRT |1|1.2.3.4|5", FTP_PARSE_ARGS, FTP_EPRT),
    BAD("EPRT |1|::1|5|", FTP_PARSE_ARGS, FTP_EPRT),
    BAD("EPRT |2|1.2.3.4|5|", FTP_PARSE_ARGS, FTP_EPRT),
    BAD("EPRT |1|1.2.3.4|65536|", FTP_PARSE_ARGS, FTP_EPRT),
    BAD("EPRT |1|1.2.3.4|5|x", FTP_PARSE_ARGS, FTP_EPRT),
    BAD("EPSV 3", FTP_PARSE_FAMILY, FTP_EPSV),
    BAD("EPSV x", FTP_PARSE_ARGS, FTP_EPSV),
};

TEST(ftp_parse_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct line_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->line);
        struct ftp_cmd cmd;
        int r = ftp_parse(c->line, len, &cmd);
        if (r != c->rc || cmd.verb != c->verb)
            fprintf(stderr, "    case %zu \"%s\": rc %d verb %d\n", i, c->line, r, cmd.verb);
        CHECK_INT(r, c->rc);
        CHECK_INT(cmd.verb, c->verb);
        if (r == 0) {
            CHECK_INT(cmd.has_arg, c->arg != NULL);
            if (c->arg)
                CHECK_STR(cmd.arg, c->arg);
        }
    }
}

TEST(ftp_parse_nul)
{
    struct ftp_cmd cmd;
    static const char line[] = "RETR a\0/etc/passwd";
    CHECK_INT(ftp_parse(line, sizeof line - 1, &cmd), FTP_PARSE_NUL);
    CHECK_INT(cmd.verb, FTP_RETR);
    CHECK_INT(ftp_parse("\0", 1, &cmd), FTP_PARSE_NUL);
    CHECK_INT(ftp_parse("NO\0OP", 5, &cmd), FTP_PARSE_NUL);
}

TEST(ftp_parse_toolong)
{
    static char line[FTP_MAX_LINE + 100];
    memcpy(line, "RETR ", 5);
    memset(line + 5, 'a', sizeof line - 5);
    struct ftp_cmd cmd;
    CHECK_INT(ftp_parse(line, sizeof line, &cmd), FTP_PARSE_TOOLONG);
    CHECK_INT(ftp_parse(line, 5 + FTP_MAX_ARG, &cmd), 0);
    CHECK_INT(cmd.arglen, FTP_MAX_ARG);
    CHECK_INT(ftp_parse(line, 5 + FTP_MAX_ARG + 1, &cmd), FTP_PARSE_TOOLONG);
}

TEST(ftp_parse_numbers)
{
    struct ftp_cmd cmd;
    REQUIRE(ftp_parse("TYPE L 8", 8, &cmd) == 0);
    CHECK_INT(cmd.code, 'L');
    CHECK_INT(cmd.bytesize, 8);
    REQUIRE(ftp_parse("type a", 6, &cmd) == 0);
    CHECK_INT(cmd.code, 'A');
    CHECK_INT(cmd.form, 'N');
    REQUIRE(ftp_parse("REST 12345", 10, &cmd) == 0);
    CHECK_INT(cmd.num, 12345);
    REQUIRE(ftp_parse("ALLO 77 R 5", 11, &cmd) == 0);
    CHECK_INT(cmd.num, 77);
    REQUIRE(ftp_parse("PBSZ 0", 6, &cmd) == 0);
    CHECK_INT(cmd.num, 0);
    REQUIRE(ftp_parse("EPSV ALL", 8, &cmd) == 0);
    CHECK_INT(cmd.epsv, FTP_EPSV_ALL);
    REQUIRE(ftp_parse("EPSV 1", 6, &cmd) == 0);
    CHECK_INT(cmd.epsv, 1);
    REQUIRE(ftp_parse("prot p", 6, &cmd) == 0);
    CHECK_INT(cmd.code, 'P');
}

TEST(ftp_parse_addresses)
{
    struct ftp_cmd cmd;
    REQUIRE(ftp_parse("PORT 127,0,0,1,39,16", 20, &cmd) == 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&cmd.addr;
    CHECK_INT(sin->sin_family, AF_INET);
    CHECK_INT(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    CHECK_INT(ntohs(sin->sin_port), 39 * 256 + 16);

    REQUIRE(ftp_parse("EPRT |1|132.235.1.2|6275|", 25, &cmd) == 0);
    CHECK_INT(sin->sin_family, AF_INET);
    CHECK_INT(ntohl(sin->sin_addr.s_addr), 0x84eb0102);
    CHECK_INT(ntohs(sin->sin_port), 6275);

    const char *l6 = "EPRT !2!1080::8:800:200C:417A!5282!";
    REQUIRE(ftp_parse(l6, strlen(l6), &cmd) == 0);
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&cmd.addr;
    CHECK_INT(s6->sin6_family, AF_INET6);
    CHECK_INT(ntohs(s6->sin6_port), 5282);
    struct in6_addr want;
    inet_pton(AF_INET6, "1080::8:800:200C:417A", &want);
    CHECK(memcmp(&s6->sin6_addr, &want, sizeof want) == 0);

    struct sockaddr_storage ss;
    CHECK_INT(ftp_parse_eprt("|2|::1|0|", 9, &ss), 0);
    CHECK_INT(ftp_parse_port("0,0,0,0,0,0", 11, &ss), 0);
}

TEST(ftp_parse_replies)
{
    const char *t;
    CHECK_INT(ftp_parse_reply(FTP_PARSE_UNKNOWN, &t), 500);
    CHECK_INT(ftp_parse_reply(FTP_PARSE_EMPTY, &t), 500);
    CHECK_INT(ftp_parse_reply(FTP_PARSE_ARGS, &t), 501);
    CHECK_INT(ftp_parse_reply(FTP_PARSE_TOOLONG, &t), 500);
    CHECK_INT(ftp_parse_reply(FTP_PARSE_PARAM, &t), 504);
    CHECK_INT(ftp_parse_reply(FTP_PARSE_FAMILY, &t), 522);
    CHECK(t && t[0]);
    CHECK_STR(ftp_verb_name(FTP_RETR), "RETR");
    CHECK_STR(ftp_verb_name(FTP_UNKNOWN), "?");
}
