/*
 * session.c - the POP3 state machine (RFC 1939 section 3).
 *
 * States: AUTHORIZATION (after the greeting), TRANSACTION (after a good
 * login, with the mailbox locked), UPDATE (after QUIT in TRANSACTION: marked
 * messages are removed, and only then). A dropped connection never reaches
 * UPDATE, so it deletes nothing.
 *
 * Each command has one handler; the table at the bottom says in which states
 * it is allowed. Slow work (the password hash, the mailbox scan, the removal
 * of messages) runs on the worker pool while the connection is paused, so
 * pipelined commands (RFC 2449 PIPELINING) wait and replies keep their order.
 * The service's listeners and settings are wired up in server.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "auth/throttle.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/dotstuff.h"
#include "mail/maildir.h"
#include "mail/mindex.h"
#include "mail/mstore.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/pool.h"
#include "net/server.h"
#include "net/tls.h"
#include "pop3/parse.h"
#include "pop3/server.h"
#include "pop3/session.h"

/* ---- the session ---------------------------------------------------------- */

enum state { ST_AUTHORIZATION, ST_TRANSACTION, ST_UPDATE };
enum { MAX_ERRORS = 20, STREAM_CHUNK = 65536 };

struct session {
    struct conn *c;
    struct pop3_live *live;
    enum state state;
    unsigned errors;                  /* bad commands so far */

    char user[ADDRESS_MAX];           /* from USER, or the AUTH identity */
    bool have_user;
    bool sasl_wait;                   /* AUTH PLAIN sent "+ ", awaiting the response */

    /* TRANSACTION */
    char *root;                       /* Maildir root */
    int lock_fd;
    struct mindex_list box;
    unsigned char *deleted;           /* one flag per message */
    size_t ndeleted;
    uint64_t total_bytes;             /* of every message, deleted ones too */
    uint64_t deleted_bytes;

    /* a RETR or TOP being streamed */
    int fd;
    struct dotstuff stuffer;
    char *rdbuf;                      /* a chunk read on the pool (disk reads) */
    ssize_t rdlen;                    /* its length, or -errno */
    bool reading;                     /* a pool read is in flight */
    bool have_chunk;                  /* rdbuf holds a chunk not yet sent */
    unsigned pool_reads;              /* chunks of this message read on the pool */
    struct {                          /* a RETR/TOP whose file is opened on the pool */
        uint32_t num, lines;
        bool top;
        int fd, err;                  /* written on the pool */
    } opening;

    /* work on the pool */
    struct loop_timer delay;          /* failed-login slowdown */
    const char *verb;                 /* command being answered, for the log */
    char password[SASL_FIELD_MAX];    /* cleared as soon as it is checked */
    int result;
    uint32_t *expunge;
    size_t nexpunge;
};

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

/* Every -ERR to a command is logged with the command's name (never its
 * arguments: a mistyped line may hold a password). */
static void error_reply(struct session *s, const char *msg)
{
    reply(s, "-ERR %s", msg);
    log_info("%s %s %s: -ERR %s", conn_tag(s->c), conn_peer(s->c), s->verb ? s->verb : "?", msg);
    if (++s->errors >= MAX_ERRORS) {
        reply(s, "-ERR Too many errors, closing the connection");
        log_info("%s %s closed after %u errors", conn_tag(s->c), conn_peer(s->c), s->errors);
        conn_close(s->c);
    }
}

static bool plaintext_ok(const struct session *s)
{
    return plaintext_allowed(s->live->plaintext, conn_is_tls(s->c), conn_is_loopback(s->c));
}

/* The number of messages and their total size, without the deleted ones. */
static void maildrop_totals(const struct session *s, size_t *n, uint64_t *bytes)
{
    *n = s->box.n - s->ndeleted;
    *bytes = s->total_bytes - s->deleted_bytes;
}

/* Look up message number num (1-based); replies and returns NULL if it is
 * not a usable message (RFC 1939: deleted messages may not be referred to). */
static struct mindex_msg *message(struct session *s, uint32_t num)
{
    if (num == 0 || num > s->box.n) {
        error_reply(s, "No such message");
        return NULL;
    }
    if (s->deleted[num - 1]) {
        error_reply(s, "Message is deleted");
        return NULL;
    }
    return &s->box.msgs[num - 1];
}

/* ---- login: USER/PASS and AUTH PLAIN share this path ---------------------- */

