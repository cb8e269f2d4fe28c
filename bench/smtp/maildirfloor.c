/*
 * maildirfloor.c - what the disk alone allows: durable Maildir deliveries
 * per second with no SMTP at all, the floor under any server's figure in
 * bench/smtp/run.sh.
 *
 * THREADS writers each deliver COUNT/THREADS messages of SIZE octets into
 * one Maildir the way a careful server must before it may answer 250: an
 * unnamed file in tmp/, written and fsync'ed, linked into new/, and new/
 * fsync'ed. Prints "<messages/s>".
 *
 * Usage: maildirfloor MAILDIR THREADS COUNT SIZE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_root;
static int g_per_thread;
static size_t g_size;
static atomic_int g_seq;
static atomic_int g_failed;

static void *writer(void *arg)
{
    (void)arg;
    char *msg = malloc(g_size);
    if (!msg) {
        atomic_store(&g_failed, 1);
        return NULL;
    }
    memset(msg, 'x', g_size);
    char tmp[4096], fin[4096], newdir[4096], proc[64];
    snprintf(tmp, sizeof tmp, "%s/tmp", g_root);
    snprintf(newdir, sizeof newdir, "%s/new", g_root);
    for (int i = 0; i < g_per_thread; i++) {
        snprintf(fin, sizeof fin, "%s/new/floor.%d.%d", g_root, (int)getpid(),
                 atomic_fetch_add(&g_seq, 1));
        int fd = open(tmp, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, msg, g_size) != (ssize_t)g_size || fsync(fd) < 0) {
            atomic_store(&g_failed, 1);
            break;
        }
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        int dfd = -1;
        if (linkat(AT_FDCWD, proc, AT_FDCWD, fin, AT_SYMLINK_FOLLOW) < 0 ||
            (dfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0) {
            atomic_store(&g_failed, 1);
        }
        if (dfd >= 0)
            close(dfd);
        close(fd);
        if (atomic_load(&g_failed))
            break;
    }
    free(msg);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MAILDIR THREADS COUNT SIZE\n", argv[0]);
        return 64;
    }
    g_root = argv[1];
    int threads = atoi(argv[2]);
    int count = atoi(argv[3]);
    g_size = (size_t)atol(argv[4]);
    if (threads < 1 || threads > 256 || count < threads || g_size < 1) {
        fprintf(stderr, "maildirfloor: bad arguments\n");
        return 64;
    }
    g_per_thread = count / threads;
    pthread_t t[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, writer, NULL) != 0)
            return 1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (atomic_load(&g_failed)) {
        perror("maildirfloor");
        return 1;
    }
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.0f\n", (double)g_per_thread * threads / s);
    return 0;
}
