/*
 * catalog.c - the configured zones, reloaded when their files change (see
 * catalog.h). The main thread loads; the secondary module updates; one
 * mutex keeps them apart.
 */
#include "dns/catalog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "dns/acl.h"
#include "dns/journal.h"
#include "dns/name.h"
#include "dns/notify.h"
#include "dns/server.h"
#include "dns/xfrin.h"
#include "dns/tsig.h"
#include "dns/xfrout.h"
#include "dns/zone.h"

/* A zone as loaded, and the file it was loaded from. */
struct loaded {
    char *name;
    char *path;
    struct stat st;                  /* the file when it was read */
    struct dns_zone *zone;
    struct dns_journal *journal;     /* IXFR history, or NULL */
    bool announce;                   /* new serial: NOTIFY the secondaries */
};

static struct loaded *g_loaded;
static size_t g_nloaded;
/* The notify list of g_loaded[i], kept for zones a secondary transfer
 * updates between loads (dns_catalog_update). */
static char **g_notify;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dns_tsig_key *g_keys;
static size_t g_nkeys;

int dns_catalog_set_keys(const struct dns_tsig_key *keys, size_t n)
{
    struct dns_tsig_key *k = n ? malloc(n * sizeof *k) : NULL;
    if (n && !k)
        return -ENOMEM;
    if (n)
        memcpy(k, keys, n * sizeof *k);
    if (g_keys)
        explicit_bzero(g_keys, g_nkeys * sizeof *g_keys);
    free(g_keys);
    g_keys = k;
    g_nkeys = n;
    return 0;
}

/* The key named name (for NOTIFY), or NULL. */
static const struct dns_tsig_key *key_named(const char *name, void *arg)
{
    for (size_t i = 0; i < g_nkeys; i++) {
        char t[DNS_NAME_MAXTEXT];
        if (dns_name_to_text(&g_keys[i].name, t, sizeof t) >= 0 && dns_acl_key_equal(t, name))
            return &g_keys[i];
    }
    return NULL;
}

/* Build and publish the transfer policy for the zones in next. */
static void publish_policy(const struct dns_zone_source *src, size_t n, struct loaded *next,
                           size_t nnext)
{
    struct dns_xfr_policy *p = dns_xfr_policy_new();
    for (size_t i = 0; p && i < g_nkeys; i++)
        if (dns_xfr_policy_add_key(p, &g_keys[i]) < 0)
            goto oom;
    for (size_t i = 0; p && i < nnext; i++) {
        const struct dns_zone_source *zs = NULL;
        for (size_t k = 0; k < n && !zs; k++)
            if (strcmp(src[k].name, next[i].name) == 0)
                zs = &src[k];
        struct dns_acl acl = {0, NULL};
        char err[256];
        if (zs && zs->allow_transfer && dns_acl_parse(zs->allow_transfer, &acl, err, sizeof err) < 0)
            log_err("dns: zone %s: allow_transfer: %s; transfers refused", next[i].name, err);
        int r = dns_xfr_policy_add_zone(p, dns_zone_apex(next[i].zone), &acl, next[i].journal);
        dns_acl_free(&acl);
        if (r < 0)
            goto oom;
    }
    if (p) {
        dns_xfr_publish(p);
        return;
    }
oom:
    dns_xfr_policy_free(p);
    log_err("dns: out of memory building the transfer policy; transfers keep the old one");
}

