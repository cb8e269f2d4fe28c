/* Unit tests for src/ftp/path.c: path joining and the jail (a table of
 * escape attempts, with openat2 and with the O_NOFOLLOW walk). */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ftp/path.h"

static const struct {
    const char *cwd, *arg, *want;
} joins[] = {
    {"/", "a", "/a"},
    {"/", "/a/b", "/a/b"},
    {"/a", "b", "/a/b"},
    {"/a", "../b", "/b"},
    {"/a", "..", "/"},
    {"/", "..", "/"},
    {"/", "../../..", "/"},
    {"/", "../../etc/passwd", "/etc/passwd"},
    {"/a/b", "/../../x", "/x"},
    {"/", "a//b///c", "/a/b/c"},
    {"/", "./a/./b/.", "/a/b"},
    {"/a", "", "/a"},
    {"/a", ".", "/a"},
    {"/", "a/b/../../../c", "/c"},
    {"/", "...", "/..."},
    {"/", "a b ", "/a b "},
    {"/", "//", "/"},
};

TEST(ftp_path_join_table)
{
    for (size_t i = 0; i < sizeof joins / sizeof joins[0]; i++) {
        char out[FTP_VPATH_MAX];
        CHECK_INT(ftp_path_join(joins[i].cwd, joins[i].arg, strlen(joins[i].arg), out, sizeof out), 0);
        CHECK_STR(out, joins[i].want);
    }
    char small[4];
    CHECK_INT(ftp_path_join("/", "abcdef", 6, small, sizeof small), -ENAMETOOLONG);
    CHECK_STR(ftp_path_rel("/"), ".");
    CHECK_STR(ftp_path_rel("/a/b"), "a/b");
}

TEST(ftp_path_home)
{
    char out[256];
    CHECK_INT(ftp_home_path("/d", "alice@example.test", out, sizeof out), 0);
    CHECK_STR(out, "/d/ftp/example.test/alice");
    CHECK_INT(ftp_home_path("/d", NULL, out, sizeof out), 0);
    CHECK_STR(out, "/d/ftp/public");
    CHECK_INT(ftp_home_path("/d", "../x@example.test", out, sizeof out), -EINVAL);
    CHECK_INT(ftp_home_path("/d", "a/b@example.test", out, sizeof out), -EINVAL);
    CHECK_INT(ftp_home_path("/d", "a@..", out, sizeof out), -EINVAL);
    CHECK_INT(ftp_home_path("/d", "noat", out, sizeof out), -EINVAL);
}

static void writefile(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            perror("write");
        close(fd);
    }
}

/* The jail: home/ holds a/, a/f, and symlinks in every direction;
 * outside/secret is what no path may reach. */
static int make_jail(char *home, size_t len)
{
    const char *t = test_tmpdir();
    char p[512], q[512];
    pathf(p, sizeof p, "%s/outside", t);
    mkdir(p, 0755);
    pathf(p, sizeof p, "%s/outside/secret", t);
    writefile(p, "secret\n");
    pathf(home, len, "%s/home", t);
    int root = ftp_jail_root(home, true);
    pathf(p, sizeof p, "%s/a", home);
    mkdir(p, 0755);
    pathf(p, sizeof p, "%s/a/f", home);
    writefile(p, "inside\n");
    pathf(p, sizeof p, "%s/up", home);
    if (symlink("../outside", p) < 0)
        perror("symlink");
    pathf(p, sizeof p, "%s/abs", home);
    if (symlink("/etc", p) < 0)
        perror("symlink");
    pathf(p, sizeof p, "%s/a/sneak", home);
    pathf(q, sizeof q, "%s/outside/secret", t);
    if (symlink(q, p) < 0)
        perror("symlink");
    pathf(p, sizeof p, "%s/a/climb", home);
    if (symlink("../../outside/secret", p) < 0)
        perror("symlink");
    pathf(p, sizeof p, "%s/toa", home);
    if (symlink("a", p) < 0)
        perror("symlink");
    pathf(p, sizeof p, "%s/proc", home);
    if (symlink("/proc/self/root", p) < 0)
        perror("symlink");
    return root;
}

