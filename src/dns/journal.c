/*
 * journal.c - zone differences for IXFR, kept in memory and in an append
 * file (see journal.h for the format and the rules).
 */
#include "dns/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "dns/consts.h"

#define FILE_HEADER "OUTPOST-JOURNAL 1\n"
#define FILE_HEADER_LEN 18
#define ENTRY_MAGIC 0x4f504a44u               /* "OPJD" */
#define FILE_MAX (1u << 30)                   /* refuse to read a larger journal */

/* ---- integers and CRC ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it), in pieces: start
 * with crc 0. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = crc ^ 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

bool dns_serial_gt(uint32_t a, uint32_t b)
{
    /* RFC 1982 section 3.2 with SERIAL_BITS 32; the undefined case (exactly
     * 2^31 apart) counts as not greater. */
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* ---- records --------------------------------------------------------------- */

int dns_diff_next(const struct dns_diff *d, size_t *off, struct dns_jrec *r)
{
    size_t o = *off;
    if (o >= d->len)
        return 0;
    int nl = dns_name_from_wire(&r->owner, d->data + o, d->len - o);
    if (nl < 0)
        return 0;
    o += (size_t)nl;
    if (d->len - o < 10)
        return 0;
    r->type = get16(d->data + o);
    r->rclass = get16(d->data + o + 2);
    r->ttl = get32(d->data + o + 4);
    r->rdlen = get16(d->data + o + 8);
    o += 10;
    if (d->len - o < r->rdlen)
        return 0;
    r->rdata = d->data + o;
    *off = o + r->rdlen;
    return 1;
}

/* Append one record in the file's form. */
static int put_rec(struct buf *b, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    uint8_t fix[10];
    put16(fix, type);
    put16(fix + 2, rclass);
    put32(fix + 4, ttl);
    put16(fix + 8, rdlen);
    if (buf_append(b, owner->wire, owner->len) < 0 || buf_append(b, fix, sizeof fix) < 0 ||
        buf_append(b, rdata, rdlen) < 0)
        return -ENOMEM;
    return 0;
}

/* A zone's records, encoded one after another, with each one's offset. */
struct reclist {
    struct buf data;
    size_t *off;
    size_t n, cap;
    size_t soa;                        /* offset of the SOA */
    bool have_soa;
    int err;
};

static int collect_cb(void *arg, const struct dns_name *owner, uint16_t type, uint16_t rclass,
                      uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct reclist *l = arg;
    size_t at = buf_len(&l->data);
    if (put_rec(&l->data, owner, type, rclass, ttl, rdata, rdlen) < 0)
        return l->err = -ENOMEM;
    if (type == DNS_TYPE_SOA && !l->have_soa) {
        l->soa = at;
        l->have_soa = true;
        return 0;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        size_t *no = realloc(l->off, nc * sizeof *no);
        if (!no)
            return l->err = -ENOMEM;
        l->off = no;
        l->cap = nc;
    }
    l->off[l->n++] = at;
    return 0;
}

/* Decode the record at off of a reclist (always well formed). */
static void rec_at(const uint8_t *base, size_t off, struct dns_jrec *r, size_t *size)
{
    const uint8_t *p = base + off;
    size_t nl = 0;
    while (p[nl])
        nl += (size_t)p[nl] + 1;
    nl++;
    r->owner.len = (uint8_t)nl;
    memcpy(r->owner.wire, p, nl);
    r->type = get16(p + nl);
    r->rclass = get16(p + nl + 2);
    r->ttl = get32(p + nl + 4);
    r->rdlen = get16(p + nl + 8);
    r->rdata = p + nl + 10;
    *size = nl + 10 + r->rdlen;
}

/* Canonical owner order, then type, RDATA, TTL: any total order that both
 * lists share would do for the merge; this one is stable across loads. */
