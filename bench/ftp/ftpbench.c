/*
 * ftpbench.c - the FTP load client of bench/ftp/run.sh.
 *
 * Built so that the client is never what is measured: blocking sockets,
 * one 4 MiB buffer reused for every read and write, data connections in
 * extended passive mode (RFC 2428 EPSV) to 127.0.0.1, nothing written to
 * disk on the client side.
 *
 *   ftpbench port
 *       print a free TCP port on 127.0.0.1
 *   ftpbench retr PORT USER PASS PATH
 *       log in, TYPE I, RETR PATH; prints "bytes=N secs=T mbs=R" timed
 *       from the RETR command to the end of the data and the 226 reply
 *   ftpbench stor PORT USER PASS PATH SIZE
 *       log in, TYPE I, STOR PATH with SIZE bytes; timed from STOR to 226
 *       (a server that syncs before 226 includes that in the figure)
 *   ftpbench many PORT USER PASS COUNT
 *       one session: RETR f0001 .. fCOUNT each over its own EPSV data
 *       connection; prints "files=N bytes=N secs=T"
 *   ftpbench sessions PORT COUNT PROCS
 *       COUNT sessions (connect, greeting, NOOP, QUIT) spread over PROCS
 *       processes; prints "sessions=N secs=T per_s=R"
 *
 * The password comes from the command line: a benchmark helper run with
 * throw-away accounts, never given a real one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (4u << 20)

static char *g_buf;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ftpbench: ");
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

static int connect_port(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect to port %u: %s", port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* The control connection: a small line reader. */
struct ctl {
    int fd;
    char in[8192];
    size_t len;
};

static void ctl_send(struct ctl *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    memcpy(line + n, "\r\n", 2);
    if (send(c->fd, line, (size_t)n + 2, MSG_NOSIGNAL) != n + 2)
        die("send: %s", strerror(errno));
}

/* One whole reply (RFC 959 section 4.2: multi-line until "ddd "); its
 * code, the last line in last. */
static int ctl_reply(struct ctl *c, char *last, size_t lastcap)
{
    int code = 0;
    for (;;) {
        char *nl;
        while (!(nl = memchr(c->in, '\n', c->len))) {
            if (c->len == sizeof c->in)
                die("reply line too long");
            ssize_t k = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
            if (k <= 0)
                die("control connection closed");
            c->len += (size_t)k;
        }
        size_t n = (size_t)(nl - c->in) + 1;
        char line[8192];
        memcpy(line, c->in, n);
        line[n] = 0;
        memmove(c->in, c->in + n, c->len - n);
        c->len -= n;
        if (n >= 4 && line[0] >= '1' && line[0] <= '5' && line[3] == ' ' &&
            (code == 0 || atoi(line) == code)) {
            if (last) {
                size_t m = n < lastcap ? n : lastcap - 1;
                memcpy(last, line, m);
                last[m] = 0;
            }
            return atoi(line);
        }
        if (code == 0 && n >= 4 && line[3] == '-')
            code = atoi(line);
    }
}

static void expect(struct ctl *c, int want, const char *what)
{
    char last[512];
    int code = ctl_reply(c, last, sizeof last);
    if (code / 100 != want / 100)
        die("%s: %s", what, last);
}

static void login(struct ctl *c, unsigned port, const char *user, const char *pass)
{
    c->fd = connect_port(port);
    c->len = 0;
    expect(c, 220, "greeting");
    ctl_send(c, "USER %s", user);
    char last[512];
    int code = ctl_reply(c, last, sizeof last);
    if (code == 331) {
        ctl_send(c, "PASS %s", pass);
        expect(c, 230, "PASS");
    } else if (code != 230) {
        die("USER: %s", last);
    }
    ctl_send(c, "TYPE I");
    expect(c, 200, "TYPE I");
}

static int epsv(struct ctl *c)
{
    char last[512];
    ctl_send(c, "EPSV");
    if (ctl_reply(c, last, sizeof last) != 229)
        die("EPSV: %s", last);
    char *p = strstr(last, "(|||");
    if (!p)
        die("EPSV reply: %s", last);
    return connect_port((unsigned)atoi(p + 4));
}

