/*
 * data.c - the FTP data channel on the session's loop: passive listeners,
 * active connects, the peer-address checks of RFC 2577, the connect
 * timeout and ABOR. The bytes themselves move on transfer threads
 * (xfer.h: why, and how stopping works).
 */
#include "ftp/data.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "ftp/usage.h"
#include "ftp/xfer.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/tls.h"

enum mode { M_NONE, M_PASV, M_PORT };
enum phase { P_IDLE, P_WAIT, P_RUN };

struct ftp_data {
    struct conn *ctrl;
    struct loop *lp;
    struct ftp_data_config cfg;
    char *pasv_address;
    enum mode mode;
    enum phase phase;
    int lfd;                        /* passive listener, or -1 */
    struct loop_io lio;
    int cfd;                        /* active socket while connecting, or -1 */
    struct loop_io cio;
    struct loop_timer timer;        /* connect timeout */
    struct sockaddr_storage target; /* PORT / EPRT */
    struct ftp_xfer x;              /* the transfer started */
    struct ftp_job *job;            /* the transfer running on a thread */
    char *mem;                      /* FTP_SEND_BUF: our copy until the job takes it */
    size_t memlen;
    char tag[48];
};

/* ---- addresses --------------------------------------------------------------- */

/* An IPv4-mapped IPv6 address as plain IPv4, so that 127.0.0.1 over an
 * IPv6 socket and over an IPv4 one compare equal. */
static void normalize(struct sockaddr_storage *a)
{
    if (a->ss_family != AF_INET6)
        return;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
    if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    memset(a, 0, sizeof *a);
    memcpy(a, &s4, sizeof s4);
}

static bool same_host(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
    struct sockaddr_storage a = *x, b = *y;
    normalize(&a);
    normalize(&b);
    if (a.ss_family != b.ss_family)
        return false;
    if (a.ss_family == AF_INET)
        return ((struct sockaddr_in *)&a)->sin_addr.s_addr == ((struct sockaddr_in *)&b)->sin_addr.s_addr;
    if (a.ss_family == AF_INET6)
        return memcmp(&((struct sockaddr_in6 *)&a)->sin6_addr, &((struct sockaddr_in6 *)&b)->sin6_addr,
                      16) == 0;
    return false;
}

static uint16_t get_port(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return 0;
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = htons(port);
    else if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons(port);
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void addr_str(const struct sockaddr_storage *a, char *out, size_t n)
{
    struct sockaddr_storage c = *a;
    normalize(&c);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (c.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&c)->sin_addr, ip, sizeof ip);
    else if (c.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c)->sin6_addr, ip, sizeof ip);
    snprintf(out, n, "[%s]:%u", ip, get_port(&c));
}

/* Data sockets move large files: no Nagle delay at the end of a file.
 * Buffer sizes are left to the kernel's auto-tuning, which grows them up
 * to tcp_wmem / tcp_rmem's maxima (4 and 32 MiB here) for a bulk transfer;
 * a fixed SO_SNDBUF of 4 or 16 MiB measured no faster over loopback, and a
 * fixed SO_RCVBUF would cap the receive window below what auto-tuning
 * reaches. */
static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- life cycle ------------------------------------------------------------------ */

struct ftp_data *ftp_data_new(struct conn *ctrl, const struct ftp_data_config *cfg)
{
    struct ftp_data *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ctrl = ctrl;
    d->lp = conn_loop(ctrl);
    d->cfg = *cfg;
    if (cfg->pasv_address && cfg->pasv_address[0]) {
        d->pasv_address = strdup(cfg->pasv_address);
        if (!d->pasv_address) {
            free(d);
            return NULL;
        }
    }
    d->cfg.pasv_address = d->pasv_address;
    d->lfd = d->cfd = -1;
    snprintf(d->tag, sizeof d->tag, "%s data", conn_tag(ctrl));
    return d;
}

static void close_listener(struct ftp_data *d)
{
    if (d->lfd < 0)
        return;
    if (d->lio.fn)
        loop_io_del(d->lp, &d->lio);
    d->lio.fn = NULL;
    close(d->lfd);
    d->lfd = -1;
}

static void close_connecting(struct ftp_data *d)
{
    if (d->cfd < 0)
        return;
    if (d->cio.fn)
        loop_io_del(d->lp, &d->cio);
    d->cio.fn = NULL;
    close(d->cfd);
    d->cfd = -1;
}

