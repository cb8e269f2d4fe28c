/*
 * secondary.c - secondary zones kept from their primaries (see
 * secondary.h): the per-zone timers, the refresh thread, NOTIFY, and the
 * zone written to its file.
 */
#include "dns/secondary.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "dns/acl.h"
#include "dns/catalog.h"
#include "dns/consts.h"
#include "dns/journal.h"
#include "dns/rdata.h"
#include "dns/wire.h"
#include "dns/writer.h"
#include "dns/xfrin.h"

/* Timeouts: one SOA query, and the connect and each read of a transfer
 * (the whole transfer gets ten times that, xfrin.h). */
#define SOA_TIMEOUT_MS 2000
#define XFR_TIMEOUT_MS 5000
/* Before the first SOA is known: how soon a failed first check is retried. */
#define FIRST_RETRY_S 10

/* One primary, its key resolved. */
struct primary {
    struct sockaddr_storage addr;
    bool has_key;
    struct dns_tsig_key key;
};

#define MAX_PRIMARIES 8

struct sec {
    char *name;
    char *path;
    struct dns_name apex;            /* lower-cased */
    struct primary prim[MAX_PRIMARIES];
    size_t nprim;
    uint32_t refresh, retry, expire; /* seconds, from the zone's SOA */
    uint64_t next_check;             /* clock_ms() */
    uint64_t expire_at;              /* clock_ms(); 0: no data to expire */
    bool busy;                       /* the refresh thread works on it, unlocked */
    bool gone;                       /* removed from the configuration while busy */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static struct sec **g_zones;
static size_t g_nzones;
static bool g_started, g_stop;
static pthread_t g_thread;

static void *refresh_main(void *arg);

/* ---- configuration ------------------------------------------------------------- */

static void sec_free(struct sec *z)
{
    if (z) {
        explicit_bzero(z->prim, sizeof z->prim);     /* the keys' secrets */
        free(z->name);
        free(z->path);
        free(z);
    }
}

static struct sec *find_zone(const char *name)
{
    for (size_t i = 0; i < g_nzones; i++)
        if (strcmp(g_zones[i]->name, name) == 0)
            return g_zones[i];
    return NULL;
}

/* The zone's timers from its SOA, at least 1 s each. */
static void take_timers(struct sec *z, const struct dns_soa_timers *t)
{
    z->refresh = t->refresh ? t->refresh : 1;
    z->retry = t->retry ? t->retry : 1;
    z->expire = t->expire ? t->expire : 1;
}

/* A zone new to the configuration: timers from what the catalog loaded
 * and from its file's age (the time of the last refresh), checked at once. */
static void start_zone(struct sec *z)
{
    uint64_t now = clock_ms();
    z->next_check = now;
    z->expire_at = 0;
    z->retry = FIRST_RETRY_S;
    struct dns_zone *cur = dns_catalog_get(z->name);
    struct dns_soa_timers t;
    struct stat st;
    if (cur && dns_zone_available(cur) && dns_zone_soa(cur, &t) == 0 && stat(z->path, &st) == 0) {
        take_timers(z, &t);
        int64_t left = (int64_t)st.st_mtime + (int64_t)t.expire - (int64_t)time(NULL);
        z->expire_at = now + (uint64_t)(left > 0 ? left : 0) * 1000;
    }
    if (cur)
        dns_zone_unref(cur);
}

/* The primaries of a zone, with their keys: the count, or -1 (logged). */
static int resolve_primaries(const struct dns_secondary_zone *zs, const struct dns_tsig_key *keys,
                             size_t nkeys, struct primary *out)
{
    struct dns_remotes rem;
    char err[256];
    if (dns_remotes_parse(zs->primaries ? zs->primaries : "", 53, &rem, err, sizeof err) < 0) {
        log_err("dns: zone %s: primaries: %s", zs->name, err);
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < rem.n && n < MAX_PRIMARIES; i++) {
        struct primary *p = &out[n];
        memset(p, 0, sizeof *p);
        p->addr = rem.v[i].addr;
        if (rem.v[i].key[0]) {
            struct dns_name kn;
            const struct dns_tsig_key *k = NULL;
            if (dns_name_from_text(&kn, rem.v[i].key, strlen(rem.v[i].key), NULL) == 0)
                for (size_t j = 0; j < nkeys && !k; j++)
                    if (dns_name_equal(&keys[j].name, &kn))
                        k = &keys[j];
            if (!k) {
                log_err("dns: zone %s: primaries: no usable [key %s]; primary skipped",
                        zs->name, rem.v[i].key);
                continue;
            }
            p->has_key = true;
            p->key = *k;
        }
        n++;
    }
    if (rem.n > MAX_PRIMARIES)
        log_warn("dns: zone %s: only the first %d primaries are used", zs->name, MAX_PRIMARIES);
    dns_remotes_free(&rem);
    return n;
}

int dns_secondary_configure(const struct dns_secondary_zone *zs, size_t n,
                            const struct dns_tsig_key *keys, size_t nkeys)
{
    struct sec **next = calloc(n ? n : 1, sizeof *next);
    if (!next) {
        log_err("dns: out of memory configuring secondary zones");
        return -ENOMEM;
    }
    pthread_mutex_lock(&g_mu);
    size_t nnext = 0;
    for (size_t i = 0; i < n; i++) {
        struct primary prim[MAX_PRIMARIES];
        int np = resolve_primaries(&zs[i], keys, nkeys, prim);
        if (np <= 0)
            continue;
        struct sec *z = find_zone(zs[i].name);
        bool fresh = !z;
        if (fresh) {
            z = calloc(1, sizeof *z);
            if (!z || !(z->name = strdup(zs[i].name)) ||
                dns_name_from_text(&z->apex, zs[i].name, strlen(zs[i].name), NULL) < 0) {
                sec_free(z);
                log_err("dns: zone %s: cannot be kept as a secondary", zs[i].name);
                continue;
            }
            dns_name_lower(&z->apex);
        }
        char *path = strdup(zs[i].path);
        if (!path) {
            if (fresh)
                sec_free(z);
            continue;
        }
        free(z->path);
        z->path = path;
        memcpy(z->prim, prim, sizeof prim);
        z->nprim = (size_t)np;
        if (fresh)
            start_zone(z);
        next[nnext++] = z;
    }
    /* Zones that left: freed now, or by the thread when it is done. */
    for (size_t i = 0; i < g_nzones; i++) {
        bool kept = false;
        for (size_t j = 0; j < nnext && !kept; j++)
            kept = next[j] == g_zones[i];
        if (!kept) {
            if (g_zones[i]->busy)
                g_zones[i]->gone = true;
            else
                sec_free(g_zones[i]);
        }
    }
    free(g_zones);
    g_zones = next;
    g_nzones = nnext;
    int r = 0;
    if (!g_started && nnext > 0) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&g_cv, &ca);
        pthread_condattr_destroy(&ca);
        g_stop = false;
        r = -pthread_create(&g_thread, NULL, refresh_main, NULL);
        if (r < 0)
            log_err("dns: cannot start the secondary zones' thread: %s", strerror(-r));
        else
            g_started = true;
    } else if (g_started) {
        pthread_cond_signal(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
    return r;
}

void dns_secondary_stop(void)
{
    pthread_mutex_lock(&g_mu);
    bool started = g_started;
    g_stop = true;
    if (started)
        pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    if (started) {
        dns_xfrin_cancel(true);          /* a check in progress ends within 100 ms */
        pthread_join(g_thread, NULL);
        dns_xfrin_cancel(false);
        pthread_cond_destroy(&g_cv);
    }
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_nzones; i++)
        sec_free(g_zones[i]);
    free(g_zones);
    g_zones = NULL;
    g_nzones = 0;
    g_started = false;
    pthread_mutex_unlock(&g_mu);
}

