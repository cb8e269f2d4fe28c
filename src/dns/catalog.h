/*
 * catalog.h - the zones this server is configured to serve, loaded from
 * their files and published to the DNS service (server.h).
 *
 * dns_catalog_load() runs on the main thread, at start and on every reload
 * (SIGHUP, `outpost dns reload`), never on a loop thread. For each zone of
 * the configuration it looks at the file (device, inode, size and
 * modification time): a zone whose file did not change since it was loaded
 * is reused as it is, any other is read anew. A zone that fails to load
 * keeps serving its previous version, if it has one, and the errors are
 * logged with file:line. Zones no longer in the configuration are dropped.
 * The new set is then published with dns_server_set_zones. One log line per
 * zone loaded, reloaded, failed or removed.
 *
 * Secondary zones (secondary.h) are the exception: their file is what the
 * last transfer wrote, read once at start (when present; a placeholder
 * answered SERVFAIL otherwise, zone.h dns_zone_new_unavailable, and also
 * when the file is older than the SOA expire timer: the time of the last
 * refresh is the file's modification time). From then on the secondary
 * module replaces them with dns_catalog_update, from its own thread: the
 * catalog's state is behind a mutex. A transferred zone goes to the
 * zone's journal and is announced to its notify list like a reloaded one.
 *
 * Transfers: a zone read anew whose serial went up gets the difference to
 * its previous version appended to its journal (journal.h) before the new
 * version is served; the transfer policy (allow_transfer, journals, keys)
 * is published with dns_xfr_publish (xfrout.h); a zone loaded for the first
 * time or with a new serial is announced by NOTIFY (notify.h) to its
 * notify list.
 */
#ifndef OP_DNS_CATALOG_H
#define OP_DNS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "dns/zone.h"

struct dns_zone_source {
    const char *name;                /* the apex in text form */
    const char *path;                /* its master file */
    const char *allow_transfer;      /* who may transfer it (acl.h); NULL or "": nobody */
    const char *notify;              /* secondaries to NOTIFY (acl.h address list); NULL: none */
    const char *journal;             /* its IXFR journal file (journal.h); NULL: in memory */
    bool secondary;                  /* fetched from primaries (secondary.h) */
};

struct dns_tsig_key;

/* The TSIG keys that transfers and NOTIFY may use (copied), before
 * dns_catalog_load. */
int dns_catalog_set_keys(const struct dns_tsig_key *keys, size_t n);

/* Replace the zone named name (as in dns_zone_source) by z, or by an
 * unavailable placeholder when z is NULL, and publish the set (any
 * thread but a loop's). The catalog takes a reference to z. 0, or
 * OP_E_NOTFOUND for a zone not in the catalog, -ENOMEM. */
int dns_catalog_update(const char *name, struct dns_zone *z);

/* The zone served as name, with a reference, or NULL. */
struct dns_zone *dns_catalog_get(const char *name);

/* Load (or reload) the zones and publish them. Returns the number of zones
 * that failed to load (each logged). */
int dns_catalog_load(const struct dns_zone_source *src, size_t n);

/* Forget the loaded zones (at exit, after dns_server_cleanup). */
void dns_catalog_cleanup(void);

/* Only check: load each zone and append every error (file:line: ...) and
 * warning to errors. Returns the number of zones that failed. */
int dns_catalog_check(const struct dns_zone_source *src, size_t n, struct buf *errors);

#endif
