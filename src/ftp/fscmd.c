/*
 * fscmd.c - the FTP commands that look at or change names in the home:
 * CWD, CDUP, PWD, MKD, RMD, DELE, RNFR, RNTO, SIZE, MDTM, MLST and SITE
 * CHMOD (RFC 959 section 4.1, RFC 3659 sections 3, 4 and 7).
 *
 * None of them waits for the disk on the event loop (DESIGN.md section 3).
 * A command that only looks (CWD, CDUP, SIZE, MDTM, MLST, RNFR) first
 * resolves its path from the kernel's lookup cache on the loop
 * (ftp_jail_open_cached: openat2 with RESOLVE_CACHED, so a cached lookup
 * answers at once, a missing one fails with EAGAIN instead of reading a
 * directory block). Only when that says EAGAIN does the command go to the
 * worker pool, which resolves the path with ftp_jail_open / ftp_jail_stat
 * and may wait; the session is paused meanwhile (pipelined commands wait
 * their turn) and resumed when the reply is sent. A command that changes
 * something (MKD, RMD, DELE, RNTO, SITE CHMOD) always goes to the pool:
 * creating, removing and renaming take a journal transaction and may read
 * an inode or bitmap block however well the path is cached.
 *
 * Both ways use the same jail (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, or
 * the O_NOFOLLOW walk) and end in the same reply code (finish()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "ftp/list.h"
#include "ftp/session.h"
#include "ftp/usage.h"
#include "net/conn.h"

/* One command's state while it waits for the pool; on the heap only then. */
struct ftp_fsop {
    enum ftp_verb verb;
    int code;                       /* CWD 250, CDUP 200 */
    char path[FTP_VPATH_MAX];
    char path2[FTP_VPATH_MAX];      /* RNTO: the source (from RNFR) */
    unsigned mode;                  /* SITE CHMOD */
    struct stat st;
    uint64_t freed;                 /* DELE: bytes given back to the quota */
    int result;
};

/* RFC 959 section 7 (and appendix II): in a 257 reply the path is quoted
 * and an embedded '"' is doubled. */
