/*
 * zone.h - a zone's data in memory, built for fast lookup, and the set of
 * zones a server answers for.
 *
 * A zone is built record by record (dns_zone_add), then checked and frozen
 * (dns_zone_finish); from then on it is read-only and may be read by any
 * number of threads at once. Zones and zone sets are reference-counted, so
 * a reload builds a new set (reusing the zones that did not change) and
 * swaps it in while queries in flight finish on the old one.
 *
 * Checks at dns_zone_finish (each error names the record's file:line):
 * exactly one SOA, at the apex; NS at the apex; CNAME not beside other data
 * (RFC 1034 section 3.6.2, RFC 2181 section 10.1; RRSIG and NSEC may sit
 * beside it, RFC 4035 section 2.5), one CNAME and one DNAME per name at
 * most; data outside the zone refused (at dns_zone_add); an A or AAAA
 * record in the zone for each name server named inside the zone, by the
 * apex's NS set or a delegation's (glue). Records below a delegation
 * other than glue are kept (for zone transfers) but never answered with.
 *
 * Names: owners are kept lower-cased (lookups ignore case, RFC 4343), so
 * dns_zone_walk gives them lower-cased; RDATA is kept as added.
 *
 * Memory: while building, records go into growable arrays; at finish the
 * zone is laid out in one allocation (huge pages for large zones) and the
 * build arrays are freed. The layout, which the answer path reads
 * directly, is described in zonedata.h.
 */
#ifndef OP_DNS_ZONE_H
#define OP_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dns/name.h"
#include "dns/zonefile.h"

struct dns_zone;
struct dns_zoneset;

/* A new, empty zone for apex in class rclass (NULL on -ENOMEM). */
struct dns_zone *dns_zone_new(const struct dns_name *apex, uint16_t rclass);

/* Add one record (RDATA uncompressed). A duplicate record is dropped
 * silently (RFC 2181 section 5); a TTL differing within an RRset takes
 * the RRset's first TTL, with a warning (RFC 2181 section 5.2); both are
 * done at dns_zone_finish. Returns 0 or a negative error with a line
 * "file:line: owner: sentence\n" in errors (which may be NULL):
 * OP_E_SYNTAX for an owner outside the zone, another class, a meta type
 * (dns_type_is_meta) or RDATA not following its type's layout (rdnames.h);
 * -ENOMEM, OP_E_LIMIT (over 2^32 names or records); -EINVAL once the zone
 * is finished. src may be NULL (the location is then "(zone):0"). */
int dns_zone_add(struct dns_zone *z, const struct dns_src *src, const struct dns_name *owner,
                 uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                 uint16_t rdlen, struct buf *errors);

/* Check the zone (see above) and make it ready for lookups. Returns 0 (with
 * any warnings appended to errors), or a negative error after appending
 * every problem found to errors; a zone that failed is good only for
 * dns_zone_unref. A second call is -EINVAL. */
int dns_zone_finish(struct dns_zone *z, struct buf *errors);

/* Read a master file into a new, finished zone: dns_zonefile_read, then
 * dns_zone_add for each record, then dns_zone_finish. */
int dns_zone_load(const char *path, const struct dns_name *apex, struct dns_zone **out,
                  struct buf *errors);

/* A finished placeholder for a zone we are authoritative for but hold no
 * usable data of: a secondary zone not yet transferred, or expired (RFC
 * 1035 section 3.3.13). It sits in a zone set like any zone, so that
 * queries for its names find it, and dns_zone_available() says it is to be
 * answered with SERVFAIL. Its only records are a dummy SOA and NS, never
 * served. NULL on -ENOMEM. */
struct dns_zone *dns_zone_new_unavailable(const struct dns_name *apex);
/* False for a placeholder made by dns_zone_new_unavailable. */
bool dns_zone_available(const struct dns_zone *z);

void dns_zone_ref(struct dns_zone *z);
void dns_zone_unref(struct dns_zone *z);

const struct dns_name *dns_zone_apex(const struct dns_zone *z);     /* as given */
uint32_t dns_zone_serial(const struct dns_zone *z);                 /* once finished */
/* Records: as added until finished, then without the duplicates. */
size_t dns_zone_records(const struct dns_zone *z);

/* Every record of a finished zone: the SOA first, then the rest in DNSSEC
 * canonical order of owner (RFC 4034 section 6.1), RRset by RRset. A
 * negative return from cb stops the walk and is returned. */
typedef int (*dns_zone_rr_cb)(void *arg, const struct dns_name *owner, uint16_t type,
                              uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                              uint16_t rdlen);
int dns_zone_walk(const struct dns_zone *z, dns_zone_rr_cb cb, void *arg);

/* The same walk in steps, for a transfer that produces one message at a
 * time: start with a zeroed cursor; a negative return from cb stops the
 * walk and is returned, and the next call begins again with the record
 * that cb refused. Returns 1 once every record was taken. */
struct dns_zone_cursor {
    bool started, soa_done, done;
    uint32_t node, rrset, rr;        /* position: node, RRset within it, record within that */
    uint32_t pos;                    /* the record's RDATA offset */
};
int dns_zone_walk_resume(const struct dns_zone *z, struct dns_zone_cursor *c, dns_zone_rr_cb cb,
                         void *arg);

/* A zone set: the zones one server answers for. It is filled before it is
 * shared and never changes afterwards (a reload builds a new set). */
struct dns_zoneset *dns_zoneset_new(void);
/* Add a finished zone (the set takes a reference). -EEXIST for a second
 * zone with the same apex, -EINVAL for an unfinished zone, -ENOMEM. */
int dns_zoneset_add(struct dns_zoneset *zs, struct dns_zone *z);
/* The zone with the deepest apex at or above name, or NULL. */
struct dns_zone *dns_zoneset_find(const struct dns_zoneset *zs, const struct dns_name *name);
void dns_zoneset_ref(struct dns_zoneset *zs);
void dns_zoneset_unref(struct dns_zoneset *zs);

#endif
