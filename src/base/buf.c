#include "base/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

void buf_clear(struct buf *b)
{
    b->off = b->len = 0;
}

void buf_shrink(struct buf *b)
{
    if (buf_len(b) == 0)
        buf_free(b);
}

char *buf_reserve(struct buf *b, size_t n)
{
    /* A buffer without memory allocates even for n == 0, so that NULL
     * always means ENOMEM (and no offset is ever applied to NULL). */
    if (b->data && b->cap - b->len >= n)
        return b->data + b->len;
    /* Reclaim the consumed prefix before growing. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return b->data + b->len;
    }
    size_t need = b->len + n;
    if (need < b->len)
        return NULL;                      /* overflow */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > (size_t)-1 / 2)
            return NULL;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return NULL;
    b->data = p;
    b->cap = cap;
    return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    char *w = buf_reserve(b, n);
    if (!w)
        return -ENOMEM;
    memcpy(w, p, n);
    b->len += n;
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof tmp)
        return buf_append(b, tmp, (size_t)n);
    char *w = buf_reserve(b, (size_t)n + 1);
    if (!w)
        return -ENOMEM;
    vsnprintf(w, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= buf_len(b)) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
}

const char *buf_cstr(struct buf *b)
{
    char *w = buf_reserve(b, 1);
    if (!w)
        return NULL;
    *w = '\0';
    return b->data + b->off;
}
