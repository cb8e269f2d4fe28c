/*
 * fuzz_ftp_reply.c - libFuzzer target for the FTP client's parsers
 * (src/ftp/client_parse.c, src/ftp/client_url.c): everything a server
 * or a user's file hands the client.
 *
 * The input is read as a stream of replies, as the client reads its
 * control connection: each reply found must lie within the input, start
 * with its code, end with a line end, and be found again when parsed from
 * a copy holding only its own bytes; the stream is also fed in two pieces
 * cut at a point taken from the input, which must never yield a different
 * first reply. Each reply then goes through the 227/229/FEAT/257/MDTM
 * parsers, and the whole input through the MLSD, URL and netrc parsers,
 * whose results are checked against their contracts. Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "ftp/client.h"
#include "ftp/client_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *p, size_t n, const struct ftpc_reply *r)
{
    if (r->len == 0 || r->len > n || r->code < 100 || r->code > 599)
        abort();
    if (p[r->len - 1] != '\n' || memchr(p, '\0', r->len))
        abort();
    if ((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0') != r->code)
        abort();
    /* The same reply from a copy of exactly its bytes. */
    char *copy = malloc(r->len);
    if (!copy)
        return;
    memcpy(copy, p, r->len);
    struct ftpc_reply again;
    if (ftpc_reply_parse(copy, r->len, &again) != 1 || again.len != r->len ||
        again.code != r->code || again.multi != r->multi)
        abort();
    /* Cut before its last byte, it is incomplete. */
    if (ftpc_reply_parse(copy, r->len - 1, &again) != 0)
        abort();
    char text[512];
    size_t tl = ftpc_reply_text(copy, r, text, sizeof text);
    if (tl >= sizeof text || text[tl] != '\0' || strlen(text) != tl)
        abort();
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
            abort();

    uint8_t a[4];
    uint16_t port;
    if (ftpc_pasv_parse(copy, r->len, a, &port) == 0 && port == 0)
        abort();
    if (ftpc_epsv_parse(copy, r->len, &port) == 0 && port == 0)
        abort();
    unsigned feats = ftpc_feat_parse(copy, r->len);
    if (feats && (r->code != 211 || !r->multi))
        abort();
    char dir[64];
    int d = ftpc_pwd_parse(copy, r->len, dir, sizeof dir);
    if (d >= 0 && ((size_t)d >= sizeof dir || strlen(dir) != (size_t)d || d == 0))
        abort();
    time_t t;
    ftpc_time_parse(copy, r->len, &t);
    free(copy);
}

static void check_url(const char *p, size_t n)
{
    struct ftpc_url u;
    int r = ftpc_url_parse(p, n, &u);
    if (r < 0) {
        if (r != OP_E_SYNTAX && r != OP_E_TOOLONG)
            abort();
        return;
    }
    if (!u.host[0] || u.port == 0 || strpbrk(u.path, "\r\n") || strpbrk(u.user, "\r\n"))
        abort();
    if (strlen(u.host) >= sizeof u.host || strlen(u.path) >= sizeof u.path)
        abort();
}

static void check_netrc(const char *p, size_t n)
{
    struct ftpc_netrc e;
    const char *hosts[] = {"a", "example.test"};
    for (size_t i = 0; i < 2; i++) {
        int r = ftpc_netrc_find(p, n, hosts[i], i ? "alice" : NULL, &e);
        if (r < 0 && r != OP_E_SYNTAX && r != OP_E_TOOLONG)
            abort();
        if (r == 1 && (strlen(e.login) >= sizeof e.login || strlen(e.password) >= sizeof e.password))
            abort();
        if (r == 1 && i == 1 && strcmp(e.login, "alice") != 0)
            abort();
        if (r != 1 && (e.login[0] || e.password[0]))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    /* The stream, reply by reply. */
    size_t off = 0;
    for (int k = 0; k < 64 && off < size; k++) {
        struct ftpc_reply r;
        int n = ftpc_reply_parse(in + off, size - off, &r);
        if (n == 0 || n == OP_E_SYNTAX || n == OP_E_TOOLONG)
            break;
        if (n != 1)
            abort();
        check_reply(in + off, size - off, &r);
        off += r.len;
    }
    /* A prefix gives the same first reply, or asks for more. */
    if (size > 0) {
        size_t cut = (size_t)data[0] * 131u % (size + 1);
        struct ftpc_reply whole, part;
        int w = ftpc_reply_parse(in, size, &whole);
        int p = ftpc_reply_parse(in, cut, &part);
        if (p == 1 && (w != 1 || part.len != whole.len || part.code != whole.code))
            abort();
        if (w == 1 && cut >= whole.len && (p != 1 || part.len != whole.len))
            abort();
    }
    struct ftpc_entry e;
    if (ftpc_mlsd_parse(in, size, &e) == 0 &&
        (!e.name || e.namelen == 0 || e.name < in || e.name + e.namelen > in + size))
        abort();
    check_url(in, size);
    check_netrc(in, size);
    return 0;
}
