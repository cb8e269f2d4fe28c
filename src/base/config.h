/*
 * config.h - the INI-style configuration file.
 *
 * Two layers:
 *  - cfg_parse(): a pure parser over (text, len) that reports each
 *    "key = value" with its section and line number. It knows no keys.
 *  - cfg_load(): applies a schema (a table of known keys with their types,
 *    limits, defaults and documentation) to that stream and fills a struct.
 *    Unknown keys, bad values and duplicates are errors naming file:line.
 *
 * Grammar (one construct per line; lines at most CFG_MAX_LINE bytes):
 *     # comment           ; comment
 *     [section]
 *     key = value         value runs to the end of the line, trimmed; an
 *                         unquoted value ends at " #" (an inline comment);
 *     key = "value"       double quotes keep spaces and '#'; \" and \\ escape
 */
#ifndef OP_BASE_CONFIG_H
#define OP_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/buf.h"

#define CFG_MAX_LINE 4096
#define CFG_MAX_NAME 64
#define CFG_MAX_ADDRS 8

/* Called for each key; return 0 to go on, or a negative code after writing a
 * message into err (without file:line, the parser adds it). */
typedef int (*cfg_entry_fn)(void *arg, const char *section, const char *key,
                            const char *value, int line, char *err, size_t errlen);

/* Parse text. On a syntax error returns OP_E_SYNTAX with *errline set and the
 * message in err; a callback's error is returned as it came. */
int cfg_parse(const char *text, size_t len, cfg_entry_fn fn, void *arg,
              int *errline, char *err, size_t errlen);

enum cfg_type {
    CFG_STR,        /* char * (malloc'ed) */
    CFG_BOOL,       /* bool: yes/no, true/false, on/off, 1/0 */
    CFG_UINT,       /* unsigned: decimal within [min, max] */
    CFG_DURATION,   /* unsigned milliseconds: "30s", "5m", "1h", "250ms", "2d"; bare number = seconds */
    CFG_SIZE,       /* uint64_t bytes: "512", "64k", "10M", "1G" */
    CFG_ENUM,       /* int: index into choices[] */
    CFG_ADDRS,      /* struct cfg_addrs: "127.0.0.1:110, [::1]:110"; empty = none */
};

struct cfg_addrs {
    int n;
    struct sockaddr_storage addr[CFG_MAX_ADDRS];
    socklen_t len[CFG_MAX_ADDRS];
};

struct cfg_key {
    const char *section;
    const char *key;
    enum cfg_type type;
    size_t offset;                 /* where the value lives in the target struct */
    const char *dflt;              /* default in the file's own syntax */
    uint64_t min, max;             /* CFG_UINT, CFG_DURATION (ms), CFG_SIZE */
    const char *const *choices;    /* CFG_ENUM, NULL-terminated */
    const char *doc;               /* one or more sentences for the config and docs */
};

/* Fill target from defaults then from text. Errors are appended to errors as
 * "fname:line: message\n" lines; returns the number of errors (0 = valid). */
int cfg_load(const struct cfg_key *schema, size_t nkeys, void *target,
             const char *text, size_t len, const char *fname, struct buf *errors);

/* Apply only the defaults (the embedded default before any file exists). */
void cfg_defaults(const struct cfg_key *schema, size_t nkeys, void *target);

/* Free the strings cfg_load allocated in target. */
void cfg_free(const struct cfg_key *schema, size_t nkeys, void *target);

/* Write a complete config file documenting every key, sections in schema
 * order. set(section,key) may return a value to write uncommented; keys for
 * which it returns NULL are written commented out with their default. */
int cfg_write_commented(const struct cfg_key *schema, size_t nkeys, struct buf *out,
                        const char *header,
                        const char *(*set)(const char *section, const char *key));

/* Typed value parsers, exposed for tests and for command-line flags. */
int cfg_parse_bool(const char *s, bool *out);
int cfg_parse_uint(const char *s, uint64_t *out);
int cfg_parse_duration(const char *s, uint64_t *ms);
int cfg_parse_size(const char *s, uint64_t *bytes);
int cfg_parse_addrs(const char *s, struct cfg_addrs *out, char *err, size_t errlen);
/* "ip:port" / "[ip6]:port" into a sockaddr; 0 or OP_E_SYNTAX */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
