#include "net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "net/udp_int.h"
#include "net/worker.h"

struct listener {
    struct loop_io io;
    struct loop_timer retry;          /* re-enable after EMFILE */
    struct worker *w;
    const struct service *svc;
    bool tls;
};

struct lsock {
    int fd;
    const struct service *svc;
    bool tls;
};

static struct worker *g_workers;
static unsigned g_nworkers;
static struct lsock *g_socks;
static unsigned g_nsocks;
static _Atomic unsigned g_max_conn, g_max_per_ip, g_grace_ms;
static _Atomic unsigned g_busy;       /* refused connections still being answered */

/* ---- connection limits ---------------------------------------------------- */

#define LIM_BUCKETS 4096

struct lim_entry {
    struct lim_entry *next;
    unsigned char key[16];
    unsigned count;
};

static pthread_mutex_t g_lim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lim_entry *g_lim[LIM_BUCKETS];
static unsigned g_total;

/* IPv4 (also IPv4-mapped) counts per address; IPv6 per /64, since one
 * client usually holds a whole /64. */
static void lim_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
    memset(key, 0, 16);
    if (ss->ss_family == AF_INET) {
        memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        key[10] = key[11] = 0xff;
    } else if (ss->ss_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
            memcpy(key, a, 16);
        else
            memcpy(key, a, 8);
    }
}

static unsigned lim_hash(const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % LIM_BUCKETS;
}

/* Count a new connection; false if it is over a limit. */
static bool limits_acquire(const struct sockaddr_storage *peer)
{
    unsigned char key[16];
    lim_key(peer, key);
    unsigned h = lim_hash(key);
    bool ok = false;
    pthread_mutex_lock(&g_lim_mu);
    struct lim_entry *e = g_lim[h];
    while (e && memcmp(e->key, key, 16) != 0)
        e = e->next;
    if (g_total < g_max_conn && (!e || e->count < g_max_per_ip)) {
        if (!e && (e = calloc(1, sizeof *e)) != NULL) {
            memcpy(e->key, key, 16);
            e->next = g_lim[h];
            g_lim[h] = e;
        }
        if (e) {
            e->count++;
            g_total++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&g_lim_mu);
    return ok;
}

void limits_release(const struct sockaddr_storage *peer)
{
    unsigned char key[16];
    lim_key(peer, key);
    unsigned h = lim_hash(key);
    pthread_mutex_lock(&g_lim_mu);
    for (struct lim_entry **pp = &g_lim[h]; *pp; pp = &(*pp)->next) {
        struct lim_entry *e = *pp;
        if (memcmp(e->key, key, 16) != 0)
            continue;
        g_total--;
        if (--e->count == 0) {
            *pp = e->next;
            free(e);
        }
        break;
    }
    pthread_mutex_unlock(&g_lim_mu);
}

void limits_busy_done(void)
{
    atomic_fetch_sub(&g_busy, 1);
}

/* ---- accepting -------------------------------------------------------------- */

static void on_accept(struct loop_io *io, uint32_t events);

static void on_retry(struct loop_timer *t)
{
    struct listener *l = (struct listener *)((char *)t - offsetof(struct listener, retry));
    /* EPOLL_CTL_MOD cannot carry EPOLLEXCLUSIVE: the watch is added anew. */
    if (loop_io_add(l->w->loop, &l->io, l->io.fd, EPOLLIN | EPOLLEXCLUSIVE, on_accept) < 0)
        loop_timer_arm(l->w->loop, &l->retry, 1000, on_retry);
}

static void on_accept(struct loop_io *io, uint32_t events)
{
    struct listener *l = (struct listener *)io;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop accepting for a moment instead of
                 * spinning on a listener that stays readable. */
                log_err("%s: accept: %s; pausing accepts for 100 ms", l->svc->name, strerror(errno));
                loop_io_del(l->w->loop, &l->io);
                loop_timer_arm(l->w->loop, &l->retry, 100, on_retry);
                return;
            }
            log_err("%s: accept: %s", l->svc->name, strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bool busy = false;
        if (!limits_acquire(&peer)) {
            /* Over a limit: the client gets the protocol's "too busy" reply,
             * unless so many refusals are in flight that even that would be
             * a resource sink. */
            if (atomic_fetch_add(&g_busy, 1) >= 1000) {
                atomic_fetch_sub(&g_busy, 1);
                close(fd);
                continue;
            }
            busy = true;
        }
        conn_accept(l->w, fd, l->svc, &peer, l->tls, busy);
    }
}

