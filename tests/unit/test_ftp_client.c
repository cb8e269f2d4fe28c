/* Unit tests of the FTP client's pure parsers: replies (RFC 959 section
 * 4.2), 227/229, FEAT, 257, MDTM, MLSD, ftp:// URLs and netrc files. */
#include "test.h"

#include <string.h>

#include "base/err.h"
#include "ftp/client.h"
#include "ftp/client_url.h"

static int parse(const char *s, struct ftpc_reply *r)
{
    return ftpc_reply_parse(s, strlen(s), r);
}

TEST(ftpc_reply_single_line)
{
    struct ftpc_reply r;
    CHECK_INT(parse("220 Service ready\r\n", &r), 1);
    CHECK_INT(r.code, 220);
    CHECK_INT(r.len, 19);
    CHECK(!r.multi);
    /* a second reply behind it is left alone */
    CHECK_INT(parse("331 User ok\r\n230 in\r\n", &r), 1);
    CHECK_INT(r.code, 331);
    CHECK_INT(r.len, 13);
    /* bare LF, and the code alone */
    CHECK_INT(parse("200 ok\n", &r), 1);
    CHECK_INT(r.len, 7);
    CHECK_INT(parse("226\r\n", &r), 1);
    CHECK_INT(r.code, 226);
}

TEST(ftpc_reply_multi_line)
{
    struct ftpc_reply r;
    /* RFC 959 section 4.2's example: inner lines may start with digits */
    const char *s = "123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n"
                    "123 The last line\r\nnext";
    CHECK_INT(parse(s, &r), 1);
    CHECK_INT(r.code, 123);
    CHECK(r.multi);
    CHECK_INT(r.len, strlen(s) - 4);
    /* a line with another code, or the same code and '-', does not end it */
    CHECK_INT(parse("211-x\r\n212 y\r\n211-z\r\n", &r), 0);
    CHECK_INT(parse("211-x\r\n212 y\r\n211-z\r\n211 end\r\n", &r), 1);
    CHECK_INT(r.len, 30);
    char text[128];
    const char *t = "211-x\r\n212 y\r\n211 e\x01nd\r\n";
    REQUIRE(parse(t, &r) == 1);
    ftpc_reply_text(t, &r, text, sizeof text);
    CHECK_STR(text, "211-x\n212 y\n211 e?nd");
}

TEST(ftpc_reply_incomplete_and_bad)
{
    struct ftpc_reply r;
    CHECK_INT(parse("", &r), 0);
    CHECK_INT(parse("22", &r), 0);
    CHECK_INT(parse("220 hel", &r), 0);
    CHECK_INT(parse("220-hello\r\n", &r), 0);
    CHECK_INT(parse("hello\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("h", &r), OP_E_SYNTAX);
    CHECK_INT(parse("620 x\r\n", &r), OP_E_SYNTAX);      /* first digit 1-5 */
    CHECK_INT(parse("260 x\r\n", &r), OP_E_SYNTAX);      /* second digit 0-5 */
    CHECK_INT(parse("22x x\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("2200 x\r\n", &r), OP_E_SYNTAX);
    CHECK_INT(parse("220x", &r), OP_E_SYNTAX);
    CHECK_INT(ftpc_reply_parse("220 a\0b\r\n", 9, &r), OP_E_SYNTAX);
    CHECK_INT(ftpc_reply_parse("220-a\r\nb\0\r\n220 c\r\n", 18, &r), OP_E_SYNTAX);
    /* no end within the limit */
    static char big[FTPC_REPLY_MAX + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, "220 ", 4);
    CHECK_INT(ftpc_reply_parse(big, sizeof big, &r), OP_E_TOOLONG);
    memcpy(big, "220-x\r\n", 7);
    CHECK_INT(ftpc_reply_parse(big, sizeof big, &r), OP_E_TOOLONG);
}

TEST(ftpc_pasv_epsv)
{
    uint8_t a[4];
    uint16_t port;
    const char *s = "227 Entering Passive Mode (192,168,1,2,4,1).";
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), 0);
    CHECK(a[0] == 192 && a[1] == 168 && a[2] == 1 && a[3] == 2);
    CHECK_INT(port, 1025);
    s = "227 =10,0,0,1,200,10";                          /* no parentheses */
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), 0);
    CHECK_INT(port, 200 * 256 + 10);
    s = "227 Mode 2 (127,0,0,1,0,21)";                  /* a number before */
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), 0);
    CHECK_INT(port, 21);
    s = "227 (256,0,0,1,4,1)";
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), OP_E_SYNTAX);
    s = "227 (1,2,3,4,5)";
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), OP_E_SYNTAX);
    s = "227 (1,2,3,4,0,0)";
    CHECK_INT(ftpc_pasv_parse(s, strlen(s), a, &port), OP_E_SYNTAX);
    s = "227 (1,2,3,4,5,6";                             /* cut: still six numbers */
    CHECK_INT(ftpc_pasv_parse(s, 16, a, &port), 0);
    CHECK_INT(ftpc_pasv_parse(s, 15, a, &port), OP_E_SYNTAX);

    s = "229 Entering Extended Passive Mode (|||6446|)";
    CHECK_INT(ftpc_epsv_parse(s, strlen(s), &port), 0);
    CHECK_INT(port, 6446);
    s = "229 ok (!!!65535!)";
    CHECK_INT(ftpc_epsv_parse(s, strlen(s), &port), 0);
    CHECK_INT(port, 65535);
    const char *bad[] = {"229 (|||65536|)", "229 (|||0|)", "229 (||6446|)", "229 (|!|6446|)",
                         "229 (|||6446!)", "229 (|||6446|", "229 (|||abc|)", "229 |||6446|",
                         "229 (   6446 )"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(ftpc_epsv_parse(bad[i], strlen(bad[i]), &port), OP_E_SYNTAX);
}

