/*
 * zonefile.c - reading master files (RFC 1035 section 5) record by record.
 *
 * A file is read into memory in one go and cut into records by the lexer
 * (zonefile_lex.c); each record's tokens are read here into owner, TTL,
 * class and type, and its RDATA goes through dns_rdata_from_text() into
 * one buffer reused for every record. Nothing is allocated per record.
 */
#include "dns/zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/rdata.h"
#include "dns/zonefile_lex.h"

/* $INCLUDE nesting deeper than this is refused (a file including itself
 * would otherwise never end). */
#define ZF_MAXDEPTH 8

/* RFC 2181 section 8: a TTL is 31 bits; larger ones are taken as zero. */
#define ZF_TTL_MAX 2147483647u

struct zf {
    dns_zonefile_cb cb;
    void *arg;
    struct buf *errors;
    struct ztoks toks;
    uint8_t *rdata;                /* DNS_RDATA_MAX octets */
    uint16_t zclass;               /* the zone's class */
    bool have_default;             /* $TTL seen */
    uint32_t default_ttl;
    bool have_last;                /* a TTL was given on some record */
    uint32_t last_ttl;
    bool warned_ttl;
    bool have_owner;
    struct dns_name owner;         /* the previous record's */
    char **paths;                  /* included files' names, kept for struct dns_src */
    size_t npaths;
};

/* Per file being read. */
struct zfile {
    const char *name;
    const char *dir;               /* for $INCLUDE; NULL where it is refused */
    struct dns_name origin;
    int depth;
};

static int report(struct zf *z, const struct zfile *f, unsigned line, bool warning,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int report(struct zf *z, const struct zfile *f, unsigned line, bool warning,
                  const char *fmt, ...)
{
    if (z->errors) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        buf_printf(z->errors, "%s:%u: %s%s\n", f->name, line, warning ? "warning: " : "", msg);
    }
    return OP_E_SYNTAX;
}

static bool tok_is(const struct dns_token *t, const char *s)
{
    return !t->quoted && t->len == strlen(s) && strncasecmp(t->text, s, t->len) == 0;
}

/* A token made printable for messages. */
static const char *shown(const struct dns_token *t, char buf[72])
{
    size_t n = t->len < 64 ? t->len : 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t->text[i];
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(buf + n, t->len > 64 ? "..." : "");
    return buf;
}

static int name_of(struct zf *z, const struct zfile *f, unsigned line, const struct dns_token *t,
                   const struct dns_name *origin, struct dns_name *out, const char *what)
{
    char sh[72];
    if (!t->quoted && t->len == 1 && t->text[0] == '@') {
        *out = *origin;
        return 0;
    }
    int r = dns_name_from_text(out, t->text, t->len, origin);
    if (r == OP_E_TOOLONG)
        return report(z, f, line, false, "%s '%s' is too long (labels up to 63, names up to "
                      "255 octets)", what, shown(t, sh));
    if (r < 0)
        return report(z, f, line, false, "%s '%s' is not a domain name", what, shown(t, sh));
    return 0;
}

static int read_text(struct zf *z, struct zfile *f, const char *text, size_t len);

