/*
 * session.c - the FTP control connection: replies in the form of RFC 959
 * section 4.2, the dispatcher, and the commands valid in every state.
 *
 * States: before login (only ftp_prelogin[] of prelogin.c is reachable;
 * every other known verb gets 530) and logged in (ftp_postlogin[] of
 * postlogin.c, which repeats the common commands). While a transfer runs
 * the control connection keeps being read, so ABOR, STAT, NOOP and QUIT
 * are answered at once (RFC 959 section 4.1.3); other commands are
 * refused with 503 until it ends, so that no reply can be taken for the
 * transfer's own 226.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "ftp/list.h"
#include "ftp/session.h"
#include "ftp/usage.h"
#include "net/pool.h"
#include "net/tls.h"

enum { MAX_ERRORS = 30 };

/* ---- replies ------------------------------------------------------------------ */

static void vreply(struct ftp_session *s, int code, const char *fmt, va_list ap)
{
    struct buf *out = conn_out(s->c);
    char text[FTP_VPATH_MAX + 256];
    vsnprintf(text, sizeof text, fmt, ap);
    /* A reply is one line: nothing from a client or a file name may add
     * another (the parser refuses CR and names with CR/LF are never shown;
     * this is the last guard). */
    for (char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    buf_printf(out, "%d %s\r\n", code, text);
    conn_flush_later(s->c);
}

void ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, code, fmt, ap);
    va_end(ap);
}

void ftp_error(struct ftp_session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, code, fmt, ap);
    va_end(ap);
    log_info("%s %s %s: %d", conn_tag(s->c), conn_peer(s->c), s->verb ? s->verb : "?", code);
    /* Only syntax and sequence errors count towards closing the session;
     * a missing file is an ordinary answer. */
    if (code >= 500 && code != 550 && code != 553 && code != 552 && ++s->errors >= MAX_ERRORS) {
        ftp_reply(s, 421, "Too many errors, closing the connection");
        log_info("%s %s closed after %u errors", conn_tag(s->c), conn_peer(s->c), s->errors);
        conn_close(s->c);
    }
}

/* RFC 959 section 4.2: "123-first line", text lines, "123 last line". A
 * text line that began with a code and a hyphen or space could be taken
 * for the end; every body line is indented by one SP, which RFC 959
 * suggests and every client accepts. */
void ftp_reply_multi(struct ftp_session *s, int code, const char *first, const char *body,
                     size_t bodylen, const char *last)
{
    struct buf *out = conn_out(s->c);
    buf_printf(out, "%d-%s\r\n", code, first);
    size_t i = 0;
    while (i < bodylen) {
        const char *nl = memchr(body + i, '\n', bodylen - i);
        size_t end = nl ? (size_t)(nl - body) : bodylen;
        size_t len = end - i;
        if (len > 0 && body[i + len - 1] == '\r')
            len--;
        buf_puts(out, " ");
        buf_append(out, body + i, len);
        buf_puts(out, "\r\n");
        i = end + 1;
    }
    buf_printf(out, "%d %s\r\n", code, last);
    conn_flush_later(s->c);
}

bool ftp_vpath(struct ftp_session *s, const struct ftp_cmd *cmd, char out[FTP_VPATH_MAX])
{
    if (ftp_path_join(s->cwd, cmd->arg, cmd->arglen, out, FTP_VPATH_MAX) < 0) {
        ftp_error(s, 553, "File name too long");
        return false;
    }
    return true;
}

bool ftp_set_str(char **dst, const char *src)
{
    char *p = strdup(src);
    if (!p)
        return false;
    free(*dst);
    *dst = p;
    return true;
}

bool ftp_set_strf(char **dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p;
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    free(*dst);
    *dst = p;
    return true;
}

/* ---- work on the pool -------------------------------------------------------- */

struct pool_job {
    struct ftp_session *s;
    void (*work)(void *);
    void (*done)(struct ftp_session *);
};

static void job_work(void *arg)
{
    struct pool_job *j = arg;
    j->work(j->s);
}

static void job_done(void *arg)
{
    struct pool_job *j = arg;
    struct conn *c = j->s->c;
    if (!conn_is_closed(c))
        j->done(j->s);
    else
        j->s->result = -ECONNRESET;
    free(j);
    conn_release(c);                     /* last: it may free the session */
}

bool ftp_on_pool(struct ftp_session *s, void (*work)(void *), void (*done)(struct ftp_session *))
{
    struct pool_job *j = malloc(sizeof *j);
    if (!j) {
        ftp_reply(s, 451, "Out of memory, try again");
        return false;
    }
    *j = (struct pool_job){s, work, done};
    conn_pause(s->c);
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), job_work, job_done, j);
    return true;
}

/* ---- state ------------------------------------------------------------------ */

