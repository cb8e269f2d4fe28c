/*
 * zoneset.c - the set of zones one server answers for. See zone.h.
 *
 * The zones' apexes sit in a small open-addressing table keyed like the
 * zones' own node tables (lname.h), so finding the zone for a query name
 * is one probe per suffix of the name, deepest first, with hashes the
 * query has computed already. The set is built before it is shared and
 * never changes afterwards; a reload builds a new one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone.h"
#include "dns/zonedata.h"

struct dns_zoneset {
    atomic_uint refs;
    struct dns_zone **zones;
    size_t nzones;
    struct dns_zslot *table;     /* node1 is the zone index + 1 */
    uint32_t mask;
    uint8_t labels[DNS_NAME_MAXLABELS + 1];  /* labels[k]: some apex has k labels */
};

struct dns_zoneset *dns_zoneset_new(void)
{
    struct dns_zoneset *zs = calloc(1, sizeof *zs);
    if (zs)
        atomic_init(&zs->refs, 1);
    return zs;
}

void dns_zoneset_ref(struct dns_zoneset *zs)
{
    atomic_fetch_add_explicit(&zs->refs, 1, memory_order_relaxed);
}

void dns_zoneset_unref(struct dns_zoneset *zs)
{
    if (!zs || atomic_fetch_sub_explicit(&zs->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < zs->nzones; i++)
        dns_zone_unref(zs->zones[i]);
    free(zs->zones);
    free(zs->table);
    free(zs);
}

static bool same_apex(const struct dns_zone *z, const struct dns_lname *ln, int i)
{
    const struct dns_znode *apex = &z->nodes[0];
    return apex->namelen == dns_lname_len(ln, i) &&
           memcmp(z->names + apex->name, ln->lower.wire + ln->off[i], apex->namelen) == 0;
}

static const struct dns_zone *probe(const struct dns_zoneset *zs, const struct dns_lname *ln, int i)
{
    uint32_t h = ln->hash[i];
    for (uint32_t s = h & zs->mask;; s = (s + 1) & zs->mask) {
        const struct dns_zslot *slot = &zs->table[s];
        if (slot->node1 == 0)
            return NULL;
        if (slot->hash == h && same_apex(zs->zones[slot->node1 - 1], ln, i))
            return zs->zones[slot->node1 - 1];
    }
}

int dns_zoneset_add(struct dns_zoneset *zs, struct dns_zone *z)
{
    if (!z->finished)
        return -EINVAL;
    struct dns_lname ln;
    dns_lname_init(&ln, &z->apex);
    if (zs->table && probe(zs, &ln, 0))
        return -EEXIST;
    struct dns_zone **zones = realloc(zs->zones, (zs->nzones + 1) * sizeof *zones);
    if (!zones)
        return -ENOMEM;
    zs->zones = zones;
    size_t size = 8;
    while (size < (zs->nzones + 1) * 2)
        size *= 2;
    struct dns_zslot *t = calloc(size, sizeof *t);
    if (!t)
        return -ENOMEM;
    zones[zs->nzones++] = z;
    dns_zone_ref(z);
    free(zs->table);
    zs->table = t;
    zs->mask = (uint32_t)size - 1;
    for (size_t i = 0; i < zs->nzones; i++) {
        uint32_t h = zs->zones[i]->nodes[0].hash;
        uint32_t s = h & zs->mask;
        while (t[s].node1)
            s = (s + 1) & zs->mask;
        t[s].hash = h;
        t[s].node1 = (uint32_t)i + 1;
    }
    zs->labels[ln.labels] = 1;
    return 0;
}

const struct dns_zone *dns_zoneset_lookup(const struct dns_zoneset *zs, const struct dns_lname *ln,
                                          int from, int *apex_i)
{
    if (!zs->table)
        return NULL;
    for (int i = from; i <= ln->labels; i++) {
        if (!zs->labels[ln->labels - i])
            continue;                     /* no apex that long: skip the probe */
        const struct dns_zone *z = probe(zs, ln, i);
        if (z) {
            *apex_i = i;
            return z;
        }
    }
    return NULL;
}

struct dns_zone *dns_zoneset_find(const struct dns_zoneset *zs, const struct dns_name *name)
{
    struct dns_lname ln;
    dns_lname_init(&ln, name);
    int i;
    return (struct dns_zone *)dns_zoneset_lookup(zs, &ln, 0, &i);
}
