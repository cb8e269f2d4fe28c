/*
 * mindex.c - the mailbox index (SQLite) kept in step with a Maildir.
 * See mindex.h for the contract.
 *
 * Schema (PRAGMA user_version = MINDEX_SCHEMA):
 *   meta(id = 1, uidvalidity, uidnext)       one row
 *   messages(uid PRIMARY KEY, name UNIQUE, path, size)
 * name is the file's base name without the ":2,<flags>" info, so a message
 * keeps its uid when a client moves it from new/ to cur/ or changes flags;
 * path is the current "new/FILE" or "cur/FILE".
 *
 * UIDs follow RFC 3501 section 2.3.1.1: strictly ascending in delivery
 * order, never reused within one UIDVALIDITY (uidnext only grows, also
 * across expunges), and a new, greater UIDVALIDITY whenever the index has to
 * be rebuilt. The last UIDVALIDITY handed out is also kept in the small file
 * "<root>/outpost-uidvalidity", so a rebuild after the database was lost
 * still picks a greater one even within the same second.
 */
#include "mail/mindex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "mail/maildir.h"

#define MINDEX_DB        "outpost-index.sqlite"
#define MINDEX_UVFILE    "outpost-uidvalidity"
#define MINDEX_SCHEMA    1
#define MINDEX_BUSY_MS   5000
#define MINDEX_READ_CHUNK 65536

/* Internal result: the database must be thrown away and rebuilt. Positive,
 * so it never collides with the negative error space. */
#define MI_REBUILD 1

static const char *const mi_dirs[] = {"cur", "new"};   /* cur/ wins duplicates */

/* --- errors ------------------------------------------------------------ */

/* Map an SQLite result to outpost's error space; corruption asks for a rebuild. */
static int mi_err(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
        return 0;
    case SQLITE_CORRUPT: case SQLITE_NOTADB:
        return MI_REBUILD;
    case SQLITE_BUSY: case SQLITE_LOCKED:
        return OP_E_LOCKED;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_IOERR: case SQLITE_CANTOPEN: {
        int e = db ? sqlite3_system_errno(db) : 0;
        return e > 0 ? -e : -EIO;
    }
    default:
        return OP_E_DB;
    }
}

static int mi_exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        log_debug("mindex: \"%s\": %s", sql, sqlite3_errmsg(db));
    return mi_err(db, rc);
}

static int mi_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        log_debug("mindex: prepare \"%s\": %s", sql, sqlite3_errmsg(db));
        *st = NULL;
    }
    return mi_err(db, rc);
}

/* Step a statement that returns no rows, then reset it for the next use. */
static int mi_step_done(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : mi_err(db, rc == SQLITE_ROW ? SQLITE_MISMATCH : rc);
}

/* One integer from a single-row query; *out untouched if there is no row. */
static int mi_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int r = mi_prepare(db, sql, &st);
    if (r != 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : mi_err(db, rc);
    sqlite3_finalize(st);
    return r;
}

/* --- paths and UIDVALIDITY --------------------------------------------- */

static int mi_path(char *dst, size_t len, const char *root, const char *name)
{
    return path_join(dst, len, root, name);
}

/* Remove the database and its WAL side files (so a stale WAL can never be
 * replayed into a fresh database). */
static void mi_remove_db(const char *root)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char base[4096], p[4200];
    if (mi_path(base, sizeof base, root, MINDEX_DB) < 0)
        return;
    for (size_t i = 0; i < ARRAY_LEN(suffix); i++) {
        snprintf(p, sizeof p, "%s%s", base, suffix[i]);
        if (unlink(p) < 0 && errno != ENOENT)
            log_warn("mindex %s: cannot remove %s: %s", root, p, strerror(errno));
    }
}

/* A UIDVALIDITY greater than any this mailbox had: the current time, or
 * one more than the last recorded value if that is not smaller. It is
 * recorded durably before use. */
