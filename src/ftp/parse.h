/*
 * parse.h - FTP command lines into command structs (RFC 959 section 4-5,
 * with RFC 2389, 2428, 2640, 3659, 4217 and 7151).
 *
 * ftp_parse() is a pure function over (pointer, length): it reads only
 * line[0 .. len), keeps no state, allocates nothing. The line is one
 * command WITHOUT its CRLF (the connection's framer strips it). The
 * argument is copied into the struct, because Telnet sequences have to be
 * taken out of it (RFC 959 section 4.1.3: a client sends IAC IP, IAC DM as
 * the "Synch" before ABOR; RFC 854 IAC IAC stands for a 0xFF data byte).
 *
 * Grammar:
 *   - Telnet: IAC IAC -> one 0xFF byte; IAC WILL/WONT/DO/DONT opt -> dropped;
 *     IAC followed by any other command byte (IP, DM, ...) -> dropped; an IAC
 *     before an ordinary byte (the DM of a Synch was taken out of band) is
 *     dropped alone; a final lone IAC is dropped.
 *   - leading SP are skipped (a client that sends IAC IP SP ABOR);
 *   - the verb: 3 or 4 letters, case-insensitive; RFC 775's X-verbs (XCWD,
 *     XCUP, XMKD, XRMD, XPWD) are the same commands;
 *   - then nothing, or one SP and the argument: the rest of the line
 *     verbatim (a path may contain and end with spaces), 1..FTP_MAX_ARG
 *     bytes. A CR, LF or NUL byte anywhere is refused: a name with CR/LF would
 *     let a client write its own reply lines (reply injection) and a NUL
 *     would cut a path short.
 *   - per verb, the argument is required, optional or absent, and for some
 *     verbs parsed further (below). A verb not followed by SP or the end is
 *     unknown.
 *
 * Parsed arguments:
 *   TYPE     type 'A' 'I' 'L' 'E' (upper case), form 'N' 'T' 'C' or 0,
 *            bytesize for L (RFC 959 section 4.1.2); "L 8" is valid
 *   STRU     code 'F' 'R' 'P';  MODE  code 'S' 'B' 'C'
 *   PROT     code 'C' 'S' 'E' 'P'
 *   REST     num: decimal marker (RFC 3659 section 5.3: REST STREAM)
 *   ALLO     num: decimal size [ SP R SP decimal ] (the record size is read
 *            and ignored)
 *   PBSZ     num: decimal, at most 2^32-1 (RFC 4217 section 8)
 *   PORT     addr: h1,h2,h3,h4,p1,p2, each 0..255 (RFC 959 section 4.1.2)
 *   EPRT     addr: <d>proto<d>address<d>port<d> with any delimiter in
 *            33..126 (RFC 2428 section 2); proto 1 (IPv4) or 2 (IPv6),
 *            others FTP_PARSE_FAMILY (522)
 *   EPSV     epsv: 0 (no argument), 1, 2, or FTP_EPSV_ALL
 * Numbers are decimal digits only, no sign, and fit in uint64_t (REST at
 * most INT64_MAX, an off_t).
 */
#ifndef OP_FTP_PARSE_H
#define OP_FTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FTP_MAX_ARG 4096            /* a path, as PATH_MAX */
#define FTP_MAX_LINE (FTP_MAX_ARG + 16)
#define FTP_EPSV_ALL 255

enum ftp_verb {
    /* RFC 959 section 4.1 */
    FTP_USER, FTP_PASS, FTP_ACCT, FTP_CWD, FTP_CDUP, FTP_SMNT, FTP_QUIT, FTP_REIN,
    FTP_PORT, FTP_PASV, FTP_TYPE, FTP_STRU, FTP_MODE, FTP_RETR, FTP_STOR, FTP_STOU,
    FTP_APPE, FTP_ALLO, FTP_REST, FTP_RNFR, FTP_RNTO, FTP_ABOR, FTP_DELE, FTP_RMD,
    FTP_MKD, FTP_PWD, FTP_LIST, FTP_NLST, FTP_SITE, FTP_SYST, FTP_STAT, FTP_HELP,
    FTP_NOOP,
    /* extensions */
    FTP_FEAT, FTP_OPTS,                         /* RFC 2389 */
    FTP_EPRT, FTP_EPSV,                         /* RFC 2428 */
    FTP_SIZE, FTP_MDTM, FTP_MLST, FTP_MLSD,     /* RFC 3659 */
    FTP_AUTH, FTP_PBSZ, FTP_PROT, FTP_CCC,      /* RFC 4217 */
    FTP_HOST,                                   /* RFC 7151 */
    FTP_UNKNOWN
};

struct ftp_cmd {
    enum ftp_verb verb;
    bool has_arg;
    size_t arglen;
    char arg[FTP_MAX_ARG + 1];      /* Telnet-stripped, NUL-terminated */
    /* parsed forms, per verb (see above) */
    char code;                      /* TYPE type, STRU / MODE / PROT code */
    char form;                      /* TYPE form */
    unsigned bytesize;              /* TYPE L */
    uint64_t num;                   /* REST, ALLO, PBSZ */
    int epsv;                       /* EPSV: 0, 1, 2, FTP_EPSV_ALL */
    struct sockaddr_storage addr;   /* PORT, EPRT */
};

/*
 * Parse error codes, outside both -errno and the OP_E_* codes of
 * base/err.h. ftp_parse_reply() gives the reply code for each.
 */
enum {
    FTP_PARSE_EMPTY = -10300,   /* nothing on the line: 500 */
    FTP_PARSE_UNKNOWN,          /* not a command we know: 500 */
    FTP_PARSE_ARGS,             /* argument missing, extra or malformed: 501 */
    FTP_PARSE_NUL,              /* NUL byte: 501 */
    FTP_PARSE_CR,               /* CR or LF inside the line: 501 */
    FTP_PARSE_TOOLONG,          /* argument longer than FTP_MAX_ARG: 500 */
    FTP_PARSE_PARAM,            /* a parameter we do not implement (TYPE E): 504 */
    FTP_PARSE_FAMILY,           /* EPRT/EPSV network protocol unknown: 522 */
};

/* Parse one command line. Returns 0 or an FTP_PARSE_* code. out is always
 * written: verb is the recognised command even when its argument is wrong
 * (FTP_UNKNOWN when the verb is not known). */
int ftp_parse(const char *line, size_t len, struct ftp_cmd *out);

/* The reply code (500, 501, 504, 522) and a sentence for a parse error. */
int ftp_parse_reply(int code, const char **text);

/* "RETR"; "?" for FTP_UNKNOWN. */
const char *ftp_verb_name(enum ftp_verb verb);

/* The address of a PORT or EPRT argument alone (also used by ftp_parse). */
int ftp_parse_port(const char *arg, size_t len, struct sockaddr_storage *out);
int ftp_parse_eprt(const char *arg, size_t len, struct sockaddr_storage *out);

#endif