/* NOTIFY the secondaries of the zones that have a new serial. */
static void announce(const struct dns_zone_source *src, size_t n, const struct loaded *next,
                     size_t nnext)
{
    for (size_t i = 0; i < nnext; i++) {
        if (!next[i].announce || !dns_zone_available(next[i].zone))
            continue;                    /* nothing new, or no data (secondary.h) */
        for (size_t k = 0; k < n; k++) {
            if (strcmp(src[k].name, next[i].name) != 0 || !src[k].notify || !src[k].notify[0])
                continue;
            struct dns_remotes to;
            char err[256];
            if (dns_remotes_parse(src[k].notify, 53, &to, err, sizeof err) < 0) {
                log_err("dns: zone %s: notify: %s", next[i].name, err);
                continue;
            }
            dns_notify_zone(next[i].zone, &to, key_named, NULL);
            dns_remotes_free(&to);
        }
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Log each line of text at lvl, prefixed. */
static void log_lines(enum log_level lvl, const char *prefix, struct buf *text)
{
    const char *p = buf_cstr(text);
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n)
            log_msg(lvl, "%s%.*s", prefix, (int)n, p);
        p += n + (e ? 1 : 0);
    }
}

static void free_loaded(void);

static struct loaded *find_loaded(const char *name)
{
    for (size_t i = 0; i < g_nloaded; i++)
        if (strcmp(g_loaded[i].name, name) == 0)
            return &g_loaded[i];
    return NULL;
}

/* Load one zone's file; 0 with *out set, or negative (errors in errors). */
static int load_one(const struct dns_zone_source *src, struct dns_zone **out, struct buf *errors)
{
    struct dns_name apex;
    if (dns_name_from_text(&apex, src->name, strlen(src->name), NULL) < 0) {
        buf_printf(errors, "%s: '%s' is not a valid zone name\n", src->path, src->name);
        return OP_E_SYNTAX;
    }
    return dns_zone_load(src->path, &apex, out, errors);
}

/* A secondary zone at start: its file if present and not expired, else a
 * placeholder answered SERVFAIL until a transfer succeeds. */
static int load_secondary(const struct dns_zone_source *src, struct dns_zone **out,
                          struct buf *errors)
{
    struct dns_name apex;
    if (dns_name_from_text(&apex, src->name, strlen(src->name), NULL) < 0)
        return load_one(src, out, errors);          /* reports the name */
    struct stat st;
    struct dns_soa_timers t;
    if (stat(src->path, &st) == 0) {
        if (load_one(src, out, errors) == 0) {
            /* RFC 1035 section 3.3.13: no refresh for EXPIRE seconds and
             * the zone is no longer authoritative. */
            if (dns_zone_soa(*out, &t) == 0 && st.st_mtime + (time_t)t.expire > time(NULL)) {
                log_info("dns: zone %s loaded from %s: serial %u, %zu records (secondary)",
                         src->name, src->path, dns_zone_serial(*out), dns_zone_records(*out));
                return 0;
            }
            log_warn("dns: zone %s: %s was last refreshed more than its SOA expire (%us) ago; "
                     "not served until a transfer succeeds", src->name, src->path, t.expire);
            dns_zone_unref(*out);
        } else {
            log_lines(LOG_LVL_WARN, "dns: ", errors);
            log_warn("dns: zone %s: %s does not load; fetching it from the primaries",
                     src->name, src->path);
            buf_clear(errors);
        }
    } else {
        log_info("dns: zone %s: no %s yet; fetching it from the primaries", src->name, src->path);
    }
    *out = dns_zone_new_unavailable(&apex);
    return *out ? 0 : -ENOMEM;
}

static int catalog_load(const struct dns_zone_source *src, size_t n);

int dns_catalog_load(const struct dns_zone_source *src, size_t n)
{
    pthread_mutex_lock(&g_mu);
    int r = catalog_load(src, n);
    pthread_mutex_unlock(&g_mu);
    return r;
}

