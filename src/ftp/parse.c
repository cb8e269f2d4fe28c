/*
 * parse.c - FTP command lines (see parse.h for the grammar).
 */
#include "ftp/parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/util.h"

/* Telnet (RFC 854) */
enum { IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SE = 240 };

enum argkind { ARG_NONE, ARG_OPT, ARG_REQ };

static const struct {
    const char *name;
    enum ftp_verb verb;
    enum argkind arg;
} verbs[] = {
    {"USER", FTP_USER, ARG_REQ}, {"PASS", FTP_PASS, ARG_OPT}, {"ACCT", FTP_ACCT, ARG_REQ},
    {"CWD", FTP_CWD, ARG_REQ},   {"XCWD", FTP_CWD, ARG_REQ},  {"CDUP", FTP_CDUP, ARG_NONE},
    {"XCUP", FTP_CDUP, ARG_NONE}, {"SMNT", FTP_SMNT, ARG_REQ}, {"QUIT", FTP_QUIT, ARG_NONE},
    {"REIN", FTP_REIN, ARG_NONE}, {"PORT", FTP_PORT, ARG_REQ}, {"PASV", FTP_PASV, ARG_NONE},
    {"TYPE", FTP_TYPE, ARG_REQ}, {"STRU", FTP_STRU, ARG_REQ}, {"MODE", FTP_MODE, ARG_REQ},
    {"RETR", FTP_RETR, ARG_REQ}, {"STOR", FTP_STOR, ARG_REQ}, {"STOU", FTP_STOU, ARG_OPT},
    {"APPE", FTP_APPE, ARG_REQ}, {"ALLO", FTP_ALLO, ARG_REQ}, {"REST", FTP_REST, ARG_REQ},
    {"RNFR", FTP_RNFR, ARG_REQ}, {"RNTO", FTP_RNTO, ARG_REQ}, {"ABOR", FTP_ABOR, ARG_NONE},
    {"DELE", FTP_DELE, ARG_REQ}, {"RMD", FTP_RMD, ARG_REQ},   {"XRMD", FTP_RMD, ARG_REQ},
    {"MKD", FTP_MKD, ARG_REQ},   {"XMKD", FTP_MKD, ARG_REQ},  {"PWD", FTP_PWD, ARG_NONE},
    {"XPWD", FTP_PWD, ARG_NONE}, {"LIST", FTP_LIST, ARG_OPT}, {"NLST", FTP_NLST, ARG_OPT},
    {"SITE", FTP_SITE, ARG_REQ}, {"SYST", FTP_SYST, ARG_NONE}, {"STAT", FTP_STAT, ARG_OPT},
    {"HELP", FTP_HELP, ARG_OPT}, {"NOOP", FTP_NOOP, ARG_NONE}, {"FEAT", FTP_FEAT, ARG_NONE},
    {"OPTS", FTP_OPTS, ARG_REQ}, {"EPRT", FTP_EPRT, ARG_REQ}, {"EPSV", FTP_EPSV, ARG_OPT},
    {"SIZE", FTP_SIZE, ARG_REQ}, {"MDTM", FTP_MDTM, ARG_REQ}, {"MLST", FTP_MLST, ARG_OPT},
    {"MLSD", FTP_MLSD, ARG_OPT}, {"AUTH", FTP_AUTH, ARG_REQ}, {"PBSZ", FTP_PBSZ, ARG_REQ},
    {"PROT", FTP_PROT, ARG_REQ}, {"CCC", FTP_CCC, ARG_NONE},  {"HOST", FTP_HOST, ARG_REQ},
};

const char *ftp_verb_name(enum ftp_verb verb)
{
    for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
        if (verbs[i].verb == verb)
            return verbs[i].name;
    return "?";
}

int ftp_parse_reply(int code, const char **text)
{
    switch (code) {
    case FTP_PARSE_EMPTY:
        *text = "Empty command line";
        return 500;
    case FTP_PARSE_UNKNOWN:
        *text = "Unknown command";
        return 500;
    case FTP_PARSE_NUL:
        *text = "NUL byte in the command line";
        return 501;
    case FTP_PARSE_CR:
        *text = "CR or LF inside the command line";
        return 501;
    case FTP_PARSE_TOOLONG:
        *text = "Argument too long";
        return 500;
    case FTP_PARSE_PARAM:
        *text = "Command not implemented for that parameter";
        return 504;
    case FTP_PARSE_FAMILY:
        *text = "Network protocol not supported, use (1,2)";
        return 522;
    default:
        *text = "Syntax error in parameters or arguments";
        return 501;
    }
}