static void close_mailbox(struct session *s)
{
    if (s->lock_fd >= 0) {
        mstore_unlock(s->lock_fd);
        s->lock_fd = -1;
    }
    mindex_list_free(&s->box);
    free(s->deleted);
    s->deleted = NULL;
    s->ndeleted = 0;
    s->total_bytes = 0;
    s->deleted_bytes = 0;
    free(s->root);
    s->root = NULL;
}

/* On the pool: check the password, then lock and scan the mailbox. */
static void login_work(void *arg)
{
    struct session *s = arg;
    int r = auth_login(s->live->datadir, s->user, s->password);
    explicit_bzero(s->password, sizeof s->password);
    if (r < 0) {
        s->result = r;
        return;
    }
    char root[4200];
    r = mstore_root(s->live->datadir, s->user, root, sizeof root);
    if (r == 0)
        r = maildir_create(root);
    if (r == 0) {
        s->lock_fd = mstore_lock(root);
        if (s->lock_fd < 0)
            r = s->lock_fd;
    }
    if (r == 0) {
        /* Leftovers of deliveries cut short by a crash; failure is harmless. */
        (void)maildir_clean_tmp(root, (long long)time(NULL), MAILDIR_TMP_MAX_AGE);
        r = mindex_sync(root, &s->box);
        if (r == 0) {
            s->root = strdup(root);
            s->deleted = calloc(s->box.n ? s->box.n : 1, 1);
            s->total_bytes = 0;
            for (size_t i = 0; i < s->box.n; i++)
                s->total_bytes += s->box.msgs[i].size;
            if (!s->root || !s->deleted)
                r = -ENOMEM;
        }
    }
    /* Anything half-done is undone on the loop thread (close_mailbox). */
    s->result = r;
}

static void login_finish(struct session *s);

static void on_delay(struct loop_timer *t)
{
    struct session *s = (struct session *)((char *)t - offsetof(struct session, delay));
    reply(s, "-ERR [AUTH] Authentication failed");
    conn_resume(s->c);
}

static void login_done(void *arg)
{
    struct session *s = arg;
    if (conn_is_closed(s->c)) {
        close_mailbox(s);
        conn_release(s->c);
        return;
    }
    login_finish(s);
    conn_release(s->c);
}

static void login_finish(struct session *s)
{
    struct conn *c = s->c;
    int r = s->result;
    if (r == 0) {
        throttle_success(conn_peer_addr(c));
        s->state = ST_TRANSACTION;
        size_t n;
        uint64_t bytes;
        maildrop_totals(s, &n, &bytes);
        log_info("%s %s login %s (%zu message%s)", conn_tag(c), conn_peer(c), s->user, n,
                 n == 1 ? "" : "s");
        reply(s, "+OK Logged in, %zu message%s (%llu octets)", n, n == 1 ? "" : "s",
              (unsigned long long)bytes);
        conn_resume(c);
        return;
    }
    close_mailbox(s);
    s->have_user = false;
    if (r == OP_E_AUTH) {
        unsigned ms = throttle_fail(conn_peer_addr(c));
        log_info("%s %s auth failed for %s", conn_tag(c), conn_peer(c), s->user);
        /* The reply waits: each failure from this address waits longer. */
        loop_timer_arm(conn_loop(c), &s->delay, ms, on_delay);
        s->errors++;
        return;
    }
    if (r == OP_E_LOCKED) {
        log_info("%s %s login %s refused: mailbox in use", conn_tag(c), conn_peer(c), s->user);
        reply(s, "-ERR [IN-USE] Mailbox is in use by another session");
    } else {
        log_err("%s %s login %s: cannot open the mailbox: %s", conn_tag(c), conn_peer(c),
                s->user, op_strerror(r));
        reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later");
    }
    conn_resume(c);
}

/* Start a login with s->user and the password (cleared after copying). */
static void start_login(struct session *s, const char *password, size_t len)
{
    if (len >= sizeof s->password) {
        error_reply(s, "[AUTH] Authentication failed");
        return;
    }
    memcpy(s->password, password, len);
    s->password[len] = '\0';
    conn_pause(s->c);
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), login_work, login_done, s);
}

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

/* ---- commands ------------------------------------------------------------- */

