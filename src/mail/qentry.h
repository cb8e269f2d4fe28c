/*
 * qentry.h - the text form of one queue entry's envelope and state (the
 * <id>.env file of the mail queue, see queue.c).
 *
 * One line per field, "key value", in a fixed order, then "end":
 *
 *   outpost-queue 1
 *   arrival <unix time>          next <unix time>       attempts <n>
 *   warned 0|1                   ret default|full|hdrs
 *   body 7bit|8bit               smtputf8 0|1
 *   sender <t>                   envid <t> (optional)   client <t>
 *   rcpt <pending|delivered|failed> <notify> <addr t> <orcpt t> <last attempt> <remote-mta t> <diag t>
 *   ...
 *   end
 *
 * (each on its own line). A token <t> is the value with every byte outside
 * '!'..'~' and every '%' written as %XX; the empty value is "%". So a value
 * never contains a space or a line end, whatever the peer sent. The final
 * "end" line tells a complete file from a cut one. qentry_parse() is a pure
 * function over (pointer, length) and accepts exactly what
 * qentry_format() writes (fuzzed: tests/fuzz/fuzz_queue.c).
 */
#ifndef OP_MAIL_QENTRY_H
#define OP_MAIL_QENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "mail/queue.h"

#define QENTRY_MTA_MAX 256
#define QENTRY_ENVID_MAX 101         /* RFC 3461 section 4.4: 100 characters */
#define QENTRY_RCPTS_MAX 100000

struct qentry_rcpt {
    struct queue_rcpt_status s;      /* s.r.local is always false here */
    int64_t last_attempt;            /* 0 = never tried */
    char remote_mta[QENTRY_MTA_MAX]; /* who gave the last answer, or "" */
};

struct qentry {
    int64_t arrival, next_attempt;
    unsigned attempts;
    bool warned;                     /* the NOTIFY=DELAY report went out */
    enum queue_ret ret;
    bool body_8bit, smtputf8;
    char sender[ADDRESS_MAX];
    bool has_envid;
    char envid[QENTRY_ENVID_MAX];
    char client[64];
    struct qentry_rcpt *rcpts;       /* malloc'ed */
    size_t nrcpts;
};

/* Parse p[0 .. n). 0, OP_E_SYNTAX, OP_E_TOOLONG or -ENOMEM; on success
 * qentry_free() releases e. On failure e owns nothing. */
int  qentry_parse(const char *p, size_t n, struct qentry *e);
/* Append the text form of e to out. 0 or -ENOMEM. */
int  qentry_format(const struct qentry *e, struct buf *out);
void qentry_free(struct qentry *e);

#endif
