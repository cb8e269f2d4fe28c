/*
 * mx.h - reading the DNS answers a mail delivery needs, and the order in
 * which to try a domain's mail servers (RFC 5321 section 5.1).
 *
 * Pure functions over a response as dns_client_query() returns it (the
 * question already matched by the client); they copy what they keep, so
 * the response buffer can be reused. The only impurity is mx_order()'s
 * random choice among equal preferences, whose random source the caller
 * gives (tests pass a fixed one).
 */
#ifndef OP_SMTP_MX_H
#define OP_SMTP_MX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/name.h"

#define MX_MAX 32           /* hosts kept per domain (more are dropped) */
#define MX_ADDR_MAX 16      /* addresses kept per host and family */

struct mx_host {
    uint16_t pref;
    struct dns_name name;
    char text[DNS_NAME_MAXTEXT];    /* "mx.example.com" (no final dot) */
};

enum mx_result {
    MX_FOUND,           /* out[0 .. *n) */
    MX_NODATA,          /* the name exists, no MX: the domain is its own mail host */
    MX_NULL,            /* "MX 0 ." (RFC 7505): the domain takes no mail */
    MX_NXDOMAIN,        /* the domain does not exist */
    MX_TEMPFAIL,        /* SERVFAIL, REFUSED, or anything unreadable: try again later */
};

/* The MX records in the answer section of resp[0 .. len). Pure. */
enum mx_result mx_parse(const uint8_t *resp, size_t len, struct mx_host *out, size_t max,
                        size_t *n);

/* Sort by preference, lowest first; among equal preferences in random
 * order (RFC 5321 section 5.1), rnd(bound) giving 0 .. bound-1. */
void mx_order(struct mx_host *h, size_t n, uint32_t (*rnd)(uint32_t bound));

/* The A (qtype 1) or AAAA (28) records of an answer as socket addresses
 * with port; how many (0 for NODATA or NXDOMAIN), or MX_TEMPFAIL's meaning
 * as -EAGAIN. Pure. */
int mx_addrs_parse(const uint8_t *resp, size_t len, uint16_t qtype, uint16_t port,
                   struct sockaddr_storage *out, size_t max);

#endif