static void cmd_capa(struct session *s, const struct pop3_cmd *cmd)
{
    struct buf *o = conn_out(s->c);
    buf_puts(o, "+OK Capability list follows\r\n");
    buf_puts(o, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (s->state == ST_AUTHORIZATION) {
        if (plaintext_ok(s))
            buf_puts(o, "USER\r\nSASL PLAIN\r\n");
        if (!conn_is_tls(s->c) && tls_available())
            buf_puts(o, "STLS\r\n");
    }
    buf_puts(o, "IMPLEMENTATION outpost\r\n.\r\n");
    conn_flush_later(s->c);
}

static void cmd_stls(struct session *s, const struct pop3_cmd *cmd)
{
    if (conn_is_tls(s->c)) {
        error_reply(s, "Already using TLS");
        return;
    }
    if (!tls_available()) {
        error_reply(s, "TLS is not available");
        return;
    }
    reply(s, "+OK Begin TLS negotiation");
    /* RFC 2595 section 4: what was said before TLS is forgotten. */
    s->have_user = false;
    conn_starttls(s->c);
}

static void cmd_user(struct session *s, const struct pop3_cmd *cmd)
{
    if (!plaintext_ok(s)) {
        error_reply(s, "[AUTH] Plaintext authentication is disallowed without TLS (use STLS)");
        return;
    }
    if (!set_user(s, cmd->arg, cmd->arglen)) {
        s->have_user = false;
        error_reply(s, "Invalid user name");
        return;
    }
    s->have_user = true;
    reply(s, "+OK Send the password");
}

static void cmd_pass(struct session *s, const struct pop3_cmd *cmd)
{
    if (!s->have_user) {
        error_reply(s, "Send USER first");
        return;
    }
    if (!plaintext_ok(s)) {
        error_reply(s, "[AUTH] Plaintext authentication is disallowed without TLS (use STLS)");
        return;
    }
    start_login(s, cmd->arg, cmd->arglen);
}

static void cmd_apop(struct session *s, const struct pop3_cmd *cmd)
{
    error_reply(s, "APOP is not offered: it needs passwords kept in clear");
}

/* RFC 5034 with RFC 4616: the response is base64 of authzid NUL authcid NUL
 * password; "=" is an empty initial response, "*" cancels. */
static void sasl_plain(struct session *s, const char *b64, size_t len)
{
    char authzid[SASL_FIELD_MAX], authcid[SASL_FIELD_MAX], pw[SASL_FIELD_MAX];
    if (len == 1 && b64[0] == '*') {
        error_reply(s, "Authentication cancelled");
        return;
    }
    if (len == 1 && b64[0] == '=')
        len = 0;
    if (sasl_plain_decode(b64, len, authzid, authcid, pw) < 0) {
        explicit_bzero(pw, sizeof pw);
        error_reply(s, "Invalid SASL PLAIN response");
        return;
    }
    if ((authzid[0] && strcmp(authzid, authcid) != 0) || !set_user(s, authcid, strlen(authcid))) {
        /* Acting as another user is not offered: treat as a failed login,
         * still hashing so the reply takes the usual time. */
        s->user[0] = '\0';
        snprintf(s->user, sizeof s->user, "invalid@invalid");
    }
    start_login(s, pw, strlen(pw));
    explicit_bzero(pw, sizeof pw);
}

static void cmd_auth(struct session *s, const struct pop3_cmd *cmd)
{
    if (cmd->arglen == 0) {
        /* Listing the mechanisms on a bare AUTH is a common extension. */
        reply(s, "+OK Mechanisms follow");
        if (plaintext_ok(s))
            reply(s, "PLAIN");
        reply(s, ".");
        return;
    }
    if (!str_ieq(cmd->arg, cmd->arglen, "PLAIN")) {
        error_reply(s, "Unsupported authentication mechanism");
        return;
    }
    if (!plaintext_ok(s)) {
        error_reply(s, "[AUTH] Plaintext authentication is disallowed without TLS (use STLS)");
        return;
    }
    if (cmd->arg2) {
        sasl_plain(s, cmd->arg2, cmd->arg2len);
        return;
    }
    s->sasl_wait = true;
    reply(s, "+ ");
}

static void cmd_stat(struct session *s, const struct pop3_cmd *cmd)
{
    size_t n;
    uint64_t bytes;
    maildrop_totals(s, &n, &bytes);
    reply(s, "+OK %zu %llu", n, (unsigned long long)bytes);
}

static void cmd_list(struct session *s, const struct pop3_cmd *cmd)
{
    if (cmd->nnum == 1) {
        struct mindex_msg *m = message(s, cmd->num[0]);
        if (m)
            reply(s, "+OK %u %llu", cmd->num[0], (unsigned long long)m->size);
        return;
    }
    size_t n;
    uint64_t bytes;
    maildrop_totals(s, &n, &bytes);
    struct buf *o = conn_out(s->c);
    buf_printf(o, "+OK %zu message%s (%llu octets)\r\n", n, n == 1 ? "" : "s",
               (unsigned long long)bytes);
    for (size_t i = 0; i < s->box.n; i++)
        if (!s->deleted[i])
            buf_printf(o, "%zu %llu\r\n", i + 1, (unsigned long long)s->box.msgs[i].size);
    buf_puts(o, ".\r\n");
    conn_flush_later(s->c);
}

/* RFC 1939 section 7: unique-id is 1 to 70 characters in 0x21..0x7E. The
 * UID and the UIDVALIDITY together never repeat for this mailbox. */
static void format_uidl(const struct session *s, const struct mindex_msg *m, char out[20])
{
    snprintf(out, 20, "%08X%08X", m->uid, s->box.uidvalidity);
}

static void cmd_uidl(struct session *s, const struct pop3_cmd *cmd)
{
    char id[20];
    if (cmd->nnum == 1) {
        struct mindex_msg *m = message(s, cmd->num[0]);
        if (m) {
            format_uidl(s, m, id);
            reply(s, "+OK %u %s", cmd->num[0], id);
        }
        return;
    }
    struct buf *o = conn_out(s->c);
    buf_puts(o, "+OK Unique-ID listing follows\r\n");
    for (size_t i = 0; i < s->box.n; i++) {
        if (s->deleted[i])
            continue;
        format_uidl(s, &s->box.msgs[i], id);
        buf_printf(o, "%zu %s\r\n", i + 1, id);
    }
    buf_puts(o, ".\r\n");
    conn_flush_later(s->c);
}

static void cmd_dele(struct session *s, const struct pop3_cmd *cmd)
{
    struct mindex_msg *m = message(s, cmd->num[0]);
    if (!m)
        return;
    s->deleted[cmd->num[0] - 1] = 1;
    s->ndeleted++;
    s->deleted_bytes += m->size;
    reply(s, "+OK Message %u deleted", cmd->num[0]);
}

static void cmd_rset(struct session *s, const struct pop3_cmd *cmd)
{
    memset(s->deleted, 0, s->box.n ? s->box.n : 1);
    s->ndeleted = 0;
    s->deleted_bytes = 0;
    size_t n;
    uint64_t bytes;
    maildrop_totals(s, &n, &bytes);
    reply(s, "+OK Maildrop has %zu message%s (%llu octets)", n, n == 1 ? "" : "s",
          (unsigned long long)bytes);
}

static void cmd_noop(struct session *s, const struct pop3_cmd *cmd)
{
    reply(s, "+OK");
}

/* Open a message file. Another program (a MUA on the same Maildir) may have
 * moved it from new/ to cur/ or changed its flags: find it by its base name. */
static int open_message(const struct session *s, const struct mindex_msg *m)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", s->root, m->path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    const char *slash = strchr(m->path, '/');
    const char *base = slash ? slash + 1 : m->path;
    size_t blen = strcspn(base, ":");
    static const char *const dirs[] = {"cur", "new"};
    for (size_t d = 0; d < 2; d++) {
        char dpath[4300];
        snprintf(dpath, sizeof dpath, "%s/%s", s->root, dirs[d]);
        DIR *dir = opendir(dpath);
        if (!dir)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strncmp(e->d_name, base, blen) == 0 && (e->d_name[blen] == ':' || !e->d_name[blen])) {
                fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                break;
            }
        }
        closedir(dir);
        if (fd >= 0)
            return fd;
    }
    errno = ENOENT;
    return -1;
}

