#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "net/tls.h"
#include "net/worker.h"

enum {
    F_PAUSED     = 1 << 0,   /* session asked for no more lines for now */
    F_EOF        = 1 << 1,   /* peer finished sending */
    F_CLOSING    = 1 << 2,   /* close once the output is sent */
    F_DEAD       = 1 << 3,   /* socket closed; struct lives until holds == 0 */
    F_HANDSHAKE  = 1 << 4,   /* TLS handshake in progress */
    F_TLS_START  = 1 << 5,   /* start TLS once the output is sent */
    F_DISCARD    = 1 << 6,   /* dropping the rest of an over-long line */
    F_WANT_DRAIN = 1 << 7,   /* call on_drain when output is low */
    F_IMPLICIT   = 1 << 8,   /* handshake precedes on_open */
    F_BUSY       = 1 << 9,   /* over limits: busy reply, then close */
    F_COUNTED    = 1 << 10,  /* holds a slot in the connection limits */
    F_RD_WANTS_W = 1 << 11,  /* SSL_read needs the socket writable */
    F_WR_WANTS_R = 1 << 12,  /* SSL_write needs the socket readable */
    F_OPENED     = 1 << 13,  /* on_open has run: on_close is owed */
    F_RAW        = 1 << 14,  /* input goes to on_bytes unframed */
};

struct conn {
    struct loop_io io;
    struct loop_timer timer;
    struct loop_defer flush_d;       /* coalesced output */
    struct loop_defer input_d;       /* resume line delivery */
    struct loop_defer final_d;       /* free after the event batch */
    struct worker *w;
    struct conn *prev, *next;
    const struct service *svc;
    void *session;
    SSL *ssl;
    struct buf in, out;
    unsigned flags;
    unsigned idle_ms;
    int holds;
    int tls_wlen;                    /* length of a pending SSL_write retry */
    uint64_t last_active;            /* last byte read or written */
    uint64_t started;                /* when the pending partial line or TLS
                                        handshake began; 0: none */
    unsigned command_ms;
    uint64_t id;
    uint64_t bytes_in, bytes_out;
    struct sockaddr_storage peer;
    char peer_ip[INET6_ADDRSTRLEN];
    char peer_str[INET6_ADDRSTRLEN + 10];
    char tag[32];
    bool loopback;
};

static _Atomic uint64_t g_next_id = 1;

static void close_now(struct conn *c, const char *why);
static void flush(struct conn *c);
static void process_input(struct conn *c);
static void update_events(struct conn *c);
static void on_timer(struct loop_timer *t);

/* ---- small accessors ---------------------------------------------------- */

void *conn_session(const struct conn *c) { return c->session; }
void conn_set_session(struct conn *c, void *s) { c->session = s; }
const char *conn_peer(const struct conn *c) { return c->peer_str; }
const char *conn_peer_ip(const struct conn *c) { return c->peer_ip; }
const struct sockaddr_storage *conn_peer_addr(const struct conn *c) { return &c->peer; }
uint64_t conn_id(const struct conn *c) { return c->id; }
bool conn_is_tls(const struct conn *c) { return c->ssl != NULL && !(c->flags & F_HANDSHAKE); }
bool conn_is_loopback(const struct conn *c) { return c->loopback; }
struct loop *conn_loop(const struct conn *c) { return c->w->loop; }
const struct service *conn_service(const struct conn *c) { return c->svc; }
const char *conn_tag(const struct conn *c) { return c->tag; }
bool conn_is_closed(const struct conn *c) { return (c->flags & (F_DEAD | F_CLOSING)) != 0; }
size_t conn_out_len(const struct conn *c) { return buf_len(&c->out); }

void conn_oob_inline(struct conn *c)
{
    int on = 1;
    (void)setsockopt(c->io.fd, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on);
}
struct buf *conn_out(struct conn *c) { return &c->out; }
void conn_set_idle(struct conn *c, unsigned ms) { c->idle_ms = ms; }
SSL *conn_ssl(const struct conn *c) { return conn_is_tls(c) ? c->ssl : NULL; }

int conn_local_addr(const struct conn *c, struct sockaddr_storage *out)
{
    socklen_t len = sizeof *out;
    memset(out, 0, sizeof *out);
    if (c->flags & F_DEAD)
        return -EBADF;
    return getsockname(c->io.fd, (struct sockaddr *)out, &len) < 0 ? -errno : 0;
}