void ftp_logout(struct ftp_session *s)
{
    if (s->usage) {
        /* An upload cut short by the session's end: the file it replaces
         * stays (its own bytes are given back by the transfer thread). */
        if (s->x.temp) {
            ftp_usage_debit(s->usage, s->x.credited);
            if (s->x.finishing)          /* ended well, then could not be kept */
                ftp_usage_credit(s->usage, s->x.bytes);
        }
        ftp_usage_put(s->usage);
        s->usage = NULL;
    }
    s->x.credited = 0;
    if (s->data) {
        ftp_data_free(s->data);          /* aborts a transfer without callback */
        s->data = NULL;
    }
    if (s->x.fd >= 0) {
        close(s->x.fd);
        s->x.fd = -1;
    }
    if (s->x.dfd >= 0) {
        if (s->x.temp)
            unlinkat(s->x.dfd, s->x.tmpname, 0);
        close(s->x.dfd);
        s->x.dfd = -1;
    }
    s->x.active = false;
    s->x.temp = false;
    buf_free(&s->x.list);
    if (s->root >= 0) {
        close(s->root);
        s->root = -1;
    }
    s->logged_in = false;
    s->have_user = false;
    s->anonymous = false;
    free(s->rnfr);
    s->rnfr = NULL;
    free(s->op);                         /* a command whose client left meanwhile */
    s->op = NULL;
    free(s->x.name);
    s->x.name = NULL;
    free(s->x.open_msg);
    s->x.open_msg = NULL;
    free(s->x.lpath);
    s->x.lpath = NULL;
    free(s->x.lprefix);
    s->x.lprefix = NULL;
    s->rest = 0;
    s->ascii = false;
    s->epsv_all = false;
    s->facts = FTP_FACT_ALL;
    free(s->cwd);
    s->cwd = NULL;
}

/* ---- commands of every state ------------------------------------------------------- */

void ftp_cmd_quit(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (s->data && ftp_data_busy(s->data))
        ftp_data_abort(s->data);
    if (s->logged_in)
        log_info("%s %s logout %s", conn_tag(s->c), conn_peer(s->c),
                 s->anonymous ? "anonymous" : s->user);
    ftp_reply(s, 221, "Goodbye");
    conn_close(s->c);
}

void ftp_cmd_noop(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_reply(s, 200, "NOOP ok");
}

/* RFC 959 SYST; "UNIX Type: L8" is what clients look for to parse LIST
 * output as ls -l. */
void ftp_cmd_syst(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_reply(s, 215, "UNIX Type: L8");
}

/* RFC 2389 section 3.2: each feature on its own line, indented by one SP. */
void ftp_cmd_feat(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    char facts[96], mlst[120];
    ftp_facts_format(s->facts, true, facts, sizeof facts);
    snprintf(mlst, sizeof mlst, "MLST %s", facts);
    struct buf body = BUF_INIT;
    if (tls_available())
        buf_puts(&body, "AUTH TLS\nPBSZ\nPROT\n");
    buf_printf(&body, "EPRT\nEPSV\nHOST\nMDTM\n%s\nREST STREAM\nSIZE\nTVFS\nUTF8\n", mlst);
    ftp_reply_multi(s, 211, "Extensions supported:", buf_ptr(&body), buf_len(&body) - 1, "End");
    buf_free(&body);
}

/* RFC 2389 section 4 OPTS; RFC 2640 OPTS UTF8; RFC 3659 section 7.9
 * OPTS MLST. */
void ftp_cmd_opts(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    const char *a = cmd->arg;
    const char *sp = strchr(a, ' ');
    size_t vlen = sp ? (size_t)(sp - a) : cmd->arglen;
    const char *opt = sp ? sp + 1 : "";
    if (str_ieq(a, vlen, "UTF8") || str_ieq(a, vlen, "UTF-8")) {
        /* Names are passed as the bytes they are, which is UTF-8 for
         * every client that asks: always on. */
        if (!*opt || str_ieq(opt, strlen(opt), "ON"))
            ftp_reply(s, 200, "UTF8 mode enabled");
        else if (str_ieq(opt, strlen(opt), "OFF"))
            ftp_reply(s, 200, "Names are sent as they are stored (UTF-8)");
        else
            ftp_error(s, 501, "OPTS UTF8 takes ON or OFF");
        return;
    }
    if (str_ieq(a, vlen, "MLST")) {
        s->facts = ftp_facts_parse(opt);
        char f[96];
        ftp_facts_format(s->facts, false, f, sizeof f);
        ftp_reply(s, 200, "MLST OPTS %s", f);
        return;
    }
    ftp_error(s, 501, "Option not understood");
}

static const struct ftp_command *find(const struct ftp_command *t, size_t n, enum ftp_verb v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].verb == v)
            return &t[i];
    return NULL;
}

