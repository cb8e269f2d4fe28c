/*
 * queue.c - durable acceptance of mail (local delivery and the outgoing
 * queue) and the delivery runner's side of the queue. See queue.h.
 *
 * Layout: <datadir>/queue/ holds two files per queued message,
 *
 *   <id>.msg    the message exactly as accepted (never changed; the
 *               runner's data_fd; its flock is the entry's lease)
 *   <id>.env    envelope and per-recipient state (mail/qentry.h), only
 *               remote recipients; written once by queue_submit, then
 *               replaced atomically (<id>.env.tmp.* + rename) by the lease
 *               holder; its presence is what makes the entry exist
 *   flush       marker: a byte is appended (size and mtime change) when
 *               `outpost queue flush` or `delete` changed the queue behind
 *               a running server's back
 *
 * IDs are 8 hex digits of the arrival second, 5 of the microsecond and 6
 * random ones; the .msg file is created O_EXCL, so an ID is never reused,
 * across restarts too, while its entry exists.
 *
 * queue_submit, in an order where a crash at any point either leaves
 * nothing that counts or everything (RFC 5321 section 6.1):
 *   1. the message with "Return-Path:" prepended, once, in the first local
 *      recipient's tmp/;
 *   2. <id>.msg and <id>.env written (O_EXCL); all three files' writeback
 *      started, then each fsync'ed (they share one journal commit);
 *   3. the tmp file hard-linked into each local recipient's new/ (so n
 *      mailboxes share one copy);
 *   4. each new/ and queue/ fsync'ed: only now is 0 returned.
 * A failure before the end takes back what 3 made visible (unlink, then
 * fsync again), so the client's retry cannot give a second copy. A crash
 * before 4 ends leaves, at worst, a message in new/ whose submit never
 * returned 0 (the client retries: the RFC 5321 section 6.1 duplicate that
 * only an acknowledgement lost in transit can cause), and queue files that
 * queue_init() sorts out: an .env that does not parse or has no .msg, and
 * an .msg without .env, come from a submit that never returned 0 and are
 * removed, as are .tmp leftovers of rewrites. Leases are flocks and die
 * with their process.
 *
 * Concurrency: no lock is held across I/O. Each thread fsyncs its own
 * files; the file system's journal commits concurrent fsyncs together
 * (group commit). The in-memory index (id, next attempt, busy) is guarded
 * by one mutex held for list operations only.
 */
#include "mail/queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/dsn.h"
#include "mail/maildir.h"
#include "mail/mstore.h"
#include "mail/qentry.h"
#include "mail/qstore.h"

#define QUEUE_IDLE_WAIT 86400u        /* wait_s when nothing is queued */
#define DSN_FULL_MAX (1u << 20)       /* larger originals come back as headers only */
#define ID_TRIES 8

/* One queued message as the server knows it. */
struct qidx {
    char id[QUEUE_ID_MAX];
    int64_t next;
    bool busy;                        /* claimed by a runner of this process */
};

