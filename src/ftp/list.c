/*
 * list.c - LIST / NLST / MLSD / MLST formatting (see list.h).
 */
#include "ftp/list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

static const char *const fact_names[] = {"type", "size", "modify", "perm", "unique"};

bool ftp_name_listable(const char *name)
{
    if (strpbrk(name, "\r\n"))
        return false;
    return strncmp(name, FTP_UPLOAD_PREFIX, sizeof FTP_UPLOAD_PREFIX - 1) != 0;
}

void ftp_time_val(time_t t, char out[15])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        memcpy(out, "19700101000000", 15);
        return;
    }
    char tmp[64];                       /* room for any int, so no truncation */
    snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 14);
    out[14] = '\0';
}

static char type_char(mode_t m)
{
    if (S_ISDIR(m))
        return 'd';
    if (S_ISLNK(m))
        return 'l';
    if (S_ISREG(m))
        return '-';
    if (S_ISFIFO(m))
        return 'p';
    if (S_ISSOCK(m))
        return 's';
    if (S_ISCHR(m))
        return 'c';
    if (S_ISBLK(m))
        return 'b';
    return '?';
}

int ftp_list_long(struct buf *out, const char *name, const struct stat *st, time_t now)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char perm[11];
    mode_t m = st->st_mode;
    perm[0] = type_char(m);
    static const char rwx[] = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        perm[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
    if (m & S_ISUID)
        perm[3] = (m & S_IXUSR) ? 's' : 'S';
    if (m & S_ISGID)
        perm[6] = (m & S_IXGRP) ? 's' : 'S';
    if (m & S_ISVTX)
        perm[9] = (m & S_IXOTH) ? 't' : 'T';
    perm[10] = '\0';
    struct tm tm;
    time_t t = st->st_mtime;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    char date[96];
    /* ls(1): a date more than six months old or in the future shows the
     * year instead of the time of day. */
    const time_t half_year = 182 * 86400;
    if (t > now + 3600 || now - t > half_year)
        snprintf(date, sizeof date, "%s %2d  %04d", months[tm.tm_mon % 12], tm.tm_mday,
                 tm.tm_year + 1900);
    else
        snprintf(date, sizeof date, "%s %2d %02d:%02d", months[tm.tm_mon % 12], tm.tm_mday,
                 tm.tm_hour, tm.tm_min);
    return buf_printf(out, "%s %3lu ftp      ftp      %12llu %s %s\r\n", perm,
                      (unsigned long)st->st_nlink, (unsigned long long)st->st_size, date, name);
}

int ftp_list_facts(struct buf *out, const char *name, const struct stat *st, unsigned facts,
                   bool readonly, const char *type_override)
{
    int r = 0;
    bool dir = S_ISDIR(st->st_mode);
    if (facts & FTP_FACT_TYPE) {
        const char *type = type_override ? type_override
                           : dir                ? "dir"
                           : S_ISREG(st->st_mode) ? "file"
                           : S_ISLNK(st->st_mode) ? "OS.unix=symlink"
                                                  : "OS.unix=special";
        r |= buf_printf(out, "type=%s;", type);
    }
    if ((facts & FTP_FACT_SIZE) && !dir)
        r |= buf_printf(out, "size=%llu;", (unsigned long long)st->st_size);
    if (facts & FTP_FACT_MODIFY) {
        char tv[15];
        ftp_time_val(st->st_mtime, tv);
        r |= buf_printf(out, "modify=%s;", tv);
    }
    if (facts & FTP_FACT_PERM) {
        /* RFC 3659 section 7.5.5: a append, c create in dir, d delete,
         * e enter dir, f rename, l list, m make dir, p purge, r retrieve,
         * w store. */
        const char *perm;
        if (dir)
            perm = readonly ? "el" : "cdeflmp";
        else if (S_ISREG(st->st_mode))
            perm = readonly ? "r" : "adfrw";
        else
            perm = readonly ? "" : "df";
        r |= buf_printf(out, "perm=%s;", perm);
    }
    if (facts & FTP_FACT_UNIQUE)
        r |= buf_printf(out, "unique=%llxU%llx;", (unsigned long long)st->st_dev,
                        (unsigned long long)st->st_ino);
    r |= buf_printf(out, " %s\r\n", name);
    return r < 0 ? -ENOMEM : 0;
}

bool ftp_name_is_pattern(const char *name)
{
    return strpbrk(name, "*?[") != NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ftp_list_dir(int dfd, enum ftp_list_kind kind, unsigned facts, bool readonly, time_t now,
                 const char *pattern, struct buf *out)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        return -err;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !ftp_name_listable(e->d_name))
            continue;
        /* A pattern's '*' does not match a leading '.', as in a shell. */
        if (pattern && fnmatch(pattern, e->d_name, FNM_PERIOD) != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                r = -ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(e->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    if (r == 0 && n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    if (r == 0 && kind == FTP_LIST_MLSD && !pattern) {
        struct stat st;
        if (fstat(dirfd(d), &st) == 0)
            r = ftp_list_facts(out, ".", &st, facts, readonly, "cdir");
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct stat st;
        if (kind == FTP_LIST_NAMES) {
            r = buf_printf(out, "%s\r\n", names[i]) < 0 ? -ENOMEM : 0;
            continue;
        }
        /* Gone since readdir, or unreadable: left out. */
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (kind == FTP_LIST_LONG)
            r = ftp_list_long(out, names[i], &st, now) < 0 ? -ENOMEM : 0;
        else
            r = ftp_list_facts(out, names[i], &st, facts, readonly, NULL);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return r;
}

unsigned ftp_facts_parse(const char *arg)
{
    unsigned mask = 0;
    const char *p = arg;
    while (*p) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        for (size_t i = 0; i < ARRAY_LEN(fact_names); i++)
            if (str_ieq(p, len, fact_names[i]))
                mask |= 1u << i;
        if (!semi)
            break;
        p = semi + 1;
    }
    return mask;
}

void ftp_facts_format(unsigned facts, bool feat, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(fact_names); i++) {
        bool on = facts & (1u << i);
        if (!feat && !on)
            continue;
        int k = snprintf(out + n, outlen - n, "%s%s;", fact_names[i], feat && on ? "*" : "");
        if (k < 0 || (size_t)k >= outlen - n)
            return;
        n += (size_t)k;
    }
}
