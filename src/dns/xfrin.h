/*
 * xfrin.h - the client side of zone transfers: asking a primary for its
 * SOA serial, and fetching a zone from it by IXFR (RFC 1995) or AXFR
 * (RFC 5936).
 *
 * Blocking: every function here opens its own socket, waits with the
 * timeouts given, and must run on a thread that may block (the secondary
 * module's refresh thread, secondary.h), never on a loop thread.
 *
 * A transfer is a stream of messages over one TCP connection, each with a
 * 2-octet length (RFC 1035 section 4.2.2). What is checked (RFC 5936
 * section 2.2): every message has our ID, QR, opcode QUERY and RCODE
 * NOERROR; the first message echoes our question (later ones may omit
 * it); the first record is the zone's SOA and the stream ends with the
 * same SOA; every record is of class IN and inside the zone. An IXFR
 * answer is read as AXFR-style when its second record is not the SOA of
 * our serial (RFC 1995 section 4: the primary may send the whole zone),
 * and applied as differences to the current zone otherwise: each sequence
 * deletes the old SOA and records, then adds the new SOA and records (RFC
 * 1995 section 2); deleting a record we do not have means we are out of
 * step, and the transfer is retried as AXFR. So is an IXFR refused or
 * failed in any other way.
 *
 * TSIG (RFC 8945): with a key, the query is signed and every answer must
 * verify against it: the SOA answer, and the first and last messages of a
 * transfer (up to 99 unsigned ones in between, section 5.3.1). An
 * unsigned or badly signed answer fails the check (OP_E_AUTH for the SOA
 * query) with a sentence that never holds the secret.
 */
#ifndef OP_DNS_XFRIN_H
#define OP_DNS_XFRIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/name.h"
#include "dns/tsig.h"
#include "dns/zone.h"

/* The serial and timers of an SOA RDATA (uncompressed). 0 or -EBADMSG. */
struct dns_soa_timers {
    uint32_t serial, refresh, retry, expire, minimum;
};
int dns_soa_parse(const uint8_t *rd, size_t len, struct dns_soa_timers *out);
/* The same from a finished zone's SOA. */
int dns_zone_soa(const struct dns_zone *z, struct dns_soa_timers *out);

/*
 * Ask primary for apex's SOA over UDP (one query, answered within
 * timeout_ms). 0 with *serial, or negative with a sentence in err
 * ("timed out", "answered REFUSED", ...).
 */
int dns_xfrin_soa_query(const struct sockaddr_storage *primary, const struct dns_tsig_key *key,
                        const struct dns_name *apex, unsigned timeout_ms, uint32_t *serial,
                        char *err, size_t errlen);

/*
 * Fetch apex from primary: IXFR from cur's serial when cur is given (with
 * AXFR as the fallback), AXFR otherwise. timeout_ms bounds the connect
 * and every read; the whole transfer may take at most 10 times that.
 * Returns:
 *   1  a new, finished zone in *out; *how is "IXFR" or "AXFR";
 *   0  the primary has nothing newer than cur (*out NULL);
 *   negative, with a sentence in err.
 */
int dns_xfrin_fetch(const struct sockaddr_storage *primary, const struct dns_tsig_key *key,
                    const struct dns_name *apex, const struct dns_zone *cur, unsigned timeout_ms, struct dns_zone **out,
                    const char **how, char *err, size_t errlen);

/* Make every wait of the functions above (on any thread) return
 * -ECANCELED within 100 ms while on is true: for a quick shutdown. */
void dns_xfrin_cancel(bool on);

/*
 * The reading of a transfer without the network (for tests and fuzzing):
 * stream[0..len) holds the answer's messages, each with its 2-octet
 * length, to the query with ID id: AXFR, or IXFR from cur when cur is
 * given. No TSIG. Same results as dns_xfrin_fetch, without the fallback;
 * -ENOENT when an IXFR deletes a record cur does not have.
 */
int dns_xfrin_read(const uint8_t *stream, size_t len, uint16_t id, const struct dns_name *apex,
                   const struct dns_zone *cur, struct dns_zone **out, char *err, size_t errlen);

#endif
