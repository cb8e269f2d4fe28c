/* Unit tests of the connection layer on a socketpair: line framing (split
 * reads, CRLF and bare LF, NUL bytes, over-long lines), pausing, write
 * backpressure, the idle and command timeouts, and length-prefixed
 * messages (DNS over TCP). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/loop.h"
#include "net/worker.h"
#include "test.h"

/* What the test service saw. */
struct seen {
    struct loop *lp;
    char lines[64][128];
    size_t lens[64];
    int nlines;
    int too_long;
    int timeouts;
    int closed;
    int stop_after_lines;           /* loop_stop once this many lines came */
    size_t reply_bytes;             /* written per line (backpressure test) */
    int pause_first;                /* pause on the first line */
    struct conn *c;
};

static struct seen *g_seen;

static void t_open(struct conn *c) { g_seen->c = c; }

static void t_line(struct conn *c, char *line, size_t len)
{
    struct seen *s = g_seen;
    if (s->nlines < 64) {
        size_t n = len < 127 ? len : 127;
        memcpy(s->lines[s->nlines], line, n);
        s->lens[s->nlines] = len;
    }
    s->nlines++;
    if (s->reply_bytes) {
        char *big = malloc(s->reply_bytes);
        memset(big, 'r', s->reply_bytes);
        conn_write(c, big, s->reply_bytes);
        free(big);
    }
    if (s->pause_first && s->nlines == 1)
        conn_pause(c);
    if (s->stop_after_lines && s->nlines == s->stop_after_lines)
        loop_stop(s->lp);
}

static void t_too_long(struct conn *c) { g_seen->too_long++; }
static void t_timeout(struct conn *c) { g_seen->timeouts++; conn_write(c, "bye\r\n", 5); }
static void t_close(struct conn *c)
{
    g_seen->closed++;
    loop_stop(g_seen->lp);
}

static void t_message(struct conn *c, const uint8_t *msg, size_t len)
{
    t_line(c, (char *)msg, len);
}

static const struct conn_ops t_ops = {
    .on_open = t_open, .on_line = t_line, .on_too_long = t_too_long,
    .on_timeout = t_timeout, .on_close = t_close, .on_message = t_message,
};

struct rig {
    struct loop *lp;
    struct worker w;
    struct service svc;
    int peer;                       /* the test's end of the socketpair */
    struct seen seen;
    struct loop_timer guard;
};

static void on_guard(struct loop_timer *t)
{
    struct rig *r = (struct rig *)((char *)t - offsetof(struct rig, guard));
    loop_stop(r->lp);
}

/* Run the loop until a callback stops it or ms pass. */
static void run_for(struct rig *r, unsigned ms)
{
    loop_timer_arm(r->lp, &r->guard, ms, on_guard);
    loop_run(r->lp);
    loop_timer_cancel(r->lp, &r->guard);
}

static void rig_start(struct rig *r, size_t max_line, unsigned idle_ms, unsigned command_ms)
{
    memset(r, 0, sizeof *r);
    r->lp = loop_new();
    REQUIRE(r->lp);
    r->w.loop = r->lp;
    r->svc = (struct service){.name = "test", .ops = &t_ops, .busy_reply = "busy\r\n",
                              .max_line = max_line, .idle_ms = idle_ms,
                              .command_ms = command_ms};
    r->seen.lp = r->lp;
    g_seen = &r->seen;
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    r->peer = sv[1];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(0x7f000001);
    conn_accept(&r->w, sv[0], &r->svc, &ss, false, false);
    REQUIRE(r->seen.c);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EAGAIN)
            return;                 /* the tests never send more than fits */
        REQUIRE(k > 0);
        c += k;
        n -= (size_t)k;
    }
}

/* Hang up and let the connection finish, so that nothing leaks. */
static void rig_stop(struct rig *r)
{
    close(r->peer);
    if (!r->seen.closed)
        run_for(r, 2000);
    CHECK_INT(r->seen.closed, 1);
    loop_free(r->lp);
}