static struct {
    pthread_mutex_t mu;
    bool ready;
    struct queue_config cfg;
    char datadir[4096], qdir[4096], hostname[256];
    struct qidx *v;
    size_t n, cap;
    struct timespec marker_mtime;     /* the flush marker as last seen */
    off_t marker_size;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- the in-memory index -------------------------------------------------- */

/* Caller holds g.mu. */
static struct qidx *idx_find(const char *id)
{
    for (size_t i = 0; i < g.n; i++)
        if (strcmp(g.v[i].id, id) == 0)
            return &g.v[i];
    return NULL;
}

/* Caller holds g.mu; id is not in the index. */
static int idx_append(const char *id, int64_t next)
{
    if (g.n == g.cap) {
        size_t nc = g.cap ? g.cap * 2 : 64;
        struct qidx *nv = realloc(g.v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        g.v = nv;
        g.cap = nc;
    }
    struct qidx *q = &g.v[g.n++];
    memset(q, 0, sizeof *q);
    str_copy(q->id, sizeof q->id, id);
    q->next = next;
    return 0;
}

/* Caller holds g.mu. */
static void idx_del(const char *id)
{
    struct qidx *q = idx_find(id);
    if (q)
        *q = g.v[--g.n];
}

/* ---- start-up: recovery and the index ------------------------------------ */

/* Does dir/name exist? */
static bool exists_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Scan queue/: with recover, remove leftovers (see the header comment);
 * always put every complete entry into the index. Caller holds no lock. */
static int scan(bool recover)
{
    DIR *d = opendir(g.qdir);
    if (!d)
        return -errno;
    struct qidx *nv = NULL;
    size_t nn = 0, ncap = 0;
    int removed = 0, r = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] == '.')
            continue;
        const char *dot = strchr(name, '.');
        char id[QUEUE_ID_MAX];
        if (!dot || (size_t)(dot - name) >= sizeof id)
            continue;
        memcpy(id, name, (size_t)(dot - name));
        id[dot - name] = '\0';
        if (!qstore_valid_id(id))
            continue;
        char other[QUEUE_ID_MAX + 8];
        if (strcmp(dot, ".msg") == 0)
            continue;                   /* second pass, below */
        if (strncmp(dot, ".env.tmp", 8) == 0) {
            if (recover && unlinkat(dirfd(d), name, 0) == 0)
                removed++;
            continue;
        }
        if (strcmp(dot, ".env") != 0)
            continue;
        struct qentry qe;
        int pr = qstore_read(g.datadir, id, &qe);
        snprintf(other, sizeof other, "%s.msg", id);
        if (pr < 0 || !exists_at(dirfd(d), other)) {
            if (pr == 0)
                qentry_free(&qe);
            /* While running, an .env being written is not complete yet:
             * only start-up may judge it. */
            if (recover && pr != -ENOMEM && unlinkat(dirfd(d), name, 0) == 0) {
                removed++;
                log_warn("queue %s: removed an entry whose submit never finished", id);
            }
            continue;
        }
        if (nn == ncap) {
            size_t nc = ncap ? ncap * 2 : 64;
            struct qidx *t = realloc(nv, nc * sizeof *t);
            if (!t) {
                qentry_free(&qe);
                r = -ENOMEM;
                break;
            }
            nv = t;
            ncap = nc;
        }
        memset(&nv[nn], 0, sizeof nv[nn]);
        str_copy(nv[nn].id, sizeof nv[nn].id, id);
        nv[nn].next = qe.next_attempt;
        nn++;
        qentry_free(&qe);
    }
    /* Second pass, once the envelopes have been judged: a body without
     * its envelope is a leftover. */
    if (recover && r == 0) {
        rewinddir(d);
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || len - 4 >= QUEUE_ID_MAX || strcmp(e->d_name + len - 4, ".msg") != 0)
                continue;
            char env[QUEUE_ID_MAX + 8];
            snprintf(env, sizeof env, "%.*s.env", (int)(len - 4), e->d_name);
            if (!exists_at(dirfd(d), env) && unlinkat(dirfd(d), e->d_name, 0) == 0)
                removed++;
        }
    }
    closedir(d);
    if (removed > 0) {
        int fr = fsync_dir(g.qdir);
        if (fr < 0)
            log_warn("queue: fsync %s: %s", g.qdir, op_strerror(fr));
    }
    if (r < 0) {
        free(nv);
        return r;
    }
    /* Merge into the index rather than replace it: a submit may have
     * added an entry after readdir passed its name; entries claimed right
     * now keep what their runner will write. Entries gone from disk stay
     * until queue_claim() finds them missing. */
    pthread_mutex_lock(&g.mu);
    for (size_t j = 0; j < nn && r == 0; j++) {
        struct qidx *q = idx_find(nv[j].id);
        if (q) {
            if (!q->busy)
                q->next = nv[j].next;
        } else {
            r = idx_append(nv[j].id, nv[j].next);
        }
    }
    pthread_mutex_unlock(&g.mu);
    free(nv);
    if (r < 0)
        return r;
    return removed;
}

/* The marker's state (mtime, size), or zeros when it does not exist. */
struct marker {
    struct timespec mtime;
    off_t size;
};

static struct marker marker_state(void)
{
    char path[4096];
    struct stat st;
    struct marker m = {{0, 0}, 0};
    if (qstore_path(path, sizeof path, g.datadir, QSTORE_MARKER, "") == 0 && stat(path, &st) == 0) {
        m.mtime = st.st_mtim;
        m.size = st.st_size;
    }
    return m;
}

int queue_init(const struct queue_config *cfg)
{
    if (!cfg->datadir || !cfg->datadir[0])
        return -EINVAL;
    g.cfg = *cfg;
    if (!str_copy(g.datadir, sizeof g.datadir, cfg->datadir) ||
        !str_copy(g.hostname, sizeof g.hostname, cfg->hostname && cfg->hostname[0] ? cfg->hostname : "localhost"))
        return -ENAMETOOLONG;
    g.cfg.datadir = g.datadir;
    g.cfg.hostname = g.hostname;
    if (g.cfg.retry_min_s == 0)
        g.cfg.retry_min_s = 60;
    if (g.cfg.retry_max_s < g.cfg.retry_min_s)
        g.cfg.retry_max_s = g.cfg.retry_min_s;
    if (g.cfg.expiry_s == 0)
        g.cfg.expiry_s = 5 * 86400;
    int r = qstore_dir(g.qdir, sizeof g.qdir, g.datadir);
    if (r < 0)
        return r;
    if ((r = mkdir_p(g.qdir, 0700)) < 0)
        return r;
    char parent[4096];
    path_dirname(g.qdir, parent, sizeof parent);
    if ((r = fsync_dir(parent)) < 0)
        return r;
    struct marker mk = marker_state();
    g.marker_mtime = mk.mtime;
    g.marker_size = mk.size;
    if ((r = scan(true)) < 0)
        return r;
    if (r > 0)
        log_info("queue: removed %d leftovers of an earlier run", r);
    pthread_mutex_lock(&g.mu);
    log_info("queue: %zu messages queued in %s", g.n, g.qdir);
    g.ready = true;
    pthread_mutex_unlock(&g.mu);
    return 0;
}

