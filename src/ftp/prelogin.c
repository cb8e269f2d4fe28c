/*
 * prelogin.c - everything an FTP client can reach before it has logged in:
 * USER, PASS, ACCT, AUTH (RFC 4217), HOST (RFC 7151), and the harmless
 * commands of both states (QUIT, NOOP, SYST, FEAT, OPTS, HELP, PBSZ, PROT,
 * CCC, REIN, ABOR, STAT without an argument). The table at the bottom is
 * the whole list: any other verb is answered 530 by the dispatcher.
 *
 * Passwords: checked by auth_login() on the worker pool (a yescrypt hash
 * never runs on a loop thread), failures answered only after the
 * per-address delay of auth/throttle.h, and, as for POP3, accepted only
 * inside TLS unless the connection is loopback or the config allows it
 * (auth/policy.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/login.h"
#include "auth/throttle.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "ftp/session.h"
#include "ftp/usage.h"
#include "net/pool.h"
#include "net/tls.h"

static bool plaintext_ok(const struct ftp_session *s)
{
    return plaintext_allowed(s->live->plaintext, conn_is_tls(s->c), conn_is_loopback(s->c));
}

static bool is_anonymous_name(const char *name, size_t len)
{
    return str_ieq(name, len, "anonymous") || str_ieq(name, len, "ftp");
}

/* "alice" -> "alice@default.domain"; false if not a valid address. */
static bool set_user(struct ftp_session *s, const char *name, size_t len)
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

/* RFC 959 USER: 331 asks for the password; sending USER again starts over
 * (after a login too: the old session's state goes). */
void ftp_cmd_user(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (s->logged_in)
        ftp_logout(s);
    s->have_user = false;
    s->anonymous = false;
    if (is_anonymous_name(cmd->arg, cmd->arglen)) {
        if (!s->live->anonymous) {
            ftp_error(s, 530, "Anonymous login is not allowed here");
            return;
        }
        s->anonymous = true;
        s->have_user = true;
        ftp_reply(s, 331, "Anonymous login ok, send your e-mail address as password");
        return;
    }
    if (!plaintext_ok(s)) {
        /* RFC 4217 section 6: the server may refuse a login without
         * protection; 530 tells the client to use AUTH TLS first. */
        ftp_error(s, 530, "Log in inside TLS (AUTH TLS first)");
        return;
    }
    if (!set_user(s, cmd->arg, cmd->arglen)) {
        ftp_error(s, 501, "Invalid user name");
        return;
    }
    s->have_user = true;
    ftp_reply(s, 331, "Password required");
}

/* On the pool: the password, then the home (created on first login). */
static void login_work(void *arg)
{
    struct ftp_session *s = arg;
    int r = 0;
    if (!s->anonymous)
        r = auth_login(s->live->datadir, s->user, s->password);
    explicit_bzero(s->password, sizeof s->password);
    if (r < 0) {
        s->result = r;
        return;
    }
    char home[FTP_VPATH_MAX];
    r = ftp_home_path(s->live->datadir, s->anonymous ? NULL : s->user, home, sizeof home);
    if (r == 0) {
        r = ftp_jail_root(home, true);
        if (r >= 0) {
            s->root = r;
            r = 0;
            /* The quota's count, shared with the user's other sessions. */
            if (!s->anonymous && s->live->quota && !(s->usage = ftp_usage_get(s->user, s->root)))
                r = -ENOMEM;
        }
    }
    s->result = r;
}

static void on_delay(struct loop_timer *t)
{
    struct ftp_session *s = (struct ftp_session *)((char *)t - offsetof(struct ftp_session, delay));
    ftp_reply(s, 530, "Login incorrect");
    conn_resume(s->c);
}

static void login_done(struct ftp_session *s)
{
    struct conn *c = s->c;
    int r = s->result;
    if (r == 0) {
        if (!s->anonymous)
            throttle_success(conn_peer_addr(c));
        s->logged_in = true;
        s->data = ftp_data_new(c, &s->live->data);
        if (!s->data || !ftp_set_str(&s->cwd, "/")) {
            ftp_logout(s);
            ftp_reply(s, 421, "Out of memory, closing the connection");
            conn_close(c);
            return;
        }
        log_info("%s %s login %s%s", conn_tag(c), conn_peer(c),
                 s->anonymous ? "anonymous" : s->user, conn_is_tls(c) ? " (TLS)" : "");
        ftp_reply(s, 230, s->anonymous ? "Anonymous access granted, read only"
                                       : "Logged in, home directory is /");
        conn_resume(c);
        return;
    }
    s->have_user = false;
    if (r == OP_E_AUTH) {
        unsigned ms = throttle_fail(conn_peer_addr(c));
        log_info("%s %s auth failed for %s", conn_tag(c), conn_peer(c), s->user);
        /* The reply waits, the connection paused: each failure from this
         * address waits longer. on_delay answers and resumes. */
        loop_timer_arm(conn_loop(c), &s->delay, ms, on_delay);
        s->errors++;
        return;
    }
    log_err("%s %s login %s: cannot open the FTP home: %s", conn_tag(c), conn_peer(c),
            s->anonymous ? "anonymous" : s->user, op_strerror(r));
    ftp_reply(s, 421, "Cannot open your home directory, try again later");
    conn_close(c);
}