static int mi_new_uidvalidity(const char *root, uint32_t *out)
{
    char path[4096];
    int r = mi_path(path, sizeof path, root, MINDEX_UVFILE);
    if (r < 0)
        return r;
    uint64_t last = 0;
    struct buf b = BUF_INIT;
    if (read_file(path, &b, 64) == 0) {
        const char *s = buf_cstr(&b);
        if (s)
            last = strtoull(s, NULL, 10);
    }
    buf_free(&b);
    uint64_t now = (uint64_t)time(NULL);
    uint64_t v = now > last ? now : last + 1;
    if (v > UINT32_MAX || v == 0)
        v = 1;    /* after 2106, or a damaged record: start over */
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", v);
    if ((r = write_file_atomic(path, text, (size_t)n, 0600)) < 0)
        return r;
    *out = (uint32_t)v;
    return 0;
}

/* --- opening ----------------------------------------------------------- */

/* Open the index of root. With create, a missing database is made (its
 * schema is written inside the sync transaction; *fresh tells). Returns 0,
 * MI_REBUILD if the file is not a usable index, or a negative code. */
static int mi_open(const char *root, bool create, sqlite3 **out, bool *fresh)
{
    char path[4096];
    int r = mi_path(path, sizeof path, root, MINDEX_DB);
    if (r < 0)
        return r;
    *out = NULL;
    *fresh = false;
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT)
            return -errno;
        if (!create)
            return -ENOENT;
        mi_remove_db(root);
    } else if (!S_ISREG(st.st_mode)) {
        return create ? MI_REBUILD : OP_E_DB;
    }
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        r = mi_err(db, rc);
        sqlite3_close(db);
        return r ? r : OP_E_DB;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, MINDEX_BUSY_MS);
    /* WAL lets readers go on while a sync writes; synchronous=FULL makes a
     * commit durable, which uid stability needs (a lost expunge commit
     * could otherwise hand an expunged uid to a new file). */
    if ((r = mi_exec(db, "PRAGMA journal_mode=WAL")) == 0)
        r = mi_exec(db, "PRAGMA synchronous=FULL");
    int64_t version = -1, tables = 0;
    if (r == 0)
        r = mi_query_int(db, "PRAGMA user_version", &version);
    if (r == 0 && version == 0)
        r = mi_query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (r == 0) {
        if (version == 0 && tables == 0)
            *fresh = true;
        else if (version != MINDEX_SCHEMA)
            r = MI_REBUILD;
    }
    if (r == 0 && *fresh && !create)
        r = OP_E_DB;
    if (r != 0) {
        sqlite3_close(db);
        return r;
    }
    *out = db;
    return 0;
}

static int mi_create_schema(sqlite3 *db, const char *root)
{
    uint32_t uidvalidity;
    int r = mi_new_uidvalidity(root, &uidvalidity);
    if (r < 0)
        return r;
    static const char *const ddl[] = {
        "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1),"
        " uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL)",
        "CREATE TABLE messages(uid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " path TEXT NOT NULL, size INTEGER NOT NULL)",
    };
    for (size_t i = 0; i < ARRAY_LEN(ddl); i++)
        if ((r = mi_exec(db, ddl[i])) != 0)
            return r;
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO meta VALUES(1, %" PRIu32 ", 1)", uidvalidity);
    if ((r = mi_exec(db, sql)) != 0)
        return r;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", MINDEX_SCHEMA);
    if ((r = mi_exec(db, sql)) != 0)
        return r;
    log_debug("mindex %s: new index, uidvalidity %" PRIu32, root, uidvalidity);
    return 0;
}

static int mi_read_meta(sqlite3 *db, uint32_t *uidvalidity, uint32_t *uidnext)
{
    sqlite3_stmt *st;
    int r = mi_prepare(db, "SELECT uidvalidity, uidnext FROM meta WHERE id = 1", &st);
    if (r != 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 1);
        if (v < 1 || v > UINT32_MAX || n < 1 || n > UINT32_MAX) {
            r = MI_REBUILD;
        } else {
            *uidvalidity = (uint32_t)v;
            *uidnext = (uint32_t)n;
        }
    } else {
        r = rc == SQLITE_DONE ? MI_REBUILD : mi_err(db, rc);
    }
    sqlite3_finalize(st);
    return r;
}

/* --- the files of a Maildir -------------------------------------------- */

struct mi_file {
    char *path;          /* "cur/FILE" or "new/FILE" */
    size_t baselen;      /* length of the base name, which starts at path + 4 */
    int64_t sec, usec;   /* delivery time, for ordering new files */
    size_t order;        /* scan order, to break ties among duplicates */
};

