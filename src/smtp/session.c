/*
 * session.c - the SMTP server's state machine (RFC 5321 sections 3 and 4).
 *
 * States (enum state), changed only through enter_state():
 *   INIT      greeting sent; HELO/EHLO needed before a transaction
 *   READY     greeted, no transaction (entering it drops any transaction)
 *   MAIL      MAIL accepted, no recipient yet
 *   RCPT      at least one recipient accepted
 *   DATA      reading the DATA body (raw bytes, smtp/body.h)
 *   BDAT      reading a BDAT chunk (raw bytes)
 *   CHUNKING  between two BDAT chunks of one message
 *   AUTH      inside a SASL exchange: lines are responses, not commands
 *
 * Each command has one handler; the table at the bottom says in which
 * states it is allowed (503 outside them, RFC 5321 section 4.1.4). Slow
 * work runs on the worker pool with the connection paused, so pipelined
 * commands (RFC 2920) wait their turn and replies stay in order: the
 * recipient checks (accounts database), password checks, and the hand-off
 * of an accepted message to the queue (fsync). Every reply but the
 * greeting and the EHLO lines carries an enhanced status code (RFC 2034
 * section 3, codes from RFC 3463).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/accounts.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "auth/throttle.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/queue.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/pool.h"
#include "net/tls.h"
#include "smtp/body.h"
#include "smtp/parse.h"
#include "smtp/server.h"
#include "smtp/session.h"

enum state { ST_INIT, ST_READY, ST_MAIL, ST_RCPT, ST_DATA, ST_BDAT, ST_CHUNKING, ST_AUTH };

static const char *const state_names[] = {"INIT", "READY", "MAIL", "RCPT", "DATA", "BDAT",
                                          "CHUNKING", "AUTH"};

enum { MAX_ERRORS = 20 };
enum sasl_mech { MECH_PLAIN, MECH_LOGIN };

struct session {
    struct conn *c;
    struct smtp_live *live;
    enum state state;
    enum smtp_role role;
    unsigned errors;                    /* syntax and sequence errors so far */
    char helo[256];
    bool esmtp;                         /* EHLO (not HELO) */
    bool authed;
    char user[ADDRESS_MAX];             /* the authenticated (or authenticating) user */
    char auth_id[ADDRESS_MAX];          /* the transaction's submitter (RFC 4954 5), "" = <> */

    /* the transaction */
    char sender[SMTP_PATH_MAX];
    bool null_sender, smtputf8, body_8bit;
    enum queue_ret ret;
    char envid[SMTP_ENVID_MAX];
    bool has_envid;
    struct queue_rcpt *rcpts;
    size_t nrcpts, rcap;
    unsigned accepted;                  /* RCPTs answered 250 (duplicates too) */
    bool any_remote;
    struct buf msg;                     /* Received: header, then the body */
    struct smtp_body body;

    /* a BDAT chunk being read */
    uint64_t chunk_left;
    bool chunk_last;
    const char *chunk_refusal;          /* the chunk is read and dropped, then this */
    enum state chunk_prev;

    /* SASL */
    enum sasl_mech mech;
    int sasl_step;                      /* LOGIN: 0 wants user, 1 wants password */
    struct loop_timer delay;            /* failed-login slowdown */
    char password[SASL_FIELD_MAX];      /* cleared as soon as it is checked */

    /* pool work */
    struct smtp_cmd *pending;           /* the RCPT being resolved */
    char resolved[ADDRESS_MAX];
    int result;
    char qid[QUEUE_ID_MAX];
};

/* ---- replies -------------------------------------------------------------- */

static void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
    struct buf *out = conn_out(s->c);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(out, fmt, ap);
    va_end(ap);
    buf_puts(out, "\r\n");
    conn_flush_later(s->c);
}

/* A 5xx to a bad or out-of-sequence command: counted, and a client that
 * keeps sending garbage is cut off (421, RFC 5321 section 3.8). */
static void error_reply(struct session *s, const char *line)
{
    reply(s, "%s", line);
    log_info("%s %s refused: %s", conn_tag(s->c), conn_peer(s->c), line);
    if (++s->errors >= MAX_ERRORS) {
        reply(s, "421 4.7.0 %s Error: too many errors", s->live->hostname);
        log_info("%s %s closed after %u errors", conn_tag(s->c), conn_peer(s->c), s->errors);
        conn_close(s->c);
    }
}

static bool plaintext_ok(const struct session *s)
{
    return plaintext_allowed(s->live->plaintext, conn_is_tls(s->c), conn_is_loopback(s->c));
}

