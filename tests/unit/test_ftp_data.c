/* Unit tests of the FTP data channel (src/ftp/data.c, xfer.c, ascii.c) on
 * a real loop with loopback sockets: a real TCP control connection
 * (127.0.0.1), passive accepts from the right and a wrong address
 * (127.0.0.2), active connects (from port L-1), files and listings sent,
 * files received, TYPE A both ways, ABOR, the timeouts, the quota, a
 * full disk and a vanished peer. The test plays the client with blocking
 * sockets while the transfer threads move the bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/util.h"
#include "ftp/ascii.h"
#include "ftp/data.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/worker.h"
#include "test.h"

/* ---- TYPE A conversion --------------------------------------------------- */

TEST(ftp_ascii_encode)
{
    char out[64];
    size_t n = ftp_ascii_encode("a\nbc\n\nd", 7, out);
    CHECK_INT(n, 10);
    CHECK(memcmp(out, "a\r\nbc\r\n\r\nd", 10) == 0);
    CHECK_INT(ftp_ascii_encode("", 0, out), 0);
    CHECK_INT(ftp_ascii_encode("\r\n", 2, out), 3);   /* every LF gets a CR */
    CHECK(memcmp(out, "\r\r\n", 3) == 0);
}

/* Decode wire in every split into two chunks: the result never depends on
 * where a read ended. */
static void decode_split_all(const char *wire, const char *want)
{
    size_t n = strlen(wire);
    for (size_t cut = 0; cut <= n; cut++) {
        char out[128];
        bool cr = false;
        size_t o = ftp_ascii_decode(wire, cut, out, &cr);
        o += ftp_ascii_decode(wire + cut, n - cut, out + o, &cr);
        o += ftp_ascii_decode_end(out + o, &cr);
        out[o] = 0;
        CHECK_STR(out, want);
        CHECK(!cr);
    }
}

TEST(ftp_ascii_decode_split)
{
    decode_split_all("a\r\nb\r\n", "a\nb\n");
    decode_split_all("lone\rcr\r", "lone\rcr\r");
    decode_split_all("\r\r\n\r", "\r\n\r");
    decode_split_all("x\n\r\n", "x\n\n");
    decode_split_all("", "");
    /* Round trip. */
    const char *text = "one\ntwo\r\n\nthree\r";
    char wire[64], back[64];
    size_t w = ftp_ascii_encode(text, strlen(text), wire);
    bool cr = false;
    size_t b = ftp_ascii_decode(wire, w, back, &cr);
    b += ftp_ascii_decode_end(back + b, &cr);
    CHECK_INT(b, strlen(text));
    CHECK(memcmp(back, text, b) == 0);
}

/* ---- the rig: a loop, a control connection, a data channel ---------------- */

static void c_line(struct conn *c, char *line, size_t len) { (void)c, (void)line, (void)len; }
static void c_void(struct conn *c) { (void)c; }

struct rig {
    struct loop *lp;
    struct worker w;
    struct service svc;
    struct conn *ctrl;
    int client;                     /* the client's end of the control connection */
    struct ftp_data *d;
    struct loop_timer guard;
    int opened, done, result;
    uint64_t bytes;
    bool abort_on_open;
};

static struct conn *g_last;
static void c_open_rec(struct conn *c) { g_last = c; }
static const struct conn_ops c_ops_rec = {
    .on_open = c_open_rec, .on_line = c_line, .on_too_long = c_void,
    .on_timeout = c_void, .on_close = c_void,
};

static void on_guard(struct loop_timer *t)
{
    struct rig *r = (struct rig *)((char *)t - offsetof(struct rig, guard));
    loop_stop(r->lp);
}

static void x_open(void *arg)
{
    struct rig *r = arg;
    r->opened++;
    loop_stop(r->lp);
    if (r->abort_on_open)
        ftp_data_abort(r->d);
}

static void x_done(void *arg, int result, uint64_t bytes)
{
    struct rig *r = arg;
    r->done++;
    r->result = result;
    r->bytes = bytes;
    loop_stop(r->lp);
}

/* Run the loop until *flag becomes nonzero or ms pass. */
static void run_until(struct rig *r, int *flag, unsigned ms)
{
    uint64_t end = clock_ms() + ms;
    while (!*flag && clock_ms() < end) {
        loop_timer_arm(r->lp, &r->guard, end - clock_ms() + 1, on_guard);
        loop_run(r->lp);
        loop_timer_cancel(r->lp, &r->guard);
    }
}