/* ---- writing the zone ---------------------------------------------------------- */

static int write_rr(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct buf *b = arg;
    char name[DNS_NAME_MAXTEXT], tb[DNS_MNEMONIC_MAX];
    if (dns_name_to_text(owner, name, sizeof name) < 0)
        return -EINVAL;
    if (buf_printf(b, "%s %u IN %s ", name, ttl, dns_type_to_text(type, tb)) < 0 ||
        dns_rdata_to_text(type, rdata, rdlen, b) < 0 || buf_puts(b, "\n") < 0)
        return -ENOMEM;
    return 0;
}

/* The zone as a master file (RFC 1035 section 5), written atomically. */
static int save_zone(const struct sec *z, const struct dns_zone *zone, const char *from)
{
    struct buf b = BUF_INIT;
    char dir[4200];
    path_dirname(z->path, dir, sizeof dir);
    int r = buf_printf(&b, "; zone %s, serial %u, transferred from %s\n", z->name,
                       dns_zone_serial(zone), from);
    if (r == 0)
        r = dns_zone_walk(zone, write_rr, &b);
    if (r == 0)
        r = mkdir_p(dir, 0755);
    if (r == 0)
        r = write_file_atomic(z->path, buf_ptr(&b), buf_len(&b), 0644);
    buf_free(&b);
    return r;
}

