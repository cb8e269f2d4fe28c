#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

struct posted {
    struct posted *next;
    void (*fn)(void *arg);
    void *arg;
};

struct loop {
    int epfd;
    struct loop_io wake;               /* eventfd: loop_post and loop_stop */
    volatile int stopping;

    struct loop_timer **heap;          /* min-heap on when */
    size_t nheap, capheap;

    struct loop_defer *defer_head, **defer_tail;

    pthread_mutex_t post_mu;
    struct posted *post_head, **post_tail;
};

static _Thread_local struct loop *t_current;

struct loop *loop_current(void)
{
    return t_current;
}

/* ---- timers: a binary min-heap; slot holds index+1 so 0 means unarmed ---- */

static void heap_set(struct loop *lp, size_t i, struct loop_timer *t)
{
    lp->heap[i] = t;
    t->slot = i + 1;
}

static void heap_up(struct loop *lp, size_t i)
{
    struct loop_timer *t = lp->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (lp->heap[p]->when <= t->when)
            break;
        heap_set(lp, i, lp->heap[p]);
        i = p;
    }
    heap_set(lp, i, t);
}

static void heap_down(struct loop *lp, size_t i)
{
    struct loop_timer *t = lp->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= lp->nheap)
            break;
        if (c + 1 < lp->nheap && lp->heap[c + 1]->when < lp->heap[c]->when)
            c++;
        if (lp->heap[c]->when >= t->when)
            break;
        heap_set(lp, i, lp->heap[c]);
        i = c;
    }
    heap_set(lp, i, t);
}

void loop_timer_cancel(struct loop *lp, struct loop_timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    lp->nheap--;
    if (i == lp->nheap)
        return;
    struct loop_timer *moved = lp->heap[lp->nheap];
    heap_set(lp, i, moved);
    heap_up(lp, i);
    heap_down(lp, moved->slot - 1);
}

void loop_timer_arm(struct loop *lp, struct loop_timer *t, uint64_t delay_ms,
                    void (*fn)(struct loop_timer *t))
{
    loop_timer_cancel(lp, t);
    t->fn = fn;
    t->when = clock_ms() + delay_ms;
    if (lp->nheap == lp->capheap) {
        size_t cap = lp->capheap ? lp->capheap * 2 : 64;
        struct loop_timer **h = realloc(lp->heap, cap * sizeof *h);
        if (!h) {
            log_err("loop: out of memory arming a timer");
            abort();
        }
        lp->heap = h;
        lp->capheap = cap;
    }
    lp->heap[lp->nheap] = t;
    t->slot = ++lp->nheap;
    heap_up(lp, lp->nheap - 1);
}

static void run_timers(struct loop *lp)
{
    uint64_t now = clock_ms();
    while (lp->nheap > 0 && lp->heap[0]->when <= now) {
        struct loop_timer *t = lp->heap[0];
        loop_timer_cancel(lp, t);
        t->fn(t);
    }
}

/* ---- deferred calls ------------------------------------------------------- */

void loop_defer(struct loop *lp, struct loop_defer *d, void (*fn)(struct loop_defer *d))
{
    if (d->queued)
        return;
    d->fn = fn;
    d->queued = true;
    d->next = NULL;
    *lp->defer_tail = d;
    lp->defer_tail = &d->next;
}

void loop_defer_cancel(struct loop *lp, struct loop_defer *d)
{
    if (!d->queued)
        return;
    for (struct loop_defer **pp = &lp->defer_head; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            if (lp->defer_tail == &d->next)
                lp->defer_tail = pp;
            break;
        }
    }
    d->queued = false;
}

static void run_deferred(struct loop *lp)
{
    /* Calls may queue further calls; they run in this same pass. */
    while (lp->defer_head) {
        struct loop_defer *d = lp->defer_head;
        lp->defer_head = d->next;
        if (!lp->defer_head)
            lp->defer_tail = &lp->defer_head;
        d->queued = false;
        d->fn(d);
    }
}

