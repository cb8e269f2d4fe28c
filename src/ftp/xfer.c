#include "ftp/xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "ftp/ascii.h"
#include "ftp/usage.h"
#include "net/loop.h"
#include "net/tls.h"

/* Bytes per system call: large enough that a 1 GiB transfer costs few
 * calls, small enough that a stop request is seen quickly. */
#define CHUNK_FILE  (4u << 20)      /* sendfile */
#define CHUNK_COPY  (512u << 10)    /* pread/recv through user space */
#define THREAD_STACK (256u << 10)

/* ---- the thread pool -------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;            /* a job was queued */
    pthread_cond_t quiet;           /* pending dropped to 0 */
    struct ftp_job *head, **tail;
    unsigned nthreads, nidle, pending;
} g_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
            NULL, &g_pool.head, 0, 0, 0};

static void *thread_main(void *arg)
{
    (void)arg;
    /* sendfile and SSL_write have no MSG_NOSIGNAL: a peer that went away
     * must end the transfer with EPIPE, not the process with SIGPIPE. The
     * signal is blocked here, and taken back (sigtimedwait) after a
     * transfer so that it does not stay pending. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    pthread_mutex_lock(&g_pool.mu);
    for (;;) {
        while (!g_pool.head) {
            g_pool.nidle++;
            pthread_cond_wait(&g_pool.work, &g_pool.mu);
            g_pool.nidle--;
        }
        struct ftp_job *j = g_pool.head;
        g_pool.head = j->qnext;
        if (!g_pool.head)
            g_pool.tail = &g_pool.head;
        pthread_mutex_unlock(&g_pool.mu);

        ftp_job_run(j);
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) > 0) {
        }
        /* After this post the loop owns (and frees) j: not touched again. */
        if (loop_post(j->lp, j->done, j) < 0)
            log_err("%s: cannot post the end of a transfer (out of memory)", j->tag);

        pthread_mutex_lock(&g_pool.mu);
        if (--g_pool.pending == 0)
            pthread_cond_broadcast(&g_pool.quiet);
    }
    return NULL;
}

int ftp_job_submit(struct ftp_job *j)
{
    int rc = 0;
    j->qnext = NULL;
    pthread_mutex_lock(&g_pool.mu);
    if (g_pool.nidle == 0 && g_pool.nthreads < FTP_XFER_THREADS) {
        pthread_attr_t at;
        pthread_t t;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, THREAD_STACK);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int e = pthread_create(&t, &at, thread_main, NULL);
        pthread_attr_destroy(&at);
        if (e == 0)
            g_pool.nthreads++;
        else if (g_pool.nthreads == 0)
            rc = -e;                /* nobody would ever run it */
    }
    if (rc == 0) {
        g_pool.pending++;
        *g_pool.tail = j;
        g_pool.tail = &j->qnext;
        pthread_cond_signal(&g_pool.work);
    }
    pthread_mutex_unlock(&g_pool.mu);
    return rc;
}

void ftp_job_stop(struct ftp_job *j)
{
    atomic_store(&j->stop, 1);
    shutdown(j->sock, SHUT_RDWR);
}

void ftp_job_quiesce(void)
{
    pthread_mutex_lock(&g_pool.mu);
    while (g_pool.pending > 0)
        pthread_cond_wait(&g_pool.quiet, &g_pool.mu);
    pthread_mutex_unlock(&g_pool.mu);
}

/* ---- moving bytes ------------------------------------------------------------ */

struct run {
    struct ftp_job *j;
    SSL *ssl;
    uint64_t total;                 /* payload bytes moved */
    uint64_t charged;               /* uploads: bytes charged to the user's usage */
    uint64_t t0;                    /* clock_ms at the start, for the rate limit */
    off_t wb_from;                  /* uploads: first byte whose writeback is not started */
    off_t wb_done;                  /* uploads: everything before it is on the disk */
};

static bool stopped(const struct run *r) { return atomic_load(&r->j->stop) != 0; }

/* A socket error as this module reports it. */
static int sock_err(const struct run *r, int e)
{
    if (stopped(r))
        return -ECANCELED;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        log_warn("%s: no progress for %u ms", r->j->tag, r->j->idle_ms);
        return -ECONNRESET;
    }
    return -ECONNRESET;             /* EPIPE, ECONNRESET, ...: the peer went away */
}

