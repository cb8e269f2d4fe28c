/*
 * usage.c - per-user byte counts for the FTP quota (see usage.h).
 *
 * A short list under one mutex: it holds one entry per user with a
 * session open, looked up at login only; the counts themselves are
 * atomics, charged by transfer threads without the lock.
 */
#include "ftp/usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ftp_usage {
    struct ftp_usage *next;
    int refs;                       /* under g_mu */
    _Atomic uint64_t used;
    char user[];
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ftp_usage *g_list;

/* Sum of the sizes of everything beneath dfd, at most 32 directories deep. */
static uint64_t tree_size(int dfd, int depth)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            sum += (uint64_t)st.st_size;
        } else if (S_ISDIR(st.st_mode) && depth < 32) {
            int sub = openat(dirfd(d), e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                sum += tree_size(sub, depth + 1);
                close(sub);
            }
        }
    }
    closedir(d);
    return sum;
}

static struct ftp_usage *find(const char *user)
{
    for (struct ftp_usage *u = g_list; u; u = u->next)
        if (!strcmp(u->user, user))
            return u;
    return NULL;
}

struct ftp_usage *ftp_usage_get(const char *user, int root)
{
    pthread_mutex_lock(&g_mu);
    struct ftp_usage *u = find(user);
    if (u)
        u->refs++;
    pthread_mutex_unlock(&g_mu);
    if (u)
        return u;
    /* Counted without the lock (it reads the disk); a session of the
     * same user that logged in meanwhile may have counted too: the first
     * entry in the list wins. */
    uint64_t sum = tree_size(root, 0);
    size_t len = strlen(user);
    struct ftp_usage *n = calloc(1, sizeof *n + len + 1);
    if (!n)
        return NULL;
    memcpy(n->user, user, len + 1);
    atomic_init(&n->used, sum);
    n->refs = 1;
    pthread_mutex_lock(&g_mu);
    u = find(user);
    if (u) {
        u->refs++;
    } else {
        n->next = g_list;
        g_list = n;
        u = n;
        n = NULL;
    }
    pthread_mutex_unlock(&g_mu);
    free(n);
    return u;
}

void ftp_usage_hold(struct ftp_usage *u)
{
    pthread_mutex_lock(&g_mu);
    u->refs++;
    pthread_mutex_unlock(&g_mu);
}

void ftp_usage_put(struct ftp_usage *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&g_mu);
    bool last = --u->refs == 0;
    if (last)
        for (struct ftp_usage **p = &g_list; *p; p = &(*p)->next)
            if (*p == u) {
                *p = u->next;
                break;
            }
    pthread_mutex_unlock(&g_mu);
    if (last)
        free(u);
}

uint64_t ftp_usage_used(const struct ftp_usage *u)
{
    return atomic_load(&u->used);
}

uint64_t ftp_usage_charge(struct ftp_usage *u, uint64_t n, uint64_t limit)
{
    uint64_t cur = atomic_load(&u->used);
    for (;;) {
        uint64_t room = cur >= limit ? 0 : limit - cur;
        uint64_t take = n < room ? n : room;
        if (atomic_compare_exchange_weak(&u->used, &cur, cur + take))
            return take;
    }
}

void ftp_usage_credit(struct ftp_usage *u, uint64_t n)
{
    uint64_t cur = atomic_load(&u->used);
    while (!atomic_compare_exchange_weak(&u->used, &cur, cur > n ? cur - n : 0)) {
    }
}

void ftp_usage_debit(struct ftp_usage *u, uint64_t n)
{
    atomic_fetch_add(&u->used, n);
}
