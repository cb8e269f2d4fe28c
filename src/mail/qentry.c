/*
 * qentry.c - the text form of a queue entry: writer and strict reader.
 * See qentry.h for the format.
 */
#include "mail/qentry.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define QENTRY_MAGIC "outpost-queue 1"

/* ---- writing ------------------------------------------------------------ */

static int put_token(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s[0])
        return buf_append(out, "%", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > ' ' && *p < 0x7f && *p != '%') {
            if (buf_append(out, p, 1) < 0)
                return -ENOMEM;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (buf_append(out, e, 3) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static const char *const ret_names[] = {"default", "full", "hdrs"};
static const char *const state_names[] = {"pending", "delivered", "failed"};

int qentry_format(const struct qentry *e, struct buf *out)
{
    int r = buf_printf(out, QENTRY_MAGIC "\narrival %" PRId64 "\nnext %" PRId64
                       "\nattempts %u\nwarned %d\nret %s\nbody %s\nsmtputf8 %d\nsender ",
                       e->arrival, e->next_attempt, e->attempts, e->warned ? 1 : 0,
                       ret_names[e->ret], e->body_8bit ? "8bit" : "7bit", e->smtputf8 ? 1 : 0);
    r |= put_token(out, e->sender);
    if (e->has_envid) {
        r |= buf_puts(out, "\nenvid ");
        r |= put_token(out, e->envid);
    }
    r |= buf_puts(out, "\nclient ");
    r |= put_token(out, e->client);
    r |= buf_puts(out, "\n");
    for (size_t i = 0; i < e->nrcpts && r == 0; i++) {
        const struct qentry_rcpt *q = &e->rcpts[i];
        r |= buf_printf(out, "rcpt %s %u ", state_names[q->s.state], q->s.r.notify);
        r |= put_token(out, q->s.r.addr);
        r |= buf_puts(out, " ");
        r |= put_token(out, q->s.r.orcpt);
        r |= buf_printf(out, " %" PRId64 " ", q->last_attempt);
        r |= put_token(out, q->remote_mta);
        r |= buf_puts(out, " ");
        r |= put_token(out, q->s.last_error);
        r |= buf_puts(out, "\n");
    }
    r |= buf_puts(out, "end\n");
    return r ? -ENOMEM : 0;
}

void qentry_free(struct qentry *e)
{
    free(e->rcpts);
    e->rcpts = NULL;
    e->nrcpts = 0;
}

/* ---- reading ------------------------------------------------------------ */

/* A cursor over one line's words. */
struct qline {
    const char *p, *end;
};

/* Next space-separated word of the line; false at the end of the line. */
static bool next_word(struct qline *l, const char **w, size_t *n)
{
    if (l->p >= l->end)
        return false;
    const char *s = l->p;
    const char *sp = memchr(s, ' ', (size_t)(l->end - s));
    const char *e = sp ? sp : l->end;
    if (e == s)
        return false;                   /* two spaces in a row: not ours */
    *w = s;
    *n = (size_t)(e - s);
    l->p = sp ? sp + 1 : l->end;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode token w[0 .. n) into out (size outlen, NUL-terminated). */
static int decode_token(const char *w, size_t n, char *out, size_t outlen)
{
    if (n == 1 && w[0] == '%') {
        out[0] = '\0';
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == '%') {
            if (i + 2 >= n)
                return OP_E_SYNTAX;
            int h = hexval(w[i + 1]), l = hexval(w[i + 2]);
            if (h < 0 || l < 0)
                return OP_E_SYNTAX;
            c = (unsigned char)(h * 16 + l);
            /* NUL would cut the value short: never written, never read. */
            if (c == 0)
                return OP_E_SYNTAX;
            i += 2;
        } else if (c <= ' ' || c >= 0x7f) {
            return OP_E_SYNTAX;
        }
        if (o + 1 >= outlen)
            return OP_E_TOOLONG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int word_token(struct qline *l, char *out, size_t outlen)
{
    const char *w;
    size_t n;
    if (!next_word(l, &w, &n))
        return OP_E_SYNTAX;
    return decode_token(w, n, out, outlen);
}

/* A decimal number without sign or leading zeros, at most max. */
static int word_num(struct qline *l, uint64_t max, uint64_t *v)
{
    const char *w;
    size_t n;
    if (!next_word(l, &w, &n) || n > 20 || (n > 1 && w[0] == '0'))
        return OP_E_SYNTAX;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return OP_E_SYNTAX;
        unsigned d = (unsigned)(w[i] - '0');
        if (x > (max - d) / 10)
            return OP_E_SYNTAX;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static int word_enum(struct qline *l, const char *const *names, size_t count, int *out)
{
    const char *w;
    size_t n;
    if (!next_word(l, &w, &n))
        return OP_E_SYNTAX;
    for (size_t i = 0; i < count; i++)
        if (strlen(names[i]) == n && memcmp(names[i], w, n) == 0) {
            *out = (int)i;
            return 0;
        }
    return OP_E_SYNTAX;
}

/* The next line of the file (without its LF) into l; false at the end or
 * when the last line has no LF (a cut file). */
static bool next_line(const char **p, const char *end, struct qline *l)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return false;
    l->p = *p;
    l->end = nl;
    *p = nl + 1;
    return true;
}

/* The line must start with key and a space; l then points past them. */
static bool line_key(struct qline *l, const char *key)
{
    size_t k = strlen(key);
    if ((size_t)(l->end - l->p) < k + 1 || memcmp(l->p, key, k) != 0 || l->p[k] != ' ')
        return false;
    l->p += k + 1;
    return true;
}

#define TIME_MAX ((uint64_t)1 << 40)     /* far past any real clock */

static int parse_rcpt(struct qline *l, struct qentry_rcpt *q)
{
    uint64_t notify, last;
    int st, r;
    memset(q, 0, sizeof *q);
    if ((r = word_enum(l, state_names, 3, &st)) < 0 ||
        (r = word_num(l, 15, &notify)) < 0 ||
        (r = word_token(l, q->s.r.addr, sizeof q->s.r.addr)) < 0 ||
        (r = word_token(l, q->s.r.orcpt, sizeof q->s.r.orcpt)) < 0 ||
        (r = word_num(l, TIME_MAX, &last)) < 0 ||
        (r = word_token(l, q->remote_mta, sizeof q->remote_mta)) < 0 ||
        (r = word_token(l, q->s.last_error, sizeof q->s.last_error)) < 0)
        return r;
    if (l->p != l->end || !q->s.r.addr[0])
        return OP_E_SYNTAX;
    q->s.state = (enum queue_rcpt_state)st;
    q->s.r.notify = (unsigned)notify;
    q->last_attempt = (int64_t)last;
    return 0;
}

static int parse_body(const char *p, size_t n, struct qentry *e)
{
    const char *end = p + n;
    struct qline l;
    uint64_t v;
    int r, x;
    if (!next_line(&p, end, &l) || (size_t)(l.end - l.p) != strlen(QENTRY_MAGIC) ||
        memcmp(l.p, QENTRY_MAGIC, strlen(QENTRY_MAGIC)) != 0)
        return OP_E_SYNTAX;
#define FIELD(key) if (!next_line(&p, end, &l) || !line_key(&l, key)) return OP_E_SYNTAX
#define DONE() if (l.p != l.end) return OP_E_SYNTAX
    FIELD("arrival");
    if ((r = word_num(&l, TIME_MAX, &v)) < 0)
        return r;
    DONE();
    e->arrival = (int64_t)v;
    FIELD("next");
    if ((r = word_num(&l, TIME_MAX, &v)) < 0)
        return r;
    DONE();
    e->next_attempt = (int64_t)v;
    FIELD("attempts");
    if ((r = word_num(&l, 1000000, &v)) < 0)
        return r;
    DONE();
    e->attempts = (unsigned)v;
    FIELD("warned");
    if ((r = word_num(&l, 1, &v)) < 0)
        return r;
    DONE();
    e->warned = v != 0;
    FIELD("ret");
    if ((r = word_enum(&l, ret_names, 3, &x)) < 0)
        return r;
    DONE();
    e->ret = (enum queue_ret)x;
    static const char *const bodies[] = {"7bit", "8bit"};
    FIELD("body");
    if ((r = word_enum(&l, bodies, 2, &x)) < 0)
        return r;
    DONE();
    e->body_8bit = x == 1;
    FIELD("smtputf8");
    if ((r = word_num(&l, 1, &v)) < 0)
        return r;
    DONE();
    e->smtputf8 = v != 0;
    FIELD("sender");
    if ((r = word_token(&l, e->sender, sizeof e->sender)) < 0)
        return r;
    DONE();
    if (!next_line(&p, end, &l))
        return OP_E_SYNTAX;
    if (line_key(&l, "envid")) {
        e->has_envid = true;
        if ((r = word_token(&l, e->envid, sizeof e->envid)) < 0)
            return r;
        DONE();
        if (!next_line(&p, end, &l))
            return OP_E_SYNTAX;
    }
    if (!line_key(&l, "client"))
        return OP_E_SYNTAX;
    if ((r = word_token(&l, e->client, sizeof e->client)) < 0)
        return r;
    DONE();
    size_t cap = 0;
    for (;;) {
        if (!next_line(&p, end, &l))
            return OP_E_SYNTAX;
        if (l.end - l.p == 3 && memcmp(l.p, "end", 3) == 0)
            break;
        if (!line_key(&l, "rcpt"))
            return OP_E_SYNTAX;
        if (e->nrcpts == cap) {
            if (cap >= QENTRY_RCPTS_MAX)
                return OP_E_TOOLONG;
            size_t nc = cap ? cap * 2 : 4;
            struct qentry_rcpt *nr = realloc(e->rcpts, nc * sizeof *nr);
            if (!nr)
                return -ENOMEM;
            e->rcpts = nr;
            cap = nc;
        }
        if ((r = parse_rcpt(&l, &e->rcpts[e->nrcpts])) < 0)
            return r;
        e->nrcpts++;
    }
#undef FIELD
#undef DONE
    /* Nothing after "end", and an entry always has a recipient. */
    return (p == end && e->nrcpts > 0) ? 0 : OP_E_SYNTAX;
}

int qentry_parse(const char *p, size_t n, struct qentry *e)
{
    memset(e, 0, sizeof *e);
    int r = parse_body(p, n, e);
    if (r < 0)
        qentry_free(e);
    return r;
}
