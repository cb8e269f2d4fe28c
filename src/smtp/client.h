/*
 * client.h - the SMTP client that hands queued mail to other domains'
 * servers (RFC 5321), for the delivery runners (smtp/delivery.h).
 *
 * Three parts:
 *   - pure helpers, unit-tested and fuzzed: the reply parser (RFC 5321
 *     section 4.2, multiline replies), the EHLO keyword reader and the
 *     xtext encoder (RFC 3461 section 4); the message is dot-stuffed
 *     (section 4.5.2) by mail/dotstuff.h, the stuffer POP3 uses too;
 *   - a blocking connection: connect, greeting, EHLO (HELO when EHLO gets a
 *     5xx), STARTTLS when offered, then EHLO again (RFC 3207 section 4.2);
 *   - one transaction on it: MAIL, the RCPTs, DATA and the message streamed
 *     from the queue's file with pread, pipelined when the server offers
 *     PIPELINING (RFC 2920: MAIL, every RCPT and DATA in one write).
 *
 * Every wait is bounded (RFC 5321 section 4.5.3.2: greeting 5 min, MAIL
 * and RCPT 5 min, DATA 2 min, each data block 3 min, the end of data 10
 * min; struct smtp_timeouts, which tests shorten) and may be cut short by
 * a cancel descriptor becoming readable (a stopping server).
 *
 * TLS is opportunistic: STARTTLS whenever the server offers it, no
 * certificate check (nothing says which name it should prove: RFC 7672
 * and MTA-STS are for that), the version and cipher logged. A server that
 * answers STARTTLS with anything but 220 is talked to in plaintext on the
 * same connection; a failed handshake leaves the connection unusable
 * (RFC 3207 section 4.1), so smtp_client_open() reports SMTP_OPEN_TLS_FAILED
 * and the caller connects once more without STARTTLS, as established MTAs
 * do with opportunistic TLS: mail that could go in plaintext anyway is not
 * held back by a broken TLS stack.
 *
 * Conversions the client refuses rather than makes (each a permanent
 * failure of the recipients involved, reported with its status code):
 * a message declared BODY=8BITMIME to a server without 8BITMIME (5.6.3:
 * RFC 6152 section 3 allows bouncing instead of converting to 7 bits, and
 * converting MIME parts is a job for a MIME module, not for the wire);
 * a message that needs SMTPUTF8 to a server without it (5.6.7, RFC 6531
 * section 3.2); a message larger than the server's SIZE limit (5.3.4,
 * RFC 1870 section 6).
 *
 * Threads: a connection belongs to one thread; the helpers are pure. Call
 * smtp_client_init() once before the first connection, smtp_client_cleanup()
 * after the last.
 *
 * Errors: negative errno (-ETIMEDOUT, -ECONNREFUSED, -ECANCELED, ...) or
 * OP_E_* (OP_E_SYNTAX: a reply that is not SMTP; OP_E_CLOSED: the server
 * closed the connection; OP_E_TLS).
 */
#ifndef OP_SMTP_CLIENT_H
#define OP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mail/queue.h"

/* ---- replies (RFC 5321 section 4.2) ------------------------------------- */

#define SMTP_REPLY_LINE_MAX 2048    /* a reply line, CRLF included: RFC 5321 section
                                     * 4.5.3.1.5 says 512, servers send longer */
#define SMTP_REPLY_LINES_MAX 100    /* lines in one reply (EHLO lists extensions) */
#define SMTP_REPLY_TEXT_MAX 1024    /* text kept (longer is cut) */

struct smtp_reply {
    int code;                       /* 200 .. 599 */
    size_t nlines;
    /* The text of each line (after "ddd-" or "ddd "), joined by '\n',
     * NUL-terminated, cut at SMTP_REPLY_TEXT_MAX - 1 octets; control
     * characters other than the joining '\n' are replaced by '?'. */
    char text[SMTP_REPLY_TEXT_MAX];
};

/*
 * Parse one complete reply at the start of p[0 .. len): each line is three
 * digits, '-' (more lines follow) or ' ' or nothing (the last line), text,
 * then CRLF (a bare LF is taken too); every line must carry the same code,
 * whose first digit is 2 to 5. Returns the octets the reply took (> 0), 0
 * when more input is needed, OP_E_SYNTAX for a line that does not follow
 * that grammar, OP_E_TOOLONG for a line over SMTP_REPLY_LINE_MAX or a reply
 * over SMTP_REPLY_LINES_MAX lines. Pure.
 */
int smtp_reply_parse(const char *p, size_t len, struct smtp_reply *r);

/* The extensions an EHLO reply names (RFC 5321 section 4.1.1.1: one
 * keyword per line after the first, with parameters). */
enum {
    SMTP_EXT_PIPELINING = 1 << 0,   /* RFC 2920 */
    SMTP_EXT_8BITMIME   = 1 << 1,   /* RFC 6152 */
    SMTP_EXT_STARTTLS   = 1 << 2,   /* RFC 3207 */
    SMTP_EXT_SIZE       = 1 << 3,   /* RFC 1870 */
    SMTP_EXT_DSN        = 1 << 4,   /* RFC 3461 */
    SMTP_EXT_SMTPUTF8   = 1 << 5,   /* RFC 6531 */
    SMTP_EXT_ENHANCED   = 1 << 6,   /* RFC 2034 */
};