static int rec_cmp(const void *a, const void *b, void *arg)
{
    const uint8_t *base = arg;
    struct dns_jrec x, y;
    size_t sx, sy;
    rec_at(base, *(const size_t *)a, &x, &sx);
    rec_at(base, *(const size_t *)b, &y, &sy);
    int c = dns_name_compare(&x.owner, &y.owner);
    if (c)
        return c;
    if (x.type != y.type)
        return x.type < y.type ? -1 : 1;
    size_t m = x.rdlen < y.rdlen ? x.rdlen : y.rdlen;
    c = memcmp(x.rdata, y.rdata, m);
    if (c)
        return c;
    if (x.rdlen != y.rdlen)
        return x.rdlen < y.rdlen ? -1 : 1;
    return x.ttl < y.ttl ? -1 : x.ttl > y.ttl;
}

static int collect(const struct dns_zone *z, struct reclist *l)
{
    memset(l, 0, sizeof *l);
    int r = dns_zone_walk(z, collect_cb, l);
    if (r < 0 || l->err < 0 || !l->have_soa)
        return r < 0 ? r : l->err < 0 ? l->err : -EINVAL;
    qsort_r(l->off, l->n, sizeof *l->off, rec_cmp, l->data.data + l->data.off);
    return 0;
}

static void reclist_free(struct reclist *l)
{
    buf_free(&l->data);
    free(l->off);
}

/* Copy the record at off of l into out. */
static int copy_rec(struct buf *out, const struct reclist *l, size_t off)
{
    struct dns_jrec r;
    size_t size;
    rec_at((const uint8_t *)buf_ptr(&l->data), off, &r, &size);
    return buf_append(out, buf_ptr(&l->data) + off, size);
}

/* A diff from its parts: payload is the records (old SOA, dels, new SOA, adds). */
static struct dns_diff *diff_new(uint32_t from, uint32_t to, uint32_t ndel, uint32_t nadd,
                                 const void *records, size_t len)
{
    struct dns_diff *d = malloc(sizeof *d + len);
    if (!d)
        return NULL;
    atomic_init(&d->refs, 1);
    d->from = from;
    d->to = to;
    d->ndel = ndel;
    d->nadd = nadd;
    d->len = len;
    memcpy(d->data, records, len);
    return d;
}

int dns_journal_diff(const struct dns_zone *old, const struct dns_zone *cur,
                     struct dns_diff **out)
{
    *out = NULL;
    struct reclist a, b;
    int r = collect(old, &a);
    if (r < 0) {
        reclist_free(&a);
        return r;
    }
    if ((r = collect(cur, &b)) < 0) {
        reclist_free(&a);
        reclist_free(&b);
        return r;
    }
    const uint8_t *pa = (const uint8_t *)buf_ptr(&a.data), *pb = (const uint8_t *)buf_ptr(&b.data);
    struct buf dels = BUF_INIT, adds = BUF_INIT;
    uint32_t ndel = 0, nadd = 0;
    size_t i = 0, j = 0;
    /* Both lists are sorted the same way: one merge pass (RFC 1995 asks for
     * the deleted and the added records of each version). */
    while (r == 0 && (i < a.n || j < b.n)) {
        int c;
        if (i == a.n)
            c = 1;
        else if (j == b.n)
            c = -1;
        else {
            /* Compare across two buffers: put both in one frame of reference. */
            struct dns_jrec x, y;
            size_t sx, sy;
            rec_at(pa, a.off[i], &x, &sx);
            rec_at(pb, b.off[j], &y, &sy);
            c = dns_name_compare(&x.owner, &y.owner);
            if (!c && x.type != y.type)
                c = x.type < y.type ? -1 : 1;
            if (!c) {
                size_t m = x.rdlen < y.rdlen ? x.rdlen : y.rdlen;
                c = memcmp(x.rdata, y.rdata, m);
                if (!c && x.rdlen != y.rdlen)
                    c = x.rdlen < y.rdlen ? -1 : 1;
                if (!c && x.ttl != y.ttl)
                    c = x.ttl < y.ttl ? -1 : 1;
            }
        }
        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            r = copy_rec(&dels, &a, a.off[i++]);
            ndel++;
        } else {
            r = copy_rec(&adds, &b, b.off[j++]);
            nadd++;
        }
    }
    if (r == 0 && (ndel || nadd)) {
        struct buf all = BUF_INIT;
        if (copy_rec(&all, &a, a.soa) < 0 || buf_append(&all, buf_ptr(&dels), buf_len(&dels)) < 0 ||
            copy_rec(&all, &b, b.soa) < 0 || buf_append(&all, buf_ptr(&adds), buf_len(&adds)) < 0)
            r = -ENOMEM;
        else if (!(*out = diff_new(dns_zone_serial(old), dns_zone_serial(cur), ndel, nadd,
                                   buf_ptr(&all), buf_len(&all))))
            r = -ENOMEM;
        buf_free(&all);
    }
    buf_free(&dels);
    buf_free(&adds);
    reclist_free(&a);
    reclist_free(&b);
    return r < 0 ? -ENOMEM : 0;
}

