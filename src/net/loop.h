/*
 * loop.h - the event loop: one per thread, on epoll, with timers.
 *
 * Everything a loop does happens on its own thread: file descriptor
 * callbacks, timer callbacks, deferred calls, and functions posted from other
 * threads (loop_post, the only thread-safe entry). Callbacks must not block;
 * slow work goes to the worker pool (pool.h), whose results come back here
 * through loop_post.
 *
 * Ownership: loop_io, loop_timer and loop_defer are embedded in their
 * owner's struct, so arming them never allocates.
 */
#ifndef OP_NET_LOOP_H
#define OP_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

struct loop_io {
    int fd;
    uint32_t events;                               /* EPOLLIN / EPOLLOUT ... */
    void (*fn)(struct loop_io *io, uint32_t events);
};

struct loop_timer {
    uint64_t when;                                 /* clock_ms() deadline */
    size_t slot;                                   /* heap index + 1; 0 = not armed */
    void (*fn)(struct loop_timer *t);
};

struct loop_defer {
    struct loop_defer *next;
    bool queued;
    void (*fn)(struct loop_defer *d);
};

struct loop *loop_new(void);
void loop_free(struct loop *lp);

/* Run until loop_stop(); returns 0. It may be run again afterwards; a stop
 * asked before loop_run() makes it return after one round. */
int  loop_run(struct loop *lp);
/* Ask the loop to return from loop_run (any thread). */
void loop_stop(struct loop *lp);

/* The loop running on the calling thread, or NULL. */
struct loop *loop_current(void);

/* Watch io->fd for events (level-triggered). 0 or -errno. */
int  loop_io_add(struct loop *lp, struct loop_io *io, int fd, uint32_t events,
                 void (*fn)(struct loop_io *io, uint32_t events));
int  loop_io_mod(struct loop *lp, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *lp, struct loop_io *io);

/* Arm (or re-arm) t to fire once after delay_ms. */
void loop_timer_arm(struct loop *lp, struct loop_timer *t, uint64_t delay_ms,
                    void (*fn)(struct loop_timer *t));
void loop_timer_cancel(struct loop *lp, struct loop_timer *t);

/* Run d->fn once, after the current batch of events and before the loop
 * waits again (used to coalesce writes). Idempotent while queued. */
void loop_defer(struct loop *lp, struct loop_defer *d, void (*fn)(struct loop_defer *d));
/* Remove d from the deferred queue if it is queued. */
void loop_defer_cancel(struct loop *lp, struct loop_defer *d);

/* Call fn(arg) on the loop's thread (thread-safe). 0 or -ENOMEM. */
int  loop_post(struct loop *lp, void (*fn)(void *arg), void *arg);

#endif
