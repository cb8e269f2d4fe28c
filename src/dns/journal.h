/*
 * journal.h - the differences between successive versions of a primary
 * zone, for incremental zone transfers (IXFR, RFC 1995).
 *
 * A difference (struct dns_diff) takes a zone from one serial to the next:
 * the old SOA, the records deleted, the new SOA, the records added, in that
 * order, which is exactly how one step appears in an IXFR answer (RFC 1995
 * section 4). It is computed by comparing two versions record by record
 * (dns_journal_diff), so a record changed only in its TTL is one deletion
 * and one addition, and a record both added and removed between two loads
 * never appears. Diffs are immutable and reference-counted: a transfer in
 * progress keeps the ones it sends, whatever the journal does meanwhile.
 *
 * A journal (struct dns_journal) is the chain of diffs of one zone, oldest
 * first, each starting at the serial the previous one ended at, the last
 * one ending at the serial being served. It keeps at most DNS_JOURNAL_MAX
 * versions and DNS_JOURNAL_MAXBYTES octets of records (the oldest go
 * first). The catalog (main thread) appends; transfers (loop threads) read
 * under the journal's mutex.
 *
 * On disk: DATA/zones/NAME.journal, written by the main thread only:
 *     header  "OUTPOST-JOURNAL 1\n" (18 octets)
 *     entries, each: u32 magic 0x4f504a44 ("OPJD"), u32 length L of the
 *             payload, the payload, u32 CRC-32 (IEEE) of the payload
 *     payload u32 from-serial, u32 to-serial, u32 deletions, u32 additions,
 *             then the records: old SOA, deletions, new SOA, additions, each
 *             as owner (uncompressed wire form), u16 type, u16 class,
 *             u32 TTL, u16 RDLENGTH, RDATA (uncompressed)
 * (all integers in network order). An entry is appended and the file
 * fsynced before the new zone version is served; dropping old versions
 * rewrites the file atomically. At start the file is read up to the first
 * damaged or incomplete entry (a crash during an append); it is kept only
 * if its chain is unbroken and ends at the serial of the zone file, else it
 * is dropped, with a log line.
 */
#ifndef OP_DNS_JOURNAL_H
#define OP_DNS_JOURNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/zone.h"

#define DNS_JOURNAL_MAX 100                      /* versions kept */
#define DNS_JOURNAL_MAXBYTES (64u << 20)         /* record octets kept */

struct dns_diff {
    _Atomic unsigned refs;
    uint32_t from, to;                           /* serials */
    uint32_t ndel, nadd;                         /* records deleted, added (SOAs aside) */
    size_t len;                                  /* octets in data */
    uint8_t data[];                              /* the records, as in the file's payload */
};

/* One record of a diff, pointing into it. */
struct dns_jrec {
    struct dns_name owner;
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata;
};

/* The record at *off of d (start at 0): 1 and *off advanced, or 0 at the
 * end (or on damage, which a diff built here never has). */
int dns_diff_next(const struct dns_diff *d, size_t *off, struct dns_jrec *r);

/* The difference between two finished versions of a zone (same apex).
 * 0 with *out (NULL when the records, SOA aside, are equal), -ENOMEM. */
int dns_journal_diff(const struct dns_zone *old, const struct dns_zone *cur,
                     struct dns_diff **out);

void dns_diff_ref(struct dns_diff *d);
void dns_diff_unref(struct dns_diff *d);

struct dns_journal;

/* The journal of zone name kept at path (NULL: in memory only), loaded
 * from the file when it ends at serial (see above). NULL on -ENOMEM. */
struct dns_journal *dns_journal_open(const char *path, const char *name, uint32_t serial);
void dns_journal_ref(struct dns_journal *j);
void dns_journal_unref(struct dns_journal *j);

/*
 * The zone went from old to cur (main thread). When cur's serial is
 * greater (RFC 1982 serial arithmetic) the difference is appended and
 * persisted: returns 1. Unchanged serial and content: 0. A serial that
 * went down, or stayed while the content changed: a warning, the journal
 * is cleared (secondaries then fetch the whole zone), returns 0. Negative
 * on an error writing the file (logged; the journal is cleared).
 */
int dns_journal_update(struct dns_journal *j, const struct dns_zone *old,
                       const struct dns_zone *cur);

/* Forget every version (and truncate the file). */
void dns_journal_clear(struct dns_journal *j);

/*
 * The diffs leading from serial from to serial to (the one served), each
 * with a reference taken, into *out (malloc'ed; release with
 * dns_diffs_release). 0 when the journal reaches from (*n may be 0 when
 * from == to), -ENOENT when it does not, -ENOMEM.
 */
int dns_journal_since(struct dns_journal *j, uint32_t from, uint32_t to, struct dns_diff ***out,
                      size_t *n);
void dns_diffs_release(struct dns_diff **v, size_t n);

/* Versions held (for tests and logs). */
size_t dns_journal_versions(struct dns_journal *j);

/* RFC 1982 section 3.2: a is greater than b. */
bool dns_serial_gt(uint32_t a, uint32_t b);

#endif