static bool auth_offered(const struct session *s)
{
    return s->role != SMTP_ROLE_MX;
}

/* ---- states ----------------------------------------------------------------- */

static void clear_transaction(struct session *s)
{
    s->sender[0] = '\0';
    s->null_sender = s->smtputf8 = s->body_8bit = s->has_envid = s->any_remote = false;
    s->ret = QUEUE_RET_DEFAULT;
    s->envid[0] = '\0';
    s->auth_id[0] = '\0';
    free(s->rcpts);
    s->rcpts = NULL;
    s->nrcpts = s->rcap = 0;
    s->accepted = 0;
    buf_free(&s->msg);
}

/* The one place the state changes. READY and INIT hold no transaction;
 * DATA and BDAT read raw bytes under the data timeout (RFC 5321
 * 4.5.3.2.5-6), every other state reads command lines. */
static void enter_state(struct session *s, enum state st)
{
    if (st == ST_INIT || st == ST_READY)
        clear_transaction(s);
    if (st == ST_INIT) {
        s->helo[0] = '\0';
        s->esmtp = false;
    }
    bool raw = st == ST_DATA || st == ST_BDAT;
    conn_set_raw(s->c, raw);
    conn_set_idle(s->c, raw ? s->live->data_ms : s->live->idle_ms);
    if (s->state != st)
        log_debug("%s %s -> %s", conn_tag(s->c), state_names[s->state], state_names[st]);
    s->state = st;
}

/* ---- HELO, EHLO ---------------------------------------------------------------- */

static void cmd_helo(struct session *s, struct smtp_cmd *cmd)
{
    /* RFC 5321 4.1.4: HELO/EHLO in a transaction resets it. */
    enter_state(s, ST_READY);
    snprintf(s->helo, sizeof s->helo, "%.*s", (int)cmd->arglen, cmd->arg);
    s->esmtp = cmd->verb == SMTP_EHLO;
    if (!s->esmtp) {
        reply(s, "250 %s", s->live->hostname);
        return;
    }
    struct buf *o = conn_out(s->c);
    buf_printf(o, "250-%s Hello %s\r\n", s->live->hostname, s->helo);
    buf_puts(o, "250-PIPELINING\r\n");
    buf_printf(o, "250-SIZE %llu\r\n", (unsigned long long)s->live->max_message_size);
    if (!conn_is_tls(s->c) && tls_available())
        buf_puts(o, "250-STARTTLS\r\n");
    if (auth_offered(s) && !s->authed && plaintext_ok(s))
        buf_puts(o, "250-AUTH PLAIN LOGIN\r\n");
    buf_puts(o, "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
                "250-CHUNKING\r\n250 DSN\r\n");
    conn_flush_later(s->c);
}

/* ---- MAIL --------------------------------------------------------------------- */

/* The MAIL command passed every check: the transaction starts. */
static void accept_mail(struct session *s, const struct smtp_cmd *cmd)
{
    str_copy(s->sender, sizeof s->sender, cmd->path);
    s->null_sender = cmd->null_path;
    s->smtputf8 = cmd->smtputf8;
    s->body_8bit = cmd->body == SMTP_BODY_8BITMIME;
    s->ret = cmd->ret == SMTP_RET_FULL ? QUEUE_RET_FULL
             : cmd->ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS : QUEUE_RET_DEFAULT;
    s->has_envid = cmd->has_envid;
    str_copy(s->envid, sizeof s->envid, cmd->envid);
    /* RFC 4954 section 5: who submitted the message. An unauthenticated
     * client's claim is not trusted: the message is treated as AUTH=<>
     * (its value only logged). An authenticated session's message was
     * submitted by the authenticated identity, whatever AUTH= says. */
    if (s->authed) {
        str_copy(s->auth_id, sizeof s->auth_id, s->user);
    } else {
        s->auth_id[0] = '\0';
        if (cmd->has_auth && cmd->auth[0])
            log_info("%s %s MAIL AUTH=<%s> from an unauthenticated client: taken as AUTH=<>",
                     conn_tag(s->c), conn_peer(s->c), cmd->auth);
    }
    enter_state(s, ST_MAIL);
    reply(s, "250 2.1.0 Ok");
}

/* The sender check of an authenticated session: the reverse-path must be
 * one of the user's own addresses (the refusal Postfix calls
 * reject_sender_login_mismatch). */
static void sender_refused(struct session *s, const struct smtp_cmd *cmd)
{
    log_info("%s %s MAIL <%s> refused: not owned by user %s", conn_tag(s->c), conn_peer(s->c),
             cmd->path, s->user);
    reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", cmd->path,
          s->user);
}

