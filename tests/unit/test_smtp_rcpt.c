/* Unit tests for src/smtp/rcpt.c: the alias / catch-all lists and the
 * recipient decision against a real accounts database. */
#include "test.h"

#include <stdlib.h>

#include "auth/accounts.h"
#include "base/err.h"
#include "smtp/server.h"
#include "smtp/session.h"

TEST(smtp_map_parse_lists)
{
    struct smtp_map *m;
    size_t n;
    char err[200];
    REQUIRE(smtp_map_parse(" Sales@Example.TEST = bob@example.test ,, x@y.example=z@y.example ",
                           false, &m, &n, err, sizeof err) == 0);
    REQUIRE(n == 2);
    CHECK_STR(m[0].key, "sales@example.test");
    CHECK_STR(m[0].target, "bob@example.test");
    CHECK_STR(m[1].key, "x@y.example");
    smtp_map_free(m, n);
    REQUIRE(smtp_map_parse("Example.Test = alice@example.test", true, &m, &n, err, sizeof err) == 0);
    REQUIRE(n == 1);
    CHECK_STR(m[0].key, "example.test");
    smtp_map_free(m, n);
    REQUIRE(smtp_map_parse("", false, &m, &n, err, sizeof err) == 0);
    CHECK(n == 0);
    CHECK_INT(smtp_map_parse("a@b.example", false, &m, &n, err, sizeof err), OP_E_SYNTAX);
    CHECK(strstr(err, "KEY = ADDRESS") != NULL);
    CHECK_INT(smtp_map_parse("a@b.example = not an address", false, &m, &n, err, sizeof err), OP_E_SYNTAX);
    CHECK_INT(smtp_map_parse("bad..domain = a@b.example", true, &m, &n, err, sizeof err), OP_E_SYNTAX);
    CHECK_INT(smtp_map_parse("x = a@b.example", false, &m, &n, err, sizeof err), OP_E_SYNTAX);
}

TEST(smtp_rcpt_resolve_order)
{
    const char *dir = test_tmpdir();
    struct accounts *a;
    REQUIRE(accounts_open(dir, &a) == 0);
    REQUIRE(accounts_add(a, "alice@example.test", "$y$j9T$x$y") == 0);
    REQUIRE(accounts_add(a, "bob@example.test", "$y$j9T$x$y") == 0);
    REQUIRE(accounts_add(a, "carol@other.example", "$y$j9T$x$y") == 0);
    accounts_close(a);

    struct smtp_live l;
    memset(&l, 0, sizeof l);
    l.datadir = (char *)dir;
    l.default_domain = (char *)"example.test";
    char err[200];
    REQUIRE(smtp_map_parse("sales@example.test = bob@example.test, bob@example.test = alice@example.test",
                           false, &l.aliases, &l.naliases, err, sizeof err) == 0);
    char out[ADDRESS_MAX];
    CHECK_INT(smtp_rcpt_resolve(&l, "Alice@Example.Test", out), SMTP_RCPT_LOCAL);
    CHECK_STR(out, "alice@example.test");
    CHECK_INT(smtp_rcpt_resolve(&l, "sales@example.test", out), SMTP_RCPT_LOCAL);
    CHECK_STR(out, "bob@example.test");
    /* an alias wins over the account of the same name */
    CHECK_INT(smtp_rcpt_resolve(&l, "bob@example.test", out), SMTP_RCPT_LOCAL);
    CHECK_STR(out, "alice@example.test");
    CHECK_INT(smtp_rcpt_resolve(&l, "nobody@example.test", out), SMTP_RCPT_UNKNOWN);
    CHECK_INT(smtp_rcpt_resolve(&l, "\"odd one\"@example.test", out), SMTP_RCPT_UNKNOWN);
    /* the domain of an existing account is local too (no local_domains set) */
    CHECK_INT(smtp_rcpt_resolve(&l, "carol@other.example", out), SMTP_RCPT_LOCAL);
    CHECK_INT(smtp_rcpt_resolve(&l, "dave@other.example", out), SMTP_RCPT_UNKNOWN);
    CHECK_INT(smtp_rcpt_resolve(&l, "x@elsewhere.example", out), SMTP_RCPT_FOREIGN);
    CHECK_INT(smtp_rcpt_resolve(&l, "x@[192.0.2.1]", out), SMTP_RCPT_FOREIGN);
    /* a remembered local answer */
    CHECK(smtp_rcpt_cached(&l, "Alice@Example.Test", out));
    CHECK_STR(out, "alice@example.test");
    CHECK(!smtp_rcpt_cached(&l, "nobody@example.test", out));
    /* catch-all; configured local domains replace the account scan */
    REQUIRE(smtp_map_parse("example.test = alice@example.test", true, &l.catch_all,
                           &l.ncatch_all, err, sizeof err) == 0);
    CHECK_INT(smtp_rcpt_resolve(&l, "nobody@example.test", out), SMTP_RCPT_LOCAL);
    CHECK_STR(out, "alice@example.test");
    CHECK_INT(smtp_rcpt_resolve(&l, "\"odd one\"@example.test", out), SMTP_RCPT_LOCAL);
    char *doms[] = {(char *)"listed.example"};
    l.domains = doms;
    l.ndomains = 1;
    CHECK_INT(smtp_rcpt_resolve(&l, "carol@other.example", out), SMTP_RCPT_FOREIGN);
    CHECK_INT(smtp_rcpt_resolve(&l, "carol@listed.example", out), SMTP_RCPT_UNKNOWN);
    /* a domain with a catch-all is local, listed or not */
    CHECK_INT(smtp_rcpt_resolve(&l, "nobody@example.test", out), SMTP_RCPT_LOCAL);
    smtp_map_free(l.catch_all, l.ncatch_all);
    REQUIRE(smtp_map_parse("shop.example = alice@example.test", true, &l.catch_all,
                           &l.ncatch_all, err, sizeof err) == 0);
    CHECK_INT(smtp_rcpt_resolve(&l, "anyone@Shop.Example", out), SMTP_RCPT_LOCAL);
    CHECK_STR(out, "alice@example.test");
    l.domains = NULL;
    l.ndomains = 0;
    CHECK_INT(smtp_rcpt_resolve(&l, "anyone@shop.example", out), SMTP_RCPT_LOCAL);
    CHECK_INT(smtp_rcpt_resolve(&l, "x@elsewhere.example", out), SMTP_RCPT_FOREIGN);
    smtp_map_free(l.aliases, l.naliases);
    smtp_map_free(l.catch_all, l.ncatch_all);
}

