/* Unit tests for src/ftp/list.c: LIST, NLST and MLSD formatting. */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "ftp/list.h"

static struct stat file_stat(mode_t mode, long long size, time_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_size = size;
    st.st_mtime = mtime;
    st.st_nlink = 1;
    st.st_dev = 0x801;
    st.st_ino = 0x1234;
    return st;
}

TEST(ftp_list_long_lines)
{
    struct buf b = BUF_INIT;
    time_t now = 1700000000;                     /* 2023-11-14 22:13:20 UTC */
    struct stat st = file_stat(S_IFREG | 0644, 1234, now - 3600);
    REQUIRE(ftp_list_long(&b, "report.txt", &st, now) == 0);
    CHECK_STR(buf_cstr(&b), "-rw-r--r--   1 ftp      ftp              1234 Nov 14 21:13 report.txt\r\n");
    buf_clear(&b);
    st = file_stat(S_IFDIR | 0755, 4096, 1600000000);   /* 2020-09-13: old, shows the year */
    st.st_nlink = 3;
    REQUIRE(ftp_list_long(&b, "dir with space", &st, now) == 0);
    CHECK_STR(buf_cstr(&b), "drwxr-xr-x   3 ftp      ftp              4096 Sep 13  2020 dir with space\r\n");
    buf_clear(&b);
    st = file_stat(S_IFLNK | 0777, 3, now);
    REQUIRE(ftp_list_long(&b, "l", &st, now) == 0);
    CHECK(strncmp(buf_cstr(&b), "lrwxrwxrwx", 10) == 0);
    buf_free(&b);
}

TEST(ftp_list_facts_lines)
{
    struct buf b = BUF_INIT;
    struct stat st = file_stat(S_IFREG | 0644, 42, 1700000000);
    REQUIRE(ftp_list_facts(&b, "a.bin", &st, FTP_FACT_ALL, false, NULL) == 0);
    CHECK_STR(buf_cstr(&b), "type=file;size=42;modify=20231114221320;perm=adfrw;unique=801U1234; a.bin\r\n");
    buf_clear(&b);
    st = file_stat(S_IFDIR | 0755, 4096, 1700000000);
    REQUIRE(ftp_list_facts(&b, "d", &st, FTP_FACT_TYPE | FTP_FACT_PERM, false, NULL) == 0);
    CHECK_STR(buf_cstr(&b), "type=dir;perm=cdeflmp; d\r\n");
    buf_clear(&b);
    REQUIRE(ftp_list_facts(&b, ".", &st, FTP_FACT_TYPE | FTP_FACT_PERM, true, "cdir") == 0);
    CHECK_STR(buf_cstr(&b), "type=cdir;perm=el; .\r\n");
    buf_clear(&b);
    st = file_stat(S_IFREG | 0644, 1, 0);
    REQUIRE(ftp_list_facts(&b, "r", &st, FTP_FACT_PERM, true, NULL) == 0);
    CHECK_STR(buf_cstr(&b), "perm=r; r\r\n");
    buf_free(&b);

    char tv[15];
    ftp_time_val(0, tv);
    CHECK_STR(tv, "19700101000000");
    CHECK_INT(ftp_facts_parse("type;size;"), FTP_FACT_TYPE | FTP_FACT_SIZE);
    CHECK_INT(ftp_facts_parse("Modify;unknown;UNIQUE"), FTP_FACT_MODIFY | FTP_FACT_UNIQUE);
    CHECK_INT(ftp_facts_parse(""), 0);
    char f[80];
    ftp_facts_format(FTP_FACT_TYPE | FTP_FACT_PERM, false, f, sizeof f);
    CHECK_STR(f, "type;perm;");
    ftp_facts_format(FTP_FACT_ALL, true, f, sizeof f);
    CHECK_STR(f, "type*;size*;modify*;perm*;unique*;");
}

TEST(ftp_list_directory)
{
    const char *t = test_tmpdir();
    char p[512];
    static const char *const names[] = {"b", "a", "evil\r\n226 fake", FTP_UPLOAD_PREFIX "x"};
    for (size_t i = 0; i < 4; i++) {
        pathf(p, sizeof p, "%s/%s", t, names[i]);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0)
            close(fd);
    }
    pathf(p, sizeof p, "%s/sub", t);
    mkdir(p, 0755);
    int dfd = open(t, O_PATH | O_DIRECTORY);
    REQUIRE(dfd >= 0);
    struct buf b = BUF_INIT;
    REQUIRE(ftp_list_dir(dfd, FTP_LIST_NAMES, 0, false, time(NULL), NULL, &b) == 0);
    CHECK_STR(buf_cstr(&b), "a\r\nb\r\nsub\r\n");
    buf_clear(&b);
    REQUIRE(ftp_list_dir(dfd, FTP_LIST_MLSD, FTP_FACT_TYPE, false, time(NULL), NULL, &b) == 0);
    CHECK_STR(buf_cstr(&b), "type=cdir; .\r\ntype=file; a\r\ntype=file; b\r\ntype=dir; sub\r\n");
    buf_clear(&b);
    REQUIRE(ftp_list_dir(dfd, FTP_LIST_LONG, 0, false, time(NULL), NULL, &b) == 0);
    CHECK(strstr(buf_cstr(&b), " a\r\n") && strstr(buf_cstr(&b), "\r\nd"));
    CHECK(!strstr(buf_cstr(&b), "fake"));
    buf_clear(&b);
    REQUIRE(ftp_list_dir(dfd, FTP_LIST_NAMES, 0, false, time(NULL), "[ab]", &b) == 0);
    CHECK_STR(buf_cstr(&b), "a\r\nb\r\n");
    buf_clear(&b);
    REQUIRE(ftp_list_dir(dfd, FTP_LIST_NAMES, 0, false, time(NULL), "*", &b) == 0);
    CHECK_STR(buf_cstr(&b), "a\r\nb\r\nsub\r\n");
    CHECK(ftp_name_is_pattern("*.txt") && !ftp_name_is_pattern("a.txt"));
    buf_free(&b);
    close(dfd);
    CHECK(!ftp_name_listable("x\ny"));
    CHECK(ftp_name_listable("x y"));
}
