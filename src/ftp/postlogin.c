/*
 * postlogin.c - the commands of a logged-in FTP user: transfer parameters,
 * data connection set-up, transfers and listings (RFC 959 section 4.1,
 * RFC 2428, RFC 3659), and the table of every command after login. Names
 * and facts (CWD, MKD, DELE, SIZE, ...) are in fscmd.c.
 *
 * Every path goes through the jail (path.h): ftp_vpath() makes the client's
 * argument a virtual path, then ftp_jail_open() / ftp_jail_parent() open it
 * beneath the home, and operations on names use (directory descriptor,
 * single name) pairs. None of that waits for the disk on the loop: RETR's
 * file is opened from the kernel's lookup cache there (else on the pool),
 * an upload's file is created on the pool, listings are read on the pool.
 *
 * Uploads (STOR, STOU) are written to FTP_UPLOAD_PREFIX + random in the
 * target's directory and renamed over the real name only when the whole
 * file arrived and was fsynced (file, then directory, on the pool) - so a
 * failed or aborted STOR never leaves a partial file under the real name,
 * and 226 means the data is on disk. REST + STOR and APPE write in place,
 * as they must (RFC 3659 section 5).
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "ftp/list.h"
#include "ftp/session.h"
#include "ftp/usage.h"
#include "net/conn.h"

/* ---- helpers ----------------------------------------------------------------- */

/* A file system error as a reply (RFC 959 section 4.2 codes). */
void ftp_fs_error(struct ftp_session *s, int err)
{
    switch (err) {
    case -ENOENT:
        ftp_error(s, 550, "No such file or directory");
        break;
    case -ENOTDIR:
        ftp_error(s, 550, "Not a directory");
        break;
    case -EISDIR:
        ftp_error(s, 550, "Is a directory");
        break;
    case -EEXIST:
        ftp_error(s, 550, "File exists");
        break;
    case -ENOTEMPTY:
        ftp_error(s, 550, "Directory not empty");
        break;
    case -ENOSPC:
        ftp_error(s, 452, "Insufficient storage space");
        break;
    case -EDQUOT:
        ftp_error(s, 552, "Quota exceeded");
        break;
    case -ENAMETOOLONG:
        ftp_error(s, 553, "File name too long");
        break;
    case -EACCES:
    case -EPERM:
    case -EXDEV:                        /* a path that would leave the home */
    case -ELOOP:                        /* a symlink, never followed last */
        ftp_error(s, 550, "Permission denied");
        break;
    default:
        log_warn("%s %s %s: %s", conn_tag(s->c), conn_peer(s->c), s->verb, op_strerror(err));
        ftp_error(s, 451, "Local error in processing");
        break;
    }
}

/* Anonymous sessions are read-only: 550 for anything that writes. */
bool ftp_deny_write(struct ftp_session *s)
{
    if (!s->anonymous)
        return false;
    ftp_error(s, 550, "Permission denied (read-only access)");
    return true;
}

/* Is this the control connection's peer? IPv4 and IPv4-mapped IPv6 compare
 * equal. */
static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    uint8_t ab[16], bb[16];
    size_t al = 0, bl = 0;
    const struct sockaddr_storage *v[2] = {a, b};
    uint8_t *o[2] = {ab, bb};
    size_t *l[2] = {&al, &bl};
    for (int i = 0; i < 2; i++) {
        if (v[i]->ss_family == AF_INET) {
            memcpy(o[i], &((const struct sockaddr_in *)v[i])->sin_addr, 4);
            *l[i] = 4;
        } else if (v[i]->ss_family == AF_INET6) {
            const struct in6_addr *x = &((const struct sockaddr_in6 *)v[i])->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(x)) {
                memcpy(o[i], x->s6_addr + 12, 4);
                *l[i] = 4;
            } else {
                memcpy(o[i], x->s6_addr, 16);
                *l[i] = 16;
            }
        }
    }
    return al && al == bl && memcmp(ab, bb, al) == 0;
}

/* ---- transfer parameters ------------------------------------------------------- */

static void cmd_type(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    /* RFC 959 section 3.1.1: A N is ASCII with CRLF on the wire; L 8 is
     * the same as I on an 8-bit machine. */
    s->ascii = cmd->code == 'A';
    ftp_reply(s, 200, "Type set to %s", s->ascii ? "A" : cmd->code == 'L' ? "L 8" : "I");
}

static void cmd_stru(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (cmd->code == 'F')
        ftp_reply(s, 200, "Structure set to F");
    else
        ftp_error(s, 504, "Only STRU F is supported");
}