struct mi_files {
    struct mi_file *v;
    size_t n, cap;
};

static void mi_files_free(struct mi_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].path);
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

static const char *mi_file_base(const struct mi_file *f) { return f->path + 4; }

/* Length of the base name: the file name up to the Maildir info ":2,". */
static size_t mi_base_len(const char *fname)
{
    const char *info = strstr(fname, ":2,");
    return info ? (size_t)(info - fname) : strlen(fname);
}

/* Leading "<sec>." and optional "M<usec>" of a Maildir name; false when the
 * name does not start that way (then the file's mtime is used). */
static bool mi_name_time(const char *name, int64_t *sec, int64_t *usec)
{
    int64_t s = 0, u = 0;
    const char *p = name;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (p - name >= 18)
            return false;
        s = s * 10 + (*p - '0');
    }
    if (p == name || *p != '.')
        return false;
    if (p[1] == 'M') {
        const char *q = p + 2;
        for (; *q >= '0' && *q <= '9' && q - p < 9; q++)
            u = u * 10 + (*q - '0');
    }
    *sec = s;
    *usec = u;
    return true;
}

static int mi_files_add(struct mi_files *f, const char *dir, const char *fname)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct mi_file *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        f->v = v;
        f->cap = cap;
    }
    size_t len = strlen(fname);
    char *path = malloc(len + 5);
    if (!path)
        return -ENOMEM;
    memcpy(path, dir, 3);
    path[3] = '/';
    memcpy(path + 4, fname, len + 1);
    struct mi_file *e = &f->v[f->n];
    *e = (struct mi_file){.path = path, .baselen = mi_base_len(fname), .order = f->n};
    f->n++;
    return 0;
}

/* True if the directory entry is a regular file (symlinks and
 * subdirectories in new/ and cur/ are not messages). */
static bool mi_is_regular(int dfd, const struct dirent *de, struct stat *st, bool *have_st)
{
    *have_st = false;
    if (de->d_type == DT_REG)
        return true;
    if (de->d_type != DT_UNKNOWN)
        return false;
    if (fstatat(dfd, de->d_name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    *have_st = true;
    return S_ISREG(st->st_mode);
}

/* List the messages in root/cur and root/new (dot files skipped). With
 * times, each entry gets its delivery time (from the name, else mtime). */
static int mi_scan(const char *root, struct mi_files *out)
{
    for (size_t d = 0; d < ARRAY_LEN(mi_dirs); d++) {
        char path[4096];
        int r = mi_path(path, sizeof path, root, mi_dirs[d]);
        if (r < 0)
            return r;
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
            return -errno;
        DIR *dir = fdopendir(dfd);
        if (!dir) {
            r = -errno;
            close(dfd);
            return r;
        }
        struct dirent *de;
        errno = 0;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            struct stat st;
            bool have_st;
            if (!mi_is_regular(dfd, de, &st, &have_st))
                continue;
            if ((r = mi_files_add(out, mi_dirs[d], de->d_name)) < 0)
                break;
            struct mi_file *e = &out->v[out->n - 1];
            if (!mi_name_time(de->d_name, &e->sec, &e->usec)) {
                if (!have_st && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                    memset(&st, 0, sizeof st);
                e->sec = st.st_mtim.tv_sec;
                e->usec = st.st_mtim.tv_nsec / 1000;
            }
            errno = 0;
        }
        if (r == 0 && errno != 0)
            r = -errno;
        closedir(dir);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Wire size (mail_wire_size()) of a file, read in chunks so a large message
 * never sits in memory whole. A CR ending one chunk and the LF starting the
 * next form one CRLF, which mail_crlf_size() of the second chunk alone would
 * count as a bare LF. */
static int mi_file_crlf_size(const char *root, const char *relpath, char *chunk, uint64_t *out)
{
    char path[4096];
    int r = mi_path(path, sizeof path, root, relpath);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint64_t total = 0;
    char last = 0;
    bool any = false;
    for (;;) {
        ssize_t n = read(fd, chunk, MINDEX_READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        total += mail_crlf_size(chunk, (size_t)n);
        if (last == '\r' && chunk[0] == '\n')
            total--;
        last = chunk[n - 1];
        any = true;
    }
    close(fd);
    if (any && last != '\n')
        total += 2;             /* the CRLF a final unterminated line gets */
    if (r == 0)
        *out = total;
    return r;
}

/* --- the rows of the index --------------------------------------------- */

struct mi_row {
    uint32_t uid;
    bool seen;
    char *name;
    char *path;
};

struct mi_rows {
    struct mi_row *v;
    size_t n;
};

static void mi_rows_free(struct mi_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++) {
        free(rows->v[i].name);
        free(rows->v[i].path);
    }
    free(rows->v);
    rows->v = NULL;
    rows->n = 0;
}

static int mi_row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mi_row *)a)->name, ((const struct mi_row *)b)->name);
}

