/*
 * delivery.h - the outgoing side of the mail system: runner threads that
 * take due messages from the queue (mail/queue.h), find each recipient
 * domain's mail servers (MX, falling back to A/AAAA: RFC 5321 section
 * 5.1) with outpost's own DNS query code (dns/client.h) asking the
 * configured recursive resolvers, and hand the
 * message over with the SMTP client (smtp/client.h): EHLO, STARTTLS when
 * offered, PIPELINING when offered, one connection per host carrying all
 * of that host's recipients, and kept for the next due messages to the
 * same host (a bounded number). Outcomes go back to the queue, which
 * retries and bounces. An attempt cut by delivery_stop() is not counted.
 * Local domains (the loop guard) are those the SMTP service's current
 * settings and accounts say (smtp/server.h), at every attempt.
 *
 * The runners block (DNS, connect, TLS, the SMTP dialogue) with every wait
 * bounded by a timeout (RFC 5321 section 4.5.3.2); they are their own
 * threads, not the event loops'.
 */
#ifndef OP_SMTP_DELIVERY_H
#define OP_SMTP_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/client.h"

struct delivery_config {
    const char *datadir;
    const char *hostname;               /* our EHLO name */
    struct dns_server resolvers[DNS_RESOLV_MAXNS];
    size_t nresolvers;                  /* 0: those of /etc/resolv.conf */
    unsigned smtp_port;                 /* remote servers' port: 25 (tests use others) */
    unsigned runners;                   /* concurrent deliveries */
    unsigned connect_timeout_ms;
    /* Added to the contract: when not 0, caps every wait of the SMTP
     * dialogue (else RFC 5321 section 4.5.3.2's minutes), so tests of a
     * server that hangs take seconds. */
    unsigned smtp_timeout_ms;
    /* Local domains: mail for them never leaves (a loop guard). Used only
     * when the SMTP service has no settings (smtp_domain_local()). */
    const char *const *local_domains;
    size_t nlocal_domains;
};

/* Start the runner threads (after queue_init). 0 or negative. */
int  delivery_start(const struct delivery_config *cfg);
/* Wake the runners: something was queued or flushed. Thread-safe, cheap. */
void delivery_kick(void);
/* Finish the attempts in progress (bounded by their timeouts), stop. */
void delivery_stop(void);

#endif