void dns_diff_ref(struct dns_diff *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

void dns_diff_unref(struct dns_diff *d)
{
    if (d && atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1)
        free(d);
}

/* ---- the journal ------------------------------------------------------------ */

struct dns_journal {
    _Atomic unsigned refs;
    pthread_mutex_t mu;                /* guards v, n, bytes */
    char *path;                        /* NULL: memory only */
    char *name;                        /* the zone, for log lines */
    struct dns_diff **v;               /* oldest first */
    size_t n;
    size_t bytes;
};

/* One entry in the file's form. */
static int encode_entry(struct buf *b, const struct dns_diff *d)
{
    uint8_t head[8 + 16];
    put32(head, ENTRY_MAGIC);
    put32(head + 4, (uint32_t)(16 + d->len));
    put32(head + 8, d->from);
    put32(head + 12, d->to);
    put32(head + 16, d->ndel);
    put32(head + 20, d->nadd);
    /* The CRC covers the payload: the four counters and the records. */
    uint32_t crc = crc32_update(crc32_update(0, head + 8, 16), d->data, d->len);
    uint8_t tail[4];
    put32(tail, crc);
    if (buf_append(b, head, sizeof head) < 0 || buf_append(b, d->data, d->len) < 0 ||
        buf_append(b, tail, 4) < 0)
        return -ENOMEM;
    return 0;
}

/* Rewrite the whole file from memory (atomically), or remove it when empty. */
static int rewrite_file(struct dns_journal *j)
{
    if (!j->path)
        return 0;
    if (j->n == 0) {
        if (unlink(j->path) < 0 && errno != ENOENT)
            return -errno;
        return 0;
    }
    struct buf b = BUF_INIT;
    int r = buf_append(&b, FILE_HEADER, FILE_HEADER_LEN);
    for (size_t i = 0; r == 0 && i < j->n; i++)
        r = encode_entry(&b, j->v[i]);
    if (r == 0)
        r = write_file_atomic(j->path, buf_ptr(&b), buf_len(&b), 0640);
    buf_free(&b);
    return r;
}

/* Append one entry to the file, creating it with its header, and fsync. */
static int append_file(struct dns_journal *j, const struct dns_diff *d)
{
    if (!j->path)
        return 0;
    int fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    struct buf b = BUF_INIT;
    off_t end = lseek(fd, 0, SEEK_END);
    int r = 0;
    if (end == 0)
        r = buf_append(&b, FILE_HEADER, FILE_HEADER_LEN);
    if (r == 0)
        r = encode_entry(&b, d);
    if (r == 0)
        r = write_all(fd, buf_ptr(&b), buf_len(&b));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && end == 0) {
        char dir[4096];
        path_dirname(j->path, dir, sizeof dir);
        fsync_dir(dir);
    }
    buf_free(&b);
    return r;
}

/* Check that payload[0..len) holds exactly the records it claims. */
static bool records_ok(const struct dns_diff *d)
{
    size_t off = 0, n = 0;
    struct dns_jrec r;
    while (dns_diff_next(d, &off, &r)) {
        bool soa_slot = n == 0 || n == (size_t)d->ndel + 1;
        if (soa_slot != (r.type == DNS_TYPE_SOA && r.rdlen >= 20))
            return false;
        n++;
    }
    return off == d->len && n == (size_t)d->ndel + d->nadd + 2;
}