struct smtp_ext {
    unsigned flags;
    uint64_t size_max;              /* SIZE's parameter; 0 = no limit stated */
};

/* Read the keywords of an EHLO reply (case-insensitive). Pure. */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *e);

/* ---- ESMTP parameters ---------------------------------------------------- */

/* xtext (RFC 3461 section 4) of s into out[0 .. cap): '+', '=', and
 * octets outside '!' .. '~' as "+HH". 0, or -ENOSPC. Pure. */
int smtp_xtext(const char *s, char *out, size_t cap);

/* ---- connections ---------------------------------------------------------- */

/* Milliseconds each wait may take (RFC 5321 section 4.5.3.2). */
struct smtp_timeouts {
    unsigned connect_ms;
    unsigned greeting_ms;           /* 5 min */
    unsigned command_ms;            /* EHLO, STARTTLS and its handshake, QUIT: 5 min */
    unsigned mail_ms;               /* 5 min */
    unsigned rcpt_ms;               /* 5 min */
    unsigned data_init_ms;          /* 2 min */
    unsigned data_block_ms;         /* 3 min for each block sent */
    unsigned data_end_ms;           /* 10 min */
};

/* The RFC's values, and connect_ms (not in the RFC) 30 s. */
void smtp_timeouts_default(struct smtp_timeouts *t);
/* Every value capped to ms (tests: a few seconds). */
void smtp_timeouts_cap(struct smtp_timeouts *t, unsigned ms);

struct smtp_client_opts {
    const char *helo;               /* our name in EHLO/HELO */
    const char *peer_name;          /* the server's host name: logs and TLS SNI (or NULL) */
    bool no_starttls;               /* do not try STARTTLS (the retry after a failed handshake) */
    int cancel_fd;                  /* readable = give up at once (-ECANCELED); -1: none */
    struct smtp_timeouts t;
};

struct smtp_client;

enum smtp_open_result {
    SMTP_OPEN_OK,                   /* ready for a transaction */
    SMTP_OPEN_FAILED,               /* diag says why: a local error or a reply */
    SMTP_OPEN_TLS_FAILED,           /* the handshake failed: try once more without STARTTLS */
};

/*
 * Connect to addr, read the greeting, EHLO (or HELO), STARTTLS when offered
 * (unless no_starttls) and EHLO again. On SMTP_OPEN_OK *out is the
 * connection; else *out is NULL and diag (cap diaglen) says what happened
 * ("connect: Connection refused", "greeting: 554 5.7.1 go away"); *code
 * then holds the reply code that ended it, or 0 for a local error or a
 * timeout.
 */
enum smtp_open_result smtp_client_open(struct smtp_client **out, const struct sockaddr *addr,
                                       socklen_t addrlen, const struct smtp_client_opts *o,
                                       int *code, char *diag, size_t diaglen);

/* What was negotiated: the extensions, and the TLS version and cipher
 * ("TLSv1.3 TLS_AES_256_GCM_SHA384") or "" in plaintext. */
const struct smtp_ext *smtp_client_ext(const struct smtp_client *c);
const char *smtp_client_tls(const struct smtp_client *c);

/* One recipient of a transaction; code and diag are the outcome. */
#define SMTP_DIAG_MAX 400
struct smtp_rcpt {
    const char *addr;               /* without <> */
    const char *orcpt;              /* "rfc822;addr" or "" (sent only with DSN) */
    unsigned notify;                /* QUEUE_NOTIFY_* (sent only with DSN) */
    int code;                       /* out: the reply that decided (250, 450, 550...);
                                     * 0: the connection failed first (temporary) */
    char diag[SMTP_DIAG_MAX];       /* out: that reply, or what went wrong */
    bool local;                     /* out: decided here (a refusal before sending,
                                     * or code 0), not a reply of the server */
};

struct smtp_message {
    const char *sender;             /* "" = the null sender */
    const char *envid;              /* DSN ENVID, or NULL */
    enum queue_ret ret;
    bool body_8bit, smtputf8;
    int fd;                         /* read with pread from offset 0 */
    uint64_t len;
};

/*
 * One transaction for rcpts[0 .. n): each gets its outcome (2xx accepted
 * for delivery, 4xx temporary, 5xx permanent, 0 the connection failed
 * before its fate was known). Returns 0 when the dialogue ended in an
 * orderly way (the connection can carry another transaction), or a
 * negative error when the connection is no longer usable (close it).
 */
int smtp_client_send(struct smtp_client *c, const struct smtp_message *m, struct smtp_rcpt *rcpts,
                     size_t n);

/* Before another transaction on a connection kept from an earlier one:
 * RSET (RFC 5321 section 4.1.1.5), which also tells whether the server is
 * still there. 0 when it answered 2xx; else negative (close it). */
int smtp_client_reset(struct smtp_client *c);

/* QUIT (waiting briefly for its reply) and close; NULL is fine. */
void smtp_client_close(struct smtp_client *c);

/* The client's TLS context: 0 or OP_E_TLS. */
int smtp_client_init(void);
void smtp_client_cleanup(void);

#endif
