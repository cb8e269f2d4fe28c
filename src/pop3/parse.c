/*
 * parse.c - POP3 command parsing; the contract is in parse.h.
 */
#include "pop3/parse.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"

/* ---- command lines ------------------------------------------------------- */

/* How the arguments of each command are shaped. */
enum arg_shape {
    SHAPE_NONE,      /* no arguments */
    SHAPE_NAME,      /* USER name */
    SHAPE_REST,      /* PASS: the rest of the line */
    SHAPE_OPTMSG,    /* LIST, UIDL: [msg] */
    SHAPE_MSG,       /* RETR, DELE: msg */
    SHAPE_TOP,       /* TOP msg n */
    SHAPE_AUTH,      /* AUTH [mechanism [initial-response]] */
    SHAPE_APOP,      /* APOP name digest */
};

struct verb_rule {
    const char *name;
    enum pop3_verb verb;
    enum arg_shape shape;
};

static const struct verb_rule verb_rules[] = {
    {"USER", POP3_USER, SHAPE_NAME},
    {"PASS", POP3_PASS, SHAPE_REST},
    {"STAT", POP3_STAT, SHAPE_NONE},
    {"LIST", POP3_LIST, SHAPE_OPTMSG},
    {"RETR", POP3_RETR, SHAPE_MSG},
    {"DELE", POP3_DELE, SHAPE_MSG},
    {"NOOP", POP3_NOOP, SHAPE_NONE},
    {"RSET", POP3_RSET, SHAPE_NONE},
    {"QUIT", POP3_QUIT, SHAPE_NONE},
    {"TOP",  POP3_TOP,  SHAPE_TOP},
    {"UIDL", POP3_UIDL, SHAPE_OPTMSG},
    {"CAPA", POP3_CAPA, SHAPE_NONE},
    {"STLS", POP3_STLS, SHAPE_NONE},
    {"AUTH", POP3_AUTH, SHAPE_AUTH},
    {"APOP", POP3_APOP, SHAPE_APOP},
};

/* At most three words are kept; a fourth only marks "too many". */
#define MAX_WORDS 3

struct words {
    int n;                       /* words found, MAX_WORDS + 1 = too many */
    const char *p[MAX_WORDS];
    size_t len[MAX_WORDS];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 2449 section 3: keywords and arguments are printable ASCII. */
static bool is_arg_char(char c)
{
    return (unsigned char)c >= 0x21 && (unsigned char)c <= 0x7e;
}

/* Split [p, end) into words separated by runs of blanks; leading and
 * trailing blanks are tolerated. Any other non-printable byte is an error. */
static int split_words(const char *p, const char *end, struct words *w)
{
    w->n = 0;
    for (;;) {
        while (p < end && is_blank(*p))
            p++;
        if (p == end)
            return 0;
        const char *s = p;
        while (p < end && !is_blank(*p)) {
            if (!is_arg_char(*p))
                return POP3_PARSE_ARGS;
            p++;
        }
        if (w->n == MAX_WORDS) {
            w->n = MAX_WORDS + 1;
            return 0;
        }
        w->p[w->n] = s;
        w->len[w->n] = (size_t)(p - s);
        w->n++;
    }
}

/* A message number or line count: decimal digits only, no sign, no base
 * prefix; leading zeros are harmless (RFC 1939 section 3 only says
 * "decimal"). A message number is 1 to 2^32-1. A line count (TOP's second
 * argument) may be 0, and has no upper bound in RFC 1939 section 7: a count
 * beyond the body means all of it, so a larger one is taken as 2^32-1. */
static int parse_number(const char *p, size_t n, bool is_count, uint32_t *out)
{
    if (n > POP3_MAX_ARG)
        return POP3_PARSE_TOOLONG;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return POP3_PARSE_NUMBER;
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > UINT32_MAX) {
            if (!is_count)
                return POP3_PARSE_NUMBER;
            v = UINT32_MAX;     /* saturate; keep checking the digits */
        }
    }
    if (n == 0 || (v == 0 && !is_count))
        return POP3_PARSE_NUMBER;
    *out = (uint32_t)v;
    return 0;
}

static int check_len(size_t n, size_t max)
{
    return n > max ? POP3_PARSE_TOOLONG : 0;
}

/* USER name / APOP name digest: every word at most POP3_MAX_ARG. */
static int parse_words_exact(const struct words *w, int want, struct pop3_cmd *out)
{
    if (w->n != want)
        return POP3_PARSE_ARGS;
    for (int i = 0; i < w->n; i++)
        if (check_len(w->len[i], POP3_MAX_ARG) < 0)
            return POP3_PARSE_TOOLONG;
    out->arg = w->p[0];
    out->arglen = w->len[0];
    if (want > 1) {
        out->arg2 = w->p[1];
        out->arg2len = w->len[1];
    }
    return 0;
}

static int parse_msgs(const struct words *w, int min, int max, struct pop3_cmd *out)
{
    if (w->n < min || w->n > max)
        return POP3_PARSE_ARGS;
    for (int i = 0; i < w->n; i++) {
        /* The second number of TOP is a line count and may be 0. */
        int r = parse_number(w->p[i], w->len[i], i == 1, &out->num[i]);
        if (r < 0)
            return r;
    }
    out->nnum = w->n;
    return 0;
}

