#include "base/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"

/* ---- the pure parser ---------------------------------------------------- */

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Parse the value part [p, end) into out (size CFG_MAX_LINE). */
static int parse_value(const char *p, const char *end, char *out, char *err, size_t errlen)
{
    size_t n = 0;
    const char *v0 = p;                   /* just after '=' */
    p = skip_ws(p, end);
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end) {
                snprintf(err, errlen, "unterminated quoted value");
                return OP_E_SYNTAX;
            }
            char c = *p++;
            if (c == '"')
                break;
            if (c == '\\') {
                if (p >= end || (*p != '"' && *p != '\\')) {
                    snprintf(err, errlen, "bad escape in quoted value (only \\\" and \\\\)");
                    return OP_E_SYNTAX;
                }
                c = *p++;
            }
            out[n++] = c;
        }
        p = skip_ws(p, end);
        if (p < end && *p != '#' && *p != ';') {
            snprintf(err, errlen, "text after the closing quote");
            return OP_E_SYNTAX;
        }
        out[n] = '\0';
        return 0;
    }
    const char *stop = end;
    for (const char *q = p; q < end; q++) {
        /* Compared with v0, not p, so that "key = # note" is an empty value. */
        if ((*q == '#' || *q == ';') && q > v0 && (q[-1] == ' ' || q[-1] == '\t')) {
            stop = q;
            break;
        }
    }
    while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
    n = (size_t)(stop - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* A character of the NAME in a "[kind NAME]" header: anything printable but
 * blanks, brackets, quotes and the comment characters. */
static bool is_item_char(char c)
{
    return (unsigned char)c > ' ' && (unsigned char)c < 0x7f && !strchr("[]\"#;", c);
}

int cfg_parse(const char *text, size_t len, cfg_entry_fn fn, void *arg,
              int *errline, char *err, size_t errlen)
{
    return cfg_parse_sections(text, len, fn, NULL, arg, errline, err, errlen);
}

int cfg_parse_sections(const char *text, size_t len, cfg_entry_fn fn, cfg_section_fn sfn,
                       void *arg, int *errline, char *err, size_t errlen)
{
    char section[CFG_MAX_SECTION + 1] = "";
    char key[CFG_MAX_NAME + 1];
    *errline = 0;
    if (errlen)
        err[0] = '\0';
    char *value = malloc(CFG_MAX_LINE + 1);
    if (!value) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const char *p = text, *end = text + len;
    int line = 0, r = 0;

    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *lend = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (lend > p && lend[-1] == '\r')
            lend--;
        if ((size_t)(lend - p) > CFG_MAX_LINE) {
            snprintf(err, errlen, "line longer than %d bytes", CFG_MAX_LINE);
            r = OP_E_SYNTAX;
            goto fail;
        }
        if (memchr(p, '\0', (size_t)(lend - p))) {
            snprintf(err, errlen, "NUL byte in line");
            r = OP_E_SYNTAX;
            goto fail;
        }
        const char *q = skip_ws(p, lend);
        if (q == lend || *q == '#' || *q == ';') {
            p = next;
            continue;
        }
        if (*q == '[') {
            q++;
            const char *s = q;
            while (q < lend && is_name_char(*q))
                q++;
            size_t kind_len = (size_t)(q - s);
            size_t sl = kind_len;
            if (kind_len > 0 && kind_len <= CFG_MAX_NAME)
                memcpy(section, s, kind_len);
            /* A repeated section kind carries a name: "[zone example.com]". */
            const char *ns = skip_ws(q, lend);
            if (kind_len > 0 && ns > q && ns < lend && is_item_char(*ns)) {
                q = ns;
                while (q < lend && is_item_char(*q))
                    q++;
                size_t nl = (size_t)(q - ns);
                if (nl > CFG_MAX_ITEM) {
                    snprintf(err, errlen, "section name longer than %d characters", CFG_MAX_ITEM);
                    r = OP_E_SYNTAX;
                    goto fail;
                }
                section[sl++] = ' ';
                memcpy(section + sl, ns, nl);
                sl += nl;
                q = skip_ws(q, lend);
            }
            if (kind_len == 0 || q >= lend || *q != ']' || kind_len > CFG_MAX_NAME) {
                snprintf(err, errlen, "bad section header (expected [name] or [kind NAME])");
                section[0] = '\0';
                r = OP_E_SYNTAX;
                goto fail;
            }
            section[sl] = '\0';
            q = skip_ws(q + 1, lend);
            if (q < lend && *q != '#' && *q != ';') {
                snprintf(err, errlen, "text after section header");
                r = OP_E_SYNTAX;
                goto fail;
            }
            if (sfn && (r = sfn(arg, section, line, err, errlen)) < 0)
                goto fail;
            p = next;
            continue;
        }
        const char *s = q;
        while (q < lend && is_name_char(*q))
            q++;
        if (q == s || (size_t)(q - s) > CFG_MAX_NAME) {
            snprintf(err, errlen, "expected 'key = value'");
            r = OP_E_SYNTAX;
            goto fail;
        }
        memcpy(key, s, (size_t)(q - s));
        key[q - s] = '\0';
        q = skip_ws(q, lend);
        if (q >= lend || *q != '=') {
            snprintf(err, errlen, "expected '=' after '%s'", key);
            r = OP_E_SYNTAX;
            goto fail;
        }
        if (section[0] == '\0') {
            snprintf(err, errlen, "key '%s' before any [section]", key);
            r = OP_E_SYNTAX;
            goto fail;
        }
        r = parse_value(q + 1, lend, value, err, errlen);
        if (r < 0)
            goto fail;
        r = fn(arg, section, key, value, line, err, errlen);
        if (r < 0)
            goto fail;
        p = next;
    }
    free(value);
    return 0;
fail:
    *errline = line;
    free(value);
    return r;
}

