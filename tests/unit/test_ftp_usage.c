/* Unit tests for src/ftp/usage.c: one count per user shared by its
 * sessions, charges that never pass the limit (also from two threads at
 * once), credits that never go below zero, a fresh count after the last
 * session. */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftp/usage.h"

static void put_file(const char *dir, const char *name, size_t size)
{
    char p[512];
    pathf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)size) < 0)
            perror("ftruncate");
        close(fd);
    }
}

TEST(ftp_usage_shared_and_recounted)
{
    const char *t = test_tmpdir();
    char sub[512];
    pathf(sub, sizeof sub, "%s/d", t);
    REQUIRE(mkdir(sub, 0755) == 0);
    put_file(t, "a", 1000);
    put_file(sub, "b", 234);
    int root = open(t, O_PATH | O_DIRECTORY);
    REQUIRE(root >= 0);

    struct ftp_usage *u1 = ftp_usage_get("u@example.test", root);
    REQUIRE(u1 != NULL);
    CHECK_INT(ftp_usage_used(u1), 1234);
    put_file(t, "c", 5000);                 /* written outside FTP */
    struct ftp_usage *u2 = ftp_usage_get("u@example.test", root);
    CHECK(u2 == u1);                        /* shared, not counted again */
    CHECK_INT(ftp_usage_used(u2), 1234);
    struct ftp_usage *other = ftp_usage_get("v@example.test", root);
    CHECK(other != u1);

    CHECK_INT(ftp_usage_charge(u1, 500, 2000), 500);
    CHECK_INT(ftp_usage_used(u2), 1734);
    CHECK_INT(ftp_usage_charge(u2, 500, 2000), 266);    /* up to the limit only */
    CHECK_INT(ftp_usage_charge(u1, 1, 2000), 0);
    ftp_usage_credit(u1, 766);
    CHECK_INT(ftp_usage_used(u1), 1234);
    ftp_usage_credit(u1, 1u << 30);         /* never below zero */
    CHECK_INT(ftp_usage_used(u1), 0);
    ftp_usage_debit(u1, 42);
    CHECK_INT(ftp_usage_used(u1), 42);

    ftp_usage_put(u1);
    ftp_usage_put(u2);
    /* The last session left: the next login counts afresh. */
    struct ftp_usage *u3 = ftp_usage_get("u@example.test", root);
    REQUIRE(u3 != NULL);
    CHECK_INT(ftp_usage_used(u3), 6234);
    ftp_usage_put(u3);
    ftp_usage_put(other);
    ftp_usage_put(NULL);
    close(root);
}

struct racer {
    struct ftp_usage *u;
    uint64_t got;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 100000; i++)
        r->got += ftp_usage_charge(r->u, 7, 300000);
    return NULL;
}

/* Two uploads of one user at once: together they take exactly the limit. */
TEST(ftp_usage_charge_race)
{
    int root = open(test_tmpdir(), O_PATH | O_DIRECTORY);
    REQUIRE(root >= 0);
    struct ftp_usage *u = ftp_usage_get("race@example.test", root);
    REQUIRE(u != NULL);
    struct racer a = {u, 0}, b = {u, 0};
    pthread_t ta, tb;
    REQUIRE(pthread_create(&ta, NULL, race, &a) == 0);
    REQUIRE(pthread_create(&tb, NULL, race, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_INT(a.got + b.got, 300000);
    CHECK_INT(ftp_usage_used(u), 300000);
    ftp_usage_put(u);
    close(root);
}