/* Read the file into j (entries up to the first damaged one). Returns the
 * serial the chain ends at in *last; false when there is nothing usable. */
static bool load_file(struct dns_journal *j, uint32_t *last, bool *damaged)
{
    struct buf b = BUF_INIT;
    *damaged = false;
    if (read_file(j->path, &b, FILE_MAX) < 0) {
        buf_free(&b);
        return false;
    }
    const uint8_t *p = (const uint8_t *)buf_ptr(&b);
    size_t len = buf_len(&b), o = FILE_HEADER_LEN;
    if (len < FILE_HEADER_LEN || memcmp(p, FILE_HEADER, FILE_HEADER_LEN) != 0) {
        *damaged = len > 0;
        buf_free(&b);
        return false;
    }
    while (o < len) {
        if (len - o < 8 + 16 + 4 || get32(p + o) != ENTRY_MAGIC) {
            *damaged = true;
            break;
        }
        uint32_t plen = get32(p + o + 4);
        if (plen < 16 || len - o - 8 < (size_t)plen + 4 ||
            crc32_update(0, p + o + 8, plen) != get32(p + o + 8 + plen)) {
            *damaged = true;
            break;
        }
        const uint8_t *pl = p + o + 8;
        struct dns_diff *d = diff_new(get32(pl), get32(pl + 4), get32(pl + 8), get32(pl + 12),
                                      pl + 16, plen - 16);
        if (!d)
            break;
        bool linked = j->n == 0 || j->v[j->n - 1]->to == d->from;
        struct dns_diff **nv = linked && records_ok(d) ? realloc(j->v, (j->n + 1) * sizeof *nv) : NULL;
        if (!nv) {
            dns_diff_unref(d);
            *damaged = true;
            break;
        }
        j->v = nv;
        j->v[j->n++] = d;
        j->bytes += d->len;
        o += 8 + (size_t)plen + 4;
    }
    buf_free(&b);
    if (j->n == 0)
        return false;
    *last = j->v[j->n - 1]->to;
    return true;
}

static void drop_all(struct dns_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        dns_diff_unref(j->v[i]);
    free(j->v);
    j->v = NULL;
    j->n = 0;
    j->bytes = 0;
}

struct dns_journal *dns_journal_open(const char *path, const char *name, uint32_t serial)
{
    struct dns_journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    atomic_init(&j->refs, 1);
    pthread_mutex_init(&j->mu, NULL);
    j->name = strdup(name);
    j->path = path ? strdup(path) : NULL;
    if (!j->name || (path && !j->path)) {
        dns_journal_unref(j);
        return NULL;
    }
    if (!j->path)
        return j;
    uint32_t last = 0;
    bool damaged;
    bool have = load_file(j, &last, &damaged);
    if (have && last == serial) {
        log_info("dns: zone %s: journal %s: %zu versions, serials %u to %u%s", name, path, j->n,
                 j->v[0]->from, last, damaged ? " (a damaged tail was cut off)" : "");
        if (damaged && rewrite_file(j) < 0)
            log_warn("dns: zone %s: cannot rewrite %s", name, path);
        return j;
    }
    if (have || damaged)
        log_warn("dns: zone %s: journal %s %s; dropped (secondaries will fetch the whole zone)",
                 name, path,
                 have ? "does not end at the zone file's serial" : "is damaged");
    drop_all(j);
    rewrite_file(j);
    return j;
}

void dns_journal_ref(struct dns_journal *j)
{
    atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
}

