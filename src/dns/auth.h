/*
 * auth.h - the authoritative server's answers: from one query message to
 * one response message, per RFC 1034 section 4.3.2 and its updates.
 *
 * Pure: no sockets, no clock, no allocation on the answer path; the
 * transport (server.c) calls it from any thread with its own out buffer.
 *
 * The order of the checks follows the rule "drop what cannot be answered,
 * answer the rest": a message shorter than a header, or with QR set, is
 * dropped; then opcode (NOTIMP for anything but QUERY; NOTIFY is the
 * transport's), question count (FORMERR unless exactly one), parse
 * (FORMERR), EDNS (BADVERS for versions over 0; payload size honoured:
 * UDP answers are cut to min(client's payload, udp_max), at least 512,
 * with TC set when an answer or authority record was left out), class,
 * then the lookup: REFUSED outside every zone, an exact match (AA),
 * CNAME chains inside the server's zones, NXDOMAIN/NODATA with the SOA in
 * authority (TTL min(SOA TTL, SOA MINIMUM), RFC 2308 section 3),
 * referrals (AA clear, NS in authority, glue in additional), wildcards
 * (RFC 4592), additional A/AAAA for MX, NS and SRV targets, ANY answered
 * minimally (RFC 8482). The question is echoed with its case.
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
