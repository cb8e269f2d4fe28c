/*
 * accounts.c - the accounts table in SQLite.
 *
 * Schema version 1 (kept in PRAGMA user_version):
 *   accounts(address TEXT PRIMARY KEY, hash TEXT NOT NULL, created INTEGER)
 * where created is the Unix time the account was added. Every statement is
 * prepared once at open and reused, so the SQL text is fixed and values only
 * ever travel as bound parameters.
 */
#include "auth/accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth/passwd.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"

#define ACC_DB_NAME        "outpost.db"
#define ACC_SCHEMA_VERSION 1
#define ACC_BUSY_MS        5000
#define ADDR_TOTAL_MAX     254
#define ADDR_LOCAL_MAX     64
#define ADDR_LABEL_MAX     63

enum { ST_ADD, ST_DEL, ST_SET, ST_EXISTS, ST_GET, ST_LIST, ST_COUNT };

static const char *const acc_sql[ST_COUNT] = {
    [ST_ADD]    = "INSERT INTO accounts(address, hash, created) VALUES (?1, ?2, ?3)",
    [ST_DEL]    = "DELETE FROM accounts WHERE address = ?1",
    [ST_SET]    = "UPDATE accounts SET hash = ?2 WHERE address = ?1",
    [ST_EXISTS] = "SELECT 1 FROM accounts WHERE address = ?1",
    [ST_GET]    = "SELECT hash FROM accounts WHERE address = ?1",
    [ST_LIST]   = "SELECT address FROM accounts ORDER BY address",
};

struct accounts {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

/* ---- addresses ---------------------------------------------------------- */

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum_lc(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The local part: a subset of RFC 5321's dot-string (section 4.1.2) that is
 * also safe as a directory name, since the mail store uses it as one. */
static bool local_ok(const char *p, size_t n)
{
    if (n == 0 || n > ADDR_LOCAL_MAX || p[0] == '.' || p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '.' && i + 1 < n && p[i + 1] == '.')
            return false;
        if (!is_alnum_lc(c) && c != '.' && c != '_' && c != '+' && c != '-')
            return false;
    }
    return true;
}

/* A host name: labels of letters, digits and '-', neither starting nor
 * ending with '-' (RFC 1123 section 2.1, which allows a leading digit), each
 * at most 63 octets (RFC 1035 section 2.3.4), no empty label (so no trailing
 * dot). A single label is allowed, for "localhost". */
static bool domain_ok(const char *p, size_t n)
{
    size_t start = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') {
            if (!is_alnum_lc(p[i]) && p[i] != '-')
                return false;
            continue;
        }
        size_t ll = i - start;
        if (ll == 0 || ll > ADDR_LABEL_MAX || p[start] == '-' || p[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return true;
}

int address_normalize(const char *in, char *out, size_t outlen)
{
    char tmp[ADDR_TOTAL_MAX + 1];
    if (!in)
        return OP_E_SYNTAX;
    /* RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with its
     * angle brackets, which leaves 254 for the address. */
    size_t n = strnlen(in, ADDR_TOTAL_MAX + 1);
    if (n > ADDR_TOTAL_MAX)
        return OP_E_SYNTAX;
    for (size_t i = 0; i < n; i++)
        tmp[i] = ascii_lower(in[i]);
    tmp[n] = '\0';

    const char *at = memchr(tmp, '@', n);
    if (!at)
        return OP_E_SYNTAX;
    size_t ln = (size_t)(at - tmp);
    if (!local_ok(tmp, ln) || !domain_ok(at + 1, n - ln - 1))
        return OP_E_SYNTAX;
    if (!out || n + 1 > outlen)
        return -ENOSPC;
    memcpy(out, tmp, n + 1);
    return 0;
}

/* ---- database plumbing -------------------------------------------------- */

static int db_fail(sqlite3 *db, const char *what)
{
    log_err("accounts: %s: %s", what, sqlite3_errmsg(db));
    return sqlite3_errcode(db) == SQLITE_NOMEM ? -ENOMEM : OP_E_DB;
}

/* Run SQL that returns no rows the caller needs. */
static int db_exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, sql);
    return 0;
}

