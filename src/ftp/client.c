/*
 * client.c - an FTP client session: the control connection, its replies,
 * TLS, and one data connection per transfer. Contract in client.h.
 *
 * Every socket is non-blocking and every wait goes through wait_fd(),
 * which polls in short slices so that a deadline and the cancel flag are
 * both honoured; TLS runs over the same sockets, its WANT_READ/WANT_WRITE
 * turned into the same waits.
 */
#include "ftp/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"

#define FTPC_TIMEOUT_MS 30000
#define FTPC_LINE_MAX 8192            /* one command line we send */
#define FTPC_CHUNK (256 * 1024)       /* bytes moved per read/write on the data connection */
#define FTPC_SLICE_MS 250             /* how often a wait looks at the cancel flag */
#define FTPC_ABOR_WAIT_MS 3000        /* the reply to ABOR after a finished transfer */

struct sock {
    int fd;
    SSL *ssl;
};

struct ftpc {
    struct ftpc_opts o;
    struct sock ctl;
    SSL_CTX *ctx;
    SSL_SESSION *session;             /* the control connection's, for the data connections */
    char host[256];
    struct sockaddr_storage peer, local;
    socklen_t peerlen, locallen;
    char peertext[INET6_ADDRSTRLEN + 8];
    struct buf in;                    /* received on the control connection, not yet parsed */
    struct buf raw;                   /* the last reply as received */
    struct buf text;                  /* the last reply for people */
    char error[256];
    int code;
    unsigned feats;
    bool active, ascii, no_epsv, prot_p;
};

/* ---- small helpers ------------------------------------------------------------------ */

