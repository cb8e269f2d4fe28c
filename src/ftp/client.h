/*
 * client.h - an FTP client (RFC 959) with the extensions servers use today:
 * FEAT (RFC 2389), SIZE/MDTM/REST STREAM/MLSD (RFC 3659), EPSV/EPRT
 * (RFC 2428) and explicit TLS (AUTH TLS, PBSZ 0, PROT P: RFC 4217).
 *
 * Two parts:
 *
 *   - pure parsers over (pointer, length) for what servers send: a whole
 *     reply (single or multi-line, RFC 959 section 4.2), the 227 and 229
 *     replies, the FEAT list, the 257 quoted path, MDTM times and MLSD
 *     lines. They never read past the end and are fuzzed
 *     (tests/fuzz/fuzz_ftp_reply.c).
 *
 *   - a blocking session (struct ftpc): one control connection, a data
 *     connection per transfer. Every wait has a deadline (the timeout in
 *     the options, restarted by each byte of progress), so a silent server
 *     cannot hang the caller. No globals: one struct ftpc per thread.
 *
 * Return values of the session calls: 0 on success; a reply code
 * (400-599, or an unexpected 1xx-3xx) when the server refused, with its
 * text in ftpc_reply(); a negative error (base/err.h: -errno,
 * OP_E_TLS, OP_E_SYNTAX for a reply that is not FTP, OP_E_CLOSED,
 * -ETIMEDOUT, -ECANCELED when *cancel was set) when the connection or the
 * local side failed. ftpc_cmd() returns the reply code itself.
 *
 * Safety: an argument holding CR, LF or NUL is refused (-EINVAL) before
 * anything is sent, so a file name cannot inject a command. The address
 * in a 227 reply is never used: data connections go to the control
 * connection's peer (as curl does), so a hostile server cannot point the
 * client at a third host (FTP bounce, RFC 2577). An active-mode data
 * connection is accepted only from the control peer's address.
 *
 * TLS: the server's certificate is verified against the system store (or
 * cafile) and the host name, unless insecure. Each protected data
 * connection resumes the control connection's TLS session (servers such
 * as vsftpd with require_ssl_reuse refuse one that does not).
 */
#ifndef OP_FTP_CLIENT_H
#define OP_FTP_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- pure parsers ------------------------------------------------------------------ */

/* The longest reply accepted, all lines together (a FEAT or a STAT list). */
#define FTPC_REPLY_MAX (256 * 1024)

struct ftpc_reply {
    int code;          /* 100-599 */
    size_t len;        /* bytes of the reply, line ends included */
    bool multi;        /* it was a multi-line reply */
};

/*
 * A whole reply at the start of p[0 .. n). RFC 959 section 4.2: a reply
 * is "xyz text" on one line, or starts "xyz-text" and ends with the first
 * line that starts with the same three digits and a space; the lines
 * between are free text. The first digit is 1-5, the second 0-5. Lines
 * end with CRLF; a bare LF is accepted, as most clients do. A line that
 * is only the code ("226" CRLF) counts as a one-line reply.
 * Returns 1 and fills *r, 0 when more bytes are needed, OP_E_SYNTAX when
 * the bytes are not a reply (or hold a NUL), OP_E_TOOLONG when no reply
 * ends within FTPC_REPLY_MAX bytes.
 */
int ftpc_reply_parse(const char *p, size_t n, struct ftpc_reply *r);

/*
 * The text of reply p[0 .. r->len) for people: its lines without their
 * line ends, joined with '\n', appended to out[0 .. cap) NUL-terminated
 * (cut if it does not fit). Control characters become '?'. Returns the
 * length written.
 */
size_t ftpc_reply_text(const char *p, const struct ftpc_reply *r, char *out, size_t cap);

/*
 * The port of a 229 reply (RFC 2428 section 3): "(<d><d><d>port<d>)" with
 * <d> one printable character, the same four times. 0 or OP_E_SYNTAX.
 */
int ftpc_epsv_parse(const char *p, size_t n, uint16_t *port);

/*
 * The address and port of a 227 reply: the first "h1,h2,h3,h4,p1,p2" in
 * the text (RFC 959 leaves its place open; RFC 1123 section 4.1.2.6 tells
 * clients to scan for it). Each number 0-255. 0 or OP_E_SYNTAX.
 */
int ftpc_pasv_parse(const char *p, size_t n, uint8_t addr[4], uint16_t *port);

/* Features of a FEAT reply (RFC 2389 section 3.2). */
enum {
    FTPC_FEAT_EPSV = 1u << 0,
    FTPC_FEAT_EPRT = 1u << 1,
    FTPC_FEAT_SIZE = 1u << 2,
    FTPC_FEAT_MDTM = 1u << 3,
    FTPC_FEAT_REST_STREAM = 1u << 4,
    FTPC_FEAT_MLST = 1u << 5,
    FTPC_FEAT_UTF8 = 1u << 6,
    FTPC_FEAT_AUTH_TLS = 1u << 7,
    FTPC_FEAT_PBSZ = 1u << 8,
    FTPC_FEAT_PROT = 1u << 9,
};

/*
 * The features listed in a whole 211 reply p[0 .. n) (as ftpc_reply_parse
 * delimits it): each line between the first and the last that starts
 * with a space names one feature, its name case-insensitive, parameters
 * after a space. Unknown features are skipped. Returns the FTPC_FEAT_*
 * bits (0 for a reply that lists none).
 */
unsigned ftpc_feat_parse(const char *p, size_t n);

/*
 * The directory name of a 257 reply (RFC 959 appendix II): the text
 * between the first '"' and its closing '"', where '""' stands for one
 * '"'. Into out[0 .. cap) NUL-terminated. Its length, or OP_E_SYNTAX (no
 * quoted name, or a NUL in it), OP_E_TOOLONG.
 */