/* Run a statement that returns one integer (a PRAGMA's value). */
static int db_int(sqlite3 *db, const char *sql, int *val)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, sql);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *val = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return db_fail(db, sql);
    return 0;
}

/* Create the file with mode 0600 before SQLite sees it: SQLite would create
 * it with 0644 & ~umask, and gives its -wal and -shm files the mode of the
 * database file, so this covers all three. An existing file is left as its
 * owner set it. */
static int db_file_create(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    /* The umask may have taken bits away; give the owner read and write. */
    int r = fchmod(fd, 0600) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* The schema, created or checked in one write transaction so two processes
 * opening a fresh database at once do not both create it. */
static int schema_ensure(sqlite3 *db)
{
    int r = db_exec(db, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    int version = 0;
    r = db_int(db, "PRAGMA user_version", &version);
    if (r == 0 && version > ACC_SCHEMA_VERSION) {
        log_err("accounts: database schema version %d is newer than this program's (%d)",
                version, ACC_SCHEMA_VERSION);
        r = OP_E_DB;
    }
    if (r == 0 && version < 1) {
        r = db_exec(db,
                    "CREATE TABLE IF NOT EXISTS accounts ("
                    " address TEXT PRIMARY KEY,"
                    " hash TEXT NOT NULL,"
                    " created INTEGER)");
        if (r == 0)
            r = db_exec(db, "PRAGMA user_version = 1");
    }
    if (r == 0)
        return db_exec(db, "COMMIT");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static int db_configure(sqlite3 *db)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, ACC_BUSY_MS);

    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "journal_mode");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
            log_warn("accounts: database stays in journal mode %s, not WAL",
                     mode ? mode : "(unknown)");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return db_fail(db, "journal_mode");
    /* Each commit is synced to the WAL: a changed password or a new account
     * survives a power failure once the command reported success. */
    return db_exec(db, "PRAGMA synchronous = FULL");
}

static int prepare_all(struct accounts *a)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(a->db, acc_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &a->st[i], NULL) != SQLITE_OK)
            return db_fail(a->db, acc_sql[i]);
    return 0;
}

int accounts_open(const char *datadir, struct accounts **out)
{
    char path[4096];
    if (!datadir || !out)
        return -EINVAL;
    *out = NULL;
    int r = mkdir_p(datadir, 0700);
    if (r < 0)
        return r;
    r = path_join(path, sizeof path, datadir, ACC_DB_NAME);
    if (r < 0)
        return r;
    r = db_file_create(path);
    if (r < 0) {
        log_err("accounts: cannot create %s: %s", path, op_strerror(r));
        return r;
    }

    struct accounts *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    if (sqlite3_open_v2(path, &a->db, flags, NULL) != SQLITE_OK) {
        r = a->db ? db_fail(a->db, path) : -ENOMEM;
        accounts_close(a);
        return r;
    }
    r = db_configure(a->db);
    if (r == 0)
        r = schema_ensure(a->db);
    if (r == 0)
        r = prepare_all(a);
    if (r < 0) {
        accounts_close(a);
        return r;
    }
    /* Pay for the dummy hash now, not on the first unknown user's login. */
    passwd_dummy_init();
    *out = a;
    return 0;
}

void accounts_close(struct accounts *a)
{
    if (!a)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(a->st[i]);
    sqlite3_close(a->db);
    free(a);
}

/* The statement idx, reset and with address bound as ?1 after normalising
 * it into norm. */
