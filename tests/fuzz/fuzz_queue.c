/*
 * fuzz_queue.c - libFuzzer target for the queue entry reader (mail/qentry.c:
 * the <id>.env files, which a crash, a full disk or a hand edit may have
 * left in any state) and the small pure readers of mail/dsn.c.
 *
 * Checked besides memory safety:
 *   - what qentry_parse() accepts, qentry_format() writes back, and that
 *     text parses again to the same entry and formats to the same bytes
 *     (a rewrite never changes or loses a field);
 *   - a status taken from a reply is "c.s.d" with c one of 2, 4, 5;
 *   - the header length never exceeds the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mail/dsn.h"
#include "mail/qentry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_entry(const struct qentry *a, const struct qentry *b)
{
    if (a->arrival != b->arrival || a->next_attempt != b->next_attempt ||
        a->attempts != b->attempts || a->warned != b->warned || a->ret != b->ret ||
        a->body_8bit != b->body_8bit || a->smtputf8 != b->smtputf8 ||
        strcmp(a->sender, b->sender) != 0 || a->has_envid != b->has_envid ||
        strcmp(a->envid, b->envid) != 0 || strcmp(a->client, b->client) != 0 ||
        a->nrcpts != b->nrcpts)
        abort();
    for (size_t i = 0; i < a->nrcpts; i++) {
        const struct qentry_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
        if (x->s.state != y->s.state || x->s.r.notify != y->s.r.notify ||
            strcmp(x->s.r.addr, y->s.r.addr) != 0 || strcmp(x->s.r.orcpt, y->s.r.orcpt) != 0 ||
            x->last_attempt != y->last_attempt || strcmp(x->remote_mta, y->remote_mta) != 0 ||
            strcmp(x->s.last_error, y->s.last_error) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct qentry e;
    if (qentry_parse(p, size, &e) == 0) {
        struct buf one = BUF_INIT, two = BUF_INIT;
        if (qentry_format(&e, &one) != 0)
            abort();
        struct qentry again;
        if (qentry_parse(buf_ptr(&one), buf_len(&one), &again) != 0)
            abort();
        same_entry(&e, &again);
        if (qentry_format(&again, &two) != 0 || buf_len(&one) != buf_len(&two) ||
            memcmp(buf_ptr(&one), buf_ptr(&two), buf_len(&one)) != 0)
            abort();
        qentry_free(&again);
        qentry_free(&e);
        buf_free(&one);
        buf_free(&two);
    }
    char s[1024];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    char st[16];
    if (dsn_reply_status(s, st)) {
        if ((st[0] != '2' && st[0] != '4' && st[0] != '5') || st[1] != '.' || strlen(st) > 9)
            abort();
    }
    if (dsn_header_len(p, size) > size)
        abort();
    return 0;
}