static void set_error(struct ftpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct ftpc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

static void tls_reason(struct ftpc *c, SSL *ssl, const char *what)
{
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_get_error();
    char reason[200];
    if (v != X509_V_OK) {
        set_error(c, "%s: certificate not trusted: %s", what, X509_verify_cert_error_string(v));
    } else if (e) {
        ERR_error_string_n(e, reason, sizeof reason);
        set_error(c, "%s: %s", what, reason);
    } else {
        set_error(c, "%s failed", what);
    }
    ERR_clear_error();
}

static int timeout_ms(const struct ftpc *c)
{
    return c->o.timeout_ms > 0 ? c->o.timeout_ms : FTPC_TIMEOUT_MS;
}

static bool cancelled(const struct ftpc *c)
{
    return c->o.cancel && *c->o.cancel;
}

static void trace(struct ftpc *c, bool sent, const char *text)
{
    if (c->o.trace)
        c->o.trace(c->o.arg, sent, text);
}

/* Wait until fd is ready for events, the deadline passes (-ETIMEDOUT) or
 * the cancel flag is set (-ECANCELED). */
static int wait_fd(struct ftpc *c, int fd, short events, uint64_t deadline)
{
    for (;;) {
        if (cancelled(c))
            return -ECANCELED;
        uint64_t now = clock_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        uint64_t left = deadline - now;
        struct pollfd pfd = {fd, events, 0};
        int r = poll(&pfd, 1, left < FTPC_SLICE_MS ? (int)left : FTPC_SLICE_MS);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static void sock_close(struct sock *s, bool graceful)
{
    if (s->ssl) {
        if (graceful)
            SSL_shutdown(s->ssl);      /* our close_notify; theirs is not waited for */
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Some bytes: > 0, 0 at the end of the stream, or negative. */
static int sock_read(struct ftpc *c, struct sock *s, char *p, size_t cap)
{
    uint64_t deadline = clock_ms() + (uint64_t)timeout_ms(c);
    int cap_i = cap > INT32_MAX ? INT32_MAX : (int)cap;
    for (;;) {
        short want = POLLIN;
        if (s->ssl) {
            ERR_clear_error();
            int r = SSL_read(s->ssl, p, cap_i);
            if (r > 0)
                return r;
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e == SSL_ERROR_WANT_WRITE)
                want = POLLOUT;
            else if (e == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)
                return 0;
            else if (e != SSL_ERROR_WANT_READ) {
                if (e == SSL_ERROR_SYSCALL && errno)
                    return -errno;
                tls_reason(c, s->ssl, "TLS read");
                return OP_E_TLS;
            }
        } else {
            ssize_t r = read(s->fd, p, cap);
            if (r >= 0)
                return (int)r;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
        }
        int w = wait_fd(c, s->fd, want, deadline);
        if (w < 0)
            return w;
    }
}

static int sock_write_all(struct ftpc *c, struct sock *s, const char *p, size_t n)
{
    uint64_t deadline = clock_ms() + (uint64_t)timeout_ms(c);
    while (n > 0) {
        short want = POLLOUT;
        size_t chunk = n > INT32_MAX ? INT32_MAX : n;
        if (s->ssl) {
            ERR_clear_error();
            int r = SSL_write(s->ssl, p, (int)chunk);
            if (r > 0) {
                p += r;
                n -= (size_t)r;
                deadline = clock_ms() + (uint64_t)timeout_ms(c);
                continue;
            }
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                want = POLLIN;
            else if (e != SSL_ERROR_WANT_WRITE) {
                if (e == SSL_ERROR_SYSCALL && errno)
                    return -errno;
                tls_reason(c, s->ssl, "TLS write");
                return OP_E_TLS;
            }
        } else {
            ssize_t r = send(s->fd, p, chunk, MSG_NOSIGNAL);
            if (r > 0) {
                p += r;
                n -= (size_t)r;
                deadline = clock_ms() + (uint64_t)timeout_ms(c);
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
        }
        int w = wait_fd(c, s->fd, want, deadline);
        if (w < 0)
            return w;
    }
    return 0;
}

/* ---- TLS --------------------------------------------------------------------------- */

/* The control connection's newest session (with TLS 1.3 it comes in a
 * ticket after the handshake) is kept for the data connections. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct ftpc *c = SSL_get_app_data(ssl);
    if (!c || ssl != c->ctl.ssl)
        return 0;
    if (c->session)
        SSL_SESSION_free(c->session);
    c->session = sess;
    return 1;            /* we keep the reference */
}

static int tls_context(struct ftpc *c)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        tls_reason(c, NULL, "TLS context");
        return OP_E_TLS;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    /* A data connection closed without close_notify is judged by the
     * server's 226 on the control connection, not by TLS. */
    SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx, on_new_session);
    if (c->o.insecure) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    int ok = c->o.cafile ? SSL_CTX_load_verify_locations(c->ctx, c->o.cafile, NULL)
                         : SSL_CTX_set_default_verify_paths(c->ctx);
    if (ok != 1) {
        tls_reason(c, NULL, c->o.cafile ? c->o.cafile : "the system's certificates");
        return OP_E_TLS;
    }
    return 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

/* A TLS client on s->fd: host name check, SNI, optional resumption. */
static int tls_handshake(struct ftpc *c, struct sock *s, SSL_SESSION *resume)
{
    s->ssl = SSL_new(c->ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1) {
        tls_reason(c, NULL, "TLS");
        return OP_E_TLS;
    }
    SSL_set_app_data(s->ssl, c);
    if (!is_ip_literal(c->host))
        SSL_set_tlsext_host_name(s->ssl, c->host);
    if (!c->o.insecure) {
        int ok = is_ip_literal(c->host)
                     ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), c->host)
                     : SSL_set1_host(s->ssl, c->host);
        if (ok != 1) {
            tls_reason(c, NULL, "TLS host name");
            return OP_E_TLS;
        }
    }
    if (resume)
        SSL_set_session(s->ssl, resume);
    uint64_t deadline = clock_ms() + (uint64_t)timeout_ms(c);
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(s->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(s->ssl, r);
        short want;
        if (e == SSL_ERROR_WANT_READ)
            want = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            want = POLLOUT;
        else {
            tls_reason(c, s->ssl, "TLS handshake");
            return OP_E_TLS;
        }
        int w = wait_fd(c, s->fd, want, deadline);
        if (w < 0)
            return w;
    }
}

/* ---- the control connection ------------------------------------------------------- */

static bool clean_arg(const char *s)
{
    return !strpbrk(s, "\r\n");
}

static int send_line(struct ftpc *c, const char *line)
{
    if (c->ctl.fd < 0)
        return OP_E_CLOSED;
    if (!clean_arg(line) || strlen(line) + 2 > FTPC_LINE_MAX)
        return -EINVAL;
    if (c->o.trace)
        trace(c, true, strncmp(line, "PASS ", 5) == 0 ? "PASS ****" : line);
    char out[FTPC_LINE_MAX];
    size_t n = strlen(line);
    memcpy(out, line, n);
    memcpy(out + n, "\r\n", 2);
    int r = sock_write_all(c, &c->ctl, out, n + 2);
    explicit_bzero(out, n + 2);
    return r;
}

/* The next reply: its code, or negative. */
static int read_reply(struct ftpc *c)
{
    if (c->ctl.fd < 0)
        return OP_E_CLOSED;
    for (;;) {
        struct ftpc_reply rep;
        int r = ftpc_reply_parse(buf_ptr(&c->in), buf_len(&c->in), &rep);
        if (r == 1) {
            buf_clear(&c->raw);
            buf_clear(&c->text);
            if (buf_append(&c->raw, buf_ptr(&c->in), rep.len) < 0)
                return -ENOMEM;
            char *t = buf_reserve(&c->text, rep.len + 1);
            if (!t)
                return -ENOMEM;
            buf_commit(&c->text, ftpc_reply_text(buf_ptr(&c->in), &rep, t, rep.len + 1));
            buf_consume(&c->in, rep.len);
            c->code = rep.code;
            trace(c, false, buf_cstr(&c->text));
            return rep.code;
        }
        if (r < 0) {
            set_error(c, "the server's reply is not FTP");
            return r;
        }
        char *p = buf_reserve(&c->in, 4096);
        if (!p)
            return -ENOMEM;
        int n = sock_read(c, &c->ctl, p, 4096);
        if (n < 0)
            return n;
        if (n == 0) {
            set_error(c, "the server closed the connection");
            return OP_E_CLOSED;
        }
        buf_commit(&c->in, (size_t)n);
    }
}

/* A final (not 1xx) reply. */
static int read_final(struct ftpc *c)
{
    int r;
    do
        r = read_reply(c);
    while (r >= 100 && r < 200);
    return r;
}

static int vcmd(struct ftpc *c, const char *fmt, va_list ap)
{
    char line[FTPC_LINE_MAX];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return OP_E_TOOLONG;
    int r = send_line(c, line);
    explicit_bzero(line, sizeof line);
    if (r < 0)
        return r;
    return read_final(c);
}

int ftpc_cmd(struct ftpc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vcmd(c, fmt, ap);
    va_end(ap);
    return r;
}

/* A command whose success is the reply want: 0, the code, or negative. */
static int expect(struct ftpc *c, int want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int expect(struct ftpc *c, int want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vcmd(c, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r;
    return r == want ? 0 : r;
}

static int connect_to(struct ftpc *c, const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(fd);
        return e;
    }
    int w = wait_fd(c, fd, POLLOUT, clock_ms() + (uint64_t)timeout_ms(c));
    int err = 0;
    socklen_t elen = sizeof err;
    if (w == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (w < 0 || err) {
        close(fd);
        return w < 0 ? w : -err;
    }
    return fd;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap, bool with_port)
{
    char a[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
        port = ntohs(s4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
        port = ntohs(s6->sin6_port);
    }
    if (!with_port)
        snprintf(out, cap, "%s", a);
    else if (ss->ss_family == AF_INET6)
        snprintf(out, cap, "[%s]:%u", a, port);
    else
        snprintf(out, cap, "%s:%u", a, port);
}

int ftpc_connect(const char *host, uint16_t port, const struct ftpc_opts *o, struct ftpc **out)
{
    *out = NULL;
    struct ftpc *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->o = *o;
    c->ctl.fd = -1;
    c->active = o->active;
    if (!str_copy(c->host, sizeof c->host, host))
        return free(c), OP_E_TOOLONG;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0) {
        *out = c;
        set_error(c, "%s: %s", host, gai_strerror(g));
        return -EHOSTUNREACH;
    }
    *out = c;
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = connect_to(c, ai->ai_addr, ai->ai_addrlen);
        if (fd >= 0 || fd == -ECANCELED)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fd;
    c->ctl.fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->peerlen = sizeof c->peer;
    c->locallen = sizeof c->local;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peerlen) < 0 ||
        getsockname(fd, (struct sockaddr *)&c->local, &c->locallen) < 0)
        return -errno;
    addr_text(&c->peer, c->peertext, sizeof c->peertext, true);

    /* RFC 959 section 5.4: 120 (ready in n minutes) comes before 220. */
    int r = read_final(c);
    if (r < 0)
        return r;
    if (r != 220)
        return r;
    if (o->tls == FTPC_TLS_EXPLICIT) {
        /* RFC 4217 section 4: AUTH TLS, 234, then the handshake. */
        r = expect(c, 234, "AUTH TLS");
        if (r != 0)
            return r;
        if (buf_len(&c->in) > 0) {
            set_error(c, "the server sent data before the TLS handshake");
            return OP_E_SYNTAX;
        }
        if ((r = tls_context(c)) < 0)
            return r;
        if ((r = tls_handshake(c, &c->ctl, NULL)) < 0)
            return r;
    }
    return 0;
}

static int login_setup(struct ftpc *c);

int ftpc_login(struct ftpc *c, const char *user, const char *pass)
{
    if (!clean_arg(user) || !clean_arg(pass))
        return -EINVAL;
    int r = ftpc_cmd(c, "USER %s", user);
    if (r == 331)
        r = ftpc_cmd(c, "PASS %s", pass);
    if (r < 0)
        return r;
    /* 202: PASS was superfluous; 332 (an account is needed) is not supported. */
    if (r != 230 && r != 202)
        return r;
    /* What follows is housekeeping: the login's reply is the one to show. */
    struct buf text = BUF_INIT;
    if (buf_append(&text, buf_ptr(&c->text), buf_len(&c->text)) < 0)
        return -ENOMEM;
    int code = c->code;
    r = login_setup(c);
    if (r == 0) {
        buf_clear(&c->text);
        r = buf_append(&c->text, buf_ptr(&text), buf_len(&text));
        if (r == 0 && !buf_cstr(&c->text))      /* ftpc_reply() needs its NUL */
            r = -ENOMEM;
        c->code = code;
    }
    buf_free(&text);
    return r;
}

static int login_setup(struct ftpc *c)
{
    int r;
    if (c->ctl.ssl) {
        /* RFC 4217 sections 8-9: PBSZ 0 then PROT P protect the data connections. */
        if ((r = expect(c, 200, "PBSZ 0")) != 0)
            return r;
        if ((r = expect(c, 200, "PROT P")) != 0)
            return r;
        c->prot_p = true;
    }
    r = ftpc_cmd(c, "FEAT");
    if (r < 0)
        return r;
    if (r == 211)
        c->feats = ftpc_feat_parse(buf_ptr(&c->raw), buf_len(&c->raw));
    /* RFC 959 section 3.1.1: TYPE A is the default; files move as bytes. */
    return ftpc_type(c, false);
}

int ftpc_quit(struct ftpc *c)
{
    int r = c->ctl.fd >= 0 ? ftpc_cmd(c, "QUIT") : OP_E_CLOSED;
    sock_close(&c->ctl, r == 221);
    buf_clear(&c->in);
    return r == 221 ? 0 : r;
}

void ftpc_free(struct ftpc *c)
{
    if (!c)
        return;
    sock_close(&c->ctl, false);
    if (c->session)
        SSL_SESSION_free(c->session);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    buf_free(&c->in);
    buf_free(&c->raw);
    buf_free(&c->text);
    free(c);
}

int ftpc_code(const struct ftpc *c)
{
    return c->code;
}

const char *ftpc_reply(const struct ftpc *c)
{
    return buf_len(&c->text) ? buf_ptr(&c->text) : "";
}

const char *ftpc_error(const struct ftpc *c)
{
    return c->error;
}

unsigned ftpc_features(const struct ftpc *c)
{
    return c->feats;
}

bool ftpc_connected(const struct ftpc *c)
{
    return c->ctl.fd >= 0;
}

bool ftpc_is_tls(const struct ftpc *c)
{
    return c->ctl.ssl != NULL;
}

const char *ftpc_peer(const struct ftpc *c)
{
    return c->peertext;
}

void ftpc_set_active(struct ftpc *c, bool active)
{
    c->active = active;
}

bool ftpc_active(const struct ftpc *c)
{
    return c->active;
}

bool ftpc_ascii(const struct ftpc *c)
{
    return c->ascii;
}

int ftpc_type(struct ftpc *c, bool ascii)
{
    int r = expect(c, 200, "TYPE %s", ascii ? "A" : "I");
    if (r == 0)
        c->ascii = ascii;
    return r;
}

int ftpc_size(struct ftpc *c, const char *path, uint64_t *size)
{
    if (!clean_arg(path))
        return -EINVAL;
    int r = expect(c, 213, "SIZE %s", path);
    if (r != 0)
        return r;
    /* RFC 3659 section 4.2: "213 <size>" */
    const char *p = buf_ptr(&c->raw) + 4;
    uint64_t v = 0;
    int digits = 0;
    while (*p == ' ')
        p++;
    for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (digits == 0 || digits > 19) {
        set_error(c, "no size in the reply to SIZE");
        return OP_E_SYNTAX;
    }
    *size = v;
    return 0;
}

int ftpc_mdtm(struct ftpc *c, const char *path, time_t *t)
{
    if (!clean_arg(path))
        return -EINVAL;
    int r = expect(c, 213, "MDTM %s", path);
    if (r != 0)
        return r;
    if (ftpc_time_parse(buf_ptr(&c->raw), buf_len(&c->raw), t) < 0) {
        set_error(c, "no time in the reply to MDTM");
        return OP_E_SYNTAX;
    }
    return 0;
}

int ftpc_pwd(struct ftpc *c, char *out, size_t cap)
{
    int r = expect(c, 257, "PWD");
    if (r != 0)
        return r;
    r = ftpc_pwd_parse(buf_ptr(&c->raw), buf_len(&c->raw), out, cap);
    return r < 0 ? r : 0;
}

int ftpc_rename(struct ftpc *c, const char *from, const char *to)
{
    if (!clean_arg(from) || !clean_arg(to))
        return -EINVAL;
    /* RFC 959 section 4.1.3: RNFR is answered 350, RNTO 250. */
    int r = expect(c, 350, "RNFR %s", from);
    if (r != 0)
        return r;
    r = ftpc_cmd(c, "RNTO %s", to);
    return r >= 200 && r < 300 ? 0 : r;
}

/* ---- data connections ------------------------------------------------------------- */

struct data {
    struct sock s;
    int listen_fd;        /* active mode, until the server connects */
};

static void data_close(struct data *d, bool graceful)
{
    sock_close(&d->s, graceful);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    d->listen_fd = -1;
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    char x[INET6_ADDRSTRLEN + 8], y[INET6_ADDRSTRLEN + 8];
    addr_text(a, x, sizeof x, false);
    addr_text(b, y, sizeof y, false);
    return a->ss_family == b->ss_family && strcmp(x, y) == 0;
}

/* EPSV (RFC 2428), else PASV: the port the server listens on, reached at
 * the control connection's peer address whatever a 227 says. */
static int data_passive(struct ftpc *c, struct data *d)
{
    uint16_t port = 0;
    int r = 0;
    if (!c->no_epsv) {
        r = ftpc_cmd(c, "EPSV");
        if (r < 0)
            return r;
        if (r == 229) {
            if (ftpc_epsv_parse(buf_ptr(&c->raw), buf_len(&c->raw), &port) < 0) {
                set_error(c, "no port in the reply to EPSV");
                return OP_E_SYNTAX;
            }
        } else if (r >= 500) {
            c->no_epsv = true;    /* not implemented: PASV from now on */
        } else {
            return r;
        }
    }
    if (!port) {
        if (c->peer.ss_family != AF_INET)
            return r;         /* PASV speaks only IPv4 */
        r = ftpc_cmd(c, "PASV");
        if (r < 0)
            return r;
        if (r != 227)
            return r;
        uint8_t addr[4];
        if (ftpc_pasv_parse(buf_ptr(&c->raw), buf_len(&c->raw), addr, &port) < 0) {
            set_error(c, "no address in the reply to PASV");
            return OP_E_SYNTAX;
        }
        /* The advertised address is not used (see client.h): a private
         * address behind NAT would not be reachable, and another host's
         * would make this client the tool of an FTP bounce. */
    }
    struct sockaddr_storage to = c->peer;
    if (to.ss_family == AF_INET)
        ((struct sockaddr_in *)&to)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&to)->sin6_port = htons(port);
    int fd = connect_to(c, (struct sockaddr *)&to, c->peerlen);
    if (fd < 0) {
        char t[INET6_ADDRSTRLEN + 8];
        addr_text(&to, t, sizeof t, true);
        set_error(c, "data connection to %s: %s", t, op_strerror(fd));
        return fd;
    }
    d->s.fd = fd;
    return 0;
}

