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
 *     [kind NAME]         one of several sections of the same kind, told
 *                         apart by NAME (e.g. [zone example.com])
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

/* The longest NAME in a "[kind NAME]" header (a domain name in text form
 * fits), and the longest section string the callbacks see ("kind NAME"). */
#define CFG_MAX_ITEM 1024
#define CFG_MAX_SECTION (CFG_MAX_NAME + 1 + CFG_MAX_ITEM)

/* Called for each key; return 0 to go on, or a negative code after writing a
 * message into err (without file:line, the parser adds it). A key under a
 * "[kind NAME]" header comes with section "kind NAME" (one space). */
typedef int (*cfg_entry_fn)(void *arg, const char *section, const char *key,
                            const char *value, int line, char *err, size_t errlen);
/* Called for each section header, with the same section string. */
typedef int (*cfg_section_fn)(void *arg, const char *section, int line, char *err,
                              size_t errlen);

/* Parse text. On a syntax error returns OP_E_SYNTAX with *errline set and the
 * message in err; a callback's error is returned as it came. */
int cfg_parse(const char *text, size_t len, cfg_entry_fn fn, void *arg,
              int *errline, char *err, size_t errlen);
/* The same, also reporting each section header to sfn (may be NULL). */
int cfg_parse_sections(const char *text, size_t len, cfg_entry_fn fn, cfg_section_fn sfn,
                       void *arg, int *errline, char *err, size_t errlen);

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

/*
 * A repeated section kind with a name, "[kind NAME]": each header starts one
 * item, a struct of item_size octets in a growing array (struct cfg_list at
 * offset in the target), whose keys are described by keys[] (their section
 * field is the kind). Errors, each at file:line: a kind without a NAME, a
 * NAME that check_name refuses, the same NAME twice (as check_name
 * canonicalises it), unknown keys, bad values, a key twice in one item, and
 * what finish says about a complete item (reported at its header's line).
 */
struct cfg_list {
    size_t n;
    void *items;                   /* n * item_size octets */
};

struct cfg_group {
    const char *kind;              /* "zone" */
    const struct cfg_key *keys;
    size_t nkeys;
    size_t offset;                 /* of the struct cfg_list in the target */
    size_t item_size;
    size_t name_offset;            /* of the item's char *name (canonical form) */
    /* Check NAME; write its canonical form (what duplicates are compared by,
     * and what is stored) into canon. 0, or negative with a sentence in err. */
    int (*check_name)(const char *name, char *canon, size_t canonlen, char *err, size_t errlen);
    /* Check a complete item (e.g. a required key); may be NULL. */
    int (*finish)(void *item, char *err, size_t errlen);
    const char *doc;               /* what one such section is, for the docs */
};

/* Item i of the list at list (items of item_size octets). */
static inline void *cfg_item(const struct cfg_list *list, size_t item_size, size_t i)
{
    return (char *)list->items + i * item_size;
}

/* Fill target from defaults then from text. Errors are appended to errors as
 * "fname:line: message\n" lines; returns the number of errors (0 = valid). */
int cfg_load(const struct cfg_key *schema, size_t nkeys, void *target,
             const char *text, size_t len, const char *fname, struct buf *errors);

/* The same with repeated named sections (groups may be NULL when ngroups is 0). */
int cfg_load_groups(const struct cfg_key *schema, size_t nkeys, const struct cfg_group *groups,
                    size_t ngroups, void *target, const char *text, size_t len,
                    const char *fname, struct buf *errors);
/* Free every item of the groups (their strings, names and arrays). */
void cfg_free_groups(const struct cfg_group *groups, size_t ngroups, void *target);

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

/* Append doc as "# " comment lines wrapped near 76 columns. */
void cfg_write_doc(struct buf *out, const char *doc);

/* Typed value parsers, exposed for tests and for command-line flags. */
int cfg_parse_bool(const char *s, bool *out);
int cfg_parse_uint(const char *s, uint64_t *out);
int cfg_parse_duration(const char *s, uint64_t *ms);
int cfg_parse_size(const char *s, uint64_t *bytes);
int cfg_parse_addrs(const char *s, struct cfg_addrs *out, char *err, size_t errlen);
/* "ip:port" / "[ip6]:port" into a sockaddr; 0 or OP_E_SYNTAX */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