/* ---- the refresh thread ---------------------------------------------------------- */

/* What a check needs, copied so that it runs without the lock. */
struct job {
    char name[DNS_NAME_MAXTEXT];
    char path[4200];
    struct dns_name apex;
    struct primary prim[MAX_PRIMARIES];
    size_t nprim;
};

enum outcome { CHECK_FAILED, CHECK_CURRENT, CHECK_FETCHED };

static void addr_text(const struct sockaddr_storage *a, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        port = ntohs(s->sin6_port);
        snprintf(out, len, "[%s]:%u", ip, port);
    } else {
        const struct sockaddr_in *s = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        port = ntohs(s->sin_port);
        snprintf(out, len, "%s:%u", ip, port);
    }
}

/* One check of a zone against its primaries, in order (RFC 1034 section
 * 4.3.5): SOA query, and a transfer when the primary's serial is newer or
 * we have no data. Fills *timers with the SOA now served. */
static enum outcome check_zone(const struct job *j, struct dns_soa_timers *timers)
{
    struct dns_zone *cur = dns_catalog_get(j->name);
    bool have = cur && dns_zone_available(cur) && dns_zone_soa(cur, timers) == 0;
    enum outcome res = CHECK_FAILED;
    for (size_t i = 0; i < j->nprim && res == CHECK_FAILED; i++) {
        char from[80], err[512];
        addr_text(&j->prim[i].addr, from, sizeof from);
        uint32_t serial;
        const struct dns_tsig_key *key = j->prim[i].has_key ? &j->prim[i].key : NULL;
        if (dns_xfrin_soa_query(&j->prim[i].addr, key, &j->apex, SOA_TIMEOUT_MS, &serial, err,
                                sizeof err) < 0) {
            log_warn("dns: zone %s: primary %s: SOA query: %s", j->name, from, err);
            continue;
        }
        if (have && !dns_serial_gt(serial, timers->serial)) {
            res = CHECK_CURRENT;         /* RFC 1982: not newer (or older: kept) */
            break;
        }
        struct dns_zone *nz = NULL;
        const char *how = "AXFR";
        int r = dns_xfrin_fetch(&j->prim[i].addr, key, &j->apex, have ? cur : NULL,
                                XFR_TIMEOUT_MS, &nz, &how, err, sizeof err);
        if (r == 0) {
            res = CHECK_CURRENT;
        } else if (r < 0) {
            log_warn("dns: zone %s: primary %s: transfer failed: %s", j->name, from, err);
        } else {
            struct sec tmp = {.name = (char *)j->name, .path = (char *)j->path};
            int w = save_zone(&tmp, nz, from);
            if (w < 0)
                log_err("dns: zone %s: cannot write %s: %s (serving the new serial anyway)",
                        j->name, j->path, op_strerror(w));
            if (dns_catalog_update(j->name, nz) < 0) {
                log_err("dns: zone %s: cannot publish the transferred zone", j->name);
            } else {
                log_info("dns: zone %s: serial %u from %s by %s, %zu records", j->name,
                         dns_zone_serial(nz), from, how, dns_zone_records(nz));
                dns_zone_soa(nz, timers);
                res = CHECK_FETCHED;
            }
            dns_zone_unref(nz);
        }
    }
    if (res == CHECK_CURRENT && utimensat(AT_FDCWD, j->path, NULL, 0) < 0)
        log_warn("dns: zone %s: cannot touch %s: %s", j->name, j->path, strerror(errno));
    if (cur)
        dns_zone_unref(cur);
    return res;
}

