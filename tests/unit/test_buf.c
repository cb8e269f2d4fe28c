/* Unit tests for src/base/buf.c. */
#include "test.h"

#include <stdbool.h>
#include <stdlib.h>

#include "base/buf.h"

TEST(buf_empty_owns_nothing)
{
    struct buf b = BUF_INIT;
    CHECK(b.data == NULL);
    CHECK_INT(buf_len(&b), 0);
    CHECK_STR(buf_ptr(&b), "");
    buf_consume(&b, 10);                   /* harmless on an empty buffer */
    CHECK_INT(buf_len(&b), 0);
    buf_shrink(&b);
    CHECK(b.data == NULL);
    CHECK_INT(buf_append(&b, "x", 0), 0);  /* appending nothing allocates nothing */
    CHECK(b.data == NULL);
    buf_free(&b);
    buf_free(&b);                          /* twice is fine */
}

TEST(buf_append_and_consume)
{
    struct buf b = BUF_INIT;
    REQUIRE(buf_append(&b, "hello ", 6) == 0);
    REQUIRE(buf_puts(&b, "world") == 0);
    CHECK_INT(buf_len(&b), 11);
    CHECK(memcmp(buf_ptr(&b), "hello world", 11) == 0);
    buf_consume(&b, 6);
    CHECK_INT(buf_len(&b), 5);
    CHECK(memcmp(buf_ptr(&b), "world", 5) == 0);
    CHECK_STR(buf_cstr(&b), "world");
    CHECK_INT(buf_len(&b), 5);             /* the NUL is not counted */
    buf_consume(&b, 5);
    CHECK_INT(buf_len(&b), 0);
    CHECK(b.data != NULL);                 /* memory kept until shrink */
    buf_shrink(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.cap, 0);
}

TEST(buf_consume_more_than_held)
{
    struct buf b = BUF_INIT;
    REQUIRE(buf_puts(&b, "abc") == 0);
    buf_consume(&b, 100);
    CHECK_INT(buf_len(&b), 0);
    REQUIRE(buf_puts(&b, "de") == 0);
    CHECK_STR(buf_cstr(&b), "de");
    buf_free(&b);
}

TEST(buf_grows_and_keeps_content)
{
    struct buf b = BUF_INIT;
    /* Append 1 MiB in odd pieces while consuming from the front, and check
     * the content byte for byte (the prefix reclaim must not lose data). */
    size_t total = 0, consumed = 0;
    char piece[333];
    while (total < (1u << 20)) {
        for (size_t i = 0; i < sizeof piece; i++)
            piece[i] = (char)((total + i) % 251);
        REQUIRE(buf_append(&b, piece, sizeof piece) == 0);
        total += sizeof piece;
        if (total % 3 == 0) {
            buf_consume(&b, 100);
            consumed += 100;
        }
    }
    CHECK_INT(buf_len(&b), total - consumed);
    const unsigned char *p = (const unsigned char *)buf_ptr(&b);
    bool same = true;
    for (size_t i = 0; i < buf_len(&b); i++)
        if (p[i] != (consumed + i) % 251)
            same = false;
    CHECK(same);
    CHECK(b.cap >= b.len);
    buf_free(&b);
}

TEST(buf_reclaims_prefix_before_growing)
{
    struct buf b = BUF_INIT;
    char x[200];
    memset(x, 'x', sizeof x);
    REQUIRE(buf_append(&b, x, sizeof x) == 0);
    size_t cap = b.cap;
    buf_consume(&b, 150);
    /* 50 held + 150 new fits the first allocation once the prefix goes. */
    REQUIRE(buf_append(&b, x, 150) == 0);
    CHECK_INT(b.cap, cap);
    CHECK_INT(b.off, 0);
    CHECK_INT(buf_len(&b), 200);
    buf_free(&b);
}

