/* SMTP client: see client.h. */
#include "smtp/client.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/dotstuff.h"

/* Diagnostics are cut to fit, on purpose. */
static void __attribute__((format(printf, 3, 4))) diagf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* ---- replies ------------------------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

int smtp_reply_parse(const char *p, size_t len, struct smtp_reply *r)
{
    size_t off = 0, tlen = 0;
    r->code = 0;
    r->nlines = 0;
    r->text[0] = '\0';
    for (;;) {
        const char *line = p + off;
        size_t avail = len - off;
        const char *lf = memchr(line, '\n', avail < SMTP_REPLY_LINE_MAX ? avail : SMTP_REPLY_LINE_MAX);
        if (!lf)
            return avail >= SMTP_REPLY_LINE_MAX ? OP_E_TOOLONG : 0;
        size_t n = (size_t)(lf - line);         /* without the LF */
        if (n > 0 && line[n - 1] == '\r')
            n--;
        /* RFC 5321 section 4.2: Reply-code [ SP textstring ] CRLF, or
         * Reply-code "-" [ textstring ] CRLF on all lines but the last. */
        if (n < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
            line[0] < '2' || line[0] > '5')
            return OP_E_SYNTAX;
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (r->nlines > 0 && code != r->code)
            return OP_E_SYNTAX;             /* section 4.2.1: the same code on every line */
        bool more = false;
        if (n > 3) {
            if (line[3] == '-')
                more = true;
            else if (line[3] != ' ')
                return OP_E_SYNTAX;
        }
        if (++r->nlines > SMTP_REPLY_LINES_MAX)
            return OP_E_TOOLONG;
        r->code = code;
        if (r->nlines > 1 && tlen + 1 < SMTP_REPLY_TEXT_MAX)
            r->text[tlen++] = '\n';
        for (size_t i = 4; i < n && tlen + 1 < SMTP_REPLY_TEXT_MAX; i++) {
            unsigned char c = (unsigned char)line[i];
            r->text[tlen++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
        }
        r->text[tlen] = '\0';
        off += (size_t)(lf - line) + 1;
        if (!more)
            return off > (size_t)INT32_MAX ? OP_E_TOOLONG : (int)off;
    }
}

static bool keyword_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *e)
{
    e->flags = 0;
    e->size_max = 0;
    const char *p = strchr(r->text, '\n');     /* the first line is the greeting */
    while (p) {
        p++;
        const char *end = strchrnul(p, '\n');
        const char *w = p;
        while (w < end && *w == ' ')
            w++;
        const char *we = w;
        while (we < end && *we != ' ' && *we != '=')
            we++;
        size_t n = (size_t)(we - w);
        if (keyword_is(w, n, "PIPELINING"))
            e->flags |= SMTP_EXT_PIPELINING;
        else if (keyword_is(w, n, "8BITMIME"))
            e->flags |= SMTP_EXT_8BITMIME;
        else if (keyword_is(w, n, "STARTTLS"))
            e->flags |= SMTP_EXT_STARTTLS;
        else if (keyword_is(w, n, "DSN"))
            e->flags |= SMTP_EXT_DSN;
        else if (keyword_is(w, n, "SMTPUTF8"))
            e->flags |= SMTP_EXT_SMTPUTF8;
        else if (keyword_is(w, n, "ENHANCEDSTATUSCODES"))
            e->flags |= SMTP_EXT_ENHANCED;
        else if (keyword_is(w, n, "SIZE")) {
            /* RFC 1870 section 4: "SIZE" [SP number]; 0 or none = no limit. */
            e->flags |= SMTP_EXT_SIZE;
            uint64_t v = 0;
            const char *d = we;
            while (d < end && *d == ' ')
                d++;
            for (; d < end && is_digit(*d) && v < UINT64_MAX / 10 - 10; d++)
                v = v * 10 + (uint64_t)(*d - '0');
            e->size_max = v;
        }
        p = *end ? end : NULL;
    }
}