static void cmd_mode(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (cmd->code == 'S')
        ftp_reply(s, 200, "Mode set to S");
    else
        ftp_error(s, 504, "Only MODE S is supported");
}

/* What the user may still store, counted over all of the user's
 * sessions (usage.h). */
static uint64_t quota_left(const struct ftp_session *s)
{
    uint64_t used = s->usage ? ftp_usage_used(s->usage) : 0;
    return used >= s->live->quota ? 0 : s->live->quota - used;
}

static void cmd_allo(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (s->live->quota && cmd->num > quota_left(s)) {
        ftp_error(s, 552, "Not enough quota left for that");
        return;
    }
    ftp_reply(s, 202, "No storage allocation necessary");
}

/* RFC 3659 section 5: REST STREAM; the marker applies to the next RETR,
 * STOR or APPE. */
static void cmd_rest(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    s->rest = cmd->num;
    ftp_reply(s, 350, "Restarting at %" PRIu64 ". Send STOR or RETR", s->rest);
}

static void cmd_smnt(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_error(s, 502, "SMNT not implemented");
}

/* ---- data connection set-up -------------------------------------------------------- */

static bool epsv_all_refuses(struct ftp_session *s)
{
    if (!s->epsv_all)
        return false;
    /* RFC 2428 section 4: after EPSV ALL only EPSV sets up data connections. */
    ftp_error(s, 503, "EPSV ALL in effect: use EPSV");
    return true;
}

/* PORT and EPRT: RFC 2577 section 3 - only to the client's own address
 * (no "bounce" to a third host) and never to a privileged port. */
static void active(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (epsv_all_refuses(s))
        return;
    uint16_t port = cmd->addr.ss_family == AF_INET
                        ? ntohs(((const struct sockaddr_in *)&cmd->addr)->sin_port)
                        : ntohs(((const struct sockaddr_in6 *)&cmd->addr)->sin6_port);
    if (!same_host(&cmd->addr, conn_peer_addr(s->c)) || port < 1024) {
        log_warn("%s %s %s refused: not the client's own address or a privileged port",
                 conn_tag(s->c), conn_peer(s->c), s->verb);
        ftp_error(s, 504, "Data connections go only to your own address, port 1024 or above");
        return;
    }
    int r = ftp_data_active(s->data, &cmd->addr);
    if (r < 0) {
        ftp_error(s, 504, "Command not implemented for that address");
        return;
    }
    ftp_reply(s, 200, "%s command successful", cmd->verb == FTP_PORT ? "PORT" : "EPRT");
}

static void cmd_port(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    active(s, cmd);
}

static void cmd_eprt(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    active(s, cmd);
}

static void cmd_pasv(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (epsv_all_refuses(s))
        return;
    struct sockaddr_storage addr;
    uint16_t port;
    int r = ftp_data_passive(s->data, &addr, &port);
    if (r < 0) {
        ftp_error(s, 425, "Cannot open a passive data port");
        return;
    }
    uint8_t a[4];
    if (addr.ss_family == AF_INET) {
        memcpy(a, &((struct sockaddr_in *)&addr)->sin_addr, 4);
    } else {
        const struct in6_addr *x = &((struct sockaddr_in6 *)&addr)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(x)) {
            /* RFC 2428 section 3: PASV cannot name an IPv6 address. */
            ftp_data_abort(s->data);
            ftp_error(s, 522, "PASV needs IPv4; use EPSV (1,2)");
            return;
        }
        memcpy(a, x->s6_addr + 12, 4);
    }
    ftp_reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%u,%u)", a[0], a[1], a[2], a[3],
              port >> 8, port & 255);
}

static void cmd_epsv(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    if (cmd->epsv == FTP_EPSV_ALL) {
        s->epsv_all = true;
        ftp_reply(s, 200, "EPSV ALL ok");
        return;
    }
    if (cmd->epsv) {
        /* The passive socket listens on the control connection's address,
         * so its family is the control connection's. */
        bool v6 = conn_peer_addr(s->c)->ss_family == AF_INET6 &&
                  !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)conn_peer_addr(s->c))->sin6_addr);
        if ((cmd->epsv == 2) != v6) {
            ftp_error(s, 522, "Network protocol not supported, use (%d)", v6 ? 2 : 1);
            return;
        }
    }
    struct sockaddr_storage addr;
    uint16_t port;
    if (ftp_data_passive(s->data, &addr, &port) < 0) {
        ftp_error(s, 425, "Cannot open a passive data port");
        return;
    }
    ftp_reply(s, 229, "Entering Extended Passive Mode (|||%u|)", port);
}

