/*
 * popbench.c - the POP3 load client of bench/pop3/run.sh.
 *
 * Built so that the client is never what is measured: one process, raw
 * non-blocking sockets, commands pipelined (RFC 2449 section 6.6) in large
 * batches, responses counted by scanning for their terminating "." line
 * (RFC 1939 section 3) without copying message bodies anywhere.
 *
 *   popbench port
 *       print a free TCP port on 127.0.0.1
 *   popbench fill DIR COUNT SIZE
 *       write COUNT messages of SIZE octets (LF line ends) into DIR/new/
 *       under valid Maildir names carrying ,S= (file size) and ,W= (size
 *       with CRLF line ends)
 *   popbench retr PORT USER PASS [WINDOW]
 *       one session on 127.0.0.1:PORT: log in with USER/PASS, STAT, RETR
 *       every message with up to WINDOW commands outstanding, QUIT; prints
 *       "msgs=N errors=N octets=N login_s=T retr_s=T"
 *   popbench idle PORT USERFMT PASS COUNT READYFILE MAXSECS
 *       open COUNT sessions, session i logged in as USERFMT with %d
 *       replaced by i (1..COUNT); once all are authenticated write
 *       READYFILE and hold them open until SIGTERM or MAXSECS
 *
 * The password is read from the command line: this is a benchmark helper
 * run with throw-away accounts and is never given a real one.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (1 << 20)

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "popbench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_port(const char *s)
{
    char *end;
    long p = strtol(s, &end, 10);
    if (*end || p <= 0 || p > 65535)
        die("bad port '%s'", s);
    return (int)p;
}

static int tcp_connect(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        die("connect to port %d: %s", port, strerror(errno));
    return fd;
}

/* ---- port ---- */

static int cmd_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        die("cannot find a free port: %s", strerror(errno));
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

/* ---- fill ---- */

static int cmd_fill(const char *dir, long count, long size)
{
    if (count <= 0 || size < 200)
        die("fill: COUNT must be > 0 and SIZE >= 200");
    char path[4000];
    if (snprintf(path, sizeof path, "%s/new", dir) >= (int)sizeof path)
        die("path too long");
    char *msg = malloc((size_t)size);
    if (!msg)
        die("out of memory");
    long sec = (long)time(NULL) - count;
    for (long i = 1; i <= count; i++) {
        int h = snprintf(msg, (size_t)size,
                         "From: Bench Sender <sender@example.test>\n"
                         "To: bench@example.test\n"
                         "Subject: benchmark message %ld\n"
                         "Message-ID: <bench-%ld@example.test>\n"
                         "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
                         "\n",
                         i, i);
        /* Body: lines of 71 letters, the last one cut to fit exactly. */
        long lines = 0;
        for (long p = h; p < size; p++) {
            long col = (p - h) % 72;
            msg[p] = col == 71 ? '\n' : (char)('a' + (col + i + lines) % 26);
            if (col == 71)
                lines++;
        }
        msg[size - 1] = '\n';
        long nl = 0;
        for (long p = 0; p < size; p++)
            nl += msg[p] == '\n';
        char name[4200];
        if (snprintf(name, sizeof name, "%s/%ld.M%ldP%dQ%ld.bench,S=%ld,W=%ld", path, sec + i,
                     i % 1000000, (int)getpid(), i, size, size + nl) >= (int)sizeof name)
            die("path too long");
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            die("create %s: %s", name, strerror(errno));
        if (write(fd, msg, (size_t)size) != size)
            die("write %s: %s", name, strerror(errno));
        close(fd);
    }
    free(msg);
    return 0;
}

/* ---- a response reader over one socket ---- */

struct reader {
    int fd;
    char *buf;
    size_t start, end;
};

/* Read more bytes (blocking until some arrive). 0 on EOF. */
static ssize_t reader_fill(struct reader *r)
{
    if (r->start > 0 && r->start == r->end)
        r->start = r->end = 0;
    if (r->end == RBUF_SIZE) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        if (r->end == RBUF_SIZE)
            die("line longer than %d octets", RBUF_SIZE);
    }
    ssize_t n;
    do
        n = read(r->fd, r->buf + r->end, RBUF_SIZE - r->end);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN)
        die("read: %s", strerror(errno));
    if (n > 0)
        r->end += (size_t)n;
    return n;
}

/* Next complete line (including its LF) or NULL if none is buffered yet. */
static const char *reader_line(struct reader *r, size_t *len)
{
    const char *p = r->buf + r->start;
    const char *nl = memchr(p, '\n', r->end - r->start);
    if (!nl)
        return NULL;
    *len = (size_t)(nl - p) + 1;
    r->start += *len;
    return p;
}