static struct conn *from_io(struct loop_io *io) { return (struct conn *)io; }

/* ---- output ---------------------------------------------------------------- */

static void on_flush_defer(struct loop_defer *d)
{
    flush((struct conn *)((char *)d - offsetof(struct conn, flush_d)));
}

void conn_flush_later(struct conn *c)
{
    if (!(c->flags & F_DEAD))
        loop_defer(c->w->loop, &c->flush_d, on_flush_defer);
}

void conn_write(struct conn *c, const void *p, size_t n)
{
    if (c->flags & F_DEAD)
        return;
    if (buf_append(&c->out, p, n) < 0) {
        close_now(c, "out of memory");
        return;
    }
    conn_flush_later(c);
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
    if (c->flags & F_DEAD)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(&c->out, fmt, ap);
    va_end(ap);
    if (r < 0) {
        close_now(c, "out of memory");
        return;
    }
    conn_flush_later(c);
}

void conn_touch(struct conn *c)
{
    c->last_active = clock_ms();
}

void conn_want_drain(struct conn *c)
{
    c->flags |= F_WANT_DRAIN;
    conn_flush_later(c);
}

static void start_handshake(struct conn *c);
static void on_input_defer(struct loop_defer *d);

/* Send as much of the output as the socket takes. */
static void flush(struct conn *c)
{
    if (c->flags & F_DEAD)
        return;
    if (c->flags & F_HANDSHAKE) {
        update_events(c);
        return;
    }
    c->flags &= ~F_WR_WANTS_R;
    while (buf_len(&c->out) > 0) {
        ssize_t n;
        if (c->ssl) {
            int len = c->tls_wlen ? c->tls_wlen
                                  : (int)(buf_len(&c->out) > 65536 ? 65536 : buf_len(&c->out));
            ERR_clear_error();
            int r = SSL_write(c->ssl, buf_ptr(&c->out), len);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                c->tls_wlen = len;
                if (e == SSL_ERROR_WANT_WRITE)
                    break;
                if (e == SSL_ERROR_WANT_READ) {
                    c->flags |= F_WR_WANTS_R;
                    break;
                }
                char eb[160];
                close_now(c, e == SSL_ERROR_SYSCALL ? "write error" : tls_error(eb, sizeof eb));
                return;
            }
            c->tls_wlen = 0;
            n = r;
        } else {
            n = send(c->io.fd, buf_ptr(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                close_now(c, errno == EPIPE || errno == ECONNRESET ? "connection reset" : "write error");
                return;
            }
        }
        buf_consume(&c->out, (size_t)n);
        c->bytes_out += (uint64_t)n;
        c->last_active = clock_ms();
    }
    if (buf_len(&c->out) == 0)
        buf_free(&c->out);           /* idle connections keep no buffer */

    if ((c->flags & F_WANT_DRAIN) && buf_len(&c->out) < CONN_OUT_LOW) {
        c->flags &= ~F_WANT_DRAIN;
        if (c->svc->ops->on_drain)
            c->svc->ops->on_drain(c);
        if (c->flags & F_DEAD)
            return;
        if (buf_len(&c->out) > 0 && !c->flush_d.queued) {
            conn_flush_later(c);
            return;
        }
    }
    if (buf_len(&c->out) == 0) {
        if (c->flags & F_TLS_START) {
            c->flags &= ~F_TLS_START;
            start_handshake(c);
            return;
        }
        if ((c->flags & F_CLOSING) && c->holds == 0) {
            close_now(c, NULL);
            return;
        }
    }
    /* Output drained below the high-water mark: lines may flow again. */
    if (buf_len(&c->out) < CONN_OUT_HIGH && buf_len(&c->in) > 0)
        loop_defer(c->w->loop, &c->input_d, on_input_defer);
    update_events(c);
}

/* ---- input -------------------------------------------------------------- */

static bool may_deliver(const struct conn *c)
{
    return !(c->flags & (F_PAUSED | F_DEAD | F_CLOSING | F_HANDSHAKE | F_TLS_START | F_BUSY)) &&
           buf_len(&c->out) < CONN_OUT_HIGH;
}