/* ---- typed values -------------------------------------------------------- */

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (str_ieq(s, strlen(s), yes[i])) { *out = true; return 0; }
        if (str_ieq(s, strlen(s), no[i]))  { *out = false; return 0; }
    }
    return OP_E_SYNTAX;
}

/* The decimal digits at *s (at least one), without overflow; *s is left
 * after them. */
static int take_digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    if (!isdigit((unsigned char)*p))
        return OP_E_SYNTAX;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return OP_E_SYNTAX;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return 0;
}

int cfg_parse_uint(const char *s, uint64_t *out)
{
    uint64_t v;
    if (take_digits(&s, &v) < 0 || *s)
        return OP_E_SYNTAX;
    *out = v;
    return 0;
}

/* A number followed by a unit from the table; mult is the unit's factor. */
static int parse_with_unit(const char *s, const char *const *units, const uint64_t *mult,
                           size_t nunits, uint64_t dflt_mult, uint64_t *out)
{
    uint64_t v;
    if (take_digits(&s, &v) < 0)
        return OP_E_SYNTAX;
    uint64_t m = dflt_mult;
    if (*s) {
        size_t i;
        for (i = 0; i < nunits; i++)
            if (str_ieq(s, strlen(s), units[i]))
                break;
        if (i == nunits)
            return OP_E_SYNTAX;
        m = mult[i];
    }
    if (m && v > UINT64_MAX / m)
        return OP_E_SYNTAX;
    *out = v * m;
    return 0;
}

int cfg_parse_duration(const char *s, uint64_t *ms)
{
    static const char *const u[] = {"ms", "s", "m", "h", "d"};
    static const uint64_t m[] = {1, 1000, 60000, 3600000, 86400000};
    return parse_with_unit(s, u, m, ARRAY_LEN(u), 1000, ms);
}

int cfg_parse_size(const char *s, uint64_t *bytes)
{
    static const char *const u[] = {"k", "m", "g", "kb", "mb", "gb", "kib", "mib", "gib"};
    static const uint64_t K = 1024, M = 1024 * 1024, G = 1024ull * 1024 * 1024;
    static const uint64_t m[] = {K, M, G, K, M, G, K, M, G};
    return parse_with_unit(s, u, m, ARRAY_LEN(u), 1, bytes);
}

int cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port;
    memset(ss, 0, sizeof *ss);
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return OP_E_SYNTAX;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon)
            return OP_E_SYNTAX;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    uint64_t pv;
    if (cfg_parse_uint(port, &pv) < 0 || pv > 65535)
        return OP_E_SYNTAX;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)pv);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)pv);
        *len = sizeof *v6;
        return 0;
    }
    return OP_E_SYNTAX;
}

int cfg_parse_addrs(const char *s, struct cfg_addrs *out, char *err, size_t errlen)
{
    out->n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        char one[80];
        if ((size_t)(e - p) >= sizeof one) {
            snprintf(err, errlen, "address too long");
            return OP_E_SYNTAX;
        }
        memcpy(one, p, (size_t)(e - p));
        one[e - p] = '\0';
        if (out->n == CFG_MAX_ADDRS) {
            snprintf(err, errlen, "more than %d addresses", CFG_MAX_ADDRS);
            return OP_E_SYNTAX;
        }
        if (cfg_parse_addr(one, &out->addr[out->n], &out->len[out->n]) < 0) {
            snprintf(err, errlen, "'%s' is not an address:port (e.g. 127.0.0.1:110 or [::1]:110)", one);
            return OP_E_SYNTAX;
        }
        out->n++;
        p = e;
    }
    return 0;
}