/* ---- cross-thread posts ------------------------------------------------- */

int loop_post(struct loop *lp, void (*fn)(void *arg), void *arg)
{
    struct posted *p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->next = NULL;
    pthread_mutex_lock(&lp->post_mu);
    *lp->post_tail = p;
    lp->post_tail = &p->next;
    pthread_mutex_unlock(&lp->post_mu);
    uint64_t one = 1;
    ssize_t w = write(lp->wake.fd, &one, sizeof one);
    (void)w;                             /* EAGAIN: counter saturated, already awake */
    return 0;
}

void loop_stop(struct loop *lp)
{
    lp->stopping = 1;
    uint64_t one = 1;
    ssize_t w = write(lp->wake.fd, &one, sizeof one);
    (void)w;
}

static void on_wake(struct loop_io *io, uint32_t events)
{
    struct loop *lp = (struct loop *)((char *)io - offsetof(struct loop, wake));
    uint64_t v;
    ssize_t r = read(io->fd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&lp->post_mu);
    struct posted *p = lp->post_head;
    lp->post_head = NULL;
    lp->post_tail = &lp->post_head;
    pthread_mutex_unlock(&lp->post_mu);
    while (p) {
        struct posted *n = p->next;
        p->fn(p->arg);
        free(p);
        p = n;
    }
}

/* ---- file descriptors ---------------------------------------------------- */

int loop_io_add(struct loop *lp, struct loop_io *io, int fd, uint32_t events,
                void (*fn)(struct loop_io *io, uint32_t events))
{
    io->fd = fd;
    io->events = events;
    io->fn = fn;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int loop_io_mod(struct loop *lp, struct loop_io *io, uint32_t events)
{
    if (io->events == events)
        return 0;
    io->events = events;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return epoll_ctl(lp->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void loop_io_del(struct loop *lp, struct loop_io *io)
{
    if (io->fd >= 0)
        epoll_ctl(lp->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* ---- life cycle ---------------------------------------------------------- */

struct loop *loop_new(void)
{
    struct loop *lp = calloc(1, sizeof *lp);
    if (!lp)
        return NULL;
    lp->defer_tail = &lp->defer_head;
    lp->post_tail = &lp->post_head;
    pthread_mutex_init(&lp->post_mu, NULL);
    lp->epfd = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lp->epfd < 0 || efd < 0 || loop_io_add(lp, &lp->wake, efd, EPOLLIN, on_wake) < 0) {
        if (efd >= 0)
            close(efd);
        if (lp->epfd >= 0)
            close(lp->epfd);
        free(lp);
        return NULL;
    }
    return lp;
}

void loop_free(struct loop *lp)
{
    if (!lp)
        return;
    on_wake(&lp->wake, 0);               /* run (and free) anything still posted */
    close(lp->wake.fd);
    close(lp->epfd);
    free(lp->heap);
    pthread_mutex_destroy(&lp->post_mu);
    free(lp);
}

int loop_run(struct loop *lp)
{
    struct epoll_event evs[64];
    t_current = lp;
    while (!lp->stopping) {
        run_deferred(lp);
        int timeout = -1;
        if (lp->nheap > 0) {
            uint64_t now = clock_ms(), when = lp->heap[0]->when;
            timeout = when <= now ? 0 : (when - now > 60000 ? 60000 : (int)(when - now));
        }
        int n = epoll_wait(lp->epfd, evs, (int)ARRAY_LEN(evs), timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_err("loop: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct loop_io *io = evs[i].data.ptr;
            /* An earlier callback of this batch may have closed this fd;
             * owners free their structs only from deferred calls, so io is
             * still valid here, and fd < 0 marks it closed. */
            if (io->fd >= 0)
                io->fn(io, evs[i].events);
        }
        run_timers(lp);
    }
    run_deferred(lp);
    lp->stopping = 0;               /* the loop may be run again */
    t_current = NULL;
    return 0;
}
