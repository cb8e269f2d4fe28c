/*
 * err.h - the one error space of outpost.
 *
 * Every function that can fail returns an int: 0 (or a positive count) on
 * success, a negative code on failure. System errors are -errno; outpost's own
 * conditions have codes below OP_E_BASE so they never collide with errno.
 * op_strerror() turns any of them into a sentence for logs.
 */
#ifndef OP_BASE_ERR_H
#define OP_BASE_ERR_H

#include <errno.h>

enum {
    OP_E_BASE = -10000,
    OP_E_SYNTAX,      /* input does not follow the grammar */
    OP_E_TOOLONG,     /* a line, name or value exceeds its limit */
    OP_E_NOTFOUND,    /* no such user, message, key */
    OP_E_EXISTS,      /* already there */
    OP_E_LOCKED,      /* held by another session */
    OP_E_AUTH,        /* authentication failed */
    OP_E_CONFIG,      /* configuration error (details already reported) */
    OP_E_TLS,         /* TLS library error */
    OP_E_DB,          /* database error */
    OP_E_CLOSED,      /* peer closed the connection */
    OP_E_LIMIT,       /* a configured limit was reached */
};

/* A sentence describing code (negative errno or OP_E_*). Never NULL. */
const char *op_strerror(int code);

#endif
