/* Unit tests of the event loop: timers in order, cancel, defer, post. */
#include <pthread.h>
#include <stdlib.h>

#include "net/loop.h"
#include "test.h"

struct tick {
    struct loop_timer t;
    struct loop *lp;
    int id;
    int *log;
    int *n;
};

static void on_tick(struct loop_timer *t)
{
    struct tick *k = (struct tick *)t;
    k->log[(*k->n)++] = k->id;
    if (*k->n == 4)
        loop_stop(k->lp);
}

TEST(loop_timers_fire_in_deadline_order_and_cancel_works)
{
    struct loop *lp = loop_new();
    REQUIRE(lp);
    int log[8] = {0}, n = 0;
    struct tick ticks[5];
    static const int delays[] = {30, 10, 50, 20, 40};
    for (int i = 0; i < 5; i++) {
        ticks[i] = (struct tick){.lp = lp, .id = i, .log = log, .n = &n};
        loop_timer_arm(lp, &ticks[i].t, (uint64_t)delays[i], on_tick);
    }
    loop_timer_cancel(lp, &ticks[2].t);       /* the 50 ms one never fires */
    loop_timer_arm(lp, &ticks[4].t, 5, on_tick); /* re-arming moves it first */
    loop_run(lp);
    CHECK_INT(n, 4);
    CHECK_INT(log[0], 4);
    CHECK_INT(log[1], 1);
    CHECK_INT(log[2], 3);
    CHECK_INT(log[3], 0);
    CHECK(ticks[2].t.slot == 0);
    loop_free(lp);
}

struct heap_ctx {
    struct loop_timer t;
    struct loop *lp;
    uint64_t *fired;
    int *n;
    int total;
};

static void on_heap_tick(struct loop_timer *t)
{
    struct heap_ctx *h = (struct heap_ctx *)t;
    h->fired[(*h->n)++] = t->when;
    if (*h->n == h->total)
        loop_stop(h->lp);
}

TEST(loop_heap_fires_many_timers_in_order_after_cancels_and_rearms)
{
    struct loop *lp = loop_new();
    REQUIRE(lp);
    enum { N = 600 };
    struct heap_ctx *hs = calloc(N, sizeof *hs);
    uint64_t fired[N];
    int n = 0;
    REQUIRE(hs);
    int live = 0;
    for (int i = 0; i < N; i++) {
        hs[i] = (struct heap_ctx){.lp = lp, .fired = fired, .n = &n};
        loop_timer_arm(lp, &hs[i].t, (uint64_t)((i * 7919) % 37), on_heap_tick);
    }
    for (int i = 0; i < N; i += 3)
        loop_timer_cancel(lp, &hs[i].t);
    for (int i = 1; i < N; i += 5)
        loop_timer_arm(lp, &hs[i].t, (uint64_t)((i * 31) % 23), on_heap_tick);
    for (int i = 0; i < N; i++)
        if (hs[i].t.slot)
            live++;
    for (int i = 0; i < N; i++)
        hs[i].total = live;
    loop_run(lp);
    CHECK_INT(n, live);
    for (int i = 1; i < n; i++)
        CHECK(fired[i] >= fired[i - 1]);
    free(hs);
    loop_free(lp);
}

struct post_ctx {
    struct loop *lp;
    int count;
};

static void on_post(void *arg)
{
    struct post_ctx *p = arg;
    if (++p->count == 1000)
        loop_stop(p->lp);
}

static void *poster(void *arg)
{
    struct post_ctx *p = arg;
    for (int i = 0; i < 500; i++)
        loop_post(p->lp, on_post, p);
    return NULL;
}

TEST(loop_post_from_other_threads_runs_every_call_on_the_loop)
{
    struct post_ctx p = {loop_new(), 0};
    REQUIRE(p.lp);
    pthread_t a, b;
    pthread_create(&a, NULL, poster, &p);
    pthread_create(&b, NULL, poster, &p);
    loop_run(p.lp);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_INT(p.count, 1000);
    loop_free(p.lp);
}

struct dctx {
    struct loop_defer d, d2;
    struct loop *lp;
    int runs;
};

static void on_defer2(struct loop_defer *d)
{
    struct dctx *x = (struct dctx *)((char *)d - offsetof(struct dctx, d2));
    x->runs += 10;
    loop_stop(x->lp);
}

static void on_defer(struct loop_defer *d)
{
    struct dctx *x = (struct dctx *)d;
    x->runs++;
    loop_defer(x->lp, &x->d2, on_defer2);    /* queued from a deferred call */
}

TEST(loop_defer_is_idempotent_and_can_be_cancelled)
{
    struct dctx x = {.lp = loop_new()};
    REQUIRE(x.lp);
    loop_defer(x.lp, &x.d, on_defer);
    loop_defer(x.lp, &x.d, on_defer);        /* still once */
    loop_run(x.lp);
    CHECK_INT(x.runs, 11);
    struct dctx y = {.lp = x.lp};
    loop_defer(x.lp, &y.d, on_defer);
    loop_defer_cancel(x.lp, &y.d);
    CHECK(!y.d.queued);
    loop_free(x.lp);
}