/* ---- the schema ----------------------------------------------------------- */

struct load_ctx {
    const struct cfg_key *schema;
    size_t nkeys;
    void *target;
    unsigned char *seen;          /* one flag per key: duplicates are errors */
    const char *fname;
    struct buf *errors;
    int nerr;
    /* repeated named sections */
    const struct cfg_group *groups;
    size_t ngroups;
    const struct cfg_group *cur_group;  /* the item being filled, if any */
    void *cur_item;
    int cur_line;                 /* its header's line */
    unsigned char cur_seen[64];   /* one flag per group key */
};

static void *field(void *target, const struct cfg_key *k)
{
    return (char *)target + k->offset;
}

/* Store value into the field of key k; on error write a message into err. */
static int set_value(const struct cfg_key *k, void *target, const char *value,
                     char *err, size_t errlen)
{
    void *f = field(target, k);
    uint64_t v;
    switch (k->type) {
    case CFG_STR: {
        char *d = strdup(value);
        if (!d)
            return -ENOMEM;
        free(*(char **)f);
        *(char **)f = d;
        return 0;
    }
    case CFG_BOOL:
        if (cfg_parse_bool(value, (bool *)f) < 0) {
            snprintf(err, errlen, "%s: '%s' is not yes or no", k->key, value);
            return OP_E_SYNTAX;
        }
        return 0;
    case CFG_UINT:
    case CFG_DURATION:
    case CFG_SIZE: {
        int r = k->type == CFG_UINT ? cfg_parse_uint(value, &v)
              : k->type == CFG_DURATION ? cfg_parse_duration(value, &v)
              : cfg_parse_size(value, &v);
        const char *what = k->type == CFG_UINT ? "a number"
                         : k->type == CFG_DURATION ? "a duration (e.g. 30s, 5m, 1h)"
                         : "a size (e.g. 512, 64k, 10M)";
        if (r < 0) {
            snprintf(err, errlen, "%s: '%s' is not %s", k->key, value, what);
            return OP_E_SYNTAX;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: %s is out of range", k->key, value);
            return OP_E_SYNTAX;
        }
        if (k->type == CFG_SIZE)
            *(uint64_t *)f = v;
        else
            *(unsigned *)f = (unsigned)v;
        return 0;
    }
    case CFG_ENUM:
        for (int i = 0; k->choices[i]; i++) {
            if (strcmp(value, k->choices[i]) == 0) {
                *(int *)f = i;
                return 0;
            }
        }
        {
            size_t o = (size_t)snprintf(err, errlen, "%s: '%s' is not one of", k->key, value);
            for (int i = 0; k->choices[i] && o < errlen; i++)
                o += (size_t)snprintf(err + o, errlen - o, " %s", k->choices[i]);
        }
        return OP_E_SYNTAX;
    case CFG_ADDRS: {
        char e2[200];
        if (cfg_parse_addrs(value, (struct cfg_addrs *)f, e2, sizeof e2) < 0) {
            snprintf(err, errlen, "%s: %s", k->key, e2);
            return OP_E_SYNTAX;
        }
        return 0;
    }
    }
    return OP_E_SYNTAX;
}

/* The item under way is complete: let its group judge it. */
static void finish_item(struct load_ctx *c)
{
    if (c->cur_item && c->cur_group->finish) {
        char msg[512];
        if (c->cur_group->finish(c->cur_item, msg, sizeof msg) < 0) {
            buf_printf(c->errors, "%s:%d: [%s %s] %s\n", c->fname, c->cur_line, c->cur_group->kind,
                       *(char **)((char *)c->cur_item + c->cur_group->name_offset), msg);
            c->nerr++;
        }
    }
    c->cur_group = NULL;
    c->cur_item = NULL;
}

static const struct cfg_group *find_group(const struct load_ctx *c, const char *kind, size_t n)
{
    for (size_t i = 0; i < c->ngroups; i++)
        if (strlen(c->groups[i].kind) == n && memcmp(c->groups[i].kind, kind, n) == 0)
            return &c->groups[i];
    return NULL;
}