int smtp_xtext(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < '!' || c > '~' || c == '+' || c == '=') {
            if (o + 3 >= cap)
                return -ENOSPC;
            out[o++] = '+';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            if (o + 1 >= cap)
                return -ENOSPC;
            out[o++] = (char)c;
        }
    }
    if (o >= cap)
        return -ENOSPC;
    out[o] = '\0';
    return 0;
}

/* ---- timeouts ------------------------------------------------------------ */

void smtp_timeouts_default(struct smtp_timeouts *t)
{
    /* RFC 5321 section 4.5.3.2. */
    t->connect_ms = 30000;
    t->greeting_ms = 5 * 60000;
    t->command_ms = 5 * 60000;
    t->mail_ms = 5 * 60000;
    t->rcpt_ms = 5 * 60000;
    t->data_init_ms = 2 * 60000;
    t->data_block_ms = 3 * 60000;
    t->data_end_ms = 10 * 60000;
}

void smtp_timeouts_cap(struct smtp_timeouts *t, unsigned ms)
{
    unsigned *v[] = {&t->connect_ms, &t->greeting_ms, &t->command_ms, &t->mail_ms,
                     &t->rcpt_ms, &t->data_init_ms, &t->data_block_ms, &t->data_end_ms};
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        if (*v[i] > ms)
            *v[i] = ms;
}

/* ---- TLS context ------------------------------------------------------------ */

static SSL_CTX *g_ctx;

int smtp_client_init(void)
{
    if (g_ctx)
        return 0;
    g_ctx = SSL_CTX_new(TLS_client_method());
    if (!g_ctx)
        return OP_E_TLS;
    /* Opportunistic (RFC 7435): encrypt when we can, verify nothing. */
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(g_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    return 0;
}

void smtp_client_cleanup(void)
{
    SSL_CTX_free(g_ctx);
    g_ctx = NULL;
}

/* ---- the connection ------------------------------------------------------------ */

struct smtp_client {
    int fd;
    SSL *ssl;
    int cancel_fd;
    struct buf in;
    struct smtp_ext ext;
    struct smtp_timeouts t;
    bool broken;                /* a transaction failed midway: no QUIT */
    char tls_err[160];          /* OpenSSL's reason for the last TLS failure */
    char tls[96];
    char peer[300];             /* for logs: "name[addr]" */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for ev, the deadline passes (-ETIMEDOUT) or the
 * cancel descriptor is readable (-ECANCELED). */
static int wait_fd(int fd, short ev, int cancel_fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p[2] = {{.fd = fd, .events = ev}, {.fd = cancel_fd, .events = POLLIN}};
        int r = poll(p, cancel_fd >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (cancel_fd >= 0 && (p[1].revents & POLLIN))
            return -ECANCELED;
        if (r > 0 && p[0].revents)
            return 0;
    }
}

/* Drive an OpenSSL call that said WANT_READ/WANT_WRITE. 0 to try again. */
static int tls_wait(struct smtp_client *c, int ret, int64_t deadline)
{
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ)
        return wait_fd(c->fd, POLLIN, c->cancel_fd, deadline);
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_fd(c->fd, POLLOUT, c->cancel_fd, deadline);
    if (e == SSL_ERROR_ZERO_RETURN)
        return OP_E_CLOSED;
    if (e == SSL_ERROR_SYSCALL && ret == 0)
        return OP_E_CLOSED;
    unsigned long code = ERR_peek_last_error();
    if (code)
        ERR_error_string_n(code, c->tls_err, sizeof c->tls_err);
    ERR_clear_error();
    return OP_E_TLS;
}

static int io_write(struct smtp_client *c, const char *p, size_t n, unsigned timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (n > 0) {
        ssize_t w;
        if (c->ssl) {
            w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (w <= 0) {
                int r = tls_wait(c, (int)w, deadline);
                if (r < 0)
                    return r;
                continue;
            }
        } else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN)
                    return -errno;
                int r = wait_fd(c->fd, POLLOUT, c->cancel_fd, deadline);
                if (r < 0)
                    return r;
                continue;
            }
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one reply within timeout_ms. */
static int io_reply(struct smtp_client *c, struct smtp_reply *r, unsigned timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int k = smtp_reply_parse(buf_ptr(&c->in), buf_len(&c->in), r);
        if (k > 0) {
            buf_consume(&c->in, (size_t)k);
            return 0;
        }
        if (k < 0)
            return k;
        char *dst = buf_reserve(&c->in, 4096);
        if (!dst)
            return -ENOMEM;
        ssize_t got;
        if (c->ssl) {
            got = SSL_read(c->ssl, dst, 4096);
            if (got <= 0) {
                int e = tls_wait(c, (int)got, deadline);
                if (e < 0)
                    return e;
                continue;
            }
        } else {
            got = recv(c->fd, dst, 4096, 0);
            if (got == 0)
                return OP_E_CLOSED;
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN)
                    return -errno;
                int e = wait_fd(c->fd, POLLIN, c->cancel_fd, deadline);
                if (e < 0)
                    return e;
                continue;
            }
        }
        buf_commit(&c->in, (size_t)got);
    }
}

