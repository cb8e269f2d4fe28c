/* Unit tests for src/base/fsutil.c. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Number of directory entries other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

TEST(fs_write_file_atomic_and_read)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "file.txt") == 0);
    REQUIRE(write_file_atomic(path, "first\n", 6, 0640) == 0);
    struct buf b = BUF_INIT;
    REQUIRE(read_file(path, &b, 100) == 0);
    CHECK_STR(buf_cstr(&b), "first\n");

    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0600, 0600);          /* umask may clear group bits only */
    CHECK_INT(st.st_mode & 0137, 0);

    /* Replacing keeps no temporary file around. */
    REQUIRE(write_file_atomic(path, "second", 6, 0640) == 0);
    buf_clear(&b);
    REQUIRE(read_file(path, &b, 100) == 0);
    CHECK_STR(buf_cstr(&b), "second");
    CHECK_INT(count_entries(dir), 1);

    /* Empty content is a valid file. */
    REQUIRE(write_file_atomic(path, "", 0, 0600) == 0);
    buf_clear(&b);
    REQUIRE(read_file(path, &b, 100) == 0);
    CHECK_INT(buf_len(&b), 0);
    buf_free(&b);
}

TEST(fs_write_file_atomic_errors)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "no/such/dir/file") == 0);
    CHECK_INT(write_file_atomic(path, "x", 1, 0600), -ENOENT);
    CHECK_INT(count_entries(dir), 0);
}

TEST(fs_write_file_atomic_large)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "big") == 0);
    size_t n = 3 * 65536 + 17;
    char *data = malloc(n);
    REQUIRE(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 31 % 256);
    REQUIRE(write_file_atomic(path, data, n, 0600) == 0);
    struct buf b = BUF_INIT;
    REQUIRE(read_file(path, &b, n) == 0);            /* exactly max is fine */
    CHECK_INT(buf_len(&b), n);
    CHECK(memcmp(buf_ptr(&b), data, n) == 0);
    buf_clear(&b);
    CHECK_INT(read_file(path, &b, n - 1), -EFBIG);   /* one byte over */
    buf_free(&b);
    free(data);
}

TEST(fs_read_file_limits)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "ten") == 0);
    REQUIRE(write_file_atomic(path, "0123456789", 10, 0600) == 0);
    struct buf b = BUF_INIT;
    CHECK_INT(read_file(path, &b, 9), -EFBIG);
    buf_clear(&b);
    CHECK_INT(read_file(path, &b, 10), 0);
    CHECK_INT(buf_len(&b), 10);
    /* read_file appends. */
    CHECK_INT(read_file(path, &b, 10), 0);
    CHECK_INT(buf_len(&b), 20);
    buf_clear(&b);
    REQUIRE(path_join(path, sizeof path, dir, "missing") == 0);
    CHECK_INT(read_file(path, &b, 10), -ENOENT);
    CHECK_INT(read_file(dir, &b, 10), -EISDIR);
    buf_free(&b);
}

TEST(fs_read_fd_pipe)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(write_all(p[1], "through a pipe", 14) == 0);
    close(p[1]);
    struct buf b = BUF_INIT;
    CHECK_INT(read_fd(p[0], &b, 1000), 0);
    close(p[0]);
    CHECK_STR(buf_cstr(&b), "through a pipe");
    buf_free(&b);
}

TEST(fs_mkdir_p)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "a/b/c") == 0);
    CHECK_INT(mkdir_p(path, 0700), 0);
    CHECK(is_dir(path));
    CHECK_INT(mkdir_p(path, 0700), 0);               /* existing is fine */
    REQUIRE(path_join(path, sizeof path, dir, "a//b/d/") == 0);
    CHECK_INT(mkdir_p(path, 0700), 0);               /* doubled and trailing slashes */
    REQUIRE(path_join(path, sizeof path, dir, "a/b/d") == 0);
    CHECK(is_dir(path));

    struct stat st;
    REQUIRE(path_join(path, sizeof path, dir, "a") == 0);
    REQUIRE(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0777 & ~0700, 0);

    /* A file in the way is an error, at the end or in the middle. */
    REQUIRE(path_join(path, sizeof path, dir, "file") == 0);
    REQUIRE(write_file_atomic(path, "x", 1, 0600) == 0);
    CHECK_INT(mkdir_p(path, 0700), -ENOTDIR);
    REQUIRE(path_join(path, sizeof path, dir, "file/sub") == 0);
    CHECK_INT(mkdir_p(path, 0700), -ENOTDIR);

    CHECK_INT(mkdir_p("", 0700), -ENOENT);
    CHECK(mkdir_p("/", 0700) == 0);

    /* Longer than the internal path buffer. */
    char *lng = malloc(5000);
    REQUIRE(lng);
    memset(lng, 'x', 4999);
    lng[4999] = '\0';
    CHECK_INT(mkdir_p(lng, 0700), -ENAMETOOLONG);
    free(lng);
}

TEST(fs_path_dirname)
{
    char d[64];
    path_dirname("dir/file", d, sizeof d);
    CHECK_STR(d, "dir");
    path_dirname("/a/b/c", d, sizeof d);
    CHECK_STR(d, "/a/b");
    path_dirname("/file", d, sizeof d);
    CHECK_STR(d, "/");
    path_dirname("file", d, sizeof d);
    CHECK_STR(d, ".");
    path_dirname("", d, sizeof d);
    CHECK_STR(d, ".");
    char small[4];
    path_dirname("abcdef/x", small, sizeof small);
    CHECK_STR(small, "abc");                          /* cut, still terminated */
    char none[1] = {'z'};
    path_dirname("abc/x", none, 0);                   /* no room: untouched */
    CHECK(none[0] == 'z');
}

TEST(fs_path_join)
{
    char p[16];
    CHECK_INT(path_join(p, sizeof p, "dir", "name"), 0);
    CHECK_STR(p, "dir/name");
    CHECK_INT(path_join(p, sizeof p, "/etc", "/abs"), 0);
    CHECK_STR(p, "/abs");
    CHECK_INT(path_join(p, sizeof p, "", "rel"), 0);
    CHECK_STR(p, "rel");
    CHECK_INT(path_join(p, sizeof p, NULL, "rel"), 0);
    CHECK_STR(p, "rel");
    CHECK_INT(path_join(p, sizeof p, "012345", "01234567"), 0);    /* 15 + NUL */
    CHECK_STR(p, "012345/01234567");
    CHECK_INT(path_join(p, sizeof p, "012345", "012345678"), -ENAMETOOLONG);
}

TEST(fs_write_all)
{
    const char *dir = test_tmpdir();
    char path[512];
    REQUIRE(path_join(path, sizeof path, dir, "w") == 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    CHECK_INT(write_all(fd, "abc", 3), 0);
    CHECK_INT(write_all(fd, "", 0), 0);
    close(fd);
    CHECK_INT(write_all(fd, "abc", 3), -EBADF);
    struct buf b = BUF_INIT;
    REQUIRE(read_file(path, &b, 10) == 0);
    CHECK_STR(buf_cstr(&b), "abc");
    buf_free(&b);
    CHECK_INT(fsync_dir(dir), 0);
    CHECK_INT(fsync_dir(path), -ENOTDIR);
}
