/* Unit tests for mail/dsn: the RFC 3464 report's structure and fields,
 * status codes taken from replies, the header of the original. With
 * OUTPOST_DSN_SAMPLE=FILE, dsn_sample also writes a report there, for
 * tests/interop/test_queue.py to read with Python's email package. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "mail/dsn.h"
#include "test.h"

static const char orig[] = "Received: from a\r\nSubject: greetings\r\nMessage-ID: <1@crepes.fr>\r\n"
                           "\r\nHello Bob,\r\nbye\r\n";

TEST(dsn_reply_status)
{
    char st[16];
    CHECK(dsn_reply_status("550 5.1.1 <x@y>: no such user", st));
    CHECK_STR(st, "5.1.1");
    CHECK(dsn_reply_status("451-4.3.0 later", st));
    CHECK_STR(st, "4.3.0");
    CHECK(dsn_reply_status("250 2.0.0", st));
    CHECK_STR(st, "2.0.0");
    CHECK(dsn_reply_status("552 5.3.123 big", st));
    CHECK_STR(st, "5.3.123");
    CHECK(!dsn_reply_status("550 no such user", st));
    CHECK(!dsn_reply_status("550 3.1.1 bad class", st));
    CHECK(!dsn_reply_status("550 5.1.1234 too long", st));
    CHECK(!dsn_reply_status("550 5.1", st));
    CHECK(!dsn_reply_status("55 5.1.1", st));
    CHECK(!dsn_reply_status("MX lookup: SERVFAIL", st));
    CHECK(!dsn_reply_status("", st));
    CHECK(!dsn_reply_status(NULL, st));
}

TEST(dsn_header_len)
{
    CHECK_INT(dsn_header_len(orig, strlen(orig)), strstr(orig, "\r\n\r\n") + 4 - orig);
    CHECK_INT(dsn_header_len("A: b\n\nbody", 10), 6);
    CHECK_INT(dsn_header_len("A: b\r\n", 6), 6);         /* no body: all of it */
    CHECK_INT(dsn_header_len("", 0), 0);
}

/* The value of the first "name: " field at or after from, up to CRLF. */
static const char *field_after(const char *from, const char *name, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strstr(from, key);
    if (!p)
        return NULL;
    p += strlen(key);
    const char *e = strstr(p, "\r\n");
    snprintf(out, n, "%.*s", (int)(e - p), p);
    return e;
}

static void build(struct buf *b, bool headers_only)
{
    struct dsn_rcpt r[] = {
        {.orcpt = "rfc822;Bob@Hamburger.edu", .addr = "bob@hamburger.edu", .action = DSN_FAILED,
         .remote_mta = "mx.hamburger.edu", .diag = "550 5.1.1 <bob@hamburger.edu>: no such\r\nuser",
         .last_attempt = 1790000100},
        {.orcpt = "", .addr = "carol@hamburger.edu", .action = DSN_DELAYED,
         .diag = "MX lookup: SERVFAIL", .last_attempt = 1790000100, .will_retry_until = 1790432000},
    };
    struct dsn_report rep = {
        .reporting_mta = "mail.crepes.fr", .to = "alice@crepes.fr", .envid = "QQ314159",
        .arrival = 1790000000, .now = 1790000200, .rcpts = r, .nrcpts = 2,
        .headers_only = headers_only, .orig = orig, .origlen = strlen(orig),
    };
    REQUIRE(dsn_build(&rep, b) == 0);
}