/* PORT (RFC 959 section 4.1.2) for IPv4, EPRT (RFC 2428 section 2) for
 * IPv6: listen on the control connection's local address. */
static int data_active(struct ftpc *c, struct data *d)
{
    struct sockaddr_storage me = c->local;
    if (me.ss_family == AF_INET)
        ((struct sockaddr_in *)&me)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&me)->sin6_port = 0;
    int fd = socket(me.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    socklen_t len = c->locallen;
    if (bind(fd, (struct sockaddr *)&me, len) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&me, &len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    d->listen_fd = fd;
    char a[INET6_ADDRSTRLEN];
    addr_text(&me, a, sizeof a, false);
    if (me.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)&me;
        const uint8_t *b = (const uint8_t *)&s4->sin_addr;
        uint16_t p = ntohs(s4->sin_port);
        return expect(c, 200, "PORT %u,%u,%u,%u,%u,%u", b[0], b[1], b[2], b[3], p >> 8, p & 255);
    }
    return expect(c, 200, "EPRT |2|%s|%u|", a, ntohs(((struct sockaddr_in6 *)&me)->sin6_port));
}

/* Active mode: the server's connection, from the control peer's address
 * only (RFC 2577 section 3: a stranger must not take the transfer). */
static int data_accept(struct ftpc *c, struct data *d)
{
    uint64_t deadline = clock_ms() + (uint64_t)timeout_ms(c);
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        int fd = accept4(d->listen_fd, (struct sockaddr *)&from, &flen,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            if (same_host(&from, &c->peer)) {
                close(d->listen_fd);
                d->listen_fd = -1;
                d->s.fd = fd;
                return 0;
            }
            close(fd);
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        int w = wait_fd(c, d->listen_fd, POLLIN, deadline);
        if (w < 0) {
            if (w == -ETIMEDOUT)
                set_error(c, "the server did not open the data connection");
            return w;
        }
    }
}