static bool may_read(const struct conn *c)
{
    if (c->flags & (F_EOF | F_DEAD | F_TLS_START))
        return false;
    if (c->flags & F_HANDSHAKE)
        return true;
    if (c->flags & F_BUSY)
        return false;
    if (c->flags & (F_PAUSED | F_CLOSING))
        return false;
    /* Hold back while the client is not reading our replies, and while a
     * full line's worth of input is already waiting. */
    return buf_len(&c->out) < CONN_OUT_HIGH && buf_len(&c->in) <= c->svc->max_line + 2;
}

static void update_events(struct conn *c)
{
    if (c->flags & F_DEAD)
        return;
    uint32_t ev = 0;
    if (may_read(c) || (c->flags & F_WR_WANTS_R))
        ev |= EPOLLIN;
    /* Output with a flush already queued is tried before the loop waits
     * again, and that flush asks for EPOLLOUT only if the socket is full:
     * asking now would cost two epoll_ctl calls per answered read. */
    if ((buf_len(&c->out) > 0 && !c->flush_d.queued) || (c->flags & F_RD_WANTS_W))
        ev |= EPOLLOUT;
    if (loop_io_mod(c->w->loop, &c->io, ev) < 0)
        close_now(c, "epoll error");
}

/* Whether the input holds a complete line or message, waiting its turn. */
static bool has_unit(const struct conn *c)
{
    const unsigned char *p = (const unsigned char *)buf_ptr(&c->in);
    size_t n = buf_len(&c->in);
    if (c->svc->framing == CONN_FRAME_LEN16)
        return n >= 2 && n >= 2 + (size_t)(p[0] << 8 | p[1]);
    if (c->flags & F_RAW)
        return n > 0;
    return memchr(p, '\n', n) != NULL;
}

/* A session is idle when it waits for the client's next command. */
static bool is_idle(const struct conn *c)
{
    if (c->flags & (F_PAUSED | F_HANDSHAKE | F_TLS_START | F_DEAD))
        return false;
    if (c->holds > 0 || buf_len(&c->out) > 0)
        return false;
    return !has_unit(c);
}

static void check_drain(struct conn *c)
{
    if (!c->w->draining || (c->flags & (F_CLOSING | F_DEAD)) || !is_idle(c))
        return;
    if (c->svc->ops->on_shutdown && (c->flags & F_OPENED))
        c->svc->ops->on_shutdown(c);
    conn_close(c);
}

/* Hand complete lines to the session while it accepts them. */
/* The next moment the timer must look at c: the idle deadline, or the
 * command deadline when a line or handshake is under way. */
static uint64_t next_deadline(const struct conn *c, bool *is_command)
{
    uint64_t deadline = c->last_active + c->idle_ms;
    *is_command = false;
    if (c->started && c->command_ms && c->started + c->command_ms < deadline) {
        deadline = c->started + c->command_ms;
        *is_command = true;
    }
    return deadline;
}

/* A partial line or a handshake began: bring the timer forward if needed. */
static void start_command_clock(struct conn *c)
{
    if (c->started || !c->command_ms)
        return;
    uint64_t now = clock_ms();
    c->started = now;
    bool cmd;
    uint64_t deadline = next_deadline(c, &cmd);
    if (cmd)
        loop_timer_arm(c->w->loop, &c->timer, deadline > now ? deadline - now : 1, on_timer);
}

/* Hand complete length-prefixed messages to the session (RFC 1035
 * section 4.2.2). Several may be waiting: RFC 7766 section 6.2.1.1 lets a
 * client pipeline queries, and each is answered as it is read. */
static void process_frames(struct conn *c)
{
    while (may_deliver(c) && buf_len(&c->in) > 0) {
        const uint8_t *p = (const uint8_t *)buf_ptr(&c->in);
        size_t avail = buf_len(&c->in);
        if (avail < 2) {
            start_command_clock(c);
            break;
        }
        size_t len = (size_t)p[0] << 8 | p[1];
        if (len == 0 || len > c->svc->max_line) {
            log_info("%s %s closing: %s", c->tag, c->peer_str,
                     len == 0 ? "message of length 0" : "message too long");
            c->svc->ops->on_too_long(c);
            buf_clear(&c->in);
            conn_close(c);               /* answers already queued still leave */
            return;
        }
        if (avail < 2 + len) {
            start_command_clock(c);      /* the rest must come soon */
            break;
        }
        c->started = 0;
        c->svc->ops->on_message(c, p + 2, len);
        if (c->flags & F_DEAD)
            return;
        buf_consume(&c->in, 2 + len);
    }
}

