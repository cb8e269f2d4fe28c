/*
 * zonedata.h - the layout of a finished zone, for the code that answers
 * from it (auth.c). Only zone.c and zoneset.c write these structures; once
 * dns_zone_finish has returned 0 they never change, so any number of
 * threads may read them without locks.
 *
 * A finished zone is one allocation (the arena) holding, in this order:
 *   nodes    every name of the zone, in DNSSEC canonical order (RFC 4034
 *            section 6.1), with every ancestor up to the apex present as
 *            an empty non-terminal if it owns no data; node 0 is the apex;
 *   rrsets   each node's RRsets, contiguous, sorted by type;
 *   targets  for each NS, MX and SRV RRset, one node index per record:
 *            the in-zone node of the name in its RDATA that has A or AAAA
 *            data to put in the additional section, or DNS_ZNONE;
 *   table    open addressing with linear probing, at most half full, each
 *            slot the stored hash and the node index + 1 (0: empty);
 *   names    the nodes' names, lower-cased wire form;
 *   rdata    each RRset's records, one after another: a 16-bit length
 *            (host order) then the uncompressed RDATA.
 * The answer path therefore does hash probes and copies, nothing else.
 */
#ifndef OP_DNS_ZONEDATA_H
#define OP_DNS_ZONEDATA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dns/lname.h"
#include "dns/name.h"
#include "dns/zone.h"

#define DNS_ZNONE UINT32_MAX

/* Node flags, computed at dns_zone_finish. */
enum {
    DNS_ZN_CNAME = 1,        /* owns a CNAME RRset */
    DNS_ZN_DNAME = 2,        /* owns a DNAME RRset */
    DNS_ZN_CUT = 4,          /* a delegation point: NS, not at the apex */
    DNS_ZN_BELOW_CUT = 8,    /* strictly below a delegation point: glue or occluded */
    DNS_ZN_ENT = 16,         /* an empty non-terminal: no RRsets at all */
    DNS_ZN_WILDCARD = 32,    /* its first label is "*" */
};

struct dns_znode {
    uint32_t hash;           /* dns_lname_hash of the name */
    uint32_t name;           /* offset of the lower-cased wire name in names */
    uint32_t rrset;          /* index of the first RRset */
    uint32_t cut;            /* the highest delegation point at or above, or DNS_ZNONE */
    uint32_t wild;           /* the node "*.<this name>", or DNS_ZNONE */
    uint32_t dname;          /* the highest strict ancestor owning a DNAME, or DNS_ZNONE */
    uint16_t nrrsets;
    uint8_t namelen;
    uint8_t labels;          /* labels besides the root */
    uint8_t flags;
};

struct dns_zrrset {
    uint16_t type;
    uint16_t count;          /* records */
    uint32_t ttl;
    uint32_t rdata;          /* offset of the first record in rdata */
    uint32_t targets;        /* offset in targets of count entries, or DNS_ZNONE */
};

struct dns_zslot {
    uint32_t hash;
    uint32_t node1;          /* node index + 1; 0 for an empty slot */
};

struct zone_build;

struct dns_zone {
    atomic_uint refs;
    uint16_t rclass;
    bool finished;
    bool unavailable;        /* a placeholder: answered SERVFAIL (dns_zone_new_unavailable) */
    struct dns_name apex;    /* as given to dns_zone_new */
    size_t records;
    uint32_t serial;

    void *arena;
    size_t arena_mapped;     /* its length if mapped (huge pages), 0 if from malloc */
    struct dns_znode *nodes;
    uint32_t nnodes;
    struct dns_zrrset *rrsets;
    uint32_t nrrsets;
    uint32_t *targets;
    struct dns_zslot *table;
    uint32_t mask;           /* table size - 1 */
    uint8_t *names;
    uint8_t *rdata;
    const struct dns_zrrset *soa;

    struct zone_build *b;    /* while being built; NULL once finished */
};

/* The node named by suffix i of ln, or DNS_ZNONE. */
static inline uint32_t dns_zone_lookup(const struct dns_zone *z, const struct dns_lname *ln, int i)
{
    uint32_t h = ln->hash[i];
    size_t len = dns_lname_len(ln, i);
    const uint8_t *wire = ln->lower.wire + ln->off[i];
    for (uint32_t s = h & z->mask;; s = (s + 1) & z->mask) {
        const struct dns_zslot *slot = &z->table[s];
        if (slot->node1 == 0)
            return DNS_ZNONE;
        if (slot->hash == h) {
            const struct dns_znode *n = &z->nodes[slot->node1 - 1];
            if (n->namelen == len && memcmp(z->names + n->name, wire, len) == 0)
                return slot->node1 - 1;
        }
    }
}

/* The RRset of type at node n, or NULL. */
static inline const struct dns_zrrset *dns_zone_rrset(const struct dns_zone *z, uint32_t n,
                                                     uint16_t type)
{
    const struct dns_znode *node = &z->nodes[n];
    const struct dns_zrrset *r = z->rrsets + node->rrset;
    for (unsigned i = 0; i < node->nrrsets; i++)
        if (r[i].type == type)
            return &r[i];
    return NULL;
}

/* Walk an RRset's records: start with *pos = rrset->rdata. */
static inline const uint8_t *dns_zone_rdata(const struct dns_zone *z, uint32_t *pos,
                                            uint16_t *len)
{
    const uint8_t *p = z->rdata + *pos;
    uint16_t l;
    memcpy(&l, p, 2);
    *len = l;
    *pos += 2u + l;
    return p + 2;
}

/* The zone of the zone set with the deepest apex at or above ln, looking
 * only at the suffixes from..labels of ln (from 0: the whole name; from 1:
 * strictly above it). *apex_i is set to the suffix index of its apex.
 * NULL if no zone of the set holds the name. */
const struct dns_zone *dns_zoneset_lookup(const struct dns_zoneset *zs, const struct dns_lname *ln,
                                          int from, int *apex_i);

#endif