/* TYPE A on the way in: CRLF becomes LF (RFC 959 section 3.1.1.1); a CR
 * at the end of one chunk waits for the next. */
static size_t from_netascii(const char *in, size_t n, char *out, bool *held_cr)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (*held_cr) {
            *held_cr = false;
            if (ch != '\n')
                out[o++] = '\r';
        }
        if (ch == '\r') {
            *held_cr = true;
            continue;
        }
        out[o++] = ch;
    }
    return o;
}

/* TYPE A on the way out: LF becomes CRLF (a CRLF already there stays). */
static size_t to_netascii(const char *in, size_t n, char *out, char *last)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\n' && *last != '\r')
            out[o++] = '\r';
        out[o++] = in[i];
        *last = in[i];
    }
    return o;
}

static int move_down(struct ftpc *c, struct data *d, bool ascii, const struct ftpc_io *io,
                     uint64_t *total)
{
    char *buf = malloc(FTPC_CHUNK), *conv = ascii ? malloc(FTPC_CHUNK + 1) : NULL;
    bool held_cr = false;
    int r = 0;
    if (!buf || (ascii && !conv)) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        int n = sock_read(c, &d->s, buf, FTPC_CHUNK);
        if (n < 0) {
            r = n;
            break;
        }
        if (n == 0) {
            if (held_cr)
                r = io->write(io->arg, "\r", 1);
            break;
        }
        const char *p = buf;
        size_t len = (size_t)n;
        if (conv) {
            len = from_netascii(buf, len, conv, &held_cr);
            p = conv;
        }
        if (len && (r = io->write(io->arg, p, len)) < 0)
            break;
        *total += len;
        if (io->progress)
            io->progress(io->arg, *total);
    }
