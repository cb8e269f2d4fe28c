/* Unit tests for mail/maildir: sizes, names, durable delivery and its
 * clean failure when the disk is full. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "mail/maildir.h"
#include "test.h"

/* Number of entries (dot files included, "." and ".." not) in root/sub. */
static int count_entries(const char *root, const char *sub)
{
    char path[4096];
    pathf(path, sizeof path, "%s/%s", root, sub);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *make_root(const char *sub)
{
    static char root[4096];
    pathf(root, sizeof root, "%s/%s", test_tmpdir(), sub);
    return root;
}

TEST(maildir_crlf_size)
{
    CHECK_INT(mail_crlf_size("", 0), 0);
    CHECK_INT(mail_crlf_size("\n", 1), 2);
    CHECK_INT(mail_crlf_size("\r\n", 2), 2);
    CHECK_INT(mail_crlf_size("\r", 1), 1);              /* a bare CR is not changed */
    CHECK_INT(mail_crlf_size("a\nb\r\nc\n", 7), 9);
    CHECK_INT(mail_crlf_size("\n\n\n", 3), 6);
    CHECK_INT(mail_crlf_size("\r\r\n", 3), 3);
    CHECK_INT(mail_crlf_size("x\0\n", 3), 4);           /* NUL bytes are just bytes */
}

TEST(maildir_wire_size_ends_with_crlf)
{
    CHECK_INT(mail_wire_size("", 0), 0);
    CHECK_INT(mail_wire_size("a\n", 2), 3);
    CHECK_INT(mail_wire_size("a\nb", 3), 6);           /* "a\r\nb\r\n" */
    CHECK_INT(mail_wire_size("a\r", 2), 4);            /* "a\r\r\n" */
    CHECK_INT(mail_wire_size("a\r\n", 3), 3);
}

TEST(maildir_name_sizes)
{
    uint64_t s = 0, w = 0;
    CHECK_INT(maildir_name_sizes("1700000000.M5P9Q1R00.host,S=10,W=12", &s, &w), 0);
    CHECK_INT(s, 10);
    CHECK_INT(w, 12);
    CHECK_INT(maildir_name_sizes("1700000000.M5P9Q1R00.host,S=7,W=9:2,RS", &s, &w), 0);
    CHECK_INT(s, 7);
    CHECK_INT(w, 9);
    CHECK_INT(maildir_name_sizes("1700000000.1.host,W=9,S=7", &s, &w), 0);
    CHECK_INT(s, 7);
    CHECK_INT(maildir_name_sizes("1700000000.1.host,S=7", &s, &w), -ENOENT);
    CHECK_INT(maildir_name_sizes("1700000000.1.host", &s, &w), -ENOENT);
    CHECK_INT(maildir_name_sizes("x,S=abc,W=1", &s, &w), -ENOENT);
    CHECK_INT(maildir_name_sizes("x,S=,W=1", &s, &w), -ENOENT);
    CHECK_INT(maildir_name_sizes("x,S=99999999999999999999999,W=1", &s, &w), -ENOENT);
    /* Fields after ':' belong to the info, not to the name. */
    CHECK_INT(maildir_name_sizes("x,S=1:2,W=3", &s, &w), -ENOENT);
}

TEST(maildir_create_nested)
{
    const char *base = test_tmpdir();
    char root[4096], path[4200];
    pathf(root, sizeof root, "%s/a/b/c", base);
    CHECK_INT(maildir_create(root), 0);
    CHECK_INT(maildir_create(root), 0);                 /* idempotent */
    const char *subs[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        pathf(path, sizeof path, "%s/%s", root, subs[i]);
        CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
        CHECK_INT(st.st_mode & 0777, 0700);
    }
    pathf(path, sizeof path, "%s/file", base);
    REQUIRE(write_file_atomic(path, "x", 1, 0600) == 0);
    CHECK_INT(maildir_create(path), -ENOTDIR);
}

TEST(maildir_deliver_roundtrip)
{
    const char *root = make_root("box");
    REQUIRE(maildir_create(root) == 0);
    const char msg[] = "From: a@example.test\nSubject: hi\r\n\nbody line\nlast\n";
    size_t len = sizeof msg - 1;
    char name[256];
    REQUIRE(maildir_deliver(root, msg, len, name, sizeof name) == 0);

    char path[4096];
    pathf(path, sizeof path, "%s/new/%s", root, name);
    struct buf b = BUF_INIT;
    REQUIRE(read_file(path, &b, 1 << 20) == 0);
    CHECK_INT(buf_len(&b), len);
    CHECK(memcmp(buf_ptr(&b), msg, len) == 0);
    buf_free(&b);

    uint64_t s, w;
    REQUIRE(maildir_name_sizes(name, &s, &w) == 0);
    CHECK_INT(s, len);
    CHECK_INT(w, mail_crlf_size(msg, len));
    CHECK_INT(w, len + 4);
    /* The name is printable ASCII with no separator a Maildir reserves. */
    for (const char *p = name; *p; p++)
        CHECK(*p > 0x20 && *p < 0x7f && *p != '/' && *p != ':');
    CHECK(strstr(name, ".M") != NULL && strchr("123456789", name[0]) != NULL);
    CHECK_INT(count_entries(root, "tmp"), 0);
    CHECK_INT(count_entries(root, "new"), 1);

    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);

    /* An empty message is a message too. */
    REQUIRE(maildir_deliver(root, "", 0, name, sizeof name) == 0);
    CHECK(strstr(name, ",S=0,W=0") != NULL);
}