/* Decimal digits only; false on overflow beyond max or on no digits. */
static bool parse_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* RFC 959 section 4.1.2: PORT h1,h2,h3,h4,p1,p2 */
int ftp_parse_port(const char *arg, size_t len, struct sockaddr_storage *out)
{
    uint64_t v[6];
    size_t i = 0;
    for (int k = 0; k < 6; k++) {
        size_t start = i;
        while (i < len && arg[i] != ',')
            i++;
        if (!parse_num(arg + start, i - start, 255, &v[k]) || i - start > 3)
            return FTP_PARSE_ARGS;
        if (k < 5) {
            if (i >= len)
                return FTP_PARSE_ARGS;
            i++;
        }
    }
    if (i != len)
        return FTP_PARSE_ARGS;
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    memset(out, 0, sizeof *out);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl((uint32_t)(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]));
    sin->sin_port = htons((uint16_t)(v[4] << 8 | v[5]));
    return 0;
}

/* RFC 2428 section 2: EPRT <d><net-prt><d><net-addr><d><tcp-port><d> */
int ftp_parse_eprt(const char *arg, size_t len, struct sockaddr_storage *out)
{
    if (len < 7)
        return FTP_PARSE_ARGS;
    char d = arg[0];
    if ((unsigned char)d < 33 || (unsigned char)d > 126)
        return FTP_PARSE_ARGS;
    if (arg[len - 1] != d)
        return FTP_PARSE_ARGS;
    const char *f[3];
    size_t fl[3];
    size_t i = 1;
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        while (i < len && arg[i] != d)
            i++;
        if (i >= len)
            return FTP_PARSE_ARGS;
        f[k] = arg + start;
        fl[k] = i - start;
        i++;
    }
    if (i != len)
        return FTP_PARSE_ARGS;
    uint64_t proto, port;
    if (!parse_num(f[0], fl[0], 255, &proto))
        return FTP_PARSE_ARGS;
    if (!parse_num(f[2], fl[2], 65535, &port) || fl[2] > 5)
        return FTP_PARSE_ARGS;
    if (proto != 1 && proto != 2)
        return FTP_PARSE_FAMILY;
    char text[INET6_ADDRSTRLEN];
    if (fl[1] == 0 || fl[1] >= sizeof text)
        return FTP_PARSE_ARGS;
    memcpy(text, f[1], fl[1]);
    text[fl[1]] = '\0';
    memset(out, 0, sizeof *out);
    if (proto == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
            return FTP_PARSE_ARGS;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
            return FTP_PARSE_ARGS;
    }
    return 0;
}

/* RFC 959 section 4.1.2: TYPE A [N|T|C] | E [N|T|C] | I | L <byte size> */
static int parse_type(struct ftp_cmd *c)
{
    const char *a = c->arg;
    size_t n = c->arglen;
    c->code = upper(a[0]);
    c->form = 0;
    switch (c->code) {
    case 'A':
    case 'E':
        if (n == 1)
            c->form = 'N';
        else if (n == 3 && a[1] == ' ' && strchr("NTCntc", a[2]))
            c->form = upper(a[2]);
        else
            return FTP_PARSE_ARGS;
        return c->code == 'A' && c->form == 'N' ? 0 : FTP_PARSE_PARAM;
    case 'I':
        return n == 1 ? 0 : FTP_PARSE_ARGS;
    case 'L': {
        /* "L 8"; "L8" as some clients send it */
        size_t i = 1;
        if (i < n && a[i] == ' ')
            i++;
        uint64_t b;
        if (!parse_num(a + i, n - i, 255, &b) || b == 0)
            return FTP_PARSE_ARGS;
        c->bytesize = (unsigned)b;
        return b == 8 ? 0 : FTP_PARSE_PARAM;
    }
    default:
        return FTP_PARSE_ARGS;
    }
}

/* A single code letter out of allowed (upper case); known but not
 * implemented letters are the caller's business (504). */
static int parse_code(struct ftp_cmd *c, const char *allowed)
{
    if (c->arglen != 1 || !strchr(allowed, upper(c->arg[0])))
        return FTP_PARSE_ARGS;
    c->code = upper(c->arg[0]);
    return 0;
}