TEST(ftpc_feat)
{
    const char *s = "211-Extensions supported:\r\n AUTH TLS\r\n EPRT\r\n EPSV\r\n MDTM\r\n"
                    " MLST type*;size*;modify*;\r\n PBSZ\r\n PROT\r\n REST STREAM\r\n SIZE\r\n"
                    " UTF8\r\n211 End\r\n";
    unsigned f = ftpc_feat_parse(s, strlen(s));
    CHECK_INT(f, FTPC_FEAT_AUTH_TLS | FTPC_FEAT_EPRT | FTPC_FEAT_EPSV | FTPC_FEAT_MDTM |
                 FTPC_FEAT_MLST | FTPC_FEAT_PBSZ | FTPC_FEAT_PROT | FTPC_FEAT_REST_STREAM |
                 FTPC_FEAT_SIZE | FTPC_FEAT_UTF8);
    /* case, REST without STREAM, AUTH without TLS, lines not starting with a space */
    s = "211-x\r\n size\r\n REST\r\n AUTH SSL\r\nMDTM\r\n auth tls;ssl\r\n211 end\r\n";
    CHECK_INT(ftpc_feat_parse(s, strlen(s)), FTPC_FEAT_SIZE | FTPC_FEAT_AUTH_TLS);
    s = "211 no features\r\n";
    CHECK_INT(ftpc_feat_parse(s, strlen(s)), 0);
    s = "500 unknown\r\n";
    CHECK_INT(ftpc_feat_parse(s, strlen(s)), 0);
}

TEST(ftpc_pwd_and_time)
{
    char out[64];
    const char *s = "257 \"/a \"\"quoted\"\" dir\" is current";
    CHECK_INT(ftpc_pwd_parse(s, strlen(s), out, sizeof out), 15);
    CHECK_STR(out, "/a \"quoted\" dir");
    s = "257 \"/unterminated";
    CHECK_INT(ftpc_pwd_parse(s, strlen(s), out, sizeof out), OP_E_SYNTAX);
    s = "257 no quotes";
    CHECK_INT(ftpc_pwd_parse(s, strlen(s), out, sizeof out), OP_E_SYNTAX);
    s = "257 \"/long\"";
    CHECK_INT(ftpc_pwd_parse(s, strlen(s), out, 4), OP_E_TOOLONG);

    time_t t;
    s = "213 20240229123456";
    CHECK_INT(ftpc_time_parse(s, strlen(s), &t), 0);
    CHECK_INT(t, 1709210096);
    s = "19700101000000.123";
    CHECK_INT(ftpc_time_parse(s, strlen(s), &t), 0);
    CHECK_INT(t, 0);
    s = "213 2024022912345";
    CHECK_INT(ftpc_time_parse(s, strlen(s), &t), OP_E_SYNTAX);
    s = "213 20241329123456";
    CHECK_INT(ftpc_time_parse(s, strlen(s), &t), OP_E_SYNTAX);
    s = "213 20240229123456x";
    CHECK_INT(ftpc_time_parse(s, strlen(s), &t), OP_E_SYNTAX);
}

TEST(ftpc_mlsd)
{
    struct ftpc_entry e;
    const char *s = "type=file;size=1234;modify=20240101000000;perm=r; notes.txt\r\n";
    CHECK_INT(ftpc_mlsd_parse(s, strlen(s), &e), 0);
    CHECK(e.type == 'f' && e.has_size && e.size == 1234 && e.has_modify);
    CHECK(e.namelen == 9 && memcmp(e.name, "notes.txt", 9) == 0);
    s = "Type=dir;UNIQUE=801U1; my dir";
    CHECK_INT(ftpc_mlsd_parse(s, strlen(s), &e), 0);
    CHECK(e.type == 'd' && !e.has_size && e.namelen == 6);
    s = "type=cdir; .";
    CHECK_INT(ftpc_mlsd_parse(s, strlen(s), &e), 0);
    CHECK(e.type == 'c');
    CHECK_INT(ftpc_mlsd_parse("nospace", 7, &e), OP_E_SYNTAX);
    CHECK_INT(ftpc_mlsd_parse("type=file; ", 11, &e), OP_E_SYNTAX);
    CHECK_INT(ftpc_mlsd_parse("typefile; x", 11, &e), OP_E_SYNTAX);
    CHECK_INT(ftpc_mlsd_parse("size=12a; x", 11, &e), OP_E_SYNTAX);
}