static int catalog_load(const struct dns_zone_source *src, size_t n)
{
    struct loaded *next = calloc(n ? n : 1, sizeof *next);
    if (!next) {
        log_err("dns: out of memory loading zones; keeping the zones served");
        return (int)n;
    }
    size_t nnext = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct loaded *old = find_loaded(src[i].name);
        struct stat st;
        bool have_st = stat(src[i].path, &st) == 0;
        if ((old && have_st && strcmp(old->path, src[i].path) == 0 && same_file(&old->st, &st)) ||
            (old && src[i].secondary)) {
            /* Unchanged; or a secondary zone, whose data the secondary
             * module keeps up to date. */
            dns_zone_ref(old->zone);         /* unchanged: keep it */
            if (old->journal)
                dns_journal_ref(old->journal);
            next[nnext++] = (struct loaded){strdup(old->name), strdup(old->path), old->st,
                                            old->zone, old->journal, false};
            continue;
        }
        struct buf errors = BUF_INIT;
        struct dns_zone *z = NULL;
        int r = src[i].secondary ? load_secondary(&src[i], &z, &errors)
                                 : load_one(&src[i], &z, &errors);
        if (r < 0) {
            failed++;
            if (buf_len(&errors) == 0)
                buf_printf(&errors, "%s: %s\n", src[i].path, op_strerror(r));
            log_lines(LOG_LVL_ERR, "dns: ", &errors);
            if (old) {
                log_err("dns: zone %s: failed to load %s; still serving serial %u", src[i].name,
                        src[i].path, dns_zone_serial(old->zone));
                dns_zone_ref(old->zone);
                if (old->journal)
                    dns_journal_ref(old->journal);
                next[nnext++] = (struct loaded){strdup(old->name), strdup(old->path), old->st,
                                                old->zone, old->journal, false};
            } else {
                log_err("dns: zone %s: failed to load %s; not served", src[i].name, src[i].path);
            }
            buf_free(&errors);
            continue;
        }
        log_lines(LOG_LVL_WARN, "dns: ", &errors);   /* warnings only */
        buf_free(&errors);
        if (!have_st)
            memset(&st, 0, sizeof st);
        if (!src[i].secondary)
            log_info("dns: zone %s %s from %s: serial %u, %zu records", src[i].name,
                 old ? "reloaded" : "loaded", src[i].path, dns_zone_serial(z), dns_zone_records(z));
        /* The IXFR history: the step from the version served so far to this
         * one, written down before this one is served (journal.h). */
        struct dns_journal *j = NULL;
        if (old && old->journal) {
            j = old->journal;
            dns_journal_ref(j);
            dns_journal_update(j, old->zone, z);
        } else {
            j = dns_journal_open(src[i].journal, src[i].name, dns_zone_serial(z));
        }
        bool fresh = !old || dns_zone_serial(old->zone) != dns_zone_serial(z);
        next[nnext++] = (struct loaded){strdup(src[i].name), strdup(src[i].path), st, z, j, fresh};
    }
    struct dns_zoneset *zs = dns_zoneset_new();
    for (size_t i = 0; i < nnext; i++) {
        if (!next[i].name || !next[i].path) {
            log_err("dns: out of memory loading zones; keeping the zones served");
            zs = NULL;
        }
    }
    for (size_t i = 0; zs && i < nnext; i++) {
        int r = dns_zoneset_add(zs, next[i].zone);
        if (r < 0)
            log_err("dns: zone %s: %s", next[i].name, op_strerror(r));
    }
    if (!zs) {
        for (size_t i = 0; i < nnext; i++) {
            free(next[i].name);
            free(next[i].path);
            dns_zone_unref(next[i].zone);
            dns_journal_unref(next[i].journal);
        }
        free(next);
        return failed ? failed : 1;
    }
    /* Zones that left the configuration. */
    for (size_t i = 0; i < g_nloaded; i++) {
        bool kept = false;
        for (size_t j = 0; j < nnext && !kept; j++)
            kept = strcmp(next[j].name, g_loaded[i].name) == 0;
        if (!kept)
            log_info("dns: zone %s removed", g_loaded[i].name);
    }
    free_loaded();
    g_loaded = next;
    g_nloaded = nnext;
    g_notify = calloc(nnext ? nnext : 1, sizeof *g_notify);
    for (size_t i = 0; g_notify && i < nnext; i++)
        for (size_t k = 0; k < n; k++)
            if (strcmp(src[k].name, next[i].name) == 0 && src[k].notify && src[k].notify[0])
                g_notify[i] = strdup(src[k].notify);
    publish_policy(src, n, next, nnext);
    dns_server_set_zones(zs);
    announce(src, n, next, nnext);
    return failed;
}

