/*
 * xfrout.h - outgoing zone transfers: the answers to AXFR (RFC 5936) and
 * IXFR (RFC 1995) requests over TCP.
 *
 * The transport (server.c) hands over a request that dns_auth_respond
 * marked DNS_AUTH_XFR. dns_xfrout_begin checks it, in this order: the
 * question must name the apex of a zone we serve (else NOTAUTH, RFC 5936
 * section 2.2.1); a TSIG record is verified (RFC 8945; a bad one: NOTAUTH
 * with its TSIG error); the client must be admitted by the zone's
 * allow_transfer list (acl.h): an address not listed gets REFUSED, a
 * listed one without the key its entry requires NOTAUTH. Every outcome is
 * logged with the client, the zone and the reason.
 *
 * An admitted request becomes a struct dns_xfrout, which holds a reference
 * to the zone version (and to the journal's diffs for IXFR) so that a
 * reload during the transfer changes nothing in it. The transport asks it
 * for one message at a time (dns_xfrout_next) as the connection's output
 * drains, so a large zone never blocks the loop nor fills the memory, and
 * any number of transfers run at once.
 *
 * Messages (RFC 5936 section 2.2): the question in the first message only;
 * records packed up to about DNS_XFR_MSG_TARGET octets per message (one
 * larger record gets a message of its own, up to 65535), names compressed
 * within each message; each message TSIG-signed when the request was.
 *   AXFR: SOA, every other record (dns_zone_walk order), SOA.
 *   IXFR: the client's serial (the SOA in the request's authority section)
 *   is current or newer: one SOA. The journal reaches it: the new SOA, then
 *   for each version the old SOA, the deletions, the next SOA, the additions,
 *   and the new SOA again (RFC 1995 section 4). Otherwise the whole zone as
 *   for AXFR (with the IXFR question).
 *
 * The policy (which zones may be transferred by whom, their journals, the
 * TSIG keys) is built by the catalog on the main thread and published as a
 * whole with dns_xfr_publish; loop threads read it within one callback.
 */
#ifndef OP_DNS_XFROUT_H
#define OP_DNS_XFROUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/acl.h"
#include "dns/journal.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/zone.h"

#define DNS_XFR_MSG_TARGET 16384

struct dns_xfr_policy;

/* A new, empty policy (NULL on -ENOMEM). */
struct dns_xfr_policy *dns_xfr_policy_new(void);
/* Add a zone: acl is taken over (and emptied), journal referenced (may be
 * NULL). 0 or -ENOMEM. */
int dns_xfr_policy_add_zone(struct dns_xfr_policy *p, const struct dns_name *apex,
                            struct dns_acl *acl, struct dns_journal *journal);
/* Add a TSIG key requests may be signed with. 0 or -ENOMEM. */
int dns_xfr_policy_add_key(struct dns_xfr_policy *p, const struct dns_tsig_key *k);
/* The keys, for signing NOTIFY messages (valid while p is). */
const struct dns_tsig_key *dns_xfr_policy_key(const struct dns_xfr_policy *p, const char *name);
void dns_xfr_policy_free(struct dns_xfr_policy *p);

/* Publish p (taking it over); the previous policy is freed once no loop
 * can be reading it. NULL: no transfers. */
void dns_xfr_publish(struct dns_xfr_policy *p);
/* Free the current policy (after the loops stopped). */
void dns_xfr_cleanup(void);

struct dns_xfrout;

/*
 * Begin answering the transfer request q[0..qlen) from peer, out of zs.
 * Returns the transfer (then call dns_xfrout_next until it returns 0), or
 * NULL with a single response (an error, or nothing to drop) written into
 * out[0..cap) and its length in *outlen. cap must be at least 65535.
 */
struct dns_xfrout *dns_xfrout_begin(const struct dns_zoneset *zs, const uint8_t *q, size_t qlen,
                                    const struct sockaddr_storage *peer, uint64_t now_ms,
                                    uint8_t *out, size_t cap, size_t *outlen);

/* The next message into out[0..cap) (cap at least 65535): its length, or 0
 * when the transfer is complete (or failed, logged). */
size_t dns_xfrout_next(struct dns_xfrout *x, uint8_t *out, size_t cap);

/* End the transfer (complete or not: the client may have gone). */
void dns_xfrout_free(struct dns_xfrout *x);

#endif
