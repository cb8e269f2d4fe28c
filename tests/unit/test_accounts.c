/* Unit tests for auth/accounts: address rules and the accounts database. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/accounts.h"
#include "auth/passwd.h"
#include "base/err.h"

TEST(accounts_normalize_good)
{
    static const char *const v[][2] = {
        {"bob@example.test", "bob@example.test"},
        {"Bob@Example.TEST", "bob@example.test"},
        {"a@b", "a@b"},
        {"postmaster@localhost", "postmaster@localhost"},
        {"first.last@mail.example.org", "first.last@mail.example.org"},
        {"x_y+tag-1@sub-domain.example", "x_y+tag-1@sub-domain.example"},
        {"0@1.2.3.4", "0@1.2.3.4"},
        {"a@xn--bcher-kva.example", "a@xn--bcher-kva.example"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[ADDRESS_MAX];
        CHECK_INT(address_normalize(v[i][0], out, sizeof out), 0);
        CHECK_STR(out, v[i][1]);
    }
    /* In place. */
    char buf[ADDRESS_MAX] = "Alice@EXAMPLE.test";
    CHECK_INT(address_normalize(buf, buf, sizeof buf), 0);
    CHECK_STR(buf, "alice@example.test");
}

TEST(accounts_normalize_bad)
{
    static const char *const bad[] = {
        "", "bob", "@example.test", "bob@", "bob@@example.test", "a@b@c",
        ".bob@example.test", "bob.@example.test", "b..ob@example.test",
        "bob smith@example.test", "bob\"@example.test", "bob/x@example.test",
        "bob@-example.test", "bob@example-.test", "bob@example..test",
        "bob@.example.test", "bob@example.test.", "bob@exa_mple.test",
        "bob@[192.0.2.1]", "b\303\266b@example.test", "bob@example.test\n",
        "bob\r@example.test", " bob@example.test",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[ADDRESS_MAX];
        int r = address_normalize(bad[i], out, sizeof out);
        if (r != OP_E_SYNTAX)
            fprintf(stderr, "    accepted \"%s\"\n", bad[i]);
        CHECK_INT(r, OP_E_SYNTAX);
    }
    CHECK_INT(address_normalize(NULL, NULL, 0), OP_E_SYNTAX);
}

TEST(accounts_normalize_lengths)
{
    char in[400], out[ADDRESS_MAX];
    /* Local part: 64 is the limit. */
    memset(in, 'l', 64);
    strcpy(in + 64, "@example.test");
    CHECK_INT(address_normalize(in, out, sizeof out), 0);
    memset(in, 'l', 65);
    strcpy(in + 65, "@example.test");
    CHECK_INT(address_normalize(in, out, sizeof out), OP_E_SYNTAX);
    /* Label: 63 is the limit. */
    strcpy(in, "a@");
    memset(in + 2, 'd', 63);
    strcpy(in + 65, ".test");
    CHECK_INT(address_normalize(in, out, sizeof out), 0);
    strcpy(in, "a@");
    memset(in + 2, 'd', 64);
    strcpy(in + 66, ".test");
    CHECK_INT(address_normalize(in, out, sizeof out), OP_E_SYNTAX);
    /* Whole address: 254 is the limit. 10 + '@' + 243 = 254. */
    memset(in, 'l', 10);
    in[10] = '@';
    size_t p = 11;
    while (p < 254) {
        size_t take = 254 - p > 60 ? 59 : 254 - p;
        memset(in + p, 'd', take);
        p += take;
        if (p < 254)
            in[p++] = '.';
    }
    in[254] = '\0';
    REQUIRE(strlen(in) == 254);
    CHECK_INT(address_normalize(in, out, sizeof out), 0);
    CHECK_INT(address_normalize(in, out, 254), -ENOSPC);
    strcpy(in + 254, "d");
    CHECK_INT(address_normalize(in, out, sizeof out), OP_E_SYNTAX);
}

static void collect(void *arg, const char *address)
{
    char *s = arg;
    strcat(s, address);
    strcat(s, ";");
}