/* A reply on one line for diagnostics: "550 5.1.1 text; more text". */
static void reply_line(const struct smtp_reply *r, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%d %s", r->code, r->text);
    for (int i = 0; i < n && (size_t)i < cap; i++)
        if (out[i] == '\n')
            out[i] = ' ';
}

static const char *err_text(int e)
{
    if (e == OP_E_SYNTAX)
        return "the server's reply is not SMTP";
    if (e == OP_E_TOOLONG)
        return "the server's reply is too long";
    if (e == OP_E_CLOSED)
        return "the server closed the connection";
    if (e == -ETIMEDOUT)
        return "timed out";
    if (e == -ECANCELED)
        return "shutting down";
    return op_strerror(e);
}

static int cmd(struct smtp_client *c, const char *line, struct smtp_reply *r, unsigned timeout_ms)
{
    int e = io_write(c, line, strlen(line), timeout_ms);
    return e < 0 ? e : io_reply(c, r, timeout_ms);
}

static int ehlo(struct smtp_client *c, const char *helo, struct smtp_reply *r)
{
    char line[600];
    snprintf(line, sizeof line, "EHLO %s\r\n", helo);
    int e = cmd(c, line, r, c->t.command_ms);
    if (e < 0)
        return e;
    if (r->code / 100 == 2) {
        smtp_ehlo_parse(r, &c->ext);
        return 0;
    }
    if (r->code / 100 != 5)
        return 0;
    /* RFC 5321 section 3.2: a server without EHLO answers it with a 5xx;
     * HELO then, and no extensions. */
    snprintf(line, sizeof line, "HELO %s\r\n", helo);
    c->ext.flags = 0;
    c->ext.size_max = 0;
    return cmd(c, line, r, c->t.command_ms);
}

static int starttls(struct smtp_client *c, const struct smtp_client_opts *o)
{
    if (!g_ctx)
        return OP_E_TLS;
    c->ssl = SSL_new(g_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
        return OP_E_TLS;
    if (o->peer_name && o->peer_name[0] && o->peer_name[0] != '[')
        SSL_set_tlsext_host_name(c->ssl, o->peer_name);
    int64_t deadline = now_ms() + c->t.command_ms;
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        int e = tls_wait(c, r, deadline);
        if (e < 0)
            return e;
    }
    snprintf(c->tls, sizeof c->tls, "%s %s", SSL_get_version(c->ssl),
             SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
    return 0;
}

static void client_free(struct smtp_client *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->in);
    free(c);
}

