/*
 * client.h - a stub resolver's query engine: send one question to one
 * server and bring back its answer.
 *
 * dns_client_query() builds the query (a fresh random ID, RD as asked,
 * an optional OPT RR with a payload size and the DO bit), sends it over
 * UDP and waits with poll() for an answer, resending up to `tries` times;
 * an answer with TC set is asked again over TCP (RFC 7766 section 5),
 * unless told otherwise; TCP can also be asked for from the start. The
 * raw response comes back in the caller's buffer, with how it came and how
 * long it took: parsing and judging it is the caller's job (wire.h).
 *
 * What counts as the answer (RFC 5452 section 9.1): a datagram from the
 * server's address and port (the UDP socket is connected to it, and the
 * sender is checked again), with QR set, the query's ID and opcode, and
 * the same question: QNAME equal ignoring ASCII case, QTYPE and QCLASS
 * equal. Anything else is dropped and the client keeps waiting until the
 * try's time is up, so a stray or forged datagram cannot end the exchange.
 * The one exception to "the same question": a FORMERR or NOTIMP response
 * with no question at all, which a server that could not read or handle
 * the query may send (it is still bound by address, port and ID).
 *
 * Blocking, but bounded: every wait has a deadline (timeout_ms per try),
 * every loop a count. Thread-safe: no globals, no signals, no static
 * buffers; everything lives in the caller's memory or on the stack (a
 * query takes about 2 KiB of it, reading resolv.conf 16 KiB). Callable from
 * the CLI and from worker-pool threads alike.
 *
 * Errors: -ETIMEDOUT (no answer in any try), -ECONNREFUSED (the server's
 * port is closed: ICMP for UDP, RST for TCP), -EMSGSIZE (an answer over
 * TCP longer than the caller's buffer), -ECONNRESET (TCP closed before a
 * whole answer), -EINVAL (bad arguments), other -errno from the socket
 * calls. After several failed tries, the last try's error is returned.
 */
#ifndef OP_DNS_CLIENT_H
#define OP_DNS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/name.h"

#define DNS_CLIENT_TIMEOUT_MS 5000  /* per try, when opts say 0 */
#define DNS_CLIENT_TRIES 3          /* UDP sends (and TCP connections), when opts say 0 */
#define DNS_CLIENT_UDP_SIZE 1232    /* our EDNS payload size: fits any IPv6 path
                                     * without fragmentation (the 2020 DNS flag day) */
#define DNS_CLIENT_MAX_TRIES 100
#define DNS_CLIENT_MAX_TIMEOUT_MS 300000

/* A server: an IPv4 or IPv6 socket address, port included. */
struct dns_server {
    struct sockaddr_storage addr;
    socklen_t len;
};

/* Things worth telling a user about while a query runs. */
enum dns_client_event_kind {
    DNS_CLIENT_TRY_FAILED,   /* a try ended without an answer: err says why */
    DNS_CLIENT_IGNORED,      /* a message was dropped: why says why */
    DNS_CLIENT_TRUNCATED,    /* the UDP answer had TC set: asking again over TCP */
};

struct dns_client_event {
    enum dns_client_event_kind kind;
    bool tcp;                /* over TCP (else UDP) */
    int err;                 /* TRY_FAILED: -ETIMEDOUT, -ECONNREFUSED, ... */
    const char *why;         /* IGNORED: a sentence ("ID mismatch") */
    bool wrong_id;           /* IGNORED: from the server, but with another ID */
    uint16_t want_id, got_id;
};

struct dns_query_opts {
    bool rd;                 /* ask for recursion (RFC 1035 section 4.1.1) */
    bool cd;                 /* checking disabled (RFC 4035 section 3.2.2) */
    bool edns;               /* add an OPT RR (RFC 6891) */
    uint16_t udp_size;       /* its payload size; 0 means DNS_CLIENT_UDP_SIZE */
    bool do_bit;             /* DNSSEC OK (RFC 3225); implies nothing without edns */
    bool tcp;                /* use TCP from the start */
    bool ignore_tc;          /* keep a truncated UDP answer rather than retry over TCP */
    int timeout_ms;          /* per try; 0 means DNS_CLIENT_TIMEOUT_MS */
    int tries;               /* 0 means DNS_CLIENT_TRIES */
    /* Called, if set, for each event as it happens (on the calling thread). */
    void (*on_event)(void *arg, const struct dns_client_event *ev);
    void *arg;
};

/* How the answer came. */
struct dns_reply {
    size_t len;              /* the response is resp[0 .. len) */
    size_t query_len;        /* octets of the query sent */
    uint16_t id;             /* the query's ID */
    bool tcp;                /* the answer came over TCP */
    int tries;               /* sends (UDP) or connections (TCP) used in all */
    uint64_t rtt_us;         /* from the last send to the answer */
};

/*
 * Ask server for (qname, qtype, qclass). resp[0 .. cap) receives the
 * response; cap must be at least 512 and at least the EDNS payload size
 * asked for (else -EINVAL: a datagram of that size could not be taken),
 * and DNS_MSG_MAX (wire.h) is always enough. Returns 0 and fills *r, or a
 * negative error (see above).
 */
int dns_client_query(const struct dns_server *server, const struct dns_name *qname,
                     uint16_t qtype, uint16_t qclass, const struct dns_query_opts *o,
                     uint8_t *resp, size_t cap, struct dns_reply *r);

/* Build the query dns_client_query() sends, with this ID, into buf[0 ..
 * cap): its length, or a negative error (-EMSGSIZE, -EINVAL). */
int dns_client_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *qname,
                           uint16_t qtype, uint16_t qclass, const struct dns_query_opts *o);

/* Does resp answer query (the rules above, address aside)? NULL if so,
 * else a sentence saying why not. Pure. */
const char *dns_client_check_reply(const uint8_t *query, size_t qlen, const uint8_t *resp,
                                   size_t rlen);

/* ---- the system's servers ------------------------------------------------------ */

/* resolv.conf(5) lists at most three servers; more are ignored. */
#define DNS_RESOLV_MAXNS 3
#define DNS_RESOLV_CONF "/etc/resolv.conf"

/*
 * The "nameserver ADDRESS" lines of resolv.conf text (text[0 .. len)), in
 * order, as servers on port 53, into out[0 .. max). Comments start with
 * '#' or ';'; other keywords are skipped, and so are addresses that are
 * not numeric IPv4 or IPv6 (an IPv6 address may carry a %zone). Returns
 * how many were found (maybe 0). Pure apart from resolving a zone name to
 * its interface index.
 */
int dns_resolv_conf_parse(const char *text, size_t len, struct dns_server *out, size_t max);

/*
 * The servers of the resolv.conf at path (DNS_RESOLV_CONF if NULL). As
 * resolv.conf(5) says, a missing file or one without nameserver lines
 * means the local machine: 127.0.0.1 and ::1. Returns how many (at least
 * 1), or a negative error when the file exists but cannot be read.
 */
int dns_resolv_conf_read(const char *path, struct dns_server *out, size_t max);

/* A server from a numeric IPv4 or IPv6 address (with an optional %zone)
 * and a port: 0, or OP_E_SYNTAX. */
int dns_server_from_text(struct dns_server *s, const char *addr, uint16_t port);

/* "192.0.2.1" or "2001:db8::1" (no port, no brackets) into out: 0 or -ENOSPC.
 * 64 octets are always enough. */
int dns_server_addr_text(const struct dns_server *s, char *out, size_t cap);

/* The server's port. */
uint16_t dns_server_port(const struct dns_server *s);

#endif