static void stream_more(struct session *s);

static void end_stream(struct session *s)
{
    if (s->pool_reads)
        log_debug("%s %s message data not cached: %u chunk%s read on the pool", conn_tag(s->c),
                  conn_peer(s->c), s->pool_reads, s->pool_reads == 1 ? "" : "s");
    s->pool_reads = 0;
    close(s->fd);
    s->fd = -1;
    free(s->rdbuf);
    s->rdbuf = NULL;
    s->have_chunk = false;
}

/* A loop thread must not wait for the disk. Message data is read with
 * RWF_NOWAIT, which succeeds when it is in the page cache (nearly always:
 * it was just delivered or listed); otherwise one chunk is read on the pool
 * and streaming goes on when it arrives. */
static void read_work(void *arg)
{
    struct session *s = arg;
    ssize_t n;
    do
        n = read(s->fd, s->rdbuf, STREAM_CHUNK);
    while (n < 0 && errno == EINTR);
    s->rdlen = n < 0 ? -errno : n;
}

static void read_done(void *arg)
{
    struct session *s = arg;
    s->reading = false;
    s->have_chunk = true;
    if (!conn_is_closed(s->c))
        stream_more(s);
    conn_release(s->c);                  /* last: it may free the session */
}

/* Next chunk of the message: its length (0 at the end), -EAGAIN when a pool
 * read has been started, or -errno. */
