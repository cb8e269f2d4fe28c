/*
 * server.h - the authoritative DNS service as the rest of outpost sees it:
 * UDP and TCP listeners, the zone set queries are answered from, and the
 * settings that SIGHUP may change.
 *
 * Every query is answered by dns_auth_respond (auth.h) on the loop thread
 * that read it. Over UDP (net/udp.c) queries come in batches; a response is
 * cut to the payload size (TC set when records were left out) and, with
 * rate limiting on, may be dropped or sent truncated (rrl.h). Over TCP
 * (RFC 7766) each message carries a 2-octet length; a client may pipeline
 * queries, each answered in order as soon as it is read; an idle
 * connection, or a query begun and not completed, is closed after
 * tcp_idle_ms; a length of 0 or over DNS_TCP_MAX_QUERY closes it at once.
 * A zone transfer request (AXFR, IXFR) is answered by xfrout.h, one message
 * at a time as the connection's output drains. A NOTIFY
 * (opcode 4, RFC 1996), over UDP or TCP, goes to the secondary module
 * (secondary.h dns_secondary_notify) instead of auth, and is not rate
 * limited: it comes only from configured primaries.
 *
 * The zone set is published with an atomic store; readers load it per
 * query and never keep it across events, so the old set is released after
 * a grace period in which every loop finished what it was doing
 * (server_quiesce).
 */
#ifndef OP_DNS_SERVER_H
#define OP_DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "dns/zone.h"

/* The largest query taken over TCP: a question with EDNS, TSIG, or a
 * modest UPDATE fits many times over. */
#define DNS_TCP_MAX_QUERY 16384

struct dns_server_config {
    unsigned udp_payload;            /* our EDNS payload size, 512..4096 */
    unsigned tcp_idle_ms;
    unsigned rrl_rate;               /* 0: off */
    unsigned rrl_slip;
    bool log_queries;
};

/* Apply settings (at start and on SIGHUP; thread-safe). */
void dns_server_configure(const struct dns_server_config *c);

/* Bind UDP and TCP on every address. 0, or -errno with a sentence in err. */
int dns_server_listen(const struct cfg_addrs *addrs, char *err, size_t errlen);

/* Publish zs (the server takes over the caller's reference); the previous
 * set is released once no query can be using it. NULL: no zones. */
void dns_server_set_zones(struct dns_zoneset *zs);

/* Release the current set (after the loops stopped). */
void dns_server_cleanup(void);

#endif