void queue_shutdown(void)
{
    pthread_mutex_lock(&g.mu);
    free(g.v);
    g.v = NULL;
    g.n = g.cap = 0;
    g.ready = false;
    pthread_mutex_unlock(&g.mu);
}

/* ---- submit -------------------------------------------------------------- */

static int make_id(char id[QUEUE_ID_MAX])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t rnd;
    int r = random_bytes(&rnd, sizeof rnd);
    if (r < 0)
        return r;
    snprintf(id, QUEUE_ID_MAX, "%08" PRIX32 "%05lX%06" PRIX32, (uint32_t)ts.tv_sec,
             ts.tv_nsec / 1000, rnd & 0xffffff);
    return 0;
}

/* Create path exclusively and write the pieces, then start their
 * writeback (fsync comes later, see write_entry). -EEXIST when the name is
 * taken; on other failures nothing is left. Returns the open fd. */
static int write_new(const char *path, const struct iovec *iov, int iovcnt)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int r = 0;
    for (int k = 0; k < iovcnt && r == 0; k++)
        r = write_all(fd, iov[k].iov_base, iov[k].iov_len);
    /* Writeback of both files under way before the first fsync waits: the
     * file system then commits them together instead of one after the
     * other. A hint only; fsync below is the guarantee. */
    if (r == 0)
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (r < 0) {
        close(fd);
        unlink(path);
        return r;
    }
    return fd;
}

/* fsync and close fd; 0 or -errno (close errors count: NFS reports
 * ENOSPC/EDQUOT there). */