void server_format_addr(const void *p, char *out, size_t outlen)
{
    const struct sockaddr_storage *ss = p;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = p;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, outlen, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = p;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

int server_listen(const struct service *svc, const struct cfg_addrs *addrs, bool implicit_tls,
                  char *err, size_t errlen)
{
    for (int i = 0; i < addrs->n; i++) {
        char name[80];
        server_format_addr(&addrs->addr[i], name, sizeof name);
        int fam = addrs->addr[i].ss_family;
        int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, errlen, "%s: socket: %s", name, strerror(errno));
            return -errno;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fam == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)&addrs->addr[i], addrs->len[i]) < 0 ||
            listen(fd, 1024) < 0) {
            int e = errno;
            snprintf(err, errlen, "cannot listen on %s for %s: %s", name, svc->name, strerror(e));
            close(fd);
            return -e;
        }
        struct lsock *s = realloc(g_socks, (g_nsocks + 1) * sizeof *s);
        if (!s) {
            close(fd);
            return -ENOMEM;
        }
        g_socks = s;
        g_socks[g_nsocks++] = (struct lsock){fd, svc, implicit_tls};
    }
    return 0;
}

/* ---- workers and shutdown ------------------------------------------------------- */

struct drain_state {
    struct loop_timer t;
    struct worker *w;
    uint64_t deadline;
};

static void drain_tick(struct loop_timer *t)
{
    struct drain_state *d = (struct drain_state *)t;
    struct worker *w = d->w;
    if (w->nconns > 0 && clock_ms() < d->deadline) {
        conn_drain_all(w);
        loop_timer_arm(w->loop, t, 50, drain_tick);
        return;
    }
    if (w->nconns > 0) {
        log_warn("shutdown: closing %u connection(s) still busy after the grace period", w->nconns);
        conn_abort_all(w);
    }
    free(d);
    loop_stop(w->loop);
}

/* Workers that still watch the listening sockets. */
static _Atomic unsigned g_watching;

static void begin_drain(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < w->nlisteners; i++) {
        loop_io_del(w->loop, &w->listeners[i].io);
        loop_timer_cancel(w->loop, &w->listeners[i].retry);
    }
    udp_detach(w);
    /* The last worker to let go stops the sockets listening, so that new
     * clients are refused at once instead of waiting in the backlog until
     * the process exits. (Before then a worker could still accept on them.) */
    if (atomic_fetch_sub(&g_watching, 1) == 1)
        for (unsigned i = 0; i < g_nsocks; i++)
            shutdown(g_socks[i].fd, SHUT_RDWR);
    w->draining = true;
    conn_drain_all(w);
    struct drain_state *d = calloc(1, sizeof *d);
    if (!d) {
        conn_abort_all(w);
        loop_stop(w->loop);
        return;
    }
    d->w = w;
    d->deadline = clock_ms() + g_grace_ms;
    loop_timer_arm(w->loop, &d->t, 0, drain_tick);
}

/* ---- grace periods -------------------------------------------------------- */

static bool g_running;                /* loops started; only the main thread writes it */

struct quiesce {
    _Atomic unsigned left;
    void (*fn)(void *arg);
    void *arg;
};

static void quiesce_tick(void *arg)
{
    struct quiesce *q = arg;
    if (atomic_fetch_sub(&q->left, 1) == 1) {
        q->fn(q->arg);
        free(q);
    }
}