out:
    free(buf);
    free(conv);
    return r;
}

static int move_up(struct ftpc *c, struct data *d, const struct ftpc_io *io, uint64_t *total)
{
    size_t in_cap = c->ascii ? FTPC_CHUNK / 2 : FTPC_CHUNK;
    char *buf = malloc(in_cap), *conv = c->ascii ? malloc(FTPC_CHUNK) : NULL;
    char last = 0;
    int r = 0;
    if (!buf || (c->ascii && !conv)) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (cancelled(c)) {
            r = -ECANCELED;
            break;
        }
        ssize_t n = io->read(io->arg, buf, in_cap);
        if (n < 0) {
            r = (int)n;
            break;
        }
        if (n == 0)
            break;
        const char *p = buf;
        size_t len = (size_t)n;
        if (conv) {
            len = to_netascii(buf, len, conv, &last);
            p = conv;
        }
        if ((r = sock_write_all(c, &d->s, p, len)) < 0)
            break;
        *total += (uint64_t)n;
        if (io->progress)
            io->progress(io->arg, *total);
    }
out:
    free(buf);
    free(conv);
    return r;
}

/* The end of an upload: close_notify, our FIN, then wait for the
 * server's end so that nothing it has not read is reset away. */
static void finish_upload(struct ftpc *c, struct data *d)
{
    if (d->s.ssl)
        SSL_shutdown(d->s.ssl);
    shutdown(d->s.fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 64; i++) {
        int n = sock_read(c, &d->s, sink, sizeof sink);
        if (n <= 0)
            break;
    }
    data_close(d, false);
}

