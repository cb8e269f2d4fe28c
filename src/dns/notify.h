/*
 * notify.h - telling secondaries that a zone changed: NOTIFY (RFC 1996),
 * the primary's side.
 *
 * dns_notify_zone (main thread) sends, to each address of a zone's notify
 * list, a NOTIFY message (opcode 4, AA set, the question "apex IN SOA", the
 * zone's SOA in the answer section as a hint, RFC 1996 section 3.7), over
 * UDP from a socket of its own, signed with the address's TSIG key when it
 * has one. The work runs on an event loop: no call blocks. A message that
 * gets no matching response (same ID, QR set, opcode NOTIFY, same
 * question; RFC 1996 section 4.8) is sent again after 1, 2, 4, 8 and 16
 * seconds (RFC 1996 section 3.6 asks for retries at growing intervals),
 * then given up. Each outcome is logged: the secondary's address, the zone,
 * the serial, the RCODE it answered or that it never did.
 *
 * A newer NOTIFY for the same zone and address replaces one still being
 * retried (the secondary needs to hear only of the latest serial).
 */
#ifndef OP_DNS_NOTIFY_H
#define OP_DNS_NOTIFY_H

#include <stddef.h>

#include "dns/acl.h"
#include "dns/tsig.h"
#include "dns/zone.h"

#define DNS_NOTIFY_TRIES 6           /* the first send and 5 retries */

/* Notify every address in to of zone z's current serial. key_of(name)
 * gives the TSIG key an address names (NULL: unknown, the address is
 * skipped with a log line). */
void dns_notify_zone(const struct dns_zone *z, const struct dns_remotes *to,
                     const struct dns_tsig_key *(*key_of)(const char *name, void *arg),
                     void *arg);

/* Stop and free every NOTIFY in progress (after the loops stopped). */
void dns_notify_cleanup(void);

#endif