#define THREADS 8
#define PER_THREAD 40

struct deliver_job {
    const char *root;
    int failures;
    char names[PER_THREAD][256];
};

static void *deliver_many(void *arg)
{
    struct deliver_job *job = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "Subject: %d\n\n%p\n", i, arg);
        if (maildir_deliver(job->root, msg, (size_t)n, job->names[i], 256) != 0)
            job->failures++;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(maildir_deliver_unique_across_threads)
{
    const char *root = make_root("box");
    REQUIRE(maildir_create(root) == 0);
    static struct deliver_job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (struct deliver_job){.root = root};
        REQUIRE(pthread_create(&t[i], NULL, deliver_many, &jobs[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *all[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS; i++) {
        CHECK_INT(jobs[i].failures, 0);
        for (int j = 0; j < PER_THREAD; j++)
            all[i * PER_THREAD + j] = jobs[i].names[j];
    }
    qsort(all, THREADS * PER_THREAD, sizeof all[0], cmp_str);
    int dups = 0;
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        dups += strcmp(all[i - 1], all[i]) == 0;
    CHECK_INT(dups, 0);
    CHECK_INT(count_entries(root, "new"), THREADS * PER_THREAD);
    CHECK_INT(count_entries(root, "tmp"), 0);
}

/* A full disk: a tiny tmpfs gives a real ENOSPC (needs the right to mount;
 * skipped otherwise, the file-size limit test below covers the same path). */
TEST(maildir_deliver_enospc_leaves_nothing)
{
    char mnt[4096];
    pathf(mnt, sizeof mnt, "%s/small", test_tmpdir());
    REQUIRE(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
        printf("     (skipped: cannot mount a tmpfs: %s)\n", strerror(errno));
        return;
    }
    char root[4200];
    pathf(root, sizeof root, "%s/box", mnt);
    if (maildir_create(root) == 0) {
        size_t big = 1 << 20;
        char *data = malloc(big);
        if (data) {
            memset(data, 'x', big);
            char name[256];
            CHECK_INT(maildir_deliver(root, data, big, name, sizeof name), -ENOSPC);
            CHECK_INT(count_entries(root, "tmp"), 0);
            CHECK_INT(count_entries(root, "new"), 0);
            /* The space is given back: a small message still fits. */
            CHECK_INT(maildir_deliver(root, "Subject: x\n\nok\n", 15, name, sizeof name), 0);
            CHECK_INT(count_entries(root, "new"), 1);
            free(data);
        }
    } else {
        CHECK(0);
    }
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

/* Writing past RLIMIT_FSIZE fails with EFBIG (SIGXFSZ ignored): the same
 * clean-up path as a full disk, available without privileges. */
TEST(maildir_deliver_write_error_leaves_nothing)
{
    const char *root = make_root("box");
    REQUIRE(maildir_create(root) == 0);
    struct rlimit old, small = {.rlim_cur = 8192, .rlim_max = RLIM_INFINITY};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small.rlim_max = old.rlim_max;
    struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
    sigemptyset(&ign.sa_mask);
    REQUIRE(sigaction(SIGXFSZ, &ign, &prev) == 0);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);

    size_t big = 100000;
    char *data = malloc(big);
    char name[256];
    int r = data ? (memset(data, 'y', big), maildir_deliver(root, data, big, name, sizeof name))
                 : -ENOMEM;
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &prev, NULL);
    free(data);
    CHECK_INT(r, -EFBIG);
    CHECK_INT(count_entries(root, "tmp"), 0);
    CHECK_INT(count_entries(root, "new"), 0);
}

TEST(maildir_deliver_errors)
{
    char name[256];
    /* No Maildir there. */
    char root[4096];
    pathf(root, sizeof root, "%s/missing", test_tmpdir());
    CHECK_INT(maildir_deliver(root, "x\n", 2, name, sizeof name), -ENOENT);
    /* A name buffer too small is refused and nothing is left behind. */
    const char *box = make_root("box");
    REQUIRE(maildir_create(box) == 0);
    char tiny[16];
    CHECK_INT(maildir_deliver(box, "x\n", 2, tiny, sizeof tiny), -ENAMETOOLONG);
    CHECK_INT(count_entries(box, "tmp"), 0);
    CHECK_INT(count_entries(box, "new"), 0);
}

TEST(maildir_clean_tmp_removes_only_old_leftovers)
{
    const char *root = make_root("cleantmp");
    REQUIRE(maildir_create(root) == 0);
    char path[4200];
    const char *names[] = {"old", "fresh", ".dotfile"};
    for (size_t i = 0; i < 3; i++) {
        pathf(path, sizeof path, "%s/tmp/%s", root, names[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        REQUIRE(fd >= 0);
        close(fd);
    }
    long long now = (long long)time(NULL);
    struct timespec old[2] = {{.tv_sec = (time_t)(now - MAILDIR_TMP_MAX_AGE - 60)},
                              {.tv_sec = (time_t)(now - MAILDIR_TMP_MAX_AGE - 60)}};
    pathf(path, sizeof path, "%s/tmp/old", root);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);
    pathf(path, sizeof path, "%s/tmp/.dotfile", root);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);
    CHECK_INT(maildir_clean_tmp(root, now, MAILDIR_TMP_MAX_AGE), 1);
    CHECK_INT(count_entries(root, "tmp"), 2);          /* fresh and .dotfile stay */
    pathf(path, sizeof path, "%s/tmp/old", root);
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(maildir_clean_tmp(root, now, MAILDIR_TMP_MAX_AGE), 0);
    CHECK(maildir_clean_tmp("/nonexistent/box", now, 60) < 0);
}

TEST(maildir_wire_size_iov_across_pieces)
{
    /* "a\r" + "\nb": the LF is not bare once the pieces are joined. */
    struct iovec v1[] = {{"a\r", 2}, {"\nb", 2}};
    CHECK_INT(mail_wire_size_iov(v1, 2), mail_wire_size("a\r\nb", 4));
    struct iovec v2[] = {{"", 0}, {"x\n", 2}, {"", 0}, {"\n", 1}};
    CHECK_INT(mail_wire_size_iov(v2, 4), mail_wire_size("x\n\n", 3));
    CHECK_INT(mail_wire_size_iov(v2, 0), 0);
}

/* Pieces are written as one file; the two-step form links one copy into
 * several mailboxes, each with a name of its own and the right sizes. */
TEST(maildir_tmp_link_shares_one_copy)
{
    char a[4096], b[4096];
    pathf(a, sizeof a, "%s/a", test_tmpdir());
    pathf(b, sizeof b, "%s/b", test_tmpdir());
    REQUIRE(maildir_create(a) == 0 && maildir_create(b) == 0);
    struct iovec v[] = {{"Return-Path: <x@y>\r\n", 20}, {"Subject: s\n\nbody", 16}};
    struct maildir_tmp t;
    REQUIRE(maildir_tmp_write(a, v, 2, &t) == 0);
    char fa[4096], fb[4096];
    CHECK_INT(maildir_tmp_link(a, &t, fa, sizeof fa), 0);
    CHECK_INT(maildir_tmp_link(b, &t, fb, sizeof fb), 0);
    maildir_tmp_discard(&t);
    CHECK_INT(count_entries(a, "tmp"), 0);
    CHECK_INT(count_entries(a, "new"), 1);
    CHECK_INT(count_entries(b, "new"), 1);
    struct buf got = BUF_INIT;
    REQUIRE(read_file(fb, &got, 1000) == 0);
    CHECK_STR(buf_cstr(&got), "Return-Path: <x@y>\r\nSubject: s\n\nbody");
    buf_free(&got);
    uint64_t s = 0, w = 0;
    CHECK_INT(maildir_name_sizes(strrchr(fa, '/') + 1, &s, &w), 0);
    CHECK_INT(s, 36);
    CHECK_INT(w, 36 + 2 + 2);          /* two bare LFs, and a CRLF added at the end */
    char name[256];
    CHECK_INT(maildir_deliver_iov(b, v, 2, name, sizeof name), 0);
    CHECK_INT(count_entries(b, "new"), 2);
}