static ssize_t next_chunk(struct session *s, char *chunk, const char **data)
{
    if (s->have_chunk) {
        s->have_chunk = false;
        *data = s->rdbuf;
        return s->rdlen;
    }
    *data = chunk;
    struct iovec iov = {chunk, STREAM_CHUNK};
    for (;;) {
        ssize_t n = preadv2(s->fd, &iov, 1, -1, RWF_NOWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            /* A file system without non-blocking reads (tmpfs keeps its data
             * in memory anyway): read plainly. */
            n = read(s->fd, chunk, STREAM_CHUNK);
            if (n >= 0 || errno != EINTR)
                return n < 0 ? -errno : n;
            continue;
        }
        if (errno != EAGAIN)
            return -errno;
        if (!s->rdbuf && !(s->rdbuf = malloc(STREAM_CHUNK)))
            return -ENOMEM;
        s->reading = true;
        s->pool_reads++;
        conn_hold(s->c);
        pool_submit(conn_loop(s->c), read_work, read_done, s);
        return -EAGAIN;
    }
}

/* Stream the message in chunks while the client keeps up (on_drain). */
static void stream_more(struct session *s)
{
    struct buf *o = conn_out(s->c);
    char chunk[STREAM_CHUNK];
    while (buf_len(o) < CONN_OUT_HIGH) {
        const char *data;
        ssize_t n = next_chunk(s, chunk, &data);
        if (n == -EAGAIN)
            return;                      /* read_done() comes back here */
        if (n < 0) {
            /* The +OK has gone out: all that is left is to cut the session,
             * which the client sees as an incomplete response. */
            log_err("%s %s read error on a message: %s", conn_tag(s->c), conn_peer(s->c),
                    op_strerror((int)n));
            end_stream(s);
            conn_close(s->c);
            return;
        }
        if (n > 0 && dotstuff_buf(&s->stuffer, o, data, (size_t)n) < 0) {
            end_stream(s);
            conn_close(s->c);
            return;
        }
        if (n == 0 || dotstuff_done(&s->stuffer)) {
            dotstuff_end_buf(&s->stuffer, o);
            end_stream(s);
            conn_flush_later(s->c);
            conn_resume(s->c);
            return;
        }
    }
    conn_want_drain(s->c);
}

/* Open a message file without waiting for the disk: openat2() with
 * RESOLVE_CACHED succeeds only when every path component is in the kernel's
 * lookup cache (nearly always: the mailbox was just listed), else fails
 * with EAGAIN. Kernels before 5.12 do not know it (ENOSYS, EINVAL): a plain
 * open() then, which is a metadata lookup at worst. */
static int open_cached(const struct session *s, const struct mindex_msg *m)
{
    char path[4400];
    if (snprintf(path, sizeof path, "%s/%s", s->root, m->path) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW, .resolve = RESOLVE_CACHED};
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return fd;
}

/* The file is open (s->fd), or could not be (err): answer and stream. */
static void begin_stream(struct session *s, struct mindex_msg *m, uint32_t num, bool top,
                         uint32_t lines, int err)
{
    if (s->fd < 0) {
        log_warn("%s %s message %u (%s) unreadable: %s", conn_tag(s->c), conn_peer(s->c), num,
                 m->path, strerror(err));
        error_reply(s, err == ENOENT ? "Message was removed by another program"
                                     : "[SYS/TEMP] Cannot read the message");
        conn_resume(s->c);
        return;
    }
    if (top) {
        dotstuff_init_top(&s->stuffer, lines);
        reply(s, "+OK Top of message follows");
    } else {
        dotstuff_init(&s->stuffer);
        reply(s, "+OK %llu octets", (unsigned long long)m->size);
    }
    stream_more(s);
}