TEST(conn_frames_lines_across_reads)
{
    struct rig r;
    rig_start(&r, 100, 10000, 10000);
    r.seen.stop_after_lines = 5;
    /* Pieces that split a CRLF and a line in the middle. */
    static const char *pieces[] = {"ONE\r", "\ntw", "o\n\r\nfo", "ur\0x\r\n", "five\r\n"};
    static const size_t plen[] = {4, 3, 6, 6, 6};
    for (int i = 0; i < 5; i++) {
        send_all(r.peer, pieces[i], plen[i]);
        run_for(&r, 20);
    }
    run_for(&r, 500);
    REQUIRE(r.seen.nlines == 5);
    CHECK_STR(r.seen.lines[0], "ONE");
    CHECK_STR(r.seen.lines[1], "two");
    CHECK_INT(r.seen.lens[2], 0);                        /* an empty line */
    CHECK_INT(r.seen.lens[3], 6);                        /* "four\0x": the NUL is kept */
    CHECK(memcmp(r.seen.lines[3], "four\0x", 6) == 0);
    CHECK_STR(r.seen.lines[4], "five");
    rig_stop(&r);
}

TEST(conn_reports_an_overlong_line_once_and_goes_on)
{
    struct rig r;
    rig_start(&r, 16, 10000, 10000);
    r.seen.stop_after_lines = 2;
    char longline[200];
    memset(longline, 'x', sizeof longline);
    send_all(r.peer, "short\r\n", 7);
    send_all(r.peer, longline, sizeof longline);        /* arrives in parts */
    run_for(&r, 50);
    send_all(r.peer, longline, 50);
    send_all(r.peer, "\r\nafter\r\n", 9);
    run_for(&r, 500);
    CHECK_INT(r.seen.too_long, 1);
    REQUIRE(r.seen.nlines == 2);
    CHECK_STR(r.seen.lines[0], "short");
    CHECK_STR(r.seen.lines[1], "after");
    /* Exactly max_line octets is still a line. */
    r.seen.stop_after_lines = 3;
    send_all(r.peer, "0123456789abcdef\r\n", 18);
    run_for(&r, 500);
    REQUIRE(r.seen.nlines == 3);
    CHECK_INT(r.seen.lens[2], 16);
    CHECK_INT(r.seen.too_long, 1);
    rig_stop(&r);
}

TEST(conn_pause_holds_pipelined_lines_in_order)
{
    struct rig r;
    rig_start(&r, 100, 10000, 10000);
    r.seen.pause_first = 1;
    send_all(r.peer, "a\r\nb\r\nc\r\n", 9);
    run_for(&r, 100);
    CHECK_INT(r.seen.nlines, 1);                         /* paused after "a" */
    r.seen.stop_after_lines = 3;
    conn_resume(r.seen.c);
    run_for(&r, 500);
    REQUIRE(r.seen.nlines == 3);
    CHECK_STR(r.seen.lines[1], "b");
    CHECK_STR(r.seen.lines[2], "c");
    rig_stop(&r);
}