static int tcp_listener(const char *ip, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0)
        return -1;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A blocking client socket from local address from (or any) to ip:port. */
static int tcp_connect(const char *from, const char *ip, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (from) {
        struct sockaddr_in l = {.sin_family = AF_INET};
        inet_pton(AF_INET, from, &l.sin_addr);
        if (bind(fd, (struct sockaddr *)&l, sizeof l) < 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static const struct ftp_data_config default_cfg = {
    .connect_timeout_ms = 5000, .idle_timeout_ms = 5000,
};

/* The control connection over IPv6: "::1", or a dual-stack listener on
 * "::" reached over IPv4 (its peer is then ::ffff:127.0.0.1). */
static int ctrl_listen6(const char *ip, uint16_t *port)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0)
        return -1;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin6_port);
    return fd;
}

static int tcp_connect6(const char *ip, uint16_t port)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static const char *g_rig_listen6;   /* NULL: an IPv4 control connection */

static bool rig_start(struct rig *r, const struct ftp_data_config *cfg)
{
    memset(r, 0, sizeof *r);
    r->lp = loop_new();
    if (!r->lp)
        return false;
    r->w.loop = r->lp;
    r->svc = (struct service){.name = "ftp", .ops = &c_ops_rec, .max_line = 512,
                              .idle_ms = 60000, .command_ms = 60000};
    uint16_t port;
    int lfd = g_rig_listen6 ? ctrl_listen6(g_rig_listen6, &port) : tcp_listener("127.0.0.1", &port);
    if (lfd < 0)
        return false;
    if (g_rig_listen6 && !strcmp(g_rig_listen6, "::1"))
        r->client = tcp_connect6("::1", port);
    else
        r->client = tcp_connect(NULL, "127.0.0.1", port);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    close(lfd);
    if (r->client < 0 || fd < 0)
        return false;
    g_last = NULL;
    conn_accept(&r->w, fd, &r->svc, &peer, false, false);
    r->ctrl = g_last;
    if (!r->ctrl)
        return false;
    r->d = ftp_data_new(r->ctrl, cfg ? cfg : &default_cfg);
    return r->d != NULL;
}

static void rig_stop(struct rig *r)
{
    ftp_data_free(r->d);
    ftp_data_quiesce();
    close(r->client);
    /* Let the control connection see the hang-up and free itself. */
    uint64_t end = clock_ms() + 2000;
    while (r->w.nconns > 0 && clock_ms() < end) {
        loop_timer_arm(r->lp, &r->guard, 20, on_guard);
        loop_run(r->lp);
        loop_timer_cancel(r->lp, &r->guard);
    }
    CHECK_INT(r->w.nconns, 0);
    loop_free(r->lp);
}

static struct ftp_xfer xfer(struct rig *r, enum ftp_xfer_dir dir, int fd, struct buf *b)
{
    return (struct ftp_xfer){.dir = dir, .fd = fd, .buf = b, .on_open = x_open,
                             .on_done = x_done, .arg = r};
}

/* A file of n pseudo-random bytes (with some LFs); returns an O_RDWR fd. */
static int make_file(const char *name, size_t n, char **content)
{
    char path[400];
    pathf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char *p = malloc(n ? n : 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, p + off, n - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    *content = p;
    return fd;
}

static size_t read_all(int fd, char *p, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, p + n, cap - n, 0);
        if (k <= 0)
            return n;
        n += (size_t)k;
        if (n == cap) {
            char extra;
            return n + (recv(fd, &extra, 1, 0) > 0);
        }
    }
}

