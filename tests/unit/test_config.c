/* Unit tests for src/base/config.c: the pure parser, the typed values and
 * the schema loader, with a small schema of the test's own. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "base/util.h"

/* ---- cfg_parse ------------------------------------------------------------ */

/* Records every entry as "section|key|value|line\n". */
static int record(void *arg, const char *section, const char *key, const char *value,
                  int line, char *err, size_t errlen)
{
    return buf_printf(arg, "%s|%s|%s|%d\n", section, key, value, line);
}

struct parse_result {
    int rc;
    int errline;
    char err[256];
    struct buf rec;
};

static void run_parse(const char *text, size_t len, struct parse_result *pr)
{
    pr->rec = (struct buf)BUF_INIT;
    /* An exact-size heap copy: any read past len is caught by ASan. */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, text, len);
    pr->errline = -1;
    pr->rc = cfg_parse(copy, len, record, &pr->rec, &pr->errline, pr->err, sizeof pr->err);
    free(copy);
    buf_cstr(&pr->rec);
}

/* Parse text (a C string) and compare the recorded entries. */
static void expect_entries(const char *text, const char *want)
{
    struct parse_result pr;
    run_parse(text, strlen(text), &pr);
    CHECK_INT(pr.rc, 0);
    CHECK_INT(pr.errline, 0);
    CHECK_STR(buf_cstr(&pr.rec), want);
    buf_free(&pr.rec);
}

/* Parse text (len bytes; 0: a C string) and expect a syntax error at line,
 * with msg in the message. */
static void expect_error(const char *text, size_t len, int line, const char *msg)
{
    struct parse_result pr;
    run_parse(text, len ? len : strlen(text), &pr);
    CHECK_INT(pr.rc, OP_E_SYNTAX);
    CHECK_INT(pr.errline, line);
    if (!strstr(pr.err, msg)) {
        fprintf(stderr, "    error \"%s\" lacks \"%s\"\n", pr.err, msg);
        test_fail(__FILE__, __LINE__, "error message");
    }
    buf_free(&pr.rec);
}

TEST(cfg_parse_sections_and_comments)
{
    expect_entries("", "");
    expect_entries("\n\n  \n\t\n", "");
    expect_entries("# only a comment\n; another\n   # indented\n", "");
    expect_entries("[server]\nworkers = 4\n\n# c\n[pop3]\nlisten=1.2.3.4:110\n",
                   "server|workers|4|2\npop3|listen|1.2.3.4:110|6\n");
    expect_entries("[a]\nk = v", "a|k|v|2\n");                  /* no final newline */
    expect_entries("[a] # comment\nk = v\n", "a|k|v|2\n");
    expect_entries("[a];c\nk=v\n", "a|k|v|2\n");
    expect_entries("  [a]  \n  k  =  v  \n", "a|k|v|2\n");
    expect_entries("[my-sect.ion_1]\nkey_name-2.x = 1\n", "my-sect.ion_1|key_name-2.x|1|2\n");
    expect_entries("[a]\nk = 1\n[b]\nk = 2\n[a]\nj = 3\n", "a|k|1|2\nb|k|2|4\na|j|3|6\n");
}

TEST(cfg_parse_values)
{
    expect_entries("[a]\nk =\n", "a|k||2\n");
    expect_entries("[a]\nk = two words \n", "a|k|two words|2\n");
    expect_entries("[a]\nk = v # comment\n", "a|k|v|2\n");
    expect_entries("[a]\nk = v\t; comment\n", "a|k|v|2\n");
    expect_entries("[a]\nk = a#b;c\n", "a|k|a#b;c|2\n");          /* no blank before: kept */
    expect_entries("[a]\nk = # just a comment\n", "a|k||2\n");
    expect_entries("[a]\nk =#x\n", "a|k|#x|2\n");
    expect_entries("[a]\nk = a = b\n", "a|k|a = b|2\n");
    expect_entries("[a]\nk = say \"x\"\n", "a|k|say \"x\"|2\n");   /* quotes only at the start */
}

