/* Unit tests for mail/qentry: the queue entry text form, written and read
 * back, and the reader's refusals (cut files, bad tokens, extra bytes). */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/qentry.h"
#include "test.h"

static const char sample[] =
    "outpost-queue 1\narrival 1790000000\nnext 1790000060\nattempts 1\nwarned 0\nret default\n"
    "body 7bit\nsmtputf8 0\nsender alice@crepes.fr\nenvid QQ%20314\nclient [127.0.0.1]\n"
    "rcpt pending 0 bob@hamburger.edu rfc822;Bob@hamburger.edu 1790000000 mx.hamburger.edu "
    "451%204.3.0%20try%0D%0Alater\n"
    "rcpt failed 12 carol@hamburger.edu % 0 % %25\n"
    "end\n";

TEST(qentry_parse_and_format_round_trip)
{
    struct qentry e;
    REQUIRE(qentry_parse(sample, strlen(sample), &e) == 0);
    CHECK_INT(e.arrival, 1790000000);
    CHECK_INT(e.next_attempt, 1790000060);
    CHECK_INT(e.attempts, 1);
    CHECK_STR(e.sender, "alice@crepes.fr");
    CHECK(e.has_envid);
    CHECK_STR(e.envid, "QQ 314");
    CHECK_INT(e.nrcpts, 2);
    CHECK_STR(e.rcpts[0].s.last_error, "451 4.3.0 try\r\nlater");
    CHECK_STR(e.rcpts[0].remote_mta, "mx.hamburger.edu");
    CHECK_STR(e.rcpts[1].s.r.orcpt, "");
    CHECK_STR(e.rcpts[1].s.last_error, "%");
    CHECK_INT(e.rcpts[1].s.state, QUEUE_FAILED);
    CHECK_INT(e.rcpts[1].s.r.notify, 12);
    struct buf b = BUF_INIT;
    REQUIRE(qentry_format(&e, &b) == 0);
    CHECK_STR(buf_cstr(&b), sample);
    buf_free(&b);
    qentry_free(&e);
}

TEST(qentry_refuses_damage)
{
    struct qentry e;
    size_t n = strlen(sample);
    /* Cut anywhere: refused (the "end" line is what makes it complete). */
    for (size_t k = 0; k < n; k++)
        CHECK_INT(qentry_parse(sample, k, &e) < 0, 1);
    char *t = malloc(n + 16);
    REQUIRE(t);
    const char *bad[][2] = {
        {"arrival 1790000000", "arrival 01790000000"},   /* leading zero */
        {"attempts 1", "attempts -1"},
        {"ret default", "ret maybe"},
        {"sender alice", "sender  alice"},              /* two spaces */
        {"QQ%20314", "QQ%2"},                           /* cut escape */
        {"QQ%20314", "QQ%00314"},                       /* NUL */
        {"QQ%20314", "QQ%g0314"},
        {"rcpt failed 12", "rcpt failed 16"},           /* notify bits */
        {"rcpt failed 12", "rcpt gone 12"},
        {"end\n", "end\nx"},                            /* bytes after the end */
        {"client [127.0.0.1]\n", "client [127.0.0.1]\nend\n"}, /* no recipient */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(sample, bad[i][0]);
        REQUIRE(at);
        size_t pre = (size_t)(at - sample);
        snprintf(t, n + 16, "%.*s%s%s", (int)pre, sample, bad[i][1], at + strlen(bad[i][0]));
        if (i == 10)
            snprintf(t, n + 16, "%.*s%s", (int)pre, sample, bad[i][1]);
        if (qentry_parse(t, strlen(t), &e) == 0) {
            fprintf(stderr, "    accepted case %zu\n", i);
            CHECK(0);
            qentry_free(&e);
        }
    }
    free(t);
    /* A value longer than its field. */
    struct buf b = BUF_INIT;
    buf_puts(&b, "outpost-queue 1\narrival 1\nnext 1\nattempts 0\nwarned 0\nret default\nbody 7bit\n"
                 "smtputf8 0\nsender ");
    for (int i = 0; i < 300; i++)
        buf_puts(&b, "a");
    buf_puts(&b, "\nclient %\nrcpt pending 0 x@y % 0 % %\nend\n");
    CHECK_INT(qentry_parse(buf_ptr(&b), buf_len(&b), &e), OP_E_TOOLONG);
    buf_free(&b);
}