static void send_all_blocking(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static uint16_t sa_port(const struct sockaddr_storage *a)
{
    return ntohs(((const struct sockaddr_in *)a)->sin_port);
}

/* ---- passive ------------------------------------------------------------- */

TEST(ftp_data_passive_send_file)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    const size_t size = 3u << 20;
    char *content;
    int fd = make_file("retr", size, &content);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    CHECK(port != 0);
    CHECK_INT(addr.ss_family, AF_INET);
    CHECK_INT(((struct sockaddr_in *)&addr)->sin_addr.s_addr, htonl(0x7f000001));
    CHECK(ftp_data_ready(r.d));
    int c = tcp_connect(NULL, "127.0.0.1", port);
    REQUIRE(c >= 0);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    x.offset = 1000;                /* REST 1000 */
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    CHECK(!ftp_data_ready(r.d));
    CHECK(ftp_data_busy(r.d));
    run_until(&r, &r.opened, 3000);
    CHECK_INT(r.opened, 1);
    char *got = malloc(size);
    size_t n = read_all(c, got, size);
    CHECK_INT(n, size - 1000);
    CHECK(memcmp(got, content + 1000, size - 1000) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.done, 1);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, size - 1000);
    CHECK(!ftp_data_busy(r.d));
    /* The channel is used up: a second transfer needs a new PASV. */
    CHECK(ftp_data_start(r.d, &x) < 0);
    /* The session's descriptor is still its own. */
    CHECK(fcntl(fd, F_GETFD) >= 0);
    close(c);
    close(fd);
    free(got);
    free(content);
    rig_stop(&r);
}

TEST(ftp_data_passive_refuses_stranger)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    struct buf b = BUF_INIT;
    buf_puts(&b, "file1\r\nfile2\r\n");
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    /* A stranger (another address) connects first: closed, the wait goes on. */
    int s = tcp_connect("127.0.0.2", "127.0.0.1", port);
    REQUIRE(s >= 0);
    int never = 0;
    run_until(&r, &never, 200);
    CHECK_INT(r.opened, 0);
    char tmp[64];
    ssize_t k = recv(s, tmp, sizeof tmp, 0);
    CHECK(k <= 0);                  /* closed without a byte */
    close(s);
    int c = tcp_connect("127.0.0.1", "127.0.0.1", port);
    REQUIRE(c >= 0);
    run_until(&r, &r.opened, 3000);
    CHECK_INT(r.opened, 1);
    char got[64];
    size_t n = read_all(c, got, sizeof got);
    CHECK_INT(n, 14);
    CHECK(memcmp(got, "file1\r\nfile2\r\n", 14) == 0);
    buf_free(&b);                   /* the session may free it: we work on a copy */
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, 14);
    close(c);
    rig_stop(&r);
}

TEST(ftp_data_passive_range_and_address)
{
    struct ftp_data_config cfg = default_cfg;
    uint16_t base;
    int probe = tcp_listener("127.0.0.1", &base);   /* a port that is surely taken */
    REQUIRE(probe >= 0);
    cfg.pasv_min = cfg.pasv_max = base;
    struct rig r;
    REQUIRE(rig_start(&r, &cfg));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    CHECK_INT(ftp_data_passive(r.d, &addr, &port), -EADDRINUSE);
    close(probe);
    ftp_data_free(r.d);
    cfg.pasv_address = "192.0.2.7";
    r.d = ftp_data_new(r.ctrl, &cfg);
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    CHECK_INT(port, base);
    CHECK_INT(addr.ss_family, AF_INET);
    CHECK_INT(((struct sockaddr_in *)&addr)->sin_addr.s_addr, htonl(0xc0000207));
    rig_stop(&r);
}

TEST(ftp_data_connect_timeout)
{
    struct ftp_data_config cfg = default_cfg;
    cfg.connect_timeout_ms = 150;
    struct rig r;
    REQUIRE(rig_start(&r, &cfg));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    struct buf b = BUF_INIT;
    buf_puts(&b, "x\r\n");
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.opened, 0);
    CHECK_INT(r.result, -ETIMEDOUT);
    CHECK(!ftp_data_busy(r.d));
    /* Nothing prepared any more. */
    CHECK(ftp_data_start(r.d, &x) < 0);
    buf_free(&b);
    rig_stop(&r);
}

/* ---- active ---------------------------------------------------------------- */