TEST(conn_stops_reading_while_the_client_does_not_read)
{
    struct rig r;
    rig_start(&r, 100, 10000, 10000);
    r.seen.reply_bytes = 100 * 1024;                     /* each line asks a lot */
    int small = 4096;
    setsockopt(r.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    char lines[40 * 4];
    for (int i = 0; i < 40; i++)
        memcpy(lines + i * 4, "go\r\n", 4);
    send_all(r.peer, lines, sizeof lines);
    run_for(&r, 300);
    /* Output beyond the high-water mark stops line delivery. */
    int delivered = r.seen.nlines;
    CHECK(delivered < 40);
    CHECK(conn_out_len(r.seen.c) >= CONN_OUT_HIGH);
    CHECK(conn_out_len(r.seen.c) < CONN_OUT_HIGH + r.seen.reply_bytes + 1);
    /* The client reads everything: the rest of the lines come. */
    r.seen.stop_after_lines = 40;
    char sink[65536];
    size_t got = 0;
    for (int rounds = 0; rounds < 2000 && r.seen.nlines < 40; rounds++) {
        ssize_t k;
        while ((k = recv(r.peer, sink, sizeof sink, 0)) > 0)
            got += (size_t)k;
        run_for(&r, 5);
    }
    CHECK_INT(r.seen.nlines, 40);
    CHECK(got > 0);
    r.seen.reply_bytes = 0;
    rig_stop(&r);
}

TEST(conn_command_timeout_cuts_a_trickled_line)
{
    struct rig r;
    rig_start(&r, 100, 10000, 150);
    /* A byte every 50 ms keeps the idle clock fresh but not the command one. */
    for (int i = 0; i < 10 && !r.seen.closed; i++) {
        send_all(r.peer, "x", 1);
        run_for(&r, 50);
    }
    CHECK_INT(r.seen.timeouts, 1);
    CHECK_INT(r.seen.nlines, 0);
    char buf[16] = {0};
    CHECK(recv(r.peer, buf, sizeof buf - 1, 0) == 5);   /* the goodbye */
    CHECK_STR(buf, "bye\r\n");
    if (!r.seen.closed)
        run_for(&r, 1000);
    CHECK_INT(r.seen.closed, 1);
    rig_stop(&r);
}

TEST(conn_idle_timeout_and_complete_lines_reset_it)
{
    struct rig r;
    rig_start(&r, 100, 600, 300);
    for (int i = 0; i < 10; i++) {                       /* 10 x 100 ms > 600 ms */
        send_all(r.peer, "noop\r\n", 6);
        run_for(&r, 100);
    }
    CHECK_INT(r.seen.nlines, 10);
    CHECK_INT(r.seen.timeouts, 0);
    run_for(&r, 3000);                                   /* now idle */
    CHECK_INT(r.seen.timeouts, 1);
    CHECK_INT(r.seen.closed, 1);
    rig_stop(&r);
}

/* ---- 2-octet length framing (RFC 1035 section 4.2.2) ----------------------- */

TEST(conn_len16_frames_messages_across_reads_and_pipelined)
{
    struct rig r;
    rig_start(&r, 100, 10000, 10000);
    r.svc.framing = CONN_FRAME_LEN16;
    r.seen.stop_after_lines = 4;
    /* "abc", "\n\r" (line ends are data here), "x", then one split in its
     * length prefix and its body. */
    static const char all[] = "\0\3abc\0\2\n\r\0\1x\0\5hello";
    send_all(r.peer, all, 14);                 /* three whole messages and one length octet */
    run_for(&r, 50);
    CHECK_INT(r.seen.nlines, 3);
    send_all(r.peer, all + 14, 3);             /* the other length octet and "he" */
    run_for(&r, 50);
    CHECK_INT(r.seen.nlines, 3);
    send_all(r.peer, all + 17, 3);
    run_for(&r, 500);
    REQUIRE(r.seen.nlines == 4);
    CHECK_STR(r.seen.lines[0], "abc");
    CHECK_INT(r.seen.lens[1], 2);
    CHECK(memcmp(r.seen.lines[1], "\n\r", 2) == 0);
    CHECK_STR(r.seen.lines[2], "x");
    CHECK_STR(r.seen.lines[3], "hello");
    CHECK_INT(r.seen.too_long, 0);
    rig_stop(&r);
}

TEST(conn_len16_zero_or_oversized_length_closes)
{
    for (int round = 0; round < 2; round++) {
        struct rig r;
        rig_start(&r, 100, 10000, 10000);
        r.svc.framing = CONN_FRAME_LEN16;
        /* A good message, then a bad length: 0, or 101 (over max_line). */
        const char *bad = round == 0 ? "\0\1a\0\0" : "\0\1a\0\145";
        send_all(r.peer, bad, 5);
        run_for(&r, 1000);
        CHECK_INT(r.seen.nlines, 1);
        CHECK_INT(r.seen.too_long, 1);
        CHECK_INT(r.seen.closed, 1);
        rig_stop(&r);
    }
}

TEST(conn_len16_half_sent_message_times_out)
{
    struct rig r;
    rig_start(&r, 100, 10000, 200);
    r.svc.framing = CONN_FRAME_LEN16;
    send_all(r.peer, "\0\12abc", 5);        /* says 10 octets, sends 3 */
    run_for(&r, 2000);
    CHECK_INT(r.seen.nlines, 0);
    CHECK_INT(r.seen.timeouts, 1);
    if (!r.seen.closed)
        run_for(&r, 1000);
    CHECK_INT(r.seen.closed, 1);
    rig_stop(&r);
}