TEST(smtp_sender_owned_by_the_user)
{
    const char *dir = test_tmpdir();
    struct accounts *a;
    REQUIRE(accounts_open(dir, &a) == 0);
    REQUIRE(accounts_add(a, "alice@example.test", "$y$j9T$x$y") == 0);
    REQUIRE(accounts_add(a, "bob@example.test", "$y$j9T$x$y") == 0);
    accounts_close(a);

    struct smtp_live l;
    memset(&l, 0, sizeof l);
    l.datadir = (char *)dir;
    l.default_domain = (char *)"example.test";
    char err[200];
    REQUIRE(smtp_map_parse("sales@example.test = alice@example.test", false, &l.aliases,
                           &l.naliases, err, sizeof err) == 0);
    REQUIRE(smtp_map_parse("shop.example = alice@example.test", true, &l.catch_all,
                           &l.ncatch_all, err, sizeof err) == 0);
    char *doms[] = {(char *)"example.test", (char *)"shop.example"};
    l.domains = doms;
    l.ndomains = 2;
    const char *alice = "alice@example.test";
    /* her own address, in any case: known without the database */
    CHECK_INT(smtp_sender_quick(&l, alice, "Alice@EXAMPLE.test"), 1);
    CHECK_INT(smtp_sender_owned(&l, alice, "alice@example.test"), 1);
    /* an alias and a catch-all that deliver to her */
    CHECK_INT(smtp_sender_owned(&l, alice, "sales@example.test"), 1);
    CHECK_INT(smtp_sender_owned(&l, alice, "anything@shop.example"), 1);
    /* someone else's account, an unknown local user, a foreign domain */
    CHECK_INT(smtp_sender_owned(&l, alice, "bob@example.test"), 0);
    CHECK_INT(smtp_sender_owned(&l, alice, "nobody@example.test"), 0);
    CHECK_INT(smtp_sender_owned(&l, alice, "alice@elsewhere.example"), 0);
    CHECK_INT(smtp_sender_owned(&l, alice, "alice@[127.0.0.1]"), 0);
    /* bob's alias is not alice's, and the remembered answer says so too */
    CHECK_INT(smtp_sender_owned(&l, "bob@example.test", "sales@example.test"), 0);
    CHECK_INT(smtp_sender_quick(&l, "bob@example.test", "sales@example.test"), 0);
    smtp_map_free(l.aliases, l.naliases);
    smtp_map_free(l.catch_all, l.ncatch_all);
}

TEST(smtp_domain_local_follows_accounts_and_settings)
{
    const char *dir = test_tmpdir();
    struct accounts *a;
    REQUIRE(accounts_open(dir, &a) == 0);
    REQUIRE(accounts_add(a, "alice@example.test", "$y$j9T$x$y") == 0);
    accounts_close(a);
    CHECK(smtp_domain_local("example.test") < 0);       /* not configured yet */
    struct smtp_config cfg = {.datadir = dir, .hostname = "mx.example.test",
                              .default_domain = "example.test", .local_domains = ""};
    REQUIRE(smtp_configure(&cfg) == 0);
    CHECK_INT(smtp_domain_local("Example.TEST"), 1);
    CHECK_INT(smtp_domain_local("later.example"), 0);
    CHECK_INT(smtp_domain_local("[127.0.0.1]"), 0);
    /* an account added afterwards makes its domain local at once */
    REQUIRE(accounts_open(dir, &a) == 0);
    REQUIRE(accounts_add(a, "erin@later.example", "$y$j9T$x$y") == 0);
    accounts_close(a);
    CHECK_INT(smtp_domain_local("later.example"), 1);
    /* new settings: only the listed domains (and the default one) */
    cfg.local_domains = "listed.example";
    REQUIRE(smtp_configure(&cfg) == 0);
    CHECK_INT(smtp_domain_local("later.example"), 0);
    CHECK_INT(smtp_domain_local("listed.example"), 1);
    smtp_cleanup();
}