static int sync_close(int fd)
{
    int r = fsync(fd) < 0 ? -errno : 0;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

/* The queue files of one submit: <id>.msg then <id>.env, both fsync'ed
 * (queue/ is not fsync'ed yet). Picks a fresh ID while the name is taken. */
static int write_entry(const struct queue_envelope *env, const void *data, size_t len,
                       char id[QUEUE_ID_MAX], time_t now)
{
    struct qentry e;
    memset(&e, 0, sizeof e);
    e.arrival = now;
    e.next_attempt = now;
    e.ret = env->ret;
    e.body_8bit = env->body_8bit;
    e.smtputf8 = env->smtputf8;
    str_copy(e.sender, sizeof e.sender, env->sender ? env->sender : "");
    if (env->envid) {
        e.has_envid = true;
        str_copy(e.envid, sizeof e.envid, env->envid);
    }
    str_copy(e.client, sizeof e.client, env->client ? env->client : "");
    e.rcpts = calloc(env->nrcpts, sizeof *e.rcpts);
    if (!e.rcpts)
        return -ENOMEM;
    for (size_t i = 0; i < env->nrcpts; i++)
        if (!env->rcpts[i].local) {
            e.rcpts[e.nrcpts].s.r = env->rcpts[i];
            e.rcpts[e.nrcpts].s.state = QUEUE_PENDING;
            e.nrcpts++;
        }
    struct buf b = BUF_INIT;
    int r = qentry_format(&e, &b);
    qentry_free(&e);
    char msg[4096], envp[4096];
    for (int t = 0; r == 0 && t < ID_TRIES; t++) {
        if (t > 0 && (r = make_id(id)) < 0)
            break;
        if ((r = qstore_path(msg, sizeof msg, g.datadir, id, ".msg")) < 0 ||
            (r = qstore_path(envp, sizeof envp, g.datadir, id, ".env")) < 0)
            break;
        struct iovec body = {(void *)data, len};
        int mfd = write_new(msg, &body, 1);
        if (mfd == -EEXIST)
            continue;
        if (mfd < 0) {
            r = mfd;
            break;
        }
        struct iovec ev = {(void *)buf_ptr(&b), buf_len(&b)};
        int efd = write_new(envp, &ev, 1);
        r = sync_close(mfd);
        if (efd < 0) {
            r = efd;
        } else {
            int r2 = sync_close(efd);
            if (r == 0)
                r = r2;
        }
        if (r < 0) {
            if (efd >= 0)
                unlink(envp);
            unlink(msg);
        }
        break;
    }
    buf_free(&b);
    return r;
}

/* Undo write_entry(). */
static void remove_entry(const char *id)
{
    char path[4096];
    if (qstore_path(path, sizeof path, g.datadir, id, ".env") == 0)
        unlink(path);
    if (qstore_path(path, sizeof path, g.datadir, id, ".msg") == 0)
        unlink(path);
}

/* A mailbox in use has new/ and tmp/: two stats instead of the mkdir
 * chain of maildir_create() on every message. */
static bool maildir_ready(const char *root)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/new", root);
    if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    snprintf(p, sizeof p, "%s/tmp", root);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void notify_local_success(const struct queue_envelope *env, const void *data, size_t len,
                                 time_t now);

int queue_submit(const struct queue_envelope *env, const void *data, size_t len,
                 char id[QUEUE_ID_MAX])
{
    if (!g.ready)
        return -EINVAL;
    if (env->nrcpts == 0)
        return -EINVAL;
    time_t now = time(NULL);
    int r = make_id(id);
    if (r < 0)
        return r;
    size_t nlocal = 0, nremote = 0;
    for (size_t i = 0; i < env->nrcpts; i++)
        if (env->rcpts[i].local)
            nlocal++;
        else
            nremote++;

    /* Distinct local mailboxes (two aliases of one account get one copy). */
    char **roots = nlocal ? calloc(nlocal, sizeof *roots) : NULL;
    char **finals = nlocal ? calloc(nlocal, sizeof *finals) : NULL;
    size_t nroots = 0;
    struct maildir_tmp *tmp = NULL;
    bool entry = false;
    if (nlocal && (!roots || !finals)) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < env->nrcpts; i++) {
        if (!env->rcpts[i].local)
            continue;
        char root[4096];
        if ((r = mstore_root(g.datadir, env->rcpts[i].addr, root, sizeof root)) < 0)
            goto fail;
        size_t k;
        for (k = 0; k < nroots && strcmp(roots[k], root) != 0; k++)
            ;
        if (k < nroots)
            continue;
        if (!(roots[nroots] = strdup(root)) || !(finals[nroots] = calloc(1, 4096))) {
            nroots++;
            r = -ENOMEM;
            goto fail;
        }
        nroots++;
        if (!maildir_ready(root) && (r = maildir_create(root)) < 0) {
            log_err("queue %s: cannot create mailbox %s: %s", id, root, op_strerror(r));
            goto fail;
        }
    }
    /* 1. The local copy, Return-Path first (RFC 5321 section 4.4). */
    if (nroots) {
        char rp[ADDRESS_MAX + 32];
        int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\r\n", env->sender ? env->sender : "");
        struct iovec iov[2] = {{rp, (size_t)n}, {(void *)data, len}};
        if (!(tmp = malloc(sizeof *tmp))) {
            r = -ENOMEM;
            goto fail;
        }
        tmp->path[0] = '\0';
        tmp->fd = -1;
        /* Written now, fsync'ed after the queue files' (one commit). */
        if ((r = maildir_tmp_begin(roots[0], iov, 2, tmp)) < 0)
            goto fail;
    }
    /* 2. The queue entry. */
    if (nremote) {
        if ((r = write_entry(env, data, len, id, now)) < 0)
            goto fail;
        entry = true;
    }
    if (tmp && (r = maildir_tmp_end(tmp)) < 0)
        goto fail;
    /* 3. Publish into each new/. */
    for (size_t k = 0; k < nroots; k++) {
        r = maildir_tmp_link(roots[k], tmp, finals[k], 4096);
        if (r == -EXDEV || r == -ENOENT) {
            /* Another file system (or the tmp name went away with a
             * rename fallback): a copy of its own for this mailbox. */
            char rp[ADDRESS_MAX + 32];
            int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\r\n", env->sender ? env->sender : "");
            struct iovec iov[2] = {{rp, (size_t)n}, {(void *)data, len}};
            struct maildir_tmp t2;
            if ((r = maildir_tmp_write(roots[k], iov, 2, &t2)) == 0) {
                r = maildir_tmp_link(roots[k], &t2, finals[k], 4096);
                maildir_tmp_discard(&t2);
            }
        }
        if (r < 0) {
            finals[k][0] = '\0';
            goto fail;
        }
    }
    /* 4. Make every name durable. */
    for (size_t k = 0; k < nroots; k++) {
        char newdir[4200];
        snprintf(newdir, sizeof newdir, "%s/new", roots[k]);
        if ((r = fsync_dir(newdir)) < 0)
            goto fail;
    }
    if (entry && (r = fsync_dir(g.qdir)) < 0)
        goto fail;
    if (tmp)
        maildir_tmp_discard(tmp);
    if (entry) {
        pthread_mutex_lock(&g.mu);
        if (idx_append(id, now) < 0)
            log_warn("queue %s: no memory for the index; it is found at the next start", id);
        pthread_mutex_unlock(&g.mu);
    }
    log_info("queue %s: accepted %zu octets from <%s> %s for %zu local, %zu remote recipients",
             id, len, env->sender ? env->sender : "", env->client ? env->client : "", nlocal, nremote);
    notify_local_success(env, data, len, now);
    for (size_t k = 0; k < nroots; k++) {
        free(roots[k]);
        free(finals[k]);
    }
    free(roots);
    free(finals);
    free(tmp);
    return 0;

fail:
    log_err("queue %s: message from <%s> %s not accepted: %s", id, env->sender ? env->sender : "",
            env->client ? env->client : "", op_strerror(r));
    for (size_t k = 0; k < nroots; k++) {
        if (finals && finals[k] && finals[k][0]) {
            /* Take the copy back, durably: the client was not told 250 and
             * will send it again. */
            unlink(finals[k]);
            char newdir[4200];
            snprintf(newdir, sizeof newdir, "%s/new", roots[k]);
            fsync_dir(newdir);
        }
        free(roots[k]);
        if (finals)
            free(finals[k]);
    }
    free(roots);
    free(finals);
    if (tmp) {
        maildir_tmp_discard(tmp);
        free(tmp);
    }
    if (entry) {
        remove_entry(id);
        fsync_dir(g.qdir);
    }
    return r;
}