/* Blocking: one status line; exits unless it starts with +OK. */
static void expect_ok(struct reader *r, const char *what)
{
    for (int tries = 0; tries < 100000; tries++) {
        size_t len;
        const char *l = reader_line(r, &len);
        if (l) {
            if (len < 3 || memcmp(l, "+OK", 3) != 0)
                die("%s: server said: %.*s", what, (int)(len > 200 ? 200 : len), l);
            return;
        }
        if (reader_fill(r) == 0)
            die("%s: connection closed", what);
    }
    die("%s: no answer", what);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (w < 0)
            die("write: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* ---- retr ---- */

static int cmd_retr(int port, const char *user, const char *pass, long window)
{
    struct reader r = {.fd = tcp_connect(port, 0), .buf = malloc(RBUF_SIZE)};
    if (!r.buf)
        die("out of memory");
    char cmd[1024];
    double t0 = now_s();
    expect_ok(&r, "greeting");
    snprintf(cmd, sizeof cmd, "USER %s\r\n", user);
    write_all(r.fd, cmd, strlen(cmd));
    expect_ok(&r, "USER");
    snprintf(cmd, sizeof cmd, "PASS %s\r\n", pass);
    write_all(r.fd, cmd, strlen(cmd));
    expect_ok(&r, "PASS");
    write_all(r.fd, "STAT\r\n", 6);
    long nmsgs = -1;
    for (int tries = 0; tries < 100000 && nmsgs < 0; tries++) {
        size_t len;
        const char *l = reader_line(&r, &len);
        if (l) {
            if (len < 4 || memcmp(l, "+OK ", 4) != 0)
                die("STAT: server said: %.*s", (int)(len > 200 ? 200 : len), l);
            nmsgs = strtol(l + 4, NULL, 10);
            break;
        }
        if (reader_fill(&r) == 0)
            die("STAT: connection closed");
    }
    if (nmsgs < 0)
        die("STAT: no answer");
    double t1 = now_s();

    /* The socket goes non-blocking; a poll loop keeps up to `window`
     * commands outstanding and writes them in batches. */
    fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK);
    long sent = 0, done = 0, errors = 0;
    long long octets = 0;
    int in_body = 0;
    char *out = malloc((size_t)window * 24 + 64);
    size_t out_off = 0, out_len = 0;
    if (!out)
        die("out of memory");
    double deadline = t1 + 600;
    while (done < nmsgs) {
        if (out_off == out_len && sent < nmsgs && sent - done <= window / 2) {
            out_off = out_len = 0;
            while (sent < nmsgs && sent - done < window)
                out_len += (size_t)sprintf(out + out_len, "RETR %ld\r\n", ++sent);
        }
        struct pollfd pfd = {.fd = r.fd, .events = POLLIN | (out_off < out_len ? POLLOUT : 0)};
        if (poll(&pfd, 1, 10000) <= 0 || now_s() > deadline)
            die("retr: stalled after %ld of %ld messages", done, nmsgs);
        if (pfd.revents & POLLOUT) {
            ssize_t w = write(r.fd, out + out_off, out_len - out_off);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                die("write: %s", strerror(errno));
            if (w > 0)
                out_off += (size_t)w;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = reader_fill(&r);
            if (n == 0)
                die("retr: connection closed after %ld of %ld messages", done, nmsgs);
            size_t len;
            const char *l;
            while ((l = reader_line(&r, &len)) != NULL) {
                if (!in_body) {
                    if (len >= 3 && memcmp(l, "+OK", 3) == 0) {
                        in_body = 1;
                    } else {
                        errors++;
                        done++;
                    }
                } else if (l[0] == '.') {
                    if ((len == 3 && l[1] == '\r') || len == 2) {
                        in_body = 0;
                        done++;
                    } else {
                        octets += (long long)len - 1; /* byte-stuffed line */
                    }
                } else {
                    octets += (long long)len;
                }
            }
        }
    }
    double t2 = now_s();
    fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) & ~O_NONBLOCK);
    write_all(r.fd, "QUIT\r\n", 6);
    expect_ok(&r, "QUIT");
    close(r.fd);
    printf("msgs=%ld errors=%ld octets=%lld login_s=%.4f retr_s=%.4f\n", nmsgs, errors, octets,
           t1 - t0, t2 - t1);
    free(out);
    free(r.buf);
    return errors ? 1 : 0;
}

/* ---- idle ---- */

enum idle_state { I_CONNECTING, I_GREETING, I_USER, I_PASS, I_DONE };

struct idle_conn {
    int fd;
    enum idle_state st;
    char line[512];
    size_t llen;
};

static volatile sig_atomic_t g_stop;
static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Feed received bytes; returns 1 when a complete status line was seen
 * (copied in c->line), -1 on overflow. */