static void process_input(struct conn *c)
{
    const size_t max = c->svc->max_line;
    if (c->svc->framing == CONN_FRAME_LEN16) {
        process_frames(c);
        if (c->flags & F_DEAD)
            return;
    }
    while (c->svc->framing == CONN_FRAME_LINES && may_deliver(c) && buf_len(&c->in) > 0) {
        char *p = (char *)buf_ptr(&c->in);
        size_t avail = buf_len(&c->in);
        if (c->flags & F_RAW) {
            size_t used = c->svc->ops->on_bytes(c, p, avail);
            if (c->flags & F_DEAD)
                return;
            buf_consume(&c->in, used < avail ? used : avail);
            if (used < avail && (c->flags & F_RAW) && !(c->flags & F_PAUSED))
                break;                   /* it wants more before going on */
            continue;
        }
        char *lf = memchr(p, '\n', avail);
        if (c->flags & F_DISCARD) {
            if (!lf) {
                buf_clear(&c->in);
                start_command_clock(c);
                break;
            }
            buf_consume(&c->in, (size_t)(lf - p) + 1);
            c->flags &= ~F_DISCARD;
            continue;
        }
        if (!lf) {
            if (avail > max + 1) {       /* +1: a CR may still be followed by LF */
                buf_clear(&c->in);
                c->flags |= F_DISCARD;
                c->svc->ops->on_too_long(c);
            }
            start_command_clock(c);      /* the rest of the line must come soon */
            break;
        }
        c->started = 0;
        size_t len = (size_t)(lf - p);
        size_t used = len + 1;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > max) {
            buf_consume(&c->in, used);
            c->svc->ops->on_too_long(c);
            continue;
        }
        p[len] = '\0';
        /* The line stays valid during the callback: nothing is read into
         * c->in until it returns. */
        c->svc->ops->on_line(c, p, len);
        if (c->flags & F_DEAD)
            return;
        buf_consume(&c->in, used);
    }
    if (buf_len(&c->in) == 0)
        buf_free(&c->in);
    if ((c->flags & F_EOF) && is_idle(c) && !(c->flags & F_CLOSING)) {
        /* The client is gone and every line it sent has been answered. */
        conn_close(c);
        return;
    }
    check_drain(c);
    update_events(c);
}

static void read_input(struct conn *c)
{
    c->flags &= ~F_RD_WANTS_W;
    for (int rounds = 0; rounds < 16 && may_read(c); rounds++) {
        char *w = buf_reserve(&c->in, 16384);
        if (!w) {
            close_now(c, "out of memory");
            return;
        }
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, w, 16384);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    break;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->flags |= F_RD_WANTS_W;
                    break;
                }
                if (e == SSL_ERROR_ZERO_RETURN) {
                    c->flags |= F_EOF;
                    break;
                }
                /* A peer that drops the TCP connection without close_notify
                 * is treated like an EOF: nothing it sent is lost either way. */
                c->flags |= F_EOF;
                break;
            }
            n = r;
        } else {
            n = recv(c->io.fd, w, 16384, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                c->flags |= F_EOF;       /* ECONNRESET and friends */
                break;
            }
            if (n == 0) {
                c->flags |= F_EOF;
                break;
            }
        }
        buf_commit(&c->in, (size_t)n);
        c->bytes_in += (uint64_t)n;
        c->last_active = clock_ms();
        if (!c->ssl && n < 16384)
            break;
    }
    process_input(c);
}

static void on_input_defer(struct loop_defer *d)
{
    struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, input_d));
    if (c->flags & F_DEAD)
        return;
    /* TLS may hold decrypted bytes the socket will not signal again. */
    if (c->ssl && SSL_pending(c->ssl) > 0 && may_read(c))
        read_input(c);
    else
        process_input(c);
}

void conn_set_raw(struct conn *c, bool raw)
{
    if (raw && c->svc->ops->on_bytes) {
        c->flags |= F_RAW;
        c->flags &= ~F_DISCARD;
    } else {
        c->flags &= ~F_RAW;
    }
}

void conn_pause(struct conn *c)
{
    c->flags |= F_PAUSED;
}

void conn_resume(struct conn *c)
{
    c->flags &= ~F_PAUSED;
    if (!(c->flags & F_DEAD))
        loop_defer(c->w->loop, &c->input_d, on_input_defer);
}