/* Count n payload bytes; then, under a rate limit, sleep until the
 * average since the start is back under it (in slices, to see a stop). */
static int account(struct run *r, uint64_t n)
{
    r->total += n;
    atomic_store(&r->j->bytes, r->total);
    if (!r->j->rate)
        return stopped(r) ? -ECANCELED : 0;
    for (;;) {
        if (stopped(r))
            return -ECANCELED;
        uint64_t due = r->t0 + r->total * 1000 / r->j->rate;
        uint64_t now = clock_ms();
        if (now >= due)
            return 0;
        uint64_t ms = due - now > 50 ? 50 : due - now;
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Largest piece to move at once: under a rate limit, about 1/8 s worth. */
static size_t piece(const struct run *r, size_t cap)
{
    if (!r->j->rate)
        return cap;
    uint64_t p = r->j->rate / 8;
    if (p < 4096)
        p = 4096;
    return p < cap ? (size_t)p : cap;
}

static int send_all(struct run *r, const char *p, size_t n)
{
    while (n > 0) {
        if (stopped(r))
            return -ECANCELED;
        if (r->ssl) {
            ERR_clear_error();
            int k = SSL_write(r->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (k <= 0) {
                int e = SSL_get_error(r->ssl, k);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                    return sock_err(r, EAGAIN);
                ERR_clear_error();
                return sock_err(r, EPIPE);
            }
            p += k;
            n -= (size_t)k;
        } else {
            ssize_t k = send(r->j->sock, p, n, MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                return sock_err(r, errno);
            }
            p += k;
            n -= (size_t)k;
        }
    }
    return 0;
}

/* Payload bytes from memory or the file, converted for TYPE A. */
static int send_bytes(struct run *r, const char *p, size_t n, char *conv)
{
    if (!r->j->ascii)
        return send_all(r, p, n);
    size_t m = ftp_ascii_encode(p, n, conv);
    return send_all(r, conv, m);
}

static int file_read_err(const struct run *r, int e)
{
    log_err("%s: reading the file: %s", r->j->tag, strerror(e));
    return -EIO;
}

/* TYPE I without TLS: the kernel copies page cache to socket. */
static int send_file_sendfile(struct run *r)
{
    off_t off = r->j->offset;
    for (;;) {
        if (stopped(r))
            return -ECANCELED;
        ssize_t k = sendfile(r->j->sock, r->j->fd, &off, piece(r, CHUNK_FILE));
        if (k == 0)
            return 0;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
                return sock_err(r, errno);
            if (errno == EINVAL || errno == ENOSYS)
                return 1;           /* not a file sendfile can read: copy instead */
            return file_read_err(r, errno);
        }
        int rc = account(r, (uint64_t)k);
        if (rc < 0)
            return rc;
    }
}

static int send_copy(struct run *r)
{
    size_t cap = piece(r, CHUNK_COPY);
    char *in = r->j->mem ? NULL : malloc(cap);
    char *conv = r->j->ascii ? malloc(2 * cap) : NULL;
    int rc = 0;
    if ((!r->j->mem && !in) || (r->j->ascii && !conv)) {
        rc = -ENOMEM;
        goto out;
    }
    if (r->j->mem) {
        for (size_t off = 0; off < r->j->memlen && rc == 0;) {
            size_t n = r->j->memlen - off < cap ? r->j->memlen - off : cap;
            rc = send_bytes(r, r->j->mem + off, n, conv);
            if (rc == 0)
                rc = account(r, n);
            off += n;
        }
        goto out;
    }
    off_t off = r->j->offset;
    for (;;) {
        ssize_t n = pread(r->j->fd, in, cap, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = file_read_err(r, errno);
            break;
        }
        if (n == 0)
            break;
        off += n;
        rc = send_bytes(r, in, (size_t)n, conv);
        if (rc == 0)
            rc = account(r, (uint64_t)n);
        if (rc < 0)
            break;
    }
out:
    free(in);
    free(conv);
    return rc;
}

static int file_write_err(const struct run *r, int e)
{
    log_warn("%s: writing the file: %s", r->j->tag, strerror(e));
    if (e == ENOSPC)
        return -ENOSPC;
    if (e == EDQUOT || e == EFBIG)
        return -EDQUOT;
    return -EIO;
}

/* Uploads send what they wrote to the disk as they go: every WB_CHUNK
 * written starts its writeback (SYNC_FILE_RANGE_WRITE), and the thread
 * waits only for data more than WB_LAG behind the newest byte. The disk
 * works while the network does with several chunks in flight (waiting
 * for the previous chunk each time left the disk's queue shallow and
 * stopped the receiving thread at every chunk), dirty pages per upload
 * stay bounded by WB_LAG + WB_CHUNK, and the session's fsync before 226
 * finds at most that much left to write. (Errors are left to that fsync,
 * which reports them.) Figures in docs/ARCHITECTURE.md. */
#define WB_CHUNK (8 << 20)
#define WB_LAG (64 << 20)

static void writeback(struct run *r, off_t end)
{
    if (end - r->wb_from < WB_CHUNK)
        return;
    sync_file_range(r->j->fd, r->wb_from, end - r->wb_from, SYNC_FILE_RANGE_WRITE);
    r->wb_from = end;
    if (end - WB_LAG > r->wb_done) {
        sync_file_range(r->j->fd, r->wb_done, end - WB_LAG - r->wb_done,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
        r->wb_done = end - WB_LAG;
    }
}

/* Write n file bytes at *off, within max_bytes. */
static int store(struct run *r, const char *p, size_t n, off_t *off)
{
    /* After ABOR nothing more reaches the file (an APPE target is the
     * real file), except a write already under way. */
    if (stopped(r))
        return -ECANCELED;
    int over = 0;
    if (r->j->max_bytes && r->total + n > r->j->max_bytes) {
        n = (size_t)(r->j->max_bytes - r->total);
        over = 1;
    }
    if (r->j->usage) {
        /* Charged before writing, so that two uploads of one user (two
         * sessions, two threads) can never both take the last bytes. */
        uint64_t got = ftp_usage_charge(r->j->usage, n, r->j->quota);
        r->charged += got;
        if (got < n) {
            n = (size_t)got;
            over = 1;
        }
    }
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(r->j->fd, p + done, n - done, *off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (r->j->usage) {
                ftp_usage_credit(r->j->usage, n - done);
                r->charged -= n - done;
            }
            return file_write_err(r, errno);
        }
        done += (size_t)k;
        *off += k;
    }
    writeback(r, *off);
    if (over) {
        r->total += n;
        atomic_store(&r->j->bytes, r->total);
        log_warn("%s: upload over the limit of %llu bytes", r->j->tag,
                 (unsigned long long)r->j->max_bytes);
        return -EDQUOT;
    }
    return account(r, n);
}

/* One read from the data connection: >0 bytes, 0 end of data, <0 error. */
static ssize_t recv_some(struct run *r, char *p, size_t cap)
{
    for (;;) {
        if (stopped(r))
            return -ECANCELED;
        if (r->ssl) {
            ERR_clear_error();
            int k = SSL_read(r->ssl, p, cap > INT32_MAX ? INT32_MAX : (int)cap);
            if (k > 0)
                return k;
            int e = SSL_get_error(r->ssl, k);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;           /* close_notify: a clean end */
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return sock_err(r, EAGAIN);
            unsigned long le = ERR_peek_error();
            ERR_clear_error();
            if (stopped(r))
                return -ECANCELED;
            if (e == SSL_ERROR_SSL && ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                /* TCP end without close_notify. Clients commonly do this
                 * (vsftpd's default accepts it too); the session's reply
                 * tells the client how many bytes arrived. */
                log_info("%s: TLS data connection closed without close_notify", r->j->tag);
                return 0;
            }
            return sock_err(r, EPIPE);
        }
        ssize_t k = recv(r->j->sock, p, cap, 0);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        return sock_err(r, errno);
    }
}

static int recv_file(struct run *r)
{
    size_t cap = piece(r, CHUNK_COPY);
    char *in = malloc(cap);
    char *conv = r->j->ascii ? malloc(cap + 1) : NULL;
    off_t off = r->j->offset;
    bool cr = false;
    r->wb_from = r->wb_done = off;
    int rc = 0;
    if (!in || (r->j->ascii && !conv)) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        /* Fill the buffer up to half before writing when reads come in
         * small pieces (TLS records are 16 KiB; a plain socket hands over
         * what arrived, often 64 KiB): fewer, larger writes. On this VM
         * that took a 1 GiB STOR, fsync included, from about 470 to about
         * 850 MB/s. */
        size_t fill = 0;
        ssize_t k;
        do {
            k = recv_some(r, in + fill, cap - fill);
            if (k > 0)
                fill += (size_t)k;
        } while (k > 0 && fill < cap / 2);
        if (fill > 0) {
            if (r->j->ascii) {
                size_t m = ftp_ascii_decode(in, fill, conv, &cr);
                rc = store(r, conv, m, &off);
            } else {
                rc = store(r, in, fill, &off);
            }
            if (rc < 0)
                break;
        }
        if (k < 0) {
            rc = (int)k;
            break;
        }
        if (k == 0) {
            char last;
            if (r->j->ascii && ftp_ascii_decode_end(&last, &cr))
                rc = store(r, &last, 1, &off);
            break;
        }
    }
out:
    free(in);
    free(conv);
    return rc;
}

/* ---- TLS (RFC 4217) --------------------------------------------------------- */

/* The server side of the data connection's handshake. It must resume the
 * control connection's session (RFC 4217 section 10.2 leaves this to the
 * server; it proves the data connection comes from the same client). */
static int tls_start(struct run *r)
{
    struct ftp_job *j = r->j;
    r->ssl = SSL_new(j->ctx);
    if (!r->ssl || SSL_set_fd(r->ssl, j->sock) != 1)
        return OP_E_TLS;
    /* No TLS 1.3 session tickets on a data connection: the client resumes
     * the control connection's session and never needs them, and an
     * uploading client never reads them, so they sit unread in its socket
     * when it closes, its kernel answers the close with a reset, and ours
     * may throw away the end of the upload still queued for us. */
    SSL_set_num_tickets(r->ssl, 0);
    SSL_set_accept_state(r->ssl);
    ERR_clear_error();
    int k = SSL_do_handshake(r->ssl);
    if (k != 1) {
        char eb[200];
        int e = SSL_get_error(r->ssl, k);
        if (stopped(r))
            return -ECANCELED;
        log_warn("%s: TLS handshake failed: %s", j->tag,
                 e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ ? "connection closed or timed out"
                                                                    : tls_error(eb, sizeof eb));
        ERR_clear_error();
        return OP_E_TLS;
    }
    if (!SSL_session_reused(r->ssl) || !tls_session_matches(r->ssl, j->token, j->tokenlen)) {
        log_warn("%s: TLS data connection refused: it does not resume the control "
                 "connection's session", j->tag);
        return OP_E_TLS;
    }
    return 0;
}

/* Tell the client the data ends here (close_notify), so that it can tell
 * a complete transfer from a cut one (RFC 4217 section 9, RFC 8446 6.1). */
static void tls_end(struct run *r, bool clean)
{
    if (!r->ssl)
        return;
    if (clean) {
        ERR_clear_error();
        SSL_shutdown(r->ssl);
    }
    ERR_clear_error();
    SSL_free(r->ssl);
    r->ssl = NULL;
}

void ftp_job_run(struct ftp_job *j)
{
    struct run r = {.j = j, .t0 = clock_ms()};
    int rc;
    if (j->idle_ms) {
        struct timeval tv = {(time_t)(j->idle_ms / 1000), (suseconds_t)(j->idle_ms % 1000) * 1000};
        setsockopt(j->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(j->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    rc = j->ctx ? tls_start(&r) : 0;
    if (rc == 0) {
        r.t0 = clock_ms();
        switch (j->dir) {
        case FTP_SEND_FILE:
            rc = 1;
            if (!r.ssl && !j->ascii)
                rc = send_file_sendfile(&r);
            if (rc == 1)
                rc = send_copy(&r);
            break;
        case FTP_SEND_BUF:
            rc = send_copy(&r);
            break;
        case FTP_RECV_FILE:
            rc = recv_file(&r);
            break;
        }
    }
    if (rc < 0 && stopped(&r))
        rc = -ECANCELED;
    tls_end(&r, rc == 0);
    /* The end of the data (RFC 959 section 3.3). The descriptor itself is
     * closed on the loop (done), so that ftp_job_stop can never shut down
     * a socket number that was closed here and reused elsewhere. */
    shutdown(j->sock, rc == 0 && j->dir != FTP_RECV_FILE ? SHUT_WR : SHUT_RDWR);
    j->result = rc;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (j->usage && rc != 0 && j->refund)
        ftp_usage_credit(j->usage, r.charged);
}