TEST(ftp_data_active_connect)
{
    struct ftp_data_config cfg = default_cfg;
    cfg.active_from_l_minus_1 = true;
    struct rig r;
    REQUIRE(rig_start(&r, &cfg));
    uint16_t lport;
    int l = tcp_listener("127.0.0.1", &lport);
    REQUIRE(l >= 0);
    struct sockaddr_storage t;
    memset(&t, 0, sizeof t);
    struct sockaddr_in *t4 = (struct sockaddr_in *)&t;
    t4->sin_family = AF_INET;
    t4->sin_port = htons(lport);
    inet_pton(AF_INET, "127.0.0.2", &t4->sin_addr);
    /* RFC 2577: not to another host. */
    CHECK_INT(ftp_data_active(r.d, &t), OP_E_AUTH);
    CHECK(!ftp_data_ready(r.d));
    inet_pton(AF_INET, "127.0.0.1", &t4->sin_addr);
    REQUIRE(ftp_data_active(r.d, &t) == 0);
    CHECK(ftp_data_ready(r.d));
    char *content;
    int fd = make_file("active", 200000, &content);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    CHECK_INT(r.opened, 1);
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    int c = accept(l, (struct sockaddr *)&from, &len);
    REQUIRE(c >= 0);
    /* From port L-1: the control connection's local port minus one. */
    struct sockaddr_storage local;
    REQUIRE(conn_local_addr(r.ctrl, &local) == 0);
    CHECK_INT(sa_port(&from), sa_port(&local) - 1);
    char *got = malloc(200000);
    CHECK_INT(read_all(c, got, 200000), 200000);
    CHECK(memcmp(got, content, 200000) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, 200000);
    close(c);
    close(l);
    close(fd);
    free(got);
    free(content);
    rig_stop(&r);
}

TEST(ftp_data_active_refused)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    uint16_t lport;
    int l = tcp_listener("127.0.0.1", &lport);
    close(l);                       /* nobody listens there now */
    struct sockaddr_storage t;
    memset(&t, 0, sizeof t);
    struct sockaddr_in *t4 = (struct sockaddr_in *)&t;
    t4->sin_family = AF_INET;
    t4->sin_port = htons(lport);
    t4->sin_addr.s_addr = htonl(0x7f000001);
    REQUIRE(ftp_data_active(r.d, &t) == 0);
    struct buf b = BUF_INIT;
    buf_puts(&b, "x");
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.opened, 0);
    CHECK_INT(r.result, -ECONNREFUSED);
    buf_free(&b);
    rig_stop(&r);
}

/* ---- receiving ----------------------------------------------------------------- */

static int open_out(const char *name, int flags)
{
    char path[400];
    pathf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    return open(path, flags | O_CREAT | O_CLOEXEC, 0600);
}

/* PASV, start a receive into fd, connect, send data in pieces, close. */
static void recv_run(struct rig *r, int fd, off_t offset, bool ascii, uint64_t max,
                     const char *const *pieces, size_t npieces)
{
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r->d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    REQUIRE(c >= 0);
    struct ftp_xfer x = xfer(r, FTP_RECV_FILE, fd, NULL);
    x.offset = offset;
    x.ascii = ascii;
    x.max_bytes = max;
    REQUIRE(ftp_data_start(r->d, &x) == 0);
    run_until(r, &r->opened, 3000);
    for (size_t i = 0; i < npieces; i++) {
        send_all_blocking(c, pieces[i], strlen(pieces[i]));
        usleep(20000);              /* separate reads on the other side, usually */
    }
    shutdown(c, SHUT_WR);
    run_until(r, &r->done, 5000);
    close(c);
}

static size_t file_bytes(int fd, char *p, size_t cap)
{
    ssize_t n = pread(fd, p, cap, 0);
    return n < 0 ? 0 : (size_t)n;
}

TEST(ftp_data_recv_binary_and_ascii)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    int fd = open_out("stor", O_RDWR | O_TRUNC);
    REQUIRE(fd >= 0);
    static const char *const bin[] = {"hello\r\n", "world\r", "\n\0"};
    recv_run(&r, fd, 0, false, 0, bin, 3);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, 14);
    char got[256];
    CHECK_INT(file_bytes(fd, got, sizeof got), 14);
    CHECK(memcmp(got, "hello\r\nworld\r\n", 14) == 0);

    /* TYPE A at an offset (REST): CRLF -> LF, a CRLF split between sends. */
    r.opened = r.done = 0;
    static const char *const asc[] = {"ab\r", "\ncd\r\r\n", "e\rf\r"};
    recv_run(&r, fd, 5, true, 0, asc, 3);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, 11);          /* file bytes written */
    CHECK_INT(file_bytes(fd, got, sizeof got), 16);
    CHECK(memcmp(got, "hello" "ab\ncd\r\ne\rf\r", 16) == 0);
    close(fd);
    rig_stop(&r);
}