/* Keep a copy of cmd for a check that answers later (on the pool, or at
 * once from a cache through the same done function), with a reference to
 * the connection that the done function lets go. false (452 sent) when
 * there is no memory for it. */
static bool pending_set(struct session *s, const struct smtp_cmd *cmd)
{
    struct smtp_cmd *copy = malloc(sizeof *copy);
    if (!copy) {
        reply(s, "452 4.3.1 Insufficient system storage");
        return false;
    }
    *copy = *cmd;
    s->pending = copy;
    conn_hold(s->c);
    return true;
}

/* On the loop thread, when a command's pool work is done: the command
 * it was for, or NULL when the client left meanwhile (then the command
 * and the pool's reference to the connection are let go here). */
static struct smtp_cmd *pending_take(struct session *s)
{
    struct smtp_cmd *cmd = s->pending;
    s->pending = NULL;
    if (conn_is_closed(s->c)) {
        free(cmd);
        conn_release(s->c);
        return NULL;
    }
    return cmd;
}

static void sender_work(void *arg)
{
    struct session *s = arg;
    s->result = smtp_sender_owned(s->live, s->user, s->pending->path);
}

static void sender_done(void *arg)
{
    struct session *s = arg;
    struct smtp_cmd *cmd = pending_take(s);
    if (!cmd)
        return;
    if (s->result < 0) {
        log_err("%s %s sender check failed: %s", conn_tag(s->c), conn_peer(s->c),
                op_strerror(s->result));
        reply(s, "451 4.3.0 Temporary failure checking the sender, try again later");
    } else if (s->result == 1) {
        accept_mail(s, cmd);
    } else {
        sender_refused(s, cmd);
    }
    free(cmd);
    conn_resume(s->c);
    conn_release(s->c);                      /* last: it may free the session */
}

static void cmd_mail(struct session *s, struct smtp_cmd *cmd)
{
    if (auth_offered(s) && !s->authed) {
        /* RFC 6409 section 4.3 / RFC 4954 section 6. */
        reply(s, "530 5.7.0 Authentication required");
        return;
    }
    if (cmd->has_size && cmd->size > s->live->max_message_size) {
        /* RFC 1870 section 6.1. */
        reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
        return;
    }
    if (cmd->path_utf8 && !cmd->smtputf8) {
        /* RFC 6531 section 3.4. */
        reply(s, "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter");
        return;
    }
    /* The null reverse-path belongs to anyone: notifications and
     * auto-replies use it (RFC 5321 section 4.5.5). */
    int owned = !s->authed || !s->live->sender_check || cmd->null_path
                    ? 1 : smtp_sender_quick(s->live, s->user, cmd->path);
    if (owned == 1) {
        accept_mail(s, cmd);
        return;
    }
    if (owned == 0) {
        sender_refused(s, cmd);
        return;
    }
    /* Resolved as a recipient would be, on the pool (RFC 6409 section
     * 6.1: the submission server may check the sender against the
     * authenticated user). */
    if (!pending_set(s, cmd))
        return;
    conn_pause(s->c);
    pool_submit(conn_loop(s->c), sender_work, sender_done, s);
}

/* ---- RCPT --------------------------------------------------------------------- */

static void rcpt_work(void *arg)
{
    struct session *s = arg;
    s->result = smtp_rcpt_resolve(s->live, s->pending->path, s->resolved);
}

static bool add_rcpt(struct session *s, const char *addr, bool local, const struct smtp_cmd *cmd)
{
    /* The same mailbox twice (an alias and its target): one copy. */
    for (size_t i = 0; i < s->nrcpts; i++)
        if (s->rcpts[i].local == local && strcmp(s->rcpts[i].addr, addr) == 0)
            return true;
    if (s->nrcpts == s->rcap) {
        size_t ncap = s->rcap ? s->rcap * 2 : 4;
        struct queue_rcpt *n = realloc(s->rcpts, ncap * sizeof *n);
        if (!n)
            return false;
        s->rcpts = n;
        s->rcap = ncap;
    }
    struct queue_rcpt *r = &s->rcpts[s->nrcpts++];
    memset(r, 0, sizeof *r);
    str_copy(r->addr, sizeof r->addr, addr);
    str_copy(r->orcpt, sizeof r->orcpt, cmd->orcpt);
    r->notify = cmd->notify;
    r->local = local;
    if (!local)
        s->any_remote = true;
    return true;
}

