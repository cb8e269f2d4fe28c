/*
 * secondary.h - secondary zones: kept up to date from their primaries by
 * zone transfer (RFC 1034 section 4.3.5, RFC 1996).
 *
 * Per zone, the SOA timers of the zone (RFC 1035 section 3.3.13) drive a
 * check: every REFRESH seconds the primaries are asked for their SOA over
 * UDP, in the order configured, and when one has a newer serial (RFC 1982
 * arithmetic) the zone is fetched from it (xfrin.h: IXFR, AXFR as the
 * fallback). A check that reaches no primary is tried again after RETRY
 * seconds. A NOTIFY (RFC 1996) from a primary asks for a check at once.
 * When no check succeeded for EXPIRE seconds, the zone is expired: it is
 * answered SERVFAIL (zone.h dns_zone_new_unavailable) until a transfer
 * succeeds. Timers are taken at least 1 s.
 *
 * Threads: checks and transfers run with blocking sockets (bounded by
 * timeouts) on one refresh thread of this module, one zone after another,
 * so that no loop thread waits on the network and the worker pool stays
 * free for the short jobs it is sized for. Loop threads only take a
 * NOTIFY (dns_secondary_notify), which marks the zone and wakes the
 * thread. A fetched zone is written to the zone's file, then swapped into
 * the served set (catalog.h dns_catalog_update).
 *
 * Persistence: the file is written atomically (temporary file, fsync,
 * rename, fsync of the directory) as a master file, and its modification
 * time is the time of the last successful check (touched when the
 * primary had nothing newer), so that expiry runs on across a restart.
 */
#ifndef OP_DNS_SECONDARY_H
#define OP_DNS_SECONDARY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/tsig.h"

struct dns_secondary_zone {
    const char *name;                /* the apex, as in the catalog */
    const char *path;                /* where the fetched zone is written */
    const char *primaries;           /* "ADDR[:PORT] [key NAME], ..." (acl.h address list) */
};

/* Start keeping these zones (at start, after dns_catalog_load) or take a
 * new list (on reload: zones kept by name keep their timers and take the
 * new primaries). keys are the [key NAME] sections the primaries name
 * (copied). Main thread. 0, or a negative error (logged). */
int dns_secondary_configure(const struct dns_secondary_zone *z, size_t n,
                            const struct dns_tsig_key *keys, size_t nkeys);

/* Stop the refresh thread (a check in progress is cut short within
 * 100 ms, xfrin.h dns_xfrin_cancel) and forget the zones. */
void dns_secondary_stop(void);

/*
 * A NOTIFY message q[0..qlen) from peer (any thread): the answer into
 * out[0..cap), its length returned (0: drop). NOERROR with AA and the
 * question echoed for a zone of ours from the address of one of its
 * primaries (RFC 1996 section 4.7) and, when that primary has a key,
 * signed with it (the answer is signed too); REFUSED from any other
 * address; NOTAUTH when the key is missing or wrong (with the TSIG error
 * of RFC 8945 section 5.3.2) and for a zone we are not secondary for;
 * FORMERR for a message without exactly one question.
 */
size_t dns_secondary_notify(const uint8_t *q, size_t qlen, const struct sockaddr_storage *peer,
                            uint8_t *out, size_t cap);

#endif
