/* The unit-test runner: see test.h. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static struct test_case *g_tests, **g_tail = &g_tests;
int test_current_failed;
static char g_tmproot[256];
static int g_tmpn;

void test_register(struct test_case *t)
{
    *g_tail = t;
    g_tail = &t->next;
}

void test_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, expr);
    test_current_failed = 1;
}

void pathf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

const char *test_tmpdir(void)
{
    static char path[300];
    if (!g_tmproot[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(g_tmproot, sizeof g_tmproot, "%s/outpost-unit-XXXXXX", t ? t : "/tmp");
        if (!mkdtemp(g_tmproot)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    snprintf(path, sizeof path, "%s/%d", g_tmproot, ++g_tmpn);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0)
        exit(1);
    return path;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (struct test_case *t = g_tests; t; t = t->next) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        test_current_failed = 0;
        t->fn();
        if (test_current_failed) {
            failed++;
            printf("FAIL %s\n", t->name);
        } else {
            passed++;
            printf("ok   %s\n", t->name);
        }
        fflush(stdout);
    }
    if (g_tmproot[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmproot);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmproot);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