static uint64_t drain(int fd)
{
    uint64_t total = 0;
    for (;;) {
        ssize_t k = recv(fd, g_buf, BUF_SIZE, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return total;
        total += (uint64_t)k;
    }
}

static uint64_t retr(struct ctl *c, const char *path)
{
    int d = epsv(c);
    ctl_send(c, "RETR %s", path);
    expect(c, 150, "RETR");
    uint64_t n = drain(d);
    close(d);
    expect(c, 226, "RETR end");
    return n;
}

static void quit(struct ctl *c)
{
    ctl_send(c, "QUIT");
    expect(c, 221, "QUIT");
    close(c->fd);
}

static void cmd_retr(unsigned port, const char *user, const char *pass, const char *path)
{
    struct ctl c;
    login(&c, port, user, pass);
    double t0 = now_s();
    uint64_t n = retr(&c, path);
    double t = now_s() - t0;
    quit(&c);
    printf("bytes=%llu secs=%.3f mbs=%.0f\n", (unsigned long long)n, t, (double)n / t / 1e6);
}

static void cmd_stor(unsigned port, const char *user, const char *pass, const char *path,
                     uint64_t size)
{
    struct ctl c;
    login(&c, port, user, pass);
    for (size_t i = 0; i < BUF_SIZE; i++)
        g_buf[i] = (char)(i * 131 + (i >> 12));
    double t0 = now_s();
    int d = epsv(&c);
    ctl_send(&c, "STOR %s", path);
    expect(&c, 150, "STOR");
    uint64_t left = size;
    while (left > 0) {
        size_t n = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
        ssize_t k = send(d, g_buf, n, MSG_NOSIGNAL);
        if (k <= 0)
            die("data send: %s", strerror(errno));
        left -= (uint64_t)k;
    }
    close(d);
    expect(&c, 226, "STOR end");
    double t = now_s() - t0;
    quit(&c);
    printf("bytes=%llu secs=%.3f mbs=%.0f\n", (unsigned long long)size, t, (double)size / t / 1e6);
}

static void cmd_many(unsigned port, const char *user, const char *pass, unsigned count)
{
    struct ctl c;
    login(&c, port, user, pass);
    uint64_t total = 0;
    double t0 = now_s();
    for (unsigned i = 1; i <= count; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%04u", i);
        total += retr(&c, name);
    }
    double t = now_s() - t0;
    quit(&c);
    printf("files=%u bytes=%llu secs=%.3f\n", count, (unsigned long long)total, t);
}

static void sessions_worker(unsigned port, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct ctl c = {.fd = connect_port(port)};
        expect(&c, 220, "greeting");
        /* Before login vsftpd answers NOOP with 530: any reply will do,
         * the round trip is what is measured. */
        ctl_send(&c, "NOOP");
        ctl_reply(&c, NULL, 0);
        quit(&c);
    }
}

static void cmd_sessions(unsigned port, unsigned count, unsigned procs)
{
    double t0 = now_s();
    for (unsigned p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            sessions_worker(port, count / procs + (p < count % procs));
            _exit(0);
        }
    }
    int bad = 0, st;
    while (wait(&st) > 0)
        bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    double t = now_s() - t0;
    if (bad)
        die("%d session processes failed", bad);
    printf("sessions=%u secs=%.3f per_s=%.0f\n", count, t, count / t);
}

int main(int argc, char **argv)
{
    g_buf = malloc(BUF_SIZE);
    if (!g_buf)
        die("out of memory");
    if (argc == 2 && !strcmp(argv[1], "port")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
            die("no free port");
        printf("%u\n", ntohs(a.sin_port));
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "retr"))
        cmd_retr((unsigned)atoi(argv[2]), argv[3], argv[4], argv[5]);
    else if (argc == 7 && !strcmp(argv[1], "stor"))
        cmd_stor((unsigned)atoi(argv[2]), argv[3], argv[4], argv[5], strtoull(argv[6], NULL, 10));
    else if (argc == 6 && !strcmp(argv[1], "many"))
        cmd_many((unsigned)atoi(argv[2]), argv[3], argv[4], (unsigned)atoi(argv[5]));
    else if (argc == 5 && !strcmp(argv[1], "sessions"))
        cmd_sessions((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
    else
        die("usage: see the comment at the top of bench/ftp/ftpbench.c");
    return 0;
}
