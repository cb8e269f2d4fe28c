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
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "auth/login.h"
#include "base/err.h"
#include "base/util.h"
#include "smtp/server.h"
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

static const char *map_find(const struct smtp_map *m, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].key, key) == 0)
            return m[i].target;
    return NULL;
}

static int domain_is_local(const struct smtp_live *l, struct accounts *acc, const char *dom)
{
    if (strcmp(dom, l->default_domain) == 0)
        return 1;
    for (size_t i = 0; i < l->ndomains; i++)
        if (strcmp(dom, l->domains[i]) == 0)
            return 1;
    /* A catch-all says that every address of its domain is taken here. */
    if (map_find(l->catch_all, l->ncatch_all, dom))
        return 1;
    if (l->ndomains > 0)
        return 0;
    struct domain_scan d = {dom, false};
    int r = accounts_list(acc, scan_fn, &d);
    if (r < 0)
        return r;
    return d.found;
}

int smtp_domain_local(const char *domain)
{
    struct smtp_live *l = smtp_live_get();
    if (!l)
        return -ENOENT;
    char dom[256];
    size_t dl = strlen(domain);
    int r = 0;
    if (dl == 0 || dl >= sizeof dom || domain[0] == '[')
        goto out;                           /* address literals are never local */
    for (size_t i = 0; i <= dl; i++)
        dom[i] = (char)tolower((unsigned char)domain[i]);
    struct accounts *acc = auth_thread_accounts(l->datadir, &r);
    if (acc)
        r = domain_is_local(l, acc, dom);
out:
    smtp_live_put(l);
    return r;
}

static int resolve(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX]);
static void rcache_put(const struct smtp_live *l, const char *addr, const char *target);

int smtp_rcpt_resolve(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX])
{
    int r = resolve(l, addr, out);
    if (r == SMTP_RCPT_LOCAL)
        rcache_put(l, addr, out);
    return r;
}

static int resolve(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX])
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

/* ---- the sender check -------------------------------------------------- */

int smtp_sender_quick(const struct smtp_live *l, const char *user, const char *addr)
{
    char norm[ADDRESS_MAX], target[ADDRESS_MAX];
    if (address_normalize(addr, norm, sizeof norm) == 0 && strcmp(norm, user) == 0)
        return 1;
    if (smtp_rcpt_cached(l, addr, target))
        return strcmp(target, user) == 0;
    return -1;
}

int smtp_sender_owned(const struct smtp_live *l, const char *user, const char *addr)
{
    int q = smtp_sender_quick(l, user, addr);
    if (q >= 0)
        return q;
    char target[ADDRESS_MAX];
    int r = smtp_rcpt_resolve(l, addr, target);
    if (r < 0)
        return r;
    return r == SMTP_RCPT_LOCAL && strcmp(target, user) == 0;
}

/* ---- a short memory of local recipients ----------------------------------
 *
 * A busy MX sees the same local recipients over and over; each lookup is
 * a trip to the pool and the database, which costs more than the rest of
 * the RCPT. A recipient found local is remembered for RCACHE_TTL_MS under
 * the settings snapshot it was found with (a reload starts afresh). Only
 * "local" is remembered: an unknown user or a new account is always
 * asked for, so an account added is reachable at once; an account deleted
 * may still be accepted for RCACHE_TTL_MS. */
enum { RCACHE_SLOTS = 256, RCACHE_TTL_MS = 2000 };

struct rcache_ent {
    const struct smtp_live *live;
    uint64_t at;
    char addr[ADDRESS_MAX];
    char target[ADDRESS_MAX];
};

static pthread_mutex_t g_rcache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rcache_ent g_rcache[RCACHE_SLOTS];

static size_t rcache_slot(const char *addr)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % RCACHE_SLOTS;
}

bool smtp_rcpt_cached(const struct smtp_live *l, const char *addr, char out[ADDRESS_MAX])
{
    if (strlen(addr) >= ADDRESS_MAX)
        return false;
    uint64_t now = clock_ms();
    bool hit = false;
    pthread_mutex_lock(&g_rcache_mu);
    struct rcache_ent *e = &g_rcache[rcache_slot(addr)];
    if (e->live == l && now - e->at < RCACHE_TTL_MS && strcmp(e->addr, addr) == 0) {
        memcpy(out, e->target, ADDRESS_MAX);
        hit = true;
    }
    pthread_mutex_unlock(&g_rcache_mu);
    return hit;
}

static void rcache_put(const struct smtp_live *l, const char *addr, const char *target)
{
    if (strlen(addr) >= ADDRESS_MAX)
        return;
    pthread_mutex_lock(&g_rcache_mu);
    struct rcache_ent *e = &g_rcache[rcache_slot(addr)];
    e->live = l;
    e->at = clock_ms();
    str_copy(e->addr, sizeof e->addr, addr);
    str_copy(e->target, sizeof e->target, target);
    pthread_mutex_unlock(&g_rcache_mu);
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
