/* Unit tests for mail/mindex: uid assignment and stability, files added and
 * removed behind the index's back, expunge, and rebuilding a lost index. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "mail/maildir.h"
#include "mail/mindex.h"
#include "test.h"

static const char *new_box(void)
{
    static char root[4096];
    pathf(root, sizeof root, "%s/box", test_tmpdir());
    return maildir_create(root) == 0 ? root : NULL;
}

static int deliver(const char *root, const char *msg, char *name)
{
    char tmp[256];
    return maildir_deliver(root, msg, strlen(msg), name ? name : tmp, 256);
}

static int put_file(const char *root, const char *rel, const void *data, size_t len)
{
    char path[4096];
    pathf(path, sizeof path, "%s/%s", root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, data, len);
    close(fd);
    return r;
}

static int move_file(const char *root, const char *from, const char *to)
{
    char a[4096], b[4096];
    pathf(a, sizeof a, "%s/%s", root, from);
    pathf(b, sizeof b, "%s/%s", root, to);
    return rename(a, b) == 0 ? 0 : -errno;
}

static bool file_exists(const char *root, const char *rel)
{
    char path[4096];
    pathf(path, sizeof path, "%s/%s", root, rel);
    return access(path, F_OK) == 0;
}

TEST(mindex_sync_assigns_increasing_uids)
{
    const char *root = new_box();
    REQUIRE(root);
    const char *msgs[] = {"Subject: 1\n\none\n", "Subject: 2\r\n\r\ntwo\r\n", "Subject: 3\n\n3\n"};
    char names[3][256];
    for (int i = 0; i < 3; i++)
        REQUIRE(deliver(root, msgs[i], names[i]) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK(l.uidvalidity != 0);
    CHECK_INT(l.uidnext, 4);
    REQUIRE(l.n == 3);
    for (int i = 0; i < 3; i++) {
        char want[300];
        pathf(want, sizeof want, "new/%s", names[i]);
        CHECK_INT(l.msgs[i].uid, i + 1);
        CHECK_STR(l.msgs[i].path, want);
        CHECK_INT(l.msgs[i].size, mail_wire_size(msgs[i], strlen(msgs[i])));
    }
    uint32_t uidvalidity = l.uidvalidity;
    mindex_list_free(&l);

    /* A second sync changes nothing. */
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK_INT(l.uidvalidity, uidvalidity);
    CHECK_INT(l.uidnext, 4);
    CHECK_INT(l.n, 3);
    mindex_list_free(&l);

    /* The next delivery gets the next uid. */
    REQUIRE(deliver(root, "Subject: 4\n\n4\n", NULL) == 0);
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK_INT(l.n, 4);
    CHECK_INT(l.msgs[3].uid, 4);
    CHECK_INT(l.uidnext, 5);
    mindex_list_free(&l);
}

