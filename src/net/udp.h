/*
 * udp.h - datagram services: UDP sockets read and answered in batches on
 * every event loop.
 *
 * udp_listen() binds a service's addresses at start-up (with the TCP
 * listeners, before privileges are dropped). Each socket is shared by every
 * loop, which waits on it with EPOLLEXCLUSIVE like the TCP listeners; the
 * loop that wakes reads up to UDP_BATCH datagrams with one recvmmsg(2),
 * calls the service's handler for each, and sends the replies with one
 * sendmmsg(2). Each loop has its own buffers for a batch (queries and
 * replies), allocated once, so the handler may write its reply in place
 * and nothing is allocated per datagram.
 *
 * A reply leaves from the address the query was sent to: a socket bound to
 * a wildcard address (0.0.0.0, ::) asks the kernel for each datagram's
 * destination (IP_PKTINFO, IPV6_RECVPKTINFO, RFC 3542) and sends the reply
 * with it as the source, so a multi-homed host answers from the right one.
 *
 * Datagrams longer than UDP_MAX_QUERY are dropped unread (MSG_TRUNC).
 */
#ifndef OP_NET_UDP_H
#define OP_NET_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/config.h"

#define UDP_BATCH 32                /* datagrams per recvmmsg/sendmmsg */
#define UDP_MAX_QUERY 4096          /* largest datagram read */
#define UDP_MAX_REPLY 4096          /* largest reply written */

/*
 * Answer one datagram q[0..qlen) from peer: write the reply into
 * out[0..cap) and return its length, or 0 to send nothing. Runs on a loop
 * thread; it must not block.
 */
typedef size_t (*udp_handler)(const uint8_t *q, size_t qlen, const struct sockaddr_storage *peer,
                              uint8_t *out, size_t cap);

struct udp_service {
    const char *name;               /* "dns", for logs */
    udp_handler handle;
};

/* Bind every address of addrs for svc. 0, or -errno with a sentence in err. */
int udp_listen(const struct udp_service *svc, const struct cfg_addrs *addrs, char *err,
               size_t errlen);

#endif