static void rcpt_done(void *arg)
{
    struct session *s = arg;
    struct smtp_cmd *cmd = pending_take(s);
    if (!cmd)
        return;
    int r = s->result;
    const char *addr = cmd->path;
    if (r < 0) {
        log_err("%s %s recipient check failed: %s", conn_tag(s->c), conn_peer(s->c),
                op_strerror(r));
        reply(s, "451 4.3.0 Temporary failure checking the recipient, try again later");
    } else if (r == SMTP_RCPT_UNKNOWN) {
        log_info("%s %s RCPT <%s> refused: no such user", conn_tag(s->c), conn_peer(s->c), addr);
        reply(s, "550 5.1.1 <%s>: Recipient address rejected: no such user here", addr);
    } else if (r == SMTP_RCPT_FOREIGN && !s->authed) {
        /* RFC 5321 section 3.9 / 7.1: no open relay. */
        log_info("%s %s RCPT <%s> refused: relaying denied", conn_tag(s->c), conn_peer(s->c), addr);
        reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
    } else {
        bool local = r == SMTP_RCPT_LOCAL;
        if (!add_rcpt(s, local ? s->resolved : addr, local, cmd)) {
            reply(s, "452 4.3.1 Insufficient system storage");
        } else {
            s->accepted++;
            enter_state(s, ST_RCPT);
            reply(s, "250 2.1.5 Ok");
        }
    }
    free(cmd);
    conn_resume(s->c);
    conn_release(s->c);                      /* last: it may free the session */
}

static void cmd_rcpt(struct session *s, struct smtp_cmd *cmd)
{
    if (s->accepted >= s->live->max_recipients) {
        /* RFC 5321 4.5.3.1.10: 452 and the client sends the rest later. */
        reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    if (cmd->path_utf8 && !s->smtputf8) {
        reply(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8 on MAIL");
        return;
    }
    if (cmd->postmaster) {
        /* RFC 5321 4.5.1: <Postmaster> without a domain is ours. */
        snprintf(cmd->path, sizeof cmd->path, "postmaster@%s", s->live->default_domain);
    }
    bool cached = smtp_rcpt_cached(s->live, cmd->path, s->resolved);
    if (!pending_set(s, cmd))
        return;
    if (cached) {
        /* Answered without the pool: same code path as rcpt_done. */
        s->result = SMTP_RCPT_LOCAL;
        rcpt_done(s);
        return;
    }
    conn_pause(s->c);
    pool_submit(conn_loop(s->c), rcpt_work, rcpt_done, s);
}

/* ---- the message: DATA and BDAT -------------------------------------------------- */

/* RFC 5321 section 4.4: the trace header this server adds; with the
 * protocol names of RFC 3848 and RFC 6531 section 3.7.3. */
static void add_received(struct session *s)
{
    const char *proto = s->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP";
    bool tls = conn_is_tls(s->c);
    const char *suffix = tls && s->authed ? "SA" : tls ? "S" : s->authed ? "A" : "";
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *ip = conn_peer_ip(s->c);
    bool v6 = strchr(ip, ':') != NULL;
    buf_printf(&s->msg, "Received: from %s ([%s%s])\r\n\tby %s (outpost) with %s%s",
               s->helo[0] ? s->helo : "unknown", v6 ? "IPv6:" : "", ip, s->live->hostname,
               proto, suffix);
    /* One recipient is named; more would disclose the others (RFC 5321 7.2). */
    if (s->nrcpts == 1)
        buf_printf(&s->msg, "\r\n\tfor <%s>", s->rcpts[0].addr);
    buf_printf(&s->msg, "; %s\r\n", date);
}

static void start_message(struct session *s, bool dot)
{
    buf_free(&s->msg);
    add_received(s);
    smtp_body_init(&s->body, dot, s->live->max_message_size);
}

static void queue_work(void *arg)
{
    struct session *s = arg;
    struct queue_envelope env = {
        .sender = s->null_sender ? "" : s->sender,
        .rcpts = s->rcpts,
        .nrcpts = s->nrcpts,
        .envid = s->has_envid ? s->envid : NULL,
        .ret = s->ret,
        .body_8bit = s->body_8bit,
        .smtputf8 = s->smtputf8,
        .client = conn_peer(s->c),
    };
    s->qid[0] = '\0';
    s->result = queue_submit(&env, buf_ptr(&s->msg), buf_len(&s->msg), s->qid);
}

static void queue_done(void *arg)
{
    struct session *s = arg;
    struct conn *c = s->c;
    if (conn_is_closed(c)) {
        /* Queued or not, the client never heard: it will send it again
         * (RFC 5321 section 6.1 allows the duplicate, not the loss). */
        if (s->result == 0)
            log_warn("%s %s %s queued, but the client left before the reply", conn_tag(c),
                     conn_peer(c), s->qid);
        conn_release(c);
        return;
    }
    if (s->result == 0) {
        log_info("%s %s %s queued: from=<%s> auth=<%s> rcpts=%zu size=%zu", conn_tag(c),
                 conn_peer(c), s->qid, s->sender, s->auth_id, s->nrcpts, buf_len(&s->msg));
        reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
        if (s->any_remote && s->live->on_queued)
            s->live->on_queued();
    } else {
        log_err("%s %s message not queued: %s", conn_tag(c), conn_peer(c), op_strerror(s->result));
        if (s->result == -ENOSPC || s->result == -EDQUOT)
            reply(s, "452 4.3.1 Insufficient system storage");
        else
            reply(s, "451 4.3.0 Error: queue file write error, try again later");
    }
    enter_state(s, ST_READY);
    conn_resume(c);
    conn_release(c);                          /* last: it may free the session */
}

/* The body is complete: refuse it, or hand it to the queue. */
static void end_message(struct session *s)
{
    const char *refusal = smtp_body_refusal(&s->body);
    if (refusal) {
        log_info("%s %s message refused: %s", conn_tag(s->c), conn_peer(s->c), refusal);
        reply(s, "%s", refusal);
        enter_state(s, ST_READY);
        return;
    }
    enter_state(s, ST_RCPT);                  /* lines again, once resumed */
    conn_pause(s->c);
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), queue_work, queue_done, s);
}