/* ---- TLS ------------------------------------------------------------------- */

static void start_handshake(struct conn *c)
{
    c->ssl = tls_new_server(c->io.fd);
    if (!c->ssl) {
        close_now(c, "TLS unavailable");
        return;
    }
    c->flags |= F_HANDSHAKE;
    start_command_clock(c);
    update_events(c);
}

static void do_handshake(struct conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->flags &= ~F_HANDSHAKE;
        c->started = 0;
        c->last_active = clock_ms();
        log_info("%s %s TLS %s %s", c->tag, c->peer_str, SSL_get_version(c->ssl),
                 SSL_get_cipher_name(c->ssl));
        if (c->flags & F_BUSY) {
            if (c->svc->busy_reply)
                conn_write(c, c->svc->busy_reply, strlen(c->svc->busy_reply));
            conn_close(c);
            return;
        }
        if (c->flags & F_IMPLICIT) {
            c->flags &= ~F_IMPLICIT;
            c->flags |= F_OPENED;
            c->svc->ops->on_open(c);
        } else if (c->svc->ops->on_tls) {
            c->svc->ops->on_tls(c);
        }
        if (c->flags & F_DEAD)
            return;
        loop_defer(c->w->loop, &c->input_d, on_input_defer);
        update_events(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        uint32_t ev = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        if (loop_io_mod(c->w->loop, &c->io, ev) < 0)
            close_now(c, "epoll error");
        return;
    }
    char eb[200];
    char why[240];
    snprintf(why, sizeof why, "TLS handshake failed: %s",
             e == SSL_ERROR_SYSCALL ? "connection closed" : tls_error(eb, sizeof eb));
    close_now(c, why);
}

int conn_starttls(struct conn *c)
{
    if (c->ssl || !tls_available())
        return OP_E_TLS;
    /* Anything the client pipelined after the command was sent in plaintext
     * before the handshake: it must not be treated as protected input. */
    buf_clear(&c->in);
    c->flags |= F_TLS_START;
    conn_flush_later(c);
    return 0;
}

/* ---- events and timers --------------------------------------------------------------- */

static void on_io(struct loop_io *io, uint32_t events)
{
    struct conn *c = from_io(io);
    if (c->flags & F_HANDSHAKE) {
        do_handshake(c);
        return;
    }
    if ((events & EPOLLOUT) || (c->flags & F_WR_WANTS_R)) {
        flush(c);
        if (c->flags & F_DEAD)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        if (may_read(c))
            read_input(c);
        else if (events & (EPOLLHUP | EPOLLERR)) {
            /* Not reading now, but the socket is dead and epoll would keep
             * saying so: close it. Work in progress still completes (the
             * struct lives until its holds are released). */
            close_now(c, "connection lost");
            return;
        }
    }
    if (!(c->flags & F_DEAD) && (c->flags & F_RD_WANTS_W) && (events & EPOLLOUT))
        read_input(c);
}

static void on_timer(struct loop_timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    if (c->flags & F_DEAD)
        return;
    uint64_t now = clock_ms();
    bool command;
    uint64_t deadline = next_deadline(c, &command);
    if (now < deadline || c->holds > 0) {
        loop_timer_arm(c->w->loop, &c->timer, now < deadline ? deadline - now : 1000, on_timer);
        return;
    }
    if (c->flags & F_CLOSING) {
        close_now(c, "timeout while closing");
        return;
    }
    log_info("%s %s %s timeout", c->tag, c->peer_str,
             command ? (c->flags & F_HANDSHAKE ? "TLS handshake" : "command") : "idle");
    if (c->svc->ops->on_timeout && (c->flags & F_OPENED) && !(c->flags & F_HANDSHAKE))
        c->svc->ops->on_timeout(c);
    /* Give the goodbye a short while to leave, then close regardless. */
    c->last_active = now;
    c->idle_ms = 5000;
    c->started = 0;
    loop_timer_arm(c->w->loop, &c->timer, 5000, on_timer);
    conn_close(c);
}

/* ---- life cycle -------------------------------------------------------------------- */