static int do_connect(struct smtp_client *c, const struct sockaddr *addr, socklen_t addrlen)
{
    c->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    if (connect(c->fd, addr, addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -errno;
    int e = wait_fd(c->fd, POLLOUT, c->cancel_fd, now_ms() + c->t.connect_ms);
    if (e < 0)
        return e;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -errno;
    return soerr ? -soerr : 0;
}

enum smtp_open_result smtp_client_open(struct smtp_client **out, const struct sockaddr *addr,
                                       socklen_t addrlen, const struct smtp_client_opts *o,
                                       int *code, char *diag, size_t diaglen)
{
    *out = NULL;
    *code = 0;
    diag[0] = '\0';
    struct smtp_client *c = calloc(1, sizeof *c);
    if (!c) {
        diagf(diag, diaglen, "out of memory");
        return SMTP_OPEN_FAILED;
    }
    c->fd = -1;
    c->cancel_fd = o->cancel_fd;
    c->t = o->t;
    str_copy(c->peer, sizeof c->peer, o->peer_name ? o->peer_name : "");
    struct smtp_reply r;
    const char *step = "connect";
    int e = do_connect(c, addr, addrlen);
    if (e < 0)
        goto fail;
    step = "greeting";
    if ((e = io_reply(c, &r, c->t.greeting_ms)) < 0)
        goto fail;
    if (r.code != 220)
        goto refused;               /* RFC 5321 section 3.1: 554 = no service here */
    step = "EHLO";
    if ((e = ehlo(c, o->helo, &r)) < 0)
        goto fail;
    if (r.code / 100 != 2)
        goto refused;
    if ((c->ext.flags & SMTP_EXT_STARTTLS) && !o->no_starttls) {
        step = "STARTTLS";
        if ((e = cmd(c, "STARTTLS\r\n", &r, c->t.command_ms)) < 0)
            goto fail;
        if (r.code == 220) {
            /* Bytes the server sent after its 220 would be plaintext
             * injected before TLS (the STARTTLS command-injection class of
             * bug): refuse to go on with them. */
            if (buf_len(&c->in) > 0) {
                diagf(diag, diaglen, "STARTTLS: data after the 220 reply");
                client_free(c);
                return SMTP_OPEN_FAILED;
            }
            if ((e = starttls(c, o)) < 0) {
                diagf(diag, diaglen, "TLS handshake: %s%s%s", err_text(e),
                      c->tls_err[0] ? ": " : "", c->tls_err);
                client_free(c);
                return e == -ECANCELED ? SMTP_OPEN_FAILED : SMTP_OPEN_TLS_FAILED;
            }
            /* RFC 3207 section 4.2: forget what was learnt before TLS. */
            step = "EHLO after STARTTLS";
            c->ext.flags = 0;
            c->ext.size_max = 0;
            if ((e = ehlo(c, o->helo, &r)) < 0)
                goto fail;
            if (r.code / 100 != 2)
                goto refused;
        } else {
            log_info("smtp client %s: STARTTLS refused (%d); going on in plaintext", c->peer,
                     r.code);
        }
    }
    *out = c;
    return SMTP_OPEN_OK;
refused:
    *code = r.code;
    {
        char line[SMTP_DIAG_MAX];
        reply_line(&r, line, sizeof line);
        diagf(diag, diaglen, "%s: %s", step, line);
    }
    client_free(c);
    return SMTP_OPEN_FAILED;
fail:
    diagf(diag, diaglen, "%s: %s", step, err_text(e));
    client_free(c);
    return SMTP_OPEN_FAILED;
}

const struct smtp_ext *smtp_client_ext(const struct smtp_client *c) { return &c->ext; }
const char *smtp_client_tls(const struct smtp_client *c) { return c->tls; }

/* ---- the transaction ------------------------------------------------------------ */

static void set_all(struct smtp_rcpt *rc, size_t n, int code, const char *diag)
{
    for (size_t i = 0; i < n; i++) {
        rc[i].code = code;
        rc[i].local = true;
        str_copy(rc[i].diag, sizeof rc[i].diag, diag);
    }
}

static void set_reply(struct smtp_rcpt *rc, const struct smtp_reply *r, const char *step)
{
    char line[SMTP_DIAG_MAX];
    reply_line(r, line, sizeof line);
    rc->code = r->code;
    rc->local = false;
    diagf(rc->diag, sizeof rc->diag, "%s (in reply to %s)", line, step);
}

/* The rcpts still undecided get the connection's failure. */
static int fail_rest(struct smtp_rcpt *rc, size_t n, const char *step, int e)
{
    char d[SMTP_DIAG_MAX];
    diagf(d, sizeof d, "%s: %s", step, err_text(e));
    for (size_t i = 0; i < n; i++)
        if (rc[i].code == 0 || rc[i].code / 100 == 2 || rc[i].code == 354) {
            rc[i].code = 0;
            rc[i].local = true;
            str_copy(rc[i].diag, sizeof rc[i].diag, d);
        }
    return e;
}

static int build_mail(struct smtp_client *c, const struct smtp_message *m, struct buf *b)
{
    buf_printf(b, "MAIL FROM:<%s>", m->sender);
    if (c->ext.flags & SMTP_EXT_SIZE)
        buf_printf(b, " SIZE=%llu", (unsigned long long)m->len);     /* RFC 1870 section 6 */
    if (m->body_8bit)
        buf_puts(b, " BODY=8BITMIME");                                /* RFC 6152 section 2 */
    if (m->smtputf8)
        buf_puts(b, " SMTPUTF8");                                     /* RFC 6531 section 3.4 */
    if (c->ext.flags & SMTP_EXT_DSN) {                                /* RFC 3461 section 4 */
        if (m->ret == QUEUE_RET_FULL)
            buf_puts(b, " RET=FULL");
        else if (m->ret == QUEUE_RET_HDRS)
            buf_puts(b, " RET=HDRS");
        char x[400];
        if (m->envid && m->envid[0] && smtp_xtext(m->envid, x, sizeof x) == 0)
            buf_printf(b, " ENVID=%s", x);
    }
    return buf_puts(b, "\r\n");
}

static int build_rcpt(struct smtp_client *c, const struct smtp_rcpt *rc, struct buf *b)
{
    buf_printf(b, "RCPT TO:<%s>", rc->addr);
    if (c->ext.flags & SMTP_EXT_DSN) {
        if (rc->notify & QUEUE_NOTIFY_NEVER)
            buf_puts(b, " NOTIFY=NEVER");
        else if (rc->notify) {
            const char *sep = " NOTIFY=";
            static const struct { unsigned bit; const char *name; } kw[] = {
                {QUEUE_NOTIFY_SUCCESS, "SUCCESS"}, {QUEUE_NOTIFY_FAILURE, "FAILURE"},
                {QUEUE_NOTIFY_DELAY, "DELAY"}};
            for (size_t k = 0; k < ARRAY_LEN(kw); k++)
                if (rc->notify & kw[k].bit) {
                    buf_printf(b, "%s%s", sep, kw[k].name);
                    sep = ",";
                }
        }
        /* ORCPT=addr-type;xtext (RFC 3461 section 4.2): the stored form
         * is decoded, so encode the address part again. */
        const char *semi = rc->orcpt ? strchr(rc->orcpt, ';') : NULL;
        char x[ADDRESS_MAX * 3 + 8];
        if (semi && smtp_xtext(semi + 1, x, sizeof x) == 0)
            buf_printf(b, " ORCPT=%.*s;%s", (int)(semi - rc->orcpt), rc->orcpt, x);
    }
    return buf_puts(b, "\r\n");
}

/* Stream the message: stuffed, in blocks of 64 KiB, each within the data
 * block timeout (RFC 5321 section 4.5.3.2.5), then the final dot. */
static int send_body(struct smtp_client *c, const struct smtp_message *m)
{
    enum { CHUNK = 65536 };
    char *in = malloc(CHUNK), *out = malloc(DOTSTUFF_ROOM(CHUNK) + DOTSTUFF_END_ROOM);
    int e = 0;
    if (!in || !out) {
        e = -ENOMEM;
        goto out;
    }
    struct dotstuff st;
    dotstuff_init(&st);
    uint64_t off = 0;
    while (off < m->len) {
        size_t want = m->len - off < CHUNK ? (size_t)(m->len - off) : CHUNK;
        ssize_t got = pread(m->fd, in, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            e = got < 0 ? -errno : -EIO;        /* the file is shorter than the queue said */
            goto out;
        }
        off += (uint64_t)got;
        size_t n = dotstuff(&st, in, (size_t)got, out);
        if ((e = io_write(c, out, n, c->t.data_block_ms)) < 0)
            goto out;
    }
    size_t n = dotstuff_end(&st, out);
    e = io_write(c, out, n, c->t.data_block_ms);
out:
    free(in);
    free(out);
    return e;
}

static int send_txn(struct smtp_client *c, const struct smtp_message *m, struct smtp_rcpt *rcpts,
                    size_t n)
{
    set_all(rcpts, n, 0, "");
    char local[SMTP_DIAG_MAX];
    /* What the server cannot take, decided before a byte is sent. */
    if (m->smtputf8 && !(c->ext.flags & SMTP_EXT_SMTPUTF8)) {
        diagf(local, sizeof local, "554 5.6.7 the message needs SMTPUTF8, which %s does not "
                 "offer (RFC 6531 section 3.2)", c->peer);
        set_all(rcpts, n, 554, local);
        return 0;
    }
    if (m->body_8bit && !(c->ext.flags & SMTP_EXT_8BITMIME)) {
        diagf(local, sizeof local, "554 5.6.3 the message is 8-bit MIME, which %s does not "
                 "offer, and is not converted (RFC 6152 section 3)", c->peer);
        set_all(rcpts, n, 554, local);
        return 0;
    }
    if ((c->ext.flags & SMTP_EXT_SIZE) && c->ext.size_max && m->len > c->ext.size_max) {
        diagf(local, sizeof local, "552 5.3.4 the message (%llu octets) is over the limit of "
                 "%s (%llu octets)", (unsigned long long)m->len, c->peer,
                 (unsigned long long)c->ext.size_max);
        set_all(rcpts, n, 552, local);
        return 0;
    }
    struct buf b = BUF_INIT;
    struct smtp_reply r;
    bool pipe = c->ext.flags & SMTP_EXT_PIPELINING;
    int e = 0;
    build_mail(c, m, &b);
    if (pipe) {
        /* RFC 2920 section 3.1: MAIL, the RCPTs and DATA may go together;
         * DATA is the last command of the group. */
        for (size_t i = 0; i < n; i++)
            build_rcpt(c, &rcpts[i], &b);
        buf_puts(&b, "DATA\r\n");
    }
    if (!buf_cstr(&b)) {
        buf_free(&b);
        return fail_rest(rcpts, n, "MAIL", -ENOMEM);
    }
    if ((e = io_write(c, buf_ptr(&b), buf_len(&b), c->t.mail_ms)) < 0) {
        buf_free(&b);
        return fail_rest(rcpts, n, "MAIL", e);
    }
    /* MAIL's reply. */
    if ((e = io_reply(c, &r, c->t.mail_ms)) < 0) {
        buf_free(&b);
        return fail_rest(rcpts, n, "MAIL FROM", e);
    }
    bool mail_ok = r.code / 100 == 2;
    if (!mail_ok)
        for (size_t i = 0; i < n; i++)
            set_reply(&rcpts[i], &r, "MAIL FROM");
    size_t accepted = 0;
    for (size_t i = 0; i < n && (mail_ok || pipe); i++) {
        if (!pipe) {
            buf_clear(&b);
            build_rcpt(c, &rcpts[i], &b);
            if (!buf_cstr(&b) || (e = io_write(c, buf_ptr(&b), buf_len(&b), c->t.rcpt_ms)) < 0) {
                buf_free(&b);
                return fail_rest(rcpts, n, "RCPT TO", e ? e : -ENOMEM);
            }
        }
        struct smtp_reply rr;
        if ((e = io_reply(c, &rr, c->t.rcpt_ms)) < 0) {
            buf_free(&b);
            return fail_rest(rcpts, n, "RCPT TO", e);
        }
        if (!mail_ok)
            continue;           /* pipelined: the 503s that follow a refused MAIL */
        if (rr.code / 100 == 2) {
            accepted++;
            rcpts[i].code = rr.code;        /* provisionally: the end of data decides */
        } else {
            set_reply(&rcpts[i], &rr, "RCPT TO");
        }
    }
    buf_free(&b);
    if (!pipe && (!mail_ok || accepted == 0)) {
        e = cmd(c, "RSET\r\n", &r, c->t.command_ms);
        return e < 0 ? e : 0;
    }
    /* DATA: sent already when pipelining, else now. */
    if (!pipe && (e = io_write(c, "DATA\r\n", 6, c->t.data_init_ms)) < 0)
        return fail_rest(rcpts, n, "DATA", e);
    if ((e = io_reply(c, &r, c->t.data_init_ms)) < 0)
        return fail_rest(rcpts, n, "DATA", e);
    if (r.code != 354) {
        for (size_t i = 0; i < n; i++)
            if (rcpts[i].code / 100 == 2)
                set_reply(&rcpts[i], &r, "DATA");
        if (pipe) {
            /* The whole group failed or was refused; start clean. */
            e = cmd(c, "RSET\r\n", &r, c->t.command_ms);
            return e < 0 ? e : 0;
        }
        return 0;
    }
    if (accepted == 0) {
        /* RFC 2920 section 3.1: every RCPT refused but DATA accepted: end
         * the data at once, with nothing in it. */
        if ((e = io_write(c, ".\r\n", 3, c->t.data_block_ms)) < 0 ||
            (e = io_reply(c, &r, c->t.data_end_ms)) < 0)
            return e;
        return 0;
    }
    if ((e = send_body(c, m)) < 0)
        return fail_rest(rcpts, n, "sending the message", e);
    if ((e = io_reply(c, &r, c->t.data_end_ms)) < 0)
        return fail_rest(rcpts, n, "end of data", e);
    for (size_t i = 0; i < n; i++)
        if (rcpts[i].code / 100 == 2)
            set_reply(&rcpts[i], &r, "end of data");
    return 0;
}

int smtp_client_send(struct smtp_client *c, const struct smtp_message *m, struct smtp_rcpt *rcpts,
                     size_t n)
{
    int e = send_txn(c, m, rcpts, n);
    if (e < 0)
        c->broken = true;
    return e;
}

int smtp_client_reset(struct smtp_client *c)
{
    struct smtp_reply r;
    int e = cmd(c, "RSET\r\n", &r, c->t.command_ms);
    if (e < 0)
        c->broken = true;
    return e < 0 ? e : r.code / 100 == 2 ? 0 : -EPROTO;
}

void smtp_client_close(struct smtp_client *c)
{
    if (!c)
        return;
    if (c->broken) {
        client_free(c);
        return;
    }
    struct smtp_reply r;
    unsigned t = c->t.command_ms < 5000 ? c->t.command_ms : 5000;
    if (cmd(c, "QUIT\r\n", &r, t) == 0 && c->ssl)
        SSL_shutdown(c->ssl);
    client_free(c);
}