static void cmd_data(struct session *s, struct smtp_cmd *cmd)
{
    start_message(s, true);
    enter_state(s, ST_DATA);
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* A BDAT chunk has been read whole. */
static void chunk_done(struct session *s)
{
    if (s->chunk_refusal) {
        const char *r = s->chunk_refusal;
        s->chunk_refusal = NULL;
        enter_state(s, s->chunk_prev);
        error_reply(s, r);
        return;
    }
    if (s->chunk_last) {
        smtp_body_finish(&s->body, &s->msg);
        end_message(s);
        return;
    }
    /* RFC 3030 section 2: a failure that dooms the message is reported at
     * the chunk where it happens; the rest of the message gets 503. */
    if (s->body.flags & (SMTP_BODY_TOO_BIG | SMTP_BODY_NOMEM)) {
        reply(s, "%s", smtp_body_refusal(&s->body));
        enter_state(s, ST_READY);
        return;
    }
    enter_state(s, ST_CHUNKING);
    reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->body.size);
}

/* BDAT is handled in every state but DATA: its octets follow the command
 * whatever the answer, so they must be read (and dropped) even when it is
 * refused (RFC 3030 section 2). */
static void cmd_bdat(struct session *s, struct smtp_cmd *cmd)
{
    s->chunk_left = cmd->chunk;
    s->chunk_last = cmd->last;
    s->chunk_prev = s->state;
    s->chunk_refusal = NULL;
    if (s->state == ST_RCPT) {
        start_message(s, false);
    } else if (s->state == ST_MAIL) {
        s->chunk_refusal = "554 5.5.1 Error: no valid recipients";
    } else if (s->state != ST_CHUNKING) {
        s->chunk_refusal = s->state == ST_INIT ? "503 5.5.1 Error: send HELO/EHLO first"
                                               : "503 5.5.1 Error: need RCPT command";
    }
    enter_state(s, ST_BDAT);
    if (s->chunk_left == 0)
        chunk_done(s);
}

static size_t on_bytes(struct conn *c, const char *p, size_t len)
{
    struct session *s = conn_session(c);
    if (s->state == ST_DATA) {
        size_t used = smtp_body_feed(&s->body, &s->msg, p, len);
        if (s->body.done)
            end_message(s);
        return used;
    }
    if (s->state == ST_BDAT) {
        size_t take = len < s->chunk_left ? len : (size_t)s->chunk_left;
        if (!s->chunk_refusal)
            smtp_body_feed(&s->body, &s->msg, p, take);
        s->chunk_left -= take;
        if (s->chunk_left == 0)
            chunk_done(s);
        return take;
    }
    return 0;
}

/* ---- AUTH (RFC 4954) -------------------------------------------------------------- */