/* ABOR after a transfer went wrong on our side (RFC 959 section 4.1.3):
 * the data connection is closed first, so a server that reads the control
 * connection only between transfers sees its transfer fail; then the
 * transfer's reply (426, or 226 if it had finished) and ABOR's. */
static int abort_transfer(struct ftpc *c, struct data *d)
{
    data_close(d, false);
    volatile sig_atomic_t *cancel = c->o.cancel;
    c->o.cancel = NULL;            /* the abort itself must not be cancelled */
    int saved = c->o.timeout_ms;
    int r = send_line(c, "ABOR");
    if (r == 0)
        r = read_final(c);
    if (r >= 400) {
        /* The transfer's refusal (552 over quota, 426...) is what to
         * report: keep it while ABOR's own reply is read. */
        struct buf text = BUF_INIT;
        int ok = buf_append(&text, buf_ptr(&c->text), buf_len(&c->text));
        read_final(c);
        if (ok == 0) {
            buf_clear(&c->text);
            if (buf_append(&c->text, buf_ptr(&text), buf_len(&text)) == 0 && buf_cstr(&c->text))
                c->code = r;
        }
        buf_free(&text);
    } else if (r >= 200 && r < 300) {
        /* The transfer had finished: ABOR's reply may follow, or not. */
        c->o.timeout_ms = FTPC_ABOR_WAIT_MS;
        if (read_final(c) == -ETIMEDOUT)
            c->code = r;
    }
    c->o.timeout_ms = saved;
    c->o.cancel = cancel;
    return r;
}