static void quote_path(const char *path, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = path; *p && n + 3 < outlen; p++) {
        if (*p == '"')
            out[n++] = '"';
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* Does this command only look (and may be answered from the cache)? */
static bool looks_only(enum ftp_verb v)
{
    return v == FTP_CWD || v == FTP_CDUP || v == FTP_SIZE || v == FTP_MDTM ||
           v == FTP_MLST || v == FTP_RNFR;
}

/* On the loop: the cached attempt of a looking command. -EAGAIN: ask
 * the pool. */
static int try_cached(struct ftp_session *s, struct ftp_fsop *op)
{
    if (op->verb == FTP_CWD || op->verb == FTP_CDUP) {
        int fd = ftp_jail_open_cached(s->root, op->path, O_PATH | O_DIRECTORY);
        if (fd < 0)
            return fd;
        close(fd);
        return 0;
    }
    return ftp_jail_stat_cached(s->root, op->path, &op->st);
}

/* On the pool: the whole command, waiting for the disk where it must. */
static void work(void *arg)
{
    struct ftp_session *s = arg;
    struct ftp_fsop *op = s->op;
    const char *name, *name2;
    int dfd, dfd2, r;
    switch (op->verb) {
    case FTP_CWD:
    case FTP_CDUP:
        r = ftp_jail_open(s->root, op->path, O_PATH | O_DIRECTORY, 0);
        if (r >= 0) {
            close(r);
            r = 0;
        }
        break;
    case FTP_MKD:
        dfd = ftp_jail_parent(s->root, op->path, &name);
        if (dfd < 0) {
            r = dfd == -EPERM ? -EEXIST : dfd;
            break;
        }
        r = mkdirat(dfd, name, 0755) < 0 ? -errno : 0;
        close(dfd);
        break;
    case FTP_DELE:
    case FTP_RMD: {
        r = dfd = ftp_jail_parent(s->root, op->path, &name);
        if (dfd < 0)
            break;
        /* The size the quota gets back: a file's last link only. */
        bool have = fstatat(dfd, name, &op->st, AT_SYMLINK_NOFOLLOW) == 0;
        r = unlinkat(dfd, name, op->verb == FTP_RMD ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
        close(dfd);
        if (r == 0 && have && S_ISREG(op->st.st_mode) && op->st.st_nlink <= 1)
            op->freed = (uint64_t)op->st.st_size;
        break;
    }
    case FTP_RNTO:
        r = dfd = ftp_jail_parent(s->root, op->path2, &name);
        if (dfd < 0)
            break;
        r = dfd2 = ftp_jail_parent(s->root, op->path, &name2);
        if (dfd2 >= 0) {
            r = renameat(dfd, name, dfd2, name2) < 0 ? -errno : 0;
            close(dfd2);
        }
        close(dfd);
        break;
    case FTP_SITE:
        /* Opened (never through a symlink), then changed by descriptor. */
        r = ftp_jail_open(s->root, op->path, O_RDONLY | O_NONBLOCK, 0);
        if (r >= 0) {
            int fd = r;
            r = fchmod(fd, (mode_t)op->mode) < 0 ? -errno : 0;
            close(fd);
        }
        break;
    default:                            /* SIZE, MDTM, MLST, RNFR */
        r = ftp_jail_stat(s->root, op->path, &op->st);
        break;
    }
    op->result = r;
}

/* On the loop: the reply, whichever way the result came. */
static void finish(struct ftp_session *s)
{
    struct ftp_fsop *op = s->op;
    int r = op->result;
    s->op = NULL;
    if (r < 0) {
        ftp_fs_error(s, r);
        free(op);
        return;
    }
    char text[2 * FTP_VPATH_MAX];
    switch (op->verb) {
    case FTP_CWD:
    case FTP_CDUP:
        if (!ftp_set_str(&s->cwd, op->path))
            ftp_error(s, 451, "Out of memory");
        else
            ftp_reply(s, op->code, "Directory changed");
        break;
    case FTP_MKD:
        quote_path(op->path, text, sizeof text);
        ftp_reply(s, 257, "\"%s\" created", text);
        break;
    case FTP_DELE:
    case FTP_RMD:
        if (s->usage)
            ftp_usage_credit(s->usage, op->freed);
        ftp_reply(s, 250, op->verb == FTP_RMD ? "Directory removed" : "File deleted");
        break;
    case FTP_RNFR:
        /* The home itself has no name to change. */
        if (!op->path[1])
            ftp_fs_error(s, -EPERM);
        else if (!ftp_set_str(&s->rnfr, op->path))
            ftp_error(s, 451, "Out of memory");
        else
            ftp_reply(s, 350, "Ready for RNTO");
        break;
    case FTP_RNTO:
        ftp_reply(s, 250, "Rename successful");
        break;
    case FTP_SITE:
        ftp_reply(s, 200, "SITE CHMOD command ok");
        break;
    case FTP_MLST: {
        /* RFC 3659 section 7.2: the entry on a line of its own that
         * starts with one SP. */
        struct buf b = BUF_INIT;
        ftp_list_facts(&b, op->path, &op->st, s->facts, s->anonymous, NULL);
        ftp_reply_multi(s, 250, "Listing", buf_ptr(&b), buf_len(&b), "End");
        buf_free(&b);
        break;
    }
    default:                            /* SIZE, MDTM: a regular file */
        if (!S_ISREG(op->st.st_mode)) {
            ftp_error(s, 550, "Not a regular file");
        } else if (op->verb == FTP_MDTM) {
            /* RFC 3659 section 3: 213 YYYYMMDDHHMMSS in UTC. */
            ftp_time_val(op->st.st_mtime, text);
            ftp_reply(s, 213, "%s", text);
        } else if (s->ascii) {
            /* RFC 3659 section 4: the size as it would be transferred; in
             * TYPE A that would take reading the file. */
            ftp_error(s, 550, "SIZE is not available in ASCII mode (use TYPE I)");
        } else {
            ftp_reply(s, 213, "%llu", (unsigned long long)op->st.st_size);
        }
        break;
    }
    free(op);
}

static void pool_done(struct ftp_session *s)
{
    finish(s);
    conn_resume(s->c);
}

/* Run op (heap, now the session's): from the cache when it only looks and
 * the cache has it, else on the pool. */
static void run(struct ftp_session *s, struct ftp_fsop *op)
{
    s->op = op;
    if (looks_only(op->verb)) {
        op->result = try_cached(s, op);
        if (op->result != -EAGAIN) {
            finish(s);
            return;
        }
        log_debug("%s %s %s: path not in the lookup cache, resolved on the pool",
                  conn_tag(s->c), conn_peer(s->c), s->verb);
    }
    if (!ftp_on_pool(s, work, pool_done)) {
        s->op = NULL;
        free(op);
    }
}

/* A new op for verb on the client's path (NULL: out of memory or a bad
 * path, already answered). */
static struct ftp_fsop *op_new(struct ftp_session *s, enum ftp_verb verb, const struct ftp_cmd *cmd)
{
    struct ftp_fsop *op = calloc(1, sizeof *op);
    if (!op) {
        ftp_error(s, 451, "Out of memory");
        return NULL;
    }
    op->verb = verb;
    if (cmd && !ftp_vpath(s, cmd, op->path)) {
        free(op);
        return NULL;
    }
    return op;
}

/* ---- the commands ---------------------------------------------------------------- */

void ftp_cmd_cwd(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    struct ftp_fsop *op = op_new(s, FTP_CWD, cmd);
    if (!op)
        return;
    op->code = 250;
    run(s, op);
}

/* RFC 959 section 5.4 lists 200 for CDUP (RFC 1123 4.1.3.5: clients take
 * 200 or 250). */
void ftp_cmd_cdup(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    struct ftp_fsop *op = op_new(s, FTP_CDUP, NULL);
    if (!op)
        return;
    if (ftp_path_join(s->cwd, "..", 2, op->path, sizeof op->path) < 0) {
        free(op);
        ftp_error(s, 553, "File name too long");
        return;
    }
    op->code = 200;
    run(s, op);
}

void ftp_cmd_pwd(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    char q[2 * FTP_VPATH_MAX];
    quote_path(s->cwd, q, sizeof q);
    ftp_reply(s, 257, "\"%s\" is the current directory", q);
}

/* MKD, RMD, DELE, SIZE, MDTM, RNFR: one path each. */
static void one_path(struct ftp_session *s, const struct ftp_cmd *cmd, bool writes)
{
    if (writes && ftp_deny_write(s))
        return;
    struct ftp_fsop *op = op_new(s, cmd->verb, cmd);
    if (op)
        run(s, op);
}

void ftp_cmd_mkd(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, true); }
void ftp_cmd_rmd(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, true); }
void ftp_cmd_dele(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, true); }
void ftp_cmd_rnfr(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, true); }
void ftp_cmd_size(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, false); }
void ftp_cmd_mdtm(struct ftp_session *s, const struct ftp_cmd *cmd) { one_path(s, cmd, false); }