/* "alice" -> "alice@default.domain"; false if not a valid address. */
static bool set_user(struct session *s, const char *name, size_t len)
{
    char full[ADDRESS_MAX + 2];
    if (len == 0 || len >= ADDRESS_MAX)
        return false;
    if (memchr(name, '@', len))
        snprintf(full, sizeof full, "%.*s", (int)len, name);
    else if ((size_t)snprintf(full, sizeof full, "%.*s@%s", (int)len, name,
                              s->live->default_domain) >= sizeof full)
        return false;
    return address_normalize(full, s->user, sizeof s->user) == 0;
}

static void login_work(void *arg)
{
    struct session *s = arg;
    s->result = auth_login(s->live->datadir, s->user, s->password);
    explicit_bzero(s->password, sizeof s->password);
}

static void on_delay(struct loop_timer *t)
{
    struct session *s = (struct session *)((char *)t - offsetof(struct session, delay));
    reply(s, "535 5.7.8 Error: authentication failed");
    conn_resume(s->c);
}

static void login_done(void *arg)
{
    struct session *s = arg;
    struct conn *c = s->c;
    if (conn_is_closed(c)) {
        conn_release(c);
        return;
    }
    enter_state(s, ST_READY);
    if (s->result == 0) {
        throttle_success(conn_peer_addr(c));
        s->authed = true;
        log_info("%s %s authenticated as %s", conn_tag(c), conn_peer(c), s->user);
        reply(s, "235 2.7.0 Authentication successful");
        conn_resume(c);
    } else if (s->result == OP_E_AUTH) {
        unsigned ms = throttle_fail(conn_peer_addr(c));
        log_info("%s %s auth failed for %s", conn_tag(c), conn_peer(c), s->user);
        s->user[0] = '\0';
        s->errors++;
        /* The answer waits; each failure from this address waits longer. */
        loop_timer_arm(conn_loop(c), &s->delay, ms, on_delay);
    } else {
        log_err("%s %s auth for %s: %s", conn_tag(c), conn_peer(c), s->user,
                op_strerror(s->result));
        s->user[0] = '\0';
        reply(s, "454 4.7.0 Temporary authentication failure");
        conn_resume(c);
    }
    conn_release(c);
}

static void start_login(struct session *s, const char *pw)
{
    size_t len = strlen(pw);
    if (len == 0 || len >= sizeof s->password) {
        enter_state(s, ST_READY);
        reply(s, "535 5.7.8 Error: authentication failed");
        return;
    }
    memcpy(s->password, pw, len + 1);
    conn_pause(s->c);
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), login_work, login_done, s);
}

static void auth_abort(struct session *s, const char *line)
{
    enter_state(s, ST_READY);
    s->user[0] = '\0';
    error_reply(s, line);
}

static void sasl_plain(struct session *s, const char *b64, size_t len)
{
    char authzid[SASL_FIELD_MAX], authcid[SASL_FIELD_MAX], pw[SASL_FIELD_MAX];
    if (sasl_plain_decode(b64, len, authzid, authcid, pw) < 0) {
        explicit_bzero(pw, sizeof pw);
        auth_abort(s, "501 5.5.2 Error: invalid SASL PLAIN response");
        return;
    }
    if ((authzid[0] && strcmp(authzid, authcid) != 0) || !set_user(s, authcid, strlen(authcid))) {
        /* Acting for another user is not offered: a failed login, still
         * hashed so that the answer takes the usual time. */
        str_copy(s->user, sizeof s->user, "invalid@invalid");
    }
    start_login(s, pw);
    explicit_bzero(pw, sizeof pw);
}

/* One LOGIN step: the response decoded (base64 of the user, then of the
 * password; the mechanism is the de-facto one of draft-murchison-sasl-login). */
static void sasl_login(struct session *s, const char *b64, size_t len)
{
    unsigned char dec[SASL_FIELD_MAX];
    int n = sasl_b64_decode(b64, len, dec, sizeof dec - 1);
    if (n < 0 || memchr(dec, '\0', (size_t)n)) {
        explicit_bzero(dec, sizeof dec);
        auth_abort(s, "501 5.5.2 Error: cannot decode the response");
        return;
    }
    dec[n] = '\0';
    if (s->sasl_step == 0) {
        if (!set_user(s, (const char *)dec, (size_t)n))
            str_copy(s->user, sizeof s->user, "invalid@invalid");
        s->sasl_step = 1;
        reply(s, "334 UGFzc3dvcmQ6");           /* "Password:" */
        return;
    }
    start_login(s, (const char *)dec);
    explicit_bzero(dec, sizeof dec);
}