TEST(ftp_data_recv_quota)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    int fd = open_out("quota", O_RDWR | O_TRUNC);
    static const char *const p[] = {"0123456789", "0123456789", "0123456789"};
    recv_run(&r, fd, 0, false, 15, p, 3);
    CHECK_INT(r.result, -EDQUOT);
    CHECK_INT(r.bytes, 15);
    struct stat st;
    fstat(fd, &st);
    CHECK_INT(st.st_size, 15);
    close(fd);
    rig_stop(&r);
}

TEST(ftp_data_recv_disk_full)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    static const char *const p[] = {"data that does not fit"};
    recv_run(&r, fd, 0, false, 0, p, 1);
    CHECK_INT(r.result, -ENOSPC);
    close(fd);
    /* A descriptor that cannot be written at all: an I/O error. */
    r.opened = r.done = 0;
    fd = open_out("ro", O_RDONLY);
    recv_run(&r, fd, 0, false, 0, p, 1);
    CHECK_INT(r.result, -EIO);
    close(fd);
    rig_stop(&r);
}

/* ---- TYPE A sending, abort, vanished peer, idle ---------------------------------- */

TEST(ftp_data_send_ascii)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    int fd = open_out("text", O_RDWR | O_TRUNC);
    REQUIRE(write(fd, "a\nb\n\nc", 6) == 6);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    x.ascii = true;
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    char got[64];
    size_t n = read_all(c, got, sizeof got);
    CHECK_INT(n, 9);
    CHECK(memcmp(got, "a\r\nb\r\n\r\nc", 9) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, 6);
    close(c);
    close(fd);
    rig_stop(&r);
}

/* A big file to a client that does not read: the transfer blocks on its
 * thread, the loop stays free; ABOR ends it at once. */
TEST(ftp_data_abort_running)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    char *content;
    int fd = make_file("big", 16u << 20, &content);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    int never = 0;
    run_until(&r, &never, 100);     /* the loop runs while the thread is blocked */
    CHECK_INT(r.done, 0);
    CHECK(ftp_data_busy(r.d));
    CHECK(ftp_data_progress(r.d) < (16u << 20));
    ftp_data_abort(r.d);
    CHECK_INT(r.done, 1);           /* before ftp_data_abort returned */
    CHECK_INT(r.result, -ECANCELED);
    CHECK(!ftp_data_busy(r.d));
    close(fd);                      /* the session may close its file now */
    /* The client sees the end of the data connection. */
    struct pollfd pfd = {c, POLLIN, 0};
    char tmp[65536];
    size_t total = 0;
    for (int i = 0; i < 2000; i++) {
        if (poll(&pfd, 1, 2000) <= 0)
            break;
        ssize_t k = recv(c, tmp, sizeof tmp, 0);
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    CHECK(total < (16u << 20));
    close(c);
    free(content);
    rig_stop(&r);
}

TEST(ftp_data_abort_waiting_and_from_on_open)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    struct buf b = BUF_INIT;
    buf_puts(&b, "listing\r\n");
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    ftp_data_abort(r.d);            /* before any connection */
    CHECK_INT(r.done, 1);
    CHECK_INT(r.result, -ECANCELED);
    r.done = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    r.abort_on_open = true;
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.opened, 1);
    CHECK_INT(r.done, 1);
    CHECK_INT(r.result, -ECANCELED);
    close(c);
    buf_free(&b);
    rig_stop(&r);
}

TEST(ftp_data_peer_vanishes)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    char *content;
    int fd = make_file("vanish", 32u << 20, &content);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    char tmp[4096];
    CHECK(recv(c, tmp, sizeof tmp, 0) > 0);
    /* Gone with unread data: a reset. */
    struct linger lg = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    run_until(&r, &r.done, 5000);
    CHECK_INT(r.done, 1);
    CHECK_INT(r.result, -ECONNRESET);
    close(fd);
    free(content);
    rig_stop(&r);
}