/* Each attempt: cwd, the client's argument, flags. Every one must fail
 * (or, after the lexical clamp, land on a path inside the home that does
 * not exist). */
static const struct {
    const char *cwd, *arg;
    int flags;
} escapes[] = {
    {"/", "../outside/secret", O_RDONLY},
    {"/", "../../../../../../etc/passwd", O_RDONLY},
    {"/", "/etc/passwd", O_RDONLY},
    {"/a", "../../outside/secret", O_RDONLY},
    {"/", "up/secret", O_RDONLY},
    {"/", "up", O_RDONLY | O_DIRECTORY},
    {"/", "abs/passwd", O_RDONLY},
    {"/", "abs", O_RDONLY | O_DIRECTORY},
    {"/", "a/sneak", O_RDONLY},
    {"/", "a/climb", O_RDONLY},
    {"/a", "sneak", O_RDONLY},
    {"/", "proc/etc/passwd", O_RDONLY},
    {"/", "up/new", O_WRONLY | O_CREAT},
    {"/", "abs/new", O_WRONLY | O_CREAT},
    {"/", "a/sneak", O_WRONLY | O_TRUNC},
    {"/", "a/climb", O_WRONLY | O_CREAT},
    {"/", "//outside/secret", O_RDONLY},
    {"/", "up/../up/secret", O_RDONLY},
};

