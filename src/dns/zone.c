/*
 * zone.c - building a zone record by record, checking it and freezing it
 * into the read-only layout of zonedata.h. See zone.h for the contract.
 *
 * While a zone is built, records go into growable arrays (owner names
 * interned in a hash table as they come, RDATA appended to one buffer).
 * dns_zone_finish then adds the empty non-terminals, sorts the names into
 * canonical order and the records into RRsets (dropping duplicates), lays
 * everything out in one allocation, computes each node's flags and the
 * additional-section targets, and runs the checks. The build arrays are
 * freed at the end: a finished zone is the arena and this struct.
 */
#include "dns/zone.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/rdnames.h"
#include "dns/zonedata.h"

/* One record as added. */
struct brec {
    uint64_t rdata;          /* offset of its RDATA in b->rdata */
    uint32_t node;           /* owner: build node index (canonical rank after sorting) */
    uint32_t ttl;
    uint32_t seq;            /* order of arrival */
    uint32_t line;
    uint16_t type;
    uint16_t rdlen;
    uint16_t file;
};

struct zone_build {
    struct dns_znode *nodes;         /* only hash, name and namelen are used here */
    size_t nnodes, capnodes;
    struct dns_zslot *table;
    uint32_t mask;
    uint8_t *names;
    size_t nnames, capnames;
    struct brec *recs;
    size_t nrecs, caprecs;
    uint8_t *rdata;
    size_t nrdata, caprdata;
    char **files;                    /* source file names, interned */
    size_t nfiles;
};

/* ---- small helpers -------------------------------------------------------------- */

static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    void **p = pp;
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static const char *file_of(const struct zone_build *b, uint16_t f)
{
    return f < b->nfiles ? b->files[f] : "(zone)";
}