static int stmt_bind_address(struct accounts *a, int idx, const char *address,
                             char norm[ADDRESS_MAX], sqlite3_stmt **out)
{
    int r = address_normalize(address, norm, ADDRESS_MAX);
    if (r < 0)
        return r;
    sqlite3_stmt *st = a->st[idx];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (sqlite3_bind_text(st, 1, norm, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return db_fail(a->db, "bind");
    *out = st;
    return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static bool hash_ok(const char *hash)
{
    return hash && hash[0] && strlen(hash) < PASSWD_HASH_MAX;
}

/* ---- operations --------------------------------------------------------- */

int accounts_add(struct accounts *a, const char *address, const char *hash)
{
    char norm[ADDRESS_MAX];
    sqlite3_stmt *st;
    if (!a || !hash_ok(hash))
        return -EINVAL;
    int r = stmt_bind_address(a, ST_ADD, address, norm, &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
        r = db_fail(a->db, "bind");
        stmt_done(st);
        return r;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        r = OP_E_EXISTS;
    else
        r = db_fail(a->db, "add account");
    stmt_done(st);
    return r;
}

/* Run a statement that changes at most one row; OP_E_NOTFOUND if none. */
static int step_change(struct accounts *a, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(a->db, what);
    if (r == 0 && sqlite3_changes(a->db) == 0)
        r = OP_E_NOTFOUND;
    stmt_done(st);
    return r;
}

int accounts_del(struct accounts *a, const char *address)
{
    char norm[ADDRESS_MAX];
    sqlite3_stmt *st;
    if (!a)
        return -EINVAL;
    int r = stmt_bind_address(a, ST_DEL, address, norm, &st);
    if (r < 0)
        return r;
    return step_change(a, st, "delete account");
}

int accounts_set_hash(struct accounts *a, const char *address, const char *hash)
{
    char norm[ADDRESS_MAX];
    sqlite3_stmt *st;
    if (!a || !hash_ok(hash))
        return -EINVAL;
    int r = stmt_bind_address(a, ST_SET, address, norm, &st);
    if (r < 0)
        return r;
    if (sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        r = db_fail(a->db, "bind");
        stmt_done(st);
        return r;
    }
    return step_change(a, st, "set password");
}

int accounts_exists(struct accounts *a, const char *address)
{
    char norm[ADDRESS_MAX];
    sqlite3_stmt *st;
    if (!a)
        return -EINVAL;
    int r = stmt_bind_address(a, ST_EXISTS, address, norm, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_fail(a->db, "look up account");
    stmt_done(st);
    return r;
}

int accounts_list(struct accounts *a, void (*fn)(void *arg, const char *address), void *arg)
{
    if (!a || !fn)
        return -EINVAL;
    sqlite3_stmt *st = a->st[ST_LIST];
    sqlite3_reset(st);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *addr = (const char *)sqlite3_column_text(st, 0);
        if (!addr)
            continue;
        fn(arg, addr);
        n++;
    }
    int r = rc == SQLITE_DONE ? n : db_fail(a->db, "list accounts");
    sqlite3_reset(st);
    return r;
}

/* Fetch the stored hash of the (normalised) address: 1 found, 0 not, or
 * negative. A stored hash too long to be ours counts as unusable: "". */
static int hash_fetch(struct accounts *a, const char *address, char hash[PASSWD_HASH_MAX])
{
    char norm[ADDRESS_MAX];
    sqlite3_stmt *st;
    hash[0] = '\0';
    int r = stmt_bind_address(a, ST_GET, address, norm, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 0);
        int hl = sqlite3_column_bytes(st, 0);
        if (h && hl > 0 && hl < PASSWD_HASH_MAX)
            memcpy(hash, h, (size_t)hl + 1);
        else
            log_warn("accounts: %s has an unusable password hash", norm);
        r = 1;
    } else
        r = rc == SQLITE_DONE ? 0 : db_fail(a->db, "look up account");
    stmt_done(st);
    return r;
}

int accounts_check_login(struct accounts *a, const char *address, const char *password)
{
    char hash[PASSWD_HASH_MAX];
    if (!a)
        return -EINVAL;
    if (!password)
        password = "";
    int r = hash_fetch(a, address, hash);
    if (r == OP_E_SYNTAX || r == -ENOSPC || r == 0) {
        /* No such account (or none possible): spend the time a real check
         * takes, so the answer's timing does not tell them apart. */
        passwd_verify_dummy(password);
        return OP_E_AUTH;
    }
    if (r < 0)
        return r;
    /* passwd_verify() spends the same time on an unusable hash. */
    return passwd_verify(password, hash) ? 0 : OP_E_AUTH;
}