/* Zones whose EXPIRE passed: answered SERVFAIL from now on. Locked. */
static void expire_due(uint64_t now)
{
    for (size_t i = 0; i < g_nzones; i++) {
        struct sec *z = g_zones[i];
        if (z->expire_at && now >= z->expire_at) {
            z->expire_at = 0;
            if (dns_catalog_update(z->name, NULL) == 0)
                log_warn("dns: zone %s expired: no successful refresh for %us; answering "
                         "SERVFAIL until a transfer succeeds", z->name, z->expire);
        }
    }
}

static void *refresh_main(void *arg)
{
    pthread_mutex_lock(&g_mu);
    while (!g_stop) {
        uint64_t now = clock_ms();
        expire_due(now);
        struct sec *due = NULL;
        uint64_t wake = now + 3600 * 1000;
        for (size_t i = 0; i < g_nzones; i++) {
            struct sec *z = g_zones[i];
            if (z->next_check <= now && (!due || z->next_check < due->next_check))
                due = z;
            if (z->next_check < wake)
                wake = z->next_check;
            if (z->expire_at && z->expire_at < wake)
                wake = z->expire_at;
        }
        if (!due) {
            uint64_t ms = wake > now ? wake - now : 0;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(ms / 1000);
            ts.tv_nsec += (long)(ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g_cv, &g_mu, &ts);
            continue;
        }
        struct job j;
        str_copy(j.name, sizeof j.name, due->name);
        str_copy(j.path, sizeof j.path, due->path);
        j.apex = due->apex;
        memcpy(j.prim, due->prim, sizeof j.prim);
        j.nprim = due->nprim;
        due->busy = true;
        due->next_check = UINT64_MAX;    /* a NOTIFY during the check sets it again */
        pthread_mutex_unlock(&g_mu);

        struct dns_soa_timers t;
        enum outcome res = check_zone(&j, &t);
        explicit_bzero(j.prim, sizeof j.prim);

        pthread_mutex_lock(&g_mu);
        due->busy = false;
        if (due->gone) {
            sec_free(due);
            continue;
        }
        now = clock_ms();
        uint64_t next;
        if (res != CHECK_FAILED) {
            take_timers(due, &t);
            due->expire_at = now + (uint64_t)due->expire * 1000;
            next = now + (uint64_t)due->refresh * 1000;
        } else {
            next = now + (uint64_t)due->retry * 1000;
        }
        if (due->next_check > next)      /* else a NOTIFY came in meanwhile */
            due->next_check = next;
    }
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

/* ---- NOTIFY -------------------------------------------------------------------- */

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

size_t dns_secondary_notify(const uint8_t *q, size_t qlen, const struct sockaddr_storage *peer,
                            uint8_t *out, size_t cap)
{
    struct dns_header h;
    if (dns_header_read(q, qlen, &h) < 0 || h.qr)
        return 0;                        /* a response: never answered */
    struct dns_msg m;
    struct dns_rr rrs[16];
    struct dns_name qname;
    uint16_t qtype = DNS_TYPE_SOA, qclass = DNS_CLASS_IN;
    uint16_t rcode = DNS_RCODE_NOERROR;
    bool echo = false, sign = false;
    struct dns_tsig_ctx tsig;
    memset(&tsig, 0, sizeof tsig);
    struct dns_tsig_key key;             /* the primary's, copied under the lock */
    const char *why = "not a secondary zone here";
    if (dns_msg_parse(&m, q, qlen, rrs, 16) < 0 || h.count[DNS_SECTION_QUESTION] != 1 ||
        dns_rr_owner(&m, &m.rr[0], &qname) < 0) {
        rcode = DNS_RCODE_FORMERR;
    } else {
        echo = true;
        qtype = m.rr[0].type;
        qclass = m.rr[0].rclass;
        struct dns_name lower = qname;
        dns_name_lower(&lower);
        bool found = false, has_key = false;
        pthread_mutex_lock(&g_mu);
        struct sec *z = NULL;
        for (size_t i = 0; i < g_nzones && !z; i++)
            if (dns_name_equal(&g_zones[i]->apex, &lower))
                z = g_zones[i];
        if (z) {
            for (size_t i = 0; i < z->nprim && !found; i++)
                if (same_host(&z->prim[i].addr, peer)) {
                    found = true;
                    has_key = z->prim[i].has_key;
                    if (has_key)
                        key = z->prim[i].key;
                }
        }
        pthread_mutex_unlock(&g_mu);
        if (!z) {
            rcode = DNS_RCODE_NOTAUTH;   /* not a zone we are secondary for */
        } else if (!found) {
            rcode = DNS_RCODE_REFUSED;
            why = "refused: not one of its primaries";
        } else if (has_key) {
            /* RFC 8945 section 5.2: verify before acting on it. */
            int r = dns_tsig_verify_request(&m, &key, 1, (uint64_t)time(NULL), &tsig);
            if (r == 1) {
                sign = true;
            } else {
                rcode = r == -DNS_RCODE_FORMERR ? DNS_RCODE_FORMERR : DNS_RCODE_NOTAUTH;
                sign = r == -DNS_RCODE_NOTAUTH;      /* the TSIG error answer */
                why = r == 0 ? "refused: not signed with the primary's key"
                             : "refused: TSIG verification failed";
            }
        }
        if (rcode == DNS_RCODE_NOERROR) {
            why = "checking the primaries";
            pthread_mutex_lock(&g_mu);
            for (size_t i = 0; i < g_nzones; i++)
                if (dns_name_equal(&g_zones[i]->apex, &lower)) {
                    /* RFC 1996 section 3.11: as if the refresh timer had
                     * run out. */
                    g_zones[i]->next_check = 0;
                    pthread_cond_signal(&g_cv);
                }
            pthread_mutex_unlock(&g_mu);
        }
        char name[DNS_NAME_MAXTEXT], from[80];
        addr_text(peer, from, sizeof from);
        if (dns_name_to_text(&qname, name, sizeof name) < 0)
            str_copy(name, sizeof name, "?");
        log_info("dns: NOTIFY for %s from %s: %s", name, from, why);
    }
    /* The answer: the same ID and opcode, QR, AA when ours, the question
     * echoed (RFC 1996 section 4.7), signed when the NOTIFY was. */
    struct dns_header rh = {.id = h.id, .qr = true, .opcode = DNS_OPCODE_NOTIFY,
                            .aa = rcode == DNS_RCODE_NOERROR, .rcode = (uint8_t)rcode};
    struct dns_writer w;
    if (cap > DNS_MSG_MAX)
        cap = DNS_MSG_MAX;
    size_t room = sign ? dns_tsig_ctx_size(&tsig) : 0;
    size_t n = 0;
    if (dns_writer_init(&w, out, cap, &rh) == 0 && dns_writer_reserve(&w, room) == 0 &&
        (!echo || dns_writer_question(&w, &qname, qtype, qclass) == 0)) {
        dns_writer_release(&w, room);
        if (!sign || dns_tsig_sign(&w, &tsig, (uint64_t)time(NULL), true) == 0)
            n = dns_writer_len(&w);
    }
    dns_tsig_ctx_clear(&tsig);
    explicit_bzero(&key, sizeof key);
    return n;
}