/* ---- notifications (RFC 3464) -------------------------------------------- */

/* Submit a notification to `to` (the original sender, never ""). */
static int send_dsn(const struct dsn_report *rep, bool body_8bit, const char *for_id)
{
    struct buf b = BUF_INIT;
    int r = dsn_build(rep, &b);
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    struct queue_rcpt rc;
    memset(&rc, 0, sizeof rc);
    int loc = 0;
    if (g.cfg.local_rcpt)
        loc = g.cfg.local_rcpt(g.cfg.local_arg, rep->to, rc.addr);
    if (loc < 0) {
        log_warn("queue %s: delivery status notification to <%s> dropped: %s", for_id, rep->to,
                 op_strerror(loc));
        buf_free(&b);
        return 0;
    }
    if (loc == 0)
        str_copy(rc.addr, sizeof rc.addr, rep->to);
    rc.local = loc > 0;
    /* The notification itself asks for nothing (RFC 3461 section 6.2). */
    rc.notify = QUEUE_NOTIFY_NEVER;
    /* A UTF-8 address (RFC 6531) needs SMTPUTF8 on the way; the returned
     * original may carry 8-bit text. */
    bool utf8 = false;
    for (const unsigned char *p = (const unsigned char *)rep->to; *p; p++)
        utf8 = utf8 || *p >= 0x80;
    struct queue_envelope env = {
        .sender = "", .rcpts = &rc, .nrcpts = 1, .ret = QUEUE_RET_HDRS,
        .body_8bit = body_8bit || utf8, .smtputf8 = utf8, .client = "[local notification]",
    };
    char id[QUEUE_ID_MAX];
    r = queue_submit(&env, buf_ptr(&b), buf_len(&b), id);
    if (r == 0)
        log_info("queue %s: delivery status notification to <%s> queued as %s", for_id, rep->to, id);
    buf_free(&b);
    return r;
}

/* Does rcpt want a report of this kind? RFC 3461 section 4.1: NEVER wins;
 * without NOTIFY only failures are reported. */
static bool wants(unsigned notify, unsigned kind)
{
    if (notify & QUEUE_NOTIFY_NEVER)
        return false;
    if (notify == 0)
        return kind == QUEUE_NOTIFY_FAILURE;
    return (notify & kind) != 0;
}

/* RFC 3461 section 4.1: NOTIFY=SUCCESS asks for a report on delivery; for
 * local recipients that happened in queue_submit. */
static void notify_local_success(const struct queue_envelope *env, const void *data, size_t len,
                                 time_t now)
{
    if (!env->sender || !env->sender[0])
        return;
    size_t n = 0;
    for (size_t i = 0; i < env->nrcpts; i++)
        if (env->rcpts[i].local && wants(env->rcpts[i].notify, QUEUE_NOTIFY_SUCCESS))
            n++;
    if (n == 0)
        return;
    struct dsn_rcpt *dr = calloc(n, sizeof *dr);
    if (!dr)
        return;
    n = 0;
    for (size_t i = 0; i < env->nrcpts; i++) {
        const struct queue_rcpt *q = &env->rcpts[i];
        if (!q->local || !wants(q->notify, QUEUE_NOTIFY_SUCCESS))
            continue;
        dr[n++] = (struct dsn_rcpt){.orcpt = q->orcpt, .addr = q->addr, .action = DSN_DELIVERED,
                                    .status = "2.0.0", .diag = "250 2.0.0 delivered to the mailbox",
                                    .last_attempt = now};
    }
    struct dsn_report rep = {
        .reporting_mta = g.hostname, .to = env->sender, .envid = env->envid, .arrival = now,
        .now = now, .rcpts = dr, .nrcpts = n, .headers_only = true, .orig = data, .origlen = len,
    };
    int r = send_dsn(&rep, false, "(local)");
    if (r < 0)
        log_warn("queue: success notification to <%s> not sent: %s", env->sender, op_strerror(r));
    free(dr);
}

/* ---- the runner's side --------------------------------------------------- */

/* What queue_claim hands out, with what only this file needs. */
struct qclaim {
    struct queue_msg m;               /* first: queue_msg * converts back */
    struct qentry e;                  /* as read at claim time */
    bool *touched;                    /* recipient i got a result this attempt */
    bool *relayed;                    /* ... and went to a hop without DSN */
    char **mta;                       /* and the host that gave it */
};

static void claim_free(struct qclaim *c)
{
    if (c->m.data_fd >= 0)
        close(c->m.data_fd);          /* releases the lease */
    for (size_t i = 0; i < c->m.nrcpts; i++)
        free(c->mta ? c->mta[i] : NULL);
    free(c->mta);
    free(c->touched);
    free(c->relayed);
    free(c->m.rcpts);
    free(c->m.sender);
    free(c->m.envid);
    qentry_free(&c->e);
    free(c);
}

