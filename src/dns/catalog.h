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
 * Transfers: a zone read anew whose serial went up gets the difference to
 * its previous version appended to its journal (journal.h) before the new
 * version is served; the transfer policy (allow_transfer, journals, keys)
 * is published with dns_xfr_publish (xfrout.h); a zone loaded for the first
 * time or with a new serial is announced by NOTIFY (notify.h) to its
 * notify list.
 */
#ifndef OP_DNS_CATALOG_H
#define OP_DNS_CATALOG_H

#include <stddef.h>

#include "base/buf.h"

struct dns_zone_source {
    const char *name;                /* the apex in text form */
    const char *path;                /* its master file */
    const char *allow_transfer;      /* who may transfer it (acl.h); NULL or "": nobody */
    const char *notify;              /* secondaries to NOTIFY (acl.h address list); NULL: none */
    const char *journal;             /* its IXFR journal file (journal.h); NULL: in memory */
};

struct dns_tsig_key;

/* The TSIG keys that transfers and NOTIFY may use (copied), before
 * dns_catalog_load. */
int dns_catalog_set_keys(const struct dns_tsig_key *keys, size_t n);

/* Load (or reload) the zones and publish them. Returns the number of zones
 * that failed to load (each logged). */
int dns_catalog_load(const struct dns_zone_source *src, size_t n);

/* Forget the loaded zones (at exit, after dns_server_cleanup). */
void dns_catalog_cleanup(void);

/* Only check: load each zone and append every error (file:line: ...) and
 * warning to errors. Returns the number of zones that failed. */
int dns_catalog_check(const struct dns_zone_source *src, size_t n, struct buf *errors);

#endif