/* Back to nothing prepared, nothing running; the job (if any) is left to
 * finish on its thread and free itself. */
static void reset(struct ftp_data *d)
{
    close_listener(d);
    close_connecting(d);
    loop_timer_cancel(d->lp, &d->timer);
    if (d->job) {
        d->job->cancelled = true;
        ftp_job_stop(d->job);
        d->job = NULL;
    }
    free(d->mem);
    d->mem = NULL;
    d->mode = M_NONE;
    d->phase = P_IDLE;
}

void ftp_data_free(struct ftp_data *d)
{
    if (!d)
        return;
    reset(d);
    free(d->pasv_address);
    free(d);
}

void ftp_data_quiesce(void)
{
    ftp_job_quiesce();
}

/* The transfer is over: report it (the session may start the next one
 * from inside on_done). */
static void finish(struct ftp_data *d, int result, uint64_t bytes)
{
    struct ftp_xfer x = d->x;
    reset(d);
    if (result < 0 && result != -ECANCELED)
        log_info("%s: transfer ended: %s", d->tag, op_strerror(result));
    if (x.on_done)
        x.on_done(x.arg, result, bytes);
}

/* ---- PASV / EPSV, PORT / EPRT ------------------------------------------------------ */

static int open_listener(struct ftp_data *d, struct sockaddr_storage *local)
{
    int fd = socket(local->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    uint16_t lo = d->cfg.pasv_min, hi = d->cfg.pasv_max;
    if (lo == 0 || hi < lo) {
        lo = hi = 0;                /* no range: any free port */
    }
    uint32_t span = (uint32_t)hi - lo + 1;
    uint32_t start = span > 1 ? random_below(span) : 0;
    int rc = -EADDRINUSE;
    for (uint32_t i = 0; i < span; i++) {
        set_port(local, (uint16_t)(lo + (start + i) % span));
        if (bind(fd, (struct sockaddr *)local, addr_len(local)) == 0) {
            rc = 0;
            break;
        }
        if (errno != EADDRINUSE && errno != EACCES) {
            rc = -errno;
            break;
        }
    }
    if (rc == 0 && listen(fd, 8) < 0)
        rc = -errno;
    socklen_t len = sizeof *local;
    if (rc == 0 && getsockname(fd, (struct sockaddr *)local, &len) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int ftp_data_passive(struct ftp_data *d, struct sockaddr_storage *addr, uint16_t *port)
{
    if (d->phase != P_IDLE)
        return -EBUSY;
    reset(d);
    struct sockaddr_storage local;
    int rc = conn_local_addr(d->ctrl, &local);
    if (rc < 0)
        return rc;
    int fd = open_listener(d, &local);
    if (fd < 0) {
        log_warn("%s: no passive port free in %u-%u: %s", d->tag, d->cfg.pasv_min,
                 d->cfg.pasv_max, op_strerror(fd));
        return fd;
    }
    d->lfd = fd;
    d->mode = M_PASV;
    *port = get_port(&local);
    /* The address for 227 (RFC 959 section 4.1.2): ours, or the one the
     * configuration names for clients outside a NAT. */
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (d->pasv_address && inet_pton(AF_INET, d->pasv_address, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(*port);
    } else {
        *addr = local;
        normalize(addr);
    }
    return 0;
}

int ftp_data_active(struct ftp_data *d, const struct sockaddr_storage *target)
{
    if (d->phase != P_IDLE)
        return -EBUSY;
    /* RFC 2577 section 3: no "bounce" to a third host. */
    if (!same_host(target, conn_peer_addr(d->ctrl))) {
        char t[80];
        addr_str(target, t, sizeof t);
        log_warn("%s: active connection to %s refused: not the client's address %s", d->tag, t,
                 conn_peer_ip(d->ctrl));
        return OP_E_AUTH;
    }
    if (get_port(target) == 0)
        return -EINVAL;
    reset(d);
    d->target = *target;
    d->mode = M_PORT;
    return 0;
}

bool ftp_data_ready(const struct ftp_data *d)
{
    return d->phase == P_IDLE && d->mode != M_NONE;
}

/* ---- starting ----------------------------------------------------------------------- */

static void job_done(void *arg);
static void job_free(struct ftp_job *j);

/* The data connection is up: tell the session (150), then hand it to a
 * transfer thread. */
static void begin(struct ftp_data *d, int sock)
{
    struct ftp_job *j = calloc(1, sizeof *j);
    if (!j) {
        close(sock);
        finish(d, -ENOMEM, 0);
        return;
    }
    tune(sock);
    j->sock = sock;
    j->fd = -1;
    j->dir = d->x.dir;
    j->offset = d->x.offset;
    j->ascii = d->x.ascii;
    j->max_bytes = d->x.dir == FTP_RECV_FILE ? d->x.max_bytes : 0;
    if (d->x.dir == FTP_RECV_FILE && d->x.usage) {
        ftp_usage_hold(d->x.usage);          /* dropped by the thread */
        j->usage = d->x.usage;
        j->quota = d->x.quota;
        j->refund = d->x.refund;
    }
    j->rate = d->cfg.rate_limit;
    j->idle_ms = d->cfg.idle_timeout_ms;
    j->lp = d->lp;
    j->done = job_done;
    j->owner = d;
    str_copy(j->tag, sizeof j->tag, d->tag);
    j->mem = d->mem;
    j->memlen = d->memlen;
    d->mem = NULL;
    int rc = 0;
    if (d->x.dir != FTP_SEND_BUF) {
        j->fd = fcntl(d->x.fd, F_DUPFD_CLOEXEC, 0);
        if (j->fd < 0)
            rc = -errno;
    }
    if (rc == 0 && d->x.protect) {
        SSL *cs = conn_ssl(d->ctrl);
        if (!cs) {
            log_warn("%s: PROT P without TLS on the control connection", d->tag);
            rc = OP_E_TLS;
        } else {
            j->ctx = SSL_get_SSL_CTX(cs);
            SSL_CTX_up_ref(j->ctx);
            j->tokenlen = tls_session_token(cs, j->token, sizeof j->token);
        }
    }
    d->job = j;
    d->phase = P_RUN;
    if (rc == 0 && d->x.on_open)
        d->x.on_open(d->x.arg);
    if (d->job != j) {
        job_free(j);                /* aborted from on_open: never submitted */
        return;
    }
    if (rc == 0)
        rc = ftp_job_submit(j);
    if (rc < 0) {
        d->job = NULL;
        j->result = rc;
        j->cancelled = true;
        shutdown(j->sock, SHUT_RDWR);
        job_done(j);
        finish(d, rc, 0);
    }
}

/* Called for a job that was never submitted too, directly. */
static void job_free(struct ftp_job *j)
{
    if (j->sock >= 0)
        close(j->sock);
    if (j->fd >= 0)
        close(j->fd);
    if (j->ctx)
        SSL_CTX_free(j->ctx);
    ftp_usage_put(j->usage);
    free(j->mem);
    free(j);
}

/* On the loop: a transfer thread is finished with j. */
static void job_done(void *arg)
{
    struct ftp_job *j = arg;
    if (j->cancelled) {
        job_free(j);
        return;
    }
    struct ftp_data *d = j->owner;
    int result = j->result;
    uint64_t bytes = atomic_load(&j->bytes);
    d->job = NULL;
    job_free(j);
    finish(d, result, bytes);
}

static void on_timeout(struct loop_timer *t)
{
    struct ftp_data *d = (struct ftp_data *)((char *)t - offsetof(struct ftp_data, timer));
    log_info("%s: no data connection within %u ms", d->tag, d->cfg.connect_timeout_ms);
    finish(d, -ETIMEDOUT, 0);
}

static void on_accept(struct loop_io *io, uint32_t events)
{
    struct ftp_data *d = (struct ftp_data *)((char *)io - offsetof(struct ftp_data, lio));
    (void)events;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(d->lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("%s: accept: %s", d->tag, strerror(errno));
            return;
        }
        /* RFC 2577 section 3: only the client itself may connect, or a
         * stranger could steal the file (or feed the upload). */
        if (!same_host(&peer, conn_peer_addr(d->ctrl))) {
            char p[80];
            addr_str(&peer, p, sizeof p);
            log_warn("%s: data connection from %s refused: not the client's address %s", d->tag,
                     p, conn_peer_ip(d->ctrl));
            close(fd);
            continue;
        }
        close_listener(d);
        loop_timer_cancel(d->lp, &d->timer);
        begin(d, fd);               /* blocking from here: the thread's socket */
        return;
    }
}

static void on_connected(struct loop_io *io, uint32_t events)
{
    struct ftp_data *d = (struct ftp_data *)((char *)io - offsetof(struct ftp_data, cio));
    (void)events;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(d->cfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        char t[80];
        addr_str(&d->target, t, sizeof t);
        log_info("%s: cannot connect to %s: %s", d->tag, t, strerror(err));
        finish(d, -err, 0);
        return;
    }
    int fd = d->cfd;
    loop_io_del(d->lp, &d->cio);
    d->cio.fn = NULL;
    d->cfd = -1;
    loop_timer_cancel(d->lp, &d->timer);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    begin(d, fd);
}

/* Active mode: connect from our address, port L-1 (RFC 959 section 3.2's
 * default data port) when the system lets us bind it, else any port. */
static int start_connect(struct ftp_data *d)
{
    struct sockaddr_storage local, target = d->target;
    int rc = conn_local_addr(d->ctrl, &local);
    if (rc < 0)
        return rc;
    normalize(&target);
    if (local.ss_family == AF_INET6 && target.ss_family == AF_INET) {
        /* An IPv6 socket reaches an IPv4 client through the mapped form. */
        struct sockaddr_in t4 = *(struct sockaddr_in *)&target;
        struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&target;
        memset(&target, 0, sizeof target);
        t6->sin6_family = AF_INET6;
        t6->sin6_port = t4.sin_port;
        t6->sin6_addr.s6_addr[10] = t6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&t6->sin6_addr.s6_addr[12], &t4.sin_addr, 4);
    } else if (local.ss_family == AF_INET && target.ss_family != AF_INET) {
        return -EAFNOSUPPORT;
    }
    int fd = socket(local.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    uint16_t lport = get_port(&local);
    bool bound = false;
    if (d->cfg.active_from_l_minus_1 && lport > 1) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        set_port(&local, (uint16_t)(lport - 1));
        bound = bind(fd, (struct sockaddr *)&local, addr_len(&local)) == 0;
        if (!bound)
            log_debug("%s: cannot bind port %u for an active connection: %s", d->tag,
                      lport - 1, strerror(errno));
    }
    if (!bound) {
        set_port(&local, 0);
        if (bind(fd, (struct sockaddr *)&local, addr_len(&local)) < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
    }
    if (connect(fd, (struct sockaddr *)&target, addr_len(&target)) < 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    d->cfd = fd;
    rc = loop_io_add(d->lp, &d->cio, fd, EPOLLOUT, on_connected);
    if (rc < 0) {
        close(fd);
        d->cfd = -1;
    }
    return rc;
}

int ftp_data_start(struct ftp_data *d, const struct ftp_xfer *x)
{
    if (d->phase != P_IDLE)
        return -EBUSY;
    if (d->mode == M_NONE)
        return -ENOTCONN;
    if ((x->dir == FTP_SEND_BUF && !x->buf) || (x->dir != FTP_SEND_BUF && x->fd < 0))
        return -EINVAL;
    d->x = *x;
    if (x->dir == FTP_SEND_BUF) {
        /* Our own copy: the transfer thread may still be reading it after
         * an ABOR has let the session free the original. */
        d->memlen = buf_len(x->buf);
        d->mem = malloc(d->memlen ? d->memlen : 1);
        if (!d->mem) {
            reset(d);
            return -ENOMEM;
        }
        memcpy(d->mem, buf_ptr(x->buf), d->memlen);
    }
    int rc;
    if (d->mode == M_PASV) {
        rc = loop_io_add(d->lp, &d->lio, d->lfd, EPOLLIN, on_accept);
        if (rc < 0)
            d->lio.fn = NULL;
    } else {
        rc = start_connect(d);
    }
    d->mode = M_NONE;               /* used up: the next transfer needs a new PASV/PORT */
    if (rc < 0) {
        reset(d);
        return rc;
    }
    d->phase = P_WAIT;
    if (d->cfg.connect_timeout_ms)
        loop_timer_arm(d->lp, &d->timer, d->cfg.connect_timeout_ms, on_timeout);
    return 0;
}

bool ftp_data_busy(const struct ftp_data *d)
{
    return d->phase != P_IDLE;
}

void ftp_data_abort(struct ftp_data *d)
{
    if (d->phase == P_IDLE) {
        reset(d);                   /* ABOR with no transfer: forget PASV/PORT */
        return;
    }
    uint64_t bytes = d->job ? atomic_load(&d->job->bytes) : 0;
    log_info("%s: transfer aborted after %llu bytes", d->tag, (unsigned long long)bytes);
    finish(d, -ECANCELED, bytes);
}

uint64_t ftp_data_progress(const struct ftp_data *d)
{
    return d->job ? atomic_load(&d->job->bytes) : 0;
}