/* ---- transfers ------------------------------------------------------------------- */

/* While a transfer runs the control connection carries nothing, yet the
 * session is busy: it must not be closed as idle (RFC 959 leaves timeouts
 * to the server; a 1 GiB file at a modest rate takes longer than
 * idle_timeout). A stalled transfer is data.c's to end (426). */
static uint64_t keepalive_ms(const struct ftp_session *s)
{
    unsigned idle = conn_service(s->c)->idle_ms;
    return idle / 2 < 10000 ? idle / 2 + 1 : 10000;
}

static void on_keepalive(struct loop_timer *t)
{
    struct ftp_session *s = (struct ftp_session *)((char *)t - offsetof(struct ftp_session, keepalive));
    if (!s->x.active)
        return;
    conn_touch(s->c);
    loop_timer_arm(conn_loop(s->c), &s->keepalive, keepalive_ms(s), on_keepalive);
}

static void xfer_clear(struct ftp_session *s)
{
    loop_timer_cancel(conn_loop(s->c), &s->keepalive);
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
    s->x.temp = false;
    s->x.active = false;
    s->x.finishing = false;
    buf_free(&s->x.list);
    free(s->x.name);
    s->x.name = NULL;
    free(s->x.open_msg);
    s->x.open_msg = NULL;
}

static void xfer_open(void *arg)
{
    struct ftp_session *s = arg;
    ftp_reply(s, 150, "%s", s->x.open_msg);
}

/* The transfer's result as its final reply. */
static void xfer_reply(struct ftp_session *s, int result)
{
    switch (result) {
    case 0:
        ftp_reply(s, 226, "Transfer complete");
        break;
    case -ECANCELED:
        ftp_reply(s, 426, "Connection closed; transfer aborted");
        break;
    case -ETIMEDOUT:
        ftp_error(s, 425, "Can't open data connection");
        break;
    case -ECONNRESET:
    case -EPIPE:
        ftp_reply(s, 426, "Connection closed; transfer aborted");
        break;
    case -ENOSPC:
        ftp_reply(s, 452, "Insufficient storage space; nothing was stored");
        break;
    case -EDQUOT:
        ftp_reply(s, 552, "Quota exceeded; nothing was stored");
        break;
    case OP_E_TLS:
        ftp_reply(s, 522, "Data connection must use TLS, resuming the control connection's session");
        break;
    default:
        log_warn("%s %s %s failed: %s", conn_tag(s->c), conn_peer(s->c),
                 ftp_verb_name(s->x.verb), op_strerror(result));
        ftp_reply(s, 451, "Transfer failed: local error");
        break;
    }
}

/* On the pool: an upload is complete; make it durable, then give it its
 * name (RFC 959 promises nothing here; DESIGN.md: 226 after fsync). */