/* RFC 959 HELP: 214, multi-line. */
void ftp_cmd_help(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (cmd->has_arg) {
        struct ftp_cmd c2;
        char line[16];
        snprintf(line, sizeof line, "%.4s", cmd->arg);
        if (ftp_parse(line, strlen(line), &c2) == FTP_PARSE_UNKNOWN || c2.verb == FTP_UNKNOWN) {
            ftp_error(s, 502, "Unknown command");
            return;
        }
        const struct ftp_command *e = find(ftp_postlogin, ftp_npostlogin, c2.verb);
        if (!e)
            e = find(ftp_prelogin, ftp_nprelogin, c2.verb);
        if (!e) {
            ftp_reply(s, 214, "%s is not implemented", ftp_verb_name(c2.verb));
            return;
        }
        ftp_reply(s, 214, "Syntax: %s", e->help);
        return;
    }
    struct buf body = BUF_INIT;
    size_t col = 0;
    for (int v = 0; v < FTP_UNKNOWN; v++) {
        if (!find(ftp_postlogin, ftp_npostlogin, (enum ftp_verb)v) &&
            !find(ftp_prelogin, ftp_nprelogin, (enum ftp_verb)v))
            continue;
        buf_printf(&body, "%-5s", ftp_verb_name((enum ftp_verb)v));
        if (++col % 10 == 0)
            buf_puts(&body, "\n");
    }
    ftp_reply_multi(s, 214, "The following commands are recognized:", buf_ptr(&body),
                    buf_len(&body), "Help OK");
    buf_free(&body);
}

/* RFC 959 REIN: back to the state after the greeting; a TLS control
 * connection stays TLS, protection settings go. */
void ftp_cmd_rein(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_logout(s);
    s->pbsz = false;
    s->prot_p = false;
    ftp_reply(s, 220, "Service ready for new user");
}

/* RFC 959 STAT: without an argument, the server's status (211); during a
 * transfer, its progress; with a path, that path's listing over the
 * control connection (postlogin.c). */
void ftp_cmd_stat(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (cmd->has_arg) {
        if (!s->logged_in) {
            ftp_error(s, 530, "Please login with USER and PASS");
            return;
        }
        if (s->x.active) {
            ftp_error(s, 503, "A transfer is in progress");
            return;
        }
        ftp_stat_path(s, cmd);
        return;
    }
    struct buf body = BUF_INIT;
    buf_printf(&body, "Connected to %s\n", conn_peer_ip(s->c));
    if (s->logged_in)
        buf_printf(&body, "Logged in as %s\n", s->anonymous ? "anonymous" : s->user);
    else
        buf_puts(&body, "Not logged in\n");
    buf_printf(&body, "TYPE: %s, STRUcture: File, MODE: Stream\n", s->ascii ? "ASCII" : "BINARY");
    buf_printf(&body, "Control connection %s; data protection %s\n",
               conn_is_tls(s->c) ? "TLS" : "plain", s->prot_p ? "private" : "clear");
    if (s->x.active && s->data)
        buf_printf(&body, "Transfer in progress: %llu bytes so far\n",
                   (unsigned long long)ftp_data_progress(s->data));
    else
        buf_puts(&body, "No data connection\n");
    ftp_reply_multi(s, 211, "outpost FTP server status:", buf_ptr(&body), buf_len(&body) - 1,
                    "End of status");
    buf_free(&body);
}

/* RFC 959 ABOR: during a transfer the transfer's own reply is 426 and
 * ABOR's is 226; otherwise 225 when a data connection was prepared (it is
 * closed), else 226. */
void ftp_cmd_abor(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (s->data && s->x.active && ftp_data_busy(s->data)) {
        ftp_data_abort(s->data);        /* on_done replies 426 */
        ftp_reply(s, 226, "Abort successful");
        return;
    }
    if (s->data && ftp_data_ready(s->data)) {
        ftp_data_abort(s->data);
        ftp_reply(s, 225, "Data connection closed, no transfer to abort");
        return;
    }
    ftp_reply(s, 226, "No transfer to abort");
}

/* RFC 4217 section 8: PBSZ 0 after AUTH. */
void ftp_cmd_pbsz(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (!conn_is_tls(s->c)) {
        ftp_error(s, 503, "PBSZ needs AUTH TLS first");
        return;
    }
    s->pbsz = true;
    ftp_reply(s, 200, "PBSZ=0");
}

/* RFC 4217 section 9: PROT C (clear) or P (private); S and E have no
 * meaning for TLS (536). */