static void sasl_response(struct session *s, const char *line, size_t len)
{
    if (len == 1 && line[0] == '*') {
        /* RFC 4954 section 4: the client cancels. */
        auth_abort(s, "501 5.7.0 Authentication cancelled");
        return;
    }
    if (s->mech == MECH_PLAIN)
        sasl_plain(s, line, len);
    else
        sasl_login(s, line, len);
}

static void cmd_auth(struct session *s, struct smtp_cmd *cmd)
{
    if (!auth_offered(s)) {
        error_reply(s, "503 5.5.1 Error: authentication not enabled");
        return;
    }
    if (s->authed) {
        error_reply(s, "503 5.5.1 Error: already authenticated");
        return;
    }
    if (!plaintext_ok(s)) {
        reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
        return;
    }
    if (str_ieq(cmd->arg, cmd->arglen, "PLAIN"))
        s->mech = MECH_PLAIN;
    else if (str_ieq(cmd->arg, cmd->arglen, "LOGIN"))
        s->mech = MECH_LOGIN;
    else {
        reply(s, "504 5.5.4 Unrecognized authentication type");
        return;
    }
    s->sasl_step = 0;
    enter_state(s, ST_AUTH);
    if (cmd->arg2) {
        sasl_response(s, cmd->arg2len ? cmd->arg2 : "", cmd->arg2len);
        return;
    }
    reply(s, s->mech == MECH_PLAIN ? "334 " : "334 VXNlcm5hbWU6");   /* "Username:" */
}

/* ---- the rest ------------------------------------------------------------------------ */

static void cmd_rset(struct session *s, struct smtp_cmd *cmd)
{
    if (s->state != ST_INIT)
        enter_state(s, ST_READY);
    reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, struct smtp_cmd *cmd)
{
    reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, struct smtp_cmd *cmd)
{
    reply(s, "221 2.0.0 Bye");
    conn_close(s->c);
}

/* RFC 5321 3.5.3: 252 when the server will not say; never whether a user
 * exists (that would be an address oracle for spammers). */
static void cmd_vrfy(struct session *s, struct smtp_cmd *cmd)
{
    reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct session *s, struct smtp_cmd *cmd)
{
    reply(s, "502 5.5.1 Error: EXPN not implemented");
}

static void cmd_help(struct session *s, struct smtp_cmd *cmd)
{
    reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP "
             "STARTTLS AUTH; see RFC 5321");
}

static void cmd_starttls(struct session *s, struct smtp_cmd *cmd)
{
    if (conn_is_tls(s->c)) {
        error_reply(s, "503 5.5.1 Error: TLS already active");
        return;
    }
    if (!tls_available()) {
        reply(s, "454 4.7.0 TLS not available");
        return;
    }
    reply(s, "220 2.0.0 Ready to start TLS");
    conn_starttls(s->c);
}

static void on_tls(struct conn *c)
{
    struct session *s = conn_session(c);
    /* RFC 3207 section 4.2: forget everything learnt before TLS; the client
     * starts over with EHLO. */
    s->authed = false;
    s->user[0] = '\0';
    enter_state(s, ST_INIT);
}

/* ---- dispatch ------------------------------------------------------------------------ */

#define IN(st) (1u << (st))
#define IN_SESSION (IN(ST_INIT) | IN(ST_READY) | IN(ST_MAIL) | IN(ST_RCPT) | IN(ST_CHUNKING))

struct command {
    enum smtp_verb verb;
    unsigned states;
    void (*fn)(struct session *s, struct smtp_cmd *cmd);
};

static const struct command commands[] = {
    {SMTP_HELO, IN(ST_INIT) | IN(ST_READY) | IN(ST_MAIL) | IN(ST_RCPT), cmd_helo},
    {SMTP_EHLO, IN(ST_INIT) | IN(ST_READY) | IN(ST_MAIL) | IN(ST_RCPT), cmd_helo},
    {SMTP_MAIL, IN(ST_READY), cmd_mail},
    {SMTP_RCPT, IN(ST_MAIL) | IN(ST_RCPT), cmd_rcpt},
    {SMTP_DATA, IN(ST_RCPT), cmd_data},
    {SMTP_BDAT, IN_SESSION, cmd_bdat},
    {SMTP_RSET, IN_SESSION, cmd_rset},
    {SMTP_NOOP, IN_SESSION, cmd_noop},
    {SMTP_QUIT, IN_SESSION, cmd_quit},
    {SMTP_VRFY, IN_SESSION, cmd_vrfy},
    {SMTP_EXPN, IN_SESSION, cmd_expn},
    {SMTP_HELP, IN_SESSION, cmd_help},
    {SMTP_STARTTLS, IN(ST_INIT) | IN(ST_READY), cmd_starttls},
    {SMTP_AUTH, IN(ST_READY), cmd_auth},
};