static int mi_load_rows(sqlite3 *db, struct mi_rows *rows)
{
    sqlite3_stmt *st;
    int r = mi_prepare(db, "SELECT uid, name, path FROM messages", &st);
    if (r != 0)
        return r;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct mi_row *v = realloc(rows->v, cap * sizeof *v);
            if (!v) {
                r = -ENOMEM;
                break;
            }
            rows->v = v;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *path = (const char *)sqlite3_column_text(st, 2);
        int64_t uid = sqlite3_column_int64(st, 0);
        if (!name || !path || uid < 1 || uid > UINT32_MAX) {
            r = MI_REBUILD;
            break;
        }
        struct mi_row *row = &rows->v[rows->n];
        row->uid = (uint32_t)uid;
        row->seen = false;
        row->name = strdup(name);
        row->path = strdup(path);
        rows->n++;
        if (!row->name || !row->path) {
            r = -ENOMEM;
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = mi_err(db, rc);
    sqlite3_finalize(st);
    if (r == 0 && rows->n > 1)
        qsort(rows->v, rows->n, sizeof *rows->v, mi_row_cmp);
    return r;
}

static struct mi_row *mi_find_row(struct mi_rows *rows, const char *base, size_t len)
{
    size_t lo = 0, hi = rows->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = rows->v[mid].name;
        int c = strncmp(name, base, len);
        if (c == 0 && name[len] != '\0')
            c = 1;
        if (c == 0)
            return &rows->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* --- sync -------------------------------------------------------------- */

static int mi_file_base_cmp(const void *a, const void *b)
{
    const struct mi_file *x = a, *y = b;
    size_t n = x->baselen < y->baselen ? x->baselen : y->baselen;
    int c = memcmp(mi_file_base(x), mi_file_base(y), n);
    if (c == 0)
        c = (x->baselen > y->baselen) - (x->baselen < y->baselen);
    if (c == 0)
        c = (x->order > y->order) - (x->order < y->order);
    return c;
}

static int mi_file_time_cmp(const void *a, const void *b)
{
    const struct mi_file *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    if (x->usec != y->usec)
        return x->usec < y->usec ? -1 : 1;
    /* Same microsecond: compare digit runs as numbers, so that the
     * delivery counter orders "Q9" before "Q10". */
    return strverscmp(mi_file_base(x), mi_file_base(y));
}

/* Keep the first of several files with the same base name (a message
 * both in new/ and cur/ after an interrupted move: cur/ was scanned first). */
static void mi_files_dedup(struct mi_files *f)
{
    if (f->n > 1)
        qsort(f->v, f->n, sizeof *f->v, mi_file_base_cmp);
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct mi_file *prev = w > 0 ? &f->v[w - 1] : NULL;
        if (prev && prev->baselen == f->v[i].baselen &&
            memcmp(mi_file_base(prev), mi_file_base(&f->v[i]), prev->baselen) == 0) {
            free(f->v[i].path);
            continue;
        }
        f->v[w++] = f->v[i];
    }
    f->n = w;
}

/* Match the files against the rows: known files keep their uid (their
 * path is updated when they moved or their flags changed), unmatched rows
 * are deleted, and unknown files are left in *fresh. */
static int mi_reconcile(sqlite3 *db, struct mi_rows *rows, struct mi_files *files,
                        struct mi_files *fresh)
{
    sqlite3_stmt *upd = NULL, *del = NULL;
    int r = mi_prepare(db, "UPDATE messages SET path = ?1 WHERE uid = ?2", &upd);
    if (r == 0)
        r = mi_prepare(db, "DELETE FROM messages WHERE uid = ?1", &del);
    for (size_t i = 0; r == 0 && i < files->n; i++) {
        struct mi_file *f = &files->v[i];
        struct mi_row *row = mi_find_row(rows, mi_file_base(f), f->baselen);
        if (!row) {
            fresh->v[fresh->n++] = *f;
            f->path = NULL;
            continue;
        }
        row->seen = true;
        if (strcmp(row->path, f->path) != 0) {
            sqlite3_bind_text(upd, 1, f->path, -1, SQLITE_STATIC);
            sqlite3_bind_int64(upd, 2, row->uid);
            r = mi_step_done(db, upd);
        }
    }
    for (size_t i = 0; r == 0 && i < rows->n; i++) {
        if (rows->v[i].seen)
            continue;
        sqlite3_bind_int64(del, 1, rows->v[i].uid);
        r = mi_step_done(db, del);
    }
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    return r;
}

/* Give the new files uids from *uidnext, in delivery order. */
static int mi_insert_fresh(sqlite3 *db, const char *root, struct mi_files *fresh,
                           uint32_t *uidnext)
{
    if (fresh->n == 0)
        return 0;
    if ((uint64_t)*uidnext + fresh->n > UINT32_MAX)
        return MI_REBUILD;          /* uid space used up: a new UIDVALIDITY starts over */
    qsort(fresh->v, fresh->n, sizeof *fresh->v, mi_file_time_cmp);
    sqlite3_stmt *ins;
    int r = mi_prepare(db, "INSERT INTO messages(uid, name, path, size) VALUES(?1, ?2, ?3, ?4)",
                       &ins);
    char *chunk = NULL;
    for (size_t i = 0; r == 0 && i < fresh->n; i++) {
        struct mi_file *f = &fresh->v[i];
        const char *fname = f->path + 4;
        uint64_t size, crlf;
        if (maildir_name_sizes(fname, &size, &crlf) < 0) {
            if (!chunk && !(chunk = malloc(MINDEX_READ_CHUNK))) {
                r = -ENOMEM;
                break;
            }
            int e = mi_file_crlf_size(root, f->path, chunk, &crlf);
            if (e < 0) {
                /* Gone since the scan, or unreadable: the next sync retries. */
                if (e != -ENOENT)
                    log_warn("mindex %s: skipping %s: %s", root, f->path, op_strerror(e));
                continue;
            }
        }
        if (crlf > INT64_MAX)
            crlf = INT64_MAX;
        sqlite3_bind_int64(ins, 1, *uidnext);
        sqlite3_bind_text(ins, 2, mi_file_base(f), (int)f->baselen, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, (int64_t)crlf);
        if ((r = mi_step_done(db, ins)) == 0)
            (*uidnext)++;
    }
    free(chunk);
    sqlite3_finalize(ins);
    return r;
}

static int mi_store_uidnext(sqlite3 *db, uint32_t uidnext)
{
    sqlite3_stmt *st;
    int r = mi_prepare(db, "UPDATE meta SET uidnext = max(uidnext, ?1) WHERE id = 1", &st);
    if (r != 0)
        return r;
    sqlite3_bind_int64(st, 1, uidnext);
    r = mi_step_done(db, st);
    sqlite3_finalize(st);
    return r;
}

static int mi_read_list(sqlite3 *db, struct mindex_list *out)
{
    sqlite3_stmt *st;
    int r = mi_prepare(db, "SELECT uid, path, size FROM messages ORDER BY uid", &st);
    if (r != 0)
        return r;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct mindex_msg *v = realloc(out->msgs, cap * sizeof *v);
            if (!v) {
                r = -ENOMEM;
                break;
            }
            out->msgs = v;
        }
        const char *path = (const char *)sqlite3_column_text(st, 1);
        char *copy = path ? strdup(path) : NULL;
        if (!copy) {
            r = path ? -ENOMEM : MI_REBUILD;
            break;
        }
        int64_t size = sqlite3_column_int64(st, 2);
        out->msgs[out->n++] = (struct mindex_msg){
            .uid = (uint32_t)sqlite3_column_int64(st, 0),
            .size = size < 0 ? 0 : (uint64_t)size,
            .path = copy,
        };
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = mi_err(db, rc);
    sqlite3_finalize(st);
    return r;
}

