/*
 * parse.h - SMTP command lines (RFC 5321 section 4.1) into command structs.
 *
 * smtp_parse() is a pure function over (pointer, length): it reads only
 * line[0 .. len), keeps no state, allocates nothing; string arguments point
 * into line, decoded values (paths, xtext) are copied into the struct. The
 * line is one command WITHOUT its CRLF.
 *
 * Grammar:
 *   - verb: case-insensitive, at the start of the line, followed by SP (or
 *     the end); one SP between arguments, more are tolerated;
 *   - MAIL FROM:<reverse-path> [SP params]  RCPT TO:<forward-path> [SP params]
 *     (RFC 5321 4.1.1.2-3, 4.1.2): a source route "@a,@b:" is parsed and
 *     dropped (4.1.1.3: it SHOULD be ignored); spaces after the colon are
 *     tolerated (common client behaviour); "<>" is the null reverse-path;
 *     RCPT accepts "<Postmaster>" without a domain (4.5.1);
 *   - a mailbox is Local-part "@" (Domain / address-literal); the local part
 *     a Dot-string or a Quoted-string; the domain LDH labels, or an
 *     IPv4 literal "[192.0.2.1]" or IPv6 literal "[IPv6:2001:db8::1]"
 *     (4.1.3; general literals are refused); with RFC 6531 the atoms,
 *     labels and quoted text may hold UTF-8 (well-formed; flagged in
 *     path_utf8 so the session can require SMTPUTF8 on MAIL);
 *   - limits (4.5.3.1): local part 64 octets, domain 255, path 256;
 *   - parameters (RFC 5321 4.1.2 esmtp-param), each at most once:
 *       MAIL: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152),
 *             SMTPUTF8 (RFC 6531), RET=FULL|HDRS, ENVID=xtext (RFC 3461,
 *             at most 100 octets), AUTH=xtext|<> (RFC 4954 section 5)
 *       RCPT: NOTIFY=NEVER|list of SUCCESS,FAILURE,DELAY, ORCPT=type;xtext
 *             (RFC 3461 4.1-4.2; type "rfc822" or "utf-8", RFC 6533)
 *     xtext (RFC 3461 section 4) is decoded; "+XX" must be upper-case hex;
 *   - BDAT size [LAST] (RFC 3030 section 2), size at most 2^63;
 *   - AUTH mechanism [initial-response] (RFC 4954 section 4);
 *   - HELO/EHLO need one argument, VRFY one, HELP and NOOP take anything,
 *     DATA RSET QUIT STARTTLS none.
 * A NUL byte anywhere makes the line a syntax error.
 */
#ifndef OP_SMTP_PARSE_H
#define OP_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_PATH_MAX 257            /* 256 octets (RFC 5321 4.5.3.1.3) + NUL */
#define SMTP_ENVID_MAX 101           /* RFC 3461 section 4.4: 100 + NUL */
#define SMTP_ORCPT_MAX 520           /* "utf-8;" + a decoded address + NUL */
#define SMTP_LINE_MAX 4096           /* commands; ESMTP parameters raise 512 */
#define SMTP_AUTH_LINE_MAX 12288     /* RFC 4954 section 4 */

enum smtp_verb {
    SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET, SMTP_NOOP,
    SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP, SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
    SMTP_UNKNOWN
};

enum smtp_body_type { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };
enum {                                /* NOTIFY= bits, as mail/queue.h's */
    SMTP_NOTIFY_NEVER = 1, SMTP_NOTIFY_SUCCESS = 2, SMTP_NOTIFY_FAILURE = 4,
    SMTP_NOTIFY_DELAY = 8,
};

struct smtp_cmd {
    enum smtp_verb verb;
    const char *arg;                  /* HELO/EHLO domain, VRFY/HELP text, AUTH mechanism */
    size_t arglen;
    const char *arg2;                 /* AUTH initial response (NULL: none; "=" gives len 0) */
    size_t arg2len;

    /* MAIL / RCPT */
    char path[SMTP_PATH_MAX];         /* mailbox without <> and route; "" = null path;
                                         a quoted local part that is a valid dot-string
                                         is unquoted */
    bool null_path;                   /* MAIL FROM:<> */
    bool postmaster;                  /* RCPT TO:<Postmaster> (no domain) */
    bool path_utf8;                   /* non-ASCII in the path */
    bool path_literal;                /* the domain is an address literal */
    bool has_size;
    uint64_t size;
    enum smtp_body_type body;
    bool smtputf8;
    enum smtp_ret ret;
    bool has_envid;
    char envid[SMTP_ENVID_MAX];       /* decoded */
    bool has_auth;                    /* MAIL AUTH= (decoded into auth; "<>" -> "") */
    char auth[SMTP_PATH_MAX];
    unsigned notify;                  /* SMTP_NOTIFY_* bits, 0 = not given */
    char orcpt[SMTP_ORCPT_MAX];       /* "type;decoded", "" = not given */

    /* BDAT */
    uint64_t chunk;
    bool last;
};

/*
 * Parse error codes, outside -errno and OP_E_*. Each maps to one reply;
 * smtp_parse_reply() gives it (code, enhanced code and text).
 */
enum {
    SMTP_PARSE_EMPTY = -10300,  /* 500 5.5.2 nothing on the line */
    SMTP_PARSE_UNKNOWN,         /* 500 5.5.2 unknown command */
    SMTP_PARSE_SYNTAX,          /* 501 5.5.4 bad arguments */
    SMTP_PARSE_PATH,            /* 501 5.1.3 (RCPT) / 5.1.7 (MAIL) bad address */
    SMTP_PARSE_PARAM,           /* 555 5.5.4 unknown or unsupported parameter */
    SMTP_PARSE_PARAM_VALUE,     /* 501 5.5.4 bad parameter value or repeated */
    SMTP_PARSE_NUL,             /* 500 5.5.2 NUL byte in the command */
    SMTP_PARSE_TOOLONG,         /* 500 5.5.2 (line) / 501 5.1.3 (path over its limits) */
};

/* Parse one command line. Returns 0 or an SMTP_PARSE_* code. out is always
 * fully written: verb is the recognised command even when its arguments
 * are wrong (SMTP_UNKNOWN otherwise). */
int smtp_parse(const char *line, size_t len, struct smtp_cmd *out);

/* The whole reply line (without CRLF) for a parse error of a command with
 * verb v: "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]". */
const char *smtp_parse_reply(int code, enum smtp_verb v);

/* Upper-case name of a verb ("MAIL"), "?" for SMTP_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb v);

/* Decode xtext (RFC 3461 section 4) into out (NUL-terminated). Length, or
 * -1 when malformed or when it does not fit. */
int smtp_xtext_decode(const char *in, size_t len, char *out, size_t outlen);
/* Encode (for a DSN's ENVID/ORCPT going out); length or -1 if it does not fit. */
int smtp_xtext_encode(const char *in, size_t len, char *out, size_t outlen);

/* Check one mailbox "local@domain" (no <>) against the RFC 5321/6531
 * grammar and limits; true if valid. utf8 receives whether it has non-ASCII. */
bool smtp_mailbox_valid(const char *p, size_t len, bool *utf8);

#endif