void ftp_cmd_rnto(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (!s->rnfr) {
        ftp_error(s, 503, "RNFR first");
        return;
    }
    /* RFC 959: RNFR's name is used by this RNTO, whatever its result. */
    char *from = s->rnfr;
    s->rnfr = NULL;
    struct ftp_fsop *op = ftp_deny_write(s) ? NULL : op_new(s, FTP_RNTO, cmd);
    if (op) {
        str_copy(op->path2, sizeof op->path2, from);
        run(s, op);
    }
    free(from);
}

/* RFC 3659 section 7.2: MLST, of the current directory without an
 * argument. */
void ftp_cmd_mlst(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    struct ftp_fsop *op = op_new(s, FTP_MLST, cmd->has_arg ? cmd : NULL);
    if (!op)
        return;
    if (!cmd->has_arg)
        str_copy(op->path, sizeof op->path, s->cwd);
    run(s, op);
}

void ftp_site_chmod(struct ftp_session *s, const char *args)
{
    char *end;
    errno = 0;
    unsigned long mode = strtoul(args, &end, 8);
    if (end == args || *end != ' ' || errno || mode > 0777) {
        ftp_error(s, 501, "Usage: SITE CHMOD <octal mode 0-777> <path>");
        return;
    }
    if (ftp_deny_write(s))
        return;
    static _Thread_local struct ftp_cmd c2;
    const char *p = end + 1;
    c2.arglen = strlen(p);
    memcpy(c2.arg, p, c2.arglen + 1);
    c2.has_arg = true;
    struct ftp_fsop *op = op_new(s, FTP_SITE, &c2);
    if (!op)
        return;
    op->mode = (unsigned)mode;
    run(s, op);
}