static int read_path(struct zf *z, const char *path, const char *shown_name,
                     const struct dns_name *origin, int depth, const struct zfile *from,
                     unsigned from_line)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = -errno;
        if (fd >= 0)
            close(fd);
        if (from)
            report(z, from, from_line, false, "cannot read %s: %s", path, strerror(-e));
        else if (z->errors)
            buf_printf(z->errors, "%s: cannot read it: %s\n", path, strerror(-e));
        return e;
    }
    /* The whole file at once: mapped when it is a regular file (no copy),
     * read otherwise. The lexer never reads past the length. */
    size_t size = (size_t)st.st_size, got = 0;
    char *text = NULL;
    bool mapped = false;
    if (S_ISREG(st.st_mode) && size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            madvise(m, size, MADV_SEQUENTIAL);
            text = m;
            got = size;
            mapped = true;
        }
    }
    if (!mapped) {
        size_t cap = size > 0 ? size : 65536;
        text = malloc(cap);
        for (;;) {
            if (!text) {
                close(fd);
                return -ENOMEM;
            }
            ssize_t n = read(fd, text + got, cap - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int e = -errno;
                free(text);
                close(fd);
                return e;
            }
            if (n == 0)
                break;
            got += (size_t)n;
            if (got == cap) {
                char *t2 = realloc(text, cap * 2);
                if (!t2)
                    free(text);
                text = t2;
                cap *= 2;
            }
        }
    }
    close(fd);

    /* $INCLUDE names are relative to the directory of the including file. */
    char *dir = strdup(path);
    if (!dir) {
        if (mapped)
            munmap(text, size);
        else
            free(text);
        return -ENOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    else
        strcpy(dir, ".");

    struct zfile f = {shown_name, dir, *origin, depth};
    int r = read_text(z, &f, text, got);
    free(dir);
    if (mapped)
        munmap(text, size);
    else
        free(text);
    return r;
}

static int directive(struct zf *z, struct zfile *f, unsigned line, const struct dns_token *t,
                     size_t n)
{
    char sh[72];
    if (tok_is(&t[0], "$ORIGIN")) {
        if (n != 2)
            return report(z, f, line, false, "$ORIGIN takes one domain name");
        struct dns_name o;
        if (name_of(z, f, line, &t[1], &f->origin, &o, "$ORIGIN") < 0)
            return OP_E_SYNTAX;
        f->origin = o;
        return 0;
    }
    if (tok_is(&t[0], "$TTL")) {
        uint32_t ttl;
        if (n != 2)
            return report(z, f, line, false, "$TTL takes one TTL");
        if (dns_ttl_from_text(t[1].text, t[1].len, &ttl) < 0)
            return report(z, f, line, false, "$TTL '%s' is not a TTL (like 3600 or 1h)",
                          shown(&t[1], sh));
        if (ttl > ZF_TTL_MAX) {
            report(z, f, line, true, "$TTL %u is over 2^31-1 and taken as 0 (RFC 2181 "
                   "section 8)", ttl);
            ttl = 0;
        }
        z->default_ttl = ttl;
        z->have_default = true;
        return 0;
    }
    if (tok_is(&t[0], "$INCLUDE")) {
        if (n < 2 || n > 3)
            return report(z, f, line, false, "$INCLUDE takes a file name and an optional "
                          "origin");
        if (!f->dir)
            return report(z, f, line, false, "$INCLUDE is not allowed here");
        if (f->depth + 1 > ZF_MAXDEPTH)
            return report(z, f, line, false, "$INCLUDE nested more than %d deep",
                          ZF_MAXDEPTH);
        if (memchr(t[1].text, '\0', t[1].len))
            return report(z, f, line, false, "$INCLUDE file name holds a NUL byte");
        /* RFC 1035 section 5.1: the origin given applies to the included
         * file only; the including file goes on with its own afterwards. */
        struct dns_name o = f->origin;
        if (n == 3 && name_of(z, f, line, &t[2], &f->origin, &o, "$INCLUDE origin") < 0)
            return OP_E_SYNTAX;
        char *path;
        int len;
        if ((t[1].len > 0 && t[1].text[0] == '/') || strcmp(f->dir, ".") == 0)
            len = asprintf(&path, "%.*s", (int)t[1].len, t[1].text);
        else
            len = asprintf(&path, "%s/%.*s", f->dir, (int)t[1].len, t[1].text);
        if (len < 0)
            return -ENOMEM;
        /* struct dns_src promises the name until dns_zonefile_read returns */
        char **v = realloc(z->paths, (z->npaths + 1) * sizeof *v);
        if (!v) {
            free(path);
            return -ENOMEM;
        }
        z->paths = v;
        z->paths[z->npaths++] = path;
        struct dns_name owner = z->owner;
        bool have_owner = z->have_owner;
        int r = read_path(z, path, path, &o, f->depth + 1, f, line);
        z->owner = owner;
        z->have_owner = have_owner;
        if (r < 0 && r != -ENOMEM)
            r = OP_E_SYNTAX;
        return r;
    }
    return report(z, f, line, false, "unknown directive '%s'", shown(&t[0], sh));
}

