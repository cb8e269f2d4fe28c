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
#include "dns/name.h"
#include "dns/server.h"
#include "dns/xfrin.h"
#include "dns/zone.h"

/* A zone as loaded, and the file it was loaded from. */
struct loaded {
    char *name;
    char *path;
    struct stat st;                  /* the file when it was read */
    struct dns_zone *zone;
};

static struct loaded *g_loaded;
static size_t g_nloaded;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

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
            next[nnext++] = (struct loaded){strdup(old->name), strdup(old->path), old->st, old->zone};
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
                next[nnext++] = (struct loaded){strdup(old->name), strdup(old->path), old->st,
                                                old->zone};
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
        next[nnext++] = (struct loaded){strdup(src[i].name), strdup(src[i].path), st, z};
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
    dns_server_set_zones(zs);
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
            l->zone = nz;
            if (stat(l->path, &l->st) < 0)
                memset(&l->st, 0, sizeof l->st);
            r = publish();
            if (r < 0) {
                l->zone = old;           /* keep serving what is published */
                dns_zone_unref(nz);
            } else {
                dns_zone_unref(old);
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

void dns_catalog_cleanup(void)
{
    pthread_mutex_lock(&g_mu);
    free_loaded();
    pthread_mutex_unlock(&g_mu);
}

static void free_loaded(void)
{
    for (size_t i = 0; i < g_nloaded; i++) {
        free(g_loaded[i].name);
        free(g_loaded[i].path);
        dns_zone_unref(g_loaded[i].zone);
    }
    free(g_loaded);
    g_loaded = NULL;
    g_nloaded = 0;
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
