/*
 * notify.c - sending NOTIFY to secondaries and retrying until they answer
 * (see notify.h).
 */
#include "dns/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "dns/consts.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "net/loop.h"
#include "net/server.h"

#define FIRST_RETRY_MS 1000

/* One NOTIFY to one secondary. */
struct task {
    struct task *next, *prev;        /* every task, for cleanup (g_mu) */
    struct loop *loop;
    struct loop_io io;
    struct loop_timer timer;
    int fd;
    bool started, finished, cancelled;
    struct sockaddr_storage to;
    socklen_t tolen;
    uint16_t id;
    struct dns_name apex;
    uint32_t serial;
    unsigned tries;
    bool have_key;
    struct dns_tsig_key key;
    struct dns_tsig_ctx tsig;        /* the request's MAC, to verify the answer */
    uint8_t msg[1024];
    size_t len;
    char peer[80], zone[DNS_NAME_MAXTEXT];
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct task *g_tasks;
static unsigned g_next_loop;

static void unlink_task(struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        g_tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void task_free(struct task *t)
{
    if (t->fd >= 0)
        close(t->fd);
    dns_tsig_ctx_clear(&t->tsig);
    explicit_bzero(&t->key, sizeof t->key);
    free(t);
}

/* End a task on its loop. */
static void finish(struct task *t)
{
    if (t->fd >= 0) {
        loop_io_del(t->loop, &t->io);
        close(t->fd);
        t->fd = -1;
    }
    loop_timer_cancel(t->loop, &t->timer);
    pthread_mutex_lock(&g_mu);
    unlink_task(t);
    pthread_mutex_unlock(&g_mu);
    task_free(t);
}

static void on_timer(struct loop_timer *tm);

static void send_once(struct task *t)
{
    t->tries++;
    /* The ID stays the same across retries: any answer to any copy will do. */
    if (send(t->fd, t->msg, t->len, 0) < 0)
        log_debug("dns notify %s %s: send: %s", t->peer, t->zone, strerror(errno));
    /* RFC 1996 section 3.6: retries at growing intervals (1, 2, 4, 8, 16 s). */
    unsigned delay = FIRST_RETRY_MS << (t->tries - 1);
    loop_timer_arm(t->loop, &t->timer, delay, on_timer);
}

static void on_timer(struct loop_timer *tm)
{
    struct task *t = (struct task *)((char *)tm - offsetof(struct task, timer));
    pthread_mutex_lock(&g_mu);
    bool cancelled = t->cancelled;
    pthread_mutex_unlock(&g_mu);
    if (cancelled) {
        log_info("dns notify %s %s serial %u: superseded by a newer serial", t->peer, t->zone,
                 t->serial);
        finish(t);
        return;
    }
    if (t->tries >= DNS_NOTIFY_TRIES) {
        log_warn("dns notify %s %s serial %u: no answer after %u tries; given up", t->peer,
                 t->zone, t->serial, t->tries);
        finish(t);
        return;
    }
    send_once(t);
}

/* Does p[0..n) answer our NOTIFY (RFC 1996 section 4.8: the same ID,
 * QR set, opcode NOTIFY, our question)? Its RCODE into *rcode. */
static bool matches(const struct task *t, const uint8_t *p, size_t n, uint8_t *rcode)
{
    struct dns_header h;
    if (dns_header_read(p, n, &h) < 0 || h.id != t->id || !h.qr ||
        h.opcode != DNS_OPCODE_NOTIFY)
        return false;
    *rcode = h.rcode;
    if (h.count[DNS_SECTION_QUESTION] == 0)
        return h.rcode != DNS_RCODE_NOERROR;  /* some errors come without the question */
    struct dns_name q;
    if (dns_name_read(p, n, DNS_HEADER_SIZE, &q) < 0)
        return false;
    return dns_name_equal(&q, &t->apex);
}

/* Is the answer signed with our key, over our request's MAC? */
static bool verified(struct task *t, const uint8_t *p, size_t n)
{
    struct dns_rr rrs[16];
    struct dns_msg m;
    if (dns_msg_parse(&m, p, n, rrs, 16) < 0)
        return false;
    struct dns_tsig_ctx c = t->tsig;         /* a fresh copy per answer tried */
    c.run = NULL;
    int r = dns_tsig_verify_response(&m, &c, (uint64_t)time(NULL), true);
    bool ok = r == 1 && dns_tsig_verify_end(&c) == 0;
    dns_tsig_ctx_clear(&c);
    return ok;
}

static void on_readable(struct loop_io *io, uint32_t events)
{
    struct task *t = (struct task *)((char *)io - offsetof(struct task, io));
    uint8_t buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(t->fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == ECONNREFUSED)
                log_debug("dns notify %s %s: port unreachable; will retry", t->peer, t->zone);
            return;
        }
        uint8_t rcode;
        if (!matches(t, buf, (size_t)n, &rcode))
            continue;
        if (t->have_key && !verified(t, buf, (size_t)n)) {
            /* RFC 8945 section 5.3: an answer to a signed request that is not
             * signed by the same key counts for nothing; keep retrying. */
            log_warn("dns notify %s %s serial %u: an answer without a valid signature; ignored",
                     t->peer, t->zone, t->serial);
            continue;
        }
        char rb[DNS_MNEMONIC_MAX];
        if (rcode == DNS_RCODE_NOERROR)
            log_info("dns notify %s %s serial %u: acknowledged", t->peer, t->zone, t->serial);
        else
            log_warn("dns notify %s %s serial %u: answered %s", t->peer, t->zone, t->serial,
                     dns_rcode_to_text(rcode, rb));
        finish(t);
        return;
    }
}