void dns_journal_unref(struct dns_journal *j)
{
    if (!j || atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    drop_all(j);
    pthread_mutex_destroy(&j->mu);
    free(j->path);
    free(j->name);
    free(j);
}

void dns_journal_clear(struct dns_journal *j)
{
    pthread_mutex_lock(&j->mu);
    drop_all(j);
    pthread_mutex_unlock(&j->mu);
    if (rewrite_file(j) < 0)
        log_warn("dns: zone %s: cannot remove %s", j->name, j->path);
}

int dns_journal_update(struct dns_journal *j, const struct dns_zone *old,
                       const struct dns_zone *cur)
{
    uint32_t s0 = dns_zone_serial(old), s1 = dns_zone_serial(cur);
    struct dns_diff *d;
    int r = dns_journal_diff(old, cur, &d);
    if (r < 0) {
        log_err("dns: zone %s: out of memory computing the changes; journal cleared", j->name);
        dns_journal_clear(j);
        return r;
    }
    if (!dns_serial_gt(s1, s0)) {
        /* RFC 1995 section 2 and RFC 1982: secondaries only follow a serial
         * that increases; an unchanged one with new content would leave them
         * serving the old data. The history no longer leads here. */
        if (d || s1 != s0) {
            log_warn("dns: zone %s: serial %s (%u to %u)%s; the journal is cleared and "
                     "secondaries will not see the change until the serial increases",
                     j->name, s1 == s0 ? "unchanged" : "went down", s0, s1,
                     d ? " while the records changed" : "");
            dns_journal_clear(j);
        }
        dns_diff_unref(d);
        return 0;
    }
    if (!d) {
        /* Only the SOA changed: still a step (old SOA, new SOA). */
        struct buf all = BUF_INIT;
        struct reclist a, b;
        memset(&b, 0, sizeof b);
        if (collect(old, &a) == 0 && collect(cur, &b) == 0 && copy_rec(&all, &a, a.soa) == 0 &&
            copy_rec(&all, &b, b.soa) == 0)
            d = diff_new(s0, s1, 0, 0, buf_ptr(&all), buf_len(&all));
        reclist_free(&a);
        reclist_free(&b);
        buf_free(&all);
        if (!d) {
            dns_journal_clear(j);
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&j->mu);
    bool linked = j->n == 0 || j->v[j->n - 1]->to == s0;
    pthread_mutex_unlock(&j->mu);
    if (!linked)
        dns_journal_clear(j);
    pthread_mutex_lock(&j->mu);
    struct dns_diff **nv = realloc(j->v, (j->n + 1) * sizeof *nv);
    if (!nv) {
        pthread_mutex_unlock(&j->mu);
        dns_diff_unref(d);
        dns_journal_clear(j);
        return -ENOMEM;
    }
    j->v = nv;
    j->v[j->n++] = d;
    j->bytes += d->len;
    /* Bounded: the oldest versions go first. */
    size_t drop = 0;
    while (j->n - drop > 1 && (j->n - drop > DNS_JOURNAL_MAX || j->bytes > DNS_JOURNAL_MAXBYTES)) {
        j->bytes -= j->v[drop]->len;
        dns_diff_unref(j->v[drop]);
        drop++;
    }
    if (drop) {
        memmove(j->v, j->v + drop, (j->n - drop) * sizeof *j->v);
        j->n -= drop;
    }
    pthread_mutex_unlock(&j->mu);
    r = drop ? rewrite_file(j) : append_file(j, d);
    if (r < 0) {
        log_err("dns: zone %s: cannot write the journal %s: %s; cleared", j->name, j->path,
                op_strerror(r));
        dns_journal_clear(j);
        return r;
    }
    return 1;
}

int dns_journal_since(struct dns_journal *j, uint32_t from, uint32_t to, struct dns_diff ***out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    if (from == to)
        return 0;
    pthread_mutex_lock(&j->mu);
    size_t i = 0;
    while (i < j->n && j->v[i]->from != from)
        i++;
    if (i == j->n || j->v[j->n - 1]->to != to) {
        pthread_mutex_unlock(&j->mu);
        return -ENOENT;
    }
    size_t k = j->n - i;
    struct dns_diff **v = malloc(k * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&j->mu);
        return -ENOMEM;
    }
    for (size_t m = 0; m < k; m++) {
        v[m] = j->v[i + m];
        dns_diff_ref(v[m]);
    }
    pthread_mutex_unlock(&j->mu);
    *out = v;
    *n = k;
    return 0;
}

void dns_diffs_release(struct dns_diff **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dns_diff_unref(v[i]);
    free(v);
}

size_t dns_journal_versions(struct dns_journal *j)
{
    pthread_mutex_lock(&j->mu);
    size_t n = j->n;
    pthread_mutex_unlock(&j->mu);
    return n;
}
