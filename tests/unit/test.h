/*
 * test.h - the unit-test harness: TEST(name) { ... } registers a test;
 * CHECK(cond) records a failure and goes on; REQUIRE(cond) stops the test.
 * The runner (tests/unit/main.c) runs every registered test, or those whose
 * name contains argv[1], and ends with the line "N passed, N failed".
 */
#ifndef OP_TEST_H
#define OP_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
};

void test_register(struct test_case *t);
void test_fail(const char *file, int line, const char *expr);
extern int test_current_failed;

#define TEST(name)                                                        \
    static void test_##name(void);                                        \
    static struct test_case test_case_##name = {#name, test_##name, 0};   \
    __attribute__((constructor)) static void test_reg_##name(void)        \
    {                                                                     \
        test_register(&test_case_##name);                                 \
    }                                                                     \
    static void test_##name(void)

#define CHECK(cond) \
    do { if (!(cond)) test_fail(__FILE__, __LINE__, #cond); } while (0)
#define REQUIRE(cond) \
    do { if (!(cond)) { test_fail(__FILE__, __LINE__, #cond); return; } } while (0)
#define CHECK_STR(a, b)                                                           \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                  \
            fprintf(stderr, "    got \"%s\", want \"%s\"\n", a_ ? a_ : "(null)",  \
                    b_ ? b_ : "(null)");                                          \
            test_fail(__FILE__, __LINE__, #a " == " #b);                          \
        }                                                                         \
    } while (0)
#define CHECK_INT(a, b)                                                              \
    do {                                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);                          \
        if (a_ != b_) {                                                              \
            fprintf(stderr, "    got %lld, want %lld\n", a_, b_);                    \
            test_fail(__FILE__, __LINE__, #a " == " #b);                             \
        }                                                                            \
    } while (0)

/* A fresh empty directory under $TMPDIR for this test; removed at exit. */
const char *test_tmpdir(void);

/* snprintf for building test paths (they always fit). */
void pathf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
