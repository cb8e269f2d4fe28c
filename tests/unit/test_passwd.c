/* Unit tests for auth/passwd: yescrypt hashing and verification. */
#include "test.h"

#include <crypt.h>
#include <string.h>

#include "auth/passwd.h"
#include "base/err.h"

TEST(passwd_roundtrip)
{
    char h[PASSWD_HASH_MAX];
    REQUIRE(passwd_hash("correct horse", h, sizeof h) == 0);
    CHECK(strncmp(h, "$y$", 3) == 0);
    CHECK(passwd_verify("correct horse", h));
    CHECK(!passwd_verify("correct horsf", h));
    CHECK(!passwd_verify("correct hors", h));
    CHECK(!passwd_verify("", h));
    CHECK(!passwd_verify(NULL, h));
}

TEST(passwd_salted)
{
    char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];
    REQUIRE(passwd_hash("same", h1, sizeof h1) == 0);
    REQUIRE(passwd_hash("same", h2, sizeof h2) == 0);
    CHECK(strcmp(h1, h2) != 0);
    CHECK(passwd_verify("same", h1));
    CHECK(passwd_verify("same", h2));
}

TEST(passwd_empty_and_long)
{
    char h[PASSWD_HASH_MAX];
    char longpw[300];
    REQUIRE(passwd_hash("", h, sizeof h) == 0);
    CHECK(passwd_verify("", h));
    CHECK(!passwd_verify("x", h));
    memset(longpw, 'q', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    REQUIRE(passwd_hash(longpw, h, sizeof h) == 0);
    CHECK(passwd_verify(longpw, h));
    longpw[298] = 'r';
    CHECK(!passwd_verify(longpw, h));
}

TEST(passwd_bad_hashes)
{
    char h[PASSWD_HASH_MAX];
    REQUIRE(passwd_hash("pw", h, sizeof h) == 0);
    char locked[PASSWD_HASH_MAX + 1] = "!";
    strcat(locked, h);
    CHECK(!passwd_verify("pw", locked));
    CHECK(!passwd_verify("pw", "*"));
    CHECK(!passwd_verify("pw", "*0"));
    CHECK(!passwd_verify("pw", ""));
    CHECK(!passwd_verify("pw", NULL));
    CHECK(!passwd_verify("pw", "$y$"));
    CHECK(!passwd_verify("pw", "$y$j9T$"));
    CHECK(!passwd_verify("pw", "garbage$$"));
    /* A truncated hash is a different hash. */
    char cut[PASSWD_HASH_MAX];
    strcpy(cut, h);
    cut[strlen(cut) - 1] = '\0';
    CHECK(!passwd_verify("pw", cut));
}

TEST(passwd_small_buffer)
{
    char h[20];
    CHECK_INT(passwd_hash("pw", h, sizeof h), -ENOSPC);
    CHECK_STR(h, "");
    CHECK_INT(passwd_hash("pw", h, 0), -ENOSPC);
    CHECK_INT(passwd_hash(NULL, h, sizeof h), -EINVAL);
}

TEST(passwd_dummy)
{
    /* Only that it runs (twice: the second time without computing the hash). */
    passwd_verify_dummy("anything");
    passwd_verify_dummy(NULL);
    passwd_dummy_init();
}

TEST(passwd_saslprep_equivalent_forms_match)
{
    char hash[PASSWD_HASH_MAX];
    /* RFC 4013 section 3 examples: SOFT HYPHEN is mapped to nothing,
     * ROMAN NUMERAL NINE to "IX" (NFKC), NO-BREAK SPACE to SPACE. */
    REQUIRE(passwd_hash("I\xc2\xad" "X", hash, sizeof hash) == 0);
    CHECK(passwd_verify("IX", hash));
    CHECK(passwd_verify("\xe2\x85\xa8", hash));
    REQUIRE(passwd_hash("open\xc2\xa0sesame", hash, sizeof hash) == 0);
    CHECK(passwd_verify("open sesame", hash));
    CHECK(!passwd_verify("opensesame", hash));
    /* Composed and decomposed forms of an accented letter. */
    REQUIRE(passwd_hash("caf\xc3\xa9", hash, sizeof hash) == 0);
    CHECK(passwd_verify("cafe\xcc\x81", hash));
}

TEST(passwd_saslprep_leaves_ascii_and_refused_text_alone)
{
    /* A hash made before preparation existed (crypt of the raw bytes) still
     * verifies: printable ASCII is not changed. */
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    REQUIRE(crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof salt));
    const char *h = crypt_rn("Plain ASCII pw 1!", salt, &cd, (int)sizeof cd);
    REQUIRE(h && h[0] == '$');
    CHECK(passwd_verify("Plain ASCII pw 1!", h));
    /* What SASLprep refuses (a control character, invalid UTF-8) is used
     * as it is, on both sides. */
    char hash[PASSWD_HASH_MAX];
    REQUIRE(passwd_hash("tab\there", hash, sizeof hash) == 0);
    CHECK(passwd_verify("tab\there", hash));
    CHECK(!passwd_verify("tab here", hash));
    REQUIRE(passwd_hash("latin1 \xe9t\xe9", hash, sizeof hash) == 0);
    CHECK(passwd_verify("latin1 \xe9t\xe9", hash));
}