static void open_work(void *arg)
{
    struct session *s = arg;
    s->opening.fd = open_message(s, &s->box.msgs[s->opening.num - 1]);
    s->opening.err = s->opening.fd < 0 ? errno : 0;
}

static void open_done(void *arg)
{
    struct session *s = arg;
    if (conn_is_closed(s->c)) {
        if (s->opening.fd >= 0)
            close(s->opening.fd);
    } else {
        uint32_t num = s->opening.num;
        s->fd = s->opening.fd;
        begin_stream(s, &s->box.msgs[num - 1], num, s->opening.top, s->opening.lines,
                     s->opening.err);
    }
    conn_release(s->c);                  /* last: it may free the session */
}

static void start_stream(struct session *s, uint32_t num, bool top, uint32_t lines)
{
    struct mindex_msg *m = message(s, num);
    if (!m)
        return;
    /* Replies stay in order: nothing more is read until the response ends. */
    conn_pause(s->c);
    s->fd = open_cached(s, m);
    if (s->fd >= 0 || (errno != EAGAIN && errno != ENOENT)) {
        begin_stream(s, m, num, top, lines, errno);
        return;
    }
    /* Not in the cache, or moved by another program (open_message() then
     * searches the directories): on the pool. */
    log_debug("%s %s message %u: %s, opening it on the pool", conn_tag(s->c), conn_peer(s->c),
              num, errno == EAGAIN ? "path not cached" : "moved");
    s->opening.num = num;
    s->opening.top = top;
    s->opening.lines = lines;
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), open_work, open_done, s);
}

static void cmd_retr(struct session *s, const struct pop3_cmd *cmd)
{
    start_stream(s, cmd->num[0], false, 0);
}

static void cmd_top(struct session *s, const struct pop3_cmd *cmd)
{
    start_stream(s, cmd->num[0], true, cmd->num[1]);
}

/* UPDATE state (RFC 1939 section 6), on the pool. */
static void update_work(void *arg)
{
    struct session *s = arg;
    s->result = mindex_expunge(s->root, s->expunge, s->nexpunge);
    if (s->result == 0 && s->lock_fd >= 0) {
        mstore_unlock(s->lock_fd);
        s->lock_fd = -1;
    }
}

static void update_done(void *arg)
{
    struct session *s = arg;
    struct conn *c = s->c;
    if (s->result == 0) {
        log_info("%s %s logout %s, %zu message%s deleted", conn_tag(c), conn_peer(c), s->user,
                 s->nexpunge, s->nexpunge == 1 ? "" : "s");
        reply(s, "+OK Bye, %zu message%s deleted", s->nexpunge, s->nexpunge == 1 ? "" : "s");
    } else {
        log_err("%s %s %s: removing deleted messages failed: %s", conn_tag(c), conn_peer(c),
                s->user, op_strerror(s->result));
        reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed");
    }
    free(s->expunge);
    s->expunge = NULL;
    close_mailbox(s);
    conn_close(c);
    conn_release(c);
}

static void cmd_quit(struct session *s, const struct pop3_cmd *cmd)
{
    if (s->state == ST_AUTHORIZATION) {
        reply(s, "+OK Bye");
        conn_close(s->c);
        return;
    }
    s->state = ST_UPDATE;
    if (s->ndeleted == 0) {
        log_info("%s %s logout %s", conn_tag(s->c), conn_peer(s->c), s->user);
        reply(s, "+OK Bye");
        close_mailbox(s);
        conn_close(s->c);
        return;
    }
    s->expunge = malloc(s->ndeleted * sizeof *s->expunge);
    if (!s->expunge) {
        reply(s, "-ERR [SYS/TEMP] Out of memory, nothing deleted");
        close_mailbox(s);
        conn_close(s->c);
        return;
    }
    s->nexpunge = 0;
    for (size_t i = 0; i < s->box.n; i++)
        if (s->deleted[i])
            s->expunge[s->nexpunge++] = s->box.msgs[i].uid;
    conn_pause(s->c);
    conn_hold(s->c);
    pool_submit(conn_loop(s->c), update_work, update_done, s);
}