TEST(cfg_parse_quoted_values)
{
    expect_entries("[a]\nk = \"  spaced # not a comment ; either \"\n",
                   "a|k|  spaced # not a comment ; either |2\n");
    expect_entries("[a]\nk = \"a\\\"b\\\\c\"\n", "a|k|a\"b\\c|2\n");
    expect_entries("[a]\nk = \"\"\n", "a|k||2\n");
    expect_entries("[a]\nk = \"v\"  # comment\n", "a|k|v|2\n");
    expect_entries("[a]\nk = \"v\";comment\n", "a|k|v|2\n");
    expect_entries("[a]\nk=\"v\"\t\n", "a|k|v|2\n");
    expect_error("[a]\nk = \"open\n", 0, 2, "unterminated");
    expect_error("[a]\nk = \"ends with backslash\\\"\n", 0, 2, "unterminated");
    expect_error("[a]\nk = \"\\n\"\n", 0, 2, "bad escape");
    expect_error("[a]\nk = \"a\\", 0, 2, "bad escape");
    expect_error("[a]\nk = \"a\" b\n", 0, 2, "after the closing quote");
}

TEST(cfg_parse_crlf)
{
    expect_entries("[a]\r\nk = v\r\n\r\n# c\r\nj = \"q\"\r\n", "a|k|v|2\na|j|q|5\n");
    expect_entries("[a]\r\nk = v # c\r\n", "a|k|v|2\n");
    expect_entries("[a]\r\nk = v\r", "a|k|v|2\n");
}

TEST(cfg_parse_long_lines)
{
    /* CFG_MAX_LINE bytes is fine, one more is not (CR of CRLF not counted). */
    size_t n = CFG_MAX_LINE;
    char *text = malloc(n + 64);
    REQUIRE(text);
    strcpy(text, "[a]\nk = ");
    size_t head = strlen(text);
    memset(text + head, 'v', n - 4);                  /* "k = " + value = n bytes */
    strcpy(text + head + n - 4, "\r\n");
    struct parse_result pr;
    run_parse(text, strlen(text), &pr);
    CHECK_INT(pr.rc, 0);
    CHECK_INT(buf_len(&pr.rec), strlen("a|k||2\n") + n - 4);
    buf_free(&pr.rec);

    strcpy(text + head + n - 4, "v\n");
    expect_error(text, strlen(text), 2, "longer than");
    /* Also a comment line may not exceed the limit. */
    memset(text, '#', n + 1);
    text[n + 1] = '\n';
    expect_error(text, n + 2, 1, "longer than");
    free(text);
}

TEST(cfg_parse_errors)
{
    expect_error("[a]\nk = a\0b\n", 12, 2, "NUL");
    expect_error("# fine\n\0\n", 9, 2, "NUL");
    expect_error("k = v\n", 0, 1, "before any [section]");
    expect_error("\n\nk = v\n[a]\n", 0, 3, "before any [section]");
    expect_error("[a]\nkey value\n", 0, 2, "expected '='");
    expect_error("[a]\nkey\n", 0, 2, "expected '='");
    expect_error("[a]\nkey name = v\n", 0, 2, "expected '='");
    expect_error("[a]\n= v\n", 0, 2, "expected 'key = value'");
    expect_error("[a]\n\"k\" = v\n", 0, 2, "expected 'key = value'");
    expect_error("[]\n", 0, 1, "bad section");
    expect_error("[a b c]\n", 0, 1, "bad section");        /* [kind NAME] takes one name */
    expect_error("[abc\n", 0, 1, "bad section");
    expect_error("[ab/c]\n", 0, 1, "bad section");
    expect_error("[ a]\n", 0, 1, "bad section");
    expect_error("[a] junk\n", 0, 1, "text after section header");
    expect_error("[a]\n[b]x\n", 0, 2, "text after section header");

    /* Names up to CFG_MAX_NAME bytes. */
    char text[300];
    char name[CFG_MAX_NAME + 2];
    memset(name, 'n', CFG_MAX_NAME);
    name[CFG_MAX_NAME] = '\0';
    snprintf(text, sizeof text, "[%s]\n%s = 1\n", name, name);
    struct parse_result pr;
    run_parse(text, strlen(text), &pr);
    CHECK_INT(pr.rc, 0);
    buf_free(&pr.rec);
    strcat(name, "n");
    snprintf(text, sizeof text, "[%s]\n", name);
    expect_error(text, strlen(text), 1, "bad section");
    snprintf(text, sizeof text, "[a]\n%s = 1\n", name);
    expect_error(text, strlen(text), 2, "expected 'key = value'");
}