/* The transfer command: it is sent by hand, since its 1xx is what says
 * the data connection is to be used. */
static int transfer_run(struct ftpc *c, const char *verb, const char *arg, uint64_t offset,
                        bool upload, const struct ftpc_io *io, uint64_t *bytes)
{
    uint64_t total = 0;
    if (bytes)
        *bytes = 0;
    c->error[0] = '\0';
    if ((arg && !clean_arg(arg)) || !clean_arg(verb))
        return -EINVAL;
    struct data d = {{-1, NULL}, -1};
    int r = c->active ? data_active(c, &d) : data_passive(c, &d);
    if (r != 0)
        goto fail;
    if (offset > 0 && (r = expect(c, 350, "REST %llu", (unsigned long long)offset)) != 0)
        goto fail;
    char line[FTPC_LINE_MAX];
    int n = arg ? snprintf(line, sizeof line, "%s %s", verb, arg) : snprintf(line, sizeof line, "%s", verb);
    if (n < 0 || (size_t)n >= sizeof line) {
        r = OP_E_TOOLONG;
        goto fail;
    }
    if ((r = send_line(c, line)) < 0)
        goto fail;
    r = read_reply(c);
    if (r < 0)
        goto fail;
    if (r >= 200) {
        /* Refused (4xx/5xx); a 2xx without 1xx is not how RFC 959 section
         * 5.4 says transfers go, and is reported as it came. */
        data_close(&d, false);
        return r;
    }
    if (d.listen_fd >= 0 && (r = data_accept(c, &d)) < 0)
        goto abort;
    if (c->prot_p && (r = tls_handshake(c, &d.s, c->session)) < 0)
        goto abort;
    /* Listings are lines of text with CRLF (RFC 959 section 4.1.3, RFC
     * 3659 section 7.2) whatever the TYPE: they arrive with local line ends. */
    bool listing = strcmp(verb, "RETR") != 0;
    r = upload ? move_up(c, &d, io, &total)
               : move_down(c, &d, c->ascii || listing, io, &total);
    if (r < 0)
        goto abort;
    if (upload)
        finish_upload(c, &d);
    else
        data_close(&d, true);
    if (bytes)
        *bytes = total;
    r = read_final(c);
    if (r < 0)
        return r;
    return r == 226 || r == 250 ? 0 : r;
abort:
    if (bytes)
        *bytes = total;
    {
        /* A connection that broke is usually the server's doing (an
         * upload over quota): its reply says why better than EPIPE. */
        int refusal = abort_transfer(c, &d);
        if (r != -ECANCELED && refusal >= 400)
            return refusal;
    }
    return r;
fail:
    data_close(&d, false);
    return r;
}

int ftpc_download(struct ftpc *c, const char *verb, const char *arg, uint64_t offset,
                  const struct ftpc_io *io, uint64_t *bytes)
{
    return transfer_run(c, verb, arg, offset, false, io, bytes);
}

int ftpc_upload(struct ftpc *c, const char *verb, const char *arg, uint64_t offset,
                const struct ftpc_io *io, uint64_t *bytes)
{
    return transfer_run(c, verb, arg, offset, true, io, bytes);
}