/* Clear the busy mark of id in the index and set its next attempt (or
 * drop it when gone). */
static void unbusy(const char *id, int64_t next, bool gone)
{
    pthread_mutex_lock(&g.mu);
    if (gone) {
        idx_del(id);
    } else {
        struct qidx *q = idx_find(id);
        if (q) {
            q->busy = false;
            q->next = next;
        }
    }
    pthread_mutex_unlock(&g.mu);
}

/* Build the runner's view of entry id, whose lease fd holds. */
static int make_claim(const char *id, int fd, struct qentry *e, struct queue_msg **out)
{
    struct qclaim *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->m.data_fd = fd;
    c->e = *e;
    memset(e, 0, sizeof *e);
    str_copy(c->m.id, sizeof c->m.id, id);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        c->m.data_fd = -1;
        claim_free(c);
        return r;
    }
    c->m.data_len = (uint64_t)st.st_size;
    c->m.sender = strdup(c->e.sender);
    c->m.envid = c->e.has_envid ? strdup(c->e.envid) : NULL;
    c->m.ret = c->e.ret;
    c->m.body_8bit = c->e.body_8bit;
    c->m.smtputf8 = c->e.smtputf8;
    c->m.arrival = (time_t)c->e.arrival;
    c->m.attempts = c->e.attempts;
    c->m.nrcpts = c->e.nrcpts;
    c->m.rcpts = calloc(c->e.nrcpts, sizeof *c->m.rcpts);
    c->touched = calloc(c->e.nrcpts, sizeof *c->touched);
    c->relayed = calloc(c->e.nrcpts ? c->e.nrcpts : 1, sizeof *c->relayed);
    c->mta = calloc(c->e.nrcpts, sizeof *c->mta);
    if (!c->m.sender || (c->e.has_envid && !c->m.envid) || !c->m.rcpts || !c->touched ||
        !c->relayed || !c->mta) {
        c->m.data_fd = -1;
        claim_free(c);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->e.nrcpts; i++)
        c->m.rcpts[i] = c->e.rcpts[i].s;
    *out = &c->m;
    return 1;
}

int queue_claim(time_t now, struct queue_msg **out, unsigned *wait_s)
{
    if (!g.ready)
        return -EINVAL;
    /* A flush or delete from `outpost queue`: one stat per call tells. */
    struct marker mk = marker_state();
    pthread_mutex_lock(&g.mu);
    bool changed = mk.mtime.tv_sec != g.marker_mtime.tv_sec ||
                   mk.mtime.tv_nsec != g.marker_mtime.tv_nsec || mk.size != g.marker_size;
    g.marker_mtime = mk.mtime;
    g.marker_size = mk.size;
    pthread_mutex_unlock(&g.mu);
    if (changed) {
        int r = scan(false);
        if (r < 0)
            log_warn("queue: rescan after a change from outside: %s", op_strerror(r));
    }
    for (int tries = 0; tries < 64; tries++) {
        char id[QUEUE_ID_MAX];
        int64_t best_next = INT64_MAX;
        struct qidx *best = NULL;
        pthread_mutex_lock(&g.mu);
        for (size_t i = 0; i < g.n; i++) {
            if (g.v[i].busy)
                continue;
            /* Flushed ones have next == 0 and come first. */
            if (g.v[i].next < best_next || (g.v[i].next == best_next && best &&
                                             strcmp(g.v[i].id, best->id) < 0)) {
                best = &g.v[i];
                best_next = g.v[i].next;
            }
        }
        if (!best || best_next > (int64_t)now) {
            if (wait_s)
                *wait_s = !best ? QUEUE_IDLE_WAIT
                        : (best_next - (int64_t)now > (int64_t)QUEUE_IDLE_WAIT ? QUEUE_IDLE_WAIT
                                                                               : (unsigned)(best_next - (int64_t)now));
            pthread_mutex_unlock(&g.mu);
            return 0;
        }
        best->busy = true;
        str_copy(id, sizeof id, best->id);
        pthread_mutex_unlock(&g.mu);

        int fd = qstore_lock(g.datadir, id);
        if (fd == OP_E_LOCKED) {
            /* Another process (a second server, the CLI deleting) has it:
             * look again a little later. */
            unbusy(id, (int64_t)now + 1, false);
            continue;
        }
        if (fd == OP_E_NOTFOUND) {
            unbusy(id, 0, true);
            continue;
        }
        if (fd < 0) {
            unbusy(id, (int64_t)now + g.cfg.retry_min_s, false);
            return fd;
        }
        struct qentry e;
        int r = qstore_read(g.datadir, id, &e);
        if (r == OP_E_NOTFOUND) {
            close(fd);
            unbusy(id, 0, true);
            continue;
        }
        if (r < 0) {
            close(fd);
            log_err("queue %s: cannot read its envelope: %s", id, op_strerror(r));
            unbusy(id, (int64_t)now + g.cfg.retry_min_s, false);
            continue;
        }
        if (e.next_attempt > (int64_t)now) {
            /* Rescheduled behind our back (another process): follow it. */
            close(fd);
            unbusy(id, e.next_attempt, false);
            qentry_free(&e);
            continue;
        }
        r = make_claim(id, fd, &e, out);
        if (r < 0) {
            close(fd);
            qentry_free(&e);
            unbusy(id, (int64_t)now + 1, false);
            return r;
        }
        if (wait_s)
            *wait_s = 0;
        return 1;
    }
    if (wait_s)
        *wait_s = 1;
    return 0;
}

