#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int random_bytes(void *p, size_t n)
{
    unsigned char *c = p;
    while (n > 0) {
        ssize_t r = getrandom(c, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

uint32_t random_below(uint32_t bound)
{
    if (bound < 2)
        return 0;
    /* Rejection sampling avoids the modulo bias. */
    uint32_t limit = UINT32_MAX - UINT32_MAX % bound;
    for (;;) {
        uint32_t v;
        if (random_bytes(&v, sizeof v) < 0)
            abort();
        if (v < limit)
            return v % bound;
    }
}

bool str_ieq(const char *a, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (wl != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)w[i];
        if (x >= 'a' && x <= 'z') x -= 32;
        if (y >= 'a' && y <= 'z') y -= 32;
        if (x != y)
            return false;
    }
    return true;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fputs("outpost: out of memory\n", stderr);
        abort();
    }
    return d;
}

bool str_copy(char *dst, size_t dstlen, const char *s)
{
    size_t n = strlen(s);
    if (dstlen == 0)
        return false;
    if (n >= dstlen) {
        memcpy(dst, s, dstlen - 1);
        dst[dstlen - 1] = '\0';
        return false;
    }
    memcpy(dst, s, n + 1);
    return true;
}
