/*
 * queue_ctl.c - list, flush and delete queued messages: what `outpost
 * queue` does, from its own process, while a server may be running. See
 * queue.h; the files are described in queue.c.
 *
 * A running server learns of a change through the marker file (qstore_poke):
 * its next queue_claim() sees the new mtime and reads the queue again.
 */
#include "mail/queue.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/qstore.h"

/* IDs of the queue's entries (those with an .env), sorted: IDs start with
 * the arrival time, so this is oldest first. */
static int list_ids(const char *datadir, char (**ids)[QUEUE_ID_MAX], size_t *n)
{
    char dir[4096];
    int r = qstore_dir(dir, sizeof dir, datadir);
    if (r < 0)
        return r;
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".env") != 0 || len - 4 >= QUEUE_ID_MAX)
            continue;
        char id[QUEUE_ID_MAX];
        memcpy(id, e->d_name, len - 4);
        id[len - 4] = '\0';
        if (!qstore_valid_id(id))
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char(*t)[QUEUE_ID_MAX] = realloc(*ids, nc * sizeof *t);
            if (!t) {
                closedir(d);
                free(*ids);
                *ids = NULL;
                return -ENOMEM;
            }
            *ids = t;
            cap = nc;
        }
        memcpy((*ids)[(*n)++], id, QUEUE_ID_MAX);
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, QUEUE_ID_MAX, (int (*)(const void *, const void *))strcmp);
    return 0;
}

/* Is the entry's lease held right now (by a runner)? */
static bool is_active(const char *datadir, const char *id)
{
    int fd = qstore_lock(datadir, id);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return fd == OP_E_LOCKED;
}

int queue_list(const char *datadir, void (*fn)(void *arg, const struct queue_info *qi), void *arg)
{
    char(*ids)[QUEUE_ID_MAX];
    size_t n;
    int r = list_ids(datadir, &ids, &n);
    if (r < 0)
        return r;
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        struct qentry e;
        /* Gone meanwhile (delivered), or still being written: skip. */
        if (qstore_read(datadir, ids[i], &e) < 0)
            continue;
        char msg[4096];
        struct stat st;
        if (qstore_path(msg, sizeof msg, datadir, ids[i], ".msg") < 0 || stat(msg, &st) < 0) {
            qentry_free(&e);
            continue;
        }
        /* Only what is still of interest: pending and failed ones. */
        struct queue_rcpt_status *rs = calloc(e.nrcpts, sizeof *rs);
        if (!rs) {
            qentry_free(&e);
            r = -ENOMEM;
            break;
        }
        size_t k = 0;
        for (size_t j = 0; j < e.nrcpts; j++)
            if (e.rcpts[j].s.state != QUEUE_DELIVERED)
                rs[k++] = e.rcpts[j].s;
        struct queue_info qi = {
            .sender = e.sender, .arrival = (time_t)e.arrival, .next_attempt = (time_t)e.next_attempt,
            .attempts = e.attempts, .rcpts = rs, .nrcpts = k, .size = (uint64_t)st.st_size,
            .active = is_active(datadir, ids[i]),
        };
        str_copy(qi.id, sizeof qi.id, ids[i]);
        fn(arg, &qi);
        count++;
        free(rs);
        qentry_free(&e);
    }
    free(ids);
    return r < 0 ? r : count;
}

/* Make one entry due now: rewrite its next attempt under its lease. A
 * message being delivered right now is left alone (it is being tried). */
static int flush_one(const char *datadir, const char *id)
{
    int fd = qstore_lock(datadir, id);
    if (fd == OP_E_LOCKED)
        return 0;
    if (fd < 0)
        return fd;
    struct qentry e;
    int r = qstore_read(datadir, id, &e);
    if (r == 0) {
        if (e.next_attempt != 0) {
            e.next_attempt = 0;
            r = qstore_write(datadir, id, &e);
        }
        qentry_free(&e);
    }
    close(fd);
    return r;
}

int queue_flush(const char *datadir, const char *id)
{
    int r = 0;
    if (id) {
        if (!qstore_valid_id(id))
            return OP_E_NOTFOUND;
        r = flush_one(datadir, id);
    } else {
        char(*ids)[QUEUE_ID_MAX];
        size_t n;
        if ((r = list_ids(datadir, &ids, &n)) < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            int k = flush_one(datadir, ids[i]);
            if (k < 0 && k != OP_E_NOTFOUND && r == 0)
                r = k;
        }
        free(ids);
    }
    if (r == 0 || r == OP_E_NOTFOUND) {
        int p = qstore_poke(datadir);
        if (p < 0 && p != -ENOENT && r == 0)
            r = p;
    }
    return r;
}

int queue_delete(const char *datadir, const char *id)
{
    if (!qstore_valid_id(id))
        return OP_E_NOTFOUND;
    int fd = qstore_lock(datadir, id);
    if (fd < 0)
        return fd;                    /* OP_E_LOCKED while a runner has it */
    int r = qstore_remove(datadir, id);
    close(fd);
    if (r == 0) {
        log_info("queue %s: deleted", id);
        qstore_poke(datadir);
    }
    return r;
}