/* Runs on the task's loop. */
static void start(void *arg)
{
    struct task *t = arg;
    pthread_mutex_lock(&g_mu);
    bool cancelled = t->cancelled;
    t->started = true;
    pthread_mutex_unlock(&g_mu);
    if (cancelled) {
        pthread_mutex_lock(&g_mu);
        unlink_task(t);
        pthread_mutex_unlock(&g_mu);
        task_free(t);
        return;
    }
    t->loop = loop_current();
    t->fd = socket(t->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&t->to, t->tolen) < 0 ||
        loop_io_add(t->loop, &t->io, t->fd, EPOLLIN, on_readable) < 0) {
        log_err("dns notify %s %s: cannot open a socket: %s", t->peer, t->zone,
                strerror(errno));
        if (t->fd >= 0)
            close(t->fd);
        t->fd = -1;
        pthread_mutex_lock(&g_mu);
        unlink_task(t);
        pthread_mutex_unlock(&g_mu);
        task_free(t);
        return;
    }
    send_once(t);
}

/* Build the NOTIFY message (RFC 1996 section 3.7). */
static int build(struct task *t, const struct dns_name *apex, const uint8_t *soa, uint16_t soalen,
                 uint32_t ttl)
{
    struct dns_header h;
    memset(&h, 0, sizeof h);
    h.id = t->id;
    h.opcode = DNS_OPCODE_NOTIFY;
    h.aa = true;
    struct dns_writer w;
    size_t reserve = t->have_key ? dns_tsig_size(&t->key) : 0;
    if (dns_writer_init(&w, t->msg, sizeof t->msg, &h) < 0 ||
        dns_writer_reserve(&w, reserve) < 0 ||
        dns_writer_question(&w, apex, DNS_TYPE_SOA, DNS_CLASS_IN) < 0 ||
        dns_writer_rr(&w, DNS_SECTION_ANSWER, apex, DNS_TYPE_SOA, DNS_CLASS_IN, ttl, soa,
                      soalen) < 0)
        return -EMSGSIZE;
    if (t->have_key) {
        /* Signed once: a retry sends the same octets (its Time Signed stays
         * within the 300 s fudge over the 31 s of retries). */
        dns_writer_release(&w, reserve);
        memset(&t->tsig, 0, sizeof t->tsig);
        t->tsig.key = &t->key;
        if (dns_tsig_sign(&w, &t->tsig, (uint64_t)time(NULL), true) < 0)
            return -EMSGSIZE;
    }
    t->len = dns_writer_len(&w);
    return 0;
}