TEST(mindex_uid_stable_when_file_moves_to_cur)
{
    const char *root = new_box();
    REQUIRE(root);
    char a[256], b[256], from[300], to[300];
    REQUIRE(deliver(root, "Subject: a\n\na\n", a) == 0);
    REQUIRE(deliver(root, "Subject: b\n\nb\n", b) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    mindex_list_free(&l);

    /* A client reads message 1 (new/ -> cur/ with the Seen flag) ... */
    pathf(from, sizeof from, "new/%s", a);
    pathf(to, sizeof to, "cur/%s:2,S", a);
    REQUIRE(move_file(root, from, to) == 0);
    REQUIRE(mindex_sync(root, &l) == 0);
    REQUIRE(l.n == 2);
    CHECK_INT(l.msgs[0].uid, 1);
    CHECK_STR(l.msgs[0].path, to);
    CHECK_INT(l.msgs[1].uid, 2);
    CHECK_INT(l.uidnext, 3);
    mindex_list_free(&l);

    /* ... then answers it (flags change again). */
    pathf(from, sizeof from, "%s", to);
    pathf(to, sizeof to, "cur/%s:2,RS", a);
    REQUIRE(move_file(root, from, to) == 0);
    REQUIRE(mindex_sync(root, &l) == 0);
    REQUIRE(l.n == 2);
    CHECK_INT(l.msgs[0].uid, 1);
    CHECK_STR(l.msgs[0].path, to);
    CHECK_INT(l.uidnext, 3);
    mindex_list_free(&l);
}

TEST(mindex_picks_up_foreign_files)
{
    const char *root = new_box();
    REQUIRE(root);
    REQUIRE(deliver(root, "Subject: ours\n\nx\n", NULL) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    mindex_list_free(&l);

    /* Another program drops in plain files without S=/W=, LF line ends.
     * "2000.b" is older than "10000.a" (by its name's time), and the
     * large one has a CRLF split exactly across the index's read chunks. */
    const char small[] = "From: other@example.test\nSubject: dropped\n\nhello\n";
    size_t big_len = 65535 + 2 + 3000;
    char *big = malloc(big_len);
    REQUIRE(big);
    memset(big, 'x', 65535);
    memcpy(big + 65535, "\r\n", 2);
    for (size_t i = 65537; i < big_len; i += 3)
        memcpy(big + i, "y\n\n", 3);
    REQUIRE(put_file(root, "new/10000.a", small, sizeof small - 1) == 0);
    REQUIRE(put_file(root, "new/2000.b", big, big_len) == 0);
    REQUIRE(put_file(root, "new/30000.c", "x\ny", 3) == 0);   /* no final line end */
    REQUIRE(put_file(root, "new/.hidden", "x", 1) == 0);
    char sub[4096];
    pathf(sub, sizeof sub, "%s/new/subdir", root);
    REQUIRE(mkdir(sub, 0700) == 0);

    REQUIRE(mindex_sync(root, &l) == 0);
    REQUIRE(l.n == 4);
    CHECK_INT(l.msgs[1].uid, 2);
    CHECK_STR(l.msgs[1].path, "new/2000.b");
    CHECK_INT(l.msgs[1].size, mail_wire_size(big, big_len));
    CHECK_INT(l.msgs[2].uid, 3);
    CHECK_STR(l.msgs[2].path, "new/10000.a");
    CHECK_INT(l.msgs[2].size, sizeof small - 1 + 4);    /* four bare LFs */
    CHECK_STR(l.msgs[3].path, "new/30000.c");
    CHECK_INT(l.msgs[3].size, 6);                       /* "x\r\ny\r\n" */
    mindex_list_free(&l);
    free(big);
}

TEST(mindex_orders_unparseable_names_by_mtime)
{
    const char *root = new_box();
    REQUIRE(root);
    REQUIRE(put_file(root, "cur/alpha:2,S", "a\n", 2) == 0);
    REQUIRE(put_file(root, "new/beta", "b\n", 2) == 0);
    char p[4096];
    struct timespec older[2] = {{1000000, 0}, {1000000, 0}};
    pathf(p, sizeof p, "%s/new/beta", root);
    REQUIRE(utimensat(AT_FDCWD, p, older, 0) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    REQUIRE(l.n == 2);
    CHECK_STR(l.msgs[0].path, "new/beta");
    CHECK_STR(l.msgs[1].path, "cur/alpha:2,S");
    CHECK_INT(l.msgs[1].size, 3);
    mindex_list_free(&l);
}

TEST(mindex_forgets_deleted_file)
{
    const char *root = new_box();
    REQUIRE(root);
    char a[256], path[4096];
    REQUIRE(deliver(root, "Subject: a\n\na\n", a) == 0);
    REQUIRE(deliver(root, "Subject: b\n\nb\n", NULL) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    mindex_list_free(&l);
    pathf(path, sizeof path, "%s/new/%s", root, a);
    REQUIRE(unlink(path) == 0);
    REQUIRE(mindex_sync(root, &l) == 0);
    REQUIRE(l.n == 1);
    CHECK_INT(l.msgs[0].uid, 2);
    CHECK_INT(l.uidnext, 3);
    mindex_list_free(&l);
}

TEST(mindex_expunge_never_reuses_uids)
{
    const char *root = new_box();
    REQUIRE(root);
    char names[3][256];
    for (int i = 0; i < 3; i++)
        REQUIRE(deliver(root, "Subject: x\n\nx\n", names[i]) == 0);
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    uint32_t uidvalidity = l.uidvalidity;
    mindex_list_free(&l);

    /* Message 2 is moved by another program after our sync: expunge still
     * finds it. Message 3 is the highest uid. Uid 99 does not exist. */
    char from[300], to[300];
    pathf(from, sizeof from, "new/%s", names[1]);
    pathf(to, sizeof to, "cur/%s:2,T", names[1]);
    REQUIRE(move_file(root, from, to) == 0);
    uint32_t gone[] = {2, 3, 99};
    CHECK_INT(mindex_expunge(root, gone, 3), 0);
    CHECK(!file_exists(root, to));
    pathf(from, sizeof from, "new/%s", names[2]);
    CHECK(!file_exists(root, from));
    pathf(from, sizeof from, "new/%s", names[0]);
    CHECK(file_exists(root, from));

    REQUIRE(deliver(root, "Subject: y\n\ny\n", NULL) == 0);
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK_INT(l.uidvalidity, uidvalidity);
    REQUIRE(l.n == 2);
    CHECK_INT(l.msgs[0].uid, 1);
    CHECK_INT(l.msgs[1].uid, 4);
    CHECK_INT(l.uidnext, 5);
    mindex_list_free(&l);

    /* Expunging what is already gone is not an error. */
    CHECK_INT(mindex_expunge(root, gone, 3), 0);
}

TEST(mindex_expunge_without_index)
{
    const char *root = new_box();
    REQUIRE(root);
    uint32_t uid = 1;
    CHECK_INT(mindex_expunge(root, &uid, 1), -ENOENT);
}

static void check_rebuilt(const char *root, uint32_t old_validity, size_t n)
{
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK(l.uidvalidity > old_validity);
    CHECK_INT(l.n, n);
    for (size_t i = 0; i < l.n; i++)
        CHECK_INT(l.msgs[i].uid, i + 1);
    CHECK_INT(l.uidnext, n + 1);
    mindex_list_free(&l);
}

static uint32_t first_sync(const char *root)
{
    struct mindex_list l;
    if (mindex_sync(root, &l) != 0)
        return 0;
    uint32_t v = l.uidvalidity;
    mindex_list_free(&l);
    return v;
}

TEST(mindex_rebuilds_when_db_deleted)
{
    const char *root = new_box();
    REQUIRE(root);
    for (int i = 0; i < 3; i++)
        REQUIRE(deliver(root, "Subject: x\n\nx\n", NULL) == 0);
    uint32_t v = first_sync(root);
    REQUIRE(v != 0);
    char path[4096];
    pathf(path, sizeof path, "%s/outpost-index.sqlite", root);
    REQUIRE(unlink(path) == 0);
    check_rebuilt(root, v, 3);
}

TEST(mindex_rebuilds_when_db_garbage)
{
    const char *root = new_box();
    REQUIRE(root);
    for (int i = 0; i < 2; i++)
        REQUIRE(deliver(root, "Subject: x\n\nx\n", NULL) == 0);
    uint32_t v = first_sync(root);
    REQUIRE(v != 0);
    char garbage[8192];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (char)(i * 7 + 3);
    REQUIRE(put_file(root, "outpost-index.sqlite", garbage, sizeof garbage) == 0);
    check_rebuilt(root, v, 2);
    /* And the rebuilt index is kept from then on. */
    struct mindex_list l;
    REQUIRE(mindex_sync(root, &l) == 0);
    CHECK(l.uidvalidity > v);
    CHECK_INT(l.n, 2);
    mindex_list_free(&l);
}

TEST(mindex_rebuilds_unknown_schema)
{
    const char *root = new_box();
    REQUIRE(root);
    REQUIRE(deliver(root, "Subject: x\n\nx\n", NULL) == 0);
    uint32_t v = first_sync(root);
    REQUIRE(v != 0);
    char path[4096];
    pathf(path, sizeof path, "%s/outpost-index.sqlite", root);
    sqlite3 *db;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    check_rebuilt(root, v, 1);
}

TEST(mindex_refuses_non_maildir)
{
    const char *dir = test_tmpdir();
    struct mindex_list l;
    CHECK_INT(mindex_sync(dir, &l), -ENOENT);
    CHECK(!file_exists(dir, "outpost-index.sqlite"));
}