TEST(ftp_data_idle_timeout)
{
    struct ftp_data_config cfg = default_cfg;
    cfg.idle_timeout_ms = 200;
    struct rig r;
    REQUIRE(rig_start(&r, &cfg));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    int fd = open_out("idle", O_RDWR | O_TRUNC);
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_RECV_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    send_all_blocking(c, "some", 4);   /* then nothing more, never closed */
    run_until(&r, &r.done, 5000);
    CHECK_INT(r.done, 1);
    CHECK_INT(r.result, -ECONNRESET);
    CHECK_INT(r.bytes, 4);
    close(c);
    close(fd);
    rig_stop(&r);
}

TEST(ftp_data_rate_limit_delivers_everything)
{
    struct ftp_data_config cfg = default_cfg;
    cfg.rate_limit = 2u << 20;      /* 2 MB/s: 300 KB in about 0.15 s */
    struct rig r;
    REQUIRE(rig_start(&r, &cfg));
    char *content;
    int fd = make_file("rate", 300000, &content);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_SEND_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    char *got = malloc(300000);
    CHECK_INT(read_all(c, got, 300000), 300000);
    CHECK(memcmp(got, content, 300000) == 0);
    run_until(&r, &r.done, 5000);
    CHECK_INT(r.result, 0);
    close(c);
    close(fd);
    free(got);
    free(content);
    rig_stop(&r);
}

/* ---- PROT P: TLS on the data connection (RFC 4217) --------------------------- */

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include "net/tls.h"

static void g_open_greet(struct conn *c)
{
    g_last = c;
    conn_write(c, "220 hi\r\n", 8);
}
static const struct conn_ops c_ops_tls = {
    .on_open = g_open_greet, .on_line = c_line, .on_too_long = c_void,
    .on_timeout = c_void, .on_close = c_void,
};

struct tls_client {
    struct loop *lp;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int ok;
};

static void post_stop(void *arg) { loop_stop(arg); }

/* The client's control handshake, on its own thread while the loop serves
 * the server side; reading the greeting also takes in TLS 1.3 tickets. */
static void *ctrl_handshake(void *arg)
{
    struct tls_client *tc = arg;
    tc->ssl = SSL_new(tc->ctx);
    SSL_set_fd(tc->ssl, tc->fd);
    char line[16];
    if (SSL_connect(tc->ssl) == 1 && SSL_read(tc->ssl, line, sizeof line) == 8)
        tc->ok = 1;
    loop_post(tc->lp, post_stop, tc->lp);
    return NULL;
}

/* A control connection over implicit TLS, its handshake done. */
static bool tls_ctrl(struct rig *r, struct tls_client *tc, SSL_CTX *cctx)
{
    uint16_t port;
    int lfd = tcp_listener("127.0.0.1", &port);
    memset(tc, 0, sizeof *tc);
    tc->lp = r->lp;
    tc->ctx = cctx;
    tc->fd = tcp_connect(NULL, "127.0.0.1", port);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    close(lfd);
    if (fd < 0 || tc->fd < 0)
        return false;
    g_last = NULL;
    r->svc.ops = &c_ops_tls;
    conn_accept(&r->w, fd, &r->svc, &peer, true, false);
    pthread_t t;
    pthread_create(&t, NULL, ctrl_handshake, tc);
    int never = 0;
    run_until(r, &never, 3000);
    pthread_join(t, NULL);
    return tc->ok && g_last != NULL;
}

static void tls_client_free(struct tls_client *tc)
{
    SSL_free(tc->ssl);
    close(tc->fd);
}

static SSL_CTX *client_ctx(int maxver)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    if (maxver)
        SSL_CTX_set_max_proto_version(c, maxver);
    return c;
}

static bool load_server_cert(void)
{
    char cert[400], key[400], err[300];
    const char *dir = test_tmpdir();
    pathf(cert, sizeof cert, "%s/cert.pem", dir);
    pathf(key, sizeof key, "%s/key.pem", dir);
    return tls_make_selfsigned(cert, key, "localhost", err, sizeof err) == 0 &&
           tls_reload(cert, key, false, err, sizeof err) == 0;
}

/* One protected download over a data connection whose client resumes
 * session sess (NULL: a full handshake). Returns the result; *reused and
 * *clean_end tell what the client saw. */
