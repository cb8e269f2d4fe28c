/*
 * rcpt.c - who a recipient is, decided at RCPT time (RFC 5321 section
 * 4.1.1.3: a server should refuse an unknown local user at RCPT, not
 * bounce it later).
 *
 * Order: the domain decides local or foreign; for a local domain an alias
 * wins over an account of the same name, then the account, then the
 * domain's catch-all; otherwise the user is unknown. A local domain is one
 * of [smtp] local_domains, or (when that list is empty) the default domain
 * or the domain of an existing account. Address literals are never local.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "auth/login.h"
#include "base/err.h"
#include "base/util.h"
#include "smtp/session.h"

struct domain_scan {
    const char *domain;
    bool found;
};

static void scan_fn(void *arg, const char *address)
{
    struct domain_scan *d = arg;
    const char *at = strrchr(address, '@');
    if (at && strcmp(at + 1, d->domain) == 0)
        d->found = true;
}

static int domain_is_local(const struct smtp_live *l, struct accounts *acc, const char *dom)
{
    if (strcmp(dom, l->default_domain) == 0)
        return 1;
    for (size_t i = 0; i < l->ndomains; i++)
        if (strcmp(dom, l->domains[i]) == 0)
            return 1;
    if (l->ndomains > 0)
        return 0;
    struct domain_scan d = {dom, false};
    int r = accounts_list(acc, scan_fn, &d);
    if (r < 0)
        return r;
    return d.found;
}

static const char *map_find(const struct smtp_map *m, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].key, key) == 0)
            return m[i].target;
    return NULL;
}

int smtp_rcpt_resolve(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX])
{
    out[0] = '\0';
    const char *at = strrchr(addr, '@');
    if (!at || at[1] == '[')
        return SMTP_RCPT_FOREIGN;
    char dom[256];
    size_t dl = strlen(at + 1);
    if (dl >= sizeof dom)
        return SMTP_RCPT_FOREIGN;
    for (size_t i = 0; i <= dl; i++)
        dom[i] = (char)tolower((unsigned char)at[1 + i]);

    int err = 0;
    struct accounts *acc = auth_thread_accounts(l->datadir, &err);
    if (!acc)
        return err;
    int local = domain_is_local(l, acc, dom);
    if (local < 0)
        return local;
    if (!local)
        return SMTP_RCPT_FOREIGN;

    char norm[ADDRESS_MAX];
    /* A local part outside what accounts can hold (quoted, UTF-8) names no
     * account; only the catch-all can take it. */
    bool valid = address_normalize(addr, norm, sizeof norm) == 0;
    if (valid) {
        const char *t = map_find(l->aliases, l->naliases, norm);
        if (t) {
            str_copy(out, ADDRESS_MAX, t);
            return SMTP_RCPT_LOCAL;
        }
        int r = accounts_exists(acc, norm);
        if (r < 0)
            return r;
        if (r == 1) {
            str_copy(out, ADDRESS_MAX, norm);
            return SMTP_RCPT_LOCAL;
        }
    }
    const char *t = map_find(l->catch_all, l->ncatch_all, dom);
    if (t) {
        str_copy(out, ADDRESS_MAX, t);
        return SMTP_RCPT_LOCAL;
    }
    return SMTP_RCPT_UNKNOWN;
}

void smtp_map_free(struct smtp_map *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].target);
    }
    free(m);
}

static void trim(const char **p, const char **e)
{
    while (*p < *e && isspace((unsigned char)**p))
        (*p)++;
    while (*e > *p && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

int smtp_map_parse(const char *text, bool domains, struct smtp_map **out, size_t *n,
                   char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const char *p = text ? text : "";
    struct smtp_map *m = NULL;
    size_t cnt = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        trim(&a, &b);
        p = *e ? e + 1 : e;
        if (a == b)
            continue;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (!eq) {
            snprintf(err, errlen, "'%.*s': expected KEY = ADDRESS", (int)(b - a), a);
            goto bad;
        }
        const char *ka = a, *kb = eq, *ta = eq + 1, *tb = b;
        trim(&ka, &kb);
        trim(&ta, &tb);
        char key[ADDRESS_MAX + 8], tgt[ADDRESS_MAX], nkey[ADDRESS_MAX], ntgt[ADDRESS_MAX];
        if (kb - ka >= (long)sizeof key - 8 || tb - ta >= (long)sizeof tgt) {
            snprintf(err, errlen, "'%.*s': too long", (int)(b - a), a);
            goto bad;
        }
        if (domains)
            snprintf(key, sizeof key, "x@%.*s", (int)(kb - ka), ka);
        else
            snprintf(key, sizeof key, "%.*s", (int)(kb - ka), ka);
        snprintf(tgt, sizeof tgt, "%.*s", (int)(tb - ta), ta);
        if (address_normalize(key, nkey, sizeof nkey) < 0) {
            snprintf(err, errlen, "'%.*s' is not a valid %s", (int)(kb - ka), ka,
                     domains ? "domain" : "address");
            goto bad;
        }
        if (address_normalize(tgt, ntgt, sizeof ntgt) < 0) {
            snprintf(err, errlen, "'%s' is not a valid address", tgt);
            goto bad;
        }
        struct smtp_map *nm = realloc(m, (cnt + 1) * sizeof *m);
        if (!nm) {
            snprintf(err, errlen, "out of memory");
            goto bad;
        }
        m = nm;
        m[cnt].key = xstrdup(domains ? nkey + 2 : nkey);
        m[cnt].target = xstrdup(ntgt);
        cnt++;
    }
    *out = m;
    *n = cnt;
    return 0;
bad:
    smtp_map_free(m, cnt);
    return OP_E_SYNTAX;
}