/* The 503 (or 554) for a command outside its states (RFC 5321 4.1.4, 3.3). */
static const char *out_of_sequence(const struct session *s, enum smtp_verb v)
{
    if (s->state == ST_CHUNKING)
        return "503 5.5.1 Error: BDAT transfer in progress (RSET to end it)";
    if (s->state == ST_INIT && v != SMTP_STARTTLS)
        return "503 5.5.1 Error: send HELO/EHLO first";
    switch (v) {
    case SMTP_MAIL:
        return "503 5.5.1 Error: nested MAIL command";
    case SMTP_RCPT:
        return "503 5.5.1 Error: need MAIL command";
    case SMTP_DATA:
        return s->state == ST_MAIL ? "554 5.5.1 Error: no valid recipients"
                                   : "503 5.5.1 Error: need RCPT command";
    case SMTP_AUTH:
        return "503 5.5.1 Error: AUTH not allowed during a mail transaction";
    case SMTP_STARTTLS:
        return "503 5.5.1 Error: STARTTLS not allowed during a mail transaction";
    default:
        return "503 5.5.1 Error: bad sequence of commands";
    }
}

static void on_line(struct conn *c, char *line, size_t len)
{
    struct session *s = conn_session(c);
    if (s->state == ST_AUTH) {
        sasl_response(s, line, len);
        explicit_bzero(line, len);
        return;
    }
    struct smtp_cmd cmd;
    int r = smtp_parse(line, len, &cmd);
    if (r < 0 && cmd.verb == SMTP_UNKNOWN) {
        error_reply(s, smtp_parse_reply(r, cmd.verb));
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (commands[i].verb != cmd.verb)
            continue;
        if (!(commands[i].states & IN(s->state)))
            error_reply(s, out_of_sequence(s, cmd.verb));
        else if (r < 0)
            error_reply(s, smtp_parse_reply(r, cmd.verb));
        else
            commands[i].fn(s, &cmd);
        if (cmd.verb == SMTP_AUTH)
            explicit_bzero(line, len);
        return;
    }
    error_reply(s, "500 5.5.2 Error: command not recognized");
}

static void on_open(struct conn *c)
{
    struct session *s = calloc(1, sizeof *s);
    struct smtp_live *live = smtp_live_get();
    if (!s || !live) {
        conn_printf(c, "421 4.3.0 Service not available\r\n");
        free(s);
        smtp_live_put(live);
        conn_close(c);
        return;
    }
    s->c = c;
    s->live = live;
    s->role = smtp_role(c);
    conn_set_session(c, s);
    enter_state(s, ST_INIT);
    /* RFC 5321 4.3.1; the greeting carries no enhanced code (RFC 2034 3). */
    reply(s, "220 %s ESMTP outpost", s->live->hostname);
}

static void on_too_long(struct conn *c)
{
    struct session *s = conn_session(c);
    if (s->state == ST_AUTH) {
        auth_abort(s, "500 5.5.6 Authentication exchange line is too long");
        return;
    }
    /* RFC 5321 4.5.3.1.10 */
    error_reply(s, "500 5.5.2 Error: line too long");
}

static void on_timeout(struct conn *c)
{
    struct session *s = conn_session(c);
    /* RFC 5321 4.5.3.2: a server that gives up sends 421 and closes. */
    reply(s, "421 4.4.2 %s Error: timeout exceeded", s->live->hostname);
}

static void on_shutdown(struct conn *c)
{
    struct session *s = conn_session(c);
    reply(s, "421 4.3.2 %s Service shutting down, closing transmission channel",
          s->live->hostname);
}

static void on_close(struct conn *c)
{
    struct session *s = conn_session(c);
    if (!s)
        return;
    if (s->state == ST_DATA || s->state == ST_BDAT || s->state == ST_CHUNKING)
        log_info("%s %s left during a message: nothing delivered", conn_tag(c), conn_peer(c));
    loop_timer_cancel(conn_loop(c), &s->delay);
    explicit_bzero(s->password, sizeof s->password);
    free(s->pending);
    clear_transaction(s);
    smtp_live_put(s->live);
    free(s);
}

const struct conn_ops smtp_ops = {
    .on_open = on_open,
    .on_line = on_line,
    .on_too_long = on_too_long,
    .on_tls = on_tls,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
    .on_bytes = on_bytes,
};