static int url(const char *s, struct ftpc_url *u)
{
    return ftpc_url_parse(s, strlen(s), u);
}

TEST(ftpc_url_parse)
{
    struct ftpc_url u;
    CHECK_INT(url("ftp://alice@example.test:2121/dir/file.txt", &u), 0);
    CHECK_STR(u.user, "alice");
    CHECK_STR(u.host, "example.test");
    CHECK_INT(u.port, 2121);
    CHECK_STR(u.path, "dir/file.txt");
    CHECK(!u.has_password && u.type == 0);

    CHECK_INT(url("FTP://[::1]/", &u), 0);
    CHECK_STR(u.host, "::1");
    CHECK_INT(u.port, 21);
    CHECK_STR(u.path, "");
    CHECK_INT(url("ftp://127.0.0.1", &u), 0);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_STR(u.user, "");

    /* %-decoding; %2F makes the path absolute; the last '@' ends the user */
    CHECK_INT(url("ftp://bob%40example.test@h/%2Fetc/a%20b;type=a", &u), 0);
    CHECK_STR(u.user, "bob@example.test");
    CHECK_STR(u.path, "/etc/a b");
    CHECK(u.type == 'a');
    CHECK_INT(url("ftp://me@x@h/", &u), 0);
    CHECK_STR(u.user, "me@x");

    /* a password is noticed, so the caller can refuse it */
    CHECK_INT(url("ftp://alice:secret@h/f", &u), 0);
    CHECK(u.has_password);
    CHECK_STR(u.user, "alice");

    const char *bad[] = {"http://h/", "ftp://", "ftp:///path", "ftp://h:0/", "ftp://h:65536/",
                         "ftp://h:/", "ftp://h:21x/", "ftp://[::1/", "ftp://[]/",
                         "ftp://h/a%0d%0aDELE%20x", "ftp://h/%00", "ftp://h/%zz", "ftp://h/%4",
                         "ftp://ho st/", "ftp://@h/", "ftp://h/f;type=x", "ftp://[::1]x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (url(bad[i], &u) != OP_E_SYNTAX)
            fprintf(stderr, "    accepted: %s\n", bad[i]);
        CHECK_INT(url(bad[i], &u), OP_E_SYNTAX);
    }
    char longhost[400] = "ftp://";
    memset(longhost + 6, 'a', 300);
    CHECK_INT(url(longhost, &u), OP_E_TOOLONG);
}

static int netrc(const char *t, const char *host, const char *login, struct ftpc_netrc *e)
{
    return ftpc_netrc_find(t, strlen(t), host, login, e);
}

TEST(ftpc_netrc)
{
    struct ftpc_netrc e;
    const char *t = "machine a.test login alice password pw1\n"
        "machine b.test\n  login bob\n  password \"two words \\\" q\"\n"
        "machine a.test login carol password pw3\n"
        "macdef init\ncd /pub\nbinary\n\n"
        "default login anonymous password guest@\n";
    CHECK_INT(netrc(t, "a.test", NULL, &e), 1);
    CHECK_STR(e.login, "alice");
    CHECK_STR(e.password, "pw1");
    CHECK_INT(netrc(t, "A.TEST", "carol", &e), 1);
    CHECK_STR(e.password, "pw3");
    CHECK_INT(netrc(t, "b.test", NULL, &e), 1);
    CHECK_STR(e.login, "bob");
    CHECK_STR(e.password, "two words \" q");
    /* no machine entry: the default one; a login it does not have: none */
    CHECK_INT(netrc(t, "c.test", NULL, &e), 1);
    CHECK_STR(e.login, "anonymous");
    CHECK_INT(netrc(t, "c.test", "dave", &e), 0);
    CHECK_INT(netrc("machine x login y", "z", NULL, &e), 0);
    CHECK_INT(netrc("", "z", NULL, &e), 0);
    /* errors */
    CHECK_INT(netrc("machine", "z", NULL, &e), OP_E_SYNTAX);
    CHECK_INT(netrc("machine x login", "x", NULL, &e), OP_E_SYNTAX);
    CHECK_INT(netrc("machine x bogus y", "x", NULL, &e), OP_E_SYNTAX);
    CHECK_INT(netrc("machine x password \"open", "x", NULL, &e), OP_E_SYNTAX);
    CHECK_INT(ftpc_netrc_find("machine x\0 login y", 18, "x", NULL, &e), OP_E_SYNTAX);
    /* the macro body is skipped, whatever it holds */
    CHECK_INT(netrc("macdef m\nmachine evil password bad\n\nmachine x login y password z",
                    "evil", NULL, &e), 0);
    CHECK_INT(netrc("macdef m\nmachine evil password bad\n\nmachine x login y password z",
                    "x", NULL, &e), 1);
    CHECK_STR(e.password, "z");
}