static int record(struct zf *z, struct zfile *f, unsigned line, bool indented)
{
    const struct dns_token *t = z->toks.v;
    size_t n = z->toks.n, i = 0;
    char sh[72];

    if (!indented && !t[0].quoted && t[0].len > 0 && t[0].text[0] == '$')
        return directive(z, f, line, t, n);

    /* The owner: omitted on a line that starts with a blank. */
    if (indented) {
        if (!z->have_owner)
            return report(z, f, line, false, "the first record has no owner name");
    } else {
        if (name_of(z, f, line, &t[0], &f->origin, &z->owner, "owner") < 0)
            return OP_E_SYNTAX;
        z->have_owner = true;
        i = 1;
    }

    /* TTL and class, each optional, in either order (RFC 1035 section 5.1). */
    bool have_ttl = false, have_class = false;
    uint32_t ttl = 0;
    uint16_t rclass = z->zclass;
    for (int k = 0; k < 2 && i < n; k++) {
        const struct dns_token *x = &t[i];
        if (x->quoted)
            break;
        if (!have_ttl && x->len > 0 && x->text[0] >= '0' && x->text[0] <= '9') {
            if (dns_ttl_from_text(x->text, x->len, &ttl) < 0)
                return report(z, f, line, false, "TTL '%s' is not a TTL (like 3600 or 1h)",
                              shown(x, sh));
            have_ttl = true;
            i++;
        } else if (!have_class && x->len == 2 && (x->text[0] | 0x20) == 'i' &&
                   (x->text[1] | 0x20) == 'n') {
            /* "IN" on nearly every line: spare it the table search */
            rclass = DNS_CLASS_IN;
            have_class = true;
            i++;
        } else if (!have_class && dns_class_from_text(x->text, x->len, &rclass) == 0) {
            have_class = true;
            i++;
        } else {
            break;
        }
    }
    if (i >= n)
        return report(z, f, line, false, "the record has no type");
    uint16_t type;
    if (t[i].quoted || dns_type_from_text(t[i].text, t[i].len, &type) < 0)
        return report(z, f, line, false, "'%s' is not a type%s", shown(&t[i], sh),
                      have_ttl && have_class ? "" : ", a TTL or a class");
    if (dns_type_is_meta(type)) {
        char tb[DNS_MNEMONIC_MAX];
        return report(z, f, line, false, "type %s cannot be in a zone",
                      dns_type_to_text(type, tb));
    }
    if (rclass != z->zclass) {
        char a[DNS_MNEMONIC_MAX], b[DNS_MNEMONIC_MAX];
        return report(z, f, line, false, "class %s differs from the zone's class %s",
                      dns_class_to_text(rclass, a), dns_class_to_text(z->zclass, b));
    }

    char err[256];
    int len = dns_rdata_from_text(type, t + i + 1, n - i - 1, &f->origin, z->rdata,
                                  DNS_RDATA_MAX, err, sizeof err);
    if (len == -ENOSPC)
        return report(z, f, line, false, "the RDATA is longer than 65535 octets");
    if (len < 0)
        return report(z, f, line, false, "%s", err);

    if (have_ttl) {
        z->last_ttl = ttl;
        z->have_last = true;
    } else if (z->have_default) {
        ttl = z->default_ttl;
    } else if (z->have_last) {
        /* BIND's way without $TTL: the last TTL given, with a warning. */
        ttl = z->last_ttl;
        if (!z->warned_ttl)
            report(z, f, line, true, "no TTL and no $TTL before it; using the last TTL "
                   "given, %u", ttl);
        z->warned_ttl = true;
    } else if (type == DNS_TYPE_SOA && len >= 4) {
        /* RFC 1035's default: the SOA's minimum field (RFC 2308 section 4). */
        const uint8_t *m = z->rdata + len - 4;
        ttl = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
        report(z, f, line, true, "no TTL and no $TTL; using the SOA minimum, %u", ttl);
        z->last_ttl = ttl;
        z->have_last = true;
        z->warned_ttl = true;
    } else {
        return report(z, f, line, false, "no TTL given and no $TTL before this record");
    }
    if (ttl > ZF_TTL_MAX) {
        report(z, f, line, true, "TTL %u is over 2^31-1 and taken as 0 (RFC 2181 section 8)",
               ttl);
        ttl = 0;
    }

    struct dns_src src = {f->name, line};
    int r = z->cb(z->arg, &src, &z->owner, type, rclass, ttl, z->rdata, (uint16_t)len);
    return r < 0 ? r : 0;
}

