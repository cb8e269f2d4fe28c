/* Unit tests of the connections' raw mode (conn_set_raw, on_bytes), on a
 * socketpair: a line switches to raw mode for n octets, which must arrive
 * exactly (bare CR, bare LF, NUL and all) however the reads cut them, and
 * the pipelined line after them must come back as a line. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/loop.h"
#include "net/worker.h"
#include "test.h"

struct raw_seen {
    struct loop *lp;
    struct conn *c;
    char raw[256];
    size_t nraw, want;
    char lines[8][64];
    int nlines;
    int closed;
    unsigned bytes_calls;
};

static struct raw_seen *g_raw;

static void r_open(struct conn *c) { g_raw->c = c; }

static void r_line(struct conn *c, char *line, size_t len)
{
    struct raw_seen *s = g_raw;
    if (s->nlines < 8)
        snprintf(s->lines[s->nlines], sizeof s->lines[0], "%.*s", (int)len, line);
    s->nlines++;
    if (len > 4 && memcmp(line, "RAW ", 4) == 0) {
        s->want = (size_t)atoi(line + 4);
        conn_set_raw(c, true);
    }
    if (len == 4 && memcmp(line, "STOP", 4) == 0)
        loop_stop(s->lp);
}

static size_t r_bytes(struct conn *c, const char *p, size_t len)
{
    struct raw_seen *s = g_raw;
    s->bytes_calls++;
    size_t take = len < s->want ? len : s->want;
    if (s->nraw + take <= sizeof s->raw)
        memcpy(s->raw + s->nraw, p, take);
    s->nraw += take;
    s->want -= take;
    if (s->want == 0)
        conn_set_raw(c, false);
    return take;
}

static void r_close(struct conn *c)
{
    g_raw->closed++;
    loop_stop(g_raw->lp);
}

static void r_too_long(struct conn *c) {}

static const struct conn_ops r_ops = {
    .on_open = r_open, .on_line = r_line, .on_bytes = r_bytes,
    .on_close = r_close, .on_too_long = r_too_long,
};

static struct loop_timer g_guard;
static void on_guard(struct loop_timer *t) { loop_stop(g_raw->lp); }

static void run_for(struct loop *lp, unsigned ms)
{
    loop_timer_arm(lp, &g_guard, ms, on_guard);
    loop_run(lp);
    loop_timer_cancel(lp, &g_guard);
}

TEST(conn_raw_mode_delivers_exact_bytes_then_lines)
{
    struct raw_seen seen;
    memset(&seen, 0, sizeof seen);
    g_raw = &seen;
    struct loop *lp = loop_new();
    REQUIRE(lp);
    seen.lp = lp;
    struct worker w;
    memset(&w, 0, sizeof w);
    w.loop = lp;
    struct service svc = {.name = "rawtest", .ops = &r_ops, .max_line = 64,
                          .idle_ms = 10000, .command_ms = 10000};
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    conn_accept(&w, sv[0], &svc, &ss, false, false);
    REQUIRE(seen.c);

    /* 12 raw octets with bare CR, bare LF and NUL, cut across three sends,
     * the next line pipelined right behind them. */
    static const char body[] = "a\rb\nc\0d\r\n.\r\n";
    const char *pieces[] = {"RAW 12\r\na\rb", "\nc\0d\r", "\n.\r\nNEXT\r\nSTOP\r\n"};
    const size_t plen[] = {11, 5, 16};
    for (int i = 0; i < 3; i++) {
        REQUIRE(send(sv[1], pieces[i], plen[i], MSG_NOSIGNAL) == (ssize_t)plen[i]);
        run_for(lp, 30);
    }
    run_for(lp, 500);
    CHECK_INT(seen.nraw, 12);
    CHECK(memcmp(seen.raw, body, 12) == 0);
    CHECK(seen.bytes_calls >= 2);
    REQUIRE(seen.nlines == 3);
    CHECK_STR(seen.lines[0], "RAW 12");
    CHECK_STR(seen.lines[1], "NEXT");
    CHECK_STR(seen.lines[2], "STOP");

    /* raw octets longer than max_line are fine: there are no lines in them */
    char big[300];
    memset(big, 'z', sizeof big);
    REQUIRE(send(sv[1], "RAW 200\r\n", 9, MSG_NOSIGNAL) == 9);
    REQUIRE(send(sv[1], big, 200, MSG_NOSIGNAL) == 200);
    REQUIRE(send(sv[1], "STOP\r\n", 6, MSG_NOSIGNAL) == 6);
    run_for(lp, 500);
    CHECK_INT(seen.nraw, 212);
    CHECK_INT(seen.nlines, 5);

    close(sv[1]);
    if (!seen.closed)
        run_for(lp, 2000);
    CHECK_INT(seen.closed, 1);
    loop_free(lp);
}