static int fail_on_b(void *arg, const char *section, const char *key, const char *value,
                     int line, char *err, size_t errlen)
{
    if (strcmp(key, "b") == 0) {
        snprintf(err, errlen, "callback refused %s", key);
        return -EINVAL;
    }
    return 0;
}

TEST(cfg_parse_callback_error)
{
    const char text[] = "[s]\na = 1\n\n# x\nb = 2\nc = 3\n";
    int line = -1;
    char err[100];
    CHECK_INT(cfg_parse(text, sizeof text - 1, fail_on_b, NULL, &line, err, sizeof err), -EINVAL);
    CHECK_INT(line, 5);
    CHECK_STR(err, "callback refused b");
}

/* ---- typed values ----------------------------------------------------------- */

TEST(cfg_values_bool)
{
    const char *yes[] = {"yes", "YES", "true", "True", "on", "1"};
    const char *no[] = {"no", "No", "false", "FALSE", "off", "0"};
    const char *bad[] = {"", "y", "2", "yes ", "nope", "enabled"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        bool b = false;
        CHECK_INT(cfg_parse_bool(yes[i], &b), 0);
        CHECK(b);
    }
    for (size_t i = 0; i < ARRAY_LEN(no); i++) {
        bool b = true;
        CHECK_INT(cfg_parse_bool(no[i], &b), 0);
        CHECK(!b);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        bool b = true;
        CHECK_INT(cfg_parse_bool(bad[i], &b), OP_E_SYNTAX);
        CHECK(b);                                      /* untouched on error */
    }
}