int ftpc_pwd_parse(const char *p, size_t n, char *out, size_t cap);

/*
 * A time in the MDTM (RFC 3659 section 2.3) form YYYYMMDDHHMMSS[.sss]
 * (UTC), from p[0 .. n) after skipping the reply code and spaces if
 * present, into *t. 0 or OP_E_SYNTAX.
 */
int ftpc_time_parse(const char *p, size_t n, time_t *t);

/* One MLSD line (RFC 3659 section 7.2): "fact=value;... name". */
struct ftpc_entry {
    const char *name;        /* points into the line */
    size_t namelen;
    char type;               /* 'f' file, 'd' directory (also cdir/pdir: 'c', 'p'), 'l' other, '?' */
    bool has_size, has_modify;
    uint64_t size;
    time_t modify;
};
/* 0, or OP_E_SYNTAX (no space, an empty name, a fact without '='). */
int ftpc_mlsd_parse(const char *p, size_t n, struct ftpc_entry *e);

/* ---- a session ----------------------------------------------------------------------- */

struct ftpc;

enum ftpc_tls { FTPC_TLS_NONE, FTPC_TLS_EXPLICIT };

struct ftpc_opts {
    int timeout_ms;           /* connect, and each wait for the server; 0 = 30 s */
    enum ftpc_tls tls;
    bool insecure;            /* accept any certificate */
    const char *cafile;       /* trust these instead of the system store */
    bool active;              /* PORT/EPRT rather than EPSV/PASV */
    /* When it becomes non-zero (a signal handler sets it), a transfer is
     * aborted (ABOR) and a wait gives up with -ECANCELED. May be NULL. */
    volatile sig_atomic_t *cancel;
    /* Called, if set, with each line sent (PASS shown as "PASS ****") and
     * each reply received (code, text): a trace for -v. */
    void (*trace)(void *arg, bool sent, const char *text);
    void *arg;
};

/* Connect to host (a name or address) and port, read the greeting (220;
 * a 120 first is waited through) and, with tls, negotiate AUTH TLS. On
 * failure *out is still set when a connection was made (so ftpc_reply()
 * can say what the server answered), else NULL; free it either way. */
int ftpc_connect(const char *host, uint16_t port, const struct ftpc_opts *o, struct ftpc **out);

/* USER and PASS (ACCT is not supported: 332 counts as a refusal); then
 * with TLS, PBSZ 0 and PROT P; FEAT; TYPE I. On success ftpc_reply() is
 * still the login's reply (230). */
int ftpc_login(struct ftpc *c, const char *user, const char *pass);

/* QUIT, and close (the struct stays valid until ftpc_free). */
int ftpc_quit(struct ftpc *c);
void ftpc_free(struct ftpc *c);

/* One command; its final reply's code (100-599) or a negative error.
 * fmt must give one line without line end. */
int ftpc_cmd(struct ftpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last reply: its code, and its text (lines joined with '\n'). */
int ftpc_code(const struct ftpc *c);
const char *ftpc_reply(const struct ftpc *c);
/* More about the last local failure (the TLS library's or the
 * certificate check's reason, an unusable address), or "". */
const char *ftpc_error(const struct ftpc *c);
/* The features FEAT listed (0 before login or when FEAT failed). */
unsigned ftpc_features(const struct ftpc *c);
bool ftpc_connected(const struct ftpc *c);
bool ftpc_is_tls(const struct ftpc *c);
/* "host:port" of the peer (numeric). */
const char *ftpc_peer(const struct ftpc *c);

void ftpc_set_active(struct ftpc *c, bool active);
bool ftpc_active(const struct ftpc *c);
/* TYPE A or TYPE I (RFC 959 section 3.1.1); 0 or a refusal. */
int ftpc_type(struct ftpc *c, bool ascii);
bool ftpc_ascii(const struct ftpc *c);

/* SIZE (in the current TYPE) and MDTM: 0 or a refusal. */
int ftpc_size(struct ftpc *c, const char *path, uint64_t *size);
int ftpc_mdtm(struct ftpc *c, const char *path, time_t *t);
/* PWD into out: 0, a refusal, or OP_E_SYNTAX for a 257 without a name. */
int ftpc_pwd(struct ftpc *c, char *out, size_t cap);
/* RNFR then RNTO. */
int ftpc_rename(struct ftpc *c, const char *from, const char *to);

/* A transfer's two ends on the local side. */
struct ftpc_io {
    /* Downloads: n received bytes (after ASCII conversion). 0 or negative. */
    int (*write)(void *arg, const char *p, size_t n);
    /* Uploads: fill p[0 .. cap); bytes read, 0 at the end, or negative. */
    ssize_t (*read)(void *arg, char *p, size_t cap);
    /* Payload bytes so far (local side), after each chunk. May be NULL. */
    void (*progress)(void *arg, uint64_t bytes);
    void *arg;
};

/*
 * Downloads: verb is RETR, LIST, NLST or MLSD, arg the path (or NULL).
 * offset > 0 first sends REST offset (RFC 3659 section 5). The payload
 * goes to io->write; in TYPE A, and always for listings, CRLF becomes LF. *bytes (may be NULL)
 * gets the payload bytes written.
 */
int ftpc_download(struct ftpc *c, const char *verb, const char *arg, uint64_t offset,
                  const struct ftpc_io *io, uint64_t *bytes);
/*
 * Uploads: verb is STOR or APPE; offset > 0 sends REST offset before
 * STOR. The payload comes from io->read; in TYPE A, LF becomes CRLF.
 */
int ftpc_upload(struct ftpc *c, const char *verb, const char *arg, uint64_t offset,
                const struct ftpc_io *io, uint64_t *bytes);

#endif