/* Report a problem as "file:line: <owner>: sentence\n". */
static void report(struct buf *errors, const char *file, unsigned line,
                   const uint8_t *owner, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void report(struct buf *errors, const char *file, unsigned line,
                   const uint8_t *owner, const char *fmt, ...)
{
    if (!errors)
        return;
    char text[DNS_NAME_MAXTEXT] = "";
    if (owner) {
        struct dns_name n;
        if (dns_name_from_wire(&n, owner, DNS_NAME_MAXWIRE) > 0)
            dns_name_to_text(&n, text, sizeof text);
    }
    buf_printf(errors, "%s:%u: %s%s", file, line, text, owner ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(errors, fmt, ap);
    va_end(ap);
    buf_puts(errors, "\n");
}

static const char *type_text(uint16_t type, char buf[DNS_MNEMONIC_MAX])
{
    return dns_type_to_text(type, buf);
}

/* ---- the arena ---------------------------------------------------------------------- */

/* Large zones are read at random places by every query, so their arena
 * goes in huge pages where the kernel offers them: a 4 KiB page per
 * lookup step would cost a TLB miss each (expensive under virtualisation
 * in particular). Small arenas come from malloc. Memory is zeroed. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *arena_alloc(size_t size, size_t *mapped)
{
    *mapped = 0;
    if (size < 2 * HUGE_PAGE)
        return calloc(1, size);
    size_t len = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uint8_t *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Keep the 2 MiB-aligned part only, so every page can be huge. */
    size_t lead = (HUGE_PAGE - ((uintptr_t)p & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1);
    if (lead)
        munmap(p, lead);
    if (HUGE_PAGE - lead)
        munmap(p + lead + len, HUGE_PAGE - lead);
    p += lead;
    madvise(p, len, MADV_HUGEPAGE);
    *mapped = len;
    return p;
}

static void arena_free(struct dns_zone *z)
{
    if (z->arena_mapped)
        munmap(z->arena, z->arena_mapped);
    else
        free(z->arena);
    z->arena = NULL;
    z->arena_mapped = 0;
}

/* ---- the build-time name table ------------------------------------------------ */

static int table_rebuild(struct zone_build *b, uint32_t size)
{
    struct dns_zslot *t = calloc(size, sizeof *t);
    if (!t)
        return -ENOMEM;
    free(b->table);
    b->table = t;
    b->mask = size - 1;
    for (size_t i = 0; i < b->nnodes; i++) {
        uint32_t s = b->nodes[i].hash & b->mask;
        while (t[s].node1)
            s = (s + 1) & b->mask;
        t[s].hash = b->nodes[i].hash;
        t[s].node1 = (uint32_t)i + 1;
    }
    return 0;
}

/* The build node for the lower-cased wire name wire[0..len), created if
 * new. Returns its index, or a negative error. */
static int64_t intern(struct zone_build *b, const uint8_t *wire, size_t len, uint32_t hash)
{
    for (uint32_t s = hash & b->mask;; s = (s + 1) & b->mask) {
        struct dns_zslot *slot = &b->table[s];
        if (slot->node1 == 0)
            break;
        const struct dns_znode *n = &b->nodes[slot->node1 - 1];
        if (slot->hash == hash && n->namelen == len && memcmp(b->names + n->name, wire, len) == 0)
            return slot->node1 - 1;
    }
    if (b->nnodes >= DNS_ZNONE - 1 || b->nnames + len > UINT32_MAX)
        return OP_E_LIMIT;
    if (grow(&b->nodes, &b->capnodes, b->nnodes + 1, sizeof *b->nodes) < 0 ||
        grow(&b->names, &b->capnames, b->nnames + len, 1) < 0)
        return -ENOMEM;
    if ((b->nnodes + 1) * 2 > (size_t)b->mask + 1 &&
        table_rebuild(b, (b->mask + 1) * 2) < 0)
        return -ENOMEM;
    struct dns_znode *n = &b->nodes[b->nnodes];
    memset(n, 0, sizeof *n);
    n->hash = hash;
    n->name = (uint32_t)b->nnames;
    n->namelen = (uint8_t)len;
    memcpy(b->names + b->nnames, wire, len);
    b->nnames += len;
    uint32_t s = hash & b->mask;
    while (b->table[s].node1)
        s = (s + 1) & b->mask;
    b->table[s].hash = hash;
    b->table[s].node1 = (uint32_t)b->nnodes + 1;
    return (int64_t)b->nnodes++;
}

static int intern_file(struct zone_build *b, const char *file, uint16_t *out)
{
    if (!file)
        file = "(zone)";
    for (size_t i = b->nfiles; i-- > 0;) {
        if (strcmp(b->files[i], file) == 0) {
            *out = (uint16_t)i;
            return 0;
        }
    }
    if (b->nfiles >= UINT16_MAX)
        return OP_E_LIMIT;
    char **f = realloc(b->files, (b->nfiles + 1) * sizeof *f);
    if (!f)
        return -ENOMEM;
    b->files = f;
    if (!(f[b->nfiles] = strdup(file)))
        return -ENOMEM;
    *out = (uint16_t)b->nfiles++;
    return 0;
}

static void build_free(struct zone_build *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nfiles; i++)
        free(b->files[i]);
    free(b->files);
    free(b->nodes);
    free(b->table);
    free(b->names);
    free(b->recs);
    free(b->rdata);
    free(b);
}

/* ---- life cycle ------------------------------------------------------------------- */

struct dns_zone *dns_zone_new(const struct dns_name *apex, uint16_t rclass)
{
    struct dns_zone *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    atomic_init(&z->refs, 1);
    z->apex = *apex;
    z->rclass = rclass;
    z->b = calloc(1, sizeof *z->b);
    if (!z->b || table_rebuild(z->b, 64) < 0) {
        build_free(z->b);
        free(z);
        return NULL;
    }
    return z;
}

struct dns_zone *dns_zone_new_unavailable(const struct dns_name *apex)
{
    /* SOA "invalid. invalid. 0 0 0 0 0" and NS "invalid." (RFC 6761
     * section 6.4: a name that never resolves), so that the zone passes the
     * checks of dns_zone_finish. */
    static const uint8_t ns[] = {7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0};
    uint8_t soa[2 * sizeof ns + 20] = {0};
    memcpy(soa, ns, sizeof ns);
    memcpy(soa + sizeof ns, ns, sizeof ns);
    struct dns_zone *z = dns_zone_new(apex, DNS_CLASS_IN);
    if (!z)
        return NULL;
    if (dns_zone_add(z, NULL, apex, DNS_TYPE_SOA, DNS_CLASS_IN, 0, soa, sizeof soa, NULL) < 0 ||
        dns_zone_add(z, NULL, apex, DNS_TYPE_NS, DNS_CLASS_IN, 0, ns, sizeof ns, NULL) < 0 ||
        dns_zone_finish(z, NULL) < 0) {
        dns_zone_unref(z);
        return NULL;
    }
    z->unavailable = true;
    return z;
}

bool dns_zone_available(const struct dns_zone *z)
{
    return !z->unavailable;
}

void dns_zone_ref(struct dns_zone *z)
{
    atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
}

void dns_zone_unref(struct dns_zone *z)
{
    if (!z || atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) != 1)
        return;
    build_free(z->b);
    arena_free(z);
    free(z);
}