/* A section header: a "[kind NAME]" starts a new item of its group. */
static int on_section(void *arg, const char *section, int line, char *err, size_t errlen)
{
    struct load_ctx *c = arg;
    finish_item(c);
    const char *sp = strchr(section, ' ');
    size_t klen = sp ? (size_t)(sp - section) : strlen(section);
    const struct cfg_group *g = find_group(c, section, klen);
    if (!g) {
        if (sp) {
            buf_printf(c->errors, "%s:%d: unknown section kind [%.*s NAME]\n", c->fname, line,
                       (int)klen, section);
            c->nerr++;
        }
        return 0;                       /* plain sections: keys say the rest */
    }
    if (!sp) {
        buf_printf(c->errors, "%s:%d: [%s] needs a name: [%s NAME]\n", c->fname, line, g->kind,
                   g->kind);
        c->nerr++;
        return 0;
    }
    char canon[CFG_MAX_ITEM + 1], msg[512];
    if (g->check_name(sp + 1, canon, sizeof canon, msg, sizeof msg) < 0) {
        buf_printf(c->errors, "%s:%d: [%s %s] %s\n", c->fname, line, g->kind, sp + 1, msg);
        c->nerr++;
        return 0;
    }
    struct cfg_list *list = (struct cfg_list *)((char *)c->target + g->offset);
    for (size_t i = 0; i < list->n; i++) {
        const char *other = *(char **)((char *)cfg_item(list, g->item_size, i) + g->name_offset);
        if (strcmp(other, canon) == 0) {
            buf_printf(c->errors, "%s:%d: [%s %s] appears twice\n", c->fname, line, g->kind,
                       sp + 1);
            c->nerr++;
            return 0;
        }
    }
    void *items = realloc(list->items, (list->n + 1) * g->item_size);
    char *name = strdup(canon);
    if (!items || !name) {
        free(name);
        if (items)
            list->items = items;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    list->items = items;
    void *item = cfg_item(list, g->item_size, list->n++);
    memset(item, 0, g->item_size);
    *(char **)((char *)item + g->name_offset) = name;
    cfg_defaults(g->keys, g->nkeys, item);
    c->cur_group = g;
    c->cur_item = item;
    c->cur_line = line;
    memset(c->cur_seen, 0, sizeof c->cur_seen);
    return 0;
}

/* A key inside a "[kind NAME]" section. */
/* Set key k of target from value, once: a second setting, or a bad value,
 * is an error reported at file:line (and loading goes on, so every error
 * is reported); only running out of memory stops it. */
static int apply_key(struct load_ctx *c, const struct cfg_key *k, unsigned char *seen,
                     void *target, const char *section, const char *value, int line,
                     char *err, size_t errlen)
{
    if (*seen) {
        buf_printf(c->errors, "%s:%d: [%s] %s is set twice\n", c->fname, line, section, k->key);
        c->nerr++;
        return 0;
    }
    *seen = 1;
    char msg[512];
    int r = set_value(k, target, value, msg, sizeof msg);
    if (r == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return r;
    }
    if (r < 0) {
        buf_printf(c->errors, "%s:%d: [%s] %s\n", c->fname, line, section, msg);
        c->nerr++;
    }
    return 0;
}

static int on_group_entry(struct load_ctx *c, const char *section, const char *key,
                          const char *value, int line, char *err, size_t errlen)
{
    const char *sp = strchr(section, ' ');
    const struct cfg_group *g = find_group(c, section, (size_t)(sp - section));
    if (!g || !c->cur_item)
        return 0;                       /* the header's error was reported */
    for (size_t i = 0; i < g->nkeys && i < sizeof c->cur_seen; i++) {
        const struct cfg_key *k = &g->keys[i];
        if (strcmp(k->key, key) != 0)
            continue;
        return apply_key(c, k, &c->cur_seen[i], c->cur_item, section, value, line, err, errlen);
    }
    buf_printf(c->errors, "%s:%d: unknown key '%s' in [%s]\n", c->fname, line, key, section);
    c->nerr++;
    return 0;
}

static int on_entry(void *arg, const char *section, const char *key, const char *value,
                    int line, char *err, size_t errlen)
{
    struct load_ctx *c = arg;
    if (strchr(section, ' '))
        return on_group_entry(c, section, key, value, line, err, errlen);
    for (size_t i = 0; i < c->nkeys; i++) {
        const struct cfg_key *k = &c->schema[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->key, key) != 0)
            continue;
        return apply_key(c, k, &c->seen[i], c->target, section, value, line, err, errlen);
    }
    bool known_section = false;
    for (size_t i = 0; i < c->nkeys; i++)
        if (strcmp(c->schema[i].section, section) == 0)
            known_section = true;
    if (find_group(c, section, strlen(section)))
        return 0;                       /* "[zone]" without a name: reported */
    if (known_section)
        buf_printf(c->errors, "%s:%d: unknown key '%s' in [%s]\n", c->fname, line, key, section);
    else
        buf_printf(c->errors, "%s:%d: unknown section [%s]\n", c->fname, line, section);
    c->nerr++;
    return 0;
}

