#include "net/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/log.h"
#include "net/loop.h"

struct job {
    struct job *next;
    struct loop *lp;
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static struct job *g_head, **g_tail = &g_head;
static bool g_stopping;
static pthread_t *g_threads;
static unsigned g_nthreads;

static void *worker(void *unused)
{
    for (;;) {
        pthread_mutex_lock(&g_mu);
        while (!g_head && !g_stopping)
            pthread_cond_wait(&g_cv, &g_mu);
        struct job *j = g_head;
        if (!j) {
            pthread_mutex_unlock(&g_mu);
            return NULL;
        }
        g_head = j->next;
        if (!g_head)
            g_tail = &g_head;
        pthread_mutex_unlock(&g_mu);

        j->work(j->arg);
        if (loop_post(j->lp, j->done, j->arg) < 0) {
            log_err("pool: cannot post a completion: out of memory");
            abort();
        }
        free(j);
    }
}

int pool_start(unsigned nthreads)
{
    g_stopping = false;
    g_threads = calloc(nthreads, sizeof *g_threads);
    if (!g_threads)
        return -1;
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        if (pthread_create(&g_threads[i], &attr, worker, NULL) != 0) {
            pthread_attr_destroy(&attr);
            return -1;
        }
        pthread_attr_destroy(&attr);
        g_nthreads++;
    }
    return 0;
}

void pool_stop(void)
{
    pthread_mutex_lock(&g_mu);
    g_stopping = true;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    for (unsigned i = 0; i < g_nthreads; i++)
        pthread_join(g_threads[i], NULL);
    free(g_threads);
    g_threads = NULL;
    g_nthreads = 0;
}

void pool_submit(struct loop *lp, void (*work)(void *), void (*done)(void *), void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (!j) {
        log_err("pool: out of memory");
        abort();
    }
    *j = (struct job){NULL, lp, work, done, arg};
    pthread_mutex_lock(&g_mu);
    *g_tail = j;
    g_tail = &j->next;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
}
