/*
 * buf.h - the one byte buffer type.
 *
 * A buf holds bytes in data[off .. len). Appending grows it (doubling); reading
 * from the front advances off, and the consumed prefix is reclaimed lazily when
 * appending would otherwise have to grow. Callers read the fields through the
 * accessors below; only this module changes them.
 *
 * A buf that has never had bytes appended owns no memory, so idle connections
 * with empty buffers cost nothing; buf_shrink() gives memory back after bursts.
 */
#ifndef OP_BASE_BUF_H
#define OP_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char  *data;
    size_t off;   /* first unread byte */
    size_t len;   /* one past the last byte */
    size_t cap;   /* allocated size */
};

#define BUF_INIT {0, 0, 0, 0}

static inline const char *buf_ptr(const struct buf *b) { return b->data ? b->data + b->off : ""; }
static inline size_t      buf_len(const struct buf *b) { return b->len - b->off; }

void buf_free(struct buf *b);
void buf_clear(struct buf *b);             /* empty it, keep the memory */
void buf_shrink(struct buf *b);            /* release memory if empty */

/* Make room for n more bytes; returns pointer to write at, or NULL on ENOMEM.
 * After writing k <= n bytes there, call buf_commit(b, k). */
char *buf_reserve(struct buf *b, size_t n);
void  buf_commit(struct buf *b, size_t n);

int  buf_append(struct buf *b, const void *p, size_t n);   /* 0 or -ENOMEM */
int  buf_puts(struct buf *b, const char *s);
int  buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int  buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_consume(struct buf *b, size_t n);                 /* drop n bytes from the front */

/* NUL-terminated view (appends a NUL past len without counting it); NULL on ENOMEM. */
const char *buf_cstr(struct buf *b);

#endif