static void finalize(struct loop_defer *d)
{
    struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, final_d));
    if (c->holds > 0)
        return;                          /* conn_release will come back here */
    if ((c->flags & F_OPENED) && c->svc->ops->on_close)
        c->svc->ops->on_close(c);
    SSL_free(c->ssl);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void close_now(struct conn *c, const char *why)
{
    if (c->flags & F_DEAD)
        return;
    c->flags |= F_DEAD;
    struct loop *lp = c->w->loop;
    loop_io_del(lp, &c->io);
    if (c->ssl && !(c->flags & F_HANDSHAKE) && !why)
        SSL_shutdown(c->ssl);            /* best effort close_notify */
    close(c->io.fd);
    c->io.fd = -1;
    loop_timer_cancel(lp, &c->timer);
    loop_defer_cancel(lp, &c->flush_d);
    loop_defer_cancel(lp, &c->input_d);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->w->nconns--;
    if (c->flags & F_COUNTED)
        limits_release(&c->peer);
    else
        limits_busy_done();
    if (!(c->flags & F_BUSY) || why)
        log_info("%s %s disconnect in=%llu out=%llu%s%s", c->tag, c->peer_str,
                 (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
                 why ? ": " : "", why ? why : "");
    loop_defer(lp, &c->final_d, finalize);
}

void conn_close(struct conn *c)
{
    if (c->flags & F_DEAD)
        return;
    c->flags |= F_CLOSING;
    conn_flush_later(c);
}

void conn_hold(struct conn *c)
{
    c->holds++;
}

void conn_release(struct conn *c)
{
    if (--c->holds > 0)
        return;
    if (c->flags & F_DEAD) {
        loop_defer(c->w->loop, &c->final_d, finalize);
        return;
    }
    if (c->flags & F_CLOSING)
        conn_flush_later(c);
    else
        loop_defer(c->w->loop, &c->input_d, on_input_defer);
}

static void format_peer(struct conn *c)
{
    uint16_t port = 0;
    if (c->peer.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&c->peer;
        inet_ntop(AF_INET, &a->sin_addr, c->peer_ip, sizeof c->peer_ip);
        port = ntohs(a->sin_port);
        c->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (c->peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer;
        inet_ntop(AF_INET6, &a->sin6_addr, c->peer_ip, sizeof c->peer_ip);
        port = ntohs(a->sin6_port);
        c->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                      (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
    } else {
        str_copy(c->peer_ip, sizeof c->peer_ip, "unknown");
    }
    snprintf(c->peer_str, sizeof c->peer_str, "[%s]:%u", c->peer_ip, port);
}

void conn_accept(struct worker *w, int fd, const struct service *svc,
                 const struct sockaddr_storage *peer, bool implicit_tls, bool busy)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        if (busy)
            limits_busy_done();
        else
            limits_release(peer);
        return;
    }
    c->w = w;
    c->svc = svc;
    c->peer = *peer;
    c->idle_ms = busy ? 10000 : svc->idle_ms;
    c->command_ms = busy ? 10000 : svc->command_ms;
    c->last_active = clock_ms();
    c->id = g_next_id++;
    c->flags = busy ? F_BUSY : F_COUNTED;
    snprintf(c->tag, sizeof c->tag, "%s #%llu", svc->name, (unsigned long long)c->id);
    format_peer(c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    if (loop_io_add(w->loop, &c->io, fd, 0, on_io) < 0) {
        c->io.fd = fd;
        close_now(c, "epoll error");
        return;
    }
    loop_timer_arm(w->loop, &c->timer, c->idle_ms, on_timer);
    if (busy)
        log_warn("%s %s refused: too many connections", c->tag, c->peer_str);
    else
        log_info("%s %s connect%s", c->tag, c->peer_str, implicit_tls ? " (TLS)" : "");
    if (implicit_tls) {
        c->flags |= F_IMPLICIT;
        start_handshake(c);
        return;
    }
    if (busy) {
        if (svc->busy_reply)
            conn_write(c, svc->busy_reply, strlen(svc->busy_reply));
        conn_close(c);
        return;
    }
    c->flags |= F_OPENED;
    svc->ops->on_open(c);
    if (!(c->flags & F_DEAD))
        update_events(c);
}

void conn_drain_all(struct worker *w)
{
    for (struct conn *c = w->conns, *n; c; c = n) {
        n = c->next;
        check_drain(c);
    }
}

void conn_abort_all(struct worker *w)
{
    while (w->conns)
        close_now(w->conns, "server shutting down");
}