static int tls_download(struct rig *r, SSL_CTX *cctx, SSL_SESSION *sess, const char *text,
                        bool *reused, bool *clean_end)
{
    struct sockaddr_storage addr;
    uint16_t port = 0;
    struct buf b = BUF_INIT;
    buf_puts(&b, text);
    r->opened = r->done = 0;
    *reused = *clean_end = false;
    if (ftp_data_passive(r->d, &addr, &port) != 0)
        return -999;
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(r, FTP_SEND_BUF, -1, &b);
    x.protect = true;
    if (ftp_data_start(r->d, &x) != 0)
        return -998;
    run_until(r, &r->opened, 3000);
    SSL *s = SSL_new(cctx);
    SSL_set_fd(s, c);
    if (sess)
        SSL_set_session(s, sess);
    char got[256];
    size_t n = 0;
    if (SSL_connect(s) == 1) {
        *reused = SSL_session_reused(s);
        for (;;) {
            int k = SSL_read(s, got + n, (int)(sizeof got - 1 - n));
            if (k <= 0) {
                *clean_end = SSL_get_error(s, k) == SSL_ERROR_ZERO_RETURN;
                if (*clean_end)
                    SSL_shutdown(s);    /* as clients do: the session stays resumable */
                break;
            }
            n += (size_t)k;
        }
    }
    got[n] = 0;
    ERR_clear_error();
    run_until(r, &r->done, 3000);
    if (r->result == 0) {
        CHECK_STR(got, text);
    }
    SSL_free(s);
    close(c);
    buf_free(&b);
    return r->result;
}

static void tls_resume_case(int maxver)
{
    REQUIRE(load_server_cert());
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    SSL_CTX *cctx = client_ctx(maxver);
    struct tls_client tc;
    REQUIRE(tls_ctrl(&r, &tc, cctx));
    ftp_data_free(r.d);
    r.d = ftp_data_new(g_last, &default_cfg);
    struct conn *first = g_last;
    SSL_SESSION *sess = SSL_get1_session(tc.ssl);
    REQUIRE(sess);
    bool reused, clean;

    /* Resuming the control connection's session: accepted, close_notify at the end. */
    CHECK_INT(tls_download(&r, cctx, sess, "protected listing\r\n", &reused, &clean), 0);
    CHECK(reused);
    CHECK(clean);
    CHECK_INT(r.bytes, 19);

    /* A full handshake (no resumption): refused. */
    CHECK_INT(tls_download(&r, cctx, NULL, "x", &reused, &clean), OP_E_TLS);
    CHECK(!reused);

    /* The session of another control connection (another client): refused
     * even though it resumes. */
    struct tls_client tc2;
    REQUIRE(tls_ctrl(&r, &tc2, cctx));
    SSL_SESSION *other = SSL_get1_session(tc2.ssl);
    REQUIRE(other);
    CHECK_INT(tls_download(&r, cctx, other, "x", &reused, &clean), OP_E_TLS);
    (void)first;

    /* And the right one still works. */
    CHECK_INT(tls_download(&r, cctx, sess, "again\r\n", &reused, &clean), 0);
    CHECK(reused);

    SSL_SESSION_free(sess);
    SSL_SESSION_free(other);
    tls_client_free(&tc);
    tls_client_free(&tc2);
    SSL_CTX_free(cctx);
    rig_stop(&r);
    tls_shutdown();
}

TEST(ftp_data_tls13_resumes_control_session) { tls_resume_case(0); }
TEST(ftp_data_tls12_resumes_control_session) { tls_resume_case(TLS1_2_VERSION); }

/* PROT P without TLS on the control connection: nothing to resume. */
TEST(ftp_data_tls_needs_tls_control)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    struct sockaddr_storage addr;
    uint16_t port = 0;
    struct buf b = BUF_INIT;
    buf_puts(&b, "x");
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    x.protect = true;
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, OP_E_TLS);
    CHECK_INT(r.opened, 0);
    close(c);
    buf_free(&b);
    rig_stop(&r);
}

/* An upload larger than a few writeback chunks (xfer.c starts the disk
 * writes as it goes): every byte lands where it belongs. */