static void run_escapes(bool walk)
{
    char home[400];
    int root = make_jail(home, sizeof home);
    REQUIRE(root >= 0);
    ftp_jail_force_walk(walk);
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        char v[FTP_VPATH_MAX];
        REQUIRE(ftp_path_join(escapes[i].cwd, escapes[i].arg, strlen(escapes[i].arg), v, sizeof v) == 0);
        int fd = ftp_jail_open(root, v, escapes[i].flags, 0644);
        if (fd >= 0) {
            fprintf(stderr, "    escape %zu (%s) opened\n", i, escapes[i].arg);
            close(fd);
        }
        CHECK(fd < 0);
    }
    /* The secret is untouched. */
    char p[512];
    pathf(p, sizeof p, "%s/../outside/secret", home);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 7);
    pathf(p, sizeof p, "%s/../outside/new", home);
    CHECK(access(p, F_OK) != 0);

    /* Legitimate paths work. */
    int fd = ftp_jail_open(root, "/a/f", O_RDONLY, 0);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    fd = ftp_jail_open(root, "/", O_RDONLY | O_DIRECTORY, 0);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    fd = ftp_jail_open(root, "/a/new", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* A symlink as the last component is never followed. */
    CHECK(ftp_jail_open(root, "/toa", O_RDONLY | O_DIRECTORY, 0) < 0);
    CHECK(ftp_jail_stat(root, "/toa", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(ftp_jail_stat(root, "/up", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(ftp_jail_stat(root, "/up/secret", &st) < 0);
    CHECK(ftp_jail_stat(root, "/", &st) == 0 && S_ISDIR(st.st_mode));

    const char *name;
    int dfd = ftp_jail_parent(root, "/a/f", &name);
    CHECK(dfd >= 0);
    CHECK_STR(name, "f");
    if (dfd >= 0)
        close(dfd);
    CHECK_INT(ftp_jail_parent(root, "/", &name), -EPERM);
    CHECK(ftp_jail_parent(root, "/up/x", &name) < 0);
    ftp_jail_force_walk(false);
    close(root);
}

TEST(ftp_jail_escapes_openat2)
{
    run_escapes(false);
}

TEST(ftp_jail_escapes_walk)
{
    run_escapes(true);
}

/* A directory renamed out of the home while a session is inside it: a
 * path through it no longer resolves beneath the home. */
TEST(ftp_jail_rename_race)
{
    char home[400];
    int root = make_jail(home, sizeof home);
    REQUIRE(root >= 0);
    char from[512], to[512];
    pathf(from, sizeof from, "%s/a", home);
    pathf(to, sizeof to, "%s/../outside/moved", home);
    REQUIRE(rename(from, to) == 0);
    CHECK(ftp_jail_open(root, "/a/f", O_RDONLY, 0) < 0);
    close(root);
}

/* The loop's way (ftp_jail_open_cached / ftp_jail_stat_cached): a cached
 * path answers at once, a name never looked up says -EAGAIN (the caller
 * then asks the pool), and the jail holds exactly as in the waiting way. */
TEST(ftp_jail_cached)
{
    char home[400];
    int root = make_jail(home, sizeof home);
    REQUIRE(root >= 0);
    struct stat st;

    /* Looked up once (the waiting way), then found in the cache. */
    CHECK_INT(ftp_jail_stat(root, "/a/f", &st), 0);
    int fd = ftp_jail_open_cached(root, "/a/f", O_RDONLY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK_INT(ftp_jail_stat_cached(root, "/a/f", &st), 0);
    CHECK(S_ISREG(st.st_mode) && st.st_size == 7);
    CHECK_INT(ftp_jail_stat_cached(root, "/", &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    fd = ftp_jail_open_cached(root, "/a", O_PATH | O_DIRECTORY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* A symlink as the last component: itself, never its target. */
    CHECK_INT(ftp_jail_stat(root, "/toa", &st), 0);
    CHECK_INT(ftp_jail_stat_cached(root, "/toa", &st), 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(ftp_jail_open_cached(root, "/toa", O_PATH | O_DIRECTORY) < 0);

    /* A name nobody looked up: not in the cache; after the waiting way
     * found it missing, the cache knows it is missing. */
    char v[FTP_VPATH_MAX];
    snprintf(v, sizeof v, "/a/never-%ld-%ld", (long)getpid(), (long)time(NULL));
    CHECK_INT(ftp_jail_stat_cached(root, v, &st), -EAGAIN);
    CHECK_INT(ftp_jail_stat(root, v, &st), -ENOENT);
    CHECK_INT(ftp_jail_stat_cached(root, v, &st), -ENOENT);

    /* Creating or truncating never happens from the cache. */
    CHECK_INT(ftp_jail_open_cached(root, "/a/new", O_WRONLY | O_CREAT), -EAGAIN);
    CHECK_INT(ftp_jail_open_cached(root, "/a", O_WRONLY | O_TMPFILE), -EAGAIN);
    fd = ftp_jail_open_cached(root, "/", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK_INT(ftp_jail_open_cached(root, "/a/f", O_WRONLY | O_TRUNC), -EAGAIN);

    /* Every escape, tried the waiting way first (so that whatever it
     * looked up is cached), fails the cached way too. */
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        REQUIRE(ftp_path_join(escapes[i].cwd, escapes[i].arg, strlen(escapes[i].arg), v, sizeof v) == 0);
        int w = ftp_jail_open(root, v, escapes[i].flags & ~(O_CREAT | O_TRUNC), 0);
        if (w >= 0)
            close(w);
        fd = ftp_jail_open_cached(root, v, escapes[i].flags);
        if (fd >= 0) {
            fprintf(stderr, "    escape %zu (%s) opened from the cache\n", i, escapes[i].arg);
            close(fd);
        }
        CHECK(fd < 0);
        /* At most the symlink itself, never what it points to. */
        CHECK(ftp_jail_stat_cached(root, v, &st) < 0 || S_ISLNK(st.st_mode));
    }

    /* The fallback switch and the walk both send everything to the pool. */
    ftp_jail_force_uncached(true);
    CHECK_INT(ftp_jail_stat_cached(root, "/a/f", &st), -EAGAIN);
    CHECK_INT(ftp_jail_open_cached(root, "/a", O_PATH | O_DIRECTORY), -EAGAIN);
    ftp_jail_force_uncached(false);
    ftp_jail_force_walk(true);
    CHECK_INT(ftp_jail_open_cached(root, "/a/f", O_RDONLY), -EAGAIN);
    ftp_jail_force_walk(false);
    close(root);
}