TEST(dsn_report_fields)
{
    struct buf b = BUF_INIT;
    build(&b, false);
    const char *t = buf_cstr(&b);
    char v[1024];
    /* Message header. */
    CHECK(strncmp(t, "From: Mail Delivery System <MAILER-DAEMON@mail.crepes.fr>\r\n", 58) == 0);
    CHECK(field_after(t, "To", v, sizeof v));
    CHECK_STR(v, "<alice@crepes.fr>");
    CHECK(field_after(t, "Auto-Submitted", v, sizeof v));
    CHECK_STR(v, "auto-replied");
    CHECK(field_after(t, "Date", v, sizeof v));
    CHECK_STR(v, "Mon, 21 Sep 2026 14:16:40 +0000");
    CHECK(strstr(t, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\""));
    /* The boundary, and exactly four delimiters: three parts and the end. */
    const char *bp = strstr(t, "boundary=\"") + 10;
    char bnd[80];
    snprintf(bnd, sizeof bnd, "\r\n--%.*s", (int)(strchr(bp, '"') - bp), bp);
    int n = 0;
    for (const char *p = t; (p = strstr(p, bnd)) != NULL; p += strlen(bnd))
        n++;
    CHECK_INT(n, 4);
    char end[90];
    snprintf(end, sizeof end, "%s--\r\n", bnd);
    CHECK(strstr(t, end) && strcmp(strstr(t, end), end) == 0);
    /* message/delivery-status: per-message fields, then per recipient. */
    const char *ds = strstr(t, "Content-Type: message/delivery-status\r\n");
    REQUIRE(ds);
    const char *body = strstr(ds, "\r\n\r\n") + 2;
    static const char head[] = "\r\nReporting-MTA: dns; mail.crepes.fr\r\nOriginal-Envelope-Id: QQ314159\r\n"
                               "Arrival-Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n\r\n";
    CHECK(strncmp(body, head, strlen(head)) == 0);
    const char *r1 = strstr(body, "\r\nOriginal-Recipient: rfc822;Bob@Hamburger.edu\r\n");
    REQUIRE(r1);
    CHECK(field_after(r1, "Final-Recipient", v, sizeof v));
    CHECK_STR(v, "rfc822; bob@hamburger.edu");
    CHECK(field_after(r1, "Action", v, sizeof v));
    CHECK_STR(v, "failed");
    CHECK(field_after(r1, "Status", v, sizeof v));
    CHECK_STR(v, "5.1.1");
    CHECK(field_after(r1, "Remote-MTA", v, sizeof v));
    CHECK_STR(v, "dns; mx.hamburger.edu");
    CHECK(field_after(r1, "Diagnostic-Code", v, sizeof v));
    CHECK_STR(v, "smtp; 550 5.1.1 <bob@hamburger.edu>: no such  user");   /* CR LF made spaces */
    CHECK(field_after(r1, "Last-Attempt-Date", v, sizeof v));
    CHECK_STR(v, "Mon, 21 Sep 2026 14:15:00 +0000");
    const char *r2 = strstr(r1, "\r\n\r\nFinal-Recipient: rfc822; carol@hamburger.edu\r\n");
    REQUIRE(r2);
    CHECK(field_after(r2, "Action", v, sizeof v));
    CHECK_STR(v, "delayed");
    CHECK(field_after(r2, "Status", v, sizeof v));
    CHECK_STR(v, "4.0.0");
    CHECK(field_after(r2, "Diagnostic-Code", v, sizeof v));
    CHECK_STR(v, "X-Outpost; MX lookup: SERVFAIL");
    CHECK(field_after(r2, "Will-Retry-Until", v, sizeof v));
    CHECK_STR(v, "Sat, 26 Sep 2026 14:13:20 +0000");
    /* The original, whole. */
    CHECK(strstr(t, "Content-Type: message/rfc822\r\n"));
    CHECK(strstr(t, orig));
    buf_free(&b);
}

TEST(dsn_ret_hdrs_returns_the_header_only)
{
    struct buf b = BUF_INIT;
    build(&b, true);
    const char *t = buf_cstr(&b);
    const char *h = strstr(t, "Content-Type: text/rfc822-headers\r\n");
    REQUIRE(h);
    CHECK(strstr(h, "Message-ID: <1@crepes.fr>\r\n\r\n"));
    CHECK(!strstr(t, "Hello Bob"));
    CHECK(!strstr(t, "message/rfc822"));
    buf_free(&b);
}

/* Not a check by itself: the file for the Python-side parse. */
TEST(dsn_sample)
{
    const char *out = getenv("OUTPOST_DSN_SAMPLE");
    struct buf b = BUF_INIT;
    build(&b, out && strstr(out, "hdrs"));
    if (out)
        CHECK_INT(write_file_atomic(out, buf_ptr(&b), buf_len(&b), 0600), 0);
    buf_free(&b);
}