struct soa {
    struct dns_name owner;
    uint32_t ttl;
    uint16_t len;
    uint8_t rdata[2 * DNS_NAME_MAXWIRE + 20];
};

static int soa_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                  uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct soa *s = arg;
    if (rdlen > sizeof s->rdata)
        return -EINVAL;
    s->owner = *owner;
    s->ttl = ttl;
    s->len = rdlen;
    memcpy(s->rdata, rdata, rdlen);
    return -EINTR;                   /* the SOA comes first: stop there */
}

void dns_notify_zone(const struct dns_zone *z, const struct dns_remotes *to,
                     const struct dns_tsig_key *(*key_of)(const char *name, void *arg),
                     void *arg)
{
    if (!to || to->n == 0)
        return;
    struct soa soa;
    struct dns_zone_cursor c;
    memset(&c, 0, sizeof c);
    memset(&soa, 0, sizeof soa);
    if (dns_zone_walk_resume(z, &c, soa_cb, &soa) != -EINTR)
        return;
    char zone[DNS_NAME_MAXTEXT];
    if (dns_name_to_text(dns_zone_apex(z), zone, sizeof zone) < 0)
        return;
    for (size_t i = 0; i < to->n; i++) {
        const struct dns_remote *r = &to->v[i];
        struct task *t = calloc(1, sizeof *t);
        if (!t) {
            log_err("dns notify: out of memory");
            return;
        }
        t->fd = -1;
        t->to = r->addr;
        t->tolen = r->addrlen;
        t->apex = *dns_zone_apex(z);
        t->serial = dns_zone_serial(z);
        server_format_addr(&r->addr, t->peer, sizeof t->peer);
        str_copy(t->zone, sizeof t->zone, zone);
        uint16_t id;
        random_bytes(&id, sizeof id);
        t->id = id;
        if (r->key[0]) {
            const struct dns_tsig_key *k = key_of ? key_of(r->key, arg) : NULL;
            if (!k) {
                log_err("dns notify %s %s: no key %s; not sent", t->peer, zone, r->key);
                free(t);
                continue;
            }
            t->key = *k;
            t->have_key = true;
        }
        if (build(t, &soa.owner, soa.rdata, soa.len, soa.ttl) < 0) {
            task_free(t);
            continue;
        }
        struct loop *lp = server_loop(g_next_loop++);
        pthread_mutex_lock(&g_mu);
        /* A NOTIFY still being retried for the same zone and address is
         * outdated by this one: stop it at its next retry. */
        for (struct task *o = g_tasks; o; o = o->next)
            if (dns_name_equal(&o->apex, &t->apex) && o->tolen == t->tolen &&
                memcmp(&o->to, &t->to, t->tolen) == 0)
                o->cancelled = true;
        t->next = g_tasks;
        if (g_tasks)
            g_tasks->prev = t;
        g_tasks = t;
        pthread_mutex_unlock(&g_mu);
        log_info("dns notify %s %s serial %u: sending%s", t->peer, zone, t->serial,
                 t->have_key ? " (signed)" : "");
        if (!lp || loop_post(lp, start, t) < 0) {
            log_err("dns notify %s %s: no event loop to send from", t->peer, zone);
            pthread_mutex_lock(&g_mu);
            unlink_task(t);
            pthread_mutex_unlock(&g_mu);
            task_free(t);
        }
    }
}

void dns_notify_cleanup(void)
{
    pthread_mutex_lock(&g_mu);
    while (g_tasks) {
        struct task *t = g_tasks;
        unlink_task(t);
        task_free(t);
    }
    pthread_mutex_unlock(&g_mu);
}
