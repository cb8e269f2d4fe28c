/* Unit tests for mail/mstore: mailbox paths stay inside mail/, and the
 * session lock excludes a second session. */
#include <errno.h>

#include "base/err.h"
#include "mail/maildir.h"
#include "mail/mstore.h"
#include "test.h"

TEST(mstore_root_layout)
{
    char out[4096];
    CHECK_INT(mstore_root("/var/outpost", "alice@example.test", out, sizeof out), 0);
    CHECK_STR(out, "/var/outpost/mail/example.test/alice");
    CHECK_INT(mstore_root("d", "a.b+c_d-e@mx.example.test", out, sizeof out), 0);
    CHECK_STR(out, "d/mail/mx.example.test/a.b+c_d-e");
    char tiny[16];
    CHECK_INT(mstore_root("/var/outpost", "alice@example.test", tiny, sizeof tiny),
              -ENAMETOOLONG);
}

TEST(mstore_root_refuses_escapes)
{
    static const char *const bad[] = {
        "../x@example.test", "a/b@example.test", ".hidden@example.test",
        "a..b@example.test", "alice@..",          "alice@../..",
        "alice@a/b",         "alice@.example",    "alice@",
        "@example.test",     "alice",             "a@b@example.test",
        "al\nice@example.test", "alice@exa\tmple", "al ice@example.test",
        "a\\b@example.test", "al\x7f@example.test", "\xc3\xa9@example.test",
        "",
    };
    char out[4096];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = mstore_root("/data", bad[i], out, sizeof out);
        if (r != OP_E_SYNTAX)
            fprintf(stderr, "    accepted address #%zu\n", i);
        CHECK_INT(r, OP_E_SYNTAX);
    }
}

TEST(mstore_lock_excludes_second_session)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/box", test_tmpdir());
    REQUIRE(maildir_create(root) == 0);
    int a = mstore_lock(root);
    REQUIRE(a >= 0);
    CHECK_INT(mstore_lock(root), OP_E_LOCKED);
    mstore_unlock(a);
    int b = mstore_lock(root);
    CHECK(b >= 0);
    mstore_unlock(b);
    /* No mailbox there: the error says so. */
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nothing", root);
    CHECK_INT(mstore_lock(missing), -ENOENT);
}