const struct dns_name *dns_zone_apex(const struct dns_zone *z)
{
    return &z->apex;
}

uint32_t dns_zone_serial(const struct dns_zone *z)
{
    return z->serial;
}

size_t dns_zone_records(const struct dns_zone *z)
{
    return z->finished ? z->records : (z->b ? z->b->nrecs : 0);
}

/* ---- adding records ------------------------------------------------------------------ */

int dns_zone_add(struct dns_zone *z, const struct dns_src *src, const struct dns_name *owner,
                 uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen, struct buf *errors)
{
    struct zone_build *b = z->b;
    const char *file = src && src->file ? src->file : "(zone)";
    unsigned line = src ? src->line : 0;
    char tb[DNS_MNEMONIC_MAX], cb[DNS_MNEMONIC_MAX], ab[DNS_NAME_MAXTEXT];
    if (!b)
        return -EINVAL;                       /* finished, or failed to finish */
    if (!dns_name_is_subdomain(owner, &z->apex)) {
        dns_name_to_text(&z->apex, ab, sizeof ab);
        report(errors, file, line, owner->wire, "outside the zone %s", ab);
        return OP_E_SYNTAX;
    }
    if (rclass != z->rclass) {
        report(errors, file, line, owner->wire, "class %s is not the zone's class %s",
               dns_class_to_text(rclass, cb), dns_class_to_text(z->rclass, tb));
        return OP_E_SYNTAX;
    }
    if (dns_type_is_meta(type)) {
        report(errors, file, line, owner->wire, "%s cannot be zone data (RFC 6895 section 3.1)",
               type_text(type, tb));
        return OP_E_SYNTAX;
    }
    /* An empty RDATA means "the whole RRset" only in UPDATE (RFC 2136);
     * in a zone it is data, and must follow its type's layout. */
    if ((rdlen == 0 && (dns_rdnames_flags(type) & DNS_RDN_NAMES)) ||
        dns_rdata_check(type, rclass, rdata, 0, rdlen, false) < 0) {
        report(errors, file, line, owner->wire, "the RDATA does not match the layout of %s",
               type_text(type, tb));
        return OP_E_SYNTAX;
    }
    if (b->nrecs >= DNS_ZNONE - 1)
        return OP_E_LIMIT;

    struct dns_lname ln;
    dns_lname_init(&ln, owner);
    int64_t node = intern(b, ln.lower.wire, ln.lower.len, ln.hash[0]);
    if (node < 0)
        return (int)node;
    uint16_t f;
    int r = intern_file(b, file, &f);
    if (r < 0)
        return r;
    if (grow(&b->recs, &b->caprecs, b->nrecs + 1, sizeof *b->recs) < 0 ||
        grow(&b->rdata, &b->caprdata, b->nrdata + rdlen, 1) < 0)
        return -ENOMEM;
    /* RFC 2181 section 8: a TTL with the top bit set is read as zero. */
    struct brec *rec = &b->recs[b->nrecs];
    rec->rdata = b->nrdata;
    rec->node = (uint32_t)node;
    rec->ttl = ttl > INT32_MAX ? 0 : ttl;
    rec->seq = (uint32_t)b->nrecs;
    rec->line = line;
    rec->type = type;
    rec->rdlen = rdlen;
    rec->file = f;
    if (rdlen)
        memcpy(b->rdata + b->nrdata, rdata, rdlen);
    b->nrdata += rdlen;
    b->nrecs++;
    return 0;
}

/* ---- sorting ------------------------------------------------------------------------- */

/* Canonical order (RFC 4034 section 6.1) of two lower-cased wire names:
 * label by label from the root end; a label that is a prefix of another
 * sorts first, and a name sorts before its subdomains. */
static int canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t ao[DNS_NAME_MAXLABELS], bo[DNS_NAME_MAXLABELS];
    int na = 0, nb = 0;
    for (size_t p = 0; p < alen && a[p]; p += 1 + (size_t)a[p])
        ao[na++] = (uint8_t)p;
    for (size_t p = 0; p < blen && b[p]; p += 1 + (size_t)b[p])
        bo[nb++] = (uint8_t)p;
    while (na > 0 && nb > 0) {
        const uint8_t *la = a + ao[--na], *lb = b + bo[--nb];
        size_t m = la[0] < lb[0] ? la[0] : lb[0];
        int c = memcmp(la + 1, lb + 1, m);
        if (c)
            return c;
        if (la[0] != lb[0])
            return la[0] < lb[0] ? -1 : 1;
    }
    return na - nb;
}