TEST(buf_reserve_commit)
{
    struct buf b = BUF_INIT;
    char *w = buf_reserve(&b, 10000);
    REQUIRE(w != NULL);
    memcpy(w, "abc", 3);
    buf_commit(&b, 3);
    CHECK_INT(buf_len(&b), 3);
    CHECK(b.cap - b.len >= 9997);
    w = buf_reserve(&b, 2);
    REQUIRE(w != NULL);
    memcpy(w, "de", 2);
    buf_commit(&b, 2);
    CHECK_STR(buf_cstr(&b), "abcde");
    /* Absurd sizes fail cleanly instead of wrapping around. */
    CHECK(buf_reserve(&b, (size_t)-1) == NULL);
    CHECK(buf_reserve(&b, (size_t)-1 / 2 + 2) == NULL);
    CHECK_STR(buf_cstr(&b), "abcde");
    buf_free(&b);
}

TEST(buf_reserve_zero)
{
    /* Asking for no room is not an allocation failure, even when the buffer
     * owns no memory yet. */
    struct buf b = BUF_INIT;
    CHECK(buf_reserve(&b, 0) != NULL);
    buf_commit(&b, 0);
    CHECK_INT(buf_len(&b), 0);
    buf_free(&b);
}

TEST(buf_printf_small_and_large)
{
    struct buf b = BUF_INIT;
    REQUIRE(buf_printf(&b, "%d-%s", 42, "x") == 0);
    CHECK_STR(buf_cstr(&b), "42-x");
    buf_clear(&b);
    CHECK_INT(buf_len(&b), 0);

    /* Larger than the internal 256-byte scratch: the second path. */
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    REQUIRE(buf_printf(&b, "<%s>", big) == 0);
    CHECK_INT(buf_len(&b), sizeof big + 1);
    const char *s = buf_cstr(&b);
    REQUIRE(s != NULL);
    CHECK(s[0] == '<' && s[sizeof big] == '>' && s[1] == 'q' && s[sizeof big - 1] == 'q');
    CHECK_INT(strlen(s), sizeof big + 1);

    /* Exactly at the edges of the scratch buffer. */
    for (int n = 250; n <= 260; n++) {
        buf_clear(&b);
        REQUIRE(buf_printf(&b, "%.*s|", n, big) == 0);
        CHECK_INT(buf_len(&b), n + 1);
        CHECK(buf_cstr(&b)[n] == '|');
    }

    /* Appends after existing content, also after a consume. */
    buf_clear(&b);
    REQUIRE(buf_puts(&b, "head:") == 0);
    buf_consume(&b, 2);
    REQUIRE(buf_printf(&b, "%s", big) == 0);
    CHECK_INT(buf_len(&b), 3 + sizeof big - 1);
    CHECK(memcmp(buf_ptr(&b), "ad:qqq", 6) == 0);
    buf_free(&b);
}

TEST(buf_cstr_views)
{
    struct buf b = BUF_INIT;
    const char *s = buf_cstr(&b);
    REQUIRE(s != NULL);
    CHECK_STR(s, "");
    CHECK_INT(buf_len(&b), 0);
    REQUIRE(buf_append(&b, "a\0b", 3) == 0);
    CHECK_INT(buf_len(&b), 3);
    s = buf_cstr(&b);
    CHECK(s[0] == 'a' && s[1] == '\0' && s[2] == 'b' && s[3] == '\0');
    /* buf_cstr twice does not add bytes. */
    buf_cstr(&b);
    CHECK_INT(buf_len(&b), 3);
    buf_free(&b);
}

TEST(buf_shrink_only_when_empty)
{
    struct buf b = BUF_INIT;
    REQUIRE(buf_puts(&b, "keep") == 0);
    buf_shrink(&b);
    CHECK(b.data != NULL);
    CHECK_STR(buf_cstr(&b), "keep");
    buf_clear(&b);
    buf_shrink(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.off + b.len + b.cap, 0);
    REQUIRE(buf_puts(&b, "again") == 0);   /* usable after shrink */
    CHECK_STR(buf_cstr(&b), "again");
    buf_free(&b);
}
