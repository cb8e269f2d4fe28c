/*
 * fuzz_smtp_body.c - libFuzzer target for src/smtp/body.c, the DATA/BDAT
 * body state machine.
 *
 * The input is fed as a DATA body once whole and once in pieces cut at
 * points taken from the input: used counts, flags, the done state and (below
 * the size limit) the stored text must agree. The stored text must never
 * hold a line "." alone, and in DATA mode the end must be found exactly at
 * the first CRLF "." CRLF that starts a line (checked against a direct
 * search). BDAT mode must store the input unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the DATA body ends by a plain search: the first "\r\n.\r\n" at a
 * line start (position 0 counts as a line start). Returns the octets
 * used, or 0 if there is none. Only CRLF starts a line. */
static size_t find_end(const char *p, size_t n)
{
    if (n >= 3 && memcmp(p, ".\r\n", 3) == 0)
        return 3;
    for (size_t i = 0; i + 5 <= n; i++)
        if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
            return i + 5;
    return 0;
}

static void feed(const char *in, size_t size, const uint8_t *cuts, size_t ncuts, bool dot,
                 uint64_t max, struct smtp_body *b, struct buf *out, size_t *used)
{
    smtp_body_init(b, dot, max);
    *used = 0;
    size_t pos = 0;
    for (size_t k = 0; k <= ncuts && pos < size && !b->done; k++) {
        size_t len = k < ncuts ? cuts[k] % 17 + 1 : size - pos;
        if (len > size - pos)
            len = size - pos;
        size_t u = smtp_body_feed(b, out, in + pos, len);
        if (u > len || (u < len && !b->done))
            abort();
        *used += u;
        pos += u;
        if (u < len)
            break;
    }
    if (!dot)
        smtp_body_finish(b, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t ncuts = size > 8 ? 8 : size;
    uint64_t max = size > 0 ? (uint64_t)data[0] * 4 + 1 : 10;
    for (int dot = 0; dot < 2; dot++) {
        struct smtp_body a, b;
        struct buf oa = BUF_INIT, ob = BUF_INIT;
        size_t ua, ub;
        feed(in, size, NULL, 0, dot, 1 << 20, &a, &oa, &ua);
        feed(in, size, data, ncuts, dot, 1 << 20, &b, &ob, &ub);
        if (ua != ub || a.flags != b.flags || a.done != b.done || a.size != b.size ||
            buf_len(&oa) != buf_len(&ob) || memcmp(buf_ptr(&oa), buf_ptr(&ob), buf_len(&oa)) != 0)
            abort();
        if (dot) {
            size_t e = find_end(in, size);
            if (a.done != (e != 0) || (e && ua != e))
                abort();
            if (buf_len(&oa) > ua)
                abort();
        } else {
            if (a.done || ua != size || buf_len(&oa) != size || memcmp(buf_ptr(&oa), in, size) != 0)
                abort();
        }
        if (a.size != buf_len(&oa))
            abort();
        /* with a small limit: never stores more than the limit */
        struct smtp_body c;
        struct buf oc = BUF_INIT;
        size_t uc;
        feed(in, size, data, ncuts, dot, max, &c, &oc, &uc);
        if (buf_len(&oc) > max || uc != ua || c.done != a.done)
            abort();
        if ((c.size > max) != !!(c.flags & SMTP_BODY_TOO_BIG))
            abort();
        buf_free(&oa);
        buf_free(&ob);
        buf_free(&oc);
    }
    return 0;
}
