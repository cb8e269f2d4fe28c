/*
 * client_url.h - where an FTP client goes and as whom: ftp:// URLs
 * (RFC 1738 section 3.2) and netrc files (the format of ftp(1) and curl).
 * Pure parsers over (pointer, length), unit-tested and fuzzed.
 */
#ifndef OP_FTP_CLIENT_URL_H
#define OP_FTP_CLIENT_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTPC_NAME_MAX 256       /* user names, passwords, host names */
#define FTPC_PATH_MAX 4096

struct ftpc_url {
    char user[FTPC_NAME_MAX];   /* decoded; "" when the URL names none */
    bool has_password;          /* the URL carries one (the caller refuses it) */
    char host[FTPC_NAME_MAX];   /* without the brackets of an IPv6 literal */
    uint16_t port;              /* 21 when not given */
    char path[FTPC_PATH_MAX];   /* decoded, without the leading '/': relative
                                 * to the login directory; "%2F" makes it absolute */
    char type;                  /* ";type=a|i|d": 'a', 'i', 'd', or 0 */
};

/*
 * ftp://[user[:password]@]host[:port][/path][;type=X]. The scheme is
 * case-insensitive; host is a name, an IPv4 address or [IPv6]. User and
 * path are %-decoded; a decoded CR, LF or NUL is refused, as no FTP
 * command could carry it. 0, or OP_E_SYNTAX, OP_E_TOOLONG.
 */
int ftpc_url_parse(const char *s, size_t n, struct ftpc_url *u);

struct ftpc_netrc {
    char login[FTPC_NAME_MAX];
    char password[FTPC_NAME_MAX];
    bool has_login, has_password;
};

/*
 * The entry of netrc text t[0 .. n) for host (case-insensitive), and for
 * login when it is not NULL: the first "machine host" entry (with that
 * login), else the "default" entry. Tokens are separated by white space;
 * a token may be "quoted" with \" and \\ inside. Keywords: machine,
 * default, login, password, account (ignored), macdef (its body, up to an
 * empty line, skipped). Returns 1 and fills *out, 0 when no entry
 * applies, OP_E_SYNTAX (a keyword without its value, an unknown keyword),
 * OP_E_TOOLONG. The caller wipes *out after use.
 */
int ftpc_netrc_find(const char *t, size_t n, const char *host, const char *login,
                    struct ftpc_netrc *out);

#endif
