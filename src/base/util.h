/*
 * util.h - time, randomness and small string helpers shared by every layer.
 */
#ifndef OP_BASE_UTIL_H
#define OP_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Milliseconds on the monotonic clock. */
uint64_t clock_ms(void);

/* Fill p with n bytes from the kernel's CSPRNG; 0 or -errno. */
int random_bytes(void *p, size_t n);
/* A uniformly random integer in [0, bound). */
uint32_t random_below(uint32_t bound);

/* ASCII case-insensitive compare of a (length n) with the NUL-terminated word w. */
bool str_ieq(const char *a, size_t n, const char *w);

/* strdup that aborts on ENOMEM, for start-up paths only. */
char *xstrdup(const char *s);

/* Copy s into dst (size dstlen), always NUL-terminating; returns false if cut. */
bool str_copy(char *dst, size_t dstlen, const char *s);

#endif