/* RFC 959 PASS: 230 logged in, 530 not. */
static void cmd_pass(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (!s->have_user) {
        ftp_error(s, 503, "Login with USER first");
        return;
    }
    if (!s->anonymous && !plaintext_ok(s)) {
        ftp_error(s, 530, "Log in inside TLS (AUTH TLS first)");
        return;
    }
    if (cmd->arglen >= sizeof s->password) {
        s->have_user = false;
        ftp_error(s, 530, "Login incorrect");
        return;
    }
    memcpy(s->password, cmd->arg, cmd->arglen);
    s->password[cmd->arglen] = '\0';
    ftp_on_pool(s, login_work, login_done);
}

/* RFC 959 ACCT: no accounts beyond the login here; 202 says it is not
 * needed. */
void ftp_cmd_acct(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_reply(s, 202, "No account needed");
}

/* RFC 4217 section 4: AUTH TLS (and its aliases TLS-C, SSL) upgrades the
 * control connection; 234 goes out in the clear, then the handshake. */
void ftp_cmd_auth(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (!str_ieq(cmd->arg, cmd->arglen, "TLS") && !str_ieq(cmd->arg, cmd->arglen, "TLS-C") &&
        !str_ieq(cmd->arg, cmd->arglen, "SSL")) {
        ftp_error(s, 504, "Only AUTH TLS is offered");
        return;
    }
    if (conn_is_tls(s->c)) {
        ftp_error(s, 503, "Already using TLS");
        return;
    }
    if (!tls_available()) {
        ftp_error(s, 431, "TLS is not available");
        return;
    }
    if (s->logged_in) {
        /* RFC 4217 section 4 allows AUTH after login, but a session that
         * sent its password in the clear gains little; keep it simple. */
        ftp_error(s, 503, "AUTH TLS must come before login");
        return;
    }
    ftp_reply(s, 234, "Proceed with TLS negotiation");
    /* What was said before TLS is forgotten (RFC 4217 section 4). */
    s->have_user = false;
    conn_starttls(s->c);
}

/* RFC 7151: HOST before USER selects the virtual host. There is one; any
 * name is accepted, but only before login (503 after USER or login). */
static void cmd_host(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (s->logged_in || s->have_user) {
        ftp_error(s, 503, "HOST must come before USER");
        return;
    }
    for (size_t i = 0; i < cmd->arglen; i++) {
        char ch = cmd->arg[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '[' || ch == ']' || ch == ':')) {
            ftp_error(s, 501, "Invalid host name");
            return;
        }
    }
    ftp_reply(s, 220, "Host accepted");
}

const struct ftp_command ftp_prelogin[] = {
    {FTP_USER, ftp_cmd_user, "USER <sp> username"},
    {FTP_PASS, cmd_pass, "PASS <sp> password"},
    {FTP_ACCT, ftp_cmd_acct, "ACCT <sp> account"},
    {FTP_AUTH, ftp_cmd_auth, "AUTH <sp> TLS"},
    {FTP_PBSZ, ftp_cmd_pbsz, "PBSZ <sp> 0"},
    {FTP_PROT, ftp_cmd_prot, "PROT <sp> C|P"},
    {FTP_CCC, ftp_cmd_ccc, "CCC"},
    {FTP_HOST, cmd_host, "HOST <sp> hostname"},
    {FTP_FEAT, ftp_cmd_feat, "FEAT"},
    {FTP_OPTS, ftp_cmd_opts, "OPTS <sp> command [options]"},
    {FTP_SYST, ftp_cmd_syst, "SYST"},
    {FTP_NOOP, ftp_cmd_noop, "NOOP"},
    {FTP_HELP, ftp_cmd_help, "HELP [<sp> command]"},
    {FTP_QUIT, ftp_cmd_quit, "QUIT"},
    {FTP_REIN, ftp_cmd_rein, "REIN"},
    {FTP_ABOR, ftp_cmd_abor, "ABOR"},
    {FTP_STAT, ftp_cmd_stat, "STAT [<sp> path]"},
};
const size_t ftp_nprelogin = ARRAY_LEN(ftp_prelogin);