TEST(accounts_crud)
{
    const char *dir = test_tmpdir();
    struct accounts *a = NULL;
    char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];
    REQUIRE(accounts_open(dir, &a) == 0);
    REQUIRE(passwd_hash("first secret", h1, sizeof h1) == 0);
    REQUIRE(passwd_hash("second secret", h2, sizeof h2) == 0);

    CHECK_INT(accounts_exists(a, "bob@example.test"), 0);
    CHECK_INT(accounts_add(a, "Bob@Example.test", h1), 0);
    CHECK_INT(accounts_exists(a, "bob@example.test"), 1);
    CHECK_INT(accounts_exists(a, "BOB@EXAMPLE.TEST"), 1);
    CHECK_INT(accounts_add(a, "bob@example.test", h2), OP_E_EXISTS);
    CHECK_INT(accounts_add(a, "alice@example.test", h2), 0);
    CHECK_INT(accounts_add(a, "bad..name@example.test", h2), OP_E_SYNTAX);
    CHECK_INT(accounts_add(a, "carol@example.test", ""), -EINVAL);
    CHECK_INT(accounts_add(a, "carol@example.test", NULL), -EINVAL);
    CHECK_INT(accounts_exists(a, "no way@example.test"), OP_E_SYNTAX);

    char list[1024] = "";
    CHECK_INT(accounts_list(a, collect, list), 2);
    CHECK_STR(list, "alice@example.test;bob@example.test;");

    CHECK_INT(accounts_check_login(a, "bob@example.test", "first secret"), 0);
    CHECK_INT(accounts_check_login(a, "BOB@example.TEST", "first secret"), 0);
    CHECK_INT(accounts_check_login(a, "bob@example.test", "second secret"), OP_E_AUTH);
    CHECK_INT(accounts_check_login(a, "bob@example.test", ""), OP_E_AUTH);
    CHECK_INT(accounts_check_login(a, "bob@example.test", NULL), OP_E_AUTH);
    CHECK_INT(accounts_check_login(a, "nobody@example.test", "first secret"), OP_E_AUTH);
    CHECK_INT(accounts_check_login(a, "not an address", "first secret"), OP_E_AUTH);

    CHECK_INT(accounts_set_hash(a, "bob@example.test", h2), 0);
    CHECK_INT(accounts_check_login(a, "bob@example.test", "first secret"), OP_E_AUTH);
    CHECK_INT(accounts_check_login(a, "bob@example.test", "second secret"), 0);
    CHECK_INT(accounts_set_hash(a, "nobody@example.test", h2), OP_E_NOTFOUND);

    /* A locked hash never logs in. */
    char locked[PASSWD_HASH_MAX + 1] = "!";
    strcat(locked, h2);
    CHECK_INT(accounts_set_hash(a, "alice@example.test", locked), 0);
    CHECK_INT(accounts_check_login(a, "alice@example.test", "second secret"), OP_E_AUTH);

    CHECK_INT(accounts_del(a, "Bob@example.test"), 0);
    CHECK_INT(accounts_del(a, "bob@example.test"), OP_E_NOTFOUND);
    CHECK_INT(accounts_exists(a, "bob@example.test"), 0);
    CHECK_INT(accounts_check_login(a, "bob@example.test", "second secret"), OP_E_AUTH);
    list[0] = '\0';
    CHECK_INT(accounts_list(a, collect, list), 1);
    CHECK_STR(list, "alice@example.test;");
    accounts_close(a);
}

TEST(accounts_persist_and_share)
{
    const char *dir = test_tmpdir();
    struct accounts *a = NULL, *b = NULL;
    char h[PASSWD_HASH_MAX], path[512];
    REQUIRE(passwd_hash("pw one", h, sizeof h) == 0);
    REQUIRE(accounts_open(dir, &a) == 0);
    /* A second handle (another thread, or `outpost user add` beside the
     * server) sees the first one's writes. */
    REQUIRE(accounts_open(dir, &b) == 0);
    CHECK_INT(accounts_add(a, "u@example.test", h), 0);
    CHECK_INT(accounts_exists(b, "u@example.test"), 1);
    CHECK_INT(accounts_add(b, "u@example.test", h), OP_E_EXISTS);
    /* The write-ahead log holds hashes too: same mode as the database. */
    struct stat wst;
    snprintf(path, sizeof path, "%s/outpost.db-wal", dir);
    REQUIRE(stat(path, &wst) == 0);
    CHECK_INT(wst.st_mode & 07777, 0600);
    accounts_close(b);
    accounts_close(a);

    REQUIRE(accounts_open(dir, &a) == 0);
    CHECK_INT(accounts_check_login(a, "u@example.test", "pw one"), 0);
    accounts_close(a);

    struct stat st;
    snprintf(path, sizeof path, "%s/outpost.db", dir);
    REQUIRE(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0600);
}

TEST(accounts_creates_datadir)
{
    char dir[512];
    struct accounts *a = NULL;
    snprintf(dir, sizeof dir, "%s/new/data", test_tmpdir());
    REQUIRE(accounts_open(dir, &a) == 0);
    char list[16] = "";
    CHECK_INT(accounts_list(a, collect, list), 0);
    accounts_close(a);
    CHECK_INT(accounts_open(NULL, &a), -EINVAL);
}

TEST(accounts_newer_schema_refused)
{
    const char *dir = test_tmpdir();
    char cmd[700];
    struct accounts *a = NULL;
    REQUIRE(accounts_open(dir, &a) == 0);
    accounts_close(a);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('%s/outpost.db');"
             " c.execute('PRAGMA user_version=99'); c.commit()\"", dir);
    if (system(cmd) != 0)
        return;    /* no python3 sqlite3 here: nothing to check */
    a = NULL;
    CHECK(accounts_open(dir, &a) < 0);
    CHECK(a == NULL);
}
