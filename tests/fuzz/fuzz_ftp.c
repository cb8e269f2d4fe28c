/*
 * fuzz_ftp.c - libFuzzer target for src/ftp/parse.c and the lexical path
 * join of src/ftp/path.c.
 *
 * The input is parsed as one command line and the result checked against
 * parse.h: an accepted argument never holds CR or NUL (reply injection, cut
 * paths), fits FTP_MAX_ARG, and is absent exactly for verbs that take none;
 * PORT/EPRT give an IPv4 or IPv6 address. The same bytes are then joined
 * as a path to a current directory: the result must start with "/" and hold
 * no "." or ".." component and no "//" (so nothing climbs out of the jail).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ftp/parse.h"
#include "ftp/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vpath(const char *v)
{
    if (v[0] != '/')
        abort();
    if (!v[1])
        return;
    const char *p = v + 1;
    for (;;) {
        const char *s = strchr(p, '/');
        size_t len = s ? (size_t)(s - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            abort();
        if (!s)
            break;
        p = s + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ftp_cmd cmd;
    const char *in = (const char *)data;
    int r = ftp_parse(in, size, &cmd);
    const char *text;
    int code = ftp_parse_reply(r, &text);
    if (r < 0) {
        if (code < 500 || code > 599 || !text[0])
            abort();
        if ((r == FTP_PARSE_UNKNOWN || r == FTP_PARSE_EMPTY) && cmd.verb != FTP_UNKNOWN)
            abort();
    } else {
        if (r != 0 || cmd.verb == FTP_UNKNOWN)
            abort();
        if (cmd.arglen > FTP_MAX_ARG || strlen(cmd.arg) != cmd.arglen)
            abort();
        if (memchr(cmd.arg, '\r', cmd.arglen) || memchr(cmd.arg, '\n', cmd.arglen))
            abort();
        if (cmd.has_arg != (cmd.arglen > 0))
            abort();
        if ((cmd.verb == FTP_PORT || cmd.verb == FTP_EPRT) && cmd.addr.ss_family != AF_INET &&
            cmd.addr.ss_family != AF_INET6)
            abort();
        char v[FTP_VPATH_MAX];
        if (ftp_path_join("/a/b", cmd.arg, cmd.arglen, v, sizeof v) == 0)
            check_vpath(v);
    }
    char v[FTP_VPATH_MAX];
    if (ftp_path_join("/x", in, size, v, sizeof v) == 0 && !memchr(in, '\0', size))
        check_vpath(v);
    return 0;
}