static void finish_work(void *arg)
{
    struct ftp_session *s = arg;
    int r = 0;
    if (fsync(s->x.fd) < 0)
        r = -errno;
    if (r == 0 && s->x.temp) {
        const char *name = strrchr(s->x.name, '/') + 1;
        if (s->x.verb == FTP_STOU)
            r = renameat2(s->x.dfd, s->x.tmpname, s->x.dfd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
        else
            r = renameat(s->x.dfd, s->x.tmpname, s->x.dfd, name) < 0 ? -errno : 0;
        if (r == 0)
            s->x.temp = false;
    }
    if (r == 0 && fsync(s->x.dfd) < 0)
        r = -errno;
    s->x.result = r;
}

/* An upload that failed after its thread ended well (its bytes stay
 * charged): when its temporary file goes, so do they, and the file it was
 * to replace counts again. */
static void upload_unwind(struct ftp_session *s)
{
    if (s->usage && s->x.temp) {
        ftp_usage_credit(s->usage, s->x.bytes);
        ftp_usage_debit(s->usage, s->x.credited);
    }
    s->x.credited = 0;
}

static void finish_done(struct ftp_session *s)
{
    int r = s->x.result;
    if (r < 0)
        upload_unwind(s);
    s->x.credited = 0;
    log_info("%s %s %s %s: %llu bytes%s", conn_tag(s->c), conn_peer(s->c), ftp_verb_name(s->x.verb),
             s->x.name, (unsigned long long)s->x.bytes, r == 0 ? "" : ", failed");
    xfer_clear(s);
    if (r == -ENOSPC || r == -EDQUOT)
        xfer_reply(s, r);
    else if (r < 0)
        xfer_reply(s, -EIO);
    else
        ftp_reply(s, 226, "Transfer complete");
    conn_resume(s->c);
}

static void xfer_done(void *arg, int result, uint64_t bytes)
{
    struct ftp_session *s = arg;
    s->x.bytes = bytes;
    if (s->x.verb == FTP_STOR || s->x.verb == FTP_APPE || s->x.verb == FTP_STOU) {
        if (result == 0) {
            s->x.finishing = true;
            ftp_on_pool(s, finish_work, finish_done);
            return;
        }
        log_info("%s %s %s %s: %llu bytes, %s", conn_tag(s->c), conn_peer(s->c),
                 ftp_verb_name(s->x.verb), s->x.name, (unsigned long long)bytes,
                 op_strerror(result));
        /* The thread gave its bytes back; the replaced file stays. */
        if (s->usage && s->x.temp)
            ftp_usage_debit(s->usage, s->x.credited);
        s->x.credited = 0;
        xfer_clear(s);                   /* the temporary file goes */
        xfer_reply(s, result);
        return;
    }
    if (s->x.verb == FTP_RETR)
        log_info("%s %s RETR %s: %llu bytes%s", conn_tag(s->c), conn_peer(s->c), s->x.name,
                 (unsigned long long)bytes, result == 0 ? "" : ", incomplete");
    xfer_clear(s);
    xfer_reply(s, result);
}

/* Start the prepared transfer: the data connection set up by PASV/PORT
 * takes it from here. */
static void start(struct ftp_session *s, enum ftp_xfer_dir dir, off_t offset)
{
    struct ftp_xfer x = {
        .dir = dir,
        .fd = s->x.fd,
        .offset = offset,
        .buf = &s->x.list,
        /* Listings are built with CRLF already (RFC 959 section 4.1.3:
         * they go as ASCII whatever the TYPE). */
        .ascii = dir == FTP_SEND_BUF ? false : s->ascii,
        .protect = s->prot_p,
        .usage = dir == FTP_RECV_FILE ? s->usage : NULL,
        .quota = s->live->quota,
        .refund = s->x.temp,
        .on_open = xfer_open,
        .on_done = xfer_done,
        .arg = s,
    };
    s->x.active = true;
    loop_timer_arm(conn_loop(s->c), &s->keepalive, keepalive_ms(s), on_keepalive);
    int r = ftp_data_start(s->data, &x);
    if (r < 0) {
        xfer_clear(s);
        ftp_error(s, 425, "Use PORT, PASV, EPRT or EPSV first");
    }
}

static bool data_ready(struct ftp_session *s)
{
    if (ftp_data_ready(s->data))
        return true;
    ftp_error(s, 425, "Use PORT, PASV, EPRT or EPSV first");
    return false;
}

/* RETR's file is open (fd), or could not be (fd < 0): check it and start. */
static void retr_opened(struct ftp_session *s, int fd)
{
    if (fd < 0) {
        xfer_clear(s);
        ftp_fs_error(s, fd);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        xfer_clear(s);
        ftp_error(s, 550, "Not a regular file");
        return;
    }
    if (s->x.rest > (uint64_t)st.st_size) {
        close(fd);
        xfer_clear(s);
        ftp_error(s, 554, "Restart marker beyond the end of the file");
        return;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    s->x.verb = FTP_RETR;
    s->x.fd = fd;
    if (!ftp_set_strf(&s->x.open_msg, "Opening %s mode data connection for %s (%llu bytes)",
                      s->ascii ? "ASCII" : "BINARY", strrchr(s->x.name, '/') + 1,
                      (unsigned long long)st.st_size)) {
        xfer_clear(s);
        ftp_error(s, 451, "Out of memory");
        return;
    }
    start(s, FTP_SEND_FILE, (off_t)s->x.rest);
}

/* O_NONBLOCK: a FIFO placed in the home must not block the opener. */
#define RETR_FLAGS (O_RDONLY | O_NONBLOCK)

static void retr_work(void *arg)
{
    struct ftp_session *s = arg;
    s->x.result = ftp_jail_open(s->root, s->x.name, RETR_FLAGS, 0);
}

static void retr_done(struct ftp_session *s)
{
    retr_opened(s, s->x.result);
    conn_resume(s->c);
}

static void cmd_retr(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    char v[FTP_VPATH_MAX];
    uint64_t rest = s->rest;
    s->rest = 0;
    if (!ftp_vpath(s, cmd, v) || !data_ready(s))
        return;
    if (!ftp_set_str(&s->x.name, v)) {
        ftp_error(s, 451, "Out of memory");
        return;
    }
    s->x.rest = rest;
    /* From the kernel's lookup cache on the loop; what is not cached is
     * opened on the pool (fscmd.c explains the two ways). */
    int fd = ftp_jail_open_cached(s->root, v, RETR_FLAGS);
    if (fd != -EAGAIN) {
        retr_opened(s, fd);
        return;
    }
    log_debug("%s %s RETR: path not in the lookup cache, opened on the pool", conn_tag(s->c),
              conn_peer(s->c));
    if (!ftp_on_pool(s, retr_work, retr_done))
        xfer_clear(s);
}

/* Results of upload_work beyond -errno. */
enum { UP_NOT_REGULAR = 1, UP_REST_BEYOND, UP_NO_NAME };

/* On the pool (it creates or truncates, which may wait for the journal):
 * STOU's unique name, the target's directory, and the file, at its
 * temporary name for STOR and STOU, in place for APPE and REST + STOR. */
static void upload_work(void *arg)
{
    struct ftp_session *s = arg;
    char v[FTP_VPATH_MAX];
    s->x.result = 0;
    if (s->x.verb == FTP_STOU) {
        /* RFC 959 STOU: a name unique in the current directory; RFC 1123
         * section 4.1.2.9: 150 "FILE: name". x.name holds the base. */
        char base[FTP_VPATH_MAX];
        str_copy(base, sizeof base, s->x.name);
        char try[FTP_VPATH_MAX + 32];
        bool found = false;
        for (unsigned i = 0; i < 1000 && !found; i++) {
            if (i == 0)
                snprintf(try, sizeof try, "%s", base);
            else
                snprintf(try, sizeof try, "%s.%u", base, i);
            if (ftp_path_join(s->cwd, try, strlen(try), v, sizeof v) < 0)
                break;
            struct stat st;
            if (ftp_jail_stat(s->root, v, &st) == -ENOENT)
                found = true;
        }
        if (!found || !ftp_set_str(&s->x.name, v)) {
            s->x.result = found ? -ENOMEM : UP_NO_NAME;
            return;
        }
    }
    str_copy(v, sizeof v, s->x.name);
    const char *name;
    int dfd = ftp_jail_parent(s->root, v, &name);
    if (dfd < 0) {
        s->x.result = dfd == -EPERM ? -EISDIR : dfd;
        return;
    }
    struct stat old;
    bool exists = fstatat(dfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISREG(old.st_mode)) {
        close(dfd);
        s->x.result = S_ISDIR(old.st_mode) ? -EISDIR : UP_NOT_REGULAR;
        return;
    }
    s->x.offset = 0;
    int fd;
    bool temp = s->x.verb != FTP_APPE && s->x.rest == 0;
    if (temp) {
        uint64_t rnd;
        random_bytes(&rnd, sizeof rnd);
        snprintf(s->x.tmpname, sizeof s->x.tmpname, FTP_UPLOAD_PREFIX "%016llx",
                 (unsigned long long)rnd);
        fd = openat(dfd, s->x.tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        s->x.start_size = 0;
        /* Replacing a file frees its space when the new one takes the
         * name: given back now, so that a file can be replaced by one of
         * its size at a full quota (taken again if the upload fails). */
        if (exists && s->x.verb == FTP_STOR && s->usage) {
            s->x.credited = (uint64_t)old.st_size;
            ftp_usage_credit(s->usage, s->x.credited);
        }
    } else {
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0) {
            s->x.start_size = st.st_size;
            if (s->x.verb == FTP_APPE) {
                s->x.offset = st.st_size;
            } else if (s->x.rest > (uint64_t)st.st_size) {
                close(fd);
                close(dfd);
                s->x.result = UP_REST_BEYOND;
                return;
            } else {
                /* REST STREAM + STOR: the file from the marker on is
                 * replaced by what comes now. */
                s->x.offset = (off_t)s->x.rest;
                if (ftruncate(fd, s->x.offset) == 0) {
                    s->x.start_size = s->x.offset;
                    if (s->usage)
                        ftp_usage_credit(s->usage, (uint64_t)(st.st_size - s->x.offset));
                }
            }
        }
        if (fd >= 0) {
            int fl = fcntl(fd, F_GETFL);
            if (fl >= 0)
                (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
    }
    if (fd < 0) {
        s->x.result = -errno;
        close(dfd);
        return;
    }
    s->x.fd = fd;
    s->x.dfd = dfd;
    s->x.temp = temp;
}

static void upload_done(struct ftp_session *s)
{
    int r = s->x.result;
    if (r != 0) {
        if (s->usage)                    /* the file to replace stays */
            ftp_usage_debit(s->usage, s->x.credited);
        s->x.credited = 0;
        xfer_clear(s);                   /* removes a temporary file */
        if (r == UP_NOT_REGULAR)
            ftp_error(s, 550, "Not a regular file");
        else if (r == UP_REST_BEYOND)
            ftp_error(s, 554, "Restart marker beyond the end of the file");
        else if (r == UP_NO_NAME)
            ftp_error(s, 553, "Cannot find a unique name");
        else if (r == -ENOMEM)
            ftp_error(s, 451, "Out of memory");
        else
            ftp_fs_error(s, r);
        conn_resume(s->c);
        return;
    }
    const char *name = strrchr(s->x.name, '/') + 1;
    bool ok = s->x.verb == FTP_STOU
                  ? ftp_set_strf(&s->x.open_msg, "FILE: %s", name)
                  : ftp_set_strf(&s->x.open_msg, "Opening %s mode data connection for %s",
                                 s->ascii ? "ASCII" : "BINARY", name);
    if (!ok) {
        xfer_clear(s);
        ftp_error(s, 451, "Out of memory");
    } else {
        start(s, FTP_RECV_FILE, s->x.offset);
    }
    conn_resume(s->c);
}

/* STOR, APPE, STOU. */
static void upload(struct ftp_session *s, const struct ftp_cmd *cmd, enum ftp_verb verb)
{
    char v[FTP_VPATH_MAX];
    uint64_t rest = s->rest;
    s->rest = 0;
    if (ftp_deny_write(s))
        return;
    if (verb == FTP_STOU)
        str_copy(v, sizeof v, cmd->has_arg ? cmd->arg : "file");
    else if (!ftp_vpath(s, cmd, v))
        return;
    if (!data_ready(s))
        return;
    if (s->live->quota && quota_left(s) == 0) {
        ftp_error(s, 552, "Quota exceeded");
        return;
    }
    if (!ftp_set_str(&s->x.name, v)) {
        ftp_error(s, 451, "Out of memory");
        return;
    }
    s->x.verb = verb;
    s->x.rest = rest;
    if (!ftp_on_pool(s, upload_work, upload_done))
        xfer_clear(s);
}

static void cmd_stor(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    upload(s, cmd, FTP_STOR);
}

static void cmd_appe(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    upload(s, cmd, FTP_APPE);
}

static void cmd_stou(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    upload(s, cmd, FTP_STOU);
}

/* ---- listings -------------------------------------------------------------------- */

/* On the pool: read and format the directory (or the one file) named by
 * s->x.lpath. */
static void list_work(void *arg)
{
    struct ftp_session *s = arg;
    enum ftp_verb verb = s->x.lverb;
    enum ftp_list_kind kind = verb == FTP_NLST   ? FTP_LIST_NAMES
                              : verb == FTP_MLSD ? FTP_LIST_MLSD
                                                 : FTP_LIST_LONG;
    time_t now = time(NULL);
    int fd = ftp_jail_open(s->root, s->x.lpath, O_PATH | O_DIRECTORY, 0);
    if (fd >= 0) {
        s->x.result = ftp_list_dir(fd, kind, s->facts, s->anonymous, now, NULL, &s->x.list);
        close(fd);
        return;
    }
    /* "LIST *.txt", "NLST a?.bin": a pattern in the last component (not a
     * path that exists under that name) lists the matching names of its
     * directory. */
    const char *base = strrchr(s->x.lpath, '/') + 1;
    if (fd == -ENOENT && verb != FTP_MLSD && ftp_name_is_pattern(base)) {
        const char *pattern;
        int dfd = ftp_jail_parent(s->root, s->x.lpath, &pattern);
        if (dfd < 0) {
            s->x.result = dfd;
            return;
        }
        if (kind != FTP_LIST_NAMES || !s->x.lprefix) {
            s->x.result = ftp_list_dir(dfd, kind, s->facts, s->anonymous, now, pattern, &s->x.list);
            close(dfd);
            return;
        }
        /* NLST of a pattern after a directory ("d/" then the pattern)
         * names "d/x.bin", as the client wrote the path, so that mget can
         * fetch each name as it is. */
        struct buf names = BUF_INIT;
        int r = ftp_list_dir(dfd, kind, s->facts, s->anonymous, now, pattern, &names);
        close(dfd);
        const char *p = buf_ptr(&names), *end = p + buf_len(&names);
        while (r == 0 && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
            if (buf_puts(&s->x.list, s->x.lprefix) < 0 || buf_append(&s->x.list, p, len) < 0)
                r = -ENOMEM;
            p += len;
        }
        buf_free(&names);
        s->x.result = r;
        return;
    }
    /* LIST / NLST / STAT of a file: that one entry (RFC 959 allows it;
     * MLSD must name a directory, RFC 3659 section 7.1). */
    struct stat st;
    int r = fd;
    if ((r == -ENOTDIR || r == -ELOOP) && verb != FTP_MLSD &&
        ftp_jail_stat(s->root, s->x.lpath, &st) == 0) {
        const char *name = strrchr(s->x.lpath, '/') + 1;
        if (!ftp_name_listable(name))
            r = -ENOENT;
        else if (kind == FTP_LIST_NAMES)
            r = buf_printf(&s->x.list, "%s\r\n", name) < 0 ? -ENOMEM : 0;
        else
            r = ftp_list_long(&s->x.list, name, &st, now) < 0 ? -ENOMEM : 0;
    }
    s->x.result = r;
}

static void list_done(struct ftp_session *s)
{
    int r = s->x.result;
    if (r < 0) {
        buf_free(&s->x.list);
        ftp_fs_error(s, r);
        conn_resume(s->c);
        return;
    }
    if (s->x.lverb == FTP_STAT) {
        ftp_reply_multi(s, 213, "Status follows:", buf_ptr(&s->x.list), buf_len(&s->x.list),
                        "End of status");
        buf_free(&s->x.list);
        conn_resume(s->c);
        return;
    }
    s->x.verb = s->x.lverb;
    s->x.fd = -1;
    if (!ftp_set_str(&s->x.open_msg, "Here comes the directory listing") ||
        !ftp_set_str(&s->x.name, s->x.lpath)) {
        xfer_clear(s);
        ftp_error(s, 451, "Out of memory");
        conn_resume(s->c);
        return;
    }
    start(s, FTP_SEND_BUF, 0);
    conn_resume(s->c);
}

/* LIST and NLST take "ls" options from some clients ("LIST -la"): they are
 * skipped; what follows is the path. */
static void list(struct ftp_session *s, const struct ftp_cmd *cmd, enum ftp_verb verb)
{
    const char *arg = cmd->arg;
    size_t len = cmd->arglen;
    if (verb == FTP_LIST || verb == FTP_NLST || verb == FTP_STAT) {
        while (len > 0 && arg[0] == '-') {
            const char *sp = memchr(arg, ' ', len);
            if (!sp) {
                len = 0;
                break;
            }
            len -= (size_t)(sp + 1 - arg);
            arg = sp + 1;
            while (len > 0 && arg[0] == ' ') {
                arg++;
                len--;
            }
        }
    }
    char lp[FTP_VPATH_MAX];
    if (ftp_path_join(s->cwd, arg, len, lp, sizeof lp) < 0) {
        ftp_error(s, 553, "File name too long");
        return;
    }
    if (!ftp_set_str(&s->x.lpath, lp)) {
        ftp_error(s, 451, "Out of memory");
        return;
    }
    free(s->x.lprefix);
    s->x.lprefix = NULL;
    const char *slash = memrchr(arg, '/', len);
    if (verb == FTP_NLST && slash) {
        char pre[FTP_VPATH_MAX];
        size_t plen = (size_t)(slash - arg) + 1;
        if (plen < sizeof pre) {
            memcpy(pre, arg, plen);
            pre[plen] = '\0';
            if (!ftp_set_str(&s->x.lprefix, pre)) {
                ftp_error(s, 451, "Out of memory");
                return;
            }
        }
    }
    if (verb != FTP_STAT && !data_ready(s))
        return;
    s->x.lverb = verb;
    buf_clear(&s->x.list);
    ftp_on_pool(s, list_work, list_done);
}

static void cmd_list(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    list(s, cmd, FTP_LIST);
}

static void cmd_nlst(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    list(s, cmd, FTP_NLST);
}

static void cmd_mlsd(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    list(s, cmd, FTP_MLSD);
}

void ftp_stat_path(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    list(s, cmd, FTP_STAT);
}

/* ---- SITE ---------------------------------------------------------------------- */

static void cmd_site(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    const char *a = cmd->arg;
    const char *sp = strchr(a, ' ');
    size_t vlen = sp ? (size_t)(sp - a) : cmd->arglen;
    if (str_ieq(a, vlen, "CHMOD") && sp) {
        ftp_site_chmod(s, sp + 1);
        return;
    }
    if (str_ieq(a, vlen, "HELP")) {
        static const char body[] = "CHMOD <octal mode> <path>\nHELP";
        ftp_reply_multi(s, 214, "SITE commands:", body, sizeof body - 1, "End");
        return;
    }
    ftp_error(s, 500, "Unknown SITE command (see SITE HELP)");
}

static void cmd_pass_again(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_error(s, 503, "Already logged in");
}

static void cmd_host_late(struct ftp_session *s, const struct ftp_cmd *cmd)
{
    ftp_error(s, 503, "HOST must come before USER");
}

/* ---- the table --------------------------------------------------------------------- */

const struct ftp_command ftp_postlogin[] = {
    {FTP_USER, ftp_cmd_user, "USER <sp> username"},
    {FTP_PASS, cmd_pass_again, "PASS <sp> password"},
    {FTP_ACCT, ftp_cmd_acct, "ACCT <sp> account"},
    {FTP_CWD, ftp_cmd_cwd, "CWD <sp> path"},
    {FTP_CDUP, ftp_cmd_cdup, "CDUP"},
    {FTP_SMNT, cmd_smnt, "SMNT <sp> path"},
    {FTP_QUIT, ftp_cmd_quit, "QUIT"},
    {FTP_REIN, ftp_cmd_rein, "REIN"},
    {FTP_PORT, cmd_port, "PORT <sp> h1,h2,h3,h4,p1,p2"},
    {FTP_PASV, cmd_pasv, "PASV"},
    {FTP_TYPE, cmd_type, "TYPE <sp> A|I|L 8"},
    {FTP_STRU, cmd_stru, "STRU <sp> F"},
    {FTP_MODE, cmd_mode, "MODE <sp> S"},
    {FTP_RETR, cmd_retr, "RETR <sp> path"},
    {FTP_STOR, cmd_stor, "STOR <sp> path"},
    {FTP_STOU, cmd_stou, "STOU [<sp> name]"},
    {FTP_APPE, cmd_appe, "APPE <sp> path"},
    {FTP_ALLO, cmd_allo, "ALLO <sp> bytes"},
    {FTP_REST, cmd_rest, "REST <sp> offset"},
    {FTP_RNFR, ftp_cmd_rnfr, "RNFR <sp> path"},
    {FTP_RNTO, ftp_cmd_rnto, "RNTO <sp> path"},
    {FTP_ABOR, ftp_cmd_abor, "ABOR"},
    {FTP_DELE, ftp_cmd_dele, "DELE <sp> path"},
    {FTP_RMD, ftp_cmd_rmd, "RMD <sp> path"},
    {FTP_MKD, ftp_cmd_mkd, "MKD <sp> path"},
    {FTP_PWD, ftp_cmd_pwd, "PWD"},
    {FTP_LIST, cmd_list, "LIST [<sp> path]"},
    {FTP_NLST, cmd_nlst, "NLST [<sp> path]"},
    {FTP_SITE, cmd_site, "SITE <sp> CHMOD|HELP"},
    {FTP_SYST, ftp_cmd_syst, "SYST"},
    {FTP_STAT, ftp_cmd_stat, "STAT [<sp> path]"},
    {FTP_HELP, ftp_cmd_help, "HELP [<sp> command]"},
    {FTP_NOOP, ftp_cmd_noop, "NOOP"},
    {FTP_FEAT, ftp_cmd_feat, "FEAT"},
    {FTP_OPTS, ftp_cmd_opts, "OPTS <sp> UTF8 ON|MLST facts"},
    {FTP_EPRT, cmd_eprt, "EPRT <sp> |proto|address|port|"},
    {FTP_EPSV, cmd_epsv, "EPSV [<sp> 1|2|ALL]"},
    {FTP_SIZE, ftp_cmd_size, "SIZE <sp> path"},
    {FTP_MDTM, ftp_cmd_mdtm, "MDTM <sp> path"},
    {FTP_MLST, ftp_cmd_mlst, "MLST [<sp> path]"},
    {FTP_MLSD, cmd_mlsd, "MLSD [<sp> path]"},
    {FTP_AUTH, ftp_cmd_auth, "AUTH <sp> TLS"},
    {FTP_PBSZ, ftp_cmd_pbsz, "PBSZ <sp> 0"},
    {FTP_PROT, ftp_cmd_prot, "PROT <sp> C|P"},
    {FTP_CCC, ftp_cmd_ccc, "CCC"},
    {FTP_HOST, cmd_host_late, "HOST <sp> hostname"},
};
const size_t ftp_npostlogin = ARRAY_LEN(ftp_postlogin);
