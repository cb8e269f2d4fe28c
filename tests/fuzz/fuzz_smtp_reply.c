/*
 * fuzz_smtp_reply.c - libFuzzer target for the SMTP client's pure parts
 * (src/smtp/client.c) and the MX answer reader (src/smtp/mx.c).
 *
 * The input is read as a stream of server replies, as the client reads
 * them: each parsed reply must lie inside the input, carry a code of
 * 200-599, at least one line, a NUL-terminated text of bounded length
 * without control characters but the joining LF; each is also read as an
 * EHLO reply. Parsing the same prefix again gives the same result (the
 * parser is pure). The bytes then go through the dot-stuffer the client
 * sends DATA with (src/mail/dotstuff.c) whole and in
 * two chunks: both outputs are identical, stay within 2n + 6 octets, end
 * in ".\r\n", use only CRLF line ends apart from bare CRs that were in the
 * input, and no line but the last is a lone ".". Finally the input is
 * read as a DNS response to an MX and an A query. Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "dns/consts.h"
#include "mail/dotstuff.h"
#include "smtp/client.h"
#include "smtp/mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_replies(const char *p, size_t n)
{
    size_t off = 0;
    for (int k = 0; k < 200 && off < n; k++) {
        struct smtp_reply r, again;
        int c = smtp_reply_parse(p + off, n - off, &r);
        int c2 = smtp_reply_parse(p + off, n - off, &again);
        if (c != c2)
            abort();
        if (c <= 0) {
            if (c != 0 && c != OP_E_SYNTAX && c != OP_E_TOOLONG)
                abort();
            return;
        }
        if ((size_t)c > n - off || r.code < 200 || r.code > 599 || r.nlines < 1 ||
            r.nlines > SMTP_REPLY_LINES_MAX || r.code != again.code || strcmp(r.text, again.text))
            abort();
        size_t tl = strnlen(r.text, sizeof r.text);
        if (tl >= sizeof r.text)
            abort();
        for (size_t i = 0; i < tl; i++) {
            unsigned char ch = (unsigned char)r.text[i];
            if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
                abort();
        }
        struct smtp_ext e;
        smtp_ehlo_parse(&r, &e);
        if (!(e.flags & SMTP_EXT_SIZE) && e.size_max)
            abort();
        off += (size_t)c;
    }
}

static size_t stuff(const char *p, size_t n, size_t cut, char *out)
{
    struct dotstuff s;
    dotstuff_init(&s);
    size_t o = dotstuff(&s, p, cut, out);
    o += dotstuff(&s, p + cut, n - cut, out + o);
    o += dotstuff_end(&s, out + o);
    return o;
}

static void check_stuffer(const char *p, size_t n)
{
    char *a = malloc(DOTSTUFF_ROOM(n) + DOTSTUFF_END_ROOM);
    char *b = malloc(DOTSTUFF_ROOM(n) + DOTSTUFF_END_ROOM);
    if (!a || !b)
        abort();
    size_t cut = n ? (unsigned char)p[0] % (n + 1) : 0;
    size_t la = stuff(p, n, n, a), lb = stuff(p, n, cut, b);
    if (la != lb || memcmp(a, b, la) != 0 || la > 2 * n + 6 || la < 3 ||
        memcmp(a + la - 3, ".\r\n", 3) != 0)
        abort();
    /* Line by line: every LF preceded by CR, no lone "." before the end. */
    size_t start = 0;
    for (size_t i = 0; i < la; i++) {
        if (a[i] != '\n')
            continue;
        if (i == 0 || a[i - 1] != '\r')
            abort();
        if (i + 1 < la && i - start == 2 && a[start] == '.')
            abort();
        start = i + 1;
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    check_replies(p, size);
    check_stuffer(p, size);
    struct mx_host *h = malloc(4 * sizeof *h);
    size_t n = 5;
    if (!h)
        abort();
    enum mx_result r = mx_parse(data, size, h, 4, &n);
    if (n > 4 || (r != MX_FOUND && n != 0) || (r == MX_FOUND && n == 0))
        abort();
    for (size_t i = 0; i < n; i++)
        if (!h[i].text[0] || strlen(h[i].text) >= sizeof h[i].text)
            abort();
    free(h);
    struct sockaddr_storage ss[3];
    int k = mx_addrs_parse(data, size, DNS_TYPE_A, 25, ss, 3);
    if (k > 3 || (k < 0 && k != -EAGAIN))
        abort();
    return 0;
}