/* ---- dispatch ------------------------------------------------------------------ */

enum { IN_AUTH = 1, IN_TRANS = 2 };

struct command {
    enum pop3_verb verb;
    unsigned states;
    void (*fn)(struct session *s, const struct pop3_cmd *cmd);
};

static const struct command commands[] = {
    {POP3_CAPA, IN_AUTH | IN_TRANS, cmd_capa},
    {POP3_QUIT, IN_AUTH | IN_TRANS, cmd_quit},
    {POP3_NOOP, IN_TRANS, cmd_noop},
    {POP3_STLS, IN_AUTH, cmd_stls},
    {POP3_USER, IN_AUTH, cmd_user},
    {POP3_PASS, IN_AUTH, cmd_pass},
    {POP3_AUTH, IN_AUTH, cmd_auth},
    {POP3_APOP, IN_AUTH, cmd_apop},
    {POP3_STAT, IN_TRANS, cmd_stat},
    {POP3_LIST, IN_TRANS, cmd_list},
    {POP3_UIDL, IN_TRANS, cmd_uidl},
    {POP3_RETR, IN_TRANS, cmd_retr},
    {POP3_TOP, IN_TRANS, cmd_top},
    {POP3_DELE, IN_TRANS, cmd_dele},
    {POP3_RSET, IN_TRANS, cmd_rset},
};

static void on_line(struct conn *c, char *line, size_t len)
{
    struct session *s = conn_session(c);
    if (s->sasl_wait) {
        s->sasl_wait = false;
        s->verb = "AUTH";
        sasl_plain(s, line, len);
        explicit_bzero(line, len);
        return;
    }
    struct pop3_cmd cmd;
    int r = pop3_parse(line, len, &cmd);
    s->verb = cmd.verb == POP3_UNKNOWN ? "unknown command" : pop3_verb_name(cmd.verb);
    if (r < 0 && cmd.verb == POP3_UNKNOWN) {
        error_reply(s, pop3_parse_strerror(r));
        return;
    }
    unsigned in = s->state == ST_AUTHORIZATION ? IN_AUTH : IN_TRANS;
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (commands[i].verb != cmd.verb)
            continue;
        if (!(commands[i].states & in)) {
            error_reply(s, in == IN_AUTH ? "Log in first" : "Command not valid after login");
        } else if (r < 0) {
            error_reply(s, pop3_parse_strerror(r));
        } else {
            commands[i].fn(s, &cmd);
        }
        if (cmd.verb == POP3_PASS || cmd.verb == POP3_AUTH)
            explicit_bzero(line, len);
        return;
    }
    error_reply(s, "Unknown command");
}

static void on_open(struct conn *c)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_printf(c, "-ERR [SYS/TEMP] Out of memory\r\n");
        conn_close(c);
        return;
    }
    s->c = c;
    s->lock_fd = -1;
    s->fd = -1;
    s->live = pop3_live_get();
    conn_set_session(c, s);
    /* RFC 1939 greeting; no APOP timestamp since APOP is not offered. */
    reply(s, "+OK %s POP3 server ready", s->live->hostname);
}

static void on_too_long(struct conn *c)
{
    struct session *s = conn_session(c);
    s->sasl_wait = false;
    s->verb = "over-long line";
    error_reply(s, "Line too long");
}

static void on_timeout(struct conn *c)
{
    struct session *s = conn_session(c);
    /* RFC 1939 section 3: an autologout timer does not enter UPDATE. */
    reply(s, "-ERR Autologout: timed out waiting for the client");
}

static void on_shutdown(struct conn *c)
{
    struct session *s = conn_session(c);
    reply(s, "-ERR [SYS/TEMP] Server shutting down");
}

static void on_drain(struct conn *c)
{
    struct session *s = conn_session(c);
    if (s->fd >= 0 && !s->reading)
        stream_more(s);
}

static void on_close(struct conn *c)
{
    struct session *s = conn_session(c);
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->rdbuf);
    loop_timer_cancel(conn_loop(c), &s->delay);
    explicit_bzero(s->password, sizeof s->password);
    free(s->expunge);
    close_mailbox(s);
    pop3_live_put(s->live);
    free(s);
}

const struct conn_ops pop3_ops = {
    .on_open = on_open,
    .on_line = on_line,
    .on_too_long = on_too_long,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};