/* A new set from the loaded zones, published. */
static int publish(void)
{
    struct dns_zoneset *zs = dns_zoneset_new();
    if (!zs)
        return -ENOMEM;
    for (size_t i = 0; i < g_nloaded; i++) {
        int r = dns_zoneset_add(zs, g_loaded[i].zone);
        if (r < 0) {
            dns_zoneset_unref(zs);
            return r;
        }
    }
    dns_server_set_zones(zs);
    return 0;
}

int dns_catalog_update(const char *name, struct dns_zone *z)
{
    pthread_mutex_lock(&g_mu);
    struct loaded *l = find_loaded(name);
    int r = OP_E_NOTFOUND;
    if (l) {
        struct dns_zone *nz = z;
        if (nz)
            dns_zone_ref(nz);
        else
            nz = dns_zone_new_unavailable(dns_zone_apex(l->zone));
        r = -ENOMEM;
        if (nz) {
            struct dns_zone *old = l->zone;
            /* The IXFR history for our own secondaries: the step from the
             * version served to the transferred one (journal.h). */
            if (l->journal && z && dns_zone_available(old))
                dns_journal_update(l->journal, old, nz);
            l->zone = nz;
            if (stat(l->path, &l->st) < 0)
                memset(&l->st, 0, sizeof l->st);
            r = publish();
            if (r < 0) {
                l->zone = old;           /* keep serving what is published */
                dns_zone_unref(nz);
            } else {
                dns_zone_unref(old);
                /* Our own secondaries hear of the new serial (notify.h). */
                const char *list = g_notify ? g_notify[l - g_loaded] : NULL;
                struct dns_remotes to;
                char err[256];
                if (z && list && dns_remotes_parse(list, 53, &to, err, sizeof err) == 0) {
                    dns_notify_zone(nz, &to, key_named, NULL);
                    dns_remotes_free(&to);
                }
            }
        }
    }
    pthread_mutex_unlock(&g_mu);
    return r;
}

struct dns_zone *dns_catalog_get(const char *name)
{
    pthread_mutex_lock(&g_mu);
    struct loaded *l = find_loaded(name);
    struct dns_zone *z = l ? l->zone : NULL;
    if (z)
        dns_zone_ref(z);
    pthread_mutex_unlock(&g_mu);
    return z;
}

static void free_loaded(void)
{
    for (size_t i = 0; i < g_nloaded; i++) {
        free(g_loaded[i].name);
        free(g_loaded[i].path);
        dns_zone_unref(g_loaded[i].zone);
        dns_journal_unref(g_loaded[i].journal);
        if (g_notify)
            free(g_notify[i]);
    }
    free(g_notify);
    g_notify = NULL;
    free(g_loaded);
    g_loaded = NULL;
    g_nloaded = 0;
}

void dns_catalog_cleanup(void)
{
    pthread_mutex_lock(&g_mu);
    free_loaded();
    dns_catalog_set_keys(NULL, 0);
    pthread_mutex_unlock(&g_mu);
}

int dns_catalog_check(const struct dns_zone_source *src, size_t n, struct buf *errors)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct dns_zone *z = NULL;
        size_t before = buf_len(errors);
        int r = load_one(&src[i], &z, errors);
        if (r < 0) {
            if (buf_len(errors) == before)
                buf_printf(errors, "%s: %s\n", src[i].path, op_strerror(r));
            failed++;
            continue;
        }
        dns_zone_unref(z);
    }
    return failed;
}
