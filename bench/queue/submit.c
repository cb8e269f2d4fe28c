/*
 * bench/queue/submit.c - queue_submit() throughput: THREADS threads submit
 * COUNT messages of SIZE octets in all, each to one local recipient, one
 * remote one, or both, and the rate is printed. Every submit is durable
 * (fsync'ed files and directories) as in the server; this shows how well
 * concurrent submits share the file system's journal commits.
 *
 *   build/release/queue-bench DATADIR [THREADS [COUNT [SIZE [local|remote|both]]]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/queue.h"

static struct {
    int count_per_thread;
    size_t size;
    const char *mode;
    char *msg;
    int failures;
    pthread_mutex_t mu;
} b = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    struct queue_rcpt rc[2];
    memset(rc, 0, sizeof rc);
    size_t n = 0;
    if (strcmp(b.mode, "remote") != 0) {
        snprintf(rc[n].addr, sizeof rc[n].addr, "user%d@bench.test", t);
        rc[n++].local = true;
    }
    if (strcmp(b.mode, "local") != 0)
        snprintf(rc[n++].addr, sizeof rc[n].addr, "someone@far.test");
    struct queue_envelope env = {.sender = "sender@bench.test", .rcpts = rc, .nrcpts = n,
                                 .client = "[127.0.0.1]"};
    for (int i = 0; i < b.count_per_thread; i++) {
        char id[QUEUE_ID_MAX];
        int r = queue_submit(&env, b.msg, b.size, id);
        if (r < 0) {
            pthread_mutex_lock(&b.mu);
            b.failures++;
            pthread_mutex_unlock(&b.mu);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATADIR [THREADS [COUNT [SIZE [local|remote|both]]]]\n", argv[0]);
        return 64;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 10;
    int count = argc > 3 ? atoi(argv[3]) : 2000;
    b.size = argc > 4 ? (size_t)atol(argv[4]) : 1024;
    b.mode = argc > 5 ? argv[5] : "local";
    if (threads < 1 || threads > 256 || count < threads || b.size < 32)
        return 64;
    b.count_per_thread = count / threads;
    b.msg = malloc(b.size);
    if (!b.msg)
        return 1;
    /* A plausible 1 KiB message: header lines, then text lines. */
    int h = snprintf(b.msg, b.size, "Received: from bench\r\nSubject: bench\r\n\r\n");
    for (size_t i = (size_t)h; i < b.size; i++)
        b.msg[i] = (i % 72 == 70) ? '\r' : (i % 72 == 71) ? '\n' : 'a' + (char)(i % 26);
    log_setup("stderr", LOG_LVL_WARN);
    struct queue_config cfg = {.datadir = argv[1], .hostname = "bench.test", .retry_min_s = 60,
                               .retry_max_s = 3600, .expiry_s = 86400};
    int r = queue_init(&cfg);
    if (r < 0) {
        fprintf(stderr, "queue_init: %s\n", op_strerror(r));
        return 1;
    }
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    uint64_t t0 = clock_ms();
    for (int t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    uint64_t ms = clock_ms() - t0;
    int done = b.count_per_thread * threads;
    printf("%d submits (%s, %zu octets, %d threads) in %.2f s: %.0f/s, %d failed\n", done, b.mode,
           b.size, threads, (double)ms / 1000.0, ms ? done * 1000.0 / (double)ms : 0.0, b.failures);
    queue_shutdown();
    free(tid);
    free(b.msg);
    return b.failures ? 1 : 0;
}