/* The whole sync in one write transaction. */
static int mi_sync_txn(sqlite3 *db, const char *root, bool fresh_db, struct mindex_list *out)
{
    struct mi_rows rows = {0};
    struct mi_files files = {0}, fresh = {0};
    int r = mi_exec(db, "BEGIN IMMEDIATE");
    if (r != 0)
        return r;
    if (fresh_db) {
        /* Another process may have created it while we waited for the lock. */
        int64_t version = -1;
        r = mi_query_int(db, "PRAGMA user_version", &version);
        if (r == 0 && version == 0)
            r = mi_create_schema(db, root);
    }
    uint32_t uidvalidity = 0, uidnext = 0;
    if (r == 0)
        r = mi_read_meta(db, &uidvalidity, &uidnext);
    if (r == 0)
        r = mi_load_rows(db, &rows);
    if (r == 0)
        r = mi_scan(root, &files);
    if (r == 0) {
        mi_files_dedup(&files);
        fresh.v = files.n ? malloc(files.n * sizeof *fresh.v) : NULL;
        if (files.n && !fresh.v)
            r = -ENOMEM;
    }
    if (r == 0)
        r = mi_reconcile(db, &rows, &files, &fresh);
    for (size_t i = 0; r == 0 && i < rows.n; i++)
        if (rows.v[i].uid >= uidnext)       /* never hand out a uid twice */
            uidnext = rows.v[i].uid + 1;
    if (r == 0)
        r = mi_insert_fresh(db, root, &fresh, &uidnext);
    if (r == 0)
        r = mi_store_uidnext(db, uidnext);
    if (r == 0)
        r = mi_read_list(db, out);
    if (r == 0)
        r = mi_exec(db, "COMMIT");
    if (r != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    out->uidvalidity = uidvalidity;
    out->uidnext = uidnext;
    mi_rows_free(&rows);
    mi_files_free(&files);
    mi_files_free(&fresh);
    return r;
}

static int mi_check_maildir(const char *root)
{
    for (size_t d = 0; d < ARRAY_LEN(mi_dirs); d++) {
        char path[4096];
        struct stat st;
        int r = mi_path(path, sizeof path, root, mi_dirs[d]);
        if (r < 0)
            return r;
        if (stat(path, &st) < 0)
            return -errno;
        if (!S_ISDIR(st.st_mode))
            return -ENOTDIR;
    }
    return 0;
}

int mindex_sync(const char *root, struct mindex_list *out)
{
    memset(out, 0, sizeof *out);
    int r = mi_check_maildir(root);
    if (r < 0)
        return r;
    /* Second attempt only after the database was found unusable and removed. */
    for (int attempt = 0; attempt < 2; attempt++) {
        sqlite3 *db;
        bool fresh;
        r = mi_open(root, true, &db, &fresh);
        if (r == 0) {
            r = mi_sync_txn(db, root, fresh, out);
            sqlite3_close(db);
        }
        if (r != MI_REBUILD)
            break;
        mindex_list_free(out);
        log_warn("mindex %s: index unusable, rebuilding it from the Maildir", root);
        mi_remove_db(root);
    }
    if (r == MI_REBUILD)
        r = OP_E_DB;
    if (r != 0)
        mindex_list_free(out);
    return r;
}

/* --- expunge ----------------------------------------------------------- */

struct mi_gone {
    uint32_t uid;
    char *name;          /* base name, for finding a file that moved */
};

/* Unlink files that moved since the caller's sync (another program moved
 * them new/ -> cur/ or changed their flags): one scan finds them by base name. */
static int mi_unlink_moved(const char *root, struct mi_gone *miss, size_t n)
{
    struct mi_files files = {0};
    int r = mi_scan(root, &files);
    for (size_t i = 0; r == 0 && i < files.n; i++) {
        const struct mi_file *f = &files.v[i];
        for (size_t j = 0; j < n; j++) {
            if (strlen(miss[j].name) != f->baselen ||
                memcmp(miss[j].name, mi_file_base(f), f->baselen) != 0)
                continue;
            char path[4096];
            if ((r = mi_path(path, sizeof path, root, f->path)) < 0)
                break;
            if (unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        }
    }
    mi_files_free(&files);
    return r;
}

/* Unlink the files of the uids; those removed (or already gone) are listed
 * in done. The first hard error is returned after trying all. */
static int mi_unlink_uids(sqlite3 *db, const char *root, const uint32_t *uids, size_t n,
                          struct mi_gone *done, size_t *ndone)
{
    sqlite3_stmt *sel;
    int r = mi_prepare(db, "SELECT name, path FROM messages WHERE uid = ?1", &sel);
    if (r != 0)
        return r;
    int first_err = 0;
    size_t nmiss = 0;
    struct mi_gone *miss = calloc(n ? n : 1, sizeof *miss);
    if (!miss)
        first_err = -ENOMEM;
    for (size_t i = 0; miss && i < n; i++) {
        sqlite3_bind_int64(sel, 1, uids[i]);
        int rc = sqlite3_step(sel);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(sel);
            if (rc != SQLITE_DONE && !first_err)
                first_err = mi_err(db, rc);
            continue;                        /* unknown uid: nothing to do */
        }
        const char *cname = (const char *)sqlite3_column_text(sel, 0);
        const char *cpath = (const char *)sqlite3_column_text(sel, 1);
        char *name = cname ? strdup(cname) : NULL;
        char path[4096];
        int e = !cname || !cpath ? OP_E_DB
                : name       ? mi_path(path, sizeof path, root, cpath)
                             : -ENOMEM;
        sqlite3_reset(sel);
        if (e == 0 && unlink(path) < 0)
            e = -errno;
        if (e == -ENOENT) {
            miss[nmiss++] = (struct mi_gone){uids[i], name};
            continue;
        }
        if (e < 0) {
            free(name);
            if (!first_err)
                first_err = e;
            continue;
        }
        done[(*ndone)++] = (struct mi_gone){uids[i], name};
    }
    sqlite3_finalize(sel);
    if (nmiss > 0) {
        int e = mi_unlink_moved(root, miss, nmiss);
        if (e < 0 && !first_err)
            first_err = e;
        for (size_t i = 0; i < nmiss; i++) {
            if (e == 0)
                done[(*ndone)++] = miss[i];
            else
                free(miss[i].name);
        }
    }
    free(miss);
    return first_err;
}

static int mi_fsync_dirs(const char *root)
{
    for (size_t d = 0; d < ARRAY_LEN(mi_dirs); d++) {
        char path[4096];
        int r = mi_path(path, sizeof path, root, mi_dirs[d]);
        if (r == 0)
            r = fsync_dir(path);
        if (r < 0)
            return r;
    }
    return 0;
}

int mindex_expunge(const char *root, const uint32_t *uids, size_t n)
{
    if (n == 0)
        return 0;
    sqlite3 *db;
    bool fresh;
    int r = mi_open(root, false, &db, &fresh);
    if (r != 0)
        return r == MI_REBUILD ? OP_E_DB : r;
    struct mi_gone *done = calloc(n, sizeof *done);
    size_t ndone = 0;
    r = done ? mi_exec(db, "BEGIN IMMEDIATE") : -ENOMEM;
    if (r != 0) {
        free(done);
        sqlite3_close(db);
        return r == MI_REBUILD ? OP_E_DB : r;
    }
    /* Files first, made durable, then the rows: a crash in between leaves
     * rows whose files are gone, which the next sync drops. The other order
     * could bring an expunged message back under a new uid. */
    int err = mi_unlink_uids(db, root, uids, n, done, &ndone);
    r = mi_fsync_dirs(root);
    sqlite3_stmt *del = NULL;
    if (r == 0)
        r = mi_prepare(db, "DELETE FROM messages WHERE uid = ?1", &del);
    for (size_t i = 0; r == 0 && i < ndone; i++) {
        sqlite3_bind_int64(del, 1, done[i].uid);
        r = mi_step_done(db, del);
    }
    sqlite3_finalize(del);
    /* uidnext is left alone: expunged uids are never handed out again. */
    if (r == 0)
        r = mi_exec(db, "COMMIT");
    if (r != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    for (size_t i = 0; i < ndone; i++)
        free(done[i].name);
    free(done);
    if (r == MI_REBUILD)
        r = OP_E_DB;
    return r != 0 ? r : err;
}

void mindex_list_free(struct mindex_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->msgs[i].path);
    free(l->msgs);
    l->msgs = NULL;
    l->n = 0;
}
