/*
 * dsn.c - delivery status notifications (RFC 3464). See dsn.h.
 */
#include "mail/dsn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

#define DSN_FIELD_MAX 900             /* a field's value, well under 998 (RFC 5322 2.1.1) */

/* An RFC 5322 section 3.3 date-time, in UTC. */
static void rfc5322_date(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* Append s as one line of a header field: line ends and other controls
 * become spaces (a peer's reply must not start a field of its own), and
 * the value is cut at DSN_FIELD_MAX. */
static int put_value(struct buf *b, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && n < DSN_FIELD_MAX; p++, n++) {
        char c = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
        if (buf_append(b, &c, 1) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int field(struct buf *b, const char *name, const char *prefix, const char *value)
{
    int r = buf_printf(b, "%s: %s", name, prefix);
    r |= put_value(b, value);
    r |= buf_puts(b, "\r\n");
    return r ? -ENOMEM : 0;
}

static int date_field(struct buf *b, const char *name, time_t t)
{
    char d[64];
    rfc5322_date(t, d, sizeof d);
    return buf_printf(b, "%s: %s\r\n", name, d) < 0 ? -ENOMEM : 0;
}

bool dsn_reply_status(const char *diag, char out[16])
{
    /* "ddd" then " " or "-", then class.subject.detail (RFC 3463 section
     * 2: class 2, 4 or 5; subject 1-3 digits; detail 1-3 digits). */
    const char *p = diag;
    if (!p || !(p[0] >= '2' && p[0] <= '5') || !(p[1] >= '0' && p[1] <= '9') ||
        !(p[2] >= '0' && p[2] <= '9') || (p[3] != ' ' && p[3] != '-'))
        return false;
    p += 4;
    if (*p != '2' && *p != '4' && *p != '5')
        return false;
    const char *s = p;
    p++;
    for (int part = 0; part < 2; part++) {
        if (*p != '.')
            return false;
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            p++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            return false;
    }
    if (*p && *p != ' ')
        return false;
    size_t n = (size_t)(p - s);
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

size_t dsn_header_len(const char *msg, size_t len)
{
    /* The header ends at the first empty line (RFC 5322 section 2.1):
     * CRLF CRLF, or LF LF for messages stored with bare LFs. */
    for (size_t i = 0; i < len; i++) {
        if (msg[i] != '\n')
            continue;
        if (i + 1 < len && msg[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
            return i + 3;
    }
    return len;
}

static const char *const action_names[] = {"failed", "delayed", "delivered", "relayed", "expanded"};

static const char *default_status(enum dsn_action a)
{
    return a == DSN_FAILED ? "5.0.0" : a == DSN_DELAYED ? "4.0.0" : "2.0.0";
}

/* Does any string need more than US-ASCII in the human-readable part? */
static bool needs_utf8(const struct dsn_report *r)
{
    const char *all[] = {r->to};
    for (size_t i = 0; i < ARRAY_LEN(all); i++)
        for (const unsigned char *p = (const unsigned char *)all[i]; p && *p; p++)
            if (*p >= 0x80)
                return true;
    for (size_t i = 0; i < r->nrcpts; i++)
        for (const unsigned char *p = (const unsigned char *)r->rcpts[i].addr; *p; p++)
            if (*p >= 0x80)
                return true;
    return false;
}

static int human_part(const struct dsn_report *r, struct buf *b)
{
    int e = 0;
    bool failed = false, delayed = false;
    for (size_t i = 0; i < r->nrcpts; i++) {
        failed = failed || r->rcpts[i].action == DSN_FAILED;
        delayed = delayed || r->rcpts[i].action == DSN_DELAYED;
    }
    e |= buf_printf(b, "This is the mail system at %s.\r\n\r\n", r->reporting_mta);
    if (failed)
        e |= buf_puts(b, "Your message could not be delivered to one or more recipients.\r\n"
                         "It is attached below. This is final: the message will not be\r\n"
                         "tried again for them.\r\n\r\n");
    if (delayed) {
        char until[64];
        time_t t = 0;
        for (size_t i = 0; i < r->nrcpts; i++)
            if (r->rcpts[i].action == DSN_DELAYED)
                t = r->rcpts[i].will_retry_until;
        rfc5322_date(t, until, sizeof until);
        e |= buf_printf(b, "Your message has not been delivered yet to one or more recipients.\r\n"
                           "This is only a warning: delivery will be tried again until\r\n"
                           "%s. You need not send it again.\r\n\r\n", until);
    }
    if (!failed && !delayed)
        e |= buf_puts(b, "Your message was delivered as you asked to be told.\r\n\r\n");
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct dsn_rcpt *d = &r->rcpts[i];
        e |= buf_puts(b, "<");
        e |= put_value(b, d->addr);
        e |= buf_printf(b, ">: %s", action_names[d->action]);
        if (d->diag && d->diag[0]) {
            e |= buf_puts(b, ": ");
            e |= put_value(b, d->diag);
        }
        e |= buf_puts(b, "\r\n");
    }
    return e ? -ENOMEM : 0;
}

/* RFC 3464 section 2.2 (per-message) and 2.3 (per-recipient) fields. */
static int status_part(const struct dsn_report *r, struct buf *b)
{
    int e = 0;
    e |= field(b, "Reporting-MTA", "dns; ", r->reporting_mta);
    if (r->envid && r->envid[0])
        e |= field(b, "Original-Envelope-Id", "", r->envid);
    if (r->arrival)
        e |= date_field(b, "Arrival-Date", r->arrival);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const struct dsn_rcpt *d = &r->rcpts[i];
        char st[16];
        const char *status = d->status ? d->status
                           : dsn_reply_status(d->diag, st) ? st : default_status(d->action);
        e |= buf_puts(b, "\r\n");
        /* 2.3.1: ORCPT exactly as given, "addr-type;addr". */
        if (d->orcpt && d->orcpt[0])
            e |= field(b, "Original-Recipient", "", d->orcpt);
        e |= field(b, "Final-Recipient", "rfc822; ", d->addr);
        e |= field(b, "Action", "", action_names[d->action]);
        e |= field(b, "Status", "", status);
        if (d->remote_mta && d->remote_mta[0])
            e |= field(b, "Remote-MTA", "dns; ", d->remote_mta);
        if (d->diag && d->diag[0]) {
            /* 2.3.6: "smtp" is for an SMTP reply; our own sentences
             * (lookup failures, expiry) are labelled as ours. */
            bool smtp = d->diag[0] >= '2' && d->diag[0] <= '5' && d->diag[1] >= '0' &&
                        d->diag[1] <= '9' && d->diag[2] >= '0' && d->diag[2] <= '9' &&
                        (d->diag[3] == ' ' || d->diag[3] == '-' || d->diag[3] == '\0');
            e |= field(b, "Diagnostic-Code", smtp ? "smtp; " : "X-Outpost; ", d->diag);
        }
        if (d->last_attempt)
            e |= date_field(b, "Last-Attempt-Date", d->last_attempt);
        if (d->action == DSN_DELAYED && d->will_retry_until)
            e |= date_field(b, "Will-Retry-Until", d->will_retry_until);
    }
    return e ? -ENOMEM : 0;
}

int dsn_build(const struct dsn_report *r, struct buf *out)
{
    unsigned char rnd[12];
    int e = random_bytes(rnd, sizeof rnd);
    if (e < 0)
        return e;
    char bnd[64], mid[32];
    snprintf(bnd, sizeof bnd, "=_outpost-report-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    snprintf(mid, sizeof mid, "%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11]);
    bool failed = false, delayed = false, relayed = false;
    for (size_t i = 0; i < r->nrcpts; i++) {
        failed = failed || r->rcpts[i].action == DSN_FAILED;
        delayed = delayed || r->rcpts[i].action == DSN_DELAYED;
        relayed = relayed || r->rcpts[i].action == DSN_RELAYED;
    }
    const char *subject = failed ? "Undelivered Mail Returned to Sender"
                        : delayed ? "Delayed Mail (still being retried)"
                        : relayed ? "Successful Mail Relay Notification"
                                  : "Successful Mail Delivery Notification";
    bool utf8 = needs_utf8(r);
    e |= buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <", r->reporting_mta);
    e |= put_value(out, r->to);
    e |= buf_printf(out, ">\r\nSubject: %s\r\n", subject);
    e |= date_field(out, "Date", r->now);
    e |= buf_printf(out, "Message-ID: <%s.dsn@%s>\r\n", mid, r->reporting_mta);
    /* RFC 3834 section 5: not to be answered automatically. */
    e |= buf_puts(out, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
    /* RFC 3462 (now 6522): multipart/report with report-type. */
    e |= buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                         "\tboundary=\"%s\"\r\n\r\n", bnd);
    e |= buf_puts(out, "This is a MIME-encapsulated message.\r\n\r\n");
    e |= buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=%s\r\n", bnd,
                    utf8 ? "utf-8" : "us-ascii");
    e |= buf_printf(out, "Content-Description: Notification\r\n\r\n");
    if (e)
        return -ENOMEM;
    if ((e = human_part(r, out)) < 0)
        return e;
    /* RFC 6533 section 6 would call for message/global-delivery-status
     * with UTF-8 addresses; this sends the RFC 3464 type either way. */
    e |= buf_printf(out, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
                         "Content-Description: Delivery report\r\n\r\n", bnd);
    if (e)
        return -ENOMEM;
    if ((e = status_part(r, out)) < 0)
        return e;
    size_t olen = r->headers_only ? dsn_header_len(r->orig, r->origlen) : r->origlen;
    e |= buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\nContent-Description: %s\r\n\r\n", bnd,
                    r->headers_only ? "text/rfc822-headers" : "message/rfc822",
                    r->headers_only ? "Header of the original message" : "The original message");
    e |= buf_append(out, r->orig, olen);
    /* The line end before the closing delimiter belongs to it (RFC 2046
     * section 5.1.1): one more when the original does not end in one. */
    if (olen == 0 || r->orig[olen - 1] != '\n')
        e |= buf_puts(out, "\r\n");
    e |= buf_printf(out, "\r\n--%s--\r\n", bnd);
    return e ? -ENOMEM : 0;
}
