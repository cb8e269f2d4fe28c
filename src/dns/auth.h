/*
 * auth.h - the authoritative server's answers: from one query message to
 * one response message, per RFC 1034 section 4.3.2 and its updates.
 *
 * Pure: no sockets, no clock, no allocation on the answer path; the
 * transport (server.c) calls it from any thread with its own out buffer.
 *
 * The order of the checks follows the rule "drop what cannot be answered,
 * answer the rest": a message shorter than a header, or with QR set, is
 * dropped; then opcode (NOTIMP for anything but QUERY; the transport takes
 * NOTIFY before calling here), question count (FORMERR unless exactly
 * one, without a question in the reply), parse (FORMERR, header only),
 * EDNS (FORMERR for more than one OPT RR, one not at the root or not in
 * the additional section, or with malformed options: no OPT in the reply),
 * trailing octets and answer or authority records (FORMERR; an IXFR query
 * may carry its SOA in the authority section), EDNS version (BADVERS for
 * versions over 0), class (IN only: REFUSED for CH, HS, ANY...), query type
 * (AXFR over UDP and the other meta types: NOTIMP), then the lookup:
 * REFUSED outside every zone (RD copied, RA clear), SERVFAIL for a
 * zone without data (dns_zone_available: a secondary not yet transferred
 * or expired), an exact match (AA),
 * CNAME chains inside the server's zones (RCODE of the last name, RFC
 * 6604; at most 12 steps, a repeated name ends the chain), DNAME (RFC
 * 6672, with the synthesized CNAME; YXDOMAIN when the result is too long),
 * NXDOMAIN/NODATA with the SOA in authority (TTL min(SOA TTL, SOA
 * MINIMUM), RFC 2308 section 3), referrals (AA clear, NS in authority,
 * glue in additional; DS at a delegation point is the parent's, RFC 4035
 * section 3.1.4.1, also when the child zone is in the set), wildcards
 * (RFC 4592), additional A/AAAA for MX, NS and SRV targets in the same
 * zone, ANY answered with one RRset (RFC 8482), IXFR over UDP with the
 * SOA alone (RFC 1995 section 2), AXFR and IXFR over TCP handed to the
 * transport. The question is echoed with its case.
 *
 * Sizes: over UDP the response fits max(512, min(client's payload, udp_max))
 * octets, 512 without EDNS; over TCP 65535. RRsets go whole or not at all
 * (RFC 2181 section 9): an answer or authority RRset that does not fit
 * sets TC and ends the message (the OPT RR is always kept); additional
 * RRsets that do not fit are left out without TC, except a referral's
 * glue for name servers inside the delegated zone (RFC 9471: TC). The reply has an OPT RR
 * (our udp_max, the DO bit copied) whenever the query had a valid one.
 * DNSSEC records are served as ordinary data: nothing is added for DO.
 */
#ifndef OP_DNS_AUTH_H
#define OP_DNS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/zone.h"

struct dns_auth_opts {
    bool tcp;                        /* the query came over TCP: up to 65535 octets */
    uint16_t udp_max;                /* our EDNS payload size (e.g. 1232) */
};

/* What was answered, for the log, the statistics and response-rate limiting. */
enum dns_auth_kind {
    DNS_AUTH_DROP,                   /* no response */
    DNS_AUTH_ANSWER,                 /* NOERROR with data in the answer section */
    DNS_AUTH_NODATA,                 /* NOERROR, empty answer */
    DNS_AUTH_NXDOMAIN,
    DNS_AUTH_REFERRAL,
    DNS_AUTH_ERROR,                  /* FORMERR, NOTIMP, REFUSED, BADVERS, SERVFAIL */
    DNS_AUTH_XFR,                    /* AXFR or IXFR over TCP: the transport's to answer */
};

struct dns_auth_result {
    enum dns_auth_kind kind;
    uint16_t rcode;                  /* the full (extended) RCODE sent */
    uint16_t qtype;
    struct dns_name qname;           /* as asked (valid unless the parse failed) */
    const struct dns_zone *zone;     /* the zone that answered, or NULL */
    bool truncated;                  /* TC was set */
};

/*
 * Answer the query q[0..qlen) from zs into out[0..cap) (cap at least 65535
 * for TCP, at least udp_max for UDP). Returns the response's length, or 0
 * when it is to be dropped or handed over (res->kind DROP or XFR).
 */
size_t dns_auth_respond(const struct dns_zoneset *zs, const uint8_t *q, size_t qlen,
                        const struct dns_auth_opts *o, uint8_t *out, size_t cap,
                        struct dns_auth_result *res);

#endif
