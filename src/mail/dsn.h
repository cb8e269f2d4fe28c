/*
 * dsn.h - delivery status notifications (RFC 3464) as the mail queue sends
 * them: a multipart/report; report-type=delivery-status message with a
 * human-readable part, the message/delivery-status part and the original
 * message (message/rfc822) or its header (text/rfc822-headers).
 *
 * The message is built whole in memory; the queue submits it with the null
 * sender to the original envelope sender (never for a null-sender message:
 * RFC 5321 section 6.2, RFC 3464 section 2).
 */
#ifndef OP_MAIL_DSN_H
#define OP_MAIL_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/buf.h"

/* RFC 3464 section 2.3.3 */
enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED, DSN_EXPANDED };

struct dsn_rcpt {
    const char *orcpt;          /* ORCPT as given ("rfc822;a@b"), or "" */
    const char *addr;           /* the recipient as we handled it */
    enum dsn_action action;
    const char *status;         /* "5.1.1", or NULL: taken from diag, else by action */
    const char *remote_mta;     /* the host that answered, or NULL/"" */
    const char *diag;           /* the SMTP reply or a sentence, or NULL/"" */
    time_t last_attempt;        /* 0 = never tried */
    time_t will_retry_until;    /* delayed only */
};

struct dsn_report {
    const char *reporting_mta;  /* our host name */
    const char *to;             /* the original envelope sender */
    const char *envid;          /* ENVID, or NULL */
    time_t arrival, now;
    const struct dsn_rcpt *rcpts;
    size_t nrcpts;
    bool headers_only;          /* text/rfc822-headers instead of message/rfc822 */
    const char *orig;           /* the original message */
    size_t origlen;
};

/* Append the whole notification (header and body, CRLF line ends) to out.
 * 0 or -ENOMEM / -errno. */
int dsn_build(const struct dsn_report *r, struct buf *out);

/* The enhanced status code (RFC 3463) at the start of an SMTP reply's text
 * ("550 5.1.1 no such user" -> "5.1.1"); false when there is none. out has
 * room for 16 bytes. Pure. */
bool dsn_reply_status(const char *diag, char out[16]);

/* The length of the header of msg (up to and including the empty line, or
 * all of it when there is none). Pure. */
size_t dsn_header_len(const char *msg, size_t len);

#endif