void queue_rcpt_result(struct queue_msg *m, size_t i, enum queue_rcpt_state st,
                       const char *diag, const char *remote_mta)
{
    struct qclaim *c = (struct qclaim *)m;
    if (i >= m->nrcpts || m->rcpts[i].state != QUEUE_PENDING)
        return;
    m->rcpts[i].state = st;
    /* One line: a multi-line reply's line ends would break the report. */
    str_copy(m->rcpts[i].last_error, sizeof m->rcpts[i].last_error, diag ? diag : "");
    for (char *p = m->rcpts[i].last_error; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    c->touched[i] = true;
    free(c->mta[i]);
    c->mta[i] = remote_mta && remote_mta[0] ? strdup(remote_mta) : NULL;
}

void queue_rcpt_relayed(struct queue_msg *m, size_t i)
{
    struct qclaim *c = (struct qclaim *)m;
    if (i < m->nrcpts && c->touched[i] && m->rcpts[i].state == QUEUE_DELIVERED)
        c->relayed[i] = true;
}

/* The interval before the next attempt after `attempts` attempts:
 * retry_min_s doubling up to retry_max_s. */
static int64_t retry_interval(unsigned attempts)
{
    uint64_t iv = g.cfg.retry_min_s;
    for (unsigned k = 1; k < attempts && iv < g.cfg.retry_max_s; k++)
        iv *= 2;
    if (iv > g.cfg.retry_max_s)
        iv = g.cfg.retry_max_s;
    return (int64_t)iv;
}

/* queue_release() and, with cut, queue_release_cut(). */
static int release(struct queue_msg *m, time_t now, bool cut)
{
    struct qclaim *c = (struct qclaim *)m;
    struct qentry *e = &c->e;
    int64_t expires = e->arrival + (int64_t)g.cfg.expiry_s;
    bool expired = !cut && (int64_t)now >= expires;
    if (!cut)
        e->attempts++;
    /* The outcome into the entry; what changed now decides the reports. */
    size_t nreport = 0;
    struct dsn_rcpt *dr = calloc(e->nrcpts ? e->nrcpts : 1, sizeof *dr);
    size_t *ridx = calloc(e->nrcpts ? e->nrcpts : 1, sizeof *ridx);
    char (*stat)[16] = calloc(e->nrcpts ? e->nrcpts : 1, sizeof *stat);
    if (!dr || !stat || !ridx) {
        free(dr);
        free(ridx);
        free(stat);
        unbusy(m->id, (int64_t)now + 1, false);
        claim_free(c);
        return -ENOMEM;
    }
    bool want_delay = !cut && g.cfg.delay_warn_s && !e->warned &&
                      (int64_t)now - e->arrival >= (int64_t)g.cfg.delay_warn_s;
    bool any_delay = false, any_pending = false;
    for (size_t i = 0; i < e->nrcpts; i++) {
        struct qentry_rcpt *q = &e->rcpts[i];
        if (q->s.state != QUEUE_PENDING)
            continue;                       /* settled earlier */
        struct queue_rcpt_status *s = &m->rcpts[i];
        if (c->touched[i]) {
            q->s.state = s->state;
            str_copy(q->s.last_error, sizeof q->s.last_error, s->last_error);
            str_copy(q->remote_mta, sizeof q->remote_mta, c->mta[i] ? c->mta[i] : "");
            q->last_attempt = now;
        }
        ridx[nreport] = i;
        struct dsn_rcpt *d = &dr[nreport];
        *d = (struct dsn_rcpt){.orcpt = q->s.r.orcpt, .addr = q->s.r.addr, .remote_mta = q->remote_mta,
                               .diag = q->s.last_error, .last_attempt = (time_t)q->last_attempt};
        if (q->s.state == QUEUE_PENDING && expired) {
            /* RFC 3463 X.4.7: delivery time expired. */
            q->s.state = QUEUE_FAILED;
            if (!q->s.last_error[0])
                str_copy(q->s.last_error, sizeof q->s.last_error, "delivery time expired");
            d->status = "4.4.7";
        }
        if (q->s.state == QUEUE_FAILED) {
            d->action = DSN_FAILED;
            if (!d->status && !dsn_reply_status(q->s.last_error, stat[i]))
                snprintf(stat[i], sizeof stat[i], "5.0.0");
            if (!d->status)
                d->status = stat[i];
            log_info("queue %s: to <%s> failed: %s", m->id, q->s.r.addr, q->s.last_error);
            if (wants(q->s.r.notify, QUEUE_NOTIFY_FAILURE))
                nreport++;
        } else if (q->s.state == QUEUE_DELIVERED) {
            /* RFC 3461 section 5.2.1: a next hop with DSN got NOTIFY and
             * reports success itself; section 5.2.2: one without DSN
             * cannot, and we report "relayed" (RFC 3464 section 2.3.3). */
            d->action = DSN_RELAYED;
            d->status = dsn_reply_status(q->s.last_error, stat[i]) ? stat[i] : "2.0.0";
            log_info("queue %s: to <%s> delivered to %s", m->id, q->s.r.addr, q->remote_mta);
            if (c->relayed[i] && wants(q->s.r.notify, QUEUE_NOTIFY_SUCCESS))
                nreport++;
        } else {
            any_pending = true;
            if (want_delay && wants(q->s.r.notify, QUEUE_NOTIFY_DELAY)) {
                d->action = DSN_DELAYED;
                d->status = dsn_reply_status(q->s.last_error, stat[i]) ? stat[i] : "4.0.0";
                d->will_retry_until = (time_t)expires;
                any_delay = true;
                nreport++;
            }
        }
    }
    if (any_delay)
        e->warned = true;
    int r = 0;
    if (nreport > 0 && e->sender[0]) {
        /* Report first, then record: a crash in between repeats a report
         * rather than losing one. */
        /* RFC 3461 section 4.3: RET is about failure reports; the others
         * carry the header only. */
        bool any_failed = false;
        for (size_t i = 0; i < nreport; i++)
            any_failed = any_failed || dr[i].action == DSN_FAILED;
        bool headers_only = !any_failed || e->ret == QUEUE_RET_HDRS || m->data_len > DSN_FULL_MAX;
        struct buf orig = BUF_INIT;
        size_t want = m->data_len > DSN_FULL_MAX ? DSN_FULL_MAX : (size_t)m->data_len;
        char *p = buf_reserve(&orig, want + 1);
        ssize_t got = p ? pread(m->data_fd, p, want, 0) : -1;
        if (got < 0) {
            r = p ? -errno : -ENOMEM;
        } else {
            buf_commit(&orig, (size_t)got);
            struct dsn_report rep = {
                .reporting_mta = g.hostname, .to = e->sender, .envid = e->has_envid ? e->envid : NULL,
                .arrival = (time_t)e->arrival, .now = now, .rcpts = dr, .nrcpts = nreport,
                .headers_only = headers_only, .orig = buf_ptr(&orig), .origlen = buf_len(&orig),
            };
            r = send_dsn(&rep, e->body_8bit, m->id);
        }
        buf_free(&orig);
    } else if (nreport > 0) {
        log_info("queue %s: no notification: the sender is the null sender", m->id);
    }
    bool report_failed = r < 0;
    if (report_failed) {
        /* Record the deliveries anyway (repeating them would duplicate
         * mail), but keep the failed recipients pending with their error:
         * the next attempt fails them again and retries the report. */
        log_err("queue %s: notification to <%s> not sent (%s); tried again at the next attempt",
                m->id, e->sender, op_strerror(r));
        for (size_t k = 0; k < nreport; k++)
            if (dr[k].action == DSN_FAILED) {
                e->rcpts[ridx[k]].s.state = QUEUE_PENDING;
                any_pending = true;
            }
        if (any_delay)
            e->warned = false;
        r = 0;
    }
    free(dr);
    free(ridx);
    free(stat);
    int64_t next = 0;
    if (!any_pending) {
        r = qstore_remove(g.datadir, m->id);
        if (r == OP_E_NOTFOUND)
            r = 0;
        if (r == 0)
            log_info("queue %s: done after %u attempts", m->id, e->attempts);
    } else {
        next = cut ? (int64_t)now : (int64_t)now + retry_interval(e->attempts);
        /* The expiry bounce goes out on time, not an interval later. */
        if (next > expires)
            next = expires;
        /* Not at once again when only the report is missing (a full disk
         * would make the runner spin). */
        if (report_failed && next < (int64_t)now + g.cfg.retry_min_s)
            next = (int64_t)now + g.cfg.retry_min_s;
        e->next_attempt = next;
        r = qstore_write(g.datadir, m->id, e);
        if (r == 0)
            log_info("queue %s: next attempt in %" PRId64 " s", m->id, next - (int64_t)now);
    }
    if (r < 0)
        log_err("queue %s: cannot record the attempt: %s", m->id, op_strerror(r));
    unbusy(m->id, r < 0 ? (int64_t)now + g.cfg.retry_min_s : next, r == 0 && !any_pending);
    claim_free(c);
    return r;
}

int queue_release(struct queue_msg *m, time_t now)
{
    return release(m, now, false);
}

int queue_release_cut(struct queue_msg *m, time_t now)
{
    return release(m, now, true);
}