static int read_text(struct zf *z, struct zfile *f, const char *text, size_t len)
{
    char err[160];
    struct zlex lx = {text, text + len, 1, err, sizeof err};
    for (;;) {
        unsigned line = 0;
        bool indented;
        int r = zlex_record(&lx, &z->toks, &line, &indented);
        if (r == 0)
            return 0;
        if (r == OP_E_SYNTAX)
            return report(z, f, lx.line, false, "%s", err);
        if (r < 0)
            return r;
        if ((r = record(z, f, line, indented)) < 0)
            return r;
    }
}

static int zf_init(struct zf *z, dns_zonefile_cb cb, void *arg, struct buf *errors)
{
    memset(z, 0, sizeof *z);
    z->cb = cb;
    z->arg = arg;
    z->errors = errors;
    /* The zone's class: outpost serves the Internet class only. */
    z->zclass = DNS_CLASS_IN;
    z->rdata = malloc(DNS_RDATA_MAX);
    return z->rdata ? 0 : -ENOMEM;
}

static void zf_free(struct zf *z)
{
    free(z->rdata);
    free(z->toks.v);
    for (size_t i = 0; i < z->npaths; i++)
        free(z->paths[i]);
    free(z->paths);
}

int dns_zonefile_read(const char *path, const struct dns_name *origin, dns_zonefile_cb cb,
                      void *arg, struct buf *errors)
{
    struct zf z;
    int r = zf_init(&z, cb, arg, errors);
    if (r == 0)
        r = read_path(&z, path, path, origin, 0, NULL, 0);
    zf_free(&z);
    return r;
}

int dns_zonefile_parse(const char *text, size_t len, const char *name,
                       const struct dns_name *origin, dns_zonefile_cb cb, void *arg,
                       struct buf *errors)
{
    struct zf z;
    int r = zf_init(&z, cb, arg, errors);
    if (r == 0) {
        struct zfile f = {name, NULL, *origin, 0};
        r = read_text(&z, &f, text, len);
    }
    zf_free(&z);
    return r;
}

int dns_zonefile_tokenize(const char *text, size_t len, struct dns_token *tok, size_t max)
{
    struct zlex lx = {text, text + len, 1, NULL, 0};
    struct ztoks t = {tok, 0, max, true};
    unsigned line;
    bool indented;
    int r = zlex_record(&lx, &t, &line, &indented);
    if (r < 0)
        return r;
    /* one line only: anything after its newline is refused */
    if (r == 1 && lx.p != lx.end) {
        struct ztoks rest = {NULL, 0, 0, false};
        r = zlex_record(&lx, &rest, &line, &indented);
        free(rest.v);
        if (r != 0)
            return OP_E_SYNTAX;
    }
    return (int)t.n;
}