/* RFC 5034 section 4: AUTH mechanism [initial-response], "=" being an
 * empty initial response. A bare AUTH is accepted too: some clients send it
 * to have the mechanisms listed. */
static int parse_auth(const struct words *w, struct pop3_cmd *out)
{
    if (w->n > 2)
        return POP3_PARSE_ARGS;
    if (w->n == 0)
        return 0;
    if (check_len(w->len[0], POP3_MAX_ARG) < 0)
        return POP3_PARSE_TOOLONG;
    out->arg = w->p[0];
    out->arglen = w->len[0];
    if (w->n == 2) {
        /* Clients keep the line within 255 octets (RFC 5034 section 4);
         * the framer's limit rules, this bound only keeps it sane. */
        if (check_len(w->len[1], POP3_MAX_INITIAL_RESPONSE) < 0)
            return POP3_PARSE_TOOLONG;
        out->arg2 = w->p[1];
        out->arg2len = (w->len[1] == 1 && w->p[1][0] == '=') ? 0 : w->len[1];
    }
    return 0;
}

/* RFC 1939 section 7: PASS string, where the string is everything after
 * the one space that follows the keyword, so passwords may hold spaces. */
static int parse_pass(const char *kw_end, const char *end, struct pop3_cmd *out)
{
    if (kw_end == end || *kw_end != ' ' || end - kw_end < 2)
        return POP3_PARSE_ARGS;
    size_t n = (size_t)(end - kw_end - 1);
    if (n > POP3_MAX_PASS)
        return POP3_PARSE_TOOLONG;
    out->arg = kw_end + 1;
    out->arglen = n;
    return 0;
}

static int parse_args(enum arg_shape shape, const char *kw_end, const char *end,
                      struct pop3_cmd *out)
{
    if (shape == SHAPE_REST)
        return parse_pass(kw_end, end, out);
    struct words w;
    int r = split_words(kw_end, end, &w);
    if (r < 0)
        return r;
    switch (shape) {
    case SHAPE_NONE:   return w.n == 0 ? 0 : POP3_PARSE_ARGS;
    case SHAPE_NAME:   return parse_words_exact(&w, 1, out);
    case SHAPE_APOP:   return parse_words_exact(&w, 2, out);
    case SHAPE_OPTMSG: return parse_msgs(&w, 0, 1, out);
    case SHAPE_MSG:    return parse_msgs(&w, 1, 1, out);
    case SHAPE_TOP:    return parse_msgs(&w, 2, 2, out);
    case SHAPE_AUTH:   return parse_auth(&w, out);
    case SHAPE_REST:   break;
    }
    return POP3_PARSE_ARGS;
}

static const struct verb_rule *find_verb(const char *kw, size_t n)
{
    /* RFC 2449 section 3: keywords are three or four characters. */
    if (n < 3 || n > POP3_MAX_KEYWORD)
        return NULL;
    for (size_t i = 0; i < ARRAY_LEN(verb_rules); i++)
        if (str_ieq(kw, n, verb_rules[i].name))     /* RFC 1939 section 3: case-insensitive */
            return &verb_rules[i];
    return NULL;
}

int pop3_parse(const char *line, size_t len, struct pop3_cmd *out)
{
    memset(out, 0, sizeof *out);
    out->verb = POP3_UNKNOWN;
    const char *p = line, *end = line + len;
    while (p < end && is_blank(*p))
        p++;
    if (p == end)
        return POP3_PARSE_EMPTY;
    const char *kw = p;
    while (p < end && !is_blank(*p))
        p++;
    const struct verb_rule *rule = find_verb(kw, (size_t)(p - kw));
    if (rule)
        out->verb = rule->verb;
    /* Checked over the whole line, the password included: a NUL would cut
     * the value short in any C-string consumer further on. */
    if (memchr(line, '\0', len))
        return POP3_PARSE_NUL;
    if (!rule)
        return POP3_PARSE_UNKNOWN;
    int r = parse_args(rule->shape, p, end, out);
    if (r < 0) {
        enum pop3_verb v = out->verb;
        memset(out, 0, sizeof *out);
        out->verb = v;
    }
    return r;
}

const char *pop3_parse_strerror(int code)
{
    switch (code) {
    case POP3_PARSE_EMPTY:   return "empty command line";
    case POP3_PARSE_UNKNOWN: return "unknown command";
    case POP3_PARSE_ARGS:    return "wrong number or form of arguments for this command";
    case POP3_PARSE_NUMBER:  return "not a valid message number or line count";
    case POP3_PARSE_NUL:     return "NUL byte in command line";
    case POP3_PARSE_TOOLONG: return "argument too long";
    default:                 return op_strerror(code);
    }
}

const char *pop3_verb_name(enum pop3_verb verb)
{
    for (size_t i = 0; i < ARRAY_LEN(verb_rules); i++)
        if (verb_rules[i].verb == verb)
            return verb_rules[i].name;
    return "?";
}
