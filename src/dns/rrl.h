/*
 * rrl.h - response-rate limiting for UDP answers, as BIND and NSD define
 * it: a client network (IPv4 /24, IPv6 /56) gets at most `rate` responses
 * per second of one kind for one name; the rest are dropped, except that
 * every `slip`th dropped response is sent truncated (TC set, no records)
 * so that a real client behind a forged-looking flood retries over TCP,
 * which cannot be spoofed and is never limited.
 *
 * What counts as "the same response" (the bucket's key):
 *   ANSWER, NODATA    client network, kind, query name and type
 *   NXDOMAIN          client network, kind, the zone (a flood of random
 *                     names in one zone is one flood)
 *   REFERRAL          client network, kind, the zone
 *   ERROR             client network, kind (all errors together)
 *
 * The buckets live in a fixed table (DNS_RRL_ENTRIES, 4-way sets chosen by
 * a hash keyed with a random seed, the least recently used entry evicted),
 * so memory does not grow with the number of clients. Thread-safe: the
 * table is split into stripes, each with its own lock.
 */
#ifndef OP_DNS_RRL_H
#define OP_DNS_RRL_H

#include <stdint.h>
#include <sys/socket.h>

#include "dns/auth.h"

#define DNS_RRL_ENTRIES 16384

enum dns_rrl_action {
    DNS_RRL_SEND,                    /* within the rate */
    DNS_RRL_DROP,                    /* over it: send nothing */
    DNS_RRL_SLIP,                    /* over it: send a truncated empty reply */
};

/* Set (or on reload change) the limits; rate 0 turns limiting off. */
void dns_rrl_configure(unsigned rate, unsigned slip);

/* Account one response to peer, described by res, at now_ms (monotonic). */
enum dns_rrl_action dns_rrl_check(const struct sockaddr_storage *peer,
                                  const struct dns_auth_result *res, uint64_t now_ms);

#endif