void cfg_defaults(const struct cfg_key *schema, size_t nkeys, void *target)
{
    for (size_t i = 0; i < nkeys; i++) {
        char err[256];
        /* Defaults are part of the program; a bad one is a programming error. */
        if (set_value(&schema[i], target, schema[i].dflt ? schema[i].dflt : "", err, sizeof err) < 0) {
            fprintf(stderr, "outpost: internal: bad default for [%s] %s: %s\n",
                    schema[i].section, schema[i].key, err);
            abort();
        }
    }
}

int cfg_load(const struct cfg_key *schema, size_t nkeys, void *target,
             const char *text, size_t len, const char *fname, struct buf *errors)
{
    return cfg_load_groups(schema, nkeys, NULL, 0, target, text, len, fname, errors);
}

int cfg_load_groups(const struct cfg_key *schema, size_t nkeys, const struct cfg_group *groups,
                    size_t ngroups, void *target, const char *text, size_t len,
                    const char *fname, struct buf *errors)
{
    cfg_defaults(schema, nkeys, target);
    for (size_t i = 0; i < ngroups; i++)
        memset((char *)target + groups[i].offset, 0, sizeof(struct cfg_list));
    struct load_ctx c = {schema, nkeys, target, calloc(nkeys ? nkeys : 1, 1), fname, errors, 0,
                         groups, ngroups, NULL, NULL, 0, {0}};
    if (!c.seen)
        return -ENOMEM;
    int line;
    char err[512];
    int r = cfg_parse_sections(text, len, on_entry, ngroups ? on_section : NULL, &c, &line, err,
                               sizeof err);
    if (r < 0) {
        buf_printf(errors, "%s:%d: %s\n", fname, line, err);
        c.nerr++;
    } else {
        finish_item(&c);
    }
    free(c.seen);
    return c.nerr;
}

void cfg_free_groups(const struct cfg_group *groups, size_t ngroups, void *target)
{
    for (size_t g = 0; g < ngroups; g++) {
        struct cfg_list *list = (struct cfg_list *)((char *)target + groups[g].offset);
        for (size_t i = 0; i < list->n; i++) {
            char *item = cfg_item(list, groups[g].item_size, i);
            cfg_free(groups[g].keys, groups[g].nkeys, item);
            free(*(char **)(item + groups[g].name_offset));
        }
        free(list->items);
        list->items = NULL;
        list->n = 0;
    }
}

void cfg_free(const struct cfg_key *schema, size_t nkeys, void *target)
{
    for (size_t i = 0; i < nkeys; i++) {
        if (schema[i].type == CFG_STR) {
            char **f = field(target, &schema[i]);
            free(*f);
            *f = NULL;
        }
    }
}

/* Write doc text as "# " comment lines wrapped near 76 columns. */
void cfg_write_doc(struct buf *out, const char *doc)
{
    const char *p = doc;
    while (*p) {
        size_t n = strlen(p);
        if (n > 74) {
            n = 74;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = 74;
        }
        buf_printf(out, "# %.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* Whether v must be quoted to read back unchanged: it holds a comment
 * character, a quote or a backslash, or blanks at either end (which an
 * unquoted value loses to trimming). */
static bool needs_quotes(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return false;
    if (strpbrk(v, "#;\"\\"))
        return true;
    return v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t';
}

/* Append v in the file's syntax, quoted with \" and \\ escapes if needed. */
static void write_value(struct buf *out, const char *v)
{
    if (!needs_quotes(v)) {
        buf_puts(out, v);
        return;
    }
    buf_puts(out, "\"");
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_append(out, "\\", 1);
        buf_append(out, c, 1);
    }
    buf_puts(out, "\"");
}

int cfg_write_commented(const struct cfg_key *schema, size_t nkeys, struct buf *out,
                        const char *header,
                        const char *(*set)(const char *section, const char *key))
{
    if (header)
        buf_puts(out, header);
    const char *section = NULL;
    for (size_t i = 0; i < nkeys; i++) {
        const struct cfg_key *k = &schema[i];
        if (!section || strcmp(section, k->section) != 0) {
            section = k->section;
            buf_printf(out, "\n[%s]\n", section);
        }
        buf_puts(out, "\n");
        cfg_write_doc(out, k->doc);
        const char *v = set ? set(k->section, k->key) : NULL;
        const char *d = k->dflt ? k->dflt : "";
        buf_printf(out, "%s%s = ", v ? "" : "#", k->key);
        write_value(out, v ? v : d);
        buf_puts(out, "\n");
    }
    return buf_cstr(out) ? 0 : -ENOMEM;
}