TEST(ftp_data_recv_large)
{
    struct rig r;
    REQUIRE(rig_start(&r, NULL));
    const size_t size = 24u << 20;
    char *content;
    int src = make_file("large-src", size, &content);
    close(src);
    int fd = open_out("large", O_RDWR | O_TRUNC);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    int c = tcp_connect(NULL, "127.0.0.1", port);
    struct ftp_xfer x = xfer(&r, FTP_RECV_FILE, fd, NULL);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    send_all_blocking(c, content, size);
    shutdown(c, SHUT_WR);
    run_until(&r, &r.done, 10000);
    CHECK_INT(r.result, 0);
    CHECK_INT(r.bytes, size);
    char *got = malloc(size + 1);
    CHECK_INT(file_bytes(fd, got, size + 1), size);
    CHECK(memcmp(got, content, size) == 0);
    close(c);
    close(fd);
    free(got);
    free(content);
    rig_stop(&r);
}

/* ---- IPv6 (RFC 2428) -------------------------------------------------------------- */

static int listener6(uint16_t *port)
{
    return ctrl_listen6("::1", port);
}

TEST(ftp_data_ipv6_passive_and_active)
{
    g_rig_listen6 = "::1";
    struct rig r;
    bool ok = rig_start(&r, NULL);
    g_rig_listen6 = NULL;
    REQUIRE(ok);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    CHECK_INT(addr.ss_family, AF_INET6);
    int c = tcp_connect6("::1", port);
    REQUIRE(c >= 0);
    struct buf b = BUF_INIT;
    buf_puts(&b, "v6\r\n");
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    char got[16];
    CHECK_INT(read_all(c, got, sizeof got), 4);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    close(c);

    /* EPRT |2|::1|port| */
    uint16_t lport;
    int l = listener6(&lport);
    REQUIRE(l >= 0);
    struct sockaddr_storage t;
    memset(&t, 0, sizeof t);
    struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&t;
    t6->sin6_family = AF_INET6;
    t6->sin6_port = htons(lport);
    inet_pton(AF_INET6, "::1", &t6->sin6_addr);
    REQUIRE(ftp_data_active(r.d, &t) == 0);
    r.opened = r.done = 0;
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    int a = accept(l, NULL, NULL);
    REQUIRE(a >= 0);
    CHECK_INT(read_all(a, got, sizeof got), 4);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    close(a);
    close(l);
    buf_free(&b);
    rig_stop(&r);
}

/* A dual-stack listener reached over IPv4: the control peer is
 * ::ffff:127.0.0.1, PORT names 127.0.0.1, PASV advertises 127.0.0.1, and
 * the data connection from 127.0.0.1 is the same client. */
TEST(ftp_data_mapped_ipv4)
{
    g_rig_listen6 = "::";
    struct rig r;
    bool ok = rig_start(&r, NULL);
    g_rig_listen6 = NULL;
    REQUIRE(ok);
    CHECK_INT(conn_peer_addr(r.ctrl)->ss_family, AF_INET6);
    struct sockaddr_storage addr;
    uint16_t port = 0;
    REQUIRE(ftp_data_passive(r.d, &addr, &port) == 0);
    CHECK_INT(addr.ss_family, AF_INET);
    CHECK_INT(((struct sockaddr_in *)&addr)->sin_addr.s_addr, htonl(0x7f000001));
    int c = tcp_connect(NULL, "127.0.0.1", port);
    REQUIRE(c >= 0);
    struct buf b = BUF_INIT;
    buf_puts(&b, "mapped\r\n");
    struct ftp_xfer x = xfer(&r, FTP_SEND_BUF, -1, &b);
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    char got[16];
    CHECK_INT(read_all(c, got, sizeof got), 8);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    close(c);

    uint16_t lport;
    int l = tcp_listener("127.0.0.1", &lport);
    struct sockaddr_storage t;
    memset(&t, 0, sizeof t);
    struct sockaddr_in *t4 = (struct sockaddr_in *)&t;
    t4->sin_family = AF_INET;
    t4->sin_port = htons(lport);
    t4->sin_addr.s_addr = htonl(0x7f000001);
    REQUIRE(ftp_data_active(r.d, &t) == 0);
    r.opened = r.done = 0;
    REQUIRE(ftp_data_start(r.d, &x) == 0);
    run_until(&r, &r.opened, 3000);
    int a = accept(l, NULL, NULL);
    REQUIRE(a >= 0);
    CHECK_INT(read_all(a, got, sizeof got), 8);
    run_until(&r, &r.done, 3000);
    CHECK_INT(r.result, 0);
    close(a);
    close(l);
    buf_free(&b);
    rig_stop(&r);
}