void ftp_cmd_prot(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (!conn_is_tls(s->c) || !s->pbsz) {
        ftp_error(s, 503, "PROT needs AUTH TLS and PBSZ first");
        return;
    }
    if (cmd->code == 'C' || cmd->code == 'P') {
        s->prot_p = cmd->code == 'P';
        ftp_reply(s, 200, "Protection level set to %s", s->prot_p ? "Private" : "Clear");
        return;
    }
    ftp_error(s, 536, "PROT %c is not supported with TLS", cmd->code);
}

/* RFC 4217 section 6: CCC would send the rest of the session in clear
 * after a TLS login; refused. */
void ftp_cmd_ccc(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_error(s, 534, "CCC refused: the control connection stays protected");
}

/* ---- dispatch ------------------------------------------------------------------ */

/* During a transfer only these are answered (RFC 959 section 4.1.3: the
 * service commands that may come while a transfer runs). */
static bool allowed_during_transfer(enum ftp_verb v)
{
    return v == FTP_ABOR || v == FTP_STAT || v == FTP_NOOP || v == FTP_QUIT ||
           v == FTP_HELP || v == FTP_FEAT || v == FTP_SYST;
}

static void on_line(struct conn *c, char *line, size_t len)
{
    struct ftp_session *s = conn_session(c);
    /* One command struct per line; 4 KiB, so not on a loop's small stack
     * frame repeatedly: a session's own. */
    static _Thread_local struct ftp_cmd cmd;
    int r = ftp_parse(line, len, &cmd);
    s->verb = cmd.verb == FTP_UNKNOWN ? "unknown command" : ftp_verb_name(cmd.verb);
    bool pass = cmd.verb == FTP_PASS;
    if (pass)
        explicit_bzero(line, len);
    if (r < 0 && (cmd.verb == FTP_UNKNOWN || r == FTP_PARSE_NUL || r == FTP_PARSE_CR ||
                  r == FTP_PARSE_TOOLONG)) {
        const char *text;
        int code = ftp_parse_reply(r, &text);
        ftp_error(s, code, "%s", text);
        goto out;
    }
    const struct ftp_command *e = NULL;
    if (s->logged_in) {
        e = find(ftp_postlogin, ftp_npostlogin, cmd.verb);
    } else {
        e = find(ftp_prelogin, ftp_nprelogin, cmd.verb);
        if (!e) {
            ftp_error(s, 530, "Please login with USER and PASS");
            goto out;
        }
    }
    if (!e) {
        ftp_error(s, 502, "%s not implemented", ftp_verb_name(cmd.verb));
        goto out;
    }
    if (s->x.active && !allowed_during_transfer(cmd.verb)) {
        ftp_error(s, 503, "A transfer is in progress; wait for it or send ABOR");
        goto out;
    }
    if (r < 0) {
        const char *text;
        int code = ftp_parse_reply(r, &text);
        ftp_error(s, code, "%s", text);
        goto out;
    }
    /* RFC 959: RNTO must come right after RNFR. */
    if (cmd.verb != FTP_RNTO && s->rnfr) {
        free(s->rnfr);
        s->rnfr = NULL;
    }
    e->fn(s, &cmd);
out:
    if (pass)
        explicit_bzero(&cmd, sizeof cmd);
}

static void on_open(struct conn *c)
{
    struct ftp_session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_printf(c, "421 Out of memory\r\n");
        conn_close(c);
        return;
    }
    s->c = c;
    s->root = -1;
    s->x.fd = -1;
    s->x.dfd = -1;
    s->facts = FTP_FACT_ALL;
    s->live = ftp_live_get();
    conn_set_session(c, s);
    conn_oob_inline(c);
    ftp_reply(s, 220, "%s FTP server ready", s->live->hostname);
}

static void on_too_long(struct conn *c)
{
    struct ftp_session *s = conn_session(c);
    s->verb = "over-long line";
    ftp_error(s, 500, "Command line too long");
}

static void on_tls(struct conn *c)
{
    struct ftp_session *s = conn_session(c);
    log_debug("%s %s TLS established", conn_tag(c), conn_peer(c));
    (void)s;
}

static void on_timeout(struct conn *c)
{
    struct ftp_session *s = conn_session(c);
    ftp_reply(s, 421, "Timeout, closing the control connection");
}

static void on_shutdown(struct conn *c)
{
    struct ftp_session *s = conn_session(c);
    ftp_reply(s, 421, "Server shutting down");
}

static void on_close(struct conn *c)
{
    struct ftp_session *s = conn_session(c);
    if (!s)
        return;
    loop_timer_cancel(conn_loop(c), &s->delay);
    loop_timer_cancel(conn_loop(c), &s->keepalive);
    explicit_bzero(s->password, sizeof s->password);
    ftp_logout(s);
    ftp_live_put(s->live);
    free(s);
}

const struct conn_ops ftp_ops = {
    .on_open = on_open,
    .on_line = on_line,
    .on_too_long = on_too_long,
    .on_tls = on_tls,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};
