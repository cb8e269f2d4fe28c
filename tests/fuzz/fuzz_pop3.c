/*
 * fuzz_pop3.c - libFuzzer target for src/pop3/parse.c.
 *
 * The input is parsed as one command line, and the structure returned is
 * checked against the contract in parse.h. The same bytes are then sent
 * through the byte-stuffer, once whole and once in two chunks cut at a
 * point taken from the input: both outputs must be identical, have only
 * CRLF line ends, and carry no line that starts with a single '.' except
 * the final terminator (RFC 1939 section 3). Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mail/dotstuff.h"
#include "pop3/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool within(const char *base, size_t len, const char *p, size_t n)
{
    return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static bool printable(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
            return false;
    return true;
}

static void check_parse(const char *line, size_t len)
{
    struct pop3_cmd cmd;
    int r = pop3_parse(line, len, &cmd);
    if (r < 0) {
        if (r < POP3_PARSE_EMPTY || r > POP3_PARSE_TOOLONG)
            abort();
        if ((r == POP3_PARSE_UNKNOWN || r == POP3_PARSE_EMPTY) && cmd.verb != POP3_UNKNOWN)
            abort();
        if (!pop3_parse_strerror(r)[0])
            abort();
        return;
    }
    if (r != 0 || cmd.verb == POP3_UNKNOWN || cmd.nnum < 0 || cmd.nnum > 2)
        abort();
    if (memchr(line, '\0', len))
        abort();
    if (cmd.arg && !within(line, len, cmd.arg, cmd.arglen))
        abort();
    if (cmd.arg2 && !within(line, len, cmd.arg2, cmd.arg2len))
        abort();
    if (!cmd.arg && cmd.arglen)
        abort();
    switch (cmd.verb) {
    case POP3_PASS:
        if (!cmd.arg || cmd.arglen == 0 || cmd.arglen > POP3_MAX_PASS)
            abort();
        break;
    case POP3_USER:
    case POP3_APOP:
        if (!cmd.arg || cmd.arglen == 0 || cmd.arglen > POP3_MAX_ARG ||
            !printable(cmd.arg, cmd.arglen))
            abort();
        if (cmd.verb == POP3_APOP && (!cmd.arg2 || cmd.arg2len == 0 || cmd.arg2len > POP3_MAX_ARG))
            abort();
        break;
    case POP3_AUTH:
        if (cmd.arglen > POP3_MAX_ARG || !printable(cmd.arg, cmd.arglen))
            abort();
        if (cmd.arg2 && (cmd.arglen == 0 || cmd.arg2len > POP3_MAX_INITIAL_RESPONSE ||
                         !printable(cmd.arg2, cmd.arg2len)))
            abort();
        break;
    case POP3_RETR:
    case POP3_DELE:
        if (cmd.nnum != 1 || cmd.num[0] == 0)
            abort();
        break;
    case POP3_LIST:
    case POP3_UIDL:
        if (cmd.nnum > 1 || (cmd.nnum == 1 && cmd.num[0] == 0))
            abort();
        break;
    case POP3_TOP:
        if (cmd.nnum != 2 || cmd.num[0] == 0)
            abort();
        break;
    default:
        if (cmd.arg || cmd.arg2 || cmd.nnum)
            abort();
        break;
    }
}

/* Stuff src in one piece, or in two cut at split; top < 0 is RETR mode. */
static void stuff(const char *src, size_t len, size_t split, long top, struct buf *out)
{
    struct dotstuff s;
    if (top < 0)
        dotstuff_init(&s);
    else
        dotstuff_init_top(&s, (uint32_t)top);
    if (dotstuff_buf(&s, out, src, split) < 0)
        abort();
    /* Once done (TOP), the rest must be ignored: it is fed anyway. */
    if (dotstuff_buf(&s, out, src + split, len - split) < 0)
        abort();
    if (top < 0 && dotstuff_done(&s))
        abort();
    if (dotstuff_end_buf(&s, out) < 0)
        abort();
}

static void check_stuffed(const char *p, size_t n)
{
    /* Ends with the terminator line. */
    if (n < 3 || memcmp(p + n - 3, ".\r\n", 3) != 0)
        abort();
    if (n > 3 && (n < 5 || p[n - 5] != '\r' || p[n - 4] != '\n'))
        abort();
    /* CRLF only, and every line that starts with '.' starts with "..",
     * except the terminator. */
    size_t bol = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i == 0 || p[i - 1] != '\r')
            abort();
        /* the line is [bol, i - 1) */
        if (p[bol] == '.' && bol != n - 3 && (i - 1 - bol < 2 || p[bol + 1] != '.'))
            abort();
        bol = i + 1;
    }
    if (bol != n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    check_parse(in, size);

    size_t split = 0;
    long top = -1;
    if (size > 0) {
        split = (size_t)data[0] * 7919u % (size + 1);
        if (data[0] & 1)
            top = data[size - 1] % 5;
    }
    struct buf whole = BUF_INIT, parts = BUF_INIT;
    stuff(in, size, size, top, &whole);
    stuff(in, size, split, top, &parts);
    if (buf_len(&whole) != buf_len(&parts) ||
        memcmp(buf_ptr(&whole), buf_ptr(&parts), buf_len(&whole)) != 0)
        abort();
    check_stuffed(buf_ptr(&whole), buf_len(&whole));
    buf_free(&whole);
    buf_free(&parts);
    return 0;
}