TEST(cfg_values_uint)
{
    uint64_t v = 7;
    CHECK_INT(cfg_parse_uint("0", &v), 0);
    CHECK_INT(v, 0);
    CHECK_INT(cfg_parse_uint("0042", &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(cfg_parse_uint("18446744073709551615", &v), 0);
    CHECK(v == UINT64_MAX);
    CHECK_INT(cfg_parse_uint("18446744073709551610", &v), 0);
    CHECK(v == UINT64_MAX - 5);
    v = 7;
    CHECK_INT(cfg_parse_uint("18446744073709551616", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("99999999999999999999", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("-1", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("+1", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("1 ", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint(" 1", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("0x10", &v), OP_E_SYNTAX);
    CHECK_INT(cfg_parse_uint("1k", &v), OP_E_SYNTAX);
    CHECK_INT(v, 7);
}

TEST(cfg_values_duration)
{
    static const struct { const char *s; uint64_t ms; } good[] = {
        {"0", 0}, {"10", 10000}, {"250ms", 250}, {"30s", 30000}, {"5m", 300000},
        {"1h", 3600000}, {"2d", 172800000}, {"30S", 30000}, {"1MS", 1}, {"1H", 3600000},
        {"0ms", 0}, {"18446744073709551615ms", UINT64_MAX},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        uint64_t v = 1;
        CHECK_INT(cfg_parse_duration(good[i].s, &v), 0);
        CHECK(v == good[i].ms);
    }
    const char *bad[] = {"", "s", "-1s", "1.5s", "10 s", "10x", "1sec", "1w", "ms",
                         "1s1", "213503982334601d", "18446744073709551615"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        uint64_t v = 1;
        if (cfg_parse_duration(bad[i], &v) != OP_E_SYNTAX) {
            fprintf(stderr, "    duration \"%s\" accepted\n", bad[i]);
            test_fail(__FILE__, __LINE__, "bad duration");
        }
        CHECK_INT(v, 1);
    }
    uint64_t v;
    CHECK_INT(cfg_parse_duration("213503982334601ms", &v), 0);   /* no unit overflow */
}

TEST(cfg_values_size)
{
    static const struct { const char *s; uint64_t b; } good[] = {
        {"0", 0}, {"512", 512}, {"64k", 65536}, {"64K", 65536}, {"10M", 10485760},
        {"1G", 1073741824}, {"2kb", 2048}, {"3KiB", 3072}, {"1mib", 1048576},
        {"1gb", 1073741824}, {"17179869183G", 17179869183ull << 30},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        uint64_t v = 1;
        CHECK_INT(cfg_parse_size(good[i].s, &v), 0);
        CHECK(v == good[i].b);
    }
    const char *bad[] = {"", "k", "1t", "1T", "1.5M", "1 M", "-1", "10B", "1kk", "17179869184G"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        uint64_t v = 1;
        if (cfg_parse_size(bad[i], &v) != OP_E_SYNTAX) {
            fprintf(stderr, "    size \"%s\" accepted\n", bad[i]);
            test_fail(__FILE__, __LINE__, "bad size");
        }
    }
}

static void check_addr4(const struct sockaddr_storage *ss, socklen_t len, const char *ip, int port)
{
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    char txt[INET_ADDRSTRLEN];
    CHECK_INT(ss->ss_family, AF_INET);
    CHECK_INT(len, sizeof *a);
    CHECK_INT(ntohs(a->sin_port), port);
    CHECK_STR(inet_ntop(AF_INET, &a->sin_addr, txt, sizeof txt), ip);
}

static void check_addr6(const struct sockaddr_storage *ss, socklen_t len, const char *ip, int port)
{
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    char txt[INET6_ADDRSTRLEN];
    CHECK_INT(ss->ss_family, AF_INET6);
    CHECK_INT(len, sizeof *a);
    CHECK_INT(ntohs(a->sin6_port), port);
    CHECK_STR(inet_ntop(AF_INET6, &a->sin6_addr, txt, sizeof txt), ip);
}

TEST(cfg_values_addr)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    CHECK_INT(cfg_parse_addr("127.0.0.1:110", &ss, &len), 0);
    check_addr4(&ss, len, "127.0.0.1", 110);
    CHECK_INT(cfg_parse_addr("0.0.0.0:0", &ss, &len), 0);
    check_addr4(&ss, len, "0.0.0.0", 0);
    CHECK_INT(cfg_parse_addr("[::1]:995", &ss, &len), 0);
    check_addr6(&ss, len, "::1", 995);
    CHECK_INT(cfg_parse_addr("[::]:65535", &ss, &len), 0);
    check_addr6(&ss, len, "::", 65535);
    CHECK_INT(cfg_parse_addr("[2001:db8::10:1]:25", &ss, &len), 0);
    check_addr6(&ss, len, "2001:db8::10:1", 25);
    CHECK_INT(cfg_parse_addr("[::ffff:192.0.2.1]:25", &ss, &len), 0);
    check_addr6(&ss, len, "::ffff:192.0.2.1", 25);
    CHECK_INT(cfg_parse_addr("[192.0.2.1]:25", &ss, &len), 0);       /* brackets are harmless */
    check_addr4(&ss, len, "192.0.2.1", 25);

    const char *bad[] = {
        "", ":110", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:1x", "127.0.0.256:1", "1.2.3:4", "localhost:110", "::1:110",
        "[::1]110", "[::1]", "[::1:110", "[::1]:", "[]:110", "[zz::1]:1",
        "[fe80::1%eth0]:110", "1.2.3.4:99999999999999999999", " 1.2.3.4:1",
        "[0000:0000:0000:0000:0000:0000:0000:0000:0000]:1",
        "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]:1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (cfg_parse_addr(bad[i], &ss, &len) != OP_E_SYNTAX) {
            fprintf(stderr, "    address \"%s\" accepted\n", bad[i]);
            test_fail(__FILE__, __LINE__, "bad address");
        }
    }
}

TEST(cfg_values_addrs)
{
    struct cfg_addrs a;
    char err[200];
    CHECK_INT(cfg_parse_addrs("", &a, err, sizeof err), 0);
    CHECK_INT(a.n, 0);
    CHECK_INT(cfg_parse_addrs(" , ,", &a, err, sizeof err), 0);
    CHECK_INT(a.n, 0);
    CHECK_INT(cfg_parse_addrs("0.0.0.0:110, [::]:110", &a, err, sizeof err), 0);
    REQUIRE(a.n == 2);
    check_addr4(&a.addr[0], a.len[0], "0.0.0.0", 110);
    check_addr6(&a.addr[1], a.len[1], "::", 110);
    CHECK_INT(cfg_parse_addrs("1.1.1.1:1,2.2.2.2:2 3.3.3.3:3\t[::2]:4,", &a, err, sizeof err), 0);
    CHECK_INT(a.n, 4);

    char many[400] = "";
    for (int i = 0; i < CFG_MAX_ADDRS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d:1,", i);
    CHECK_INT(cfg_parse_addrs(many, &a, err, sizeof err), 0);
    CHECK_INT(a.n, CFG_MAX_ADDRS);
    strcat(many, "10.0.0.99:1");
    CHECK_INT(cfg_parse_addrs(many, &a, err, sizeof err), OP_E_SYNTAX);
    CHECK(strstr(err, "more than") != NULL);

    CHECK_INT(cfg_parse_addrs("1.2.3.4:5, nonsense", &a, err, sizeof err), OP_E_SYNTAX);
    CHECK(strstr(err, "'nonsense'") != NULL);
    char lng[200];
    memset(lng, '1', 150);
    strcpy(lng + 150, ":1");
    CHECK_INT(cfg_parse_addrs(lng, &a, err, sizeof err), OP_E_SYNTAX);
    CHECK(strstr(err, "too long") != NULL);
}

/* ---- cfg_load with a schema ---------------------------------------------- */

struct tconf {
    char *name;
    bool flag;
    unsigned count;
    unsigned timeout;       /* ms */
    uint64_t size;
    int mode;
    struct cfg_addrs listen;
    char *note;
};

static const char *const modes[] = {"fast", "safe", "off", NULL};

#define TOFF(f) offsetof(struct tconf, f)
static const struct cfg_key tschema[] = {
    {"main", "name", CFG_STR, TOFF(name), "default name", 0, 0, NULL, "A name."},
    {"main", "flag", CFG_BOOL, TOFF(flag), "no", 0, 0, NULL, "A flag."},
    {"main", "count", CFG_UINT, TOFF(count), "5", 1, 100, NULL, "A count from 1 to 100."},
    {"main", "timeout", CFG_DURATION, TOFF(timeout), "30s", 1000, 3600000, NULL, "A timeout."},
    {"main", "size", CFG_SIZE, TOFF(size), "1M", 1024, 1ull << 32, NULL, "A size."},
    {"main", "mode", CFG_ENUM, TOFF(mode), "safe", 0, 0, modes, "fast, safe or off."},
    {"net", "listen", CFG_ADDRS, TOFF(listen), "127.0.0.1:110", 0, 0, NULL, "Addresses."},
    {"net", "note", CFG_STR, TOFF(note), NULL, 0, 0, NULL,
     "A note with a rather long description so that the documentation writer has to "
     "wrap it over more than one comment line in the written file."},
};
#define TNKEYS ARRAY_LEN(tschema)

/* Load text into *c (zeroed first); errors into *errs. */
static int tload(struct tconf *c, const char *text, struct buf *errs)
{
    memset(c, 0, sizeof *c);
    buf_clear(errs);
    int n = cfg_load(tschema, TNKEYS, c, text, strlen(text), "test.conf", errs);
    buf_cstr(errs);
    return n;
}

/* Expect exactly one error whose text contains want. */
static void expect_load_error(const char *text, const char *want)
{
    struct tconf c;
    struct buf errs = BUF_INIT;
    int n = tload(&c, text, &errs);
    if (n != 1 || !strstr(buf_cstr(&errs), want)) {
        fprintf(stderr, "    %d errors: %s    wanted one with: %s\n", n, buf_cstr(&errs), want);
        test_fail(__FILE__, __LINE__, "load error");
    }
    cfg_free(tschema, TNKEYS, &c);
    buf_free(&errs);
}

TEST(cfg_load_defaults)
{
    struct tconf c;
    struct buf errs = BUF_INIT;
    CHECK_INT(tload(&c, "", &errs), 0);
    CHECK_INT(buf_len(&errs), 0);
    CHECK_STR(c.name, "default name");
    CHECK(!c.flag);
    CHECK_INT(c.count, 5);
    CHECK_INT(c.timeout, 30000);
    CHECK(c.size == 1048576);
    CHECK_INT(c.mode, 1);
    CHECK_INT(c.listen.n, 1);
    check_addr4(&c.listen.addr[0], c.listen.len[0], "127.0.0.1", 110);
    CHECK_STR(c.note, "");
    cfg_free(tschema, TNKEYS, &c);
    CHECK(c.name == NULL && c.note == NULL);

    struct tconf d;
    memset(&d, 0, sizeof d);
    cfg_defaults(tschema, TNKEYS, &d);
    CHECK_INT(d.count, 5);
    CHECK_STR(d.name, "default name");
    cfg_free(tschema, TNKEYS, &d);
    buf_free(&errs);
}

TEST(cfg_load_all_types)
{
    struct tconf c;
    struct buf errs = BUF_INIT;
    int n = tload(&c,
                  "# test\n"
                  "[main]\n"
                  "name = \"Mail # Hub\"\n"
                  "flag = yes\n"
                  "count = 100\n"
                  "timeout = 1h\n"
                  "size = 4G\n"
                  "mode = off\n"
                  "[net]\n"
                  "listen = 0.0.0.0:110, [::1]:10110\n"
                  "note = hello world ; comment\n",
                  &errs);
    CHECK_INT(n, 0);
    CHECK_STR(buf_cstr(&errs), "");
    CHECK_STR(c.name, "Mail # Hub");
    CHECK(c.flag);
    CHECK_INT(c.count, 100);
    CHECK_INT(c.timeout, 3600000);
    CHECK(c.size == 4ull << 30);
    CHECK_INT(c.mode, 2);
    REQUIRE(c.listen.n == 2);
    check_addr4(&c.listen.addr[0], c.listen.len[0], "0.0.0.0", 110);
    check_addr6(&c.listen.addr[1], c.listen.len[1], "::1", 10110);
    CHECK_STR(c.note, "hello world");
    cfg_free(tschema, TNKEYS, &c);

    /* Empty addresses: none. Minimum values of the ranges. */
    CHECK_INT(tload(&c, "[net]\nlisten =\n[main]\ncount = 1\ntimeout = 1000ms\nsize = 1k\n", &errs), 0);
    CHECK_INT(c.listen.n, 0);
    CHECK_INT(c.count, 1);
    CHECK_INT(c.timeout, 1000);
    CHECK(c.size == 1024);
    cfg_free(tschema, TNKEYS, &c);
    buf_free(&errs);
}

TEST(cfg_load_value_errors)
{
    expect_load_error("[main]\nflag = maybe\n", "test.conf:2: [main] flag: 'maybe' is not yes or no");
    expect_load_error("[main]\ncount = 0\n", "test.conf:2: [main] count: 0 is out of range");
    expect_load_error("[main]\ncount = 101\n", "count: 101 is out of range");
    expect_load_error("[main]\ncount = 4294967301\n", "out of range");
    expect_load_error("[main]\ncount = ten\n", "count: 'ten' is not a number");
    expect_load_error("[main]\ncount =\n", "is not a number");
    expect_load_error("[main]\ntimeout = 999ms\n", "timeout: 999ms is out of range");
    expect_load_error("[main]\ntimeout = 2h\n", "out of range");
    expect_load_error("[main]\ntimeout = soon\n", "is not a duration");
    expect_load_error("[main]\nsize = 1023\n", "out of range");
    expect_load_error("[main]\nsize = 5G\n", "out of range");
    expect_load_error("[main]\nsize = big\n", "is not a size");
    expect_load_error("[main]\nmode = Fast\n", "mode: 'Fast' is not one of fast safe off");
    expect_load_error("[net]\nlisten = localhost:110\n",
                      "test.conf:2: [net] listen: 'localhost:110' is not an address:port");
    expect_load_error("[net]\nlisten = 127.0.0.1:110, ::1:110\n", "'::1:110' is not an address");
    expect_load_error("[net]\nlisten = [::1]:70000\n", "is not an address");
}

TEST(cfg_load_unknown_and_duplicates)
{
    expect_load_error("[main]\ncolour = red\n", "test.conf:2: unknown key 'colour' in [main]");
    expect_load_error("\n[other]\nname = x\n", "test.conf:3: unknown section [other]");
    expect_load_error("[net]\nname = x\n", "unknown key 'name' in [net]");
    expect_load_error("[main]\ncount = 2\n\ncount = 3\n", "test.conf:4: [main] count is set twice");
    expect_load_error("[main]\nname = a\n[net]\n[main]\nname = b\n", "test.conf:5: [main] name is set twice");
    /* A syntax error stops the parse and is reported with its line. */
    expect_load_error("[main]\ncount = 2\ncount\n", "test.conf:3: expected '=' after 'count'");
    expect_load_error("name = x\n", "test.conf:1: key 'name' before any [section]");

    /* Several errors are all reported, in order; the file's good values
     * still apply. */
    struct tconf c;
    struct buf errs = BUF_INIT;
    int n = tload(&c, "[main]\nflag = x\ncount = 7\nbogus = 1\n[zz]\nk = v\n[main]\ncount = 8\n", &errs);
    CHECK_INT(n, 4);
    CHECK_STR(buf_cstr(&errs),
              "test.conf:2: [main] flag: 'x' is not yes or no\n"
              "test.conf:4: unknown key 'bogus' in [main]\n"
              "test.conf:6: unknown section [zz]\n"
              "test.conf:8: [main] count is set twice\n");
    CHECK_INT(c.count, 7);
    cfg_free(tschema, TNKEYS, &c);
    buf_free(&errs);
}

TEST(cfg_load_again_replaces_strings)
{
    /* Loading into an already loaded target frees the old strings (a reload);
     * LeakSanitizer would report otherwise. */
    struct tconf c;
    struct buf errs = BUF_INIT;
    CHECK_INT(tload(&c, "[main]\nname = first\n", &errs), 0);
    CHECK_INT(cfg_load(tschema, TNKEYS, &c, "[main]\nname = second\n", 21, "t", &errs), 0);
    CHECK_STR(c.name, "second");
    cfg_free(tschema, TNKEYS, &c);
    cfg_free(tschema, TNKEYS, &c);                 /* twice is harmless */
    buf_free(&errs);
}

static const char *set_some(const char *section, const char *key)
{
    if (strcmp(key, "name") == 0)
        return "  say \"hi\" # \\ not a comment; ";
    if (strcmp(key, "note") == 0)
        return "plain value";
    if (strcmp(key, "count") == 0)
        return "9";
    return NULL;
}

TEST(cfg_write_commented_round_trip)
{
    struct buf out = BUF_INIT;
    REQUIRE(cfg_write_commented(tschema, TNKEYS, &out, "# header\n", set_some) == 0);
    const char *text = buf_cstr(&out);
    CHECK(strncmp(text, "# header\n", 9) == 0);
    CHECK(strstr(text, "\n[main]\n") != NULL);
    CHECK(strstr(text, "\n[net]\n") != NULL);
    CHECK(strstr(text, "\n#flag = no\n") != NULL);            /* defaults commented */
    CHECK(strstr(text, "\n#name") == NULL);
    CHECK(strstr(text, "\ncount = 9\n") != NULL);
    CHECK(strstr(text, "\n# A count from 1 to 100.\n") != NULL);
    /* Every line of the long doc is a comment within 76 columns. */
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        REQUIRE(e);
        if (*p == '#')
            CHECK(e - p <= 76);
        p = e + 1;
    }

    /* Reading it back gives the values that were set, defaults elsewhere. */
    struct tconf c;
    struct buf errs = BUF_INIT;
    memset(&c, 0, sizeof c);
    CHECK_INT(cfg_load(tschema, TNKEYS, &c, text, strlen(text), "w", &errs), 0);
    CHECK_STR(buf_cstr(&errs), "");
    CHECK_STR(c.name, "  say \"hi\" # \\ not a comment; ");
    CHECK_STR(c.note, "plain value");
    CHECK_INT(c.count, 9);
    CHECK_INT(c.mode, 1);
    cfg_free(tschema, TNKEYS, &c);
    buf_free(&errs);
    buf_free(&out);
}

/* ---- repeated named sections ([kind NAME]) --------------------------------- */

TEST(cfg_parse_named_section_headers)
{
    expect_entries("[zone example.com]\nfile = a\n", "zone example.com|file|a|2\n");
    expect_entries("[zone   Example.COM.  ] # c\nk = v\n", "zone Example.COM.|k|v|2\n");
    expect_error("[zone a b]\n", 0, 1, "bad section header");
    expect_error("[ zone]\n", 0, 1, "bad section header");
    expect_error("[zone a\n", 0, 1, "bad section header");
}

struct titem {
    char *name;
    char *file;
    unsigned weight;
};

struct tgconf {
    char *title;
    struct cfg_list items;
};

static const struct cfg_key tg_main[] = {
    {"main", "title", CFG_STR, offsetof(struct tgconf, title), "t", 0, 0, NULL, "A title."},
};
static const struct cfg_key tg_item_keys[] = {
    {"item", "file", CFG_STR, offsetof(struct titem, file), "", 0, 0, NULL, "A file."},
    {"item", "weight", CFG_UINT, offsetof(struct titem, weight), "1", 1, 10, NULL, "A weight."},
};

/* Names are lower-case letters; canonical form drops a final dot. */
static int tg_check_name(const char *name, char *canon, size_t canonlen, char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        if (name[i] < 'a' || name[i] > 'z') {
            snprintf(err, errlen, "'%s' is not a valid name", name);
            return OP_E_SYNTAX;
        }
    snprintf(canon, canonlen, "%.*s", (int)n, name);
    return 0;
}

static int tg_finish(void *item, char *err, size_t errlen)
{
    struct titem *t = item;
    if (!t->file[0]) {
        snprintf(err, errlen, "file is required");
        return OP_E_SYNTAX;
    }
    return 0;
}

static const struct cfg_group tg_groups[] = {
    {"item", tg_item_keys, ARRAY_LEN(tg_item_keys), offsetof(struct tgconf, items),
     sizeof(struct titem), offsetof(struct titem, name), tg_check_name, tg_finish, "Items."},
};

static int tgload(struct tgconf *c, const char *text, struct buf *errs)
{
    memset(c, 0, sizeof *c);
    buf_clear(errs);
    int n = cfg_load_groups(tg_main, ARRAY_LEN(tg_main), tg_groups, 1, c, text, strlen(text),
                            "g.conf", errs);
    buf_cstr(errs);
    return n;
}

static void tgfree(struct tgconf *c)
{
    cfg_free_groups(tg_groups, 1, c);
    cfg_free(tg_main, ARRAY_LEN(tg_main), c);
}

TEST(cfg_load_groups_items)
{
    struct tgconf c;
    struct buf errs = BUF_INIT;
    CHECK_INT(tgload(&c, "[main]\ntitle = x\n[item abc]\nfile = f1\n[item def.]\nfile = f2\n"
                         "weight = 7\n", &errs), 0);
    REQUIRE(c.items.n == 2);
    struct titem *a = cfg_item(&c.items, sizeof *a, 0), *b = cfg_item(&c.items, sizeof *b, 1);
    CHECK_STR(a->name, "abc");
    CHECK_STR(a->file, "f1");
    CHECK_INT(a->weight, 1);
    CHECK_STR(b->name, "def");
    CHECK_STR(b->file, "f2");
    CHECK_INT(b->weight, 7);
    CHECK_STR(c.title, "x");
    tgfree(&c);
    CHECK(c.items.n == 0 && c.items.items == NULL);
    buf_free(&errs);
}

static void expect_group_errors(const char *text, int nerr, const char *want)
{
    struct tgconf c;
    struct buf errs = BUF_INIT;
    int n = tgload(&c, text, &errs);
    if (n != nerr || !strstr(buf_cstr(&errs), want)) {
        fprintf(stderr, "    %d errors: %s    wanted %d with: %s\n", n, buf_cstr(&errs), nerr, want);
        test_fail(__FILE__, __LINE__, "group load errors");
    }
    tgfree(&c);
    buf_free(&errs);
}

TEST(cfg_load_groups_errors_name_file_and_line)
{
    expect_group_errors("[item abc]\nfile = a\n[item abc.]\nfile = b\n", 1,
                        "g.conf:3: [item abc.] appears twice");
    expect_group_errors("[item a1]\nfile = a\n", 1, "g.conf:1: [item a1] 'a1' is not a valid name");
    expect_group_errors("[item abc]\nfile = a\ncolour = red\n", 1,
                        "g.conf:3: unknown key 'colour' in [item abc]");
    expect_group_errors("[item abc]\nfile = a\nweight = 11\n", 1,
                        "g.conf:3: [item abc] weight: 11 is out of range");
    expect_group_errors("[item abc]\nfile = a\nfile = b\n", 1, "g.conf:3: [item abc] file is set twice");
    expect_group_errors("\n[item abc]\nweight = 2\n", 1, "g.conf:2: [item abc] file is required");
    expect_group_errors("[item]\nfile = a\n", 1, "g.conf:1: [item] needs a name: [item NAME]");
    expect_group_errors("[thing abc]\nfile = a\n", 1, "g.conf:1: unknown section kind [thing NAME]");
    /* The items before a syntax error are freed with the rest. */
    expect_group_errors("[item abc]\nfile = a\n[item def]\nfile = b\nnonsense\n", 1,
                        "g.conf:5: expected '=' after 'nonsense'");
}