void server_quiesce(void (*fn)(void *arg), void *arg)
{
    if (!g_running || g_nworkers == 0) {
        fn(arg);
        return;
    }
    struct quiesce *q = malloc(sizeof *q);
    if (!q) {
        log_err("out of memory waiting for a grace period; an old structure is kept");
        return;
    }
    q->fn = fn;
    q->arg = arg;
    atomic_init(&q->left, g_nworkers);
    for (unsigned i = 0; i < g_nworkers; i++) {
        if (loop_post(g_workers[i].loop, quiesce_tick, q) < 0) {
            /* That loop will never say it is done: keep the structure
             * rather than free it under a reader. */
            log_err("out of memory waiting for a grace period; an old structure is kept");
            /* Fewer than all ticks can have run: left stays above 0 for good. */
            atomic_fetch_add(&q->left, 1u << 30);
            break;
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    loop_run(w->loop);
    return NULL;
}

int server_init(unsigned workers, unsigned max_connections, unsigned max_per_ip, unsigned grace_ms)
{
    if (workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (unsigned)n : 1;
    }
    g_workers = calloc(workers, sizeof *g_workers);
    if (!g_workers)
        return -ENOMEM;
    for (unsigned i = 0; i < workers; i++) {
        g_workers[i].loop = loop_new();
        if (!g_workers[i].loop)
            return -ENOMEM;
        g_nworkers++;
    }
    server_set_limits(max_connections, max_per_ip, grace_ms);
    return 0;
}

struct loop *server_loop(unsigned i)
{
    return g_nworkers ? g_workers[i % g_nworkers].loop : NULL;
}

void server_set_limits(unsigned max_connections, unsigned max_per_ip, unsigned grace_ms)
{
    g_max_conn = max_connections;
    g_max_per_ip = max_per_ip;
    g_grace_ms = grace_ms;
}

void server_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* TLS writes use write(2); a vanished peer must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
}

int server_run(void (*on_reload)(void *arg), void *arg)
{
    server_block_signals();
    for (unsigned i = 0; i < g_nworkers; i++) {
        struct worker *w = &g_workers[i];
        w->listeners = calloc(g_nsocks ? g_nsocks : 1, sizeof *w->listeners);
        if (!w->listeners)
            return -ENOMEM;
        for (unsigned j = 0; j < g_nsocks; j++) {
            struct listener *l = &w->listeners[j];
            l->w = w;
            l->svc = g_socks[j].svc;
            l->tls = g_socks[j].tls;
            if (loop_io_add(w->loop, &l->io, g_socks[j].fd, EPOLLIN | EPOLLEXCLUSIVE, on_accept) < 0)
                return -errno;
        }
        w->nlisteners = g_nsocks;
        if (udp_attach(w) < 0)
            return -ENOMEM;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return -EAGAIN;
    }
    g_running = true;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP: reloading");
            if (on_reload)
                on_reload(arg);
            continue;
        }
        log_info("%s: stopping; sessions get up to %u ms to finish", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 (unsigned)g_grace_ms);
        break;
    }
    atomic_store(&g_watching, g_nworkers);
    for (unsigned i = 0; i < g_nworkers; i++)
        loop_post(g_workers[i].loop, begin_drain, &g_workers[i]);
    for (unsigned i = 0; i < g_nworkers; i++)
        pthread_join(g_workers[i].thread, NULL);
    g_running = false;
    return 0;
}

void server_cleanup(void)
{
    for (unsigned i = 0; i < g_nsocks; i++)
        close(g_socks[i].fd);
    free(g_socks);
    g_socks = NULL;
    g_nsocks = 0;
    udp_cleanup();
    for (unsigned i = 0; i < g_nworkers; i++) {
        loop_free(g_workers[i].loop);
        free(g_workers[i].listeners);
        udp_free_worker(&g_workers[i]);
    }
    free(g_workers);
    g_workers = NULL;
    g_nworkers = 0;
}
