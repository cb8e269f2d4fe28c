/*
 * parse.h - POP3 command lines into command structs.
 *
 * pop3_parse() is a pure function over (pointer, length): it reads only
 * line[0 .. len), keeps no state, allocates nothing, and the argument
 * pointers it returns point into line. The line is one command WITHOUT its
 * CRLF (the framer strips it and enforces the overall line limit).
 *
 * Grammar (RFC 1939 sections 3-7, RFC 2449 section 3, RFC 2595 section 4,
 * RFC 5034 section 4):
 *   - keyword: 3-4 letters, case-insensitive, at the start of the line
 *     (leading blanks are skipped);
 *   - arguments: separated by one or more SP/HTAB; trailing blanks are
 *     ignored; each is printable ASCII (0x21-0x7e) and at most 40 bytes;
 *   - PASS is the exception: everything after the single SP that follows
 *     the keyword is the password, verbatim (it may contain spaces and any
 *     byte but NUL), 1..255 bytes;
 *   - AUTH's initial response may be up to POP3_MAX_INITIAL_RESPONSE bytes;
 *     "=" stands for an empty response (RFC 5034 section 4).
 *
 * Commands and their arguments:
 *   USER name            arg
 *   PASS password        arg (rest of line)
 *   STAT NOOP RSET QUIT CAPA STLS    none
 *   LIST [msg]  UIDL [msg]           nnum 0 or 1, num[0]
 *   RETR msg  DELE msg               nnum 1, num[0]
 *   TOP msg n                        nnum 2, num[0] message, num[1] lines
 *   AUTH [mech [initial-response]]   arg = mechanism (arglen 0 when absent);
 *                                    arg2 = response: NULL when absent,
 *                                    non-NULL with arg2len 0 for "=" (empty)
 *   APOP name digest                 arg, arg2 (recognised only so that the
 *                                    session can say it is not offered)
 * Message numbers are decimal digits only (leading zeros allowed), value
 * 1..4294967295; TOP's line count may also be 0.
 *
 * The byte-stuffer of multi-line responses (RETR, TOP) is mail/dotstuff.h,
 * shared with the SMTP client.
 */
#ifndef OP_POP3_PARSE_H
#define OP_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_KEYWORD 4           /* RFC 2449 section 3 */
#define POP3_MAX_ARG 40              /* RFC 2449 section 3 */
#define POP3_MAX_PASS 255
#define POP3_MAX_INITIAL_RESPONSE 8192

enum pop3_verb {
    POP3_USER, POP3_PASS, POP3_STAT, POP3_LIST, POP3_RETR, POP3_DELE, POP3_NOOP,
    POP3_RSET, POP3_QUIT, POP3_TOP, POP3_UIDL, POP3_CAPA, POP3_STLS, POP3_AUTH,
    POP3_APOP, POP3_UNKNOWN
};

struct pop3_cmd {
    enum pop3_verb verb;
    int nnum;
    uint32_t num[2];         /* message numbers / line count */
    const char *arg;         /* USER name, PASS password, AUTH mechanism, APOP name */
    size_t arglen;
    const char *arg2;        /* AUTH initial response, APOP digest */
    size_t arg2len;
};

/*
 * Parse error codes. They lie outside both -errno and the OP_E_* codes of
 * base/err.h, so they can travel through the one error space unchanged;
 * pop3_parse_strerror() turns them (and any other code) into a sentence.
 */
enum {
    POP3_PARSE_EMPTY = -10200,  /* nothing but blanks on the line */
    POP3_PARSE_UNKNOWN,         /* keyword is not a command we know */
    POP3_PARSE_ARGS,            /* wrong number or form of arguments */
    POP3_PARSE_NUMBER,          /* not a valid message number / line count */
    POP3_PARSE_NUL,             /* NUL byte in the line */
    POP3_PARSE_TOOLONG,         /* an argument exceeds its limit */
};

/* Parse one command line. Returns 0 or a POP3_PARSE_* code. out is always
 * fully written: verb is the recognised command even when its arguments are
 * wrong (POP3_UNKNOWN when the keyword is unknown), so the caller can answer
 * with the command's usage. */
int pop3_parse(const char *line, size_t len, struct pop3_cmd *out);

/* A human sentence for the text of an -ERR reply; never NULL. Codes that
 * are not POP3_PARSE_* fall back to op_strerror(). */
const char *pop3_parse_strerror(int code);

/* The upper-case name of a verb ("RETR"), "?" for POP3_UNKNOWN. */
const char *pop3_verb_name(enum pop3_verb verb);

#endif
