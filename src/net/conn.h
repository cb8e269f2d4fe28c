/*
 * conn.h - a client connection: non-blocking socket, optional TLS, line
 * framing, write buffering with backpressure, idle and command timeouts.
 *
 * A protocol is a struct service with a table of callbacks (conn_ops). The
 * connection calls them on its loop thread:
 *   on_open      the connection is ready (after the handshake of an implicit
 *                TLS listener): write the greeting
 *   on_line      one complete line, CRLF or LF removed, NUL-terminated at
 *                line[len]; it may itself contain NUL bytes (len is exact)
 *   on_too_long  a line exceeded service->max_line; its bytes up to the next
 *                LF are discarded and line delivery goes on after it
 *   on_drain     (optional) buffered output fell below the low-water mark
 *                after conn_want_drain(): stream the next part of a response
 *   on_tls       (optional) an in-protocol upgrade (conn_starttls) completed
 *   on_timeout   idle too long, or a command line (or TLS handshake) not
 *                completed in time: write the goodbye; the connection then
 *                closes
 *   on_shutdown  (optional) the server is stopping and this session is idle:
 *                write the goodbye; the connection then closes
 *   on_close     the connection is gone: free the session
 *   on_message   (CONN_FRAME_LEN16 services, instead of on_line) one whole
 *                message without its 2-octet length prefix
 *   on_bytes     (optional; while conn_set_raw(c, true)) the input as it
 *                arrives, unframed: returns how many bytes it used. A
 *                session that uses fewer than it was given has left raw
 *                mode or paused; the rest is delivered later (as lines
 *                once raw mode is off). For message bodies whose line
 *                ends must be seen exactly (SMTP DATA, BDAT chunks).
 *
 * Framing: lines (the text protocols), or messages each preceded by its
 * length as 2 octets in network order (DNS over TCP, RFC 1035 section
 * 4.2.2; RFC 7766). A length of 0 or above max_line is reported through
 * on_too_long and then the connection is closed: after a bad length the
 * stream has no boundaries left to resynchronise on.
 *
 * Lines are delivered one at a time while the connection is not paused:
 * a session that starts slow work (conn_hold + pool_submit) pauses, so
 * pipelined commands wait their turn and replies stay in order. Reading also
 * stops while more than CONN_OUT_HIGH bytes wait to be sent, so a client that
 * does not read cannot make the server buffer without bound.
 */
#ifndef OP_NET_CONN_H
#define OP_NET_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONN_OUT_HIGH (256 * 1024)
#define CONN_OUT_LOW  (64 * 1024)

struct conn;
struct loop;

struct conn_ops {
    void (*on_open)(struct conn *c);
    void (*on_line)(struct conn *c, char *line, size_t len);
    void (*on_too_long)(struct conn *c);
    void (*on_drain)(struct conn *c);
    void (*on_tls)(struct conn *c);
    void (*on_timeout)(struct conn *c);
    void (*on_shutdown)(struct conn *c);
    void (*on_close)(struct conn *c);
    void (*on_message)(struct conn *c, const uint8_t *msg, size_t len);
    size_t (*on_bytes)(struct conn *c, const char *p, size_t len);
};

enum conn_framing {
    CONN_FRAME_LINES,               /* CRLF or LF ended lines: on_line */
    CONN_FRAME_LEN16,               /* 2-octet length, then the message: on_message */
};

struct service {
    const char *name;               /* "pop3", for logs */
    const struct conn_ops *ops;
    const char *busy_reply;         /* sent when over the connection limits */
    size_t max_line;                /* longest line (or message) accepted, without CRLF */
    enum conn_framing framing;
    /* Read by every loop thread at accept, changed on SIGHUP: atomic. */
    _Atomic unsigned idle_ms;       /* idle timeout */
    _Atomic unsigned command_ms;    /* a started line or TLS handshake must
                                       complete within this (0: no limit) */
};

/* Output. Bytes are queued and sent after the current event (coalesced). */
void   conn_write(struct conn *c, const void *p, size_t n);
void   conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t conn_out_len(const struct conn *c);
/* Direct access to the output buffer for producers that fill it themselves
 * (e.g. byte-stuffing a message); call conn_flush_later() after appending. */
struct buf *conn_out(struct conn *c);
void   conn_flush_later(struct conn *c);
/* Ask for one on_drain call once the output is below CONN_OUT_LOW. */
void   conn_want_drain(struct conn *c);
/* Count this moment as activity for the idle timeout: for a long response
 * streamed from on_drain, whose client reads but sends nothing (a zone
 * transfer). A client that stops reading stops the drains, and so still
 * times out. */
void   conn_touch(struct conn *c);

/* Stop / restart delivering lines (pipelined input stays buffered). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* Raw mode (CONN_FRAME_LINES services with on_bytes): deliver the input
 * unframed through on_bytes instead of as lines, until turned off. */
void conn_set_raw(struct conn *c, bool raw);

/* Keep the connection struct (and so its session) alive across async work.
 * Each hold needs one release; if the client left meanwhile, the session's
 * on_close runs after the last release. */
void conn_hold(struct conn *c);
void conn_release(struct conn *c);
bool conn_is_closed(const struct conn *c);

/* Send what is queued, then close. */
void conn_close(struct conn *c);

/* Upgrade to TLS once the queued plaintext (the "go ahead" reply) is sent.
 * Input already received after the command is discarded (RFC 3207 section
 * 4.2, RFC 2595 section 3.1: no plaintext may be injected into the TLS
 * session). Returns 0, or OP_E_TLS when no certificate is loaded. */
int  conn_starttls(struct conn *c);

/* Read-only facts. */
void       *conn_session(const struct conn *c);
void        conn_set_session(struct conn *c, void *session);
const char *conn_peer(const struct conn *c);         /* "[192.0.2.1]:5012" */
const char *conn_peer_ip(const struct conn *c);      /* "192.0.2.1" */
const struct sockaddr_storage *conn_peer_addr(const struct conn *c);
uint64_t    conn_id(const struct conn *c);
bool        conn_is_tls(const struct conn *c);
bool        conn_is_loopback(const struct conn *c);
struct loop *conn_loop(const struct conn *c);
const struct service *conn_service(const struct conn *c);
/* Protocol name and session number, for log lines: "pop3 #12". */
const char *conn_tag(const struct conn *c);
/* Set the idle timeout for this connection (ms). */
void conn_set_idle(struct conn *c, unsigned ms);
/* Receive TCP urgent data in line (SO_OOBINLINE): FTP clients send ABOR
 * (and the Telnet Synch before it) as urgent data, RFC 959 section 4.1.3;
 * without this the urgent byte would be taken out of the command stream. */
void conn_oob_inline(struct conn *c);

/* The local address the client connected to (getsockname). 0 or -errno.
 * FTP opens its passive data listeners on it (RFC 959 section 3.2). */
int conn_local_addr(const struct conn *c, struct sockaddr_storage *out);
/* The connection's OpenSSL object once its handshake is done, else NULL.
 * Read-only use on the connection's loop thread: FTP's data connections
 * take its SSL_CTX and check that they resume its session (RFC 4217
 * section 10). The returned type is SSL (openssl/ssl.h). */
struct ssl_st;
struct ssl_st *conn_ssl(const struct conn *c);

#endif