static int node_cmp(const void *x, const void *y, void *arg)
{
    const struct zone_build *b = arg;
    const struct dns_znode *p = &b->nodes[*(const uint32_t *)x];
    const struct dns_znode *q = &b->nodes[*(const uint32_t *)y];
    return canon_cmp(b->names + p->name, p->namelen, b->names + q->name, q->namelen);
}

/* RDATA in canonical RR order (RFC 4034 section 6.3): left-justified
 * octet strings, a missing octet before any octet. */
static int rdata_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int rec_cmp(const void *x, const void *y, void *arg)
{
    const struct zone_build *b = arg;
    const struct brec *p = x, *q = y;
    if (p->node != q->node)
        return p->node < q->node ? -1 : 1;
    if (p->type != q->type)
        return p->type < q->type ? -1 : 1;
    int c = rdata_cmp(b->rdata + p->rdata, p->rdlen, b->rdata + q->rdata, q->rdlen);
    if (c)
        return c;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* ---- finishing ----------------------------------------------------------------------- */

/* RFC 4592 section 2.2.2 and the closest-encloser search need every
 * ancestor of every name, up to the apex, to exist as a node: add the
 * missing ones as empty non-terminals. An ancestor found already present
 * has its own ancestors added when the loop reaches it (or did already). */
static int add_ancestors(struct zone_build *b, size_t apex_len)
{
    for (size_t i = 0; i < b->nnodes; i++) {
        struct dns_lname ln;
        struct dns_name n;
        n.len = b->nodes[i].namelen;
        memcpy(n.wire, b->names + b->nodes[i].name, n.len);
        dns_lname_init(&ln, &n);
        for (int k = 1; k <= ln.labels && dns_lname_len(&ln, k) >= apex_len; k++) {
            size_t before = b->nnodes;
            int64_t r = intern(b, ln.lower.wire + ln.off[k], dns_lname_len(&ln, k), ln.hash[k]);
            if (r < 0)
                return (int)r;
            if (b->nnodes == before)
                break;
        }
    }
    return 0;
}

/* Where the name in the RDATA of an NS, MX or SRV record starts. */
static int target_offset(uint16_t type)
{
    switch (type) {
    case DNS_TYPE_NS: return 0;               /* RFC 1035 section 3.3.11 */
    case DNS_TYPE_MX: return 2;               /* RFC 1035 section 3.3.9 */
    case DNS_TYPE_SRV: return 6;              /* RFC 2782 */
    default: return -1;
    }
}

static bool has_address(const struct dns_zone *z, uint32_t n)
{
    return dns_zone_rrset(z, n, DNS_TYPE_A) || dns_zone_rrset(z, n, DNS_TYPE_AAAA);
}

/* The node of the name in a record's RDATA at offset off, if it is inside
 * the zone and exists; DNS_ZNONE otherwise. *inside says whether the name
 * is inside the zone at all. */
static uint32_t rdata_target(const struct dns_zone *z, const uint8_t *rd, uint16_t len, int off,
                             bool *inside)
{
    struct dns_name t;
    *inside = false;
    if (off < 0 || off >= len || dns_name_from_wire(&t, rd + off, (size_t)(len - off)) < 0)
        return DNS_ZNONE;
    if (!dns_name_is_subdomain(&t, &z->apex))
        return DNS_ZNONE;
    *inside = true;
    struct dns_lname ln;
    dns_lname_init(&ln, &t);
    return dns_zone_lookup(z, &ln, 0);
}

/* Sizes of the arena's parts, and where each starts. */
struct layout {
    size_t nodes, rrsets, targets, table, names, rdata, total;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Flags, delegation points, wildcard children and DNAME ancestors. Nodes
 * are in canonical order, so a parent is always done before its children;
 * node 0 is the apex. */
static void compute_flags(struct dns_zone *z)
{
    for (uint32_t i = 0; i < z->nnodes; i++) {
        struct dns_znode *n = &z->nodes[i];
        n->cut = n->wild = n->dname = DNS_ZNONE;
        if (n->nrrsets == 0)
            n->flags |= DNS_ZN_ENT;
        if (dns_zone_rrset(z, i, DNS_TYPE_CNAME))
            n->flags |= DNS_ZN_CNAME;
        if (dns_zone_rrset(z, i, DNS_TYPE_DNAME))
            n->flags |= DNS_ZN_DNAME;
        if (i == 0)
            continue;
        if (dns_zone_rrset(z, i, DNS_TYPE_NS))
            n->flags |= DNS_ZN_CUT;
        const uint8_t *name = z->names + n->name;
        if (name[0] == 1 && name[1] == '*')
            n->flags |= DNS_ZN_WILDCARD;

        struct dns_name nm;
        nm.len = n->namelen;
        memcpy(nm.wire, name, nm.len);
        struct dns_lname ln;
        dns_lname_init(&ln, &nm);
        uint32_t p = dns_zone_lookup(z, &ln, 1);     /* exists: add_ancestors */
        struct dns_znode *pn = &z->nodes[p];
        if (pn->cut != DNS_ZNONE) {
            n->cut = pn->cut;
            n->flags |= DNS_ZN_BELOW_CUT;
        } else if (n->flags & DNS_ZN_CUT) {
            n->cut = i;
        }
        if (pn->dname != DNS_ZNONE)
            n->dname = pn->dname;
        else if (pn->flags & DNS_ZN_DNAME)
            n->dname = p;
        if (n->flags & DNS_ZN_WILDCARD)
            pn->wild = i;
    }
}

/* The checks of zone.h; rsrc[r] is the build record that stands for
 * RRset r in messages. Returns the number of errors. */
static int check_zone(const struct dns_zone *z, const struct zone_build *b, const uint32_t *rsrc,
                      struct buf *errors)
{
    int bad = 0;
    char tb[DNS_MNEMONIC_MAX], nb[DNS_NAME_MAXTEXT];
#define AT(r) file_of(b, b->recs[rsrc[r]].file), b->recs[rsrc[r]].line
    const struct dns_znode *apex = &z->nodes[0];
    const struct dns_zrrset *soa = dns_zone_rrset(z, 0, DNS_TYPE_SOA);
    const char *file0 = b->nfiles ? b->files[0] : "(zone)";
    if (!soa) {
        report(errors, file0, 0, z->names + apex->name, "the zone has no SOA record at its apex");
        bad++;
    } else if (soa->count > 1) {
        report(errors, AT(soa - z->rrsets), z->names + apex->name,
               "more than one SOA record (RFC 1035 section 5.2)");
        bad++;
    }
    if (!dns_zone_rrset(z, 0, DNS_TYPE_NS)) {
        report(errors, file0, 0, z->names + apex->name, "the zone has no NS records at its apex");
        bad++;
    }
    for (uint32_t i = 0; i < z->nnodes; i++) {
        const struct dns_znode *n = &z->nodes[i];
        const uint8_t *name = z->names + n->name;
        for (uint32_t k = 0; k < n->nrrsets; k++) {
            uint32_t r = n->rrset + k;
            const struct dns_zrrset *rs = &z->rrsets[r];
            if (rs->type == DNS_TYPE_SOA && i != 0) {
                report(errors, AT(r), name, "an SOA record belongs at the zone's apex only");
                bad++;
            }
            /* RFC 2181 section 10.1: one CNAME per name; RFC 6672 section
             * 2.4: one DNAME per name. */
            if ((rs->type == DNS_TYPE_CNAME || rs->type == DNS_TYPE_DNAME) && rs->count > 1) {
                report(errors, AT(r), name, "more than one %s record at one name",
                       type_text(rs->type, tb));
                bad++;
            }
            /* RFC 1034 section 3.6.2, RFC 2181 section 10.1: a CNAME
             * stands alone; RRSIG and NSEC may sit beside it (RFC 4035
             * section 2.5). */
            if ((n->flags & DNS_ZN_CNAME) && rs->type != DNS_TYPE_CNAME &&
                rs->type != DNS_TYPE_RRSIG && rs->type != DNS_TYPE_NSEC) {
                report(errors, AT(r), name, "%s beside a CNAME (RFC 1034 section 3.6.2)",
                       type_text(rs->type, tb));
                bad++;
            }
            /* Name servers named inside the zone need addresses there:
             * at the apex for the zone itself, glue at delegation points
             * (RFC 1034 section 4.2.1). NS sets below a delegation are
             * occluded and not looked at. */
            if (rs->type != DNS_TYPE_NS || (n->flags & DNS_ZN_BELOW_CUT))
                continue;
            uint32_t pos = rs->rdata;
            for (unsigned j = 0; j < rs->count; j++) {
                uint16_t len;
                const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
                bool inside;
                uint32_t t = rdata_target(z, rd, len, 0, &inside);
                if (inside && (t == DNS_ZNONE || !has_address(z, t))) {
                    struct dns_name tn;
                    dns_name_from_wire(&tn, rd, len);
                    dns_name_to_text(&tn, nb, sizeof nb);
                    report(errors, AT(r), name,
                           "name server %s is inside the zone but has no A or AAAA record", nb);
                    bad++;
                }
            }
        }
    }
#undef AT
    return bad;
}

/* The additional-section targets of NS, MX and SRV RRsets. NS targets
 * may be glue (below a delegation); MX and SRV targets must be data the
 * zone is authoritative for. */
static void compute_targets(struct dns_zone *z)
{
    uint32_t next = 0;
    for (uint32_t r = 0; r < z->nrrsets; r++) {
        struct dns_zrrset *rs = &z->rrsets[r];
        int off = target_offset(rs->type);
        if (off < 0) {
            rs->targets = DNS_ZNONE;
            continue;
        }
        rs->targets = next;
        uint32_t pos = rs->rdata;
        for (unsigned j = 0; j < rs->count; j++) {
            uint16_t len;
            const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
            bool inside;
            uint32_t t = rdata_target(z, rd, len, off, &inside);
            if (t != DNS_ZNONE && !has_address(z, t))
                t = DNS_ZNONE;
            if (t != DNS_ZNONE && rs->type != DNS_TYPE_NS && z->nodes[t].cut != DNS_ZNONE)
                t = DNS_ZNONE;
            z->targets[next++] = t;
        }
    }
}

/* Warn about TTLs that differ inside an RRset (RFC 2181 section 5.2): the
 * RRset keeps the TTL of its first record, in the order they were added. */
static void warn_ttl(const struct zone_build *b, const struct brec *first, const struct brec *rec,
                     const uint8_t *owner, struct buf *errors)
{
    char tb[DNS_MNEMONIC_MAX];
    report(errors, file_of(b, rec->file), rec->line, owner,
           "warning: TTL %u differs from the %s RRset's TTL %u, which is used "
           "(RFC 2181 section 5.2)", rec->ttl, type_text(rec->type, tb), first->ttl);
}

/* Lay out the arena from the sorted, rank-numbered records. */
static int build_arena(struct dns_zone *z, struct zone_build *b, const uint32_t *order,
                       uint32_t **rsrc_out, struct buf *errors)
{
    /* Count what survives deduplication. */
    size_t nrrsets = 0, nrecords = 0, rdbytes = 0, ntargets = 0;
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct brec *r = &b->recs[i];
        const struct brec *p = i ? &b->recs[i - 1] : NULL;
        bool same_set = p && p->node == r->node && p->type == r->type;
        if (same_set && rdata_cmp(b->rdata + p->rdata, p->rdlen, b->rdata + r->rdata,
                                  r->rdlen) == 0)
            continue;                                    /* RFC 2181 section 5 */
        if (!same_set)
            nrrsets++;
        nrecords++;
        rdbytes += 2 + (size_t)r->rdlen;
        if (target_offset(r->type) >= 0)
            ntargets++;
    }
    if (rdbytes >= DNS_ZNONE || nrrsets >= DNS_ZNONE)
        return OP_E_LIMIT;

    size_t tsize = 16;
    while (tsize < b->nnodes * 2)
        tsize *= 2;
    struct layout L;
    L.nodes = 0;
    L.rrsets = align8(L.nodes + b->nnodes * sizeof(struct dns_znode));
    L.targets = align8(L.rrsets + nrrsets * sizeof(struct dns_zrrset));
    L.table = align8(L.targets + ntargets * sizeof(uint32_t));
    L.names = align8(L.table + tsize * sizeof(struct dns_zslot));
    L.rdata = align8(L.names + b->nnames);
    L.total = L.rdata + rdbytes + 1;
    uint8_t *a = arena_alloc(L.total, &z->arena_mapped);
    uint32_t *rsrc = malloc((nrrsets + 1) * sizeof *rsrc);
    z->arena = a;
    if (!a || !rsrc) {
        arena_free(z);
        free(rsrc);
        return -ENOMEM;
    }
    z->nodes = (struct dns_znode *)(a + L.nodes);
    z->nnodes = (uint32_t)b->nnodes;
    z->rrsets = (struct dns_zrrset *)(a + L.rrsets);
    z->nrrsets = (uint32_t)nrrsets;
    z->targets = (uint32_t *)(a + L.targets);
    z->table = (struct dns_zslot *)(a + L.table);
    z->mask = (uint32_t)tsize - 1;
    z->names = a + L.names;
    z->rdata = a + L.rdata;
    z->records = nrecords;

    /* Nodes and names, in canonical order, and the table. */
    size_t noff = 0;
    for (uint32_t k = 0; k < z->nnodes; k++) {
        const struct dns_znode *old = &b->nodes[order[k]];
        struct dns_znode *n = &z->nodes[k];
        n->hash = old->hash;
        n->name = (uint32_t)noff;
        n->namelen = old->namelen;
        memcpy(z->names + noff, b->names + old->name, old->namelen);
        for (size_t p = noff; z->names[p]; p += 1 + (size_t)z->names[p])
            n->labels++;
        noff += old->namelen;
        uint32_t s = n->hash & z->mask;
        while (z->table[s].node1)
            s = (s + 1) & z->mask;
        z->table[s].hash = n->hash;
        z->table[s].node1 = k + 1;
    }

    /* RRsets and RDATA, one group of records with the same owner and
     * type at a time. */
    size_t roff = 0, r = 0;
    for (size_t i = 0, j; i < b->nrecs; i = j) {
        const struct brec *first = &b->recs[i];
        for (j = i + 1; j < b->nrecs && b->recs[j].node == first->node &&
                        b->recs[j].type == first->type; j++)
            if (b->recs[j].seq < first->seq)
                first = &b->recs[j];
        struct dns_zrrset *rs = &z->rrsets[r];
        struct dns_znode *n = &z->nodes[first->node];
        const uint8_t *owner = z->names + n->name;
        if (n->nrrsets == 0)
            n->rrset = (uint32_t)r;
        n->nrrsets++;
        rs->type = first->type;
        rs->rdata = (uint32_t)roff;
        rs->ttl = first->ttl;         /* RFC 2181 section 5.2: the first record's */
        rsrc[r++] = (uint32_t)(first - b->recs);
        for (size_t k = i; k < j; k++) {
            const struct brec *rec = &b->recs[k];
            if (k > i && rdata_cmp(b->rdata + rec[-1].rdata, rec[-1].rdlen,
                                   b->rdata + rec->rdata, rec->rdlen) == 0)
                continue;                                /* RFC 2181 section 5 */
            if (rs->count == UINT16_MAX) {
                report(errors, file_of(b, rec->file), rec->line, owner,
                       "more than 65535 records in one RRset");
                *rsrc_out = rsrc;
                return OP_E_LIMIT;
            }
            if (rec->ttl != first->ttl)
                warn_ttl(b, first, rec, owner, errors);
            rs->count++;
            uint16_t l = rec->rdlen;
            memcpy(z->rdata + roff, &l, 2);
            memcpy(z->rdata + roff + 2, b->rdata + rec->rdata, l);
            roff += 2 + (size_t)l;
        }
    }
    *rsrc_out = rsrc;
    return 0;
}

int dns_zone_finish(struct dns_zone *z, struct buf *errors)
{
    struct zone_build *b = z->b;
    if (!b)
        return -EINVAL;
    struct dns_lname apex;
    dns_lname_init(&apex, &z->apex);
    int64_t ar = intern(b, apex.lower.wire, apex.lower.len, apex.hash[0]);
    int r = ar < 0 ? (int)ar : add_ancestors(b, apex.lower.len);
    if (r < 0)
        goto fail;
    /* No more names are added: the build table's memory can go before
     * the arena is allocated. */
    free(b->table);
    b->table = NULL;

    /* Canonical order of the names; rank[old index] = new index. */
    uint32_t *order = malloc(b->nnodes * sizeof *order);
    uint32_t *rank = malloc(b->nnodes * sizeof *rank);
    if (!order || !rank) {
        free(order);
        free(rank);
        r = -ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < b->nnodes; i++)
        order[i] = i;
    qsort_r(order, b->nnodes, sizeof *order, node_cmp, b);
    for (uint32_t i = 0; i < b->nnodes; i++)
        rank[order[i]] = i;
    for (size_t i = 0; i < b->nrecs; i++)
        b->recs[i].node = rank[b->recs[i].node];
    free(rank);
    qsort_r(b->recs, b->nrecs, sizeof *b->recs, rec_cmp, b);

    uint32_t *rsrc = NULL;
    r = build_arena(z, b, order, &rsrc, errors);
    free(order);
    if (r == 0) {
        compute_flags(z);
        if (check_zone(z, b, rsrc, errors) > 0)
            r = OP_E_SYNTAX;
    }
    free(rsrc);
    if (r < 0)
        goto fail;
    compute_targets(z);
    z->soa = dns_zone_rrset(z, 0, DNS_TYPE_SOA);
    /* The serial follows the two names of the SOA RDATA (RFC 1035
     * section 3.3.13). */
    uint32_t pos = z->soa->rdata;
    uint16_t len;
    const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
    int n1 = dns_name_from_wire(NULL, rd, len);
    int n2 = dns_name_from_wire(NULL, rd + n1, len - (size_t)n1);
    const uint8_t *s = rd + n1 + n2;
    z->serial = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
    build_free(b);
    z->b = NULL;
    z->finished = true;
    return 0;

fail:
    /* A zone that failed its checks is good for nothing but unref. */
    arena_free(z);
    build_free(b);
    z->b = NULL;
    return r;
}

/* ---- walking ------------------------------------------------------------------------ */

static int walk_rrset(const struct dns_zone *z, const struct dns_name *owner,
                      const struct dns_zrrset *rs, dns_zone_rr_cb cb, void *arg)
{
    uint32_t pos = rs->rdata;
    for (unsigned j = 0; j < rs->count; j++) {
        uint16_t len;
        const uint8_t *rd = dns_zone_rdata(z, &pos, &len);
        int r = cb(arg, owner, rs->type, z->rclass, rs->ttl, rd, len);
        if (r < 0)
            return r;
    }
    return 0;
}

int dns_zone_walk(const struct dns_zone *z, dns_zone_rr_cb cb, void *arg)
{
    if (!z->finished)
        return -EINVAL;
    /* RFC 5936 section 2.2: a transfer starts with the SOA. */
    struct dns_name owner;
    owner.len = z->nodes[0].namelen;
    memcpy(owner.wire, z->names + z->nodes[0].name, owner.len);
    int r = walk_rrset(z, &owner, z->soa, cb, arg);
    for (uint32_t i = 0; r >= 0 && i < z->nnodes; i++) {
        const struct dns_znode *n = &z->nodes[i];
        owner.len = n->namelen;
        memcpy(owner.wire, z->names + n->name, owner.len);
        for (uint32_t k = 0; r >= 0 && k < n->nrrsets; k++) {
            const struct dns_zrrset *rs = &z->rrsets[n->rrset + k];
            if (rs != z->soa)
                r = walk_rrset(z, &owner, rs, cb, arg);
        }
    }
    return r < 0 ? r : 0;
}

int dns_zone_walk_resume(const struct dns_zone *z, struct dns_zone_cursor *c, dns_zone_rr_cb cb,
                         void *arg)
{
    if (!z->finished)
        return -EINVAL;
    if (c->done)
        return 1;
    struct dns_name owner;
    if (!c->started) {
        c->started = true;
        c->rr = 0;
        c->pos = z->soa->rdata;
    }
    if (!c->soa_done) {
        /* RFC 5936 section 2.2: the SOA first. */
        owner.len = z->nodes[0].namelen;
        memcpy(owner.wire, z->names + z->nodes[0].name, owner.len);
        for (; c->rr < z->soa->count; c->rr++) {
            uint32_t p = c->pos;
            uint16_t len;
            const uint8_t *rd = dns_zone_rdata(z, &p, &len);
            int r = cb(arg, &owner, z->soa->type, z->rclass, z->soa->ttl, rd, len);
            if (r < 0)
                return r;
            c->pos = p;
        }
        c->soa_done = true;
        c->node = c->rrset = c->rr = 0;
    }
    for (; c->node < z->nnodes; c->node++, c->rrset = 0) {
        const struct dns_znode *n = &z->nodes[c->node];
        owner.len = n->namelen;
        memcpy(owner.wire, z->names + n->name, owner.len);
        for (; c->rrset < n->nrrsets; c->rrset++, c->rr = 0) {
            const struct dns_zrrset *rs = &z->rrsets[n->rrset + c->rrset];
            if (rs == z->soa)
                continue;
            if (c->rr == 0)
                c->pos = rs->rdata;
            for (; c->rr < rs->count; c->rr++) {
                uint32_t p = c->pos;
                uint16_t len;
                const uint8_t *rd = dns_zone_rdata(z, &p, &len);
                int r = cb(arg, &owner, rs->type, z->rclass, rs->ttl, rd, len);
                if (r < 0)
                    return r;
                c->pos = p;
            }
        }
    }
    c->done = true;
    return 1;
}