static int idle_read_line(struct idle_conn *c)
{
    char ch;
    for (;;) {
        ssize_t n = read(c->fd, &ch, 1);
        if (n == 0)
            return -2;
        if (n < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -2;
        if (c->llen + 1 >= sizeof c->line)
            return -1;
        c->line[c->llen++] = ch;
        if (ch == '\n') {
            c->line[c->llen] = 0;
            c->llen = 0;
            return 1;
        }
    }
}

static int cmd_idle(int port, const char *userfmt, const char *pass, long count,
                    const char *readyfile, long maxsecs)
{
    if (count <= 0 || count > 100000)
        die("idle: bad COUNT");
    const char *pct = strchr(userfmt, '%');
    if (!pct || strchr(pct + 1, '%') || pct[strspn(pct + 1, "0123456789") + 1] != 'd')
        die("idle: USERFMT needs one %%d (or %%04d)");
    struct idle_conn *cs = calloc((size_t)count, sizeof *cs);
    struct pollfd *pfds = calloc((size_t)count, sizeof *pfds);
    if (!cs || !pfds)
        die("out of memory");
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    const long inflight_max = 64;
    long opened = 0, done = 0;
    double start = now_s();
    while (done < count) {
        if (g_stop)
            die("idle: stopped with %ld of %ld sessions logged in", done, count);
        if (now_s() - start > (double)maxsecs)
            die("idle: only %ld of %ld sessions logged in after %lds", done, count, maxsecs);
        while (opened < count && opened - done < inflight_max) {
            cs[opened].fd = tcp_connect(port, 1);
            cs[opened].st = I_CONNECTING;
            opened++;
        }
        nfds_t n = 0;
        long idx[256];
        for (long i = done; i < opened && n < 256; i++) {
            if (cs[i].st == I_DONE)
                continue;
            pfds[n].fd = cs[i].fd;
            pfds[n].events = cs[i].st == I_CONNECTING ? POLLOUT : POLLIN;
            pfds[n].revents = 0;
            idx[n++] = i;
        }
        if (poll(pfds, n, 1000) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (nfds_t k = 0; k < n; k++) {
            if (!pfds[k].revents)
                continue;
            struct idle_conn *c = &cs[idx[k]];
            long num = idx[k] + 1;
            if (c->st == I_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err)
                    die("idle: connect #%ld: %s", num, strerror(err));
                c->st = I_GREETING;
                continue;
            }
            int got = idle_read_line(c);
            if (got < 0)
                die("idle: session #%ld: %s", num, got == -1 ? "line too long" : "closed");
            if (got == 0)
                continue;
            if (strncmp(c->line, "+OK", 3) != 0)
                die("idle: session #%ld: server said: %.200s", num, c->line);
            char cmd[600], user[256];
            if (c->st == I_GREETING) {
                snprintf(user, sizeof user, userfmt, (int)num);
                snprintf(cmd, sizeof cmd, "USER %s\r\n", user);
                write_all(c->fd, cmd, strlen(cmd));
                c->st = I_USER;
            } else if (c->st == I_USER) {
                snprintf(cmd, sizeof cmd, "PASS %s\r\n", pass);
                write_all(c->fd, cmd, strlen(cmd));
                c->st = I_PASS;
            } else if (c->st == I_PASS) {
                c->st = I_DONE;
            }
        }
        while (done < opened && cs[done].st == I_DONE)
            done++;
    }
    double t = now_s() - start;
    FILE *f = fopen(readyfile, "w");
    if (!f)
        die("cannot write %s: %s", readyfile, strerror(errno));
    fprintf(f, "%ld sessions logged in in %.2f s\n", count, t);
    fclose(f);
    while (!g_stop && now_s() - start < (double)maxsecs)
        usleep(100000);
    for (long i = 0; i < count; i++)
        close(cs[i].fd);
    free(cs);
    free(pfds);
    return 0;
}

int main(int argc, char **argv)
{
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && !strcmp(argv[1], "port"))
        return cmd_port();
    if (argc == 5 && !strcmp(argv[1], "fill"))
        return cmd_fill(argv[2], atol(argv[3]), atol(argv[4]));
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "retr"))
        return cmd_retr(parse_port(argv[2]), argv[3], argv[4], argc == 6 ? atol(argv[5]) : 512);
    if (argc == 8 && !strcmp(argv[1], "idle"))
        return cmd_idle(parse_port(argv[2]), argv[3], argv[4], atol(argv[5]), argv[6],
                        atol(argv[7]));
    fprintf(stderr,
            "usage: popbench port\n"
            "       popbench fill DIR COUNT SIZE\n"
            "       popbench retr PORT USER PASS [WINDOW]\n"
            "       popbench idle PORT USERFMT PASS COUNT READYFILE MAXSECS\n");
    return 64;
}