static int parse_args(struct ftp_cmd *c)
{
    switch (c->verb) {
    case FTP_TYPE:
        return parse_type(c);
    case FTP_STRU:
        return parse_code(c, "FRP");
    case FTP_MODE:
        return parse_code(c, "SBC");
    case FTP_PROT:
        return parse_code(c, "CSEP");
    case FTP_REST:
        return parse_num(c->arg, c->arglen, INT64_MAX, &c->num) ? 0 : FTP_PARSE_ARGS;
    case FTP_PBSZ:
        return parse_num(c->arg, c->arglen, UINT32_MAX, &c->num) ? 0 : FTP_PARSE_ARGS;
    case FTP_ALLO: {
        /* RFC 959: ALLO <decimal-integer> [<SP> R <SP> <decimal-integer>] */
        const char *sp = memchr(c->arg, ' ', c->arglen);
        size_t n = sp ? (size_t)(sp - c->arg) : c->arglen;
        if (!parse_num(c->arg, n, UINT64_MAX, &c->num))
            return FTP_PARSE_ARGS;
        if (sp) {
            uint64_t rec;
            size_t rest = c->arglen - n;
            if (rest < 4 || upper(sp[1]) != 'R' || sp[2] != ' ' ||
                !parse_num(sp + 3, rest - 3, UINT64_MAX, &rec))
                return FTP_PARSE_ARGS;
        }
        return 0;
    }
    case FTP_PORT:
        return ftp_parse_port(c->arg, c->arglen, &c->addr);
    case FTP_EPRT:
        return ftp_parse_eprt(c->arg, c->arglen, &c->addr);
    case FTP_EPSV: {
        c->epsv = 0;
        if (!c->has_arg)
            return 0;
        if (str_ieq(c->arg, c->arglen, "ALL")) {
            c->epsv = FTP_EPSV_ALL;
            return 0;
        }
        uint64_t p;
        if (!parse_num(c->arg, c->arglen, 255, &p))
            return FTP_PARSE_ARGS;
        if (p != 1 && p != 2)
            return FTP_PARSE_FAMILY;
        c->epsv = (int)p;
        return 0;
    }
    default:
        return 0;
    }
}

int ftp_parse(const char *line, size_t len, struct ftp_cmd *out)
{
    out->verb = FTP_UNKNOWN;
    out->has_arg = false;
    out->arglen = 0;
    out->arg[0] = '\0';
    out->code = out->form = 0;
    out->bytesize = 0;
    out->num = 0;
    out->epsv = 0;
    memset(&out->addr, 0, sizeof out->addr);

    /* Telnet sequences out, into a copy that stays within FTP_MAX_LINE. */
    char clean[FTP_MAX_LINE + 1];
    size_t n = 0;
    bool nul = false, cr = false, toolong = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)line[i];
        if (b == IAC) {
            if (i + 1 >= len)
                break;                          /* lone IAC at the end */
            unsigned char nx = (unsigned char)line[i + 1];
            if (nx == IAC) {
                i++;                            /* escaped 0xFF data byte */
            } else if (nx >= WILL && nx <= DONT) {
                i += 2;                         /* option negotiation: 3 bytes */
                continue;
            } else if (nx >= SE) {
                i++;                            /* IP, DM, AO, ...: 2 bytes */
                continue;
            } else {
                continue;                       /* IAC whose DM went out of band */
            }
        }
        if (b == '\0')
            nul = true;
        else if (b == '\r' || b == '\n')
            cr = true;
        if (n < FTP_MAX_LINE)
            clean[n++] = (char)b;
        else
            toolong = true;
    }

    size_t i = 0;
    while (i < n && clean[i] == ' ')
        i++;
    if (i == n)
        return nul ? FTP_PARSE_NUL : FTP_PARSE_EMPTY;
    size_t vstart = i;
    while (i < n && i - vstart <= 4 &&
           ((clean[i] >= 'A' && clean[i] <= 'Z') || (clean[i] >= 'a' && clean[i] <= 'z')))
        i++;
    size_t vlen = i - vstart;
    if (vlen < 3 || vlen > 4 || (i < n && clean[i] != ' '))
        return nul ? FTP_PARSE_NUL : cr ? FTP_PARSE_CR : FTP_PARSE_UNKNOWN;
    enum argkind kind = ARG_NONE;
    for (size_t k = 0; k < ARRAY_LEN(verbs); k++) {
        if (str_ieq(clean + vstart, vlen, verbs[k].name)) {
            out->verb = verbs[k].verb;
            kind = verbs[k].arg;
            break;
        }
    }
    if (out->verb == FTP_UNKNOWN)
        return nul ? FTP_PARSE_NUL : cr ? FTP_PARSE_CR : FTP_PARSE_UNKNOWN;
    if (nul)
        return FTP_PARSE_NUL;
    if (cr)
        return FTP_PARSE_CR;
    if (toolong)
        return FTP_PARSE_TOOLONG;

    if (i < n) {
        i++;                                    /* the SP */
        size_t alen = n - i;
        if (alen > FTP_MAX_ARG)
            return FTP_PARSE_TOOLONG;
        /* "NOOP " and "PWD  ": trailing blanks after a verb without
         * argument are harmless and some clients send them. */
        bool blank = true;
        for (size_t k = i; k < n; k++)
            if (clean[k] != ' ')
                blank = false;
        if (alen > 0 && !(blank && kind != ARG_REQ)) {
            memcpy(out->arg, clean + i, alen);
            out->arg[alen] = '\0';
            out->arglen = alen;
            out->has_arg = true;
        }
    }
    if (kind == ARG_NONE && out->has_arg)
        return FTP_PARSE_ARGS;
    if (kind == ARG_REQ && !out->has_arg)
        return FTP_PARSE_ARGS;
    return parse_args(out);
}
